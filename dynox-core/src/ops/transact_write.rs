//! Transactions (TransactWriteItems): saves, creates, deletes and condition checks across
//! models, all or nothing, with file fields handled by the same protocol as single writes
//! (`protocol/`): every op is planned (its files uploaded) first; on commit the
//! replaced objects and the deleted items' objects are removed; on a cancellation that no
//! earlier attempt of the request can explain, every new object is removed. A cancellation
//! answering an SDK retry may be the transaction's own commit refusing the retry: the items
//! then tell, as after a lost response.

use std::future::{Future, IntoFuture};
use std::pin::Pin;

use super::Traced;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, Put, ReturnValuesOnConditionCheckFailure,
    TransactWriteItem, Update,
};

use crate::error::{
    Error, InvalidRequestKind, ReasonKind, Result, TransactionReason, WriteOutcome,
};
use crate::expr::Placeholders;
use crate::files::BoxFuture;
use crate::item::Item;
use crate::model::{Key, Model};
use crate::ops::delete::Unversioned;
use crate::protocol::{self, plan_delete, plan_put, Attempts, DeletePlan, Failure, PutPlan, Write};
use crate::reference::FileRef;
use crate::Client;

/// DynamoDB's limit on the items of one transaction.
pub const MAX_TRANSACTION_ITEMS: usize = 100;

/// The objects a cleanup left, from the error a single-item finish reports.
fn left_objects(result: Result<()>) -> Left {
    match result {
        Err(Error::CleanupFailed {
            objects, source, ..
        }) => Left {
            objects,
            source: Some(source),
        },
        _ => Left::default(),
    }
}

/// What an item's finish left in place, and why (the first failure's error).
#[derive(Default)]
struct Left {
    objects: Vec<FileRef>,
    source: Option<crate::error::BoxError>,
}

/// One item of a transaction, type-erased.
trait TxOp: Send + Sync {
    /// Runs the item's `before_*` hook (before any op is validated or uploads anything).
    fn before<'s>(&'s mut self, client: &'s Client) -> BoxFuture<'s, Result<()>> {
        let _ = client;
        Box::pin(async { Ok(()) })
    }
    /// Runs the item's `after_*` hook, once the transaction committed.
    fn after<'s>(&'s self, client: &'s Client) -> BoxFuture<'s, Result<()>> {
        let _ = client;
        Box::pin(async { Ok(()) })
    }
    /// Checks the item's validation rules (before any op uploads anything).
    fn validate(&self, client: &Client) -> Result<()> {
        let _ = client;
        Ok(())
    }
    /// Uploads files and builds the request item.
    fn plan<'s>(&'s mut self, client: &'s Client) -> BoxFuture<'s, Result<()>>;
    /// The request item (after `plan`).
    fn item(&self) -> Result<TransactWriteItem>;
    /// Whether the transaction took effect, as this item can tell: from `refused`, the
    /// stored item its cancellation reason carried (a failed condition), or by reading back.
    fn committed<'s>(
        &'s self,
        client: &'s Client,
        refused: Option<&'s Item>,
    ) -> BoxFuture<'s, Option<bool>>;
    /// Whether this item stores new objects, whose keys prove whether the transaction ran.
    fn has_new_files(&self) -> bool;
    /// Whether this item stops referencing objects that only the commit may delete (an
    /// overflow value back inline): not knowing the transaction's fate must keep them.
    fn drops_objects(&self) -> bool {
        false
    }
    /// After the transaction: cleans up. Returns the objects left behind.
    fn finish<'s>(&'s mut self, client: &'s Client, outcome: WriteOutcome) -> BoxFuture<'s, Left>;
    /// The table and key, for errors.
    fn describe(&self) -> (String, String);
    /// What a `ConditionalCheckFailed` on this item means.
    fn condition_kind(&self) -> ReasonKind;
}

struct SaveOp<'a, M: Model> {
    item: &'a mut M,
    create: bool,
    /// A partial save (`save_changes`): the tracked item's loaded state, updated once the
    /// transaction committed.
    loaded: Option<&'a mut Option<Item>>,
    plan: Option<PutPlan<M>>,
}

