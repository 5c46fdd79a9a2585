//! Every public future and stream of dynox is `Send`, so it can run on a spawned task of a
//! multi-threaded runtime. The first test builds each one (with a model that has files,
//! indexes and a version) and checks it at compile time without awaiting it; the second
//! spawns the common ones on `tokio::spawn` and awaits them against the real servers.

use std::future::IntoFuture;
use std::time::Duration;

use dynox_core::{Client, DynamoModel};
use dynox_s3::{S3Object, S3Settings};
use dynox_tests::file_env;
use futures::{StreamExt, TryStreamExt};

#[derive(Debug, Clone, DynamoModel)]
#[dynamo(table = "send_docs")]
#[dynamo(global_index(name = "by_owner", hash_key = owner, range_key = rank))]
struct Doc {
    #[dynamo(hash_key)]
    pk: String,
    #[dynamo(range_key)]
    sk: String,
    owner: String,
    rank: u64,
    note: Option<String>,
    #[dynamo(version)]
    version: u64,
    #[s3(bucket = "send-docs", prefix = "docs/")]
    content: Option<S3Object>,
}

/// A model without files, for batch writes (which refuse models with files).
#[derive(Debug, Clone, DynamoModel)]
#[dynamo(table = "send_plain")]
struct Plain {
    #[dynamo(hash_key)]
    id: String,
    value: u64,
}

/// Compiles only for `Send` values (and drops them: a future never polled sends nothing).
fn assert_send<T: Send>(_: T) {}

fn doc(pk: &str, owner: &str) -> Doc {
    Doc {
        pk: pk.into(),
        sk: "v1".into(),
        owner: owner.into(),
        rank: 1,
        note: None,
        version: 0,
        content: Some(S3Object::from_bytes(vec![7u8; 64], "f.bin")),
    }
}

