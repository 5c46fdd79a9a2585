//! `batch_get` (BatchGetItem, 100 keys a request) and `batch_write` (BatchWriteItem, 25 items a
//! request), with unprocessed keys and items resent under jittered exponential backoff, a
//! bound on attempts, and leftovers returned to the caller, never an endless loop.

use std::collections::HashMap;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::time::Duration;

use super::Traced;
use aws_sdk_dynamodb::types::{DeleteRequest, KeysAndAttributes, PutRequest, WriteRequest};
use futures::stream::{self, StreamExt};

use crate::error::{Error, InvalidRequestKind, Result};
use crate::files::FileStore;
use crate::item::Item;
use crate::model::{Key, Model};
use crate::projection::Projection;
use crate::Client;

/// A model that [`Client::batch_write`] accepts: one without file fields or a version.
/// `#[derive(DynamoModel)]` implements it for every model with neither `#[s3]` fields nor a
/// `#[dynamo(version)]` field. A batch write is unconditional, so it can neither check a
/// version nor carry the conditions that keep an item and its files consistent.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be batch-written: a batch write is unconditional, and `{Self}` has `#[s3]` file fields or a `#[dynamo(version)]` field",
    label = "a model with files or a version",
    note = "write these items with `client.save_all(&mut items)` (one conditional PutItem each, files included, in parallel) or `client.transact_write()` (all or nothing, up to 100 items)"
)]
pub trait BatchWritable: Model {}

/// BatchGetItem's limit on keys per request.
pub const BATCH_GET_SIZE: usize = 100;
/// BatchWriteItem's limit on items per request.
pub const BATCH_WRITE_SIZE: usize = 25;

/// How batches retry what DynamoDB left unprocessed.
#[derive(Debug, Clone, Copy)]
pub struct BatchRetry {
    /// Requests per chunk at most, the first included (default 8).
    pub max_attempts: u32,
    /// The first backoff (default 50 ms); it doubles each time, with full jitter.
    pub base_delay: Duration,
    /// The longest backoff (default 5 s).
    pub max_delay: Duration,
    /// Chunks in flight at once (default 4).
    pub concurrency: usize,
}

impl Default for BatchRetry {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            base_delay: Duration::from_millis(50),
            max_delay: Duration::from_secs(5),
            concurrency: 4,
        }
    }
}

impl BatchRetry {
    /// The wait before attempt `attempt` (2 and up): random in `[0, base × 2^(attempt-2)]`.
    fn delay(&self, attempt: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << (attempt.saturating_sub(2)).min(16))
            .min(self.max_delay);
        exp.mul_f64(jitter())
    }
}

/// A number in [0, 1) that differs between calls (for backoff jitter).
fn jitter() -> f64 {
    (super::random() >> 11) as f64 / (1u64 << 53) as f64
}

/// What a [`batch_get`](Client::batch_get) found.
#[derive(Debug)]
pub struct BatchGetOutput<M: Model> {
    /// The items found (missing keys are simply absent), in no particular order.
    pub items: Vec<M>,
    /// Keys DynamoDB still had not processed after every attempt.
    pub unprocessed: Vec<Key<M>>,
}

/// What a [`batch_write`](Client::batch_write) left undone.
#[derive(Debug)]
pub struct BatchWriteOutput<M: Model> {
    /// Items not written after every attempt.
    pub unprocessed_puts: Vec<M>,
    /// Keys not deleted after every attempt.
    pub unprocessed_deletes: Vec<Key<M>>,
}

impl<M: Model> BatchWriteOutput<M> {
    /// Whether everything was written.
    pub fn is_complete(&self) -> bool {
        self.unprocessed_puts.is_empty() && self.unprocessed_deletes.is_empty()
    }
}

/// A batch of unconditional puts and deletes: [`Client::batch_write`].
#[must_use = "a batch does nothing until sent"]
pub struct BatchWrite<'a, M: Model> {
    pub(crate) client: &'a Client,
    pub(crate) puts: Vec<M>,
    pub(crate) deletes: Vec<Key<M>>,
    pub(crate) retry: BatchRetry,
}

enum Op<M: Model> {
    Put(M),
    Delete(Key<M>),
}

impl<'a, M: BatchWritable> BatchWrite<'a, M> {
    /// Writes `item` (replacing any item with its key).
    pub fn put(mut self, item: M) -> Self {
        self.puts.push(item);
        self
    }

    /// Writes every item of `items`.
    pub fn put_all(mut self, items: impl IntoIterator<Item = M>) -> Self {
        self.puts.extend(items);
        self
    }

    /// Deletes the item with `key`.
    pub fn delete(mut self, key: Key<M>) -> Self {
        self.deletes.push(key);
        self
    }

