//! The standard error details of `google/rpc/error_details.proto`, and how
//! canon keeps details it does not know or that break their schema.
//!
//! Each standard type is a plain struct with public fields named after the
//! proto, a `TYPE_URL` constant and, where it helps, a constructor. In JSON
//! a detail is an `Any`: an object with an `@type` URL beside the fields.
//!
//! # Nothing is lost
//!
//! Real servers send details canon has never heard of, and details that
//! break the schema of a type canon does know. A [`Detail`] keeps both:
//!
//! - [`Detail::Unknown`] holds a detail whose `@type` is not a standard
//!   type (or that has no `@type` at all). It keeps the type URL and the
//!   exact JSON text it arrived as, and encodes back to that same text.
//! - [`Detail::Nonconforming`] holds a detail whose `@type` names a standard
//!   type but whose fields break that type's schema. The CUDO page's own
//!   example is one: its `ErrorInfo.metadata` holds an array where the proto
//!   has `map<string, string>`. canon keeps the original JSON text (which
//!   is what it encodes back), a list of the problems found, and a typed
//!   *reading* of the detail in which each broken field is repaired: a
//!   non-string metadata value becomes its compact JSON text
//!   (`["gpu-a100-x2","gpu-a100-x4"]`), a field of the wrong type becomes
//!   its default, and an unknown field is left out of the reading (but not
//!   out of the JSON). The typed accessors of [`Status`](crate::Status),
//!   such as `error_info()`, return that reading, so code that reads the
//!   reason or the metadata works the same on a broken body.
//!
//! ```
//! use canon::details::{Detail, ErrorInfo};
//!
//! let json = r#"{"@type":"type.googleapis.com/google.rpc.ErrorInfo",
//!     "reason":"MACHINE_TYPE_UNAVAILABLE","domain":"compute.cudo.dev",
//!     "metadata":{"availableMachineTypes":["gpu-a100-x2","gpu-a100-x4"]}}"#;
//! let detail = Detail::from_json(json);
//! let info: &ErrorInfo = detail.as_error_info().unwrap();
//! assert_eq!(info.reason, "MACHINE_TYPE_UNAVAILABLE");
//! assert_eq!(info.metadata["availableMachineTypes"], r#"["gpu-a100-x2","gpu-a100-x4"]"#);
//! // The array is still an array when the detail is written out again.
//! assert_eq!(detail.to_json(), json);
//! ```

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::duration::ProtoDuration;
use crate::schema::{self, SchemaProblem};
use crate::wire::{self, is_default, null_as_default};

/// The common prefix of every standard type URL.
pub const TYPE_URL_PREFIX: &str = "type.googleapis.com/";

macro_rules! standard_details {
    ($( $(#[$doc:meta])* $name:ident => $proto:literal ),* $(,)?) => {
        /// Which of the standard detail types a detail is.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum DetailKind {
            $( $(#[$doc])* $name, )*
        }

        impl DetailKind {
            /// Every standard detail type.
            pub const ALL: &'static [DetailKind] = &[$(DetailKind::$name),*];

            /// The full proto name, such as `google.rpc.ErrorInfo`.
            pub const fn proto_name(self) -> &'static str {
                match self { $( DetailKind::$name => $proto, )* }
            }

            /// The type URL, such as `type.googleapis.com/google.rpc.ErrorInfo`.
            pub const fn type_url(self) -> &'static str {
                match self { $( DetailKind::$name => concat!("type.googleapis.com/", $proto), )* }
            }

            /// The short name, such as `ErrorInfo`.
            pub fn short_name(self) -> &'static str {
                &self.proto_name()["google.rpc.".len()..]
            }

            /// The kind a type URL names. Any host is accepted
            /// (`type.googleapis.com/`, or none): the type is the part after
            /// the last `/`.
            pub fn from_type_url(url: &str) -> Option<DetailKind> {
                let name = url.rfind('/').map_or(url, |slash| &url[slash + 1..]);
                match name { $( $proto => Some(DetailKind::$name), )* _ => None }
            }
        }

        $(
            impl $name {
                /// This detail's type URL.
                pub const TYPE_URL: &'static str = concat!("type.googleapis.com/", $proto);
            }

            impl From<$name> for Detail {
                fn from(value: $name) -> Detail {
                    Detail::$name(value)
                }
            }
        )*
    };
}

