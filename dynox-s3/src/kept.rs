//! Kept files: objects an item stopped referencing because the user cleared the field and
//! chose to keep the file (the default when a save sets an optional file field to `None`).
//!
//! Such an object is marked before the write that drops the reference commits: a zero-byte
//! object beside it, at its key plus [`KEPT_SUFFIX`], carrying the object's key as
//! [`KEPT_METADATA`] and the field's owner. The orphan sweep (and any later cleanup) leaves a
//! marked object alone; a mark whose object is gone is itself an orphan and is swept.

use dynox_core::BoxError;
use dynox_core::FileRef;
use futures::future::join_all;

use crate::error::FromSdk;
use crate::error::S3Error;
use crate::settings::Runtime;
use crate::upload::OWNER_METADATA;

/// The key suffix of a kept mark: `{object key}.dynox-kept`.
pub const KEPT_SUFFIX: &str = ".dynox-kept";

/// S3 user-metadata key of a kept mark, naming the key of the object it keeps.
pub const KEPT_METADATA: &str = "dynox-kept";

/// Whether a file attribute holds what another writer leaves when it clears the field: `NULL`
/// (pydynox's clear, which marks nothing; a cleared file is kept, whoever clears it). dynox
/// never writes `NULL` there: it removes the attribute, after marking the file when it is to
/// stay, so a removed attribute without a mark is a clear whose file was to go (a delete that
/// did not happen). The stream cascade and the sweep both judge a clear by this.
pub(crate) fn cleared_elsewhere(value: Option<&dynox_core::item::AttributeValue>) -> bool {
    matches!(value, Some(dynox_core::item::AttributeValue::Null(_)))
}

/// The key of the mark that keeps the object at `key`.
pub(crate) fn mark_key(key: &str) -> String {
    format!("{key}{KEPT_SUFFIX}")
}

/// The key of the object a mark at `key` keeps, if `key` is a mark's.
pub(crate) fn kept_by(key: &str) -> Option<&str> {
    key.strip_suffix(KEPT_SUFFIX)
}

/// Marks `refs` as kept; returns those that could not be marked, with the reason.
pub(crate) async fn mark(
    runtime: &Runtime,
    owner: impl Fn(&FileRef) -> String,
    client_name: impl Fn(&FileRef) -> Option<&'static str>,
    refs: Vec<FileRef>,
) -> Vec<(FileRef, BoxError)> {
    let marks = refs.into_iter().map(|r| {
        let s3 = runtime.client_named(client_name(&r), r.object.region.as_deref());
        let owner = owner(&r);
        async move {
            let s3 = match s3 {
                Ok(s3) => s3,
                Err(e) => return Some((r, Box::new(e) as BoxError)),
            };
            match mark_one(&s3, &r.object.bucket, &r.object.key, owner).await {
                Ok(()) => None,
                Err(error) => Some((r, Box::new(error) as BoxError)),
            }
        }
    });
    join_all(marks).await.into_iter().flatten().collect()
}

/// Marks the object at `bucket`/`key` as kept, for `owner` (`{table}/{field}`, or
/// `{table}/{entity}/{field}`).
pub(crate) async fn mark_one(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    owner: String,
) -> Result<(), S3Error> {
    let mark = mark_key(key);
    s3.put_object()
        .bucket(bucket)
        .key(&mark)
        .metadata(KEPT_METADATA, key)
        .metadata(OWNER_METADATA, owner)
        .body(Vec::new().into())
        .send()
        .await
        .map(|_| ())
        .map_err(|e| S3Error::from_sdk(e, "PutObject", bucket, &mark))
}

/// Removes the marks of `refs` (after a write that did not happen), as far as it can: a mark
/// left on an object an item still references changes nothing (only unreferenced objects
/// are ever deleted by the sweep), and a mark whose object is gone is swept.
pub(crate) async fn unmark(
    runtime: &Runtime,
    client_name: impl Fn(&FileRef) -> Option<&'static str>,
    refs: Vec<FileRef>,
) {
    let unmarks = refs.into_iter().map(|r| {
        let s3 = runtime.client_named(client_name(&r), r.object.region.as_deref());
        async move {
            let Ok(s3) = s3 else { return };
            let _ = s3
                .delete_object()
                .bucket(&r.object.bucket)
                .key(mark_key(&r.object.key))
                .send()
                .await;
        }
    });
    join_all(unmarks).await;
}
