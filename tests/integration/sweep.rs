//! The sweep reads the table through core's file-reference scan: its failures are core's
//! typed errors (throttling is `Error::Throttled`), and an item whose file attribute cannot
//! be read stops it before anything is deleted. (Its orphan, multipart and failure behaviour
//! is in `consistency.rs`.)

use std::time::{Duration, SystemTime};

use aws_sdk_dynamodb::types::AttributeValue;
use dynox_core::{Client, DynamoModel, Error};
use dynox_s3::{S3Object, S3Settings};
use dynox_tests::{canned_error_server, file_env, single_attempt_config, FileEnv};

#[derive(Debug, DynamoModel)]
#[dynamo(table = "sweep_docs")]
struct Doc {
    #[dynamo(hash_key)]
    pk: String,
    #[s3(bucket = "sweep-docs", prefix = "docs/")]
    content: Option<S3Object>,
}

/// An old object under the model's prefix that only a crashed save could have left.
async fn seed_orphan(env: &FileEnv) -> String {
    let key = "docs/crashed/0/x.bin".to_owned();
    env.s3
        .put_object()
        .bucket(env.bucket("sweep-docs"))
        .key(&key)
        .metadata(
            dynox_s3::OWNER_METADATA,
            format!("{}/content", env.client.table_name::<Doc>()),
        )
        .body(vec![1u8; 4].into())
        .send()
        .await
        .unwrap();
    key
}

/// Writes an item with `content` as it is, bypassing dynox.
async fn put_raw(env: &FileEnv, pk: &str, content: AttributeValue) {
    env.client
        .dynamodb()
        .put_item()
        .table_name(env.client.table_name::<Doc>())
        .item("pk", AttributeValue::S(pk.into()))
        .item("content", content)
        .send()
        .await
        .unwrap();
}

fn later() -> SystemTime {
    SystemTime::now() + Duration::from_secs(48 * 3600)
}

/// Runs a deleting sweep through `client` that must fail; checks that `orphan` survived.
async fn failed_sweep(env: &FileEnv, client: &Client, orphan: &str) -> Error {
    let err = dynox_s3::sweep::<Doc>(client)
        .as_of(later())
        .delete()
        .await
        .unwrap_err();
    assert_eq!(
        env.keys("sweep-docs").await,
        vec![orphan],
        "nothing deleted"
    );
    err
}

#[tokio::test]
async fn a_throttled_scan_fails_the_sweep_with_cores_throttled_error() {
    let env = file_env::<Doc>(&["sweep-docs"], S3Settings::default()).await;
    let orphan = seed_orphan(&env).await;
    let endpoint = canned_error_server(400, "ProvisionedThroughputExceededException").await;
    // DynamoDB throttles; S3 is the real server.
    let client = Client::builder(&single_attempt_config(&endpoint))
        .table_prefix(env.client.table_prefix())
        .s3(S3Settings::default()
            .bucket("sweep-docs", env.bucket("sweep-docs"))
            .s3_client(env.s3.clone()))
        .build();
    let err = failed_sweep(&env, &client, &orphan).await;
    match &err {
        e @ Error::Throttled { .. } => {
            assert!(e.is_throttled(), "{e:?}");
            assert!(
                matches!(
                    e,
                    Error::Throttled {
                        operation: "Scan",
                        ..
                    }
                ),
                "{e:?}"
            );
        }
        other => panic!("expected a table error, got {other:?}"),
    }
}

#[tokio::test]
async fn an_unreadable_file_attribute_stops_the_sweep_before_any_delete() {
    let env = file_env::<Doc>(&["sweep-docs"], S3Settings::default()).await;
    let orphan = seed_orphan(&env).await;
    put_raw(&env, "broken", AttributeValue::S("not a file".into())).await;
    let err = failed_sweep(&env, &env.client, &orphan).await;
    match &err {
        Error::InvalidField {
            table, key, field, ..
        } => {
            assert_eq!(table, &env.client.table_name::<Doc>());
            assert_eq!(*field, "content");
            assert!(key.contains("broken"), "{key}");
        }
        other => panic!("expected InvalidField, got {other:?}"),
    }
}

