//! save, create, get, delete and table management against a real server (the embedded one by
//! default; see README for moto and other endpoints).

use std::collections::{BTreeSet, HashMap};
use std::error::Error as _;

use aws_sdk_dynamodb::types::AttributeValue;
use dynox_core::{DynamoModel, Error};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Status {
    Open,
    Shipped { carrier: String },
}

#[derive(Debug, Clone, PartialEq, DynamoModel)]
#[dynamo(table = "orders")]
struct Order {
    #[dynamo(hash_key)]
    customer: String,
    #[dynamo(range_key)]
    order_id: u64,
    #[dynamo(rename = "st")]
    status: Status,
    total_cents: i64,
    note: Option<String>,
    #[dynamo(set)]
    tags: BTreeSet<String>,
    #[dynamo(skip)]
    cached: Vec<u8>,
}

fn order(customer: &str, order_id: u64) -> Order {
    Order {
        customer: customer.into(),
        order_id,
        status: Status::Shipped {
            carrier: "DHL".into(),
        },
        total_cents: -1999,
        note: Some("leave at door".into()),
        tags: ["gift".to_string(), "express".to_string()].into(),
        cached: Vec::new(),
    }
}

#[derive(Debug, Clone, PartialEq, DynamoModel)]
#[dynamo(table = "users")]
struct User {
    #[dynamo(hash_key)]
    id: String,
    name: String,
    score: f64,
}

fn raw_item(
    client: &dynox_core::Client,
    table: &str,
    key: &[(&str, AttributeValue)],
) -> impl std::future::Future<Output = Option<HashMap<String, AttributeValue>>> {
    let request = client
        .dynamodb()
        .get_item()
        .table_name(table)
        .set_key(Some(
            key.iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        ))
        .consistent_read(true);
    async move { request.send().await.unwrap().item }
}

#[tokio::test]
async fn save_then_get_round_trips_every_field_kind() {
    let client = dynox_tests::client_with::<Order>().await;
    let mut written = order("cust-1", 42);
    written.cached = vec![1, 2, 3];
    client.save(&mut written).await.unwrap();

    let loaded = Order::get(&client, "cust-1", 42).await.unwrap().unwrap();
    assert_eq!(
        loaded,
        Order {
            cached: Vec::new(),
            ..written
        },
        "skipped field reads as default"
    );
}

#[tokio::test]
async fn stored_item_has_the_documented_shape() {
    let client = dynox_tests::client_with::<Order>().await;
    let mut o = order("cust-1", 7);
    o.note = None;
    o.tags.clear();
    o.cached = vec![9];
    client.save(&mut o).await.unwrap();

    let table = client.table_name::<Order>();
    let item = raw_item(
        &client,
        &table,
        &[
            ("customer", AttributeValue::S("cust-1".into())),
            ("order_id", AttributeValue::N("7".into())),
        ],
    )
    .await
    .unwrap();
    let mut names: Vec<_> = item.keys().cloned().collect();
    names.sort();
    // None, an empty set and a skipped field store nothing; `status` is renamed.
    assert_eq!(names, ["customer", "order_id", "st", "total_cents"]);
    assert_eq!(item["total_cents"], AttributeValue::N("-1999".into()));
    assert!(matches!(item["st"], AttributeValue::M(_)));
}

#[tokio::test]
async fn get_of_a_missing_key_is_none_and_consistent_read_works() {
    let client = dynox_tests::client_with::<Order>().await;
    assert_eq!(Order::get(&client, "nobody", 1).await.unwrap(), None);
    client.save(&mut order("c", 1)).await.unwrap();
    let got = Order::get(&client, "c", 1)
        .consistent_read(true)
        .await
        .unwrap();
    assert_eq!(got.map(|o| o.order_id), Some(1));
}

