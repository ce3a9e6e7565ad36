//! [`Status`]: a canonical code, a message and typed details, the shape of
//! `google.rpc.Status`.
//!
//! Build one with [`Status::builder`], which keeps each standard detail to a
//! single instance as AIP-193 asks (a second field violation joins the
//! first `BadRequest`, it does not add another):
//!
//! ```
//! use std::time::Duration;
//! use canon::{Code, Status};
//!
//! let status = Status::builder(Code::ResourceExhausted, "GPU quota exceeded.")
//!     .error_info("GPU_QUOTA_EXCEEDED", "compute.cudo.dev", [("projectId", "proj-123")])
//!     .quota_violation("projects/proj-123/gpuModelId:gpu-a100", "Limit 16 reached")
//!     .retry_delay(Duration::from_secs(30))
//!     .build();
//!
//! assert_eq!(status.code(), Code::ResourceExhausted);
//! assert_eq!(status.error_info().unwrap().reason, "GPU_QUOTA_EXCEEDED");
//! assert_eq!(status.retry_delay(), Some(Duration::from_secs(30)));
//! ```
//!
//! A decoded Status keeps every detail it was sent, duplicates included;
//! [`Status::normalized`] merges them into one per type, which is what the
//! encoders write.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use crate::code::Code;
use crate::details::{
    BadRequest, DebugInfo, Detail, DetailKind, ErrorInfo, FieldViolation, Help, HelpLink, LocalizedMessage,
    PreconditionFailure, PreconditionViolation, QuotaFailure, QuotaViolation, RequestInfo, ResourceInfo, RetryInfo,
    Text,
};

/// A canonical error: code, developer-facing message and details.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    code: Code,
    message: Text,
    details: Vec<Detail>,
}

macro_rules! status_accessors {
    ($( $fn:ident => $as:ident : $ty:ident ),* $(,)?) => {
        impl Status {
            $(
                #[doc = concat!("The first [`", stringify!($ty), "`] detail, well-formed or the reading of a nonconforming one.")]
                pub fn $fn(&self) -> Option<&$ty> {
                    self.details.iter().find_map(Detail::$as)
                }
            )*
        }
    };
}

status_accessors! {
    error_info => as_error_info: ErrorInfo,
    retry_info => as_retry_info: RetryInfo,
    debug_info => as_debug_info: DebugInfo,
    quota_failure => as_quota_failure: QuotaFailure,
    precondition_failure => as_precondition_failure: PreconditionFailure,
    bad_request => as_bad_request: BadRequest,
    request_info => as_request_info: RequestInfo,
    resource_info => as_resource_info: ResourceInfo,
    help => as_help: Help,
    localized_message => as_localized_message: LocalizedMessage,
}

impl Status {
    /// A status with no details.
    pub fn new(code: Code, message: impl Into<Text>) -> Status {
        Status { code, message: message.into(), details: Vec::new() }
    }

    /// A status with these details, kept as given.
    pub fn with_details(code: Code, message: impl Into<Text>, details: Vec<Detail>) -> Status {
        Status { code, message: message.into(), details }
    }

    /// Starts a builder.
    pub fn builder(code: Code, message: impl Into<Text>) -> StatusBuilder {
        StatusBuilder { status: Status::new(code, message) }
    }

    /// The canonical code.
    pub fn code(&self) -> Code {
        self.code
    }

    /// The developer-facing message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Every detail, in order.
    pub fn details(&self) -> &[Detail] {
        &self.details
    }

    /// Every detail, to change.
    pub fn details_mut(&mut self) -> &mut Vec<Detail> {
        &mut self.details
    }

    /// Replaces the code.
    pub fn set_code(&mut self, code: Code) {
        self.code = code;
    }

    /// Replaces the message.
    pub fn set_message(&mut self, message: impl Into<Text>) {
        self.message = message.into();
    }

    /// Takes the status apart.
    pub fn into_parts(self) -> (Code, String, Vec<Detail>) {
        (self.code, self.message.into_owned(), self.details)
    }

    /// Adds a detail. A standard one is merged into the detail of the same
    /// type that is already there, so that each appears at most once.
    pub fn add_detail(&mut self, detail: impl Into<Detail>) {
        let detail = detail.into();
        let Some(kind) = detail.kind().filter(|_| !matches!(detail, Detail::Nonconforming(_))) else {
            self.details.push(detail);
            return;
        };
        match self.details.iter_mut().find(|d| d.kind() == Some(kind) && !matches!(d, Detail::Nonconforming(_))) {
            Some(existing) => merge_into(existing, detail),
            None => self.details.push(detail),
        }
    }

    /// The server's retry hint from RetryInfo, when there is one and it is
    /// not negative.
    pub fn retry_delay(&self) -> Option<Duration> {
        self.retry_info().and_then(RetryInfo::delay)
    }

    /// The request id from RequestInfo, when present and not empty.
    pub fn request_id(&self) -> Option<&str> {
        self.request_info().map(|r| r.request_id.as_str()).filter(|s| !s.is_empty())
    }

