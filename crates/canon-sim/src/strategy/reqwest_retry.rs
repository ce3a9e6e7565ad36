//! reqwest-retry's `RetryTransientMiddleware` with the policy its
//! documentation builds: `ExponentialBackoff::builder().build_with_max_retries(3)`.
//!
//! Sources: reqwest-retry 0.7 (`DefaultRetryableStrategy`:
//! `default_on_request_success` retries a 5xx, a 408 or a 429;
//! `default_on_request_failure` retries timeouts, connection failures,
//! incomplete messages and resets), its crate documentation's example
//! policy, and retry-policies 0.4 (`ExponentialBackoffBuilder::default()`:
//! bounds [1 s, 30 min], base 2, `Jitter::Full`, which draws the wait
//! uniformly between 0 and the delay).
//!
//! - Up to 3 retries of a transient error, whatever the method.
//! - The wait before retry `n` (from 0) is `rand × min(1 s × 2^n, 30 min)`.
//! - `Retry-After` and RetryInfo are ignored (the middleware never reads
//!   them). No idempotency key.

use super::{CallSpec, ClientModel, Next, Random, doubling};
use crate::engine::{Nanos, seconds};
use crate::scenario::Fault;

/// The most retries (`build_with_max_retries(3)`).
pub const MAX_RETRIES: u32 = 3;
/// `min_retry_interval`, in seconds.
pub const MIN_RETRY_INTERVAL: f64 = 1.0;
/// `max_retry_interval`, in seconds.
pub const MAX_RETRY_INTERVAL: f64 = 1800.0;

/// One client with reqwest-retry.
#[derive(Debug, Clone)]
pub struct ReqwestRetryClient {
    rng: Random,
}

impl ReqwestRetryClient {
    /// A client.
    pub fn new(seed: u64) -> ReqwestRetryClient {
        ReqwestRetryClient { rng: Random::new(seed) }
    }
}

fn transient(fault: &Fault) -> bool {
    fault.transport.is_some() || matches!(fault.http_status, Some(408 | 429)) || fault.is_server_error()
}

impl ClientModel for ReqwestRetryClient {
    type Request = u32;

    fn start(&mut self, _now: Nanos, _call: &CallSpec) -> u32 {
        0
    }

    fn failed(&mut self, _now: Nanos, retries: &mut u32, fault: &Fault) -> Next {
        if !transient(fault) || *retries >= MAX_RETRIES {
            return Next::GiveUp;
        }
        let delay = doubling(MIN_RETRY_INTERVAL, *retries, MAX_RETRY_INTERVAL);
        *retries += 1;
        Next::Retry(seconds(self.rng.unit() * delay))
    }
}
