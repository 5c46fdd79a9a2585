//! Readers never see a file vanish: a write that replaces or deletes a file of a field with a
//! retention leaves the old object readable (a retention mark beside it names the deadline)
//! until the retention has passed, and the sweep deletes it after; without one the object
//! goes right after the commit. Readers racing a replacing writer, links handed out before
//! the change, deletes, the stream cascade, a client-wide retention and a failed mark.

use std::time::{Duration, SystemTime};

use dynox_core::stream::{ChangeKind, ChangeRecord};
use dynox_core::{DynamoModel, Error};
use dynox_local::faults::FaultKind;
use dynox_s3::{S3Error, S3Object, S3Settings};
use dynox_tests::{faulty_file_env, file_env, stored, FileEnv};

/// A page with a retained file (ten minutes) and a plain one (the client's retention: none by
/// default).
#[derive(Debug, Clone, DynamoModel)]
#[dynamo(table = "retained_pages")]
struct Page {
    #[dynamo(hash_key)]
    id: String,
    #[s3(bucket = "retained", prefix = "body/", retain = "10m")]
    body: Option<S3Object>,
    #[s3(bucket = "retained", prefix = "plain/")]
    plain: Option<S3Object>,
    #[s3(bucket = "retained", prefix = "never/", retain = "0s")]
    never: Option<S3Object>,
}

const RETENTION: Duration = Duration::from_secs(600);

fn page(id: &str, version: usize) -> Page {
    Page {
        id: id.into(),
        body: Some(S3Object::from_bytes(format!("body v{version}"), "body.txt")),
        plain: Some(S3Object::from_bytes(
            format!("plain v{version}"),
            "plain.txt",
        )),
        never: None,
    }
}

async fn env(settings: S3Settings) -> FileEnv {
    file_env::<Page>(&["retained"], settings).await
}

/// The keys under `prefix`, marks included.
async fn keys_under(env: &FileEnv, prefix: &str) -> Vec<String> {
    let mut keys = env.keys("retained").await;
    keys.retain(|k| k.starts_with(prefix));
    keys
}

/// The bytes of `file` (a file field of an item read earlier) as a reader downloads them now,
/// through the other client.
async fn read(env: &FileEnv, file: &Option<S3Object>) -> dynox_core::Result<bytes::Bytes> {
    file.as_ref()
        .expect("the reader's item has the file")
        .get_bytes(&env.other)
        .await
}

fn is_no_such_key(error: &Error) -> bool {
    matches!(error.s3(), Some(S3Error::NoSuchKey { .. }))
}

