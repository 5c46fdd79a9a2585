//! Testing your app without AWS: real DynamoDB and S3 servers on 127.0.0.1 (embedded in the
//! test process by default), a [`TestEnv`] per test with its own tables and buckets, a record
//! of the requests your code made, and a fault injector.
//!
//! ```
//! use dynox::testing::{FaultKind, TestEnv};
//! use dynox::{DynamoModel, S3Object};
//!
//! #[derive(Debug, DynamoModel)]
//! #[dynamo(table = "invoices")]
//! struct Invoice {
//!     #[dynamo(hash_key)]
//!     id: String,
//!     #[s3(bucket = "invoices", prefix = "pdf/")]
//!     pdf: S3Object,
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // The model's table and buckets, created for this test alone; no SDK retries, so that an
//! // injected fault reaches the code under test.
//! let env = TestEnv::builder().model::<Invoice>().retries(false).start().await?;
//! let client = env.client();
//!
//! let mut invoice = Invoice { id: "inv-1".into(), pdf: S3Object::from_bytes("%PDF-1.7", "inv-1.pdf") };
//! client.save(&mut invoice).await?;
//!
//! // A read fetches metadata only: no S3 request until the bytes are asked for.
//! env.forget_requests();
//! let loaded = Invoice::get(client, "inv-1").await?.expect("saved");
//! assert_eq!(env.requests().s3().count(), 0);
//! assert_eq!(loaded.pdf.get_bytes(client).await?, "%PDF-1.7");
//! assert_eq!(env.requests().count("S3", "GetObject"), 1);
//!
//! // A failing S3 write: the save fails and nothing is written.
//! env.faults().fail_nth(1, Some("PutObject"), FaultKind::ServerError);
//! let mut second = Invoice { id: "inv-2".into(), pdf: S3Object::from_bytes("%PDF", "inv-2.pdf") };
//! assert!(client.save(&mut second).await.is_err());
//! assert!(Invoice::get(client, "inv-2").await?.is_none());
//! # Ok(()) }
//! ```
//!
//! Which servers: the embedded ones unless the AWS SDKs' endpoint variables say otherwise
//! (`AWS_ENDPOINT_URL` for moto or LocalStack, `AWS_ENDPOINT_URL_DYNAMODB`,
//! `AWS_ENDPOINT_URL_S3`), or `DYNOX_SERVERS=aws` for AWS itself ([`Backend::from_env`]).
//! Every environment has a table prefix and bucket names of its own, so tests run in parallel
//! on one server without seeing each other.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

pub use dynox_local::faults::{FaultKind, Faults};
pub use dynox_local::*;

use dynox_core::spi::FileStore;
use dynox_core::{Client, Model};
use dynox_s3::S3Settings;

/// A model's table creation, for [`TestEnv`]'s start (its future `Send`, like the start's).
type CreateTable = Box<dyn for<'a> FnOnce(&'a Client) -> BoxFuture<'a> + Send>;
type BoxFuture<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = dynox_core::Result<()>> + Send + 'a>>;

/// What a [`TestEnv`] is made of: [`TestEnv::builder`].
#[must_use = "a test environment starts when `start` is awaited"]
pub struct TestEnvBuilder {
    tables: Vec<CreateTable>,
    buckets: Vec<&'static str>,
    settings: S3Settings,
    retries: bool,
}

/// One test's own tables, buckets and [`Client`] on the servers the environment chooses,
/// with every request recorded ([`requests`](Self::requests)) and a fault injector
/// ([`faults`](Self::faults)). See the [module docs](self) for an example.
pub struct TestEnv {
    client: Client,
    backend: Backend,
    faults: Faults,
    s3: aws_sdk_s3::Client,
    buckets: HashMap<String, String>,
}

/// Why a [`TestEnv`] could not start.
#[derive(Debug)]
#[non_exhaustive]
pub enum TestError {
    /// The servers could not be started or chosen (a port, the temporary folder, an
    /// environment variable).
    Servers(LocalError),
    /// A model's table could not be created.
    Table(dynox_core::Error),
    /// A bucket could not be created.
    Bucket {
        /// The bucket's name on the server.
        bucket: String,
        /// The S3 error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl fmt::Display for TestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TestError::Servers(_) => write!(f, "the test servers could not start"),
            TestError::Table(_) => write!(f, "a test table could not be created"),
            TestError::Bucket { bucket, .. } => {
                write!(f, "the test bucket `{bucket}` could not be created")
            }
        }
    }
}

