//! Key templates and entity types: several kinds of item in one table.
//!
//! A model declared with `#[dynamo(pk = "CUSTOMER#{customer_id}", sk = "ORDER#{order_id}")]`
//! stores its key in generic attributes (`pk`, `sk` unless named otherwise) built from its
//! fields by a [`KeyTemplate`], and with `#[dynamo(entity = "Order")]` records its entity
//! type in an attribute ([`Entity`]), so that customers, orders and invoices share a table and
//! one Query reads a customer's partition.
//!
//! A template's fields are written as [`KeySegment`]s: strings as they are, integers
//! zero-padded to their type's width (signed ones offset, so that the text sorts as the
//! numbers do), and any type of the application that implements the trait. Inside a segment,
//! `%` and the first character of each literal that follows a field are percent-encoded
//! (`a#b` is written `a%23b` in `ORDER#{id}#...`), so that two different values never make
//! the same key and the fields read back from the key exactly.
//!
//! ```
//! use dynox_core::key_template::{KeySegment, KeyTemplate, Part};
//!
//! static SK: KeyTemplate = KeyTemplate {
//!     attribute: "sk",
//!     parts: &[Part::Lit("ORDER#"), Part::Field("placed_at"), Part::Lit("#"), Part::Field("order_id")],
//! };
//! let mut key = SK.writer();
//! key.segment(&1_733_500_000u64);
//! key.segment(&"o#1".to_string());
//! let key = key.finish();
//! assert_eq!(key, "ORDER#00000000001733500000#o%231");
//! let parts = SK.parse(&key).unwrap();
//! assert_eq!(u64::parse_segment(&parts[0]).unwrap(), 1_733_500_000);
//! assert_eq!(parts[1], "o#1");
//! ```

use std::fmt::Write as _;

use crate::item::{AttributeError, AttributeValue, Item};

/// One part of a key template: literal text, or a field's segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// Text written as it is.
    Lit(&'static str),
    /// The segment of the field stored under this attribute name.
    Field(&'static str),
}

/// A key attribute built from fields: `pk = "CUSTOMER#{customer_id}"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyTemplate {
    /// The key attribute it fills (`pk`, `sk`, `gsi1pk`, ...).
    pub attribute: &'static str,
    /// Its literal parts and fields, in order.
    pub parts: &'static [Part],
}

/// The type of item a model stores, recorded in every item it writes, so that models sharing
/// a table read only their own items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entity {
    /// The attribute holding the type (`entity_type` unless the model names another).
    pub attribute: &'static str,
    /// This model's type name.
    pub name: &'static str,
}

impl Entity {
    /// The attribute value of this type.
    pub fn value(&self) -> AttributeValue {
        AttributeValue::S(self.name.to_owned())
    }

    /// Whether `item` is of this type; the type found otherwise (`None` when the item has no
    /// type attribute, or one that is not a string).
    pub fn check(&self, item: &Item) -> Result<(), AttributeError> {
        match item.get(self.attribute) {
            Some(AttributeValue::S(found)) if found == self.name => Ok(()),
            found => Err(AttributeError::ForeignEntity {
                expected: self.name,
                found: match found {
                    Some(AttributeValue::S(found)) => Some(found.clone()),
                    _ => None,
                },
            }),
        }
    }
}

/// A field type that can be a segment of a key template: `String`, `bool`, any integer type,
/// or a type of the application that implements it.
///
/// What [`write_segment`](Self::write_segment) writes must sort as the values should (a
/// template's key orders a partition) and read back with
/// [`parse_segment`](Self::parse_segment). dynox percent-encodes the characters that would
/// make a key ambiguous, so a segment may hold any text.
///
/// ```
/// use dynox_core::item::AttributeError;
/// use dynox_core::key_template::KeySegment;
///
/// #[derive(Debug, Clone, Copy, PartialEq)]
/// enum Status { Placed, Shipped }
///
/// impl KeySegment for Status {
///     fn write_segment(&self, out: &mut String) {
///         out.push_str(match self { Status::Placed => "placed", Status::Shipped => "shipped" });
///     }
///     fn parse_segment(text: &str) -> Result<Self, AttributeError> {
///         match text {
///             "placed" => Ok(Status::Placed),
///             "shipped" => Ok(Status::Shipped),
///             other => Err(AttributeError::Serde(format!("unknown status `{other}`"))),
///         }
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a segment of a key template",
    label = "not a key segment",
    note = "a key template's field must be `String`, `bool` or an integer type, or implement `dynox::KeySegment` (an index template's field may also be an `Option` of one)"
)]
pub trait KeySegment: Sized {
    /// Appends the segment's text.
    fn write_segment(&self, out: &mut String);
    /// Reads a value back from its text.
    fn parse_segment(text: &str) -> Result<Self, AttributeError>;
}

