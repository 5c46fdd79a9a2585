//! The two-store promise, proven on real servers:
//!
//! For save (new item; replacing, keeping or removing a file) and delete, of a model with
//! every kind of S3 field (plain, compressed, shared, a typed value and an overflow field
//! that moves to S3 and back inline), under any single
//! failed request (every request the operation makes, each fault kind) and under a crash
//! between any two requests:
//! 1. no committed item references an object that does not exist, or bytes other than the
//!    ones whose size and checksum it recorded;
//! 2. every object dynox created that no item references is deleted before the failing call
//!    returns, or, after a crash only, by the orphan sweep;
//! 3. the caller gets a typed error.
//!
//! Plus optimistic locking, a concurrency test, and the sweep on seeded orphans.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

use dynox_core::{DynamoModel, Error};
use dynox_local::faults::{FaultKind, Faults};
use dynox_s3::{S3Object, S3Settings, S3Value};
use dynox_tests::{file_env, file_env_with, FileEnv};
use futures::StreamExt;

#[derive(Debug, Clone, PartialEq, DynamoModel)]
#[dynamo(table = "records")]
struct Record {
    #[dynamo(hash_key)]
    pk: String,
    name: String,
    #[s3(bucket = "records", prefix = "content/")]
    content: Option<S3Object>,
    #[s3(bucket = "records", prefix = "thumbs/", compress = "zstd")]
    thumb: S3Object,
    /// Content-addressed: items of the same seed share one object, which no write deletes.
    #[s3(bucket = "records", prefix = "shared/", shared)]
    blob: Option<S3Object>,
    /// A typed value, stored as JSON.
    #[s3(bucket = "records", prefix = "summary/")]
    summary: Option<S3Value<Vec<u32>>>,
    /// An overflow field: 420 KB, so it moves to S3 (a short value stays inline).
    #[s3(bucket = "records", prefix = "notes/", overflow)]
    notes: String,
}

/// An overflow value too large to stay inline.
fn notes(seed: u8) -> String {
    char::from(b'a' + seed % 26).to_string().repeat(420 * 1024)
}

