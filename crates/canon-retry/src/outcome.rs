//! Outcomes: what one attempt came to, as the decision core reads it.
//!
//! An attempt either succeeds or fails. A [`Failure`] carries what the
//! engine needs to decide, all of it taken from canon's
//! [`Advice`] rather than re-derived from codes: the
//! category, the [`RetryKind`], the server's delay hint, the provider's
//! retry limit and the alternatives the error names; plus the code, HTTP
//! status and request id for the history.
//!
//! ```
//! use canon::{decode, Code, RetryKind};
//! use canon_retry::{Failure, TransportKind};
//! use http::HeaderMap;
//! use std::time::Duration;
//!
//! let body = br#"{"code":503,"status":"UNAVAILABLE","message":"Retry later.",
//!   "details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"5s"}]}"#;
//! let failure = Failure::from_decoded(&decode(503, &HeaderMap::new(), body));
//! assert_eq!(failure.code, Code::Unavailable);
//! assert_eq!(failure.retry, RetryKind::AfterDelay);
//! assert_eq!(failure.hint, Some(Duration::from_secs(5)));
//!
//! let reset = Failure::transport(TransportKind::Reset);
//! assert_eq!(reset.code, Code::Unavailable);
//! assert_eq!(reset.retry, RetryKind::Backoff);
//! ```
//!
//! # Transport failures
//!
//! A request that got no readable response failed in transport:
//! [`TransportKind`] has connect, reset, timeout, truncated body and other.
//! Each is transient and retried with backoff, and each is given the code
//! gRPC gives it (UNAVAILABLE, or DEADLINE_EXCEEDED for a timeout), so that
//! a preset that narrows by code treats it as gRPC would: the strict
//! AIP-194 preset retries a reset but not a timeout.
//!
//! Every transport failure is subject to the idempotency rule, a refused
//! connection included: a client cannot always tell whether a failure
//! happened before the request was written (a pooled connection can be
//! reset mid-write), and a duplicate is worse than an error.

use std::fmt;
use std::time::Duration;

use canon::{Advice, Category, Code, Decoded, Provider, RetryKind, Status};

use crate::placement::{Alternative, PlacementField};

/// How a request failed in transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportKind {
    /// The connection could not be made: refused, unreachable, DNS.
    Connect,
    /// The connection was reset or closed before the response arrived.
    Reset,
    /// The attempt took longer than its timeout.
    Timeout,
    /// The response body ended before its declared length.
    TruncatedBody,
    /// Any other I/O failure.
    Other,
}

impl TransportKind {
    /// The stable name, such as `reset`.
    pub const fn as_str(self) -> &'static str {
        match self {
            TransportKind::Connect => "connect",
            TransportKind::Reset => "reset",
            TransportKind::Timeout => "timeout",
            TransportKind::TruncatedBody => "truncated_body",
            TransportKind::Other => "other",
        }
    }

    /// The canonical code gRPC gives this failure: DEADLINE_EXCEEDED for a
    /// timeout, UNAVAILABLE for the rest.
    pub const fn code(self) -> Code {
        match self {
            TransportKind::Timeout => Code::DeadlineExceeded,
            _ => Code::Unavailable,
        }
    }
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed attempt, as the decision core reads it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Failure {
    /// The canonical code.
    pub code: Code,
    /// The HTTP status, when a response arrived.
    pub http_status: Option<u16>,
    /// How the request failed in transport, when no response arrived.
    pub transport: Option<TransportKind>,
    /// Whose advice applies.
    pub provider: Provider,
    /// The category, from the advice.
    pub category: Category,
    /// Whether and how to retry, from the advice.
    pub retry: RetryKind,
    /// The server's delay hint (the longer of RetryInfo and
    /// `Retry-After`), as given. Hints that could not be read (negative,
    /// garbled, a past date) are already absent: canon drops them.
    pub hint: Option<Duration>,
    /// The most retries the provider advises for this error.
    pub max_retries: Option<u32>,
    /// The server's request id.
    pub request_id: Option<String>,
    /// The alternative placements the error names, best first.
    pub alternatives: Vec<Alternative>,
}