standard_details! {
    /// `google.rpc.ErrorInfo`: why the error happened, as reason, domain and metadata.
    ErrorInfo => "google.rpc.ErrorInfo",
    /// `google.rpc.RetryInfo`: when the client may retry.
    RetryInfo => "google.rpc.RetryInfo",
    /// `google.rpc.DebugInfo`: a stack trace and detail for the server's own engineers.
    DebugInfo => "google.rpc.DebugInfo",
    /// `google.rpc.QuotaFailure`: which quota was exceeded.
    QuotaFailure => "google.rpc.QuotaFailure",
    /// `google.rpc.PreconditionFailure`: which precondition failed.
    PreconditionFailure => "google.rpc.PreconditionFailure",
    /// `google.rpc.BadRequest`: which request fields are invalid.
    BadRequest => "google.rpc.BadRequest",
    /// `google.rpc.RequestInfo`: the request id to quote to support.
    RequestInfo => "google.rpc.RequestInfo",
    /// `google.rpc.ResourceInfo`: the resource the error is about.
    ResourceInfo => "google.rpc.ResourceInfo",
    /// `google.rpc.Help`: links to documentation.
    Help => "google.rpc.Help",
    /// `google.rpc.LocalizedMessage`: the message in the user's language.
    LocalizedMessage => "google.rpc.LocalizedMessage",
}

impl fmt::Display for DetailKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.short_name())
    }
}

/// Text of a status that is most often a constant: a `&'static str` is kept
/// as it is, anything else is owned.
///
/// A server's error reasons, domains and metadata keys, and many of its
/// messages, are string literals; keeping them borrowed spares an allocation
/// for each every time an error is built. Reading (`&str`, `==`, `Display`)
/// works as on a `String`; to build one, pass a `&'static str` or a
/// `String`.
///
/// ```
/// use canon::details::ErrorInfo;
///
/// let id = "vm-1";
/// let info = ErrorInfo::new("VM_NOT_FOUND", "compute.example.dev").with_metadata("vmId", id.to_owned());
/// assert_eq!(info.reason, "VM_NOT_FOUND");
/// assert_eq!(info.metadata["vmId"], "vm-1");
/// ```
pub type Text = Cow<'static, str>;

/// `google.rpc.ErrorInfo`: the reason for the error, the domain that
/// defines the reason, and metadata that makes it actionable.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ErrorInfo {
    /// The reason, `UPPER_SNAKE_CASE`, unique within the domain.
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "str::is_empty")]
    pub reason: Text,
    /// The logical grouping the reason belongs to, usually the service name.
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "str::is_empty")]
    pub domain: Text,
    /// Additional structured details, lowerCamelCase keys.
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<Text, Text>,
}

impl ErrorInfo {
    /// An ErrorInfo with a reason and a domain and no metadata.
    pub fn new(reason: impl Into<Text>, domain: impl Into<Text>) -> ErrorInfo {
        ErrorInfo { reason: reason.into(), domain: domain.into(), metadata: BTreeMap::new() }
    }

    /// Adds one metadata entry.
    pub fn with_metadata(mut self, key: impl Into<Text>, value: impl Into<Text>) -> ErrorInfo {
        self.metadata.insert(key.into(), value.into());
        self
    }

    /// The values of a metadata entry that lists several, such as
    /// `availableMachineTypes`. A value that is a JSON array of strings
    /// (which is how canon reads an array a server put into the map) gives
    /// its items; any other value is split at commas.
    pub fn metadata_list(&self, key: &str) -> Vec<String> {
        let Some(value) = self.metadata.get(key) else { return Vec::new() };
        if value.starts_with('[') {
            if let Ok(items) = serde_json::from_str::<Vec<String>>(value) {
                return items;
            }
        }
        value.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
    }
}

/// `google.rpc.RetryInfo`: how long the client should wait before it
/// retries.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RetryInfo {
    /// The delay; absent means the server gave none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_delay: Option<ProtoDuration>,
}

