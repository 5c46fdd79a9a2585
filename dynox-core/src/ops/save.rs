//! `save` (PutItem) and `create` (PutItem unless the key exists): the write path of the
//! two-store protocol (see [`crate::files`]).
//!
//! For a model with file fields, a save:
//! 1. reads the item's current file references (consistent GetItem, file attributes only);
//! 2. uploads the pending files under fresh keys;
//! 3. writes the item on condition that its file attributes (and version) are still what
//!    step 1 read, so a concurrent writer can never have its objects re-referenced or lost;
//! 4. on success, deletes the objects the new item replaced;
//! 5. on failure, reads the item back: if the write did take effect (its response was lost),
//!    it goes on as in 4; otherwise it deletes what step 2 uploaded.
//!
//! Models without file fields skip steps 1, 2, 4 and 5.

use std::future::{Future, IntoFuture};
use std::pin::Pin;

use super::Traced;
use aws_sdk_dynamodb::types::AttributeValue;

use crate::error::{Error, Result};
use crate::expr::{Condition, Placeholders};
use crate::files::{self, FileRef, FileStore};
use crate::item::Item;
use crate::model::Model;
use crate::Client;

type Refs<M> = Vec<FileRef<<<M as Model>::Files as FileStore<M>>::Ref>>;

/// A PutItem of one item: [`Client::save`] or [`Client::create`]. Await it to send.
#[must_use = "a save does nothing until awaited"]
pub struct Save<'a, M: Model> {
    client: &'a Client,
    item: &'a mut M,
    create: bool,
    condition: Option<Condition<M>>,
}

impl<'a, M: Model> Save<'a, M> {
    pub(crate) fn new(client: &'a Client, item: &'a mut M, create: bool) -> Self {
        Self {
            client,
            item,
            create,
            condition: None,
        }
    }

    /// Write only if `condition` holds for the stored item (in addition to the conditions
    /// dynox adds itself); otherwise fail with [`Error::ConditionFailed`].
    pub fn condition(mut self, condition: Condition<M>) -> Self {
        self.condition = Some(condition);
        self
    }
}

impl<'a, M: Model> IntoFuture for Save<'a, M> {
    type Output = Result<()>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<()>> + Send + 'a>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(put(self.client, self.item, self.create, self.condition))
    }
}

async fn put<M: Model>(
    client: &Client,
    item: &mut M,
    create: bool,
    user: Option<Condition<M>>,
) -> Result<()> {
    let plan = plan_put(client, item, create, user.as_ref()).await?;
    let written = client
        .dynamodb()
        .put_item()
        .table_name(&plan.table)
        .set_item(Some(plan.attributes.clone()))
        .set_condition_expression(plan.condition.clone())
        .set_expression_attribute_names(plan.names.clone())
        .set_expression_attribute_values(plan.values.clone())
        .set_return_consumed_capacity(client.capacity())
        .send()
        .traced(super::span("PutItem", &plan.table), client)
        .await
        .map_err(|e| {
            plan.write_error(super::sdk_error(e, "PutItem", &plan.table, || {
                plan.key.clone()
            }))
        });
    let outcome = match written {
        Ok(_) => Outcome::Committed,
        Err(error) => plan.judge(client, error).await,
    };
    plan.finish(client, item, outcome).await
}

/// What became of a write whose request may have failed.
pub(crate) enum Outcome {
    /// It took effect.
    Committed,
    /// It did not.
    NotCommitted(Error),
    /// It cannot be known (the read-back failed too).
    Unknown(Error),
}

/// A put of one item, ready to send: its files are uploaded, its condition built.
pub(crate) struct PutPlan<M: Model> {
    pub(crate) table: String,
    pub(crate) key: String,
    key_item: Item,
    create: bool,
    version: u64,
    current_refs: Refs<M>,
    uploaded: Refs<M>,
    claimed: Refs<M>,
    new_refs: Refs<M>,
    /// The caller added a condition: a failed condition is theirs, not a version conflict.
    user_condition: bool,
    pub(crate) attributes: Item,
    pub(crate) condition: Option<String>,
    pub(crate) names: Option<std::collections::HashMap<String, String>>,
    pub(crate) values: Option<std::collections::HashMap<String, AttributeValue>>,
}

