use dynox_core::DynamoModel;
use dynox_s3::S3Object;

#[derive(DynamoModel)]
#[dynamo(table = "documents")]
struct Document {
    #[dynamo(hash_key)]
    pk: String,
    #[s3(bucket = "company-docs", compress = "brotli")]
    content: S3Object,
    #[s3(bucket = "company-docs", compress = "zstd", compress = "gzip")]
    scan: Option<S3Object>,
    #[s3(bucket = "company-docs", compress = "ZSTD")]
    thumbnail: Option<S3Object>,
}

fn main() {}
