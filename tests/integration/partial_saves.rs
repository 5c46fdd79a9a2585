//! Saves that write only what changed (`Client::save_changes` of a `Tracked` item): an
//! UpdateItem of the changed attributes, so that two writers changing different fields both
//! keep their change, under the same conditions as a full save (the item exists, the
//! version, the files it replaces or clears, the caller's condition). File fields go through
//! the two-store protocol as in a full save; a file field the save does not change is left as
//! stored. The fault matrix (`consistency::matrix`) runs partial saves under every fault.

use std::collections::BTreeSet;

use aws_sdk_dynamodb::types::AttributeValue;
use dynox_core::{DynamoModel, Error, InvalidRequestKind, Tracked};
use dynox_local::faults::FaultKind;
use dynox_s3::{S3Object, S3Settings};
use dynox_tests::{faulty_file_env, file_env, raw_item, stored, FileEnv};

#[derive(Debug, Clone, PartialEq, DynamoModel)]
#[dynamo(table = "profiles")]
struct Profile {
    #[dynamo(hash_key)]
    id: String,
    name: String,
    bio: Option<String>,
    visits: u64,
    #[s3(bucket = "profiles", prefix = "avatars/")]
    avatar: Option<S3Object>,
    #[s3(bucket = "profiles", prefix = "resumes/")]
    resume: Option<S3Object>,
    /// Moves to S3 when the item would pass 400 KB, and back inline when short.
    #[s3(bucket = "profiles", prefix = "notes/", overflow)]
    notes: String,
}

fn profile(id: &str) -> Profile {
    Profile {
        id: id.into(),
        name: "Ada".into(),
        bio: Some("mathematician".into()),
        visits: 1,
        avatar: Some(S3Object::from_bytes(vec![1; 2000], "avatar.png")),
        resume: Some(S3Object::from_bytes(vec![2; 3000], "resume.pdf")),
        notes: "short".into(),
    }
}

#[derive(Debug, Clone, PartialEq, DynamoModel)]
#[dynamo(table = "articles")]
struct Article {
    #[dynamo(hash_key)]
    id: String,
    #[dynamo(version)]
    version: u64,
    title: String,
    body: String,
    #[dynamo(updated_at)]
    updated_at: Option<std::time::SystemTime>,
}

async fn env() -> FileEnv {
    file_env::<Profile>(&["profiles"], S3Settings::default()).await
}

/// Saves a fresh profile `id` with `env.client`, and returns it as loaded by `client`.
async fn stored_profile(env: &FileEnv, client: &dynox_core::Client, id: &str) -> Tracked<Profile> {
    env.client.save(&mut profile(id)).await.expect("save");
    load(client, id).await
}

/// Profile `id` as `client` reads it, tracked.
async fn load(client: &dynox_core::Client, id: &str) -> Tracked<Profile> {
    let loaded = Profile::get(client, id)
        .consistent_read(true)
        .await
        .expect("read")
        .expect("stored");
    Tracked::new(loaded)
}

/// The keys in the test bucket that are not kept marks.
async fn objects(env: &FileEnv) -> BTreeSet<String> {
    env.keys("profiles")
        .await
        .into_iter()
        .filter(|k| !k.ends_with(dynox_s3::KEPT_SUFFIX))
        .collect()
}

/// The object keys the stored profile `id` references.
async fn referenced(env: &FileEnv, id: &str) -> BTreeSet<String> {
    use dynox_core::spi::FileStore;
    let raw = raw_item::<Profile>(&env.client, Profile::key_of(id))
        .await
        .unwrap_or_default();
    <Profile as dynox_core::Model>::Files::references(&raw)
        .into_iter()
        .map(|r| r.object.key)
        .collect()
}

#[tokio::test]
async fn two_writers_changing_different_fields_both_keep_their_change() {
    let env = env().await;
    let mut mine = stored_profile(&env, &env.client, "p1").await;
    let mut theirs = load(&env.other, "p1").await;
    let old_avatar = stored(&theirs.avatar).key.clone();

    // Another writer replaces the avatar and the bio; this writer renames.
    theirs.bio = Some("poet".into());
    theirs.avatar = Some(S3Object::from_bytes(vec![7; 2500], "new.png"));
    env.other
        .save_changes(&mut theirs)
        .await
        .expect("their save");
    let new_avatar = stored(&theirs.avatar).key.clone();
    mine.name = "Ada Lovelace".into();
    assert_eq!(mine.changed(), ["name"]);
    env.client.save_changes(&mut mine).await.expect("my save");
    assert!(
        mine.changed().is_empty(),
        "the tracked state is the saved one"
    );

    let stored_item = load(&env.client, "p1").await.into_inner();
    assert_eq!(stored_item.name, "Ada Lovelace");
    assert_eq!(stored_item.bio.as_deref(), Some("poet"));
    assert_eq!(stored(&stored_item.avatar).key, new_avatar);
    let bytes = stored_item.avatar.as_ref().unwrap();
    assert_eq!(bytes.get_bytes(&env.client).await.unwrap(), vec![7; 2500]);
    // The replaced avatar went after their commit; my save, which did not write the avatar,
    // deleted nothing (its memory still named the old avatar).
    let objects = objects(&env).await;
    assert!(!objects.contains(&old_avatar));
    assert_eq!(objects, referenced(&env, "p1").await);

    // A whole-item save from a stale copy is what partial saves avoid: it writes back the
    // fields it did not change (here the bio; its stale avatar reference is refused).
    let mut stale = mine.clone().into_inner();
    stale.avatar = stored_item.avatar.clone();
    stale.bio = Some("mathematician".into());
    env.client.save(&mut stale).await.expect("full save");
    let after = Profile::get(&env.client, "p1").await.unwrap().unwrap();
    assert_eq!(after.bio.as_deref(), Some("mathematician"));
}

