//! Strongly consistent reads of the stored item, for planning (its file references) and for
//! judging a write whose answer was lost (did it commit?).

use std::collections::HashMap;

use crate::error::Result;
use crate::expr::Placeholders;
use crate::files::{reference_path, FileStore};
use crate::item::Item;
use crate::model::Model;
use crate::request::{sdk_error, span, Traced};
use crate::Client;

/// The item's file attributes (and key and version), read with strong consistency; `None`
/// if absent. An overflow field's projection is only its reference, never its inline value.
pub(crate) async fn read_files<M: Model>(
    client: &Client,
    table: &str,
    key_item: &Item,
    key: &str,
) -> Result<Option<Item>> {
    let mut p = Placeholders::default();
    let mut projection: Vec<String> = vec![p.name(M::SCHEMA.hash.name)];
    projection.extend(
        M::Files::attribute_names()
            .into_iter()
            .map(|n| reference_path::<M, M::Files>(&mut p, n)),
    );
    if let Some(version) = M::VERSION {
        projection.push(p.name(version));
    }
    let (names, _) = p.into_maps();
    get_consistent(
        client,
        table,
        key_item,
        key,
        Some((projection.join(", "), names)),
    )
    .await
}

/// The whole item, read with strong consistency; `None` if absent.
pub(crate) async fn read_item(
    client: &Client,
    table: &str,
    key_item: &Item,
    key: &str,
) -> Result<Option<Item>> {
    get_consistent(client, table, key_item, key, None).await
}

async fn get_consistent(
    client: &Client,
    table: &str,
    key_item: &Item,
    key: &str,
    projection: Option<(String, Option<HashMap<String, String>>)>,
) -> Result<Option<Item>> {
    let (projection, names) = projection.unzip();
    let output = client
        .dynamodb()
        .get_item()
        .table_name(table)
        .set_key(Some(key_item.clone()))
        .consistent_read(true)
        .set_projection_expression(projection)
        .set_expression_attribute_names(names.flatten())
        .set_return_consumed_capacity(client.capacity())
        .send()
        .traced(span("GetItem", table), client)
        .await
        .map_err(|e| sdk_error(e, "GetItem", table, || key.to_owned()))?;
    Ok(output.item.filter(|i| !i.is_empty()))
}
