//! Benchmark 7: the orphan sweep at growing sizes. Half the objects under the prefix are
//! referenced by items, half are orphans; the sweep (delete mode, as of two days later) lists
//! them, scans the table, checks each orphan's owner and deletes it. Objects per second and
//! the sweep's peak RSS growth, with a small memory budget so that the sorted sets go to disk:
//! memory should not grow with the count. A second table gives the time of each of the
//! sweep's steps (`SweepReport::steps`).
//!
//! `--listing true` first times a plain ListObjectsV2 paging through the seeded prefix with
//! the SDK alone (no dynox): the server's own listing cost, per page, at each size.
//! `--listing-pages N` stops that listing after N pages (the per-page time is what grows
//! with a server that walks the whole bucket for every page). `--sweep false` skips the
//! sweep (a listing-only measurement).

use std::time::Instant;

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use dynox_bench::measure::{batch_write, peak_rss_mib, reset_peak_rss, rss_mib, Servers};
use dynox_core::{Client, DynamoModel};
use dynox_s3::S3Object;
use futures::stream::{self, StreamExt, TryStreamExt};

use crate::{Args, BoxError};

#[derive(Debug, DynamoModel)]
#[dynamo(table = "bench-sweep")]
struct Swept {
    #[dynamo(hash_key)]
    id: String,
    #[s3(bucket = "bench-files", prefix = "sweep/")]
    file: S3Object,
}

pub(crate) async fn run(args: &Args) -> Result<(), BoxError> {
    let sizes: String = args.get("objects", "10000,100000".to_owned())?;
    let budget_kib: usize = args.get("budget-kib", 1024)?;
    let listing: bool = args.get("listing", false)?;
    let listing_pages: usize = args.get("listing-pages", usize::MAX)?;
    let sweep: bool = args.get("sweep", true)?;
    let servers = Servers::connect().await.map_err(|e| e.to_string())?;
    let mut rows = Vec::new();
    let mut step_rows = Vec::new();
    let mut listing_rows = Vec::new();
    for size in sizes.split(',') {
        let objects: usize = size
            .trim()
            .parse()
            .map_err(|_| format!("bad size {size}"))?;
        let (client, bucket) = crate::client(&servers).await?;
        client.create_table::<Swept>().await?;
        let seeding = Instant::now();
        seed(&client, &servers, &bucket, objects).await?;
        eprintln!(
            "seeded {objects} objects in {:.1} s",
            seeding.elapsed().as_secs_f64()
        );
        if listing {
            let row = list_only(&servers, &bucket, objects, listing_pages).await?;
            eprintln!("{row}");
            listing_rows.push(row);
        }
        if !sweep {
            continue;
        }

        let later = std::time::SystemTime::now() + std::time::Duration::from_secs(2 * 86_400);
        let start_rss = rss_mib();
        reset_peak_rss();
        let started = Instant::now();
        let report = dynox_s3::sweep::<Swept>(&client)
            .as_of(later)
            .memory_budget(budget_kib * 1024)
            .delete()
            .await?;
        let seconds = started.elapsed().as_secs_f64();
        let growth = (peak_rss_mib() - start_rss).max(0.0);
        if report.orphans_found as usize != objects / 2 || !report.failed.is_empty() {
            return Err(format!("unexpected sweep result: {report}").into());
        }
        let row = format!(
            "| {} | {} | {} KiB | {seconds:.1} | {:.0} | {growth:.1} |",
            report.objects_listed,
            report.items_scanned,
            budget_kib,
            report.objects_listed as f64 / seconds
        );
        let steps = report.steps;
        let step_row = format!(
            "| {} | {:.1} | {:.1} | {:.2} | {:.1} | {:.1} | {:.2} |",
            report.objects_listed,
            steps.listing.as_secs_f64(),
            steps.references.as_secs_f64(),
            steps.classify.as_secs_f64(),
            steps.owner_checks.as_secs_f64(),
            steps.deletes.as_secs_f64(),
            steps.uploads.as_secs_f64(),
        );
        eprintln!("{row}\n{step_row}");
        rows.push(row);
        step_rows.push(step_row);
    }
    println!("| objects | items | memory budget | seconds | objects/s | peak RSS growth (MiB) |");
    println!("|---|---|---|---|---|---|");
    for row in rows {
        println!("{row}");
    }
    println!();
    println!("| objects | listing (s) | references (s) | classify (s) | owner checks (s) | deletes (s) | uploads (s) |");
    println!("|---|---|---|---|---|---|---|");
    for row in step_rows {
        println!("{row}");
    }
    if !listing_rows.is_empty() {
        println!();
        println!("| objects in the prefix | pages listed | objects listed | seconds | ms per page | first page (ms) | last page (ms) |");
        println!("|---|---|---|---|---|---|---|");
        for row in listing_rows {
            println!("{row}");
        }
    }
    Ok(())
}

