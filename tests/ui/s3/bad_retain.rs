use dynox_core::DynamoModel;
use dynox_s3::S3Object;

#[derive(DynamoModel)]
#[dynamo(table = "documents")]
struct Document {
    #[dynamo(hash_key)]
    pk: String,
    #[s3(bucket = "company-docs", retain = "15")]
    content: S3Object,
    #[s3(bucket = "company-docs", retain = "1 week")]
    scan: Option<S3Object>,
    #[s3(bucket = "company-docs", retain = "1h", retain = "2h")]
    thumbnail: Option<S3Object>,
    #[s3(bucket = "company-docs", shared, retain = "1h")]
    logo: Option<S3Object>,
    #[s3(bucket = "company-docs", retain = 3600)]
    banner: Option<S3Object>,
}

fn main() {}
