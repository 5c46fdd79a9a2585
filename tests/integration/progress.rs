//! Progress of uploads and downloads (`dynox_s3::Progress`) against real servers: counted as
//! S3 acknowledges parts (a part the SDK re-sends never counts twice), monotonic, never past
//! the total, ending at exactly the size, and a callback told once per step, not per chunk.

use std::sync::{Arc, Mutex};

use dynox_core::{DynamoModel, Error};
use dynox_s3::{Progress, S3Object, S3Settings, Transferred};
use dynox_tests::FileEnv;
use futures::StreamExt;
use tokio::io::AsyncReadExt;

#[derive(Debug, DynamoModel)]
#[dynamo(table = "progress_files")]
struct Upload {
    #[dynamo(hash_key)]
    id: String,
    #[s3(bucket = "progress-files", prefix = "plain/")]
    file: S3Object,
    #[s3(bucket = "progress-files", prefix = "packed/", compress = "zstd")]
    packed: Option<S3Object>,
}

const MIB: usize = 1024 * 1024;
const STEP: u64 = MIB as u64;

/// Multipart above 5 MiB, in 5 MiB parts, two in flight; `save_to` in ranges above it.
fn settings() -> S3Settings {
    S3Settings::default()
        .multipart_threshold(5 * MIB as u64)
        .part_size(5 * MIB as u64)
        .concurrency(2)
}

async fn env() -> FileEnv {
    dynox_tests::file_env::<Upload>(&["progress-files"], settings()).await
}

fn item(id: &str, file: S3Object) -> Upload {
    Upload {
        id: id.into(),
        file,
        packed: None,
    }
}

/// What a progress callback was told, in order.
#[derive(Clone, Default)]
struct Reports(Arc<Mutex<Vec<Transferred>>>);

impl Reports {
    fn all(&self) -> Vec<Transferred> {
        self.0.lock().unwrap().clone()
    }
}

/// A progress with a callback every `step` bytes that records what it is told.
fn recorded(step: u64) -> (Progress, Reports) {
    let reports = Reports::default();
    let log = reports.clone();
    let progress = Progress::with_callback(step, move |t| log.0.lock().unwrap().push(t));
    (progress, reports)
}

/// The reports of one transfer: `done` never goes back and never passes `total`, every
/// report has `total`, and the last one (the end) is `end` of `total`, as is the progress.
#[track_caller]
fn ended_at(progress: &Progress, reports: &Reports, total: Option<u64>, end: u64, what: &str) {
    let all = reports.all();
    assert!(!all.is_empty(), "{what}: no report");
    for pair in all.windows(2) {
        assert!(pair[0].done <= pair[1].done, "{what}: went back: {all:?}");
    }
    for t in &all {
        assert_eq!(t.total, total, "{what}: {all:?}");
        assert!(
            t.done <= total.unwrap_or(u64::MAX),
            "{what}: past the total"
        );
    }
    let last = Transferred { done: end, total };
    assert_eq!(all.last(), Some(&last), "{what}: {all:?}");
    assert_eq!(progress.snapshot(), last, "{what}");
}

/// The most calls a transfer of `size` bytes may make with [`STEP`]: one per step, one at
/// the end.
fn most_calls(size: u64) -> usize {
    size.div_ceil(STEP) as usize + 1
}

fn upload_parts(env: &FileEnv) -> usize {
    env.log
        .requests()
        .iter()
        .filter(|r| r.starts_with("PUT") && r.contains("partNumber="))
        .count()
}

#[tokio::test]
async fn a_multipart_upload_reports_acknowledged_bytes_and_ends_at_the_total() {
    let env = env().await;
    let len = 12 * MIB + 17;
    let data = dynox_tests::content(len, 1);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.bin");
    std::fs::write(&path, &data).unwrap();
    for (name, source) in [
        ("bytes", S3Object::from_bytes(data.clone(), "big.bin")),
        ("path", S3Object::from_path(&path)),
    ] {
        let (progress, reports) = recorded(STEP);
        let mut upload = item(name, source.with_progress(&progress));
        assert_eq!(progress.snapshot(), Transferred::default(), "{name}");
        env.log.clear();
        env.client.save(&mut upload).await.unwrap();
        assert_eq!(upload_parts(&env), 3, "{name}: multipart");
        // Known from the start: every report carries the total.
        ended_at(&progress, &reports, Some(len as u64), len as u64, name);
        let all = reports.all();
        // Reported part by part as S3 acknowledged them, before the end.
        assert!(
            all.iter().any(|t| t.done > 0 && t.done < len as u64),
            "{name}: {all:?}"
        );
        assert!(all.len() <= most_calls(len as u64), "{name}: {all:?}");
        assert_eq!(upload.file.size(), Some(len as u64));
    }
}

