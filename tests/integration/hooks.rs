//! Hooks (`#[dynamo(hooks)]`): the application's async code before and after saves and
//! deletes and after loads, with the errors that stop an operation before anything is
//! uploaded or written.

use std::sync::Mutex;

use dynox_core::{Client, DynamoCollection, DynamoModel, Error, HookResult, Hooks, Key};
use dynox_s3::{S3Object, S3Settings};
use dynox_tests::file_env;

/// What the hooks saw, per item slug (tests run in parallel: each uses its own slugs).
static SEEN: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn seen(slug: &str) -> Vec<String> {
    SEEN.lock()
        .unwrap()
        .iter()
        .filter(|e| e.ends_with(&format!(" {slug}")))
        .cloned()
        .collect()
}

fn record(event: &str, slug: &str) {
    SEEN.lock().unwrap().push(format!("{event} {slug}"));
}

#[derive(Debug, Clone, PartialEq, DynamoModel)]
#[dynamo(table = "hooked", hooks)]
struct Article {
    #[dynamo(hash_key)]
    slug: String,
    title: String,
    #[s3(bucket = "hooked-files", prefix = "bodies/")]
    body: Option<S3Object>,
    /// Not stored: set by `after_load`.
    #[dynamo(skip)]
    loaded: bool,
}

impl Hooks for Article {
    async fn before_save(&mut self, _client: &Client) -> HookResult {
        if self.title == "forbidden" {
            return Err("this title is not allowed".into());
        }
        if self.slug.is_empty() {
            self.slug = self.title.to_lowercase().replace(' ', "-");
        }
        record("before_save", &self.slug);
        Ok(())
    }

    async fn after_save(&self, _client: &Client) -> HookResult {
        record("after_save", &self.slug);
        Ok(())
    }

    async fn before_delete(key: &Key<Self>, _client: &Client) -> HookResult {
        if key.hash.starts_with("keep") {
            return Err(format!("{} is kept", key.hash).into());
        }
        record("before_delete", &key.hash);
        Ok(())
    }

    async fn after_delete(key: &Key<Self>, _client: &Client) -> HookResult {
        record("after_delete", &key.hash);
        Ok(())
    }

    async fn after_load(&mut self, _client: &Client) -> HookResult {
        self.loaded = true;
        Ok(())
    }
}

fn article(slug: &str, title: &str) -> Article {
    Article {
        slug: slug.into(),
        title: title.into(),
        body: Some(S3Object::from_bytes(b"text".to_vec(), "body.md")),
        loaded: false,
    }
}

#[tokio::test]
async fn hooks_run_around_saves_deletes_and_loads() {
    let env = file_env::<Article>(&["hooked-files"], S3Settings::default()).await;
    let client = &env.client;

    // before_save may change the item: the slug comes from the title.
    let mut a = article("", "Hello World");
    client.save(&mut a).await.unwrap();
    assert_eq!(a.slug, "hello-world");
    assert_eq!(
        seen("hello-world"),
        ["before_save hello-world", "after_save hello-world"]
    );

    // after_load runs on every read of the model.
    let got = Article::get(client, "hello-world").await.unwrap().unwrap();
    assert!(got.loaded);
    let queried = Article::query(client, "hello-world").await.unwrap();
    assert!(queried.iter().all(|a| a.loaded) && queried.len() == 1);
    let scanned = Article::scan(client).await.unwrap();
    assert!(scanned.iter().all(|a| a.loaded));
    let batch = client
        .batch_get([Article::key_of("hello-world")])
        .await
        .unwrap();
    assert!(batch.items.iter().all(|a| a.loaded) && batch.items.len() == 1);

    Article::delete(client, "hello-world").await.unwrap();
    assert_eq!(
        seen("hello-world")[2..],
        ["before_delete hello-world", "after_delete hello-world"]
    );
    assert!(env.keys("hooked-files").await.is_empty());
}

