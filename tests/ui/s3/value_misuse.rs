use dynox_core::DynamoModel;
use dynox_s3::S3Value;

/// Not serde: `S3Value<T>` (JSON) needs `Serialize + DeserializeOwned`.
struct Opaque;

#[derive(DynamoModel)]
#[dynamo(table = "reports")]
struct Report {
    #[dynamo(hash_key)]
    pk: String,
    #[s3(bucket = "reports")]
    summary: S3Value<Opaque>,
}

fn main() {}
