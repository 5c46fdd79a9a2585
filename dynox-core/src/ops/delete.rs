//! `delete` (DeleteItem), optionally returning the deleted item. For models with file fields
//! the steps around it are the two-store protocol's (`protocol/`): the item is
//! deleted on condition that its file references are the ones expected (remembered or read),
//! then its objects go.

use std::future::{Future, IntoFuture};
use std::pin::Pin;

use aws_sdk_dynamodb::types::{ReturnValue, ReturnValuesOnConditionCheckFailure};

use crate::error::Result;
use crate::expr::Condition;
use crate::item::Item;
use crate::model::{Key, Model};
use crate::protocol::DeletePlan;
use crate::protocol::{self, send_counted, Attempts, DeleteWrite, Failure, Request};
use crate::Client;

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
    /// [`Error::ConditionFailed`](crate::Error::ConditionFailed). (An item that does not exist fails it too.)
    pub fn condition(mut self, condition: Condition<M>) -> Self {
        self.condition = Some(condition);
        self
    }

    /// Delete only if the item is at `version` (models with `#[dynamo(version)]`); otherwise
    /// fail with [`Error::VersionConflict`](crate::Error::VersionConflict).
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
        let user = condition.as_ref();
        let Some(mut plan) =
            protocol::plan_delete::<M>(&client, &key, version, user, false).await?
        else {
            return Ok(None); // nothing there: nothing to delete, no objects to remove
        };
        let (table, key_text) = (plan.table.clone(), plan.key.clone());
        plan.return_old = return_old;
        let old = protocol::drive(&client, DeleteWrite { plan, user }).await?;
        match old {
            Some(old) => M::from_item(old)
                .map(Some)
                .map_err(|e| super::field_error(&table, key_text, e)),
            None => Ok(None),
        }
    }
}

impl<M: Model> Request for DeletePlan<M> {
    type Answer = Option<Item>;

    async fn send(&self, client: &Client, attempts: &Attempts) -> Result<Option<Item>, Failure> {
        let request = client
            .dynamodb()
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(self.key_item.clone()))
            .set_condition_expression(self.condition.clone())
            .set_expression_attribute_names(self.names.clone())
            .set_expression_attribute_values(self.values.clone())
            .return_values(returned(self.return_old, ReturnValue::AllOld))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .set_return_consumed_capacity(client.capacity())
            .send();
        send_counted(
            client,
            attempts,
            request,
            "DeleteItem",
            &self.table,
            &self.key,
        )
        .await
        .map(|output| output.attributes)
    }
}

/// `ReturnValues`: `values` when the caller asked for the item, else none.
pub(crate) fn returned(asked: bool, values: ReturnValue) -> ReturnValue {
    match asked {
        true => values,
        false => ReturnValue::None,
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
