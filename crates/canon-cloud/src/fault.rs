//! Fault injection: rules that make chosen requests fail, slow down or
//! break, and the per-request header that forces an error.
//!
//! # Rules
//!
//! A [`FaultRule`] has a matcher (method, path pattern, project), a mode
//! (which of the matching requests it hits) and an effect:
//!
//! - a canonical error, with an optional retry delay that becomes
//!   RetryInfo and `Retry-After`;
//! - added latency;
//! - a transport fault: reset the connection, close it without a reply,
//!   or send a truncated body.
//!
//! [`FaultEngine::evaluate`] runs the rules in order. Every matching rule
//! counts the request; a rule whose mode says so *fires*. Latency adds up
//! and evaluation goes on; the first error or transport fault that fires
//! ends it. Modes are deterministic: `firstN` and `everyNth` count the
//! requests the rule matched, and `probability` draws from the rule's own
//! SplitMix64 stream seeded by its `seed`, so the same sequence of
//! requests always gets the same faults.
//!
//! Rules live in memory: they are loaded from a JSON file at start (see
//! `examples/faults.json`) and changed through the admin API, and a
//! restart goes back to the file. That is deliberate: a fault plan is part
//! of a test run, not of the emulated cloud's data.
//!
//! The JSON form of a rule, which the file and the admin API share:
//!
//! ```
//! use canon_cloud::fault::{FaultEngine, FaultRule};
//!
//! let rule: FaultRule = serde_json::from_str(r#"{
//!     "id": "flaky-create",
//!     "match": {"method": "POST", "path": "/v1/projects/{projectId}/vm", "project": "demo"},
//!     "mode": {"firstN": 2},
//!     "effect": {"error": {"code": "UNAVAILABLE", "retryAfter": "5s"}}
//! }"#).unwrap();
//! let engine = FaultEngine::new();
//! engine.add(rule).unwrap();
//!
//! let hit = engine.evaluate("POST", "/v1/projects/demo/vm", Some("demo")).unwrap();
//! assert_eq!(hit.rule_ids, ["flaky-create"]);
//! assert!(engine.evaluate("POST", "/v1/projects/demo/vm", Some("demo")).is_some());
//! assert!(engine.evaluate("POST", "/v1/projects/demo/vm", Some("demo")).is_none());
//! ```
//!
//! Path patterns match whole segments: `*` and `{name}` stand for part or
//! all of one segment, `**` for any number of segments (none included).
//! The path is matched without its query string.
//!
//! # The configuration file
//!
//! JSON, `{"rules": [rule, ...]}`, evaluated in file order; loading is
//! all or nothing ([`FaultEngine::load_file`]). A rule:
//!
//! | field | value | default |
//! |-------|-------|---------|
//! | `id` | letters, digits, `.`, `_`, `-` (at most 64) | `rule-N` |
//! | `match.method` | an HTTP method, any case, or `*` | any |
//! | `match.path` | a path pattern | any |
//! | `match.project` | a project id | any (a request about no project only matches rules without one) |
//! | `mode` | `"always"`, `{"firstN": n}`, `{"everyNth": n}` (n ≥ 1), `{"probability": {"p": 0.1, "seed": 42}}` | `"always"` |
//! | `effect` | `{"error": {"code", "message"?, "retryAfter"?, "reason"?}}`, `{"latency": "250ms"}`, `{"transport": "reset" \| "emptyReply" \| "truncatedBody"}` | required |
//!
//! `code` is a canonical name (`UNAVAILABLE`) or number, never `OK`;
//! durations are `250ms`, `1.5s`, `2m`, `1h` or bare seconds;
//! `reason` replaces `FAULT_INJECTED` in ErrorInfo. `examples/faults.json`
//! in this crate has one rule of each kind.
//!
//! # The header
//!
//! [`FAULT_HEADER`] (`x-canon-fault`) forces an error on one request. Its
//! value is a code (`UNAVAILABLE`, `unavailable` or `14`), or `key=value`
//! pairs separated by `;`: `code` (required), `retry-after` (seconds, or a
//! duration such as `500ms`) and `message`:
//!
//! ```
//! use std::time::Duration;
//! use canon::Code;
//! use canon_cloud::fault::parse_fault_header;
//!
//! let fault = parse_fault_header("code=RESOURCE_EXHAUSTED; retry-after=5").unwrap();
//! assert_eq!(fault.code, Code::ResourceExhausted);
//! assert_eq!(fault.retry_after, Some(Duration::from_secs(5)));
//! assert!(parse_fault_header("code=NOPE").is_err());
//! ```

use std::fmt;
use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use canon::{Code, Status};
use serde::{Deserialize, Serialize};

use crate::clock::{duration_text, format_duration, parse_duration};
use crate::errors::{Errors, reason};
use crate::ids::next_from;

/// The request header that forces an error.
pub const FAULT_HEADER: &str = "x-canon-fault";

/// A path pattern: `/v1/projects/{projectId}/vms/*`, `/cloud/**`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PathPattern {
    text: String,
    segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    /// `**`: any number of segments.
    Any,
    /// One segment, matched by a glob.
    Glob(Vec<Token>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Literal(String),
    /// `*`: any text, possibly empty.
    Star,
    /// `{name}`: any text, at least one character.
    Param,
}

