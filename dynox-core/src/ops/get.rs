//! `get` (GetItem).

use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;

use super::Traced;

use crate::error::Result;
use crate::expr::Placeholders;
use crate::model::{Key, Model};
use crate::projection::Projection;
use crate::Client;

/// A GetItem: [`Client::get`], or `Model::get(&client, ...)` from the derive. Await it for
/// `Option<P>`: the model, or a partial type chosen with [`Get::project`].
#[must_use = "a get does nothing until awaited"]
pub struct Get<M: Model, P = M> {
    client: Client,
    key: Key<M>,
    consistent: bool,
    marker: PhantomData<fn() -> P>,
}

impl<M: Model> Get<M> {
    pub(crate) fn new(client: &Client, key: Key<M>) -> Self {
        Self {
            client: client.clone(),
            key,
            consistent: false,
            marker: PhantomData,
        }
    }
}

impl<M: Model, P: Projection<M>> Get<M, P> {
    /// Reads only the attributes of partial type `Q` (`ProjectionExpression`) and decodes
    /// the item into it.
    pub fn project<Q: Projection<M>>(self) -> Get<M, Q> {
        Get {
            client: self.client,
            key: self.key,
            consistent: self.consistent,
            marker: PhantomData,
        }
    }

    /// Read with strong consistency (eventually consistent by default).
    pub fn consistent_read(mut self, consistent: bool) -> Self {
        self.consistent = consistent;
        self
    }
}

impl<M: Model, P: Projection<M>> IntoFuture for Get<M, P> {
    type Output = Result<Option<P>>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<Option<P>>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let Get {
                client,
                key,
                consistent,
                ..
            } = self;
            let mut p = Placeholders::default();
            let projection = super::read::projection_expression::<M, P>(&mut p);
            let (names, _) = p.into_maps();
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
                .set_projection_expression(projection)
                .set_expression_attribute_names(names)
                .consistent_read(consistent)
                .set_return_consumed_capacity(client.capacity())
                .send()
                .traced(span, &client)
                .await
                .map_err(|e| super::sdk_error(e, "GetItem", &table, || key.to_string()))?;
            match output.item {
                Some(mut item) => {
                    if P::ATTRIBUTES.is_none() {
                        let read = std::slice::from_ref(&item);
                        client.memory().remember_all::<M>(&table, read);
                    }
                    super::inflate::<M>(&client, &table, &mut item).await?;
                    let mut value = P::from_item(item)
                        .map_err(|e| super::field_error(&table, key.to_string(), e))?;
                    if let Some(hook) = value.after_load(&client) {
                        hook.await.map_err(|e| {
                            crate::hooks::hook_error::<M>("after_load", &table, key.to_string(), e)
                        })?;
                    }
                    Ok(Some(value))
                }
                None => Ok(None),
            }
        })
    }
}
