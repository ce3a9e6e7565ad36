//! A test server with every error path, a small HTTP client, and the
//! AIP-193 conformance check every error body must pass.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use std::convert::Infallible;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::response::Response;
use axum::routing::get;
use bytes::Bytes;
use canon::details::DetailKind;
use canon::{Code, Dialect, Encoding, Status};
use canon_axum::extract::{Json, Path, Query};
use canon_axum::panic::CatchPanicLayer;
use canon_axum::{
    ApiError, ErrorConfig, ErrorLayers, ErrorService, OverloadLayer, RateLimitLayer, RequestIdLayer, TimeoutLayer,
};
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tower::Service;

/// The ErrorInfo domain of the test server.
pub(crate) const DOMAIN: &str = "compute.example.dev";
/// The timeout of the test server.
pub(crate) const TIMEOUT: Duration = Duration::from_millis(250);
/// The delay an overloaded test server asks for.
pub(crate) const OVERLOAD_RETRY_AFTER: Duration = Duration::from_secs(2);
/// The body limit of the test server.
pub(crate) const BODY_LIMIT: usize = 1024;
/// The header the test server reads API keys from.
pub(crate) const API_KEY_HEADER: &str = "x-api-key";
/// What the panicking handler panics with.
pub(crate) const PANIC_MESSAGE: &str = "disk controller exploded at 0xdeadbeef";

/// The three dialects, with the error config for each.
pub(crate) const DIALECTS: [Encoding; 3] = [Encoding::Aip193, Encoding::GoogleWrapped, Encoding::Gcore];

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
#[serde(rename_all = "camelCase")]
struct ListVms {
    limit: u32,
    #[serde(default)]
    state: Option<VmState>,
}

#[derive(Deserialize)]
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

async fn create_vm(Path(project_id): Path<String>, Json(body): Json<CreateVm>) -> Result<Json<Value>, ApiError> {
    if body.name == "taken" {
        // No ErrorInfo: the crate adds one.
        return Err(Status::new(Code::AlreadyExists, "A VM named 'taken' already exists.").into());
    }
    Ok(Json(serde_json::json!({"projectId": project_id, "name": body.name, "spec": body.spec})))
}

async fn list_vms(Query(query): Query<ListVms>) -> Json<Value> {
    let state = query.state.map(|s| match s {
        VmState::Running => "RUNNING",
        VmState::Stopped => "STOPPED",
    });
    Json(serde_json::json!({"limit": query.limit, "state": state}))
}

async fn with_debug_info() -> Result<(), ApiError> {
    Err(Status::builder(Code::FailedPrecondition, "The VM is not stopped.")
        .error_info("VM_NOT_STOPPED", DOMAIN, [("vmId", "vm-1")])
        .debug_info(vec!["vm.rs:10".to_owned()], "state was RUNNING")
        .build())?
}

async fn upstream() -> Result<(), ApiError> {
    // A status passed on from an upstream service, with its request id.
    Err(Status::builder(Code::Unavailable, "The image service is down.")
        .error_info("UPSTREAM_UNAVAILABLE", DOMAIN, [("service", "images")])
        .request_id("upstream-42")
        .build())?
}

async fn panics() -> &'static str {
    panic!("{PANIC_MESSAGE}")
}

async fn slow() -> &'static str {
    std::future::pending::<()>().await;
    "never"
}

async fn legacy() -> (StatusCode, [(&'static str, &'static str); 1], &'static str) {
    (StatusCode::UNAUTHORIZED, [("www-authenticate", "APIKey")], "no key")
}

/// The test server: every error path, with every layer.
pub(crate) fn app(config: ErrorConfig, gate: Arc<Gate>) -> ErrorService {
    ErrorLayers::new(config)
        .timeout(TIMEOUT)
        .concurrency_limit(1, OVERLOAD_RETRY_AFTER)
        .rate_limit(rate_limit())
        .apply(router(gate))
}

