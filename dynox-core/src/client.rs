//! [`Client`]: the handle every operation goes through.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_types::SdkConfig;

use crate::model::{IntoKey, Key, Model};
use crate::ops::backfill::Backfill;
use crate::ops::batch::{BatchGet, BatchRetry, BatchWritable, BatchWrite};
use crate::ops::delete::{Unversioned, VersionChecked};
use crate::ops::save_all::{DeleteAll, SaveAll, BULK_CONCURRENCY};
use crate::{
    CreateTable, Delete, DeleteTable, Get, Query, Save, Scan, TransactGet, TransactWrite, Update,
};

/// A cheap-to-clone DynamoDB client for dynox models.
///
/// Built from one [`SdkConfig`], so credentials, region, endpoint, retries and timeouts come
/// from the standard AWS configuration chain. Cloning shares the underlying connection pool.
///
/// ```no_run
/// # async fn demo() {
/// let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
/// let client = dynox_core::Client::builder(&config).table_prefix("staging-").build();
/// # let _ = client;
/// # }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    dynamodb: aws_sdk_dynamodb::Client,
    sdk_config: SdkConfig,
    table_prefix: String,
    consumed_capacity: bool,
    extensions: Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
    memory: crate::protocol::Memory,
    limiter: Option<crate::rate_limit::Limiter>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("table_prefix", &self.inner.table_prefix)
            .field("region", &self.inner.sdk_config.region())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client with no table prefix.
    pub fn new(config: &SdkConfig) -> Self {
        Self::builder(config).build()
    }

    /// A builder for a client with options.
    pub fn builder(config: &SdkConfig) -> ClientBuilder {
        ClientBuilder {
            sdk_config: config.clone(),
            dynamodb: None,
            table_prefix: String::new(),
            consumed_capacity: false,
            extensions: HashMap::new(),
            remembered_items: crate::protocol::REMEMBERED_ITEMS,
            rate_limit: None,
        }
    }

    /// `ReturnConsumedCapacity` for every request: `TOTAL` when capacity is recorded or a
    /// rate limit charges it.
    pub(crate) fn capacity(&self) -> Option<aws_sdk_dynamodb::types::ReturnConsumedCapacity> {
        (self.inner.consumed_capacity || self.inner.limiter.is_some())
            .then_some(aws_sdk_dynamodb::types::ReturnConsumedCapacity::Total)
    }

    /// The client's rate limit state, if it has one.
    pub(crate) fn limiter(&self) -> Option<&crate::rate_limit::Limiter> {
        self.inner.limiter.as_ref()
    }

    /// The rates the client's [`rate_limit`](ClientBuilder::rate_limit) allows now (an
    /// adaptive limit moves with throttling), and the capacity charged beyond them; `None`
    /// without a limit.
    pub fn rate(&self) -> Option<crate::rate_limit::CurrentRate> {
        self.inner.limiter.as_ref().map(|l| l.current())
    }

    /// The table name of model `M`: the client's prefix followed by the model's table.
    pub fn table_name<M: Model>(&self) -> String {
        let mut name = String::with_capacity(self.inner.table_prefix.len() + M::TABLE.len());
        name.push_str(&self.inner.table_prefix);
        name.push_str(M::TABLE);
        name
    }

    /// The table prefix given to the builder (empty by default).
    pub fn table_prefix(&self) -> &str {
        &self.inner.table_prefix
    }

    /// The AWS configuration this client was built from (dynox-s3 builds its S3 client from
    /// the same configuration).
    pub fn sdk_config(&self) -> &SdkConfig {
        &self.inner.sdk_config
    }

    /// What this client remembers of stored items (`protocol/memory.rs`).
    pub(crate) fn memory(&self) -> &crate::protocol::Memory {
        &self.inner.memory
    }

    /// The underlying AWS SDK client, for operations dynox does not cover.
    pub fn dynamodb(&self) -> &aws_sdk_dynamodb::Client {
        &self.inner.dynamodb
    }

    /// The extension of type `T` given to [`ClientBuilder::extension`], or the one `init`
    /// makes on first use (then kept for every clone of this client). Companion crates keep
    /// their per-client state here (dynox-s3: its settings and S3 clients).
    #[doc(hidden)]
    pub fn extension<T: Extension>(&self, init: impl FnOnce(&Client) -> T) -> Arc<T> {
        let existing = self.extensions().get(&TypeId::of::<T>()).cloned();
        let value = match existing {
            Some(value) => value,
            None => {
                // Built outside the lock: `init` may itself look up other extensions.
                let made: Arc<dyn Any + Send + Sync> = Arc::new(init(self));
                self.extensions()
                    .entry(TypeId::of::<T>())
                    .or_insert(made)
                    .clone()
            }
        };
        match value.downcast::<T>() {
            Ok(v) => v,
            // The map is keyed by the value's own TypeId.
            Err(_) => unreachable!("extension stored under the wrong type"),
        }
    }

    fn extensions(&self) -> std::sync::MutexGuard<'_, HashMap<TypeId, Arc<dyn Any + Send + Sync>>> {
        // A panic while holding this lock cannot leave the map inconsistent: recover it.
        self.inner
            .extensions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Per-client settings or state of a companion crate (dynox-s3's `S3Settings`), kept by the
/// client and found again by its type. Implemented by the companion crates for their own
/// types; not for applications.
#[doc(hidden)]
pub trait Extension: Any + Send + Sync {}

/// The settings [`ClientBuilder::s3`] takes: `dynox::S3Settings` (dynox-s3 implements it for
/// its settings type, and nothing else does).
pub trait FileSettings: Extension {}

/// Options for a [`Client`].
#[must_use]
pub struct ClientBuilder {
    sdk_config: SdkConfig,
    dynamodb: Option<aws_sdk_dynamodb::Client>,
    table_prefix: String,
    consumed_capacity: bool,
    extensions: HashMap<TypeId, Arc<dyn Any + Send + Sync>>,
    remembered_items: usize,
    rate_limit: Option<crate::rate_limit::RateLimit>,
}

impl ClientBuilder {
    /// A prefix put before every table name, e.g. `"dev-"` for per-environment tables.
    pub fn table_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.table_prefix = prefix.into();
        self
    }

    /// Ask DynamoDB for the capacity each request consumes and record it (in capacity
    /// units, summed over tables and indexes) as `aws.dynamodb.consumed_capacity` on the
    /// request's `dynamodb` tracing span. Off by default.
    ///
    /// ```no_run
    /// # async fn demo() {
    /// # let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    /// let client = dynox_core::Client::builder(&config).consumed_capacity(true).build();
    /// # let _ = client;
    /// # }
    /// ```
    pub fn consumed_capacity(mut self, record: bool) -> Self {
        self.consumed_capacity = record;
        self
    }

    /// Limits the capacity units per second that every operation of the client (and of its
    /// clones) consumes together, fixed or adapting to throttling: see
    /// [`RateLimit`](crate::RateLimit). Requests then ask for their consumed capacity, which
    /// the limit charges.
    pub fn rate_limit(mut self, limit: crate::rate_limit::RateLimit) -> Self {
        self.rate_limit = Some(limit);
        self
    }

    /// How many items with file fields the client remembers the stored file references of
    /// ([`REMEMBERED_ITEMS`](crate::REMEMBERED_ITEMS) by default; least recently used first
    /// out). An item read through the client (get, query and scan of the table, batch and
    /// transactional gets), or written by it, is remembered: its next save or delete writes on
    /// condition that the item still holds those references, in one request, instead of
    /// reading them first. If another writer changed them, the refused condition carries the
    /// stored item back and the write is planned again from it, so a stale memory costs the
    /// request it was meant to save (a refused write consumes write capacity) and nothing
    /// else. An item the client does not remember is read first, unless it looks new (version
    /// 0 and no stored file): then it is written on condition that it holds no file.
    /// `0` remembers nothing.
    ///
    /// ```no_run
    /// # async fn demo() {
    /// # let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    /// let client = dynox_core::Client::builder(&config).remembered_items(100_000).build();
    /// # let _ = client;
    /// # }
    /// ```
    pub fn remembered_items(mut self, items: usize) -> Self {
        self.remembered_items = items;
        self
    }

    /// Use this DynamoDB client instead of one built from the configuration (for custom
    /// interceptors or HTTP clients). dynox sends through a copy of it with one more
    /// interceptor of its own, which counts the SDK's attempts of each conditional write
    /// (so a refusal of a retry is not taken for a refusal of the write); the copy shares
    /// the client's connection pool.
    pub fn dynamodb_client(mut self, client: aws_sdk_dynamodb::Client) -> Self {
        self.dynamodb = Some(client);
        self
    }

    /// The settings of file fields (`dynox::S3Settings`: buckets per environment, named S3
    /// clients, multipart sizes and concurrency, ...), e.g.
    /// `Client::builder(&config).s3(S3Settings::default().bucket("docs", "docs-staging"))`
    /// (an example that runs is on `S3Settings`). Without them, defaults apply.
    pub fn s3(self, settings: impl FileSettings) -> Self {
        self.extension(settings)
    }

    /// State of a companion crate, found again by its type (dynox-s3 keeps its S3 clients
    /// here). Applications use the typed methods ([`s3`](Self::s3)).
    #[doc(hidden)]
    pub fn extension<T: Extension>(mut self, value: T) -> Self {
        self.extensions.insert(TypeId::of::<T>(), Arc::new(value));
        self
    }

    /// Builds the client.
    pub fn build(self) -> Client {
        // Every client dynox sends through counts the attempts of its conditional writes
        // (`protocol::Attempts`): one interceptor for the client, none per request.
        let config = match &self.dynamodb {
            Some(client) => client.config().to_builder(),
            None => aws_sdk_dynamodb::config::Builder::from(&self.sdk_config),
        };
        let dynamodb = aws_sdk_dynamodb::Client::from_conf(
            config.interceptor(crate::protocol::CountAttempts).build(),
        );
        Client {
            inner: Arc::new(Inner {
                dynamodb,
                sdk_config: self.sdk_config,
                table_prefix: self.table_prefix,
                consumed_capacity: self.consumed_capacity,
                extensions: Mutex::new(self.extensions),
                memory: crate::protocol::Memory::new(self.remembered_items),
                limiter: self.rate_limit.map(crate::rate_limit::Limiter::new),
            }),
        }
    }
}

