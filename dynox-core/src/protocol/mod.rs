//! The two-store protocol: the one engine every write path runs for models whose files live
//! in another store ([`FileStore`]). Save, create, delete, transactions and
//! `save_all`/`delete_all` all go through these steps; the operations only build and send
//! their request.
//!
//! 1. **plan**: expect the item's current file references (what the client remembers of it,
//!    [`memory`]; else none, for an item that looks new; else a consistent GetItem of the
//!    file attributes; `create` expects no item), upload the pending files under fresh, never
//!    reused keys ([`FileStore::upload`]), and build the item and its condition: the file
//!    attributes (and version) are the expected ones, so a concurrent writer's objects are
//!    never re-referenced or lost;
//! 2. **write** (the operation sends PutItem, DeleteItem or TransactWriteItems); a refusal
//!    that shows a remembered or guessed expectation was stale plans step 1 again from the
//!    stored item it carried back (`stale`, `rebase`) and writes once more;
//! 3. **judge** a failed write: a refusal is definite only when no earlier attempt of the
//!    same request can have taken effect ([`Attempts`]); otherwise, and for every error that
//!    does not say "refused", the stored item (carried by the failed condition, or read back)
//!    tells whether this write committed after all;
//! 4. **finish**: committed, delete the objects the write replaced or deleted; not committed,
//!    delete what step 1 uploaded and make the files pending again; unknown, keep everything
//!    and say so ([`Error::CleanupFailed`] with [`WriteOutcome::Unknown`]).
//!
//! An object is therefore deleted only after the item that stopped referencing it committed,
//! and an item never references an object that was not fully uploaded.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::AttributeValue;

use crate::error::{Error, InvalidRequestKind, Result, WriteOutcome};
use crate::expr::{Condition, Placeholders};
use crate::files::{FileRef, FileStore};
use crate::item::Item;
use crate::model::{Key, Model};
use crate::ops::{self, Traced};
use crate::Client;

mod attempts;
mod memory;

pub use attempts::{Attempts, CountAttempts};
pub(crate) use memory::Memory;
pub use memory::REMEMBERED_ITEMS;

/// A write that failed, with what the service's answer says about the stored item.
pub(crate) struct Failure {
    /// The error, in dynox's terms.
    pub(crate) error: Error,
    /// `Some` when the service refused the write's condition, with the stored item it carried
    /// back (`ReturnValuesOnConditionCheckFailure = ALL_OLD`; `None` inside when there is no
    /// item, or the server does not return it).
    pub(crate) refused: Option<Option<Item>>,
    /// Whether the SDK sent the request more than once.
    pub(crate) retried: bool,
}

/// An operation error whose condition failure can carry the stored item.
pub(crate) trait CarriesItem {
    /// `Some` for a condition failure, with its item if it carried one.
    fn condition_failure(&self) -> Option<Option<Item>>;
}

impl CarriesItem for PutItemError {
    fn condition_failure(&self) -> Option<Option<Item>> {
        match self {
            PutItemError::ConditionalCheckFailedException(e) => Some(e.item().cloned()),
            _ => None,
        }
    }
}

impl CarriesItem for DeleteItemError {
    fn condition_failure(&self) -> Option<Option<Item>> {
        match self {
            DeleteItemError::ConditionalCheckFailedException(e) => Some(e.item().cloned()),
            _ => None,
        }
    }
}

impl CarriesItem for UpdateItemError {
    fn condition_failure(&self) -> Option<Option<Item>> {
        match self {
            UpdateItemError::ConditionalCheckFailedException(e) => Some(e.item().cloned()),
            _ => None,
        }
    }
}

impl Failure {
    /// The failure of a single-item write `operation` on `table`.
    pub(crate) fn of<E, R>(
        err: SdkError<E, R>,
        attempts: &Attempts,
        operation: &'static str,
        table: &str,
        key: &str,
    ) -> Self
    where
        E: CarriesItem + ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        let refused = match &err {
            SdkError::ServiceError(service) => service.err().condition_failure(),
            _ => None,
        };
        Failure {
            error: ops::sdk_error(err, operation, table, || key.to_owned()),
            refused,
            retried: attempts.retried(),
        }
    }
}

/// What became of a write whose request may have failed.
pub(crate) enum Outcome {
    /// It took effect.
    Committed,
    /// It did not.
    NotCommitted(Error),
    /// It cannot be known (the read-back failed too).
    Unknown(Error),
}

/// What a write expects the stored item's file references (and version) to be: the
/// condition it is sent with.
enum Expected {
    /// Read from the server for this write, or carried back by its refused condition:
    /// certain at the time (`None`: no item).
    Observed(Option<Item>),
    /// The file state the client remembers from its last read or write of the item.
    Remembered(Item),
    /// Nothing known, and the item looks new (version 0, no stored file): no files. (An
    /// item that holds a stored file, or a version, was loaded: its references are read.)
    Guessed,
}

