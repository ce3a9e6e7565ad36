//! [`RateLimitLayer`]: a token bucket per API key, answering
//! `RESOURCE_EXHAUSTED` (429) when a key's bucket is empty.
//!
//! Each API key (the value of a configurable header, `Authorization` unless
//! set) has a bucket of `burst` tokens that refills continuously at `burst`
//! tokens per `period`. A request takes one token; a request that finds
//! none is answered at once with:
//!
//! - code `RESOURCE_EXHAUSTED`, reason `RATE_LIMITED`, metadata `limit`,
//!   `period` and `apiKeyHash`;
//! - a QuotaFailure whose subject names the key as `apiKey:<hash>`: 8 hex
//!   digits of a hash of the header value, never the secret itself;
//! - a RetryInfo with the time until the bucket holds a token again
//!   (rounded up to the millisecond), and the matching `Retry-After`
//!   (whole seconds, rounded up).
//!
//! Requests without the header are not limited here: rejecting them is
//! authentication's job, and [`OverloadLayer`](crate::OverloadLayer)
//! bounds all traffic. Buckets that have refilled completely hold no
//! information and are dropped when the table grows.
//!
//! Time is tokio's clock (`tokio::time::Instant`), which is the system's
//! monotonic clock unless a test pauses it: on paused time, buckets refill
//! as the test advances the clock, without real waiting.
//!
//! ```
//! use std::time::Duration;
//! use canon_axum::RateLimitLayer;
//! use http::HeaderName;
//!
//! // 100 requests a minute per key, read from `x-api-key`.
//! let layer = RateLimitLayer::per_api_key(100, Duration::from_secs(60))
//!     .key_header(HeaderName::from_static("x-api-key"));
//! # let _ = layer;
//! ```

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::response::Response;
use canon::details::{ErrorInfo, QuotaFailure, QuotaViolation};
use canon::{Code, ProtoDuration, Status};
use http::header::{AUTHORIZATION, HeaderName};
use http::{HeaderMap, HeaderValue, Request};
use tower::{Layer, Service};

use crate::error::ApiError;
use crate::future::ResponseFuture;
use crate::reason;

/// The table size below which buckets are never swept.
const MIN_SWEEP_LEN: usize = 1024;

/// A [`Layer`] that limits each API key's request rate. See the [module
/// docs](self).
#[derive(Clone)]
pub struct RateLimitLayer {
    header: HeaderName,
    rate: Rate,
    buckets: Arc<Mutex<Buckets>>,
}

impl RateLimitLayer {
    /// Allows each key `burst` requests at once, refilled at `burst` per
    /// `period`.
    ///
    /// # Panics
    ///
    /// When `burst` is 0 or `period` is zero.
    pub fn per_api_key(burst: u32, period: Duration) -> RateLimitLayer {
        assert!(burst > 0, "a rate limit needs a burst of at least one request");
        assert!(!period.is_zero(), "a rate limit needs a non-zero period");
        RateLimitLayer {
            header: AUTHORIZATION,
            rate: Rate::new(burst, period),
            buckets: Arc::new(Mutex::new(Buckets {
                table: HashMap::with_hasher(KeyHasher::random()),
                sweep_at: MIN_SWEEP_LEN,
            })),
        }
    }

    /// Reads the API key from `header` instead of `Authorization`.
    pub fn key_header(mut self, header: HeaderName) -> RateLimitLayer {
        self.header = header;
        self
    }

    /// Admits a request with `headers` now, taking a token from its key's
    /// bucket, or gives the `RATE_LIMITED` error.
    pub(crate) fn admit(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        self.admit_at(headers, || tokio::time::Instant::now().into_std())
    }

    /// As [`RateLimitLayer::admit`], with the clock read by `now` only when
    /// the request has a key.
    pub(crate) fn admit_at(&self, headers: &HeaderMap, now: impl FnOnce() -> Instant) -> Result<(), ApiError> {
        let Some(key) = headers.get(&self.header).map(HeaderValue::as_bytes).filter(|key| !key.is_empty()) else {
            return Ok(());
        };
        self.take(key, now()).map_err(|wait| rate_limited(key, self.rate, wait))
    }

    /// Takes a token for `key` at `now`, or says how long until there is one.
    fn take(&self, key: &[u8], now: Instant) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if buckets.table.len() >= buckets.sweep_at {
            let rate = self.rate;
            buckets.table.retain(|_, full_at| !rate.is_full(*full_at, now));
            buckets.sweep_at = (buckets.table.len() * 2).max(MIN_SWEEP_LEN);
        }
        match buckets.table.get_mut(key) {
            Some(full_at) => self.rate.take(full_at, now),
            None => {
                let mut full_at = now;
                let taken = self.rate.take(&mut full_at, now);
                buckets.table.insert(key.into(), full_at);
                taken
            }
        }
    }
}

