//! The admin API over real HTTP: who may call it, projects and keys with
//! chosen scopes and quotas, quotas, capacity, maintenance, transitions,
//! states, the clock, its own AIP-193 errors, and `/openapi.json`.

mod http_support;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ConnectInfo;
use canon_cloud::clock::SystemClock;
use canon_cloud::http::{AdminAccess, AppOptions, AppState, app};
use canon_cloud::{Cloud, CloudConfig, Store};
use http::Request;
use http_body_util::BodyExt;
use http_support::*;
use serde_json::{Value, json};
use tower::ServiceExt;

#[tokio::test]
async fn by_default_the_admin_api_answers_loopback_clients_only() {
    let server = Server::start().await;
    assert_eq!(server.call("GET", "/_canon/health", None, None).await.json()["status"], "ok");

    let cloud = Cloud::new(Store::in_memory().unwrap(), Arc::new(SystemClock), CloudConfig::default()).unwrap();
    let router = app(AppState { cloud: Arc::new(cloud) }, &AppOptions::default());
    let table = [("10.1.2.3:5000", 403), ("[2001:db8::1]:5000", 403), ("127.0.0.1:5000", 200), ("[::1]:5000", 200)];
    for (peer, status) in table {
        let mut request = Request::get("/_canon/health").body(Body::empty()).unwrap();
        request.extensions_mut().insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
        let response = router.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), status, "{peer}");
        if status == 403 {
            let body: Value =
                serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap();
            assert_eq!(body["details"][0]["reason"], "ADMIN_LOOPBACK_ONLY");
        }
    }
}

#[tokio::test]
async fn with_a_token_the_admin_api_answers_whoever_sends_it_and_nobody_else() {
    let server = Server::with(Setup { admin: AdminAccess::Token("s3cret".to_owned()), ..Setup::default() }).await;
    let table: &[(Option<&str>, u16)] = &[
        (None, 401),
        (Some("Bearer wrong"), 401),
        (Some("s3cret"), 401),
        (Some("Bearer s3cret"), 200),
        (Some("bearer s3cret"), 200),
    ];
    for &(header, status) in table {
        let headers: Vec<(&str, &str)> = header.map(|h| ("authorization", h)).into_iter().collect();
        let reply = server.send("GET", "/_canon/faults", None, None, &headers).await;
        assert_eq!(reply.status, status, "{header:?}");
        if status == 401 {
            assert_eq!(reply.json()["details"][0]["reason"], "ADMIN_TOKEN_INVALID");
        }
    }
    // The emulated API is unaffected.
    assert_eq!(server.get("/v1/projects").await.status, 200);
}

#[tokio::test]
async fn projects_and_keys_are_made_with_chosen_scopes_and_quotas() {
    let server = Server::start().await;
    let project = server.call("POST", "/_canon/projects", None, Some(json!({"id": "team-a", "gpuQuota": 4}))).await;
    assert_eq!(project.status, 201);
    assert_eq!(project.json()["id"], "team-a");
    assert_eq!(project.json()["billingAccountId"], "billing-team-a");
    let made = server
        .call(
            "POST",
            "/_canon/projects/team-a/keys",
            None,
            Some(json!({"name": "ci", "scopes": ["read:machines", "write:machines"]})),
        )
        .await;
    assert_eq!(made.status, 201);
    let made = made.json();
    let secret = made["secret"].as_str().unwrap();
    assert!(secret.starts_with("ck_"), "{made}");
    assert_eq!(made["key"]["scopes"], json!(["read:machines", "write:machines"]));
    // The secret is shown once: the list has only the records.
    let keys = server.admin("GET", "/_canon/projects/team-a/keys", None).await;
    assert_eq!(keys["keys"].as_array().unwrap().len(), 1);
    assert!(!keys.to_string().contains(secret));

    let vm = json!({"vmId": "vm-1", "dataCenterId": DC, "machineType": "gpu-a100-x4"});
    assert_eq!(server.call("POST", "/v1/projects/team-a/vm", Some(secret), Some(vm)).await.status, 200);
    let over = json!({"vmId": "vm-2", "dataCenterId": DC, "machineType": "gpu-a100-x2"});
    let reply = server.call("POST", "/v1/projects/team-a/vm", Some(secret), Some(over)).await;
    assert_eq!(
        (reply.status, reply.json()["details"][2]["reason"].as_str()),
        (429, Some("GPU_QUOTA_EXCEEDED")),
        "{}",
        reply.text
    );
    let disks = server.call("GET", "/v1/projects/team-a/disks", Some(secret), None).await;
    assert_eq!(
        (disks.status, disks.json()["details"][0]["metadata"]["requiredScope"].as_str()),
        (403, Some("read:disks"))
    );

    let text = server
        .call("POST", "/_canon/projects/team-a/keys", None, Some(json!({"scopes": "*", "value": "my-own-key"})))
        .await;
    assert_eq!((text.status, text.json()["secret"].as_str()), (201, Some("my-own-key")));
    assert_eq!(server.call("GET", "/v1/projects/team-a/disks", Some("my-own-key"), None).await.status, 200);

    let key_id = made["key"]["id"].as_str().unwrap();
    server.admin("DELETE", &format!("/_canon/keys/{key_id}"), None).await;
    assert_eq!(server.call("GET", "/v1/projects/team-a/vms", Some(secret), None).await.status, 401);

    let bad_scope =
        server.call("POST", "/_canon/projects/team-a/keys", None, Some(json!({"scopes": ["read:everything"]}))).await;
    assert_eq!(
        (bad_scope.status, bad_scope.json()["details"][0]["fieldViolations"][0]["field"].as_str()),
        (400, Some("scopes"))
    );
    let taken = server.call("POST", "/_canon/projects", None, Some(json!({"id": "team-a"}))).await;
    assert_eq!((taken.status, taken.json()["status"].as_str()), (409, Some("ALREADY_EXISTS")));
    let nowhere = server.call("POST", "/_canon/projects/nowhere/keys", None, Some(json!({"scopes": "*"}))).await;
    assert_eq!(nowhere.status, 404);
    let listed = server.admin("GET", "/_canon/projects", None).await;
    let ids: Vec<&str> = listed["projects"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["demo", "team-a"]);
}

