//! The handlers of the Gcore surface. Each authenticates, resolves the
//! integer project (and region) of its path, calls the domain and writes
//! the result in Gcore's JSON, or the domain's error through
//! [`to_gcore`].

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use canon::Status;
use canon::details::FieldViolation;
use canon_axum::ApiError;
use canon_axum::extract::{Json, Path, Query};

use super::auth::GcoreAuth;
use super::error::{ErrorContext, gpu_quota_name, to_gcore, validation_error};
use super::schema::{
    AvailableNames, ClientQuotas, CreateInstanceBody, CreateSshKeyBody, CreateVolumeBody, ExtendVolumeBody, Flavor,
    FlavorList, GcoreError, GcoreProject, GcoreSshKey, GlobalQuotas, Instance, InstanceList, ListQuery, ProjectList,
    Region, RegionList, RegionalQuota, SshKeyList, Task, TaskIdList, TaskList, Volume, VolumeList,
};
use crate::Cloud;
use crate::auth::Principal;
use crate::http::{AppState, blocking};
use crate::model::{
    CreateDisk, CreateSshKey, CreateVm, DataCenter, Disk, DiskType, Project, ResourceKind, ResourceRef, Vm,
};
use crate::naming::{self, NameField};

/// The largest page.
pub const MAX_LIMIT: u32 = 1000;

/// The largest offset: what OpenAPI's `int32` holds.
pub const MAX_OFFSET: u32 = i32::MAX as u32;

/// One request's caller, project and region, and its errors' context.
struct Call<'a> {
    cloud: &'a Cloud,
    who: Principal,
    project: Project,
    region: Option<DataCenter>,
}

impl<'a> Call<'a> {
    fn context(&self) -> ErrorContext {
        ErrorContext { project_id: Some(self.project.number), region_id: self.region.as_ref().map(|r| r.number) }
    }

    /// The domain's error in Gcore's words.
    fn fail(&self, status: Status) -> ApiError {
        ApiError::new(to_gcore(&status, self.context()))
    }

    fn region(&self) -> &DataCenter {
        self.region.as_ref().expect("a regional call has a region")
    }

