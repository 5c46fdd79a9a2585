//! Error variants for failures a healthy server does not produce on demand: throttling and
//! transport failures, against a canned-error loopback server and a closed port.

use std::error::Error as _;

use dynox_core::{Client, DynamoModel, Error};

#[derive(Debug, DynamoModel)]
#[dynamo(table = "users")]
struct User {
    #[dynamo(hash_key)]
    id: String,
}

#[tokio::test]
async fn throttling_is_a_typed_throttled_error() {
    for code in [
        "ThrottlingException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
    ] {
        let endpoint = dynox_tests::canned_error_server(400, code).await;
        let client = Client::new(&dynox_tests::single_attempt_config(&endpoint));
        let err = User::get(&client, "u1").await.unwrap_err();
        assert!(err.is_throttled(), "{code}: {err:?}");
        assert!(
            matches!(
                err,
                Error::Throttled {
                    operation: "GetItem",
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(err.to_string(), "GetItem on table `users` was throttled");
        assert!(err.source().is_some());
    }
}

#[tokio::test]
async fn other_service_errors_keep_their_code_and_message() {
    let endpoint = dynox_tests::canned_error_server(500, "InternalServerError").await;
    let client = Client::new(&dynox_tests::single_attempt_config(&endpoint));
    let err = client
        .save(&mut User { id: "u1".into() })
        .await
        .unwrap_err();
    match &err {
        Error::Service {
            operation,
            code,
            message,
            ..
        } => {
            assert_eq!(*operation, "PutItem");
            assert_eq!(code, "InternalServerError");
            assert_eq!(message, "canned InternalServerError");
        }
        other => panic!("expected Service, got {other:?}"),
    }
}

#[tokio::test]
async fn an_unreachable_endpoint_is_a_transport_error() {
    // Bind a port, then close it: nothing listens there any more.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let client = Client::new(&dynox_tests::single_attempt_config(&endpoint));
    let err = User::get(&client, "u1").await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Transport {
                operation: "GetItem",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("did not complete"), "{err}");
}
