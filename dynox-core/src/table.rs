//! `create_table` and `delete_table` from a model's definition, waiting until done.

use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, IndexStatus, KeySchemaElement, KeyType,
    LocalSecondaryIndex, Projection, ProjectionType, ProvisionedThroughput, ScalarAttributeType,
    TableStatus,
};
use tracing::Instrument;

use crate::error::{Error, Result};
use crate::model::Model;
use crate::ops::{sdk_error, span};
use crate::schema::{IndexKind, IndexProjection, IndexSchema, KeyAttr, ScalarType};
use crate::Client;

const DEFAULT_WAIT: Duration = Duration::from_secs(300);

/// Creates model `M`'s table ([`Client::create_table`]) and waits until it is `ACTIVE`.
///
/// On-demand billing unless [`provisioned`](Self::provisioned) is called. The model's
/// secondary indexes are created with the table (global ones with the same billing), and
/// its time-to-live attribute is enabled.
#[must_use = "create_table does nothing until awaited"]
pub struct CreateTable<M: TableModels> {
    client: Client,
    if_not_exists: bool,
    provisioned: Option<(i64, i64)>,
    stream: Option<StreamView>,
    max_wait: Duration,
    model: PhantomData<fn() -> M>,
}

/// What a table's DynamoDB stream carries for each change ([`CreateTable::stream`]).
///
/// The file cascade (objects deleted when their item leaves by any road) needs the old image:
/// [`NewAndOldImages`](Self::NewAndOldImages), which typed stream records also decode, or
/// [`OldImage`](Self::OldImage).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StreamView {
    /// The item before and after the change.
    NewAndOldImages,
    /// The item before the change.
    OldImage,
    /// The item after the change.
    NewImage,
    /// Only the key attributes.
    KeysOnly,
}

impl StreamView {
    fn sdk(self) -> aws_sdk_dynamodb::types::StreamViewType {
        use aws_sdk_dynamodb::types::StreamViewType as V;
        match self {
            StreamView::NewAndOldImages => V::NewAndOldImages,
            StreamView::OldImage => V::OldImage,
            StreamView::NewImage => V::NewImage,
            StreamView::KeysOnly => V::KeysOnly,
        }
    }
}

impl<M: TableModels> CreateTable<M> {
    pub(crate) fn new(client: &Client) -> Self {
        Self {
            client: client.clone(),
            if_not_exists: false,
            provisioned: None,
            stream: None,
            max_wait: DEFAULT_WAIT,
            model: PhantomData,
        }
    }

    /// Succeed (after waiting for it to be active) if the table already exists, instead of
    /// failing with [`Error::TableAlreadyExists`].
    pub fn if_not_exists(mut self) -> Self {
        self.if_not_exists = true;
        self
    }

    /// Provisioned capacity instead of on-demand billing.
    pub fn provisioned(mut self, read_units: i64, write_units: i64) -> Self {
        self.provisioned = Some((read_units, write_units));
        self
    }

    /// Enables the table's DynamoDB stream with `view` (see [`StreamView`]).
    ///
    /// ```no_run
    /// # use dynox_core::{Client, DynamoModel, StreamView};
    /// # #[derive(DynamoModel)] #[dynamo(table = "documents")]
    /// # struct Document { #[dynamo(hash_key)] pk: String }
    /// # async fn demo(client: &Client) -> dynox_core::Result<()> {
    /// client
    ///     .create_table::<Document>()
    ///     .stream(StreamView::NewAndOldImages)
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn stream(mut self, view: StreamView) -> Self {
        self.stream = Some(view);
        self
    }

