//! `save` (PutItem), `create` (PutItem unless the key exists) and `save_changes` (UpdateItem
//! of what changed since the item was loaded). The file steps before and after the write, and
//! the write loop itself, are the two-store protocol's (`protocol/`): this module builds and
//! sends the request.

use std::future::{Future, IntoFuture};
use std::pin::Pin;

use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;

use crate::error::Result;
use crate::expr::Condition;
use crate::files::FileStore;
use crate::item::Item;
use crate::model::Model;
use crate::protocol::{self, send_counted, Attempts, Changes, Failure, PutPlan, PutWrite, Request};
use crate::Client;

/// A write of one item: [`Client::save`] or [`Client::create`] (a PutItem), or
/// [`Client::save_changes`] (an UpdateItem of the attributes that changed). Await it to send.
#[must_use = "a save does nothing until awaited"]
pub struct Save<'a, M: Model> {
    client: &'a Client,
    item: &'a mut M,
    create: bool,
    condition: Option<Condition<M>>,
    delete_cleared: bool,
    /// A partial save ([`Client::save_changes`]): the tracked item's loaded state, updated
    /// once the save committed.
    loaded: Option<&'a mut Option<Item>>,
}

impl<'a, M: Model> Save<'a, M> {
    pub(crate) fn new(client: &'a Client, item: &'a mut M, create: bool) -> Self {
        Self {
            client,
            item,
            create,
            condition: None,
            delete_cleared: false,
            loaded: None,
        }
    }

    /// Makes this a partial save of a tracked item whose loaded state is `loaded`.
    pub(crate) fn tracking(mut self, loaded: &'a mut Option<Item>) -> Self {
        self.loaded = Some(loaded);
        self
    }

    /// Write only if `condition` holds for the stored item (in addition to the conditions
    /// dynox adds itself); otherwise fail with [`Error::ConditionFailed`](crate::Error::ConditionFailed).
    pub fn condition(mut self, condition: Condition<M>) -> Self {
        self.condition = Some(condition);
        self
    }

    /// Also delete the files of the fields this save clears (optional file fields set to
    /// `None`), after the write commits. Without it, a cleared field's file is kept: the item
    /// stops referencing it, and it is marked so that no cleanup, the orphan sweep included,
    /// ever deletes it.
    ///
    /// ```no_run
    /// # use dynox_core::{Client, DynamoModel};
    /// # #[derive(DynamoModel)] #[dynamo(table = "docs")]
    /// # struct Doc { #[dynamo(hash_key)] id: String, note: Option<String> }
    /// # async fn demo(client: &Client, mut doc: Doc) -> dynox_core::Result<()> {
    /// doc.note = None;
    /// client.save(&mut doc).delete_cleared_files().await?; // clear and delete, one line
    /// # Ok(()) }
    /// ```
    pub fn delete_cleared_files(mut self) -> Self {
        self.delete_cleared = true;
        self
    }
}

impl<'a, M: Model> IntoFuture for Save<'a, M> {
    type Output = Result<()>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<()>> + Send + 'a>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(put(
            self.client,
            self.item,
            self.create,
            self.condition,
            self.delete_cleared,
            self.loaded,
        ))
    }
}

async fn put<M: Model>(
    client: &Client,
    item: &mut M,
    create: bool,
    user: Option<Condition<M>>,
    delete_cleared: bool,
    loaded: Option<&mut Option<Item>>,
) -> Result<()> {
    let user = user.as_ref();
    let hook_error = |hook, item: &M, e| {
        crate::hooks::hook_error::<M>(hook, &client.table_name::<M>(), item.key().to_string(), e)
    };
    if let Some(hooks) = M::HOOKS {
        if let Err(e) = (hooks.before_save)(item, client).await {
            return Err(hook_error("before_save", item, e));
        }
    }
    let state = loaded_state(client, item, loaded.as_deref())?;
    // Nothing changed since the item was loaded: nothing to send (not even a new timestamp).
    let now = state.and_then(|_| item.to_item().ok());
    let unchanged = match (state, &now) {
        (Some(state), Some(now)) => Changes::between(state, now).is_empty(),
        _ => false,
    };
    if !unchanged {
        let plan =
            protocol::plan_put(client, item, create, user, delete_cleared, false, state).await?;
        if plan.writes_nothing() {
            // Uploads that changed nothing (a shared file of the same content): stored.
            <M::Files as FileStore<M>>::settle(item, true);
        } else {
            // After the commit the item is `now` with the version and timestamps written.
            let stamps = plan.stamps();
            let write = PutWrite {
                plan,
                item: &mut *item,
                user,
                loaded: state,
            };
            let written = protocol::drive(client, write).await;
            // Committed (its cleanup may have failed): the tracked state is the stored one.
            let committed = match &written {
                Ok(()) => true,
                Err(crate::Error::CleanupFailed { write, .. }) => write.is_committed(),
                Err(_) => false,
            };
            if let (Some(slot), true) = (loaded, committed) {
                *slot = match now {
                    Some(mut now) => {
                        now.extend(stamps);
                        Some(now)
                    }
                    None => item.to_item().ok(),
                };
            }
            written?;
        }
    }
    if let Some(hooks) = M::HOOKS {
        if let Err(e) = (hooks.after_save)(item, client).await {
            return Err(hook_error("after_save", item, e));
        }
    }
    Ok(())
}

/// The loaded state of a partial save's tracked item (`loaded`; `None`: a whole save). An
/// error when it is unknown: the item could not be converted when it was tracked, so what
/// changed cannot be told.
pub(crate) fn loaded_state<'s, M: Model>(
    client: &Client,
    item: &M,
    loaded: Option<&'s Option<Item>>,
) -> Result<Option<&'s Item>> {
    match loaded {
        None => Ok(None),
        Some(Some(state)) => Ok(Some(state)),
        Some(None) => Err(crate::Error::InvalidRequest {
            kind: crate::InvalidRequestKind::Tracking,
            reason: format!(
                "the loaded state of item {} of table `{}` is unknown (it could not be converted when it was tracked): save it whole with save",
                item.key(),
                client.table_name::<M>()
            ),
        }),
    }
}

impl<M: Model> Request for PutPlan<M> {
    type Answer = ();

    async fn send(&self, client: &Client, attempts: &Attempts) -> Result<(), Failure> {
        if let Some(partial) = &self.partial {
            let request = client
                .dynamodb()
                .update_item()
                .table_name(&self.table)
                .set_key(Some(self.key_item().clone()))
                .update_expression(&partial.expression)
                .set_condition_expression(self.condition.clone())
                .set_expression_attribute_names(self.names.clone())
                .set_expression_attribute_values(self.values.clone())
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                )
                .set_return_consumed_capacity(client.capacity())
                .send();
            return send_counted(
                client,
                attempts,
                request,
                "UpdateItem",
                &self.table,
                &self.key,
            )
            .await
            .map(|_| ());
        }
        let request = client
            .dynamodb()
            .put_item()
            .table_name(&self.table)
            .set_item(Some(self.attributes.clone()))
            .set_condition_expression(self.condition.clone())
            .set_expression_attribute_names(self.names.clone())
            .set_expression_attribute_values(self.values.clone())
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .set_return_consumed_capacity(client.capacity())
            .send();
        send_counted(client, attempts, request, "PutItem", &self.table, &self.key)
            .await
            .map(|_| ())
    }
}
