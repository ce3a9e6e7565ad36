//! The Gcore-shaped surface: `/cloud/...`, Gcore envelopes and tasks.
//!
//! The same domain and store as the CUDO surface, reached the way the
//! official `gcore` Python SDK reaches Gcore's Cloud API:
//! `Authorization: APIKey <key>`, integer project and region ids,
//! `{count, results}` lists with `limit` and `offset`, and writes that
//! answer `{"tasks": [id]}`, to be polled at `/cloud/v1/tasks/{task_id}`.
//! A VM created through either surface is an instance here and a VM
//! there; quotas and capacity are shared.
//!
//! # Routes
//!
//! | method | path | answer |
//! |--------|------|--------|
//! | GET | `/cloud/v1/projects`, `/cloud/v1/projects/{project_id}` | the caller's project |
//! | GET | `/cloud/v1/regions`, `/cloud/v1/regions/{region_id}` | data centers as regions |
//! | GET | `/cloud/v1/flavors/{project_id}/{region_id}` | machine types as flavors, `capacity` = machines free |
//! | GET, POST | `/cloud/v1/ssh_keys/{project_id}` | list; add (201, the key) |
//! | GET, DELETE | `/cloud/v1/ssh_keys/{project_id}/{ssh_key_id}` | get; delete (204) |
//! | GET, POST | `/cloud/v1/volumes/{project_id}/{region_id}` | list; create (tasks) |
//! | GET, DELETE | `/cloud/v1/volumes/{project_id}/{region_id}/{volume_id}` | get; delete (tasks) |
//! | POST | `/cloud/v1/volumes/{project_id}/{region_id}/{volume_id}/extend` | extend (tasks) |
//! | POST | `/cloud/v2/instances/{project_id}/{region_id}` | create (tasks) |
//! | GET | `/cloud/v1/instances/{project_id}/{region_id}` | list |
//! | GET, DELETE | `/cloud/v1/instances/{project_id}/{region_id}/{instance_id}` | get; delete (tasks) |
//! | GET | `/cloud/v1/instances/{project_id}/{region_id}/available_names` | the client's name templates |
//! | GET | `/cloud/v1/tasks`, `/cloud/v1/tasks/{task_id}` | tasks |
//! | GET | `/cloud/v2/client_quotas` | GPU quota limit and usage pairs by region |
//!
//! # Tasks
//!
//! A write is done by the domain at once (its resource exists, in a
//! transitional state) and tracked by a domain
//! [`Operation`](crate::model::Operation), whose id is the task id. The
//! task's state follows the operation, and so the emulator's clock and
//! [`TransitionMode`](crate::clock::TransitionMode):
//!
//! | operation | task | when |
//! |-----------|------|------|
//! | `PENDING` | `NEW` | manual transitions: until an admin advances the resource |
//! | `RUNNING` | `RUNNING` | transitions after a delay: until the clock reaches it |
//! | `SUCCEEDED` | `FINISHED` | every tracked resource has settled (at once in immediate mode) |
//! | `FAILED` | `ERROR` | a resource failed, the deadline passed, or an admin failed it; `error` holds the message |
//!
//! A creating task (`create_vm`, `create_volume`) lists its resources in
//! `created_resources` (`instances` and the boot `volumes`, or `volumes`).
//!
//! # Errors
//!
//! Every error is Gcore's envelope `{exception_class, message, request_id,
//! info?, invalid_fields?}`, written by canon's Gcore encoder under the
//! canon-axum layers the surface is wrapped in (see [`router`] and
//! [`app`](crate::http::app)). The
//! domain's errors become Gcore's classes in [`error::to_gcore`];
//! authentication's four 401s are in [`auth`]; a wrong method on a known
//! path is canon-axum's `HTTPError` 405 with `Allow`; an unknown path
//! under `/cloud` a `NotFoundError`. An "already exists" conflict carries
//! `x-should-retry: false`, because the SDK retries every 409 otherwise.
//!
//! # Reseller name templates
//!
//! A client (project) may be held to instance name templates
//! ([`naming`](crate::naming)), set by the operator through
//! [`admin::routes`] (`PUT /_canon/projects/{projectId}/name-templates`):
//! an instance `name` that no template could produce, or a
//! `name_template` that is not one of them, is a `ValidationError` whose
//! `invalid_fields` names the field. `available_names` shows them as
//! Gcore does.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use axum::body::Body;
//! use canon_cloud::clock::SystemClock;
//! use canon_cloud::http::{AppOptions, AppState, app};
//! use canon_cloud::{Cloud, CloudConfig, Store};
//! use http::Request;
//! use http_body_util::BodyExt;
//! use tower::ServiceExt;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let cloud = Cloud::new(Store::in_memory().unwrap(), Arc::new(SystemClock), CloudConfig::default()).unwrap();
//! cloud.admin().bootstrap("demo-key").unwrap();
//! let app = app(AppState { cloud: Arc::new(cloud) }, &AppOptions::default());
//!
//! let request = Request::get("/cloud/v1/regions").header("authorization", "Bearer demo-key");
//! let response = app.oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
//! assert_eq!(response.status(), 401);
//! let body = response.into_body().collect().await.unwrap().to_bytes();
//! let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
//! assert_eq!(body["exception_class"], "token_not_valid");
//! assert_eq!(body["message"], "Given token not valid for any token type");
//! # }
//! ```

