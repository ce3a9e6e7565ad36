//! The HTTP surfaces of the emulator: the CUDO-shaped API under `/v1`, the
//! Gcore-shaped API under `/cloud`, both over the same [`Cloud`], and the
//! operator's API under `/_canon`.
//!
//! [`app`] builds the whole server as one axum [`Router`]; [`server::serve`]
//! serves it with an accept loop that can also break connections on
//! purpose (transport faults). Requests are routed by path prefix:
//!
//! | path | what | errors |
//! |------|------|--------|
//! | `/cloud`, `/cloud/...` | the Gcore surface ([`gcore`]) | Gcore envelope, domain `api.gcore.com` |
//! | `/_canon/...` | the admin API ([`admin`]) | AIP-193 |
//! | `/openapi.json` | the OpenAPI document ([`openapi`]) | AIP-193 |
//! | anything else | the CUDO surface ([`cudo`]) | AIP-193 bare (or grpc-gateway, see [`AppOptions::encoding`]) |
//!
//! # One request, on either surface
//!
//! Each surface is wrapped by [`surface`], outermost first, in the request
//! journal, canon-axum's layers in the surface's dialect (request id,
//! panics, body limit, routing fallbacks), and fault injection (the
//! `x-canon-fault` header and the fault rules). So a request:
//!
//! 1. gets a request id: its own `x-request-id` when well-formed, else the
//!    next one of the cloud's seeded generator, echoed on the response and
//!    written into every error body;
//! 2. meets the faults: a malformed `x-canon-fault` is INVALID_ARGUMENT
//!    naming the header; a valid one forces its error; otherwise the rules
//!    may add latency, answer with an error, or break the connection;
//! 3. is authenticated and handled by the domain, in a blocking thread
//!    (SQLite);
//! 4. is journaled with its method, path, project, status, canonical code,
//!    request id, the fault applied and its duration.
//!
//! The admin API is not journaled and not subject to faults.
//!
//! ```
//! use std::sync::Arc;
//! use axum::body::Body;
//! use canon_cloud::clock::SystemClock;
//! use canon_cloud::http::{AppOptions, AppState, app};
//! use canon_cloud::{Cloud, CloudConfig, Store};
//! use http::Request;
//! use tower::ServiceExt;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let cloud = Cloud::new(Store::in_memory().unwrap(), Arc::new(SystemClock), CloudConfig::default()).unwrap();
//! cloud.admin().bootstrap("demo-key").unwrap();
//! let router = app(AppState { cloud: Arc::new(cloud) }, &AppOptions::default());
//!
//! let request = Request::get("/v1/projects").header("authorization", "Bearer demo-key").body(Body::empty()).unwrap();
//! assert_eq!(router.clone().oneshot(request).await.unwrap().status(), 200);
//!
//! let request = Request::get("/v1/projects").body(Body::empty()).unwrap();
//! assert_eq!(router.oneshot(request).await.unwrap().status(), 401);
//! # }
//! ```

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use axum::routing::future::RouteFuture;
use bytes::Bytes;
use canon::{Encoding, Status};
use canon_axum::routing::{method_not_allowed, not_found};
use canon_axum::{ApiError, ErrorConfig, RequestIdLayer};
use http::HeaderValue;
use http::header::CONTENT_TYPE;
use tower::{Service, ServiceBuilder};

use crate::Cloud;
use crate::errors::Errors;

pub mod admin;
pub mod cudo;
pub mod gcore;
mod json;
mod middleware;
pub mod openapi;
pub mod paging;
mod repoll;
pub mod server;

pub use middleware::ProjectOf;

/// What every handler of both surfaces shares.
#[derive(Clone)]
pub struct AppState {
    /// The emulated cloud: domain, store, clock, faults and journal.
    pub cloud: Arc<Cloud>,
}

/// The largest request body [`AppOptions::default`] accepts: 1 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 1 << 20;

/// The ErrorInfo domain of the Gcore surface's own errors.
pub const GCORE_DOMAIN: &str = "api.gcore.com";

/// Who may use the admin API.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum AdminAccess {
    /// Clients on the loopback interface only (the default): anyone who
    /// can reach a server bound to 127.0.0.1 is its operator anyway.
    #[default]
    LoopbackOnly,
    /// Anyone who sends `Authorization: Bearer <token>` with this token,
    /// from anywhere; nobody else, loopback included.
    Token(String),
}

