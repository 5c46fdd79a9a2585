//! [`Poller`]: the file cascade over the Streams API, for users without Lambda (and tests).
//!
//! It finds the table's stream, lists its shards, follows their lineage (a parent shard is
//! drained before its children), reads each shard from its checkpoint, runs
//! [`dynox_s3::cascade()`] on every record, and checkpoints a record only once the cascade
//! dealt with all of its objects. A failed record stops its shard (records of one item are
//! ordered within a shard), to be retried on the next [`drain`](Poller::drain).

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::types::StreamViewType;
use aws_sdk_dynamodbstreams::types::{Shard, ShardIteratorType};
use dynox_core::Client;
use dynox_s3::{RecordReport, S3Model};

use crate::convert::change_record;
use crate::error::StreamError;

/// Records read per GetRecords request (the Streams API's maximum).
const RECORDS_PER_REQUEST: i32 = 1000;

/// Where each shard's processing stands, kept between runs (and processes): the last
/// sequence number whose record was fully processed, and which closed shards are done.
pub trait Checkpoints: Send + Sync {
    /// The last processed sequence number of `shard`.
    fn position(&self, shard: &str) -> Option<String>;
    /// Records that `shard`'s record `sequence_number` was processed.
    fn advance(&self, shard: &str, sequence_number: &str);
    /// Whether `shard` is closed and every record of it processed.
    fn is_finished(&self, shard: &str) -> bool;
    /// Records that `shard` is closed and every record of it processed.
    fn finish(&self, shard: &str);
}

/// [`Checkpoints`] in memory; clones share them (a second poller given a clone resumes where
/// the first stopped).
#[derive(Debug, Clone, Default)]
pub struct MemoryCheckpoints(Arc<Mutex<HashMap<String, Position>>>);

/// A shard's last processed sequence number, and whether it is finished.
type Position = (Option<String>, bool);

impl Checkpoints for MemoryCheckpoints {
    fn position(&self, shard: &str) -> Option<String> {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.get(shard).and_then(|(seq, _)| seq.clone())
    }

    fn advance(&self, shard: &str, sequence_number: &str) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(shard.to_owned()).or_default().0 = Some(sequence_number.to_owned());
    }

    fn is_finished(&self, shard: &str) -> bool {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.get(shard).is_some_and(|(_, done)| *done)
    }

    fn finish(&self, shard: &str) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(shard.to_owned()).or_default().1 = true;
    }
}

/// What one [`Poller::drain`] did.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct DrainReport {
    /// One report per record processed, in stream order per shard.
    pub records: Vec<RecordReport>,
    /// Shards stopped at a record the cascade could not finish (retried next time).
    pub stopped_shards: Vec<String>,
    /// Whether the run stopped at [`Poller::max_records`] with records left.
    pub limited: bool,
}

impl DrainReport {
    /// The records removed by time to live.
    pub fn ttl_expiries(&self) -> usize {
        self.records.iter().filter(|r| r.ttl_expired).count()
    }

    /// The objects deleted, over every record.
    pub fn deleted(&self) -> usize {
        self.records.iter().map(|r| r.deleted.len()).sum()
    }
}

/// Runs the file cascade of model `M` over its table's stream through the Streams API.
///
/// ```no_run
/// # use dynox_core::{Client, DynamoModel, StreamView};
/// # use dynox_s3::S3Object;
/// # #[derive(DynamoModel)] #[dynamo(table = "documents")]
/// # struct Document { #[dynamo(hash_key)] pk: String,
/// #   #[s3(bucket = "docs")] file: S3Object }
/// # async fn demo(client: &Client) -> Result<(), Box<dyn std::error::Error>> {
/// use dynox_streams::{MemoryCheckpoints, Poller};
///
/// client.create_table::<Document>().stream(StreamView::NewAndOldImages).await?;
/// let poller = Poller::<Document>::new(client).checkpoints(MemoryCheckpoints::default());
/// loop {
///     let report = poller.drain().await?;
///     println!("{} objects deleted", report.deleted());
///     tokio::time::sleep(std::time::Duration::from_secs(1)).await;
/// }
/// # }
/// ```
pub struct Poller<M> {
    client: Client,
    streams: aws_sdk_dynamodbstreams::Client,
    checkpoints: Arc<dyn Checkpoints>,
    max_records: Option<usize>,
    model: PhantomData<fn() -> M>,
}

