//! [`S3Error`]: what can go wrong with a file field, naming the bucket, key or field at fault.
//! The type lives in `dynox-core` (inside [`dynox_core::Error::S3`], so one error type carries
//! every failure); this module builds it from the AWS SDK's errors.

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

pub use dynox_core::BoxError;
pub use dynox_core::{S3Error, UploadRefusal};

/// Building an [`S3Error`] from an AWS SDK error.
pub(crate) trait FromSdk {
    /// Maps an SDK error of `operation` on `bucket`/`key`.
    fn from_sdk<E>(
        err: SdkError<E, aws_smithy_runtime_api::http::Response>,
        operation: &'static str,
        bucket: &str,
        key: &str,
    ) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static;
}

impl FromSdk for S3Error {
    fn from_sdk<E>(
        err: SdkError<E, aws_smithy_runtime_api::http::Response>,
        operation: &'static str,
        bucket: &str,
        key: &str,
    ) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let bucket = bucket.to_owned();
        let key = key.to_owned();
        if !matches!(err, SdkError::ServiceError(_)) {
            return S3Error::Transport {
                bucket,
                key,
                source: Box::new(err),
            };
        }
        let status = match &err {
            SdkError::ServiceError(e) => e.raw().status().as_u16(),
            _ => 0,
        };
        let code = err.code().unwrap_or_default().to_owned();
        match code.as_str() {
            "NoSuchBucket" => S3Error::NoSuchBucket {
                bucket,
                source: Box::new(err),
            },
            "NoSuchKey" | "NoSuchVersion" => S3Error::NoSuchKey { bucket, key },
            "NotFound" | "" if status == 404 => S3Error::NoSuchKey { bucket, key },
            "AccessDenied" | "Forbidden" | "InvalidAccessKeyId" | "SignatureDoesNotMatch" => {
                S3Error::AccessDenied {
                    bucket,
                    key,
                    source: Box::new(err),
                }
            }
            "" if status == 403 => S3Error::AccessDenied {
                bucket,
                key,
                source: Box::new(err),
            },
            _ => S3Error::Service {
                operation,
                bucket,
                key,
                message: err.message().unwrap_or_default().into(),
                code: if code.is_empty() {
                    format!("HTTP {status}").into()
                } else {
                    code.into()
                },
                source: Box::new(err),
            },
        }
    }
}
