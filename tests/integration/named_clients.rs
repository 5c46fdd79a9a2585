//! Per-field S3 clients (`#[s3(client = "...")]` with `S3Settings::named_client`), as
//! pynamodb_mate's `s3_client` argument: one field's objects live behind other credentials,
//! and every request for them (upload, download, delete, sweep) goes through that client.

use std::time::{Duration, SystemTime};

use dynox_core::DynamoModel;
use dynox_s3::{S3Error, S3Object, S3Settings};
use dynox_tests::{backend, content, file_env, RequestLog};

#[derive(Debug, Clone, PartialEq, DynamoModel)]
#[dynamo(table = "claims")]
struct Claim {
    #[dynamo(hash_key)]
    pk: String,
    #[s3(bucket = "claims", prefix = "forms/")]
    form: Option<S3Object>,
    #[s3(bucket = "claims", prefix = "evidence/", client = "archive")]
    evidence: Option<S3Object>,
}

/// The same table, whose field names a client nobody registered.
#[derive(Debug, Clone, PartialEq, DynamoModel)]
#[dynamo(table = "claims")]
struct Unregistered {
    #[dynamo(hash_key)]
    pk: String,
    #[s3(bucket = "claims", prefix = "evidence/", client = "nobody")]
    evidence: Option<S3Object>,
}

fn paths(log: &RequestLog) -> Vec<String> {
    log.requests()
}

#[tokio::test]
async fn a_field_that_names_a_client_makes_every_request_through_it() {
    let archive_log = RequestLog::default();
    let archive = aws_sdk_s3::Client::from_conf(
        backend()
            .await
            .s3_config()
            .interceptor(archive_log.clone())
            .build(),
    );
    let env = file_env::<Claim>(
        &["claims"],
        S3Settings::default().named_client("archive", archive),
    )
    .await;
    let (form, evidence) = (content(2_000, 1), content(3_000, 2));
    let mut claim = Claim {
        pk: "c1".into(),
        form: Some(S3Object::from_bytes(form.clone(), "form.pdf")),
        evidence: Some(S3Object::from_bytes(evidence.clone(), "photo.jpg")),
    };
    env.client.save(&mut claim).await.unwrap();
    // Each field's upload went through its own client.
    let default = env.log.requests();
    let archived = paths(&archive_log);
    assert!(
        default.iter().any(|r| r.contains("/forms/"))
            && !default.iter().any(|r| r.contains("/evidence/")),
        "{default:?}"
    );
    assert!(
        archived
            .iter()
            .any(|r| r.starts_with("PUT") && r.contains("/evidence/"))
            && !archived.iter().any(|r| r.contains("/forms/")),
        "{archived:?}"
    );

    // A loaded file downloads through the client its field names.
    archive_log.clear();
    let loaded = Claim::get(&env.client, "c1").await.unwrap().unwrap();
    let bytes = loaded
        .evidence
        .as_ref()
        .unwrap()
        .get_bytes(&env.client)
        .await
        .unwrap();
    assert_eq!(bytes.as_ref(), &evidence[..]);
    assert!(
        paths(&archive_log)
            .iter()
            .any(|r| r.starts_with("GET") && r.contains("/evidence/")),
        "{:?}",
        paths(&archive_log)
    );

    // Delete: the item, then each object through its client.
    archive_log.clear();
    Claim::delete(&env.client, "c1").await.unwrap();
    assert!(
        paths(&archive_log)
            .iter()
            .any(|r| r.starts_with("DELETE") && r.contains("/evidence/")),
        "{:?}",
        paths(&archive_log)
    );
    assert!(env.keys("claims").await.is_empty());

    // The sweep lists the field's prefix through its client too.
    archive_log.clear();
    let report = dynox_s3::sweep::<Claim>(&env.client)
        .as_of(SystemTime::now() + Duration::from_secs(48 * 3600))
        .await
        .unwrap();
    assert_eq!(report.orphans.len(), 0, "{report}");
    assert!(
        paths(&archive_log)
            .iter()
            .any(|r| r.contains("list-type=2")),
        "{:?}",
        paths(&archive_log)
    );
}

#[tokio::test]
async fn a_client_name_nobody_registered_is_a_typed_error_before_any_request() {
    let env = file_env::<Unregistered>(&["claims"], S3Settings::default()).await;
    let mut claim = Unregistered {
        pk: "c1".into(),
        evidence: Some(S3Object::from_bytes(content(100, 3), "photo.jpg")),
    };
    let err = env.client.save(&mut claim).await.unwrap_err();
    let Some(S3Error::UnknownClient { name }) = err.s3() else {
        panic!("{err:?}");
    };
    assert_eq!(name, "nobody");
    assert!(err.to_string().contains("evidence") || format!("{err:?}").contains("evidence"));
    assert!(env.log.requests().is_empty(), "{:?}", env.log.requests());
    assert!(Unregistered::get(&env.client, "c1")
        .await
        .unwrap()
        .is_none());
    assert!(claim.evidence.as_ref().unwrap().is_pending());
}