impl fmt::Debug for RateLimitLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimitLayer").field("header", &self.header).field("rate", &self.rate).finish_non_exhaustive()
    }
}

impl<S> Layer<S> for RateLimitLayer {
    type Service = RateLimit<S>;

    fn layer(&self, inner: S) -> RateLimit<S> {
        RateLimit { inner, layer: self.clone() }
    }
}

/// The service of [`RateLimitLayer`].
#[derive(Debug, Clone)]
pub struct RateLimit<S> {
    inner: S,
    layer: RateLimitLayer,
}

impl<S, B> Service<Request<B>> for RateLimit<S>
where
    S: Service<Request<B>, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ()>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        match self.layer.admit(request.headers()) {
            Ok(()) => ResponseFuture::admitted(self.inner.call(request), ()),
            Err(error) => ResponseFuture::rejected(error),
        }
    }
}

struct Buckets {
    /// Each key's bucket, as the time at which it will be full again.
    table: HashMap<Box<[u8]>, Instant, KeyHasher>,
    /// The table size at which full buckets are next swept out.
    sweep_at: usize,
}

/// The hash of the bucket table: a keyed multiply-and-fold hash over eight
/// bytes at a time, as foldhash and wyhash do, in place of the standard
/// SipHash, which costs several times more on a key of a few dozen bytes.
/// The key is drawn at random per table, so that clients cannot choose
/// API keys that collide.
#[derive(Clone, Copy)]
struct KeyHasher {
    seed: u64,
}

impl KeyHasher {
    fn random() -> KeyHasher {
        KeyHasher { seed: std::hash::RandomState::new().hash_one(0x6361_6e6f_6e5f_726c_u64) | 1 }
    }
}

impl BuildHasher for KeyHasher {
    type Hasher = KeyHash;

    fn build_hasher(&self) -> KeyHash {
        KeyHash { state: self.seed }
    }
}

/// The hasher [`KeyHasher`] builds.
struct KeyHash {
    state: u64,
}

/// The multiplier of the hash: the 64-bit golden ratio, odd.
const MIX: u64 = 0x9e37_79b9_7f4a_7c15;

impl KeyHash {
    /// Folds one word into the state: a 128-bit product of the state and
    /// the word, its halves xored.
    fn mix(&mut self, word: u64) {
        let product = u128::from(self.state ^ word) * u128::from(MIX);
        self.state = (product as u64) ^ ((product >> 64) as u64);
    }
}

impl Hasher for KeyHash {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.mix(u64::from_le_bytes(chunk.try_into().expect("eight bytes")));
        }
        let rest = chunks.remainder();
        let mut last = [0u8; 8];
        last[..rest.len()].copy_from_slice(rest);
        // The length goes into the last word, so that keys that differ
        // only by trailing zero bytes differ.
        self.mix(u64::from_le_bytes(last) ^ ((rest.len() as u64) << 59));
    }

    fn write_usize(&mut self, length: usize) {
        self.mix(length as u64);
    }

    fn finish(&self) -> u64 {
        let product = u128::from(self.state) * u128::from(self.state ^ MIX);
        (product as u64) ^ ((product >> 64) as u64)
    }
}

/// `burst` requests per `period`, at most `burst` at once.
///
/// The bucket is kept the way the generic cell rate algorithm keeps it, in
/// exact time arithmetic: a request costs `period / burst` of time, and a
/// bucket is the instant at which it will be full again. A request is
/// allowed when that instant is at most `period - cost` away.
#[derive(Debug, Clone, Copy)]
struct Rate {
    burst: u32,
    period: Duration,
    /// What a request costs: `period / burst`.
    cost: Duration,
    /// How far ahead a bucket may be full and still allow a request:
    /// `period - cost`.
    tolerance: Duration,
}

impl Rate {
    fn new(burst: u32, period: Duration) -> Rate {
        let cost = period / burst;
        Rate { burst, period, cost, tolerance: period.saturating_sub(cost) }
    }

    fn is_full(self, full_at: Instant, now: Instant) -> bool {
        full_at <= now
    }

    /// Takes a token from the bucket that is full at `full_at`, or gives
    /// the wait until one is there, rounded up to the millisecond.
    fn take(self, full_at: &mut Instant, now: Instant) -> Result<(), Duration> {
        let pending = full_at.saturating_duration_since(now);
        if pending <= self.tolerance {
            *full_at = (*full_at).max(now) + self.cost;
            return Ok(());
        }
        let wait = pending - self.tolerance;
        Err(Duration::from_millis(wait.as_nanos().div_ceil(1_000_000) as u64))
    }
}