impl<M: Model> TxOp for SaveOp<'_, M> {
    fn before<'s>(&'s mut self, client: &'s Client) -> BoxFuture<'s, Result<()>> {
        Box::pin(async move {
            let Some(hooks) = M::HOOKS else {
                return Ok(());
            };
            (hooks.before_save)(self.item, client).await.map_err(|e| {
                let table = client.table_name::<M>();
                crate::hooks::hook_error::<M>("before_save", &table, self.item.key().to_string(), e)
            })
        })
    }

    fn after<'s>(&'s self, client: &'s Client) -> BoxFuture<'s, Result<()>> {
        Box::pin(async move {
            let Some(hooks) = M::HOOKS else {
                return Ok(());
            };
            (hooks.after_save)(self.item, client).await.map_err(|e| {
                let table = client.table_name::<M>();
                crate::hooks::hook_error::<M>("after_save", &table, self.item.key().to_string(), e)
            })
        })
    }

    fn validate(&self, client: &Client) -> Result<()> {
        self.item.validate().map_err(|v| {
            let table = client.table_name::<M>();
            crate::request::validation_error::<M>(&table, self.item.key().to_string(), v)
        })
    }

    fn plan<'s>(&'s mut self, client: &'s Client) -> BoxFuture<'s, Result<()>> {
        Box::pin(async move {
            let state = super::save::loaded_state(client, self.item, self.loaded.as_deref())?;
            self.plan =
                Some(plan_put(client, self.item, self.create, None, false, true, state).await?);
            Ok(())
        })
    }

    fn item(&self) -> Result<TransactWriteItem> {
        let plan = self.plan.as_ref().ok_or_else(unplanned)?;
        if let Some(partial) = &plan.partial {
            // Nothing changed: the item must still be as loaded (it exists, at its version).
            if plan.writes_nothing() {
                let check = ConditionCheck::builder()
                    .table_name(&plan.table)
                    .set_key(Some(plan.key_item().clone()))
                    .set_condition_expression(plan.condition.clone())
                    .set_expression_attribute_names(plan.names.clone())
                    .set_expression_attribute_values(plan.values.clone())
                    .return_values_on_condition_check_failure(
                        ReturnValuesOnConditionCheckFailure::AllOld,
                    )
                    .build()
                    .map_err(build_error)?;
                return Ok(TransactWriteItem::builder().condition_check(check).build());
            }
            let update = Update::builder()
                .table_name(&plan.table)
                .set_key(Some(plan.key_item().clone()))
                .update_expression(&partial.expression)
                .set_condition_expression(plan.condition.clone())
                .set_expression_attribute_names(plan.names.clone())
                .set_expression_attribute_values(plan.values.clone())
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                )
                .build()
                .map_err(build_error)?;
            return Ok(TransactWriteItem::builder().update(update).build());
        }
        let put = Put::builder()
            .table_name(&plan.table)
            .set_item(Some(plan.attributes.clone()))
            .set_condition_expression(plan.condition.clone())
            .set_expression_attribute_names(plan.names.clone())
            .set_expression_attribute_values(plan.values.clone())
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    fn committed<'s>(
        &'s self,
        client: &'s Client,
        refused: Option<&'s Item>,
    ) -> BoxFuture<'s, Option<bool>> {
        Box::pin(async move {
            protocol::transaction_item_committed(self.plan.as_ref()?, client, refused).await
        })
    }

    fn has_new_files(&self) -> bool {
        self.plan.as_ref().is_some_and(PutPlan::has_new_files)
    }

    fn drops_objects(&self) -> bool {
        self.plan.as_ref().is_some_and(PutPlan::drops_objects)
    }

    fn finish<'s>(&'s mut self, client: &'s Client, outcome: WriteOutcome) -> BoxFuture<'s, Left> {
        Box::pin(async move {
            let Some(plan) = self.plan.take() else {
                return Left::default();
            };
            // The transaction's own error is reported once, by the transaction: the item's
            // finish only says which objects are left.
            let placeholder = || Error::InvalidRequest {
                kind: InvalidRequestKind::Build,
                reason: "transaction item".into(),
            };
            let error = (outcome != WriteOutcome::Committed).then(placeholder);
            let left = left_objects(plan.finish(client, self.item, outcome, error).await);
            // A tracked item's loaded state is now the stored one.
            if let (Some(slot), true) = (self.loaded.as_deref_mut(), outcome.is_committed()) {
                *slot = self.item.to_item().ok();
            }
            left
        })
    }

    fn describe(&self) -> (String, String) {
        match &self.plan {
            Some(plan) => (plan.table.clone(), plan.key.clone()),
            None => (M::TABLE.to_owned(), self.item.key().to_string()),
        }
    }

    fn condition_kind(&self) -> ReasonKind {
        if self.create {
            ReasonKind::AlreadyExists
        } else if M::VERSION.is_some() {
            ReasonKind::VersionConflict
        } else {
            ReasonKind::ConditionFailed
        }
    }
}

