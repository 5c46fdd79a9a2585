//! What the item records of a file: a map of metadata only (never the bytes), read by get and
//! query without an S3 request; every accessor, user metadata and the dynox marker as S3
//! metadata, and dates that are S3's, not the client's clock.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use aws_sdk_dynamodb::types::AttributeValue;
use bytes::Bytes;
use dynox_s3::{S3Object, S3Settings};

use super::{doc, env, raw_content, raw_item, Document};

#[tokio::test]
async fn save_uploads_and_get_and_query_read_metadata_without_s3_requests() {
    let env = env().await;
    let data = dynox_tests::content(3000, 1);
    let mut d = doc(
        "DOC#1",
        Some(S3Object::from_bytes(data.clone(), "report.pdf").with_metadata("author", "Ada")),
    );
    env.client.save(&mut d).await.unwrap();
    let file = d.content.as_ref().unwrap();
    assert_eq!(file.size(), Some(3000));
    assert_eq!(file.content_type(), Some("application/pdf"));
    assert_eq!(file.bucket(), Some(env.bucket("company-docs")));
    let key = file.key().unwrap();
    assert!(key.starts_with("documents/DOC/1/v1/"), "{key}");
    assert!(key.ends_with("/report.pdf"), "{key}");
    assert!(file.etag().is_some());
    assert!(file.crc64nvme().is_some());

    env.log.clear();
    let loaded = Document::get(&env.client, "DOC#1", "v1")
        .await
        .unwrap()
        .unwrap();
    let listed = Document::query(&env.client, "DOC#1").all().await.unwrap();
    assert_eq!(
        env.log.requests(),
        Vec::<String>::new(),
        "get and query made S3 requests"
    );
    assert_eq!(loaded, d);
    assert_eq!(listed, vec![d.clone()]);
    assert_eq!(loaded.content.as_ref().unwrap().metadata()["author"], "Ada");

    let bytes = loaded
        .content
        .as_ref()
        .unwrap()
        .get_bytes(&env.client)
        .await
        .unwrap();
    assert_eq!(bytes, Bytes::from(data));
    assert_eq!(env.log.requests().len(), 1, "{:?}", env.log.requests());
}

#[tokio::test]
async fn the_item_stores_only_metadata_as_a_map() {
    let env = env().await;
    let mut d = doc(
        "DOC#2",
        Some(S3Object::from_bytes(
            dynox_tests::content(500_000, 2),
            "big.bin",
        )),
    );
    env.client.save(&mut d).await.unwrap();
    let item = raw_item(&env.client, "DOC#2").await;
    let AttributeValue::M(map) = &item["content"] else {
        panic!("content is not a map")
    };
    let mut names: Vec<_> = map.keys().map(String::as_str).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "bucket",
            "content_type",
            "crc64nvme",
            "etag",
            "file_name",
            "key",
            "last_modified",
            "size"
        ]
    );
    assert_eq!(map["size"], AttributeValue::N("500000".into()));
    let AttributeValue::M(thumb) = &item["thumbnail"] else {
        panic!("thumbnail is not a map")
    };
    assert_eq!(thumb["region"], AttributeValue::S("eu-west-1".into()));
    // A 500 KB file next to an item that stays far below DynamoDB's 400 KB limit.
    let item_size: usize = format!("{item:?}").len();
    assert!(item_size < 4000, "{item_size}");
}

#[tokio::test]
async fn user_metadata_and_the_dynox_marker_are_s3_metadata() {
    let env = env().await;
    let mut d = doc(
        "META#1",
        Some(S3Object::from_bytes(vec![1], "a.txt").with_metadata("department", "finance")),
    );
    env.client.save(&mut d).await.unwrap();
    let file = d.content.as_ref().unwrap();
    let head = env
        .s3
        .head_object()
        .set_bucket(file.bucket().map(str::to_owned))
        .set_key(file.key().map(str::to_owned))
        .send()
        .await
        .unwrap();
    let s3_meta = head.metadata.unwrap_or_default();
    assert_eq!(
        s3_meta.get("department").map(String::as_str),
        Some("finance")
    );
    assert!(
        s3_meta.contains_key(dynox_s3::MARKER_METADATA),
        "{s3_meta:?}"
    );
    assert_eq!(head.content_type.as_deref(), Some("text/plain"));
}

/// The clock of the S3 client dynox uploads with in
/// [`every_metadata_accessor_reads_the_item_and_s3_dates_the_upload`]: ten minutes behind,
/// within the 15 minutes of skew SigV4 servers accept, and far enough from S3's time to tell
/// the two apart.
#[derive(Debug)]
struct ClockBehind(Duration);

impl aws_types::sdk_config::TimeSource for ClockBehind {
    fn now(&self) -> SystemTime {
        SystemTime::now() - self.0
    }
}

/// How far apart two times are, whichever is first.
fn apart(a: SystemTime, b: SystemTime) -> Duration {
    a.duration_since(b)
        .or_else(|_| b.duration_since(a))
        .unwrap_or_default()
}