#[tokio::test]
async fn only_the_changed_attributes_are_written_in_one_update() {
    let (env, faults) = faulty_file_env::<Profile>(&["profiles"], S3Settings::default()).await;
    let mut p = stored_profile(&env, &env.client, "p2").await;
    // An attribute the model does not know, written by another application.
    env.client
        .dynamodb()
        .update_item()
        .table_name(env.client.table_name::<Profile>())
        .key("id", AttributeValue::S("p2".into()))
        .update_expression("SET legacy = :v")
        .expression_attribute_values(":v", AttributeValue::S("kept".into()))
        .send()
        .await
        .unwrap();

    // Nothing changed: nothing is sent.
    faults.reset();
    env.client.save_changes(&mut p).await.unwrap();
    assert!(faults.requests().is_empty(), "{:?}", faults.requests());

    p.visits += 1;
    faults.reset();
    env.client.save_changes(&mut p).await.unwrap();
    assert_eq!(faults.requests(), ["DynamoDB.UpdateItem"]);
    let raw = raw_item::<Profile>(&env.client, Profile::key_of("p2"))
        .await
        .unwrap();
    assert_eq!(raw["visits"], AttributeValue::N("2".into()));
    assert_eq!(raw["legacy"], AttributeValue::S("kept".into()));

    // A whole-item save replaces the item, and with it the unknown attribute.
    let mut whole = p.clone().into_inner();
    env.client.save(&mut whole).await.unwrap();
    let raw = raw_item::<Profile>(&env.client, Profile::key_of("p2"))
        .await
        .unwrap();
    assert!(!raw.contains_key("legacy"));
}

#[tokio::test]
async fn cleared_fields_are_removed_and_their_files_kept_or_deleted() {
    let env = env().await;
    let mut p = stored_profile(&env, &env.client, "p3").await;
    let resume = stored(&p.resume).key.clone();
    let avatar = stored(&p.avatar).key.clone();
    p.bio = None;
    p.resume = None;
    assert_eq!(p.changed(), ["bio", "resume"]);
    env.client.save_changes(&mut p).await.unwrap();
    let raw = raw_item::<Profile>(&env.client, Profile::key_of("p3"))
        .await
        .unwrap();
    assert!(!raw.contains_key("bio") && !raw.contains_key("resume"));
    let keys = env.keys("profiles").await;
    assert!(keys.contains(&resume), "a cleared file is kept by default");
    assert!(keys.contains(&format!("{resume}{}", dynox_s3::KEPT_SUFFIX)));

    p.avatar = None;
    env.client
        .save_changes(&mut p)
        .delete_cleared_files()
        .await
        .unwrap();
    assert!(!env.keys("profiles").await.contains(&avatar));
}

#[tokio::test]
async fn overflow_values_move_to_s3_and_back_inline() {
    let env = env().await;
    let mut p = stored_profile(&env, &env.client, "p4").await;
    p.notes = "n".repeat(420 * 1024);
    env.client.save_changes(&mut p).await.unwrap();
    let moved = referenced(&env, "p4").await;
    let notes_object: Vec<_> = moved.iter().filter(|k| k.starts_with("notes/")).collect();
    assert_eq!(notes_object.len(), 1, "{moved:?}");
    let notes_object = notes_object[0].clone();
    let read = Profile::get(&env.client, "p4").await.unwrap().unwrap();
    assert_eq!(read.notes.len(), 420 * 1024);

    // Another field only: the value in S3 is neither rewritten nor deleted.
    p.visits = 9;
    env.client.save_changes(&mut p).await.unwrap();
    assert!(referenced(&env, "p4").await.contains(&notes_object));

    // Another writer replaces the large value; this writer, which still holds the old one,
    // changes another field: the other writer's value stays (it is neither written back nor
    // moved to S3 again).
    let mut theirs = load(&env.other, "p4").await;
    theirs.notes = "m".repeat(420 * 1024);
    env.other.save_changes(&mut theirs).await.unwrap();
    p.visits = 10;
    env.client.save_changes(&mut p).await.unwrap();
    let read = Profile::get(&env.client, "p4").await.unwrap().unwrap();
    assert_eq!((read.notes.as_bytes()[0], read.visits), (b'm', 10));
    assert_eq!(objects(&env).await, referenced(&env, "p4").await);
    let mut p = load(&env.client, "p4").await;
    let notes_object = referenced(&env, "p4")
        .await
        .into_iter()
        .find(|k| k.starts_with("notes/"))
        .expect("the value is in S3");

    p.notes = "short again".into();
    env.client.save_changes(&mut p).await.unwrap();
    assert!(!referenced(&env, "p4").await.contains(&notes_object));
    assert!(!objects(&env).await.contains(&notes_object));
    let read = Profile::get(&env.client, "p4").await.unwrap().unwrap();
    assert_eq!(read.notes, "short again");
    assert_eq!(read.visits, 10);
}