    /// Retry settings.
    pub fn retry(mut self, retry: BatchRetry) -> Self {
        self.retry = retry;
        self
    }

    /// Sends the batch (what awaiting it does). Versioned models are refused: a batch write
    /// cannot check versions.
    async fn send(self) -> Result<BatchWriteOutput<M>> {
        let table = self.client.table_name::<M>();
        if M::VERSION.is_some() || <M::Files as FileStore<M>>::ENABLED {
            return Err(Error::InvalidRequest {
                kind: InvalidRequestKind::VersionedBatchWrite,
                reason: format!(
                    "table `{table}`: a versioned model cannot be batch-written (BatchWriteItem cannot check versions); use a transaction"
                ),
            });
        }
        let mut ops = Vec::with_capacity(self.puts.len() + self.deletes.len());
        let now = std::time::SystemTime::now();
        for mut item in self.puts {
            item.validate().map_err(|v| {
                crate::request::validation_error::<M>(&table, item.key().to_string(), v)
            })?;
            item.stamp(now);
            let attributes = item
                .to_item()
                .map_err(|e| super::field_error(&table, item.key().to_string(), e))?;
            let request = WriteRequest::builder()
                .put_request(
                    PutRequest::builder()
                        .set_item(Some(attributes))
                        .build()
                        .map_err(|e| Error::InvalidRequest {
                            kind: InvalidRequestKind::Build,
                            reason: e.to_string(),
                        })?,
                )
                .build();
            ops.push((request, Op::Put(item)));
        }
        for key in self.deletes {
            let key_item = key
                .to_item()
                .map_err(|e| super::field_error(&table, key.to_string(), e))?;
            let request = WriteRequest::builder()
                .delete_request(
                    DeleteRequest::builder()
                        .set_key(Some(key_item))
                        .build()
                        .map_err(|e| Error::InvalidRequest {
                            kind: InvalidRequestKind::Build,
                            reason: e.to_string(),
                        })?,
                )
                .build();
            ops.push((request, Op::Delete(key)));
        }
        let client = self.client;
        let retry = self.retry;
        let mut chunks: Vec<Vec<(WriteRequest, Op<M>)>> = Vec::new();
        for op in ops {
            match chunks.last_mut() {
                Some(chunk) if chunk.len() < BATCH_WRITE_SIZE => chunk.push(op),
                _ => chunks.push(vec![op]),
            }
        }
        let results: Vec<Result<Vec<Op<M>>>> = stream::iter(chunks)
            .map(|chunk| write_chunk(client, &table, chunk, retry))
            .buffer_unordered(retry.concurrency.max(1))
            .collect()
            .await;
        let mut out = BatchWriteOutput {
            unprocessed_puts: Vec::new(),
            unprocessed_deletes: Vec::new(),
        };
        for result in results {
            for op in result? {
                match op {
                    Op::Put(item) => out.unprocessed_puts.push(item),
                    Op::Delete(key) => out.unprocessed_deletes.push(key),
                }
            }
        }
        Ok(out)
    }
}

impl<'a, M: BatchWritable> IntoFuture for BatchWrite<'a, M> {
    type Output = Result<BatchWriteOutput<M>>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send + 'a>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

/// A batch read: [`Client::batch_get`]. Await it for the items found and the keys left
/// unprocessed.
#[must_use = "a batch does nothing until awaited"]
pub struct BatchGet<M: Model> {
    pub(crate) client: Client,
    pub(crate) keys: Vec<Key<M>>,
    pub(crate) retry: BatchRetry,
}

impl<M: Model> BatchGet<M> {
    /// Retry settings for keys DynamoDB leaves unprocessed (and the chunks read at once).
    pub fn retry(mut self, retry: BatchRetry) -> Self {
        self.retry = retry;
        self
    }
}

impl<M: Model> IntoFuture for BatchGet<M> {
    type Output = Result<BatchGetOutput<M>>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move { batch_get(&self.client, self.keys, self.retry).await })
    }
}

async fn write_chunk<M: Model>(
    client: &Client,
    table: &str,
    mut chunk: Vec<(WriteRequest, Op<M>)>,
    retry: BatchRetry,
) -> Result<Vec<Op<M>>> {
    for attempt in 1..=retry.max_attempts.max(1) {
        if attempt > 1 {
            tokio::time::sleep(retry.delay(attempt)).await;
        }
        let requests: Vec<WriteRequest> = chunk.iter().map(|(r, _)| r.clone()).collect();
        let output = client
            .dynamodb()
            .batch_write_item()
            .set_request_items(Some(HashMap::from([(table.to_owned(), requests)])))
            .set_return_consumed_capacity(client.capacity())
            .send()
            .traced(super::span("BatchWriteItem", table), client)
            .await
            .map_err(|e| super::sdk_error(e, "BatchWriteItem", table, String::new))?;
        let unprocessed = output
            .unprocessed_items
            .and_then(|mut u| u.remove(table))
            .unwrap_or_default();
        chunk.retain(|(request, _)| unprocessed.contains(request));
        if chunk.is_empty() {
            return Ok(Vec::new());
        }
    }
    Ok(chunk.into_iter().map(|(_, op)| op).collect())
}

