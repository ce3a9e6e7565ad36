//! `canon explain`: an error body, explained for a person or a script.
//!
//! The JSON output is a contract: one object with `dialect`, `code`,
//! `http_status`, `message`, `category`, `retry`, `retryable`,
//! `retry_delay_ms`, `action`, `request_id`, `reason`, `domain`,
//! `field_violations` and `details`, plus `provider`, `max_retries`,
//! `alternatives` and `additional_errors`. Fields are only ever added.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use canon::{Advice, Decoded, RetryKind};
use serde_json::{Value, json};

use crate::input;
use crate::output::{self, Format};

/// Arguments of `canon explain`.
#[derive(Debug, clap::Args)]
pub(crate) struct ExplainArgs {
    /// The response body; standard input when absent or `-`.
    file: Option<PathBuf>,
    /// The HTTP status the body came with; when absent, the body decides.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(100..=599))]
    http_status: Option<u16>,
    /// A response header, `'Name: value'` (repeatable), such as Retry-After.
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    headers: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

pub(crate) fn run(args: &ExplainArgs) -> anyhow::Result<ExitCode> {
    let headers = input::parse_headers(&args.headers)?;
    let body = input::read_body(args.file.as_deref())?;
    let decoded = canon::decode(args.http_status.unwrap_or(0), &headers, &body);
    let advice = decoded.advice();
    match args.format {
        Format::Text => output::print(&explain_text(&decoded, &advice))?,
        Format::Json => output::print_json(&explain_json(&decoded, &advice))?,
    }
    Ok(ExitCode::SUCCESS)
}

/// The JSON report of a decoded error.
pub(crate) fn explain_json(decoded: &Decoded, advice: &Advice<'_>) -> Value {
    let status = &decoded.status;
    let info = status.error_info();
    json!({
        "dialect": decoded.dialect.as_str(),
        "code": status.code().name(),
        "http_status": decoded.http_status,
        "message": status.message(),
        "category": advice.category.as_str(),
        "retry": advice.retry.as_str(),
        "retryable": advice.retryable(),
        "retry_delay_ms": advice.retry_delay.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        "action": advice.action,
        "request_id": decoded.request_id(),
        "reason": info.map(|i| i.reason.as_ref()).filter(|r| !r.is_empty()),
        "domain": info.map(|i| i.domain.as_ref()).filter(|d| !d.is_empty()),
        "field_violations": advice
            .field_violations
            .iter()
            .map(|v| json!({"field": v.field, "description": v.description}))
            .collect::<Vec<_>>(),
        "details": canon::encode::details_json(status),
        "provider": advice.provider.as_str(),
        "max_retries": advice.max_retries,
        "alternatives": advice.alternatives,
        "additional_errors": decoded
            .additional
            .iter()
            .map(|s| json!({"code": s.code().name(), "message": s.message()}))
            .collect::<Vec<_>>(),
    })
}

/// Renders a delay for a person: `30 s`, `1.5 s`, `250 ms`.
pub(crate) fn human_duration(delay: Duration) -> String {
    if delay.as_millis() < 1000 {
        format!("{} ms", delay.as_millis())
    } else if delay.subsec_millis() == 0 {
        format!("{} s", delay.as_secs())
    } else {
        format!("{:.1} s", delay.as_secs_f64())
    }
}

/// The text report of a decoded error, for a person.
pub(crate) fn explain_text(decoded: &Decoded, advice: &Advice<'_>) -> String {
    let status = &decoded.status;
    let mut out = String::new();
    let _ = writeln!(out, "{} (HTTP {}, {} dialect)", status.code(), decoded.http_status, decoded.dialect);
    if !status.message().is_empty() {
        let _ = writeln!(out, "  {}", status.message());
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "What happened: {}", status.code().description());
    if let Some(info) = status.error_info().filter(|i| !i.reason.is_empty()) {
        let domain = if info.domain.is_empty() { String::new() } else { format!(" ({})", info.domain) };
        let _ = writeln!(out, "Reason:        {}{domain}", info.reason);
    }
    let _ = writeln!(out, "Category:      {}", advice.category);
    let _ = writeln!(out, "Retry:         {}", retry_sentence(advice));
    let _ = writeln!(out, "What to do:    {}", advice.action);
    if !advice.field_violations.is_empty() {
        let _ = writeln!(out, "Fields:");
        for violation in &advice.field_violations {
            let _ = writeln!(out, "  - {}: {}", violation.field, violation.description);
        }
    }
    if let Some(quota) = status.quota_failure() {
        for violation in &quota.violations {
            let _ = writeln!(out, "Quota:         {}: {}", violation.subject, violation.description);
        }
    }
    if let Some(info) = status.error_info().filter(|i| !i.metadata.is_empty()) {
        let _ = writeln!(out, "Metadata:");
        for (key, value) in &info.metadata {
            let _ = writeln!(out, "  {key} = {value}");
        }
    }
    if let Some(help) = status.help() {
        for link in &help.links {
            let _ = writeln!(out, "Help:          {} {}", link.url, link.description);
        }
    }
    let other = status.details().iter().filter(|d| matches!(d, canon::Detail::Unknown(_))).count();
    if other > 0 {
        let _ = writeln!(out, "Other details: {other} of a type canon does not know (kept; see --format json)");
    }
    for detail in status.details() {
        if let canon::Detail::Nonconforming(n) = detail {
            for problem in n.problems() {
                let _ = writeln!(out, "Note:          {} breaks its schema at {problem}", n.kind());
            }
        }
    }
    for extra in &decoded.additional {
        let _ = writeln!(out, "Also:          {extra}");
    }
    match decoded.request_id() {
        Some(id) => {
            let _ = writeln!(out, "Request id:    {id} (quote it to support)");
        }
        None => {
            let _ = writeln!(out, "Request id:    none given");
        }
    }
    out
}

fn retry_sentence(advice: &Advice<'_>) -> String {
    let limit = advice.max_retries.map(|n| format!(", at most {n} times")).unwrap_or_default();
    match advice.retry {
        RetryKind::Never => "no; the same request will fail the same way".to_owned(),
        RetryKind::Backoff => format!("yes, with capped exponential backoff and jitter{limit}"),
        RetryKind::AfterDelay => format!(
            "yes, after {} (the server's hint), then with backoff{limit}",
            advice.retry_delay.map(human_duration).unwrap_or_default()
        ),
        RetryKind::Elsewhere if advice.alternatives.is_empty() => {
            "yes, but in another placement (region, flavor or machine type)".to_owned()
        }
        RetryKind::Elsewhere => format!("yes, but in another placement: {}", advice.alternatives.join(", ")),
        RetryKind::AfterRefetch => "yes, after re-reading the resource's current state".to_owned(),
    }
}
