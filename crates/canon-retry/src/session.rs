//! The decision core: outcome in, decision out, on any clock, with no
//! runtime.
//!
//! A [`Retrier`] holds what requests share: the [`Policy`], the
//! [`RetryBudget`], the optional [`AdaptiveThrottle`] and the random
//! source. For each logical request, [`Retrier::start`] opens a
//! [`Session`], and the caller alternates two calls:
//!
//! 1. [`Session::begin`] before each attempt: it numbers the attempt and
//!    gives its key, placement and timeout (or refuses it: the throttle
//!    rejected the first attempt, or the deadline has passed);
//! 2. [`Session::succeeded`] or [`Session::failed`] after it (or
//!    [`Session::on_outcome`], which takes either): a failure yields a
//!    [`Retry`] (how long to wait, where to go next, whether to re-read
//!    state first) or a [`GiveUp`] with its reason.
//!
//! Every call takes `now` and nothing else reads the time, so a simulation
//! drives thousands of sessions on one virtual clock; every draw comes
//! from the retrier's random source, so a fixed seed repeats a run
//! exactly.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use canon::{Code, Provider, Status};
//! use canon_retry::{Call, ConstantRandom, Failure, Policy, Retrier, WaitReason};
//! use http::Method;
//!
//! let retrier = Retrier::builder(Policy::cudo()).random_source(ConstantRandom::new(0.5)).no_budget().build();
//! let mut now = Instant::now();
//! let mut session = retrier.start(now, Call::new(Method::GET));
//!
//! // The CUDO page's 503 with RetryInfo 5 s: the first wait is the hint.
//! let status = Status::builder(Code::Unavailable, "later").retry_delay(Duration::from_secs(5)).build();
//! let unavailable = Failure::from_status(&status, Provider::Cudo, Some(503), None);
//! session.begin(now).unwrap();
//! let retry = session.failed(now, &unavailable).unwrap();
//! assert_eq!((retry.wait, retry.reason), (Duration::from_secs(5), WaitReason::Hint));
//!
//! // Then the backoff sequence resumes at its second step: 800 ms with
//! // full jitter pinned at one half.
//! now += retry.wait;
//! session.begin(now).unwrap();
//! let internal = Failure::from_status(&Status::new(Code::Unavailable, "again"), Provider::Cudo, Some(503), None);
//! let retry = session.failed(now, &internal).unwrap();
//! assert_eq!((retry.wait, retry.reason), (Duration::from_millis(400), WaitReason::Backoff));
//!
//! now += retry.wait;
//! session.begin(now).unwrap();
//! session.succeeded(now);
//! assert_eq!(session.history().len(), 3);
//! ```
//!
//! # The wait rule
//!
//! The backoff sequence runs on its own: step `n` of the [`Backoff`]
//! (with its jitter) for the `n`-th retry at the same placement. A
//! server's hint (RetryInfo or `Retry-After`, the longer of the two) is a
//! floor under it:
//!
//! ```text
//! wait = max(min(hint, max_hint), backoff step n)
//! ```
//!
//! The first wait therefore starts from the hint (the first backoff step
//! is at most the base, or three times it with decorrelated jitter: below
//! any hint worth giving), and later retries
//! resume the sequence where it was, as the CUDO page asks ("start with
//! that delay before resuming your normal backoff sequence"). Every retry
//! after an attempt that carried a hint waits at least that hint: the
//! engine never comes back sooner than a server asked, except when the
//! hint was above [`Policy::max_hint`], where it is clamped to that
//! maximum (a server asking for a day is more likely broken than
//! serious; set `max_hint` at or above the deadline to honour every hint
//! or give up). Hints canon cannot read (a negative RetryInfo, a garbled
//! or past `Retry-After`) never reach the engine: canon drops them, and
//! the backoff alone applies.
//!
//! A move to another placement (`elsewhere`) waits the hint if there was
//! one and nothing otherwise, and does not advance the backoff: the
//! capacity that failed is not the one tried next.
//!
//! # The order of the checks
//!
//! A failure is retried only if it passes every check below, in order; the
//! first that fails is the [`GiveUpReason`]. Nothing is slept before the
//! decision: when no retry fits, the session says so at once.
//!
//! 1. The advice allows a retry ([`GiveUpReason::NotRetryable`]).
//! 2. The policy permits the code, for presets that narrow
//!    ([`GiveUpReason::ExcludedByPolicy`]).
//! 3. The call is idempotent ([`GiveUpReason::NotIdempotent`]).
//! 4. Attempts are left ([`GiveUpReason::AttemptsExhausted`]).
//! 5. The provider's own limit for this error is not reached (Gcore's 3
//!    retries of a 500; [`GiveUpReason::ProviderLimit`]).
//! 6. For `elsewhere`, a placement is left ([`GiveUpReason::NoPlacementLeft`]).
//! 7. The wait ends before the deadline
//!    ([`GiveUpReason::NoRetryFitsBeforeDeadline`]).
//! 8. The throttle, if any, admits the retry ([`GiveUpReason::Throttled`]).
//! 9. The budget, if any, pays for it ([`GiveUpReason::BudgetExhausted`]).
//!
//! The throttle and the budget come last because they spend: a retry that
//! a cheaper check refuses costs no token.
//!
//! # `after_refetch`
//!
//! For ABORTED (a concurrent change won) the advice is to re-read the
//! resource and retry; the [`Retry`] then has `refetch: true`, and the
//! caller re-reads state (a new ETag) after the wait and before the next
//! attempt. The async driver does it through
//! [`Operation::refetch`](crate::driver::Operation::refetch).

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use canon::RetryKind;
use http::Method;