#[tokio::test]
async fn a_single_put_and_a_compressed_upload_count_content_bytes() {
    let env = env().await;
    // One PutObject: reported when acknowledged, then the end.
    let (progress, reports) = recorded(STEP);
    let small = dynox_tests::content(300_000, 2);
    let mut upload = item(
        "small",
        S3Object::from_bytes(small.clone(), "small.bin").with_progress(&progress),
    );
    env.client.save(&mut upload).await.unwrap();
    ended_at(&progress, &reports, Some(300_000), 300_000, "single");

    // Compressed: the content's bytes, not the stored ones.
    let (progress, reports) = recorded(STEP);
    let len = 11 * MIB;
    let mut upload = item("packed", S3Object::from_bytes(small, "small.bin"));
    upload.packed = Some(
        S3Object::from_bytes(dynox_tests::content(len, 3), "packed.bin").with_progress(&progress),
    );
    env.client.save(&mut upload).await.unwrap();
    ended_at(&progress, &reports, Some(len as u64), len as u64, "zstd");
    let packed = upload.packed.as_ref().unwrap();
    assert!(packed.stored().unwrap().stored_size.unwrap() < len as u64);

    // Its download counts the decompressed bytes too.
    let (progress, reports) = recorded(STEP);
    let bytes = packed
        .clone()
        .with_progress(&progress)
        .get_bytes(&env.client)
        .await
        .unwrap();
    assert_eq!(bytes.len(), len);
    ended_at(
        &progress,
        &reports,
        Some(len as u64),
        len as u64,
        "zstd get_bytes",
    );
}

/// An UploadPart takes effect and its response is lost. With the SDK's retries, the retry
/// re-sends the part and the upload succeeds: the part still counts once, and the progress
/// ends at exactly the total. With no retries the save fails, and the progress stays below
/// the total (the lost part never counted).
#[tokio::test]
async fn a_part_whose_response_was_lost_never_counts_twice() {
    use dynox_local::faults::FaultKind;
    let len = 12 * MIB + 17;
    let data = dynox_tests::content(len, 4);

    // The SDK's default retries.
    let (env, faults) =
        dynox_tests::faulty_file_env_retrying::<Upload>(&["progress-files"], settings()).await;
    faults.reset();
    faults.fail_nth(2, Some("UploadPart"), FaultKind::LostResponseRetried);
    let (progress, reports) = recorded(STEP);
    let mut upload = item(
        "retried",
        S3Object::from_bytes(data.clone(), "big.bin").with_progress(&progress),
    );
    env.client.save(&mut upload).await.unwrap();
    assert_eq!(faults.injected().len(), 1, "{:?}", faults.injected());
    assert_eq!(upload_parts(&env), 4, "the lost part was sent again");
    ended_at(&progress, &reports, Some(len as u64), len as u64, "retried");
    let bytes = upload.file.get_bytes(&env.client).await.unwrap();
    assert!(bytes.as_ref() == data.as_slice());

    // No retries: the lost response fails the save.
    let (env, faults) =
        dynox_tests::faulty_file_env::<Upload>(&["progress-files"], settings()).await;
    faults.reset();
    faults.fail_nth(2, Some("UploadPart"), FaultKind::LostResponse);
    let (progress, reports) = recorded(STEP);
    let mut upload = item(
        "lost",
        S3Object::from_bytes(data, "big.bin").with_progress(&progress),
    );
    let err = env.client.save(&mut upload).await.unwrap_err();
    assert!(matches!(err, Error::File { field: "file", .. }), "{err:?}");
    let snapshot = progress.snapshot();
    assert_eq!(snapshot.total, Some(len as u64));
    assert!(snapshot.done < len as u64, "{snapshot:?}");
    let all = reports.all();
    for pair in all.windows(2) {
        assert!(pair[0].done <= pair[1].done, "went back: {all:?}");
    }
    assert!(all.iter().all(|t| t.done < len as u64), "{all:?}");
    // The file is pending again, still reporting to the same progress; a new save starts it
    // from zero and ends it at the total.
    assert!(upload.file.is_pending());
    faults.reset();
    env.client.save(&mut upload).await.unwrap();
    assert_eq!(
        progress.snapshot(),
        Transferred {
            done: len as u64,
            total: Some(len as u64)
        }
    );
}

