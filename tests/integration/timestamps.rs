//! `#[dynamo(created_at)]` and `#[dynamo(updated_at)]`: set by every write path (save,
//! create, transactions, batch writes, updates), never by the caller's hand.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use dynox_core::DynamoModel;

#[derive(Debug, Clone, PartialEq, DynamoModel)]
#[dynamo(table = "articles")]
struct Article {
    #[dynamo(hash_key)]
    slug: String,
    title: String,
    #[dynamo(created_at)]
    created: Option<SystemTime>,
    #[dynamo(updated_at)]
    updated: SystemTime,
}

fn article(slug: &str) -> Article {
    Article {
        slug: slug.into(),
        title: "draft".into(),
        created: None,
        updated: UNIX_EPOCH,
    }
}

/// Now, truncated to the second (timestamps are stored as whole seconds).
fn now_seconds() -> SystemTime {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    UNIX_EPOCH + Duration::from_secs(secs)
}

#[tokio::test]
async fn save_sets_both_on_the_first_write_and_only_updated_after() {
    let client = dynox_tests::client_with::<Article>().await;
    let before = now_seconds();
    let mut a = article("a");
    client.save(&mut a).await.unwrap();
    let created = a.created.expect("save sets created_at");
    assert!(created >= before && a.updated >= before);
    let stored = Article::get(&client, "a").await.unwrap().unwrap();
    assert_eq!(stored.created, Some(UNIX_EPOCH + whole(created)));
    assert_eq!(stored.updated, UNIX_EPOCH + whole(a.updated));

    // A later save keeps created_at and moves updated_at (from a time set in the past).
    let long_ago = UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    let mut edited = stored;
    edited.created = Some(long_ago);
    edited.updated = long_ago;
    edited.title = "final".into();
    client.save(&mut edited).await.unwrap();
    let stored = Article::get(&client, "a").await.unwrap().unwrap();
    assert_eq!(stored.created, Some(long_ago));
    assert!(stored.updated >= before);
}

fn whole(t: SystemTime) -> Duration {
    Duration::from_secs(t.duration_since(UNIX_EPOCH).unwrap().as_secs())
}

#[tokio::test]
async fn transactions_and_batch_writes_stamp_items() {
    let client = dynox_tests::client_with::<Article>().await;
    let before = now_seconds();
    let mut t = article("t");
    client.transact_write().save(&mut t).await.unwrap();
    client
        .batch_write::<Article>()
        .put(article("b"))
        .await
        .unwrap();
    for slug in ["t", "b"] {
        let stored = Article::get(&client, slug).await.unwrap().unwrap();
        assert!(stored.created.is_some_and(|c| c >= before), "{slug}");
        assert!(stored.updated >= before, "{slug}");
    }
}

#[tokio::test]
async fn updates_set_updated_at_and_created_at_only_when_creating() {
    let client = dynox_tests::client_with::<Article>().await;
    let before = now_seconds();
    // An update that creates the item sets both.
    Article::update(&client, "u")
        .apply(Article::fields().title.set("new"))
        .await
        .unwrap();
    let stored = Article::get(&client, "u").await.unwrap().unwrap();
    assert!(stored.created.is_some_and(|c| c >= before));
    assert!(stored.updated >= before);

    // On an existing item it keeps created_at.
    let long_ago = UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    Article::update(&client, "u")
        .apply(Article::fields().created.set(long_ago))
        .apply(Article::fields().updated.set(long_ago))
        .await
        .unwrap();
    let stored = Article::get(&client, "u").await.unwrap().unwrap();
    assert_eq!(stored.created, Some(long_ago));
    assert_eq!(stored.updated, long_ago, "a value the caller sets wins");
    Article::update(&client, "u")
        .apply(Article::fields().title.set("again"))
        .await
        .unwrap();
    let stored = Article::get(&client, "u").await.unwrap().unwrap();
    assert_eq!(stored.created, Some(long_ago));
    assert!(stored.updated >= before);
}
