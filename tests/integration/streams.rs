//! The file cascade over DynamoDB Streams, against real servers: objects follow their items
//! when the items leave by roads dynox never sees (time to live, a raw-SDK delete or
//! overwrite), never a kept or shared object, idempotently, resuming from checkpoints; and
//! typed stream records.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use aws_sdk_dynamodb::types::AttributeValue;
use dynox_core::stream::{ChangeKind, StreamRecord};
use dynox_core::{DynamoModel, StreamView};
use dynox_s3::{S3Object, S3Settings, Skipped};
use dynox_streams::{FileCheckpoints, Poller, StreamError};
use dynox_tests::{capability_note, file_env, FileEnv};

#[derive(Debug, Clone, PartialEq, DynamoModel)]
#[dynamo(table = "stream_docs")]
struct Doc {
    #[dynamo(hash_key)]
    pk: String,
    #[dynamo(ttl)]
    expires_at: Option<SystemTime>,
    #[s3(bucket = "streams", prefix = "files/")]
    file: Option<S3Object>,
    #[s3(bucket = "streams", prefix = "shared/", shared)]
    blob: Option<S3Object>,
    #[s3(bucket = "streams", prefix = "notes/", overflow)]
    notes: String,
}

fn doc(pk: &str) -> Doc {
    Doc {
        pk: pk.into(),
        expires_at: None,
        file: Some(S3Object::from_bytes(format!("file of {pk}"), "f.txt")),
        blob: None,
        notes: String::new(),
    }
}

/// A test environment whose table has a stream with old and new images.
async fn env() -> FileEnv {
    let env = file_env::<Doc>(&["streams"], S3Settings::default()).await;
    env.client.delete_table::<Doc>().await.unwrap();
    env.client
        .create_table::<Doc>()
        .stream(StreamView::NewAndOldImages)
        .await
        .unwrap();
    env
}

fn key(pk: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([("pk".to_owned(), AttributeValue::S(pk.into()))])
}

async fn raw_delete(env: &FileEnv, pk: &str) {
    env.client
        .dynamodb()
        .delete_item()
        .table_name(env.client.table_name::<Doc>())
        .set_key(Some(key(pk)))
        .send()
        .await
        .unwrap();
}

async fn raw_item(env: &FileEnv, pk: &str) -> HashMap<String, AttributeValue> {
    dynox_tests::raw_item(&env.client, Doc::key_of(pk))
        .await
        .unwrap_or_default()
}

async fn sorted_keys(env: &FileEnv) -> Vec<String> {
    let mut keys = env.keys("streams").await;
    keys.sort();
    keys
}

fn file_key(d: &Doc) -> String {
    d.file.as_ref().unwrap().key().unwrap().to_owned()
}

#[tokio::test]
async fn a_raw_delete_and_a_raw_overwrite_delete_the_objects_they_unreference() {
    let env = env().await;
    let (mut a, mut b, mut c) = (doc("a"), doc("b"), doc("c"));
    a.notes = "n".repeat(450 * 1024); // an overflow value in S3
    for d in [&mut a, &mut b, &mut c] {
        env.client.save(d).await.unwrap();
    }
    assert_eq!(env.keys("streams").await.len(), 4);

    // Another service deletes a with the raw SDK, and overwrites b's file reference with c's.
    raw_delete(&env, "a").await;
    let mut b_item = raw_item(&env, "b").await;
    b_item.insert("file".into(), raw_item(&env, "c").await["file"].clone());
    env.client
        .dynamodb()
        .put_item()
        .table_name(env.client.table_name::<Doc>())
        .set_item(Some(b_item))
        .send()
        .await
        .unwrap();

    let report = Poller::<Doc>::new(&env.client).drain().await.unwrap();
    assert!(report.stopped_shards.is_empty(), "{report:?}");
    assert_eq!(report.ttl_expiries(), 0);
    assert_eq!(
        report.deleted(),
        3,
        "a's file and notes, b's old file: {report:?}"
    );
    // c's object, now referenced by b and c, stays.
    assert_eq!(sorted_keys(&env).await, vec![file_key(&c)]);
    let b_now = Doc::get(&env.client, "b").await.unwrap().unwrap();
    assert_eq!(
        b_now.file.unwrap().get_bytes(&env.client).await.unwrap(),
        "file of c"
    );
}

