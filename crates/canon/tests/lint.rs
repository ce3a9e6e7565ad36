//! The linter's behaviour: each rule on a failing and a passing body, the
//! providers' own examples with their exact findings, and the rule pages
//! under `docs/lint/` kept honest.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use canon::lint::{Envelope, LintOptions, RULES, Report, lint_with, rule};
use http::{HeaderMap, HeaderName, HeaderValue};

/// 2015-10-21T07:28:00Z minus 30 s, for HTTP-date `Retry-After` values.
fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480 - 30)
}

/// A request described by `canon lint` arguments, as the rule pages write
/// them: `--http-status N`, `-H 'Name: value'`, `--dialect D`.
struct Request {
    http_status: u16,
    headers: HeaderMap,
    envelope: Option<Envelope>,
}

fn words(args: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    let mut has_word = false;
    for c in args.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                has_word = true;
            }
            c if c.is_whitespace() && !quoted => {
                if has_word {
                    out.push(std::mem::take(&mut word));
                    has_word = false;
                }
            }
            c => {
                word.push(c);
                has_word = true;
            }
        }
    }
    assert!(!quoted, "unbalanced quote in `{args}`");
    if has_word {
        out.push(word);
    }
    out
}

fn request(args: &str) -> Request {
    let mut request = Request { http_status: 0, headers: HeaderMap::new(), envelope: None };
    let words = words(args);
    let mut words = words.iter().map(String::as_str).skip_while(|w| *w == "canon" || *w == "lint");
    while let Some(word) = words.next() {
        let mut value = || words.next().unwrap_or_else(|| panic!("`{word}` needs a value in `{args}`"));
        match word {
            "--http-status" => request.http_status = value().parse().expect("a status"),
            "-H" => {
                let (name, header) = value().split_once(':').expect("Name: value");
                request.headers.append(
                    HeaderName::from_bytes(name.trim().as_bytes()).expect("a header name"),
                    HeaderValue::from_str(header.trim()).expect("a header value"),
                );
            }
            "--dialect" => {
                let name = value();
                request.envelope = match name {
                    "auto" => None,
                    other => Some(Envelope::from_name(other).unwrap_or_else(|| panic!("dialect `{other}`"))),
                }
            }
            other => panic!("unexpected argument `{other}` in `{args}`"),
        }
    }
    request
}

fn run(args: &str, body: &str) -> Report {
    let request = request(args);
    let mut options = LintOptions::new().now(now());
    if let Some(envelope) = request.envelope {
        options = options.envelope(envelope);
    }
    lint_with(&options, request.http_status, &request.headers, body.as_bytes())
}

/// Findings as `rule location` lines.
fn lines(report: &Report) -> Vec<String> {
    report.findings.iter().map(|f| format!("{} {}", f.rule_id(), f.location())).collect()
}

/// One rule: a body that breaks it, with every finding expected, and a
/// body that does not.
struct RuleCase {
    rule: &'static str,
    args: &'static str,
    bad: &'static str,
    findings: &'static [&'static str],
    good: &'static str,
    /// The arguments for the good body, when not those of the bad one.
    good_args: Option<&'static str>,
}

const ERROR_INFO: &str = r#"{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "GONE", "domain": "d"}"#;