    /// Resolves the caller's project by its integer id.
    fn project(cloud: &'a Cloud, who: Principal, project_id: i64) -> Result<Call<'a>, ApiError> {
        let context = ErrorContext { project_id: Some(project_id), region_id: None };
        let project = cloud.project_by_number(&who, project_id).map_err(|e| ApiError::new(to_gcore(&e, context)))?;
        Ok(Call { cloud, who, project, region: None })
    }

    /// Resolves the caller's project and a region by their integer ids.
    fn regional(cloud: &'a Cloud, who: Principal, project_id: i64, region_id: i64) -> Result<Call<'a>, ApiError> {
        let mut call = Call::project(cloud, who, project_id)?;
        let context = ErrorContext { project_id: Some(project_id), region_id: Some(region_id) };
        let region =
            call.cloud.data_center_by_number(&call.who, region_id).map_err(|e| ApiError::new(to_gcore(&e, context)))?;
        call.region = Some(region);
        Ok(call)
    }

    /// The caller's own project, for paths that name none.
    fn own(cloud: &'a Cloud, who: Principal) -> Result<Call<'a>, ApiError> {
        let project = cloud
            .get_project(&who, who.project_id())
            .map_err(|e| ApiError::new(to_gcore(&e, ErrorContext::default())))?;
        Ok(Call { cloud, who, project, region: None })
    }

    /// A task tracking `resources`, for a write that just succeeded. A
    /// resource already gone (a delete done at once) is not tracked.
    fn task(&self, kind: &str, resources: Vec<ResourceRef>) -> Result<TaskIdList, ApiError> {
        let project_id = &self.project.id;
        let operation = match self.cloud.create_operation(&self.who, project_id, kind, resources.clone(), None) {
            Err(error) if error.code() == canon::Code::NotFound => {
                self.cloud.create_operation(&self.who, project_id, kind, Vec::new(), None)
            }
            other => other,
        }
        .map_err(|e| self.fail(e))?;
        Ok(TaskIdList { tasks: vec![operation.id] })
    }

    /// A disk of the project in the call's region; in another region it
    /// is not found, as Gcore says.
    fn disk(&self, volume_id: &str) -> Result<Disk, ApiError> {
        let disk = self.cloud.get_disk(&self.who, &self.project.id, volume_id).map_err(|e| self.fail(e))?;
        if disk.data_center_id != self.region().id {
            return Err(self.fail(self.cloud.errors().not_found(ResourceKind::Disk, volume_id, &self.project.id)));
        }
        Ok(disk)
    }

    /// A VM of the project in the call's region.
    fn vm(&self, instance_id: &str) -> Result<Vm, ApiError> {
        let vm = self.cloud.get_vm(&self.who, &self.project.id, instance_id).map_err(|e| self.fail(e))?;
        if vm.data_center_id != self.region().id {
            return Err(self.fail(self.cloud.errors().not_found(ResourceKind::Vm, instance_id, &self.project.id)));
        }
        Ok(vm)
    }

    /// VMs as instances, with their attached storage volumes and SSH key
    /// names.
    fn instances(&self, vms: Vec<Vm>) -> Result<Vec<Instance>, ApiError> {
        let region = self.region();
        let disks = self.cloud.list_disks(&self.who, &self.project.id, Some(&region.id)).map_err(|e| self.fail(e))?;
        let keys = self.cloud.list_ssh_keys(&self.who, &self.project.id).map_err(|e| self.fail(e))?;
        Ok(vms
            .iter()
            .map(|vm| {
                let storage = disks
                    .iter()
                    .filter(|d| d.disk_type == DiskType::Storage)
                    .filter(|d| d.attachment.as_ref().is_some_and(|a| a.vm_id == vm.id))
                    .map(|d| d.id.clone())
                    .collect();
                let key_name =
                    vm.ssh_key_ids.first().and_then(|id| keys.iter().find(|k| &k.id == id)).map(|k| k.name.clone());
                Instance::from_domain(vm, self.project.number, region, storage, key_name)
            })
            .collect())
    }
}

/// Runs `f` on the domain in a blocking thread: every domain call is an
/// SQLite transaction, which may wait on the store's lock and on fsync.
async fn on_domain<T, F>(state: AppState, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&Cloud) -> Result<T, ApiError> + Send + 'static,
{
    blocking(move || f(&state.cloud)).await?
}

/// One page of `items`: `limit` (1 to [`MAX_LIMIT`], all when absent)
/// items from `offset`, with the count of all.
pub fn page<T>(items: Vec<T>, query: ListQuery) -> Result<(usize, Vec<T>), ApiError> {
    if let Some(limit) = query.limit.filter(|l| !(1..=MAX_LIMIT).contains(l)) {
        return Err(ApiError::new(validation_error(vec![FieldViolation::new(
            "limit",
            format!("Must be between 1 and {MAX_LIMIT}, got {limit}."),
        )])));
    }
    if let Some(offset) = query.offset.filter(|o| *o > MAX_OFFSET) {
        return Err(ApiError::new(validation_error(vec![FieldViolation::new(
            "offset",
            format!("Must be at most {MAX_OFFSET}, got {offset}."),
        )])));
    }
    let count = items.len();
    let offset = query.offset.unwrap_or(0) as usize;
    let limit = query.limit.map_or(usize::MAX, |l| l as usize);
    Ok((count, items.into_iter().skip(offset).take(limit).collect()))
}

const PROJECT_ID: &str = "Project ID";
const REGION_ID: &str = "Region ID";

// Projects and regions.

/// List the caller's projects.
#[utoipa::path(get, path = "/cloud/v1/projects", tag = "Projects", params(ListQuery),
    responses((status = 200, body = ProjectList), (status = "default", description = "Any error", body = GcoreError)),
    security(("APIKey" = [])))]
pub async fn list_projects(
    State(state): State<AppState>,
    GcoreAuth(who): GcoreAuth,
    Query(query): Query<ListQuery>,
) -> Result<Json<ProjectList>, ApiError> {
    on_domain(state, move |cloud| {
        let call = Call::own(cloud, who)?;
        let projects = call.cloud.list_projects(&call.who).map_err(|e| call.fail(e))?;
        Ok(Json(page(projects.iter().map(GcoreProject::from_domain).collect(), query)?.into()))
    })
    .await
}

/// Get a project.
#[utoipa::path(get, path = "/cloud/v1/projects/{project_id}", tag = "Projects",
    params(("project_id" = i64, Path, description = PROJECT_ID)),
    responses((status = 200, body = GcoreProject), (status = "default", description = "Any error", body = GcoreError)),
    security(("APIKey" = [])))]