impl Expected {
    /// The expectation of a write of the item `key_item` of `table`: what the client
    /// remembers, when it agrees with the `version` the caller expects; else a guess, or a
    /// read when `read` (transactions: a refused one cannot be planned again).
    async fn of<M: Model>(
        client: &Client,
        table: &str,
        key_item: &Item,
        key: &str,
        version: u64,
        read: bool,
    ) -> Result<Self> {
        if read {
            return Ok(Expected::Observed(
                read_files::<M>(client, table, key_item, key).await?,
            ));
        }
        let remembered = memory::item_id::<M>(table, key_item)
            .and_then(|id| client.memory().recall(&id))
            .filter(|state| memory::version_of::<M>(Some(state)) == version);
        Ok(match remembered {
            Some(state) => Expected::Remembered(state),
            None if version == 0 => Expected::Guessed,
            None => Expected::Observed(read_files::<M>(client, table, key_item, key).await?),
        })
    }

    /// Whether the expectation came from the server for this write: a refusal then is
    /// the caller's (version, condition) or a concurrent writer's, never a wrong guess.
    fn observed(&self) -> bool {
        matches!(self, Expected::Observed(_))
    }
}

/// A put of one item, ready to send: its files are uploaded, its condition built.
pub(crate) struct PutPlan<M: Model> {
    pub(crate) table: String,
    pub(crate) key: String,
    key_item: Item,
    create: bool,
    version: u64,
    /// Whether `current` was read from the server for this write (else remembered or
    /// guessed: a refusal may show it stale).
    observed: bool,
    /// The file state the condition expects (`None`: no item).
    current: Option<Item>,
    current_refs: Vec<FileRef>,
    /// The pending files this save uploaded (kept when the write is planned again).
    uploaded: Vec<FileRef>,
    /// Overflow values this plan moved to the store.
    spilled: Vec<FileRef>,
    /// Attached objects the item is to reference (all of them; `claimed` without those the
    /// item already held).
    attached: Vec<FileRef>,
    claimed: Vec<FileRef>,
    new_refs: Vec<FileRef>,
    /// The objects of fields this write clears: deleted after the commit when the caller
    /// asked for it, else marked as kept before the write (`kept`).
    cleared: Vec<FileRef>,
    delete_cleared: bool,
    /// The objects this write marked as kept before it was sent.
    kept: Vec<FileRef>,
    /// Overflow objects this write stops referencing without replacing them (the value is
    /// inline again, or gone): deleted after the commit, so a lost response must be judged.
    dropped: Vec<FileRef>,
    /// The caller added a condition: a failed condition is theirs, not a version conflict.
    user_condition: bool,
    pub(crate) attributes: Item,
    pub(crate) condition: Option<String>,
    pub(crate) names: Option<HashMap<String, String>>,
    pub(crate) values: Option<HashMap<String, AttributeValue>>,
    model: std::marker::PhantomData<fn() -> M>,
}

/// Step 1 of a put: uploads the pending files and builds the item and its condition on the
/// file references the write replaces: remembered, guessed, or read first when `read`
/// (`create` expects no item at all). On error, nothing it uploaded is left (or the error is
/// a [`Error::CleanupFailed`] naming what is).
pub(crate) async fn plan_put<M: Model>(
    client: &Client,
    item: &mut M,
    create: bool,
    user: Option<&Condition<M>>,
    delete_cleared: bool,
    read: bool,
) -> Result<PutPlan<M>> {
    let table = client.table_name::<M>();
    let key = item.key();
    let key_text = key.to_string();
    let key_item = key
        .to_item()
        .map_err(|e| ops::field_error(&table, key_text.clone(), e))?;
    let version = item.version();
    if version.checked_add(1).is_none() {
        return Err(Error::InvalidRequest {
            kind: InvalidRequestKind::VersionExhausted,
            reason: format!("item {key_text} of table `{table}` is at the largest version"),
        });
    }
    let expected = if M::Files::ENABLED && !create {
        Expected::of::<M>(client, &table, &key_item, &key_text, version, read).await?
    } else {
        Expected::Observed(None)
    };
    let uploads = M::Files::upload(client, item, &key_item).await;
    if let Some(failure) = uploads.failure {
        let error = Error::File {
            table: table.clone(),
            key: key_text.clone(),
            field: failure.field,
            source: failure.source,
        };
        let mut created = uploads.stored;
        created.extend(uploads.uncertain);
        return Err(discard::<M>(client, &table, &key_text, created, error).await);
    }
    let attached = if M::Files::ENABLED {
        M::Files::claimed(item)
    } else {
        Vec::new()
    };
    let plan = Prepared {
        table,
        key: key_text,
        key_item,
        create,
        version,
        uploaded: uploads.stored,
        attached,
        delete_cleared,
    };
    match build(client, item, plan, expected, user).await? {
        Ok(plan) => Ok(plan),
        // The item holds a reference the remembered state does not: read what is stored.
        Err(prepared) => {
            let stored =
                read_files::<M>(client, &prepared.table, &prepared.key_item, &prepared.key).await;
            let stored = match stored {
                Ok(stored) => stored,
                Err(error) => {
                    M::Files::settle(item, false);
                    let Prepared {
                        table,
                        key,
                        uploaded,
                        ..
                    } = prepared;
                    return Err(discard::<M>(client, &table, &key, uploaded, error).await);
                }
            };
            match build(client, item, prepared, Expected::Observed(stored), user).await? {
                Ok(plan) => Ok(plan),
                Err(_) => unreachable!("an observed state is never doubted"),
            }
        }
    }
}

