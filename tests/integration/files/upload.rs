//! Uploads: every upload source (bytes, path, sized and unsized readers, streams, a custom
//! content type) round-trips, and large files go by multipart upload.

use bytes::Bytes;
use dynox_s3::{S3Object, S3Settings};
use dynox_tests::file_env;

use super::{doc, env, Document};

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
