//! `canon lint` as CI runs it: exit codes, `--deny-warnings`, and the
//! shape of the JSON output.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::Value;

/// What one run of the binary gave.
struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
}

fn canon(args: &[&str], stdin: &str) -> Outcome {
    let mut child = Command::new(env!("CARGO_BIN_EXE_canon"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    // The child may exit before reading (usage errors); a broken pipe is fine.
    let _ = child.stdin.take().expect("piped").write_all(stdin.as_bytes());
    let output = child.wait_with_output().expect("the binary finishes");
    Outcome {
        code: output.status.code().expect("an exit code"),
        stdout: String::from_utf8(output.stdout).expect("UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("UTF-8"),
    }
}

/// A body with no findings at HTTP 404.
const CLEAN: &str = r#"{"code": 404, "status": "NOT_FOUND", "message": "Cluster 'clu-1' not found.", "details": [
    {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "CLUSTER_NOT_FOUND",
     "domain": "compute.example.com", "metadata": {"clusterId": "clu-1"}}]}"#;

/// A body whose only finding is a warning at HTTP 404.
const WARNS: &str = r#"{"code": 404, "status": "NOT_FOUND", "message": "Cluster 'clu-1' not found.", "details": [
    {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "CLUSTER_NOT_FOUND",
     "domain": "compute.example.com", "metadata": {"cluster_id": "clu-1"}}]}"#;

/// The CUDO page's 500 example, with one error.
fn cudo_500() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../canon/tests/data/spec/cudo-7-500-internal.json")
}

#[test]
fn exit_codes_follow_the_findings_and_the_usage() {
    let file = cudo_500();
    let file = file.to_str().unwrap();
    let table: &[(&[&str], &str, i32)] = &[
        (&["lint", "--http-status", "404"], CLEAN, 0),
        (&["lint", "--http-status", "404", "-"], CLEAN, 0),
        (&["lint", "--http-status", "404"], WARNS, 0),
        (&["lint", "--http-status", "404", "--deny-warnings"], WARNS, 1),
        (&["lint", "--http-status", "404", "--deny-warnings"], CLEAN, 0),
        (&["lint", "--http-status", "500", file], "", 1),
        (&["lint", "--http-status", "400"], CLEAN, 1),
        (&["lint", "--http-status", "404", "--dialect", "gcore"], CLEAN, 1),
        (&["lint", "--list-rules"], "", 0),
        (&["lint", "--explain", "aip193/error-info-missing"], "", 0),
        // Usage errors: clap's, the headers', the file's and the rule's.
        (&["lint", "--dialect", "soap"], CLEAN, 2),
        (&["lint", "--http-status", "42"], CLEAN, 2),
        (&["lint", "--format", "xml"], CLEAN, 2),
        (&["lint", "-H", "no colon"], CLEAN, 2),
        (&["lint", "/no/such/body.json"], "", 2),
        (&["lint", "--explain", "aip193/no-such-rule"], "", 2),
        (&["lint", "--list-rules", "--deny-warnings"], "", 2),
    ];
    for (args, stdin, expected) in table {
        let outcome = canon(args, stdin);
        assert_eq!(outcome.code, *expected, "{args:?}\nstdout: {}\nstderr: {}", outcome.stdout, outcome.stderr);
    }
}

#[test]
fn json_output_is_an_array_of_stable_objects() {
    let outcome = canon(&["lint", "--http-status", "500", "--format", "json", cudo_500().to_str().unwrap()], "");
    assert_eq!(outcome.code, 1);
    let findings: Value = serde_json::from_str(&outcome.stdout).expect("JSON");
    let findings = findings.as_array().expect("an array");
    assert_eq!(findings.len(), 1);
    let finding = &findings[0];
    for (key, value) in [
        ("rule", "aip193/error-info-missing"),
        ("severity", "error"),
        ("location", "/details"),
        ("message", "there are no details; every error needs a google.rpc.ErrorInfo"),
        ("source", "AIP-193"),
        ("doc", "docs/lint/aip193-error-info-missing.md"),
    ] {
        assert_eq!(finding[key], value, "{key}");
    }

    let clean = canon(&["lint", "--http-status", "404", "--format", "json"], CLEAN);
    assert_eq!((clean.code, clean.stdout.trim()), (0, "[]"));
}

