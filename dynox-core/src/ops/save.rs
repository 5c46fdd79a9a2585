//! `save` (PutItem) and `create` (PutItem unless the key exists).

use std::future::{Future, IntoFuture};
use std::pin::Pin;

use tracing::Instrument;

use crate::error::{Error, Result};
use crate::model::Model;
use crate::Client;

/// A PutItem of one item: [`Client::save`] or [`Client::create`]. Await it to send.
#[must_use = "a save does nothing until awaited"]
pub struct Save<'a, M: Model> {
    client: &'a Client,
    item: &'a M,
    create: bool,
}

impl<'a, M: Model> Save<'a, M> {
    pub(crate) fn new(client: &'a Client, item: &'a M, create: bool) -> Self {
        Self {
            client,
            item,
            create,
        }
    }
}

impl<'a, M: Model> IntoFuture for Save<'a, M> {
    type Output = Result<()>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<()>> + Send + 'a>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(put(self.client, self.item, self.create))
    }
}

async fn put<M: Model>(client: &Client, item: &M, create: bool) -> Result<()> {
    let table = client.table_name::<M>();
    let span = super::span("PutItem", &table);
    let attributes = item
        .to_item()
        .map_err(|e| super::field_error(&table, item.key().to_string(), e))?;
    let mut request = client
        .dynamodb()
        .put_item()
        .table_name(&table)
        .set_item(Some(attributes));
    if create {
        request = request
            .condition_expression("attribute_not_exists(#h)")
            .expression_attribute_names("#h", M::SCHEMA.hash.name);
    }
    match request.send().instrument(span).await {
        Ok(_) => Ok(()),
        Err(e) => Err(
            match super::sdk_error(e, "PutItem", &table, || item.key().to_string()) {
                Error::ConditionFailed { table, key, .. } if create => {
                    Error::AlreadyExists { table, key }
                }
                other => other,
            },
        ),
    }
}
