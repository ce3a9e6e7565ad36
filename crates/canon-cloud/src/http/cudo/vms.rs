//! Virtual machines: create, list, get, start, stop, terminate, resize,
//! and their disks.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::response::Response;
use canon::Status;
use canon_axum::ApiError;
use canon_axum::extract::{Json, Path, Query};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::wire::{DiskJson, Empty, VmJson};
use super::{BearerKey, IfMatch, RawBody, call, call_json, fields, rename_field, with_etag};
use crate::Cloud;
use crate::auth::Principal;
use crate::http::{AppState, JsonBody};
use crate::model::{CreateVm, ListedDisk, ListedVm, ResizeVm, Vm};

/// CUDO's deprecated boot disk of a create request.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BootDiskBody {
    /// The size, GiB (20 at least).
    #[serde(default)]
    pub size_gib: Option<i64>,
}

/// What `POST /v1/projects/{projectId}/vm` takes. Fields CUDO defines and
/// the emulator has no use for (`nics`, `password`, `startScript`...) are
/// accepted and ignored.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"vmId": "vm-1", "dataCenterId": "gb-bournemouth-1", "machineType": "gpu-a100-x2",
    "vcpus": 8, "memoryGib": 32, "gpus": 2, "bootDiskSizeGib": 40, "bootDiskImageId": "ubuntu-2204"}))]
pub struct CreateVMBody {
    /// The client-chosen id: 1 to 63 lower-case letters, digits and
    /// hyphens. Creating an id that exists is ALREADY_EXISTS, which makes
    /// a retried create safe.
    #[schema(pattern = "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")]
    pub vm_id: String,
    /// The data center.
    pub data_center_id: String,
    /// The machine type.
    pub machine_type: String,
    /// Virtual CPUs, at most the machine type's (its own when absent).
    #[serde(default)]
    pub vcpus: Option<i64>,
    /// Memory, GiB, at most the machine type's.
    #[serde(default)]
    pub memory_gib: Option<i64>,
    /// GPUs, at most the machine type's.
    #[serde(default)]
    pub gpus: Option<i64>,
    /// The boot disk's size, GiB (20 when absent).
    #[serde(default)]
    pub boot_disk_size_gib: Option<i64>,
    /// The boot disk, CUDO's older way of giving its size.
    #[serde(default)]
    pub boot_disk: Option<BootDiskBody>,
    /// The boot image.
    #[serde(default)]
    pub boot_disk_image_id: Option<String>,
    /// Free-form metadata.
    #[serde(default)]
    pub metadata: Option<BTreeMap<String, String>>,
    /// `SSH_KEY_SOURCE_PROJECT` puts every SSH key of the project on the
    /// VM (which then needs `read:ssh-keys` too); other values, none.
    #[serde(default)]
    pub ssh_key_source: Option<String>,
    /// Not supported by the emulator: `true` is INVALID_ARGUMENT.
    #[serde(default)]
    pub validate_only: Option<bool>,
}

/// The created VM.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateVMResponse {
    /// The VM's id.
    pub id: String,
    /// The VM.
    pub vm: VmJson,
}

/// The VM with its disks, as the JSON shows it. Call it only after a
/// domain call that authorized the caller for the VM's project and
/// returned the VM: the disks are then read directly.
fn vm_json(cloud: &Cloud, vm: Vm) -> Result<VmJson, Status> {
    let disks = cloud.run(|tx, _| crate::repo::disks_of_vm(tx, &vm.project_id, &vm.id))?;
    Ok(VmJson::new(vm, disks))
}

/// The VMs with their disks, given every disk attached to one of them
/// (in their order).
fn vms_json(vms: Vec<ListedVm>, disks: Vec<ListedDisk>) -> Vec<VmJson> {
    let mut of_vm: Vec<Vec<ListedDisk>> = vms.iter().map(|_| Vec::new()).collect();
    // The VMs' positions by id, sorted: a few comparisons per disk, no
    // hashing.
    let mut index: Vec<(&str, usize)> = vms.iter().enumerate().map(|(n, vm)| (vm.id.as_str(), n)).collect();
    index.sort_unstable();
    for disk in disks {
        let Some(vm_id) = disk.vm_id.as_deref() else { continue };
        if let Ok(found) = index.binary_search_by(|(id, _)| (*id).cmp(vm_id)) {
            of_vm[index[found].1].push(disk);
        }
    }
    drop(index);
    vms.into_iter().zip(of_vm).map(|(vm, disks)| VmJson::listed(vm, disks)).collect()
}

