//! Optimistic locking: versions increment, a stale write is a version conflict (its upload
//! removed), and concurrent replacements have one winner per round and leave no orphan.

use dynox_core::Error;
use dynox_s3::{S3Object, S3Settings};
use dynox_tests::file_env;

use super::Locked;

#[tokio::test]
async fn versions_increment_and_stale_writes_are_version_conflicts() {
    let env = file_env::<Locked>(&["locked"], S3Settings::default()).await;
    let mut a = Locked {
        pk: "k".into(),
        version: 0,
        note: "first".into(),
        file: None,
    };
    env.client.save(&mut a).await.unwrap();
    assert_eq!(a.version, 1);
    let mut stale = a.clone();
    a.note = "second".into();
    env.client.save(&mut a).await.unwrap();
    assert_eq!(a.version, 2);
    assert_eq!(
        Locked::get(&env.client, "k")
            .await
            .unwrap()
            .unwrap()
            .version,
        2
    );

    stale.note = "lost update".into();
    stale.file = Some(S3Object::from_bytes(vec![1; 10], "x.bin"));
    let err = env.client.save(&mut stale).await.unwrap_err();
    assert!(
        matches!(err, Error::VersionConflict { expected: 1, .. }),
        "{err:?}"
    );
    assert!(err.is_condition_failed());
    assert_eq!(
        env.keys("locked").await,
        Vec::<String>::new(),
        "the loser's upload was removed"
    );

    // A new item at version 0 must not overwrite an existing one.
    let mut fresh = Locked {
        pk: "k".into(),
        version: 0,
        note: "again".into(),
        file: None,
    };
    assert!(matches!(
        env.client.save(&mut fresh).await,
        Err(Error::VersionConflict { expected: 0, .. })
    ));

    let mut created = Locked {
        pk: "new".into(),
        version: 0,
        note: "created".into(),
        file: Some(S3Object::from_bytes(vec![4; 8], "c.bin")),
    };
    env.client.create(&mut created).await.unwrap();
    assert_eq!(created.version, 1);
    env.client.delete_item(&created).await.unwrap();

    let err = env.client.delete_item(&stale).await.unwrap_err();
    assert!(matches!(err, Error::VersionConflict { .. }), "{err:?}");
    env.client.delete_item(&a).await.unwrap();
    assert_eq!(Locked::get(&env.client, "k").await.unwrap(), None);
}

#[tokio::test]
async fn concurrent_replacements_have_one_winner_per_round_and_leave_no_orphan() {
    const TASKS: usize = 6;
    const ROUNDS: usize = 4;
    let env = file_env::<Locked>(&["locked"], S3Settings::default()).await;
    let mut item = Locked {
        pk: "shared".into(),
        version: 0,
        note: "start".into(),
        file: None,
    };
    env.client.save(&mut item).await.unwrap();

    for round in 0..ROUNDS {
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(TASKS));
        let tasks: Vec<_> = (0..TASKS)
            .map(|t| {
                let client = env.client.clone();
                let barrier = barrier.clone();
                tokio::spawn(async move {
                    let mut mine = Locked::get(&client, "shared")
                        .consistent_read(true)
                        .await?
                        .expect("item");
                    // Everyone has read the same version before anyone writes.
                    barrier.wait().await;
                    mine.note = format!("round {round} task {t}");
                    mine.file = Some(S3Object::from_bytes(
                        vec![(round * TASKS + t) as u8; 2048],
                        "f.bin",
                    ));
                    client.save(&mut mine).await
                })
            })
            .collect();
        let mut winners = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(()) => winners += 1,
                Err(Error::VersionConflict { .. }) => {}
                Err(other) => panic!("round {round}: {other:?}"),
            }
        }
        assert_eq!(winners, 1, "round {round}");
    }

    let final_item = Locked::get(&env.client, "shared")
        .consistent_read(true)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(final_item.version, 1 + ROUNDS as u64);
    let file = final_item.file.as_ref().unwrap();
    let bytes = file.get_bytes(&env.client).await.unwrap(); // checksum verified
    assert_eq!(bytes.len(), 2048);
    assert_eq!(
        env.keys("locked").await,
        vec![file.stored().unwrap().key.clone()],
        "no orphan remains"
    );
}
