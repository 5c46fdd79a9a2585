//! Compressed file fields (`#[s3(compress = "zstd" | "gzip")]`) against real servers: every
//! download path returns the original bytes, single PUT and multipart, the stored object is
//! really compressed, a changed object fails the SHA-256 check, byte ranges are refused,
//! items written before compression still read, and presigned gzip links decode in a browser.

use std::time::Duration;

use async_compression::tokio::bufread::{GzipDecoder, ZstdDecoder};
use async_compression::tokio::write::GzipEncoder;
use aws_sdk_dynamodb::types::AttributeValue;
use dynox_core::DynamoModel;
use dynox_s3::{Compression, S3Error, S3Object, S3Settings, StoredObject};
use dynox_tests::{file_env, read_object, stored, FileEnv};
use futures::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Debug, Clone, PartialEq, DynamoModel)]
#[dynamo(table = "documents")]
struct Document {
    #[dynamo(hash_key)]
    pk: String,
    #[s3(bucket = "company-docs", prefix = "zstd/", compress = "zstd")]
    zstd: Option<S3Object>,
    #[s3(bucket = "company-docs", prefix = "gzip/", compress = "gzip")]
    gzip: Option<S3Object>,
}

/// The same table and fields before compression existed.
#[derive(Debug, Clone, PartialEq, DynamoModel)]
#[dynamo(table = "documents")]
struct Legacy {
    #[dynamo(hash_key)]
    pk: String,
    #[s3(bucket = "company-docs", prefix = "zstd/")]
    zstd: Option<S3Object>,
    #[s3(bucket = "company-docs", prefix = "gzip/")]
    gzip: Option<S3Object>,
}

const MIB: usize = 1024 * 1024;

/// Single PUT up to 1 MiB of compressed bytes, 5 MiB parts above.
async fn env() -> FileEnv {
    let settings = S3Settings::default()
        .multipart_threshold(MIB as u64)
        .part_size(5 * MIB as u64);
    file_env::<Document>(&["company-docs"], settings).await
}

/// `len` bytes of generated order records (CSV): compresses well.
fn orders(len: usize, seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 100);
    out.extend_from_slice(b"order_id,customer,amount,status\n");
    let mut i = seed;
    while out.len() < len {
        let status = ["paid", "shipped", "refunded"][(i % 3) as usize];
        out.extend_from_slice(
            format!(
                "{i},customer-{},{}.{:02},{status}\n",
                i * 7919 % 10_007,
                i * 31 % 997,
                i % 100
            )
            .as_bytes(),
        );
        i += 1;
    }
    out.truncate(len);
    out
}

/// `len` bytes, half incompressible (so the compressed object still needs several parts).
fn mixed(len: usize, seed: u64) -> Vec<u8> {
    let text = orders(len, seed);
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    text.chunks(4096)
        .enumerate()
        .flat_map(|(i, block)| {
            if i % 2 == 0 {
                block.to_vec()
            } else {
                block
                    .iter()
                    .map(|_| {
                        state ^= state << 13;
                        state ^= state >> 7;
                        state ^= state << 17;
                        state as u8
                    })
                    .collect()
            }
        })
        .collect()
}

/// The stored object's bytes, as S3 has them.
async fn raw(env: &FileEnv, meta: &StoredObject) -> Vec<u8> {
    read_object(&env.s3, &meta.bucket, &meta.key)
        .await
        .bytes
        .to_vec()
}

async fn decode(encoding: Compression, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    match encoding {
        Compression::Zstd => ZstdDecoder::new(data).read_to_end(&mut out).await,
        Compression::Gzip => GzipDecoder::new(data).read_to_end(&mut out).await,
        other => panic!("unknown codec {other}"),
    }
    .unwrap();
    out
}

async fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = GzipEncoder::new(Vec::new());
    encoder.write_all(data).await.unwrap();
    encoder.shutdown().await.unwrap();
    encoder.into_inner()
}

/// Every full download of `file` returns `data`, and a byte range is refused.
async fn check_downloads(env: &FileEnv, file: &S3Object, data: &[u8], what: &str) {
    let bytes = file.get_bytes(&env.client).await.unwrap();
    assert!(bytes.as_ref() == data, "{what}: get_bytes");

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.csv");
    let written = file.save_to(&env.client, &path).await.unwrap();
    assert_eq!(written, data.len() as u64, "{what}: save_to size");
    assert!(std::fs::read(&path).unwrap() == data, "{what}: save_to");

    let mut streamed = Vec::new();
    let mut stream = file.stream(&env.client).unwrap();
    while let Some(chunk) = stream.next().await {
        streamed.extend_from_slice(&chunk.unwrap());
    }
    assert!(streamed == data, "{what}: stream");

    let mut read = Vec::new();
    file.reader(&env.client)
        .unwrap()
        .read_to_end(&mut read)
        .await
        .unwrap();
    assert!(read == data, "{what}: reader");

    let err = file.range(&env.client, 0..10).await.unwrap_err();
    assert!(
        matches!(
            err,
            dynox_core::Error::S3(S3Error::RangeOfCompressed { .. })
        ),
        "{what}: {err:?}"
    );
}

