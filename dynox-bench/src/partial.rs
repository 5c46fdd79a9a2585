//! Benchmark 11: a save that writes only what changed (`save_changes`, UpdateItem) against a
//! whole-item save (`save`, PutItem), for one changed number in items of three sizes: the
//! request bytes sent, the write capacity DynamoDB reports for each (it bills by the item's
//! size, not the request's), and per-operation wall and CPU time.
//!
//! Each round runs `ops` saves of every size both ways, alternating which goes first; wall
//! and CPU are medians over rounds (CPU of this process only: the servers run in another
//! one under `scripts/bench`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnConsumedCapacity};
use dynox_bench::measure::{cpu_time, Servers, Stats};
use dynox_core::{Client, DynamoModel, Tracked};

use crate::{Args, BoxError};

/// A profile with twelve small fields and a text of a chosen size.
#[derive(Debug, Clone, DynamoModel)]
#[dynamo(table = "bench-partial")]
struct Profile {
    #[dynamo(hash_key)]
    id: String,
    views: u64,
    name: String,
    email: String,
    city: String,
    country: String,
    language: String,
    plan: String,
    score: f64,
    active: bool,
    created: u64,
    tags: Vec<String>,
    body: String,
}

fn profile(id: &str, body: usize) -> Profile {
    Profile {
        id: id.into(),
        views: 0,
        name: "Ada Lovelace".into(),
        email: "ada@example.com".into(),
        city: "London".into(),
        country: "GB".into(),
        language: "en".into(),
        plan: "pro".into(),
        score: 97.5,
        active: true,
        created: 1_764_000_000,
        tags: vec!["math".into(), "engines".into(), "poetry".into()],
        body: "x".repeat(body),
    }
}

/// The sizes of the text field: an item of about 0.5 KiB, 40 KiB and 300 KiB.
const BODIES: [(usize, &str); 3] = [
    (200, "0.5 KiB"),
    (40 * 1024, "40 KiB"),
    (300 * 1024, "300 KiB"),
];

/// Counts the DynamoDB requests a client sends and their body bytes.
#[derive(Debug, Clone, Default)]
struct Sent {
    requests: Arc<AtomicU64>,
    bytes: Arc<AtomicU64>,
}

impl aws_sdk_dynamodb::config::Intercept for Sent {
    fn name(&self) -> &'static str {
        "Sent"
    }

    fn read_before_transmit(
        &self,
        context: &aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _: &aws_sdk_dynamodb::config::RuntimeComponents,
        _: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let len = context.request().body().bytes().map_or(0, <[u8]>::len);
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(len as u64, Ordering::Relaxed);
        Ok(())
    }
}

pub(crate) async fn run(args: &Args) -> Result<(), BoxError> {
    let ops: u64 = args.get("ops", 200)?;
    let rounds: usize = args.get("rounds", 5)?;
    let servers = Servers::connect().await.map_err(|e| e.to_string())?;
    let (plain, _) = crate::client(&servers).await?;
    let sent = Sent::default();
    let dynamodb = aws_sdk_dynamodb::config::Builder::from(&servers.config)
        .interceptor(sent.clone())
        .build();
    let client = Client::builder(&servers.config)
        .table_prefix(
            plain
                .table_name::<Profile>()
                .trim_end_matches("bench-partial"),
        )
        .dynamodb_client(aws_sdk_dynamodb::Client::from_conf(dynamodb))
        .build();
    client.create_table::<Profile>().await?;

    let mut wall: HashMap<(usize, bool), Vec<f64>> = HashMap::new();
    let mut cpu: HashMap<(usize, bool), Vec<f64>> = HashMap::new();
    let mut bytes: HashMap<(usize, bool), f64> = HashMap::new();
    for (size, _) in BODIES {
        for partial in [false, true] {
            // Warm up, and measure the request bytes of one save.
            let (_, _, b) = measure(&client, &sent, size, partial, 10).await?;
            bytes.insert((size, partial), b);
        }
    }
    for round in 0..rounds {
        for (size, _) in BODIES {
            let order = if round % 2 == 0 {
                [false, true]
            } else {
                [true, false]
            };
            for partial in order {
                let (w, c, _) = measure(&client, &sent, size, partial, ops).await?;
                wall.entry((size, partial)).or_default().push(w);
                cpu.entry((size, partial)).or_default().push(c);
            }
        }
    }

    println!(
        "| item | save: request bytes | save_changes: request bytes | save: WCU | save_changes: WCU | save wall µs | save_changes wall µs | save CPU µs | save_changes CPU µs |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (size, label) in BODIES {
        let (put_wcu, update_wcu) = capacity(&client, size).await?;
        let w = |p| Stats::of(&wall[&(size, p)]);
        let c = |p| Stats::of(&cpu[&(size, p)]);
        println!(
            "| {label} | {:.0} | {:.0} | {} | {} | {} | {} | {} | {} |",
            bytes[&(size, false)],
            bytes[&(size, true)],
            put_wcu,
            update_wcu,
            w(false).show(0),
            w(true).show(0),
            c(false).show(0),
            c(true).show(0),
        );
    }
    println!(
        "\nOne number changed per save; {ops} saves per round, {rounds} rounds; medians (min–max over rounds); WCU as the server reports it for a PutItem and an UpdateItem of the same change; servers {}.",
        if servers.in_process { "in this process (CPU figures include them)" } else { "in another process" }
    );
    Ok(())
}

