//! What every DynamoDB request of dynox shares, below both the operations (`ops/`) and the
//! two-store protocol (`protocol/`): errors in dynox's terms, the request's tracing span and
//! consumed capacity.

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation as op;
use aws_sdk_dynamodb::types::ConsumedCapacity;

use crate::error::Error;
use crate::model::FieldError;
use crate::Client;

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
    if let crate::item::AttributeError::ForeignEntity { expected, found } = e.error {
        return Error::ForeignEntity {
            table: table.to_owned(),
            key,
            expected,
            found,
        };
    }
    Error::InvalidField {
        table: table.to_owned(),
        key,
        field: e.field,
        source: e.error,
    }
}

/// The tracing span of one DynamoDB request, named after OpenTelemetry's conventions.
/// `aws.dynamodb.consumed_capacity` (capacity units) is filled in when the client asks for
/// it ([`ClientBuilder::consumed_capacity`](crate::ClientBuilder::consumed_capacity)).
pub(crate) fn span(operation: &'static str, table: &str) -> OpSpan {
    let span = tracing::debug_span!(
        "dynamodb",
        otel.name = operation,
        db.system = "dynamodb",
        db.operation.name = operation,
        db.collection.name = table,
        aws.dynamodb.consumed_capacity = tracing::field::Empty,
    );
    OpSpan {
        span,
        operation,
        // Only metrics need the table again.
        table: if crate::metrics::ENABLED {
            table.to_owned()
        } else {
            String::new()
        },
    }
}

/// One DynamoDB request's span, and what its metrics are labelled with.
pub(crate) struct OpSpan {
    span: tracing::Span,
    operation: &'static str,
    table: String,
}

impl OpSpan {
    /// The span alone (table administration, which metrics do not count).
    pub(crate) fn into_span(self) -> tracing::Span {
        self.span
    }
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
    async fn traced<O: ConsumedUnits, E>(self, op: OpSpan, client: &Client) -> Result<O, E>
    where
        Self: std::future::Future<Output = Result<O, E>>,
        E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
    {
        use tracing::Instrument;
        let limited = client
            .limiter()
            .and_then(|l| crate::rate_limit::Kind::of(op.operation).map(|k| (l, k)));
        if let Some((limiter, kind)) = limited {
            limiter.acquire(kind).await;
        }
        let started = crate::metrics::ENABLED.then(std::time::Instant::now);
        let result = self.instrument(op.span.clone()).await;
        let units = result.as_ref().ok().and_then(ConsumedUnits::units);
        if let Some(units) = units.filter(|_| client.capacity().is_some()) {
            op.span.record("aws.dynamodb.consumed_capacity", units);
            crate::metrics::observe(
                "dynox_consumed_capacity_units",
                &[("operation", op.operation), ("table", op.table.as_str())],
                units,
            );
        }
        if let Some((limiter, kind)) = limited {
            match &result {
                Ok(_) => limiter.charge(kind, units.unwrap_or(1.0)),
                Err(e) if crate::metrics::outcome(e.code()) == "throttled" => {
                    limiter.throttled(kind)
                }
                Err(_) => {}
            }
        }
        if let Some(started) = started {
            let outcome = match &result {
                Ok(_) => "ok",
                Err(e) => crate::metrics::outcome(e.code()),
            };
            let labels = [("operation", op.operation), ("table", op.table.as_str())];
            crate::metrics::observe(
                "dynox_request_duration_seconds",
                &labels,
                started.elapsed().as_secs_f64(),
            );
            crate::metrics::count(
                "dynox_requests_total",
                &[labels[0], labels[1], ("outcome", outcome)],
                1,
            );
        }
        result
    }
}

impl<F: std::future::Future> Traced for F {}

/// The error of a value of model `M` that breaks a validation rule.
pub(crate) fn validation_error<M: crate::model::Model>(
    table: &str,
    key: String,
    violation: crate::validate::Violation,
) -> crate::error::Error {
    let model = std::any::type_name::<M>();
    let model = model.rsplit("::").next().unwrap_or(model);
    crate::error::Error::Validation {
        model,
        table: table.to_owned(),
        key,
        field: violation.field,
        reason: violation.reason,
    }
}
