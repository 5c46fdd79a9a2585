include!("models.rs");

async fn run(client: &dynox_core::Client) {
    let _ = Order::get(client, "cust-1", "42").await;
    let _ = User::get(client, 7).await;
}

fn main() {}