/// Saves an item whose text is `size` bytes `n` times, one number changed each time, whole
/// or partially; returns per-save wall and CPU microseconds and request body bytes.
async fn measure(
    client: &Client,
    sent: &Sent,
    size: usize,
    partial: bool,
    n: u64,
) -> Result<(f64, f64, f64), BoxError> {
    let id = format!("p{size}-{partial}");
    let mut item = profile(&id, size);
    client.save(&mut item).await?;
    let mut tracked = Tracked::new(item.clone());
    let bytes_before = sent.bytes.load(Ordering::Relaxed);
    let requests_before = sent.requests.load(Ordering::Relaxed);
    let (start, cpu_start) = (Instant::now(), cpu_time());
    for _ in 0..n {
        if partial {
            tracked.views += 1;
            client.save_changes(&mut tracked).await?;
        } else {
            item.views += 1;
            client.save(&mut item).await?;
        }
    }
    let (elapsed, cpu) = (start.elapsed(), cpu_time() - cpu_start);
    let requests = sent.requests.load(Ordering::Relaxed) - requests_before;
    if requests != n {
        return Err(format!("{n} saves sent {requests} requests").into());
    }
    let bytes = (sent.bytes.load(Ordering::Relaxed) - bytes_before) as f64 / n as f64;
    let per = |d: std::time::Duration| d.as_secs_f64() * 1e6 / n as f64;
    Ok((per(elapsed), per(cpu), bytes))
}

/// The write capacity the server reports for the same change written by a PutItem of the
/// whole item and by an UpdateItem of the one number.
async fn capacity(client: &Client, size: usize) -> Result<(String, String), BoxError> {
    let table = client.table_name::<Profile>();
    let mut item = profile("capacity", size);
    client.save(&mut item).await?;
    let mut attributes = dynox_core::Model::to_item(&item).map_err(|e| format!("{e:?}"))?;
    attributes.insert("views".into(), AttributeValue::N("1".into()));
    let put = client
        .dynamodb()
        .put_item()
        .table_name(&table)
        .set_item(Some(attributes))
        .return_consumed_capacity(ReturnConsumedCapacity::Total)
        .send()
        .await?;
    let update = client
        .dynamodb()
        .update_item()
        .table_name(&table)
        .key("id", AttributeValue::S("capacity".into()))
        .update_expression("SET #v = :v")
        .expression_attribute_names("#v", "views")
        .expression_attribute_values(":v", AttributeValue::N("2".into()))
        .return_consumed_capacity(ReturnConsumedCapacity::Total)
        .send()
        .await?;
    let units = |c: Option<&aws_sdk_dynamodb::types::ConsumedCapacity>| {
        c.and_then(|c| c.capacity_units)
            .map_or("not reported".to_owned(), |u| format!("{u}"))
    };
    Ok((
        units(put.consumed_capacity()),
        units(update.consumed_capacity()),
    ))
}
