//! Shared set-up of the integration tests: the backend chosen by `AWS_ENDPOINT_URL` (the
//! embedded servers by default, see `dynox_local::Backend`) and a client whose table prefix
//! is unique to the test, so tests run in parallel on one server.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use dynox_core::{Client, Model};
use dynox_local::faults::Faults;
use dynox_local::Backend;
use dynox_s3::{S3Object, StoredObject};

pub use dynox_local::BackendKind;

/// `len` bytes of deterministic test content that differs per `seed` and from one block of
/// the content to the next (so a misplaced part or range shows).
pub fn content(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i >> 11) as u8)
        .collect()
}

/// The backend for this test run.
pub async fn backend() -> Backend {
    match Backend::from_env().await {
        Ok(b) => b,
        Err(e) => panic!("cannot start the test backend: {e}"),
    }
}

/// A prefix no other test (in this or another run against the same server) uses.
pub fn unique_prefix() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!("t{}-{nanos:x}-{n}-", std::process::id())
}

/// A client with a unique table prefix.
pub async fn client() -> Client {
    let backend = backend().await;
    Client::builder(backend.sdk_config())
        .table_prefix(unique_prefix())
        .build()
}

/// A client with a unique table prefix and model `M`'s table created.
pub async fn client_with<M: dynox_core::TableModels>() -> Client {
    let client = client().await;
    client
        .create_table::<M>()
        .await
        .expect("create the test table");
    client
}

/// A loopback HTTP server that answers every request with the same canned DynamoDB error,
/// for error paths a real server cannot be made to take on demand (throttling).
///
/// Returns the endpoint URL; the server lives as long as the test's runtime.
pub async fn canned_error_server(status: u16, error_type: &'static str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .expect("bind a loopback port");
    let addr = listener.local_addr().expect("local address");
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buffer = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    // Read one request: headers, then Content-Length bytes of body.
                    let Some(end) = find(&buffer, b"\r\n\r\n") else {
                        match socket.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                        }
                        continue;
                    };
                    let headers = String::from_utf8_lossy(&buffer[..end]).to_ascii_lowercase();
                    let length = headers
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    if buffer.len() < end + 4 + length {
                        match socket.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                        }
                        continue;
                    }
                    buffer.drain(..end + 4 + length);
                    let body = format!(
                        r#"{{"__type":"com.amazonaws.dynamodb.v20120810#{error_type}","message":"canned {error_type}"}}"#
                    );
                    let response = format!(
                        "HTTP/1.1 {status} Error\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if socket.write_all(response.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    format!("http://{addr}")
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// An `SdkConfig` for `endpoint` with local credentials and a single attempt per request
/// (no retries), for error-path tests.
pub fn single_attempt_config(endpoint: &str) -> aws_config::SdkConfig {
    use aws_sdk_dynamodb::config::{Credentials, Region, SharedCredentialsProvider};
    aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::for_tests()))
        .endpoint_url(endpoint)
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(1))
        .build()
}

/// Every HTTP request an S3 client sent, as `METHOD path?query`, recorded by an interceptor.
#[derive(Debug, Clone, Default)]
pub struct RequestLog(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

impl RequestLog {
    /// The requests so far.
    pub fn requests(&self) -> Vec<String> {
        self.0.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Forgets the requests so far.
    pub fn clear(&self) {
        if let Ok(mut l) = self.0.lock() {
            l.clear();
        }
    }
}

impl aws_sdk_s3::config::Intercept for RequestLog {
    fn name(&self) -> &'static str {
        "RequestLog"
    }

    fn read_before_transmit(
        &self,
        context: &aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _: &aws_sdk_s3::config::RuntimeComponents,
        _: &mut aws_sdk_s3::config::ConfigBag,
    ) -> Result<(), aws_sdk_s3::error::BoxError> {
        let request = context.request();
        let uri = request.uri();
        let path = uri
            .find("://")
            .and_then(|i| uri[i + 3..].find('/').map(|j| &uri[i + 3 + j..]));
        if let Ok(mut l) = self.0.lock() {
            l.push(format!("{} {}", request.method(), path.unwrap_or(uri)));
        }
        Ok(())
    }
}

/// A test set-up for models with file fields: a client whose declared buckets are mapped to
/// fresh buckets of this test, a raw S3 client to inspect them, and the log of the requests
/// dynox sent to S3.
pub struct FileEnv {
    /// The dynox client (unique table prefix, unique buckets).
    pub client: Client,
    /// A second dynox client on the same tables and buckets, with no faults and its own
    /// memory of stored items: "another writer", for stale-memory cases.
    pub other: Client,
    /// A plain S3 client for checking what is stored.
    pub s3: aws_sdk_s3::Client,
    /// Declared bucket → the bucket this test uses.
    pub buckets: std::collections::HashMap<String, String>,
    /// The requests dynox's S3 client sent.
    pub log: RequestLog,
    /// The backend.
    pub backend: Backend,
}

impl FileEnv {
    /// The actual bucket of a declared one.
    pub fn bucket(&self, declared: &str) -> &str {
        &self.buckets[declared]
    }

    /// The keys of every object in the bucket that stands for `declared`.
    pub async fn keys(&self, declared: &str) -> Vec<String> {
        let mut pages = self
            .s3
            .list_objects_v2()
            .bucket(self.bucket(declared))
            .into_paginator()
            .send();
        let mut keys = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.expect("list the test bucket");
            keys.extend(
                page.contents
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|o| o.key),
            );
        }
        keys.sort();
        keys
    }
}

