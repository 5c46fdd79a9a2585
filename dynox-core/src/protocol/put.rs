//! Step 1 of a put (save, create, a transaction's save): upload the pending files, then build
//! the item and its condition on the file references it replaces; and the put's side of the
//! later steps ([`PutWrite`]): recognising its own result, planning again after a stale
//! expectation, and finishing.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::cleanup::{self, discard, remove_unreferenced, replaced, unshared};
use super::conditions::{conflict, put_condition, with_user_condition};
use super::driver::{forward_to_plan, read_back, Evidence, Request, Write};
use super::expect::{remember, stale_files, stored_after_refusal, Expected};
use super::guards::{overflow_lookalike, too_large};
use super::partial::{partial_condition, same_key, Changes};
use super::read::read_files;
use super::{memory, Attempts, Failure};
use crate::error::{Error, InvalidRequestKind, Result, WriteOutcome};
use crate::expr::{Condition, Placeholders};
use crate::files::{FileStore, UploadFailure};
use crate::item::{item_size, same_item, Item, MAX_ITEM_SIZE};
use crate::model::Model;
use crate::reference::FileRef;
use crate::request::field_error;
use crate::Client;

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
    /// A partial save (`partial.rs`): only the changed attributes are written, by an
    /// UpdateItem.
    pub(crate) partial: Option<Partial>,
    model: std::marker::PhantomData<fn() -> M>,
}

/// What a partial save writes, and what it leaves the item holding.
pub(crate) struct Partial {
    changes: Changes,
    /// The `UpdateExpression` (its placeholders are in the plan's maps).
    pub(crate) expression: String,
    /// The file fields it writes: the only ones its condition and evidence look at.
    written_files: Vec<&'static str>,
    /// The stored file state (and version) after the write.
    files_after: Item,
}

/// Step 1 of a put: uploads the pending files and builds the item and its condition on the
/// file references the write replaces: remembered, guessed, or read first when `read`
/// (`create` expects no item at all). With `loaded` (the item's attributes as it was
/// loaded), a partial save: only what changed since is written. On error, nothing it uploaded
/// is left (or the error is a [`Error::CleanupFailed`] naming what is).
pub(crate) async fn plan_put<M: Model>(
    client: &Client,
    item: &mut M,
    create: bool,
    user: Option<&Condition<M>>,
    delete_cleared: bool,
    read: bool,
    loaded: Option<&Item>,
) -> Result<PutPlan<M>> {
    let table = client.table_name::<M>();
    let key = item.key();
    let key_text = key.to_string();
    let key_item = key
        .to_item()
        .map_err(|e| field_error(&table, key_text.clone(), e))?;
    if let Some(Err(attribute)) = loaded.map(|loaded| same_key::<M>(loaded, &key_item)) {
        return Err(Error::InvalidRequest {
            kind: InvalidRequestKind::Tracking,
            reason: format!(
                "key attribute `{attribute}` of item {key_text} of table `{table}` changed since the item was loaded: save_changes writes the item it was loaded as (use save to write a new item)"
            ),
        });
    }
    item.validate()
        .map_err(|v| crate::request::validation_error::<M>(&table, key_text.clone(), v))?;
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
    let mut uploads = M::Files::upload(client, item, &key_item).await;
    if let Some(failure) = uploads.failure.take() {
        let error = file_error(&table, &key_text, failure);
        let mut created = uploads.stored;
        created.extend(uploads.uncertain);
        return Err(discard::<M>(client, &table, &key_text, created, error).await);
    }
    let attached = match M::Files::ENABLED {
        true => M::Files::claimed(item),
        false => Vec::new(),
    };
    let prepared = Prepared {
        table,
        key: key_text,
        key_item,
        create,
        version,
        uploaded: uploads.stored,
        attached,
        delete_cleared,
    };
    match build(client, item, prepared, expected, user, loaded).await? {
        Ok(plan) => Ok(plan),
        // The item holds a reference the remembered state does not: read what is stored.
        Err(prepared) => {
            let stored =
                read_files::<M>(client, &prepared.table, &prepared.key_item, &prepared.key).await;
            match stored {
                Ok(stored) => build_observed(client, item, prepared, stored, user, loaded).await,
                Err(error) => Err(prepared.give_up(client, item, Vec::new(), error).await),
            }
        }
    }
}

