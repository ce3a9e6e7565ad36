//! The event engine: a priority queue of timed events on virtual time.
//!
//! Time is a count of nanoseconds since the start of the run ([`Nanos`]);
//! nothing reads a clock. Events that fall on the same instant come out in
//! the order they were scheduled, so a run depends on nothing but its
//! inputs and its seed.
//!
//! ```
//! use canon_sim::engine::{EventQueue, SECOND};
//!
//! let mut queue = EventQueue::new();
//! queue.schedule(2 * SECOND, "second");
//! queue.schedule(SECOND, "first");
//! queue.schedule(2 * SECOND, "third");
//! assert_eq!(queue.pop(), Some((SECOND, "first")));
//! assert_eq!(queue.pop(), Some((2 * SECOND, "second")));
//! assert_eq!(queue.pop(), Some((2 * SECOND, "third")));
//! assert_eq!(queue.pop(), None);
//! ```

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Duration;

/// Virtual time: nanoseconds since the start of a run.
pub type Nanos = u64;

/// One millisecond of virtual time.
pub const MILLISECOND: Nanos = 1_000_000;

/// One second of virtual time.
pub const SECOND: Nanos = 1_000_000_000;

/// Seconds, as virtual time (rounded to the nanosecond).
pub fn seconds(s: f64) -> Nanos {
    (s * SECOND as f64).round().max(0.0) as Nanos
}

/// A duration, as virtual time (saturating).
pub fn nanos(duration: Duration) -> Nanos {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// Virtual time as a duration.
pub fn duration(nanos: Nanos) -> Duration {
    Duration::from_nanos(nanos)
}

/// Timed events, earliest first; ties in the order they were scheduled.
#[derive(Debug)]
pub struct EventQueue<E> {
    heap: BinaryHeap<Reverse<(Nanos, u64, Slot<E>)>>,
    next: u64,
}

/// An event in the heap. Never compared: the sequence number before it is
/// unique, so the ordering of the tuple stops there.
#[derive(Debug)]
struct Slot<E>(E);

impl<E> PartialEq for Slot<E> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl<E> Eq for Slot<E> {}

impl<E> PartialOrd for Slot<E> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl<E> Ord for Slot<E> {
    fn cmp(&self, _: &Self) -> std::cmp::Ordering {
        std::cmp::Ordering::Equal
    }
}

impl<E> EventQueue<E> {
    /// An empty queue.
    pub fn new() -> EventQueue<E> {
        EventQueue { heap: BinaryHeap::new(), next: 0 }
    }

    /// Schedules `event` at `at`.
    pub fn schedule(&mut self, at: Nanos, event: E) {
        self.heap.push(Reverse((at, self.next, Slot(event))));
        self.next += 1;
    }

    /// The earliest event and its time.
    pub fn pop(&mut self) -> Option<(Nanos, E)> {
        self.heap.pop().map(|Reverse((at, _, Slot(event)))| (at, event))
    }

    /// How many events are waiting.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether no event is waiting.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// How many events were ever scheduled.
    pub fn scheduled(&self) -> u64 {
        self.next
    }
}

impl<E> Default for EventQueue<E> {
    fn default() -> EventQueue<E> {
        EventQueue::new()
    }
}