struct DeleteOp<M: Model> {
    key: Key<M>,
    version: Option<u64>,
    plan: Option<DeletePlan<M>>,
    table: String,
}

impl<M: Model> TxOp for DeleteOp<M> {
    fn before<'s>(&'s mut self, client: &'s Client) -> BoxFuture<'s, Result<()>> {
        Box::pin(async move {
            let Some(hooks) = M::HOOKS else {
                return Ok(());
            };
            (hooks.before_delete)(&self.key, client).await.map_err(|e| {
                crate::hooks::hook_error::<M>("before_delete", &self.table, self.key.to_string(), e)
            })
        })
    }

    fn after<'s>(&'s self, client: &'s Client) -> BoxFuture<'s, Result<()>> {
        Box::pin(async move {
            let Some(hooks) = M::HOOKS else {
                return Ok(());
            };
            (hooks.after_delete)(&self.key, client).await.map_err(|e| {
                crate::hooks::hook_error::<M>("after_delete", &self.table, self.key.to_string(), e)
            })
        })
    }

    fn plan<'s>(&'s mut self, client: &'s Client) -> BoxFuture<'s, Result<()>> {
        Box::pin(async move {
            self.table = client.table_name::<M>();
            self.plan = plan_delete(client, &self.key, self.version, None, true).await?;
            Ok(())
        })
    }

    fn item(&self) -> Result<TransactWriteItem> {
        let mut delete = Delete::builder().table_name(&self.table);
        match &self.plan {
            Some(plan) => {
                delete = delete
                    .set_key(Some(plan.key_item.clone()))
                    .set_condition_expression(plan.condition.clone())
                    .set_expression_attribute_names(plan.names.clone())
                    .set_expression_attribute_values(plan.values.clone())
                    .return_values_on_condition_check_failure(
                        ReturnValuesOnConditionCheckFailure::AllOld,
                    );
            }
            None => {
                let key = self
                    .key
                    .to_item()
                    .map_err(|e| super::field_error(&self.table, self.key.to_string(), e))?;
                delete = delete.set_key(Some(key));
            }
        }
        Ok(TransactWriteItem::builder()
            .delete(delete.build().map_err(build_error)?)
            .build())
    }

    fn committed<'s>(
        &'s self,
        client: &'s Client,
        refused: Option<&'s Item>,
    ) -> BoxFuture<'s, Option<bool>> {
        Box::pin(async move {
            protocol::transaction_item_committed(self.plan.as_ref()?, client, refused).await
        })
    }

    fn has_new_files(&self) -> bool {
        false
    }

    fn finish<'s>(&'s mut self, client: &'s Client, outcome: WriteOutcome) -> BoxFuture<'s, Left> {
        Box::pin(async move {
            match self.plan.take() {
                Some(plan) if outcome == WriteOutcome::Committed => {
                    left_objects(plan.finish(client, outcome, None).await)
                }
                _ => Left::default(),
            }
        })
    }

    fn describe(&self) -> (String, String) {
        (self.table.clone(), self.key.to_string())
    }

    fn condition_kind(&self) -> ReasonKind {
        if self.version.is_some() {
            ReasonKind::VersionConflict
        } else {
            ReasonKind::ConditionFailed
        }
    }
}

struct CheckOp<M: Model> {
    key: Key<M>,
    version: Option<u64>,
    table: String,
}

impl<M: Model> TxOp for CheckOp<M> {
    fn plan<'s>(&'s mut self, client: &'s Client) -> BoxFuture<'s, Result<()>> {
        self.table = client.table_name::<M>();
        Box::pin(async { Ok(()) })
    }

