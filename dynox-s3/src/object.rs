//! [`S3Object`], the value of a file field: a file waiting to be uploaded, or a stored object.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::PathBuf;

use bytes::Bytes;
use dynox_core::item::{Attribute, AttributeError, AttributeValue};
use futures::Stream;
use tokio::io::AsyncRead;

pub(crate) use crate::upload::source::Source;

/// A file field's value.
///
/// It is in one of two states:
/// - **pending**: a file to upload, made with [`from_bytes`](Self::from_bytes),
///   [`from_path`](Self::from_path), [`from_reader`](Self::from_reader) or
///   [`from_stream`](Self::from_stream). Saving the item uploads it and turns it into:
/// - **stored**: the metadata of an object in S3 ([`StoredObject`]), as read from the item.
///   Reading an item makes no S3 request; the bytes are fetched only when asked for.
///
/// ```
/// use dynox_s3::S3Object;
///
/// let file = S3Object::from_bytes(b"%PDF-1.7 ...".to_vec(), "report.pdf")
///     .with_metadata("author", "Ada");
/// assert!(file.is_pending());
/// assert_eq!(file.content_type(), Some("application/pdf")); // guessed from the name
/// ```
pub struct S3Object {
    pub(crate) state: State,
    /// A stored object not yet referenced by any item (attached after a presigned upload): the
    /// next save treats it like an upload, removing it if the write fails. Not cloned: only
    /// the value `attach` returned may claim the object.
    pub(crate) fresh: bool,
    /// The file this object was uploaded from by a save that has not settled yet: restored
    /// if that save's write fails (and its upload is removed).
    pub(crate) uploaded_from: Option<PendingUpload>,
}

impl Clone for S3Object {
    fn clone(&self) -> Self {
        S3Object {
            state: self.state.clone(),
            fresh: false,
            uploaded_from: self.uploaded_from.clone(),
        }
    }
}

#[derive(Clone)]
pub(crate) enum State {
    Pending(PendingUpload),
    Stored(StoredObject),
}

/// A file waiting to be uploaded.
#[derive(Clone)]
pub(crate) struct PendingUpload {
    pub(crate) source: Source,
    pub(crate) file_name: String,
    pub(crate) content_type: Option<String>,
    pub(crate) metadata: BTreeMap<String, String>,
}

/// The metadata of a stored object: what the item keeps in DynamoDB instead of the bytes.
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
    /// The ETag S3 returned.
    pub etag: String,
    /// The MIME type.
    pub content_type: String,
    /// When the upload completed (RFC 3339, UTC).
    pub last_modified: String,
    /// The object version, when the bucket has versioning; downloads read this version.
    pub version_id: Option<String>,
    /// The file name given at upload.
    pub file_name: String,
    /// User metadata (S3 `x-amz-meta-*`).
    pub metadata: BTreeMap<String, String>,
    /// Base64 SHA-256 of the content, computed while uploading and checked on every full
    /// download; `None` only for objects attached after a direct (presigned) upload.
    pub sha256: Option<String>,
    /// The codec the object is compressed with (`#[s3(compress = "...")]`); `None` for an
    /// object stored as it is, including every object stored before compression existed.
    pub encoding: Option<crate::Compression>,
    /// The size in bytes of the stored (compressed) object, when it is compressed; otherwise
    /// it is [`size`](Self::size).
    pub stored_size: Option<u64>,
}

impl S3Object {
    fn pending(source: Source, file_name: String) -> Self {
        let content_type = mime_guess::from_path(&file_name)
            .first_raw()
            .map(str::to_owned);
        S3Object {
            state: State::Pending(PendingUpload {
                source,
                file_name,
                content_type,
                metadata: BTreeMap::new(),
            }),
            fresh: false,
            uploaded_from: None,
        }
    }

    /// A file from bytes in memory, with its file name.
    pub fn from_bytes(data: impl Into<Bytes>, file_name: impl Into<String>) -> Self {
        Self::pending(Source::bytes(data.into()), file_name.into())
    }