pub async fn get_project(
    State(state): State<AppState>,
    GcoreAuth(who): GcoreAuth,
    Path(project_id): Path<i64>,
) -> Result<Json<GcoreProject>, ApiError> {
    on_domain(state, move |cloud| {
        let call = Call::project(cloud, who, project_id)?;
        Ok(Json(GcoreProject::from_domain(&call.project)))
    })
    .await
}

fn regions_in_maintenance(cloud: &Cloud) -> Result<Vec<String>, Status> {
    let now = cloud.now();
    Ok(cloud.admin().list_maintenance()?.into_iter().filter(|w| w.is_active(now)).map(|w| w.data_center_id).collect())
}

/// List the regions.
#[utoipa::path(get, path = "/cloud/v1/regions", tag = "Regions", params(ListQuery),
    responses((status = 200, body = RegionList), (status = "default", description = "Any error", body = GcoreError)),
    security(("APIKey" = [])))]
pub async fn list_regions(
    State(state): State<AppState>,
    GcoreAuth(who): GcoreAuth,
    Query(query): Query<ListQuery>,
) -> Result<Json<RegionList>, ApiError> {
    on_domain(state, move |cloud| {
        let fail = |e: Status| ApiError::new(to_gcore(&e, ErrorContext::default()));
        let regions = cloud.list_data_centers(&who).map_err(fail)?;
        let down = regions_in_maintenance(cloud).map_err(fail)?;
        let regions = regions.iter().map(|dc| Region::from_domain(dc, down.contains(&dc.id))).collect();
        Ok(Json(page(regions, query)?.into()))
    })
    .await
}

/// Get a region.
#[utoipa::path(get, path = "/cloud/v1/regions/{region_id}", tag = "Regions",
    params(("region_id" = i64, Path, description = REGION_ID)),
    responses((status = 200, body = Region), (status = "default", description = "Any error", body = GcoreError)),
    security(("APIKey" = [])))]
pub async fn get_region(
    State(state): State<AppState>,
    GcoreAuth(who): GcoreAuth,
    Path(region_id): Path<i64>,
) -> Result<Json<Region>, ApiError> {
    on_domain(state, move |cloud| {
        let fail =
            |e: Status| ApiError::new(to_gcore(&e, ErrorContext { project_id: None, region_id: Some(region_id) }));
        let dc = cloud.data_center_by_number(&who, region_id).map_err(fail)?;
        let down = regions_in_maintenance(cloud).map_err(fail)?;
        Ok(Json(Region::from_domain(&dc, down.contains(&dc.id))))
    })
    .await
}

/// List the flavors of a region, with the capacity each has left.
#[utoipa::path(get, path = "/cloud/v1/flavors/{project_id}/{region_id}", tag = "Flavors",
    params(("project_id" = i64, Path, description = PROJECT_ID), ("region_id" = i64, Path, description = REGION_ID), ListQuery),
    responses((status = 200, body = FlavorList), (status = "default", description = "Any error", body = GcoreError)),
    security(("APIKey" = [])))]
pub async fn list_flavors(
    State(state): State<AppState>,
    GcoreAuth(who): GcoreAuth,
    Path((project_id, region_id)): Path<(i64, i64)>,
    Query(query): Query<ListQuery>,
) -> Result<Json<FlavorList>, ApiError> {
    on_domain(state, move |cloud| {
        let call = Call::regional(cloud, who, project_id, region_id)?;
        let types = call.cloud.list_machine_types(&call.who, Some(&call.region().id)).map_err(|e| call.fail(e))?;
        let models = call.cloud.list_gpu_models(&call.who).map_err(|e| call.fail(e))?;
        let flavors = types
            .iter()
            .map(|mt| {
                let model = mt.gpu_model_id.as_ref().and_then(|id| models.iter().find(|m| &m.id == id));
                Flavor::from_domain(mt, model.map(|m| m.model_name.as_str()))
            })
            .collect();
        Ok(Json(page(flavors, query)?.into()))
    })
    .await
}

// SSH keys.

/// Add an SSH key to the project.
#[utoipa::path(post, path = "/cloud/v1/ssh_keys/{project_id}", tag = "SSH keys",
    params(("project_id" = i64, Path, description = PROJECT_ID)), request_body = CreateSshKeyBody,
    responses((status = 201, body = GcoreSshKey), (status = "default", description = "Any error", body = GcoreError)),
    security(("APIKey" = [])))]
