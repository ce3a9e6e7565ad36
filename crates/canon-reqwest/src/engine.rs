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
//!   check has passed); a host's budget is found, once per request and
//!   without a lock, in a small cache of the hosts the client has met
//!   (see [`crate::budget_cache`]), so that the success path neither
//!   formats nor lower-cases an authority; a success earns its share as of
//!   the time the request started, so that the success path reads the
//!   clock once;
//! - a session opened lazily: a first attempt that needs no context (no
//!   generated key, no placement) runs before the session exists, which is
//!   opened, as of the time the request started, only when the attempt
//!   fails or an observer wants its report. The session then decides
//!   exactly as if it had been open from the start: its deadline, attempt
//!   numbers and history are the same;
//! - a success path with no allocation of its own (the copy kept for a
//!   retry holds its URL as text in a recycled buffer, see
//!   [`crate::url_text`]): attempt 1 is handed to reqwest before the
//!   request's future is made, and that future, [`Sending`], polls reqwest's by hand beside the
//!   attempt's timer; it is returned by value, not boxed, and the engine's
//!   loop (boxed) takes over only when attempt 1 fails or an observer wants
//!   its report ([`Whole`] boxes the reading of the body, one allocation
//!   more). The way a success is read ([`Head`] or [`Whole`]) is a
//!   type, so that the head's path carries no state for reading a body;
//! - one time limit per attempt, for the per-attempt timeout and the
//!   deadline alike, and no tokio timer of its own: a slot in the client's
//!   table that one watchdog task per runtime watches, kept by the task
//!   from one attempt to the next (see [`crate::timer`]); no span at all
//!   when no subscriber takes `INFO` spans.

use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use canon_retry::{
    AttemptContext, AttemptRecord, Call, Failure, GiveUp, GiveUpReason, Placement, Policy, Retrier, Retry, RetryBudget,
    Session, TransportKind,
};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use reqwest::{Request, Response, Url};
use tracing::Span;
use tracing::field::{Empty, display};
use tracing::level_filters::{LevelFilter, STATIC_MAX_LEVEL};

use crate::budget_cache::HostBudget;
use crate::client::{BufferedResponse, Shared, Template};
use crate::error::{Error, ErrorResponse, LastFailure};
use crate::report::AttemptReport;
use crate::timer::{Armed, Timer};
use crate::transport::{self, Phase};

/// How much of a successful response an attempt reads, and what it gives:
/// [`Head`] or [`Whole`]. A type rather than a value, so that each way has
/// its own futures, and the head's do not carry the state of reading a body.
pub(crate) trait Read: 'static {
    /// What a successful attempt gives.
    type Output: Send + 'static;

    /// Reads what the attempt needs of a successful response.
    fn read(response: Response) -> impl Future<Output = reqwest::Result<Self::Output>> + Send + 'static;

    /// What a successful response gives when nothing is left to read, or
    /// the response back, for [`read`](Read::read).
    fn at_once(response: Response) -> AtOnce<Self::Output>;

    /// The HTTP status of a success.
    fn http_status(output: &Self::Output) -> StatusCode;

    /// The response headers of a success.
    fn headers(output: &Self::Output) -> &HeaderMap;
}

/// What a successful response gives at once: the output, or the response,
/// whose rest is still to be read.
pub(crate) enum AtOnce<T> {
    Done(T),
    Read(Response),
}

/// The head: the caller streams the body.
pub(crate) struct Head;

impl Read for Head {
    type Output = Response;

    fn read(response: Response) -> impl Future<Output = reqwest::Result<Response>> + Send + 'static {
        std::future::ready(Ok(response))
    }

    fn at_once(response: Response) -> AtOnce<Response> {
        AtOnce::Done(response)
    }

    fn http_status(output: &Response) -> StatusCode {
        output.status()
    }

    fn headers(output: &Response) -> &HeaderMap {
        output.headers()
    }
}

/// The whole body, inside the attempt (a body cut short is retried).
pub(crate) struct Whole;