#[test]
fn deny_warnings_turns_warnings_into_errors_in_the_output_too() {
    let plain = canon(&["lint", "--http-status", "404", "--format", "json"], WARNS);
    let denied = canon(&["lint", "--http-status", "404", "--format", "json", "--deny-warnings"], WARNS);
    let severity = |outcome: &Outcome| -> Vec<String> {
        let findings: Value = serde_json::from_str(&outcome.stdout).unwrap();
        findings.as_array().unwrap().iter().map(|f| f["severity"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(severity(&plain), ["warning"]);
    assert_eq!(severity(&denied), ["error"]);

    let text = canon(&["lint", "--http-status", "404", "--deny-warnings"], WARNS);
    assert!(text.stdout.starts_with("error[aip193/metadata-key-not-camel-case]"), "{}", text.stdout);
    assert!(text.stdout.contains("denied by --deny-warnings"), "{}", text.stdout);
    assert!(text.stdout.ends_with("canon lint: 1 error, 0 warnings (aip193 envelope, aip193 dialect)\n"));
}

#[test]
fn text_output_reads_like_a_compiler() {
    let outcome = canon(&["lint", "--http-status", "500", cudo_500().to_str().unwrap()], "");
    let expected = "\
error[aip193/error-info-missing]: ErrorInfo is required on every error
  --> /details
  = note: there are no details; every error needs a google.rpc.ErrorInfo
  = help: add a google.rpc.ErrorInfo detail with reason, domain and metadata
  = note: rule from AIP-193; see docs/lint/aip193-error-info-missing.md

canon lint: 1 error, 0 warnings (aip193 envelope, aip193 dialect)
";
    assert_eq!(outcome.stdout, expected);

    let clean = canon(&["lint", "--http-status", "404"], CLEAN);
    assert_eq!(clean.stdout, "canon lint: no findings (aip193 envelope, aip193 dialect)\n");
}

#[test]
fn headers_and_dialects_reach_the_linter() {
    let unavailable = r#"{"code": 503, "status": "UNAVAILABLE", "message": "Down.", "details": [
        {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "DOWN", "domain": "x.example.com"},
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "5s"}]}"#;
    let rules = |args: &[&str], body: &str| -> Vec<String> {
        let outcome = canon(args, body);
        let findings: Value = serde_json::from_str(&outcome.stdout).unwrap();
        findings.as_array().unwrap().iter().map(|f| f["rule"].as_str().unwrap().to_owned()).collect()
    };
    let base = ["lint", "--format", "json", "--http-status", "503"];
    assert_eq!(rules(&base, unavailable), ["http/retry-after-missing"]);
    assert_eq!(rules(&[&base[..], &["-H", "Retry-After: 5"]].concat(), unavailable), Vec::<String>::new());
    assert_eq!(
        rules(&[&base[..], &["-H", "Retry-After: 60"]].concat(), unavailable),
        ["http/retry-after-contradicts-retry-info"]
    );
    let gcore = r#"{"exception_class": "NotFoundError", "message": "Gone", "request_id": "r1"}"#;
    assert_eq!(rules(&["lint", "--format", "json", "--http-status", "404"], gcore), Vec::<String>::new());
    assert_eq!(
        rules(&["lint", "--format", "json", "--http-status", "404", "--dialect", "google"], gcore),
        ["aip193/error-object-missing"]
    );
}

#[test]
fn list_rules_prints_the_whole_table() {
    let json = canon(&["lint", "--list-rules", "--format", "json"], "");
    let rules: Value = serde_json::from_str(&json.stdout).unwrap();
    let ids: Vec<&str> = rules.as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    let expected: Vec<&str> = canon::lint::RULES.iter().map(|r| r.id).collect();
    assert_eq!(ids, expected);
    for rule in rules.as_array().unwrap() {
        for key in ["severity", "source", "title", "summary", "help", "doc"] {
            assert!(rule[key].as_str().is_some_and(|s| !s.is_empty()), "{key} of {}", rule["id"]);
        }
    }
    let text = canon(&["lint", "--list-rules"], "");
    assert_eq!(text.stdout.lines().count(), expected.len());
    assert!(text.stdout.lines().all(|l| expected.iter().any(|id| l.starts_with(id))));
}
