//! [`attach`]'s checks: a direct upload is hostile input, so what arrived is checked again
//! (key, owner, item, size, content type, checksum, not yet referenced) before an item may
//! reference it.

use aws_sdk_s3::types::ChecksumMode;
use dynox_core::{Client, Key};

use super::item::{direct_field, ItemKey};
use super::rules::{is_sha256_base64, UploadRules};
use super::{FileField, ITEM_METADATA, SHA256_METADATA};
use crate::error::FromSdk;
use crate::error::{S3Error, UploadRefusal};
use crate::object::{S3Object, StoredObject};
use crate::settings::Runtime;
use crate::store::{owner, S3Model};
use crate::upload::{MARKER_METADATA, OWNER_METADATA};

/// Turns a direct upload into a stored file value for field `field` of the item with `key`,
/// ready to be set on the item and saved, after checking what arrived. No bytes are
/// transferred: one HEAD request and one consistent read of the item's file attributes.
///
/// `object_key` and `file_name` come back from the uploader, so they are checked, not
/// trusted. The upload is refused ([`S3Error::UploadRefused`], naming table, field, bucket
/// and key) when:
/// - the key is not one of this item's upload keys for `file_name` in this field (another
///   item's key, a key outside the field's prefix): [`UploadRefusal::NotThisItemsKey`];
/// - nothing is stored under it (never uploaded, or removed since): [`UploadRefusal::Missing`];
/// - the object was not uploaded through [`presign_upload`](crate::presign_upload) for this
///   field: [`UploadRefusal::NotADirectUpload`], or for this item: [`UploadRefusal::OtherItem`];
/// - its size or content type breaks `rules`: [`UploadRefusal::TooSmall`],
///   [`UploadRefusal::TooLarge`], [`UploadRefusal::ContentType`];
/// - the rules require a SHA-256 and S3 has none for it: [`UploadRefusal::NoChecksum`];
/// - the item already references it (a replayed attach): [`UploadRefusal::AlreadyAttached`].
///
/// The item records the object's size, ETag and Last-Modified as the HEAD reports them, the
/// CRC-64/NVME S3 keeps of it (S3 records one for new objects by default), and its SHA-256
/// when the uploader sent a full-object `x-amz-checksum-sha256`; downloads check what is
/// recorded, and of an object without either require the ETag to match.
pub async fn attach<M: S3Model>(
    client: &Client,
    key: Key<M>,
    field: impl FileField<M>,
    file_name: &str,
    object_key: &str,
    rules: &UploadRules,
) -> dynox_core::Result<S3Object> {
    let field = field.attribute();
    Ok(attach_to::<M>(client, key, &field, file_name, object_key, rules).await?)
}

async fn attach_to<M: S3Model>(
    client: &Client,
    key: Key<M>,
    field: &str,
    file_name: &str,
    object_key: &str,
    rules: &UploadRules,
) -> Result<S3Object, S3Error> {
    let spec = direct_field::<M>(field)?;
    let item = ItemKey::of(client, &key, spec)?;
    let runtime = Runtime::of(client);
    let bucket = runtime.bucket(spec.bucket).to_owned();
    let refused = |reason| S3Error::UploadRefused {
        table: M::TABLE,
        field: spec.name,
        bucket: bucket.clone(),
        key: object_key.to_owned(),
        reason: Box::new(reason),
    };
    if !item.is_upload_key(spec, file_name, object_key)? {
        return Err(refused(UploadRefusal::NotThisItemsKey));
    }
    let head = match runtime
        .client_named(spec.client, spec.region)?
        .head_object()
        .bucket(&bucket)
        .key(object_key)
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .map_err(|e| S3Error::from_sdk(e, "HeadObject", &bucket, object_key))
    {
        Ok(head) => head,
        Err(S3Error::NoSuchKey { .. }) => return Err(refused(UploadRefusal::Missing)),
        Err(other) => return Err(other),
    };
    let raw = head.metadata.unwrap_or_default();
    if raw.get(OWNER_METADATA) != Some(&owner::<M>(&item.table, spec.name))
        || !raw.contains_key(MARKER_METADATA)
    {
        return Err(refused(UploadRefusal::NotADirectUpload));
    }
    if raw.get(ITEM_METADATA) != Some(&item.id) {
        return Err(refused(UploadRefusal::OtherItem));
    }
    // The SHA-256 S3 computed; else the one the uploader declared (S3 checked it on
    // arrival where it records checksums; downloads check it in any case). Only a
    // full-object SHA-256, not a multipart checksum of checksums (which ends in `-N`).
    let sha256 = head
        .checksum_sha256
        .filter(|c| !c.contains('-'))
        .or_else(|| raw.get(SHA256_METADATA).cloned())
        .filter(|c| is_sha256_base64(c));
    // The CRC-64/NVME S3 keeps of the object (real S3 records one for every new object by
    // default, always of the full object), for downloads to check as they do every upload's.
    // A value that is not 8 bytes of base64 is not one.
    let crc64nvme = head
        .checksum_crc64_nvme
        .filter(|c| crate::checksum::is_crc64_base64(c));
    // The user's metadata: all but dynox's own.
    let metadata = raw
        .into_iter()
        .filter(|(k, _)| {
            ![
                MARKER_METADATA,
                OWNER_METADATA,
                ITEM_METADATA,
                SHA256_METADATA,
                crate::keys::ITEM_KEY_METADATA,
            ]
            .contains(&k.as_str())
        })
        .collect();
    let size = head
        .content_length
        .and_then(|l| u64::try_from(l).ok())
        .unwrap_or(0);
    rules.check_size(size).map_err(refused)?;
    let content_type = head
        .content_type
        .unwrap_or_else(|| "application/octet-stream".to_owned());
    rules.check_content_type(&content_type).map_err(refused)?;
    if item.references::<M>(client, &bucket, object_key).await? {
        return Err(refused(UploadRefusal::AlreadyAttached));
    }
    if rules.require_sha256 && sha256.is_none() {
        return Err(refused(UploadRefusal::NoChecksum));
    }
    Ok(S3Object::attached(StoredObject {
        bucket,
        key: object_key.to_owned(),
        region: spec.region.map(str::to_owned),
        client: spec.client.map(str::to_owned),
        size,
        etag: head.e_tag.map(crate::object::quoted).unwrap_or_default(),
        content_type,
        // S3's Last-Modified for the object, as HEAD reports it.
        last_modified: head
            .last_modified
            .and_then(|d| std::time::SystemTime::try_from(d).ok()),
        version_id: crate::object::version_id(head.version_id),
        file_name: file_name.to_owned(),
        metadata,
        // A direct upload is stored as sent, even into a field that compresses.
        encoding: None,
        stored_size: None,
        crc64nvme,
        sha256,
    }))
}