use axum::Router;
use axum::routing::{get, post};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::AppState;

pub mod admin;
pub mod auth;
pub mod error;
pub mod handlers;
pub mod schema;

/// The ErrorInfo domain of the surface's errors, for its
/// [`ErrorConfig`](canon_axum::ErrorConfig).
pub const ERROR_DOMAIN: &str = canon::gcore::DOMAIN;

/// The Gcore-shaped routes, with full paths. Wrap them in canon-axum's
/// layers with `ErrorConfig::new(Encoding::Gcore, ERROR_DOMAIN)` so that
/// every error, the extractors' and the fallbacks' included, is a Gcore
/// envelope with a request id.
pub fn router() -> Router<AppState> {
    use handlers::*;
    Router::new()
        .route("/cloud/v1/projects", get(list_projects))
        .route("/cloud/v1/projects/{project_id}", get(get_project))
        .route("/cloud/v1/regions", get(list_regions))
        .route("/cloud/v1/regions/{region_id}", get(get_region))
        .route("/cloud/v1/flavors/{project_id}/{region_id}", get(list_flavors))
        .route("/cloud/v1/ssh_keys/{project_id}", get(list_ssh_keys).post(create_ssh_key))
        .route("/cloud/v1/ssh_keys/{project_id}/{ssh_key_id}", get(get_ssh_key).delete(delete_ssh_key))
        .route("/cloud/v1/volumes/{project_id}/{region_id}", get(list_volumes).post(create_volume))
        .route("/cloud/v1/volumes/{project_id}/{region_id}/{volume_id}", get(get_volume).delete(delete_volume))
        .route("/cloud/v1/volumes/{project_id}/{region_id}/{volume_id}/extend", post(extend_volume))
        .route("/cloud/v2/instances/{project_id}/{region_id}", post(create_instance))
        .route("/cloud/v1/instances/{project_id}/{region_id}", get(list_instances))
        .route("/cloud/v1/instances/{project_id}/{region_id}/available_names", get(available_names))
        .route("/cloud/v1/instances/{project_id}/{region_id}/{instance_id}", get(get_instance).delete(delete_instance))
        .route("/cloud/v1/tasks", get(list_tasks))
        .route("/cloud/v1/tasks/{task_id}", get(get_task))
        .route("/cloud/v2/client_quotas", get(client_quotas))
}

/// The OpenAPI document of the surface.
#[derive(OpenApi)]
#[openapi(
    info(title = "canon emulator: Gcore-shaped Cloud API", description = "The Gcore surface of canon's GPU-cloud emulator. Every error is Gcore's envelope (GcoreError)."),
    paths(
        handlers::list_projects,
        handlers::get_project,
        handlers::list_regions,
        handlers::get_region,
        handlers::list_flavors,
        handlers::create_ssh_key,
        handlers::list_ssh_keys,
        handlers::get_ssh_key,
        handlers::delete_ssh_key,
        handlers::create_volume,
        handlers::list_volumes,
        handlers::get_volume,
        handlers::delete_volume,
        handlers::extend_volume,
        handlers::create_instance,
        handlers::list_instances,
        handlers::get_instance,
        handlers::delete_instance,
        handlers::available_names,
        handlers::get_task,
        handlers::list_tasks,
        handlers::client_quotas,
    ),
    components(schemas(schema::GcoreError)),
    modifiers(&ApiKeyScheme)
)]
struct GcoreApi;

/// Adds the `APIKey` security scheme: `Authorization: APIKey <key>`.
struct ApiKeyScheme;

impl Modify for ApiKeyScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "APIKey",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "`APIKey <key>`: Gcore's scheme, not Bearer.",
            ))),
        );
    }
}

/// The OpenAPI document of the Gcore surface and of its
/// [admin routes](admin::routes), to merge into the emulator's
/// `/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = GcoreApi::openapi();
    doc.merge(admin::GcoreAdminApi::openapi());
    doc
}
