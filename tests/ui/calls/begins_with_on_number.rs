include!("models.rs");

use dynox_core::SortKey;

async fn run(client: &dynox_core::Client) {
    let _ = Order::query(client, "cust-1").sort_key(SortKey::begins_with("4")).all().await;
}

fn main() {}
