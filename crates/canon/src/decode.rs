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
    BadRequest, ConformingDetail, Detail, ErrorInfo, FieldViolation, Help, HelpLink, QuotaFailure, QuotaViolation,
    RequestInfo, ResourceInfo, RetryInfo, Text, UnknownDetail,
};
use crate::gcore;
use crate::headers::HeaderHints;
use crate::status::Status;

mod scan;

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

/// Whose handling table applies to an error. See [`crate::advice()`].
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
    // Only a header reads the clock; without headers, do not ask for it.
    let now = if headers.is_empty() { SystemTime::UNIX_EPOCH } else { SystemTime::now() };
    decode_at(now, http_status, headers, body)
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
    if let Some(delay) = header_hints.retry_after {
        if status.retry_info().is_none() {
            status.details_mut().push(Detail::RetryInfo(RetryInfo::new(delay)));
        }
    }
    if let Some(id) = &header_hints.request_id {
        if status.request_info().is_none() {
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
        Some(b'{') => {
            let mut fields = Fields::default();
            let read = match std::str::from_utf8(trimmed) {
                Ok(text) => fields_from_str(text, &mut fields),
                Err(_) => read_fields(|| serde_json::Deserializer::from_slice(trimmed), trimmed, &mut fields),
            };
            read.then(|| decode_object(&mut fields, http, problem_content_type))
        }
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
///
/// The object is read by a hand-written visitor rather than a derived one:
/// each key is matched in place as a borrowed `&str`, and each value goes
/// straight into its slot. It keeps what the derived reading did: a
/// duplicate known member is an error (so that such a body is not read as
/// JSON), `null` is the same as an absent member, unknown members are
/// skipped, and a JSON array is read positionally, in the order of the
/// fields below.
#[derive(Default)]
struct Fields<'a> {
    code: Option<Scalar<'a>>,
    status: Option<Scalar<'a>>,
    message: Option<Scalar<'a>>,
    details: Option<DetailsField<'a>>,
    error: Option<&'a RawValue>,
    errors: Option<&'a RawValue>,
    exception_class: Option<Scalar<'a>>,
    request_id: Option<Scalar<'a>>,
    /// Gcore's `info`, read in the same pass (see [`GcoreMember`]).
    info: Option<GcoreMember<'a, InfoRead>>,
    /// Gcore's `invalid_fields`, read in the same pass.
    invalid_fields: Option<GcoreMember<'a, InvalidFields<'a>>>,
    /// The member `type`.
    problem_type: Option<Scalar<'a>>,
    title: Option<Scalar<'a>>,
    detail: Option<Scalar<'a>>,
    instance: Option<Scalar<'a>>,
    msg: Option<Scalar<'a>>,
    /// Which members were read, one bit per index of [`FIELD_NAMES`].
    seen: u16,
    /// Whether `info` and `invalid_fields` are kept raw rather than read in
    /// the same pass: the second reading of an object whose first one failed
    /// inside them (see [`read_fields`]).
    gcore_raw: bool,
    /// Whether the reading is inside `info` or `invalid_fields`, so that a
    /// failure there is told from one elsewhere.
    in_gcore_member: bool,
    /// Whether the items of `details` are kept raw for [`Detail::from_raw`]
    /// rather than read in the same pass: the second reading of an object
    /// whose first one met an item that only the raw reading keeps (see
    /// [`read_fields`]).
    details_raw: bool,
    /// Whether the reading is inside `details`.
    in_details: bool,
}

/// Gcore's `info` or `invalid_fields` as read in the top-level pass: read
/// already, or (on the second reading, see [`Fields::gcore_raw`]) its raw
/// text.
enum GcoreMember<'a, T> {
    Read(T),
    Raw(&'a RawValue),
}

/// Gcore's `info`, read: the ErrorInfo metadata it gives (see
/// [`InfoSeed`]) and the quota value.
struct InfoRead {
    metadata: BTreeMap<Text, Text>,
    limit: i64,
}

impl<'de> Deserialize<'de> for InfoRead {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<InfoRead, D::Error> {
        let mut metadata = BTreeMap::new();
        let mut limit = 0;
        serde::de::DeserializeSeed::deserialize(InfoSeed { metadata: &mut metadata, limit: &mut limit }, deserializer)?;
        Ok(InfoRead { metadata, limit })
    }
}

/// Reads a member with the seed `.0`, `null` as absent (as a derived
/// reading of an `Option` does).
struct Nullable<S>(S);

impl<'de, S: serde::de::DeserializeSeed<'de>> serde::de::DeserializeSeed<'de> for Nullable<S> {
    type Value = Option<S::Value>;
    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de, S: serde::de::DeserializeSeed<'de>> serde::de::Visitor<'de> for Nullable<S> {
    type Value = Option<S::Value>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        self.0.deserialize(deserializer).map(Some)
    }
}

/// Reads a present `info` or `invalid_fields` as [`Fields::gcore_raw`] says
/// (raw when true).
struct GcoreMemberSeed<'a, T>(bool, std::marker::PhantomData<(&'a (), T)>);

impl<'de: 'a, 'a, T: Deserialize<'de>> serde::de::DeserializeSeed<'de> for GcoreMemberSeed<'a, T> {
    type Value = GcoreMember<'a, T>;
    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        if self.0 {
            <&'de RawValue>::deserialize(deserializer).map(GcoreMember::Raw)
        } else {
            T::deserialize(deserializer).map(GcoreMember::Read)
        }
    }
}

/// The member names of [`Fields`], in the order an array is read in.
const FIELD_NAMES: &[&str] = &[
    "code",
    "status",
    "message",
    "details",
    "error",
    "errors",
    "exception_class",
    "request_id",
    "info",
    "invalid_fields",
    "type",
    "title",
    "detail",
    "instance",
    "msg",
];

/// Which member of [`Fields`] a key names, by its index in
/// [`FIELD_NAMES`]; `None` for a key canon does not read.
struct FieldKey(Option<u8>);

impl<'de> Deserialize<'de> for FieldKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<FieldKey, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = FieldKey;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_str<E>(self, key: &str) -> Result<FieldKey, E> {
                Ok(FieldKey(field_index(key)))
            }
        }
        deserializer.deserialize_identifier(Visitor)
    }
}

