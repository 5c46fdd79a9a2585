//! Files of several entity types in one table: one sweep of the table for every model, one
//! stream cascade that sends each record to the model of its entity type, and objects owned
//! per entity type, so that no model ever takes another's objects for its own (here the worst
//! case: three entity types with a file field of the same name, in the same bucket and
//! prefix).

use std::time::{Duration, SystemTime};

use dynox_core::{DynamoModel, Error, Key, Model, StreamView};
use dynox_s3::{S3Object, S3Settings};
use dynox_streams::Poller;
use dynox_tests::{file_env, stored, FileEnv};

#[derive(Debug, Clone, PartialEq, DynamoModel)]
#[dynamo(table = "shared_files", entity = "Invoice")]
#[dynamo(pk = "CUSTOMER#{customer_id}", sk = "INVOICE#{number}")]
struct Invoice {
    customer_id: String,
    number: u32,
    #[s3(bucket = "docs", prefix = "docs/")]
    file: Option<S3Object>,
}

#[derive(Debug, Clone, PartialEq, DynamoModel)]
#[dynamo(table = "shared_files", entity = "Return")]
#[dynamo(pk = "CUSTOMER#{customer_id}", sk = "RETURN#{number}")]
struct Return {
    customer_id: String,
    number: u32,
    #[s3(bucket = "docs", prefix = "docs/")]
    file: Option<S3Object>,
}

/// A third type with files, left out of the sweeps and cascades below.
#[derive(Debug, Clone, PartialEq, DynamoModel)]
#[dynamo(table = "shared_files", entity = "Note")]
#[dynamo(pk = "CUSTOMER#{customer_id}", sk = "NOTE#{number}")]
struct Note {
    customer_id: String,
    number: u32,
    #[s3(bucket = "docs", prefix = "docs/")]
    file: Option<S3Object>,
}

/// A type without files.
#[derive(Debug, Clone, PartialEq, DynamoModel)]
#[dynamo(table = "shared_files", entity = "Customer")]
#[dynamo(pk = "CUSTOMER#{customer_id}", sk = "PROFILE")]
struct Customer {
    customer_id: String,
    name: String,
}

/// In another table.
#[derive(Debug, Clone, PartialEq, DynamoModel)]
#[dynamo(table = "elsewhere", entity = "Invoice")]
#[dynamo(pk = "CUSTOMER#{customer_id}", sk = "INVOICE#{number}")]
struct Elsewhere {
    customer_id: String,
    number: u32,
    #[s3(bucket = "docs", prefix = "docs/")]
    file: Option<S3Object>,
}

type Table = (Invoice, Return, Note, Customer);

fn file(text: &str) -> Option<S3Object> {
    Some(S3Object::from_bytes(text.as_bytes().to_vec(), "f.txt"))
}

/// One item of each type with a file for customer `c`, number `n`; their object keys.
async fn seed(env: &FileEnv, c: &str, n: u32) -> [String; 3] {
    let mut invoice = Invoice {
        customer_id: c.into(),
        number: n,
        file: file("invoice"),
    };
    let mut ret = Return {
        customer_id: c.into(),
        number: n,
        file: file("return"),
    };
    let mut note = Note {
        customer_id: c.into(),
        number: n,
        file: file("note"),
    };
    env.client.save(&mut invoice).await.unwrap();
    env.client.save(&mut ret).await.unwrap();
    env.client.save(&mut note).await.unwrap();
    [
        stored(&invoice.file).key.clone(),
        stored(&ret.file).key.clone(),
        stored(&note.file).key.clone(),
    ]
}

/// Deletes the item with the raw SDK: its object is left behind.
async fn raw_delete<M: Model>(env: &FileEnv, key: Key<M>) {
    env.client
        .dynamodb()
        .delete_item()
        .table_name(env.client.table_name::<M>())
        .set_key(Some(key.to_item().unwrap()))
        .send()
        .await
        .unwrap();
}

async fn sorted_keys(env: &FileEnv) -> Vec<String> {
    let mut keys = env.keys("docs").await;
    keys.sort();
    keys
}

fn later() -> SystemTime {
    SystemTime::now() + Duration::from_secs(48 * 3600)
}

#[tokio::test]
async fn objects_are_owned_per_entity_type() {
    let env = file_env::<Table>(&["docs"], S3Settings::default()).await;
    let [invoice, ret, _] = seed(&env, "c1", 1).await;
    let owner = |key: String| {
        let env = &env;
        async move {
            let head = env
                .s3
                .head_object()
                .bucket(&env.buckets["docs"])
                .key(key)
                .send()
                .await
                .unwrap();
            head.metadata().unwrap()["dynox-owner"].clone()
        }
    };
    let table = env.client.table_name::<Invoice>();
    assert_eq!(owner(invoice).await, format!("{table}/Invoice/file"));
    assert_eq!(owner(ret).await, format!("{table}/Return/file"));
}