impl KeySegment for String {
    fn write_segment(&self, out: &mut String) {
        out.push_str(self);
    }
    fn parse_segment(text: &str) -> Result<Self, AttributeError> {
        Ok(text.to_owned())
    }
}

impl KeySegment for bool {
    fn write_segment(&self, out: &mut String) {
        out.push_str(if *self { "true" } else { "false" });
    }
    fn parse_segment(text: &str) -> Result<Self, AttributeError> {
        match text {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(segment_error(text, "bool")),
        }
    }
}

fn segment_error(text: &str, target: &'static str) -> AttributeError {
    AttributeError::InvalidNumber {
        value: text.to_owned(),
        target,
    }
}

macro_rules! unsigned_segment {
    ($($t:ty),*) => {$(
        impl KeySegment for $t {
            fn write_segment(&self, out: &mut String) {
                const WIDTH: usize = <$t>::MAX.ilog10() as usize + 1;
                let _ = write!(out, "{:0width$}", self, width = WIDTH);
            }
            fn parse_segment(text: &str) -> Result<Self, AttributeError> {
                text.parse().map_err(|_| segment_error(text, stringify!($t)))
            }
        }
    )*};
}
unsigned_segment!(u8, u16, u32, u64, u128, usize);

macro_rules! signed_segment {
    ($($t:ty => $u:ty),*) => {$(
        /// Offset by the type's minimum, so negative values sort before positive ones.
        impl KeySegment for $t {
            fn write_segment(&self, out: &mut String) {
                let offset = (*self as $u) ^ (1 << (<$u>::BITS - 1));
                offset.write_segment(out);
            }
            fn parse_segment(text: &str) -> Result<Self, AttributeError> {
                let offset = <$u>::parse_segment(text).map_err(|_| segment_error(text, stringify!($t)))?;
                Ok((offset ^ (1 << (<$u>::BITS - 1))) as $t)
            }
        }
    )*};
}
signed_segment!(i8 => u8, i16 => u16, i32 => u32, i64 => u64, i128 => u128, isize => usize);

/// A field type of an index key template: a [`KeySegment`], or an `Option` of one (an item
/// with `None` has no key for the index and is left out of it: a sparse index).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a segment of an index key template",
    label = "not a key segment",
    note = "an index template's field must be a `dynox::KeySegment` type (`String`, `bool`, an integer) or an `Option` of one"
)]
pub trait IndexSegment {
    /// The segment type.
    type Segment: KeySegment;
    /// The value, if there is one.
    fn present(&self) -> Option<&Self::Segment>;
}

impl<T: KeySegment> IndexSegment for T {
    type Segment = T;
    fn present(&self) -> Option<&T> {
        Some(self)
    }
}

impl<T: KeySegment> IndexSegment for Option<T> {
    type Segment = T;
    fn present(&self) -> Option<&T> {
        self.as_ref()
    }
}

/// A value that converts to a key segment of type `T`: `T` itself, and `&str`/`&String` for
/// `String` segments. Typed key constructors take it, so that integer literals infer their
/// type from the field.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be used as a `{T}` key field",
    label = "expected a `{T}` value",
    note = "pass a `{T}` (or `&str` for a `String` field)"
)]
pub trait IntoSegment<T> {
    /// The value.
    fn into_segment(self) -> T;
}

impl<T: KeySegment> IntoSegment<T> for T {
    fn into_segment(self) -> T {
        self
    }
}

impl IntoSegment<String> for &str {
    fn into_segment(self) -> String {
        self.to_owned()
    }
}

impl IntoSegment<String> for &String {
    fn into_segment(self) -> String {
        self.clone()
    }
}

impl KeyTemplate {
    /// The literal text before the first field (the whole key of a template without fields).
    pub fn fixed_prefix(&self) -> String {
        let mut out = String::new();
        for part in self.parts {
            match part {
                Part::Lit(text) => out.push_str(text),
                Part::Field(_) => break,
            }
        }
        out
    }

    /// The attribute names of the template's fields, in order.
    pub fn fields(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.parts.iter().filter_map(|part| match part {
            Part::Field(name) => Some(*name),
            Part::Lit(_) => None,
        })
    }

