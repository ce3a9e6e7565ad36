//! Decoding: any error response, in any dialect, to a [`Status`].
//!
//! [`decode`] is the one entry point. It takes the HTTP status, the
//! headers and the body bytes, never fails and never panics, and always
//! yields a [`Decoded`]: the Status, the [`Dialect`] it recognised, the
//! HTTP status and what the headers added.
//!
//! ```
//! use canon::{decode, Code, Dialect};
//! use http::HeaderMap;
//!
//! let body = br#"{"error":{"code":404,"message":"Disk not found.","status":"NOT_FOUND"}}"#;
//! let decoded = decode(404, &HeaderMap::new(), body);
//! assert_eq!(decoded.dialect, Dialect::GoogleWrapped);
//! assert_eq!(decoded.status.code(), Code::NotFound);
//! assert_eq!(decoded.status.message(), "Disk not found.");
//! ```
//!
//! # How the code is chosen
//!
//! A more specific code in the body wins over the HTTP status: the
//! `status` string of an AIP-193 body, the gRPC number of a grpc-gateway
//! body, the `exception_class` of a Gcore body, canon's `code` extension
//! of a problem+json body, and the quota reasons of a legacy Google body.
//! Only when the body has none is the code read from the HTTP status (see
//! [`Code::from_http_status`]). A body without JSON (an HTML page from a
//! proxy, plain text, nothing) is read from the HTTP status alone, with
//! one change: 502 becomes UNAVAILABLE rather than INTERNAL, as gRPC's own
//! HTTP mapping has it, since a proxy's 502 means the server behind it
//! could not be reached.
//!
//! # What the headers add
//!
//! The headers are read by [`HeaderHints`]. When the body has no
//! RetryInfo, a `Retry-After` (or `retry-after-ms`) becomes one; when it
//! has no RequestInfo, an `x-request-id` (or `request-id`) becomes one. The
//! raw hints stay in [`Decoded::header_hints`], and when both a header and
//! a RetryInfo give a delay, [`Decoded::retry_delay`] takes the longer, so
//! that a client that follows it honours both.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, SystemTime};

use http::HeaderMap;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::code::Code;
use crate::details::{
    BadRequest, Detail, ErrorInfo, FieldViolation, Help, HelpLink, QuotaFailure, QuotaViolation, RequestInfo,
    ResourceInfo, RetryInfo, UnknownDetail,
};
use crate::gcore;
use crate::headers::HeaderHints;
use crate::status::Status;

/// The shape an error body arrived in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Dialect {
    /// AIP-193 bare: `{code, status, message, details}` with `code` the
    /// HTTP status, as CUDO sends.
    Aip193,
    /// Google wrapped: `{"error": {code, status, message, details}}`.
    GoogleWrapped,
    /// A top-level JSON array of Google wrapped errors.
    GoogleArray,
    /// Google's legacy form, `{"error": {code, message, errors: [...]}}`.
    GoogleLegacy,
    /// grpc-gateway bare: `{code, message, details}` with `code` the gRPC
    /// number.
    GrpcGateway,
    /// A whole Google error JSON nested as a string inside a `message` (or
    /// a text body), as proxies and SDKs do.
    Nested,
    /// Gcore: `{exception_class, message, request_id, info, invalid_fields}`.
    Gcore,
    /// RFC 9457 problem details (`application/problem+json`).
    Problem,
    /// A JSON body of no known dialect.
    Json,
    /// An HTML page, typically from a proxy.
    Html,
    /// A plain-text body.
    Text,
    /// No body at all.
    Empty,
}

