//! Extractors whose rejections name the exact field: [`Json`], [`Path`]
//! and [`Query`].
//!
//! They extract what axum's extractors of the same names extract, but a
//! rejection is an [`ApiError`]: `INVALID_ARGUMENT` with a BadRequest field
//! violation whose `field` is the path of the offending field, written the
//! AIP-161 way (`spec.machineType`, `tags[1].key`, ``labels.`my.key` ``).
//! axum's own JSON rejection is plain text and loses the path; these keep
//! it, through [`serde_path_to_error`].
//!
//! | the request | reason | field violation `field` |
//! |-------------|--------|-------------------------|
//! | body not JSON (syntax, end of input, trailing characters) | `INVALID_JSON` | where parsing stopped, or `body` |
//! | wrong type, out of range, unknown enum value | `INVALID_FIELD` | the field |
//! | required field absent | `MISSING_FIELD` | the field |
//! | field given twice | `INVALID_FIELD` | the field |
//! | field the type does not know (`deny_unknown_fields`) | `UNKNOWN_FIELD` | the field |
//! | Content-Type absent or not JSON | `UNSUPPORTED_MEDIA_TYPE` | `content-type` |
//! | body over the limit ([`DefaultBodyLimit`]) | `PAYLOAD_TOO_LARGE` | `body` |
//! | body unreadable (connection cut, bad chunking) | `INVALID_BODY` | `body` |
//! | path parameter does not parse | `INVALID_FIELD` | the parameter's name |
//! | query parameter wrong, absent or unknown | as for body fields | the parameter's name |
//!
//! # Every rejection is INVALID_ARGUMENT, sent as 400
//!
//! Content-Type and body-size problems are `INVALID_ARGUMENT` too, sent
//! with the code's HTTP status, 400, and not as 415 or 413: one code and
//! one status for every malformed request, with the cause in the ErrorInfo
//! reason and the field violation. The body's `code` is 400 as well, so it
//! always mirrors the status line.
//!
//! A `Path` whose type does not fit the route (a missing or surplus
//! parameter) is the server's bug, not the client's: it is `INTERNAL`, and
//! the cause is logged.
//!
//! ```
//! use canon_axum::ApiError;
//! use canon_axum::extract::{Json, Path};
//! use serde::Deserialize;
//!
//! #[derive(Deserialize)]
//! #[serde(rename_all = "camelCase")]
//! struct CreateVm { machine_type: String, boot_disk_size_gib: u32 }
//!
//! async fn create_vm(Path(project_id): Path<String>, Json(body): Json<CreateVm>) -> Result<String, ApiError> {
//!     Ok(format!("{project_id}: {} with {} GiB", body.machine_type, body.boot_disk_size_gib))
//! }
//! # let _: axum::routing::MethodRouter = axum::routing::post(create_vm);
//!
//! // The same rejection, outside a server:
//! let error = Json::<CreateVm>::from_bytes(br#"{"machineType": "gpu-a100-x2", "bootDiskSizeGib": "20"}"#)
//!     .err()
//!     .unwrap();
//! let violation = error.status().field_violations().next().unwrap();
//! assert_eq!(violation.field, "bootDiskSizeGib");
//! assert_eq!(violation.description, r#"invalid type: string "20", expected u32"#);
//! ```
//!
//! [`DefaultBodyLimit`]: axum::extract::DefaultBodyLimit

use std::fmt::Write as _;

use axum::extract::path::ErrorKind;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use canon::details::{BadRequest, ErrorInfo, FieldViolation};
use canon::{Code, Status};
use http::HeaderMap;
use http::header::CONTENT_TYPE;
use http::request::Parts;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_path_to_error::Segment;

use crate::error::{ApiError, produced};
use crate::reason;

/// The field violation `field` for a problem with the body as a whole.
pub const BODY_FIELD: &str = "body";

/// The field violation `field` for a Content-Type problem.
pub const CONTENT_TYPE_FIELD: &str = "content-type";

/// A JSON body, like [`axum::Json`], whose rejection names the field. As a
/// response it writes `T` as JSON.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned> Json<T> {
    /// Reads `T` from JSON bytes, with the rejection a request would get.
    pub fn from_bytes(bytes: &[u8]) -> Result<Json<T>, ApiError> {
        // Most bodies are good: they are read without keeping track of the
        // path, which costs more than the reading itself on a small body,
        // and only a bad one is read again to say where it fails.
        if let Ok(value) = serde_json::from_slice(bytes) {
            return Ok(Json(value));
        }
        let mut deserializer = serde_json::Deserializer::from_slice(bytes);
        let value = serde_path_to_error::deserialize(&mut deserializer).map_err(json_error)?;
        deserializer.end().map_err(|error| invalid_json(&error, ""))?;
        Ok(Json(value))
    }
}

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Json<T>, ApiError> {
        check_json_content_type(request.headers())?;
        let bytes = Bytes::from_request(request, state).await.map_err(body_error)?;
        Json::from_bytes(&bytes)
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// Path parameters, like [`axum::extract::Path`], whose rejection names the
/// parameter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Path<T>, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(rejection) => {
                let names = match RawPathParams::from_request_parts(parts, state).await {
                    Ok(params) => params.iter().map(|(name, _)| name.to_owned()).collect(),
                    Err(_) => Vec::new(),
                };
                Err(path_error(rejection, &names))
            }
        }
    }
}

