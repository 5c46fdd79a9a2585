//! Kept and retained files: objects no item references that must stay, each with a mark
//! beside it.
//!
//! - Kept: the user cleared the field and chose to keep the file (the default when a save
//!   sets an optional file field to `None`). The object is marked before the write that drops
//!   the reference commits: a zero-byte object at its key plus [`KEPT_SUFFIX`], carrying the
//!   object's key as [`KEPT_METADATA`] and the field's owner. It stays until the user deletes
//!   it.
//! - Retained: a committed write replaced or deleted it and its field has a retention
//!   (`#[s3(retain = "...")]`, [`S3Settings::retain`](crate::S3Settings::retain)), so readers
//!   that read the item a moment before can still fetch it. The mark, put after the commit in
//!   place of the delete, is at its key plus [`RETAIN_INFIX`] plus the second (Unix time)
//!   until which it stays, so the sweep learns the deadline from the listing alone. After the
//!   deadline the sweep deletes the object (if no item references it) and the mark.
//!
//! The orphan sweep (and any later cleanup) leaves a marked object alone; a mark whose object
//! is gone is itself an orphan and is swept.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

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

/// Between a retained object's key and the deadline of its retention mark:
/// `{object key}.dynox-retain-{Unix seconds}`.
pub const RETAIN_INFIX: &str = ".dynox-retain-";

/// The key of the mark that retains the object at `key` until `until` (rounded up to the
/// second: a retention is never cut short).
pub(crate) fn retention_key(key: &str, until: SystemTime) -> String {
    let since = until.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs() + u64::from(since.subsec_nanos() > 0);
    format!("{key}{RETAIN_INFIX}{secs}")
}

/// A mark's key, read: the key of the object it marks, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mark<'a> {
    /// A kept mark: the object stays until the user deletes it.
    Kept(&'a str),
    /// A retention mark: the object stays until the deadline.
    Retained(&'a str, SystemTime),
}

/// What the object at `key` marks, if it is a mark.
pub(crate) fn mark_of(key: &str) -> Option<Mark<'_>> {
    if let Some(target) = key.strip_suffix(KEPT_SUFFIX) {
        return Some(Mark::Kept(target));
    }
    let (target, secs) = key.rsplit_once(RETAIN_INFIX)?;
    if secs.is_empty() || !secs.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let until = UNIX_EPOCH.checked_add(Duration::from_secs(secs.parse().ok()?))?;
    Some(Mark::Retained(target, until))
}

/// The key of the object a mark at `key` keeps or retains, if `key` is a mark's.
pub(crate) fn kept_by(key: &str) -> Option<&str> {
    mark_of(key).map(|mark| match mark {
        Mark::Kept(target) | Mark::Retained(target, _) => target,
    })
}

/// Marks `refs` as kept; returns those that could not be marked, with the reason.
pub(crate) async fn mark(
    runtime: &Runtime,
    owner: impl Fn(&FileRef) -> String,
    client_name: impl Fn(&FileRef) -> Option<&'static str>,
    refs: Vec<FileRef>,
) -> Vec<(FileRef, BoxError)> {
    let marks = refs.into_iter().map(|r| (mark_key(&r.object.key), r));
    put_marks(runtime, owner, client_name, marks).await
}

/// Marks the object at `bucket`/`key` as kept, for `owner` (`{table}/{field}`, or
/// `{table}/{entity}/{field}`).
pub(crate) async fn mark_one(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    owner: String,
) -> Result<(), S3Error> {
    put_mark(s3, bucket, key, &mark_key(key), &owner).await
}

/// Retains each object of `refs` until its deadline (a mark per object, all at once); returns
/// those that could not be marked, with the reason.
pub(crate) async fn retain(
    runtime: &Runtime,
    owner: impl Fn(&FileRef) -> String,
    client_name: impl Fn(&FileRef) -> Option<&'static str>,
    refs: Vec<(FileRef, SystemTime)>,
) -> Vec<(FileRef, BoxError)> {
    let marks = refs
        .into_iter()
        .map(|(r, until)| (retention_key(&r.object.key, until), r));
    put_marks(runtime, owner, client_name, marks).await
}

/// Puts each mark (its key, and the object it marks) at once; returns the objects whose mark
/// could not be put, with the reason.
async fn put_marks(
    runtime: &Runtime,
    owner: impl Fn(&FileRef) -> String,
    client_name: impl Fn(&FileRef) -> Option<&'static str>,
    marks: impl Iterator<Item = (String, FileRef)>,
) -> Vec<(FileRef, BoxError)> {
    let marks = marks.map(|(mark, r)| {
        let s3 = runtime.client_named(client_name(&r), r.object.region.as_deref());
        let owner = owner(&r);
        async move {
            let s3 = match s3 {
                Ok(s3) => s3,
                Err(e) => return Some((r, Box::new(e) as BoxError)),
            };
            // Retried as a delete is: a retention mark that gives up leaves the object
            // unmarked and unreferenced, an orphan until the next sweep.
            let marked = crate::store::retrying_cleanup(|| {
                put_mark(&s3, &r.object.bucket, &r.object.key, &mark, &owner)
            })
            .await;
            marked.err().map(|error| (r, Box::new(error) as BoxError))
        }
    });
    join_all(marks).await.into_iter().flatten().collect()
}

/// Puts the empty mark object `mark` beside the object at `bucket`/`key`, naming it and
/// `owner`.
async fn put_mark(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    mark: &str,
    owner: &str,
) -> Result<(), S3Error> {
    s3.put_object()
        .bucket(bucket)
        .key(mark)
        .metadata(KEPT_METADATA, key)
        .metadata(OWNER_METADATA, owner)
        .body(Vec::new().into())
        .send()
        .await
        .map(|_| ())
        .map_err(|e| S3Error::from_sdk(e, "PutObject", bucket, mark))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_marks_name_their_object_and_deadline() {
        let until = UNIX_EPOCH + Duration::new(1_767_225_600, 1);
        let mark = retention_key("docs/a.pdf", until);
        assert_eq!(mark, "docs/a.pdf.dynox-retain-1767225601");
        assert_eq!(
            mark_of(&mark),
            Some(Mark::Retained(
                "docs/a.pdf",
                UNIX_EPOCH + Duration::from_secs(1_767_225_601)
            ))
        );
        assert_eq!(
            mark_of("docs/a.pdf.dynox-kept"),
            Some(Mark::Kept("docs/a.pdf"))
        );
        assert_eq!(kept_by(&mark), Some("docs/a.pdf"));
        assert_eq!(kept_by("docs/a.pdf.dynox-kept"), Some("docs/a.pdf"));
        for not_a_mark in ["docs/a.pdf", "a.dynox-retain-", "a.dynox-retain-12x"] {
            assert_eq!(kept_by(not_a_mark), None, "{not_a_mark}");
        }
    }
}