#[tokio::test]
async fn every_public_future_and_stream_is_send() {
    let env = file_env::<Doc>(&["send-docs"], S3Settings::default()).await;
    let client = &env.client;
    let mut stored = doc("stored", "alice");
    client.save(&mut stored).await.unwrap();
    let file = stored.content.clone().unwrap();
    let f = Doc::fields();
    let key = || Doc::key_of("stored", "v1");

    // Writes (built, never polled: nothing is sent).
    let mut item = doc("a", "alice");
    assert_send(client.save(&mut item).into_future());
    assert_send(client.create(&mut item).into_future());
    let mut tracked = dynox_core::Tracked::new(doc("a", "alice"));
    assert_send(client.save_changes(&mut tracked).into_future());
    assert_send(
        client
            .transact_write()
            .save_changes(&mut tracked)
            .into_future(),
    );
    assert_send(
        client
            .save_changes(&mut tracked)
            .condition(f.rank.eq(1))
            .delete_cleared_files()
            .into_future(),
    );
    assert_send(Doc::delete(client, "a", "v1").any_version().into_future());
    assert_send(
        Doc::delete(client, "a", "v1")
            .expect_version(1)
            .return_old()
            .into_future(),
    );
    assert_send(client.delete_item(&item).into_future());
    assert_send(
        Doc::update(client, "a", "v1")
            .apply(f.owner.set("bob"))
            .into_future(),
    );
    assert_send(
        Doc::update(client, "a", "v1")
            .apply(f.rank.add(1))
            .return_new()
            .into_future(),
    );
    let mut other = doc("b", "bob");
    assert_send(
        client
            .transact_write()
            .save(&mut item)
            .create(&mut other)
            .delete(Plain::key_of("p"))
            .into_future(),
    );
    let mut items = vec![doc("c", "carol"), doc("d", "dave")];
    assert_send(client.save_all(&mut items).into_future());
    assert_send(client.delete_all([Plain::key_of("p")]).into_future());
    assert_send(
        client
            .batch_write::<Plain>()
            .put(Plain {
                id: "p".into(),
                value: 1,
            })
            .into_future(),
    );

    // Reads.
    assert_send(Doc::get(client, "stored", "v1").into_future());
    assert_send(client.batch_get([key()]).into_future());
    let mut read = client.transact_get();
    let _slot = read.add(key());
    assert_send(read.into_future());
    assert_send(Doc::query(client, "stored").into_future());
    assert_send(Doc::query(client, "stored").all());
    assert_send(Doc::query(client, "stored").page());
    assert_send(Doc::query(client, "stored").count());
    assert_send(Doc::query(client, "stored").stream());
    assert_send(Doc::query(client, "stored").pages());
    assert_send(
        Doc::query(client, "stored")
            .stream()
            .try_collect::<Vec<_>>(),
    );
    let by_owner = Doc::indexes().by_owner;
    assert_send(by_owner.query(client, "alice").into_future());
    assert_send(by_owner.query(client, "alice").all());
    assert_send(by_owner.query(client, "alice").page());
    assert_send(by_owner.query(client, "alice").stream());
    assert_send(by_owner.query(client, "alice").pages());
    assert_send(by_owner.scan(client).all());
    assert_send(Doc::scan(client).all());
    assert_send(Doc::scan(client).into_future());
    assert_send(Doc::scan(client).count());
    assert_send(Doc::scan(client).segments(2).stream());
    assert_send(Doc::scan(client).stream().next());

    // Tables.
    assert_send(client.create_table::<Plain>().into_future());
    assert_send(client.delete_table::<Plain>().into_future());

    // Files.
    let dir = tempfile::tempdir().unwrap();
    assert_send(file.get_bytes(client));
    assert_send(file.save_to(client, dir.path().join("f.bin")));
    assert_send(file.stream(client).unwrap());
    assert_send(file.reader(client).unwrap());
    assert_send(file.range(client, 0..8));
    // With a progress attached (a callback that is Send + Sync), up and down.
    let progress = dynox_s3::Progress::with_callback(1 << 20, |_| {});
    let watched = file.clone().with_progress(&progress);
    assert_send(watched.get_bytes(client));
    assert_send(watched.save_to(client, dir.path().join("p.bin")));
    assert_send(watched.stream(client).unwrap());
    assert_send(watched.reader(client).unwrap());
    assert_send(progress.clone());
    let mut reported = doc("p", "alice");
    reported.content = Some(S3Object::from_bytes(vec![1u8; 8], "p.bin").with_progress(&progress));
    assert_send(client.save(&mut reported).into_future());
    assert_send(file.presigned_url(client, Duration::from_secs(60)));
    let rules = dynox_s3::UploadRules::new(1024);
    let file = dynox_s3::DeclaredFile::new("up.bin", "application/octet-stream");
    let presign = || {
        dynox_s3::presign_upload(
            client,
            Doc::key_of("up", "v1"),
            Doc::fields().content,
            &file,
            &rules,
        )
    };
    assert_send(presign());
    assert_send(dynox_s3::attach(
        client,
        Doc::key_of("up", "v1"),
        Doc::fields().content,
        "up.bin",
        "k",
        &rules,
    ));

    // Typed values.
    let mut value: dynox_s3::S3Value<Vec<String>> = dynox_s3::S3Value::new(vec!["a".into()]);
    assert_send(value.load(client));
    assert_send(value.fetch(client));

    // The stream cascade.
    let change = dynox_core::stream::ChangeRecord::new(
        dynox_core::stream::ChangeKind::Remove,
        Default::default(),
        "1",
    );
    assert_send(dynox_s3::cascade::<Doc>(client, &change));
    let poller = dynox_streams::Poller::<Doc>::new(client);
    assert_send(poller.drain());
    assert_send(dynox_streams::lambda::handle::<Doc>(
        client,
        aws_lambda_events::event::dynamodb::Event::default(),
    ));

    // A backfill, with a change of the user's and with a built-in file move.
    assert_send(
        client
            .backfill::<Doc>()
            .run(|d: Doc| async move {
                Ok::<_, dynox_core::BoxError>(dynox_core::BackfillChange::Save(d))
            })
            .into_future(),
    );
    assert_send(
        client
            .backfill::<Doc>()
            .run(dynox_s3::backfill::file_to_inline(client, |d: &mut Doc| {
                (&mut d.note, &mut d.content)
            }))
            .into_future(),
    );

    // The sweep.
    assert_send(dynox_s3::sweep::<Doc>(client).into_future());
    assert_send(
        dynox_s3::sweep::<Doc>(client)
            .delete()
            .segments(3)
            .into_future(),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_futures_run_on_spawned_tasks() {
    let env = file_env::<Doc>(&["send-docs"], S3Settings::default()).await;
    let client: Client = env.client.clone();

    // Writes and reads on spawned tasks (the futures own what they use).
    let saved = tokio::spawn({
        let client = client.clone();
        async move {
            let mut d = doc("spawned", "alice");
            client.save(&mut d).await?;
            let mut tracked = dynox_core::Tracked::new(d);
            tracked.rank = 5;
            client.save_changes(&mut tracked).await?;
            Doc::update(&client, "spawned", "v1")
                .apply(Doc::fields().rank.add(1))
                .return_new()
                .await
        }
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(saved.rank, 6, "the tracked save's 5, plus the update's 1");

    let reads = tokio::spawn({
        let client = client.clone();
        async move {
            let got = Doc::get(&client, "spawned", "v1").await?.expect("saved");
            let queried = Doc::query(&client, "spawned").all().await?;
            let by_owner = Doc::indexes()
                .by_owner
                .query(&client, "alice")
                .all()
                .await?;
            let scanned = Doc::scan(&client).segments(2).count().await?;
            let mut read = client.transact_get();
            let slot = read.add(Doc::key_of("spawned", "v1"));
            let in_transaction = read.await?.take(slot)?;
            Ok::<_, dynox_core::Error>((
                got,
                queried.len(),
                by_owner.len(),
                scanned,
                in_transaction,
            ))
        }
    })
    .await
    .unwrap()
    .unwrap();
    let (got, queried, by_owner, scanned, in_transaction) = reads;
    assert_eq!((queried, by_owner, scanned), (1, 1, 1));
    assert_eq!(
        in_transaction.map(|d| d.version),
        Some(saved.version),
        "the read transaction sees the update"
    );
    let version = got.version;

    // Downloads and presigning.
    let file = got.content.expect("a file");
    let (bytes, streamed, range, url) = tokio::spawn({
        let client = client.clone();
        async move {
            let bytes = file.get_bytes(&client).await?;
            let streamed: Vec<_> = file.stream(&client)?.try_collect().await?;
            let range = file.range(&client, 0..8).await?;
            let url = file.presigned_url(&client, Duration::from_secs(60)).await?;
            Ok::<_, dynox_core::Error>((bytes, streamed.concat(), range, url))
        }
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(bytes.as_ref(), &[7u8; 64][..]);
    assert_eq!(streamed, vec![7u8; 64]);
    assert_eq!(range.len(), 8);
    assert!(url.starts_with("http"), "{url}");

    // The sweep and a transaction, concurrently on two tasks.
    let sweep = tokio::spawn({
        let client = client.clone();
        async move { dynox_s3::sweep::<Doc>(&client).delete().await }
    });
    let transaction = tokio::spawn({
        let client = client.clone();
        async move {
            let mut d = Doc::get(&client, "spawned", "v1").await?.expect("saved");
            d.owner = "bob".into();
            client.transact_write().save(&mut d).await?;
            Ok::<_, dynox_core::Error>(d.version)
        }
    });
    let report = sweep.await.unwrap().unwrap();
    assert!(report.failed.is_empty(), "{report}");
    assert_eq!(transaction.await.unwrap().unwrap(), version + 1);

    // A backfill on a spawned task: the one item, which has no note yet, gets one.
    let backfill = tokio::spawn({
        let client = client.clone();
        async move {
            client
                .backfill::<Doc>()
                .segments(2)
                .run(|mut d: Doc| async move {
                    if d.note.is_some() {
                        return Ok(dynox_core::BackfillChange::Unchanged);
                    }
                    d.note = Some(format!("owned by {}", d.owner));
                    Ok::<_, dynox_core::BoxError>(dynox_core::BackfillChange::Save(d))
                })
                .await
        }
    });
    let report = backfill.await.unwrap().unwrap();
    assert_eq!(
        (report.scanned, report.changed, report.failed),
        (1, 1, 0),
        "{report:?}"
    );
    let noted = Doc::get(&client, "spawned", "v1").await.unwrap().unwrap();
    assert_eq!(noted.note.as_deref(), Some("owned by bob"));

    // The stream consumers and typed values on spawned tasks too. This table has no stream:
    // the poller says so; an empty Lambda batch has no failures; a value never saved is not
    // uploaded.
    let poller = dynox_streams::Poller::<Doc>::new(&client);
    let drained = tokio::spawn(async move { poller.drain().await });
    assert!(matches!(
        drained.await.unwrap(),
        Err(dynox_streams::StreamError::NoStream { .. })
    ));
    let handled = tokio::spawn({
        let client = client.clone();
        async move {
            let event = aws_lambda_events::event::dynamodb::Event::default();
            dynox_streams::lambda::handle::<Doc>(&client, event).await
        }
    });
    assert!(handled
        .await
        .unwrap()
        .unwrap()
        .response
        .batch_item_failures
        .is_empty());
    let loaded = tokio::spawn({
        let client = client.clone();
        async move {
            let value: dynox_s3::S3Value<Vec<u32>> = dynox_s3::S3Value::new(vec![1]);
            value.load(&client).await
        }
    });
    assert!(matches!(
        loaded.await.unwrap(),
        Err(dynox_core::Error::S3(dynox_s3::S3Error::NotUploaded { .. }))
    ));

    tokio::spawn(async move { Doc::delete(&client, "spawned", "v1").any_version().await })
        .await
        .unwrap()
        .unwrap();
    assert!(
        env.keys("send-docs").await.is_empty(),
        "the delete removed the file"
    );
}