/// A key a batch read sends: a model's [`Key`], or a collection's key of any of its models.
pub(crate) trait BatchKey: Clone + std::fmt::Display + Send + Sync + 'static {
    /// The key attributes.
    fn to_item(&self) -> std::result::Result<Item, crate::model::FieldError>;
}

impl<M: Model> BatchKey for Key<M> {
    fn to_item(&self) -> std::result::Result<Item, crate::model::FieldError> {
        Key::to_item(self)
    }
}

/// [`Client::batch_get`]: BatchGetItem in chunks of 100, `retry.concurrency` chunks at
/// once.
async fn batch_get<M: Model>(
    client: &Client,
    keys: Vec<Key<M>>,
    retry: BatchRetry,
) -> Result<BatchGetOutput<M>> {
    let (items, unprocessed) = batch_get_into::<M, M, _>(client, keys, retry).await?;
    Ok(BatchGetOutput { items, unprocessed })
}

/// A batch read of keys `K` from `M`'s table, items decoded into `P`: the items found and
/// the keys left unprocessed.
pub(crate) async fn batch_get_into<M: Model, P: Projection<M>, K: BatchKey>(
    client: &Client,
    keys: Vec<K>,
    retry: BatchRetry,
) -> Result<(Vec<P>, Vec<K>)> {
    let table = client.table_name::<M>();
    let keys: Vec<(Item, K)> = keys
        .into_iter()
        .map(|k| {
            k.to_item()
                .map(|item| (item, k.clone()))
                .map_err(|e| super::field_error(&table, k.to_string(), e))
        })
        .collect::<Result<_>>()?;
    let chunks: Vec<Vec<(Item, K)>> = keys.chunks(BATCH_GET_SIZE).map(<[_]>::to_vec).collect();
    let results: Vec<Result<(Vec<P>, Vec<K>)>> = stream::iter(chunks)
        .map(|chunk| get_chunk::<M, P, K>(client, &table, chunk, retry))
        .buffer_unordered(retry.concurrency.max(1))
        .collect()
        .await;
    let (mut items, mut unprocessed) = (Vec::new(), Vec::new());
    for result in results {
        let (found, left) = result?;
        items.extend(found);
        unprocessed.extend(left);
    }
    Ok((items, unprocessed))
}

async fn get_chunk<M: Model, P: Projection<M>, K: BatchKey>(
    client: &Client,
    table: &str,
    chunk: Vec<(Item, K)>,
    retry: BatchRetry,
) -> Result<(Vec<P>, Vec<K>)> {
    let mut pending: Vec<Item> = chunk.iter().map(|(item, _)| item.clone()).collect();
    let mut found = Vec::new();
    for attempt in 1..=retry.max_attempts.max(1) {
        if attempt > 1 {
            tokio::time::sleep(retry.delay(attempt)).await;
        }
        let request = KeysAndAttributes::builder()
            .set_keys(Some(pending.clone()))
            .consistent_read(true)
            .build()
            .map_err(|e| Error::InvalidRequest {
                kind: InvalidRequestKind::Build,
                reason: e.to_string(),
            })?;
        let output = client
            .dynamodb()
            .batch_get_item()
            .request_items(table, request)
            .set_return_consumed_capacity(client.capacity())
            .send()
            .traced(super::span("BatchGetItem", table), client)
            .await
            .map_err(|e| super::sdk_error(e, "BatchGetItem", table, String::new))?;
        let items = output
            .responses
            .and_then(|mut r| r.remove(table))
            .unwrap_or_default();
        for item in super::read::load::<M, P>(client, table, items, true).await? {
            found.push(item.map_err(|e| super::field_error(table, String::new(), e))?);
        }
        pending = output
            .unprocessed_keys
            .and_then(|mut u| u.remove(table))
            .map(|k| k.keys)
            .unwrap_or_default();
        if pending.is_empty() {
            return Ok((found, Vec::new()));
        }
    }
    let unprocessed = chunk
        .into_iter()
        .filter(|(item, _)| pending.contains(item))
        .map(|(_, key)| key)
        .collect();
    Ok((found, unprocessed))
}
