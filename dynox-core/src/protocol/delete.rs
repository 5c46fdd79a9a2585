//! Step 1 of a delete: learn the file references the delete removes (remembered or read) and
//! build its condition; and the delete's side of the later steps ([`DeleteWrite`]).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::cleanup::{self, remove_unreferenced, unshared};
use super::conditions::{conflict, files_unchanged, version_is, with_user_condition};
use super::driver::{forward_to_plan, Evidence, Request, Write};
use super::expect::{stale_files, stored_after_refusal};
use super::read::read_files;
use super::{memory, Attempts, Failure};
use crate::error::{Error, Result, WriteOutcome};
use crate::expr::{Condition, Placeholders};
use crate::files::FileStore;
use crate::inflate::inflate;
use crate::item::Item;
use crate::model::{Key, Model};
use crate::reference::FileRef;
use crate::request::field_error;
use crate::Client;

/// A delete of one item, ready to send: the file references it removes are known (read,
/// or remembered), its condition built.
pub(crate) struct DeletePlan<M: Model> {
    pub(crate) table: String,
    pub(crate) key: String,
    pub(crate) key_item: Item,
    version: Option<u64>,
    /// Whether `current` was read for this delete.
    observed: bool,
    current: Option<Item>,
    pub(crate) condition: Option<String>,
    user_condition: bool,
    pub(crate) names: Option<HashMap<String, String>>,
    pub(crate) values: Option<HashMap<String, AttributeValue>>,
    /// Whether the request returns the deleted item (`ReturnValues = ALL_OLD`).
    pub(crate) return_old: bool,
    model: std::marker::PhantomData<fn() -> M>,
}

/// Step 1 of a delete: learns the item's file references (remembered by the client, else
/// read, and always read when `read`) and builds the condition; `None` when a model with
/// files has no such item (and no version or condition is expected): there is nothing to
/// delete.
pub(crate) async fn plan_delete<M: Model>(
    client: &Client,
    key: &Key<M>,
    version: Option<u64>,
    user: Option<&Condition<M>>,
    read: bool,
) -> Result<Option<DeletePlan<M>>> {
    let table = client.table_name::<M>();
    let key_text = key.to_string();
    let key_item = key
        .to_item()
        .map_err(|e| field_error(&table, key_text.clone(), e))?;
    let remembered = match M::Files::ENABLED && !read {
        true => memory::item_id::<M>(&table, &key_item)
            .and_then(|id| client.memory().recall(&id))
            .filter(|state| version.is_none_or(|v| memory::version_of::<M>(Some(state)) == v)),
        false => None,
    };
    let (observed, current) = match remembered {
        Some(state) => (false, Some(state)),
        None if M::Files::ENABLED => (
            true,
            read_files::<M>(client, &table, &key_item, &key_text).await?,
        ),
        None => (true, None),
    };
    delete_plan(table, key_text, key_item, version, user, observed, current)
}

/// The delete of `key_item` on condition that it holds the file references of `current`.
fn delete_plan<M: Model>(
    table: String,
    key: String,
    key_item: Item,
    version: Option<u64>,
    user: Option<&Condition<M>>,
    observed: bool,
    current: Option<Item>,
) -> Result<Option<DeletePlan<M>>> {
    if M::Files::ENABLED && observed && current.is_none() && version.is_none() && user.is_none() {
        return Ok(None);
    }
    let mut p = Placeholders::default();
    let mut parts = Vec::new();
    if let Some(current) = &current {
        parts.extend(files_unchanged::<M>(&mut p, current, None));
    }
    if let Some(v) = version {
        parts.extend(version_is::<M>(&mut p, v));
    }
    if let Some(entity) = M::ENTITY {
        // Never delete an item of another entity type sharing the table.
        parts.push(format!(
            "(attribute_not_exists({}) OR {} = {})",
            p.name(M::SCHEMA.hash.name),
            p.name(entity.attribute),
            p.value(entity.value())
        ));
    }
    let own = (!parts.is_empty()).then(|| parts.join(" AND "));
    let condition = with_user_condition(&mut p, own, user, &table)?;
    let (names, values) = p.into_maps();
    Ok(Some(DeletePlan {
        table,
        key,
        key_item,
        version,
        observed,
        current,
        condition,
        user_condition: user.is_some(),
        names,
        values,
        return_old: false,
        model: std::marker::PhantomData,
    }))
}

impl<M: Model> DeletePlan<M> {
    /// The error of a failed delete, in this delete's terms.
    fn write_error(&self, error: Error) -> Error {
        match error {
            error @ Error::ConditionFailed { .. } if self.user_condition => error,
            Error::ConditionFailed { .. } => {
                conflict::<M>(&self.table, &self.key, self.version.unwrap_or(0))
            }
            other => other,
        }
    }

