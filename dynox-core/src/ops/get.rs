//! `get` (GetItem).

use std::future::{Future, IntoFuture};
use std::pin::Pin;

use super::Traced;

use crate::error::Result;
use crate::model::{Key, Model};
use crate::Client;

/// A GetItem: [`Client::get`], or `Model::get(&client, ...)` from the derive. Await it for
/// `Option<M>`.
#[must_use = "a get does nothing until awaited"]
pub struct Get<M: Model> {
    client: Client,
    key: Key<M>,
    consistent: bool,
}

impl<M: Model> Get<M> {
    pub(crate) fn new(client: &Client, key: Key<M>) -> Self {
        Self {
            client: client.clone(),
            key,
            consistent: false,
        }
    }

    /// Read with strong consistency (eventually consistent by default).
    pub fn consistent_read(mut self, consistent: bool) -> Self {
        self.consistent = consistent;
        self
    }
}

impl<M: Model> IntoFuture for Get<M> {
    type Output = Result<Option<M>>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<Option<M>>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let Get {
                client,
                key,
                consistent,
            } = self;
            let table = client.table_name::<M>();
            let span = super::span("GetItem", &table);
            let key_item = key
                .to_item()
                .map_err(|e| super::field_error(&table, key.to_string(), e))?;
            let output = client
                .dynamodb()
                .get_item()
                .table_name(&table)
                .set_key(Some(key_item))
                .consistent_read(consistent)
                .set_return_consumed_capacity(client.capacity())
                .send()
                .traced(span, client.capacity().is_some())
                .await
                .map_err(|e| super::sdk_error(e, "GetItem", &table, || key.to_string()))?;
            match output.item {
                Some(item) => M::from_item(item)
                    .map(Some)
                    .map_err(|e| super::field_error(&table, key.to_string(), e)),
                None => Ok(None),
            }
        })
    }
}
