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
use dynox_s3::{FileModels, RecordReport};
use futures::StreamExt;

use crate::convert::change_record;
use crate::error::StreamError;

/// Records read per GetRecords request (the Streams API's maximum).
const RECORDS_PER_REQUEST: i32 = 1000;

/// Records of one page whose objects are checked and deleted at once.
const CASCADE_CONCURRENCY: usize = 16;

/// Where each shard's processing stands, kept between runs (and processes): the last
/// sequence number whose record was fully processed, and which closed shards are done.
///
/// [`MemoryCheckpoints`] lasts as long as the process; [`FileCheckpoints`] survives restarts.
/// A store whose write fails stops the poller ([`StreamError::Checkpoint`]).
pub trait Checkpoints: Send + Sync {
    /// The last processed sequence number of `shard`.
    fn position(&self, shard: &str) -> Option<String>;
    /// Records that `shard`'s record `sequence_number` was processed.
    fn advance(&self, shard: &str, sequence_number: &str) -> std::io::Result<()>;
    /// Whether `shard` is closed and every record of it processed.
    fn is_finished(&self, shard: &str) -> bool;
    /// Records that `shard` is closed and every record of it processed.
    fn finish(&self, shard: &str) -> std::io::Result<()>;
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

    fn advance(&self, shard: &str, sequence_number: &str) -> std::io::Result<()> {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(shard.to_owned()).or_default().0 = Some(sequence_number.to_owned());
        Ok(())
    }

    fn is_finished(&self, shard: &str) -> bool {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.get(shard).is_some_and(|(_, done)| *done)
    }

    fn finish(&self, shard: &str) -> std::io::Result<()> {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(shard.to_owned()).or_default().1 = true;
        Ok(())
    }
}

/// [`Checkpoints`] in a file, rewritten (to a temporary file, then renamed over it) after
/// every change, so a restarted poller resumes where the last one stopped. One line per
/// shard: its id, the last processed sequence number (or `-`), and `done` once finished.
#[derive(Debug)]
pub struct FileCheckpoints {
    path: std::path::PathBuf,
    state: MemoryCheckpoints,
    /// Serialises writes of the file.
    write: Mutex<()>,
}

impl FileCheckpoints {
    /// The checkpoints in the file at `path`, which need not exist yet.
    pub fn open(path: impl Into<std::path::PathBuf>) -> std::io::Result<Self> {
        let path = path.into();
        let state = MemoryCheckpoints::default();
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.is_empty()) {
                    let fields: Vec<&str> = line.split('\t').collect();
                    let [shard, seq, done] = fields[..] else {
                        return Err(std::io::Error::new(
                            std::io::ErrorKind::InvalidData,
                            format!(
                                "{}: line {} is not `shard<TAB>sequence<TAB>state`",
                                path.display(),
                                n + 1
                            ),
                        ));
                    };
                    if seq != "-" {
                        state.advance(shard, seq)?;
                    }
                    if done == "done" {
                        state.finish(shard)?;
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        Ok(Self {
            path,
            state,
            write: Mutex::new(()),
        })
    }

    fn persist(&self) -> std::io::Result<()> {
        let _guard = self.write.lock().unwrap_or_else(|p| p.into_inner());
        let text: String = {
            let map = self.state.0.lock().unwrap_or_else(|p| p.into_inner());
            let mut shards: Vec<_> = map.iter().collect();
            shards.sort_by(|a, b| a.0.cmp(b.0));
            shards
                .into_iter()
                .map(|(shard, (seq, done))| {
                    let state = if *done { "done" } else { "open" };
                    format!("{shard}\t{}\t{state}\n", seq.as_deref().unwrap_or("-"))
                })
                .collect()
        };
        let mut temporary = self.path.clone().into_os_string();
        temporary.push(".tmp");
        std::fs::write(&temporary, text)?;
        std::fs::rename(&temporary, &self.path)
    }
}

impl Checkpoints for FileCheckpoints {
    fn position(&self, shard: &str) -> Option<String> {
        self.state.position(shard)
    }

