//! The error a request ends with, and the error response it carries.
//!
//! An [`Error`] says what went wrong with a whole logical request: its
//! [`kind`](Error::kind), why the engine stopped ([`give_up`](Error::give_up)),
//! every attempt ([`history`](Error::history)), and the last attempt's
//! failure: an [`ErrorResponse`] when the server answered (the decoded
//! [`Status`], the HTTP status, the headers, the request id, the
//! [`Advice`] and the raw body), or a [`TransportKind`] when it did not.
//!
//! ```
//! use canon::Code;
//! use canon_reqwest::{Error, ErrorKind};
//!
//! fn report(error: &Error) -> String {
//!     match error.kind() {
//!         ErrorKind::Status if error.status().is_some_and(|s| s.code() == Code::NotFound) => "no such VM".to_owned(),
//!         ErrorKind::Deadline => format!("out of time; the server asked for {:?}", error.retry_delay()),
//!         _ => error.to_string(),
//!     }
//! }
//! ```

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use canon::{Advice, Category, Decoded, Status};
use canon_retry::{AttemptRecord, GiveUp, GiveUpReason, TransportKind};
use http::{HeaderMap, Method, StatusCode};
use reqwest::Url;

use crate::report::human_duration;

/// What kind of failure ended a request.
///
/// The kind says what the caller most likely wants to act on: for a give-up
/// caused by the deadline or the budget, that (even when the last attempt
/// had a response, which [`Error::response`] still gives); otherwise what
/// the last attempt came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The server answered with an error: see [`Error::response`].
    Status,
    /// The request failed in transport (connect, reset, truncated body or
    /// other I/O): see [`Error::transport`].
    Transport,
    /// The last attempt ran out of its per-attempt timeout.
    Timeout,
    /// No retry fitted before the overall deadline, or the deadline passed.
    Deadline,
    /// The per-host retry budget had no retry left.
    Budget,
    /// The request could not be built or sent as given (an invalid URL,
    /// header or scheme, a redirect loop); never retried.
    Request,
}

impl ErrorKind {
    /// The stable name, such as `deadline`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Status => "status",
            ErrorKind::Transport => "transport",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Deadline => "deadline",
            ErrorKind::Budget => "budget",
            ErrorKind::Request => "request",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error response: the server answered with a status outside 2xx.
///
/// The body is decoded in whatever dialect it came in (see
/// [`canon::decode()`]); the raw bytes are kept up to the client's limit
/// ([`ClientBuilder::max_error_body`](crate::ClientBuilder::max_error_body)),
/// and [`body_was_cut`](ErrorResponse::body_was_cut) says whether more was
/// left unread. A body cut short is decoded as far as it goes, which for a
/// JSON body usually means from the HTTP status alone.
#[derive(Debug, Clone)]
pub struct ErrorResponse {
    pub(crate) url: Url,
    pub(crate) http_status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    pub(crate) body_was_cut: bool,
    pub(crate) decoded: Decoded,
}

impl ErrorResponse {
    /// Decodes a response from its parts.
    pub(crate) fn new(url: Url, http_status: StatusCode, headers: HeaderMap, body: Bytes, body_was_cut: bool) -> Self {
        let decoded = canon::decode(http_status.as_u16(), &headers, &body);
        ErrorResponse { url, http_status, headers, body, body_was_cut, decoded }
    }

    /// The URL that answered (after redirects).
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The HTTP status.
    pub fn http_status(&self) -> StatusCode {
        self.http_status
    }

    /// The response headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The raw body, at most the client's limit.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// Whether the body was longer than the client's limit and was cut.
    pub fn body_was_cut(&self) -> bool {
        self.body_was_cut
    }

    /// The decoded error: the dialect, the Status with the header hints
    /// folded in, and what the headers said.
    pub fn decoded(&self) -> &Decoded {
        &self.decoded
    }

    /// The Status.
    pub fn status(&self) -> &Status {
        &self.decoded.status
    }

    /// What to do about it, by the table of the provider the dialect names.
    /// It borrows the field violations from the decoded status.
    pub fn advice(&self) -> Advice<'_> {
        self.decoded.advice()
    }

