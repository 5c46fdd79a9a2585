//! Shared fields (`#[s3(shared)]`): content-addressed objects, stored once and referenced by
//! every item that holds the same bytes.
//!
//! A shared file's key is its content's SHA-256 under the field's prefix
//! ([`keys::DEFAULT_SHARED_TEMPLATE`]), so the upload of a file first needs its hash:
//!
//! 1. **fingerprint**: bytes in memory and files on disk are read once to hash them (a file
//!    is read part by part, never whole); a reader or stream can be read only once, so it is
//!    spooled to a temporary file while it is hashed, and uploaded from there;
//! 2. **reuse**: a HEAD of the key. If the object exists and this model's fields own it, it is
//!    *touched* (copied onto itself, which gives it a new Last-Modified) and referenced: no
//!    byte is sent. The touch is what keeps the orphan sweep from collecting an object that a
//!    save is about to reference again: the sweep re-reads an unreferenced object's
//!    Last-Modified after it read the table, and leaves anything younger than its grace period;
//! 3. **upload**: otherwise the content is uploaded to the key with `If-None-Match: *`; if
//!    another save stored it first (412), step 2 runs on its object.
//!
//! No write ever deletes a shared object: not the save whose write failed (another item may
//! reference the object already), not the save that replaced it, not the item's delete. The
//! sweep deletes a shared object once no item of the model references it and it is older
//! than the grace period (mark and sweep). An object of another model's field at the same key
//! is never referenced ([`S3Error::SharedObjectNotOwned`]): that model's sweep would not see
//! this model's references.

use std::path::PathBuf;

use aws_sdk_s3::types::MetadataDirective;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use dynox_core::ObjectRef;

use crate::checksum::{Crc64, Crc64Hasher};
use crate::error::FromSdk;
use crate::error::S3Error;
use crate::keys::{self, KeyParts};
use crate::object::{PendingUpload, StoredObject};
use crate::settings::S3Settings;
use crate::upload::source::{PartData, Source};
use crate::upload::{self, Target, OWNER_METADATA};

/// The largest object CopyObject can copy (and so touch); a larger shared object is uploaded
/// again instead (same key, same bytes).
const MAX_COPY_SIZE: u64 = 5 * 1024 * 1024 * 1024;

/// How much of a source is read at once while hashing.
const READ_CHUNK: u64 = 8 * 1024 * 1024;

/// The SHA-256, CRC-64/NVME and size of a pending file's content.
pub(crate) struct Fingerprint {
    /// Lowercase hex, for the key.
    pub hex: String,
    /// The digest itself.
    pub digest: [u8; 32],
    /// The content's CRC-64 and length, taken in the same pass (the CRC for a reused object,
    /// which is not read).
    pub crc64: Crc64,
}

/// A spooled copy of a single-use source, deleted when dropped.
pub(crate) struct Spool(PathBuf);

