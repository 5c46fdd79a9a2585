//! Metrics (feature `metrics`): what dynox counts and times, read back through the `metrics`
//! facade from a debugging recorder installed for this test binary.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex, OnceLock};

use dynox_core::{DynamoModel, Error};
use dynox_local::faults::FaultKind;
use dynox_s3::{S3Object, S3Settings};
use dynox_tests::{faulty_file_env, faulty_file_env_retrying};
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use metrics_util::MetricKind;

#[derive(Debug, Clone, PartialEq, DynamoModel)]
#[dynamo(table = "metered")]
struct Doc {
    #[dynamo(hash_key)]
    id: String,
    #[s3(bucket = "metered-files", prefix = "docs/")]
    file: Option<S3Object>,
}

/// The recorder of this test binary, installed once (other tests' requests are counted too:
/// each test reads only the labels of its own table and bucket).
fn snapshotter() -> &'static Snapshotter {
    static SNAPSHOTTER: OnceLock<Snapshotter> = OnceLock::new();
    SNAPSHOTTER.get_or_init(|| {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        recorder
            .install()
            .expect("the only recorder of this binary");
        snapshotter
    })
}

/// Values by metric name and labels.
type Recorded = HashMap<(String, Vec<(String, String)>), u64>;

/// Every value recorded so far, by metric name and labels: a snapshot of the debugging
/// recorder drains it, so each one is added here (under one lock, as tests run in parallel).
fn recorded() -> std::sync::MutexGuard<'static, Recorded> {
    static RECORDED: LazyLock<Mutex<Recorded>> = LazyLock::new(Default::default);
    let mut map = RECORDED.lock().unwrap();
    for (key, _, _, value) in snapshotter().snapshot().into_vec() {
        let n = match (key.kind(), value) {
            (MetricKind::Counter, DebugValue::Counter(n)) => n,
            (MetricKind::Histogram, DebugValue::Histogram(samples)) => samples.len() as u64,
            _ => 0,
        };
        let labels = key
            .key()
            .labels()
            .map(|l| (l.key().to_owned(), l.value().to_owned()))
            .collect();
        *map.entry((key.key().name().to_owned(), labels))
            .or_default() += n;
    }
    map
}

/// The value of counter `name` whose labels include all of `labels` (summed), or the number
/// of samples of histogram `name`.
fn value(name: &str, labels: &[(&str, &str)]) -> u64 {
    recorded()
        .iter()
        .filter(|((n, l), _)| {
            n == name
                && labels
                    .iter()
                    .all(|(k, v)| l.iter().any(|(lk, lv)| lk == k && lv == v))
        })
        .map(|(_, n)| *n)
        .sum()
}

#[tokio::test]
async fn requests_outcomes_latencies_and_bytes_are_counted() {
    snapshotter();
    let (env, faults) = faulty_file_env::<Doc>(&["metered-files"], S3Settings::default()).await;
    let client = &env.client;
    let table = client.table_name::<Doc>();
    let bucket = env.bucket("metered-files").to_owned();

    let mut doc = Doc {
        id: "d1".into(),
        file: Some(S3Object::from_bytes(vec![7u8; 1000], "f.bin")),
    };
    client.create(&mut doc).await.unwrap();
    let loaded = Doc::get(client, "d1").await.unwrap().unwrap();
    assert_eq!(
        loaded.file.unwrap().get_bytes(client).await.unwrap().len(),
        1000
    );
    // A second create of the same key: a refused condition.
    let mut again = Doc {
        id: "d1".into(),
        file: None,
    };
    let err = client.create(&mut again).await.unwrap_err();
    assert!(matches!(err, Error::AlreadyExists { .. }), "{err:?}");
    // A throttled read.
    faults.fail_nth(1, None, FaultKind::Throttle);
    let err = Doc::get(client, "d1").await.unwrap_err();
    assert!(matches!(err, Error::Throttled { .. }), "{err:?}");
    faults.reset();

    let t = table.as_str();
    assert_eq!(
        value(
            "dynox_requests_total",
            &[("table", t), ("operation", "PutItem"), ("outcome", "ok")]
        ),
        1
    );
    assert_eq!(
        value(
            "dynox_requests_total",
            &[
                ("table", t),
                ("operation", "PutItem"),
                ("outcome", "condition_failed")
            ]
        ),
        1
    );
    assert_eq!(
        value(
            "dynox_requests_total",
            &[("table", t), ("operation", "GetItem"), ("outcome", "ok")]
        ),
        1
    );
    assert_eq!(
        value(
            "dynox_requests_total",
            &[
                ("table", t),
                ("operation", "GetItem"),
                ("outcome", "throttled")
            ]
        ),
        1
    );
    assert_eq!(
        value(
            "dynox_request_duration_seconds",
            &[("table", t), ("operation", "GetItem")]
        ),
        2
    );
    assert!(value("dynox_bytes_uploaded_total", &[("bucket", &bucket)]) >= 1000);
    assert_eq!(
        value("dynox_bytes_downloaded_total", &[("bucket", &bucket)]),
        1000
    );
}

#[tokio::test]
async fn a_retry_of_the_sdk_is_counted() {
    snapshotter();
    let (env, faults) =
        faulty_file_env_retrying::<Doc>(&["metered-files"], S3Settings::default()).await;
    let before = value(
        "dynox_retries_total",
        &[("service", "DynamoDB"), ("operation", "GetItem")],
    );
    faults.fail_nth(1, None, FaultKind::LostResponseRetried);
    assert_eq!(Doc::get(&env.client, "none").await.unwrap(), None);
    let after = value(
        "dynox_retries_total",
        &[("service", "DynamoDB"), ("operation", "GetItem")],
    );
    assert!(after > before, "{before} -> {after}");
}
