//! `canon call` as a user runs it, against a scripted server on loopback:
//! the attempt lines on stderr, the body or the explanation on stdout, the
//! JSON contract, and the exit codes.

#[path = "../../canon-reqwest/tests/support/mod.rs"]
mod support;

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{Reply, Server, aip193, closed_port, retry_info};

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

fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap()
}

const OK_BODY: &str = r#"{"id":"vm-1","state":"ACTIVE"}"#;

/// A 503 whose RetryInfo (500 ms) is at least the default policy's first
/// backoff step (full jitter below 500 ms), so that the wait is the hint.
fn unavailable_with_hint() -> Reply {
    Reply::json(503, &aip193(503, "UNAVAILABLE", "Restarting.", &retry_info("0.5s"))).header("x-request-id", "req-1")
}

#[test]
fn retries_by_the_hint_and_prints_each_attempt_then_the_body() {
    let server =
        Server::sequence(vec![unavailable_with_hint(), Reply::json(200, OK_BODY).header("x-request-id", "req-2")]);

    let output = canon(&["call", "GET", &server.url("/v1/vms/vm-1")], b"");
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout), OK_BODY);
    assert_eq!(
        text(&output.stderr),
        "attempt 1: 503 UNAVAILABLE (request id req-1); retrying in 500 ms (hint)\n\
         attempt 2: 200 OK (request id req-2)\n"
    );
    let requests = server.requests();
    assert!(requests[1].at - requests[0].at >= Duration::from_millis(500));
}

#[test]
fn json_mode_reports_the_attempts_and_the_outcome() {
    let server =
        Server::sequence(vec![unavailable_with_hint(), Reply::json(200, OK_BODY).header("x-request-id", "req-2")]);

    let output = canon(&["call", "get", &server.url("/v1/vms/vm-1"), "--format", "json"], b"");
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        report,
        json!({
            "attempts": [
                {"attempt": 1, "http_status": 503, "code": "UNAVAILABLE", "wait_ms": 500, "wait_reason": "hint",
                 "request_id": "req-1", "placement": null, "transport": null},
                {"attempt": 2, "http_status": 200, "code": "OK", "wait_ms": null, "wait_reason": null,
                 "request_id": "req-2", "placement": null, "transport": null},
            ],
            "outcome": {"ok": true, "http_status": 200, "request_id": "req-2", "body": OK_BODY},
        })
    );
}

