use dynox_core::DynamoModel;

#[derive(DynamoModel)]
#[dynamo(table = "orders")]
struct Order {
    #[dynamo(hash_key)]
    customer: String,
    total_cents: i64,
}

fn main() {
    let _ = Order::fields().total_cents.begins_with("1");
}
