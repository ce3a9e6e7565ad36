//! The Gcore dialect's mapping, in one table.
//!
//! Gcore errors are `{exception_class, message, request_id, info?,
//! invalid_fields?}` with the meaning carried by `exception_class` and the
//! HTTP status. canon reads them into a [`Status`](crate::Status) as
//! follows, and writes them back the same way:
//!
//! | Gcore | canon |
//! |-------|-------|
//! | `exception_class` + HTTP status | canonical code and an ErrorInfo reason in domain [`DOMAIN`], by [`TABLE`]; the class itself is kept in ErrorInfo metadata `exceptionClass` |
//! | `message` | `message` (for 401s, the message also picks the reason: the Gcore page defines four causes by their messages) |
//! | `request_id` | RequestInfo.request_id |
//! | `invalid_fields` (field → messages) | BadRequest, one field violation per message |
//! | `info` (object) | ErrorInfo metadata: string values as they are, other values as their compact JSON text; for `QuotaLimitExceed` also a QuotaFailure violation whose quota value is `info.limit` |
//!
//! `ForbiddenError` means a flavor has reached its regional capacity: it
//! maps to RESOURCE_EXHAUSTED with reason `CAPACITY_EXHAUSTED`, not to
//! PERMISSION_DENIED. A real permission error is `PermissionDenied`.
//!
//! # Choices the Gcore page leaves open
//!
//! - The page does not give `QuotaLimitExceed`'s HTTP status. canon writes
//!   400: the quota will not free itself, the page says never to retry it,
//!   and the `gcore` SDK retries 429 but not 400.
//! - The page names no class for 429 and 500. canon writes `Throttled`
//!   (the name of the Django REST framework exception Gcore's classes come
//!   from) and `InternalError`.
//! - 405 is `HTTPError`, canonical UNIMPLEMENTED ("method not implemented
//!   / allowed" on the CUDO page) with reason `METHOD_NOT_ALLOWED`.
//! - Codes Gcore never sends are written with the nearest class, so that
//!   a Gcore client still sees its own shape: FAILED_PRECONDITION and
//!   OUT_OF_RANGE as `ValidationError`, ABORTED as `ConflictError`,
//!   UNAVAILABLE and DEADLINE_EXCEEDED as `ServiceUnavailable` and
//!   `GatewayTimeout` with their own statuses.

use crate::code::Code;

/// The ErrorInfo domain canon gives errors read from Gcore bodies.
pub const DOMAIN: &str = "api.gcore.com";

/// The ErrorInfo metadata key that keeps the original `exception_class`.
pub const EXCEPTION_CLASS_KEY: &str = "exceptionClass";

/// One row of the Gcore mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GcoreRow {
    /// The `exception_class` on the wire.
    pub exception_class: &'static str,
    /// The HTTP status Gcore sends it with.
    pub http_status: u16,
    /// The canonical code.
    pub code: Code,
    /// The ErrorInfo reason canon gives it.
    pub reason: &'static str,
    /// For classes shared by several causes (the 401s), the start of the
    /// message that identifies this cause.
    pub message_prefix: Option<&'static str>,
    /// Whether this row is the one written for its code when a status
    /// carries no Gcore class of its own.
    pub default_for_code: bool,
}

const fn row(
    exception_class: &'static str,
    http_status: u16,
    code: Code,
    reason: &'static str,
    message_prefix: Option<&'static str>,
    default_for_code: bool,
) -> GcoreRow {
    GcoreRow { exception_class, http_status, code, reason, message_prefix, default_for_code }
}

/// The message of a 401 without an Authorization header.
pub const MESSAGE_NO_CREDENTIALS: &str = "Authentication credentials were not provided.";
/// The start of the message of a 401 for a key cut short at a `$`.
pub const MESSAGE_BAD_PERMANENT_TOKEN: &str = "Bad permanent token: ";
/// The message of a 401 for a deleted or expired key.
pub const MESSAGE_TOKEN_INVALID: &str = "Token is invalid or expired";
/// The message of a 401 for the Bearer scheme.
pub const MESSAGE_WRONG_SCHEME: &str = "Given token not valid for any token type";

