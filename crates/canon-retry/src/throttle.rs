//! Client-side adaptive throttling (Google SRE book, "Handling Overload"),
//! with a cap on its rejection rate. Optional.
//!
//! Each client keeps two counts over a recent window: `requests` (every
//! attempt it wanted to send, those it rejected itself included) and
//! `accepts` (attempts the backend accepted: anything but an overload
//! answer, see [`Failure::is_overload`](crate::Failure::is_overload)). It
//! rejects an attempt locally, without sending it, with probability
//!
//! ```text
//! p = min(cap, max(0, (requests − K × accepts) / (requests + 1)))
//! ```
//!
//! With K = 2 the backend sees about twice the traffic it accepts: when it
//! rejects everything, the client sends only what the cap lets through
//! (the probes that find out it has recovered), and rejected attempts fail
//! at once, without a round trip.
//!
//! Unlike the [retry budget](crate::budget), which only limits retries,
//! the throttle also rejects first attempts. That makes recovery slower:
//! after a long outage it keeps rejecting until accepts have caught up
//! with half the requests in the window. With the counts decaying with
//! time constant `w` and the cap `c`, the rejection rate stays at the cap
//! for `w × ln 2`, then falls to zero after a further `w × ln(1 / (1 −
//! c))`: `w × ln(2 / (1 − c))` in all, about 42 s with the defaults (K 2,
//! window 30 s, cap 0.5). That is why the throttle is off unless a
//! [`Retrier`](crate::Retrier) is given one, and why its cap matters: a
//! higher cap sheds more load during an outage and recovers more slowly.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use canon_retry::{AdaptiveThrottle, ThrottleConfig};
//!
//! let throttle = AdaptiveThrottle::new(ThrottleConfig::new(2.0, Duration::from_secs(30), 0.5).unwrap());
//! let now = Instant::now();
//! for _ in 0..99 {
//!     throttle.record_request(now);
//! }
//! for _ in 0..30 {
//!     throttle.record_accepted(now);
//! }
//! // (99 − 2 × 30) / (99 + 1)
//! assert!((throttle.rejection_probability(now) - 0.39).abs() < 1e-9);
//! ```

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::policy::{PolicyError, PolicyErrorKind};
use crate::random::RandomSource;

/// A validated throttle configuration. See the [module docs](self).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThrottleConfig {
    k: f64,
    window: Duration,
    max_rejection: f64,
}

impl ThrottleConfig {
    /// A throttle with multiplier `k` (at least 1), counts decaying with
    /// time constant `window` (not zero), and rejection probability capped
    /// at `max_rejection` (in `[0, 1)`, so that probes always get through).
    pub fn new(k: f64, window: Duration, max_rejection: f64) -> Result<ThrottleConfig, PolicyError> {
        if !(k.is_finite() && k >= 1.0) {
            return Err(PolicyError::new(
                PolicyErrorKind::ThrottleMultiplierOutOfRange,
                format!("the throttle multiplier K must be at least 1, got {k}"),
            ));
        }
        if window.is_zero() {
            return Err(PolicyError::new(PolicyErrorKind::ThrottleWindowZero, "the throttle window is zero"));
        }
        if !(max_rejection.is_finite() && (0.0..1.0).contains(&max_rejection)) {
            return Err(PolicyError::new(
                PolicyErrorKind::ThrottleCapOutOfRange,
                format!("the cap on the rejection rate must be in [0, 1), got {max_rejection}"),
            ));
        }
        Ok(ThrottleConfig { k, window, max_rejection })
    }

    /// The multiplier K.
    pub fn k(&self) -> f64 {
        self.k
    }

    /// The time constant of the counts.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// The cap on the rejection probability.
    pub fn max_rejection(&self) -> f64 {
        self.max_rejection
    }
}

impl Default for ThrottleConfig {
    /// K 2, window 30 s, cap 0.5.
    fn default() -> ThrottleConfig {
        ThrottleConfig { k: 2.0, window: Duration::from_secs(30), max_rejection: 0.5 }
    }
}

/// Client-side adaptive throttling, shared through an `Arc` like a budget.
/// See the [module docs](self).
#[derive(Debug)]
pub struct AdaptiveThrottle {
    config: ThrottleConfig,
    state: Mutex<ThrottleState>,
}

#[derive(Debug, Default)]
struct ThrottleState {
    requests: f64,
    accepts: f64,
    updated: Option<Instant>,
}

impl AdaptiveThrottle {
    /// A throttle with empty counts.
    pub fn new(config: ThrottleConfig) -> AdaptiveThrottle {
        AdaptiveThrottle { config, state: Mutex::new(ThrottleState::default()) }
    }

    /// The configuration.
    pub fn config(&self) -> ThrottleConfig {
        self.config
    }

    fn with_state<T>(&self, now: Instant, f: impl FnOnce(&mut ThrottleState) -> T) -> T {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        match state.updated {
            None => state.updated = Some(now),
            Some(updated) if now > updated => {
                let decay = (-(now - updated).as_secs_f64() / self.config.window.as_secs_f64()).exp();
                state.requests *= decay;
                state.accepts *= decay;
                state.updated = Some(now);
            }
            Some(_) => {}
        }
        f(&mut state)
    }

