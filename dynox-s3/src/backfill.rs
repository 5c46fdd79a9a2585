//! Changes for [`Backfill`](dynox_core::Backfill) that move content between an inline
//! attribute and a file field: a table that adopts dynox moves its large inline strings or
//! binaries into `#[s3]` files ([`inline_to_file`]), and back ([`file_to_inline`]).
//!
//! During the move the model keeps both: the inline attribute as an `Option` field (the
//! attribute name the items already have, with `#[dynamo(rename = "...")]` if the field is
//! named otherwise) and the file field, an `Option<S3Object>`. Each item moved is saved
//! through the two-store protocol like any save: the file is uploaded first, the item is
//! written conditionally (on still existing, and on its version if it has one), and an
//! upload whose write did not commit is removed. Once the backfill reports every item done,
//! the inline field can leave the model.
//!
//! ```no_run
//! use dynox_core::{Client, DynamoModel};
//! use dynox_s3::{backfill, S3Object};
//!
//! #[derive(DynamoModel)]
//! #[dynamo(table = "reports")]
//! struct Report {
//!     #[dynamo(hash_key)]
//!     id: String,
//!     /// What the items stored inline until now.
//!     body: Option<String>,
//!     #[s3(bucket = "reports", prefix = "body/")]
//!     body_file: Option<S3Object>,
//! }
//!
//! # async fn demo(client: &Client) -> dynox_core::Result<()> {
//! let to_file = backfill::inline_to_file(
//!     |r: &mut Report| (&mut r.body, &mut r.body_file),
//!     backfill::MoveToFile::named("body.txt").content_type("text/plain").min_size(10_000),
//! );
//! let report = client
//!     .backfill::<Report>()
//!     .segments(4)
//!     .checkpoint("reports-body.checkpoint")
//!     .run(to_file)
//!     .await?;
//! assert!(report.complete && report.failed == 0);
//! # Ok(()) }
//! ```

use std::future::Future;

use bytes::Bytes;
use dynox_core::{BackfillChange, BoxError, Client, Model};

use crate::S3Object;

/// Content an inline attribute holds: a string (UTF-8) or bytes.
pub trait InlineContent: Sized + Send + 'static {
    /// The content's bytes.
    fn to_bytes(&self) -> Bytes;
    /// The content of `bytes`, or why they cannot be this type.
    fn from_bytes(bytes: Bytes) -> Result<Self, BoxError>;
}

impl InlineContent for String {
    fn to_bytes(&self) -> Bytes {
        Bytes::copy_from_slice(self.as_bytes())
    }

    fn from_bytes(bytes: Bytes) -> Result<Self, BoxError> {
        Ok(String::from_utf8(bytes.to_vec())?)
    }
}

impl InlineContent for Vec<u8> {
    fn to_bytes(&self) -> Bytes {
        Bytes::copy_from_slice(self)
    }

    fn from_bytes(bytes: Bytes) -> Result<Self, BoxError> {
        Ok(bytes.to_vec())
    }
}

impl InlineContent for Bytes {
    fn to_bytes(&self) -> Bytes {
        self.clone()
    }

    fn from_bytes(bytes: Bytes) -> Result<Self, BoxError> {
        Ok(bytes)
    }
}

/// How [`inline_to_file`] makes a file of an inline value.
#[derive(Debug, Clone)]
pub struct MoveToFile {
    file_name: String,
    content_type: Option<String>,
    min_size: usize,
}

impl MoveToFile {
    /// Files named `file_name` (the last segment of the object key; the content type is
    /// guessed from its extension unless set).
    pub fn named(file_name: impl Into<String>) -> Self {
        Self {
            file_name: file_name.into(),
            content_type: None,
            min_size: 0,
        }
    }

    /// The files' content type.
    pub fn content_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = Some(content_type.into());
        self
    }

    /// Only values of at least `bytes` bytes move; smaller ones stay inline.
    pub fn min_size(mut self, bytes: usize) -> Self {
        self.min_size = bytes;
        self
    }
}

/// The fields a move reads and writes: the inline value and the file.
pub type Fields<M, V> = fn(&mut M) -> (&mut Option<V>, &mut Option<S3Object>);

/// The future of a change that downloads ([`file_to_inline`]).
pub type ChangeFuture<M> =
    std::pin::Pin<Box<dyn Future<Output = Result<BackfillChange<M>, BoxError>> + Send>>;

/// A backfill change that moves each item's inline value (of at least the minimum size, with
/// no file yet) into a new file and clears the inline value. Items already moved, or whose
/// value is smaller, are left unchanged, so a resumed or repeated run does nothing twice.
pub fn inline_to_file<M, V>(
    fields: Fields<M, V>,
    how: MoveToFile,
) -> impl Fn(M) -> std::future::Ready<Result<BackfillChange<M>, BoxError>> + Send + Sync + 'static
where
    M: Model,
    V: InlineContent,
{
    move |mut model: M| {
        let (inline, file) = fields(&mut model);
        let movable = file.is_none()
            && inline
                .as_ref()
                .is_some_and(|v| v.to_bytes().len() >= how.min_size);
        if !movable {
            return std::future::ready(Ok(BackfillChange::Unchanged));
        }
        if let Some(value) = inline.take() {
            let mut moved = S3Object::from_bytes(value.to_bytes(), how.file_name.clone());
            if let Some(content_type) = &how.content_type {
                moved = moved.with_content_type(content_type.clone());
            }
            *file = Some(moved);
        }
        std::future::ready(Ok(BackfillChange::Save(model)))
    }
}

/// A backfill change that moves each item's file back into its inline value: the file is
/// downloaded (and verified), the value set and the file field cleared. Run it with
/// [`Backfill::delete_cleared_files`](dynox_core::Backfill::delete_cleared_files) so each
/// object is deleted once the item no longer references it (otherwise it is kept, as any
/// cleared file). Items with no file, or with an inline value already, are left unchanged.
/// An item that would exceed DynamoDB's 400 KB is a failure the report names.
pub fn file_to_inline<M, V>(
    client: &Client,
    fields: Fields<M, V>,
) -> impl Fn(M) -> ChangeFuture<M> + Send + Sync + 'static
where
    M: Model,
    V: InlineContent,
{
    let client = client.clone();
    move |mut model: M| {
        let client = client.clone();
        Box::pin(async move {
            let (inline, file) = fields(&mut model);
            let Some(stored) = file.as_ref().filter(|_| inline.is_none()) else {
                return Ok(BackfillChange::Unchanged);
            };
            let bytes = stored.get_bytes(&client).await?;
            *inline = Some(V::from_bytes(bytes)?);
            *file = None;
            Ok(BackfillChange::Save(model))
        })
    }
}