impl PathPattern {
    /// Parses a pattern. It must start with `/`; a `{` must close with a
    /// `}` in the same segment; `**` must be a whole segment.
    pub fn new(text: &str) -> Result<PathPattern, FaultRuleError> {
        let bad = |why: &str| FaultRuleError::new(RuleErrorKind::PathPattern, format!("`{text}`: {why}"));
        if !text.starts_with('/') {
            return Err(bad("a path pattern starts with `/`"));
        }
        let mut segments = Vec::new();
        for part in text.split('/').filter(|s| !s.is_empty()) {
            if part == "**" {
                segments.push(Segment::Any);
                continue;
            }
            if part.contains("**") {
                return Err(bad("`**` must be a whole segment"));
            }
            let mut tokens = Vec::new();
            let mut rest = part;
            while !rest.is_empty() {
                if let Some(after) = rest.strip_prefix('*') {
                    tokens.push(Token::Star);
                    rest = after;
                } else if let Some(after) = rest.strip_prefix('{') {
                    let end = after.find('}').ok_or_else(|| bad("`{` without `}`"))?;
                    if end == 0 {
                        return Err(bad("`{}` needs a name"));
                    }
                    tokens.push(Token::Param);
                    rest = &after[end + 1..];
                } else {
                    let end = rest.find(['*', '{']).unwrap_or(rest.len());
                    if rest[..end].contains('}') {
                        return Err(bad("`}` without `{`"));
                    }
                    tokens.push(Token::Literal(rest[..end].to_owned()));
                    rest = &rest[end..];
                }
            }
            segments.push(Segment::Glob(tokens));
        }
        Ok(PathPattern { text: text.to_owned(), segments })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether a path (without its query) matches.
    pub fn matches(&self, path: &str) -> bool {
        let path = path.split('?').next().unwrap_or(path);
        let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        match_segments(&self.segments, &parts)
    }
}

fn match_segments(pattern: &[Segment], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((Segment::Any, rest)) => (0..=path.len()).any(|skip| match_segments(rest, &path[skip..])),
        Some((Segment::Glob(tokens), rest)) => path
            .split_first()
            .is_some_and(|(first, others)| match_tokens(tokens, first) && match_segments(rest, others)),
    }
}

fn match_tokens(tokens: &[Token], text: &str) -> bool {
    match tokens.split_first() {
        None => text.is_empty(),
        Some((Token::Literal(literal), rest)) => {
            text.strip_prefix(literal.as_str()).is_some_and(|t| match_tokens(rest, t))
        }
        Some((Token::Star, rest)) => {
            text.char_indices().map(|(i, _)| i).chain([text.len()]).any(|i| match_tokens(rest, &text[i..]))
        }
        Some((Token::Param, rest)) => {
            !text.is_empty()
                && text
                    .char_indices()
                    .map(|(i, _)| i)
                    .skip(1)
                    .chain([text.len()])
                    .any(|i| match_tokens(rest, &text[i..]))
        }
    }
}

impl TryFrom<String> for PathPattern {
    type Error = FaultRuleError;

    fn try_from(text: String) -> Result<PathPattern, FaultRuleError> {
        PathPattern::new(&text)
    }
}

impl From<PathPattern> for String {
    fn from(pattern: PathPattern) -> String {
        pattern.text
    }
}

impl fmt::Display for PathPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Which requests a rule applies to; an absent field matches anything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RequestMatcher {
    /// The HTTP method, any case (`*` matches any).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// The path pattern.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathPattern>,
    /// The project the request is about (a request about no project does
    /// not match a rule that names one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
}

impl RequestMatcher {
    /// Whether a request matches.
    pub fn matches(&self, method: &str, path: &str, project: Option<&str>) -> bool {
        self.method.as_deref().is_none_or(|m| m == "*" || m.eq_ignore_ascii_case(method))
            && self.path.as_ref().is_none_or(|p| p.matches(path))
            && self.project.as_deref().is_none_or(|p| project == Some(p))
    }
}

/// Which of the matching requests a rule hits.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum FaultMode {
    /// Every one.
    #[default]
    Always,
    /// The first `n`.
    FirstN(u64),
    /// Every `n`th: the `n`th, the `2n`th... (`n` ≥ 1).
    EveryNth(u64),
    /// Each with probability `p`, drawn from a stream seeded by `seed`.
    Probability {
        /// From 0 to 1.
        p: f64,
        /// The seed of the rule's stream.
        seed: u64,
    },
}

/// A transport-level fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TransportFault {
    /// Reset the connection (TCP RST) without a response.
    Reset,
    /// Close the connection without a response.
    EmptyReply,
    /// Send the response headers and part of the body, then close.
    TruncatedBody,
}

impl TransportFault {
    /// The name in the JSON form: `reset`, `emptyReply`, `truncatedBody`.
    pub const fn as_str(self) -> &'static str {
        match self {
            TransportFault::Reset => "reset",
            TransportFault::EmptyReply => "emptyReply",
            TransportFault::TruncatedBody => "truncatedBody",
        }
    }
}

