//! A serde serializer straight to the SDK's [`AttributeValue`], in serde_dynamo 4's encoding.
//!
//! serde_dynamo serializes into its own value tree and then converts that tree into the
//! SDK's, and dynox then walked the result again to check its numbers. This serializer builds
//! the SDK's values directly and checks each number as it is written: the same attribute values
//! (reads still go through serde_dynamo, so the two must agree; `tests::matches_serde_dynamo`
//! checks them value by value), in about half the time.
//!
//! The encoding: integers, floats → `N`; strings, chars, unit variants → `S`; bools → `BOOL`;
//! bytes → `B`; `None`, `()` and unit structs → `NULL`; sequences and tuples → `L`; maps and
//! structs → `M`; newtype / tuple / struct variants → `M` of one entry named after the variant;
//! serde_dynamo's `string_set` / `number_set` / `binary_set` wrappers → `SS` / `NS` / `BS`.
//! 128-bit integers are refused, as serde_dynamo refuses them.

use std::collections::HashMap;
use std::fmt;

use serde::ser::{self, Serialize};

use super::{number, AttributeError, AttributeValue, Blob};

/// serde_dynamo's marker names for its set wrappers (`serde_dynamo::string_set` and co.).
const STRING_SET: &str = "\u{037E}STRINGSET\u{037E}";
const NUMBER_SET: &str = "\u{037E}NUMBERSET\u{037E}";
const BINARY_SET: &str = "\u{037E}BYTESSET\u{037E}";

/// Serializes `value` into an attribute value, checking numbers and map keys on the way.
pub(crate) fn to_attribute_value<T: Serialize + ?Sized>(
    value: &T,
) -> Result<AttributeValue, AttributeError> {
    value.serialize(Serializer).map_err(|e| e.0)
}

/// A serialization error: the attribute error it stands for.
#[derive(Debug)]
pub(crate) struct Error(AttributeError);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error(AttributeError::Serde(msg.to_string()))
    }
}

impl From<AttributeError> for Error {
    fn from(e: AttributeError) -> Self {
        Error(e)
    }
}

fn unsupported(what: &str) -> Error {
    Error(AttributeError::Serde(format!("{what} is not supported")))
}

fn float(value: f64, text: impl Fn() -> String) -> Result<AttributeValue, Error> {
    Ok(AttributeValue::N(number::format_float(value, text)?))
}

/// One entry named after an enum variant: serde_dynamo's externally tagged enums.
fn variant(name: &str, value: AttributeValue) -> AttributeValue {
    AttributeValue::M(HashMap::from([(name.to_owned(), value)]))
}

/// Turns the list a set wrapper serialized into the set it stands for.
fn to_set(name: &str, value: AttributeValue) -> Result<AttributeValue, Error> {
    let AttributeValue::L(values) = value else {
        return Err(Error(AttributeError::Serde(
            "a set wrapper must wrap a sequence".into(),
        )));
    };
    match name {
        STRING_SET => elements(values, "string", |v| match v {
            AttributeValue::S(s) => Some(s),
            _ => None,
        })
        .map(AttributeValue::Ss),
        NUMBER_SET => elements(values, "number", |v| match v {
            AttributeValue::N(n) => Some(n),
            _ => None,
        })
        .map(AttributeValue::Ns),
        _ => elements(values, "binary", |v| match v {
            AttributeValue::B(b) => Some(b),
            _ => None,
        })
        .map(AttributeValue::Bs),
    }
}

/// The elements of a set, each of which `take` must accept.
fn elements<T>(
    values: Vec<AttributeValue>,
    kind: &str,
    take: fn(AttributeValue) -> Option<T>,
) -> Result<Vec<T>, Error> {
    values
        .into_iter()
        .map(|v| {
            take(v).ok_or_else(|| {
                Error(AttributeError::Serde(format!(
                    "every element of a {kind} set must be a {kind}"
                )))
            })
        })
        .collect()
}

struct Serializer;

macro_rules! integers {
    ($($method:ident: $t:ty),*) => {$(
        fn $method(self, v: $t) -> Result<AttributeValue, Error> {
            Ok(AttributeValue::N(v.to_string()))
        }
    )*};
}

impl ser::Serializer for Serializer {
    type Ok = AttributeValue;
    type Error = Error;
    type SerializeSeq = List;
    type SerializeTuple = List;
    type SerializeTupleStruct = List;
    type SerializeTupleVariant = Variant<List>;
    type SerializeMap = Map;
    type SerializeStruct = Map;
    type SerializeStructVariant = Variant<Map>;