impl<M: S3Model> Poller<M> {
    /// A poller of `M`'s table with a Streams client built from `client`'s configuration
    /// (same credentials, region and endpoint) and checkpoints in memory.
    pub fn new(client: &Client) -> Self {
        Self {
            client: client.clone(),
            streams: aws_sdk_dynamodbstreams::Client::new(client.sdk_config()),
            checkpoints: Arc::new(MemoryCheckpoints::default()),
            max_records: None,
            model: PhantomData,
        }
    }

    /// Uses this Streams client.
    pub fn streams_client(mut self, streams: aws_sdk_dynamodbstreams::Client) -> Self {
        self.streams = streams;
        self
    }

    /// Keeps the shards' positions in `checkpoints` (a store that outlives the process
    /// resumes a restarted poller where it stopped).
    pub fn checkpoints(mut self, checkpoints: impl Checkpoints + 'static) -> Self {
        self.checkpoints = Arc::new(checkpoints);
        self
    }

    /// Processes at most `records` records per [`drain`](Self::drain).
    pub fn max_records(mut self, records: usize) -> Self {
        self.max_records = Some(records);
        self
    }

    /// Processes every record the stream holds now, from each shard's checkpoint.
    pub async fn drain(&self) -> Result<DrainReport, StreamError> {
        let arn = self.stream_arn().await?;
        let shards = self.shards(&arn).await?;
        let mut report = DrainReport::default();
        for shard in lineage_order(shards) {
            let Some(id) = shard.shard_id() else { continue };
            if self.checkpoints.is_finished(id) {
                continue;
            }
            if self.drain_shard(&arn, id, &mut report).await? {
                report.limited = true;
                break;
            }
        }
        Ok(report)
    }

    /// The table's stream, after checking that it carries the old images the cascade needs.
    async fn stream_arn(&self) -> Result<String, StreamError> {
        let table = self.client.table_name::<M>();
        let described = self
            .client
            .dynamodb()
            .describe_table()
            .table_name(&table)
            .send()
            .await
            .map_err(|e| StreamError::service("DescribeTable", &table, e))?;
        let description = described.table();
        let view = description
            .and_then(|t| t.stream_specification())
            .filter(|s| s.stream_enabled())
            .and_then(|s| s.stream_view_type().cloned());
        match view {
            None => return Err(StreamError::NoStream { table }),
            Some(StreamViewType::NewAndOldImages | StreamViewType::OldImage) => {}
            Some(_) => {
                return Err(StreamError::Cascade(
                    dynox_s3::S3Error::StreamWithoutOldImages { table },
                ))
            }
        }
        description
            .and_then(|t| t.latest_stream_arn())
            .map(str::to_owned)
            .ok_or(StreamError::NoStream { table })
    }

    /// Every shard of the stream.
    async fn shards(&self, arn: &str) -> Result<Vec<Shard>, StreamError> {
        let mut shards = Vec::new();
        let mut start: Option<String> = None;
        loop {
            let page = self
                .streams
                .describe_stream()
                .stream_arn(arn)
                .set_exclusive_start_shard_id(start.take())
                .send()
                .await
                .map_err(|e| StreamError::service("DescribeStream", arn, e))?;
            let Some(description) = page.stream_description else {
                break;
            };
            shards.extend(description.shards.unwrap_or_default());
            match description.last_evaluated_shard_id {
                Some(last) => start = Some(last),
                None => break,
            }
        }
        Ok(shards)
    }