/// The index in [`FIELD_NAMES`] of the member `key` names; `None` for a
/// key canon does not read.
fn field_index(key: &str) -> Option<u8> {
    let index = match key {
        "code" => 0,
        "status" => 1,
        "message" => 2,
        "details" => 3,
        "error" => 4,
        "errors" => 5,
        "exception_class" => 6,
        "request_id" => 7,
        "info" => 8,
        "invalid_fields" => 9,
        "type" => 10,
        "title" => 11,
        "detail" => 12,
        "instance" => 13,
        "msg" => 14,
        _ => return None,
    };
    Some(index)
}

/// Where one member's value is read from: the next value of an object, or
/// the next element of an array.
trait MemberSource<'de> {
    type Error: serde::de::Error;
    /// Reads the value; `None` when an array has no more elements.
    fn read<T: Deserialize<'de>>(&mut self) -> Result<Option<T>, Self::Error>;
    /// Reads the value with a seed; `None` when an array has no more
    /// elements.
    fn read_seed<S: serde::de::DeserializeSeed<'de>>(&mut self, seed: S) -> Result<Option<S::Value>, Self::Error>;
}

struct FromMap<A>(A);
impl<'de, A: serde::de::MapAccess<'de>> MemberSource<'de> for FromMap<A> {
    type Error = A::Error;
    fn read<T: Deserialize<'de>>(&mut self) -> Result<Option<T>, A::Error> {
        self.0.next_value().map(Some)
    }
    fn read_seed<S: serde::de::DeserializeSeed<'de>>(&mut self, seed: S) -> Result<Option<S::Value>, A::Error> {
        self.0.next_value_seed(seed).map(Some)
    }
}

struct FromSeq<A>(A);
impl<'de, A: serde::de::SeqAccess<'de>> MemberSource<'de> for FromSeq<A> {
    type Error = A::Error;
    fn read<T: Deserialize<'de>>(&mut self) -> Result<Option<T>, A::Error> {
        self.0.next_element()
    }
    fn read_seed<S: serde::de::DeserializeSeed<'de>>(&mut self, seed: S) -> Result<Option<S::Value>, A::Error> {
        self.0.next_element_seed(seed)
    }
}

impl<'a> Fields<'a> {
    /// Reads member `index` (see [`FIELD_NAMES`]) from `source`. Returns
    /// false when an array ran out. A member read twice is an error, as in
    /// a derived reading.
    fn read_member<'de: 'a, S: MemberSource<'de>>(&mut self, index: u8, source: &mut S) -> Result<bool, S::Error> {
        fn put<'de, T: Deserialize<'de>, S: MemberSource<'de>>(
            slot: &mut Option<T>,
            source: &mut S,
        ) -> Result<bool, S::Error> {
            match source.read::<Option<T>>()? {
                Some(value) => {
                    *slot = value;
                    Ok(true)
                }
                None => Ok(false),
            }
        }
        // A member read with a seed in one pass: `inside` says, when the
        // reading fails, that it failed there (see [`read_fields`]).
        fn put_inside<'de, T, S: MemberSource<'de>>(
            inside: &mut bool,
            slot: &mut Option<T>,
            seed: impl serde::de::DeserializeSeed<'de, Value = Option<T>>,
            source: &mut S,
        ) -> Result<bool, S::Error> {
            *inside = true;
            let more = match source.read_seed(seed)? {
                Some(value) => {
                    *slot = value;
                    true
                }
                None => false,
            };
            *inside = false;
            Ok(more)
        }
        // A scalar is read without an `Option` around it (one layer of
        // deserializer less); its `null` is then an absent member.
        fn put_scalar<'de: 'a, 'a, S: MemberSource<'de>>(
            slot: &mut Option<Scalar<'a>>,
            source: &mut S,
        ) -> Result<bool, S::Error> {
            match source.read::<Scalar<'a>>()? {
                Some(Scalar::Null) => Ok(true),
                Some(value) => {
                    *slot = Some(value);
                    Ok(true)
                }
                None => Ok(false),
            }
        }
        if self.seen & (1 << index) != 0 {
            return Err(serde::de::Error::duplicate_field(FIELD_NAMES[usize::from(index)]));
        }
        self.seen |= 1 << index;
        match index {
            0 => put_scalar(&mut self.code, source),
            1 => put_scalar(&mut self.status, source),
            2 => put_scalar(&mut self.message, source),
            3 => {
                let seed = Nullable(DetailsSeed(self.details_raw, std::marker::PhantomData));
                put_inside(&mut self.in_details, &mut self.details, seed, source)
            }
            4 => put(&mut self.error, source),
            5 => put(&mut self.errors, source),
            6 => put_scalar(&mut self.exception_class, source),
            7 => put_scalar(&mut self.request_id, source),
            8 => {
                let seed = Nullable(GcoreMemberSeed(self.gcore_raw, std::marker::PhantomData));
                put_inside(&mut self.in_gcore_member, &mut self.info, seed, source)
            }
            9 => {
                let seed = Nullable(GcoreMemberSeed(self.gcore_raw, std::marker::PhantomData));
                put_inside(&mut self.in_gcore_member, &mut self.invalid_fields, seed, source)
            }
            10 => put_scalar(&mut self.problem_type, source),
            11 => put_scalar(&mut self.title, source),
            12 => put_scalar(&mut self.detail, source),
            13 => put_scalar(&mut self.instance, source),
            _ => put_scalar(&mut self.msg, source),
        }
    }
}

/// Reads an object's members into a [`Fields`] in place, so that the
/// (large) struct is never moved while it is read.
struct FieldsSeed<'f, 'a>(&'f mut Fields<'a>);