/// Creates a VM and its boot disk.
#[utoipa::path(post, path = "/v1/projects/{projectId}/vm", tag = "virtual machines", operation_id = "CreateVM",
    params(("projectId" = String, Path, description = "The project's id.", example = "demo")),
    request_body = CreateVMBody,
    responses((status = 200, description = "The VM.", body = CreateVMResponse)))]
pub async fn create_vm(
    State(state): State<AppState>,
    key: BearerKey,
    Path(project_id): Path<String>,
    Json(body): RawBody,
) -> Result<JsonBody<CreateVMResponse>, ApiError> {
    call_json(&state, key, move |cloud, who| {
        let body: CreateVMBody = fields(&body)?;
        if body.validate_only == Some(true) {
            return Err(cloud.errors().invalid_field("validateOnly", "The emulator does not support validateOnly."));
        }
        let (boot_size, boot_field) = match (body.boot_disk_size_gib, body.boot_disk.and_then(|d| d.size_gib)) {
            (Some(size), _) => (Some(size), "bootDiskSizeGib"),
            (None, Some(size)) => (Some(size), "bootDisk.sizeGib"),
            (None, None) => (None, "bootDiskSizeGib"),
        };
        let ssh_key_ids = if body.ssh_key_source.as_deref() == Some("SSH_KEY_SOURCE_PROJECT") {
            cloud.list_ssh_keys(who, &project_id)?.into_iter().map(|k| k.id).collect()
        } else {
            Vec::new()
        };
        let request = CreateVm {
            id: body.vm_id,
            name: None,
            data_center_id: body.data_center_id,
            machine_type: body.machine_type,
            vcpus: body.vcpus,
            memory_gib: body.memory_gib,
            gpus: body.gpus,
            boot_disk_size_gib: boot_size,
            boot_disk_image_id: body.boot_disk_image_id,
            ssh_key_ids,
            metadata: body.metadata.unwrap_or_default(),
        };
        let vm = cloud
            .create_vm(who, &project_id, request)
            .map_err(|status| rename_field(status, "bootDiskSizeGib", boot_field))?;
        Ok(CreateVMResponse { id: vm.id.clone(), vm: vm_json(cloud, vm)? })
    })
    .await
}

/// The project's VMs.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListVMsResponse {
    /// The VMs, oldest first.
    #[serde(rename = "VMs")]
    pub vms: Vec<VmJson>,
}

/// The filter of the VM list.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ListVmsQuery {
    /// Accepted for compatibility; the emulator has no networks, so a
    /// given network has no VMs.
    #[serde(default)]
    pub network_id: Option<String>,
}

/// Lists the project's VMs.
#[utoipa::path(get, path = "/v1/projects/{projectId}/vms", tag = "virtual machines", operation_id = "ListVMs",
    params(("projectId" = String, Path, description = "The project's id.", example = "demo"), ListVmsQuery),
    responses((status = 200, description = "The VMs.", body = ListVMsResponse)))]
pub async fn list_vms(
    State(state): State<AppState>,
    key: BearerKey,
    Path(project_id): Path<String>,
    Query(filter): Query<ListVmsQuery>,
) -> Result<JsonBody<ListVMsResponse>, ApiError> {
    call_json(&state, key, move |cloud, who| {
        if filter.network_id.as_deref().is_some_and(|id| !id.is_empty()) {
            cloud.list_vms(who, &project_id)?;
            return Ok(ListVMsResponse { vms: Vec::new() });
        }
        let (vms, disks) = cloud.list_vms_with_disks(who, &project_id)?;
        Ok(ListVMsResponse { vms: vms_json(vms, disks) })
    })
    .await
}

/// A VM with what it costs.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GetVMResponse {
    /// The VM.
    #[serde(rename = "VM")]
    pub vm: VmJson,
    /// A vCPU.
    pub vcpu_price_hr: super::pricing::Decimal,
    /// All its vCPUs.
    pub total_vcpu_price_hr: super::pricing::Decimal,
    /// A GiB of memory.
    pub memory_gib_price_hr: super::pricing::Decimal,
    /// All its memory.
    pub total_memory_price_hr: super::pricing::Decimal,
    /// A GPU.
    pub gpu_price_hr: super::pricing::Decimal,
    /// All its GPUs.
    pub total_gpu_price_hr: super::pricing::Decimal,
    /// A GiB of disk.
    pub storage_gib_price_hr: super::pricing::Decimal,
    /// All its disks.
    pub total_storage_price_hr: super::pricing::Decimal,
    /// Its IPv4 address.
    pub ipv4_price_hr: super::pricing::Decimal,
    /// Everything.
    pub total_price_hr: super::pricing::Decimal,
}

