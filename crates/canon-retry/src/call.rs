//! Calls and attempts: one logical request, and each try of it.
//!
//! A [`Call`] describes a logical request to the engine: its method, how
//! it is made idempotent, and where it may be placed. Each attempt of it
//! gets an [`AttemptContext`]: its number, the idempotency key, the
//! placement and the time it may take.
//!
//! # Idempotency
//!
//! A request is retried only if sending it twice is harmless: its method
//! is idempotent (GET, HEAD, OPTIONS, TRACE, PUT, DELETE; RFC 9110
//! §9.2.2), or it carries an idempotency key or a client-chosen request id
//! that the server deduplicates on. Anything else (a POST or a PATCH
//! without a key) gets one attempt, and a retryable error ends it with
//! [`GiveUpReason::NotIdempotent`](crate::GiveUpReason::NotIdempotent).
//!
//! Keys come from the caller ([`Call::with_idempotency_key`], for a key it
//! already has, such as CUDO's client-chosen `vmId`) or from the engine
//! ([`Call::with_generated_key`]). The engine generates a key once per
//! logical request, when the call starts, and every attempt carries the
//! same one; the operation puts it where the API expects it (the
//! [`IDEMPOTENCY_KEY_HEADER`], a body field). Generation is opt-in:
//! sending a key to an API that ignores it would make retries look safe
//! when they are not.
//!
//! ```
//! use std::time::Instant;
//! use canon_retry::{Call, Policy, Retrier};
//! use http::Method;
//!
//! let retrier = Retrier::builder(Policy::default()).seed(7).build();
//! let mut session = retrier.start(Instant::now(), Call::new(Method::POST).with_generated_key());
//! let attempt = session.begin(Instant::now()).unwrap();
//! let key = attempt.idempotency_key.clone().unwrap();
//! assert_eq!(key.len(), 36); // a UUID, version 4
//! assert_eq!(session.idempotency_key(), Some(&*key));
//! ```

use std::fmt::{self, Write as _};
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::Method;

use crate::placement::Placement;
use crate::random::RandomSource;

/// The header the IETF draft "The Idempotency-Key HTTP Header Field"
/// defines, for operations that send the key as a header.
pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";

/// Whether a method is idempotent by RFC 9110 §9.2.2.
pub fn is_idempotent_method(method: &Method) -> bool {
    [Method::GET, Method::HEAD, Method::OPTIONS, Method::TRACE, Method::PUT, Method::DELETE].contains(method)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeySource {
    None,
    Given(Arc<str>),
    Generate,
}

/// One logical request, as the engine sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    method: Method,
    key: KeySource,
    placements: Vec<Placement>,
}

impl Call {
    /// A call with this method, no key and no placements.
    pub fn new(method: Method) -> Call {
        Call { method, key: KeySource::None, placements: Vec::new() }
    }

    /// This call with the caller's idempotency key or client-chosen request
    /// id, sent unchanged on every attempt.
    pub fn with_idempotency_key(mut self, key: impl Into<String>) -> Call {
        self.key = KeySource::Given(Arc::from(key.into()));
        self
    }

    /// This call with a key the engine generates when the call starts (a
    /// random UUID, version 4, from the retrier's random source) and sends
    /// unchanged on every attempt.
    pub fn with_generated_key(mut self) -> Call {
        self.key = KeySource::Generate;
        self
    }

    /// This call with the placements it accepts, best first; the first is
    /// where the first attempt goes. See [`crate::placement`].
    pub fn with_placements(mut self, placements: impl IntoIterator<Item = Placement>) -> Call {
        self.placements = placements.into_iter().collect();
        self
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The placements, best first.
    pub fn placements(&self) -> &[Placement] {
        &self.placements
    }

    /// Whether the call may be retried: an idempotent method, or a key.
    pub fn is_idempotent(&self) -> bool {
        is_idempotent_method(&self.method) || self.key != KeySource::None
    }

    pub(crate) fn into_parts(self) -> (Method, KeySource, Vec<Placement>) {
        (self.method, self.key, self.placements)
    }
}

/// A random UUID, version 4, in its 36-character text form.
pub(crate) fn generate_key(rng: &mut dyn RandomSource) -> Arc<str> {
    let high = rng.next_u64();
    let low = rng.next_u64();
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&high.to_be_bytes());
    bytes[8..].copy_from_slice(&low.to_be_bytes());
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let mut text = String::with_capacity(36);
    for (i, byte) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            text.push('-');
        }
        // Writing to a String cannot fail.
        let _ = write!(text, "{byte:02x}");
    }
    Arc::from(text)
}

/// What one attempt is: which try, with which key, where, and for how
/// long. Given out by [`Session::begin`](crate::Session::begin).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AttemptContext {
    /// The attempt's number, from 1.
    pub number: u32,
    /// The idempotency key, the same on every attempt of the call.
    pub idempotency_key: Option<Arc<str>>,
    /// Where to place the request, when the call has placements or an
    /// error named some.
    pub placement: Option<Placement>,
    /// How long this attempt may take: the per-attempt timeout, or what is
    /// left of the deadline if that is shorter.
    pub timeout: Duration,
    /// The call's deadline.
    pub deadline: Instant,
}

impl fmt::Display for AttemptContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "attempt {}", self.number)?;
        if let Some(placement) = &self.placement {
            write!(f, " at {placement}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SplitMix64;

    #[test]
    fn idempotency_comes_from_the_method_or_a_key() {
        let table = [
            (Call::new(Method::GET), true),
            (Call::new(Method::HEAD), true),
            (Call::new(Method::OPTIONS), true),
            (Call::new(Method::TRACE), true),
            (Call::new(Method::PUT), true),
            (Call::new(Method::DELETE), true),
            (Call::new(Method::POST), false),
            (Call::new(Method::PATCH), false),
            (Call::new(Method::CONNECT), false),
            (Call::new(Method::POST).with_idempotency_key("vm-123"), true),
            (Call::new(Method::PATCH).with_generated_key(), true),
        ];
        for (call, idempotent) in table {
            assert_eq!(call.is_idempotent(), idempotent, "{call:?}");
        }
    }

    #[test]
    fn generated_keys_are_version_4_uuids_fixed_by_the_seed() {
        let key = generate_key(&mut SplitMix64::new(1));
        assert_eq!(key.len(), 36);
        let groups: Vec<&str> = key.split('-').collect();
        assert_eq!(groups.iter().map(|g| g.len()).collect::<Vec<_>>(), [8, 4, 4, 4, 12]);
        assert!(groups[2].starts_with('4'), "{key}");
        assert!(matches!(groups[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'), "{key}");
        assert_eq!(key, generate_key(&mut SplitMix64::new(1)));
        assert_ne!(key, generate_key(&mut SplitMix64::new(2)));
    }
}