    /// How long to wait for the table to become active (5 minutes by default).
    pub fn max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = max_wait;
        self
    }

    async fn send(self) -> Result<()> {
        let table = self.client.table_name::<M::First>();
        let defined = M::definition().map_err(|reason| Error::InvalidRequest {
            kind: crate::error::InvalidRequestKind::TableDefinition,
            reason: format!("the models of table `{table}` disagree: {reason}"),
        })?;
        let TableDefinition {
            schema,
            indexes,
            ttl,
        } = defined;
        let keys = key_schema(&table, schema.hash, schema.range)?;
        // Every key attribute of the table and its indexes, each defined once.
        let mut attributes: Vec<KeyAttr> = Vec::new();
        let index_keys = indexes.iter().flat_map(|i| [Some(i.hash), i.range]);
        for attr in [Some(schema.hash), schema.range]
            .into_iter()
            .chain(index_keys)
            .flatten()
        {
            if !attributes.iter().any(|a| a.name == attr.name) {
                attributes.push(attr);
            }
        }
        let definitions = attributes
            .into_iter()
            .map(|a| definition(&table, a))
            .collect::<Result<Vec<_>>>()?;
        let throughput = self
            .provisioned
            .map(|(read, write)| {
                ProvisionedThroughput::builder()
                    .read_capacity_units(read)
                    .write_capacity_units(write)
                    .build()
                    .map_err(|e| build_error(&table, e))
            })
            .transpose()?;
        let mut globals = Vec::new();
        let mut locals = Vec::new();
        for index in &indexes {
            let keys = key_schema(&table, index.hash, index.range)?;
            let projection = projection(index);
            match index.kind {
                IndexKind::Global => globals.push(
                    GlobalSecondaryIndex::builder()
                        .index_name(index.name)
                        .set_key_schema(Some(keys))
                        .projection(projection)
                        .set_provisioned_throughput(throughput.clone())
                        .build()
                        .map_err(|e| build_error(&table, e))?,
                ),
                IndexKind::Local => locals.push(
                    LocalSecondaryIndex::builder()
                        .index_name(index.name)
                        .set_key_schema(Some(keys))
                        .projection(projection)
                        .build()
                        .map_err(|e| build_error(&table, e))?,
                ),
            }
        }
        let mut request = self
            .client
            .dynamodb()
            .create_table()
            .table_name(&table)
            .set_key_schema(Some(keys))
            .set_attribute_definitions(Some(definitions))
            .set_global_secondary_indexes((!globals.is_empty()).then_some(globals))
            .set_local_secondary_indexes((!locals.is_empty()).then_some(locals));
        if let Some(view) = self.stream {
            request = request.stream_specification(
                aws_sdk_dynamodb::types::StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(view.sdk())
                    .build()
                    .map_err(|e| build_error(&table, e))?,
            );
        }
        request = match throughput {
            None => request.billing_mode(BillingMode::PayPerRequest),
            Some(throughput) => request
                .billing_mode(BillingMode::Provisioned)
                .provisioned_throughput(throughput),
        };
        match request
            .send()
            .instrument(span("CreateTable", &table).into_span())
            .await
        {
            Ok(_) => {}
            Err(e) if e.code() == Some("ResourceInUseException") => {
                if !self.if_not_exists {
                    return Err(Error::TableAlreadyExists { table });
                }
            }
            Err(e) => return Err(sdk_error(e, "CreateTable", &table, String::new)),
        }
        wait_for(&self.client, &table, self.max_wait, true).await?;
        if let Some(attribute) = ttl {
            enable_ttl(&self.client, &table, attribute).await?;
        }
        Ok(())
    }
}

impl<M: TableModels> IntoFuture for CreateTable<M> {
    type Output = Result<()>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<()>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

/// The model, or the models sharing one table, that [`Client::create_table`] creates the
/// table of: any [`Model`], or a tuple of models (`(Customer, Order, Invoice)`) whose table
/// gets the union of their indexes.
///
/// The models must agree: one table name and primary key, one definition per index name,
/// one time-to-live attribute, one entity attribute and a different entity type each.
/// `create_table` refuses models that do not, naming what differs, before any request.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a model or a tuple of models",
    label = "expected a model, or a tuple of the models sharing a table",
    note = "`client.create_table::<Order>()`, or `client.create_table::<(Customer, Order)>()` for models in one table"
)]
pub trait TableModels: Send + 'static {
    /// The first model: it names the table.
    type First: Model;
    /// The table's definition: the union of the models', or what they disagree on.
    fn definition() -> std::result::Result<TableDefinition, String>;
}

/// What `create_table` creates: a table's primary key, indexes and time to live.
#[derive(Debug, Clone, PartialEq)]
pub struct TableDefinition {
    /// The primary key.
    pub schema: crate::schema::KeySchema,
    /// Every secondary index, once.
    pub indexes: Vec<IndexSchema>,
    /// The time-to-live attribute, if any.
    pub ttl: Option<&'static str>,
}

impl TableDefinition {
    /// The definition of model `M` alone.
    pub fn of<M: Model>() -> Self {
        Self {
            schema: M::SCHEMA,
            indexes: M::INDEXES.to_vec(),
            ttl: M::TTL,
        }
    }

