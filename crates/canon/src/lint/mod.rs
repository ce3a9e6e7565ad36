//! Linting: does an error response follow AIP-193 and its provider's
//! envelope?
//!
//! [`lint`] takes what a server sent (the HTTP status, the headers and the
//! body bytes) and returns a [`Report`] of [`Finding`]s. Each finding names
//! a [`Rule`] from [`RULES`]: a stable id such as
//! `aip193/error-info-missing`, a [`Severity`], the [`Source`] the rule
//! comes from, a title and a summary of why it exists. Each rule has a page
//! under `docs/lint/` with a bad body and its fix.
//!
//! ```
//! use canon::lint::{lint, Severity};
//! use http::HeaderMap;
//!
//! // The CUDO page's 500 example: no ErrorInfo.
//! let body = br#"{"code": 500, "status": "INTERNAL",
//!   "message": "An internal error occurred. Try again or contact support if it persists.",
//!   "details": []}"#;
//! let report = lint(500, &HeaderMap::new(), body);
//! let ids: Vec<&str> = report.findings.iter().map(|f| f.rule_id()).collect();
//! assert_eq!(ids, ["aip193/error-info-missing"]);
//! assert_eq!(report.findings[0].location(), "/details");
//! assert_eq!(report.findings[0].severity(), Severity::Error);
//! assert!(report.has_errors());
//! ```
//!
//! # Why the raw body
//!
//! [`decode`](crate::decode()) is made to read anything and to normalise what
//! it reads: it accepts an int64 written as a number, proto field names,
//! duplicate details, a `code` that is not the HTTP status. A linter must
//! see exactly those things, so it walks the body as JSON itself. It uses
//! `decode` for what decoding knows best: which [`Dialect`] the body is in
//! (to choose the envelope rules) and the HTTP status a body implies when
//! the caller does not know it. The schema walk of the standard details is
//! the decoder's own, [`schema::check_detail`](crate::schema::check_detail).
//!
//! # Which rules apply
//!
//! The [`Envelope`] decides. When the caller names none, it follows the
//! dialect decode recognised: Gcore bodies get the Gcore page's rules, the
//! Google wrapped forms get the envelope rules inside their `error`
//! object, and every other body is held to the CUDO page's bare AIP-193
//! body (a grpc-gateway body, for instance, is reported for its gRPC
//! number in `code` and its missing `status`). In the two AIP-193
//! envelopes the same rules apply to the same fields: the CUDO page's
//! envelope rules (`code`, `status`, `message`), the AIP-193 rules on the
//! details, and the proto3 JSON rules. The `Retry-After` rules apply to
//! every envelope.
//!
//! The CUDO page's code table allows FAILED_PRECONDITION with 409 as well
//! as 400; `cudo/code-status-mismatch` accepts that pair in both AIP-193
//! envelopes.
//!
//! # Locations
//!
//! A location is a JSON pointer (RFC 6901) into the body, such as
//! `/details/1/metadata/availableMachineTypes`; the empty pointer is the
//! whole body. A rule about a header uses `header:<name>`, such as
//! `header:retry-after`. A rule about a field that is missing points at the
//! object that should hold it.
//!
//! # Dynamic parts of the message
//!
//! `aip193/message-value-not-in-metadata` finds the values in a message by
//! a heuristic: quoted text, numbers (except the HTTP status and `code`),
//! and words that mix digits with letters or id punctuation, such as
//! `clu-abc123`; words without digits are never taken. A value counts as
//! present when a metadata value contains it as a whole token. The rule is
//! a warning: it is a heuristic, and it is tuned to miss rather than to
//! cry wolf.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, SystemTime};

use http::HeaderMap;
use serde_json::{Map, Value};

use crate::code::Code;
use crate::decode::{Dialect, decode_at};
use crate::details::DetailKind;
use crate::duration::ProtoDuration;
use crate::schema::{ProblemKind, check_detail, pointer_token};

mod dynamic;
mod rules;

use rules as r;

/// Every rule the linter knows, grouped by source.
pub static RULES: &[&Rule] = r::ALL;

/// The rule with this id.
///
/// ```
/// let rule = canon::lint::rule("proto3/int64-as-number").unwrap();
/// assert_eq!(rule.severity, canon::lint::Severity::Warning);
/// assert_eq!(rule.doc_path(), "docs/lint/proto3-int64-as-number.md");
/// ```
pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES.iter().copied().find(|r| r.id == id)
}

/// How bad breaking a rule is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    /// Clients may misread or reject the error; `canon lint` exits 1.
    Error,
    /// The error works but should be improved.
    Warning,
}

