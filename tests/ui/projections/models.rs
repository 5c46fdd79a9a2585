use dynox_core::{DynamoModel, DynamoProjection};

#[derive(DynamoModel)]
#[dynamo(table = "orders")]
pub struct Order {
    #[dynamo(hash_key)]
    pub customer: String,
    #[dynamo(range_key)]
    pub order_id: u64,
    pub status: String,
}

#[derive(DynamoModel)]
#[dynamo(table = "users")]
pub struct User {
    #[dynamo(hash_key)]
    pub id: String,
}
