//! [`S3Error`]: what can go wrong with a file field's object in S3, naming the bucket, key or
//! field at fault. It is defined here, beside [`Error`](crate::Error), so that one error type
//! carries every failure: [`Error::S3`](crate::Error::S3) holds it, and `?` converts it. The
//! S3 side (`dynox-s3`) builds it from the AWS SDK's errors.

use std::path::PathBuf;

use crate::error::BoxError;

/// An error of a file field operation. Each variant names the bucket and key (or the field,
/// path or setting) at fault; `source()` carries the AWS SDK or I/O error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum S3Error {
    /// The bucket does not exist.
    #[error("bucket `{bucket}` does not exist")]
    NoSuchBucket {
        /// The bucket.
        bucket: String,
        /// The service's error.
        #[source]
        source: BoxError,
    },
    /// The credentials may not do this, or were refused (check the IAM permissions in the
    /// crate docs, and the access key and secret).
    #[error("access denied to s3://{bucket}/{key}")]
    AccessDenied {
        /// The bucket.
        bucket: String,
        /// The object key.
        key: String,
        /// The service's error.
        #[source]
        source: BoxError,
    },
    /// The object does not exist (or the recorded version is gone).
    #[error("object s3://{bucket}/{key} does not exist")]
    NoSuchKey {
        /// The bucket.
        bucket: String,
        /// The object key.
        key: String,
    },
    /// The request timed out or the connection failed.
    #[error("request for s3://{bucket}/{key} did not complete")]
    Transport {
        /// The bucket.
        bucket: String,
        /// The object key.
        key: String,
        /// The transport error.
        #[source]
        source: BoxError,
    },
    /// Any other error S3 returned.
    #[error("{operation} on s3://{bucket}/{key} failed: {code}: {message}")]
    Service {
        /// The S3 operation.
        operation: &'static str,
        /// The bucket.
        bucket: String,
        /// The object key.
        key: String,
        /// The error code.
        code: Box<str>,
        /// The error message.
        message: Box<str>,
        /// The service's error.
        #[source]
        source: BoxError,
    },
    /// A file field names an S3 client (`#[s3(client = "...")]`) that the client's
    /// `S3Settings` do not register
    /// (`S3Settings::named_client`).
    #[error("no S3 client is registered as `{name}`: add it with S3Settings::named_client")]
    UnknownClient {
        /// The name the field gives.
        name: String,
    },
    /// A shared (content-addressed) field found an object at its content's key that this
    /// model's fields did not store (another model, application or environment wrote it):
    /// it is not referenced, since the sweep of its owner would not see this model's items.
    /// Give the field a prefix of its own.
    #[error("s3://{bucket}/{key} belongs to {}, not to this model: give the shared field a prefix of its own", owner.as_deref().unwrap_or("no dynox model"))]
    SharedObjectNotOwned {
        /// The bucket.
        bucket: String,
        /// The object key.
        key: String,
        /// The object's `dynox-owner` metadata, if it has any.
        owner: Option<String>,
    },
    /// The downloaded bytes are not the ones the item recorded.
    #[error("s3://{bucket}/{key} does not match the item: expected {expected}, got {actual}")]
    ChecksumMismatch {
        /// The bucket.
        bucket: String,
        /// The object key.
        key: String,
        /// What the item recorded (`sha256:<base64>` or `size:<n>`).
        expected: String,
        /// What was downloaded.
        actual: String,
    },
    /// The object is still a pending upload: save the item first.
    #[error("the file `{file_name}` has not been uploaded yet: save the item first")]
    NotUploaded {
        /// The pending file's name.
        file_name: String,
    },
    /// The upload source was already used by another save (a reader or stream can be read
    /// only once).
    #[error("the upload source of `{file_name}` was already consumed by an earlier upload")]
    SourceConsumed {
        /// The file's name.
        file_name: String,
    },
    /// A local file could not be read or written.
    #[error("{action} `{}`", path.display())]
    Io {
        /// What was being done (`reading`, `writing`, ...).
        action: &'static str,
        /// The local path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Reading the upload source failed.
    #[error("reading the upload source of `{file_name}` failed")]
    Source {
        /// The file's name.
        file_name: String,
        /// The reader's error.
        #[source]
        source: std::io::Error,
    },
    /// The object key would be invalid (too long, empty segment, ...).
    #[error("invalid object key for field `{field}`: {reason}")]
    InvalidKey {
        /// The field.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// The file is larger than S3 allows (5 TiB).
    #[error("`{file_name}` is {size} bytes, more than S3's 5 TiB object limit")]
    TooLarge {
        /// The file's name.
        file_name: String,
        /// Its size.
        size: u64,
    },
    /// A presigned URL's expiry must be between 1 second and 7 days.
    #[error("presigned URL expiry {requested:?} is outside 1 second to 7 days")]
    InvalidExpiry {
        /// The requested expiry.
        requested: std::time::Duration,
    },
    /// A byte range of a compressed object was asked for: its stored bytes do not map to
    /// ranges of the content. Download it whole (`S3Object::stream`
    /// reads it as it arrives).
    #[error("s3://{bucket}/{key} is compressed: it cannot be read by byte range")]
    RangeOfCompressed {
        /// The bucket.
        bucket: String,
        /// The object key.
        key: String,
    },
    /// The object is compressed with a codec this build of dynox leaves out: enable the
    /// feature of that name (`zstd`, `gzip`). Nothing was downloaded.
    #[error("s3://{bucket}/{key} is {codec}-compressed, and this build of dynox has no {codec}: enable its `{codec}` feature")]
    CodecNotEnabled {
        /// The codec (`zstd`, `gzip`).
        codec: &'static str,
        /// The bucket.
        bucket: String,
        /// The object key.
        key: String,
    },
    /// The item's file attribute is not a valid file reference.
    #[error("invalid file reference: {reason}")]
    InvalidReference {
        /// Why.
        reason: String,
    },
    /// A stream record that removed or changed an item carries no old image: the table's
    /// stream does not include old images, so the file cascade cannot know what the item
    /// referenced. Enable the stream with `StreamView::NewAndOldImages` (or `OldImage`).
    #[error("the stream of table `{table}` carries no old images: enable it with NEW_AND_OLD_IMAGES (or OLD_IMAGE) for the file cascade")]
    StreamWithoutOldImages {
        /// The (prefixed) table name.
        table: String,
    },
    /// Reading an item's file references from DynamoDB failed (the file cascade reads the
    /// current item when a record has no new image).
    #[error("cannot read the file references of an item of table `{table}`")]
    ItemRead {
        /// The (prefixed) table name.
        table: String,
        /// The DynamoDB error.
        #[source]
        source: BoxError,
    },
    /// A typed value (`S3Value`) could not be encoded by its codec for
    /// upload.
    #[error("cannot encode a value of type `{type_name}` as {codec}")]
    Encode {
        /// The value's Rust type.
        type_name: &'static str,
        /// The codec's name (`JSON`, ...).
        codec: &'static str,
        /// The codec's error.
        #[source]
        source: BoxError,
    },
    /// A direct upload (`presign_upload` /
    /// `attach`) that may not become the field's file. Nothing was written.
    #[error("upload s3://{bucket}/{key} for field `{field}` of `{table}` refused: {reason}")]
    UploadRefused {
        /// The model's table (without the client's prefix).
        table: &'static str,
        /// The file field.
        field: &'static str,
        /// The bucket.
        bucket: String,
        /// The object key.
        key: String,
        /// Why (boxed: keeps every `Result<_, S3Error>` small).
        reason: Box<UploadRefusal>,
    },
    /// The content of an object is not a value of the field's type: a typed value
    /// (`S3Value`) its codec could not decode, or an overflow field's
    /// stored value that is not what it should be.
    #[error("s3://{bucket}/{key} does not hold a valid {what}")]
    Decode {
        /// The bucket.
        bucket: String,
        /// The object key.
        key: String,
        /// What it should hold (`` `Report` as JSON ``, ...).
        what: String,
        /// Why it does not.
        #[source]
        source: BoxError,
    },
}

/// Why a direct upload was refused (see [`S3Error::UploadRefused`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UploadRefusal {
    /// The key is not one of the item's upload keys for this field and file name: another
    /// item's key, or a key outside the field's prefix.
    #[error("the key is not an upload key of this item, field and file name")]
    NotThisItemsKey,
    /// Nothing is stored under the key: it was never uploaded, or removed since.
    #[error("nothing was uploaded under this key (or it was removed since)")]
    Missing,
    /// The object was not uploaded through a presigned form of this table and field.
    #[error("the object was not uploaded through a presigned form of this field")]
    NotADirectUpload,
    /// The object was uploaded through a form presigned for another item.
    #[error("the object was uploaded for another item")]
    OtherItem,
    /// The item already references the object: the attach was replayed.
    #[error("the item already references this object (a replayed attach)")]
    AlreadyAttached,
    /// The object is larger than the rules allow.
    #[error("{size} bytes is more than the {max} allowed")]
    TooLarge {
        /// Its size.
        size: u64,
        /// The largest size allowed.
        max: u64,
    },
    /// The object is smaller than the rules allow.
    #[error("{size} bytes is less than the {min} required")]
    TooSmall {
        /// Its size.
        size: u64,
        /// The smallest size allowed.
        min: u64,
    },
    /// The content type is not one the rules allow.
    #[error("content type `{found}` is not allowed (allowed: {})", allowed.join(", "))]
    ContentType {
        /// The content type declared or stored.
        found: String,
        /// The content types allowed.
        allowed: Vec<String>,
    },
    /// The declared SHA-256 is not the base64 of 32 bytes.
    #[error("the declared SHA-256 is not the base64 of 32 bytes")]
    InvalidChecksum,
    /// The rules require a SHA-256, and the upload declared none (or S3 recorded none).
    #[error("the rules require the upload's SHA-256, and there is none")]
    NoChecksum,
    /// The S3 client has no credentials to sign a POST policy with.
    #[error("the S3 client has no credentials to sign the upload form with")]
    NoCredentials,
}

