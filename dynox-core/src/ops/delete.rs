//! `delete` (DeleteItem), optionally returning the deleted item. For models with file fields
//! the steps around it are the two-store protocol's (`protocol/`): the item is
//! deleted on condition that its file references are the ones expected (remembered or read),
//! then its objects go.

use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
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
///
/// A model with a `#[dynamo(version)]` field cannot be deleted by its key alone by accident:
/// awaiting such a delete does not compile until it says which version it expects
/// ([`expect_version`](Self::expect_version)) or that any version goes
/// ([`any_version`](Self::any_version)). [`Client::delete_item`] checks the item's own version.
///
/// ```no_run
/// # use dynox_core::{Client, DynamoModel};
/// #[derive(DynamoModel)]
/// #[dynamo(table = "orders")]
/// struct Order { #[dynamo(hash_key)] id: String, #[dynamo(version)] version: u64 }
/// # async fn demo(client: &Client, order: Order) -> dynox_core::Result<()> {
/// client.delete_item(&order).await?;                          // at the order's version
/// Order::delete(client, "o-2").expect_version(3).await?;      // at version 3
/// Order::delete(client, "o-3").any_version().await?;          // whatever is stored
/// # Ok(()) }
/// ```
#[must_use = "a delete does nothing until awaited"]
pub struct Delete<M: Model, V = NoVersionCheck> {
    client: Client,
    key: Key<M>,
    version: Option<u64>,
    condition: Option<Condition<M>>,
    check: PhantomData<fn() -> V>,
}

/// A DeleteItem that returns the deleted item, if there was one: [`Delete::return_old`].
#[must_use = "a delete does nothing until awaited"]
pub struct DeleteReturning<M: Model, V = NoVersionCheck> {
    inner: Delete<M, V>,
}

/// A [`Delete`] that has not said which version it expects: it can be awaited for models
/// without a `#[dynamo(version)]` field ([`Unversioned`]) only.
pub enum NoVersionCheck {}

/// A [`Delete`] that has said which version it expects (or that any goes).
pub enum VersionChecked {}

/// A model without a `#[dynamo(version)]` field: `#[derive(DynamoModel)]` implements it.
/// Deleting a versioned model by its key alone must say which version it expects.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has a `#[dynamo(version)]` field: say which version this delete expects",
    label = "deleted by key without a version check",
    note = "use `client.delete_item(&item)` (at the item's version), `.expect_version(v)`, or `.any_version()` to delete whatever version is stored"
)]
pub trait Unversioned: Model {}

/// Whether a [`Delete`] in state `Self` may be sent for model `M` (sealed).
pub trait VersionCheck<M>: sealed::Sealed {}
impl<M: Model> VersionCheck<M> for VersionChecked {}
impl<M: Unversioned> VersionCheck<M> for NoVersionCheck {}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::VersionChecked {}
    impl Sealed for super::NoVersionCheck {}
}

impl<M: Model> Delete<M> {
    pub(crate) fn new(client: &Client, key: Key<M>) -> Self {
        Self {
            client: client.clone(),
            key,
            version: None,
            condition: None,
            check: PhantomData,
        }
    }
}

impl<M: Model, V> Delete<M, V> {
    fn checked(self, version: Option<u64>) -> Delete<M, VersionChecked> {
        Delete {
            client: self.client,
            key: self.key,
            version,
            condition: self.condition,
            check: PhantomData,
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
    pub fn expect_version(self, version: u64) -> Delete<M, VersionChecked> {
        self.checked(Some(version))
    }

    /// Delete whatever version is stored (a versioned model's delete must choose this or
    /// [`expect_version`](Self::expect_version)).
    pub fn any_version(self) -> Delete<M, VersionChecked> {
        self.checked(None)
    }

    /// Return the item as it was before the delete (`None` if there was none).
    pub fn return_old(self) -> DeleteReturning<M, V> {
        DeleteReturning { inner: self }
    }

    async fn send(self, return_old: bool) -> Result<Option<M>> {
        let Delete {
            client,
            key,
            version,
            condition,
            check: _,
        } = self;
        let user = condition.as_ref();
        let hook_error = |hook, e| {
            crate::hooks::hook_error::<M>(hook, &client.table_name::<M>(), key.to_string(), e)
        };
        if let Some(hooks) = M::HOOKS {
            if let Err(e) = (hooks.before_delete)(&key, &client).await {
                return Err(hook_error("before_delete", e));
            }
        }
        let old = match protocol::plan_delete::<M>(&client, &key, version, user, false).await? {
            // Nothing there: nothing to delete, no objects to remove.
            None => None,
            Some(mut plan) => {
                let (table, key_text) = (plan.table.clone(), plan.key.clone());
                plan.return_old = return_old;
                match protocol::drive(&client, DeleteWrite { plan, user }).await? {
                    Some(old) => Some(
                        M::from_item(old).map_err(|e| super::field_error(&table, key_text, e))?,
                    ),
                    None => None,
                }
            }
        };
        if let Some(hooks) = M::HOOKS {
            if let Err(e) = (hooks.after_delete)(&key, &client).await {
                return Err(hook_error("after_delete", e));
            }
        }
        Ok(old)
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

// One impl per state, so that awaiting a versioned model's unchecked delete reports the
// missing `Unversioned` (whose message says what to do), not merely "not a future".
impl<M: Unversioned> IntoFuture for Delete<M, NoVersionCheck> {
    type Output = Result<()>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<()>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move { self.send(false).await.map(|_| ()) })
    }
}

impl<M: Model> IntoFuture for Delete<M, VersionChecked> {
    type Output = Result<()>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<()>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move { self.send(false).await.map(|_| ()) })
    }
}

impl<M: Unversioned> IntoFuture for DeleteReturning<M, NoVersionCheck> {
    type Output = Result<Option<M>>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<Option<M>>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.inner.send(true))
    }
}

impl<M: Model> IntoFuture for DeleteReturning<M, VersionChecked> {
    type Output = Result<Option<M>>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<Option<M>>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.inner.send(true))
    }
}
