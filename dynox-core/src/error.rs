//! The error type of every dynox-core operation.
//!
//! One `#[non_exhaustive]` [`enum@Error`] with the variants a caller acts on. Each variant names
//! the table and, where there is one, the key; `Display` is one line and does not repeat the
//! underlying cause, which [`std::error::Error::source`] returns. AWS SDK error types never
//! appear in signatures: they are only reachable as a `source()`.

use std::error::Error as StdError;

use crate::item::AttributeError;
use crate::reference::FileRef;
use crate::s3_error::S3Error;

/// A boxed underlying cause (an AWS SDK error, an I/O error, ...).
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// `Result` with dynox-core's [`enum@Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong in a dynox operation.
///
/// ```
/// use dynox_core::Error;
///
/// fn retry_worthwhile(error: &Error) -> bool {
///     error.is_throttled() || matches!(error, Error::Transport { .. })
/// }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A conditional write's condition did not hold.
    #[error("condition failed writing item {key} of table `{table}`")]
    ConditionFailed {
        /// The (prefixed) table name.
        table: String,
        /// The item's key, as `name = value` pairs.
        key: String,
        /// The service's error.
        #[source]
        source: Option<BoxError>,
    },

    /// Optimistic locking: the item is no longer at the version this write expected (another
    /// writer got there first). Reload it and try again.
    #[error("item {key} in table `{table}` is no longer at version {expected}")]
    VersionConflict {
        /// The (prefixed) table name.
        table: String,
        /// The item's key.
        key: String,
        /// The version the write expected.
        expected: u64,
    },

    /// A file field refers to a stored object this item does not hold: copied from another
    /// item, or removed by an earlier failed save. Set a new file (or reload the item).
    #[error("file field `{field}` of item {key} in table `{table}` refers to {object}, which the item does not hold: set a new file or reload the item")]
    StaleFile {
        /// The (prefixed) table name.
        table: String,
        /// The item's key.
        key: String,
        /// The file field.
        field: &'static str,
        /// The object referred to.
        object: String,
    },

    /// `create` found an item with the same key already in the table.
    #[error("item {key} already exists in table `{table}`")]
    AlreadyExists {
        /// The (prefixed) table name.
        table: String,
        /// The item's key.
        key: String,
    },

    /// The item is larger than DynamoDB's 400 KB limit.
    #[error("item {key} is too large for table `{table}`: {message}")]
    ItemTooLarge {
        /// The (prefixed) table name.
        table: String,
        /// The item's key.
        key: String,
        /// What the service said.
        message: String,
    },

    /// A field's value cannot be stored, or a stored attribute cannot be read into its field.
    /// What is wrong with the value is the `source`.
    #[error("field `{field}` of item {key} in table `{table}` has an invalid value")]
    InvalidField {
        /// The (prefixed) table name.
        table: String,
        /// The item's key, as far as it is known.
        key: String,
        /// The field's attribute name.
        field: &'static str,
        /// What is wrong with the value.
        #[source]
        source: AttributeError,
    },

    /// A hook of the model (`#[dynamo(hooks)]`) failed: a `before_*` hook stopped the
    /// operation (nothing was uploaded or written); an `after_*` hook failed after it took
    /// effect. The hook's error is the source.
    #[error("hook `{hook}` of {model} {key} (table `{table}`) failed")]
    Hook {
        /// The model (the struct's name).
        model: &'static str,
        /// The hook: `before_save`, `after_save`, `before_delete`, `after_delete`, `after_load`.
        hook: &'static str,
        /// The (prefixed) table name.
        table: String,
        /// The item's key (empty for an item read by a query or scan).
        key: String,
        /// The hook's error.
        #[source]
        source: BoxError,
    },

    /// A field's value breaks its `#[dynamo(validate(...))]` rule. Checked before anything is
    /// uploaded or written: nothing was.
    #[error("field `{field}` of {model} {key} (table `{table}`) {reason}")]
    Validation {
        /// The model (the struct's name).
        model: &'static str,
        /// The (prefixed) table name.
        table: String,
        /// The item's key.
        key: String,
        /// The field, as the struct names it.
        field: &'static str,
        /// What is wrong with the value.
        reason: String,
    },

    /// The item under the key is of another entity type than the model that read it (models
    /// sharing a table). Nothing was decoded or written.
    #[error("item {key} in table `{table}` is {}", match found {
        Some(found) => format!("a `{found}`, not a `{expected}`"),
        None => format!("not a `{expected}`: it records no entity type"),
    })]
    ForeignEntity {
        /// The (prefixed) table name.
        table: String,
        /// The item's key.
        key: String,
        /// The model's entity type.
        expected: &'static str,
        /// The item's, if it records one.
        found: Option<String>,
    },

    /// The table does not exist (or is not active yet).
    #[error("table `{table}` does not exist")]
    TableNotFound {
        /// The (prefixed) table name.
        table: String,
        /// The service's error.
        #[source]
        source: Option<BoxError>,
    },

    /// `create_table` found the table already there.
    #[error("table `{table}` already exists")]
    TableAlreadyExists {
        /// The (prefixed) table name.
        table: String,
    },

    /// The request was throttled (provisioned throughput, request limit, or throttling).
    #[error("{operation} on table `{table}` was throttled")]
    Throttled {
        /// The DynamoDB operation, e.g. `PutItem`.
        operation: &'static str,
        /// The (prefixed) table name.
        table: String,
        /// The service's error.
        #[source]
        source: BoxError,
    },

    /// The request did not get an answer: connection failure, timeout, or an unreadable response.
    #[error("{operation} on table `{table}` did not complete")]
    Transport {
        /// The DynamoDB operation, e.g. `PutItem`.
        operation: &'static str,
        /// The (prefixed) table name.
        table: String,
        /// The transport error.
        #[source]
        source: BoxError,
    },

    /// Any other error the service returned.
    #[error("{operation} on table `{table}` failed: {code}: {message}")]
    Service {
        /// The DynamoDB operation, e.g. `PutItem`.
        operation: &'static str,
        /// The (prefixed) table name.
        table: String,
        /// The service's error code, e.g. `ValidationException`.
        code: String,
        /// The service's message.
        message: String,
        /// The service's error.
        #[source]
        source: BoxError,
    },

    /// A file field's external storage (S3) failed; nothing was written to the table, and
    /// whatever this call had uploaded was removed. The storage error is the `source`.
    #[error("file field `{field}` of item {key} in table `{table}` could not be stored")]
    File {
        /// The (prefixed) table name.
        table: String,
        /// The item's key.
        key: String,
        /// The file field's attribute name.
        field: &'static str,
        /// The storage error (for S3 fields, a `dynox_s3::S3Error`).
        #[source]
        source: BoxError,
    },

    /// Objects that should have been deleted may still be stored.
    ///
    /// `write` says what became of the item write (or delete) itself:
    /// [`WriteOutcome::Committed`] after a committed write whose replaced objects could not all
    /// be deleted, [`WriteOutcome::NotCommitted`] after a failed write whose new objects could
    /// not all be removed, [`WriteOutcome::Unknown`] when the write's fate could not be told
    /// (its new objects are kept, so that a committed item never points at a deleted object).
    /// The write error, or the first cleanup error, is the `source`. The orphan sweep removes
    /// objects no item references later.
    #[error("item {key} in table `{table}`: {} object(s) left behind ({write}): {}", objects.len(), objects.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "))]
    CleanupFailed {
        /// The (prefixed) table name.
        table: String,
        /// The item's key.
        key: String,
        /// What became of the item write or delete.
        write: WriteOutcome,
        /// The objects that may be left.
        objects: Vec<FileRef>,
        /// The write error (unless the write committed), else the first cleanup error.
        #[source]
        source: BoxError,
    },

    /// A transaction was canceled: nothing in it was written. One reason per item, in the
    /// order the items were added.
    #[error("transaction canceled: {}", reasons.iter().filter(|r| r.kind != ReasonKind::None).map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    TransactionCanceled {
        /// Why each item was (or was not) the cause.
        reasons: Vec<TransactionReason>,
    },

    /// The request cannot be sent as built (for example a transaction of more than 100
    /// items); nothing was sent. `kind` says which rule it breaks, `reason` says it in words.
    #[error("invalid request: {reason}")]
    InvalidRequest {
        /// Which rule the request breaks.
        kind: InvalidRequestKind,
        /// What is wrong, naming the table, item, path or index at fault.
        reason: String,
    },

    /// A page token could not be decoded.
    #[error("invalid page token: {reason}")]
    InvalidPageToken {
        /// What is wrong with it.
        reason: &'static str,
    },

    /// An S3 operation of a file field failed outside a write: a download, a presigned link,
    /// a direct upload's attach, a typed value's load, the sweep or the stream cascade. The
    /// [`S3Error`] names the bucket and key (or field, path or setting) at fault. (A write's
    /// S3 failure is [`Error::File`] or [`Error::CleanupFailed`], which name the item too;
    /// [`Error::s3`] finds the S3 error inside any of them.)
    #[error(transparent)]
    S3(#[from] S3Error),
}

