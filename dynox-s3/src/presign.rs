//! Presigned URLs: downloads straight from S3, and uploads straight to S3 that are then
//! attached to an item (no bytes through the application).
//!
//! A direct upload is hostile input: whoever holds the form can send any bytes. So
//! [`presign_upload`] signs a POST policy that S3 itself enforces (the exact key, the declared
//! content type, a size range, and metadata binding the object to one item and field), and
//! [`attach`] checks again what arrived before an item may reference it. See
//! [`UploadRefusal`](crate::UploadRefusal) for every refusal.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::types::ChecksumMode;
use aws_smithy_runtime_api::client::auth::AuthSchemeId;
use aws_smithy_runtime_api::client::identity::ResolveCachedIdentity;
use aws_smithy_runtime_api::client::runtime_components::GetIdentityResolver;
use aws_smithy_types::date_time::{DateTime, Format};
use base64::Engine;
use dynox_core::{Client, Key};
use sha2::{Digest, Sha256};

use crate::error::{S3Error, UploadRefusal};
use crate::keys::{self, KeyParts};
use crate::object::{S3Object, StoredObject};
use crate::settings::Runtime;
use crate::store::{key_text, owner, S3Field, S3Model};
use crate::upload::{MARKER_METADATA, OWNER_METADATA};

/// The user metadata that binds a direct upload to one item: a digest of its table and key.
pub const ITEM_METADATA: &str = "dynox-item";

/// The user metadata that keeps a direct upload's declared SHA-256 (base64).
const SHA256_METADATA: &str = "dynox-sha256";

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

/// What a direct upload may be. S3 enforces the size range and the content type through the
/// POST policy [`presign_upload`] signs, and [`attach`] checks both again on what arrived.
///
/// ```
/// use std::time::Duration;
/// use dynox_s3::UploadRules;
///
/// let rules = UploadRules::new(20 << 20) // at most 20 MiB
///     .min_size(1)
///     .content_types(["application/pdf", "image/*"])
///     .expires(Duration::from_secs(600));
/// assert!(rules.allows("image/png"));
/// assert!(!rules.allows("text/html"));
/// assert_eq!(rules.max_size(), 20 << 20);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadRules {
    min_size: u64,
    max_size: u64,
    content_types: Vec<String>,
    expires: Duration,
    require_sha256: bool,
}

impl UploadRules {
    /// Uploads of at most `max_size` bytes, of any content type, with forms valid for 15
    /// minutes.
    pub fn new(max_size: u64) -> Self {
        Self {
            min_size: 0,
            max_size,
            content_types: Vec::new(),
            expires: Duration::from_secs(15 * 60),
            require_sha256: false,
        }
    }

    /// Requires every upload to declare its SHA-256 ([`DeclaredFile::sha256`]), which S3
    /// checks on arrival and the item then records, so every later download is verified
    /// against what the uploader had. Off by default.
    pub fn require_sha256(mut self) -> Self {
        self.require_sha256 = true;
        self
    }

    /// The smallest size accepted, in bytes (0 by default).
    pub fn min_size(mut self, bytes: u64) -> Self {
        self.min_size = bytes;
        self
    }

    /// The content types accepted: exact (`application/pdf`) or a whole top-level type
    /// (`image/*`). None given: any type.
    pub fn content_types<I, S>(mut self, types: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.content_types = types
            .into_iter()
            .map(|t| t.into().trim().to_ascii_lowercase())
            .collect();
        self
    }

    /// How long a presigned form stays valid (1 second to 7 days; 15 minutes by default).
    pub fn expires(mut self, expires: Duration) -> Self {
        self.expires = expires;
        self
    }

    /// The largest size accepted, in bytes.
    pub fn max_size(&self) -> u64 {
        self.max_size
    }

    /// `content_type` without parameters, if the rules accept it.
    fn check_content_type(&self, content_type: &str) -> Result<String, UploadRefusal> {
        let essence = essence(content_type);
        if self.allows(&essence) {
            Ok(essence)
        } else {
            Err(UploadRefusal::ContentType {
                found: essence,
                allowed: self.content_types.clone(),
            })
        }
    }

    /// Whether the rules accept `size` bytes.
    fn check_size(&self, size: u64) -> Result<(), UploadRefusal> {
        if size > self.max_size {
            Err(UploadRefusal::TooLarge {
                size,
                max: self.max_size,
            })
        } else if size < self.min_size {
            Err(UploadRefusal::TooSmall {
                size,
                min: self.min_size,
            })
        } else {
            Ok(())
        }
    }

