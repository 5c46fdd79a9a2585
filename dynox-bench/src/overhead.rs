//! Benchmark 2: client overhead of save, get and query (and save with a file), dynox vs the
//! same calls written by hand with aws-sdk-dynamodb / aws-sdk-s3, against the same servers.
//!
//! Each round runs `ops` operations of every kind both ways, alternating which goes first;
//! the table reports per-operation wall and CPU time (this process only: the servers run in
//! another one), median and spread over rounds.

use std::collections::HashMap;
use std::time::Instant;

use aws_sdk_dynamodb::types::AttributeValue;
use bytes::Bytes;
use dynox_bench::measure::{cpu_time, Servers, Stats};
use dynox_bench::model::Order;
use dynox_core::{Client, DynamoModel};
use dynox_s3::S3Object;

use crate::{Args, BoxError};

/// A document with a 4 KiB file: the "manual way" is PutObject + PutItem.
#[derive(Debug, DynamoModel)]
#[dynamo(table = "bench-docs")]
struct Doc {
    #[dynamo(hash_key)]
    id: String,
    name: String,
    #[s3(bucket = "bench-files", prefix = "docs/")]
    file: S3Object,
}

const QUERY_ITEMS: u64 = 10;
const FILE_SIZE: usize = 4096;
/// The larger file of "save with a 64 KiB file".
const LARGE_FILE_SIZE: usize = 64 * 1024;

struct Ctx {
    /// Kept alive: in-process servers stop when dropped.
    servers: Servers,
    client: Client,
    ddb: aws_sdk_dynamodb::Client,
    s3: aws_sdk_s3::Client,
    orders: String,
    docs: String,
    bucket: String,
    file: Bytes,
    large_file: Bytes,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Op {
    Save,
    Get,
    Query,
    SaveFile,
    SaveLargeFile,
    CreateFile,
    ReplaceFile,
}

impl Op {
    const ALL: [Op; 7] = [
        Op::Save,
        Op::Get,
        Op::Query,
        Op::SaveFile,
        Op::SaveLargeFile,
        Op::CreateFile,
        Op::ReplaceFile,
    ];
    fn name(self) -> &'static str {
        match self {
            Op::Save => "save (PutItem, 20 fields)",
            Op::Get => "get (GetItem, 20 fields)",
            Op::Query => "query (10 items of 20 fields)",
            Op::SaveFile => "save with a 4 KiB file",
            Op::SaveLargeFile => "save with a 64 KiB file",
            Op::CreateFile => "create with a 4 KiB file",
            Op::ReplaceFile => "replace the 4 KiB file of a loaded item",
        }
    }
}

/// One operation of one side only, `--ops` times, for a profiler to watch
/// (`dynox-bench overhead-one --op save-file --side dynox --ops 3000` under `perf record`).
pub(crate) async fn one(args: &Args) -> Result<(), BoxError> {
    let ops: u64 = args.get("ops", 3000)?;
    let op_name: String = args.get("op", "save-file".to_owned())?;
    let side: String = args.get("side", "dynox".to_owned())?;
    let op = match op_name.as_str() {
        "save" => Op::Save,
        "get" => Op::Get,
        "query" => Op::Query,
        "save-file" => Op::SaveFile,
        "save-large-file" => Op::SaveLargeFile,
        "create-file" => Op::CreateFile,
        "replace-file" => Op::ReplaceFile,
        other => return Err(format!("unknown --op {other}").into()),
    };
    let ctx = setup().await?;
    let manual = side == "hand";
    measure(&ctx, op, manual, 20, u64::MAX / 2).await?;
    let (wall, cpu) = measure(&ctx, op, manual, ops, 1 << 40).await?;
    println!("{op_name} ({side}): {wall:.0} µs wall, {cpu:.0} µs CPU per operation");
    Ok(())
}

