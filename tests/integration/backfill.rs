//! The backfill runner against real servers: every item changed exactly once across a run
//! stopped part way and resumed from its checkpoint, in parallel segments; a dry run that
//! writes nothing; conflicts (an item deleted or changed since it was read) and failures
//! reported by key without stopping the run; a failed Scan that the checkpoint resumes; and
//! the built-in moves of large inline values into `#[s3]` files and back.

use dynox_core::{BackfillChange, BoxError, DynamoModel};
use dynox_local::faults::FaultKind;
use dynox_s3::{backfill, S3Object, S3Settings};
use dynox_tests::{file_env, FileEnv};

#[derive(Debug, Clone, DynamoModel)]
#[dynamo(table = "backfill-accounts")]
struct Account {
    #[dynamo(hash_key)]
    id: String,
    email: String,
    email_lower: Option<String>,
    /// How many times a backfill changed the item.
    touched: u32,
    #[dynamo(version)]
    version: u64,
}

fn account(i: usize) -> Account {
    Account {
        id: format!("acct-{i:03}"),
        email: format!("User.{i}@Example.COM"),
        email_lower: None,
        touched: 0,
        version: 0,
    }
}

async fn accounts(env: &FileEnv, n: usize) {
    for i in 0..n {
        env.client.save(&mut account(i)).await.unwrap();
    }
}

/// The change under test: lower-cases the email, once.
async fn lower(mut a: Account) -> Result<BackfillChange<Account>, BoxError> {
    let lower = a.email.to_lowercase();
    if a.email_lower.as_deref() == Some(lower.as_str()) {
        return Ok(BackfillChange::Unchanged);
    }
    a.email_lower = Some(lower);
    a.touched += 1;
    Ok(BackfillChange::Save(a))
}

async fn all(env: &FileEnv) -> Vec<Account> {
    let mut all: Vec<Account> = env.client.scan::<Account>().await.unwrap();
    all.sort_by(|a, b| a.id.cmp(&b.id));
    all
}

#[tokio::test]
async fn every_item_changes_once_across_a_stopped_and_resumed_run() {
    let env = file_env::<Account>(&[], S3Settings::default()).await;
    accounts(&env, 60).await;
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("accounts.checkpoint");
    let backfill = || {
        env.client
            .backfill::<Account>()
            .segments(3)
            .page_size(7)
            .concurrency(4)
            .checkpoint(&checkpoint)
    };

    // Stopped after about 20 items, at the end of a page.
    let first = backfill().max_items(20).run(lower).await.unwrap();
    assert!(!first.complete && !first.resumed, "{first:?}");
    assert!((20..60).contains(&first.scanned), "{first:?}");
    assert_eq!(first.changed, first.scanned, "{first:?}");
    assert!(checkpoint.exists());
    let changed = all(&env).await.iter().filter(|a| a.touched == 1).count() as u64;
    assert_eq!(changed, first.changed);

    // Resumed: the rest, and the report covers both runs.
    let second = backfill().run(lower).await.unwrap();
    assert!(second.complete && second.resumed, "{second:?}");
    assert_eq!((second.scanned, second.changed, second.failed), (60, 60, 0));
    for a in all(&env).await {
        assert_eq!(a.touched, 1, "{} changed {} times", a.id, a.touched);
        assert_eq!(a.email_lower, Some(a.email.to_lowercase()));
        assert_eq!(a.version, 2, "{}: saved once by the backfill", a.id);
    }

    // A checkpoint of a finished run: nothing left to read.
    let again = backfill().run(lower).await.unwrap();
    assert_eq!((again.scanned, again.changed), (60, 60));
    // Started afresh (no checkpoint), every item is read and none needs a change.
    let fresh = env.client.backfill::<Account>().run(lower).await.unwrap();
    assert_eq!((fresh.scanned, fresh.changed, fresh.unchanged), (60, 0, 60));

    // A checkpoint is refused for another number of segments.
    let error = env
        .client
        .backfill::<Account>()
        .segments(2)
        .checkpoint(&checkpoint)
        .run(lower)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("3 segments, not 2"), "{error}");
}

#[tokio::test]
async fn a_dry_run_counts_what_would_change_and_writes_nothing() {
    let env = file_env::<Account>(&[], S3Settings::default()).await;
    accounts(&env, 12).await;
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("dry.checkpoint");
    let report = env
        .client
        .backfill::<Account>()
        .dry_run()
        .checkpoint(&checkpoint)
        .run(lower)
        .await
        .unwrap();
    assert!(report.dry_run && report.complete, "{report:?}");
    assert_eq!((report.scanned, report.changed), (12, 12));
    assert!(all(&env)
        .await
        .iter()
        .all(|a| a.touched == 0 && a.version == 1));
    assert!(!checkpoint.exists(), "a dry run writes no checkpoint");
}

