//! Overflow fields (`#[s3(overflow)]`): an ordinary attribute (a `String`, `Vec<u8>` or any
//! serde value) kept inline while the item fits DynamoDB's 400 KB, moved to S3 when it would
//! not, and put back on every read, so the model never sees the difference.
//!
//! A moved value is one object holding the attribute's value: a string as its UTF-8 text, a
//! binary as its bytes, anything else as DynamoDB's typed JSON (`{"M": {"n": {"N": "1"}}}`,
//! so numbers, sets and binaries come back as they were). The item keeps, instead of the
//! value, the map `{"__dynox_s3": {object}}` ([`OVERFLOW_KEY`]), where `{object}` is a file
//! reference plus `overflow_type` (`S`, `B` or `json`).
//!
//! The object goes through the same upload as a file (fresh key, owner metadata, SHA-256,
//! the field's compression and client) and the same protocol: it is removed if the write
//! fails, deleted after a write that replaces it (or stores the value inline again) and with
//! the item. A save whose value did not change reuses the stored object.

use std::collections::HashMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use bytes::Bytes;
use dynox_core::item::{item_size, value_size, AttributeValue, Item};
use dynox_core::spi::{UploadFailure, OVERFLOW_KEY};
use serde_json::{Map, Value};

use crate::error::S3Error;
use crate::object::{PendingUpload, StoredObject};
use crate::upload::source::Source;

/// The key, inside the reference, of the moved value's DynamoDB type.
const OVERFLOW_TYPE: &str = "overflow_type";

/// What an overflow reference costs in the item, about (a reference with every optional entry
/// and a key of a few hundred bytes): used to pick how many fields to move. The protocol
/// checks the real size afterwards.
const REFERENCE_SIZE: usize = 1024;

/// How a moved value is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A string, as UTF-8 text.
    Text,
    /// A binary, as its bytes.
    Binary,
    /// Any other value, as DynamoDB's typed JSON.
    Json,
}

impl Kind {
    /// How `value` is stored.
    pub(crate) fn of(value: &AttributeValue) -> Self {
        match value {
            AttributeValue::S(_) => Kind::Text,
            AttributeValue::B(_) => Kind::Binary,
            _ => Kind::Json,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Text => "S",
            Kind::Binary => "B",
            Kind::Json => "json",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        [Kind::Text, Kind::Binary, Kind::Json]
            .into_iter()
            .find(|k| k.name() == name)
    }

    fn content_type(self) -> &'static str {
        match self {
            Kind::Text => "text/plain; charset=utf-8",
            Kind::Binary => "application/octet-stream",
            Kind::Json => "application/json",
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Kind::Text => "txt",
            Kind::Binary => "bin",
            Kind::Json => "json",
        }
    }
}

/// How a value of field `field` is stored, the bytes it is stored as, and the file to upload
/// them from; an error for an attribute type this SDK does not know (never stored lossily).
pub(crate) fn encode(
    field: &str,
    value: &AttributeValue,
) -> Result<(Kind, Bytes, PendingUpload), S3Error> {
    let kind = Kind::of(value);
    let bytes = match value {
        AttributeValue::S(s) => Bytes::from(s.clone()),
        AttributeValue::B(b) => Bytes::from(b.clone().into_inner()),
        other => {
            let json = to_json(other).map_err(|reason| S3Error::Encode {
                type_name: "AttributeValue",
                codec: "DynamoDB JSON",
                source: reason.into(),
            })?;
            Bytes::from(json.to_string())
        }
    };
    let upload = PendingUpload {
        source: Source::bytes(bytes.clone()),
        file_name: format!("{field}.{}", kind.extension()),
        content_type: Some(kind.content_type().to_owned()),
        metadata: Default::default(),
    };
    Ok((kind, bytes, upload))
}

/// The attribute that stands for a value moved to `object`.
pub(crate) fn reference(object: &StoredObject, kind: Kind) -> AttributeValue {
    let AttributeValue::M(mut map) = object.to_attribute_value() else {
        unreachable!("a stored object is a map")
    };
    map.insert(
        OVERFLOW_TYPE.to_owned(),
        AttributeValue::S(kind.name().into()),
    );
    AttributeValue::M(HashMap::from([(
        OVERFLOW_KEY.to_owned(),
        AttributeValue::M(map),
    )]))
}

/// The object and kind of an attribute that stands for a moved value; `None` for an inline
/// value (or anything that is not a valid reference).
pub(crate) fn parse(value: &AttributeValue) -> Option<(StoredObject, Kind)> {
    let AttributeValue::M(outer) = value else {
        return None;
    };
    let inner = outer.get(OVERFLOW_KEY)?;
    let AttributeValue::M(map) = inner else {
        return None;
    };
    let kind = match map.get(OVERFLOW_TYPE) {
        Some(AttributeValue::S(name)) => Kind::from_name(name)?,
        _ => return None,
    };
    Some((StoredObject::from_attribute_value(inner).ok()?, kind))
}