impl Severity {
    /// The stable name: `error` or `warning`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a rule comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Source {
    /// AIP-193 and `google/rpc/error_details.proto`; rule ids `aip193/…`.
    Aip193,
    /// The CUDO Compute API errors page; rule ids `cudo/…`.
    CudoPage,
    /// The Gcore Cloud API errors page; rule ids `gcore/…`.
    GcorePage,
    /// The proto3 JSON mapping; rule ids `proto3/…`.
    Proto3Json,
    /// HTTP semantics (RFC 9110), for `Retry-After`; rule ids `http/…`.
    Rfc9110,
}

impl Source {
    /// The stable name, as in the JSON output: `AIP-193`, `CUDO page`,
    /// `Gcore page`, `proto3 JSON` or `RFC 9110`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Source::Aip193 => "AIP-193",
            Source::CudoPage => "CUDO page",
            Source::GcorePage => "Gcore page",
            Source::Proto3Json => "proto3 JSON",
            Source::Rfc9110 => "RFC 9110",
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One rule of the table.
#[derive(Debug, PartialEq, Eq)]
pub struct Rule {
    /// The stable id: a source prefix and kebab-case words, such as
    /// `cudo/code-mirrors-http-status`.
    pub id: &'static str,
    /// How bad breaking it is.
    pub severity: Severity,
    /// Where it comes from.
    pub source: Source,
    /// The rule in one line.
    pub title: &'static str,
    /// Why it exists.
    pub summary: &'static str,
    /// How to fix a body that breaks it.
    pub help: &'static str,
}

impl Rule {
    /// The path of the rule's page in the repository, such as
    /// `docs/lint/aip193-error-info-missing.md`.
    pub fn doc_path(&self) -> String {
        format!("docs/lint/{}.md", self.id.replace('/', "-"))
    }
}

/// One place where a response breaks a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    rule: &'static Rule,
    location: String,
    message: String,
}

impl Finding {
    /// The rule broken.
    pub fn rule(&self) -> &'static Rule {
        self.rule
    }

    /// The rule's id.
    pub fn rule_id(&self) -> &'static str {
        self.rule.id
    }

    /// The rule's severity.
    pub fn severity(&self) -> Severity {
        self.rule.severity
    }

    /// The rule's source.
    pub fn source(&self) -> Source {
        self.rule.source
    }

    /// Where: a JSON pointer into the body, or `header:<name>` (see the
    /// [module docs](self#locations)).
    pub fn location(&self) -> &str {
        &self.location
    }

    /// What is wrong here, in one line.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let location = if self.location.is_empty() { "(body)" } else { &self.location };
        write!(f, "{}[{}]: {} at {location}", self.severity(), self.rule.id, self.message)
    }
}

/// The envelope whose rules apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Envelope {
    /// The bare AIP-193 body the CUDO page describes:
    /// `{code, status, message, details}`.
    Aip193,
    /// Google's wrapped form, `{"error": {code, status, message,
    /// details}}`, or a top-level array of such objects.
    Google,
    /// The Gcore page's `{exception_class, message, request_id, info?,
    /// invalid_fields?}`.
    Gcore,
}

impl Envelope {
    /// Every envelope.
    pub const ALL: &'static [Envelope] = &[Envelope::Aip193, Envelope::Google, Envelope::Gcore];

    /// The stable name: `aip193`, `google` or `gcore`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Envelope::Aip193 => "aip193",
            Envelope::Google => "google",
            Envelope::Gcore => "gcore",
        }
    }

    /// The envelope with this stable name.
    pub fn from_name(name: &str) -> Option<Envelope> {
        Envelope::ALL.iter().copied().find(|e| e.as_str() == name)
    }

    /// The envelope a body of this dialect is held to when none is named:
    /// Gcore for Gcore, Google for the wrapped, array and legacy forms,
    /// and the CUDO page's bare AIP-193 body for everything else.
    pub const fn for_dialect(dialect: Dialect) -> Envelope {
        match dialect {
            Dialect::Gcore => Envelope::Gcore,
            Dialect::GoogleWrapped | Dialect::GoogleArray | Dialect::GoogleLegacy => Envelope::Google,
            _ => Envelope::Aip193,
        }
    }
}

impl fmt::Display for Envelope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How to lint: which envelope, and the time to read an HTTP-date
/// `Retry-After` against.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LintOptions {
    envelope: Option<Envelope>,
    now: Option<SystemTime>,
}

impl LintOptions {
    /// The defaults: the envelope follows the body's dialect, and the time
    /// is the system clock's.
    pub fn new() -> LintOptions {
        LintOptions::default()
    }

    /// Holds the body to this envelope whatever its dialect.
    pub fn envelope(mut self, envelope: Envelope) -> LintOptions {
        self.envelope = Some(envelope);
        self
    }

    /// Reads an HTTP-date `Retry-After` against this time.
    pub fn now(mut self, now: SystemTime) -> LintOptions {
        self.now = Some(now);
        self
    }
}

