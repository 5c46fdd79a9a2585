//! Step 1: list the objects under each (bucket, prefix) of the model's file fields.

use super::report::Orphan;
use super::scope::Scope;
use crate::error::S3Error;
use crate::settings::Runtime;

/// A listed object: an orphan until an item's reference or its age says otherwise.
pub(super) struct Listed {
    /// The bucket's region, when the field sets one.
    pub region: Option<&'static str>,
    /// The field's named S3 client, if it names one.
    pub client: Option<&'static str>,
    /// The object.
    pub object: Orphan,
    /// The object's Last-Modified as the owner check read it, after the table was read: the
    /// delete is conditional on it (where S3 supports conditional deletes), so an object
    /// touched by a save after the check stays.
    pub checked_last_modified: Option<aws_sdk_s3::primitives::DateTime>,
}

/// Every object under the scope's places (ListObjectsV2, page by page).
pub(super) async fn objects(runtime: &Runtime, scope: &Scope) -> Result<Vec<Listed>, S3Error> {
    let mut listed = Vec::new();
    for place in &scope.places {
        let mut pages = runtime
            .client_named(place.client, place.region)?
            .list_objects_v2()
            .bucket(&place.bucket)
            .prefix(place.prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page
                .map_err(|e| S3Error::from_sdk(e, "ListObjectsV2", &place.bucket, place.prefix))?;
            for object in page.contents.unwrap_or_default() {
                let Some(key) = object.key else { continue };
                listed.push(Listed {
                    region: place.region,
                    client: place.client,
                    checked_last_modified: None,
                    object: Orphan {
                        bucket: place.bucket.clone(),
                        key,
                        size: u64::try_from(object.size.unwrap_or(0)).unwrap_or(0),
                        last_modified: scope.instant(object.last_modified),
                    },
                });
            }
        }
    }
    Ok(listed)
}
