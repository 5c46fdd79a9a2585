//! Fields of any serde type, converted with `serde_dynamo`.

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{AttributeError, AttributeValue};

/// Serializes a value in serde_dynamo's encoding, with dynox's own serializer.
/// `None` (or any value that serializes to null) is stored as an absent attribute; NaN,
/// infinities and numbers outside DynamoDB's range anywhere inside are rejected, and so are
/// empty map keys.
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
    Ok(match super::serializer::to_attribute_value(value)? {
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
