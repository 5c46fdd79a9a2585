//! Step 5: abort the incomplete multipart uploads older than the grace period under the
//! model's non-empty prefixes (the fields' fixed key parts, each listed once; uploads carry
//! no owner metadata: only a prefix of ours marks them as ours).

use aws_sdk_s3::types::MultipartUpload;

use super::report::StaleUpload;
use super::scope::{Place, Scope};
use crate::error::FromSdk;
use crate::error::S3Error;
use crate::settings::Runtime;

/// What the multipart step found and did.
#[derive(Default)]
pub(super) struct Uploads {
    /// Uploads older than the grace period: aborted, or to abort on a dry run.
    pub stale: Vec<StaleUpload>,
    /// Uploads aborted.
    pub aborted: u64,
    /// Uploads that could not be aborted: the key and why.
    pub failed: Vec<(String, String)>,
    /// Buckets whose server cannot list multipart uploads.
    pub listing_unsupported: Vec<String>,
}

/// Finds the stale uploads under the scope's upload places (every non-empty prefix) and,
/// unless `dry_run`, aborts them.
pub(super) async fn stale(
    runtime: &Runtime,
    scope: &Scope,
    dry_run: bool,
) -> Result<Uploads, S3Error> {
    let mut uploads = Uploads::default();
    for place in &scope.upload_places {
        let s3 = runtime.client_named(place.client, place.region)?;
        let Some(listed) = list(&s3, place).await? else {
            uploads.listing_unsupported.push(place.bucket.clone());
            continue;
        };
        for upload in listed {
            let initiated = scope.instant(upload.initiated);
            let (Some(key), Some(upload_id)) = (upload.key, upload.upload_id) else {
                continue;
            };
            if scope.too_young(initiated) {
                continue;
            }
            if !dry_run {
                match abort(&s3, &place.bucket, &key, &upload_id).await {
                    Ok(()) => uploads.aborted += 1,
                    Err(e) => uploads.failed.push((key.clone(), e.to_string())),
                }
            }
            uploads.stale.push(StaleUpload {
                bucket: place.bucket.clone(),
                key,
                upload_id,
                initiated,
            });
        }
    }
    Ok(uploads)
}

/// The incomplete uploads under the place's prefix, page by page; `None` if the server
/// cannot list them.
async fn list(
    s3: &aws_sdk_s3::Client,
    place: &Place,
) -> Result<Option<Vec<MultipartUpload>>, S3Error> {
    let mut uploads = Vec::new();
    let (mut key_marker, mut upload_id_marker) = (None, None);
    loop {
        let listed = s3
            .list_multipart_uploads()
            .bucket(&place.bucket)
            .prefix(&place.prefix)
            .set_key_marker(key_marker)
            .set_upload_id_marker(upload_id_marker)
            .send()
            .await;
        let page = match listed {
            Ok(page) => page,
            Err(e) => {
                return match S3Error::from_sdk(
                    e,
                    "ListMultipartUploads",
                    &place.bucket,
                    &place.prefix,
                ) {
                    S3Error::Service { .. } => Ok(None),
                    other => Err(other),
                }
            }
        };
        uploads.extend(page.uploads.unwrap_or_default());
        if page.is_truncated != Some(true) || page.next_key_marker.is_none() {
            return Ok(Some(uploads));
        }
        key_marker = page.next_key_marker;
        upload_id_marker = page.next_upload_id_marker;
    }
}

/// Aborts one upload.
async fn abort(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    upload_id: &str,
) -> Result<(), S3Error> {
    s3.abort_multipart_upload()
        .bucket(bucket)
        .key(key)
        .upload_id(upload_id)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| S3Error::from_sdk(e, "AbortMultipartUpload", bucket, key))
}
