//! Storage disks: create, list, get, delete, attach, detach.
//!
//! The create body comes in two shapes, and both are served: the
//! `cudo-compute` SDK's `{"dataCenterId": ..., "disk": {"id": ..., "sizeGib": ...}}`
//! and the OpenAPI document's flat `{"id": ..., "dataCenterId": ..., "sizeGib": ...}`.
//! The size may also be called `diskSizeGb`, the name the CUDO page's
//! "Testing errors" table uses ("supply a negative diskSizeGb"); errors
//! name the field as the request spelled it.

use axum::extract::State;
use axum::response::Response;
use canon_axum::ApiError;
use canon_axum::extract::{Json, Path, Query};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::wire::{DiskJson, Empty};
use super::{BearerKey, IfMatch, RawBody, call, call_json, fields, rename_field, with_etag};
use crate::http::paging::{NumberPageQuery, by_number};
use crate::http::{AppState, JsonBody};
use crate::model::{AttachMode, CreateDisk};

/// The disk of the SDK's create body.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = CreateStorageDiskBodyDisk)]
pub struct DiskFields {
    /// The id, chosen by the client: 1 to 63 lower-case letters, digits
    /// and hyphens.
    #[serde(default)]
    pub id: Option<String>,
    /// The data center, when not given beside the disk.
    #[serde(default)]
    pub data_center_id: Option<String>,
    /// The size, GiB (10 to 65536; negative is INVALID_ARGUMENT, outside
    /// the range OUT_OF_RANGE).
    #[serde(default)]
    pub size_gib: Option<i64>,
    /// The size under the CUDO page's name for it.
    #[serde(default, rename = "diskSizeGb")]
    pub disk_size_gb: Option<i64>,
    /// `STORAGE_CLASS_NETWORK` or `STORAGE_CLASS_LOCAL`.
    #[serde(default)]
    pub storage_class: Option<String>,
}

/// What `POST /v1/projects/{projectId}/disks` takes: the SDK's shape
/// (`dataCenterId` and `disk`) or the flat one (the disk's fields at the
/// top). `id`, the data center and the size are required in either.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"dataCenterId": "gb-bournemouth-1", "disk": {"id": "disk-1", "sizeGib": 50}}))]
pub struct CreateStorageDiskBody {
    /// The data center.
    #[serde(default)]
    pub data_center_id: Option<String>,
    /// The disk (the SDK's shape).
    #[serde(default)]
    pub disk: Option<DiskFields>,
    /// The id (the flat shape).
    #[serde(default)]
    pub id: Option<String>,
    /// The size, GiB (the flat shape).
    #[serde(default)]
    pub size_gib: Option<i64>,
    /// The size under the CUDO page's name for it (the flat shape).
    #[serde(default, rename = "diskSizeGb")]
    pub disk_size_gb: Option<i64>,
    /// The storage class (the flat shape).
    #[serde(default)]
    pub storage_class: Option<String>,
}

/// The domain's storage class for CUDO's.
fn storage_class(class: Option<String>) -> Option<String> {
    match class.as_deref() {
        None | Some("" | "STORAGE_CLASS_UNKNOWN") => None,
        Some("STORAGE_CLASS_NETWORK") => Some("network".to_owned()),
        Some("STORAGE_CLASS_LOCAL") => Some("local".to_owned()),
        Some(_) => class,
    }
}

impl CreateStorageDiskBody {
    /// The domain's request and the path of the size field the client
    /// used; or the first required field that is missing.
    fn resolve(self) -> Result<(CreateDisk, &'static str), &'static str> {
        let wrapped = self.disk.is_some();
        let disk = self.disk.unwrap_or_default();
        let sizes = [
            ("disk.sizeGib", disk.size_gib),
            ("disk.diskSizeGb", disk.disk_size_gb),
            ("sizeGib", self.size_gib),
            ("diskSizeGb", self.disk_size_gb),
        ];
        let (field, size) = sizes
            .into_iter()
            .find_map(|(field, size)| size.map(|size| (field, size)))
            .ok_or(if wrapped { "disk.sizeGib" } else { "sizeGib" })?;
        let id = disk.id.or(self.id).filter(|id| !id.is_empty()).ok_or(if wrapped { "disk.id" } else { "id" })?;
        let data_center_id = self.data_center_id.or(disk.data_center_id).ok_or("dataCenterId")?;
        let request = CreateDisk {
            id,
            name: None,
            data_center_id,
            size_gib: size,
            storage_class: storage_class(disk.storage_class.or(self.storage_class)),
        };
        Ok((request, field))
    }
}

/// Creates a storage disk.
#[utoipa::path(post, path = "/v1/projects/{projectId}/disks", tag = "disks", operation_id = "CreateStorageDisk",
    params(("projectId" = String, Path, description = "The project's id.", example = "demo")),
    request_body = CreateStorageDiskBody,
    responses((status = 200, description = "Creating.", body = Empty)))]
