//! The promise in a single-table design: two entity types with files in one table (one with a
//! compressed file and an overflow field, the other with a file under the same prefix as the
//! first's, a shared object and a typed value), under every single fault and crash, on clients without retries and with the SDK's
//! default retries answering a lost response.
//!
//! Each operation runs once per request it makes and fault kind (and as a crash). After each
//! case the partition is read back: every file of every item exists with its recorded bytes,
//! no object in the case's bucket is unreferenced (after a crash, once one sweep of both
//! models has run), and a failed call's error is typed after the injected fault.

use std::collections::BTreeSet;

use dynox_core::spi::FileStore;
use dynox_core::{DynamoCollection, DynamoModel, Error, Model};
use dynox_local::faults::{FaultKind, Faults};
use dynox_s3::{S3Object, S3Settings, S3Value};
use dynox_tests::{faulty_file_env, faulty_file_env_retrying, FileEnv};

use super::matrix::{faulted, Store};

#[derive(Debug, Clone, PartialEq, DynamoModel)]
#[dynamo(table = "st_records", entity = "Invoice")]
#[dynamo(pk = "ACCOUNT#{account}", sk = "INVOICE#{number}")]
struct Invoice {
    account: String,
    number: u32,
    #[s3(bucket = "st-files", prefix = "docs/")]
    pdf: Option<S3Object>,
    #[s3(bucket = "st-files", prefix = "scans/", compress = "zstd")]
    scan: S3Object,
    /// 420 KB: kept in S3; a short value stays inline.
    #[s3(bucket = "st-files", prefix = "notes/", overflow)]
    notes: String,
}

/// Its file field has the invoice's field name, bucket and prefix: ownership per entity type
/// is what keeps the two apart.
#[derive(Debug, Clone, PartialEq, DynamoModel)]
#[dynamo(table = "st_records", entity = "Return")]
#[dynamo(pk = "ACCOUNT#{account}", sk = "RETURN#{number}")]
struct Return {
    account: String,
    number: u32,
    #[s3(bucket = "st-files", prefix = "docs/")]
    pdf: Option<S3Object>,
    /// Content-addressed: a replaced one is left for the sweep, never deleted by a write.
    #[s3(bucket = "st-files", prefix = "shared/", shared)]
    label: Option<S3Object>,
    /// A typed value, stored as JSON.
    #[s3(bucket = "st-files", prefix = "values/")]
    lines: Option<S3Value<Vec<u32>>>,
}

#[allow(clippy::large_enum_variant)] // test values
#[derive(Debug, DynamoCollection)]
enum Account {
    Invoice(Invoice),
    Return(Return),
}

type Models = (Invoice, Return);

const PREFIXES: [&str; 5] = ["docs/", "scans/", "notes/", "shared/", "values/"];

fn invoice(account: &str, number: u32, seed: u8) -> Invoice {
    Invoice {
        account: account.into(),
        number,
        pdf: Some(S3Object::from_bytes(vec![seed; 2500], "invoice.pdf")),
        scan: S3Object::from_bytes(vec![seed.wrapping_add(1); 300], "scan.png"),
        notes: char::from(b'a' + seed % 26).to_string().repeat(420 * 1024),
    }
}

