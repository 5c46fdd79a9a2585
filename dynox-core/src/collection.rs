//! Typed collections: the items of several entity types that share a table, read together as
//! one enum (`#[derive(DynamoCollection)]`).
//!
//! In a single-table design one partition holds a customer, its orders and its invoices. A
//! collection reads them in one Query (or one BatchGetItem) and hands each back as the variant
//! of its model, chosen by the item's entity-type attribute. An item of a type the enum does
//! not list goes to its `#[dynamo(other)]` variant (the raw item), or, without one, fails the
//! read with [`Error::ForeignEntity`](crate::Error::ForeignEntity): never dropped, never
//! decoded as the wrong model. A variant holds a model or a partial type of one
//! ([`Variant`](crate::Variant)); when every variant holds a partial type, reads ask only for
//! their attributes and the entity attribute.
//!
//! ```no_run
//! # use dynox_core::{Client, DynamoCollection, DynamoModel};
//! #[derive(DynamoModel)]
//! #[dynamo(table = "shop", entity = "Customer", pk = "CUSTOMER#{id}", sk = "PROFILE")]
//! struct Customer { id: String, name: String }
//!
//! #[derive(DynamoModel)]
//! #[dynamo(table = "shop", entity = "Order", pk = "CUSTOMER#{customer_id}", sk = "ORDER#{order_id}")]
//! struct Order { customer_id: String, order_id: u64, total_cents: u64 }
//!
//! #[derive(DynamoCollection)]
//! enum CustomerItems {
//!     Customer(Customer),
//!     Order(Order),
//! }
//!
//! # async fn demo(client: &Client) -> dynox_core::Result<()> {
//! for item in CustomerItems::query(client, Customer::partition("c-1")).await? {
//!     match item {
//!         CustomerItems::Customer(c) => println!("{}", c.name),
//!         CustomerItems::Order(o) => println!("order {}: {}", o.order_id, o.total_cents),
//!     }
//! }
//! # Ok(()) }
//! ```

use std::fmt;
use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;

use futures::future::BoxFuture;

use crate::error::Result;
use crate::item::{AttributeError, AttributeValue, Item};
use crate::model::{FieldError, IntoKey, Key, KeyAttribute, Model};
use crate::ops::batch::BatchRetry;
use crate::ops::query::Query;
use crate::projection::Projection;
use crate::schema::IndexSchema;
use crate::Client;

/// An enum over models that share a table, each variant holding one model
/// (`#[derive(DynamoCollection)]`). Reads dispatch each item to its variant by the entity
/// type it records.
///
/// The derive checks at compile time that every variant's model shares the first one's table
/// and entity attribute, declares an entity type, and that no two declare the same one.
pub trait Collection: Sized + Send + 'static {
    /// The first variant's model: the collection reads its table.
    type Table: Model;
    /// The collection's model variants, as an error about an item of an unlisted entity type
    /// names them (`` `Customer`, `Order` ``).
    const ENTITIES: &'static str;
}

/// Collection `Self` has a variant holding model `M`: keys and partitions of `M` read into it.
/// The derive implements it for each variant's model.
#[diagnostic::on_unimplemented(
    message = "`{M}` is not one of the models of collection `{Self}`",
    label = "not a model of `{Self}`",
    note = "add a variant holding `{M}` to `{Self}`, or read `{M}` with its own methods"
)]
pub trait Member<M: Model>: Collection + Projection<M> {}

/// How one item read is prepared and decoded into `P`: its model's remembered file state and
/// overflow values, then its fields. A model and its partial types use the model's; a
/// collection picks one by each item's entity type.
#[doc(hidden)]
pub struct Reader<P> {
    /// Records the item's stored file state (for a later save of the value read).
    pub(crate) remember: fn(&Client, &str, &Item),
    /// Puts back the values of the item's overflow fields kept in S3.
    pub(crate) inflate: Inflate,
    /// Decodes the item.
    pub(crate) decode: fn(Item) -> std::result::Result<P, FieldError>,
}

/// `ops::inflate` of one model.
pub(crate) type Inflate =
    for<'c> fn(&'c Client, &'c str, &'c mut Item) -> BoxFuture<'c, Result<()>>;

impl<P> Clone for Reader<P> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<P> Copy for Reader<P> {}