/// A canonical error a rule returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ErrorEffect {
    /// The code (a name such as `UNAVAILABLE`, or a number); not `OK`.
    #[serde(with = "code_text")]
    pub code: Code,
    /// The message; the code's description when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The retry delay: RetryInfo in the body, `Retry-After` on the wire.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "duration_text::option")]
    pub retry_after: Option<Duration>,
    /// The ErrorInfo reason; `FAULT_INJECTED` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What a rule does to the requests it hits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum FaultEffect {
    /// Answer with a canonical error.
    Error(ErrorEffect),
    /// Wait this long before handling the request.
    Latency(#[serde(with = "duration_text")] Duration),
    /// Break the transport.
    Transport(TransportFault),
}

/// A fault rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultRule {
    /// The rule's id: letters, digits, `.`, `_`, `-`, at most 64; given
    /// one (`rule-1`, `rule-2`...) when empty.
    #[serde(default)]
    pub id: String,
    /// Which requests it applies to.
    #[serde(rename = "match", default)]
    pub matcher: RequestMatcher,
    /// Which of those it hits.
    #[serde(default)]
    pub mode: FaultMode,
    /// What it does.
    pub effect: FaultEffect,
}

impl FaultRule {
    /// Checks what serde cannot: the id's shape, `everyNth` ≥ 1, `p` in
    /// [0, 1], a code other than OK, a well-formed reason, a method that
    /// is an HTTP token.
    pub fn validate(&self) -> Result<(), FaultRuleError> {
        let bad = |kind, why: String| Err(FaultRuleError::new(kind, why));
        if !self.id.is_empty()
            && (self.id.len() > 64 || !self.id.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)))
        {
            return bad(RuleErrorKind::Id, format!("`{}` is not a rule id: letters, digits, `.`, `_`, `-`", self.id));
        }
        if let Some(method) = &self.matcher.method {
            if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic() || b == b'*') {
                return bad(RuleErrorKind::Method, format!("`{method}` is not an HTTP method"));
            }
        }
        match self.mode {
            FaultMode::EveryNth(0) => return bad(RuleErrorKind::Mode, "everyNth must be at least 1".to_owned()),
            FaultMode::Probability { p, .. } if !(0.0..=1.0).contains(&p) => {
                return bad(RuleErrorKind::Mode, format!("probability {p} is not between 0 and 1"));
            }
            _ => {}
        }
        if let FaultEffect::Error(error) = &self.effect {
            if error.code == Code::Ok {
                return bad(RuleErrorKind::Effect, "an error effect cannot have code OK".to_owned());
            }
            if let Some(reason) = &error.reason {
                if !is_reason(reason) {
                    return bad(
                        RuleErrorKind::Effect,
                        format!("`{reason}` is not an AIP-193 reason (UPPER_SNAKE_CASE)"),
                    );
                }
            }
        }
        Ok(())
    }
}

/// Whether a string is an AIP-193 reason: `[A-Z][A-Z0-9_]+[A-Z0-9]`, at
/// most 63 characters.
pub(crate) fn is_reason(reason: &str) -> bool {
    let b = reason.as_bytes();
    (3..=63).contains(&b.len())
        && b[0].is_ascii_uppercase()
        && b.iter().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == b'_')
        && b[b.len() - 1] != b'_'
}

/// Serde for a [`Code`] as its name (numbers and lower case accepted).
mod code_text {
    use canon::Code;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(code: &Code, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(code.name())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Code, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Text {
            Name(String),
            Number(i64),
        }
        match Text::deserialize(deserializer)? {
            Text::Name(name) => name.parse().map_err(serde::de::Error::custom),
            Text::Number(n) => {
                Code::from_number(n).ok_or_else(|| serde::de::Error::custom(format!("{n} is not a code")))
            }
        }
    }
}

/// What part of a rule is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RuleErrorKind {
    /// The id is malformed.
    Id,
    /// The id is already taken.
    IdTaken,
    /// The method is not an HTTP token.
    Method,
    /// The path pattern is malformed.
    PathPattern,
    /// The mode's number is out of range.
    Mode,
    /// The effect is malformed.
    Effect,
}

/// Why a rule was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultRuleError {
    kind: RuleErrorKind,
    detail: String,
    taken_id: Option<String>,
}

impl FaultRuleError {
    fn new(kind: RuleErrorKind, detail: String) -> FaultRuleError {
        FaultRuleError { kind, detail, taken_id: None }
    }

    /// What part of the rule is wrong.
    pub fn kind(&self) -> RuleErrorKind {
        self.kind
    }

    /// The JSON field the error is about, for a BadRequest.
    pub fn field(&self) -> &'static str {
        match self.kind {
            RuleErrorKind::Id | RuleErrorKind::IdTaken => "id",
            RuleErrorKind::Method => "match.method",
            RuleErrorKind::PathPattern => "match.path",
            RuleErrorKind::Mode => "mode",
            RuleErrorKind::Effect => "effect",
        }
    }

    /// The error as INVALID_ARGUMENT, or ALREADY_EXISTS (reason
    /// `FAULT_RULE_ALREADY_EXISTS`, metadata `faultRuleId`) for a taken id.
    pub fn status(&self, errors: &Errors) -> Status {
        match (&self.kind, &self.taken_id) {
            (RuleErrorKind::IdTaken, Some(id)) => {
                Status::builder(Code::AlreadyExists, format!("Fault rule '{id}' already exists."))
                    .detail(
                        canon::details::ErrorInfo::new("FAULT_RULE_ALREADY_EXISTS", errors.domain())
                            .with_metadata("faultRuleId", id.clone()),
                    )
                    .build()
            }
            _ => errors.invalid_field(self.field(), &self.detail),
        }
    }
}

