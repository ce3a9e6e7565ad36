//! `canon call`: an HTTP request, like curl, that turns any error body into
//! a Status and retries by the server's hints (through `canon-reqwest`).
//!
//! ```text
//! canon call METHOD URL [-d BODY|@FILE|@-] [-H 'Name: value']... [--retry cudo|gcore|aip194-strict|none|default]
//!            [--deadline 30s] [--format text|json] [--idempotency-key KEY | --generate-idempotency-key]
//! ```
//!
//! # Where things go
//!
//! - **stderr**: one line per attempt, as it ends: the attempt number, the
//!   status, the request id, and the wait with its reason (`hint`, the
//!   server's RetryInfo or `Retry-After`; `backoff`; `elsewhere`), or why
//!   the engine gave up. A POST or PATCH without an idempotency key is sent
//!   once; the line says so, and how to make it retryable.
//! - **stdout**, text mode: the response body on success; on failure, the
//!   text `canon explain` gives for the last error response (or the same
//!   kind of report for a transport failure), so that it can be piped.
//! - **stdout**, JSON mode: one object, `{"attempts": [...], "outcome": {...}}`.
//!   Each attempt has `attempt`, `http_status`, `code`, `wait_ms`,
//!   `wait_reason` and `request_id` (plus `placement` and `transport`).
//!   The outcome has `ok` and `http_status`; on success `request_id` and
//!   `body` (the body as text); on failure every field of
//!   `canon explain --format json` plus `error_kind`, `give_up` and `error`
//!   (and `transport` for a transport failure). Fields are only ever added.
//!
//! A request body from `-d` is sent as `application/json` unless a
//! `Content-Type` header is given. Retries have no budget: a one-shot tool
//! earns none (see `canon_retry::budget`).
//!
//! # Exit codes
//!
//! Stable; for an error response, the category of its advice (also when
//! the engine gave up for the deadline after it).
//!
//! | code | meaning |
//! |------|---------|
//! | 0 | success (2xx) |
//! | 1 | I/O error (an unreadable body file, a closed output) |
//! | 2 | usage error |
//! | 3 | validation |
//! | 4 | auth |
//! | 5 | quota_or_capacity |
//! | 6 | transient |
//! | 7 | not_found |
//! | 8 | conflict |
//! | 9 | unknown |
//! | 10 | transport failure: no error response (connect, reset, timeout, truncated body, a request that could not be sent) |

use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use canon::Category;
use canon_reqwest::{AttemptReport, AttemptStatus, Client, Error, ErrorKind, GiveUpReason, Policy, TransportKind};
use http::header::CONTENT_TYPE;
use http::{HeaderName, HeaderValue, Method};
use reqwest::Url;
use serde_json::{Value, json};

use crate::explain::{explain_json, explain_text};
use crate::input;
use crate::output::{self, Format, UsageError};

/// Exit code: the request succeeded (2xx).
pub(crate) const EXIT_OK: u8 = 0;
/// Exit code: the last error was a validation error (fix the request).
pub(crate) const EXIT_VALIDATION: u8 = 3;
/// Exit code: the last error was about credentials or permission.
pub(crate) const EXIT_AUTH: u8 = 4;
/// Exit code: a quota or capacity was exhausted.
pub(crate) const EXIT_QUOTA_OR_CAPACITY: u8 = 5;
/// Exit code: a transient error outlasted the retries or the deadline.
pub(crate) const EXIT_TRANSIENT: u8 = 6;
/// Exit code: the resource was not found.
pub(crate) const EXIT_NOT_FOUND: u8 = 7;
/// Exit code: the request conflicted with the resource's state.
pub(crate) const EXIT_CONFLICT: u8 = 8;
/// Exit code: an error of no better category.
pub(crate) const EXIT_UNKNOWN: u8 = 9;
/// Exit code: no error response arrived (connect, reset, timeout, a body
/// cut short, or a request that could not be sent).
pub(crate) const EXIT_TRANSPORT: u8 = 10;

