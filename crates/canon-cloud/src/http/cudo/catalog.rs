//! Projects, data centers, machine types and GPU models.
//!
//! Any valid key may read the catalog; projects need `read:projects`, and
//! a key sees only its own project.

use axum::extract::State;
use canon_axum::ApiError;
use canon_axum::extract::{Path, Query};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::wire::{
    DataCenterJson, DataCenterMachineTypeJson, GpuModelJson, MachineTypeDetailJson, ProjectJson, VmDataCenterJson,
    VmMachineTypeJson,
};
use super::{BearerKey, call_json};
use crate::http::paging::{TokenPageQuery, by_token};
use crate::http::{AppState, JsonBody};

/// A page of projects.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListProjectsResponse {
    /// The projects: the caller's own.
    pub projects: Vec<ProjectJson>,
    /// The next page's token; empty on the last page.
    pub page_token: String,
    /// The page size used.
    pub page_size: i32,
}

/// Lists the caller's projects.
#[utoipa::path(get, path = "/v1/projects", tag = "projects", operation_id = "ListProjects",
    params(TokenPageQuery),
    responses((status = 200, description = "The caller's projects.", body = ListProjectsResponse)))]
pub async fn list_projects(
    State(state): State<AppState>,
    key: BearerKey,
    Query(page): Query<TokenPageQuery>,
) -> Result<JsonBody<ListProjectsResponse>, ApiError> {
    call_json(&state, key, move |cloud, who| {
        let page = by_token(cloud.list_projects(who)?, &page, cloud.errors())?;
        Ok(ListProjectsResponse {
            projects: page.items.into_iter().map(ProjectJson::from).collect(),
            page_token: page.next_page_token,
            page_size: page.page_size,
        })
    })
    .await
}

/// Gets a project.
#[utoipa::path(get, path = "/v1/projects/{id}", tag = "projects", operation_id = "GetProject",
    params(("id" = String, Path, description = "The project's id.", example = "demo")),
    responses((status = 200, description = "The project.", body = ProjectJson)))]
pub async fn get_project(
    State(state): State<AppState>,
    key: BearerKey,
    Path(id): Path<String>,
) -> Result<JsonBody<ProjectJson>, ApiError> {
    call_json(&state, key, move |cloud, who| Ok(ProjectJson::from(cloud.get_project(who, &id)?))).await
}

/// A page of data centers.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListDataCentersResponse {
    /// The data centers.
    pub data_centers: Vec<DataCenterJson>,
    /// The next page's token; empty on the last page.
    pub page_token: String,
    /// The page size used.
    pub page_size: i32,
}

/// Lists the data centers.
#[utoipa::path(get, path = "/v1/data-centers", tag = "data centers", operation_id = "ListDataCenters",
    params(TokenPageQuery),
    responses((status = 200, description = "The data centers.", body = ListDataCentersResponse)))]
pub async fn list_data_centers(
    State(state): State<AppState>,
    key: BearerKey,
    Query(page): Query<TokenPageQuery>,
) -> Result<JsonBody<ListDataCentersResponse>, ApiError> {
    call_json(&state, key, move |cloud, who| {
        let page = by_token(cloud.list_data_centers(who)?, &page, cloud.errors())?;
        Ok(ListDataCentersResponse {
            data_centers: page.items.iter().map(DataCenterJson::from).collect(),
            page_token: page.next_page_token,
            page_size: page.page_size,
        })
    })
    .await
}

/// Gets a data center.
#[utoipa::path(get, path = "/v1/data-centers/{id}", tag = "data centers", operation_id = "GetDataCenter",
    params(("id" = String, Path, description = "The data center's id.", example = "gb-bournemouth-1")),
    responses((status = 200, description = "The data center.", body = DataCenterJson)))]
pub async fn get_data_center(
    State(state): State<AppState>,
    key: BearerKey,
    Path(id): Path<String>,
) -> Result<JsonBody<DataCenterJson>, ApiError> {
    call_json(&state, key, move |cloud, who| Ok(DataCenterJson::from(&cloud.get_data_center(who, &id)?))).await
}