/// What [`lint`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The dialect decode recognised.
    pub dialect: Dialect,
    /// The envelope whose rules were applied.
    pub envelope: Envelope,
    /// The HTTP status the caller gave, or `None` when it was not known
    /// (then `cudo/code-mirrors-http-status` and
    /// `gcore/status-table-mismatch` check less).
    pub http_status: Option<u16>,
    /// The findings, in the order of the body: envelope, then details,
    /// then headers.
    pub findings: Vec<Finding>,
}

impl Report {
    /// How many findings are errors.
    pub fn errors(&self) -> usize {
        self.findings.iter().filter(|f| f.severity() == Severity::Error).count()
    }

    /// How many findings are warnings.
    pub fn warnings(&self) -> usize {
        self.findings.iter().filter(|f| f.severity() == Severity::Warning).count()
    }

    /// Whether any finding is an error.
    pub fn has_errors(&self) -> bool {
        self.errors() > 0
    }
}

/// Lints an error response. `http_status` 0 means "not known". The
/// envelope follows the body's dialect; see [`lint_with`] to choose it.
pub fn lint(http_status: u16, headers: &HeaderMap, body: &[u8]) -> Report {
    lint_with(&LintOptions::new(), http_status, headers, body)
}

/// [`lint`] with options.
///
/// ```
/// use canon::lint::{lint_with, Envelope, LintOptions};
/// use http::HeaderMap;
///
/// // A Gcore body without its request id.
/// let body = br#"{"exception_class": "NotFoundError", "message": "Instance i-1 could not be found"}"#;
/// let options = LintOptions::new().envelope(Envelope::Gcore);
/// let report = lint_with(&options, 404, &HeaderMap::new(), body);
/// assert_eq!(report.findings[0].rule_id(), "gcore/request-id-missing");
/// ```
pub fn lint_with(options: &LintOptions, http_status: u16, headers: &HeaderMap, body: &[u8]) -> Report {
    let now = options.now.unwrap_or_else(SystemTime::now);
    let decoded = decode_at(now, http_status, headers, body);
    let envelope = options.envelope.unwrap_or(Envelope::for_dialect(decoded.dialect));
    let http = (http_status != 0).then_some(http_status);
    let mut linter = Linter { http, findings: Vec::new(), retry_info: None };
    let value: Option<Value> = serde_json::from_slice(body.trim_ascii()).ok();
    match envelope {
        Envelope::Aip193 => match value.as_ref() {
            Some(Value::Object(object)) => linter.status_object(object, "", envelope),
            other => {
                linter.push(&r::CUDO_BODY_NOT_JSON_OBJECT, "", format!("the body is {}", describe_body(other, body)))
            }
        },
        Envelope::Google => linter.google(value.as_ref(), body),
        Envelope::Gcore => match value.as_ref() {
            Some(Value::Object(object)) => linter.gcore(object),
            other => {
                linter.push(&r::GCORE_BODY_NOT_JSON_OBJECT, "", format!("the body is {}", describe_body(other, body)))
            }
        },
    }
    linter.retry_after(headers, now, http.unwrap_or(decoded.http_status));
    Report { dialect: decoded.dialect, envelope, http_status: http, findings: linter.findings }
}

/// What a body that is not a JSON object is, for a message.
fn describe_body(value: Option<&Value>, body: &[u8]) -> String {
    match value {
        Some(other) => format!("JSON {}, not an object", json_type(other)),
        None if body.trim_ascii().is_empty() => "empty".to_owned(),
        None => "not JSON".to_owned(),
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A field of a detail by its JSON name or its proto name.
fn field<'a>(object: &'a Map<String, Value>, json: &str, proto: &str) -> Option<(&'a str, &'a Value)> {
    object
        .get_key_value(json)
        .or_else(|| object.get_key_value(proto))
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| (k.as_str(), v))
}

/// A non-null member of an object.
fn member<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    object.get(key).filter(|v| !v.is_null())
}

/// The HTTP statuses that go with a code: code.proto's, and 409 for
/// FAILED_PRECONDITION as on the CUDO page's table.
fn accepts(code: Code, http: i64) -> bool {
    i64::from(code.http_status()) == http || (code == Code::FailedPrecondition && http == 409)
}

/// The Gcore page's status table: each documented class and its status.
const GCORE_STATUS_TABLE: &[(&str, u16)] = &[
    ("ValidationError", 400),
    ("not_authenticated", 401),
    ("token_not_valid", 401),
    ("ForbiddenError", 403),
    ("NotFoundError", 404),
    ("HTTPError", 405),
    ("ConflictError", 409),
];

/// Fields whose values are maps with keys of the server's choosing.
const MAP_FIELDS: &[&str] = &["metadata", "quotaDimensions", "quota_dimensions"];

/// The walk's state.
struct Linter {
    /// The HTTP status, when known.
    http: Option<u16>,
    findings: Vec<Finding>,
    /// The first RetryInfo's delay: `Some(None)` when there is a RetryInfo
    /// whose delay is absent or unreadable.
    retry_info: Option<Option<Duration>>,
}