const AFTER_HELP: &str = "\
Output:
  stderr     one line per attempt: number, status, request id, and the wait
             and its reason (hint, backoff, elsewhere) or why it gave up
  stdout     text: the response body on success; on failure the text of
             `canon explain` for the last error response
             json: {\"attempts\": [...], \"outcome\": {...}}

Exit codes:
  0   success (2xx)
  1   I/O error (an unreadable body file, a closed output)
  2   usage error
  3   validation         (the request is wrong; fix it)
  4   auth               (credentials or permission)
  5   quota_or_capacity  (a quota or capacity is exhausted)
  6   transient          (a temporary error outlasted the retries or the deadline)
  7   not_found
  8   conflict
  9   unknown
  10  transport failure  (no error response: connect, reset, timeout, truncated body)";

/// Arguments of `canon call`.
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub(crate) struct CallArgs {
    /// The HTTP method: GET, POST, PUT, PATCH, DELETE, HEAD, ...
    method: String,
    /// The URL, http:// or https://.
    url: String,
    /// The request body: the text itself, @FILE to read a file, or @- to
    /// read standard input. Sent as application/json unless a Content-Type
    /// header is given.
    #[arg(short = 'd', long = "data", value_name = "BODY|@FILE")]
    data: Option<String>,
    /// A request header, 'Name: value' (repeatable).
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    headers: Vec<String>,
    /// The retry policy: a provider's recommendation, canon's default, or
    /// none (one attempt).
    #[arg(long, value_enum, default_value_t = RetryPreset::Default)]
    retry: RetryPreset,
    /// The overall deadline, attempts and waits included, such as 30s,
    /// 500ms, 2m or 1m30s; the policy's when absent.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    deadline: Option<Duration>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// An idempotency key, sent on every attempt: it makes a POST or PATCH
    /// retryable.
    #[arg(long, value_name = "KEY", conflicts_with = "generate_idempotency_key")]
    idempotency_key: Option<String>,
    /// Generate an idempotency key (a UUID v4), sent on every attempt.
    #[arg(long)]
    generate_idempotency_key: bool,
    /// The header the idempotency key is sent in.
    #[arg(long, value_name = "NAME", default_value = canon_reqwest::DEFAULT_IDEMPOTENCY_HEADER)]
    idempotency_header: String,
}

/// The retry policies `--retry` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum RetryPreset {
    /// canon's own: 5 attempts, 60 s, backoff from 500 ms, doubling.
    Default,
    /// The CUDO page's: 8 attempts, 120 s, backoff 500 ms ×1.6 up to 30 s.
    Cudo,
    /// The Gcore page's: 3 retries waiting 1-5 s, 60 s.
    Gcore,
    /// AIP-194 to the letter: only UNAVAILABLE is retried.
    Aip194Strict,
    /// One attempt, no retry.
    None,
}

impl RetryPreset {
    fn policy(self) -> Policy {
        match self {
            RetryPreset::Default => Policy::default(),
            RetryPreset::Cudo => Policy::cudo(),
            RetryPreset::Gcore => Policy::gcore(),
            RetryPreset::Aip194Strict => Policy::aip194_strict(),
            RetryPreset::None => Policy::default().to_builder().max_attempts(1).build().expect("one attempt is valid"),
        }
    }
}

/// Parses a duration: one or more `<number><unit>` with the units `ms`,
/// `s`, `m` and `h`, such as `30s`, `500ms`, `1m30s`, `1.5s`.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let invalid = || format!("`{text}` is not a duration such as 30s, 500ms, 2m or 1m30s");
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total = Duration::ZERO;
    while !rest.is_empty() {
        let number_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).ok_or_else(invalid)?;
        let (number, after) = rest.split_at(number_len);
        let unit_len = after.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        let number: f64 = number.parse().map_err(|_| invalid())?;
        let seconds = match unit {
            "ms" => number / 1000.0,
            "s" => number,
            "m" => number * 60.0,
            "h" => number * 3600.0,
            _ => return Err(invalid()),
        };
        total += Duration::try_from_secs_f64(seconds).map_err(|_| invalid())?;
        rest = after;
    }
    Ok(total)
}

/// What `-d` names: the text, a file, or standard input.
fn read_data(data: &str) -> anyhow::Result<Vec<u8>> {
    match data.strip_prefix('@') {
        Some(path) => input::read_body(Some(Path::new(path))),
        None => Ok(data.as_bytes().to_vec()),
    }
}

