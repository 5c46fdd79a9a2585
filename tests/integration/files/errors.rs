//! Typed errors of file fields: a missing bucket, refused credentials, an unreachable S3
//! endpoint (nothing written, the file still pending), and a required file missing from a
//! stored item.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use dynox_core::Error;
use dynox_s3::{S3Error, S3Object, S3Settings};

use super::{doc, env, Document};

#[tokio::test]
async fn a_missing_bucket_fails_before_the_write_and_names_it() {
    let env = env().await;
    let settings = S3Settings::default().bucket("company-docs", "dynox-no-such-bucket");
    let client = dynox_core::Client::builder(env.backend.sdk_config())
        .table_prefix(env.client.table_prefix())
        .s3(settings)
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
    assert!(err.is_not_found(), "{err:?}");
    // Display is the error's own line; the report adds the causes, the bucket's among them.
    let (line, report) = (err.to_string(), err.report().to_string());
    assert!(!line.contains("dynox-no-such-bucket"), "{line}");
    assert!(report.starts_with(&line), "{report}");
    assert!(
        report.contains("bucket `dynox-no-such-bucket` does not exist"),
        "{report}"
    );
    let lines = format!("{:#}", err.report());
    assert!(
        lines
            .lines()
            .skip(1)
            .all(|l| l.starts_with("  caused by: "))
            && lines.lines().count() > 1,
        "{lines}"
    );
    match err.s3() {
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
        .s3(S3Settings::default()
            .bucket("company-docs", env.bucket("company-docs"))
            .s3_client(wrong))
        .build();
    let mut d = doc("DENY#1", Some(S3Object::from_bytes(vec![1], "a.txt")));
    let err = client.save(&mut d).await.unwrap_err();
    match err.s3() {
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
        .s3(S3Settings::default().s3_client(unreachable))
        .build();
    let mut d = doc("NET#1", Some(S3Object::from_bytes(vec![1], "a.txt")));
    let err = client.save(&mut d).await.unwrap_err();
    assert!(
        matches!(err.s3(), Some(S3Error::Transport { .. })),
        "{err:?}"
    );
    assert!(err.to_string().contains("NET#1"), "{err}");
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
        .s3(S3Settings::default().s3_client(s3))
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
        matches!(err.s3(), Some(S3Error::Transport { .. })),
        "{err:?}"
    );
    assert!(d.content.as_ref().unwrap().is_pending(), "retry-able");
    assert_eq!(
        Document::get(&client, "UNREACHABLE#1", "v1").await.unwrap(),
        None
    );
}
