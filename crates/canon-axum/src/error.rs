//! [`ApiError`]: a [`Status`] on its way to the client.
//!
//! A handler returns `Result<T, ApiError>` and uses `?` on anything that
//! converts into a [`Status`]:
//!
//! ```
//! use axum::extract::Path;
//! use canon::{Code, Status};
//! use canon_axum::ApiError;
//!
//! async fn get_disk(Path(disk_id): Path<String>) -> Result<String, ApiError> {
//!     let status = Status::builder(Code::NotFound, format!("Disk '{disk_id}' not found."))
//!         .error_info("DISK_NOT_FOUND", "compute.example.dev", [("diskId", disk_id)])
//!         .build();
//!     Err(status)?
//! }
//! # let _: axum::routing::MethodRouter = axum::routing::get(get_disk);
//! ```
//!
//! When the response is written, the error is completed for the client,
//! in the dialect of the current [`ErrorConfig`]:
//!
//! - the HTTP status is the code's (for Gcore, its class's), unless
//!   [`ApiError::with_http_status`] chose another; `code` in the body
//!   mirrors it;
//! - an ErrorInfo without a domain gets the configured one; a status with
//!   no ErrorInfo at all gets one whose reason is the code's name, so that
//!   every error carries the ErrorInfo AIP-193 requires;
//! - the request id goes into RequestInfo (AIP-193, Google) or
//!   `request_id` (Gcore), replacing any other;
//! - DebugInfo is removed unless [`ErrorConfig::with_debug_info`] allows it;
//! - `Retry-After` is set from RetryInfo, and for Gcore `ALREADY_EXISTS`,
//!   `x-should-retry: false`.
//!
//! A status with code `OK` is not an error: it is sent as `UNKNOWN` (500)
//! rather than as a `200` with an error body.

use std::fmt;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use canon::details::{DetailKind, ErrorInfo};
use canon::encode::encode_for_request;
use canon::{Code, Detail, Status, encode, encode_with_http_status};
use http::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use http::{Method, StatusCode};

use crate::config::ErrorConfig;
use crate::context::{self, Context};
use crate::reason;

/// A server-side error: a [`Status`] that becomes a response in the
/// configured dialect. See the [module docs](self).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    status: Status,
    http_status: Option<StatusCode>,
}

impl ApiError {
    /// The error for a status.
    pub fn new(status: Status) -> ApiError {
        ApiError { status, http_status: None }
    }

    /// Sends the error with this HTTP status instead of the code's, for
    /// the few responses whose status the code does not give, such as a
    /// `405`. The body's `code` mirrors it where the dialect has one.
    pub fn with_http_status(mut self, http_status: StatusCode) -> ApiError {
        self.http_status = Some(http_status);
        self
    }

    /// The status.
    pub fn status(&self) -> &Status {
        &self.status
    }

    /// The HTTP status chosen with [`ApiError::with_http_status`], if any.
    pub fn http_status(&self) -> Option<StatusCode> {
        self.http_status
    }

    /// The status, given back.
    pub fn into_status(self) -> Status {
        self.status
    }
}

impl From<Status> for ApiError {
    fn from(status: Status) -> ApiError {
        ApiError::new(status)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.status.fmt(f)
    }
}

impl std::error::Error for ApiError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.status)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        context::with_current(|context| render(self, context))
    }
}

/// Writes an error for the client with the request's context, or with the
/// default configuration and no request id when there is none. The context
/// remembers that the request's error came from this crate.
pub(crate) fn render(error: ApiError, context: Option<&Context>) -> Response {
    let default;
    let (config, request_id) = match context {
        Some(context) => {
            context.rendered.set(true);
            (context.config(), Some(&context.request_id))
        }
        None => {
            default = ErrorConfig::default();
            (&default, None)
        }
    };
    let ApiError { mut status, http_status } = error;
    complete(&mut status, config, request_id.is_some());
    let http_status = http_status.map(|status| status.as_u16());
    let encoded = match request_id {
        // The id goes into the body as the encoder writes it, without a
        // RequestInfo built for it.
        Some(id) => encode_for_request(&status, config.encoding(), http_status, id.as_str()),
        None => match http_status {
            Some(http_status) => encode_with_http_status(&status, config.encoding(), http_status),
            None => encode(&status, config.encoding()),
        },
    };
    let mut response = Response::new(Body::from(encoded.body));
    *response.status_mut() = StatusCode::from_u16(encoded.http_status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, content_type_value(encoded.content_type));
    for (name, value) in encoded.headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    }
    response
}