impl Dialect {
    /// Every dialect.
    pub const ALL: &'static [Dialect] = &[
        Dialect::Aip193,
        Dialect::GoogleWrapped,
        Dialect::GoogleArray,
        Dialect::GoogleLegacy,
        Dialect::GrpcGateway,
        Dialect::Nested,
        Dialect::Gcore,
        Dialect::Problem,
        Dialect::Json,
        Dialect::Html,
        Dialect::Text,
        Dialect::Empty,
    ];

    /// The stable name used in JSON output, such as `aip193` or `gcore`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Dialect::Aip193 => "aip193",
            Dialect::GoogleWrapped => "google",
            Dialect::GoogleArray => "google_array",
            Dialect::GoogleLegacy => "google_legacy",
            Dialect::GrpcGateway => "grpc_gateway",
            Dialect::Nested => "nested",
            Dialect::Gcore => "gcore",
            Dialect::Problem => "problem",
            Dialect::Json => "json",
            Dialect::Html => "html",
            Dialect::Text => "text",
            Dialect::Empty => "empty",
        }
    }

    /// The dialect with this stable name.
    pub fn from_name(name: &str) -> Option<Dialect> {
        Dialect::ALL.iter().copied().find(|d| d.as_str() == name)
    }

    /// Whose handling advice applies to errors in this dialect: Gcore's
    /// table for Gcore bodies, the CUDO page's (AIP-193) for the rest.
    pub const fn provider(self) -> Provider {
        match self {
            Dialect::Gcore => Provider::Gcore,
            _ => Provider::Cudo,
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whose handling table applies to an error. See [`crate::advice`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Provider {
    /// The CUDO page's client handling guidance, which follows AIP-193 and
    /// applies to every Google-family dialect and to bodies of no dialect.
    Cudo,
    /// The Gcore page's retry table.
    Gcore,
}

impl Provider {
    /// The stable name: `cudo` or `gcore`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Provider::Cudo => "cudo",
            Provider::Gcore => "gcore",
        }
    }
}

/// A decoded error response.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// The dialect the body was recognised as.
    pub dialect: Dialect,
    /// The HTTP status: as given, or, when the caller passed 0 for "not
    /// known", the one the body implies.
    pub http_status: u16,
    /// The error, with the header hints folded in (see the module docs).
    pub status: Status,
    /// What the headers said, as read.
    pub header_hints: HeaderHints,
    /// Further errors, when the body was an array of several.
    pub additional: Vec<Status>,
}

impl Decoded {
    /// The request id: from the body, else from the headers.
    pub fn request_id(&self) -> Option<&str> {
        self.status.request_id().or(self.header_hints.request_id.as_deref())
    }

    /// The server's retry hint: the longer of RetryInfo and the
    /// `Retry-After` header, when either is present.
    pub fn retry_delay(&self) -> Option<Duration> {
        match (self.status.retry_delay(), self.header_hints.retry_after) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }
}

/// Decodes an error response. `http_status` 0 means "not known": the code
/// then comes from the body alone. HTTP-dates in `Retry-After` are read
/// against the system clock; see [`decode_at`] to pass the time.
pub fn decode(http_status: u16, headers: &HeaderMap, body: &[u8]) -> Decoded {
    decode_at(SystemTime::now(), http_status, headers, body)
}

/// [`decode`] with `now` as the base for an HTTP-date `Retry-After`.
pub fn decode_at(now: SystemTime, http_status: u16, headers: &HeaderMap, body: &[u8]) -> Decoded {
    let header_hints = if headers.is_empty() { HeaderHints::default() } else { HeaderHints::read(headers, now) };
    let problem_content_type = !headers.is_empty()
        && headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("application/problem+json"));
    let body_only = decode_body(http_status, problem_content_type, body, 0);
    let mut status = body_only.status;
    if status.retry_info().is_none() {
        if let Some(delay) = header_hints.retry_after {
            status.details_mut().push(Detail::RetryInfo(RetryInfo::new(delay)));
        }
    }
    if status.request_info().is_none() {
        if let Some(id) = &header_hints.request_id {
            status.details_mut().push(Detail::RequestInfo(RequestInfo::new(id.clone())));
        }
    }
    let http_status = if http_status == 0 { body_only.http_status } else { http_status };
    Decoded { dialect: body_only.dialect, http_status, status, header_hints, additional: body_only.additional }
}

/// What the body alone says.
struct BodyOnly {
    dialect: Dialect,
    http_status: u16,
    status: Status,
    additional: Vec<Status>,
}

/// How deep a Google error may be nested in message strings.
const MAX_NESTING: u8 = 3;

