//! # dynox-core: a typed DynamoDB ORM
//!
//! The runtime of [dynox](https://docs.rs/dynox): depend on the `dynox` crate, which
//! re-exports everything here at its root. The examples below name `dynox_core` only because
//! they are this crate's own tests.
//!
//! Put `#[derive(DynamoModel)]` on a plain struct and get typed `save`, `create`, `get`,
//! `delete` and `query`, with key mistakes rejected at compile time:
//!
//! ```
//! use dynox_core::{Client, DynamoModel, SortKey};
//!
//! #[derive(Debug, PartialEq, DynamoModel)]
//! #[dynamo(table = "orders")]
//! struct Order {
//!     #[dynamo(hash_key)]
//!     customer: String,
//!     #[dynamo(range_key)]
//!     order_id: u64,
//!     total_cents: i64,
//!     note: Option<String>, // None is stored as an absent attribute
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let servers = dynox_local::LocalServers::start().await?;
//! # let config = servers.sdk_config().clone();
//! // In production: let config = aws_config::load_defaults(BehaviorVersion::latest()).await;
//! let client = Client::new(&config);
//! client.create_table::<Order>().if_not_exists().await?;
//!
//! let mut order = Order { customer: "cust-1".into(), order_id: 42, total_cents: 1999, note: None };
//! client.create(&mut order).await?; // fails with Error::AlreadyExists if the key exists
//! assert_eq!(Order::get(&client, "cust-1", 42).await?, Some(order));
//!
//! let from_40: Vec<Order> = Order::query(&client, "cust-1").sort_key(SortKey::ge(40)).all().await?;
//! assert_eq!(from_40.len(), 1);
//!
//! Order::delete(&client, "cust-1", 42).await?;
//! assert_eq!(Order::get(&client, "cust-1", 42).await?, None);
//! # Ok(()) }
//! ```
//!
//! ## Field types
//!
//! | Rust type | DynamoDB |
//! |---|---|
//! | `String` | `S` |
//! | `bool` | `BOOL` |
//! | integers, `f32`, `f64` | `N`, exactly (NaN, infinities and numbers outside DynamoDB's range are errors) |
//! | `Vec<u8>` | `B` |
//! | `Option<T>` | `T`, or no attribute for `None` |
//! | `SystemTime` | `N`, whole seconds since the Unix epoch |
//! | `HashSet<T>` / `BTreeSet<T>` with `#[dynamo(set)]` | `SS` / `NS` / `BS`, no attribute when empty |
//! | any other `Serialize + Deserialize` type | via `serde_dynamo` (`M`, `L`, ...) |
//!
//! Keys may be `String`, an integer type, or `Vec<u8>`.
//!
//! ## Field attributes
//!
//! - `#[dynamo(hash_key)]`, `#[dynamo(range_key)]`: the table's primary key.
//! - `#[dynamo(rename = "name")]`: store under another attribute name.
//! - `#[dynamo(set)]`: store a `HashSet`/`BTreeSet` as a DynamoDB set.
//! - `#[dynamo(skip)]`: not stored; filled with `Default::default()` when read.
//! - `#[dynamo(version)]` on an integer field: optimistic locking (writes are conditional on
//!   the version read and increment it; a stale write is [`Error::VersionConflict`]).
//! - `#[dynamo(ttl)]` on a `SystemTime` (or `Option<SystemTime>`) field: stored as epoch
//!   seconds; `create_table` turns on DynamoDB's time to live for it.
//! - `#[dynamo(created_at)]` / `#[dynamo(updated_at)]` on a `SystemTime` (or
//!   `Option<SystemTime>`) field: every write (save, create, transaction, batch write, update)
//!   sets `updated_at` to now, and `created_at` to now if it is unset (`None` or `UNIX_EPOCH`;
//!   an update sets it only when it creates the item). See [`Timestamp`](model::Timestamp).
//!
//! ## Struct attributes
//!
//! - `#[dynamo(table = "name")]`: the table (before the client's table prefix).
//! - `#[dynamo(global_index(name = "...", hash_key = field, range_key = field))]` and
//!   `#[dynamo(local_index(name = "...", range_key = field))]`, each with an optional
//!   `projection = "all" | "keys_only"` (all by default) or `include(field, ...)`: secondary
//!   indexes, created by `create_table` and queried through typed handles
//!   (`Order::indexes().by_status`, see [`Index`]).
//! - `#[dynamo(crate = "path::to::dynox")]`: where the generated code finds the `dynox` crate,
//!   when it is not a dependency of the crate that derives (re-exported by another crate, say).
//!   Without it the derive finds `dynox` under the name your Cargo.toml gives it, or, when
//!   `dynox` is not a dependency at all, `dynox_core` and `dynox_s3` themselves.
//!
//! Partial types (`#[derive(DynamoProjection)]`, see [`Projection`]) read some fields only.
//!
//! Errors are one [`enum@Error`] type whose variants name the table, key and field.
//!
//! ## Modules
//!
//! The crate root holds what application code writes. The modules hold the rest:
//!
//! - [`expr`]: the types behind conditions and updates ([`Path`]'s codecs, [`expr::Size`],
//!   [`expr::IntoValue`], ...);
//! - [`item`]: DynamoDB items and attribute values, and the [`item::Attribute`] trait for
//!   custom field conversions;
//! - [`model`]: the [`Model`] trait and the traits the derive implements and relies on
//!   (key, version, time-to-live and timestamp field types);
//! - [`schema`]: the key and index schemas a model declares, as plain data;
//! - [`spi`]: the interface companion crates (`dynox-s3`) implement to store file fields.