impl Linter {
    fn push(&mut self, rule: &'static Rule, location: &str, message: impl Into<String>) {
        self.findings.push(Finding { rule, location: location.to_owned(), message: message.into() });
    }

    /// The Google wrapped form: an `error` object, or an array of them.
    fn google(&mut self, value: Option<&Value>, body: &[u8]) {
        let missing = "the body has no `error` object";
        match value {
            Some(Value::Object(object)) => match member(object, "error") {
                Some(Value::Object(inner)) => self.status_object(inner, "/error", Envelope::Google),
                Some(other) => self.push(
                    &r::ERROR_OBJECT_MISSING,
                    "/error",
                    format!("`error` is {}, not an object", json_type(other)),
                ),
                None => self.push(&r::ERROR_OBJECT_MISSING, "", missing),
            },
            Some(Value::Array(items)) if !items.is_empty() => {
                for (i, item) in items.iter().enumerate() {
                    match item.as_object().and_then(|o| member(o, "error")).and_then(Value::as_object) {
                        Some(inner) => self.status_object(inner, &format!("/{i}/error"), Envelope::Google),
                        None => {
                            self.push(&r::ERROR_OBJECT_MISSING, &format!("/{i}"), "this item has no `error` object")
                        }
                    }
                }
            }
            other => self.push(&r::ERROR_OBJECT_MISSING, "", format!("the body is {}", describe_body(other, body))),
        }
    }

    /// A google.rpc.Status as JSON: the CUDO envelope rules, then the
    /// details.
    fn status_object(&mut self, object: &Map<String, Value>, base: &str, envelope: Envelope) {
        let code = self.code(object, base);
        let named = self.status_name(object, base);
        if let Some(named) = named {
            let against = code
                .filter(|c| (100..=599).contains(c))
                .map(|c| (c, "`code`"))
                .or(self.http.map(|h| (i64::from(h), "the HTTP status")));
            if let Some((number, what)) = against.filter(|(n, _)| !accepts(named, *n)) {
                let expected = if named == Code::FailedPrecondition {
                    "400 or 409".to_owned()
                } else {
                    named.http_status().to_string()
                };
                self.push(
                    &r::CODE_STATUS_MISMATCH,
                    &format!("{base}/status"),
                    format!("`status` {named} goes with HTTP {expected}, but {what} is {number}"),
                );
            }
        }
        let message = match member(object, "message") {
            Some(Value::String(m)) if !m.trim().is_empty() => Some(m.as_str()),
            Some(Value::String(_)) => {
                self.push(&r::CUDO_MESSAGE_MISSING, &format!("{base}/message"), "`message` is empty");
                None
            }
            Some(other) => {
                self.push(
                    &r::CUDO_MESSAGE_MISSING,
                    &format!("{base}/message"),
                    format!("`message` is {}, not a string", json_type(other)),
                );
                None
            }
            None => {
                self.push(&r::CUDO_MESSAGE_MISSING, base, format!("the {envelope} body has no `message`"));
                None
            }
        };
        let details_at = format!("{base}/details");
        let details: &[Value] = match member(object, "details") {
            Some(Value::Array(items)) => items,
            Some(other) => {
                // What `details` holds cannot be read, so the rules that
                // look for an ErrorInfo wait until it is an array.
                self.push(&r::DETAILS_NOT_ARRAY, &details_at, format!("`details` is {}", json_type(other)));
                return;
            }
            None => &[],
        };
        let metadata = self.details(details, &details_at);
        if metadata.is_none() {
            let location = if object.contains_key("details") { details_at.as_str() } else { base };
            let why = if details.is_empty() { "there are no details" } else { "no detail is an ErrorInfo" };
            self.push(&r::ERROR_INFO_MISSING, location, format!("{why}; every error needs a google.rpc.ErrorInfo"));
        }
        let Some(message) = message else { return };
        let mut ignore: Vec<i64> = code.into_iter().collect();
        ignore.extend(self.http.map(i64::from));
        let values = metadata.unwrap_or_default();
        for part in dynamic::dynamic_parts(message, &ignore) {
            if !values.iter().any(|v| dynamic::contains_token(v, &part)) {
                self.push(
                    &r::MESSAGE_VALUE_NOT_IN_METADATA,
                    &format!("{base}/message"),
                    format!("`{part}` is in the message but in no ErrorInfo.metadata value"),
                );
            }
        }
    }

