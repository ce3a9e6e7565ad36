//! The client against a scripted server over real loopback HTTP: every
//! promise of the crate docs, one scenario at a time.
//!
//! Waits are real (reqwest's timers and sockets do not run on paused
//! time), so the hints are short: the one-second `Retry-After` forms the
//! protocol allows, 300 ms RetryInfo, and backoffs of 20 ms without jitter.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use canon::{Category, Code, Dialect};
use canon_reqwest::{
    AttemptReport, BudgetConfig, BudgetRegistry, Call, Client, ClientBuilder, ErrorKind, GiveUpReason, Placement,
    Policy, TransportKind, WaitReason,
};
use canon_retry::Jitter;
use http::{HeaderName, Method};
use support::{Reply, Server, aip193, closed_port, retry_info};

const OK_BODY: &str = r#"{"id":"vm-1","state":"ACTIVE"}"#;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Backoff of 20, 40, 80 ms without jitter, five attempts, ten seconds.
fn fast_policy() -> Policy {
    Policy::builder()
        .max_attempts(5)
        .deadline(Duration::from_secs(10))
        .attempt_timeout(Duration::from_secs(5))
        .backoff(ms(20), 2.0, ms(80))
        .jitter(Jitter::None)
        .build()
        .unwrap()
}

/// A client on the fast policy, without a budget, that keeps its reports.
fn client_with(builder: ClientBuilder) -> (Client, Arc<Mutex<Vec<AttemptReport>>>) {
    let reports = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&reports);
    let client = builder.seed(7).on_attempt(move |report| sink.lock().unwrap().push(report.clone())).build().unwrap();
    (client, reports)
}

fn fast_client() -> (Client, Arc<Mutex<Vec<AttemptReport>>>) {
    client_with(Client::builder().policy(fast_policy()).no_budget())
}

fn unavailable() -> Reply {
    Reply::json(503, &aip193(503, "UNAVAILABLE", "The service is restarting.", ""))
}

#[tokio::test]
async fn fails_n_times_then_succeeds() {
    // (first failure, how many failures, the failure's code)
    let table: Vec<(Reply, usize, Code)> = vec![
        (unavailable(), 1, Code::Unavailable),
        (unavailable(), 3, Code::Unavailable),
        (Reply::text(502, "text/html", "<html><body>Bad Gateway</body></html>"), 2, Code::Unavailable),
        (
            Reply::json(504, r#"{"error":{"code":504,"message":"Timed out.","status":"DEADLINE_EXCEEDED"}}"#),
            2,
            Code::DeadlineExceeded,
        ),
    ];
    for (failure, failures, code) in table {
        let mut replies = vec![failure.header("x-request-id", "req-failed"); failures];
        replies.push(Reply::json(200, OK_BODY).header("x-request-id", "req-ok"));
        let server = Server::sequence(replies);
        let (client, reports) = fast_client();

        let response = client.get(server.url("/v1/vms/vm-1")).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.text().await.unwrap(), OK_BODY);

        assert_eq!(server.requests().len(), failures + 1);
        let reports = reports.lock().unwrap();
        assert_eq!(reports.len(), failures + 1);
        for (i, report) in reports[..failures].iter().enumerate() {
            assert_eq!(report.record.status.code(), Some(code), "{report}");
            assert_eq!(report.record.request_id.as_deref(), Some("req-failed"));
            let retry = report.retry.as_ref().unwrap();
            assert_eq!((retry.wait, retry.reason), (ms(20 << i), WaitReason::Backoff), "{report}");
        }
        let last = reports.last().unwrap();
        assert!(last.succeeded());
        assert_eq!(last.record.request_id.as_deref(), Some("req-ok"));
        assert_eq!(last.to_string(), format!("attempt {}: 200 OK (request id req-ok)", failures + 1));
    }
}

