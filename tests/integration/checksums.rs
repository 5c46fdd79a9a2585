//! Integrity against real servers: every upload records its content's CRC-64/NVME (S3's own
//! full-object checksum, sent on every PutObject and UploadPart and on the complete of a
//! multipart upload), a field that asks for it records a SHA-256 as well, and every download
//! path refuses bytes that do not match what the item recorded: single GETs, streams,
//! readers and the parallel ranged `save_to` (whose ranges' CRCs are combined).
//!
//! What each local server checks on arrival differs (a test note names it where it matters):
//! s3s-fs 0.14.1 refuses a PutObject whose bytes do not match their CRC-64 but checks no part
//! and no complete; moto 5.2.5 checks none (it computes the CRC of what it stored, which
//! dynox compares with its own when the answer carries it). Bytes a server let through are
//! refused on read in every case.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use dynox_core::{DynamoModel, Error};
use dynox_s3::{S3Error, S3Object, S3Settings, S3Value, StoredObject};
use dynox_tests::{file_env, FileEnv};
use futures::StreamExt;
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

#[derive(Debug, DynamoModel)]
#[dynamo(table = "checksums")]
struct Record {
    #[dynamo(hash_key)]
    id: String,
    #[s3(bucket = "sums", prefix = "plain/")]
    plain: Option<S3Object>,
    #[s3(bucket = "sums", prefix = "digest/", sha256)]
    digest: Option<S3Object>,
    #[s3(bucket = "sums", prefix = "value/")]
    value: Option<S3Value<Vec<u32>>>,
    #[s3(bucket = "sums", prefix = "body/", overflow)]
    body: String,
    #[s3(bucket = "sums", prefix = "packed/", compress = "zstd")]
    packed: Option<S3Object>,
    #[s3(bucket = "sums", prefix = "logo/", shared)]
    logo: Option<S3Object>,
}

const MIB: usize = 1024 * 1024;

/// Above 5 MiB a file goes in 5 MiB parts, and downloads by ranges.
fn settings() -> S3Settings {
    S3Settings::default()
        .multipart_threshold(5 * MIB as u64)
        .part_size(5 * MIB as u64)
        .concurrency(3)
}

async fn env() -> FileEnv {
    file_env::<Record>(&["sums"], settings()).await
}

fn sha256(data: &[u8]) -> String {
    STANDARD.encode(Sha256::digest(data))
}

/// A record holding `data` in both file fields, the multipart way from disk when large.
async fn saved(env: &FileEnv, id: &str, data: &[u8]) -> Record {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.bin");
    std::fs::write(&path, data).unwrap();
    let mut record = Record {
        id: id.into(),
        plain: Some(S3Object::from_path(&path)),
        digest: Some(S3Object::from_bytes(data.to_vec(), "data.bin")),
        value: None,
        body: String::new(),
        packed: None,
        logo: None,
    };
    env.client.save(&mut record).await.unwrap();
    record
}

fn stored(file: &Option<S3Object>) -> StoredObject {
    file.as_ref().unwrap().stored().unwrap().clone()
}

fn is_mismatch(error: &Error, expected: &str) -> bool {
    matches!(error, Error::S3(S3Error::ChecksumMismatch { expected: e, .. }) if e.starts_with(expected))
}

/// Every way of reading `object` fails with a checksum mismatch naming `expected` (its
/// kind: `crc64nvme:`, `sha256:`), and `save_to` leaves no file.
async fn refused_everywhere(env: &FileEnv, object: &StoredObject, expected: &str, case: &str) {
    let file = S3Object::from_stored(object.clone());
    let error = file.get_bytes(&env.client).await.unwrap_err();
    assert!(is_mismatch(&error, expected), "{case} get_bytes: {error:?}");
    assert!(error.to_string().contains(&object.key), "{case}: {error}");

    let chunks: Vec<_> = file.stream(&env.client).unwrap().collect().await;
    match chunks.last() {
        Some(Err(error)) => assert!(is_mismatch(error, expected), "{case} stream: {error:?}"),
        other => panic!("{case} stream ended with {other:?}"),
    }

    let mut sink = Vec::new();
    let error = file
        .reader(&env.client)
        .unwrap()
        .read_to_end(&mut sink)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidData, "{case}");

    // Large objects download by parallel ranges here.
    let dir = tempfile::tempdir().unwrap();
    let error = file
        .save_to(&env.client, dir.path().join("out.bin"))
        .await
        .unwrap_err();
    assert!(is_mismatch(&error, expected), "{case} save_to: {error:?}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "{case}");
}

/// Every way of reading `object` gives `data`.
async fn read_whole(env: &FileEnv, object: &StoredObject, data: &[u8], case: &str) {
    let file = S3Object::from_stored(object.clone());
    let bytes = file.get_bytes(&env.client).await.unwrap();
    assert!(bytes.as_ref() == data, "{case}: get_bytes differs");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.bin");
    file.save_to(&env.client, &path).await.unwrap();
    assert!(
        std::fs::read(&path).unwrap() == data,
        "{case}: save_to differs"
    );
}

