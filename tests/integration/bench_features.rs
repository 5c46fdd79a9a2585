//! The library features the benchmarks rely on (BENCHMARKS.md): large files uploaded part by
//! part straight from disk, `save_to` by parallel ranges with the whole file still verified,
//! and `save_all` / `delete_all` with bounded concurrency.

use dynox_core::{DynamoModel, Error};
use dynox_s3::{S3Error, S3Object, S3Settings};
use dynox_tests::{file_env, FileEnv};

#[derive(Debug, DynamoModel)]
#[dynamo(table = "bench-features")]
struct Blob {
    #[dynamo(hash_key)]
    id: String,
    #[s3(bucket = "blobs", prefix = "blobs/")]
    data: S3Object,
}

const MIB: usize = 1024 * 1024;

/// Small parts so a modest file has several.
fn settings() -> S3Settings {
    S3Settings::default()
        .multipart_threshold(5 * MIB as u64)
        .part_size(5 * MIB as u64)
        .concurrency(3)
}

async fn env() -> FileEnv {
    file_env::<Blob>(&["blobs"], settings()).await
}

/// A file of `len` bytes saved from disk; returns the item and the bytes.
async fn saved_from_path(env: &FileEnv, id: &str, len: usize) -> (Blob, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.bin");
    let data = dynox_tests::content(len, id.len() as u8);
    std::fs::write(&path, &data).unwrap();
    let mut blob = Blob {
        id: id.into(),
        data: S3Object::from_path(&path),
    };
    env.client.save(&mut blob).await.unwrap();
    (blob, data)
}

#[tokio::test]
async fn a_large_file_on_disk_is_uploaded_part_by_part() {
    let env = env().await;
    let len = 12 * MIB + 5;
    let (blob, data) = saved_from_path(&env, "disk", len).await;
    let requests = env.log.requests();
    let parts = requests
        .iter()
        .filter(|r| r.starts_with("PUT") && r.contains("partNumber="))
        .count();
    assert_eq!(parts, 3, "{requests:?}");
    let stored = blob.data.stored().unwrap();
    assert_eq!(stored.size, len as u64);
    // The recorded checksum is the whole file's, and the stored bytes are the file's.
    let bytes = blob.data.get_bytes(&env.client).await.unwrap();
    assert!(bytes.as_ref() == data.as_slice(), "content differs");
    let loaded = Blob::get(&env.client, "disk").await.unwrap().unwrap();
    assert_eq!(loaded.data.stored(), Some(stored));
}

