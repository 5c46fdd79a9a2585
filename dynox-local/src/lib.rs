//! Real DynamoDB- and S3-compatible servers for tests and examples, with no install and no network.
//!
//! Part of [dynox](https://docs.rs/dynox): depend on the `dynox` crate with its `testing`
//! feature, which re-exports this crate as `dynox::testing`.
//!
//! [`LocalServers::start`] starts, on `127.0.0.1` ephemeral ports of the current process,
//! [dynoxide](https://crates.io/crates/dynoxide-rs) (a DynamoDB emulator on an in-memory SQLite
//! database) and [s3s-fs](https://crates.io/crates/s3s-fs) (S3 over a temporary folder, which
//! verifies request signatures and checksums). [`LocalServers::sdk_config`] returns one
//! [`SdkConfig`] that points DynamoDB clients at the first and S3 clients at the second, so
//! code under test builds its clients exactly as it would in production.
//!
//! [`Backend::from_env`] is the switch the dynox test suite and examples use. It follows the
//! AWS SDKs' own standard for endpoints: `AWS_ENDPOINT_URL` points both services at another
//! server (moto, LocalStack), `AWS_ENDPOINT_URL_DYNAMODB` and `AWS_ENDPOINT_URL_S3` one service
//! each (AWS's DynamoDB Local with the embedded s3s-fs, say). A service without an endpoint
//! runs on the embedded server, unless `DYNOX_SERVERS=aws` asks for the standard AWS
//! configuration chain instead.
//!
//! ```no_run
//! # async fn demo() -> Result<(), dynox_local::LocalError> {
//! let servers = dynox_local::LocalServers::start().await?;
//! let dynamodb = aws_sdk_dynamodb::Client::new(servers.sdk_config());
//! let tables = dynamodb.list_tables().send().await;
//! assert!(tables.is_ok());
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::OnceLock;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use aws_types::service_config::{LoadServiceConfig, ServiceConfigKey};
use tokio::net::TcpListener;

pub mod faults;
mod s3_server;

/// Access key id that the embedded S3 server accepts (it verifies every signature).
pub const ACCESS_KEY_ID: &str = "dynoxlocal";
/// Secret access key that the embedded S3 server accepts.
pub const SECRET_ACCESS_KEY: &str = "dynoxlocal-secret";
/// Region used for local servers.
pub const REGION: &str = "us-east-1";

/// Environment variable choosing what serves a service that has no endpoint URL
/// (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ENDPOINT_URL_S3`, the SDKs' own
/// standard) in [`Backend::from_env`]:
///
/// - unset or `embedded`: the embedded servers of this crate;
/// - `aws`: the standard AWS configuration chain (credentials, region, endpoints).
pub const SERVERS_VAR: &str = "DYNOX_SERVERS";

/// The SDKs' variable pointing every service at one endpoint.
pub const ENDPOINT_URL_VAR: &str = "AWS_ENDPOINT_URL";

/// The SDKs' variable pointing DynamoDB (and DynamoDB Streams) at an endpoint.
pub const DYNAMODB_ENDPOINT_URL_VAR: &str = "AWS_ENDPOINT_URL_DYNAMODB";

/// The SDKs' variable pointing S3 at an endpoint.
pub const S3_ENDPOINT_URL_VAR: &str = "AWS_ENDPOINT_URL_S3";

/// dynox's former variables, refused with the one that replaces each.
const RETIRED_VARS: [(&str, &str); 3] = [
    ("DYNOX_ENDPOINT", "AWS_ENDPOINT_URL (or DYNOX_SERVERS=aws)"),
    ("DYNOX_DYNAMODB_ENDPOINT", "AWS_ENDPOINT_URL_DYNAMODB"),
    ("DYNOX_S3_ENDPOINT", "AWS_ENDPOINT_URL_S3"),
];

