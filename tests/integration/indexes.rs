//! Secondary indexes and projections: `create_table` builds the declared indexes, typed
//! index queries and scans read them, and partial types read only some attributes.

use aws_sdk_dynamodb::types::{AttributeValue, ProjectionType};
use dynox_core::schema::{IndexKind, IndexProjection};
use dynox_core::{DynamoModel, DynamoProjection, Error, InvalidRequestKind, SortKey};

#[derive(Debug, Clone, PartialEq, DynamoModel)]
#[dynamo(table = "orders")]
#[dynamo(global_index(name = "by_status", hash_key = status, range_key = placed_at))]
#[dynamo(global_index(name = "by-region", hash_key = region, include(total_cents)))]
#[dynamo(local_index(name = "by_total", range_key = total_cents, projection = "keys_only"))]
struct Order {
    #[dynamo(hash_key)]
    customer: String,
    #[dynamo(range_key)]
    order_id: u64,
    /// Sparse: orders without a status are not in `by_status`.
    status: Option<String>,
    placed_at: u64,
    region: String,
    total_cents: i64,
    notes: Vec<String>,
}

/// What an order list shows.
#[derive(Debug, Clone, PartialEq, DynamoProjection)]
#[dynamo(model = Order)]
struct OrderLine {
    order_id: u64,
    total_cents: i64,
}

/// The keys projected into `by_total`.
#[derive(Debug, Clone, PartialEq, DynamoProjection)]
#[dynamo(model = Order)]
struct OrderKeys {
    customer: String,
    order_id: u64,
    total_cents: i64,
}

fn order(customer: &str, order_id: u64, status: Option<&str>, placed_at: u64) -> Order {
    Order {
        customer: customer.into(),
        order_id,
        status: status.map(Into::into),
        placed_at,
        region: if order_id.is_multiple_of(2) {
            "eu"
        } else {
            "us"
        }
        .into(),
        total_cents: 1000 - order_id as i64 * 10,
        notes: vec![format!("note {order_id}")],
    }
}

/// Six orders of "c1" and "c2"; order 6 has no status.
async fn seeded() -> dynox_core::Client {
    let client = dynox_tests::client_with::<Order>().await;
    let orders = [
        order("c1", 1, Some("shipped"), 100),
        order("c1", 2, Some("open"), 200),
        order("c1", 3, Some("shipped"), 300),
        order("c2", 4, Some("shipped"), 400),
        order("c2", 5, Some("open"), 500),
        order("c2", 6, None, 600),
    ];
    for mut o in orders {
        client.save(&mut o).await.unwrap();
    }
    client
}

fn ids<T>(items: &[T], id: impl Fn(&T) -> u64) -> Vec<u64> {
    items.iter().map(id).collect()
}

#[tokio::test]
async fn create_table_builds_every_declared_index() {
    let client = dynox_tests::client_with::<Order>().await;
    let table = client.table_name::<Order>();
    let described = client
        .dynamodb()
        .describe_table()
        .table_name(&table)
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    let globals = described.global_secondary_indexes();
    let mut names: Vec<&str> = globals.iter().filter_map(|g| g.index_name()).collect();
    names.sort();
    assert_eq!(names, ["by-region", "by_status"]);
    let region = globals
        .iter()
        .find(|g| g.index_name() == Some("by-region"))
        .unwrap();
    let projection = region.projection().unwrap();
    assert_eq!(projection.projection_type(), Some(&ProjectionType::Include));
    assert_eq!(projection.non_key_attributes(), ["total_cents"]);
    let locals = described.local_secondary_indexes();
    assert_eq!(locals.len(), 1);
    assert_eq!(locals[0].index_name(), Some("by_total"));
    assert_eq!(
        locals[0].projection().unwrap().projection_type(),
        Some(&ProjectionType::KeysOnly)
    );
    let schema = Order::indexes().by_total.schema();
    assert_eq!(schema.kind, IndexKind::Local);
    assert_eq!(schema.projection, IndexProjection::KeysOnly);
    assert_eq!(schema.hash.name, "customer");
}

#[tokio::test]
async fn global_index_query_with_typed_sort_key_skips_items_without_the_key() {
    let client = seeded().await;
    let by_status = Order::indexes().by_status;
    let shipped = by_status.query(&client, "shipped").all().await.unwrap();
    assert_eq!(ids(&shipped, |o| o.order_id), [1, 3, 4]);
    assert_eq!(shipped[0], order("c1", 1, Some("shipped"), 100));
    let late = by_status
        .query(&client, "shipped")
        .sort_key(SortKey::gt(150))
        .descending()
        .all()
        .await
        .unwrap();
    assert_eq!(ids(&late, |o| o.order_id), [4, 3]);
    let between = by_status
        .query(&client, "open")
        .sort_key(SortKey::between(100, 250))
        .await
        .unwrap();
    assert_eq!(ids(&between, |o| o.order_id), [2]);
    assert_eq!(by_status.query(&client, "open").count().await.unwrap(), 2);
    // Order 6 has no status, so a scan of the sparse index sees five orders.
    let scanned = by_status.scan(&client).all().await.unwrap();
    assert_eq!(scanned.len(), 5);
}

