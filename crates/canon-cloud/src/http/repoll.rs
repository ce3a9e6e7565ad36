//! [`Repoll`]: a future that answers a wake-up raised during its own poll
//! by polling again at once, rather than through the scheduler.
//!
//! # Why
//!
//! hyper's HTTP/1 server hands a request's body to the handler through a
//! channel, inside the connection's task. The handler polls the body
//! before the connection has moved the bytes over (they are usually
//! already in its read buffer), so it gets `Pending`; a moment later, in
//! the same poll, the connection sends the bytes and wakes the task it is
//! running in. tokio's multi-thread scheduler takes a wake-up of a running
//! task for a yield: it queues the task again and unparks an idle worker
//! to share the work. On an idle server that is a futex wake-up and a
//! context switch on another CPU for every request with a body, and the
//! task may move to that CPU. On a two-core virtual machine, a `POST` of
//! a disk at one connection took 0.66 ms (median) with two workers and
//! 0.20 ms with one; a `GET` (no body, no wake-up) 0.14 ms either way.
//!
//! # How
//!
//! The inner future is polled with a waker of its own, a [`Latch`]. A
//! wake-up that arrives while the inner future is being polled only marks
//! the latch; once the poll returns `Pending`, a marked latch means "poll
//! again", which happens in place, up to [`MAX_REPOLLS`] times before the
//! task yields to the scheduler after all. A wake-up at any other time
//! (the socket becoming readable, a timer) wakes the task, as the plain
//! waker would. No wake-up is lost: the latch is marked before it is
//! checked for a poll in progress, and the poll's end is published before
//! the mark is read (both sequentially consistent), so a wake-up racing
//! the end of a poll is seen by one side or by both.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Wake, Waker};

/// How many times in a row a future woken during its poll is polled again
/// in place before its task yields to the scheduler.
pub(crate) const MAX_REPOLLS: usize = 16;

/// The waker a [`Repoll`] polls its future with: it remembers a wake-up
/// during the poll, and passes any other on to the task.
#[derive(Debug, Default)]
pub(crate) struct Latch {
    /// Set while the inner future is being polled.
    polling: AtomicBool,
    /// Set by every wake-up; cleared before each poll.
    woken: AtomicBool,
    /// The waker of the task the future runs in, as of its last poll.
    task: Mutex<Option<Waker>>,
}

impl Latch {
    /// A latch for one future, to be kept across its polls.
    pub(crate) fn new() -> Arc<Latch> {
        Arc::new(Latch::default())
    }
}

impl Wake for Latch {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, SeqCst);
        if !self.polling.load(SeqCst) {
            if let Some(task) = self.task.lock().unwrap_or_else(PoisonError::into_inner).as_ref() {
                task.wake_by_ref();
            }
        }
    }
}

/// `future`, polled with `latch`'s waker: see the [module docs](self).
/// Made for each poll of the surrounding task, from a latch kept with the
/// future.
pub(crate) struct Repoll<'a, F> {
    latch: &'a Arc<Latch>,
    future: Pin<&'a mut F>,
}

impl<'a, F: Future> Repoll<'a, F> {
    /// `future` for one poll of its task, with the latch it keeps across
    /// polls.
    pub(crate) fn new(latch: &'a Arc<Latch>, future: Pin<&'a mut F>) -> Repoll<'a, F> {
        Repoll { latch, future }
    }
}

