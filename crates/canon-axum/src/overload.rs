//! [`OverloadLayer`]: a concurrency limit that sheds load with
//! `UNAVAILABLE` (503).
//!
//! When as many requests as the limit are in flight, the next one is not
//! queued: it is answered at once with code `UNAVAILABLE`, reason
//! `OVERLOADED`, a RetryInfo with the configured delay and the matching
//! `Retry-After` header. The limit is shared by every route the layer is
//! applied to, and a slot is freed when the handler's response is ready
//! (not when its body has been sent).
//!
//! ```
//! use std::time::Duration;
//! use canon_axum::OverloadLayer;
//!
//! let layer = OverloadLayer::new(512).retry_after(Duration::from_secs(2));
//! # let _ = layer;
//! ```

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::response::Response;
use http::Request;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tower::{Layer, Service};

use crate::error::produced;
use crate::future::ResponseFuture;

/// The delay an overloaded server asks for unless configured otherwise.
pub const DEFAULT_OVERLOAD_RETRY_AFTER: Duration = Duration::from_secs(1);

/// A [`Layer`] that limits requests in flight and sheds the rest. See the
/// [module docs](self).
#[derive(Debug, Clone)]
pub struct OverloadLayer {
    permits: Arc<Semaphore>,
    retry_after: Duration,
}

impl OverloadLayer {
    /// Lets at most `max_in_flight` requests run at once.
    pub fn new(max_in_flight: usize) -> OverloadLayer {
        OverloadLayer { permits: Arc::new(Semaphore::new(max_in_flight)), retry_after: DEFAULT_OVERLOAD_RETRY_AFTER }
    }

    /// The delay shed requests are told to wait before they retry
    /// ([`DEFAULT_OVERLOAD_RETRY_AFTER`] unless set).
    pub fn retry_after(mut self, delay: Duration) -> OverloadLayer {
        self.retry_after = delay;
        self
    }
}

impl<S> Layer<S> for OverloadLayer {
    type Service = Overload<S>;

    fn layer(&self, inner: S) -> Overload<S> {
        Overload { inner, layer: self.clone() }
    }
}

/// The service of [`OverloadLayer`].
#[derive(Debug, Clone)]
pub struct Overload<S> {
    inner: S,
    layer: OverloadLayer,
}

impl<S, B> Service<Request<B>> for Overload<S>
where
    S: Service<Request<B>, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, OwnedSemaphorePermit>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        match Arc::clone(&self.layer.permits).try_acquire_owned() {
            Ok(permit) => ResponseFuture::admitted(self.inner.call(request), permit),
            Err(_) => ResponseFuture::rejected(produced::overloaded(self.layer.retry_after)),
        }
    }
}
