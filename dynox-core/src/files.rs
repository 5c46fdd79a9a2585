//! The seam between the two-store protocol and the store that keeps file content: the
//! [`FileStore`] trait a companion crate implements (`dynox-s3` for `#[s3]` fields), and the
//! values it exchanges with the protocol ([`ObjectRef`], [`FileRef`], [`Uploads`]).
//!
//! dynox-core knows nothing about S3. The order of the steps, the rollback after a failed
//! write and every error the caller sees live in one place, `protocol/`; a store only
//! uploads, reads references out of items, and deletes objects when told to.

use std::future::Future;
use std::pin::Pin;

use crate::error::BoxError;
use crate::item::Item;
use crate::reference::FileRef;
use crate::Client;

/// The single key of the map that stands in an item for the value of an overflow field
/// (`#[s3(overflow)]`) once the value has moved to the store: `{"__dynox_s3": {object}}`. An
/// inline value of an overflow field may not be a map with this key.
pub const OVERFLOW_KEY: &str = "__dynox_s3";

/// A boxed future borrowing for `'a`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What [`FileStore::upload`] did: the objects it stored and, if one upload failed, why and
/// which objects may exist although their upload did not report success.
///
/// The store does not clean up after a failure: the protocol removes `stored` and
/// `uncertain` and reports what it could not remove, once, for every write path.
#[derive(Debug, Default)]
pub struct Uploads {
    /// Objects fully stored and verified, now referenced by the item's fields.
    pub stored: Vec<FileRef>,
    /// Objects whose upload failed after a request may have reached the store (a lost
    /// response): they may exist. An upload that failed before any byte could be stored (no
    /// connection) is not listed.
    pub uncertain: Vec<FileRef>,
    /// The first failure, if any upload failed.
    pub failure: Option<UploadFailure>,
}

/// Why one file of an item could not be uploaded (or, from [`FileStore::inflate`],
/// downloaded).
#[derive(Debug)]
pub struct UploadFailure {
    /// The file field's attribute name.
    pub field: &'static str,
    /// The store's error (for S3 fields, a `dynox_s3::S3Error`).
    pub source: BoxError,
}

