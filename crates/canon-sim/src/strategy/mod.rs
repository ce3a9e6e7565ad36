//! The strategies: canon, and small models of its peers.
//!
//! canon's two strategies run canon-retry's real decision core
//! ([`Retrier`](canon_retry::Retrier) and [`Session`](canon_retry::Session)
//! on virtual time); nothing of it is re-implemented here. Each peer is a
//! small model of its documented algorithm and defaults, in its own module,
//! whose doc comment says where each number comes from (and which numbers
//! had to be chosen because the peer has no default).
//!
//! | name | algorithm | per-client state | hints |
//! |------|-----------|------------------|-------|
//! | `canon-cudo` | [`Policy::cudo()`](canon_retry::Policy::cudo) + default budget | budget | RetryInfo, `Retry-After` |
//! | `canon-default` | [`Policy::default()`](canon_retry::Policy::default) + default budget | budget | RetryInfo, `Retry-After` |
//! | `no-retry` | one attempt | none | — |
//! | `naive-3` | three immediate retries of anything | none | ignored |
//! | `aws-standard` | 3 attempts, full jitter, 500-token quota | token bucket | ignored |
//! | `stainless` | 2 retries, 0.5 s × 2ⁿ capped at 8 s, −25 % jitter | none | `Retry-After` in (0, 60] s |
//! | `grpc-a6` | A6 retry policy, throttling (10, 0.1) | token count | ignored (pushback only) |
//! | `tower-tps-budget` | tower's documented policy with `TpsBudget::default()` | 10 s sliding budget | ignored |
//! | `reqwest-retry` | `ExponentialBackoff::builder().build_with_max_retries(3)` | none | ignored |
//! | `gax-throttler` | google-cloud-gax defaults: AIP-194 strict, 10 attempts, 60 s, `AdaptiveThrottler::default()` | throttler | ignored |
//! | `backon` | `ExponentialBuilder::default()` | none | ignored |
//!
//! Idempotency: canon retries a create only with a key, which it generates
//! ([`Call::with_generated_key`](canon_retry::Call::with_generated_key));
//! the AWS SDKs fill in an idempotency token where the API models one;
//! gax retries only idempotent calls; every other peer retries a create
//! like any request, without a key.

use std::fmt;
use std::str::FromStr;

use canon_retry::{RandomSource, SplitMix64};

use crate::engine::Nanos;
use crate::scenario::Fault;

pub mod aws;
pub mod backon;
pub mod canon;
pub mod gax;
pub mod grpc;
pub mod naive;
pub mod no_retry;
pub mod reqwest_retry;
pub mod stainless;
pub mod tower;

/// A retry strategy. See the [module docs](self).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Strategy {
    /// canon-retry with [`Policy::cudo()`](canon_retry::Policy::cudo).
    CanonCudo,
    /// canon-retry with [`Policy::default()`](canon_retry::Policy::default).
    CanonDefault,
    /// One attempt.
    NoRetry,
    /// Three immediate retries.
    Naive3,
    /// AWS SDK standard mode.
    AwsStandard,
    /// The Stainless SDK defaults (the `gcore` SDK).
    Stainless,
    /// gRPC A6 retries with throttling.
    GrpcA6,
    /// tower's retry with `TpsBudget`.
    TowerTpsBudget,
    /// reqwest-retry's default.
    ReqwestRetry,
    /// google-cloud-gax's defaults with its default throttler.
    GaxThrottler,
    /// backon's default exponential backoff.
    Backon,
}

impl Strategy {
    /// Every strategy: canon first, then the baselines, then the peers.
    pub const ALL: [Strategy; 11] = [
        Strategy::CanonCudo,
        Strategy::CanonDefault,
        Strategy::NoRetry,
        Strategy::Naive3,
        Strategy::AwsStandard,
        Strategy::Stainless,
        Strategy::GrpcA6,
        Strategy::TowerTpsBudget,
        Strategy::ReqwestRetry,
        Strategy::GaxThrottler,
        Strategy::Backon,
    ];

    /// The stable name, such as `canon-cudo`.
    pub const fn name(self) -> &'static str {
        match self {
            Strategy::CanonCudo => "canon-cudo",
            Strategy::CanonDefault => "canon-default",
            Strategy::NoRetry => "no-retry",
            Strategy::Naive3 => "naive-3",
            Strategy::AwsStandard => "aws-standard",
            Strategy::Stainless => "stainless",
            Strategy::GrpcA6 => "grpc-a6",
            Strategy::TowerTpsBudget => "tower-tps-budget",
            Strategy::ReqwestRetry => "reqwest-retry",
            Strategy::GaxThrottler => "gax-throttler",
            Strategy::Backon => "backon",
        }
    }

    /// Whether this is one of canon's strategies.
    pub const fn is_canon(self) -> bool {
        matches!(self, Strategy::CanonCudo | Strategy::CanonDefault)
    }

    /// Whether this is a baseline (no retry, or naive retries) rather than
    /// a library's algorithm.
    pub const fn is_baseline(self) -> bool {
        matches!(self, Strategy::NoRetry | Strategy::Naive3)
    }

    /// Whether this is a peer library's algorithm.
    pub const fn is_peer(self) -> bool {
        !self.is_canon() && !self.is_baseline()
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is no strategy's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownStrategy(pub String);

impl fmt::Display for UnknownStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = Strategy::ALL.iter().map(|s| s.name()).collect();
        write!(f, "unknown strategy `{}` (expected one of: {}, all)", self.0, names.join(", "))
    }
}