impl<'de: 'a, 'a> serde::de::DeserializeSeed<'de> for FieldsSeed<'_, 'a> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        struct Visitor<'f, 'a>(&'f mut Fields<'a>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Visitor<'_, 'a> {
            type Value = ();
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
                let mut source = FromMap(map);
                while let Some(FieldKey(key)) = source.0.next_key()? {
                    match key {
                        Some(index) => {
                            self.0.read_member(index, &mut source)?;
                        }
                        None => {
                            source.0.next_value::<serde::de::IgnoredAny>()?;
                        }
                    }
                }
                Ok(())
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
                let mut source = FromSeq(seq);
                for index in 0..FIELD_NAMES.len() as u8 {
                    if !self.0.read_member(index, &mut source)? {
                        break;
                    }
                }
                Ok(())
            }
        }
        deserializer.deserialize_struct("Fields", FIELD_NAMES, Visitor(self.0))
    }
}

/// The items of a top-level array, of which only `error` is read: Gcore's
/// members are kept raw.
impl<'de: 'a, 'a> Deserialize<'de> for Fields<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Fields<'a>, D::Error> {
        let mut fields = Fields { gcore_raw: true, details_raw: true, ..Fields::default() };
        serde::de::DeserializeSeed::deserialize(FieldsSeed(&mut fields), deserializer)?;
        Ok(fields)
    }
}

/// Reads the object `de` holds (whose text is `object`) into `fields`;
/// false when it is not a JSON object (or array) with the members' types.
///
/// Gcore's `info` and `invalid_fields` are read in the same pass. A value
/// there that the one-pass reading refuses (a string that is not Unicode,
/// nesting too deep for a `serde_json::Value`) does not make the object
/// unreadable: the object is then read again with those two kept raw, for
/// the slower reading that keeps what can be kept (see [`add_info`] and
/// [`InvalidFields::read`]).
///
/// The items of `details` are read in the same pass too, when each is a
/// conforming standard detail with `@type` first (what every writer of
/// proto3 JSON produces). Any other item needs its raw text (an unknown
/// detail or a nonconforming one is kept as it arrived), so the object is
/// then read again with the items kept raw.
fn read_fields<'a, R: serde_json::de::Read<'a>>(
    new_reader: impl Fn() -> serde_json::Deserializer<R>,
    object: &'a [u8],
    fields: &mut Fields<'a>,
) -> bool {
    let mut de = new_reader();
    let mut read = serde::de::DeserializeSeed::deserialize(FieldsSeed(fields), &mut de).is_ok();
    // Each reading that fails inside a member read in one pass is followed
    // by one that keeps that member raw; there are two such members, so at
    // most two more readings.
    while !read && ((fields.in_gcore_member && !fields.gcore_raw) || (fields.in_details && !fields.details_raw)) {
        let gcore_raw = fields.gcore_raw || fields.in_gcore_member;
        let details_raw = fields.details_raw || fields.in_details;
        *fields = Fields { gcore_raw, details_raw, ..Fields::default() };
        de = new_reader();
        read = serde::de::DeserializeSeed::deserialize(FieldsSeed(fields), &mut de).is_ok();
    }
    read && de.end().is_ok() && fields.fill_raw_details(object)
}

