include!("models.rs");

async fn run(client: &dynox_core::Client) {
    let _ = Order::get(client, "cust-1").await;
    let _ = User::get(client, "u1", 42).await;
}

fn main() {}
