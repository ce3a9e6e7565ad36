//! Encoding: a [`Status`] as a response body in a dialect.
//!
//! ```
//! use canon::{encode, Code, Encoding, Status};
//!
//! let status = Status::builder(Code::NotFound, "Disk 'd-1' not found.")
//!     .error_info("DISK_NOT_FOUND", "compute.cudo.dev", [("diskId", "d-1")])
//!     .build();
//! let encoded = encode(&status, Encoding::Aip193);
//! assert_eq!(encoded.http_status, 404);
//! assert_eq!(
//!     String::from_utf8(encoded.body).unwrap(),
//!     r#"{"code":404,"status":"NOT_FOUND","message":"Disk 'd-1' not found.","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"DISK_NOT_FOUND","domain":"compute.cudo.dev","metadata":{"diskId":"d-1"}}]}"#
//! );
//! ```
//!
//! Every encoder writes [`Status::normalized`], so each standard detail
//! appears at most once. Each also suggests headers: `Retry-After` (whole
//! seconds, rounded up) when the status has a RetryInfo, and, for Gcore,
//! `x-should-retry: false` on an "already exists" conflict, because the
//! `gcore` SDK otherwise retries every 409.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use serde::ser::SerializeMap;

use crate::code::Code;
use crate::details::Detail;
use crate::gcore;
use crate::status::Status;

/// The dialects canon writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Encoding {
    /// AIP-193 bare, as CUDO sends: `{code, status, message, details}` with
    /// `code` mirroring the HTTP status.
    Aip193,
    /// Google wrapped: `{"error": {code, status, message, details}}`.
    GoogleWrapped,
    /// grpc-gateway bare: `{code, message, details}` with the gRPC number.
    GrpcGateway,
    /// Gcore: `{exception_class, message, request_id, info, invalid_fields}`.
    Gcore,
    /// RFC 9457 problem details, with canon's `code` and `details`
    /// extension members so that nothing is lost.
    Problem,
}

impl Encoding {
    /// Every encoding.
    pub const ALL: &'static [Encoding] =
        &[Encoding::Aip193, Encoding::GoogleWrapped, Encoding::GrpcGateway, Encoding::Gcore, Encoding::Problem];

    /// The stable name, the same as the matching [`Dialect`](crate::Dialect)'s.
    pub const fn as_str(self) -> &'static str {
        match self {
            Encoding::Aip193 => "aip193",
            Encoding::GoogleWrapped => "google",
            Encoding::GrpcGateway => "grpc_gateway",
            Encoding::Gcore => "gcore",
            Encoding::Problem => "problem",
        }
    }

    /// The encoding with this stable name.
    pub fn from_name(name: &str) -> Option<Encoding> {
        Encoding::ALL.iter().copied().find(|e| e.as_str() == name)
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A response ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    /// The HTTP status.
    pub http_status: u16,
    /// The content type of the body.
    pub content_type: &'static str,
    /// Headers the response should carry besides the content type.
    pub headers: Vec<(&'static str, String)>,
    /// The body.
    pub body: Vec<u8>,
}

/// Encodes a status with the HTTP status its code (or, for Gcore, its
/// class) calls for.
pub fn encode(status: &Status, encoding: Encoding) -> Encoded {
    let http_status = match encoding {
        Encoding::Gcore => gcore_row(status).http_status,
        _ => status.code().http_status(),
    };
    encode_with_http_status(status, encoding, http_status)
}

/// Encodes a status with a chosen HTTP status, for the few responses whose
/// status the code does not give (a 405, say). Where the dialect has a
/// `code` that mirrors the HTTP status, it mirrors this one.
pub fn encode_with_http_status(status: &Status, encoding: Encoding, http_status: u16) -> Encoded {
    let status = status.normalized();
    let status = status.as_ref();
    let details = Details(status.details());
    let (content_type, body) = match encoding {
        Encoding::Aip193 => (
            JSON,
            to_vec(&Bare {
                code: http_status.into(),
                status: Some(status.code().name()),
                message: status.message(),
                details,
            }),
        ),
        Encoding::GoogleWrapped => (
            JSON,
            to_vec(&Wrapped {
                error: Bare {
                    code: http_status.into(),
                    status: Some(status.code().name()),
                    message: status.message(),
                    details,
                },
            }),
        ),
        Encoding::GrpcGateway => {
            (JSON, to_vec(&Bare { code: status.code().number(), status: None, message: status.message(), details }))
        }
        Encoding::Gcore => (JSON, to_vec(&GcoreBody::new(status))),
        Encoding::Problem => (
            "application/problem+json",
            to_vec(&Problem {
                problem_type: "about:blank",
                title: http::StatusCode::from_u16(http_status).ok().and_then(|s| s.canonical_reason()).unwrap_or(""),
                status: http_status,
                detail: status.message(),
                code: status.code().name(),
                details,
            }),
        ),
    };
    let mut headers = Vec::new();
    if let Some(delay) = status.retry_delay() {
        let seconds = delay.as_secs() + u64::from(delay.subsec_nanos() > 0);
        headers.push(("retry-after", seconds.to_string()));
    }
    if encoding == Encoding::Gcore && status.code() == Code::AlreadyExists {
        headers.push(("x-should-retry", "false".to_owned()));
    }
    Encoded { http_status, content_type, headers, body }
}

/// The AIP-193 JSON of a list of details, as `explain` shows them.
///
/// A detail kept as text that a `serde_json::Value` cannot hold (a lone
/// surrogate escape, a number beyond f64) becomes that text as a JSON
/// string, and does not take the other details with it.
pub fn details_json(status: &Status) -> serde_json::Value {
    let one =
        |detail: &Detail| serde_json::to_value(detail).unwrap_or_else(|_| serde_json::Value::String(detail.to_json()));
    serde_json::Value::Array(status.details().iter().map(one).collect())
}

const JSON: &str = "application/json";

fn to_vec<T: Serialize>(value: &T) -> Vec<u8> {
    // Most error bodies are a few hundred bytes: one allocation, not several.
    let mut body = Vec::with_capacity(512);
    serde_json::to_writer(&mut body, value).expect("error bodies always serialize");
    body
}

struct Details<'a>(&'a [Detail]);

