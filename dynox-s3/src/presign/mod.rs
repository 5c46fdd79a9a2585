//! Presigned URLs: downloads straight from S3, and uploads straight to S3 that are then
//! attached to an item (no bytes through the application).
//!
//! A direct upload is hostile input: whoever holds the form can send any bytes. So
//! [`presign_upload`] signs a POST policy that S3 itself enforces (the exact key, the declared
//! content type, a size range, and metadata binding the object to one item and field), and
//! [`attach`](fn@attach) checks again what arrived before an item may reference it. See
//! [`UploadRefusal`](crate::UploadRefusal) for every refusal.
//!
//! By concern: [`get`] signs download links, [`rules`] holds what a direct upload may be
//! ([`UploadRules`]) and what its uploader declares ([`DeclaredFile`]), [`post_policy`] signs
//! the upload form, [`attach`](mod@attach) checks what arrived, and [`item`] names the item
//! and field an upload is for.

mod attach;
mod get;
mod item;
mod post_policy;
mod rules;

use std::time::Duration;

use aws_sdk_s3::presigning::PresigningConfig;

use crate::error::S3Error;

pub use attach::attach;
pub(crate) use get::presigned_get;
pub use post_policy::{presign_upload, PresignedUpload};
pub use rules::{DeclaredFile, UploadRules};

/// A file field of model `M`, as `M::fields()` names it: what [`presign_upload`] and
/// [`attach`] take, so that a misspelt field, a field that is not a file or another model's
/// field does not compile.
///
/// ```compile_fail
/// # #[derive(dynox_core::DynamoModel)]
/// # #[dynamo(table = "documents")]
/// # struct Document {
/// #     #[dynamo(hash_key)] pk: String,
/// #     title: String,
/// #     #[s3(bucket = "company-docs")] content: Option<dynox_s3::S3Object>,
/// # }
/// fn takes<F: dynox_s3::FileField<Document>>(_: F) {}
/// takes(Document::fields().title); // a string field, not a file
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a file field of `{M}`",
    label = "not a file field of `{M}`",
    note = "pass the `#[s3]` field from the model's typed fields, e.g. `{M}::fields().content`"
)]
pub trait FileField<M> {
    /// The field's attribute name.
    fn attribute(&self) -> String;
}

impl<M, T> FileField<M> for dynox_core::Path<M, T, dynox_core::__private::File> {
    fn attribute(&self) -> String {
        self.to_string()
    }
}

/// The user metadata that binds a direct upload to one item: a digest of its table and key.
pub const ITEM_METADATA: &str = "dynox-item";

/// The user metadata that keeps a direct upload's declared SHA-256 (base64).
const SHA256_METADATA: &str = "dynox-sha256";

/// The shortest presigned URL lifetime.
pub const MIN_EXPIRY: Duration = Duration::from_secs(1);

/// The longest presigned URL lifetime S3 accepts (7 days).
pub const MAX_EXPIRY: Duration = Duration::from_secs(7 * 24 * 3600);

fn presigning(expires: Duration) -> Result<PresigningConfig, S3Error> {
    if !(MIN_EXPIRY..=MAX_EXPIRY).contains(&expires) {
        return Err(S3Error::InvalidExpiry { requested: expires });
    }
    PresigningConfig::expires_in(expires).map_err(|_| S3Error::InvalidExpiry { requested: expires })
}