    /// A file on disk, streamed when uploaded (never read whole into memory); the file name is
    /// taken from the path.
    pub fn from_path(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "file".to_owned());
        Self::pending(Source::path(path), file_name)
    }

    /// A file read from any async reader, streamed when uploaded. `size` is its length if
    /// known (it picks single or multipart upload up front; without it, the first
    /// `multipart_threshold` bytes decide).
    pub fn from_reader(
        reader: impl AsyncRead + Send + Unpin + 'static,
        file_name: impl Into<String>,
        size: Option<u64>,
    ) -> Self {
        Self::pending(Source::reader(Box::new(reader), size), file_name.into())
    }

    /// A file from a stream of byte chunks, streamed when uploaded.
    pub fn from_stream<S>(stream: S, file_name: impl Into<String>) -> Self
    where
        S: Stream<Item = Result<Bytes, std::io::Error>> + Send + Unpin + 'static,
    {
        Self::from_reader(tokio_util::io::StreamReader::new(stream), file_name, None)
    }

    /// Sets the MIME type (by default guessed from the file name's extension, else
    /// `application/octet-stream`).
    pub fn with_content_type(mut self, content_type: impl Into<String>) -> Self {
        if let State::Pending(p) = &mut self.state {
            p.content_type = Some(content_type.into());
        }
        self
    }

    /// Adds user metadata, stored as S3 `x-amz-meta-*` headers and in the item.
    pub fn with_metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        if let State::Pending(p) = &mut self.state {
            p.metadata.insert(key.into(), value.into());
        }
        self
    }

    /// A stored object from its metadata (for objects uploaded another way; see also
    /// [`attach`](crate::attach)).
    pub fn from_stored(stored: StoredObject) -> Self {
        S3Object {
            state: State::Stored(stored),
            fresh: false,
            uploaded_from: None,
        }
    }

    /// Whether this is a file waiting to be uploaded.
    pub fn is_pending(&self) -> bool {
        matches!(self.state, State::Pending(_))
    }

    /// The stored object's metadata, or `None` while pending.
    pub fn stored(&self) -> Option<&StoredObject> {
        match &self.state {
            State::Stored(s) => Some(s),
            State::Pending(_) => None,
        }
    }

    /// The stored object's metadata, or [`S3Error::NotUploaded`](crate::S3Error::NotUploaded).
    pub fn require_stored(&self) -> Result<&StoredObject, crate::S3Error> {
        match &self.state {
            State::Stored(s) => Ok(s),
            State::Pending(p) => Err(crate::S3Error::NotUploaded {
                file_name: p.file_name.clone(),
            }),
        }
    }

    /// The file name.
    pub fn file_name(&self) -> &str {
        match &self.state {
            State::Stored(s) => &s.file_name,
            State::Pending(p) => &p.file_name,
        }
    }

    /// The MIME type, if known.
    pub fn content_type(&self) -> Option<&str> {
        match &self.state {
            State::Stored(s) => Some(&s.content_type),
            State::Pending(p) => p.content_type.as_deref(),
        }
    }

    /// The size in bytes: known once stored, or for pending bytes and sized readers.
    pub fn size(&self) -> Option<u64> {
        match &self.state {
            State::Stored(s) => Some(s.size),
            State::Pending(p) => p.source.size(),
        }
    }
}

impl fmt::Debug for S3Object {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.state {
            State::Stored(s) => f.debug_tuple("S3Object::Stored").field(s).finish(),
            State::Pending(p) => f
                .debug_struct("S3Object::Pending")
                .field("file_name", &p.file_name)
                .field("source", &p.source)
                .finish(),
        }
    }
}

/// Two values are equal when both are stored and record the same object and metadata.
/// A pending file equals nothing, not even itself: it has no identity until uploaded.
impl PartialEq for S3Object {
    fn eq(&self, other: &Self) -> bool {
        match (&self.state, &other.state) {
            (State::Stored(a), State::Stored(b)) => a == b,
            _ => false,
        }
    }
}

// The item attribute: a map of the stored object's metadata.

const BUCKET: &str = "bucket";
const KEY: &str = "key";
const REGION: &str = "region";
const CLIENT: &str = "client";
const SIZE: &str = "size";
const ETAG: &str = "etag";
const CONTENT_TYPE: &str = "content_type";
const LAST_MODIFIED: &str = "last_modified";
const VERSION_ID: &str = "version_id";
const FILE_NAME: &str = "file_name";
const METADATA: &str = "metadata";
const SHA256: &str = "sha256";
const ENCODING: &str = "encoding";
const STORED_SIZE: &str = "stored_size";

