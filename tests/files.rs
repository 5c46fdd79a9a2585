//! S3 file fields against real servers: upload sources, the stored metadata, downloads,
//! presigned URLs, cascading delete and errors (direct uploads: `direct_uploads.rs`).

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use aws_sdk_dynamodb::types::AttributeValue;
use bytes::Bytes;
use dynox_core::{DynamoModel, Error};
use dynox_s3::{S3Error, S3Object, S3Settings};
use dynox_tests::{file_env, FileEnv};
use futures::StreamExt;
use tokio::io::AsyncReadExt;

#[derive(Debug, Clone, PartialEq, DynamoModel)]
#[dynamo(table = "documents")]
struct Document {
    #[dynamo(hash_key)]
    pk: String,
    #[dynamo(range_key)]
    sk: String,
    name: String,
    #[s3(bucket = "company-docs", prefix = "documents/")]
    content: Option<S3Object>,
    #[s3(bucket = "company-docs", prefix = "thumbs/", region = "eu-west-1")]
    thumbnail: S3Object,
}

fn doc(pk: &str, content: Option<S3Object>) -> Document {
    Document {
        pk: pk.into(),
        sk: "v1".into(),
        name: "Contract".into(),
        content,
        thumbnail: S3Object::from_bytes(vec![0x89, b'P', b'N', b'G'], "thumb.png"),
    }
}

/// Deterministic test content of `len` bytes.
async fn env() -> FileEnv {
    file_env::<Document>(&["company-docs"], S3Settings::default()).await
}

async fn object_exists(env: &FileEnv, bucket: &str, key: &str) -> bool {
    match env.s3.head_object().bucket(bucket).key(key).send().await {
        Ok(_) => true,
        Err(e) if e.raw_response().map(|r| r.status().as_u16()) == Some(404) => false,
        Err(e) => panic!("HEAD {key}: {e:?}"),
    }
}