/// The external storage of a model's file fields. Implemented by `dynox-s3`; called only by
/// `protocol/`.
pub trait FileStore<M>: Send + Sync + 'static {
    /// Whether the model has file fields at all; write paths skip every file step when not.
    const ENABLED: bool;

    /// Uploads every pending file of `item` (whose key attributes are `key`) under fresh,
    /// never reused object keys, and turns each uploaded field into a stored reference.
    /// Reports what it created, and the failure if one upload failed; it removes nothing.
    fn upload<'a>(client: &'a Client, item: &'a mut M, key: &'a Item) -> BoxFuture<'a, Uploads>;

    /// The objects a stored item references.
    fn references(item: &Item) -> Vec<FileRef>;

    /// The attribute names of the file fields.
    fn attribute_names() -> Vec<&'static str>;

    /// The buckets the file fields declare (before the client's settings map them), each
    /// once, for tools that set up a model's storage (the test kit).
    fn buckets() -> Vec<&'static str> {
        Vec::new()
    }

    /// Whether the objects of file field `field` are shared between items (content-addressed:
    /// identical content is one object). The protocol never deletes or marks a shared object,
    /// and never takes one as proof that a write happened (another write can store the same
    /// key): the store's garbage collection removes it once no item references it.
    fn shared(field: &'static str) -> bool {
        let _ = field;
        false
    }

    /// Whether some field is an overflow field (`#[s3(overflow)]`): an ordinary attribute kept
    /// inline while the item fits DynamoDB's 400 KB and moved to the store when it would not.
    /// Reads then [`inflate`](Self::inflate) every item, and puts may [`spill`](Self::spill).
    const OVERFLOW: bool = false;

    /// Whether `field` is an overflow field. Its object belongs to the item's value, not to
    /// the user: a write that stores the value inline again (or drops the field) deletes it
    /// after the commit; it is never marked kept.
    fn overflow(field: &str) -> bool {
        let _ = field;
        false
    }

    /// Moves overflow fields of `attributes` (the item about to be written, whose key
    /// attributes are `key`) to the store, largest first, until the item fits in `limit`
    /// bytes. A field whose value the stored item `current` already keeps in the store, with
    /// the same content, reuses that object. Reports what it uploaded, as
    /// [`upload`](Self::upload) does; it removes nothing.
    fn spill<'a>(
        client: &'a Client,
        attributes: &'a mut Item,
        key: &'a Item,
        current: Option<&'a Item>,
        limit: usize,
    ) -> BoxFuture<'a, Uploads> {
        let _ = (client, attributes, key, current, limit);
        Box::pin(async { Uploads::default() })
    }

    /// Puts back, in an item just read, the values of overflow fields that were moved to the
    /// store, so the item decodes as if they were inline. On failure, names the field.
    fn inflate<'a>(
        client: &'a Client,
        item: &'a mut Item,
    ) -> BoxFuture<'a, Result<(), UploadFailure>> {
        let _ = (client, item);
        Box::pin(async { Ok(()) })
    }

    /// Stored objects the item is to reference for the first time that this save did not
    /// upload (attached after a direct, presigned upload). They may be written although the
    /// item does not hold them yet; a failed write leaves them in place (the caller may retry;
    /// the sweep removes them if they are never attached).
    fn claimed(item: &mut M) -> Vec<FileRef>;

    /// After the write that followed [`upload`](Self::upload): when it committed, the files
    /// are settled as stored; when it did not (and the uploads were removed), they become
    /// pending again, so a retried save uploads them anew instead of writing a reference to a
    /// removed object.
    fn settle(item: &mut M, committed: bool);

    /// Marks objects the item is about to stop referencing because the user cleared their
    /// fields and keeps the files: no cleanup (the orphan sweep included) may delete a marked
    /// object. Called before the write that drops the references; returns the objects that
    /// could not be marked, with the reason (the write is then not sent).
    fn keep<'a>(client: &'a Client, refs: Vec<FileRef>) -> BoxFuture<'a, Vec<(FileRef, BoxError)>>;

    /// Removes the marks [`keep`](Self::keep) made, after the write did not happen (the item
    /// still references the objects). Best effort: a mark left on a referenced object changes
    /// nothing.
    fn unkeep<'a>(client: &'a Client, refs: Vec<FileRef>) -> BoxFuture<'a, ()>;

    /// Deletes objects; returns those that could not be deleted, with the reason. An object
    /// that is already gone counts as deleted.
    fn remove<'a>(
        client: &'a Client,
        refs: Vec<FileRef>,
    ) -> BoxFuture<'a, Vec<(FileRef, BoxError)>>;

    /// Lets go of objects a committed write stopped referencing (a replaced or deleted file,
    /// an overflow value stored inline again): deletes them now, or, for a field with a
    /// retention (`#[s3(retain = "...")]` or the client's default), leaves them readable
    /// until the retention has passed, for the sweep to delete then. Readers that read the
    /// item a moment before the write (an eventually consistent query, a link already handed
    /// out) can still fetch them. Returns the objects it could neither delete nor retain.
    fn retire<'a>(
        client: &'a Client,
        refs: Vec<FileRef>,
    ) -> BoxFuture<'a, Vec<(FileRef, BoxError)>> {
        Self::remove(client, refs)
    }
}

/// The attribute path a read of `M`'s file references projects for file attribute `name`:
/// the attribute itself, or for an overflow field only its reference (`name.__dynox_s3`), so
/// an inline value (up to 400 KB) is not read to learn that there is no object.
pub(crate) fn reference_path<M, F: FileStore<M>>(
    p: &mut crate::expr::Placeholders,
    name: &str,
) -> String {
    let path = p.name(name);
    if F::overflow(name) {
        format!("{path}.{}", p.name(OVERFLOW_KEY))
    } else {
        path
    }
}

/// The [`FileStore`] of models without file fields: every step is a no-op.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoFiles;

impl<M: Send + 'static> FileStore<M> for NoFiles {
    const ENABLED: bool = false;

    fn upload<'a>(_: &'a Client, _: &'a mut M, _: &'a Item) -> BoxFuture<'a, Uploads> {
        Box::pin(async { Uploads::default() })
    }

    fn references(_: &Item) -> Vec<FileRef> {
        Vec::new()
    }

    fn attribute_names() -> Vec<&'static str> {
        Vec::new()
    }

    fn claimed(_: &mut M) -> Vec<FileRef> {
        Vec::new()
    }

    fn settle(_: &mut M, _: bool) {}

    fn keep<'a>(_: &'a Client, _: Vec<FileRef>) -> BoxFuture<'a, Vec<(FileRef, BoxError)>> {
        Box::pin(async { Vec::new() })
    }

    fn unkeep<'a>(_: &'a Client, _: Vec<FileRef>) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }

    fn remove<'a>(_: &'a Client, _: Vec<FileRef>) -> BoxFuture<'a, Vec<(FileRef, BoxError)>> {
        Box::pin(async { Vec::new() })
    }
}
