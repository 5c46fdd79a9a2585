//! Object keys: `{prefix}{hash}/{range}/{upload}/{file}` by default.
//!
//! - Every upload gets a fresh random `{upload}` segment, so a key is never written twice and
//!   saving a new file never overwrites the object the current item points to.
//! - Hash key values are escaped before `#` becomes `/` (as the seeds' layout does), so `A#B`
//!   (`A/B`) and `A/B` (`A%2FB`) cannot collide. The range key, upload id and file name are
//!   one segment each (a `#` there is `%23`), so reading from the end always splits a key
//!   back into its parts: `A#B` + `c` and `A` + `B#c` differ.
//! - `%`, `/`, `\`, control characters and the characters S3 documents as needing care
//!   (`{}^%`[]"<>~#|`, space) are percent-encoded in values and file names; a segment of `.` or
//!   `..` is encoded too, so no key walks up a path. Other Unicode is kept (S3 keys are UTF-8).
//! - An empty value (`A##B`'s middle part) is the segment [`EMPTY_SEGMENT`], `%(empty)`: no
//!   `//` in a key, and no value can spell it (its `%` would be `%25`).
//! - A key longer than S3's 1024 bytes is an error naming the field.
//!
//! A `#[s3(shared)]` field's objects are content-addressed instead: its key is
//! [`DEFAULT_SHARED_TEMPLATE`], `{prefix}{sha256}`, the lowercase hex SHA-256 of the content
//! (before compression), followed by `.zst` or `.gz` when the field compresses. Identical
//! content gets one key, whichever item and save it comes from; a custom template must contain
//! `{sha256}` and cannot contain `{upload}`.

use std::fmt::Write;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use dynox_core::item::{AttributeValue, Item};

use crate::error::S3Error;

/// S3 user-metadata key naming the item an object was uploaded for: its key attributes as
/// `T:name:value` each (type `S`, `N` or `B`; name and value in unpadded URL-safe base64),
/// joined by `,`. The orphan sweep reads that item to tell a file another tool cleared (kept,
/// as a clear promises) from an orphan. Not written for shared objects (many items hold one)
/// or keys too long for S3's 2 KB of metadata.
pub const ITEM_KEY_METADATA: &str = "dynox-key";

/// The longest encoded item key written as metadata.
const MAX_ITEM_KEY_METADATA: usize = 1024;

/// An item's key attributes as metadata text: `T:name:value` per attribute (`T` is `S`, `N`
/// or `B`; name and value in unpadded URL-safe base64), sorted by name, joined by `,`.
/// `None` for a key that is too long or not made of key types.
pub(crate) fn encode_item_key(key: &Item) -> Option<String> {
    let mut parts: Vec<String> = key
        .iter()
        .map(|(name, value)| {
            let (kind, bytes) = match value {
                AttributeValue::S(s) => ("S", s.as_bytes()),
                AttributeValue::N(n) => ("N", n.as_bytes()),
                AttributeValue::B(b) => ("B", b.as_ref()),
                _ => return None,
            };
            Some(format!(
                "{kind}:{}:{}",
                URL_SAFE_NO_PAD.encode(name),
                URL_SAFE_NO_PAD.encode(bytes)
            ))
        })
        .collect::<Option<_>>()?;
    parts.sort_unstable();
    let text = parts.join(",");
    (!text.is_empty() && text.len() <= MAX_ITEM_KEY_METADATA).then_some(text)
}

/// The key attributes [`encode_item_key`] wrote, or `None` for text it did not write.
pub(crate) fn decode_item_key(text: &str) -> Option<Item> {
    let mut key = Item::new();
    for part in text.split(',') {
        let mut fields = part.splitn(3, ':');
        let (kind, name, value) = (fields.next()?, fields.next()?, fields.next()?);
        let name = String::from_utf8(URL_SAFE_NO_PAD.decode(name).ok()?).ok()?;
        let value = URL_SAFE_NO_PAD.decode(value).ok()?;
        let value = match kind {
            "S" => AttributeValue::S(String::from_utf8(value).ok()?),
            "N" => AttributeValue::N(String::from_utf8(value).ok()?),
            "B" => AttributeValue::B(value.into()),
            _ => return None,
        };
        key.insert(name, value);
    }
    Some(key)
}

/// S3's limit on key length, in bytes.
pub const MAX_KEY_LEN: usize = 1024;

/// The default key template.
pub const DEFAULT_TEMPLATE: &str = "{prefix}{hash}/{range}/{upload}/{file}";

/// The key template of a `#[s3(shared)]` field.
pub const DEFAULT_SHARED_TEMPLATE: &str = "{prefix}{sha256}";

/// The placeholders a key template may use (`{sha256}` only in shared fields).
pub const PLACEHOLDERS: &[&str] = &[
    "prefix", "table", "field", "hash", "range", "upload", "file", "sha256",
];

