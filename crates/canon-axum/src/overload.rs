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
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::response::Response;
use http::Request;
use tower::{Layer, Service};

use crate::error::{ApiError, produced};
use crate::future::ResponseFuture;

/// The delay an overloaded server asks for unless configured otherwise.
pub const DEFAULT_OVERLOAD_RETRY_AFTER: Duration = Duration::from_secs(1);

/// A [`Layer`] that limits requests in flight and sheds the rest. See the
/// [module docs](self).
#[derive(Debug, Clone)]
pub struct OverloadLayer {
    slots: Arc<Slots>,
    retry_after: Duration,
}

/// The limit and the requests in flight, shared by every clone of a layer.
/// A plain counter rather than a semaphore: nothing ever waits for a slot,
/// and a semaphore takes a lock to give one back.
#[derive(Debug)]
struct Slots {
    in_flight: AtomicUsize,
    max_in_flight: usize,
}

impl OverloadLayer {
    /// Lets at most `max_in_flight` requests run at once.
    pub fn new(max_in_flight: usize) -> OverloadLayer {
        OverloadLayer {
            slots: Arc::new(Slots { in_flight: AtomicUsize::new(0), max_in_flight }),
            retry_after: DEFAULT_OVERLOAD_RETRY_AFTER,
        }
    }

    /// The delay shed requests are told to wait before they retry
    /// ([`DEFAULT_OVERLOAD_RETRY_AFTER`] unless set).
    pub fn retry_after(mut self, delay: Duration) -> OverloadLayer {
        self.retry_after = delay;
        self
    }

    /// Admits a request, which holds its slot until the [`Slot`] is
    /// dropped, or gives the `OVERLOADED` error when all are taken.
    pub(crate) fn admit(&self) -> Result<Slot, ApiError> {
        Slot::take(&self.slots).ok_or_else(|| produced::overloaded(self.retry_after))
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
    type Future = ResponseFuture<S::Future, Slot>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        match self.layer.admit() {
            Ok(slot) => ResponseFuture::admitted(self.inner.call(request), slot),
            Err(error) => ResponseFuture::rejected(error),
        }
    }
}

/// A request's place among those in flight under an [`Overload`], given
/// back when dropped.
#[derive(Debug)]
pub struct Slot {
    slots: Arc<Slots>,
}

impl Slot {
    /// A slot, unless every one is taken.
    fn take(slots: &Arc<Slots>) -> Option<Slot> {
        slots
            .in_flight
            .fetch_update(Ordering::Acquire, Ordering::Relaxed, |n| (n < slots.max_in_flight).then_some(n + 1))
            .ok()
            .map(|_| Slot { slots: Arc::clone(slots) })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.slots.in_flight.fetch_sub(1, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_taken_up_to_the_limit_and_given_back_when_dropped() {
        let slots = Arc::new(Slots { in_flight: AtomicUsize::new(0), max_in_flight: 2 });
        let first = Slot::take(&slots).expect("a first slot");
        let second = Slot::take(&slots).expect("a second slot");
        assert!(Slot::take(&slots).is_none(), "the limit is 2");
        drop(first);
        let third = Slot::take(&slots).expect("a slot given back is taken again");
        assert!(Slot::take(&slots).is_none());
        drop((second, third));
        assert_eq!(slots.in_flight.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn a_limit_of_zero_sheds_everything() {
        let slots = Arc::new(Slots { in_flight: AtomicUsize::new(0), max_in_flight: 0 });
        assert!(Slot::take(&slots).is_none());
    }
}
