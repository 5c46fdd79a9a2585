//! Every upload source through the one upload pipeline, at single and multipart sizes: the
//! stored bytes, the recorded size and SHA-256, the S3 metadata and the requests sent; and
//! the multipart uploads a lost `CreateMultipartUpload` response leaves behind.

use bytes::Bytes;
use dynox_core::{DynamoModel, Error};
use dynox_s3::{S3Object, S3Settings, MARKER_METADATA, OWNER_METADATA};
use dynox_tests::{file_env, read_object, FileEnv};

#[derive(Debug, DynamoModel)]
#[dynamo(table = "upload-sources")]
struct Blob {
    #[dynamo(hash_key)]
    id: String,
    #[s3(bucket = "uploads", prefix = "up/")]
    data: S3Object,
}

const MIB: usize = 1024 * 1024;

/// A 1 MiB threshold and S3's smallest parts (5 MiB): 200 KB is one PutObject, 3 MiB one
/// part, 11 MiB + 3 three parts.
fn settings() -> S3Settings {
    S3Settings::default()
        .multipart_threshold(MIB as u64)
        .part_size(5 * MIB as u64)
        .concurrency(2)
}

/// The kinds of source, each making a file of `data`.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Bytes,
    Path,
    SizedReader,
    UnsizedReader,
    Stream,
}

impl Kind {
    const ALL: [Kind; 5] = [
        Kind::Bytes,
        Kind::Path,
        Kind::SizedReader,
        Kind::UnsizedReader,
        Kind::Stream,
    ];

    fn object(self, data: &[u8], dir: &std::path::Path) -> S3Object {
        let reader = || std::io::Cursor::new(data.to_vec());
        match self {
            Kind::Bytes => S3Object::from_bytes(data.to_vec(), "file.bin"),
            Kind::Path => {
                let path = dir.join("file.bin");
                std::fs::write(&path, data).unwrap();
                S3Object::from_path(path)
            }
            Kind::SizedReader => {
                S3Object::from_reader(reader(), "file.bin", Some(data.len() as u64))
            }
            Kind::UnsizedReader => S3Object::from_reader(reader(), "file.bin", None),
            Kind::Stream => {
                // Uneven chunks, so parts never line up with them.
                let chunks: Vec<_> = data
                    .chunks(300_007)
                    .map(|c| Ok(Bytes::copy_from_slice(c)))
                    .collect();
                S3Object::from_stream(futures::stream::iter(chunks), "file.bin")
            }
        }
        .with_content_type("application/x-test")
        .with_metadata("origin", format!("{self:?}"))
    }
}

fn count(requests: &[String], what: impl Fn(&str) -> bool) -> usize {
    requests.iter().filter(|r| what(r)).count()
}

#[tokio::test]
async fn every_source_goes_through_the_one_pipeline_at_every_size() {
    let env = file_env::<Blob>(&["uploads"], settings()).await;
    let dir = tempfile::tempdir().unwrap();
    for (len, parts) in [
        (0, 0),
        (200_000, 0),
        (MIB, 0),
        (3 * MIB, 1),
        (11 * MIB + 3, 3),
    ] {
        for kind in Kind::ALL {
            let case = format!("{kind:?} of {len} bytes");
            let data = dynox_tests::content(len, len as u8 ^ kind as u8);
            let mut blob = Blob {
                id: format!("{kind:?}-{len}"),
                data: kind.object(&data, dir.path()),
            };
            env.log.clear();
            env.client.save(&mut blob).await.unwrap();
            let requests = env.log.requests();

            // One PutObject up to the threshold, else parts; no listing on success.
            let part_puts = count(&requests, |r| {
                r.starts_with("PUT") && r.contains("partNumber=")
            });
            let creates = count(&requests, |r| {
                r.starts_with("POST") && r.ends_with("?uploads")
            });
            let plain_puts = count(&requests, |r| {
                r.starts_with("PUT") && r.contains("x-id=PutObject")
            });
            if parts == 0 {
                assert_eq!(
                    (plain_puts, creates, part_puts),
                    (1, 0, 0),
                    "{case}: {requests:?}"
                );
            } else {
                assert_eq!(
                    (plain_puts, creates, part_puts),
                    (0, 1, parts),
                    "{case}: {requests:?}"
                );
            }
            assert_eq!(
                count(&requests, |r| r.starts_with("GET")
                    || r.starts_with("DELETE")),
                0,
                "{case}: {requests:?}"
            );

            // The recorded size and CRC-64/NVME are the content's; no SHA-256 unless asked
            // for (the `digest` field asks).
            let stored = blob.data.stored().unwrap().clone();
            assert_eq!(stored.size, len as u64, "{case}");
            let crc = dynox_tests::crc64(&data);
            assert_eq!(stored.crc64nvme.as_deref(), Some(crc.as_str()), "{case}");
            assert_eq!(stored.sha256, None, "{case}");
            // The server keeps the same full-object CRC, where it keeps one (s3s-fs keeps
            // none for a multipart object, moto and S3 do).
            match dynox_tests::server_crc64(&env.s3, &stored).await {
                Some(kept) => assert_eq!(kept, crc, "{case}"),
                None => dynox_tests::capability_note(
                    &env.backend,
                    "every_source_goes_through_the_one_pipeline_at_every_size",
                    "the server keeps no full-object CRC-64/NVME of a multipart upload",
                ),
            }
            assert_eq!(stored.content_type, "application/x-test", "{case}");
            assert_eq!(stored.metadata["origin"], format!("{kind:?}"), "{case}");

            // The stored bytes, read without dynox, are the content, with the metadata.
            let object = read_object(&env.s3, &stored.bucket, &stored.key).await;
            let metadata = &object.metadata;
            assert_eq!(
                object.content_type.as_deref(),
                Some("application/x-test"),
                "{case}"
            );
            assert!(
                metadata.contains_key(MARKER_METADATA),
                "{case}: {metadata:?}"
            );
            assert!(
                metadata[OWNER_METADATA].ends_with("upload-sources/data"),
                "{case}: {metadata:?}"
            );
            assert_eq!(metadata["origin"], format!("{kind:?}"), "{case}");
            assert!(
                object.bytes.as_ref() == data.as_slice(),
                "{case}: stored bytes differ"
            );
            // And dynox's own download checks them against the record.
            let downloaded = blob.data.get_bytes(&env.client).await.unwrap();
            assert_eq!(downloaded.len(), len, "{case}");
        }
    }
}

