//! The rule table: every rule the linter knows, as data.
//!
//! The CLI's `--list-rules` and the pages under `docs/lint/` come from this
//! table; a finding names its rule by reference, so a rule id is written
//! once, here.

use super::{Rule, Severity, Source};

const fn rule(
    id: &'static str,
    severity: Severity,
    source: Source,
    title: &'static str,
    summary: &'static str,
    help: &'static str,
) -> Rule {
    Rule { id, severity, source, title, summary, help }
}

use Severity::{Error, Warning};
use Source::{Aip193, CudoPage, GcorePage, Proto3Json, Rfc9110};

// AIP-193.

pub(super) static ERROR_INFO_MISSING: Rule = rule(
    "aip193/error-info-missing",
    Error,
    Aip193,
    "ErrorInfo is required on every error",
    "AIP-193 makes google.rpc.ErrorInfo the one detail every error carries: its reason and domain are the \
     machine-readable identity of the error, and its metadata carries the values clients act on.",
    "add a google.rpc.ErrorInfo detail with reason, domain and metadata",
);

pub(super) static REASON_FORMAT: Rule = rule(
    "aip193/reason-format",
    Error,
    Aip193,
    "ErrorInfo.reason is at most 63 characters of [A-Z][A-Z0-9_]+[A-Z0-9]",
    "The reason is a constant that clients switch on; AIP-193 fixes its form so that it reads the same in \
     every language and never changes with the message.",
    "write the reason in UPPER_SNAKE_CASE, starting with a letter, at most 63 characters",
);

pub(super) static DOMAIN_MISSING: Rule = rule(
    "aip193/domain-missing",
    Error,
    Aip193,
    "ErrorInfo.domain names the service that defines the reason",
    "A reason is unique only within its domain, usually the service's DNS name; without a domain two \
     services' reasons cannot be told apart.",
    "set ErrorInfo.domain to the service name, such as `compute.example.com`",
);

pub(super) static METADATA_KEY_FORMAT: Rule = rule(
    "aip193/metadata-key-format",
    Error,
    Aip193,
    "ErrorInfo.metadata keys match [a-z][a-zA-Z0-9-_]+ and are at most 64 characters",
    "error_details.proto and AIP-193 constrain metadata keys so that clients can use them as identifiers.",
    "rename the key in lowerCamelCase, starting with a lower-case letter, at most 64 characters",
);

pub(super) static METADATA_KEY_NOT_CAMEL_CASE: Rule = rule(
    "aip193/metadata-key-not-camel-case",
    Warning,
    Aip193,
    "ErrorInfo.metadata keys should be lowerCamelCase",
    "The key pattern admits `_` and `-`, but AIP-193 asks for lowerCamelCase keys, like every other \
     JSON name of the API.",
    "rename the key in lowerCamelCase: `project_id` becomes `projectId`",
);

pub(super) static DUPLICATE_DETAIL_TYPE: Rule = rule(
    "aip193/duplicate-detail-type",
    Error,
    Aip193,
    "Each detail type appears at most once",
    "AIP-193 allows one detail of each type; clients read the first and miss the rest.",
    "merge the details of the same type into one (violations and links are lists)",
);

pub(super) static MESSAGE_VALUE_NOT_IN_METADATA: Rule = rule(
    "aip193/message-value-not-in-metadata",
    Warning,
    Aip193,
    "Every dynamic part of the message also appears in ErrorInfo.metadata",
    "Messages are for people and may change; AIP-193 asks that every variable part of the message \
     (an id, a name, a number) also be in ErrorInfo.metadata so that no client has to parse the message. \
     The linter finds dynamic parts by a heuristic: quoted text, numbers, and tokens that mix digits \
     with letters, dashes or other id characters.",
    "add the value to ErrorInfo.metadata under a lowerCamelCase key",
);

pub(super) static LOCALIZED_MESSAGE_INCOMPLETE: Rule = rule(
    "aip193/localized-message-incomplete",
    Error,
    Aip193,
    "LocalizedMessage has both locale and message",
    "A LocalizedMessage without its locale cannot be chosen for a user, and one without its message \
     has nothing to show.",
    "set both `locale` (a BCP 47 tag such as `en-US`) and `message`",
);

