//! Shared file fields (`#[s3(shared)]`, content-addressed objects) against real servers:
//! identical content is one object whichever item or source it comes from, a second save of
//! it sends no bytes, no write (failed save, replace, delete) ever deletes a shared object,
//! the sweep collects one only when no item references it, and deletes racing saves of the
//! same content leave no item pointing at a missing object.

use std::time::{Duration, SystemTime};

use dynox_core::DynamoModel;
use dynox_s3::{S3Error, S3Object, S3Settings};
use dynox_tests::{content, file_env, FileEnv};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, PartialEq, DynamoModel)]
#[dynamo(table = "attachments")]
struct Attachment {
    #[dynamo(hash_key)]
    pk: String,
    #[s3(bucket = "blobs", prefix = "blobs/", shared)]
    blob: Option<S3Object>,
    #[s3(bucket = "blobs", prefix = "packed/", shared, compress = "zstd")]
    packed: Option<S3Object>,
}

/// Another model whose shared field uses the same prefix: its objects are not this model's.
#[derive(Debug, Clone, PartialEq, DynamoModel)]
#[dynamo(table = "others")]
struct Other {
    #[dynamo(hash_key)]
    pk: String,
    #[s3(bucket = "blobs", prefix = "blobs/", shared)]
    blob: Option<S3Object>,
}

async fn env() -> FileEnv {
    file_env::<Attachment>(&["blobs"], S3Settings::default()).await
}

fn hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn attachment(pk: &str, blob: Option<S3Object>) -> Attachment {
    Attachment {
        pk: pk.into(),
        blob,
        packed: None,
    }
}