    /// Adds model `M` (named `name` in messages), refusing what it defines differently.
    pub fn merge<M: Model>(&mut self, first: &str, name: &str) -> std::result::Result<(), String> {
        if M::SCHEMA != self.schema {
            return Err(format!(
                "`{name}` has primary key {:?}, `{first}` {:?}",
                M::SCHEMA,
                self.schema
            ));
        }
        for index in M::INDEXES {
            match self.indexes.iter().find(|i| i.name == index.name) {
                Some(known) if known != index => {
                    return Err(format!(
                        "index `{}` is defined differently by `{name}` ({index:?}) and an earlier model ({known:?})",
                        index.name
                    ))
                }
                Some(_) => {}
                None => self.indexes.push(*index),
            }
        }
        match (self.ttl, M::TTL) {
            (Some(a), Some(b)) if a != b => {
                return Err(format!(
                    "the time-to-live attribute is `{b}` in `{name}` and `{a}` in an earlier model"
                ))
            }
            (None, ttl) => self.ttl = ttl,
            _ => {}
        }
        Ok(())
    }
}

impl<M: Model> TableModels for M {
    type First = M;
    fn definition() -> std::result::Result<TableDefinition, String> {
        Ok(TableDefinition::of::<M>())
    }
}

/// Entity checks shared by the tuple implementations: one entity attribute, distinct types.
fn check_entities(
    entities: &[(&'static str, Option<crate::key_template::Entity>)],
) -> std::result::Result<(), String> {
    for (i, (name, entity)) in entities.iter().enumerate() {
        let Some(entity) = entity else {
            return Err(format!(
                "`{name}` declares no entity type (`#[dynamo(entity = \"...\")]`), which models sharing a table need"
            ));
        };
        for (other, other_entity) in &entities[..i] {
            let Some(other_entity) = other_entity else {
                continue;
            };
            if other_entity.attribute != entity.attribute {
                return Err(format!(
                    "`{name}` records its entity type in `{}`, `{other}` in `{}`",
                    entity.attribute, other_entity.attribute
                ));
            }
            if other_entity.name == entity.name {
                return Err(format!(
                    "`{name}` and `{other}` are both entity type `{}`",
                    entity.name
                ));
            }
        }
    }
    Ok(())
}

macro_rules! table_models {
    ($first:ident $(, $rest:ident)*) => {
        impl<$first: Model $(, $rest: Model)*> TableModels for ($first, $($rest,)*) {
            type First = $first;
            fn definition() -> std::result::Result<TableDefinition, String> {
                let first = std::any::type_name::<$first>();
                if $($rest::TABLE != $first::TABLE ||)* false {
                    let tables = [$first::TABLE $(, $rest::TABLE)*];
                    return Err(format!("they name different tables: {tables:?}"));
                }
                check_entities(&[
                    (first, $first::ENTITY)
                    $(, (std::any::type_name::<$rest>(), $rest::ENTITY))*
                ])?;
                #[allow(unused_mut)]
                let mut definition = TableDefinition::of::<$first>();
                $(definition.merge::<$rest>(first, std::any::type_name::<$rest>())?;)*
                Ok(definition)
            }
        }
    };
}
table_models!(A);
table_models!(A, B);
table_models!(A, B, C);
table_models!(A, B, C, D);
table_models!(A, B, C, D, E);
table_models!(A, B, C, D, E, F);
table_models!(A, B, C, D, E, F, G);
table_models!(A, B, C, D, E, F, G, H);

/// Deletes model `M`'s table ([`Client::delete_table`]) and waits until it is gone.
/// Deleting a table that does not exist fails with [`Error::TableNotFound`].
#[must_use = "delete_table does nothing until awaited"]
pub struct DeleteTable<M: Model> {
    client: Client,
    max_wait: Duration,
    model: PhantomData<fn() -> M>,
}

impl<M: Model> DeleteTable<M> {
    pub(crate) fn new(client: &Client) -> Self {
        Self {
            client: client.clone(),
            max_wait: DEFAULT_WAIT,
            model: PhantomData,
        }
    }

    /// How long to wait for the table to disappear (5 minutes by default).
    pub fn max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = max_wait;
        self
    }
}

impl<M: Model> IntoFuture for DeleteTable<M> {
    type Output = Result<()>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<()>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let table = self.client.table_name::<M>();
            self.client
                .dynamodb()
                .delete_table()
                .table_name(&table)
                .send()
                .instrument(span("DeleteTable", &table).into_span())
                .await
                .map_err(|e| sdk_error(e, "DeleteTable", &table, String::new))?;
            wait_for(&self.client, &table, self.max_wait, false).await
        })
    }
}