pub(super) static HELP_URL_NOT_ABSOLUTE: Rule = rule(
    "aip193/help-url-not-absolute",
    Error,
    Aip193,
    "Help link urls are absolute",
    "A client shows Help links outside the API's own host; a relative url has no base to resolve against.",
    "write the full url, with scheme and host: `https://docs.example.com/errors/quota`",
);

pub(super) static ERROR_OBJECT_MISSING: Rule = rule(
    "aip193/error-object-missing",
    Error,
    Aip193,
    "A wrapped Google error body is an object with an `error` object",
    "In the Google wrapped form (AIP-193's HTTP examples) the google.rpc.Status fields sit inside a \
     top-level `error` object; a body without one is not that form.",
    "wrap the status in `{\"error\": {...}}`, or lint with the dialect the server means to send",
);

// The CUDO page.

pub(super) static CUDO_BODY_NOT_JSON_OBJECT: Rule = rule(
    "cudo/body-not-json-object",
    Error,
    CudoPage,
    "The error body is a single JSON object",
    "The CUDO page promises that every non-2xx response body is a single JSON object of the AIP-193 \
     shape. An HTML page, plain text or an empty body breaks every client that parses it.",
    "send `{code, status, message, details}` as JSON, also from proxies and load balancers",
);

pub(super) static CODE_MISSING: Rule = rule(
    "cudo/code-missing",
    Error,
    CudoPage,
    "`code` is always present",
    "The CUDO page lists `code` as always present; clients that validate responses strictly (the \
     swagger-generated SDK) refuse a body without it.",
    "add `code` with the HTTP status of the response",
);

pub(super) static CODE_MIRRORS_HTTP_STATUS: Rule = rule(
    "cudo/code-mirrors-http-status",
    Error,
    CudoPage,
    "`code` mirrors the HTTP status of the response",
    "On the CUDO page `code` is the HTTP status repeated in the body, a number. A different number \
     (often the gRPC code, as grpc-gateway writes it) makes clients disagree about the error.",
    "write the HTTP status line's number in `code`; the canonical name goes in `status`",
);

pub(super) static CODE_STATUS_MISMATCH: Rule = rule(
    "cudo/code-status-mismatch",
    Error,
    CudoPage,
    "`code` and `status` agree",
    "Each canonical code has its HTTP status (the CUDO page's table, which follows google/rpc/code.proto \
     and also allows 409 for FAILED_PRECONDITION). A body whose `status` and `code` disagree is read \
     differently by clients that look at one or the other.",
    "send the HTTP status that goes with the canonical code, or the code that goes with the status",
);

pub(super) static STATUS_MISSING: Rule = rule(
    "cudo/status-missing",
    Error,
    CudoPage,
    "`status` is always present",
    "The canonical code name is the precise part of the error: several codes share one HTTP status \
     (400, 409, 500), so without `status` clients must guess.",
    "add `status` with the canonical code name, such as `FAILED_PRECONDITION`",
);

pub(super) static STATUS_UNKNOWN: Rule = rule(
    "cudo/status-unknown",
    Error,
    CudoPage,
    "`status` is a canonical code name in upper snake case",
    "Clients map `status` with an exact, case-sensitive lookup among the canonical codes of \
     google.rpc.Code; any other string becomes UNKNOWN. OK is not an error.",
    "use one of the 16 error codes of google.rpc.Code, spelt exactly: `NOT_FOUND`, `UNAVAILABLE`, ...",
);

pub(super) static CUDO_MESSAGE_MISSING: Rule = rule(
    "cudo/message-missing",
    Error,
    CudoPage,
    "`message` is always present",
    "The CUDO page lists `message` as always present: a readable English summary for the person who \
     sees the error.",
    "add a `message` that says what went wrong in a sentence",
);

pub(super) static DEBUG_INFO_PRESENT: Rule = rule(
    "cudo/debug-info-present",
    Warning,
    CudoPage,
    "DebugInfo should not reach production",
    "DebugInfo holds stack traces and internal detail for the server's own engineers; the CUDO page \
     says it is rarely returned in production. It leaks internals and helps no client.",
    "log the DebugInfo on the server and strip it from responses to clients",
);