#![warn(missing_docs)]

// The derive names `::dynox_core`: this crate's own unit tests derive models too.
#[cfg(test)]
extern crate self as dynox_core;

mod client;
pub mod collection;
mod error;
pub mod expr;
mod files;
pub mod hooks;
mod index;
mod inflate;
pub mod item;
pub mod key_template;
pub mod metrics;
pub mod model;
mod ops;
mod page;
mod projection;
mod protocol;
pub mod rate_limit;
mod reference;
mod request;
mod s3_error;
pub mod schema;
pub mod spi;
pub mod stream;
mod table;
mod tracked;
pub mod validate;

pub use client::{Client, ClientBuilder, Extension, FileSettings};
pub use collection::{
    Collection, CollectionBatchGet, CollectionBatchGetOutput, CollectionKey, Member, Partition,
};
pub use error::{
    BoxError, Error, InvalidRequestKind, ReasonKind, Report, Result, TransactionReason,
    WriteOutcome,
};
pub use expr::{AttributeType, Condition, Path, SortKey, UpdateAction};
pub use hooks::{HookResult, Hooks};
pub use index::Index;
pub use item::AttributeError;
pub use key_template::{IndexSegment, IntoSegment, KeySegment};
pub use model::{IntoKey, Key, Model};
pub use ops::backfill::{
    Backfill, BackfillChange, BackfillFailure, BackfillReport, BackfillRun, MAX_REPORTED_FAILURES,
};
pub use ops::batch::{
    BatchGet, BatchGetOutput, BatchRetry, BatchWritable, BatchWrite, BatchWriteOutput,
    BATCH_GET_SIZE, BATCH_WRITE_SIZE,
};
pub use ops::delete::{
    Delete, DeleteReturning, NoVersionCheck, Unversioned, VersionCheck, VersionChecked,
};
pub use ops::get::Get;
pub use ops::query::Query;
pub use ops::save::Save;
pub use ops::save_all::{DeleteAll, SaveAll, BULK_CONCURRENCY};
pub use ops::scan::Scan;
pub use ops::transact_get::{Slot, TransactGet, TransactGetOutput};
pub use ops::transact_write::{TransactWrite, MAX_TRANSACTION_ITEMS};
pub use ops::update::{Update, UpdateReturning};
pub use page::{Page, PageToken};
pub use projection::{Projection, Variant};
pub use protocol::REMEMBERED_ITEMS;
pub use rate_limit::{CurrentRate, RateLimit};
pub use reference::{FileRef, ObjectRef};
pub use s3_error::{S3Error, UploadRefusal};
pub use table::{CreateTable, DeleteTable, StreamView, TableDefinition, TableModels};
pub use tracked::Tracked;

/// Derives [`Model`] for a struct with named fields. See the [crate documentation](crate).
pub use dynox_derive::DynamoModel;

/// Derives [`Projection`] for a partial type: some fields of a model, read alone
/// (`#[dynamo(model = Order)]`). See [`Projection`].
pub use dynox_derive::DynamoProjection;

/// Derives [`Collection`] for an enum whose variants each hold a model sharing one table.
/// See the [`collection`] module.
pub use dynox_derive::DynamoCollection;

