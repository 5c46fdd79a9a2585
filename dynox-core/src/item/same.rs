//! Whether two items hold the same values as DynamoDB compares them: numbers by value (the
//! service may store `1.50` as `1.5`), sets regardless of order.

use std::collections::HashSet;

use aws_sdk_dynamodb::types::AttributeValue;

use super::Item;

/// Whether `a` and `b` have the same attributes with the same values.
pub(crate) fn same_item(a: &Item, b: &Item) -> bool {
    a.len() == b.len()
        && a.iter()
            .all(|(name, value)| b.get(name).is_some_and(|other| same_value(value, other)))
}

/// Whether `a` and `b` are the same value as DynamoDB compares them.
pub(crate) fn same_value(a: &AttributeValue, b: &AttributeValue) -> bool {
    use AttributeValue as V;
    match (a, b) {
        (V::N(x), V::N(y)) => same_number(x, y),
        (V::Ns(x), V::Ns(y)) => {
            let canon = |v: &Vec<String>| v.iter().map(|n| canonical(n)).collect::<HashSet<_>>();
            x.len() == y.len() && canon(x) == canon(y)
        }
        (V::Ss(x), V::Ss(y)) => {
            x.len() == y.len() && x.iter().collect::<HashSet<_>>() == y.iter().collect()
        }
        (V::Bs(x), V::Bs(y)) => {
            x.len() == y.len()
                && x.iter().map(|b| b.as_ref()).collect::<HashSet<_>>()
                    == y.iter().map(|b| b.as_ref()).collect()
        }
        (V::L(x), V::L(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_value(a, b)),
        (V::M(x), V::M(y)) => same_item(x, y),
        _ => a == b,
    }
}

fn same_number(a: &str, b: &str) -> bool {
    a == b || canonical(a) == canonical(b)
}

/// A number as (negative, significant digits, exponent of the last digit); text that is not a
/// number stays as it is.
fn canonical(n: &str) -> (bool, String, i64) {
    let raw = (false, n.to_owned(), i64::MIN);
    let (negative, rest) = match n.as_bytes().first() {
        Some(b'-') => (true, &n[1..]),
        Some(b'+') => (false, &n[1..]),
        _ => (false, n),
    };
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(i) => match rest[i + 1..].parse::<i64>() {
            Ok(e) => (&rest[..i], e),
            Err(_) => return raw,
        },
        None => (rest, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if !(int.bytes().chain(frac.bytes()).all(|c| c.is_ascii_digit())) || int.len() + frac.len() == 0
    {
        return raw;
    }
    let digits = format!("{int}{frac}");
    let mut exponent = exponent - frac.len() as i64;
    let trimmed = digits.trim_start_matches('0');
    let without_trailing = trimmed.trim_end_matches('0');
    exponent += (trimmed.len() - without_trailing.len()) as i64;
    if without_trailing.is_empty() {
        return (false, "0".into(), 0);
    }
    (negative, without_trailing.to_owned(), exponent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_compare_by_value() {
        for (a, b) in [
            ("1.50", "1.5"),
            ("100", "1E2"),
            ("0.0", "-0"),
            ("+7", "7"),
            ("0012.300", "12.3"),
        ] {
            assert!(same_number(a, b), "{a} = {b}");
        }
        for (a, b) in [("1.5", "15"), ("-1", "1"), ("1e", "1")] {
            assert!(!same_number(a, b), "{a} != {b}");
        }
    }

    #[test]
    fn sets_ignore_order_and_maps_compare_deeply() {
        let a: Item = [
            (
                "s".to_owned(),
                AttributeValue::Ss(vec!["a".into(), "b".into()]),
            ),
            (
                "m".to_owned(),
                AttributeValue::M([("n".to_owned(), AttributeValue::N("2.0".into()))].into()),
            ),
        ]
        .into();
        let b: Item = [
            (
                "s".to_owned(),
                AttributeValue::Ss(vec!["b".into(), "a".into()]),
            ),
            (
                "m".to_owned(),
                AttributeValue::M([("n".to_owned(), AttributeValue::N("2".into()))].into()),
            ),
        ]
        .into();
        assert!(same_item(&a, &b));
        let mut c = b.clone();
        c.insert("extra".into(), AttributeValue::Bool(true));
        assert!(!same_item(&a, &c));
    }
}