/// A put whose files are uploaded, before its item and condition are built.
struct Prepared {
    table: String,
    key: String,
    key_item: Item,
    create: bool,
    version: u64,
    uploaded: Vec<FileRef>,
    attached: Vec<FileRef>,
    delete_cleared: bool,
}

/// Builds the item and its condition expecting `expected` of the stored item. `Ok(Err(..))`
/// when the item holds a reference that an unobserved expectation does not know (read the
/// stored state, then build again); nothing was sent or uploaded then.
async fn build<M: Model>(
    client: &Client,
    item: &mut M,
    prepared: Prepared,
    expected: Expected,
    user: Option<&Condition<M>>,
) -> Result<std::result::Result<PutPlan<M>, Prepared>> {
    let next_version = prepared.version.saturating_add(1);
    let mut spilled = Vec::new();

    // Until the write's fate is known, a failure here removes the uploads and makes the files
    // pending again.
    macro_rules! give_up {
        ($error:expr) => {{
            let error = $error;
            M::Files::settle(item, false);
            let mut created = prepared.uploaded;
            created.extend(spilled);
            return Err(discard::<M>(client, &prepared.table, &prepared.key, created, error).await);
        }};
    }

    item.stamp(std::time::SystemTime::now());
    let mut attributes = match item.to_item() {
        Ok(attributes) => attributes,
        Err(e) => give_up!(ops::field_error(&prepared.table, prepared.key.clone(), e)),
    };
    if let Some(name) = M::VERSION {
        attributes.insert(name.to_owned(), AttributeValue::N(next_version.to_string()));
    }
    if M::Files::OVERFLOW {
        if let Some(error) = overflow_lookalike::<M>(&prepared.table, &prepared.key, &attributes) {
            give_up!(error);
        }
    }
    let observed = expected.observed();
    let current: Option<Item> = match expected {
        Expected::Observed(current) => current,
        Expected::Remembered(state) => Some(state),
        // A stored file of the item makes it "foreign" below: its references are read.
        Expected::Guessed => Some(Item::new()),
    };
    let current_refs = current
        .as_ref()
        .map(M::Files::references)
        .unwrap_or_default();
    let mut claimed = prepared.attached.clone();
    claimed.retain(|c| !current_refs.contains(c));

    // Every file the item is to reference must be one this save prepared.uploaded, one prepared.attached for
    // it, or one the item already holds: writing back a reference another writer replaced
    // (and deleted), or one copied from another item, would leave an item pointing at an
    // object that is gone or not its own. (Overflow values are moved below: each is either
    // prepared.uploaded or an object `current` holds.)
    if M::Files::ENABLED {
        let refs = M::Files::references(&attributes);
        let foreign = refs.iter().find(|n| {
            !prepared.uploaded.contains(n) && !claimed.contains(n) && !current_refs.contains(n)
        });
        if let Some(foreign) = foreign {
            if !observed {
                return Ok(Err(prepared));
            }
            give_up!(if prepared.create {
                Error::StaleFile {
                    table: prepared.table.clone(),
                    key: prepared.key.clone(),
                    field: foreign.field,
                    object: foreign.object.to_string(),
                }
            } else {
                conflict::<M>(&prepared.table, &prepared.key, prepared.version)
            });
        }
    }
    if M::Files::OVERFLOW && crate::item::item_size(&attributes) > crate::item::MAX_ITEM_SIZE {
        let moved = M::Files::spill(
            client,
            &mut attributes,
            &prepared.key_item,
            current.as_ref(),
            crate::item::MAX_ITEM_SIZE,
        )
        .await;
        spilled.extend(moved.stored);
        if let Some(failure) = moved.failure {
            spilled.extend(moved.uncertain);
            give_up!(Error::File {
                table: prepared.table.clone(),
                key: prepared.key.clone(),
                field: failure.field,
                source: failure.source,
            });
        }
    }
    if let Some(error) = too_large(&prepared.table, &prepared.key, &attributes) {
        give_up!(error);
    }
    let new_refs = M::Files::references(&attributes);

    let mut p = Placeholders::default();
    let condition = put_condition::<M>(&mut p, prepared.create, current.as_ref(), prepared.version);
    let condition = match with_user_condition(&mut p, condition, user, &prepared.table) {
        Ok(condition) => condition,
        Err(error) => give_up!(error),
    };

    // A field the item no longer holds: its object is kept (marked before the write, so no
    // crash can leave it unmarked and unreferenced) unless the caller asked to delete it.
    // A shared object is the store's to collect: it is neither kept nor deleted here.
    let cleared: Vec<FileRef> = current_refs
        .iter()
        .filter(|c| {
            !new_refs.iter().any(|n| n.field == c.field)
                && !M::Files::shared(c.field)
                && !M::Files::overflow(c.field)
        })
        .cloned()
        .collect();
    let kept = if prepared.delete_cleared || cleared.is_empty() {
        Vec::new()
    } else {
        let failed = M::Files::keep(client, cleared.clone()).await;
        if let Some((object, source)) = failed.into_iter().next() {
            M::Files::unkeep(client, cleared).await;
            give_up!(Error::File {
                table: prepared.table.clone(),
                key: prepared.key.clone(),
                field: object.field,
                source,
            });
        }
        cleared.clone()
    };
    let dropped: Vec<FileRef> = current_refs
        .iter()
        .filter(|c| M::Files::overflow(c.field) && !new_refs.iter().any(|n| n.field == c.field))
        .cloned()
        .collect();
    let (names, values) = p.into_maps();
    let Prepared {
        table,
        key: key_text,
        key_item,
        create,
        version,
        uploaded,
        attached,
        delete_cleared,
    } = prepared;
    Ok(Ok(PutPlan {
        dropped,
        table,
        key: key_text,
        key_item,
        create,
        version,
        observed,
        current,
        current_refs,
        uploaded,
        spilled,
        attached,
        claimed,
        new_refs,
        cleared,
        delete_cleared,
        kept,
        user_condition: user.is_some(),
        attributes,
        condition,
        names,
        values,
        model: std::marker::PhantomData,
    }))
}

