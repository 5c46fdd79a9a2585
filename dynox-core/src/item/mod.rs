//! Conversion between Rust values and DynamoDB attribute values.
//!
//! Generated code converts each field with one of three generic paths:
//! - [`Attribute`] for scalars (`String`, `bool`, integers, floats, `Vec<u8>`) and `Option`s
//!   of them, converted directly;
//! - [`SetAttribute`] for fields marked `#[dynamo(set)]` (`HashSet`/`BTreeSet` of strings,
//!   integers or byte vectors), where an empty set is an absent attribute;
//! - the serde bridge ([`to_serde_attribute`], [`from_serde_attribute`]) for every other type,
//!   through `serde_dynamo`.
//!
//! In all three, `None` means "no attribute": an absent `Option` field stores nothing.

mod number;
mod same;
mod serde_bridge;
mod serializer;
mod set;
mod size;

use std::collections::HashMap;

pub use aws_sdk_dynamodb::primitives::Blob;
pub use aws_sdk_dynamodb::types::AttributeValue;

pub(crate) use same::{same_item, same_value};
pub use serde_bridge::{from_serde_attribute, to_serde_attribute};
pub use set::{SetAttribute, SetElement};
pub(crate) use size::largest_attributes;
pub use size::{item_size, value_size, MAX_ITEM_SIZE};

/// A DynamoDB item: attribute names to values.
pub type Item = HashMap<String, AttributeValue>;

/// Why a value cannot be stored in, or read from, a DynamoDB attribute.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum AttributeError {
    /// A required attribute is absent from the item.
    #[error("attribute is missing")]
    Missing,
    /// The attribute has another DynamoDB type than the field expects.
    #[error("expected a {expected} attribute, found {found}")]
    WrongType {
        /// The DynamoDB type the field needs (`S`, `N`, ...).
        expected: &'static str,
        /// The DynamoDB type found.
        found: &'static str,
    },
    /// An `N` attribute does not fit the field's number type exactly.
    #[error("number {value} does not fit {target} exactly")]
    InvalidNumber {
        /// The stored number.
        value: String,
        /// The Rust type it was read into.
        target: &'static str,
    },
    /// NaN and infinities cannot be stored.
    #[error("{value} cannot be stored: DynamoDB numbers must be finite")]
    NotFinite {
        /// The value.
        value: String,
    },
    /// The number has more than 38 significant digits, or a magnitude outside 1E-130..1E+126.
    #[error("{value} is outside DynamoDB's number range (38 digits, 1E-130 to 1E+126)")]
    NumberOutOfRange {
        /// The value.
        value: String,
    },
    /// A key attribute must not be an empty string or empty binary.
    #[error("a key attribute must not be empty")]
    EmptyKey,
    /// A map (a nested struct or `HashMap`) has an empty key, which DynamoDB rejects.
    #[error("a map key must not be empty")]
    EmptyMapKey,
    /// serde_dynamo could not convert the value.
    #[error("{0}")]
    Serde(String),
    /// A file field's attribute is not a reference to a stored object (or a pending file
    /// cannot be stored as one).
    #[error("not a valid file reference: {reason}")]
    InvalidFileReference {
        /// What is wrong with it.
        reason: String,
    },
    /// The item is of another entity type than the model reading it (models sharing a table:
    /// [`Entity`](crate::key_template::Entity)).
    #[error("{}", foreign_entity(expected, found.as_deref()))]
    ForeignEntity {
        /// The model's entity type.
        expected: &'static str,
        /// The item's, if it records one.
        found: Option<String>,
    },
    /// A key attribute does not have the form of the model's key template.
    #[error(
        "key attribute `{attribute}` holds `{key}`, which the model's key template did not write"
    )]
    KeyTemplate {
        /// The key attribute.
        attribute: &'static str,
        /// Its value.
        key: String,
    },
}

fn foreign_entity(expected: &str, found: Option<&str>) -> String {
    match found {
        Some(found) => format!("the item is a `{found}`, not a `{expected}`"),
        None => format!("the item records no entity type: it is not a `{expected}`"),
    }
}