/// What generated code calls. Not a public API: it changes without notice.
#[doc(hidden)]
pub mod __private {
    pub use crate::collection::{
        batch_get as collection_batch_get, entity_attribute, entity_name, item_entity,
        query as collection_query, same_str, unknown_entity, Reader,
    };
    pub use crate::expr::{Direct, File, Path, Serde, Set, SortKey};
    pub use crate::files::NoFiles;
    pub use crate::hooks::{hook_fns, HookFns, HookResult};
    pub use crate::index::Index;
    pub use crate::item::{Attribute, Item, SetAttribute};
    pub use crate::key_template::{
        Entity, IndexSegment, IntoSegment, KeySegment, KeyTemplate, KeyWriter, Part, SegmentReader,
    };
    pub use crate::model::{
        FieldError, IndexKeyField, IntoKey, Key, KeyAttribute, Model, NoRangeKey, RangeKey,
        Timestamp, TtlAttribute, VersionNumber,
    };
    pub use crate::ops::batch::BatchWritable;
    pub use crate::ops::delete::Unversioned;
    pub use crate::ops::references::{file_references, file_references_of, ReferenceReader};
    pub use crate::projection::{
        attributes_len, merge_attributes, merged, FieldReader, Projection, Variant,
    };
    pub use crate::protocol::{Attempts, CountAttempts};
    pub use crate::schema::{
        IndexKind, IndexProjection, IndexSchema, KeyAttr, KeySchema, ScalarType,
    };
    pub use crate::validate;
    pub use crate::{Client, Delete, Get, Query, Scan, Update};
    pub use crate::{Collection, CollectionBatchGet, CollectionKey, Member, Partition};
    pub use core::result::Result;
    pub use futures::future::BoxFuture;
    pub use regex_lite::Regex;
    pub use serde;
    pub use std::sync::LazyLock;

    use crate::item::{from_serde_attribute, to_serde_attribute, AttributeError, AttributeValue};

    fn at(field: &'static str) -> impl FnOnce(AttributeError) -> FieldError {
        move |error| FieldError { field, error }
    }

    fn insert(item: &mut Item, name: &'static str, value: Option<AttributeValue>) {
        if let Some(value) = value {
            item.insert(name.to_owned(), value);
        }
    }

    /// Compile-time check that a `#[dynamo(ttl)]` field holds a point in time.
    pub const fn assert_ttl<T: TtlAttribute>() {}

    /// Writes a key attribute built by a template (or, for an index, nothing when the item
    /// has no key for it).
    pub fn put_key(item: &mut Item, name: &'static str, value: Option<String>) {
        insert(item, name, value.map(AttributeValue::S));
    }

    /// `query` narrowed to the keys `template` writes: `begins_with` its fixed prefix, when it
    /// has one (DynamoDB refuses an empty one).
    pub fn template_prefix<M: Model>(
        query: Query<M, String>,
        template: &KeyTemplate,
    ) -> Query<M, String> {
        let prefix = template.fixed_prefix();
        if prefix.is_empty() {
            query
        } else {
            query.sort_key(crate::expr::SortKey::begins_with(prefix))
        }
    }

    /// The segment text of `value`, a stored value of the field `reader` reads (`None` for an
    /// `Option`'s `None`): how an update writes an index key from a field it sets.
    pub fn segment_text<T: IndexSegment>(
        reader: &FieldReader<T>,
        value: AttributeValue,
    ) -> Result<Option<String>, FieldError> {
        let mut item = Item::with_capacity(1);
        item.insert(reader.name.to_owned(), value);
        let value = (reader.take)(&mut item)?;
        Ok(value.present().map(|segment| {
            let mut text = String::new();
            segment.write_segment(&mut text);
            text
        }))
    }

    /// Records the model's entity type in the item.
    pub fn put_entity<M: Model>(item: &mut Item) {
        if let Some(entity) = M::ENTITY {
            item.insert(entity.attribute.to_owned(), entity.value());
        }
    }

    /// Refuses an item of another entity type than `M`'s.
    pub fn check_entity<M: Model>(item: &Item) -> Result<(), FieldError> {
        match M::ENTITY {
            Some(entity) => entity.check(item).map_err(at(entity.attribute)),
            None => Ok(()),
        }
    }

    /// The key attributes of `M`'s primary-key templates, kept before the fields are taken
    /// out of the item, so that a field the item does not store reads back from the key.
    pub fn template_keys<M: Model>(item: &Item) -> Vec<(&'static KeyTemplate, Option<String>)> {
        M::KEY_TEMPLATES
            .iter()
            .map(|t| {
                let value = match item.get(t.attribute) {
                    Some(AttributeValue::S(s)) => Some(s.clone()),
                    _ => None,
                };
                (t, value)
            })
            .collect()
    }

