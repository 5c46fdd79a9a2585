use dynox_core::DynamoModel;
use dynox_s3::S3Object;

// A model with a bad attribute, used everywhere a model is: only the attribute error is
// reported, not "`Model` is not implemented" or "no function `get`" at every use.
#[derive(DynamoModel)]
#[dynamo(table = "documents", global_index(name = "by_owner", hash_key = owner))]
pub struct Doc {
    #[dynamo(hash_key)]
    pub id: String,
    #[dynamo(range_key)]
    pub revision: u32,
    #[dynamo(primary)]
    pub owner: String,
    #[s3(bucket = "docs")]
    pub body: S3Object,
    #[dynamo(version)]
    pub version: u64,
}

async fn run(client: &dynox_core::Client, mut doc: Doc) {
    let _ = Doc::get(client, "d1", 3).await;
    let _ = client.save(&mut doc).await;
    let _ = Doc::query(client, "d1").all().await;
    let _ = Doc::indexes().by_owner.query(client, "o1").all().await;
    let _ = Doc::fields().owner;
    let _ = Doc::delete(client, "d1", 3).await;
}

fn main() {}