/// A member that canon reads as a string or an integer. It is read in the
/// same pass as the rest of the object, without keeping its raw text: a
/// string borrows from the body when it has no escapes.
enum Scalar<'a> {
    Text(Cow<'a, str>),
    Integer(i64),
    /// A fraction, a number beyond int64, a boolean, an object or an array.
    Other,
    /// `null`, which [`Fields`] keeps as an absent member.
    Null,
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
                Ok(Scalar::Null)
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
fn text<'b>(member: Option<&'b Scalar<'_>>) -> Option<&'b str> {
    match member? {
        Scalar::Text(text) => Some(text),
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
        Scalar::Other | Scalar::Null => None,
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
fn details_of(field: Option<DetailsField<'_>>) -> Vec<Detail> {
    match field {
        Some(DetailsField::Read(details)) => details,
        Some(DetailsField::Items(items)) => items.into_iter().map(Detail::from_raw).collect(),
        Some(DetailsField::Other(raw)) => vec![Detail::Unknown(UnknownDetail::from_raw(raw.to_owned()))],
        Some(DetailsField::NotArray) | None => Vec::new(),
    }
}

/// A `details` member: the items of an array, read (see
/// [`ConformingDetail`]) or each as raw JSON (see [`Fields::details_raw`]),
/// in the same pass that reads the other members; or, when it is not an
/// array, its raw text (see [`Fields::fill_raw_details`]).
enum DetailsField<'a> {
    Read(Vec<Detail>),
    Items(Vec<&'a RawValue>),
    Other(&'a RawValue),
    /// Not an array; its text is not known yet.
    NotArray,
}

/// Reads a present `details` with its items raw (`.0` true) or read.
struct DetailsSeed<'a>(bool, std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> serde::de::DeserializeSeed<'de> for DetailsSeed<'a> {
    type Value = DetailsField<'a>;
    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de: 'a, 'a> serde::de::Visitor<'de> for DetailsSeed<'a> {
    type Value = DetailsField<'a>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<DetailsField<'a>, A::Error> {
        if !self.0 {
            let mut details = Vec::with_capacity(seq.size_hint().unwrap_or(4));
            while let Some(ConformingDetail(detail)) = seq.next_element()? {
                details.push(detail);
            }
            return Ok(DetailsField::Read(details));
        }
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

/// Reads the members of a JSON object.
///
/// Objects of the common shape are read by [`scan::scan_fields`], and any
/// other by serde from the start.
fn fields_from_str<'a>(text: &'a str, fields: &mut Fields<'a>) -> bool {
    if !fields.gcore_raw && !fields.details_raw {
        if scan::scan_fields(text, fields) {
            return true;
        }
        *fields = Fields::default();
    }
    read_fields(|| serde_json::Deserializer::from_str(text), text.as_bytes(), fields)
}

impl<'a> Fields<'a> {
    /// When `details` is not an array, reads the object again for its raw
    /// text. Real bodies almost never do this, so the common case keeps its
    /// single pass. False when the text cannot be had (it is not UTF-8), as
    /// when the object is not JSON.
    fn fill_raw_details(&mut self, object: &'a [u8]) -> bool {
        if matches!(self.details, Some(DetailsField::NotArray)) {
            #[derive(Deserialize)]
            struct RawDetails<'a> {
                #[serde(borrow)]
                details: Option<&'a RawValue>,
            }
            match serde_json::from_slice::<RawDetails<'_>>(object).ok().and_then(|r| r.details) {
                Some(raw) => self.details = Some(DetailsField::Other(raw)),
                None => return false,
            }
        }
        true
    }
}

fn decode_object(f: &mut Fields<'_>, http: u16, problem_content_type: bool) -> BodyOnly {
    // Nothing below reads `exception_class` again.
    if let Some(Scalar::Text(class)) = f.exception_class.take() {
        return decode_gcore(f, &class, http);
    }
    if is_object(f.error) {
        let mut inner = Fields::default();
        if fields_from_str(f.error.expect("checked").get(), &mut inner) {
            return decode_google_inner(&mut inner, http);
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
        .map(Cow::Borrowed)
        .or_else(|| raw_text(f.error))
        .or_else(|| text(f.detail.as_ref()).map(Cow::Borrowed))
        .or_else(|| text(f.title.as_ref()).map(Cow::Borrowed))
        .or_else(|| text(f.msg.as_ref()).map(Cow::Borrowed))
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
fn decode_bare(f: &mut Fields<'_>, http: u16) -> BodyOnly {
    let named = text(f.status.as_ref()).and_then(Code::from_name);
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
    let message = text(f.message.as_ref())
        .map(Cow::Borrowed)
        .or_else(|| raw_text(f.error))
        .map(Cow::into_owned)
        .unwrap_or_default();
    let http_status = if http != 0 { http } else { body_http.unwrap_or(code.http_status()) };
    BodyOnly {
        dialect,
        http_status,
        status: Status::with_details(code, message, details_of(f.details.take())),
        additional: Vec::new(),
    }
}

/// The inside of `{"error": {...}}`: wrapped or legacy.
fn decode_google_inner(inner: &mut Fields<'_>, http: u16) -> BodyOnly {
    let named = text(inner.status.as_ref()).and_then(Code::from_name);
    let body_http = integer(inner.code.as_ref()).and_then(|n| u16::try_from(n).ok()).filter(|n| (100..600).contains(n));
    let mut details = details_of(inner.details.take());
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
    let message = text(inner.message.as_ref()).map(str::to_owned).unwrap_or_default();
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
                metadata.insert(key.into(), value.clone().into());
            }
        }
        let mut out = Vec::with_capacity(2);
        if !self.location.is_empty() {
            out.push(Detail::BadRequest(BadRequest {
                field_violations: vec![FieldViolation::new(self.location.clone(), self.message.clone())],
            }));
        }
        out.insert(
            0,
            Detail::ErrorInfo(ErrorInfo { reason: self.reason.into(), domain: self.domain.into(), metadata }),
        );
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
        .filter_map(|item| {
            let mut inner = Fields::default();
            fields_from_str(item.error?.get(), &mut inner).then(|| decode_google_inner(&mut inner, http))
        })
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
fn decode_problem(f: &mut Fields<'_>, http: u16) -> BodyOnly {
    let body_http = integer(f.status.as_ref()).and_then(|n| u16::try_from(n).ok()).filter(|n| (100..600).contains(n));
    let http_code = if http != 0 { http } else { body_http.unwrap_or(0) };
    let named = text(f.code.as_ref()).and_then(Code::from_name);
    let code = named.unwrap_or_else(|| code_from_http(http_code));
    let title = text(f.title.as_ref()).map(str::to_owned).unwrap_or_default();
    let message = text(f.detail.as_ref()).map(str::to_owned).unwrap_or_else(|| title.clone());
    let mut details = details_of(f.details.take());
    if let Some(url) = text(f.problem_type.as_ref()).filter(|t| *t != "about:blank" && !t.is_empty()) {
        details.push(Detail::Help(Help { links: vec![HelpLink { description: title, url: url.to_owned() }] }));
    }
    if let Some(instance) = text(f.instance.as_ref()).filter(|i| !i.is_empty()) {
        details
            .push(Detail::ResourceInfo(ResourceInfo { resource_name: instance.to_owned(), ..ResourceInfo::default() }));
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

/// One value of Gcore's `info` or `invalid_fields`, read in one pass: its
/// metadata text (what [`metadata_text`] makes of its JSON) and its int64
/// (what [`raw_integer`] makes of it, 0 when that is `None`: the one use,
/// a quota value, takes 0 for "none").
struct MetaValue {
    text: String,
    integer_or_zero: i64,
}

impl MetaValue {
    /// The reading from the raw text, which the one-pass reading equals.
    fn from_raw(raw: &RawValue) -> MetaValue {
        MetaValue { text: metadata_text(raw), integer_or_zero: raw_integer(Some(raw)).unwrap_or_default() }
    }
}

/// Reads a [`MetaValue`]: strings as they are, every other value as its
/// compact JSON, which for arrays and objects is that of a
/// `serde_json::Value` built from them, as [`metadata_text`] has it.
struct MetaVisitor;

impl<'de> serde::de::Visitor<'de> for MetaVisitor {
    type Value = MetaValue;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_str<E>(self, v: &str) -> Result<MetaValue, E> {
        Ok(MetaValue { integer_or_zero: v.trim().parse().unwrap_or_default(), text: v.to_owned() })
    }
    fn visit_string<E>(self, v: String) -> Result<MetaValue, E> {
        Ok(MetaValue { integer_or_zero: v.trim().parse().unwrap_or_default(), text: v })
    }
    fn visit_i64<E>(self, v: i64) -> Result<MetaValue, E> {
        Ok(MetaValue { text: decimal(v < 0, v.unsigned_abs()), integer_or_zero: v })
    }
    fn visit_u64<E>(self, v: u64) -> Result<MetaValue, E> {
        Ok(MetaValue { text: decimal(false, v), integer_or_zero: i64::try_from(v).unwrap_or_default() })
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<MetaValue, E> {
        // serde_json reads both `-0` and `-0.0` as this float, and the
        // metadata texts of the two differ (`-0` and `-0.0`): only the raw
        // text tells them apart, so the reading falls back to it.
        if v == 0.0 && v.is_sign_negative() {
            return Err(E::custom("a negative zero is read from its raw text"));
        }
        Ok(MetaValue { text: serde_json::Value::from(v).to_string(), integer_or_zero: 0 })
    }
    fn visit_bool<E>(self, v: bool) -> Result<MetaValue, E> {
        Ok(MetaValue { text: if v { "true" } else { "false" }.to_owned(), integer_or_zero: 0 })
    }
    fn visit_unit<E>(self) -> Result<MetaValue, E> {
        Ok(MetaValue { text: "null".to_owned(), integer_or_zero: 0 })
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<MetaValue, A::Error> {
        let value = serde_json::Value::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))?;
        Ok(MetaValue { text: value.to_string(), integer_or_zero: 0 })
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<MetaValue, A::Error> {
        let value = serde_json::Value::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
        Ok(MetaValue { text: value.to_string(), integer_or_zero: 0 })
    }
}

/// An integer's decimal text, as `to_string` writes it, without the
/// formatting machinery (which costs more than the rest of reading a
/// number).
fn decimal(negative: bool, magnitude: u64) -> String {
    let mut buffer = itoa::Buffer::new();
    let digits = buffer.format(magnitude);
    let mut text = String::with_capacity(usize::from(negative) + digits.len());
    if negative {
        text.push('-');
    }
    text.push_str(digits);
    text
}

impl<'de> Deserialize<'de> for MetaValue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<MetaValue, D::Error> {
        deserializer.deserialize_any(MetaVisitor)
    }
}

/// What Gcore's `info` adds to the ErrorInfo metadata: an object's
/// members, each as its metadata text, or any other value as one entry
/// `info`; and the int64 of its last `limit` member, the quota value of a
/// `QuotaLimitExceed`.
struct InfoSeed<'m> {
    metadata: &'m mut BTreeMap<Text, Text>,
    limit: &'m mut i64,
}

impl<'de> serde::de::DeserializeSeed<'de> for InfoSeed<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl InfoSeed<'_> {
    fn other(self, value: MetaValue) {
        self.metadata.insert("info".into(), value.text.into());
    }
}

impl<'de> serde::de::Visitor<'de> for InfoSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<crate::wire::CowStr<'de>>()? {
            let value = map.next_value::<MetaValue>()?;
            if key.0 == "limit" {
                *self.limit = value.integer_or_zero;
            }
            self.metadata.insert(key.0.into_owned().into(), value.text.into());
        }
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<(), E> {
        MetaVisitor.visit_str(v).map(|value| self.other(value))
    }
    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<(), E> {
        MetaVisitor.visit_string(v).map(|value| self.other(value))
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<(), E> {
        MetaVisitor.visit_i64(v).map(|value| self.other(value))
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<(), E> {
        MetaVisitor.visit_u64(v).map(|value| self.other(value))
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<(), E> {
        MetaVisitor.visit_f64(v).map(|value| self.other(value))
    }
    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<(), E> {
        MetaVisitor.visit_bool(v).map(|value| self.other(value))
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        MetaVisitor.visit_seq(seq).map(|value| self.other(value))
    }
}

/// Adds Gcore's `info` to the metadata (see [`InfoSeed`]) and returns the
/// quota value. One pass over the raw text; when that pass fails (a string
/// that is not Unicode, a value nested too deep for a `Value`), the
/// metadata is rebuilt the slower way, which keeps what can be kept.
fn add_info(metadata: &mut BTreeMap<Text, Text>, class: &str, raw: &RawValue) -> i64 {
    let mut limit = 0;
    let mut de = serde_json::Deserializer::from_str(raw.get());
    let seed = InfoSeed { metadata: &mut *metadata, limit: &mut limit };
    if serde::de::DeserializeSeed::deserialize(seed, &mut de).is_ok() {
        return limit;
    }
    metadata.clear();
    metadata.insert(gcore::EXCEPTION_CLASS_KEY.into(), class.to_owned().into());
    limit = 0;
    match serde_json::from_str::<ObjectEntries<'_>>(raw.get()) {
        Ok(entries) => {
            for (key, value) in entries.0 {
                let value = MetaValue::from_raw(value);
                if key == "limit" {
                    limit = value.integer_or_zero;
                }
                metadata.insert(key.into_owned().into(), value.text.into());
            }
        }
        Err(_) if raw.get() == "null" => {}
        Err(_) => {
            metadata.insert("info".into(), metadata_text(raw).into());
        }
    }
    limit
}

/// Gcore's `invalid_fields`, read in one pass: an object's members in
/// order, each with its messages; or, when it is not an object, its
/// metadata text.
enum InvalidFields<'a> {
    Fields(Vec<(Cow<'a, str>, Messages)>),
    Other(String),
    Null,
}

/// One field's messages: a list of strings, or the metadata text of
/// whatever else it is.
enum Messages {
    List(Vec<String>),
    Other(String),
}

impl<'de> Deserialize<'de> for Messages {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Messages, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Messages;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Messages, A::Error> {
                // Strings until the first other value; from there on, the
                // whole array becomes one `Value`, for its text.
                let mut list = Vec::new();
                while let Some(item) = seq.next_element::<serde_json::Value>()? {
                    match item {
                        serde_json::Value::String(message) => list.push(message),
                        other => {
                            let mut items: Vec<serde_json::Value> =
                                list.into_iter().map(serde_json::Value::String).collect();
                            items.push(other);
                            while let Some(item) = seq.next_element::<serde_json::Value>()? {
                                items.push(item);
                            }
                            return Ok(Messages::Other(serde_json::Value::Array(items).to_string()));
                        }
                    }
                }
                Ok(Messages::List(list))
            }
            fn visit_str<E>(self, v: &str) -> Result<Messages, E> {
                Ok(Messages::Other(v.to_owned()))
            }
            fn visit_string<E>(self, v: String) -> Result<Messages, E> {
                Ok(Messages::Other(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Messages, E> {
                MetaVisitor.visit_i64(v).map(|m| Messages::Other(m.text))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Messages, E> {
                MetaVisitor.visit_u64(v).map(|m| Messages::Other(m.text))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Messages, E> {
                MetaVisitor.visit_f64(v).map(|m| Messages::Other(m.text))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Messages, E> {
                MetaVisitor.visit_bool(v).map(|m| Messages::Other(m.text))
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Messages, E> {
                MetaVisitor.visit_unit().map(|m| Messages::Other(m.text))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Messages, A::Error> {
                MetaVisitor.visit_map(map).map(|m| Messages::Other(m.text))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for InvalidFields<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<InvalidFields<'a>, D::Error> {
        struct Visitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Visitor<'a> {
            type Value = InvalidFields<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<InvalidFields<'a>, A::Error> {
                let mut fields = Vec::new();
                while let Some((key, messages)) = map.next_entry::<crate::wire::CowStr<'de>, Messages>()? {
                    fields.push((key.0, messages));
                }
                Ok(InvalidFields::Fields(fields))
            }
            fn visit_unit<E>(self) -> Result<InvalidFields<'a>, E> {
                Ok(InvalidFields::Null)
            }
            fn visit_str<E>(self, v: &str) -> Result<InvalidFields<'a>, E> {
                Ok(InvalidFields::Other(v.to_owned()))
            }
            fn visit_string<E>(self, v: String) -> Result<InvalidFields<'a>, E> {
                Ok(InvalidFields::Other(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<InvalidFields<'a>, E> {
                MetaVisitor.visit_i64(v).map(|m| InvalidFields::Other(m.text))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<InvalidFields<'a>, E> {
                MetaVisitor.visit_u64(v).map(|m| InvalidFields::Other(m.text))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<InvalidFields<'a>, E> {
                MetaVisitor.visit_f64(v).map(|m| InvalidFields::Other(m.text))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<InvalidFields<'a>, E> {
                MetaVisitor.visit_bool(v).map(|m| InvalidFields::Other(m.text))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<InvalidFields<'a>, A::Error> {
                MetaVisitor.visit_seq(seq).map(|m| InvalidFields::Other(m.text))
            }
        }
        deserializer.deserialize_any(Visitor(std::marker::PhantomData))
    }
}

impl<'a> InvalidFields<'a> {
    /// Reads `invalid_fields` in one pass; when that pass fails (a string
    /// that is not Unicode, a value nested too deep for a `Value`), reads it
    /// the slower way, which keeps what can be kept.
    fn read(raw: &'a RawValue) -> InvalidFields<'a> {
        if let Ok(fields) = serde_json::from_str::<InvalidFields<'_>>(raw.get()) {
            return fields;
        }
        match serde_json::from_str::<ObjectEntries<'_>>(raw.get()) {
            Ok(entries) => InvalidFields::Fields(
                entries
                    .0
                    .into_iter()
                    .map(|(field, messages)| {
                        let messages = match serde_json::from_str::<Vec<String>>(messages.get()) {
                            Ok(list) => Messages::List(list),
                            Err(_) => Messages::Other(metadata_text(messages)),
                        };
                        (field, messages)
                    })
                    .collect(),
            ),
            Err(_) if raw.get() == "null" => InvalidFields::Null,
            Err(_) => InvalidFields::Other(metadata_text(raw)),
        }
    }
}

/// The field violations of Gcore's `invalid_fields` members: one per
/// message, fields in sorted order, and of a field named twice the last.
fn field_violations(mut fields: Vec<(Cow<'_, str>, Messages)>) -> Vec<FieldViolation> {
    // A stable sort keeps duplicates in document order, so that the last
    // of each run is the one that counts.
    if !fields.is_sorted_by(|a, b| a.0 < b.0) {
        fields.sort_by(|a, b| a.0.cmp(&b.0));
    }
    let count = fields.iter().map(|(_, m)| if let Messages::List(list) = m { list.len() } else { 1 }).sum();
    let mut violations = Vec::with_capacity(count);
    let mut fields = fields.into_iter().peekable();
    while let Some((field, messages)) = fields.next() {
        if fields.peek().is_some_and(|(next, _)| *next == field) {
            continue;
        }
        match messages {
            Messages::List(list) => {
                violations.extend(list.into_iter().map(|m| FieldViolation::new(field.as_ref(), m)));
            }
            Messages::Other(text) => violations.push(FieldViolation::new(field.into_owned(), text)),
        }
    }
    violations
}

/// Gcore's envelope.
fn decode_gcore(f: &mut Fields<'_>, class: &str, http: u16) -> BodyOnly {
    let message = text(f.message.as_ref()).map(str::to_owned).unwrap_or_default();
    let row = gcore::row_for_class(class, &message);
    let (code, reason, row_http) = match row {
        Some(row) => (row.code, row.reason.to_owned(), row.http_status),
        None => {
            let code = code_from_http(http);
            (code, gcore::reason_for_unknown_class(class), code.http_status())
        }
    };
    // The members of `info` override `exceptionClass`, as when they were
    // inserted after it.
    let (mut metadata, limit) = match f.info.take() {
        Some(GcoreMember::Read(InfoRead { mut metadata, limit })) => {
            metadata.entry(gcore::EXCEPTION_CLASS_KEY.into()).or_insert_with(|| class.to_owned().into());
            (metadata, Some(limit))
        }
        Some(GcoreMember::Raw(raw)) => {
            let mut metadata = BTreeMap::new();
            metadata.insert(gcore::EXCEPTION_CLASS_KEY.into(), class.to_owned().into());
            let limit = add_info(&mut metadata, class, raw);
            (metadata, Some(limit))
        }
        None => {
            let mut metadata = BTreeMap::new();
            metadata.insert(gcore::EXCEPTION_CLASS_KEY.into(), class.to_owned().into());
            (metadata, None)
        }
    };
    let invalid_fields = f.invalid_fields.take().map(|member| match member {
        GcoreMember::Read(fields) => fields,
        GcoreMember::Raw(raw) => InvalidFields::read(raw),
    });
    let violations = match invalid_fields {
        Some(InvalidFields::Fields(fields)) => Some(field_violations(fields)),
        Some(InvalidFields::Other(text)) => {
            metadata.insert("invalidFields".into(), text.into());
            None
        }
        Some(InvalidFields::Null) | None => None,
    };
    let quota = row.is_some_and(|r| r.reason == "QUOTA_LIMIT_EXCEEDED");
    let request_id = text(f.request_id.as_ref()).filter(|id| !id.is_empty());
    let mut details = Vec::with_capacity(
        1 + usize::from(violations.is_some()) + usize::from(quota) + usize::from(request_id.is_some()),
    );
    let quota_failure = quota.then(|| {
        // Only `info` puts `quota_name` in the metadata; of duplicate keys
        // the last counts, as there.
        let violation = QuotaViolation {
            subject: metadata.get("quota_name").map(|name| name.to_string()).unwrap_or_default(),
            description: message.clone(),
            quota_value: limit.unwrap_or_default(),
            ..QuotaViolation::default()
        };
        Detail::QuotaFailure(QuotaFailure { violations: vec![violation] })
    });
    details.push(Detail::ErrorInfo(ErrorInfo { reason: reason.into(), domain: gcore::DOMAIN.into(), metadata }));
    if let Some(field_violations) = violations {
        details.push(Detail::BadRequest(BadRequest { field_violations }));
    }
    details.extend(quota_failure);
    if let Some(id) = request_id {
        details.push(Detail::RequestInfo(RequestInfo::new(id)));
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

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// `info` values whose one-pass reading must equal the reading from
    /// the raw text, including those the one-pass reading refuses (which
    /// then fall back to it).
    pub(super) const INFO_CASES: &[&str] = &[
        r#"{"attribute":"cpu_count","current_usage":8,"requested_usage":16,"limit":12}"#,
        r#"{"limit":"12","quota_name":"cpu"}"#,
        r#"{"limit":" 7 ","limit":3}"#,
        r#"{"limit":3,"limit":"x"}"#,
        r#"{"limit":-0,"a":-0.0,"b":1e2,"c":1.5,"d":-5,"e":18446744073709551615,"f":99999999999999999999}"#,
        r#"{"limit":-0.0,"a":-0}"#,
        r#"-0"#,
        r#"{"limit":-9223372036854775808,"g":-9223372036854775809}"#,
        r#"{"a":true,"b":false,"c":null,"d":[1,"x",{"z":1,"a":2}],"e":{"k":[],"k":{}}}"#,
        r#"{"esc\"aped":"va\u00e9lue\n","exceptionClass":"Overridden"}"#,
        r#"{"bad":"\ud800"}"#,
        r#"{"\ud800":"key"}"#,
        r#""a string""#,
        r#"12"#,
        r#"[1,2]"#,
        r#"true"#,
        r#"{}"#,
    ];

    #[test]
    fn info_reads_in_one_pass_as_from_the_raw_text() {
        for case in INFO_CASES {
            let raw: &RawValue = serde_json::from_str(case).unwrap();
            let mut fast = BTreeMap::new();
            fast.insert(gcore::EXCEPTION_CLASS_KEY.into(), "C".into());
            let fast_limit = add_info(&mut fast, "C", raw);
            // The reading from the raw text alone.
            let mut slow = BTreeMap::new();
            slow.insert(gcore::EXCEPTION_CLASS_KEY.into(), "C".into());
            let mut slow_limit = 0;
            match serde_json::from_str::<ObjectEntries<'_>>(raw.get()) {
                Ok(entries) => {
                    for (key, value) in entries.0 {
                        if key == "limit" {
                            slow_limit = raw_integer(Some(value)).unwrap_or_default();
                        }
                        slow.insert(key.into_owned().into(), metadata_text(value).into());
                    }
                }
                Err(_) => {
                    slow.insert("info".into(), metadata_text(raw).into());
                }
            }
            assert_eq!(fast, slow, "{case}");
            assert_eq!(fast_limit, slow_limit, "{case}");
        }
    }

    /// The field violations and metadata of a Gcore body, by `decode`.
    fn gcore_reading(invalid_fields: &str) -> (Vec<(String, String)>, Option<String>) {
        let body =
            format!(r#"{{"exception_class":"ValidationError","message":"m","invalid_fields":{invalid_fields}}}"#);
        let status = decode(400, &HeaderMap::new(), body.as_bytes()).status;
        let violations = status.field_violations().map(|v| (v.field.clone(), v.description.clone())).collect();
        let other = status.error_info().and_then(|i| i.metadata.get("invalidFields")).map(|text| text.to_string());
        (violations, other)
    }

    #[test]
    fn invalid_fields_read_in_one_pass_as_from_the_raw_text() {
        let cases = [
            r#"{"names":["Field required"],"flavor":["a","b"]}"#,
            r#"{"b":["1"],"a":["2"],"b":["3"]}"#,
            r#"{"a":[],"b":"text","c":null,"d":[1,"x"],"e":["x",{"k":1}],"f":{"z":1},"g":7}"#,
            r#"{"bad":["\ud800"],"ok":["fine"]}"#,
            r#"["not","an","object"]"#,
            r#""just text""#,
            r#"3.5"#,
            r#"-0"#,
            r#"{"z":-0,"y":[-0]}"#,
        ];
        for case in cases {
            let raw: &RawValue = serde_json::from_str(case).unwrap();
            // The reading from the raw text alone, as before the one pass.
            let (mut expected, mut other) = (Vec::new(), None);
            match serde_json::from_str::<BTreeMap<String, &RawValue>>(raw.get()) {
                Ok(map) => {
                    for (field, messages) in map {
                        match serde_json::from_str::<Vec<String>>(messages.get()) {
                            Ok(list) => expected.extend(list.into_iter().map(|m| (field.clone(), m))),
                            Err(_) => expected.push((field, metadata_text(messages))),
                        }
                    }
                }
                Err(_) => other = Some(metadata_text(raw)),
            }
            assert_eq!(gcore_reading(case), (expected, other), "{case}");
        }
    }

    #[test]
    fn members_too_deep_for_a_value_do_not_make_the_body_unreadable() {
        let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
        for member in ["info", "invalid_fields"] {
            let body = format!(r#"{{"exception_class":"NotFoundError","message":"m","{member}":{{"k":{deep}}}}}"#);
            let decoded = decode(404, &HeaderMap::new(), body.as_bytes());
            assert_eq!(decoded.dialect, Dialect::Gcore, "{member}");
            assert_eq!(decoded.status.code(), Code::NotFound, "{member}");
        }
    }

    /// `details` arrays whose one-pass reading must equal the reading of
    /// each item from its raw text, including the items the one pass
    /// refuses (which then fall back to it).
    pub(super) const DETAILS_CASES: &[&str] = &[
        r#"[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"R","domain":"d","metadata":{"k":"v","a":"b"}}]"#,
        r#"[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"1.500s"},
            {"@type":"type.googleapis.com/google.rpc.RetryInfo","retry_delay":"30s"}]"#,
        r#"[{"@type":"type.googleapis.com/google.rpc.DebugInfo","stackEntries":["a","b"],"detail":"x"}]"#,
        r#"[{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"subject":"s","description":"d"}]}]"#,
        r#"[{"@type":"type.googleapis.com/google.rpc.PreconditionFailure","violations":[{"type":"TOS","subject":"s","description":"d"}]}]"#,
        r#"[{"@type":"type.googleapis.com/google.rpc.BadRequest","field_violations":[{"field":"f","description":"d"}]}]"#,
        r#"[{"@type":"type.googleapis.com/google.rpc.RequestInfo","requestId":"r","servingData":"s"}]"#,
        r#"[{"@type":"type.googleapis.com/google.rpc.ResourceInfo","resourceType":"t","resourceName":"n","owner":"o","description":"d"}]"#,
        r#"[{"@type":"type.googleapis.com/google.rpc.Help","links":[{"description":"d","url":"https://x"}]}]"#,
        r#"[{"@type":"type.googleapis.com/google.rpc.LocalizedMessage","locale":"en-US","message":"m"}]"#,
        r#"[{"@type":"example.com/google.rpc.RetryInfo","retryDelay":"2s"}]"#,
        r#"[{"@type":"type.googleapis.com\/google.rpc.RetryInfo","retryDelay":"1s"}]"#,
        r#"[{"\u0040type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"1s"}]"#,
        r#"[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":null,"metadata":null}]"#,
        r#"[{"reason":"R","@type":"type.googleapis.com/google.rpc.ErrorInfo"}]"#,
        r#"[{"@type":"type.googleapis.com/acme.v1.Thing","x":[1,{"y":2}]}]"#,
        r#"[{"x":1},{},{"@type":5},{"@type":null}]"#,
        r#"[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"R","metadata":{"zones":["a","b"]}}]"#,
        r#"[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"1s","extra":1}]"#,
        r#"[{"@type":"type.googleapis.com/google.rpc.RetryInfo","@type":"type.googleapis.com/google.rpc.RetryInfo"}]"#,
        r#"[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"soon"}]"#,
        r#"[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"1s","retryDelay":"2s"}]"#,
        r#"[{"@type":"type.googleapis.com/google.rpc.LocalizedMessage","message":"\ud800"}]"#,
        r#"[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"R"},{"@type":"acme/X"},{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"3s"}]"#,
        r#"[1,"x",null,true,["type.googleapis.com/google.rpc.RetryInfo","1s"]]"#,
        r#"[]"#,
        r#"{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"1s"}"#,
        r#""text""#,
        r#"null"#,
    ];

    /// Decodes `body` (a JSON object) with the items of `details` kept raw
    /// from the start, as the reading before the one pass did.
    fn decode_with_raw_details(body: &str, http: u16) -> BodyOnly {
        let mut fields = Fields { details_raw: true, ..Fields::default() };
        assert!(fields_from_str(body, &mut fields), "{body}");
        decode_object(&mut fields, http, false)
    }

    #[test]
    fn details_read_in_one_pass_as_from_the_raw_text() {
        let deep = format!(
            r#"[{{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"1s"}},{{"@type":"acme/X","k":{}1{}}}]"#,
            "[".repeat(120),
            "]".repeat(120)
        );
        let cases = DETAILS_CASES.iter().copied().chain([deep.as_str()]);
        for case in cases {
            for body in [
                format!(r#"{{"code":400,"status":"INVALID_ARGUMENT","message":"m","details":{case}}}"#),
                format!(r#"{{"error":{{"code":400,"status":"INVALID_ARGUMENT","message":"m","details":{case}}}}}"#),
                format!(r#"{{"type":"about:blank","title":"t","status":400,"details":{case}}}"#),
            ] {
                let one_pass = decode_body(400, false, body.as_bytes(), 0);
                let raw = decode_with_raw_details(&body, 400);
                assert_eq!(one_pass.dialect, raw.dialect, "{body}");
                assert_eq!(one_pass.status, raw.status, "{body}");
            }
        }
    }

    #[test]
    fn conforming_details_are_read_in_the_first_pass() {
        // Every standard type, `@type` first, as proto3 JSON writers put it.
        for case in &DETAILS_CASES[..11] {
            let body = format!(r#"{{"code":400,"status":"INVALID_ARGUMENT","message":"m","details":{case}}}"#);
            let mut fields = Fields::default();
            let mut de = serde_json::Deserializer::from_str(&body);
            assert!(serde::de::DeserializeSeed::deserialize(FieldsSeed(&mut fields), &mut de).is_ok(), "{case}");
            assert!(matches!(fields.details, Some(DetailsField::Read(_))), "{case}");
        }
    }

    #[test]
    fn decimal_writes_what_to_string_writes() {
        for n in [0, 1, 9, 10, -1, -10, 123_456_789, i64::MAX, i64::MIN] {
            assert_eq!(decimal(n < 0, n.unsigned_abs()), n.to_string());
        }
        assert_eq!(decimal(false, u64::MAX), u64::MAX.to_string());
    }

    #[test]
    fn a_duplicate_known_member_makes_the_object_unreadable_and_an_unknown_one_does_not() {
        let body = br#"{"message":"a","message":"b","code":400}"#;
        assert_eq!(decode(400, &HeaderMap::new(), body).dialect, Dialect::Text);
        let body = br#"{"x":1,"x":2,"code":400,"status":"INVALID_ARGUMENT","message":"m"}"#;
        assert_eq!(decode(400, &HeaderMap::new(), body).dialect, Dialect::Aip193);
    }
}
