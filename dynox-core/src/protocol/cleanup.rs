//! Step 4's object work: after a write committed, delete what it replaced; after it did not,
//! delete what it uploaded; marks of kept files; and the error naming whatever is left.
//!
//! Shared (content-addressed) objects are never deleted or marked here: another item may
//! reference one, and the store's garbage collection removes it once none does.

use crate::error::BoxError;
use crate::error::{Error, Result, WriteOutcome};
use crate::files::{BoxFuture, FileStore};
use crate::model::Model;
use crate::reference::FileRef;
use crate::Client;

/// After a write that did not happen: removes `created` (what it uploaded), and returns the
/// error to report: `error` itself, or a [`Error::CleanupFailed`] naming what is left.
pub(crate) async fn discard<M: Model>(
    client: &Client,
    table: &str,
    key: &str,
    created: Vec<FileRef>,
    error: Error,
) -> Error {
    let left = remove::<M>(client, created).await;
    if left.is_empty() {
        return error;
    }
    cleanup_failures(table, left.len());
    Error::CleanupFailed {
        table: table.to_owned(),
        key: key.to_owned(),
        write: WriteOutcome::NotCommitted,
        objects: left.into_iter().map(|(r, _)| r).collect(),
        source: Box::new(error),
    }
}

/// After a committed write or delete: lets go of the objects no longer referenced (deleted
/// now, or kept readable for their field's retention: [`FileStore::retire`]).
pub(crate) async fn remove_unreferenced<M: Model>(
    client: &Client,
    table: &str,
    key: &str,
    refs: Vec<FileRef>,
) -> Result<()> {
    let retire = <M::Files as FileStore<M>>::retire;
    let mut left = on_unshared::<M>(client, refs, retire).await.into_iter();
    let Some((first, source)) = left.next() else {
        return Ok(());
    };
    cleanup_failures(table, 1 + left.len());
    Err(Error::CleanupFailed {
        table: table.to_owned(),
        key: key.to_owned(),
        write: WriteOutcome::Committed,
        objects: std::iter::once(first).chain(left.map(|(r, _)| r)).collect(),
        source,
    })
}

/// Deletes the unshared objects of `refs`; returns those that could not be deleted.
pub(crate) async fn remove<M: Model>(
    client: &Client,
    refs: Vec<FileRef>,
) -> Vec<(FileRef, crate::error::BoxError)> {
    on_unshared::<M>(client, refs, <M::Files as FileStore<M>>::remove).await
}

/// A store's delete or retire ([`FileStore::remove`], [`FileStore::retire`]): objects in,
/// the ones it could not deal with out.
type StoreOp = for<'a> fn(&'a Client, Vec<FileRef>) -> BoxFuture<'a, Vec<(FileRef, BoxError)>>;

/// A store's delete or retire, given the unshared objects of `refs` (no call when there are
/// none); returns the objects it could not deal with.
async fn on_unshared<M: Model>(
    client: &Client,
    refs: Vec<FileRef>,
    store: StoreOp,
) -> Vec<(FileRef, BoxError)> {
    let refs = unshared::<M>(refs);
    if refs.is_empty() {
        return Vec::new();
    }
    store(client, refs).await
}

/// Marks `refs` as kept before a write that stops referencing them. On failure every mark is
/// undone and the error names the field whose object could not be marked.
pub(crate) async fn keep<M: Model>(
    client: &Client,
    table: &str,
    key: &str,
    refs: &[FileRef],
) -> Result<()> {
    if refs.is_empty() {
        return Ok(());
    }
    let failed = M::Files::keep(client, refs.to_vec()).await;
    let Some((object, source)) = failed.into_iter().next() else {
        return Ok(());
    };
    unkeep::<M>(client, refs.to_vec()).await;
    Err(Error::File {
        table: table.to_owned(),
        key: key.to_owned(),
        field: object.field,
        source,
    })
}

/// Undoes [`keep`]'s marks after the write did not happen (the item still references them).
pub(crate) async fn unkeep<M: Model>(client: &Client, refs: Vec<FileRef>) {
    if !refs.is_empty() {
        M::Files::unkeep(client, refs).await;
    }
}

/// `refs` without shared objects: no write deletes one (another item may reference it; the
/// store's garbage collection removes it once none does).
pub(crate) fn unshared<M: Model>(mut refs: Vec<FileRef>) -> Vec<FileRef> {
    refs.retain(|r| !M::Files::shared(r.field));
    refs
}

/// The objects an old item referenced that the new item replaced with another object.
///
/// A field the new item leaves empty keeps its old object: clearing an optional file field
/// removes the reference, not the file.
///
/// An overflow field's object holds the field's value, not a file: it is unreferenced as soon
/// as the item holds the value inline again (or not at all).
pub(crate) fn replaced<M: Model>(old: Vec<FileRef>, new: &[FileRef]) -> Vec<FileRef> {
    old.into_iter()
        .filter(|o| match new.iter().find(|n| n.field == o.field) {
            Some(n) => n.object != o.object,
            None => M::Files::overflow(o.field),
        })
        .collect()
}

/// The error of a write whose fate is unknown, naming `objects`, which it leaves in place
/// (new objects the item may reference, kept marks it may rely on, objects it may have
/// stopped referencing); `error` alone when there are none.
pub(crate) fn unknown(table: &str, key: &str, objects: Vec<FileRef>, error: Error) -> Error {
    if objects.is_empty() {
        return error;
    }
    cleanup_failures(table, objects.len());
    Error::CleanupFailed {
        table: table.to_owned(),
        key: key.to_owned(),
        write: WriteOutcome::Unknown,
        objects,
        source: Box::new(error),
    }
}

/// Counts `n` objects of `table` a call could not remove (`dynox_cleanup_failures_total`).
pub(crate) fn cleanup_failures(table: &str, n: usize) {
    crate::metrics::count(
        "dynox_cleanup_failures_total",
        &[("table", table)],
        n as u64,
    );
}