/// The client, tables and items every measurement uses.
async fn setup() -> Result<Ctx, BoxError> {
    let servers = Servers::connect().await.map_err(|e| e.to_string())?;
    let (client, bucket) = crate::client(&servers).await?;
    client.create_table::<Order>().await?;
    client.create_table::<Doc>().await?;
    let ctx = Ctx {
        ddb: client.dynamodb().clone(),
        orders: client.table_name::<Order>(),
        docs: client.table_name::<Doc>(),
        client,
        s3: servers.s3.clone(),
        bucket,
        file: Bytes::from(vec![7u8; FILE_SIZE]),
        large_file: Bytes::from(vec![9u8; LARGE_FILE_SIZE]),
        servers,
    };
    // The items get and query read.
    for n in 0..QUERY_ITEMS {
        ctx.client
            .save(&mut Order::sample("read", n))
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(ctx)
}

pub(crate) async fn run(args: &Args) -> Result<(), BoxError> {
    let ops: u64 = args.get("ops", 300)?;
    let rounds: usize = args.get("rounds", 5)?;
    let ctx = setup().await?;

    // Warm up connections and caches both ways.
    for op in Op::ALL {
        for manual in [false, true] {
            measure(&ctx, op, manual, 20, u64::MAX / 2).await?;
        }
    }
    let mut wall: HashMap<(Op, bool), Vec<f64>> = HashMap::new();
    let mut cpu: HashMap<(Op, bool), Vec<f64>> = HashMap::new();
    for round in 0..rounds {
        for op in Op::ALL {
            let order = if round % 2 == 0 {
                [false, true]
            } else {
                [true, false]
            };
            for manual in order {
                let base = (round as u64) << 32;
                let (w, c) = measure(&ctx, op, manual, ops, base).await?;
                wall.entry((op, manual)).or_default().push(w);
                cpu.entry((op, manual)).or_default().push(c);
            }
        }
    }

    println!(
        "| operation | dynox wall µs | by hand wall µs | wall ratio | dynox CPU µs | by hand CPU µs | CPU ratio |"
    );
    println!("|---|---|---|---|---|---|---|");
    for op in Op::ALL {
        let dw = Stats::of(&wall[&(op, false)]);
        let hw = Stats::of(&wall[&(op, true)]);
        let dc = Stats::of(&cpu[&(op, false)]);
        let hc = Stats::of(&cpu[&(op, true)]);
        println!(
            "| {} | {} | {} | {:.2} | {} | {} | {:.2} |",
            op.name(),
            dw.show(0),
            hw.show(0),
            dw.median / hw.median,
            dc.show(0),
            hc.show(0),
            dc.median / hc.median
        );
    }
    println!(
        "\n{ops} operations per round, {rounds} rounds; per-operation medians (min–max over rounds); servers {}.",
        if ctx.servers.in_process { "in this process (CPU figures include them)" } else { "in another process" }
    );
    Ok(())
}

/// Runs `n` operations; returns per-operation wall and CPU microseconds.
async fn measure(
    ctx: &Ctx,
    op: Op,
    manual: bool,
    n: u64,
    base: u64,
) -> Result<(f64, f64), BoxError> {
    if op == Op::ReplaceFile {
        return measure_replace(ctx, manual, n, base).await;
    }
    let (wall0, cpu0) = (Instant::now(), cpu_time());
    for i in 0..n {
        let key = base + i;
        match (op, manual) {
            (Op::Save, false) => {
                let mut order = Order::sample("write-dynox", key);
                ctx.client.save(&mut order).await?;
            }
            (Op::Save, true) => {
                let order = Order::sample("write-hand", key);
                ctx.ddb
                    .put_item()
                    .table_name(&ctx.orders)
                    .set_item(Some(order.to_item_by_hand()))
                    .send()
                    .await?;
            }
            (Op::Get, false) => {
                let order = Order::get(&ctx.client, "read", key % QUERY_ITEMS).await?;
                assert!(order.is_some());
            }
            (Op::Get, true) => {
                let output = ctx
                    .ddb
                    .get_item()
                    .table_name(&ctx.orders)
                    .key("customer", AttributeValue::S("read".into()))
                    .key(
                        "order_id",
                        AttributeValue::N((key % QUERY_ITEMS).to_string()),
                    )
                    .send()
                    .await?;
                let order = output.item.and_then(Order::from_item_by_hand);
                assert!(order.is_some());
            }
            (Op::Query, false) => {
                let orders: Vec<Order> = Order::query(&ctx.client, "read").all().await?;
                assert_eq!(orders.len() as u64, QUERY_ITEMS);
            }
            (Op::Query, true) => {
                let output = ctx
                    .ddb
                    .query()
                    .table_name(&ctx.orders)
                    .key_condition_expression("#h = :h")
                    .expression_attribute_names("#h", "customer")
                    .expression_attribute_values(":h", AttributeValue::S("read".into()))
                    .send()
                    .await?;
                let orders: Vec<Order> = output
                    .items
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(Order::from_item_by_hand)
                    .collect();
                assert_eq!(orders.len() as u64, QUERY_ITEMS);
            }
            (Op::SaveFile | Op::SaveLargeFile, false) => {
                let mut doc = Doc {
                    id: format!("dynox-{key}"),
                    name: "report".into(),
                    file: S3Object::from_bytes(ctx.file(op).clone(), "report.bin"),
                };
                ctx.client.save(&mut doc).await?;
            }
            (Op::CreateFile, false) => {
                // A new item: no current file references to read first.
                let mut doc = Doc {
                    id: format!("dynox-new-{key}"),
                    name: "report".into(),
                    file: S3Object::from_bytes(ctx.file.clone(), "report.bin"),
                };
                ctx.client.create(&mut doc).await?;
            }
            (Op::ReplaceFile, _) => unreachable!("measured by measure_replace"),
            (Op::SaveFile | Op::SaveLargeFile | Op::CreateFile, true) => {
                let id = format!("hand-{key}");
                put_by_hand(ctx, &id, &format!("docs/{id}/report.bin"), ctx.file(op)).await?;
            }
        }
    }
    let wall = wall0.elapsed().as_secs_f64() * 1e6 / n as f64;
    let cpu = (cpu_time() - cpu0).as_secs_f64() * 1e6 / n as f64;
    Ok((wall, cpu))
}

/// Replacing the file of `n` items loaded beforehand (not timed: the items are written, then
/// read with `get`, or by hand with GetItem). dynox: `save` after setting a new file (the
/// client remembers the loaded references: PutObject, PutItem on condition that they are
/// unchanged, then DeleteObject of the replaced object). By hand: PutObject, PutItem, then
/// DeleteObject of the old key read from the item (without a condition: a concurrent writer
/// can be overwritten, and its object left behind).
async fn measure_replace(
    ctx: &Ctx,
    manual: bool,
    n: u64,
    base: u64,
) -> Result<(f64, f64), BoxError> {
    let s = |v: &str| AttributeValue::S(v.to_owned());
    let mut loaded = Vec::new();
    let mut old_keys = Vec::new();
    for i in 0..n {
        let id = format!(
            "replace-{}-{}",
            if manual { "hand" } else { "dynox" },
            base + i
        );
        let mut doc = Doc {
            id: id.clone(),
            name: "report".into(),
            file: S3Object::from_bytes(ctx.file.clone(), "report.bin"),
        };
        ctx.client.save(&mut doc).await?;
        if manual {
            let item = ctx
                .ddb
                .get_item()
                .table_name(&ctx.docs)
                .key("id", s(&id))
                .send()
                .await?
                .item
                .ok_or("the item just written is missing")?;
            let key = item
                .get("file")
                .and_then(|f| f.as_m().ok())
                .and_then(|f| f.get("key"))
                .and_then(|k| k.as_s().ok())
                .ok_or("no file key")?
                .clone();
            old_keys.push((id, key));
        } else {
            loaded.push(Doc::get(&ctx.client, id).await?.ok_or("missing")?);
        }
    }
    let (wall0, cpu0) = (Instant::now(), cpu_time());
    if manual {
        for (id, old_key) in &old_keys {
            put_by_hand(ctx, id, &format!("docs/{id}/v2/report.bin"), &ctx.file).await?;
            ctx.s3
                .delete_object()
                .bucket(&ctx.bucket)
                .key(old_key)
                .send()
                .await?;
        }
    } else {
        for doc in &mut loaded {
            doc.file = S3Object::from_bytes(ctx.file.clone(), "report.bin");
            ctx.client.save(doc).await?;
        }
    }
    let wall = wall0.elapsed().as_secs_f64() * 1e6 / n as f64;
    let cpu = (cpu_time() - cpu0).as_secs_f64() * 1e6 / n as f64;
    Ok((wall, cpu))
}

impl Ctx {
    /// The file `op` saves.
    fn file(&self, op: Op) -> &Bytes {
        match op {
            Op::SaveLargeFile => &self.large_file,
            _ => &self.file,
        }
    }
}

/// The manual way to store a document with a file: PutObject (with the SDK's default
/// checksum), then PutItem with the object's metadata (no condition).
async fn put_by_hand(ctx: &Ctx, id: &str, object_key: &str, file: &Bytes) -> Result<(), BoxError> {
    let put = ctx
        .s3
        .put_object()
        .bucket(&ctx.bucket)
        .key(object_key)
        .content_type("application/octet-stream")
        .body(file.clone().into())
        .send()
        .await?;
    let s = |v: &str| AttributeValue::S(v.to_owned());
    let file = HashMap::from([
        ("bucket".to_owned(), s(&ctx.bucket)),
        ("key".to_owned(), s(object_key)),
        ("size".to_owned(), AttributeValue::N(file.len().to_string())),
        ("etag".to_owned(), s(put.e_tag().unwrap_or_default())),
        ("content_type".to_owned(), s("application/octet-stream")),
    ]);
    ctx.ddb
        .put_item()
        .table_name(&ctx.docs)
        .item("id", s(id))
        .item("name", s("report"))
        .item("file", AttributeValue::M(file))
        .send()
        .await?;
    Ok(())
}
