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
//! has to wait holds a slot of the client's table for its runtime, with its
//! time limit and its task's waker. One task per client and runtime, the
//! **watchdog**, spawned with the first attempt that waits there, holds the
//! only tokio timer, set to the earliest time limit among the slots that
//! wait. When it fires, the watchdog wakes every task whose time is up and
//! sets its timer to the earliest limit left. The time limits are exact: a
//! task is woken when its limit passes, not at a coarser tick.
//!
//! **A slot stays with its task.** When an attempt ends, its slot is not
//! given back: it goes to a one-slot cache of the thread, still waiting
//! under its old limit. The next attempt on that thread takes it back
//! without a lock if it is the same client's and the same task's (the same
//! waker), its old limit is not later than the new one, and no slot of the
//! client has fired since (a counter, read atomically). Attempts of a
//! client have the same timeout, so one request after another on a task,
//! the usual case, costs no lock, no clock read and no atomic write at all.
//! The slot's old limit is earlier than the attempt's: when it passes, the
//! watchdog wakes the task once, the attempt finds its own time not up,
//! and moves its slot on to its own limit (under the lock). So a task that
//! sends request after request is woken once per time limit's length
//! (20 s with canon's default policy) for nothing.
//!
//! - **When the watchdog wakes.** An attempt whose limit is earlier than
//!   the watchdog's next look (or that comes while the watchdog has nothing
//!   to watch) wakes it, so that it sets its timer earlier. Otherwise the
//!   watchdog wakes once per time limit's length while the client is busy.
//!   When it finds no slot waiting, it waits without a timer: **an idle
//!   client wakes nothing**, except, once, the tasks whose slots were left
//!   cached when it went idle (one per thread at most), at their old limits.
//! - **Slots.** A slot given back is reused, the latest freed first, and
//!   keeps its waker until the watchdog's next look. A table holds at most
//!   as many slots as the client had attempts waiting at once on that
//!   runtime, plus one per thread's cache; a slot cached by a thread goes
//!   back to its table when the thread caches another slot, when a task
//!   cannot take it back, and when the thread ends. An attempt dropped
//!   before it ends gives its slot back like one that ends.
//! - **Waking**: an attempt checks its limit against tokio's clock when it
//!   is polled again and still waits; an attempt that is polled with a
//!   different waker (moved to another task), or after a slot of its
//!   client fired, updates its slot under the lock.
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

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::task::{Context, Poll, Waker};

use tokio::runtime::{Handle, Id};
use tokio::time::{Instant, Sleep};

/// The number the next client's timers get, so that a thread's cached slot
/// is never taken for another client's.
static NEXT_TIMERS: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// The slot of the last attempt that ended on this thread.
    static CACHED: CachedSlot = const { CachedSlot(Cell::new(None)) };
}

/// A client's attempts that wait, by runtime, and the watchdogs that watch
/// them.
pub(crate) struct Timers {
    /// This client's number.
    id: u64,
    state: Arc<State>,
}

impl Default for Timers {
    fn default() -> Timers {
        Timers {
            id: NEXT_TIMERS.fetch_add(1, Ordering::Relaxed),
            state: Arc::new(State { table: Mutex::new(Table::default()), fired: AtomicU64::new(0) }),
        }
    }
}

struct State {
    table: Mutex<Table>,
    /// How many times a slot of this client has fired, or a runtime's table
    /// gone: a slot cached before is taken back only under the lock. Written
    /// under the table's lock.
    fired: AtomicU64,
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
    /// The waiting task's waker; in a free slot, the last task's, kept
    /// until the watchdog's next look.
    waker: Option<Waker>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Free,
    Waiting,
    /// The watchdog has woken the task: the slot's time is up.
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
    /// A slot for a task that waits until `until`, and the waker the slot
    /// held before, to be dropped outside the lock.
    fn take_slot(&mut self, until: Instant, waker: &Waker) -> (u32, Option<Waker>) {
        let index = match self.free.pop() {
            Some(index) => index,
            None => {
                self.slots.push(Slot { until, phase: Phase::Free, waker: None });
                u32::try_from(self.slots.len() - 1).expect("fewer than 2^32 attempts wait at once")
            }
        };
        let old = self.set(index, until, waker);
        (index, old)
    }

    /// Makes slot `index` wait until `until` for `waker`'s task; gives the
    /// waker it held before, if it was another one.
    fn set(&mut self, index: u32, until: Instant, waker: &Waker) -> Option<Waker> {
        let slot = &mut self.slots[index as usize];
        slot.until = until;
        slot.phase = Phase::Waiting;
        match &slot.waker {
            Some(kept) if kept.will_wake(waker) => None,
            _ => slot.waker.replace(waker.clone()),
        }
    }