impl<M: Model> PutPlan<M> {
    /// The error of a failed write, in this write's terms.
    fn write_error(&self, error: Error) -> Error {
        match error {
            Error::ConditionFailed { table, key, .. } if self.create => {
                Error::AlreadyExists { table, key }
            }
            error @ Error::ConditionFailed { .. } if self.user_condition => error,
            Error::ConditionFailed { .. } => conflict::<M>(&self.table, &self.key, self.version),
            other => other,
        }
    }

    /// Step 3: whether a write that failed took effect anyway (its response lost, then the
    /// SDK's retry refused by the write's own commit).
    pub(crate) async fn judge(&self, client: &Client, failure: Failure) -> Outcome {
        judge(self, client, failure).await
    }

    /// Whether `stored` is the item this write wrote: it holds this write's new objects,
    /// whose keys no other write can store; without new objects, it is equal to it.
    pub(crate) fn holds_this_write(&self, stored: &Item) -> bool {
        if self.has_new_files() {
            let now = M::Files::references(stored);
            self.proof().all(|u| now.contains(u))
        } else {
            crate::item::same_item(stored, &self.attributes)
        }
    }

    /// Reads the item back: `Some(true)` if it holds this write, `Some(false)` if not, `None`
    /// if the read failed or cannot tell (no new objects and no earlier attempt that could
    /// have taken effect: `may_have_retried` false).
    pub(crate) async fn read_back(&self, client: &Client, may_have_retried: bool) -> Option<bool> {
        let stored = if self.has_new_files() {
            read_files::<M>(client, &self.table, &self.key_item, &self.key).await
        } else if may_have_retried
            || !self.cleared.is_empty()
            || !self.uploaded.is_empty()
            || !self.spilled.is_empty()
            || !self.dropped.is_empty()
        {
            // Shared objects prove nothing by their keys: the whole item must be this write's.
            read_item(client, &self.table, &self.key_item, &self.key).await
        } else {
            return None;
        };
        Some(stored.ok()?.is_some_and(|s| self.holds_this_write(&s)))
    }

    /// Whether this write stops referencing overflow objects it does not replace (deleted
    /// after the commit): not knowing its fate must report them.
    pub(crate) fn drops_objects(&self) -> bool {
        !self.dropped.is_empty()
    }

    /// Whether this write stores objects new to the item (whose keys prove it happened).
    pub(crate) fn has_new_files(&self) -> bool {
        self.proof().next().is_some()
    }

    /// The new objects whose keys only this write can have stored: its own uploads and
    /// claims, not shared (content-addressed) objects, whose key any write of the same
    /// content stores.
    fn proof(&self) -> impl Iterator<Item = &FileRef> {
        self.uploaded
            .iter()
            .chain(&self.spilled)
            .chain(&self.claimed)
            .filter(|r| !M::Files::shared(r.field))
    }

    /// After a refused write whose expectation was not read from the server: the stored
    /// item to plan the write again from (`Some(None)`: there is none), when the refusal was
    /// that expectation's fault: the stored file references differ from the expected ones
    /// while the version (if any) is the expected one. `None` when the refusal stands: the
    /// caller's condition or version, or this write's own commit seen by an SDK retry.
    pub(crate) async fn stale(&self, client: &Client, failure: &Failure) -> Option<Option<Item>> {
        if self.observed {
            return None;
        }
        // A refusal carrying this write's own result: an SDK retry met its commit.
        let own = |stored: &Item| failure.retried && self.holds_this_write(stored);
        let stored =
            stored_after_refusal::<M>(client, &self.key_item, &self.table, &self.key, failure, own)
                .await?;
        let same_version = memory::version_of::<M>(stored.as_ref()) == self.version;
        stale_files::<M>(self.current.as_ref(), stored, same_version)
    }

