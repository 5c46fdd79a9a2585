//! Typed sort-key conditions of a query.

use crate::item::{AttributeError, AttributeValue};
use crate::model::{IntoKey, KeyAttribute};

use super::Placeholders;

/// A condition on the sort (range) key of a query, typed by the key's Rust type.
///
/// `begins_with` exists only for `String` sort keys, so using it on a numeric key does not
/// compile.
///
/// ```
/// use dynox_core::SortKey;
///
/// let recent: SortKey<u64> = SortKey::ge(1_700_000_000);
/// let range: SortKey<u64> = SortKey::between(10, 20);
/// let prefix: SortKey<String> = SortKey::begins_with("2026-");
/// # let _ = (recent, range, prefix);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SortKey<T> {
    op: Op<T>,
}

#[derive(Debug, Clone, PartialEq)]
enum Op<T> {
    Eq(T),
    Lt(T),
    Le(T),
    Gt(T),
    Ge(T),
    Between(T, T),
    BeginsWith(String),
}

impl<T: KeyAttribute> SortKey<T> {
    /// `sort key = value`
    pub fn eq(value: impl IntoKey<T>) -> Self {
        Self {
            op: Op::Eq(value.into_key()),
        }
    }
    /// `sort key < value`
    pub fn lt(value: impl IntoKey<T>) -> Self {
        Self {
            op: Op::Lt(value.into_key()),
        }
    }
    /// `sort key <= value`
    pub fn le(value: impl IntoKey<T>) -> Self {
        Self {
            op: Op::Le(value.into_key()),
        }
    }
    /// `sort key > value`
    pub fn gt(value: impl IntoKey<T>) -> Self {
        Self {
            op: Op::Gt(value.into_key()),
        }
    }
    /// `sort key >= value`
    pub fn ge(value: impl IntoKey<T>) -> Self {
        Self {
            op: Op::Ge(value.into_key()),
        }
    }
    /// `low <= sort key <= high`
    pub fn between(low: impl IntoKey<T>, high: impl IntoKey<T>) -> Self {
        Self {
            op: Op::Between(low.into_key(), high.into_key()),
        }
    }

    pub(crate) fn to_values(&self) -> Result<SortKeyValues, AttributeError> {
        let v = |t: &T| t.to_key_attribute();
        Ok(SortKeyValues(match &self.op {
            Op::Eq(t) => Op::Eq(v(t)?),
            Op::Lt(t) => Op::Lt(v(t)?),
            Op::Le(t) => Op::Le(v(t)?),
            Op::Gt(t) => Op::Gt(v(t)?),
            Op::Ge(t) => Op::Ge(v(t)?),
            Op::Between(a, b) => Op::Between(v(a)?, v(b)?),
            Op::BeginsWith(s) => Op::BeginsWith(s.clone()),
        }))
    }
}

impl SortKey<String> {
    /// `begins_with(sort key, prefix)`: only for string sort keys.
    pub fn begins_with(prefix: impl Into<String>) -> Self {
        Self {
            op: Op::BeginsWith(prefix.into()),
        }
    }
}

/// A sort-key condition with its values converted.
#[derive(Debug, Clone)]
pub(crate) struct SortKeyValues(Op<AttributeValue>);

impl SortKeyValues {
    /// Appends ` AND <condition>` on attribute `name` to `expression`.
    pub(crate) fn write(self, name: &str, p: &mut Placeholders, expression: &mut String) {
        let n = p.name(name);
        let condition = match self.0 {
            Op::Eq(v) => format!("{n} = {}", p.value(v)),
            Op::Lt(v) => format!("{n} < {}", p.value(v)),
            Op::Le(v) => format!("{n} <= {}", p.value(v)),
            Op::Gt(v) => format!("{n} > {}", p.value(v)),
            Op::Ge(v) => format!("{n} >= {}", p.value(v)),
            Op::Between(a, b) => format!("{n} BETWEEN {} AND {}", p.value(a), p.value(b)),
            Op::BeginsWith(s) => format!("begins_with({n}, {})", p.value(AttributeValue::S(s))),
        };
        expression.push_str(" AND ");
        expression.push_str(&condition);
    }
}
