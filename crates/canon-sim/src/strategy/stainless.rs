//! The Stainless-generated SDKs' defaults, as in the `gcore` Python SDK.
//!
//! Source: the SDK's `_base_client.py` (`DEFAULT_MAX_RETRIES = 2`,
//! `INITIAL_RETRY_DELAY = 0.5`, `MAX_RETRY_DELAY = 8.0`,
//! `_should_retry`, `_calculate_retry_timeout`) and the project's FACTS.md
//! ("Retries 2 times on 408, 409, 429, >=500 and connection errors;
//! 0.5 s x 2^n capped at 8 s, times 0.75..1.0; honours retry-after-ms,
//! then retry-after (seconds or HTTP date) when 0..60 s").
//!
//! - Up to 2 retries of a 408, 409, 429 or any 5xx, a timeout or a
//!   connection error, whatever the method (the SDK does not look at it).
//! - The wait: the `retry-after-ms` or `retry-after` header when it is in
//!   (0, 60] s; otherwise `min(0.5 s × 2^n, 8 s) × (1 − 0.25 × rand)` for
//!   the `n`-th retry from 0. RetryInfo in the body is not read.
//! - No idempotency key: the `gcore` SDK configures no idempotency header.

use super::{CallSpec, ClientModel, Next, Random, doubling};
use crate::engine::{Nanos, nanos, seconds};
use crate::scenario::Fault;

/// The most retries of one request.
pub const MAX_RETRIES: u32 = 2;
/// The first delay, in seconds.
pub const INITIAL_RETRY_DELAY: f64 = 0.5;
/// The longest delay, in seconds.
pub const MAX_RETRY_DELAY: f64 = 8.0;
/// The longest `Retry-After` followed, in seconds.
pub const MAX_RETRY_AFTER: f64 = 60.0;

/// One Stainless SDK client.
#[derive(Debug, Clone)]
pub struct StainlessClient {
    rng: Random,
}

impl StainlessClient {
    /// A client.
    pub fn new(seed: u64) -> StainlessClient {
        StainlessClient { rng: Random::new(seed) }
    }
}

fn retryable(fault: &Fault) -> bool {
    fault.transport.is_some() || matches!(fault.http_status, Some(408 | 409 | 429)) || fault.is_server_error()
}

impl ClientModel for StainlessClient {
    type Request = u32;

    fn start(&mut self, _now: Nanos, _call: &CallSpec) -> u32 {
        0
    }

    fn failed(&mut self, _now: Nanos, retries: &mut u32, fault: &Fault) -> Next {
        if !retryable(fault) || *retries >= MAX_RETRIES {
            return Next::GiveUp;
        }
        let header = fault.retry_after.filter(|d| !d.is_zero() && d.as_secs_f64() <= MAX_RETRY_AFTER);
        let wait = match header {
            Some(after) => nanos(after),
            None => {
                let delay = doubling(INITIAL_RETRY_DELAY, *retries, MAX_RETRY_DELAY);
                seconds(delay * (1.0 - 0.25 * self.rng.unit()))
            }
        };
        *retries += 1;
        Next::Retry(wait)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::SECOND;
    use crate::scenario::Response;

    #[test]
    fn follows_retry_after_and_backs_off_without_it() {
        let mut client = StainlessClient::new(3);
        let mut retries = 0;
        assert_eq!(client.failed(0, &mut retries, &Fault::of(Response::Outage).unwrap()), Next::Retry(SECOND));
        let Next::Retry(wait) = client.failed(0, &mut retries, &Fault::of(Response::Shed).unwrap()) else { panic!() };
        assert!((750_000_000..=1_000_000_000).contains(&wait), "{wait}");
        assert_eq!(client.failed(0, &mut retries, &Fault::of(Response::Shed).unwrap()), Next::GiveUp);
    }
}