/// The test server built from the crate's layers one by one, in the order
/// [`ErrorLayers`] documents, with the routing fallbacks.
pub(crate) fn stacked_app(
    config: ErrorConfig,
    gate: Arc<Gate>,
) -> impl Service<axum::extract::Request, Response = Response, Error = Infallible, Future: Send> + Clone + Send + 'static
{
    let router = router(gate)
        .fallback(canon_axum::routing::not_found)
        .method_not_allowed_fallback(canon_axum::routing::method_not_allowed);
    tower::ServiceBuilder::new()
        .layer(RequestIdLayer::new(config))
        .layer(CatchPanicLayer)
        .layer(rate_limit())
        .layer(OverloadLayer::new(1).retry_after(OVERLOAD_RETRY_AFTER))
        .layer(TimeoutLayer::new(TIMEOUT))
        .service(router)
}

/// One request per minute for each key in `x-api-key`.
fn rate_limit() -> RateLimitLayer {
    RateLimitLayer::per_api_key(1, Duration::from_secs(60)).key_header(http::HeaderName::from_static(API_KEY_HEADER))
}

/// The test server's routes.
fn router(gate: Arc<Gate>) -> Router {
    Router::new()
        .route("/v1/projects/{projectId}/vms/{vmId}", get(get_vm))
        .route("/v1/projects/{projectId}/vms", get(list_vms).post(create_vm))
        .route("/debug", get(with_debug_info))
        .route("/upstream", get(upstream))
        .route("/panic", get(panics))
        .route("/slow", get(slow))
        .route("/legacy", get(legacy))
        .route("/ok", get(|| async { Json(serde_json::json!({"ok": true})) }))
        .route(
            "/gate",
            get(move || {
                let gate = Arc::clone(&gate);
                async move {
                    gate.entered.notify_one();
                    gate.release.notified().await;
                    "released"
                }
            }),
        )
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
}

/// Holds `/gate` requests until released.
#[derive(Default)]
pub(crate) struct Gate {
    /// Notified when a request is inside the handler.
    pub(crate) entered: Notify,
    /// Lets a waiting request finish.
    pub(crate) release: Notify,
}

/// The configuration of the test server in a dialect.
pub(crate) fn config(encoding: Encoding, debug_info: bool) -> ErrorConfig {
    ErrorConfig::new(encoding, DOMAIN).with_debug_info(debug_info)
}

/// Serves `app` on 127.0.0.1 and gives its address.
pub(crate) async fn serve<S>(app: S) -> SocketAddr
where
    S: Service<axum::extract::Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1");
    let address = listener.local_addr().expect("local address");
    tokio::spawn(async move { axum::serve(listener, axum::ServiceExt::into_make_service(app)).await.expect("serve") });
    address
}

/// A response as the client sees it.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Reply {
    /// The body as JSON.
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }

    /// A header as text.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().expect("ASCII header"))
    }

    /// The `x-request-id` header.
    pub(crate) fn request_id(&self) -> &str {
        self.header("x-request-id").expect("every response has x-request-id")
    }
}

/// A request to send.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Req {
    pub(crate) method: &'static str,
    pub(crate) path: &'static str,
    pub(crate) headers: &'static [(&'static str, &'static str)],
    pub(crate) body: &'static str,
}

impl Req {
    pub(crate) const fn get(path: &'static str) -> Req {
        Req { method: "GET", path, headers: &[], body: "" }
    }

    pub(crate) const fn post_json(path: &'static str, body: &'static str) -> Req {
        Req { method: "POST", path, headers: &[("content-type", "application/json")], body }
    }
}

/// Sends one request on a new connection.
pub(crate) async fn send(address: SocketAddr, req: &Req) -> Reply {
    send_owned(address, req.method, req.path, req.headers, req.body.as_bytes().to_vec()).await
}