static RULE_CASES: &[RuleCase] = &[
    RuleCase {
        rule: "aip193/error-info-missing",
        args: "--http-status 500",
        bad: r#"{"code": 500, "status": "INTERNAL", "message": "Internal error."}"#,
        findings: &["aip193/error-info-missing "],
        good: r#"{"code": 500, "status": "INTERNAL", "message": "Internal error.", "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "INTERNAL_ERROR", "domain": "x.example.com"}]}"#,
        good_args: None,
    },
    RuleCase {
        rule: "aip193/error-info-missing",
        args: "--http-status 404",
        bad: r#"{"error": {"code": 404, "status": "NOT_FOUND", "message": "Not found.", "details": [
            {"@type": "type.googleapis.com/google.rpc.ResourceInfo", "resourceType": "disk"}]}}"#,
        findings: &["aip193/error-info-missing /error/details"],
        good: r#"{"error": {"code": 404, "status": "NOT_FOUND", "message": "Not found.", "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "DISK_NOT_FOUND", "domain": "x"}]}}"#,
        good_args: None,
    },
    RuleCase {
        rule: "aip193/reason-format",
        args: "--http-status 404",
        bad: r#"{"code": 404, "status": "NOT_FOUND", "message": "Not found.", "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "domain": "x",
             "reason": "A_REASON_THAT_GOES_ON_AND_ON_AND_ON_AND_ON_AND_ON_PAST_THE_LIMIT_X"},
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "domain": "x"}]}"#,
        findings: &[
            "aip193/reason-format /details/0/reason",
            "aip193/duplicate-detail-type /details/1",
            "aip193/reason-format /details/1",
        ],
        good: r#"{"code": 404, "status": "NOT_FOUND", "message": "Not found.", "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "domain": "x", "reason": "NOT_FOUND_2"}]}"#,
        good_args: None,
    },
    RuleCase {
        rule: "aip193/domain-missing",
        args: "--http-status 404",
        bad: r#"{"code": 404, "status": "NOT_FOUND", "message": "Not found.", "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "GONE", "domain": " "}]}"#,
        findings: &["aip193/domain-missing /details/0/domain"],
        good: r#"{"code": 404, "status": "NOT_FOUND", "message": "Not found.", "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "GONE", "domain": "x"}]}"#,
        good_args: None,
    },
    RuleCase {
        rule: "aip193/metadata-key-format",
        args: "--http-status 400",
        bad: r#"{"code": 400, "status": "INVALID_ARGUMENT", "message": "Bad.", "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "BAD", "domain": "x", "metadata": {
              "a": "1", "keyThatIsLongerThanSixtyFourCharactersBecauseItJustKeepsGoingAndGoingX": "2",
              "1st": "3", "okKey": "4"}}]}"#,
        findings: &[
            "aip193/metadata-key-format /details/0/metadata/1st",
            "aip193/metadata-key-format /details/0/metadata/a",
            "aip193/metadata-key-format /details/0/metadata/keyThatIsLongerThanSixtyFourCharactersBecauseItJustKeepsGoingAndGoingX",
        ],
        good: r#"{"code": 400, "status": "INVALID_ARGUMENT", "message": "Bad.", "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "BAD", "domain": "x", "metadata": {
              "ab": "1", "keyThatIsExactlySixtyFourCharactersLongWhichIsTheLimitThatIsAllo": "2"}}]}"#,
        good_args: None,
    },
    RuleCase {
        rule: "aip193/metadata-key-not-camel-case",
        args: "--http-status 400",
        bad: r#"{"code": 400, "status": "INVALID_ARGUMENT", "message": "Bad.", "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "BAD", "domain": "x",
             "metadata": {"project_id": "p", "zone-name": "z"}}]}"#,
        findings: &[
            "aip193/metadata-key-not-camel-case /details/0/metadata/project_id",
            "aip193/metadata-key-not-camel-case /details/0/metadata/zone-name",
        ],
        good: r#"{"code": 400, "status": "INVALID_ARGUMENT", "message": "Bad.", "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "BAD", "domain": "x",
             "metadata": {"projectId": "p", "zoneName": "z"}}]}"#,
        good_args: None,
    },
    RuleCase {
        rule: "aip193/duplicate-detail-type",
        args: "--http-status 400",
        bad: r#"{"code": 400, "status": "INVALID_ARGUMENT", "message": "Bad.", "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "BAD", "domain": "x"},
            {"@type": "type.example.com/acme.Extra", "a": 1},
            {"@type": "google.rpc.ErrorInfo", "reason": "BAD", "domain": "x"},
            {"@type": "type.example.com/acme.Extra", "a": 2}]}"#,
        findings: &["aip193/duplicate-detail-type /details/2", "aip193/duplicate-detail-type /details/3"],
        good: r#"{"code": 400, "status": "INVALID_ARGUMENT", "message": "Bad.", "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "BAD", "domain": "x"},
            {"@type": "type.example.com/acme.Extra", "a": 1},
            {"@type": "type.example.com/acme.Other", "a": 2}]}"#,
        good_args: None,
    },
    RuleCase {
        rule: "aip193/message-value-not-in-metadata",
        args: "--http-status 429",
        bad: r#"{"code": 429, "status": "RESOURCE_EXHAUSTED",
            "message": "HTTP 429: limit 16 reached for \"proj-1\" in zone eu-2; don't retry.", "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "QUOTA", "domain": "x",
             "metadata": {"limit": "160", "projectId": "proj-1"}}]}"#,
        findings: &["aip193/message-value-not-in-metadata /message", "aip193/message-value-not-in-metadata /message"],
        good: r#"{"code": 429, "status": "RESOURCE_EXHAUSTED",
            "message": "HTTP 429: limit 16 reached for \"proj-1\" in zone eu-2; don't retry.", "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "QUOTA", "domain": "x",
             "metadata": {"limit": "16", "resource": "projects/proj-1/zones/eu-2"}}]}"#,
        good_args: None,
    },
    RuleCase {
        rule: "aip193/localized-message-incomplete",
        args: "--http-status 400",
        bad: r#"{"code": 400, "status": "INVALID_ARGUMENT", "message": "Bad.", "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "BAD", "domain": "x"},
            {"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [
              {"field": "a", "description": "d", "localizedMessage": {"locale": "de-DE"}}]},
            {"@type": "type.googleapis.com/google.rpc.LocalizedMessage"}]}"#,
        findings: &[
            "aip193/localized-message-incomplete /details/1/fieldViolations/0/localizedMessage",
            "aip193/localized-message-incomplete /details/2",
        ],
        good: r#"{"code": 400, "status": "INVALID_ARGUMENT", "message": "Bad.", "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "BAD", "domain": "x"},
            {"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [
              {"field": "a", "description": "d", "localizedMessage": {"locale": "de-DE", "message": "Falsch."}}]},
            {"@type": "type.googleapis.com/google.rpc.LocalizedMessage", "locale": "en", "message": "Bad."}]}"#,
        good_args: None,
    },
    RuleCase {
        rule: "aip193/help-url-not-absolute",
        args: "--http-status 400",
        bad: r#"{"code": 400, "status": "INVALID_ARGUMENT", "message": "Bad.", "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "BAD", "domain": "x"},
            {"@type": "type.googleapis.com/google.rpc.Help", "links": [
              {"description": "no url"}, {"url": "docs.example.com/a"}, {"url": "https:///a"}]}]}"#,
        findings: &[
            "aip193/help-url-not-absolute /details/1/links/0",
            "aip193/help-url-not-absolute /details/1/links/1/url",
            "aip193/help-url-not-absolute /details/1/links/2/url",
        ],
        good: r#"{"code": 400, "status": "INVALID_ARGUMENT", "message": "Bad.", "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "BAD", "domain": "x"},
            {"@type": "type.googleapis.com/google.rpc.Help", "links": [
              {"url": "https://docs.example.com/a"}, {"url": "mailto:help@example.com"}]}]}"#,
        good_args: None,
    },
    RuleCase {
        rule: "aip193/error-object-missing",
        args: "--dialect google --http-status 404",
        bad: r#"[{"error": {"code": 404, "status": "NOT_FOUND", "message": "Not found.", "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "GONE", "domain": "x"}]}},
            {"code": 404}]"#,
        findings: &["aip193/error-object-missing /1"],
        good: r#"[{"error": {"code": 404, "status": "NOT_FOUND", "message": "Not found.", "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "GONE", "domain": "x"}]}}]"#,
        good_args: None,
    },
    RuleCase {
        rule: "aip193/error-object-missing",
        args: "--dialect google",
        bad: r#"{"error": "not found"}"#,
        findings: &["aip193/error-object-missing /error"],
        good: r#"{"error": {"code": 404, "status": "NOT_FOUND", "message": "Not found.", "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "GONE", "domain": "x"}]}}"#,
        good_args: None,
    },
    RuleCase {
        rule: "cudo/body-not-json-object",
        args: "--http-status 503 -H 'Retry-After: 5'",
        bad: "",
        findings: &["cudo/body-not-json-object "],
        good: r#"{"code": 503, "status": "UNAVAILABLE", "message": "Unavailable.", "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "DOWN", "domain": "x"},
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "5s"}]}"#,
        good_args: None,
    },
    RuleCase {
        rule: "cudo/body-not-json-object",
        args: "--dialect aip193 --http-status 500",
        bad: r#"["an", "array"]"#,
        findings: &["cudo/body-not-json-object "],
        good: r#"{"code": 500, "status": "INTERNAL", "message": "Internal.", "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "INTERNAL", "domain": "x"}]}"#,
        good_args: None,
    },
    RuleCase {
        rule: "cudo/code-missing",
        args: "--http-status 404",
        bad: r#"{"code": null, "status": "NOT_FOUND", "message": "Not found.", "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "GONE", "domain": "x"}]}"#,
        findings: &["cudo/code-missing "],
        good: r#"{"code": 404, "status": "NOT_FOUND", "message": "Not found.", "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "GONE", "domain": "x"}]}"#,
        good_args: None,
    },
    RuleCase {
        // Without an HTTP status, a gRPC number in `code` is still caught.
        rule: "cudo/code-mirrors-http-status",
        args: "",
        bad: r#"{"code": 5, "status": "NOT_FOUND", "message": "Not found.", "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "GONE", "domain": "x"}]}"#,
        findings: &["cudo/code-mirrors-http-status /code"],
        good: r#"{"code": 404, "status": "NOT_FOUND", "message": "Not found.", "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "GONE", "domain": "x"}]}"#,
        good_args: None,
    },
    RuleCase {
        rule: "cudo/code-mirrors-http-status",
        args: "--http-status 404",
        bad: r#"{"code": "404", "status": "NOT_FOUND", "message": "Not found.", "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "GONE", "domain": "x"}]}"#,
        findings: &["cudo/code-mirrors-http-status /code"],
        good: r#"{"code": 404, "status": "NOT_FOUND", "message": "Not found.", "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "GONE", "domain": "x"}]}"#,
        good_args: None,
    },
    RuleCase {
        // Without `code`, `status` is compared with the HTTP status; the
        // CUDO page's 409 for FAILED_PRECONDITION passes.
        rule: "cudo/code-status-mismatch",
        args: "--http-status 409",
        bad: r#"{"status": "INVALID_ARGUMENT", "message": "Bad.", "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "BAD", "domain": "x"}]}"#,
        findings: &["cudo/code-missing ", "cudo/code-status-mismatch /status"],
        good: r#"{"code": 409, "status": "FAILED_PRECONDITION", "message": "Bad.", "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "BAD", "domain": "x"}]}"#,
        good_args: None,
    },
    RuleCase {
        rule: "cudo/status-missing",
        args: "--http-status 404",
        bad: r#"{"error": {"code": 404, "message": "Not found.", "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "GONE", "domain": "x"}]}}"#,
        findings: &["cudo/status-missing /error"],
        good: r#"{"error": {"code": 404, "status": "NOT_FOUND", "message": "Not found.", "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "GONE", "domain": "x"}]}}"#,
        good_args: None,
    },
    RuleCase {
        rule: "cudo/status-unknown",
        args: "",
        bad: r#"{"code": 200, "status": "OK", "message": "Fine.", "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "FINE", "domain": "x"}]}"#,
        findings: &["cudo/status-unknown /status"],
        good: r#"{"code": 499, "status": "CANCELLED", "message": "Fine.", "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "FINE", "domain": "x"}]}"#,
        good_args: None,
    },
    RuleCase {
        rule: "cudo/status-unknown",
        args: "--http-status 404",
        bad: r#"{"code": 404, "status": 5, "message": "Not found.", "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "GONE", "domain": "x"}]}"#,
        findings: &["cudo/status-unknown /status"],
        good: r#"{"code": 404, "status": "NOT_FOUND", "message": "Not found.", "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "GONE", "domain": "x"}]}"#,
        good_args: None,
    },
    RuleCase {
        rule: "cudo/message-missing",
        args: "--http-status 404",
        bad: r#"{"code": 404, "status": "NOT_FOUND", "message": "", "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "GONE", "domain": "x"}]}"#,
        findings: &["cudo/message-missing /message"],
        good: r#"{"code": 404, "status": "NOT_FOUND", "message": "Gone.", "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "GONE", "domain": "x"}]}"#,
        good_args: None,
    },
    RuleCase {
        rule: "cudo/debug-info-present",
        args: "--http-status 500",
        bad: r#"{"code": 500, "status": "INTERNAL", "message": "Internal.", "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "INTERNAL", "domain": "x"},
            {"@type": "type.googleapis.com/google.rpc.DebugInfo", "detail": "panic"}]}"#,
        findings: &["cudo/debug-info-present /details/1"],
        good: r#"{"code": 500, "status": "INTERNAL", "message": "Internal.", "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "INTERNAL", "domain": "x"}]}"#,
        good_args: None,
    },
    RuleCase {
        rule: "gcore/body-not-json-object",
        args: "--dialect gcore --http-status 502",
        bad: "Bad Gateway",
        findings: &["gcore/body-not-json-object "],
        good: r#"{"exception_class": "BadGateway", "message": "Bad gateway", "request_id": "r1"}"#,
        good_args: None,
    },
    RuleCase {
        rule: "gcore/exception-class-missing",
        args: "--dialect gcore --http-status 404",
        bad: r#"{"exception_class": "", "message": "Gone", "request_id": "r1"}"#,
        findings: &["gcore/exception-class-missing /exception_class"],
        good: r#"{"exception_class": "NotFoundError", "message": "Gone", "request_id": "r1"}"#,
        good_args: None,
    },
    RuleCase {
        rule: "gcore/message-missing",
        args: "--http-status 404",
        bad: r#"{"exception_class": "NotFoundError", "message": ["Gone"], "request_id": "r1"}"#,
        findings: &["gcore/message-missing /message"],
        good: r#"{"exception_class": "NotFoundError", "message": "Gone", "request_id": "r1"}"#,
        good_args: None,
    },
    RuleCase {
        // The request id in a header does not replace the body's.
        rule: "gcore/request-id-missing",
        args: "--http-status 404 -H 'X-Request-ID: r1'",
        bad: r#"{"exception_class": "NotFoundError", "message": "Gone", "request_id": null}"#,
        findings: &["gcore/request-id-missing "],
        good: r#"{"exception_class": "NotFoundError", "message": "Gone", "request_id": "r1"}"#,
        good_args: None,
    },
    RuleCase {
        rule: "gcore/info-not-object",
        args: "",
        bad: r#"{"exception_class": "QuotaLimitExceed", "message": "Over", "request_id": "r1", "info": [1]}"#,
        findings: &["gcore/info-not-object /info"],
        good: r#"{"exception_class": "QuotaLimitExceed", "message": "Over", "request_id": "r1", "info": null}"#,
        good_args: None,
    },
    RuleCase {
        rule: "gcore/invalid-fields-shape",
        args: "--http-status 400",
        bad: r#"{"exception_class": "ValidationError", "message": "Bad", "request_id": "r1",
            "invalid_fields": {"name": ["ok", {"code": "required"}], "size": "too big", "a/b": 1}}"#,
        findings: &[
            "gcore/invalid-fields-shape /invalid_fields/a~1b",
            "gcore/invalid-fields-shape /invalid_fields/name/1",
            "gcore/invalid-fields-shape /invalid_fields/size",
        ],
        good: r#"{"exception_class": "ValidationError", "message": "Bad", "request_id": "r1",
            "invalid_fields": {"name": ["required", "too long"]}}"#,
        good_args: None,
    },
    RuleCase {
        rule: "gcore/invalid-fields-shape",
        args: "--http-status 400",
        bad: r#"{"exception_class": "ValidationError", "message": "Bad", "request_id": "r1", "invalid_fields": []}"#,
        findings: &["gcore/invalid-fields-shape /invalid_fields"],
        good: r#"{"exception_class": "ValidationError", "message": "Bad", "request_id": "r1", "invalid_fields": {}}"#,
        good_args: None,
    },
    RuleCase {
        rule: "gcore/status-table-mismatch",
        args: "--http-status 403",
        bad: r#"{"exception_class": "token_not_valid", "message": "Token is invalid or expired", "request_id": "r1"}"#,
        findings: &["gcore/status-table-mismatch /exception_class"],
        good: r#"{"exception_class": "ForbiddenError", "message": "Flavor capacity reached", "request_id": "r1"}"#,
        good_args: None,
    },
    RuleCase {
        rule: "proto3/details-not-array",
        args: "--http-status 404",
        bad: r#"{"code": 404, "status": "NOT_FOUND", "message": "Gone 'disk-1'.", "details": "none"}"#,
        findings: &["proto3/details-not-array /details"],
        good: r#"{"code": 404, "status": "NOT_FOUND", "message": "Gone 'disk-1'.", "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "GONE", "domain": "x",
             "metadata": {"diskId": "disk-1"}}]}"#,
        good_args: None,
    },
    RuleCase {
        rule: "proto3/any-type-missing",
        args: "--http-status 404",
        bad: r#"{"code": 404, "status": "NOT_FOUND", "message": "Gone.", "details": [
            "text", {"@type": 7}, {"resourceType": "disk"},
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "GONE", "domain": "x"}]}"#,
        findings: &[
            "proto3/any-type-missing /details/0",
            "proto3/any-type-missing /details/1",
            "proto3/any-type-missing /details/2",
        ],
        good: r#"{"code": 404, "status": "NOT_FOUND", "message": "Gone.", "details": [
            {"@type": "type.googleapis.com/google.rpc.ResourceInfo", "resourceType": "disk"},
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "GONE", "domain": "x"}]}"#,
        good_args: None,
    },
    RuleCase {
        rule: "proto3/detail-schema",
        args: "--http-status 429",
        bad: r#"{"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "Over.", "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "OVER", "domain": "x", "extra": true},
            {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [
              {"subject": 1, "quotaValue": "ten"}]}]}"#,
        findings: &[
            "proto3/detail-schema /details/0/extra",
            "proto3/detail-schema /details/1/violations/0/quotaValue",
            "proto3/detail-schema /details/1/violations/0/subject",
        ],
        good: r#"{"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "Over.", "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "OVER", "domain": "x"},
            {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [
              {"subject": "s", "quotaValue": "10"}]}]}"#,
        good_args: None,
    },
    RuleCase {
        rule: "proto3/duration-format",
        args: "--http-status 503 -H 'Retry-After: 5'",
        bad: r#"{"code": 503, "status": "UNAVAILABLE", "message": "Down.", "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "DOWN", "domain": "x"},
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": 5}]}"#,
        findings: &["proto3/duration-format /details/1/retryDelay"],
        good: r#"{"code": 503, "status": "UNAVAILABLE", "message": "Down.", "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "DOWN", "domain": "x"},
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "4.500s"}]}"#,
        good_args: None,
    },
    RuleCase {
        rule: "proto3/int64-as-number",
        args: "--http-status 429",
        bad: r#"{"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "Over.", "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "OVER", "domain": "x"},
            {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [
              {"quotaValue": 10, "futureQuotaValue": 20}]}]}"#,
        findings: &[
            "proto3/int64-as-number /details/1/violations/0/futureQuotaValue",
            "proto3/int64-as-number /details/1/violations/0/quotaValue",
        ],
        good: r#"{"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "Over.", "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "OVER", "domain": "x"},
            {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [
              {"quotaValue": "10", "futureQuotaValue": "20"}]}]}"#,
        good_args: None,
    },
    RuleCase {
        // Proto names are found at any depth, but map keys are data.
        rule: "proto3/proto-field-name",
        args: "--http-status 400",
        bad: r#"{"code": 400, "status": "INVALID_ARGUMENT", "message": "Bad.", "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "BAD", "domain": "x",
             "metadata": {"projectId": "p"}},
            {"@type": "type.googleapis.com/google.rpc.BadRequest", "field_violations": [
              {"field": "a", "localized_message": {"locale": "en", "message": "m"}}]},
            {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [
              {"quota_dimensions": {"region_id": "r"}}]}]}"#,
        findings: &[
            "proto3/proto-field-name /details/1/field_violations",
            "proto3/proto-field-name /details/1/field_violations/0/localized_message",
            "proto3/proto-field-name /details/2/violations/0/quota_dimensions",
        ],
        good: r#"{"code": 400, "status": "INVALID_ARGUMENT", "message": "Bad.", "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "BAD", "domain": "x",
             "metadata": {"projectId": "p"}},
            {"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [
              {"field": "a", "localizedMessage": {"locale": "en", "message": "m"}}]},
            {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [
              {"quotaDimensions": {"region_id": "r"}}]}]}"#,
        good_args: None,
    },
    RuleCase {
        // Without an HTTP status, the one the body implies (429) is used.
        rule: "http/retry-after-missing",
        args: "-H 'retry-after-ms: 30000'",
        bad: r#"{"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "Slow down.", "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "RATE", "domain": "x"},
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "30s"}]}"#,
        findings: &["http/retry-after-missing header:retry-after"],
        good: r#"{"code": 500, "status": "INTERNAL", "message": "Internal.", "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "INTERNAL", "domain": "x"},
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "30s"}]}"#,
        good_args: None,
    },
    RuleCase {
        // 1.5 s rounds up to 2; Retry-After 1, 2 and 3 agree, 4 does not.
        rule: "http/retry-after-contradicts-retry-info",
        args: "--http-status 503 -H 'Retry-After: 4'",
        bad: r#"{"code": 503, "status": "UNAVAILABLE", "message": "Down.", "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "DOWN", "domain": "x"},
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1.5s"}]}"#,
        findings: &["http/retry-after-contradicts-retry-info header:retry-after"],
        good: r#"{"code": 503, "status": "UNAVAILABLE", "message": "Down.", "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "DOWN", "domain": "x"},
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "3s"}]}"#,
        good_args: None,
    },
    RuleCase {
        // An HTTP-date 30 s ahead of the linter's clock.
        rule: "http/retry-after-contradicts-retry-info",
        args: "--http-status 429 -H 'Retry-After: Wed, 21 Oct 2015 07:28:00 GMT'",
        bad: r#"{"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "Slow down.", "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "RATE", "domain": "x"},
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "5s"}]}"#,
        findings: &["http/retry-after-contradicts-retry-info header:retry-after"],
        good: r#"{"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "Slow down.", "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "RATE", "domain": "x"},
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "29.100s"}]}"#,
        good_args: None,
    },
    RuleCase {
        rule: "http/retry-after-invalid",
        args: "--http-status 500 -H 'Retry-After: soon'",
        bad: r#"{"code": 500, "status": "INTERNAL", "message": "Internal.", "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "INTERNAL", "domain": "x"}]}"#,
        findings: &["http/retry-after-invalid header:retry-after"],
        good: r#"{"code": 500, "status": "INTERNAL", "message": "Internal.", "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "INTERNAL", "domain": "x"}]}"#,
        good_args: Some("--http-status 500 -H 'Retry-After: 0'"),
    },
];

