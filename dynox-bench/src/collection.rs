//! Benchmark 9: a typed collection. One Query of a 100-item partition holding three entity
//! types (a customer, its orders and its invoices, single-table style) decoded into an enum:
//! dynox's `#[derive(DynamoCollection)]` against the same query written by hand with
//! aws-sdk-dynamodb (paging through `LastEvaluatedKey`) and serde_dynamo (each item decoded
//! into the struct its `entity_type` attribute names).
//!
//! Both sides use the same SDK client and decode into the same structs (each model also
//! derives `serde::Deserialize` for serde_dynamo). Each round runs `ops` queries both ways,
//! alternating which goes first; the table reports per-query wall and CPU time (this process
//! only: the servers run in another one under `scripts/bench`), median and spread over rounds.

use std::collections::HashMap;
use std::time::Instant;

use aws_sdk_dynamodb::types::AttributeValue;
use dynox_bench::measure::{cpu_time, server_cpu_time, Servers, Stats};
use dynox_core::{Client, DynamoCollection, DynamoModel};
use serde::Deserialize;

use crate::{Args, BoxError};

/// A customer's profile: `CUSTOMER#{customer_id}` / `PROFILE`.
#[derive(Debug, Clone, PartialEq, Deserialize, DynamoModel)]
#[dynamo(
    table = "bench-shop",
    entity = "Customer",
    pk = "CUSTOMER#{customer_id}",
    sk = "PROFILE"
)]
struct Customer {
    customer_id: String,
    name: String,
    email: String,
    phone: String,
    country: String,
    tier: String,
    created_at: u64,
    loyalty_points: i64,
}

/// An order: `CUSTOMER#{customer_id}` / `ORDER#{placed_at}#{order_id}`.
#[derive(Debug, Clone, PartialEq, Deserialize, DynamoModel)]
#[dynamo(
    table = "bench-shop",
    entity = "Order",
    pk = "CUSTOMER#{customer_id}",
    sk = "ORDER#{placed_at}#{order_id}"
)]
struct Order {
    customer_id: String,
    order_id: String,
    placed_at: u64,
    status: String,
    total_cents: i64,
    currency: String,
    items_count: u32,
    carrier: String,
}

/// An invoice: `CUSTOMER#{customer_id}` / `INVOICE#{order_id}`.
#[derive(Debug, Clone, PartialEq, Deserialize, DynamoModel)]
#[dynamo(
    table = "bench-shop",
    entity = "Invoice",
    pk = "CUSTOMER#{customer_id}",
    sk = "INVOICE#{order_id}"
)]
struct Invoice {
    customer_id: String,
    order_id: String,
    invoice_id: String,
    issued_at: u64,
    due_at: u64,
    amount_cents: i64,
    tax_cents: i64,
    paid: bool,
}

/// The partition as dynox reads it.
#[derive(Debug, DynamoCollection)]
enum ShopItems {
    Customer(Customer),
    Order(Order),
    Invoice(Invoice),
}

/// The partition as the hand-written query reads it.
#[derive(Debug)]
enum HandItems {
    Customer(Customer),
    Order(Order),
    Invoice(Invoice),
}

const CUSTOMER: &str = "c-42";
const ORDERS: u64 = 66;
const INVOICES: u64 = 33;
const ITEMS: usize = 1 + ORDERS as usize + INVOICES as usize;

struct Ctx {
    /// Kept alive: in-process servers stop when dropped.
    servers: Servers,
    client: Client,
    ddb: aws_sdk_dynamodb::Client,
    table: String,
}

