//! An update's side of the protocol. An update never uploads; removing a file field keeps its
//! object, as clearing it in a save does: marked before the update ([`keep_removed`]), the
//! update conditional on the field still holding it, and the mark undone when the update did
//! not commit. [`UpdatePlan`] is the update as the driver runs it.

use std::collections::HashMap;
use std::sync::Mutex;

use aws_sdk_dynamodb::types::AttributeValue;

use super::cleanup;
use super::conditions::{conflict, files_unchanged};
use super::driver::{item_committed, read_back, Evidence, Request, Write};
use super::read::read_files;
use super::{Attempts, Failure};
use crate::error::{Error, Result, WriteOutcome};
use crate::expr::Placeholders;
use crate::files::FileStore;
use crate::item::{same_value, Item};
use crate::model::Model;
use crate::reference::FileRef;
use crate::Client;

/// Before an update that removes the file fields `names`: marks their current objects as kept
/// and returns them, with the conditions that the fields still hold them (so the update
/// removes exactly what was marked).
pub(crate) async fn keep_removed<M: Model>(
    client: &Client,
    table: &str,
    key_item: &Item,
    key: &str,
    names: &[&str],
    p: &mut Placeholders,
) -> Result<(Vec<FileRef>, Vec<String>)> {
    let current = read_files::<M>(client, table, key_item, key)
        .await?
        .unwrap_or_default();
    let refs: Vec<FileRef> = M::Files::references(&current)
        .into_iter()
        .filter(|r| names.contains(&r.field) && !M::Files::shared(r.field))
        .collect();
    let unchanged = files_unchanged::<M>(p, &current, Some(names));
    cleanup::keep::<M>(client, table, key, &refs).await?;
    Ok((refs, unchanged))
}

/// An UpdateItem, built (`ops/update.rs`), as the driver runs it.
pub(crate) struct UpdatePlan<M: Model> {
    pub(crate) table: String,
    pub(crate) key: String,
    pub(crate) key_item: Item,
    pub(crate) expression: String,
    pub(crate) condition: Option<String>,
    pub(crate) names: Option<HashMap<String, String>>,
    pub(crate) values: Option<HashMap<String, AttributeValue>>,
    pub(crate) return_new: bool,
    /// The objects of removed file fields, marked as kept before the update.
    pub(crate) kept: Vec<FileRef>,
    /// What the item holds after this update, as far as the update alone says (`None`:
    /// the attribute is gone): how the stored item is recognised as this update's result.
    pub(crate) expected: Vec<(String, Option<AttributeValue>)>,
    /// Whether the update changes an `#[s3]` field: a failure whose fate is not certain is
    /// then read back even without an SDK retry.
    pub(crate) touches_files: bool,
    /// Whether a failed condition is dynox's own (its version), not the caller's.
    pub(crate) own_condition: bool,
    pub(crate) version: Option<u64>,
    /// The stored item that showed the update committed, answered as its result.
    pub(crate) seen: Mutex<Option<Item>>,
    pub(crate) model: std::marker::PhantomData<fn() -> M>,
}

impl<M: Model> Evidence for UpdatePlan<M> {
    /// It holds what the update leaves; an update that says nothing checkable about its
    /// result (only `ADD`s or nested paths, no version) is never recognised.
    fn holds_this_write(&self, stored: &Item) -> bool {
        let holds = !self.expected.is_empty()
            && self.expected.iter().all(|(name, value)| match value {
                Some(value) => stored.get(name).is_some_and(|s| same_value(s, value)),
                None => !stored.contains_key(name),
            });
        if holds {
            if let Ok(mut seen) = self.seen.lock() {
                *seen = Some(stored.clone());
            }
        }
        holds
    }

    async fn read_back(&self, client: &Client, may_have_retried: bool) -> Option<bool> {
        if self.expected.is_empty() || !(may_have_retried || self.touches_files) {
            return None;
        }
        let stored = read_back::<M>(client, &self.table, &self.key_item, &self.key, false).await?;
        Some(stored.is_some_and(|s| self.holds_this_write(&s)))
    }
}

impl<M: Model> Write for UpdatePlan<M>
where
    UpdatePlan<M>: Request<Answer = Option<Item>>,
{
    type Carried = Option<Item>;
    type Sent = Option<Item>;
    /// The updated item, when asked for.
    type Done = Option<Item>;

    async fn send(
        &self,
        client: &Client,
        attempts: &Attempts,
    ) -> std::result::Result<Option<Item>, Failure> {
        Request::send(self, client, attempts).await
    }

    fn write_error(&self, error: Error) -> Error {
        match error {
            Error::ConditionFailed { .. } if self.own_condition => {
                conflict::<M>(&self.table, &self.key, self.version.unwrap_or(0))
            }
            other => other,
        }
    }

    async fn committed(&self, client: &Client, failure: &Failure) -> Option<bool> {
        item_committed(self, client, failure).await
    }

    fn tracks_files(&self) -> bool {
        !self.kept.is_empty()
    }

    /// Committed: the kept marks stay (the item no longer references the files). Not
    /// committed: the marks go (it still does). Unknown: the marks stay and are named.
    async fn finish(
        self,
        client: &Client,
        outcome: WriteOutcome,
        answer: std::result::Result<Option<Item>, Error>,
    ) -> Result<Option<Item>> {
        match (outcome, answer) {
            (WriteOutcome::Committed, Ok(item)) => Ok(item.filter(|_| self.return_new)),
            (WriteOutcome::Committed, Err(_)) => {
                let seen = self.seen.into_inner().ok().flatten();
                Ok(seen.filter(|_| self.return_new))
            }
            (WriteOutcome::NotCommitted, answer) => {
                cleanup::unkeep::<M>(client, self.kept).await;
                answer.map(|_| None)
            }
            (WriteOutcome::Unknown, answer) => match answer {
                Ok(_) => Ok(None),
                Err(error) => Err(cleanup::unknown(&self.table, &self.key, self.kept, error)),
            },
        }
    }
}
