//! Fault injection on top of the real servers: an SDK interceptor that fails a chosen request.
//!
//! [`Faults`] is an interceptor for both the DynamoDB and the S3 SDK clients. Arm it with
//! [`Faults::fail_nth`] and the Nth request after that (optionally only among requests of one
//! operation) fails with a [`FaultKind`]:
//!
//! - faults the server never sees ([`FaultKind::ServerError`], [`FaultKind::Throttle`],
//!   [`FaultKind::ConditionFailed`], [`FaultKind::ConnectionReset`]): the request is diverted
//!   to a loopback server of this module that answers with the canned error in the service's
//!   own format (or drops the connection), so nothing is changed on the real server;
//! - [`FaultKind::LostResponse`]: the request reaches the real server and takes effect, then
//!   its response is lost, as with a timeout after the fact. The caller cannot tell whether
//!   it happened: the hardest case for a two-store protocol.
//!
//! Every request sent is recorded ([`Faults::requests`]), so a test can first count the
//! requests an operation makes, then fail each of them in turn. (Presigning a URL sends
//! nothing: it is neither recorded nor failed.)

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeDeserializationInterceptorContextMut, BeforeTransmitInterceptorContextMut,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::LocalError;

/// How an injected fault fails a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultKind {
    /// HTTP 500 (`InternalServerError` / `InternalError`); the server did nothing.
    ServerError,
    /// Throttling (DynamoDB `ThrottlingException`, S3 `503 SlowDown`); the server did nothing.
    Throttle,
    /// A conditional request refused (DynamoDB `ConditionalCheckFailedException`, S3
    /// `412 PreconditionFailed`); the server did nothing.
    ConditionFailed,
    /// The connection drops before the request arrives.
    ConnectionReset,
    /// The request takes effect on the real server, but its response is lost.
    LostResponse,
    /// The request takes effect on the real server, its response is lost, and the SDK's own
    /// retry reaches the server (the lost answer looks like a transient server error, which
    /// the SDK's default retry strategy retries): the failure users meet most, as the retry
    /// lands on a server where the first attempt already took effect. Use it with clients that
    /// keep their retries.
    LostResponseRetried,
    /// A DynamoDB batch request takes effect, but its response says nothing was processed
    /// (every item or key comes back as unprocessed), as under throttling.
    Unprocessed,
    /// The request never arrives and never gets an answer: the caller waits forever.
    /// [`Faults::hung`] resolves when it is sent, so a test can drop the caller's future
    /// there, as if the process had crashed between two requests.
    Hang,
}

impl FaultKind {
    /// Every kind, for test matrices.
    pub const ALL: [FaultKind; 5] = [
        FaultKind::ServerError,
        FaultKind::Throttle,
        FaultKind::ConditionFailed,
        FaultKind::ConnectionReset,
        FaultKind::LostResponse,
    ];

    fn tag(self) -> &'static str {
        match self {
            FaultKind::ServerError => "server-error",
            FaultKind::Throttle => "throttle",
            FaultKind::ConditionFailed => "condition",
            FaultKind::ConnectionReset => "reset",
            FaultKind::LostResponse => "lost",
            FaultKind::LostResponseRetried => "lost-then-retried",
            FaultKind::Unprocessed => "unprocessed",
            FaultKind::Hang => "hang",
        }
    }
}

impl std::fmt::Display for FaultKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.tag())
    }
}

#[derive(Debug, Default)]
struct State {
    rule: Option<Rule>,
    requests: Vec<String>,
    injected: Vec<(String, FaultKind)>,
    /// A [`FaultKind::Hang`] fired: every later request hangs too, as in a dead process.
    crashed: bool,
    /// Requests sent to the real server whose response has not arrived yet.
    in_flight: usize,
}

/// Marks a request whose response is to look like a transient server error, so the SDK
/// retries it.
#[derive(Debug, Clone)]
struct Retry;

