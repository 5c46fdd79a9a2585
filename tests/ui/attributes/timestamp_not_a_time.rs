use dynox_core::DynamoModel;

#[derive(DynamoModel)]
#[dynamo(table = "articles")]
pub struct Article {
    #[dynamo(hash_key)]
    pub slug: String,
    #[dynamo(updated_at)]
    pub updated: String,
}

fn main() {}