impl Failure {
    /// The failure a decoded error response describes.
    pub fn from_decoded(decoded: &Decoded) -> Failure {
        let advice = decoded.advice();
        let http_status = (decoded.http_status != 0).then_some(decoded.http_status);
        let mut failure = Failure::with_advice(decoded.status.code(), http_status, &advice);
        failure.request_id = decoded.request_id().map(str::to_owned);
        failure.alternatives = named_alternatives(&decoded.status);
        failure
    }

    /// The failure a status describes under `provider`'s advice, with the
    /// `Retry-After` delay read off the headers, if any (the longer of it
    /// and the status's RetryInfo is the hint).
    pub fn from_status(
        status: &Status,
        provider: Provider,
        http_status: Option<u16>,
        retry_after: Option<Duration>,
    ) -> Failure {
        let hint = match (status.retry_delay(), retry_after) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        let advice = canon::advice(status, provider, hint);
        let mut failure = Failure::with_advice(status.code(), http_status, &advice);
        failure.request_id = status.request_id().map(str::to_owned);
        failure.alternatives = named_alternatives(status);
        failure
    }

    /// The failure an advice describes, for a caller that has the advice
    /// but not the status. The advice's alternatives do not say which field
    /// they are for; they are taken as machine types.
    pub fn from_advice(code: Code, http_status: Option<u16>, advice: &Advice<'_>) -> Failure {
        let mut failure = Failure::with_advice(code, http_status, advice);
        failure.alternatives =
            advice.alternatives.iter().map(|value| Alternative::new(PlacementField::MachineType, value)).collect();
        failure
    }

    fn with_advice(code: Code, http_status: Option<u16>, advice: &Advice<'_>) -> Failure {
        Failure {
            code,
            http_status,
            transport: None,
            provider: advice.provider,
            category: advice.category,
            retry: advice.retry,
            hint: advice.retry_delay,
            max_retries: advice.max_retries,
            request_id: None,
            alternatives: Vec::new(),
        }
    }

    /// A transport failure: transient, retried with backoff. See the
    /// [module docs](self).
    pub fn transport(kind: TransportKind) -> Failure {
        Failure {
            code: kind.code(),
            http_status: None,
            transport: Some(kind),
            provider: Provider::Cudo,
            category: Category::Transient,
            retry: RetryKind::Backoff,
            hint: None,
            max_retries: None,
            request_id: None,
            alternatives: Vec::new(),
        }
    }

    /// This failure with a request id.
    pub fn with_request_id(mut self, request_id: impl Into<String>) -> Failure {
        self.request_id = Some(request_id.into());
        self
    }

    /// This failure with the server's delay hint replaced.
    pub fn with_hint(mut self, hint: Option<Duration>) -> Failure {
        self.hint = hint;
        self
    }

    /// Whether the backend turned the request away for want of capacity or
    /// health (a transient or capacity error, or a transport failure), as
    /// opposed to processing it and answering. The adaptive throttle counts
    /// every other answer as accepted.
    pub fn is_overload(&self) -> bool {
        self.transport.is_some() || matches!(self.category, Category::Transient | Category::QuotaOrCapacity)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.transport, self.http_status) {
            (Some(kind), _) => write!(f, "transport failure ({kind})")?,
            (None, Some(http)) => write!(f, "{http} {}", self.code)?,
            (None, None) => write!(f, "{}", self.code)?,
        }
        if let Some(id) = &self.request_id {
            write!(f, " (request id {id})")?;
        }
        Ok(())
    }
}

