//! A real emulator on 127.0.0.1:0, served by canon's own accept loop, and
//! small clients: reqwest for ordinary requests, raw TCP for what reqwest
//! will not send or cannot see.

#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use canon::Encoding;
use canon_cloud::clock::{ManualClock, Timestamp, TransitionMode};
use canon_cloud::http::{AdminAccess, AppOptions, AppState, app, server};
use canon_cloud::{Cloud, CloudConfig, Store};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

/// The demo project's key in every test server.
pub const KEY: &str = "demo-key";
/// The demo project.
pub const PROJECT: &str = "demo";
/// A data center of the catalog.
pub const DC: &str = "gb-bournemouth-1";
/// The default ErrorInfo domain.
pub const DOMAIN: &str = "compute.cudo.dev";
/// 2023-11-14T22:13:20Z.
pub const START: Timestamp = Timestamp::from_millis(1_700_000_000_000);
/// The body limit of test servers.
pub const BODY_LIMIT: usize = 64 * 1024;

pub const ERROR_INFO: &str = "type.googleapis.com/google.rpc.ErrorInfo";
pub const REQUEST_INFO: &str = "type.googleapis.com/google.rpc.RequestInfo";
pub const BAD_REQUEST: &str = "type.googleapis.com/google.rpc.BadRequest";
pub const RETRY_INFO: &str = "type.googleapis.com/google.rpc.RetryInfo";
pub const QUOTA_FAILURE: &str = "type.googleapis.com/google.rpc.QuotaFailure";
pub const DEBUG_INFO: &str = "type.googleapis.com/google.rpc.DebugInfo";

/// How a test server is made.
#[derive(Debug, Clone)]
pub struct Setup {
    pub transitions: TransitionMode,
    pub encoding: Encoding,
    pub debug: bool,
    pub domain: String,
    pub admin: AdminAccess,
    pub seed: u64,
}

impl Default for Setup {
    fn default() -> Setup {
        Setup {
            transitions: TransitionMode::Immediate,
            encoding: Encoding::Aip193,
            debug: false,
            domain: DOMAIN.to_owned(),
            admin: AdminAccess::LoopbackOnly,
            seed: 7,
        }
    }
}

/// A running emulator.
pub struct Server {
    pub base: String,
    pub addr: SocketAddr,
    pub cloud: Arc<Cloud>,
    pub clock: Arc<ManualClock>,
    pub http: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Reply {
    /// The body as JSON (`null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }

    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The request id the server sent.
    pub fn request_id(&self) -> String {
        self.header("x-request-id").expect("every response has a request id").to_owned()
    }

    /// The body, which must be `expected` with the response's RequestInfo
    /// appended to `details`.
    #[track_caller]
    pub fn assert_error(&self, status: u16, mut expected: Value) {
        assert_eq!(self.status, status, "{}", self.text);
        expected["details"]
            .as_array_mut()
            .expect("details")
            .push(json!({"@type": REQUEST_INFO, "requestId": self.request_id()}));
        assert_eq!(self.json(), expected, "\n got  {}\n want {}", self.text, expected);
    }
}

/// An ErrorInfo detail in the default domain.
pub fn info(reason: &str, metadata: Value) -> Value {
    let mut detail = json!({"@type": ERROR_INFO, "reason": reason, "domain": DOMAIN});
    if metadata.as_object().is_some_and(|m| !m.is_empty()) {
        detail["metadata"] = metadata;
    }
    detail
}

impl Server {
    /// A server with the default setup.
    pub async fn start() -> Server {
        Server::with(Setup::default()).await
    }

    /// A server on an in-memory store and a manual clock at [`START`],
    /// with the demo project bootstrapped under [`KEY`].
    pub async fn with(setup: Setup) -> Server {
        Server::on_store(setup, Store::in_memory().unwrap()).await
    }

    /// As [`Server::with`], on a given store.
    pub async fn on_store(setup: Setup, store: Store) -> Server {
        let clock = Arc::new(ManualClock::new(START));
        let config = CloudConfig {
            error_domain: setup.domain.clone(),
            debug: setup.debug,
            transition_mode: setup.transitions,
            id_seed: Some(setup.seed),
            ..CloudConfig::default()
        };
        let cloud = Arc::new(Cloud::new(store, clock.clone(), config).unwrap());
        cloud.admin().bootstrap(KEY).unwrap();
        let options = AppOptions { encoding: setup.encoding, body_limit: BODY_LIMIT, admin: setup.admin.clone() };
        let router = app(AppState { cloud: Arc::clone(&cloud) }, &options);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(server::serve(listener, router, async {
            let _ = stopped.await;
        }));
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        Server { base: format!("http://{addr}"), addr, cloud, clock, http, stop: Some(stop) }
    }

