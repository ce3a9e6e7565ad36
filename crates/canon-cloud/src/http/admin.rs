//! The admin API under `/_canon`: the operator's controls, which no
//! emulated API uses. Errors are AIP-193, in the cloud's ErrorInfo domain.
//! Admin requests are neither journaled nor subject to faults.
//!
//! # Who may call it
//!
//! By default ([`AdminAccess::LoopbackOnly`]) only clients on the loopback
//! interface, with no credentials: a server bound to 127.0.0.1 (the
//! default of `canon serve`) has no other clients. Others get
//! PERMISSION_DENIED. With a token ([`AdminAccess::Token`], `canon serve
//! --admin-token`), every caller must send `Authorization: Bearer
//! <token>` (compared in constant time), else UNAUTHENTICATED.
//!
//! # Routes
//!
//! | method and path | does |
//! |-----------------|------|
//! | `GET /_canon/health` | `{"status": "ok", ...}`: the server is up |
//! | `GET /_canon/faults` | the fault rules with their counters |
//! | `POST /_canon/faults` | adds a rule (the JSON of [`fault`](crate::fault)) at the end; `201` |
//! | `DELETE /_canon/faults` | removes every rule |
//! | `GET`, `DELETE /_canon/faults/{id}` | one rule |
//! | `POST /_canon/faults:resetCounters` | zeroes every rule's counters and restarts its random stream |
//! | `GET /_canon/journal` | the journal; filters `method`, `pathPrefix`, `status`, `project`, `faulted`, `afterSeq`, `limit` |
//! | `DELETE /_canon/journal` | empties the journal and numbers from 1 again |
//! | `GET`, `POST /_canon/projects` | projects; a new one may get a GPU quota everywhere (`gpuQuota`) |
//! | `GET`, `POST /_canon/projects/{projectId}/keys` | API keys with chosen `scopes`; the secret is in the `201` answer only |
//! | `DELETE /_canon/keys/{keyId}` | deletes a key; it stops working at once |
//! | `GET /_canon/projects/{projectId}/quotas` | GPU quotas and their use (the published limits) |
//! | `PUT`, `DELETE /_canon/projects/{projectId}/quotas/{dataCenterId}/{gpuModelId}` | sets (`{"limit": n}`) or removes a quota |
//! | `GET /_canon/capacity` | every machine type's capacity and use |
//! | `PUT /_canon/capacity/{dataCenterId}/{machineTypeId}` | sets a capacity (`{"capacity": n}`) |
//! | `GET /_canon/maintenance` | maintenance windows |
//! | `PUT`, `DELETE /_canon/maintenance/{dataCenterId}` | announces (`{"startsAt"?, "endsAt" or "duration"}`) or ends a window: writes there are UNAVAILABLE with `Retry-After` |
//! | `GET`, `PUT /_canon/transitions` | the transition mode: `immediate`, `manual` or a duration |
//! | `POST /_canon/transitions:advance` | completes one resource's transition (`{"kind", "projectId", "id"}`), or all (`{}`) |
//! | `POST /_canon/state` | sets a resource's state outright (`{"kind", "projectId", "id", "state"}`) |
//! | `GET`, `PUT /_canon/clock` | the cloud's time; setting it needs `canon serve --clock manual` |
//! | `POST /_canon/clock:advance` | moves a manual clock (`{"by": "90s"}`) and settles what fell due |
//! | `PUT /_canon/seed` | restarts the id generator (`{"seed": n}`): request ids and generated ids |

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use canon::{Code, Status};
use canon_axum::extract::{Json, Path, Query};
use canon_axum::routing::{method_not_allowed, not_found};
use canon_axum::{ApiError, ErrorConfig};
use http::StatusCode;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use tower::ServiceBuilder;
use utoipa::{OpenApi, ToSchema};

use super::{AdminAccess, AppState, on_store};
use crate::Cloud;
use crate::admin::{NewApiKey, NewProject};
use crate::auth::{ApiKey, Scopes};
use crate::clock::{Timestamp, TransitionMode, parse_duration};
use crate::fault::{FaultRule, FaultRuleStatus};
use crate::journal::{JournalEntry, JournalFilter};
use crate::model::{MachineType, MaintenanceWindow, Project, Quota, ResourceKind};