/// The stored object is compressed, records the original's size, and decodes to it.
async fn check_stored(env: &FileEnv, meta: &StoredObject, encoding: Compression, data: &[u8]) {
    assert_eq!(meta.encoding, Some(encoding));
    assert_eq!(meta.size, data.len() as u64);
    assert_eq!(meta.content_type, "text/csv");
    let raw = raw(env, meta).await;
    assert_eq!(meta.stored_size, Some(raw.len() as u64), "{encoding}");
    assert!(
        raw.len() < data.len(),
        "{encoding}: {} bytes stored",
        raw.len()
    );
    assert!(decode(encoding, &raw).await == data, "{encoding}: decodes");
    let head = env
        .s3
        .head_object()
        .bucket(&meta.bucket)
        .key(&meta.key)
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_encoding(), Some(encoding.name()), "{encoding}");
    assert_eq!(head.content_type(), Some("text/csv"), "{encoding}");
}

fn multipart_sent(env: &FileEnv) -> bool {
    env.log
        .requests()
        .iter()
        .any(|r| r.starts_with("POST") && r.contains("uploads"))
}

#[tokio::test]
async fn a_small_file_round_trips_through_every_download_path_in_one_put() {
    let env = env().await;
    let data = orders(300_000, 1);
    let mut d = Document {
        pk: "SMALL".into(),
        zstd: Some(S3Object::from_bytes(data.clone(), "orders.csv")),
        gzip: Some(S3Object::from_bytes(data.clone(), "orders.csv")),
    };
    env.client.save(&mut d).await.unwrap();
    assert!(!multipart_sent(&env), "{:?}", env.log.requests());
    let loaded = Document::get(&env.client, "SMALL").await.unwrap().unwrap();
    assert_eq!(loaded, d);
    for (encoding, file) in [(Compression::Zstd, &d.zstd), (Compression::Gzip, &d.gzip)] {
        check_stored(&env, stored(file), encoding, &data).await;
        check_downloads(&env, file.as_ref().unwrap(), &data, encoding.name()).await;
    }
}

#[tokio::test]
async fn a_large_file_is_compressed_part_by_part_from_a_path_and_a_reader() {
    let env = env().await;
    let data = mixed(12 * MIB, 2);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orders.csv");
    std::fs::write(&path, &data).unwrap();
    let mut d = Document {
        pk: "LARGE".into(),
        zstd: Some(S3Object::from_path(&path)),
        // Unknown length: the compressed size decides, as it is produced.
        gzip: Some(S3Object::from_reader(
            std::io::Cursor::new(data.clone()),
            "orders.csv",
            None,
        )),
    };
    env.client.save(&mut d).await.unwrap();
    let requests = env.log.requests();
    let creates = requests
        .iter()
        .filter(|r| r.starts_with("POST") && r.contains("uploads"))
        .count();
    let parts = requests
        .iter()
        .filter(|r| r.starts_with("PUT") && r.contains("partNumber="))
        .count();
    assert_eq!(creates, 2, "{requests:?}");
    assert!(parts >= 4, "{requests:?}");
    for (encoding, file) in [(Compression::Zstd, &d.zstd), (Compression::Gzip, &d.gzip)] {
        let meta = stored(file);
        assert!(
            meta.stored_size.unwrap() > 5 * MIB as u64,
            "{encoding}: {meta:?}"
        );
        check_stored(&env, meta, encoding, &data).await;
        check_downloads(&env, file.as_ref().unwrap(), &data, encoding.name()).await;
    }
}

#[tokio::test]
async fn an_empty_file_round_trips() {
    let env = env().await;
    let mut d = Document {
        pk: "EMPTY".into(),
        zstd: Some(S3Object::from_bytes(Vec::new(), "empty.csv")),
        gzip: Some(S3Object::from_reader(
            std::io::Cursor::new(Vec::new()),
            "empty.csv",
            None,
        )),
    };
    env.client.save(&mut d).await.unwrap();
    for file in [&d.zstd, &d.gzip] {
        assert_eq!(stored(file).size, 0);
        check_downloads(&env, file.as_ref().unwrap(), &[], "empty").await;
    }
}

