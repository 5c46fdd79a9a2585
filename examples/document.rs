//! The document model the `documents` and `sweep` examples share.

use dynox::s3::S3Object;
use dynox::DynamoModel;

/// A document: its record in DynamoDB, its file in S3.
#[derive(Debug, DynamoModel)]
#[dynamo(table = "documents")]
pub struct Document {
    /// The document's id, e.g. `DOC#invoice-2024-001`.
    #[dynamo(hash_key)]
    pub pk: String,
    /// The version of the document, e.g. `v1`.
    #[dynamo(range_key)]
    pub sk: String,
    /// The title.
    pub name: String,
    /// The file itself lives in S3; the item keeps its metadata.
    #[s3(bucket = "company-docs", prefix = "documents/")]
    pub content: Option<S3Object>,
}