fn ret(account: &str, number: u32, seed: u8) -> Return {
    Return {
        account: account.into(),
        number,
        pdf: Some(S3Object::from_bytes(vec![seed; 1800], "return.pdf")),
        label: Some(S3Object::from_bytes(vec![seed; 400], "label.png")),
        lines: Some(S3Value::new(vec![u32::from(seed); 30])),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Op {
    /// A new invoice and a new return.
    SaveNew,
    /// The invoice's files and overflow value replaced.
    ReplaceInvoice,
    /// The return's file cleared and deleted, its label and typed value replaced.
    ClearReturn,
    /// Delete the invoice (its files go) beside a return that stays.
    DeleteInvoice,
    /// One transaction over both types: replace the invoice's file, delete the return,
    /// create another return.
    Transaction,
}

const OPS: [Op; 5] = [
    Op::SaveNew,
    Op::ReplaceInvoice,
    Op::ClearReturn,
    Op::DeleteInvoice,
    Op::Transaction,
];

/// Puts account `a` in the state `op` starts from: an invoice and a return (none for
/// `SaveNew`).
async fn prepare(env: &FileEnv, op: Op, a: &str) {
    if op == Op::SaveNew {
        return;
    }
    env.client
        .save(&mut invoice(a, 1, 1))
        .await
        .expect("setup save");
    env.client
        .save(&mut ret(a, 1, 2))
        .await
        .expect("setup save");
}

async fn run(env: &FileEnv, op: Op, a: &str) -> Result<(), Error> {
    let client = &env.client;
    match op {
        Op::SaveNew => {
            client.save(&mut invoice(a, 1, 3)).await?;
            client.save(&mut ret(a, 1, 4)).await
        }
        Op::ReplaceInvoice => {
            let mut i = Invoice::get(client, a, 1u32).await?.expect("setup item");
            i.pdf = Some(S3Object::from_bytes(vec![7; 2600], "v2.pdf"));
            i.scan = S3Object::from_bytes(vec![7; 320], "v2.png");
            i.notes = "z".repeat(430 * 1024);
            client.save(&mut i).await
        }
        Op::ClearReturn => {
            let mut r = Return::get(client, a, 1u32).await?.expect("setup item");
            r.pdf = None;
            r.label = Some(S3Object::from_bytes(vec![6; 420], "label2.png"));
            r.lines = Some(S3Value::new(vec![6; 31]));
            client.save(&mut r).delete_cleared_files().await
        }
        Op::DeleteInvoice => Invoice::delete(client, a, 1u32).await.map(drop),
        Op::Transaction => {
            let mut i = Invoice::get(client, a, 1u32).await?.expect("setup item");
            i.pdf = Some(S3Object::from_bytes(vec![8; 2700], "v3.pdf"));
            let mut another = ret(a, 2, 9);
            client
                .transact_write()
                .save(&mut i)
                .delete(Return::key_of(a, 1u32))
                .create(&mut another)
                .await
        }
    }
}

/// Without retries: every fault kind and a crash, on every request.
#[tokio::test]
async fn no_fault_or_crash_breaks_the_promise_for_two_entity_types_in_one_table() {
    let kinds = FaultKind::ALL.into_iter().map(Some).chain([None]).collect();
    matrix(false, kinds).await;
}

/// With the SDK's default retries: a lost response the retry answers.
#[tokio::test]
async fn a_retried_lost_response_breaks_no_promise_for_two_entity_types_in_one_table() {
    matrix(true, vec![Some(FaultKind::LostResponseRetried)]).await;
}

async fn case_env(retries: bool) -> (FileEnv, Faults) {
    if retries {
        faulty_file_env_retrying::<Models>(&["st-files"], S3Settings::default()).await
    } else {
        faulty_file_env::<Models>(&["st-files"], S3Settings::default()).await
    }
}

async fn matrix(retries: bool, kinds: Vec<Option<FaultKind>>) {
    let mut violations = Vec::new();
    let mut cases = 0;
    for op in OPS {
        let (env, faults) = case_env(retries).await;
        prepare(&env, op, "count").await;
        faults.reset();
        run(&env, op, "count").await.expect("fault-free run");
        let count = faults.requests().len();
        for n in 1..=count {
            for &kind in &kinds {
                cases += 1;
                let account = format!("a{cases}");
                let (env, faults) = case_env(retries).await;
                let label = kind.map_or("crash".to_owned(), |k| k.to_string());
                for v in run_case(&env, &faults, op, &account, n, kind).await {
                    violations.push(format!("{op:?} request {n} {label}: {v}"));
                }
            }
        }
    }
    println!(
        "single-table matrix ({}): {cases} cases, {} violations",
        if retries {
            "with SDK retries"
        } else {
            "without retries"
        },
        violations.len()
    );
    assert!(cases >= OPS.len(), "{cases} cases");
    assert!(
        violations.is_empty(),
        "{} violations:\n{}",
        violations.len(),
        violations.join("\n")
    );
}

async fn run_case(
    env: &FileEnv,
    faults: &Faults,
    op: Op,
    account: &str,
    n: usize,
    kind: Option<FaultKind>,
) -> Vec<String> {
    prepare(env, op, account).await;
    let store = Store {
        table: &env.client.table_name::<Invoice>(),
        bucket: env.bucket("st-files"),
        prefixes: &PREFIXES,
    };
    // After a crash, one sweep of both models finds what the dead process left.
    let (_, mut found) =
        faulted::<Models>(env, faults, n, kind, store, run(env, op, account)).await;
    found.extend(check(env, account).await);
    found
}

/// The promise for account `a`: every file of every item readable with its recorded bytes;
/// every object of the case's bucket referenced by an item.
async fn check(env: &FileEnv, a: &str) -> Vec<String> {
    let mut found = Vec::new();
    let items = match Account::query(&env.client, Invoice::partition(a))
        .consistent_read(true)
        .await
    {
        Ok(items) => items,
        Err(e) => return vec![format!("cannot read the partition: {e}")],
    };
    for item in &items {
        let files: Vec<&S3Object> = match item {
            Account::Invoice(i) => i.pdf.iter().chain([&i.scan]).collect(),
            Account::Return(r) => {
                let lines = r.lines.iter().map(S3Value::object);
                r.pdf.iter().chain(&r.label).chain(lines).collect()
            }
        };
        for file in files {
            if let Err(e) = file.get_bytes(&env.client).await {
                found.push(format!("{item:?} references an unreadable file: {e}"));
            }
        }
    }
    let referenced = raw_references(env, a).await;
    for key in env.keys("st-files").await {
        // A shared object no item references any more is the sweep's to collect.
        if !referenced.contains(&key) && !key.starts_with("shared/") {
            found.push(format!("orphan {key}"));
        }
    }
    found
}

/// Every object the stored items of `a` reference (overflow values included), each item read
/// by the model of its entity type.
async fn raw_references(env: &FileEnv, a: &str) -> BTreeSet<String> {
    let output = env
        .client
        .dynamodb()
        .query()
        .table_name(env.client.table_name::<Invoice>())
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(
            ":pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("ACCOUNT#{a}")),
        )
        .consistent_read(true)
        .send()
        .await
        .expect("raw query");
    let mut keys = BTreeSet::new();
    for item in output.items.unwrap_or_default() {
        let refs = match item.get("entity_type").and_then(|t| t.as_s().ok()) {
            Some(t) if t == "Invoice" => <Invoice as Model>::Files::references(&item),
            Some(t) if t == "Return" => <Return as Model>::Files::references(&item),
            other => panic!("an item of an unknown type {other:?}"),
        };
        keys.extend(refs.into_iter().map(|r| r.object.key));
    }
    keys
}