/// The content type as a header value: the encoder's two as constants,
/// which spares checking their bytes on every response.
fn content_type_value(content_type: &'static str) -> HeaderValue {
    const JSON: HeaderValue = HeaderValue::from_static("application/json");
    const PROBLEM: HeaderValue = HeaderValue::from_static("application/problem+json");
    match content_type {
        "application/json" => JSON,
        "application/problem+json" => PROBLEM,
        other => HeaderValue::from_static(other),
    }
}

/// Completes a status for the client (see the module docs), all but the
/// request id, which the encoder writes.
fn complete(status: &mut Status, config: &ErrorConfig, has_request_id: bool) {
    if status.code() == Code::Ok {
        status.set_code(Code::Unknown);
    }
    let code = status.code();
    let details = status.details_mut();
    // DebugInfo unless allowed, and a RequestInfo that breaks its schema
    // when the request's id replaces it, so that each type is written at
    // most once.
    details.retain(|detail| match detail.kind() {
        Some(DetailKind::DebugInfo) => config.debug_info(),
        Some(DetailKind::RequestInfo) => !has_request_id || !matches!(detail, Detail::Nonconforming(_)),
        _ => true,
    });
    let mut has_error_info = false;
    for detail in details.iter_mut() {
        match detail {
            Detail::ErrorInfo(info) => {
                has_error_info = true;
                if info.domain.is_empty() {
                    info.domain = config.domain_text();
                }
                if info.reason.is_empty() {
                    info.reason = code.name().into();
                }
            }
            Detail::Nonconforming(detail) => has_error_info |= detail.kind() == DetailKind::ErrorInfo,
            _ => {}
        }
    }
    if !has_error_info {
        details.insert(0, ErrorInfo::new(code.name(), config.domain_text()).into());
    }
}

/// The errors the crate itself produces. Their ErrorInfo has no domain:
/// [`render`] fills in the configured one.
pub(crate) mod produced {
    use std::time::Duration;

    use canon::ProtoDuration;

    use super::*;

    /// The message of every internal error: it says nothing about the cause.
    pub(crate) const INTERNAL_MESSAGE: &str =
        "An internal error occurred. Contact support with the request id if it persists.";

    fn info(reason: &'static str) -> ErrorInfo {
        ErrorInfo::new(reason, "")
    }

    /// `ROUTE_NOT_FOUND`.
    pub(crate) fn route_not_found(path: &str) -> ApiError {
        Status::builder(Code::NotFound, format!("No route matches the path '{path}'."))
            .detail(info(reason::ROUTE_NOT_FOUND).with_metadata("path", path.to_owned()))
            .build()
            .into()
    }

    /// `METHOD_NOT_ALLOWED`, sent as `405`. In the Gcore dialect the
    /// ErrorInfo is Gcore's own, which makes canon write `HTTPError`.
    pub(crate) fn method_not_allowed(method: &Method, path: &str, config: &ErrorConfig) -> ApiError {
        let domain = if config.encoding() == canon::Encoding::Gcore { canon::gcore::DOMAIN } else { "" };
        let status =
            Status::builder(Code::Unimplemented, format!("The method '{method}' is not allowed on the path '{path}'."))
                .detail(
                    ErrorInfo::new(reason::METHOD_NOT_ALLOWED, domain)
                        .with_metadata("method", method.as_str().to_owned())
                        .with_metadata("path", path.to_owned()),
                )
                .build();
        ApiError::new(status).with_http_status(StatusCode::METHOD_NOT_ALLOWED)
    }

