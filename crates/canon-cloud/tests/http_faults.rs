//! Fault injection and the journal over real HTTP: the `x-canon-fault`
//! header, each rule mode and matcher, each effect (errors with
//! Retry-After, latency, and the three transport faults seen on a raw TCP
//! connection), rules loaded from a file, the journal's entries and
//! filters, and seeded request ids.

mod http_support;

use std::time::{Duration, Instant};

use canon_cloud::fault::{FaultEngine, FaultRule};
use http_support::*;
use serde_json::{Value, json};

async fn add_rule(server: &Server, rule: Value) {
    let reply = server.call("POST", "/_canon/faults", None, Some(rule.clone())).await;
    assert_eq!(reply.status, 201, "{rule}: {}", reply.text);
}

fn get_request(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nhost: emulator\r\nauthorization: Bearer {KEY}\r\n\r\n").into_bytes()
}

fn post_request(path: &str, body: &str) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nhost: emulator\r\nauthorization: Bearer {KEY}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

async fn journal(server: &Server, query: &str) -> Vec<Value> {
    server.admin("GET", &format!("/_canon/journal{query}"), None).await["entries"].as_array().unwrap().clone()
}

#[tokio::test]
async fn the_fault_header_forces_an_error_by_code_with_an_optional_retry_delay() {
    let server = Server::start().await;
    let table: &[(&str, u16, &str, Option<&str>)] = &[
        ("UNAVAILABLE", 503, "UNAVAILABLE", None),
        ("resource_exhausted", 429, "RESOURCE_EXHAUSTED", None),
        ("8", 429, "RESOURCE_EXHAUSTED", None),
        ("code=RESOURCE_EXHAUSTED; retry-after=7", 429, "RESOURCE_EXHAUSTED", Some("7")),
        ("code=ABORTED; retry-after=1500ms", 409, "ABORTED", Some("2")),
        ("code=FAILED_PRECONDITION; message=Not now.", 400, "FAILED_PRECONDITION", None),
    ];
    for &(value, status, code, retry_after) in table {
        let reply = server.send("GET", "/v1/projects/demo/vms", Some(KEY), None, &[("x-canon-fault", value)]).await;
        assert_eq!((reply.status, reply.json()["status"].as_str()), (status, Some(code)), "{value}");
        assert_eq!(reply.header("retry-after"), retry_after, "{value}");
        let details = reply.json()["details"].clone();
        assert!(details.as_array().unwrap().iter().any(|d| d["reason"] == "FAULT_INJECTED"), "{value}");
    }
    let message =
        server.send("GET", "/v1/projects", Some(KEY), None, &[("x-canon-fault", "code=INTERNAL; message=Boom.")]).await;
    assert_eq!(message.json()["message"], "Boom.");
    // The header is checked before the key: a forced error needs none.
    let anonymous = server.send("GET", "/v1/projects", None, None, &[("x-canon-fault", "NOT_FOUND")]).await;
    assert_eq!(anonymous.status, 404);
}

#[tokio::test]
async fn a_malformed_fault_header_is_an_invalid_argument_naming_the_header() {
    let server = Server::start().await;
    let reply = server.send("GET", "/v1/projects", Some(KEY), None, &[("x-canon-fault", "code=NOPE")]).await;
    reply.assert_error(
        400,
        json!({
            "code": 400,
            "status": "INVALID_ARGUMENT",
            "message": "The x-canon-fault header is malformed: `NOPE` is not a canonical code.",
            "details": [
                {"@type": BAD_REQUEST, "fieldViolations": [{"field": "x-canon-fault", "description": "x-canon-fault: `NOPE` is not a canonical code"}]},
                info("FAULT_HEADER_INVALID", json!({"header": "x-canon-fault", "problem": "`NOPE` is not a canonical code"})),
            ]
        }),
    );
    for value in ["", "OK", "code=UNAVAILABLE; retry-after=soon", "colour=red", "\u{e9}t\u{e9}"] {
        let reply = server.send("GET", "/v1/projects", Some(KEY), None, &[("x-canon-fault", value)]).await;
        assert_eq!(
            (reply.status, reply.json()["details"][1]["reason"].as_str()),
            (400, Some("FAULT_HEADER_INVALID")),
            "{value:?}"
        );
    }
}

