//! What happens to objects as items change: a delete removes the item then its objects; a
//! replaced file's object is deleted after the commit; a cleared file is kept (marked beside
//! it, and no sweep deletes it) unless the save says to delete it; an object of another item
//! cannot be referenced.

use std::time::Duration;

use dynox_core::Error;
use dynox_s3::S3Object;
use dynox_tests::{read_object, stored};

use super::{doc, env, object_exists, Document};

#[tokio::test]
async fn delete_removes_the_item_then_its_objects() {
    let env = env().await;
    let mut d = doc("DEL#1", Some(S3Object::from_bytes(vec![1; 100], "a.txt")));
    env.client.save(&mut d).await.unwrap();
    let content_key = stored(&d.content).key.clone();
    let thumb_key = d.thumbnail.key().unwrap().to_owned();
    let bucket = env.bucket("company-docs").to_owned();
    assert!(object_exists(&env, &bucket, &content_key).await);

    let old = Document::delete(&env.client, "DEL#1", "v1")
        .return_old()
        .await
        .unwrap();
    assert_eq!(old, Some(d));
    assert_eq!(
        Document::get(&env.client, "DEL#1", "v1").await.unwrap(),
        None
    );
    assert!(!object_exists(&env, &bucket, &content_key).await);
    assert!(!object_exists(&env, &bucket, &thumb_key).await);
    assert_eq!(env.keys("company-docs").await, Vec::<String>::new());
}

#[tokio::test]
async fn clearing_a_file_keeps_the_object_and_replacing_one_deletes_the_old() {
    let env = env().await;
    let mut d = doc("UPD#1", Some(S3Object::from_bytes(vec![1; 10], "v1.txt")));
    env.client.save(&mut d).await.unwrap();
    let first = stored(&d.content).key.clone();

    // Replace the file: a new object under a new key; the old one goes after the commit.
    d.content = Some(S3Object::from_bytes(vec![2; 10], "v1.txt"));
    env.client.save(&mut d).await.unwrap();
    let second = stored(&d.content).key.clone();
    assert_ne!(first, second, "a save never reuses an object key");
    let bucket = env.bucket("company-docs").to_owned();
    assert!(
        !object_exists(&env, &bucket, &first).await,
        "the replaced object is deleted"
    );
    assert!(object_exists(&env, &bucket, &second).await);

    // Keep the file, change another field: no upload, the object stays.
    env.log.clear();
    d.name = "Renamed".into();
    env.client.save(&mut d).await.unwrap();
    assert!(env.log.requests().is_empty(), "{:?}", env.log.requests());
    assert!(object_exists(&env, &bucket, &second).await);

    // Clear it: the reference goes, the object stays (documented behaviour).
    d.content = None;
    env.client.save(&mut d).await.unwrap();
    let loaded = Document::get(&env.client, "UPD#1", "v1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(loaded.content, None);
    assert!(
        object_exists(&env, &bucket, &second).await,
        "clearing keeps the object"
    );
}

#[tokio::test]
async fn a_cleared_file_is_kept_and_no_sweep_deletes_it() {
    let env = env().await;
    let mut d = doc(
        "KEEP#1",
        Some(S3Object::from_bytes(vec![7; 100], "keep.txt")),
    );
    env.client.save(&mut d).await.unwrap();
    let key = stored(&d.content).key.clone();
    let thumb = d.thumbnail.key().unwrap().to_owned();

    // Clear and keep (the default): the object stays, marked beside it.
    d.content = None;
    env.client.save(&mut d).await.unwrap();
    let mark = format!("{key}{}", dynox_s3::KEPT_SUFFIX);
    let mut expected = vec![key.clone(), mark.clone(), thumb.clone()];
    expected.sort();
    assert_eq!(env.keys("company-docs").await, expected);

    // A sweep with no grace period at all, deleting: the kept file and its mark survive.
    let report = dynox_s3::sweep::<Document>(&env.client)
        .grace(Duration::ZERO)
        .delete()
        .await
        .unwrap();
    assert_eq!(report.kept, 2, "{report}");
    assert!(report.orphans.is_empty(), "{report}");
    assert_eq!(env.keys("company-docs").await, expected);
    let kept = read_object(&env.s3, env.bucket("company-docs"), &key).await;
    assert_eq!(kept.bytes.as_ref(), &[7u8; 100]);

    // Clear and delete, in one line: the object goes once the write commits.
    let mut e = doc(
        "KEEP#2",
        Some(S3Object::from_bytes(vec![8; 100], "gone.txt")),
    );
    env.client.save(&mut e).await.unwrap();
    let gone = stored(&e.content).key.clone();
    e.content = None;
    env.client
        .save(&mut e)
        .delete_cleared_files()
        .await
        .unwrap();
    let keys = env.keys("company-docs").await;
    assert!(!keys.contains(&gone), "{keys:?}");
    assert!(
        !keys.contains(&format!("{gone}{}", dynox_s3::KEPT_SUFFIX)),
        "{keys:?}"
    );

    // A mark whose file someone deleted is swept like any orphan.
    env.s3
        .delete_object()
        .bucket(env.bucket("company-docs"))
        .key(&key)
        .send()
        .await
        .unwrap();
    let report = dynox_s3::sweep::<Document>(&env.client)
        .grace(Duration::ZERO)
        .delete()
        .await
        .unwrap();
    assert_eq!(report.kept, 0, "{report}");
    assert_eq!(report.deleted, 1, "{report}");
    assert!(!env.keys("company-docs").await.contains(&mark));
}

#[tokio::test]
async fn an_update_that_removes_a_file_keeps_it() {
    let env = env().await;
    let mut d = doc(
        "KEEP#3",
        Some(S3Object::from_bytes(vec![3; 10], "kept.txt")),
    );
    env.client.save(&mut d).await.unwrap();
    let key = stored(&d.content).key.clone();
    Document::update(&env.client, "KEEP#3", "v1")
        .apply(Document::fields().content.remove())
        .await
        .unwrap();
    let loaded = Document::get(&env.client, "KEEP#3", "v1")
        .await
        .unwrap()
        .unwrap();
    assert!(loaded.content.is_none());
    let keys = env.keys("company-docs").await;
    assert!(keys.contains(&key), "{keys:?}");
    assert!(
        keys.contains(&format!("{key}{}", dynox_s3::KEPT_SUFFIX)),
        "{keys:?}"
    );
    let report = dynox_s3::sweep::<Document>(&env.client)
        .grace(Duration::ZERO)
        .delete()
        .await
        .unwrap();
    assert_eq!((report.kept, report.deleted), (2, 0), "{report}");
    assert!(env.keys("company-docs").await.contains(&key));
}

#[tokio::test]
async fn an_object_of_another_item_cannot_be_referenced() {
    let env = env().await;
    let mut a = doc("OWN#A", Some(S3Object::from_bytes(vec![1; 10], "a.txt")));
    env.client.save(&mut a).await.unwrap();
    let mut b = doc("OWN#B", a.content.clone());
    b.thumbnail = a.thumbnail.clone();
    let err = env.client.create(&mut b).await.unwrap_err();
    assert!(matches!(err, Error::StaleFile { .. }), "{err:?}");
    assert_eq!(
        Document::get(&env.client, "OWN#B", "v1").await.unwrap(),
        None
    );
    let err = env.client.save(&mut b).await.unwrap_err();
    assert!(err.is_condition_failed(), "{err:?}");
    assert_eq!(env.keys("company-docs").await.len(), 2, "a's objects only");
}