pub async fn create_ssh_key(
    State(state): State<AppState>,
    GcoreAuth(who): GcoreAuth,
    Path(project_id): Path<i64>,
    Json(body): Json<CreateSshKeyBody>,
) -> Result<(StatusCode, Json<GcoreSshKey>), ApiError> {
    on_domain(state, move |cloud| {
        let call = Call::project(cloud, who, project_id)?;
        let Some(public_key) = body.public_key else {
            return Err(ApiError::new(validation_error(vec![FieldViolation::new(
                "public_key",
                "The emulator generates no key pairs: give the public key.",
            )])));
        };
        let request = CreateSshKey { name: Some(body.name), public_key };
        let key = call.cloud.create_ssh_key(&call.who, &call.project.id, request).map_err(|e| call.fail(e))?;
        Ok((StatusCode::CREATED, Json(GcoreSshKey::from_domain(&key, call.project.number))))
    })
    .await
}

/// List the project's SSH keys.
#[utoipa::path(get, path = "/cloud/v1/ssh_keys/{project_id}", tag = "SSH keys",
    params(("project_id" = i64, Path, description = PROJECT_ID), ListQuery),
    responses((status = 200, body = SshKeyList), (status = "default", description = "Any error", body = GcoreError)),
    security(("APIKey" = [])))]
pub async fn list_ssh_keys(
    State(state): State<AppState>,
    GcoreAuth(who): GcoreAuth,
    Path(project_id): Path<i64>,
    Query(query): Query<ListQuery>,
) -> Result<Json<SshKeyList>, ApiError> {
    on_domain(state, move |cloud| {
        let call = Call::project(cloud, who, project_id)?;
        let keys = call.cloud.list_ssh_keys(&call.who, &call.project.id).map_err(|e| call.fail(e))?;
        let keys = keys.iter().map(|k| GcoreSshKey::from_domain(k, call.project.number)).collect();
        Ok(Json(page(keys, query)?.into()))
    })
    .await
}

/// Get an SSH key.
#[utoipa::path(get, path = "/cloud/v1/ssh_keys/{project_id}/{ssh_key_id}", tag = "SSH keys",
    params(("project_id" = i64, Path, description = PROJECT_ID), ("ssh_key_id" = String, Path, description = "SSH key ID")),
    responses((status = 200, body = GcoreSshKey), (status = "default", description = "Any error", body = GcoreError)),
    security(("APIKey" = [])))]
pub async fn get_ssh_key(
    State(state): State<AppState>,
    GcoreAuth(who): GcoreAuth,
    Path((project_id, ssh_key_id)): Path<(i64, String)>,
) -> Result<Json<GcoreSshKey>, ApiError> {
    on_domain(state, move |cloud| {
        let call = Call::project(cloud, who, project_id)?;
        let key = call.cloud.get_ssh_key(&call.who, &call.project.id, &ssh_key_id).map_err(|e| call.fail(e))?;
        Ok(Json(GcoreSshKey::from_domain(&key, call.project.number)))
    })
    .await
}

/// Delete an SSH key.
#[utoipa::path(delete, path = "/cloud/v1/ssh_keys/{project_id}/{ssh_key_id}", tag = "SSH keys",
    params(("project_id" = i64, Path, description = PROJECT_ID), ("ssh_key_id" = String, Path, description = "SSH key ID")),
    responses((status = 204, description = "Deleted"), (status = "default", description = "Any error", body = GcoreError)),
    security(("APIKey" = [])))]
