//! The requests each write sends, counted on real servers: what the client already knows of
//! an item (it read or wrote it) replaces the read before a save or delete, and a wrong
//! guess costs one refused write, never a promise (both stores end as the write says).

use dynox_core::{DynamoModel, Error};
use dynox_local::faults::Faults;
use dynox_s3::{S3Object, S3Settings};
use dynox_tests::{faulty_file_env_remembering, FileEnv};

#[derive(Debug, Clone, DynamoModel)]
#[dynamo(table = "notes")]
struct Note {
    #[dynamo(hash_key)]
    id: String,
    title: String,
    #[s3(bucket = "notes", prefix = "files/")]
    file: Option<S3Object>,
}

#[derive(Debug, Clone, DynamoModel)]
#[dynamo(table = "versioned_notes")]
struct VersionedNote {
    #[dynamo(hash_key)]
    id: String,
    #[dynamo(version)]
    version: u64,
    #[s3(bucket = "notes", prefix = "files/")]
    file: Option<S3Object>,
}

fn note(id: &str, content: &[u8]) -> Note {
    Note {
        id: id.into(),
        title: "t".into(),
        file: Some(S3Object::from_bytes(content.to_vec(), "a.txt")),
    }
}

async fn env(remembered: usize) -> (FileEnv, Faults) {
    faulty_file_env_remembering::<Note>(&["notes"], S3Settings::default(), remembered).await
}

/// The DynamoDB requests among `requests`, in order, without the service prefix.
fn dynamodb(requests: &[String]) -> Vec<&str> {
    requests
        .iter()
        .filter_map(|r| r.strip_prefix("DynamoDB."))
        .collect()
}

/// Deletes note `id` through the client; returns the DynamoDB requests the delete sent.
async fn delete_requests(env: &FileEnv, faults: &Faults, id: &str) -> Vec<String> {
    faults.reset();
    Note::delete(&env.client, id).await.expect("delete");
    let requests = faults.requests();
    dynamodb(&requests).into_iter().map(str::to_owned).collect()
}

/// How many `S3.{operation}` requests `requests` holds.
fn s3(requests: &[String], operation: &str) -> usize {
    let name = format!("S3.{operation}");
    requests.iter().filter(|r| **r == name).count()
}

/// The object keys under the test bucket.
async fn objects(env: &FileEnv) -> Vec<String> {
    let mut keys = env.keys("notes").await;
    keys.sort();
    keys
}

fn key_of(file: &Option<S3Object>) -> String {
    file.as_ref()
        .and_then(S3Object::stored)
        .expect("a stored file")
        .key
        .clone()
}

#[tokio::test]
async fn a_new_item_with_a_file_is_one_upload_and_one_write() {
    let (env, faults) = env(100).await;
    faults.reset();
    let mut n = note("new", b"hello");
    env.client.save(&mut n).await.expect("save");
    assert_eq!(faults.requests(), ["S3.PutObject", "DynamoDB.PutItem"]);
    assert_eq!(objects(&env).await, [key_of(&n.file)]);
}

#[tokio::test]
async fn replacing_the_file_of_a_loaded_item_reads_nothing() {
    let (env, faults) = env(100).await;
    env.other.save(&mut note("a", b"one")).await.expect("save");
    let mut loaded = Note::get(&env.client, "a").await.unwrap().unwrap();
    let old = key_of(&loaded.file);
    faults.reset();
    loaded.file = Some(S3Object::from_bytes(b"two".to_vec(), "b.txt"));
    env.client.save(&mut loaded).await.expect("save");
    let requests = faults.requests();
    assert_eq!(dynamodb(&requests), ["PutItem"], "{requests:?}");
    // The replaced object is deleted after the write; only the new one is left.
    assert_eq!(objects(&env).await, [key_of(&loaded.file)]);
    assert_ne!(key_of(&loaded.file), old);

    // The item this client just wrote is remembered too: a second save reads nothing.
    faults.reset();
    loaded.title = "renamed".into();
    env.client.save(&mut loaded).await.expect("save");
    assert_eq!(faults.requests(), ["DynamoDB.PutItem"]);
}