#[tokio::test]
async fn every_metadata_accessor_reads_the_item_and_s3_dates_the_upload() {
    let behind = Duration::from_secs(600);
    let backend = dynox_tests::backend().await;
    let bucket = dynox_tests::unique_prefix()
        .trim_end_matches('-')
        .to_lowercase()
        + "-bkt";
    let s3 = backend.s3_client();
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    // dynox's S3 client runs on the fake clock; the test's own client on the real one.
    let uploads =
        aws_sdk_s3::Client::from_conf(backend.s3_config().time_source(ClockBehind(behind)).build());
    let settings = S3Settings::default()
        .multipart_threshold(5 * 1024 * 1024)
        .part_size(5 * 1024 * 1024)
        .s3_client(uploads)
        .bucket("company-docs", bucket.clone());
    let client = dynox_core::Client::builder(backend.sdk_config())
        .table_prefix(dynox_tests::unique_prefix())
        .s3(settings)
        .build();
    client.create_table::<Document>().await.unwrap();

    // `content` goes by multipart upload (two parts), `thumbnail` by one PutObject.
    let data = dynox_tests::content(6 * 1024 * 1024, 4);
    let tags = HashMap::from([("author", "Ada"), ("department", "finance")]);
    let mut d = doc(
        "META#2",
        Some(
            S3Object::from_bytes(data.clone(), "ledger.csv")
                .with_metadata_map(tags)
                .with_metadata("reviewed", "yes"),
        ),
    );
    d.thumbnail = d.thumbnail.with_metadata_map([("size", "small")]);
    let pending = d.content.as_ref().unwrap();
    assert_eq!(
        (pending.bucket(), pending.key(), pending.etag()),
        (None, None, None)
    );
    assert_eq!(
        (pending.last_modified(), pending.version_id()),
        (None, None)
    );
    assert_eq!(pending.metadata().len(), 3);
    client.save(&mut d).await.unwrap();

    let loaded = Document::get(&client, "META#2", "v1")
        .await
        .unwrap()
        .unwrap();
    for (file, name, content_type, size, region, metadata, parts) in [
        (
            loaded.content.as_ref().unwrap(),
            "ledger.csv",
            "text/csv",
            data.len() as u64,
            None,
            vec![
                ("author", "Ada"),
                ("department", "finance"),
                ("reviewed", "yes"),
            ],
            Some(2),
        ),
        (
            &loaded.thumbnail,
            "thumb.png",
            "image/png",
            4,
            Some("eu-west-1"),
            vec![("size", "small")],
            None,
        ),
    ] {
        assert!(!file.is_pending());
        assert_eq!(file.bucket(), Some(bucket.as_str()), "{name}");
        let key = file.key().unwrap();
        assert!(key.ends_with(&format!("/{name}")), "{key}");
        assert_eq!(file.region(), region, "{name}");
        assert_eq!(file.size(), Some(size), "{name}");
        assert_eq!(file.content_type(), Some(content_type), "{name}");
        assert_eq!(file.file_name(), name);
        assert_eq!(
            file.version_id(),
            None,
            "{name}: the bucket is not versioned"
        );
        assert!(file.crc64nvme().is_some(), "{name}");
        let read: Vec<(&str, &str)> = file
            .metadata()
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(read, metadata, "{name}");

        // What S3 itself says of the object, read with the test's own (real) clock.
        let head = s3
            .head_object()
            .bucket(&bucket)
            .key(key)
            .send()
            .await
            .unwrap();
        // The ETag keeps its quotes, exactly as S3 sends it; a multipart one ends in `-N`.
        let etag = file.etag().unwrap();
        assert_eq!(Some(etag), head.e_tag.as_deref(), "{name}");
        assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
        let unquoted = file.etag_unquoted().unwrap();
        assert_eq!(format!("\"{unquoted}\""), etag);
        if let Some(parts) = parts {
            assert!(unquoted.ends_with(&format!("-{parts}")), "{etag}");
        } else {
            assert!(
                unquoted.len() == 32 && unquoted.bytes().all(|b| b.is_ascii_hexdigit()),
                "{etag}"
            );
        }
        // Last modified is S3's time (within a few seconds of the object's Last-Modified),
        // not the client's clock, ten minutes behind.
        let stored = file.last_modified().unwrap();
        let s3_time = SystemTime::try_from(head.last_modified.unwrap()).unwrap();
        assert!(
            apart(stored, s3_time) <= Duration::from_secs(5),
            "{name}: {stored:?} recorded, S3 says {s3_time:?}"
        );
        assert!(
            apart(stored, SystemTime::now() - behind) > behind / 2,
            "{name}: dated by the client's clock"
        );
        assert_eq!(
            head.metadata
                .unwrap_or_default()
                .into_iter()
                .filter(|(k, _)| !k.starts_with("dynox-"))
                .collect::<std::collections::BTreeMap<_, _>>(),
            *file.metadata(),
            "{name}"
        );
    }
    assert_eq!(loaded, d, "the item reads back what the save recorded");

    // In the item, last_modified stays an RFC 3339 string.
    let map = &raw_content(&client, "META#2").await;
    let AttributeValue::S(text) = &map["last_modified"] else {
        panic!("last_modified is not a string")
    };
    let parsed = aws_sdk_s3::primitives::DateTime::from_str(
        text,
        aws_sdk_s3::primitives::DateTimeFormat::DateTime,
    )
    .unwrap();
    assert_eq!(
        SystemTime::try_from(parsed).ok(),
        loaded.content.as_ref().unwrap().last_modified()
    );
}
