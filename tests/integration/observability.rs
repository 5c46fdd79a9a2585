//! Tracing: every DynamoDB request has an OpenTelemetry-named span (system, operation,
//! table) that carries the consumed capacity when the client asks for it; S3 uploads and
//! downloads have spans with their bucket, key, bytes and parts.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use dynox_core::{Client, DynamoModel};
use dynox_s3::{S3Object, S3Settings};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

/// One span as seen by the subscriber: its name and the fields recorded on it.
#[derive(Debug, Clone, Default)]
struct Seen {
    name: String,
    fields: BTreeMap<String, String>,
}

/// A layer that keeps every span with its fields.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<BTreeMap<u64, Seen>>>);

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl<S: tracing::Subscriber> Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, _: Context<'_, S>) {
        let mut seen = Seen {
            name: attrs.metadata().name().to_owned(),
            ..Seen::default()
        };
        attrs.record(&mut Fields(&mut seen.fields));
        self.0.lock().unwrap().insert(id.into_u64(), seen);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, _: Context<'_, S>) {
        if let Some(seen) = self.0.lock().unwrap().get_mut(&id.into_u64()) {
            values.record(&mut Fields(&mut seen.fields));
        }
    }
}

impl Capture {
    /// The spans named `name`, in creation order.
    fn spans(&self, name: &str) -> Vec<Seen> {
        self.0
            .lock()
            .unwrap()
            .values()
            .filter(|s| s.name == name)
            .cloned()
            .collect()
    }

    /// The `dynamodb` span of `operation`.
    fn operation(&self, operation: &str) -> Seen {
        self.spans("dynamodb")
            .into_iter()
            .find(|s| s.fields.get("db.operation.name").map(String::as_str) == Some(operation))
            .unwrap_or_else(|| panic!("no span for {operation}"))
    }
}

#[derive(Debug, Clone, PartialEq, DynamoModel)]
#[dynamo(table = "metrics")]
struct Metric {
    #[dynamo(hash_key)]
    name: String,
    #[dynamo(range_key)]
    at: u64,
    value: i64,
}

#[derive(Debug, DynamoModel)]
#[dynamo(table = "reports")]
struct Report {
    #[dynamo(hash_key)]
    id: String,
    #[s3(bucket = "reports")]
    body: S3Object,
}

thread_local! {
    /// The capture of the test running on this thread, while it runs [`traced`].
    static CAPTURING: std::cell::RefCell<Option<Capture>> = const { std::cell::RefCell::new(None) };
}

/// The process-wide subscriber: it records spans into the capture of the thread that creates
/// them, and nothing on any other thread.
///
/// The tests of this module once set their capture as the thread's default subscriber. In a
/// binary shared with every other test, that loses spans: tracing caches whether a callsite
/// is enabled when the callsite is first hit, and while only one subscriber exists it asks
/// the subscriber of the thread that hits it. Another test's thread (no subscriber) reaching
/// dynox's `dynamodb` span first disabled it for good. A global subscriber answers the same on
/// every thread ("sometimes", for spans), and decides per span.
struct Router;

impl<S: tracing::Subscriber> Layer<S> for Router {
    fn register_callsite(
        &self,
        metadata: &'static tracing::Metadata<'static>,
    ) -> tracing::subscriber::Interest {
        if metadata.is_span() {
            tracing::subscriber::Interest::sometimes()
        } else {
            tracing::subscriber::Interest::never()
        }
    }

    fn enabled(&self, metadata: &tracing::Metadata<'_>, _: Context<'_, S>) -> bool {
        metadata.is_span() && CAPTURING.with(|c| c.borrow().is_some())
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if let Some(capture) = CAPTURING.with(|c| c.borrow().clone()) {
            capture.on_new_span(attrs, id, ctx);
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        // A span keeps its id in the one registry: only the capture that saw it has it.
        if let Some(capture) = CAPTURING.with(|c| c.borrow().clone()) {
            capture.on_record(id, values, ctx);
        }
    }
}

/// Runs `body` with `capture` recording the spans of this thread (the test runtime is
/// single-threaded, so every span of the test is seen; other tests' threads are not).
async fn traced<F: std::future::Future>(capture: &Capture, body: F) -> F::Output {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        tracing::subscriber::set_global_default(tracing_subscriber::registry().with(Router))
            .expect("no other global tracing subscriber in the test binary");
    });

    /// Stops the capture when the body ends or panics.
    struct Stop;
    impl Drop for Stop {
        fn drop(&mut self) {
            CAPTURING.with(|c| c.borrow_mut().take());
        }
    }
    CAPTURING.with(|c| *c.borrow_mut() = Some(capture.clone()));
    let _stop = Stop;
    body.await
}