impl Error {
    /// Whether an item read was of another entity type than its model
    /// ([`Error::ForeignEntity`]).
    pub fn is_foreign_entity(&self) -> bool {
        matches!(self, Error::ForeignEntity { .. })
    }

    /// Whether a field's value broke its validation rule ([`Error::Validation`]).
    pub fn is_validation(&self) -> bool {
        matches!(self, Error::Validation { .. })
    }

    /// Whether a conditional write failed (including [`Error::AlreadyExists`] and
    /// [`Error::VersionConflict`]).
    pub fn is_condition_failed(&self) -> bool {
        matches!(
            self,
            Error::ConditionFailed { .. }
                | Error::AlreadyExists { .. }
                | Error::VersionConflict { .. }
        )
    }

    /// Whether the request was throttled (by DynamoDB, or by S3's `SlowDown`) and may
    /// succeed if retried later.
    pub fn is_throttled(&self) -> bool {
        matches!(self, Error::Throttled { .. })
            || matches!(self.s3(), Some(S3Error::Service { code, .. }) if &**code == "SlowDown")
    }

    /// Whether what the operation needed does not exist: the table, the bucket, or the object
    /// an item refers to.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::TableNotFound { .. })
            || matches!(
                self.s3(),
                Some(S3Error::NoSuchBucket { .. } | S3Error::NoSuchKey { .. })
            )
    }

    /// Whether a request did not complete (timeout, connection failure): DynamoDB's or S3's.
    pub fn is_transport(&self) -> bool {
        matches!(self, Error::Transport { .. })
            || matches!(self.s3(), Some(S3Error::Transport { .. }))
    }

    /// The S3 error behind this error, if there is one: [`Error::S3`] itself, or the S3
    /// failure inside [`Error::File`] or [`Error::CleanupFailed`] (found along the
    /// `source()` chain).
    ///
    /// ```
    /// use dynox_core::{Error, S3Error};
    ///
    /// fn advice(error: &Error) -> Option<String> {
    ///     match error.s3()? {
    ///         S3Error::NoSuchBucket { bucket, .. } => Some(format!("create bucket {bucket} first")),
    ///         S3Error::AccessDenied { bucket, key, .. } => Some(format!("check the IAM policy for s3://{bucket}/{key}")),
    ///         _ => None,
    ///     }
    /// }
    /// ```
    pub fn s3(&self) -> Option<&S3Error> {
        if let Error::S3(s3) = self {
            return Some(s3);
        }
        let mut current = StdError::source(self);
        while let Some(e) = current {
            if let Some(s3) = e.downcast_ref::<S3Error>() {
                return Some(s3);
            }
            current = e.source();
        }
        None
    }

    /// The error and every cause under it, for printing: `{}` writes them on one line
    /// joined by `: `, `{:#}` one per line under "caused by:". (`Display` of the error alone
    /// is only its own message, as Rust's error convention has it: `bucket `x` does not
    /// exist` is usually the cause, one `source()` away.)
    ///
    /// ```
    /// # fn demo(error: dynox_core::Error) {
    /// eprintln!("save failed: {}", error.report());
    /// // save failed: file field `content` of item pk = "a" in table `documents` could not be
    /// //   stored: bucket `docs` does not exist: service error: NoSuchBucket
    /// # }
    /// ```
    pub fn report(&self) -> Report<'_> {
        Report(self)
    }

    /// The table the failed operation was about (`None` for errors that concern no one
    /// table, such as a canceled transaction or an invalid page token).
    pub fn table(&self) -> Option<&str> {
        match self {
            Error::ConditionFailed { table, .. }
            | Error::AlreadyExists { table, .. }
            | Error::VersionConflict { table, .. }
            | Error::StaleFile { table, .. }
            | Error::ItemTooLarge { table, .. }
            | Error::InvalidField { table, .. }
            | Error::ForeignEntity { table, .. }
            | Error::Validation { table, .. }
            | Error::Hook { table, .. }
            | Error::TableNotFound { table, .. }
            | Error::TableAlreadyExists { table }
            | Error::Throttled { table, .. }
            | Error::Transport { table, .. }
            | Error::Service { table, .. }
            | Error::File { table, .. }
            | Error::CleanupFailed { table, .. } => Some(table.as_str()).filter(|t| !t.is_empty()),
            Error::InvalidPageToken { .. }
            | Error::TransactionCanceled { .. }
            | Error::InvalidRequest { .. }
            | Error::S3(_) => None,
        }
    }
}