/// Decodes the body alone. `http` 0 means unknown.
fn decode_body(http: u16, problem_content_type: bool, body: &[u8], depth: u8) -> BodyOnly {
    let trimmed = body.trim_ascii();
    let decoded = match trimmed.first() {
        None => None,
        // From a str when the body is UTF-8, so that the raw values are
        // not validated again one by one.
        Some(b'{') => match std::str::from_utf8(trimmed) {
            Ok(text) => fields_from_str(text),
            Err(_) => {
                serde_json::from_slice::<Fields<'_>>(trimmed).ok().and_then(|fields| fields.with_raw_details(trimmed))
            }
        }
        .map(|fields| decode_object(&fields, http, problem_content_type)),
        Some(b'[') => decode_array(trimmed, http),
        Some(_) => None,
    };
    let mut decoded = match decoded {
        Some(decoded) => decoded,
        None => decode_non_json(http, trimmed),
    };
    // A Google error nested as a string in the message, or as a text body.
    if depth < MAX_NESTING && decoded.status.details().is_empty() && decoded.additional.is_empty() {
        if let Some(inner) = nested(decoded.status.message(), http, depth) {
            decoded = inner;
        }
    }
    decoded
}

/// Looks for a Google-family error JSON inside a message.
fn nested(message: &str, http: u16, depth: u8) -> Option<BodyOnly> {
    let start = message.find('{')?;
    let end = message.rfind('}')?;
    if end <= start {
        return None;
    }
    let inner = decode_body(http, false, &message.as_bytes()[start..=end], depth + 1);
    let google = matches!(
        inner.dialect,
        Dialect::Aip193 | Dialect::GoogleWrapped | Dialect::GoogleLegacy | Dialect::GrpcGateway | Dialect::Nested
    );
    google.then_some(BodyOnly { dialect: Dialect::Nested, ..inner })
}

/// Every top-level field any JSON dialect uses. Unknown fields are skipped
/// without being built.
#[derive(Deserialize, Default)]
struct Fields<'a> {
    #[serde(borrow, default)]
    code: Option<Scalar<'a>>,
    #[serde(borrow, default)]
    status: Option<Scalar<'a>>,
    #[serde(borrow, default)]
    message: Option<Scalar<'a>>,
    #[serde(borrow, default)]
    details: Option<DetailsField<'a>>,
    #[serde(borrow, default)]
    error: Option<&'a RawValue>,
    #[serde(borrow, default)]
    errors: Option<&'a RawValue>,
    #[serde(borrow, default)]
    exception_class: Option<Scalar<'a>>,
    #[serde(borrow, default)]
    request_id: Option<Scalar<'a>>,
    #[serde(borrow, default)]
    info: Option<&'a RawValue>,
    #[serde(borrow, default)]
    invalid_fields: Option<&'a RawValue>,
    #[serde(borrow, default, rename = "type")]
    problem_type: Option<Scalar<'a>>,
    #[serde(borrow, default)]
    title: Option<Scalar<'a>>,
    #[serde(borrow, default)]
    detail: Option<Scalar<'a>>,
    #[serde(borrow, default)]
    instance: Option<Scalar<'a>>,
    #[serde(borrow, default)]
    msg: Option<Scalar<'a>>,
}

/// A member that canon reads as a string or an integer. It is read in the
/// same pass as the rest of the object, without keeping its raw text: a
/// string borrows from the body when it has no escapes.
enum Scalar<'a> {
    Text(Cow<'a, str>),
    Integer(i64),
    /// A fraction, a number beyond int64, a boolean, an object or an array.
    Other,
}

