//! Declarative field validation: `#[dynamo(validate(...))]` on a field checks its value before a
//! save, create, transaction or batch write uploads or writes anything, and fails with
//! [`Error::Validation`](crate::Error::Validation) naming the model, the item and the field.
//!
//! | rule | applies to | passes when |
//! |---|---|---|
//! | `length(min = 1, max = 80)` | `String`, `Vec<T>`, sets, maps | the length (characters for a string, elements otherwise) is within the bounds |
//! | `range(min = 0, max = 100)` | integers, floats | the value is within the bounds (inclusive) |
//! | `pattern = "^[a-z0-9-]+$"` | `String` | the regular expression matches (checked when the model compiles) |
//! | `with = path::to::check` | any | `check(&value)` returns `Ok(())` (any `Result<(), E>` whose `E` displays; `&value` derefs as in any call, so a `String` field's check may take `&str`) |
//!
//! Each rule of an `Option` field applies to its value when there is one. Either bound of
//! `length` and `range` may be left out.
//!
//! ```no_run
//! # use dynox_core::{Client, DynamoModel, Error};
//! fn no_spaces(sku: &str) -> Result<(), String> {
//!     if sku.contains(' ') { Err("contains a space".into()) } else { Ok(()) }
//! }
//!
//! #[derive(DynamoModel)]
//! #[dynamo(table = "products")]
//! struct Product {
//!     #[dynamo(hash_key, validate(length(min = 3, max = 32), with = no_spaces))]
//!     sku: String,
//!     #[dynamo(validate(length(min = 1, max = 200)))]
//!     name: String,
//!     #[dynamo(validate(range(min = 0, max = 1_000_000)))]
//!     price_cents: i64,
//!     #[dynamo(validate(pattern = "^[a-z]+(-[a-z]+)*$"))]
//!     slug: Option<String>,
//! }
//!
//! # async fn demo(client: &Client) -> dynox_core::Result<()> {
//! let mut p = Product { sku: "A 1".into(), name: "Mug".into(), price_cents: 900, slug: None };
//! match client.save(&mut p).await {
//!     Err(Error::Validation { field, reason, .. }) => println!("{field}: {reason}"),
//!     other => other?,
//! }
//! # Ok(()) }
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::Display;

/// A value that breaks a field's validation rule: the field (as the struct names it) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The field's name in the struct.
    pub field: &'static str,
    /// What is wrong with the value.
    pub reason: String,
}

/// A value with a length, for `validate(length(...))`: strings (in characters), lists, sets
/// and maps (in elements), and an `Option` of one (its value, when there is one).
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no length for `validate(length(...))`",
    label = "no length",
    note = "`length` applies to `String`, `Vec<T>`, sets and maps (or an `Option` of one)"
)]
pub trait HasLength {
    /// The length, or `None` for an absent optional value.
    fn length(&self) -> Option<usize>;
}

impl HasLength for String {
    fn length(&self) -> Option<usize> {
        Some(self.chars().count())
    }
}

impl<T> HasLength for Vec<T> {
    fn length(&self) -> Option<usize> {
        Some(self.len())
    }
}

impl<T> HasLength for BTreeSet<T> {
    fn length(&self) -> Option<usize> {
        Some(self.len())
    }
}

impl<T, S> HasLength for HashSet<T, S> {
    fn length(&self) -> Option<usize> {
        Some(self.len())
    }
}

impl<K, V> HasLength for BTreeMap<K, V> {
    fn length(&self) -> Option<usize> {
        Some(self.len())
    }
}

impl<K, V, S> HasLength for HashMap<K, V, S> {
    fn length(&self) -> Option<usize> {
        Some(self.len())
    }
}

impl<T: HasLength> HasLength for Option<T> {
    fn length(&self) -> Option<usize> {
        self.as_ref().and_then(HasLength::length)
    }
}

/// A value `validate(range(...))` compares: numbers, and an `Option` of one.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be checked with `validate(range(...))`",
    label = "not a number",
    note = "`range` applies to integer and float fields (or an `Option` of one)"
)]
pub trait InRange {
    /// The type the bounds are written in.
    type Bound: PartialOrd + Display;
    /// The value, or `None` for an absent optional value.
    fn value(&self) -> Option<&Self::Bound>;
}

macro_rules! in_range {
    ($($t:ty),*) => {$(
        impl InRange for $t {
            type Bound = $t;
            fn value(&self) -> Option<&$t> {
                Some(self)
            }
        }
    )*};
}
in_range!(u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize, f32, f64);

impl<T: InRange> InRange for Option<T> {
    type Bound = T::Bound;
    fn value(&self) -> Option<&T::Bound> {
        self.as_ref().and_then(InRange::value)
    }
}

/// Text `validate(pattern = "...")` matches: `String`, and an `Option` of one.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be matched with `validate(pattern = ...)`",
    label = "not text",
    note = "`pattern` applies to `String` fields (or an `Option<String>`)"
)]
pub trait PatternText {
    /// The text, or `None` for an absent optional value.
    fn text(&self) -> Option<&str>;
}

impl PatternText for String {
    fn text(&self) -> Option<&str> {
        Some(self)
    }
}

