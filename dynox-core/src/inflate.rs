//! Overflow values read back: an item read from DynamoDB gets the values of its
//! `#[s3(overflow)]` fields that live in S3 put back before it decodes.

use crate::error::{Error, Result};
use crate::item::Item;
use crate::model::{KeyAttribute, Model, RangeKey};
use crate::{Client, Key};

/// The item's key as error messages show it (empty if it cannot be read).
pub(crate) fn key_text<M: Model>(item: &Item) -> String {
    let hash = item
        .get(M::SCHEMA.hash.name)
        .and_then(|v| M::HashKey::from_key_attribute(v.clone()).ok());
    let range =
        M::RangeKey::from_range_attribute(M::SCHEMA.range.and_then(|r| item.get(r.name)).cloned());
    match (hash, range) {
        (Some(hash), Ok(range)) => Key::<M>::new(hash, range).to_string(),
        _ => String::new(),
    }
}

/// Puts back, in an item of `M` just read from `table`, the values of its overflow fields that
/// live in S3 (`#[s3(overflow)]`), so it decodes as if they were inline. Free for models
/// without overflow fields.
pub(crate) async fn inflate<M: Model>(client: &Client, table: &str, item: &mut Item) -> Result<()> {
    use crate::files::FileStore;
    if !M::Files::OVERFLOW {
        return Ok(());
    }
    M::Files::inflate(client, item)
        .await
        .map_err(|failure| Error::File {
            table: table.to_owned(),
            key: key_text::<M>(item),
            field: failure.field,
            source: failure.source,
        })
}

/// How many items of a page [`inflate_all`] reads values for at once.
const INFLATE_CONCURRENCY: usize = 16;

/// [`inflate`] for every item of a page, [`INFLATE_CONCURRENCY`] at a time.
pub(crate) async fn inflate_all<M: Model>(
    client: &Client,
    table: &str,
    items: &mut [Item],
) -> Result<()> {
    use crate::files::FileStore;
    if !M::Files::OVERFLOW {
        return Ok(());
    }
    for chunk in items.chunks_mut(INFLATE_CONCURRENCY) {
        futures::future::try_join_all(
            chunk
                .iter_mut()
                .map(|item| inflate::<M>(client, table, item)),
        )
        .await?;
    }
    Ok(())
}
