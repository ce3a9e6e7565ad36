//! Fallbacks for requests no route takes: [`not_found`] and
//! [`method_not_allowed`].
//!
//! A stock axum router answers an unknown path with an empty `404` and a
//! wrong method with an empty `405`. Install these instead (as
//! [`ErrorLayers::apply`](crate::ErrorLayers::apply) does):
//!
//! ```
//! use axum::{Router, routing::get};
//! use canon_axum::routing::{method_not_allowed, not_found};
//!
//! let app: Router = Router::new()
//!     .route("/v1/vms", get(|| async { "[]" }))
//!     .fallback(not_found)
//!     // After the routes: it applies to the routes registered so far.
//!     .method_not_allowed_fallback(method_not_allowed);
//! ```
//!
//! # 405 in each dialect
//!
//! A wrong method is sent as HTTP `405` with axum's `Allow` header, which
//! lists the methods the path takes, in every dialect:
//!
//! - Gcore: the class `HTTPError`, as the Gcore page documents.
//! - AIP-193 and Google: code `UNIMPLEMENTED` (the CUDO page's code for
//!   "method not implemented / allowed", and the code canon maps Gcore's
//!   `HTTPError` to), ErrorInfo reason `METHOD_NOT_ALLOWED`, and `code: 405`
//!   in the body so that it mirrors the status line as the CUDO page
//!   promises. The status is 405 rather than UNIMPLEMENTED's 501 because
//!   HTTP defines 405 (with `Allow`) for exactly this case, and because a
//!   501 would tell clients that retry 5xx to try again.

use axum::extract::OriginalUri;
use http::Method;

use crate::context;
use crate::error::{ApiError, produced};

/// The fallback for an unknown path: `NOT_FOUND` with reason
/// `ROUTE_NOT_FOUND` and the path in metadata `path`.
pub async fn not_found(OriginalUri(uri): OriginalUri) -> ApiError {
    produced::route_not_found(uri.path())
}

/// The fallback for a known path with a method it does not take: `405`,
/// reason `METHOD_NOT_ALLOWED`, metadata `method` and `path`. axum adds the
/// `Allow` header.
pub async fn method_not_allowed(method: Method, OriginalUri(uri): OriginalUri) -> ApiError {
    context::with_current(|context| match context {
        Some(context) => produced::method_not_allowed(&method, uri.path(), context.config()),
        None => produced::method_not_allowed(&method, uri.path(), &Default::default()),
    })
}