/// The admin routes, guarded as `access` says, with their errors written
/// as `config` says.
pub fn router(state: AppState, access: AdminAccess, config: ErrorConfig, body_limit: usize) -> Router {
    let guard = Guard { access: Arc::new(access), cloud: Arc::clone(&state.cloud) };
    Router::new()
        .route("/_canon/health", get(health))
        .route("/_canon/faults", get(list_faults).post(add_fault).delete(clear_faults))
        .route("/_canon/faults/{id}", get(get_fault).delete(delete_fault))
        .route("/_canon/faults:resetCounters", post(reset_fault_counters))
        .route("/_canon/journal", get(list_journal).delete(reset_journal))
        .route("/_canon/projects", get(list_projects).post(create_project))
        .route("/_canon/projects/{projectId}/keys", get(list_keys).post(create_key))
        .route("/_canon/keys/{keyId}", delete(delete_key))
        .route("/_canon/projects/{projectId}/quotas", get(list_quotas))
        .route("/_canon/projects/{projectId}/quotas/{dataCenterId}/{gpuModelId}", put(set_quota).delete(remove_quota))
        .route("/_canon/capacity", get(list_capacity))
        .route("/_canon/capacity/{dataCenterId}/{machineTypeId}", put(set_capacity))
        .route("/_canon/maintenance", get(list_maintenance))
        .route("/_canon/maintenance/{dataCenterId}", put(set_maintenance).delete(clear_maintenance))
        .route("/_canon/transitions", get(get_transitions).put(set_transitions))
        .route("/_canon/transitions:advance", post(advance))
        .route("/_canon/state", post(set_state))
        .route("/_canon/clock", get(get_clock).put(set_clock))
        .route("/_canon/clock:advance", post(advance_clock))
        .route("/_canon/seed", put(reseed))
        .merge(super::gcore::admin::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(from_fn_with_state(guard, check_access))
        .layer(
            ServiceBuilder::new()
                .layer(super::request_id_layer(config))
                .layer(canon_axum::panic::CatchPanicLayer)
                .layer(DefaultBodyLimit::max(body_limit)),
        )
        .with_state(state)
}

#[derive(Clone)]
struct Guard {
    access: Arc<AdminAccess>,
    cloud: Arc<Cloud>,
}

async fn check_access(State(guard): State<Guard>, request: Request, next: Next) -> Response {
    let errors = guard.cloud.errors();
    match &*guard.access {
        AdminAccess::LoopbackOnly => {
            let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|info| info.0);
            // Without a peer the router was called in-process, by its owner.
            if peer.is_some_and(|peer| !peer.ip().is_loopback()) {
                let status = Status::builder(
                    Code::PermissionDenied,
                    "The admin API answers loopback clients only; start the server with --admin-token to open it.",
                )
                .detail(canon::details::ErrorInfo::new("ADMIN_LOOPBACK_ONLY", errors.domain()))
                .build();
                return ApiError::from(status).into_response();
            }
        }
        AdminAccess::Token(token) => {
            let given = super::cudo::BearerKey::read(request.headers());
            let valid = match &given {
                super::cudo::BearerKey::Key(key) => bool::from(key.as_bytes().ct_eq(token.as_bytes())),
                _ => false,
            };
            if !valid {
                let status = Status::builder(Code::Unauthenticated, "The admin API needs the admin token.")
                    .detail(canon::details::ErrorInfo::new("ADMIN_TOKEN_INVALID", errors.domain()))
                    .build();
                return ApiError::from(status).into_response();
            }
        }
    }
    next.run(request).await
}

/// Runs an admin call on a blocking thread.
async fn admin<T, F>(state: &AppState, f: F) -> Result<T, ApiError>
where
    F: FnOnce(&Cloud) -> Result<T, Status> + Send + 'static,
    T: Send + 'static,
{
    let cloud = Arc::clone(&state.cloud);
    on_store(&state.cloud, move || f(&cloud)).await?.map_err(ApiError::from)
}

fn created<T: Serialize>(body: T) -> Response {
    (StatusCode::CREATED, Json(body)).into_response()
}

/// An empty answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Done {}

/// The server's state.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Health {
    /// Always `ok`.
    pub status: String,
    /// The emulator's version.
    pub version: String,
    /// The data file, or none in memory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_path: Option<String>,
    /// The transition mode.
    pub transitions: String,
    /// The cloud's time.
    pub now: String,
}

/// Whether the server is up.
#[utoipa::path(get, path = "/_canon/health", tag = "admin", operation_id = "AdminHealth",
    responses((status = 200, description = "Up.", body = Health)))]
async fn health(State(state): State<AppState>) -> Json<Health> {
    let cloud = &state.cloud;
    Json(Health {
        status: "ok".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        data_path: cloud.store().path().map(|p| p.display().to_string()),
        transitions: cloud.transition_mode().to_string(),
        now: cloud.now().to_rfc3339(),
    })
}

// Faults.

/// The fault rules.
#[derive(Debug, Serialize, ToSchema)]
pub struct FaultRules {
    /// The rules in evaluation order, each with `matched` and `fired`
    /// counters.
    #[schema(value_type = Vec<Object>)]
    pub rules: Vec<FaultRuleStatus>,
}

/// Lists the fault rules.
#[utoipa::path(get, path = "/_canon/faults", tag = "admin: faults", operation_id = "AdminListFaults",
    responses((status = 200, description = "The rules.", body = FaultRules)))]
async fn list_faults(State(state): State<AppState>) -> Json<FaultRules> {
    Json(FaultRules { rules: state.cloud.faults().list() })
}

/// Adds a fault rule at the end.
#[utoipa::path(post, path = "/_canon/faults", tag = "admin: faults", operation_id = "AdminAddFault",
    request_body(content = Object, description = "A fault rule: `{id?, match: {method?, path?, project?}, mode?, \
        effect}` (see the emulator's documentation)."),
    responses((status = 201, description = "The rule.", body = Object)))]
