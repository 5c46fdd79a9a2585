include!("models.rs");

use dynox_core::SortKey;

// `by_status` has no sort key: no range operator applies to it.
async fn run(client: &dynox_core::Client) {
    let _ = Order::indexes().by_status.query(client, "open").sort_key(SortKey::eq("x")).all().await;
}

fn main() {}