/// A [`FileEnv`] with model `M`'s table and a fresh bucket for each of `declared`.
pub async fn file_env<M: dynox_core::TableModels>(
    declared: &[&str],
    settings: dynox_s3::S3Settings,
) -> FileEnv {
    build_file_env::<M>(
        declared,
        settings,
        None,
        false,
        dynox_core::REMEMBERED_ITEMS,
    )
    .await
}

/// A [`FileEnv`] whose DynamoDB and S3 clients carry a fault injector of their own (returned
/// with it, started on the test's runtime) and make a single attempt per request, so every
/// injected fault reaches dynox.
pub async fn faulty_file_env<M: dynox_core::TableModels>(
    declared: &[&str],
    settings: dynox_s3::S3Settings,
) -> (FileEnv, Faults) {
    let faults = start_faults().await;
    let env = build_file_env::<M>(
        declared,
        settings,
        Some(faults.clone()),
        false,
        dynox_core::REMEMBERED_ITEMS,
    )
    .await;
    (env, faults)
}

/// [`faulty_file_env`] whose client remembers at most `items` stored items
/// (`ClientBuilder::remembered_items`).
pub async fn faulty_file_env_remembering<M: dynox_core::TableModels>(
    declared: &[&str],
    settings: dynox_s3::S3Settings,
    items: usize,
) -> (FileEnv, Faults) {
    let faults = start_faults().await;
    let env = build_file_env::<M>(declared, settings, Some(faults.clone()), false, items).await;
    (env, faults)
}

/// [`faulty_file_env`] whose clients keep the SDK's default retry settings, as users run
/// them: for faults the SDK's own retry answers (`FaultKind::LostResponseRetried`).
pub async fn faulty_file_env_retrying<M: dynox_core::TableModels>(
    declared: &[&str],
    settings: dynox_s3::S3Settings,
) -> (FileEnv, Faults) {
    let faults = start_faults().await;
    let env = build_file_env::<M>(
        declared,
        settings,
        Some(faults.clone()),
        true,
        dynox_core::REMEMBERED_ITEMS,
    )
    .await;
    (env, faults)
}

async fn start_faults() -> Faults {
    match Faults::start().await {
        Ok(faults) => faults,
        Err(e) => panic!("cannot start the fault injector: {e}"),
    }
}

async fn build_file_env<M: dynox_core::TableModels>(
    declared: &[&str],
    settings: dynox_s3::S3Settings,
    faults: Option<Faults>,
    retries: bool,
    remembered: usize,
) -> FileEnv {
    let backend = backend().await;
    let config = backend.sdk_config();
    let s3 = backend.s3_client();
    let log = RequestLog::default();
    let mut s3_config = backend.s3_config().interceptor(log.clone());
    let mut dynamodb_config = aws_sdk_dynamodb::config::Builder::from(config);
    if let Some(faults) = &faults {
        s3_config = s3_config.interceptor(faults.clone());
        dynamodb_config = dynamodb_config.interceptor(faults.clone());
        if retries {
            s3_config = s3_config.retry_config(aws_sdk_s3::config::retry::RetryConfig::standard());
            dynamodb_config = dynamodb_config
                .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::standard());
        } else {
            s3_config = s3_config.retry_config(aws_sdk_s3::config::retry::RetryConfig::disabled());
            dynamodb_config = dynamodb_config
                .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled());
        }
    }
    let logged = aws_sdk_s3::Client::from_conf(s3_config.build());
    let mut other_settings = settings.clone().s3_client(backend.s3_client());
    let mut settings = settings.s3_client(logged);
    let mut buckets = std::collections::HashMap::new();
    for name in declared {
        let actual = unique_prefix().trim_end_matches('-').to_lowercase() + "-bkt";
        s3.create_bucket()
            .bucket(&actual)
            .send()
            .await
            .expect("create the test bucket");
        settings = settings.bucket(*name, actual.clone());
        other_settings = other_settings.bucket(*name, actual.clone());
        buckets.insert((*name).to_owned(), actual);
    }
    let prefix = unique_prefix();
    let other = Client::builder(config)
        .table_prefix(prefix.clone())
        .s3(other_settings)
        .build();
    let client = Client::builder(config)
        .table_prefix(prefix)
        .remembered_items(remembered)
        .s3(settings)
        .dynamodb_client(aws_sdk_dynamodb::Client::from_conf(dynamodb_config.build()))
        .build();
    client
        .create_table::<M>()
        .await
        .expect("create the test table");
    FileEnv {
        client,
        other,
        s3,
        buckets,
        log,
        backend,
    }
}

