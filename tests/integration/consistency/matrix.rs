//! The promise under every single fault and crash: each operation of `operations` is run
//! once per request it makes and fault kind (and once per request as a crash), on clients
//! without retries, and once per request with a lost response the SDK's retry answers; the
//! checks of the module's doc run after each case, and a table of the cases is printed (and
//! appended to `DYNOX_MATRIX_FILE` when set). Each case runs on a table and a bucket of its own.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

use dynox_core::Error;
use dynox_local::faults::{FaultKind, Faults};
use dynox_s3::{S3Error, S3Settings, S3Value};
use dynox_tests::{faulty_file_env, faulty_file_env_retrying, FileEnv};

use super::operations::{items, prepare, run, Op, OPS};
use super::{raw_references, Record};

/// Clients without retries, so every injected fault reaches dynox; a crash is a request that
/// never returns.
#[tokio::test]
async fn no_fault_or_crash_breaks_the_promise() {
    let kinds = FaultKind::ALL.into_iter().map(Some).chain([None]).collect();
    matrix(false, kinds, "without retries").await;
}

/// Clients with the SDK's default retries: a response is lost after the request took effect
/// and the SDK's own retry reaches the server. The caller must get the outcome that really
/// happened (success). A test of its own, so that its retries' back-off waits run beside the
/// other tests.
#[tokio::test]
async fn a_lost_response_the_sdk_retries_breaks_no_promise() {
    matrix(
        true,
        vec![Some(FaultKind::LostResponseRetried)],
        "with SDK retries",
    )
    .await;
}

/// Runs every operation once per request it makes and fault kind of `kinds` (`None`: a crash),
/// prints the table of cases (and appends it to `DYNOX_MATRIX_FILE` when set) and asserts
/// that no case broke the promise.
///
/// Every case gets a table and a bucket of its own, so its checks (and a crash's sweep) read
/// only its own items and objects: s3s-fs lists a bucket by walking all of it, and one bucket
/// shared by every case made each case slower than the last (13 minutes on the embedded
/// servers, against about 3 now).
async fn matrix(retries: bool, kinds: Vec<Option<FaultKind>>, pass: &str) {
    let mut table: std::collections::BTreeMap<(Op, String), Tally> = Default::default();
    let mut case = 0;
    for op in OPS {
        // How many requests does the operation make when nothing fails?
        let (env, faults) = case_env(retries).await;
        let pk = format!("count-{op:?}");
        let existing = prepare(&env, op, &pk).await;
        faults.reset();
        run(&env, op, &pk, existing).await.expect("fault-free run");
        let requests = faults.requests();
        let count = requests.len();
        assert!(count >= 1, "{op:?}: {requests:?}");

        for n in 1..=count {
            for &kind in &kinds {
                case += 1;
                let pk = format!("c{case}");
                let (env, faults) = case_env(retries).await;
                let (label, violations) = run_case(&env, &faults, op, &pk, n, kind).await;
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

    let mut summary = format!(
        "{pass}:\n| operation | fault | cases | failed calls | violations |\n|---|---|---|---|---|\n",
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
        use std::io::Write;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path);
        let _ = file.and_then(|mut f| f.write_all(summary.as_bytes()));
    }
    assert!(
        all.is_empty(),
        "{} violations:\n{}",
        all.len(),
        all.join("\n")
    );
}

/// A table and a bucket for one case, on clients with the SDK's default retries or none.
async fn case_env(retries: bool) -> (FileEnv, Faults) {
    if retries {
        faulty_file_env_retrying::<Record>(&["records"], S3Settings::default()).await
    } else {
        faulty_file_env::<Record>(&["records"], S3Settings::default()).await
    }
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
        (Some(r), Op::SaveRemove | Op::UpdateRemove | Op::PartialRemove) => r
            .content
            .iter()
            .filter_map(|c| c.stored())
            .flat_map(|s| [s.key.clone(), format!("{}{}", s.key, dynox_s3::KEPT_SUFFIX)])
            .collect(),
        _ => BTreeSet::new(),
    };
    let label = kind.map_or("crash".to_owned(), |kind| kind.to_string());
    let store = Store {
        table: &env.client.table_name::<Record>(),
        bucket: env.bucket("records"),
        prefixes: &PREFIXES,
    };
    let (failed, mut found) =
        faulted::<Record>(env, faults, n, kind, store, run(env, op, pk, existing)).await;
    found.extend(violations(env, &items(op, pk), &kept).await);
    // A file cleared and kept is never deleted, by the call or by the sweep after a crash.
    if matches!(op, Op::SaveRemove | Op::UpdateRemove | Op::PartialRemove) {
        match Record::get(&env.client, pk).consistent_read(true).await {
            Ok(Some(item)) if item.content.is_none() => {
                let keys = env.keys("records").await;
                for key in &kept {
                    if !keys.contains(key) {
                        found.push(format!("the kept file's {key} is gone"));
                    }
                }
            }
            // The save did not commit: the item still references the file, whose bytes the
            // checks above read.
            Ok(Some(_)) => {}
            Ok(None) => found.push(format!("item {pk}, whose file was cleared, is gone")),
            Err(e) => panic!(
                "{op:?} request {n} {label}: cannot read back item {pk}, whose file was cleared: {e:?}"
            ),
        }
    }
    // A partial save that does not write the file and the overflow value another writer
    // replaced leaves both, whatever became of the save.
    if op == Op::PartialOther {
        let item = Record::get(&env.client, pk).consistent_read(true).await;
        let item = item.ok().flatten();
        if item
            .as_ref()
            .is_none_or(|item| item.notes != super::notes(5))
        {
            found.push("the other writer's overflow value is not kept".to_owned());
        }
        match item.and_then(|item| item.content) {
            Some(content) => match content.get_bytes(&env.client).await {
                Ok(bytes) if bytes == vec![5; 3500] => {}
                other => found.push(format!("the other writer's file is not kept: {other:?}")),
            },
            None => found.push("the other writer's file is gone".to_owned()),
        }
    }
    (label, (usize::from(failed), found))
}

/// The store a case's model writes to: its table, and its bucket and prefixes.
pub(super) struct Store<'a> {
    pub(super) table: &'a str,
    pub(super) bucket: &'a str,
    pub(super) prefixes: &'a [&'a str],
}

