//! AWS SDK standard retry mode.
//!
//! Sources: the AWS SDKs and Tools reference guide ("Retry behavior",
//! standard mode), the smithy-rs `StandardRetryStrategy` configuration
//! (`aws-smithy-runtime`: `retry_cost: 5`, `timeout_retry_cost: 10`,
//! `no_retry_increment: 1`, `max_attempts: 3`, `initial_backoff: 1 s`,
//! `max_backoff: 20 s`, a random base for the backoff) and the project's
//! FACTS.md ("retry quota token bucket 500, cost 5 per retry (10 for
//! timeouts), +1 on success; 3 attempts; full jitter").
//!
//! - Each client (an SDK client, one per process) has a retry quota of
//!   500 tokens, full at start.
//! - A retryable failure (a 500, 502, 503 or 504, a throttling error such
//!   as 429, a timeout or another transport error) is retried if fewer
//!   than 3 attempts were made and the quota holds the retry's cost: 5
//!   tokens, 10 after a timeout. The cost is taken from the quota.
//! - The wait before retry `n` (from 1) is `rand[0,1) × 1 s × 2^(n−1)`,
//!   capped at 20 s.
//! - A success returns the cost of the retry that succeeded to the quota;
//!   a success at the first attempt adds 1 token, up to 500.
//! - Hints are ignored: the standard mode's classifiers read no
//!   `Retry-After` and no RetryInfo.
//! - A create carries an idempotency token: the SDKs fill in the
//!   `idempotencyToken` member of operations that model one (such as EC2's
//!   `ClientToken`), so the model sends a key.

use super::{AttemptSpec, Begin, CallSpec, ClientModel, Next, Random, doubling};
use crate::engine::{Nanos, seconds};
use crate::scenario::Fault;

/// The quota's size, and its level at start.
pub const QUOTA: u32 = 500;
/// The cost of a retry.
pub const RETRY_COST: u32 = 5;
/// The cost of a retry after a timeout.
pub const TIMEOUT_RETRY_COST: u32 = 10;
/// What a success at the first attempt adds.
pub const NO_RETRY_INCREMENT: u32 = 1;
/// The most attempts of one request.
pub const MAX_ATTEMPTS: u32 = 3;
/// The first backoff delay, in seconds.
pub const INITIAL_BACKOFF: f64 = 1.0;
/// The longest backoff delay, in seconds.
pub const MAX_BACKOFF: f64 = 20.0;

/// One AWS SDK client.
#[derive(Debug, Clone)]
pub struct AwsClient {
    quota: u32,
    rng: Random,
}

/// One AWS request.
#[derive(Debug, Clone)]
pub struct AwsRequest {
    attempts: u32,
    create: bool,
    /// The cost of the last retry, returned if it succeeds.
    acquired: Option<u32>,
}

impl AwsClient {
    /// A client with a full quota.
    pub fn new(seed: u64) -> AwsClient {
        AwsClient { quota: QUOTA, rng: Random::new(seed) }
    }

    /// The tokens left in the quota.
    pub fn quota(&self) -> u32 {
        self.quota
    }
}

fn retryable(fault: &Fault) -> bool {
    fault.transport.is_some() || matches!(fault.http_status, Some(429 | 500 | 502 | 503 | 504))
}

impl ClientModel for AwsClient {
    type Request = AwsRequest;

    fn start(&mut self, _now: Nanos, call: &CallSpec) -> AwsRequest {
        AwsRequest { attempts: 0, create: call.create, acquired: None }
    }

    fn begin(&mut self, _now: Nanos, request: &mut AwsRequest) -> Begin {
        request.attempts += 1;
        Begin::Send(AttemptSpec { key: request.create, ..AttemptSpec::PLAIN })
    }

    fn succeeded(&mut self, _now: Nanos, request: &mut AwsRequest) {
        let back = request.acquired.unwrap_or(NO_RETRY_INCREMENT);
        self.quota = (self.quota + back).min(QUOTA);
    }

    fn failed(&mut self, _now: Nanos, request: &mut AwsRequest, fault: &Fault) -> Next {
        if !retryable(fault) || request.attempts >= MAX_ATTEMPTS {
            return Next::GiveUp;
        }
        let cost =
            if fault.transport == Some(canon_retry::TransportKind::Timeout) { TIMEOUT_RETRY_COST } else { RETRY_COST };
        if self.quota < cost {
            return Next::GiveUp;
        }
        self.quota -= cost;
        request.acquired = Some(cost);
        let delay = doubling(INITIAL_BACKOFF, request.attempts - 1, f64::MAX);
        Next::Retry(seconds((self.rng.unit() * delay).min(MAX_BACKOFF)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Response;

    #[test]
    fn an_outage_spends_a_hundred_retries_then_none() {
        let mut client = AwsClient::new(1);
        let outage = Fault::of(Response::Outage).unwrap();
        let call = CallSpec { create: false, regions: 1 };
        let mut retries = 0;
        for _ in 0..200 {
            let mut request = client.start(0, &call);
            client.begin(0, &mut request);
            while let Next::Retry(_) = client.failed(0, &mut request, &outage) {
                retries += 1;
                client.begin(0, &mut request);
            }
        }
        assert_eq!(retries, QUOTA / RETRY_COST);
        assert_eq!(client.quota(), 0);
    }
}