#[tokio::test]
async fn a_failing_before_hook_stops_the_operation_before_anything_is_uploaded_or_written() {
    let env = file_env::<Article>(&["hooked-files"], S3Settings::default()).await;
    let client = &env.client;

    let err = client
        .save(&mut article("forbidden-1", "forbidden"))
        .await
        .unwrap_err();
    match &err {
        Error::Hook {
            model,
            hook,
            key,
            source,
            ..
        } => {
            assert_eq!((*model, *hook), ("Article", "before_save"));
            assert!(key.contains("forbidden-1"), "{key}");
            assert_eq!(source.to_string(), "this title is not allowed");
        }
        other => panic!("expected a hook error, got {other:?}"),
    }
    assert!(
        env.keys("hooked-files").await.is_empty(),
        "nothing uploaded"
    );
    assert_eq!(Article::get(client, "forbidden-1").await.unwrap(), None);

    client.save(&mut article("keep-1", "Kept")).await.unwrap();
    let err = Article::delete(client, "keep-1").await.unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Hook {
                hook: "before_delete",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(Article::get(client, "keep-1").await.unwrap().is_some());
    assert_eq!(env.keys("hooked-files").await.len(), 1, "the file stays");
}

/// A collection runs the hooks of its model variants.
#[derive(Debug, DynamoCollection)]
#[allow(dead_code)]
enum Feed {
    Post(Post),
}

#[derive(Debug, Clone, PartialEq, DynamoModel)]
#[dynamo(
    table = "hooked_feed",
    entity = "Post",
    pk = "FEED#{feed}",
    sk = "POST#{n}",
    hooks
)]
struct Post {
    feed: String,
    n: u32,
    #[dynamo(skip)]
    loaded: bool,
}

impl Hooks for Post {
    async fn after_load(&mut self, _client: &Client) -> HookResult {
        self.loaded = true;
        Ok(())
    }
}

#[tokio::test]
async fn a_collection_runs_the_after_load_hook_of_each_model() {
    let client = dynox_tests::client_with::<Post>().await;
    for n in 1..=3 {
        client
            .save(&mut Post {
                feed: "f".into(),
                n,
                loaded: false,
            })
            .await
            .unwrap();
    }
    let feed = Feed::query(&client, Post::partition("f")).await.unwrap();
    assert_eq!(feed.len(), 3);
    assert!(feed.iter().all(|Feed::Post(p)| p.loaded));
}

#[tokio::test]
async fn a_transaction_runs_the_hooks_of_its_saves_and_deletes() {
    let env = file_env::<Article>(&["hooked-files"], S3Settings::default()).await;
    let client = &env.client;
    client.save(&mut article("tx-old", "Old")).await.unwrap();

    let mut new = article("", "Tx New");
    client
        .transact_write()
        .save(&mut new)
        .delete(Article::key_of("tx-old"))
        .await
        .unwrap();
    assert_eq!(
        new.slug, "tx-new",
        "before_save changed the item before the write"
    );
    assert_eq!(seen("tx-new"), ["before_save tx-new", "after_save tx-new"]);
    assert_eq!(
        seen("tx-old")[2..],
        ["before_delete tx-old", "after_delete tx-old"]
    );

    // A failing before hook stops the whole transaction before anything is uploaded.
    client.save(&mut article("keep-tx", "Kept")).await.unwrap();
    let before = env.keys("hooked-files").await.len();
    let mut other = article("tx-other", "Other");
    let err = client
        .transact_write()
        .save(&mut other)
        .delete(Article::key_of("keep-tx"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Hook {
                hook: "before_delete",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        env.keys("hooked-files").await.len(),
        before,
        "nothing uploaded"
    );
    assert_eq!(Article::get(client, "tx-other").await.unwrap(), None);
}

#[tokio::test]
async fn a_save_with_hooks_runs_on_a_spawned_task() {
    let env = file_env::<Article>(&["hooked-files"], S3Settings::default()).await;
    let client = env.client.clone();
    let saved = tokio::spawn(async move {
        let mut a = article("", "Spawned Save");
        client.save(&mut a).await.map(|()| a.slug)
    });
    assert_eq!(saved.await.unwrap().unwrap(), "spawned-save");
}
