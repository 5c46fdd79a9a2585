//! The sweep reads the table through core's file-reference scan: its failures are core's
//! typed errors (throttling is `Error::Throttled`), and an item whose file attribute cannot
//! be read stops it before anything is deleted. (Its orphan, multipart and failure behaviour
//! is in `consistency.rs`.)

use std::time::{Duration, SystemTime};

use aws_sdk_dynamodb::types::AttributeValue;
use dynox_core::{Client, DynamoModel, Error};
use dynox_s3::{S3Object, S3Settings, SweepError};
use dynox_tests::{canned_error_server, file_env, single_attempt_config, FileEnv};

#[derive(Debug, DynamoModel)]
#[dynamo(table = "sweep_docs")]
struct Doc {
    #[dynamo(hash_key)]
    pk: String,
    #[s3(bucket = "sweep-docs", prefix = "docs/")]
    content: Option<S3Object>,
}

/// An old object under the model's prefix that only a crashed save could have left.
async fn seed_orphan(env: &FileEnv) -> String {
    let key = "docs/crashed/0/x.bin".to_owned();
    env.s3
        .put_object()
        .bucket(env.bucket("sweep-docs"))
        .key(&key)
        .metadata(
            dynox_s3::OWNER_METADATA,
            format!("{}/content", env.client.table_name::<Doc>()),
        )
        .body(vec![1u8; 4].into())
        .send()
        .await
        .unwrap();
    key
}

/// Writes an item with `content` as it is, bypassing dynox.
async fn put_raw(env: &FileEnv, pk: &str, content: AttributeValue) {
    env.client
        .dynamodb()
        .put_item()
        .table_name(env.client.table_name::<Doc>())
        .item("pk", AttributeValue::S(pk.into()))
        .item("content", content)
        .send()
        .await
        .unwrap();
}

fn later() -> SystemTime {
    SystemTime::now() + Duration::from_secs(48 * 3600)
}

/// Runs a deleting sweep through `client` that must fail; checks that `orphan` survived.
async fn failed_sweep(env: &FileEnv, client: &Client, orphan: &str) -> SweepError {
    let err = dynox_s3::sweep::<Doc>(client)
        .as_of(later())
        .delete()
        .run()
        .await
        .unwrap_err();
    assert_eq!(
        env.keys("sweep-docs").await,
        vec![orphan],
        "nothing deleted"
    );
    err
}

#[tokio::test]
async fn a_throttled_scan_fails_the_sweep_with_cores_throttled_error() {
    let env = file_env::<Doc>(&["sweep-docs"], S3Settings::default()).await;
    let orphan = seed_orphan(&env).await;
    let endpoint = canned_error_server(400, "ProvisionedThroughputExceededException").await;
    // DynamoDB throttles; S3 is the real server.
    let client = Client::builder(&single_attempt_config(&endpoint))
        .table_prefix(env.client.table_prefix())
        .extension(
            S3Settings::default()
                .bucket("sweep-docs", env.bucket("sweep-docs"))
                .s3_client(env.s3.clone()),
        )
        .build();
    let err = failed_sweep(&env, &client, &orphan).await;
    match &err {
        SweepError::Table(e) => {
            assert!(e.is_throttled(), "{e:?}");
            assert!(
                matches!(
                    e,
                    Error::Throttled {
                        operation: "Scan",
                        ..
                    }
                ),
                "{e:?}"
            );
        }
        other => panic!("expected a table error, got {other:?}"),
    }
}

#[tokio::test]
async fn an_unreadable_file_attribute_stops_the_sweep_before_any_delete() {
    let env = file_env::<Doc>(&["sweep-docs"], S3Settings::default()).await;
    let orphan = seed_orphan(&env).await;
    put_raw(&env, "broken", AttributeValue::S("not a file".into())).await;
    let err = failed_sweep(&env, &env.client, &orphan).await;
    match &err {
        SweepError::Table(Error::InvalidField {
            table, key, field, ..
        }) => {
            assert_eq!(table, &env.client.table_name::<Doc>());
            assert_eq!(*field, "content");
            assert!(key.contains("broken"), "{key}");
        }
        other => panic!("expected InvalidField, got {other:?}"),
    }
}

#[tokio::test]
async fn a_null_file_attribute_references_nothing() {
    let env = file_env::<Doc>(&["sweep-docs"], S3Settings::default()).await;
    seed_orphan(&env).await;
    put_raw(&env, "empty", AttributeValue::Null(true)).await;
    let mut saved = Doc {
        pk: "saved".into(),
        content: Some(S3Object::from_bytes(vec![2u8; 8], "f.bin")),
    };
    env.client.save(&mut saved).await.unwrap();
    let report = dynox_s3::sweep::<Doc>(&env.client)
        .as_of(later())
        .segments(2)
        .delete()
        .run()
        .await
        .unwrap();
    assert_eq!(report.items_scanned, 2, "{report}");
    assert_eq!((report.referenced, report.deleted), (1, 1), "{report}");
    assert_eq!(
        env.keys("sweep-docs").await,
        vec![saved.content.unwrap().stored().unwrap().key.clone()]
    );
}