pub async fn delete_ssh_key(
    State(state): State<AppState>,
    GcoreAuth(who): GcoreAuth,
    Path((project_id, ssh_key_id)): Path<(i64, String)>,
) -> Result<StatusCode, ApiError> {
    on_domain(state, move |cloud| {
        let call = Call::project(cloud, who, project_id)?;
        call.cloud.delete_ssh_key(&call.who, &call.project.id, &ssh_key_id).map_err(|e| call.fail(e))?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

// Volumes.

/// Create a volume; the task finishes when it is `available`.
#[utoipa::path(post, path = "/cloud/v1/volumes/{project_id}/{region_id}", tag = "Volumes",
    params(("project_id" = i64, Path, description = PROJECT_ID), ("region_id" = i64, Path, description = REGION_ID)),
    request_body = CreateVolumeBody,
    responses((status = 200, body = TaskIdList), (status = "default", description = "Any error", body = GcoreError)),
    security(("APIKey" = [])))]
pub async fn create_volume(
    State(state): State<AppState>,
    GcoreAuth(who): GcoreAuth,
    Path((project_id, region_id)): Path<(i64, i64)>,
    Json(body): Json<CreateVolumeBody>,
) -> Result<Json<TaskIdList>, ApiError> {
    on_domain(state, move |cloud| {
        let call = Call::regional(cloud, who, project_id, region_id)?;
        let request = CreateDisk {
            id: String::new(),
            name: Some(body.name),
            data_center_id: call.region().id.clone(),
            size_gib: body.size,
            storage_class: body.type_name,
        };
        let disk = call.cloud.create_disk(&call.who, &call.project.id, request).map_err(|e| call.fail(e))?;
        Ok(Json(call.task("create_volume", vec![ResourceRef::new(ResourceKind::Disk, disk.id)])?))
    })
    .await
}

/// List the volumes of a region (boot volumes included).
#[utoipa::path(get, path = "/cloud/v1/volumes/{project_id}/{region_id}", tag = "Volumes",
    params(("project_id" = i64, Path, description = PROJECT_ID), ("region_id" = i64, Path, description = REGION_ID), ListQuery),
    responses((status = 200, body = VolumeList), (status = "default", description = "Any error", body = GcoreError)),
    security(("APIKey" = [])))]
pub async fn list_volumes(
    State(state): State<AppState>,
    GcoreAuth(who): GcoreAuth,
    Path((project_id, region_id)): Path<(i64, i64)>,
    Query(query): Query<ListQuery>,
) -> Result<Json<VolumeList>, ApiError> {
    on_domain(state, move |cloud| {
        let call = Call::regional(cloud, who, project_id, region_id)?;
        let disks =
            call.cloud.list_disks(&call.who, &call.project.id, Some(&call.region().id)).map_err(|e| call.fail(e))?;
        let volumes = disks.iter().map(|d| Volume::from_domain(d, call.project.number, call.region())).collect();
        Ok(Json(page(volumes, query)?.into()))
    })
    .await
}

/// Get a volume.
#[utoipa::path(get, path = "/cloud/v1/volumes/{project_id}/{region_id}/{volume_id}", tag = "Volumes",
    params(("project_id" = i64, Path, description = PROJECT_ID), ("region_id" = i64, Path, description = REGION_ID),
           ("volume_id" = String, Path, description = "Volume ID")),
    responses((status = 200, body = Volume), (status = "default", description = "Any error", body = GcoreError)),
    security(("APIKey" = [])))]
pub async fn get_volume(
    State(state): State<AppState>,
    GcoreAuth(who): GcoreAuth,
    Path((project_id, region_id, volume_id)): Path<(i64, i64, String)>,
) -> Result<Json<Volume>, ApiError> {
    on_domain(state, move |cloud| {
        let call = Call::regional(cloud, who, project_id, region_id)?;
        let disk = call.disk(&volume_id)?;
        Ok(Json(Volume::from_domain(&disk, call.project.number, call.region())))
    })
    .await
}

/// Delete a volume; the task finishes when it is gone.
#[utoipa::path(delete, path = "/cloud/v1/volumes/{project_id}/{region_id}/{volume_id}", tag = "Volumes",
    params(("project_id" = i64, Path, description = PROJECT_ID), ("region_id" = i64, Path, description = REGION_ID),
           ("volume_id" = String, Path, description = "Volume ID")),
    responses((status = 200, body = TaskIdList), (status = "default", description = "Any error", body = GcoreError)),
    security(("APIKey" = [])))]
pub async fn delete_volume(
    State(state): State<AppState>,
    GcoreAuth(who): GcoreAuth,
    Path((project_id, region_id, volume_id)): Path<(i64, i64, String)>,
) -> Result<Json<TaskIdList>, ApiError> {
    on_domain(state, move |cloud| {
        let call = Call::regional(cloud, who, project_id, region_id)?;
        call.disk(&volume_id)?;
        call.cloud.delete_disk(&call.who, &call.project.id, &volume_id, None).map_err(|e| call.fail(e))?;
        Ok(Json(call.task("delete_volume", vec![ResourceRef::new(ResourceKind::Disk, volume_id)])?))
    })
    .await
}