/// Why the local servers could not be started.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LocalError {
    /// Binding a loopback port or creating the temporary folder failed.
    #[error("could not start the local {server} server")]
    Io {
        /// `dynamodb` or `s3`.
        server: &'static str,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The server itself refused to start.
    #[error("could not start the local {server} server: {message}")]
    Server {
        /// `dynamodb` or `s3`.
        server: &'static str,
        /// What the server said.
        message: String,
    },
    /// The environment asks for a combination of servers that cannot work.
    #[error("invalid server selection in the environment: {reason}")]
    Environment {
        /// What is wrong, naming the variables.
        reason: String,
    },
}

/// The start of the name of an S3 server's folder in the system's temporary directory,
/// followed by the owning process's id and `-`.
const S3_ROOT_PREFIX: &str = "dynox-s3-";

/// Removes the S3 folders of processes that have ended. The servers of [`shared`] live in a
/// static, which is never dropped, so their folder outlives the test binary that made it;
/// without this, every test run would leave one behind (hundreds of megabytes each). Only on
/// Linux, where `/proc` tells which processes run.
fn remove_stale_s3_roots() {
    if !cfg!(target_os = "linux") {
        return;
    }
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(S3_ROOT_PREFIX))
            .and_then(|rest| rest.split_once('-'))
            .and_then(|(pid, _)| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// The two embedded servers, running until this value is dropped.
///
/// Dropping it stops accepting connections and removes the S3 folder.
pub struct LocalServers {
    dynamodb_addr: SocketAddr,
    /// The DynamoDB server's database, for its time-to-live sweep.
    db: dynoxide::Database,
    /// The DynamoDB server's clock: the system's, shifted during a sweep "as of" a time.
    clock: OffsetClock,
    s3_addr: SocketAddr,
    sdk_config: SdkConfig,
    s3_root: tempfile::TempDir,
    _shutdown: tokio::sync::watch::Sender<()>,
}

impl std::fmt::Debug for LocalServers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalServers")
            .field("dynamodb", &self.dynamodb_endpoint())
            .field("s3", &self.s3_endpoint())
            .field("s3_root", &self.s3_root.path())
            .finish()
    }
}

impl LocalServers {
    /// Starts both servers on the current tokio runtime, on `127.0.0.1` ephemeral ports.
    ///
    /// The servers run as tasks of the current runtime: use [`shared`] instead from
    /// `#[tokio::test]` functions, whose runtimes end with each test.
    pub async fn start() -> Result<Self, LocalError> {
        let (shutdown, watch) = tokio::sync::watch::channel(());

        let dynamodb_listener = bind("dynamodb").await?;
        let dynamodb_addr = local_addr(&dynamodb_listener, "dynamodb")?;
        let clock = OffsetClock::default();
        let db = dynoxide::Database::memory_with_clock(std::sync::Arc::new(clock.clone()))
            .map_err(|e| LocalError::Server {
                server: "dynamodb",
                message: e.to_string(),
            })?;
        let server_db = db.clone();
        let mut stop = watch.clone();
        tokio::spawn(async move {
            let signal = async move {
                let _ = stop.changed().await;
            };
            if let Err(message) =
                dynoxide::server::serve_with_shutdown(dynamodb_listener, server_db, signal).await
            {
                tracing::error!(%message, "embedded DynamoDB server stopped");
            }
        });

        remove_stale_s3_roots();
        let s3_root = tempfile::Builder::new()
            .prefix(&format!("{S3_ROOT_PREFIX}{}-", std::process::id()))
            .tempdir()
            .map_err(|source| LocalError::Io {
                server: "s3",
                source,
            })?;
        let s3_listener = bind("s3").await?;
        let s3_addr = local_addr(&s3_listener, "s3")?;
        s3_server::spawn(s3_listener, s3_root.path(), watch)?;

        let sdk_config = endpoint_config(
            &format!("http://{dynamodb_addr}"),
            &format!("http://{s3_addr}"),
            static_credentials(),
        );
        Ok(Self {
            dynamodb_addr,
            db,
            clock,
            s3_addr,
            sdk_config,
            s3_root,
            _shutdown: shutdown,
        })
    }