    fn advance(&self, shard: &str, sequence_number: &str) -> std::io::Result<()> {
        self.state.advance(shard, sequence_number)?;
        self.persist()
    }

    fn is_finished(&self, shard: &str) -> bool {
        self.state.is_finished(shard)
    }

    fn finish(&self, shard: &str) -> std::io::Result<()> {
        self.state.finish(shard)?;
        self.persist()
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

/// Runs the file cascade of model `M` (or of the models of a tuple sharing a table, each record
/// to the model of its entity type) over its table's stream through the Streams API.
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

impl<M: FileModels> Poller<M> {
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

    /// Processes the stream's records from each shard's checkpoint: closed shards to their
    /// end, open shards until a read returns no record (the Streams API may return an empty
    /// page before later records; the next `drain` goes on from the checkpoint, so run it in
    /// a loop).
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
        let table = self.client.table_name::<M::Table>();
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
                return Err(StreamError::Cascade(dynox_core::Error::S3(
                    dynox_s3::S3Error::StreamWithoutOldImages { table },
                )))
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
                    self.checkpoints.finish(id).map_err(checkpoint(id))?;
                }
                return Ok(false);
            }
            let room = self
                .max_records
                .map_or(usize::MAX, |max| max.saturating_sub(report.records.len()));
            let limited = records.len() > room;
            // The page's records are cascaded CASCADE_CONCURRENCY at a time (their objects are
            // distinct and deletes are idempotent), and their outcomes taken in stream order:
            // the checkpoint only ever moves over a prefix of completed records. Records after
            // one that did not complete may have run; they are replayed, harmlessly.
            let changes: Vec<_> = records
                .iter()
                .take(room)
                .filter_map(change_record)
                .collect();
            let mut outcomes = futures::stream::iter(changes)
                .map(|change| cascade_one::<M>(&self.client, change))
                .buffered(CASCADE_CONCURRENCY);
            while let Some((outcome, sequence_number)) = outcomes.next().await {
                let outcome = outcome?;
                let complete = outcome.is_complete();
                report.records.push(outcome);
                if !complete {
                    report.stopped_shards.push(id.to_owned());
                    return Ok(false);
                }
                self.checkpoints
                    .advance(id, &sequence_number)
                    .map_err(checkpoint(id))?;
            }
            if limited {
                return Ok(true);
            }
        }
        self.checkpoints.finish(id).map_err(checkpoint(id))?;
        Ok(false)
    }
}

/// The cascade of one record, with the record's sequence number.
async fn cascade_one<M: FileModels>(
    client: &Client,
    change: dynox_core::stream::ChangeRecord,
) -> (dynox_core::Result<RecordReport>, String) {
    let outcome = dynox_s3::cascade::<M>(client, &change).await;
    (outcome, change.sequence_number)
}

/// The error of a checkpoint of `shard` that could not be stored.
fn checkpoint(shard: &str) -> impl FnOnce(std::io::Error) -> StreamError + '_ {
    move |source| StreamError::Checkpoint {
        shard: shard.to_owned(),
        source,
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
        a.advance("s", "10").unwrap();
        assert_eq!(b.position("s").as_deref(), Some("10"));
        assert!(!b.is_finished("s"));
        a.finish("s").unwrap();
        assert!(b.is_finished("s"));
    }

    #[test]
    fn file_checkpoints_survive_a_restart_and_refuse_a_garbled_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cascade.checkpoints");
        {
            let first = FileCheckpoints::open(&path).unwrap();
            assert_eq!(first.position("shard-1"), None);
            first.advance("shard-1", "100").unwrap();
            first.advance("shard-1", "200").unwrap();
            first.finish("shard-0").unwrap();
        }
        let restarted = FileCheckpoints::open(&path).unwrap();
        assert_eq!(restarted.position("shard-1").as_deref(), Some("200"));
        assert!(!restarted.is_finished("shard-1"));
        assert!(restarted.is_finished("shard-0"));

        std::fs::write(&path, "only-a-shard-id\n").unwrap();
        let error = FileCheckpoints::open(&path).unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidData);
        assert!(error.to_string().contains("line 1"), "{error}");
    }
}