    /// Plans the write again after [`stale`](Self::stale) found the stored item `stored`:
    /// the files this save uploaded are kept; kept marks and moved overflow values are
    /// undone and made again from the stored references.
    pub(crate) async fn rebase(
        self,
        client: &Client,
        item: &mut M,
        stored: Option<Item>,
        user: Option<&Condition<M>>,
    ) -> Result<PutPlan<M>> {
        if let Some(id) = memory::item_id::<M>(&self.table, &self.key_item) {
            match &stored {
                Some(stored) => client
                    .memory()
                    .remember(id, memory::file_state::<M>(stored)),
                None => client.memory().forget(&id),
            }
        }
        if !self.kept.is_empty() {
            M::Files::unkeep(client, self.kept).await;
        }
        let mut uploaded = self.uploaded;
        let spilled = unshared::<M>(self.spilled);
        if !spilled.is_empty() {
            let mut left = M::Files::remove(client, spilled).await.into_iter();
            if let Some((first, source)) = left.next() {
                let error = Error::File {
                    table: self.table.clone(),
                    key: self.key.clone(),
                    field: first.field,
                    source,
                };
                uploaded.extend(std::iter::once(first).chain(left.map(|(r, _)| r)));
                M::Files::settle(item, false);
                return Err(discard::<M>(client, &self.table, &self.key, uploaded, error).await);
            }
        }
        let prepared = Prepared {
            table: self.table,
            key: self.key,
            key_item: self.key_item,
            create: self.create,
            version: self.version,
            uploaded,
            attached: self.attached,
            delete_cleared: self.delete_cleared,
        };
        match build(client, item, prepared, Expected::Observed(stored), user).await? {
            Ok(plan) => Ok(plan),
            Err(_) => unreachable!("an observed state is never doubted"),
        }
    }

    /// Step 4: after a committed write, sets the new version, deletes the replaced objects
    /// and remembers the item's new file state; after a failed one, deletes what this write
    /// uploaded; after an unknown one, keeps them and reports them.
    pub(crate) async fn finish(
        self,
        client: &Client,
        item: &mut M,
        outcome: Outcome,
    ) -> Result<()> {
        let id = match M::Files::ENABLED {
            true => memory::item_id::<M>(&self.table, &self.key_item),
            false => None,
        };
        match outcome {
            Outcome::Committed => {
                if let Some(id) = id {
                    client
                        .memory()
                        .remember(id, memory::file_state::<M>(&self.attributes));
                }
                M::Files::settle(item, true);
                item.set_version(self.version.saturating_add(1));
                let mut unreferenced = replaced::<M>(self.current_refs, &self.new_refs);
                if self.delete_cleared {
                    unreferenced.extend(self.cleared);
                }
                remove_unreferenced::<M>(client, &self.table, &self.key, unreferenced).await
            }
            Outcome::NotCommitted(error) => {
                if let Some(id) = id {
                    client.memory().forget(&id);
                }
                M::Files::settle(item, false);
                if !self.kept.is_empty() {
                    M::Files::unkeep(client, self.kept).await;
                }
                let mut created = self.uploaded;
                created.extend(self.spilled);
                Err(discard::<M>(client, &self.table, &self.key, created, error).await)
            }
            // New objects and kept marks stay (the item may reference and rely on them); a
            // cleared file to delete may be left unreferenced: all are named.
            Outcome::Unknown(error) => {
                if let Some(id) = id {
                    client.memory().forget(&id);
                }
                M::Files::settle(item, false);
                let mut objects = unshared::<M>(self.uploaded);
                objects.extend(unshared::<M>(self.spilled));
                if self.delete_cleared {
                    objects.extend(self.cleared);
                }
                objects.extend(self.dropped);
                if objects.is_empty() {
                    return Err(error);
                }
                Err(Error::CleanupFailed {
                    table: self.table,
                    key: self.key,
                    write: WriteOutcome::Unknown,
                    objects,
                    source: Box::new(error),
                })
            }
        }
    }
}

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
        .map_err(|e| ops::field_error(&table, key_text.clone(), e))?;
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
        key,
        key_item,
        version,
        observed,
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
    pub(crate) async fn stale(&self, client: &Client, failure: &Failure) -> Option<Option<Item>> {
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
        stale_files::<M>(self.current.as_ref(), stored, same_version)
    }

    /// Plans the delete again from the stored item `stored` that [`stale`](Self::stale)
    /// found; `None` when there is no item left to delete.
    pub(crate) fn rebase(
        self,
        client: &Client,
        stored: Option<Item>,
        user: Option<&Condition<M>>,
    ) -> Result<Option<DeletePlan<M>>> {
        if let Some(id) = memory::item_id::<M>(&self.table, &self.key_item) {
            client.memory().forget(&id);
        }
        let stored = stored.map(|s| memory::file_state::<M>(&s));
        delete_plan(
            self.table,
            self.key,
            self.key_item,
            self.version,
            user,
            true,
            stored,
        )
    }

    /// Step 3: whether a delete that failed took effect anyway.
    pub(crate) async fn judge(&self, client: &Client, failure: Failure) -> Outcome {
        judge(self, client, failure).await
    }

    /// Reads the item back: gone means deleted. `None` when the read failed, or when there
    /// were no files to track and no earlier attempt can have taken effect.
    pub(crate) async fn read_back(&self, client: &Client, may_have_retried: bool) -> Option<bool> {
        if self.current.is_none() && !may_have_retried {
            return None;
        }
        let now = read_files::<M>(client, &self.table, &self.key_item, &self.key)
            .await
            .ok()?;
        Some(now.is_none())
    }

    /// The objects the item referenced when the delete was planned.
    pub(crate) fn references(&self) -> Vec<FileRef> {
        self.current
            .as_ref()
            .map(M::Files::references)
            .unwrap_or_default()
    }

    /// Step 4: after a committed delete, deletes the item's objects.
    pub(crate) async fn finish(self, client: &Client, outcome: Outcome) -> Result<()> {
        if let Some(id) = memory::item_id::<M>(&self.table, &self.key_item) {
            client.memory().forget(&id);
        }
        match outcome {
            Outcome::Committed => {
                let refs = self.references();
                remove_unreferenced::<M>(client, &self.table, &self.key, refs).await
            }
            Outcome::NotCommitted(error) => Err(error),
            // The item may be gone while its objects stay: say so (the sweep removes them if
            // it is).
            Outcome::Unknown(error) => Err(Error::CleanupFailed {
                objects: unshared::<M>(self.references()),
                table: self.table,
                key: self.key,
                write: WriteOutcome::Unknown,
                source: Box::new(error),
            }),
        }
    }
}

