//! Metrics (feature `metrics`): counters and histograms through the [`metrics`] facade, so they
//! reach whatever exporter the application installs (Prometheus, StatsD, OpenTelemetry...).
//! Without the feature, or without an installed recorder, they cost nothing. The tracing spans
//! stay as they are.
//!
//! | metric | kind | labels | what |
//! |---|---|---|---|
//! | `dynox_requests_total` | counter | `operation`, `table`, `outcome` | DynamoDB requests dynox sent, by outcome: `ok`, `condition_failed` (a refused condition: conflicts, existing items), `throttled`, `canceled` (a canceled transaction), `error` |
//! | `dynox_request_duration_seconds` | histogram | `operation`, `table` | each request's latency, the SDK's retries included |
//! | `dynox_retries_total` | counter | `service`, `operation` | attempts the SDK retried, DynamoDB and S3 |
//! | `dynox_consumed_capacity_units` | histogram | `operation`, `table` | the capacity each request consumed, where the client asks for it (`consumed_capacity(true)` or a rate limit) |
//! | `dynox_bytes_uploaded_total` | counter | `bucket` | bytes uploaded to S3 (as stored: compressed when compressed) |
//! | `dynox_bytes_downloaded_total` | counter | `bucket` | bytes downloaded from S3 |
//! | `dynox_cleanup_failures_total` | counter | `table` | objects a failed call could not remove (`Error::CleanupFailed`; the sweep collects them) |
//! | `dynox_sweep_orphans_total` | counter | `table` | orphans a sweep found |
//! | `dynox_sweep_deleted_total` | counter | `table` | objects a sweep deleted |
//! | `dynox_sweep_failures_total` | counter | `table` | objects a sweep failed to delete or check |
//! | `dynox_cascade_records_total` | counter | `table`, `outcome` | stream records the cascade handled: `complete`, or `incomplete` (to be retried) |
//! | `dynox_cascade_deleted_total` | counter | `table` | objects the cascade deleted |
//! | `dynox_cascade_retained_total` | counter | `table` | objects the cascade left readable for their field's retention (the sweep deletes them after) |
//!
//! Install any recorder once at startup, e.g. with the `metrics-exporter-prometheus` crate:
//!
//! ```text
//! metrics_exporter_prometheus::PrometheusBuilder::new().install()?;
//! ```
//!
//! then use dynox as usual: its requests are counted.

/// Adds `n` to counter `name` with `labels`.
#[doc(hidden)]
#[inline]
pub fn count(name: &'static str, labels: &[(&'static str, &str)], n: u64) {
    #[cfg(feature = "metrics")]
    metrics::counter!(name, owned(labels)).increment(n);
    #[cfg(not(feature = "metrics"))]
    let _ = (name, labels, n);
}

/// Records `value` in histogram `name` with `labels`.
#[doc(hidden)]
#[inline]
pub fn observe(name: &'static str, labels: &[(&'static str, &str)], value: f64) {
    #[cfg(feature = "metrics")]
    metrics::histogram!(name, owned(labels)).record(value);
    #[cfg(not(feature = "metrics"))]
    let _ = (name, labels, value);
}

/// `labels` as the facade takes them.
#[cfg(feature = "metrics")]
fn owned(labels: &[(&'static str, &str)]) -> Vec<metrics::Label> {
    labels
        .iter()
        .map(|(k, v)| metrics::Label::new(*k, (*v).to_owned()))
        .collect()
}

/// Whether metrics are compiled in (the `metrics` feature).
#[doc(hidden)]
pub const ENABLED: bool = cfg!(feature = "metrics");

/// The outcome label of a DynamoDB error code.
pub(crate) fn outcome(code: Option<&str>) -> &'static str {
    match code {
        Some("ConditionalCheckFailedException") => "condition_failed",
        Some(
            "ProvisionedThroughputExceededException"
            | "ThrottlingException"
            | "RequestLimitExceeded",
        ) => "throttled",
        Some("TransactionCanceledException") => "canceled",
        _ => "error",
    }
}