async fn add_fault(State(state): State<AppState>, Json(rule): Json<FaultRule>) -> Result<Response, ApiError> {
    let faults = state.cloud.faults();
    let id = faults.add(rule).map_err(|e| e.status(state.cloud.errors()))?;
    Ok(created(faults.get(&id)))
}

/// Removes every fault rule.
#[utoipa::path(delete, path = "/_canon/faults", tag = "admin: faults", operation_id = "AdminClearFaults",
    responses((status = 200, description = "Cleared.", body = Done)))]
async fn clear_faults(State(state): State<AppState>) -> Json<Done> {
    state.cloud.faults().clear();
    Json(Done {})
}

fn fault_not_found(cloud: &Cloud, id: &str) -> ApiError {
    Status::builder(Code::NotFound, format!("Fault rule '{id}' not found."))
        .detail(
            canon::details::ErrorInfo::new("FAULT_RULE_NOT_FOUND", cloud.errors().domain())
                .with_metadata("faultRuleId", id.to_owned()),
        )
        .build()
        .into()
}

/// Gets a fault rule with its counters.
#[utoipa::path(get, path = "/_canon/faults/{id}", tag = "admin: faults", operation_id = "AdminGetFault",
    params(("id" = String, Path, description = "The rule's id.")),
    responses((status = 200, description = "The rule.", body = Object)))]
async fn get_fault(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<FaultRuleStatus>, ApiError> {
    state.cloud.faults().get(&id).map(Json).ok_or_else(|| fault_not_found(&state.cloud, &id))
}

/// Removes a fault rule.
#[utoipa::path(delete, path = "/_canon/faults/{id}", tag = "admin: faults", operation_id = "AdminDeleteFault",
    params(("id" = String, Path, description = "The rule's id.")),
    responses((status = 200, description = "Removed.", body = Done)))]
async fn delete_fault(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Done>, ApiError> {
    if state.cloud.faults().delete(&id) { Ok(Json(Done {})) } else { Err(fault_not_found(&state.cloud, &id)) }
}

/// Zeroes every rule's counters and restarts its random stream.
#[utoipa::path(post, path = "/_canon/faults:resetCounters", tag = "admin: faults",
    operation_id = "AdminResetFaultCounters",
    responses((status = 200, description = "The rules.", body = FaultRules)))]
async fn reset_fault_counters(State(state): State<AppState>) -> Json<FaultRules> {
    state.cloud.faults().reset_counters();
    Json(FaultRules { rules: state.cloud.faults().list() })
}

// Journal.

/// Journal entries.
#[derive(Debug, Serialize, ToSchema)]
pub struct JournalEntries {
    /// The entries, oldest first: `seq`, `time`, `method`, `path`,
    /// `project`, `status` (0 when a transport fault left none), `code`,
    /// `requestId`, `fault`, `durationMs`.
    #[schema(value_type = Vec<Object>)]
    pub entries: Vec<JournalEntry>,
}

/// The journal, filtered.
#[utoipa::path(get, path = "/_canon/journal", tag = "admin: journal", operation_id = "AdminListJournal",
    params(
        ("method" = Option<String>, Query, description = "This method."),
        ("pathPrefix" = Option<String>, Query, description = "Paths starting with this."),
        ("status" = Option<u16>, Query, description = "This HTTP status (0: a transport fault)."),
        ("project" = Option<String>, Query, description = "This project."),
        ("faulted" = Option<bool>, Query, description = "Only requests with (or without) a fault."),
        ("afterSeq" = Option<u64>, Query, description = "Only entries numbered after this."),
        ("limit" = Option<usize>, Query, description = "At most this many, the most recent."),
    ),
    responses((status = 200, description = "The entries.", body = JournalEntries)))]
async fn list_journal(State(state): State<AppState>, Query(filter): Query<JournalFilter>) -> Json<JournalEntries> {
    Json(JournalEntries { entries: state.cloud.journal().list(&filter) })
}

/// Empties the journal.
#[utoipa::path(delete, path = "/_canon/journal", tag = "admin: journal", operation_id = "AdminResetJournal",
    responses((status = 200, description = "Emptied.", body = Done)))]
async fn reset_journal(State(state): State<AppState>) -> Json<Done> {
    state.cloud.journal().reset();
    Json(Done {})
}

// Projects and keys.

/// A project.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProjectView {
    /// The string id (CUDO's).
    pub id: String,
    /// The integer id (Gcore's).
    pub number: i64,
    /// The display name.
    pub name: String,
    /// The billing account.
    pub billing_account_id: String,
    /// When it was made.
    pub created_at: String,
}

impl From<Project> for ProjectView {
    fn from(p: Project) -> ProjectView {
        ProjectView {
            id: p.id,
            number: p.number,
            name: p.name,
            billing_account_id: p.billing_account_id,
            created_at: p.created_at.to_rfc3339(),
        }
    }
}