    /// Whether `content_type` (parameters such as `; charset=` ignored) is accepted.
    pub fn allows(&self, content_type: &str) -> bool {
        let essence = essence(content_type);
        self.content_types.is_empty()
            || self
                .content_types
                .iter()
                .any(|allowed| match allowed.strip_suffix("/*") {
                    Some(top) => essence
                        .split_once('/')
                        .is_some_and(|(t, sub)| t == top && !sub.is_empty()),
                    None => *allowed == essence,
                })
    }
}

/// A content type without parameters, lowercase.
fn essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// What the uploader says about the file before sending it. The name and content type are
/// needed; a declared size narrows the size range S3 accepts to exactly that size, and a
/// declared SHA-256 makes S3 refuse other bytes and lets the item record the checksum.
///
/// ```
/// use dynox_s3::DeclaredFile;
///
/// let file = DeclaredFile::new("scan.pdf", "application/pdf")
///     .size(52_431)
///     .sha256("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
/// assert_eq!(file.file_name(), "scan.pdf");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredFile {
    file_name: String,
    content_type: String,
    size: Option<u64>,
    sha256: Option<String>,
}

impl DeclaredFile {
    /// A file named `file_name` (the last segment of its object key) of `content_type`.
    pub fn new(file_name: impl Into<String>, content_type: impl Into<String>) -> Self {
        Self {
            file_name: file_name.into(),
            content_type: content_type.into(),
            size: None,
            sha256: None,
        }
    }

    /// Its exact size in bytes.
    pub fn size(mut self, bytes: u64) -> Self {
        self.size = Some(bytes);
        self
    }

    /// Its SHA-256, base64 as S3 writes checksums (a browser: `crypto.subtle.digest`).
    pub fn sha256(mut self, base64: impl Into<String>) -> Self {
        self.sha256 = Some(base64.into());
        self
    }

    /// The file name.
    pub fn file_name(&self) -> &str {
        &self.file_name
    }
}

/// Whether `text` is the base64 of 32 bytes.
fn is_sha256_base64(text: &str) -> bool {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .is_ok_and(|bytes| bytes.len() == 32)
}

/// A presigned POST form for a browser (or another service) to upload one file straight to
/// S3: send `fields` in order as `multipart/form-data`, then the file as the last part,
/// named `file`, to `url`. Then call [`attach`] with [`key`](Self::key).
#[derive(Debug, Clone)]
pub struct PresignedUpload {
    /// The URL to POST the form to (the bucket's).
    pub url: String,
    /// The form fields, in order, before the file. They are covered by the signed policy:
    /// changing one makes S3 refuse the upload.
    pub fields: Vec<(String, String)>,
    /// The bucket the file will be in.
    pub bucket: String,
    /// The object key the file will have.
    pub key: String,
    /// The file name.
    pub file_name: String,
    /// The content type the upload must declare.
    pub content_type: String,
    /// The sizes S3 accepts, inclusive (one size when the uploader declared it).
    pub size_range: (u64, u64),
    /// The base64 SHA-256 S3 checks the content against, when the uploader declared it.
    pub sha256: Option<String>,
    /// When the form stops being accepted.
    pub expires_at: SystemTime,
}