impl fmt::Display for FaultRuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid fault rule ({}): {}", self.field(), self.detail)
    }
}

impl std::error::Error for FaultRuleError {}

/// The fault configuration file: `{"rules": [...]}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultConfig {
    /// The rules, in evaluation order.
    #[serde(default)]
    pub rules: Vec<FaultRule>,
}

/// Why a fault configuration could not be loaded.
#[derive(Debug)]
pub struct FaultConfigError {
    detail: String,
}

impl fmt::Display for FaultConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot load the fault rules: {}", self.detail)
    }
}

impl std::error::Error for FaultConfigError {}

/// A rule's counters, as the admin API lists them.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultRuleStatus {
    /// The rule.
    #[serde(flatten)]
    pub rule: FaultRule,
    /// Requests it matched.
    pub matched: u64,
    /// Requests it hit.
    pub fired: u64,
}

/// What happened to a request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AppliedFault {
    /// The rules that fired, in order.
    pub rule_ids: Vec<String>,
    /// Latency to add before answering (the sum of the latency rules).
    pub latency: Duration,
    /// The error or transport fault that ends the request, if any.
    pub outcome: Option<FaultOutcome>,
}

/// The fault that ends a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultOutcome {
    /// Answer with this error.
    Error {
        /// The rule.
        rule_id: String,
        /// The error.
        effect: ErrorEffect,
    },
    /// Break the transport.
    Transport {
        /// The rule.
        rule_id: String,
        /// How.
        fault: TransportFault,
    },
}

impl AppliedFault {
    /// The error to answer with, when the outcome is one: ErrorInfo reason
    /// `FAULT_INJECTED` (or the rule's), metadata `faultRuleId`, RetryInfo
    /// when the rule has a delay.
    pub fn status(&self, errors: &Errors) -> Option<Status> {
        match &self.outcome {
            Some(FaultOutcome::Error { rule_id, effect }) => Some(errors.injected(
                effect.code,
                effect.message.as_deref(),
                effect.reason.as_deref(),
                effect.retry_after,
                &[("faultRuleId", rule_id)],
            )),
            _ => None,
        }
    }

    /// The transport fault, when the outcome is one.
    pub fn transport(&self) -> Option<TransportFault> {
        match self.outcome {
            Some(FaultOutcome::Transport { fault, .. }) => Some(fault),
            _ => None,
        }
    }

    /// A one-line account for the journal: `rule slow: latency 250ms;
    /// rule flaky: error UNAVAILABLE`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        let terminal = match &self.outcome {
            Some(FaultOutcome::Error { rule_id, effect }) => Some((rule_id, format!("error {}", effect.code))),
            Some(FaultOutcome::Transport { rule_id, fault }) => {
                Some((rule_id, format!("transport {}", fault.as_str())))
            }
            None => None,
        };
        for id in &self.rule_ids {
            match &terminal {
                Some((rule_id, what)) if *rule_id == id => parts.push(format!("rule {id}: {what}")),
                _ => parts.push(format!("rule {id}: latency")),
            }
        }
        if !self.latency.is_zero() {
            parts.push(format!("total latency {}", format_duration(self.latency)));
        }
        parts.join("; ")
    }
}

#[derive(Debug)]
struct RuleState {
    rule: FaultRule,
    matched: u64,
    fired: u64,
    stream: u64,
}

impl RuleState {
    fn new(rule: FaultRule) -> RuleState {
        let stream = match rule.mode {
            FaultMode::Probability { seed, .. } => seed,
            _ => 0,
        };
        RuleState { rule, matched: 0, fired: 0, stream }
    }

    fn reset(&mut self) {
        *self = RuleState::new(self.rule.clone());
    }

    /// Counts a matching request and says whether the rule hits it.
    fn fires(&mut self) -> bool {
        self.matched += 1;
        let fires = match self.rule.mode {
            FaultMode::Always => true,
            FaultMode::FirstN(n) => self.matched <= n,
            FaultMode::EveryNth(n) => self.matched % n.max(1) == 0,
            FaultMode::Probability { p, .. } => {
                let draw = (next_from(&mut self.stream) >> 11) as f64 / (1u64 << 53) as f64;
                draw < p
            }
        };
        self.fired += u64::from(fires);
        fires
    }
}

#[derive(Debug, Default)]
struct EngineState {
    rules: Vec<RuleState>,
    next_id: u64,
}

/// The rules and their counters.
#[derive(Debug, Default)]
pub struct FaultEngine {
    state: Mutex<EngineState>,
}

impl FaultEngine {
    /// An engine without rules.
    pub fn new() -> FaultEngine {
        FaultEngine::default()
    }

