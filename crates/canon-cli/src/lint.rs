//! `canon lint`: check an error response against AIP-193 and the provider
//! envelopes, for people and for CI.
//!
//! The text output reads like a compiler's: one block per finding, then a
//! summary line. The JSON output is a contract: an array of objects with
//! `rule`, `severity`, `location`, `message` and `source` (and `title`,
//! `help`, `doc`); fields are only ever added. `--list-rules` prints the
//! rule table instead, as text or as an array of objects with `id`,
//! `severity`, `source`, `title`, `summary`, `help` and `doc`.
//!
//! Exit codes: 0 when there is no error, 1 when there is one (with
//! `--deny-warnings`, a warning counts as one), 2 on a usage error,
//! including a body file that cannot be read.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use canon::lint::{self, Envelope, Finding, LintOptions, RULES, Report, Rule, Severity};
use serde_json::{Value, json};

use crate::input;
use crate::output::{self, Format, UsageError};

/// Which envelope's rules apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum DialectArg {
    /// The envelope of the dialect the body is recognised as.
    Auto,
    /// The CUDO page's bare AIP-193 body, `{code, status, message, details}`.
    Aip193,
    /// Google's wrapped form, `{"error": {...}}`.
    Google,
    /// The Gcore page's `{exception_class, message, request_id, ...}`.
    Gcore,
}

impl DialectArg {
    fn envelope(self) -> Option<Envelope> {
        match self {
            DialectArg::Auto => None,
            DialectArg::Aip193 => Some(Envelope::Aip193),
            DialectArg::Google => Some(Envelope::Google),
            DialectArg::Gcore => Some(Envelope::Gcore),
        }
    }
}

/// Arguments of `canon lint`.
#[derive(Debug, clap::Args)]
pub(crate) struct LintArgs {
    /// The response body; standard input when absent or `-`.
    file: Option<PathBuf>,
    /// The HTTP status the body came with; some rules check less without it.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(100..=599))]
    http_status: Option<u16>,
    /// A response header, `'Name: value'` (repeatable), such as Retry-After.
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    headers: Vec<String>,
    /// Which envelope's rules apply.
    #[arg(long, value_enum, default_value_t = DialectArg::Auto)]
    dialect: DialectArg,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Treat warnings as errors (for the exit code and the output).
    #[arg(long)]
    deny_warnings: bool,
    /// Print the rule table instead of linting.
    #[arg(long, conflicts_with_all = ["file", "http_status", "headers", "deny_warnings", "explain"])]
    list_rules: bool,
    /// Print what one rule checks and why, such as `aip193/error-info-missing`.
    #[arg(long, value_name = "RULE", conflicts_with_all = ["file", "http_status", "headers", "deny_warnings"])]
    explain: Option<String>,
}

pub(crate) fn run(args: &LintArgs) -> anyhow::Result<ExitCode> {
    if args.list_rules {
        match args.format {
            Format::Text => output::print(&rules_text())?,
            Format::Json => output::print_json(&Value::Array(RULES.iter().map(|r| rule_json(r)).collect()))?,
        }
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(id) = &args.explain {
        let rule = lint::rule(id).ok_or_else(|| UsageError(format!("`{id}` is not a rule; see --list-rules")))?;
        match args.format {
            Format::Text => output::print(&explain_text(rule))?,
            Format::Json => output::print_json(&rule_json(rule))?,
        }
        return Ok(ExitCode::SUCCESS);
    }
    let headers = input::parse_headers(&args.headers)?;
    // A body that cannot be read is a usage error (exit 2), so that CI can
    // tell "the lint failed" (1) from "the lint did not run".
    let body = input::read_body(args.file.as_deref()).map_err(|e| UsageError(format!("{e:#}")))?;
    let mut options = LintOptions::new();
    if let Some(envelope) = args.dialect.envelope() {
        options = options.envelope(envelope);
    }
    let report = lint::lint_with(&options, args.http_status.unwrap_or(0), &headers, &body);
    let severity = |finding: &Finding| {
        if args.deny_warnings { Severity::Error } else { finding.severity() }
    };
    match args.format {
        Format::Text => output::print(&report_text(&report, args.deny_warnings))?,
        Format::Json => {
            output::print_json(&Value::Array(report.findings.iter().map(|f| finding_json(f, severity(f))).collect()))?
        }
    }
    let failed = report.findings.iter().any(|f| severity(f) == Severity::Error);
    Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// One finding as JSON: the contract's fields, then the rule's texts.
fn finding_json(finding: &Finding, severity: Severity) -> Value {
    let rule = finding.rule();
    json!({
        "rule": rule.id,
        "severity": severity.as_str(),
        "location": finding.location(),
        "message": finding.message(),
        "source": rule.source.as_str(),
        "title": rule.title,
        "help": rule.help,
        "doc": rule.doc_path(),
    })
}

fn rule_json(rule: &Rule) -> Value {
    json!({
        "id": rule.id,
        "severity": rule.severity.as_str(),
        "source": rule.source.as_str(),
        "title": rule.title,
        "summary": rule.summary,
        "help": rule.help,
        "doc": rule.doc_path(),
    })
}

/// The findings as a compiler would print them, and a summary line.
fn report_text(report: &Report, deny_warnings: bool) -> String {
    let mut out = String::new();
    let mut errors = 0;
    let mut warnings = 0;
    for finding in &report.findings {
        let rule = finding.rule();
        let denied = deny_warnings && finding.severity() == Severity::Warning;
        let severity = if denied { Severity::Error } else { finding.severity() };
        match severity {
            Severity::Error => errors += 1,
            Severity::Warning => warnings += 1,
        }
        let location = if finding.location().is_empty() { "(body)" } else { finding.location() };
        let _ = writeln!(out, "{severity}[{}]: {}", rule.id, rule.title);
        let _ = writeln!(out, "  --> {location}");
        let _ = writeln!(out, "  = note: {}", finding.message());
        if denied {
            let _ = writeln!(out, "  = note: a warning, denied by --deny-warnings");
        }
        let _ = writeln!(out, "  = help: {}", rule.help);
        let _ = writeln!(out, "  = note: rule from {}; see {}", rule.source, rule.doc_path());
        let _ = writeln!(out);
    }
    if report.http_status.is_none() {
        let _ = writeln!(
            out,
            "note: no --http-status given; `code` and the Gcore status table were checked against the body alone"
        );
    }
    let counts = if errors + warnings == 0 {
        "no findings".to_owned()
    } else {
        format!("{} {}, {} {}", errors, plural(errors, "error"), warnings, plural(warnings, "warning"))
    };
    let _ = writeln!(out, "canon lint: {counts} ({} envelope, {} dialect)", report.envelope, report.dialect);
    out
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 { word.to_owned() } else { format!("{word}s") }
}

/// The rule table, one rule a line.
fn rules_text() -> String {
    let width = RULES.iter().map(|r| r.id.len()).max().unwrap_or(0);
    let mut out = String::new();
    for rule in RULES {
        let (severity, source) = (rule.severity.as_str(), rule.source.as_str());
        let _ = writeln!(out, "{:<width$}  {severity:<7}  {source:<11}  {}", rule.id, rule.title);
    }
    out
}

fn explain_text(rule: &Rule) -> String {
    format!(
        "{}: {}\n\nSeverity: {}. Source: {}.\n\n{}\n\nHow to fix: {}.\nMore, with a bad body and its fix: {}\n",
        rule.id,
        rule.title,
        rule.severity,
        rule.source,
        rule.summary,
        rule.help,
        rule.doc_path()
    )
}