    /// Checks `code`; returns it when it is an integer.
    fn code(&mut self, object: &Map<String, Value>, base: &str) -> Option<i64> {
        let at = format!("{base}/code");
        match member(object, "code") {
            None => {
                self.push(&r::CODE_MISSING, base, "the body has no `code`");
                None
            }
            Some(Value::Number(n)) if n.as_i64().is_some() => {
                let code = n.as_i64().expect("checked");
                match self.http {
                    Some(http) if code != i64::from(http) => {
                        self.push(
                            &r::CODE_MIRRORS_HTTP_STATUS,
                            &at,
                            format!("`code` is {code} but the HTTP status is {http}"),
                        );
                    }
                    None if !(100..=599).contains(&code) => {
                        let grpc = Code::from_number(code)
                            .map(|c| format!("; it looks like the gRPC number of {c}"))
                            .unwrap_or_default();
                        self.push(
                            &r::CODE_MIRRORS_HTTP_STATUS,
                            &at,
                            format!("`code` {code} is not an HTTP status{grpc}"),
                        );
                    }
                    _ => {}
                }
                Some(code)
            }
            Some(other) => {
                self.push(
                    &r::CODE_MIRRORS_HTTP_STATUS,
                    &at,
                    format!("`code` is {}; it must be the HTTP status as a number", json_type(other)),
                );
                None
            }
        }
    }

    /// Checks `status`; returns the code it names when it names an error.
    fn status_name(&mut self, object: &Map<String, Value>, base: &str) -> Option<Code> {
        let at = format!("{base}/status");
        match member(object, "status") {
            None => {
                self.push(&r::STATUS_MISSING, base, "the body has no `status`");
                None
            }
            Some(Value::String(name)) => match Code::from_name(name) {
                Some(Code::Ok) => {
                    self.push(&r::STATUS_UNKNOWN, &at, "`status` is OK, which is not an error");
                    None
                }
                Some(code) => Some(code),
                None => {
                    let hint = Code::from_name(&name.trim().to_ascii_uppercase().replace([' ', '-'], "_"))
                        .map(|c| format!("; did you mean `{c}`?"))
                        .unwrap_or_default();
                    self.push(&r::STATUS_UNKNOWN, &at, format!("`{name}` is not a canonical code name{hint}"));
                    None
                }
            },
            Some(other) => {
                self.push(
                    &r::STATUS_UNKNOWN,
                    &at,
                    format!("`status` is {}, not a canonical code name", json_type(other)),
                );
                None
            }
        }
    }

    /// Lints every detail. Returns the text of every ErrorInfo.metadata
    /// value when there is an ErrorInfo, `None` when there is none.
    fn details(&mut self, details: &[Value], base: &str) -> Option<Vec<String>> {
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        let mut metadata: Option<Vec<String>> = None;
        for (i, item) in details.iter().enumerate() {
            let at = format!("{base}/{i}");
            let Some(object) = item.as_object() else {
                self.push(&r::ANY_TYPE_MISSING, &at, format!("the detail is {}, not an object", json_type(item)));
                continue;
            };
            let Some(type_url) = object.get("@type").and_then(Value::as_str) else {
                self.push(&r::ANY_TYPE_MISSING, &at, "the detail has no `@type`");
                continue;
            };
            let kind = DetailKind::from_type_url(type_url);
            let key = kind.map_or_else(|| type_url.to_owned(), |k| k.proto_name().to_owned());
            if let Some(first) = seen.get(&key) {
                let name = match kind {
                    Some(kind) => kind.short_name(),
                    None => type_url,
                };
                self.push(
                    &r::DUPLICATE_DETAIL_TYPE,
                    &at,
                    format!("a second {name} detail; the first is at {base}/{first}"),
                );
            } else {
                seen.insert(key, i);
            }
            let Some(kind) = kind else { continue };
            self.schema(kind, item, &at);
            match kind {
                DetailKind::ErrorInfo => {
                    let values = self.error_info(object, &at);
                    metadata.get_or_insert_with(Vec::new).extend(values);
                }
                DetailKind::LocalizedMessage => self.localized_message(object, &at),
                DetailKind::BadRequest => {
                    if let Some((key, Value::Array(violations))) = field(object, "fieldViolations", "field_violations")
                    {
                        for (j, violation) in violations.iter().enumerate() {
                            let found = violation.as_object().and_then(|v| {
                                field(v, "localizedMessage", "localized_message").map(|(k, m)| (k, m.as_object()))
                            });
                            if let Some((name, Some(localized))) = found {
                                let at = format!("{at}/{}/{j}/{}", pointer_token(key), pointer_token(name));
                                self.localized_message(localized, &at);
                            }
                        }
                    }
                }
                DetailKind::Help => self.help(object, &at),
                DetailKind::DebugInfo => {
                    self.push(&r::DEBUG_INFO_PRESENT, &at, "a DebugInfo detail is in the response");
                }
                DetailKind::RetryInfo if self.retry_info.is_none() => {
                    let delay = field(object, "retryDelay", "retry_delay")
                        .and_then(|(_, v)| v.as_str())
                        .and_then(|s| s.parse::<ProtoDuration>().ok())
                        .and_then(|d| d.to_std());
                    self.retry_info = Some(delay);
                }
                _ => {}
            }
        }
        metadata
    }