/// Steps 1 and 2: reads the file references the write replaces, uploads the pending files and
/// builds the item and its condition. On error, nothing it uploaded is left.
pub(crate) async fn plan_put<M: Model>(
    client: &Client,
    item: &mut M,
    create: bool,
    user: Option<&Condition<M>>,
) -> Result<PutPlan<M>> {
    let table = client.table_name::<M>();
    let key = item.key();
    let key_text = key.to_string();
    let key_item = key
        .to_item()
        .map_err(|e| super::field_error(&table, key_text.clone(), e))?;
    let version = item.version();

    let current = if M::Files::ENABLED && !create {
        read_files::<M>(client, &table, &key_item, &key_text).await?
    } else {
        None
    };
    let Some(next_version) = version.checked_add(1) else {
        return Err(Error::InvalidRequest {
            reason: format!("item {key_text} of table `{table}` is at the largest version"),
        });
    };
    let uploaded = M::Files::upload(client, item).await?;

    // Until the write's fate is known, a failure here removes the uploads and makes the files
    // pending again.
    macro_rules! give_up {
        ($error:expr) => {{
            let error = $error;
            M::Files::settle(item, false);
            return Err(rollback::<M>(client, &table, &key_text, uploaded, error).await);
        }};
    }

    item.stamp(std::time::SystemTime::now());
    let mut attributes = match item.to_item() {
        Ok(attributes) => attributes,
        Err(e) => give_up!(super::field_error(&table, key_text.clone(), e)),
    };
    if let Some(name) = M::VERSION {
        attributes.insert(name.to_owned(), AttributeValue::N(next_version.to_string()));
    }
    if let Some(error) = too_large(&table, &key_text, &attributes) {
        give_up!(error);
    }
    let new_refs = M::Files::references(&attributes);
    let current_refs = current
        .as_ref()
        .map(M::Files::references)
        .unwrap_or_default();
    let mut claimed = M::Files::claimed(item);
    claimed.retain(|c| !current_refs.contains(c));

    // Every file the item is to reference must be one this save uploaded, one attached for
    // it, or one the item already holds: writing back a reference another writer replaced
    // (and deleted), or one copied from another item, would leave an item pointing at an
    // object that is gone or not its own.
    if M::Files::ENABLED {
        let foreign = new_refs
            .iter()
            .find(|n| !uploaded.contains(n) && !claimed.contains(n) && !current_refs.contains(n));
        if let Some(foreign) = foreign {
            give_up!(if create {
                Error::StaleFile {
                    table: table.clone(),
                    key: key_text.clone(),
                    field: foreign.field,
                    object: foreign.object.to_string(),
                }
            } else {
                conflict::<M>(&table, &key_text, version)
            });
        }
    }

    let mut p = Placeholders::default();
    let condition = condition::<M>(&mut p, create, current.as_ref(), version);
    let condition = match with_user_condition(&mut p, condition, user, &table) {
        Ok(condition) => condition,
        Err(error) => give_up!(error),
    };
    let (names, values) = p.into_maps();
    Ok(PutPlan {
        table,
        key: key_text,
        key_item,
        create,
        version,
        current_refs,
        uploaded,
        claimed,
        new_refs,
        user_condition: user.is_some(),
        attributes,
        condition,
        names,
        values,
    })
}

impl<M: Model> PutPlan<M> {
    /// The error of a failed write, in this write's terms.
    pub(crate) fn write_error(&self, error: Error) -> Error {
        match error {
            Error::ConditionFailed { table, key, .. } if self.create => {
                Error::AlreadyExists { table, key }
            }
            error @ Error::ConditionFailed { .. } if self.user_condition => error,
            Error::ConditionFailed { .. } => conflict::<M>(&self.table, &self.key, self.version),
            other => other,
        }
    }