/// Turns on DynamoDB's time to live on `attribute` (already on is fine).
async fn enable_ttl(client: &Client, table: &str, attribute: &str) -> Result<()> {
    let described = client
        .dynamodb()
        .describe_time_to_live()
        .table_name(table)
        .send()
        .instrument(span("DescribeTimeToLive", table).into_span())
        .await
        .map_err(|e| sdk_error(e, "DescribeTimeToLive", table, String::new))?;
    let current = described.time_to_live_description;
    let enabled = current.as_ref().is_some_and(|d| {
        d.attribute_name.as_deref() == Some(attribute)
            && matches!(
                d.time_to_live_status,
                Some(aws_sdk_dynamodb::types::TimeToLiveStatus::Enabled)
                    | Some(aws_sdk_dynamodb::types::TimeToLiveStatus::Enabling)
            )
    });
    if enabled {
        return Ok(());
    }
    let specification = aws_sdk_dynamodb::types::TimeToLiveSpecification::builder()
        .enabled(true)
        .attribute_name(attribute)
        .build()
        .map_err(|e| build_error(table, e))?;
    client
        .dynamodb()
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(specification)
        .send()
        .instrument(span("UpdateTimeToLive", table).into_span())
        .await
        .map_err(|e| sdk_error(e, "UpdateTimeToLive", table, String::new))?;
    Ok(())
}

/// Polls DescribeTable until the table is `ACTIVE` (`exists`) or gone (`!exists`).
///
/// Some servers answer `ACTIVE` at once, AWS answers `CREATING`/`DELETING` for seconds: poll
/// with a short, growing delay rather than the SDK waiter's fixed 20 seconds.
async fn wait_for(client: &Client, table: &str, max_wait: Duration, exists: bool) -> Result<()> {
    let deadline = Instant::now() + max_wait;
    let mut delay = Duration::from_millis(50);
    loop {
        let described = client
            .dynamodb()
            .describe_table()
            .table_name(table)
            .send()
            .instrument(span("DescribeTable", table).into_span())
            .await;
        let done = match described {
            Ok(output) => {
                let description = output.table;
                let status = description.as_ref().and_then(|t| t.table_status.clone());
                let indexes_active = description
                    .as_ref()
                    .and_then(|t| t.global_secondary_indexes.as_ref())
                    .is_none_or(|gsis| {
                        gsis.iter().all(|g| {
                            g.index_status
                                .as_ref()
                                .is_none_or(|s| *s == IndexStatus::Active)
                        })
                    });
                exists && status == Some(TableStatus::Active) && indexes_active
            }
            Err(e) if e.code() == Some("ResourceNotFoundException") => !exists,
            Err(e) => return Err(sdk_error(e, "DescribeTable", table, String::new)),
        };
        if done {
            return Ok(());
        }
        if Instant::now() + delay > deadline {
            return Err(Error::Service {
                operation: "DescribeTable",
                table: table.to_owned(),
                code: "WaitTimeout".into(),
                message: format!(
                    "table did not become {} within {max_wait:?}",
                    if exists { "active" } else { "deleted" }
                ),
                source: "timed out waiting for the table".into(),
            });
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(2));
    }
}

/// A request the SDK refused to build (a required field missing).
fn build_error(table: &str, e: aws_sdk_dynamodb::error::BuildError) -> Error {
    Error::Service {
        operation: "CreateTable",
        table: table.to_owned(),
        code: "InvalidRequest".into(),
        message: e.to_string(),
        source: Box::new(e),
    }
}

/// The key schema of a table or index.
fn key_schema(table: &str, hash: KeyAttr, range: Option<KeyAttr>) -> Result<Vec<KeySchemaElement>> {
    let mut keys = vec![key_element(table, hash, KeyType::Hash)?];
    if let Some(range) = range {
        keys.push(key_element(table, range, KeyType::Range)?);
    }
    Ok(keys)
}

/// The attributes an index copies.
fn projection(index: &IndexSchema) -> Projection {
    match index.projection {
        IndexProjection::All => Projection::builder()
            .projection_type(ProjectionType::All)
            .build(),
        IndexProjection::KeysOnly => Projection::builder()
            .projection_type(ProjectionType::KeysOnly)
            .build(),
        IndexProjection::Include(attributes) => Projection::builder()
            .projection_type(ProjectionType::Include)
            .set_non_key_attributes(Some(attributes.iter().map(|a| (*a).to_owned()).collect()))
            .build(),
    }
}

fn key_element(table: &str, attr: KeyAttr, key_type: KeyType) -> Result<KeySchemaElement> {
    KeySchemaElement::builder()
        .attribute_name(attr.name)
        .key_type(key_type)
        .build()
        .map_err(|e| build_error(table, e))
}

fn definition(table: &str, attr: KeyAttr) -> Result<AttributeDefinition> {
    AttributeDefinition::builder()
        .attribute_name(attr.name)
        .attribute_type(match attr.scalar {
            ScalarType::String => ScalarAttributeType::S,
            ScalarType::Number => ScalarAttributeType::N,
            ScalarType::Binary => ScalarAttributeType::B,
        })
        .build()
        .map_err(|e| build_error(table, e))
}