impl StoredObject {
    pub(crate) fn to_attribute_value(&self) -> AttributeValue {
        let mut map = HashMap::with_capacity(13);
        let s = |v: &str| AttributeValue::S(v.to_owned());
        map.insert(BUCKET.to_owned(), s(&self.bucket));
        map.insert(KEY.to_owned(), s(&self.key));
        map.insert(SIZE.to_owned(), AttributeValue::N(self.size.to_string()));
        map.insert(ETAG.to_owned(), s(&self.etag));
        map.insert(CONTENT_TYPE.to_owned(), s(&self.content_type));
        map.insert(LAST_MODIFIED.to_owned(), s(&self.last_modified));
        map.insert(FILE_NAME.to_owned(), s(&self.file_name));
        if let Some(region) = &self.region {
            map.insert(REGION.to_owned(), s(region));
        }
        if let Some(client) = &self.client {
            map.insert(CLIENT.to_owned(), s(client));
        }
        if let Some(version) = &self.version_id {
            map.insert(VERSION_ID.to_owned(), s(version));
        }
        if let Some(sha) = &self.sha256 {
            map.insert(SHA256.to_owned(), s(sha));
        }
        // Absent for an uncompressed object, so its map is what it was before compression.
        if let Some(encoding) = self.encoding {
            map.insert(ENCODING.to_owned(), s(encoding.name()));
        }
        if let Some(stored) = self.stored_size {
            map.insert(
                STORED_SIZE.to_owned(),
                AttributeValue::N(stored.to_string()),
            );
        }
        if !self.metadata.is_empty() {
            map.insert(
                METADATA.to_owned(),
                AttributeValue::M(
                    self.metadata
                        .iter()
                        .map(|(k, v)| (k.clone(), s(v)))
                        .collect(),
                ),
            );
        }
        AttributeValue::M(map)
    }

    pub(crate) fn from_attribute_value(value: &AttributeValue) -> Result<Self, AttributeError> {
        let AttributeValue::M(map) = value else {
            return Err(AttributeError::WrongType {
                expected: "M",
                found: dynox_core::item::type_name(value),
            });
        };
        let text = |name: &'static str| -> Result<Option<String>, AttributeError> {
            match map.get(name) {
                None | Some(AttributeValue::Null(_)) => Ok(None),
                Some(AttributeValue::S(s)) => Ok(Some(s.clone())),
                Some(other) => Err(AttributeError::InvalidFileReference {
                    reason: format!(
                        "`{name}` should be a string, found {}",
                        dynox_core::item::type_name(other)
                    ),
                }),
            }
        };
        let required = |name: &'static str| -> Result<String, AttributeError> {
            text(name)?.ok_or_else(|| AttributeError::InvalidFileReference {
                reason: format!("`{name}` is missing"),
            })
        };
        let size = u64::from_attribute(map.get(SIZE).cloned()).map_err(|e| {
            AttributeError::InvalidFileReference {
                reason: format!("`size`: {e}"),
            }
        })?;
        let encoding = match text(ENCODING)? {
            None => None,
            Some(name) => Some(crate::Compression::from_name(&name).ok_or_else(|| {
                AttributeError::InvalidFileReference {
                    reason: format!("unknown `encoding` `{name}`"),
                }
            })?),
        };
        let stored_size = match map.get(STORED_SIZE) {
            None | Some(AttributeValue::Null(_)) => None,
            Some(value) => Some(u64::from_attribute(Some(value.clone())).map_err(|e| {
                AttributeError::InvalidFileReference {
                    reason: format!("`stored_size`: {e}"),
                }
            })?),
        };
        let metadata = match map.get(METADATA) {
            Some(AttributeValue::M(m)) => m
                .iter()
                .map(|(k, v)| match v {
                    AttributeValue::S(s) => Ok((k.clone(), s.clone())),
                    _ => Err(AttributeError::InvalidFileReference {
                        reason: format!("metadata `{k}` is not a string"),
                    }),
                })
                .collect::<Result<_, _>>()?,
            _ => BTreeMap::new(),
        };
        Ok(StoredObject {
            bucket: required(BUCKET)?,
            key: required(KEY)?,
            region: text(REGION)?,
            client: text(CLIENT)?,
            size,
            etag: text(ETAG)?.unwrap_or_default(),
            content_type: text(CONTENT_TYPE)?
                .unwrap_or_else(|| "application/octet-stream".to_owned()),
            last_modified: text(LAST_MODIFIED)?.unwrap_or_default(),
            version_id: text(VERSION_ID)?,
            file_name: text(FILE_NAME)?.unwrap_or_default(),
            metadata,
            sha256: text(SHA256)?,
            encoding,
            stored_size,
        })
    }

    /// `s3://bucket/key` (with `?versionId=` when versioned).
    pub fn uri(&self) -> String {
        match &self.version_id {
            Some(v) => format!("s3://{}/{}?versionId={v}", self.bucket, self.key),
            None => format!("s3://{}/{}", self.bucket, self.key),
        }
    }
}