/// The operations: every method that reads or writes items, in the order a reader meets
/// them (single items, queries and scans, transactions, bulk and batch operations, tables).
/// Each returns a builder that is awaited; the builders live in `ops/`.
impl Client {
    /// Writes `item`, replacing any item with the same key (PutItem).
    ///
    /// Takes `&mut` because file fields change state: pending uploads become stored objects.
    pub fn save<'a, M: Model>(&'a self, item: &'a mut M) -> Save<'a, M> {
        Save::new(self, item, false)
    }

    /// Writes only the attributes of `item` that changed since it was loaded (or last
    /// saved): an UpdateItem that sets and removes them, on condition that the item still
    /// exists, under the same conditions as [`save`](Self::save) (the version, the files it
    /// replaces or clears, and the caller's own). Two writers changing different fields of a
    /// model without `#[dynamo(version)]` keep both changes (with one, the second gets
    /// [`Error::VersionConflict`](crate::Error::VersionConflict), as with `save`); attributes
    /// the model does not know are left alone. File fields go through the same steps as in a
    /// full save: new files are uploaded first, replaced ones deleted (or retained, or kept)
    /// after the commit; a file or overflow field the save does not change is left as stored,
    /// even if another writer replaced it since.
    ///
    /// Nothing changed: nothing is sent (no timestamp, no version, not even the caller's
    /// condition); the save's hooks still run. Refused without writing anything: an item whose
    /// key changed, or whose loaded state is unknown
    /// ([`InvalidRequestKind::Tracking`](crate::InvalidRequestKind::Tracking)), and one
    /// deleted since it was loaded ([`Error::ConditionFailed`](crate::Error::ConditionFailed),
    /// or `VersionConflict` for a versioned model). Once the write committed (even if a
    /// cleanup after it failed), the tracked state is the saved one.
    ///
    /// DynamoDB bills a write by the size of the whole item, not of the request: a partial
    /// save sends fewer bytes but costs the same write capacity.
    ///
    /// ```no_run
    /// # use dynox_core::{Client, DynamoModel, Tracked};
    /// # #[derive(DynamoModel)] #[dynamo(table = "docs")]
    /// # struct Doc { #[dynamo(hash_key)] id: String, title: String, body: String }
    /// # async fn demo(client: &Client) -> dynox_core::Result<()> {
    /// let mut doc = Tracked::new(client.get(Doc::key_of("d1")).await?.expect("stored"));
    /// doc.title = "Renamed".into();
    /// client.save_changes(&mut doc).await?; // another writer's new `body` is kept
    /// # Ok(()) }
    /// ```
    pub fn save_changes<'a, M: Model>(&'a self, item: &'a mut crate::Tracked<M>) -> Save<'a, M> {
        let crate::Tracked { item, loaded } = item;
        Save::new(self, item, false).tracking(loaded)
    }

