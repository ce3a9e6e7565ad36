//! Attempt reports: what the client tells an observer after each attempt.
//!
//! An observer set with [`ClientBuilder::on_attempt`](crate::ClientBuilder::on_attempt)
//! is called once per attempt, as soon as the engine has decided what comes
//! next and before it sleeps: a user sees a long wait when it starts, not
//! when it ends. Its [`Display`](fmt::Display) is one line for a person:
//!
//! ```text
//! attempt 1: 503 UNAVAILABLE (request id req-1); retrying in 1 s (hint)
//! attempt 2: 429 RESOURCE_EXHAUSTED at region=a; retrying at region=b now (elsewhere)
//! attempt 3: 200 OK (request id req-3) at region=b
//! ```

use std::fmt;
use std::time::Duration;

use canon_retry::{AttemptRecord, AttemptStatus, GiveUp, GiveUpReason, Retry};
use http::{Method, StatusCode};
use reqwest::Url;

/// One attempt, as the client reports it. See the [module docs](self).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AttemptReport {
    /// The method.
    pub method: Method,
    /// The URL the attempt was sent to.
    pub url: Url,
    /// The HTTP status of the response, when one arrived (a success
    /// included).
    pub http_status: Option<StatusCode>,
    /// The attempt as the engine's history keeps it: number, placement,
    /// status, request id (for a success too), hint, wait.
    pub record: AttemptRecord,
    /// The retry that follows, when there is one.
    pub retry: Option<Retry>,
    /// Why the engine stopped, when this attempt failed and was the last.
    pub give_up: Option<GiveUp>,
}

impl AttemptReport {
    /// Whether the attempt succeeded.
    pub fn succeeded(&self) -> bool {
        self.record.status == AttemptStatus::Success
    }
}

impl fmt::Display for AttemptReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let record = &self.record;
        write!(f, "attempt {}: ", record.number)?;
        match (&record.status, self.http_status) {
            (AttemptStatus::Success, Some(http)) => write!(f, "{http}")?,
            (status, _) => write!(f, "{status}")?,
        }
        if let Some(id) = &record.request_id {
            write!(f, " (request id {id})")?;
        }
        if let Some(placement) = &record.placement {
            write!(f, " at {placement}")?;
        }
        if let Some(retry) = &self.retry {
            let moved = retry.placement.is_some() && retry.placement != record.placement;
            f.write_str("; retrying")?;
            if let (true, Some(placement)) = (moved, &retry.placement) {
                write!(f, " at {placement}")?;
            }
            if retry.wait.is_zero() {
                f.write_str(" now")?;
            } else {
                write!(f, " in {}", human_duration(retry.wait))?;
            }
            write!(f, " ({})", retry.reason)?;
        }
        if let Some(give_up) = &self.give_up {
            write!(f, "; giving up: {}", give_up.reason)?;
            if give_up.reason == GiveUpReason::NoRetryFitsBeforeDeadline {
                if let Some(hint) = record.hint {
                    write!(f, " (the server asked to wait {})", human_duration(hint))?;
                }
            }
        }
        Ok(())
    }
}

/// A delay for a person: `250 ms`, `1 s`, `1.5 s`.
pub(crate) fn human_duration(delay: Duration) -> String {
    if delay.as_millis() < 1000 {
        format!("{} ms", delay.as_millis())
    } else if delay.subsec_millis() == 0 {
        format!("{} s", delay.as_secs())
    } else {
        format!("{:.1} s", delay.as_secs_f64())
    }
}
