//! The providers' handling advice, as data.
//!
//! [`advice`] answers what a client should do about an error: its
//! [`Category`], whether and how to retry ([`RetryKind`]), the server's
//! delay hint, a sentence to show, the field violations to show a user,
//! and the alternative placements the error names.
//!
//! ```
//! use canon::{decode, Category, RetryKind};
//! use http::HeaderMap;
//!
//! let body = br#"{"code":503,"status":"UNAVAILABLE","message":"Retry later.",
//!   "details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"5s"}]}"#;
//! let decoded = decode(503, &HeaderMap::new(), body);
//! let advice = decoded.advice();
//! assert_eq!(advice.category, Category::Transient);
//! assert_eq!(advice.retry, RetryKind::AfterDelay);
//! assert_eq!(advice.retry_delay, Some(std::time::Duration::from_secs(5)));
//! ```
//!
//! # Where the advice comes from
//!
//! Two tables, one per provider page: [`CUDO_RULES`] (the CUDO page's
//! client handling guidance, which follows AIP-193, keyed by code) and
//! [`GCORE_RULES`] (the Gcore page's retry table, keyed by the ErrorInfo
//! reason canon gives each Gcore class, then by code). The dialect an error
//! came in picks the table ([`Dialect::provider`](crate::Dialect::provider)).
//! Meaning comes from codes and details, never from message text, except
//! where a dialect defines its messages: the Gcore 401 causes, which the
//! decoder has already turned into reasons.
//!
//! Two refinements apply after the table:
//! - a `backoff` rule becomes `after_delay` when the server gave a delay
//!   (RetryInfo or `Retry-After`);
//! - under the CUDO table, a RESOURCE_EXHAUSTED whose ErrorInfo names
//!   alternatives (a metadata key `available…`, such as
//!   `availableMachineTypes`) and carries no QuotaFailure is a capacity
//!   error: retry `elsewhere`, on one of the alternatives.
//!
//! # Where the pages disagree, and what canon chose
//!
//! | Error | CUDO table | Gcore table | Why |
//! |-------|------------|-------------|-----|
//! | INTERNAL | unknown, never | transient, backoff, at most 3 retries | The CUDO page lists INTERNAL under no retryable category and AIP-194 says INTERNAL is generally not retried (a bug retried is a bug repeated). The Gcore page says 500 is transient: wait 1–5 s and retry up to 3 times. |
//! | RESOURCE_EXHAUSTED, quota | quota_or_capacity, backoff (after_delay with RetryInfo) | `QuotaLimitExceed`: never | CUDO: "exponential backoff respecting any RetryInfo.retryDelay". Gcore: "Request quota increase", not safe to retry. |
//! | RESOURCE_EXHAUSTED, rate limit | as above | `Throttled` (429): after_delay / backoff | Gcore: "Respect Retry-After header if present". |
//! | Capacity | RESOURCE_EXHAUSTED naming alternatives: elsewhere | `ForbiddenError` (403): elsewhere | Gcore's 403 means a flavor reached regional capacity, not a permission problem. |
//! | DEADLINE_EXCEEDED | transient, backoff | (not on the page: as CUDO) | AIP-194 says never; the CUDO page lists it as transient, and the page wins. |
//! | ABORTED | conflict, after_refetch | (as CUDO) | CUDO lists ABORTED under both transient and conflict; "re-fetch latest state before retrying" is the stronger advice. |
//! | UNIMPLEMENTED / 405 | validation, never | `HTTPError`: validation, never | "Fix the HTTP method." |

use std::fmt;
use std::time::Duration;

use crate::code::Code;
use crate::decode::{Decoded, Provider};
use crate::details::FieldViolation;
use crate::gcore;
use crate::status::Status;

/// What kind of error it is, for a client deciding what to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    /// The request is wrong; fix it before sending it again.
    Validation,
    /// The credentials are missing, wrong or lack permission.
    Auth,
    /// A quota or a capacity is exhausted.
    QuotaOrCapacity,
    /// A temporary condition; the same request may succeed later.
    Transient,
    /// The resource does not exist (or is not visible).
    NotFound,
    /// The request conflicts with the resource's current state.
    Conflict,
    /// No better category fits.
    Unknown,
}

