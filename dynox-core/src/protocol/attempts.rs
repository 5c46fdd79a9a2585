//! [`Attempts`]: how many times the SDK sent one request, its own retries included.
//!
//! A refusal (a failed condition) is definite only when no earlier attempt of the same
//! request can have taken effect: after a lost response and the SDK's retry, the refusal may
//! be the answer to the request's own commit. So every conditional write counts its attempts.
//!
//! The count is kept without customising each request (`.customize().interceptor(..)` makes
//! the SDK rebuild its runtime components and config layers for that request, a measurable
//! part of a small write's CPU): one [`CountAttempts`] interceptor is installed on each client
//! dynox builds or is given, and it adds to the counter of the request being sent, which
//! [`Attempts::count`] puts in a task-local for the duration of that request's future. The
//! SDK runs interceptors inside that future (its orchestrator spawns nothing).

use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use aws_sdk_dynamodb::config::interceptors::{
    BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use tokio::task::futures::TaskLocalFuture;

tokio::task_local! {
    /// The counter of the request whose future is being polled.
    static SENDING: Attempts;
}

/// The attempts the SDK made of one request: pass the request's future through
/// [`count`](Self::count), then ask [`retried`](Self::retried) and
/// [`reached`](Self::reached). Companion crates reach it through `__private`.
#[derive(Debug, Clone, Default)]
pub struct Attempts(Arc<Counts>);

#[derive(Debug, Default)]
struct Counts {
    /// Attempts handed to the connector.
    sent: AtomicU32,
    /// Attempts that failed to connect: they never reached the server.
    unreached: AtomicU32,
}

impl Attempts {
    /// Runs `send` (one request's `send()` future) counting the attempts the SDK makes of
    /// it, through the [`CountAttempts`] interceptor of the client it goes through.
    pub fn count<F: Future>(&self, send: F) -> TaskLocalFuture<Attempts, F> {
        SENDING.scope(self.clone(), send)
    }

    /// Whether an earlier attempt may have taken effect: the SDK sent the request more than
    /// once, or nothing was counted (a client without [`CountAttempts`], or a failure before
    /// anything was sent), which is taken as "may have", never as "did not".
    pub fn retried(&self) -> bool {
        self.0.sent.load(Ordering::Relaxed) != 1
    }

    /// Whether some attempt may have reached the server: `false` only when every counted
    /// attempt failed to connect (connection refused, no route to the host), so the request
    /// cannot have taken effect. Nothing counted is taken as "may have".
    pub fn reached(&self) -> bool {
        let sent = self.0.sent.load(Ordering::Relaxed);
        sent == 0 || self.0.unreached.load(Ordering::Relaxed) < sent
    }
}

/// The client-level interceptor behind [`Attempts`]: it counts each attempt of a request
/// sent inside [`Attempts::count`] and ignores every other request. dynox adds it to every
/// DynamoDB and S3 client it builds or is given.
#[derive(Debug, Clone, Copy, Default)]
pub struct CountAttempts;

impl Intercept for CountAttempts {
    fn name(&self) -> &'static str {
        "dynox::CountAttempts"
    }

    fn read_before_transmit(
        &self,
        _: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        one_more_attempt();
        if crate::metrics::ENABLED {
            use aws_smithy_runtime_api::client::orchestrator::Metadata;
            use aws_smithy_runtime_api::client::retries::RequestAttempts;
            let attempts = cfg.load::<RequestAttempts>().map_or(1, |a| a.attempts());
            if attempts > 1 {
                let (service, operation) = cfg
                    .load::<Metadata>()
                    .map_or(("", ""), |m| (m.service(), m.name()));
                crate::metrics::count(
                    "dynox_retries_total",
                    &[("service", service), ("operation", operation)],
                    1,
                );
            }
        }
        Ok(())
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let connector = context
            .output_or_error()
            .and_then(|result| result.err())
            .and_then(|error| error.as_connector_error());
        if connector.is_some_and(|e| never_connected(e)) {
            attempt_unreached();
        }
        Ok(())
    }
}

/// Whether a connector error says the connection was never made: the request did not leave
/// the client. (A reset or a timeout after connecting may follow a request the server
/// received: those are not this.)
fn never_connected(error: &(dyn std::error::Error + 'static)) -> bool {
    use std::io::ErrorKind;
    let mut source = Some(error);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if matches!(
                io.kind(),
                ErrorKind::ConnectionRefused
                    | ErrorKind::HostUnreachable
                    | ErrorKind::NetworkUnreachable
                    | ErrorKind::AddrNotAvailable
            ) {
                return true;
            }
        }
        source = e.source();
    }
    false
}

/// Counts one attempt of the request being sent as never having reached the server.
fn attempt_unreached() {
    let _ = SENDING.try_with(|attempts| attempts.0.unreached.fetch_add(1, Ordering::Relaxed));
}

/// Adds one to the counter of the request being sent, if it is sent inside
/// [`Attempts::count`] (otherwise dynox does not judge it: nothing to add to).
fn one_more_attempt() {
    let _ = SENDING.try_with(|attempts| attempts.0.sent.fetch_add(1, Ordering::Relaxed));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn nothing_counted_is_taken_as_retried_and_one_attempt_is_not() {
        let attempts = Attempts::default();
        assert!(attempts.retried(), "no attempt seen: maybe sent");
        attempts.count(async { one_more_attempt() }).await;
        assert!(!attempts.retried());
        // Outside `count`, an attempt goes to no counter.
        one_more_attempt();
        assert!(!attempts.retried());
        attempts.count(async { one_more_attempt() }).await;
        assert!(attempts.retried(), "two attempts");
    }

    #[tokio::test]
    async fn only_attempts_that_all_failed_to_connect_never_reached_the_server() {
        let attempts = Attempts::default();
        assert!(attempts.reached(), "nothing counted: maybe reached");
        attempts
            .count(async {
                one_more_attempt();
                attempt_unreached();
            })
            .await;
        assert!(!attempts.reached(), "the only attempt could not connect");
        attempts.count(async { one_more_attempt() }).await;
        assert!(attempts.reached(), "the retry connected");
    }

    #[test]
    fn a_refused_connection_is_never_connected_and_a_reset_is_not() {
        use aws_smithy_runtime_api::client::result::ConnectorError;
        use std::io::{Error, ErrorKind};
        let refused = ConnectorError::io(Box::new(Error::from(ErrorKind::ConnectionRefused)));
        assert!(never_connected(&refused));
        let reset = ConnectorError::io(Box::new(Error::from(ErrorKind::ConnectionReset)));
        assert!(!never_connected(&reset));
        // Wrapped, as hyper's connector reports it ("tcp connect error", its cause).
        #[derive(Debug)]
        struct Connect(Error);
        impl std::fmt::Display for Connect {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("tcp connect error")
            }
        }
        impl std::error::Error for Connect {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let wrapped =
            ConnectorError::io(Box::new(Connect(Error::from(ErrorKind::ConnectionRefused))));
        assert!(never_connected(&wrapped));
    }

    #[tokio::test]
    async fn a_counted_request_can_run_as_a_task_of_its_own() {
        let attempts = Attempts::default();
        let task = tokio::spawn(attempts.count(async { one_more_attempt() }));
        task.await.unwrap();
        assert!(
            !attempts.retried(),
            "the one attempt was counted inside the task"
        );
    }
}