pub(crate) fn run(args: &CallArgs) -> anyhow::Result<ExitCode> {
    let method = Method::from_bytes(args.method.to_ascii_uppercase().as_bytes())
        .map_err(|_| UsageError(format!("`{}` is not an HTTP method", args.method)))?;
    let url = Url::parse(&args.url).map_err(|e| UsageError(format!("`{}` is not a URL: {e}", args.url)))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(UsageError(format!("`{}` is not an http:// or https:// URL", args.url)).into());
    }
    let idempotency_header = HeaderName::from_bytes(args.idempotency_header.as_bytes())
        .map_err(|_| UsageError(format!("`{}` is not a valid header name", args.idempotency_header)))?;
    let mut headers = input::parse_headers(&args.headers)?;
    let body = args.data.as_deref().map(read_data).transpose()?;
    if body.is_some() && !headers.contains_key(CONTENT_TYPE) {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }

    let reports: Arc<Mutex<Vec<AttemptReport>>> = Arc::default();
    let sink = Arc::clone(&reports);
    let mut builder =
        Client::builder().policy(args.retry.policy()).no_budget().idempotency_header(idempotency_header).on_attempt(
            move |report| {
                let _ = writeln!(io::stderr(), "{}", attempt_line(report));
                sink.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(report.clone());
            },
        );
    if let Some(deadline) = args.deadline {
        builder = builder.deadline(deadline);
    }
    let client = builder.build().map_err(|e| UsageError(e.to_string()))?;

    let mut request = client.request(method, url).headers(headers);
    if let Some(body) = body {
        request = request.body(body);
    }
    if let Some(key) = &args.idempotency_key {
        request = request.idempotency_key(key.clone());
    } else if args.generate_idempotency_key {
        request = request.generate_idempotency_key();
    }

    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().context("cannot start the async runtime")?;
    let result = runtime.block_on(request.send_buffered());
    let reports = std::mem::take(&mut *reports.lock().unwrap_or_else(std::sync::PoisonError::into_inner));

    match result {
        Ok(response) => {
            match args.format {
                Format::Text => {
                    let mut stdout = io::stdout().lock();
                    stdout.write_all(response.body())?;
                    stdout.flush()?;
                }
                Format::Json => output::print_json(&json!({
                    "attempts": attempts_json(&reports),
                    "outcome": {
                        "ok": true,
                        "http_status": response.status().as_u16(),
                        "request_id": response.request_id(),
                        "body": String::from_utf8_lossy(response.body()),
                    },
                }))?,
            }
            Ok(ExitCode::from(EXIT_OK))
        }
        Err(error) => {
            if error.give_up().is_none() {
                // Not sent at all: no attempt line said why.
                let _ = writeln!(io::stderr(), "canon: {error}");
            }
            match args.format {
                Format::Text => output::print(&failure_text(&error))?,
                Format::Json => output::print_json(&json!({
                    "attempts": attempts_json(&reports),
                    "outcome": failure_json(&error),
                }))?,
            }
            Ok(ExitCode::from(exit_code(&error)))
        }
    }
}

/// The stderr line for one attempt, with advice when a POST was not retried
/// for want of a key.
fn attempt_line(report: &AttemptReport) -> String {
    let mut line = report.to_string();
    if report.give_up.is_some_and(|g| g.reason == GiveUpReason::NotIdempotent) {
        line.push_str(
            "\n  (a POST or PATCH is retried only with an idempotency key: \
             pass --idempotency-key KEY or --generate-idempotency-key)",
        );
    }
    line
}

/// The exit code for a failure. See the [module docs](self).
fn exit_code(error: &Error) -> u8 {
    let Some(response) = error.response() else { return EXIT_TRANSPORT };
    match response.advice().category {
        Category::Validation => EXIT_VALIDATION,
        Category::Auth => EXIT_AUTH,
        Category::QuotaOrCapacity => EXIT_QUOTA_OR_CAPACITY,
        Category::Transient => EXIT_TRANSIENT,
        Category::NotFound => EXIT_NOT_FOUND,
        Category::Conflict => EXIT_CONFLICT,
        Category::Unknown => EXIT_UNKNOWN,
    }
}