/// `RATE_LIMITED` for the key, to be retried after `wait`.
fn rate_limited(key: &[u8], rate: Rate, wait: Duration) -> ApiError {
    let hash = key_hash(key);
    let period = ProtoDuration::from_std(rate.period).to_string();
    let limit = rate.burst.to_string();
    let message = format!("Rate limit of {limit} requests per {period} exceeded for this API key.");
    let violation = QuotaViolation::new(format!("apiKey:{hash}"), format!("{limit} requests per {period}"));
    Status::builder(Code::ResourceExhausted, message)
        .detail(
            ErrorInfo::new(reason::RATE_LIMITED, "")
                .with_metadata("limit", limit)
                .with_metadata("period", period)
                .with_metadata("apiKeyHash", hash),
        )
        .detail(QuotaFailure { violations: vec![violation] })
        .retry_delay(wait)
        .build()
        .into()
}

/// 8 hex digits that name a key without revealing it: FNV-1a (64 bits)
/// folded to 32. Stable across processes, so support can match it.
fn key_hash(key: &[u8]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &byte in key {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{:08x}", (hash >> 32) as u32 ^ hash as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(millis: u64) -> Duration {
        Duration::from_millis(millis)
    }

    #[test]
    fn a_bucket_allows_the_burst_then_refills_at_the_rate() {
        // 2 requests per second: a burst of 2, then one every 500 ms.
        let layer = RateLimitLayer::per_api_key(2, Duration::from_secs(1));
        let start = Instant::now();
        let table: &[(u64, Result<(), Duration>)] = &[
            (0, Ok(())),
            (0, Ok(())),
            (0, Err(ms(500))),
            (100, Err(ms(400))),
            (499, Err(ms(1))),
            (500, Ok(())),
            (500, Err(ms(500))),
            (1_000, Ok(())),
            // A long pause refills to the burst, not beyond.
            (10_000, Ok(())),
            (10_000, Ok(())),
            (10_000, Err(ms(500))),
        ];
        for &(at, expected) in table {
            assert_eq!(layer.take(b"APIKey one", start + ms(at)), expected, "at {at} ms");
        }
        assert_eq!(layer.take(b"APIKey two", start + ms(10_000)), Ok(()), "keys have their own buckets");
    }

    #[test]
    fn full_buckets_are_swept_when_the_table_grows() {
        let layer = RateLimitLayer::per_api_key(1, Duration::from_secs(1));
        let start = Instant::now();
        for key in 0..MIN_SWEEP_LEN as u32 {
            let _ = layer.take(&key.to_be_bytes(), start);
        }
        // Two seconds later every bucket is full again: the next take sweeps
        // them all and keeps only its own.
        assert_eq!(layer.take(b"late", start + Duration::from_secs(2)), Ok(()));
        let buckets = layer.buckets.lock().unwrap();
        assert_eq!(buckets.table.len(), 1);
        assert_eq!(buckets.sweep_at, MIN_SWEEP_LEN);
    }

    #[test]
    fn key_hashes_are_short_stable_and_differ_between_keys() {
        // FNV-1a's published vectors: "" hashes to cbf29ce484222325 and
        // "a" to af63dc4c8601ec8c; each is folded to 32 bits.
        assert_eq!(key_hash(b""), format!("{:08x}", 0xcbf2_9ce4_u32 ^ 0x8422_2325_u32));
        assert_eq!(key_hash(b"a"), format!("{:08x}", 0xaf63_dc4c_u32 ^ 0x8601_ec8c_u32));
        let a = key_hash(b"APIKey 123$abc");
        assert_eq!(a.len(), 8);
        assert_eq!(a, key_hash(b"APIKey 123$abc"));
        assert_ne!(a, key_hash(b"APIKey 123$abd"));
    }

    #[test]
    fn the_table_hash_is_keyed_and_spreads_similar_keys() {
        let hasher = KeyHasher::random();
        let keys: Vec<Vec<u8>> = (0..10_000u32).map(|i| format!("APIKey key-{i}").into_bytes()).collect();
        let hashes: std::collections::HashSet<u64> = keys.iter().map(|k| hasher.hash_one(k.as_slice())).collect();
        assert_eq!(hashes.len(), keys.len(), "no collisions among similar keys");
        assert_eq!(hasher.hash_one(b"k".as_slice()), hasher.hash_one(b"k".as_slice()));
        assert_ne!(hasher.hash_one(b"k".as_slice()), hasher.hash_one(b"k\0".as_slice()));
        assert_ne!(hasher.hash_one(b"k".as_slice()), KeyHasher::random().hash_one(b"k".as_slice()), "keyed per table");
    }
}
