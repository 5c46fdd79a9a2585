//! Presigned URLs: downloads straight from S3, and uploads straight to S3 that are then
//! attached to an item (no bytes through the application).

use std::time::Duration;

use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::types::ChecksumMode;
use dynox_core::{Client, Key};

use crate::error::S3Error;
use crate::keys::{self, KeyParts};
use crate::object::{S3Object, StoredObject};
use crate::settings::Runtime;
use crate::store::S3Model;
use crate::upload::{metadata_map, MARKER_METADATA, OWNER_METADATA};

/// The shortest presigned URL lifetime.
pub const MIN_EXPIRY: Duration = Duration::from_secs(1);
/// The longest presigned URL lifetime S3 accepts (7 days).
pub const MAX_EXPIRY: Duration = Duration::from_secs(7 * 24 * 3600);

fn presigning(expires: Duration) -> Result<PresigningConfig, S3Error> {
    if !(MIN_EXPIRY..=MAX_EXPIRY).contains(&expires) {
        return Err(S3Error::InvalidExpiry { requested: expires });
    }
    PresigningConfig::expires_in(expires).map_err(|_| S3Error::InvalidExpiry { requested: expires })
}

pub(crate) async fn presigned_get(
    client: &Client,
    object: &StoredObject,
    expires: Duration,
) -> Result<String, S3Error> {
    let config = presigning(expires)?;
    let request = Runtime::of(client)
        .client_named(object.client.as_deref(), object.region.as_deref())?
        .get_object()
        .bucket(&object.bucket)
        .key(&object.key)
        .set_version_id(object.version_id.clone())
        // Stored with `Content-Encoding: gzip` already; asked again so the browser decodes
        // it whatever the stored metadata says. zstd: see `Compression`.
        .set_response_content_encoding(
            (object.encoding == Some(crate::Compression::Gzip)).then(|| "gzip".to_owned()),
        )
        .presigned(config)
        .await
        .map_err(|e| S3Error::from_sdk(e, "GetObject", &object.bucket, &object.key))?;
    Ok(request.uri().to_owned())
}

/// A presigned PUT for a browser or another service to upload a file directly to S3.
///
/// Send the file with `method` to `url` with every header of `headers`, then call
/// [`attach`] to turn the uploaded object into a field value.
#[derive(Debug, Clone)]
pub struct PresignedUpload {
    /// The URL to send the file to.
    pub url: String,
    /// The HTTP method (`PUT`).
    pub method: String,
    /// Headers the request must carry (they are part of the signature).
    pub headers: Vec<(String, String)>,
    /// The bucket the file will be in.
    pub bucket: String,
    /// The object key the file will have.
    pub key: String,
    /// The bucket's region, when the field sets one.
    pub region: Option<String>,
    /// The field's named S3 client (`#[s3(client = "...")]`), when it names one.
    pub client: Option<String>,
    /// The file name.
    pub file_name: String,
}

