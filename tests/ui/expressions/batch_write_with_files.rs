use dynox_core::DynamoModel;

#[derive(DynamoModel)]
#[dynamo(table = "documents")]
struct Document {
    #[dynamo(hash_key)]
    id: String,
    #[s3(bucket = "docs-bucket")]
    file: dynox_s3::S3Object,
}

async fn run(client: &dynox_core::Client) {
    // A batch write cannot keep the two-store promise: models with files must use a
    // transaction or save.
    let _ = client.batch_write::<Document>();
}

fn main() {}
