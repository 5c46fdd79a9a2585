//! `update` (UpdateItem): typed changes to some attributes of an item, optionally returning
//! the updated item. File fields are never touched by an update (their objects are managed by
//! saves), except that removing one keeps its object, as clearing it in a save does. The
//! write loop, the judging of a failure and the kept marks are the protocol's
//! (`protocol/update.rs`); this module builds and sends the UpdateItem.

use std::future::{Future, IntoFuture};
use std::pin::Pin;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};

use crate::error::{Error, InvalidRequestKind, Result};
use crate::expr::{render_update, Condition, Placeholders, UpdateAction};
use crate::model::{Key, Model};
use crate::Client;

use crate::files::FileStore;
use crate::item::Item;
use crate::protocol::UpdatePlan;
use crate::protocol::{self, send_counted, with_user_condition, Attempts, Failure, Request};

/// An UpdateItem: [`Client::update`], or `Model::update(&client, ...)` from the derive. Add
/// changes with [`apply`](Self::apply), then await it.
///
/// ```no_run
/// # use dynox_core::{Client, DynamoModel};
/// #[derive(DynamoModel)]
/// #[dynamo(table = "orders")]
/// struct Order {
///     #[dynamo(hash_key)] customer: String,
///     #[dynamo(range_key)] order_id: u64,
///     status: String,
///     total_cents: i64,
/// }
/// # async fn demo(client: &Client) -> dynox_core::Result<()> {
/// let f = Order::fields();
/// let order: Order = Order::update(client, "cust-1", 42)
///     .apply(f.status.set("shipped"))
///     .apply(f.total_cents.add(-500))
///     .condition(f.status.eq("open"))
///     .return_new()
///     .await?;
/// # Ok(()) }
/// ```
#[must_use = "an update does nothing until awaited"]
pub struct Update<M: Model> {
    client: Client,
    key: Key<M>,
    actions: Vec<UpdateAction<M>>,
    condition: Option<Condition<M>>,
    version: Option<u64>,
    must_exist: bool,
}

/// An update that returns the item as it is after it: [`Update::return_new`].
#[must_use = "an update does nothing until awaited"]
pub struct UpdateReturning<M: Model> {
    inner: Update<M>,
}

impl<M: Model> Update<M> {
    pub(crate) fn new(client: &Client, key: Key<M>) -> Self {
        Self {
            client: client.clone(),
            key,
            actions: Vec::new(),
            condition: None,
            version: None,
            must_exist: false,
        }
    }

    /// Adds a change (from `Model::fields()`: `set`, `set_if_not_exists`, `add`, `remove`,
    /// `insert`/`delete` on sets, `append`/`prepend` on lists).
    pub fn apply(mut self, action: UpdateAction<M>) -> Self {
        self.actions.push(action);
        self
    }

    /// Update only if `condition` holds; otherwise fail with [`Error::ConditionFailed`].
    pub fn condition(mut self, condition: Condition<M>) -> Self {
        self.condition = Some(condition);
        self
    }

    /// Update only an existing item (UpdateItem creates a missing one otherwise).
    pub fn must_exist(mut self) -> Self {
        self.must_exist = true;
        self
    }

    /// For `#[dynamo(version)]` models: update only if the item is at `version`
    /// ([`Error::VersionConflict`] otherwise). The version is incremented either way.
    pub fn expect_version(mut self, version: u64) -> Self {
        self.version = Some(version);
        self
    }

    /// Return the updated item (`ALL_NEW`).
    pub fn return_new(self) -> UpdateReturning<M> {
        UpdateReturning { inner: self }
    }

