//! Attempt timeouts, watched by one task per client and runtime.
//!
//! Every attempt has a time limit, the earlier of its per-attempt timeout
//! and the deadline, and nearly every attempt ends long before it. A tokio
//! timer per attempt would pay, on every attempt, for what only a hung
//! attempt needs: a timer entry polled beside the request, with its
//! coop-budget check and its waker registration, and the entry taken from
//! and given back to somewhere.
//!
//! So a client's attempts do not have timers of their own. An attempt that
//! has to wait writes its time limit and its task's waker into a slot of
//! the client's table for its runtime, and frees the slot when it ends: a
//! lock and a few stores each way. One task per client and runtime, the
//! **watchdog**, spawned with the first attempt that waits there, holds the
//! only tokio timer, set to the earliest time limit among the waiting
//! attempts. When it fires, the watchdog wakes every attempt whose time is
//! up and sets its timer to the earliest limit left. The time limits are
//! exact: an attempt is woken when its limit passes, not at a coarser tick.
//!
//! - **When the watchdog wakes.** An attempt whose limit is earlier than
//!   the watchdog's next look (or that comes while the watchdog has nothing
//!   to watch) wakes it, so that it sets its timer earlier. The attempts of
//!   a client have the same timeout, so this happens about once per
//!   busy period; otherwise the watchdog wakes once per time limit's
//!   length (20 s with canon's default policy) while the client is busy,
//!   at the limit of an attempt that has since ended, and finds the next
//!   earliest. When it finds no attempt waiting, it waits without a timer:
//!   **an idle client wakes nothing.**
//! - **Slots** are reused, the latest freed first; a freed slot keeps its
//!   waker until the watchdog's next look, so that the next attempt of the
//!   same task (one request after another) need not clone it again. A
//!   table holds at most as many slots as the client had attempts waiting
//!   at once on that runtime, and an attempt dropped before it ends frees
//!   its slot like one that ends.
//! - **Waking**: an attempt checks its limit against tokio's clock when it
//!   is polled again and still waits; an attempt that is polled with a
//!   different waker (moved to another task) stores the new one.
//! - **Lifetimes.** The watchdog holds the client's table weakly. When the
//!   client is dropped, every watchdog is woken and ends. When a runtime
//!   shuts down, its watchdog is dropped with its tasks and takes the
//!   runtime's table with it. Both work on `current_thread` and
//!   `multi_thread` runtimes, and on tokio's paused clock: the watchdog's
//!   timer is what the clock advances to.
//!
//! Like [`tokio::time::sleep`], an attempt must be polled inside a tokio
//! runtime, which drives its timers and runs spawned tasks (a
//! `current_thread` runtime does so inside `Runtime::block_on`).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::task::{Context, Poll, Waker};

use tokio::runtime::{Handle, Id};
use tokio::time::{Instant, Sleep};

/// A client's attempts that wait, by runtime, and the watchdogs that watch
/// them.
pub(crate) struct Timers {
    table: Arc<Mutex<Table>>,
}

impl Default for Timers {
    fn default() -> Timers {
        Timers { table: Arc::new(Mutex::new(Table::default())) }
    }
}

#[derive(Default)]
struct Table {
    runtimes: Vec<Runtime>,
    /// The number the next runtime's entry gets.
    next_serial: u64,
    /// Set when the client is dropped: the watchdogs end.
    closed: bool,
}

/// The waiting attempts of one runtime.
struct Runtime {
    id: Id,
    /// This entry's number, unique within the client: a runtime's id is
    /// unique too, but the number is what a watchdog and its attempts find
    /// their entry by, so that nothing outlives an entry by mistake.
    serial: u64,
    slots: Vec<Slot>,
    /// Free slots, the latest freed last.
    free: Vec<u32>,
    /// When the watchdog looks next; `None` when it waits without a timer.
    next_look: Option<Instant>,
    /// The watchdog's waker, to make it look sooner; `None` before its first
    /// poll and after it was woken.
    watchdog: Option<Waker>,
    /// How many times the watchdog has looked (for the tests).
    looks: u64,
}