#[test]
fn each_rule_fails_its_bad_body_and_passes_its_good_one() {
    for case in RULE_CASES {
        let bad = run(case.args, case.bad);
        assert_eq!(lines(&bad), case.findings, "bad body of {}:\n{}", case.rule, case.bad);
        assert!(bad.findings.iter().any(|f| f.rule_id() == case.rule), "{} is not among the findings", case.rule);
        let good = run(case.good_args.unwrap_or(case.args), case.good);
        assert_eq!(lines(&good), Vec::<String>::new(), "good body of {}:\n{}", case.rule, case.good);
    }
}

#[test]
fn every_rule_has_a_case() {
    for rule in RULES {
        assert!(RULE_CASES.iter().any(|c| c.rule == rule.id), "no case for {}", rule.id);
    }
    for case in RULE_CASES {
        assert!(rule(case.rule).is_some(), "{} is not a rule", case.rule);
    }
}

#[test]
fn the_dialect_picks_the_envelope_unless_one_is_named() {
    let gcore = r#"{"exception_class": "NotFoundError", "message": "Gone", "request_id": "r1"}"#;
    let wrapped = format!(
        r#"{{"error": {{"code": 404, "status": "NOT_FOUND", "message": "Gone.", "details": [{ERROR_INFO}]}}}}"#
    );
    let grpc_gateway = format!(r#"{{"code": 5, "message": "Gone.", "details": [{ERROR_INFO}]}}"#);
    let table: &[(&str, &str, Envelope, &[&str])] = &[
        ("--http-status 404", gcore, Envelope::Gcore, &[]),
        ("--http-status 404", &wrapped, Envelope::Google, &[]),
        (
            "--http-status 404",
            &grpc_gateway,
            Envelope::Aip193,
            &["cudo/code-mirrors-http-status /code", "cudo/status-missing "],
        ),
        (
            "--http-status 404 --dialect aip193",
            &wrapped,
            Envelope::Aip193,
            &["cudo/code-missing ", "cudo/status-missing ", "cudo/message-missing ", "aip193/error-info-missing "],
        ),
        ("--http-status 404 --dialect google", gcore, Envelope::Google, &["aip193/error-object-missing "]),
        (
            "--http-status 404 --dialect gcore",
            &wrapped,
            Envelope::Gcore,
            &["gcore/exception-class-missing ", "gcore/message-missing ", "gcore/request-id-missing "],
        ),
        ("--http-status 502", "<html><title>502</title></html>", Envelope::Aip193, &["cudo/body-not-json-object "]),
    ];
    for (args, body, envelope, expected) in table {
        let report = run(args, body);
        assert_eq!(report.envelope, *envelope, "{args} {body}");
        assert_eq!(lines(&report), *expected, "{args} {body}");
    }
}

#[test]
fn a_google_array_is_linted_item_by_item() {
    let body = r#"[{"error": {"code": 404, "status": "NOT_FOUND", "message": "Gone."}},
                  {"error": {"code": 404, "status": "NOT_FOUND", "message": "Gone.", "details": [
                    {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "GONE"}]}}]"#;
    let report = run("--http-status 404", body);
    assert_eq!(report.dialect, canon::Dialect::GoogleArray);
    assert_eq!(lines(&report), ["aip193/error-info-missing /0/error", "aip193/domain-missing /1/error/details/0"]);
}