    /// Every field violation of every BadRequest detail.
    pub fn field_violations(&self) -> impl Iterator<Item = &FieldViolation> {
        self.details.iter().filter_map(Detail::as_bad_request).flat_map(|b| b.field_violations.iter())
    }

    /// Whether any detail of this kind is present (well-formed or not).
    pub fn has(&self, kind: DetailKind) -> bool {
        self.details.iter().any(|d| d.kind() == Some(kind))
    }

    /// The status with each standard detail merged into one, as AIP-193
    /// asks and the encoders write.
    ///
    /// List-shaped details (BadRequest, QuotaFailure, PreconditionFailure,
    /// Help, DebugInfo's stack) are concatenated; ErrorInfo metadata is
    /// united with the first value winning on a clash; for the rest the
    /// first wins. Unknown and nonconforming details are kept as they are,
    /// in place. Borrows when there is nothing to merge.
    pub fn normalized(&self) -> Cow<'_, Status> {
        let mut seen = [false; 10];
        let mut duplicate = false;
        for detail in &self.details {
            if let (Some(kind), false) = (detail.kind(), matches!(detail, Detail::Nonconforming(_))) {
                let slot = DetailKind::ALL.iter().position(|k| *k == kind).expect("every kind is listed");
                duplicate |= std::mem::replace(&mut seen[slot], true);
            }
        }
        if !duplicate {
            return Cow::Borrowed(self);
        }
        let mut merged = Status::new(self.code, self.message.clone());
        for detail in &self.details {
            merged.add_detail(detail.clone());
        }
        Cow::Owned(merged)
    }
}

/// Merges `extra` into `existing`, which are of the same standard kind.
fn merge_into(existing: &mut Detail, extra: Detail) {
    match (existing, extra) {
        (Detail::BadRequest(a), Detail::BadRequest(b)) => a.field_violations.extend(b.field_violations),
        (Detail::QuotaFailure(a), Detail::QuotaFailure(b)) => a.violations.extend(b.violations),
        (Detail::PreconditionFailure(a), Detail::PreconditionFailure(b)) => a.violations.extend(b.violations),
        (Detail::Help(a), Detail::Help(b)) => a.links.extend(b.links),
        (Detail::DebugInfo(a), Detail::DebugInfo(b)) => {
            a.stack_entries.extend(b.stack_entries);
            if a.detail.is_empty() {
                a.detail = b.detail;
            }
        }
        (Detail::ErrorInfo(a), Detail::ErrorInfo(b)) => {
            if a.reason.is_empty() {
                a.reason = b.reason;
            }
            if a.domain.is_empty() {
                a.domain = b.domain;
            }
            for (k, v) in b.metadata {
                a.metadata.entry(k).or_insert(v);
            }
        }
        // RetryInfo, RequestInfo, ResourceInfo, LocalizedMessage: the first wins.
        _ => {}
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.message.is_empty() { write!(f, "{}", self.code) } else { write!(f, "{}: {}", self.code, self.message) }
    }
}

impl std::error::Error for Status {}

/// Builds a [`Status`], one detail per standard type.
#[derive(Debug, Clone)]
#[must_use]
pub struct StatusBuilder {
    status: Status,
}

impl StatusBuilder {
    /// Sets ErrorInfo's reason, domain and metadata (metadata is added to
    /// any already there).
    pub fn error_info<K: Into<Text>, V: Into<Text>>(
        mut self,
        reason: impl Into<Text>,
        domain: impl Into<Text>,
        metadata: impl IntoIterator<Item = (K, V)>,
    ) -> StatusBuilder {
        // Inserted one by one: collecting would first gather the pairs into
        // a vector to sort them, one more allocation for the usual one or two.
        let mut entries = BTreeMap::new();
        for (key, value) in metadata {
            entries.insert(key.into(), value.into());
        }
        let info = ErrorInfo { reason: reason.into(), domain: domain.into(), metadata: entries };
        if let Some(Detail::ErrorInfo(existing)) =
            self.status.details.iter_mut().find(|d| matches!(d, Detail::ErrorInfo(_)))
        {
            existing.reason = info.reason;
            existing.domain = info.domain;
            existing.metadata.extend(info.metadata);
        } else {
            self.status.details.push(Detail::ErrorInfo(info));
        }
        self
    }

    /// Adds one ErrorInfo metadata entry.
    pub fn metadata(mut self, key: impl Into<Text>, value: impl Into<Text>) -> StatusBuilder {
        let entry = ErrorInfo::default().with_metadata(key, value);
        self.status.add_detail(entry);
        self
    }

    /// Sets RetryInfo's delay (replacing an earlier one).
    pub fn retry_delay(mut self, delay: Duration) -> StatusBuilder {
        self.status.details.retain(|d| !matches!(d, Detail::RetryInfo(_)));
        self.status.details.push(Detail::RetryInfo(RetryInfo::new(delay)));
        self
    }

