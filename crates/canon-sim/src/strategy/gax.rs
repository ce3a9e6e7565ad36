//! google-cloud-gax (the Rust `google-cloud-rust` libraries) with its
//! defaults: the AIP-194 strict retry policy limited to 10 attempts and
//! 60 s, exponential backoff, and the default retry throttler.
//!
//! Sources (google-cloud-rust, `src/gax` and `src/gax-internal`):
//!
//! - `ClientConfig::default()` sets `retry_throttler` to
//!   `AdaptiveThrottler::default()`, which is `AdaptiveThrottler::clamp(2.0)`:
//!   the SRE book's adaptive throttling with factor 2 and counts that never
//!   decay (`request_count`, `accept_count`, plain `f64`s). The throttler
//!   is per client.
//! - The HTTP client's default retry policy is
//!   `Aip194Strict.with_attempt_limit(10).with_time_limit(60 s)`: retry
//!   UNAVAILABLE (or HTTP 503) and I/O errors, and only for idempotent
//!   calls; everything else is permanent.
//! - The default backoff is `ExponentialBackoff::default()`: the delay
//!   after attempt `n` (from 1) is drawn uniformly from
//!   `[0, min(1 s × 2^(n−1), 60 s)]`.
//! - The retry loop (`retry_loop_internal`): after each failed attempt the
//!   throttler counts a request (and an accept if the error is
//!   permanent); a success counts both. Before each retry, after its
//!   sleep, the throttler rejects it with probability
//!   `max(0, (requests − 2 × accepts) / (requests + 1))`; a rejected retry
//!   is not sent, counts as an error for the policy, and the loop sleeps a
//!   new backoff for the same attempt and asks again, until the policy's
//!   time limit. A retry whose delay would end past the time limit is not
//!   made. First attempts are never throttled.
//! - Hints are ignored (the loop sleeps what the backoff policy says). A
//!   create is not idempotent: never retried.

use super::{AttemptSpec, Begin, CallSpec, ClientModel, Next, Random, doubling};
use crate::engine::{Nanos, seconds};
use crate::scenario::Fault;

/// The throttler's factor.
pub const FACTOR: f64 = 2.0;
/// The most attempts of one request.
pub const ATTEMPT_LIMIT: u32 = 10;
/// The longest a request retries, in seconds.
pub const TIME_LIMIT: f64 = 60.0;
/// The first backoff delay, in seconds.
pub const INITIAL_DELAY: f64 = 1.0;
/// The longest backoff delay, in seconds.
pub const MAXIMUM_DELAY: f64 = 60.0;

/// One gax client with its default throttler.
#[derive(Debug, Clone)]
pub struct GaxClient {
    requests: f64,
    accepts: f64,
    rng: Random,
}

/// One gax request.
#[derive(Debug, Clone)]
pub struct GaxRequest {
    started: Nanos,
    attempts: u32,
    idempotent: bool,
}

impl GaxClient {
    /// A client whose throttler has seen nothing.
    pub fn new(seed: u64) -> GaxClient {
        GaxClient { requests: 0.0, accepts: 0.0, rng: Random::new(seed) }
    }

    fn reject_probability(&self) -> f64 {
        ((self.requests - FACTOR * self.accepts) / (self.requests + 1.0)).max(0.0)
    }

    /// The backoff after `attempts` attempts, or `None` when it would end
    /// past the time limit.
    fn delay(&mut self, now: Nanos, request: &GaxRequest) -> Option<Nanos> {
        let ceiling = doubling(INITIAL_DELAY, request.attempts.saturating_sub(1), MAXIMUM_DELAY);
        let delay = seconds(self.rng.unit_inclusive() * ceiling);
        let remaining = (request.started + seconds(TIME_LIMIT)).saturating_sub(now);
        (delay <= remaining).then_some(delay)
    }
}

impl ClientModel for GaxClient {
    type Request = GaxRequest;

    fn start(&mut self, now: Nanos, call: &CallSpec) -> GaxRequest {
        GaxRequest { started: now, attempts: 0, idempotent: !call.create }
    }

    fn begin(&mut self, now: Nanos, request: &mut GaxRequest) -> Begin {
        if request.attempts > 0 && self.rng.unit_inclusive() <= self.reject_probability() {
            // Throttled: an error for the policy, then another backoff.
            if now >= request.started + seconds(TIME_LIMIT) || request.attempts >= ATTEMPT_LIMIT {
                return Begin::GiveUp;
            }
            return match self.delay(now, request) {
                Some(delay) => Begin::Wait(delay.max(1)),
                None => Begin::GiveUp,
            };
        }
        request.attempts += 1;
        Begin::Send(AttemptSpec::PLAIN)
    }

    fn succeeded(&mut self, _now: Nanos, _request: &mut GaxRequest) {
        self.requests += 1.0;
        self.accepts += 1.0;
    }

    fn failed(&mut self, now: Nanos, request: &mut GaxRequest, fault: &Fault) -> Next {
        let transient = fault.transport.is_some() || fault.http_status == Some(503);
        let permanent = !request.idempotent || !transient;
        self.requests += 1.0;
        if permanent {
            self.accepts += 1.0;
            return Next::GiveUp;
        }
        let elapsed = now.saturating_sub(request.started);
        if request.attempts >= ATTEMPT_LIMIT || elapsed >= seconds(TIME_LIMIT) {
            return Next::GiveUp;
        }
        match self.delay(now, request) {
            Some(delay) => Next::Retry(delay),
            None => Next::GiveUp,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::SECOND;
    use crate::scenario::Response;

    #[test]
    fn a_warm_throttler_lets_retries_through_until_failures_double_the_accepts() {
        let mut client = GaxClient::new(1);
        let call = CallSpec { create: false, regions: 1 };
        for _ in 0..10 {
            let mut request = client.start(0, &call);
            client.begin(0, &mut request);
            client.succeeded(0, &mut request);
        }
        assert_eq!(client.reject_probability(), 0.0);
        let outage = Fault::of(Response::Outage).unwrap();
        for _ in 0..30 {
            let mut request = client.start(0, &call);
            client.begin(0, &mut request);
            client.failed(0, &mut request, &outage);
        }
        // (40 − 2 × 10) / 41
        assert!((client.reject_probability() - 20.0 / 41.0).abs() < 1e-12);
    }

    #[test]
    fn creates_are_never_retried() {
        let mut client = GaxClient::new(1);
        let mut request = client.start(0, &CallSpec { create: true, regions: 1 });
        client.begin(0, &mut request);
        assert_eq!(client.failed(SECOND, &mut request, &Fault::of(Response::Reset).unwrap()), Next::GiveUp);
    }
}