#[test]
fn findings_explain_themselves() {
    let report = run(
        "--http-status 400",
        r#"{"code": 404, "status": "not found", "message": "Gone.", "details": [
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retry_delay": "5s"}]}"#,
    );
    let messages: Vec<String> = report.findings.iter().map(|f| format!("{} {}", f.rule_id(), f.message())).collect();
    assert_eq!(
        messages,
        [
            "cudo/code-mirrors-http-status `code` is 404 but the HTTP status is 400",
            "cudo/status-unknown `not found` is not a canonical code name; did you mean `NOT_FOUND`?",
            "proto3/proto-field-name `retry_delay` is the proto name; proto3 JSON writes `retryDelay`",
            "aip193/error-info-missing no detail is an ErrorInfo; every error needs a google.rpc.ErrorInfo",
        ]
    );
    let finding = &report.findings[0];
    assert_eq!(finding.source().as_str(), "CUDO page");
    assert_eq!(
        finding.to_string(),
        "error[cudo/code-mirrors-http-status]: `code` is 404 but the HTTP status is 400 at /code"
    );
}

// The providers' own examples.

fn spec_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/spec")
}

/// Each example body: its file, the HTTP status it is linted with (0 when
/// the page gives none), and every finding expected, in order.
static SPEC_EXAMPLES: &[(&str, u16, &[&str])] = &[
    (
        "cudo-0-intro-400-invalid-argument.json",
        400,
        &["proto3/detail-schema /details/1/metadata/availableMachineTypes"],
    ),
    ("cudo-1-400-invalid-argument.json", 400, &["aip193/error-info-missing /details"]),
    (
        "cudo-2-400-out-of-range.json",
        400,
        &[
            "aip193/error-info-missing /details",
            "aip193/message-value-not-in-metadata /message",
            "aip193/message-value-not-in-metadata /message",
        ],
    ),
    ("cudo-3-409-failed-precondition.json", 409, &[]),
    ("cudo-4-404-not-found.json", 404, &[]),
    (
        "cudo-5-429-resource-exhausted.json",
        429,
        &[
            "aip193/error-info-missing /details",
            "aip193/message-value-not-in-metadata /message",
            "aip193/message-value-not-in-metadata /message",
            "http/retry-after-missing header:retry-after",
        ],
    ),
    (
        "cudo-6-503-unavailable.json",
        503,
        &["aip193/error-info-missing /details", "http/retry-after-missing header:retry-after"],
    ),
    ("cudo-7-500-internal.json", 500, &["aip193/error-info-missing /details"]),
    ("gcore-table-401-credentials-not-provided.json", 401, &[]),
    ("gcore-table-401-bad-permanent-token.json", 401, &[]),
    ("gcore-table-401-token-invalid-or-expired.json", 401, &[]),
    ("gcore-table-401-wrong-auth-scheme.json", 401, &[]),
    ("gcore-live-quota-limit-exceed.json", 0, &[]),
    ("gcore-live-validation-error.json", 400, &[]),
    ("gcore-live-validation-error-name-template.json", 400, &["gcore/request-id-missing "]),
    ("gcore-live-not-found.json", 404, &[]),
];

