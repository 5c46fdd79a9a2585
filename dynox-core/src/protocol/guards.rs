//! Checks of an item before it is sent: refusals dynox makes itself, so that no request goes
//! out for an item the service would refuse or that would read back wrong.

use aws_sdk_dynamodb::types::AttributeValue;

use crate::error::Error;
use crate::files::{FileStore, OVERFLOW_KEY};
use crate::item::{item_size, largest_attributes, AttributeError, Item, MAX_ITEM_SIZE};
use crate::model::Model;

/// An error if an overflow field's inline value is a map with the key that marks a value
/// moved to the store: read back, it would be taken for a reference.
pub(crate) fn overflow_lookalike<M: Model>(table: &str, key: &str, item: &Item) -> Option<Error> {
    let field = M::Files::attribute_names().into_iter().find(|name| {
        M::Files::overflow(name)
            && matches!(item.get(*name), Some(AttributeValue::M(m)) if m.contains_key(OVERFLOW_KEY))
    })?;
    Some(Error::InvalidField {
        table: table.to_owned(),
        key: key.to_owned(),
        field,
        source: AttributeError::InvalidFileReference {
            reason: format!(
                "an overflow field's value may not be a map with the key `{OVERFLOW_KEY}`"
            ),
        },
    })
}

/// An [`Error::ItemTooLarge`] if `item` exceeds DynamoDB's 400 KB, naming its largest
/// attributes, so no request is sent for an item the service would refuse.
pub(crate) fn too_large(table: &str, key: &str, item: &Item) -> Option<Error> {
    let size = item_size(item);
    if size <= MAX_ITEM_SIZE {
        return None;
    }
    let largest: Vec<String> = largest_attributes(item)
        .into_iter()
        .take(3)
        .map(|(name, bytes)| format!("`{name}` ({bytes} bytes)"))
        .collect();
    Some(Error::ItemTooLarge {
        table: table.to_owned(),
        key: key.to_owned(),
        message: format!(
            "{size} bytes, over DynamoDB's {MAX_ITEM_SIZE} byte limit; largest attributes: {}; keep large values in an #[s3] file field",
            largest.join(", ")
        ),
    })
}