    /// Makes the watchdog look by `until`: the waker to wake, if it must be
    /// hurried.
    fn look_by(&mut self, until: Instant) -> Option<Waker> {
        if self.next_look.is_none_or(|at| until < at) {
            self.next_look = Some(until);
            return self.watchdog.take();
        }
        None
    }
}

/// Which task a waker wakes, to tell without a lock whether the waker kept
/// in a slot is still the one to wake.
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

/// A slot held by an attempt or by a thread's cache.
struct Watch {
    state: Weak<State>,
    serial: u64,
    index: u32,
    /// The task the slot wakes.
    waker: WakerId,
    /// The slot's time limit, which may be earlier than the attempt's.
    until: Instant,
    /// The client's count of fired slots when the slot was last set.
    fired: u64,
}

impl Watch {
    /// Gives the slot back to its table, if the table and its runtime's
    /// entry are still there.
    fn free(self) {
        let Some(state) = self.state.upgrade() else { return };
        let mut table = lock(&state.table);
        if let Some(runtime) = table.runtime(self.serial) {
            runtime.slots[self.index as usize].phase = Phase::Free;
            runtime.free.push(self.index);
        }
    }
}

/// A thread's cache of one slot; the slot goes back to its table when the
/// thread ends.
struct CachedSlot(Cell<Option<(u64, Watch)>>);

impl Drop for CachedSlot {
    fn drop(&mut self) {
        if let Some((_, watch)) = self.0.take() {
            watch.free();
        }
    }
}

impl Timers {
    /// A time limit at `until` for an attempt. Costs nothing until the
    /// attempt first waits; give it back with [`release`](Timers::release)
    /// when the attempt ends.
    pub(crate) fn arm(&self, until: Instant) -> Armed {
        Armed { until, watch: None }
    }

    /// Takes back the time limit of an attempt that ended (or was dropped):
    /// its slot goes to the thread's cache, for the task's next attempt.
    pub(crate) fn release(&self, mut armed: Armed) {
        let Some(watch) = armed.watch.take() else { return };
        let mut watch = Some(watch);
        let evicted = CACHED.try_with(|cached| cached.0.replace(watch.take().map(|watch| (self.id, watch))));
        // Freed outside the cache: freeing takes a lock.
        if let Ok(Some((_, evicted))) = evicted {
            evicted.free();
        }
        // A thread that is ending has no cache any more.
        if let Some(watch) = watch {
            watch.free();
        }
    }

    /// [`arm`](Timers::arm), as a time limit that is given back when
    /// dropped.
    pub(crate) fn start(&self, until: Instant) -> Timer<'_> {
        Timer::adopt(self, self.arm(until))
    }

    /// A slot for an attempt that waits until `until`: the thread's cached
    /// slot if this task can take it back, else one of the current
    /// runtime's table.
    fn watch(&self, until: Instant, waker: &Waker) -> Watch {
        let cached = CACHED.try_with(|cached| cached.0.take()).ok().flatten();
        if let Some((id, watch)) = cached {
            if id == self.id
                && watch.until <= until
                && watch.waker == WakerId::of(waker)
                && watch.fired == self.state.fired.load(Ordering::Acquire)
            {
                return watch;
            }
            watch.free();
        }
        self.watch_locked(until, waker)
    }

    /// A slot of the current runtime's table, starting that runtime's
    /// watchdog if it has none, and hurrying it if it would look too late.
    fn watch_locked(&self, until: Instant, waker: &Waker) -> Watch {
        let handle = Handle::current();
        let id = handle.id();
        let mut start = None;
        let (watch, old, hurry) = {
            let mut guard = lock(&self.state.table);
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
            let hurry = runtime.look_by(until);
            let watch = Watch {
                state: Arc::downgrade(&self.state),
                serial: runtime.serial,
                index,
                waker: WakerId::of(waker),
                until,
                fired: self.state.fired.load(Ordering::Acquire),
            };
            (watch, old, hurry)
        };
        drop(old);
        if let Some(serial) = start {
            handle.spawn(Watchdog { state: Arc::downgrade(&self.state), serial, sleep: None });
        }
        if let Some(watchdog) = hurry {
            watchdog.wake();
        }
        watch
    }

    /// Sets `watch`'s slot again, under the lock: to `until`, for `waker`'s
    /// task. Gives a new slot if the slot's runtime entry is gone.
    fn rewatch(&self, watch: &mut Watch, until: Instant, waker: &Waker) {
        let set = {
            let mut table = lock(&self.state.table);
            let fired = self.state.fired.load(Ordering::Acquire);
            table.runtime(watch.serial).map(|runtime| {
                let old = runtime.set(watch.index, until, waker);
                (old, runtime.look_by(until), fired)
            })
        };
        match set {
            Some((old, hurry, fired)) => {
                watch.waker = WakerId::of(waker);
                watch.until = until;
                watch.fired = fired;
                drop(old);
                if let Some(watchdog) = hurry {
                    watchdog.wake();
                }
            }
            None => *watch = self.watch_locked(until, waker),
        }
    }
}