    fn lock(&self) -> MutexGuard<'_, EngineState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a rule at the end and returns its id.
    pub fn add(&self, mut rule: FaultRule) -> Result<String, FaultRuleError> {
        rule.validate()?;
        let mut state = self.lock();
        if rule.id.is_empty() {
            loop {
                state.next_id += 1;
                let id = format!("rule-{}", state.next_id);
                if !state.rules.iter().any(|r| r.rule.id == id) {
                    rule.id = id;
                    break;
                }
            }
        } else if state.rules.iter().any(|r| r.rule.id == rule.id) {
            let mut error = FaultRuleError::new(RuleErrorKind::IdTaken, format!("`{}` is already taken", rule.id));
            error.taken_id = Some(rule.id);
            return Err(error);
        }
        let id = rule.id.clone();
        state.rules.push(RuleState::new(rule));
        Ok(id)
    }

    /// Removes a rule; false when there is none with this id.
    pub fn delete(&self, id: &str) -> bool {
        let mut state = self.lock();
        let before = state.rules.len();
        state.rules.retain(|r| r.rule.id != id);
        state.rules.len() != before
    }

    /// One rule and its counters.
    pub fn get(&self, id: &str) -> Option<FaultRuleStatus> {
        self.list().into_iter().find(|r| r.rule.id == id)
    }

    /// Every rule with its counters, in evaluation order.
    pub fn list(&self) -> Vec<FaultRuleStatus> {
        self.lock()
            .rules
            .iter()
            .map(|r| FaultRuleStatus { rule: r.rule.clone(), matched: r.matched, fired: r.fired })
            .collect()
    }

    /// Removes every rule.
    pub fn clear(&self) {
        let mut state = self.lock();
        state.rules.clear();
        state.next_id = 0;
    }

    /// Sets every counter to zero and restarts every probability stream
    /// from its seed.
    pub fn reset_counters(&self) {
        self.lock().rules.iter_mut().for_each(RuleState::reset);
    }

    /// Adds the rules of a JSON configuration, all or none.
    pub fn load_json(&self, json: &str) -> Result<Vec<String>, FaultConfigError> {
        let config: FaultConfig = serde_json::from_str(json).map_err(|e| FaultConfigError { detail: e.to_string() })?;
        for (index, rule) in config.rules.iter().enumerate() {
            rule.validate().map_err(|e| FaultConfigError { detail: format!("rule {index}: {e}") })?;
        }
        let mut ids = Vec::new();
        for (index, rule) in config.rules.into_iter().enumerate() {
            match self.add(rule) {
                Ok(id) => ids.push(id),
                Err(e) => {
                    for id in &ids {
                        self.delete(id);
                    }
                    return Err(FaultConfigError { detail: format!("rule {index}: {e}") });
                }
            }
        }
        Ok(ids)
    }

    /// Adds the rules of a JSON configuration file, all or none.
    pub fn load_file(&self, path: impl AsRef<Path>) -> Result<Vec<String>, FaultConfigError> {
        let path = path.as_ref();
        let json = std::fs::read_to_string(path)
            .map_err(|e| FaultConfigError { detail: format!("{}: {e}", path.display()) })?;
        self.load_json(&json).map_err(|e| FaultConfigError { detail: format!("{}: {}", path.display(), e.detail) })
    }

    /// Runs the rules for one request; `None` when no rule fired.
    pub fn evaluate(&self, method: &str, path: &str, project: Option<&str>) -> Option<AppliedFault> {
        let mut state = self.lock();
        let mut applied = AppliedFault::default();
        for rule in &mut state.rules {
            if !rule.rule.matcher.matches(method, path, project) || !rule.fires() {
                continue;
            }
            let id = rule.rule.id.clone();
            applied.rule_ids.push(id.clone());
            match &rule.rule.effect {
                FaultEffect::Latency(delay) => applied.latency += *delay,
                FaultEffect::Error(effect) => {
                    applied.outcome = Some(FaultOutcome::Error { rule_id: id, effect: effect.clone() });
                    break;
                }
                FaultEffect::Transport(fault) => {
                    applied.outcome = Some(FaultOutcome::Transport { rule_id: id, fault: *fault });
                    break;
                }
            }
        }
        (!applied.rule_ids.is_empty()).then_some(applied)
    }
}

/// An error forced by the [`FAULT_HEADER`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderFault {
    /// The code; never OK.
    pub code: Code,
    /// The retry delay, if any.
    pub retry_after: Option<Duration>,
    /// The message; the code's description when absent.
    pub message: Option<String>,
}

impl HeaderFault {
    /// The error to answer with: ErrorInfo reason `FAULT_INJECTED`,
    /// metadata `faultSource: header`, RetryInfo when there is a delay.
    pub fn status(&self, errors: &Errors) -> Status {
        errors.injected(self.code, self.message.as_deref(), None, self.retry_after, &[("faultSource", "header")])
    }

    /// A one-line account for the journal.
    pub fn describe(&self) -> String {
        match self.retry_after {
            Some(delay) => format!("header: error {} retry-after {}", self.code, format_duration(delay)),
            None => format!("header: error {}", self.code),
        }
    }
}

/// What is wrong with a fault header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FaultHeaderErrorKind {
    /// The value is empty.
    Empty,
    /// A part is not `key=value`, or the key is unknown.
    UnknownKey,
    /// A key appears twice.
    DuplicateKey,
    /// There is no `code`.
    MissingCode,
    /// The code is not a canonical code, or is OK.
    BadCode,
    /// The retry delay is not a duration.
    BadRetryAfter,
}

