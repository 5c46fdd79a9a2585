//! The two-store promise, proven on real servers:
//!
//! For save (new item; replacing, keeping or removing a file; whole, or only what changed) and
//! delete, of a model with
//! every kind of S3 field (plain, compressed and retained, shared, a typed value and an
//! overflow field that moves to S3 and back inline), under any single
//! failed request (every request the operation makes, each fault kind) and under a crash
//! between any two requests:
//! 1. no committed item references an object that does not exist, or bytes other than the
//!    ones whose size and checksum it recorded;
//! 2. every object dynox created that no item references is deleted before the failing call
//!    returns (or, for a retained field, marked for deletion by the sweep after its
//!    retention, and readable until then), or, after a crash only, by the orphan sweep;
//! 3. the caller gets a typed error.
//!
//! Plus optimistic locking, a concurrency test, and the sweep on seeded orphans. One module
//! per concern:
//!
//! - `operations`: the operations under test (save in each way, delete, stale memories, a
//!   transaction), from the state each starts;
//! - `matrix`: the promise checked under every single fault and crash (the matrix test);
//! - `every_attempt`: faults on every attempt of a request and an unreachable DynamoDB, with
//!   and without the SDK's retries, on every write path;
//! - `locking`: optimistic locking, and concurrent replacements with one winner per round;
//! - `retried_writes`: a write whose SDK retry meets its own commit still succeeds;
//! - `orphan_sweep`: the sweep on seeded orphans, stale multipart uploads, failed deletes;
//! - `single_table`: the promise for two entity types with files in one table, under every
//!   single fault and crash;
//! - `versioning`: reads of a versioned bucket pin the recorded version.

mod every_attempt;
mod locking;
mod matrix;
mod operations;
mod orphan_sweep;
mod retried_writes;
mod single_table;
mod versioning;

use std::collections::BTreeSet;

use dynox_core::DynamoModel;
use dynox_s3::{S3Object, S3Value};
use dynox_tests::FileEnv;

#[derive(Debug, Clone, PartialEq, DynamoModel)]
#[dynamo(table = "records")]
struct Record {
    #[dynamo(hash_key)]
    pk: String,
    name: String,
    #[s3(bucket = "records", prefix = "content/")]
    content: Option<S3Object>,
    /// Retained: a write that replaces or deletes it leaves it readable for ten minutes (a
    /// retention mark instead of the DeleteObject), so every case runs the retention path.
    #[s3(
        bucket = "records",
        prefix = "thumbs/",
        compress = "zstd",
        retain = "10m"
    )]
    thumb: S3Object,
    /// Content-addressed: items of the same seed share one object, which no write deletes.
    #[s3(bucket = "records", prefix = "shared/", shared)]
    blob: Option<S3Object>,
    /// A typed value, stored as JSON.
    #[s3(bucket = "records", prefix = "summary/")]
    summary: Option<S3Value<Vec<u32>>>,
    /// An overflow field: 420 KB, so it moves to S3 (a short value stays inline).
    #[s3(bucket = "records", prefix = "notes/", overflow)]
    notes: String,
}

/// An overflow value too large to stay inline.
fn notes(seed: u8) -> String {
    char::from(b'a' + seed % 26).to_string().repeat(420 * 1024)
}

fn record(pk: &str, seed: u8) -> Record {
    Record {
        pk: pk.into(),
        name: "original".into(),
        content: Some(S3Object::from_bytes(vec![seed; 3000], "content.bin")),
        thumb: S3Object::from_bytes(vec![seed.wrapping_add(1); 100], "thumb.png"),
        blob: Some(S3Object::from_bytes(
            vec![seed.wrapping_add(2); 500],
            "blob.bin",
        )),
        summary: Some(S3Value::new(vec![u32::from(seed); 50])),
        notes: notes(seed),
    }
}

/// The keys of the objects the stored item `pk` references, as the protocol reads them.
async fn raw_references(env: &FileEnv, pk: &str) -> BTreeSet<String> {
    use dynox_core::spi::FileStore;
    let raw = env
        .client
        .dynamodb()
        .get_item()
        .table_name(env.client.table_name::<Record>())
        .key("pk", aws_sdk_dynamodb::types::AttributeValue::S(pk.into()))
        .consistent_read(true)
        .send()
        .await
        .expect("raw read")
        .item
        .unwrap_or_default();
    <Record as dynox_core::Model>::Files::references(&raw)
        .into_iter()
        .map(|r| r.object.key)
        .collect()
}

#[derive(Debug, Clone, PartialEq, DynamoModel)]
#[dynamo(table = "locked")]
struct Locked {
    #[dynamo(hash_key)]
    pk: String,
    #[dynamo(version)]
    version: u64,
    note: String,
    #[s3(bucket = "locked", prefix = "files/")]
    file: Option<S3Object>,
}
