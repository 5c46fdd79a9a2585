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

    /// The `after_load` hook of the value read, if its model has one (partial types run none).
    #[doc(hidden)]
    fn after_load<'a>(
        &'a mut self,
        client: &'a crate::Client,
    ) -> Option<futures::future::BoxFuture<'a, crate::hooks::HookResult>> {
        let _ = client;
        None
    }
}

impl<M: Model> Projection<M> for M {
    const ATTRIBUTES: Option<&'static [&'static str]> = None;

    fn from_item(item: Item) -> Result<Self, FieldError> {
        <M as Model>::from_item(item)
    }

    fn after_load<'a>(
        &'a mut self,
        client: &'a crate::Client,
    ) -> Option<futures::future::BoxFuture<'a, crate::hooks::HookResult>> {
        <M as Variant>::after_load(self, client)
    }
}

/// What a variant of a collection (`#[derive(DynamoCollection)]`) holds: a model (every
/// attribute), or a partial type of one (`#[derive(DynamoProjection)]`: only its attributes
/// are read). The derives implement it.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a variant of a collection",
    label = "neither a model nor a partial type of one",
    note = "a collection's variant holds a `#[derive(DynamoModel)]` type or a `#[derive(DynamoProjection)]` partial type of one"
)]
pub trait Variant: Sized + Send + 'static {
    /// The model whose items it reads.
    type Model: Model;
    /// The attribute names it reads, or `None` for every attribute.
    const ATTRIBUTES: Option<&'static [&'static str]>;
    /// Decodes an item of the model.
    fn from_item(item: Item) -> Result<Self, FieldError>;

    /// The `after_load` hook of the value read, if it is a model with one.
    #[doc(hidden)]
    fn after_load<'a>(
        &'a mut self,
        client: &'a crate::Client,
    ) -> Option<futures::future::BoxFuture<'a, crate::hooks::HookResult>> {
        let _ = client;
        None
    }
}

impl<M: Model> Variant for M {
    type Model = M;
    const ATTRIBUTES: Option<&'static [&'static str]> = None;

    fn from_item(item: Item) -> Result<Self, FieldError> {
        <M as Model>::from_item(item)
    }

    fn after_load<'a>(
        &'a mut self,
        client: &'a crate::Client,
    ) -> Option<futures::future::BoxFuture<'a, crate::hooks::HookResult>> {
        M::HOOKS.map(|hooks| (hooks.after_load)(self, client))
    }
}

/// The number of attribute names of `parts` (an upper bound of their union), plus one.
#[doc(hidden)]
pub const fn attributes_len(parts: &[Option<&'static [&'static str]>]) -> usize {
    let mut n = 1;
    let mut i = 0;
    while i < parts.len() {
        if let Some(names) = parts[i] {
            n += names.len();
        }
        i += 1;
    }
    n
}

/// The union of `parts` and `extra`, each name once, in the first `.1` places of the array;
/// `None` in `.1`'s stead when a part reads every attribute.
#[doc(hidden)]
pub const fn merge_attributes<const N: usize>(
    parts: &[Option<&'static [&'static str]>],
    extra: &'static str,
) -> ([&'static str; N], Option<usize>) {
    let mut out = [""; N];
    let mut n = 0;
    let mut i = 0;
    while i < parts.len() {
        let Some(names) = parts[i] else {
            return (out, None);
        };
        let mut j = 0;
        while j < names.len() {
            n = push_once(&mut out, n, names[j]);
            j += 1;
        }
        i += 1;
    }
    n = push_once(&mut out, n, extra);
    (out, Some(n))
}

const fn push_once<const N: usize>(
    out: &mut [&'static str; N],
    n: usize,
    name: &'static str,
) -> usize {
    let mut k = 0;
    while k < n {
        if crate::collection::same_str(out[k], name) {
            return n;
        }
        k += 1;
    }
    out[n] = name;
    n + 1
}

/// The first `n` names of `names` (a merged attribute list), or `None` for every attribute.
#[doc(hidden)]
pub const fn merged(
    names: &'static [&'static str],
    n: Option<usize>,
) -> Option<&'static [&'static str]> {
    match n {
        Some(n) => Some(names.split_at(n).0),
        None => None,
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