/// An error with its chain of causes, for printing: [`Error::report`]. Works for any error
/// (`Report::new(&io_error)`), so a handler can print whatever it got the same way.
pub struct Report<'a>(&'a (dyn StdError + 'static));

impl<'a> Report<'a> {
    /// The report of any error.
    pub fn new(error: &'a (dyn StdError + 'static)) -> Self {
        Report(error)
    }
}

impl std::fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut current = self.0.source();
        let mut previous = self.0.to_string();
        while let Some(cause) = current {
            let text = cause.to_string();
            // A transparent wrapper repeats its cause's message: print it once.
            if text != previous {
                if f.alternate() {
                    write!(f, "\n  caused by: {text}")?;
                } else {
                    write!(f, ": {text}")?;
                }
            }
            previous = text;
            current = cause.source();
        }
        Ok(())
    }
}

impl std::fmt::Debug for Report<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:#}")
    }
}

/// Which rule an [`Error::InvalidRequest`] breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidRequestKind {
    /// A batch or transaction has more items than DynamoDB accepts in one request.
    TooManyItems,
    /// A condition or filter cannot be rendered (a value that cannot be stored).
    Expression,
    /// An update has no change, changes a key or the version, or touches overlapping paths.
    Update,
    /// A strongly consistent read of a global secondary index, which DynamoDB cannot serve.
    ConsistentIndexRead,
    /// A whole model read from an index that does not project every attribute.
    IndexProjection,
    /// A versioned model in a batch write, which cannot check versions.
    VersionedBatchWrite,
    /// The item's version cannot be incremented further.
    VersionExhausted,
    /// An update asked to return the item got none back.
    NoItemReturned,
    /// The SDK refused to build the request (a required member is missing).
    Build,
    /// The models given to `create_table` for one table disagree on its definition.
    TableDefinition,
    /// A backfill checkpoint that cannot be read, written, or is for another run (another
    /// table, another number of segments).
    Checkpoint,
    /// A [`save_changes`](crate::Client::save_changes) that cannot write only what changed:
    /// the [`Tracked`](crate::Tracked) item's key changed since it was loaded, or its loaded
    /// state is unknown (it could not be converted when it was tracked).
    Tracking,
}

