//! Expressions: typed attribute paths ([`Path`]), the conditions and updates built from them
//! ([`Condition`], [`UpdateAction`]), and sort-key conditions ([`SortKey`]).
//!
//! The most used of these are re-exported at the crate root. This module adds the types that
//! appear in their signatures: the codecs a path encodes its values with ([`Direct`], [`Set`],
//! [`Serde`], [`File`]), the values a condition accepts ([`IntoValue`]), [`Size`] and
//! [`Numeric`].
//!
//! Every attribute name and value in an expression goes through one set of placeholders,
//! which hands out `#n0, #n1, ...` and `:v0, :v1, ...` in order of first use and reuses a
//! placeholder for a repeated name or value. The same builder calls therefore always give the
//! same expression string, and reserved words (`status`, `name`, `size`, ...) never clash.

mod condition;
mod key_condition;
mod path;
mod update;

use std::collections::HashMap;

pub use condition::{AttributeType, Condition, Size};
pub use key_condition::SortKey;
pub(crate) use key_condition::SortKeyValues;
pub use path::{Codec, Direct, File, IntoValue, Path, Serde, Set};
pub(crate) use update::render as render_update;
pub use update::{Numeric, UpdateAction};

use crate::item::AttributeValue;

/// Deterministic, de-duplicated expression placeholders.
#[derive(Debug, Default, Clone)]
pub(crate) struct Placeholders {
    names: Vec<String>,
    values: Vec<AttributeValue>,
}

impl Placeholders {
    /// The placeholder for attribute name `name`.
    pub(crate) fn name(&mut self, name: &str) -> String {
        let index = match self.names.iter().position(|n| n == name) {
            Some(i) => i,
            None => {
                self.names.push(name.to_owned());
                self.names.len() - 1
            }
        };
        format!("#n{index}")
    }

    /// The placeholder for `value`.
    pub(crate) fn value(&mut self, value: AttributeValue) -> String {
        let index = match self.values.iter().position(|v| *v == value) {
            Some(i) => i,
            None => {
                self.values.push(value);
                self.values.len() - 1
            }
        };
        format!(":v{index}")
    }

    /// The `ExpressionAttributeNames` and `ExpressionAttributeValues` maps (`None` when
    /// empty, as DynamoDB rejects empty maps).
    #[allow(clippy::type_complexity)]
    pub(crate) fn into_maps(
        self,
    ) -> (
        Option<HashMap<String, String>>,
        Option<HashMap<String, AttributeValue>>,
    ) {
        let names = (!self.names.is_empty()).then(|| {
            self.names
                .into_iter()
                .enumerate()
                .map(|(i, n)| (format!("#n{i}"), n))
                .collect()
        });
        let values = (!self.values.is_empty()).then(|| {
            self.values
                .into_iter()
                .enumerate()
                .map(|(i, v)| (format!(":v{i}"), v))
                .collect()
        });
        (names, values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_in_order_of_first_use_and_reused() {
        let mut p = Placeholders::default();
        assert_eq!(p.name("status"), "#n0");
        assert_eq!(p.name("size"), "#n1");
        assert_eq!(p.name("status"), "#n0");
        assert_eq!(p.value(AttributeValue::N("1".into())), ":v0");
        assert_eq!(p.value(AttributeValue::N("1".into())), ":v0");
        let (names, values) = p.into_maps();
        assert_eq!(names.unwrap()["#n1"], "size");
        assert_eq!(values.unwrap().len(), 1);
    }

    #[test]
    fn no_placeholders_are_no_maps() {
        assert_eq!(Placeholders::default().into_maps(), (None, None));
    }
}