/// Extend a volume to a larger size; the task finishes when it is done.
#[utoipa::path(post, path = "/cloud/v1/volumes/{project_id}/{region_id}/{volume_id}/extend", tag = "Volumes",
    params(("project_id" = i64, Path, description = PROJECT_ID), ("region_id" = i64, Path, description = REGION_ID),
           ("volume_id" = String, Path, description = "Volume ID")),
    request_body = ExtendVolumeBody,
    responses((status = 200, body = TaskIdList), (status = "default", description = "Any error", body = GcoreError)),
    security(("APIKey" = [])))]
pub async fn extend_volume(
    State(state): State<AppState>,
    GcoreAuth(who): GcoreAuth,
    Path((project_id, region_id, volume_id)): Path<(i64, i64, String)>,
    Json(body): Json<ExtendVolumeBody>,
) -> Result<Json<TaskIdList>, ApiError> {
    on_domain(state, move |cloud| {
        let call = Call::regional(cloud, who, project_id, region_id)?;
        call.disk(&volume_id)?;
        call.cloud.resize_disk(&call.who, &call.project.id, &volume_id, body.size, None).map_err(|e| call.fail(e))?;
        Ok(Json(call.task("extend_volume", vec![ResourceRef::new(ResourceKind::Disk, volume_id)])?))
    })
    .await
}

// Instances.

/// Create an instance (Gcore's v2 create); the task finishes when it is
/// `ACTIVE`, with the instance and its boot volume in `created_resources`.
#[utoipa::path(post, path = "/cloud/v2/instances/{project_id}/{region_id}", tag = "Instances",
    params(("project_id" = i64, Path, description = PROJECT_ID), ("region_id" = i64, Path, description = REGION_ID)),
    request_body = CreateInstanceBody,
    responses((status = 200, body = TaskIdList), (status = "default", description = "Any error", body = GcoreError)),
    security(("APIKey" = [])))]
pub async fn create_instance(
    State(state): State<AppState>,
    GcoreAuth(who): GcoreAuth,
    Path((project_id, region_id)): Path<(i64, i64)>,
    Json(body): Json<CreateInstanceBody>,
) -> Result<Json<TaskIdList>, ApiError> {
    on_domain(state, move |cloud| {
        let call = Call::regional(cloud, who, project_id, region_id)?;
        let mut violations = Vec::new();
        let templates = call.cloud.name_templates(&call.who, &call.project.id).map_err(|e| call.fail(e))?;
        for violation in naming::check_instance_name(&templates, body.name.as_deref(), body.name_template.as_deref()) {
            let field = match violation.field {
                NameField::Name => "name",
                NameField::NameTemplate => "name_template",
            };
            violations.push(FieldViolation::new(field, violation.description));
        }
        if body.interfaces.is_empty() {
            violations.push(FieldViolation::new("interfaces", "Give at least one interface."));
        }
        let boot = match body.volumes.as_slice() {
            [volume] => Some(volume),
            _ => {
                violations.push(FieldViolation::new(
                    "volumes",
                    format!("The emulator makes exactly one volume, the boot volume; got {}.", body.volumes.len()),
                ));
                None
            }
        };
        if let Some(volume) = boot {
            match volume.source.as_str() {
                "new-volume" => {}
                "image" if volume.image_id.is_some() => {}
                "image" => violations.push(FieldViolation::new("volumes[0].image_id", "Required for source 'image'.")),
                other => violations.push(FieldViolation::new(
                    "volumes[0].source",
                    format!("The emulator makes boot volumes from 'new-volume' or 'image', not '{other}'."),
                )),
            }
        }
        let mut ssh_key_ids = Vec::new();
        if let Some(name) = &body.ssh_key_name {
            let keys = call.cloud.list_ssh_keys(&call.who, &call.project.id).map_err(|e| call.fail(e))?;
            match keys.iter().find(|k| &k.name == name) {
                Some(key) => ssh_key_ids.push(key.id.clone()),
                None => violations
                    .push(FieldViolation::new("ssh_key_name", format!("SSH key '{name}' not found in the project."))),
            }
        }
        if !violations.is_empty() {
            return Err(ApiError::new(validation_error(violations)));
        }
        let boot = boot.expect("validated");
        let request = CreateVm {
            id: call.cloud.ids().uuid(),
            name: body.name.or(body.name_template),
            data_center_id: call.region().id.clone(),
            machine_type: body.flavor,
            boot_disk_size_gib: boot.size,
            boot_disk_image_id: boot.image_id.clone(),
            ssh_key_ids,
            metadata: body.tags,
            ..CreateVm::default()
        };
        let vm = call.cloud.create_vm(&call.who, &call.project.id, request).map_err(|e| call.fail(e))?;
        let resources =
            vec![ResourceRef::new(ResourceKind::Vm, &vm.id), ResourceRef::new(ResourceKind::Disk, &vm.boot_disk_id)];
        Ok(Json(call.task("create_vm", resources)?))
    })
    .await
}