    /// Sends a request with the demo key, or `key`, and optional JSON.
    pub async fn call(&self, method: &str, path: &str, key: Option<&str>, body: Option<Value>) -> Reply {
        self.send(method, path, key, body, &[]).await
    }

    /// Sends a request with extra headers.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(key) = key {
            request = request.header("authorization", format!("Bearer {key}"));
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("the server answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        Reply { status, headers, text }
    }

    /// GET with the demo key.
    pub async fn get(&self, path: &str) -> Reply {
        self.call("GET", path, Some(KEY), None).await
    }

    /// POST JSON with the demo key.
    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.call("POST", path, Some(KEY), Some(body)).await
    }

    /// An admin call; it must succeed.
    pub async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let reply = self.call(method, path, None, body).await;
        assert!(reply.status < 300, "{method} {path}: {} {}", reply.status, reply.text);
        reply.json()
    }

    /// Creates a VM of `machine_type` in [`DC`]; it must succeed.
    pub async fn create_vm(&self, id: &str, machine_type: &str) -> Value {
        let body = json!({"vmId": id, "dataCenterId": DC, "machineType": machine_type});
        let reply = self.post(&format!("/v1/projects/{PROJECT}/vm"), body).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        reply.json()
    }

    /// A new API key of `project` with these scopes (the project is made
    /// first when it does not exist, with a GPU quota of 16).
    pub async fn key(&self, project: &str, scopes: &str) -> String {
        let projects = self.admin("GET", "/_canon/projects", None).await;
        let exists = projects["projects"].as_array().unwrap().iter().any(|p| p["id"] == project);
        if !exists {
            self.admin("POST", "/_canon/projects", Some(json!({"id": project, "gpuQuota": 16}))).await;
        }
        let made =
            self.admin("POST", &format!("/_canon/projects/{project}/keys"), Some(json!({"scopes": scopes}))).await;
        made["secret"].as_str().unwrap().to_owned()
    }

    /// Sends raw bytes on a fresh connection and reads until the server
    /// closes it, an error, or 5 seconds.
    pub async fn raw(&self, request: &[u8]) -> RawReply {
        let mut stream = TcpStream::connect(self.addr).await.unwrap();
        stream.write_all(request).await.unwrap();
        let mut bytes = Vec::new();
        let mut buffer = [0u8; 8192];
        let outcome = loop {
            match tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buffer)).await {
                Err(_) => break RawEnd::StillOpen,
                Ok(Ok(0)) => break RawEnd::Closed,
                Ok(Ok(n)) => {
                    bytes.extend_from_slice(&buffer[..n]);
                    if complete(&bytes) {
                        break RawEnd::Complete;
                    }
                }
                Ok(Err(error)) if error.kind() == std::io::ErrorKind::ConnectionReset => break RawEnd::Reset,
                Ok(Err(error)) => panic!("read failed: {error}"),
            }
        };
        RawReply { bytes, end: outcome }
    }
}

/// How a raw exchange ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawEnd {
    /// A whole response arrived (per its Content-Length).
    Complete,
    /// The server closed the connection (FIN).
    Closed,
    /// The server reset the connection (RST).
    Reset,
    /// Nothing more came for 5 seconds.
    StillOpen,
}

/// What came back on a raw connection.
#[derive(Debug)]
pub struct RawReply {
    pub bytes: Vec<u8>,
    pub end: RawEnd,
}

impl RawReply {
    /// The status code of the first response, if one arrived.
    pub fn status(&self) -> Option<u16> {
        let text = String::from_utf8_lossy(&self.bytes);
        let rest = text.strip_prefix("HTTP/1.1 ").or_else(|| text.strip_prefix("HTTP/1.0 "))?;
        rest.get(..3)?.parse().ok()
    }

    /// The head and the body of the first response.
    pub fn parts(&self) -> (String, Vec<u8>) {
        let end = find(&self.bytes, b"\r\n\r\n").expect("a response head");
        (String::from_utf8_lossy(&self.bytes[..end]).into_owned(), self.bytes[end + 4..].to_vec())
    }

    /// A header of the first response.
    pub fn header(&self, name: &str) -> Option<String> {
        let (head, _) = self.parts();
        head.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim().to_owned())
        })
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Whether `bytes` hold a whole response with a Content-Length body.
fn complete(bytes: &[u8]) -> bool {
    let Some(end) = find(bytes, b"\r\n\r\n") else { return false };
    let head = String::from_utf8_lossy(&bytes[..end]).to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:").map(|v| v.trim().parse::<usize>().unwrap_or(0)))
        .unwrap_or(0);
    bytes.len() >= end + 4 + length
}
