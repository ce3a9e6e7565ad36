//! The attempt history, and the error a request ends with when the engine
//! gives up.
//!
//! Every attempt leaves an [`AttemptRecord`]: its number, when it started
//! and ended, where it was placed, its status, the server's request id and
//! hint, and the wait that followed it. A [`RetryError`] carries the whole
//! history with the reason for giving up and the last error, so that a
//! failed request can be reported to a provider's support with every
//! request id.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use canon::Code;
//! use canon_retry::{AttemptStatus, Call, Failure, Policy, Retrier, TransportKind};
//! use http::Method;
//!
//! let retrier = Retrier::builder(Policy::default()).seed(1).no_budget().build();
//! let start = Instant::now();
//! let mut session = retrier.start(start, Call::new(Method::GET));
//! session.begin(start).unwrap();
//! let retry = session.failed(start, &Failure::transport(TransportKind::Reset)).unwrap();
//! let record = &session.history()[0];
//! assert_eq!(record.status, AttemptStatus::Transport(TransportKind::Reset));
//! assert_eq!(record.wait, Some(retry.wait));
//! assert_eq!(record.status.code(), Some(Code::Unavailable));
//! ```

use std::error::Error;
use std::fmt;
use std::time::Duration;

use canon::Code;

use crate::outcome::{Failure, TransportKind};
use crate::placement::Placement;
use crate::session::{GiveUp, GiveUpReason, WaitReason};

/// What one attempt came to, for the history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttemptStatus {
    /// The attempt succeeded.
    Success,
    /// The server answered with an error.
    Error {
        /// The canonical code.
        code: Code,
        /// The HTTP status, if known.
        http_status: Option<u16>,
    },
    /// The request failed in transport.
    Transport(TransportKind),
}

impl AttemptStatus {
    /// The status of a failure.
    pub fn of(failure: &Failure) -> AttemptStatus {
        match failure.transport {
            Some(kind) => AttemptStatus::Transport(kind),
            None => AttemptStatus::Error { code: failure.code, http_status: failure.http_status },
        }
    }

    /// The canonical code of a failed attempt (gRPC's code for a transport
    /// failure); `None` for a success.
    pub fn code(&self) -> Option<Code> {
        match self {
            AttemptStatus::Success => None,
            AttemptStatus::Error { code, .. } => Some(*code),
            AttemptStatus::Transport(kind) => Some(kind.code()),
        }
    }
}

impl fmt::Display for AttemptStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttemptStatus::Success => f.write_str("success"),
            AttemptStatus::Error { code, http_status: Some(http) } => write!(f, "{http} {code}"),
            AttemptStatus::Error { code, http_status: None } => write!(f, "{code}"),
            AttemptStatus::Transport(kind) => write!(f, "transport failure ({kind})"),
        }
    }
}

/// One attempt, as the history keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AttemptRecord {
    /// The attempt's number, from 1.
    pub number: u32,
    /// When the attempt started, counted from the start of the call.
    pub started: Duration,
    /// When its outcome was known, counted from the start of the call.
    pub ended: Duration,
    /// Where it was placed.
    pub placement: Option<Placement>,
    /// What it came to.
    pub status: AttemptStatus,
    /// The server's request id.
    pub request_id: Option<String>,
    /// The server's delay hint, as given (before clamping).
    pub hint: Option<Duration>,
    /// The wait before the next attempt, when there was one.
    pub wait: Option<Duration>,
    /// Why the wait was that long.
    pub wait_reason: Option<WaitReason>,
}

impl fmt::Display for AttemptRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "attempt {}: {}", self.number, self.status)?;
        if let Some(id) = &self.request_id {
            write!(f, " (request id {id})")?;
        }
        if let Some(placement) = &self.placement {
            write!(f, " at {placement}")?;
        }
        if let (Some(wait), Some(reason)) = (self.wait, self.wait_reason) {
            write!(f, ", then waited {wait:?} ({reason})")?;
        }
        Ok(())
    }
}

/// The error a request ends with when the engine gives up: why, the last
/// attempt's error, and the whole history.
#[derive(Debug)]
pub struct RetryError<E> {
    give_up: GiveUp,
    last_error: Option<E>,
    history: Vec<AttemptRecord>,
}

impl<E> RetryError<E> {
    /// An error from its parts.
    pub fn new(give_up: GiveUp, last_error: Option<E>, history: Vec<AttemptRecord>) -> RetryError<E> {
        RetryError { give_up, last_error, history }
    }

    /// Why the engine gave up.
    pub fn kind(&self) -> GiveUpReason {
        self.give_up.reason
    }

    /// The give-up decision.
    pub fn give_up(&self) -> &GiveUp {
        &self.give_up
    }

    /// The last attempt's error; `None` when the last attempt timed out,
    /// or no attempt was sent (the throttle rejected the first).
    pub fn last_error(&self) -> Option<&E> {
        self.last_error.as_ref()
    }

    /// The last attempt's error, by value.
    pub fn into_last_error(self) -> Option<E> {
        self.last_error
    }

    /// Every attempt, in order.
    pub fn history(&self) -> &[AttemptRecord] {
        &self.history
    }

    /// How many attempts were sent.
    pub fn attempts(&self) -> usize {
        self.history.len()
    }
}

impl<E> fmt::Display for RetryError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.history.len();
        write!(f, "gave up after {n} attempt{}: {}", if n == 1 { "" } else { "s" }, self.give_up.reason)?;
        if let Some(last) = self.history.last() {
            write!(f, "; last: {}", last.status)?;
            if let Some(id) = &last.request_id {
                write!(f, " (request id {id})")?;
            }
        }
        Ok(())
    }
}

impl<E: Error + 'static> Error for RetryError<E> {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.last_error.as_ref().map(|e| e as &(dyn Error + 'static))
    }
}