#[tokio::test]
async fn one_sweep_reads_the_table_once_for_every_model_and_takes_only_their_orphans() {
    let env = file_env::<Table>(&["docs"], S3Settings::default()).await;
    let live = seed(&env, "c1", 1).await;
    let dead = seed(&env, "c2", 2).await;
    env.client
        .save(&mut Customer {
            customer_id: "c1".into(),
            name: "Ada".into(),
        })
        .await
        .unwrap();
    raw_delete(&env, Invoice::key_of("c2", 2u32)).await;
    raw_delete(&env, Return::key_of("c2", 2u32)).await;
    raw_delete(&env, Note::key_of("c2", 2u32)).await;

    let report = dynox_s3::sweep::<(Invoice, Return)>(&env.client)
        .as_of(later())
        .delete()
        .await
        .unwrap();
    // One scan read each of the 4 items left once (3 of c1, the customer).
    assert_eq!(report.items_scanned, 4, "{report}");
    assert_eq!(
        report.deleted, 2,
        "the invoice's and the return's orphans: {report}"
    );
    // The notes' objects (live or orphaned) are another entity type's: never taken.
    assert_eq!(report.not_owned, 2, "{report}");
    let mut left = vec![
        live[0].clone(),
        live[1].clone(),
        live[2].clone(),
        dead[2].clone(),
    ];
    left.sort();
    assert_eq!(sorted_keys(&env).await, left);
}

#[tokio::test]
async fn a_sweep_of_one_entity_type_never_takes_another_types_objects() {
    let env = file_env::<Table>(&["docs"], S3Settings::default()).await;
    let live = seed(&env, "c1", 1).await;
    let dead = seed(&env, "c2", 2).await;
    raw_delete(&env, Invoice::key_of("c2", 2u32)).await;
    raw_delete(&env, Return::key_of("c2", 2u32)).await;

    // Same field name, same bucket and prefix: only the invoice's orphan is the invoice's.
    let report = dynox_s3::sweep::<Invoice>(&env.client)
        .as_of(later())
        .delete()
        .await
        .unwrap();
    assert_eq!(report.deleted, 1, "{report}");
    let mut left: Vec<String> = live.to_vec();
    left.extend([dead[1].clone(), dead[2].clone()]);
    left.sort();
    assert_eq!(sorted_keys(&env).await, left);
}

#[tokio::test]
async fn models_of_different_tables_are_not_swept_together() {
    let env = file_env::<Table>(&["docs"], S3Settings::default()).await;
    let err = dynox_s3::sweep::<(Invoice, Elsewhere)>(&env.client)
        .await
        .unwrap_err();
    match err {
        Error::InvalidRequest { reason, .. } => {
            assert!(reason.contains("Elsewhere"), "{reason}");
            assert!(reason.contains("elsewhere"), "{reason}");
        }
        other => panic!("expected InvalidRequest, got {other:?}"),
    }
}

#[tokio::test]
async fn the_cascade_sends_each_record_to_the_model_of_its_entity_type() {
    let env = file_env::<Table>(&["docs"], S3Settings::default()).await;
    env.client.delete_table::<Invoice>().await.unwrap();
    env.client
        .create_table::<Table>()
        .stream(StreamView::NewAndOldImages)
        .await
        .unwrap();
    let keys = seed(&env, "c1", 1).await;
    env.client
        .save(&mut Customer {
            customer_id: "c1".into(),
            name: "Ada".into(),
        })
        .await
        .unwrap();
    // Another service deletes every item with the raw SDK.
    raw_delete(&env, Invoice::key_of("c1", 1u32)).await;
    raw_delete(&env, Return::key_of("c1", 1u32)).await;
    raw_delete(&env, Note::key_of("c1", 1u32)).await;
    raw_delete(&env, Customer::key_of("c1")).await;

    let report = Poller::<(Invoice, Return)>::new(&env.client)
        .drain()
        .await
        .unwrap();
    assert!(report.stopped_shards.is_empty(), "{report:?}");
    assert_eq!(
        report.deleted(),
        2,
        "the invoice's and the return's files: {report:?}"
    );
    // The note is no model of this cascade: its record changes nothing.
    assert_eq!(sorted_keys(&env).await, [keys[2].clone()]);
}
