//! The async driver, on tokio: runs an operation under a [`Retrier`].
//!
//! The driver is a loop around the decision core (see [`crate::session`]):
//! begin an attempt, run it under its timeout, classify the error, ask the
//! session, sleep the wait, re-read state when told to, and go again. It
//! ends with the operation's output, or a [`RetryError`] that carries the
//! last error and every attempt.
//!
//! Time comes from a [`Timer`]. The default, [`TokioTimer`], reads and
//! sleeps on tokio's clock, which a test pauses
//! (`#[tokio::test(start_paused = true)]`) so that waits of minutes take
//! no real time and land on exact virtual instants.
//!
//! ```
//! use std::time::Duration;
//! use canon::{Code, Provider, Status};
//! use canon_retry::driver::Driver;
//! use canon_retry::{Call, Failure, Policy, Retrier};
//! use http::Method;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap().block_on(async {
//! let driver = Driver::new(Retrier::builder(Policy::cudo()).seed(7).build());
//! let started = tokio::time::Instant::now();
//!
//! // A server that answers 503 with `Retry-After: 2` once, then succeeds.
//! // (A fresh budget holds one retry; after that, retries are earned by
//! // traffic: see `canon_retry::budget`.)
//! let result = driver
//!     .run(Call::new(Method::GET), |attempt| async move {
//!         if attempt.number == 1 {
//!             let status = Status::new(Code::Unavailable, "Try again later.");
//!             Err(Failure::from_status(&status, Provider::Cudo, Some(503), Some(Duration::from_secs(2))))
//!         } else {
//!             Ok("vm-1")
//!         }
//!     })
//!     .await;
//! assert_eq!(result.unwrap(), "vm-1");
//! // One wait of the hint, on virtual time.
//! assert_eq!(started.elapsed(), Duration::from_secs(2));
//! # });
//! ```
//!
//! For operations that re-read state before a retry (ETags, ABORTED),
//! implement [`Operation`], whose [`refetch`](Operation::refetch) runs after
//! the wait and before the next attempt, with the same `&mut self` as the
//! attempts, so that it can update what they send.
//!
//! # Timeouts
//!
//! Each attempt runs under [`AttemptContext::timeout`]: the policy's
//! per-attempt timeout, or what is left of the deadline if that is less.
//! An attempt that runs out of time is dropped and counts as a transport
//! failure of kind [`TransportKind::Timeout`] (DEADLINE_EXCEEDED), retried
//! like one, idempotency permitting.

use std::future::Future;
use std::time::{Duration, Instant};

use tracing::Instrument;

use crate::call::{AttemptContext, Call};
use crate::clock::Clock;
use crate::history::RetryError;
use crate::outcome::{Classify, Failure, TransportKind};
use crate::session::{GiveUp, GiveUpReason, Retrier};

/// A clock that can also sleep.
pub trait Timer: Clock {
    /// Sleeps for `duration`.
    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send;
}

/// tokio's clock: virtual when the runtime's time is paused.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioTimer;

impl Clock for TokioTimer {
    fn now(&self) -> Instant {
        tokio::time::Instant::now().into_std()
    }
}

impl Timer for TokioTimer {
    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send {
        tokio::time::sleep(duration)
    }
}

/// Something to run, and re-read state for.
pub trait Operation {
    /// What a successful attempt gives.
    type Output;
    /// What a failed attempt gives; the engine reads it as a [`Failure`].
    type Error: Classify;

    /// Runs one attempt.
    fn attempt(&mut self, context: AttemptContext) -> impl Future<Output = Result<Self::Output, Self::Error>>;

    /// Re-reads the state the next attempt depends on (a fresh ETag after
    /// ABORTED). Runs after the wait, before the next attempt, when the
    /// decision asks for it. An error ends the request with
    /// [`GiveUpReason::RefetchFailed`]. Does nothing by default.
    fn refetch(&mut self) -> impl Future<Output = Result<(), Self::Error>> {
        std::future::ready(Ok(()))
    }
}

/// A closure as an [`Operation`] without a refetch.
struct FnOperation<F>(F);

impl<F, Fut, R, E> Operation for FnOperation<F>
where
    F: FnMut(AttemptContext) -> Fut,
    Fut: Future<Output = Result<R, E>>,
    E: Classify,
{
    type Output = R;
    type Error = E;

    fn attempt(&mut self, context: AttemptContext) -> impl Future<Output = Result<R, E>> {
        (self.0)(context)
    }
}

/// Runs operations under a [`Retrier`]. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct Driver<T = TokioTimer> {
    retrier: Retrier,
    timer: T,
}

impl Driver<TokioTimer> {
    /// A driver on tokio's clock.
    pub fn new(retrier: Retrier) -> Driver<TokioTimer> {
        Driver { retrier, timer: TokioTimer }
    }
}

impl<T: Timer> Driver<T> {
    /// A driver on another timer.
    pub fn with_timer(retrier: Retrier, timer: T) -> Driver<T> {
        Driver { retrier, timer }
    }

    /// The retrier.
    pub fn retrier(&self) -> &Retrier {
        &self.retrier
    }

    /// Runs a closure, one call per attempt, until it succeeds or the
    /// engine gives up.
    pub async fn run<F, Fut, R, E>(&self, call: Call, operation: F) -> Result<R, RetryError<E>>
    where
        F: FnMut(AttemptContext) -> Fut,
        Fut: Future<Output = Result<R, E>>,
        E: Classify,
    {
        self.run_operation(call, &mut FnOperation(operation)).await
    }

    /// Runs an [`Operation`] until it succeeds or the engine gives up.
    pub async fn run_operation<O: Operation>(
        &self,
        call: Call,
        operation: &mut O,
    ) -> Result<O::Output, RetryError<O::Error>> {
        let span = tracing::debug_span!(
            target: "canon_retry",
            "retry",
            method = %call.method(),
            policy = self.retrier.policy().name()
        );
        self.drive(call, operation).instrument(span).await
    }

    async fn drive<O: Operation>(&self, call: Call, operation: &mut O) -> Result<O::Output, RetryError<O::Error>> {
        let mut session = self.retrier.start(self.timer.now(), call);
        let mut last_error = None;
        loop {
            let context = match session.begin(self.timer.now()) {
                Ok(context) => context,
                Err(give_up) => return Err(RetryError::new(give_up, last_error, session.into_history())),
            };
            let timeout = context.timeout;
            let result = {
                let attempt = operation.attempt(context);
                let expiry = self.timer.sleep(timeout);
                tokio::select! {
                    biased;
                    result = attempt => Some(result),
                    () = expiry => None,
                }
            };
            let failure = match result {
                Some(Ok(output)) => {
                    session.succeeded(self.timer.now());
                    return Ok(output);
                }
                Some(Err(error)) => {
                    let failure = error.classify();
                    last_error = Some(error);
                    failure
                }
                None => {
                    last_error = None;
                    Failure::transport(TransportKind::Timeout)
                }
            };
            match session.failed(self.timer.now(), &failure) {
                Ok(retry) => {
                    self.timer.sleep(retry.wait).await;
                    if retry.refetch {
                        if let Err(error) = operation.refetch().await {
                            let give_up = GiveUp::new(GiveUpReason::RefetchFailed, session.attempts());
                            tracing::debug!(target: "canon_retry", "giving up: {}", give_up.reason);
                            return Err(RetryError::new(give_up, Some(error), session.into_history()));
                        }
                    }
                }
                Err(give_up) => return Err(RetryError::new(give_up, last_error, session.into_history())),
            }
        }
    }
}
