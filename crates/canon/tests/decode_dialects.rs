//! Decoding every dialect met in practice, with the edge cases that break
//! other clients: one row per body, the exact Status expected.

use std::time::{Duration, SystemTime};

use canon::{Code, Detail, Dialect, decode_at};
use http::HeaderMap;

struct Row {
    name: &'static str,
    http: u16,
    headers: &'static [(&'static str, &'static str)],
    body: &'static [u8],
    dialect: Dialect,
    http_out: u16,
    code: Code,
    message: &'static str,
    /// `Kind` for a standard detail, `Kind!` for a nonconforming one,
    /// `?url` for an unknown one.
    details: &'static [&'static str],
}

const ROW: Row = Row {
    name: "",
    http: 0,
    headers: &[],
    body: b"",
    dialect: Dialect::Empty,
    http_out: 0,
    code: Code::Unknown,
    message: "",
    details: &[],
};

/// 2015-10-21T07:27:30Z, 30 s before the HTTP-date used below.
fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_450)
}

fn rows() -> Vec<Row> {
    vec![
        Row {
            name: "Google wrapped with a status string",
            http: 404,
            body: br#"{"error":{"code":404,"message":"Disk not found.","status":"NOT_FOUND","details":[{"@type":"type.googleapis.com/google.rpc.ResourceInfo","resourceType":"disk","resourceName":"d-1"}]}}"#,
            dialect: Dialect::GoogleWrapped,
            http_out: 404,
            code: Code::NotFound,
            message: "Disk not found.",
            details: &["ResourceInfo"],
            ..ROW
        },
        Row {
            name: "Google wrapped without status: the HTTP code decides",
            http: 409,
            body: br#"{"error":{"code":409,"message":"Conflict."}}"#,
            dialect: Dialect::GoogleWrapped,
            http_out: 409,
            code: Code::Aborted,
            message: "Conflict.",
            ..ROW
        },
        Row {
            name: "a more specific status string wins over the HTTP status",
            http: 500,
            body: br#"{"error":{"code":500,"message":"gone","status":"NOT_FOUND"}}"#,
            dialect: Dialect::GoogleWrapped,
            http_out: 500,
            code: Code::NotFound,
            message: "gone",
            ..ROW
        },
        Row {
            name: "a top-level array of wrapped errors",
            http: 503,
            body: br#"[{"error":{"code":503,"message":"first","status":"UNAVAILABLE"}},{"error":{"code":429,"message":"second","status":"RESOURCE_EXHAUSTED"}}]"#,
            dialect: Dialect::GoogleArray,
            http_out: 503,
            code: Code::Unavailable,
            message: "first",
            ..ROW
        },
        Row {
            name: "Google legacy errors[]: a quota reason on a 403 is RESOURCE_EXHAUSTED",
            http: 403,
            body: br#"{"error":{"code":403,"message":"Rate Limit Exceeded","errors":[{"domain":"usageLimits","reason":"rateLimitExceeded","message":"Rate Limit Exceeded"}]}}"#,
            dialect: Dialect::GoogleLegacy,
            http_out: 403,
            code: Code::ResourceExhausted,
            message: "Rate Limit Exceeded",
            details: &["ErrorInfo"],
            ..ROW
        },
        Row {
            name: "Google legacy errors[] with a location becomes a field violation",
            http: 400,
            body: br#"{"error":{"code":400,"message":"Invalid value","errors":[{"domain":"global","reason":"invalid","message":"Invalid value","location":"maxResults","locationType":"parameter"}]}}"#,
            dialect: Dialect::GoogleLegacy,
            http_out: 400,
            code: Code::InvalidArgument,
            message: "Invalid value",
            details: &["ErrorInfo", "BadRequest"],
            ..ROW
        },
        Row {
            name: "grpc-gateway: code is the gRPC number",
            http: 404,
            body: br#"{"code":5,"message":"vm not found","details":[]}"#,
            dialect: Dialect::GrpcGateway,
            http_out: 404,
            code: Code::NotFound,
            message: "vm not found",
            ..ROW
        },
        Row {
            name: "grpc-gateway v1 with an error string",
            http: 503,
            body: br#"{"error":"connection refused","code":14,"message":"connection refused"}"#,
            dialect: Dialect::GrpcGateway,
            http_out: 503,
            code: Code::Unavailable,
            message: "connection refused",
            ..ROW
        },
        Row {
            name: "AIP-193 bare without a status string: code is the HTTP status",
            http: 0,
            body: br#"{"code":403,"message":"nope"}"#,
            dialect: Dialect::Aip193,
            http_out: 403,
            code: Code::PermissionDenied,
            message: "nope",
            ..ROW
        },
        Row {
            name: "a Google error nested as a string in the message",
            http: 500,
            body: br#"{"error":{"code":500,"message":"{\n  \"error\": {\n    \"code\": 429,\n    \"message\": \"Quota exceeded.\",\n    \"status\": \"RESOURCE_EXHAUSTED\"\n  }\n}\n"}}"#,
            dialect: Dialect::Nested,
            http_out: 500,
            code: Code::ResourceExhausted,
            message: "Quota exceeded.",
            ..ROW
        },
        Row {
            name: "a Google error inside a text body",
            http: 502,
            body: br#"upstream said: {"code": 503, "status": "UNAVAILABLE", "message": "try later"}"#,
            dialect: Dialect::Nested,
            http_out: 502,
            code: Code::Unavailable,
            message: "try later",
            ..ROW
        },
        Row {
            name: "Gcore with an unknown class: the HTTP status decides",
            http: 422,
            body: br#"{"exception_class":"SomethingNewError","message":"new","request_id":"r"}"#,
            dialect: Dialect::Gcore,
            http_out: 422,
            code: Code::FailedPrecondition,
            message: "new",
            details: &["ErrorInfo", "RequestInfo"],
            ..ROW
        },
        Row {
            name: "problem+json by content type",
            http: 404,
            headers: &[("content-type", "application/problem+json; charset=utf-8")],
            body: br#"{"type":"https://example.com/probs/no-disk","title":"No such disk","status":404,"detail":"Disk d-1 does not exist.","instance":"/disks/d-1"}"#,
            dialect: Dialect::Problem,
            http_out: 404,
            code: Code::NotFound,
            message: "Disk d-1 does not exist.",
            details: &["Help", "ResourceInfo"],
        },
        Row {
            name: "problem+json by its members",
            http: 0,
            body: br#"{"title":"Too Many Requests","status":429}"#,
            dialect: Dialect::Problem,
            http_out: 429,
            code: Code::ResourceExhausted,
            message: "Too Many Requests",
            ..ROW
        },
        Row {
            name: "an HTML 502 from a proxy is UNAVAILABLE",
            http: 502,
            body: b"<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>",
            dialect: Dialect::Html,
            http_out: 502,
            code: Code::Unavailable,
            message: "502 Bad Gateway",
            ..ROW
        },
        Row {
            name: "an HTML 504 keeps DEADLINE_EXCEEDED",
            http: 504,
            body: b"<!DOCTYPE html>\n<html><body><h1>Gateway Timeout</h1></body></html>",
            dialect: Dialect::Html,
            http_out: 504,
            code: Code::DeadlineExceeded,
            message: "Gateway Timeout",
            ..ROW
        },
        Row {
            name: "a text/plain 429",
            http: 429,
            body: b"Too many requests, slow down.\n",
            dialect: Dialect::Text,
            http_out: 429,
            code: Code::ResourceExhausted,
            message: "Too many requests, slow down.",
            ..ROW
        },
        Row {
            name: "an empty 503 with Retry-After",
            http: 503,
            headers: &[("retry-after", "120"), ("x-request-id", "abc")],
            body: b"",
            dialect: Dialect::Empty,
            http_out: 503,
            code: Code::Unavailable,
            message: "Service Unavailable",
            details: &["RetryInfo", "RequestInfo"],
        },
        Row {
            name: "an HTTP-date Retry-After is read against the given time",
            http: 503,
            headers: &[("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")],
            body: b"   ",
            dialect: Dialect::Empty,
            http_out: 503,
            code: Code::Unavailable,
            message: "Service Unavailable",
            details: &["RetryInfo"],
        },
        Row {
            name: "JSON of no known dialect",
            http: 400,
            body: br#"{"msg":"bad thing","ok":false}"#,
            dialect: Dialect::Json,
            http_out: 400,
            code: Code::InvalidArgument,
            message: "bad thing",
            ..ROW
        },
        Row {
            name: "broken JSON is text",
            http: 500,
            body: br#"{"code": 500, "message": "cut sho"#,
            dialect: Dialect::Text,
            http_out: 500,
            code: Code::Internal,
            message: r#"{"code": 500, "message": "cut sho"#,
            ..ROW
        },
        Row {
            name: "invalid UTF-8 is text, read lossily",
            http: 500,
            body: b"bad \xff byte",
            dialect: Dialect::Text,
            http_out: 500,
            code: Code::Internal,
            message: "bad \u{fffd} byte",
            ..ROW
        },
        Row {
            name: "unknown and broken details are kept, proto names accepted",
            http: 400,
            body: br#"{"code":400,"status":"INVALID_ARGUMENT","message":"m","details":[
                {"@type":"type.example.com/acme.Custom","x":[1,{"y":2}]},
                {"@type":"type.googleapis.com/google.rpc.RetryInfo","retry_delay":"1.5s"},
                {"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quota_value":16}]},
                {"@type":"type.googleapis.com/google.rpc.Help","links":[{"url":"https://x"}],"extra":1},
                {"no_type":true},
                "just a string"]}"#,
            dialect: Dialect::Aip193,
            http_out: 400,
            code: Code::InvalidArgument,
            message: "m",
            details: &["?type.example.com/acme.Custom", "RetryInfo", "QuotaFailure", "Help!", "?", "?"],
            ..ROW
        },
        Row {
            name: "details that are not an array are kept whole",
            http: 400,
            body: br#"{"code":400,"status":"INVALID_ARGUMENT","message":"m","details":{"a":1}}"#,
            dialect: Dialect::Aip193,
            http_out: 400,
            code: Code::InvalidArgument,
            message: "m",
            details: &["?"],
            ..ROW
        },
    ]
}

