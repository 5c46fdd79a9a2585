//! Typed conditions on save and delete, against real servers: every operator, reserved words,
//! nested paths, and combinations.

use std::collections::BTreeSet;

use dynox_core::{AttributeType, DynamoModel, Error};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Address {
    city: String,
    lines: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, DynamoModel)]
#[dynamo(table = "products")]
struct Product {
    #[dynamo(hash_key)]
    id: String,
    // Reserved words in DynamoDB expressions: they must go through placeholders.
    name: String,
    status: String,
    size: u32,
    price_cents: i64,
    note: Option<String>,
    #[dynamo(set)]
    tags: BTreeSet<String>,
    address: Address,
}

fn product() -> Product {
    Product {
        id: "p1".into(),
        name: "Lamp".into(),
        status: "active".into(),
        size: 3,
        price_cents: 2500,
        note: None,
        tags: ["red".to_string(), "sale".to_string()].into(),
        address: Address {
            city: "Oslo".into(),
            lines: vec!["Main St 1".into()],
        },
    }
}

#[tokio::test]
async fn every_condition_operator_decides_a_write() {
    let client = dynox_tests::client_with::<Product>().await;
    client.save(&mut product()).await.unwrap();
    let f = Product::fields();

    let holds = [
        ("eq", f.status.eq("active")),
        ("ne", f.status.ne("gone")),
        (
            "lt/le/gt/ge",
            f.price_cents.lt(3000)
                & f.price_cents.le(2500)
                & f.price_cents.gt(0)
                & f.price_cents.ge(2500),
        ),
        ("between", f.size.between(1, 3)),
        ("in", f.status.is_in(["draft", "active"])),
        ("begins_with", f.name.begins_with("La")),
        ("contains string", f.name.contains("am")),
        ("contains set", f.tags.contains("sale")),
        ("exists", f.address.exists() & f.note.not_exists()),
        ("type", f.price_cents.is_type(AttributeType::Number)),
        ("size", f.tags.size().eq(2) & f.name.size().ge(4)),
        ("nested", f.address.key::<String>("city").eq("Oslo")),
        (
            "list index",
            f.address
                .key::<Vec<String>>("lines")
                .index::<String>(0)
                .begins_with("Main"),
        ),
        ("or/not", f.status.eq("gone") | !f.size.gt(10)),
    ];
    for (label, condition) in holds {
        let mut p = product();
        p.note = Some(format!("written when {label} held"));
        client
            .save(&mut p)
            .condition(condition)
            .await
            .unwrap_or_else(|e| panic!("{label}: {e:?}"));
        let mut reset = product();
        client.save(&mut reset).await.unwrap();
    }

    let fails = [
        ("eq", f.status.eq("gone")),
        ("between", f.size.between(4, 9)),
        ("in", f.status.is_in(["draft"])),
        ("contains set", f.tags.contains("blue")),
        ("exists", f.note.exists()),
        ("nested", f.address.key::<String>("city").eq("Rome")),
        ("and", f.status.eq("active") & f.size.gt(3)),
    ];
    for (label, condition) in fails {
        let mut p = product();
        p.note = Some("must not be written".into());
        let err = client.save(&mut p).condition(condition).await.unwrap_err();
        assert!(
            matches!(err, Error::ConditionFailed { .. }),
            "{label}: {err:?}"
        );
    }
    assert_eq!(
        Product::get(&client, "p1").await.unwrap(),
        Some(product()),
        "nothing was written"
    );
}

#[tokio::test]
async fn conditional_delete() {
    let client = dynox_tests::client_with::<Product>().await;
    client.save(&mut product()).await.unwrap();
    let f = Product::fields();
    let err = Product::delete(&client, "p1")
        .condition(f.status.eq("archived"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ConditionFailed { .. }), "{err:?}");
    assert!(Product::get(&client, "p1").await.unwrap().is_some());
    Product::delete(&client, "p1")
        .condition(f.status.eq("active"))
        .await
        .unwrap();
    assert_eq!(Product::get(&client, "p1").await.unwrap(), None);
    // A condition on an item that is not there fails.
    let err = Product::delete(&client, "p1")
        .condition(f.status.exists())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ConditionFailed { .. }), "{err:?}");
}

#[tokio::test]
async fn an_unstorable_condition_value_names_the_attribute() {
    #[derive(Debug, DynamoModel)]
    #[dynamo(table = "scores")]
    struct Score {
        #[dynamo(hash_key)]
        id: String,
        value: f64,
    }
    let client = dynox_tests::client_with::<Score>().await;
    let err = client
        .save(&mut Score {
            id: "s".into(),
            value: 1.0,
        })
        .condition(Score::fields().value.lt(f64::INFINITY))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidRequest { .. }), "{err:?}");
    assert!(err.to_string().contains("`value`"), "{err}");
}
