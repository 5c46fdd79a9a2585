//! Schema data: the shape of a model's table and indexes, as plain constants.
//!
//! The derive writes these into [`Model::SCHEMA`](crate::Model::SCHEMA) and
//! [`Model::INDEXES`](crate::Model::INDEXES); `create_table` reads them, and so may code that
//! inspects a model (an index handle's [`schema`](crate::Index::schema)). This module
//! describes keys and indexes only: it knows nothing of models or operations.
//!
//! ```
//! use dynox_core::schema::{IndexKind, IndexProjection, ScalarType};
//! use dynox_core::{DynamoModel, Model};
//!
//! #[derive(DynamoModel)]
//! #[dynamo(table = "orders")]
//! #[dynamo(local_index(name = "by_total", range_key = total_cents, projection = "keys_only"))]
//! struct Order {
//!     #[dynamo(hash_key)] customer: String,
//!     #[dynamo(range_key)] order_id: u64,
//!     total_cents: i64,
//! }
//!
//! assert_eq!(Order::SCHEMA.hash.name, "customer");
//! assert_eq!(Order::SCHEMA.range.map(|r| r.scalar), Some(ScalarType::Number));
//! let by_total = Order::indexes().by_total.schema();
//! assert_eq!((by_total.kind, by_total.projection), (IndexKind::Local, IndexProjection::KeysOnly));
//! ```

/// The DynamoDB type of a key attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalarType {
    /// `S`: a string.
    String,
    /// `N`: a number.
    Number,
    /// `B`: binary.
    Binary,
}

/// A key attribute of a table or index: its attribute name and type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyAttr {
    /// The attribute name.
    pub name: &'static str,
    /// The attribute's type.
    pub scalar: ScalarType,
}

/// The primary key of a model's table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeySchema {
    /// The partition (hash) key.
    pub hash: KeyAttr,
    /// The sort (range) key, if the table has one.
    pub range: Option<KeyAttr>,
}

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