impl Read for Whole {
    type Output = BufferedResponse;

    fn read(mut response: Response) -> impl Future<Output = reqwest::Result<BufferedResponse>> + Send + 'static {
        let url = response.url().clone();
        let http_status = response.status();
        let headers = std::mem::take(response.headers_mut());
        async move {
            let body = response.bytes().await?;
            Ok(BufferedResponse { url, http_status, headers, body })
        }
    }

    fn at_once(response: Response) -> AtOnce<BufferedResponse> {
        AtOnce::Read(response)
    }

    fn http_status(output: &BufferedResponse) -> StatusCode {
        output.status()
    }

    fn headers(output: &BufferedResponse) -> &HeaderMap {
        output.headers()
    }
}

/// The request id of a response head: `x-request-id`, else `request-id`
/// (as [`canon::HeaderHints`] reads it).
pub(crate) fn request_id(headers: &HeaderMap) -> Option<&str> {
    const NAMES: [HeaderName; 2] = [HeaderName::from_static("x-request-id"), HeaderName::from_static("request-id")];
    NAMES
        .iter()
        .find_map(|name| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|s| !s.is_empty()))
}

fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// The budget of `url`'s host, when the client has budgets.
fn budget_for(shared: &Shared, url: &Url) -> Option<Arc<RetryBudget>> {
    shared.budgets.as_ref().map(|registry| shared.budget_cache.budget(registry, url))
}

/// The time limit of a logical request's first attempt: the policy's
/// per-attempt timeout, or the deadline if that is shorter (as the session
/// would give it).
pub(crate) fn first_timeout(policy: &Policy) -> Duration {
    policy.attempt_timeout().map_or(policy.deadline(), |t| t.min(policy.deadline()))
}

/// The span of one attempt, or [`Span::none`] when no subscriber takes
/// spans of its level, so that the success path builds no span (and, with
/// tracing's `log` feature, formats no fields) for nobody.
fn attempt_span(number: u32, method: &Method, url: &str, placement: Option<&Placement>) -> Span {
    if tracing::Level::INFO > STATIC_MAX_LEVEL || tracing::Level::INFO > LevelFilter::current() {
        return Span::none();
    }
    let span = tracing::info_span!(
        target: "canon_reqwest",
        "attempt",
        attempt = number,
        method = %method,
        url = %url,
        placement = Empty,
        http_status = Empty,
        request_id = Empty,
    );
    if let (Some(placement), false) = (placement, span.is_disabled()) {
        span.record("placement", display(placement));
    }
    span
}

/// The span of attempt 1 on the success path: `None` rather than a
/// disabled span when no subscriber takes it, so that the success path
/// neither enters nor drops one.
fn first_span(method: &Method, url: &str) -> Option<Span> {
    if tracing::Level::INFO > STATIC_MAX_LEVEL || tracing::Level::INFO > LevelFilter::current() {
        return None;
    }
    Some(attempt_span(1, method, url, None)).filter(|span| !span.is_disabled())
}

