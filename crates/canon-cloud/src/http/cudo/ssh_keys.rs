//! SSH keys. CUDO's `/v1/ssh-keys` paths name no project: a key works in
//! the project of the API key that calls (its only project), and another
//! project's SSH key is NOT_FOUND there, as a missing one.

use axum::extract::State;
use canon_axum::ApiError;
use canon_axum::extract::{Json, Path, Query};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::wire::{Empty, SshKeyJson};
use super::{BearerKey, RawBody, call_json, fields};
use crate::http::paging::{NumberPageQuery, by_number};
use crate::http::{AppState, JsonBody};
use crate::model::CreateSshKey;

/// What `POST /v1/ssh-keys` takes (the other fields of CUDO's `SshKey`
/// are the server's and ignored).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"publicKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcH alice@example"}))]
pub struct CreateSshKeyBody {
    /// The OpenSSH public key line: `type base64 [comment]`.
    pub public_key: String,
}

/// Adds an SSH key to the caller's project.
#[utoipa::path(post, path = "/v1/ssh-keys", tag = "ssh keys", operation_id = "CreateSshKey",
    request_body = CreateSshKeyBody,
    responses((status = 200, description = "The SSH key.", body = SshKeyJson)))]
pub async fn create_ssh_key(
    State(state): State<AppState>,
    key: BearerKey,
    Json(body): RawBody,
) -> Result<JsonBody<SshKeyJson>, ApiError> {
    call_json(&state, key, move |cloud, who| {
        let body: CreateSshKeyBody = fields(&body)?;
        let request = CreateSshKey { name: None, public_key: body.public_key };
        Ok(SshKeyJson::from(cloud.create_ssh_key(who, who.project_id(), request)?))
    })
    .await
}

/// A page of SSH keys.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListSshKeysResponse {
    /// The keys.
    pub ssh_keys: Vec<SshKeyJson>,
    /// How many keys there are in all.
    pub total_count: i32,
    /// The page, from 1.
    pub page_number: i32,
    /// The page size used.
    pub page_size: i32,
}

/// Lists the caller's project's SSH keys.
#[utoipa::path(get, path = "/v1/ssh-keys", tag = "ssh keys", operation_id = "ListSshKeys",
    params(NumberPageQuery),
    responses((status = 200, description = "The SSH keys.", body = ListSshKeysResponse)))]
pub async fn list_ssh_keys(
    State(state): State<AppState>,
    key: BearerKey,
    Query(page): Query<NumberPageQuery>,
) -> Result<JsonBody<ListSshKeysResponse>, ApiError> {
    call_json(&state, key, move |cloud, who| {
        let page = by_number(cloud.list_ssh_keys(who, who.project_id())?, &page, cloud.errors())?;
        Ok(ListSshKeysResponse {
            ssh_keys: page.items.into_iter().map(SshKeyJson::from).collect(),
            total_count: page.total_count,
            page_number: page.page_number,
            page_size: page.page_size,
        })
    })
    .await
}

/// Gets one of the caller's project's SSH keys.
#[utoipa::path(get, path = "/v1/ssh-keys/{id}", tag = "ssh keys", operation_id = "GetSshKey",
    params(("id" = String, Path, description = "The SSH key's id.")),
    responses((status = 200, description = "The SSH key.", body = SshKeyJson)))]
pub async fn get_ssh_key(
    State(state): State<AppState>,
    key: BearerKey,
    Path(id): Path<String>,
) -> Result<JsonBody<SshKeyJson>, ApiError> {
    call_json(&state, key, move |cloud, who| Ok(SshKeyJson::from(cloud.get_ssh_key(who, who.project_id(), &id)?))).await
}

/// Deletes one of the caller's project's SSH keys.
#[utoipa::path(delete, path = "/v1/ssh-keys/{id}", tag = "ssh keys", operation_id = "DeleteSshKey",
    params(("id" = String, Path, description = "The SSH key's id.")),
    responses((status = 200, description = "Deleted.", body = Empty)))]
pub async fn delete_ssh_key(
    State(state): State<AppState>,
    key: BearerKey,
    Path(id): Path<String>,
) -> Result<JsonBody<Empty>, ApiError> {
    call_json(&state, key, move |cloud, who| cloud.delete_ssh_key(who, who.project_id(), &id).map(|()| Empty {})).await
}

/// A project's SSH keys.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListProjectSshKeysResponse {
    /// The keys.
    pub ssh_keys: Vec<SshKeyJson>,
}

/// Lists a project's SSH keys.
#[utoipa::path(get, path = "/v1/project/{projectId}/ssh-keys", tag = "ssh keys", operation_id = "ListProjectSshKeys",
    params(("projectId" = String, Path, description = "The project's id.", example = "demo")),
    responses((status = 200, description = "The SSH keys.", body = ListProjectSshKeysResponse)))]
pub async fn list_project_ssh_keys(
    State(state): State<AppState>,
    key: BearerKey,
    Path(project_id): Path<String>,
) -> Result<JsonBody<ListProjectSshKeysResponse>, ApiError> {
    call_json(&state, key, move |cloud, who| {
        let keys = cloud.list_ssh_keys(who, &project_id)?;
        Ok(ListProjectSshKeysResponse { ssh_keys: keys.into_iter().map(SshKeyJson::from).collect() })
    })
    .await
}