pub async fn create_disk(
    State(state): State<AppState>,
    key: BearerKey,
    Path(project_id): Path<String>,
    Json(body): RawBody,
) -> Result<JsonBody<Empty>, ApiError> {
    call_json(&state, key, move |cloud, who| {
        let body: CreateStorageDiskBody = fields(&body)?;
        let (request, size_field) =
            body.resolve().map_err(|missing| cloud.errors().invalid_field(missing, "This value is required."))?;
        cloud.create_disk(who, &project_id, request).map_err(|status| rename_field(status, "sizeGib", size_field))?;
        Ok(Empty {})
    })
    .await
}

/// The filter of the disk list.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ListDisksQuery {
    /// Only disks of this data center.
    #[serde(default)]
    pub data_center_id: Option<String>,
}

/// A page of disks.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListDisksResponse {
    /// The disks, boot disks included.
    pub disks: Vec<DiskJson>,
    /// How many disks there are in all.
    pub total_count: i32,
    /// The page, from 1.
    pub page_number: i32,
    /// The page size used.
    pub page_size: i32,
}

/// Lists the project's disks.
#[utoipa::path(get, path = "/v1/projects/{projectId}/disks", tag = "disks", operation_id = "ListDisks",
    params(("projectId" = String, Path, description = "The project's id.", example = "demo"), NumberPageQuery, ListDisksQuery),
    responses((status = 200, description = "The disks.", body = ListDisksResponse)))]
pub async fn list_disks(
    State(state): State<AppState>,
    key: BearerKey,
    Path(project_id): Path<String>,
    Query(page): Query<NumberPageQuery>,
    Query(filter): Query<ListDisksQuery>,
) -> Result<JsonBody<ListDisksResponse>, ApiError> {
    call_json(&state, key, move |cloud, who| {
        let data_center = filter.data_center_id.as_deref().filter(|dc| !dc.is_empty());
        let page = by_number(cloud.list_disks(who, &project_id, data_center)?, &page, cloud.errors())?;
        Ok(ListDisksResponse {
            disks: page.items.iter().map(DiskJson::from).collect(),
            total_count: page.total_count,
            page_number: page.page_number,
            page_size: page.page_size,
        })
    })
    .await
}

/// One disk.
#[derive(Debug, Serialize, ToSchema)]
pub struct GetDiskResponse {
    /// The disk.
    pub disk: DiskJson,
}

/// The path of one disk.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiskPath {
    /// The project.
    pub project_id: String,
    /// The disk.
    pub id: String,
}

/// Gets a disk, with its `ETag`.
#[utoipa::path(get, path = "/v1/projects/{projectId}/disks/{id}", tag = "disks", operation_id = "GetDisk",
    params(("projectId" = String, Path, description = "The project's id.", example = "demo"),
           ("id" = String, Path, description = "The disk's id.")),
    responses((status = 200, description = "The disk.", body = GetDiskResponse,
        headers(("ETag" = String, description = "The disk's entity tag, for If-Match.")))))]
pub async fn get_disk(
    State(state): State<AppState>,
    key: BearerKey,
    Path(path): Path<DiskPath>,
) -> Result<Response, ApiError> {
    let (body, etag) = call(&state, key, move |cloud, who| {
        let disk = cloud.get_disk(who, &path.project_id, &path.id)?;
        Ok((GetDiskResponse { disk: DiskJson::from(&disk) }, disk.etag()))
    })
    .await?;
    Ok(with_etag(body, &etag))
}

/// Deletes a detached storage disk.
#[utoipa::path(delete, path = "/v1/projects/{projectId}/disks/{id}", tag = "disks", operation_id = "DeleteStorageDisk",
    params(("projectId" = String, Path, description = "The project's id.", example = "demo"),
           ("id" = String, Path, description = "The disk's id."),
           ("If-Match" = Option<String>, Header, description = "Only if the disk's ETag is this.")),
    responses((status = 200, description = "Deleting.", body = Empty)))]
pub async fn delete_disk(
    State(state): State<AppState>,
    key: BearerKey,
    if_match: IfMatch,
    Path(path): Path<DiskPath>,
) -> Result<JsonBody<Empty>, ApiError> {
    call_json(&state, key, move |cloud, who| {
        cloud.delete_disk(who, &path.project_id, &path.id, if_match.0.as_deref()).map(|_| Empty {})
    })
    .await
}

/// Where to attach a disk.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct AttachQuery {
    /// The VM, in the disk's project and data center.
    #[serde(default)]
    pub vm_id: Option<String>,
    /// `READ_WRITE` (the default) or `READ_ONLY`; an emulator extension: a
    /// disk attached read-only cannot be resized (FAILED_PRECONDITION).
    #[serde(default)]
    #[param(value_type = Option<String>)]
    pub attach_mode: Option<String>,
}

