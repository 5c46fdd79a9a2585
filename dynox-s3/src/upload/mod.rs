//! Uploads: the content of a pending file goes from its source, through a named encoding
//! stage, to S3: one PutObject up to the multipart threshold, streaming multipart above it.
//!
//! ```text
//! source::UploadSource ──▶ transform::Metered ──▶ transform::Encoder ──▶ pipeline ──▶ multipart
//!   bytes, file, reader      content size, CRC-64     identity, or zstd /    PutObject or
//!   (parts of `Bytes`, or    (SHA-256 if asked)       gzip compression       parts, bounded
//!   file ranges streamed)                                                    concurrency
//! ```
//!
//! - [`source`]: every kind of source hands out parts the same way; a file on disk hands out
//!   ranges that stream from disk as they are sent, so it is never held in memory.
//! - [`transform`]: the size and checksums the item records are the original content's, taken
//!   before the encoder, each part's CRC-64/NVME in the same pass; the stored size is counted
//!   after it, by the network stage. A
//!   compressed upload's stored size is unknown up front: the encoder compresses just far
//!   enough to tell whether it fits one PutObject, else it goes part by part.
//! - [`pipeline`]: single or multipart, and the one loop that keeps at most `concurrency`
//!   parts in flight (memory: part size × concurrency). Every request carries the
//!   CRC-64/NVME of its bytes, and a multipart upload completes with the full-object CRC
//!   combined from its parts' and the object's size: S3 checks both and refuses a mismatch.
//! - [`multipart`]: the upload's state machine (create, put part, complete, abort); every
//!   failure path aborts, including uploads a retried create started.
//! - [`server_date`]: the object's last-modified time is S3's clock, read from the `Date`
//!   header of the PutObject or CompleteMultipartUpload response (no extra request).
//!
//! A pending file with a [`Progress`](crate::Progress) reports content bytes as S3
//! acknowledges them: each part adds the content bytes it was made from when its UploadPart
//! succeeds (a single PutObject, when it succeeds), so a part the SDK retries never counts
//! twice; the upload's end sets the exact size.

mod multipart;
mod pipeline;
pub(crate) use multipart::read_range;
mod server_date;
pub(crate) mod source;
mod transform;

use tracing::Instrument;

use crate::compression::Compression;
use crate::error::S3Error;
use crate::object::{PendingUpload, StoredObject};
use crate::settings::{S3Settings, MAX_OBJECT_SIZE};
use transform::{Compress, Encoded, Encoder, Identity};

/// S3 user-metadata key marking objects dynox created, with the upload id as value (the orphan
/// sweep recognises dynox objects by it).
pub const MARKER_METADATA: &str = "dynox-upload";

/// S3 user-metadata key naming the owner of an object dynox created: `{table}/{field}`, with
/// the client's table prefix (`{table}/{entity}/{field}` for a model that declares an entity
/// type: objects are owned per entity type). The orphan sweep and the stream cascade delete
/// only objects their model owns.
pub const OWNER_METADATA: &str = "dynox-owner";

/// Where an upload goes.
#[derive(Clone)]
pub(crate) struct Target {
    pub(crate) client: aws_sdk_s3::Client,
    pub(crate) bucket: String,
    pub(crate) key: String,
    pub(crate) region: Option<String>,
    /// The field's named S3 client, recorded in the item.
    pub(crate) client_name: Option<String>,
    pub(crate) upload_id: String,
    /// `{table}/{field}` (or `{table}/{entity}/{field}`), stored as [`OWNER_METADATA`].
    pub(crate) owner: String,
    /// The field's codec, if it compresses (also the object's `Content-Encoding`).
    pub(crate) compress: Option<Compression>,
    /// Store only if no object has the key (`If-None-Match: *`), for content-addressed keys.
    pub(crate) if_none_match: bool,
    /// The item's key as [`ITEM_KEY_METADATA`](crate::keys::ITEM_KEY_METADATA) text (none
    /// for shared objects).
    pub(crate) item_key: Option<String>,
    /// Record the content's SHA-256 as well as its CRC-64 (`#[s3(sha256)]`, overflow values).
    pub(crate) sha256: bool,
}

