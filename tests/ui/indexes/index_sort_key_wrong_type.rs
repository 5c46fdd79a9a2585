include!("models.rs");

use dynox_core::SortKey;

// `by_placed` sorts by `placed_at`, a u64: a string bound does not compile.
async fn run(client: &dynox_core::Client) {
    let _ = Order::indexes()
        .by_placed
        .query(client, "eu")
        .sort_key(SortKey::begins_with("2026"))
        .all()
        .await;
}

fn main() {}
