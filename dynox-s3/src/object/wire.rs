//! The item format of a file field: how an [`S3Object`] is written into a DynamoDB attribute
//! (a map of its [`StoredObject`]'s metadata) and read back from one.

use std::collections::{BTreeMap, HashMap};

use dynox_core::item::{Attribute, AttributeError, AttributeValue};

use super::rfc3339::{parse_rfc3339, rfc3339};
use super::{version_id, S3Object, StoredObject};

// The attribute names of the map.

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
const CRC64NVME: &str = "crc64nvme";
const SHA256: &str = "sha256";
const ENCODING: &str = "encoding";
const STORED_SIZE: &str = "stored_size";

impl StoredObject {
    pub(crate) fn to_attribute_value(&self) -> AttributeValue {
        let mut map = HashMap::with_capacity(14);
        let s = |v: &str| AttributeValue::S(v.to_owned());
        map.insert(BUCKET.to_owned(), s(&self.bucket));
        map.insert(KEY.to_owned(), s(&self.key));
        map.insert(SIZE.to_owned(), AttributeValue::N(self.size.to_string()));
        map.insert(ETAG.to_owned(), s(&self.etag));
        map.insert(CONTENT_TYPE.to_owned(), s(&self.content_type));
        if let Some(time) = self.last_modified.and_then(rfc3339) {
            map.insert(LAST_MODIFIED.to_owned(), s(&time));
        }
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
        if let Some(crc) = &self.crc64nvme {
            map.insert(CRC64NVME.to_owned(), s(crc));
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
        let key = required(KEY)?;
        // Items written by other tools (pydynox) may store the ETag bare and no file name:
        // the ETag is read in S3's quoted form, the name is the key's last segment.
        let file_name = text(FILE_NAME)?
            .filter(|name| !name.is_empty())
            .unwrap_or_else(|| key.rsplit('/').next().unwrap_or_default().to_owned());
        Ok(StoredObject {
            bucket: required(BUCKET)?,
            key,
            region: text(REGION)?,
            client: text(CLIENT)?,
            size,
            etag: text(ETAG)?.map(super::stored::quoted).unwrap_or_default(),
            content_type: text(CONTENT_TYPE)?
                .unwrap_or_else(|| "application/octet-stream".to_owned()),
            last_modified: text(LAST_MODIFIED)?.as_deref().and_then(parse_rfc3339),
            version_id: version_id(text(VERSION_ID)?),
            file_name,
            metadata,
            crc64nvme: text(CRC64NVME)?,
            sha256: text(SHA256)?,
            encoding,
            stored_size,
        })
    }
}

/// A file field is stored as a map of its object's metadata (bucket, key, size, etag, content
/// type, last modified, version id, file name, user metadata, CRC-64/NVME and SHA-256 where
/// recorded, and for a compressed
/// object its encoding and stored size). A pending file cannot be converted: the save path
/// uploads it first.
impl Attribute for S3Object {
    fn to_attribute(&self) -> Result<Option<AttributeValue>, AttributeError> {
        match self.state.record() {
            Ok(s) => Ok(Some(s.to_attribute_value())),
            Err(p) => Err(AttributeError::InvalidFileReference {
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
    use std::time::{Duration, UNIX_EPOCH};

    use super::super::stored::tests::{jan_1_2026, object};
    use super::*;
    use crate::Compression;

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
                "crc64nvme",
                "etag",
                "file_name",
                "key",
                "last_modified",
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

    #[test]
    fn last_modified_is_an_rfc_3339_string_in_the_item() {
        let AttributeValue::M(map) = object(None, None).to_attribute_value() else {
            panic!("not a map")
        };
        assert_eq!(
            map[LAST_MODIFIED],
            AttributeValue::S("2026-01-01T00:00:00Z".into())
        );
        // A time with a fraction of a second keeps its microseconds.
        let mut precise = object(None, None);
        precise.last_modified = Some(jan_1_2026() + Duration::from_micros(250_001));
        let value = precise.to_attribute_value();
        let AttributeValue::M(map) = &value else {
            panic!("not a map")
        };
        assert_eq!(
            map[LAST_MODIFIED],
            AttributeValue::S("2026-01-01T00:00:00.250001Z".into())
        );
        assert_eq!(StoredObject::from_attribute_value(&value).unwrap(), precise);
        // Unknown: no attribute, and read back as unknown.
        let mut unknown = object(None, None);
        unknown.last_modified = None;
        let value = unknown.to_attribute_value();
        let AttributeValue::M(map) = &value else {
            panic!("not a map")
        };
        assert!(!map.contains_key(LAST_MODIFIED));
        assert_eq!(StoredObject::from_attribute_value(&value).unwrap(), unknown);
    }

    /// Items written before `last_modified` was S3's time recorded the client's clock as
    /// RFC 3339 with microseconds, or an empty string for an object attached without one.
    #[test]
    fn old_items_with_a_client_clock_string_still_load() {
        let AttributeValue::M(mut map) = object(None, None).to_attribute_value() else {
            panic!("not a map")
        };
        let read = |map: &HashMap<String, AttributeValue>| {
            StoredObject::from_attribute_value(&AttributeValue::M(map.clone()))
                .unwrap()
                .last_modified
        };
        map.insert(
            LAST_MODIFIED.into(),
            AttributeValue::S("2025-06-30T12:34:56.789012Z".into()),
        );
        assert_eq!(
            read(&map),
            Some(UNIX_EPOCH + Duration::from_micros(1_751_286_896_789_012))
        );
        // Another writer's offset form (Python's `isoformat()`).
        map.insert(
            LAST_MODIFIED.into(),
            AttributeValue::S("2026-01-01T01:00:00+01:00".into()),
        );
        assert_eq!(read(&map), Some(jan_1_2026()));
        for unknown in ["", "yesterday"] {
            map.insert(LAST_MODIFIED.into(), AttributeValue::S(unknown.into()));
            assert_eq!(read(&map), None, "{unknown:?}");
        }
        map.remove(LAST_MODIFIED);
        assert_eq!(read(&map), None);
        // A value of another type is a broken reference, as for every other attribute.
        map.insert(LAST_MODIFIED.into(), AttributeValue::N("1".into()));
        let err = StoredObject::from_attribute_value(&AttributeValue::M(map)).unwrap_err();
        assert!(
            matches!(&err, AttributeError::InvalidFileReference { reason } if reason.contains("last_modified")),
            "{err:?}"
        );
    }

    #[test]
    fn the_null_version_of_an_unversioned_bucket_is_no_version() {
        assert_eq!(version_id(Some("null".into())), None);
        assert_eq!(version_id(Some(String::new())), None);
        assert_eq!(version_id(None), None);
        assert_eq!(
            version_id(Some("3HL4kqtJ".into())).as_deref(),
            Some("3HL4kqtJ")
        );
        // Items that recorded moto's `null` read as unversioned.
        let AttributeValue::M(mut map) = object(None, None).to_attribute_value() else {
            panic!("not a map")
        };
        map.insert(VERSION_ID.into(), AttributeValue::S("null".into()));
        let read = StoredObject::from_attribute_value(&AttributeValue::M(map)).unwrap();
        assert_eq!(read.version_id, None);
    }

    #[test]
    fn a_pydynox_item_reads_with_a_quoted_etag_and_a_name_from_its_key() {
        // What pydynox 1.8 writes (tests/interop/NOTES.md): no file name, no hash, a bare ETag.
        let map = std::collections::HashMap::from([
            (BUCKET.to_owned(), AttributeValue::S("docs".into())),
            (
                KEY.to_owned(),
                AttributeValue::S("files/DOC/1/report.pdf".into()),
            ),
            (SIZE.to_owned(), AttributeValue::N("14".into())),
            (
                ETAG.to_owned(),
                AttributeValue::S("9f089b639127e2f5a79c4eda189678d6".into()),
            ),
        ]);
        let read = StoredObject::from_attribute_value(&AttributeValue::M(map)).unwrap();
        assert_eq!(read.etag, "\"9f089b639127e2f5a79c4eda189678d6\"");
        assert_eq!(read.file_name, "report.pdf");
        assert_eq!((read.sha256, read.crc64nvme), (None, None));
        assert_eq!(read.size, 14);
    }
}
