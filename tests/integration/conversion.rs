//! Item conversion: a property test round-trips every supported field type, edge values
//! included, through `to_item`/`from_item`; a server test checks that the extremes survive
//! a real write and read.

use std::collections::{BTreeSet, HashMap, HashSet};

use dynox_core::item::{Attribute, AttributeValue};
use dynox_core::{DynamoModel, Error, Model};
use proptest::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Address {
    street: String,
    zip: Option<u32>,
    lines: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Kind {
    Plain,
    Tagged(i64),
    Named { label: String },
}

#[derive(Debug, Clone, PartialEq, DynamoModel)]
#[dynamo(table = "everything")]
struct Everything {
    #[dynamo(hash_key)]
    id: String,
    #[dynamo(range_key)]
    version: i64,
    text: String,
    flag: bool,
    i8_: i8,
    i16_: i16,
    i32_: i32,
    i64_: i64,
    u8_: u8,
    u16_: u16,
    u32_: u32,
    u64_: u64,
    usize_: usize,
    isize_: isize,
    f32_: f32,
    f64_: f64,
    bytes: Vec<u8>,
    maybe_text: Option<String>,
    maybe_number: Option<u64>,
    maybe_bytes: Option<Vec<u8>>,
    #[dynamo(set)]
    string_set: HashSet<String>,
    #[dynamo(set)]
    number_set: BTreeSet<i64>,
    #[dynamo(set)]
    binary_set: BTreeSet<Vec<u8>>,
    address: Address,
    maybe_address: Option<Address>,
    kinds: Vec<Kind>,
    scores: HashMap<String, f64>,
    #[dynamo(rename = "type")]
    r#type: String,
}

/// Finite f64 values DynamoDB can store: zero or magnitude in 1e-130..1e126.
fn storable_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(0.0),
        Just(-0.0),
        Just(f64::EPSILON),
        Just(1e125),
        Just(-1e-129),
        Just(0.1),
        (-1e125..1e125f64),
        (1e-129..1.0f64),
    ]
}

fn storable_f32() -> impl Strategy<Value = f32> {
    prop_oneof![
        Just(f32::MAX),
        Just(f32::MIN),
        Just(f32::MIN_POSITIVE),
        Just(f32::EPSILON),
        any::<f32>().prop_filter("finite", |f| f.is_finite()),
    ]
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        Just(Kind::Plain),
        any::<i64>().prop_map(Kind::Tagged),
        ".*".prop_map(|label| Kind::Named { label }),
    ]
}

fn address() -> impl Strategy<Value = Address> {
    (
        ".*",
        any::<Option<u32>>(),
        prop::collection::vec(".*", 0..3),
    )
        .prop_map(|(street, zip, lines)| Address { street, zip, lines })
}

fn everything() -> impl Strategy<Value = Everything> {
    let keys = ("\\PC{1,20}", any::<i64>());
    let ints = (
        any::<i8>(),
        any::<i16>(),
        any::<i32>(),
        any::<i64>(),
        any::<u8>(),
        any::<u16>(),
        any::<u32>(),
        any::<u64>(),
        any::<usize>(),
        any::<isize>(),
    );
    let scalars = (
        ".*",
        any::<bool>(),
        storable_f32(),
        storable_f64(),
        any::<Vec<u8>>(),
    );
    let options = (
        any::<Option<String>>(),
        any::<Option<u64>>(),
        any::<Option<Vec<u8>>>(),
    );
    let sets = (
        prop::collection::hash_set(".*", 0..4),
        prop::collection::btree_set(any::<i64>(), 0..4),
        prop::collection::btree_set(prop::collection::vec(any::<u8>(), 0..4), 0..4),
    );
    let nested = (
        address(),
        prop::option::of(address()),
        prop::collection::vec(kind(), 0..4),
        prop::collection::hash_map(".+", storable_f64(), 0..3),
        ".*",
    );
    (keys, ints, scalars, options, sets, nested).prop_map(
        |((id, version), ints, scalars, options, sets, nested)| Everything {
            id,
            version,
            text: scalars.0,
            flag: scalars.1,
            i8_: ints.0,
            i16_: ints.1,
            i32_: ints.2,
            i64_: ints.3,
            u8_: ints.4,
            u16_: ints.5,
            u32_: ints.6,
            u64_: ints.7,
            usize_: ints.8,
            isize_: ints.9,
            f32_: scalars.2,
            f64_: scalars.3,
            bytes: scalars.4,
            maybe_text: options.0,
            maybe_number: options.1,
            maybe_bytes: options.2,
            string_set: sets.0,
            number_set: sets.1,
            binary_set: sets.2,
            address: nested.0,
            maybe_address: nested.1,
            kinds: nested.2,
            scores: nested.3,
            r#type: nested.4,
        },
    )
}

