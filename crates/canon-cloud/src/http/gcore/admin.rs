//! The operator's control of what only the Gcore surface shows: a
//! client's instance name templates (Gcore's reseller naming).
//!
//! | method and path | does |
//! |-----------------|------|
//! | `GET /_canon/projects/{projectId}/name-templates` | `{"templates": [...]}` |
//! | `PUT /_canon/projects/{projectId}/name-templates` | replaces them (`{"templates": ["ed-c4-{ip_octets}"]}`; `[]` frees the names) |
//!
//! [`routes`] are meant to be merged into the admin API's router, inside
//! its access guard and error layers, whose dialect (AIP-193) they answer
//! in.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use canon::Status;
use canon_axum::ApiError;
use canon_axum::extract::{Json, Path};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use crate::Cloud;
use crate::http::{AppState, blocking};

/// A client's instance name templates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = GcoreNameTemplates)]
pub struct NameTemplates {
    /// Templates such as `ed-c4-{ip_octets}`; empty when names are free.
    pub templates: Vec<String>,
}

/// The admin routes of the Gcore surface, to merge into the admin router.
pub fn routes() -> Router<AppState> {
    Router::new().route("/_canon/projects/{projectId}/name-templates", get(get_name_templates).put(set_name_templates))
}

async fn admin<T, F>(state: &AppState, f: F) -> Result<T, ApiError>
where
    F: FnOnce(&Cloud) -> Result<T, Status> + Send + 'static,
    T: Send + 'static,
{
    let cloud = Arc::clone(&state.cloud);
    blocking(move || f(&cloud)).await?.map_err(ApiError::from)
}

/// A project's instance name templates.
#[utoipa::path(get, path = "/_canon/projects/{projectId}/name-templates", tag = "admin: gcore",
    operation_id = "AdminGetNameTemplates",
    params(("projectId" = String, Path, description = "The project's string id.")),
    responses((status = 200, description = "The templates.", body = NameTemplates)))]
pub async fn get_name_templates(
    State(state): State<AppState>,
    Path(project_id): Path<String>,
) -> Result<Json<NameTemplates>, ApiError> {
    let templates = admin(&state, move |cloud| cloud.admin().name_templates(&project_id)).await?;
    Ok(Json(NameTemplates { templates }))
}

/// Replaces a project's instance name templates.
#[utoipa::path(put, path = "/_canon/projects/{projectId}/name-templates", tag = "admin: gcore",
    operation_id = "AdminSetNameTemplates",
    params(("projectId" = String, Path, description = "The project's string id.")),
    request_body = NameTemplates,
    responses((status = 200, description = "The templates now.", body = NameTemplates)))]
pub async fn set_name_templates(
    State(state): State<AppState>,
    Path(project_id): Path<String>,
    Json(body): Json<NameTemplates>,
) -> Result<Json<NameTemplates>, ApiError> {
    let templates = admin(&state, move |cloud| cloud.admin().set_name_templates(&project_id, body.templates)).await?;
    Ok(Json(NameTemplates { templates }))
}

/// The OpenAPI document of these admin routes.
#[derive(OpenApi)]
#[openapi(paths(get_name_templates, set_name_templates))]
pub struct GcoreAdminApi;