/// Runs one attempt's future until `expiry` fires, in `span`: one time
/// limit, for the per-attempt timeout and the deadline alike (the
/// session's attempt timeout is already the earlier of the two). The
/// attempt's future lives inside this one, pinned where it is: neither
/// boxed nor moved.
async fn timed<T, F>(attempt: F, mut expiry: Timer<'_>, span: &Span) -> Result<T, AttemptError>
where
    F: Future<Output = Result<T, AttemptError>>,
{
    let mut attempt = pin!(attempt);
    poll_fn(|cx| {
        // Entering `Span::none()` does nothing.
        let entered = span.enter();
        if let Poll::Ready(result) = attempt.as_mut().poll(cx) {
            return Poll::Ready(result);
        }
        drop(entered);
        match expiry.poll_expired(cx) {
            Poll::Ready(()) => Poll::Ready(Err(AttemptError::timed_out())),
            Poll::Pending => Poll::Pending,
        }
    })
    .await
}

/// The call of a request without placements, with `key` if it has one.
pub(crate) fn call(method: Method, key: Option<String>) -> Call {
    match key {
        Some(key) => Call::new(method).with_idempotency_key(key),
        None => Call::new(method),
    }
}

/// A first attempt run before the engine's loop: what it gave, and the
/// budget it was charged to.
pub(crate) struct FirstAttempt<T> {
    started: Instant,
    result: Result<T, AttemptError>,
    budget: Option<Arc<RetryBudget>>,
}

/// A logical request's future, boxed: what the engine's loop runs in.
pub(crate) type EngineFuture<T> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 'static>>;

/// The future of a logical request: [`RequestBuilder::send`] and the like.
///
/// When the first attempt needs no context (no generated key, no
/// placement, a body that can be sent again), the request is handed to
/// reqwest at once (`reqwest::Client::execute`, which does its work when
/// polled, as reqwest's own `send` does) and this future polls reqwest's
/// by hand, with the attempt's timer beside it: no session, no allocation
/// of its own, no future inside a future. This is the success path. Only
/// when attempt 1 fails (or an observer wants its report) does the
/// engine's loop, [`run`], take over, boxed; it opens the session as of
/// the time the request started, and decides exactly as if it had been
/// open from the start: the same deadline, attempt numbers and history.
///
/// Every other request runs the engine's loop from the start, boxed.
///
/// [`RequestBuilder::send`]: crate::RequestBuilder::send
pub(crate) struct Sending<R: Read, F> {
    stage: Stage<R, F>,
}

// The first attempt is inline on purpose: boxing it is the allocation this
// type exists to avoid.
#[allow(clippy::large_enum_variant)]
enum Stage<R: Read, F> {
    /// Attempt 1, polled by hand.
    First(First<R, F>),
    /// The engine's loop.
    Engine(EngineFuture<R::Output>),
    /// The output was given.
    Done,
}

/// Attempt 1 of a request that needs no context, polled by hand.
struct First<R: Read, F> {
    shared: Arc<Shared>,
    /// The request's idempotency key, if it has one (also in its header).
    key: Option<String>,
    /// The request again, for a retry.
    template: Template,
    /// The budget of the request's host, if the client has budgets.
    budget: Option<HostBudget>,
    /// reqwest's future: its `Pending`.
    sent: F,
    /// When the request started: its first poll.
    started: Option<Instant>,
    /// The attempt's span, if a subscriber takes it.
    span: Option<Span>,
    /// Armed when the attempt first waits.
    timer: Option<Armed>,
    /// The rest of a success, for [`Whole`].
    reading: Option<Reading<R::Output>>,
}

/// The reading of a success's body.
type Reading<T> = Pin<Box<dyn Future<Output = reqwest::Result<T>> + Send>>;

/// How attempt 1 ended.
enum Attempted<T> {
    Success(T),
    /// A response that is not a success, whose body is still to be read.
    ErrorHead(Response),
    Failed(AttemptError),
}

impl<R: Read, F> Sending<R, F> {
    /// A request whose first attempt, `sent`, is already handed to
    /// reqwest: a request made without a context, which `template` can make
    /// again for every other attempt (its key, if any, already in its
    /// header; no placement).
    ///
    /// `budget` is the budget of the request's host, if the client has
    /// budgets.
    #[inline(always)]
    pub(crate) fn first(
        shared: Arc<Shared>,
        key: Option<String>,
        sent: F,
        template: Template,
        budget: Option<HostBudget>,
    ) -> Sending<R, F> {
        Sending {
            stage: Stage::First(First {
                shared,
                key,
                template,
                budget,
                sent,
                started: None,
                span: None,
                timer: None,
                reading: None,
            }),
        }
    }

    /// A request that runs the engine's loop from the start.
    pub(crate) fn engine(future: EngineFuture<R::Output>) -> Sending<R, F> {
        Sending { stage: Stage::Engine(future) }
    }
}

impl<R: Read, F> Future for Sending<R, F>
where
    F: Future<Output = reqwest::Result<Response>> + Unpin,
{
    type Output = Result<R::Output, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        loop {
            match &mut this.stage {
                Stage::First(first) => match first.poll_attempt(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Attempted::Success(output)) if first.shared.on_attempt.is_none() => {
                        first.succeeded();
                        // Dropped where it is, not moved out.
                        this.stage = Stage::Done;
                        return Poll::Ready(Ok(output));
                    }
                    Poll::Ready(attempted) => this.hand_over(attempted),
                },
                Stage::Engine(engine) => {
                    let output = std::task::ready!(engine.as_mut().poll(cx));
                    this.stage = Stage::Done;
                    return Poll::Ready(output);
                }
                Stage::Done => panic!("a request's future was polled after it completed"),
            }
        }
    }
}