impl GetVMResponse {
    fn new(vm: VmJson) -> GetVMResponse {
        let price = vm.price;
        GetVMResponse {
            vm,
            vcpu_price_hr: price.vcpu_price_hr,
            total_vcpu_price_hr: price.total_vcpu_price_hr,
            memory_gib_price_hr: price.memory_gib_price_hr,
            total_memory_price_hr: price.total_memory_price_hr,
            gpu_price_hr: price.gpu_price_hr,
            total_gpu_price_hr: price.total_gpu_price_hr,
            storage_gib_price_hr: price.storage_gib_price_hr,
            total_storage_price_hr: price.total_storage_price_hr,
            ipv4_price_hr: price.ipv4_address_price_hr,
            total_price_hr: price.total_price_hr,
        }
    }
}

/// Gets a VM, with its `ETag`.
#[utoipa::path(get, path = "/v1/projects/{projectId}/vms/{id}", tag = "virtual machines", operation_id = "GetVM",
    params(("projectId" = String, Path, description = "The project's id.", example = "demo"),
           ("id" = String, Path, description = "The VM's id.")),
    responses((status = 200, description = "The VM.", body = GetVMResponse,
        headers(("ETag" = String, description = "The VM's entity tag, for If-Match.")))))]
pub async fn get_vm(
    State(state): State<AppState>,
    key: BearerKey,
    Path((project_id, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (body, etag) = call(&state, key, move |cloud, who| {
        // Only what the JSON shows is read (the list's projection), and
        // the version for the ETag.
        let (vm, version, disks) = cloud.get_listed_vm_with_disks(who, &project_id, &id)?;
        let etag = crate::model::etag(vm.created_at, version);
        Ok((GetVMResponse::new(VmJson::listed(vm, disks)), etag))
    })
    .await?;
    Ok(with_etag(body, &etag))
}

/// The path of one VM.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VmPath {
    /// The project.
    pub project_id: String,
    /// The VM.
    pub id: String,
}

/// Starts a stopped VM.
#[utoipa::path(post, path = "/v1/projects/{projectId}/vms/{id}/start", tag = "virtual machines", operation_id = "StartVM",
    params(("projectId" = String, Path, description = "The project's id.", example = "demo"),
           ("id" = String, Path, description = "The VM's id."),
           ("If-Match" = Option<String>, Header, description = "Only if the VM's ETag is this.")),
    responses((status = 200, description = "Starting.", body = Empty)))]
pub async fn start_vm(
    State(state): State<AppState>,
    key: BearerKey,
    if_match: IfMatch,
    Path(path): Path<VmPath>,
) -> Result<JsonBody<Empty>, ApiError> {
    vm_action(&state, key, if_match, path, Cloud::start_vm).await
}

/// Stops a running VM.
#[utoipa::path(post, path = "/v1/projects/{projectId}/vms/{id}/stop", tag = "virtual machines", operation_id = "StopVM",
    params(("projectId" = String, Path, description = "The project's id.", example = "demo"),
           ("id" = String, Path, description = "The VM's id."),
           ("If-Match" = Option<String>, Header, description = "Only if the VM's ETag is this.")),
    responses((status = 200, description = "Stopping.", body = Empty)))]
pub async fn stop_vm(
    State(state): State<AppState>,
    key: BearerKey,
    if_match: IfMatch,
    Path(path): Path<VmPath>,
) -> Result<JsonBody<Empty>, ApiError> {
    vm_action(&state, key, if_match, path, Cloud::stop_vm).await
}

/// A domain call that changes a VM's state: start, stop, terminate.
type VmAction = fn(&Cloud, &Principal, &str, &str, Option<&str>) -> Result<Vm, Status>;

/// Runs a [`VmAction`] on the VM of the path; the answer is empty.
async fn vm_action(
    state: &AppState,
    key: BearerKey,
    if_match: IfMatch,
    path: VmPath,
    action: VmAction,
) -> Result<JsonBody<Empty>, ApiError> {
    call_json(state, key, move |cloud, who| {
        action(cloud, who, &path.project_id, &path.id, if_match.0.as_deref()).map(|_| Empty {})
    })
    .await
}

/// Terminates a VM with its boot disk; its storage disks are detached.
#[utoipa::path(post, path = "/v1/projects/{projectId}/vms/{id}/terminate", tag = "virtual machines",
    operation_id = "TerminateVM",
    params(("projectId" = String, Path, description = "The project's id.", example = "demo"),
           ("id" = String, Path, description = "The VM's id."),
           ("If-Match" = Option<String>, Header, description = "Only if the VM's ETag is this.")),
    responses((status = 200, description = "Terminating.", body = Empty)))]
pub async fn terminate_vm(
    State(state): State<AppState>,
    key: BearerKey,
    if_match: IfMatch,
    Path(path): Path<VmPath>,
) -> Result<JsonBody<Empty>, ApiError> {
    vm_action(&state, key, if_match, path, Cloud::terminate_vm).await
}

