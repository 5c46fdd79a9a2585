//! Benchmark 1: a 20-field model to and from a DynamoDB item, three ways: dynox's generated
//! code, serde_dynamo, and a hand-written conversion. See BENCHMARKS.md.
//!
//! `cargo bench -p dynox-bench --bench conversion` (add `-- --quick` for a smoke run).

use std::collections::HashMap;
use std::hint::black_box;

use aws_sdk_dynamodb::types::AttributeValue;
use criterion::{criterion_group, criterion_main, Criterion};
use dynox_bench::model::Order;
use dynox_core::Model;

type Item = HashMap<String, AttributeValue>;

fn to_item(c: &mut Criterion) {
    let order = Order::sample("cust-1", 42);
    let mut group = c.benchmark_group("to_item");
    group.bench_function("dynox", |b| {
        b.iter(|| black_box(&order).to_item().expect("convert"))
    });
    group.bench_function("serde_dynamo", |b| {
        b.iter(|| -> Item { serde_dynamo::to_item(black_box(&order)).expect("convert") })
    });
    group.bench_function("hand_written", |b| {
        b.iter(|| black_box(&order).to_item_by_hand())
    });
    group.finish();
}

fn from_item(c: &mut Criterion) {
    let item = Order::sample("cust-1", 42).to_item_by_hand();
    // All three read the same item; check that once.
    let expected = Order::sample("cust-1", 42);
    assert_eq!(Order::from_item(item.clone()).expect("dynox"), expected);
    assert_eq!(
        serde_dynamo::from_item::<_, Order>(item.clone()).expect("serde_dynamo"),
        expected
    );
    assert_eq!(Order::from_item_by_hand(item.clone()), Some(expected));

    let mut group = c.benchmark_group("from_item");
    group.bench_function("dynox", |b| {
        b.iter_batched(
            || item.clone(),
            |item| Order::from_item(item).expect("convert"),
            criterion::BatchSize::SmallInput,
        )
    });
    group.bench_function("serde_dynamo", |b| {
        b.iter_batched(
            || item.clone(),
            |item| serde_dynamo::from_item::<_, Order>(item).expect("convert"),
            criterion::BatchSize::SmallInput,
        )
    });
    group.bench_function("hand_written", |b| {
        b.iter_batched(
            || item.clone(),
            |item| Order::from_item_by_hand(item).expect("convert"),
            criterion::BatchSize::SmallInput,
        )
    });
    group.finish();
}

/// The nested serde struct alone: what the derive pays for it (serde_dynamo and the check of
/// what serde_dynamo produced) against building its map by hand. The breakdown behind
/// BENCHMARKS.md's benchmark 1.
fn nested(c: &mut Criterion) {
    let shipping = Order::sample("cust-1", 42).shipping;
    let mut group = c.benchmark_group("nested_to_attribute");
    group.bench_function("dynox", |b| {
        b.iter(|| dynox_core::item::to_serde_attribute(black_box(&shipping)).expect("convert"))
    });
    group.bench_function("hand_written", |b| {
        b.iter(|| {
            let s = black_box(&shipping);
            let mut map = HashMap::with_capacity(4);
            map.insert("carrier".to_owned(), AttributeValue::S(s.carrier.clone()));
            map.insert("method".to_owned(), AttributeValue::S(s.method.clone()));
            map.insert(
                "eta_days".to_owned(),
                AttributeValue::N(s.eta_days.to_string()),
            );
            map.insert("insured".to_owned(), AttributeValue::Bool(s.insured));
            AttributeValue::M(map)
        })
    });
    group.finish();
}

criterion_group!(benches, to_item, from_item, nested);
criterion_main!(benches);
