//! [`ErrorLayers`]: every layer of this crate, in the right order, around a
//! router, in one call.
//!
//! ```no_run
//! use std::time::Duration;
//! use axum::{Router, routing::get};
//! use canon::Encoding;
//! use canon_axum::{ErrorConfig, ErrorLayers, RateLimitLayer};
//!
//! # async fn run() -> std::io::Result<()> {
//! let router = Router::new().route("/v1/vms", get(|| async { "[]" }));
//! let app = ErrorLayers::new(ErrorConfig::new(Encoding::Aip193, "compute.example.dev"))
//!     .timeout(Duration::from_secs(30))
//!     .concurrency_limit(512, Duration::from_secs(1))
//!     .rate_limit(RateLimitLayer::per_api_key(100, Duration::from_secs(60)))
//!     .apply(router);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! axum::serve(listener, app).await
//! # }
//! ```
//!
//! [`ErrorLayers::apply`] installs the [`routing`](crate::routing)
//! fallbacks on the router and wraps the whole of it, outermost first, in:
//!
//! 1. [`RequestIdLayer`]: the id and the configuration must be current for
//!    everything else, and its `x-request-id` header must reach every
//!    response, the other layers' included;
//! 2. [`CatchPanicLayer`]: inside the request id so that the error has it,
//!    outside the rest so that it catches their panics too;
//! 3. [`RateLimitLayer`], if set: a key over its rate should not take a
//!    concurrency slot;
//! 4. [`OverloadLayer`], if set;
//! 5. [`TimeoutLayer`], if set: innermost, so that it times the handler
//!    alone and a shed request is answered at once.
//!
//! The layers wrap the router from outside rather than through
//! [`Router::layer`], which would wrap each route apart and box it once
//! more on every request. So `apply` comes last, after the routes, the
//! router's own layers (a `DefaultBodyLimit`, say) and `with_state`; its
//! result, an [`ErrorService`], is what `axum::serve` takes.

use std::convert::Infallible;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::BoxError;
use axum::Router;
use axum::body::HttpBody;
use axum::response::Response;
use axum::serve::{IncomingStream, Listener};
use bytes::Bytes;
use http::{HeaderName, Request};
use tower::util::Either;
use tower::{Service, ServiceBuilder};

use crate::config::ErrorConfig;
use crate::overload::{Overload, OverloadLayer};
use crate::panic::{CatchPanic, CatchPanicLayer};
use crate::rate_limit::{RateLimit, RateLimitLayer};
use crate::request_id::{RequestIdLayer, RequestIdService};
use crate::routing::{method_not_allowed, not_found};
use crate::timeout::{Timeout, TimeoutLayer};

/// Every layer of the crate, configured once. See the [module docs](self).
#[derive(Debug, Clone)]
#[must_use]
pub struct ErrorLayers {
    request_id: RequestIdLayer,
    timeout: Option<Duration>,
    overload: Option<OverloadLayer>,
    rate_limit: Option<RateLimitLayer>,
}

impl ErrorLayers {
    /// Request ids, panics and routing errors, written as `config` says;
    /// no timeout, concurrency limit or rate limit until set.
    pub fn new(config: ErrorConfig) -> ErrorLayers {
        ErrorLayers::with_request_id_layer(RequestIdLayer::new(config))
    }

    /// As [`ErrorLayers::new`], with a request-id layer configured apart
    /// (another header, or incoming ids ignored).
    pub fn with_request_id_layer(layer: RequestIdLayer) -> ErrorLayers {
        ErrorLayers { request_id: layer, timeout: None, overload: None, rate_limit: None }
    }

    /// Answers requests that take longer than `timeout` with
    /// `DEADLINE_EXCEEDED`.
    pub fn timeout(mut self, timeout: Duration) -> ErrorLayers {
        self.timeout = Some(timeout);
        self
    }

    /// Lets at most `max_in_flight` requests run at once and answers the
    /// rest with `UNAVAILABLE`, to be retried after `retry_after`.
    pub fn concurrency_limit(mut self, max_in_flight: usize, retry_after: Duration) -> ErrorLayers {
        self.overload = Some(OverloadLayer::new(max_in_flight).retry_after(retry_after));
        self
    }

    /// Limits each API key's request rate.
    pub fn rate_limit(mut self, layer: RateLimitLayer) -> ErrorLayers {
        self.rate_limit = Some(layer);
        self
    }

    /// The request-id header.
    pub fn request_id_header(mut self, header: HeaderName) -> ErrorLayers {
        self.request_id = self.request_id.header(header);
        self
    }

    /// Installs the fallbacks on `router` (replacing any it had) and wraps
    /// it in the layers.
    pub fn apply(self, router: Router) -> ErrorService {
        let router = router.fallback(not_found).method_not_allowed_fallback(method_not_allowed);
        let stack = ServiceBuilder::new()
            .layer(self.request_id)
            .layer(CatchPanicLayer)
            .option_layer(self.rate_limit)
            .option_layer(self.overload)
            .option_layer(self.timeout.map(TimeoutLayer::new))
            .service(router);
        ErrorService { stack }
    }
}

type Timed = Either<Timeout<Router>, Router>;
type Shed = Either<Overload<Timed>, Timed>;
type Limited = Either<RateLimit<Shed>, Shed>;
type Stack = RequestIdService<CatchPanic<Limited>>;

/// A router wrapped in [`ErrorLayers`]: serve it with `axum::serve`, or
/// call it as a tower [`Service`].
#[derive(Debug, Clone)]
pub struct ErrorService {
    stack: Stack,
}

impl<B> Service<Request<B>> for ErrorService
where
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = <Stack as Service<Request<B>>>::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        <Stack as Service<Request<B>>>::poll_ready(&mut self.stack, cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        self.stack.call(request)
    }
}

/// Lets `axum::serve(listener, service)` take an [`ErrorService`] as it
/// takes a [`Router`]: each connection gets a clone.
impl<L: Listener> Service<IncomingStream<'_, L>> for ErrorService {
    type Response = ErrorService;
    type Error = Infallible;
    type Future = std::future::Ready<Result<ErrorService, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _stream: IncomingStream<'_, L>) -> Self::Future {
        std::future::ready(Ok(self.clone()))
    }
}