/// Projects.
#[derive(Debug, Serialize, ToSchema)]
pub struct Projects {
    /// Every project.
    pub projects: Vec<ProjectView>,
}

/// Lists every project.
#[utoipa::path(get, path = "/_canon/projects", tag = "admin: projects", operation_id = "AdminListProjects",
    responses((status = 200, description = "The projects.", body = Projects)))]
async fn list_projects(State(state): State<AppState>) -> Result<Json<Projects>, ApiError> {
    admin(&state, |cloud| {
        Ok(Projects { projects: cloud.admin().list_projects()?.into_iter().map(ProjectView::from).collect() })
    })
    .await
    .map(Json)
}

/// A new project.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewProjectBody {
    /// The id: 1 to 63 lower-case letters, digits and hyphens.
    pub id: String,
    /// A display name.
    #[serde(default)]
    pub name: Option<String>,
    /// The billing account.
    #[serde(default)]
    pub billing_account_id: Option<String>,
    /// A GPU quota for every GPU model in every data center; none when
    /// absent (the project is then limited by capacity only).
    #[serde(default)]
    pub gpu_quota: Option<u32>,
}

/// Creates a project.
#[utoipa::path(post, path = "/_canon/projects", tag = "admin: projects", operation_id = "AdminCreateProject",
    request_body = NewProjectBody,
    responses((status = 201, description = "The project.", body = ProjectView)))]
async fn create_project(State(state): State<AppState>, Json(body): Json<NewProjectBody>) -> Result<Response, ApiError> {
    let request = NewProject {
        id: body.id,
        name: body.name,
        billing_account_id: body.billing_account_id,
        gpu_quota: body.gpu_quota,
    };
    let project = admin(&state, move |cloud| cloud.admin().create_project(request)).await?;
    Ok(created(ProjectView::from(project)))
}

/// An API key, without the key.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyView {
    /// The key's id (safe to show).
    pub id: String,
    /// Its project.
    pub project_id: String,
    /// A display name.
    pub name: String,
    /// Its scopes.
    pub scopes: Vec<String>,
    /// When it was made.
    pub created_at: String,
}

impl From<ApiKey> for ApiKeyView {
    fn from(key: ApiKey) -> ApiKeyView {
        ApiKeyView {
            id: key.id,
            project_id: key.project_id,
            name: key.name,
            scopes: key.scopes.iter().map(|s| s.as_str().to_owned()).collect(),
            created_at: key.created_at.to_rfc3339(),
        }
    }
}

/// API keys.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeys {
    /// The keys, without their secrets.
    pub keys: Vec<ApiKeyView>,
}

/// Lists a project's API keys.
#[utoipa::path(get, path = "/_canon/projects/{projectId}/keys", tag = "admin: projects", operation_id = "AdminListKeys",
    params(("projectId" = String, Path, description = "The project's id.")),
    responses((status = 200, description = "The keys.", body = ApiKeys)))]
async fn list_keys(State(state): State<AppState>, Path(project_id): Path<String>) -> Result<Json<ApiKeys>, ApiError> {
    admin(&state, move |cloud| {
        Ok(ApiKeys { keys: cloud.admin().list_api_keys(&project_id)?.into_iter().map(ApiKeyView::from).collect() })
    })
    .await
    .map(Json)
}

/// Scopes, as a list or as one string (`"read:machines write:machines"`,
/// `"*"` for all).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum ScopesBody {
    /// A list of scope names.
    List(Vec<String>),
    /// Names separated by spaces or commas.
    Text(String),
}

/// A new API key.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewKeyBody {
    /// A display name.
    #[serde(default)]
    pub name: Option<String>,
    /// What it may do: `read:projects`, `read:machines`, `write:machines`,
    /// `read:disks`, `write:disks`, `read:clusters`, `write:clusters`,
    /// `read:ssh-keys`, `write:ssh-keys`, `read:images`, `write:images`,
    /// `read:operations`, or `*`.
    pub scopes: ScopesBody,
    /// The key itself; a random `ck_…` key when absent.
    #[serde(default)]
    pub value: Option<String>,
}

/// A new API key with its secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedKey {
    /// The key's record.
    pub key: ApiKeyView,
    /// The key to send as `Authorization: Bearer <secret>`. The server
    /// keeps only its hash.
    pub secret: String,
}

/// Creates an API key for a project.
#[utoipa::path(post, path = "/_canon/projects/{projectId}/keys", tag = "admin: projects", operation_id = "AdminCreateKey",
    params(("projectId" = String, Path, description = "The project's id.")),
    request_body = NewKeyBody,
    responses((status = 201, description = "The key and its secret.", body = CreatedKey)))]