#[tokio::test]
async fn a_ttl_expiry_deletes_the_objects_and_is_reported_as_one() {
    let env = env().await;
    if env.backend.expire_ttl_as_of(SystemTime::now()).is_none() {
        capability_note(
            &env.backend,
            "a_ttl_expiry_deletes_the_objects_and_is_reported_as_one",
            "this server does not expire items; checked on the embedded servers",
        );
        return;
    }
    let mut expiring = doc("expiring");
    expiring.expires_at = Some(SystemTime::now() + Duration::from_secs(3600));
    expiring.notes = "e".repeat(450 * 1024);
    let mut staying = doc("staying");
    staying.expires_at = Some(SystemTime::now() + Duration::from_secs(30 * 86_400));
    env.client.save(&mut expiring).await.unwrap();
    env.client.save(&mut staying).await.unwrap();

    // Two hours later by the server's clock: the first item expires, and no sleep.
    let expired = env
        .backend
        .expire_ttl_as_of(SystemTime::now() + Duration::from_secs(2 * 3600))
        .unwrap()
        .unwrap();
    assert!(expired >= 1, "{expired}");
    assert!(Doc::get(&env.client, "expiring").await.unwrap().is_none());

    let report = Poller::<Doc>::new(&env.client).drain().await.unwrap();
    let removal: Vec<_> = report
        .records
        .iter()
        .filter(|r| !r.deleted.is_empty())
        .collect();
    assert_eq!(removal.len(), 1, "{report:?}");
    assert_eq!(removal[0].deleted.len(), 2, "the file and the moved notes");
    assert_eq!(sorted_keys(&env).await, vec![file_key(&staying)]);
    // Server bug: dynoxide 3.2.0 sends the expiry's `userIdentity` with the Lambda event's
    // lowercase keys (`type`, `principalId`) over the Streams API, whose wire format (and
    // the SDK) uses `Type` and `PrincipalId`; the SDK reads no identity. The TTL flag is
    // checked on the conversion of a Streams API record (dynox-streams' unit test).
    if !removal[0].ttl_expired {
        capability_note(
            &env.backend,
            "a_ttl_expiry_deletes_the_objects_and_is_reported_as_one",
            "dynoxide sends userIdentity with Lambda's lowercase keys over the Streams API, so the TTL flag is not seen; checked by dynox-streams' conversion test",
        );
    }
}

#[tokio::test]
async fn kept_files_and_shared_objects_are_never_deleted() {
    let env = env().await;
    let shared = b"the same attachment".to_vec();
    let mut kept = doc("kept");
    let (mut one, mut two) = (doc("one"), doc("two"));
    one.blob = Some(S3Object::from_bytes(shared.clone(), "a.bin"));
    two.blob = Some(S3Object::from_bytes(shared, "a.bin"));
    for d in [&mut kept, &mut one, &mut two] {
        env.client.save(d).await.unwrap();
    }
    let kept_key = file_key(&kept);
    let blob_key = one.blob.as_ref().unwrap().key().unwrap().to_owned();

    // The user clears kept's file and keeps it; another service deletes one (whose shared
    // object two still holds).
    kept.file = None;
    env.client.save(&mut kept).await.unwrap();
    raw_delete(&env, "one").await;

    let report = Poller::<Doc>::new(&env.client).drain().await.unwrap();
    let skipped: Vec<Skipped> = report
        .records
        .iter()
        .flat_map(|r| r.skipped.iter().map(|(_, why)| *why))
        .collect();
    assert!(skipped.contains(&Skipped::Kept), "{report:?}");
    assert!(skipped.contains(&Skipped::Shared), "{report:?}");
    let keys = sorted_keys(&env).await;
    assert!(keys.contains(&kept_key), "{keys:?}");
    assert!(keys.contains(&blob_key), "{keys:?}");
    assert!(
        !keys.contains(&file_key(&one)),
        "one's own file goes: {keys:?}"
    );
}