#[tokio::test]
async fn a_stream_of_unknown_length_has_no_total() {
    let env = env().await;
    for (name, len) in [("small", 100_000), ("multipart", 11 * MIB + 5)] {
        let data = dynox_tests::content(len, 5);
        let chunks: Vec<Result<bytes::Bytes, std::io::Error>> = data
            .chunks(64 * 1024)
            .map(|c| Ok(bytes::Bytes::copy_from_slice(c)))
            .collect();
        let (progress, reports) = recorded(STEP);
        let file = S3Object::from_stream(futures::stream::iter(chunks), "stream.bin")
            .with_progress(&progress);
        let mut upload = item(name, file);
        env.client.save(&mut upload).await.unwrap();
        ended_at(&progress, &reports, None, len as u64, name);
        assert_eq!(progress.total(), None);
        assert_eq!(progress.done(), len as u64);
        assert!(reports.all().len() <= most_calls(len as u64), "{name}");
    }
}

#[tokio::test]
async fn every_download_reports_up_to_exactly_the_size() {
    let env = env().await;
    // Above the threshold (`save_to` in parallel ranges) and below it (one GET).
    for (name, len) in [("ranges", 12 * MIB + 17), ("whole", 200_000)] {
        let data = dynox_tests::content(len, 6);
        let size = len as u64;
        let mut upload = item(name, S3Object::from_bytes(data.clone(), "f.bin"));
        env.client.save(&mut upload).await.unwrap();
        // A file read from the item, as an application has it.
        let loaded = Upload::get(&env.client, name).await.unwrap().unwrap();
        let dir = tempfile::tempdir().unwrap();

        let (progress, reports) = recorded(STEP);
        let file = loaded.file.clone().with_progress(&progress);
        let target = dir.path().join("out.bin");
        assert_eq!(file.save_to(&env.client, &target).await.unwrap(), size);
        assert!(std::fs::read(&target).unwrap() == data);
        ended_at(&progress, &reports, Some(size), size, "save_to");

        let (progress, reports) = recorded(STEP);
        let mut file = loaded.file.clone();
        file.set_progress(Some(progress.clone()));
        let bytes = file.get_bytes(&env.client).await.unwrap();
        assert!(bytes.as_ref() == data.as_slice());
        ended_at(&progress, &reports, Some(size), size, "get_bytes");

        // A stream: `done` is what was handed out so far.
        let (progress, reports) = recorded(STEP);
        let file = loaded.file.clone().with_progress(&progress);
        let mut stream = file.stream(&env.client).unwrap();
        let mut handed_out = 0u64;
        while let Some(chunk) = stream.next().await {
            handed_out += chunk.unwrap().len() as u64;
            assert_eq!(progress.done(), handed_out, "stream");
        }
        ended_at(&progress, &reports, Some(size), size, "stream");

        let (progress, reports) = recorded(STEP);
        let mut read = Vec::new();
        loaded
            .file
            .clone()
            .with_progress(&progress)
            .reader(&env.client)
            .unwrap()
            .read_to_end(&mut read)
            .await
            .unwrap();
        assert!(read == data);
        ended_at(&progress, &reports, Some(size), size, "reader");
    }
}

