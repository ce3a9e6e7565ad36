//! No request makes the server panic or answer with a 5xx that no fault
//! injected: a table of malformed requests sent as raw bytes (bad JSON,
//! wrong types, huge bodies, weird paths, bad percent-encoding, bad
//! headers, odd methods, broken framing), a property test over random
//! requests, and the body limit.

mod http_support;

use http_support::*;
use proptest::prelude::*;
use serde_json::json;

fn request(method: &str, path: &str, headers: &[(&str, &[u8])], body: &[u8]) -> Vec<u8> {
    let mut out = format!("{method} {path} HTTP/1.1\r\nhost: emulator\r\nconnection: close\r\n").into_bytes();
    for (name, value) in headers {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }
    if !body.is_empty() {
        out.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

const AUTH: (&str, &[u8]) = ("authorization", b"Bearer demo-key");
const JSON: (&str, &[u8]) = ("content-type", b"application/json");

#[tokio::test]
async fn malformed_requests_get_4xx_errors_in_the_dialect_never_a_5xx() {
    let server = Server::start().await;
    let huge = vec![b'a'; BODY_LIMIT + 1];
    let mut huge_json = br#"{"vmId": ""#.to_vec();
    huge_json.extend(std::iter::repeat_n(b'x', BODY_LIMIT));
    huge_json.extend_from_slice(br#""}"#);
    let long_path = format!("/v1/projects/{}/vms", "p".repeat(16 * 1024));
    let create = "/v1/projects/demo/vm";
    // (what, the request's bytes, the status, an ErrorInfo or BadRequest reason)
    type Case<'a> = (&'a str, Vec<u8>, Option<u16>, Option<&'a str>);
    let table: Vec<Case<'_>> = vec![
        ("bad JSON", request("POST", create, &[AUTH, JSON], br#"{"vmId":"#), Some(400), Some("INVALID_JSON")),
        ("trailing garbage", request("POST", create, &[AUTH, JSON], br#"{"vmId":"a"} x"#), Some(400), Some("INVALID_JSON")),
        ("wrong type", request("POST", create, &[AUTH, JSON], br#"{"vmId": 7, "dataCenterId": "x", "machineType": "y"}"#), Some(400), Some("INVALID_FIELD")),
        ("missing field", request("POST", create, &[AUTH, JSON], br#"{"vmId": "a"}"#), Some(400), Some("MISSING_FIELD")),
        ("null body", request("POST", create, &[AUTH, JSON], b"null"), Some(400), Some("INVALID_FIELD")),
        ("array body", request("POST", create, &[AUTH, JSON], b"[1,2]"), Some(400), Some("INVALID_FIELD")),
        ("huge number", request("POST", create, &[AUTH, JSON], br#"{"vmId": "a", "dataCenterId": "gb-bournemouth-1", "machineType": "gpu-a100-x2", "vcpus": 1e400}"#), Some(400), None),
        ("i64 overflow", request("POST", create, &[AUTH, JSON], br#"{"vmId": "a", "dataCenterId": "gb-bournemouth-1", "machineType": "gpu-a100-x2", "vcpus": 99999999999999999999}"#), Some(400), None),
        ("max vcpus", request("POST", create, &[AUTH, JSON], br#"{"vmId": "a", "dataCenterId": "gb-bournemouth-1", "machineType": "gpu-a100-x2", "vcpus": 9223372036854775807, "memoryGib": -9223372036854775808}"#), Some(400), None),
        ("deep nesting", request("POST", create, &[AUTH, JSON], &[b'['; 4096]), Some(400), Some("INVALID_JSON")),
        ("no content type", request("POST", create, &[AUTH], br#"{}"#), Some(400), Some("UNSUPPORTED_MEDIA_TYPE")),
        ("text content type", request("POST", create, &[AUTH, ("content-type", b"text/plain")], br#"{}"#), Some(400), Some("UNSUPPORTED_MEDIA_TYPE")),
        ("body over the limit", request("POST", create, &[AUTH, JSON], &huge), Some(400), Some("PAYLOAD_TOO_LARGE")),
        ("JSON over the limit", request("POST", "/v1/projects/demo/disks", &[AUTH, JSON], &huge_json), Some(400), Some("PAYLOAD_TOO_LARGE")),
        ("invalid UTF-8 body", request("POST", "/v1/ssh-keys", &[AUTH, JSON], b"{\"publicKey\": \"\xff\xfe\"}"), Some(400), None),
        ("bad percent-encoding", request("GET", "/v1/projects/%ZZ/vms", &[AUTH], b""), None, None),
        ("percent-encoded invalid UTF-8", request("GET", "/v1/projects/demo/vms/%FF%FE", &[AUTH], b""), Some(400), Some("INVALID_FIELD")),
        ("encoded slash", request("GET", "/v1/projects/demo%2Fother/vms", &[AUTH], b""), Some(403), None),
        ("dot segments", request("GET", "/v1/projects/../../etc/passwd", &[AUTH], b""), Some(404), None),
        ("double slashes", request("GET", "//v1//projects", &[AUTH], b""), Some(404), None),
        ("trailing slash", request("GET", "/v1/projects/", &[AUTH], b""), Some(404), None),
        ("unicode project", request("GET", "/v1/projects/d%C3%A9mo/vms", &[AUTH], b""), Some(403), None),
        ("long path", request("GET", &long_path, &[AUTH], b""), Some(403), None),
        ("bad query", request("GET", "/v1/data-centers?pageSize=%", &[AUTH], b""), Some(400), None),
        ("query overflow", request("GET", "/v1/data-centers?pageSize=99999999999", &[AUTH], b""), Some(400), None),
        ("wrong method", request("DELETE", "/v1/projects", &[AUTH], b""), Some(405), Some("METHOD_NOT_ALLOWED")),
        ("extension method", request("BREW", "/v1/projects", &[AUTH], b""), Some(405), Some("METHOD_NOT_ALLOWED")),
        ("unknown route", request("GET", "/v2/anything", &[AUTH], b""), Some(404), Some("ROUTE_NOT_FOUND")),
        ("non-UTF-8 key", request("GET", "/v1/projects", &[("authorization", b"Bearer \xff\xfe")], b""), Some(401), Some("API_KEY_INVALID")),
        ("empty key", request("GET", "/v1/projects", &[("authorization", b"Bearer ")], b""), Some(401), Some("API_KEY_INVALID")),
        ("long key", request("GET", "/v1/projects", &[("authorization", format!("Bearer {}", "k".repeat(8000)).as_bytes())], b""), Some(401), Some("API_KEY_INVALID")),
        ("non-ASCII fault header", request("GET", "/v1/projects", &[AUTH, ("x-canon-fault", b"\xff")], b""), Some(400), Some("FAULT_HEADER_INVALID")),
        ("odd If-Match", request("POST", "/v1/projects/demo/vms/none/stop", &[AUTH, ("if-match", b"W/\"x\", *, \"\xff")], b""), Some(404), None),
        ("bad chunked body", b"POST /v1/projects/demo/vm HTTP/1.1\r\nhost: e\r\nauthorization: Bearer demo-key\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\nZZ\r\n{}\r\n0\r\n\r\n".to_vec(), None, None),
        ("HTTP/1.0", b"GET /v1/projects HTTP/1.0\r\nauthorization: Bearer demo-key\r\n\r\n".to_vec(), Some(200), None),
        ("garbage request line", b"HELLO THERE\r\n\r\n".to_vec(), None, None),
        ("admin bad JSON", request("POST", "/_canon/faults", &[JSON], b"{"), Some(400), Some("INVALID_JSON")),
        ("admin bad percent-encoding", request("GET", "/_canon/faults/%FF", &[], b""), Some(400), Some("INVALID_FIELD")),
        ("gcore unknown route", request("GET", "/cloud/v9/nothing", &[], b""), Some(404), None),
    ];
    for (name, bytes, expected_status, expected_reason) in table {
        let reply = server.raw(&bytes).await;
        let status = reply.status();
        assert!(status.is_none_or(|s| s < 500), "{name}: {status:?} {}", String::from_utf8_lossy(&reply.bytes));
        if let Some(expected) = expected_status {
            assert_eq!(status, Some(expected), "{name}: {}", String::from_utf8_lossy(&reply.bytes));
        }
        if let Some(reason) = expected_reason {
            let (_, body) = reply.parts();
            let body: serde_json::Value = serde_json::from_slice(&body).unwrap_or_else(|_| panic!("{name}: not JSON"));
            assert_eq!(body["code"].as_u64(), status.map(u64::from), "{name}");
            let reasons: Vec<&str> =
                body["details"].as_array().unwrap().iter().filter_map(|d| d["reason"].as_str()).collect();
            assert!(reasons.contains(&reason), "{name}: {reasons:?}");
        }
    }
    // The server is still there.
    assert_eq!(server.get("/v1/projects").await.status, 200);
}

#[tokio::test]
async fn the_body_limit_applies_to_every_surface() {
    let server = Server::start().await;
    let big = "x".repeat(BODY_LIMIT);
    for path in ["/v1/projects/demo/vm", "/v1/ssh-keys", "/_canon/faults"] {
        let reply = server.call("POST", path, Some(KEY), Some(json!({"padding": big}))).await;
        assert_eq!(
            (reply.status, reply.json()["details"][0]["reason"].as_str()),
            (400, Some("PAYLOAD_TOO_LARGE")),
            "{path}"
        );
    }
    let fits =
        server.call("POST", "/v1/ssh-keys", Some(KEY), Some(json!({"publicKey": "x".repeat(BODY_LIMIT / 2)}))).await;
    assert_eq!(fits.status, 400);
    assert_eq!(fits.json()["details"][1]["reason"], "INVALID_FIELDS", "{}", fits.text);
}

fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("demo".to_owned()),
        Just("vms".to_owned()),
        Just("vm".to_owned()),
        Just("disks".to_owned()),
        Just("projects".to_owned()),
        Just("%00".to_owned()),
        Just("%ff".to_owned()),
        Just("..".to_owned()),
        "[a-z0-9:%.~-]{0,12}",
    ]
}

fn method() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(Vec::new()),
        Just(br#"{"vmId": "p", "dataCenterId": "gb-bournemouth-1", "machineType": "epyc-rome-cpu"}"#.to_vec()),
        Just(br#"{"id": "d", "dataCenterId": "gb-bournemouth-1", "sizeGib": -1}"#.to_vec()),
        Just(br#"{"machineCount": 999999999999}"#.to_vec()),
        prop::collection::vec(any::<u8>(), 0..64),
        "[\\[\\]{}\":,0-9a-zA-Z -]{0,64}".prop_map(String::into_bytes),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn random_requests_never_get_a_5xx(
        prefix in prop::sample::select(vec!["/v1", "/v1/projects", "/v1/projects/demo", "/_canon", "/cloud/v1"]),
        segments in prop::collection::vec(segment(), 0..4),
        query in "[a-zA-Z=&%0-9-]{0,16}",
        method in method(),
        body in body(),
        authorized in any::<bool>(),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let reply = runtime.block_on(async {
            let server = Server::start().await;
            let path = format!("{prefix}/{}?{query}", segments.join("/"));
            let mut headers = vec![JSON];
            if authorized {
                headers.push(AUTH);
            }
            server.raw(&request(method, &path, &headers, &body)).await
        });
        let status = reply.status();
        prop_assert!(status.is_none_or(|s| s < 500), "{method} {prefix}/{segments:?}?{query}: {}", String::from_utf8_lossy(&reply.bytes));
    }
}
