//! The attempt loop: canon-retry's decision core, driven over reqwest on
//! tokio's clock.
//!
//! The loop is the one of `canon_retry::driver::Driver`, with what the
//! driver does not give an HTTP client:
//!
//! - an observer call after each attempt, once the decision is known and
//!   before the wait (the driver reports only at the end);
//! - a budget per host, charged to the host of the attempt that failed:
//!   the retrier itself has none, so that a logical request whose
//!   placements span hosts spends each host's own budget (the session's
//!   own check order is kept: the budget is asked last, after every other
//!   check has passed); a host's budget is found through a small cache of
//!   the hosts the client has met, so that the success path neither
//!   formats nor lower-cases an authority;
//! - a session opened lazily: a first attempt that needs no context (no
//!   generated key, no placement) runs before the session exists, which is
//!   opened, as of the time the request started, only when the attempt
//!   fails or an observer wants its report. The session then decides
//!   exactly as if it had been open from the start: its deadline, attempt
//!   numbers and history are the same.

use std::sync::Arc;
use std::time::Instant;

use canon_retry::{
    AttemptContext, AttemptRecord, BudgetRegistry, Call, Failure, GiveUp, GiveUpReason, Retrier, Retry, RetryBudget,
    Session, TransportKind,
};
use http::{HeaderName, HeaderValue, StatusCode};
use reqwest::{Request, Response, Url};
use tracing::Instrument;
use tracing::field::{Empty, display};

use crate::client::{BufferedResponse, Shared};
use crate::error::{Error, ErrorResponse, LastFailure};
use crate::report::AttemptReport;
use crate::transport::{self, Phase};

/// How much of a successful response an attempt reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// The head: the caller streams the body.
    Head,
    /// The whole body, inside the attempt (a body cut short is retried).
    Buffered,
}

/// A successful attempt.
pub(crate) enum Success {
    Head(Response),
    Buffered(BufferedResponse),
}

impl Success {
    fn http_status(&self) -> StatusCode {
        match self {
            Success::Head(response) => response.status(),
            Success::Buffered(response) => response.status(),
        }
    }

    fn request_id(&self) -> Option<&str> {
        let headers = match self {
            Success::Head(response) => response.headers(),
            Success::Buffered(response) => response.headers(),
        };
        request_id(headers)
    }
}

/// The request id of a response head: `x-request-id`, else `request-id`
/// (as [`canon::HeaderHints`] reads it).
pub(crate) fn request_id(headers: &http::HeaderMap) -> Option<&str> {
    const NAMES: [HeaderName; 2] = [HeaderName::from_static("x-request-id"), HeaderName::from_static("request-id")];
    NAMES
        .iter()
        .find_map(|name| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|s| !s.is_empty()))
}

fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// The key under which a URL's host shares a budget: `host:port`.
fn authority(url: &Url) -> String {
    let host = url.host_str().unwrap_or("");
    match url.port_or_known_default() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

/// The most hosts a client remembers the budget of; beyond them, the
/// registry is asked each time.
const BUDGET_CACHE_HOSTS: usize = 32;

/// The budget of `url`'s host, from the client's cache or its registry.
fn budget_for(shared: &Shared, registry: &BudgetRegistry, url: &Url) -> Arc<RetryBudget> {
    let host = url.host_str().unwrap_or("");
    let port = url.port_or_known_default();
    let mut cache = shared.budget_cache();
    if let Some((_, _, budget)) = cache.iter().find(|(h, p, _)| h == host && *p == port) {
        return Arc::clone(budget);
    }
    let budget = registry.budget(&authority(url));
    if cache.len() < BUDGET_CACHE_HOSTS {
        cache.push((host.to_owned(), port, Arc::clone(&budget)));
    }
    budget
}

/// Runs one logical request: `build` makes each attempt's request.
///
/// `first`, when given, is the first attempt's request, made without a
/// context: the caller promises that it is what `build` would make for
/// attempt 1 (its key, if any, already in its header; no placement). The
/// first attempt then runs before any session exists, and a session is
/// opened, as of the time the request started, only when it is needed (a
/// failure, or an observer to report a success to). On the success path
/// that saves the session's bookkeeping, which is most of this crate's cost.
///
/// `fixed_url`, when given, is the URL of every attempt, so that the loop
/// need not copy each attempt's URL to report it.
pub(crate) async fn run<B>(
    shared: &Shared,
    retrier: &Retrier,
    call: Call,
    mut first: Option<Request>,
    fixed_url: Option<&Url>,
    mut build: B,
    mode: Mode,
) -> Result<Success, Error>
where
    B: FnMut(&AttemptContext) -> Result<Request, reqwest::Error>,
{
    let method = call.method().clone();
    let started = now();
    let mut call = Some(call);
    let mut session: Option<Session> = None;
    // Opens the session as of `started`, with attempt 1 begun, if it is not
    // open yet.
    let open = |session: &mut Option<Session>, call: &mut Option<Call>| -> Result<(), GiveUp> {
        if session.is_none() {
            let call = call.take().expect("the call is taken once, when the session opens");
            let mut opened = retrier.start(started, call);
            opened.begin(started)?;
            *session = Some(opened);
        }
        Ok(())
    };
    let policy = retrier.policy();
    let first_timeout = policy.attempt_timeout().map_or(policy.deadline(), |t| t.min(policy.deadline()));
    let mut spent: Vec<(Arc<RetryBudget>, f64)> = Vec::new();
    let mut last: Option<LastFailure> = None;
    let mut last_url: Option<Url> = None;
    loop {
        let (mut request, context) = match first.take() {
            Some(request) => (request, None),
            None => {
                if session.is_none() {
                    session = Some(retrier.start(started, call.take().expect("the call is taken once")));
                }
                let open_session = session.as_mut().expect("the session was just opened");
                let at = if open_session.attempts() == 0 { started } else { now() };
                let context = match open_session.begin(at) {
                    Ok(context) => context,
                    Err(give_up) => {
                        let history = session.map(Session::into_history).unwrap_or_default();
                        return Err(Error::gave_up(method, last_url, give_up, last, history));
                    }
                };
                match build(&context) {
                    Ok(request) => (request, Some(context)),
                    Err(error) => {
                        let history = session.map(Session::into_history).unwrap_or_default();
                        return Err(Error::request(method, error, history));
                    }
                }
            }
        };
        let number = context.as_ref().map_or(1, |c| c.number);
        let timeout = context.as_ref().map_or(first_timeout, |c| c.timeout);
        if let Some(context) = &context {
            prepare(shared, &mut request, context);
        }
        let budget = shared.budgets.as_ref().map(|registry| budget_for(shared, registry, request.url()));
        if number == 1 {
            if let Some(budget) = &budget {
                budget.deposit(started);
            }
        }
        let own_url = fixed_url.is_none().then(|| request.url().clone());
        let span = tracing::info_span!(
            target: "canon_reqwest",
            "attempt",
            attempt = number,
            method = %request.method(),
            url = %request.url(),
            placement = Empty,
            http_status = Empty,
            request_id = Empty,
        );
        if let (Some(placement), false) = (context.as_ref().and_then(|c| c.placement.as_ref()), span.is_disabled()) {
            span.record("placement", display(placement));
        }
        // Boxed, so that the attempt's future (reqwest's response and body
        // reading) is not part of the loop's and is never moved.
        let attempt = Box::pin(attempt(shared, request, mode, &span));
        // A disabled span is not entered at every poll.
        let result = if span.is_disabled() {
            tokio::time::timeout(timeout, attempt).await
        } else {
            tokio::time::timeout(timeout, attempt.instrument(span.clone())).await
        };
        let result = match result {
            Ok(result) => result,
            Err(_) => Err(AttemptError::Failed {
                last: LastFailure::Transport { kind: TransportKind::Timeout, source: None },
                classified: Failure::transport(TransportKind::Timeout),
            }),
        };
        match result {
            Ok(success) => {
                let url = own_url.or_else(|| fixed_url.cloned()).expect("one of them is set");
                let done = now();
                for (budget, cost) in spent {
                    budget.refund(done, cost);
                }
                let Some(observer) = &shared.on_attempt else {
                    if let Some(session) = &mut session {
                        session.succeeded(done);
                    }
                    return Ok(success);
                };
                if open(&mut session, &mut call).is_ok() {
                    let session = session.as_mut().expect("the session is open");
                    session.succeeded(done);
                    let mut record = session.history().last().cloned().expect("the success was just recorded");
                    record.request_id = success.request_id().map(str::to_owned);
                    observer(&AttemptReport {
                        method: method.clone(),
                        url,
                        http_status: Some(success.http_status()),
                        record,
                        retry: None,
                        give_up: None,
                    });
                }
                return Ok(success);
            }
            Err(AttemptError::Request(error)) => {
                let history = session.map(Session::into_history).unwrap_or_default();
                return Err(Error::request(method, error, history));
            }
            Err(AttemptError::Failed { last: failure, classified }) => {
                let url = own_url.or_else(|| fixed_url.cloned()).expect("one of them is set");
                if let Err(give_up) = open(&mut session, &mut call) {
                    return Err(Error::gave_up(method, Some(url), give_up, Some(failure), Vec::new()));
                }
                let session_ref = session.as_mut().expect("the session is open");
                let decision = session_ref.failed(now(), &classified);
                let decision = match (decision, &budget) {
                    (Ok(retry), Some(budget)) => match budget.withdraw(now(), &mut *shared.rng()) {
                        Some(cost) => {
                            spent.push((Arc::clone(budget), cost));
                            Ok(retry)
                        }
                        None => Err(GiveUp::new(GiveUpReason::BudgetExhausted, session_ref.attempts())),
                    },
                    (decision, _) => decision,
                };
                // When the budget refused a retry the session had decided on,
                // the session recorded a wait that never happened.
                let budget_refused = matches!(&decision, Err(g) if g.reason == GiveUpReason::BudgetExhausted);
                let unwait = |record: &mut AttemptRecord| {
                    if budget_refused {
                        record.wait = None;
                        record.wait_reason = None;
                    }
                };
                if let Some(observer) = &shared.on_attempt {
                    let mut record = session_ref.history().last().cloned().expect("the failure was just recorded");
                    unwait(&mut record);
                    observer(&AttemptReport {
                        method: method.clone(),
                        url: url.clone(),
                        http_status: failure.http_status(),
                        record,
                        retry: decision.as_ref().ok().cloned(),
                        give_up: decision.as_ref().err().copied(),
                    });
                }
                last = Some(failure);
                last_url = Some(url);
                match decision {
                    Ok(Retry { wait, .. }) => Box::pin(tokio::time::sleep(wait)).await,
                    Err(give_up) => {
                        let mut history = session.map(Session::into_history).unwrap_or_default();
                        if let Some(record) = history.last_mut() {
                            unwait(record);
                        }
                        return Err(Error::gave_up(method, last_url, give_up, last, history));
                    }
                }
            }
        }
    }
}

/// Why an attempt did not succeed.
enum AttemptError {
    /// The server answered with an error, or the transport failed: the
    /// engine decides.
    Failed { last: LastFailure, classified: Failure },
    /// reqwest refused the request as given: no retry.
    Request(reqwest::Error),
}

/// Puts the call's idempotency key on the request, replacing a header of
/// the same name, so that the header and the engine agree.
fn prepare(shared: &Shared, request: &mut Request, context: &AttemptContext) {
    if let Some(key) = &context.idempotency_key {
        if let Ok(value) = HeaderValue::from_str(key) {
            request.headers_mut().insert(shared.idempotency_header.clone(), value);
        }
    }
}

/// Sends one attempt and reads what it needs of the response.
async fn attempt(shared: &Shared, request: Request, mode: Mode, span: &tracing::Span) -> Result<Success, AttemptError> {
    let transport_failure = |source: reqwest::Error, phase: Phase| {
        if phase == Phase::Send && transport::is_request_error(&source) {
            return AttemptError::Request(source);
        }
        let kind = transport::classify(&source, phase);
        AttemptError::Failed {
            last: LastFailure::Transport { kind, source: Some(source) },
            classified: Failure::transport(kind),
        }
    };
    let mut response = shared.http.execute(request).await.map_err(|e| transport_failure(e, Phase::Send))?;
    let http_status = response.status();
    if !span.is_disabled() {
        span.record("http_status", http_status.as_u16());
    }
    if http_status.is_success() {
        if !span.is_disabled() {
            if let Some(id) = request_id(response.headers()) {
                span.record("request_id", id);
            }
        }
        return match mode {
            Mode::Head => Ok(Success::Head(response)),
            Mode::Buffered => {
                let url = response.url().clone();
                let headers = std::mem::take(response.headers_mut());
                let body = response.bytes().await.map_err(|e| transport_failure(e, Phase::Body))?;
                Ok(Success::Buffered(BufferedResponse { url, http_status, headers, body }))
            }
        };
    }
    let url = response.url().clone();
    let headers = std::mem::take(response.headers_mut());
    let (body, cut) = transport::read_limited(&mut response, shared.max_error_body)
        .await
        .map_err(|e| transport_failure(e, Phase::Body))?;
    let error = ErrorResponse::new(url, http_status, headers, body, cut);
    if let (Some(id), false) = (error.request_id(), span.is_disabled()) {
        span.record("request_id", id);
    }
    let classified = Failure::from_decoded(error.decoded());
    Err(AttemptError::Failed { last: LastFailure::Response(Box::new(error)), classified })
}