/// Runs `call` with fault `kind` armed on request `n` (`None`: a crash, a request that never
/// returns, after which the "process" sends nothing more) and judges how it ended: a failed
/// call's error must be typed after the injected fault (3.), a request that took effect and
/// was retried by the SDK must not fail the call, and after a crash one sweep of `T` finds what
/// the dead process left. Returns whether the call failed, and what broke the promise. The
/// faults are reset at the end, for the checks of the stored state.
pub(super) async fn faulted<T: dynox_s3::FileModels>(
    env: &FileEnv,
    faults: &Faults,
    n: usize,
    kind: Option<FaultKind>,
    store: Store<'_>,
    call: impl std::future::Future<Output = Result<(), Error>>,
) -> (bool, Vec<String>) {
    faults.reset();
    faults.fail_nth(n, None, kind.unwrap_or(FaultKind::Hang));
    let outcome = tokio::select! {
        result = call => Some(result),
        () = faults.hung() => None, // the "process" dies here: no more requests
    };
    let mut found = Vec::new();
    match &outcome {
        Some(Err(e)) => {
            // 3. A typed error naming what happened: the variant of the injected fault, for
            //    the store whose request it failed.
            let injected = faults.injected();
            if let Err(untyped) =
                typed_error(e, &injected, store.table, store.bucket, store.prefixes)
            {
                found.push(untyped);
            }
            // A request that took effect and was retried by the SDK succeeded: the caller
            // must hear so.
            if kind == Some(FaultKind::LostResponseRetried) {
                found.push(format!("the call took effect but returned {e:?}"));
            }
        }
        Some(Ok(())) => {}
        None => {
            faults.reset();
            let report = dynox_s3::sweep::<T>(&env.client)
                .delete()
                .as_of(SystemTime::now() + Duration::from_secs(48 * 3600))
                .await
                .expect("sweep");
            assert!(report.failed.is_empty(), "{report}");
        }
    }
    faults.reset();
    (matches!(outcome, Some(Err(_))), found)
}

/// The prefixes of [`Record`]'s file fields: every object a failed S3 request names is under
/// one of them.
const PREFIXES: [&str; 5] = ["content/", "thumbs/", "shared/", "summary/", "notes/"];

