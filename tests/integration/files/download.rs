//! Downloads: `get_bytes`, `save_to`, `stream`, `reader` and `range` return the content; a
//! changed object is a checksum mismatch on every path; a file not uploaded yet, or an upload
//! source already consumed, is a typed error.

use futures::StreamExt;
use tokio::io::AsyncReadExt;

use dynox_s3::{S3Error, S3Object};
use dynox_tests::stored;

use super::{doc, env};

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
    assert!(
        matches!(err, dynox_core::Error::S3(S3Error::ChecksumMismatch { .. })),
        "{err:?}"
    );
    assert!(err.to_string().contains(&meta.key), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("out.bin");
    let err = file.save_to(&env.client, &target).await.unwrap_err();
    assert!(
        matches!(err, dynox_core::Error::S3(S3Error::ChecksumMismatch { .. })),
        "{err:?}"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "a failed download leaves no file"
    );

    let results: Vec<_> = file.stream(&env.client).unwrap().collect().await;
    assert!(
        matches!(
            results.last(),
            Some(Err(dynox_core::Error::S3(S3Error::ChecksumMismatch { .. })))
        ),
        "{results:?}"
    );
}

#[tokio::test]
async fn downloading_a_pending_file_says_to_save_first() {
    let env = env().await;
    let pending = S3Object::from_bytes(vec![1], "a.txt");
    let err = pending.get_bytes(&env.client).await.unwrap_err();
    assert!(
        matches!(err, dynox_core::Error::S3(S3Error::NotUploaded { .. })),
        "{err:?}"
    );
    let consumed = S3Object::from_reader(std::io::Cursor::new(vec![1u8; 3]), "r.bin", Some(3));
    let mut first = doc("ONCE#1", Some(consumed.clone()));
    env.client.save(&mut first).await.unwrap();
    let mut again = doc("ONCE#2", Some(consumed));
    let err = env.client.save(&mut again).await.unwrap_err();
    assert!(
        matches!(err.s3(), Some(S3Error::SourceConsumed { .. })),
        "{err:?}"
    );
}

/// One handler, one error type: a save and a download both `?` into `dynox_core::Error`.
async fn save_then_read(
    client: &dynox_core::Client,
    d: &mut super::Document,
) -> dynox_core::Result<usize> {
    client.save(d).await?;
    let file = d.content.as_ref().expect("a file");
    Ok(file.get_bytes(client).await?.len())
}

#[tokio::test]
async fn a_vanished_object_is_a_not_found_s3_error_naming_bucket_and_key() {
    let env = env().await;
    let mut d = doc("GONE#1", Some(S3Object::from_bytes(vec![7; 100], "a.bin")));
    assert_eq!(save_then_read(&env.client, &mut d).await.unwrap(), 100);
    let file = d.content.as_ref().unwrap();
    let (bucket, key) = (
        file.bucket().unwrap().to_owned(),
        file.key().unwrap().to_owned(),
    );
    env.s3
        .delete_object()
        .bucket(&bucket)
        .key(&key)
        .send()
        .await
        .unwrap();
    let err = file.get_bytes(&env.client).await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    match &err {
        dynox_core::Error::S3(S3Error::NoSuchKey { bucket: b, key: k }) => {
            assert_eq!((b, k), (&bucket, &key));
        }
        other => panic!("expected NoSuchKey, got {other:?}"),
    }
    assert!(err.report().to_string().contains(&key), "{}", err.report());
}
