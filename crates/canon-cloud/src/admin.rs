//! The emulator's control surface: bootstrap, projects, API keys, quotas,
//! capacity, maintenance windows, transitions and the clock.
//!
//! [`Admin`] is reached through [`Cloud::admin`]. It takes no
//! [`Principal`](crate::auth::Principal): whoever holds it is the
//! operator (the HTTP layer puts it under a path the emulated APIs never
//! use and guards it as it sees fit).
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use canon_cloud::clock::{ManualClock, Timestamp, TransitionMode};
//! use canon_cloud::model::{CreateVm, ResourceKind, VmState};
//! use canon_cloud::{Cloud, CloudConfig, Store};
//!
//! let clock = Arc::new(ManualClock::new(Timestamp::from_millis(1_700_000_000_000)));
//! let config = CloudConfig { transition_mode: TransitionMode::Manual, id_seed: Some(1), ..CloudConfig::default() };
//! let cloud = Cloud::new(Store::in_memory().unwrap(), clock, config).unwrap();
//!
//! // A demo project with a key that has every scope; running it again changes nothing.
//! cloud.admin().bootstrap("demo-key").unwrap();
//! let who = cloud.authenticate(Some("demo-key")).unwrap();
//!
//! let request = CreateVm {
//!     id: "vm-1".into(),
//!     data_center_id: "gb-bournemouth-1".into(),
//!     machine_type: "gpu-a100-x2".into(),
//!     ..CreateVm::default()
//! };
//! assert_eq!(cloud.create_vm(&who, "demo", request).unwrap().state, VmState::Pending);
//! cloud.admin().advance(ResourceKind::Vm, "demo", "vm-1").unwrap();
//! assert_eq!(cloud.get_vm(&who, "demo", "vm-1").unwrap().state, VmState::Active);
//! ```

use std::sync::PoisonError;

use canon::{Code, Status};

use crate::auth::{self, ApiKey, CreatedApiKey, Scopes};
use crate::clock::{Timestamp, TransitionMode};
use crate::cloud::{Cloud, is_valid_id};
use crate::model::{
    ClusterState, DiskState, ImageState, MachineType, MaintenanceWindow, OperationState, Project, Quota, ResourceKind,
    VmState,
};
use crate::repo::{self, Res, TickReport};

/// The id of the project [`Admin::bootstrap`] makes.
pub const DEMO_PROJECT_ID: &str = "demo";

/// The GPU quota [`Admin::bootstrap`] gives the demo project for each GPU
/// model in each data center (the CUDO page's "Limit 16").
pub const DEFAULT_GPU_QUOTA: u32 = 16;

/// What [`Admin::create_project`] needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewProject {
    /// The string id: 1 to 63 lower-case letters, digits and hyphens.
    pub id: String,
    /// A display name; the id when `None`.
    pub name: Option<String>,
    /// The billing account; `billing-{id}` when `None`.
    pub billing_account_id: Option<String>,
    /// When set, a GPU quota of this many GPUs for every GPU model in
    /// every data center.
    pub gpu_quota: Option<u32>,
}

/// What [`Admin::create_api_key`] needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewApiKey {
    /// A display name.
    pub name: String,
    /// What it may do.
    pub scopes: Scopes,
    /// The key itself; a random `ck_…` key when `None`.
    pub value: Option<String>,
}

/// What [`Admin::bootstrap`] found or made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bootstrap {
    /// The demo project.
    pub project: Project,
    /// The key's record.
    pub api_key: ApiKey,
    /// Whether the project was made now.
    pub created_project: bool,
    /// Whether the key was made now.
    pub created_key: bool,
}

/// The operator's handle on a [`Cloud`].
#[derive(Debug, Clone, Copy)]
pub struct Admin<'a> {
    cloud: &'a Cloud,
}

impl Cloud {
    /// The operator's handle.
    pub fn admin(&self) -> Admin<'_> {
        Admin { cloud: self }
    }
}

