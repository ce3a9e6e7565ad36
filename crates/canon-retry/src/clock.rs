//! Clocks: the engine's only source of "now".
//!
//! The decision core never reads the time itself: every call that needs it
//! takes `now: Instant` as an argument. [`Clock`] is the small trait that
//! supplies it, so that the same code runs on the system clock in
//! production and on a [`ManualClock`] in tests and simulations, where
//! time moves only when the caller says so.
//!
//! ```
//! use std::time::Duration;
//! use canon_retry::{Clock, ManualClock};
//!
//! let clock = ManualClock::new();
//! let start = clock.now();
//! clock.advance(Duration::from_secs(90));
//! assert_eq!(clock.now() - start, Duration::from_secs(90));
//! assert_eq!(clock.elapsed(), Duration::from_secs(90));
//! ```
//!
//! The async driver uses a [`Timer`](crate::driver::Timer), a clock that can
//! also sleep; on tokio with paused time that is virtual time too.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// A source of the current instant.
pub trait Clock: Send + Sync {
    /// The current instant.
    fn now(&self) -> Instant;
}

impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn now(&self) -> Instant {
        (**self).now()
    }
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now(&self) -> Instant {
        (**self).now()
    }
}

/// The system's monotonic clock, [`Instant::now`].
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// A virtual clock that moves only when told to. Clones share the same
/// time, so a simulation can hand one to every component.
#[derive(Debug, Clone)]
pub struct ManualClock {
    origin: Instant,
    elapsed: Arc<Mutex<Duration>>,
}

impl ManualClock {
    /// A clock at its origin (elapsed zero).
    pub fn new() -> ManualClock {
        ManualClock { origin: Instant::now(), elapsed: Arc::new(Mutex::new(Duration::ZERO)) }
    }

    /// The instant the clock started at.
    pub fn origin(&self) -> Instant {
        self.origin
    }

    /// The virtual time since the origin.
    pub fn elapsed(&self) -> Duration {
        *self.elapsed.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut elapsed = self.elapsed.lock().unwrap_or_else(PoisonError::into_inner);
        *elapsed = elapsed.saturating_add(by);
    }

    /// Sets the virtual time since the origin. Setting it backwards is
    /// allowed; the engine treats an earlier `now` as no time passing.
    pub fn set_elapsed(&self, elapsed: Duration) {
        *self.elapsed.lock().unwrap_or_else(PoisonError::into_inner) = elapsed;
    }
}

impl Default for ManualClock {
    fn default() -> ManualClock {
        ManualClock::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        self.origin + self.elapsed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_the_time() {
        let clock = ManualClock::new();
        let other = clock.clone();
        clock.advance(Duration::from_millis(1500));
        assert_eq!(other.elapsed(), Duration::from_millis(1500));
        other.set_elapsed(Duration::from_secs(1));
        assert_eq!(clock.now(), clock.origin() + Duration::from_secs(1));
    }

    #[test]
    fn shared_clocks_are_clocks() {
        let clock = Arc::new(ManualClock::new());
        clock.advance(Duration::from_secs(2));
        let by_ref: &dyn Clock = &clock;
        assert_eq!(by_ref.now(), clock.origin() + Duration::from_secs(2));
    }
}
