//! Field validation (`#[dynamo(validate(...))]`): a value that breaks a rule fails the write
//! with `Error::Validation` naming the model, item and field, before anything is uploaded or
//! written, on every write path.

use dynox_core::{DynamoModel, Error};
use dynox_s3::{S3Object, S3Settings};
use dynox_tests::file_env;

fn no_spaces(sku: &str) -> Result<(), String> {
    if sku.contains(' ') {
        Err("contains a space".into())
    } else {
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, DynamoModel)]
#[dynamo(table = "validated")]
struct Product {
    #[dynamo(hash_key, validate(length(min = 3, max = 12), with = no_spaces))]
    sku: String,
    #[dynamo(validate(length(min = 1, max = 20)))]
    name: String,
    #[dynamo(validate(range(min = 0, max = 100_000)))]
    price_cents: i64,
    #[dynamo(validate(pattern = "^[a-z]+(-[a-z]+)*$"))]
    slug: Option<String>,
    #[dynamo(validate(length(max = 3)))]
    tags: Vec<String>,
    #[s3(bucket = "product-files", prefix = "manuals/")]
    manual: Option<S3Object>,
}

fn product(sku: &str) -> Product {
    Product {
        sku: sku.into(),
        name: "Mug".into(),
        price_cents: 900,
        slug: None,
        tags: Vec::new(),
        manual: Some(S3Object::from_bytes(b"manual".to_vec(), "manual.pdf")),
    }
}

/// Asserts that `result` is a validation error of `field`, with `reason` in its message.
fn refused(result: dynox_core::Result<()>, field: &str, reason: &str) {
    match result {
        Err(Error::Validation {
            model,
            field: f,
            reason: r,
            key,
            ..
        }) => {
            assert_eq!(model, "Product");
            assert_eq!(f, field);
            assert!(r.contains(reason), "{r}");
            assert!(!key.is_empty());
        }
        other => panic!("expected a validation error of `{field}`, got {other:?}"),
    }
}

#[tokio::test]
async fn a_value_that_breaks_a_rule_is_refused_before_anything_is_uploaded_or_written() {
    let env = file_env::<Product>(&["product-files"], S3Settings::default()).await;
    let client = &env.client;

    let cases: Vec<(Product, &str, &str)> = vec![
        (product("ab"), "sku", "shorter than the minimum of 3"),
        (product("a b c"), "sku", "contains a space"),
        (
            Product {
                name: String::new(),
                ..product("sku-1")
            },
            "name",
            "shorter than the minimum of 1",
        ),
        (
            Product {
                price_cents: -1,
                ..product("sku-2")
            },
            "price_cents",
            "is -1, outside the range from 0 to 100000",
        ),
        (
            Product {
                slug: Some("Not A Slug".into()),
                ..product("sku-3")
            },
            "slug",
            "does not match the pattern",
        ),
        (
            Product {
                tags: vec!["a".into(); 4],
                ..product("sku-4")
            },
            "tags",
            "longer than the maximum of 3",
        ),
    ];
    for (mut p, field, reason) in cases {
        refused(client.save(&mut p).await, field, reason);
        refused(client.create(&mut p).await, field, reason);
        let err = client.save(&mut p).await.unwrap_err();
        assert!(err.is_validation());
        assert_eq!(err.table(), Some(client.table_name::<Product>().as_str()));
    }
    assert!(
        env.keys("product-files").await.is_empty(),
        "nothing uploaded"
    );
    let scanned = Product::scan(client).await.unwrap();
    assert!(scanned.is_empty(), "nothing written");

    // A valid product passes; an absent optional value is not checked.
    let mut ok = Product {
        slug: Some("blue-mug".into()),
        ..product("sku-ok")
    };
    client.save(&mut ok).await.unwrap();
    let mut no_slug = product("sku-ok-2");
    client.save(&mut no_slug).await.unwrap();
    assert_eq!(env.keys("product-files").await.len(), 2);
}

#[tokio::test]
async fn a_transaction_with_one_invalid_item_uploads_and_writes_nothing() {
    let env = file_env::<Product>(&["product-files"], S3Settings::default()).await;
    let client = &env.client;
    let mut valid = product("sku-a");
    let mut invalid = Product {
        price_cents: 1_000_000,
        ..product("sku-b")
    };
    let result = client
        .transact_write()
        .save(&mut valid)
        .save(&mut invalid)
        .await;
    refused(result, "price_cents", "outside the range");
    assert!(
        env.keys("product-files").await.is_empty(),
        "nothing uploaded"
    );
    assert_eq!(Product::get(client, "sku-a").await.unwrap(), None);

    // save_all: the invalid item fails alone.
    let mut items = vec![product("sku-c"), product("x")];
    let results = client.save_all(&mut items).await;
    assert!(results[0].is_ok());
    assert!(matches!(
        &results[1],
        Err(Error::Validation { field: "sku", .. })
    ));
    assert_eq!(env.keys("product-files").await.len(), 1);
}

/// A model without files or a version, for batch writes.
#[derive(Debug, Clone, PartialEq, DynamoModel)]
#[dynamo(table = "validated_notes")]
struct Note {
    #[dynamo(hash_key)]
    id: String,
    #[dynamo(validate(length(max = 10)))]
    text: String,
}

#[tokio::test]
async fn a_batch_write_with_one_invalid_item_writes_nothing() {
    let client = dynox_tests::client_with::<Note>().await;
    let err = client
        .batch_write::<Note>()
        .put(Note {
            id: "a".into(),
            text: "short".into(),
        })
        .put(Note {
            id: "b".into(),
            text: "far too long a note".into(),
        })
        .await
        .unwrap_err();
    match &err {
        Error::Validation { model, field, .. } => {
            assert_eq!((model, field), (&"Note", &"text"));
        }
        other => panic!("{other:?}"),
    }
    assert!(Note::scan(&client).await.unwrap().is_empty());
}

#[tokio::test]
async fn an_update_checks_the_whole_values_it_sets() {
    let env = file_env::<Product>(&["product-files"], S3Settings::default()).await;
    let client = &env.client;
    client.save(&mut product("sku-u")).await.unwrap();

    let result = Product::update(client, "sku-u")
        .apply(Product::fields().name.set(String::new()))
        .await;
    refused(result, "name", "shorter than the minimum of 1");
    let result = Product::update(client, "sku-u")
        .apply(Product::fields().slug.set("Bad Slug".to_owned()))
        .await;
    refused(result, "slug", "does not match the pattern");
    // An increment cannot be checked before it is made: refused.
    let result = Product::update(client, "sku-u")
        .apply(Product::fields().price_cents.add(1))
        .await;
    assert!(
        matches!(&result, Err(Error::InvalidRequest { reason, .. }) if reason.contains("price_cents")),
        "{result:?}"
    );
    let stored = Product::get(client, "sku-u").await.unwrap().unwrap();
    assert_eq!(
        (stored.name.as_str(), stored.slug, stored.price_cents),
        ("Mug", None, 900),
        "nothing written"
    );
    // A valid value passes; removing an optional field is no value to check.
    Product::update(client, "sku-u")
        .apply(Product::fields().slug.set("blue-mug".to_owned()))
        .await
        .unwrap();
    Product::update(client, "sku-u")
        .apply(Product::fields().slug.remove())
        .await
        .unwrap();
}