    /// The schema walk of a standard detail, and its proto field names.
    fn schema(&mut self, kind: DetailKind, item: &Value, at: &str) {
        let problems = check_detail(kind, item);
        let mut unknown = Vec::new();
        for problem in &problems {
            let rule = match problem.kind() {
                ProblemKind::InvalidDuration => &r::DURATION_FORMAT,
                ProblemKind::Int64AsNumber => &r::INT64_AS_NUMBER,
                _ => &r::DETAIL_SCHEMA,
            };
            let location = format!("{at}{}", problem.pointer());
            if problem.kind() == ProblemKind::UnknownField {
                unknown.push(location.clone());
            }
            self.push(rule, &location, format!("{}: {}", kind, problem.message()));
        }
        self.proto_names(item, at, &unknown);
    }

    /// Reports fields written with their proto name: a key with `_` that
    /// the schema walk accepted. Map fields are skipped, since their keys
    /// are data.
    fn proto_names(&mut self, value: &Value, at: &str, unknown: &[String]) {
        match value {
            Value::Object(object) => {
                for (key, child) in object {
                    let location = format!("{at}/{}", pointer_token(key));
                    if key == "@type" || unknown.contains(&location) {
                        continue;
                    }
                    if key.contains('_') {
                        self.push(
                            &r::PROTO_FIELD_NAME,
                            &location,
                            format!("`{key}` is the proto name; proto3 JSON writes `{}`", lower_camel(key)),
                        );
                    }
                    if !MAP_FIELDS.contains(&key.as_str()) {
                        self.proto_names(child, &location, unknown);
                    }
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.proto_names(item, &format!("{at}/{i}"), unknown);
                }
            }
            _ => {}
        }
    }

    /// ErrorInfo's reason, domain and metadata keys. Returns the text of
    /// the metadata values (strings, and the strings inside arrays or
    /// objects where a broken body put them).
    fn error_info(&mut self, object: &Map<String, Value>, at: &str) -> Vec<String> {
        match member(object, "reason") {
            None => self.push(&r::REASON_FORMAT, at, "ErrorInfo has no reason"),
            Some(Value::String(reason)) => {
                if let Some(why) = reason_problem(reason) {
                    self.push(&r::REASON_FORMAT, &format!("{at}/reason"), format!("`{reason}` {why}"));
                }
            }
            // The schema walk reports a reason that is not a string.
            Some(_) => {}
        }
        match member(object, "domain") {
            Some(Value::String(domain)) if domain.trim().is_empty() => {
                self.push(&r::DOMAIN_MISSING, &format!("{at}/domain"), "ErrorInfo.domain is empty");
            }
            None => self.push(&r::DOMAIN_MISSING, at, "ErrorInfo has no domain"),
            _ => {}
        }
        let mut values = Vec::new();
        if let Some(Value::Object(metadata)) = member(object, "metadata") {
            for (key, value) in metadata {
                let location = format!("{at}/metadata/{}", pointer_token(key));
                match metadata_key_problem(key) {
                    Some(why) => self.push(&r::METADATA_KEY_FORMAT, &location, format!("key `{key}` {why}")),
                    None if key.contains(['_', '-']) => self.push(
                        &r::METADATA_KEY_NOT_CAMEL_CASE,
                        &location,
                        format!("key `{key}` is not lowerCamelCase; write `{}`", lower_camel(key)),
                    ),
                    None => {}
                }
                collect_text(value, &mut values);
            }
        }
        values
    }

    fn localized_message(&mut self, object: &Map<String, Value>, at: &str) {
        let has = |name: &str| member(object, name).and_then(Value::as_str).is_some_and(|s| !s.trim().is_empty());
        let missing: Vec<&str> = ["locale", "message"].into_iter().filter(|name| !has(name)).collect();
        if !missing.is_empty() {
            self.push(
                &r::LOCALIZED_MESSAGE_INCOMPLETE,
                at,
                format!("LocalizedMessage has no {}", missing.join(" and no ")),
            );
        }
    }

    fn help(&mut self, object: &Map<String, Value>, at: &str) {
        let Some(Value::Array(links)) = member(object, "links") else { return };
        for (j, link) in links.iter().enumerate() {
            let Some(link) = link.as_object() else { continue };
            let location = format!("{at}/links/{j}");
            match member(link, "url") {
                Some(Value::String(url)) if !is_absolute_url(url) => self.push(
                    &r::HELP_URL_NOT_ABSOLUTE,
                    &format!("{location}/url"),
                    format!("`{url}` is not an absolute url"),
                ),
                None => self.push(&r::HELP_URL_NOT_ABSOLUTE, &location, "the link has no url"),
                _ => {}
            }
        }
    }