fn lint_spec_example(file: &str, http_status: u16) -> Report {
    let body = std::fs::read(spec_dir().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    lint_with(&LintOptions::new().now(now()), http_status, &HeaderMap::new(), &body)
}

#[test]
fn the_spec_pages_examples_have_exactly_the_recorded_findings() {
    for (file, http_status, expected) in SPEC_EXAMPLES {
        let report = lint_spec_example(file, *http_status);
        let envelope = if file.starts_with("gcore") { Envelope::Gcore } else { Envelope::Aip193 };
        assert_eq!(report.envelope, envelope, "{file}");
        assert_eq!(lines(&report), *expected, "{file}");
    }
    let mut files: Vec<String> = std::fs::read_dir(spec_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".json"))
        .collect();
    files.sort();
    let mut listed: Vec<String> = SPEC_EXAMPLES.iter().map(|(f, _, _)| (*f).to_owned()).collect();
    listed.sort();
    assert_eq!(files, listed, "every example file is linted");
}

/// The rows of the findings table in `docs/lint/spec-examples.md`:
/// `| `file` | HTTP | `rule` | `location` | severity |`.
#[test]
fn spec_examples_md_records_the_same_findings() {
    let page = std::fs::read_to_string(docs_dir().join("spec-examples.md")).unwrap();
    let mut recorded: Vec<(String, String)> = Vec::new();
    for line in page.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() < 6 || !cells[1].starts_with('`') || !cells[1].ends_with(".json`") {
            continue;
        }
        let file = cells[1].trim_matches('`').to_owned();
        let finding = match cells[3] {
            "none" => String::new(),
            rule => format!("{} {}", rule.trim_matches('`'), cells[4].trim_matches('`')),
        };
        recorded.push((file, finding));
    }
    let mut actual: Vec<(String, String)> = Vec::new();
    for (file, http_status, _) in SPEC_EXAMPLES {
        let report = lint_spec_example(file, *http_status);
        let found = lines(&report);
        if found.is_empty() {
            actual.push(((*file).to_owned(), String::new()));
        }
        for line in found {
            let line = if line.ends_with(' ') { format!("{line}(body)") } else { line };
            actual.push(((*file).to_owned(), line));
        }
    }
    assert_eq!(recorded, actual);
}