impl<'de: 'a, 'a> Deserialize<'de> for Scalar<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Scalar<'a>, D::Error> {
        struct Visitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Visitor<'a> {
            type Value = Scalar<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Scalar<'a>, E> {
                Ok(Scalar::Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Scalar<'a>, E> {
                Ok(Scalar::Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Scalar<'a>, E> {
                Ok(Scalar::Text(Cow::Owned(v)))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Scalar<'a>, E> {
                Ok(Scalar::Integer(v))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Scalar<'a>, E> {
                Ok(i64::try_from(v).map_or(Scalar::Other, Scalar::Integer))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Scalar<'a>, E> {
                // serde_json reads `-0` as a float; as text it is the integer 0.
                Ok(if v == 0.0 && v.is_sign_negative() { Scalar::Integer(0) } else { Scalar::Other })
            }
            fn visit_bool<E>(self, _: bool) -> Result<Scalar<'a>, E> {
                Ok(Scalar::Other)
            }
            fn visit_unit<E>(self) -> Result<Scalar<'a>, E> {
                Ok(Scalar::Other)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Scalar<'a>, A::Error> {
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Scalar<'a>, A::Error> {
                while map.next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other)
            }
        }
        deserializer.deserialize_any(Visitor(std::marker::PhantomData))
    }
}

/// A member's text, when it is a string.
fn text<'a>(member: Option<&Scalar<'a>>) -> Option<Cow<'a, str>> {
    match member? {
        Scalar::Text(text) => Some(text.clone()),
        _ => None,
    }
}

/// A raw value's text, when it is a string.
fn raw_text(raw: Option<&RawValue>) -> Option<Cow<'_, str>> {
    let raw = raw?;
    if !raw.get().starts_with('"') {
        return None;
    }
    serde_json::from_str::<crate::wire::CowStr<'_>>(raw.get()).ok().map(|s| s.0)
}

/// A member's integer: a number, or a string of digits.
fn integer(member: Option<&Scalar<'_>>) -> Option<i64> {
    match member? {
        Scalar::Integer(n) => Some(*n),
        Scalar::Text(text) => text.trim().parse().ok(),
        Scalar::Other => None,
    }
}

/// A raw value's integer: a number, or a string of digits.
fn raw_integer(raw: Option<&RawValue>) -> Option<i64> {
    let raw = raw?.get();
    match raw.as_bytes().first()? {
        b'"' => serde_json::from_str::<Cow<'_, str>>(raw).ok()?.trim().parse().ok(),
        _ => raw.parse::<i64>().ok(),
    }
}

fn is_object(raw: Option<&RawValue>) -> bool {
    raw.is_some_and(|r| r.get().starts_with('{'))
}

/// Reads a `details` array. Anything that is not an array is kept as one
/// unknown detail, so that nothing is lost.
fn details_of(field: Option<&DetailsField<'_>>) -> Vec<Detail> {
    match field {
        Some(DetailsField::Items(items)) => items.iter().copied().map(Detail::from_raw).collect(),
        Some(DetailsField::Other(raw)) => vec![Detail::Unknown(UnknownDetail::from_raw((*raw).to_owned()))],
        Some(DetailsField::NotArray) | None => Vec::new(),
    }
}

/// A `details` member: the items of an array, each as raw JSON, split in
/// the same pass that reads the other members; or, when it is not an
/// array, its raw text (see [`Fields::with_raw_details`]).
enum DetailsField<'a> {
    Items(Vec<&'a RawValue>),
    Other(&'a RawValue),
    /// Not an array; its text is not known yet.
    NotArray,
}

impl<'de: 'a, 'a> Deserialize<'de> for DetailsField<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<DetailsField<'a>, D::Error> {
        struct Visitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Visitor<'a> {
            type Value = DetailsField<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<DetailsField<'a>, A::Error> {
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(4));
                while let Some(item) = seq.next_element::<&'de RawValue>()? {
                    items.push(item);
                }
                Ok(DetailsField::Items(items))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<DetailsField<'a>, A::Error> {
                while map.next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?.is_some() {}
                Ok(DetailsField::NotArray)
            }
            fn visit_bool<E>(self, _: bool) -> Result<DetailsField<'a>, E> {
                Ok(DetailsField::NotArray)
            }
            fn visit_i64<E>(self, _: i64) -> Result<DetailsField<'a>, E> {
                Ok(DetailsField::NotArray)
            }
            fn visit_u64<E>(self, _: u64) -> Result<DetailsField<'a>, E> {
                Ok(DetailsField::NotArray)
            }
            fn visit_f64<E>(self, _: f64) -> Result<DetailsField<'a>, E> {
                Ok(DetailsField::NotArray)
            }
            fn visit_str<E>(self, _: &str) -> Result<DetailsField<'a>, E> {
                Ok(DetailsField::NotArray)
            }
            fn visit_unit<E>(self) -> Result<DetailsField<'a>, E> {
                Ok(DetailsField::NotArray)
            }
        }
        deserializer.deserialize_any(Visitor(std::marker::PhantomData))
    }
}

