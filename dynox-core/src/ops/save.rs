//! `save` (PutItem) and `create` (PutItem unless the key exists), with file fields uploaded
//! first and cleaned up after (see [`crate::files`]).

use std::future::{Future, IntoFuture};
use std::pin::Pin;

use aws_sdk_dynamodb::types::ReturnValue;
use tracing::Instrument;

use crate::error::{Error, Result};
use crate::files::{self, FileRef, FileStore};
use crate::item::Item;
use crate::model::Model;
use crate::Client;

/// A PutItem of one item: [`Client::save`] or [`Client::create`]. Await it to send.
#[must_use = "a save does nothing until awaited"]
pub struct Save<'a, M: Model> {
    client: &'a Client,
    item: &'a mut M,
    create: bool,
}

impl<'a, M: Model> Save<'a, M> {
    pub(crate) fn new(client: &'a Client, item: &'a mut M, create: bool) -> Self {
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

async fn put<M: Model>(client: &Client, item: &mut M, create: bool) -> Result<()> {
    let table = client.table_name::<M>();
    let uploaded = M::Files::upload(client, item).await?;
    let attributes = match item.to_item() {
        Ok(attributes) => attributes,
        Err(e) => {
            let error = super::field_error(&table, item.key().to_string(), e);
            return Err(rollback::<M>(client, &table, item, uploaded, error).await);
        }
    };
    let new_refs = if M::Files::ENABLED {
        M::Files::references(&attributes)
    } else {
        Vec::new()
    };
    match write(client, &table, item, attributes, create).await {
        Err(error) => Err(rollback::<M>(client, &table, item, uploaded, error).await),
        Ok(old) => {
            let Some(old) = old else { return Ok(()) };
            let replaced = files::replaced(M::Files::references(&old), &new_refs);
            remove_committed::<M>(client, &table, &item.key().to_string(), replaced).await
        }
    }
}

/// PutItem; returns the old item when the model has file fields (to find replaced objects).
async fn write<M: Model>(
    client: &Client,
    table: &str,
    item: &M,
    attributes: Item,
    create: bool,
) -> Result<Option<Item>> {
    let mut request = client
        .dynamodb()
        .put_item()
        .table_name(table)
        .set_item(Some(attributes));
    if M::Files::ENABLED {
        request = request.return_values(ReturnValue::AllOld);
    }
    if create {
        request = request
            .condition_expression("attribute_not_exists(#h)")
            .expression_attribute_names("#h", M::SCHEMA.hash.name);
    }
    match request
        .send()
        .instrument(super::span("PutItem", table))
        .await
    {
        Ok(output) => Ok(output.attributes.filter(|a| !a.is_empty())),
        Err(e) => Err(
            match super::sdk_error(e, "PutItem", table, || item.key().to_string()) {
                Error::ConditionFailed { table, key, .. } if create => {
                    Error::AlreadyExists { table, key }
                }
                other => other,
            },
        ),
    }
}

/// After a failed write: removes what this call uploaded, and returns the error to report.
async fn rollback<M: Model>(
    client: &Client,
    table: &str,
    item: &M,
    uploaded: Vec<FileRef<<M::Files as FileStore<M>>::Ref>>,
    error: Error,
) -> Error {
    if uploaded.is_empty() {
        return error;
    }
    let left = M::Files::remove(client, uploaded).await;
    if left.is_empty() {
        return error;
    }
    Error::CleanupFailed {
        table: table.to_owned(),
        key: item.key().to_string(),
        committed: false,
        objects: left
            .iter()
            .map(|(r, _)| format!("{}: {}", r.field, r.object))
            .collect(),
        source: Box::new(error),
    }
}

/// After a committed write or delete: removes the objects no longer referenced.
pub(crate) async fn remove_committed<M: Model>(
    client: &Client,
    table: &str,
    key: &str,
    refs: Vec<FileRef<<M::Files as FileStore<M>>::Ref>>,
) -> Result<()> {
    if refs.is_empty() {
        return Ok(());
    }
    let mut left = M::Files::remove(client, refs).await;
    if left.is_empty() {
        return Ok(());
    }
    let objects = left
        .iter()
        .map(|(r, _)| format!("{}: {}", r.field, r.object))
        .collect();
    let (_, source) = left.swap_remove(0);
    Err(Error::CleanupFailed {
        table: table.to_owned(),
        key: key.to_owned(),
        committed: true,
        objects,
        source,
    })
}