/// The values a key is built from.
#[derive(Debug, Clone)]
pub struct KeyParts<'a> {
    /// The field's prefix, used as given.
    pub prefix: &'a str,
    /// The model's table (without the client's prefix).
    pub table: &'a str,
    /// The field's attribute name.
    pub field: &'static str,
    /// The hash key value as text.
    pub hash: &'a str,
    /// The range key value as text, if the model has one.
    pub range: Option<&'a str>,
    /// The upload's unique id.
    pub upload: &'a str,
    /// The file name.
    pub file: &'a str,
    /// The lowercase hex SHA-256 of the content, for a shared field's key.
    pub sha256: Option<&'a str>,
}

/// A new unique upload id: 16 random hex digits.
pub(crate) fn new_upload_id() -> String {
    format!("{:016x}", fastrand::u64(..))
}

/// Builds the object key of `parts` with `template` (or [`DEFAULT_TEMPLATE`]).
///
/// ```
/// use dynox_s3::keys::{object_key, KeyParts};
///
/// let parts = KeyParts {
///     prefix: "docs/", table: "documents", field: "content",
///     hash: "DOC#1", range: Some("v1"), upload: "00ff", file: "report.pdf", sha256: None,
/// };
/// assert_eq!(object_key(None, &parts).unwrap(), "docs/DOC/1/v1/00ff/report.pdf");
/// let slash = KeyParts { hash: "DOC/1", ..parts.clone() };
/// assert_eq!(object_key(None, &slash).unwrap(), "docs/DOC%2F1/v1/00ff/report.pdf");
/// ```
pub fn object_key(template: Option<&str>, parts: &KeyParts<'_>) -> Result<String, S3Error> {
    let template = template.unwrap_or(DEFAULT_TEMPLATE);
    let mut key = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        key.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            return Err(invalid(parts.field, "unclosed `{` in the key template"));
        };
        match &after[..close] {
            "prefix" => key.push_str(parts.prefix),
            "table" => push_segment(&mut key, parts.table),
            "field" => push_segment(&mut key, parts.field),
            "hash" => push_value(&mut key, parts.hash),
            "range" => match parts.range {
                Some(range) => push_segment(&mut key, range),
                // No range key: drop the placeholder and the `/` after it.
                None => {
                    rest = after[close + 1..]
                        .strip_prefix('/')
                        .unwrap_or(&after[close + 1..]);
                    continue;
                }
            },
            "upload" => key.push_str(parts.upload),
            "sha256" => match parts.sha256 {
                Some(sha256) => push_segment(&mut key, sha256),
                None => {
                    return Err(invalid(
                        parts.field,
                        "`{sha256}` is only known for a `shared` field",
                    ))
                }
            },
            "file" => push_segment(
                &mut key,
                if parts.file.is_empty() {
                    "file"
                } else {
                    parts.file
                },
            ),
            other => {
                return Err(invalid(
                    parts.field,
                    &format!("unknown placeholder `{{{other}}}` in the key template"),
                ))
            }
        }
        rest = &after[close + 1..];
    }
    key.push_str(rest);
    if key.len() > MAX_KEY_LEN {
        return Err(invalid(
            parts.field,
            &format!(
                "the key is {} bytes, more than S3's {MAX_KEY_LEN}: shorten the file name or key values",
                key.len()
            ),
        ));
    }
    Ok(key)
}

fn invalid(field: &'static str, reason: &str) -> S3Error {
    S3Error::InvalidKey {
        field,
        reason: reason.to_owned(),
    }
}

/// A hash key value: escaped, then `#` becomes `/` (each part a safe segment).
fn push_value(key: &mut String, value: &str) {
    for (i, part) in value.split('#').enumerate() {
        if i > 0 {
            key.push('/');
        }
        push_segment(key, part);
    }
}

/// The segment an empty key value becomes.
pub const EMPTY_SEGMENT: &str = "%(empty)";

