//! The request journal: a bounded ring of what the emulator answered, for
//! tests to assert on ("the client retried three times, then gave up").
//!
//! The HTTP layer records one [`JournalEntry`] per request; the journal
//! numbers them from 1 and, past its capacity (10,000 by default), drops
//! the oldest. Request ids come from the cloud's seeded id generator
//! ([`Cloud::next_request_id`](crate::Cloud::next_request_id)), so a run
//! with a fixed seed journals the same ids every time.
//!
//! ```
//! use std::time::Duration;
//! use canon_cloud::clock::Timestamp;
//! use canon_cloud::journal::{Journal, JournalEntry, JournalFilter};
//!
//! let journal = Journal::new(2);
//! for (i, status) in [200, 503, 200].into_iter().enumerate() {
//!     journal.record(JournalEntry {
//!         time: Timestamp::from_millis(i as i64),
//!         method: "GET".into(),
//!         path: "/v1/projects/demo/vms".into(),
//!         status,
//!         request_id: format!("req-{i}"),
//!         ..JournalEntry::default()
//!     });
//! }
//! let all = journal.list(&JournalFilter::default());
//! assert_eq!(all.iter().map(|e| e.seq).collect::<Vec<_>>(), [2, 3]);
//! let failed = journal.list(&JournalFilter { status: Some(503), ..JournalFilter::default() });
//! assert_eq!(failed[0].request_id, "req-1");
//! ```

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde::{Deserialize, Serialize, Serializer};

use crate::clock::Timestamp;

/// The default number of entries kept.
pub const DEFAULT_CAPACITY: usize = 10_000;

/// One request and what became of it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JournalEntry {
    /// The entry's number, from 1, given by [`Journal::record`].
    pub seq: u64,
    /// When the request arrived, by the cloud's clock.
    pub time: Timestamp,
    /// The HTTP method.
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The project the request was about, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// The HTTP status answered (0 when a transport fault left none).
    pub status: u16,
    /// The canonical code of an error answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The request id.
    pub request_id: String,
    /// The fault applied, as [`AppliedFault::describe`](crate::fault::AppliedFault::describe) or
    /// [`HeaderFault::describe`](crate::fault::HeaderFault::describe) put it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fault: Option<String>,
    /// How long the request took, injected latency included.
    #[serde(rename = "durationMs", serialize_with = "millis")]
    pub duration: Duration,
}

fn millis<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64(duration.as_secs_f64() * 1000.0)
}

/// Which entries [`Journal::list`] returns; absent fields match all. It
/// deserializes from the admin API's query (`?status=503&limit=10`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JournalFilter {
    /// This method (any case).
    #[serde(default)]
    pub method: Option<String>,
    /// Paths that start with this.
    #[serde(default)]
    pub path_prefix: Option<String>,
    /// This HTTP status.
    #[serde(default)]
    pub status: Option<u16>,
    /// This project.
    #[serde(default)]
    pub project: Option<String>,
    /// Only entries with a fault (true) or without (false).
    #[serde(default)]
    pub faulted: Option<bool>,
    /// Only entries numbered after this.
    #[serde(default)]
    pub after_seq: Option<u64>,
    /// At most this many, the most recent ones.
    #[serde(default)]
    pub limit: Option<usize>,
}

impl JournalFilter {
    /// Whether an entry passes the filter (all but `limit`).
    pub fn matches(&self, entry: &JournalEntry) -> bool {
        self.method.as_deref().is_none_or(|m| m.eq_ignore_ascii_case(&entry.method))
            && self.path_prefix.as_deref().is_none_or(|p| entry.path.starts_with(p))
            && self.status.is_none_or(|s| s == entry.status)
            && self.project.as_deref().is_none_or(|p| entry.project.as_deref() == Some(p))
            && self.faulted.is_none_or(|f| f == entry.fault.is_some())
            && self.after_seq.is_none_or(|after| entry.seq > after)
    }
}

#[derive(Debug)]
struct Ring {
    entries: VecDeque<JournalEntry>,
    next_seq: u64,
}

/// A bounded, thread-safe ring of journal entries.
#[derive(Debug)]
pub struct Journal {
    capacity: usize,
    ring: Mutex<Ring>,
}

impl Default for Journal {
    fn default() -> Journal {
        Journal::new(DEFAULT_CAPACITY)
    }
}

