//! batch_get and batch_write: chunking, unprocessed items retried with backoff up to a bound,
//! leftovers returned.

use dynox_core::{BatchRetry, DynamoModel, Key};
use dynox_local::faults::{FaultKind, Faults};

#[derive(Debug, Clone, PartialEq, DynamoModel)]
#[dynamo(table = "items")]
struct Thing {
    #[dynamo(hash_key)]
    id: u32,
    name: String,
}

fn thing(id: u32) -> Thing {
    Thing {
        id,
        name: format!("thing {id}"),
    }
}

#[tokio::test]
async fn batches_are_chunked_and_complete() {
    let client = dynox_tests::client_with::<Thing>().await;
    let output = client
        .batch_write::<Thing>()
        .put_all((0..60).map(thing))
        .await
        .unwrap();
    assert!(output.is_complete());

    // 150 keys (two BatchGetItem requests), ten of them missing.
    let keys: Vec<Key<Thing>> = (0..150).map(Thing::key_of).collect();
    let mut got = client.batch_get(keys).await.unwrap();
    assert!(got.unprocessed.is_empty());
    got.items.sort_by_key(|t| t.id);
    assert_eq!(got.items, (0..60).map(thing).collect::<Vec<_>>());

    let mut batch = client.batch_write::<Thing>();
    for i in 0..30 {
        batch = batch.delete(Thing::key_of(i));
    }
    assert!(batch.put(thing(1000)).await.unwrap().is_complete());
    assert_eq!(Thing::scan(&client).count().await.unwrap(), 31);
}

async fn faulty() -> (dynox_core::Client, Faults) {
    let faults = Faults::start().await.unwrap();
    let backend = dynox_tests::backend().await;
    let ddb = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(backend.sdk_config())
            .interceptor(faults.clone())
            .build(),
    );
    let client = dynox_core::Client::builder(backend.sdk_config())
        .table_prefix(dynox_tests::unique_prefix())
        .dynamodb_client(ddb)
        .build();
    client.create_table::<Thing>().await.unwrap();
    (client, faults)
}

#[tokio::test]
async fn unprocessed_items_are_retried_then_returned() {
    let (client, faults) = faulty().await;
    let quick = BatchRetry {
        max_attempts: 3,
        base_delay: std::time::Duration::from_millis(1),
        ..BatchRetry::default()
    };

    // Once unprocessed: the retry completes it.
    faults.fail_nth(1, Some("BatchWriteItem"), FaultKind::Unprocessed);
    let output = client
        .batch_write::<Thing>()
        .put_all((0..10).map(thing))
        .retry(quick)
        .await
        .unwrap();
    assert!(output.is_complete());
    assert_eq!(
        faults
            .requests()
            .iter()
            .filter(|r| r.ends_with("BatchWriteItem"))
            .count(),
        2
    );

    // Always unprocessed: after the bound, the items come back to the caller.
    faults.reset();
    faults.fail_every("BatchWriteItem", FaultKind::Unprocessed);
    let output = client
        .batch_write::<Thing>()
        .put(thing(50))
        .delete(Thing::key_of(1))
        .retry(quick)
        .await
        .unwrap();
    assert_eq!(output.unprocessed_puts, vec![thing(50)]);
    assert_eq!(output.unprocessed_deletes.len(), 1);
    assert_eq!(faults.requests().len(), 3, "exactly max_attempts requests");

    faults.reset();
    faults.fail_every("BatchGetItem", FaultKind::Unprocessed);
    let got = client
        .batch_get((0..5).map(Thing::key_of))
        .retry(quick)
        .await
        .unwrap();
    assert!(got.items.is_empty());
    assert_eq!(got.unprocessed.len(), 5);
    faults.reset();
}
