//! An update's side of the protocol. An update never uploads. Removing a file field keeps its
//! object, as clearing it in a save does: marked before the update, the update conditional
//! on the field still holding it, and the mark undone when the update did not commit.
//! Writing an overflow field (inline, or removing it) leaves the object of a value moved to S3
//! unreferenced: the update is conditional on the field still holding that object, which is
//! deleted once the update committed, as a replacing save does. Both are found by one read
//! before the update ([`before_update`]). [`UpdatePlan`] is the update as the driver runs it.

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

/// The objects an update stops referencing, found before it is sent.
#[derive(Default)]
pub(crate) struct Unreferenced {
    /// The objects of removed file fields, marked as kept.
    pub(crate) kept: Vec<FileRef>,
    /// The objects of overflow values the update overwrites or removes: deleted after the
    /// update committed.
    pub(crate) replaced: Vec<FileRef>,
    /// The conditions that the fields still hold those objects.
    pub(crate) unchanged: Vec<String>,
}

/// Before an update that removes the file fields `removed` or writes the overflow fields
/// `overflow`: reads their current objects, marks the removed files' objects as kept, and
/// returns them with the overflow objects the update leaves unreferenced and the conditions
/// that the fields still hold them (so the update removes exactly what was marked, and
/// replaces exactly what is deleted after it).
pub(crate) async fn before_update<M: Model>(
    client: &Client,
    table: &str,
    key_item: &Item,
    key: &str,
    removed: &[&str],
    overflow: &[&str],
    p: &mut Placeholders,
) -> Result<Unreferenced> {
    if removed.is_empty() && overflow.is_empty() {
        return Ok(Unreferenced::default());
    }
    let current = read_files::<M>(client, table, key_item, key)
        .await?
        .unwrap_or_default();
    let (kept, replaced): (Vec<FileRef>, Vec<FileRef>) = M::Files::references(&current)
        .into_iter()
        .filter(|r| !M::Files::shared(r.field))
        .filter(|r| removed.contains(&r.field) || overflow.contains(&r.field))
        .partition(|r| removed.contains(&r.field));
    let names: Vec<&str> = removed.iter().chain(overflow).copied().collect();
    let unchanged = files_unchanged::<M>(p, &current, Some(&names));
    cleanup::keep::<M>(client, table, key, &kept).await?;
    Ok(Unreferenced {
        kept,
        replaced,
        unchanged,
    })
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
    /// The objects of overflow values this update overwrites: deleted once it committed.
    pub(crate) replaced: Vec<FileRef>,
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
        !self.kept.is_empty() || !self.replaced.is_empty()
    }

    /// Committed: the kept marks stay (the item no longer references the files) and the
    /// overwritten overflow objects are deleted. Not committed: the marks go (it still
    /// references the files). Unknown: the marks and the overflow objects stay and are named.
    async fn finish(
        self,
        client: &Client,
        outcome: WriteOutcome,
        answer: std::result::Result<Option<Item>, Error>,
    ) -> Result<Option<Item>> {
        match (outcome, answer) {
            (WriteOutcome::Committed, answer) => {
                cleanup::remove_unreferenced::<M>(client, &self.table, &self.key, self.replaced)
                    .await?;
                let item = match answer {
                    Ok(item) => item,
                    Err(_) => self.seen.into_inner().ok().flatten(),
                };
                Ok(item.filter(|_| self.return_new))
            }
            (WriteOutcome::NotCommitted, answer) => {
                cleanup::unkeep::<M>(client, self.kept).await;
                answer.map(|_| None)
            }
            (WriteOutcome::Unknown, answer) => match answer {
                Ok(_) => Ok(None),
                Err(error) => {
                    let mut objects = self.kept;
                    objects.extend(self.replaced);
                    Err(cleanup::unknown(&self.table, &self.key, objects, error))
                }
            },
        }
    }
}
