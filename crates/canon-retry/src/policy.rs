//! The policy: how many attempts, how long in all, how long each, how to
//! back off, how far to trust a server's hint, and which errors a preset
//! narrows retries to.
//!
//! A [`Policy`] is built once, validated, and shared by every request a
//! [`Retrier`](crate::Retrier) handles. It says nothing about *whether* an
//! error is worth retrying: that is canon's advice (see
//! [`canon::advice()`]), which the engine follows. A preset may only narrow
//! the advice ([`PolicyBuilder::only_codes`]), never widen it.
//!
//! ```
//! use std::time::Duration;
//! use canon_retry::{Jitter, Policy, PolicyErrorKind};
//!
//! let policy = Policy::builder()
//!     .max_attempts(4)
//!     .deadline(Duration::from_secs(20))
//!     .attempt_timeout(Duration::from_secs(5))
//!     .backoff(Duration::from_millis(200), 2.0, Duration::from_secs(5))
//!     .jitter(Jitter::Equal)
//!     .build()
//!     .unwrap();
//! assert_eq!(policy.max_attempts(), 4);
//!
//! // A configuration that makes no sense is refused with a typed error.
//! let error = Policy::builder()
//!     .deadline(Duration::from_secs(10))
//!     .attempt_timeout(Duration::from_secs(30))
//!     .build()
//!     .unwrap_err();
//! assert_eq!(error.kind(), PolicyErrorKind::AttemptTimeoutOutOfRange);
//! ```
//!
//! # Presets
//!
//! | preset | attempts | deadline | per attempt | backoff | jitter | max hint | narrows to |
//! |--------|----------|----------|-------------|---------|--------|----------|------------|
//! | [`Policy::default()`] | 5 | 60 s | 20 s | 500 ms ×2, cap 20 s | full | 5 min | the advice |
//! | [`Policy::cudo()`] | 8 | 120 s | 30 s | 500 ms ×1.6, cap 30 s | full ("0–100%") | 5 min | the advice |
//! | [`Policy::gcore()`] | 4 (3 retries) | 60 s | 30 s | 2 s ×2, cap 5 s | equal | 60 s | the advice |
//! | [`Policy::aip194_strict()`] | 5 | 60 s | 20 s | 100 ms ×1.3, cap 60 s | full | 5 min | UNAVAILABLE |
//!
//! - **default**: canon's own recommendation. AWS's and gRPC's shape
//!   (doubling, full jitter, which Brooker's study found best), a
//!   5-attempt ceiling that bounds latency rather than load (the budget
//!   bounds load, see [`crate::budget`]), and a minute in all.
//! - **cudo**: the CUDO page's "capped exponential backoff (base=500ms,
//!   multiplier=1.6, max=30s, jitter 0-100%)", which canon reads as full
//!   jitter (see [`crate::backoff`]). The page names no attempt count or
//!   deadline; canon gives it 8 attempts and two minutes, room for the
//!   sequence to reach its 30 s cap. RetryInfo is honoured first, as the
//!   page asks, by the engine's wait rule (see [`crate::session`]).
//! - **gcore**: the Gcore page's "wait 1–5s and retry up to 3 times":
//!   delays of 2, 4 and 5 s with equal jitter give waits in [1, 2), [2, 4)
//!   and [2.5, 5) s. 429 waits follow `Retry-After`, trusted up to 60 s
//!   (the `gcore` SDK ignores larger values); ForbiddenError (capacity) is
//!   retried elsewhere, as canon's advice says.
//! - **aip194_strict**: AIP-194 to the letter: retry UNAVAILABLE and
//!   nothing else, neither CANCELLED, DEADLINE_EXCEEDED, INVALID_ARGUMENT
//!   nor DATA_LOSS, nor RESOURCE_EXHAUSTED, INTERNAL or UNKNOWN, whatever
//!   a provider's page allows. A timed-out attempt is DEADLINE_EXCEEDED, so
//!   it is not retried either. The backoff is that of Google's generated
//!   clients (100 ms, ×1.3, 60 s).

