use dynox_core::DynamoModel;

#[derive(DynamoModel)]
#[dynamo(table = "orders")]
struct Order {
    #[dynamo(hash_key)]
    customer: String,
    #[dynamo(range_key)]
    order_id: u64,
    #[dynamo(range_key)]
    created: u64,
}

fn main() {}