    /// Writes `item` only if no item has its key; otherwise fails with
    /// [`Error::AlreadyExists`](crate::Error::AlreadyExists).
    pub fn create<'a, M: Model>(&'a self, item: &'a mut M) -> Save<'a, M> {
        Save::new(self, item, true)
    }

    /// Reads the item with `key`, or `None`.
    pub fn get<M: Model>(&self, key: Key<M>) -> Get<M> {
        Get::new(self, key)
    }

    /// Deletes the item with `key`. For a model with `#[dynamo(version)]`, say which version
    /// the delete expects before awaiting it (see [`Delete`]).
    pub fn delete<M: Model>(&self, key: Key<M>) -> Delete<M> {
        Delete::new(self, key)
    }

    /// Deletes `item` (by its key); for models with `#[dynamo(version)]`, only if the stored
    /// item is still at `item`'s version ([`Error::VersionConflict`](crate::Error::VersionConflict) otherwise).
    pub fn delete_item<M: Model>(&self, item: &M) -> Delete<M, VersionChecked> {
        let delete = Delete::new(self, item.key());
        match M::VERSION {
            Some(_) => delete.expect_version(item.version()),
            None => delete.any_version(),
        }
    }

    /// Updates some attributes of the item with `key` (UpdateItem).
    pub fn update<M: Model>(&self, key: Key<M>) -> Update<M> {
        Update::new(self, key)
    }