#[tokio::test]
async fn conflicts_and_failures_are_reported_by_key_and_the_run_goes_on() {
    let env = file_env::<Account>(&[], S3Settings::default()).await;
    accounts(&env, 10).await;
    let other = env.other.clone();
    let report = env
        .client
        .backfill::<Account>()
        .run(move |a: Account| {
            let other = other.clone();
            async move {
                match a.id.as_str() {
                    // Deleted between the read and the save: not brought back.
                    "acct-002" => {
                        other
                            .delete(Account::key_of("acct-002"))
                            .any_version()
                            .await?;
                    }
                    // Changed by another writer meanwhile: the version check refuses.
                    "acct-004" => {
                        let mut fresh = other.get(Account::key_of("acct-004")).await?.unwrap();
                        fresh.email = "Changed@Example.com".into();
                        other.save(&mut fresh).await?;
                    }
                    "acct-007" => return Err("no mail server for this one".into()),
                    _ => {}
                }
                lower(a).await
            }
        })
        .await
        .unwrap();
    assert_eq!(
        (
            report.scanned,
            report.changed,
            report.conflicts,
            report.failed
        ),
        (10, 7, 2, 1),
        "{report:?}"
    );
    assert_eq!(report.failures.len(), 1);
    assert!(report.failures[0].key.contains("acct-007"), "{report:?}");
    assert!(
        report.failures[0].error.contains("no mail server"),
        "{report:?}"
    );
    let accounts = all(&env).await;
    assert!(
        accounts.iter().all(|a| a.id != "acct-002"),
        "deleted stays deleted"
    );
    let raced = accounts.iter().find(|a| a.id == "acct-004").unwrap();
    assert_eq!(
        (raced.email.as_str(), raced.touched),
        ("Changed@Example.com", 0)
    );
}

#[tokio::test]
async fn a_failed_scan_ends_the_run_and_its_checkpoint_resumes_it() {
    let (env, faults) = dynox_tests::faulty_file_env::<Account>(&[], S3Settings::default()).await;
    accounts(&env, 30).await;
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("faulty.checkpoint");
    faults.fail_nth(3, Some("Scan"), FaultKind::ServerError);
    let backfill = || {
        env.client
            .backfill::<Account>()
            .page_size(5)
            .checkpoint(&checkpoint)
    };
    let error = backfill().run(lower).await.unwrap_err();
    assert!(error.to_string().contains("Scan"), "{error:?}");
    // Two pages were done before the third Scan failed.
    assert_eq!(
        all(&env).await.iter().filter(|a| a.touched == 1).count(),
        10
    );
    faults.reset();
    let report = backfill().run(lower).await.unwrap();
    assert!(report.resumed && report.complete, "{report:?}");
    assert_eq!((report.scanned, report.changed), (30, 30));
    assert!(all(&env).await.iter().all(|a| a.touched == 1));
}

#[derive(Debug, DynamoModel)]
#[dynamo(table = "backfill-reports")]
struct Report {
    #[dynamo(hash_key)]
    id: String,
    /// What the items held inline before adopting dynox.
    body: Option<String>,
    #[s3(bucket = "reports", prefix = "body/")]
    body_file: Option<S3Object>,
}

fn body(i: usize) -> String {
    // Every third report is large.
    let len = if i.is_multiple_of(3) {
        150_000 + i
    } else {
        200 + i
    };
    format!("report {i}\n").repeat(len / 10)
}

#[tokio::test]
async fn large_inline_values_move_into_files_and_back() {
    let env = file_env::<Report>(&["reports"], S3Settings::default()).await;
    for i in 0..9 {
        let mut report = Report {
            id: format!("r{i}"),
            body: Some(body(i)),
            body_file: None,
        };
        env.client.save(&mut report).await.unwrap();
    }
    let to_file = backfill::inline_to_file(
        |r: &mut Report| (&mut r.body, &mut r.body_file),
        backfill::MoveToFile::named("body.txt")
            .content_type("text/plain")
            .min_size(100_000),
    );
    let moved = env
        .client
        .backfill::<Report>()
        .segments(2)
        .run(to_file)
        .await
        .unwrap();
    assert_eq!((moved.scanned, moved.changed, moved.unchanged), (9, 3, 6));
    assert_eq!(env.keys("reports").await.len(), 3);
    for i in 0..9usize {
        let report = Report::get(&env.client, format!("r{i}"))
            .await
            .unwrap()
            .unwrap();
        if i.is_multiple_of(3) {
            assert_eq!(report.body, None, "r{i}");
            let file = report.body_file.as_ref().unwrap();
            assert_eq!(file.content_type(), Some("text/plain"));
            assert_eq!(file.file_name(), "body.txt");
            let bytes = file.get_bytes(&env.client).await.unwrap();
            assert!(bytes.as_ref() == body(i).as_bytes(), "r{i}");
        } else {
            assert_eq!(report.body, Some(body(i)), "r{i}");
            assert!(report.body_file.is_none(), "r{i}");
        }
    }
    // Run again: nothing left to move.
    let to_file = backfill::inline_to_file(
        |r: &mut Report| (&mut r.body, &mut r.body_file),
        backfill::MoveToFile::named("body.txt").min_size(100_000),
    );
    let again = env.client.backfill::<Report>().run(to_file).await.unwrap();
    assert_eq!((again.changed, again.unchanged), (0, 9));

    // And back: the files return inline and their objects go.
    let back = env
        .client
        .backfill::<Report>()
        .delete_cleared_files()
        .run(backfill::file_to_inline(&env.client, |r: &mut Report| {
            (&mut r.body, &mut r.body_file)
        }))
        .await
        .unwrap();
    assert_eq!(
        (back.changed, back.unchanged, back.failed),
        (3, 6, 0),
        "{back:?}"
    );
    for i in 0..9 {
        let report = Report::get(&env.client, format!("r{i}"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(report.body, Some(body(i)), "r{i}");
        assert!(report.body_file.is_none(), "r{i}");
    }
    assert!(
        env.keys("reports").await.is_empty(),
        "the moved objects are deleted"
    );
}
