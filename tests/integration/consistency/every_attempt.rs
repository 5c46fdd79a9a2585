//! Faults on every attempt of a request (the SDK's own retries included), and a DynamoDB that
//! cannot be reached at all, on every write path, with the SDK's default retries and without:
//!
//! - a write that never reached DynamoDB did not commit: its uploads are removed, no kept mark
//!   is left, and the caller gets the transport error (not an unknown outcome);
//! - an update removing a file that fails on every attempt leaves no kept mark on the file the
//!   item still references;
//! - an update whose every answer is lost reports its true outcome (it committed), as a save
//!   does, for a removed file and for an overflow value replaced.

use aws_sdk_dynamodb::config::retry::RetryConfig;
use dynox_core::{Client, DynamoModel, Error};
use dynox_local::faults::{FaultKind, Faults};
use dynox_s3::{S3Object, S3Settings, KEPT_SUFFIX};
use dynox_tests::{faulty_file_env, faulty_file_env_retrying, file_env, FileEnv};

#[derive(Debug, Clone, PartialEq, DynamoModel)]
#[dynamo(table = "reports")]
struct Report {
    #[dynamo(hash_key)]
    pk: String,
    title: String,
    #[s3(bucket = "reports", prefix = "files/")]
    file: Option<S3Object>,
    /// 420 KB when saved here: kept in S3 (a short value stays inline).
    #[s3(bucket = "reports", prefix = "notes/", overflow)]
    notes: String,
}

fn report(pk: &str) -> Report {
    Report {
        pk: pk.into(),
        title: "draft".into(),
        file: Some(S3Object::from_bytes(vec![1; 2000], "report.pdf")),
        notes: "n".repeat(420 * 1024),
    }
}

/// The key of `report`'s stored file.
fn file_key(report: &Report) -> String {
    let file = report.file.as_ref().expect("a file");
    file.key().expect("a stored file").to_owned()
}

/// A fault-injecting environment, with the SDK's default retries or without.
async fn faulty(retries: bool) -> (FileEnv, Faults) {
    match retries {
        true => faulty_file_env_retrying::<Report>(&["reports"], S3Settings::default()).await,
        false => faulty_file_env::<Report>(&["reports"], S3Settings::default()).await,
    }
}

/// A client on `env`'s table and bucket whose DynamoDB endpoint is a port of 127.0.0.1 that
/// refuses connections (bound, never listening: the returned socket holds it), so every
/// DynamoDB request fails to connect; its S3 works.
fn unreachable(env: &FileEnv, retries: bool) -> (Client, tokio::net::TcpSocket) {
    let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
    socket
        .bind("127.0.0.1:0".parse().expect("an address"))
        .expect("bind a port");
    let port = socket.local_addr().expect("its address").port();
    let config = env.backend.sdk_config();
    let dynamodb = aws_sdk_dynamodb::config::Builder::from(config)
        .endpoint_url(format!("http://127.0.0.1:{port}"))
        .retry_config(match retries {
            true => RetryConfig::standard(),
            false => RetryConfig::disabled(),
        })
        .build();
    let settings = S3Settings::default()
        .s3_client(env.s3.clone())
        .bucket("reports", env.bucket("reports"));
    let client = Client::builder(config)
        .table_prefix(env.client.table_prefix())
        .s3(settings)
        .dynamodb_client(aws_sdk_dynamodb::Client::from_conf(dynamodb))
        .build();
    (client, socket)
}

/// Asserts that `result` is the transport error of a request to the table `table`.
fn assert_transport<T: std::fmt::Debug>(result: Result<T, Error>, table: &str, what: &str) {
    match result {
        Err(Error::Transport { table: t, .. }) if t == table => {}
        other => panic!("{what}: expected the transport error of table {table}, got {other:?}"),
    }
}