#[tokio::test]
async fn a_reader_longer_than_declared_still_uploads_all_of_it() {
    let env = file_env::<Blob>(&["uploads"], settings()).await;
    let data = dynox_tests::content(3 * MIB, 9);
    let mut blob = Blob {
        id: "liar".into(),
        data: S3Object::from_reader(std::io::Cursor::new(data.clone()), "file.bin", Some(10)),
    };
    env.client.save(&mut blob).await.unwrap();
    let stored = blob.data.stored().unwrap();
    assert_eq!(stored.size, data.len() as u64);
    assert_eq!(
        stored.crc64nvme.as_deref(),
        Some(dynox_tests::crc64(&data).as_str())
    );
}

/// Whether the server lists multipart uploads (s3s-fs does not); if not, notes that `test`
/// leaves `what` to the sweep there.
async fn lists_uploads(env: &FileEnv, test: &str, what: &str) -> bool {
    let listed = env
        .s3
        .list_multipart_uploads()
        .bucket(env.bucket("uploads"))
        .send()
        .await;
    if listed.is_err() {
        let reason = format!(
            "the server cannot list multipart uploads: {what} is left to the sweep; checked on moto"
        );
        dynox_tests::capability_note(&env.backend, test, &reason);
    }
    listed.is_ok()
}

async fn open_uploads(env: &FileEnv) -> Vec<String> {
    env.s3
        .list_multipart_uploads()
        .bucket(env.bucket("uploads"))
        .send()
        .await
        .unwrap()
        .uploads
        .unwrap_or_default()
        .into_iter()
        .filter_map(|u| u.key)
        .collect()
}

#[tokio::test]
async fn a_create_whose_response_was_lost_is_aborted_when_the_save_fails() {
    use dynox_local::faults::FaultKind;
    let (env, faults) = dynox_tests::faulty_file_env::<Blob>(&["uploads"], settings()).await;
    faults.fail_nth(1, Some("CreateMultipartUpload"), FaultKind::LostResponse);
    let mut blob = Blob {
        id: "lost".into(),
        data: S3Object::from_bytes(dynox_tests::content(6 * MIB, 1), "big.bin"),
    };
    let error = env.client.save(&mut blob).await.unwrap_err();
    assert!(
        matches!(error, Error::File { field: "data", .. }),
        "{error:?}"
    );
    let requests = faults.requests();
    assert!(
        requests.iter().any(|r| r.ends_with("ListMultipartUploads")),
        "the uploads of the key were looked for: {requests:?}"
    );
    assert!(blob.data.is_pending());
    let test = "a_create_whose_response_was_lost_is_aborted_when_the_save_fails";
    if !lists_uploads(&env, test, "the lost upload").await {
        return;
    }
    assert!(
        requests.iter().any(|r| r.ends_with("AbortMultipartUpload")),
        "{requests:?}"
    );
    assert_eq!(open_uploads(&env).await, Vec::<String>::new());
}

#[tokio::test]
async fn a_retried_create_leaves_only_the_completed_upload() {
    use dynox_local::faults::FaultKind;
    // The first CreateMultipartUpload takes effect, its answer is lost as a transient error,
    // and the SDK's own retry starts a second upload.
    let (env, faults) =
        dynox_tests::faulty_file_env_retrying::<Blob>(&["uploads"], settings()).await;
    faults.reset();
    faults.fail_nth(
        1,
        Some("CreateMultipartUpload"),
        FaultKind::LostResponseRetried,
    );

    let data = dynox_tests::content(6 * MIB, 2);
    let mut blob = Blob {
        id: "retried".into(),
        data: S3Object::from_bytes(data.clone(), "big.bin"),
    };
    env.client.save(&mut blob).await.unwrap();
    assert_eq!(faults.injected().len(), 1);
    let requests = env.log.requests();
    assert_eq!(
        count(&requests, |r| r.starts_with("POST")
            && r.ends_with("?uploads")),
        2,
        "the create was retried: {requests:?}"
    );
    assert!(
        requests
            .iter()
            .any(|r| r.starts_with("GET") && r.contains("?uploads")),
        "the uploads of the key were looked for: {requests:?}"
    );
    let bytes = blob.data.get_bytes(&env.client).await.unwrap();
    assert!(bytes.as_ref() == data.as_slice());
    let test = "a_retried_create_leaves_only_the_completed_upload";
    if !lists_uploads(&env, test, "the first upload (the save still succeeds)").await {
        return;
    }
    assert!(
        requests
            .iter()
            .any(|r| r.starts_with("DELETE") && r.contains("uploadId=")),
        "the first upload was aborted: {requests:?}"
    );
    assert_eq!(open_uploads(&env).await, Vec::<String>::new());
}