/// A data center's machine types.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListMachineTypesResponse {
    /// The machine types, with their hosts.
    pub machine_types: Vec<DataCenterMachineTypeJson>,
}

/// Lists a data center's machine types.
#[utoipa::path(get, path = "/v1/data-centers/{dataCenterId}/machine-types", tag = "data centers",
    operation_id = "ListMachineTypes",
    params(("dataCenterId" = String, Path, description = "The data center's id.", example = "gb-bournemouth-1")),
    responses((status = 200, description = "The machine types.", body = ListMachineTypesResponse)))]
pub async fn list_machine_types(
    State(state): State<AppState>,
    key: BearerKey,
    Path(data_center_id): Path<String>,
) -> Result<JsonBody<ListMachineTypesResponse>, ApiError> {
    call_json(&state, key, move |cloud, who| {
        let types = cloud.list_machine_types(who, Some(&data_center_id))?;
        Ok(ListMachineTypesResponse { machine_types: types.iter().map(DataCenterMachineTypeJson::from).collect() })
    })
    .await
}

/// Gets a machine type of a data center.
#[utoipa::path(get, path = "/v1/data-centers/{dataCenterId}/machine-types/{machineType}", tag = "data centers",
    operation_id = "GetMachineType",
    params(("dataCenterId" = String, Path, description = "The data center's id.", example = "gb-bournemouth-1"),
           ("machineType" = String, Path, description = "The machine type's id.", example = "gpu-a100-x2")),
    responses((status = 200, description = "The machine type.", body = MachineTypeDetailJson)))]
pub async fn get_machine_type(
    State(state): State<AppState>,
    key: BearerKey,
    Path((data_center_id, machine_type)): Path<(String, String)>,
) -> Result<JsonBody<MachineTypeDetailJson>, ApiError> {
    call_json(&state, key, move |cloud, who| {
        Ok(MachineTypeDetailJson::from(&cloud.get_machine_type(who, &data_center_id, &machine_type)?))
    })
    .await
}

/// Filters of the VM data-center list.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct VmDataCenterQuery {
    /// Only data centers of this region (a lower-case country code).
    #[serde(default)]
    pub region_id: Option<String>,
    /// Only data centers that do, or do not, run on renewable energy.
    #[serde(default)]
    pub renewable_energy: Option<bool>,
}

/// The data centers VMs can run in.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListVMDataCentersResponse {
    /// The data centers.
    pub data_centers: Vec<VmDataCenterJson>,
}

/// Lists the data centers VMs can run in.
#[utoipa::path(get, path = "/v1/vms/data-centers", tag = "virtual machines", operation_id = "ListVMDataCenters",
    params(VmDataCenterQuery),
    responses((status = 200, description = "The data centers.", body = ListVMDataCentersResponse)))]
pub async fn list_vm_data_centers(
    State(state): State<AppState>,
    key: BearerKey,
    Query(filter): Query<VmDataCenterQuery>,
) -> Result<JsonBody<ListVMDataCentersResponse>, ApiError> {
    call_json(&state, key, move |cloud, who| {
        let types = cloud.list_machine_types(who, None)?;
        let data_centers = cloud
            .list_data_centers(who)?
            .iter()
            .filter(|dc| filter.region_id.as_ref().is_none_or(|r| dc.country.eq_ignore_ascii_case(r)))
            .filter(|dc| filter.renewable_energy.is_none_or(|r| dc.renewable_energy == r))
            .map(|dc| VmDataCenterJson::new(dc, &types))
            .collect();
        Ok(ListVMDataCentersResponse { data_centers })
    })
    .await
}

/// The filter of the VM machine-type lists.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct VmMachineTypeQuery {
    /// Accepted for compatibility; every project sees the same catalog.
    #[serde(default)]
    pub project_id: Option<String>,
}