/// A query string, like [`axum::extract::Query`], whose rejection names
/// the parameter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned> Query<T> {
    /// Reads `T` from a query string (without the `?`), with the rejection
    /// a request would get.
    ///
    /// ```
    /// use canon_axum::extract::Query;
    /// use serde::Deserialize;
    ///
    /// #[derive(Deserialize)]
    /// struct Page { limit: u32 }
    ///
    /// assert_eq!(Query::<Page>::from_query("limit=5").unwrap().0.limit, 5);
    /// let error = Query::<Page>::from_query("").err().unwrap();
    /// assert_eq!(error.status().message(), "Missing required query parameter 'limit'.");
    /// ```
    pub fn from_query(query: &str) -> Result<Query<T>, ApiError> {
        let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(deserializer).map(Query).map_err(|error| {
            let description = error.inner().to_string();
            field_error(Source::Query, error.path(), &description)
        })
    }
}

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Query<T>, ApiError> {
        Query::from_query(parts.uri.query().unwrap_or_default())
    }
}

/// Where a field was read from: it words the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Body,
    Path,
    Query,
}

impl Source {
    fn noun(self) -> &'static str {
        match self {
            Source::Body => "field",
            Source::Path => "path parameter",
            Source::Query => "query parameter",
        }
    }
}