impl<R: Read, F> Sending<R, F>
where
    F: Future<Output = reqwest::Result<Response>> + Unpin,
{
    /// Hands the request over to the engine's loop after attempt 1.
    ///
    /// Never inlined, as [`First::go_on`] is not: the first attempt moved
    /// out of the stage would otherwise take room in [`Sending::poll`]'s
    /// frame on the success path too.
    #[cold]
    #[inline(never)]
    fn hand_over(&mut self, attempted: Attempted<R::Output>) {
        let Stage::First(first) = std::mem::replace(&mut self.stage, Stage::Done) else {
            unreachable!("the stage is the first attempt")
        };
        self.stage = Stage::Engine(first.go_on(attempted));
    }
}

impl<R: Read, F> Drop for Sending<R, F> {
    /// A request dropped during attempt 1 gives its timer back.
    fn drop(&mut self) {
        if let Stage::First(first) = &mut self.stage {
            if let Some(armed) = first.timer.take() {
                first.shared.timers.release(armed);
            }
        }
    }
}

impl<R: Read, F> First<R, F>
where
    F: Future<Output = reqwest::Result<Response>> + Unpin,
{
    /// Polls attempt 1: reqwest's future (then, for [`Whole`], the reading
    /// of the body) in the attempt's span, then the attempt's timer.
    fn poll_attempt(&mut self, cx: &mut Context<'_>) -> Poll<Attempted<R::Output>> {
        if self.started.is_none() {
            self.started = Some(now());
            self.span = first_span(&self.template.method, self.template.url.as_str());
        }
        {
            let _entered = self.span.as_ref().map(Span::enter);
            loop {
                if let Some(reading) = &mut self.reading {
                    match reading.as_mut().poll(cx) {
                        Poll::Ready(Ok(output)) => return Poll::Ready(Attempted::Success(output)),
                        Poll::Ready(Err(error)) => {
                            return Poll::Ready(Attempted::Failed(transport_failure(error, Phase::Body)));
                        }
                        Poll::Pending => break,
                    }
                }
                match Pin::new(&mut self.sent).poll(cx) {
                    Poll::Ready(Ok(response)) => {
                        let http_status = response.status();
                        if let Some(span) = &self.span {
                            span.record("http_status", http_status.as_u16());
                        }
                        if !http_status.is_success() {
                            return Poll::Ready(Attempted::ErrorHead(response));
                        }
                        if let Some(span) = &self.span {
                            if let Some(id) = request_id(response.headers()) {
                                span.record("request_id", id);
                            }
                        }
                        match R::at_once(response) {
                            AtOnce::Done(output) => return Poll::Ready(Attempted::Success(output)),
                            // Read the rest, then poll it in the loop's next turn.
                            AtOnce::Read(response) => self.reading = Some(Box::pin(R::read(response))),
                        }
                    }
                    Poll::Ready(Err(error)) => {
                        return Poll::Ready(Attempted::Failed(transport_failure(error, Phase::Send)));
                    }
                    Poll::Pending => break,
                }
            }
        }
        let timer = match &mut self.timer {
            Some(timer) => timer,
            None => {
                let until = self.until();
                self.timer.insert(self.shared.timers.arm(until))
            }
        };
        match timer.poll_expired(&self.shared.timers, cx) {
            Poll::Ready(()) => Poll::Ready(Attempted::Failed(AttemptError::timed_out())),
            Poll::Pending => Poll::Pending,
        }
    }

    /// The end of attempt 1's time.
    fn until(&self) -> tokio::time::Instant {
        let started = self.started.unwrap_or_else(now);
        tokio::time::Instant::from_std(started + self.shared.first_timeout)
    }

    /// Ends a success that no observer wants a report of: the timer goes
    /// back to the client, and the host's budget earns its share of a retry.
    ///
    /// The share is earned as of the time the request started, so that the
    /// success path reads the clock once: a budget counts an instant
    /// earlier than its last as no time passing, and a deposit made a
    /// request's duration early loses at most that much of its decay.
    fn succeeded(&mut self) {
        if let Some(armed) = self.timer.take() {
            self.shared.timers.release(armed);
        }
        if let Some(budget) = &self.budget {
            let started = self.started.unwrap_or_else(now);
            self.shared.budget_cache.resolve(budget).deposit(started);
        }
    }

    /// The engine's loop after attempt 1, boxed: first reading the body of
    /// an error response, still under attempt 1's timer and in its span.
    ///
    /// Never inlined: the loop's future is built on the stack before it is
    /// boxed, and inlined into [`Sending::poll`] its several kilobytes made
    /// the success path's frame that large too (a stack probe and a longer
    /// prologue on every poll).
    #[cold]
    #[inline(never)]
    fn go_on(self, attempted: Attempted<R::Output>) -> EngineFuture<R::Output> {
        let until = self.until();
        let First { shared, key, template, started, span, timer, .. } = self;
        let span = span.unwrap_or_else(Span::none);
        let call = call(template.method.clone(), key);
        let started = started.unwrap_or_else(now);
        Box::pin(async move {
            let shared = &*shared;
            let result = match attempted {
                Attempted::Success(output) => Ok(output),
                Attempted::Failed(error) => Err(error),
                Attempted::ErrorHead(response) => {
                    let expiry = match timer {
                        Some(armed) => Timer::adopt(&shared.timers, armed),
                        None => shared.timers.start(until),
                    };
                    timed(async { Err(failed(shared, response, &span).await) }, expiry, &span).await
                }
            };
            drop(span);
            let url = template.url.to_url();
            let budget = budget_for(shared, &url);
            let first = FirstAttempt { started, result, budget };
            let build = |_: &AttemptContext| Ok(template.request());
            run::<R, _>(shared, &shared.retrier, call, Some(first), Some(&url), build).await
        })
    }
}