impl Drop for Spool {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Hashes `file`'s content. A source that can be read only once is spooled to a temporary
/// file on the way: the returned upload reads from there, and the [`Spool`] removes it.
pub(crate) async fn fingerprint(
    file: PendingUpload,
) -> Result<(PendingUpload, Fingerprint, Option<Spool>), S3Error> {
    let mut source = file.source.open(&file.file_name).await?;
    let mut hasher = Sha256::new();
    let mut crc64 = Crc64Hasher::default();
    let mut spool = None;
    if !file.source.replayable() {
        let path = std::env::temp_dir().join(format!(
            "dynox-spool-{}-{:016x}",
            std::process::id(),
            fastrand::u64(..)
        ));
        let out = tokio::fs::File::create(&path)
            .await
            .map_err(|e| spool_error(&path, e))?;
        spool = Some((out, Spool(path)));
    }
    while let Some(part) = source.next_part(READ_CHUNK).await? {
        let bytes = match part.data {
            PartData::Memory(bytes) => bytes,
            PartData::File(range) => upload::read_range(&range).await?,
        };
        hasher.update(&bytes);
        crc64.update(&bytes);
        if let Some((out, Spool(path))) = spool.as_mut() {
            out.write_all(&bytes)
                .await
                .map_err(|e| spool_error(path, e))?;
        }
    }
    let (file, spool) = match spool {
        Some((mut out, spool)) => {
            out.flush().await.map_err(|e| spool_error(&spool.0, e))?;
            let mut source = Source::path(spool.0.clone());
            source.set_progress(file.source.progress().cloned());
            (PendingUpload { source, ..file }, Some(spool))
        }
        None => (file, None),
    };
    let digest: [u8; 32] = hasher.finalize().into();
    let hex = digest.iter().map(|b| format!("{b:02x}")).collect();
    let fingerprint = Fingerprint {
        hex,
        digest,
        crc64: crc64.finish(),
    };
    Ok((file, fingerprint, spool))
}

fn spool_error(path: &std::path::Path, source: std::io::Error) -> S3Error {
    S3Error::Io {
        action: "writing the spool file",
        path: path.to_path_buf(),
        source,
    }
}

/// Uploads `file` into a shared field: fingerprints it, keys it by its hash (`template`, or
/// [`keys::DEFAULT_SHARED_TEMPLATE`], then the codec's extension) and [`store`]s it. Returns
/// the object it may have stored (once the key is known) with the result.
pub(crate) async fn upload(
    settings: &S3Settings,
    mut target: Target,
    file: PendingUpload,
    template: Option<&str>,
    parts: KeyParts<'_>,
    owners: &[String],
) -> (Option<ObjectRef>, Result<StoredObject, S3Error>) {
    // The spool, if any, lives until the upload from it is done.
    let (file, fingerprint, _spool) = match fingerprint(file).await {
        Ok(fingerprinted) => fingerprinted,
        Err(e) => return (None, Err(e)),
    };
    let parts = KeyParts {
        sha256: Some(&fingerprint.hex),
        ..parts
    };
    match keys::object_key(template.or(Some(keys::DEFAULT_SHARED_TEMPLATE)), &parts) {
        Ok(key) => target.key = key,
        Err(e) => return (None, Err(e)),
    }
    if let Some(compress) = target.compress {
        target.key.push_str(compress.extension());
    }
    let attempted = target.object();
    let stored = store(settings, target, file, &fingerprint, owners).await;
    (Some(attempted), stored)
}

/// Stores `file` (fingerprinted as `fingerprint`) at `target.key`, the content's own key:
/// references the object already there if this model owns it, else uploads it.
async fn store(
    settings: &S3Settings,
    mut target: Target,
    file: PendingUpload,
    fingerprint: &Fingerprint,
    owners: &[String],
) -> Result<StoredObject, S3Error> {
    match reuse(&target, &file, fingerprint, owners).await? {
        Reuse::Reused(stored) => {
            // Nothing to send: the content is already there, all of it.
            if let Some(progress) = file.source.progress() {
                progress.start(Some(fingerprint.crc64.len));
                progress.finish(fingerprint.crc64.len);
            }
            return Ok(*stored);
        }
        Reuse::Missing => target.if_none_match = true,
        // Too large to touch: the same bytes are uploaded again over it.
        Reuse::TooLargeToTouch => {}
    }
    let conditional = target.if_none_match;
    let retry_target = Target {
        if_none_match: false,
        ..target.clone()
    };
    // The fingerprint is the SHA-256 the item records: the upload takes only the CRC.
    target.sha256 = false;
    let uploaded = upload::upload(settings, target, file.clone())
        .await
        .map(|stored| StoredObject {
            sha256: Some(STANDARD.encode(fingerprint.digest)),
            ..stored
        });
    match uploaded {
        // Another save stored the same content first (or this one did, and the SDK's retry
        // of a lost response was refused): reference that object.
        Err(e) if conditional && e.is_precondition_failed() => {
            match reuse(&retry_target, &file, fingerprint, owners).await? {
                Reuse::Reused(stored) => Ok(*stored),
                _ => Err(e),
            }
        }
        other => other,
    }
}

enum Reuse {
    Reused(Box<StoredObject>),
    Missing,
    TooLargeToTouch,
}

/// The object at `target.key`, touched and described for this item; `Missing` if there is
/// none.
async fn reuse(
    target: &Target,
    file: &PendingUpload,
    fingerprint: &Fingerprint,
    owners: &[String],
) -> Result<Reuse, S3Error> {
    let s3 = &target.client;
    let (bucket, key) = (&target.bucket, &target.key);
    let head = match s3.head_object().bucket(bucket).key(key).send().await {
        Ok(head) => head,
        Err(e) => {
            return match S3Error::from_sdk(e, "HeadObject", bucket, key) {
                S3Error::NoSuchKey { .. } => Ok(Reuse::Missing),
                other => Err(other),
            }
        }
    };
    let owner = head.metadata().and_then(|m| m.get(OWNER_METADATA)).cloned();
    if !owner.as_ref().is_some_and(|o| owners.contains(o)) {
        return Err(S3Error::SharedObjectNotOwned {
            bucket: bucket.clone(),
            key: key.clone(),
            owner,
        });
    }
    let stored_size = head.content_length().map_or(0, |n| n.max(0) as u64);
    if target.compress.is_none() && stored_size != fingerprint.crc64.len {
        return Err(S3Error::ChecksumMismatch {
            bucket: bucket.clone(),
            key: key.clone(),
            expected: format!("size:{}", fingerprint.crc64.len),
            actual: format!("size:{stored_size}"),
        });
    }
    if stored_size > MAX_COPY_SIZE {
        return Ok(Reuse::TooLargeToTouch);
    }
    // The touch: a copy onto itself, its metadata replaced by the same metadata (S3 refuses a
    // self-copy that changes nothing).
    let touched = s3
        .copy_object()
        .bucket(bucket)
        .key(key)
        .copy_source(copy_source(bucket, key))
        .metadata_directive(MetadataDirective::Replace)
        .set_metadata(head.metadata().cloned())
        .set_content_type(head.content_type().map(str::to_owned))
        .set_content_encoding(head.content_encoding().map(str::to_owned))
        .send()
        .await;
    let touched = match touched {
        Ok(touched) => touched,
        Err(e) => {
            return match S3Error::from_sdk(e, "CopyObject", bucket, key) {
                // Collected between the HEAD and the touch: store it anew.
                S3Error::NoSuchKey { .. } => Ok(Reuse::Missing),
                other => Err(other),
            };
        }
    };
    let etag = crate::object::quoted(
        touched
            .copy_object_result()
            .and_then(|r| r.e_tag())
            .or(head.e_tag())
            .unwrap_or_default()
            .to_owned(),
    );
    Ok(Reuse::Reused(Box::new(StoredObject {
        bucket: bucket.clone(),
        key: key.clone(),
        region: target.region.clone(),
        client: target.client_name.clone(),
        size: fingerprint.crc64.len,
        etag,
        content_type: file
            .content_type
            .clone()
            .unwrap_or_else(|| "application/octet-stream".to_owned()),
        // S3's time of the touch (the copy's answer); the HEAD's if the copy gave none.
        last_modified: touched
            .copy_object_result()
            .and_then(|r| r.last_modified())
            .or(head.last_modified())
            .and_then(|t| std::time::SystemTime::try_from(*t).ok()),
        version_id: crate::object::version_id(touched.version_id().map(str::to_owned)),
        file_name: file.file_name.clone(),
        metadata: file.metadata.clone(),
        crc64nvme: Some(fingerprint.crc64.header()),
        sha256: Some(STANDARD.encode(fingerprint.digest)),
        encoding: target.compress,
        stored_size: target.compress.map(|_| stored_size),
    })))
}

/// `bucket/key` for CopyObject's `x-amz-copy-source`, the key percent-encoded (`/` kept).
fn copy_source(bucket: &str, key: &str) -> String {
    let mut out = String::with_capacity(bucket.len() + key.len() + 16);
    out.push_str(bucket);
    out.push('/');
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_sources_encode_what_a_url_cannot_carry() {
        assert_eq!(
            copy_source("b", "p/ab%(empty)/x y"),
            "b/p/ab%25%28empty%29/x%20y"
        );
        assert_eq!(copy_source("b", "p/ü"), "b/p/%C3%BC");
    }
}
