//! The item and field a direct upload is for: which file fields may take one, the item's
//! key as object keys and metadata see it, and whether the item already references an
//! object.

use dynox_core::{Client, Key};
use sha2::{Digest, Sha256};

use crate::error::S3Error;
use crate::keys::{self, KeyParts};
use crate::object::StoredObject;
use crate::store::{key_text, S3Field, S3Model};

/// The file field `field` of `M`, if it can take a direct upload.
pub(super) fn direct_field<M: S3Model>(field: &str) -> Result<&'static S3Field<M>, S3Error> {
    let Some(spec) = M::S3_FIELDS.iter().find(|f| f.name == field) else {
        return Err(S3Error::InvalidKey {
            field: "",
            reason: format!(
                "`{field}` is not a file field of `{}` (file fields: {})",
                M::TABLE,
                M::S3_FIELDS
                    .iter()
                    .map(|f| f.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    };
    if spec.shared {
        return Err(S3Error::InvalidKey {
            field: spec.name,
            reason: "a shared field's key is its content's SHA-256, which is not known before a direct upload: save the file through the item instead".to_owned(),
        });
    }
    if spec.overflow {
        return Err(S3Error::InvalidKey {
            field: spec.name,
            reason: "an overflow field holds an ordinary value that dynox moves to S3 itself; it has no file to upload".to_owned(),
        });
    }
    Ok(spec)
}

/// The item a direct upload is for: its key as an item, its key values as text (for object
/// keys) and its id (for [`ITEM_METADATA`](super::ITEM_METADATA)).
pub(super) struct ItemKey {
    pub(super) table: String,
    pub(super) item: dynox_core::item::Item,
    hash: String,
    range: Option<String>,
    pub(super) id: String,
}

impl ItemKey {
    pub(super) fn of<M: S3Model>(
        client: &Client,
        key: &Key<M>,
        spec: &S3Field<M>,
    ) -> Result<Self, S3Error> {
        let item = key.to_item().map_err(|e| S3Error::InvalidKey {
            field: spec.name,
            reason: format!("key field `{}`: {}", e.field, e.error),
        })?;
        let hash = key_text(item.get(M::SCHEMA.hash.name));
        let range = M::SCHEMA.range.map(|r| key_text(item.get(r.name)));
        let table = client.table_name::<M>();
        // Each part length-prefixed, so no two keys give the same input.
        let mut digest = Sha256::new();
        for part in [Some(table.as_str()), Some(hash.as_str()), range.as_deref()]
            .into_iter()
            .flatten()
        {
            digest.update((part.len() as u64).to_be_bytes());
            digest.update(part.as_bytes());
        }
        let id = digest
            .finalize()
            .iter()
            .take(16)
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(Self {
            table,
            item,
            hash,
            range,
            id,
        })
    }

    pub(super) fn object_key<M: S3Model>(
        &self,
        spec: &S3Field<M>,
        upload: &str,
        file_name: &str,
    ) -> Result<String, S3Error> {
        keys::object_key(
            spec.key_template,
            &KeyParts {
                prefix: spec.prefix,
                table: M::TABLE,
                field: spec.name,
                hash: &self.hash,
                range: self.range.as_deref(),
                upload,
                file: file_name,
                sha256: None,
            },
        )
    }

    /// Whether `key` is this item's key for `file_name` in `spec`'s field with some upload
    /// id (16 lowercase hex digits, as [`keys::new_upload_id`] makes them).
    pub(super) fn is_upload_key<M: S3Model>(
        &self,
        spec: &S3Field<M>,
        file_name: &str,
        key: &str,
    ) -> Result<bool, S3Error> {
        // The upload id is put in the key as is: a NUL there marks where it goes.
        let layout = self.object_key(spec, "\0", file_name)?;
        Ok(match layout.split_once('\0') {
            None => layout == key,
            Some((before, after)) => key
                .strip_prefix(before)
                .and_then(|rest| rest.strip_suffix(after))
                .is_some_and(|id| {
                    id.len() == 16 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
                }),
        })
    }

    /// Whether the stored item already references `object_key` in one of its file fields.
    pub(super) async fn references<M: S3Model>(
        &self,
        client: &Client,
        bucket: &str,
        object_key: &str,
    ) -> Result<bool, S3Error> {
        let read = client
            .dynamodb()
            .get_item()
            .table_name(&self.table)
            .set_key(Some(self.item.clone().into_iter().collect()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| S3Error::ItemRead {
                table: self.table.clone(),
                source: Box::new(e),
            })?;
        let item = read.item.unwrap_or_default();
        Ok(M::S3_FIELDS.iter().filter(|f| !f.overflow).any(|f| {
            item.get(f.name)
                .and_then(|value| StoredObject::from_attribute_value(value).ok())
                .is_some_and(|stored| stored.bucket == bucket && stored.key == object_key)
        }))
    }
}