/// The stored item after `failure`, for a write whose expectation may be stale: the item its
/// refusal carried back (`None` if the failure is no refusal, or the item is `own`: this write's
/// own commit), or, when none was carried, read (`Some(None)`: there is no item). `None` also
/// when an SDK retry was refused without an item: an earlier attempt may have committed, which
/// the judge finds out.
async fn stored_after_refusal<M: Model>(
    client: &Client,
    key_item: &Item,
    table: &str,
    key: &str,
    failure: &Failure,
    own: impl Fn(&Item) -> bool,
) -> Option<Option<Item>> {
    match failure.refused.as_ref()? {
        Some(stored) if own(stored) => None,
        Some(stored) => Some(Some(stored.clone())),
        None if failure.retried => None,
        // No item, or a server that does not carry it back.
        None => read_files::<M>(client, table, key_item, key).await.ok(),
    }
}

/// `Some(stored)` when the expectation `expected` was stale: `stored`'s file references differ
/// from it while the version is the expected one (`same_version`); a different version is the
/// caller's conflict, not a stale memory.
fn stale_files<M: Model>(
    expected: Option<&Item>,
    stored: Option<Item>,
    same_version: bool,
) -> Option<Option<Item>> {
    let files_differ = !memory::same_files::<M>(expected, stored.as_ref());
    (files_differ && same_version).then_some(stored)
}

/// Forgets what `client` remembers of the item `key` of `table` (before a write that does
/// not go through a plan: an update).
pub(crate) fn forget<M: Model>(client: &Client, table: &str, key: &Key<M>) {
    if !M::Files::ENABLED {
        return;
    }
    if let Some(id) = key
        .to_item()
        .ok()
        .and_then(|k| memory::item_id::<M>(table, &k))
    {
        client.memory().forget(&id);
    }
}

/// What step 3 asks of a planned write.
pub(crate) trait Judged {
    /// The error of a failed write, in this write's terms.
    fn write_error(&self, error: Error) -> Error;
    /// Whether the stored item a refusal carried back is this write's result.
    fn holds_this_write(&self, stored: &Item) -> bool;
    /// Reads the item back: `Some(committed)`, or `None` if that cannot tell.
    fn read_back(
        &self,
        client: &Client,
        may_have_retried: bool,
    ) -> impl std::future::Future<Output = Option<bool>> + Send;
    /// Whether the write moves objects, so that not knowing its fate must keep them.
    fn tracks_files(&self) -> bool;
}

impl<M: Model> Judged for PutPlan<M> {
    fn write_error(&self, error: Error) -> Error {
        PutPlan::write_error(self, error)
    }
    fn holds_this_write(&self, stored: &Item) -> bool {
        PutPlan::holds_this_write(self, stored)
    }
    fn read_back(
        &self,
        client: &Client,
        may_have_retried: bool,
    ) -> impl std::future::Future<Output = Option<bool>> + Send {
        PutPlan::read_back(self, client, may_have_retried)
    }
    fn tracks_files(&self) -> bool {
        self.has_new_files() || !self.cleared.is_empty() || self.drops_objects()
    }
}

impl<M: Model> Judged for DeletePlan<M> {
    fn write_error(&self, error: Error) -> Error {
        DeletePlan::write_error(self, error)
    }
    /// The item is still there: not deleted.
    fn holds_this_write(&self, _: &Item) -> bool {
        false
    }
    fn read_back(
        &self,
        client: &Client,
        may_have_retried: bool,
    ) -> impl std::future::Future<Output = Option<bool>> + Send {
        DeletePlan::read_back(self, client, may_have_retried)
    }
    fn tracks_files(&self) -> bool {
        self.current.is_some()
    }
}

/// Whether the write took effect, as this one item can tell: from `refused`, the stored item
/// a refusal carried back, or else by reading it back (a transaction's items use this).
pub(crate) async fn committed(
    plan: &impl Judged,
    client: &Client,
    refused: Option<&Item>,
) -> Option<bool> {
    match refused {
        Some(stored) => Some(plan.holds_this_write(stored)),
        None => plan.read_back(client, true).await,
    }
}