#[tokio::test]
async fn save_to_fetches_ranges_and_checks_the_whole_file() {
    let env = env().await;
    let len = 17 * MIB + 123;
    let (blob, data) = saved_from_path(&env, "ranges", len).await;
    env.log.clear();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("copy.bin");
    let written = blob.data.save_to(&env.client, &path).await.unwrap();
    assert_eq!(written, len as u64);
    assert!(std::fs::read(&path).unwrap() == data, "download differs");
    let ranged = env
        .log
        .requests()
        .iter()
        .filter(|r| r.starts_with("GET"))
        .count();
    assert_eq!(ranged, 4, "{:?}", env.log.requests());
    // Only the file itself is left in the folder: no partial files.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[tokio::test]
async fn a_ranged_download_that_does_not_match_leaves_no_file() {
    let env = env().await;
    let (blob, _) = saved_from_path(&env, "mismatch", 11 * MIB).await;
    let stored = blob.data.stored().unwrap().clone();
    let dir = tempfile::tempdir().unwrap();

    // A different checksum: the ranges' combined CRC is refused.
    let mut wrong_crc = stored.clone();
    wrong_crc.crc64nvme = Some("AAAAAAAAAAA=".into());
    // A different size: the server's Content-Range total gives it away.
    let mut wrong_size = stored.clone();
    wrong_size.size -= 1;
    for (name, object) in [("crc", wrong_crc), ("size", wrong_size)] {
        let path = dir.path().join(name);
        let error = S3Object::from_stored(object)
            .save_to(&env.client, &path)
            .await
            .unwrap_err();
        assert!(
            matches!(
                error,
                dynox_core::Error::S3(S3Error::ChecksumMismatch { .. })
            ),
            "{name}: {error:?}"
        );
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[tokio::test]
async fn save_all_and_delete_all_handle_many_items_and_report_each() {
    let env = env().await;
    let mut blobs: Vec<Blob> = (0..40)
        .map(|i| Blob {
            // One item has an empty key: its save fails, the others go on.
            id: if i == 7 {
                String::new()
            } else {
                format!("many-{i}")
            },
            data: S3Object::from_bytes(dynox_tests::content(1000 + i, i as u8), "small.bin"),
        })
        .collect();
    let results = env.client.save_all(&mut blobs).concurrency(8).await;
    assert_eq!(results.len(), 40);
    for (i, result) in results.iter().enumerate() {
        if i == 7 {
            assert!(
                matches!(result, Err(Error::InvalidField { .. })),
                "{result:?}"
            );
        } else {
            assert!(result.is_ok(), "{i}: {result:?}");
            assert!(!blobs[i].data.is_pending());
        }
    }
    for (i, blob) in blobs.iter().enumerate().filter(|(i, _)| *i != 7) {
        let loaded = Blob::get(&env.client, &blob.id).await.unwrap().unwrap();
        let bytes = loaded.data.get_bytes(&env.client).await.unwrap();
        assert!(bytes.as_ref() == dynox_tests::content(1000 + i, i as u8).as_slice());
    }
    assert_eq!(env.keys("blobs").await.len(), 39);

    let keys = blobs
        .iter()
        .filter(|b| !b.id.is_empty())
        .map(|b| Blob::key_of(&b.id));
    let results = env.client.delete_all(keys).concurrency(5).await;
    assert_eq!(results.len(), 39);
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    for blob in blobs.iter().filter(|b| !b.id.is_empty()) {
        assert!(Blob::get(&env.client, &blob.id).await.unwrap().is_none());
    }
    assert!(env.keys("blobs").await.is_empty());
}

/// Overwrites bytes of `path` at `offset` just before the UploadPart of part `part` is sent:
/// the bytes streamed from disk then differ from the bytes hashed before.
#[derive(Debug)]
struct ChangeFileBeforePart {
    path: std::path::PathBuf,
    part: u32,
    offset: u64,
}

impl aws_sdk_s3::config::Intercept for ChangeFileBeforePart {
    fn name(&self) -> &'static str {
        "ChangeFileBeforePart"
    }

    fn read_before_transmit(
        &self,
        context: &aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _: &aws_sdk_s3::config::RuntimeComponents,
        _: &mut aws_sdk_s3::config::ConfigBag,
    ) -> Result<(), aws_sdk_s3::error::BoxError> {
        use std::io::{Seek, Write};
        let uri = context.request().uri();
        if uri.contains(&format!("partNumber={}&", self.part))
            || uri.ends_with(&format!("partNumber={}", self.part))
        {
            let mut file = std::fs::OpenOptions::new().write(true).open(&self.path)?;
            file.seek(std::io::SeekFrom::Start(self.offset))?;
            file.write_all(b"changed underneath")?;
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_file_changed_after_it_was_hashed_is_refused_by_s3_and_nothing_is_stored() {
    let env = env().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("changing.bin");
    std::fs::write(&path, dynox_tests::content(12 * MIB, 3)).unwrap();
    // A client whose S3 requests change the file right before part 2 goes out.
    let s3 = aws_sdk_s3::Client::from_conf(
        env.backend
            .s3_config()
            .interceptor(ChangeFileBeforePart {
                path: path.clone(),
                part: 2,
                offset: 5 * MIB as u64 + 10,
            })
            .build(),
    );
    let client = dynox_core::Client::builder(env.client.sdk_config())
        .table_prefix(env.client.table_prefix())
        .s3(settings()
            .s3_client(s3)
            .bucket("blobs", env.bucket("blobs")))
        .build();
    let mut blob = Blob {
        id: "changing".into(),
        data: S3Object::from_path(&path),
    };
    let err = match client.save(&mut blob).await {
        Err(err) => err,
        Ok(()) => {
            dynox_tests::capability_note(
                &env.backend,
                "a_file_changed_after_it_was_hashed_is_refused_by_s3_and_nothing_is_stored",
                "the server stores an UploadPart whose bytes differ from its x-amz-checksum-crc64nvme",
            );
            // The item records the CRC-64 of the bytes measured: reading the changed object
            // is refused.
            let err = blob
                .data
                .get_bytes(&client)
                .await
                .expect_err("changed bytes");
            assert!(
                matches!(err, dynox_core::Error::S3(S3Error::ChecksumMismatch { .. })),
                "{err:?}"
            );
            return;
        }
    };
    let Error::File { field, source, .. } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(*field, "data");
    let s3_error = source.downcast_ref::<S3Error>().expect("an S3 error");
    assert!(
        s3_error.to_string().contains("UploadPart"),
        "part 2 is refused: {s3_error}"
    );
    // Nothing stored: no item, no object, no open multipart upload.
    assert!(Blob::get(&client, "changing").await.unwrap().is_none());
    assert!(env.keys("blobs").await.is_empty());
    if let Ok(uploads) = env
        .s3
        .list_multipart_uploads()
        .bucket(env.bucket("blobs"))
        .send()
        .await
    {
        assert!(uploads.uploads().is_empty(), "{uploads:?}");
    }
}