struct Slot {
    until: Instant,
    phase: Phase,
    /// The waiting attempt's waker; in a free slot, the last attempt's, kept
    /// until the watchdog's next look.
    waker: Option<Waker>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Free,
    Waiting,
    /// The watchdog has woken the attempt: its time is up.
    Fired,
}

fn lock(table: &Mutex<Table>) -> MutexGuard<'_, Table> {
    table.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Table {
    fn runtime(&mut self, serial: u64) -> Option<&mut Runtime> {
        self.runtimes.iter_mut().find(|runtime| runtime.serial == serial)
    }
}

impl Runtime {
    /// A slot for an attempt that waits until `until`, and the waker the
    /// slot held before, to be dropped outside the lock.
    fn take_slot(&mut self, until: Instant, waker: &Waker) -> (u32, Option<Waker>) {
        let index = match self.free.pop() {
            Some(index) => index,
            None => {
                self.slots.push(Slot { until, phase: Phase::Free, waker: None });
                u32::try_from(self.slots.len() - 1).expect("fewer than 2^32 attempts wait at once")
            }
        };
        let slot = &mut self.slots[index as usize];
        slot.until = until;
        slot.phase = Phase::Waiting;
        let old = match &slot.waker {
            Some(kept) if kept.will_wake(waker) => None,
            _ => slot.waker.replace(waker.clone()),
        };
        (index, old)
    }
}

/// Which task a waker wakes, to tell without a lock whether the waker kept
/// in an attempt's slot is still the one to wake.
///
/// Sound because the slot holds a clone of the waker it was taken from,
/// which keeps its task (and so the task's address) alive.
#[derive(Clone, Copy, PartialEq, Eq)]
struct WakerId {
    data: usize,
    vtable: usize,
}

impl WakerId {
    fn of(waker: &Waker) -> WakerId {
        WakerId { data: waker.data() as usize, vtable: std::ptr::from_ref(waker.vtable()) as usize }
    }
}

/// An attempt's place in its client's table.
struct Watch {
    serial: u64,
    index: u32,
    waker: WakerId,
}

impl Timers {
    /// A time limit at `until` for an attempt. Costs nothing until the
    /// attempt first waits; give it back with [`release`](Timers::release)
    /// when the attempt ends.
    pub(crate) fn arm(&self, until: Instant) -> Armed {
        Armed { until, watch: None }
    }

    /// Takes back the time limit of an attempt that ended (or was dropped).
    pub(crate) fn release(&self, armed: Armed) {
        let Some(watch) = armed.watch else { return };
        let mut table = lock(&self.table);
        if let Some(runtime) = table.runtime(watch.serial) {
            runtime.slots[watch.index as usize].phase = Phase::Free;
            runtime.free.push(watch.index);
        }
    }

    /// [`arm`](Timers::arm), as a time limit that is given back when
    /// dropped.
    pub(crate) fn start(&self, until: Instant) -> Timer<'_> {
        Timer::adopt(self, self.arm(until))
    }

    /// Writes an attempt that waits until `until` into the table of the
    /// current runtime, starting that runtime's watchdog if it has none,
    /// and hurrying it if it would look too late.
    fn watch(&self, until: Instant, waker: &Waker) -> Watch {
        let handle = Handle::current();
        let id = handle.id();
        let mut start = None;
        let (watch, old, hurry) = {
            let mut guard = lock(&self.table);
            let table = &mut *guard;
            let position = match table.runtimes.iter().position(|runtime| runtime.id == id) {
                Some(position) => position,
                None => {
                    let serial = table.next_serial;
                    table.next_serial += 1;
                    table.runtimes.push(Runtime {
                        id,
                        serial,
                        slots: Vec::new(),
                        free: Vec::new(),
                        next_look: None,
                        watchdog: None,
                        looks: 0,
                    });
                    start = Some(serial);
                    table.runtimes.len() - 1
                }
            };
            let runtime = &mut table.runtimes[position];
            let (index, old) = runtime.take_slot(until, waker);
            let mut hurry = None;
            if runtime.next_look.is_none_or(|at| until < at) {
                runtime.next_look = Some(until);
                hurry = runtime.watchdog.take();
            }
            (Watch { serial: runtime.serial, index, waker: WakerId::of(waker) }, old, hurry)
        };
        drop(old);
        if let Some(serial) = start {
            handle.spawn(Watchdog { table: Arc::downgrade(&self.table), serial, sleep: None });
        }
        if let Some(watchdog) = hurry {
            watchdog.wake();
        }
        watch
    }

    /// Stores `waker` as the one to wake for `watch`'s attempt.
    fn rewake(&self, watch: &mut Watch, waker: &Waker) {
        let old = {
            let mut table = lock(&self.table);
            table.runtime(watch.serial).and_then(|runtime| runtime.slots[watch.index as usize].waker.replace(waker.clone()))
        };
        watch.waker = WakerId::of(waker);
        drop(old);
    }
}

