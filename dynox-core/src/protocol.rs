//! The two-store protocol: the one engine every write path runs for models whose files live
//! in another store ([`FileStore`]). Save, create, delete, transactions and
//! `save_all`/`delete_all` all go through these steps; the operations only build and send
//! their request.
//!
//! 1. **plan**: read the item's current file references (consistent GetItem, file attributes
//!    only; skipped by `create`), upload the pending files under fresh, never reused keys
//!    ([`FileStore::upload`]), and build the item and its condition: the file attributes (and
//!    version) are still what was read, so a concurrent writer's objects are never
//!    re-referenced or lost;
//! 2. **write** (the operation sends PutItem, DeleteItem or TransactWriteItems);
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
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
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

/// Counts the attempts the SDK made of one request (its retries included), so a refusal can
/// be told apart from the answer to a retry of a request that already took effect. An
/// interceptor for any AWS SDK client's request (`.customize().interceptor(..)`); companion
/// crates reach it through `__private`.
#[derive(Debug, Clone, Default)]
pub struct Attempts(Arc<AtomicU32>);

impl Attempts {
    /// Whether more than one attempt was sent: an earlier one may have taken effect.
    pub fn retried(&self) -> bool {
        self.0.load(Ordering::Relaxed) > 1
    }
}

impl Intercept for Attempts {
    fn name(&self) -> &'static str {
        "dynox::Attempts"
    }

    fn read_before_transmit(
        &self,
        _: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> std::result::Result<(), aws_sdk_dynamodb::error::BoxError> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

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

/// A put of one item, ready to send: its files are uploaded, its condition built.
pub(crate) struct PutPlan<M: Model> {
    pub(crate) table: String,
    pub(crate) key: String,
    key_item: Item,
    create: bool,
    version: u64,
    current_refs: Vec<FileRef>,
    uploaded: Vec<FileRef>,
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

/// Step 1 of a put: reads the file references the write replaces, uploads the pending files
/// and builds the item and its condition. On error, nothing it uploaded is left (or the
/// error is a [`Error::CleanupFailed`] naming what is).
pub(crate) async fn plan_put<M: Model>(
    client: &Client,
    item: &mut M,
    create: bool,
    user: Option<&Condition<M>>,
    delete_cleared: bool,
) -> Result<PutPlan<M>> {
    let table = client.table_name::<M>();
    let key = item.key();
    let key_text = key.to_string();
    let key_item = key
        .to_item()
        .map_err(|e| ops::field_error(&table, key_text.clone(), e))?;
    let version = item.version();

    let current = if M::Files::ENABLED && !create {
        read_files::<M>(client, &table, &key_item, &key_text).await?
    } else {
        None
    };
    let Some(next_version) = version.checked_add(1) else {
        return Err(Error::InvalidRequest {
            kind: InvalidRequestKind::VersionExhausted,
            reason: format!("item {key_text} of table `{table}` is at the largest version"),
        });
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
    let mut uploaded = uploads.stored;

    // Until the write's fate is known, a failure here removes the uploads and makes the files
    // pending again.
    macro_rules! give_up {
        ($error:expr) => {{
            let error = $error;
            M::Files::settle(item, false);
            return Err(discard::<M>(client, &table, &key_text, uploaded, error).await);
        }};
    }

    item.stamp(std::time::SystemTime::now());
    let mut attributes = match item.to_item() {
        Ok(attributes) => attributes,
        Err(e) => give_up!(ops::field_error(&table, key_text.clone(), e)),
    };
    if let Some(name) = M::VERSION {
        attributes.insert(name.to_owned(), AttributeValue::N(next_version.to_string()));
    }
    if M::Files::OVERFLOW {
        if let Some(error) = overflow_lookalike::<M>(&table, &key_text, &attributes) {
            give_up!(error);
        }
        if crate::item::item_size(&attributes) > crate::item::MAX_ITEM_SIZE {
            let spilled = M::Files::spill(
                client,
                &mut attributes,
                &key_item,
                current.as_ref(),
                crate::item::MAX_ITEM_SIZE,
            )
            .await;
            uploaded.extend(spilled.stored);
            if let Some(failure) = spilled.failure {
                uploaded.extend(spilled.uncertain);
                give_up!(Error::File {
                    table: table.clone(),
                    key: key_text.clone(),
                    field: failure.field,
                    source: failure.source,
                });
            }
        }
    }
    if let Some(error) = too_large(&table, &key_text, &attributes) {
        give_up!(error);
    }
    let new_refs = M::Files::references(&attributes);
    let current_refs = current
        .as_ref()
        .map(M::Files::references)
        .unwrap_or_default();
    let mut claimed = M::Files::claimed(item);
    claimed.retain(|c| !current_refs.contains(c));

    // Every file the item is to reference must be one this save uploaded, one attached for
    // it, or one the item already holds: writing back a reference another writer replaced
    // (and deleted), or one copied from another item, would leave an item pointing at an
    // object that is gone or not its own.
    if M::Files::ENABLED {
        let foreign = new_refs
            .iter()
            .find(|n| !uploaded.contains(n) && !claimed.contains(n) && !current_refs.contains(n));
        if let Some(foreign) = foreign {
            give_up!(if create {
                Error::StaleFile {
                    table: table.clone(),
                    key: key_text.clone(),
                    field: foreign.field,
                    object: foreign.object.to_string(),
                }
            } else {
                conflict::<M>(&table, &key_text, version)
            });
        }
    }

    let mut p = Placeholders::default();
    let condition = put_condition::<M>(&mut p, create, current.as_ref(), version);
    let condition = match with_user_condition(&mut p, condition, user, &table) {
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
    let kept = if delete_cleared || cleared.is_empty() {
        Vec::new()
    } else {
        let failed = M::Files::keep(client, cleared.clone()).await;
        if let Some((object, source)) = failed.into_iter().next() {
            M::Files::unkeep(client, cleared).await;
            give_up!(Error::File {
                table: table.clone(),
                key: key_text.clone(),
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
    Ok(PutPlan {
        dropped,
        table,
        key: key_text,
        key_item,
        create,
        version,
        current_refs,
        uploaded,
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
    })
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
            .chain(&self.claimed)
            .filter(|r| !M::Files::shared(r.field))
    }

    /// Step 4: after a committed write, sets the new version and deletes the replaced
    /// objects; after a failed one, deletes what this write uploaded; after an unknown one,
    /// keeps them and reports them.
    pub(crate) async fn finish(
        self,
        client: &Client,
        item: &mut M,
        outcome: Outcome,
    ) -> Result<()> {
        match outcome {
            Outcome::Committed => {
                M::Files::settle(item, true);
                item.set_version(self.version.saturating_add(1));
                let mut unreferenced = replaced::<M>(self.current_refs, &self.new_refs);
                if self.delete_cleared {
                    unreferenced.extend(self.cleared);
                }
                remove_unreferenced::<M>(client, &self.table, &self.key, unreferenced).await
            }
            Outcome::NotCommitted(error) => {
                M::Files::settle(item, false);
                if !self.kept.is_empty() {
                    M::Files::unkeep(client, self.kept).await;
                }
                Err(discard::<M>(client, &self.table, &self.key, self.uploaded, error).await)
            }
            // New objects and kept marks stay (the item may reference and rely on them); a
            // cleared file to delete may be left unreferenced: all are named.
            Outcome::Unknown(error) => {
                M::Files::settle(item, false);
                let mut objects = unshared::<M>(self.uploaded);
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
    pub(crate) names: Option<HashMap<String, String>>,
    pub(crate) values: Option<HashMap<String, AttributeValue>>,
    model: std::marker::PhantomData<fn() -> M>,
}

/// Step 1 of a delete: reads the item's file references and builds the condition; `None`
/// when a model with files has no such item (and no version or condition is expected):
/// there is nothing to delete.
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
        .map_err(|e| ops::field_error(&table, key_text.clone(), e))?;
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
    fn write_error(&self, error: Error) -> Error {
        match error {
            error @ Error::ConditionFailed { .. } if self.user_condition => error,
            Error::ConditionFailed { .. } => {
                conflict::<M>(&self.table, &self.key, self.version.unwrap_or(0))
            }
            other => other,
        }
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