impl S3Error {
    /// Whether this error proves that no request of the operation could have stored
    /// anything: the source could not be read, the key was invalid, the bucket refused every
    /// request, or the connection was refused. Any other failure (a timeout, a lost
    /// response, a server error after the SDK's retries) may follow an attempt that stored
    /// the object.
    pub fn never_reached_server(&self) -> bool {
        match self {
            S3Error::Io { .. }
            | S3Error::Source { .. }
            | S3Error::SourceConsumed { .. }
            | S3Error::InvalidKey { .. }
            | S3Error::TooLarge { .. }
            | S3Error::NotUploaded { .. }
            | S3Error::InvalidExpiry { .. }
            | S3Error::RangeOfCompressed { .. }
            | S3Error::CodecNotEnabled { .. }
            | S3Error::NoSuchBucket { .. }
            | S3Error::AccessDenied { .. }
            | S3Error::SharedObjectNotOwned { .. }
            | S3Error::UnknownClient { .. }
            | S3Error::Encode { .. }
            | S3Error::StreamWithoutOldImages { .. }
            | S3Error::ItemRead { .. }
            | S3Error::UploadRefused { .. } => true,
            S3Error::Transport { source, .. } => connection_refused(source.as_ref()),
            S3Error::NoSuchKey { .. }
            | S3Error::Service { .. }
            | S3Error::ChecksumMismatch { .. }
            | S3Error::InvalidReference { .. }
            | S3Error::Decode { .. } => false,
        }
    }

    /// Whether S3 refused a conditional request (HTTP 412 `PreconditionFailed`).
    pub fn is_precondition_failed(&self) -> bool {
        matches!(self, S3Error::Service { code, .. } if &**code == "PreconditionFailed" || &**code == "HTTP 412")
    }
}

/// Whether the cause chain of `error` holds a refused connection: the request never left.
fn connection_refused(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::ConnectionRefused {
                return true;
            }
        }
        current = e.source();
    }
    false
}