/// How [`app`] builds the server. The ErrorInfo domain and the DebugInfo
/// switch come from the cloud's [`CloudConfig`](crate::CloudConfig), so
/// that the domain's errors and the HTTP layer's agree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppOptions {
    /// The dialect of the CUDO surface: [`Encoding::Aip193`] (bare, `code`
    /// mirrors the HTTP status, as the CUDO page shows) or
    /// [`Encoding::GrpcGateway`] (`code` is the gRPC number, no `status`,
    /// as some real CUDO traffic looks).
    pub encoding: Encoding,
    /// The largest request body, in bytes; larger ones are
    /// INVALID_ARGUMENT `PAYLOAD_TOO_LARGE`.
    pub body_limit: usize,
    /// Who may use the admin API.
    pub admin: AdminAccess,
}

impl Default for AppOptions {
    fn default() -> AppOptions {
        AppOptions { encoding: Encoding::Aip193, body_limit: DEFAULT_BODY_LIMIT, admin: AdminAccess::LoopbackOnly }
    }
}

/// The whole server: both surfaces, the admin API and `/openapi.json`,
/// routed by path prefix. See the [module docs](self).
pub fn app(state: AppState, options: &AppOptions) -> Router {
    let config = state.cloud.config();
    let cudo_config = ErrorConfig::new(options.encoding, config.error_domain.clone()).with_debug_info(config.debug);
    let admin_config = ErrorConfig::new(Encoding::Aip193, config.error_domain.clone()).with_debug_info(config.debug);
    let gcore_config = ErrorConfig::new(Encoding::Gcore, GCORE_DOMAIN).with_debug_info(config.debug);

    let cudo = surface(cudo::router(), cudo_config, state.clone(), cudo_project, options.body_limit);
    let gcore = surface(gcore::router(), gcore_config, state.clone(), gcore_project, options.body_limit);
    let admin = admin::router(state, options.admin.clone(), admin_config.clone(), options.body_limit);
    let docs = wrap_errors(openapi::router(), admin_config, options.body_limit);
    Router::new().fallback_service(Dispatch { cudo, gcore, admin, docs })
}

/// The service behind [`app`]'s router: sends each request to its part of
/// the server by path prefix, calling that part's router in place (no clone
/// of it, no boxed future of its own).
#[derive(Clone)]
struct Dispatch {
    cudo: Router,
    gcore: Router,
    admin: Router,
    docs: Router,
}

impl Service<Request> for Dispatch {
    type Response = Response;
    type Error = Infallible;
    type Future = RouteFuture<Infallible>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // axum's routers are always ready.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> RouteFuture<Infallible> {
        let router = match Prefix::of(request.uri().path()) {
            Prefix::Cudo => &mut self.cudo,
            Prefix::Gcore => &mut self.gcore,
            Prefix::Admin => &mut self.admin,
            Prefix::Docs => &mut self.docs,
        };
        router.call(request)
    }
}

/// Which part of the server a path belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prefix {
    Cudo,
    Gcore,
    Admin,
    Docs,
}

impl Prefix {
    fn of(path: &str) -> Prefix {
        let under =
            |prefix: &str| path.strip_prefix(prefix).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
        if under("/cloud") {
            Prefix::Gcore
        } else if under("/_canon") {
            Prefix::Admin
        } else if path == openapi::PATH {
            Prefix::Docs
        } else {
            Prefix::Cudo
        }
    }
}

/// Wraps one surface's router: the journal outermost, then canon-axum's
/// layers configured by `config` (request id, panics, body limit, and the
/// `NOT_FOUND` and `405` fallbacks), then fault injection innermost, so
/// that an injected error comes out in the surface's dialect. `project_of`
/// finds the project a request is about from its path.
///
/// The journal and the faults are tower services of their own (the
/// `middleware` module) rather than `axum::middleware::from_fn`, which clones
/// and boxes its inner service and boxes futures on every request.
pub fn surface(
    router: Router<AppState>,
    config: ErrorConfig,
    state: AppState,
    project_of: ProjectOf,
    body_limit: usize,
) -> Router {
    let errors = if config.encoding() == Encoding::Gcore {
        Errors::new(config.domain().to_owned()).with_debug(config.debug_info())
    } else {
        state.cloud.errors().clone()
    };
    let context = Arc::new(middleware::SurfaceContext { cloud: Arc::clone(&state.cloud), project_of, errors });
    let router = router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::FaultsLayer::new(Arc::clone(&context)))
        .layer(
            ServiceBuilder::new()
                .layer(middleware::JournalLayer::new(context))
                .layer(request_id_layer(config))
                .layer(canon_axum::panic::CatchPanicLayer)
                .layer(DefaultBodyLimit::max(body_limit)),
        );
    router.with_state(state)
}