impl<F: Future> Future for Repoll<'_, F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        let latch = this.latch;
        {
            let mut task = latch.task.lock().unwrap_or_else(PoisonError::into_inner);
            if !task.as_ref().is_some_and(|task| task.will_wake(cx.waker())) {
                *task = Some(cx.waker().clone());
            }
        }
        let waker = Waker::from(Arc::clone(latch));
        let mut inner = Context::from_waker(&waker);
        for _ in 0..MAX_REPOLLS {
            latch.woken.store(false, SeqCst);
            latch.polling.store(true, SeqCst);
            let poll = this.future.as_mut().poll(&mut inner);
            latch.polling.store(false, SeqCst);
            if poll.is_ready() || !latch.woken.load(SeqCst) {
                return poll;
            }
        }
        // Woken during each of its polls: let the scheduler run the other
        // tasks first.
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    /// A future that wakes itself during its first `self_wakes` polls, and
    /// is ready at poll `ready_at` (counting from one) if given.
    struct Scripted {
        polls: usize,
        self_wakes: usize,
        ready_at: Option<usize>,
    }

    impl Future for Scripted {
        type Output = usize;

        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
            self.polls += 1;
            if self.ready_at == Some(self.polls) {
                return Poll::Ready(self.polls);
            }
            if self.polls <= self.self_wakes {
                cx.waker().wake_by_ref();
            }
            Poll::Pending
        }
    }

    /// Counts the wake-ups of the task.
    #[derive(Default)]
    struct CountingWaker(AtomicUsize);

    impl Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, SeqCst);
        }
    }

    #[test]
    fn a_wake_up_during_a_poll_is_answered_by_polling_again_in_place() {
        // (self-wakes, ready at, result, inner polls, task wake-ups)
        type Case = (usize, Option<usize>, Poll<usize>, usize, usize);
        let table: &[Case] = &[
            // Nothing wakes it: polled once, left pending, the task not woken.
            (0, None, Poll::Pending, 1, 0),
            // Ready at once.
            (0, Some(1), Poll::Ready(1), 1, 0),
            // The body-channel case: woken in the first poll, ready in the
            // second, all within one poll of the task.
            (1, Some(2), Poll::Ready(2), 2, 0),
            // Woken in the first poll, pending in the second: two polls,
            // no wake-up of the task.
            (1, None, Poll::Pending, 2, 0),
            // Woken in every poll: the task yields after MAX_REPOLLS.
            (usize::MAX, None, Poll::Pending, MAX_REPOLLS, 1),
        ];
        for &(self_wakes, ready_at, expected, polls, wakes) in table {
            let latch = Latch::new();
            let mut future = std::pin::pin!(Scripted { polls: 0, self_wakes, ready_at });
            let task = Arc::new(CountingWaker::default());
            let waker = Waker::from(Arc::clone(&task));
            let poll = std::pin::pin!(Repoll::new(&latch, future.as_mut())).poll(&mut Context::from_waker(&waker));
            assert_eq!(poll, expected, "{self_wakes} {ready_at:?}");
            assert_eq!(future.polls, polls, "{self_wakes} {ready_at:?}");
            assert_eq!(task.0.load(SeqCst), wakes, "{self_wakes} {ready_at:?}");
        }
    }

    #[test]
    fn a_wake_up_between_polls_wakes_the_task() {
        let latch = Latch::new();
        let mut future = std::pin::pin!(Scripted { polls: 0, self_wakes: 0, ready_at: None });
        let task = Arc::new(CountingWaker::default());
        let waker = Waker::from(Arc::clone(&task));
        let poll = std::pin::pin!(Repoll::new(&latch, future.as_mut())).poll(&mut Context::from_waker(&waker));
        assert!(poll.is_pending());
        // What the future registered: the latch's waker. A wake-up now (the
        // socket, a timer) reaches the task, once per wake-up.
        let registered = Waker::from(Arc::clone(&latch));
        registered.wake_by_ref();
        registered.wake();
        assert_eq!(task.0.load(SeqCst), 2);
    }

    #[test]
    fn a_new_task_waker_replaces_the_old_one() {
        let latch = Latch::new();
        let mut future = std::pin::pin!(Scripted { polls: 0, self_wakes: 0, ready_at: None });
        let (first, second) = (Arc::new(CountingWaker::default()), Arc::new(CountingWaker::default()));
        for task in [&first, &second] {
            let waker = Waker::from(Arc::clone(task));
            let poll = std::pin::pin!(Repoll::new(&latch, future.as_mut())).poll(&mut Context::from_waker(&waker));
            assert!(poll.is_pending());
        }
        Waker::from(Arc::clone(&latch)).wake();
        assert_eq!((first.0.load(SeqCst), second.0.load(SeqCst)), (0, 1));
    }

    #[test]
    fn wake_ups_from_another_thread_racing_the_end_of_a_poll_are_not_lost() {
        // Each round: the future is polled while another thread wakes it
        // once. Either the wake-up lands during the poll (and is answered
        // by a poll in place) or after it (and wakes the task): the future
        // is polled again or the task is woken, every time.
        for _ in 0..2000 {
            let latch = Latch::new();
            let mut future = std::pin::pin!(Scripted { polls: 0, self_wakes: 0, ready_at: None });
            let task = Arc::new(CountingWaker::default());
            let waker = Waker::from(Arc::clone(&task));
            let registered = Waker::from(Arc::clone(&latch));
            // The task's waker is known to the latch before the race.
            *latch.task.lock().expect("not poisoned") = Some(waker.clone());
            let other = std::thread::spawn(move || registered.wake());
            let poll = std::pin::pin!(Repoll::new(&latch, future.as_mut())).poll(&mut Context::from_waker(&waker));
            other.join().expect("the waking thread");
            assert!(poll.is_pending());
            assert!(future.polls >= 2 || task.0.load(SeqCst) >= 1, "a wake-up was lost");
        }
    }
}
