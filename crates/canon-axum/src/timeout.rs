//! [`TimeoutLayer`]: a request that outlives its time gets
//! `DEADLINE_EXCEEDED` (504).
//!
//! tower-http's `TimeoutLayer` answers with an empty `408`, and tower's
//! fails the service with an error that something must still turn into a
//! response. This layer answers with the error itself, in the configured
//! dialect: code `DEADLINE_EXCEEDED`, reason `DEADLINE_EXCEEDED`, metadata
//! `timeout` (such as `30s`). The handler's future is dropped.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::response::{IntoResponse, Response};
use http::Request;
use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep};
use tower::{Layer, Service};

use crate::error::produced;

/// A [`Layer`] that ends requests after a time. See the [module
/// docs](self).
#[derive(Debug, Clone, Copy)]
pub struct TimeoutLayer {
    timeout: Duration,
}

impl TimeoutLayer {
    /// Ends each request after `timeout`.
    pub fn new(timeout: Duration) -> TimeoutLayer {
        TimeoutLayer { timeout }
    }
}

impl<S> Layer<S> for TimeoutLayer {
    type Service = Timeout<S>;

    fn layer(&self, inner: S) -> Timeout<S> {
        Timeout { inner, timeout: self.timeout }
    }
}

/// The service of [`TimeoutLayer`].
#[derive(Debug, Clone)]
pub struct Timeout<S> {
    inner: S,
    timeout: Duration,
}

impl<S, B> Service<Request<B>> for Timeout<S>
where
    S: Service<Request<B>, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = TimeoutFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> TimeoutFuture<S::Future> {
        let deadline = Instant::now() + self.timeout;
        TimeoutFuture { inner: self.inner.call(request), sleep: None, deadline, timeout: self.timeout }
    }
}

pin_project! {
    /// The response future of [`Timeout`]. The timer is set only when the
    /// inner future does not finish at its first poll, so that requests
    /// answered at once cost no timer.
    pub struct TimeoutFuture<F> {
        #[pin]
        inner: F,
        #[pin]
        sleep: Option<Sleep>,
        deadline: Instant,
        timeout: Duration,
    }
}

impl<F, E> Future for TimeoutFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(output) = this.inner.poll(cx) {
            return Poll::Ready(output);
        }
        poll_deadline(this.sleep, *this.deadline, *this.timeout, cx).map(Ok)
    }
}

/// Polls the timer of a request due by `deadline`, after its work was found
/// pending: the timer is set only then, so that work done at its first poll
/// costs none. Ready with the `DEADLINE_EXCEEDED` answer when it fires.
pub(crate) fn poll_deadline(
    mut sleep: Pin<&mut Option<Sleep>>,
    deadline: Instant,
    timeout: Duration,
    cx: &mut Context<'_>,
) -> Poll<Response> {
    if sleep.is_none() {
        sleep.set(Some(tokio::time::sleep_until(deadline)));
    }
    let sleep = sleep.as_pin_mut().expect("the timer is set");
    sleep.poll(cx).map(|()| produced::deadline_exceeded(timeout).into_response())
}
