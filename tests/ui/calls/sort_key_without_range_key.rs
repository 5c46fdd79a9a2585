include!("models.rs");

use dynox_core::SortKey;

async fn run(client: &dynox_core::Client) {
    let _ = User::query(client, "u1").sort_key(SortKey::eq("x")).all().await;
}

fn main() {}
