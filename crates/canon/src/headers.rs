//! What the response headers add to an error: the server's retry hint and
//! the request id.
//!
//! - `retry-after-ms`: milliseconds, a non-negative number (the Stainless
//!   SDKs' header, which the `gcore` SDK reads first).
//! - `Retry-After`: delta-seconds (`120`) or an HTTP-date
//!   (`Wed, 21 Oct 2015 07:28:00 GMT`), as RFC 9110 defines it. A date is
//!   read against the time the caller passes in.
//! - `x-request-id`, then `request-id`.
//!
//! A negative, garbled or past value is ignored, not clamped: a hint that
//! cannot be read is no hint.

use std::time::{Duration, SystemTime};

use http::HeaderMap;

/// The hints read off the response headers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderHints {
    /// The retry delay from `retry-after-ms` or `Retry-After`.
    pub retry_after: Option<Duration>,
    /// The request id from `x-request-id` or `request-id`.
    pub request_id: Option<String>,
}

impl HeaderHints {
    /// Reads the hints, with `now` as the base for an HTTP-date.
    pub fn read(headers: &HeaderMap, now: SystemTime) -> HeaderHints {
        let text =
            |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|s| !s.is_empty());
        let retry_after = text("retry-after-ms")
            .and_then(parse_retry_after_ms)
            .or_else(|| text("retry-after").and_then(|v| parse_retry_after(v, now)));
        let request_id = text("x-request-id").or_else(|| text("request-id")).map(str::to_owned);
        HeaderHints { retry_after, request_id }
    }
}

/// Parses `retry-after-ms`: a non-negative, finite number of milliseconds.
pub fn parse_retry_after_ms(value: &str) -> Option<Duration> {
    let millis: f64 = value.parse().ok()?;
    (0.0..1e15).contains(&millis).then(|| Duration::from_secs_f64(millis / 1000.0))
}

/// Parses `Retry-After`: delta-seconds or an HTTP-date later than `now`.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    if value.bytes().all(|b| b.is_ascii_digit()) {
        // Delta-seconds: 1*DIGIT. Very long values saturate to u64::MAX
        // seconds rather than fail; a policy clamps absurd hints.
        return Some(Duration::from_secs(value.parse::<u64>().unwrap_or(u64::MAX)));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    at.duration_since(now).ok().filter(|d| !d.is_zero())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hints(pairs: &[(&str, &str)]) -> HeaderHints {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(http::HeaderName::from_bytes(name.as_bytes()).unwrap(), value.parse().unwrap());
        }
        // 2015-10-21T07:28:00Z minus 30 s.
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480 - 30);
        HeaderHints::read(&headers, now)
    }

    #[test]
    fn reads_each_form_and_ignores_what_it_cannot_read() {
        // (headers, expected delay in milliseconds)
        type Row = (&'static [(&'static str, &'static str)], Option<u64>);
        let table: &[Row] = &[
            (&[("retry-after", "120")], Some(120_000)),
            (&[("Retry-After", " 5 ")], Some(5_000)),
            (&[("retry-after", "0")], Some(0)),
            (&[("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")], Some(30_000)),
            (&[("retry-after", "Wed, 21 Oct 2015 07:27:00 GMT")], None),
            (&[("retry-after", "-5")], None),
            (&[("retry-after", "5.5")], None),
            (&[("retry-after", "soon")], None),
            (&[("retry-after", "")], None),
            (&[("retry-after-ms", "1500")], Some(1_500)),
            (&[("retry-after-ms", "2.5")], Some(2)),
            (&[("retry-after-ms", "-1"), ("retry-after", "3")], Some(3_000)),
            (&[("retry-after-ms", "NaN"), ("retry-after", "3")], Some(3_000)),
            (&[("retry-after-ms", "250"), ("retry-after", "3")], Some(250)),
        ];
        for (pairs, expected) in table {
            let actual = hints(pairs).retry_after.map(|d| d.as_millis() as u64);
            assert_eq!(actual, *expected, "{pairs:?}");
        }
    }

    #[test]
    fn reads_the_request_id() {
        assert_eq!(hints(&[("x-request-id", "abc")]).request_id.as_deref(), Some("abc"));
        assert_eq!(hints(&[("request-id", "def")]).request_id.as_deref(), Some("def"));
        assert_eq!(hints(&[("request-id", "def"), ("x-request-id", "abc")]).request_id.as_deref(), Some("abc"));
        assert_eq!(hints(&[]).request_id, None);
    }
}
