use dynox_core::DynamoModel;

#[derive(DynamoModel)]
#[dynamo(table = "articles")]
pub struct Article {
    #[dynamo(hash_key)]
    pub slug: String,
    #[dynamo(created_at, ttl)]
    pub created: std::time::SystemTime,
    #[dynamo(updated_at)]
    pub updated: std::time::SystemTime,
    #[dynamo(updated_at)]
    pub touched: std::time::SystemTime,
}

fn main() {}