#[tokio::test]
async fn a_write_that_cannot_reach_dynamodb_did_not_commit_and_leaves_no_object() {
    for retries in [false, true] {
        let env = file_env::<Report>(&["reports"], S3Settings::default()).await;
        let table = env.client.table_name::<Report>();
        let mut stored = report("stored");
        env.client.save(&mut stored).await.unwrap();
        let before = env.keys("reports").await;
        let (client, _closed) = unreachable(&env, retries);
        let what = |op: &str| format!("{op} (SDK retries: {retries})");

        let mut new = report("new");
        assert_transport(client.save(&mut new).await, &table, &what("save"));
        assert!(
            new.file.as_ref().unwrap().key().is_none(),
            "{}: the file is pending again",
            what("save")
        );
        assert_eq!(env.keys("reports").await, before, "{}", what("save"));

        let mut created = report("created");
        assert_transport(client.create(&mut created).await, &table, &what("create"));
        assert_eq!(env.keys("reports").await, before, "{}", what("create"));

        let mut in_transaction = report("in-transaction");
        let transaction = client.transact_write().save(&mut in_transaction).await;
        assert_transport(transaction, &table, &what("transaction"));
        assert_eq!(env.keys("reports").await, before, "{}", what("transaction"));

        let update = Report::update(&client, "stored")
            .apply(Report::fields().file.remove())
            .await;
        assert_transport(update, &table, &what("update"));
        assert_transport(
            Report::delete(&client, "stored").await,
            &table,
            &what("delete"),
        );
        assert_eq!(
            env.keys("reports").await,
            before,
            "{}: no object removed, no mark left",
            what("update and delete")
        );
        let loaded = Report::get(&env.client, "stored").await.unwrap();
        assert_eq!(loaded.as_ref(), Some(&stored), "{}", what("delete"));
    }
}

#[tokio::test]
async fn an_update_removing_a_file_that_fails_on_every_attempt_leaves_no_kept_mark() {
    for retries in [false, true] {
        for kind in [FaultKind::ServerError, FaultKind::ConnectionReset] {
            let (env, faults) = faulty(retries).await;
            let case = format!("{kind} on every attempt (SDK retries: {retries})");
            let mut stored = report("r");
            env.client.save(&mut stored).await.unwrap();
            let key = file_key(&stored);

            faults.fail_every("UpdateItem", kind);
            let update = Report::update(&env.client, "r")
                .apply(Report::fields().file.remove())
                .await;
            faults.reset();
            match update {
                Err(Error::Service { .. } | Error::Transport { .. }) => {}
                other => panic!("{case}: expected the update's own error, got {other:?}"),
            }
            let loaded = Report::get(&env.client, "r").await.unwrap().unwrap();
            assert_eq!(
                loaded.file, stored.file,
                "{case}: the item still holds the file"
            );
            let keys = env.keys("reports").await;
            assert!(keys.contains(&key), "{case}: {keys:?}");
            assert!(
                !keys.contains(&format!("{key}{KEPT_SUFFIX}")),
                "{case}: a kept mark is left on a referenced file: {keys:?}"
            );
        }
    }
}

#[tokio::test]
async fn an_update_whose_every_answer_is_lost_reports_that_it_committed() {
    for retries in [false, true] {
        let kind = match retries {
            true => FaultKind::LostResponseRetried,
            false => FaultKind::LostResponse,
        };
        let (env, faults) = faulty(retries).await;
        let case = format!("{kind} on every attempt (SDK retries: {retries})");
        let f = Report::fields();

        // Removing a file: committed, so the file is kept (marked) and the item no longer
        // references it.
        let mut stored = report("removed");
        env.client.save(&mut stored).await.unwrap();
        let key = file_key(&stored);
        faults.fail_every("UpdateItem", kind);
        let update = Report::update(&env.client, "removed")
            .apply(f.file.remove())
            .await;
        faults.reset();
        assert!(update.is_ok(), "{case}: removing a file: {update:?}");
        let loaded = Report::get(&env.client, "removed").await.unwrap().unwrap();
        assert_eq!(loaded.file, None, "{case}");
        let keys = env.keys("reports").await;
        assert!(
            keys.contains(&key) && keys.contains(&format!("{key}{KEPT_SUFFIX}")),
            "{case}: the removed file is kept: {keys:?}"
        );

        // Replacing an overflow value kept in S3 with a short one.
        let mut spilled = report("overflow");
        env.client.save(&mut spilled).await.unwrap();
        faults.fail_every("UpdateItem", kind);
        let update = Report::update(&env.client, "overflow")
            .apply(f.notes.set("short".to_owned()))
            .await;
        faults.reset();
        assert!(
            update.is_ok(),
            "{case}: replacing an overflow value: {update:?}"
        );
        let loaded = Report::get(&env.client, "overflow").await.unwrap().unwrap();
        assert_eq!(loaded.notes, "short", "{case}");
    }
}
