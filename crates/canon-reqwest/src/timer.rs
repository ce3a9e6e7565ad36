//! Attempt timers, reused from one attempt to the next.
//!
//! Every attempt runs under one tokio timer, set to the earlier of its
//! per-attempt timeout and the deadline. Most of a tokio timer's cost is
//! putting it into the runtime's timer wheel and taking it out again (a
//! lock and a list update each way), not waiting on it. A timer that is
//! still in the wheel, though, can be moved to a later deadline for the
//! price of one atomic update: the wheel notices only when the old deadline
//! comes, and files the timer again under the new one.
//!
//! So a client keeps the timers of its finished attempts, each with the id
//! of the runtime it belongs to, and the next attempt on that runtime takes
//! one of them rather than making a new one. Attempts of the same client
//! have the same timeout, so the timer taken is nearly always due before
//! the new attempt's time is up; it is then left as it is (not even the
//! atomic update), and moved on to the attempt's own deadline only if it
//! fires while the attempt still runs. A timer due later than the new
//! deadline is moved there at once, and tokio files it again, which costs
//! what a new timer would.
//!
//! What this costs: at most [`MAX_IDLE`] idle timers per client, each in
//! its runtime's wheel until it is reused or its deadline passes. An idle
//! timer still holds the waker of the last attempt that waited on it (tokio
//! has no way to clear it without polling, which a timer whose runtime is
//! shutting down must not be); when its deadline passes, the runtime wakes
//! that task once, which finds nothing to do, and drops the waker. A timer
//! that has fired is not kept: filing it again would cost what a new one
//! costs.

use std::pin::Pin;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};

use tokio::runtime::{Handle, Id};
use tokio::time::{Instant, Sleep};

/// The most idle timers a client keeps.
pub(crate) const MAX_IDLE: usize = 64;

/// A client's idle timers, each with the id of its runtime.
#[derive(Default)]
pub(crate) struct Timers {
    idle: Mutex<Vec<(Id, Pin<Box<Sleep>>)>>,
}

impl Timers {
    fn idle(&self) -> MutexGuard<'_, Vec<(Id, Pin<Box<Sleep>>)>> {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A timer that expires at `until`, on the current runtime: an idle one
    /// moved there, or a new one. Must be called inside a tokio runtime,
    /// like [`tokio::time::sleep_until`]. Give it back with
    /// [`release`](Timers::release) when the attempt ends.
    pub(crate) fn arm(&self, until: Instant) -> Armed {
        let runtime = Handle::current().id();
        let idle = {
            let mut idle = self.idle();
            idle.iter().rposition(|(id, _)| *id == runtime).map(|index| idle.swap_remove(index).1)
        };
        let sleep = match idle {
            // A timer due no later than `until` is kept as it is: when it
            // fires, `poll_expired` moves it on to `until`.
            Some(sleep) if sleep.deadline() <= until => sleep,
            Some(mut sleep) => {
                sleep.as_mut().reset(until);
                sleep
            }
            None => Box::pin(tokio::time::sleep_until(until)),
        };
        Armed { runtime, sleep, until }
    }

    /// Takes back the timer of a finished attempt, for the next one, unless
    /// it has fired.
    pub(crate) fn release(&self, armed: Armed) {
        let Armed { runtime, sleep, .. } = armed;
        if sleep.is_elapsed() {
            return;
        }
        let evicted = {
            let mut idle = self.idle();
            // When full, the oldest goes: it may belong to a runtime that is
            // gone, whose timers would otherwise fill the list for good.
            let evicted = (idle.len() >= MAX_IDLE).then(|| idle.remove(0));
            idle.push((runtime, sleep));
            evicted
        };
        // Dropped outside the lock: dropping a timer takes the wheel's lock.
        drop(evicted);
    }

    /// [`arm`](Timers::arm), as a timer that goes back to these timers when
    /// dropped.
    pub(crate) fn start(&self, until: Instant) -> Timer<'_> {
        Timer::adopt(self, self.arm(until))
    }
}