/// The new size of a VM.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ResizeVmQuery {
    /// New virtual CPUs.
    #[serde(default)]
    pub vcpus: Option<i64>,
    /// New memory, GiB.
    #[serde(default)]
    pub memory_gib: Option<i64>,
}

/// The resized VM.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResizeVMResponse {
    /// The VM.
    pub vm: VmJson,
}

/// Changes a VM's vCPUs and memory within its machine type.
#[utoipa::path(post, path = "/v1/projects/{projectId}/vms/{id}/resize", tag = "virtual machines",
    operation_id = "ResizeVM",
    params(("projectId" = String, Path, description = "The project's id.", example = "demo"),
           ("id" = String, Path, description = "The VM's id."),
           ("If-Match" = Option<String>, Header, description = "Only if the VM's ETag is this."),
           ResizeVmQuery),
    responses((status = 200, description = "The VM.", body = ResizeVMResponse)))]
pub async fn resize_vm(
    State(state): State<AppState>,
    key: BearerKey,
    if_match: IfMatch,
    Path(path): Path<VmPath>,
    Query(size): Query<ResizeVmQuery>,
) -> Result<JsonBody<ResizeVMResponse>, ApiError> {
    call_json(&state, key, move |cloud, who| {
        let request = ResizeVm { vcpus: size.vcpus, memory_gib: size.memory_gib };
        let vm = cloud.resize_vm(who, &path.project_id, &path.id, request, if_match.0.as_deref())?;
        Ok(ResizeVMResponse { vm: vm_json(cloud, vm)? })
    })
    .await
}

/// A VM's disks.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListVMDisksResponse {
    /// The boot disk first, then the attached storage disks.
    pub disks: Vec<DiskJson>,
}

/// Lists a VM's disks.
#[utoipa::path(get, path = "/v1/projects/{projectId}/vms/{id}/disks", tag = "virtual machines",
    operation_id = "ListVMDisks",
    params(("projectId" = String, Path, description = "The project's id.", example = "demo"),
           ("id" = String, Path, description = "The VM's id.")),
    responses((status = 200, description = "The disks.", body = ListVMDisksResponse)))]
pub async fn list_vm_disks(
    State(state): State<AppState>,
    key: BearerKey,
    Path(path): Path<VmPath>,
) -> Result<JsonBody<ListVMDisksResponse>, ApiError> {
    call_json(&state, key, move |cloud, who| {
        let disks = cloud.list_vm_disks(who, &path.project_id, &path.id)?;
        Ok(ListVMDisksResponse { disks: disks.iter().map(DiskJson::from).collect() })
    })
    .await
}

/// Which disk of a VM to resize, and to what.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ResizeVmDiskQuery {
    /// The disk (the VM's boot disk or an attached storage disk).
    #[serde(default)]
    pub disk_id: Option<String>,
    /// The new size, GiB: not below the current one.
    #[serde(default)]
    pub size_gib: Option<i64>,
}

/// Grows a disk of a VM.
#[utoipa::path(patch, path = "/v1/projects/{projectId}/vms/{id}/disks", tag = "virtual machines",
    operation_id = "ResizeVMDisk",
    params(("projectId" = String, Path, description = "The project's id.", example = "demo"),
           ("id" = String, Path, description = "The VM's id."),
           ("If-Match" = Option<String>, Header, description = "Only if the disk's ETag is this."),
           ResizeVmDiskQuery),
    responses((status = 200, description = "Resizing.", body = Empty)))]
pub async fn resize_vm_disk(
    State(state): State<AppState>,
    key: BearerKey,
    if_match: IfMatch,
    Path(path): Path<VmPath>,
    Query(query): Query<ResizeVmDiskQuery>,
) -> Result<JsonBody<Empty>, ApiError> {
    call_json(&state, key, move |cloud, who| {
        let disks = cloud.list_vm_disks(who, &path.project_id, &path.id)?;
        let Some(disk_id) = query.disk_id.filter(|id| !id.is_empty()) else {
            return Err(cloud.errors().invalid_field("diskId", "This value is required."));
        };
        let Some(size) = query.size_gib else {
            return Err(cloud.errors().invalid_field("sizeGib", "This value is required."));
        };
        if !disks.iter().any(|d| d.id == disk_id) {
            return Err(cloud.errors().invalid_field("diskId", format!("VM '{}' has no disk '{disk_id}'.", path.id)));
        }
        cloud.resize_disk(who, &path.project_id, &disk_id, size, if_match.0.as_deref()).map(|_| Empty {})
    })
    .await
}
