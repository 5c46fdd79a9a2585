//! `delete` (DeleteItem), optionally returning the deleted item.

use std::future::{Future, IntoFuture};
use std::pin::Pin;

use aws_sdk_dynamodb::types::ReturnValue;
use tracing::Instrument;

use crate::error::Result;
use crate::files::FileStore;
use crate::model::{Key, Model};
use crate::Client;

/// A DeleteItem: [`Client::delete`], or `Model::delete(&client, ...)` from the derive. Deleting
/// a key that does not exist succeeds.
#[must_use = "a delete does nothing until awaited"]
pub struct Delete<M: Model> {
    client: Client,
    key: Key<M>,
}

/// A DeleteItem that returns the deleted item, if there was one: [`Delete::return_old`].
#[must_use = "a delete does nothing until awaited"]
pub struct DeleteReturning<M: Model> {
    inner: Delete<M>,
}

impl<M: Model> Delete<M> {
    pub(crate) fn new(client: &Client, key: Key<M>) -> Self {
        Self {
            client: client.clone(),
            key,
        }
    }

    /// Return the item as it was before the delete (`None` if there was none).
    pub fn return_old(self) -> DeleteReturning<M> {
        DeleteReturning { inner: self }
    }

    async fn send(self, return_old: bool) -> Result<Option<M>> {
        let Delete { client, key } = self;
        let table = client.table_name::<M>();
        let span = super::span("DeleteItem", &table);
        let key_item = key
            .to_item()
            .map_err(|e| super::field_error(&table, key.to_string(), e))?;
        let output = client
            .dynamodb()
            .delete_item()
            .table_name(&table)
            .set_key(Some(key_item))
            .return_values(if return_old || M::Files::ENABLED {
                ReturnValue::AllOld
            } else {
                ReturnValue::None
            })
            .send()
            .instrument(span)
            .await
            .map_err(|e| super::sdk_error(e, "DeleteItem", &table, || key.to_string()))?;
        let Some(old) = output.attributes.filter(|a| !a.is_empty()) else {
            return Ok(None);
        };
        if M::Files::ENABLED {
            // The item is gone: its objects go too.
            let refs = M::Files::references(&old);
            super::save::remove_committed::<M>(&client, &table, &key.to_string(), refs).await?;
        }
        if !return_old {
            return Ok(None);
        }
        M::from_item(old)
            .map(Some)
            .map_err(|e| super::field_error(&table, key.to_string(), e))
    }
}

impl<M: Model> IntoFuture for Delete<M> {
    type Output = Result<()>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<()>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move { self.send(false).await.map(|_| ()) })
    }
}

impl<M: Model> IntoFuture for DeleteReturning<M> {
    type Output = Result<Option<M>>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<Option<M>>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.inner.send(true))
    }
}
