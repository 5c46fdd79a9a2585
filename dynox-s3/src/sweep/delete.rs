//! Step 4: delete the orphans, bucket by bucket, in DeleteObjects batches.

use std::collections::BTreeMap;

use aws_sdk_s3::types::{Delete, ObjectIdentifier};

use super::listing::Listed;
use crate::error::FromSdk;
use crate::error::S3Error;
use crate::settings::Runtime;

/// Keys one DeleteObjects request takes at most.
const DELETE_BATCH: usize = 1000;

/// What deleting the orphans did.
#[derive(Default)]
pub(super) struct Deleted {
    /// Objects deleted.
    pub deleted: u64,
    /// Objects not deleted: the key and why.
    pub failed: Vec<(String, String)>,
}

/// Deletes `orphans`. A failed request or object is reported, never fatal: the next sweep
/// tries again.
pub(super) async fn orphans(runtime: &Runtime, orphans: &[Listed]) -> Deleted {
    type Place<'a> = (&'a str, Option<&'a str>, Option<&'a str>);
    let mut by_bucket: BTreeMap<Place<'_>, Vec<&Listed>> = BTreeMap::new();
    for orphan in orphans {
        by_bucket
            .entry((&orphan.object.bucket, orphan.region, orphan.client))
            .or_default()
            .push(orphan);
    }
    let mut deleted = Deleted::default();
    for ((bucket, region, client), listed) in by_bucket {
        let s3 = match runtime.client_named(client, region) {
            Ok(s3) => s3,
            Err(error) => {
                let error = error.to_string();
                deleted
                    .failed
                    .extend(listed.iter().map(|l| (l.object.key.clone(), error.clone())));
                continue;
            }
        };
        for batch in listed.chunks(DELETE_BATCH) {
            match delete_batch(&s3, bucket, batch).await {
                Ok(failed) => {
                    deleted.deleted += batch.len().saturating_sub(failed.len()) as u64;
                    deleted.failed.extend(failed);
                }
                Err(error) => {
                    let error = error.to_string();
                    deleted
                        .failed
                        .extend(batch.iter().map(|l| (l.object.key.clone(), error.clone())));
                }
            }
        }
    }
    deleted
}

/// One DeleteObjects request (quiet: only failures come back); returns the keys it could
/// not delete, with the service's code and message.
async fn delete_batch(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    listed: &[&Listed],
) -> Result<Vec<(String, String)>, S3Error> {
    let invalid = |e: aws_sdk_s3::error::BuildError| S3Error::InvalidReference {
        reason: e.to_string(),
    };
    // Each delete is conditional on the Last-Modified the owner check saw (S3 honours it;
    // servers without conditional deletes ignore it): a save that touched a shared object
    // after the check keeps it.
    let objects = listed
        .iter()
        .map(|l| {
            ObjectIdentifier::builder()
                .key(&l.object.key)
                .set_last_modified_time(l.checked_last_modified)
                .build()
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(invalid)?;
    let delete = Delete::builder()
        .set_objects(Some(objects))
        .quiet(true)
        .build()
        .map_err(invalid)?;
    let output = s3
        .delete_objects()
        .bucket(bucket)
        .delete(delete)
        .send()
        .await
        .map_err(|e| S3Error::from_sdk(e, "DeleteObjects", bucket, ""))?;
    Ok(output
        .errors
        .unwrap_or_default()
        .into_iter()
        .map(|e| {
            let reason = format!(
                "{}: {}",
                e.code.unwrap_or_default(),
                e.message.unwrap_or_default()
            );
            (e.key.unwrap_or_default(), reason)
        })
        .collect())
}