#[tokio::test]
async fn an_item_deleted_since_it_was_loaded_is_not_recreated() {
    let env = env().await;
    let mut p = stored_profile(&env, &env.client, "p5").await;
    Profile::delete(&env.other, "p5").await.unwrap();
    p.name = "ghost".into();
    p.avatar = Some(S3Object::from_bytes(vec![3; 100], "ghost.png"));
    let error = env.client.save_changes(&mut p).await.unwrap_err();
    assert!(
        matches!(&error, Error::ConditionFailed { table, .. } if table.ends_with("profiles")),
        "{error:?}"
    );
    assert!(raw_item::<Profile>(&env.client, Profile::key_of("p5"))
        .await
        .is_none());
    // The new avatar was uploaded, then deleted when the write failed; it is pending again.
    assert!(objects(&env).await.is_empty(), "{:?}", objects(&env).await);
    assert!(p.avatar.as_ref().unwrap().stored().is_none());
}

#[tokio::test]
async fn versioned_items_conflict_instead_of_overwriting() {
    let client = dynox_tests::client_with::<Article>().await;
    let mut a = Article {
        id: "a1".into(),
        version: 0,
        title: "Draft".into(),
        body: "text".into(),
        updated_at: None,
    };
    client.save(&mut a).await.unwrap();
    let mut first = Tracked::new(Article::get(&client, "a1").await.unwrap().unwrap());
    let mut second = first.clone();
    first.title = "First".into();
    client.save_changes(&mut first).await.unwrap();
    assert_eq!(first.version, 2);
    assert!(first.updated_at.is_some());
    // The tracked state is the saved item, version and timestamp included.
    assert!(first.changed().is_empty(), "{:?}", first.changed());
    let stored_first = Article::get(&client, "a1").await.unwrap().unwrap();
    // (as stored: whole seconds)
    use dynox_core::Model;
    assert_eq!(stored_first.to_item().unwrap(), first.to_item().unwrap());
    second.body = "second".into();
    let error = client.save_changes(&mut second).await.unwrap_err();
    assert!(
        matches!(error, Error::VersionConflict { expected: 1, .. }),
        "{error:?}"
    );
    let stored_item = Article::get(&client, "a1").await.unwrap().unwrap();
    assert_eq!(
        (stored_item.title.as_str(), stored_item.body.as_str()),
        ("First", "text")
    );
    assert_eq!(stored_item.version, 2);
    // Reloaded, the second writer's change goes through.
    let mut second = Tracked::new(stored_item);
    second.body = "second".into();
    client.save_changes(&mut second).await.unwrap();
    let stored_item = Article::get(&client, "a1").await.unwrap().unwrap();
    assert_eq!(
        (stored_item.title.as_str(), stored_item.body.as_str()),
        ("First", "second")
    );
    assert_eq!(stored_item.version, 3);
}

#[tokio::test]
async fn a_changed_key_and_a_failed_condition_write_nothing() {
    let env = env().await;
    let mut p = stored_profile(&env, &env.client, "p6").await;
    p.id = "p7".into();
    let error = env.client.save_changes(&mut p).await.unwrap_err();
    assert!(
        matches!(
            &error,
            Error::InvalidRequest { kind: InvalidRequestKind::Tracking, reason }
                if reason.contains("`id`") && reason.contains("profiles")
        ),
        "{error:?}"
    );
    assert!(raw_item::<Profile>(&env.client, Profile::key_of("p7"))
        .await
        .is_none());

    let mut p = stored_profile(&env, &env.client, "p8").await;
    p.name = "conditional".into();
    p.resume = Some(S3Object::from_bytes(vec![4; 700], "new.pdf"));
    let before = objects(&env).await;
    let error = env
        .client
        .save_changes(&mut p)
        .condition(Profile::fields().visits.eq(5))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::ConditionFailed { .. }), "{error:?}");
    let read = Profile::get(&env.client, "p8").await.unwrap().unwrap();
    assert_eq!(read.name, "Ada");
    assert_eq!(objects(&env).await, before, "the new resume was removed");
    // The condition holding, the same change is written.
    env.client
        .save_changes(&mut p)
        .condition(Profile::fields().visits.eq(1))
        .await
        .unwrap();
    let read = Profile::get(&env.client, "p8").await.unwrap().unwrap();
    assert_eq!(read.name, "conditional");
    assert_eq!(
        read.resume.unwrap().get_bytes(&env.client).await.unwrap(),
        vec![4; 700]
    );
}

