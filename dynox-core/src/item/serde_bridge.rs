//! Fields of any serde type, converted with `serde_dynamo`.

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{AttributeError, AttributeValue};

/// Serializes a value with serde_dynamo. `None` (or any value that serializes to null) is
/// stored as an absent attribute; NaN and infinities anywhere inside are rejected.
///
/// ```
/// use dynox_core::item::{to_serde_attribute, AttributeValue};
///
/// #[derive(serde::Serialize)]
/// struct Address { city: String }
///
/// let value = to_serde_attribute(&Address { city: "Oslo".into() }).unwrap().unwrap();
/// assert!(matches!(value, AttributeValue::M(_)));
/// assert_eq!(to_serde_attribute(&Option::<Address>::None).unwrap(), None);
/// ```
pub fn to_serde_attribute<T: Serialize + ?Sized>(
    value: &T,
) -> Result<Option<AttributeValue>, AttributeError> {
    let value: AttributeValue = serde_dynamo::to_attribute_value(value)
        .map_err(|e| AttributeError::Serde(e.to_string()))?;
    check_storable(&value)?;
    Ok(match value {
        AttributeValue::Null(_) => None,
        other => Some(other),
    })
}

/// Deserializes a value with serde_dynamo. An absent attribute reads as null, so `Option`
/// fields become `None` and required fields report [`AttributeError::Missing`].
pub fn from_serde_attribute<T: DeserializeOwned>(
    value: Option<AttributeValue>,
) -> Result<T, AttributeError> {
    match value {
        Some(v) => {
            serde_dynamo::from_attribute_value(v).map_err(|e| AttributeError::Serde(e.to_string()))
        }
        None => serde_dynamo::from_attribute_value(AttributeValue::Null(true))
            .map_err(|_| AttributeError::Missing),
    }
}

/// Checks what serde_dynamo produced against DynamoDB's rules, so a bad value is a typed error
/// naming the field instead of a ValidationException from the service: numbers must be finite
/// (serde_dynamo turns NaN into `"NaN"`) and inside DynamoDB's range, and map keys must not be
/// empty.
fn check_storable(value: &AttributeValue) -> Result<(), AttributeError> {
    match value {
        AttributeValue::N(n) => super::number::check_number(n),
        AttributeValue::Ns(ns) => ns.iter().try_for_each(|n| super::number::check_number(n)),
        AttributeValue::L(list) => list.iter().try_for_each(check_storable),
        AttributeValue::M(map) => map.iter().try_for_each(|(key, v)| {
            if key.is_empty() {
                return Err(AttributeError::EmptyMapKey);
            }
            check_storable(v)
        }),
        _ => Ok(()),
    }
}