/// A type stored directly as one DynamoDB attribute.
///
/// Implemented for `String`, `bool`, every integer type, `f32`, `f64`, `Vec<u8>` (binary) and
/// `Option<T>` of those. `Option::None` is stored as an absent attribute.
///
/// ```
/// use dynox_core::item::{Attribute, AttributeValue};
///
/// assert_eq!(u64::MAX.to_attribute().unwrap(), Some(AttributeValue::N(u64::MAX.to_string())));
/// assert_eq!(Option::<String>::None.to_attribute().unwrap(), None);
/// assert_eq!(i8::from_attribute(Some(AttributeValue::N("-5".into()))).unwrap(), -5);
/// ```
pub trait Attribute: Sized {
    /// The attribute to store, or `None` to store no attribute.
    fn to_attribute(&self) -> Result<Option<AttributeValue>, AttributeError>;
    /// Reads the value back; `None` means the attribute is absent.
    fn from_attribute(value: Option<AttributeValue>) -> Result<Self, AttributeError>;

    /// Stores the value in `item` under `name` (nothing for an absent value): what generated
    /// `to_item` code calls. Scalars insert directly instead of going through
    /// [`to_attribute`](Self::to_attribute)'s `Result<Option<_>>`.
    #[inline]
    fn put_into(&self, item: &mut Item, name: &str) -> Result<(), AttributeError> {
        if let Some(value) = self.to_attribute()? {
            item.insert(name.to_owned(), value);
        }
        Ok(())
    }
}

/// The DynamoDB type name of an attribute value, for error messages.
pub fn type_name(value: &AttributeValue) -> &'static str {
    match value {
        AttributeValue::S(_) => "S",
        AttributeValue::N(_) => "N",
        AttributeValue::B(_) => "B",
        AttributeValue::Bool(_) => "BOOL",
        AttributeValue::Null(_) => "NULL",
        AttributeValue::M(_) => "M",
        AttributeValue::L(_) => "L",
        AttributeValue::Ss(_) => "SS",
        AttributeValue::Ns(_) => "NS",
        AttributeValue::Bs(_) => "BS",
        _ => "an unknown type",
    }
}

fn wrong_type(expected: &'static str, found: &AttributeValue) -> AttributeError {
    AttributeError::WrongType {
        expected,
        found: type_name(found),
    }
}

impl Attribute for String {
    fn to_attribute(&self) -> Result<Option<AttributeValue>, AttributeError> {
        Ok(Some(AttributeValue::S(self.clone())))
    }
    #[inline(always)]
    fn put_into(&self, item: &mut Item, name: &str) -> Result<(), AttributeError> {
        item.insert(name.to_owned(), AttributeValue::S(self.clone()));
        Ok(())
    }
    #[inline]
    fn from_attribute(value: Option<AttributeValue>) -> Result<Self, AttributeError> {
        match value {
            Some(AttributeValue::S(s)) => Ok(s),
            Some(other) => Err(wrong_type("S", &other)),
            None => Err(AttributeError::Missing),
        }
    }
}

impl Attribute for bool {
    fn to_attribute(&self) -> Result<Option<AttributeValue>, AttributeError> {
        Ok(Some(AttributeValue::Bool(*self)))
    }
    #[inline(always)]
    fn put_into(&self, item: &mut Item, name: &str) -> Result<(), AttributeError> {
        item.insert(name.to_owned(), AttributeValue::Bool(*self));
        Ok(())
    }
    fn from_attribute(value: Option<AttributeValue>) -> Result<Self, AttributeError> {
        match value {
            Some(AttributeValue::Bool(b)) => Ok(b),
            Some(other) => Err(wrong_type("BOOL", &other)),
            None => Err(AttributeError::Missing),
        }
    }
}