    /// After a refused delete whose file references were remembered, not read: the stored
    /// item to plan the delete again from (`Some(None)`: there is none), when the refusal
    /// was the memory's fault (the stored references differ, the version is the expected
    /// one). `None` when the refusal stands, or an earlier attempt may have committed.
    async fn stale(&self, client: &Client, failure: &Failure) -> Option<Option<Item>> {
        if self.observed {
            return None;
        }
        // The item is still there: no attempt of this delete took effect.
        let own = |_: &Item| false;
        let stored =
            stored_after_refusal::<M>(client, &self.key_item, &self.table, &self.key, failure, own)
                .await?;
        let same_version = self
            .version
            .is_none_or(|v| memory::version_of::<M>(stored.as_ref()) == v);
        stale_files::<M>(self.current.as_ref(), stored, same_version, None)
    }

    /// Plans the delete again from the stored item `stored` that [`stale`](Self::stale)
    /// found; `None` when there is no item left to delete.
    fn rebase(
        self,
        client: &Client,
        stored: Option<Item>,
        user: Option<&Condition<M>>,
    ) -> Result<Option<DeletePlan<M>>> {
        if let Some(id) = memory::item_id::<M>(&self.table, &self.key_item) {
            client.memory().forget(&id);
        }
        let stored = stored.map(|s| memory::file_state::<M>(&s));
        let return_old = self.return_old;
        let plan = delete_plan(
            self.table,
            self.key,
            self.key_item,
            self.version,
            user,
            true,
            stored,
        )?;
        Ok(plan.map(|plan| DeletePlan { return_old, ..plan }))
    }

    /// The objects the item referenced when the delete was planned.
    pub(crate) fn references(&self) -> Vec<FileRef> {
        self.current
            .as_ref()
            .map(M::Files::references)
            .unwrap_or_default()
    }

    /// Whether the delete removes objects: not knowing its fate must name them.
    pub(crate) fn tracks_files(&self) -> bool {
        self.current.is_some()
    }

    /// Step 4: after a committed delete, deletes the item's objects; after an unknown one,
    /// names them (the sweep removes them if the item is gone).
    pub(crate) async fn finish(
        self,
        client: &Client,
        outcome: WriteOutcome,
        error: Option<Error>,
    ) -> Result<()> {
        if let Some(id) = memory::item_id::<M>(&self.table, &self.key_item) {
            client.memory().forget(&id);
        }
        match (outcome, error) {
            (WriteOutcome::Committed, _) => {
                let refs = self.references();
                remove_unreferenced::<M>(client, &self.table, &self.key, refs).await
            }
            (WriteOutcome::Unknown, Some(error)) => Err(cleanup::unknown(
                &self.table,
                &self.key,
                unshared::<M>(self.references()),
                error,
            )),
            (_, Some(error)) => Err(error),
            (_, None) => Ok(()),
        }
    }
}

impl<M: Model> Evidence for DeletePlan<M> {
    /// The item is still there: not deleted.
    fn holds_this_write(&self, _: &Item) -> bool {
        false
    }

    /// Gone means deleted. `None` when the read failed, or when there were no files to
    /// track and no earlier attempt can have taken effect.
    async fn read_back(&self, client: &Client, may_have_retried: bool) -> Option<bool> {
        if self.current.is_none() && !may_have_retried {
            return None;
        }
        let now = read_files::<M>(client, &self.table, &self.key_item, &self.key)
            .await
            .ok()?;
        Some(now.is_none())
    }
}

/// A delete as the driver runs it: the plan and the caller's condition (for planning again).
/// The request itself is `ops/delete.rs`'s.
pub(crate) struct DeleteWrite<'a, M: Model> {
    pub(crate) plan: DeletePlan<M>,
    pub(crate) user: Option<&'a Condition<M>>,
}

impl<M: Model> Write for DeleteWrite<'_, M>
where
    DeletePlan<M>: Request<Answer = Option<Item>>,
{
    type Carried = Option<Item>;
    type Sent = Option<Item>;
    /// The deleted item, with its overflow values read back, when asked for.
    type Done = Option<Item>;

    forward_to_plan!();

    async fn rebase(self, client: &Client, stored: Option<Item>) -> Result<Option<Self>> {
        let user = self.user;
        Ok(self
            .plan
            .rebase(client, stored, user)?
            .map(|plan| DeleteWrite { plan, user }))
    }

    async fn finish(
        self,
        client: &Client,
        outcome: WriteOutcome,
        answer: std::result::Result<Option<Item>, Error>,
    ) -> Result<Option<Item>> {
        let (old, error) = match answer {
            Ok(old) => (old.filter(|a| !a.is_empty() && self.plan.return_old), None),
            Err(error) => (None, Some(error)),
        };
        // The old item's overflow values are read before its objects are deleted.
        let old = match old {
            Some(mut old) => Some(
                inflate::<M>(client, &self.plan.table, &mut old)
                    .await
                    .map(|()| old),
            ),
            None => None,
        };
        self.plan.finish(client, outcome, error).await?;
        old.transpose()
    }
}
