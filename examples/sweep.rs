//! The orphan sweep as a command: finds objects under the `Document` model's file prefixes
//! that no item references, and deletes those older than the grace period.
//!
//! ```text
//! cargo run -p dynox-examples --bin sweep                         # seed a demo, dry run
//! cargo run -p dynox-examples --bin sweep -- --delete             # ... and delete
//! DYNOX_SERVERS=aws DYNOX_BUCKET=my-bucket DYNOX_TABLE_PREFIX=prod- \
//!     cargo run -p dynox-examples --bin sweep -- --grace-hours 48  # a real deployment
//! ```
//!
//! On local servers it first seeds a demo: a few documents and `--seed N` orphans (default
//! 2,000) as a crashed process would leave them, aged by sweeping "as of" a day later.
//! Against AWS it seeds nothing and sweeps your bucket, dry run unless `--delete`.

use std::time::{Duration, Instant, SystemTime};

mod document;

use document::Document;
use dynox::s3::{S3Object, S3Settings};
use dynox::Client;
use futures::StreamExt;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| args.iter().any(|a| a == name);
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .map(|v| v.parse::<u64>())
            .transpose()
    };
    let delete = flag("--delete");
    let grace = Duration::from_secs(value("--grace-hours")?.unwrap_or(24) * 3600);
    let seed = value("--seed")?.unwrap_or(2000) as usize;

    let backend = dynox::testing::Backend::from_env().await?;
    let local = !matches!(backend.kind(), dynox::testing::BackendKind::Aws);
    let bucket = match std::env::var("DYNOX_BUCKET") {
        Ok(b) => b,
        Err(_) if !local => return Err("set DYNOX_BUCKET".into()),
        Err(_) => format!("dynox-sweep-{}", std::process::id()),
    };
    let prefix = std::env::var("DYNOX_TABLE_PREFIX")
        .unwrap_or_else(|_| format!("sweep-{}-", std::process::id()));
    let client = Client::builder(backend.sdk_config())
        .table_prefix(prefix)
        .s3(S3Settings::default().bucket("company-docs", bucket.clone()))
        .build();
    let s3 = backend.s3_client();

    let mut as_of = SystemTime::now();
    if local {
        s3.create_bucket().bucket(&bucket).send().await?;
        client.create_table::<Document>().await?;
        for i in 0..3 {
            let mut doc = Document {
                pk: format!("DOC#{i}"),
                sk: "v1".into(),
                name: format!("document {i}"),
                content: Some(S3Object::from_bytes(vec![i as u8; 1000], "file.bin")),
            };
            client.save(&mut doc).await?;
        }
        let started = Instant::now();
        futures::stream::iter(0..seed)
            .map(|i| {
                let s3 = s3.clone();
                let bucket = bucket.clone();
                let owner = format!("{}/content", client.table_name::<Document>());
                async move {
                    // As a save that crashed after its upload leaves it.
                    s3.put_object()
                        .bucket(bucket)
                        .key(format!(
                            "documents/DOC/crashed-{i}/v1/0000000000000000/file.bin"
                        ))
                        .metadata(dynox::s3::OWNER_METADATA, owner)
                        .body(vec![0u8; 100].into())
                        .send()
                        .await
                }
            })
            .buffer_unordered(16)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<Vec<_>, _>>()?;
        println!(
            "seeded 3 documents and {seed} orphans in {:.2?}",
            started.elapsed()
        );
        // Look at them as they will be once the grace period has passed.
        as_of += grace + Duration::from_secs(3600);
    }

    let report = dynox::s3::sweep::<Document>(&client)
        .grace(grace)
        .as_of(as_of)
        .await?;
    println!("dry run: {} orphans found", report.orphans.len());
    let report = if delete {
        let report = dynox::s3::sweep::<Document>(&client)
            .grace(grace)
            .as_of(as_of)
            .delete()
            .await?;
        print!("{}", summary(&report));
        report
    } else {
        print!("{}", summary(&report));
        report
    };
    let _ = report;

    if local {
        // Leave nothing behind.
        for i in 0..3 {
            Document::delete(&client, format!("DOC#{i}"), "v1").await?;
        }
        let _ = dynox::s3::sweep::<Document>(&client)
            .grace(Duration::ZERO)
            .as_of(as_of)
            .delete()
            .await?;
        client.delete_table::<Document>().await?;
        s3.delete_bucket().bucket(&bucket).send().await?;
    }
    Ok(())
}

/// The report without the per-object lines (there may be thousands).
fn summary(report: &dynox::s3::SweepReport) -> String {
    let text = report.to_string();
    let mut lines = text.lines();
    let first = lines.next().unwrap_or_default().to_owned();
    let rest = lines.count();
    format!("{first}\n  ({rest} object lines omitted)\n")
}
