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
//! 2. [`CatchPanicLayer`](crate::panic::CatchPanicLayer): inside the
//!    request id so that the error has it, outside the rest so that it
//!    catches their panics too;
//! 3. [`RateLimitLayer`], if set: a key over its rate should not take a
//!    concurrency slot;
//! 4. [`OverloadLayer`], if set;
//! 5. [`TimeoutLayer`](crate::TimeoutLayer), if set: innermost, so that
//!    it times the handler alone and a shed request is answered at once.
//!
//! The layers wrap the router from outside rather than through
//! [`Router::layer`], which would wrap each route apart and box it once
//! more on every request. So `apply` comes last, after the routes, the
//! router's own layers (a `DefaultBodyLimit`, say) and `with_state`; its
//! result, an [`ErrorService`], is what `axum::serve` takes.

use std::any::Any;
use std::convert::Infallible;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::BoxError;
use axum::Router;
use axum::body::HttpBody;
use axum::response::{IntoResponse, Response};
use axum::routing::future::RouteFuture;
use axum::serve::{IncomingStream, Listener};
use bytes::Bytes;
use http::{HeaderName, Request};
use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep};
use tower::Service;

use crate::config::ErrorConfig;
use crate::error::ApiError;
use crate::overload::{OverloadLayer, Slot};
use crate::rate_limit::RateLimitLayer;
use crate::request_id::{self, RequestIdFuture, RequestIdLayer, Settings};
use crate::routing::{method_not_allowed, not_found};
use crate::{panic, timeout};

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
        let limits = Limits {
            settings: Arc::clone(self.request_id.settings()),
            rate_limit: self.rate_limit,
            overload: self.overload,
            timeout: self.timeout,
        };
        ErrorService { router, limits: Arc::new(limits) }
    }
}

/// The router under every layer of an [`ErrorLayers`]: what
/// [`ErrorLayers::apply`] gives, for `axum::serve`.
///
/// It answers exactly as the layers stacked one by one would, with one
/// service and one future for all of them: the stack would clone a service
/// per layer for every request and move a future per layer as each is
/// started.
#[derive(Debug, Clone)]
pub struct ErrorService {
    router: Router,
    /// Behind one `Arc`, so that the clone `axum::serve` makes for each
    /// request counts one reference more than the router's.
    limits: Arc<Limits>,
}

/// The settings of an [`ErrorService`]: the request id's, then the layers
/// below the request id and panic catching, in their order: rate limit,
/// concurrency limit, timeout.
#[derive(Debug)]
struct Limits {
    settings: Arc<Settings>,
    rate_limit: Option<RateLimitLayer>,
    overload: Option<OverloadLayer>,
    timeout: Option<Duration>,
}

impl Limits {
    /// Admits the request and starts the router on it, catching a panic of
    /// either.
    fn call<B>(&self, router: &mut Router, request: Request<B>) -> GuardedFuture
    where
        B: HttpBody<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let state = match catch_unwind(AssertUnwindSafe(|| self.admit_and_call(router, request))) {
            Ok(state) => state,
            Err(panic) => Guarded::Refused { refusal: Some(Refusal::Panic(panic)) },
        };
        GuardedFuture { state }
    }

    fn admit_and_call<B>(&self, router: &mut Router, request: Request<B>) -> Guarded
    where
        B: HttpBody<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let refused = |error| Guarded::Refused { refusal: Some(Refusal::Error(error)) };
        // The clock is read once, by whichever limit needs it first: the
        // rate limit (only for a request with a key), or the timeout.
        let mut now = None;
        if let Some(rate_limit) = &self.rate_limit
            && let Err(error) =
                rate_limit.admit_at(request.headers(), || now.get_or_insert_with(Instant::now).into_std())
        {
            return refused(error);
        }
        let slot = match self.overload.as_ref().map(OverloadLayer::admit) {
            Some(Err(error)) => return refused(error),
            Some(Ok(slot)) => Some(slot),
            None => None,
        };
        let deadline = self.timeout.map(|timeout| (now.unwrap_or_else(Instant::now) + timeout, timeout));
        Guarded::Running { future: Box::pin(Service::call(router, request)), sleep: None, deadline, slot }
    }
}

impl<B> Service<Request<B>> for ErrorService
where
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = ErrorFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        <Router as Service<Request<B>>>::poll_ready(&mut self.router, cx)
    }

    fn call(&mut self, request: Request<B>) -> ErrorFuture {
        let (router, limits) = (&mut self.router, &*self.limits);
        ErrorFuture { inner: request_id::start(&limits.settings, request, |request| limits.call(router, request)) }
    }
}

pin_project! {
    /// The response future of an [`ErrorService`].
    pub struct ErrorFuture {
        #[pin]
        inner: RequestIdFuture<GuardedFuture>,
    }
}

impl Future for ErrorFuture {
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().inner.poll(cx)
    }
}

pin_project! {
    /// The router's future under the limits and panic catching: the part of
    /// an [`ErrorFuture`] that runs with the request's id current.
    struct GuardedFuture {
        #[pin]
        state: Guarded,
    }
}

pin_project! {
    #[project = GuardedProj]
    enum Guarded {
        // The router at work, with its timer (set once it is found
        // pending) and its concurrency slot. The router's future is boxed:
        // inline, its 320 bytes were copied at each of the several moves
        // between the router's call and the first poll, which cost more
        // than the allocation (390 instructions a request, measured).
        Running {
            future: Pin<Box<RouteFuture<Infallible>>>,
            #[pin]
            sleep: Option<Sleep>,
            deadline: Option<(Instant, Duration)>,
            slot: Option<Slot>,
        },
        // Refused before the router ran, answered at the first poll, where
        // the request's id is current.
        Refused { refusal: Option<Refusal> },
    }
}

/// Why a request never reached the router.
enum Refusal {
    /// A limit's error.
    Error(ApiError),
    /// A panic while admitting it or starting the router.
    Panic(Box<dyn Any + Send>),
}

impl Future for GuardedFuture {
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            GuardedProj::Running { future, sleep, deadline, slot } => {
                let answer = match catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
                    Ok(Poll::Ready(Ok(response))) => response,
                    Ok(Poll::Ready(Err(never))) => match never {},
                    Err(panic) => panic::respond(&*panic),
                    Ok(Poll::Pending) => match *deadline {
                        Some((at, timeout)) => std::task::ready!(timeout::poll_deadline(sleep, at, timeout, cx)),
                        None => return Poll::Pending,
                    },
                };
                drop(slot.take());
                Poll::Ready(Ok(answer))
            }
            GuardedProj::Refused { refusal } => Poll::Ready(Ok(
                match refusal.take().expect("a refused request's future is polled until it answers once") {
                    Refusal::Error(error) => error.into_response(),
                    Refusal::Panic(panic) => panic::respond(&*panic),
                },
            )),
        }
    }
}

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