    async fn send(self, return_new: bool) -> Result<Option<M>> {
        let Update {
            client,
            key,
            actions,
            condition,
            version,
            must_exist,
        } = self;
        let table = client.table_name::<M>();
        let key_text = key.to_string();
        // The update may change the item's files or version: what the client remembered of
        // them no longer holds.
        crate::protocol::forget::<M>(&client, &table, &key);
        let invalid = |reason: String| Error::InvalidRequest {
            kind: InvalidRequestKind::Update,
            reason: format!("update of item {key_text} in table `{table}`: {reason}"),
        };
        if actions.is_empty() {
            return Err(invalid("no change to apply".into()));
        }
        let keys = [Some(M::SCHEMA.hash.name), M::SCHEMA.range.map(|r| r.name)];
        if let Some(attribute) = actions
            .iter()
            .filter_map(|a| a.attribute())
            .find(|a| keys.contains(&Some(a)) || Some(*a) == M::VERSION)
        {
            return Err(invalid(format!(
                "`{attribute}` is a key or the version, which an update cannot change"
            )));
        }
        // A field of a key template is part of a key: the primary key's cannot change. An
        // index key is written again from its fields (see `index_keys`).
        for template in M::KEY_TEMPLATES {
            if let Some(attribute) = actions
                .iter()
                .filter_map(|a| a.attribute())
                .find(|a| *a == template.attribute || template.has_field(a))
            {
                return Err(invalid(format!(
                    "`{attribute}` is part of the key (`{}`), which an update cannot change",
                    template.attribute
                )));
            }
        }
        // A validated field's rules hold for the whole value an update sets; a change that is
        // not a whole value (an increment, an append) cannot be checked before it is made.
        for rules in M::FIELD_RULES {
            for action in actions
                .iter()
                .filter(|a| a.attribute() == Some(rules.attribute))
            {
                match action.known_result() {
                    Some((_, Some(value))) => (rules.check)(value.clone()).map_err(|v| {
                        crate::request::validation_error::<M>(&table, key_text.clone(), v)
                    })?,
                    Some((_, None)) => {}
                    None => {
                        return Err(invalid(format!(
                            "`{}` has validation rules, which hold for whole values: set it whole",
                            rules.attribute
                        )))
                    }
                }
            }
        }
        let index_keys = index_keys::<M>(&actions, &key).map_err(|e| match e {
            IndexKeyError::Refused(reason) => invalid(reason),
            IndexKeyError::Field(e) => super::field_error(&table, key_text.clone(), e),
        })?;
        if let Some(entity) =
            M::ENTITY.filter(|e| actions.iter().any(|a| a.attribute() == Some(e.attribute)))
        {
            return Err(invalid(format!(
                "`{}` records the entity type, which an update cannot change",
                entity.attribute
            )));
        }
        // An `#[s3]` field's attribute is a reference (a file's, or an overflow value's once it
        // moved to S3): only a whole value may be set or removed, never a part of it, which
        // would change the reference (or be lost in it) instead of the value.
        let s3_fields = M::Files::attribute_names();
        for action in &actions {
            let Some(attribute) = action.attribute().filter(|a| s3_fields.contains(a)) else {
                continue;
            };
            match action.known_result() {
                None => {
                    return Err(invalid(format!(
                        "`{attribute}` is an #[s3] field: an update can only set or remove it whole"
                    )))
                }
                Some((_, Some(AttributeValue::M(map))))
                    if M::Files::overflow(attribute)
                        && map.contains_key(crate::files::OVERFLOW_KEY) =>
                {
                    return Err(invalid(format!(
                        "an overflow field's value may not be a map with the key `{}` (`{attribute}`)",
                        crate::files::OVERFLOW_KEY
                    )))
                }
                Some(_) => {}
            }
        }
        let key_item = key
            .to_item()
            .map_err(|e| super::field_error(&table, key_text.clone(), e))?;

        let mut p = Placeholders::default();
        let mut extra_set = Vec::new();
        let mut own = Vec::new();
        if must_exist {
            own.push(format!("attribute_exists({})", p.name(M::SCHEMA.hash.name)));
        }
        // Removing a file field keeps its file, as clearing it in a save does: marked before
        // the update, which is conditional on the field still holding that object. Writing an
        // overflow field leaves the object of a value moved to S3 unreferenced: the update is
        // conditional on the field still holding it, and deletes it once committed.
        let written_files: Vec<(&str, bool)> = actions
            .iter()
            .filter_map(|a| a.known_result())
            .filter(|(name, _)| s3_fields.contains(name))
            .map(|(name, value)| (name, value.is_none()))
            .collect();
        let removed_files: Vec<&str> = written_files
            .iter()
            .filter(|(name, removed)| *removed && !M::Files::overflow(name))
            .map(|(name, _)| *name)
            .collect();
        let overflow: Vec<&str> = written_files
            .iter()
            .filter(|(name, _)| M::Files::overflow(name))
            .map(|(name, _)| *name)
            .collect();
        let unreferenced = protocol::before_update::<M>(
            &client,
            &table,
            &key_item,
            &key_text,
            &removed_files,
            &overflow,
            &mut p,
        )
        .await?;
        own.extend(unreferenced.unchanged);
        if let Some(name) = M::VERSION {
            let n = p.name(name);
            let zero = p.value(AttributeValue::N("0".into()));
            let one = p.value(AttributeValue::N("1".into()));
            extra_set.push(format!("{n} = if_not_exists({n}, {zero}) + {one}"));
            if let Some(v) = version {
                own.push(format!(
                    "{n} = {}",
                    p.value(AttributeValue::N(v.to_string()))
                ));
            }
        }
        // Timestamps the caller does not set: `updated_at` is now, `created_at` is now if
        // the update creates the item.
        let set_by_caller = |name: &str| actions.iter().any(|a| a.attribute() == Some(name));
        let now = std::time::SystemTime::now();
        // What the item holds after this update, as far as the update alone says: how a
        // refusal of an SDK retry is recognised as this update's own commit.
        let mut expected: Vec<(String, Option<AttributeValue>)> = actions
            .iter()
            .filter_map(|a| a.known_result())
            .map(|(name, value)| (name.to_owned(), value.cloned()))
            .collect();
        if let (Some(name), Some(v)) = (M::VERSION, version) {
            expected.push((
                name.to_owned(),
                Some(AttributeValue::N((v + 1).to_string())),
            ));
        }
        if let Some(name) = M::UPDATED_AT.filter(|n| !set_by_caller(n)) {
            if let Ok(Some(value)) = crate::item::Attribute::to_attribute(&now) {
                extra_set.push(format!("{} = {}", p.name(name), p.value(value.clone())));
                expected.push((name.to_owned(), Some(value)));
            }
        }
        if let Some(name) = M::CREATED_AT.filter(|n| !set_by_caller(n)) {
            if let Ok(Some(value)) = crate::item::Attribute::to_attribute(&now) {
                let n = p.name(name);
                extra_set.push(format!("{n} = if_not_exists({n}, {})", p.value(value)));
            }
        }
        let mut extra_remove = Vec::new();
        for (attribute, value) in index_keys {
            let name = p.name(attribute);
            match value {
                Some(key) => {
                    let value = AttributeValue::S(key);
                    extra_set.push(format!("{name} = {}", p.value(value.clone())));
                    expected.push((attribute.to_owned(), Some(value)));
                }
                None => {
                    extra_remove.push(name);
                    expected.push((attribute.to_owned(), None));
                }
            }
        }
        let expression = render_update(&actions, &extra_set, &extra_remove, &mut p)
            .map_err(|(path, error)| invalid(format!("value for `{path}`: {error}")))?;
        let own = (!own.is_empty()).then(|| own.join(" AND "));
        let condition_expression = with_user_condition(&mut p, own, condition.as_ref(), &table)?;
        let (names, values) = p.into_maps();
        let plan = UpdatePlan::<M> {
            table,
            key: key_text,
            key_item,
            expression,
            condition: condition_expression,
            names,
            values,
            return_new,
            kept: unreferenced.kept,
            replaced: unreferenced.replaced,
            expected,
            touches_files: actions
                .iter()
                .filter_map(|a| a.attribute())
                .any(|a| s3_fields.contains(&a)),
            own_condition: condition.is_none() && !must_exist,
            version,
            seen: Default::default(),
            model: std::marker::PhantomData,
        };
        let (table, key_text) = (plan.table.clone(), plan.key.clone());
        match protocol::drive(&client, plan).await? {
            Some(mut item) => {
                super::inflate::<M>(&client, &table, &mut item).await?;
                M::from_item(item)
                    .map(Some)
                    .map_err(|e| super::field_error(&table, key_text, e))
            }
            None => Ok(None),
        }
    }
}