impl RetryInfo {
    /// A RetryInfo for a non-negative delay (clamped to the Duration range).
    pub fn new(delay: Duration) -> RetryInfo {
        RetryInfo { retry_delay: Some(ProtoDuration::from_std(delay)) }
    }

    /// The delay as a [`Duration`], or `None` when absent or negative.
    pub fn delay(&self) -> Option<Duration> {
        self.retry_delay.and_then(|d| d.to_std())
    }
}

/// `google.rpc.DebugInfo`: debugging data for the server's engineers. It
/// should not reach production clients.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DebugInfo {
    /// The stack trace, one frame an entry.
    #[serde(
        default,
        alias = "stack_entries",
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub stack_entries: Vec<String>,
    /// Any other debugging data.
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

/// `google.rpc.QuotaFailure`: the quotas that were exceeded.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QuotaFailure {
    /// One entry per exceeded quota.
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "Vec::is_empty")]
    pub violations: Vec<QuotaViolation>,
}

/// One exceeded quota in a [`QuotaFailure`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QuotaViolation {
    /// The subject the quota applies to, such as `projects/123`.
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "String::is_empty")]
    pub subject: String,
    /// How the quota was exceeded.
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// The API service the quota belongs to.
    #[serde(
        default,
        alias = "api_service",
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub api_service: String,
    /// The metric the quota counts.
    #[serde(
        default,
        alias = "quota_metric",
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub quota_metric: String,
    /// The quota's id.
    #[serde(
        default,
        alias = "quota_id",
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub quota_id: String,
    /// The dimensions of the quota, such as a region.
    #[serde(
        default,
        alias = "quota_dimensions",
        deserialize_with = "null_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub quota_dimensions: BTreeMap<String, String>,
    /// The quota's limit. int64: written as a JSON string.
    #[serde(default, alias = "quota_value", with = "wire::int64", skip_serializing_if = "is_default")]
    pub quota_value: i64,
    /// The limit after a pending change. Optional int64.
    #[serde(default, alias = "future_quota_value", with = "wire::opt_int64", skip_serializing_if = "Option::is_none")]
    pub future_quota_value: Option<i64>,
}

impl QuotaViolation {
    /// A violation with a subject and a description.
    pub fn new(subject: impl Into<String>, description: impl Into<String>) -> QuotaViolation {
        QuotaViolation { subject: subject.into(), description: description.into(), ..QuotaViolation::default() }
    }
}

/// `google.rpc.PreconditionFailure`: the preconditions that failed.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PreconditionFailure {
    /// One entry per failed precondition.
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "Vec::is_empty")]
    pub violations: Vec<PreconditionViolation>,
}

/// One failed precondition in a [`PreconditionFailure`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PreconditionViolation {
    /// A service-specific type, such as `TOS`.
    #[serde(default, rename = "type", deserialize_with = "null_as_default", skip_serializing_if = "String::is_empty")]
    pub r#type: String,
    /// The subject, relative to the type.
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "String::is_empty")]
    pub subject: String,
    /// How the precondition failed.
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "String::is_empty")]
    pub description: String,
}

/// `google.rpc.BadRequest`: the request fields that are invalid.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BadRequest {
    /// One entry per invalid field.
    #[serde(
        default,
        alias = "field_violations",
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub field_violations: Vec<FieldViolation>,
}

/// One invalid field in a [`BadRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FieldViolation {
    /// The path to the field, such as `spec.machineType`.
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "String::is_empty")]
    pub field: String,
    /// Why the field is invalid.
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// A machine-readable reason, `UPPER_SNAKE_CASE`.
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// The description in the user's language.
    #[serde(default, alias = "localized_message", skip_serializing_if = "Option::is_none")]
    pub localized_message: Option<LocalizedMessage>,
}

impl FieldViolation {
    /// A violation with a field path and a description.
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> FieldViolation {
        FieldViolation { field: field.into(), description: description.into(), ..FieldViolation::default() }
    }
}