/// A file field is stored as a map of its object's metadata (bucket, key, size, etag, content
/// type, last modified, version id, file name, user metadata, SHA-256, and for a compressed
/// object its encoding and stored size). A pending file cannot be converted: the save path
/// uploads it first.
impl Attribute for S3Object {
    fn to_attribute(&self) -> Result<Option<AttributeValue>, AttributeError> {
        match &self.state {
            State::Stored(s) => Ok(Some(s.to_attribute_value())),
            State::Pending(p) => Err(AttributeError::InvalidFileReference {
                reason: format!("file `{}` has not been uploaded", p.file_name),
            }),
        }
    }

    fn from_attribute(value: Option<AttributeValue>) -> Result<Self, AttributeError> {
        match value {
            Some(v) => StoredObject::from_attribute_value(&v).map(S3Object::from_stored),
            None => Err(AttributeError::Missing),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Compression;

    fn object(encoding: Option<Compression>, stored_size: Option<u64>) -> StoredObject {
        StoredObject {
            bucket: "b".into(),
            key: "k".into(),
            region: None,
            client: None,
            size: 1000,
            etag: "\"e\"".into(),
            content_type: "text/csv".into(),
            last_modified: "2026-01-01T00:00:00Z".into(),
            version_id: None,
            file_name: "f.csv".into(),
            metadata: BTreeMap::new(),
            sha256: Some("abc=".into()),
            encoding,
            stored_size,
        }
    }

    #[test]
    fn an_uncompressed_object_keeps_the_map_it_had_before_compression() {
        let plain = object(None, None);
        let AttributeValue::M(map) = plain.to_attribute_value() else {
            panic!("not a map")
        };
        let mut keys: Vec<&str> = map.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "bucket",
                "content_type",
                "etag",
                "file_name",
                "key",
                "last_modified",
                "sha256",
                "size"
            ]
        );
        let read = StoredObject::from_attribute_value(&AttributeValue::M(map)).unwrap();
        assert_eq!(read, plain);
    }

    #[test]
    fn a_compressed_object_records_its_encoding_and_stored_size() {
        for encoding in Compression::ALL {
            let compressed = object(Some(encoding), Some(120));
            let value = compressed.to_attribute_value();
            let AttributeValue::M(map) = &value else {
                panic!("not a map")
            };
            assert_eq!(map[ENCODING], AttributeValue::S(encoding.name().into()));
            assert_eq!(map[STORED_SIZE], AttributeValue::N("120".into()));
            assert_eq!(
                StoredObject::from_attribute_value(&value).unwrap(),
                compressed
            );
        }
    }

    #[test]
    fn an_unknown_encoding_is_an_invalid_reference() {
        let AttributeValue::M(mut map) = object(None, None).to_attribute_value() else {
            panic!("not a map")
        };
        map.insert(ENCODING.into(), AttributeValue::S("brotli".into()));
        let err = StoredObject::from_attribute_value(&AttributeValue::M(map.clone())).unwrap_err();
        assert!(
            matches!(&err, AttributeError::InvalidFileReference { reason } if reason.contains("brotli")),
            "{err:?}"
        );
        map.insert(ENCODING.into(), AttributeValue::S("zstd".into()));
        map.insert(STORED_SIZE.into(), AttributeValue::S("many".into()));
        let err = StoredObject::from_attribute_value(&AttributeValue::M(map)).unwrap_err();
        assert!(
            matches!(&err, AttributeError::InvalidFileReference { reason } if reason.contains("stored_size")),
            "{err:?}"
        );
    }
}