impl<M: Model> Request for UpdatePlan<M> {
    type Answer = Option<Item>;

    async fn send(&self, client: &Client, attempts: &Attempts) -> Result<Option<Item>, Failure> {
        let request = client
            .dynamodb()
            .update_item()
            .table_name(&self.table)
            .set_key(Some(self.key_item.clone()))
            .update_expression(self.expression.clone())
            .set_condition_expression(self.condition.clone())
            .set_expression_attribute_names(self.names.clone())
            .set_expression_attribute_values(self.values.clone())
            .return_values(super::delete::returned(
                self.return_new,
                ReturnValue::AllNew,
            ))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .set_return_consumed_capacity(client.capacity())
            .send();
        send_counted(
            client,
            attempts,
            request,
            "UpdateItem",
            &self.table,
            &self.key,
        )
        .await
        .map(|output| output.attributes)
    }
}

impl<M: Model> IntoFuture for Update<M> {
    type Output = Result<()>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<()>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move { self.send(false).await.map(|_| ()) })
    }
}

impl<M: Model> IntoFuture for UpdateReturning<M> {
    type Output = Result<M>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<M>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let table = self.inner.client.table_name::<M>();
            let key = self.inner.key.to_string();
            self.inner.send(true).await?.ok_or(Error::InvalidRequest {
                kind: InvalidRequestKind::NoItemReturned,
                reason: format!("update of item {key} in table `{table}` returned no item"),
            })
        })
    }
}