/// One path segment, percent-encoded so it contains no `/` and is never `.` or `..`.
fn push_segment(key: &mut String, segment: &str) {
    if segment == "." || segment == ".." {
        for _ in 0..segment.len() {
            key.push_str("%2E");
        }
        return;
    }
    if segment.is_empty() {
        // An empty value would make `a//b`, which S3 keeps but many tools collapse. `%(` never
        // starts an escape of a value (a `%` in a value is always `%25`), so this stays
        // unambiguous, and it reads as what it is (`%00` looked like a NUL byte).
        key.push_str(EMPTY_SEGMENT);
        return;
    }
    for c in segment.chars() {
        let needs_escape = c.is_control()
            || matches!(
                c,
                '%' | '/'
                    | '\\'
                    | ' '
                    | '#'
                    | '{'
                    | '}'
                    | '^'
                    | '`'
                    | '['
                    | ']'
                    | '"'
                    | '<'
                    | '>'
                    | '~'
                    | '|'
                    | '?'
                    | '\u{7f}'
            );
        if needs_escape {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                let _ = write!(key, "%{b:02X}");
            }
        } else {
            key.push(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts<'a>(hash: &'a str, range: Option<&'a str>, file: &'a str) -> KeyParts<'a> {
        KeyParts {
            prefix: "p/",
            table: "t",
            field: "f",
            hash,
            range,
            upload: "u1",
            file,
            sha256: None,
        }
    }

    #[test]
    fn seeds_layout_with_upload_segment() {
        assert_eq!(
            object_key(None, &parts("DOC#1", Some("v1"), "report.pdf")).unwrap(),
            "p/DOC/1/v1/u1/report.pdf"
        );
        assert_eq!(
            object_key(None, &parts("u", None, "a.txt")).unwrap(),
            "p/u/u1/a.txt"
        );
    }

    #[test]
    fn different_values_never_share_a_key() {
        // Keys of one model (so all with a range key, or all without).
        let keys: Vec<String> = [
            ("A#B", Some("c")),
            ("A/B", Some("c")),
            ("A", Some("B/c")),
            ("A", Some("B#c")),
            ("A%2FB", Some("c")),
            ("A#B#c", Some("d")),
            ("A#B", Some("c#d")),
        ]
        .iter()
        .map(|(h, r)| object_key(None, &parts(h, *r, "f")).unwrap())
        .collect();
        let unique: std::collections::HashSet<_> = keys.iter().collect();
        assert_eq!(unique.len(), keys.len(), "{keys:?}");
    }

    #[test]
    fn hostile_names_stay_inside_their_segment() {
        let key = object_key(None, &parts("..", Some("."), "../../etc/passwd")).unwrap();
        assert_eq!(key, "p/%2E%2E/%2E/u1/..%2F..%2Fetc%2Fpasswd");
        assert!(!key.split('/').any(|s| s == ".." || s == "."));
        let key = object_key(None, &parts("a b\n\u{0}", None, "ü 🚀.txt")).unwrap();
        assert_eq!(key, "p/a%20b%0A%00/u1/ü%20🚀.txt");
        assert_eq!(
            object_key(None, &parts("", None, "")).unwrap(),
            "p/%(empty)/u1/file"
        );
        // One-to-one: a value spelled like the empty marker is escaped.
        assert_eq!(
            object_key(None, &parts("%(empty)", None, "f")).unwrap(),
            "p/%25(empty)/u1/f"
        );
    }

    #[test]
    fn over_long_keys_are_rejected() {
        let long = "x".repeat(1100);
        let err = object_key(None, &parts("h", None, &long)).unwrap_err();
        assert!(err.to_string().contains("1024"), "{err}");
    }

    #[test]
    fn custom_templates() {
        let key = object_key(
            Some("{table}/{field}/{upload}-{file}"),
            &parts("h", None, "a"),
        )
        .unwrap();
        assert_eq!(key, "t/f/u1-a");
        assert!(object_key(Some("{nope}/{upload}"), &parts("h", None, "a")).is_err());
    }

    #[test]
    fn shared_keys_are_the_content_hash() {
        let sha = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        let shared = KeyParts {
            sha256: Some(sha),
            ..parts("h", Some("r"), "a.pdf")
        };
        assert_eq!(
            object_key(Some(DEFAULT_SHARED_TEMPLATE), &shared).unwrap(),
            format!("p/{sha}")
        );
        // Nothing of the item or the upload: another item's identical file has the same key.
        let other = KeyParts {
            hash: "other",
            upload: "u2",
            ..shared.clone()
        };
        assert_eq!(
            object_key(Some(DEFAULT_SHARED_TEMPLATE), &other).unwrap(),
            object_key(Some(DEFAULT_SHARED_TEMPLATE), &shared).unwrap()
        );
        let err = object_key(Some("{sha256}"), &parts("h", None, "a")).unwrap_err();
        assert!(err.to_string().contains("shared"), "{err}");
    }

    #[test]
    fn item_keys_round_trip_through_metadata_text() {
        let key = Item::from([
            ("pk".to_owned(), AttributeValue::S("DOC#1/é, x:y".into())),
            ("sk".to_owned(), AttributeValue::N("42".into())),
        ]);
        let text = super::encode_item_key(&key).unwrap();
        assert!(text.is_ascii() && !text.contains(' '), "{text}");
        assert_eq!(super::decode_item_key(&text), Some(key));
        let binary = Item::from([("id".to_owned(), AttributeValue::B(vec![0, 255].into()))]);
        assert_eq!(
            super::decode_item_key(&super::encode_item_key(&binary).unwrap()),
            Some(binary)
        );
        let long = Item::from([("pk".to_owned(), AttributeValue::S("x".repeat(2000)))]);
        assert_eq!(super::encode_item_key(&long), None);
        assert_eq!(super::decode_item_key("not metadata"), None);
    }
}
