//! Panics: [`CatchPanicLayer`] answers a panicking handler with an
//! `INTERNAL` error instead of a dropped connection.
//!
//! The client learns nothing about the cause: the message is always the
//! same sentence, and the panic's own message goes to the log (a tracing
//! `ERROR` event with the request id, inside the request's span) and, only
//! when [`ErrorConfig::with_debug_info`](crate::ErrorConfig::with_debug_info)
//! allows it, into DebugInfo.
//!
//! Place the layer inside [`RequestIdLayer`](crate::RequestIdLayer), so
//! that the error has the request's id and dialect:
//!
//! ```
//! use axum::{Router, routing::get};
//! use canon::Encoding;
//! use canon_axum::{ErrorConfig, RequestIdLayer, panic::CatchPanicLayer};
//! use tower::ServiceBuilder;
//!
//! async fn boom() -> &'static str {
//!     panic!("the disk is on fire")
//! }
//!
//! let app: Router = Router::new().route("/boom", get(boom)).layer(
//!     ServiceBuilder::new()
//!         .layer(RequestIdLayer::new(ErrorConfig::new(Encoding::Aip193, "compute.example.dev")))
//!         .layer(CatchPanicLayer),
//! );
//! ```
//!
//! tower-http has a `CatchPanicLayer` too, but it boxes the body of every
//! response, panic or not: an allocation per request that this one avoids.
//! A panic is caught where the inner service is called and wherever its
//! future is polled; the response body is not guarded.

use std::any::Any;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::response::Response;
use http::Request;
use pin_project_lite::pin_project;
use tower::{Layer, Service};

use crate::context;
use crate::error::{self, produced};

/// A [`Layer`] that turns panics into `INTERNAL` errors. See the [module
/// docs](self).
#[derive(Debug, Clone, Copy, Default)]
pub struct CatchPanicLayer;

impl<S> Layer<S> for CatchPanicLayer {
    type Service = CatchPanic<S>;

    fn layer(&self, inner: S) -> CatchPanic<S> {
        CatchPanic { inner }
    }
}

/// The service of [`CatchPanicLayer`].
#[derive(Debug, Clone)]
pub struct CatchPanic<S> {
    inner: S,
}

impl<S, B> Service<Request<B>> for CatchPanic<S>
where
    S: Service<Request<B>, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = CatchPanicFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> CatchPanicFuture<S::Future> {
        let state = match catch_unwind(AssertUnwindSafe(|| self.inner.call(request))) {
            Ok(future) => State::Running { future },
            Err(panic) => State::Panicked { panic: Some(panic) },
        };
        CatchPanicFuture { state }
    }
}

pin_project! {
    /// The response future of [`CatchPanic`].
    pub struct CatchPanicFuture<F> {
        #[pin]
        state: State<F>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F> {
        Running { #[pin] future: F },
        Panicked { panic: Option<Box<dyn Any + Send>> },
    }
}

impl<F, E> Future for CatchPanicFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Running { future } => match catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
                Ok(poll) => poll,
                Err(panic) => Poll::Ready(Ok(respond(&*panic))),
            },
            StateProj::Panicked { panic } => {
                let panic = panic.take().expect("CatchPanicFuture polled after completion");
                Poll::Ready(Ok(respond(&*panic)))
            }
        }
    }
}

/// The `INTERNAL` error for a panic, logged with the request id.
pub(crate) fn respond(panic: &(dyn Any + Send)) -> Response {
    let message = panic_message(panic);
    context::with_current(|context| {
        let request_id = context.map(|context| context.request_id.as_str()).unwrap_or_default();
        tracing::error!(request_id, panic = message, "a handler panicked");
        let debug = context.filter(|context| context.config().debug_info()).map(|_| message.to_owned());
        error::render(produced::internal(debug), context)
    })
}

/// The text a panic was raised with.
fn panic_message(panic: &(dyn Any + Send)) -> &str {
    if let Some(message) = panic.downcast_ref::<&str>() {
        message
    } else if let Some(message) = panic.downcast_ref::<String>() {
        message
    } else {
        "a panic without a message"
    }
}
