//! Profiling aid for benchmark 1: converts the sample order N times one way
//! (`cargo run --release -p dynox-bench --example conv_loop -- dynox|hand 1000000`), for
//! `perf stat` / `perf record` without criterion's own work in the profile.

use std::hint::black_box;

use dynox_bench::model::Order;
use dynox_core::Model;

fn main() {
    let mut args = std::env::args().skip(1);
    let way = args.next().unwrap_or_else(|| "dynox".into());
    let n: usize = args
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let order = Order::sample("cust-1", 42);
    for _ in 0..n {
        let item = match way.as_str() {
            "hand" => black_box(&order).to_item_by_hand(),
            _ => black_box(&order).to_item().expect("convert"),
        };
        black_box(item);
    }
}