#[tokio::test]
async fn a_replaced_file_stays_readable_for_its_retention_then_the_sweep_deletes_it() {
    let env = env(S3Settings::default()).await;
    let mut p = page("P1", 1);
    env.client.save(&mut p).await.unwrap();
    // A reader read the item, and a browser got a link, before the writer replaced the files.
    let reader = Page::get(&env.other, "P1").await.unwrap().unwrap();
    let link = reader
        .body
        .as_ref()
        .unwrap()
        .presigned_url(&env.client, Duration::from_secs(300))
        .await
        .unwrap();
    let old_body = stored(&p.body).key.clone();
    let before_write = SystemTime::now();

    p.body = Some(S3Object::from_bytes("body v2", "body.txt"));
    p.plain = Some(S3Object::from_bytes("plain v2", "plain.txt"));
    env.client.save(&mut p).await.unwrap();

    // The retained field's old object still reads, by the reader and through the link.
    assert_eq!(read(&env, &reader.body).await.unwrap().as_ref(), b"body v1");
    let fetched = reqwest::get(&link).await.unwrap();
    assert!(fetched.status().is_success(), "{}", fetched.status());
    assert_eq!(fetched.bytes().await.unwrap().as_ref(), b"body v1");
    // The plain field's went right after the commit.
    let gone = read(&env, &reader.plain).await.unwrap_err();
    assert!(is_no_such_key(&gone), "{gone:?}");

    // Beside the old object, its retention mark, whose deadline is the retention after the
    // write (whole seconds, rounded up).
    let keys = keys_under(&env, "body/").await;
    let mark = keys
        .iter()
        .find(|k| k.starts_with(&format!("{old_body}{}", dynox_s3::RETAIN_INFIX)))
        .unwrap_or_else(|| panic!("no retention mark for {old_body}: {keys:?}"));
    let deadline: u64 = mark.rsplit('-').next().unwrap().parse().unwrap();
    let earliest = (before_write + RETENTION)
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let latest = (SystemTime::now() + RETENTION)
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 1;
    assert!(
        (earliest..=latest).contains(&deadline),
        "{deadline} {earliest}..={latest}"
    );
    assert_eq!(keys.len(), 3, "new, old and its mark: {keys:?}");

    // A sweep before the deadline leaves them, even with no grace period.
    let report = dynox_s3::sweep::<Page>(&env.client)
        .grace(Duration::ZERO)
        .delete()
        .await
        .unwrap();
    assert_eq!(report.retained, 2, "the object and its mark: {report}");
    assert_eq!(report.orphans_found, 0, "{report}");
    assert_eq!(keys_under(&env, "body/").await, keys);
    assert_eq!(read(&env, &reader.body).await.unwrap().as_ref(), b"body v1");

    // A sweep after it deletes both; the item's file stays.
    let after = SystemTime::now() + RETENTION + Duration::from_secs(2);
    let report = dynox_s3::sweep::<Page>(&env.client)
        .grace(Duration::ZERO)
        .as_of(after)
        .delete()
        .await
        .unwrap();
    assert_eq!((report.retained, report.deleted), (0, 2), "{report}");
    assert_eq!(
        keys_under(&env, "body/").await,
        vec![stored(&p.body).key.clone()]
    );
    let now = Page::get(&env.other, "P1").await.unwrap().unwrap();
    let body = now.body.unwrap().get_bytes(&env.other).await.unwrap();
    assert_eq!(body.as_ref(), b"body v2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_racing_a_replacing_writer_always_reads_a_whole_file() {
    const VERSIONS: usize = 12;
    let env = env(S3Settings::default()).await;
    let mut p = page("RACE", 0);
    env.client.save(&mut p).await.unwrap();

    let writer = {
        let client = env.client.clone();
        tokio::spawn(async move {
            for version in 1..=VERSIONS {
                p.body = Some(S3Object::from_bytes(format!("body v{version}"), "body.txt"));
                client.save(&mut p).await.unwrap();
            }
        })
    };
    // Read (eventually consistent, from the other client) and download until the writer is
    // done, then once more: every read that found a file downloads it whole.
    let mut reads = 0;
    loop {
        let done = writer.is_finished();
        let read = Page::get(&env.other, "RACE").await.unwrap().unwrap();
        let body = read.body.unwrap();
        let bytes = match body.get_bytes(&env.other).await {
            Ok(bytes) => bytes,
            Err(e) => panic!("read {reads} lost its file to the writer: {e:?}"),
        };
        let text = String::from_utf8(bytes.to_vec()).unwrap();
        assert!(text.starts_with("body v"), "{text}");
        reads += 1;
        if done {
            break;
        }
    }
    writer.await.unwrap();
    assert!(reads >= 2, "{reads}");
    // Every replaced version is still there, with its mark.
    let keys = keys_under(&env, "body/").await;
    let marks = keys
        .iter()
        .filter(|k| k.contains(dynox_s3::RETAIN_INFIX))
        .count();
    assert_eq!(
        (keys.len(), marks),
        (2 * VERSIONS + 1, VERSIONS),
        "{keys:?}"
    );
}

#[tokio::test]
async fn a_file_cleared_with_delete_cleared_files_is_retained_too() {
    let env = env(S3Settings::default()).await;
    let mut p = page("CLR", 1);
    env.client.save(&mut p).await.unwrap();
    let reader = Page::get(&env.other, "CLR").await.unwrap().unwrap();
    let old_body = stored(&p.body).key.clone();
    p.body = None;
    env.client
        .save(&mut p)
        .delete_cleared_files()
        .await
        .unwrap();
    assert_eq!(read(&env, &reader.body).await.unwrap().as_ref(), b"body v1");
    let keys = keys_under(&env, "body/").await;
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert!(keys[1].starts_with(&format!("{old_body}{}", dynox_s3::RETAIN_INFIX)));
}

#[tokio::test]
async fn a_transaction_that_deletes_an_item_retains_its_file() {
    let env = env(S3Settings::default()).await;
    let mut p = page("TX", 1);
    env.client.save(&mut p).await.unwrap();
    let reader = Page::get(&env.other, "TX").await.unwrap().unwrap();
    env.client.transact_write().delete_item(&p).await.unwrap();
    assert!(Page::get(&env.client, "TX").await.unwrap().is_none());
    assert_eq!(read(&env, &reader.body).await.unwrap().as_ref(), b"body v1");
    assert_eq!(keys_under(&env, "body/").await.len(), 2, "object and mark");
    assert!(keys_under(&env, "plain/").await.is_empty());
}

#[tokio::test]
async fn a_deleted_item_s_files_follow_the_client_retention_unless_the_field_opts_out() {
    // Every field without its own retention takes the client's.
    let env = env(S3Settings::default().retain(Duration::from_secs(3600))).await;
    let mut p = page("DEL", 1);
    p.never = Some(S3Object::from_bytes("never kept", "never.txt"));
    env.client.save(&mut p).await.unwrap();
    let reader = Page::get(&env.other, "DEL").await.unwrap().unwrap();
    Page::delete(&env.client, "DEL").await.unwrap();

    for (field, file, text) in [
        ("body", &reader.body, "body v1"),
        ("plain", &reader.plain, "plain v1"),
    ] {
        let bytes = read(&env, file).await;
        assert_eq!(bytes.unwrap().as_ref(), text.as_bytes(), "{field}");
    }
    let gone = read(&env, &reader.never).await.unwrap_err();
    assert!(is_no_such_key(&gone), "retain = \"0s\": {gone:?}");
    // The field's own ten minutes win over the client's hour.
    let report = dynox_s3::sweep::<Page>(&env.client)
        .grace(Duration::ZERO)
        .as_of(SystemTime::now() + RETENTION + Duration::from_secs(2))
        .delete()
        .await
        .unwrap();
    assert_eq!((report.retained, report.deleted), (2, 2), "{report}");
    assert!(keys_under(&env, "body/").await.is_empty());
    assert_eq!(keys_under(&env, "plain/").await.len(), 2);
}

#[tokio::test]
async fn the_stream_cascade_retains_as_the_writes_do() {
    let env = env(S3Settings::default()).await;
    let mut p = page("TTL", 1);
    env.client.save(&mut p).await.unwrap();
    let old_image = dynox_tests::raw_item(&env.client, Page::key_of("TTL"))
        .await
        .unwrap();
    // The item left by a road dynox does not see (time to live, a raw delete).
    env.client
        .dynamodb()
        .delete_item()
        .table_name(env.client.table_name::<Page>())
        .key(
            "id",
            aws_sdk_dynamodb::types::AttributeValue::S("TTL".into()),
        )
        .send()
        .await
        .unwrap();
    let mut record = ChangeRecord::new(
        ChangeKind::Remove,
        Page::key_of("TTL").to_item().unwrap(),
        "1",
    );
    record.old_image = Some(old_image);
    record.ttl_expired = true;
    let report = dynox_s3::cascade::<Page>(&env.client, &record)
        .await
        .unwrap();
    assert!(report.is_complete(), "{report}");
    let retained: Vec<&str> = report.retained.iter().map(|f| f.field).collect();
    let deleted: Vec<&str> = report.deleted.iter().map(|f| f.field).collect();
    assert_eq!(
        (retained, deleted),
        (vec!["body"], vec!["plain"]),
        "{report}"
    );
    assert_eq!(keys_under(&env, "body/").await.len(), 2, "object and mark");
    assert!(keys_under(&env, "plain/").await.is_empty());
}

#[tokio::test]
async fn a_retention_mark_that_cannot_be_put_is_reported_and_the_write_stands() {
    let (env, faults) = faulty_file_env::<Page>(&["retained"], S3Settings::default()).await;
    let mut p = page("MARKF", 1);
    env.client.save(&mut p).await.unwrap();
    let old_body = stored(&p.body).key.clone();

    faults.reset();
    faults.fail_every("PutObject", FaultKind::ServerError);
    let err = Page::delete(&env.client, "MARKF").await.unwrap_err();
    faults.reset();
    match &err {
        Error::CleanupFailed { write, objects, .. } => {
            assert!(write.is_committed(), "the item delete committed");
            let keys: Vec<&str> = objects.iter().map(|o| o.object.key.as_str()).collect();
            assert_eq!(keys, vec![old_body.as_str()], "{err:?}");
        }
        other => panic!("expected CleanupFailed, got {other:?}"),
    }
    assert!(Page::get(&env.client, "MARKF").await.unwrap().is_none());
    // The unmarked object is an orphan: the sweep deletes it once it is older than the
    // grace period, as after any failed cleanup.
    assert_eq!(keys_under(&env, "body/").await, vec![old_body]);
}