// The rule pages.

fn docs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/lint")
}

/// A page's Bad or Fixed section: its `Lint with:` arguments and its body.
fn section(page: &str, heading: &str, file: &str) -> (String, String) {
    let start = page.find(&format!("\n## {heading}\n")).unwrap_or_else(|| panic!("{file}: no `## {heading}`"));
    let rest = &page[start + heading.len() + 5..];
    let rest = &rest[..rest.find("\n## ").unwrap_or(rest.len())];
    let args = rest
        .lines()
        .find_map(|l| l.strip_prefix("Lint with: `").and_then(|l| l.strip_suffix('`')))
        .unwrap_or_else(|| panic!("{file}: `## {heading}` has no `Lint with:` line"));
    let fence = rest.find("```").unwrap_or_else(|| panic!("{file}: `## {heading}` has no body"));
    let after_info = fence + rest[fence..].find('\n').unwrap() + 1;
    let end = after_info + rest[after_info..].find("\n```").unwrap_or_else(|| panic!("{file}: unclosed fence"));
    (args.to_owned(), rest[after_info..end].to_owned())
}

#[test]
fn every_rule_has_a_page_and_every_page_names_a_rule() {
    let mut pages: Vec<String> = std::fs::read_dir(docs_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".md") && name != "README.md" && name != "spec-examples.md")
        .collect();
    pages.sort();
    let mut expected: Vec<String> =
        RULES.iter().map(|r| r.doc_path().trim_start_matches("docs/lint/").to_owned()).collect();
    expected.sort();
    assert_eq!(pages, expected);
    let index = std::fs::read_to_string(docs_dir().join("README.md")).unwrap();
    for rule in RULES {
        let link = format!("[`{}`]({})", rule.id, rule.doc_path().trim_start_matches("docs/lint/"));
        assert!(index.contains(&link), "README.md does not list {}", rule.id);
    }
}