/// Item (`pk`, `v1`) as DynamoDB stores it.
async fn raw_item(client: &dynox_core::Client, pk: &str) -> HashMap<String, AttributeValue> {
    client
        .dynamodb()
        .get_item()
        .table_name(client.table_name::<Document>())
        .key("pk", AttributeValue::S(pk.into()))
        .key("sk", AttributeValue::S("v1".into()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap()
}

/// The `content` attribute of item (`pk`, `v1`) as DynamoDB stores it.
async fn raw_content(client: &dynox_core::Client, pk: &str) -> HashMap<String, AttributeValue> {
    let item = raw_item(client, pk).await;
    match item.get("content") {
        Some(AttributeValue::M(map)) => map.clone(),
        other => panic!("content is not a map: {other:?}"),
    }
}

fn stored(object: &Option<S3Object>) -> &dynox_s3::StoredObject {
    object
        .as_ref()
        .and_then(S3Object::stored)
        .expect("a stored object")
}

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
    assert!(file.sha256().is_some());

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
            "etag",
            "file_name",
            "key",
            "last_modified",
            "sha256",
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
        .extension(settings)
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
        assert!(file.sha256().is_some(), "{name}");
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

#[tokio::test]
async fn every_upload_source_round_trips() {
    let env = env().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("from disk.txt");
    std::fs::write(&path, dynox_tests::content(70_000, 3)).unwrap();

    let sources: Vec<(S3Object, Vec<u8>, &str, &str)> = vec![
        (
            S3Object::from_path(&path),
            dynox_tests::content(70_000, 3),
            "from disk.txt",
            "text/plain",
        ),
        (
            S3Object::from_reader(
                std::io::Cursor::new(dynox_tests::content(1234, 4)),
                "sized.json",
                Some(1234),
            ),
            dynox_tests::content(1234, 4),
            "sized.json",
            "application/json",
        ),
        (
            S3Object::from_reader(
                std::io::Cursor::new(dynox_tests::content(999, 5)),
                "unsized",
                None,
            ),
            dynox_tests::content(999, 5),
            "unsized",
            "application/octet-stream",
        ),
        (
            S3Object::from_stream(
                futures::stream::iter(
                    (0..10).map(|i| Ok(Bytes::from(dynox_tests::content(100, i)))),
                ),
                "chunks.csv",
            ),
            (0..10).flat_map(|i| dynox_tests::content(100, i)).collect(),
            "chunks.csv",
            "text/csv",
        ),
        (
            S3Object::from_bytes(vec![1, 2, 3], "x.weird")
                .with_content_type("application/x-custom"),
            vec![1, 2, 3],
            "x.weird",
            "application/x-custom",
        ),
    ];
    for (i, (source, expected, name, content_type)) in sources.into_iter().enumerate() {
        let mut d = doc(&format!("SRC#{i}"), Some(source));
        env.client.save(&mut d).await.unwrap();
        let loaded = Document::get(&env.client, format!("SRC#{i}"), "v1")
            .await
            .unwrap()
            .unwrap();
        let file = loaded.content.as_ref().unwrap();
        assert_eq!(file.file_name(), name);
        assert_eq!(file.content_type(), Some(content_type), "{name}");
        assert_eq!(file.size(), Some(expected.len() as u64), "{name}");
        let bytes = file.get_bytes(&env.client).await.unwrap();
        assert_eq!(bytes.as_ref(), expected.as_slice(), "{name}");
    }
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

#[tokio::test]
async fn large_files_go_by_multipart_and_round_trip() {
    let settings = S3Settings::default()
        .multipart_threshold(5 * 1024 * 1024)
        .part_size(5 * 1024 * 1024)
        .concurrency(3);
    let env = file_env::<Document>(&["company-docs"], settings).await;
    let len = 12 * 1024 * 1024 + 17;
    let data = dynox_tests::content(len, 9);
    for (i, source) in [
        S3Object::from_bytes(data.clone(), "big.bin"),
        S3Object::from_reader(std::io::Cursor::new(data.clone()), "big-unsized.bin", None),
    ]
    .into_iter()
    .enumerate()
    {
        env.log.clear();
        let mut d = doc(&format!("BIG#{i}"), Some(source));
        env.client.save(&mut d).await.unwrap();
        let requests = env.log.requests();
        let parts = requests
            .iter()
            .filter(|r| r.starts_with("PUT") && r.contains("partNumber="))
            .count();
        assert_eq!(parts, 3, "{requests:?}");
        assert!(
            requests
                .iter()
                .any(|r| r.starts_with("POST") && r.contains("uploads")),
            "{requests:?}"
        );
        let file = d.content.as_ref().unwrap();
        assert_eq!(file.size(), Some(len as u64));
        // A multipart upload's ETag: quoted, ending in the number of parts.
        assert!(file.etag().unwrap().ends_with("-3\""), "{:?}", file.etag());
        let bytes = file.get_bytes(&env.client).await.unwrap();
        assert!(
            bytes.as_ref() == data.as_slice(),
            "multipart content differs"
        );
    }
}

#[tokio::test]
async fn save_to_stream_reader_and_range_return_the_content() {
    let env = env().await;
    let data = dynox_tests::content(200_000, 7);
    let mut d = doc("DL#1", Some(S3Object::from_bytes(data.clone(), "data.bin")));
    env.client.save(&mut d).await.unwrap();
    let file = d.content.as_ref().unwrap();

    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("out.bin");
    assert_eq!(file.save_to(&env.client, &target).await.unwrap(), 200_000);
    assert_eq!(std::fs::read(&target).unwrap(), data);
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "no temporary file left: {names:?}");

    let mut streamed = Vec::new();
    let mut stream = file.stream(&env.client).unwrap();
    while let Some(chunk) = stream.next().await {
        streamed.extend_from_slice(&chunk.unwrap());
    }
    assert_eq!(streamed, data);

    let mut read = Vec::new();
    file.reader(&env.client)
        .unwrap()
        .read_to_end(&mut read)
        .await
        .unwrap();
    assert_eq!(read, data);

    let middle = file.range(&env.client, 1000..1010).await.unwrap();
    assert_eq!(middle.as_ref(), &data[1000..1010]);
    let tail = file.range(&env.client, 199_990..300_000).await.unwrap();
    assert_eq!(tail.as_ref(), &data[199_990..]);
}

#[tokio::test]
async fn changed_content_is_a_checksum_mismatch_on_every_download_path() {
    let env = env().await;
    let mut d = doc(
        "BAD#1",
        Some(S3Object::from_bytes(dynox_tests::content(5000, 1), "a.bin")),
    );
    env.client.save(&mut d).await.unwrap();
    let meta = stored(&d.content).clone();
    // Someone else overwrites the object with other bytes of the same size.
    env.s3
        .put_object()
        .bucket(&meta.bucket)
        .key(&meta.key)
        .body(dynox_tests::content(5000, 2).into())
        .send()
        .await
        .unwrap();
    let file = d.content.as_ref().unwrap();
    if meta.version_id.is_some() {
        // A versioned bucket: dynox reads the recorded version, so the overwrite is invisible.
        assert_eq!(
            file.get_bytes(&env.client).await.unwrap().as_ref(),
            dynox_tests::content(5000, 1).as_slice()
        );
        return;
    }
    let err = file.get_bytes(&env.client).await.unwrap_err();
    assert!(matches!(err, S3Error::ChecksumMismatch { .. }), "{err:?}");
    assert!(err.to_string().contains(&meta.key), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("out.bin");
    let err = file.save_to(&env.client, &target).await.unwrap_err();
    assert!(matches!(err, S3Error::ChecksumMismatch { .. }), "{err:?}");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "a failed download leaves no file"
    );

    let results: Vec<_> = file.stream(&env.client).unwrap().collect().await;
    assert!(
        matches!(results.last(), Some(Err(S3Error::ChecksumMismatch { .. }))),
        "{results:?}"
    );
}

#[tokio::test]
async fn presigned_urls_download_without_credentials_and_expire() {
    let env = env().await;
    let data = dynox_tests::content(4096, 4);
    let mut d = doc(
        "URL#1",
        Some(S3Object::from_bytes(data.clone(), "shared.pdf")),
    );
    env.client.save(&mut d).await.unwrap();
    let file = d.content.as_ref().unwrap();

    let url = file
        .presigned_url(&env.client, Duration::from_secs(3600))
        .await
        .unwrap();
    let response = reqwest::get(&url).await.unwrap();
    assert_eq!(response.status(), 200, "{url}");
    assert_eq!(response.bytes().await.unwrap().as_ref(), data.as_slice());

    for bad in [
        Duration::ZERO,
        Duration::from_millis(500),
        Duration::from_secs(7 * 24 * 3600 + 1),
    ] {
        let err = file.presigned_url(&env.client, bad).await.unwrap_err();
        assert!(matches!(err, S3Error::InvalidExpiry { .. }), "{err:?}");
    }

    // A URL signed two hours ago for one hour has expired.
    let meta = stored(&d.content);
    let expired = env
        .s3
        .get_object()
        .bucket(&meta.bucket)
        .key(&meta.key)
        .presigned(
            aws_sdk_s3::presigning::PresigningConfig::builder()
                .start_time(std::time::SystemTime::now() - Duration::from_secs(7200))
                .expires_in(Duration::from_secs(3600))
                .build()
                .unwrap(),
        )
        .await
        .unwrap();
    let status = reqwest::get(expired.uri()).await.unwrap().status();
    if matches!(env.backend.s3_server(), dynox_local::Server::Endpoint(_)) && status == 200 {
        dynox_tests::capability_note(
            &env.backend,
            "presigned_urls_download_without_credentials_and_expire",
            "this endpoint does not check presigned URL expiry; checked on the embedded s3s-fs",
        );
    } else {
        assert_eq!(status, 403, "an expired URL must be refused");
    }
}

#[tokio::test]
async fn delete_removes_the_item_then_its_objects() {
    let env = env().await;
    let mut d = doc("DEL#1", Some(S3Object::from_bytes(vec![1; 100], "a.txt")));
    env.client.save(&mut d).await.unwrap();
    let content_key = stored(&d.content).key.clone();
    let thumb_key = d.thumbnail.key().unwrap().to_owned();
    let bucket = env.bucket("company-docs").to_owned();
    assert!(object_exists(&env, &bucket, &content_key).await);

    let old = Document::delete(&env.client, "DEL#1", "v1")
        .return_old()
        .await
        .unwrap();
    assert_eq!(old, Some(d));
    assert_eq!(
        Document::get(&env.client, "DEL#1", "v1").await.unwrap(),
        None
    );
    assert!(!object_exists(&env, &bucket, &content_key).await);
    assert!(!object_exists(&env, &bucket, &thumb_key).await);
    assert_eq!(env.keys("company-docs").await, Vec::<String>::new());
}

#[tokio::test]
async fn clearing_a_file_keeps_the_object_and_replacing_one_deletes_the_old() {
    let env = env().await;
    let mut d = doc("UPD#1", Some(S3Object::from_bytes(vec![1; 10], "v1.txt")));
    env.client.save(&mut d).await.unwrap();
    let first = stored(&d.content).key.clone();

    // Replace the file: a new object under a new key; the old one goes after the commit.
    d.content = Some(S3Object::from_bytes(vec![2; 10], "v1.txt"));
    env.client.save(&mut d).await.unwrap();
    let second = stored(&d.content).key.clone();
    assert_ne!(first, second, "a save never reuses an object key");
    let bucket = env.bucket("company-docs").to_owned();
    assert!(
        !object_exists(&env, &bucket, &first).await,
        "the replaced object is deleted"
    );
    assert!(object_exists(&env, &bucket, &second).await);

    // Keep the file, change another field: no upload, the object stays.
    env.log.clear();
    d.name = "Renamed".into();
    env.client.save(&mut d).await.unwrap();
    assert!(env.log.requests().is_empty(), "{:?}", env.log.requests());
    assert!(object_exists(&env, &bucket, &second).await);

    // Clear it: the reference goes, the object stays (documented behaviour).
    d.content = None;
    env.client.save(&mut d).await.unwrap();
    let loaded = Document::get(&env.client, "UPD#1", "v1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(loaded.content, None);
    assert!(
        object_exists(&env, &bucket, &second).await,
        "clearing keeps the object"
    );
}

#[tokio::test]
async fn a_failed_write_removes_the_objects_it_uploaded() {
    let env = env().await;
    let mut first = doc("FAIL#1", Some(S3Object::from_bytes(vec![1; 10], "a.txt")));
    env.client.create(&mut first).await.unwrap();
    let before = env.keys("company-docs").await;
    assert_eq!(before.len(), 2);

    let mut second = doc("FAIL#1", Some(S3Object::from_bytes(vec![2; 10], "b.txt")));
    let err = env.client.create(&mut second).await.unwrap_err();
    assert!(matches!(err, Error::AlreadyExists { .. }), "{err:?}");
    assert_eq!(
        env.keys("company-docs").await,
        before,
        "the new objects were removed"
    );
    assert_eq!(
        Document::get(&env.client, "FAIL#1", "v1").await.unwrap(),
        Some(first)
    );
}

#[tokio::test]
async fn a_missing_bucket_fails_before_the_write_and_names_it() {
    let env = env().await;
    let settings = S3Settings::default().bucket("company-docs", "dynox-no-such-bucket");
    let client = dynox_core::Client::builder(env.backend.sdk_config())
        .table_prefix(env.client.table_prefix())
        .extension(settings)
        .build();
    let mut d = doc("NOB#1", Some(S3Object::from_bytes(vec![1], "a.txt")));
    if *env.backend.s3_server() == dynox_local::Server::Embedded {
        dynox_tests::capability_note(
            &env.backend,
            "a_missing_bucket_fails_before_the_write_and_names_it",
            "s3s-fs creates a missing bucket on PutObject; checked on moto",
        );
        return;
    }
    let err = client.save(&mut d).await.unwrap_err();
    assert!(matches!(err, Error::File { .. }), "{err:?}");
    match S3Error::find(&err) {
        Some(S3Error::NoSuchBucket { bucket, .. }) => assert_eq!(bucket, "dynox-no-such-bucket"),
        other => panic!("expected NoSuchBucket, got {other:?}"),
    }
    assert!(
        err.to_string().contains("content") || err.to_string().contains("thumbnail"),
        "{err}"
    );
    assert_eq!(
        Document::get(&client, "NOB#1", "v1").await.unwrap(),
        None,
        "nothing written"
    );
}

#[tokio::test]
async fn a_failing_field_rolls_back_the_other_fields_upload() {
    #[derive(Debug, DynamoModel)]
    #[dynamo(table = "pairs")]
    struct Pair {
        #[dynamo(hash_key)]
        id: String,
        #[s3(bucket = "good-bucket")]
        good: S3Object,
        #[s3(bucket = "good-bucket")]
        bad: S3Object,
    }

    /// A reader that fails after some bytes, like a network stream that breaks.
    struct Broken(usize);
    impl tokio::io::AsyncRead for Broken {
        fn poll_read(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            buf: &mut tokio::io::ReadBuf<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            if self.0 == 0 {
                return std::task::Poll::Ready(Err(std::io::Error::other("connection reset")));
            }
            let n = self.0.min(buf.remaining());
            buf.put_slice(&vec![7; n]);
            self.0 -= n;
            std::task::Poll::Ready(Ok(()))
        }
    }
    let env = file_env::<Pair>(&["good-bucket"], S3Settings::default()).await;
    let mut pair = Pair {
        id: "p".into(),
        good: S3Object::from_bytes(vec![1; 10], "good.txt"),
        bad: S3Object::from_reader(Broken(1000), "bad.txt", None),
    };
    let err = env.client.save(&mut pair).await.unwrap_err();
    assert!(matches!(err, Error::File { field: "bad", .. }), "{err:?}");
    assert!(
        matches!(S3Error::find(&err), Some(S3Error::Source { .. })),
        "{err:?}"
    );
    assert_eq!(
        env.keys("good-bucket").await,
        Vec::<String>::new(),
        "the good upload was rolled back"
    );
    assert!(pair.good.is_pending(), "nothing was committed");
}

#[tokio::test]
async fn a_required_file_missing_from_the_item_names_the_field() {
    let env = env().await;
    env.client
        .dynamodb()
        .put_item()
        .table_name(env.client.table_name::<Document>())
        .set_item(Some(HashMap::from([
            ("pk".to_string(), AttributeValue::S("RAW#1".into())),
            ("sk".to_string(), AttributeValue::S("v1".into())),
            ("name".to_string(), AttributeValue::S("n".into())),
        ])))
        .send()
        .await
        .unwrap();
    let err = Document::get(&env.client, "RAW#1", "v1").await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidField {
                field: "thumbnail",
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn hostile_key_values_and_file_names_make_safe_keys() {
    let env = env().await;
    for (i, (pk, name)) in [
        ("../../etc", "../../passwd"),
        ("a/b#c d", "ünï cödé 🚀.txt"),
        ("ctl\u{1}\n", "tab\tname"),
    ]
    .into_iter()
    .enumerate()
    {
        let mut d = doc(pk, Some(S3Object::from_bytes(vec![i as u8; 5], name)));
        env.client.save(&mut d).await.unwrap();
        let key = &stored(&d.content).key;
        assert!(key.starts_with("documents/"), "{key}");
        assert!(!key.split('/').any(|s| s == ".." || s == "."), "{key}");
        assert!(!key.chars().any(char::is_control), "{key:?}");
        let loaded = Document::get(&env.client, pk, "v1").await.unwrap().unwrap();
        assert_eq!(
            loaded
                .content
                .unwrap()
                .get_bytes(&env.client)
                .await
                .unwrap()
                .as_ref(),
            &[i as u8; 5]
        );
    }
    let mut long = doc(
        "LONG",
        Some(S3Object::from_bytes(vec![1], "n".repeat(2000))),
    );
    let err = env.client.save(&mut long).await.unwrap_err();
    match S3Error::find(&err) {
        Some(S3Error::InvalidKey { field, .. }) => assert_eq!(*field, "content"),
        other => panic!("expected InvalidKey, got {other:?} from {err:?}"),
    }
}

#[tokio::test]
async fn downloading_a_pending_file_says_to_save_first() {
    let env = env().await;
    let pending = S3Object::from_bytes(vec![1], "a.txt");
    let err = pending.get_bytes(&env.client).await.unwrap_err();
    assert!(matches!(err, S3Error::NotUploaded { .. }), "{err:?}");
    let consumed = S3Object::from_reader(std::io::Cursor::new(vec![1u8; 3]), "r.bin", Some(3));
    let mut first = doc("ONCE#1", Some(consumed.clone()));
    env.client.save(&mut first).await.unwrap();
    let mut again = doc("ONCE#2", Some(consumed));
    let err = env.client.save(&mut again).await.unwrap_err();
    assert!(
        matches!(S3Error::find(&err), Some(S3Error::SourceConsumed { .. })),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_failed_object_delete_after_the_item_delete_is_reported() {
    use dynox_local::faults::{FaultKind, Faults};
    let faults = Faults::start().await.unwrap();
    let env = dynox_tests::file_env_with::<Document>(
        &["company-docs"],
        S3Settings::default(),
        Some(faults.clone()),
    )
    .await;
    let mut d = doc("DELF#1", Some(S3Object::from_bytes(vec![1; 10], "a.txt")));
    env.client.save(&mut d).await.unwrap();
    let key = stored(&d.content).key.clone();

    faults.reset();
    // Every attempt fails (dynox retries a failed object delete a few times).
    faults.fail_every("DeleteObject", FaultKind::ServerError);
    let err = Document::delete(&env.client, "DELF#1", "v1")
        .await
        .unwrap_err();
    faults.reset();
    match &err {
        Error::CleanupFailed { write, objects, .. } => {
            assert!(write.is_committed(), "the item delete committed");
            assert_eq!(objects.len(), 2, "{objects:?}");
            assert!(objects.iter().any(|o| o.object.key == key), "{objects:?}");
        }
        other => panic!("expected CleanupFailed, got {other:?}"),
    }
    assert!(err.to_string().contains("left behind"), "{err}");
    assert_eq!(
        Document::get(&env.client, "DELF#1", "v1").await.unwrap(),
        None
    );
    assert_eq!(
        env.keys("company-docs").await.len(),
        2,
        "exactly the failed objects are left"
    );
}

#[tokio::test]
async fn every_failed_multipart_upload_is_aborted() {
    use dynox_local::faults::{FaultKind, Faults};
    let faults = Faults::start().await.unwrap();
    let settings = S3Settings::default()
        .multipart_threshold(5 * 1024 * 1024)
        .part_size(5 * 1024 * 1024)
        .concurrency(2);
    let env =
        dynox_tests::file_env_with::<Document>(&["company-docs"], settings, Some(faults.clone()))
            .await;
    let data = dynox_tests::content(11 * 1024 * 1024, 3);
    for (operation, n) in [
        ("UploadPart", 1),
        ("UploadPart", 3),
        ("CompleteMultipartUpload", 1),
    ] {
        for kind in [FaultKind::ServerError, FaultKind::ConnectionReset] {
            faults.reset();
            faults.fail_nth(n, Some(operation), kind);
            let mut d = doc("MPU#1", Some(S3Object::from_bytes(data.clone(), "big.bin")));
            let err = env.client.save(&mut d).await.unwrap_err();
            assert!(
                matches!(
                    err,
                    Error::File {
                        field: "content",
                        ..
                    }
                ),
                "{operation} #{n} {kind}: {err:?}"
            );
            let requests = faults.requests();
            assert!(
                requests.iter().any(|r| r.ends_with("AbortMultipartUpload")),
                "{operation} #{n} {kind}: {requests:?}"
            );
            assert_eq!(
                env.keys("company-docs").await,
                Vec::<String>::new(),
                "{operation} #{n} {kind}"
            );
        }
    }
    if *env.backend.s3_server() == dynox_local::Server::Embedded {
        dynox_tests::capability_note(
            &env.backend,
            "every_failed_multipart_upload_is_aborted",
            "s3s-fs cannot list multipart uploads (aborts are still checked by request); listing checked on moto",
        );
        return;
    }
    let uploads = env
        .s3
        .list_multipart_uploads()
        .bucket(env.bucket("company-docs"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        uploads.uploads.unwrap_or_default().len(),
        0,
        "no incomplete multipart upload is left"
    );
}

#[tokio::test]
async fn refused_credentials_are_access_denied_naming_the_object() {
    let env = env().await;
    if *env.backend.s3_server() != dynox_local::Server::Embedded {
        dynox_tests::capability_note(
            &env.backend,
            "refused_credentials_are_access_denied_naming_the_object",
            "this endpoint does not verify signatures; checked on the embedded s3s-fs",
        );
        return;
    }
    let wrong = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(env.backend.sdk_config())
            .force_path_style(true)
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                "dynoxlocal",
                "wrong-secret",
                None,
                None,
                "test",
            ))
            .build(),
    );
    let client = dynox_core::Client::builder(env.backend.sdk_config())
        .table_prefix(env.client.table_prefix())
        .extension(
            S3Settings::default()
                .bucket("company-docs", env.bucket("company-docs"))
                .s3_client(wrong),
        )
        .build();
    let mut d = doc("DENY#1", Some(S3Object::from_bytes(vec![1], "a.txt")));
    let err = client.save(&mut d).await.unwrap_err();
    match S3Error::find(&err) {
        Some(S3Error::AccessDenied { bucket, .. }) => {
            assert_eq!(bucket, env.bucket("company-docs"))
        }
        other => panic!("expected AccessDenied, got {other:?} from {err:?}"),
    }
    assert_eq!(
        Document::get(&env.client, "DENY#1", "v1").await.unwrap(),
        None
    );
}

#[tokio::test]
async fn an_unreachable_s3_endpoint_is_a_transport_error() {
    let env = env().await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let unreachable = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(env.backend.sdk_config())
            .endpoint_url(endpoint)
            .force_path_style(true)
            .retry_config(aws_sdk_s3::config::retry::RetryConfig::disabled())
            .build(),
    );
    let client = dynox_core::Client::builder(env.backend.sdk_config())
        .table_prefix(env.client.table_prefix())
        .extension(S3Settings::default().s3_client(unreachable))
        .build();
    let mut d = doc("NET#1", Some(S3Object::from_bytes(vec![1], "a.txt")));
    let err = client.save(&mut d).await.unwrap_err();
    assert!(
        matches!(S3Error::find(&err), Some(S3Error::Transport { .. })),
        "{err:?}"
    );
    assert!(err.to_string().contains("NET#1"), "{err}");
}

#[tokio::test]
async fn a_custom_key_template_lays_out_objects() {
    #[derive(Debug, DynamoModel)]
    #[dynamo(table = "avatars")]
    struct Avatar {
        #[dynamo(hash_key)]
        user: String,
        #[s3(
            bucket = "avatars",
            prefix = "img/",
            key = "{prefix}{table}/{field}/{hash}-{upload}-{file}"
        )]
        image: S3Object,
    }
    let env = file_env::<Avatar>(&["avatars"], S3Settings::default()).await;
    let mut a = Avatar {
        user: "ada".into(),
        image: S3Object::from_bytes(vec![1, 2], "me.png"),
    };
    env.client.save(&mut a).await.unwrap();
    let key = a.image.key().unwrap();
    assert!(key.starts_with("img/avatars/image/ada-"), "{key}");
    assert!(key.ends_with("-me.png"), "{key}");
    assert_eq!(env.keys("avatars").await, vec![key.to_owned()]);
}

#[tokio::test]
async fn a_save_retried_after_a_failed_write_uploads_again() {
    use dynox_local::faults::{FaultKind, Faults};
    let faults = Faults::start().await.unwrap();
    let env = dynox_tests::file_env_with::<Document>(
        &["company-docs"],
        S3Settings::default(),
        Some(faults.clone()),
    )
    .await;
    let mut d = doc("RETRY#1", Some(S3Object::from_bytes(vec![5; 64], "a.bin")));
    faults.fail_nth(1, Some("PutItem"), FaultKind::Throttle);
    let err = env.client.create(&mut d).await.unwrap_err();
    assert!(err.is_throttled(), "{err:?}");
    assert!(
        d.content.as_ref().unwrap().is_pending(),
        "the removed upload is pending again"
    );
    assert!(env.keys("company-docs").await.is_empty());

    env.client.create(&mut d).await.unwrap();
    let loaded = Document::get(&env.client, "RETRY#1", "v1")
        .await
        .unwrap()
        .unwrap();
    let bytes = loaded
        .content
        .unwrap()
        .get_bytes(&env.client)
        .await
        .unwrap();
    assert_eq!(bytes.as_ref(), &[5; 64]);
}

#[tokio::test]
async fn an_object_of_another_item_cannot_be_referenced() {
    let env = env().await;
    let mut a = doc("OWN#A", Some(S3Object::from_bytes(vec![1; 10], "a.txt")));
    env.client.save(&mut a).await.unwrap();
    let mut b = doc("OWN#B", a.content.clone());
    b.thumbnail = a.thumbnail.clone();
    let err = env.client.create(&mut b).await.unwrap_err();
    assert!(matches!(err, Error::StaleFile { .. }), "{err:?}");
    assert_eq!(
        Document::get(&env.client, "OWN#B", "v1").await.unwrap(),
        None
    );
    let err = env.client.save(&mut b).await.unwrap_err();
    assert!(err.is_condition_failed(), "{err:?}");
    assert_eq!(env.keys("company-docs").await.len(), 2, "a's objects only");
}

#[tokio::test]
async fn an_unreachable_s3_is_a_file_error_naming_no_object() {
    // A closed loopback port: every attempt (the SDK's default retries included) is refused
    // before a byte is sent, so no object can exist and none may be reported as left.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let backend = dynox_tests::backend().await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(backend.sdk_config())
            .endpoint_url(format!("http://{closed}"))
            .force_path_style(true)
            .build(),
    );
    let client = dynox_core::Client::builder(backend.sdk_config())
        .table_prefix(dynox_tests::unique_prefix())
        .extension(S3Settings::default().s3_client(s3))
        .build();
    client.create_table::<Document>().await.unwrap();
    let mut d = doc(
        "UNREACHABLE#1",
        Some(S3Object::from_bytes(vec![1; 10], "a.txt")),
    );
    let err = client.save(&mut d).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::File {
                field: "content",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        matches!(S3Error::find(&err), Some(S3Error::Transport { .. })),
        "{err:?}"
    );
    assert!(d.content.as_ref().unwrap().is_pending(), "retry-able");
    assert_eq!(
        Document::get(&client, "UNREACHABLE#1", "v1").await.unwrap(),
        None
    );
}

#[tokio::test]
async fn a_custom_s3_client_gets_path_style_requests_on_a_local_endpoint() {
    // A client built the plain way (no `force_path_style`) for a local endpoint by name: a
    // virtual-hosted request would go to `bucket.localhost`, which local servers do not
    // answer. dynox switches it to path-style, as it does for the client it builds itself.
    // Presigning is local: no request is sent.
    let config = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_s3::config::SharedCredentialsProvider::new(
            aws_sdk_s3::config::Credentials::for_tests(),
        ))
        .endpoint_url("http://localhost:9")
        .build();
    let plain = aws_sdk_s3::Client::new(&config);
    let client = dynox_core::Client::builder(&config)
        .extension(S3Settings::default().s3_client(plain))
        .build();
    let upload = dynox_s3::presign_upload::<Document>(
        &client,
        Document::key_of("P#1", "v1"),
        "content",
        &dynox_s3::DeclaredFile::new("a.pdf", "application/pdf"),
        &dynox_s3::UploadRules::new(1024),
    )
    .await
    .unwrap();
    assert!(
        upload.url.starts_with("http://localhost:9/company-docs/"),
        "{}",
        upload.url
    );
}

