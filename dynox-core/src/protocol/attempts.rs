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

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use tokio::task::futures::TaskLocalFuture;

tokio::task_local! {
    /// The counter of the request whose future is being polled.
    static SENDING: Attempts;
}

/// The attempts the SDK made of one request: pass the request's future through
/// [`count`](Self::count), then ask [`retried`](Self::retried). Companion crates reach it
/// through `__private`.
#[derive(Debug, Clone, Default)]
pub struct Attempts(Arc<AtomicU32>);

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
        self.0.load(Ordering::Relaxed) != 1
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
        _: &mut ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        one_more_attempt();
        Ok(())
    }
}

/// Adds one to the counter of the request being sent, if it is sent inside
/// [`Attempts::count`] (otherwise dynox does not judge it: nothing to add to).
fn one_more_attempt() {
    let _ = SENDING.try_with(|attempts| attempts.0.fetch_add(1, Ordering::Relaxed));
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