/// What a serde data error says about its field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Problem<'a> {
    Invalid,
    Missing(&'a str),
    Duplicate(&'a str),
    Unknown(&'a str),
}

impl<'a> Problem<'a> {
    /// Reads serde's wording: "missing field `x`", "duplicate field `x`",
    /// "unknown field `x`, expected ...".
    fn of(description: &'a str) -> Problem<'a> {
        let quoted = |prefix: &str| {
            let rest = description.strip_prefix(prefix)?;
            rest.split_once('`').map(|(name, _)| name)
        };
        if let Some(name) = quoted("missing field `") {
            Problem::Missing(name)
        } else if let Some(name) = quoted("duplicate field `") {
            Problem::Duplicate(name)
        } else if let Some(name) = quoted("unknown field `") {
            Problem::Unknown(name)
        } else {
            Problem::Invalid
        }
    }
}

fn json_error(error: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let inner = error.inner();
    match inner.classify() {
        serde_json::error::Category::Data => field_error(Source::Body, error.path(), &message_without_position(inner)),
        _ => invalid_json(inner, &field_path(error.path(), None)),
    }
}

/// `INVALID_JSON`, at `field` (the root when empty).
fn invalid_json(error: &serde_json::Error, field: &str) -> ApiError {
    let field = if field.is_empty() { BODY_FIELD } else { field };
    let (line, column) = (error.line().to_string(), error.column().to_string());
    let status = Status::builder(
        Code::InvalidArgument,
        format!("The request body is not valid JSON (line {line}, column {column})."),
    )
    .detail(ErrorInfo::new(reason::INVALID_JSON, "").with_metadata("line", line).with_metadata("column", column))
    .detail(violation(field, message_without_position(error), reason::INVALID_JSON))
    .build();
    status.into()
}

/// A data error at `path`: wrong, missing, doubled or unknown field.
fn field_error(source: Source, path: &serde_path_to_error::Path, description: &str) -> ApiError {
    let problem = Problem::of(description);
    let leaf = match problem {
        Problem::Missing(name) | Problem::Duplicate(name) => Some(name),
        // The path already ends at an unknown field, unless the error came
        // from the root.
        Problem::Unknown(name) if !path_ends_with(path, name) => Some(name),
        _ => None,
    };
    let field = field_path(path, leaf);
    field_error_at(source, &field, problem, description)
}

fn field_error_at(source: Source, field: &str, problem: Problem<'_>, description: &str) -> ApiError {
    let noun = source.noun();
    let field = match (field.is_empty(), source) {
        (false, _) => field,
        (true, Source::Body) => BODY_FIELD,
        (true, Source::Path) => "path",
        (true, Source::Query) => "query",
    };
    let (reason, message, description) = match problem {
        Problem::Invalid => (reason::INVALID_FIELD, format!("Invalid value for {noun} '{field}'."), description),
        Problem::Missing(_) => {
            (reason::MISSING_FIELD, format!("Missing required {noun} '{field}'."), "This value is required.")
        }
        Problem::Duplicate(_) => (
            reason::INVALID_FIELD,
            format!("The {noun} '{field}' is given more than once."),
            "This value may be given only once.",
        ),
        Problem::Unknown(_) => (reason::UNKNOWN_FIELD, format!("Unknown {noun} '{field}'."), description),
    };
    Status::builder(Code::InvalidArgument, message)
        .detail(ErrorInfo::new(reason, "").with_metadata("field", field.to_owned()))
        .detail(violation(field, description, reason))
        .build()
        .into()
}

fn violation(field: &str, description: impl Into<String>, reason: &str) -> BadRequest {
    let mut violation = FieldViolation::new(field, description);
    violation.reason = reason.to_owned();
    BadRequest { field_violations: vec![violation] }
}

/// serde_json's message without its " at line L column C" suffix.
fn message_without_position(error: &serde_json::Error) -> String {
    let text = error.to_string();
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    match text.strip_suffix(&suffix) {
        Some(message) => message.to_owned(),
        None => text,
    }
}

fn path_ends_with(path: &serde_path_to_error::Path, name: &str) -> bool {
    matches!(path.iter().next_back(), Some(Segment::Map { key }) if key == name)
}

/// An AIP-161 field path: `a.b[2].c`, with keys that are not identifiers
/// in backticks. It stops at the first segment serde could not name.
fn field_path(path: &serde_path_to_error::Path, leaf: Option<&str>) -> String {
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => {
                let _ = write!(out, "[{index}]");
            }
            Segment::Map { key } | Segment::Enum { variant: key } => push_key(&mut out, key),
            Segment::Unknown => return out,
        }
    }
    if let Some(leaf) = leaf {
        push_key(&mut out, leaf);
    }
    out
}

fn push_key(out: &mut String, key: &str) {
    if !out.is_empty() {
        out.push('.');
    }
    let identifier = key.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if identifier {
        out.push_str(key);
    } else {
        out.push('`');
        out.push_str(&key.replace('`', "\\`"));
        out.push('`');
    }
}

/// `UNSUPPORTED_MEDIA_TYPE` unless the Content-Type is JSON
/// (`application/json` or `application/*+json`, any parameters).
fn check_json_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(value) = headers.get(CONTENT_TYPE) else {
        let status = Status::builder(
            Code::InvalidArgument,
            "The request body must be JSON, but the request has no Content-Type.",
        )
        .detail(ErrorInfo::new(reason::UNSUPPORTED_MEDIA_TYPE, ""))
        .detail(violation(CONTENT_TYPE_FIELD, "Expected application/json.", reason::UNSUPPORTED_MEDIA_TYPE))
        .build();
        return Err(status.into());
    };
    let text = String::from_utf8_lossy(value.as_bytes());
    if is_json(&text) {
        return Ok(());
    }
    let status = Status::builder(Code::InvalidArgument, format!("The request body must be JSON, not '{text}'."))
        .detail(ErrorInfo::new(reason::UNSUPPORTED_MEDIA_TYPE, "").with_metadata("contentType", text.into_owned()))
        .detail(violation(CONTENT_TYPE_FIELD, "Expected application/json.", reason::UNSUPPORTED_MEDIA_TYPE))
        .build();
    Err(status.into())
}

fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    let Some((kind, subtype)) = essence.split_once('/') else { return false };
    let subtype = subtype.trim().as_bytes();
    kind.trim().eq_ignore_ascii_case("application")
        && (subtype.eq_ignore_ascii_case(b"json")
            || (subtype.len() > 5 && subtype[subtype.len() - 5..].eq_ignore_ascii_case(b"+json")))
}

/// `PAYLOAD_TOO_LARGE` or `INVALID_BODY`.
fn body_error(rejection: BytesRejection) -> ApiError {
    let (reason, message, description) = if rejection.status() == http::StatusCode::PAYLOAD_TOO_LARGE {
        (reason::PAYLOAD_TOO_LARGE, "The request body is too large.", "The body exceeds the server's size limit.")
    } else {
        (reason::INVALID_BODY, "The request body could not be read.", "The body ended early or is malformed.")
    };
    Status::builder(Code::InvalidArgument, message)
        .detail(ErrorInfo::new(reason, ""))
        .detail(violation(BODY_FIELD, description, reason))
        .build()
        .into()
}