/// The client, the table and the partition's 100 items (written once, untimed); checks that
/// both sides read the same values.
async fn setup() -> Result<Ctx, BoxError> {
    let servers = Servers::connect().await.map_err(|e| e.to_string())?;
    let (client, _bucket) = crate::client(&servers).await?;
    client.create_table::<(Customer, Order, Invoice)>().await?;
    let ctx = Ctx {
        ddb: client.dynamodb().clone(),
        table: client.table_name::<Customer>(),
        client,
        servers,
    };
    let base = 1_764_000_000u64;
    ctx.client
        .save(&mut Customer {
            customer_id: CUSTOMER.into(),
            name: "Ada Lovelace".into(),
            email: "ada@example.com".into(),
            phone: "+44 20 7946 0958".into(),
            country: "GB".into(),
            tier: "gold".into(),
            created_at: base - 86_400 * 400,
            loyalty_points: 12_345,
        })
        .await?;
    for n in 0..ORDERS {
        ctx.client
            .save(&mut Order {
                customer_id: CUSTOMER.into(),
                order_id: format!("ord-{n:05}"),
                placed_at: base + n * 3_600,
                status: ["placed", "shipped", "delivered"][n as usize % 3].into(),
                total_cents: 1_999 + n as i64 * 137,
                currency: "EUR".into(),
                items_count: 1 + (n % 7) as u32,
                carrier: ["DHL", "UPS", "La Poste"][n as usize % 3].into(),
            })
            .await?;
    }
    for n in 0..INVOICES {
        ctx.client
            .save(&mut Invoice {
                customer_id: CUSTOMER.into(),
                order_id: format!("ord-{:05}", n * 2),
                invoice_id: format!("INV-2026-{n:06}"),
                issued_at: base + n * 7_200 + 60,
                due_at: base + n * 7_200 + 60 + 30 * 86_400,
                amount_cents: 1_999 + n as i64 * 274,
                tax_cents: 400 + n as i64 * 55,
                paid: n % 4 != 0,
            })
            .await?;
    }

    // The two sides agree, item by item.
    let dynox = by_dynox(&ctx).await?;
    let hand = by_hand(&ctx).await?;
    let same = dynox.iter().zip(&hand).all(|pair| match pair {
        (ShopItems::Customer(a), HandItems::Customer(b)) => a == b,
        (ShopItems::Order(a), HandItems::Order(b)) => a == b,
        (ShopItems::Invoice(a), HandItems::Invoice(b)) => a == b,
        _ => false,
    });
    if !same {
        return Err("dynox and the hand-written query read different items".into());
    }
    Ok(ctx)
}

/// dynox: the collection's query of the customer's partition.
async fn by_dynox(ctx: &Ctx) -> Result<Vec<ShopItems>, BoxError> {
    let items: Vec<ShopItems> = ShopItems::query(&ctx.client, Customer::partition(CUSTOMER))
        .all()
        .await?;
    assert_eq!(items.len(), ITEMS);
    Ok(items)
}

