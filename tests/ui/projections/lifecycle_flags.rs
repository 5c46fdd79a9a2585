include!("models.rs");

// A projection field takes its role from the model's field: lifecycle flags are refused too,
// and the errors come alone, without more errors where the projection is used.
#[derive(DynamoProjection)]
#[dynamo(model = Order)]
pub struct OrderTimes {
    #[dynamo(created_at)]
    pub order_id: u64,
    #[dynamo(updated_at)]
    pub status: String,
}

async fn run(client: &dynox_core::Client) {
    let _ = Order::query(client, "c1").project::<OrderTimes>().all().await;
}

fn main() {}