#[tokio::test]
async fn save_replaces_the_whole_item() {
    let client = dynox_tests::client_with::<Order>().await;
    client.save(&mut order("c", 1)).await.unwrap();
    let mut replacement = order("c", 1);
    replacement.note = None;
    replacement.status = Status::Open;
    client.save(&mut replacement).await.unwrap();
    assert_eq!(
        Order::get(&client, "c", 1).await.unwrap(),
        Some(replacement)
    );
}

#[tokio::test]
async fn create_refuses_an_existing_key_and_keeps_the_old_item() {
    let client = dynox_tests::client_with::<Order>().await;
    let mut first = order("cust-9", 5);
    client.create(&mut first).await.unwrap();

    let mut second = order("cust-9", 5);
    second.total_cents = 1;
    let err = client.create(&mut second).await.unwrap_err();
    assert!(matches!(err, Error::AlreadyExists { .. }), "{err:?}");
    assert!(err.is_condition_failed());
    let message = err.to_string();
    assert!(message.contains(&client.table_name::<Order>()), "{message}");
    assert!(
        message.contains(r#"customer = "cust-9", order_id = 5"#),
        "{message}"
    );
    assert_eq!(Order::get(&client, "cust-9", 5).await.unwrap(), Some(first));

    // A different key is created normally.
    client.create(&mut order("cust-9", 6)).await.unwrap();
}

#[tokio::test]
async fn delete_removes_the_item_and_can_return_it() {
    let client = dynox_tests::client_with::<Order>().await;
    client.save(&mut order("c", 1)).await.unwrap();
    client.save(&mut order("c", 2)).await.unwrap();

    Order::delete(&client, "c", 1).await.unwrap();
    assert_eq!(Order::get(&client, "c", 1).await.unwrap(), None);

    let old = Order::delete(&client, "c", 2).return_old().await.unwrap();
    assert_eq!(old, Some(order("c", 2)));
    assert_eq!(Order::get(&client, "c", 2).await.unwrap(), None);

    // Deleting what is not there succeeds and returns nothing.
    Order::delete(&client, "c", 3).await.unwrap();
    assert_eq!(
        Order::delete(&client, "c", 3).return_old().await.unwrap(),
        None
    );
}

#[tokio::test]
async fn generic_client_calls_match_the_generated_ones() {
    let client = dynox_tests::client_with::<Order>().await;
    let mut o = order("g", 1);
    client.save(&mut o).await.unwrap();
    let key = o.key_for_test();
    assert_eq!(client.get(key.clone()).await.unwrap(), Some(o));
    client.delete(key.clone()).await.unwrap();
    assert_eq!(client.get(key).await.unwrap(), None);
}

trait KeyForTest {
    fn key_for_test(&self) -> dynox_core::Key<Order>;
}
impl KeyForTest for Order {
    fn key_for_test(&self) -> dynox_core::Key<Order> {
        let key = dynox_core::Model::key(self);
        assert_eq!(key, Order::key_of(self.customer.clone(), self.order_id));
        key
    }
}

#[tokio::test]
async fn nan_is_rejected_before_any_request_naming_field_and_table() {
    let client = dynox_tests::client_with::<User>().await;
    let mut user = User {
        id: "u1".into(),
        name: "Ada".into(),
        score: f64::NAN,
    };
    let err = client.save(&mut user).await.unwrap_err();
    match &err {
        Error::InvalidField {
            field, table, key, ..
        } => {
            assert_eq!(*field, "score");
            assert_eq!(*table, client.table_name::<User>());
            assert_eq!(key, r#"id = "u1""#);
        }
        other => panic!("expected InvalidField, got {other:?}"),
    }
    // Display names the field; the cause is the source (the AWS SDK's error-context rule).
    let cause = std::error::Error::source(&err).map(ToString::to_string);
    assert!(cause.is_some_and(|c| c.contains("finite")), "{err:?}");
    assert_eq!(
        User::get(&client, "u1").await.unwrap(),
        None,
        "nothing was written"
    );
}

#[tokio::test]
async fn an_empty_string_key_is_a_typed_error() {
    let client = dynox_tests::client_with::<User>().await;
    let mut user = User {
        id: String::new(),
        name: "x".into(),
        score: 1.0,
    };
    let err = client.save(&mut user).await.unwrap_err();
    assert!(
        matches!(err, Error::InvalidField { field: "id", .. }),
        "{err:?}"
    );
    let err = User::get(&client, "").await.unwrap_err();
    assert!(
        matches!(err, Error::InvalidField { field: "id", .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_attribute_of_the_wrong_type_names_the_field() {
    let client = dynox_tests::client_with::<User>().await;
    client
        .dynamodb()
        .put_item()
        .table_name(client.table_name::<User>())
        .item("id", AttributeValue::S("u1".into()))
        .item("name", AttributeValue::N("5".into()))
        .item("score", AttributeValue::N("1".into()))
        .send()
        .await
        .unwrap();
    let err = User::get(&client, "u1").await.unwrap_err();
    assert!(
        matches!(err, Error::InvalidField { field: "name", .. }),
        "{err:?}"
    );
    let cause = std::error::Error::source(&err).map(ToString::to_string);
    assert!(
        cause.is_some_and(|c| c.contains("expected a S attribute, found N")),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_item_over_400_kb_is_item_too_large() {
    let client = dynox_tests::client_with::<User>().await;
    let mut user = User {
        id: "big".into(),
        name: "x".repeat(500 * 1024),
        score: 0.0,
    };
    let err = client.save(&mut user).await.unwrap_err();
    assert!(matches!(err, Error::ItemTooLarge { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains(r#"id = "big""#), "{message}");
    assert!(message.contains("`name` (512004 bytes)"), "{message}");
    assert!(message.contains("#[s3]"), "{message}");

    // Checked before any request: an unreachable endpoint still gives ItemTooLarge.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let offline = dynox_core::Client::new(&dynox_tests::single_attempt_config(&endpoint));
    let err = offline.save(&mut user).await.unwrap_err();
    assert!(matches!(err, Error::ItemTooLarge { .. }), "{err:?}");

    // Just under the limit is accepted: the estimate is not stricter than the servers (moto
    // refuses items over 405,000 bytes, below DynamoDB's 409,600, so stay under both).
    user.name = "x".repeat(400_000);
    client.save(&mut user).await.unwrap();
}

#[tokio::test]
async fn a_missing_table_is_table_not_found_with_its_source() {
    let client = dynox_tests::client().await;
    let err = User::get(&client, "u1").await.unwrap_err();
    assert!(matches!(err, Error::TableNotFound { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&client.table_name::<User>()),
        "{err}"
    );
    assert!(
        err.source().is_some(),
        "the SDK error is kept as the source"
    );
    let err = client
        .save(&mut User {
            id: "u".into(),
            name: "n".into(),
            score: 0.5,
        })
        .await
        .unwrap_err();
    assert!(matches!(err, Error::TableNotFound { .. }), "{err:?}");
}

#[tokio::test]
async fn tables_are_created_once_with_the_prefix_and_deleted() {
    let client = dynox_tests::client().await;
    let prefix = client.table_prefix().to_owned();
    assert_eq!(client.table_name::<User>(), format!("{prefix}users"));

    client.create_table::<User>().await.unwrap();
    let described = client
        .dynamodb()
        .describe_table()
        .table_name(format!("{prefix}users"))
        .send()
        .await
        .unwrap();
    let table = described.table.unwrap();
    assert_eq!(
        table
            .billing_mode_summary
            .and_then(|b| b.billing_mode)
            .map(|m| m.as_str().to_owned()),
        Some("PAY_PER_REQUEST".to_owned())
    );

    let err = client.create_table::<User>().await.unwrap_err();
    assert!(matches!(err, Error::TableAlreadyExists { .. }), "{err:?}");
    client.create_table::<User>().if_not_exists().await.unwrap();

    client.delete_table::<User>().await.unwrap();
    let err = User::get(&client, "u").await.unwrap_err();
    assert!(matches!(err, Error::TableNotFound { .. }), "{err:?}");
    let err = client.delete_table::<User>().await.unwrap_err();
    assert!(matches!(err, Error::TableNotFound { .. }), "{err:?}");
}

#[derive(Debug, Clone, PartialEq, DynamoModel)]
#[dynamo(table = "blobs")]
struct Blob {
    #[dynamo(hash_key)]
    digest: Vec<u8>,
    #[dynamo(range_key)]
    part: i32,
    data: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, DynamoModel)]
#[dynamo(table = "counters")]
struct Counter {
    #[dynamo(hash_key)]
    id: u128,
    value: i128,
}

#[tokio::test]
async fn binary_and_numeric_keys_work() {
    let client = dynox_tests::client_with::<Blob>().await;
    let mut b = Blob {
        digest: vec![0, 1, 255],
        part: -3,
        data: vec![7; 10],
    };
    client.create(&mut b).await.unwrap();
    assert_eq!(
        Blob::get(&client, vec![0u8, 1, 255], -3).await.unwrap(),
        Some(b)
    );

    let client = dynox_tests::client_with::<Counter>().await;
    let mut c = Counter {
        id: 10u128.pow(37),
        value: -(10i128.pow(37)),
    };
    client.save(&mut c).await.unwrap();
    assert_eq!(
        Counter::get(&client, 10u128.pow(37)).await.unwrap(),
        Some(c)
    );
    Counter::delete(&client, 10u128.pow(37)).await.unwrap();
    assert_eq!(Counter::get(&client, 10u128.pow(37)).await.unwrap(), None);
}

#[tokio::test]
async fn clones_of_a_client_share_settings() {
    let client = dynox_tests::client_with::<User>().await;
    let clone = client.clone();
    let task = tokio::spawn(async move {
        clone
            .save(&mut User {
                id: "from-task".into(),
                name: "t".into(),
                score: 2.5,
            })
            .await
    });
    task.await.unwrap().unwrap();
    assert_eq!(
        User::get(&client, "from-task")
            .await
            .unwrap()
            .map(|u| u.score),
        Some(2.5)
    );
}

/// Every kind of field the generated `new` leaves out, and the ones it takes.
#[derive(Debug, Clone, PartialEq, DynamoModel)]
#[dynamo(table = "constructed")]
struct Constructed {
    #[dynamo(hash_key)]
    id: String,
    #[dynamo(range_key)]
    n: u64,
    title: String,
    score: i64,
    note: Option<String>,
    #[dynamo(set)]
    tags: std::collections::BTreeSet<String>,
    #[dynamo(skip)]
    cache: Vec<u8>,
    #[dynamo(version)]
    version: u64,
    #[dynamo(created_at)]
    created: std::time::SystemTime,
    #[dynamo(updated_at)]
    updated: Option<std::time::SystemTime>,
}

#[tokio::test]
async fn the_generated_new_takes_the_required_fields_and_starts_the_rest_empty() {
    let client = dynox_tests::client_with::<Constructed>().await;
    let mut item = Constructed::new("a", 7, "title", -3);
    assert_eq!(
        item,
        Constructed {
            id: "a".into(),
            n: 7,
            title: "title".into(),
            score: -3,
            note: None,
            tags: Default::default(),
            cache: Vec::new(),
            version: 0,
            created: std::time::UNIX_EPOCH,
            updated: None,
        }
    );
    client.create(&mut item).await.unwrap();
    assert_eq!(item.version, 1, "a new item's first write");
    assert!(item.created > std::time::UNIX_EPOCH && item.updated.is_some());
    let stored = Constructed::get(&client, "a", 7).await.unwrap().unwrap();
    assert_eq!((stored.title.as_str(), stored.score), ("title", -3));
}
