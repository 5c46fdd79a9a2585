//! S3 file fields for dynox models: `#[s3(bucket = "...", prefix = "...")]`.
//!
//! This crate will hold the S3 side of dynox: upload sources, stored-object metadata,
//! streaming multipart upload and download, presigned URLs, the two-store consistency protocol
//! and the orphan sweep. It builds its S3 client from the same `SdkConfig` as
//! [`dynox_core::Client`]. Nothing is implemented yet; see the project's issue tracker.

#![warn(missing_docs)]