#[tokio::test]
async fn rule_modes_decide_which_matching_requests_are_hit() {
    let server = Server::start().await;
    let rules = [
        ("always", json!("always"), "xxxxxx"),
        ("first-two", json!({"firstN": 2}), "xx...."),
        ("every-third", json!({"everyNth": 3}), "..x..x"),
    ];
    for (id, mode, expected) in rules {
        server.admin("DELETE", "/_canon/faults", None).await;
        add_rule(&server, json!({"id": id, "match": {"path": "/v1/projects"}, "mode": mode, "effect": {"error": {"code": "UNAVAILABLE"}}})).await;
        let mut seen = String::new();
        for _ in 0..expected.len() {
            seen.push(if server.get("/v1/projects").await.status == 503 { 'x' } else { '.' });
        }
        assert_eq!(seen, expected, "{id}");
        let rule = server.admin("GET", &format!("/_canon/faults/{id}"), None).await;
        assert_eq!(
            (rule["matched"].as_u64(), rule["fired"].as_u64()),
            (Some(6), Some(expected.matches('x').count() as u64))
        );
    }

    // A seeded probability fires on the same requests every run: as the
    // engine alone would, and again after the counters are reset.
    server.admin("DELETE", "/_canon/faults", None).await;
    let rule =
        json!({"id": "coin", "mode": {"probability": {"p": 0.5, "seed": 9}}, "effect": {"error": {"code": "ABORTED"}}});
    add_rule(&server, rule.clone()).await;
    let engine = FaultEngine::new();
    engine.add(serde_json::from_value::<FaultRule>(rule).unwrap()).unwrap();
    let expected: String =
        (0..24).map(|_| if engine.evaluate("GET", "/v1/projects", None).is_some() { 'x' } else { '.' }).collect();
    assert!(expected.contains('x') && expected.contains('.'), "{expected}");
    for _ in 0..2 {
        let mut seen = String::new();
        for _ in 0..24 {
            seen.push(if server.get("/v1/projects").await.status == 409 { 'x' } else { '.' });
        }
        assert_eq!(seen, expected);
        server.admin("POST", "/_canon/faults:resetCounters", None).await;
    }
}

