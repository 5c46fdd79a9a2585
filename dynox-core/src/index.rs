//! Secondary indexes: their schema (declared in the derive, used by `create_table`) and the
//! typed handle that queries one.
//!
//! ```no_run
//! # use dynox_core::{Client, DynamoModel, SortKey};
//! #[derive(DynamoModel)]
//! #[dynamo(table = "orders")]
//! #[dynamo(global_index(name = "by_status", hash_key = status, range_key = placed_at))]
//! #[dynamo(local_index(name = "by_total", range_key = total_cents, projection = "keys_only"))]
//! struct Order {
//!     #[dynamo(hash_key)] customer: String,
//!     #[dynamo(range_key)] order_id: u64,
//!     status: String,
//!     placed_at: u64,
//!     total_cents: i64,
//! }
//! # async fn demo(client: &Client) -> dynox_core::Result<()> {
//! // Key conditions are typed as for the table: `placed_at` is a u64.
//! let shipped: Vec<Order> = Order::indexes()
//!     .by_status
//!     .query(client, "shipped")
//!     .sort_key(SortKey::ge(1_700_000_000))
//!     .all()
//!     .await?;
//! # Ok(()) }
//! ```

use std::fmt;
use std::marker::PhantomData;

use crate::model::{KeyAttr, KeyAttribute, Model, RangeKey, ScalarType};
use crate::ops::query::Query;
use crate::ops::scan::Scan;
use crate::{Client, IntoKey};

/// Global (its own hash key, eventually consistent) or local (the table's hash key, another
/// sort key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexKind {
    /// A global secondary index.
    Global,
    /// A local secondary index.
    Local,
}

/// Which attributes an index copies from the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexProjection {
    /// Every attribute: queries can read whole models.
    All,
    /// Only the table's and the index's keys.
    KeysOnly,
    /// The keys and these attributes.
    Include(&'static [&'static str]),
}

/// A secondary index as declared with `#[dynamo(global_index(...))]` or
/// `#[dynamo(local_index(...))]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexSchema {
    /// The index name.
    pub name: &'static str,
    /// Global or local.
    pub kind: IndexKind,
    /// The index's partition key (for a local index, the table's).
    pub hash: KeyAttr,
    /// The index's sort key, if it has one.
    pub range: Option<KeyAttr>,
    /// The attributes copied into the index.
    pub projection: IndexProjection,
}

/// Refuses a strongly consistent read of a global secondary index (DynamoDB cannot serve
/// one), before any request is sent; reads of the table or a local index pass.
pub(crate) fn check_consistent_read(
    index: Option<&IndexSchema>,
    consistent: bool,
    table: &str,
) -> crate::Result<()> {
    match index {
        Some(index) if consistent && index.kind == IndexKind::Global => {
            Err(crate::Error::InvalidRequest {
                kind: crate::error::InvalidRequestKind::ConsistentIndexRead,
                reason: format!(
                    "global secondary index `{}` of table `{table}` cannot be read with strong consistency",
                    index.name
                ),
            })
        }
        _ => Ok(()),
    }
}

/// A field type that can be an index key: a key type, or an `Option` of one (items without
/// the attribute are left out of the index: a sparse index).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an index key attribute",
    label = "unsupported index key type",
    note = "an index key must be `String`, an integer type or `Vec<u8>`, or an `Option` of one"
)]
pub trait IndexKeyField {
    /// The key's type in queries.
    type Key: KeyAttribute;
    /// Its DynamoDB type.
    const SCALAR: ScalarType = <Self::Key as KeyAttribute>::SCALAR;
}

impl<T: KeyAttribute> IndexKeyField for T {
    type Key = T;
}

impl<T: KeyAttribute> IndexKeyField for Option<T> {
    type Key = T;
}

/// A typed handle on one secondary index of model `M`, whose hash key is `H` and sort key `R`
/// ([`NoRangeKey`](crate::NoRangeKey) when it has none). The derive makes one per declared
/// index: `Order::indexes().by_status`.
pub struct Index<M, H, R> {
    schema: &'static IndexSchema,
    marker: PhantomData<Marker<M, H, R>>,
}

/// Ties a handle to its model and key types without owning any of them.
type Marker<M, H, R> = fn() -> (M, H, R);

impl<M, H, R> Clone for Index<M, H, R> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<M, H, R> Copy for Index<M, H, R> {}

impl<M, H, R> fmt::Debug for Index<M, H, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Index").field(self.schema).finish()
    }
}

impl<M, H, R> Index<M, H, R> {
    /// The handle of `schema` (generated code calls this with an entry of `M::INDEXES`).
    #[doc(hidden)]
    pub const fn new(schema: &'static IndexSchema) -> Self {
        Self {
            schema,
            marker: PhantomData,
        }
    }
}

impl<M: Model, H: KeyAttribute, R: RangeKey> Index<M, H, R> {
    /// The index's schema.
    pub fn schema(&self) -> &'static IndexSchema {
        self.schema
    }

    /// The index name.
    pub fn name(&self) -> &'static str {
        self.schema.name
    }

    /// Queries the index for the items whose index hash key is `hash`, in index sort-key
    /// order. Items decode into `M`: for an index that does not project every attribute,
    /// read them into a partial type with [`Query::project`].
    pub fn query(&self, client: &Client, hash: impl IntoKey<H>) -> Query<M, R> {
        let hash = hash.into_key();
        Query::on_index(
            client,
            self.schema,
            hash.to_key_attribute(),
            format!("{hash:?}"),
        )
    }

    /// Scans the whole index.
    pub fn scan(&self, client: &Client) -> Scan<M> {
        Scan::new(client).index(self.schema)
    }
}
