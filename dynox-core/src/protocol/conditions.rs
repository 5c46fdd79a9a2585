//! The conditions a write is sent with: the stored item's file attributes (and version) are
//! the expected ones, joined with the caller's own condition; and what a failed condition
//! means for the caller.

use aws_sdk_dynamodb::types::AttributeValue;

use crate::error::{Error, InvalidRequestKind, Result};
use crate::expr::{Condition, Placeholders};
use crate::files::{reference_path, FileStore};
use crate::item::Item;
use crate::model::Model;

/// The condition of a put: the item is new (`create`), or its file attributes are the ones
/// `current` holds, and it is at `version`.
pub(crate) fn put_condition<M: Model>(
    p: &mut Placeholders,
    create: bool,
    current: Option<&Item>,
    version: u64,
) -> Option<String> {
    let mut parts = Vec::new();
    let hash = M::SCHEMA.hash.name;
    if create || (M::Files::ENABLED && current.is_none()) {
        parts.push(format!("attribute_not_exists({})", p.name(hash)));
    } else {
        if let Some(entity) = M::ENTITY {
            // Never overwrite an item of another entity type sharing the table.
            parts.push(format!(
                "(attribute_not_exists({}) OR {} = {})",
                p.name(hash),
                p.name(entity.attribute),
                p.value(entity.value())
            ));
        }
        if let Some(current) = current {
            parts.extend(files_unchanged::<M>(p, current, None));
        }
    }
    match M::VERSION {
        // `create` already requires that there is no item at all.
        _ if create => {}
        Some(name) if version == 0 => {
            parts.push(format!("attribute_not_exists({})", p.name(name)));
        }
        Some(_) => parts.extend(version_is::<M>(p, version)),
        None => {}
    }
    (!parts.is_empty()).then(|| parts.join(" AND "))
}

/// The condition that a versioned model's item is at `version` (none for other models).
pub(crate) fn version_is<M: Model>(p: &mut Placeholders, version: u64) -> Option<String> {
    let name = M::VERSION?;
    let n = p.name(name);
    Some(format!(
        "{n} = {}",
        p.value(AttributeValue::N(version.to_string()))
    ))
}

/// Conditions that the item's file attributes (all of them, or only `fields`) are still
/// those of `current`.
pub(crate) fn files_unchanged<M: Model>(
    p: &mut Placeholders,
    current: &Item,
    fields: Option<&[&str]>,
) -> Vec<String> {
    M::Files::attribute_names()
        .into_iter()
        .filter(|name| fields.is_none_or(|fields| fields.contains(name)))
        .map(|name| {
            let n = p.name(name);
            match current.get(name) {
                // For an overflow field, `current` holds only its reference (`{"__dynox_s3":
                // ..}`, the whole attribute when the value is in the store).
                Some(value) => format!("{n} = {}", p.value(value.clone())),
                // An overflow field without a reference holds its value inline, if any.
                None if M::Files::overflow(name) => format!(
                    "attribute_not_exists({})",
                    reference_path::<M, M::Files>(p, name)
                ),
                None => format!("attribute_not_exists({n})"),
            }
        })
        .collect()
}

/// dynox's own condition and the caller's, joined by `AND`.
pub(crate) fn with_user_condition<M>(
    p: &mut Placeholders,
    own: Option<String>,
    user: Option<&Condition<M>>,
    table: &str,
) -> Result<Option<String>> {
    let Some(user) = user else { return Ok(own) };
    let user = user
        .render(p)
        .map_err(|(path, error)| Error::InvalidRequest {
            kind: InvalidRequestKind::Expression,
            reason: format!("condition on `{path}` of table `{table}`: {error}"),
        })?;
    Ok(Some(match own {
        Some(own) => format!("{own} AND {user}"),
        None => user,
    }))
}

/// A failed condition: a [`Error::VersionConflict`] for versioned models.
pub(crate) fn conflict<M: Model>(table: &str, key: &str, version: u64) -> Error {
    if M::VERSION.is_some() {
        Error::VersionConflict {
            table: table.to_owned(),
            key: key.to_owned(),
            expected: version,
        }
    } else {
        Error::ConditionFailed {
            table: table.to_owned(),
            key: key.to_owned(),
            source: None,
        }
    }
}