/// Runs one logical request: `build` makes each attempt's request.
///
/// `first`, when given, is attempt 1, already run by [`Sending`]; the loop
/// goes on from its outcome, and opens the session only when it needs one
/// (a failure, or an observer to report a success to).
///
/// `fixed_url`, when given, is the URL of every attempt, so that the loop
/// need not copy each attempt's URL to report it.
pub(crate) async fn run<R: Read, B>(
    shared: &Shared,
    retrier: &Retrier,
    call: Call,
    mut first: Option<FirstAttempt<R::Output>>,
    fixed_url: Option<&Url>,
    mut build: B,
) -> Result<R::Output, Error>
where
    B: FnMut(&AttemptContext) -> Result<Request, reqwest::Error>,
{
    let method = call.method().clone();
    let started = first.as_ref().map_or_else(now, |first| first.started);
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
    let mut spent: Vec<(Arc<RetryBudget>, f64)> = Vec::new();
    let mut last: Option<LastFailure> = None;
    let mut last_url: Option<Url> = None;
    loop {
        let (result, budget, own_url) = match first.take() {
            Some(FirstAttempt { result, budget, .. }) => (result, budget, None),
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
                let mut request = match build(&context) {
                    Ok(request) => request,
                    Err(error) => {
                        let history = session.map(Session::into_history).unwrap_or_default();
                        return Err(Error::request(method, error, history));
                    }
                };
                prepare(shared, &mut request, &context);
                let budget = budget_for(shared, request.url());
                let own_url = fixed_url.is_none().then(|| request.url().clone());
                let span =
                    attempt_span(context.number, request.method(), request.url().as_str(), context.placement.as_ref());
                let sent = shared.http.execute(request);
                let expiry = shared.timers.start(tokio::time::Instant::from_std(at + context.timeout));
                let result = timed(attempt::<R, _>(shared, sent, &span), expiry, &span).await;
                (result, budget, own_url)
            }
        };
        match result {
            Ok(success) => {
                let url = own_url.or_else(|| fixed_url.cloned()).expect("one of them is set");
                let done = now();
                // The host that answered earns its share of a retry, and
                // every budget gets back what this request's retries cost.
                if let Some(budget) = &budget {
                    budget.deposit(done);
                }
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
                    record.request_id = request_id(R::headers(&success)).map(str::to_owned);
                    observer(&AttemptReport {
                        method: method.clone(),
                        url,
                        http_status: Some(R::http_status(&success)),
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
                        // An answer that is not overload (a 404, a validation
                        // error) shows a host that is up: it earns like a
                        // success, as in `Session::failed`.
                        if !classified.is_overload() {
                            if let Some(budget) = &budget {
                                budget.deposit(now());
                            }
                        }
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

impl AttemptError {
    /// The attempt ran out of time.
    fn timed_out() -> AttemptError {
        AttemptError::Failed {
            last: LastFailure::Transport { kind: TransportKind::Timeout, source: None },
            classified: Failure::transport(TransportKind::Timeout),
        }
    }
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

/// A transport failure as the engine sees it: a request reqwest refused
/// (not retried), or a transient failure.
fn transport_failure(source: reqwest::Error, phase: Phase) -> AttemptError {
    if phase == Phase::Send && transport::is_request_error(&source) {
        return AttemptError::Request(source);
    }
    let kind = transport::classify(&source, phase);
    AttemptError::Failed {
        last: LastFailure::Transport { kind, source: Some(source) },
        classified: Failure::transport(kind),
    }
}

/// Waits for an attempt's response and reads what it needs of it.
async fn attempt<R: Read, F>(shared: &Shared, sent: F, span: &Span) -> Result<R::Output, AttemptError>
where
    F: Future<Output = reqwest::Result<Response>>,
{
    let response = sent.await.map_err(|e| transport_failure(e, Phase::Send))?;
    let http_status = response.status();
    if !span.is_disabled() {
        span.record("http_status", http_status.as_u16());
    }
    if !http_status.is_success() {
        // Boxed, so that the error path's state does not weigh on every
        // attempt's future.
        return Err(Box::pin(failed(shared, response, span)).await);
    }
    if !span.is_disabled() {
        if let Some(id) = request_id(response.headers()) {
            span.record("request_id", id);
        }
    }
    R::read(response).await.map_err(|e| transport_failure(e, Phase::Body))
}

/// Reads and decodes an error response, up to the client's limit.
async fn failed(shared: &Shared, mut response: Response, span: &Span) -> AttemptError {
    let url = response.url().clone();
    let http_status = response.status();
    let headers = std::mem::take(response.headers_mut());
    let (body, cut) = match transport::read_limited(&mut response, shared.max_error_body).await {
        Ok(read) => read,
        Err(error) => return transport_failure(error, Phase::Body),
    };
    let error = ErrorResponse::new(url, http_status, headers, body, cut);
    if let (Some(id), false) = (error.request_id(), span.is_disabled()) {
        span.record("request_id", id);
    }
    let classified = Failure::from_decoded(error.decoded());
    AttemptError::Failed { last: LastFailure::Response(Box::new(error)), classified }
}