impl Drop for Timers {
    /// The client is gone: every watchdog is woken, and ends.
    fn drop(&mut self) {
        let watchdogs: Vec<Waker> = {
            let mut table = lock(&self.table);
            table.closed = true;
            table.runtimes.iter_mut().filter_map(|runtime| runtime.watchdog.take()).collect()
        };
        for watchdog in watchdogs {
            watchdog.wake();
        }
    }
}

/// One attempt's time limit, owned: it goes back to its client only through
/// [`Timers::release`] (dropped, a limit that was watched keeps its slot
/// taken until its runtime's table goes).
pub(crate) struct Armed {
    /// When the attempt's time is up.
    until: Instant,
    /// Its slot, once the attempt has waited.
    watch: Option<Watch>,
}

impl Armed {
    /// Whether the time is up; if not, the task is woken when it is. The
    /// first call only writes the attempt into the table: an attempt waits
    /// at least once before its time can be up.
    pub(crate) fn poll_expired(&mut self, timers: &Timers, cx: &mut Context<'_>) -> Poll<()> {
        match &mut self.watch {
            None => {
                self.watch = Some(timers.watch(self.until, cx.waker()));
                Poll::Pending
            }
            Some(watch) => {
                if Instant::now() >= self.until {
                    return Poll::Ready(());
                }
                if watch.waker != WakerId::of(cx.waker()) {
                    timers.rewake(watch, cx.waker());
                }
                Poll::Pending
            }
        }
    }
}

/// One attempt's time limit; given back when dropped.
pub(crate) struct Timer<'a> {
    timers: &'a Timers,
    armed: Option<Armed>,
}

impl<'a> Timer<'a> {
    /// `armed`, given back to `timers` when dropped.
    pub(crate) fn adopt(timers: &'a Timers, armed: Armed) -> Timer<'a> {
        Timer { timers, armed: Some(armed) }
    }

    /// Whether the time is up; if not, the task is woken when it is.
    pub(crate) fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        match &mut self.armed {
            Some(armed) => armed.poll_expired(self.timers, cx),
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

/// The task that wakes a runtime's attempts whose time is up.
struct Watchdog {
    table: Weak<Mutex<Table>>,
    serial: u64,
    /// The one timer, made at the first look that needs it.
    sleep: Option<Pin<Box<Sleep>>>,
}

impl Future for Watchdog {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let Some(table) = this.table.upgrade() else { return Poll::Ready(()) };
        // Woken and dropped outside the lock.
        let mut expired: Vec<Waker> = Vec::new();
        let mut unused: Vec<Waker> = Vec::new();
        let poll = loop {
            let mut guard = lock(&table);
            if guard.closed {
                break Poll::Ready(());
            }
            let Some(runtime) = guard.runtime(this.serial) else { break Poll::Ready(()) };
            runtime.looks += 1;
            let now = Instant::now();
            let mut earliest: Option<Instant> = None;
            for slot in &mut runtime.slots {
                match slot.phase {
                    Phase::Waiting if slot.until <= now => {
                        slot.phase = Phase::Fired;
                        expired.extend(slot.waker.clone());
                    }
                    Phase::Waiting => earliest = Some(earliest.map_or(slot.until, |at| at.min(slot.until))),
                    Phase::Fired => {}
                    Phase::Free => unused.extend(slot.waker.take()),
                }
            }
            runtime.next_look = earliest;
            match &runtime.watchdog {
                Some(kept) if kept.will_wake(cx.waker()) => {}
                _ => unused.extend(runtime.watchdog.replace(cx.waker().clone())),
            }
            drop(guard);
            let Some(at) = earliest else { break Poll::Pending };
            let sleep = this.sleep.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at)));
            if sleep.deadline() != at {
                sleep.as_mut().reset(at);
            }
            if sleep.as_mut().poll(cx).is_pending() {
                break Poll::Pending;
            }
            // `at` has passed meanwhile: look again.
        };
        drop(table);
        for waker in expired {
            waker.wake();
        }
        drop(unused);
        poll
    }
}

