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
//!
//! The bodies are written by hand into one buffer sized up front, without
//! serde, and are byte for byte what `serde_json` writes for the same
//! structure (its escaping included); a property test holds the writer to
//! the serde_json reference for every encoding.

use std::collections::BTreeMap;
use std::fmt;

use crate::code::Code;
use crate::details::Detail;
use crate::gcore;
use crate::json::{self, Object};
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
    encode_with_http_status(status, encoding, default_http_status(status, encoding))
}

/// Encodes a status with a chosen HTTP status, for the few responses whose
/// status the code does not give (a 405, say). Where the dialect has a
/// `code` that mirrors the HTTP status, it mirrors this one.
pub fn encode_with_http_status(status: &Status, encoding: Encoding, http_status: u16) -> Encoded {
    encode_parts(status, encoding, http_status, None)
}

/// Encodes a status as the answer to the request whose id is
/// `request_id`, as a server does for every error it sends.
///
/// The result is byte for byte that of encoding the status with the id in
/// its RequestInfo: a status that has a RequestInfo has that detail's
/// `request_id` replaced; one that has none is written as if it ended
/// with a RequestInfo that carries only the id. In the Gcore dialect the
/// id is the body's `request_id` (unless the status has a nonconforming
/// RequestInfo, whose reading comes first there, as it would with the id
/// in the status). The common case, a status without a RequestInfo, costs
/// no copy of the status and no RequestInfo.
///
/// `http_status` chooses the HTTP status as for
/// [`encode_with_http_status`]; `None` takes the code's, as [`encode`]
/// does.
///
/// ```
/// use canon::encode::encode_for_request;
/// use canon::{Code, Encoding, Status};
///
/// let status = Status::new(Code::NotFound, "No such disk.");
/// let encoded = encode_for_request(&status, Encoding::Aip193, None, "req-42");
/// assert_eq!(encoded.http_status, 404);
/// assert_eq!(
///     String::from_utf8(encoded.body).unwrap(),
///     r#"{"code":404,"status":"NOT_FOUND","message":"No such disk.","details":[{"@type":"type.googleapis.com/google.rpc.RequestInfo","requestId":"req-42"}]}"#
/// );
/// let gcore = encode_for_request(&status, Encoding::Gcore, None, "req-42");
/// assert!(String::from_utf8(gcore.body).unwrap().contains(r#""request_id":"req-42""#));
/// ```
pub fn encode_for_request(status: &Status, encoding: Encoding, http_status: Option<u16>, request_id: &str) -> Encoded {
    let http_status = http_status.unwrap_or_else(|| default_http_status(status, encoding));
    if status.details().iter().any(|detail| matches!(detail, Detail::RequestInfo(_))) {
        // Rare: the status brings its own RequestInfo, whose other fields
        // are kept.
        let mut status = status.clone();
        for detail in status.details_mut() {
            if let Detail::RequestInfo(info) = detail {
                request_id.clone_into(&mut info.request_id);
            }
        }
        return encode_parts(&status, encoding, http_status, None);
    }
    encode_parts(status, encoding, http_status, Some(request_id))
}

/// The HTTP status of a status's code, or for Gcore of its class.
fn default_http_status(status: &Status, encoding: Encoding) -> u16 {
    match encoding {
        Encoding::Gcore => gcore_row(status).http_status,
        _ => status.code().http_status(),
    }
}