/// `google.rpc.RequestInfo`: identifies the request for support.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RequestInfo {
    /// An opaque id that the server's logs can be searched for.
    #[serde(
        default,
        alias = "request_id",
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub request_id: String,
    /// Any data used to serve the request, such as an encrypted stack trace.
    #[serde(
        default,
        alias = "serving_data",
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub serving_data: String,
}

impl RequestInfo {
    /// A RequestInfo with a request id.
    pub fn new(request_id: impl Into<String>) -> RequestInfo {
        RequestInfo { request_id: request_id.into(), serving_data: String::new() }
    }
}

/// `google.rpc.ResourceInfo`: the resource the error is about.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResourceInfo {
    /// The resource type, such as `compute.cudo.dev/Cluster`.
    #[serde(
        default,
        alias = "resource_type",
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub resource_type: String,
    /// The resource's name.
    #[serde(
        default,
        alias = "resource_name",
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub resource_name: String,
    /// The resource's owner.
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "String::is_empty")]
    pub owner: String,
    /// What went wrong with the resource.
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "String::is_empty")]
    pub description: String,
}

/// `google.rpc.Help`: links to documentation for the error.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Help {
    /// The links.
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<HelpLink>,
}

/// One link in a [`Help`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HelpLink {
    /// What the link offers.
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// The absolute URL.
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "String::is_empty")]
    pub url: String,
}

/// `google.rpc.LocalizedMessage`: the error message in a locale.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LocalizedMessage {
    /// A BCP 47 locale such as `en-US`.
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "String::is_empty")]
    pub locale: String,
    /// The message in that locale.
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "String::is_empty")]
    pub message: String,
}

/// A detail whose `@type` is not a standard type, kept as it arrived.
#[derive(Debug, Clone)]
pub struct UnknownDetail {
    type_url: String,
    json: Box<RawValue>,
}

impl UnknownDetail {
    /// An unknown detail from its JSON text. The type URL is read from
    /// `@type`; it is empty when there is none.
    pub fn from_raw(json: Box<RawValue>) -> UnknownDetail {
        let type_url = probe_type_url(json.get()).map(std::borrow::Cow::into_owned).unwrap_or_default();
        UnknownDetail { type_url, json }
    }

    /// An unknown detail built from a type URL and fields, for servers that
    /// send a custom detail.
    pub fn new(type_url: &str, fields: serde_json::Map<String, serde_json::Value>) -> UnknownDetail {
        let mut object = serde_json::Map::new();
        object.insert("@type".to_owned(), serde_json::Value::String(type_url.to_owned()));
        object.extend(fields);
        let text = serde_json::Value::Object(object).to_string();
        UnknownDetail {
            type_url: type_url.to_owned(),
            json: RawValue::from_string(text).expect("a Value writes valid JSON"),
        }
    }

    /// The `@type` URL, or `""` when the detail had none.
    pub fn type_url(&self) -> &str {
        &self.type_url
    }

    /// The JSON text exactly as received.
    pub fn json(&self) -> &RawValue {
        &self.json
    }

    /// The JSON as a value.
    pub fn value(&self) -> serde_json::Value {
        serde_json::from_str(self.json.get()).unwrap_or(serde_json::Value::Null)
    }
}

impl PartialEq for UnknownDetail {
    /// Equal when the JSON values are equal (key order and spacing aside).
    fn eq(&self, other: &UnknownDetail) -> bool {
        self.type_url == other.type_url && (self.json.get() == other.json.get() || self.value() == other.value())
    }
}

/// A detail of a standard type that breaks that type's schema.
///
/// See the [module docs](self) for how it is kept.
#[derive(Debug, Clone)]
pub struct NonconformingDetail {
    kind: DetailKind,
    reading: Box<Detail>,
    json: Box<RawValue>,
    problems: Vec<SchemaProblem>,
}

impl NonconformingDetail {
    /// The standard type the detail claims to be.
    pub fn kind(&self) -> DetailKind {
        self.kind
    }

    /// The typed reading, with broken fields repaired.
    pub fn reading(&self) -> &Detail {
        &self.reading
    }

    /// The JSON text exactly as received.
    pub fn json(&self) -> &RawValue {
        &self.json
    }

    /// What breaks the schema, each with a JSON pointer into the detail.
    pub fn problems(&self) -> &[SchemaProblem] {
        &self.problems
    }
}