/// Whether `value` is a reference to a moved value, valid or not.
pub(crate) fn is_reference(value: &AttributeValue) -> bool {
    matches!(value, AttributeValue::M(m) if m.contains_key(OVERFLOW_KEY))
}

/// The value of field `field` back from the bytes it was stored as.
pub(crate) fn decode(
    field: &'static str,
    object: &StoredObject,
    kind: Kind,
    bytes: Bytes,
) -> Result<AttributeValue, UploadFailure> {
    let invalid = |reason: String| UploadFailure {
        field,
        source: Box::new(S3Error::Decode {
            bucket: object.bucket.clone(),
            key: object.key.clone(),
            what: format!("value of overflow field `{field}`"),
            source: reason.into(),
        }),
    };
    match kind {
        Kind::Text => String::from_utf8(bytes.to_vec())
            .map(AttributeValue::S)
            .map_err(|e| invalid(format!("the stored text is not UTF-8: {e}"))),
        Kind::Binary => Ok(AttributeValue::B(bytes.to_vec().into())),
        Kind::Json => serde_json::from_slice::<Value>(&bytes)
            .map_err(|e| e.to_string())
            .and_then(|json| from_json(&json))
            .map_err(|e| invalid(format!("the stored value is not DynamoDB JSON: {e}"))),
    }
}