    fn probability(&self, state: &ThrottleState) -> f64 {
        let p = (state.requests - self.config.k * state.accepts) / (state.requests + 1.0);
        p.clamp(0.0, self.config.max_rejection)
    }

    /// The probability that the next attempt is rejected locally.
    pub fn rejection_probability(&self, now: Instant) -> f64 {
        self.with_state(now, |state| self.probability(state))
    }

    /// The decayed counts `(requests, accepts)` at `now`.
    pub fn counts(&self, now: Instant) -> (f64, f64) {
        self.with_state(now, |state| (state.requests, state.accepts))
    }

    /// Asks to send an attempt: counts it as a request, then draws against
    /// the rejection probability. `false` means reject it locally.
    pub fn admit(&self, now: Instant, rng: &mut dyn RandomSource) -> bool {
        self.with_state(now, |state| {
            let p = self.probability(state);
            state.requests += 1.0;
            rng.next_unit() >= p
        })
    }

    /// Counts a request without a draw (for callers that decide themselves).
    pub fn record_request(&self, now: Instant) {
        self.with_state(now, |state| state.requests += 1.0);
    }

    /// Counts an attempt the backend accepted.
    pub fn record_accepted(&self, now: Instant) {
        self.with_state(now, |state| state.accepts += 1.0);
    }
}

impl Default for AdaptiveThrottle {
    fn default() -> AdaptiveThrottle {
        AdaptiveThrottle::new(ThrottleConfig::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::{ConstantRandom, SplitMix64};

    fn throttle(cap: f64) -> AdaptiveThrottle {
        AdaptiveThrottle::new(ThrottleConfig::new(2.0, Duration::from_secs(30), cap).unwrap())
    }

    #[test]
    fn probability_follows_the_sre_formula_up_to_the_cap() {
        // (requests, accepts, cap, expected)
        let table = [
            (0, 0, 0.5, 0.0),
            (10, 5, 0.9, 0.0),
            (10, 10, 0.9, 0.0),
            (99, 30, 0.9, 0.39),
            (99, 0, 0.9, 0.9),
            (99, 0, 0.5, 0.5),
            (1, 0, 0.9, 0.5),
        ];
        let now = Instant::now();
        for (requests, accepts, cap, expected) in table {
            let throttle = throttle(cap);
            for _ in 0..requests {
                throttle.record_request(now);
            }
            for _ in 0..accepts {
                throttle.record_accepted(now);
            }
            let p = throttle.rejection_probability(now);
            assert!((p - expected).abs() < 1e-9, "{requests} {accepts} {cap}: {p}");
        }
    }

    #[test]
    fn admit_draws_against_the_probability_and_counts_the_request() {
        let now = Instant::now();
        for (draw, admitted) in [(0.49, false), (0.5, true), (0.9, true)] {
            let throttle = throttle(0.5);
            for _ in 0..99 {
                throttle.record_request(now);
            }
            assert_eq!(throttle.admit(now, &mut ConstantRandom::new(draw)), admitted, "{draw}");
            assert_eq!(throttle.counts(now), (100.0, 0.0));
        }
    }

    #[test]
    fn the_cap_lets_probes_through_in_a_full_outage() {
        let throttle = throttle(0.5);
        let mut rng = SplitMix64::new(5);
        let start = Instant::now();
        let mut sent = 0;
        for i in 0..10_000u64 {
            if throttle.admit(start + Duration::from_millis(10 * i), &mut rng) {
                sent += 1;
            }
        }
        assert!((4_500..=5_500).contains(&sent), "{sent}");
    }

    #[test]
    fn counts_decay_with_the_window() {
        let throttle = throttle(0.5);
        let now = Instant::now();
        throttle.record_request(now);
        throttle.record_accepted(now);
        let (requests, accepts) = throttle.counts(now + Duration::from_secs(30));
        assert!((requests - (-1.0f64).exp()).abs() < 1e-12);
        assert!((accepts - (-1.0f64).exp()).abs() < 1e-12);
    }

    #[test]
    fn rejects_nonsense() {
        let window = Duration::from_secs(1);
        let table = [
            (ThrottleConfig::new(0.5, window, 0.5), PolicyErrorKind::ThrottleMultiplierOutOfRange),
            (ThrottleConfig::new(f64::NAN, window, 0.5), PolicyErrorKind::ThrottleMultiplierOutOfRange),
            (ThrottleConfig::new(2.0, Duration::ZERO, 0.5), PolicyErrorKind::ThrottleWindowZero),
            (ThrottleConfig::new(2.0, window, 1.0), PolicyErrorKind::ThrottleCapOutOfRange),
            (ThrottleConfig::new(2.0, window, -0.1), PolicyErrorKind::ThrottleCapOutOfRange),
        ];
        for (result, kind) in table {
            assert_eq!(result.unwrap_err().kind(), kind);
        }
    }
}
