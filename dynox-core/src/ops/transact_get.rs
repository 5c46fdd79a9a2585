//! Transactional reads (TransactGetItems): up to 100 items of any models, read as one
//! consistent snapshot.

use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;

use super::Traced;
use aws_sdk_dynamodb::types::{Get, TransactGetItem};

use crate::error::{Error, InvalidRequestKind, Result};
use crate::item::Item;
use crate::model::{Key, Model};
use crate::Client;

use super::transact_write::MAX_TRANSACTION_ITEMS;

/// A read transaction: [`Client::transact_get`]. Add keys with [`add`](Self::add), which
/// returns a typed [`Slot`]; once it is awaited, take each item out of the result
/// with its slot.
///
/// ```no_run
/// # use dynox_core::{Client, DynamoModel};
/// # #[derive(DynamoModel)] #[dynamo(table = "orders")]
/// # struct Order { #[dynamo(hash_key)] id: String }
/// # #[derive(DynamoModel)] #[dynamo(table = "users")]
/// # struct User { #[dynamo(hash_key)] id: String }
/// # async fn demo(client: &Client) -> dynox_core::Result<()> {
/// let mut read = client.transact_get();
/// let order = read.add(Order::key_of("o1"));
/// let user = read.add(User::key_of("u1"));
/// let mut items = read.await?;
/// let order: Option<Order> = items.take(order)?;
/// let user: Option<User> = items.take(user)?;
/// # Ok(()) }
/// ```
#[must_use = "a read transaction does nothing until sent"]
pub struct TransactGet<'a> {
    client: &'a Client,
    gets: Vec<std::result::Result<(String, String, Item), Error>>,
    /// Per get: puts back its model's overflow values (`ops::inflate`).
    inflate: Vec<Inflate>,
}

use crate::collection::Inflate;

fn inflate<'c, M: Model>(
    client: &'c Client,
    table: &'c str,
    item: &'c mut Item,
) -> futures::future::BoxFuture<'c, Result<()>> {
    client
        .memory()
        .remember_all::<M>(table, std::slice::from_ref(item));
    Box::pin(super::inflate::<M>(client, table, item))
}

/// The place of one item in a [`TransactGet`], typed by its model.
#[derive(Debug)]
pub struct Slot<M> {
    index: usize,
    model: PhantomData<fn() -> M>,
}

/// The items a [`TransactGet`] read, to be taken out by [`Slot`].
#[derive(Debug)]
pub struct TransactGetOutput {
    items: Vec<Option<Item>>,
    described: Vec<(String, String)>,
}

impl TransactGetOutput {
    /// The item of `slot`, or `None` if there was none.
    pub fn take<M: Model>(&mut self, slot: Slot<M>) -> Result<Option<M>> {
        let item = self.items.get_mut(slot.index).and_then(Option::take);
        let (table, key) = self.described.get(slot.index).cloned().unwrap_or_default();
        match item {
            Some(item) => M::from_item(item)
                .map(Some)
                .map_err(|e| super::field_error(&table, key, e)),
            None => Ok(None),
        }
    }
}

impl<'a> TransactGet<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self {
            client,
            gets: Vec::new(),
            inflate: Vec::new(),
        }
    }

    /// Reads the item with `key`.
    pub fn add<M: Model>(&mut self, key: Key<M>) -> Slot<M> {
        let table = self.client.table_name::<M>();
        let described = key.to_string();
        self.gets.push(
            key.to_item()
                .map(|item| (table.clone(), described.clone(), item))
                .map_err(|e| super::field_error(&table, described, e)),
        );
        self.inflate.push(inflate::<M>);
        Slot {
            index: self.gets.len() - 1,
            model: PhantomData,
        }
    }

    /// Reads every item at once (what awaiting it does).
    async fn send(self) -> Result<TransactGetOutput> {
        if self.gets.len() > MAX_TRANSACTION_ITEMS {
            return Err(Error::InvalidRequest {
                kind: InvalidRequestKind::TooManyItems,
                reason: format!(
                    "a read transaction has at most {MAX_TRANSACTION_ITEMS} items, this one {}",
                    self.gets.len()
                ),
            });
        }
        let gets = self.gets.into_iter().collect::<Result<Vec<_>>>()?;
        if gets.is_empty() {
            return Ok(TransactGetOutput {
                items: Vec::new(),
                described: Vec::new(),
            });
        }
        let mut items = Vec::with_capacity(gets.len());
        let mut described = Vec::with_capacity(gets.len());
        for (table, key, item) in gets {
            let get = Get::builder()
                .table_name(&table)
                .set_key(Some(item))
                .build()
                .map_err(|e| Error::InvalidRequest {
                    kind: InvalidRequestKind::Build,
                    reason: e.to_string(),
                })?;
            items.push(TransactGetItem::builder().get(get).build());
            described.push((table, key));
        }
        let (first_table, first_key) = described[0].clone();
        let output = self
            .client
            .dynamodb()
            .transact_get_items()
            .set_transact_items(Some(items))
            .set_return_consumed_capacity(self.client.capacity())
            .send()
            .traced(super::span("TransactGetItems", &first_table), self.client)
            .await
            .map_err(|e| super::sdk_error(e, "TransactGetItems", &first_table, || first_key))?;
        let mut items: Vec<Option<Item>> = output
            .responses
            .unwrap_or_default()
            .into_iter()
            .map(|r| r.item.filter(|i| !i.is_empty()))
            .collect();
        let client = self.client;
        let inflated = items
            .iter_mut()
            .zip(&self.inflate)
            .zip(&described)
            .filter_map(|((item, inflate), (table, _))| {
                Some(inflate(client, table, item.as_mut()?))
            });
        futures::future::try_join_all(inflated).await?;
        Ok(TransactGetOutput { items, described })
    }
}

impl<'a> IntoFuture for TransactGet<'a> {
    type Output = Result<TransactGetOutput>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send + 'a>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}
