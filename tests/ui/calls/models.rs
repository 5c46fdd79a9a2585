#[derive(dynox_core::DynamoModel)]
#[dynamo(table = "orders")]
pub struct Order {
    #[dynamo(hash_key)]
    pub customer: String,
    #[dynamo(range_key)]
    pub order_id: u64,
}

#[derive(dynox_core::DynamoModel)]
#[dynamo(table = "users")]
pub struct User {
    #[dynamo(hash_key)]
    pub id: String,
}