impl<T: PatternText> PatternText for Option<T> {
    fn text(&self) -> Option<&str> {
        self.as_ref().and_then(PatternText::text)
    }
}

/// `length(min, max)` of field `field`.
pub fn length<T: HasLength + ?Sized>(
    field: &'static str,
    value: &T,
    min: Option<usize>,
    max: Option<usize>,
) -> Result<(), Violation> {
    let Some(n) = value.length() else {
        return Ok(());
    };
    let unit = "long";
    match (min, max) {
        (Some(min), _) if n < min => Err(Violation {
            field,
            reason: format!("is {n} {unit}, shorter than the minimum of {min}"),
        }),
        (_, Some(max)) if n > max => Err(Violation {
            field,
            reason: format!("is {n} {unit}, longer than the maximum of {max}"),
        }),
        _ => Ok(()),
    }
}

/// `range(min, max)` of field `field` (both inclusive). NaN is out of every range.
pub fn range<T: InRange + ?Sized>(
    field: &'static str,
    value: &T,
    min: Option<T::Bound>,
    max: Option<T::Bound>,
) -> Result<(), Violation> {
    let Some(v) = value.value() else {
        return Ok(());
    };
    let below = min
        .as_ref()
        .is_some_and(|min| v.partial_cmp(min).is_none_or(|o| o.is_lt()));
    let above = max
        .as_ref()
        .is_some_and(|max| v.partial_cmp(max).is_none_or(|o| o.is_gt()));
    let bounds = match (&min, &max) {
        (Some(min), Some(max)) => format!("from {min} to {max}"),
        (Some(min), None) => format!("at least {min}"),
        (None, Some(max)) => format!("at most {max}"),
        (None, None) => String::new(),
    };
    if below || above {
        Err(Violation {
            field,
            reason: format!("is {v}, outside the range {bounds}"),
        })
    } else {
        Ok(())
    }
}

/// `pattern = "..."` of field `field`: `regex` (compiled once) must match.
pub fn pattern<T: PatternText + ?Sized>(
    field: &'static str,
    value: &T,
    regex: &regex_lite::Regex,
) -> Result<(), Violation> {
    match value.text() {
        Some(text) if !regex.is_match(text) => Err(Violation {
            field,
            reason: format!("`{text}` does not match the pattern `{}`", regex.as_str()),
        }),
        _ => Ok(()),
    }
}

/// The result of `with = check` on field `field` (`check(&value)`, any error that displays).
pub fn with<E: Display>(field: &'static str, result: Result<(), E>) -> Result<(), Violation> {
    result.map_err(|e| Violation {
        field,
        reason: e.to_string(),
    })
}

/// The rules of one field, applied to a whole value an update sets: the field's attribute name,
/// and the check of a stored value (decoded as the field reads it). Generated per validated
/// field (`Model::FIELD_RULES`).
#[derive(Debug, Clone, Copy)]
pub struct FieldRules {
    /// The field's attribute name.
    pub attribute: &'static str,
    /// The rules, on a stored value of the field.
    pub check: fn(crate::item::AttributeValue) -> Result<(), Violation>,
}

/// A stored value of the field `reader` reads, for its rules; a value that does not read is
/// a violation of field `field`.
#[doc(hidden)]
pub fn decode<T>(
    field: &'static str,
    reader: &crate::projection::FieldReader<T>,
    value: crate::item::AttributeValue,
) -> Result<T, Violation> {
    let mut item = crate::item::Item::with_capacity(1);
    item.insert(reader.name.to_owned(), value);
    (reader.take)(&mut item).map_err(|e| Violation {
        field,
        reason: format!("cannot be read: {}", e.error),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_count_characters_and_skip_absent_values() {
        assert!(length("f", &"héllo".to_owned(), Some(5), Some(5)).is_ok());
        let short = length("f", &"ab".to_owned(), Some(3), None).unwrap_err();
        assert_eq!(short.field, "f");
        assert!(
            short.reason.contains("shorter than the minimum of 3"),
            "{}",
            short.reason
        );
        assert!(length("f", &vec![1, 2, 3], None, Some(2)).is_err());
        assert!(length("f", &None::<String>, Some(1), None).is_ok());
        assert!(length("f", &Some(String::new()), Some(1), None).is_err());
    }

    #[test]
    fn ranges_are_inclusive_and_refuse_nan() {
        assert!(range("f", &5u32, Some(5), Some(10)).is_ok());
        assert!(range("f", &10u32, Some(5), Some(10)).is_ok());
        let low = range("f", &4i64, Some(5), None).unwrap_err();
        assert_eq!(low.reason, "is 4, outside the range at least 5");
        assert!(range("f", &f64::NAN, Some(0.0), None).is_err());
        assert!(range("f", &None::<u8>, Some(1), None).is_ok());
    }

    #[test]
    fn patterns_match_whole_values_as_written() {
        let re = regex_lite::Regex::new("^[a-z]+$").unwrap();
        assert!(pattern("f", &"abc".to_owned(), &re).is_ok());
        let bad = pattern("f", &"ab1".to_owned(), &re).unwrap_err();
        assert_eq!(bad.reason, "`ab1` does not match the pattern `^[a-z]+$`");
        assert!(pattern("f", &None::<String>, &re).is_ok());
    }
}