#[tokio::test]
async fn a_changed_stored_object_fails_the_checksum_on_every_download_path() {
    let env = env().await;
    let data = orders(200_000, 3);
    let mut d = Document {
        pk: "BAD".into(),
        zstd: Some(S3Object::from_bytes(data.clone(), "orders.csv")),
        gzip: Some(S3Object::from_bytes(data.clone(), "orders.csv")),
    };
    env.client.save(&mut d).await.unwrap();
    // zstd: bytes that do not decode; gzip: valid gzip of other content.
    let replacements = [
        (stored(&d.zstd).clone(), dynox_tests::content(5000, 9)),
        (stored(&d.gzip).clone(), gzip(&orders(200_000, 4)).await),
    ];
    for (meta, bytes) in &replacements {
        env.s3
            .put_object()
            .bucket(&meta.bucket)
            .key(&meta.key)
            .body(bytes.clone().into())
            .send()
            .await
            .unwrap();
    }
    for (file, (meta, _)) in [&d.zstd, &d.gzip].into_iter().zip(&replacements) {
        let file = file.as_ref().unwrap();
        if meta.version_id.is_some() {
            // A versioned bucket: dynox reads the recorded version.
            assert!(file.get_bytes(&env.client).await.unwrap().as_ref() == data);
            continue;
        }
        let err = file.get_bytes(&env.client).await.unwrap_err();
        assert!(
            matches!(err, dynox_core::Error::S3(S3Error::ChecksumMismatch { .. })),
            "{err:?}"
        );
        assert!(err.to_string().contains(&meta.key), "{err}");

        let dir = tempfile::tempdir().unwrap();
        let err = file
            .save_to(&env.client, dir.path().join("out.csv"))
            .await
            .unwrap_err();
        assert!(
            matches!(err, dynox_core::Error::S3(S3Error::ChecksumMismatch { .. })),
            "{err:?}"
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

        let results: Vec<_> = file.stream(&env.client).unwrap().collect().await;
        assert!(
            matches!(
                results.last(),
                Some(Err(dynox_core::Error::S3(S3Error::ChecksumMismatch { .. })))
            ),
            "{results:?}"
        );
        let mut sink = Vec::new();
        let err = file
            .reader(&env.client)
            .unwrap()
            .read_to_end(&mut sink)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData, "{err:?}");
    }
}

#[tokio::test]
async fn an_item_saved_before_compression_existed_still_reads() {
    let env = env().await;
    env.client.create_table::<Legacy>().await.ok();
    let data = orders(100_000, 5);
    let mut old = Legacy {
        pk: "OLD".into(),
        zstd: Some(S3Object::from_bytes(data.clone(), "orders.csv")),
        gzip: None,
    };
    env.client.save(&mut old).await.unwrap();
    // The item has no encoding attributes.
    let item = env
        .client
        .dynamodb()
        .get_item()
        .table_name(env.client.table_name::<Document>())
        .key("pk", AttributeValue::S("OLD".into()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    let AttributeValue::M(map) = &item["zstd"] else {
        panic!("{item:?}")
    };
    assert!(!map.contains_key("encoding") && !map.contains_key("stored_size"));

    let loaded = Document::get(&env.client, "OLD").await.unwrap().unwrap();
    let meta = stored(&loaded.zstd);
    assert_eq!((meta.encoding, meta.stored_size), (None, None));
    assert_eq!(meta, stored(&old.zstd));
    let file = loaded.zstd.as_ref().unwrap();
    assert!(file.get_bytes(&env.client).await.unwrap().as_ref() == data);
    assert_eq!(
        file.range(&env.client, 10..20).await.unwrap().as_ref(),
        &data[10..20]
    );
    assert!(raw(&env, meta).await == data, "stored as it is");
}

#[tokio::test]
async fn a_presigned_url_of_a_gzip_object_carries_its_content_encoding() {
    let env = env().await;
    let data = orders(50_000, 6);
    let mut d = Document {
        pk: "URL".into(),
        zstd: None,
        gzip: Some(S3Object::from_bytes(data.clone(), "orders.csv")),
    };
    env.client.save(&mut d).await.unwrap();
    let url = d
        .gzip
        .as_ref()
        .unwrap()
        .presigned_url(&env.client, Duration::from_secs(600))
        .await
        .unwrap();
    // reqwest without its gzip feature: the body arrives as sent.
    let response = reqwest::get(&url).await.unwrap();
    assert_eq!(response.status(), 200, "{url}");
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    assert_eq!(header("content-encoding").as_deref(), Some("gzip"));
    assert_eq!(header("content-type").as_deref(), Some("text/csv"));
    let body = response.bytes().await.unwrap();
    assert!(body.len() < data.len());
    assert!(decode(Compression::Gzip, &body).await == data);
}