impl Drop for Watchdog {
    /// The runtime is shutting down (or the client is gone): the runtime's
    /// table goes with its watchdog.
    fn drop(&mut self) {
        let Some(table) = self.table.upgrade() else { return };
        let removed = {
            let mut table = lock(&table);
            let position = table.runtimes.iter().position(|runtime| runtime.serial == self.serial);
            position.map(|position| table.runtimes.swap_remove(position))
        };
        drop(removed);
    }
}

#[cfg(test)]
mod tests {
    use std::future::poll_fn;
    use std::time::Duration;

    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Waits for `timer` to expire; gives the time it took.
    async fn expiry(timers: &Timers, until: Instant) -> Duration {
        let started = Instant::now();
        let mut timer = timers.start(until);
        poll_fn(|cx| timer.poll_expired(cx)).await;
        started.elapsed()
    }

    /// Polls `timer` once, as an attempt that waits does.
    async fn wait_once(timer: &mut Timer<'_>) -> Poll<()> {
        poll_fn(|cx| Poll::Ready(timer.poll_expired(cx))).await
    }

    /// The runtime entries of `timers`: (slots, free slots, looks).
    fn entries(timers: &Timers) -> Vec<(usize, usize, u64)> {
        lock(&timers.table).runtimes.iter().map(|r| (r.slots.len(), r.free.len(), r.looks)).collect()
    }

    /// Attempts waiting at once, each with its own time limit (in ms from
    /// the start, in any order), each expire at their own limit, on
    /// tokio's paused clock: exactly, not at a coarser tick.
    #[tokio::test(start_paused = true)]
    async fn each_attempt_expires_at_its_own_limit() {
        let table: [&[u64]; 5] = [&[20_000], &[50, 30, 70], &[1_000, 5, 1_000], &[300; 4], &[0, 10]];
        for limits in table {
            let timers = Timers::default();
            let started = Instant::now();
            let waits = limits.iter().map(|&limit| expiry(&timers, started + ms(limit)));
            let took = futures_join_all(waits).await;
            for (&limit, took) in limits.iter().zip(took) {
                assert!(took >= ms(limit) && took <= ms(limit + 1), "{limits:?}: {limit} ms took {took:?}");
            }
            let (slots, free, _) = entries(&timers)[0];
            assert_eq!((slots, free), (limits.len(), limits.len()), "{limits:?}: every slot was freed");
        }
    }