impl Admin<'_> {
    /// The cloud this handle works on, for the admin operations of other
    /// modules.
    pub(crate) fn cloud(&self) -> &'_ Cloud {
        self.cloud
    }

    /// Makes sure the demo project ([`DEMO_PROJECT_ID`]) exists, that `key`
    /// is an API key of it with every scope, and that it has a GPU quota
    /// of [`DEFAULT_GPU_QUOTA`] for every GPU model in every data center
    /// (quotas already set are kept). Idempotent. A key that already
    /// belongs to another project: FAILED_PRECONDITION.
    pub fn bootstrap(&self, key: &str) -> Result<Bootstrap, Status> {
        let cloud = self.cloud;
        if key.trim().is_empty() {
            return Err(cloud.errors.invalid_field("key", "Must not be empty."));
        }
        cloud.run(|tx, now| {
            let (project, created_project) = match repo::project(tx, DEMO_PROJECT_ID)? {
                Some(project) => (project, false),
                None => (repo::insert_project(tx, DEMO_PROJECT_ID, "Demo project", "billing-demo", now)?, true),
            };
            let hash = cloud.hasher.hash(key.trim());
            let (api_key, created_key) = match repo::api_key_by_hash(tx, &hash)? {
                Some((record, _)) if record.project_id != DEMO_PROJECT_ID => {
                    return Err(cloud.errors.key_in_other_project(&record.project_id).into());
                }
                Some((mut record, _)) => {
                    if record.scopes != Scopes::all() {
                        record.scopes = Scopes::all();
                        repo::set_api_key_scopes(tx, &record.id, &record.scopes)?;
                    }
                    (record, false)
                }
                None => {
                    let id = cloud.unique_id(|id| repo::api_key_id_taken(tx, id))?;
                    let record = ApiKey {
                        id,
                        project_id: DEMO_PROJECT_ID.to_owned(),
                        name: "bootstrap".to_owned(),
                        scopes: Scopes::all(),
                        created_at: now,
                    };
                    repo::insert_api_key(tx, &record, &hash)?;
                    (record, true)
                }
            };
            // Also for a key made by an earlier version, which kept no prefix.
            record_key_prefix(cloud, tx, &api_key.id, key.trim())?;
            set_default_quotas(tx, DEMO_PROJECT_ID, DEFAULT_GPU_QUOTA, false)?;
            Ok(Bootstrap { project, api_key, created_project, created_key })
        })
    }

    /// Creates a project; its integer id is the next free one.
    pub fn create_project(&self, request: NewProject) -> Result<Project, Status> {
        let cloud = self.cloud;
        if !is_valid_id(&request.id) {
            return Err(cloud.errors.invalid_field(
                "id",
                "Must be 1 to 63 lower-case letters, digits or hyphens, starting and ending with a letter or digit.",
            ));
        }
        cloud.run(|tx, now| {
            if repo::project(tx, &request.id)?.is_some() {
                return Err(cloud.errors.project_already_exists(&request.id).into());
            }
            let name = request.name.clone().unwrap_or_else(|| request.id.clone());
            let billing = request.billing_account_id.clone().unwrap_or_else(|| format!("billing-{}", request.id));
            let project = repo::insert_project(tx, &request.id, &name, &billing, now)?;
            if let Some(limit) = request.gpu_quota {
                set_default_quotas(tx, &project.id, limit, true)?;
            }
            Ok(project)
        })
    }

    /// Every project.
    pub fn list_projects(&self) -> Result<Vec<Project>, Status> {
        self.cloud.run(|tx, _| repo::projects(tx))
    }

    fn require_project(&self, tx: &rusqlite::Connection, project_id: &str) -> Res<Project> {
        repo::project(tx, project_id)?
            .ok_or_else(|| self.cloud.errors.not_found_global(ResourceKind::Project, project_id).into())
    }

    /// Creates an API key for a project. The returned secret is the only
    /// copy: the store keeps its keyed hash.
    pub fn create_api_key(&self, project_id: &str, request: NewApiKey) -> Result<CreatedApiKey, Status> {
        let cloud = self.cloud;
        let secret = match &request.value {
            Some(value) if value.trim().is_empty() => {
                return Err(cloud.errors.invalid_field("value", "Must not be empty."));
            }
            Some(value) => value.trim().to_owned(),
            None => auth::new_key_value(),
        };
        cloud.run(|tx, now| {
            self.require_project(tx, project_id)?;
            let hash = cloud.hasher.hash(&secret);
            if repo::api_key_by_hash(tx, &hash)?.is_some() {
                return Err(Status::builder(Code::AlreadyExists, "An API key with this value already exists.")
                    .detail(canon::details::ErrorInfo::new("API_KEY_ALREADY_EXISTS", cloud.errors.domain()))
                    .build()
                    .into());
            }
            let id = cloud.unique_id(|id| repo::api_key_id_taken(tx, id))?;
            let api_key = ApiKey {
                id,
                project_id: project_id.to_owned(),
                name: if request.name.is_empty() { "api-key".to_owned() } else { request.name.clone() },
                scopes: request.scopes.clone(),
                created_at: now,
            };
            repo::insert_api_key(tx, &api_key, &hash)?;
            record_key_prefix(cloud, tx, &api_key.id, &secret)?;
            Ok(CreatedApiKey { api_key, secret: secret.clone() })
        })
    }

    /// A project's API keys (without the keys).
    pub fn list_api_keys(&self, project_id: &str) -> Result<Vec<ApiKey>, Status> {
        self.cloud.run(|tx, _| {
            self.require_project(tx, project_id)?;
            repo::api_keys(tx, project_id)
        })
    }

    /// Deletes an API key by id; it stops working at once.
    pub fn delete_api_key(&self, id: &str) -> Result<(), Status> {
        self.cloud.run(|tx, _| {
            if repo::delete_api_key(tx, id)? {
                Ok(())
            } else {
                Err(self.cloud.errors.not_found_global(ResourceKind::ApiKey, id).into())
            }
        })
    }

    /// Sets a project's GPU quota for one model in one data center.
    pub fn set_quota(
        &self,
        project_id: &str,
        data_center_id: &str,
        gpu_model_id: &str,
        limit: u32,
    ) -> Result<Quota, Status> {
        let cloud = self.cloud;
        cloud.run(|tx, _| {
            self.require_project(tx, project_id)?;
            if repo::data_center(tx, data_center_id)?.is_none() {
                return Err(cloud.errors.not_found_global(ResourceKind::DataCenter, data_center_id).into());
            }
            if !repo::gpu_models(tx)?.iter().any(|g| g.id == gpu_model_id) {
                return Err(cloud
                    .errors
                    .invalid_field("gpuModelId", format!("Unknown GPU model '{gpu_model_id}'."))
                    .into());
            }
            repo::set_quota(tx, project_id, data_center_id, gpu_model_id, limit)?;
            Ok(repo::quota(tx, project_id, data_center_id, gpu_model_id)?.expect("just set"))
        })
    }

    /// Removes a GPU quota (the project is then limited by capacity
    /// only). False when there was none.
    pub fn remove_quota(&self, project_id: &str, data_center_id: &str, gpu_model_id: &str) -> Result<bool, Status> {
        self.cloud.run(|tx, _| repo::delete_quota(tx, project_id, data_center_id, gpu_model_id))
    }

    /// A project's GPU quotas and their use.
    pub fn list_quotas(&self, project_id: &str) -> Result<Vec<Quota>, Status> {
        self.cloud.run(|tx, _| {
            self.require_project(tx, project_id)?;
            repo::quotas(tx, project_id)
        })
    }

    /// Sets how many machines of a type a data center has.
    pub fn set_capacity(
        &self,
        data_center_id: &str,
        machine_type_id: &str,
        capacity: u32,
    ) -> Result<MachineType, Status> {
        let cloud = self.cloud;
        cloud.run(|tx, _| {
            if !repo::set_capacity(tx, data_center_id, machine_type_id, capacity)? {
                return Err(cloud.errors.machine_type_not_found(data_center_id, machine_type_id).into());
            }
            Ok(repo::machine_type(tx, data_center_id, machine_type_id)?.expect("just updated"))
        })
    }

    /// Sets a data center's maintenance window (replacing any other).
    pub fn set_maintenance(
        &self,
        data_center_id: &str,
        starts_at: Timestamp,
        ends_at: Timestamp,
    ) -> Result<MaintenanceWindow, Status> {
        let cloud = self.cloud;
        if ends_at <= starts_at {
            return Err(cloud.errors.invalid_field("endsAt", "Must be after startsAt."));
        }
        cloud.run(|tx, _| {
            if repo::data_center(tx, data_center_id)?.is_none() {
                return Err(cloud.errors.not_found_global(ResourceKind::DataCenter, data_center_id).into());
            }
            let window = MaintenanceWindow { data_center_id: data_center_id.to_owned(), starts_at, ends_at };
            repo::set_maintenance(tx, &window)?;
            Ok(window)
        })
    }

    /// Ends a data center's maintenance window. False when there was none.
    pub fn clear_maintenance(&self, data_center_id: &str) -> Result<bool, Status> {
        self.cloud.run(|tx, _| repo::clear_maintenance(tx, data_center_id))
    }

    /// Every maintenance window, past and future ones included.
    pub fn list_maintenance(&self) -> Result<Vec<MaintenanceWindow>, Status> {
        self.cloud.run(|tx, _| repo::maintenance_windows(tx))
    }

    /// The current transition mode.
    pub fn transition_mode(&self) -> TransitionMode {
        self.cloud.transition_mode()
    }

    /// Changes the transition mode for transitions started from now on;
    /// those under way keep their schedule.
    pub fn set_transition_mode(&self, mode: TransitionMode) {
        *self.cloud.mode.write().unwrap_or_else(PoisonError::into_inner) = mode;
    }

    /// Completes a resource's transition now; for an operation, the
    /// transitions of every resource it tracks. Nothing under way:
    /// FAILED_PRECONDITION `NO_PENDING_TRANSITION`.
    pub fn advance(&self, kind: ResourceKind, project_id: &str, id: &str) -> Result<(), Status> {
        let cloud = self.cloud;
        cloud.run(|tx, now| {
            if kind == ResourceKind::Operation {
                let op = repo::operation(tx, id)?
                    .filter(|op| op.project_id == project_id)
                    .ok_or_else(|| cloud.errors.not_found(kind, id, project_id))?;
                let mut any = false;
                for resource in &op.resources {
                    any |= repo::make_due(tx, resource.kind, project_id, &resource.id, now)?;
                }
                return if any { Ok(()) } else { Err(cloud.errors.no_pending_transition(kind, id).into()) };
            }
            if repo::stateful_table(kind).is_none() {
                return Err(cloud.errors.invalid_field("kind", format!("A {kind} has no states.")).into());
            }
            if repo::state_row(tx, kind, project_id, id)?.is_none() {
                return Err(cloud.errors.not_found(kind, id, project_id).into());
            }
            if repo::make_due(tx, kind, project_id, id, now)? {
                Ok(())
            } else {
                Err(cloud.errors.no_pending_transition(kind, id).into())
            }
        })
    }

    /// Completes every transition under way now.
    pub fn advance_all(&self) -> Result<TickReport, Status> {
        let cloud = self.cloud;
        cloud.run(|tx, now| {
            for table in ["vms", "disks", "clusters", "images"] {
                tx.execute(&format!("UPDATE {table} SET due_at = ?1 WHERE next_state IS NOT NULL"), [now.as_millis()])?;
            }
            repo::settle(tx, now, &cloud.errors)
        })
    }

    /// Sets a resource's state outright, ending any transition. Cluster
    /// states are accepted with or without the `STATE_` prefix. For an
    /// operation, `FAILED` records an ABORTED error
    /// (`OPERATION_FAILED`); the other states clear the error.
    pub fn set_state(&self, kind: ResourceKind, project_id: &str, id: &str, state: &str) -> Result<(), Status> {
        let cloud = self.cloud;
        let bad = |e: crate::model::ParseEnumError| cloud.errors.invalid_field("state", e.to_string());
        let name: &'static str = match kind {
            ResourceKind::Vm => state.parse::<VmState>().map_err(bad)?.as_str(),
            ResourceKind::Disk => state.parse::<DiskState>().map_err(bad)?.as_str(),
            ResourceKind::Image => state.parse::<ImageState>().map_err(bad)?.as_str(),
            ResourceKind::Cluster => {
                let full = if state.starts_with("STATE_") { state.to_owned() } else { format!("STATE_{state}") };
                full.parse::<ClusterState>().map_err(|_| bad(state.parse::<ClusterState>().unwrap_err()))?.as_str()
            }
            ResourceKind::Operation => {
                let target = state.parse::<OperationState>().map_err(bad)?;
                return cloud.run(|tx, now| {
                    let mut op = repo::operation(tx, id)?
                        .filter(|op| op.project_id == project_id)
                        .ok_or_else(|| cloud.errors.not_found(kind, id, project_id))?;
                    op.state = target;
                    op.updated_at = now;
                    (op.error, op.finished_at) = match target {
                        OperationState::Failed => (Some(cloud.errors.operation_failed_by_admin(id)), Some(now)),
                        OperationState::Succeeded => (None, Some(now)),
                        OperationState::Pending | OperationState::Running => (None, None),
                    };
                    repo::save_operation(tx, &mut op)
                });
            }
            _ => return Err(cloud.errors.invalid_field("kind", format!("A {kind} has no states."))),
        };
        cloud.run(|tx, now| {
            if repo::force_state(tx, kind, project_id, id, name, now)? {
                Ok(())
            } else {
                Err(cloud.errors.not_found(kind, id, project_id).into())
            }
        })
    }

    /// Moves a manual clock forward and settles what became due; returns
    /// the new time. Not a manual clock: FAILED_PRECONDITION
    /// `CLOCK_NOT_MANUAL`.
    pub fn advance_clock(&self, by: std::time::Duration) -> Result<Timestamp, Status> {
        let manual = self.cloud.clock.as_manual().ok_or_else(|| self.cloud.errors.clock_not_manual())?;
        let now = manual.advance(by);
        self.tick(now)?;
        Ok(now)
    }

    /// Sets a manual clock and settles what became due.
    pub fn set_clock(&self, now: Timestamp) -> Result<Timestamp, Status> {
        let manual = self.cloud.clock.as_manual().ok_or_else(|| self.cloud.errors.clock_not_manual())?;
        manual.set(now);
        self.tick(now)?;
        Ok(now)
    }

    /// Settles every transition and deadline due at `now` (which need not
    /// be the clock's). Reads do this themselves; `tick` is for an admin
    /// or a test that wants it done without a read.
    pub fn tick(&self, now: Timestamp) -> Result<TickReport, Status> {
        let cloud = self.cloud;
        cloud
            .store
            .write(|tx| repo::settle(tx, now, &cloud.errors))
            .map_err(|fail| crate::cloud::fail_status(&cloud.errors, fail))
    }

    /// Restarts the id generator from `seed` (request ids and generated
    /// resource ids).
    pub fn reseed_ids(&self, seed: u64) {
        self.cloud.ids.reseed(seed);
    }
}