/// The error for a path that does not deserialize. `names` are the route's
/// parameter names, in order.
fn path_error(rejection: PathRejection, names: &[String]) -> ApiError {
    let PathRejection::FailedToDeserializePathParams(error) = rejection else {
        tracing::error!(rejection = %rejection, "a Path extractor was used on a route without parameters");
        return produced::internal(None);
    };
    let only = || if names.len() == 1 { names[0].clone() } else { String::new() };
    let invalid =
        |field: &str, description: String| field_error_at(Source::Path, field, Problem::Invalid, &description);
    match error.into_kind() {
        ErrorKind::ParseErrorAtKey { key, value, expected_type } => {
            invalid(&key, format!("invalid value '{value}', expected {expected_type}"))
        }
        ErrorKind::ParseErrorAtIndex { index, value, expected_type } => invalid(
            names.get(index).map(String::as_str).unwrap_or_default(),
            format!("invalid value '{value}', expected {expected_type}"),
        ),
        ErrorKind::ParseError { value, expected_type } => {
            invalid(&only(), format!("invalid value '{value}', expected {expected_type}"))
        }
        ErrorKind::InvalidUtf8InPathParam { key } => {
            invalid(&key, "the percent-decoded value is not valid UTF-8".to_owned())
        }
        ErrorKind::DeserializeError { key, message, .. } => {
            field_error_at(Source::Path, &key, Problem::of(&message), &message)
        }
        ErrorKind::Message(message) if matches!(Problem::of(&message), Problem::Invalid) => invalid(&only(), message),
        kind => {
            tracing::error!(error = %kind, "a Path extractor's type does not fit its route");
            produced::internal(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_that_count_as_json() {
        let table = [
            ("application/json", true),
            ("application/json; charset=utf-8", true),
            ("Application/JSON", true),
            ("application/problem+json", true),
            ("application/vnd.api+json ; v=1", true),
            ("application/+json", false),
            ("text/json", false),
            ("text/plain", false),
            ("application/jsonx", false),
            ("application/x-www-form-urlencoded", false),
            ("json", false),
            ("", false),
            ("application/ü+json", true),
        ];
        for (content_type, expected) in table {
            assert_eq!(is_json(content_type), expected, "{content_type}");
        }
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Cluster {
        nodes: Vec<Node>,
        #[serde(default)]
        labels: std::collections::BTreeMap<String, u32>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    #[allow(dead_code)]
    struct Node {
        gpu_count: u8,
    }

    #[test]
    fn json_rejections_name_the_exact_field_path() {
        let table = [
            (r#"{"nodes":[{"gpuCount":1},{"gpuCount":300}]}"#, "nodes[1].gpuCount", reason::INVALID_FIELD),
            (r#"{"nodes":[{}]}"#, "nodes[0].gpuCount", reason::MISSING_FIELD),
            (r#"{"nodes":[{"gpuCount":1,"gpuCount":2}]}"#, "nodes[0].gpuCount", reason::INVALID_FIELD),
            (r#"{"nodes":[{"gpuCount":1,"ram":2}]}"#, "nodes[0].ram", reason::UNKNOWN_FIELD),
            (r#"{"nodes":[],"labels":{"team.name":"x"}}"#, "labels.`team.name`", reason::INVALID_FIELD),
            (r#"{"nodes":[],"labels":{"tier":-1}}"#, "labels.tier", reason::INVALID_FIELD),
            (r#"{"nodes":[{"gpuCount":1},]}"#, "nodes", reason::INVALID_JSON),
            (r#"{"nodes":[{"gpuCount":1}]"#, "body", reason::INVALID_JSON),
            (r#"{}"#, "nodes", reason::MISSING_FIELD),
            (r#"[]"#, "body", reason::INVALID_FIELD),
            (r#"{"nodes":[]} {}"#, "body", reason::INVALID_JSON),
        ];
        for (body, field, expected_reason) in table {
            let error = Json::<Cluster>::from_bytes(body.as_bytes()).expect_err(body);
            let violations: Vec<_> = error.status().field_violations().collect();
            assert_eq!(violations.len(), 1, "{body}");
            assert_eq!(
                (violations[0].field.as_str(), violations[0].reason.as_str()),
                (field, expected_reason),
                "{body}"
            );
            assert_eq!(error.status().error_info().map(|i| i.reason.as_ref()), Some(expected_reason), "{body}");
        }
    }

    #[test]
    fn serde_wording_gives_the_problem_and_its_field() {
        let table = [
            ("missing field `machineType`", Problem::Missing("machineType")),
            ("duplicate field `limit`", Problem::Duplicate("limit")),
            ("unknown field `extra`, expected one of `a`, `b`", Problem::Unknown("extra")),
            ("unknown variant `TPU`, expected `GPU` or `CPU`", Problem::Invalid),
            ("invalid type: string \"1\", expected u32", Problem::Invalid),
        ];
        for (description, problem) in table {
            assert_eq!(Problem::of(description), problem, "{description}");
        }
    }
}