    fn item(&self) -> Result<TransactWriteItem> {
        let key = self
            .key
            .to_item()
            .map_err(|e| super::field_error(&self.table, self.key.to_string(), e))?;
        let mut p = Placeholders::default();
        let condition = match (M::VERSION, self.version) {
            (Some(name), Some(v)) => {
                let n = p.name(name);
                format!("{n} = {}", p.value(AttributeValue::N(v.to_string())))
            }
            _ => format!("attribute_exists({})", p.name(M::SCHEMA.hash.name)),
        };
        let (names, values) = p.into_maps();
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .condition_expression(condition)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().condition_check(check).build())
    }

    fn committed<'s>(&'s self, _: &'s Client, _: Option<&'s Item>) -> BoxFuture<'s, Option<bool>> {
        Box::pin(async { None })
    }

    fn has_new_files(&self) -> bool {
        false
    }

    fn finish<'s>(&'s mut self, _: &'s Client, _: WriteOutcome) -> BoxFuture<'s, Left> {
        Box::pin(async { Left::default() })
    }

    fn describe(&self) -> (String, String) {
        (self.table.clone(), self.key.to_string())
    }

    fn condition_kind(&self) -> ReasonKind {
        if self.version.is_some() {
            ReasonKind::VersionConflict
        } else {
            ReasonKind::ConditionFailed
        }
    }
}

fn unplanned() -> Error {
    Error::InvalidRequest {
        kind: InvalidRequestKind::Build,
        reason: "transaction item used before it was prepared".into(),
    }
}

fn build_error(e: aws_sdk_dynamodb::error::BuildError) -> Error {
    Error::InvalidRequest {
        kind: InvalidRequestKind::Build,
        reason: e.to_string(),
    }
}

/// A write transaction: [`Client::transact_write`]. Add items, then await it.
///
/// ```no_run
/// # use dynox_core::{Client, DynamoModel};
/// # #[derive(DynamoModel)] #[dynamo(table = "accounts")]
/// # struct Account { #[dynamo(hash_key)] id: String, #[dynamo(version)] version: u64, cents: i64 }
/// # async fn demo(client: &Client, mut from: Account, mut to: Account) -> dynox_core::Result<()> {
/// from.cents -= 500;
/// to.cents += 500;
/// client.transact_write().save(&mut from).save(&mut to).await?; // both or neither
/// # Ok(()) }
/// ```
#[must_use = "a transaction does nothing until awaited"]
pub struct TransactWrite<'a> {
    client: &'a Client,
    ops: Vec<Box<dyn TxOp + 'a>>,
    token: Option<String>,
}