fn attempts_json(reports: &[AttemptReport]) -> Value {
    reports
        .iter()
        .map(|report| {
            let record = &report.record;
            let code = match record.status {
                AttemptStatus::Success => Some(canon::Code::Ok),
                _ => record.status.code(),
            };
            let transport = match record.status {
                AttemptStatus::Transport(kind) => Some(kind.as_str()),
                _ => None,
            };
            json!({
                "attempt": record.number,
                "http_status": report.http_status.map(|s| s.as_u16()),
                "code": code.map(|c| c.name()),
                "wait_ms": record.wait.map(millis),
                "wait_reason": record.wait_reason.map(|r| r.as_str()),
                "request_id": record.request_id,
                "placement": record.placement.as_ref().map(ToString::to_string),
                "transport": transport,
            })
        })
        .collect()
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// What a transport failure means, as the advice would say it.
fn transport_advice(kind: Option<TransportKind>) -> (&'static str, &'static str) {
    match kind {
        Some(TransportKind::Connect) => (
            "no connection could be made (refused, unreachable, or the name did not resolve)",
            "Check the URL and the network, then retry.",
        ),
        Some(TransportKind::Reset) => (
            "the connection was reset or closed before the response arrived",
            "Retry with backoff; send an idempotency key with a POST so that it can be retried safely.",
        ),
        Some(TransportKind::Timeout) => {
            ("no response arrived within the attempt's timeout", "Retry with backoff, or allow a longer --deadline.")
        }
        Some(TransportKind::TruncatedBody) => (
            "the response body ended before its declared length",
            "Retry with backoff; send an idempotency key with a POST so that it can be retried safely.",
        ),
        _ => ("the request failed before a response arrived", "Retry with backoff."),
    }
}

/// The failure, for a person: `canon explain`'s text for an error
/// response, the same headings for a transport failure.
fn failure_text(error: &Error) -> String {
    if let Some(response) = error.response() {
        return explain_text(response.decoded(), &response.advice());
    }
    let kind = error.transport();
    let (what, action) = transport_advice(kind);
    let code = kind.map_or(canon::Code::Unavailable, TransportKind::code);
    let mut out = String::new();
    match kind {
        Some(kind) => {
            let _ = writeln!(out, "{code} (transport failure: {kind})");
        }
        None => {
            let _ = writeln!(out, "{code} (the request could not be sent)");
        }
    }
    let _ = writeln!(out, "  {error}");
    let _ = writeln!(out);
    let _ = writeln!(out, "What happened: {what}");
    let _ = writeln!(out, "Category:      {}", error.category());
    let _ =
        writeln!(out, "Retry:         yes, with capped exponential backoff and jitter, if the request is idempotent");
    let _ = writeln!(out, "What to do:    {action}");
    match error.request_id() {
        Some(id) => {
            let _ = writeln!(out, "Request id:    {id} (quote it to support)");
        }
        None => {
            let _ = writeln!(out, "Request id:    none given");
        }
    }
    out
}

/// The outcome of a failure, for a script: `canon explain`'s fields and why
/// the engine stopped.
fn failure_json(error: &Error) -> Value {
    let mut outcome = match error.response() {
        Some(response) => explain_json(response.decoded(), &response.advice()),
        None => {
            let kind = error.transport();
            let (_, action) = transport_advice(kind);
            json!({
                "dialect": null,
                "code": kind.map_or(canon::Code::Unavailable, TransportKind::code).name(),
                "http_status": null,
                "message": error.to_string(),
                "category": error.category().as_str(),
                "retry": if error.kind() == ErrorKind::Request { "never" } else { "backoff" },
                "retryable": error.kind() != ErrorKind::Request,
                "retry_delay_ms": null,
                "action": action,
                "request_id": error.request_id(),
                "reason": null,
                "domain": null,
                "field_violations": [],
                "details": [],
                "provider": null,
                "max_retries": null,
                "alternatives": [],
                "additional_errors": [],
                "transport": kind.map(TransportKind::as_str),
            })
        }
    };
    if let Value::Object(fields) = &mut outcome {
        fields.insert("ok".into(), Value::Bool(false));
        fields.insert("error_kind".into(), error.kind().as_str().into());
        fields.insert("give_up".into(), error.give_up_reason().map(|r| r.as_str()).into());
        fields.insert("error".into(), error.to_string().into());
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_durations() {
        let table = [
            ("30s", Some(30_000)),
            ("500ms", Some(500)),
            ("2m", Some(120_000)),
            ("1m30s", Some(90_000)),
            ("1.5s", Some(1_500)),
            ("1h", Some(3_600_000)),
            ("", None),
            ("30", None),
            ("s", None),
            ("3 s", None),
            ("10d", None),
            ("-1s", None),
        ];
        for (text, millis) in table {
            assert_eq!(parse_duration(text).ok().map(|d| d.as_millis() as u64), millis, "{text}");
        }
    }
}
