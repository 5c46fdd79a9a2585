//! An order book on DynamoDB with dynox: create the table, write, read, query and delete.
//!
//! Runs on the embedded local servers by default (nothing to install, no AWS account):
//!
//! ```text
//! cargo run -p dynox-examples --bin orders
//! ```
//!
//! Set `AWS_ENDPOINT_URL=http://127.0.0.1:5000` to use moto or LocalStack there, or
//! `DYNOX_SERVERS=aws` to use your standard AWS configuration (the table is then created in
//! your account with a unique prefix and deleted at the end).

use std::collections::BTreeSet;

use dynox::{Client, DynamoModel, Error, SortKey};
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};

/// Where an order is in its life; stored as a map through serde.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Status {
    Placed,
    Shipped { carrier: String },
    Delivered,
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
    /// `None` is stored as no attribute at all.
    note: Option<String>,
    #[dynamo(set)]
    tags: BTreeSet<String>,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let backend = dynox::testing::Backend::from_env().await?;
    println!("backend: {}", backend.name());
    let prefix = format!("example-{}-", std::process::id());
    let client = Client::builder(backend.sdk_config())
        .table_prefix(&prefix)
        .build();

    client.create_table::<Order>().await?;
    println!("created table {}", client.table_name::<Order>());

    let result = run(&client).await;
    client.delete_table::<Order>().await?;
    println!("deleted table {}", client.table_name::<Order>());
    result
}

async fn run(client: &Client) -> Result<(), Box<dyn std::error::Error>> {
    for (customer, order_id, total_cents) in [
        ("alice", 1001, 2_500),
        ("alice", 1002, 12_000),
        ("alice", 1003, 799),
        ("bob", 2001, 45_000),
    ] {
        let mut order = Order {
            customer: customer.into(),
            order_id,
            status: Status::Placed,
            total_cents,
            note: None,
            tags: BTreeSet::new(),
        };
        client.create(&mut order).await?;
        println!("created order {customer}/{order_id} for {total_cents} cents");
    }

    // `create` refuses to overwrite: the error names the table and the key.
    let mut duplicate = Order::get(client, "alice", 1001)
        .await?
        .ok_or("order 1001 is missing")?;
    match client.create(&mut duplicate).await {
        Err(e @ Error::AlreadyExists { .. }) => println!("refused a duplicate: {e}"),
        other => return Err(format!("expected AlreadyExists, got {other:?}").into()),
    }

    // Read, change and save back.
    let mut order = Order::get(client, "alice", 1002)
        .await?
        .ok_or("order 1002 is missing")?;
    order.status = Status::Shipped {
        carrier: "DHL".into(),
    };
    order.note = Some("leave with the neighbour".into());
    order.tags.insert("express".into());
    client.save(&mut order).await?;
    println!(
        "shipped: {:?}",
        Order::get(client, "alice", 1002)
            .consistent_read(true)
            .await?
    );

    // Query by customer, newest first, and with a typed sort-key condition.
    let newest_first: Vec<Order> = Order::query(client, "alice").descending().all().await?;
    let ids: Vec<u64> = newest_first.iter().map(|o| o.order_id).collect();
    println!("alice's orders, newest first: {ids:?}");

    let mut later = Order::query(client, "alice")
        .sort_key(SortKey::ge(1002))
        .page_size(1)
        .stream();
    while let Some(order) = later.try_next().await? {
        println!(
            "  order {} ({:?}) totals {} cents",
            order.order_id, order.status, order.total_cents
        );
    }

    // Delete, returning what was deleted.
    let deleted = Order::delete(client, "alice", 1003).return_old().await?;
    println!("deleted: {:?}", deleted.map(|o| o.order_id));
    println!(
        "order 1003 now: {:?}",
        Order::get(client, "alice", 1003).await?
    );
    Ok(())
}