impl std::error::Error for TestError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TestError::Servers(e) => Some(e),
            TestError::Table(e) => Some(e),
            TestError::Bucket { source, .. } => Some(source.as_ref()),
        }
    }
}

impl TestEnv {
    /// Describes a test environment: add the models whose tables and buckets it needs.
    pub fn builder() -> TestEnvBuilder {
        TestEnvBuilder {
            tables: Vec::new(),
            buckets: Vec::new(),
            settings: S3Settings::default(),
            retries: true,
        }
    }

    /// The client your code under test uses: this environment's table prefix and buckets,
    /// its requests recorded and open to injected faults.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The bucket on the server that stands for the bucket `declared` in `#[s3(bucket =
    /// "...")]` (each environment has its own).
    ///
    /// # Panics
    ///
    /// If no model given to the builder declares that bucket.
    pub fn bucket(&self, declared: &str) -> &str {
        match self.buckets.get(declared) {
            Some(bucket) => bucket,
            None => panic!(
                "no model of this test environment declares bucket `{declared}` (it has: {:?})",
                self.buckets.keys().collect::<Vec<_>>()
            ),
        }
    }

    /// The keys of every object in the bucket that stands for `declared`, sorted.
    pub async fn objects(&self, declared: &str) -> Result<Vec<String>, TestError> {
        let bucket = self.bucket(declared).to_owned();
        let mut keys = Vec::new();
        let mut pages = self
            .s3
            .list_objects_v2()
            .bucket(&bucket)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| TestError::Bucket {
                bucket: bucket.clone(),
                source: Box::new(e),
            })?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_owned)),
            );
        }
        keys.sort();
        Ok(keys)
    }

    /// The requests the client sent since the start (or the last
    /// [`forget_requests`](Self::forget_requests)), in order.
    pub fn requests(&self) -> Requests {
        Requests(self.faults.requests())
    }

    /// Forgets the requests recorded so far (and disarms a fault that has not fired).
    pub fn forget_requests(&self) {
        self.faults.reset();
    }

    /// The fault injector on the client's DynamoDB and S3 requests: arm it with
    /// [`Faults::fail_nth`] or [`Faults::fail_every`].
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// A plain S3 client on the same server, for setting up or checking what is stored.
    pub fn s3(&self) -> &aws_sdk_s3::Client {
        &self.s3
    }

    /// The servers in use.
    pub fn backend(&self) -> &Backend {
        &self.backend
    }
}

impl TestEnvBuilder {
    /// Creates model `M`'s table, and a bucket for each bucket its `#[s3]` fields declare.
    pub fn model<M: Model>(mut self) -> Self {
        self.tables.push(Box::new(|client: &Client| {
            Box::pin(async move { client.create_table::<M>().if_not_exists().await })
        }));
        for bucket in <M::Files as FileStore<M>>::buckets() {
            if !self.buckets.contains(&bucket) {
                self.buckets.push(bucket);
            }
        }
        self
    }

    /// Your own S3 settings (part sizes, named clients, ...); the environment adds its
    /// buckets and its recording S3 client to them.
    pub fn s3_settings(mut self, settings: S3Settings) -> Self {
        self.settings = settings;
        self
    }

    /// Whether the client's SDK clients retry failed requests (yes by default, as in
    /// production). Turn it off so that every injected fault reaches your code.
    pub fn retries(mut self, retries: bool) -> Self {
        self.retries = retries;
        self
    }