use crate::backoff::Backoff;
use crate::budget::RetryBudget;
use crate::call::{AttemptContext, Call, KeySource, generate_key, is_idempotent_method};
use crate::history::{AttemptRecord, AttemptStatus};
use crate::outcome::{Failure, Outcome};
use crate::placement::Placement;
use crate::policy::Policy;
use crate::random::{RandomSource, SplitMix64};
use crate::throttle::AdaptiveThrottle;

const TARGET: &str = "canon_retry";

/// Why a retry waits as long as it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WaitReason {
    /// The server's hint, which was longer than the backoff step.
    Hint,
    /// The backoff step.
    Backoff,
    /// A move to another placement, which needs no wait.
    Elsewhere,
}

impl WaitReason {
    /// The stable name, such as `hint`.
    pub const fn as_str(self) -> &'static str {
        match self {
            WaitReason::Hint => "hint",
            WaitReason::Backoff => "backoff",
            WaitReason::Elsewhere => "elsewhere",
        }
    }
}

impl fmt::Display for WaitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why the engine gave up. See [the order of the checks](self#the-order-of-the-checks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GiveUpReason {
    /// The advice says not to retry this error.
    NotRetryable,
    /// The policy narrows retries to codes this error does not have.
    ExcludedByPolicy,
    /// The call is neither idempotent by method nor carries a key.
    NotIdempotent,
    /// The policy's maximum number of attempts was reached.
    AttemptsExhausted,
    /// The provider's own limit on retries of this error was reached.
    ProviderLimit,
    /// A capacity error, and no placement left to try.
    NoPlacementLeft,
    /// The next wait would end at or after the deadline.
    NoRetryFitsBeforeDeadline,
    /// The deadline passed before the next attempt could start.
    DeadlinePassed,
    /// The adaptive throttle rejected the attempt locally.
    Throttled,
    /// The retry budget had nothing left.
    BudgetExhausted,
    /// Re-reading state before the retry failed (driver only).
    RefetchFailed,
    /// The session had already ended (a call after a final decision).
    Finished,
}