#[tokio::test]
async fn every_upload_records_its_crc64_and_the_server_keeps_the_same() {
    let env = env().await;
    for (id, len) in [("small", 3000), ("large", 11 * MIB + 7)] {
        let data = dynox_tests::content(len, len as u8);
        let record = saved(&env, id, &data).await;
        let (plain, digest) = (stored(&record.plain), stored(&record.digest));
        let crc = dynox_tests::crc64(&data);
        assert_eq!(plain.crc64nvme.as_deref(), Some(crc.as_str()), "{id}");
        // No SHA-256 unless the field asks for one.
        assert_eq!(plain.sha256, None, "{id}");
        assert_eq!(digest.crc64nvme.as_deref(), Some(crc.as_str()), "{id}");
        assert_eq!(digest.sha256, Some(sha256(&data)), "{id}");
        for object in [&plain, &digest] {
            match dynox_tests::server_crc64(&env.s3, object).await {
                Some(kept) => assert_eq!(kept, crc, "{id}: {}", object.key),
                None => dynox_tests::capability_note(
                    &env.backend,
                    "every_upload_records_its_crc64_and_the_server_keeps_the_same",
                    "the server keeps no full-object CRC-64/NVME of a multipart upload",
                ),
            }
            read_whole(&env, object, &data, id).await;
        }
    }

    // A typed value and an overflow value record theirs too (an overflow value its SHA-256
    // as well: it tells a save whether the value changed).
    let mut record = Record {
        id: "values".into(),
        plain: None,
        digest: None,
        value: Some(S3Value::new(vec![3, 1, 4, 1, 5])),
        body: "x".repeat(420_000),
        packed: None,
        logo: None,
    };
    env.client.save(&mut record).await.unwrap();
    let value = record.value.as_ref().unwrap().object().stored().unwrap();
    assert!(
        value.crc64nvme.is_some() && value.sha256.is_none(),
        "{value:?}"
    );
    let item = dynox_tests::raw_item(&env.client, Record::key_of("values"))
        .await
        .unwrap();
    let body = format!("{:?}", item["body"]);
    assert!(
        body.contains("crc64nvme") && body.contains("sha256"),
        "{body}"
    );
    let loaded = Record::get(&env.client, "values").await.unwrap().unwrap();
    assert_eq!(loaded.body.len(), 420_000);
    let numbers = loaded.value.unwrap().load(&env.client).await.unwrap();
    assert_eq!(numbers, [3, 1, 4, 1, 5]);
}

#[tokio::test]
async fn compressed_and_shared_files_record_the_content_crc64() {
    let env = env().await;
    let data = "order,total\n".repeat(600_000).into_bytes();
    let crc = dynox_tests::crc64(&data);
    let mut first = Record {
        id: "first".into(),
        plain: None,
        digest: None,
        value: None,
        body: String::new(),
        packed: Some(S3Object::from_bytes(data.clone(), "orders.csv")),
        logo: Some(S3Object::from_bytes(data.clone(), "logo.bin")),
    };
    env.client.save(&mut first).await.unwrap();
    // Compressed: the item's CRC is the content's; S3's (where kept) is the stored bytes'.
    let packed = stored(&first.packed);
    assert_eq!(packed.crc64nvme.as_deref(), Some(crc.as_str()));
    assert!(packed.stored_size.unwrap() < data.len() as u64 / 10);
    if let Some(kept) = dynox_tests::server_crc64(&env.s3, &packed).await {
        assert_ne!(kept, crc, "the server's CRC is of the compressed bytes");
    }
    read_whole(&env, &packed, &data, "packed").await;
    // Shared: a SHA-256 (the key) and the CRC, the same whether uploaded or reused.
    let uploaded = stored(&first.logo);
    let mut second = Record {
        id: "second".into(),
        logo: Some(S3Object::from_bytes(data.clone(), "logo.bin")),
        ..first
    };
    second.packed = None;
    env.client.save(&mut second).await.unwrap();
    let reused = stored(&second.logo);
    assert_eq!(reused.key, uploaded.key);
    for object in [&uploaded, &reused] {
        assert_eq!(object.crc64nvme.as_deref(), Some(crc.as_str()));
        assert_eq!(object.sha256, Some(sha256(&data)));
        read_whole(&env, object, &data, "logo").await;
    }
}