impl std::error::Error for UnknownStrategy {}

impl FromStr for Strategy {
    type Err = UnknownStrategy;

    fn from_str(s: &str) -> Result<Strategy, UnknownStrategy> {
        Strategy::ALL.into_iter().find(|strategy| strategy.name() == s).ok_or_else(|| UnknownStrategy(s.to_owned()))
    }
}

/// What a logical request is, as a client library sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallSpec {
    /// A create (POST) rather than a read (GET).
    pub create: bool,
    /// How many regions the caller accepts (region-0 first).
    pub regions: usize,
}

/// What to do for the next attempt of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Begin {
    /// Send it.
    Send(AttemptSpec),
    /// Not yet: look again after this long (a throttled retry that the
    /// library keeps in its loop).
    Wait(Nanos),
    /// Stop: the request has failed.
    GiveUp,
}

/// One attempt, as sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptSpec {
    /// Whether it carries the request's idempotency key.
    pub key: bool,
    /// The region it goes to.
    pub region: usize,
    /// The library's own timeout for it, if any.
    pub timeout: Option<Nanos>,
}

impl AttemptSpec {
    /// An attempt to region-0, without a key or a timeout of its own.
    pub const PLAIN: AttemptSpec = AttemptSpec { key: false, region: 0, timeout: None };
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Wait this long, then begin the next attempt.
    Retry(Nanos),
    /// Stop: the request has failed.
    GiveUp,
}

/// One client's retry library: what its requests share (a budget, a token
/// bucket, a throttle) and how it drives each request.
pub trait ClientModel {
    /// The state of one logical request.
    type Request;

    /// A logical request starts at `now`.
    fn start(&mut self, now: Nanos, call: &CallSpec) -> Self::Request;

    /// Before each attempt (the first included). By default every attempt
    /// is sent as it is: no key, no placement, no throttling.
    fn begin(&mut self, now: Nanos, request: &mut Self::Request) -> Begin {
        let _ = (now, request);
        Begin::Send(AttemptSpec::PLAIN)
    }

    /// The current attempt succeeded. By default the model learns nothing
    /// from it.
    fn succeeded(&mut self, now: Nanos, request: &mut Self::Request) {
        let _ = (now, request);
    }

    /// The current attempt failed with `fault`.
    fn failed(&mut self, now: Nanos, request: &mut Self::Request, fault: &Fault) -> Next;
}

/// The random source of a peer model: SplitMix64, as canon-retry's.
#[derive(Debug, Clone)]
pub struct Random(SplitMix64);

impl Random {
    /// A source seeded with `seed`.
    pub fn new(seed: u64) -> Random {
        Random(SplitMix64::new(seed))
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        self.0.next_unit()
    }

    /// Uniform in `[0, 1]`, as `rand`'s inclusive ranges draw.
    pub fn unit_inclusive(&mut self) -> f64 {
        (self.0.next_u64() >> 11) as f64 / ((1u64 << 53) - 1) as f64
    }

    /// Exponentially distributed with rate `rate` (per second), in
    /// nanoseconds: a Poisson process's gap.
    pub fn exponential(&mut self, rate: f64) -> Nanos {
        let u = self.unit();
        crate::engine::seconds(-(1.0 - u).ln() / rate)
    }
}

/// A seed for one stream of one run, mixed so that nearby inputs give
/// unrelated streams.
pub fn mix_seed(parts: &[u64]) -> u64 {
    let mut state = 0x243F_6A88_85A3_08D3u64;
    for part in parts {
        let mut rng = SplitMix64::new(state ^ part.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        state = rng.next_u64();
    }
    state
}

/// `base × 2^n` seconds, capped at `cap` seconds.
pub(crate) fn doubling(base: f64, n: u32, cap: f64) -> f64 {
    (base * 2f64.powi(n.min(62) as i32)).min(cap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for strategy in Strategy::ALL {
            assert_eq!(strategy.name().parse::<Strategy>(), Ok(strategy));
        }
        assert!("nope".parse::<Strategy>().unwrap_err().to_string().contains("canon-cudo"));
    }

    #[test]
    fn every_strategy_is_one_kind() {
        for strategy in Strategy::ALL {
            let kinds = [strategy.is_canon(), strategy.is_baseline(), strategy.is_peer()];
            assert_eq!(kinds.iter().filter(|k| **k).count(), 1, "{strategy}");
        }
    }

    #[test]
    fn seeds_differ_by_stream() {
        assert_ne!(mix_seed(&[1, 0, 0]), mix_seed(&[1, 0, 1]));
        assert_eq!(mix_seed(&[1, 2, 3]), mix_seed(&[1, 2, 3]));
    }
}
