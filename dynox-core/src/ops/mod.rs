//! The operations: one module per family. Each is a builder that is awaited directly
//! (`IntoFuture`), so options chain before the request is sent.

pub(crate) mod batch;
pub(crate) mod delete;
pub(crate) mod get;
pub(crate) mod query;
pub(crate) mod read;
pub(crate) mod references;
pub(crate) mod save;
pub(crate) mod save_all;
pub(crate) mod scan;
pub(crate) mod transact;
pub(crate) mod transact_get;
pub(crate) mod update;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

use crate::error::{Error, Result};
use crate::item::Item;
use crate::model::{FieldError, KeyAttribute, Model, RangeKey};
use crate::{Client, Key};

/// Maps an SDK error to a dynox [`Error`] for `operation` on `table`; `key` names the item.
pub(crate) fn sdk_error<E, R>(
    err: SdkError<E, R>,
    operation: &'static str,
    table: &str,
    key: impl FnOnce() -> String,
) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let table = table.to_owned();
    if !matches!(err, SdkError::ServiceError(_)) {
        return Error::Transport {
            operation,
            table,
            source: Box::new(err),
        };
    }
    let code = err.code().unwrap_or("Unknown").to_owned();
    let message = err.message().unwrap_or_default().to_owned();
    match code.as_str() {
        "ConditionalCheckFailedException" => Error::ConditionFailed {
            table,
            key: key(),
            source: Some(Box::new(err)),
        },
        "ProvisionedThroughputExceededException"
        | "ThrottlingException"
        | "RequestLimitExceeded" => Error::Throttled {
            operation,
            table,
            source: Box::new(err),
        },
        "ResourceNotFoundException" => Error::TableNotFound {
            table,
            source: Some(Box::new(err)),
        },
        "ValidationException" if message.contains("Item size") => Error::ItemTooLarge {
            table,
            key: key(),
            message,
        },
        _ => Error::Service {
            operation,
            table,
            code,
            message,
            source: Box::new(err),
        },
    }
}

/// 64 bits that differ between calls (idempotency tokens, backoff jitter): not for secrets.
pub(crate) fn random() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    h.finish()
}

/// A field conversion error of an item of `table`.
pub(crate) fn field_error(table: &str, key: String, e: FieldError) -> Error {
    Error::InvalidField {
        table: table.to_owned(),
        key,
        field: e.field,
        source: e.error,
    }
}

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

/// The tracing span of one DynamoDB request, named after OpenTelemetry's conventions.
/// `aws.dynamodb.consumed_capacity` (capacity units) is filled in when the client asks for
/// it ([`ClientBuilder::consumed_capacity`](crate::ClientBuilder::consumed_capacity)).
pub(crate) fn span(operation: &'static str, table: &str) -> tracing::Span {
    tracing::debug_span!(
        "dynamodb",
        otel.name = operation,
        db.system = "dynamodb",
        db.operation.name = operation,
        db.collection.name = table,
        aws.dynamodb.consumed_capacity = tracing::field::Empty,
    )
}

/// A response that may report consumed capacity.
pub(crate) trait ConsumedUnits {
    /// The capacity units consumed, summed over tables and indexes, if reported.
    fn units(&self) -> Option<f64>;
}

fn sum<'a>(capacity: impl IntoIterator<Item = &'a ConsumedCapacity>) -> Option<f64> {
    capacity
        .into_iter()
        .filter_map(|c| c.capacity_units)
        .fold(None, |total, units| Some(total.unwrap_or(0.0) + units))
}

macro_rules! consumed_units {
    ($($output:ty),* $(,)?) => {$(
        impl ConsumedUnits for $output {
            fn units(&self) -> Option<f64> {
                sum(self.consumed_capacity())
            }
        }
    )*};
}
use aws_sdk_dynamodb::operation as op;
use aws_sdk_dynamodb::types::ConsumedCapacity;
consumed_units!(
    op::get_item::GetItemOutput,
    op::put_item::PutItemOutput,
    op::delete_item::DeleteItemOutput,
    op::update_item::UpdateItemOutput,
    op::query::QueryOutput,
    op::scan::ScanOutput,
    op::batch_get_item::BatchGetItemOutput,
    op::batch_write_item::BatchWriteItemOutput,
    op::transact_write_items::TransactWriteItemsOutput,
    op::transact_get_items::TransactGetItemsOutput,
);

/// Runs a request inside its span and, if `client` asked for consumed capacity
/// ([`Client::capacity`]), records it there (some servers report it unasked).
pub(crate) trait Traced: std::future::Future + Sized {
    async fn traced<O: ConsumedUnits, E>(self, span: tracing::Span, client: &Client) -> Result<O, E>
    where
        Self: std::future::Future<Output = Result<O, E>>,
    {
        use tracing::Instrument;
        let result = self.instrument(span.clone()).await;
        let units = result.as_ref().ok().and_then(ConsumedUnits::units);
        if let Some(units) = units.filter(|_| client.capacity().is_some()) {
            span.record("aws.dynamodb.consumed_capacity", units);
        }
        result
    }
}

impl<F: std::future::Future> Traced for F {}