#[tokio::test]
async fn deleting_a_loaded_item_reads_nothing() {
    let (env, faults) = env(100).await;
    env.other.save(&mut note("a", b"one")).await.expect("save");
    env.other.save(&mut note("b", b"two")).await.expect("save");
    // A query remembers what it read, as a get does.
    let page = Note::query(&env.client, "a").all().await.expect("query");
    assert_eq!(page.len(), 1);
    assert_eq!(delete_requests(&env, &faults, "a").await, ["DeleteItem"]);
    // An item the client never read is read first.
    assert_eq!(
        delete_requests(&env, &faults, "b").await,
        ["GetItem", "DeleteItem"]
    );
    assert!(objects(&env).await.is_empty());
}

#[tokio::test]
async fn a_stale_memory_costs_one_refused_write_and_no_object() {
    let (env, faults) = env(100).await;
    let mut mine = note("a", b"one");
    env.client.save(&mut mine).await.expect("save");
    // Another writer replaces the file: this client still remembers the first one.
    let mut theirs = Note::get(&env.other, "a").await.unwrap().unwrap();
    theirs.file = Some(S3Object::from_bytes(b"theirs".to_vec(), "t.txt"));
    env.other.save(&mut theirs).await.expect("save");

    faults.reset();
    mine.file = Some(S3Object::from_bytes(b"mine".to_vec(), "m.txt"));
    env.client.save(&mut mine).await.expect("save");
    let requests = faults.requests();
    // The first PutItem is refused and carries the stored item back (no GetItem where the
    // server returns it); the second is written on the stored references.
    let writes = dynamodb(&requests);
    assert!(
        writes == ["PutItem", "PutItem"] || writes == ["PutItem", "GetItem", "PutItem"],
        "{requests:?}"
    );
    if writes.contains(&"GetItem") {
        dynox_tests::capability_note(
            &env.backend,
            "a_stale_memory_costs_one_refused_write_and_no_object",
            "the server does not return the item with a failed condition (ALL_OLD): read",
        );
    }
    // Theirs was replaced by mine and deleted; the item holds mine; nothing else is left.
    assert_eq!(s3(&requests, "PutObject"), 1);
    assert_eq!(objects(&env).await, [key_of(&mine.file)]);
    let stored = Note::get(&env.client, "a").consistent_read(true).await;
    let stored = stored.unwrap().unwrap();
    assert_eq!(key_of(&stored.file), key_of(&mine.file));
    assert_eq!(
        stored.file.unwrap().get_bytes(&env.client).await.unwrap(),
        &b"mine"[..]
    );
}

#[tokio::test]
async fn a_stale_memory_delete_removes_the_stored_objects() {
    let (env, faults) = env(100).await;
    env.client.save(&mut note("a", b"one")).await.expect("save");
    let mut theirs = Note::get(&env.other, "a").await.unwrap().unwrap();
    theirs.file = Some(S3Object::from_bytes(b"theirs".to_vec(), "t.txt"));
    env.other.save(&mut theirs).await.expect("save");

    faults.reset();
    Note::delete(&env.client, "a").await.expect("delete");
    let requests = faults.requests();
    assert_eq!(
        dynamodb(&requests)
            .iter()
            .filter(|r| **r == "DeleteItem")
            .count(),
        2,
        "{requests:?}"
    );
    assert!(Note::get(&env.client, "a").await.unwrap().is_none());
    assert!(objects(&env).await.is_empty(), "{:?}", objects(&env).await);
}

#[tokio::test]
async fn a_new_struct_saved_over_an_unread_item_replaces_its_file() {
    let (env, faults) = env(100).await;
    let mut theirs = note("a", b"theirs");
    env.other.save(&mut theirs).await.expect("save");
    faults.reset();
    let mut mine = note("a", b"mine");
    env.client.save(&mut mine).await.expect("save");
    let requests = faults.requests();
    assert_eq!(
        s3(&requests, "PutObject"),
        1,
        "the file is uploaded once: {requests:?}"
    );
    // Their object is replaced, so deleted; only mine is left.
    assert_eq!(objects(&env).await, [key_of(&mine.file)]);
}

