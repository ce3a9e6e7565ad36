//! Capped exponential backoff and its jitter.
//!
//! A [`Backoff`] is a sequence of delays, `min(cap, base × multiplier^n)`
//! for step `n = 0, 1, 2, …`, and a [`Jitter`] that turns each delay into
//! the wait actually slept. Jitter spreads clients that failed together so
//! that they do not come back together; Brooker's study of 100 contending
//! clients found full jitter needs about a third of the calls of retries
//! without backoff, and exponential backoff without jitter is the slowest
//! of all.
//!
//! ```
//! use std::time::Duration;
//! use canon_retry::{Backoff, ConstantRandom, Jitter};
//!
//! // The CUDO page's numbers: 500 ms, ×1.6, at most 30 s.
//! let backoff = Backoff::new(Duration::from_millis(500), 1.6, Duration::from_secs(30), Jitter::Full).unwrap();
//! assert_eq!(backoff.delay(0), Duration::from_millis(500));
//! assert_eq!(backoff.delay(1), Duration::from_millis(800));
//! assert_eq!(backoff.delay(2), Duration::from_millis(1280));
//! assert_eq!(backoff.delay(20), Duration::from_secs(30));
//!
//! // Full jitter draws the wait uniformly from [0, delay]; pin the draw
//! // at one half to see the shape.
//! let mut half = ConstantRandom::new(0.5);
//! let waits: Vec<Duration> = backoff.waits(&mut half).take(3).collect();
//! assert_eq!(waits, [Duration::from_millis(250), Duration::from_millis(400), Duration::from_millis(640)]);
//! ```
//!
//! # The jitter modes
//!
//! With `d` the capped delay of the step and `U` a uniform draw from
//! `[0, 1)`:
//!
//! | mode | wait | range |
//! |------|------|-------|
//! | [`Jitter::None`] | `d` | exactly `d` |
//! | [`Jitter::Full`] | `U × d` | `[0, d)` |
//! | [`Jitter::Equal`] | `d/2 + U × d/2` | `[d/2, d)` |
//! | [`Jitter::Decorrelated`] | `min(cap, base + U × (3 × previous − base))` | `[base, cap]` |
//! | [`Jitter::Proportional`] `{ min, max }` | `d × (min + U × (max − min))` | `[min × d, max × d)` |
//!
//! Decorrelated jitter (from the AWS architecture blog) ignores the
//! multiplier: each wait is drawn between the base and three times the
//! previous wait, starting from the base.
//!
//! Every mode keeps every wait at or below the cap; only a server's hint
//! can make the engine wait longer (see [`crate::session`]).
//!
//! ## CUDO's "jitter 0–100%" is full jitter
//!
//! The CUDO page recommends "base=500ms, multiplier=1.6, max=30s, jitter
//! 0-100%". canon reads "0–100%" as the wait being drawn between 0 % and
//! 100 % of the capped delay, which is [`Jitter::Full`]
//! (`Proportional { min: 0.0, max: 1.0 }` is the same thing spelled out).
//! The other reading, adding 0–100 % on top of the delay, would either
//! break the page's own 30 s maximum (waits up to 60 s) or, capped after
//! the jitter, make every client at the cap wait exactly 30 s, together,
//! which is what jitter exists to prevent.

use std::fmt;
use std::time::Duration;

use crate::policy::{PolicyError, PolicyErrorKind};
use crate::random::RandomSource;

/// How a delay becomes a wait. See the [module docs](self) for the table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Jitter {
    /// No jitter: the wait is the delay.
    None,
    /// Full jitter: uniform in `[0, delay)`. CUDO's "0–100%".
    Full,
    /// Equal jitter: half the delay, plus uniform in `[0, delay/2)`.
    Equal,
    /// Decorrelated jitter: uniform in `[base, 3 × previous wait)`, capped.
    Decorrelated,
    /// The delay times a factor drawn uniformly from `[min, max)`, with
    /// `0 ≤ min ≤ max ≤ 1`. The `gcore` SDK's "times 0.75..1.0" is
    /// `Proportional { min: 0.75, max: 1.0 }`.
    Proportional {
        /// The smallest factor.
        min: f64,
        /// The largest factor.
        max: f64,
    },
}

impl Jitter {
    /// The stable name, such as `full`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Jitter::None => "none",
            Jitter::Full => "full",
            Jitter::Equal => "equal",
            Jitter::Decorrelated => "decorrelated",
            Jitter::Proportional { .. } => "proportional",
        }
    }

    fn check(self) -> Result<Jitter, PolicyError> {
        if let Jitter::Proportional { min, max } = self {
            let valid = |f: f64| f.is_finite() && (0.0..=1.0).contains(&f);
            if !(valid(min) && valid(max) && min <= max) {
                return Err(PolicyError::new(
                    PolicyErrorKind::JitterOutOfRange,
                    format!("proportional jitter needs 0 <= min <= max <= 1, got min {min} and max {max}"),
                ));
            }
        }
        Ok(self)
    }
}