/// The callback runs once per step crossed and once at the end, never per chunk: a stream
/// of many small chunks calls it at most `ceil(size / step) + 1` times.
#[tokio::test]
async fn the_callback_runs_at_most_once_per_step() {
    let env = env().await;
    let len = 12 * MIB + 17;
    let size = len as u64;
    let data = dynox_tests::content(len, 7);
    let chunks: Vec<Result<bytes::Bytes, std::io::Error>> = data
        .chunks(16 * 1024)
        .map(|c| Ok(bytes::Bytes::copy_from_slice(c)))
        .collect();
    let chunk_count = chunks.len();

    // One progress for the upload and every download after it: each transfer starts again.
    let (progress, reports) = recorded(STEP);
    let calls = || reports.all().len();
    let mut upload = item(
        "steps",
        S3Object::from_stream(futures::stream::iter(chunks), "steps.bin").with_progress(&progress),
    );
    env.client.save(&mut upload).await.unwrap();
    let mut total_calls = calls();
    assert!(total_calls <= most_calls(size), "upload: {total_calls}");
    assert_eq!(progress.done(), size);

    // The stored file keeps the progress.
    let mut stream = upload.file.stream(&env.client).unwrap();
    let mut received = 0usize;
    while let Some(chunk) = stream.next().await {
        chunk.unwrap();
        received += 1;
    }
    let stream_calls = calls() - total_calls;
    total_calls = calls();
    assert!(stream_calls <= most_calls(size), "stream: {stream_calls}");
    assert!(
        received > stream_calls,
        "{received} chunks, {stream_calls} calls"
    );
    assert_eq!(progress.snapshot().fraction(), Some(1.0));

    upload.file.get_bytes(&env.client).await.unwrap();
    let get_calls = calls() - total_calls;
    total_calls = calls();
    assert!(get_calls <= most_calls(size), "get_bytes: {get_calls}");

    let dir = tempfile::tempdir().unwrap();
    upload
        .file
        .save_to(&env.client, dir.path().join("out.bin"))
        .await
        .unwrap();
    let save_calls = calls() - total_calls;
    assert!(save_calls <= most_calls(size), "save_to: {save_calls}");
    assert_eq!(progress.done(), size);
    assert!(chunk_count > most_calls(size));
}

#[tokio::test]
async fn a_shared_field_reports_its_upload_and_a_reused_object_at_once() {
    #[derive(Debug, DynamoModel)]
    #[dynamo(table = "progress_shared")]
    struct Attachment {
        #[dynamo(hash_key)]
        id: String,
        #[s3(bucket = "progress-files", prefix = "shared/", shared)]
        file: S3Object,
    }
    let env = dynox_tests::file_env::<Attachment>(&["progress-files"], settings()).await;
    let data = dynox_tests::content(6 * MIB + 5, 9);
    let len = data.len() as u64;

    // A single-use reader is spooled to be hashed first; the upload from the spool reports.
    let (progress, reports) = recorded(STEP);
    let reader = std::io::Cursor::new(data.clone());
    let file = S3Object::from_reader(reader, "a.bin", Some(len)).with_progress(&progress);
    let mut first = Attachment {
        id: "a".into(),
        file,
    };
    env.client.save(&mut first).await.unwrap();
    ended_at(&progress, &reports, Some(len), len, "shared upload");

    // The same content again: nothing is sent, and the transfer is complete at once.
    let (progress, reports) = recorded(STEP);
    let mut second = Attachment {
        id: "b".into(),
        file: S3Object::from_bytes(data, "b.bin").with_progress(&progress),
    };
    env.client.save(&mut second).await.unwrap();
    assert_eq!(second.file.key(), first.file.key());
    ended_at(&progress, &reports, Some(len), len, "reused");
}

#[tokio::test]
async fn a_typed_value_reports_its_upload_and_its_load() {
    #[derive(Debug, DynamoModel)]
    #[dynamo(table = "progress_values")]
    struct Page {
        #[dynamo(hash_key)]
        url: String,
        #[s3(bucket = "progress-files", prefix = "values/")]
        html: dynox_s3::S3Text,
    }
    let env = dynox_tests::file_env::<Page>(&["progress-files"], settings()).await;
    let html = "<p>progress</p>".repeat(500_000); // 7.5 MB: multipart
    let len = html.len() as u64;

    let (progress, reports) = recorded(STEP);
    let mut page = Page {
        url: "u".into(),
        html: dynox_s3::S3Text::new(html.clone()).with_progress(&progress),
    };
    env.client.save(&mut page).await.unwrap();
    let all = reports.all();
    assert_eq!(all.last().map(|t| t.done), Some(len), "{all:?}");
    assert_eq!(progress.done(), len);

    let (progress, reports) = recorded(STEP);
    let mut loaded = Page::get(&env.client, "u").await.unwrap().unwrap();
    loaded.html.set_progress(Some(progress.clone()));
    assert_eq!(loaded.html.load(&env.client).await.unwrap(), html);
    ended_at(&progress, &reports, Some(len), len, "load");
}