    /// Processes shard `id` from its checkpoint; returns whether the record limit stopped it.
    async fn drain_shard(
        &self,
        arn: &str,
        id: &str,
        report: &mut DrainReport,
    ) -> Result<bool, StreamError> {
        let position = self.checkpoints.position(id);
        let request = self
            .streams
            .get_shard_iterator()
            .stream_arn(arn)
            .shard_id(id);
        let request = match &position {
            Some(seq) => request
                .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                .sequence_number(seq),
            None => request.shard_iterator_type(ShardIteratorType::TrimHorizon),
        };
        let mut iterator = request
            .send()
            .await
            .map_err(|e| StreamError::service("GetShardIterator", id, e))?
            .shard_iterator;
        while let Some(current) = iterator {
            let page = self
                .streams
                .get_records()
                .shard_iterator(current)
                .limit(RECORDS_PER_REQUEST)
                .send()
                .await
                .map_err(|e| StreamError::service("GetRecords", id, e))?;
            let records = page.records.unwrap_or_default();
            iterator = page.next_shard_iterator;
            if records.is_empty() {
                if iterator.is_none() {
                    // Closed, and every record processed.
                    self.checkpoints.finish(id);
                }
                return Ok(false);
            }
            for record in &records {
                if self
                    .max_records
                    .is_some_and(|max| report.records.len() >= max)
                {
                    return Ok(true);
                }
                let Some(change) = change_record(record) else {
                    continue;
                };
                let outcome = dynox_s3::cascade::<M>(&self.client, &change).await?;
                let complete = outcome.is_complete();
                report.records.push(outcome);
                if !complete {
                    report.stopped_shards.push(id.to_owned());
                    return Ok(false);
                }
                self.checkpoints.advance(id, &change.sequence_number);
            }
        }
        self.checkpoints.finish(id);
        Ok(false)
    }
}

/// `shards` with every parent before its children.
fn lineage_order(shards: Vec<Shard>) -> Vec<Shard> {
    let ids: Vec<String> = shards
        .iter()
        .filter_map(|s| s.shard_id().map(str::to_owned))
        .collect();
    let mut placed: Vec<String> = Vec::new();
    let mut ordered = Vec::with_capacity(shards.len());
    let mut pending = shards;
    while !pending.is_empty() {
        let before = pending.len();
        let (ready, waiting): (Vec<Shard>, Vec<Shard>) = pending.into_iter().partition(|s| {
            s.parent_shard_id()
                .is_none_or(|p| !ids.iter().any(|i| i == p) || placed.iter().any(|i| i == p))
        });
        placed.extend(ready.iter().filter_map(|s| s.shard_id().map(str::to_owned)));
        ordered.extend(ready);
        pending = waiting;
        if pending.len() == before {
            // A cycle no stream has: keep the rest in the order listed.
            ordered.append(&mut pending);
        }
    }
    ordered
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shard(id: &str, parent: Option<&str>) -> Shard {
        Shard::builder()
            .shard_id(id)
            .set_parent_shard_id(parent.map(str::to_owned))
            .build()
    }

    #[test]
    fn parents_come_before_their_children() {
        let ordered = lineage_order(vec![
            shard("c2", Some("c1")),
            shard("c1", Some("root")),
            shard("other", Some("expired-parent")),
            shard("root", None),
        ]);
        let ids: Vec<&str> = ordered.iter().filter_map(|s| s.shard_id()).collect();
        assert_eq!(ids, ["other", "root", "c1", "c2"]);
    }

    #[test]
    fn checkpoints_are_shared_by_clones() {
        let a = MemoryCheckpoints::default();
        let b = a.clone();
        a.advance("s", "10");
        assert_eq!(b.position("s").as_deref(), Some("10"));
        assert!(!b.is_finished("s"));
        a.finish("s");
        assert!(b.is_finished("s"));
    }
}