impl Category {
    /// The stable name, such as `quota_or_capacity`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Category::Validation => "validation",
            Category::Auth => "auth",
            Category::QuotaOrCapacity => "quota_or_capacity",
            Category::Transient => "transient",
            Category::NotFound => "not_found",
            Category::Conflict => "conflict",
            Category::Unknown => "unknown",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether and how to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RetryKind {
    /// Do not retry the same request.
    Never,
    /// Retry with capped exponential backoff and jitter.
    Backoff,
    /// Retry after the server's delay, then back off.
    AfterDelay,
    /// Retry in another placement (region, flavor, machine type).
    Elsewhere,
    /// Re-read the resource's state, then retry.
    AfterRefetch,
}

impl RetryKind {
    /// The stable name, such as `after_delay`.
    pub const fn as_str(self) -> &'static str {
        match self {
            RetryKind::Never => "never",
            RetryKind::Backoff => "backoff",
            RetryKind::AfterDelay => "after_delay",
            RetryKind::Elsewhere => "elsewhere",
            RetryKind::AfterRefetch => "after_refetch",
        }
    }

    /// Whether the same request may be sent again to the same place:
    /// true for backoff, after_delay and after_refetch.
    pub const fn is_retryable(self) -> bool {
        matches!(self, RetryKind::Backoff | RetryKind::AfterDelay | RetryKind::AfterRefetch)
    }
}

impl fmt::Display for RetryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One row of a provider's handling table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdviceRule {
    /// The code the rule is for.
    pub code: Code,
    /// For Gcore rules, the ErrorInfo reason (in the Gcore domain) the rule
    /// is for; `None` for the rule that covers the code in general.
    pub reason: Option<&'static str>,
    /// The category.
    pub category: Category,
    /// Whether and how to retry.
    pub retry: RetryKind,
    /// The most retries the provider advises, when it says.
    pub max_retries: Option<u32>,
    /// What to do, in a sentence.
    pub action: &'static str,
}

const fn rule(code: Code, category: Category, retry: RetryKind, action: &'static str) -> AdviceRule {
    AdviceRule { code, reason: None, category, retry, max_retries: None, action }
}

const fn gcore_rule(
    code: Code,
    reason: &'static str,
    category: Category,
    retry: RetryKind,
    action: &'static str,
) -> AdviceRule {
    AdviceRule { code, reason: Some(reason), category, retry, max_retries: None, action }
}

use Category as C;
use RetryKind as R;

/// The CUDO page's client handling guidance (AIP-193), one rule per code.
pub static CUDO_RULES: &[AdviceRule] = &[
    rule(Code::Ok, C::Unknown, R::Never, "This is not an error."),
    rule(
        Code::Cancelled,
        C::Unknown,
        R::Never,
        "The request was cancelled, usually by the client; send it again only if it is still wanted.",
    ),
    rule(
        Code::Unknown,
        C::Unknown,
        R::Never,
        "The server could not classify the error; contact support with the request id.",
    ),
    rule(
        Code::InvalidArgument,
        C::Validation,
        R::Never,
        "Fix the request before sending it again, and show the field violations to the user.",
    ),
    rule(
        Code::DeadlineExceeded,
        C::Transient,
        R::Backoff,
        "The server ran out of time; retry with exponential backoff and jitter, keeping the request idempotent with a client-chosen id.",
    ),
    rule(
        Code::NotFound,
        C::NotFound,
        R::Never,
        "Check the resource id and the project, and recreate the resource if appropriate; do not retry blindly.",
    ),
    rule(
        Code::AlreadyExists,
        C::Conflict,
        R::Never,
        "A resource with this id already exists; choose another name, or fetch the existing one.",
    ),
    rule(
        Code::PermissionDenied,
        C::Auth,
        R::Never,
        "Use credentials with the required permission or scope; the same request will fail again.",
    ),
    rule(
        Code::ResourceExhausted,
        C::QuotaOrCapacity,
        R::Backoff,
        "A quota or capacity is exhausted; retry with exponential backoff that starts from the server's delay, or request a quota increase.",
    ),
    rule(
        Code::FailedPrecondition,
        C::Validation,
        R::Never,
        "The resource is not in the state this operation needs; change its state or the request before retrying.",
    ),
    rule(
        Code::Aborted,
        C::Conflict,
        R::AfterRefetch,
        "A concurrent change won; re-read the resource's latest state, then retry.",
    ),
    rule(Code::OutOfRange, C::Validation, R::Never, "A value is outside its allowed range; fix the request."),
    rule(
        Code::Unimplemented,
        C::Validation,
        R::Never,
        "This method is not implemented or not allowed here; check the endpoint and the HTTP method.",
    ),
    rule(
        Code::Internal,
        C::Unknown,
        R::Never,
        "An unexpected server error; contact support with the request id if it persists.",
    ),
    rule(
        Code::Unavailable,
        C::Transient,
        R::Backoff,
        "The service is temporarily unavailable; retry with exponential backoff and jitter.",
    ),
    rule(
        Code::DataLoss,
        C::Unknown,
        R::Never,
        "The server reports unrecoverable data loss; contact support with the request id.",
    ),
    rule(Code::Unauthenticated, C::Auth, R::Never, "Refresh or fix the credentials; the same request will fail again."),
];