/// Why a fault header was refused; the HTTP layer answers
/// INVALID_ARGUMENT ([`FaultHeaderError::status`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultHeaderError {
    kind: FaultHeaderErrorKind,
    detail: String,
}

impl FaultHeaderError {
    fn new(kind: FaultHeaderErrorKind, detail: impl Into<String>) -> FaultHeaderError {
        FaultHeaderError { kind, detail: detail.into() }
    }

    /// What is wrong.
    pub fn kind(&self) -> FaultHeaderErrorKind {
        self.kind
    }

    /// INVALID_ARGUMENT with a BadRequest on the header and ErrorInfo
    /// reason `FAULT_HEADER_INVALID`.
    pub fn status(&self, errors: &Errors) -> Status {
        Status::builder(Code::InvalidArgument, format!("The {FAULT_HEADER} header is malformed: {}.", self.detail))
            .field_violation(FAULT_HEADER, self.to_string())
            .detail(
                canon::details::ErrorInfo::new(reason::FAULT_HEADER_INVALID, errors.domain())
                    .with_metadata("header", FAULT_HEADER)
                    .with_metadata("problem", self.detail.clone()),
            )
            .build()
    }
}

impl fmt::Display for FaultHeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{FAULT_HEADER}: {}", self.detail)
    }
}

impl std::error::Error for FaultHeaderError {}