    /// Runs DynamoDB's time-to-live sweep as if the time were `when`: every item whose TTL
    /// attribute is before `when` is deleted, and its table's stream records the removal as
    /// DynamoDB's own (user identity `Service` / `dynamodb.amazonaws.com`). Returns how many
    /// items expired. The server's clock is the system's again afterwards.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let servers = dynox_local::LocalServers::start().await?;
    /// let in_two_days = std::time::SystemTime::now() + std::time::Duration::from_secs(2 * 86_400);
    /// assert_eq!(servers.expire_ttl_as_of(in_two_days)?, 0); // no table has TTL items yet
    /// # Ok(()) }
    /// ```
    pub fn expire_ttl_as_of(&self, when: std::time::SystemTime) -> Result<usize, LocalError> {
        let offset = match when.duration_since(std::time::SystemTime::now()) {
            Ok(ahead) => i64::try_from(ahead.as_secs()).unwrap_or(i64::MAX),
            Err(behind) => -i64::try_from(behind.duration().as_secs()).unwrap_or(i64::MAX),
        };
        self.clock.set_offset(offset);
        let swept = self.db.sweep_ttl();
        self.clock.set_offset(0);
        swept.map_err(|e| LocalError::Server {
            server: "dynamodb",
            message: format!("time-to-live sweep: {e}"),
        })
    }

    /// One [`SdkConfig`] for both servers: DynamoDB clients built from it reach the DynamoDB
    /// server and S3 clients the S3 server. S3 clients must use path-style addressing.
    pub fn sdk_config(&self) -> &SdkConfig {
        &self.sdk_config
    }

    /// `http://127.0.0.1:PORT` of the DynamoDB server.
    pub fn dynamodb_endpoint(&self) -> String {
        format!("http://{}", self.dynamodb_addr)
    }

    /// `http://127.0.0.1:PORT` of the S3 server.
    pub fn s3_endpoint(&self) -> String {
        format!("http://{}", self.s3_addr)
    }

    /// The folder the S3 server keeps its buckets in (one sub-folder per bucket).
    pub fn s3_root(&self) -> &Path {
        self.s3_root.path()
    }
}

/// Process-wide embedded servers, started on first use on a runtime of their own.
///
/// Each `#[tokio::test]` runs on its own runtime, which stops the tasks it spawned when the
/// test ends; these servers live on a dedicated thread instead, so every test of a binary can
/// share them.
pub fn shared() -> Result<&'static LocalServers, LocalError> {
    static SHARED: OnceLock<Result<LocalServers, String>> = OnceLock::new();
    let started = SHARED.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("dynox-local".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = tx.send(Err(e.to_string()));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let started = LocalServers::start().await.map_err(|e| e.to_string());
                    let ok = started.is_ok();
                    let _ = tx.send(started);
                    if ok {
                        std::future::pending::<()>().await;
                    }
                });
            });
        match spawned {
            Ok(_) => rx
                .recv()
                .unwrap_or_else(|_| Err("the server thread ended".into())),
            Err(e) => Err(e.to_string()),
        }
    });
    started.as_ref().map_err(|message| LocalError::Server {
        server: "embedded",
        message: message.clone(),
    })
}

/// The embedded DynamoDB server's clock: the system clock plus an offset in seconds (zero
/// except while [`LocalServers::expire_ttl_as_of`] sweeps).
#[derive(Debug, Clone, Default)]
struct OffsetClock(std::sync::Arc<std::sync::atomic::AtomicI64>);

impl OffsetClock {
    fn set_offset(&self, seconds: i64) {
        self.0.store(seconds, std::sync::atomic::Ordering::SeqCst);
    }

    fn now(&self) -> f64 {
        let system = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        system + self.0.load(std::sync::atomic::Ordering::SeqCst) as f64
    }
}

impl dynoxide::storage_backend::Clock for OffsetClock {
    fn now_unix_secs(&self) -> u64 {
        self.now().max(0.0) as u64
    }

    fn now_unix_secs_f64(&self) -> f64 {
        self.now().max(0.0)
    }
}