/// List the instances of a region.
#[utoipa::path(get, path = "/cloud/v1/instances/{project_id}/{region_id}", tag = "Instances",
    params(("project_id" = i64, Path, description = PROJECT_ID), ("region_id" = i64, Path, description = REGION_ID), ListQuery),
    responses((status = 200, body = InstanceList), (status = "default", description = "Any error", body = GcoreError)),
    security(("APIKey" = [])))]
pub async fn list_instances(
    State(state): State<AppState>,
    GcoreAuth(who): GcoreAuth,
    Path((project_id, region_id)): Path<(i64, i64)>,
    Query(query): Query<ListQuery>,
) -> Result<Json<InstanceList>, ApiError> {
    on_domain(state, move |cloud| {
        let call = Call::regional(cloud, who, project_id, region_id)?;
        let vms = call.cloud.list_vms(&call.who, &call.project.id).map_err(|e| call.fail(e))?;
        let vms: Vec<Vm> = vms.into_iter().filter(|vm| vm.data_center_id == call.region().id).collect();
        let (count, vms) = page(vms, query)?;
        Ok(Json((count, call.instances(vms)?).into()))
    })
    .await
}

/// Get an instance.
#[utoipa::path(get, path = "/cloud/v1/instances/{project_id}/{region_id}/{instance_id}", tag = "Instances",
    params(("project_id" = i64, Path, description = PROJECT_ID), ("region_id" = i64, Path, description = REGION_ID),
           ("instance_id" = String, Path, description = "Instance ID")),
    responses((status = 200, body = Instance), (status = "default", description = "Any error", body = GcoreError)),
    security(("APIKey" = [])))]
pub async fn get_instance(
    State(state): State<AppState>,
    GcoreAuth(who): GcoreAuth,
    Path((project_id, region_id, instance_id)): Path<(i64, i64, String)>,
) -> Result<Json<Instance>, ApiError> {
    on_domain(state, move |cloud| {
        let call = Call::regional(cloud, who, project_id, region_id)?;
        let vm = call.vm(&instance_id)?;
        let mut instances = call.instances(vec![vm])?;
        Ok(Json(instances.remove(0)))
    })
    .await
}

/// Delete an instance with its boot volume; the task finishes when it is
/// gone. Its flavor's capacity and its GPUs are free at once.
#[utoipa::path(delete, path = "/cloud/v1/instances/{project_id}/{region_id}/{instance_id}", tag = "Instances",
    params(("project_id" = i64, Path, description = PROJECT_ID), ("region_id" = i64, Path, description = REGION_ID),
           ("instance_id" = String, Path, description = "Instance ID")),
    responses((status = 200, body = TaskIdList), (status = "default", description = "Any error", body = GcoreError)),
    security(("APIKey" = [])))]
pub async fn delete_instance(
    State(state): State<AppState>,
    GcoreAuth(who): GcoreAuth,
    Path((project_id, region_id, instance_id)): Path<(i64, i64, String)>,
) -> Result<Json<TaskIdList>, ApiError> {
    on_domain(state, move |cloud| {
        let call = Call::regional(cloud, who, project_id, region_id)?;
        call.vm(&instance_id)?;
        call.cloud.terminate_vm(&call.who, &call.project.id, &instance_id, None).map_err(|e| call.fail(e))?;
        Ok(Json(call.task("delete_vm", vec![ResourceRef::new(ResourceKind::Vm, instance_id)])?))
    })
    .await
}

/// The naming restrictions of the client's instances (its reseller's name
/// templates).
#[utoipa::path(get, path = "/cloud/v1/instances/{project_id}/{region_id}/available_names", tag = "Instances",
    params(("project_id" = i64, Path, description = PROJECT_ID), ("region_id" = i64, Path, description = REGION_ID)),
    responses((status = 200, body = AvailableNames), (status = "default", description = "Any error", body = GcoreError)),
    security(("APIKey" = [])))]