impl fmt::Display for Jitter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Jitter::Proportional { min, max } => write!(f, "proportional {min}..{max}"),
            other => f.write_str(other.as_str()),
        }
    }
}

/// Capped exponential backoff with jitter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    base: Duration,
    multiplier: f64,
    cap: Duration,
    jitter: Jitter,
}

impl Backoff {
    /// A backoff of `min(cap, base × multiplier^n)` with `jitter`.
    ///
    /// Rejects a zero base (every wait would be zero: a hot loop), a
    /// multiplier below 1 or not finite, or above 100 (the delay would
    /// shrink, or jump to the cap at once), a cap below the base, and a
    /// proportional jitter outside `0 ≤ min ≤ max ≤ 1`.
    pub fn new(base: Duration, multiplier: f64, cap: Duration, jitter: Jitter) -> Result<Backoff, PolicyError> {
        if base.is_zero() {
            return Err(PolicyError::new(
                PolicyErrorKind::BaseZero,
                "the backoff base is zero: every wait would be zero",
            ));
        }
        if !(multiplier.is_finite() && (1.0..=100.0).contains(&multiplier)) {
            return Err(PolicyError::new(
                PolicyErrorKind::MultiplierOutOfRange,
                format!("the backoff multiplier must be between 1 and 100, got {multiplier}"),
            ));
        }
        if cap < base {
            return Err(PolicyError::new(
                PolicyErrorKind::CapBelowBase,
                format!("the backoff cap ({cap:?}) is below its base ({base:?})"),
            ));
        }
        Ok(Backoff { base, multiplier, cap, jitter: jitter.check()? })
    }

    /// The first delay.
    pub fn base(&self) -> Duration {
        self.base
    }

    /// The factor between one delay and the next.
    pub fn multiplier(&self) -> f64 {
        self.multiplier
    }

    /// The largest delay, and the largest wait.
    pub fn cap(&self) -> Duration {
        self.cap
    }

    /// The jitter mode.
    pub fn jitter(&self) -> Jitter {
        self.jitter
    }

    /// The delay of step `step` before jitter: `min(cap, base ×
    /// multiplier^step)`, rounded to the nanosecond.
    pub fn delay(&self, step: u32) -> Duration {
        let nanos = self.base.as_nanos() as f64 * self.multiplier.powi(step.min(i32::MAX as u32) as i32);
        let cap = self.cap.as_nanos() as f64;
        if nanos.is_finite() && nanos < cap { nanos_to_duration(nanos) } else { self.cap }
    }

    /// The wait of step `step`: its delay with jitter applied, drawing from
    /// `rng`. `previous` is the previous wait this backoff produced (only
    /// decorrelated jitter reads it; `None` at the first step).
    pub fn wait(&self, step: u32, previous: Option<Duration>, rng: &mut dyn RandomSource) -> Duration {
        let cap = self.cap.as_nanos() as f64;
        let nanos = match self.jitter {
            Jitter::None => return self.delay(step),
            Jitter::Full => rng.next_unit() * self.delay(step).as_nanos() as f64,
            Jitter::Equal => {
                let half = self.delay(step).as_nanos() as f64 / 2.0;
                half + rng.next_unit() * half
            }
            Jitter::Decorrelated => {
                let base = self.base.as_nanos() as f64;
                let previous = previous.map_or(base, |p| p.as_nanos() as f64).max(base);
                (base + rng.next_unit() * (3.0 * previous - base)).min(cap)
            }
            Jitter::Proportional { min, max } => {
                self.delay(step).as_nanos() as f64 * (min + rng.next_unit() * (max - min))
            }
        };
        nanos_to_duration(nanos.min(cap))
    }

    /// The waits of steps 0, 1, 2, … as an endless iterator.
    pub fn waits<'a>(&'a self, rng: &'a mut dyn RandomSource) -> impl Iterator<Item = Duration> + 'a {
        let mut previous = None;
        (0u32..).map(move |step| {
            let wait = self.wait(step, previous, rng);
            previous = Some(wait);
            wait
        })
    }
}

