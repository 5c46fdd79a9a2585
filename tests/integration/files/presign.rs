//! Presigned download URLs: they work without credentials, refuse out-of-range expiries, and
//! expire; a custom S3 client of a local endpoint signs path-style URLs.

use std::time::Duration;

use dynox_s3::{S3Error, S3Object, S3Settings};
use dynox_tests::stored;

use super::{doc, env, Document};

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
        assert!(
            matches!(err, dynox_core::Error::S3(S3Error::InvalidExpiry { .. })),
            "{err:?}"
        );
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
        .s3(S3Settings::default().s3_client(plain))
        .build();
    let upload = dynox_s3::presign_upload::<Document>(
        &client,
        Document::key_of("P#1", "v1"),
        Document::fields().content,
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