impl Attribute for Vec<u8> {
    fn to_attribute(&self) -> Result<Option<AttributeValue>, AttributeError> {
        Ok(Some(AttributeValue::B(Blob::new(self.clone()))))
    }
    fn from_attribute(value: Option<AttributeValue>) -> Result<Self, AttributeError> {
        match value {
            Some(AttributeValue::B(b)) => Ok(b.into_inner()),
            Some(other) => Err(wrong_type("B", &other)),
            None => Err(AttributeError::Missing),
        }
    }
}

fn number_text(value: Option<AttributeValue>) -> Result<String, AttributeError> {
    match value {
        Some(AttributeValue::N(n)) => Ok(n),
        Some(other) => Err(wrong_type("N", &other)),
        None => Err(AttributeError::Missing),
    }
}

macro_rules! integer_attribute {
    ($($t:ty),*) => {$(
        impl Attribute for $t {
            fn to_attribute(&self) -> Result<Option<AttributeValue>, AttributeError> {
                number::format_integer(*self).map(|n| Some(AttributeValue::N(n)))
            }
            #[inline(always)]
            fn put_into(&self, item: &mut Item, name: &str) -> Result<(), AttributeError> {
                item.insert(name.to_owned(), AttributeValue::N(number::format_integer(*self)?));
                Ok(())
            }
            #[inline]
            fn from_attribute(value: Option<AttributeValue>) -> Result<Self, AttributeError> {
                number::parse_integer(&number_text(value)?)
            }
        }
    )*};
}
integer_attribute!(i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize);

macro_rules! float_attribute {
    ($($t:ty),*) => {$(
        impl Attribute for $t {
            fn to_attribute(&self) -> Result<Option<AttributeValue>, AttributeError> {
                number::format_float(f64::from(*self), || self.to_string())
                    .map(|n| Some(AttributeValue::N(n)))
            }
            #[inline(always)]
            fn put_into(&self, item: &mut Item, name: &str) -> Result<(), AttributeError> {
                let n = number::format_float(f64::from(*self), || self.to_string())?;
                item.insert(name.to_owned(), AttributeValue::N(n));
                Ok(())
            }
            fn from_attribute(value: Option<AttributeValue>) -> Result<Self, AttributeError> {
                number::parse_float(&number_text(value)?)
            }
        }
    )*};
}
float_attribute!(f32, f64);

/// A point in time, stored as whole seconds since the Unix epoch (`N`), the format DynamoDB's
/// time to live reads; the sub-second part is not stored.
impl Attribute for std::time::SystemTime {
    fn to_attribute(&self) -> Result<Option<AttributeValue>, AttributeError> {
        let seconds = match self.duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => i128::from(d.as_secs()),
            Err(e) => -i128::from(e.duration().as_secs()),
        };
        Ok(Some(AttributeValue::N(seconds.to_string())))
    }
    fn from_attribute(value: Option<AttributeValue>) -> Result<Self, AttributeError> {
        let seconds: i64 = number::parse_integer(&number_text(value)?)?;
        let offset = std::time::Duration::from_secs(seconds.unsigned_abs());
        let time = if seconds >= 0 {
            std::time::UNIX_EPOCH.checked_add(offset)
        } else {
            std::time::UNIX_EPOCH.checked_sub(offset)
        };
        time.ok_or(AttributeError::NumberOutOfRange {
            value: seconds.to_string(),
        })
    }
}

impl<T: Attribute> Attribute for Option<T> {
    fn to_attribute(&self) -> Result<Option<AttributeValue>, AttributeError> {
        match self {
            Some(v) => v.to_attribute(),
            None => Ok(None),
        }
    }
    #[inline(always)]
    fn put_into(&self, item: &mut Item, name: &str) -> Result<(), AttributeError> {
        match self {
            Some(v) => v.put_into(item, name),
            None => Ok(()),
        }
    }
    fn from_attribute(value: Option<AttributeValue>) -> Result<Self, AttributeError> {
        match value {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            some => T::from_attribute(some).map(Some),
        }
    }
}

pub(crate) use number::format_integer;
