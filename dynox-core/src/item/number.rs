//! Exact conversion between Rust numbers and DynamoDB's decimal `N` strings.
//!
//! DynamoDB numbers have up to 38 significant digits and a magnitude between 1E-130 and
//! 9.9999999999999999999999999999999999999E+125. Every integer up to 64 bits fits; 128-bit
//! integers fit when they have at most 38 significant digits; `f64` values fit when their
//! magnitude is inside DynamoDB's range. Anything else is an [`AttributeError`], never a
//! silently rounded value.

use super::AttributeError;

/// An integer type, formatted and parsed exactly.
pub(crate) trait Integer:
    Copy + std::fmt::Display + std::str::FromStr + TryFrom<i128> + TryFrom<u128>
{
    /// Whether every value has at most 38 digits (all types up to 64 bits), so formatting
    /// needs no range check.
    const ALWAYS_FITS: bool;
}

macro_rules! integer {
    ($($t:ty),*) => {$(
        impl Integer for $t {
            const ALWAYS_FITS: bool = <$t>::BITS <= 64;
        }
    )*};
}
integer!(i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize);

/// Formats an integer (any width) as an `N` string, checking DynamoDB's 38-digit limit.
pub(crate) fn format_integer<T: Integer>(value: T) -> Result<String, AttributeError> {
    let text = value.to_string();
    if T::ALWAYS_FITS || significant_digits(&text) <= 38 {
        Ok(text)
    } else {
        Err(AttributeError::NumberOutOfRange { value: text })
    }
}

/// The significant digits of an integer's decimal text (sign and trailing zeros aside).
fn significant_digits(text: &str) -> usize {
    text.trim_start_matches('-').trim_end_matches('0').len()
}

/// Checks a float for DynamoDB (finite, inside its magnitude range); `text` gives the
/// shortest decimal that parses back to the same value, made only when it is needed.
pub(crate) fn format_float(
    value: f64,
    text: impl Fn() -> String,
) -> Result<String, AttributeError> {
    check_float(value, &text)?;
    Ok(text())
}

fn check_float(value: f64, text: &dyn Fn() -> String) -> Result<(), AttributeError> {
    if !value.is_finite() {
        return Err(AttributeError::NotFinite { value: text() });
    }
    let magnitude = value.abs();
    if magnitude != 0.0 && !(1e-130..1e126).contains(&magnitude) {
        return Err(AttributeError::NumberOutOfRange { value: text() });
    }
    Ok(())
}

/// A parsed decimal: sign, significant digits (no leading zeros) and the power of ten they
/// are scaled by.
struct Decimal<'a> {
    negative: bool,
    int_digits: &'a str,
    frac_digits: &'a str,
    exponent: i64,
}

fn split_decimal(text: &str) -> Option<Decimal<'_>> {
    let text = text.trim();
    let (negative, rest) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(at) => (&rest[..at], rest[at + 1..].parse::<i64>().ok()?),
        None => (rest, 0),
    };
    let (int_digits, frac_digits) = match mantissa.split_once('.') {
        Some((i, f)) => (i, f),
        None => (mantissa, ""),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (int_digits.is_empty() && frac_digits.is_empty())
        || !all_digits(int_digits)
        || !all_digits(frac_digits)
    {
        return None;
    }
    Some(Decimal {
        negative,
        int_digits,
        frac_digits,
        exponent,
    })
}

