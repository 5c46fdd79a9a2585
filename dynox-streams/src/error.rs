//! [`StreamError`]: what can stop a stream consumer, naming the table, stream or shard.

use dynox_core::BoxError;

/// An error of a stream consumer. A record the cascade could not finish is not an error: it
/// is reported (and retried); these stop the run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StreamError {
    /// The table has no stream enabled (`create_table().stream(StreamView::NewAndOldImages)`).
    #[error(
        "table `{table}` has no stream: enable it with NEW_AND_OLD_IMAGES for the file cascade"
    )]
    NoStream {
        /// The (prefixed) table name.
        table: String,
    },
    /// A DynamoDB or Streams API request failed.
    #[error("{operation} for `{target}` failed")]
    Service {
        /// The operation.
        operation: &'static str,
        /// The table, stream ARN or shard it was for.
        target: String,
        /// The SDK's error.
        #[source]
        source: BoxError,
    },
    /// A shard's checkpoint could not be stored: the poller stops rather than lose its place.
    #[error("cannot store the checkpoint of shard `{shard}`")]
    Checkpoint {
        /// The shard.
        shard: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The cascade could not go on: the stream's records carry no old images
    /// ([`S3Error::StreamWithoutOldImages`](dynox_core::S3Error::StreamWithoutOldImages)), or a
    /// record's objects could not even be looked at (the item could not be read).
    #[error(transparent)]
    Cascade(#[from] dynox_core::Error),
}

impl StreamError {
    pub(crate) fn service(
        operation: &'static str,
        target: &str,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        StreamError::Service {
            operation,
            target: target.to_owned(),
            source: Box::new(source),
        }
    }
}