// The Gcore page.

pub(super) static GCORE_BODY_NOT_JSON_OBJECT: Rule = rule(
    "gcore/body-not-json-object",
    Error,
    GcorePage,
    "The error body is a single JSON object",
    "The Gcore page promises that every error response has the same JSON shape, \
     `{exception_class, message, request_id, ...}`.",
    "send the Gcore envelope as JSON, also from proxies and load balancers",
);

pub(super) static EXCEPTION_CLASS_MISSING: Rule = rule(
    "gcore/exception-class-missing",
    Error,
    GcorePage,
    "`exception_class` is always present",
    "`exception_class` is the machine-readable error type of a Gcore error; clients switch on it.",
    "add `exception_class`, such as `ValidationError` or `NotFoundError`",
);

pub(super) static GCORE_MESSAGE_MISSING: Rule = rule(
    "gcore/message-missing",
    Error,
    GcorePage,
    "`message` is always present",
    "The Gcore page lists `message`, the human-readable description, as always present.",
    "add a `message` that says what went wrong",
);

pub(super) static REQUEST_ID_MISSING: Rule = rule(
    "gcore/request-id-missing",
    Error,
    GcorePage,
    "`request_id` is always present",
    "The Gcore page lists `request_id` as always present and asks users to quote it to support; \
     without it an error cannot be traced.",
    "add the request's id as `request_id`",
);

pub(super) static INFO_NOT_OBJECT: Rule = rule(
    "gcore/info-not-object",
    Error,
    GcorePage,
    "`info` is an object",
    "`info` carries extra structured data (a quota's usage, requested total and limit) as an object of \
     named values.",
    "send `info` as a JSON object, or leave it out",
);

pub(super) static INVALID_FIELDS_SHAPE: Rule = rule(
    "gcore/invalid-fields-shape",
    Error,
    GcorePage,
    "`invalid_fields` maps each field to a list of messages",
    "Clients read `invalid_fields` as field name to list of messages; any other shape loses the field \
     errors.",
    "send `{\"field\": [\"message\", ...], ...}`",
);

pub(super) static STATUS_TABLE_MISMATCH: Rule = rule(
    "gcore/status-table-mismatch",
    Error,
    GcorePage,
    "The HTTP status matches the Gcore page's table for the exception class",
    "The Gcore page's status table pairs each documented class with one HTTP status (ValidationError 400, \
     not_authenticated and token_not_valid 401, ForbiddenError 403, NotFoundError 404, HTTPError 405, \
     ConflictError 409); clients and SDKs pick their exception from the status.",
    "send the class with the HTTP status the page gives it",
);

// proto3 JSON.

pub(super) static DETAILS_NOT_ARRAY: Rule = rule(
    "proto3/details-not-array",
    Error,
    Proto3Json,
    "`details` is an array",
    "google.rpc.Status.details is a repeated Any: a JSON array of objects.",
    "send `details` as an array, `[]` when there are none",
);

pub(super) static ANY_TYPE_MISSING: Rule = rule(
    "proto3/any-type-missing",
    Error,
    Proto3Json,
    "Each detail is an object with an `@type`",
    "A detail is a google.protobuf.Any; its JSON form is an object whose `@type` url names the message \
     type. Without it no client can read the detail.",
    "add `\"@type\": \"type.googleapis.com/google.rpc.<Name>\"` to the detail",
);

pub(super) static DETAIL_SCHEMA: Rule = rule(
    "proto3/detail-schema",
    Error,
    Proto3Json,
    "A standard detail follows its type's schema",
    "A strict proto3 JSON parser (tonic-types, the Go and Java runtimes) rejects the whole detail, often \
     the whole error, when a field has the wrong JSON type or is not a field of the type.",
    "give each field its proto type; put extra data in ErrorInfo.metadata as strings",
);

pub(super) static DURATION_FORMAT: Rule = rule(
    "proto3/duration-format",
    Error,
    Proto3Json,
    "A Duration is a string such as \"30s\" or \"1.5s\"",
    "google.protobuf.Duration is written as decimal seconds with a final `s`; a number or another \
     unit is rejected by proto3 JSON parsers, and the retry hint is lost.",
    "write the delay as `\"<seconds>[.fraction]s\"`, such as `\"30s\"`",
);

