//! POST-policy signing: [`presign_upload`] signs a form that S3 itself enforces (the exact
//! key, the declared content type, a size range, a checksum, and metadata binding the object
//! to one item and field), for a browser to upload one file straight to S3.

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::client::auth::AuthSchemeId;
use aws_smithy_runtime_api::client::identity::ResolveCachedIdentity;
use aws_smithy_runtime_api::client::runtime_components::GetIdentityResolver;
use aws_smithy_types::date_time::{DateTime, Format};
use base64::Engine;
use dynox_core::{Client, Key};

use super::item::{direct_field, ItemKey};
use super::rules::{is_sha256_base64, DeclaredFile, UploadRules};
use super::{presigning, FileField, ITEM_METADATA, MIN_EXPIRY, SHA256_METADATA};
use crate::error::FromSdk;
use crate::error::{S3Error, UploadRefusal};
use crate::keys;
use crate::settings::Runtime;
use crate::store::{owner, S3Model};
use crate::upload::{MARKER_METADATA, OWNER_METADATA};

/// A presigned POST form for a browser (or another service) to upload one file straight to
/// S3: send `fields` in order as `multipart/form-data`, then the file as the last part,
/// named `file`, to `url`. Then call [`attach`](crate::attach) with [`key`](Self::key).
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
/// let form = dynox_s3::presign_upload(client, Document::key_of("DOC#1"), Document::fields().content, &file, &rules)
///     .await?;
/// // ... the browser POSTs form.fields and the file to form.url, then sends back form.key ...
/// let file = dynox_s3::attach(client, Document::key_of("DOC#1"), Document::fields().content, "scan.pdf", &form.key, &rules)
///     .await?; // HEAD + a read of the item: checks what arrived
/// let mut doc = Document { pk: "DOC#1".into(), content: Some(file) };
/// client.save(&mut doc).await?;
/// # Ok(()) }
/// ```
pub async fn presign_upload<M: S3Model>(
    client: &Client,
    key: Key<M>,
    field: impl FileField<M>,
    file: &DeclaredFile,
    rules: &UploadRules,
) -> dynox_core::Result<PresignedUpload> {
    let field = field.attribute();
    Ok(presign_form::<M>(client, key, &field, file, rules).await?)
}

async fn presign_form<M: S3Model>(
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
            owner::<M>(&item.table, spec.name),
        ),
        (format!("x-amz-meta-{MARKER_METADATA}"), upload_id),
        (format!("x-amz-meta-{ITEM_METADATA}"), item.id.clone()),
        ("x-amz-algorithm".into(), "AWS4-HMAC-SHA256".into()),
        ("x-amz-credential".into(), credential),
        ("x-amz-date".into(), amz_date),
    ];
    if let Some(item_key) = crate::keys::encode_item_key(&item.item) {
        fields.push((
            format!("x-amz-meta-{}", crate::keys::ITEM_KEY_METADATA),
            item_key,
        ));
    }
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
    use std::time::Duration;

    use super::*;

    #[test]
    fn sigv4_dates_are_compact_utc() {
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_428_800 + 3_725);
        let (date, stamp) = amz_dates(time);
        assert_eq!(iso8601(time), "2026-12-05T01:02:05Z");
        assert_eq!(date, "20261205");
        assert_eq!(stamp, "20261205T010205Z");
    }
}