/// The Gcore page's retry table, keyed by the reason canon gives each
/// Gcore class (see [`crate::gcore`]), then by code. A code with no rule
/// here follows [`CUDO_RULES`].
pub static GCORE_RULES: &[AdviceRule] = &[
    gcore_rule(
        Code::InvalidArgument,
        "VALIDATION_ERROR",
        C::Validation,
        R::Never,
        "Fix the request body first: see the invalid fields.",
    ),
    gcore_rule(
        Code::NotFound,
        "NOT_FOUND",
        C::NotFound,
        R::Never,
        "Check the ids, and that project_id and region_id match the region where the resource was created.",
    ),
    gcore_rule(
        Code::ResourceExhausted,
        "QUOTA_LIMIT_EXCEEDED",
        C::QuotaOrCapacity,
        R::Never,
        "Reduce the requested size or count, or submit a quota request in the Gcore Customer Portal.",
    ),
    gcore_rule(
        Code::ResourceExhausted,
        "CAPACITY_EXHAUSTED",
        C::QuotaOrCapacity,
        R::Elsewhere,
        "The flavor has reached its regional capacity (this is not a permission error); try another region or flavor.",
    ),
    gcore_rule(
        Code::ResourceExhausted,
        "RATE_LIMIT_EXCEEDED",
        C::QuotaOrCapacity,
        R::Backoff,
        "Rate limit exceeded; wait as long as Retry-After says, then retry.",
    ),
    gcore_rule(
        Code::Unimplemented,
        "METHOD_NOT_ALLOWED",
        C::Validation,
        R::Never,
        "Fix the HTTP method: this endpoint does not accept it.",
    ),
    gcore_rule(
        Code::AlreadyExists,
        "ALREADY_EXISTS",
        C::Conflict,
        R::Never,
        "The resource already exists; choose another name, or use the existing one.",
    ),
    gcore_rule(
        Code::Unauthenticated,
        "CREDENTIALS_MISSING",
        C::Auth,
        R::Never,
        "Send the API key in the header `Authorization: APIKey <key>`.",
    ),
    gcore_rule(
        Code::Unauthenticated,
        "TOKEN_TRUNCATED",
        C::Auth,
        R::Never,
        "The key was cut short at a `$` by the shell; put it in single quotes.",
    ),
    gcore_rule(
        Code::Unauthenticated,
        "TOKEN_INVALID_OR_EXPIRED",
        C::Auth,
        R::Never,
        "The key was deleted or has expired; create a new API key.",
    ),
    gcore_rule(
        Code::Unauthenticated,
        "WRONG_AUTH_SCHEME",
        C::Auth,
        R::Never,
        "Use the APIKey scheme, not Bearer: `Authorization: APIKey <key>`.",
    ),
    gcore_rule(
        Code::PermissionDenied,
        "PERMISSION_DENIED",
        C::Auth,
        R::Never,
        "The key lacks permission for this operation; use a key with the right role.",
    ),
    AdviceRule {
        code: Code::Internal,
        reason: None,
        category: C::Transient,
        retry: R::Backoff,
        max_retries: Some(3),
        action: "A transient server error; wait 1 to 5 s and retry, up to 3 times.",
    },
];