/// The alternatives a status's ErrorInfo names: each metadata key that
/// starts with `available`, in key order, each key's values in the
/// server's order.
fn named_alternatives(status: &Status) -> Vec<Alternative> {
    let Some(info) = status.error_info() else { return Vec::new() };
    info.metadata
        .keys()
        .filter(|key| key.starts_with("available"))
        .flat_map(|key| {
            let field = PlacementField::from_metadata_key(key);
            info.metadata_list(key).into_iter().map(move |value| Alternative::new(field, value))
        })
        .collect()
}

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The attempt succeeded.
    Success,
    /// The attempt failed.
    Failure(Failure),
}

impl From<Failure> for Outcome {
    fn from(failure: Failure) -> Outcome {
        Outcome::Failure(failure)
    }
}

/// An error type the engine can read: how it failed, as a [`Failure`].
///
/// Implement it for your client's error type, usually by decoding the
/// response with [`canon::decode()`] and calling [`Failure::from_decoded`],
/// or [`Failure::transport`] for I/O errors.
pub trait Classify {
    /// The failure this error describes.
    fn classify(&self) -> Failure;
}

impl Classify for Failure {
    fn classify(&self) -> Failure {
        self.clone()
    }
}

impl Classify for Decoded {
    fn classify(&self) -> Failure {
        Failure::from_decoded(self)
    }
}

impl Classify for TransportKind {
    fn classify(&self) -> Failure {
        Failure::transport(*self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderMap;

    #[test]
    fn reads_the_cudo_capacity_error_with_its_alternatives() {
        let body = br#"{"code":429,"status":"RESOURCE_EXHAUSTED","message":"No capacity.",
          "details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","domain":"compute.cudo.dev",
            "reason":"MACHINE_TYPE_UNAVAILABLE",
            "metadata":{"availableMachineTypes":["gpu-a100-x2","gpu-a100-x4"],"dataCenterId":"gb-bournemouth-1"}}]}"#;
        let mut headers = HeaderMap::new();
        headers.insert("x-request-id", "req-1".parse().unwrap());
        let failure = Failure::from_decoded(&canon::decode(429, &headers, body));
        assert_eq!(failure.retry, RetryKind::Elsewhere);
        assert_eq!(failure.request_id.as_deref(), Some("req-1"));
        assert_eq!(
            failure.alternatives,
            [
                Alternative::new(PlacementField::MachineType, "gpu-a100-x2"),
                Alternative::new(PlacementField::MachineType, "gpu-a100-x4"),
            ]
        );
        assert!(failure.is_overload());
    }

    #[test]
    fn from_status_takes_the_longer_hint() {
        let status = Status::builder(Code::Unavailable, "later").retry_delay(Duration::from_secs(2)).build();
        let table = [(None, Some(2)), (Some(Duration::from_secs(5)), Some(5)), (Some(Duration::from_secs(1)), Some(2))];
        for (retry_after, expected) in table {
            let failure = Failure::from_status(&status, Provider::Cudo, Some(503), retry_after);
            assert_eq!(failure.hint, expected.map(Duration::from_secs), "{retry_after:?}");
            assert_eq!(failure.retry, RetryKind::AfterDelay);
        }
    }

    #[test]
    fn transport_failures_take_grpc_codes() {
        let table = [
            (TransportKind::Connect, Code::Unavailable),
            (TransportKind::Reset, Code::Unavailable),
            (TransportKind::Timeout, Code::DeadlineExceeded),
            (TransportKind::TruncatedBody, Code::Unavailable),
            (TransportKind::Other, Code::Unavailable),
        ];
        for (kind, code) in table {
            let failure = kind.classify();
            assert_eq!(failure.code, code);
            assert_eq!(failure.category, Category::Transient);
            assert!(failure.is_overload());
            assert_eq!(failure.to_string(), format!("transport failure ({kind})"));
        }
    }

    #[test]
    fn validation_errors_are_accepted_by_the_backend() {
        let status = Status::new(Code::InvalidArgument, "bad");
        let failure = Failure::from_status(&status, Provider::Cudo, Some(400), None).with_request_id("r");
        assert!(!failure.is_overload());
        assert_eq!(failure.to_string(), "400 INVALID_ARGUMENT (request id r)");
    }
}