/// Step 3 for every single-item write: a refusal of the only attempt is definite; a refusal
/// after an SDK retry is judged by the stored item it carried; anything else by reading back.
async fn judge(plan: &impl Judged, client: &Client, failure: Failure) -> Outcome {
    let Failure {
        error,
        refused,
        retried,
    } = failure;
    let error = plan.write_error(error);
    match refused {
        Some(_) if !retried => return Outcome::NotCommitted(error),
        Some(Some(stored)) => {
            return match plan.holds_this_write(&stored) {
                true => Outcome::Committed,
                false => Outcome::NotCommitted(error),
            };
        }
        _ => {}
    }
    match plan.read_back(client, retried).await {
        Some(true) => Outcome::Committed,
        Some(false) => Outcome::NotCommitted(error),
        None if plan.tracks_files() => Outcome::Unknown(error),
        None => Outcome::NotCommitted(error),
    }
}

/// The objects an old item referenced that the new item replaced with another object.
///
/// A field the new item leaves empty keeps its old object: clearing an optional file field
/// removes the reference, not the file.
///
/// An overflow field's object holds the field's value, not a file: it is unreferenced as soon
/// as the item holds the value inline again (or not at all).
fn replaced<M: Model>(old: Vec<FileRef>, new: &[FileRef]) -> Vec<FileRef> {
    old.into_iter()
        .filter(|o| match new.iter().find(|n| n.field == o.field) {
            Some(n) => n.object != o.object,
            None => M::Files::overflow(o.field),
        })
        .collect()
}

/// An error if an overflow field's inline value is a map with the key that marks a value
/// moved to the store: read back, it would be taken for a reference.
fn overflow_lookalike<M: Model>(table: &str, key: &str, item: &Item) -> Option<Error> {
    let field = M::Files::attribute_names().into_iter().find(|name| {
        M::Files::overflow(name)
            && matches!(item.get(*name), Some(AttributeValue::M(m)) if m.contains_key(crate::files::OVERFLOW_KEY))
    })?;
    Some(Error::InvalidField {
        table: table.to_owned(),
        key: key.to_owned(),
        field,
        source: crate::item::AttributeError::InvalidFileReference {
            reason: format!(
                "an overflow field's value may not be a map with the key `{}`",
                crate::files::OVERFLOW_KEY
            ),
        },
    })
}

/// An [`Error::ItemTooLarge`] if `item` exceeds DynamoDB's 400 KB, naming its largest
/// attributes, so no request is sent for an item the service would refuse.
fn too_large(table: &str, key: &str, item: &Item) -> Option<Error> {
    let size = crate::item::item_size(item);
    if size <= crate::item::MAX_ITEM_SIZE {
        return None;
    }
    let largest: Vec<String> = crate::item::largest_attributes(item)
        .into_iter()
        .take(3)
        .map(|(name, bytes)| format!("`{name}` ({bytes} bytes)"))
        .collect();
    Some(Error::ItemTooLarge {
        table: table.to_owned(),
        key: key.to_owned(),
        message: format!(
            "{size} bytes, over DynamoDB's {} byte limit; largest attributes: {}; keep large values in an #[s3] file field",
            crate::item::MAX_ITEM_SIZE,
            largest.join(", ")
        ),
    })
}

/// The condition of a put: the item is new (`create`), or its file attributes are the ones
/// `current` holds, and it is at `version`.
fn put_condition<M: Model>(
    p: &mut Placeholders,
    create: bool,
    current: Option<&Item>,
    version: u64,
) -> Option<String> {
    let mut parts = Vec::new();
    let hash = M::SCHEMA.hash.name;
    if create || (M::Files::ENABLED && current.is_none()) {
        parts.push(format!("attribute_not_exists({})", p.name(hash)));
    } else if let Some(current) = current {
        parts.extend(files_unchanged::<M>(p, current));
    }
    match M::VERSION {
        // `create` already requires that there is no item at all.
        _ if create => {}
        Some(name) if version == 0 => {
            parts.push(format!("attribute_not_exists({})", p.name(name)));
        }
        Some(name) => {
            let n = p.name(name);
            parts.push(format!(
                "{n} = {}",
                p.value(AttributeValue::N(version.to_string()))
            ));
        }
        _ => {}
    }
    (!parts.is_empty()).then(|| parts.join(" AND "))
}

/// dynox's own condition and the caller's, joined by `AND`.
pub(crate) fn with_user_condition<M>(
    p: &mut Placeholders,
    own: Option<String>,
    user: Option<&Condition<M>>,
    table: &str,
) -> Result<Option<String>> {
    let Some(user) = user else { return Ok(own) };
    let user = user
        .render(p)
        .map_err(|(path, error)| Error::InvalidRequest {
            kind: InvalidRequestKind::Expression,
            reason: format!("condition on `{path}` of table `{table}`: {error}"),
        })?;
    Ok(Some(match own {
        Some(own) => format!("{own} AND {user}"),
        None => user,
    }))
}