async fn create_key(
    State(state): State<AppState>,
    Path(project_id): Path<String>,
    Json(body): Json<NewKeyBody>,
) -> Result<Response, ApiError> {
    let errors = state.cloud.errors();
    let text = match body.scopes {
        ScopesBody::List(names) => names.join(" "),
        ScopesBody::Text(text) => text,
    };
    let scopes: Scopes =
        text.parse().map_err(|e: crate::model::ParseEnumError| errors.invalid_field("scopes", e.to_string()))?;
    let request = NewApiKey { name: body.name.unwrap_or_default(), scopes, value: body.value };
    let key = admin(&state, move |cloud| cloud.admin().create_api_key(&project_id, request)).await?;
    Ok(created(CreatedKey { key: ApiKeyView::from(key.api_key), secret: key.secret }))
}

/// Deletes an API key.
#[utoipa::path(delete, path = "/_canon/keys/{keyId}", tag = "admin: projects", operation_id = "AdminDeleteKey",
    params(("keyId" = String, Path, description = "The key's id.")),
    responses((status = 200, description = "Deleted.", body = Done)))]
async fn delete_key(State(state): State<AppState>, Path(key_id): Path<String>) -> Result<Json<Done>, ApiError> {
    admin(&state, move |cloud| cloud.admin().delete_api_key(&key_id)).await.map(|()| Json(Done {}))
}

// Quotas and capacity.

/// A GPU quota and its use.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QuotaView {
    /// The project.
    pub project_id: String,
    /// The data center.
    pub data_center_id: String,
    /// The GPU model.
    pub gpu_model_id: String,
    /// The limit, in GPUs.
    pub limit: u32,
    /// GPUs held now.
    pub used: u32,
    /// The QuotaFailure subject of the quota's errors.
    pub subject: String,
}

impl From<Quota> for QuotaView {
    fn from(q: Quota) -> QuotaView {
        QuotaView {
            subject: q.subject(),
            project_id: q.project_id,
            data_center_id: q.data_center_id,
            gpu_model_id: q.gpu_model_id,
            limit: q.limit,
            used: q.used,
        }
    }
}

/// GPU quotas.
#[derive(Debug, Serialize, ToSchema)]
pub struct Quotas {
    /// The quotas.
    pub quotas: Vec<QuotaView>,
}

/// Lists a project's GPU quotas and their use: the published limits.
#[utoipa::path(get, path = "/_canon/projects/{projectId}/quotas", tag = "admin: limits", operation_id = "AdminListQuotas",
    params(("projectId" = String, Path, description = "The project's id.")),
    responses((status = 200, description = "The quotas.", body = Quotas)))]
async fn list_quotas(State(state): State<AppState>, Path(project_id): Path<String>) -> Result<Json<Quotas>, ApiError> {
    admin(&state, move |cloud| {
        Ok(Quotas { quotas: cloud.admin().list_quotas(&project_id)?.into_iter().map(QuotaView::from).collect() })
    })
    .await
    .map(Json)
}

/// A quota's limit.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QuotaBody {
    /// The limit, in GPUs.
    pub limit: u32,
}

/// The path of one quota.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct QuotaPath {
    project_id: String,
    data_center_id: String,
    gpu_model_id: String,
}

/// Sets a GPU quota.
#[utoipa::path(put, path = "/_canon/projects/{projectId}/quotas/{dataCenterId}/{gpuModelId}", tag = "admin: limits",
    operation_id = "AdminSetQuota",
    params(("projectId" = String, Path, description = "The project's id."),
           ("dataCenterId" = String, Path, description = "The data center's id."),
           ("gpuModelId" = String, Path, description = "The GPU model's id.")),
    request_body = QuotaBody,
    responses((status = 200, description = "The quota.", body = QuotaView)))]
async fn set_quota(
    State(state): State<AppState>,
    Path(path): Path<QuotaPath>,
    Json(body): Json<QuotaBody>,
) -> Result<Json<QuotaView>, ApiError> {
    admin(&state, move |cloud| {
        cloud.admin().set_quota(&path.project_id, &path.data_center_id, &path.gpu_model_id, body.limit)
    })
    .await
    .map(|q| Json(QuotaView::from(q)))
}

/// Removes a GPU quota.
#[utoipa::path(delete, path = "/_canon/projects/{projectId}/quotas/{dataCenterId}/{gpuModelId}", tag = "admin: limits",
    operation_id = "AdminRemoveQuota",
    params(("projectId" = String, Path, description = "The project's id."),
           ("dataCenterId" = String, Path, description = "The data center's id."),
           ("gpuModelId" = String, Path, description = "The GPU model's id.")),
    responses((status = 200, description = "Removed.", body = Done)))]
async fn remove_quota(State(state): State<AppState>, Path(path): Path<QuotaPath>) -> Result<Json<Done>, ApiError> {
    admin(&state, move |cloud| {
        if cloud.admin().remove_quota(&path.project_id, &path.data_center_id, &path.gpu_model_id)? {
            Ok(Done {})
        } else {
            Err(Status::builder(Code::NotFound, format!("Project '{}' has no such quota.", path.project_id))
                .detail(
                    canon::details::ErrorInfo::new("QUOTA_NOT_FOUND", cloud.errors().domain())
                        .with_metadata("projectId", path.project_id.clone())
                        .with_metadata("dataCenterId", path.data_center_id.clone())
                        .with_metadata("gpuModelId", path.gpu_model_id.clone()),
                )
                .build())
        }
    })
    .await
    .map(Json)
}