/// canon-axum's layers and fallbacks around a router that is neither
/// journaled nor subject to faults.
fn wrap_errors(router: Router, config: ErrorConfig, body_limit: usize) -> Router {
    router.fallback(not_found).method_not_allowed_fallback(method_not_allowed).layer(
        ServiceBuilder::new()
            .layer(request_id_layer(config))
            .layer(canon_axum::panic::CatchPanicLayer)
            .layer(DefaultBodyLimit::max(body_limit)),
    )
}

/// canon-axum's request-id layer as the server uses it: each request's span
/// (`request`, with its id, method and path) is opened at DEBUG, not
/// canon-axum's default INFO. The server logs nothing per request at INFO,
/// and a span that the INFO log's subscriber records costs some 8,000
/// instructions a request (about 6 % of a `create`); `RUST_LOG=debug`
/// brings the spans back.
pub(crate) fn request_id_layer(config: ErrorConfig) -> RequestIdLayer {
    RequestIdLayer::new(config).span_level(tracing::Level::DEBUG)
}

/// The project of a CUDO path: `/v1/projects/{projectId}/...`,
/// `/v1/projects/{id}` and `/v1/project/{projectId}/...`. Paths without
/// one (`/v1/ssh-keys`, `/v1/data-centers`) have none.
pub fn cudo_project(_cloud: &Cloud, path: &str) -> Option<String> {
    let mut segments = path.split('/').filter(|s| !s.is_empty());
    if segments.next() != Some("v1") {
        return None;
    }
    match segments.next() {
        Some("projects" | "project") => segments.next().filter(|id| !id.contains(':')).map(str::to_owned),
        _ => None,
    }
}

/// The project of a Gcore path: the integer after the resource in
/// `/cloud/v{N}/{resource}/{projectId}/...` (`instances`, `volumes`,
/// `ssh_keys`, `flavors`, `projects`...), translated to the project's
/// string id so that fault rules and the journal name projects the same
/// way on both surfaces. Regions and tasks have no project.
pub fn gcore_project(cloud: &Cloud, path: &str) -> Option<String> {
    let mut segments = path.split('/').filter(|s| !s.is_empty());
    if segments.next() != Some("cloud") {
        return None;
    }
    let version = segments.next()?;
    if !version.strip_prefix('v').is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    let resource = segments.next()?;
    if matches!(resource, "regions" | "tasks" | "client_quotas") {
        return None;
    }
    let number: i64 = segments.next()?.parse().ok()?;
    cloud.admin().list_projects().ok()?.into_iter().find(|p| p.number == number).map(|p| p.id)
}

/// The demo API key `canon serve` prints: derived from the store's
/// API-key secret, so that every start on the same data file prints the
/// same key while the store keeps only its hash, and a fresh store (or
/// `--memory`) gets a new one. The same shape as generated keys: `ck_` and
/// 40 hex digits.
pub fn demo_api_key(cloud: &Cloud) -> String {
    let mac = cloud.hasher.hash("canon serve: the demo project's API key");
    let hex: String = mac[..20].iter().map(|b| format!("{b:02x}")).collect();
    format!("ck_{hex}")
}

/// The capacity a JSON answer's buffer starts with: enough for most
/// answers, so that serialising one rarely grows it.
const JSON_CAPACITY: usize = 8 * 1024;

/// A JSON answer (`Content-Type: application/json`), like axum's `Json`
/// but serialised into one buffer allocated at about the right size and
/// handed to the connection without a copy. The bytes are serde_json's
/// compact JSON, written by a writer that copies strings needing no escape
/// in one piece (serde_json itself writes what that writer leaves).
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonBody<T>(pub T);