/// Reads the members of a JSON object.
fn fields_from_str(text: &str) -> Option<Fields<'_>> {
    serde_json::from_str::<Fields<'_>>(text).ok()?.with_raw_details(text.as_bytes())
}

impl<'a> Fields<'a> {
    /// When `details` is not an array, reads the object again for its raw
    /// text. Real bodies almost never do this, so the common case keeps its
    /// single pass. `None` when the text cannot be had (it is not UTF-8), as
    /// when the object is not JSON.
    fn with_raw_details(mut self, object: &'a [u8]) -> Option<Fields<'a>> {
        if matches!(self.details, Some(DetailsField::NotArray)) {
            #[derive(Deserialize)]
            struct RawDetails<'a> {
                #[serde(borrow)]
                details: Option<&'a RawValue>,
            }
            let raw = serde_json::from_slice::<RawDetails<'_>>(object).ok()?.details?;
            self.details = Some(DetailsField::Other(raw));
        }
        Some(self)
    }
}

fn decode_object(f: &Fields<'_>, http: u16, problem_content_type: bool) -> BodyOnly {
    if let Some(class) = text(f.exception_class.as_ref()) {
        return decode_gcore(f, &class, http);
    }
    if is_object(f.error) {
        if let Some(inner) = fields_from_str(f.error.expect("checked").get()) {
            return decode_google_inner(&inner, http);
        }
    }
    let has_problem_members = f.problem_type.is_some() || f.title.is_some() || f.detail.is_some();
    let status_is_number = f.status.as_ref().is_some_and(|s| !matches!(s, Scalar::Text(_)));
    if problem_content_type || (has_problem_members && (status_is_number || f.status.is_none()) && f.code.is_none()) {
        return decode_problem(f, http);
    }
    if f.code.is_some() || f.status.is_some() {
        return decode_bare(f, http);
    }
    // JSON of no known dialect: keep whatever reads as a message.
    let message = text(f.message.as_ref())
        .or_else(|| raw_text(f.error))
        .or_else(|| text(f.detail.as_ref()))
        .or_else(|| text(f.title.as_ref()))
        .or_else(|| text(f.msg.as_ref()))
        .map(Cow::into_owned)
        .unwrap_or_default();
    let code = code_from_http(http);
    BodyOnly {
        dialect: Dialect::Json,
        http_status: http_or(http, code),
        status: Status::new(code, message),
        additional: Vec::new(),
    }
}

fn code_from_http(http: u16) -> Code {
    if http == 0 { Code::Unknown } else { Code::from_http_status(http) }
}

fn http_or(http: u16, code: Code) -> u16 {
    if http == 0 { code.http_status() } else { http }
}

/// AIP-193 bare (code is the HTTP status) or grpc-gateway (code is the
/// gRPC number).
fn decode_bare(f: &Fields<'_>, http: u16) -> BodyOnly {
    let named = text(f.status.as_ref()).and_then(|name| Code::from_name(&name));
    let number = integer(f.code.as_ref());
    let is_grpc_number = named.is_none() && number.is_some_and(|n| (0..=16).contains(&n));
    let (code, dialect, body_http) = if let Some(code) = named {
        let body_http = number.and_then(|n| u16::try_from(n).ok()).filter(|n| *n >= 100);
        (code, Dialect::Aip193, body_http)
    } else if is_grpc_number {
        let code = Code::from_number(number.expect("checked")).expect("in range");
        (code, Dialect::GrpcGateway, None)
    } else if let Some(n) = number.and_then(|n| u16::try_from(n).ok()).filter(|n| (100..600).contains(n)) {
        (Code::from_http_status(n), Dialect::Aip193, Some(n))
    } else {
        (code_from_http(http), Dialect::Aip193, None)
    };
    // grpc-gateway v1 put the message in `error` as well as `message`.
    let message = text(f.message.as_ref()).or_else(|| raw_text(f.error)).map(Cow::into_owned).unwrap_or_default();
    let http_status = if http != 0 { http } else { body_http.unwrap_or(code.http_status()) };
    BodyOnly {
        dialect,
        http_status,
        status: Status::with_details(code, message, details_of(f.details.as_ref())),
        additional: Vec::new(),
    }
}