#[tokio::test]
async fn a_replayed_stream_deletes_nothing_twice_and_reports_nothing_wrong() {
    let env = env().await;
    let (mut a, mut b) = (doc("a"), doc("b"));
    env.client.save(&mut a).await.unwrap();
    env.client.save(&mut b).await.unwrap();
    // dynox's own delete (which deletes the object itself) and a raw one.
    Doc::delete(&env.client, "a").await.unwrap();
    raw_delete(&env, "b").await;

    let first = Poller::<Doc>::new(&env.client).drain().await.unwrap();
    assert_eq!(
        first.deleted(),
        1,
        "b's file; a's was already gone: {first:?}"
    );
    // The whole stream again, from the start (a lost checkpoint, a redelivered batch).
    let mut c = doc("c");
    env.client.save(&mut c).await.unwrap();
    let replay = Poller::<Doc>::new(&env.client).drain().await.unwrap();
    assert_eq!(replay.deleted(), 0, "{replay:?}");
    assert!(
        replay.records.iter().all(|r| r.failed.is_empty()),
        "{replay:?}"
    );
    let gone = replay
        .records
        .iter()
        .flat_map(|r| &r.skipped)
        .filter(|(_, why)| *why == Skipped::AlreadyGone)
        .count();
    assert_eq!(gone, 2, "{replay:?}");
    assert_eq!(sorted_keys(&env).await, vec![file_key(&c)]);
}

#[tokio::test]
async fn a_consumer_stopped_mid_batch_resumes_from_its_checkpoint_and_loses_nothing() {
    let env = env().await;
    let mut docs: Vec<Doc> = (0..6).map(|i| doc(&format!("d{i}"))).collect();
    for d in &mut docs {
        env.client.save(d).await.unwrap();
    }
    for d in &docs {
        raw_delete(&env, &d.pk).await;
    }
    // Checkpoints in a file, as a process that restarts keeps them.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cascade.checkpoints");
    // 6 inserts and 6 removes; the first run stops after 8 records.
    let first = Poller::<Doc>::new(&env.client)
        .checkpoints(FileCheckpoints::open(&path).unwrap())
        .max_records(8)
        .drain()
        .await
        .unwrap();
    assert!(first.limited);
    assert_eq!(first.records.len(), 8);
    assert_eq!(first.deleted(), 2);
    assert_eq!(env.keys("streams").await.len(), 4);

    // A new process reading the same file finishes the rest, and only the rest.
    let second = Poller::<Doc>::new(&env.client)
        .checkpoints(FileCheckpoints::open(&path).unwrap())
        .drain()
        .await
        .unwrap();
    assert!(!second.limited);
    assert_eq!(second.records.len(), 4);
    assert_eq!(second.deleted(), 4);
    assert!(env.keys("streams").await.is_empty());
}

#[tokio::test]
async fn stream_records_decode_into_the_model() {
    let env = env().await;
    let mut d = doc("typed");
    env.client.save(&mut d).await.unwrap();
    let mut changed = d.clone();
    changed.notes = "edited".into();
    env.client.save(&mut changed).await.unwrap();
    raw_delete(&env, "typed").await;

    let records = read_stream(&env).await;
    let kinds: Vec<ChangeKind> = records.iter().map(|r| r.kind).collect();
    assert_eq!(
        kinds,
        [ChangeKind::Insert, ChangeKind::Modify, ChangeKind::Remove]
    );
    let typed: Vec<StreamRecord<Doc>> = records
        .iter()
        .map(|r| StreamRecord::<Doc>::decode(r).unwrap())
        .collect();
    assert_eq!(typed[0].old, None);
    assert_eq!(typed[0].new.as_ref().unwrap().pk, "typed");
    assert_eq!(typed[1].old.as_ref().unwrap().notes, "");
    assert_eq!(typed[1].new.as_ref().unwrap().notes, "edited");
    assert_eq!(typed[2].old.as_ref().unwrap().file, changed.file);
    assert!(typed[2].new.is_none() && !typed[2].ttl_expired);
}

/// Every record of the table's stream so far, through the Streams API.
async fn read_stream(env: &FileEnv) -> Vec<dynox_core::stream::ChangeRecord> {
    let streams = aws_sdk_dynamodbstreams::Client::new(env.client.sdk_config());
    let table = env
        .client
        .dynamodb()
        .describe_table()
        .table_name(env.client.table_name::<Doc>())
        .send()
        .await
        .unwrap();
    let arn = table
        .table()
        .unwrap()
        .latest_stream_arn()
        .unwrap()
        .to_owned();
    let described = streams
        .describe_stream()
        .stream_arn(&arn)
        .send()
        .await
        .unwrap();
    let mut records = Vec::new();
    for shard in described.stream_description().unwrap().shards() {
        let mut iterator = streams
            .get_shard_iterator()
            .stream_arn(&arn)
            .shard_id(shard.shard_id().unwrap())
            .shard_iterator_type(aws_sdk_dynamodbstreams::types::ShardIteratorType::TrimHorizon)
            .send()
            .await
            .unwrap()
            .shard_iterator;
        while let Some(current) = iterator {
            let page = streams
                .get_records()
                .shard_iterator(current)
                .send()
                .await
                .unwrap();
            let got = page.records.unwrap_or_default();
            if got.is_empty() {
                break;
            }
            records.extend(got.iter().filter_map(dynox_streams::change_record));
            iterator = page.next_shard_iterator;
        }
    }
    records
}