#[tokio::test]
async fn paging_an_index_query_resumes_where_it_stopped() {
    let client = seeded().await;
    let by_status = Order::indexes().by_status;
    let first = by_status
        .query(&client, "shipped")
        .page_size(2)
        .page()
        .await
        .unwrap();
    assert_eq!(ids(&first.items, |o| o.order_id), [1, 3]);
    let token: dynox_core::PageToken = first.next.unwrap().to_string().parse().unwrap();
    let rest = by_status
        .query(&client, "shipped")
        .start_from(token)
        .all()
        .await
        .unwrap();
    assert_eq!(ids(&rest, |o| o.order_id), [4]);
}

#[tokio::test]
async fn local_index_sorts_by_its_range_key_and_keys_only_needs_a_partial_type() {
    let client = seeded().await;
    let by_total = Order::indexes().by_total;
    let keys = by_total
        .query(&client, "c1")
        .sort_key(SortKey::le(980))
        .project::<OrderKeys>()
        .all()
        .await
        .unwrap();
    // Totals are 990, 980, 970 for orders 1, 2, 3: ascending by total.
    assert_eq!(ids(&keys, |k| k.order_id), [3, 2]);
    assert_eq!(keys[0].total_cents, 970);
    // The whole model is not in a keys-only index: a typed error that says what to do.
    let err = by_total.query(&client, "c1").all().await.unwrap_err();
    let Error::InvalidRequest {
        kind: InvalidRequestKind::IndexProjection,
        reason,
    } = &err
    else {
        panic!("expected InvalidRequest, got {err:?}")
    };
    assert!(
        reason.contains("by_total") && reason.contains("project"),
        "{reason}"
    );
}

#[tokio::test]
async fn global_indexes_refuse_consistent_reads_before_sending() {
    let client = seeded().await;
    let err = Order::indexes()
        .by_status
        .query(&client, "shipped")
        .consistent_read(true)
        .all()
        .await
        .unwrap_err();
    let Error::InvalidRequest {
        kind: InvalidRequestKind::ConsistentIndexRead,
        reason,
    } = &err
    else {
        panic!("expected InvalidRequest, got {err:?}")
    };
    assert!(reason.contains("by_status"), "{reason}");
    // A scan of it (items or count) is refused the same way.
    let scan = Order::indexes()
        .by_status
        .scan(&client)
        .consistent_read(true);
    for err in [
        scan.all().await.map(|_| ()).unwrap_err(),
        Order::indexes()
            .by_status
            .scan(&client)
            .consistent_read(true)
            .count()
            .await
            .map(|_| ())
            .unwrap_err(),
    ] {
        assert!(
            matches!(
                err,
                Error::InvalidRequest {
                    kind: InvalidRequestKind::ConsistentIndexRead,
                    ..
                }
            ),
            "{err:?}"
        );
    }
    // A local index can be read consistently.
    let keys = Order::indexes()
        .by_total
        .query(&client, "c2")
        .consistent_read(true)
        .project::<OrderKeys>()
        .all()
        .await
        .unwrap();
    assert_eq!(keys.len(), 3);
}

#[tokio::test]
async fn include_projection_serves_a_partial_type() {
    let client = seeded().await;
    let lines = Order::indexes()
        .by_region
        .query(&client, "eu")
        .project::<OrderLine>()
        .all()
        .await
        .unwrap();
    let mut got = ids(&lines, |l| l.order_id);
    got.sort();
    assert_eq!(got, [2, 4, 6]);
    assert!(lines
        .iter()
        .all(|l| l.total_cents == 1000 - l.order_id as i64 * 10));
}

#[tokio::test]
async fn projections_fetch_only_their_attributes() {
    let client = seeded().await;
    // Break `notes` of order 1 behind dynox's back: reading the whole model fails, a
    // projection that leaves `notes` out does not even receive it.
    client
        .dynamodb()
        .update_item()
        .table_name(client.table_name::<Order>())
        .key("customer", AttributeValue::S("c1".into()))
        .key("order_id", AttributeValue::N("1".into()))
        .update_expression("SET notes = :n")
        .expression_attribute_values(":n", AttributeValue::N("7".into()))
        .send()
        .await
        .unwrap();
    let err = Order::query(&client, "c1").all().await.unwrap_err();
    assert!(
        matches!(&err, Error::InvalidField { field: "notes", .. }),
        "{err:?}"
    );
    let lines = Order::query(&client, "c1")
        .project::<OrderLine>()
        .all()
        .await
        .unwrap();
    assert_eq!(
        lines,
        [
            OrderLine {
                order_id: 1,
                total_cents: 990
            },
            OrderLine {
                order_id: 2,
                total_cents: 980
            },
            OrderLine {
                order_id: 3,
                total_cents: 970
            },
        ]
    );
    let line = Order::get(&client, "c1", 1)
        .project::<OrderLine>()
        .await
        .unwrap();
    assert_eq!(
        line,
        Some(OrderLine {
            order_id: 1,
            total_cents: 990
        })
    );
    let scanned = Order::scan(&client)
        .project::<OrderLine>()
        .filter(Order::fields().total_cents.lt(975))
        .all()
        .await
        .unwrap();
    let mut got = ids(&scanned, |l| l.order_id);
    got.sort();
    assert_eq!(got, [3, 4, 5, 6]);
}