impl<'a> TransactWrite<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self {
            client,
            ops: Vec::new(),
            token: None,
        }
    }

    /// Writes `item` (replacing any item with its key; conditional on its version and file
    /// references as [`Client::save`] is).
    pub fn save<M: Model>(mut self, item: &'a mut M) -> Self {
        self.ops.push(Box::new(SaveOp {
            item,
            create: false,
            loaded: None,
            plan: None,
        }));
        self
    }

    /// Writes only the attributes of a tracked item that changed since it was loaded, as
    /// [`Client::save_changes`] does (an `Update` of the transaction, conditional on the item
    /// existing, its version and the files it replaces or clears). An item with nothing to
    /// write is a `ConditionCheck` that it still exists (one with a version or `updated_at`
    /// is stamped, as in any save of a transaction). Once the transaction committed, the
    /// tracked state is the saved one.
    ///
    /// ```no_run
    /// # use dynox_core::{Client, DynamoModel, Tracked};
    /// # #[derive(DynamoModel)] #[dynamo(table = "accounts")]
    /// # struct Account { #[dynamo(hash_key)] id: String, balance: i64, note: String }
    /// # async fn demo(client: &Client, mut from: Tracked<Account>, mut to: Tracked<Account>) -> dynox_core::Result<()> {
    /// from.balance -= 10;
    /// to.balance += 10;
    /// client.transact_write().save_changes(&mut from).save_changes(&mut to).await?;
    /// # Ok(()) }
    /// ```
    pub fn save_changes<M: Model>(mut self, item: &'a mut crate::Tracked<M>) -> Self {
        let crate::Tracked { item, loaded } = item;
        self.ops.push(Box::new(SaveOp {
            item,
            create: false,
            loaded: Some(loaded),
            plan: None,
        }));
        self
    }

    /// Writes `item` only if its key is new.
    pub fn create<M: Model>(mut self, item: &'a mut M) -> Self {
        self.ops.push(Box::new(SaveOp {
            item,
            create: true,
            loaded: None,
            plan: None,
        }));
        self
    }

    /// Deletes the item with `key` (its files go after the commit). A model with
    /// `#[dynamo(version)]` is deleted with [`delete_item`](Self::delete_item), at its version.
    pub fn delete<M: Unversioned>(mut self, key: Key<M>) -> Self {
        self.ops.push(Box::new(DeleteOp {
            key,
            version: None,
            plan: None,
            table: String::new(),
        }));
        self
    }

    /// Deletes `item`; for versioned models, only at its version.
    pub fn delete_item<M: Model>(mut self, item: &M) -> Self {
        self.ops.push(Box::new(DeleteOp {
            key: item.key(),
            version: M::VERSION.map(|_| item.version()),
            plan: None,
            table: String::new(),
        }));
        self
    }

    /// Requires `item` to exist unchanged: at its version for versioned models, merely
    /// existing otherwise. Nothing is written to it.
    pub fn check<M: Model>(mut self, item: &M) -> Self {
        self.ops.push(Box::new(CheckOp {
            key: item.key(),
            version: M::VERSION.map(|_| item.version()),
            table: String::new(),
        }));
        self
    }

    /// Requires the item with `key` to exist.
    pub fn check_exists<M: Model>(mut self, key: Key<M>) -> Self {
        self.ops.push(Box::new(CheckOp {
            key,
            version: None,
            table: String::new(),
        }));
        self
    }

    /// The idempotency token (by default a random one per transaction, so an SDK retry of a
    /// transaction whose response was lost does not apply it twice).
    pub fn idempotency_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    async fn send(mut self) -> Result<()> {
        if self.ops.is_empty() {
            return Ok(());
        }
        if self.ops.len() > MAX_TRANSACTION_ITEMS {
            return Err(Error::InvalidRequest {
                kind: InvalidRequestKind::TooManyItems,
                reason: format!(
                    "a transaction has at most {MAX_TRANSACTION_ITEMS} items, this one {}",
                    self.ops.len()
                ),
            });
        }
        let client = self.client;
        for op in &mut self.ops {
            op.before(client).await?;
        }
        for op in &self.ops {
            op.validate(client)?;
        }
        // Upload every op's files; if one fails, remove what the others uploaded.
        for i in 0..self.ops.len() {
            if let Err(error) = self.ops[i].plan(client).await {
                let mut left = Vec::new();
                for op in &mut self.ops[..i] {
                    left.extend(op.finish(client, WriteOutcome::NotCommitted).await.objects);
                }
                return Err(cleanup_error(
                    &self.ops,
                    left,
                    WriteOutcome::NotCommitted,
                    error,
                ));
            }
        }
        let mut planned = Planned {
            ops: self.ops,
            items: Vec::new(),
            token: self
                .token
                .unwrap_or_else(|| format!("{:016x}{:016x}", super::random(), super::random())),
        };
        match planned.ops.iter().map(|op| op.item()).collect() {
            Ok(items) => planned.items = items,
            Err(error) => {
                return planned
                    .finish(client, WriteOutcome::NotCommitted, Err(error))
                    .await
            }
        }
        protocol::drive(client, planned).await
    }
}

/// A transaction whose items are planned (their files uploaded), as the driver runs it.
struct Planned<'a> {
    ops: Vec<Box<dyn TxOp + 'a>>,
    items: Vec<TransactWriteItem>,
    /// The idempotency token: an SDK retry of a transaction whose response was lost does not
    /// apply it twice.
    token: String,
}