    /// Chooses the servers ([`Backend::from_env`]), creates the buckets and tables, and
    /// builds the client.
    pub async fn start(self) -> Result<TestEnv, TestError> {
        let backend = Backend::from_env().await.map_err(TestError::Servers)?;
        let faults = Faults::start().await.map_err(TestError::Servers)?;
        let config = backend.sdk_config();
        let s3 = backend.s3_client();
        let name = unique_name();

        let mut s3_config = backend.s3_config().interceptor(faults.clone());
        let mut dynamodb_config =
            aws_sdk_dynamodb::config::Builder::from(config).interceptor(faults.clone());
        if !self.retries {
            use aws_sdk_dynamodb::config::retry::RetryConfig;
            s3_config = s3_config.retry_config(RetryConfig::disabled());
            dynamodb_config = dynamodb_config.retry_config(RetryConfig::disabled());
        }
        let mut settings = self
            .settings
            .s3_client(aws_sdk_s3::Client::from_conf(s3_config.build()));
        let mut buckets = HashMap::new();
        for declared in self.buckets {
            let actual = bucket_name(declared, &name);
            s3.create_bucket()
                .bucket(&actual)
                .send()
                .await
                .map_err(|e| TestError::Bucket {
                    bucket: actual.clone(),
                    source: Box::new(e),
                })?;
            settings = settings.bucket(declared, actual.clone());
            buckets.insert(declared.to_owned(), actual);
        }
        let client = Client::builder(config)
            .table_prefix(format!("{name}_"))
            .dynamodb_client(aws_sdk_dynamodb::Client::from_conf(dynamodb_config.build()))
            .s3(settings)
            .build();
        for create in self.tables {
            create(&client).await.map_err(TestError::Table)?;
        }
        faults.reset();
        Ok(TestEnv {
            client,
            backend,
            faults,
            s3,
            buckets,
        })
    }
}

/// The requests a [`TestEnv`]'s client sent, each as `Service.Operation`
/// (`DynamoDB.GetItem`, `S3.PutObject`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requests(Vec<String>);

impl Requests {
    /// Every request, in order.
    pub fn all(&self) -> &[String] {
        &self.0
    }

    /// The requests to `service` (`"DynamoDB"` or `"S3"`), by operation name.
    pub fn of<'a>(&'a self, service: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0.iter().filter_map(move |request| {
            request
                .split_once('.')
                .filter(|(s, _)| *s == service)
                .map(|(_, operation)| operation)
        })
    }

    /// The S3 requests, by operation name.
    pub fn s3(&self) -> impl Iterator<Item = &str> + '_ {
        self.of("S3")
    }

    /// The DynamoDB requests, by operation name.
    pub fn dynamodb(&self) -> impl Iterator<Item = &str> + '_ {
        self.of("DynamoDB")
    }

    /// How many requests of `operation` went to `service`.
    pub fn count(&self, service: &str, operation: &str) -> usize {
        self.of(service).filter(|o| *o == operation).count()
    }
}

/// A name no other environment of this or another test process uses: `t` + time + counter.
fn unique_name() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("t{:x}{n:x}", nanos % (1 << 48))
}

/// `declared` made unique for one environment, within S3's bucket name rules (3-63 lowercase
/// letters, digits, hyphens and dots).
fn bucket_name(declared: &str, unique: &str) -> String {
    let base: String = declared
        .chars()
        .map(|c| match c {
            'a'..='z' | '0'..='9' | '-' => c,
            'A'..='Z' => c.to_ascii_lowercase(),
            _ => '-',
        })
        .collect();
    let room = 63 - unique.len() - 1;
    let base = base.get(..room).unwrap_or(&base).trim_matches('-');
    format!("{base}-{unique}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names_follow_s3s_rules() {
        let unique = unique_name();
        for declared in ["invoices", "Company_Docs", &"x".repeat(80), "a.b"] {
            let name = bucket_name(declared, &unique);
            assert!((3..=63).contains(&name.len()), "{name}");
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{name}"
            );
            assert!(!name.starts_with('-'), "{name}");
        }
        assert_ne!(unique_name(), unique_name());
    }

    #[test]
    fn requests_split_by_service_and_operation() {
        let requests = Requests(vec![
            "DynamoDB.GetItem".into(),
            "S3.GetObject".into(),
            "S3.GetObject".into(),
        ]);
        assert_eq!(requests.count("S3", "GetObject"), 2);
        assert_eq!(requests.dynamodb().collect::<Vec<_>>(), ["GetItem"]);
        assert_eq!(requests.s3().count(), 2);
    }
}