    /// Adds a BadRequest field violation.
    pub fn field_violation(self, field: impl Into<String>, description: impl Into<String>) -> StatusBuilder {
        self.detail(BadRequest { field_violations: vec![FieldViolation::new(field, description)] })
    }

    /// Adds a QuotaFailure violation with a subject and description.
    pub fn quota_violation(self, subject: impl Into<String>, description: impl Into<String>) -> StatusBuilder {
        self.detail(QuotaFailure { violations: vec![QuotaViolation::new(subject, description)] })
    }

    /// Adds a PreconditionFailure violation.
    pub fn precondition_violation(
        self,
        r#type: impl Into<String>,
        subject: impl Into<String>,
        description: impl Into<String>,
    ) -> StatusBuilder {
        self.detail(PreconditionFailure {
            violations: vec![PreconditionViolation {
                r#type: r#type.into(),
                subject: subject.into(),
                description: description.into(),
            }],
        })
    }

    /// Sets RequestInfo's request id (replacing an earlier one).
    pub fn request_id(mut self, request_id: impl Into<String>) -> StatusBuilder {
        self.status.details.retain(|d| !matches!(d, Detail::RequestInfo(_)));
        self.status.details.push(Detail::RequestInfo(RequestInfo::new(request_id)));
        self
    }

    /// Sets ResourceInfo.
    pub fn resource_info(
        mut self,
        resource_type: impl Into<String>,
        resource_name: impl Into<String>,
        description: impl Into<String>,
    ) -> StatusBuilder {
        self.status.details.retain(|d| !matches!(d, Detail::ResourceInfo(_)));
        self.status.details.push(Detail::ResourceInfo(ResourceInfo {
            resource_type: resource_type.into(),
            resource_name: resource_name.into(),
            owner: String::new(),
            description: description.into(),
        }));
        self
    }

    /// Adds a Help link.
    pub fn help_link(self, description: impl Into<String>, url: impl Into<String>) -> StatusBuilder {
        self.detail(Help { links: vec![HelpLink { description: description.into(), url: url.into() }] })
    }

    /// Sets LocalizedMessage.
    pub fn localized_message(mut self, locale: impl Into<String>, message: impl Into<String>) -> StatusBuilder {
        self.status.details.retain(|d| !matches!(d, Detail::LocalizedMessage(_)));
        self.status
            .details
            .push(Detail::LocalizedMessage(LocalizedMessage { locale: locale.into(), message: message.into() }));
        self
    }

    /// Adds DebugInfo. Only for servers that were explicitly asked for it.
    pub fn debug_info(self, stack_entries: Vec<String>, detail: impl Into<String>) -> StatusBuilder {
        self.detail(DebugInfo { stack_entries, detail: detail.into() })
    }

    /// Adds any detail, merged into one of the same standard type if there
    /// is one.
    pub fn detail(mut self, detail: impl Into<Detail>) -> StatusBuilder {
        self.status.add_detail(detail);
        self
    }

    /// The finished status.
    pub fn build(self) -> Status {
        self.status
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builder_keeps_one_detail_per_type() {
        let status = Status::builder(Code::InvalidArgument, "bad")
            .field_violation("a", "x")
            .field_violation("b", "y")
            .metadata("k1", "v1")
            .error_info("BAD", "example.com", [("k2", "v2")])
            .retry_delay(Duration::from_secs(1))
            .retry_delay(Duration::from_secs(2))
            .build();
        let kinds: Vec<_> = status.details().iter().map(|d| d.kind().unwrap().short_name()).collect();
        assert_eq!(kinds, ["BadRequest", "ErrorInfo", "RetryInfo"]);
        assert_eq!(status.field_violations().count(), 2);
        let info = status.error_info().unwrap();
        assert_eq!((info.reason.as_ref(), info.metadata.len()), ("BAD", 2));
        assert_eq!(status.retry_delay(), Some(Duration::from_secs(2)));
    }

    #[test]
    fn normalized_merges_duplicates_and_borrows_otherwise() {
        let single = Status::builder(Code::NotFound, "x").error_info("R", "d", [("a", "1")]).build();
        assert!(matches!(single.normalized(), Cow::Borrowed(_)));
        let doubled = Status::with_details(
            Code::NotFound,
            "x",
            vec![
                ErrorInfo::new("R", "d").with_metadata("a", "1").into(),
                ErrorInfo::new("S", "e").with_metadata("a", "2").with_metadata("b", "3").into(),
                BadRequest { field_violations: vec![FieldViolation::new("f", "1")] }.into(),
                BadRequest { field_violations: vec![FieldViolation::new("g", "2")] }.into(),
            ],
        );
        let merged = doubled.normalized();
        assert_eq!(merged.details().len(), 2);
        let info = merged.error_info().unwrap();
        assert_eq!(info.reason, "R");
        assert_eq!(info.metadata["a"], "1");
        assert_eq!(info.metadata["b"], "3");
        assert_eq!(merged.field_violations().count(), 2);
    }
}