/// The inside of `{"error": {...}}`: wrapped or legacy.
fn decode_google_inner(inner: &Fields<'_>, http: u16) -> BodyOnly {
    let named = text(inner.status.as_ref()).and_then(|name| Code::from_name(&name));
    let body_http = integer(inner.code.as_ref()).and_then(|n| u16::try_from(n).ok()).filter(|n| (100..600).contains(n));
    let mut details = details_of(inner.details.as_ref());
    let legacy = legacy_errors(inner.errors);
    let dialect = if legacy.is_some() { Dialect::GoogleLegacy } else { Dialect::GoogleWrapped };
    let mut legacy_code = None;
    if let Some(items) = legacy {
        for item in items {
            legacy_code = legacy_code.or_else(|| legacy_reason_code(&item.reason));
            details.extend(item.into_details());
        }
    }
    let http_code = if http != 0 { http } else { body_http.unwrap_or(0) };
    let code = named.or(legacy_code).unwrap_or_else(|| code_from_http(http_code));
    let message = text(inner.message.as_ref()).map(Cow::into_owned).unwrap_or_default();
    BodyOnly {
        dialect,
        http_status: http_or(http_code, code),
        status: Status::with_details(code, message, details),
        additional: Vec::new(),
    }
}

/// One entry of a legacy Google `errors[]`.
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct LegacyError {
    domain: String,
    reason: String,
    message: String,
    location: String,
    location_type: String,
    extended_help: String,
}

impl LegacyError {
    /// An ErrorInfo for the entry, and a field violation when it names a
    /// location.
    fn into_details(self) -> Vec<Detail> {
        let mut metadata = BTreeMap::new();
        for (key, value) in [
            ("message", &self.message),
            ("location", &self.location),
            ("locationType", &self.location_type),
            ("extendedHelp", &self.extended_help),
        ] {
            if !value.is_empty() {
                metadata.insert(key.to_owned(), value.clone());
            }
        }
        let mut out = Vec::with_capacity(2);
        if !self.location.is_empty() {
            out.push(Detail::BadRequest(BadRequest {
                field_violations: vec![FieldViolation::new(self.location.clone(), self.message.clone())],
            }));
        }
        out.insert(0, Detail::ErrorInfo(ErrorInfo { reason: self.reason, domain: self.domain, metadata }));
        out
    }
}

fn legacy_errors(raw: Option<&RawValue>) -> Option<Vec<LegacyError>> {
    let items = serde_json::from_str::<Vec<LegacyError>>(raw?.get()).ok()?;
    (!items.is_empty()).then_some(items)
}

/// The legacy reasons whose meaning is more specific than their HTTP
/// status (Google sends quota errors as 403).
fn legacy_reason_code(reason: &str) -> Option<Code> {
    match reason {
        "rateLimitExceeded" | "userRateLimitExceeded" | "quotaExceeded" | "dailyLimitExceeded" => {
            Some(Code::ResourceExhausted)
        }
        "backendError" | "internalError" => Some(Code::Internal),
        "notFound" => Some(Code::NotFound),
        _ => None,
    }
}

/// A top-level array of wrapped errors.
fn decode_array(body: &[u8], http: u16) -> Option<BodyOnly> {
    let items: Vec<Fields<'_>> = serde_json::from_slice(body).ok()?;
    let mut decoded: Vec<BodyOnly> = items
        .iter()
        .filter(|item| is_object(item.error))
        .filter_map(|item| fields_from_str(item.error?.get()))
        .map(|inner| decode_google_inner(&inner, http))
        .collect();
    if decoded.is_empty() {
        return None;
    }
    let first = decoded.remove(0);
    Some(BodyOnly {
        dialect: Dialect::GoogleArray,
        http_status: first.http_status,
        status: first.status,
        additional: decoded.into_iter().map(|d| d.status).collect(),
    })
}