/// Encodes a status; `request_id`, when given, is written as a RequestInfo
/// after the status's own details (which then hold none).
fn encode_parts(status: &Status, encoding: Encoding, http_status: u16, request_id: Option<&str>) -> Encoded {
    let status = status.normalized();
    let status = status.as_ref();
    let content_type = match encoding {
        Encoding::Problem => "application/problem+json",
        _ => JSON,
    };
    let body = write_body(status, encoding, http_status, request_id);
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

/// Writes the body of a normalized status, by hand: see [`json`]. A
/// `request_id` is written as a last RequestInfo (see [`encode_parts`]).
fn write_body(status: &Status, encoding: Encoding, http_status: u16, request_id: Option<&str>) -> Vec<u8> {
    let details = status.details();
    // Sized once for the common case, a body whose strings need no escapes.
    let estimate = 128
        + status.message().len()
        + details.iter().map(json::estimated_len).sum::<usize>()
        + request_id.map_or(0, |id| id.len() + 80);
    let mut body = Vec::with_capacity(estimate);
    let out = &mut body;
    match encoding {
        Encoding::Aip193 => write_bare(out, status, http_status.into(), true, request_id),
        Encoding::GoogleWrapped => {
            let mut wrapper = Object::open(out);
            write_bare(wrapper.key("error"), status, http_status.into(), true, request_id);
            wrapper.close();
        }
        Encoding::GrpcGateway => write_bare(out, status, status.code().number(), false, request_id),
        Encoding::Gcore => {
            let mut gcore = GcoreBody::new(status);
            // The body's `request_id` is the first RequestInfo's, which is
            // a nonconforming one's reading if the status has one.
            if let (Some(request_id), None) = (request_id, status.request_info()) {
                gcore.request_id = Some(request_id).filter(|id| !id.is_empty());
            }
            gcore.write(out);
        }
        Encoding::Problem => {
            let title = http::StatusCode::from_u16(http_status).ok().and_then(|s| s.canonical_reason()).unwrap_or("");
            let mut object = Object::open(out);
            object.plain_str("type", "about:blank");
            object.str("title", title);
            json::write_int(object.key("status"), http_status.into());
            object.str("detail", status.message());
            object.plain_str("code", status.code().name());
            json::write_details(object.key("details"), details, request_id);
            object.close();
        }
    }
    body
}

/// `{code, status, message, details}`, `status` only when asked for.
fn write_bare(out: &mut Vec<u8>, status: &Status, code: i32, with_status: bool, request_id: Option<&str>) {
    // The members are always the same and in the same order, so their
    // keys and punctuation are written as whole pieces.
    out.extend_from_slice(br#"{"code":"#);
    json::write_int(out, code.into());
    if with_status {
        out.extend_from_slice(br#","status":""#);
        out.extend_from_slice(status.code().name().as_bytes());
        out.extend_from_slice(br#"","message":"#);
    } else {
        out.extend_from_slice(br#","message":"#);
    }
    json::write_str(out, status.message());
    out.extend_from_slice(br#","details":"#);
    json::write_details(out, status.details(), request_id);
    out.push(b'}');
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

fn gcore_row(status: &Status) -> &'static gcore::GcoreRow {
    let info = status.error_info().filter(|i| i.domain == gcore::DOMAIN);
    if let Some(class) = info.and_then(|i| i.metadata.get(gcore::EXCEPTION_CLASS_KEY)) {
        if let Some(row) = gcore::TABLE.iter().find(|r| r.exception_class == class && r.code == status.code()) {
            return row;
        }
    }
    gcore::row_for_status(status.code(), info.map(|i| i.reason.as_ref()))
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
            .map(AsRef::as_ref)
            .unwrap_or(row.exception_class);
        let entries: Vec<(&str, &str)> = info
            .map(|i| {
                i.metadata
                    .iter()
                    .filter(|(k, _)| gcore_info.is_none() || *k != gcore::EXCEPTION_CLASS_KEY)
                    .map(|(k, v)| (k.as_ref(), v.as_ref()))
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

impl GcoreBody<'_> {
    fn write(&self, out: &mut Vec<u8>) {
        let mut object = Object::open(out);
        object.str("exception_class", self.exception_class);
        object.str("message", self.message);
        match self.request_id {
            Some(request_id) => object.str("request_id", request_id),
            None => object.key("request_id").extend_from_slice(b"null"),
        }
        if let Some(info) = &self.info {
            let mut entries = Object::open(object.key("info"));
            for (key, value) in &info.0 {
                let out = entries.escaped_key(key);
                if is_restorable_json(value) {
                    out.extend_from_slice(value.as_bytes());
                } else {
                    json::write_str(out, value);
                }
            }
            entries.close();
        }
        if !self.invalid_fields.is_empty() {
            let mut fields = Object::open(object.key("invalid_fields"));
            for (field, descriptions) in &self.invalid_fields {
                json::write_array(fields.escaped_key(field), descriptions, |out, d| json::write_str(out, d));
            }
            fields.close();
        }
        object.close();
    }
}

/// Whether a metadata value is written back as the JSON it holds (see
/// [`restored_json`]). Such a value is exactly how serde_json writes it,
/// so it is written as it is.
fn is_restorable_json(value: &str) -> bool {
    restored_json(value).is_some()
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

/// The serde_json encoders this module used before it wrote bodies by hand,
/// kept as the reference the hand-written ones must match byte for byte.
#[cfg(test)]
mod serde_reference {
    use serde::Serialize;
    use serde::ser::SerializeMap;

    use super::{Encoding, GcoreBody, GcoreInfo, restored_json};
    use crate::details::Detail;
    use crate::status::Status;

    /// The body `encode_with_http_status` wrote with serde_json.
    pub(super) fn body(status: &Status, encoding: Encoding, http_status: u16) -> Vec<u8> {
        let status = status.normalized();
        let status = status.as_ref();
        let details = Details(status.details());
        match encoding {
            Encoding::Aip193 => to_vec(&Bare {
                code: http_status.into(),
                status: Some(status.code().name()),
                message: status.message(),
                details,
            }),
            Encoding::GoogleWrapped => to_vec(&Wrapped {
                error: Bare {
                    code: http_status.into(),
                    status: Some(status.code().name()),
                    message: status.message(),
                    details,
                },
            }),
            Encoding::GrpcGateway => {
                to_vec(&Bare { code: status.code().number(), status: None, message: status.message(), details })
            }
            Encoding::Gcore => to_vec(&GcoreBody::new(status)),
            Encoding::Problem => to_vec(&Problem {
                problem_type: "about:blank",
                title: http::StatusCode::from_u16(http_status).ok().and_then(|s| s.canonical_reason()).unwrap_or(""),
                status: http_status,
                detail: status.message(),
                code: status.code().name(),
                details,
            }),
        }
    }

    fn to_vec<T: Serialize>(value: &T) -> Vec<u8> {
        serde_json::to_vec(value).expect("error bodies always serialize")
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
}

// The strategies for every standard detail, shared with
// `tests/roundtrip.rs`.
#[cfg(test)]
#[path = "../tests/strategies/mod.rs"]
mod strategies;

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;
    use serde_json::value::RawValue;

    use super::*;
    use crate::details::*;
    use crate::duration::ProtoDuration;

    /// Text with everything JSON escaping has to handle: quotes,
    /// backslashes, every control character, DEL, non-ASCII and astral
    /// characters, and arbitrary Unicode now and then.
    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => "[a-zA-Z0-9 ._:/-]{0,12}",
            4 => "[a-z\"\\\\\\x00-\\x1f\\x7f\u{80}\u{2028}éß漢😀 ]{0,16}",
            1 => any::<String>(),
        ]
    }

    /// Metadata values, some of them the JSON text of a number, boolean,
    /// null, array or object (which Gcore writes back as JSON), some
    /// almost (which it must not).
    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            3 => text(),
            1 => prop::sample::select(vec![
                "0", "12", "-3", "1.5", "1e3", "01", "-", "true", "false", "null", "nul", "[1,2]", "[1, 2]",
                r#"{"a":1}"#, r#"{"b":[true,null]}"#, "{}", "[]", r#"["x","y"]"#, "t", "9007199254740993",
            ])
            .prop_map(str::to_owned),
        ]
    }

    fn map() -> impl Strategy<Value = BTreeMap<String, String>> {
        prop::collection::btree_map(prop_oneof![3 => "[a-z][a-zA-Z]{0,6}", 1 => text()], value(), 0..4)
    }

    fn duration() -> impl Strategy<Value = ProtoDuration> {
        (-crate::duration::MAX_SECONDS..=crate::duration::MAX_SECONDS, 0i32..1_000_000_000, 0usize..4).prop_map(
            |(seconds, nanos, precision)| {
                // Whole seconds, milliseconds, microseconds or nanoseconds.
                let nanos = [0, nanos / 1_000_000 * 1_000_000, nanos / 1_000 * 1_000, nanos][precision];
                let nanos = if seconds < 0 { -nanos } else { nanos };
                ProtoDuration::new(seconds, nanos).expect("in range")
            },
        )
    }

    fn localized() -> impl Strategy<Value = LocalizedMessage> {
        (text(), text()).prop_map(|(locale, message)| LocalizedMessage { locale, message })
    }

    fn standard_detail() -> impl Strategy<Value = Detail> {
        let gcore_info = (prop::sample::select(vec!["ValidationError", "NotFoundError", "Other"]), map()).prop_map(
            |(class, metadata)| {
                let mut metadata: BTreeMap<Text, Text> =
                    metadata.into_iter().map(|(key, value)| (key.into(), value.into())).collect();
                metadata.insert(gcore::EXCEPTION_CLASS_KEY.into(), class.into());
                ErrorInfo { reason: "".into(), domain: gcore::DOMAIN.into(), metadata }.into()
            },
        );
        prop_oneof![10 => super::strategies::standard_detail_with(text, map, duration, localized), 1 => gcore_info]
    }

    /// Details kept as text: unknown types (built, or read with odd
    /// spacing and escapes), and standard types that break their schema.
    fn text_detail() -> impl Strategy<Value = Detail> {
        prop_oneof![
            ("[a-z]{1,8}\\.[A-Z][a-z]{1,8}", map()).prop_map(|(name, fields)| {
                let fields = fields.into_iter().map(|(k, v)| (k, serde_json::Value::String(v))).collect();
                Detail::Unknown(UnknownDetail::new(&format!("type.example.com/{name}"), fields))
            }),
            prop::sample::select(vec![
                r#" { "@type" : "type.example.com/x.Y" , "a" : [1, 2.50, "\u00e9\n"] } "#,
                r#"{"no":"type"}"#,
                r#""just a string""#,
                r#"{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"R","metadata":{"list":["a","b"]}}"#,
                r#"{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":30}"#,
                r#"{"@type":"type.googleapis.com/google.rpc.BadRequest","fieldViolations":[{"field":"a","extra":1}]}"#,
                r#"{"@type":"type.googleapis.com/google.rpc.RequestInfo","requestId":7}"#,
                r#"{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":{"x":1}}"#,
            ])
            .prop_map(Detail::from_json),
            text().prop_map(|text| {
                let json = serde_json::Value::String(text).to_string();
                Detail::Unknown(UnknownDetail::from_raw(RawValue::from_string(json).expect("a string is JSON")))
            }),
        ]
    }

    /// Statuses whose details are kept as given: duplicates included, so
    /// that normalizing is part of what is compared.
    fn status() -> impl Strategy<Value = Status> {
        let code = (0usize..17).prop_map(|i| Code::ALL[i]);
        let details = prop::collection::vec(prop_oneof![4 => standard_detail(), 1 => text_detail()], 0..6);
        (code, text(), details).prop_map(|(code, message, details)| Status::with_details(code, message, details))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn hand_written_bodies_equal_serde_json_bytes(
            status in status(),
            http_status in prop_oneof![Just(None), (100u16..1000).prop_map(Some)],
        ) {
            for &encoding in Encoding::ALL {
                let encoded = match http_status {
                    Some(http_status) => encode_with_http_status(&status, encoding, http_status),
                    None => encode(&status, encoding),
                };
                let reference = serde_reference::body(&status, encoding, encoded.http_status);
                prop_assert_eq!(
                    String::from_utf8_lossy(&encoded.body),
                    String::from_utf8_lossy(&reference),
                    "{}", encoding
                );
                prop_assert_eq!(&encoded.body, &reference);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        #[test]
        fn a_request_id_is_written_as_the_status_with_it_in_request_info(
            status in status(),
            request_id in prop_oneof![4 => "[a-f0-9-]{36}", 1 => text()],
            http_status in prop_oneof![Just(None), (100u16..1000).prop_map(Some)],
        ) {
            // The reference: the id put into the status, as a server did
            // before `encode_for_request`.
            let mut with_id = status.clone();
            let details = with_id.details_mut();
            if details.iter().any(|d| matches!(d, Detail::RequestInfo(_))) {
                for detail in details.iter_mut() {
                    if let Detail::RequestInfo(info) = detail {
                        info.request_id = request_id.clone();
                    }
                }
            } else {
                details.push(RequestInfo::new(request_id.as_str()).into());
            }
            for &encoding in Encoding::ALL {
                let encoded = encode_for_request(&status, encoding, http_status, &request_id);
                let reference = match http_status {
                    Some(http_status) => encode_with_http_status(&with_id, encoding, http_status),
                    None => encode(&with_id, encoding),
                };
                prop_assert_eq!(
                    String::from_utf8_lossy(&encoded.body),
                    String::from_utf8_lossy(&reference.body),
                    "{}", encoding
                );
                prop_assert_eq!(&encoded, &reference, "{}", encoding);
            }
        }
    }

    #[test]
    fn an_escape_is_found_at_every_position_of_every_length() {
        // The clean-prefix scan reads eight bytes at a time and the last
        // eight once more: each byte that needs escaping, and its nearest
        // neighbours that do not, at each position of strings of 0 to 24
        // bytes.
        for len in 0..=24 {
            let clean = "a".repeat(len);
            let mut written = Vec::new();
            json::write_str(&mut written, &clean);
            assert_eq!(written, serde_json::to_vec(&clean).unwrap(), "{clean:?}");
            for at in 0..len {
                for special in ['\0', '\u{1f}', ' ', '!', '"', '#', '[', '\\', ']', '\u{7f}'] {
                    let mut text = clean.clone();
                    text.replace_range(at..=at, special.encode_utf8(&mut [0; 4]));
                    let mut written = Vec::new();
                    json::write_str(&mut written, &text);
                    assert_eq!(written, serde_json::to_vec(&text).unwrap(), "{text:?}");
                }
            }
        }
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        let every_byte: String = (0u8..0x80).map(char::from).chain(['é', '\u{2028}', '😀']).collect();
        let mut written = Vec::new();
        json::write_str(&mut written, &every_byte);
        assert_eq!(written, serde_json::to_vec(&every_byte).unwrap());
    }
}