use std::error::Error;
use std::fmt;
use std::time::Duration;

use canon::Code;

use crate::backoff::{Backoff, Jitter};

/// What a [`PolicyError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PolicyErrorKind {
    /// `max_attempts` is zero: not even the first attempt could be sent.
    ZeroAttempts,
    /// The total deadline is zero.
    ZeroDeadline,
    /// The per-attempt timeout is zero or longer than the total deadline.
    AttemptTimeoutOutOfRange,
    /// The largest trusted hint is zero: every hint would be ignored.
    ZeroMaxHint,
    /// The backoff base is zero.
    BaseZero,
    /// The backoff multiplier is below 1, above 100 or not a number.
    MultiplierOutOfRange,
    /// The backoff cap is below the base.
    CapBelowBase,
    /// A proportional jitter's factors are outside `0 ≤ min ≤ max ≤ 1`.
    JitterOutOfRange,
    /// The list of retryable codes is empty (use one attempt instead).
    NoRetryableCodes,
    /// The budget's ratio is outside `[0, 1]` or not a number.
    BudgetRatioOutOfRange,
    /// The budget's floor is negative or not a finite number.
    BudgetFloorOutOfRange,
    /// The budget's initial balance is negative or not a finite number.
    BudgetInitialOutOfRange,
    /// The budget's time to live is zero.
    BudgetTtlZero,
    /// The throttle's multiplier K is below 1 or not a finite number.
    ThrottleMultiplierOutOfRange,
    /// The throttle's window is zero.
    ThrottleWindowZero,
    /// The throttle's cap on its rejection rate is outside `[0, 1)`.
    ThrottleCapOutOfRange,
}

impl PolicyErrorKind {
    /// The stable name, such as `zero_attempts`.
    pub const fn as_str(self) -> &'static str {
        match self {
            PolicyErrorKind::ZeroAttempts => "zero_attempts",
            PolicyErrorKind::ZeroDeadline => "zero_deadline",
            PolicyErrorKind::AttemptTimeoutOutOfRange => "attempt_timeout_out_of_range",
            PolicyErrorKind::ZeroMaxHint => "zero_max_hint",
            PolicyErrorKind::BaseZero => "base_zero",
            PolicyErrorKind::MultiplierOutOfRange => "multiplier_out_of_range",
            PolicyErrorKind::CapBelowBase => "cap_below_base",
            PolicyErrorKind::JitterOutOfRange => "jitter_out_of_range",
            PolicyErrorKind::NoRetryableCodes => "no_retryable_codes",
            PolicyErrorKind::BudgetRatioOutOfRange => "budget_ratio_out_of_range",
            PolicyErrorKind::BudgetFloorOutOfRange => "budget_floor_out_of_range",
            PolicyErrorKind::BudgetInitialOutOfRange => "budget_initial_out_of_range",
            PolicyErrorKind::BudgetTtlZero => "budget_ttl_zero",
            PolicyErrorKind::ThrottleMultiplierOutOfRange => "throttle_multiplier_out_of_range",
            PolicyErrorKind::ThrottleWindowZero => "throttle_window_zero",
            PolicyErrorKind::ThrottleCapOutOfRange => "throttle_cap_out_of_range",
        }
    }
}

impl fmt::Display for PolicyErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A configuration that makes no sense: a policy, a backoff, a budget or a
/// throttle. [`kind`](PolicyError::kind) says which rule it broke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    kind: PolicyErrorKind,
    message: String,
}

impl PolicyError {
    pub(crate) fn new(kind: PolicyErrorKind, message: impl Into<String>) -> PolicyError {
        PolicyError { kind, message: message.into() }
    }

    /// Which rule the configuration broke.
    pub fn kind(&self) -> PolicyErrorKind {
        self.kind
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid retry configuration: {}", self.message)
    }
}

