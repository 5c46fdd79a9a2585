//! Transactions: all or nothing across models, typed cancellation reasons, optimistic locking,
//! and file fields uploaded before and cleaned up after.

use dynox_core::{DynamoModel, Error, ReasonKind};
use dynox_s3::{S3Object, S3Settings};
use dynox_tests::file_env;

#[derive(Debug, Clone, PartialEq, DynamoModel)]
#[dynamo(table = "accounts")]
struct Account {
    #[dynamo(hash_key)]
    id: String,
    #[dynamo(version)]
    version: u64,
    cents: i64,
}

#[derive(Debug, Clone, PartialEq, DynamoModel)]
#[dynamo(table = "attachments")]
struct Attachment {
    #[dynamo(hash_key)]
    id: String,
    #[s3(bucket = "attachments", prefix = "a/")]
    file: S3Object,
}

fn account(id: &str, cents: i64) -> Account {
    Account {
        id: id.into(),
        version: 0,
        cents,
    }
}

#[tokio::test]
async fn a_transfer_commits_both_sides_and_bumps_versions() {
    let client = dynox_tests::client_with::<Account>().await;
    let (mut from, mut to) = (account("alice", 1000), account("bob", 0));
    client
        .transact_write()
        .create(&mut from)
        .create(&mut to)
        .await
        .unwrap();
    assert_eq!((from.version, to.version), (1, 1));

    from.cents -= 300;
    to.cents += 300;
    client
        .transact_write()
        .save(&mut from)
        .save(&mut to)
        .await
        .unwrap();
    assert_eq!((from.version, to.version), (2, 2));
    let stored = Account::get(&client, "alice").await.unwrap().unwrap();
    assert_eq!(stored, from);
    assert_eq!(
        Account::get(&client, "bob").await.unwrap().unwrap().cents,
        300
    );
}

#[tokio::test]
async fn a_stale_item_cancels_everything_with_typed_reasons() {
    let client = dynox_tests::client_with::<Account>().await;
    let (mut a, mut b) = (account("a", 10), account("b", 20));
    client
        .transact_write()
        .create(&mut a)
        .create(&mut b)
        .await
        .unwrap();
    let stale_b = b.clone();
    b.cents = 21;
    client.save(&mut b).await.unwrap();

    let mut a2 = a.clone();
    a2.cents = 0;
    let mut stale = stale_b.clone();
    stale.cents = 999;
    let err = client
        .transact_write()
        .save(&mut a2)
        .save(&mut stale)
        .await
        .unwrap_err();
    let Error::TransactionCanceled { reasons } = &err else {
        panic!("{err:?}")
    };
    let kinds: Vec<_> = reasons.iter().map(|r| r.kind).collect();
    assert_eq!(kinds, [ReasonKind::None, ReasonKind::VersionConflict]);
    assert!(reasons[1].key.contains("\"b\""), "{:?}", reasons[1]);
    assert!(err.to_string().contains("VersionConflict"), "{err}");
    assert_eq!(
        Account::get(&client, "a").await.unwrap().unwrap().cents,
        10,
        "nothing written"
    );
    assert_eq!(a2.version, 1, "versions unchanged on cancel");

    let err = client
        .transact_write()
        .create(&mut account("a", 1))
        .await
        .unwrap_err();
    let Error::TransactionCanceled { reasons } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(reasons[0].kind, ReasonKind::AlreadyExists);

    // A check of a stale version cancels; of the current one passes.
    let mut c = account("c", 1);
    let err = client
        .transact_write()
        .create(&mut c)
        .check(&stale_b)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::TransactionCanceled { .. }), "{err:?}");
    assert_eq!(Account::get(&client, "c").await.unwrap(), None);
    client
        .transact_write()
        .create(&mut c)
        .check(&b)
        .await
        .unwrap();
    let stored_a = Account::get(&client, "a").await.unwrap().unwrap();
    client
        .transact_write()
        .delete_item(&c)
        .delete_item(&stored_a)
        .await
        .unwrap();
    assert_eq!(Account::get(&client, "c").await.unwrap(), None);
    assert_eq!(Account::get(&client, "a").await.unwrap(), None);
}

#[tokio::test]
async fn files_are_uploaded_before_and_cleaned_up_after() {
    let env = file_env::<Attachment>(&["attachments"], S3Settings::default()).await;
    let client = &env.client;
    client.create_table::<Account>().await.unwrap();
    let mut old = Attachment {
        id: "old".into(),
        file: S3Object::from_bytes(vec![1; 100], "old.bin"),
    };
    client.save(&mut old).await.unwrap();
    let old_key = old.file.stored().unwrap().key.clone();

    // Commit: a new attachment and an account, and the old attachment deleted.
    let mut new = Attachment {
        id: "new".into(),
        file: S3Object::from_bytes(vec![2; 100], "new.bin"),
    };
    let mut acc = account("x", 5);
    client
        .transact_write()
        .create(&mut new)
        .create(&mut acc)
        .delete(Attachment::key_of("old"))
        .await
        .unwrap();
    let new_key = new.file.stored().unwrap().key.clone();
    assert_eq!(
        env.keys("attachments").await,
        vec![new_key.clone()],
        "old object deleted, new kept"
    );
    let loaded = Attachment::get(client, "new").await.unwrap().unwrap();
    assert_eq!(
        loaded.file.get_bytes(client).await.unwrap().as_ref(),
        &[2; 100]
    );

    // Cancel: the account already exists, so the new file is removed again.
    let mut another = Attachment {
        id: "another".into(),
        file: S3Object::from_bytes(vec![3; 100], "x.bin"),
    };
    let err = client
        .transact_write()
        .create(&mut another)
        .create(&mut account("x", 1))
        .await
        .unwrap_err();
    let Error::TransactionCanceled { reasons } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(reasons[1].kind, ReasonKind::AlreadyExists);
    assert_eq!(
        env.keys("attachments").await,
        vec![new_key],
        "the canceled upload was removed"
    );
    assert_eq!(Attachment::get(client, "another").await.unwrap(), None);
    let _ = old_key;
}

#[tokio::test]
async fn more_than_100_items_is_rejected_before_sending() {
    let client = dynox_tests::client_with::<Account>().await;
    let mut accounts: Vec<Account> = (0..101).map(|i| account(&format!("acc{i}"), 0)).collect();
    let mut tx = client.transact_write();
    for a in &mut accounts {
        tx = tx.create(a);
    }
    let err = tx.await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidRequest {
                kind: dynox_core::InvalidRequestKind::TooManyItems,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("100"), "{err}");
}

#[tokio::test]
async fn a_read_transaction_returns_typed_items_across_models() {
    let env = file_env::<Attachment>(&["attachments"], S3Settings::default()).await;
    let client = &env.client;
    client.create_table::<Account>().await.unwrap();
    let mut a = account("alice", 7);
    client.save(&mut a).await.unwrap();
    let mut file = Attachment {
        id: "f".into(),
        file: S3Object::from_bytes(vec![1; 10], "f.bin"),
    };
    client.save(&mut file).await.unwrap();

    let mut read = client.transact_get();
    let alice = read.add(Account::key_of("alice"));
    let nobody = read.add(Account::key_of("nobody"));
    let attachment = read.add(Attachment::key_of("f"));
    let mut items = read.await.unwrap();
    assert_eq!(items.take(alice).unwrap(), Some(a));
    assert_eq!(items.take(nobody).unwrap(), None);
    assert_eq!(items.take(attachment).unwrap(), Some(file));
}