/// Presigns a POST upload of `file` (as the uploader declares it) into file field `field`
/// of the item with `key`, under a fresh object key of the field's layout. Nothing is written
/// to the table, and no request is sent.
///
/// The signed policy makes S3 itself refuse an upload with another key, another content type,
/// another size than declared (or one outside `rules`), other bytes than the declared SHA-256,
/// or metadata other than dynox's: owner (table and field), upload marker, and the item it is
/// for. A declaration `rules` do not allow is refused here.
///
/// An upload that is never attached is an orphan to the [sweep](crate::sweep()): it is
/// removed once older than the grace period.
///
/// ```no_run
/// # #[derive(dynox_core::DynamoModel)]
/// # #[dynamo(table = "documents")]
/// # struct Document {
/// #     #[dynamo(hash_key)] pk: String,
/// #     #[s3(bucket = "company-docs", prefix = "documents/")] content: Option<dynox_s3::S3Object>,
/// # }
/// # async fn demo(client: &dynox_core::Client) -> Result<(), Box<dyn std::error::Error>> {
/// use dynox_s3::{DeclaredFile, UploadRules};
///
/// let rules = UploadRules::new(10 << 20).content_types(["application/pdf"]);
/// let file = DeclaredFile::new("scan.pdf", "application/pdf").size(52_431);
/// let form = dynox_s3::presign_upload(client, Document::key_of("DOC#1"), "content", &file, &rules)
///     .await?;
/// // ... the browser POSTs form.fields and the file to form.url, then sends back form.key ...
/// let file = dynox_s3::attach(client, Document::key_of("DOC#1"), "content", "scan.pdf", &form.key, &rules)
///     .await?; // HEAD + a read of the item: checks what arrived
/// let mut doc = Document { pk: "DOC#1".into(), content: Some(file) };
/// client.save(&mut doc).await?;
/// # Ok(()) }
/// ```
pub async fn presign_upload<M: S3Model>(
    client: &Client,
    key: Key<M>,
    field: &str,
    file: &DeclaredFile,
    rules: &UploadRules,
) -> Result<PresignedUpload, S3Error> {
    let spec = direct_field::<M>(field)?;
    let item = ItemKey::of(client, &key, spec)?;
    let runtime = Runtime::of(client);
    let bucket = runtime.bucket(spec.bucket).to_owned();
    let upload_id = keys::new_upload_id();
    let object_key = item.object_key(spec, &upload_id, &file.file_name)?;
    let refused = |reason| S3Error::UploadRefused {
        table: M::TABLE,
        field: spec.name,
        bucket: bucket.clone(),
        key: object_key.clone(),
        reason: Box::new(reason),
    };
    let content_type = rules
        .check_content_type(&file.content_type)
        .map_err(refused)?;
    // The sizes S3 is to accept: the declared one, or the rules' range (refused when its
    // smallest size is over its largest).
    let (min, max) = match file.size {
        Some(size) => (size, size),
        None => (rules.min_size, rules.max_size),
    };
    rules.check_size(min).map_err(refused)?;
    match &file.sha256 {
        Some(sha256) if !is_sha256_base64(sha256) => {
            return Err(refused(UploadRefusal::InvalidChecksum));
        }
        None if rules.require_sha256 => return Err(refused(UploadRefusal::NoChecksum)),
        _ => {}
    }
    presigning(rules.expires)?;
    let s3 = runtime.client_named(spec.client, spec.region)?;

    // The bucket's URL, as the SDK addresses it (path or virtual-hosted style): a locally
    // presigned request for a one-letter key, without that key and the query. Presigning it
    // also resolves the client's credentials, which the policy is signed with.
    let components = CapturedComponents::default();
    let probe = s3
        .put_object()
        .bucket(&bucket)
        .key("k")
        .customize()
        .interceptor(components.clone())
        .presigned(presigning(MIN_EXPIRY)?)
        .await
        .map_err(|e| S3Error::from_sdk(e, "PutObject", &bucket, &object_key))?;
    let url = probe.uri().split('?').next().unwrap_or_default();
    let url = format!("{}/", url.strip_suffix("/k").unwrap_or(url));
    let Some(credentials) = components.credentials().await else {
        return Err(refused(UploadRefusal::NoCredentials));
    };
    let config = s3.config();
    let region = config
        .region()
        .map(|r| r.as_ref().to_owned())
        .unwrap_or_else(|| "us-east-1".to_owned());
    let now = SystemTime::now();
    let expires_at = now + rules.expires;
    let (date, amz_date) = amz_dates(now);
    let credential = format!(
        "{}/{date}/{region}/s3/aws4_request",
        credentials.access_key_id()
    );

    let mut fields: Vec<(String, String)> = vec![
        ("key".into(), object_key.clone()),
        ("Content-Type".into(), content_type.clone()),
        (
            format!("x-amz-meta-{OWNER_METADATA}"),
            owner(&item.table, spec.name),
        ),
        (format!("x-amz-meta-{MARKER_METADATA}"), upload_id),
        (format!("x-amz-meta-{ITEM_METADATA}"), item.id.clone()),
        ("x-amz-algorithm".into(), "AWS4-HMAC-SHA256".into()),
        ("x-amz-credential".into(), credential),
        ("x-amz-date".into(), amz_date),
    ];
    if let Some(sha256) = &file.sha256 {
        // S3 computes the SHA-256 of what arrives and refuses other bytes (BadDigest); the
        // metadata copy keeps the declaration where a server records no checksum, so that
        // every download is still checked against it.
        fields.push(("x-amz-checksum-sha256".into(), sha256.clone()));
        fields.push((format!("x-amz-meta-{SHA256_METADATA}"), sha256.clone()));
    }
    if let Some(token) = credentials.session_token() {
        fields.push(("x-amz-security-token".into(), token.to_owned()));
    }
    let mut conditions = vec![
        serde_json::json!({ "bucket": bucket }),
        serde_json::json!(["content-length-range", min, max]),
    ];
    conditions.extend(
        fields
            .iter()
            .map(|(name, value)| serde_json::json!(["eq", format!("${name}"), value])),
    );
    let policy = serde_json::json!({
        "expiration": iso8601(expires_at),
        "conditions": conditions,
    });
    let policy = base64::engine::general_purpose::STANDARD.encode(policy.to_string());
    let signing_key = aws_sigv4::sign::v4::generate_signing_key(
        credentials.secret_access_key(),
        now,
        &region,
        "s3",
    );
    let signature = aws_sigv4::sign::v4::calculate_signature(signing_key, policy.as_bytes());
    fields.push(("policy".into(), policy));
    fields.push(("x-amz-signature".into(), signature));

    Ok(PresignedUpload {
        url,
        fields,
        bucket,
        key: object_key,
        file_name: file.file_name.clone(),
        content_type,
        size_range: (min, max),
        sha256: file.sha256.clone(),
        expires_at,
    })
}

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
/// - the object was not uploaded through [`presign_upload`] for this field:
///   [`UploadRefusal::NotADirectUpload`], or for this item: [`UploadRefusal::OtherItem`];
/// - its size or content type breaks `rules`: [`UploadRefusal::TooSmall`],
///   [`UploadRefusal::TooLarge`], [`UploadRefusal::ContentType`];
/// - the rules require a SHA-256 and S3 has none for it: [`UploadRefusal::NoChecksum`];
/// - the item already references it (a replayed attach): [`UploadRefusal::AlreadyAttached`].
///
/// The item records the object's size, ETag and Last-Modified as the HEAD reports them (and
/// its SHA-256 when the uploader sent a full-object `x-amz-checksum-sha256`); downloads of an
/// object without a SHA-256 require the ETag to match.
pub async fn attach<M: S3Model>(
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
    if raw.get(OWNER_METADATA) != Some(&owner(&item.table, spec.name))
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
    // The user's metadata: all but dynox's own.
    let metadata = raw
        .into_iter()
        .filter(|(k, _)| {
            ![
                MARKER_METADATA,
                OWNER_METADATA,
                ITEM_METADATA,
                SHA256_METADATA,
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
    let mut object = S3Object::from_stored(StoredObject {
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
        sha256,
    });
    object.fresh = true;
    Ok(object)
}

/// The file field `field` of `M`, if it can take a direct upload.
fn direct_field<M: S3Model>(field: &str) -> Result<&'static S3Field<M>, S3Error> {
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
    Ok(spec)
}

/// The item a direct upload is for: its key as an item, its key values as text (for object
/// keys) and its id (for [`ITEM_METADATA`]).
struct ItemKey {
    table: String,
    item: dynox_core::item::Item,
    hash: String,
    range: Option<String>,
    id: String,
}

impl ItemKey {
    fn of<M: S3Model>(client: &Client, key: &Key<M>, spec: &S3Field<M>) -> Result<Self, S3Error> {
        let item = key.to_item().map_err(|e| S3Error::InvalidKey {
            field: spec.name,
            reason: format!("key field `{}`: {}", e.field, e.error),
        })?;
        let hash = key_text(item.get(M::SCHEMA.hash.name));
        let range = M::SCHEMA.range.map(|r| key_text(item.get(r.name)));
        let table = client.table_name::<M>();
        // Each part length-prefixed, so no two keys give the same input.
        let mut digest = Sha256::new();
        for part in [Some(table.as_str()), Some(hash.as_str()), range.as_deref()]
            .into_iter()
            .flatten()
        {
            digest.update((part.len() as u64).to_be_bytes());
            digest.update(part.as_bytes());
        }
        let id = digest
            .finalize()
            .iter()
            .take(16)
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(Self {
            table,
            item,
            hash,
            range,
            id,
        })
    }

    fn object_key<M: S3Model>(
        &self,
        spec: &S3Field<M>,
        upload: &str,
        file_name: &str,
    ) -> Result<String, S3Error> {
        keys::object_key(
            spec.key_template,
            &KeyParts {
                prefix: spec.prefix,
                table: M::TABLE,
                field: spec.name,
                hash: &self.hash,
                range: self.range.as_deref(),
                upload,
                file: file_name,
                sha256: None,
            },
        )
    }

    /// Whether `key` is this item's key for `file_name` in `spec`'s field with some upload
    /// id (16 lowercase hex digits, as [`keys::new_upload_id`] makes them).
    fn is_upload_key<M: S3Model>(
        &self,
        spec: &S3Field<M>,
        file_name: &str,
        key: &str,
    ) -> Result<bool, S3Error> {
        // The upload id is put in the key as is: a NUL there marks where it goes.
        let layout = self.object_key(spec, "\0", file_name)?;
        Ok(match layout.split_once('\0') {
            None => layout == key,
            Some((before, after)) => key
                .strip_prefix(before)
                .and_then(|rest| rest.strip_suffix(after))
                .is_some_and(|id| {
                    id.len() == 16 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
                }),
        })
    }

    /// Whether the stored item already references `object_key` in one of its file fields.
    async fn references<M: S3Model>(
        &self,
        client: &Client,
        bucket: &str,
        object_key: &str,
    ) -> Result<bool, S3Error> {
        let read = client
            .dynamodb()
            .get_item()
            .table_name(&self.table)
            .set_key(Some(self.item.clone().into_iter().collect()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| S3Error::ItemRead {
                table: self.table.clone(),
                source: Box::new(e),
            })?;
        let item = read.item.unwrap_or_default();
        Ok(M::S3_FIELDS.iter().filter(|f| !f.overflow).any(|f| {
            item.get(f.name)
                .and_then(|value| StoredObject::from_attribute_value(value).ok())
                .is_some_and(|stored| stored.bucket == bucket && stored.key == object_key)
        }))
    }
}

/// Keeps the runtime components of the request it is attached to, so that the client's
/// credentials can be resolved the way its signer resolves them (through its identity cache).
#[derive(Debug, Clone, Default)]
struct CapturedComponents(std::sync::Arc<std::sync::Mutex<Option<RuntimeComponents>>>);

impl Intercept for CapturedComponents {
    fn name(&self) -> &'static str {
        "dynox-s3 POST policy credentials"
    }

    fn read_before_signing(
        &self,
        _: &BeforeTransmitInterceptorContextRef<'_>,
        components: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(components.clone());
        }
        Ok(())
    }
}

impl CapturedComponents {
    /// The SigV4 credentials of the captured request's client, if it has any.
    async fn credentials(&self) -> Option<Credentials> {
        let components = self.0.lock().ok()?.take()?;
        let resolver = components.identity_resolver(AuthSchemeId::new("sigv4"))?;
        let cfg = ConfigBag::base();
        let identity = components
            .identity_cache()
            .resolve_cached_identity(resolver, &components, &cfg)
            .await
            .ok()?;
        identity.data::<Credentials>().cloned()
    }
}

/// `YYYYMMDD` and `YYYYMMDDTHHMMSSZ` of `time` (UTC), as SigV4 writes them.
fn amz_dates(time: SystemTime) -> (String, String) {
    let iso = iso8601(time); // 2026-12-05T18:40:00Z
    let compact: String = iso.chars().filter(|c| !matches!(c, '-' | ':')).collect();
    (compact[..8].to_owned(), compact)
}

/// `time` to the second, as ISO 8601 in UTC.
fn iso8601(time: SystemTime) -> String {
    let secs = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    DateTime::from_secs(i64::try_from(secs).unwrap_or(i64::MAX))
        .fmt(Format::DateTime)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_match_exactly_or_by_top_level_type() {
        let rules = UploadRules::new(10).content_types(["Application/PDF", "image/*"]);
        assert!(rules.allows("application/pdf"));
        assert!(rules.allows("application/pdf; charset=binary"));
        assert!(rules.allows("image/png"));
        assert!(!rules.allows("image/"));
        assert!(!rules.allows("image"));
        assert!(!rules.allows("application/pdfx"));
        assert!(!rules.allows("text/html"));
        assert!(UploadRules::new(10).allows("anything/at-all"));
    }

    #[test]
    fn sigv4_dates_are_compact_utc() {
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_428_800 + 3_725);
        let (date, stamp) = amz_dates(time);
        assert_eq!(iso8601(time), "2026-12-05T01:02:05Z");
        assert_eq!(date, "20261205");
        assert_eq!(stamp, "20261205T010205Z");
    }
}