/// By hand: Query `pk = :pk` page by page, each item decoded with serde_dynamo into the struct
/// its `entity_type` names.
async fn by_hand(ctx: &Ctx) -> Result<Vec<HandItems>, BoxError> {
    let mut items = Vec::new();
    let mut start: Option<HashMap<String, AttributeValue>> = None;
    loop {
        let output = ctx
            .ddb
            .query()
            .table_name(&ctx.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", AttributeValue::S(format!("CUSTOMER#{CUSTOMER}")))
            .set_exclusive_start_key(start)
            .send()
            .await?;
        for item in output.items.unwrap_or_default() {
            let entity = match item.get("entity_type") {
                Some(AttributeValue::S(entity)) => entity.as_str(),
                _ => return Err("an item without entity_type".into()),
            };
            items.push(match entity {
                "Customer" => HandItems::Customer(serde_dynamo::from_item(item)?),
                "Order" => HandItems::Order(serde_dynamo::from_item(item)?),
                "Invoice" => HandItems::Invoice(serde_dynamo::from_item(item)?),
                other => return Err(format!("unknown entity type {other}").into()),
            });
        }
        start = output.last_evaluated_key.filter(|k| !k.is_empty());
        if start.is_none() {
            break;
        }
    }
    assert_eq!(items.len(), ITEMS);
    Ok(items)
}

/// Runs `n` queries one way; returns per-query wall and CPU microseconds.
async fn measure(ctx: &Ctx, manual: bool, n: u64) -> Result<(f64, f64), BoxError> {
    let (wall0, cpu0) = (Instant::now(), cpu_time());
    for _ in 0..n {
        if manual {
            by_hand(ctx).await?;
        } else {
            by_dynox(ctx).await?;
        }
    }
    let wall = wall0.elapsed().as_secs_f64() * 1e6 / n as f64;
    let cpu = (cpu_time() - cpu0).as_secs_f64() * 1e6 / n as f64;
    Ok((wall, cpu))
}

pub(crate) async fn run(args: &Args) -> Result<(), BoxError> {
    let ops: u64 = args.get("ops", 500)?;
    let rounds: usize = args.get("rounds", 7)?;
    let ctx = setup().await?;

    // Warm up connections and caches both ways.
    for manual in [false, true] {
        measure(&ctx, manual, 20).await?;
    }
    let mut wall: [Vec<f64>; 2] = Default::default();
    let mut cpu: [Vec<f64>; 2] = Default::default();
    let mut server: [f64; 2] = [0.0; 2];
    for round in 0..rounds {
        let order = if round % 2 == 0 {
            [false, true]
        } else {
            [true, false]
        };
        for manual in order {
            let server0 = server_cpu_time();
            let (w, c) = measure(&ctx, manual, ops).await?;
            if let (Some(before), Some(after)) = (server0, server_cpu_time()) {
                server[manual as usize] += (after - before).as_secs_f64() * 1e6;
            }
            wall[manual as usize].push(w);
            cpu[manual as usize].push(c);
        }
    }
    let ratios = |v: &[Vec<f64>; 2]| {
        let per_round: Vec<f64> = v[0].iter().zip(&v[1]).map(|(d, h)| d / h).collect();
        Stats::of(&per_round)
    };

    println!(
        "| query | dynox wall µs | by hand wall µs | wall ratio | dynox CPU µs | by hand CPU µs | CPU ratio |"
    );
    println!("|---|---|---|---|---|---|---|");
    println!(
        "| {ITEMS} items of 3 entity types into an enum | {} | {} | {} | {} | {} | {} |",
        Stats::of(&wall[0]).show(0),
        Stats::of(&wall[1]).show(0),
        ratios(&wall).show(2),
        Stats::of(&cpu[0]).show(0),
        Stats::of(&cpu[1]).show(0),
        ratios(&cpu).show(2),
    );
    println!(
        "\n{ops} queries per round, {rounds} rounds; per-query medians (min–max over rounds); ratios are medians (min–max) of per-round ratios; servers {}.",
        if ctx.servers.in_process {
            "in this process (CPU figures include them)"
        } else {
            "in another process"
        }
    );
    if server_cpu_time().is_some() {
        let total = (ops * rounds as u64) as f64;
        println!(
            "The servers' CPU per query (all rounds, 10 ms ticks): {:.0} µs for dynox's, {:.0} µs for the hand-written.",
            server[0] / total,
            server[1] / total
        );
    }
    Ok(())
}

/// One side only, `--ops` times, for a profiler to watch
/// (`dynox-bench collection-one --side dynox --ops 3000` under `perf record`).
pub(crate) async fn one(args: &Args) -> Result<(), BoxError> {
    let ops: u64 = args.get("ops", 3000)?;
    let side: String = args.get("side", "dynox".to_owned())?;
    let manual = match side.as_str() {
        "dynox" => false,
        "hand" => true,
        other => return Err(format!("unknown --side {other}").into()),
    };
    let ctx = setup().await?;
    measure(&ctx, manual, 20).await?;
    let (wall, cpu) = measure(&ctx, manual, ops).await?;
    println!("collection query ({side}): {wall:.0} µs wall, {cpu:.0} µs CPU per query");
    Ok(())
}
