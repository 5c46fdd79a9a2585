//! [`Failure`]: a write that failed, with what the service's answer says about the stored
//! item, and whether the request reached the server at all. Step 3 (`driver::judge`) decides
//! from it.

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;

use super::Attempts;
use crate::error::Error;
use crate::item::Item;
use std::future::Future;

use crate::request::{sdk_error, span, ConsumedUnits, Traced};
use crate::Client;

/// A write that failed. `C` is what a refusal carries back: the stored item of a single-item
/// write, one per item for a transaction.
pub(crate) struct Failure<C = Option<Item>> {
    /// The error, in dynox's terms.
    pub(crate) error: Error,
    /// `Some` when the service refused the write's condition, with the stored item(s) it
    /// carried back (`ReturnValuesOnConditionCheckFailure = ALL_OLD`; `None` inside when there
    /// is no item, or the server does not return it).
    pub(crate) refused: Option<C>,
    /// Whether the SDK sent the request more than once, or cannot say that it did not.
    pub(crate) retried: bool,
    /// Whether some attempt may have reached the server: `false` only when every attempt
    /// failed to connect (connection refused, no route), so the write cannot have taken
    /// effect.
    pub(crate) reached: bool,
}

impl<C> Failure<C> {
    /// A failure with `error`, and with `refused` carried back, of the request whose
    /// attempts `attempts` counted.
    pub(crate) fn new(error: Error, refused: Option<C>, attempts: &Attempts) -> Self {
        Failure {
            error,
            refused,
            retried: attempts.retried(),
            reached: attempts.reached(),
        }
    }
}

impl Failure {
    /// The failure of a single-item write `operation` on `table`.
    pub(crate) fn of<E, R>(
        err: SdkError<E, R>,
        attempts: &Attempts,
        operation: &'static str,
        table: &str,
        key: &str,
    ) -> Self
    where
        E: CarriesItem + ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        let refused = match &err {
            SdkError::ServiceError(service) => service.err().condition_failure(),
            _ => None,
        };
        let error = sdk_error(err, operation, table, || key.to_owned());
        Failure::new(error, refused, attempts)
    }
}

/// Sends one single-item write request (`send`, the SDK's `send()` future of `operation` on
/// the item `key` of `table`), counting its attempts in `attempts` and tracing it; a failure
/// comes back as [`Failure`].
pub(crate) async fn send_counted<O, E, R>(
    client: &Client,
    attempts: &Attempts,
    send: impl Future<Output = std::result::Result<O, SdkError<E, R>>>,
    operation: &'static str,
    table: &str,
    key: &str,
) -> std::result::Result<O, Failure>
where
    O: ConsumedUnits,
    E: CarriesItem + ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    attempts
        .count(send)
        .traced(span(operation, table), client)
        .await
        .map_err(|e| Failure::of(e, attempts, operation, table, key))
}

/// An operation error whose condition failure can carry the stored item.
pub(crate) trait CarriesItem {
    /// `Some` for a condition failure, with its item if it carried one.
    fn condition_failure(&self) -> Option<Option<Item>>;
}

macro_rules! carries_item {
    ($($error:ident),*) => {$(
        impl CarriesItem for $error {
            fn condition_failure(&self) -> Option<Option<Item>> {
                match self {
                    $error::ConditionalCheckFailedException(e) => Some(e.item().cloned()),
                    _ => None,
                }
            }
        }
    )*};
}

carries_item!(PutItemError, DeleteItemError, UpdateItemError);