/// Which servers a [`Backend`] talks to.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BackendKind {
    /// The embedded dynoxide and s3s-fs servers of this crate.
    Embedded,
    /// One explicit endpoint for both services (moto, LocalStack, ...).
    Endpoint(String),
    /// The standard AWS configuration chain.
    Aws,
    /// A different server for each service ([`DYNAMODB_ENDPOINT_URL_VAR`], [`S3_ENDPOINT_URL_VAR`]):
    /// see [`Backend::dynamodb_server`] and [`Backend::s3_server`].
    Mixed,
}

/// The server of one service.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Server {
    /// This crate's embedded server (dynoxide or s3s-fs).
    Embedded,
    /// An explicit endpoint URL.
    Endpoint(String),
    /// AWS itself.
    Aws,
}

impl Server {
    /// `embedded`, `endpoint` or `aws`.
    pub fn name(&self) -> &'static str {
        match self {
            Server::Embedded => "embedded",
            Server::Endpoint(_) => "endpoint",
            Server::Aws => "aws",
        }
    }
}

/// The servers chosen by `servers` ([`SERVERS_VAR`]) and the endpoint URLs `all`
/// ([`ENDPOINT_URL_VAR`]), `dynamodb` ([`DYNAMODB_ENDPOINT_URL_VAR`]) and `s3`
/// ([`S3_ENDPOINT_URL_VAR`]): each service's own URL first, else the shared one, else the
/// embedded server (or AWS, with `DYNOX_SERVERS=aws`).
fn choose_servers(
    servers: Option<&str>,
    all: Option<&str>,
    dynamodb: Option<&str>,
    s3: Option<&str>,
) -> Result<(Server, Server), LocalError> {
    let fallback = match servers {
        None | Some("") | Some("embedded") => Server::Embedded,
        Some("aws") => Server::Aws,
        Some(other) => {
            return Err(LocalError::Environment {
                reason: format!(
                    "{SERVERS_VAR}={other}: expected `embedded` or `aws` (point a service at another server with {ENDPOINT_URL_VAR}, {DYNAMODB_ENDPOINT_URL_VAR} or {S3_ENDPOINT_URL_VAR})"
                ),
            })
        }
    };
    let chosen = |url: Option<&str>| match url.or(all).filter(|u| !u.is_empty()) {
        Some(url) => Server::Endpoint(url.to_owned()),
        None => fallback.clone(),
    };
    Ok((chosen(dynamodb), chosen(s3)))
}

/// An [`SdkConfig`] chosen by the environment (see [`ENDPOINT_URL_VAR`],
/// [`DYNAMODB_ENDPOINT_URL_VAR`], [`S3_ENDPOINT_URL_VAR`] and [`SERVERS_VAR`]), plus what the
/// servers behind it can do.
#[derive(Debug, Clone)]
pub struct Backend {
    dynamodb: Server,
    s3: Server,
    sdk_config: SdkConfig,
}