impl<P> Reader<P> {
    /// Reads items as model `M`, decoded by `decode`.
    pub fn of<M: Model>(decode: fn(Item) -> std::result::Result<P, FieldError>) -> Self {
        Self {
            remember: remember::<M>,
            inflate: inflate::<M>,
            decode,
        }
    }

    /// Decodes `item` (prepared as this reader says).
    pub fn decode(&self, item: Item) -> std::result::Result<P, FieldError> {
        (self.decode)(item)
    }

    /// Takes items as they are (the raw item of an entity type a collection does not list).
    pub fn raw(decode: fn(Item) -> std::result::Result<P, FieldError>) -> Self {
        Self {
            remember: |_, _, _| {},
            inflate: |_, _, _| Box::pin(async { Ok(()) }),
            decode,
        }
    }
}

fn remember<M: Model>(client: &Client, table: &str, item: &Item) {
    client
        .memory()
        .remember_all::<M>(table, std::slice::from_ref(item));
}

fn inflate<'c, M: Model>(
    client: &'c Client,
    table: &'c str,
    item: &'c mut Item,
) -> BoxFuture<'c, Result<()>> {
    Box::pin(crate::inflate::inflate::<M>(client, table, item))
}

/// The entity type `M` records (`""` for a model that declares none).
#[doc(hidden)]
pub const fn entity_name<M: Model>() -> &'static str {
    match M::ENTITY {
        Some(entity) => entity.name,
        None => "",
    }
}

/// The attribute `M` records its entity type in (`""` for a model that declares none).
#[doc(hidden)]
pub const fn entity_attribute<M: Model>() -> &'static str {
    match M::ENTITY {
        Some(entity) => entity.attribute,
        None => "",
    }
}

/// The entity type `item` records in `attribute`, if it records one as a string.
#[doc(hidden)]
pub fn item_entity<'i>(item: &'i Item, attribute: &str) -> Option<&'i str> {
    match item.get(attribute) {
        Some(AttributeValue::S(name)) => Some(name),
        _ => None,
    }
}

/// Whether two strings are equal, in a constant (the derive's compile-time checks).
#[doc(hidden)]
pub const fn same_str(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The refusal of an item whose entity type collection `C` does not list.
#[doc(hidden)]
pub fn unknown_entity<C: Collection>(attribute: &'static str, item: &Item) -> FieldError {
    FieldError {
        field: attribute,
        error: AttributeError::ForeignEntity {
            expected: C::ENTITIES,
            found: match item.get(attribute) {
                Some(AttributeValue::S(found)) => Some(found.clone()),
                _ => None,
            },
        },
    }
}

/// One partition of model `M`'s table, or of one of its indexes (`R` is its sort key): what
/// a collection queries. Made by the derive (`Customer::partition(id)`,
/// `Order::partition_gsi1(status)` for a templated index), by [`Partition::of`] for a model
/// keyed by its own fields, or by [`Index::partition`](crate::Index::partition).
pub struct Partition<M, R = <M as Model>::RangeKey> {
    pub(crate) index: Option<&'static IndexSchema>,
    pub(crate) hash_name: &'static str,
    pub(crate) hash: std::result::Result<AttributeValue, AttributeError>,
    /// The hash key value as the user gave it, for errors.
    pub(crate) hash_debug: String,
    pub(crate) range_name: Option<&'static str>,
    marker: PhantomData<fn() -> (M, R)>,
}

impl<M, R> fmt::Debug for Partition<M, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Partition")
            .field("index", &self.index.map(|i| i.name))
            .field(self.hash_name, &self.hash_debug)
            .finish()
    }
}

impl<M: Model> Partition<M> {
    /// The partition of `M`'s table whose hash key is `hash`.
    pub fn of(hash: impl IntoKey<M::HashKey>) -> Self {
        let hash = hash.into_key();
        Self::new(
            None,
            M::SCHEMA.hash.name,
            hash.to_key_attribute(),
            format!("{hash:?}"),
            M::SCHEMA.range.map(|r| r.name),
        )
    }
}

