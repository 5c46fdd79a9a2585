//! Fields whose content lives outside DynamoDB (S3 files), and the steps every write path runs
//! for them. dynox-core knows nothing about S3: `dynox-s3` implements [`FileStore`], and the
//! derive picks it for models with `#[s3]` fields ([`NoFiles`] otherwise).
//!
//! The order is fixed here, once, for every write path:
//! 1. [`FileStore::upload`] stores pending content under fresh, never-reused object keys;
//! 2. the item is written;
//! 3. on failure, the objects of step 1 are removed ([`FileStore::remove`]); on success, the
//!    objects the old item referenced and the new one replaced are removed.
//!
//! An object is therefore deleted only after the item that stopped referencing it committed,
//! and an item never references an object that was not fully uploaded.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use crate::error::{BoxError, Result};
use crate::item::Item;
use crate::Client;

/// A boxed future borrowing for `'a`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One stored object referenced by a field of an item.
#[derive(Debug, Clone, PartialEq)]
pub struct FileRef<R> {
    /// The attribute name of the field.
    pub field: &'static str,
    /// Where the object is.
    pub object: R,
}

/// The external storage of a model's file fields. Implemented by `dynox-s3`.
pub trait FileStore<M>: Send + Sync + 'static {
    /// A reference to one stored object (bucket, key, version).
    type Ref: Clone + PartialEq + fmt::Display + fmt::Debug + Send + Sync + 'static;

    /// Whether the model has file fields at all; write paths skip every file step when not.
    const ENABLED: bool;

    /// Uploads every pending file of `item` and turns it into a stored reference. Returns the
    /// objects created, which the caller removes if the item write fails. On error, nothing
    /// this call created is left behind.
    fn upload<'a>(
        client: &'a Client,
        item: &'a mut M,
    ) -> BoxFuture<'a, Result<Vec<FileRef<Self::Ref>>>>;

    /// The objects a stored item references.
    fn references(item: &Item) -> Vec<FileRef<Self::Ref>>;

    /// The attribute names of the file fields.
    fn attribute_names() -> Vec<&'static str>;

    /// Stored objects the item is to reference for the first time that this save did not
    /// upload (attached after a direct, presigned upload). They may be written although the
    /// item does not hold them yet; a failed write leaves them in place (the caller may retry;
    /// the sweep removes them if they are never attached).
    fn claimed(item: &mut M) -> Vec<FileRef<Self::Ref>>;

    /// After the write that followed [`upload`](Self::upload): when it committed, the files
    /// are settled as stored; when it did not (and the uploads were removed), they become
    /// pending again, so a retried save uploads them anew instead of writing a reference to a
    /// removed object.
    fn settle(item: &mut M, committed: bool);

    /// Deletes objects; returns those that could not be deleted, with the reason.
    fn remove<'a>(
        client: &'a Client,
        refs: Vec<FileRef<Self::Ref>>,
    ) -> BoxFuture<'a, Vec<(FileRef<Self::Ref>, BoxError)>>;
}

/// The [`FileStore`] of models without file fields: every step is a no-op.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoFiles;

/// The reference type of [`NoFiles`]; never constructed.
#[derive(Debug, Clone, PartialEq)]
pub enum NoRef {}

impl fmt::Display for NoRef {
    fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {}
    }
}

impl<M: Send + 'static> FileStore<M> for NoFiles {
    type Ref = NoRef;
    const ENABLED: bool = false;

    fn upload<'a>(_: &'a Client, _: &'a mut M) -> BoxFuture<'a, Result<Vec<FileRef<NoRef>>>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    fn references(_: &Item) -> Vec<FileRef<NoRef>> {
        Vec::new()
    }

    fn attribute_names() -> Vec<&'static str> {
        Vec::new()
    }

    fn claimed(_: &mut M) -> Vec<FileRef<NoRef>> {
        Vec::new()
    }

    fn settle(_: &mut M, _: bool) {}

    fn remove<'a>(
        _: &'a Client,
        _: Vec<FileRef<NoRef>>,
    ) -> BoxFuture<'a, Vec<(FileRef<NoRef>, BoxError)>> {
        Box::pin(async { Vec::new() })
    }
}

/// The objects an old item referenced that the new item replaced with another object.
///
/// A field the new item leaves empty keeps its old object: clearing an optional file field
/// removes the reference, not the file.
pub(crate) fn replaced<R: PartialEq>(old: Vec<FileRef<R>>, new: &[FileRef<R>]) -> Vec<FileRef<R>> {
    old.into_iter()
        .filter(|o| {
            let now = new.iter().find(|n| n.field == o.field);
            now.is_some_and(|n| n.object != o.object)
        })
        .collect()
}
