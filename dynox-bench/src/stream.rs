//! Benchmark 8: the stream consumer. A table with a stream of old and new images holds
//! `items` items with a 4 KiB file each; the items are deleted behind dynox's back
//! (BatchWriteItem, as a raw delete, another service or a TTL expiry would), which leaves
//! their objects behind and puts one REMOVE record per item on the stream. The timed part is
//! `dynox_streams::Poller::drain`, run until every record is processed: each record's
//! objects are owner-checked and deleted. Records per second and client CPU per record.

use std::time::Instant;

use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, WriteRequest};
use dynox_bench::measure::{batch_write, cpu_time, Servers, Stats};
use dynox_core::{DynamoModel, StreamView};
use dynox_s3::S3Object;
use dynox_streams::Poller;

use crate::{Args, BoxError};

#[derive(Debug, DynamoModel)]
#[dynamo(table = "bench-stream")]
struct Streamed {
    #[dynamo(hash_key)]
    id: String,
    #[s3(bucket = "bench-files", prefix = "stream/")]
    file: S3Object,
}

pub(crate) async fn run(args: &Args) -> Result<(), BoxError> {
    let items: usize = args.get("items", 1000)?;
    let rounds: usize = args.get("rounds", 3)?;
    let servers = Servers::connect().await.map_err(|e| e.to_string())?;
    let (client, bucket) = crate::client(&servers).await?;
    client
        .create_table::<Streamed>()
        .stream(StreamView::NewAndOldImages)
        .await?;
    let poller = Poller::<Streamed>::new(&client);
    let table = client.table_name::<Streamed>();
    let mut rates = Vec::new();
    let mut cpu_per_record = Vec::new();
    for round in 0..rounds {
        let mut docs: Vec<Streamed> = (0..items)
            .map(|i| Streamed {
                id: format!("r{round}-{i}"),
                file: S3Object::from_bytes(vec![round as u8; 4096], "f.bin"),
            })
            .collect();
        for result in client.save_all(&mut docs).await {
            result?;
        }
        // The INSERT records change nothing; drain them before the timed part.
        while !poller.drain().await?.records.is_empty() {}

        let deletes: Vec<WriteRequest> = docs
            .iter()
            .map(|d| {
                DeleteRequest::builder()
                    .key("id", AttributeValue::S(d.id.clone()))
                    .build()
                    .map(|del| WriteRequest::builder().delete_request(del).build())
            })
            .collect::<Result<_, _>>()?;
        batch_write(client.dynamodb(), &table, deletes, 4).await?;

        let (started, cpu0) = (Instant::now(), cpu_time());
        let (mut records, mut deleted) = (0, 0);
        while records < items {
            let report = poller.drain().await?;
            if !report.stopped_shards.is_empty() {
                return Err(format!("shards stopped: {:?}", report.stopped_shards).into());
            }
            records += report.records.len();
            deleted += report.deleted();
        }
        let seconds = started.elapsed().as_secs_f64();
        let cpu = (cpu_time() - cpu0).as_secs_f64();
        if records != items || deleted != items {
            return Err(format!("{records} records, {deleted} objects deleted of {items}").into());
        }
        let left = servers
            .s3
            .list_objects_v2()
            .bucket(&bucket)
            .prefix("stream/")
            .send()
            .await?
            .key_count()
            .unwrap_or(0);
        if left != 0 {
            return Err(format!("{left} objects left after the cascade").into());
        }
        rates.push(items as f64 / seconds);
        cpu_per_record.push(cpu * 1e3 / items as f64);
    }
    let rate = Stats::of(&rates);
    let cpu = Stats::of(&cpu_per_record);
    println!("| REMOVE records with a file | records/s | client CPU per record, ms |");
    println!("|---|---|---|");
    println!("| {items} | {} | {} |", rate.show(0), cpu.show(2));
    println!(
        "\n{rounds} rounds; Poller::drain over the Streams API until every record is processed; servers {}.",
        if servers.in_process { "in this process (CPU figures include them)" } else { "in another process" }
    );
    Ok(())
}