impl Error for PolicyError {}

/// A validated retry policy. Build one with [`Policy::builder`] or start
/// from a preset; see the [module docs](self).
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    name: &'static str,
    max_attempts: u32,
    deadline: Duration,
    attempt_timeout: Option<Duration>,
    backoff: Backoff,
    max_hint: Duration,
    only_codes: Option<Vec<Code>>,
}

impl Policy {
    /// A builder that starts from [`Policy::default()`].
    pub fn builder() -> PolicyBuilder {
        Policy::default().to_builder()
    }

    /// A builder that starts from this policy, to adjust a preset.
    ///
    /// ```
    /// use canon_retry::Policy;
    /// let policy = Policy::cudo().to_builder().max_attempts(3).build().unwrap();
    /// assert_eq!(policy.backoff(), Policy::cudo().backoff());
    /// assert_eq!(policy.max_attempts(), 3);
    /// ```
    pub fn to_builder(&self) -> PolicyBuilder {
        PolicyBuilder {
            name: self.name,
            max_attempts: self.max_attempts,
            deadline: self.deadline,
            attempt_timeout: self.attempt_timeout,
            base: self.backoff.base(),
            multiplier: self.backoff.multiplier(),
            cap: self.backoff.cap(),
            jitter: self.backoff.jitter(),
            max_hint: self.max_hint,
            only_codes: self.only_codes.clone(),
        }
    }

    /// The CUDO page's recommendation. See the [module docs](self).
    pub fn cudo() -> Policy {
        Policy {
            name: "cudo",
            max_attempts: 8,
            deadline: Duration::from_secs(120),
            attempt_timeout: Some(Duration::from_secs(30)),
            backoff: preset_backoff(Duration::from_millis(500), 1.6, Duration::from_secs(30), Jitter::Full),
            max_hint: Duration::from_secs(300),
            only_codes: None,
        }
    }

    /// The Gcore page's recommendation. See the [module docs](self).
    pub fn gcore() -> Policy {
        Policy {
            name: "gcore",
            max_attempts: 4,
            deadline: Duration::from_secs(60),
            attempt_timeout: Some(Duration::from_secs(30)),
            backoff: preset_backoff(Duration::from_secs(2), 2.0, Duration::from_secs(5), Jitter::Equal),
            max_hint: Duration::from_secs(60),
            only_codes: None,
        }
    }

    /// AIP-194 to the letter: only UNAVAILABLE is retried. See the
    /// [module docs](self).
    pub fn aip194_strict() -> Policy {
        Policy {
            name: "aip194_strict",
            max_attempts: 5,
            deadline: Duration::from_secs(60),
            attempt_timeout: Some(Duration::from_secs(20)),
            backoff: preset_backoff(Duration::from_millis(100), 1.3, Duration::from_secs(60), Jitter::Full),
            max_hint: Duration::from_secs(300),
            only_codes: Some(vec![Code::Unavailable]),
        }
    }

    /// The preset's name (`default`, `cudo`, `gcore`, `aip194_strict`), or
    /// `custom` for a policy changed through a builder.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The most attempts of one request, the first included.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The total time one request may take, all attempts and waits included.
    pub fn deadline(&self) -> Duration {
        self.deadline
    }

    /// The longest one attempt may take, if limited (an attempt is also
    /// limited by what is left of the deadline).
    pub fn attempt_timeout(&self) -> Option<Duration> {
        self.attempt_timeout
    }

    /// The backoff.
    pub fn backoff(&self) -> &Backoff {
        &self.backoff
    }

    /// The longest server hint trusted; longer hints are clamped to it.
    pub fn max_hint(&self) -> Duration {
        self.max_hint
    }

    /// The codes a preset narrows retries to, if it does.
    pub fn only_codes(&self) -> Option<&[Code]> {
        self.only_codes.as_deref()
    }