impl PartialEq for NonconformingDetail {
    fn eq(&self, other: &NonconformingDetail) -> bool {
        self.kind == other.kind && self.json.get() == other.json.get()
    }
}

/// One error detail: a standard type, or a detail kept as it arrived.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Detail {
    /// See [`ErrorInfo`].
    ErrorInfo(ErrorInfo),
    /// See [`RetryInfo`].
    RetryInfo(RetryInfo),
    /// See [`DebugInfo`].
    DebugInfo(DebugInfo),
    /// See [`QuotaFailure`].
    QuotaFailure(QuotaFailure),
    /// See [`PreconditionFailure`].
    PreconditionFailure(PreconditionFailure),
    /// See [`BadRequest`].
    BadRequest(BadRequest),
    /// See [`RequestInfo`].
    RequestInfo(RequestInfo),
    /// See [`ResourceInfo`].
    ResourceInfo(ResourceInfo),
    /// See [`Help`].
    Help(Help),
    /// See [`LocalizedMessage`].
    LocalizedMessage(LocalizedMessage),
    /// A standard type that breaks its schema.
    Nonconforming(NonconformingDetail),
    /// A type canon does not know.
    Unknown(UnknownDetail),
}

macro_rules! accessor {
    ($( $fn:ident => $name:ident ),* $(,)?) => {
        impl Detail {
            $(
                #[doc = concat!("The detail as a [`", stringify!($name), "`]: a well-formed one, or the reading of a nonconforming one.")]
                pub fn $fn(&self) -> Option<&$name> {
                    match self {
                        Detail::$name(d) => Some(d),
                        Detail::Nonconforming(n) => match &*n.reading {
                            Detail::$name(d) => Some(d),
                            _ => None,
                        },
                        _ => None,
                    }
                }
            )*
        }
    };
}

accessor! {
    as_error_info => ErrorInfo,
    as_retry_info => RetryInfo,
    as_debug_info => DebugInfo,
    as_quota_failure => QuotaFailure,
    as_precondition_failure => PreconditionFailure,
    as_bad_request => BadRequest,
    as_request_info => RequestInfo,
    as_resource_info => ResourceInfo,
    as_help => Help,
    as_localized_message => LocalizedMessage,
}

/// Reads `@type` without building the rest. Writers put `@type` first
/// (protobuf's JSON printer does, and so does canon), so a detail that
/// starts with it is read without a scan; any other is read by a probe
/// that skips the rest of the object.
fn probe_type_url(json: &str) -> Option<std::borrow::Cow<'_, str>> {
    if let Some(url) = leading_type_url(json) {
        return Some(std::borrow::Cow::Borrowed(url));
    }
    #[derive(Deserialize)]
    struct Probe<'a> {
        #[serde(rename = "@type", borrow)]
        type_url: Option<std::borrow::Cow<'a, str>>,
    }
    serde_json::from_str::<Probe<'_>>(json).ok()?.type_url
}

/// The `@type` of a JSON object whose first member it is, when it is a
/// string without escapes. `json` is valid JSON (a raw value).
fn leading_type_url(json: &str) -> Option<&str> {
    let bytes = json.as_bytes();
    let mut at = 0;
    let mut expect = |token: &[u8]| {
        while matches!(bytes.get(at), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            at += 1;
        }
        let found = bytes[at..].starts_with(token);
        at += token.len();
        found
    };
    if !(expect(b"{") && expect(b"\"@type\"") && expect(b":") && expect(b"\"")) {
        return None;
    }
    let len = bytes[at..].iter().position(|&b| b == b'"' || b == b'\\')?;
    (bytes[at + len] == b'"').then(|| &json[at..at + len])
}