/// A machine type's capacity.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CapacityView {
    /// The data center.
    pub data_center_id: String,
    /// The machine type.
    pub machine_type_id: String,
    /// How many machines there are.
    pub capacity: u32,
    /// How many are taken.
    pub in_use: u32,
    /// How many are free.
    pub free: u32,
}

impl From<MachineType> for CapacityView {
    fn from(mt: MachineType) -> CapacityView {
        CapacityView {
            free: mt.free(),
            data_center_id: mt.data_center_id,
            machine_type_id: mt.id,
            capacity: mt.capacity,
            in_use: mt.in_use,
        }
    }
}

/// Capacities.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Capacities {
    /// Every machine type.
    pub machine_types: Vec<CapacityView>,
}

/// Lists every machine type's capacity and use.
#[utoipa::path(get, path = "/_canon/capacity", tag = "admin: limits", operation_id = "AdminListCapacity",
    responses((status = 200, description = "The machine types.", body = Capacities)))]
async fn list_capacity(State(state): State<AppState>) -> Result<Json<Capacities>, ApiError> {
    admin(&state, |cloud| {
        let types = cloud.run(|tx, _| crate::repo::machine_types(tx, None))?;
        Ok(Capacities { machine_types: types.into_iter().map(CapacityView::from).collect() })
    })
    .await
    .map(Json)
}

/// A capacity.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CapacityBody {
    /// How many machines of the type the data center has.
    pub capacity: u32,
}

/// Sets how many machines of a type a data center has.
#[utoipa::path(put, path = "/_canon/capacity/{dataCenterId}/{machineTypeId}", tag = "admin: limits",
    operation_id = "AdminSetCapacity",
    params(("dataCenterId" = String, Path, description = "The data center's id."),
           ("machineTypeId" = String, Path, description = "The machine type's id.")),
    request_body = CapacityBody,
    responses((status = 200, description = "The machine type.", body = CapacityView)))]
async fn set_capacity(
    State(state): State<AppState>,
    Path((data_center_id, machine_type_id)): Path<(String, String)>,
    Json(body): Json<CapacityBody>,
) -> Result<Json<CapacityView>, ApiError> {
    admin(&state, move |cloud| cloud.admin().set_capacity(&data_center_id, &machine_type_id, body.capacity))
        .await
        .map(|mt| Json(CapacityView::from(mt)))
}

// Maintenance.

/// A maintenance window.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WindowView {
    /// The data center.
    pub data_center_id: String,
    /// When it starts.
    pub starts_at: String,
    /// When it ends.
    pub ends_at: String,
    /// Whether it is under way now.
    pub active: bool,
}

impl WindowView {
    fn new(window: MaintenanceWindow, now: Timestamp) -> WindowView {
        WindowView {
            active: window.is_active(now),
            data_center_id: window.data_center_id,
            starts_at: window.starts_at.to_rfc3339(),
            ends_at: window.ends_at.to_rfc3339(),
        }
    }
}

/// Maintenance windows.
#[derive(Debug, Serialize, ToSchema)]
pub struct Windows {
    /// Every window, past and future.
    pub windows: Vec<WindowView>,
}

/// Lists the maintenance windows.
#[utoipa::path(get, path = "/_canon/maintenance", tag = "admin: limits", operation_id = "AdminListMaintenance",
    responses((status = 200, description = "The windows.", body = Windows)))]
async fn list_maintenance(State(state): State<AppState>) -> Result<Json<Windows>, ApiError> {
    admin(&state, |cloud| {
        let now = cloud.now();
        Ok(Windows {
            windows: cloud.admin().list_maintenance()?.into_iter().map(|w| WindowView::new(w, now)).collect(),
        })
    })
    .await
    .map(Json)
}

/// A maintenance window to announce.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WindowBody {
    /// When it starts (RFC 3339); now when absent.
    #[serde(default)]
    pub starts_at: Option<String>,
    /// When it ends (RFC 3339); or give `duration`.
    #[serde(default)]
    pub ends_at: Option<String>,
    /// How long it lasts from its start, such as `10m`; or give `endsAt`.
    #[serde(default)]
    pub duration: Option<String>,
}

fn timestamp(cloud: &Cloud, field: &str, text: &str) -> Result<Timestamp, Status> {
    Timestamp::parse_rfc3339(text)
        .ok_or_else(|| cloud.errors().invalid_field(field, format!("`{text}` is not an RFC 3339 timestamp.")))
}

/// Announces a data center's maintenance window, replacing any other.
#[utoipa::path(put, path = "/_canon/maintenance/{dataCenterId}", tag = "admin: limits", operation_id = "AdminSetMaintenance",
    params(("dataCenterId" = String, Path, description = "The data center's id.")),
    request_body = WindowBody,
    responses((status = 200, description = "The window.", body = WindowView)))]
