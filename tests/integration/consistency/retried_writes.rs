//! A write whose response is lost and whose SDK retry is refused by the write's own commit
//! still succeeds, and a versioned item's version moves on.

use dynox_core::Error;
use dynox_local::faults::FaultKind;
use dynox_s3::S3Settings;
use dynox_tests::faulty_file_env_retrying;

use super::Locked;

/// Writes without files, with the SDK's default retries: the write's response is lost as a
/// transient error, the SDK's retry is refused by the write's own commit, and the caller must
/// still hear that the write happened (and a versioned item's version must move on).
#[tokio::test]
async fn writes_whose_retry_meets_their_own_commit_succeed() {
    let (env, faults) =
        faulty_file_env_retrying::<Locked>(&["locked"], S3Settings::default()).await;
    let lose = |operation: &str| {
        faults.reset();
        faults.fail_nth(1, Some(operation), FaultKind::LostResponseRetried);
    };
    let injected = || {
        let injected = faults.injected();
        assert_eq!(injected.len(), 1, "{injected:?}");
        // The retry reached the server too: the operation was sent twice.
        let label = &injected[0].0;
        assert_eq!(
            faults.requests().iter().filter(|r| *r == label).count(),
            2,
            "{:?}",
            faults.requests()
        );
    };
    let mut item = Locked {
        pk: "w".into(),
        version: 0,
        note: "first".into(),
        file: None,
    };

    // A save that uploads nothing, on a versioned model.
    lose("PutItem");
    env.client
        .save(&mut item)
        .await
        .expect("the save committed");
    injected();
    assert_eq!(item.version, 1);
    item.note = "second".into();
    lose("PutItem");
    env.client
        .save(&mut item)
        .await
        .expect("the save committed");
    injected();
    assert_eq!(
        item.version, 2,
        "the in-memory version follows the stored one"
    );

    // An update at an expected version.
    let f = Locked::fields();
    lose("UpdateItem");
    let updated: Locked = Locked::update(&env.client, "w")
        .expect_version(2)
        .apply(f.note.set("third".to_owned()))
        .return_new()
        .await
        .expect("the update committed");
    injected();
    assert_eq!((updated.version, updated.note.as_str()), (3, "third"));

    // A delete at an expected version.
    lose("DeleteItem");
    env.client
        .delete_item(&updated)
        .await
        .expect("the delete committed");
    injected();
    faults.reset();
    assert_eq!(Locked::get(&env.client, "w").await.unwrap(), None);

    // A refusal of a single attempt is still a conflict: nothing is mistaken for success.
    let mut stale = Locked {
        pk: "s".into(),
        version: 0,
        note: "a".into(),
        file: None,
    };
    env.client.save(&mut stale).await.unwrap();
    let mut older = stale.clone();
    env.client.save(&mut stale).await.unwrap();
    older.note = "lost update".into();
    assert!(matches!(
        env.client.save(&mut older).await,
        Err(Error::VersionConflict { expected: 1, .. })
    ));
}
