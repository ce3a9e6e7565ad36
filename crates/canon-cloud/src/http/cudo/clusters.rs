//! Clusters: machines of one type in one data center, with the CUDO
//! page's FAILED_PRECONDITION example (resizing a cluster that is not
//! `STATE_ACTIVE`, sent as `409`).

use axum::extract::State;
use axum::response::Response;
use canon_axum::ApiError;
use canon_axum::extract::{Json, Path, Query};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::wire::{ClusterJson, Empty};
use super::{BearerKey, IfMatch, RawBody, call, call_json, fields, with_etag};
use crate::http::paging::{NumberPageQuery, by_number};
use crate::http::{AppState, JsonBody};
use crate::model::CreateCluster;

/// What `POST /v1/projects/{projectId}/clusters` takes (CUDO's other
/// cluster fields are accepted and ignored).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"id": "cluster-1", "dataCenterId": "gb-bournemouth-1", "machineTypeId": "gpu-a100-x2", "machineCount": 2}))]
pub struct CreateClusterBody {
    /// The client-chosen id.
    #[schema(pattern = "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")]
    pub id: String,
    /// The data center.
    pub data_center_id: String,
    /// The machine type of every machine.
    pub machine_type_id: String,
    /// The number of machines: 1 to 128.
    pub machine_count: i64,
}

/// Creates a cluster.
#[utoipa::path(post, path = "/v1/projects/{projectId}/clusters", tag = "clusters", operation_id = "CreateCluster",
    params(("projectId" = String, Path, description = "The project's id.", example = "demo")),
    request_body = CreateClusterBody,
    responses((status = 200, description = "The cluster.", body = ClusterJson)))]
pub async fn create_cluster(
    State(state): State<AppState>,
    key: BearerKey,
    Path(project_id): Path<String>,
    Json(body): RawBody,
) -> Result<JsonBody<ClusterJson>, ApiError> {
    call_json(&state, key, move |cloud, who| {
        let body: CreateClusterBody = fields(&body)?;
        let request = CreateCluster {
            id: body.id,
            data_center_id: body.data_center_id,
            machine_type_id: body.machine_type_id,
            machine_count: body.machine_count,
        };
        Ok(ClusterJson::from(&cloud.create_cluster(who, &project_id, request)?))
    })
    .await
}

/// A page of clusters.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListClustersResponse {
    /// The clusters.
    pub clusters: Vec<ClusterJson>,
    /// How many clusters there are in all.
    pub total_count: i32,
    /// The page, from 1.
    pub page_number: i32,
    /// The page size used.
    pub page_size: i32,
}

/// Lists the project's clusters.
#[utoipa::path(get, path = "/v1/projects/{projectId}/clusters", tag = "clusters", operation_id = "ListClusters",
    params(("projectId" = String, Path, description = "The project's id.", example = "demo"), NumberPageQuery),
    responses((status = 200, description = "The clusters.", body = ListClustersResponse)))]
pub async fn list_clusters(
    State(state): State<AppState>,
    key: BearerKey,
    Path(project_id): Path<String>,
    Query(page): Query<NumberPageQuery>,
) -> Result<JsonBody<ListClustersResponse>, ApiError> {
    call_json(&state, key, move |cloud, who| {
        let page = by_number(cloud.list_clusters(who, &project_id)?, &page, cloud.errors())?;
        Ok(ListClustersResponse {
            clusters: page.items.iter().map(ClusterJson::from).collect(),
            total_count: page.total_count,
            page_number: page.page_number,
            page_size: page.page_size,
        })
    })
    .await
}

/// The path of one cluster.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterPath {
    /// The project.
    pub project_id: String,
    /// The cluster.
    pub id: String,
}

/// Gets a cluster, with its `ETag`.
#[utoipa::path(get, path = "/v1/projects/{projectId}/clusters/{id}", tag = "clusters", operation_id = "GetCluster",
    params(("projectId" = String, Path, description = "The project's id.", example = "demo"),
           ("id" = String, Path, description = "The cluster's id.")),
    responses((status = 200, description = "The cluster.", body = ClusterJson,
        headers(("ETag" = String, description = "The cluster's entity tag, for If-Match.")))))]
