//! `delete` (DeleteItem), optionally returning the deleted item; for models with file fields,
//! the delete half of the two-store protocol:
//! 1. read the item's file references (consistent GetItem, file attributes only);
//! 2. delete the item on condition that they are unchanged (and it is at the expected version);
//! 3. delete the objects; one that cannot be deleted is reported, not swallowed.
//!
//! If the delete's response is lost, the item is read back: gone means deleted.

use std::future::{Future, IntoFuture};
use std::pin::Pin;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use tracing::Instrument;

use crate::error::{Error, Result};
use crate::expr::Placeholders;
use crate::files::FileStore;
use crate::model::{Key, Model};
use crate::Client;

use super::save::{conflict, read_files, remove_committed};

/// A DeleteItem: [`Client::delete`], [`Client::delete_item`], or `Model::delete(&client, ...)`
/// from the derive. Deleting a key that does not exist succeeds.
#[must_use = "a delete does nothing until awaited"]
pub struct Delete<M: Model> {
    client: Client,
    key: Key<M>,
    version: Option<u64>,
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
            version: None,
        }
    }

    /// Delete only if the item is at `version` (models with `#[dynamo(version)]`); otherwise
    /// fail with [`Error::VersionConflict`].
    pub fn expect_version(mut self, version: u64) -> Self {
        self.version = Some(version);
        self
    }

    /// Return the item as it was before the delete (`None` if there was none).
    pub fn return_old(self) -> DeleteReturning<M> {
        DeleteReturning { inner: self }
    }

    async fn send(self, return_old: bool) -> Result<Option<M>> {
        let Delete {
            client,
            key,
            version,
        } = self;
        let table = client.table_name::<M>();
        let key_text = key.to_string();
        let key_item = key
            .to_item()
            .map_err(|e| super::field_error(&table, key_text.clone(), e))?;

        let current = if M::Files::ENABLED {
            match read_files::<M>(&client, &table, &key_item, &key_text).await? {
                Some(current) => Some(current),
                // Nothing to delete, and no objects to remove.
                None if version.is_none() => return Ok(None),
                None => None,
            }
        } else {
            None
        };

        let mut p = Placeholders::default();
        let mut parts = Vec::new();
        if let Some(current) = &current {
            for name in M::Files::attribute_names() {
                let n = p.name(name);
                parts.push(match current.get(name) {
                    Some(value) => format!("{n} = {}", p.value(value.clone())),
                    None => format!("attribute_not_exists({n})"),
                });
            }
        }
        if let (Some(name), Some(v)) = (M::VERSION, version) {
            let n = p.name(name);
            parts.push(format!(
                "{n} = {}",
                p.value(AttributeValue::N(v.to_string()))
            ));
        }
        let (names, values) = p.into_maps();
        let output = client
            .dynamodb()
            .delete_item()
            .table_name(&table)
            .set_key(Some(key_item.clone()))
            .set_condition_expression((!parts.is_empty()).then(|| parts.join(" AND ")))
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .return_values(if return_old {
                ReturnValue::AllOld
            } else {
                ReturnValue::None
            })
            .send()
            .instrument(super::span("DeleteItem", &table))
            .await;
        let old = match output {
            Ok(output) => output.attributes.filter(|a| !a.is_empty()),
            Err(e) => {
                let error = match super::sdk_error(e, "DeleteItem", &table, || key_text.clone()) {
                    Error::ConditionFailed { .. } => {
                        conflict::<M>(&table, &key_text, version.unwrap_or(0))
                    }
                    other => other,
                };
                // Did it take effect anyway (response lost)? Gone means deleted.
                let Some(current) = current else {
                    return Err(error);
                };
                match read_files::<M>(&client, &table, &key_item, &key_text).await {
                    Ok(None) => {}
                    _ => return Err(error),
                }
                let refs = M::Files::references(&current);
                remove_committed::<M>(&client, &table, &key_text, refs).await?;
                return Ok(None);
            }
        };

        if let Some(current) = &current {
            // The item is gone: its objects go too.
            let refs = M::Files::references(current);
            remove_committed::<M>(&client, &table, &key_text, refs).await?;
        }
        match old {
            Some(old) if return_old => M::from_item(old)
                .map(Some)
                .map_err(|e| super::field_error(&table, key_text, e)),
            _ => Ok(None),
        }
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