/// The overflow fields of `item` to move, largest first, until the item fits in `limit`;
/// none if even moving all of them would not make it fit (the write is refused as too large,
/// and nothing is uploaded for it). A value no larger than a reference never moves.
pub(crate) fn to_move(item: &Item, fields: &[&'static str], limit: usize) -> Vec<&'static str> {
    let mut candidates: Vec<(&'static str, usize)> = fields
        .iter()
        .filter_map(|name| {
            let value = item.get(*name).filter(|v| !is_reference(v))?;
            Some((*name, name.len() + value_size(value)))
        })
        .filter(|(_, cost)| *cost > REFERENCE_SIZE)
        .collect();
    candidates.sort_by_key(|c| std::cmp::Reverse(c.1));
    let mut size = item_size(item);
    let mut chosen = Vec::new();
    for (name, cost) in candidates {
        if size <= limit {
            break;
        }
        size = size.saturating_sub(cost) + REFERENCE_SIZE;
        chosen.push(name);
    }
    if size > limit {
        return Vec::new();
    }
    chosen
}

/// DynamoDB's typed JSON of `value`, as its API writes it; an error for a type this SDK does
/// not know.
fn to_json(value: &AttributeValue) -> Result<Value, String> {
    let one = |tag: &str, v: Value| Value::Object(Map::from_iter([(tag.to_owned(), v)]));
    let strings = |v: &[String]| Value::Array(v.iter().cloned().map(Value::String).collect());
    Ok(match value {
        AttributeValue::S(s) => one("S", Value::String(s.clone())),
        AttributeValue::N(n) => one("N", Value::String(n.clone())),
        AttributeValue::B(b) => one("B", Value::String(STANDARD.encode(b.as_ref()))),
        AttributeValue::Bool(b) => one("BOOL", Value::Bool(*b)),
        AttributeValue::Null(_) => one("NULL", Value::Bool(true)),
        AttributeValue::Ss(v) => one("SS", strings(v)),
        AttributeValue::Ns(v) => one("NS", strings(v)),
        AttributeValue::Bs(v) => one(
            "BS",
            Value::Array(
                v.iter()
                    .map(|b| Value::String(STANDARD.encode(b.as_ref())))
                    .collect(),
            ),
        ),
        AttributeValue::L(v) => one(
            "L",
            Value::Array(v.iter().map(to_json).collect::<Result<_, _>>()?),
        ),
        AttributeValue::M(m) => one(
            "M",
            Value::Object(
                m.iter()
                    .map(|(k, v)| Ok((k.clone(), to_json(v)?)))
                    .collect::<Result<_, String>>()?,
            ),
        ),
        other => {
            return Err(format!(
                "an attribute of a type this SDK does not know: {other:?}"
            ))
        }
    })
}

/// The value DynamoDB's typed JSON `json` describes.
fn from_json(json: &Value) -> Result<AttributeValue, String> {
    let Some((tag, v)) = json
        .as_object()
        .filter(|o| o.len() == 1)
        .and_then(|o| o.iter().next())
    else {
        return Err(format!("expected one typed value, found {json}"));
    };
    let text = |v: &Value| -> Result<String, String> {
        v.as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("`{tag}` needs a string"))
    };
    // The DynamoDB and S3 SDKs share smithy's `Blob`.
    let binary = |v: &Value| -> Result<aws_sdk_s3::primitives::Blob, String> {
        let b = STANDARD.decode(text(v)?).map_err(|e| e.to_string())?;
        Ok(aws_sdk_s3::primitives::Blob::new(b))
    };
    let array = |v: &Value| -> Result<Vec<Value>, String> {
        v.as_array()
            .cloned()
            .ok_or_else(|| format!("`{tag}` needs an array"))
    };
    Ok(match tag.as_str() {
        "S" => AttributeValue::S(text(v)?),
        "N" => AttributeValue::N(text(v)?),
        "B" => AttributeValue::B(binary(v)?),
        "BOOL" => AttributeValue::Bool(v.as_bool().ok_or("`BOOL` needs a boolean")?),
        "NULL" => AttributeValue::Null(true),
        "SS" => AttributeValue::Ss(array(v)?.iter().map(text).collect::<Result<_, _>>()?),
        "NS" => AttributeValue::Ns(array(v)?.iter().map(text).collect::<Result<_, _>>()?),
        "BS" => AttributeValue::Bs(array(v)?.iter().map(binary).collect::<Result<_, _>>()?),
        "L" => AttributeValue::L(array(v)?.iter().map(from_json).collect::<Result<_, _>>()?),
        "M" => AttributeValue::M(
            v.as_object()
                .ok_or("`M` needs an object")?
                .iter()
                .map(|(k, v)| Ok((k.clone(), from_json(v)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => return Err(format!("unknown type `{other}`")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_attribute_type_survives_the_typed_json() {
        let value = AttributeValue::M(HashMap::from([
            ("s".to_owned(), AttributeValue::S("text".into())),
            ("n".to_owned(), AttributeValue::N("12.50".into())),
            ("b".to_owned(), AttributeValue::B(vec![0, 255, 7].into())),
            ("t".to_owned(), AttributeValue::Bool(true)),
            ("z".to_owned(), AttributeValue::Null(true)),
            (
                "ss".to_owned(),
                AttributeValue::Ss(vec!["a".into(), "b".into()]),
            ),
            (
                "ns".to_owned(),
                AttributeValue::Ns(vec!["1".into(), "2e3".into()]),
            ),
            (
                "bs".to_owned(),
                AttributeValue::Bs(vec![vec![1].into(), vec![2, 3].into()]),
            ),
            (
                "l".to_owned(),
                AttributeValue::L(vec![
                    AttributeValue::S("x".into()),
                    AttributeValue::M(HashMap::new()),
                ]),
            ),
        ]));
        let json = to_json(&value).unwrap();
        assert_eq!(from_json(&json).unwrap(), value);
        assert_eq!(
            from_json(&serde_json::from_str(&json.to_string()).unwrap()).unwrap(),
            value
        );
    }

    #[test]
    fn text_and_binary_are_stored_as_they_are() {
        let (kind, bytes, upload) = encode("body", &AttributeValue::S("héllo".into())).unwrap();
        assert_eq!(bytes, "héllo".as_bytes());
        assert_eq!((kind, upload.file_name.as_str()), (Kind::Text, "body.txt"));
        assert_eq!(upload.source.size(), Some("héllo".len() as u64));
        let (kind, _, upload) = encode("raw", &AttributeValue::B(vec![1, 2, 3].into())).unwrap();
        assert_eq!((kind, upload.file_name.as_str()), (Kind::Binary, "raw.bin"));
        assert_eq!(upload.source.size(), Some(3));
    }

    #[test]
    fn the_largest_fields_move_first_and_only_as_many_as_needed() {
        let big = |n: usize| AttributeValue::S("x".repeat(n));
        let item: Item = HashMap::from([
            ("pk".to_owned(), AttributeValue::S("k".into())),
            ("a".to_owned(), big(300_000)),
            ("b".to_owned(), big(200_000)),
            ("c".to_owned(), big(10_000)),
        ]);
        assert_eq!(to_move(&item, &["a", "b", "c"], 400 * 1024), ["a"]);
        assert_eq!(to_move(&item, &["b", "c"], 400 * 1024), ["b"]);
        // Moving c alone cannot make the item fit: nothing moves (the save is refused as too
        // large, with nothing uploaded).
        assert!(to_move(&item, &["c"], 400 * 1024).is_empty());
        assert!(to_move(&item, &["a", "b", "c"], 1 << 20).is_empty());
        // Nothing moves when moving everything would still not fit.
        assert!(to_move(&item, &["b", "c"], 200 * 1024).is_empty());
        // A value smaller than its reference would be never moves.
        let small: Item = HashMap::from([
            ("pk".to_owned(), big(500_000)),
            ("tiny".to_owned(), big(100)),
        ]);
        assert!(to_move(&small, &["tiny"], 400 * 1024).is_empty());
    }
}