#[tokio::test]
async fn a_cleared_file_of_a_stale_memory_is_kept() {
    // The client remembers no file; another writer adds one; this client's save clears the
    // field: the stored file is marked kept (from the carried item) and not deleted.
    let (env, _faults) = env(100).await;
    let mut mine = Note {
        id: "a".into(),
        title: "t".into(),
        file: None,
    };
    env.client.save(&mut mine).await.expect("save");
    let mut theirs = Note::get(&env.other, "a").await.unwrap().unwrap();
    theirs.file = Some(S3Object::from_bytes(b"theirs".to_vec(), "t.txt"));
    env.other.save(&mut theirs).await.expect("save");
    mine.title = "renamed".into();
    env.client.save(&mut mine).await.expect("save");
    let kept = key_of(&theirs.file);
    let keys = objects(&env).await;
    assert!(keys.contains(&kept), "{keys:?}");
    assert!(
        keys.contains(&format!("{kept}{}", dynox_s3::KEPT_SUFFIX)),
        "{keys:?}"
    );
}

#[tokio::test]
async fn a_version_conflict_is_not_taken_for_a_stale_memory() {
    let (env, faults) =
        faulty_file_env_remembering::<VersionedNote>(&["notes"], S3Settings::default(), 100).await;
    let mut mine = VersionedNote {
        id: "a".into(),
        version: 0,
        file: Some(S3Object::from_bytes(b"one".to_vec(), "a.txt")),
    };
    env.client.save(&mut mine).await.expect("save");
    let mut theirs = VersionedNote::get(&env.other, "a").await.unwrap().unwrap();
    theirs.file = Some(S3Object::from_bytes(b"two".to_vec(), "b.txt"));
    env.other.save(&mut theirs).await.expect("save");

    faults.reset();
    mine.file = Some(S3Object::from_bytes(b"three".to_vec(), "c.txt"));
    let err = env.client.save(&mut mine).await.expect_err("stale version");
    assert!(
        matches!(err, Error::VersionConflict { expected: 1, .. }),
        "{err:?}"
    );
    // One write, refused; the upload is removed; theirs stands.
    let requests = faults.requests();
    assert_eq!(dynamodb(&requests), ["PutItem"], "{requests:?}");
    assert_eq!(objects(&env).await, [key_of(&theirs.file)]);
}

#[tokio::test]
async fn a_client_that_remembers_nothing_reads_a_loaded_item_first() {
    let (env, faults) = env(0).await;
    let mut n = note("a", b"one");
    env.client.save(&mut n).await.expect("save");
    let mut loaded = Note::get(&env.client, "a").await.unwrap().unwrap();
    // The item holds a stored file, so it was loaded: its references are read.
    faults.reset();
    loaded.title = "renamed".into();
    env.client.save(&mut loaded).await.expect("save");
    let requests = faults.requests();
    assert_eq!(dynamodb(&requests), ["GetItem", "PutItem"], "{requests:?}");
    // Its only file replaced, it looks new: written at once on condition that it has no
    // file; refused, it carries the stored item back and is written again.
    faults.reset();
    loaded.file = Some(S3Object::from_bytes(b"two".to_vec(), "b.txt"));
    env.client.save(&mut loaded).await.expect("save");
    let requests = faults.requests();
    let writes = dynamodb(&requests);
    assert!(
        writes == ["PutItem", "PutItem"] || writes == ["PutItem", "GetItem", "PutItem"],
        "{requests:?}"
    );
    assert_eq!(objects(&env).await, [key_of(&loaded.file)]);
    assert_eq!(
        delete_requests(&env, &faults, "a").await,
        ["GetItem", "DeleteItem"]
    );
    assert!(objects(&env).await.is_empty());
}

#[tokio::test]
async fn the_least_recently_used_item_is_forgotten_first() {
    let (env, faults) = env(1).await;
    env.other.save(&mut note("a", b"one")).await.expect("save");
    env.other.save(&mut note("b", b"two")).await.expect("save");
    Note::get(&env.client, "a").await.unwrap().unwrap();
    Note::get(&env.client, "b").await.unwrap().unwrap();
    assert_eq!(
        delete_requests(&env, &faults, "a").await,
        ["GetItem", "DeleteItem"]
    );
    assert_eq!(delete_requests(&env, &faults, "b").await, ["DeleteItem"]);
}