pub(super) static INT64_AS_NUMBER: Rule = rule(
    "proto3/int64-as-number",
    Warning,
    Proto3Json,
    "An int64 is written as a JSON string",
    "proto3 JSON writes int64 as a string because JSON numbers lose precision beyond 2^53; parsers accept \
     a number, so this does not break clients, but a writer should not produce it.",
    "quote the number: `\"quotaValue\": \"10\"`",
);

pub(super) static PROTO_FIELD_NAME: Rule = rule(
    "proto3/proto-field-name",
    Warning,
    Proto3Json,
    "Detail fields use their lowerCamelCase JSON names",
    "proto3 JSON writers use the lowerCamelCase JSON name (`retryDelay`); parsers also accept the proto \
     name (`retry_delay`), but clients that read JSON by hand do not.",
    "write the lowerCamelCase name",
);

// HTTP (RFC 9110).

pub(super) static RETRY_AFTER_MISSING: Rule = rule(
    "http/retry-after-missing",
    Warning,
    Rfc9110,
    "A 429 or 503 with RetryInfo also sends Retry-After",
    "Generic HTTP clients, proxies and retry libraries read the Retry-After header, not RetryInfo; the \
     Gcore page and the `gcore` SDK honour Retry-After. Sending both reaches every client.",
    "send `Retry-After: <seconds>` with RetryInfo's delay rounded up",
);

pub(super) static RETRY_AFTER_CONTRADICTS_RETRY_INFO: Rule = rule(
    "http/retry-after-contradicts-retry-info",
    Error,
    Rfc9110,
    "Retry-After agrees with RetryInfo",
    "Retry-After is whole seconds, so it agrees with RetryInfo.retryDelay when it equals the delay \
     rounded up, give or take one second. Two different hints make clients wait different times.",
    "derive both from one value: Retry-After = RetryInfo.retryDelay rounded up to whole seconds",
);

pub(super) static RETRY_AFTER_INVALID: Rule = rule(
    "http/retry-after-invalid",
    Error,
    Rfc9110,
    "Retry-After is delta-seconds or an HTTP-date",
    "RFC 9110 allows `Retry-After: 120` or `Retry-After: Wed, 21 Oct 2015 07:28:00 GMT`; clients ignore \
     anything else, such as `5s` or `1.5`.",
    "send whole seconds: `Retry-After: 30`",
);

/// Every rule, grouped by source.
pub(super) static ALL: &[&Rule] = &[
    &ERROR_INFO_MISSING,
    &REASON_FORMAT,
    &DOMAIN_MISSING,
    &METADATA_KEY_FORMAT,
    &METADATA_KEY_NOT_CAMEL_CASE,
    &DUPLICATE_DETAIL_TYPE,
    &MESSAGE_VALUE_NOT_IN_METADATA,
    &LOCALIZED_MESSAGE_INCOMPLETE,
    &HELP_URL_NOT_ABSOLUTE,
    &ERROR_OBJECT_MISSING,
    &CUDO_BODY_NOT_JSON_OBJECT,
    &CODE_MISSING,
    &CODE_MIRRORS_HTTP_STATUS,
    &CODE_STATUS_MISMATCH,
    &STATUS_MISSING,
    &STATUS_UNKNOWN,
    &CUDO_MESSAGE_MISSING,
    &DEBUG_INFO_PRESENT,
    &GCORE_BODY_NOT_JSON_OBJECT,
    &EXCEPTION_CLASS_MISSING,
    &GCORE_MESSAGE_MISSING,
    &REQUEST_ID_MISSING,
    &INFO_NOT_OBJECT,
    &INVALID_FIELDS_SHAPE,
    &STATUS_TABLE_MISMATCH,
    &DETAILS_NOT_ARRAY,
    &ANY_TYPE_MISSING,
    &DETAIL_SCHEMA,
    &DURATION_FORMAT,
    &INT64_AS_NUMBER,
    &PROTO_FIELD_NAME,
    &RETRY_AFTER_MISSING,
    &RETRY_AFTER_CONTRADICTS_RETRY_INFO,
    &RETRY_AFTER_INVALID,
];