    /// Whether the policy lets an error with this code be retried at all
    /// (the advice still decides whether it is).
    pub fn permits_code(&self, code: Code) -> bool {
        self.only_codes.as_ref().is_none_or(|codes| codes.contains(&code))
    }
}

impl Default for Policy {
    /// canon's own recommendation. See the [module docs](self).
    fn default() -> Policy {
        Policy {
            name: "default",
            max_attempts: 5,
            deadline: Duration::from_secs(60),
            attempt_timeout: Some(Duration::from_secs(20)),
            backoff: preset_backoff(Duration::from_millis(500), 2.0, Duration::from_secs(20), Jitter::Full),
            max_hint: Duration::from_secs(300),
            only_codes: None,
        }
    }
}

fn preset_backoff(base: Duration, multiplier: f64, cap: Duration, jitter: Jitter) -> Backoff {
    Backoff::new(base, multiplier, cap, jitter).expect("the presets' backoffs are valid")
}

/// Builds a [`Policy`]; [`build`](PolicyBuilder::build) validates it.
#[derive(Debug, Clone)]
pub struct PolicyBuilder {
    name: &'static str,
    max_attempts: u32,
    deadline: Duration,
    attempt_timeout: Option<Duration>,
    base: Duration,
    multiplier: f64,
    cap: Duration,
    jitter: Jitter,
    max_hint: Duration,
    only_codes: Option<Vec<Code>>,
}

impl PolicyBuilder {
    /// The most attempts of one request, the first included (at least 1).
    pub fn max_attempts(mut self, attempts: u32) -> PolicyBuilder {
        self.max_attempts = attempts;
        self.custom()
    }

    /// The total time one request may take, all attempts and waits included.
    pub fn deadline(mut self, deadline: Duration) -> PolicyBuilder {
        self.deadline = deadline;
        self.custom()
    }

    /// The longest one attempt may take (not zero, at most the deadline).
    pub fn attempt_timeout(mut self, timeout: Duration) -> PolicyBuilder {
        self.attempt_timeout = Some(timeout);
        self.custom()
    }

    /// No per-attempt limit beyond what is left of the deadline.
    pub fn no_attempt_timeout(mut self) -> PolicyBuilder {
        self.attempt_timeout = None;
        self.custom()
    }

    /// The backoff: `min(cap, base × multiplier^n)`.
    pub fn backoff(mut self, base: Duration, multiplier: f64, cap: Duration) -> PolicyBuilder {
        self.base = base;
        self.multiplier = multiplier;
        self.cap = cap;
        self.custom()
    }

    /// The jitter mode.
    pub fn jitter(mut self, jitter: Jitter) -> PolicyBuilder {
        self.jitter = jitter;
        self.custom()
    }

    /// The longest server hint trusted; longer ones are clamped to it.
    pub fn max_hint(mut self, max_hint: Duration) -> PolicyBuilder {
        self.max_hint = max_hint;
        self.custom()
    }

    /// Narrows retries to errors with these codes (the advice must still
    /// allow the retry). An empty list is refused at build time.
    pub fn only_codes(mut self, codes: impl IntoIterator<Item = Code>) -> PolicyBuilder {
        self.only_codes = Some(codes.into_iter().collect());
        self.custom()
    }

    /// Follows the advice for every code (the default).
    pub fn any_code(mut self) -> PolicyBuilder {
        self.only_codes = None;
        self.custom()
    }

    fn custom(mut self) -> PolicyBuilder {
        self.name = "custom";
        self
    }

