//! Step 1: list the objects under each place of the scope (each bucket's prefixes, none
//! inside another, so each object once), into a sorted spill (memory bounded whatever the
//! bucket's size), and the kept marks and live retention marks by the key of the object
//! they keep (a retention mark whose deadline has passed keeps nothing: it and its object
//! are judged as any unmarked ones).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::report::Orphan;
use super::scope::Scope;
use super::spill::{Sorted, Spill};
use super::SweepError;
use crate::error::FromSdk;
use crate::error::S3Error;
use crate::kept::{self, Mark};
use crate::settings::Runtime;

/// A listed object: an orphan until an item's reference or its age says otherwise.
pub(super) struct Listed {
    /// The bucket's region, when the field sets one.
    pub region: Option<&'static str>,
    /// The field's named S3 client, if it names one.
    pub client: Option<&'static str>,
    /// The object.
    pub object: Orphan,
    /// The `dynox-owner` values that make it this model's, with their fields' attribute names
    /// (those of the fields whose prefix its key starts with).
    pub owners: Vec<(String, &'static str)>,
    /// The object's Last-Modified as the owner check read it, after the table was read: the
    /// delete is conditional on it (where S3 supports conditional deletes), so an object
    /// touched by a save after the check stays.
    pub checked_last_modified: Option<aws_sdk_s3::primitives::DateTime>,
}

/// The listing, sorted by bucket and key.
pub(super) struct Listing {
    /// Every listed object (see [`encode`]).
    pub objects: Sorted,
    /// `bucket\0key` of every object a kept mark beside it names.
    pub marked: Sorted,
    /// `bucket\0key` of every object a retention mark beside it retains past the sweep's
    /// `now`.
    pub retained: Sorted,
    /// Objects listed (each once: the scope's places do not overlap).
    pub count: u64,
}

/// The fixed-size end of a listing record: place index (2 bytes), last modified in
/// nanoseconds since the epoch (16), size (8).
const TAIL: usize = 2 + 16 + 8;

/// The record of an object of place `place`: `bucket\0key\0` and the fixed tail, so records
/// sort by bucket, then key.
pub(super) fn encode(
    bucket: &str,
    key: &str,
    place: usize,
    modified: SystemTime,
    size: u64,
) -> Vec<u8> {
    let mut record = Vec::with_capacity(bucket.len() + key.len() + 2 + TAIL);
    record.extend_from_slice(bucket.as_bytes());
    record.push(0);
    record.extend_from_slice(key.as_bytes());
    record.push(0);
    record.extend_from_slice(&u16::try_from(place).unwrap_or(u16::MAX).to_be_bytes());
    let nanos = modified
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    record.extend_from_slice(&nanos.to_be_bytes());
    record.extend_from_slice(&size.to_be_bytes());
    record
}

/// A decoded listing record: bucket, key, place index, last modified, size.
pub(super) struct Record {
    pub bucket: String,
    pub key: String,
    pub place: usize,
    pub modified: SystemTime,
    pub size: u64,
}

impl Record {
    /// `bucket\0key`, what references and marks are looked up by.
    pub fn lookup(&self) -> Vec<u8> {
        lookup(&self.bucket, &self.key)
    }
}

/// `bucket\0key`.
pub(super) fn lookup(bucket: &str, key: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(bucket.len() + key.len() + 1);
    out.extend_from_slice(bucket.as_bytes());
    out.push(0);
    out.extend_from_slice(key.as_bytes());
    out
}

/// Decodes a record [`encode`] made.
pub(super) fn decode(record: &[u8]) -> Option<Record> {
    let (head, tail) = record.split_at(record.len().checked_sub(TAIL)?);
    let head = head.strip_suffix(&[0])?;
    let split = head.iter().position(|b| *b == 0)?;
    let bucket = std::str::from_utf8(&head[..split]).ok()?.to_owned();
    let key = std::str::from_utf8(&head[split + 1..]).ok()?.to_owned();
    let place = usize::from(u16::from_be_bytes(tail[..2].try_into().ok()?));
    let nanos = u128::from_be_bytes(tail[2..18].try_into().ok()?);
    let size = u64::from_be_bytes(tail[18..].try_into().ok()?);
    let modified = UNIX_EPOCH + Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX));
    Some(Record {
        bucket,
        key,
        place,
        modified,
        size,
    })
}

/// Lists every object under the scope's places (ListObjectsV2, page by page) into sorted
/// spills.
pub(super) async fn objects(
    runtime: &Runtime,
    scope: &Scope,
    memory: usize,
) -> Result<Listing, SweepError> {
    let mut objects = Spill::new(memory);
    let mut marked = Spill::new(memory / 8);
    let mut retained = Spill::new(memory / 8);
    let mut count = 0;
    for (index, place) in scope.places.iter().enumerate() {
        let mut pages = runtime
            .client_named(place.client, place.region)?
            .list_objects_v2()
            .bucket(&place.bucket)
            .prefix(&place.prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page
                .map_err(|e| S3Error::from_sdk(e, "ListObjectsV2", &place.bucket, &place.prefix))?;
            for object in page.contents.unwrap_or_default() {
                let Some(key) = object.key else { continue };
                count += 1;
                match kept::mark_of(&key) {
                    Some(Mark::Kept(target)) => marked.push(lookup(&place.bucket, target))?,
                    Some(Mark::Retained(target, until)) if until > scope.now => {
                        retained.push(lookup(&place.bucket, target))?
                    }
                    // A retention mark past its deadline keeps nothing.
                    Some(Mark::Retained(..)) | None => {}
                }
                let size = u64::try_from(object.size.unwrap_or(0)).unwrap_or(0);
                let modified = scope.instant(object.last_modified);
                objects.push(encode(&place.bucket, &key, index, modified, size))?;
            }
        }
    }
    Ok(Listing {
        objects: objects.into_sorted()?,
        marked: marked.into_sorted()?,
        retained: retained.into_sorted()?,
        count,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_sort_by_bucket_then_key() {
        let at = UNIX_EPOCH + Duration::new(1_767_225_600, 123_456_789);
        let record = encode("bkt", "a/b\0c.txt", 3, at, 42);
        let decoded = decode(&record).unwrap();
        assert_eq!(
            (
                decoded.bucket.as_str(),
                decoded.key.as_str(),
                decoded.place,
                decoded.modified,
                decoded.size
            ),
            ("bkt", "a/b\0c.txt", 3, at, 42)
        );
        let mut records = [
            encode("b", "k1x", 0, at, 1),
            encode("a", "z", 0, at, 1),
            encode("b", "k1", 1, at, 1),
        ];
        records.sort();
        let keys: Vec<String> = records.iter().map(|r| decode(r).unwrap().key).collect();
        assert_eq!(keys, ["z", "k1", "k1x"]);
    }
}