#[tokio::test]
async fn retry_after_in_seconds_and_as_an_http_date_sets_the_wait() {
    let seconds = || "1".to_owned();
    let date_in_two_seconds = || httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(2));
    // (Retry-After, made just before the request; the shortest wait it allows, the longest)
    let table: [(&dyn Fn() -> String, Duration, Duration); 2] =
        [(&seconds, ms(1000), ms(1000)), (&date_in_two_seconds, ms(900), ms(2000))];
    for (retry_after, shortest, longest) in table {
        let retry_after = retry_after();
        let server =
            Server::sequence(vec![unavailable().header("retry-after", &retry_after), Reply::json(200, OK_BODY)]);
        let (client, reports) = fast_client();

        let response = client.get(server.url("/v1/vms")).send_buffered().await.unwrap();
        assert_eq!(response.body(), OK_BODY);

        let reports = reports.lock().unwrap();
        let retry = reports[0].retry.as_ref().unwrap();
        assert_eq!(retry.reason, WaitReason::Hint, "{retry_after}");
        assert!(retry.wait >= shortest && retry.wait <= longest, "{retry_after}: {:?}", retry.wait);
        let requests = server.requests();
        let gap = requests[1].at - requests[0].at;
        assert!(gap >= retry.wait, "{retry_after}: the retry came {gap:?} after, sooner than {:?}", retry.wait);
    }
}

#[tokio::test]
async fn a_retryinfo_hint_longer_than_the_backoff_sets_the_wait() {
    let body = aip193(503, "UNAVAILABLE", "Retry later.", &retry_info("0.300s"));
    let server = Server::sequence(vec![Reply::json(503, &body), Reply::json(200, OK_BODY)]);
    let (client, reports) = fast_client();

    client.get(server.url("/v1/vms")).send().await.unwrap();

    let reports = reports.lock().unwrap();
    let retry = reports[0].retry.as_ref().unwrap();
    assert_eq!((retry.wait, retry.reason, retry.hint), (ms(300), WaitReason::Hint, Some(ms(300))));
    assert_eq!(reports[0].to_string(), "attempt 1: 503 UNAVAILABLE; retrying in 300 ms (hint)");
    let requests = server.requests();
    assert!(requests[1].at - requests[0].at >= ms(300));
}

