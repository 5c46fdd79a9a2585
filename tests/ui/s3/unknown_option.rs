use dynox_core::DynamoModel;
use dynox_s3::S3Object;

#[derive(DynamoModel)]
#[dynamo(table = "documents")]
struct Document {
    #[dynamo(hash_key)]
    pk: String,
    #[s3(bukket = "company-docs", bucket = "company-docs")]
    content: S3Object,
}

fn main() {}
