include!("models.rs");

#[derive(DynamoProjection)]
#[dynamo(model = User)]
pub struct UserId {
    pub id: String,
}

// A projection of `User` cannot read `Order`s.
async fn run(client: &dynox_core::Client) {
    let _ = Order::query(client, "c1").project::<UserId>().all().await;
}

fn main() {}