    /// Whether field `name` is part of the template.
    pub fn has_field(&self, name: &str) -> bool {
        self.fields().any(|f| f == name)
    }

    /// The characters escaped in this template's segments: `%` and the first character of
    /// each literal that follows a field.
    fn escaped(&self, c: char) -> bool {
        c == '%'
            || self.parts.windows(2).any(
                |pair| matches!(pair, [Part::Field(_), Part::Lit(text)] if text.starts_with(c)),
            )
    }

    /// A writer of this template's key, segment by segment.
    pub fn writer(&'static self) -> KeyWriter {
        KeyWriter {
            template: self,
            out: String::new(),
            next: 0,
            absent: false,
        }
    }

    /// The segments of `key` (unescaped), in the template's field order; an error when `key`
    /// was not written by this template.
    pub fn parse(&self, key: &str) -> Result<Vec<String>, AttributeError> {
        let mismatch = || AttributeError::KeyTemplate {
            attribute: self.attribute,
            key: key.to_owned(),
        };
        let mut rest = key;
        let mut segments = Vec::new();
        let mut parts = self.parts.iter().peekable();
        while let Some(part) = parts.next() {
            match part {
                Part::Lit(text) => rest = rest.strip_prefix(text).ok_or_else(mismatch)?,
                Part::Field(_) => {
                    let end = match parts.peek() {
                        Some(Part::Lit(next)) => {
                            let sep = next.chars().next().ok_or_else(mismatch)?;
                            rest.find(sep).ok_or_else(mismatch)?
                        }
                        _ => rest.len(),
                    };
                    segments.push(unescape(&rest[..end]).ok_or_else(mismatch)?);
                    rest = &rest[end..];
                }
            }
        }
        if !rest.is_empty() {
            return Err(mismatch());
        }
        Ok(segments)
    }
}

/// How an update writes an index key from a field it sets: the field's attribute name, and
/// the segment text of a value of it (`None` for an `Option` field's `None`: the item then has
/// no key for the index). Generated for each field of an index template.
#[derive(Debug, Clone, Copy)]
pub struct SegmentReader {
    /// The field's attribute name.
    pub attribute: &'static str,
    /// The unescaped segment text of a stored value of the field.
    pub text: fn(AttributeValue) -> Result<Option<String>, crate::model::FieldError>,
}

/// Writes one key of a [`KeyTemplate`]: [`segment`](Self::segment) per field in order, then
/// [`finish`](Self::finish) (the whole key) or [`prefix`](Self::prefix) (the key's start up
/// to the fields given, for `begins_with`).
pub struct KeyWriter {
    template: &'static KeyTemplate,
    out: String,
    /// The next part to write.
    next: usize,
    /// An index segment was `None`: the item has no key for this index.
    absent: bool,
}

impl KeyWriter {
    /// Writes the literals up to the next field, then `value`'s segment.
    pub fn segment<T: KeySegment>(&mut self, value: &T) {
        self.literals();
        let mut text = String::new();
        value.write_segment(&mut text);
        for c in text.chars() {
            if self.template.escaped(c) {
                let mut bytes = [0u8; 4];
                for b in c.encode_utf8(&mut bytes).bytes() {
                    let _ = write!(self.out, "%{b:02X}");
                }
            } else {
                self.out.push(c);
            }
        }
        self.next += 1;
    }

    /// [`segment`](Self::segment) for an index template's field: `None` means the item has no
    /// key for the index.
    pub fn index_segment<T: IndexSegment>(&mut self, value: &T) {
        match value.present() {
            Some(value) => self.segment(value),
            None => {
                self.absent = true;
                self.next += 1;
            }
        }
    }

    fn literals(&mut self) {
        while let Some(Part::Lit(text)) = self.template.parts.get(self.next) {
            self.out.push_str(text);
            self.next += 1;
        }
    }

    /// The whole key.
    pub fn finish(mut self) -> String {
        self.literals();
        self.out
    }

    /// The whole key, or `None` when an index segment was `None`.
    pub fn finish_index(self) -> Option<String> {
        (!self.absent).then(|| self.finish())
    }

    /// The key's start: the segments given and the literal that follows the last (or the
    /// template's fixed prefix when none was given), so that `begins_with` selects exactly
    /// the keys whose leading fields are these.
    pub fn prefix(mut self) -> String {
        self.literals();
        self.out
    }
}

