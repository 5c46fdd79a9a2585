include!("models.rs");

// `by_placed`'s hash key is `region`, a String.
async fn run(client: &dynox_core::Client) {
    let _ = Order::indexes().by_placed.query(client, 42u64).all().await;
}

fn main() {}