    /// Joins futures on the current task, without another dependency.
    async fn futures_join_all<F: Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
        let mut futures: Vec<_> = futures.map(|f| Some(Box::pin(f))).collect();
        let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
        poll_fn(|cx| {
            for (future, output) in futures.iter_mut().zip(&mut outputs) {
                if let Some(running) = future {
                    if let Poll::Ready(value) = running.as_mut().poll(cx) {
                        *output = Some(value);
                        *future = None;
                    }
                }
            }
            if outputs.iter().all(Option::is_some) { Poll::Ready(()) } else { Poll::Pending }
        })
        .await;
        outputs.into_iter().map(|output| output.expect("every future finished")).collect()
    }

    /// Attempts that end before their limit cost the watchdog no wake-up of
    /// its own beyond the first: it looks again only at the earliest limit,
    /// and when nothing waits any more it keeps no timer, so an idle client
    /// wakes nothing, however long it stays idle.
    #[tokio::test(start_paused = true)]
    async fn an_idle_client_wakes_nothing() {
        let timers = Timers::default();
        for _ in 0..100 {
            let mut timer = timers.start(Instant::now() + Duration::from_secs(20));
            assert!(wait_once(&mut timer).await.is_pending());
            tokio::time::sleep(ms(10)).await;
        }
        // One watchdog, one slot, reused by every attempt of this task.
        let [(slots, free, looks)] = entries(&timers)[..] else { panic!("one runtime") };
        assert_eq!((slots, free), (1, 1));
        assert!(looks <= 2, "{looks} looks while busy");
        // The look at the first limit finds nothing waiting; then nothing.
        tokio::time::sleep(Duration::from_secs(3600)).await;
        let looks_after = entries(&timers)[0].2;
        assert_eq!(looks_after, looks + 1, "one look at the stale limit, then none");
        assert_eq!(lock(&timers.table).runtimes[0].next_look, None);
        tokio::time::sleep(Duration::from_secs(24 * 3600)).await;
        assert_eq!(entries(&timers)[0].2, looks_after);
    }

    /// An attempt dropped while it waits frees its slot; a later attempt
    /// whose limit is earlier than the watchdog's next look is still woken
    /// on time.
    #[tokio::test(start_paused = true)]
    async fn a_dropped_attempt_frees_its_slot_and_an_earlier_limit_hurries_the_watchdog() {
        let timers = Timers::default();
        let started = Instant::now();
        let mut long = timers.start(started + Duration::from_secs(20));
        assert!(wait_once(&mut long).await.is_pending());
        tokio::task::yield_now().await;
        assert_eq!(lock(&timers.table).runtimes[0].next_look, Some(started + Duration::from_secs(20)));
        let took = expiry(&timers, started + ms(40)).await;
        assert_eq!(took, ms(40));
        drop(long);
        assert_eq!(entries(&timers)[0].0, 2);
        assert_eq!(entries(&timers)[0].1, 2);
    }

    /// On a multi-thread runtime, with attempts on several tasks, every
    /// limit fires (real time, so only a lower bound is checked).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn limits_fire_on_a_multi_thread_runtime() {
        let timers = Arc::new(Timers::default());
        let tasks: Vec<_> = (0..8u64)
            .map(|n| {
                let timers = Arc::clone(&timers);
                tokio::spawn(async move { expiry(&timers, Instant::now() + ms(10 + 5 * n)).await >= ms(10 + 5 * n) })
            })
            .collect();
        for task in tasks {
            assert!(task.await.unwrap());
        }
    }

    /// The watchdog ends when its client is dropped, and a runtime's table
    /// goes with the runtime.
    #[test]
    fn watchdogs_end_with_their_client_and_their_runtime() {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
        let timers = Timers::default();
        runtime.block_on(async {
            let mut timer = timers.start(Instant::now() + Duration::from_secs(20));
            assert!(wait_once(&mut timer).await.is_pending());
            tokio::task::yield_now().await;
            assert_eq!(tokio::runtime::Handle::current().metrics().num_alive_tasks(), 1, "the watchdog");
        });
        assert_eq!(entries(&timers).len(), 1);
        drop(runtime);
        assert!(entries(&timers).is_empty(), "the runtime's table went with it");

        let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        runtime.block_on(async {
            let timers = Timers::default();
            let mut timer = timers.start(Instant::now() + Duration::from_secs(20));
            assert!(wait_once(&mut timer).await.is_pending());
            tokio::task::yield_now().await;
            drop(timer);
            drop(timers);
            tokio::task::yield_now().await;
            assert_eq!(tokio::runtime::Handle::current().metrics().num_alive_tasks(), 0, "the watchdog ended");
        });
    }
}
