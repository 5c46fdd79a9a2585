//! [`ServerDate`]: S3's clock at the moment it stored an object, read from the response.
//!
//! PutObject and CompleteMultipartUpload outputs carry no Last-Modified, but every HTTP
//! response carries a `Date` header (RFC 9110 requires it of a server with a clock): S3's own
//! time when it answered. An interceptor on those two requests reads it, so recording when
//! an upload completed costs no extra request and never trusts the client's clock unless
//! the server sent no usable date.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_s3::config::interceptors::BeforeDeserializationInterceptorContextRef;
use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_s3::primitives::{DateTime, DateTimeFormat};

/// Records the time of a request's response: its `Date` header, else the client's clock
/// (the SDK's time source) when the header is missing or unreadable.
///
/// Each attempt overwrites the previous one, so after a successful request it holds the
/// time of the response that succeeded. Add it to one request with
/// `.customize().interceptor(date.clone())`.
#[derive(Debug, Clone, Default)]
pub(crate) struct ServerDate(Arc<Mutex<Option<SystemTime>>>);

impl ServerDate {
    /// The recorded time, to the second. The client's clock if no response was seen (not
    /// reached after a successful request, where the interceptor always ran).
    pub(crate) fn get(&self) -> SystemTime {
        let recorded = *self.0.lock().unwrap_or_else(PoisonError::into_inner);
        recorded.unwrap_or_else(|| whole_seconds(SystemTime::now()))
    }
}

impl Intercept for ServerDate {
    fn name(&self) -> &'static str {
        "dynox::ServerDate"
    }

    fn read_before_deserialization(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        components: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), aws_sdk_s3::error::BoxError> {
        let header = context.response().headers().get("date");
        let date = match header.and_then(parse_http_date) {
            Some(date) => date,
            None => {
                tracing::debug!(
                    date = header,
                    "the S3 response has no readable Date header; the upload is dated by the client's clock"
                );
                let now = components
                    .time_source()
                    .map_or_else(SystemTime::now, |clock| clock.now());
                whole_seconds(now)
            }
        };
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(date);
        Ok(())
    }
}

/// An HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`).
pub(crate) fn parse_http_date(value: &str) -> Option<SystemTime> {
    let date = DateTime::from_str(value.trim(), DateTimeFormat::HttpDate).ok()?;
    SystemTime::try_from(date).ok()
}

/// `time` without its fraction of a second, as S3 dates objects (and as the fallback on the
/// client's clock is recorded, so it round-trips through the item exactly).
fn whole_seconds(time: SystemTime) -> SystemTime {
    match time.duration_since(UNIX_EPOCH) {
        Ok(since) => UNIX_EPOCH + Duration::from_secs(since.as_secs()),
        Err(_) => time,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_http_date_is_read_to_the_second() {
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(UNIX_EPOCH + Duration::from_secs(784_111_777))
        );
        assert_eq!(parse_http_date("yesterday"), None);
    }

    #[test]
    fn without_a_response_the_client_clock_dates_the_upload() {
        let before = whole_seconds(SystemTime::now());
        let date = ServerDate::default().get();
        assert!(date >= before && date <= SystemTime::now(), "{date:?}");
        assert_eq!(date, whole_seconds(date));
    }
}
