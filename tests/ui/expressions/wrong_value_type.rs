use dynox_core::DynamoModel;

#[derive(DynamoModel)]
#[dynamo(table = "orders")]
struct Order {
    #[dynamo(hash_key)]
    customer: String,
    total_cents: i64,
}

fn main() {
    let f = Order::fields();
    let _ = f.total_cents.gt("1000");
    let _ = f.customer.eq(42);
}