fn unescape(text: &str) -> Option<String> {
    if !text.contains('%') {
        return Some(text.to_owned());
    }
    let mut bytes = Vec::with_capacity(text.len());
    let raw = text.as_bytes();
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            bytes.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            bytes.push(raw[i]);
            i += 1;
        }
    }
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    static PK: KeyTemplate = KeyTemplate {
        attribute: "pk",
        parts: &[Part::Lit("CUSTOMER#"), Part::Field("customer_id")],
    };
    static SK: KeyTemplate = KeyTemplate {
        attribute: "sk",
        parts: &[
            Part::Lit("ORDER#"),
            Part::Field("placed_at"),
            Part::Lit("#"),
            Part::Field("order_id"),
        ],
    };

    fn sk(placed_at: i64, order_id: &str) -> String {
        let mut w = SK.writer();
        w.segment(&placed_at);
        w.segment(&order_id.to_owned());
        w.finish()
    }

    #[test]
    fn keys_round_trip_whatever_the_values_hold() {
        for id in ["o-1", "a#b", "100%", "%23", "", "é#ü", "##"] {
            let key = sk(-5, id);
            let parts = SK.parse(&key).unwrap();
            assert_eq!(i64::parse_segment(&parts[0]).unwrap(), -5);
            assert_eq!(parts[1], id, "{key}");
        }
        let mut w = PK.writer();
        w.segment(&"c#1".to_owned());
        let pk = w.finish();
        assert_eq!(
            pk, "CUSTOMER#c#1",
            "a last segment has no separator to escape"
        );
        assert_eq!(PK.parse(&pk).unwrap(), ["c#1"]);
    }

    #[test]
    fn different_values_make_different_keys() {
        assert_ne!(sk(1, "a#b"), sk(1, "a%23b"));
        let a = {
            let mut w = SK.writer();
            w.segment(&"x#1".to_owned());
            w.segment(&"2".to_owned());
            w.finish()
        };
        let b = {
            let mut w = SK.writer();
            w.segment(&"x".to_owned());
            w.segment(&"1#2".to_owned());
            w.finish()
        };
        assert_ne!(a, b);
    }

    #[test]
    fn integers_sort_as_their_text() {
        let values = [i64::MIN, -100, -1, 0, 1, 99, 100, i64::MAX];
        let texts: Vec<String> = values.iter().map(|v| sk(*v, "o")).collect();
        let mut sorted = texts.clone();
        sorted.sort();
        assert_eq!(texts, sorted);
        for v in [0u8, 9, 255] {
            let mut s = String::new();
            v.write_segment(&mut s);
            assert_eq!(s.len(), 3);
            assert_eq!(u8::parse_segment(&s).unwrap(), v);
        }
    }

    #[test]
    fn a_key_of_another_template_is_an_error() {
        assert!(matches!(
            SK.parse("CUSTOMER#c1"),
            Err(AttributeError::KeyTemplate {
                attribute: "sk",
                ..
            })
        ));
        assert!(SK.parse("ORDER#1").is_err());
    }

    #[test]
    fn a_prefix_ends_with_the_separator_after_the_fields_given() {
        let mut w = SK.writer();
        w.segment(&7u64);
        assert_eq!(w.prefix(), "ORDER#00000000000000000007#");
        assert_eq!(SK.writer().prefix(), "ORDER#");
        assert_eq!(SK.fixed_prefix(), "ORDER#");
    }

    #[test]
    fn a_none_index_segment_means_no_key() {
        let mut w = PK.writer();
        w.index_segment(&Option::<String>::None);
        assert_eq!(w.finish_index(), None);
        let mut w = PK.writer();
        w.index_segment(&Some("c".to_owned()));
        assert_eq!(w.finish_index().as_deref(), Some("CUSTOMER#c"));
    }

    #[test]
    fn the_entity_check_names_what_it_found() {
        let entity = Entity {
            attribute: "entity_type",
            name: "Order",
        };
        let mut item = Item::new();
        assert!(matches!(
            entity.check(&item),
            Err(AttributeError::ForeignEntity { found: None, .. })
        ));
        item.insert("entity_type".into(), AttributeValue::S("Invoice".into()));
        assert!(matches!(
            entity.check(&item),
            Err(AttributeError::ForeignEntity { expected: "Order", found: Some(ref f) }) if f == "Invoice"
        ));
        item.insert("entity_type".into(), entity.value());
        assert!(entity.check(&item).is_ok());
    }
}
