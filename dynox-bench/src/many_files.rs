//! Benchmark 4: many items with small files (64 KiB): saved, read back with their bytes, and
//! deleted, one at a time and then with bounded concurrency (`save_all`, a
//! `buffer_unordered` of get + `get_bytes`, `delete_all`).

use std::time::Instant;

use bytes::Bytes;
use dynox_bench::measure::{cpu_time, server_cpu_time, Servers, Stats};
use dynox_core::{Client, DynamoModel};
use dynox_s3::S3Object;
use futures::stream::{self, StreamExt, TryStreamExt};

use crate::{Args, BoxError};

#[derive(Debug, DynamoModel)]
#[dynamo(table = "bench-attachments")]
struct Attachment {
    #[dynamo(hash_key)]
    id: String,
    name: String,
    #[s3(bucket = "bench-files", prefix = "many/")]
    file: S3Object,
}

const PHASES: [&str; 4] = ["save", "get + download", "delete", "all three"];

pub(crate) async fn run(args: &Args) -> Result<(), BoxError> {
    let items: usize = args.get("items", 1000)?;
    let rounds: usize = args.get("rounds", 3)?;
    let concurrency: usize = args.get("concurrency", 16)?;
    let file_kib: usize = args.get("kib", 64)?;
    let servers = Servers::connect().await.map_err(|e| e.to_string())?;
    let (client, _) = crate::client(&servers).await?;
    client.create_table::<Attachment>().await?;
    let files: Vec<Bytes> = (0..items)
        .map(|i| Bytes::from(vec![(i % 251) as u8; file_kib * 1024]))
        .collect();

    // rates[mode][phase]: items per second per round; cpu[mode]: ms of CPU per item.
    let mut rates = vec![vec![Vec::new(); PHASES.len()]; 2];
    let mut cpu = vec![Vec::new(); 2];
    let mut server_cpu = vec![Vec::new(); 2];
    // Warm-up: one small concurrent pass.
    pass(&client, &files[..items.min(32)], concurrency, "warm").await?;
    for round in 0..rounds {
        for (mode, c) in [(0, 1), (1, concurrency)] {
            let cpu0 = cpu_time();
            let server0 = server_cpu_time();
            let seconds = pass(&client, &files, c, &format!("r{round}")).await?;
            cpu[mode].push((cpu_time() - cpu0).as_secs_f64() * 1e3 / items as f64);
            if let (Some(before), Some(after)) = (server0, server_cpu_time()) {
                server_cpu[mode].push((after - before).as_secs_f64() * 1e3 / items as f64);
            }
            let total: f64 = seconds.iter().sum();
            for (phase, s) in seconds.iter().chain([&total]).enumerate() {
                rates[mode][phase].push(items as f64 / s);
            }
        }
    }

    println!(
        "| {items} items × {file_kib} KiB | sequential, items/s | concurrency {concurrency}, items/s | speed-up |"
    );
    println!("|---|---|---|---|");
    for (phase, name) in PHASES.iter().enumerate() {
        let seq = Stats::of(&rates[0][phase]);
        let conc = Stats::of(&rates[1][phase]);
        println!(
            "| {name} | {} | {} | {:.1}× |",
            seq.show(0),
            conc.show(0),
            conc.median / seq.median
        );
    }
    let total_seq = Stats::of(&rates[0][3]).median;
    let total_conc = Stats::of(&rates[1][3]).median;
    println!(
        "| client CPU per item (all three), ms | {} | {} | |",
        Stats::of(&cpu[0]).show(2),
        Stats::of(&cpu[1]).show(2)
    );
    if !server_cpu[0].is_empty() {
        let total = |mode: usize| {
            let both: Vec<f64> = cpu[mode]
                .iter()
                .zip(&server_cpu[mode])
                .map(|(c, s)| c + s)
                .collect();
            Stats::of(&both)
        };
        println!(
            "| servers' CPU per item, ms | {} | {} | |",
            Stats::of(&server_cpu[0]).show(2),
            Stats::of(&server_cpu[1]).show(2)
        );
        println!(
            "| client + servers CPU per item, ms | {} | {} | |",
            total(0).show(2),
            total(1).show(2)
        );
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        println!(
            "\nCPU bound: {cores} cores / {:.2} ms of CPU per item = at most {:.0} items/s, whatever the concurrency.",
            total(1).median,
            cores * 1e3 / total(1).median
        );
    }
    println!(
        "\nwall per {items} items (all three): sequential {:.2} s, concurrent {:.2} s; {rounds} rounds; servers {}.",
        items as f64 / total_seq,
        items as f64 / total_conc,
        if servers.in_process { "in this process" } else { "in another process" }
    );
    Ok(())
}

/// Saves, reads (with bytes) and deletes one item per file, `concurrency` at a time (1: a plain
/// loop of single calls). Returns the seconds of each phase.
async fn pass(
    client: &Client,
    files: &[Bytes],
    concurrency: usize,
    tag: &str,
) -> Result<[f64; 3], BoxError> {
    let ids: Vec<String> = (0..files.len()).map(|i| format!("{tag}-{i}")).collect();
    let mut items: Vec<Attachment> = ids
        .iter()
        .zip(files)
        .map(|(id, bytes)| Attachment {
            id: id.clone(),
            name: "attachment".into(),
            file: S3Object::from_bytes(bytes.clone(), "attachment.bin"),
        })
        .collect();

    let started = Instant::now();
    if concurrency == 1 {
        for item in &mut items {
            client.save(item).await?;
        }
    } else {
        for result in client.save_all(&mut items).concurrency(concurrency).await {
            result?;
        }
    }
    let save = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let read = |id: &String| {
        let id = id.clone();
        async move {
            let item = Attachment::get(client, &id).await?.ok_or("item missing")?;
            let bytes = item.file.get_bytes(client).await?;
            Ok::<usize, BoxError>(bytes.len())
        }
    };
    let total: usize = if concurrency == 1 {
        let mut total = 0;
        for id in &ids {
            total += read(id).await?;
        }
        total
    } else {
        stream::iter(&ids)
            .map(read)
            .buffer_unordered(concurrency)
            .try_fold(0, |acc, n| async move { Ok(acc + n) })
            .await?
    };
    let expected: usize = files.iter().map(Bytes::len).sum();
    if total != expected {
        return Err(format!("read {total} bytes, expected {expected}").into());
    }
    let get = started.elapsed().as_secs_f64();

    let started = Instant::now();
    if concurrency == 1 {
        for id in &ids {
            Attachment::delete(client, id).await?;
        }
    } else {
        let keys = ids.iter().map(Attachment::key_of);
        for result in client.delete_all(keys).concurrency(concurrency).await {
            result?;
        }
    }
    let delete = started.elapsed().as_secs_f64();
    Ok([save, get, delete])
}
