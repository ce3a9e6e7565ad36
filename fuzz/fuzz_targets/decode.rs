//! Fuzzes `canon::decode_at` with arbitrary bytes and checks what every
//! decoded error must satisfy.
//!
//! The input is read as:
//!
//! | bytes | meaning |
//! |-------|---------|
//! | 0–1 | the HTTP status, little-endian; below 1000 as is (0 is "not known"), above it folded into 0..600 unless flag bit 7 asks for the raw value |
//! | 2 | header flags, see [`headers_from`] |
//! | 3 | the length (mod 48) of the header value that follows |
//! | 4.. | that header value, then the body |
//!
//! An input too short for a part gives that part's default (status 0, no
//! headers) and the rest is the body.
//!
//! The invariants, for the decoded status and every additional one:
//! - `advice()`, `retry_delay()` and `request_id()` return without
//!   panicking;
//! - every `canon::Encoding` writes a body that is JSON (RFC 8259's
//!   grammar, checked with `serde::de::IgnoredAny`; see [`check_status`]);
//! - decoding the AIP-193 encoding again yields the same code.

#![no_main]

use std::time::{Duration, SystemTime};

use canon::{Encoding, Status};
use http::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;

/// The clock the decoder reads HTTP-dates against: 2023-11-14T22:13:20Z.
const NOW_SECS: u64 = 1_700_000_000;

fuzz_target!(|data: &[u8]| {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(NOW_SECS);
    let (http_status, headers, body) = split_input(data);
    let decoded = canon::decode_at(now, http_status, &headers, body);

    let advice = decoded.advice();
    assert_eq!(advice.retry_delay, decoded.retry_delay());
    let _ = decoded.request_id();

    for status in std::iter::once(&decoded.status).chain(&decoded.additional) {
        check_status(now, status);
    }
});

/// Checks the encodings of one status.
///
/// The JSON check is the grammar's, not "a `serde_json::Value` can hold
/// it": canon keeps unknown and nonconforming details as the exact text it
/// was sent, and that text may be valid JSON that `Value` refuses: a lone
/// surrogate escape such as `"\ud800"`, or a number beyond f64 such as
/// `1e400`. Checking with `Value` instead finds those at once (and with
/// them, that `canon::encode::details_json` turns the whole details list
/// of such a status into `null`).
fn check_status(now: SystemTime, status: &Status) {
    // The details as `explain --format json` shows them: one entry per
    // detail, whatever a detail holds.
    let shown = canon::encode::details_json(status);
    assert_eq!(shown.as_array().map(Vec::len), Some(status.details().len()), "status: {status:?}");
    for &encoding in Encoding::ALL {
        let encoded = canon::encode(status, encoding);
        if let Err(error) = serde_json::from_slice::<serde::de::IgnoredAny>(&encoded.body) {
            panic!(
                "the {encoding} encoding is not JSON ({error}): {}\nstatus: {status:?}",
                String::from_utf8_lossy(&encoded.body)
            );
        }
    }
    let aip193 = canon::encode(status, Encoding::Aip193);
    let again = canon::decode_at(now, aip193.http_status, &HeaderMap::new(), &aip193.body);
    assert_eq!(
        again.status.code(),
        status.code(),
        "re-decoding the AIP-193 encoding changed the code\nbody: {}\nstatus: {status:?}\nagain: {:?}",
        String::from_utf8_lossy(&aip193.body),
        again.status
    );
}

/// Splits the input into HTTP status, headers and body.
fn split_input(data: &[u8]) -> (u16, HeaderMap, &[u8]) {
    let [s0, s1, flags, len, rest @ ..] = data else {
        return (0, HeaderMap::new(), data);
    };
    let raw = u16::from_le_bytes([*s0, *s1]);
    let http_status = if raw < 1000 || flags & 0x80 != 0 { raw } else { raw % 600 };
    let len = usize::from(*len % 48).min(rest.len());
    let (value, body) = rest.split_at(len);
    (http_status, headers_from(*flags, value), body)
}

/// Builds the headers the flags ask for, each from `value`:
/// bit 0 `retry-after`, bit 1 `retry-after-ms`, bit 2 `x-request-id`,
/// bit 3 `request-id`, bit 4 `content-type: application/problem+json`,
/// bit 5 `retry-after` as an HTTP-date `value`'s first two bytes of seconds
/// after (or, for an odd first byte, before) the clock, bit 6
/// `content-type: text/html`. A value that is not a valid header value is
/// left out.
fn headers_from(flags: u8, value: &[u8]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let mut add = |name: &'static str, value: &[u8]| {
        if let Ok(value) = HeaderValue::from_bytes(value) {
            headers.append(HeaderName::from_static(name), value);
        }
    };
    if flags & 0x01 != 0 {
        add("retry-after", value);
    }
    if flags & 0x02 != 0 {
        add("retry-after-ms", value);
    }
    if flags & 0x04 != 0 {
        add("x-request-id", value);
    }
    if flags & 0x08 != 0 {
        add("request-id", value);
    }
    if flags & 0x10 != 0 {
        add("content-type", b"application/problem+json");
    }
    if flags & 0x20 != 0 {
        let offset =
            u64::from(u16::from_le_bytes([value.first().copied().unwrap_or(0), value.get(1).copied().unwrap_or(0)]));
        let secs = if offset & 1 == 1 { NOW_SECS - offset } else { NOW_SECS + offset };
        let date = httpdate::fmt_http_date(SystemTime::UNIX_EPOCH + Duration::from_secs(secs));
        add("retry-after", date.as_bytes());
    }
    if flags & 0x40 != 0 {
        add("content-type", b"text/html; charset=utf-8");
    }
    headers
}