#[tokio::test]
async fn quotas_and_capacity_are_set_and_enforced() {
    let server = Server::start().await;
    let quota =
        server.admin("PUT", &format!("/_canon/projects/demo/quotas/{DC}/gpu-a100"), Some(json!({"limit": 2}))).await;
    assert_eq!(
        quota,
        json!({"projectId": "demo", "dataCenterId": DC, "gpuModelId": "gpu-a100", "limit": 2, "used": 0,
        "subject": "projects/demo/dataCenterIds/gb-bournemouth-1/gpuModelId:gpu-a100"})
    );
    server.create_vm("vm-1", "gpu-a100-x2").await;
    let over = server
        .post("/v1/projects/demo/vm", json!({"vmId": "vm-2", "dataCenterId": DC, "machineType": "gpu-a100-x2"}))
        .await;
    assert_eq!(over.status, 429);
    server.admin("DELETE", &format!("/_canon/projects/demo/quotas/{DC}/gpu-a100"), None).await;
    server.create_vm("vm-2", "gpu-a100-x2").await;
    let again = server.call("DELETE", &format!("/_canon/projects/demo/quotas/{DC}/gpu-a100"), None, None).await;
    assert_eq!((again.status, again.json()["details"][0]["reason"].as_str()), (404, Some("QUOTA_NOT_FOUND")));

    let capacity =
        server.admin("PUT", &format!("/_canon/capacity/{DC}/gpu-h100-x8"), Some(json!({"capacity": 0}))).await;
    assert_eq!(
        capacity,
        json!({"dataCenterId": DC, "machineTypeId": "gpu-h100-x8", "capacity": 0, "inUse": 0, "free": 0})
    );
    let full = server
        .post("/v1/projects/demo/vm", json!({"vmId": "vm-3", "dataCenterId": DC, "machineType": "gpu-h100-x8"}))
        .await;
    assert_eq!(
        (full.status, full.json()["details"][0]["reason"].as_str()),
        (429, Some("MACHINE_TYPE_UNAVAILABLE")),
        "{}",
        full.text
    );
    let all = server.admin("GET", "/_canon/capacity", None).await;
    let a100 = all["machineTypes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["dataCenterId"] == DC && m["machineTypeId"] == "gpu-a100-x2")
        .unwrap()
        .clone();
    assert_eq!((a100["inUse"].as_u64(), a100["free"].as_u64()), (Some(2), Some(6)));
    let unknown =
        server.call("PUT", &format!("/_canon/capacity/{DC}/gpu-z9"), None, Some(json!({"capacity": 1}))).await;
    assert_eq!(unknown.status, 404);
}

#[tokio::test]
async fn maintenance_windows_are_announced_listed_and_ended() {
    let server = Server::start().await;
    let window = server
        .admin(
            "PUT",
            &format!("/_canon/maintenance/{DC}"),
            Some(json!({"startsAt": "2023-11-14T23:00:00Z", "endsAt": "2023-11-15T01:00:00Z"})),
        )
        .await;
    assert_eq!(window["active"], false);
    server.create_vm("before-the-window", "epyc-rome-cpu").await;
    server.admin("POST", "/_canon/clock:advance", Some(json!({"by": "1h"}))).await;
    let listed = server.admin("GET", "/_canon/maintenance", None).await;
    assert_eq!(listed["windows"][0]["active"], true);
    let reply = server
        .post(
            "/v1/projects/demo/vm",
            json!({"vmId": "in-the-window", "dataCenterId": DC, "machineType": "epyc-rome-cpu"}),
        )
        .await;
    assert_eq!((reply.status, reply.header("retry-after")), (503, Some("6400")));
    for bad in [
        json!({}),
        json!({"endsAt": "tomorrow"}),
        json!({"duration": "soon"}),
        json!({"duration": "1m", "endsAt": "2023-11-15T01:00:00Z"}),
    ] {
        let reply = server.call("PUT", &format!("/_canon/maintenance/{DC}"), None, Some(bad.clone())).await;
        assert_eq!(reply.status, 400, "{bad}");
    }
    server.admin("DELETE", &format!("/_canon/maintenance/{DC}"), None).await;
    server.create_vm("in-the-window", "epyc-rome-cpu").await;
}

#[tokio::test]
async fn transitions_states_and_the_clock_are_under_the_operators_control() {
    let server = Server::start().await;
    assert_eq!(server.admin("GET", "/_canon/transitions", None).await, json!({"mode": "immediate"}));
    assert_eq!(
        server.admin("PUT", "/_canon/transitions", Some(json!({"mode": "manual"}))).await,
        json!({"mode": "manual"})
    );
    assert_eq!(server.create_vm("vm-1", "epyc-rome-cpu").await["vm"]["state"], "PENDING");
    let advance = json!({"kind": "vm", "projectId": "demo", "id": "vm-1"});
    server.admin("POST", "/_canon/transitions:advance", Some(advance.clone())).await;
    assert_eq!(server.get("/v1/projects/demo/vms/vm-1").await.json()["VM"]["state"], "ACTIVE");
    let nothing = server.call("POST", "/_canon/transitions:advance", None, Some(advance)).await;
    assert_eq!((nothing.status, nothing.json()["details"][0]["reason"].as_str()), (400, Some("NO_PENDING_TRANSITION")));

    server.post("/v1/projects/demo/vms/vm-1/stop", json!({})).await;
    let all = server.admin("POST", "/_canon/transitions:advance", Some(json!({}))).await;
    assert_eq!(all["transitions"], 1);
    assert_eq!(server.get("/v1/projects/demo/vms/vm-1").await.json()["VM"]["state"], "STOPPED");

    server
        .admin(
            "POST",
            "/_canon/state",
            Some(json!({"kind": "vm", "projectId": "demo", "id": "vm-1", "state": "FAILED"})),
        )
        .await;
    assert_eq!(server.get("/v1/projects/demo/vms/vm-1").await.json()["VM"]["shortState"], "failed");

    server.admin("PUT", "/_canon/transitions", Some(json!({"mode": "30s"}))).await;
    assert_eq!(server.create_vm("vm-2", "epyc-rome-cpu").await["vm"]["state"], "PENDING");
    let clock = server.admin("POST", "/_canon/clock:advance", Some(json!({"by": "30s"}))).await;
    assert_eq!(clock, json!({"now": "2023-11-14T22:13:50Z", "manual": true}));
    assert_eq!(server.get("/v1/projects/demo/vms/vm-2").await.json()["VM"]["state"], "ACTIVE");
    let set = server.admin("PUT", "/_canon/clock", Some(json!({"now": "2024-01-01T00:00:00Z"}))).await;
    assert_eq!(set["now"], "2024-01-01T00:00:00Z");

    let table = [
        ("PUT", "/_canon/transitions", json!({"mode": "later"})),
        ("POST", "/_canon/transitions:advance", json!({"kind": "vm"})),
        ("POST", "/_canon/transitions:advance", json!({"kind": "robot", "projectId": "demo", "id": "x"})),
        ("POST", "/_canon/state", json!({"kind": "vm", "projectId": "demo", "id": "vm-1", "state": "RUNNING"})),
        ("POST", "/_canon/clock:advance", json!({"by": "forever"})),
        ("PUT", "/_canon/clock", json!({"now": "noon"})),
    ];
    for (method, path, body) in table {
        let reply = server.call(method, path, None, Some(body.clone())).await;
        assert_eq!(
            (reply.status, reply.json()["status"].as_str()),
            (400, Some("INVALID_ARGUMENT")),
            "{method} {path} {body}"
        );
    }
}

#[tokio::test]
async fn the_system_clock_cannot_be_moved() {
    let cloud = Cloud::new(Store::in_memory().unwrap(), Arc::new(SystemClock), CloudConfig::default()).unwrap();
    let router = app(AppState { cloud: Arc::new(cloud) }, &AppOptions::default());
    let request = Request::post("/_canon/clock:advance")
        .header("content-type", "application/json")
        .body(Body::from(r#"{"by": "1h"}"#))
        .unwrap();
    let response = router.oneshot(request).await.unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(body["details"][0]["reason"], "CLOCK_NOT_MANUAL");
}

#[tokio::test]
async fn admin_errors_are_aip_193_and_admin_calls_are_not_journaled() {
    let server = Server::start().await;
    let table = [
        ("GET", "/_canon/faults/none", None, 404, "FAULT_RULE_NOT_FOUND"),
        ("DELETE", "/_canon/faults/none", None, 404, "FAULT_RULE_NOT_FOUND"),
        (
            "POST",
            "/_canon/faults",
            Some(json!({"mode": {"everyNth": 0}, "effect": {"transport": "reset"}})),
            400,
            "INVALID_FIELDS",
        ),
        ("POST", "/_canon/faults", Some(json!({"effect": {"teleport": true}})), 400, "INVALID_FIELD"),
        ("GET", "/_canon/nothing", None, 404, "ROUTE_NOT_FOUND"),
        ("PATCH", "/_canon/faults", None, 405, "METHOD_NOT_ALLOWED"),
        ("DELETE", "/_canon/keys/none", None, 404, "API_KEY_NOT_FOUND"),
    ];
    for (method, path, body, status, reason) in table {
        let reply = server.call(method, path, None, body).await;
        assert_eq!(reply.status, status, "{method} {path}: {}", reply.text);
        let json = reply.json();
        assert_eq!(json["code"], status, "{method} {path}");
        let info = json["details"].as_array().unwrap().iter().find(|d| d["@type"] == ERROR_INFO).unwrap().clone();
        assert_eq!((info["reason"].as_str(), info["domain"].as_str()), (Some(reason), Some(DOMAIN)), "{method} {path}");
    }
    add_then_count(&server).await;
}

async fn add_then_count(server: &Server) {
    let rule =
        server.call("POST", "/_canon/faults", None, Some(json!({"id": "taken", "effect": {"latency": "1ms"}}))).await;
    assert_eq!(rule.status, 201);
    let taken =
        server.call("POST", "/_canon/faults", None, Some(json!({"id": "taken", "effect": {"latency": "1ms"}}))).await;
    assert_eq!((taken.status, taken.json()["details"][0]["reason"].as_str()), (409, Some("FAULT_RULE_ALREADY_EXISTS")));
    let journal = server.admin("GET", "/_canon/journal", None).await;
    assert_eq!(journal["entries"], json!([]));
}

#[tokio::test]
async fn the_openapi_document_describes_the_cudo_surface_the_admin_api_and_the_error_schema() {
    let server = Server::start().await;
    let reply = server.call("GET", "/openapi.json", None, None).await;
    assert_eq!((reply.status, reply.header("content-type")), (200, Some("application/json")));
    let doc = reply.json();
    for path in [
        "/v1/projects",
        "/v1/projects/{projectId}/vm",
        "/v1/projects/{projectId}/vms/{id}",
        "/v1/ssh-keys",
        "/_canon/faults",
        "/_canon/journal",
    ] {
        assert!(doc["paths"][path].is_object(), "{path}");
    }
    assert_eq!(doc["paths"]["/v1/projects/{projectId}/vm"]["post"]["operationId"], "CreateVM");
    assert_eq!(doc["components"]["schemas"]["Any"]["required"], json!(["@type"]));
    assert_eq!(doc["components"]["securitySchemes"]["bearerAuth"]["scheme"], "bearer");
    let post = server.call("POST", "/openapi.json", None, None).await;
    assert_eq!(post.status, 405);
}