impl Storable for Retry {
    type Storer = StoreReplace<Self>;
}

/// Marks a request that went to the real server (to count it back in when it returns).
#[derive(Debug, Clone)]
struct Sent;

impl Storable for Sent {
    type Storer = StoreReplace<Self>;
}

#[derive(Debug)]
struct Rule {
    operation: Option<String>,
    remaining: usize,
    kind: FaultKind,
    /// Keep failing every matching request after the first (until reset).
    every: bool,
}

/// The fault injector: clone it into every SDK client under test (it is an [`Intercept`]).
#[derive(Debug, Clone)]
pub struct Faults {
    state: Arc<Mutex<State>>,
    server: SocketAddr,
    hung: Arc<tokio::sync::Notify>,
}

#[derive(Debug, Clone)]
struct Injected;

/// The body of a request whose response is to say "nothing processed".
#[derive(Debug, Clone)]
struct Unprocessed(Vec<u8>);

impl Storable for Unprocessed {
    type Storer = StoreReplace<Self>;
}

impl Storable for Injected {
    type Storer = StoreReplace<Self>;
}

impl Faults {
    /// Starts the loopback server that answers diverted requests, on the current runtime.
    pub async fn start() -> Result<Self, LocalError> {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|source| LocalError::Io {
                server: "faults",
                source,
            })?;
        let server = listener.local_addr().map_err(|source| LocalError::Io {
            server: "faults",
            source,
        })?;
        tokio::spawn(serve(listener));
        Ok(Self {
            state: Arc::new(Mutex::new(State::default())),
            server,
            hung: Arc::new(tokio::sync::Notify::new()),
        })
    }

    /// Resolves once a request armed with [`FaultKind::Hang`] has been sent and every request
    /// sent to the real server before it has been answered: from then on the caller can make
    /// no more progress, and dropping its future leaves exactly what a process that died at
    /// that point would have left.
    pub async fn hung(&self) {
        loop {
            let notified = self.hung.notified();
            {
                let state = self.state();
                if state.crashed && state.in_flight == 0 {
                    return;
                }
            }
            notified.await;
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Fails the `n`th request (1-based) from now, counting only requests of `operation`
    /// (`"PutItem"`, `"PutObject"`, ...) when given. Replaces any armed fault.
    pub fn fail_nth(&self, n: usize, operation: Option<&str>, kind: FaultKind) {
        self.state().rule = Some(Rule {
            operation: operation.map(str::to_owned),
            remaining: n.max(1),
            kind,
            every: false,
        });
    }

    /// Fails every request of `operation` from now until [`reset`](Self::reset).
    pub fn fail_every(&self, operation: &str, kind: FaultKind) {
        self.state().rule = Some(Rule {
            operation: Some(operation.to_owned()),
            remaining: 1,
            kind,
            every: true,
        });
    }

    /// Disarms the fault (if it has not fired) and forgets the recorded requests.
    pub fn reset(&self) {
        let mut state = self.state();
        state.rule = None;
        state.requests.clear();
        state.injected.clear();
        state.crashed = false;
        state.in_flight = 0;
    }

    /// The requests sent since the last [`reset`](Self::reset), as `Service.Operation`.
    pub fn requests(&self) -> Vec<String> {
        self.state().requests.clone()
    }

    /// The faults injected since the last reset: the request and the kind.
    pub fn injected(&self) -> Vec<(String, FaultKind)> {
        self.state().injected.clone()
    }
}

fn operation_name(cfg: &ConfigBag) -> (String, String) {
    cfg.load::<Metadata>()
        .map(|m| (m.service().to_owned(), m.name().to_owned()))
        .unwrap_or_default()
}

impl Intercept for Faults {
    fn name(&self) -> &'static str {
        "dynox_local::Faults"
    }

    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // A presigned URL is signed in the query string and never sent: the SDK runs the
        // interceptors up to here and stops. It is neither a request nor a place for a fault.
        if context.request().uri().contains("X-Amz-Signature=") {
            return Ok(());
        }
        let (service, operation) = operation_name(cfg);
        let label = format!("{service}.{operation}");
        let fire = {
            let mut state = self.state();
            state.requests.push(label.clone());
            if state.crashed {
                // The process is dead: nothing more reaches the server.
                Some(FaultKind::Hang)
            } else {
                let mut fire = None;
                let mut every = false;
                if let Some(rule) = &mut state.rule {
                    if rule.operation.as_deref().is_none_or(|o| o == operation) {
                        rule.remaining = rule.remaining.saturating_sub(1);
                        if rule.remaining == 0 {
                            fire = Some(rule.kind);
                            every = rule.every;
                        }
                    }
                }
                if let Some(kind) = fire {
                    if !every {
                        state.rule = None;
                    }
                    state.injected.push((label, kind));
                    if kind == FaultKind::Hang {
                        state.crashed = true;
                    }
                }
                if matches!(
                    fire,
                    None | Some(FaultKind::LostResponse)
                        | Some(FaultKind::LostResponseRetried)
                        | Some(FaultKind::Unprocessed)
                ) {
                    state.in_flight += 1;
                }
                fire
            }
        };
        match fire {
            None
            | Some(FaultKind::LostResponse)
            | Some(FaultKind::LostResponseRetried)
            | Some(FaultKind::Unprocessed) => {
                if fire == Some(FaultKind::LostResponse) {
                    cfg.interceptor_state().store_put(Injected);
                }
                if fire == Some(FaultKind::LostResponseRetried) {
                    cfg.interceptor_state().store_put(Retry);
                }
                if fire == Some(FaultKind::Unprocessed) {
                    let body = context
                        .request()
                        .body()
                        .bytes()
                        .unwrap_or_default()
                        .to_vec();
                    cfg.interceptor_state().store_put(Unprocessed(body));
                }
                cfg.interceptor_state().store_put(Sent);
                Ok(())
            }
            Some(kind) => {
                if kind == FaultKind::Hang {
                    self.hung.notify_waiters();
                }
                // Divert the request to the loopback fault server: the real server never
                // sees it.
                let request = context.request_mut();
                let path = {
                    let uri = request.uri();
                    match uri.find("://") {
                        Some(i) => uri[i + 3..]
                            .find('/')
                            .map_or("/".to_owned(), |j| uri[i + 3 + j..].to_owned()),
                        None => uri.to_owned(),
                    }
                };
                request.set_uri(format!("http://{}{path}", self.server))?;
                let is_s3 = service.eq_ignore_ascii_case("s3");
                request.headers_mut().insert(
                    "x-dynox-fault",
                    format!("{};{}", kind.tag(), if is_s3 { "s3" } else { "json" }),
                );
                Ok(())
            }
        }
    }

    /// Runs after every attempt, answered or failed (not when the caller's future is dropped).
    fn read_after_attempt(
        &self,
        _: &aws_smithy_runtime_api::client::interceptors::context::FinalizerInterceptorContextRef<
            '_,
        >,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if cfg.load::<Sent>().is_some() {
            cfg.interceptor_state().unset::<Sent>();
            let mut state = self.state();
            state.in_flight = state.in_flight.saturating_sub(1);
            drop(state);
            self.hung.notify_waiters();
        }
        Ok(())
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if cfg.load::<Injected>().is_some() {
            return Err("injected fault: the response was lost".into());
        }
        if cfg.load::<Retry>().is_some() {
            // The real answer is dropped; the SDK sees a transient server error and retries
            // (the next attempt of this request is not diverted: the rule has fired).
            cfg.interceptor_state().unset::<Retry>();
            let (service, _) = operation_name(cfg);
            let format = if service.eq_ignore_ascii_case("s3") {
                "s3"
            } else {
                "json"
            };
            let (_, content_type, body) = canned("server-error", format);
            let response = context.response_mut();
            *response.status_mut() = 500
                .try_into()
                .map_err(|_| "status 500 is a valid status code")?;
            let headers = response.headers_mut();
            for name in [
                "x-amz-crc32",
                "content-length",
                "content-encoding",
                "content-type",
            ] {
                headers.remove(name);
            }
            headers.insert("content-type", content_type);
            *response.body_mut() = aws_smithy_types::body::SdkBody::from(body);
            return Ok(());
        }
        if let Some(Unprocessed(body)) = cfg.load::<Unprocessed>() {
            // `{"RequestItems":{...}}` back as what was not processed.
            let request = String::from_utf8_lossy(body);
            let (_, operation) = operation_name(cfg);
            let field = if operation == "BatchGetItem" {
                "\"Responses\":{},\"UnprocessedKeys\":"
            } else {
                "\"UnprocessedItems\":"
            };
            let body = request.replacen("\"RequestItems\":", field, 1);
            let response = context.response_mut();
            *response.body_mut() = aws_smithy_types::body::SdkBody::from(body);
            response.headers_mut().remove("x-amz-crc32");
            response.headers_mut().remove("content-length");
        }
        Ok(())
    }
}