/// The requests dynox sent since the log was cleared, by method.
fn methods(env: &FileEnv) -> Vec<String> {
    env.log
        .requests()
        .into_iter()
        .map(|r| r.split(' ').next().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn identical_content_is_one_object_and_a_second_save_sends_no_bytes() {
    let env = env().await;
    let data = content(300 * 1024, 7);
    let key = format!("blobs/{}", hex(&data));

    let mut a = attachment("a", Some(S3Object::from_bytes(data.clone(), "a.bin")));
    env.client.save(&mut a).await.expect("save a");
    assert_eq!(a.blob.as_ref().unwrap().stored().unwrap().key, key);

    // The same bytes from a single-use reader (spooled to hash it), into another item: the
    // object is referenced again, not sent again.
    env.log.clear();
    let reader = std::io::Cursor::new(data.clone());
    let mut b = attachment(
        "b",
        Some(S3Object::from_reader(reader, "b.bin", None).with_content_type("text/plain")),
    );
    env.client.save(&mut b).await.expect("save b");
    let requests = env.log.requests();
    assert!(
        !requests.iter().any(|r| r.contains("x-id=PutObject")),
        "{requests:?}"
    );
    let stored_b = b.blob.as_ref().unwrap().stored().unwrap().clone();
    assert_eq!(stored_b.key, key);
    assert_eq!(stored_b.file_name, "b.bin");
    assert_eq!(stored_b.content_type, "text/plain");
    assert_eq!(env.keys("blobs").await, vec![key.clone()]);

    // Both items read the same bytes.
    for pk in ["a", "b"] {
        let loaded = Attachment::get(&env.client, pk).await.unwrap().unwrap();
        let bytes = loaded.blob.unwrap().get_bytes(&env.client).await.unwrap();
        assert_eq!(bytes.as_ref(), &data[..], "{pk}");
    }

    // Saving a loaded item unchanged sends nothing to S3.
    let mut loaded = Attachment::get(&env.client, "b").await.unwrap().unwrap();
    env.log.clear();
    env.client.save(&mut loaded).await.expect("save unchanged");
    assert!(env.log.requests().is_empty(), "{:?}", env.log.requests());
}

#[tokio::test]
async fn a_second_save_of_the_same_content_sends_no_put_of_the_bytes() {
    let env = env().await;
    let data = content(64 * 1024, 3);
    let mut a = attachment("a", Some(S3Object::from_bytes(data.clone(), "a.bin")));
    env.client.save(&mut a).await.unwrap();
    env.log.clear();
    let mut b = attachment("b", Some(S3Object::from_bytes(data.clone(), "b.bin")));
    env.client.save(&mut b).await.unwrap();
    // A HEAD and the touch (a copy onto itself, a PUT without a body): no upload.
    let requests = env.log.requests();
    assert_eq!(methods(&env), vec!["HEAD", "PUT"], "{requests:?}");
    assert!(requests[1].contains("x-id=CopyObject"), "{requests:?}");
    let objects = env.keys("blobs").await;
    assert_eq!(objects.len(), 1, "{objects:?}");
}

#[tokio::test]
async fn no_write_deletes_a_shared_object() {
    let env = env().await;
    let one = content(10_000, 1);
    let two = content(10_000, 2);
    let (key_one, key_two) = (
        format!("blobs/{}", hex(&one)),
        format!("blobs/{}", hex(&two)),
    );

    let mut a = attachment("a", Some(S3Object::from_bytes(one.clone(), "1.bin")));
    env.client.save(&mut a).await.unwrap();
    let mut b = attachment("b", Some(S3Object::from_bytes(one.clone(), "1.bin")));
    env.client.save(&mut b).await.unwrap();

    // A save that fails (create over an existing item) leaves the object it reused.
    let mut again = attachment("a", Some(S3Object::from_bytes(one.clone(), "1.bin")));
    let err = env.client.create(&mut again).await.unwrap_err();
    assert!(
        matches!(err, dynox_core::Error::AlreadyExists { .. }),
        "{err:?}"
    );
    // Replacing a's file and deleting b's item: the first object stays (the sweep collects it).
    a.blob = Some(S3Object::from_bytes(two.clone(), "2.bin"));
    env.client.save(&mut a).await.unwrap();
    Attachment::delete(&env.client, "b").await.unwrap();
    // Clearing a field neither keeps (marks) nor deletes a shared object.
    let mut c = attachment("c", Some(S3Object::from_bytes(two.clone(), "2.bin")));
    env.client.save(&mut c).await.unwrap();
    c.blob = None;
    env.client
        .save(&mut c)
        .delete_cleared_files()
        .await
        .unwrap();
    assert_eq!(env.keys("blobs").await, {
        let mut keys = vec![key_one.clone(), key_two.clone()];
        keys.sort();
        keys
    });

    // The sweep collects the unreferenced one, once old enough, and keeps the referenced one.
    let later = SystemTime::now() + Duration::from_secs(48 * 3600);
    let report = dynox_s3::sweep::<Attachment>(&env.client)
        .as_of(later)
        .delete()
        .await
        .unwrap();
    assert_eq!(report.deleted, 1, "{report}");
    assert_eq!(env.keys("blobs").await, vec![key_two.clone()]);
    let a = Attachment::get(&env.client, "a").await.unwrap().unwrap();
    assert_eq!(
        a.blob
            .unwrap()
            .get_bytes(&env.client)
            .await
            .unwrap()
            .as_ref(),
        &two[..]
    );
}

#[tokio::test]
async fn compressed_shared_objects_are_keyed_by_the_original_content() {
    let env = env().await;
    let data = b"{\"order\":1}\n".repeat(20_000);
    let mut a = Attachment {
        pk: "a".into(),
        blob: None,
        packed: Some(S3Object::from_bytes(data.clone(), "orders.json")),
    };
    env.client.save(&mut a).await.unwrap();
    let stored = a.packed.as_ref().unwrap().stored().unwrap().clone();
    assert_eq!(stored.key, format!("packed/{}.zst", hex(&data)));
    assert!(stored.stored_size.unwrap() < data.len() as u64 / 10);
    let mut b = Attachment {
        pk: "b".into(),
        blob: None,
        packed: Some(S3Object::from_path({
            let dir = tempfile::tempdir().unwrap().keep();
            let path = dir.join("orders.json");
            std::fs::write(&path, &data).unwrap();
            path
        })),
    };
    env.client.save(&mut b).await.unwrap();
    let stored_b = b.packed.as_ref().unwrap().stored().unwrap();
    assert_eq!(stored_b.key, stored.key);
    assert_eq!(stored_b.stored_size, stored.stored_size);
    let loaded = Attachment::get(&env.client, "b").await.unwrap().unwrap();
    assert_eq!(
        loaded
            .packed
            .unwrap()
            .get_bytes(&env.client)
            .await
            .unwrap()
            .as_ref(),
        &data[..]
    );
}

#[tokio::test]
async fn an_object_of_another_model_at_the_same_key_is_not_referenced() {
    let env = env().await;
    let data = content(5_000, 9);
    // Another model, whose table has its own name, stores the content first.
    env.client.create_table::<Other>().await.unwrap();
    let mut other = Other {
        pk: "o".into(),
        blob: Some(S3Object::from_bytes(data.clone(), "o.bin")),
    };
    env.client.save(&mut other).await.unwrap();

    let mut mine = attachment("a", Some(S3Object::from_bytes(data.clone(), "a.bin")));
    let err = env.client.save(&mut mine).await.unwrap_err();
    let Some(S3Error::SharedObjectNotOwned { key, owner, .. }) = err.s3() else {
        panic!("{err:?}");
    };
    assert_eq!(key, &format!("blobs/{}", hex(&data)));
    assert!(
        owner
            .as_deref()
            .unwrap_or_default()
            .ends_with("others/blob"),
        "{owner:?}"
    );
    assert!(mine.blob.as_ref().unwrap().is_pending());
    assert!(Attachment::get(&env.client, "a").await.unwrap().is_none());
}

/// One task deletes an item while another saves the same content into a new item, many
/// rounds at once: every item left references an object that exists and holds its bytes.
#[tokio::test]
async fn deletes_racing_saves_of_the_same_content_leave_no_dangling_reference() {
    const ROUNDS: usize = 40;
    let env = env().await;
    let datas: Vec<Vec<u8>> = (0..ROUNDS)
        .map(|i| content(2_000 + i, (i % 250) as u8))
        .collect();
    for (i, data) in datas.iter().enumerate() {
        let mut old = attachment(
            &format!("old-{i}"),
            Some(S3Object::from_bytes(data.clone(), "f.bin")),
        );
        env.client.save(&mut old).await.unwrap();
    }
    let tasks = datas.iter().enumerate().flat_map(|(i, data)| {
        let client = env.client.clone();
        let client2 = env.client.clone();
        let data = data.clone();
        [
            tokio::spawn(async move {
                Attachment::delete(&client, format!("old-{i}"))
                    .await
                    .map(|_| ())
            }),
            tokio::spawn(async move {
                let mut new = attachment(
                    &format!("new-{i}"),
                    Some(S3Object::from_bytes(data, "f.bin")),
                );
                client2.save(&mut new).await.map(|_| ())
            }),
        ]
    });
    for result in futures::future::join_all(tasks).await {
        result.unwrap().unwrap();
    }
    let mut dangling = Vec::new();
    for (i, data) in datas.iter().enumerate() {
        assert!(Attachment::get(&env.client, format!("old-{i}"))
            .await
            .unwrap()
            .is_none());
        let new = Attachment::get(&env.client, format!("new-{i}"))
            .await
            .unwrap()
            .expect("the new item");
        match new.blob.unwrap().get_bytes(&env.client).await {
            Ok(bytes) if bytes.as_ref() == &data[..] => {}
            other => dangling.push((i, other.map(|b| b.len()))),
        }
    }
    assert!(dangling.is_empty(), "dangling references: {dangling:?}");
}