async fn set_maintenance(
    State(state): State<AppState>,
    Path(data_center_id): Path<String>,
    Json(body): Json<WindowBody>,
) -> Result<Json<WindowView>, ApiError> {
    admin(&state, move |cloud| {
        let now = cloud.now();
        let starts_at = match &body.starts_at {
            Some(text) => timestamp(cloud, "startsAt", text)?,
            None => now,
        };
        let ends_at = match (&body.ends_at, &body.duration) {
            (Some(text), None) => timestamp(cloud, "endsAt", text)?,
            (None, Some(text)) => starts_at.saturating_add(
                parse_duration(text).map_err(|e| cloud.errors().invalid_field("duration", e.to_string()))?,
            ),
            _ => return Err(cloud.errors().invalid_field("endsAt", "Give endsAt or duration (one of them).")),
        };
        let window = cloud.admin().set_maintenance(&data_center_id, starts_at, ends_at)?;
        Ok(WindowView::new(window, now))
    })
    .await
    .map(Json)
}

/// Ends a data center's maintenance window.
#[utoipa::path(delete, path = "/_canon/maintenance/{dataCenterId}", tag = "admin: limits",
    operation_id = "AdminClearMaintenance",
    params(("dataCenterId" = String, Path, description = "The data center's id.")),
    responses((status = 200, description = "Ended.", body = Done)))]
async fn clear_maintenance(
    State(state): State<AppState>,
    Path(data_center_id): Path<String>,
) -> Result<Json<Done>, ApiError> {
    admin(&state, move |cloud| {
        if cloud.admin().clear_maintenance(&data_center_id)? {
            Ok(Done {})
        } else {
            Err(Status::builder(Code::NotFound, format!("Data center '{data_center_id}' has no maintenance window."))
                .detail(
                    canon::details::ErrorInfo::new("MAINTENANCE_NOT_FOUND", cloud.errors().domain())
                        .with_metadata("dataCenterId", data_center_id.clone()),
                )
                .build())
        }
    })
    .await
    .map(Json)
}

// Transitions, state, clock and ids.

/// The transition mode.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Transitions {
    /// `immediate`, `manual`, or a duration such as `2s`.
    pub mode: String,
}

/// Gets the transition mode.
#[utoipa::path(get, path = "/_canon/transitions", tag = "admin: time", operation_id = "AdminGetTransitions",
    responses((status = 200, description = "The mode.", body = Transitions)))]
async fn get_transitions(State(state): State<AppState>) -> Json<Transitions> {
    Json(Transitions { mode: state.cloud.transition_mode().to_string() })
}

/// Sets the transition mode for transitions started from now on.
#[utoipa::path(put, path = "/_canon/transitions", tag = "admin: time", operation_id = "AdminSetTransitions",
    request_body = Transitions,
    responses((status = 200, description = "The mode.", body = Transitions)))]
async fn set_transitions(
    State(state): State<AppState>,
    Json(body): Json<Transitions>,
) -> Result<Json<Transitions>, ApiError> {
    let mode: TransitionMode = body.mode.parse().map_err(|e: crate::clock::DurationParseError| {
        state.cloud.errors().invalid_field("mode", format!("{e}: expected immediate, manual or a duration"))
    })?;
    state.cloud.admin().set_transition_mode(mode);
    Ok(Json(Transitions { mode: mode.to_string() }))
}

/// What to advance: one resource, or (all fields absent) everything.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AdvanceBody {
    /// `vm`, `disk`, `cluster`, `image` or `operation`.
    #[serde(default)]
    pub kind: Option<String>,
    /// The resource's project.
    #[serde(default)]
    pub project_id: Option<String>,
    /// The resource's id.
    #[serde(default)]
    pub id: Option<String>,
}

/// What an advance did.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Advanced {
    /// Transitions completed (removals included).
    pub transitions: usize,
    /// Operations that finished.
    pub operations_finished: usize,
}

fn kind(cloud: &Cloud, text: &str) -> Result<ResourceKind, Status> {
    text.parse().map_err(|e: crate::model::ParseEnumError| cloud.errors().invalid_field("kind", e.to_string()))
}

/// Completes a resource's transition now, or every transition under way.
#[utoipa::path(post, path = "/_canon/transitions:advance", tag = "admin: time", operation_id = "AdminAdvance",
    request_body = AdvanceBody,
    responses((status = 200, description = "Done.", body = Advanced)))]
async fn advance(State(state): State<AppState>, Json(body): Json<AdvanceBody>) -> Result<Json<Advanced>, ApiError> {
    admin(&state, move |cloud| match (body.kind, body.project_id, body.id) {
        (None, None, None) => {
            let report = cloud.admin().advance_all()?;
            Ok(Advanced { transitions: report.transitions, operations_finished: report.operations_finished })
        }
        (Some(text), Some(project_id), Some(id)) => {
            cloud.admin().advance(kind(cloud, &text)?, &project_id, &id)?;
            Ok(Advanced { transitions: 1, operations_finished: 0 })
        }
        _ => Err(cloud.errors().invalid_field("kind", "Give kind, projectId and id together, or none of them.")),
    })
    .await
    .map(Json)
}

