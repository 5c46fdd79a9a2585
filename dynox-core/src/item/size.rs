//! The size of an item as DynamoDB counts it against its 400 KB limit, so an oversized item
//! is a typed error before any request is sent.
//!
//! The rules (from DynamoDB's documentation on item sizes): an attribute costs the UTF-8
//! length of its name plus its value; strings and binary their length; a number about one
//! byte per two significant digits plus one; booleans and nulls one byte; lists and maps three
//! bytes of overhead plus one byte per element plus their elements (map keys count as names);
//! sets the sum of their elements.

use super::{AttributeValue, Item};

/// DynamoDB's item size limit in bytes (400 KB).
pub const MAX_ITEM_SIZE: usize = 400 * 1024;

/// The size of `item` in bytes, as DynamoDB counts it.
///
/// ```
/// use dynox_core::item::{item_size, AttributeValue, Item};
///
/// let item: Item = [("name".to_string(), AttributeValue::S("Ada".into()))].into();
/// assert_eq!(item_size(&item), 4 + 3);
/// ```
pub fn item_size(item: &Item) -> usize {
    item.iter()
        .map(|(name, value)| name.len() + value_size(value))
        .sum()
}

/// The size of one attribute value.
pub fn value_size(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::S(s) => s.len(),
        AttributeValue::N(n) => number_size(n),
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::Ss(v) => v.iter().map(String::len).sum(),
        AttributeValue::Ns(v) => v.iter().map(|n| number_size(n)).sum(),
        AttributeValue::Bs(v) => v.iter().map(|b| b.as_ref().len()).sum(),
        AttributeValue::L(v) => 3 + v.iter().map(|e| 1 + value_size(e)).sum::<usize>(),
        AttributeValue::M(m) => {
            3 + m
                .iter()
                .map(|(k, e)| 1 + k.len() + value_size(e))
                .sum::<usize>()
        }
        _ => 0,
    }
}

fn number_size(n: &str) -> usize {
    let mantissa = n.split(['e', 'E']).next().unwrap_or(n);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let significant = digits
        .trim_start_matches('0')
        .trim_end_matches('0')
        .len()
        .max(1);
    significant.div_ceil(2) + 1
}

/// The attributes of `item` by size, largest first.
pub(crate) fn largest_attributes(item: &Item) -> Vec<(&str, usize)> {
    let mut sizes: Vec<(&str, usize)> = item
        .iter()
        .map(|(name, value)| (name.as_str(), name.len() + value_size(value)))
        .collect();
    sizes.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    sizes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_follow_dynamodb_rules() {
        assert_eq!(number_size("0"), 2);
        assert_eq!(number_size("12345"), 4);
        assert_eq!(number_size("-1000"), 2);
        assert_eq!(number_size("1.5E+10"), 2);
        let map = AttributeValue::M([("a".to_string(), AttributeValue::S("xy".into()))].into());
        assert_eq!(value_size(&map), 3 + 1 + 1 + 2);
        let list = AttributeValue::L(vec![AttributeValue::Bool(true), AttributeValue::Null(true)]);
        assert_eq!(value_size(&list), 3 + 2 + 2);
    }
}