/// The fields of a standard detail in an `Any`, with `@type` accepted and
/// ignored; everything else as in the standard type.
macro_rules! any_wire {
    ($( $wire:ident => $name:ident { $( $(#[$attr:meta])* $field:ident : $ty:ty ),* $(,)? } )*) => {
        $(
            #[derive(Deserialize)]
            #[serde(rename_all = "camelCase", deny_unknown_fields)]
            struct $wire {
                #[serde(rename = "@type")]
                _type_url: serde::de::IgnoredAny,
                $( $(#[$attr])* $field: $ty, )*
            }

            impl From<$wire> for $name {
                fn from(wire: $wire) -> $name {
                    $name { $( $field: wire.$field ),* }
                }
            }
        )*
    };
}

any_wire! {
    ErrorInfoAny => ErrorInfo {
        #[serde(default, deserialize_with = "null_as_default")] reason: Text,
        #[serde(default, deserialize_with = "null_as_default")] domain: Text,
        #[serde(default, deserialize_with = "null_as_default")] metadata: BTreeMap<Text, Text>,
    }
    RetryInfoAny => RetryInfo {
        #[serde(default, alias = "retry_delay")] retry_delay: Option<ProtoDuration>,
    }
    DebugInfoAny => DebugInfo {
        #[serde(default, alias = "stack_entries", deserialize_with = "null_as_default")] stack_entries: Vec<String>,
        #[serde(default, deserialize_with = "null_as_default")] detail: String,
    }
    QuotaFailureAny => QuotaFailure {
        #[serde(default, deserialize_with = "null_as_default")] violations: Vec<QuotaViolation>,
    }
    PreconditionFailureAny => PreconditionFailure {
        #[serde(default, deserialize_with = "null_as_default")] violations: Vec<PreconditionViolation>,
    }
    BadRequestAny => BadRequest {
        #[serde(default, alias = "field_violations", deserialize_with = "null_as_default")] field_violations: Vec<FieldViolation>,
    }
    RequestInfoAny => RequestInfo {
        #[serde(default, alias = "request_id", deserialize_with = "null_as_default")] request_id: String,
        #[serde(default, alias = "serving_data", deserialize_with = "null_as_default")] serving_data: String,
    }
    ResourceInfoAny => ResourceInfo {
        #[serde(default, alias = "resource_type", deserialize_with = "null_as_default")] resource_type: String,
        #[serde(default, alias = "resource_name", deserialize_with = "null_as_default")] resource_name: String,
        #[serde(default, deserialize_with = "null_as_default")] owner: String,
        #[serde(default, deserialize_with = "null_as_default")] description: String,
    }
    HelpAny => Help {
        #[serde(default, deserialize_with = "null_as_default")] links: Vec<HelpLink>,
    }
    LocalizedMessageAny => LocalizedMessage {
        #[serde(default, deserialize_with = "null_as_default")] locale: String,
        #[serde(default, deserialize_with = "null_as_default")] message: String,
    }
}

/// Parses the fields of a standard detail strictly.
fn parse_strict(kind: DetailKind, json: &str) -> Result<Detail, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_str(json);
    let detail = read_kind(kind, &mut deserializer)?;
    deserializer.end()?;
    Ok(detail)
}

/// Reads the fields of a standard detail of `kind` (with its `@type`, which
/// the wire types accept and ignore) strictly from `deserializer`.
fn read_kind<'de, D: serde::Deserializer<'de>>(kind: DetailKind, deserializer: D) -> Result<Detail, D::Error> {
    fn read<'de, W: Deserialize<'de> + Into<T>, T: Into<Detail>, D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Detail, D::Error> {
        W::deserialize(deserializer).map(|wire| wire.into().into())
    }
    match kind {
        DetailKind::ErrorInfo => read::<ErrorInfoAny, ErrorInfo, D>(deserializer),
        DetailKind::RetryInfo => read::<RetryInfoAny, RetryInfo, D>(deserializer),
        DetailKind::DebugInfo => read::<DebugInfoAny, DebugInfo, D>(deserializer),
        DetailKind::QuotaFailure => read::<QuotaFailureAny, QuotaFailure, D>(deserializer),
        DetailKind::PreconditionFailure => read::<PreconditionFailureAny, PreconditionFailure, D>(deserializer),
        DetailKind::BadRequest => read::<BadRequestAny, BadRequest, D>(deserializer),
        DetailKind::RequestInfo => read::<RequestInfoAny, RequestInfo, D>(deserializer),
        DetailKind::ResourceInfo => read::<ResourceInfoAny, ResourceInfo, D>(deserializer),
        DetailKind::Help => read::<HelpAny, Help, D>(deserializer),
        DetailKind::LocalizedMessage => read::<LocalizedMessageAny, LocalizedMessage, D>(deserializer),
    }
}

/// One item of a `details` array, read in the same pass as the body around
/// it: a standard detail whose first member is `@type` and whose fields
/// conform. Any other item (an unknown type, `@type` not first, a field
/// that breaks the schema, not an object) is refused with an error, and
/// the caller reads the body again keeping each item raw for
/// [`Detail::from_raw`], which keeps everything. For the items it accepts,
/// both readings give the same detail: the fields go through the same
/// [`read_kind`] as [`parse_strict`].
pub(crate) struct ConformingDetail(pub(crate) Detail);

impl<'de> Deserialize<'de> for ConformingDetail {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<ConformingDetail, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = ConformingDetail;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a standard detail with `@type` first")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<ConformingDetail, A::Error> {
                use serde::de::Error;
                match map.next_key::<wire::CowStr<'de>>()? {
                    Some(wire::CowStr(key)) if key == "@type" => {}
                    _ => return Err(A::Error::custom("`@type` is not the first member")),
                }
                let wire::CowStr(url) = map.next_value::<wire::CowStr<'de>>()?;
                let Some(kind) = DetailKind::from_type_url(&url) else {
                    return Err(A::Error::custom("not a standard detail type"));
                };
                let rest = AfterTypeUrl { rest: map, replayed: 0 };
                read_kind(kind, serde::de::value::MapAccessDeserializer::new(rest)).map(ConformingDetail)
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}

/// The members of an `Any` after its `@type`, with the `@type` member given
/// back first (as a unit value, which the wire types ignore), so that the
/// derived reading sees the whole object and refuses a second `@type` as
/// it would in the text.
struct AfterTypeUrl<A> {
    rest: A,
    /// 0 before the `@type` key is given back, 1 before its value, 2 after.
    replayed: u8,
}

impl<'de, A: serde::de::MapAccess<'de>> serde::de::MapAccess<'de> for AfterTypeUrl<A> {
    type Error = A::Error;

    fn next_key_seed<K: serde::de::DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, A::Error> {
        if self.replayed == 0 {
            self.replayed = 1;
            return seed.deserialize(serde::de::value::BorrowedStrDeserializer::new("@type")).map(Some);
        }
        self.rest.next_key_seed(seed)
    }

    fn next_value_seed<V: serde::de::DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        if self.replayed == 1 {
            self.replayed = 2;
            return seed.deserialize(serde::de::value::UnitDeserializer::new());
        }
        self.rest.next_value_seed(seed)
    }

    fn size_hint(&self) -> Option<usize> {
        self.rest.size_hint().map(|n| n + usize::from(self.replayed == 0))
    }
}

impl Detail {
    /// Reads one detail from its JSON text. Never fails: see the
    /// [module docs](self) for what happens to unknown and broken details.
    pub fn from_json(json: &str) -> Detail {
        match RawValue::from_string(json.to_owned()) {
            Ok(raw) => Detail::from_raw(&raw),
            Err(_) => {
                let text = serde_json::Value::String(json.to_owned()).to_string();
                Detail::Unknown(UnknownDetail::from_raw(RawValue::from_string(text).expect("a string is JSON")))
            }
        }
    }

    /// Reads one detail from a raw JSON value. Never fails.
    pub fn from_raw(raw: &RawValue) -> Detail {
        let json = raw.get();
        let Some(kind) = probe_type_url(json).as_deref().and_then(DetailKind::from_type_url) else {
            return Detail::Unknown(UnknownDetail::from_raw(raw.to_owned()));
        };
        match parse_strict(kind, json) {
            Ok(detail) => detail,
            Err(_) => Detail::nonconforming(kind, raw),
        }
    }

    /// The slow path for a standard detail that failed the strict parse:
    /// repair it against the schema, keep the problems and the text.
    fn nonconforming(kind: DetailKind, raw: &RawValue) -> Detail {
        let value: serde_json::Value = serde_json::from_str(raw.get()).unwrap_or(serde_json::Value::Null);
        let mut problems = Vec::new();
        let repaired = schema::repair(kind, &value, &mut problems);
        let reading = parse_strict(kind, &repaired.to_string()).unwrap_or_else(|_| {
            // The repair yields a conforming object by construction; an
            // empty detail of the kind is the last resort.
            parse_strict(kind, &format!(r#"{{"@type":"{}"}}"#, kind.type_url())).expect("an empty detail parses")
        });
        if problems.is_empty() {
            // The strict parse and the repair disagree only on numbers
            // beyond int64; report the detail as unreadable rather than lose it.
            problems.push(SchemaProblem::new("", "the detail could not be read as its type"));
        }
        Detail::Nonconforming(NonconformingDetail { kind, reading: Box::new(reading), json: raw.to_owned(), problems })
    }

    /// The standard type of this detail, for a nonconforming one the type it
    /// claims; `None` for an unknown type.
    pub fn kind(&self) -> Option<DetailKind> {
        Some(match self {
            Detail::ErrorInfo(_) => DetailKind::ErrorInfo,
            Detail::RetryInfo(_) => DetailKind::RetryInfo,
            Detail::DebugInfo(_) => DetailKind::DebugInfo,
            Detail::QuotaFailure(_) => DetailKind::QuotaFailure,
            Detail::PreconditionFailure(_) => DetailKind::PreconditionFailure,
            Detail::BadRequest(_) => DetailKind::BadRequest,
            Detail::RequestInfo(_) => DetailKind::RequestInfo,
            Detail::ResourceInfo(_) => DetailKind::ResourceInfo,
            Detail::Help(_) => DetailKind::Help,
            Detail::LocalizedMessage(_) => DetailKind::LocalizedMessage,
            Detail::Nonconforming(n) => n.kind,
            Detail::Unknown(_) => return None,
        })
    }

    /// The `@type` URL this detail is written with.
    pub fn type_url(&self) -> &str {
        match self {
            Detail::Unknown(u) => u.type_url(),
            other => other.kind().map(DetailKind::type_url).unwrap_or_default(),
        }
    }

    /// The detail's proto3 JSON text, `@type` first. Unknown and
    /// nonconforming details give back the exact text they arrived as.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("details always serialize")
    }
}

/// A standard detail with its `@type`, for writing.
#[derive(Serialize)]
struct Tagged<'a, T: Serialize> {
    #[serde(rename = "@type")]
    type_url: &'static str,
    #[serde(flatten)]
    fields: &'a T,
}

impl Serialize for Detail {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        fn tagged<S: serde::Serializer, T: Serialize>(s: S, url: &'static str, fields: &T) -> Result<S::Ok, S::Error> {
            Tagged { type_url: url, fields }.serialize(s)
        }
        match self {
            Detail::ErrorInfo(d) => tagged(serializer, ErrorInfo::TYPE_URL, d),
            Detail::RetryInfo(d) => tagged(serializer, RetryInfo::TYPE_URL, d),
            Detail::DebugInfo(d) => tagged(serializer, DebugInfo::TYPE_URL, d),
            Detail::QuotaFailure(d) => tagged(serializer, QuotaFailure::TYPE_URL, d),
            Detail::PreconditionFailure(d) => tagged(serializer, PreconditionFailure::TYPE_URL, d),
            Detail::BadRequest(d) => tagged(serializer, BadRequest::TYPE_URL, d),
            Detail::RequestInfo(d) => tagged(serializer, RequestInfo::TYPE_URL, d),
            Detail::ResourceInfo(d) => tagged(serializer, ResourceInfo::TYPE_URL, d),
            Detail::Help(d) => tagged(serializer, Help::TYPE_URL, d),
            Detail::LocalizedMessage(d) => tagged(serializer, LocalizedMessage::TYPE_URL, d),
            Detail::Nonconforming(n) => n.json.serialize(serializer),
            Detail::Unknown(u) => u.json.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Detail {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Detail, D::Error> {
        let raw: Box<RawValue> = Deserialize::deserialize(deserializer)?;
        Ok(Detail::from_raw(&raw))
    }
}