    /// The server's request id, from the body or else the headers.
    pub fn request_id(&self) -> Option<&str> {
        self.decoded.request_id()
    }

    /// The server's delay hint: the longer of RetryInfo and `Retry-After`.
    pub fn retry_delay(&self) -> Option<Duration> {
        self.decoded.retry_delay()
    }
}

impl fmt::Display for ErrorResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = self.status();
        write!(f, "{} {}", self.http_status.as_u16(), status.code())?;
        if !status.message().is_empty() {
            write!(f, ": {}", status.message())?;
        }
        if let Some(id) = self.request_id() {
            write!(f, " (request id {id})")?;
        }
        Ok(())
    }
}

/// How the last attempt failed.
#[derive(Debug)]
pub(crate) enum LastFailure {
    /// The server answered with an error.
    Response(Box<ErrorResponse>),
    /// The request failed in transport; no source when the attempt ran out
    /// of time.
    Transport { kind: TransportKind, source: Option<reqwest::Error> },
    /// The request could not be built or sent as given.
    Request(reqwest::Error),
}

impl LastFailure {
    /// The HTTP status, when a response arrived.
    pub(crate) fn http_status(&self) -> Option<StatusCode> {
        match self {
            LastFailure::Response(response) => Some(response.http_status()),
            _ => None,
        }
    }
}

/// The error a request ends with. See the [module docs](self).
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    method: Method,
    url: Option<Url>,
    give_up: Option<GiveUp>,
    last: Option<LastFailure>,
    history: Vec<AttemptRecord>,
}

impl Error {
    /// The engine gave up: the kind follows from the reason and the last
    /// failure.
    pub(crate) fn gave_up(
        method: Method,
        url: Option<Url>,
        give_up: GiveUp,
        last: Option<LastFailure>,
        history: Vec<AttemptRecord>,
    ) -> Error {
        let kind = match (give_up.reason, &last) {
            (GiveUpReason::NoRetryFitsBeforeDeadline | GiveUpReason::DeadlinePassed, _) => ErrorKind::Deadline,
            (GiveUpReason::BudgetExhausted | GiveUpReason::Throttled, _) => ErrorKind::Budget,
            (_, Some(LastFailure::Response(_))) => ErrorKind::Status,
            (_, Some(LastFailure::Transport { kind: TransportKind::Timeout, .. })) => ErrorKind::Timeout,
            (_, Some(LastFailure::Transport { .. })) => ErrorKind::Transport,
            (_, Some(LastFailure::Request(_))) => ErrorKind::Request,
            (_, None) => ErrorKind::Deadline,
        };
        Error { inner: Box::new(Inner { kind, method, url, give_up: Some(give_up), last, history }) }
    }

    /// The request could not be built or sent: no retry.
    pub(crate) fn request(method: Method, source: reqwest::Error, history: Vec<AttemptRecord>) -> Error {
        Error {
            inner: Box::new(Inner {
                kind: ErrorKind::Request,
                method,
                url: source.url().cloned(),
                give_up: None,
                last: Some(LastFailure::Request(source)),
                history,
            }),
        }
    }

    /// What kind of failure ended the request.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The method of the request.
    pub fn method(&self) -> &Method {
        &self.inner.method
    }

    /// The URL of the last attempt, when one was made (before redirects;
    /// [`ErrorResponse::url`] is the one that answered).
    pub fn url(&self) -> Option<&Url> {
        self.inner.url.as_ref()
    }

    /// Why the engine stopped; `None` for a request that could not be built.
    pub fn give_up(&self) -> Option<&GiveUp> {
        self.inner.give_up.as_ref()
    }

    /// Why the engine stopped, as the reason alone.
    pub fn give_up_reason(&self) -> Option<GiveUpReason> {
        self.inner.give_up.map(|g| g.reason)
    }

    /// Every attempt, in order, with its status, request id, hint and wait.
    pub fn history(&self) -> &[AttemptRecord] {
        &self.inner.history
    }

    /// How many attempts were sent.
    pub fn attempts(&self) -> usize {
        self.inner.history.len()
    }