#[tokio::test]
async fn the_tracked_state_follows_a_committed_save_whose_cleanup_failed() {
    let (env, faults) = faulty_file_env::<Profile>(&["profiles"], S3Settings::default()).await;
    let mut p = stored_profile(&env, &env.client, "p9").await;
    let old = stored(&p.avatar).key.clone();
    p.avatar = Some(S3Object::from_bytes(vec![6; 100], "next.png"));
    faults.fail_every("DeleteObject", FaultKind::ServerError);
    let error = env.client.save_changes(&mut p).await.unwrap_err();
    faults.reset();
    assert!(
        matches!(&error, Error::CleanupFailed { write, objects, .. }
            if write.is_committed() && objects.iter().any(|o| o.object.key == old)),
        "{error:?}"
    );
    // The save committed: what it wrote is the tracked state, and is not sent again.
    assert!(p.changed().is_empty(), "{:?}", p.changed());
    faults.reset();
    env.client.save_changes(&mut p).await.unwrap();
    assert!(faults.requests().is_empty(), "{:?}", faults.requests());
}

#[tokio::test]
async fn an_item_whose_loaded_state_is_unknown_is_refused() {
    let env = env().await;
    // A new item with a pending file cannot be converted, so what changed cannot be told.
    let mut fresh = Tracked::new(profile("p10"));
    let error = env.client.save_changes(&mut fresh).await.unwrap_err();
    assert!(
        matches!(
            &error,
            Error::InvalidRequest { kind: InvalidRequestKind::Tracking, reason }
                if reason.contains("p10") && reason.contains("profiles")
        ),
        "{error:?}"
    );
    assert!(objects(&env).await.is_empty(), "nothing uploaded");
    assert!(raw_item::<Profile>(&env.client, Profile::key_of("p10"))
        .await
        .is_none());
}

#[tokio::test]
async fn a_transaction_writes_only_what_changed() {
    let env = env().await;
    let mut a = stored_profile(&env, &env.client, "t1").await;
    let mut b = stored_profile(&env, &env.client, "t2").await;
    let old_avatar = stored(&a.avatar).key.clone();
    // Another writer changes a's bio after this writer loaded it.
    let mut theirs = load(&env.other, "t1").await;
    theirs.bio = Some("poet".into());
    env.other.save_changes(&mut theirs).await.unwrap();
    a.name = "in a transaction".into();
    a.avatar = Some(S3Object::from_bytes(vec![8; 300], "tx.png"));
    // `b` has not changed: the transaction checks that it still exists, and writes nothing.
    env.client
        .transact_write()
        .save_changes(&mut a)
        .save_changes(&mut b)
        .await
        .unwrap();
    let read = load(&env.client, "t1").await.into_inner();
    assert_eq!(read.name, "in a transaction");
    assert_eq!(
        read.bio.as_deref(),
        Some("poet"),
        "the other writer's bio is kept"
    );
    let avatar = read.avatar.as_ref().unwrap();
    assert_eq!(avatar.get_bytes(&env.client).await.unwrap(), vec![8; 300]);
    assert!(a.changed().is_empty(), "{:?}", a.changed());
    let mut all = referenced(&env, "t1").await;
    all.extend(referenced(&env, "t2").await);
    assert!(!all.contains(&old_avatar));
    assert_eq!(objects(&env).await, all);

    // `b` deleted since: the transaction writes nothing, and `a`'s new file is removed.
    Profile::delete(&env.other, "t2").await.unwrap();
    a.name = "again".into();
    a.resume = Some(S3Object::from_bytes(vec![9; 100], "r.pdf"));
    let error = env
        .client
        .transact_write()
        .save_changes(&mut a)
        .save_changes(&mut b)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::ConditionFailed { key, .. } if key.contains("t2")),
        "{error:?}"
    );
    let read = load(&env.client, "t1").await.into_inner();
    assert_eq!(read.name, "in a transaction");
    assert_eq!(objects(&env).await, referenced(&env, "t1").await);
    assert!(raw_item::<Profile>(&env.client, Profile::key_of("t2"))
        .await
        .is_none());
}
