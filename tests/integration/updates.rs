//! Typed updates (UpdateItem) against real servers.

use std::collections::BTreeSet;

use dynox_core::{DynamoModel, Error};
use dynox_s3::{S3Object, S3Settings};

#[derive(Debug, Clone, PartialEq, DynamoModel)]
#[dynamo(table = "counters")]
struct Counter {
    #[dynamo(hash_key)]
    id: String,
    #[dynamo(version)]
    version: u64,
    status: Option<String>,
    count: i64,
    #[dynamo(set)]
    tags: BTreeSet<String>,
    history: Vec<String>,
    note: Option<String>,
}

fn counter() -> Counter {
    Counter {
        id: "c".into(),
        version: 0,
        status: Some("new".into()),
        count: 10,
        tags: ["a".to_string(), "b".to_string()].into(),
        history: vec!["created".into()],
        note: Some("remove me".into()),
    }
}

#[tokio::test]
async fn every_update_action_applies_and_returns_the_typed_item() {
    let client = dynox_tests::client_with::<Counter>().await;
    let mut c = counter();
    client.save(&mut c).await.unwrap();
    let f = Counter::fields();
    let updated = Counter::update(&client, "c")
        .apply(f.status.set("active"))
        .apply(f.count.add(-3))
        .apply(f.tags.insert(["c".to_string()].into()))
        .apply(f.history.append(vec!["updated".into()]))
        .apply(f.note.remove())
        .return_new()
        .await
        .unwrap();
    assert_eq!(updated.status.as_deref(), Some("active"));
    assert_eq!(updated.count, 7);
    assert_eq!(
        updated.tags,
        ["a".to_string(), "b".to_string(), "c".to_string()].into()
    );
    assert_eq!(updated.history, ["created", "updated"]);
    assert_eq!(updated.note, None);
    assert_eq!(updated.version, 2, "an update increments the version");

    // Two changes to one attribute are refused before sending, naming it.
    let err = Counter::update(&client, "c")
        .apply(f.tags.delete(["a".to_string()].into()))
        .apply(f.tags.insert(["d".to_string()].into()))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("`tags`"), "{err}");

    Counter::update(&client, "c")
        .apply(f.tags.delete(["a".to_string()].into()))
        .apply(f.history.prepend(vec!["first".into()]))
        .apply(f.status.set_if_not_exists("ignored"))
        .await
        .unwrap();
    let now = Counter::get(&client, "c").await.unwrap().unwrap();
    assert_eq!(now.history, ["first", "created", "updated"]);
    assert_eq!(now.status.as_deref(), Some("active"));
    assert_eq!(now.tags, ["b".to_string(), "c".to_string()].into());
}

#[tokio::test]
async fn conditions_existence_and_versions_guard_updates() {
    let client = dynox_tests::client_with::<Counter>().await;
    let mut c = counter();
    client.save(&mut c).await.unwrap();
    let f = Counter::fields();

    let err = Counter::update(&client, "c")
        .apply(f.count.add(1))
        .condition(f.status.eq("closed"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ConditionFailed { .. }), "{err:?}");

    let err = Counter::update(&client, "c")
        .apply(f.count.add(1))
        .expect_version(7)
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::VersionConflict { expected: 7, .. }),
        "{err:?}"
    );
    Counter::update(&client, "c")
        .apply(f.count.add(1))
        .expect_version(1)
        .await
        .unwrap();
    assert_eq!(Counter::get(&client, "c").await.unwrap().unwrap().count, 11);

    let err = Counter::update(&client, "missing")
        .apply(f.count.add(1))
        .must_exist()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ConditionFailed { .. }), "{err:?}");
    assert_eq!(Counter::get(&client, "missing").await.unwrap(), None);

    let err = Counter::update(&client, "c")
        .apply(f.id.set("other"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidRequest { .. }), "{err:?}");
    assert!(err.to_string().contains("`id`"), "{err}");
    let err = Counter::update(&client, "c").await.unwrap_err();
    assert!(matches!(err, Error::InvalidRequest { .. }), "{err:?}");
}

#[derive(Debug, Clone, PartialEq, DynamoModel)]
#[dynamo(table = "papers")]
struct Paper {
    #[dynamo(hash_key)]
    id: String,
    title: String,
    #[s3(bucket = "papers")]
    pdf: S3Object,
}

#[tokio::test]
async fn a_partial_update_does_not_touch_files() {
    let env = dynox_tests::file_env::<Paper>(&["papers"], S3Settings::default()).await;
    let mut paper = Paper {
        id: "p".into(),
        title: "Draft".into(),
        pdf: S3Object::from_bytes(vec![7; 1000], "p.pdf"),
    };
    env.client.save(&mut paper).await.unwrap();
    env.log.clear();
    let updated = Paper::update(&env.client, "p")
        .apply(Paper::fields().title.set("Final"))
        .return_new()
        .await
        .unwrap();
    assert!(env.log.requests().is_empty(), "{:?}", env.log.requests());
    assert_eq!(updated.title, "Final");
    assert_eq!(updated.pdf, paper.pdf);
    assert_eq!(
        updated.pdf.get_bytes(&env.client).await.unwrap().as_ref(),
        &[7; 1000]
    );
}