/// Attaches a storage disk to a VM.
#[utoipa::path(patch, path = "/v1/projects/{projectId}/disk/{id}/attach", tag = "disks",
    operation_id = "AttachStorageDisk",
    params(("projectId" = String, Path, description = "The project's id.", example = "demo"),
           ("id" = String, Path, description = "The disk's id."),
           ("If-Match" = Option<String>, Header, description = "Only if the disk's ETag is this."),
           AttachQuery),
    responses((status = 200, description = "Attached.", body = Empty)))]
pub async fn attach_disk(
    State(state): State<AppState>,
    key: BearerKey,
    if_match: IfMatch,
    Path(path): Path<DiskPath>,
    Query(query): Query<AttachQuery>,
) -> Result<JsonBody<Empty>, ApiError> {
    call_json(&state, key, move |cloud, who| {
        let Some(vm_id) = query.vm_id.filter(|id| !id.is_empty()) else {
            return Err(cloud.errors().invalid_field("vmId", "This value is required."));
        };
        let mode = match query.attach_mode.as_deref() {
            None | Some("" | "READ_WRITE") => AttachMode::ReadWrite,
            Some("READ_ONLY") => AttachMode::ReadOnly,
            Some(other) => {
                return Err(cloud
                    .errors()
                    .invalid_field("attachMode", format!("'{other}' is not READ_WRITE or READ_ONLY.")));
            }
        };
        cloud.attach_disk(who, &path.project_id, &path.id, &vm_id, mode, if_match.0.as_deref()).map(|_| Empty {})
    })
    .await
}

/// Detaches a storage disk from its VM.
#[utoipa::path(put, path = "/v1/projects/{projectId}/disk/{id}/detach", tag = "disks",
    operation_id = "DetachStorageDisk",
    params(("projectId" = String, Path, description = "The project's id.", example = "demo"),
           ("id" = String, Path, description = "The disk's id."),
           ("If-Match" = Option<String>, Header, description = "Only if the disk's ETag is this.")),
    responses((status = 200, description = "Detached.", body = Empty)))]
pub async fn detach_disk(
    State(state): State<AppState>,
    key: BearerKey,
    if_match: IfMatch,
    Path(path): Path<DiskPath>,
) -> Result<JsonBody<Empty>, ApiError> {
    call_json(&state, key, move |cloud, who| {
        cloud.detach_disk(who, &path.project_id, &path.id, if_match.0.as_deref()).map(|_| Empty {})
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(json: &str) -> CreateStorageDiskBody {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn both_body_shapes_and_both_size_names_are_read() {
        type Resolved = Result<(&'static str, i64, &'static str), &'static str>;
        let table: &[(&str, Resolved)] = &[
            (r#"{"dataCenterId": "dc", "disk": {"id": "d1", "sizeGib": 50}}"#, Ok(("d1", 50, "disk.sizeGib"))),
            (r#"{"dataCenterId": "dc", "disk": {"id": "d1", "diskSizeGb": -5}}"#, Ok(("d1", -5, "disk.diskSizeGb"))),
            (r#"{"id": "d1", "dataCenterId": "dc", "sizeGib": 20}"#, Ok(("d1", 20, "sizeGib"))),
            (r#"{"id": "d1", "dataCenterId": "dc", "diskSizeGb": -1}"#, Ok(("d1", -1, "diskSizeGb"))),
            (r#"{"disk": {"id": "d1", "dataCenterId": "dc", "sizeGib": 20}}"#, Ok(("d1", 20, "disk.sizeGib"))),
            (r#"{"dataCenterId": "dc", "disk": {"id": "d1"}}"#, Err("disk.sizeGib")),
            (r#"{"dataCenterId": "dc", "sizeGib": 20}"#, Err("id")),
            (r#"{"id": "d1", "sizeGib": 20}"#, Err("dataCenterId")),
        ];
        for (json, expected) in table {
            let resolved = body(json).resolve().map(|(r, f)| (r.id, r.size_gib, f));
            let expected = expected.map(|(id, size, field)| (id.to_owned(), size, field));
            assert_eq!(resolved, expected, "{json}");
        }
    }

    #[test]
    fn cudo_storage_classes_map_to_the_domain() {
        let table = [
            (None, None),
            (Some("STORAGE_CLASS_UNKNOWN"), None),
            (Some("STORAGE_CLASS_NETWORK"), Some("network")),
            (Some("STORAGE_CLASS_LOCAL"), Some("local")),
            (Some("ssd"), Some("ssd")),
        ];
        for (given, expected) in table {
            assert_eq!(storage_class(given.map(str::to_owned)).as_deref(), expected, "{given:?}");
        }
    }
}