/// The mapping between Gcore classes and canonical codes.
pub static TABLE: &[GcoreRow] = &[
    row("ValidationError", 400, Code::InvalidArgument, "VALIDATION_ERROR", None, true),
    row("not_authenticated", 401, Code::Unauthenticated, "CREDENTIALS_MISSING", Some(MESSAGE_NO_CREDENTIALS), true),
    row("token_not_valid", 401, Code::Unauthenticated, "TOKEN_TRUNCATED", Some(MESSAGE_BAD_PERMANENT_TOKEN), false),
    row("token_not_valid", 401, Code::Unauthenticated, "TOKEN_INVALID_OR_EXPIRED", Some(MESSAGE_TOKEN_INVALID), false),
    row("token_not_valid", 401, Code::Unauthenticated, "WRONG_AUTH_SCHEME", Some(MESSAGE_WRONG_SCHEME), false),
    row("token_not_valid", 401, Code::Unauthenticated, "TOKEN_NOT_VALID", None, false),
    row("ForbiddenError", 403, Code::ResourceExhausted, "CAPACITY_EXHAUSTED", None, false),
    row("PermissionDenied", 403, Code::PermissionDenied, "PERMISSION_DENIED", None, true),
    row("NotFoundError", 404, Code::NotFound, "NOT_FOUND", None, true),
    row("HTTPError", 405, Code::Unimplemented, "METHOD_NOT_ALLOWED", None, false),
    row("ConflictError", 409, Code::AlreadyExists, "ALREADY_EXISTS", None, true),
    row("QuotaLimitExceed", 400, Code::ResourceExhausted, "QUOTA_LIMIT_EXCEEDED", None, false),
    row("Throttled", 429, Code::ResourceExhausted, "RATE_LIMIT_EXCEEDED", None, true),
    row("InternalError", 500, Code::Internal, "INTERNAL_ERROR", None, true),
    // Codes the Gcore page never shows; written with the nearest class.
    row("ValidationError", 400, Code::FailedPrecondition, "FAILED_PRECONDITION", None, true),
    row("ValidationError", 400, Code::OutOfRange, "OUT_OF_RANGE", None, true),
    row("ConflictError", 409, Code::Aborted, "ABORTED", None, true),
    row("NotImplemented", 501, Code::Unimplemented, "NOT_IMPLEMENTED", None, true),
    row("ServiceUnavailable", 503, Code::Unavailable, "SERVICE_UNAVAILABLE", None, true),
    row("GatewayTimeout", 504, Code::DeadlineExceeded, "DEADLINE_EXCEEDED", None, true),
    row("ClientClosedRequest", 499, Code::Cancelled, "CANCELLED", None, true),
    row("InternalError", 500, Code::Unknown, "UNKNOWN", None, true),
    row("InternalError", 500, Code::DataLoss, "DATA_LOSS", None, true),
    row("OK", 200, Code::Ok, "OK", None, true),
];

/// The row for a class read off the wire, with its message (which picks
/// among the 401 causes).
pub fn row_for_class(exception_class: &str, message: &str) -> Option<&'static GcoreRow> {
    let first = first_row_of_class(exception_class)?;
    let rows = TABLE[first..].iter().filter(|r| r.exception_class == exception_class);
    if TABLE[first].message_prefix.is_none() {
        // Only the 401 classes have several causes; the others have one
        // row, or several rows of which the first is the one read.
        return Some(&TABLE[first]);
    }
    let mut rows_with_prefix = rows.clone();
    Some(
        rows_with_prefix
            .find(|r| r.message_prefix.is_some_and(|p| message.starts_with(p.trim_end())))
            .or_else(|| rows.clone().find(|r| r.message_prefix.is_none()))
            .unwrap_or(&TABLE[first]),
    )
}

