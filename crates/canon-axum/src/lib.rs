//! canon-axum: every error an axum server sends, in the client's dialect,
//! with a request id.
//!
//! The CUDO and Gcore API pages both promise that every non-2xx response
//! has one shape and a request id support can trace. A stock axum app
//! breaks that promise in many places: extractor rejections are plain
//! text, an unknown route is an empty `404`, a wrong method a bare `405`,
//! a panic drops the connection, a timeout layer sends an empty `408`.
//! This crate closes each gap, with the model of [`canon`]:
//!
//! | where the error comes from | what the client gets | item |
//! |----------------------------|----------------------|------|
//! | a handler's `Err` | its Status, completed | [`ApiError`] |
//! | a malformed body, path or query | `INVALID_ARGUMENT` naming the field | [`extract`] |
//! | an unknown path | `NOT_FOUND` | [`routing::not_found`] |
//! | a wrong method | `405` with `Allow` | [`routing::method_not_allowed`] |
//! | a panic | `INTERNAL`, cause logged with the request id | [`CatchPanicLayer`](panic::CatchPanicLayer) |
//! | a timeout | `DEADLINE_EXCEEDED` (504) | [`TimeoutLayer`] |
//! | overload | `UNAVAILABLE` (503), RetryInfo, `Retry-After` | [`OverloadLayer`] |
//! | an API key over its rate | `RESOURCE_EXHAUSTED` (429), QuotaFailure, RetryInfo, `Retry-After` | [`RateLimitLayer`] |
//! | any other error response | rewritten into the dialect | [`RequestIdLayer`] |
//!
//! Every body is written in the dialect of the server's [`ErrorConfig`]:
//! AIP-193 bare (as CUDO sends), Google wrapped, or Gcore. The HTTP status
//! comes from the code, `code` mirrors the HTTP status, the content type is
//! `application/json`, and the request id of [`RequestIdLayer`] is in the
//! body and the `x-request-id` header. Every error carries an ErrorInfo
//! with a well-formed reason (see [`reason`]) and domain, as AIP-193
//! requires; DebugInfo only when the configuration allows it.
//!
//! [`ErrorLayers`] puts it all around a router in one call; its result, an
//! [`ErrorService`], is what `axum::serve` takes. The layers can also be
//! used one by one, in the order [`layers`] gives.
//!
//! # Example
//!
//! ```
//! use axum::{Router, body::Body, routing::get};
//! use canon::{Code, Encoding, Status};
//! use canon_axum::extract::Path;
//! use canon_axum::{ApiError, ErrorConfig, ErrorLayers};
//! use http::Request;
//! use http_body_util::BodyExt;
//! use tower::ServiceExt;
//!
//! async fn get_vm(Path(vm_id): Path<String>) -> Result<String, ApiError> {
//!     Err(Status::builder(Code::NotFound, format!("VM '{vm_id}' not found."))
//!         .error_info("VM_NOT_FOUND", "compute.example.dev", [("vmId", vm_id)])
//!         .build())?
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let app = ErrorLayers::new(ErrorConfig::new(Encoding::Aip193, "compute.example.dev"))
//!     .apply(Router::new().route("/v1/vms/{vm_id}", get(get_vm)));
//!
//! let request = Request::get("/v1/vms/vm-1").header("x-request-id", "req-1").body(Body::empty()).unwrap();
//! let response = app.oneshot(request).await.unwrap();
//! assert_eq!(response.status(), 404);
//! assert_eq!(response.headers()["x-request-id"], "req-1");
//! let body = response.into_body().collect().await.unwrap().to_bytes();
//! assert_eq!(
//!     std::str::from_utf8(&body).unwrap(),
//!     concat!(
//!         r#"{"code":404,"status":"NOT_FOUND","message":"VM 'vm-1' not found.","details":["#,
//!         r#"{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"VM_NOT_FOUND","#,
//!         r#""domain":"compute.example.dev","metadata":{"vmId":"vm-1"}},"#,
//!         r#"{"@type":"type.googleapis.com/google.rpc.RequestInfo","requestId":"req-1"}]}"#,
//!     )
//! );
//! # }
//! ```

pub mod config;
mod context;
pub mod error;
pub mod extract;
pub mod future;
pub mod layers;
pub mod overload;
pub mod panic;
pub mod rate_limit;
pub mod reason;
pub mod request_id;
pub mod routing;
pub mod timeout;

pub use config::ErrorConfig;
pub use error::ApiError;
pub use layers::{ErrorLayers, ErrorService};
pub use overload::OverloadLayer;
pub use rate_limit::RateLimitLayer;
pub use request_id::{RequestId, RequestIdLayer};
pub use timeout::TimeoutLayer;