    /// The last attempt's error response, when the server answered; also
    /// for a [`Deadline`](ErrorKind::Deadline) or [`Budget`](ErrorKind::Budget)
    /// give-up that followed one.
    pub fn response(&self) -> Option<&ErrorResponse> {
        match self.inner.last.as_ref()? {
            LastFailure::Response(response) => Some(response),
            _ => None,
        }
    }

    /// The decoded Status of the last error response.
    pub fn status(&self) -> Option<&Status> {
        self.response().map(ErrorResponse::status)
    }

    /// The HTTP status of the last error response.
    pub fn http_status(&self) -> Option<StatusCode> {
        self.response().map(ErrorResponse::http_status)
    }

    /// The advice for the last error response.
    pub fn advice(&self) -> Option<Advice<'_>> {
        self.response().map(ErrorResponse::advice)
    }

    /// The server's delay hint on the last error response (the longer of
    /// RetryInfo and `Retry-After`). For a [`Deadline`](ErrorKind::Deadline)
    /// error, this is the wait that did not fit.
    pub fn retry_delay(&self) -> Option<Duration> {
        self.response().and_then(ErrorResponse::retry_delay)
    }

    /// The request id of the last attempt that had one.
    pub fn request_id(&self) -> Option<&str> {
        self.response()
            .and_then(ErrorResponse::request_id)
            .or_else(|| self.inner.history.iter().rev().find_map(|r| r.request_id.as_deref()))
    }

    /// How the last attempt failed in transport, when it did.
    pub fn transport(&self) -> Option<TransportKind> {
        match self.inner.last.as_ref()? {
            LastFailure::Transport { kind, .. } => Some(*kind),
            _ => None,
        }
    }

    /// The category of the failure: the advice's for an error response,
    /// transient for a transport failure (or a deadline reached without
    /// any response), validation for a request that could not be sent.
    pub fn category(&self) -> Category {
        match self.inner.last.as_ref() {
            Some(LastFailure::Response(response)) => response.advice().category,
            Some(LastFailure::Request(_)) => Category::Validation,
            Some(LastFailure::Transport { .. }) | None => Category::Transient,
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.inner.kind)
            .field("method", &self.inner.method)
            .field("url", &self.url().map(Url::as_str))
            .field("give_up", &self.inner.give_up)
            .field("last", &self.inner.last)
            .field("history", &self.inner.history)
            .finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.inner.method)?;
        if let Some(url) = self.url() {
            write!(f, " {url}")?;
        }
        match &self.inner.give_up {
            Some(give_up) => {
                let n = self.inner.history.len();
                write!(f, " failed after {n} attempt{}: {}", if n == 1 { "" } else { "s" }, give_up.reason)?;
                if self.inner.kind == ErrorKind::Deadline {
                    if let Some(hint) = self.retry_delay() {
                        write!(f, " (the server asked to wait {})", human_duration(hint))?;
                    }
                }
            }
            None => f.write_str(" could not be sent")?,
        }
        match &self.inner.last {
            Some(LastFailure::Response(response)) => write!(f, "; last: {response}"),
            Some(LastFailure::Transport { kind, source: Some(source) }) => {
                write!(f, "; last: transport failure ({kind}): {}", source_chain(source))
            }
            Some(LastFailure::Transport { kind, source: None }) => {
                write!(f, "; last: transport failure ({kind}): the attempt ran out of its time")
            }
            Some(LastFailure::Request(source)) => write!(f, ": {}", source_chain(source)),
            None => Ok(()),
        }
    }
}

/// An error and its causes, joined by `: `, without the URL that reqwest
/// adds (the [`Error`] shows it once).
fn source_chain(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    if let Some(url) = error.url() {
        text = text.replace(&format!(" for url ({url})"), "");
    }
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self.inner.last.as_ref()? {
            LastFailure::Transport { source, .. } => source.as_ref().map(|s| s as &(dyn StdError + 'static)),
            LastFailure::Request(source) => Some(source),
            LastFailure::Response(_) => None,
        }
    }
}