/// Parses an `N` string into an integer type exactly: `"1E+2"` is 100, `"1.5"` is an error.
pub(crate) fn parse_integer<T: Integer>(text: &str) -> Result<T, AttributeError> {
    let invalid = || AttributeError::InvalidNumber {
        value: text.to_owned(),
        target: std::any::type_name::<T>(),
    };
    // Fast path: a plain integer of the type, which is what DynamoDB returns for integers it
    // stored.
    if let Ok(v) = text.parse::<T>() {
        return Ok(v);
    }
    if let Ok(v) = text.parse::<i128>() {
        return T::try_from(v).map_err(|_| invalid());
    }
    let d = split_decimal(text).ok_or_else(invalid)?;
    let digits: String = [d.int_digits, d.frac_digits].concat();
    let scale = d.exponent - d.frac_digits.len() as i64;
    let digits = digits.trim_start_matches('0');
    let (digits, scale) = if scale < 0 {
        // The part below the decimal point must be all zeros.
        let cut = (-scale) as usize;
        if cut > digits.len() {
            if digits.bytes().any(|b| b != b'0') {
                return Err(invalid());
            }
            ("", 0)
        } else {
            let (keep, drop) = digits.split_at(digits.len() - cut);
            if drop.bytes().any(|b| b != b'0') {
                return Err(invalid());
            }
            (keep, 0)
        }
    } else {
        (digits, scale)
    };
    let mut magnitude: u128 = 0;
    for b in digits.bytes() {
        magnitude = magnitude
            .checked_mul(10)
            .and_then(|m| m.checked_add(u128::from(b - b'0')))
            .ok_or_else(invalid)?;
    }
    for _ in 0..scale {
        if magnitude == 0 {
            break;
        }
        magnitude = magnitude.checked_mul(10).ok_or_else(invalid)?;
    }
    if d.negative && magnitude != 0 {
        let signed = if magnitude == 1u128 << 127 {
            i128::MIN
        } else {
            -(i128::try_from(magnitude).map_err(|_| invalid())?)
        };
        T::try_from(signed).map_err(|_| invalid())
    } else {
        T::try_from(magnitude).map_err(|_| invalid())
    }
}

/// Parses an `N` string into a float. Rust's float syntax is DynamoDB's decimal syntax plus
/// `inf` and `NaN`, which no stored number is: those are refused.
pub(crate) fn parse_float<T: std::str::FromStr + Into<f64> + Copy>(
    text: &str,
) -> Result<T, AttributeError> {
    text.trim()
        .parse::<T>()
        .ok()
        .filter(|v| (*v).into().is_finite())
        .ok_or_else(|| AttributeError::InvalidNumber {
            value: text.to_owned(),
            target: std::any::type_name::<T>(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_parse_from_every_decimal_form() {
        assert_eq!(parse_integer::<i64>("100"), Ok(100));
        assert_eq!(parse_integer::<i64>("1E+2"), Ok(100));
        assert_eq!(parse_integer::<i64>("1.0e2"), Ok(100));
        assert_eq!(parse_integer::<i64>("-12.30E1"), Ok(-123));
        assert_eq!(parse_integer::<u8>("0.000"), Ok(0));
        assert_eq!(parse_integer::<i128>(&i128::MIN.to_string()), Ok(i128::MIN));
        assert_eq!(parse_integer::<u128>(&u128::MAX.to_string()), Ok(u128::MAX));
        assert_eq!(
            parse_integer::<i128>("-170141183460469231731687303715884105728"),
            Ok(i128::MIN)
        );
    }

    #[test]
    fn integers_reject_fractions_overflow_and_junk() {
        for bad in [
            "1.5", "256", "-1", "1e400", "", "-", "1e", "abc", "1..2", "0x10",
        ] {
            assert!(parse_integer::<u8>(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn integers_beyond_38_digits_are_rejected() {
        assert!(format_integer(u128::MAX).is_err());
        assert!(format_integer(i64::MIN).is_ok());
        assert!(format_integer(10u128.pow(38)).is_ok());
    }

    #[test]
    fn floats_outside_dynamodb_range_are_rejected() {
        assert!(format_float(f64::NAN, || "NaN".to_string()).is_err());
        assert!(format_float(f64::INFINITY, || "inf".to_string()).is_err());
        assert!(format_float(1e300, || "1e300".to_string()).is_err());
        assert!(format_float(1e-200, || "1e-200".to_string()).is_err());
        assert!(format_float(0.0, || "0".to_string()).is_ok());
        assert!(format_float(-f64::MIN_POSITIVE * 1e200, || "x".to_string()).is_ok());
    }

    #[test]
    fn floats_parse_decimal_forms_and_refuse_inf_and_nan() {
        assert_eq!(parse_float::<f64>("1.5E+2"), Ok(150.0));
        assert_eq!(parse_float::<f64>("-0.25"), Ok(-0.25));
        assert!(parse_float::<f64>("inf").is_err());
        assert!(parse_float::<f64>("NaN").is_err());
        assert!(parse_float::<f32>("1e300").is_err());
        assert!(parse_float::<f64>("1,5").is_err());
    }
}
