//! The item's time format: RFC 3339, as `last_modified` is written and read.

use std::time::SystemTime;

use aws_sdk_s3::primitives::{DateTime, DateTimeFormat};

/// `time` in RFC 3339 (UTC, to the microsecond); `None` outside the years 1 to 9999.
pub(super) fn rfc3339(time: SystemTime) -> Option<String> {
    DateTime::from(time).fmt(DateTimeFormat::DateTime).ok()
}

/// An RFC 3339 time, in UTC (`Z`, as dynox writes it) or with an offset; `None` for an
/// empty string (an object attached without a Last-Modified) or any other text.
pub(super) fn parse_rfc3339(text: &str) -> Option<SystemTime> {
    let time = DateTime::from_str(text, DateTimeFormat::DateTimeWithOffset).ok();
    if time.is_none() && !text.is_empty() {
        tracing::debug!(
            last_modified = text,
            "a file reference's `last_modified` is not an RFC 3339 time; read as unknown"
        );
    }
    SystemTime::try_from(time?).ok()
}
