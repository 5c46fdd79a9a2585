use dynox_core::DynamoModel;
use dynox_s3::S3Object;

#[derive(DynamoModel)]
#[dynamo(table = "documents")]
struct Document {
    #[dynamo(hash_key)]
    pk: String,
    // Without {upload}, a second save would overwrite the object the item points to.
    #[s3(bucket = "company-docs", key = "{prefix}{hash}/{file}")]
    content: S3Object,
    #[s3(bucket = "company-docs", key = "{upload}/{filename}")]
    thumbnail: Option<S3Object>,
}

fn main() {}