/// One attempt's timer, owned: it goes back to its client's idle timers
/// only through [`Timers::release`] (dropped, it is simply dropped).
pub(crate) struct Armed {
    runtime: Id,
    sleep: Pin<Box<Sleep>>,
    /// When the attempt's time is up; the timer may be due earlier.
    until: Instant,
}

impl Armed {
    /// Whether `until` has passed; if not, wakes the task when it does.
    pub(crate) fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            std::task::ready!(self.sleep.as_mut().poll(cx));
            if self.sleep.deadline() >= self.until {
                return Poll::Ready(());
            }
            // A reused timer that was due earlier: on to `until`.
            self.sleep.as_mut().reset(self.until);
        }
    }
}

/// One attempt's timer; back to its client's idle timers when dropped.
pub(crate) struct Timer<'a> {
    timers: &'a Timers,
    armed: Option<Armed>,
}

impl<'a> Timer<'a> {
    /// `armed`, going back to `timers` when dropped.
    pub(crate) fn adopt(timers: &'a Timers, armed: Armed) -> Timer<'a> {
        Timer { timers, armed: Some(armed) }
    }

    /// Whether the timer has expired; if not, wakes the task when it does.
    pub(crate) fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        match &mut self.armed {
            Some(armed) => armed.poll_expired(cx),
            None => Poll::Ready(()),
        }
    }
}

impl Drop for Timer<'_> {
    fn drop(&mut self) {
        if let Some(armed) = self.armed.take() {
            self.timers.release(armed);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::future::poll_fn;
    use std::time::Duration;

    use super::*;

    /// Registers the timer with the wheel, as an attempt that waits does.
    async fn wait_once(timer: &mut Timer<'_>) -> Poll<()> {
        poll_fn(|cx| Poll::Ready(timer.poll_expired(cx))).await
    }

    /// A timer comes back to the idle list, is reused by the next attempt,
    /// and expires at its new deadline; one that fired is not kept.
    #[tokio::test]
    async fn a_reused_timer_expires_at_its_new_deadline() {
        let timers = Timers::default();
        {
            let mut timer = timers.start(Instant::now() + Duration::from_secs(20));
            assert!(wait_once(&mut timer).await.is_pending());
        }
        assert_eq!(timers.idle().len(), 1);
        let started = Instant::now();
        let mut timer = timers.start(started + Duration::from_millis(30));
        assert!(timers.idle().is_empty(), "the idle timer was reused");
        poll_fn(|cx| timer.poll_expired(cx)).await;
        assert!(started.elapsed() >= Duration::from_millis(30));
        assert!(started.elapsed() < Duration::from_secs(20), "not at the old deadline");
        drop(timer);
        assert!(timers.idle().is_empty(), "a timer that fired is not kept");
    }

    /// A timer moved to a later deadline does not expire at its old one.
    #[tokio::test]
    async fn a_timer_moved_later_waits_for_its_new_deadline() {
        let timers = Timers::default();
        let started = Instant::now();
        {
            let mut timer = timers.start(started + Duration::from_millis(10));
            assert!(wait_once(&mut timer).await.is_pending());
        }
        let mut timer = timers.start(started + Duration::from_millis(60));
        poll_fn(|cx| timer.poll_expired(cx)).await;
        assert!(started.elapsed() >= Duration::from_millis(60));
    }

    /// The idle list holds at most `MAX_IDLE` timers.
    #[tokio::test]
    async fn the_idle_list_is_bounded() {
        let timers = Timers::default();
        let until = Instant::now() + Duration::from_secs(20);
        let held: Vec<Timer<'_>> = (0..MAX_IDLE + 3).map(|_| timers.start(until)).collect();
        drop(held);
        assert_eq!(timers.idle().len(), MAX_IDLE);
    }
}