/// Checks that `e`, the error of a call in which exactly the fault `injected` fired, is typed
/// after that fault:
///
/// - a fault on a DynamoDB request is the variant dynox maps the fault's answer to, naming
///   `table` and the operation: a server error is `Service` with the injected
///   `InternalServerError`, throttling is `Throttled`, a refused condition is
///   `ConditionFailed`, a dropped connection or lost response is `Transport`;
/// - a fault on an S3 request fails a file field (`File`) or leaves objects behind
///   (`CleanupFailed`), of `table`, and carries the `S3Error` of the fault's answer, naming
///   `bucket` and a key under one of `prefixes` (the model's): a server error, throttling or a
///   refused condition is `Service` with the injected code (`InternalError`, `SlowDown`,
///   `PreconditionFailed`; for `HeadObject`, whose answer has no body, its status: `HTTP 500`,
///   `HTTP 503`, `HTTP 412`) and the operation, a dropped connection or lost response is
///   `Transport`.
///
/// A lost response the SDK retried is answered by the retry, so for it any variant of the
/// request's store naming the same table or bucket is typed (such a call fails the promise
/// anyway: it took effect).
pub(super) fn typed_error(
    e: &Error,
    injected: &[(String, FaultKind)],
    table: &str,
    bucket: &str,
    prefixes: &[&str],
) -> Result<(), String> {
    let [(request, kind)] = injected else {
        return Err(format!(
            "{} faults fired, not one, for the error {e:?}: {injected:?}",
            injected.len()
        ));
    };
    let kind = *kind;
    let typed = if let Some(operation) = request.strip_prefix("DynamoDB.") {
        let names = |o: &str, t: &str| o == operation && t == table;
        match (kind, e) {
            (
                FaultKind::ServerError,
                Error::Service {
                    operation: o,
                    table: t,
                    code,
                    ..
                },
            ) => names(o, t) && code == "InternalServerError",
            (
                FaultKind::Throttle,
                Error::Throttled {
                    operation: o,
                    table: t,
                    ..
                },
            ) => names(o, t),
            (FaultKind::ConditionFailed, Error::ConditionFailed { table: t, .. }) => t == table,
            (
                FaultKind::ConnectionReset | FaultKind::LostResponse,
                Error::Transport {
                    operation: o,
                    table: t,
                    ..
                },
            ) => names(o, t),
            (
                FaultKind::LostResponseRetried,
                Error::Service { table: t, .. }
                | Error::Throttled { table: t, .. }
                | Error::ConditionFailed { table: t, .. }
                | Error::Transport { table: t, .. },
            ) => t == table,
            _ => false,
        }
    } else if let Some(operation) = request.strip_prefix("S3.") {
        let of_table = matches!(
            e,
            Error::File { table: t, .. } | Error::CleanupFailed { table: t, .. } if t == table
        );
        let names = |b: &str, k: &str| b == bucket && prefixes.iter().any(|p| k.starts_with(p));
        let s3 = match (kind, e.s3()) {
            (
                FaultKind::ServerError | FaultKind::Throttle | FaultKind::ConditionFailed,
                Some(S3Error::Service {
                    operation: o,
                    bucket: b,
                    key: k,
                    code,
                    ..
                }),
            ) => {
                let (injected_code, status) = match kind {
                    FaultKind::ServerError => ("InternalError", 500),
                    FaultKind::Throttle => ("SlowDown", 503),
                    _ => ("PreconditionFailed", 412),
                };
                // The answer to a HEAD request has no body, hence no code: only its status.
                let code_read = if operation == "HeadObject" {
                    format!("HTTP {status}")
                } else {
                    injected_code.to_owned()
                };
                *o == operation && names(b, k) && **code == *code_read
            }
            (
                FaultKind::ConnectionReset | FaultKind::LostResponse,
                Some(S3Error::Transport {
                    bucket: b, key: k, ..
                }),
            ) => names(b, k),
            (
                FaultKind::LostResponseRetried,
                Some(
                    S3Error::Service {
                        bucket: b, key: k, ..
                    }
                    | S3Error::Transport {
                        bucket: b, key: k, ..
                    },
                ),
            ) => names(b, k),
            _ => false,
        };
        of_table && s3
    } else {
        false
    };
    if typed {
        Ok(())
    } else {
        Err(format!(
            "{kind} on {request} returned an error not typed after it: {e:?} (S3 error: {:?})",
            e.s3()
        ))
    }
}

#[derive(Default)]
struct Tally {
    cases: usize,
    errors: usize,
    violations: Vec<String>,
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
    // A replaced or deleted object of the retained field stays, with its retention mark
    //    (`{key}.dynox-retain-{deadline}`), until the sweep after its deadline; a mark never
    //    outlives its object, and names a deadline after now.
    let segment = format!("/{pk}/");
    let keys = env.keys("records").await;
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let mut retained = BTreeSet::new();
    for key in keys.iter().filter(|k| k.contains(&segment)) {
        let Some((object, deadline)) = key.split_once(dynox_s3::RETAIN_INFIX) else {
            continue;
        };
        if !keys.iter().any(|k| k == object) {
            found.push(format!("retention mark {key} without its object"));
        }
        if deadline.parse::<u64>().map_or(true, |d| d <= now) {
            found.push(format!("retention mark {key} names no deadline ahead"));
        }
        if referenced.contains(object) {
            found.push(format!("the referenced {object} is marked for deletion"));
        }
        retained.insert(object.to_owned());
        retained.insert(key.clone());
    }
    for key in keys {
        if key.contains(&segment)
            && !referenced.contains(&key)
            && !kept.contains(&key)
            && !retained.contains(&key)
        {
            found.push(format!("orphan {key}"));
        }
    }
    found
}