    integers!(serialize_i8: i8, serialize_i16: i16, serialize_i32: i32, serialize_i64: i64,
              serialize_u8: u8, serialize_u16: u16, serialize_u32: u32, serialize_u64: u64);

    fn serialize_i128(self, _: i128) -> Result<AttributeValue, Error> {
        Err(unsupported("i128"))
    }
    fn serialize_u128(self, _: u128) -> Result<AttributeValue, Error> {
        Err(unsupported("u128"))
    }
    fn serialize_f32(self, v: f32) -> Result<AttributeValue, Error> {
        float(f64::from(v), || v.to_string())
    }
    fn serialize_f64(self, v: f64) -> Result<AttributeValue, Error> {
        float(v, || v.to_string())
    }
    fn serialize_bool(self, v: bool) -> Result<AttributeValue, Error> {
        Ok(AttributeValue::Bool(v))
    }
    fn serialize_char(self, v: char) -> Result<AttributeValue, Error> {
        Ok(AttributeValue::S(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<AttributeValue, Error> {
        Ok(AttributeValue::S(v.to_owned()))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<AttributeValue, Error> {
        Ok(AttributeValue::B(Blob::new(v)))
    }
    fn serialize_none(self) -> Result<AttributeValue, Error> {
        Ok(AttributeValue::Null(true))
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<AttributeValue, Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<AttributeValue, Error> {
        Ok(AttributeValue::Null(true))
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<AttributeValue, Error> {
        Ok(AttributeValue::Null(true))
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<AttributeValue, Error> {
        Ok(AttributeValue::S(variant.to_owned()))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<AttributeValue, Error> {
        let value = value.serialize(self)?;
        match name {
            STRING_SET | NUMBER_SET | BINARY_SET => to_set(name, value),
            _ => Ok(value),
        }
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        name: &'static str,
        value: &T,
    ) -> Result<AttributeValue, Error> {
        Ok(variant(name, value.serialize(Serializer)?))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<List, Error> {
        Ok(List(Vec::with_capacity(len.unwrap_or(0))))
    }
    fn serialize_tuple(self, len: usize) -> Result<List, Error> {
        Ok(List(Vec::with_capacity(len)))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<List, Error> {
        Ok(List(Vec::with_capacity(len)))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        name: &'static str,
        len: usize,
    ) -> Result<Variant<List>, Error> {
        Ok(Variant(name, List(Vec::with_capacity(len))))
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Map, Error> {
        Ok(Map::new(len.unwrap_or(0)))
    }
    fn serialize_struct(self, _: &'static str, len: usize) -> Result<Map, Error> {
        Ok(Map::new(len))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        name: &'static str,
        len: usize,
    ) -> Result<Variant<Map>, Error> {
        Ok(Variant(name, Map::new(len)))
    }
}

/// A sequence, tuple or tuple struct: `L`.
struct List(Vec<AttributeValue>);

impl List {
    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.0.push(value.serialize(Serializer)?);
        Ok(())
    }
}

/// The three list-like serde traits, which differ only in their method's name.
macro_rules! list_impls {
    ($($trait:ident :: $method:ident),*) => {$(
        impl ser::$trait for List {
            type Ok = AttributeValue;
            type Error = Error;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
                self.push(value)
            }
            fn end(self) -> Result<AttributeValue, Error> {
                Ok(AttributeValue::L(self.0))
            }
        }
    )*};
}
list_impls!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field
);

/// A map or struct: `M`. Keys must be non-empty (DynamoDB rejects empty map keys).
struct Map {
    entries: HashMap<String, AttributeValue>,
    key: Option<String>,
}

impl Map {
    fn new(len: usize) -> Self {
        Map {
            entries: HashMap::with_capacity(len),
            key: None,
        }
    }

    fn insert<T: Serialize + ?Sized>(&mut self, key: String, value: &T) -> Result<(), Error> {
        if key.is_empty() {
            return Err(Error(AttributeError::EmptyMapKey));
        }
        self.entries.insert(key, value.serialize(Serializer)?);
        Ok(())
    }
}

impl ser::SerializeMap for Map {
    type Ok = AttributeValue;
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.key = Some(key.serialize(KeySerializer)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        let key = self
            .key
            .take()
            .ok_or_else(|| <Error as ser::Error>::custom("a map value came before its key"))?;
        self.insert(key, value)
    }
    fn serialize_entry<K: Serialize + ?Sized, V: Serialize + ?Sized>(
        &mut self,
        key: &K,
        value: &V,
    ) -> Result<(), Error> {
        let key = key.serialize(KeySerializer)?;
        self.insert(key, value)
    }
    fn end(self) -> Result<AttributeValue, Error> {
        Ok(AttributeValue::M(self.entries))
    }
}

impl ser::SerializeStruct for Map {
    type Ok = AttributeValue;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.insert(key.to_owned(), value)
    }
    fn end(self) -> Result<AttributeValue, Error> {
        Ok(AttributeValue::M(self.entries))
    }
}

/// A tuple or struct variant: `M` with one entry, the variant's name.
struct Variant<T>(&'static str, T);

impl ser::SerializeTupleVariant for Variant<List> {
    type Ok = AttributeValue;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.1.push(value)
    }
    fn end(self) -> Result<AttributeValue, Error> {
        Ok(variant(self.0, AttributeValue::L(self.1 .0)))
    }
}

impl ser::SerializeStructVariant for Variant<Map> {
    type Ok = AttributeValue;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.1.insert(key.to_owned(), value)
    }
    fn end(self) -> Result<AttributeValue, Error> {
        Ok(variant(self.0, AttributeValue::M(self.1.entries)))
    }
}

/// Map keys: strings, and (as text) integers, bools, chars and unit variants, as serde_dynamo
/// writes them.
struct KeySerializer;

fn key_must_be_a_string() -> Error {
    Error(AttributeError::Serde("map keys must be strings".into()))
}

macro_rules! integer_keys {
    ($($method:ident: $t:ty),*) => {$(
        fn $method(self, v: $t) -> Result<String, Error> {
            Ok(v.to_string())
        }
    )*};
}

macro_rules! refuse {
    ($($method:ident($($arg:ty),*)),*) => {$(
        fn $method(self, $(_: $arg),*) -> Result<String, Error> {
            Err(key_must_be_a_string())
        }
    )*};
}

impl ser::Serializer for KeySerializer {
    type Ok = String;
    type Error = Error;
    type SerializeSeq = ser::Impossible<String, Error>;
    type SerializeTuple = ser::Impossible<String, Error>;
    type SerializeTupleStruct = ser::Impossible<String, Error>;
    type SerializeTupleVariant = ser::Impossible<String, Error>;
    type SerializeMap = ser::Impossible<String, Error>;
    type SerializeStruct = ser::Impossible<String, Error>;
    type SerializeStructVariant = ser::Impossible<String, Error>;

    integer_keys!(serialize_i8: i8, serialize_i16: i16, serialize_i32: i32, serialize_i64: i64,
                  serialize_i128: i128, serialize_u8: u8, serialize_u16: u16,
                  serialize_u32: u32, serialize_u64: u64, serialize_u128: u128);
    refuse!(
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_bytes(&[u8]),
        serialize_none(),
        serialize_unit(),
        serialize_unit_struct(&'static str)
    );

    fn serialize_bool(self, v: bool) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_char(self, v: char) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_str(self, v: &str) -> Result<String, Error> {
        Ok(v.to_owned())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<String, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<String, Error> {
        Ok(variant.to_owned())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<String, Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<String, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(key_must_be_a_string())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use serde::Serialize;

    use super::*;

    #[derive(Serialize)]
    struct Inner {
        name: String,
        n: u32,
        f: f64,
        missing: Option<String>,
        bytes: serde_bytes_like::Bytes,
    }

    /// `serialize_bytes` without a dependency on serde_bytes.
    mod serde_bytes_like {
        pub struct Bytes(pub Vec<u8>);
        impl serde::Serialize for Bytes {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_bytes(&self.0)
            }
        }
    }

    #[derive(Serialize)]
    struct Unit;

    #[derive(Serialize)]
    struct Newtype(i64);

    #[derive(Serialize)]
    struct Tuple(u8, String);

    #[derive(Serialize)]
    #[allow(dead_code)]
    enum Kind {
        Plain,
        Wrapped(String),
        Pair(u8, bool),
        Shaped { x: i32, y: i32 },
    }

    #[derive(Serialize, PartialEq, Eq, PartialOrd, Ord)]
    enum Key {
        Left,
    }

    #[derive(Serialize)]
    struct Everything {
        inner: Inner,
        list: Vec<Inner>,
        unit: Unit,
        unit_value: (),
        newtype: Newtype,
        tuple: Tuple,
        pair: (char, bool),
        kinds: Vec<Kind>,
        by_name: BTreeMap<String, i8>,
        by_number: BTreeMap<u64, bool>,
        by_bool: BTreeMap<bool, u8>,
        by_variant: BTreeMap<Key, u8>,
        #[serde(with = "serde_dynamo::string_set")]
        strings: BTreeSet<String>,
        #[serde(with = "serde_dynamo::number_set")]
        numbers: BTreeSet<u32>,
        #[serde(with = "serde_dynamo::binary_set")]
        blobs: Vec<serde_bytes_like::Bytes>,
        float: f32,
        negative: i64,
    }

    fn everything() -> Everything {
        let inner = |n: u32| Inner {
            name: format!("n{n}"),
            n,
            f: f64::from(n) / 3.0,
            missing: None,
            bytes: serde_bytes_like::Bytes(vec![n as u8, 0, 255]),
        };
        Everything {
            inner: inner(1),
            list: vec![inner(2), inner(3)],
            unit: Unit,
            unit_value: (),
            newtype: Newtype(-7),
            tuple: Tuple(9, "t".into()),
            pair: ('c', true),
            kinds: vec![
                Kind::Plain,
                Kind::Wrapped("w".into()),
                Kind::Pair(1, false),
                Kind::Shaped { x: -1, y: 2 },
            ],
            by_name: [("a".to_string(), 1), ("b".to_string(), -2)].into(),
            by_number: [(10, true), (u64::MAX, false)].into(),
            by_bool: [(true, 1)].into(),
            by_variant: [(Key::Left, 3)].into(),
            strings: ["x".to_string(), "y".to_string()].into(),
            numbers: [1, 2, 3].into(),
            blobs: vec![
                serde_bytes_like::Bytes(vec![1]),
                serde_bytes_like::Bytes(vec![2]),
            ],
            float: 0.1,
            negative: i64::MIN,
        }
    }

    #[test]
    fn matches_serde_dynamo() {
        let value = everything();
        let ours = to_attribute_value(&value).unwrap();
        let theirs: AttributeValue = serde_dynamo::to_attribute_value(&value).unwrap();
        assert_eq!(ours, theirs);
    }

    #[test]
    fn checks_numbers_and_keys_as_it_writes() {
        assert!(matches!(
            to_attribute_value(&f64::NAN),
            Err(AttributeError::NotFinite { .. })
        ));
        assert!(matches!(
            to_attribute_value(&vec![1.0, 1e300]),
            Err(AttributeError::NumberOutOfRange { .. })
        ));
        let empty_key: BTreeMap<String, u8> = [(String::new(), 1)].into();
        assert_eq!(
            to_attribute_value(&empty_key),
            Err(AttributeError::EmptyMapKey)
        );
        let float_key: Vec<(f64, u8)> = vec![(1.5, 1)];
        let as_map = float_key.into_iter().collect::<Vec<_>>();
        assert!(
            to_attribute_value(&as_map).is_ok(),
            "a list of pairs is a list"
        );
        assert!(to_attribute_value(&1u128).is_err());
    }

    proptest::proptest! {
        /// Random nested values: the same attribute value as serde_dynamo, or the same
        /// refusal (non-finite or out-of-range numbers, empty map keys, which serde_dynamo
        /// writes and dynox rejects before any request).
        #[test]
        fn random_values_match_serde_dynamo(
            value in proptest::collection::btree_map(
                ".{0,4}",
                proptest::collection::vec(
                    (proptest::option::of(proptest::num::i64::ANY), proptest::num::f64::ANY, "\\PC{0,3}"),
                    0..3,
                ),
                0..4,
            )
        ) {
            let theirs: AttributeValue = serde_dynamo::to_attribute_value(&value).unwrap();
            let has_empty_key = value.keys().any(String::is_empty);
            let bad_float = value.values().flatten().any(|(_, f, _)| {
                !f.is_finite() || (*f != 0.0 && !(1e-130..1e126).contains(&f.abs()))
            });
            match to_attribute_value(&value) {
                Ok(ours) => {
                    proptest::prop_assert!(!has_empty_key && !bad_float);
                    proptest::prop_assert_eq!(ours, theirs);
                }
                Err(_) => proptest::prop_assert!(has_empty_key || bad_float),
            }
        }
    }
}
