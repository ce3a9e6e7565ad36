//! The ErrorInfo reasons of the errors this crate produces.
//!
//! Each is written with the configured domain
//! ([`ErrorConfig::domain`](crate::ErrorConfig::domain)), except the `405`
//! in the Gcore dialect, whose ErrorInfo is Gcore's own
//! (`api.gcore.com`, `METHOD_NOT_ALLOWED`): that is what makes canon write
//! the class `HTTPError`, and the Gcore wire shows no domain.
//!
//! | reason | code | HTTP | when |
//! |--------|------|------|------|
//! | [`INVALID_JSON`] | INVALID_ARGUMENT | 400 | the body is not JSON (syntax, end of input, trailing characters) |
//! | [`INVALID_FIELD`] | INVALID_ARGUMENT | 400 | a value has the wrong type, an unknown enum value, or is out of range; a field appears twice |
//! | [`MISSING_FIELD`] | INVALID_ARGUMENT | 400 | a required field is absent |
//! | [`UNKNOWN_FIELD`] | INVALID_ARGUMENT | 400 | a field the type does not know (with `deny_unknown_fields`) |
//! | [`UNSUPPORTED_MEDIA_TYPE`] | INVALID_ARGUMENT | 400 | the Content-Type is absent or not JSON |
//! | [`PAYLOAD_TOO_LARGE`] | INVALID_ARGUMENT | 400 | the body exceeds the body limit |
//! | [`INVALID_BODY`] | INVALID_ARGUMENT | 400 | the body could not be read |
//! | [`ROUTE_NOT_FOUND`] | NOT_FOUND | 404 | no route matches the path |
//! | [`METHOD_NOT_ALLOWED`] | UNIMPLEMENTED | 405 | the path exists, the method does not |
//! | [`INTERNAL`] | INTERNAL | 500 | a handler panicked, or the server is misconfigured |
//! | [`DEADLINE_EXCEEDED`] | DEADLINE_EXCEEDED | 504 | the request outlived the timeout |
//! | [`OVERLOADED`] | UNAVAILABLE | 503 | the concurrency limit is reached |
//! | [`RATE_LIMITED`] | RESOURCE_EXHAUSTED | 429 | the API key's token bucket is empty |
//! | [`HTTP_ERROR`] | from the HTTP status | as sent | an error response that did not come from this crate, rewritten (a bare `405` becomes `METHOD_NOT_ALLOWED` instead) |
//!
//! A handler's own error keeps its reason. A handler error without an
//! ErrorInfo gets one whose reason is the code's name (`NOT_FOUND`) and
//! whose domain is the configured one.

/// The request body is not valid JSON.
pub const INVALID_JSON: &str = "INVALID_JSON";
/// A field's value is invalid: wrong type, unknown enum value, out of range,
/// or given twice.
pub const INVALID_FIELD: &str = "INVALID_FIELD";
/// A required field is missing.
pub const MISSING_FIELD: &str = "MISSING_FIELD";
/// A field the request type does not have.
pub const UNKNOWN_FIELD: &str = "UNKNOWN_FIELD";
/// The Content-Type is absent or is not JSON.
pub const UNSUPPORTED_MEDIA_TYPE: &str = "UNSUPPORTED_MEDIA_TYPE";
/// The body is larger than the server accepts.
pub const PAYLOAD_TOO_LARGE: &str = "PAYLOAD_TOO_LARGE";
/// The body could not be read to its end.
pub const INVALID_BODY: &str = "INVALID_BODY";
/// No route matches the request's path.
pub const ROUTE_NOT_FOUND: &str = "ROUTE_NOT_FOUND";
/// The path exists but not with the request's method.
pub const METHOD_NOT_ALLOWED: &str = "METHOD_NOT_ALLOWED";
/// An internal error: a panic or a misconfiguration. Nothing more is said.
pub const INTERNAL: &str = "INTERNAL";
/// The request did not finish within the server's timeout.
pub const DEADLINE_EXCEEDED: &str = "DEADLINE_EXCEEDED";
/// The server is at its concurrency limit.
pub const OVERLOADED: &str = "OVERLOADED";
/// The API key has used up its request rate.
pub const RATE_LIMITED: &str = "RATE_LIMITED";
/// An error response that did not come from this crate, rewritten into the
/// configured dialect. The code is the one the HTTP status stands for
/// ([`canon::Code::from_http_status`]), and metadata `httpStatus` holds the
/// status.
pub const HTTP_ERROR: &str = "HTTP_ERROR";
