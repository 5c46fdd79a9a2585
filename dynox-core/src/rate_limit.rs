//! A client-level rate limit on DynamoDB capacity ([`ClientBuilder::rate_limit`]): every
//! operation of the client (and of its clones) draws from one budget of read and one of
//! write capacity units per second.
//!
//! Each request waits until its budget has a unit left, then is charged what DynamoDB reports
//! it consumed (the client asks for `ReturnConsumedCapacity` while a limit is set), so a large
//! query or a transaction makes the requests after it wait in proportion. Reads: GetItem,
//! Query, Scan, BatchGetItem, TransactGetItems; writes: PutItem, UpdateItem, DeleteItem,
//! BatchWriteItem, TransactWriteItems.
//!
//! An adaptive limit ([`RateLimit::adaptive`]) starts at its maximum, halves the budget of the
//! kind of request DynamoDB throttled (down to a floor of 1 unit per second), and recovers by a
//! tenth of its maximum each second without throttling, as pydynox's adaptive mode does. The
//! SDK's own retries and dynox's bounded, jittered retries of unprocessed batch items go on as
//! before: the limit spaces requests out, it does not replace them.
//!
//! [`ClientBuilder::rate_limit`]: crate::ClientBuilder::rate_limit
//!
//! ```no_run
//! # async fn demo(config: &aws_types::SdkConfig) {
//! use dynox_core::{Client, RateLimit};
//! // At most 100 read and 50 write capacity units per second, shared by every operation.
//! let client = Client::builder(config).rate_limit(RateLimit::fixed(100.0, 50.0)).build();
//! // Or adapt to throttling, up to those rates.
//! let client = Client::builder(config).rate_limit(RateLimit::adaptive(100.0, 50.0)).build();
//! # }
//! ```

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A limit on the capacity units a client's requests consume per second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    read: f64,
    write: f64,
    adaptive: bool,
}

impl RateLimit {
    /// At most `read` read and `write` write capacity units per second (each at least 1).
    pub fn fixed(read: f64, write: f64) -> Self {
        Self {
            read: floor(read),
            write: floor(write),
            adaptive: false,
        }
    }

    /// Up to `read` and `write` units per second, halved on throttling and recovering
    /// gradually.
    pub fn adaptive(read: f64, write: f64) -> Self {
        Self {
            adaptive: true,
            ..Self::fixed(read, write)
        }
    }
}

/// A rate of at least 1 unit per second (a finite one).
fn floor(rate: f64) -> f64 {
    if rate.is_finite() {
        rate.max(1.0)
    } else {
        1.0
    }
}

/// Which budget a request draws from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Read,
    Write,
}

impl Kind {
    /// The budget of DynamoDB operation `operation`, `None` for table administration.
    pub(crate) fn of(operation: &str) -> Option<Kind> {
        match operation {
            "GetItem" | "Query" | "Scan" | "BatchGetItem" | "TransactGetItems" => Some(Kind::Read),
            "PutItem" | "UpdateItem" | "DeleteItem" | "BatchWriteItem" | "TransactWriteItems" => {
                Some(Kind::Write)
            }
            _ => None,
        }
    }
}

/// The current rates of a client's limit: [`Client::rate`](crate::Client::rate).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CurrentRate {
    /// Read capacity units per second now allowed.
    pub read: f64,
    /// Write capacity units per second now allowed.
    pub write: f64,
    /// Read units charged beyond the budget, still to be paid back before the next read.
    pub read_debt: f64,
    /// Write units charged beyond the budget.
    pub write_debt: f64,
}

/// One budget: a token bucket holding up to one second of its rate, that may go into debt.
#[derive(Debug)]
struct Bucket {
    max: f64,
    rate: f64,
    tokens: f64,
    refilled: Instant,
    /// When this budget was last cut (adaptive), for its recovery.
    cut: Option<Instant>,
}

impl Bucket {
    fn new(rate: f64, now: Instant) -> Self {
        Self {
            max: rate,
            rate,
            tokens: rate,
            refilled: now,
            cut: None,
        }
    }

    /// Adds what the rate earned since the last refill; an adaptive budget recovers a tenth
    /// of its maximum per second since its last cut.
    fn refill(&mut self, now: Instant, adaptive: bool) {
        let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
        if adaptive && self.cut.is_some() {
            self.rate = (self.rate + self.max * 0.1 * elapsed).min(self.max);
            if self.rate >= self.max {
                self.cut = None;
            }
        }
        self.tokens = (self.tokens + self.rate * elapsed).min(self.rate);
        self.refilled = now;
    }

    /// How long to wait for one unit, `ZERO` when one is there (and taken).
    fn take(&mut self, now: Instant, adaptive: bool) -> Duration {
        self.refill(now, adaptive);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Duration::ZERO
        } else {
            Duration::from_secs_f64((1.0 - self.tokens) / self.rate)
        }
    }
}