impl GiveUpReason {
    /// The stable name, such as `budget_exhausted`.
    pub const fn as_str(self) -> &'static str {
        match self {
            GiveUpReason::NotRetryable => "not_retryable",
            GiveUpReason::ExcludedByPolicy => "excluded_by_policy",
            GiveUpReason::NotIdempotent => "not_idempotent",
            GiveUpReason::AttemptsExhausted => "attempts_exhausted",
            GiveUpReason::ProviderLimit => "provider_limit",
            GiveUpReason::NoPlacementLeft => "no_placement_left",
            GiveUpReason::NoRetryFitsBeforeDeadline => "no_retry_fits_before_deadline",
            GiveUpReason::DeadlinePassed => "deadline_passed",
            GiveUpReason::Throttled => "throttled",
            GiveUpReason::BudgetExhausted => "budget_exhausted",
            GiveUpReason::RefetchFailed => "refetch_failed",
            GiveUpReason::Finished => "finished",
        }
    }

    /// The reason in a sentence fragment, such as "no retry fits before the
    /// deadline".
    pub const fn describe(self) -> &'static str {
        match self {
            GiveUpReason::NotRetryable => "the error is not retryable",
            GiveUpReason::ExcludedByPolicy => "the policy does not retry this code",
            GiveUpReason::NotIdempotent => "the request is not idempotent and carries no idempotency key",
            GiveUpReason::AttemptsExhausted => "no attempts left",
            GiveUpReason::ProviderLimit => "the provider's retry limit for this error was reached",
            GiveUpReason::NoPlacementLeft => "no other placement left to try",
            GiveUpReason::NoRetryFitsBeforeDeadline => "no retry fits before the deadline",
            GiveUpReason::DeadlinePassed => "the deadline passed",
            GiveUpReason::Throttled => "rejected locally by adaptive throttling",
            GiveUpReason::BudgetExhausted => "the retry budget is exhausted",
            GiveUpReason::RefetchFailed => "re-reading state before the retry failed",
            GiveUpReason::Finished => "the request had already finished",
        }
    }
}

impl fmt::Display for GiveUpReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// The decision to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct GiveUp {
    /// Why.
    pub reason: GiveUpReason,
    /// How many attempts were sent.
    pub attempts: u32,
}

impl GiveUp {
    /// A give-up after `attempts` attempts.
    pub fn new(reason: GiveUpReason, attempts: u32) -> GiveUp {
        GiveUp { reason, attempts }
    }
}

impl fmt::Display for GiveUp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "gave up after {} attempts: {}", self.attempts, self.reason)
    }
}

/// The decision to try again.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Retry {
    /// The number of the attempt to come.
    pub attempt: u32,
    /// How long to wait before it.
    pub wait: Duration,
    /// Why the wait is that long.
    pub reason: WaitReason,
    /// The server's hint that applied, clamped to the policy's maximum.
    pub hint: Option<Duration>,
    /// Where the attempt to come goes (changed by a move elsewhere).
    pub placement: Option<Placement>,
    /// Whether to re-read state after the wait, before the attempt.
    pub refetch: bool,
}

/// What to do after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The attempt succeeded; the request is done.
    Done,
    /// Wait, then try again.
    Retry(Retry),
    /// Stop, and report the last error.
    GiveUp(GiveUp),
}

struct Shared {
    policy: Policy,
    budget: Option<Arc<RetryBudget>>,
    throttle: Option<Arc<AdaptiveThrottle>>,
    rng: Mutex<Box<dyn RandomSource>>,
}

impl Shared {
    fn rng(&self) -> std::sync::MutexGuard<'_, Box<dyn RandomSource>> {
        self.rng.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What the requests of one client share: policy, budget, throttle and
/// random source. Cheap to clone (the clones share everything).
#[derive(Clone)]
pub struct Retrier {
    shared: Arc<Shared>,
}

impl fmt::Debug for Retrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Retrier")
            .field("policy", &self.shared.policy)
            .field("budget", &self.shared.budget)
            .field("throttle", &self.shared.throttle)
            .finish_non_exhaustive()
    }
}