/// Presigns an upload of `file_name` into file field `field` of the item with `key`, under
/// a fresh object key of the field's layout. Nothing is written to the table.
///
/// ```no_run
/// # #[derive(dynox_core::DynamoModel)]
/// # #[dynamo(table = "documents")]
/// # struct Document {
/// #     #[dynamo(hash_key)] pk: String,
/// #     #[s3(bucket = "company-docs", prefix = "documents/")] content: Option<dynox_s3::S3Object>,
/// # }
/// # async fn demo(client: &dynox_core::Client) -> Result<(), dynox_s3::S3Error> {
/// use std::time::Duration;
///
/// let upload = dynox_s3::presign_upload(
///     client, Document::key_of("DOC#1"), "content", "scan.png", Duration::from_secs(600),
/// ).await?;
/// // ... the browser PUTs the file to upload.url with upload.headers ...
/// let file = dynox_s3::attach(client, &upload).await?; // HEAD: checks it arrived
/// # Ok(()) }
/// ```
pub async fn presign_upload<M: S3Model>(
    client: &Client,
    key: Key<M>,
    field: &str,
    file_name: &str,
    expires: Duration,
) -> Result<PresignedUpload, S3Error> {
    let config = presigning(expires)?;
    let Some(spec) = M::S3_FIELDS.iter().find(|f| f.name == field) else {
        return Err(S3Error::InvalidKey {
            field: "",
            reason: format!(
                "`{field}` is not a file field of `{}` (file fields: {})",
                M::TABLE,
                M::S3_FIELDS
                    .iter()
                    .map(|f| f.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    };
    if spec.shared {
        return Err(S3Error::InvalidKey {
            field: spec.name,
            reason: "a shared field's key is its content's SHA-256, which is not known before a direct upload: save the file through the item instead".to_owned(),
        });
    }
    if spec.overflow {
        return Err(S3Error::InvalidKey {
            field: spec.name,
            reason: "an overflow field holds an ordinary value that dynox moves to S3 itself; it has no file to upload".to_owned(),
        });
    }
    let key_item = key.to_item().map_err(|e| S3Error::InvalidKey {
        field: spec.name,
        reason: format!("key field `{}`: {}", e.field, e.error),
    })?;
    let text = |name: &str| match key_item.get(name) {
        Some(dynox_core::item::AttributeValue::S(s))
        | Some(dynox_core::item::AttributeValue::N(s)) => s.clone(),
        Some(dynox_core::item::AttributeValue::B(b)) => {
            use base64::Engine;
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b.as_ref())
        }
        _ => String::new(),
    };
    let hash = text(M::SCHEMA.hash.name);
    let range = M::SCHEMA.range.map(|r| text(r.name));
    let upload_id = keys::new_upload_id();
    let object_key = keys::object_key(
        spec.key_template,
        &KeyParts {
            prefix: spec.prefix,
            table: M::TABLE,
            field: spec.name,
            hash: &hash,
            range: range.as_deref(),
            upload: &upload_id,
            file: file_name,
            sha256: None,
        },
    )?;
    let runtime = Runtime::of(client);
    let bucket = runtime.bucket(spec.bucket).to_owned();
    let content_type = mime_guess::from_path(file_name)
        .first_raw()
        .unwrap_or("application/octet-stream");
    let request = runtime
        .client_named(spec.client, spec.region)?
        .put_object()
        .bucket(&bucket)
        .key(&object_key)
        .content_type(content_type)
        .metadata(MARKER_METADATA, &upload_id)
        .metadata(
            OWNER_METADATA,
            format!("{}/{}", client.table_name::<M>(), spec.name),
        )
        .presigned(config)
        .await
        .map_err(|e| S3Error::from_sdk(e, "PutObject", &bucket, &object_key))?;
    Ok(PresignedUpload {
        url: request.uri().to_owned(),
        method: request.method().to_owned(),
        headers: request
            .headers()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        bucket,
        key: object_key,
        region: spec.region.map(str::to_owned),
        client: spec.client.map(str::to_owned),
        file_name: file_name.to_owned(),
    })
}

/// Checks (with a HEAD request) that the object of a presigned upload exists and returns it
/// as a stored file value, ready to be set on the item and saved. No bytes are transferred.
///
/// The item records the object's size, ETag and Last-Modified as the HEAD reports them (and
/// its SHA-256 when the uploader sent `x-amz-checksum-sha256`); downloads of an object
/// without a SHA-256 require the ETag to match.
pub async fn attach(client: &Client, upload: &PresignedUpload) -> Result<S3Object, S3Error> {
    let head = Runtime::of(client)
        .client_named(upload.client.as_deref(), upload.region.as_deref())?
        .head_object()
        .bucket(&upload.bucket)
        .key(&upload.key)
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .map_err(|e| S3Error::from_sdk(e, "HeadObject", &upload.bucket, &upload.key))?;
    let size = head
        .content_length
        .and_then(|l| u64::try_from(l).ok())
        .unwrap_or(0);
    // Only a full-object SHA-256 (not a multipart checksum of checksums, which ends in `-N`).
    let sha256 = head.checksum_sha256.filter(|c| !c.contains('-'));
    let mut object = S3Object::from_stored(StoredObject {
        bucket: upload.bucket.clone(),
        key: upload.key.clone(),
        region: upload.region.clone(),
        client: upload.client.clone(),
        size,
        etag: head.e_tag.map(crate::object::quoted).unwrap_or_default(),
        content_type: head
            .content_type
            .unwrap_or_else(|| "application/octet-stream".to_owned()),
        // S3's Last-Modified for the object, as HEAD reports it.
        last_modified: head
            .last_modified
            .and_then(|d| std::time::SystemTime::try_from(d).ok()),
        version_id: crate::object::version_id(head.version_id),
        file_name: upload.file_name.clone(),
        metadata: metadata_map(head.metadata),
        // A direct upload is stored as sent, even into a field that compresses.
        encoding: None,
        stored_size: None,
        sha256,
    });
    object.fresh = true;
    Ok(object)
}