/// Conditions that the item's file attributes are still those of `current`.
fn files_unchanged<M: Model>(p: &mut Placeholders, current: &Item) -> Vec<String> {
    M::Files::attribute_names()
        .into_iter()
        .map(|name| {
            let n = p.name(name);
            match current.get(name) {
                // For an overflow field, `current` holds only its reference (`{"__dynox_s3":
                // ..}`, the whole attribute when the value is in the store).
                Some(value) => format!("{n} = {}", p.value(value.clone())),
                // An overflow field without a reference holds its value inline, if any.
                None if M::Files::overflow(name) => format!(
                    "attribute_not_exists({})",
                    crate::files::reference_path::<M, M::Files>(p, name)
                ),
                None => format!("attribute_not_exists({n})"),
            }
        })
        .collect()
}

/// A failed condition: a [`Error::VersionConflict`] for versioned models.
pub(crate) fn conflict<M: Model>(table: &str, key: &str, version: u64) -> Error {
    if M::VERSION.is_some() {
        Error::VersionConflict {
            table: table.to_owned(),
            key: key.to_owned(),
            expected: version,
        }
    } else {
        Error::ConditionFailed {
            table: table.to_owned(),
            key: key.to_owned(),
            source: None,
        }
    }
}

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
    let unchanged = names
        .iter()
        .map(|name| {
            let n = p.name(name);
            match current.get(*name) {
                Some(value) => format!("{n} = {}", p.value(value.clone())),
                None => format!("attribute_not_exists({n})"),
            }
        })
        .collect();
    if let Some((object, source)) = M::Files::keep(client, refs.clone())
        .await
        .into_iter()
        .next()
    {
        M::Files::unkeep(client, refs).await;
        return Err(Error::File {
            table: table.to_owned(),
            key: key.to_owned(),
            field: object.field,
            source,
        });
    }
    Ok((refs, unchanged))
}

/// The item's file attributes (and key and version), read with strong consistency; `None`
/// if absent.
async fn read_files<M: Model>(
    client: &Client,
    table: &str,
    key_item: &Item,
    key: &str,
) -> Result<Option<Item>> {
    let mut p = Placeholders::default();
    let mut projection: Vec<String> = vec![p.name(M::SCHEMA.hash.name)];
    projection.extend(
        M::Files::attribute_names()
            .into_iter()
            .map(|n| crate::files::reference_path::<M, M::Files>(&mut p, n)),
    );
    if let Some(version) = M::VERSION {
        projection.push(p.name(version));
    }
    let (names, _) = p.into_maps();
    get_consistent(
        client,
        table,
        key_item,
        key,
        Some((projection.join(", "), names)),
    )
    .await
}

/// The whole item, read with strong consistency; `None` if absent.
async fn read_item(
    client: &Client,
    table: &str,
    key_item: &Item,
    key: &str,
) -> Result<Option<Item>> {
    get_consistent(client, table, key_item, key, None).await
}

async fn get_consistent(
    client: &Client,
    table: &str,
    key_item: &Item,
    key: &str,
    projection: Option<(String, Option<HashMap<String, String>>)>,
) -> Result<Option<Item>> {
    let (projection, names) = projection.unzip();
    let output = client
        .dynamodb()
        .get_item()
        .table_name(table)
        .set_key(Some(key_item.clone()))
        .consistent_read(true)
        .set_projection_expression(projection)
        .set_expression_attribute_names(names.flatten())
        .set_return_consumed_capacity(client.capacity())
        .send()
        .traced(ops::span("GetItem", table), client)
        .await
        .map_err(|e| ops::sdk_error(e, "GetItem", table, || key.to_owned()))?;
    Ok(output.item.filter(|i| !i.is_empty()))
}

/// After a write that did not happen: removes `created` (what it uploaded), and returns the
/// error to report: `error` itself, or a [`Error::CleanupFailed`] naming what is left.
pub(crate) async fn discard<M: Model>(
    client: &Client,
    table: &str,
    key: &str,
    created: Vec<FileRef>,
    error: Error,
) -> Error {
    let created = unshared::<M>(created);
    if created.is_empty() {
        return error;
    }
    let left = M::Files::remove(client, created).await;
    if left.is_empty() {
        return error;
    }
    Error::CleanupFailed {
        table: table.to_owned(),
        key: key.to_owned(),
        write: WriteOutcome::NotCommitted,
        objects: left.into_iter().map(|(r, _)| r).collect(),
        source: Box::new(error),
    }
}

/// After a committed write or delete: removes the objects no longer referenced.
pub(crate) async fn remove_unreferenced<M: Model>(
    client: &Client,
    table: &str,
    key: &str,
    refs: Vec<FileRef>,
) -> Result<()> {
    let refs = unshared::<M>(refs);
    if refs.is_empty() {
        return Ok(());
    }
    let left = M::Files::remove(client, refs).await;
    let mut left = left.into_iter();
    let Some((first, source)) = left.next() else {
        return Ok(());
    };
    Err(Error::CleanupFailed {
        table: table.to_owned(),
        key: key.to_owned(),
        write: WriteOutcome::Committed,
        objects: std::iter::once(first).chain(left.map(|(r, _)| r)).collect(),
        source,
    })
}

/// `refs` without shared objects: no write deletes one (another item may reference it; the
/// store's garbage collection removes it once none does).
fn unshared<M: Model>(mut refs: Vec<FileRef>) -> Vec<FileRef> {
    refs.retain(|r| !M::Files::shared(r.field));
    refs
}