    /// `INTERNAL`, with the cause as DebugInfo when `debug` is given.
    pub(crate) fn internal(debug: Option<String>) -> ApiError {
        let mut builder = Status::builder(Code::Internal, INTERNAL_MESSAGE).detail(info(reason::INTERNAL));
        if let Some(debug) = debug {
            builder = builder.debug_info(Vec::new(), debug);
        }
        builder.build().into()
    }

    /// `DEADLINE_EXCEEDED` after `timeout`.
    pub(crate) fn deadline_exceeded(timeout: Duration) -> ApiError {
        let timeout = ProtoDuration::from_std(timeout).to_string();
        Status::builder(Code::DeadlineExceeded, format!("The request did not finish within {timeout}."))
            .detail(info(reason::DEADLINE_EXCEEDED).with_metadata("timeout", timeout))
            .build()
            .into()
    }

    /// `OVERLOADED`, to be retried after `retry_after`.
    pub(crate) fn overloaded(retry_after: Duration) -> ApiError {
        Status::builder(Code::Unavailable, "The server is overloaded. Retry after the delay in RetryInfo.")
            .detail(info(reason::OVERLOADED))
            .retry_delay(retry_after)
            .build()
            .into()
    }

    /// An error response that did not come from this crate, rewritten.
    pub(crate) fn foreign(http_status: StatusCode, debug: Option<String>) -> ApiError {
        let code = Code::from_http_status(http_status.as_u16());
        let number = http_status.as_str();
        let mut builder = Status::builder(code, format!("The request failed with HTTP status {number}."))
            .detail(info(reason::HTTP_ERROR).with_metadata("httpStatus", number.to_owned()));
        if let Some(debug) = debug {
            builder = builder.debug_info(Vec::new(), debug);
        }
        ApiError::new(builder.build()).with_http_status(http_status)
    }
}

#[cfg(test)]
mod tests {
    use canon::details::DebugInfo;
    use http_body_util::BodyExt;

    use super::*;

    async fn body_of(error: ApiError) -> (u16, String) {
        let response = error.into_response();
        let status = response.status().as_u16();
        let bytes = response.into_body().collect().await.expect("body").to_bytes();
        (status, String::from_utf8(bytes.to_vec()).expect("UTF-8"))
    }

    #[tokio::test]
    async fn outside_a_request_id_layer_errors_use_the_default_config() {
        let table = [
            (
                ApiError::from(Status::new(Code::NotFound, "No such disk.")),
                404,
                r#"{"code":404,"status":"NOT_FOUND","message":"No such disk.","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"NOT_FOUND","domain":"unconfigured.invalid"}]}"#,
            ),
            (
                // An ErrorInfo without a domain gets the configured one;
                // DebugInfo is removed.
                Status::with_details(
                    Code::Aborted,
                    "Retry the transaction.",
                    vec![ErrorInfo::new("ETAG_MISMATCH", "").into(), DebugInfo::default().into()],
                )
                .into(),
                409,
                r#"{"code":409,"status":"ABORTED","message":"Retry the transaction.","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"ETAG_MISMATCH","domain":"unconfigured.invalid"}]}"#,
            ),
            (
                // OK is not an error.
                Status::new(Code::Ok, "fine").into(),
                500,
                r#"{"code":500,"status":"UNKNOWN","message":"fine","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"UNKNOWN","domain":"unconfigured.invalid"}]}"#,
            ),
            (
                ApiError::from(Status::new(Code::Unimplemented, "Use POST."))
                    .with_http_status(StatusCode::METHOD_NOT_ALLOWED),
                405,
                r#"{"code":405,"status":"UNIMPLEMENTED","message":"Use POST.","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"UNIMPLEMENTED","domain":"unconfigured.invalid"}]}"#,
            ),
        ];
        for (error, status, body) in table {
            assert_eq!(body_of(error).await, (status, body.to_owned()));
        }
    }
}