/// The stored object a saved file field refers to; panics if the field is empty or the file
/// is still pending.
pub fn stored(object: &Option<S3Object>) -> &StoredObject {
    object
        .as_ref()
        .and_then(S3Object::stored)
        .expect("a stored object")
}

/// An object as S3 has it, read with a plain S3 client (no dynox, no checks).
#[derive(Debug, Clone)]
pub struct RawObject {
    /// The stored bytes (compressed ones as stored).
    pub bytes: bytes::Bytes,
    /// The `Content-Type` S3 answers with.
    pub content_type: Option<String>,
    /// The object's user metadata (`x-amz-meta-*`).
    pub metadata: std::collections::HashMap<String, String>,
}

/// The base64 CRC-64/NVME of `data`, as S3 writes it (and dynox records it).
pub fn crc64(data: &[u8]) -> String {
    use base64::Engine;
    let crc = crc_fast::checksum(crc_fast::CrcAlgorithm::Crc64Nvme, data);
    base64::engine::general_purpose::STANDARD.encode(crc.to_be_bytes())
}

/// The full-object CRC-64/NVME the server keeps of `object`, if it keeps one (a HEAD with
/// checksum mode); panics, naming the object, if the HEAD fails.
pub async fn server_crc64(s3: &aws_sdk_s3::Client, object: &StoredObject) -> Option<String> {
    let (bucket, key) = (&object.bucket, &object.key);
    match s3
        .head_object()
        .bucket(bucket)
        .key(key)
        .checksum_mode(aws_sdk_s3::types::ChecksumMode::Enabled)
        .send()
        .await
    {
        Ok(head) => head.checksum_crc64_nvme,
        Err(e) => panic!("HEAD s3://{bucket}/{key}: {e:?}"),
    }
}

/// Reads object `key` of `bucket` with the plain client `s3` (a [`FileEnv`]'s `s3`); panics,
/// naming the object, if it cannot.
pub async fn read_object(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> RawObject {
    let object = match s3.get_object().bucket(bucket).key(key).send().await {
        Ok(object) => object,
        Err(e) => panic!("GET s3://{bucket}/{key}: {e:?}"),
    };
    let content_type = object.content_type.clone();
    let metadata = object.metadata.clone().unwrap_or_default();
    let bytes = match object.body.collect().await {
        Ok(body) => body.into_bytes(),
        Err(e) => panic!("read the body of s3://{bucket}/{key}: {e:?}"),
    };
    RawObject {
        bytes,
        content_type,
        metadata,
    }
}

/// The item with `key` as stored, read consistently with the raw SDK (bypassing dynox's
/// decoding), or `None`; panics, naming the table, if the read fails.
pub async fn raw_item<M: Model>(
    client: &Client,
    key: dynox_core::Key<M>,
) -> Option<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
    let table = client.table_name::<M>();
    let key = key.to_item().expect("a key that converts");
    match client
        .dynamodb()
        .get_item()
        .table_name(&table)
        .set_key(Some(key))
        .consistent_read(true)
        .send()
        .await
    {
        Ok(read) => read.item,
        Err(e) => panic!("GetItem on `{table}`: {e:?}"),
    }
}

/// Records that a test could not check something on this backend, and why. The notes are
/// printed by `scripts/test` after the run (it sets `DYNOX_NOTES_FILE`; here too, for
/// `--nocapture`), so a capability a
/// server lacks is never passed silently; the other backend covers it.
pub fn capability_note(backend: &Backend, test: &str, reason: &str) {
    use std::io::Write;
    let line = format!("NOTE [{}] {test}: {reason}", backend.name());
    println!("{line}");
    let Ok(path) = std::env::var("DYNOX_NOTES_FILE") else {
        return;
    };
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = writeln!(file, "{line}");
    }
}