    /// Scans model `M`'s whole table.
    pub fn scan<M: Model>(&self) -> Scan<M> {
        Scan::new(self)
    }

    /// A backfill of model `M`: a typed change applied to every item by a parallel scan,
    /// resumable from a checkpoint, with a dry run and a report ([`Backfill`]).
    pub fn backfill<M: Model>(&self) -> Backfill<M> {
        Backfill::new(self)
    }

    /// Queries the items with hash key `hash`.
    pub fn query<M: Model>(&self, hash: impl IntoKey<M::HashKey>) -> Query<M> {
        Query::new(self, hash.into_key())
    }

    /// A transaction: saves, creates, deletes and checks across models, all or nothing
    /// (TransactWriteItems, up to 100 items), file fields included.
    pub fn transact_write(&self) -> TransactWrite<'_> {
        TransactWrite::new(self)
    }

    /// A read transaction: up to 100 items of any models, read as one consistent snapshot
    /// (TransactGetItems).
    pub fn transact_get(&self) -> TransactGet<'_> {
        TransactGet::new(self)
    }

    /// Creates model `M`'s table from its definition and waits until it is active. `M` may
    /// be a tuple of the models sharing one table (`create_table::<(Customer, Order)>()`):
    /// the table gets the union of their indexes ([`TableModels`](crate::TableModels)).
    pub fn create_table<M: crate::TableModels>(&self) -> CreateTable<M> {
        CreateTable::new(self)
    }

    /// Deletes model `M`'s table and waits until it is gone.
    pub fn delete_table<M: Model>(&self) -> DeleteTable<M> {
        DeleteTable::new(self)
    }

    /// Reads the items with `keys` (BatchGetItem in chunks of 100, at most 4 chunks at once;
    /// [`retry`](BatchGet::retry) changes both and the retries of unprocessed keys).
    pub fn batch_get<M: Model>(&self, keys: impl IntoIterator<Item = Key<M>>) -> BatchGet<M> {
        BatchGet {
            client: self.clone(),
            keys: keys.into_iter().collect(),
            retry: BatchRetry::default(),
        }
    }

    /// Writes and deletes items of a model without file fields in batches (BatchWriteItem, 25
    /// a request, unconditional). Models with `#[s3]` fields do not compile here (see
    /// [`BatchWritable`]): a batch write cannot carry the conditions their consistency needs;
    /// use [`save_all`](Client::save_all) or [`transact_write`](Client::transact_write).
    pub fn batch_write<M: BatchWritable>(&self) -> BatchWrite<'_, M> {
        BatchWrite {
            client: self,
            puts: Vec::new(),
            deletes: Vec::new(),
            retry: BatchRetry::default(),
        }
    }

    /// Saves every item of `items` (as [`save`](Client::save) does, one PutItem each, files
    /// included), at most [`BULK_CONCURRENCY`] at once unless
    /// [`concurrency`](SaveAll::concurrency) says otherwise. Resolves to one result per item,
    /// in order.
    ///
    /// ```
    /// # use dynox_core::{Client, DynamoModel};
    /// #[derive(Debug, DynamoModel)]
    /// #[dynamo(table = "events")]
    /// struct Event {
    ///     #[dynamo(hash_key)]
    ///     id: u64,
    ///     name: String,
    /// }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let servers = dynox_local::LocalServers::start().await?;
    /// # let client = Client::new(servers.sdk_config());
    /// # client.create_table::<Event>().await?;
    /// let mut events: Vec<Event> = (0..50).map(|id| Event { id, name: format!("e{id}") }).collect();
    /// let results = client.save_all(&mut events).concurrency(8).await;
    /// assert!(results.iter().all(Result::is_ok));
    ///
    /// let results = client.delete_all((0..50).map(Event::key_of)).await;
    /// assert_eq!(results.len(), 50);
    /// # Ok(()) }
    /// ```
    pub fn save_all<'a, M: Model>(&'a self, items: &'a mut [M]) -> SaveAll<'a, M> {
        SaveAll {
            client: self,
            items,
            concurrency: BULK_CONCURRENCY,
        }
    }

    /// Deletes the item of every key (as `Model::delete` does: the item, then its files), at
    /// most [`BULK_CONCURRENCY`] at once unless [`concurrency`](DeleteAll::concurrency) says
    /// otherwise. Resolves to one result per key, in order. See [`save_all`](Client::save_all)
    /// for an example.
    pub fn delete_all<M: Unversioned>(
        &self,
        keys: impl IntoIterator<Item = Key<M>>,
    ) -> DeleteAll<M> {
        DeleteAll {
            client: self.clone(),
            keys: keys.into_iter().collect(),
            concurrency: BULK_CONCURRENCY,
        }
    }
}
