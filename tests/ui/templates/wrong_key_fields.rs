use dynox_core::{Client, DynamoModel};

#[derive(DynamoModel)]
#[dynamo(table = "shop", entity = "Order")]
#[dynamo(pk = "CUSTOMER#{customer_id}", sk = "ORDER#{placed_at}#{order_id}")]
struct Order {
    customer_id: String,
    order_id: String,
    placed_at: u64,
}

async fn demo(client: &Client) {
    // The key's fields in template order: a string where the time goes.
    let _ = Order::get(client, "c1", "o1", 5u64).await;
    // A sort-key prefix takes its fields in order: `order_id` before `placed_at` is no method.
    let _ = Order::sort_key().order_id("o1");
}

fn main() {}