impl Backend {
    /// Reads [`ENDPOINT_URL_VAR`], [`DYNAMODB_ENDPOINT_URL_VAR`], [`S3_ENDPOINT_URL_VAR`] and
    /// [`SERVERS_VAR`] and builds the matching configuration, starting the shared embedded
    /// servers when one is needed. A variable dynox used before is refused, naming its
    /// replacement.
    pub async fn from_env() -> Result<Self, LocalError> {
        let var = |name: &str| std::env::var(name).ok();
        if let Some((old, new)) = RETIRED_VARS.iter().find(|(old, _)| var(old).is_some()) {
            return Err(LocalError::Environment {
                reason: format!("{old} is no longer read: set {new} instead"),
            });
        }
        let (servers, all, dynamodb, s3) = (
            var(SERVERS_VAR),
            var(ENDPOINT_URL_VAR),
            var(DYNAMODB_ENDPOINT_URL_VAR),
            var(S3_ENDPOINT_URL_VAR),
        );
        let (dynamodb, s3) = choose_servers(
            servers.as_deref(),
            all.as_deref(),
            dynamodb.as_deref(),
            s3.as_deref(),
        )?;
        let sdk_config = match (&dynamodb, &s3) {
            (Server::Embedded, Server::Embedded) => shared()?.sdk_config().clone(),
            // The standard chain reads the endpoint variables itself.
            (Server::Aws, _) | (_, Server::Aws) => {
                aws_config::load_defaults(BehaviorVersion::latest()).await
            }
            _ => {
                let url = |server: &Server, embedded: fn(&LocalServers) -> String| match server {
                    Server::Endpoint(url) => Ok(url.clone()),
                    _ => shared().map(embedded),
                };
                let dynamodb_url = url(&dynamodb, LocalServers::dynamodb_endpoint)?;
                let s3_url = url(&s3, LocalServers::s3_endpoint)?;
                // The embedded s3s-fs checks signatures against its own credentials; other
                // endpoints take the environment's, or the same local ones.
                let env_creds = std::env::var("AWS_ACCESS_KEY_ID")
                    .ok()
                    .zip(std::env::var("AWS_SECRET_ACCESS_KEY").ok());
                let creds = match env_creds {
                    Some((id, secret)) if s3 != Server::Embedded => {
                        Credentials::new(id, secret, None, None, "environment")
                    }
                    _ => static_credentials(),
                };
                endpoint_config(&dynamodb_url, &s3_url, creds)
            }
        };
        Ok(Self {
            dynamodb,
            s3,
            sdk_config,
        })
    }

    /// [`LocalServers::expire_ttl_as_of`] when DynamoDB is the embedded server; `None`
    /// otherwise (moto, LocalStack and DynamoDB Local do not expire items on demand; AWS does,
    /// within about two days).
    pub fn expire_ttl_as_of(
        &self,
        when: std::time::SystemTime,
    ) -> Option<Result<usize, LocalError>> {
        match self.dynamodb {
            Server::Embedded => Some(shared().and_then(|s| s.expire_ttl_as_of(when))),
            _ => None,
        }
    }

    /// Which servers this is.
    pub fn kind(&self) -> BackendKind {
        match (&self.dynamodb, &self.s3) {
            (Server::Embedded, Server::Embedded) => BackendKind::Embedded,
            (Server::Aws, Server::Aws) => BackendKind::Aws,
            (Server::Endpoint(a), Server::Endpoint(b)) if a == b => {
                BackendKind::Endpoint(a.clone())
            }
            _ => BackendKind::Mixed,
        }
    }

    /// The DynamoDB server.
    pub fn dynamodb_server(&self) -> &Server {
        &self.dynamodb
    }

    /// The S3 server: what S3 capabilities depend on.
    pub fn s3_server(&self) -> &Server {
        &self.s3
    }

    /// A short name for logs and test output: `embedded`, `endpoint`, `aws`, or for mixed
    /// servers `dynamodb=…,s3=…`.
    pub fn name(&self) -> String {
        match self.kind() {
            BackendKind::Mixed => {
                format!("dynamodb={},s3={}", self.dynamodb.name(), self.s3.name())
            }
            _ => self.dynamodb.name().to_owned(),
        }
    }

    /// Whether S3 clients should use path-style addressing (every explicit endpoint).
    pub fn s3_path_style(&self) -> bool {
        self.s3 != Server::Aws
    }

    /// The configuration to build DynamoDB and S3 clients from.
    pub fn sdk_config(&self) -> &SdkConfig {
        &self.sdk_config
    }

    /// An S3 client configuration for this backend (path-style requests off AWS), to add
    /// interceptors or retry settings to before building a client.
    pub fn s3_config(&self) -> aws_sdk_s3::config::Builder {
        aws_sdk_s3::config::Builder::from(&self.sdk_config).force_path_style(self.s3_path_style())
    }

    /// A plain S3 client for this backend, for set-up and for checking what is stored.
    pub fn s3_client(&self) -> aws_sdk_s3::Client {
        aws_sdk_s3::Client::from_conf(self.s3_config().build())
    }
}

/// An S3 client for a local S3 server that `config` points at (path-style requests, which
/// local servers need).
pub fn local_s3_client(config: &SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(config)
            .force_path_style(true)
            .build(),
    )
}

