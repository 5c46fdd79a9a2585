//! Fields marked `#[dynamo(set)]`: string, number and binary sets.

use std::collections::{BTreeSet, HashSet};
use std::hash::Hash;

use super::{number, wrong_type, AttributeError, AttributeValue, Blob};

/// A type that can be an element of a DynamoDB set (`SS`, `NS` or `BS`).
pub trait SetElement: Sized {
    /// `SS`, `NS` or `BS`.
    const SET_TYPE: &'static str;
    /// Builds the set attribute from its elements.
    fn to_set<'a>(items: impl Iterator<Item = &'a Self>) -> Result<AttributeValue, AttributeError>
    where
        Self: 'a;
    /// Reads the elements of a set attribute.
    fn from_set(value: AttributeValue) -> Result<Vec<Self>, AttributeError>;
}

impl SetElement for String {
    const SET_TYPE: &'static str = "SS";
    fn to_set<'a>(items: impl Iterator<Item = &'a Self>) -> Result<AttributeValue, AttributeError> {
        Ok(AttributeValue::Ss(items.cloned().collect()))
    }
    fn from_set(value: AttributeValue) -> Result<Vec<Self>, AttributeError> {
        match value {
            AttributeValue::Ss(v) => Ok(v),
            other => Err(wrong_type("SS", &other)),
        }
    }
}

impl SetElement for Vec<u8> {
    const SET_TYPE: &'static str = "BS";
    fn to_set<'a>(items: impl Iterator<Item = &'a Self>) -> Result<AttributeValue, AttributeError> {
        Ok(AttributeValue::Bs(
            items.map(|b| Blob::new(b.clone())).collect(),
        ))
    }
    fn from_set(value: AttributeValue) -> Result<Vec<Self>, AttributeError> {
        match value {
            AttributeValue::Bs(v) => Ok(v.into_iter().map(Blob::into_inner).collect()),
            other => Err(wrong_type("BS", &other)),
        }
    }
}

macro_rules! integer_set {
    ($($t:ty),*) => {$(
        impl SetElement for $t {
            const SET_TYPE: &'static str = "NS";
            fn to_set<'a>(items: impl Iterator<Item = &'a Self>) -> Result<AttributeValue, AttributeError> {
                items
                    .map(|n| number::format_integer(*n))
                    .collect::<Result<_, _>>()
                    .map(AttributeValue::Ns)
            }
            fn from_set(value: AttributeValue) -> Result<Vec<Self>, AttributeError> {
                match value {
                    AttributeValue::Ns(v) => v.iter().map(|n| number::parse_integer(n)).collect(),
                    other => Err(wrong_type("NS", &other)),
                }
            }
        }
    )*};
}
integer_set!(i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize);

/// A set field (`HashSet<T>` or `BTreeSet<T>`). An empty set is stored as an absent attribute,
/// because DynamoDB rejects empty sets, and an absent attribute reads back as an empty set.
///
/// ```
/// use std::collections::BTreeSet;
/// use dynox_core::item::{AttributeValue, SetAttribute};
///
/// let tags: BTreeSet<String> = ["a".to_string(), "b".to_string()].into();
/// assert_eq!(
///     tags.to_set_attribute().unwrap(),
///     Some(AttributeValue::Ss(vec!["a".into(), "b".into()]))
/// );
/// assert_eq!(BTreeSet::<String>::new().to_set_attribute().unwrap(), None);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be stored as a DynamoDB set",
    label = "not a set of strings, integers or byte vectors",
    note = "`#[dynamo(set)]` needs a `HashSet` or `BTreeSet` of `String`, an integer type or `Vec<u8>`; remove `set` to store a list"
)]
pub trait SetAttribute: Sized {
    /// The set attribute, or `None` for an empty set.
    fn to_set_attribute(&self) -> Result<Option<AttributeValue>, AttributeError>;
    /// Reads the set; an absent attribute is an empty set.
    fn from_set_attribute(value: Option<AttributeValue>) -> Result<Self, AttributeError>;
}

macro_rules! set_collection {
    ($set:ident, $($bound:path),*) => {
        impl<T: SetElement $(+ $bound)*> SetAttribute for $set<T> {
            fn to_set_attribute(&self) -> Result<Option<AttributeValue>, AttributeError> {
                if self.is_empty() {
                    return Ok(None);
                }
                T::to_set(self.iter()).map(Some)
            }
            fn from_set_attribute(value: Option<AttributeValue>) -> Result<Self, AttributeError> {
                match value {
                    None | Some(AttributeValue::Null(_)) => Ok(Self::default()),
                    Some(v) => Ok(T::from_set(v)?.into_iter().collect()),
                }
            }
        }
    };
}
set_collection!(HashSet, Eq, Hash);
set_collection!(BTreeSet, Ord);