impl Drop for Timers {
    /// The client is gone: every watchdog is woken, and ends.
    fn drop(&mut self) {
        let watchdogs: Vec<Waker> = {
            let mut table = lock(&self.state.table);
            table.closed = true;
            table.runtimes.iter_mut().filter_map(|runtime| runtime.watchdog.take()).collect()
        };
        for watchdog in watchdogs {
            watchdog.wake();
        }
    }
}

/// One attempt's time limit, owned: its slot goes to the thread's cache,
/// for the task's next attempt, through [`Timers::release`]; dropped, it
/// gives its slot back to its table.
pub(crate) struct Armed {
    /// When the attempt's time is up.
    until: Instant,
    /// Its slot, once the attempt has waited.
    watch: Option<Watch>,
}

impl Drop for Armed {
    fn drop(&mut self) {
        if let Some(watch) = self.watch.take() {
            watch.free();
        }
    }
}

impl Armed {
    /// Whether the time is up; if not, the task is woken when it is. The
    /// first call only takes a slot: an attempt waits at least once before
    /// its time can be up.
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
                // Woken by a slot that fired (the slot's own old limit, or
                // a sign that it may have), or polled by another task.
                if watch.fired != timers.state.fired.load(Ordering::Acquire) || watch.waker != WakerId::of(cx.waker()) {
                    timers.rewatch(watch, self.until, cx.waker());
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
    state: Weak<State>,
    serial: u64,
    /// The one timer, made at the first look that needs it.
    sleep: Option<Pin<Box<Sleep>>>,
}

impl Future for Watchdog {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let Some(state) = this.state.upgrade() else { return Poll::Ready(()) };
        // Woken and dropped outside the lock.
        let mut expired: Vec<Waker> = Vec::new();
        let mut unused: Vec<Waker> = Vec::new();
        let poll = loop {
            let mut guard = lock(&state.table);
            if guard.closed {
                break Poll::Ready(());
            }
            let Some(runtime) = guard.runtime(this.serial) else { break Poll::Ready(()) };
            runtime.looks += 1;
            let now = Instant::now();
            let mut earliest: Option<Instant> = None;
            let fired_before = expired.len();
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
            if expired.len() > fired_before {
                state.fired.fetch_add(1, Ordering::AcqRel);
            }
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
        drop(state);
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
        let Some(state) = self.state.upgrade() else { return };
        let removed = {
            let mut table = lock(&state.table);
            let position = table.runtimes.iter().position(|runtime| runtime.serial == self.serial);
            // Slots cached for this runtime are not to be taken back.
            state.fired.fetch_add(1, Ordering::AcqRel);
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

    /// Gives the slot this thread's cache holds back to its table.
    fn flush_cache() {
        if let Some((_, watch)) = CACHED.with(|cached| cached.0.take()) {
            watch.free();
        }
    }

    /// The runtime entries of `timers`: (slots, free slots, looks).
    fn entries(timers: &Timers) -> Vec<(usize, usize, u64)> {
        lock(&timers.state.table).runtimes.iter().map(|r| (r.slots.len(), r.free.len(), r.looks)).collect()
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
            flush_cache();
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
        let first_limit = Instant::now() + Duration::from_secs(20);
        for _ in 0..100 {
            let mut timer = timers.start(Instant::now() + Duration::from_secs(20));
            assert!(wait_once(&mut timer).await.is_pending());
            tokio::time::sleep(ms(10)).await;
        }
        // One watchdog, one slot, taken back from the thread's cache by
        // every attempt of this task without being set again.
        let [(slots, free, looks)] = entries(&timers)[..] else { panic!("one runtime") };
        assert_eq!((slots, free), (1, 0));
        assert_eq!(lock(&timers.state.table).runtimes[0].slots[0].until, first_limit);
        assert!(looks <= 2, "{looks} looks while busy");
        // The look at the first limit fires the cached slot (the task is
        // woken once, for nothing); then nothing waits, and nothing wakes.
        tokio::time::sleep(Duration::from_secs(3600)).await;
        let looks_after = entries(&timers)[0].2;
        assert_eq!(looks_after, looks + 1, "one look at the stale limit, then none");
        assert_eq!(lock(&timers.state.table).runtimes[0].next_look, None);
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
        assert_eq!(lock(&timers.state.table).runtimes[0].next_look, Some(started + Duration::from_secs(20)));
        let took = expiry(&timers, started + ms(40)).await;
        assert_eq!(took, ms(40));
        drop(long);
        flush_cache();
        assert_eq!(entries(&timers)[0].0, 2);
        assert_eq!(entries(&timers)[0].1, 2);
    }

    /// A time limit dropped without being given back frees its slot.
    #[tokio::test(start_paused = true)]
    async fn a_limit_dropped_without_release_frees_its_slot() {
        let timers = Timers::default();
        let mut armed = timers.arm(Instant::now() + ms(100));
        assert!(poll_fn(|cx| Poll::Ready(armed.poll_expired(&timers, cx))).await.is_pending());
        assert_eq!(entries(&timers)[0].1, 0);
        drop(armed);
        assert_eq!(entries(&timers)[0].1, 1);
    }

    /// A thread's cached slot is taken back without the lock only by the
    /// same client's same task, for a limit no earlier than the slot's, and
    /// only if no slot of the client fired since; otherwise the attempt
    /// gets a slot under the lock (the cached one goes back to the table
    /// and is taken again: still one slot in all).
    #[tokio::test(start_paused = true)]
    async fn a_cached_slot_is_taken_back_only_by_the_same_task() {
        // (same client, same task, limit later than the cached one, a slot
        // fired since, taken back without the lock)
        let table = [
            (true, true, true, false, true),
            (false, true, true, false, false),
            (true, false, true, false, false),
            (true, true, false, false, false),
            (true, true, true, true, false),
        ];
        for (same_client, same_task, later, fired, taken_back) in table {
            let case = (same_client, same_task, later, fired);
            let timers = Arc::new(Timers::default());
            let other = Arc::new(Timers::default());
            let started = Instant::now();
            let mut first = timers.start(started + ms(500));
            assert!(wait_once(&mut first).await.is_pending());
            drop(first);
            if fired {
                timers.state.fired.fetch_add(1, Ordering::AcqRel);
            }
            let until = started + if later { ms(600) } else { ms(400) };
            let client = Arc::clone(if same_client { &timers } else { &other });
            let attempt = async move {
                let mut second = client.start(until);
                assert!(wait_once(&mut second).await.is_pending());
                // Still waiting: the slot is not given back yet.
                std::mem::forget(second);
            };
            match same_task {
                true => attempt.await,
                false => tokio::spawn(attempt).await.unwrap(),
            }
            let table = lock(&timers.state.table);
            let runtime = &table.runtimes[0];
            let slot = &runtime.slots[0];
            let kept = slot.phase == Phase::Waiting && slot.until == started + ms(500);
            assert_eq!(kept, taken_back, "{case:?}");
            assert_eq!(runtime.slots.len(), 1, "{case:?}: one slot in all");
            drop(table);
            flush_cache();
        }
    }

    /// A task whose cached slot has an earlier limit than its new attempt is
    /// woken at the old limit, finds its time not up, and still expires at
    /// its own limit, exactly.
    #[tokio::test(start_paused = true)]
    async fn an_attempt_on_a_cached_slot_expires_at_its_own_limit() {
        // (the first attempt's limit, when it ends, the second's limit; ms)
        let table = [(100, 10, 1_000), (100, 99, 100), (20_000, 1, 20_001), (50, 0, 50)];
        for (first_limit, first_ends, second_limit) in table {
            let timers = Timers::default();
            let started = Instant::now();
            let mut first = timers.start(started + ms(first_limit));
            assert!(wait_once(&mut first).await.is_pending());
            tokio::time::sleep(ms(first_ends)).await;
            drop(first);
            let second = Instant::now();
            let took = expiry(&timers, second + ms(second_limit)).await;
            assert_eq!(took, ms(second_limit), "{first_limit} {first_ends} {second_limit}");
            assert_eq!(entries(&timers)[0].0, 1, "the second attempt took the first's slot back");
            flush_cache();
        }
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
