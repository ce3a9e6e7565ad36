//! gRPC retries as gRFC A6 ("gRPC Retry Design") specifies them, with
//! retry throttling (`maxTokens` 10, `tokenRatio` 0.1).
//!
//! Source: gRFC A6 and the project's FACTS.md ("backoff random(0,
//! min(initial x mult^(n-1), max)); throttling with maxTokens, tokenRatio
//! (e.g. 10, 0.1): each failure -1, success +ratio, retries stop at <=
//! maxTokens/2; pushback header grpc-retry-pushback-ms").
//!
//! gRPC has no default retry policy: retries are off until a service
//! config names one, and every field of it is required. The model uses the
//! policy of A6's own example, for every method: `maxAttempts` 4,
//! `initialBackoff` 0.1 s, `maxBackoff` 1 s, `backoffMultiplier` 2,
//! `retryableStatusCodes` `["UNAVAILABLE"]` (chosen; stated here because A6
//! gives no default).
//!
//! - The channel (one per client) holds `token_count`, starting at
//!   `maxTokens`. Each attempt that fails with a retryable code takes 1
//!   (down to 0); each success adds `tokenRatio` (up to `maxTokens`).
//!   Failures with other codes do not count.
//! - A retry is sent only while `token_count` is above `maxTokens / 2`.
//! - The wait before retry `n` (from 1) is `random(0, min(initialBackoff ×
//!   backoffMultiplier^(n−1), maxBackoff))`.
//! - Hints: only `grpc-retry-pushback-ms`, which the scenario servers do
//!   not send; `Retry-After` and RetryInfo are not read.
//! - The caller's timeout is the call's deadline: DEADLINE_EXCEEDED is not
//!   retried. A create is retried like any call (the service config
//!   applies to every method; no key).

use canon::Code;

use super::{AttemptSpec, Begin, CallSpec, ClientModel, Next, Random};
use crate::engine::{Nanos, seconds};
use crate::scenario::Fault;

/// `maxTokens`.
pub const MAX_TOKENS: f64 = 10.0;
/// `tokenRatio`.
pub const TOKEN_RATIO: f64 = 0.1;
/// `maxAttempts` (chosen: A6's example).
pub const MAX_ATTEMPTS: u32 = 4;
/// `initialBackoff`, in seconds (chosen: A6's example).
pub const INITIAL_BACKOFF: f64 = 0.1;
/// `maxBackoff`, in seconds (chosen: A6's example).
pub const MAX_BACKOFF: f64 = 1.0;
/// `backoffMultiplier` (chosen: A6's example).
pub const BACKOFF_MULTIPLIER: f64 = 2.0;

/// One gRPC channel.
#[derive(Debug, Clone)]
pub struct GrpcClient {
    tokens: f64,
    rng: Random,
}

impl GrpcClient {
    /// A channel with a full token count.
    pub fn new(seed: u64) -> GrpcClient {
        GrpcClient { tokens: MAX_TOKENS, rng: Random::new(seed) }
    }

    /// The token count.
    pub fn tokens(&self) -> f64 {
        self.tokens
    }
}

impl ClientModel for GrpcClient {
    type Request = u32;

    fn start(&mut self, _now: Nanos, _call: &CallSpec) -> u32 {
        0
    }

    fn begin(&mut self, _now: Nanos, attempts: &mut u32) -> Begin {
        *attempts += 1;
        Begin::Send(AttemptSpec::PLAIN)
    }

    fn succeeded(&mut self, _now: Nanos, _attempts: &mut u32) {
        self.tokens = (self.tokens + TOKEN_RATIO).min(MAX_TOKENS);
    }

    fn failed(&mut self, _now: Nanos, attempts: &mut u32, fault: &Fault) -> Next {
        if fault.grpc_code != Code::Unavailable {
            return Next::GiveUp;
        }
        self.tokens = (self.tokens - 1.0).max(0.0);
        if *attempts >= MAX_ATTEMPTS || self.tokens <= MAX_TOKENS / 2.0 {
            return Next::GiveUp;
        }
        let ceiling = (INITIAL_BACKOFF * BACKOFF_MULTIPLIER.powi(*attempts as i32 - 1)).min(MAX_BACKOFF);
        Next::Retry(seconds(self.rng.unit() * ceiling))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Response;

    #[test]
    fn throttling_stops_retries_at_half_the_tokens() {
        let mut client = GrpcClient::new(1);
        let outage = Fault::of(Response::Outage).unwrap();
        let call = CallSpec { create: false, regions: 1 };
        let mut sent = 0;
        for _ in 0..10 {
            let mut request = client.start(0, &call);
            client.begin(0, &mut request);
            sent += 1;
            while let Next::Retry(_) = client.failed(0, &mut request, &outage) {
                client.begin(0, &mut request);
                sent += 1;
            }
        }
        // 10 → 9, 8, 7, 6 (four attempts of the first call), then one
        // attempt each: 5, 4, 3, … with no retry.
        assert_eq!(sent, 4 + 9);
        assert_eq!(client.tokens(), 0.0);
        let mut request = client.start(0, &call);
        client.begin(0, &mut request);
        assert_eq!(client.failed(0, &mut request, &Fault::of(Response::Timeout).unwrap()), Next::GiveUp);
    }
}