/// A non-negative number of nanoseconds as a Duration, rounded to the
/// nearest nanosecond, saturating.
fn nanos_to_duration(nanos: f64) -> Duration {
    let nanos = nanos.round();
    if nanos <= 0.0 || nanos.is_nan() {
        Duration::ZERO
    } else if nanos >= u64::MAX as f64 {
        Duration::from_nanos(u64::MAX)
    } else {
        Duration::from_nanos(nanos as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::{ConstantRandom, SplitMix64};

    fn ms(millis: u64) -> Duration {
        Duration::from_millis(millis)
    }

    fn backoff(jitter: Jitter) -> Backoff {
        Backoff::new(ms(500), 1.6, Duration::from_secs(30), jitter).unwrap()
    }

    #[test]
    fn delays_grow_by_the_multiplier_up_to_the_cap() {
        let delays: Vec<u128> = (0..11).map(|n| backoff(Jitter::None).delay(n).as_millis()).collect();
        assert_eq!(delays, [500, 800, 1280, 2048, 3276, 5242, 8388, 13421, 21474, 30000, 30000]);
        assert_eq!(backoff(Jitter::None).delay(u32::MAX), Duration::from_secs(30));
    }

    #[test]
    fn each_jitter_mode_at_a_pinned_draw() {
        // (mode, draw, expected waits of steps 0..4 in ms)
        let table: &[(Jitter, f64, [u64; 4])] = &[
            (Jitter::None, 0.5, [500, 800, 1280, 2048]),
            (Jitter::Full, 0.0, [0, 0, 0, 0]),
            (Jitter::Full, 0.5, [250, 400, 640, 1024]),
            (Jitter::Equal, 0.0, [250, 400, 640, 1024]),
            (Jitter::Equal, 0.5, [375, 600, 960, 1536]),
            // base + 0.5 × (3 × previous − base): 1000, 1750, 2875, 4562.5.
            (Jitter::Decorrelated, 0.5, [1000, 1750, 2875, 4562]),
            (Jitter::Decorrelated, 0.0, [500, 500, 500, 500]),
            (Jitter::Proportional { min: 0.75, max: 1.0 }, 0.0, [375, 600, 960, 1536]),
            (Jitter::Proportional { min: 0.0, max: 1.0 }, 0.5, [250, 400, 640, 1024]),
        ];
        for (jitter, draw, expected) in table {
            let backoff = backoff(*jitter);
            let mut rng = ConstantRandom::new(*draw);
            let waits: Vec<u64> = backoff.waits(&mut rng).take(4).map(|w| w.as_millis() as u64).collect();
            assert_eq!(waits, expected, "{jitter} at {draw}");
        }
    }

    #[test]
    fn no_mode_waits_past_the_cap() {
        let modes = [
            Jitter::None,
            Jitter::Full,
            Jitter::Equal,
            Jitter::Decorrelated,
            Jitter::Proportional { min: 0.5, max: 1.0 },
        ];
        for jitter in modes {
            let backoff = Backoff::new(ms(100), 3.0, ms(2_000), jitter).unwrap();
            for draw in [0.0, 0.3, 0.999_999] {
                let mut rng = ConstantRandom::new(draw);
                for wait in backoff.waits(&mut rng).take(30) {
                    assert!(wait <= ms(2_000), "{jitter} {draw} {wait:?}");
                }
            }
            let mut rng = SplitMix64::new(3);
            assert!(backoff.waits(&mut rng).take(1000).all(|w| w <= ms(2_000)), "{jitter}");
        }
    }

    #[test]
    fn rejects_nonsense() {
        let table: &[(Duration, f64, Duration, Jitter, PolicyErrorKind)] = &[
            (Duration::ZERO, 2.0, ms(10), Jitter::Full, PolicyErrorKind::BaseZero),
            (ms(10), 0.5, ms(100), Jitter::Full, PolicyErrorKind::MultiplierOutOfRange),
            (ms(10), f64::NAN, ms(100), Jitter::Full, PolicyErrorKind::MultiplierOutOfRange),
            (ms(10), f64::INFINITY, ms(100), Jitter::Full, PolicyErrorKind::MultiplierOutOfRange),
            (ms(10), 1000.0, ms(100), Jitter::Full, PolicyErrorKind::MultiplierOutOfRange),
            (ms(100), 2.0, ms(10), Jitter::Full, PolicyErrorKind::CapBelowBase),
            (ms(10), 2.0, ms(100), Jitter::Proportional { min: 0.8, max: 0.2 }, PolicyErrorKind::JitterOutOfRange),
            (ms(10), 2.0, ms(100), Jitter::Proportional { min: 0.0, max: 1.5 }, PolicyErrorKind::JitterOutOfRange),
            (ms(10), 2.0, ms(100), Jitter::Proportional { min: -0.1, max: 0.5 }, PolicyErrorKind::JitterOutOfRange),
            (ms(10), 2.0, ms(100), Jitter::Proportional { min: f64::NAN, max: 0.5 }, PolicyErrorKind::JitterOutOfRange),
        ];
        for (base, multiplier, cap, jitter, kind) in table {
            let error = Backoff::new(*base, *multiplier, *cap, *jitter).unwrap_err();
            assert_eq!(error.kind(), *kind, "{error}");
        }
        assert!(Backoff::new(ms(10), 1.0, ms(10), Jitter::None).is_ok());
    }
}