/// Memory of this process as Linux reports it (`/proc/self/status`), for examples and
/// benchmarks that show what a transfer costs. Zero where it cannot be read.
pub mod memory {
    /// The process's resident memory now, in MiB.
    pub fn rss_mib() -> f64 {
        status_mib("VmRSS")
    }

    /// The process's peak resident memory, in MiB (since start or the last
    /// [`reset_peak_rss`]).
    pub fn peak_rss_mib() -> f64 {
        status_mib("VmHWM")
    }

    /// Resets the peak resident memory to the current one (Linux `clear_refs`); returns
    /// whether the kernel allowed it.
    pub fn reset_peak_rss() -> bool {
        std::fs::write("/proc/self/clear_refs", "5").is_ok()
    }

    fn status_mib(field: &str) -> f64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    }
}

fn static_credentials() -> Credentials {
    Credentials::new(ACCESS_KEY_ID, SECRET_ACCESS_KEY, None, None, "dynox-local")
}

/// Service-specific endpoints inside one `SdkConfig`, the way `AWS_ENDPOINT_URL_DYNAMODB` and
/// `AWS_ENDPOINT_URL_S3` would set them.
#[derive(Debug)]
struct ServiceEndpoints {
    dynamodb: String,
    s3: String,
}

impl LoadServiceConfig for ServiceEndpoints {
    fn load_config(&self, key: ServiceConfigKey<'_>) -> Option<String> {
        if key.profile() != "endpoint_url" {
            return None;
        }
        match key.service_id() {
            // The Streams API is served by the DynamoDB server (dynoxide, moto).
            "DynamoDB" | "DynamoDB Streams" => Some(self.dynamodb.clone()),
            "S3" => Some(self.s3.clone()),
            _ => None,
        }
    }
}

fn endpoint_config(dynamodb: &str, s3: &str, credentials: Credentials) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .credentials_provider(aws_sdk_dynamodb::config::SharedCredentialsProvider::new(
            credentials,
        ))
        .service_config(ServiceEndpoints {
            dynamodb: dynamodb.to_owned(),
            s3: s3.to_owned(),
        })
        .build()
}

async fn bind(server: &'static str) -> Result<TcpListener, LocalError> {
    TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(|source| LocalError::Io { server, source })
}

fn local_addr(listener: &TcpListener, server: &'static str) -> Result<SocketAddr, LocalError> {
    listener
        .local_addr()
        .map_err(|source| LocalError::Io { server, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_service_takes_its_own_url_then_the_shared_one_then_the_fallback() {
        let url = |u: &str| Server::Endpoint(u.to_owned());
        let (e, a) = (Server::Embedded, Server::Aws);
        let cases = [
            ((None, None, None, None), (e.clone(), e.clone())),
            ((Some("embedded"), None, None, None), (e.clone(), e.clone())),
            ((Some("aws"), None, None, None), (a.clone(), a.clone())),
            (
                (None, Some("http://m"), None, None),
                (url("http://m"), url("http://m")),
            ),
            (
                (None, None, Some("http://d"), None),
                (url("http://d"), e.clone()),
            ),
            (
                (None, None, None, Some("http://s")),
                (e.clone(), url("http://s")),
            ),
            (
                (None, Some("http://m"), Some("http://d"), None),
                (url("http://d"), url("http://m")),
            ),
            (
                (Some("aws"), None, None, Some("http://s")),
                (a.clone(), url("http://s")),
            ),
        ];
        for ((servers, all, dynamodb, s3), expected) in cases {
            let chosen = choose_servers(servers, all, dynamodb, s3).expect("a valid selection");
            assert_eq!(chosen, expected, "{servers:?} {all:?} {dynamodb:?} {s3:?}");
        }
    }

    #[test]
    fn an_unknown_servers_value_is_refused_naming_the_endpoint_variables() {
        let err = choose_servers(Some("http://127.0.0.1:5000"), None, None, None).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(SERVERS_VAR) && text.contains(ENDPOINT_URL_VAR),
            "{text}"
        );
    }
}