impl<T: serde::Serialize> IntoResponse for JsonBody<T> {
    fn into_response(self) -> Response {
        let mut buffer = Vec::with_capacity(JSON_CAPACITY);
        let written = json::write(&self.0, &mut buffer).or_else(|json::Unsupported| {
            buffer.clear();
            serde_json::to_writer(&mut buffer, &self.0)
        });
        match written {
            Ok(()) => {
                ([(CONTENT_TYPE, HeaderValue::from_static("application/json"))], Bytes::from(buffer)).into_response()
            }
            Err(error) => {
                let status = Status::new(canon::Code::Internal, format!("The answer could not be serialised: {error}"));
                ApiError::from(status).into_response()
            }
        }
    }
}

/// Runs `f` on a blocking thread (the domain waits on SQLite's lock and
/// fsync); a panic inside is raised again here, for canon-axum to answer
/// as INTERNAL.
pub(crate) async fn blocking<T, F>(f: F) -> Result<T, ApiError>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(value) => Ok(value),
        Err(error) => match error.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(_) => Err(ApiError::from(Status::new(canon::Code::Unavailable, "The server is shutting down."))),
        },
    }
}

/// Runs a domain call where it costs least: in place when the store is in
/// memory (a few microseconds of work under the store's lock, which a
/// thread hop would only add to), on a blocking thread when it is a file
/// (each write waits for fsync).
pub(crate) async fn on_store<T, F>(cloud: &Cloud, f: F) -> Result<T, ApiError>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    if cloud.store().is_ephemeral() { Ok(f()) } else { blocking(f).await }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemClock;
    use crate::{CloudConfig, Store};

    fn cloud() -> Cloud {
        Cloud::new(Store::in_memory().unwrap(), Arc::new(SystemClock), CloudConfig::default()).unwrap()
    }

    #[test]
    fn paths_are_routed_by_prefix() {
        let table = [
            ("/cloud", Prefix::Gcore),
            ("/cloud/v1/projects", Prefix::Gcore),
            ("/cloudy", Prefix::Cudo),
            ("/_canon/faults", Prefix::Admin),
            ("/_canon", Prefix::Admin),
            ("/openapi.json", Prefix::Docs),
            ("/openapi.json/x", Prefix::Cudo),
            ("/v1/projects", Prefix::Cudo),
            ("/", Prefix::Cudo),
        ];
        for (path, prefix) in table {
            assert_eq!(Prefix::of(path), prefix, "{path}");
        }
    }

    #[test]
    fn cudo_paths_name_their_project() {
        let cloud = cloud();
        let table = [
            ("/v1/projects/demo/vms", Some("demo")),
            ("/v1/projects/demo", Some("demo")),
            ("/v1/project/demo/ssh-keys", Some("demo")),
            ("/v1/projects", None),
            ("/v1/ssh-keys", None),
            ("/v1/data-centers/gb-bournemouth-1/machine-types", None),
            ("/v2/projects/demo", None),
        ];
        for (path, project) in table {
            assert_eq!(cudo_project(&cloud, path).as_deref(), project, "{path}");
        }
    }

    #[test]
    fn gcore_paths_name_their_project_by_its_string_id() {
        let cloud = cloud();
        cloud.admin().bootstrap("key").unwrap();
        let number = cloud.admin().list_projects().unwrap()[0].number;
        let table = [
            (format!("/cloud/v2/instances/{number}/1"), Some("demo")),
            (format!("/cloud/v1/ssh_keys/{number}"), Some("demo")),
            ("/cloud/v1/ssh_keys/999".to_owned(), None),
            ("/cloud/v1/regions/1".to_owned(), None),
            ("/cloud/v1/tasks/abc".to_owned(), None),
            ("/cloud/vx/instances/1/1".to_owned(), None),
            ("/v1/projects/demo".to_owned(), None),
        ];
        for (path, project) in table {
            assert_eq!(gcore_project(&cloud, &path).as_deref(), project, "{path}");
        }
    }

    #[test]
    fn the_demo_key_is_stable_per_store_and_differs_between_stores() {
        let (a, b) = (cloud(), cloud());
        assert_eq!(demo_api_key(&a), demo_api_key(&a));
        assert_ne!(demo_api_key(&a), demo_api_key(&b));
        let key = demo_api_key(&a);
        assert_eq!(key.len(), 43);
        assert!(key.starts_with("ck_"));
    }
}