#[tokio::test]
async fn changed_bytes_are_refused_on_every_download_path() {
    let env = env().await;
    for (id, len) in [("small", 3000), ("large", 11 * MIB + 7)] {
        let data = dynox_tests::content(len, 7);
        let record = saved(&env, id, &data).await;
        // The same length with one byte changed: only a checksum can tell.
        let mut changed = data.clone();
        changed[len / 2] ^= 0x5a;
        for object in [stored(&record.plain), stored(&record.digest)] {
            if object.version_id.is_some() {
                // A versioned bucket: dynox reads the recorded version, not the change.
                continue;
            }
            env.s3
                .put_object()
                .bucket(&object.bucket)
                .key(&object.key)
                .body(changed.clone().into())
                .send()
                .await
                .unwrap();
            let case = format!("{id} {}", object.key);
            refused_everywhere(&env, &object, "crc64nvme:", &case).await;
        }
    }
}

#[tokio::test]
async fn a_recorded_sha256_is_checked_as_well() {
    let env = env().await;
    for (id, len) in [("small", 3000), ("large", 11 * MIB + 7)] {
        let data = dynox_tests::content(len, 11);
        let digest = stored(&saved(&env, id, &data).await.digest);
        // A record whose CRC matches but whose SHA-256 does not: refused by the SHA-256
        // (the ranged `save_to` reads the file back to hash it).
        let mut wrong_sha = digest.clone();
        wrong_sha.sha256 = Some(sha256(b"something else"));
        refused_everywhere(&env, &wrong_sha, "sha256:", id).await;
        let mut wrong_crc = digest.clone();
        wrong_crc.crc64nvme = Some(dynox_tests::crc64(b"something else"));
        refused_everywhere(&env, &wrong_crc, "crc64nvme:", id).await;
    }
}

#[tokio::test]
async fn an_item_written_before_crc64_verifies_with_its_sha256() {
    let env = env().await;
    for (id, len) in [("small", 3000), ("large", 11 * MIB + 7)] {
        let data = dynox_tests::content(len, 13);
        let plain = stored(&saved(&env, id, &data).await.plain);
        // What dynox recorded before CRC-64 was the default: a SHA-256 only.
        let mut old = plain.clone();
        (old.crc64nvme, old.sha256) = (None, Some(sha256(&data)));
        read_whole(&env, &old, &data, id).await;
        old.sha256 = Some(sha256(b"something else"));
        refused_everywhere(&env, &old, "sha256:", id).await;
    }
}

/// Changes the file at `path` just before its PutObject goes out.
#[derive(Debug)]
struct ChangeFileBeforePut {
    path: std::path::PathBuf,
}

impl aws_sdk_s3::config::Intercept for ChangeFileBeforePut {
    fn name(&self) -> &'static str {
        "ChangeFileBeforePut"
    }

    fn read_before_transmit(
        &self,
        context: &aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _: &aws_sdk_s3::config::RuntimeComponents,
        _: &mut aws_sdk_s3::config::ConfigBag,
    ) -> Result<(), aws_sdk_s3::error::BoxError> {
        use std::io::{Seek, Write};
        if context.request().method() == "PUT" && context.request().uri().contains("/plain/") {
            let mut file = std::fs::OpenOptions::new().write(true).open(&self.path)?;
            file.seek(std::io::SeekFrom::Start(100))?;
            file.write_all(b"changed underneath")?;
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_file_changed_after_it_was_measured_is_refused_by_s3_or_on_read() {
    let env = env().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("changing.bin");
    std::fs::write(&path, dynox_tests::content(3000, 5)).unwrap();
    let s3 = aws_sdk_s3::Client::from_conf(
        env.backend
            .s3_config()
            .interceptor(ChangeFileBeforePut { path: path.clone() })
            .build(),
    );
    let client = dynox_core::Client::builder(env.client.sdk_config())
        .table_prefix(env.client.table_prefix())
        .s3(settings().s3_client(s3).bucket("sums", env.bucket("sums")))
        .build();
    let mut record = Record {
        id: "changing".into(),
        plain: Some(S3Object::from_path(&path)),
        digest: None,
        value: None,
        body: String::new(),
        packed: None,
        logo: None,
    };
    match client.save(&mut record).await {
        Err(Error::File { field, source, .. }) => {
            // S3 refused the bytes: nothing is stored, no item, no object.
            assert_eq!(field, "plain");
            let error = source.downcast_ref::<S3Error>().expect("an S3 error");
            assert!(error.to_string().contains("PutObject"), "{error}");
            assert!(Record::get(&client, "changing").await.unwrap().is_none());
            assert!(env.keys("sums").await.is_empty());
        }
        Err(other) => panic!("{other:?}"),
        Ok(()) => {
            dynox_tests::capability_note(
                &env.backend,
                "a_file_changed_after_it_was_measured_is_refused_by_s3_or_on_read",
                "the server stores a PutObject whose bytes differ from its x-amz-checksum-crc64nvme",
            );
            // The item records the CRC of the bytes measured: reading the changed object is
            // refused.
            let object = stored(&record.plain);
            let error = S3Object::from_stored(object)
                .get_bytes(&client)
                .await
                .unwrap_err();
            assert!(is_mismatch(&error, "crc64nvme:"), "{error:?}");
        }
    }
}