#[tokio::test]
async fn rules_match_on_method_path_pattern_and_project() {
    let server = Server::start().await;
    server.key("other", "*").await;
    add_rule(
        &server,
        json!({"id": "demo-vm-writes", "match": {"method": "post", "path": "/v1/projects/{projectId}/vm", "project": "demo"},
               "effect": {"error": {"code": "RESOURCE_EXHAUSTED", "retryAfter": "30s", "reason": "GPU_QUOTA_EXCEEDED", "message": "Try later."}}}),
    )
    .await;
    let body = json!({"vmId": "vm-1", "dataCenterId": DC, "machineType": "epyc-rome-cpu"});
    let hit = server.post("/v1/projects/demo/vm", body.clone()).await;
    hit.assert_error(
        429,
        json!({
            "code": 429,
            "status": "RESOURCE_EXHAUSTED",
            "message": "Try later.",
            "details": [{"@type": RETRY_INFO, "retryDelay": "30s"}, info("GPU_QUOTA_EXCEEDED", json!({"faultRuleId": "demo-vm-writes"}))]
        }),
    );
    assert_eq!(hit.header("retry-after"), Some("30"));
    // Another method, another path, another project: not matched.
    assert_eq!(server.get("/v1/projects/demo/vms").await.status, 200);
    assert_eq!(
        server.post("/v1/projects/demo/disks", json!({"id": "d", "dataCenterId": DC, "sizeGib": 10})).await.status,
        200
    );
    let other = server.key("other", "*").await;
    let reply = server.call("POST", "/v1/projects/other/vm", Some(&other), Some(body)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let rule = server.admin("GET", "/_canon/faults/demo-vm-writes", None).await;
    assert_eq!((rule["matched"].as_u64(), rule["fired"].as_u64()), (Some(1), Some(1)));
}

#[tokio::test]
async fn latency_is_added_before_the_answer() {
    let server = Server::start().await;
    add_rule(&server, json!({"match": {"path": "/v1/projects/*/vms"}, "effect": {"latency": "300ms"}})).await;
    let started = Instant::now();
    let reply = server.get("/v1/projects/demo/vms").await;
    assert_eq!(reply.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
    let entry = journal(&server, "?pathPrefix=/v1/projects/demo/vms").await.pop().unwrap();
    assert!(entry["durationMs"].as_f64().unwrap() >= 300.0, "{entry}");
    assert_eq!(entry["fault"], "rule rule-1: latency; total latency 300ms");
}

#[tokio::test]
async fn a_reset_rule_sends_tcp_rst_and_no_response() {
    let server = Server::start().await;
    add_rule(&server, json!({"id": "rst", "match": {"path": "/v1/projects"}, "mode": {"firstN": 1}, "effect": {"transport": "reset"}})).await;
    let reply = server.raw(&get_request("/v1/projects")).await;
    assert_eq!((reply.end, reply.bytes.len()), (RawEnd::Reset, 0));
    let next = server.raw(&get_request("/v1/projects")).await;
    assert_eq!((next.end, next.status()), (RawEnd::Complete, Some(200)));
    let entry = journal(&server, "?faulted=true").await.pop().unwrap();
    assert_eq!((entry["status"].as_u64(), entry["fault"].as_str()), (Some(0), Some("rule rst: transport reset")));
}

#[tokio::test]
async fn an_empty_reply_rule_closes_the_connection_without_a_response() {
    let server = Server::start().await;
    add_rule(&server, json!({"match": {"method": "POST"}, "effect": {"transport": "emptyReply"}})).await;
    let reply = server
        .raw(&post_request(
            "/v1/projects/demo/vm",
            r#"{"vmId":"vm-1","dataCenterId":"gb-bournemouth-1","machineType":"epyc-rome-cpu"}"#,
        ))
        .await;
    assert_eq!((reply.end, reply.bytes.len()), (RawEnd::Closed, 0));
    // The request never reached the API.
    server.admin("DELETE", "/_canon/faults", None).await;
    assert_eq!(server.get("/v1/projects/demo/vms/vm-1").await.status, 404);
    let entry = journal(&server, "?method=POST").await.pop().unwrap();
    assert_eq!(entry["status"], 0);
}

#[tokio::test]
async fn a_truncated_body_rule_announces_the_whole_body_sends_half_and_closes() {
    let server = Server::start().await;
    add_rule(&server, json!({"match": {"method": "POST", "path": "/v1/projects/demo/vm"}, "mode": {"firstN": 1}, "effect": {"transport": "truncatedBody"}})).await;
    let body = r#"{"vmId":"vm-1","dataCenterId":"gb-bournemouth-1","machineType":"epyc-rome-cpu"}"#;
    let reply = server.raw(&post_request("/v1/projects/demo/vm", body)).await;
    assert_eq!((reply.end, reply.status()), (RawEnd::Closed, Some(200)));
    let declared: usize = reply.header("content-length").unwrap().parse().unwrap();
    let (_, received) = reply.parts();
    assert!(received.len() < declared && !received.is_empty(), "{} of {declared}", received.len());
    assert!(reply.header("x-request-id").is_some());
    // The create happened: a retry must cope with ALREADY_EXISTS.
    assert_eq!(server.get("/v1/projects/demo/vms/vm-1").await.status, 200);
    let again = server.post("/v1/projects/demo/vm", serde_json::from_str(body).unwrap()).await;
    assert_eq!(again.status, 409);
    let entry = &journal(&server, "?faulted=true").await[0];
    assert_eq!(
        (entry["status"].as_u64(), entry["fault"].as_str()),
        (Some(200), Some("rule rule-1: transport truncatedBody"))
    );
}

#[tokio::test]
async fn rules_load_from_a_configuration_file() {
    let server = Server::start().await;
    let ids = server.cloud.faults().load_file(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/faults.json")).unwrap();
    assert!(ids.contains(&"gpu-quota-flake".to_owned()));
    let body = json!({"vmId": "vm-1", "dataCenterId": DC, "machineType": "gpu-a100-x2"});
    let statuses: Vec<u16> = {
        let mut statuses = Vec::new();
        for _ in 0..3 {
            statuses.push(server.post("/v1/projects/demo/vm", body.clone()).await.status);
        }
        statuses
    };
    assert_eq!(statuses, [429, 429, 200]);
    let listed = server.admin("GET", "/_canon/faults", None).await;
    assert_eq!(listed["rules"][0]["id"], "gpu-quota-flake");
    assert_eq!((listed["rules"][0]["matched"].as_u64(), listed["rules"][0]["fired"].as_u64()), (Some(3), Some(2)));
}

#[tokio::test]
async fn the_journal_records_every_request_and_filters_and_resets() {
    let server = Server::start().await;
    add_rule(&server, json!({"id": "flaky", "match": {"path": "/v1/projects/demo/disks"}, "mode": {"firstN": 1}, "effect": {"error": {"code": "UNAVAILABLE"}}})).await;
    let ok = server.get("/v1/projects").await;
    let unauthenticated = server.call("GET", "/v1/projects/demo/vms", None, None).await;
    let injected = server.get("/v1/projects/demo/disks").await;
    let missing_route = server.get("/v1/nothing-here").await;
    let entries = journal(&server, "").await;
    let fields = ["seq", "method", "path", "project", "status", "code", "requestId", "fault"];
    let summary: Vec<Value> =
        entries.iter().map(|e| fields.iter().map(|f| (f.to_string(), e[*f].clone())).collect()).collect();
    let entry = |seq: u64, path: &str, project: Value, status: u16, code: Value, id: String, fault: Value| {
        json!({"seq": seq, "method": "GET", "path": path, "project": project, "status": status, "code": code,
               "requestId": id, "fault": fault})
    };
    assert_eq!(
        summary,
        [
            entry(1, "/v1/projects", Value::Null, 200, Value::Null, ok.request_id(), Value::Null),
            entry(
                2,
                "/v1/projects/demo/vms",
                json!("demo"),
                401,
                json!("UNAUTHENTICATED"),
                unauthenticated.request_id(),
                Value::Null
            ),
            entry(
                3,
                "/v1/projects/demo/disks",
                json!("demo"),
                503,
                json!("UNAVAILABLE"),
                injected.request_id(),
                json!("rule flaky: error UNAVAILABLE")
            ),
            entry(4, "/v1/nothing-here", Value::Null, 404, json!("NOT_FOUND"), missing_route.request_id(), Value::Null),
        ]
    );
    assert_eq!(entries[0]["time"], "2023-11-14T22:13:20Z");
    let filters = [
        ("?status=503", vec![3]),
        ("?project=demo", vec![2, 3]),
        ("?faulted=false&method=get", vec![1, 2, 4]),
        ("?pathPrefix=/v1/projects/", vec![2, 3]),
        ("?afterSeq=2", vec![3, 4]),
        ("?limit=1", vec![4]),
    ];
    for (query, seqs) in filters {
        let got: Vec<u64> = journal(&server, query).await.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
        assert_eq!(got, seqs, "{query}");
    }
    let bad = server.call("GET", "/_canon/journal?colour=red", None, None).await;
    assert_eq!(bad.status, 400);
    server.admin("DELETE", "/_canon/journal", None).await;
    assert!(journal(&server, "").await.is_empty());
    server.get("/v1/projects").await;
    assert_eq!(journal(&server, "").await[0]["seq"], 1);
}

#[tokio::test]
async fn request_ids_come_from_the_seed_unless_the_client_sends_one() {
    async fn ids(server: &Server) -> Vec<String> {
        let mut ids = Vec::new();
        for path in ["/v1/projects", "/v1/projects/demo/vms/none", "/v1/data-centers"] {
            ids.push(server.get(path).await.request_id());
        }
        ids
    }
    let (a, b) = (
        Server::with(Setup { seed: 42, ..Setup::default() }).await,
        Server::with(Setup { seed: 42, ..Setup::default() }).await,
    );
    let first = ids(&a).await;
    assert_eq!(first, ids(&b).await);
    assert!(first.iter().all(|id| id.starts_with("req-")), "{first:?}");
    let c = Server::with(Setup { seed: 43, ..Setup::default() }).await;
    assert_ne!(first, ids(&c).await);
    // Reseeding through the admin API starts the sequence again.
    a.admin("PUT", "/_canon/seed", Some(json!({"seed": 42}))).await;
    let reseeded = ids(&a).await;
    a.admin("PUT", "/_canon/seed", Some(json!({"seed": 42}))).await;
    assert_eq!(ids(&a).await, reseeded);
    let own = a.send("GET", "/v1/projects", Some(KEY), None, &[("x-request-id", "client-chosen-1")]).await;
    assert_eq!(own.request_id(), "client-chosen-1");
    let bad = a.send("GET", "/v1/projects", Some(KEY), None, &[("x-request-id", "has space")]).await;
    assert!(bad.request_id().starts_with("req-"));
}

#[tokio::test]
async fn debug_info_shows_where_an_injected_error_came_from_only_in_debug_mode() {
    for debug in [false, true] {
        let server = Server::with(Setup { debug, ..Setup::default() }).await;
        add_rule(
            &server,
            json!({"id": "boom", "match": {"path": "/v1/data-centers"}, "effect": {"error": {"code": "INTERNAL"}}}),
        )
        .await;
        let replies = [
            server.get("/v1/data-centers").await,
            server.send("GET", "/v1/projects", Some(KEY), None, &[("x-canon-fault", "DATA_LOSS")]).await,
        ];
        for reply in replies {
            let details = reply.json()["details"].as_array().unwrap().clone();
            let debug_info = details.iter().find(|d| d["@type"] == DEBUG_INFO);
            assert_eq!(debug_info.is_some(), debug, "{}", reply.text);
            if let Some(detail) = debug_info {
                assert!(detail["detail"].as_str().unwrap().starts_with("injected: "), "{detail}");
            }
        }
    }
}

#[tokio::test]
async fn faults_apply_to_the_gcore_surface_in_its_own_dialect() {
    let server = Server::start().await;
    let reply = server.send("GET", "/cloud/v1/regions", None, None, &[("x-canon-fault", "UNAVAILABLE")]).await;
    assert_eq!(reply.status, 503, "{}", reply.text);
    assert!(reply.json().get("exception_class").is_some(), "{}", reply.text);
    let entry = journal(&server, "?pathPrefix=/cloud").await.pop().unwrap();
    assert_eq!((entry["status"].as_u64(), entry["fault"].as_str()), (Some(503), Some("header: error UNAVAILABLE")));
}