#[tokio::test]
async fn a_cleared_file_is_kept_and_no_sweep_deletes_it() {
    let env = env().await;
    let mut d = doc(
        "KEEP#1",
        Some(S3Object::from_bytes(vec![7; 100], "keep.txt")),
    );
    env.client.save(&mut d).await.unwrap();
    let key = stored(&d.content).key.clone();
    let thumb = d.thumbnail.key().unwrap().to_owned();

    // Clear and keep (the default): the object stays, marked beside it.
    d.content = None;
    env.client.save(&mut d).await.unwrap();
    let mark = format!("{key}{}", dynox_s3::KEPT_SUFFIX);
    let mut expected = vec![key.clone(), mark.clone(), thumb.clone()];
    expected.sort();
    assert_eq!(env.keys("company-docs").await, expected);

    // A sweep with no grace period at all, deleting: the kept file and its mark survive.
    let report = dynox_s3::sweep::<Document>(&env.client)
        .grace(Duration::ZERO)
        .delete()
        .run()
        .await
        .unwrap();
    assert_eq!(report.kept, 2, "{report}");
    assert!(report.orphans.is_empty(), "{report}");
    assert_eq!(env.keys("company-docs").await, expected);
    let bytes = env
        .s3
        .get_object()
        .bucket(env.bucket("company-docs"))
        .key(&key)
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap()
        .into_bytes();
    assert_eq!(bytes.as_ref(), &[7u8; 100]);

    // Clear and delete, in one line: the object goes once the write commits.
    let mut e = doc(
        "KEEP#2",
        Some(S3Object::from_bytes(vec![8; 100], "gone.txt")),
    );
    env.client.save(&mut e).await.unwrap();
    let gone = stored(&e.content).key.clone();
    e.content = None;
    env.client
        .save(&mut e)
        .delete_cleared_files()
        .await
        .unwrap();
    let keys = env.keys("company-docs").await;
    assert!(!keys.contains(&gone), "{keys:?}");
    assert!(
        !keys.contains(&format!("{gone}{}", dynox_s3::KEPT_SUFFIX)),
        "{keys:?}"
    );

    // A mark whose file someone deleted is swept like any orphan.
    env.s3
        .delete_object()
        .bucket(env.bucket("company-docs"))
        .key(&key)
        .send()
        .await
        .unwrap();
    let report = dynox_s3::sweep::<Document>(&env.client)
        .grace(Duration::ZERO)
        .delete()
        .run()
        .await
        .unwrap();
    assert_eq!(report.kept, 0, "{report}");
    assert_eq!(report.deleted, 1, "{report}");
    assert!(!env.keys("company-docs").await.contains(&mark));
}

#[tokio::test]
async fn an_update_that_removes_a_file_keeps_it() {
    let env = env().await;
    let mut d = doc(
        "KEEP#3",
        Some(S3Object::from_bytes(vec![3; 10], "kept.txt")),
    );
    env.client.save(&mut d).await.unwrap();
    let key = stored(&d.content).key.clone();
    Document::update(&env.client, "KEEP#3", "v1")
        .apply(Document::fields().content.remove())
        .await
        .unwrap();
    let loaded = Document::get(&env.client, "KEEP#3", "v1")
        .await
        .unwrap()
        .unwrap();
    assert!(loaded.content.is_none());
    let keys = env.keys("company-docs").await;
    assert!(keys.contains(&key), "{keys:?}");
    assert!(
        keys.contains(&format!("{key}{}", dynox_s3::KEPT_SUFFIX)),
        "{keys:?}"
    );
    let report = dynox_s3::sweep::<Document>(&env.client)
        .grace(Duration::ZERO)
        .delete()
        .run()
        .await
        .unwrap();
    assert_eq!((report.kept, report.deleted), (2, 0), "{report}");
    assert!(env.keys("company-docs").await.contains(&key));
}
