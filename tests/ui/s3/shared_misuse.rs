use dynox_core::DynamoModel;
use dynox_s3::S3Object;

#[derive(DynamoModel)]
#[dynamo(table = "attachments")]
struct Attachment {
    #[dynamo(hash_key)]
    pk: String,
    // A shared field's key must be its content's hash.
    #[s3(bucket = "blobs", shared, key = "{prefix}{hash}/{file}")]
    no_hash: Option<S3Object>,
    // ... and cannot be an upload's.
    #[s3(bucket = "blobs", shared, key = "{prefix}{sha256}/{upload}")]
    with_upload: Option<S3Object>,
    // The content's hash names shared objects only.
    #[s3(bucket = "blobs", key = "{prefix}{sha256}")]
    not_shared: Option<S3Object>,
    // `shared` is a flag.
    #[s3(bucket = "blobs", shared = "yes")]
    valued: Option<S3Object>,
    // A client name cannot be empty.
    #[s3(bucket = "blobs", client = "")]
    no_client: Option<S3Object>,
}

fn main() {}