/// What became of an item write (or delete) whose cleanup left objects behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WriteOutcome {
    /// The write took effect.
    Committed,
    /// The write did not take effect.
    NotCommitted,
    /// The write's response was lost and reading the item back could not tell.
    Unknown,
}

impl WriteOutcome {
    /// Whether the write is known to have taken effect.
    pub fn is_committed(self) -> bool {
        self == WriteOutcome::Committed
    }
}

impl std::fmt::Display for WriteOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            WriteOutcome::Committed => "write committed",
            WriteOutcome::NotCommitted => "write failed",
            WriteOutcome::Unknown => "the write may have committed",
        })
    }
}

/// Why one item of a canceled transaction was (or was not) its cause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionReason {
    /// The item's position in the transaction (0-based).
    pub index: usize,
    /// The (prefixed) table name.
    pub table: String,
    /// The item's key.
    pub key: String,
    /// What happened to it.
    pub kind: ReasonKind,
    /// DynamoDB's cancellation code (`None`, `ConditionalCheckFailed`, ...).
    pub code: String,
    /// DynamoDB's message, if any.
    pub message: Option<String>,
}

/// What happened to one item of a canceled transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReasonKind {
    /// Nothing: another item canceled the transaction.
    None,
    /// Its condition did not hold.
    ConditionFailed,
    /// It was not at the version the transaction expected.
    VersionConflict,
    /// It was to be created but already exists.
    AlreadyExists,
    /// Another transaction or write was working on it.
    TransactionConflict,
    /// Throttled.
    Throttled,
    /// Any other code.
    Other,
}

impl std::fmt::Display for TransactionReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "item {} ({} in table `{}`): {:?}",
            self.index, self.key, self.table, self.kind
        )
    }
}