    /// The Gcore envelope.
    fn gcore(&mut self, object: &Map<String, Value>) {
        let text_field = |linter: &mut Linter, name: &str, rule: &'static Rule| -> Option<String> {
            match member(object, name) {
                Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
                Some(Value::String(_)) => {
                    linter.push(rule, &format!("/{name}"), format!("`{name}` is empty"));
                    None
                }
                Some(other) => {
                    linter.push(rule, &format!("/{name}"), format!("`{name}` is {}, not a string", json_type(other)));
                    None
                }
                None => {
                    linter.push(rule, "", format!("the body has no `{name}`"));
                    None
                }
            }
        };
        let class = text_field(self, "exception_class", &r::EXCEPTION_CLASS_MISSING);
        text_field(self, "message", &r::GCORE_MESSAGE_MISSING);
        text_field(self, "request_id", &r::REQUEST_ID_MISSING);
        if let Some(info) = member(object, "info").filter(|v| !v.is_object()) {
            self.push(&r::INFO_NOT_OBJECT, "/info", format!("`info` is {}", json_type(info)));
        }
        match member(object, "invalid_fields") {
            Some(Value::Object(fields)) => {
                for (name, messages) in fields {
                    let at = format!("/invalid_fields/{}", pointer_token(name));
                    match messages {
                        Value::Array(items) => {
                            for (i, item) in items.iter().enumerate().filter(|(_, item)| !item.is_string()) {
                                self.push(
                                    &r::INVALID_FIELDS_SHAPE,
                                    &format!("{at}/{i}"),
                                    format!("a message of `{name}` is {}, not a string", json_type(item)),
                                );
                            }
                        }
                        other => self.push(
                            &r::INVALID_FIELDS_SHAPE,
                            &at,
                            format!("the messages of `{name}` are {}, not a list", json_type(other)),
                        ),
                    }
                }
            }
            Some(other) => self.push(
                &r::INVALID_FIELDS_SHAPE,
                "/invalid_fields",
                format!("`invalid_fields` is {}, not an object", json_type(other)),
            ),
            None => {}
        }
        if let (Some(class), Some(http)) = (class, self.http) {
            if let Some((_, expected)) = GCORE_STATUS_TABLE.iter().find(|(c, _)| *c == class) {
                if *expected != http {
                    self.push(
                        &r::STATUS_TABLE_MISMATCH,
                        "/exception_class",
                        format!("the Gcore page sends {class} with HTTP {expected}, but the status is {http}"),
                    );
                }
            }
        }
    }

    /// The `Retry-After` rules. `http` is the status given, or the one the
    /// body implies.
    fn retry_after(&mut self, headers: &HeaderMap, now: SystemTime, http: u16) {
        const AT: &str = "header:retry-after";
        let header = headers.get(http::header::RETRY_AFTER);
        let seconds = match header.map(|v| v.to_str().map(str::trim)) {
            None => None,
            Some(Ok(text)) => match retry_after_seconds(text, now) {
                Some(seconds) => Some(seconds),
                None => {
                    self.push(
                        &r::RETRY_AFTER_INVALID,
                        AT,
                        format!("`{text}` is neither delta-seconds nor an HTTP-date"),
                    );
                    return;
                }
            },
            Some(Err(_)) => {
                self.push(&r::RETRY_AFTER_INVALID, AT, "the value is not visible ASCII");
                return;
            }
        };
        let Some(delay) = self.retry_info else { return };
        match (seconds, delay) {
            (None, _) if http == 429 || http == 503 => {
                let hint = delay.map(|d| format!(" ({} s)", ceil_seconds(d))).unwrap_or_default();
                self.push(
                    &r::RETRY_AFTER_MISSING,
                    AT,
                    format!("HTTP {http} with RetryInfo but no Retry-After header{hint}"),
                );
            }
            (Some(seconds), Some(delay)) if seconds.abs_diff(ceil_seconds(delay)) > 1 => {
                self.push(
                    &r::RETRY_AFTER_CONTRADICTS_RETRY_INFO,
                    AT,
                    format!(
                        "Retry-After says {seconds} s, RetryInfo.retryDelay says {} (rounded up: {} s)",
                        ProtoDuration::from_std(delay),
                        ceil_seconds(delay)
                    ),
                );
            }
            _ => {}
        }
    }
}

/// Why a reason breaks AIP-193's form, if it does.
fn reason_problem(reason: &str) -> Option<String> {
    if reason.is_empty() {
        return Some("is empty".to_owned());
    }
    let bytes = reason.as_bytes();
    let last = bytes[bytes.len() - 1];
    let well_formed = bytes.len() >= 3
        && bytes[0].is_ascii_uppercase()
        && bytes.iter().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'_')
        && last != b'_';
    if !well_formed {
        return Some("does not match [A-Z][A-Z0-9_]+[A-Z0-9]".to_owned());
    }
    (reason.len() > 63).then(|| format!("is {} characters long; the limit is 63", reason.len()))
}