/// ListObjectsV2 through the sweep's prefix with the SDK alone, at most `max_pages` pages: a
/// table row of the time per page.
async fn list_only(
    servers: &Servers,
    bucket: &str,
    objects: usize,
    max_pages: usize,
) -> Result<String, BoxError> {
    let started = Instant::now();
    let mut pages = servers
        .s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix("sweep/")
        .into_paginator()
        .send();
    let (mut count, mut listed) = (0usize, 0usize);
    let mut page_ms = Vec::new();
    let mut page_started = Instant::now();
    while count < max_pages {
        let Some(page) = pages.next().await else {
            break;
        };
        let page = page?;
        page_ms.push(page_started.elapsed().as_secs_f64() * 1000.0);
        listed += page.contents.map_or(0, |c| c.len());
        count += 1;
        page_started = Instant::now();
    }
    let seconds = started.elapsed().as_secs_f64();
    Ok(format!(
        "| {objects} | {count} | {listed} | {seconds:.2} | {:.1} | {:.1} | {:.1} |",
        seconds * 1000.0 / count.max(1) as f64,
        page_ms.first().copied().unwrap_or(0.0),
        page_ms.last().copied().unwrap_or(0.0),
    ))
}

/// `objects` small objects under the prefix, as this model's saves write them; items
/// referencing every other one.
async fn seed(
    client: &Client,
    servers: &Servers,
    bucket: &str,
    objects: usize,
) -> Result<(), BoxError> {
    // One real save gives the item shape and the owner metadata.
    let mut model = Swept {
        id: "model".into(),
        file: S3Object::from_bytes(vec![1u8; 16], "f.bin"),
    };
    client.save(&mut model).await?;
    let table = client.table_name::<Swept>();
    let raw = client
        .dynamodb()
        .get_item()
        .table_name(&table)
        .key("id", AttributeValue::S("model".into()))
        .send()
        .await?
        .item
        .ok_or("the model item is missing")?;
    let Some(AttributeValue::M(reference)) = raw.get("file").cloned() else {
        return Err("no file reference".into());
    };
    let owner = format!("{table}/file");
    let key = |i: usize| format!("sweep/seeded/{i:08}/f.bin");

    stream::iter(0..objects)
        .map(|i| {
            let s3 = servers.s3.clone();
            let (bucket, owner) = (bucket.to_owned(), owner.clone());
            async move {
                s3.put_object()
                    .bucket(bucket)
                    .key(key(i))
                    .metadata(dynox_s3::OWNER_METADATA, owner)
                    .body(vec![1u8; 16].into())
                    .send()
                    .await
                    .map(drop)
            }
        })
        .buffer_unordered(32)
        .try_collect::<Vec<()>>()
        .await?;

    let items: Vec<WriteRequest> = (0..objects)
        .step_by(2)
        .map(|i| {
            let mut reference = reference.clone();
            reference.insert("key".into(), AttributeValue::S(key(i)));
            let item = [
                ("id".to_owned(), AttributeValue::S(format!("item-{i}"))),
                ("file".to_owned(), AttributeValue::M(reference)),
            ]
            .into();
            PutRequest::builder()
                .set_item(Some(item))
                .build()
                .map(|put| WriteRequest::builder().put_request(put).build())
        })
        .collect::<Result<_, _>>()?;
    batch_write(client.dynamodb(), &table, items, 8).await?;
    // The model item and its object stay referenced; delete them so the counts are exact.
    Swept::delete(client, "model").await?;
    Ok(())
}