    /// Step 5: whether a write that reported `error` took effect anyway (its response lost).
    /// Only this write can have stored its new object keys; without any, it cannot tell.
    pub(crate) async fn judge(&self, client: &Client, error: Error) -> Outcome {
        match self.committed(client).await {
            Some(true) => Outcome::Committed,
            Some(false) => Outcome::NotCommitted(error),
            None if self.uploaded.is_empty() && self.claimed.is_empty() => {
                Outcome::NotCommitted(error)
            }
            None => Outcome::Unknown(error),
        }
    }

    /// Reads the item back: `Some(true)` if it holds this write's uploads, `Some(false)` if
    /// not, `None` if this write uploaded nothing or the read failed.
    pub(crate) async fn committed(&self, client: &Client) -> Option<bool> {
        if self.uploaded.is_empty() && self.claimed.is_empty() {
            return None;
        }
        let now = read_files::<M>(client, &self.table, &self.key_item, &self.key)
            .await
            .ok()?;
        let now_refs = now.as_ref().map(M::Files::references).unwrap_or_default();
        Some(
            self.uploaded
                .iter()
                .chain(&self.claimed)
                .all(|u| now_refs.contains(u)),
        )
    }

    /// Whether this write stores objects new to the item (whose keys prove it happened).
    pub(crate) fn has_new_files(&self) -> bool {
        !self.uploaded.is_empty() || !self.claimed.is_empty()
    }

    /// After a write that did not happen: deletes what this write uploaded; returns the
    /// objects that could not be deleted.
    pub(crate) async fn abandon(self, client: &Client, item: &mut M) -> Vec<String> {
        M::Files::settle(item, false);
        M::Files::remove(client, self.uploaded)
            .await
            .iter()
            .map(|(r, _)| format!("{}: {}", r.field, r.object))
            .collect()
    }

    /// Steps 4 and 5: after a committed write, sets the new version and deletes the replaced
    /// objects; after a failed one, deletes what this write uploaded.
    pub(crate) async fn finish(
        self,
        client: &Client,
        item: &mut M,
        outcome: Outcome,
    ) -> Result<()> {
        match outcome {
            Outcome::Committed => {
                M::Files::settle(item, true);
                item.set_version(self.version.saturating_add(1));
                let replaced = files::replaced(self.current_refs, &self.new_refs);
                remove_committed::<M>(client, &self.table, &self.key, replaced).await
            }
            Outcome::NotCommitted(error) => {
                M::Files::settle(item, false);
                Err(rollback::<M>(client, &self.table, &self.key, self.uploaded, error).await)
            }
            Outcome::Unknown(error) => {
                M::Files::settle(item, false);
                Err(Error::CleanupFailed {
                    table: self.table,
                    key: self.key,
                    committed: false,
                    objects: self
                        .uploaded
                        .iter()
                        .map(|r| {
                            format!("{}: {} (the write may have committed)", r.field, r.object)
                        })
                        .collect(),
                    source: Box::new(error),
                })
            }
        }
    }
}

/// An [`Error::ItemTooLarge`] if `item` exceeds DynamoDB's 400 KB, naming its largest
/// attributes, so no request is sent for an item the service would refuse.
fn too_large(table: &str, key: &str, item: &Item) -> Option<Error> {
    let size = crate::item::item_size(item);
    if size <= crate::item::MAX_ITEM_SIZE {
        return None;
    }
    let largest: Vec<String> = crate::item::largest_attributes(item)
        .into_iter()
        .take(3)
        .map(|(name, bytes)| format!("`{name}` ({bytes} bytes)"))
        .collect();
    Some(Error::ItemTooLarge {
        table: table.to_owned(),
        key: key.to_owned(),
        message: format!(
            "{size} bytes, over DynamoDB's {} byte limit; largest attributes: {}; keep large values in an #[s3] file field",
            crate::item::MAX_ITEM_SIZE,
            largest.join(", ")
        ),
    })
}