impl Write for Planned<'_> {
    /// The stored item each cancellation reason carried (`None` where it carried none).
    type Carried = Vec<Option<Item>>;
    type Sent = ();
    type Done = ();

    async fn send(
        &self,
        client: &Client,
        attempts: &Attempts,
    ) -> Result<(), Failure<Vec<Option<Item>>>> {
        let sent = attempts
            .count(
                client
                    .dynamodb()
                    .transact_write_items()
                    .set_transact_items(Some(self.items.clone()))
                    .client_request_token(&self.token)
                    .set_return_consumed_capacity(client.capacity())
                    .send(),
            )
            .traced(
                super::span("TransactWriteItems", &first(&self.ops).0),
                client,
            )
            .await;
        sent.map(|_| ()).map_err(|e| {
            let (error, refused) = self.error(e);
            Failure::new(error, refused, attempts)
        })
    }

    /// Whether a transaction whose answer was lost, or whose retry was refused, took effect.
    /// The items holding new objects prove it either way; the others only suggest it.
    async fn committed(
        &self,
        client: &Client,
        failure: &Failure<Vec<Option<Item>>>,
    ) -> Option<bool> {
        let refused = failure.refused.as_deref().unwrap_or_default();
        for strong in [true, false] {
            for (i, op) in self.ops.iter().enumerate() {
                if op.has_new_files() != strong {
                    continue;
                }
                let carried = refused.get(i).and_then(Option::as_ref);
                if let Some(committed) = op.committed(client, carried).await {
                    return Some(committed);
                }
            }
        }
        None
    }

    fn tracks_files(&self) -> bool {
        self.ops
            .iter()
            .any(|op| op.has_new_files() || op.drops_objects())
    }

    /// Settles every item: committed, their replaced and deleted objects go; not committed,
    /// their uploads; unknown, everything stays and is named.
    async fn finish(
        mut self,
        client: &Client,
        outcome: WriteOutcome,
        answer: Result<(), Error>,
    ) -> Result<()> {
        let mut left = Vec::new();
        let mut source = None;
        for op in &mut self.ops {
            let finished = op.finish(client, outcome).await;
            left.extend(finished.objects);
            source = source.or(finished.source);
        }
        if outcome == WriteOutcome::Committed {
            if left.is_empty() {
                for op in &self.ops {
                    op.after(client).await?;
                }
                return Ok(());
            }
            let (table, key) = first(&self.ops);
            crate::protocol::cleanup_failures(&table, left.len());
            return Err(Error::CleanupFailed {
                table,
                key,
                write: WriteOutcome::Committed,
                objects: left,
                // The first failure's error (an S3 error naming its object).
                source: source.unwrap_or_else(|| {
                    "objects could not be deleted after the transaction committed".into()
                }),
            });
        }
        answer.map_err(|error| cleanup_error(&self.ops, left, outcome, error))
    }
}

impl Planned<'_> {
    /// The error of a failed transaction, and, for a cancellation, the stored item each
    /// cancellation reason carried (`None` where it carried none).
    fn error(
        &self,
        e: SdkError<TransactWriteItemsError, aws_sdk_dynamodb::config::http::HttpResponse>,
    ) -> (Error, Option<Vec<Option<Item>>>) {
        if let SdkError::ServiceError(service) = &e {
            if let TransactWriteItemsError::TransactionCanceledException(canceled) = service.err() {
                let reasons = canceled.cancellation_reasons();
                let carried = reasons.iter().map(|r| r.item().cloned()).collect();
                let reasons = reasons
                    .iter()
                    .enumerate()
                    .map(|(index, reason)| {
                        let code = reason.code().unwrap_or("None").to_owned();
                        let (table, key) = self
                            .ops
                            .get(index)
                            .map(|op| op.describe())
                            .unwrap_or_default();
                        let kind = match code.as_str() {
                            "None" => ReasonKind::None,
                            "ConditionalCheckFailed" => self
                                .ops
                                .get(index)
                                .map_or(ReasonKind::ConditionFailed, |op| op.condition_kind()),
                            "TransactionConflict" => ReasonKind::TransactionConflict,
                            "ThrottlingError" | "ProvisionedThroughputExceeded" => {
                                ReasonKind::Throttled
                            }
                            _ => ReasonKind::Other,
                        };
                        TransactionReason {
                            index,
                            table,
                            key,
                            kind,
                            code,
                            message: reason.message().map(str::to_owned),
                        }
                    })
                    .collect();
                return (Error::TransactionCanceled { reasons }, Some(carried));
            }
        }
        let (table, key) = first(&self.ops);
        (
            super::sdk_error(e, "TransactWriteItems", &table, || key),
            None,
        )
    }
}

/// The table and key of the first item, which name the transaction in spans and errors.
fn first(ops: &[Box<dyn TxOp + '_>]) -> (String, String) {
    ops.first().map(|op| op.describe()).unwrap_or_default()
}

/// `error`, or a [`Error::CleanupFailed`] naming `left` and wrapping it.
fn cleanup_error(
    ops: &[Box<dyn TxOp + '_>],
    left: Vec<FileRef>,
    write: WriteOutcome,
    error: Error,
) -> Error {
    if left.is_empty() {
        return error;
    }
    let (table, key) = first(ops);
    crate::protocol::cleanup_failures(&table, left.len());
    Error::CleanupFailed {
        table,
        key,
        write,
        objects: left,
        source: Box::new(error),
    }
}

impl<'a> IntoFuture for TransactWrite<'a> {
    type Output = Result<()>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<()>> + Send + 'a>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}