impl Serialize for Details<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0)
    }
}

#[derive(Serialize)]
struct Bare<'a> {
    code: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'static str>,
    message: &'a str,
    details: Details<'a>,
}

#[derive(Serialize)]
struct Wrapped<'a> {
    error: Bare<'a>,
}

#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    problem_type: &'static str,
    title: &'static str,
    status: u16,
    detail: &'a str,
    code: &'static str,
    details: Details<'a>,
}

fn gcore_row(status: &Status) -> &'static gcore::GcoreRow {
    let info = status.error_info().filter(|i| i.domain == gcore::DOMAIN);
    if let Some(class) = info.and_then(|i| i.metadata.get(gcore::EXCEPTION_CLASS_KEY)) {
        if let Some(row) = gcore::TABLE.iter().find(|r| r.exception_class == class && r.code == status.code()) {
            return row;
        }
    }
    gcore::row_for_status(status.code(), info.map(|i| i.reason.as_str()))
}

struct GcoreBody<'a> {
    exception_class: &'a str,
    message: &'a str,
    request_id: Option<&'a str>,
    info: Option<GcoreInfo<'a>>,
    invalid_fields: BTreeMap<&'a str, Vec<&'a str>>,
}

/// ErrorInfo metadata written back as Gcore `info`: values that are JSON
/// text (as canon reads non-string values) are written as JSON again.
struct GcoreInfo<'a>(Vec<(&'a str, &'a str)>);

impl<'a> GcoreBody<'a> {
    fn new(status: &'a Status) -> GcoreBody<'a> {
        let row = gcore_row(status);
        let info = status.error_info();
        let gcore_info = info.filter(|i| i.domain == gcore::DOMAIN);
        let exception_class = gcore_info
            .and_then(|i| i.metadata.get(gcore::EXCEPTION_CLASS_KEY))
            .map(String::as_str)
            .unwrap_or(row.exception_class);
        let entries: Vec<(&str, &str)> = info
            .map(|i| {
                i.metadata
                    .iter()
                    .filter(|(k, _)| gcore_info.is_none() || k.as_str() != gcore::EXCEPTION_CLASS_KEY)
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect()
            })
            .unwrap_or_default();
        let mut invalid_fields: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for violation in status.field_violations() {
            invalid_fields.entry(violation.field.as_str()).or_default().push(violation.description.as_str());
        }
        GcoreBody {
            exception_class,
            message: status.message(),
            request_id: status.request_id(),
            info: (!entries.is_empty()).then_some(GcoreInfo(entries)),
            invalid_fields,
        }
    }
}

impl Serialize for GcoreBody<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("exception_class", self.exception_class)?;
        map.serialize_entry("message", self.message)?;
        map.serialize_entry("request_id", &self.request_id)?;
        if let Some(info) = &self.info {
            map.serialize_entry("info", info)?;
        }
        if !self.invalid_fields.is_empty() {
            map.serialize_entry("invalid_fields", &self.invalid_fields)?;
        }
        map.end()
    }
}

impl Serialize for GcoreInfo<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            match restored_json(value) {
                Some(json) => map.serialize_entry(key, &json)?,
                None => map.serialize_entry(key, value)?,
            }
        }
        map.end()
    }
}

/// A metadata value that is the compact JSON text of a number, boolean,
/// null, array or object, as canon writes non-string `info` values into
/// metadata.
fn restored_json(value: &str) -> Option<serde_json::Value> {
    let first = value.as_bytes().first()?;
    if !(first.is_ascii_digit() || matches!(first, b'-' | b'[' | b'{' | b't' | b'f' | b'n')) {
        return None;
    }
    // Only text that is exactly how serde_json writes the value is restored,
    // so that reading the body back gives the same metadata string.
    let parsed = serde_json::from_str::<serde_json::Value>(value).ok().filter(|v| !v.is_string())?;
    let written = parsed.to_string();
    (written == value).then_some(parsed)
}
