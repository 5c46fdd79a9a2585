//! Step 1: list the objects under each (bucket, prefix) of the model's file fields.

use super::report::Orphan;
use super::scope::Scope;
use crate::error::S3Error;
use crate::settings::Runtime;

/// A listed object: an orphan until an item's reference or its age says otherwise.
pub(super) struct Listed {
    /// The bucket's region, when the field sets one.
    pub region: Option<&'static str>,
    /// The object.
    pub object: Orphan,
}

/// Every object under the scope's places (ListObjectsV2, page by page).
pub(super) async fn objects(runtime: &Runtime, scope: &Scope) -> Result<Vec<Listed>, S3Error> {
    let mut listed = Vec::new();
    for place in &scope.places {
        let mut pages = runtime
            .client(place.region)
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