/// RFC 9457 problem details.
fn decode_problem(f: &Fields<'_>, http: u16) -> BodyOnly {
    let body_http = integer(f.status.as_ref()).and_then(|n| u16::try_from(n).ok()).filter(|n| (100..600).contains(n));
    let http_code = if http != 0 { http } else { body_http.unwrap_or(0) };
    let named = text(f.code.as_ref()).and_then(|name| Code::from_name(&name));
    let code = named.unwrap_or_else(|| code_from_http(http_code));
    let title = text(f.title.as_ref()).map(Cow::into_owned).unwrap_or_default();
    let message = text(f.detail.as_ref()).map(Cow::into_owned).unwrap_or_else(|| title.clone());
    let mut details = details_of(f.details.as_ref());
    if let Some(url) = text(f.problem_type.as_ref()).filter(|t| t != "about:blank" && !t.is_empty()) {
        details.push(Detail::Help(Help { links: vec![HelpLink { description: title, url: url.into_owned() }] }));
    }
    if let Some(instance) = text(f.instance.as_ref()).filter(|i| !i.is_empty()) {
        details.push(Detail::ResourceInfo(ResourceInfo {
            resource_name: instance.into_owned(),
            ..ResourceInfo::default()
        }));
    }
    BodyOnly {
        dialect: Dialect::Problem,
        http_status: http_or(http_code, code),
        status: Status::with_details(code, message, details),
        additional: Vec::new(),
    }
}

/// A JSON value as a metadata string: strings as they are, the rest as
/// compact JSON.
fn metadata_text(raw: &RawValue) -> String {
    let json = raw.get();
    if json.starts_with('"') {
        return serde_json::from_str::<String>(json).unwrap_or_default();
    }
    // Integers, booleans and null are their own compact JSON text. Reading
    // them as a string first, as before, built (and dropped) an error.
    let digits = json.strip_prefix('-').unwrap_or(json);
    let canonical_integer = (digits == "0" || (!digits.starts_with('0') && json != "-0"))
        && !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && json.parse::<i64>().is_ok();
    if canonical_integer || matches!(json, "true" | "false" | "null") {
        return json.to_owned();
    }
    serde_json::from_str::<serde_json::Value>(json).map(|v| v.to_string()).unwrap_or_default()
}

/// The members of a JSON object in order, keys borrowed when they have no
/// escapes.
struct ObjectEntries<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de: 'a, 'a> Deserialize<'de> for ObjectEntries<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<ObjectEntries<'a>, D::Error> {
        struct Visitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Visitor<'a> {
            type Value = ObjectEntries<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<ObjectEntries<'a>, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(4));
                while let Some((key, value)) = map.next_entry::<crate::wire::CowStr<'de>, &'de RawValue>()? {
                    entries.push((key.0, value));
                }
                Ok(ObjectEntries(entries))
            }
        }
        deserializer.deserialize_map(Visitor(std::marker::PhantomData))
    }
}