#[tokio::test]
async fn a_null_file_attribute_references_nothing() {
    let env = file_env::<Doc>(&["sweep-docs"], S3Settings::default()).await;
    seed_orphan(&env).await;
    put_raw(&env, "empty", AttributeValue::Null(true)).await;
    let mut saved = Doc {
        pk: "saved".into(),
        content: Some(S3Object::from_bytes(vec![2u8; 8], "f.bin")),
    };
    env.client.save(&mut saved).await.unwrap();
    let report = dynox_s3::sweep::<Doc>(&env.client)
        .as_of(later())
        .segments(2)
        .delete()
        .await
        .unwrap();
    assert_eq!(report.items_scanned, 2, "{report}");
    assert_eq!((report.referenced, report.deleted), (1, 1), "{report}");
    assert_eq!(
        env.keys("sweep-docs").await,
        vec![saved.content.unwrap().stored().unwrap().key.clone()]
    );
}

/// Stores a kept mark beside `key`, as a save that clears the field does before its write.
async fn put_mark(env: &FileEnv, key: &str) -> String {
    let mark = format!("{key}{}", dynox_s3::KEPT_SUFFIX);
    env.s3
        .put_object()
        .bucket(env.bucket("sweep-docs"))
        .key(&mark)
        .metadata(dynox_s3::KEPT_METADATA, key)
        .metadata(
            dynox_s3::OWNER_METADATA,
            format!("{}/content", env.client.table_name::<Doc>()),
        )
        .body(Vec::new().into())
        .send()
        .await
        .unwrap();
    mark
}

#[tokio::test]
async fn a_stale_kept_mark_on_a_referenced_file_is_removed_and_the_file_stays() {
    let env = file_env::<Doc>(&["sweep-docs"], S3Settings::default()).await;
    // A crash between the mark and the write that would have cleared the field: the item
    // still references its file, and the file carries a mark.
    let mut saved = Doc {
        pk: "saved".into(),
        content: Some(S3Object::from_bytes(vec![3u8; 8], "f.bin")),
    };
    env.client.save(&mut saved).await.unwrap();
    let referenced = saved.content.unwrap().stored().unwrap().key.clone();
    let stale = put_mark(&env, &referenced).await;
    // A file the user cleared and kept: unreferenced, marked.
    let kept = seed_orphan(&env).await;
    let kept_mark = put_mark(&env, &kept).await;
    let mut all = vec![
        referenced.clone(),
        stale.clone(),
        kept.clone(),
        kept_mark.clone(),
    ];
    all.sort();

    // Inside the grace period the mark may be a save's in flight: it stays.
    let report = dynox_s3::sweep::<Doc>(&env.client).delete().await.unwrap();
    assert_eq!(env.keys("sweep-docs").await, all, "{report}");
    assert_eq!(
        (report.stale_marks, report.too_young, report.kept),
        (0, 1, 2),
        "{report}"
    );

    // Past the grace period, as a dry run: nothing removed.
    let report = dynox_s3::sweep::<Doc>(&env.client)
        .as_of(later())
        .await
        .unwrap();
    assert_eq!(env.keys("sweep-docs").await, all, "{report}");
    assert_eq!(
        (report.stale_marks, report.stale_marks_removed),
        (1, 0),
        "{report}"
    );

    // Past the grace period: the stale mark goes, the file it was on stays, and so do the
    // kept file and its mark.
    let report = dynox_s3::sweep::<Doc>(&env.client)
        .as_of(later())
        .delete()
        .await
        .unwrap();
    let mut left = vec![referenced.clone(), kept.clone(), kept_mark.clone()];
    left.sort();
    assert_eq!(env.keys("sweep-docs").await, left, "{report}");
    assert_eq!(
        (report.referenced, report.kept, report.deleted),
        (1, 2, 0),
        "{report}"
    );
    assert_eq!(
        (report.stale_marks, report.stale_marks_removed),
        (1, 1),
        "{report}"
    );
    assert!(report.failed.is_empty(), "{report}");
    let head = env
        .s3
        .head_object()
        .bucket(env.bucket("sweep-docs"))
        .key(&kept_mark)
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.metadata.unwrap().get(dynox_s3::KEPT_METADATA),
        Some(&kept)
    );
}