/// Parses the value of the [`FAULT_HEADER`].
pub fn parse_fault_header(value: &str) -> Result<HeaderFault, FaultHeaderError> {
    use FaultHeaderErrorKind as Kind;
    let value = value.trim();
    if value.is_empty() {
        return Err(FaultHeaderError::new(Kind::Empty, "the value is empty"));
    }
    let parse_code = |text: &str| -> Result<Code, FaultHeaderError> {
        match text.trim().parse::<Code>() {
            Ok(Code::Ok) => Err(FaultHeaderError::new(Kind::BadCode, "OK is not an error code")),
            Ok(code) => Ok(code),
            Err(_) => Err(FaultHeaderError::new(Kind::BadCode, format!("`{}` is not a canonical code", text.trim()))),
        }
    };
    if !value.contains('=') {
        return Ok(HeaderFault { code: parse_code(value)?, retry_after: None, message: None });
    }
    let (mut code, mut retry_after, mut message) = (None, None, None);
    for part in value.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((key, text)) = part.split_once('=') else {
            return Err(FaultHeaderError::new(Kind::UnknownKey, format!("`{part}` is not key=value")));
        };
        let duplicate = || FaultHeaderError::new(Kind::DuplicateKey, format!("`{}` appears twice", key.trim()));
        match key.trim().to_ascii_lowercase().as_str() {
            "code" => {
                if code.replace(parse_code(text)?).is_some() {
                    return Err(duplicate());
                }
            }
            "retry-after" | "retry_after" | "retryafter" => {
                let delay = parse_duration(text).map_err(|_| {
                    FaultHeaderError::new(Kind::BadRetryAfter, format!("`{}` is not a duration", text.trim()))
                })?;
                if retry_after.replace(delay).is_some() {
                    return Err(duplicate());
                }
            }
            "message" => {
                if message.replace(text.trim().to_owned()).is_some() {
                    return Err(duplicate());
                }
            }
            other => {
                return Err(FaultHeaderError::new(
                    Kind::UnknownKey,
                    format!("unknown key `{other}` (expected code, retry-after, message)"),
                ));
            }
        }
    }
    let code = code.ok_or_else(|| FaultHeaderError::new(Kind::MissingCode, "there is no code"))?;
    Ok(HeaderFault { code, retry_after, message })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(json: &str) -> FaultRule {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn path_patterns_match_whole_segments() {
        let table: &[(&str, &str, bool)] = &[
            ("/v1/projects/{projectId}/vms", "/v1/projects/demo/vms", true),
            ("/v1/projects/{projectId}/vms", "/v1/projects//vms", false),
            ("/v1/projects/{projectId}/vms", "/v1/projects/demo/vms/x", false),
            ("/v1/projects/*/vms/*", "/v1/projects/demo/vms/vm-1", true),
            ("/v1/projects/*/vms/*", "/v1/projects/demo/vms", false),
            ("/v1/**", "/v1", true),
            ("/v1/**", "/v1/projects/demo/vms/vm-1/start", true),
            ("/v1/**", "/v2/projects", false),
            ("/**/start", "/v1/projects/demo/vms/vm-1/start", true),
            ("/**/start", "/v1/projects/demo/vms/vm-1/stop", false),
            ("/v1/vms/vm-*", "/v1/vms/vm-42", true),
            ("/v1/vms/vm-*", "/v1/vms/disk-42", false),
            ("/v1/vms/{id}:start", "/v1/vms/vm-1:start", true),
            ("/v1/vms/{id}:start", "/v1/vms/:start", false),
            ("/v1/projects", "/v1/projects?pageSize=5", true),
            ("/v1/projects", "/v1/projects/", true),
            ("/", "/", true),
        ];
        for &(pattern, path, expected) in table {
            assert_eq!(PathPattern::new(pattern).unwrap().matches(path), expected, "{pattern} ~ {path}");
        }
        for bad in ["v1/projects", "/v1/{", "/v1/{}", "/v1/a**", "/v1/x}"] {
            assert_eq!(PathPattern::new(bad).unwrap_err().kind(), RuleErrorKind::PathPattern, "{bad}");
        }
    }

    #[test]
    fn matchers_check_method_path_and_project() {
        let matcher = RequestMatcher {
            method: Some("post".to_owned()),
            path: Some(PathPattern::new("/v1/**").unwrap()),
            project: Some("demo".to_owned()),
        };
        assert!(matcher.matches("POST", "/v1/x", Some("demo")));
        assert!(!matcher.matches("GET", "/v1/x", Some("demo")));
        assert!(!matcher.matches("POST", "/v2/x", Some("demo")));
        assert!(!matcher.matches("POST", "/v1/x", Some("other")));
        assert!(!matcher.matches("POST", "/v1/x", None));
        assert!(RequestMatcher::default().matches("DELETE", "/anything", None));
    }

    #[test]
    fn modes_fire_deterministically() {
        let hits = |mode: &str, n: usize| -> String {
            let engine = FaultEngine::new();
            engine.add(rule(&format!(r#"{{"mode": {mode}, "effect": {{"transport": "reset"}}}}"#))).unwrap();
            (0..n).map(|_| if engine.evaluate("GET", "/", None).is_some() { 'x' } else { '.' }).collect()
        };
        assert_eq!(hits(r#""always""#, 5), "xxxxx");
        assert_eq!(hits(r#"{"firstN": 2}"#, 5), "xx...");
        assert_eq!(hits(r#"{"everyNth": 3}"#, 7), "..x..x.");
        let a = hits(r#"{"probability": {"p": 0.5, "seed": 9}}"#, 64);
        assert_eq!(a, hits(r#"{"probability": {"p": 0.5, "seed": 9}}"#, 64));
        assert_ne!(a, hits(r#"{"probability": {"p": 0.5, "seed": 10}}"#, 64));
        let fired = a.chars().filter(|c| *c == 'x').count();
        assert!((16..=48).contains(&fired), "{fired} of 64 at p = 0.5");
        assert_eq!(hits(r#"{"probability": {"p": 0.0, "seed": 1}}"#, 20), ".".repeat(20));
        assert_eq!(hits(r#"{"probability": {"p": 1.0, "seed": 1}}"#, 20), "x".repeat(20));
    }

    #[test]
    fn latency_adds_up_and_the_first_terminal_effect_wins() {
        let engine = FaultEngine::new();
        engine.add(rule(r#"{"id": "slow", "effect": {"latency": "200ms"}}"#)).unwrap();
        engine.add(rule(r#"{"id": "slower", "effect": {"latency": "1s"}}"#)).unwrap();
        engine
            .add(rule(r#"{"id": "fail", "effect": {"error": {"code": "UNAVAILABLE", "retryAfter": "5s", "message": "Down."}}}"#))
            .unwrap();
        engine.add(rule(r#"{"id": "never-reached", "effect": {"transport": "reset"}}"#)).unwrap();
        let applied = engine.evaluate("GET", "/v1/x", None).unwrap();
        assert_eq!(applied.rule_ids, ["slow", "slower", "fail"]);
        assert_eq!(applied.latency, Duration::from_millis(1200));
        assert_eq!(
            applied.describe(),
            "rule slow: latency; rule slower: latency; rule fail: error UNAVAILABLE; total latency 1200ms"
        );
        let status = applied.status(&Errors::new("compute.cudo.dev")).unwrap();
        assert_eq!(status.code(), Code::Unavailable);
        assert_eq!(status.message(), "Down.");
        assert_eq!(status.retry_delay(), Some(Duration::from_secs(5)));
        let info = status.error_info().unwrap();
        assert_eq!((info.reason.as_ref(), info.metadata["faultRuleId"].as_ref()), ("FAULT_INJECTED", "fail"));
        let counters: Vec<(String, u64, u64)> =
            engine.list().into_iter().map(|r| (r.rule.id, r.matched, r.fired)).collect();
        assert_eq!(counters[3], ("never-reached".to_owned(), 0, 0));
    }

    #[test]
    fn rules_are_validated_and_managed() {
        let engine = FaultEngine::new();
        let table: &[(&str, RuleErrorKind)] = &[
            (r#"{"mode": {"everyNth": 0}, "effect": {"transport": "reset"}}"#, RuleErrorKind::Mode),
            (
                r#"{"mode": {"probability": {"p": 1.5, "seed": 1}}, "effect": {"transport": "reset"}}"#,
                RuleErrorKind::Mode,
            ),
            (r#"{"effect": {"error": {"code": "OK"}}}"#, RuleErrorKind::Effect),
            (r#"{"effect": {"error": {"code": "INTERNAL", "reason": "lower"}}}"#, RuleErrorKind::Effect),
            (r#"{"id": "no spaces", "effect": {"transport": "reset"}}"#, RuleErrorKind::Id),
            (r#"{"match": {"method": "GE T"}, "effect": {"transport": "reset"}}"#, RuleErrorKind::Method),
        ];
        for &(json, kind) in table {
            assert_eq!(engine.add(rule(json)).unwrap_err().kind(), kind, "{json}");
        }
        assert!(
            serde_json::from_str::<FaultRule>(r#"{"match": {"path": "nope"}, "effect": {"transport": "reset"}}"#)
                .is_err()
        );
        let first = engine.add(rule(r#"{"effect": {"transport": "emptyReply"}}"#)).unwrap();
        assert_eq!(first, "rule-1");
        let taken = engine.add(rule(r#"{"id": "rule-1", "effect": {"transport": "reset"}}"#)).unwrap_err();
        assert_eq!(taken.status(&Errors::new("d")).code(), Code::AlreadyExists);
        engine.evaluate("GET", "/", None);
        assert_eq!(engine.get("rule-1").unwrap().fired, 1);
        engine.reset_counters();
        assert_eq!(engine.get("rule-1").unwrap().matched, 0);
        assert!(engine.delete("rule-1"));
        assert!(!engine.delete("rule-1"));
        assert!(engine.list().is_empty());
    }

    #[test]
    fn rules_round_trip_through_json() {
        let json = r#"{"id":"r","match":{"method":"GET","path":"/v1/**","project":"demo"},"mode":{"probability":{"p":0.25,"seed":7}},"effect":{"error":{"code":"RESOURCE_EXHAUSTED","message":"Slow down.","retryAfter":"1500ms","reason":"RATE_LIMITED"}}}"#;
        let parsed = rule(json);
        assert_eq!(serde_json::to_string(&parsed).unwrap(), json);
        let latency = rule(r#"{"effect": {"latency": "250ms"}}"#);
        assert_eq!(latency.effect, FaultEffect::Latency(Duration::from_millis(250)));
        assert_eq!(
            rule(r#"{"effect": {"error": {"code": 14}}}"#).effect,
            rule(r#"{"effect": {"error": {"code": "unavailable"}}}"#).effect
        );
    }

    #[test]
    fn the_example_configuration_loads() {
        let engine = FaultEngine::new();
        let ids = engine.load_file(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/faults.json")).unwrap();
        assert!(ids.len() >= 4, "{ids:?}");
        assert!(engine.load_json(r#"{"rules": [{"effect": {"transport": "reset"}}, {"mode": {"everyNth": 0}, "effect": {"transport": "reset"}}]}"#).is_err());
        assert_eq!(engine.list().len(), ids.len(), "a bad file adds nothing");
        assert!(engine.load_json(r#"{"rulez": []}"#).is_err());
    }

    #[test]
    fn fault_headers_parse() {
        let ok = |code, retry: Option<u64>, message: Option<&str>| {
            Ok(HeaderFault { code, retry_after: retry.map(Duration::from_millis), message: message.map(str::to_owned) })
        };
        let table: &[(&str, Result<HeaderFault, FaultHeaderErrorKind>)] = &[
            ("UNAVAILABLE", ok(Code::Unavailable, None, None)),
            (" unavailable ", ok(Code::Unavailable, None, None)),
            ("14", ok(Code::Unavailable, None, None)),
            ("code=RESOURCE_EXHAUSTED; retry-after=5", ok(Code::ResourceExhausted, Some(5000), None)),
            ("code=ABORTED;retry-after=250ms;", ok(Code::Aborted, Some(250), None)),
            ("Code=INTERNAL; message=Boom = bang", ok(Code::Internal, None, Some("Boom = bang"))),
            ("", Err(FaultHeaderErrorKind::Empty)),
            ("NOPE", Err(FaultHeaderErrorKind::BadCode)),
            ("OK", Err(FaultHeaderErrorKind::BadCode)),
            ("retry-after=5", Err(FaultHeaderErrorKind::MissingCode)),
            ("code=UNAVAILABLE; retry-after=soon", Err(FaultHeaderErrorKind::BadRetryAfter)),
            ("code=UNAVAILABLE; code=INTERNAL", Err(FaultHeaderErrorKind::DuplicateKey)),
            ("code=UNAVAILABLE; colour=red", Err(FaultHeaderErrorKind::UnknownKey)),
            ("code=UNAVAILABLE; junk", Err(FaultHeaderErrorKind::UnknownKey)),
        ];
        for (value, expected) in table {
            assert_eq!(&parse_fault_header(value).map_err(|e| e.kind()), expected, "{value:?}");
        }
    }

    #[test]
    fn header_faults_become_statuses() {
        let errors = Errors::new("compute.cudo.dev");
        let fault = parse_fault_header("code=RESOURCE_EXHAUSTED; retry-after=5").unwrap();
        let status = fault.status(&errors);
        assert_eq!(status.code(), Code::ResourceExhausted);
        assert_eq!(status.message(), Code::ResourceExhausted.description());
        assert_eq!(status.retry_delay(), Some(Duration::from_secs(5)));
        assert_eq!(status.error_info().unwrap().metadata["faultSource"], "header");
        assert_eq!(fault.describe(), "header: error RESOURCE_EXHAUSTED retry-after 5s");
        let bad = parse_fault_header("code=NOPE").unwrap_err().status(&errors);
        assert_eq!(bad.code(), Code::InvalidArgument);
        assert_eq!(bad.error_info().unwrap().reason, "FAULT_HEADER_INVALID");
        assert_eq!(bad.field_violations().next().unwrap().field, FAULT_HEADER);
    }
}