fn record(pk: &str, seed: u8) -> Record {
    Record {
        pk: pk.into(),
        name: "original".into(),
        content: Some(S3Object::from_bytes(vec![seed; 3000], "content.bin")),
        thumb: S3Object::from_bytes(vec![seed.wrapping_add(1); 100], "thumb.png"),
        blob: Some(S3Object::from_bytes(
            vec![seed.wrapping_add(2); 500],
            "blob.bin",
        )),
        summary: Some(S3Value::new(vec![u32::from(seed); 50])),
        notes: notes(seed),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Op {
    SaveNew,
    SaveReplace,
    SaveKeep,
    /// Clear an optional file and keep it (the default).
    SaveRemove,
    /// Clear an optional file and delete it (`delete_cleared_files`).
    SaveRemoveDelete,
    /// Only the overflow value changes: short, so inline again (its object deleted after
    /// the write, with nothing uploaded and no file cleared).
    SaveInline,
    Delete,
    /// Replace a file of an item this client remembers in a state another writer has since
    /// changed: the write is refused, carries the stored item back and is planned again.
    SaveStale,
    /// Delete an item this client remembers in a state another writer has since changed.
    DeleteStale,
    /// Replace a file of an item read by another client, which holds a reference this
    /// client's memory does not know: the references are read before the write.
    SaveReloaded,
    /// Save a newly built item over one this client never read (the guess "no files" is
    /// wrong): refused, carried back, planned again; the stored item's objects are replaced.
    SaveGuessed,
    /// One transaction: replace a file of item `a`, delete item `b`, create item `c`.
    Transaction,
}

const OPS: [Op; 12] = [
    Op::SaveNew,
    Op::SaveReplace,
    Op::SaveKeep,
    Op::SaveRemove,
    Op::SaveRemoveDelete,
    Op::SaveInline,
    Op::Delete,
    Op::SaveStale,
    Op::DeleteStale,
    Op::SaveReloaded,
    Op::SaveGuessed,
    Op::Transaction,
];

/// The items an operation on `pk` touches.
fn items(op: Op, pk: &str) -> Vec<String> {
    match op {
        Op::Transaction => vec![format!("{pk}a"), format!("{pk}b"), format!("{pk}c")],
        _ => vec![pk.to_owned()],
    }
}

/// Puts item `pk` in the state `op` starts from (no faults armed).
async fn prepare(env: &FileEnv, op: Op, pk: &str) -> Option<Record> {
    if op == Op::SaveNew {
        return None;
    }
    if op == Op::Transaction {
        let mut a = record(&format!("{pk}a"), 1);
        let mut b = record(&format!("{pk}b"), 2);
        env.client.save(&mut b).await.expect("setup save");
        env.client.save(&mut a).await.expect("setup save");
        return Some(a);
    }
    if op == Op::SaveGuessed {
        env.other
            .save(&mut record(pk, 1))
            .await
            .expect("setup save");
        return None;
    }
    let mut r = record(pk, 1);
    env.client.save(&mut r).await.expect("setup save");
    if matches!(op, Op::SaveStale | Op::DeleteStale | Op::SaveReloaded) {
        // Another writer replaces a file and the overflow value (and, for `SaveReloaded`,
        // the typed value); this client still remembers the state it wrote.
        let mut changed = Record::get(&env.other, pk)
            .consistent_read(true)
            .await
            .expect("setup read")
            .expect("setup item");
        changed.content = Some(S3Object::from_bytes(vec![5; 3500], "other.bin"));
        changed.notes = notes(5);
        if op == Op::SaveReloaded {
            changed.summary = Some(S3Value::new(vec![5; 40]));
        }
        env.other.save(&mut changed).await.expect("setup save");
        if op == Op::SaveReloaded {
            // The caller's item is the changed one, read by another client.
            return Some(changed);
        }
    }
    Some(r)
}

/// Runs `op` on item `pk`.
async fn run(env: &FileEnv, op: Op, pk: &str, existing: Option<Record>) -> Result<(), Error> {
    match op {
        Op::SaveNew => env.client.save(&mut record(pk, 7)).await,
        Op::SaveReplace => {
            let mut r = existing.expect("existing item");
            r.content = Some(S3Object::from_bytes(vec![9; 4000], "replacement.bin"));
            r.blob = Some(S3Object::from_bytes(vec![9; 600], "blob.bin"));
            r.summary = Some(S3Value::new(vec![9; 60]));
            r.notes = notes(9);
            env.client.save(&mut r).await
        }
        Op::SaveKeep => {
            let mut r = existing.expect("existing item");
            r.name = "renamed".into();
            env.client.save(&mut r).await
        }
        Op::SaveRemove => {
            let mut r = existing.expect("existing item");
            r.content = None;
            env.client.save(&mut r).await
        }
        Op::SaveRemoveDelete => {
            let mut r = existing.expect("existing item");
            r.content = None;
            env.client.save(&mut r).delete_cleared_files().await
        }
        Op::SaveInline => {
            let mut r = existing.expect("existing item");
            r.notes = "short".into();
            env.client.save(&mut r).await
        }
        Op::Delete | Op::DeleteStale => Record::delete(&env.client, pk).await,
        Op::SaveStale | Op::SaveReloaded => {
            let mut r = existing.expect("existing item");
            r.content = Some(S3Object::from_bytes(vec![9; 4000], "replacement.bin"));
            env.client.save(&mut r).await
        }
        Op::SaveGuessed => env.client.save(&mut record(pk, 7)).await,
        Op::Transaction => {
            let mut a = existing.expect("existing item");
            a.content = Some(S3Object::from_bytes(vec![8; 2000], "replacement.bin"));
            a.blob = Some(S3Object::from_bytes(vec![8; 600], "blob.bin"));
            a.notes = notes(8);
            let mut c = record(&format!("{pk}c"), 4);
            env.client
                .transaction()
                .save(&mut a)
                .delete(Record::key_of(format!("{pk}b")))
                .create(&mut c)
                .await
        }
    }
}

/// Checks the promise for the items `pks`; returns the violations found.
async fn violations(env: &FileEnv, pks: &[String], kept: &BTreeSet<String>) -> Vec<String> {
    let mut found = Vec::new();
    for pk in pks {
        found.extend(item_violations(env, pk, kept).await);
    }
    found
}

async fn item_violations(env: &FileEnv, pk: &str, kept: &BTreeSet<String>) -> Vec<String> {
    let mut found = Vec::new();
    let item = match Record::get(&env.client, pk).consistent_read(true).await {
        Ok(item) => item,
        Err(e) => return vec![format!("cannot read the item: {e}")],
    };
    // Every object the stored item references, the overflow value's included (the model
    // shows only its value).
    let mut referenced: BTreeSet<String> = raw_references(env, pk).await;
    if let Some(item) = &item {
        let values = item.summary.iter().map(S3Value::object);
        for file in item
            .content
            .iter()
            .chain([&item.thumb])
            .chain(&item.blob)
            .chain(values)
        {
            let stored = file.stored().expect("a loaded file is stored");
            referenced.insert(stored.key.clone());
            // 1. The object exists and holds the recorded bytes (size and SHA-256 checked).
            if let Err(e) = file.get_bytes(&env.client).await {
                found.push(format!("item references {}: {e}", stored.key));
            }
        }
    }
    // 2. No object of this item is left unreferenced (except one a `None` save keeps), and no
    //    multipart upload is left open (where the server can list them).
    if let Ok(uploads) = env
        .s3
        .list_multipart_uploads()
        .bucket(env.bucket("records"))
        .send()
        .await
    {
        for upload in uploads.uploads.unwrap_or_default() {
            found.push(format!(
                "open multipart upload {}",
                upload.key.unwrap_or_default()
            ));
        }
    }
    let segment = format!("/{pk}/");
    for key in env.keys("records").await {
        if key.contains(&segment) && !referenced.contains(&key) && !kept.contains(&key) {
            found.push(format!("orphan {key}"));
        }
    }
    found
}

/// The keys of the objects the stored item `pk` references, as the protocol reads them.
async fn raw_references(env: &FileEnv, pk: &str) -> BTreeSet<String> {
    use dynox_core::spi::FileStore;
    let raw = env
        .client
        .dynamodb()
        .get_item()
        .table_name(env.client.table_name::<Record>())
        .key("pk", aws_sdk_dynamodb::types::AttributeValue::S(pk.into()))
        .consistent_read(true)
        .send()
        .await
        .expect("raw read")
        .item
        .unwrap_or_default();
    <Record as dynox_core::Model>::Files::references(&raw)
        .into_iter()
        .map(|r| r.object.key)
        .collect()
}

#[derive(Default)]
struct Tally {
    cases: usize,
    errors: usize,
    violations: Vec<String>,
}

/// Runs `op` on a fresh item `pk` with fault `kind` (`None`: a crash) armed on request `n`;
/// returns the fault's label, and whether the call failed with the violations found.
async fn run_case(
    env: &FileEnv,
    faults: &Faults,
    op: Op,
    pk: &str,
    n: usize,
    kind: Option<FaultKind>,
) -> (String, (usize, Vec<String>)) {
    let existing = prepare(env, op, pk).await;
    // A cleared file the user keeps stays, with its kept mark; one they delete must go.
    let kept: BTreeSet<String> = match (&existing, op) {
        (Some(r), Op::SaveRemove) => r
            .content
            .iter()
            .filter_map(|c| c.stored())
            .flat_map(|s| [s.key.clone(), format!("{}{}", s.key, dynox_s3::KEPT_SUFFIX)])
            .collect(),
        _ => BTreeSet::new(),
    };
    faults.reset();
    let label = match kind {
        Some(kind) => {
            faults.fail_nth(n, None, kind);
            kind.to_string()
        }
        None => {
            faults.fail_nth(n, None, FaultKind::Hang);
            "crash".to_owned()
        }
    };
    let outcome = tokio::select! {
        result = run(env, op, pk, existing) => Some(result),
        () = faults.hung() => None, // the "process" dies here: no more requests
    };
    let mut found = Vec::new();
    let mut failed = 0;
    match outcome {
        Some(Err(e)) => {
            failed = 1;
            // 3. A typed error naming what happened.
            assert!(
                e.to_string().contains(&env.client.table_name::<Record>())
                    || e.to_string().contains("s3://"),
                "{e}"
            );
            // A request that took effect and was retried by the SDK succeeded: the caller
            // must hear so.
            if kind == Some(FaultKind::LostResponseRetried) {
                found.push(format!("the call took effect but returned {e:?}"));
            }
        }
        Some(Ok(())) => {}
        None => {
            // After a crash, the sweep finds what the dead process left.
            faults.reset();
            let report = dynox_s3::sweep::<Record>(&env.client)
                .delete()
                .as_of(SystemTime::now() + Duration::from_secs(48 * 3600))
                .run()
                .await
                .expect("sweep");
            assert!(report.failed.is_empty(), "{report}");
        }
    }
    faults.reset();
    found.extend(violations(env, &items(op, pk), &kept).await);
    // A file cleared and kept is never deleted, by the call or by the sweep after a crash.
    if op == Op::SaveRemove {
        let item = Record::get(&env.client, pk).consistent_read(true).await;
        if let Ok(Some(item)) = item {
            if item.content.is_none() {
                let keys = env.keys("records").await;
                for key in &kept {
                    if !keys.contains(key) {
                        found.push(format!("the kept file's {key} is gone"));
                    }
                }
            }
        }
    }
    (label, (failed, found))
}

#[tokio::test]
async fn no_fault_or_crash_breaks_the_promise() {
    // Pass 1: clients without retries, so every injected fault reaches dynox; a crash is a
    // request that never returns. Pass 2: clients with the SDK's default retries, where a
    // response is lost after the request took effect and the SDK's own retry reaches the
    // server: the caller must get the outcome that really happened (success).
    let faults = Faults::start().await.unwrap();
    let env =
        file_env_with::<Record>(&["records"], S3Settings::default(), Some(faults.clone())).await;
    let retrying_faults = Faults::start().await.unwrap();
    let retrying = dynox_tests::file_env_retrying::<Record>(
        &["records"],
        S3Settings::default(),
        retrying_faults.clone(),
    )
    .await;
    let without_retries: Vec<Option<FaultKind>> =
        FaultKind::ALL.into_iter().map(Some).chain([None]).collect();
    let passes = [
        (&env, &faults, without_retries),
        (
            &retrying,
            &retrying_faults,
            vec![Some(FaultKind::LostResponseRetried)],
        ),
    ];
    let mut table: std::collections::BTreeMap<(Op, String), Tally> = Default::default();
    let mut case = 0;

    for (env, faults, kinds) in passes {
        for op in OPS {
            // How many requests does the operation make when nothing fails?
            let pk = format!("count-{op:?}");
            let existing = prepare(env, op, &pk).await;
            faults.reset();
            run(env, op, &pk, existing).await.expect("fault-free run");
            let requests = faults.requests();
            let count = requests.len();
            assert!(count >= 1, "{op:?}: {requests:?}");

            for n in 1..=count {
                for &kind in &kinds {
                    case += 1;
                    let pk = format!("c{case}");
                    let (label, violations) = run_case(env, faults, op, &pk, n, kind).await;
                    let tally = table.entry((op, label.clone())).or_default();
                    tally.cases += 1;
                    tally.errors += violations.0;
                    for v in violations.1 {
                        tally
                            .violations
                            .push(format!("{op:?} request {n} {label}: {v}"));
                    }
                }
            }
        }
    }

    let mut summary = String::from(
        "| operation | fault | cases | failed calls | violations |\n|---|---|---|---|---|\n",
    );
    let mut all = Vec::new();
    let mut total = 0;
    for ((op, kind), tally) in &table {
        summary.push_str(&format!(
            "| {op:?} | {kind} | {} | {} | {} |\n",
            tally.cases,
            tally.errors,
            tally.violations.len()
        ));
        total += tally.cases;
        all.extend(tally.violations.iter().cloned());
    }
    summary.push_str(&format!("| all | all | {total} | | {} |\n", all.len()));
    println!("{summary}");
    if let Ok(path) = std::env::var("DYNOX_MATRIX_FILE") {
        let _ = std::fs::write(path, &summary);
    }
    assert!(
        all.is_empty(),
        "{} violations:\n{}",
        all.len(),
        all.join("\n")
    );
}

#[derive(Debug, Clone, PartialEq, DynamoModel)]
#[dynamo(table = "locked")]
struct Locked {
    #[dynamo(hash_key)]
    pk: String,
    #[dynamo(version)]
    version: u64,
    note: String,
    #[s3(bucket = "locked", prefix = "files/")]
    file: Option<S3Object>,
}

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

#[tokio::test]
async fn the_sweep_removes_old_orphans_only() {
    let env = file_env::<Record>(&["records"], S3Settings::default()).await;
    let bucket = env.bucket("records").to_owned();
    let mut kept = record("live", 3);
    env.client.save(&mut kept).await.unwrap();

    // Orphans under the model's prefixes (more than one DeleteObjects batch), and an object
    // outside them that must never be touched.
    const ORPHANS: usize = 1_050;
    let started = std::time::Instant::now();
    futures::stream::iter(0..ORPHANS)
        .map(|i| {
            let s3 = env.s3.clone();
            let bucket = bucket.clone();
            let table = env.client.table_name::<Record>();
            async move {
                // As a crashed save leaves them: under the prefixes, owned by this model.
                let (prefix, field) = if i % 2 == 0 {
                    ("content", "content")
                } else {
                    ("thumbs", "thumb")
                };
                s3.put_object()
                    .bucket(bucket)
                    .key(format!("{prefix}/orphan/{i}/x.bin"))
                    .metadata(dynox_s3::OWNER_METADATA, format!("{table}/{field}"))
                    .body(vec![1u8; 16].into())
                    .send()
                    .await
                    .unwrap();
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await;
    env.s3
        .put_object()
        .bucket(&bucket)
        .key("elsewhere/keep.bin")
        .body(vec![1u8].into())
        .send()
        .await
        .unwrap();
    // Under the prefix but not this model's: no owner, and another environment's table.
    for (key, owner) in [
        ("content/foreign/a.bin", None),
        ("content/foreign/b.bin", Some("prod-records/content")),
    ] {
        env.s3
            .put_object()
            .bucket(&bucket)
            .key(key)
            .set_metadata(
                owner.map(|o| [(dynox_s3::OWNER_METADATA.to_owned(), o.to_owned())].into()),
            )
            .body(vec![1u8].into())
            .send()
            .await
            .unwrap();
    }
    let seeded_in = started.elapsed();

    // Just made: inside the grace period, so nothing is an orphan yet.
    let report = dynox_s3::sweep::<Record>(&env.client)
        .delete()
        .run()
        .await
        .unwrap();
    assert_eq!(report.orphans.len(), 0, "{report}");
    assert_eq!(report.too_young, ORPHANS as u64 + 2);
    // Five: the plain, compressed and shared files, the typed value and the moved overflow
    // value.
    assert_eq!(report.referenced, 5);

    // A day and a half later, as a dry run: found, not deleted.
    let later = SystemTime::now() + Duration::from_secs(36 * 3600);
    let report = dynox_s3::sweep::<Record>(&env.client)
        .as_of(later)
        .run()
        .await
        .unwrap();
    assert!(report.dry_run);
    assert_eq!(report.orphans.len(), ORPHANS);
    assert_eq!(
        report.not_owned, 2,
        "objects of no or another owner are left alone"
    );
    assert_eq!(report.deleted, 0);
    assert_eq!(env.keys("records").await.len(), ORPHANS + 8);

    // A 4 KiB memory budget: the listing and the references go through many sorted runs on
    // disk, with the same result.
    let report = dynox_s3::sweep::<Record>(&env.client)
        .as_of(later)
        .segments(3)
        .memory_budget(4 * 1024)
        .delete()
        .run()
        .await
        .unwrap();
    assert_eq!(report.deleted, ORPHANS as u64, "{report}");
    assert_eq!(report.orphans_found, ORPHANS as u64, "{report}");
    assert!(report.failed.is_empty(), "{report}");
    println!(
        "sweep: seeded {ORPHANS} orphans in {seeded_in:.2?}; found {}, deleted {} in {:.2?} ({} items scanned, {} objects listed)",
        report.orphans.len(),
        report.deleted,
        report.duration,
        report.items_scanned,
        report.objects_listed
    );
    let mut left = env.keys("records").await;
    left.sort();
    let mut expected = vec![
        "content/foreign/a.bin".to_owned(),
        "content/foreign/b.bin".to_owned(),
        "elsewhere/keep.bin".to_owned(),
        kept.content.as_ref().unwrap().stored().unwrap().key.clone(),
        kept.thumb.stored().unwrap().key.clone(),
        kept.blob.as_ref().unwrap().stored().unwrap().key.clone(),
        kept.summary
            .as_ref()
            .unwrap()
            .object()
            .key()
            .unwrap()
            .to_owned(),
    ];
    expected.extend(
        raw_references(&env, "live")
            .await
            .into_iter()
            .filter(|k| k.starts_with("notes/")),
    );
    expected.sort();
    assert_eq!(left, expected);
    // The live item is intact.
    let live = Record::get(&env.client, "live").await.unwrap().unwrap();
    live.content.unwrap().get_bytes(&env.client).await.unwrap();
}

#[tokio::test]
async fn reads_of_a_versioned_bucket_pin_the_recorded_version() {
    let env = file_env::<Record>(&["records"], S3Settings::default()).await;
    let bucket = env.bucket("records").to_owned();
    let versioning = env
        .s3
        .put_bucket_versioning()
        .bucket(&bucket)
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await;
    if versioning.is_err() {
        dynox_tests::capability_note(
            &env.backend,
            "reads_of_a_versioned_bucket_pin_the_recorded_version",
            "this server has no bucket versioning; checked on moto",
        );
        return;
    }
    let mut r = record("versioned", 5);
    env.client.save(&mut r).await.unwrap();
    let stored = r.content.as_ref().unwrap().stored().unwrap().clone();
    let version = stored
        .version_id
        .clone()
        .expect("a versioned bucket returns a version id");
    // Someone overwrites the key: a new version with other bytes.
    env.s3
        .put_object()
        .bucket(&bucket)
        .key(&stored.key)
        .body(vec![0u8; 10].into())
        .send()
        .await
        .unwrap();
    let loaded = Record::get(&env.client, "versioned")
        .await
        .unwrap()
        .unwrap();
    let file = loaded.content.as_ref().unwrap();
    assert_eq!(
        file.stored().unwrap().version_id.as_deref(),
        Some(version.as_str())
    );
    assert_eq!(
        file.get_bytes(&env.client).await.unwrap().as_ref(),
        vec![5u8; 3000].as_slice()
    );
    let url = file
        .presigned_url(&env.client, Duration::from_secs(60))
        .await
        .unwrap();
    assert!(url.contains("versionId="), "{url}");
}

#[tokio::test]
async fn the_sweep_aborts_stale_multipart_uploads_under_the_prefixes() {
    let env = file_env::<Record>(&["records"], S3Settings::default()).await;
    let bucket = env.bucket("records").to_owned();
    let started = env
        .s3
        .create_multipart_upload()
        .bucket(&bucket)
        .key("content/crashed/upload/big.bin")
        .send()
        .await
        .unwrap();
    let outside = env
        .s3
        .create_multipart_upload()
        .bucket(&bucket)
        .key("elsewhere/big.bin")
        .send()
        .await
        .unwrap();
    let later = SystemTime::now() + Duration::from_secs(48 * 3600);
    let report = dynox_s3::sweep::<Record>(&env.client)
        .as_of(later)
        .delete()
        .run()
        .await
        .unwrap();
    if !report.multipart_listing_unsupported.is_empty() {
        dynox_tests::capability_note(
            &env.backend,
            "the_sweep_aborts_stale_multipart_uploads_under_the_prefixes",
            "this server cannot list multipart uploads; checked on moto",
        );
        return;
    }
    assert_eq!(report.aborted, 1, "{report:?}");
    assert_eq!(
        report.stale_uploads[0].upload_id,
        started.upload_id.clone().unwrap()
    );
    let left = env
        .s3
        .list_multipart_uploads()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    let ids: Vec<_> = left
        .uploads
        .unwrap_or_default()
        .into_iter()
        .filter_map(|u| u.upload_id)
        .collect();
    assert_eq!(
        ids,
        vec![outside.upload_id.unwrap()],
        "only the upload outside the prefixes is left"
    );
}

#[tokio::test]
async fn the_sweep_reports_objects_it_could_not_delete() {
    let faults = Faults::start().await.unwrap();
    let env =
        file_env_with::<Record>(&["records"], S3Settings::default(), Some(faults.clone())).await;
    let bucket = env.bucket("records").to_owned();
    for i in 0..5 {
        env.s3
            .put_object()
            .bucket(&bucket)
            .key(format!("content/o/{i}/x.bin"))
            .metadata(
                dynox_s3::OWNER_METADATA,
                format!("{}/content", env.client.table_name::<Record>()),
            )
            .body(vec![1u8].into())
            .send()
            .await
            .unwrap();
    }
    faults.reset();
    faults.fail_nth(1, Some("DeleteObjects"), FaultKind::ServerError);
    let later = SystemTime::now() + Duration::from_secs(48 * 3600);
    let report = dynox_s3::sweep::<Record>(&env.client)
        .as_of(later)
        .delete()
        .run()
        .await
        .unwrap();
    assert_eq!(report.orphans.len(), 5);
    assert_eq!(report.deleted, 0);
    assert_eq!(report.failed.len(), 5, "{report}");
    assert!(
        report
            .failed
            .iter()
            .all(|(key, error)| key.starts_with("content/o/") && error.contains("InternalError")),
        "{report}"
    );
    // The next sweep gets them.
    let report = dynox_s3::sweep::<Record>(&env.client)
        .as_of(later)
        .delete()
        .run()
        .await
        .unwrap();
    assert_eq!(report.deleted, 5, "{report}");
}

/// Writes without files, with the SDK's default retries: the write's response is lost as a
/// transient error, the SDK's retry is refused by the write's own commit, and the caller must
/// still hear that the write happened (and a versioned item's version must move on).
#[tokio::test]
async fn writes_whose_retry_meets_their_own_commit_succeed() {
    let faults = Faults::start().await.unwrap();
    let env = dynox_tests::file_env_retrying::<Locked>(
        &["locked"],
        S3Settings::default(),
        faults.clone(),
    )
    .await;
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
