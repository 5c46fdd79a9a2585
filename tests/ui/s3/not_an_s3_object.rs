use dynox_core::DynamoModel;

#[derive(DynamoModel)]
#[dynamo(table = "documents")]
struct Document {
    #[dynamo(hash_key)]
    pk: String,
    #[s3(bucket = "company-docs")]
    content: Vec<u8>,
}

fn main() {}