/// Gcore's envelope.
fn decode_gcore(f: &Fields<'_>, class: &str, http: u16) -> BodyOnly {
    let message = text(f.message.as_ref()).map(Cow::into_owned).unwrap_or_default();
    let row = gcore::row_for_class(class, &message);
    let (code, reason, row_http) = match row {
        Some(row) => (row.code, Cow::Borrowed(row.reason), row.http_status),
        None => {
            let code = code_from_http(http);
            (code, Cow::Owned(gcore::reason_for_unknown_class(class)), code.http_status())
        }
    };
    let mut metadata = BTreeMap::new();
    metadata.insert(gcore::EXCEPTION_CLASS_KEY.to_owned(), class.to_owned());
    let info = f.info.and_then(|raw| serde_json::from_str::<ObjectEntries<'_>>(raw.get()).ok());
    if let Some(info) = &info {
        for (key, value) in &info.0 {
            metadata.insert(key.as_ref().to_owned(), metadata_text(value));
        }
    } else if let Some(raw) = f.info.filter(|r| r.get() != "null") {
        metadata.insert("info".to_owned(), metadata_text(raw));
    }
    let mut details = Vec::with_capacity(4);
    if let Some(fields) = f.invalid_fields.filter(|r| r.get() != "null") {
        match serde_json::from_str::<BTreeMap<String, &RawValue>>(fields.get()) {
            Ok(map) => {
                let mut violations = Vec::new();
                for (field, messages) in map {
                    match serde_json::from_str::<Vec<String>>(messages.get()) {
                        Ok(list) => violations.extend(list.into_iter().map(|m| FieldViolation::new(field.clone(), m))),
                        Err(_) => violations.push(FieldViolation::new(field, metadata_text(messages))),
                    }
                }
                details.push(Detail::BadRequest(BadRequest { field_violations: violations }));
            }
            Err(_) => {
                metadata.insert("invalidFields".to_owned(), metadata_text(fields));
            }
        }
    }
    if row.is_some_and(|r| r.reason == "QUOTA_LIMIT_EXCEEDED") {
        // The last of duplicate keys wins, as in the metadata.
        let get = |key: &str| info.as_ref().and_then(|i| i.0.iter().rev().find(|(k, _)| k == key).map(|(_, v)| *v));
        let violation = QuotaViolation {
            subject: get("quota_name").map(metadata_text).unwrap_or_default(),
            description: message.clone(),
            quota_value: raw_integer(get("limit")).unwrap_or_default(),
            ..QuotaViolation::default()
        };
        details.push(Detail::QuotaFailure(QuotaFailure { violations: vec![violation] }));
    }
    details.insert(
        0,
        Detail::ErrorInfo(ErrorInfo { reason: reason.into_owned(), domain: gcore::DOMAIN.to_owned(), metadata }),
    );
    if let Some(id) = text(f.request_id.as_ref()).filter(|id| !id.is_empty()) {
        details.push(Detail::RequestInfo(RequestInfo::new(id.into_owned())));
    }
    BodyOnly {
        dialect: Dialect::Gcore,
        http_status: if http == 0 { row_http } else { http },
        status: Status::with_details(code, message, details),
        additional: Vec::new(),
    }
}

/// HTML, text or nothing: the HTTP status decides.
fn decode_non_json(http: u16, body: &[u8]) -> BodyOnly {
    let code = match http {
        502 => Code::Unavailable,
        other => code_from_http(other),
    };
    let text = String::from_utf8_lossy(body);
    let (dialect, message) = if body.is_empty() {
        (Dialect::Empty, String::new())
    } else if looks_like_html(&text) {
        (Dialect::Html, html_title(&text).unwrap_or_default())
    } else {
        (Dialect::Text, text.trim().to_owned())
    };
    let message = if message.is_empty() {
        http::StatusCode::from_u16(http).ok().and_then(|s| s.canonical_reason()).unwrap_or_default().to_owned()
    } else {
        message
    };
    BodyOnly { dialect, http_status: http_or(http, code), status: Status::new(code, message), additional: Vec::new() }
}

fn looks_like_html(text: &str) -> bool {
    let head: String = text.trim_start().chars().take(64).collect::<String>().to_ascii_lowercase();
    head.starts_with("<!doctype html")
        || head.starts_with("<html")
        || head.starts_with("<head")
        || head.starts_with("<body")
        || (head.starts_with('<') && text.to_ascii_lowercase().contains("</html>"))
}

/// The text of an HTML page's `<title>`, or of its first `<h1>`.
fn html_title(html: &str) -> Option<String> {
    let lower = html.to_ascii_lowercase();
    for tag in ["title", "h1"] {
        let open = format!("<{tag}");
        if let Some(start) = lower.find(&open) {
            let content_start = start + lower[start..].find('>')? + 1;
            let end = content_start + lower[content_start..].find(&format!("</{tag}"))?;
            let title = html[content_start..end].split_whitespace().collect::<Vec<_>>().join(" ");
            if !title.is_empty() {
                return Some(title);
            }
        }
    }
    None
}