/// The index in [`TABLE`] of the first row of a class, by a `match` that
/// the compiler turns into a switch on the length and a few comparisons
/// (a scan of the table compares the class with every row). The table's
/// tests check it against a scan.
fn first_row_of_class(exception_class: &str) -> Option<usize> {
    let index = match exception_class {
        "ValidationError" => 0,
        "not_authenticated" => 1,
        "token_not_valid" => 2,
        "ForbiddenError" => 6,
        "PermissionDenied" => 7,
        "NotFoundError" => 8,
        "HTTPError" => 9,
        "ConflictError" => 10,
        "QuotaLimitExceed" => 11,
        "Throttled" => 12,
        "InternalError" => 13,
        "NotImplemented" => 17,
        "ServiceUnavailable" => 18,
        "GatewayTimeout" => 19,
        "ClientClosedRequest" => 20,
        "OK" => 23,
        _ => return None,
    };
    Some(index)
}

/// The row to write for a status: the one with its ErrorInfo reason in the
/// Gcore domain, else the default for its code.
pub fn row_for_status(code: Code, gcore_reason: Option<&str>) -> &'static GcoreRow {
    gcore_reason
        .and_then(|reason| TABLE.iter().find(|r| r.reason == reason && r.code == code))
        .or_else(|| TABLE.iter().find(|r| r.code == code && r.default_for_code))
        .expect("every code has a default row")
}

/// The reason canon gives a class that is not in the table:
/// `SomethingError` becomes `SOMETHING_ERROR`.
pub fn reason_for_unknown_class(exception_class: &str) -> String {
    let mut out = String::with_capacity(exception_class.len() + 4);
    let mut previous_lower = false;
    for c in exception_class.chars() {
        if c.is_ascii_alphanumeric() {
            if c.is_ascii_uppercase() && previous_lower {
                out.push('_');
            }
            previous_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
            out.push(c.to_ascii_uppercase());
        } else {
            if !out.ends_with('_') {
                out.push('_');
            }
            previous_lower = false;
        }
    }
    let trimmed = out.trim_matches('_');
    if trimmed.is_empty() { "UNKNOWN_EXCEPTION_CLASS".to_owned() } else { trimmed.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_exactly_one_default_row() {
        for code in Code::ALL {
            let defaults = TABLE.iter().filter(|r| r.code == code && r.default_for_code).count();
            assert_eq!(defaults, 1, "{code}");
        }
    }

    #[test]
    fn the_first_row_of_every_class_is_found_by_name() {
        for (index, row) in TABLE.iter().enumerate() {
            let first = TABLE.iter().position(|r| r.exception_class == row.exception_class);
            assert_eq!(first_row_of_class(row.exception_class), first, "{index}: {}", row.exception_class);
        }
        for class in ["", "validationerror", "ValidationErrorX", "Unknown"] {
            assert_eq!(first_row_of_class(class), None, "{class}");
        }
    }

    #[test]
    fn only_classes_with_several_causes_have_message_prefixes() {
        // `row_for_class` takes a class's first row when it has no prefix.
        for row in TABLE.iter().filter(|r| r.message_prefix.is_some()) {
            let first = &TABLE[first_row_of_class(row.exception_class).unwrap()];
            assert!(first.message_prefix.is_some(), "{}", row.exception_class);
        }
    }

    #[test]
    fn the_401_causes_are_told_apart_by_message() {
        let table = [
            ("not_authenticated", "Authentication credentials were not provided.", "CREDENTIALS_MISSING"),
            ("token_not_valid", "Bad permanent token: abc", "TOKEN_TRUNCATED"),
            ("token_not_valid", "Token is invalid or expired", "TOKEN_INVALID_OR_EXPIRED"),
            ("token_not_valid", "Given token not valid for any token type", "WRONG_AUTH_SCHEME"),
            ("token_not_valid", "something else", "TOKEN_NOT_VALID"),
        ];
        for (class, message, reason) in table {
            assert_eq!(row_for_class(class, message).unwrap().reason, reason, "{message}");
        }
    }

    #[test]
    fn unknown_classes_become_upper_snake_reasons() {
        for (class, reason) in [
            ("SomethingError", "SOMETHING_ERROR"),
            ("token_expired", "TOKEN_EXPIRED"),
            ("HTTP2Error", "HTTP2_ERROR"),
            ("", "UNKNOWN_EXCEPTION_CLASS"),
        ] {
            assert_eq!(reason_for_unknown_class(class), reason);
        }
    }
}