fn label(detail: &Detail) -> String {
    match detail {
        Detail::Unknown(u) => format!("?{}", u.type_url()),
        Detail::Nonconforming(n) => format!("{}!", n.kind()),
        other => other.kind().unwrap().to_string(),
    }
}

#[test]
fn every_dialect_decodes_to_the_expected_status() {
    for row in rows() {
        let mut headers = HeaderMap::new();
        for (name, value) in row.headers {
            headers.insert(*name, value.parse().unwrap());
        }
        let decoded = decode_at(now(), row.http, &headers, row.body);
        let name = row.name;
        assert_eq!(decoded.dialect, row.dialect, "{name}");
        assert_eq!(decoded.http_status, row.http_out, "{name}");
        assert_eq!(decoded.status.code(), row.code, "{name}");
        assert_eq!(decoded.status.message(), row.message, "{name}");
        let details: Vec<String> = decoded.status.details().iter().map(label).collect();
        assert_eq!(details, row.details, "{name}");
    }
}

#[test]
fn the_array_keeps_every_error() {
    let body = br#"[{"error":{"code":503,"message":"first","status":"UNAVAILABLE"}},{"error":{"code":429,"message":"second","status":"RESOURCE_EXHAUSTED"}}]"#;
    let decoded = decode_at(now(), 503, &HeaderMap::new(), body);
    let additional: Vec<String> = decoded.additional.iter().map(ToString::to_string).collect();
    assert_eq!(additional, ["RESOURCE_EXHAUSTED: second"]);
}