/// A state to force.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StateBody {
    /// `vm`, `disk`, `cluster`, `image` or `operation`.
    pub kind: String,
    /// The resource's project.
    pub project_id: String,
    /// The resource's id.
    pub id: String,
    /// The state, such as `FAILED` (cluster states with or without
    /// `STATE_`).
    pub state: String,
}

/// Sets a resource's state outright, ending any transition.
#[utoipa::path(post, path = "/_canon/state", tag = "admin: time", operation_id = "AdminSetState",
    request_body = StateBody,
    responses((status = 200, description = "Done.", body = Done)))]
async fn set_state(State(state): State<AppState>, Json(body): Json<StateBody>) -> Result<Json<Done>, ApiError> {
    admin(&state, move |cloud| {
        cloud.admin().set_state(kind(cloud, &body.kind)?, &body.project_id, &body.id, &body.state).map(|()| Done {})
    })
    .await
    .map(Json)
}

/// The cloud's time.
#[derive(Debug, Serialize, ToSchema)]
pub struct Clock {
    /// Now, by the cloud's clock (RFC 3339).
    pub now: String,
    /// Whether an admin may move it (`canon serve --clock manual`).
    pub manual: bool,
}

fn clock_view(cloud: &Cloud) -> Clock {
    Clock { now: cloud.now().to_rfc3339(), manual: cloud.clock().as_manual().is_some() }
}

/// Gets the cloud's time.
#[utoipa::path(get, path = "/_canon/clock", tag = "admin: time", operation_id = "AdminGetClock",
    responses((status = 200, description = "The time.", body = Clock)))]
async fn get_clock(State(state): State<AppState>) -> Json<Clock> {
    Json(clock_view(&state.cloud))
}

/// A time to set.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetClockBody {
    /// The new time (RFC 3339).
    pub now: String,
}

/// Sets a manual clock and settles what fell due.
#[utoipa::path(put, path = "/_canon/clock", tag = "admin: time", operation_id = "AdminSetClock",
    request_body = SetClockBody,
    responses((status = 200, description = "The time.", body = Clock)))]
async fn set_clock(State(state): State<AppState>, Json(body): Json<SetClockBody>) -> Result<Json<Clock>, ApiError> {
    admin(&state, move |cloud| {
        cloud.admin().set_clock(timestamp(cloud, "now", &body.now)?)?;
        Ok(clock_view(cloud))
    })
    .await
    .map(Json)
}

/// How far to move the clock.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdvanceClockBody {
    /// A duration, such as `90s` or `1h`.
    pub by: String,
}

/// Moves a manual clock forward and settles what fell due.
#[utoipa::path(post, path = "/_canon/clock:advance", tag = "admin: time", operation_id = "AdminAdvanceClock",
    request_body = AdvanceClockBody,
    responses((status = 200, description = "The time.", body = Clock)))]
async fn advance_clock(
    State(state): State<AppState>,
    Json(body): Json<AdvanceClockBody>,
) -> Result<Json<Clock>, ApiError> {
    admin(&state, move |cloud| {
        let by: Duration = parse_duration(&body.by).map_err(|e| cloud.errors().invalid_field("by", e.to_string()))?;
        cloud.admin().advance_clock(by)?;
        Ok(clock_view(cloud))
    })
    .await
    .map(Json)
}

/// A seed.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SeedBody {
    /// The seed of request ids and generated resource ids.
    pub seed: u64,
}

/// Restarts the id generator from a seed.
#[utoipa::path(put, path = "/_canon/seed", tag = "admin: time", operation_id = "AdminReseed",
    request_body = SeedBody,
    responses((status = 200, description = "Done.", body = Done)))]
async fn reseed(State(state): State<AppState>, Json(body): Json<SeedBody>) -> Json<Done> {
    state.cloud.admin().reseed_ids(body.seed);
    Json(Done {})
}

/// The admin API's operations.
#[derive(OpenApi)]
#[openapi(
    paths(
        health,
        list_faults,
        add_fault,
        clear_faults,
        get_fault,
        delete_fault,
        reset_fault_counters,
        list_journal,
        reset_journal,
        list_projects,
        create_project,
        list_keys,
        create_key,
        delete_key,
        list_quotas,
        set_quota,
        remove_quota,
        list_capacity,
        set_capacity,
        list_maintenance,
        set_maintenance,
        clear_maintenance,
        get_transitions,
        set_transitions,
        advance,
        set_state,
        get_clock,
        set_clock,
        advance_clock,
        reseed,
    ),
    tags(
        (name = "admin", description = "The emulator's operator API (not part of CUDO's)."),
        (name = "admin: faults", description = "Fault rules."),
        (name = "admin: journal", description = "The request journal."),
        (name = "admin: projects", description = "Projects and API keys."),
        (name = "admin: limits", description = "Quotas, capacity and maintenance windows."),
        (name = "admin: time", description = "Transitions, states, the clock and ids."),
    )
)]
pub(crate) struct AdminApi;