    /// Field `name` read back from the first key template that holds it.
    pub fn field_from_key<T: KeySegment>(
        keys: &[(&'static KeyTemplate, Option<String>)],
        name: &'static str,
    ) -> Result<T, FieldError> {
        for (template, key) in keys {
            let Some(position) = template.fields().position(|f| f == name) else {
                continue;
            };
            let key = key
                .as_deref()
                .ok_or(AttributeError::Missing)
                .map_err(at(template.attribute))?;
            let segments = template.parse(key).map_err(at(template.attribute))?;
            return T::parse_segment(&segments[position]).map_err(at(name));
        }
        Err(FieldError {
            field: name,
            error: AttributeError::Missing,
        })
    }

    /// The hash key's schema entry.
    pub const fn hash_key_attr<M: Model>(name: &'static str) -> KeyAttr {
        KeyAttr {
            name,
            scalar: <M::HashKey as KeyAttribute>::SCALAR,
        }
    }

    /// An index key's schema entry, from its field's type.
    pub const fn index_key_attr<T: IndexKeyField>(name: &'static str) -> KeyAttr {
        KeyAttr {
            name,
            scalar: <T as IndexKeyField>::SCALAR,
        }
    }

    /// The range key's schema entry.
    pub const fn range_key_attr<M: Model>(name: &'static str) -> KeyAttr {
        match <M::RangeKey as RangeKey>::SCALAR {
            Some(scalar) => KeyAttr { name, scalar },
            // Only called for models with a range key, whose `RangeKey` has a type.
            None => KeyAttr {
                name,
                scalar: ScalarType::String,
            },
        }
    }

    /// Stores the hash key field (non-empty).
    #[inline(always)]
    pub fn put_hash_key<M: Model>(
        item: &mut Item,
        name: &'static str,
        value: &M::HashKey,
    ) -> Result<(), FieldError> {
        let value = value.to_key_attribute().map_err(at(name))?;
        item.insert(name.to_owned(), value);
        Ok(())
    }

    /// Stores the range key field (non-empty).
    #[inline(always)]
    pub fn put_range_key<M: Model>(
        item: &mut Item,
        name: &'static str,
        value: &M::RangeKey,
    ) -> Result<(), FieldError> {
        insert(item, name, value.to_range_attribute().map_err(at(name))?);
        Ok(())
    }

    /// Stores a scalar field.
    #[inline(always)]
    pub fn put_attr<T: Attribute>(
        item: &mut Item,
        name: &'static str,
        value: &T,
    ) -> Result<(), FieldError> {
        value.put_into(item, name).map_err(at(name))
    }

    /// Stores a `#[dynamo(set)]` field.
    #[inline]
    pub fn put_set<T: SetAttribute>(
        item: &mut Item,
        name: &'static str,
        value: &T,
    ) -> Result<(), FieldError> {
        insert(item, name, value.to_set_attribute().map_err(at(name))?);
        Ok(())
    }

    /// Stores a field through serde_dynamo.
    #[inline]
    pub fn put_serde<T: serde::Serialize>(
        item: &mut Item,
        name: &'static str,
        value: &T,
    ) -> Result<(), FieldError> {
        insert(item, name, to_serde_attribute(value).map_err(at(name))?);
        Ok(())
    }

    /// Reads the hash key field.
    #[inline(always)]
    pub fn take_hash_key<M: Model>(
        item: &mut Item,
        name: &'static str,
    ) -> Result<M::HashKey, FieldError> {
        match item.remove(name) {
            Some(v) => M::HashKey::from_key_attribute(v).map_err(at(name)),
            None => Err(FieldError {
                field: name,
                error: AttributeError::Missing,
            }),
        }
    }

    /// Reads the range key field.
    #[inline(always)]
    pub fn take_range_key<M: Model>(
        item: &mut Item,
        name: &'static str,
    ) -> Result<M::RangeKey, FieldError> {
        M::RangeKey::from_range_attribute(item.remove(name)).map_err(at(name))
    }

    /// Reads a scalar field.
    #[inline(always)]
    pub fn take_attr<T: Attribute>(item: &mut Item, name: &'static str) -> Result<T, FieldError> {
        T::from_attribute(item.remove(name)).map_err(at(name))
    }

    /// Reads a `#[dynamo(set)]` field.
    #[inline(always)]
    pub fn take_set<T: SetAttribute>(item: &mut Item, name: &'static str) -> Result<T, FieldError> {
        T::from_set_attribute(item.remove(name)).map_err(at(name))
    }

    /// Reads a field through serde_dynamo.
    #[inline]
    pub fn take_serde<T: serde::de::DeserializeOwned>(
        item: &mut Item,
        name: &'static str,
    ) -> Result<T, FieldError> {
        from_serde_attribute(item.remove(name)).map_err(at(name))
    }
}