#[test]
fn each_page_states_its_rule_and_its_bodies_show_exactly_that_rule() {
    for rule in RULES {
        let file = rule.doc_path();
        let page = std::fs::read_to_string(docs_dir().join(file.trim_start_matches("docs/lint/"))).unwrap();
        let mut lines_of_page = page.lines().filter(|l| !l.is_empty());
        assert_eq!(lines_of_page.next(), Some(format!("# {}", rule.id).as_str()), "{file}");
        let stated = format!("**{}.** Severity: {}. Source: {}.", rule.title, rule.severity, rule.source);
        assert_eq!(lines_of_page.next(), Some(stated.as_str()), "{file}");
        let mut help = rule.help.to_owned();
        help[..1].make_ascii_uppercase();
        assert!(page.trim_end().ends_with(&format!("## How to fix\n\n{help}.")), "{file}: the help differs");

        let (args, bad) = section(&page, "Bad", &file);
        let report = run(&args, &bad);
        let rules: Vec<&str> = report.findings.iter().map(|f| f.rule_id()).collect();
        assert!(!rules.is_empty() && rules.iter().all(|id| *id == rule.id), "{file}: the bad body gives {rules:?}");

        let (args, fixed) = section(&page, "Fixed", &file);
        let report = run(&args, &fixed);
        assert_eq!(lines(&report), Vec::<String>::new(), "{file}: the fixed body");
    }
}