impl Retrier {
    /// A retrier with its own default budget ([`RetryBudget::default`]), no
    /// throttle, and a random source seeded from the operating system.
    pub fn new(policy: Policy) -> Retrier {
        Retrier::builder(policy).build()
    }

    /// A builder, to share a budget, add a throttle or fix the seed.
    pub fn builder(policy: Policy) -> RetrierBuilder {
        RetrierBuilder {
            policy,
            budget: Some(Arc::new(RetryBudget::default())),
            throttle: None,
            rng: Box::new(SplitMix64::from_entropy()),
        }
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.shared.policy
    }

    /// The budget, if retries have one.
    pub fn budget(&self) -> Option<&Arc<RetryBudget>> {
        self.shared.budget.as_ref()
    }

    /// The throttle, if attempts have one.
    pub fn throttle(&self) -> Option<&Arc<AdaptiveThrottle>> {
        self.shared.throttle.as_ref()
    }

    /// Starts a logical request at `now`: fixes its deadline and, if the
    /// call asks for one, generates its idempotency key.
    pub fn start(&self, now: Instant, call: Call) -> Session {
        let (method, key_source, placements) = call.into_parts();
        let idempotent = is_idempotent_method(&method) || key_source != KeySource::None;
        let key = match key_source {
            KeySource::None => None,
            KeySource::Given(key) => Some(key),
            KeySource::Generate => Some(generate_key(&mut **self.shared.rng())),
        };
        let mut queue: VecDeque<Placement> = placements.into();
        let current = queue.pop_front();
        Session {
            shared: Arc::clone(&self.shared),
            method,
            idempotent,
            key,
            started: now,
            deadline: now + self.shared.policy.deadline(),
            tried: current.iter().cloned().collect(),
            current,
            queue,
            attempts: 0,
            retries: 0,
            backoff_step: 0,
            previous_backoff: None,
            spent: 0.0,
            attempt_started: now,
            history: Vec::new(),
            phase: Phase::Ready { admitted: false },
        }
    }
}

/// Builds a [`Retrier`].
pub struct RetrierBuilder {
    policy: Policy,
    budget: Option<Arc<RetryBudget>>,
    throttle: Option<Arc<AdaptiveThrottle>>,
    rng: Box<dyn RandomSource>,
}

impl fmt::Debug for RetrierBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetrierBuilder")
            .field("policy", &self.policy)
            .field("budget", &self.budget)
            .field("throttle", &self.throttle)
            .finish_non_exhaustive()
    }
}

impl RetrierBuilder {
    /// Shares `budget` (per host or service; see
    /// [`BudgetRegistry`](crate::BudgetRegistry)).
    pub fn budget(mut self, budget: Arc<RetryBudget>) -> RetrierBuilder {
        self.budget = Some(budget);
        self
    }

    /// Retries without a budget: only the policy limits them. For tests
    /// and one-shot tools, not for fleets (see [`crate::budget`]).
    pub fn no_budget(mut self) -> RetrierBuilder {
        self.budget = None;
        self
    }

    /// Adds client-side adaptive throttling.
    pub fn throttle(mut self, throttle: Arc<AdaptiveThrottle>) -> RetrierBuilder {
        self.throttle = Some(throttle);
        self
    }

    /// Draws from a [`SplitMix64`] seeded with `seed`: the same seed, the
    /// same waits and keys.
    pub fn seed(self, seed: u64) -> RetrierBuilder {
        self.random_source(SplitMix64::new(seed))
    }

    /// Draws from `source` (any `rand::RngCore` works, such as a seeded
    /// `SmallRng`).
    pub fn random_source(mut self, source: impl RandomSource + 'static) -> RetrierBuilder {
        self.rng = Box::new(source);
        self
    }

