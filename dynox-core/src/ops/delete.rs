//! `delete` (DeleteItem), optionally returning the deleted item; for models with file fields,
//! the delete half of the two-store protocol:
//! 1. read the item's file references (consistent GetItem, file attributes only);
//! 2. delete the item on condition that they are unchanged (and it is at the expected version);
//! 3. delete the objects; one that cannot be deleted is reported, not swallowed.
//!
//! If the delete's response is lost, the item is read back: gone means deleted.

use std::future::{Future, IntoFuture};
use std::pin::Pin;

use super::Traced;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use crate::error::{Error, Result};
use crate::expr::{Condition, Placeholders};
use crate::files::FileStore;
use crate::item::Item;
use crate::model::{Key, Model};
use crate::Client;

use super::save::{
    conflict, files_unchanged, read_files, remove_committed, with_user_condition, Outcome,
};

/// A DeleteItem: [`Client::delete`], [`Client::delete_item`], or `Model::delete(&client, ...)`
/// from the derive. Deleting a key that does not exist succeeds.
#[must_use = "a delete does nothing until awaited"]
pub struct Delete<M: Model> {
    client: Client,
    key: Key<M>,
    version: Option<u64>,
    condition: Option<Condition<M>>,
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
            condition: None,
        }
    }

    /// Delete only if `condition` holds for the stored item; otherwise fail with
    /// [`Error::ConditionFailed`]. (An item that does not exist fails it too.)
    pub fn condition(mut self, condition: Condition<M>) -> Self {
        self.condition = Some(condition);
        self
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
            condition,
        } = self;
        let Some(plan) = plan_delete::<M>(&client, &key, version, condition.as_ref()).await? else {
            return Ok(None); // nothing there: nothing to delete, no objects to remove
        };
        let output = client
            .dynamodb()
            .delete_item()
            .table_name(&plan.table)
            .set_key(Some(plan.key_item.clone()))
            .set_condition_expression(plan.condition.clone())
            .set_expression_attribute_names(plan.names.clone())
            .set_expression_attribute_values(plan.values.clone())
            .return_values(if return_old {
                ReturnValue::AllOld
            } else {
                ReturnValue::None
            })
            .set_return_consumed_capacity(client.capacity())
            .send()
            .traced(super::span("DeleteItem", &plan.table), &client)
            .await;
        let (old, outcome) = match output {
            Ok(output) => (
                output.attributes.filter(|a| !a.is_empty()),
                Outcome::Committed,
            ),
            Err(e) => {
                let error =
                    plan.write_error(super::sdk_error(e, "DeleteItem", &plan.table, || {
                        plan.key.clone()
                    }));
                (None, plan.judge(&client, error).await)
            }
        };
        let (table, key_text) = (plan.table.clone(), plan.key.clone());
        plan.finish(&client, outcome).await?;
        match old {
            Some(old) if return_old => M::from_item(old)
                .map(Some)
                .map_err(|e| super::field_error(&table, key_text, e)),
            _ => Ok(None),
        }
    }
}

/// A delete of one item, ready to send: the file references it removes are read, its
/// condition built.
pub(crate) struct DeletePlan<M: Model> {
    pub(crate) table: String,
    pub(crate) key: String,
    pub(crate) key_item: Item,
    version: Option<u64>,
    current: Option<Item>,
    pub(crate) condition: Option<String>,
    user_condition: bool,
    pub(crate) names: Option<std::collections::HashMap<String, String>>,
    pub(crate) values: Option<std::collections::HashMap<String, AttributeValue>>,
    model: std::marker::PhantomData<fn() -> M>,
}

/// Step 1 and the condition of step 2; `None` when a model with files has no such item (and
/// no version is expected): there is nothing to delete.
pub(crate) async fn plan_delete<M: Model>(
    client: &Client,
    key: &Key<M>,
    version: Option<u64>,
    user: Option<&Condition<M>>,
) -> Result<Option<DeletePlan<M>>> {
    let table = client.table_name::<M>();
    let key_text = key.to_string();
    let key_item = key
        .to_item()
        .map_err(|e| super::field_error(&table, key_text.clone(), e))?;
    let current = if M::Files::ENABLED {
        match read_files::<M>(client, &table, &key_item, &key_text).await? {
            Some(current) => Some(current),
            None if version.is_none() && user.is_none() => return Ok(None),
            None => None,
        }
    } else {
        None
    };
    let mut p = Placeholders::default();
    let mut parts = Vec::new();
    if let Some(current) = &current {
        parts.extend(files_unchanged::<M>(&mut p, current));
    }
    if let (Some(name), Some(v)) = (M::VERSION, version) {
        let n = p.name(name);
        parts.push(format!(
            "{n} = {}",
            p.value(AttributeValue::N(v.to_string()))
        ));
    }
    let own = (!parts.is_empty()).then(|| parts.join(" AND "));
    let condition = with_user_condition(&mut p, own, user, &table)?;
    let (names, values) = p.into_maps();
    Ok(Some(DeletePlan {
        table,
        key: key_text,
        key_item,
        version,
        current,
        condition,
        user_condition: user.is_some(),
        names,
        values,
        model: std::marker::PhantomData,
    }))
}

impl<M: Model> DeletePlan<M> {
    /// The error of a failed delete, in this delete's terms.
    pub(crate) fn write_error(&self, error: Error) -> Error {
        match error {
            error @ Error::ConditionFailed { .. } if self.user_condition => error,
            Error::ConditionFailed { .. } => {
                conflict::<M>(&self.table, &self.key, self.version.unwrap_or(0))
            }
            other => other,
        }
    }

    /// Whether a delete that reported `error` took effect anyway (its response lost).
    pub(crate) async fn judge(&self, client: &Client, error: Error) -> Outcome {
        match self.committed(client).await {
            Some(true) => Outcome::Committed,
            Some(false) => Outcome::NotCommitted(error),
            None if self.current.is_some() => Outcome::Unknown(error),
            None => Outcome::NotCommitted(error),
        }
    }

    /// Reads the item back: gone means deleted. `None` when there were no files to track.
    pub(crate) async fn committed(&self, client: &Client) -> Option<bool> {
        self.current.as_ref()?;
        let now = read_files::<M>(client, &self.table, &self.key_item, &self.key)
            .await
            .ok()?;
        Some(now.is_none())
    }

    /// Step 3: after a committed delete, deletes the item's objects.
    pub(crate) async fn finish(self, client: &Client, outcome: Outcome) -> Result<()> {
        match outcome {
            Outcome::Committed => {
                let refs = self
                    .current
                    .as_ref()
                    .map(M::Files::references)
                    .unwrap_or_default();
                remove_committed::<M>(client, &self.table, &self.key, refs).await
            }
            Outcome::NotCommitted(error) => Err(error),
            // The item may be gone while its objects stay: say so (the sweep removes them if
            // it is).
            Outcome::Unknown(error) => Err(Error::CleanupFailed {
                objects: self
                    .current
                    .as_ref()
                    .map(M::Files::references)
                    .unwrap_or_default()
                    .iter()
                    .map(|r| format!("{}: {} (the delete may have committed)", r.field, r.object))
                    .collect(),
                table: self.table,
                key: self.key,
                committed: false,
                source: Box::new(error),
            }),
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