    /// Validates the configuration. See [`PolicyErrorKind`] for the rules.
    pub fn build(self) -> Result<Policy, PolicyError> {
        if self.max_attempts == 0 {
            return Err(PolicyError::new(PolicyErrorKind::ZeroAttempts, "max_attempts is zero"));
        }
        if self.deadline.is_zero() {
            return Err(PolicyError::new(PolicyErrorKind::ZeroDeadline, "the deadline is zero"));
        }
        if let Some(timeout) = self.attempt_timeout {
            if timeout.is_zero() || timeout > self.deadline {
                return Err(PolicyError::new(
                    PolicyErrorKind::AttemptTimeoutOutOfRange,
                    format!(
                        "the per-attempt timeout ({timeout:?}) must be above zero and at most the deadline ({:?})",
                        self.deadline
                    ),
                ));
            }
        }
        if self.max_hint.is_zero() {
            return Err(PolicyError::new(PolicyErrorKind::ZeroMaxHint, "max_hint is zero: every hint would be lost"));
        }
        if self.only_codes.as_ref().is_some_and(Vec::is_empty) {
            return Err(PolicyError::new(
                PolicyErrorKind::NoRetryableCodes,
                "the list of retryable codes is empty; set max_attempts to 1 instead",
            ));
        }
        let backoff = Backoff::new(self.base, self.multiplier, self.cap, self.jitter)?;
        Ok(Policy {
            name: self.name,
            max_attempts: self.max_attempts,
            deadline: self.deadline,
            attempt_timeout: self.attempt_timeout,
            backoff,
            max_hint: self.max_hint,
            only_codes: self.only_codes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_round_trip_through_their_builders() {
        for preset in [Policy::default(), Policy::cudo(), Policy::gcore(), Policy::aip194_strict()] {
            let rebuilt = preset.to_builder().build().unwrap();
            assert_eq!(rebuilt, preset, "{}", preset.name());
        }
    }

    #[test]
    fn rejects_each_nonsensical_setting() {
        let s = Duration::from_secs;
        let table: Vec<(PolicyBuilder, PolicyErrorKind)> = vec![
            (Policy::builder().max_attempts(0), PolicyErrorKind::ZeroAttempts),
            (Policy::builder().deadline(Duration::ZERO), PolicyErrorKind::ZeroDeadline),
            (Policy::builder().attempt_timeout(Duration::ZERO), PolicyErrorKind::AttemptTimeoutOutOfRange),
            (Policy::builder().deadline(s(5)).attempt_timeout(s(6)), PolicyErrorKind::AttemptTimeoutOutOfRange),
            (Policy::builder().max_hint(Duration::ZERO), PolicyErrorKind::ZeroMaxHint),
            (Policy::builder().backoff(Duration::ZERO, 2.0, s(1)), PolicyErrorKind::BaseZero),
            (Policy::builder().backoff(s(1), 0.9, s(2)), PolicyErrorKind::MultiplierOutOfRange),
            (Policy::builder().backoff(s(2), 2.0, s(1)), PolicyErrorKind::CapBelowBase),
            (Policy::builder().jitter(Jitter::Proportional { min: 0.5, max: 2.0 }), PolicyErrorKind::JitterOutOfRange),
            (Policy::builder().only_codes([]), PolicyErrorKind::NoRetryableCodes),
        ];
        for (builder, kind) in table {
            let error = builder.build().unwrap_err();
            assert_eq!(error.kind(), kind, "{error}");
            assert!(error.to_string().starts_with("invalid retry configuration: "), "{error}");
        }
    }

    #[test]
    fn only_the_strict_preset_narrows_codes() {
        for code in Code::ALL {
            assert!(Policy::cudo().permits_code(code));
            assert_eq!(Policy::aip194_strict().permits_code(code), code == Code::Unavailable, "{code}");
        }
        assert!(Policy::aip194_strict().to_builder().any_code().build().unwrap().permits_code(Code::Internal));
    }

    #[test]
    fn the_gcore_preset_waits_one_to_five_seconds() {
        let backoff = *Policy::gcore().backoff();
        for draw in [0.0, 0.5, 0.999_999] {
            let mut rng = crate::random::ConstantRandom::new(draw);
            for wait in backoff.waits(&mut rng).take(3) {
                assert!(wait >= Duration::from_secs(1) && wait <= Duration::from_secs(5), "{wait:?}");
            }
        }
    }
}
