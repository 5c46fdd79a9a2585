use dynox_core::DynamoModel;
use dynox_s3::S3Object;

#[derive(DynamoModel)]
#[dynamo(table = "documents")]
struct Document {
    #[dynamo(hash_key)]
    #[s3(bucket = "company-docs")]
    pk: S3Object,
}

fn main() {}
