//! `canon explain` as a user runs it: the binary, its exit codes, and the
//! JSON contract that scripts rely on.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn canon(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_canon"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the canon binary runs");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn example(name: &str) -> String {
    format!("{}/../../examples/{name}", env!("CARGO_MANIFEST_DIR"))
}

const GCORE_QUOTA: &[u8] = br#"{"exception_class":"QuotaLimitExceed","message":"Quota exceeded.","request_id":"req-7",
  "info":{"quota_name":"gpu_count","current_usage":12,"requested":20,"limit":16}}"#;

#[test]
fn json_output_has_every_contract_field() {
    let output = canon(&["explain", &example("cudo-429.json"), "--format", "json", "-H", "x-request-id: abc"], b"");
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let expected = serde_json::json!({
        "dialect": "aip193",
        "code": "RESOURCE_EXHAUSTED",
        "http_status": 429,
        "message": "GPU quota exceeded for project 'proj-123' in dataCenterId 'gb-bournemouth-1'.",
        "category": "quota_or_capacity",
        "retry": "after_delay",
        "retryable": true,
        "retry_delay_ms": 30000,
        "action": "A quota or capacity is exhausted; retry with exponential backoff that starts from the server's delay, or request a quota increase.",
        "request_id": "abc",
        "reason": null,
        "domain": null,
        "field_violations": [],
        "details": [
            {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{
                "subject": "projects/proj-123/dataCenterIds/gb-bournemouth-1/gpuModelId:gpu-a100",
                "description": "Limit 16 reached"}]},
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "30s"},
            {"@type": "type.googleapis.com/google.rpc.RequestInfo", "requestId": "abc"}
        ],
        "provider": "cudo",
        "max_retries": null,
        "alternatives": [],
        "additional_errors": []
    });
    assert_eq!(report, expected);
}

#[test]
fn reads_standard_input_and_gcore_bodies() {
    let output = canon(&["explain", "--http-status", "400", "--format", "json"], GCORE_QUOTA);
    assert_eq!(output.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["dialect"], "gcore");
    assert_eq!(report["code"], "RESOURCE_EXHAUSTED");
    assert_eq!(report["retry"], "never");
    assert_eq!(report["retryable"], false);
    assert_eq!(report["reason"], "QUOTA_LIMIT_EXCEEDED");
    assert_eq!(report["domain"], "api.gcore.com");
    assert_eq!(report["request_id"], "req-7");
}

#[test]
fn text_output_tells_a_person_what_to_do() {
    let output = canon(&["explain", "--http-status", "400", "-", "-H", "x-request-id: ignored"], GCORE_QUOTA);
    assert_eq!(output.status.code(), Some(0));
    let text = String::from_utf8(output.stdout).unwrap();
    let expected = "\
RESOURCE_EXHAUSTED (HTTP 400, gcore dialect)
  Quota exceeded.

What happened: A quota or a capacity is exhausted.
Reason:        QUOTA_LIMIT_EXCEEDED (api.gcore.com)
Category:      quota_or_capacity
Retry:         no; the same request will fail the same way
What to do:    Reduce the requested size or count, or submit a quota request in the Gcore Customer Portal.
Quota:         gpu_count: Quota exceeded.
Metadata:
  current_usage = 12
  exceptionClass = QuotaLimitExceed
  limit = 16
  quota_name = gpu_count
  requested = 20
Request id:    req-7 (quote it to support)
";
    assert_eq!(text, expected);
}

#[test]
fn exit_codes_say_what_went_wrong() {
    // (arguments, standard input, expected exit code)
    let table: &[(&[&str], &[u8], i32)] = &[
        (&["explain"], b"", 0),
        (&["explain"], b"<html>oops</html>", 0),
        (&["explain", "--http-status", "99"], b"", 2),
        (&["explain", "--http-status", "abc"], b"", 2),
        (&["explain", "--format", "yaml"], b"", 2),
        (&["explain", "-H", "no colon here"], b"", 2),
        (&["explain", "--no-such-flag"], b"", 2),
        (&["explain", "/no/such/file.json"], b"", 1),
    ];
    for (args, stdin, expected) in table {
        let output = canon(args, stdin);
        assert_eq!(output.status.code(), Some(*expected), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
    }
}

#[test]
fn a_closed_pipe_is_a_quiet_exit() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_canon"))
        .args(["explain", &example("cudo-429.json")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Close the read end before the command writes.
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
}