/// The condition of a write: the item is new (`create`), or its file attributes are the ones
/// `current` holds, and it is at `version`.
pub(crate) fn condition<M: Model>(
    p: &mut Placeholders,
    create: bool,
    current: Option<&Item>,
    version: u64,
) -> Option<String> {
    let mut parts = Vec::new();
    let hash = M::SCHEMA.hash.name;
    if create || (M::Files::ENABLED && current.is_none()) {
        parts.push(format!("attribute_not_exists({})", p.name(hash)));
    } else if let Some(current) = current {
        parts.extend(files_unchanged::<M>(p, current));
    }
    match M::VERSION {
        // `create` already requires that there is no item at all.
        _ if create => {}
        Some(name) if version == 0 => {
            parts.push(format!("attribute_not_exists({})", p.name(name)));
        }
        Some(name) => {
            let n = p.name(name);
            parts.push(format!(
                "{n} = {}",
                p.value(AttributeValue::N(version.to_string()))
            ));
        }
        _ => {}
    }
    (!parts.is_empty()).then(|| parts.join(" AND "))
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
            reason: format!("condition on `{path}` of table `{table}`: {error}"),
        })?;
    Ok(Some(match own {
        Some(own) => format!("{own} AND {user}"),
        None => user,
    }))
}

/// Conditions that the item's file attributes are still those of `current`.
pub(crate) fn files_unchanged<M: Model>(p: &mut Placeholders, current: &Item) -> Vec<String> {
    M::Files::attribute_names()
        .into_iter()
        .map(|name| {
            let n = p.name(name);
            match current.get(name) {
                Some(value) => format!("{n} = {}", p.value(value.clone())),
                None => format!("attribute_not_exists({n})"),
            }
        })
        .collect()
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

/// The item's file attributes (and key), read with strong consistency; `None` if absent.
pub(crate) async fn read_files<M: Model>(
    client: &Client,
    table: &str,
    key_item: &Item,
    key: &str,
) -> Result<Option<Item>> {
    let mut p = Placeholders::default();
    let mut projection: Vec<String> = vec![p.name(M::SCHEMA.hash.name)];
    projection.extend(M::Files::attribute_names().into_iter().map(|n| p.name(n)));
    if let Some(version) = M::VERSION {
        projection.push(p.name(version));
    }
    let (names, _) = p.into_maps();
    let output = client
        .dynamodb()
        .get_item()
        .table_name(table)
        .set_key(Some(key_item.clone()))
        .consistent_read(true)
        .projection_expression(projection.join(", "))
        .set_expression_attribute_names(names)
        .set_return_consumed_capacity(client.capacity())
        .send()
        .traced(super::span("GetItem", table), client)
        .await
        .map_err(|e| super::sdk_error(e, "GetItem", table, || key.to_owned()))?;
    Ok(output.item.filter(|i| !i.is_empty()))
}

/// After a failed write: removes what this call uploaded, and returns the error to report.
pub(crate) async fn rollback<M: Model>(
    client: &Client,
    table: &str,
    key: &str,
    uploaded: Refs<M>,
    error: Error,
) -> Error {
    if uploaded.is_empty() {
        return error;
    }
    let left = M::Files::remove(client, uploaded).await;
    if left.is_empty() {
        return error;
    }
    Error::CleanupFailed {
        table: table.to_owned(),
        key: key.to_owned(),
        committed: false,
        objects: left
            .iter()
            .map(|(r, _)| format!("{}: {}", r.field, r.object))
            .collect(),
        source: Box::new(error),
    }
}

/// After a committed write or delete: removes the objects no longer referenced.
pub(crate) async fn remove_committed<M: Model>(
    client: &Client,
    table: &str,
    key: &str,
    refs: Refs<M>,
) -> Result<()> {
    if refs.is_empty() {
        return Ok(());
    }
    let mut left = M::Files::remove(client, refs).await;
    if left.is_empty() {
        return Ok(());
    }
    let objects = left
        .iter()
        .map(|(r, _)| format!("{}: {}", r.field, r.object))
        .collect();
    let (_, source) = left.swap_remove(0);
    Err(Error::CleanupFailed {
        table: table.to_owned(),
        key: key.to_owned(),
        committed: true,
        objects,
        source,
    })
}