impl Journal {
    /// A journal keeping at most `capacity` entries (at least one).
    pub fn new(capacity: usize) -> Journal {
        let capacity = capacity.max(1);
        Journal {
            capacity,
            ring: Mutex::new(Ring { entries: VecDeque::with_capacity(capacity.min(1024)), next_seq: 1 }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Ring> {
        self.ring.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How many entries it keeps at most.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// How many entries it holds.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds an entry, numbering it (its `seq` is overwritten), and returns
    /// the number.
    pub fn record(&self, mut entry: JournalEntry) -> u64 {
        let mut ring = self.lock();
        entry.seq = ring.next_seq;
        ring.next_seq += 1;
        if ring.entries.len() == self.capacity {
            ring.entries.pop_front();
        }
        let seq = entry.seq;
        ring.entries.push_back(entry);
        seq
    }

    /// The entries that pass the filter, oldest first (with `limit`, the
    /// most recent ones).
    pub fn list(&self, filter: &JournalFilter) -> Vec<JournalEntry> {
        let ring = self.lock();
        let mut out: Vec<JournalEntry> = ring.entries.iter().filter(|e| filter.matches(e)).cloned().collect();
        if let Some(limit) = filter.limit {
            let skip = out.len().saturating_sub(limit);
            out.drain(..skip);
        }
        out
    }

    /// Forgets every entry and numbers from 1 again.
    pub fn reset(&self) {
        let mut ring = self.lock();
        ring.entries.clear();
        ring.next_seq = 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(method: &str, path: &str, status: u16, fault: Option<&str>) -> JournalEntry {
        JournalEntry {
            method: method.to_owned(),
            path: path.to_owned(),
            project: path.split('/').nth(3).map(str::to_owned),
            status,
            fault: fault.map(str::to_owned),
            ..JournalEntry::default()
        }
    }

    #[test]
    fn filters_select_entries() {
        let journal = Journal::new(100);
        journal.record(entry("GET", "/v1/projects/a/vms", 200, None));
        journal.record(entry("POST", "/v1/projects/a/vm", 503, Some("rule r: error UNAVAILABLE")));
        journal.record(entry("GET", "/v1/projects/b/disks", 404, None));
        journal.record(entry("POST", "/v1/projects/a/vm", 200, None));
        let seqs = |filter: JournalFilter| journal.list(&filter).iter().map(|e| e.seq).collect::<Vec<_>>();
        let table: &[(JournalFilter, &[u64])] = &[
            (JournalFilter::default(), &[1, 2, 3, 4]),
            (JournalFilter { method: Some("post".into()), ..Default::default() }, &[2, 4]),
            (JournalFilter { path_prefix: Some("/v1/projects/b".into()), ..Default::default() }, &[3]),
            (JournalFilter { status: Some(503), ..Default::default() }, &[2]),
            (JournalFilter { project: Some("a".into()), ..Default::default() }, &[1, 2, 4]),
            (JournalFilter { faulted: Some(true), ..Default::default() }, &[2]),
            (JournalFilter { faulted: Some(false), ..Default::default() }, &[1, 3, 4]),
            (JournalFilter { after_seq: Some(2), ..Default::default() }, &[3, 4]),
            (JournalFilter { limit: Some(2), ..Default::default() }, &[3, 4]),
        ];
        for (filter, expected) in table {
            assert_eq!(seqs(filter.clone()), *expected, "{filter:?}");
        }
    }

    #[test]
    fn the_ring_is_bounded_and_resets() {
        let journal = Journal::new(3);
        for _ in 0..5 {
            journal.record(entry("GET", "/", 200, None));
        }
        assert_eq!(journal.len(), 3);
        assert_eq!(journal.list(&JournalFilter::default())[0].seq, 3);
        journal.reset();
        assert!(journal.is_empty());
        assert_eq!(journal.record(entry("GET", "/", 200, None)), 1);
    }

    #[test]
    fn entries_serialize_for_the_admin_api() {
        let mut e = entry("GET", "/v1/projects/a/vms", 200, None);
        e.seq = 7;
        e.request_id = "req-1".into();
        e.duration = Duration::from_micros(1500);
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(
            json,
            r#"{"seq":7,"time":"1970-01-01T00:00:00Z","method":"GET","path":"/v1/projects/a/vms","project":"a","status":200,"requestId":"req-1","durationMs":1.5}"#
        );
        let filter: JournalFilter = serde_json::from_str(r#"{"status": 503, "limit": 5}"#).unwrap();
        assert_eq!((filter.status, filter.limit), (Some(503), Some(5)));
    }
}
