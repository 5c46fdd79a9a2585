//! The typed handle on a secondary index: its schema ([`IndexSchema`], plain data declared in
//! the derive) and the model and key types that type its queries and scans.
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

use crate::collection::Partition;
use crate::model::{IntoKey, KeyAttribute, Model, RangeKey};
use crate::ops::query::Query;
use crate::ops::scan::Scan;
use crate::schema::IndexSchema;
use crate::Client;

/// A typed handle on one secondary index of model `M`, whose hash key is `H` and sort key `R`
/// ([`NoRangeKey`](crate::model::NoRangeKey) when it has none). The derive makes one per declared
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
        Query::from_partition(client, self.partition(hash))
    }

    /// The partition of the index whose hash key is `hash`: what a collection
    /// (`#[derive(DynamoCollection)]`) queries for items of every entity type.
    pub fn partition(&self, hash: impl IntoKey<H>) -> Partition<M, R> {
        Partition::on_index(self.schema, hash.into_key())
    }

    /// Scans the whole index.
    pub fn scan(&self, client: &Client) -> Scan<M> {
        Scan::on_index(client, self.schema)
    }
}
