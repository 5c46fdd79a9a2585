//! [`StoredObject`], the metadata record of a stored object, and how S3's answers (ETags,
//! version ids) are normalised into it.

use std::collections::BTreeMap;
use std::time::SystemTime;

#[cfg(doc)] // for the documentation's links
use super::S3Object;

/// The metadata of a stored object: what the item keeps in DynamoDB instead of the bytes.
///
/// [`S3Object`] has an accessor for each piece ([`S3Object::etag`],
/// [`S3Object::last_modified`], ...); this struct is the whole record at once, from
/// [`S3Object::stored`]. In the item it is a map with one attribute per field (`bucket`,
/// `key`, `size`, `etag`, `content_type`, `last_modified` as an RFC 3339 string, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoredObject {
    /// The bucket.
    pub bucket: String,
    /// The object key.
    pub key: String,
    /// The region of the bucket, when the field sets one.
    pub region: Option<String>,
    /// The name of the S3 client the field uses (`#[s3(client = "...")]`), when it names
    /// one: downloads, links and deletes of the object go through it.
    pub client: Option<String>,
    /// The size in bytes of the content (the original, before any compression).
    pub size: u64,
    /// The object's ETag as S3 defines it: the quoted string of its `ETag` header, such as
    /// `"9b2cf535f27731c974343645a3985328"` *with* the double quotes (a multipart upload's
    /// ends in `-` and its number of parts before the closing quote). Quoted, it is what
    /// HTTP `If-Match` takes as it is; an ETag a server sent bare is recorded quoted. Empty
    /// only when the server sent none (see [`S3Object::etag`]).
    pub etag: String,
    /// The MIME type.
    pub content_type: String,
    /// When the object was stored, by S3's clock: the `Date` of S3's answer to the upload
    /// (PutObject, or CompleteMultipartUpload for a multipart one), or the Last-Modified a
    /// HEAD reported for an [`attach`](crate::attach)ed object; to the second. For an upload
    /// it is within the request's duration of the Last-Modified S3 itself reports (S3 may
    /// date an object when its request began). Only a server that sends no date leaves the
    /// client's clock here. `None` when the item records no time or one that is not
    /// RFC 3339 (items of other writers).
    pub last_modified: Option<SystemTime>,
    /// The object version, when the bucket has versioning; downloads read this version.
    pub version_id: Option<String>,
    /// The file name given at upload.
    pub file_name: String,
    /// User metadata (S3 `x-amz-meta-*`).
    pub metadata: BTreeMap<String, String>,
    /// Base64 CRC-64/NVME of the content (big-endian, as S3's `x-amz-checksum-crc64nvme`
    /// carries it): computed while uploading, checked by S3 on arrival and on every full
    /// download. For an object stored as it is, it is S3's own full-object checksum of the
    /// object. `None` for items written before it was recorded and for an attached object
    /// S3 kept no CRC-64 of.
    pub crc64nvme: Option<String>,
    /// Base64 SHA-256 of the content, where it is recorded: content-addressed (`shared`)
    /// fields, fields that ask for it (`#[s3(sha256)]`), overflow values, attached uploads
    /// that declared one, and items written before CRC-64 was the default. Checked on every
    /// full download where recorded.
    pub sha256: Option<String>,
    /// The codec the object is compressed with (`#[s3(compress = "...")]`); `None` for an
    /// object stored as it is, including every object stored before compression existed.
    pub encoding: Option<crate::Compression>,
    /// The size in bytes of the stored (compressed) object, when it is compressed; otherwise
    /// it is [`size`](Self::size).
    pub stored_size: Option<u64>,
}

impl StoredObject {
    /// `s3://bucket/key` (with `?versionId=` when versioned).
    pub fn uri(&self) -> String {
        match &self.version_id {
            Some(v) => format!("s3://{}/{}?versionId={v}", self.bucket, self.key),
            None => format!("s3://{}/{}", self.bucket, self.key),
        }
    }
}

/// A version id S3 answered, or `None` for `null`: the id S3 gives an object of a bucket
/// without versioning (moto sends it as `x-amz-version-id: null`; AWS sends no header). It
/// names no version of its own, so the object is read and deleted by its key alone.
pub(crate) fn version_id(id: Option<String>) -> Option<String> {
    id.filter(|id| !id.is_empty() && id != "null")
}

/// `etag` in the quoted form S3 defines (RFC 9110 entity-tag), for servers that send it bare.
pub(crate) fn quoted(etag: String) -> String {
    if etag.is_empty() || etag.starts_with('"') || etag.starts_with("W/\"") {
        etag
    } else {
        format!("\"{etag}\"")
    }
}

#[cfg(test)]
pub(super) mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::{Compression, S3Object};

    /// 2026-01-01T00:00:00Z.
    pub(in crate::object) fn jan_1_2026() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_767_225_600)
    }

    pub(in crate::object) fn object(
        encoding: Option<Compression>,
        stored_size: Option<u64>,
    ) -> StoredObject {
        StoredObject {
            bucket: "b".into(),
            key: "k".into(),
            region: None,
            client: None,
            size: 1000,
            etag: "\"e\"".into(),
            content_type: "text/csv".into(),
            last_modified: Some(jan_1_2026()),
            version_id: None,
            file_name: "f.csv".into(),
            metadata: BTreeMap::new(),
            crc64nvme: Some("Ygx0ps3GAWo=".into()),
            sha256: None,
            encoding,
            stored_size,
        }
    }

    #[test]
    fn an_etag_is_kept_quoted_as_s3_defines_it() {
        assert_eq!(quoted("\"abc\"".into()), "\"abc\"");
        assert_eq!(quoted("abc-2".into()), "\"abc-2\"");
        assert_eq!(quoted("W/\"abc\"".into()), "W/\"abc\"");
        assert_eq!(quoted(String::new()), "");
        let mut bare = object(None, None);
        bare.etag = String::new();
        assert_eq!(S3Object::from_stored(bare).etag(), None);
    }
}