    /// The retrier.
    pub fn build(self) -> Retrier {
        Retrier {
            shared: Arc::new(Shared {
                policy: self.policy,
                budget: self.budget,
                throttle: self.throttle,
                rng: Mutex::new(self.rng),
            }),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    /// Between attempts; `admitted` when the throttle has already let the
    /// next attempt through (retries are admitted when decided).
    Ready { admitted: bool },
    /// An attempt has begun and its outcome is awaited.
    InFlight,
    /// Done (`None`) or given up.
    Finished(Option<GiveUp>),
}

/// One logical request in progress. See the [module docs](self).
pub struct Session {
    shared: Arc<Shared>,
    method: Method,
    idempotent: bool,
    key: Option<Arc<str>>,
    started: Instant,
    deadline: Instant,
    current: Option<Placement>,
    queue: VecDeque<Placement>,
    tried: Vec<Placement>,
    attempts: u32,
    retries: u32,
    backoff_step: u32,
    previous_backoff: Option<Duration>,
    spent: f64,
    attempt_started: Instant,
    history: Vec<AttemptRecord>,
    phase: Phase,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("method", &self.method)
            .field("key", &self.key)
            .field("attempts", &self.attempts)
            .field("placement", &self.current)
            .field("phase", &self.phase)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// The idempotency key every attempt carries.
    pub fn idempotency_key(&self) -> Option<&str> {
        self.key.as_deref()
    }

    /// When the call started.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// The call's deadline.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// How many attempts have begun.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Where the current or next attempt goes.
    pub fn placement(&self) -> Option<&Placement> {
        self.current.as_ref()
    }

    /// Whether the session has reached a final decision.
    pub fn is_finished(&self) -> bool {
        matches!(self.phase, Phase::Finished(_))
    }

    /// The attempts so far.
    pub fn history(&self) -> &[AttemptRecord] {
        &self.history
    }

    /// The attempts, by value.
    pub fn into_history(self) -> Vec<AttemptRecord> {
        self.history
    }

    fn policy(&self) -> &Policy {
        &self.shared.policy
    }

    fn finish(&mut self, reason: GiveUpReason) -> GiveUp {
        let give_up = GiveUp::new(reason, self.attempts);
        self.phase = Phase::Finished(Some(give_up));
        tracing::debug!(target: TARGET, attempts = self.attempts, reason = reason.as_str(), "giving up: {reason}");
        give_up
    }

    fn finished_error(&self) -> Option<GiveUp> {
        match self.phase {
            Phase::Finished(Some(give_up)) => Some(give_up),
            Phase::Finished(None) => Some(GiveUp::new(GiveUpReason::Finished, self.attempts)),
            _ => None,
        }
    }

    fn context(&self, now: Instant) -> AttemptContext {
        let left = self.deadline.saturating_duration_since(now);
        AttemptContext {
            number: self.attempts,
            idempotency_key: self.key.clone(),
            placement: self.current.clone(),
            timeout: self.policy().attempt_timeout().map_or(left, |t| t.min(left)),
            deadline: self.deadline,
        }
    }

    /// Begins the next attempt at `now`. For the first attempt, asks the
    /// throttle (if any). Refuses when the
    /// deadline has passed, the throttle rejects the first attempt, or the
    /// session has ended. Calling it again before the outcome returns the
    /// same attempt.
    pub fn begin(&mut self, now: Instant) -> Result<AttemptContext, GiveUp> {
        if let Some(give_up) = self.finished_error() {
            return Err(give_up);
        }
        let Phase::Ready { admitted } = self.phase else {
            return Ok(self.context(now));
        };
        if now >= self.deadline {
            return Err(self.finish(GiveUpReason::DeadlinePassed));
        }
        if !admitted {
            if let Some(throttle) = &self.shared.throttle {
                if !throttle.admit(now, &mut **self.shared.rng()) {
                    return Err(self.finish(GiveUpReason::Throttled));
                }
            }
        }
        self.attempts += 1;
        self.attempt_started = now;
        self.phase = Phase::InFlight;
        let context = self.context(now);
        tracing::debug!(
            target: TARGET,
            attempt = context.number,
            method = %self.method,
            placement = context.placement.as_ref().map(tracing::field::display),
            timeout_ms = context.timeout.as_millis() as u64,
            "attempt started"
        );
        Ok(context)
    }

    /// Reads an outcome: [`succeeded`](Session::succeeded) or
    /// [`failed`](Session::failed).
    pub fn on_outcome(&mut self, now: Instant, outcome: &Outcome) -> Decision {
        match outcome {
            Outcome::Success => {
                self.succeeded(now);
                Decision::Done
            }
            Outcome::Failure(failure) => match self.failed(now, failure) {
                Ok(retry) => Decision::Retry(retry),
                Err(give_up) => Decision::GiveUp(give_up),
            },
        }
    }

    fn record(&mut self, now: Instant, status: AttemptStatus, request_id: Option<String>, hint: Option<Duration>) {
        self.history.push(AttemptRecord {
            number: self.attempts,
            started: self.attempt_started.saturating_duration_since(self.started),
            ended: now.saturating_duration_since(self.started),
            placement: self.current.clone(),
            status,
            request_id,
            hint,
            wait: None,
            wait_reason: None,
        });
    }

    /// The current attempt succeeded: the request is done. The budget
    /// earns its share of a retry and gets back what the request's
    /// retries cost.
    pub fn succeeded(&mut self, now: Instant) {
        if matches!(self.phase, Phase::Ready { .. }) && self.begin(now).is_err() {
            return;
        }
        if self.is_finished() {
            return;
        }
        self.record(now, AttemptStatus::Success, None, None);
        if let Some(throttle) = &self.shared.throttle {
            throttle.record_accepted(now);
        }
        if let Some(budget) = &self.shared.budget {
            budget.deposit(now);
            budget.refund(now, self.spent);
        }
        self.phase = Phase::Finished(None);
        tracing::debug!(
            target: TARGET,
            attempt = self.attempts,
            elapsed_ms = now.saturating_duration_since(self.started).as_millis() as u64,
            "attempt succeeded"
        );
    }

    /// The current attempt failed: decide whether, when and where to try
    /// again. See the [module docs](self) for the wait rule and the order
    /// of the checks.
    pub fn failed(&mut self, now: Instant, failure: &Failure) -> Result<Retry, GiveUp> {
        if matches!(self.phase, Phase::Ready { .. }) {
            self.begin(now)?;
        }
        if let Some(give_up) = self.finished_error() {
            return Err(give_up);
        }
        self.record(now, AttemptStatus::of(failure), failure.request_id.clone(), failure.hint);
        tracing::debug!(
            target: TARGET,
            attempt = self.attempts,
            status = %AttemptStatus::of(failure),
            request_id = failure.request_id.as_deref(),
            hint_ms = failure.hint.map(|h| h.as_millis() as u64),
            retry = failure.retry.as_str(),
            "attempt failed"
        );
        if let Some(throttle) = &self.shared.throttle {
            if !failure.is_overload() {
                throttle.record_accepted(now);
            }
        }
        match self.decide(now, failure) {
            Ok(retry) => {
                let record = self.history.last_mut().expect("the attempt was just recorded");
                record.wait = Some(retry.wait);
                record.wait_reason = Some(retry.reason);
                self.phase = Phase::Ready { admitted: true };
                tracing::debug!(
                    target: TARGET,
                    attempt = retry.attempt,
                    wait_ms = retry.wait.as_millis() as u64,
                    reason = retry.reason.as_str(),
                    placement = retry.placement.as_ref().map(tracing::field::display),
                    refetch = retry.refetch,
                    "retrying"
                );
                Ok(retry)
            }
            Err(reason) => {
                // An answer that is not overload (a 404, a validation
                // error) shows a server that is up: it earns like a success.
                if !failure.is_overload() {
                    if let Some(budget) = &self.shared.budget {
                        budget.deposit(now);
                    }
                }
                Err(self.finish(reason))
            }
        }
    }

    fn decide(&mut self, now: Instant, failure: &Failure) -> Result<Retry, GiveUpReason> {
        if failure.retry == RetryKind::Never {
            return Err(GiveUpReason::NotRetryable);
        }
        if !self.policy().permits_code(failure.code) {
            return Err(GiveUpReason::ExcludedByPolicy);
        }
        if !self.idempotent {
            return Err(GiveUpReason::NotIdempotent);
        }
        if self.attempts >= self.policy().max_attempts() {
            return Err(GiveUpReason::AttemptsExhausted);
        }
        if failure.max_retries.is_some_and(|max| self.retries >= max) {
            return Err(GiveUpReason::ProviderLimit);
        }
        let elsewhere = failure.retry == RetryKind::Elsewhere;
        let next_placement =
            if elsewhere { Some(self.next_placement(failure).ok_or(GiveUpReason::NoPlacementLeft)?) } else { None };
        let hint = failure.hint.map(|h| h.min(self.policy().max_hint()));
        let (wait, reason, backoff) = if elsewhere {
            match hint {
                Some(hint) => (hint, WaitReason::Hint, None),
                None => (Duration::ZERO, WaitReason::Elsewhere, None),
            }
        } else {
            let backoff: Backoff = *self.policy().backoff();
            let step = backoff.wait(self.backoff_step, self.previous_backoff, &mut **self.shared.rng());
            match hint {
                Some(hint) if hint >= step => (hint, WaitReason::Hint, Some(step)),
                _ => (step, WaitReason::Backoff, Some(step)),
            }
        };
        if now.checked_add(wait).is_none_or(|resume| resume >= self.deadline) {
            return Err(GiveUpReason::NoRetryFitsBeforeDeadline);
        }
        if let Some(throttle) = &self.shared.throttle {
            if !throttle.admit(now, &mut **self.shared.rng()) {
                return Err(GiveUpReason::Throttled);
            }
        }
        if let Some(budget) = &self.shared.budget {
            let cost = budget.withdraw(now, &mut **self.shared.rng()).ok_or(GiveUpReason::BudgetExhausted)?;
            self.spent += cost;
        }
        if let Some(step) = backoff {
            self.backoff_step += 1;
            self.previous_backoff = Some(step);
        }
        if let Some(placement) = next_placement {
            self.tried.push(placement.clone());
            self.current = Some(placement);
        }
        self.retries += 1;
        Ok(Retry {
            attempt: self.attempts + 1,
            wait,
            reason,
            hint,
            placement: self.current.clone(),
            refetch: failure.retry == RetryKind::AfterRefetch,
        })
    }

    /// The next placement after a capacity error: the error's alternatives
    /// applied to the placement that failed, then the caller's queue, each
    /// skipped if already tried. Queues the alternatives in front of the
    /// caller's and takes the first.
    fn next_placement(&mut self, failure: &Failure) -> Option<Placement> {
        let failed = self.current.clone().unwrap_or_default();
        let mut named: Vec<Placement> = Vec::new();
        for alternative in &failure.alternatives {
            let placement = alternative.apply_to(&failed);
            if !self.tried.contains(&placement) && !named.contains(&placement) {
                named.push(placement);
            }
        }
        self.queue.retain(|p| !named.contains(p));
        for placement in named.into_iter().rev() {
            self.queue.push_front(placement);
        }
        while let Some(placement) = self.queue.pop_front() {
            if !self.tried.contains(&placement) {
                return Some(placement);
            }
        }
        None
    }
}