/// What a client should do about an error.
///
/// It borrows the field violations from the [`Status`] it was made for
/// (hence the lifetime), so that making it copies no strings; clone what
/// you keep beyond the status, e.g.
/// `advice.field_violations.iter().map(|v| (*v).clone())`.
#[derive(Debug, Clone, PartialEq)]
pub struct Advice<'a> {
    /// Whose table the advice comes from.
    pub provider: Provider,
    /// The category.
    pub category: Category,
    /// Whether and how to retry.
    pub retry: RetryKind,
    /// The server's delay hint, if it gave one.
    pub retry_delay: Option<Duration>,
    /// The most retries the provider advises, when it says.
    pub max_retries: Option<u32>,
    /// What to do, in a sentence.
    pub action: &'static str,
    /// The field violations to show a user: those of the status's
    /// BadRequest details, in order, borrowed from the status.
    pub field_violations: Vec<&'a FieldViolation>,
    /// Alternative placements the error names (from ErrorInfo metadata keys
    /// that start with `available`), best first.
    pub alternatives: Vec<String>,
}

impl Advice<'_> {
    /// Whether the same request may be sent again (see
    /// [`RetryKind::is_retryable`]).
    pub fn retryable(&self) -> bool {
        self.retry.is_retryable()
    }
}

/// The rule a provider's table gives a status.
pub fn rule_for(status: &Status, provider: Provider) -> &'static AdviceRule {
    let code = status.code();
    let by_code = || CUDO_RULES.iter().find(|r| r.code == code).expect("every code has a CUDO rule");
    match provider {
        Provider::Cudo => by_code(),
        Provider::Gcore => {
            let reason = status.error_info().filter(|i| i.domain == gcore::DOMAIN).map(|i| i.reason.as_ref());
            GCORE_RULES
                .iter()
                .find(|r| r.code == code && r.reason.is_some() && r.reason == reason)
                .or_else(|| GCORE_RULES.iter().find(|r| r.code == code && r.reason.is_none()))
                .unwrap_or_else(by_code)
        }
    }
}

/// The advice for a status under a provider's table, with the server's
/// delay hint (pass the longer of RetryInfo and `Retry-After`; see
/// [`Decoded::retry_delay`]).
pub fn advice(status: &Status, provider: Provider, retry_delay: Option<Duration>) -> Advice<'_> {
    let rule = rule_for(status, provider);
    let mut field_violations = Vec::new();
    let mut error_info = None;
    let mut has_quota_failure = false;
    // One pass over the details; the `as_` readings include those of
    // nonconforming details, as the status's accessors do.
    for detail in status.details() {
        if let Some(bad) = detail.as_bad_request() {
            field_violations.extend(bad.field_violations.iter());
        } else if let Some(info) = detail.as_error_info() {
            error_info = error_info.or(Some(info));
        } else if detail.as_quota_failure().is_some() {
            has_quota_failure = true;
        }
    }
    // The keys that start with `available` are one run of the sorted map:
    // the first key after them that is greater than `available` ends it.
    let mut alternatives: Vec<String> = Vec::new();
    if let Some(info) = error_info {
        for key in info.metadata.keys() {
            if key.starts_with("available") {
                alternatives.extend(info.metadata_list(key));
            } else if key.as_ref() > "available" {
                break;
            }
        }
    }
    let mut retry = rule.retry;
    let mut action = rule.action;
    if provider == Provider::Cudo
        && status.code() == Code::ResourceExhausted
        && !alternatives.is_empty()
        && !has_quota_failure
    {
        retry = RetryKind::Elsewhere;
        action = "Capacity for this placement is exhausted; retry in one of the alternatives the error names.";
    }
    if retry == RetryKind::Backoff && retry_delay.is_some() {
        retry = RetryKind::AfterDelay;
    }
    Advice {
        provider,
        category: rule.category,
        retry,
        retry_delay,
        max_retries: rule.max_retries,
        action,
        field_violations,
        alternatives,
    }
}

impl Decoded {
    /// The advice for this error, under the table its dialect picks.
    pub fn advice(&self) -> Advice<'_> {
        advice(&self.status, self.dialect.provider(), self.retry_delay())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_one_cudo_rule() {
        for code in Code::ALL {
            assert_eq!(CUDO_RULES.iter().filter(|r| r.code == code).count(), 1, "{code}");
        }
    }

    #[test]
    fn every_gcore_reason_rule_names_a_reason_of_the_gcore_table() {
        for rule in GCORE_RULES.iter().filter(|r| r.reason.is_some()) {
            assert!(
                gcore::TABLE.iter().any(|row| Some(row.reason) == rule.reason && row.code == rule.code),
                "{rule:?}"
            );
        }
    }
}
