use dynox_core::DynamoModel;

#[derive(DynamoModel)]
#[dynamo(table = "orders")]
#[dynamo(global_index(name = "by_status", hash_key = state))]
#[dynamo(global_index(name = "by_status", hash_key = status, range_key = status))]
#[dynamo(global_index(name = "no_hash", range_key = placed_at))]
#[dynamo(global_index(name = "by_tags", hash_key = tags))]
#[dynamo(global_index(name = "x", hash_key = status))]
#[dynamo(global_index(name = "by.status", hash_key = status))]
#[dynamo(local_index(name = "local_with_hash", hash_key = status, range_key = placed_at))]
#[dynamo(local_index(name = "local_without_range"))]
#[dynamo(local_index(name = "local_on_table_range", range_key = order_id))]
#[dynamo(global_index(name = "bad_projection", hash_key = status, projection = "some"))]
#[dynamo(global_index(name = "bad_include", hash_key = status, include(nothing_here)))]
#[dynamo(global_index(name = "unknown_key", hash_key = status, sort = placed_at))]
pub struct Order {
    #[dynamo(hash_key)]
    pub customer: String,
    #[dynamo(range_key)]
    pub order_id: u64,
    pub status: String,
    pub placed_at: u64,
    #[dynamo(set)]
    pub tags: std::collections::BTreeSet<String>,
}

fn main() {}
