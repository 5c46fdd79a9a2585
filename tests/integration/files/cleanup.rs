//! What a failed write removes (the objects it uploaded, a field's upload when another field
//! fails, every failed multipart upload aborted) so that a retried save uploads again, and
//! what is reported when objects are left behind after a committed delete.

use dynox_core::{DynamoModel, Error};
use dynox_local::faults::FaultKind;
use dynox_s3::{S3Error, S3Object, S3Settings};
use dynox_tests::{faulty_file_env, file_env, stored};

use super::{doc, env, Document};

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
    assert!(matches!(err.s3(), Some(S3Error::Source { .. })), "{err:?}");
    assert_eq!(
        env.keys("good-bucket").await,
        Vec::<String>::new(),
        "the good upload was rolled back"
    );
    assert!(pair.good.is_pending(), "nothing was committed");
}

#[tokio::test]
async fn a_save_retried_after_a_failed_write_uploads_again() {
    let (env, faults) = faulty_file_env::<Document>(&["company-docs"], S3Settings::default()).await;
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
async fn a_failed_object_delete_after_the_item_delete_is_reported() {
    let (env, faults) = faulty_file_env::<Document>(&["company-docs"], S3Settings::default()).await;
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
    let settings = S3Settings::default()
        .multipart_threshold(5 * 1024 * 1024)
        .part_size(5 * 1024 * 1024)
        .concurrency(2);
    let (env, faults) = faulty_file_env::<Document>(&["company-docs"], settings).await;
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