pub async fn available_names(
    State(state): State<AppState>,
    GcoreAuth(who): GcoreAuth,
    Path((project_id, region_id)): Path<(i64, i64)>,
) -> Result<Json<AvailableNames>, ApiError> {
    on_domain(state, move |cloud| {
        let call = Call::regional(cloud, who, project_id, region_id)?;
        let templates = call.cloud.name_templates(&call.who, &call.project.id).map_err(|e| call.fail(e))?;
        Ok(Json(AvailableNames {
            custom_name_allowed: templates.is_empty(),
            name_templates_limited: !templates.is_empty(),
            allowed_bm_name_templates: templates.clone(),
            allowed_name_win_templates: templates.clone(),
            allowed_bm_name_win_templates: templates.clone(),
            allowed_name_templates: templates,
        }))
    })
    .await
}

// Tasks and quotas.

/// Get a task of the caller's project.
#[utoipa::path(get, path = "/cloud/v1/tasks/{task_id}", tag = "Tasks",
    params(("task_id" = String, Path, description = "Task ID")),
    responses((status = 200, body = Task), (status = "default", description = "Any error", body = GcoreError)),
    security(("APIKey" = [])))]
pub async fn get_task(
    State(state): State<AppState>,
    GcoreAuth(who): GcoreAuth,
    Path(task_id): Path<String>,
) -> Result<Json<Task>, ApiError> {
    on_domain(state, move |cloud| {
        let call = Call::own(cloud, who)?;
        let op = call.cloud.get_operation(&call.who, &call.project.id, &task_id).map_err(|e| call.fail(e))?;
        Ok(Json(Task::from_domain(&op, call.project.number)))
    })
    .await
}

/// List the tasks of the caller's project, oldest first.
#[utoipa::path(get, path = "/cloud/v1/tasks", tag = "Tasks", params(ListQuery),
    responses((status = 200, body = TaskList), (status = "default", description = "Any error", body = GcoreError)),
    security(("APIKey" = [])))]
pub async fn list_tasks(
    State(state): State<AppState>,
    GcoreAuth(who): GcoreAuth,
    Query(query): Query<ListQuery>,
) -> Result<Json<TaskList>, ApiError> {
    on_domain(state, move |cloud| {
        let call = Call::own(cloud, who)?;
        let ops = call.cloud.list_operations(&call.who, &call.project.id).map_err(|e| call.fail(e))?;
        let tasks = ops.iter().map(|op| Task::from_domain(op, call.project.number)).collect();
        Ok(Json(page(tasks, query)?.into()))
    })
    .await
}

/// The client's quotas: for each region, the limit and usage of each GPU
/// quota (`gpu_virtual_a100_count_limit`, `gpu_virtual_a100_count_usage`).
#[utoipa::path(get, path = "/cloud/v2/client_quotas", tag = "Quotas",
    responses((status = 200, body = ClientQuotas), (status = "default", description = "Any error", body = GcoreError)),
    security(("APIKey" = [])))]
pub async fn client_quotas(
    State(state): State<AppState>,
    GcoreAuth(who): GcoreAuth,
) -> Result<Json<ClientQuotas>, ApiError> {
    on_domain(state, move |cloud| {
        let call = Call::own(cloud, who)?;
        let quotas = call.cloud.list_quotas(&call.who, &call.project.id).map_err(|e| call.fail(e))?;
        let regions = call.cloud.list_data_centers(&call.who).map_err(|e| call.fail(e))?;
        let mut by_region: BTreeMap<i64, BTreeMap<String, u64>> = BTreeMap::new();
        for quota in &quotas {
            let Some(region) = regions.iter().find(|r| r.id == quota.data_center_id) else { continue };
            let name = gpu_quota_name(&quota.gpu_model_id);
            let values = by_region.entry(region.number).or_default();
            values.insert(format!("{name}_limit"), quota.limit.into());
            values.insert(format!("{name}_usage"), quota.used.into());
        }
        Ok(Json(ClientQuotas {
            global_quotas: GlobalQuotas {},
            regional_quotas: by_region
                .into_iter()
                .map(|(region_id, values)| RegionalQuota { region_id, values })
                .collect(),
        }))
    })
    .await
}
