//! The operations: one module per family. Each is a builder that is awaited directly
//! (`IntoFuture`), so options chain before the request is sent.

pub(crate) mod batch;
pub(crate) mod delete;
pub(crate) mod get;
pub(crate) mod query;
pub(crate) mod save;
pub(crate) mod scan;
pub(crate) mod transact;
pub(crate) mod transact_get;
pub(crate) mod update;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

use crate::error::Error;
use crate::model::FieldError;

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

/// The tracing span of one DynamoDB request, named after OpenTelemetry's conventions.
pub(crate) fn span(operation: &'static str, table: &str) -> tracing::Span {
    tracing::debug_span!(
        "dynamodb",
        otel.name = operation,
        db.system = "dynamodb",
        db.operation.name = operation,
        db.collection.name = table,
    )
}
