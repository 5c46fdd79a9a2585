use dynox_core::DynamoModel;
use dynox_s3::S3Object;

// Every mistake in a validation rule, each reported with its span.
#[derive(DynamoModel)]
#[dynamo(table = "products")]
struct Product {
    #[dynamo(hash_key)]
    sku: String,
    #[dynamo(validate(length()))]
    name: String,
    #[dynamo(validate(length(min = 5, max = 2)))]
    code: String,
    #[dynamo(validate(length(min = 1, most = 3)))]
    label: String,
    #[dynamo(validate(range()))]
    price: u32,
    #[dynamo(validate(pattern = "[a-z"))]
    slug: String,
    #[dynamo(validate(unique))]
    email: String,
    #[dynamo(validate())]
    note: String,
    #[s3(bucket = "files")]
    #[dynamo(validate(length(max = 10)))]
    file: S3Object,
}

fn main() {}