async fn serve(listener: TcpListener) {
    while let Ok((socket, _)) = listener.accept().await {
        tokio::spawn(answer(socket));
    }
}

/// Reads one request and answers it with the canned error its `x-dynox-fault` header asks for.
async fn answer(mut socket: tokio::net::TcpStream) {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let header_end = loop {
        if let Some(end) = find(&buffer, b"\r\n\r\n") {
            break end;
        }
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    };
    let headers = String::from_utf8_lossy(&buffer[..header_end]).to_ascii_lowercase();
    let header = |name: &str| {
        headers.lines().find_map(|l| {
            l.strip_prefix(name)
                .and_then(|v| v.strip_prefix(':'))
                .map(|v| v.trim().to_owned())
        })
    };
    let fault = header("x-dynox-fault").unwrap_or_default();
    let (kind, format) = fault.split_once(';').unwrap_or(("server-error", "json"));
    if kind == "reset" {
        return; // dropping the socket closes the connection unanswered
    }
    if kind == "hang" {
        // Never answer; stop when the caller goes away.
        while !matches!(socket.read(&mut chunk).await, Ok(0) | Err(_)) {}
        return;
    }
    // Drain the body so the client is not cut off while still sending it.
    let body_start = header_end + 4;
    if let Some(length) = header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        while buffer.len() < body_start + length {
            match socket.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        }
    } else if header("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        while !buffer[body_start..].windows(5).any(|w| w == b"0\r\n\r\n") {
            match socket.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        }
    }
    let (status, content_type, body) = canned(kind, format);
    let response = format!(
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = socket.write_all(response.as_bytes()).await;
    let _ = socket.shutdown().await;
}

fn canned(kind: &str, format: &str) -> (&'static str, &'static str, String) {
    let s3 = |status, code: &str| {
        (
            status,
            "application/xml",
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>injected {code}</Message></Error>"
            ),
        )
    };
    let json = |status, code: &str| {
        (
            status,
            "application/x-amz-json-1.0",
            format!(
                "{{\"__type\":\"com.amazonaws.dynamodb.v20120810#{code}\",\"message\":\"injected {code}\"}}"
            ),
        )
    };
    match (kind, format) {
        ("throttle", "s3") => s3("503 Slow Down", "SlowDown"),
        ("condition", "s3") => s3("412 Precondition Failed", "PreconditionFailed"),
        (_, "s3") => s3("500 Internal Server Error", "InternalError"),
        ("throttle", _) => json("400 Bad Request", "ThrottlingException"),
        ("condition", _) => json("400 Bad Request", "ConditionalCheckFailedException"),
        _ => json("500 Internal Server Error", "InternalServerError"),
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
