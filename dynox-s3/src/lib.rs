//! # dynox-s3: file fields kept in S3
//!
//! Part of [dynox](https://docs.rs/dynox): depend on the `dynox` crate (feature `s3`, on by
//! default), which re-exports this crate as `dynox::s3` and its field types at its root.
//!
//! DynamoDB refuses items over 400 KB. Mark a field `#[s3(bucket = "...", prefix = "...")]`
//! and its file goes to S3, while the item keeps only the object's metadata (bucket, key,
//! size, ETag, content type, last modified, version id, file name, user metadata and the
//! content's SHA-256), each read back with its own accessor on [`S3Object`] (see
//! [its metadata section](S3Object#metadata)):
//!
//! ```
//! use dynox_core::{Client, DynamoModel};
//! use dynox_s3::S3Object;
//!
//! #[derive(Debug, DynamoModel)]
//! #[dynamo(table = "documents")]
//! struct Document {
//!     #[dynamo(hash_key)]
//!     pk: String,
//!     #[dynamo(range_key)]
//!     sk: String,
//!     name: String,
//!     #[s3(bucket = "company-docs", prefix = "documents/")]
//!     content: Option<S3Object>, // an optional file
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let servers = dynox_local::LocalServers::start().await?;
//! # let config = servers.sdk_config().clone();
//! # let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&config).force_path_style(true).build());
//! # s3.create_bucket().bucket("company-docs").send().await?;
//! let client = Client::new(&config);
//! client.create_table::<Document>().await?;
//!
//! let mut doc = Document {
//!     pk: "DOC#1".into(),
//!     sk: "v1".into(),
//!     name: "Contract".into(),
//!     content: Some(S3Object::from_bytes(b"%PDF-1.7 ...".to_vec(), "contract.pdf")),
//! };
//! client.save(&mut doc).await?; // uploads the file, then writes the item
//!
//! let loaded = Document::get(&client, "DOC#1", "v1").await?.unwrap(); // no S3 request
//! let file = loaded.content.as_ref().unwrap();
//! assert_eq!(file.size(), Some(12));
//! assert_eq!(file.content_type(), Some("application/pdf"));
//! assert!(file.etag().is_some() && file.last_modified().is_some()); // S3's ETag and clock
//! assert_eq!(file.get_bytes(&client).await?.as_ref(), b"%PDF-1.7 ...");
//!
//! Document::delete(&client, "DOC#1", "v1").await?; // deletes the item, then the object
//! # Ok(()) }
//! ```
//!
//! ## Field options
//!
//! - `bucket = "..."` (required): the bucket. [`S3Settings::bucket`] replaces it per
//!   environment at run time.
//! - `prefix = "..."`: prepended to every object key of the field.
//! - `region = "..."`: the bucket's region, when it differs from the configuration's.
//! - `key = "..."`: a custom key template; see [`keys`]. It must contain `{upload}`.
//! - `compress = "zstd"` or `compress = "gzip"`: objects are compressed while they stream
//!   up and decompressed while they stream down; downloads return the original bytes. See
//!   [`Compression`] for what changes (no byte ranges; presigned links).
//!
//! - `shared`: content-addressed objects, keyed by the content's SHA-256 under the prefix, so
//!   identical files are one object for every item; no write deletes one, the [`sweep()`]
//!   collects it once no item references it. See [`keys`].
//! - `client = "..."`: every request for the field's objects goes through the S3 client
//!   registered under that name with [`S3Settings::named_client`].
//! - `retain = "10m"`: a replaced or deleted object stays readable that long (for readers and
//!   links that saw the old item), then the [`sweep()`] deletes it. Not with `shared`.
//! - `sha256`: record each file's SHA-256 next to its CRC-64/NVME (every file's integrity
//!   check, which S3 verifies on arrival and every full download checks), for users who want
//!   a cryptographic digest of the content; full downloads check it too. `shared` and
//!   `overflow` fields record one already.
//!
//! - `overflow`: on an ordinary field (a `String`, `Vec<u8>`, an `Option` of them or any serde
//!   value), which stays inline while the item fits DynamoDB's 400 KB and moves to S3 (one
//!   object per value) only when the item would not; every read puts it back, so the model
//!   sees its value either way. A save that stores it inline again, or the item's delete,
//!   deletes the object; a save of an unchanged value reuses it. Not with `shared`.
//!
//! The field's type is [`S3Object`] (a required file), a typed value [`S3Value<T>`]
//! (`S3Value<T, C>` with a [`Codec`]; [`S3Text`], [`S3Binary`]: the value is encoded and
//! uploaded on save and decoded on [`S3Value::load`]), or an `Option` of either; with
//! `overflow`, any ordinary field type. An `#[s3]` field cannot be a key.
//!
//! ## What happens when
//!
//! - **save / create**: every pending file of the item is uploaded (concurrently), each under a
//!   fresh key, then the item is written. If the write fails, the new objects are deleted. If
//!   the write replaced an item whose file was different, the old object is deleted after the
//!   write committed. Files above the multipart threshold (10 MiB) stream in parts, at most
//!   `concurrency` at once, so memory stays at part size × concurrency; every failure aborts
//!   the multipart upload.
//! - **get / query**: metadata only; no S3 request. [`S3Object::bucket`], [`S3Object::key`],
//!   [`S3Object::etag`] (quoted, as S3 sends it), [`S3Object::last_modified`] (S3's clock),
//!   [`S3Object::metadata`] and the others read it.
//! - **download**: [`S3Object::get_bytes`], [`S3Object::save_to`] (temporary file renamed into
//!   place), [`S3Object::stream`], [`S3Object::range`]; full downloads verify size and SHA-256.
//!   [`S3Object::presigned_url`] for links; [`presign_upload`] and [`attach`] for direct uploads.
//! - **progress**: [`S3Object::with_progress`] attaches a [`Progress`] (atomics, cheap to
//!   poll; optionally a callback every so many bytes) that the upload of a pending file, or
//!   the downloads of a stored one, report to.
//! - **delete**: the item is deleted, then its objects. An object that could not be deleted
//!   is reported as `dynox_core::Error::CleanupFailed` (with `write: WriteOutcome::Committed`).
//! - **setting an optional file to `None`** and saving removes the reference and **keeps the
//!   object** in S3 (as pydynox does), for good: it is marked kept before the write (an empty
//!   object at its key plus [`KEPT_SUFFIX`]) and the orphan [`sweep()`] never deletes a kept
//!   object. `client.save(&mut doc).delete_cleared_files()` clears and deletes instead.
//!
//! ## The two-store promise
//!
//! For save (new item; replacing, keeping or removing a file), delete and transactions, under any single
//! failed request (S3 or DynamoDB: 5xx, throttling, a lost response, a dropped connection, a
//! condition failure) and under a crash between any two requests:
//! 1. no committed item references an object that does not exist, or bytes other than the
//!    ones whose size and SHA-256 it recorded;
//! 2. every object dynox created that no item references is deleted before the failing call
//!    returns, or, after a crash only, by the orphan [`sweep()`];
//! 3. the caller gets a typed error (`dynox_core::Error::File`, `ConditionFailed`,
//!    `VersionConflict`, `CleanupFailed`, ...) saying which field, object or write failed and
//!    whether cleanup succeeded.
//!
//! The mechanism: object keys are never reused; a save reads the item's file references,
//! uploads, then writes the item on condition that they (and its `#[dynamo(version)]`) are
//! unchanged; replaced objects are deleted only after the commit; a failed write deletes what
//! it uploaded; a write whose response was lost is detected by reading the item back. The
//! repository's `docs/consistency.md` has the details and the fault matrix that proves it.
//!
//! ## IAM permissions
//!
//! `s3:PutObject`, `s3:GetObject`, `s3:DeleteObject` on `arn:aws:s3:::BUCKET/PREFIX*`
//! (plus `s3:AbortMultipartUpload` for large files, and `s3:GetObjectVersion` /
//! `s3:DeleteObjectVersion` on versioned buckets). Presigned URLs carry the signer's
//! permissions: the client that presigns needs `s3:GetObject` or `s3:PutObject` itself.