#[test]
fn unknown_details_encode_back_to_the_exact_text() {
    let detail = r#"{"@type":"type.example.com/acme.Custom","x":[1,{"y":2}],"z":"é"}"#;
    let body = format!(r#"{{"code":400,"status":"INVALID_ARGUMENT","message":"m","details":[{detail}]}}"#);
    let decoded = decode_at(now(), 400, &HeaderMap::new(), body.as_bytes());
    let encoded = canon::encode(&decoded.status, canon::Encoding::GoogleWrapped);
    let text = String::from_utf8(encoded.body).unwrap();
    assert!(text.contains(detail), "{text}");
}

#[test]
fn the_longer_of_retry_info_and_retry_after_is_the_hint() {
    let body = br#"{"code":503,"status":"UNAVAILABLE","message":"m","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"5s"}]}"#;
    let table: &[(&str, u64)] = &[("2", 5_000), ("9", 9_000), ("garbage", 5_000), ("-3", 5_000)];
    for (retry_after, expected_ms) in table {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", retry_after.parse().unwrap());
        let decoded = decode_at(now(), 503, &headers, body);
        assert_eq!(decoded.retry_delay(), Some(Duration::from_millis(*expected_ms)), "{retry_after}");
        assert_eq!(decoded.advice().retry_delay, Some(Duration::from_millis(*expected_ms)), "{retry_after}");
    }
}

#[test]
fn a_negative_retry_delay_is_no_hint() {
    let body = br#"{"code":503,"status":"UNAVAILABLE","message":"m","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"-5s"}]}"#;
    let decoded = decode_at(now(), 503, &HeaderMap::new(), body);
    assert_eq!(decoded.retry_delay(), None);
    assert_eq!(decoded.advice().retry, canon::RetryKind::Backoff);
}

#[test]
fn details_a_json_value_cannot_hold_are_shown_as_their_text() {
    // Valid JSON that serde_json::Value refuses: a lone surrogate escape and
    // a number beyond f64. The other details must not be lost with them.
    let table: &[(&[u8], &str)] = &[
        (
            br#"{"code":400,"status":"INVALID_ARGUMENT","message":"x","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"R","domain":"d"},{"@type":"type.googleapis.com/acme.Custom","s":"\ud800"}]}"#,
            r#"{"@type":"type.googleapis.com/acme.Custom","s":"\ud800"}"#,
        ),
        (
            br#"{"code":429,"status":"RESOURCE_EXHAUSTED","message":"q","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"R","domain":"d"},{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaValue":1e400}]}]}"#,
            r#"{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaValue":1e400}]}"#,
        ),
    ];
    for (body, kept) in table {
        let decoded = decode_at(now(), 0, &HeaderMap::new(), body);
        let shown = canon::encode::details_json(&decoded.status);
        let expected = serde_json::json!([
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "R", "domain": "d"},
            kept,
        ]);
        assert_eq!(shown, expected);
    }
}