impl Target {
    /// The object an upload to this target stores (or may have stored, if it failed).
    pub(crate) fn object(&self) -> dynox_core::ObjectRef {
        dynox_core::ObjectRef {
            bucket: self.bucket.clone(),
            key: self.key.clone(),
            version_id: None,
            region: self.region.clone(),
        }
    }
}

/// Uploads `file` to `target`, returning the stored object's metadata.
pub(crate) async fn upload(
    settings: &S3Settings,
    target: Target,
    file: PendingUpload,
) -> Result<StoredObject, S3Error> {
    let source = file.source.open(&file.file_name).await?;
    if let Some(size) = source.len() {
        if size > MAX_OBJECT_SIZE {
            return Err(S3Error::TooLarge {
                file_name: file.file_name,
                size,
            });
        }
    }
    let progress = file.source.progress().cloned();
    if let Some(progress) = &progress {
        progress.start(source.len());
    }
    let encoder: Box<dyn Encoder> = match target.compress {
        None => Box::new(Identity),
        Some(compression) => Box::new(Compress::new(compression, &file.file_name)),
    };
    let mut data = Encoded::new(source, encoder, target.sha256);
    let span = tracing::debug_span!(
        "s3.upload",
        otel.name = "s3.upload",
        bucket = %target.bucket,
        key = %target.key,
        bytes = tracing::field::Empty,
        parts = tracing::field::Empty,
    );
    let sent = pipeline::send(settings, &target, &file, &mut data)
        .instrument(span)
        .await?;
    // The item records the content's size and checksums, and for a compressed object its
    // encoding and stored size.
    let content = data.content();
    if let Some(progress) = &progress {
        progress.finish(content.size);
    }
    debug_assert!(
        target.compress.is_some() || sent.size == content.size,
        "the identity encoder changed the size"
    );
    Ok(StoredObject {
        content_type: content_type(&file),
        bucket: target.bucket,
        key: target.key,
        region: target.region,
        client: target.client_name,
        size: content.size,
        etag: sent.etag.map(crate::object::quoted).unwrap_or_default(),
        last_modified: Some(sent.date),
        version_id: crate::object::version_id(sent.version_id),
        file_name: file.file_name,
        metadata: file.metadata,
        crc64nvme: Some(content.crc64.header()),
        sha256: content.sha256,
        encoding: target.compress,
        stored_size: target.compress.map(|_| sent.size),
    })
}

fn content_type(file: &PendingUpload) -> String {
    file.content_type
        .clone()
        .unwrap_or_else(|| "application/octet-stream".to_owned())
}

fn s3_metadata(file: &PendingUpload, target: &Target) -> std::collections::HashMap<String, String> {
    let mut metadata: std::collections::HashMap<String, String> = file
        .metadata
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    metadata.insert(MARKER_METADATA.to_owned(), target.upload_id.clone());
    metadata.insert(OWNER_METADATA.to_owned(), target.owner.clone());
    if let Some(key) = &target.item_key {
        metadata.insert(crate::keys::ITEM_KEY_METADATA.to_owned(), key.clone());
    }
    metadata
}

#[cfg(test)]
mod tests {
    use super::pipeline::part_size;
    use super::*;
    use crate::settings::{MAX_PARTS, MAX_PART_SIZE};

    #[test]
    fn part_sizes_stay_within_s3_limits() {
        let settings = S3Settings::default();
        let mib = 1024 * 1024;
        assert_eq!(part_size(&settings, Some(100 * mib), 1), 8 * mib);
        // 5 TiB in at most 10,000 parts.
        let huge = MAX_OBJECT_SIZE;
        let size = part_size(&settings, Some(huge), 1);
        assert!(size * MAX_PARTS >= huge && size <= MAX_PART_SIZE, "{size}");
        // Unknown length: parts grow every 1,000, and 10,000 of them reach 5 TiB.
        let total: u64 = (1..=MAX_PARTS).map(|n| part_size(&settings, None, n)).sum();
        assert!(total >= huge, "{total}");
        assert!((1..=MAX_PARTS).all(|n| part_size(&settings, None, n) <= MAX_PART_SIZE));
    }
}
