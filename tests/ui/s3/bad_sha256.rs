use dynox_core::DynamoModel;
use dynox_s3::S3Object;

#[derive(DynamoModel)]
#[dynamo(table = "documents")]
struct Document {
    #[dynamo(hash_key)]
    pk: String,
    // Fine: a file that records a SHA-256 as well as its CRC-64.
    #[s3(bucket = "company-docs", sha256)]
    content: S3Object,
    #[s3(bucket = "company-docs", shared, sha256)]
    logo: Option<S3Object>,
    #[s3(bucket = "company-docs", overflow, sha256)]
    notes: String,
    #[s3(bucket = "company-docs", sha256, sha256)]
    scan: Option<S3Object>,
    #[s3(bucket = "company-docs", sha256 = "yes")]
    thumbnail: Option<S3Object>,
}

fn main() {}