/// Sends one request with an owned body on a new connection.
pub(crate) async fn send_owned(
    address: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Reply {
    let stream = TcpStream::connect(address).await.expect("connect");
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.expect("handshake");
    tokio::spawn(connection);
    let mut request = Request::builder().method(Method::from_bytes(method.as_bytes()).unwrap()).uri(path);
    request = request.header("host", address.to_string());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(Full::new(Bytes::from(body))).expect("request");
    let response = sender.send_request(request).await.expect("response");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.expect("body").to_bytes();
    Reply { status, headers, body }
}

/// The dialect canon must recognise a body of `encoding` as.
fn dialect(encoding: Encoding) -> Dialect {
    match encoding {
        Encoding::Aip193 => Dialect::Aip193,
        Encoding::GoogleWrapped => Dialect::GoogleWrapped,
        Encoding::Gcore => Dialect::Gcore,
        other => panic!("no test dialect for {other}"),
    }
}

/// Checks the rules every error body of the crate must follow, whatever
/// the path: the AIP-193 rules (FACTS.md) on the decoded status, and the
/// envelope rules on the wire.
pub(crate) fn assert_conforms(reply: &Reply, encoding: Encoding, debug_info: bool, context: &str) {
    assert!(reply.status >= 400, "{context}: not an error: {}", reply.status);
    assert_eq!(reply.header("content-type"), Some("application/json"), "{context}: content-type");
    let request_id = reply.request_id();
    assert!(canon_axum::RequestId::parse(request_id).is_some(), "{context}: request id {request_id:?}");

    let decoded = canon::decode(reply.status, &reply.headers, &reply.body);
    assert_eq!(decoded.dialect, dialect(encoding), "{context}: dialect");
    let status = &decoded.status;
    let info = status.error_info().unwrap_or_else(|| panic!("{context}: no ErrorInfo"));
    assert!(is_reason(&info.reason), "{context}: reason {:?}", info.reason);
    assert!(!info.domain.is_empty(), "{context}: empty domain");
    for key in info.metadata.keys() {
        assert!(is_metadata_key(key), "{context}: metadata key {key:?}");
    }
    assert_eq!(status.request_id(), Some(request_id), "{context}: request id in the body");
    assert_eq!(status.has(DetailKind::DebugInfo), debug_info, "{context}: DebugInfo");
    if let Some(delay) = status.retry_delay() {
        let seconds = delay.as_secs() + u64::from(delay.subsec_nanos() > 0);
        assert_eq!(reply.header("retry-after"), Some(seconds.to_string().as_str()), "{context}: Retry-After");
    }

    if encoding != Encoding::Gcore {
        let json = reply.json();
        let envelope = if encoding == Encoding::GoogleWrapped { &json["error"] } else { &json };
        assert_eq!(envelope["code"], reply.status, "{context}: code mirrors the HTTP status");
        assert_eq!(envelope["status"], status.code().name(), "{context}: status");
        let mut types: Vec<&str> =
            envelope["details"].as_array().expect("details").iter().map(|d| d["@type"].as_str().unwrap()).collect();
        let count = types.len();
        types.sort_unstable();
        types.dedup();
        assert_eq!(types.len(), count, "{context}: a detail type appears twice");
    } else {
        let json = reply.json();
        assert_eq!(json["request_id"], request_id, "{context}: Gcore request_id");
    }
}

/// `[A-Z][A-Z0-9_]+[A-Z0-9]`, at most 63 characters.
fn is_reason(reason: &str) -> bool {
    let bytes = reason.as_bytes();
    bytes.len() >= 3
        && bytes.len() <= 63
        && bytes[0].is_ascii_uppercase()
        && bytes.iter().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'_')
        && bytes[bytes.len() - 1] != b'_'
}

/// lowerCamelCase, at most 64 characters. Gcore bodies decode with the
/// class kept under `exceptionClass`, which is such a key too.
fn is_metadata_key(key: &str) -> bool {
    let bytes = key.as_bytes();
    bytes.len() >= 2
        && bytes.len() <= 64
        && bytes[0].is_ascii_lowercase()
        && bytes.iter().all(|b| b.is_ascii_alphanumeric())
}