fn extremes() -> Everything {
    Everything {
        id: "édge 🚀".into(),
        version: i64::MIN,
        text: String::new(),
        flag: true,
        i8_: i8::MIN,
        i16_: i16::MIN,
        i32_: i32::MIN,
        i64_: i64::MAX,
        u8_: u8::MAX,
        u16_: u16::MAX,
        u32_: u32::MAX,
        u64_: u64::MAX,
        usize_: usize::MAX,
        isize_: isize::MIN,
        f32_: f32::MIN_POSITIVE,
        f64_: 0.1 + 0.2,
        bytes: vec![0, 255],
        maybe_text: Some(String::new()),
        maybe_number: None,
        maybe_bytes: Some(Vec::new()),
        string_set: [String::new(), "x".into()].into(),
        number_set: [i64::MIN, 0, i64::MAX].into(),
        binary_set: [vec![], vec![0]].into(),
        address: Address {
            street: "s".into(),
            zip: Some(u32::MAX),
            lines: vec![],
        },
        maybe_address: None,
        kinds: vec![
            Kind::Plain,
            Kind::Tagged(i64::MIN),
            Kind::Named { label: "l".into() },
        ],
        scores: [("pi".to_string(), std::f64::consts::PI)].into(),
        r#type: "reserved word".into(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_supported_type_round_trips(value in everything()) {
        let item = value.to_item().unwrap();
        // Absent options and empty sets store no attribute at all.
        prop_assert_eq!(item.contains_key("maybe_text"), value.maybe_text.is_some());
        prop_assert_eq!(item.contains_key("string_set"), !value.string_set.is_empty());
        prop_assert!(item.values().all(|v| !matches!(v, AttributeValue::Null(_))));
        let back = Everything::from_item(item).unwrap();
        prop_assert_eq!(back, value);
    }

    #[test]
    fn integers_are_stored_as_exact_decimal_strings(n in any::<i64>(), u in any::<u64>()) {
        prop_assert_eq!(n.to_attribute().unwrap(), Some(AttributeValue::N(n.to_string())));
        prop_assert_eq!(u64::from_attribute(Some(AttributeValue::N(u.to_string()))).unwrap(), u);
    }

    #[test]
    fn floats_round_trip_bit_for_bit(f in storable_f64()) {
        let stored = f.to_attribute().unwrap();
        let back = f64::from_attribute(stored).unwrap();
        prop_assert_eq!(back.to_bits(), f.to_bits());
    }
}

#[test]
fn unstorable_numbers_are_typed_errors_naming_the_field() {
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1e300, 1e-300] {
        let mut value = extremes();
        value.f64_ = bad;
        let err = value.to_item().unwrap_err();
        assert_eq!(err.field, "f64_", "{bad}");
    }
    let mut value = extremes();
    value.scores.insert("nan".into(), f64::NAN);
    assert_eq!(value.to_item().unwrap_err().field, "scores");
    let mut value = extremes();
    value.scores.insert(String::new(), 1.0);
    let err = value.to_item().unwrap_err();
    assert_eq!(
        (err.field, err.error),
        ("scores", dynox_core::item::AttributeError::EmptyMapKey)
    );
    assert!(
        u128::MAX.to_attribute().is_err(),
        "39 significant digits do not fit"
    );
    assert!(u8::from_attribute(Some(AttributeValue::N("256".into()))).is_err());
    assert!(i64::from_attribute(Some(AttributeValue::N("1.5".into()))).is_err());
}

#[test]
fn a_missing_required_attribute_names_the_field() {
    let mut item = extremes().to_item().unwrap();
    item.remove("address");
    let err = Everything::from_item(item).unwrap_err();
    assert_eq!(err.field, "address");
    let mut item = extremes().to_item().unwrap();
    item.remove("u64_");
    assert_eq!(Everything::from_item(item).unwrap_err().field, "u64_");
}

#[tokio::test]
async fn extremes_survive_a_real_write_and_read() {
    let client = dynox_tests::client_with::<Everything>().await;
    let mut value = extremes();
    client.save(&mut value).await.unwrap();
    let back = Everything::get(&client, "édge 🚀", i64::MIN).await.unwrap();
    assert_eq!(back, Some(value));

    let mut nan = extremes();
    nan.f64_ = f64::NAN;
    let err = client.save(&mut nan).await.unwrap_err();
    assert!(
        matches!(err, Error::InvalidField { field: "f64_", .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn random_values_survive_a_real_write_and_read() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    let client = dynox_tests::client_with::<Everything>().await;
    let mut runner = TestRunner::deterministic();
    for _ in 0..40 {
        let mut value = everything().new_tree(&mut runner).unwrap().current();
        client.save(&mut value).await.unwrap();
        let back = Everything::get(&client, value.id.clone(), value.version)
            .await
            .unwrap();
        assert_eq!(back.as_ref(), Some(&value));
    }
}
