//! Reading some attributes only: what a query, scan or get decodes items into.
//!
//! A model reads every attribute. A partial type (`#[derive(DynamoProjection)]`) names some
//! fields of a model; reads then ask DynamoDB for those attributes only
//! (`ProjectionExpression`) and decode them into it. Its fields are checked at compile time
//! against the model's: same names, same types.
//!
//! ```no_run
//! # use dynox_core::{Client, DynamoModel, DynamoProjection};
//! #[derive(DynamoModel)]
//! #[dynamo(table = "orders")]
//! struct Order {
//!     #[dynamo(hash_key)] customer: String,
//!     #[dynamo(range_key)] order_id: u64,
//!     status: String,
//!     notes: Vec<String>,
//! }
//!
//! /// What an order list shows.
//! #[derive(DynamoProjection)]
//! #[dynamo(model = Order)]
//! struct OrderLine {
//!     order_id: u64,
//!     status: String,
//! }
//!
//! # async fn demo(client: &Client) -> dynox_core::Result<()> {
//! let lines: Vec<OrderLine> = Order::query(client, "cust-1").project::<OrderLine>().all().await?;
//! # Ok(()) }
//! ```

use crate::collection::Reader;
use crate::item::Item;
use crate::model::{FieldError, Model};

/// What items of model `M` decode into: `M` itself (every attribute), or a partial type
/// derived with `#[derive(DynamoProjection)]`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a projection of `{M}`",
    label = "not a projection of `{M}`",
    note = "derive it with `#[derive(DynamoProjection)]` and `#[dynamo(model = {M})]`"
)]
pub trait Projection<M: Model>: Sized + Send + 'static {
    /// The attribute names to read, or `None` for every attribute.
    const ATTRIBUTES: Option<&'static [&'static str]>;

    /// Whether reads keep items of every entity type (a collection), not only `M`'s.
    #[doc(hidden)]
    const EVERY_ENTITY: bool = false;

    /// Decodes an item (holding at least [`ATTRIBUTES`](Self::ATTRIBUTES)).
    fn from_item(item: Item) -> Result<Self, FieldError>;

    /// How `item` is prepared and decoded: as `M`, unless a collection picks the model by the
    /// item's entity type (or refuses a type it does not list).
    #[doc(hidden)]
    fn reader(item: &Item) -> Result<Reader<Self>, FieldError> {
        let _ = item;
        Ok(Reader::of::<M>(Self::from_item))
    }
}

impl<M: Model> Projection<M> for M {
    const ATTRIBUTES: Option<&'static [&'static str]> = None;

    fn from_item(item: Item) -> Result<Self, FieldError> {
        <M as Model>::from_item(item)
    }
}

/// One stored field of a model, as a partial type reads it: its attribute name and decoder.
/// Generated for each model field; a partial type's field uses the model's, so it cannot
/// disagree on the name or the type.
#[doc(hidden)]
pub struct FieldReader<T> {
    /// The attribute name.
    pub name: &'static str,
    /// Takes the field out of an item.
    pub take: fn(&mut Item) -> Result<T, FieldError>,
}