#[test]
fn a_failure_prints_what_canon_explain_prints_and_a_post_without_a_key_is_sent_once() {
    let body = aip193(503, "UNAVAILABLE", "Restarting.", &retry_info("0.5s"));
    let server = Server::sequence(vec![Reply::json(503, &body).header("x-request-id", "req-1")]);

    let output = canon(&["call", "POST", &server.url("/v1/vms"), "-d", r#"{"name":"vm-1"}"#], b"");
    assert_eq!(output.status.code(), Some(6), "transient");
    let explain = canon(&["explain", "--http-status", "503", "-H", "x-request-id: req-1"], body.as_bytes());
    assert_eq!(text(&output.stdout), text(&explain.stdout));
    assert_eq!(
        text(&output.stderr),
        "attempt 1: 503 UNAVAILABLE (request id req-1); giving up: the request is not idempotent and carries no idempotency key\n  \
         (a POST or PATCH is retried only with an idempotency key: pass --idempotency-key KEY or --generate-idempotency-key)\n"
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].header("content-type"), Some("application/json"));
    assert_eq!(requests[0].body, br#"{"name":"vm-1"}"#);
}

#[test]
fn a_post_with_a_key_is_retried_with_the_same_key() {
    // (the key flags, the key expected or None for a generated one)
    let table: [(&[&str], Option<&str>); 3] = [
        (&["--idempotency-key", "vm-1-create"], Some("vm-1-create")),
        (&["-H", "Idempotency-Key: from-header"], Some("from-header")),
        (&["--generate-idempotency-key"], None),
    ];
    for (flags, expected) in table {
        let server = Server::sequence(vec![unavailable_with_hint(), Reply::Close, Reply::json(201, OK_BODY)]);
        let url = server.url("/v1/vms");
        let mut args = vec!["call", "POST", &url, "-d", "{}", "--retry", "cudo"];
        args.extend_from_slice(flags);

        let output = canon(&args, b"");
        assert_eq!(output.status.code(), Some(0), "{flags:?}: {}", text(&output.stderr));
        let keys: Vec<String> =
            server.requests().iter().map(|r| r.header("idempotency-key").unwrap().to_owned()).collect();
        assert_eq!(keys.len(), 3, "{flags:?}");
        assert!(keys.iter().all(|k| *k == keys[0]), "{keys:?}");
        match expected {
            Some(key) => assert_eq!(keys[0], key),
            None => assert_eq!(keys[0].len(), 36),
        }
        assert!(
            text(&output.stderr).contains("attempt 2: transport failure (reset); retrying in "),
            "{}",
            text(&output.stderr)
        );
    }
}

#[test]
fn reads_the_body_from_a_file_or_standard_input() {
    let file = std::env::temp_dir().join(format!("canon-call-body-{}.json", std::process::id()));
    std::fs::write(&file, r#"{"from":"file"}"#).unwrap();
    let from_file = format!("@{}", file.display());
    // (the -d argument, standard input, the body expected, extra flags)
    type Row<'a> = (&'a str, &'a [u8], &'a [u8], &'a [&'a str]);
    let table: [Row<'_>; 3] = [
        (&from_file, b"", br#"{"from":"file"}"#, &[]),
        ("@-", br#"{"from":"stdin"}"#, br#"{"from":"stdin"}"#, &[]),
        ("name=vm-1", b"", b"name=vm-1", &["-H", "Content-Type: application/x-www-form-urlencoded"]),
    ];
    for (data, stdin, expected, flags) in table {
        let server = Server::sequence(vec![Reply::json(200, OK_BODY)]);
        let url = server.url("/v1/vms");
        let mut args = vec!["call", "PUT", &url, "-d", data];
        args.extend_from_slice(flags);
        let output = canon(&args, stdin);
        assert_eq!(output.status.code(), Some(0), "{data}: {}", text(&output.stderr));
        let request = &server.requests()[0];
        assert_eq!(request.body, expected, "{data}");
        let content_type = flags.get(1).map_or("application/json", |h| &h["Content-Type: ".len()..]);
        assert_eq!(request.header("content-type"), Some(content_type));
    }
    std::fs::remove_file(file).unwrap();
}

#[test]
fn a_deadline_shorter_than_the_hint_fails_at_once() {
    let server = Server::sequence(vec![
        Reply::json(503, &aip193(503, "UNAVAILABLE", "Later.", ""))
            .header("retry-after", "5")
            .header("x-request-id", "req-9"),
    ]);

    let started = Instant::now();
    let output = canon(&["call", "GET", &server.url("/v1/vms"), "--deadline", "2s", "--format", "json"], b"");
    assert!(started.elapsed() < Duration::from_secs(2), "it waited {:?}", started.elapsed());
    assert_eq!(output.status.code(), Some(6));
    assert!(
        text(&output.stderr)
            .ends_with("; giving up: no retry fits before the deadline (the server asked to wait 5 s)\n"),
        "{}",
        text(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let outcome = &report["outcome"];
    assert_eq!(outcome["ok"], false);
    assert_eq!(outcome["http_status"], 503);
    assert_eq!(outcome["code"], "UNAVAILABLE");
    assert_eq!(outcome["retry_delay_ms"], 5000);
    assert_eq!(outcome["request_id"], "req-9");
    assert_eq!(outcome["error_kind"], "deadline");
    assert_eq!(outcome["give_up"], "no_retry_fits_before_deadline");
    assert_eq!(report["attempts"].as_array().unwrap().len(), 1);
}

#[test]
fn the_exit_code_says_the_category() {
    let gcore = |class: &str| format!(r#"{{"exception_class":"{class}","message":"m"}}"#);
    // (HTTP status, body, exit code)
    let table = [
        (400, aip193(400, "INVALID_ARGUMENT", "Bad name.", ""), 3),
        (401, aip193(401, "UNAUTHENTICATED", "No key.", ""), 4),
        (403, aip193(403, "PERMISSION_DENIED", "No access.", ""), 4),
        (429, gcore("QuotaLimitExceed"), 5),
        (503, aip193(503, "UNAVAILABLE", "Later.", ""), 6),
        (404, aip193(404, "NOT_FOUND", "No VM.", ""), 7),
        (409, aip193(409, "ALREADY_EXISTS", "Taken.", ""), 8),
        (500, aip193(500, "INTERNAL", "Oops.", ""), 9),
    ];
    for (http, body, exit) in table {
        let server = Server::sequence(vec![Reply::json(http, &body)]);
        let output = canon(&["call", "DELETE", &server.url("/v1/vms/vm-1"), "--retry", "none"], b"");
        assert_eq!(output.status.code(), Some(exit), "{http} {body}: {}", text(&output.stderr));
    }

    let refused = format!("http://{}/v1/vms", closed_port());
    let output = canon(&["call", "GET", &refused, "--retry", "none", "--format", "json"], b"");
    assert_eq!(output.status.code(), Some(10));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["outcome"]["transport"], "connect");
    assert_eq!(report["outcome"]["category"], "transient");
    assert_eq!(report["attempts"][0]["transport"], "connect");
    assert_eq!(report["attempts"][0]["http_status"], Value::Null);
}

#[test]
fn usage_errors_exit_2() {
    let table: [&[&str]; 5] = [
        &["call", "G ET", "http://127.0.0.1:1/"],
        &["call", "GET", "not a url"],
        &["call", "GET", "ftp://127.0.0.1/file"],
        &["call", "GET", "http://127.0.0.1:1/", "--deadline", "soon"],
        &["call", "GET", "http://127.0.0.1:1/", "--idempotency-key", "k", "--generate-idempotency-key"],
    ];
    for args in table {
        let output = canon(args, b"");
        assert_eq!(output.status.code(), Some(2), "{args:?}: {}", text(&output.stderr));
        assert!(output.stdout.is_empty(), "{args:?}");
    }
}
