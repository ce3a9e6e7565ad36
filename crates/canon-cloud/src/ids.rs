//! Identifiers the emulator makes up: a seeded generator, so that a test
//! (or an emulator started with `--seed`) sees the same ids every run.
//!
//! The generator is SplitMix64: one 64-bit state advanced by a constant and
//! mixed. It is not a secret: API keys are made from the operating
//! system's randomness instead (see [`crate::auth`]).
//!
//! ```
//! use canon_cloud::ids::IdGenerator;
//!
//! let a = IdGenerator::new(7);
//! let b = IdGenerator::new(7);
//! assert_eq!(a.uuid(), b.uuid());
//! assert_eq!(a.uuid().len(), 36);
//! ```

use std::sync::atomic::{AtomicU64, Ordering};

const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// The lower-case hex digits.
const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// SplitMix64's output function.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// One step of SplitMix64 on a plain state, for callers that keep their
/// own (the fault engine's per-rule streams).
pub(crate) fn next_from(state: &mut u64) -> u64 {
    *state = state.wrapping_add(GAMMA);
    mix(*state)
}

/// A seeded, thread-safe generator of ids.
#[derive(Debug)]
pub struct IdGenerator {
    state: AtomicU64,
}

impl IdGenerator {
    /// A generator whose sequence is fixed by `seed`.
    pub fn new(seed: u64) -> IdGenerator {
        IdGenerator { state: AtomicU64::new(seed) }
    }

    /// A generator seeded from the operating system's randomness.
    pub fn from_entropy() -> IdGenerator {
        IdGenerator::new(crate::auth::random_u64())
    }

    /// Starts the sequence again from `seed`.
    pub fn reseed(&self, seed: u64) {
        self.state.store(seed, Ordering::SeqCst);
    }

    /// The next 64 random bits.
    pub fn next_u64(&self) -> u64 {
        mix(self.state.fetch_add(GAMMA, Ordering::SeqCst).wrapping_add(GAMMA))
    }

    /// A version-4-shaped UUID, `xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx`, in
    /// lower case: the id format of Gcore's instances, keys and tasks,
    /// and acceptable wherever CUDO takes a free-form id.
    pub fn uuid(&self) -> String {
        let hi = self.next_u64();
        let lo = self.next_u64();
        let hi = (hi & !0xF000) | 0x4000;
        let lo = (lo & !(0xC << 60)) | (0x8 << 60);
        format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            hi >> 32,
            (hi >> 16) & 0xFFFF,
            hi & 0xFFFF,
            lo >> 48,
            lo & 0xFFFF_FFFF_FFFF
        )
    }

    /// A request id: `req-` and 16 hex digits.
    pub fn request_id(&self) -> String {
        // As `format!("req-{:016x}", ..)` writes it, without the
        // formatting machinery (one id per request).
        let mut id = String::with_capacity(20);
        id.push_str("req-");
        push_hex(&mut id, self.next_u64(), 16);
        id
    }
}

/// Appends the last `digits` hex digits of `value`, most significant
/// first, in lower case: what `{:0digits$x}` writes for a value that fits,
/// without the formatting machinery.
pub(crate) fn push_hex(out: &mut String, value: u64, digits: u32) {
    out.extend((0..digits).rev().map(|digit| char::from(HEX_DIGITS[((value >> (4 * digit)) & 0xF) as usize])));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_req_and_sixteen_hex_digits() {
        for seed in [0, 1, 7, 42, u64::MAX, 0x0123_4567_89ab_cdef] {
            let ids = IdGenerator::new(seed);
            let again = IdGenerator::new(seed);
            for _ in 0..50 {
                assert_eq!(ids.request_id(), format!("req-{:016x}", again.next_u64()));
            }
        }
    }

    #[test]
    fn the_sequence_is_fixed_by_the_seed_and_restarts_on_reseed() {
        let ids = IdGenerator::new(42);
        let first: Vec<u64> = (0..3).map(|_| ids.next_u64()).collect();
        ids.reseed(42);
        let again: Vec<u64> = (0..3).map(|_| ids.next_u64()).collect();
        assert_eq!(first, again);
        assert_ne!(first[0], first[1]);
        let mut state = 42;
        assert_eq!(next_from(&mut state), first[0]);
    }

    #[test]
    fn uuids_have_the_version_4_shape() {
        let ids = IdGenerator::new(1);
        for _ in 0..100 {
            let uuid = ids.uuid();
            let parts: Vec<&str> = uuid.split('-').collect();
            assert_eq!(parts.iter().map(|p| p.len()).collect::<Vec<_>>(), [8, 4, 4, 4, 12], "{uuid}");
            assert!(parts[2].starts_with('4'), "{uuid}");
            assert!(matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'), "{uuid}");
        }
        assert!(ids.request_id().starts_with("req-"));
    }
}
