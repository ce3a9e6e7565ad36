//! A small server that shows every error path of canon-axum.
//!
//! ```text
//! cargo run -p canon-axum --example errors -- [aip193|google|gcore] [--debug]
//! ```
//!
//! It listens on 127.0.0.1:3000 (or `$PORT`). Then try, and watch the
//! `x-request-id` header and the log:
//!
//! ```text
//! # A handler's own error (NOT_FOUND with its ErrorInfo).
//! curl -i localhost:3000/v1/projects/p-1/vms/42
//! # Rejections: INVALID_ARGUMENT naming the field.
//! curl -i localhost:3000/v1/projects/p-1/vms/abc
//! curl -i localhost:3000/v1/projects/p-1/vms -H 'content-type: application/json' \
//!      -d '{"name":"a","spec":{"machineType":"gpu-a100-x2","bootDiskSizeGib":"20","gpuModel":"a100"}}'
//! curl -i localhost:3000/v1/projects/p-1/vms -H 'content-type: application/json' -d '{"name":"a","spec":{}}'
//! curl -i localhost:3000/v1/projects/p-1/vms -H 'content-type: application/json' -d '{"name":"a",'
//! curl -i localhost:3000/v1/projects/p-1/vms -H 'content-type: text/plain' -d 'hello'
//! head -c 5000 /dev/zero | curl -i localhost:3000/v1/projects/p-1/vms -H 'content-type: application/json' --data-binary @-
//! curl -i 'localhost:3000/v1/projects/p-1/vms?limit=ten'
//! curl -i 'localhost:3000/v1/projects/p-1/vms?limit=10&state=FROZEN'
//! # Routing: NOT_FOUND, and 405 with Allow.
//! curl -i localhost:3000/v2/nothing
//! curl -i -X DELETE localhost:3000/v1/projects/p-1/vms
//! # A panic: INTERNAL, and the panic logged with the request id.
//! curl -i localhost:3000/panic -H 'x-request-id: support-ticket-1'
//! # A timeout after 2 s: DEADLINE_EXCEEDED.
//! curl -i localhost:3000/slow
//! # Overload: one request at a time; the second gets UNAVAILABLE.
//! curl -s localhost:3000/hold & sleep 0.2; curl -i localhost:3000/v1/projects/p-1/vms?limit=1
//! # Rate limit: 3 requests per minute per API key; the fourth gets RESOURCE_EXHAUSTED.
//! for i in 1 2 3 4; do curl -i -H 'Authorization: APIKey demo' 'localhost:3000/v1/projects/p-1/vms?limit=1'; done
//! # A foreign error (a bare 401 from old code), rewritten.
//! curl -i localhost:3000/legacy
//! ```
//!
//! With `--debug`, the panic's message comes back as DebugInfo (AIP-193
//! and Google only: Gcore bodies have no place for it).

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::get;
use canon::{Code, Encoding, Status};
use canon_axum::extract::{Json, Path, Query};
use canon_axum::{ApiError, ErrorConfig, ErrorLayers, ErrorService, RateLimitLayer, RequestId};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

const DOMAIN: &str = "compute.example.dev";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct VmPath {
    project_id: String,
    vm_id: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CreateVm {
    name: String,
    spec: VmSpec,
}

#[derive(Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
struct VmSpec {
    machine_type: String,
    boot_disk_size_gib: u32,
    gpu_model: GpuModel,
}

#[derive(Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
enum GpuModel {
    A100,
    H100,
}

#[derive(Deserialize)]
struct ListVms {
    limit: u32,
    state: Option<VmState>,
}

#[derive(Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum VmState {
    Running,
    Stopped,
}

async fn get_vm(Path(path): Path<VmPath>) -> Result<Json<Value>, ApiError> {
    let VmPath { project_id, vm_id } = path;
    let vm_id = vm_id.to_string();
    Err(Status::builder(Code::NotFound, format!("VM '{vm_id}' not found in project '{project_id}'."))
        .error_info("VM_NOT_FOUND", DOMAIN, [("projectId", project_id), ("vmId", vm_id)])
        .build())?
}

async fn create_vm(request_id: RequestId, Path(project_id): Path<String>, Json(body): Json<CreateVm>) -> Json<Value> {
    tracing::info!(%request_id, name = body.name, "creating a VM");
    Json(json!({"projectId": project_id, "name": body.name, "spec": body.spec}))
}

async fn list_vms(Query(query): Query<ListVms>) -> Json<Value> {
    Json(json!({"limit": query.limit, "state": query.state, "vms": []}))
}

async fn panics() -> &'static str {
    panic!("the disk controller caught fire")
}

async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_secs(60)).await;
    "done"
}

async fn hold() -> &'static str {
    tokio::time::sleep(Duration::from_millis(1500)).await;
    "held"
}

async fn legacy() -> (StatusCode, &'static str) {
    (StatusCode::UNAUTHORIZED, "no key")
}

fn app(config: ErrorConfig) -> ErrorService {
    let router = Router::new()
        .route("/v1/projects/{projectId}/vms/{vmId}", get(get_vm))
        .route("/v1/projects/{projectId}/vms", get(list_vms).post(create_vm))
        .route("/panic", get(panics))
        .route("/slow", get(slow))
        .route("/hold", get(hold))
        .route("/legacy", get(legacy))
        .layer(DefaultBodyLimit::max(4096));
    ErrorLayers::new(config)
        .timeout(Duration::from_secs(2))
        .concurrency_limit(1, Duration::from_secs(1))
        .rate_limit(RateLimitLayer::per_api_key(3, Duration::from_secs(60)))
        .apply(router)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt().with_env_filter("info").init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let encoding = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .map(|name| Encoding::from_name(name).unwrap_or_else(|| panic!("unknown dialect {name:?}")))
        .unwrap_or(Encoding::Aip193);
    let debug_info = args.iter().any(|a| a == "--debug");
    let config = ErrorConfig::new(encoding, DOMAIN).with_debug_info(debug_info);

    let port = std::env::var("PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(3000u16);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    tracing::info!(address = %listener.local_addr()?, %encoding, debug_info, "serving; see the example's docs for requests to try");
    axum::serve(listener, app(config)).await
}