/// Why an update's index keys cannot be written.
enum IndexKeyError {
    /// The update cannot write them (the reason, for `InvalidRequest`).
    Refused(String),
    /// A value the update sets does not read as its field.
    Field(crate::model::FieldError),
}

/// The index keys an update writes again, because it sets or removes a field they are built
/// from: each index attribute with its new key, or `None` when the item no longer has one (a
/// sparse index's `Option` field removed or set to `None`). A key's other fields come from
/// the update or, for fields of the primary key, from the item's key; a field the update
/// changes other than as a whole value, the index attribute itself, or a field neither the
/// update nor the key holds refuses the update (a save writes every key).
fn index_keys<M: Model>(
    actions: &[UpdateAction<M>],
    key: &crate::model::Key<M>,
) -> std::result::Result<Vec<(&'static str, Option<String>)>, IndexKeyError> {
    let mut out = Vec::new();
    let mut key_item = None;
    for template in M::INDEX_TEMPLATES {
        if actions
            .iter()
            .any(|a| a.attribute() == Some(template.attribute))
        {
            return Err(IndexKeyError::Refused(format!(
                "`{}` is an index key, written from its fields: set them instead",
                template.attribute
            )));
        }
        let Some(changed) = template
            .fields()
            .find(|f| actions.iter().any(|a| a.attribute() == Some(f)))
        else {
            continue;
        };
        let mut writer = template.writer();
        for field in template.fields() {
            let text = match actions.iter().find(|a| a.attribute() == Some(field)) {
                Some(action) => {
                    let Some((_, value)) = action.known_result() else {
                        return Err(IndexKeyError::Refused(format!(
                            "`{field}` is part of index key `{}`: an update can only set or remove it whole",
                            template.attribute
                        )));
                    };
                    match value {
                        None => None,
                        Some(value) => {
                            let reader = M::INDEX_SEGMENTS
                                .iter()
                                .find(|r| r.attribute == field)
                                .ok_or_else(|| {
                                    IndexKeyError::Refused(format!(
                                        "`{field}` of index key `{}` has no segment writer",
                                        template.attribute
                                    ))
                                })?;
                            (reader.text)(value.clone()).map_err(IndexKeyError::Field)?
                        }
                    }
                }
                None => {
                    let item = match &key_item {
                        Some(item) => item,
                        None => key_item.insert(key.to_item().map_err(IndexKeyError::Field)?),
                    };
                    Some(key_segment::<M>(item, field).ok_or_else(|| {
                        IndexKeyError::Refused(format!(
                            "`{changed}` is part of index key `{}`, which is also built from `{field}`: set `{field}` in the same update, or save the item",
                            template.attribute
                        ))
                    })?)
                }
            };
            match text {
                Some(text) => writer.segment(&text),
                None => writer.index_segment(&None::<String>),
            }
        }
        out.push((template.attribute, writer.finish_index()));
    }
    Ok(out)
}

/// Field `field`'s segment text read from the primary key `key` (its key attributes), if a
/// primary-key template holds the field.
fn key_segment<M: Model>(key: &Item, field: &str) -> Option<String> {
    M::KEY_TEMPLATES.iter().find_map(|template| {
        let position = template.fields().position(|f| f == field)?;
        let AttributeValue::S(text) = key.get(template.attribute)? else {
            return None;
        };
        template.parse(text).ok()?.into_iter().nth(position)
    })
}
