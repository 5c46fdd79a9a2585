//! The test kit (`dynox::testing`) on whichever servers the environment chooses: isolated
//! environments, the request record, injected faults with and without the SDK's retries.

use dynox::testing::{FaultKind, TestEnv, TestError};
use dynox::{DynamoModel, S3Object};

#[derive(Debug, DynamoModel)]
#[dynamo(table = "kit_invoices")]
struct Invoice {
    #[dynamo(hash_key)]
    id: String,
    #[s3(bucket = "kit-invoices", prefix = "pdf/")]
    pdf: S3Object,
    #[s3(bucket = "kit-thumbs")]
    thumbnail: Option<S3Object>,
}

#[derive(Debug, DynamoModel)]
#[dynamo(table = "kit_notes")]
struct Note {
    #[dynamo(hash_key)]
    id: String,
    text: String,
}

fn invoice(id: &str) -> Invoice {
    Invoice {
        id: id.into(),
        pdf: S3Object::from_bytes(format!("%PDF {id}"), "invoice.pdf"),
        thumbnail: None,
    }
}

async fn start(retries: bool) -> Result<TestEnv, TestError> {
    TestEnv::builder()
        .model::<Invoice>()
        .model::<Note>()
        .retries(retries)
        .start()
        .await
}

#[tokio::test]
async fn environments_have_their_own_tables_and_buckets() {
    // Started on another task: the start's future is `Send`.
    let a = tokio::spawn(start(true)).await.unwrap().unwrap();
    let b = start(true).await.unwrap();
    assert_ne!(a.bucket("kit-invoices"), b.bucket("kit-invoices"));
    assert_ne!(a.bucket("kit-invoices"), a.bucket("kit-thumbs"));
    a.client().save(&mut invoice("1")).await.unwrap();
    assert!(Invoice::get(a.client(), "1").await.unwrap().is_some());
    assert!(Invoice::get(b.client(), "1").await.unwrap().is_none());
    assert_eq!(a.objects("kit-invoices").await.unwrap().len(), 1);
    assert!(b.objects("kit-invoices").await.unwrap().is_empty());
    assert!(a.objects("kit-thumbs").await.unwrap().is_empty());
    a.client()
        .save(&mut Note {
            id: "n".into(),
            text: "no files".into(),
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn the_record_shows_that_a_read_fetches_no_bytes() {
    let env = start(true).await.unwrap();
    assert!(env.requests().all().is_empty(), "set-up is not recorded");
    env.client().save(&mut invoice("1")).await.unwrap();
    assert_eq!(env.requests().count("S3", "PutObject"), 1);
    assert_eq!(env.requests().count("DynamoDB", "PutItem"), 1);

    env.forget_requests();
    let loaded = Invoice::get(env.client(), "1").await.unwrap().unwrap();
    let url = loaded
        .pdf
        .presigned_url(env.client(), std::time::Duration::from_secs(60))
        .await
        .unwrap();
    assert!(url.contains(env.bucket("kit-invoices")), "{url}");
    assert_eq!(env.requests().s3().count(), 0, "{:?}", env.requests());
    assert_eq!(env.requests().dynamodb().collect::<Vec<_>>(), ["GetItem"]);
    assert_eq!(loaded.pdf.get_bytes(env.client()).await.unwrap(), "%PDF 1");
    assert_eq!(env.requests().s3().collect::<Vec<_>>(), ["GetObject"]);
}

#[tokio::test]
async fn an_injected_fault_is_retried_by_the_sdk_or_fails_the_save_and_leaves_nothing() {
    let retrying = start(true).await.unwrap();
    retrying
        .faults()
        .fail_nth(1, Some("PutObject"), FaultKind::ServerError);
    retrying.client().save(&mut invoice("1")).await.unwrap();
    assert_eq!(
        retrying.requests().count("S3", "PutObject"),
        2,
        "retried once"
    );

    let single = start(false).await.unwrap();
    single
        .faults()
        .fail_nth(1, Some("PutItem"), FaultKind::ServerError);
    let err = single.client().save(&mut invoice("2")).await.unwrap_err();
    assert!(matches!(err, dynox::Error::Service { .. }), "{err:?}");
    assert!(Invoice::get(single.client(), "2").await.unwrap().is_none());
    assert!(
        single.objects("kit-invoices").await.unwrap().is_empty(),
        "the uploaded PDF was removed"
    );
}