/// The machine types VMs can have, in every data center.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListVMMachineTypesResponse {
    /// The machine types.
    pub machine_types: Vec<VmMachineTypeJson>,
}

async fn vm_machine_types(state: AppState, key: BearerKey) -> Result<JsonBody<ListVMMachineTypesResponse>, ApiError> {
    call_json(&state, key, move |cloud, who| {
        let max_disk = cloud.config().limits.max_disk_size_gib;
        let types = cloud.list_machine_types(who, None)?;
        Ok(ListVMMachineTypesResponse {
            machine_types: types.iter().map(|mt| VmMachineTypeJson::new(mt, max_disk)).collect(),
        })
    })
    .await
}

/// Lists the machine types VMs can have.
#[utoipa::path(get, path = "/v1/vms/machine-types", tag = "virtual machines", operation_id = "ListVMMachineTypes",
    params(VmMachineTypeQuery),
    responses((status = 200, description = "The machine types.", body = ListVMMachineTypesResponse)))]
pub async fn list_vm_machine_types(
    State(state): State<AppState>,
    key: BearerKey,
    Query(_filter): Query<VmMachineTypeQuery>,
) -> Result<JsonBody<ListVMMachineTypesResponse>, ApiError> {
    vm_machine_types(state, key).await
}

/// Lists the machine types VMs can have (the path of the `cudo-compute`
/// SDK's `list_vm_machine_types2`).
#[utoipa::path(get, path = "/v1/vms/machine-types-2", tag = "virtual machines", operation_id = "ListVMMachineTypes2",
    params(VmMachineTypeQuery),
    responses((status = 200, description = "The machine types.", body = ListVMMachineTypesResponse)))]
pub async fn list_vm_machine_types_2(
    State(state): State<AppState>,
    key: BearerKey,
    Query(_filter): Query<VmMachineTypeQuery>,
) -> Result<JsonBody<ListVMMachineTypesResponse>, ApiError> {
    vm_machine_types(state, key).await
}

/// Gets one machine type as VMs see it.
#[utoipa::path(get, path = "/v1/vms/data-centers/{dataCenterId}/machine_types/{machineTypeId}",
    tag = "virtual machines", operation_id = "GetVMMachineType",
    params(("dataCenterId" = String, Path, description = "The data center's id.", example = "gb-bournemouth-1"),
           ("machineTypeId" = String, Path, description = "The machine type's id.", example = "gpu-a100-x2"),
           VmMachineTypeQuery),
    responses((status = 200, description = "The machine type.", body = VmMachineTypeJson)))]
pub async fn get_vm_machine_type(
    State(state): State<AppState>,
    key: BearerKey,
    Path((data_center_id, machine_type)): Path<(String, String)>,
    Query(_filter): Query<VmMachineTypeQuery>,
) -> Result<JsonBody<VmMachineTypeJson>, ApiError> {
    call_json(&state, key, move |cloud, who| {
        let mt = cloud.get_machine_type(who, &data_center_id, &machine_type)?;
        Ok(VmMachineTypeJson::new(&mt, cloud.config().limits.max_disk_size_gib))
    })
    .await
}

/// The GPU models.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListVMGpuModelsResponse {
    /// The GPU models.
    pub gpu_models: Vec<GpuModelJson>,
}

/// Lists the GPU models.
#[utoipa::path(get, path = "/v1/vms/gpu-models", tag = "virtual machines", operation_id = "ListVMGpuModels",
    responses((status = 200, description = "The GPU models.", body = ListVMGpuModelsResponse)))]
pub async fn list_gpu_models(
    State(state): State<AppState>,
    key: BearerKey,
) -> Result<JsonBody<ListVMGpuModelsResponse>, ApiError> {
    call_json(&state, key, move |cloud, who| {
        Ok(ListVMGpuModelsResponse {
            gpu_models: cloud.list_gpu_models(who)?.into_iter().map(GpuModelJson::from).collect(),
        })
    })
    .await
}