/// A client's limit state.
#[derive(Debug)]
pub(crate) struct Limiter {
    adaptive: bool,
    buckets: Mutex<[Bucket; 2]>,
}

impl Limiter {
    pub(crate) fn new(limit: RateLimit) -> Self {
        let now = Instant::now();
        Self {
            adaptive: limit.adaptive,
            buckets: Mutex::new([Bucket::new(limit.read, now), Bucket::new(limit.write, now)]),
        }
    }

    /// The buckets (a panic elsewhere leaves them usable: they hold only numbers).
    fn buckets(&self) -> std::sync::MutexGuard<'_, [Bucket; 2]> {
        self.buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn with<T>(&self, kind: Kind, f: impl FnOnce(&mut Bucket) -> T) -> T {
        f(&mut self.buckets()[kind as usize])
    }

    /// Waits until the budget of `kind` has a unit, and takes it.
    pub(crate) async fn acquire(&self, kind: Kind) {
        loop {
            let wait = self.with(kind, |b| b.take(Instant::now(), self.adaptive));
            if wait.is_zero() {
                return;
            }
            tokio::time::sleep(wait).await;
        }
    }

    /// Charges what a request consumed beyond the unit it took.
    pub(crate) fn charge(&self, kind: Kind, consumed: f64) {
        if consumed.is_finite() && consumed > 1.0 {
            self.with(kind, |b| b.tokens -= consumed - 1.0);
        }
    }

    /// A throttled request: an adaptive budget halves (to at least 1 unit per second).
    pub(crate) fn throttled(&self, kind: Kind) {
        self.throttled_at(kind, Instant::now());
    }

    fn throttled_at(&self, kind: Kind, now: Instant) {
        if self.adaptive {
            self.with(kind, |b| {
                b.refill(now, true);
                b.rate = (b.rate / 2.0).max(1.0);
                b.tokens = b.tokens.min(b.rate);
                b.cut = Some(now);
            });
        }
    }

    pub(crate) fn current(&self) -> CurrentRate {
        self.current_at(Instant::now())
    }

    fn current_at(&self, now: Instant) -> CurrentRate {
        let mut buckets = self.buckets();
        for b in buckets.iter_mut() {
            b.refill(now, self.adaptive);
        }
        CurrentRate {
            read: buckets[0].rate,
            write: buckets[1].rate,
            read_debt: (-buckets[0].tokens).max(0.0),
            write_debt: (-buckets[1].tokens).max(0.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_lends_one_second_then_spaces_units_out() {
        let start = Instant::now();
        let mut b = Bucket::new(2.0, start);
        assert_eq!(b.take(start, false), Duration::ZERO);
        assert_eq!(b.take(start, false), Duration::ZERO);
        assert_eq!(b.take(start, false), Duration::from_millis(500));
        assert_eq!(
            b.take(start + Duration::from_millis(500), false),
            Duration::ZERO
        );
    }

    #[test]
    fn consumed_units_beyond_one_are_a_debt_paid_back_by_time() {
        let start = Instant::now();
        let limiter = Limiter {
            adaptive: false,
            buckets: Mutex::new([Bucket::new(10.0, start), Bucket::new(10.0, start)]),
        };
        limiter.charge(Kind::Write, 26.0);
        let now = limiter.current_at(start);
        assert_eq!(now.write_debt, 15.0);
        assert_eq!(now.read_debt, 0.0);
        // 16 units short of one: 1.6 s at 10 per second.
        let wait = limiter.with(Kind::Write, |b| b.take(start, false));
        assert_eq!(wait, Duration::from_secs_f64(1.6));
    }

    #[test]
    fn an_adaptive_budget_halves_on_throttling_and_recovers() {
        let start = Instant::now();
        let limiter = Limiter {
            adaptive: true,
            buckets: Mutex::new([Bucket::new(100.0, start), Bucket::new(40.0, start)]),
        };
        limiter.throttled_at(Kind::Write, start);
        limiter.throttled_at(Kind::Write, start);
        let rate = limiter.current_at(start);
        assert_eq!((rate.read, rate.write), (100.0, 10.0));
        // Four seconds later: +4 per second (a tenth of 40), back to 26.
        let later = limiter.current_at(start + Duration::from_secs(4));
        assert_eq!(later.write, 26.0);
        // And never above the maximum.
        assert_eq!(
            limiter.current_at(start + Duration::from_secs(60)).write,
            40.0
        );
        // A fixed limit never moves.
        let fixed = Limiter::new(RateLimit::fixed(5.0, 5.0));
        fixed.throttled_at(Kind::Read, start);
        assert_eq!(fixed.current_at(start).read, 5.0);
        // Never below 1 unit per second.
        for _ in 0..20 {
            limiter.throttled_at(Kind::Read, start);
        }
        assert_eq!(limiter.current_at(start).read, 1.0);
    }
}