pub async fn get_cluster(
    State(state): State<AppState>,
    key: BearerKey,
    Path(path): Path<ClusterPath>,
) -> Result<Response, ApiError> {
    let (body, etag) = call(&state, key, move |cloud, who| {
        let cluster = cloud.get_cluster(who, &path.project_id, &path.id)?;
        Ok((ClusterJson::from(&cluster), cluster.etag()))
    })
    .await?;
    Ok(with_etag(body, &etag))
}

/// What `PATCH /v1/projects/{projectId}/clusters/{id}` changes: the
/// machine count. A data center or machine type, when given, must be the
/// cluster's own.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"machineCount": 2}))]
pub struct UpdateClusterBody {
    /// The new number of machines: 1 to 128.
    pub machine_count: i64,
    /// The cluster's data center.
    #[serde(default)]
    pub data_center_id: Option<String>,
    /// The cluster's machine type.
    #[serde(default)]
    pub machine_type_id: Option<String>,
}

/// Resizes a cluster: only in `STATE_ACTIVE`.
#[utoipa::path(patch, path = "/v1/projects/{projectId}/clusters/{id}", tag = "clusters", operation_id = "UpdateCluster",
    params(("projectId" = String, Path, description = "The project's id.", example = "demo"),
           ("id" = String, Path, description = "The cluster's id."),
           ("If-Match" = Option<String>, Header, description = "Only if the cluster's ETag is this.")),
    request_body = UpdateClusterBody,
    responses((status = 200, description = "The cluster.", body = ClusterJson)))]
pub async fn update_cluster(
    State(state): State<AppState>,
    key: BearerKey,
    if_match: IfMatch,
    Path(path): Path<ClusterPath>,
    Json(body): RawBody,
) -> Result<JsonBody<ClusterJson>, ApiError> {
    call_json(&state, key, move |cloud, who| {
        let body: UpdateClusterBody = fields(&body)?;
        let given = |value: &Option<String>| value.clone().filter(|v| !v.is_empty());
        let (data_center_id, machine_type_id) = (given(&body.data_center_id), given(&body.machine_type_id));
        if data_center_id.is_some() || machine_type_id.is_some() {
            let current = cloud.get_cluster(who, &path.project_id, &path.id)?;
            for (field, given, own) in [
                ("dataCenterId", data_center_id, current.data_center_id),
                ("machineTypeId", machine_type_id, current.machine_type_id),
            ] {
                if given.is_some_and(|given| given != own) {
                    return Err(cloud.errors().invalid_field(field, format!("A cluster's {field} cannot change.")));
                }
            }
        }
        let cluster =
            cloud.resize_cluster(who, &path.project_id, &path.id, body.machine_count, if_match.0.as_deref())?;
        Ok(ClusterJson::from(&cluster))
    })
    .await
}

/// Deletes a cluster.
#[utoipa::path(delete, path = "/v1/projects/{projectId}/clusters/{id}", tag = "clusters", operation_id = "DeleteCluster",
    params(("projectId" = String, Path, description = "The project's id.", example = "demo"),
           ("id" = String, Path, description = "The cluster's id."),
           ("If-Match" = Option<String>, Header, description = "Only if the cluster's ETag is this.")),
    responses((status = 200, description = "Deleting.", body = Empty)))]
pub async fn delete_cluster(
    State(state): State<AppState>,
    key: BearerKey,
    if_match: IfMatch,
    Path(path): Path<ClusterPath>,
) -> Result<JsonBody<Empty>, ApiError> {
    call_json(&state, key, move |cloud, who| {
        cloud.delete_cluster(who, &path.project_id, &path.id, if_match.0.as_deref()).map(|_| Empty {})
    })
    .await
}
