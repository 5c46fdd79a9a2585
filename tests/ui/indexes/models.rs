use dynox_core::DynamoModel;

#[derive(DynamoModel)]
#[dynamo(table = "orders")]
#[dynamo(global_index(name = "by_status", hash_key = status))]
#[dynamo(global_index(name = "by_placed", hash_key = region, range_key = placed_at))]
pub struct Order {
    #[dynamo(hash_key)]
    pub customer: String,
    #[dynamo(range_key)]
    pub order_id: u64,
    pub status: Option<String>,
    pub region: String,
    pub placed_at: u64,
}