impl<M, R> Partition<M, R> {
    pub(crate) fn new(
        index: Option<&'static IndexSchema>,
        hash_name: &'static str,
        hash: std::result::Result<AttributeValue, AttributeError>,
        hash_debug: String,
        range_name: Option<&'static str>,
    ) -> Self {
        Self {
            index,
            hash_name,
            hash,
            hash_debug,
            range_name,
            marker: PhantomData,
        }
    }

    /// The partition of `index` whose hash key is `hash` (generated code).
    #[doc(hidden)]
    pub fn on_index<H: KeyAttribute>(index: &'static IndexSchema, hash: H) -> Self {
        Self::new(
            Some(index),
            index.hash.name,
            hash.to_key_attribute(),
            format!("{hash:?}"),
            index.range.map(|r| r.name),
        )
    }

    /// `hash = "value"` (and the index): the partition, as errors name it.
    pub(crate) fn describe(&self) -> String {
        match self.index {
            Some(index) => format!(
                "{} = {} on index `{}`",
                self.hash_name, self.hash_debug, index.name
            ),
            None => format!("{} = {}", self.hash_name, self.hash_debug),
        }
    }
}

/// Queries `partition` for the items of every entity type, decoded into collection `C`
/// (generated `CustomerItems::query`).
#[doc(hidden)]
pub fn query<C, M, R>(client: &Client, partition: Partition<M, R>) -> Query<M, R, C>
where
    C: Member<M>,
    M: Model,
{
    Query::from_partition(client, partition)
}

/// The key of an item of one of collection `C`'s models: [`Key`] of any of them converts
/// into it (`Customer::key_of("c-1").into()`).
pub struct CollectionKey<C> {
    item: std::result::Result<Item, FieldError>,
    text: String,
    marker: PhantomData<fn() -> C>,
}

impl<C> Clone for CollectionKey<C> {
    fn clone(&self) -> Self {
        Self {
            item: self.item.clone(),
            text: self.text.clone(),
            marker: PhantomData,
        }
    }
}

impl<C> fmt::Debug for CollectionKey<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl<C> fmt::Display for CollectionKey<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl<C: Member<M>, M: Model> From<Key<M>> for CollectionKey<C> {
    fn from(key: Key<M>) -> Self {
        Self {
            item: key.to_item(),
            text: key.to_string(),
            marker: PhantomData,
        }
    }
}

impl<C: 'static> crate::ops::batch::BatchKey for CollectionKey<C> {
    fn to_item(&self) -> std::result::Result<Item, FieldError> {
        self.item.clone()
    }
}

/// A batch read of items of several of collection `C`'s entity types (generated
/// `CustomerItems::batch_get`): BatchGetItem in chunks of 100, each item decoded into its
/// variant. Await it.
#[must_use = "a batch does nothing until awaited"]
pub struct CollectionBatchGet<C> {
    client: Client,
    keys: Vec<CollectionKey<C>>,
    retry: BatchRetry,
}

/// What a [`CollectionBatchGet`] found.
#[derive(Debug)]
pub struct CollectionBatchGetOutput<C> {
    /// The items found (missing keys are simply absent), in no particular order.
    pub items: Vec<C>,
    /// Keys DynamoDB still had not processed after every attempt.
    pub unprocessed: Vec<CollectionKey<C>>,
}

/// Reads the items with `keys`, of any of `C`'s models (generated `CustomerItems::batch_get`).
#[doc(hidden)]
pub fn batch_get<C: Collection>(
    client: &Client,
    keys: impl IntoIterator<Item = CollectionKey<C>>,
) -> CollectionBatchGet<C> {
    CollectionBatchGet {
        client: client.clone(),
        keys: keys.into_iter().collect(),
        retry: BatchRetry::default(),
    }
}

impl<C> CollectionBatchGet<C> {
    /// Retry settings for keys DynamoDB leaves unprocessed (and the chunks read at once).
    pub fn retry(mut self, retry: BatchRetry) -> Self {
        self.retry = retry;
        self
    }
}

impl<C: Collection + Projection<C::Table>> IntoFuture for CollectionBatchGet<C> {
    type Output = Result<CollectionBatchGetOutput<C>>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let (items, unprocessed) = crate::ops::batch::batch_get_into::<C::Table, C, _>(
                &self.client,
                self.keys,
                self.retry,
            )
            .await?;
            Ok(CollectionBatchGetOutput { items, unprocessed })
        })
    }
}
