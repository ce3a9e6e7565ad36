//! backon's `ExponentialBuilder::default()`, retrying every error.
//!
//! Source: backon 1.x (`ExponentialBuilder` defaults: `jitter: false`,
//! `factor: 2`, `min_delay: 1s`, `max_delay: 60s`, `max_times: 3`). backon
//! retries whatever the closure returns as an error unless `when` narrows
//! it; the model takes every failure as an error (a non-2xx status mapped
//! to one, as `error_for_status` does), for every method.
//!
//! - Up to 3 retries; the wait before retry `n` (from 0) is `min(1 s ×
//!   2^n, 60 s)`, the same for every client: no jitter.
//! - Hints are ignored. No idempotency key.

use super::{CallSpec, ClientModel, Next, doubling};
use crate::engine::{Nanos, seconds};
use crate::scenario::Fault;

/// `max_times`.
pub const MAX_TIMES: u32 = 3;
/// `min_delay`, in seconds.
pub const MIN_DELAY: f64 = 1.0;
/// `max_delay`, in seconds.
pub const MAX_DELAY: f64 = 60.0;

/// One client with backon.
#[derive(Debug, Clone, Default)]
pub struct BackonClient;

impl ClientModel for BackonClient {
    type Request = u32;

    fn start(&mut self, _now: Nanos, _call: &CallSpec) -> u32 {
        0
    }

    fn failed(&mut self, _now: Nanos, retries: &mut u32, _fault: &Fault) -> Next {
        if *retries >= MAX_TIMES {
            return Next::GiveUp;
        }
        let delay = doubling(MIN_DELAY, *retries, MAX_DELAY);
        *retries += 1;
        Next::Retry(seconds(delay))
    }
}