/// Why a metadata key breaks the key pattern or length, if it does.
fn metadata_key_problem(key: &str) -> Option<String> {
    let bytes = key.as_bytes();
    let well_formed = bytes.len() >= 2
        && bytes[0].is_ascii_lowercase()
        && bytes.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_');
    if !well_formed {
        return Some("does not match [a-z][a-zA-Z0-9-_]+".to_owned());
    }
    (key.len() > 64).then(|| format!("is {} characters long; the limit is 64", key.len()))
}

/// `retry_delay` → `retryDelay`, `project-id` → `projectId`.
fn lower_camel(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' || c == '-' {
            upper = !out.is_empty();
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// Every string in a JSON value, numbers and booleans as their text.
fn collect_text(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Number(n) => out.push(n.to_string()),
        Value::Bool(b) => out.push(b.to_string()),
        Value::Array(items) => items.iter().for_each(|item| collect_text(item, out)),
        Value::Object(map) => map.values().for_each(|item| collect_text(item, out)),
        Value::Null => {}
    }
}

/// Whether a url has a scheme and, for the schemes that need one, a host.
fn is_absolute_url(url: &str) -> bool {
    let Some((scheme, rest)) = url.split_once(':') else { return false };
    let scheme_ok = scheme.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !scheme_ok || rest.is_empty() {
        return false;
    }
    match scheme.to_ascii_lowercase().as_str() {
        "http" | "https" | "ftp" | "ws" | "wss" => {
            rest.strip_prefix("//").is_some_and(|r| r.split(['/', '?', '#']).next().is_some_and(|h| !h.is_empty()))
        }
        _ => true,
    }
}

/// A `Retry-After` value in whole seconds: delta-seconds, or an HTTP-date
/// (a date in the past is 0).
fn retry_after_seconds(value: &str, now: SystemTime) -> Option<u64> {
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(value.parse().unwrap_or(u64::MAX));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).map(ceil_seconds).unwrap_or(0))
}

/// A delay in whole seconds, rounded up.
fn ceil_seconds(delay: Duration) -> u64 {
    delay.as_secs() + u64::from(delay.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_ids_are_unique_prefixed_and_kebab_case() {
        let mut ids: Vec<&str> = RULES.iter().map(|r| r.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), RULES.len());
        for rule in RULES {
            let (prefix, name) = rule.id.split_once('/').expect("a prefix");
            let expected = match rule.source {
                Source::Aip193 => "aip193",
                Source::CudoPage => "cudo",
                Source::GcorePage => "gcore",
                Source::Proto3Json => "proto3",
                Source::Rfc9110 => "http",
            };
            assert_eq!(prefix, expected, "{}", rule.id);
            assert!(
                name.split('-')
                    .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())),
                "{}",
                rule.id
            );
        }
    }

    #[test]
    fn reasons_and_keys() {
        let reasons = [
            ("MACHINE_TYPE_UNAVAILABLE", true),
            ("A1", false),
            ("ABC", true),
            ("AB_", false),
            ("_AB", false),
            ("Ab_C", false),
            ("QUOTA-EXCEEDED", false),
            ("", false),
        ];
        for (reason, ok) in reasons {
            assert_eq!(reason_problem(reason).is_none(), ok, "{reason}");
        }
        assert!(reason_problem(&"A".repeat(63)).is_none());
        assert!(reason_problem(&"A".repeat(64)).is_some());
        let keys =
            [("projectId", true), ("project_id", true), ("x", false), ("ProjectId", false), ("project id", false)];
        for (key, ok) in keys {
            assert_eq!(metadata_key_problem(key).is_none(), ok, "{key}");
        }
        assert!(metadata_key_problem(&"a".repeat(64)).is_none());
        assert!(metadata_key_problem(&"a".repeat(65)).is_some());
    }

    #[test]
    fn urls_names_and_seconds() {
        for (url, ok) in [
            ("https://docs.example.com/x", true),
            ("http://h", true),
            ("mailto:support@example.com", true),
            ("/docs/x", false),
            ("docs.example.com/x", false),
            ("https:///x", false),
            ("https:", false),
            ("1http://x", false),
        ] {
            assert_eq!(is_absolute_url(url), ok, "{url}");
        }
        assert_eq!(lower_camel("retry_delay"), "retryDelay");
        assert_eq!(lower_camel("project-id"), "projectId");
        assert_eq!(lower_camel("_x"), "x");
        assert_eq!(ceil_seconds(Duration::from_millis(1500)), 2);
        assert_eq!(ceil_seconds(Duration::from_secs(30)), 30);
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480 - 30);
        assert_eq!(retry_after_seconds("120", now), Some(120));
        assert_eq!(retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now), Some(30));
        assert_eq!(retry_after_seconds("Wed, 21 Oct 2015 07:27:00 GMT", now), Some(0));
        assert_eq!(retry_after_seconds("5s", now), None);
        assert_eq!(retry_after_seconds("", now), None);
    }
}
