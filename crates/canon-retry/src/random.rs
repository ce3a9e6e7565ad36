//! The random source: injectable, seedable, and the same on every platform.
//!
//! The engine draws random numbers for two things: jitter (see
//! [`Jitter`](crate::Jitter)) and generated idempotency keys (see
//! [`Call::with_generated_key`](crate::Call::with_generated_key)); the
//! retry budget also draws for its fractional tokens (see
//! [`RetryBudget`](crate::RetryBudget)). All of them go through
//! [`RandomSource`], so that a test or a simulation that fixes the seed
//! gets the same waits and the same keys on every run.
//!
//! Any [`rand::RngCore`] is a `RandomSource`, so `rand`'s `SmallRng` works
//! as it is. The crate also has two sources of its own:
//!
//! - [`SplitMix64`], the default seeded source: a fixed, published
//!   algorithm (Steele, Lea and Flood, 2014), so that a seed gives the same
//!   numbers on every platform and in every future version of this crate.
//!   `rand` makes no such promise for `SmallRng`, whose algorithm may
//!   change between releases.
//! - [`ConstantRandom`], which returns the same unit value every time:
//!   jitter at a chosen point of its range, for examples and exact tests.
//!
//! ```
//! use canon_retry::{ConstantRandom, RandomSource, SplitMix64};
//!
//! let mut a = SplitMix64::new(7);
//! let mut b = SplitMix64::new(7);
//! assert_eq!(a.next_u64(), b.next_u64());
//!
//! let mut half = ConstantRandom::new(0.5);
//! assert_eq!(half.next_unit(), 0.5);
//! ```

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

/// A source of random numbers for jitter, keys and the budget's fractional
/// tokens.
///
/// Implemented for every [`rand::RngCore`] that is `Send`.
pub trait RandomSource: Send {
    /// The next 64 random bits.
    fn next_u64(&mut self) -> u64;

    /// The next number drawn uniformly from `[0, 1)`, built from the top 53
    /// bits of [`next_u64`](RandomSource::next_u64).
    fn next_unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

impl<R: rand::RngCore + Send> RandomSource for R {
    fn next_u64(&mut self) -> u64 {
        rand::RngCore::next_u64(self)
    }
}

/// SplitMix64: a small, fast generator with a fixed definition, so that a
/// seed means the same sequence everywhere. Not for cryptography.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator started from `seed`.
    pub const fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }

    /// A generator seeded from the operating system's randomness (through
    /// the standard library's hash keys), for production use where runs
    /// need not repeat.
    pub fn from_entropy() -> SplitMix64 {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u64(0x6361_6e6f_6e2d_7274);
        SplitMix64::new(hasher.finish())
    }
}

impl rand::RngCore for SplitMix64 {
    fn next_u32(&mut self) -> u32 {
        (rand::RngCore::next_u64(self) >> 32) as u32
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for chunk in dest.chunks_mut(8) {
            let bytes = rand::RngCore::next_u64(self).to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}

/// A source that returns the same unit value on every draw: jitter pinned
/// to one point of its range. `ConstantRandom::new(0.5)` puts full jitter
/// at half the delay.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConstantRandom {
    bits: u64,
}

impl ConstantRandom {
    /// A source whose [`next_unit`](RandomSource::next_unit) is `unit`,
    /// clamped into `[0, 1)` (to the nearest value the 53-bit draw can
    /// give). A NaN counts as 0.
    pub fn new(unit: f64) -> ConstantRandom {
        let scale = (1u64 << 53) as f64;
        let unit = if unit.is_nan() { 0.0 } else { unit.clamp(0.0, 1.0) };
        let mantissa = ((unit * scale) as u64).min((1u64 << 53) - 1);
        ConstantRandom { bits: mantissa << 11 }
    }
}

impl rand::RngCore for ConstantRandom {
    fn next_u32(&mut self) -> u32 {
        (self.bits >> 32) as u32
    }

    fn next_u64(&mut self) -> u64 {
        self.bits
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for chunk in dest.chunks_mut(8) {
            chunk.copy_from_slice(&self.bits.to_le_bytes()[..chunk.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_matches_the_reference_sequence() {
        // The first outputs for seed 0 of the reference implementation
        // (Vigna's splitmix64.c).
        let mut rng = SplitMix64::new(0);
        let expected = [0xE220_A839_7B1D_CDAF, 0x6E78_9E6A_A1B9_65F4, 0x06C4_5D18_8009_454F];
        for value in expected {
            assert_eq!(RandomSource::next_u64(&mut rng), value);
        }
    }

    #[test]
    fn units_are_in_the_half_open_interval() {
        let mut rng = SplitMix64::new(42);
        for _ in 0..10_000 {
            let unit = rng.next_unit();
            assert!((0.0..1.0).contains(&unit), "{unit}");
        }
    }

    #[test]
    fn constant_random_returns_its_unit() {
        for (given, expected) in [(0.0, 0.0), (0.25, 0.25), (0.5, 0.5), (-1.0, 0.0), (f64::NAN, 0.0)] {
            assert_eq!(ConstantRandom::new(given).next_unit(), expected, "{given}");
        }
        let top = ConstantRandom::new(1.0).next_unit();
        assert!(top < 1.0 && top > 0.999_999_999, "{top}");
    }

    #[test]
    fn small_rng_is_a_random_source() {
        use rand::SeedableRng;
        let mut a = rand::rngs::SmallRng::seed_from_u64(9);
        let mut b = rand::rngs::SmallRng::seed_from_u64(9);
        let draws_a: Vec<f64> = (0..5).map(|_| a.next_unit()).collect();
        let draws_b: Vec<f64> = (0..5).map(|_| b.next_unit()).collect();
        assert_eq!(draws_a, draws_b);
    }
}