#[tokio::test]
async fn a_table_without_old_images_or_without_a_stream_is_a_clear_error() {
    let env = file_env::<Doc>(&["streams"], S3Settings::default()).await;
    let error = Poller::<Doc>::new(&env.client).drain().await.unwrap_err();
    assert!(
        matches!(&error, StreamError::NoStream { table } if table.ends_with("stream_docs")),
        "{error:?}"
    );

    env.client.delete_table::<Doc>().await.unwrap();
    env.client
        .create_table::<Doc>()
        .stream(StreamView::NewImage)
        .await
        .unwrap();
    let error = Poller::<Doc>::new(&env.client).drain().await.unwrap_err();
    assert!(
        matches!(
            &error,
            StreamError::Cascade(dynox_core::Error::S3(
                dynox_s3::S3Error::StreamWithoutOldImages { .. }
            ))
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("NEW_AND_OLD_IMAGES"), "{error}");
}

/// A Lambda event of the table's stream records so far, as Lambda would deliver them.
async fn lambda_event(env: &FileEnv) -> aws_lambda_events::event::dynamodb::Event {
    let mut records = Vec::new();
    for change in read_stream(env).await {
        let name = match change.kind {
            ChangeKind::Insert => "INSERT",
            ChangeKind::Modify => "MODIFY",
            ChangeKind::Remove => "REMOVE",
        };
        let image = |i: &Option<dynox_core::item::Item>| {
            serde_dynamo::Item::from(i.clone().unwrap_or_default())
        };
        let mut record = aws_lambda_events::event::dynamodb::EventRecord::default();
        record.event_name = name.into();
        record.change.keys = serde_dynamo::Item::from(change.keys.clone());
        record.change.old_image = image(&change.old_image);
        record.change.new_image = image(&change.new_image);
        record.change.sequence_number = Some(change.sequence_number.clone());
        records.push(record);
    }
    let mut event = aws_lambda_events::event::dynamodb::Event::default();
    event.records = records;
    event
}

#[tokio::test]
async fn the_lambda_handler_cascades_and_names_the_first_failed_record_for_retry() {
    let env = env().await;
    let (mut a, mut b) = (doc("a"), doc("b"));
    env.client.save(&mut a).await.unwrap();
    env.client.save(&mut b).await.unwrap();
    raw_delete(&env, "a").await;
    raw_delete(&env, "b").await;
    let event = lambda_event(&env).await;
    assert_eq!(event.records.len(), 4);

    // S3 unreachable: the first REMOVE fails and is named; nothing after it is processed.
    let unreachable = aws_sdk_s3::Client::from_conf(
        env.backend
            .s3_config()
            .endpoint_url("http://127.0.0.1:1")
            .retry_config(aws_sdk_s3::config::retry::RetryConfig::disabled())
            .build(),
    );
    let broken = dynox_core::Client::builder(env.client.sdk_config())
        .table_prefix(env.client.table_prefix())
        .s3(S3Settings::default()
            .s3_client(unreachable)
            .bucket("streams", env.bucket("streams")))
        .build();
    let handled = dynox_streams::lambda::handle::<Doc>(&broken, event.clone())
        .await
        .unwrap();
    let failures: Vec<Option<String>> = handled
        .response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    assert_eq!(
        failures,
        vec![Some(
            event.records[2].change.sequence_number.clone().unwrap()
        )]
    );
    assert_eq!(handled.records.len(), 3, "stopped at the failed record");
    assert_eq!(env.keys("streams").await.len(), 2, "nothing deleted");

    // Retried (from the failed record, as Lambda does) with S3 back: everything is deleted.
    let mut retry = event.clone();
    retry.records.drain(..2);
    let handled = dynox_streams::lambda::handle::<Doc>(&env.client, retry)
        .await
        .unwrap();
    assert!(
        handled.response.batch_item_failures.is_empty(),
        "{handled:?}"
    );
    assert_eq!(
        handled
            .records
            .iter()
            .map(|r| r.deleted.len())
            .sum::<usize>(),
        2
    );
    assert!(env.keys("streams").await.is_empty());
}

#[tokio::test]
async fn an_old_image_only_stream_compares_with_the_item_as_it_is_now() {
    let env = file_env::<Doc>(&["streams"], S3Settings::default()).await;
    env.client.delete_table::<Doc>().await.unwrap();
    env.client
        .create_table::<Doc>()
        .stream(StreamView::OldImage)
        .await
        .unwrap();
    let (mut a, mut b) = (doc("a"), doc("b"));
    env.client.save(&mut a).await.unwrap();
    env.client.save(&mut b).await.unwrap();

    // Another service overwrites a's file reference with b's: the MODIFY record carries no
    // new image, so the cascade reads a as it is now.
    let mut a_item = raw_item(&env, "a").await;
    a_item.insert("file".into(), raw_item(&env, "b").await["file"].clone());
    env.client
        .dynamodb()
        .put_item()
        .table_name(env.client.table_name::<Doc>())
        .set_item(Some(a_item))
        .send()
        .await
        .unwrap();

    let report = Poller::<Doc>::new(&env.client).drain().await.unwrap();
    assert_eq!(report.deleted(), 1, "{report:?}");
    assert_eq!(sorted_keys(&env).await, vec![file_key(&b)]);
}

#[tokio::test]
async fn a_file_another_tool_cleared_to_null_is_kept_and_marked_and_an_inline_value_is_no_clear() {
    let env = env().await;
    let (mut a, mut b, mut c) = (doc("a"), doc("b"), doc("c"));
    b.notes = "n".repeat(450 * 1024); // an overflow value in S3
    for d in [&mut a, &mut b, &mut c] {
        env.client.save(d).await.unwrap();
    }
    let c_file = file_key(&c);
    let (a_file, b_notes) = (file_key(&a), {
        let before = sorted_keys(&env).await;
        before
            .into_iter()
            .find(|k| k.starts_with("notes/"))
            .expect("b's notes in S3")
    });
    // pydynox clears a field to NULL (keeping the file, as it promises); another writer puts
    // a short notes value back inline (the old overflow object is unreferenced, not cleared);
    // a removed attribute without a kept mark is how a dynox clear that deletes its file
    // looks: the file goes.
    let table = env.client.table_name::<Doc>();
    env.client
        .dynamodb()
        .update_item()
        .table_name(&table)
        .set_key(Some(key("c")))
        .update_expression("REMOVE #f")
        .expression_attribute_names("#f", "file")
        .send()
        .await
        .unwrap();
    for (pk, name, value) in [
        ("a", "file", AttributeValue::Null(true)),
        ("b", "notes", AttributeValue::S("short".into())),
    ] {
        env.client
            .dynamodb()
            .update_item()
            .table_name(&table)
            .set_key(Some(key(pk)))
            .update_expression("SET #f = :v")
            .expression_attribute_names("#f", name)
            .expression_attribute_values(":v", value)
            .send()
            .await
            .unwrap();
    }

    let report = Poller::<Doc>::new(&env.client).drain().await.unwrap();
    let skipped: Vec<(String, Skipped)> = report
        .records
        .iter()
        .flat_map(|r| {
            r.skipped
                .iter()
                .map(|(f, why)| (f.object.key.clone(), *why))
        })
        .collect();
    assert_eq!(
        skipped,
        vec![(a_file.clone(), Skipped::Cleared)],
        "{report:?}"
    );
    assert_eq!(
        report.deleted(),
        2,
        "b's old notes object, c's file: {report:?}"
    );
    let keys = sorted_keys(&env).await;
    assert!(keys.contains(&a_file), "{keys:?}");
    assert!(
        keys.contains(&format!("{a_file}{}", dynox_s3::KEPT_SUFFIX)),
        "marked kept: {keys:?}"
    );
    assert!(!keys.contains(&b_notes), "{keys:?}");
    assert!(!keys.contains(&c_file), "{keys:?}");
    // The sweep leaves it too: marked, it is kept.
    let swept = dynox_s3::sweep::<Doc>(&env.client)
        .as_of(SystemTime::now() + Duration::from_secs(48 * 3600))
        .delete()
        .await
        .unwrap();
    assert_eq!(swept.deleted, 0, "{swept}");
    assert!(sorted_keys(&env).await.contains(&a_file));
}