#[tokio::test]
async fn a_post_without_a_key_is_not_retried() {
    // (reply, the error's kind, its transport kind)
    let table = [
        (unavailable(), ErrorKind::Status, None),
        (Reply::Close, ErrorKind::Transport, Some(TransportKind::Reset)),
        (
            Reply::Truncated { status: 200, declared: 100, body: b"{\"id\":".to_vec() },
            ErrorKind::Transport,
            Some(TransportKind::TruncatedBody),
        ),
    ];
    for (reply, kind, transport) in table {
        let server = Server::sequence(vec![reply, Reply::json(200, OK_BODY)]);
        let (client, reports) = fast_client();

        let error = client.post(server.url("/v1/vms")).body(r#"{"name":"vm-1"}"#).send_buffered().await.unwrap_err();
        assert_eq!(error.kind(), kind, "{error}");
        assert_eq!(error.transport(), transport);
        assert_eq!(error.give_up_reason(), Some(GiveUpReason::NotIdempotent));
        assert_eq!(error.attempts(), 1);
        assert_eq!(server.requests().len(), 1);
        assert_eq!(server.requests()[0].header("idempotency-key"), None);
        let reports = reports.lock().unwrap();
        assert!(
            reports[0]
                .to_string()
                .ends_with("; giving up: the request is not idempotent and carries no idempotency key"),
            "{}",
            reports[0]
        );
    }
}

#[tokio::test]
async fn a_post_with_a_key_sends_the_same_key_on_every_attempt() {
    type Setup = fn(&Server) -> (Client, canon_reqwest::RequestBuilder);
    // (how the key is set, the header it travels in, the key expected or None for a generated one)
    let table: Vec<(Setup, &str, Option<&str>)> = vec![
        (
            |s| {
                let (c, _) = fast_client();
                let r = c.post(s.url("/vms")).idempotency_key("key-given");
                (c, r)
            },
            "idempotency-key",
            Some("key-given"),
        ),
        (
            |s| {
                let (c, _) = fast_client();
                let r = c.post(s.url("/vms")).header("Idempotency-Key", "key-in-header");
                (c, r)
            },
            "idempotency-key",
            Some("key-in-header"),
        ),
        (
            |s| {
                let (c, _) = fast_client();
                let r = c.post(s.url("/vms")).generate_idempotency_key();
                (c, r)
            },
            "idempotency-key",
            None,
        ),
        (
            |s| {
                let (c, _) =
                    client_with(Client::builder().policy(fast_policy()).no_budget().generate_idempotency_keys(true));
                let r = c.patch(s.url("/vms"));
                (c, r)
            },
            "idempotency-key",
            None,
        ),
        (
            |s| {
                let header = HeaderName::from_static("x-request-key");
                let (c, _) =
                    client_with(Client::builder().policy(fast_policy()).no_budget().idempotency_header(header));
                let r = c.post(s.url("/vms")).idempotency_key("key-custom");
                (c, r)
            },
            "x-request-key",
            Some("key-custom"),
        ),
    ];
    for (setup, header, expected) in table {
        let server = Server::sequence(vec![unavailable(), Reply::Close, Reply::json(201, OK_BODY)]);
        let (_client, request) = setup(&server);

        let response = request.body(r#"{"name":"vm-1"}"#).send_buffered().await.unwrap();
        assert_eq!(response.status(), 201);

        let requests = server.requests();
        assert_eq!(requests.len(), 3);
        let keys: Vec<&str> = requests.iter().map(|r| r.header(header).expect("every attempt has the key")).collect();
        assert!(keys.iter().all(|k| *k == keys[0]), "{keys:?}");
        match expected {
            Some(key) => assert_eq!(keys[0], key),
            None => assert_eq!(keys[0].len(), 36, "a UUID: {}", keys[0]),
        }
        assert!(requests.iter().all(|r| r.body == br#"{"name":"vm-1"}"#));
    }
}

#[tokio::test]
async fn a_capacity_error_moves_to_the_next_placement() {
    let gcore_capacity = r#"{"exception_class":"ForbiddenError","message":"Flavor g2-gpu is out of capacity in region 1.","request_id":"req-g"}"#;
    let cudo_capacity = aip193(
        429,
        "RESOURCE_EXHAUSTED",
        "No capacity for gpu-a100-x8.",
        r#"{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"MACHINE_TYPE_UNAVAILABLE","domain":"compute.cudo.dev","metadata":{"availableMachineTypes":"gpu-a100-x2,gpu-a100-x4"}}"#,
    );
    let start = Placement::new().with_region("r1").with_machine_type("gpu-a100-x8");
    // (capacity error, the caller's placements, the path that has capacity, the paths tried)
    let table = [
        (
            Reply::json(403, gcore_capacity),
            vec![start.clone(), start.clone().with_region("r2")],
            "/regions/r2/machines/gpu-a100-x8",
            vec!["/regions/r1/machines/gpu-a100-x8", "/regions/r2/machines/gpu-a100-x8"],
        ),
        (
            Reply::json(429, &cudo_capacity),
            vec![start.clone(), start.clone().with_region("r2")],
            "/regions/r1/machines/gpu-a100-x4",
            // The alternatives the error names come before the caller's.
            vec![
                "/regions/r1/machines/gpu-a100-x8",
                "/regions/r1/machines/gpu-a100-x2",
                "/regions/r1/machines/gpu-a100-x4",
            ],
        ),
    ];
    for (capacity_error, placements, available, tried) in table {
        let server =
            Server::start(
                move |request, _| {
                    if request.path == available { Reply::json(200, OK_BODY) } else { capacity_error.clone() }
                },
            );
        let (client, reports) = fast_client();
        let http = client.http().clone();
        let base = server.url("");

        let call = Call::new(Method::POST).with_idempotency_key("vm-1").with_placements(placements);
        let response = client
            .send_buffered_with(call, |attempt| {
                let placement = attempt.placement.clone().unwrap();
                let (region, machine) = (placement.region.unwrap(), placement.machine_type.unwrap());
                http.post(format!("{base}/regions/{region}/machines/{machine}")).body("{}")
            })
            .await
            .unwrap();
        assert_eq!(response.status(), 200);

        let paths: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
        assert_eq!(paths, tried);
        let reports = reports.lock().unwrap();
        let retry = reports[0].retry.as_ref().unwrap();
        assert_eq!((retry.wait, retry.reason), (Duration::ZERO, WaitReason::Elsewhere));
        assert!(reports[0].to_string().contains("; retrying at region=r"), "{}", reports[0]);
        assert!(server.requests().iter().all(|r| r.header("idempotency-key") == Some("vm-1")));
    }
}

#[tokio::test]
async fn a_deadline_shorter_than_the_hint_fails_at_once_with_the_hint() {
    let server = Server::sequence(vec![unavailable().header("retry-after", "5").header("x-request-id", "req-5")]);
    let (client, reports) = client_with(Client::builder().policy(fast_policy()).deadline(ms(800)).no_budget());

    let started = Instant::now();
    let error = client.get(server.url("/v1/vms")).send().await.unwrap_err();
    assert!(started.elapsed() < ms(500), "it waited {:?}", started.elapsed());

    assert_eq!(error.kind(), ErrorKind::Deadline);
    assert_eq!(error.give_up_reason(), Some(GiveUpReason::NoRetryFitsBeforeDeadline));
    assert_eq!(error.retry_delay(), Some(Duration::from_secs(5)));
    assert_eq!(error.status().map(|s| s.code()), Some(Code::Unavailable));
    assert_eq!(error.request_id(), Some("req-5"));
    assert_eq!(server.requests().len(), 1);
    let text = error.to_string();
    assert!(
        text.contains("failed after 1 attempt: no retry fits before the deadline (the server asked to wait 5 s)"),
        "{text}"
    );
    assert!(text.ends_with("; last: 503 UNAVAILABLE: The service is restarting. (request id req-5)"), "{text}");
    assert!(reports.lock().unwrap()[0].to_string().ends_with("(the server asked to wait 5 s)"));
}

#[tokio::test]
async fn a_truncated_body_is_a_transient_transport_failure() {
    // (the cut reply, how the request is read)
    let cut_success = Reply::Truncated { status: 200, declared: 64, body: br#"{"id":"vm"#.to_vec() };
    let cut_error = Reply::Truncated { status: 503, declared: 64, body: br#"{"code":503,"#.to_vec() };
    for cut in [cut_success, cut_error] {
        let server = Server::sequence(vec![cut, Reply::json(200, OK_BODY)]);
        let (client, reports) = fast_client();

        let response = client.get(server.url("/v1/vms/vm-1")).send_buffered().await.unwrap();
        assert_eq!(response.body(), OK_BODY);

        let reports = reports.lock().unwrap();
        let first = &reports[0];
        assert_eq!(first.record.status, canon_reqwest::AttemptStatus::Transport(TransportKind::TruncatedBody));
        assert_eq!(first.retry.as_ref().unwrap().reason, WaitReason::Backoff);
        assert_eq!(server.requests().len(), 2);
    }
}

#[tokio::test]
async fn transport_failures_are_classified_and_retried() {
    let refused = format!("http://{}/v1/vms", closed_port());
    let reset = Server::sequence(vec![Reply::Close]);
    let slow = Server::sequence(vec![Reply::Delayed(ms(2000), Box::new(Reply::json(200, OK_BODY)))]);
    // (URL, the kind of each attempt, the error's kind, whether reqwest's error is the source)
    let table = [
        (refused, TransportKind::Connect, ErrorKind::Transport, true),
        (reset.url("/v1/vms"), TransportKind::Reset, ErrorKind::Transport, true),
        (slow.url("/v1/vms"), TransportKind::Timeout, ErrorKind::Timeout, false),
    ];
    for (url, transport, kind, has_source) in table {
        let policy = fast_policy().to_builder().max_attempts(2).attempt_timeout(ms(150)).build().unwrap();
        let (client, reports) = client_with(Client::builder().policy(policy).no_budget());

        let error = client.get(&url).send().await.unwrap_err();
        assert_eq!(error.kind(), kind, "{error}");
        assert_eq!(error.transport(), Some(transport), "{error}");
        assert_eq!(error.give_up_reason(), Some(GiveUpReason::AttemptsExhausted));
        assert_eq!(error.category(), Category::Transient);
        let statuses: Vec<_> = error.history().iter().map(|r| r.status).collect();
        assert_eq!(statuses, vec![canon_reqwest::AttemptStatus::Transport(transport); 2]);
        assert_eq!(reports.lock().unwrap().len(), 2);
        assert_eq!(std::error::Error::source(&error).is_some(), has_source);
        assert_eq!(error.url().map(|u| u.as_str()), Some(url.as_str()));
    }
}

/// Without an observer, attempt 1 of a plain request is polled by hand
/// (the success path); every way it can end still reaches the engine: an
/// error answer, a body cut short, a reset, and the attempt's timeout,
/// with `send` and `send_buffered` alike.
#[tokio::test]
async fn without_an_observer_every_way_attempt_1_fails_is_retried() {
    let cut = Reply::Truncated { status: 200, declared: 64, body: br#"{"id":"vm"#.to_vec() };
    let slow = Reply::Delayed(ms(2000), Box::new(Reply::json(200, OK_BODY)));
    // (attempt 1's reply, whether `send` retries it: a body cut short is
    // the caller's to read there, and the status check passes)
    let table = [(unavailable(), true), (Reply::Close, true), (slow, true), (cut, false)];
    for (first, send_retries) in table {
        for buffered in [false, true] {
            let server = Server::sequence(vec![first.clone(), Reply::json(200, OK_BODY)]);
            let policy = fast_policy().to_builder().attempt_timeout(ms(300)).build().unwrap();
            let client = Client::builder().policy(policy).no_budget().build().unwrap();
            let request = client.get(server.url("/v1/vms/vm-1"));
            let started = Instant::now();
            if buffered {
                let response = request.send_buffered().await.unwrap();
                assert_eq!(response.body(), OK_BODY, "{first:?}");
                assert_eq!(server.requests().len(), 2, "{first:?}");
            } else {
                let response = request.send().await.unwrap();
                let body = response.text().await;
                if send_retries {
                    assert_eq!(body.unwrap(), OK_BODY, "{first:?}");
                    assert_eq!(server.requests().len(), 2, "{first:?}");
                } else {
                    assert!(body.is_err(), "{first:?}");
                    assert_eq!(server.requests().len(), 1, "{first:?}");
                }
            }
            assert!(started.elapsed() < ms(1500), "{first:?}: the attempt's timeout ended attempt 1");
        }
    }
}

/// A retry sends the request again exactly: the same method, path and
/// query (percent-encoded as sent), headers, key and body, with or without
/// an observer (without one, attempt 1 runs outside the engine's loop, and
/// the copy kept for the retry holds the URL as text).
#[tokio::test]
async fn a_retry_sends_the_same_request_again() {
    let path = "/v1/vms/vm%201?filter=state%3DACTIVE&name=caf%C3%A9&empty=#fragment";
    for observed in [false, true] {
        let server = Server::sequence(vec![unavailable(), Reply::json(200, OK_BODY)]);
        let builder = Client::builder().policy(fast_policy()).no_budget();
        let client = if observed { client_with(builder).0 } else { builder.build().unwrap() };
        let response = client
            .post(server.url(path))
            .idempotency_key("key-1")
            .header("x-trace", "trace-1")
            .body(r#"{"name":"vm 1"}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let requests = server.requests();
        assert_eq!(requests.len(), 2, "observed: {observed}");
        for request in &requests {
            assert_eq!(request.method, "POST");
            assert_eq!(request.path, "/v1/vms/vm%201?filter=state%3DACTIVE&name=caf%C3%A9&empty=");
            assert_eq!(request.header("idempotency-key"), Some("key-1"));
            assert_eq!(request.header("x-trace"), Some("trace-1"));
            assert_eq!(request.body, br#"{"name":"vm 1"}"#);
        }
        assert_eq!(requests[0].headers, requests[1].headers, "observed: {observed}");
    }
}

/// A success without an observer earns the host's budget its share, and
/// the attempt's timer goes back to the client for the next request.
#[tokio::test]
async fn without_an_observer_a_success_earns_the_budget() {
    let server = Server::sequence(vec![Reply::json(200, OK_BODY), Reply::json(200, OK_BODY)]);
    let config = BudgetConfig::new(0.5, 0.0, Duration::from_secs(3600)).unwrap().with_initial_balance(0.0).unwrap();
    let budgets = Arc::new(BudgetRegistry::new(config));
    let client = Client::builder().policy(fast_policy()).budget_registry(Arc::clone(&budgets)).build().unwrap();
    for _ in 0..2 {
        client.get(server.url("/v1/vms/vm-1")).send().await.unwrap();
    }
    let balance = budgets.budget(&format!("{}", server.addr())).balance(Instant::now());
    assert!((balance - 1.0).abs() < 1e-3, "{balance}");
}

#[tokio::test]
async fn an_error_response_carries_status_headers_request_id_advice_and_body() {
    let body = r#"{"error":{"code":404,"message":"VM vm-9 not found.","status":"NOT_FOUND"}}"#;
    let server = Server::sequence(vec![Reply::json(404, body).header("x-request-id", "req-404")]);
    // (limit on the error body, the body kept, whether it was cut)
    let table = [(64 * 1024, body, false), (16, &body[..16], true)];
    for (limit, kept, cut) in table {
        let (client, _) = client_with(Client::builder().policy(fast_policy()).no_budget().max_error_body(limit));

        let error = client.get(server.url("/v1/vms/vm-9")).send().await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Status);
        assert_eq!(error.give_up_reason(), Some(GiveUpReason::NotRetryable));
        assert_eq!(error.attempts(), 1);
        let response = error.response().unwrap();
        assert_eq!(response.http_status(), 404);
        assert_eq!(response.headers()["content-type"], "application/json");
        assert_eq!(response.request_id(), Some("req-404"));
        assert_eq!(response.body(), kept.as_bytes());
        assert_eq!(response.body_was_cut(), cut);
        assert_eq!(response.status().code(), Code::NotFound);
        assert_eq!(response.advice().category, Category::NotFound);
        assert_eq!(response.url().path(), "/v1/vms/vm-9");
        if !cut {
            assert_eq!(response.decoded().dialect, Dialect::GoogleWrapped);
            assert_eq!(response.status().message(), "VM vm-9 not found.");
        }
    }
}

#[tokio::test]
async fn the_budget_is_shared_per_host() {
    // One retry per host, earned by nothing and never expiring.
    let config =
        BudgetConfig::new(0.0, 0.0, Duration::from_secs(1_000_000)).unwrap().with_initial_balance(1.0).unwrap();
    let registry = Arc::new(BudgetRegistry::new(config));
    let (first, _) = client_with(Client::builder().policy(fast_policy()).budget_registry(Arc::clone(&registry)));
    let (second, _) = client_with(Client::builder().policy(fast_policy()).budget_registry(Arc::clone(&registry)));
    let a = Server::sequence(vec![unavailable()]);
    let b = Server::sequence(vec![unavailable()]);

    // (client, server, attempts)
    let table = [(&first, &a, 2), (&second, &a, 1), (&first, &a, 1), (&second, &b, 2)];
    for (client, server, attempts) in table {
        let error = client.get(server.url("/v1/vms")).send().await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Budget, "{error}");
        assert_eq!(error.give_up_reason(), Some(GiveUpReason::BudgetExhausted));
        assert_eq!(error.attempts(), attempts, "{error}");
        assert_eq!(error.history().last().unwrap().wait, None);
    }
    assert_eq!(registry.len(), 2);
}

#[tokio::test]
async fn the_budget_earns_on_answers_not_on_sends() {
    // Each answer that is not overload earns one retry; nothing else does.
    let config =
        BudgetConfig::new(1.0, 0.0, Duration::from_secs(1_000_000)).unwrap().with_initial_balance(0.0).unwrap();
    let registry = Arc::new(BudgetRegistry::new(config));
    let (client, _) = client_with(Client::builder().policy(fast_policy()).budget_registry(Arc::clone(&registry)));
    // The server's script: a path ending in `ok` succeeds, `missing` is a
    // 404, anything else is a 503.
    let server = Server::start(|request, _| {
        if request.path.ends_with("/ok") {
            Reply::json(200, "{}")
        } else if request.path.ends_with("/missing") {
            Reply::json(404, &aip193(404, "NOT_FOUND", "No such VM.", ""))
        } else {
            unavailable()
        }
    });
    // (path, attempts of a failing request, or 0 for one that succeeds)
    let table = [
        ("/down", 1), // a fresh budget holds nothing: no retry
        ("/down", 1), // sending earned nothing
        ("/ok", 0),   // a success earns one retry...
        ("/down", 2), // ...which this request spends
        ("/down", 1),
        ("/missing", 1), // a 404 is an answer: it earns one retry
        ("/down", 2),
    ];
    for (step, (path, attempts)) in table.into_iter().enumerate() {
        let result = client.get(server.url(path)).send().await;
        if attempts == 0 {
            assert!(result.is_ok(), "step {step}: {result:?}");
            continue;
        }
        let error = result.unwrap_err();
        assert_eq!(error.attempts(), attempts, "step {step} {path}: {error}");
    }
}

#[tokio::test]
async fn an_invalid_request_is_not_sent() {
    let (client, reports) = fast_client();
    for url in ["ftp://127.0.0.1/file", "not a url"] {
        let error = client.get(url).send().await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Request, "{url}: {error}");
        assert_eq!(error.give_up(), None);
        assert_eq!(error.category(), Category::Validation);
    }
    assert!(reports.lock().unwrap().is_empty());
}

mod tracing_spans {
    use super::*;
    use std::collections::BTreeMap;
    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id, Record};
    use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

    /// Every field of every `attempt` span, by span id.
    #[derive(Clone, Default)]
    struct Spans(Arc<Mutex<BTreeMap<u64, BTreeMap<String, String>>>>);

    struct Fields<'a>(&'a mut BTreeMap<String, String>);

    impl Visit for Fields<'_> {
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            self.0.insert(field.name().to_owned(), format!("{value:?}").trim_matches('"').to_owned());
        }
    }

    impl<S: tracing::Subscriber> Layer<S> for Spans {
        fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, _: Context<'_, S>) {
            if attrs.metadata().target() == "canon_reqwest" && attrs.metadata().name() == "attempt" {
                let mut spans = self.0.lock().unwrap();
                attrs.record(&mut Fields(spans.entry(id.into_u64()).or_default()));
            }
        }

        fn on_record(&self, id: &Id, values: &Record<'_>, _: Context<'_, S>) {
            if let Some(fields) = self.0.lock().unwrap().get_mut(&id.into_u64()) {
                values.record(&mut Fields(fields));
            }
        }
    }

    #[tokio::test]
    async fn each_attempt_has_a_span_with_the_request_id() {
        let spans = Spans::default();
        let _guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(spans.clone()));
        let server = Server::sequence(vec![
            unavailable().header("x-request-id", "req-1"),
            Reply::json(200, OK_BODY).header("x-request-id", "req-2"),
        ]);
        let (client, _) = fast_client();
        let url = server.url("/v1/vms");

        client.get(&url).send().await.unwrap();

        let spans = spans.0.lock().unwrap();
        let spans: Vec<&BTreeMap<String, String>> = spans.values().collect();
        assert_eq!(spans.len(), 2);
        for (span, (attempt, http_status, request_id)) in
            spans.iter().zip([("1", "503", "req-1"), ("2", "200", "req-2")])
        {
            assert_eq!(span["attempt"], attempt);
            assert_eq!(span["method"], "GET");
            assert_eq!(span["url"], url);
            assert_eq!(span["http_status"], http_status);
            assert_eq!(span["request_id"], request_id);
        }
    }
}

#[tokio::test]
async fn successes_reuse_one_connection() {
    let server = Server::sequence(vec![Reply::json(200, OK_BODY)]);
    let (client, _) = fast_client();
    for _ in 0..5 {
        let response = client.get(server.url("/v1/vms")).send().await.unwrap();
        assert_eq!(response.bytes().await.unwrap(), OK_BODY);
    }
    let connections: Vec<usize> = server.requests().iter().map(|r| r.connection).collect();
    assert_eq!(connections, [0; 5]);
}