#[derive(Debug, DynamoModel)]
#[dynamo(table = "sweep_scoped")]
struct Scoped {
    #[dynamo(hash_key)]
    pk: String,
    #[s3(bucket = "sweep-scoped", prefix = "docs/")]
    doc: Option<S3Object>,
    #[s3(bucket = "sweep-scoped", prefix = "docs/thumbs/")]
    thumb: Option<S3Object>,
    #[s3(bucket = "sweep-scoped", shared, key = "blobs/{sha256}")]
    blob: Option<S3Object>,
}

/// An old object of `Scoped`'s field `field` at `key`, as a crashed save would leave it.
async fn put_owned(env: &FileEnv, key: &str, field: &str) {
    env.s3
        .put_object()
        .bucket(env.bucket("sweep-scoped"))
        .key(key)
        .metadata(
            dynox_s3::OWNER_METADATA,
            format!("{}/{field}", env.client.table_name::<Scoped>()),
        )
        .body(vec![5u8; 4].into())
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn overlapping_prefixes_are_listed_once_and_a_custom_key_scopes_its_field() {
    let env = file_env::<Scoped>(&["sweep-scoped"], S3Settings::default()).await;
    let mut item = Scoped {
        pk: "a".into(),
        doc: Some(S3Object::from_bytes(vec![1u8; 8], "d.bin")),
        thumb: Some(S3Object::from_bytes(vec![2u8; 8], "t.bin")),
        blob: Some(S3Object::from_bytes(vec![3u8; 8], "b.bin")),
    };
    env.client.save(&mut item).await.unwrap();
    // An orphan under both "docs/" and "docs/thumbs/".
    put_owned(&env, "docs/thumbs/crashed/0/x.bin", "thumb").await;
    // Outside every field's keys (`blobs/` is the shared field's fixed part), even though its
    // owner names the shared field: never listed, never deleted.
    put_owned(&env, "elsewhere/x.bin", "blob").await;

    let report = dynox_s3::sweep::<Scoped>(&env.client)
        .as_of(later())
        .delete()
        .await
        .unwrap();
    assert_eq!(report.objects_listed, 4, "each object once: {report}");
    assert!(report.whole_buckets.is_empty(), "{report}");
    assert_eq!(
        (report.referenced, report.orphans_found, report.deleted),
        (3, 1, 1),
        "{report}"
    );
    let keys = env.keys("sweep-scoped").await;
    assert_eq!(keys.len(), 4, "{keys:?}");
    assert!(keys.contains(&"elsewhere/x.bin".to_owned()), "{keys:?}");
    assert!(
        !keys.contains(&"docs/thumbs/crashed/0/x.bin".to_owned()),
        "{keys:?}"
    );
}

#[derive(Debug, DynamoModel)]
#[dynamo(table = "sweep_unscoped")]
struct Unscoped {
    #[dynamo(hash_key)]
    pk: String,
    #[s3(bucket = "sweep-unscoped", key = "{hash}/{upload}/{file}")]
    file: Option<S3Object>,
}

#[tokio::test]
async fn a_field_with_no_fixed_key_part_has_its_whole_bucket_listed_and_reported() {
    let env = file_env::<Unscoped>(&["sweep-unscoped"], S3Settings::default()).await;
    let mut item = Unscoped {
        pk: "a".into(),
        file: Some(S3Object::from_bytes(vec![1u8; 8], "f.bin")),
    };
    env.client.save(&mut item).await.unwrap();
    let report = dynox_s3::sweep::<Unscoped>(&env.client)
        .as_of(later())
        .await
        .unwrap();
    let bucket = env.bucket("sweep-unscoped").to_owned();
    assert_eq!(report.whole_buckets, [("file", bucket.clone())], "{report}");
    assert!(
        report
            .to_string()
            .contains(&format!("listed all of s3://{bucket}: field `file`")),
        "{report}"
    );
    assert_eq!(
        (report.objects_listed, report.referenced),
        (1, 1),
        "{report}"
    );
}

/// Changes item `pk`'s `content` bypassing dynox, as another tool does: `SET content = value`,
/// or `REMOVE content` for `None`.
async fn set_raw(env: &FileEnv, pk: &str, content: Option<AttributeValue>) {
    let update = env
        .client
        .dynamodb()
        .update_item()
        .table_name(env.client.table_name::<Doc>())
        .key("pk", AttributeValue::S(pk.into()))
        .expression_attribute_names("#c", "content");
    let update = match content {
        Some(value) => update
            .update_expression("SET #c = :v")
            .expression_attribute_values(":v", value),
        None => update.update_expression("REMOVE #c"),
    };
    update.send().await.unwrap();
}

#[tokio::test]
async fn a_file_another_tool_cleared_to_null_is_kept_and_one_it_removed_replaced_or_deleted_is_swept(
) {
    let env = file_env::<Doc>(&["sweep-docs"], S3Settings::default()).await;
    let mut saved = Vec::new();
    for pk in ["nulled", "removed", "replaced", "deleted"] {
        let mut doc = Doc {
            pk: pk.into(),
            content: Some(S3Object::from_bytes(vec![7; 10], "a.bin")),
        };
        env.client.save(&mut doc).await.unwrap();
        saved.push(dynox_tests::stored(&doc.content).key.clone());
    }
    // pydynox clears a field to NULL: kept, as a clear promises. A removed attribute is how
    // dynox clears, marking the file first when it is to stay: without a mark, the file was
    // to go (a delete-on-clear that did not happen), so it is swept. A replace points the
    // item at an object of the other tool; a delete removes the item.
    set_raw(&env, "nulled", Some(AttributeValue::Null(true))).await;
    set_raw(&env, "removed", None).await;
    let foreign = "docs/replaced/elsewhere.bin";
    env.s3
        .put_object()
        .bucket(env.bucket("sweep-docs"))
        .key(foreign)
        .body(vec![8u8; 3].into())
        .send()
        .await
        .unwrap();
    let reference = std::collections::HashMap::from([
        (
            "bucket".to_owned(),
            AttributeValue::S(env.bucket("sweep-docs").into()),
        ),
        ("key".to_owned(), AttributeValue::S(foreign.into())),
        ("size".to_owned(), AttributeValue::N("3".into())),
        ("etag".to_owned(), AttributeValue::S("abc".into())),
    ]);
    set_raw(&env, "replaced", Some(AttributeValue::M(reference))).await;
    env.client
        .dynamodb()
        .delete_item()
        .table_name(env.client.table_name::<Doc>())
        .key("pk", AttributeValue::S("deleted".into()))
        .send()
        .await
        .unwrap();

    let dry = dynox_s3::sweep::<Doc>(&env.client)
        .as_of(later())
        .await
        .unwrap();
    assert_eq!((dry.cleared, dry.orphans_found), (1, 3), "{dry}");
    let report = dynox_s3::sweep::<Doc>(&env.client)
        .as_of(later())
        .delete()
        .await
        .unwrap();
    assert_eq!((report.cleared, report.deleted), (1, 3), "{report}");
    let mut left = env.keys("sweep-docs").await;
    left.sort();
    let mut expected = vec![
        saved[0].clone(),
        format!("{}{}", saved[0], dynox_s3::KEPT_SUFFIX),
        foreign.to_owned(),
    ];
    expected.sort();
    assert_eq!(
        left, expected,
        "the NULL-cleared file kept and marked; the rest swept"
    );
    // Marked now: the next sweep counts it (and its mark) as kept, without reading its item.
    let again = dynox_s3::sweep::<Doc>(&env.client)
        .as_of(later())
        .await
        .unwrap();
    assert_eq!(
        (again.cleared, again.kept, again.orphans_found),
        (0, 2, 0),
        "{again}"
    );
}