// Without a codec feature, the decoding and encoding paths keep their shape with nothing to
// decode or encode: their imports and bindings go unused there.
#![cfg_attr(
    not(all(feature = "zstd", feature = "gzip")),
    allow(unused_imports, unused_variables, unreachable_code)
)]
#![warn(missing_docs)]

pub mod backfill;
pub mod cascade;
mod checksum;
mod compression;
mod download;
mod error;
mod kept;
pub mod keys;
mod models;
mod object;
mod overflow;
mod presign;
mod progress;
mod settings;
mod shared;
mod store;
pub mod sweep;
mod upload;
mod value;

pub use cascade::{cascade, RecordReport, Skipped};
pub use compression::Compression;
pub use error::{BoxError, S3Error, UploadRefusal};
pub use kept::{KEPT_METADATA, KEPT_SUFFIX, RETAIN_INFIX};
pub use models::{FileModels, Visit};
pub use object::{S3Object, StoredObject};
pub use presign::{
    attach, presign_upload, DeclaredFile, FileField, PresignedUpload, UploadRules, ITEM_METADATA,
    MAX_EXPIRY, MIN_EXPIRY,
};
pub use progress::{Progress, Transferred};
pub use settings::{S3Settings, MAX_OBJECT_SIZE, MAX_PARTS, MIN_PART_SIZE};
pub use store::{ObjectRef, S3Files, S3Model};
pub use sweep::{sweep, Sweep, SweepReport};
pub use upload::{MARKER_METADATA, OWNER_METADATA};
pub use value::{Binary, Codec, Json, S3Binary, S3Json, S3Text, S3Value, Text};

/// What generated code calls. Not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::compression::{require_codec, Compression, GzipCodec, ZstdCodec};
    pub use crate::object::S3Object;
    pub use crate::store::{S3Field, S3Files, S3Model};
    pub use crate::value::FileSlot;
}