async fn client(consumed_capacity: bool) -> Client {
    let backend = dynox_tests::backend().await;
    let client = Client::builder(backend.sdk_config())
        .table_prefix(dynox_tests::unique_prefix())
        .consumed_capacity(consumed_capacity)
        .build();
    client.create_table::<Metric>().await.unwrap();
    client
}

async fn workload(client: &Client) {
    let mut metric = Metric {
        name: "cpu".into(),
        at: 1,
        value: 40,
    };
    client.save(&mut metric).await.unwrap();
    Metric::get(client, "cpu", 1).await.unwrap().unwrap();
    Metric::query(client, "cpu").all().await.unwrap();
    Metric::scan(client).all().await.unwrap();
    Metric::update(client, "cpu", 1)
        .apply(Metric::fields().value.set(41))
        .await
        .unwrap();
    Metric::delete(client, "cpu", 1).await.unwrap();
}

#[tokio::test]
async fn every_request_has_an_opentelemetry_span_with_its_consumed_capacity() {
    let capture = Capture::default();
    let client = client(true).await;
    traced(&capture, workload(&client)).await;
    let table = client.table_name::<Metric>();
    let backend = dynox_tests::backend().await;
    let mut unreported = Vec::new();
    for operation in [
        "PutItem",
        "GetItem",
        "Query",
        "Scan",
        "UpdateItem",
        "DeleteItem",
    ] {
        let span = capture.operation(operation);
        assert_eq!(span.fields["db.system"], "dynamodb");
        assert_eq!(span.fields["db.collection.name"], table);
        assert_eq!(span.fields["otel.name"], operation);
        match span.fields.get("aws.dynamodb.consumed_capacity") {
            Some(units) => {
                let units: f64 = units.parse().unwrap();
                assert!(units > 0.0, "{operation}: {units}");
            }
            None => unreported.push(operation),
        }
    }
    // Every DynamoDB server the suite runs on answers `ReturnConsumedCapacity` with the
    // capacity of each of these operations, so a span without it is dynox's fault, never the
    // server's, on any backend: the embedded dynoxide 3.2.0 (this test), moto 5.2
    // (`AWS_ENDPOINT_URL`, scripts/test; checked by hand on moto 5.2.1 with
    // `ReturnConsumedCapacity=TOTAL`: 0.5 to 1 unit each) and DynamoDB itself (documented for
    // each operation). DynamoDB Local (`AWS_ENDPOINT_URL_DYNAMODB`, scripts/dynamodb-local) is
    // held to the same: should it leave one out, this names the backend instead of passing.
    assert_eq!(
        unreported,
        Vec::<&str>::new(),
        "{} ({:?}): spans without the consumed capacity the server reports",
        backend.name(),
        backend.kind()
    );
}

#[tokio::test]
async fn consumed_capacity_is_not_requested_by_default() {
    let capture = Capture::default();
    let client = client(false).await;
    traced(&capture, workload(&client)).await;
    let spans = capture.spans("dynamodb");
    assert!(spans.len() >= 6);
    assert!(spans
        .iter()
        .all(|s| !s.fields.contains_key("aws.dynamodb.consumed_capacity")));
}

#[tokio::test]
async fn file_uploads_and_downloads_have_spans_with_their_size() {
    let settings = S3Settings::default()
        .multipart_threshold(5 * 1024 * 1024)
        .part_size(5 * 1024 * 1024);
    let env = dynox_tests::file_env::<Report>(&["reports"], settings).await;
    let capture = Capture::default();
    let data = vec![7u8; 6 * 1024 * 1024];
    traced(&capture, async {
        let mut report = Report {
            id: "r1".into(),
            body: S3Object::from_bytes(data.clone(), "r1.bin"),
        };
        env.client.save(&mut report).await.unwrap();
        let read = Report::get(&env.client, "r1").await.unwrap().unwrap();
        let bytes = read.body.get_bytes(&env.client).await.unwrap();
        assert_eq!(bytes.len(), data.len());
    })
    .await;
    let upload = &capture.spans("s3.upload")[0];
    assert_eq!(upload.fields["bucket"], env.bucket("reports"));
    assert_eq!(upload.fields["bytes"], data.len().to_string());
    assert_eq!(upload.fields["parts"], "2");
    let download = &capture.spans("s3.download")[0];
    assert_eq!(download.fields["bytes"], data.len().to_string());
    assert!(download.fields["key"].ends_with("r1.bin"));
}