/// The error of a failed upload (or spill) of a file of the item `key` of `table`.
fn file_error(table: &str, key: &str, failure: UploadFailure) -> Error {
    Error::File {
        table: table.to_owned(),
        key: key.to_owned(),
        field: failure.field,
        source: failure.source,
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

impl Prepared {
    /// Until the write's fate is known, a failure removes the uploads (and the overflow
    /// values moved, `spilled`) and makes the files pending again.
    async fn give_up<M: Model>(
        self,
        client: &Client,
        item: &mut M,
        spilled: Vec<FileRef>,
        error: Error,
    ) -> Error {
        M::Files::settle(item, false);
        let mut created = self.uploaded;
        created.extend(spilled);
        discard::<M>(client, &self.table, &self.key, created, error).await
    }
}

/// [`build`] from a state read from the server, which is never doubted.
async fn build_observed<M: Model>(
    client: &Client,
    item: &mut M,
    prepared: Prepared,
    stored: Option<Item>,
    user: Option<&Condition<M>>,
    loaded: Option<&Item>,
) -> Result<PutPlan<M>> {
    match build(
        client,
        item,
        prepared,
        Expected::Observed(stored),
        user,
        loaded,
    )
    .await?
    {
        Ok(plan) => Ok(plan),
        Err(_) => unreachable!("an observed state is never doubted"),
    }
}

/// Builds the item and its condition expecting `expected` of the stored item (a partial
/// save's, with `loaded`: the item as loaded). `Ok(Err(..))` when the item holds a reference
/// that an unobserved expectation does not know (read the stored state, then build again);
/// nothing was sent or uploaded then.
async fn build<M: Model>(
    client: &Client,
    item: &mut M,
    prepared: Prepared,
    expected: Expected,
    user: Option<&Condition<M>>,
    loaded: Option<&Item>,
) -> Result<std::result::Result<PutPlan<M>, Prepared>> {
    let mut attributes = match assemble(item, &prepared) {
        Ok(attributes) => attributes,
        Err(error) => return Err(prepared.give_up(client, item, Vec::new(), error).await),
    };
    let observed = expected.observed();
    let guessed = matches!(expected, Expected::Guessed);
    let current = expected.into_state();
    let mut changes = match loaded {
        Some(loaded) => {
            match partial_changes::<M>(&prepared, loaded, &attributes, observed, &current) {
                Ok(changes) => Some(changes),
                Err(error) => return Err(prepared.give_up(client, item, Vec::new(), error).await),
            }
        }
        None => None,
    };
    let current_refs = current
        .as_ref()
        .map(M::Files::references)
        .unwrap_or_default();
    let mut claimed = prepared.attached.clone();
    claimed.retain(|c| !current_refs.contains(c));

    // A partial save writes (and so checks) only the file fields that changed.
    let written: Vec<FileRef> = M::Files::references(&attributes)
        .into_iter()
        .filter(|r| changes.as_ref().is_none_or(|c| c.writes(r.field)))
        .collect();
    if let Some(foreign) = foreign_reference::<M>(&written, &prepared, &claimed, &current_refs) {
        if !observed {
            return Ok(Err(prepared));
        }
        let error = match prepared.create {
            true => Error::StaleFile {
                table: prepared.table.clone(),
                key: prepared.key.clone(),
                field: foreign.field,
                object: foreign.object.to_string(),
            },
            false => conflict::<M>(&prepared.table, &prepared.key, prepared.version),
        };
        return Err(prepared.give_up(client, item, Vec::new(), error).await);
    }
    // A partial save sizes the item as it will be stored, and moves only values it writes:
    // an overflow field it does not write counts as its stored reference or, stored inline
    // (or not known), as its value, held back from the move.
    let mut held_back = Item::new();
    if let (Some(changes), true) = (&changes, M::Files::OVERFLOW) {
        as_stored::<M>(changes, current.as_ref(), &mut attributes, &mut held_back);
    }
    let limit = MAX_ITEM_SIZE.saturating_sub(item_size(&held_back));
    let mut spilled = Vec::new();
    if M::Files::OVERFLOW && item_size(&attributes) > limit {
        if changes.is_some() && guessed && !held_back.is_empty() {
            // Where the values it does not write are stored (in S3 or inline) decides the
            // move, and a guess does not know: read it.
            return Ok(Err(prepared));
        }
        let before = changes.as_ref().map(|_| attributes.clone());
        let mut moved = M::Files::spill(
            client,
            &mut attributes,
            &prepared.key_item,
            current.as_ref(),
            limit,
        )
        .await;
        let failure = moved.failure.take();
        spilled.extend(moved.stored);
        if let (Some(changes), Some(before)) = (changes.as_mut(), before) {
            changes.add_moved(&before, &attributes);
        }
        if let Some(failure) = failure {
            let error = file_error(&prepared.table, &prepared.key, failure);
            spilled.extend(moved.uncertain);
            return Err(prepared.give_up(client, item, spilled, error).await);
        }
    }
    attributes.extend(held_back);
    if let Some(error) = too_large(&prepared.table, &prepared.key, &attributes) {
        return Err(prepared.give_up(client, item, spilled, error).await);
    }
    // What the item references after the write: a partial save leaves the file fields it
    // does not write as they are stored.
    let partial = changes.map(|changes| {
        let written_files = changes.file_fields::<M>();
        let files_after = changes.files_after::<M>(current.as_ref(), &attributes);
        (changes, written_files, files_after)
    });
    let new_refs = match &partial {
        Some((_, _, after)) => M::Files::references(after),
        None => M::Files::references(&attributes),
    };

    let mut p = Placeholders::default();
    let condition = match &partial {
        Some((_, written_files, _)) => {
            partial_condition::<M>(&mut p, current.as_ref(), written_files, prepared.version)
        }
        None => put_condition::<M>(&mut p, prepared.create, current.as_ref(), prepared.version),
    };
    let condition = match with_user_condition(&mut p, condition, user, &prepared.table) {
        Ok(condition) => condition,
        Err(error) => return Err(prepared.give_up(client, item, spilled, error).await),
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
    let kept = match prepared.delete_cleared {
        true => Vec::new(),
        false => cleared.clone(),
    };
    if let Err(error) = cleanup::keep::<M>(client, &prepared.table, &prepared.key, &kept).await {
        return Err(prepared.give_up(client, item, spilled, error).await);
    }
    let dropped: Vec<FileRef> = current_refs
        .iter()
        .filter(|c| M::Files::overflow(c.field) && !new_refs.iter().any(|n| n.field == c.field))
        .cloned()
        .collect();
    let partial = partial.map(|(changes, written_files, files_after)| Partial {
        expression: changes.expression(&mut p, &attributes),
        changes,
        written_files,
        files_after,
    });
    let (names, values) = p.into_maps();
    let Prepared {
        table,
        key,
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
        key,
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
        partial,
        model: std::marker::PhantomData,
    }))
}

/// For a partial save's sizing: each overflow field of `attributes` that `changes` does not
/// write becomes its stored reference in `current`, or, when `current` has none (its value is
/// stored inline, or unknown), moves to `held_back`, so that the move to S3 never picks it.
fn as_stored<M: Model>(
    changes: &Changes,
    current: Option<&Item>,
    attributes: &mut Item,
    held_back: &mut Item,
) {
    for name in M::Files::attribute_names() {
        if !M::Files::overflow(name) || changes.writes(name) {
            continue;
        }
        match current.and_then(|c| c.get(name)) {
            Some(reference) => {
                attributes.insert(name.to_owned(), reference.clone());
            }
            None => {
                if let Some(value) = attributes.remove(name) {
                    held_back.insert(name.to_owned(), value);
                }
            }
        }
    }
}

/// What a partial save writes: the attributes of `attributes` that differ from `loaded`.
/// Refused when the item is known to be gone (`observed` with no `current`).
fn partial_changes<M: Model>(
    prepared: &Prepared,
    loaded: &Item,
    attributes: &Item,
    observed: bool,
    current: &Option<Item>,
) -> Result<Changes> {
    if M::Files::ENABLED && observed && current.is_none() {
        return Err(conflict::<M>(
            &prepared.table,
            &prepared.key,
            prepared.version,
        ));
    }
    Ok(Changes::between(loaded, attributes))
}

/// The item's attributes as the put writes them: timestamps stamped, the next version set,
/// no overflow value that would read back as a reference.
fn assemble<M: Model>(item: &mut M, prepared: &Prepared) -> Result<Item> {
    item.stamp(std::time::SystemTime::now());
    let mut attributes = item
        .to_item()
        .map_err(|e| field_error(&prepared.table, prepared.key.clone(), e))?;
    if let Some(name) = M::VERSION {
        let next = prepared.version.saturating_add(1);
        attributes.insert(name.to_owned(), AttributeValue::N(next.to_string()));
    }
    if M::Files::OVERFLOW {
        if let Some(error) = overflow_lookalike::<M>(&prepared.table, &prepared.key, &attributes) {
            return Err(error);
        }
    }
    Ok(attributes)
}

/// A reference of `written` (those the put writes) that it may not write: every file the
/// item is to reference must be one this save uploaded, one attached for it (`claimed`), or
/// one the item already holds (`current`). Writing back a reference another writer replaced (and
/// deleted), or one copied from another item, would leave an item pointing at an object that
/// is gone or not its own. (Overflow values are moved later: each is then either uploaded or
/// an object `current` holds.)
fn foreign_reference<M: Model>(
    written: &[FileRef],
    prepared: &Prepared,
    claimed: &[FileRef],
    current: &[FileRef],
) -> Option<FileRef> {
    if !M::Files::ENABLED {
        return None;
    }
    written
        .iter()
        .find(|n| !prepared.uploaded.contains(n) && !claimed.contains(n) && !current.contains(n))
        .cloned()
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

    /// Whether this is a partial save with nothing to write (nothing changed since the item
    /// was loaded): no request is sent.
    pub(crate) fn writes_nothing(&self) -> bool {
        self.partial
            .as_ref()
            .is_some_and(|partial| partial.changes.is_empty())
    }

    /// The attributes every save of `M` writes, as this one writes them: the version and
    /// the timestamps.
    pub(crate) fn stamps(&self) -> Vec<(String, AttributeValue)> {
        [M::VERSION, M::UPDATED_AT, M::CREATED_AT]
            .into_iter()
            .flatten()
            .filter_map(|name| Some((name.to_owned(), self.attributes.get(name)?.clone())))
            .collect()
    }

    /// The key attributes of the item (an UpdateItem's `Key`).
    pub(crate) fn key_item(&self) -> &Item {
        &self.key_item
    }

    /// Whether this write stores objects new to the item (whose keys prove it happened).
    pub(crate) fn has_new_files(&self) -> bool {
        self.proof().next().is_some()
    }

    /// Whether this write stops referencing overflow objects it does not replace (deleted
    /// after the commit): not knowing its fate must report them.
    pub(crate) fn drops_objects(&self) -> bool {
        !self.dropped.is_empty()
    }

    /// Whether this write moves objects: not knowing its fate must keep and name them.
    pub(crate) fn tracks_files(&self) -> bool {
        self.has_new_files() || !self.cleared.is_empty() || !self.dropped.is_empty()
    }

    /// The new objects whose keys only this write can have stored: its own uploads and
    /// claims, not shared (content-addressed) objects, whose key any write of the same
    /// content stores.
    fn proof(&self) -> impl Iterator<Item = &FileRef> {
        let written = |r: &&FileRef| {
            self.partial
                .as_ref()
                .is_none_or(|partial| partial.changes.writes(r.field))
        };
        self.uploaded
            .iter()
            .chain(&self.spilled)
            .chain(&self.claimed)
            .filter(|r| !M::Files::shared(r.field))
            .filter(written)
    }

    /// After a refused write whose expectation was not read from the server: the stored
    /// item to plan the write again from (`Some(None)`: there is none), when the refusal was
    /// that expectation's fault: the stored file references differ from the expected ones
    /// while the version (if any) is the expected one. `None` when the refusal stands: the
    /// caller's condition or version, or this write's own commit seen by an SDK retry.
    async fn stale(&self, client: &Client, failure: &Failure) -> Option<Option<Item>> {
        if self.observed {
            return None;
        }
        // A refusal carrying this write's own result: an SDK retry met its commit.
        let own = |stored: &Item| failure.retried && self.holds_this_write(stored);
        let stored =
            stored_after_refusal::<M>(client, &self.key_item, &self.table, &self.key, failure, own)
                .await?;
        let same_version = memory::version_of::<M>(stored.as_ref()) == self.version;
        // Only the file fields a partial save writes are in its condition.
        let fields = self.partial.as_ref().map(|p| p.written_files.as_slice());
        stale_files::<M>(self.current.as_ref(), stored, same_version, fields)
    }

    /// Plans the write again after [`stale`](Self::stale) found the stored item `stored`:
    /// the files this save uploaded are kept; kept marks and moved overflow values are
    /// undone and made again from the stored references.
    async fn rebase(
        self,
        client: &Client,
        item: &mut M,
        stored: Option<Item>,
        user: Option<&Condition<M>>,
        loaded: Option<&Item>,
    ) -> Result<PutPlan<M>> {
        remember::<M>(client, &self.table, &self.key_item, stored.as_ref());
        cleanup::unkeep::<M>(client, self.kept).await;
        let mut uploaded = self.uploaded;
        let mut left = cleanup::remove::<M>(client, self.spilled).await.into_iter();
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
        build_observed(client, item, prepared, stored, user, loaded).await
    }

    /// Step 4: after a committed write, sets the new version, deletes the replaced objects
    /// and remembers the item's new file state; after a failed one, deletes what this write
    /// uploaded and undoes its kept marks; after an unknown one, keeps them and names them.
    /// `Err` carries the write's own error when it failed.
    pub(crate) async fn finish(
        self,
        client: &Client,
        item: &mut M,
        outcome: WriteOutcome,
        error: Option<Error>,
    ) -> Result<()> {
        let id = match M::Files::ENABLED {
            true => memory::item_id::<M>(&self.table, &self.key_item),
            false => None,
        };
        // A failed write always brings its error (the driver's, or a transaction's); built
        // only then, never on the committed path.
        let error = |table: &str, key: &str| {
            error.unwrap_or_else(|| Error::InvalidRequest {
                kind: InvalidRequestKind::Build,
                reason: format!("write of item {key} of table `{table}`"),
            })
        };
        match outcome {
            WriteOutcome::Committed => {
                if let Some(id) = id {
                    let after = match &self.partial {
                        Some(partial) => &partial.files_after,
                        None => &self.attributes,
                    };
                    client.memory().remember(id, memory::file_state::<M>(after));
                }
                M::Files::settle(item, true);
                item.set_version(self.version.saturating_add(1));
                let mut unreferenced = replaced::<M>(self.current_refs, &self.new_refs);
                if self.delete_cleared {
                    unreferenced.extend(self.cleared);
                }
                remove_unreferenced::<M>(client, &self.table, &self.key, unreferenced).await
            }
            WriteOutcome::NotCommitted => {
                if let Some(id) = id {
                    client.memory().forget(&id);
                }
                M::Files::settle(item, false);
                cleanup::unkeep::<M>(client, self.kept).await;
                let mut created = self.uploaded;
                created.extend(self.spilled);
                let error = error(&self.table, &self.key);
                Err(discard::<M>(client, &self.table, &self.key, created, error).await)
            }
            // New objects and kept marks stay (the item may reference and rely on them); a
            // cleared file to delete may be left unreferenced: all are named.
            WriteOutcome::Unknown => {
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
                let error = error(&self.table, &self.key);
                Err(cleanup::unknown(&self.table, &self.key, objects, error))
            }
        }
    }
}

impl<M: Model> Evidence for PutPlan<M> {
    /// It holds one of this write's new objects, whose fresh keys no other write can store
    /// (not all of them: a later writer may have replaced some already); without new
    /// objects, it is equal to it (a partial save: in what it wrote).
    fn holds_this_write(&self, stored: &Item) -> bool {
        if self.has_new_files() {
            let now = M::Files::references(stored);
            self.proof().any(|u| now.contains(u))
        } else if let Some(partial) = &self.partial {
            // Only what this write wrote: others may have changed the rest since.
            partial.changes.held_by::<M>(stored, &self.attributes)
        } else {
            same_item(stored, &self.attributes)
        }
    }

    async fn read_back(&self, client: &Client, may_have_retried: bool) -> Option<bool> {
        // Shared objects prove nothing by their keys: then the whole item must be this write's.
        let files_only = self.has_new_files();
        let moves_objects = !self.cleared.is_empty()
            || !self.uploaded.is_empty()
            || !self.spilled.is_empty()
            || !self.dropped.is_empty();
        if !files_only && !may_have_retried && !moves_objects {
            return None;
        }
        let stored =
            read_back::<M>(client, &self.table, &self.key_item, &self.key, files_only).await?;
        Some(stored.is_some_and(|s| self.holds_this_write(&s)))
    }
}

/// A put as the driver runs it: the plan, the item it writes, and the caller's condition
/// (for planning again). The request itself is `ops/save.rs`'s.
pub(crate) struct PutWrite<'a, M: Model> {
    pub(crate) plan: PutPlan<M>,
    pub(crate) item: &'a mut M,
    pub(crate) user: Option<&'a Condition<M>>,
    /// A partial save's loaded state.
    pub(crate) loaded: Option<&'a Item>,
}

impl<M: Model> Write for PutWrite<'_, M>
where
    PutPlan<M>: Request<Answer = ()>,
{
    type Carried = Option<Item>;
    type Sent = ();
    type Done = ();

    forward_to_plan!();

    async fn rebase(self, client: &Client, stored: Option<Item>) -> Result<Option<Self>> {
        let PutWrite {
            plan,
            item,
            user,
            loaded,
        } = self;
        let plan = plan.rebase(client, item, stored, user, loaded).await?;
        Ok(Some(PutWrite {
            plan,
            item,
            user,
            loaded,
        }))
    }

    async fn finish(
        self,
        client: &Client,
        outcome: WriteOutcome,
        answer: std::result::Result<(), Error>,
    ) -> Result<()> {
        self.plan
            .finish(client, self.item, outcome, answer.err())
            .await
    }
}