/// Keeps the keyed hash of the part of a key before its first `$`, so that
/// [`Cloud::is_key_cut_at_dollar`] can tell a key a shell cut short from an
/// unknown one.
fn record_key_prefix(cloud: &Cloud, tx: &rusqlite::Connection, key_id: &str, key: &str) -> Res<()> {
    match auth::prefix_before_dollar(key) {
        Some(prefix) => repo::set_api_key_prefix(tx, key_id, &cloud.hasher.hash(prefix)),
        None => Ok(()),
    }
}

/// Gives a project a GPU quota for every GPU model of every data center;
/// `replace` overwrites quotas already set.
fn set_default_quotas(tx: &rusqlite::Connection, project_id: &str, limit: u32, replace: bool) -> Res<()> {
    let mut pairs: Vec<(String, String)> = repo::machine_types(tx, None)?
        .into_iter()
        .filter_map(|mt| mt.gpu_model_id.map(|model| (mt.data_center_id, model)))
        .collect();
    pairs.sort();
    pairs.dedup();
    for (dc, model) in pairs {
        if replace {
            repo::set_quota(tx, project_id, &dc, &model, limit)?;
        } else {
            repo::set_quota_if_absent(tx, project_id, &dc, &model, limit)?;
        }
    }
    Ok(())
}
