//! [`Cloud`]: the emulator's domain service.
//!
//! Every operation takes the caller's [`Principal`], checks its scope and
//! its project *before* looking at any resource (AIP-193: permission
//! before existence), then runs in one store transaction that first
//! settles the transitions due by the clock. The order of checks, where
//! several could fail, is fixed:
//!
//! 1. scope, then project (PERMISSION_DENIED);
//! 2. the resource exists (NOT_FOUND), and `If-Match` holds (ABORTED);
//! 3. the request's fields (INVALID_ARGUMENT, OUT_OF_RANGE; several bad
//!    fields give one INVALID_ARGUMENT listing them all);
//! 4. the resource's state (FAILED_PRECONDITION);
//! 5. the data center's maintenance window (UNAVAILABLE);
//! 6. a create's id is free (ALREADY_EXISTS);
//! 7. the GPU quota, then the machine type's capacity (RESOURCE_EXHAUSTED).
//!
//! Repeating a start, stop, terminate or delete that is already done, or
//! under way, succeeds and changes nothing, so that clients can retry
//! them.

use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use canon::Status;
use rusqlite::Connection;

use crate::auth::{KeyCache, KeyHasher, Principal, Scope};
use crate::clock::{Clock, Timestamp, TransitionMode};
use crate::errors::{Errors, Violations};
use crate::fault::FaultEngine;
use crate::ids::IdGenerator;
use crate::journal::Journal;
use crate::model::{
    Action, AttachMode, Attachment, CatalogNames, Cluster, ClusterState, CreateCluster, CreateDisk, CreateSshKey,
    CreateVm, DataCenter, Disk, DiskState, DiskType, GpuModel, Image, ImageState, ImportImage, ListedDisk, ListedVm,
    MachineType, NextState, Operation, OperationState, Pending, Project, Quota, ResizeVm, ResourceKind, ResourceRef,
    SshKey, Vm, VmState,
};
use crate::repo::{self, Fail, Res};
use crate::store::Store;
use crate::{catalog, sshkey};

/// Limits on sizes and counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The smallest storage disk, GiB.
    pub min_disk_size_gib: u32,
    /// The largest disk or image, GiB.
    pub max_disk_size_gib: u32,
    /// The smallest boot disk, GiB (the CUDO page's 20).
    pub min_boot_disk_size_gib: u32,
    /// The most machines in a cluster (the CUDO page's 128).
    pub max_cluster_machines: u32,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            min_disk_size_gib: 10,
            max_disk_size_gib: 65_536,
            min_boot_disk_size_gib: 20,
            max_cluster_machines: 128,
        }
    }
}

/// How a [`Cloud`] behaves.
#[derive(Clone)]
pub struct CloudConfig {
    /// The ErrorInfo domain of every error (`compute.cudo.dev` by default).
    pub error_domain: String,
    /// Whether INTERNAL errors carry a DebugInfo with the cause.
    pub debug: bool,
    /// When transitional states end; changeable later through
    /// [`Admin::set_transition_mode`](crate::admin::Admin::set_transition_mode).
    pub transition_mode: TransitionMode,
    /// The seed of generated ids; from the operating system when `None`.
    pub id_seed: Option<u64>,
    /// The secret API keys are hashed with; when `None`, one is made on
    /// first open and kept in the store.
    pub api_key_secret: Option<Vec<u8>>,
    /// The RetryInfo delay of GPU quota errors (the CUDO page's 30 s).
    pub quota_retry_delay: Duration,
    /// How long an image import may take when the request names no
    /// deadline.
    pub operation_deadline: Duration,
    /// How many requests the journal keeps.
    pub journal_capacity: usize,
    /// Sizes and counts.
    pub limits: Limits,
}

impl Default for CloudConfig {
    fn default() -> CloudConfig {
        CloudConfig {
            error_domain: "compute.cudo.dev".to_owned(),
            debug: false,
            transition_mode: TransitionMode::Immediate,
            id_seed: None,
            api_key_secret: None,
            quota_retry_delay: Duration::from_secs(30),
            operation_deadline: Duration::from_secs(600),
            journal_capacity: crate::journal::DEFAULT_CAPACITY,
            limits: Limits::default(),
        }
    }
}

impl fmt::Debug for CloudConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CloudConfig")
            .field("error_domain", &self.error_domain)
            .field("debug", &self.debug)
            .field("transition_mode", &self.transition_mode)
            .field("id_seed", &self.id_seed)
            .field("api_key_secret", &self.api_key_secret.as_ref().map(|_| "<hidden>"))
            .field("quota_retry_delay", &self.quota_retry_delay)
            .field("operation_deadline", &self.operation_deadline)
            .field("journal_capacity", &self.journal_capacity)
            .field("limits", &self.limits)
            .finish()
    }
}

/// The setting under which the generated API-key secret is kept.
const SECRET_SETTING: &str = "api_key_secret";

/// The emulated cloud: store, clock, fault rules and journal, and every
/// domain operation.
pub struct Cloud {
    pub(crate) store: Store,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) config: CloudConfig,
    pub(crate) errors: Errors,
    pub(crate) hasher: KeyHasher,
    keys: KeyCache,
    /// The catalog's names, read once: see [`CatalogNames`].
    catalog_names: CatalogNames,
    pub(crate) ids: IdGenerator,
    pub(crate) mode: RwLock<TransitionMode>,
    faults: FaultEngine,
    journal: Journal,
}

impl fmt::Debug for Cloud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cloud")
            .field("store", &self.store)
            .field("clock", &self.clock)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Cloud {
    /// A cloud over this store and clock. Seeds the catalog (data centers,
    /// GPU models, machine types) where it is missing and makes the
    /// API-key secret on first open.
    pub fn new(store: Store, clock: Arc<dyn Clock>, config: CloudConfig) -> Result<Cloud, Status> {
        let errors = Errors::new(config.error_domain.clone())
            .with_debug(config.debug)
            .with_quota_retry_delay(config.quota_retry_delay);
        let configured = config.api_key_secret.clone();
        let (secret, catalog_names) = store
            .write(|tx| {
                for model in catalog::gpu_models() {
                    repo::insert_gpu_model_if_absent(tx, &model)?;
                }
                for dc in catalog::data_centers() {
                    repo::insert_data_center_if_absent(tx, &dc)?;
                }
                for mt in catalog::machine_types() {
                    repo::insert_machine_type_if_absent(tx, &mt)?;
                }
                let catalog_names = repo::catalog_names(tx)?;
                if let Some(secret) = configured {
                    return Ok((secret, catalog_names));
                }
                if let Some(secret) = repo::setting(tx, SECRET_SETTING)? {
                    return Ok((secret, catalog_names));
                }
                let mut secret = vec![0; 32];
                crate::auth::random_bytes(&mut secret);
                repo::set_setting(tx, SECRET_SETTING, &secret)?;
                Ok((secret, catalog_names))
            })
            .map_err(|fail| fail_status(&errors, fail))?;
        let ids = match config.id_seed {
            Some(seed) => IdGenerator::new(seed),
            None => IdGenerator::from_entropy(),
        };
        Ok(Cloud {
            store,
            clock,
            hasher: KeyHasher::new(secret),
            keys: KeyCache::default(),
            catalog_names,
            ids,
            mode: RwLock::new(config.transition_mode),
            faults: FaultEngine::new(),
            journal: Journal::new(config.journal_capacity),
            errors,
            config,
        })
    }

    /// The configuration it was made with (the transition mode may have
    /// changed since: see [`Cloud::transition_mode`]).
    pub fn config(&self) -> &CloudConfig {
        &self.config
    }

    /// The error builder, in the configured domain: for the HTTP layer's
    /// own errors (a body that does not parse, a bad header).
    pub fn errors(&self) -> &Errors {
        &self.errors
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The current time by the cloud's clock.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// The current transition mode.
    pub fn transition_mode(&self) -> TransitionMode {
        *self.mode.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// The fault rules.
    pub fn faults(&self) -> &FaultEngine {
        &self.faults
    }

    /// The request journal.
    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// The seeded id generator.
    pub fn ids(&self) -> &IdGenerator {
        &self.ids
    }

    /// A new request id from the seeded generator.
    pub fn next_request_id(&self) -> String {
        self.ids.request_id()
    }

    /// Runs `f` in a transaction at the clock's `now`, settling due
    /// transitions before and after.
    pub(crate) fn run<T>(&self, f: impl FnOnce(&Connection, Timestamp) -> Res<T>) -> Result<T, Status> {
        let now = self.clock.now();
        self.run_at(now, f)
    }

    pub(crate) fn run_at<T>(
        &self,
        now: Timestamp,
        f: impl FnOnce(&Connection, Timestamp) -> Res<T>,
    ) -> Result<T, Status> {
        self.store
            .write(|tx| {
                self.settle_if_due(tx, now)?;
                let value = f(tx, now)?;
                self.settle_if_due(tx, now)?;
                Ok(value)
            })
            .map_err(|fail| fail_status(&self.errors, fail))
    }

    /// Settles what is due at `now`, unless the store's bound of what may
    /// be due says that nothing is (see "What is due" in the
    /// [`store`](crate::store) module).
    fn settle_if_due(&self, tx: &Connection, now: Timestamp) -> Res<()> {
        let due = self.store.due();
        if due.may_be_due(now) {
            let (_, next) = repo::settle_and_look_ahead(tx, now, &self.errors)?;
            due.set(next);
        }
        Ok(())
    }

    /// Starts a transition from a transitional state to `next` by the
    /// current mode: in immediate mode a state is reached at once (a
    /// removal completes when the request's transaction ends).
    pub(crate) fn begin<S: Copy>(
        &self,
        now: Timestamp,
        transitional: S,
        next: NextState<S>,
    ) -> (S, Option<Pending<S>>) {
        match (self.transition_mode(), next) {
            (TransitionMode::Immediate, NextState::State(state)) => (state, None),
            (TransitionMode::Immediate, NextState::Removed) => {
                (transitional, Some(Pending { next, due_at: Some(now) }))
            }
            (TransitionMode::After(delay), _) => {
                (transitional, Some(Pending { next, due_at: Some(now.saturating_add(delay)) }))
            }
            (TransitionMode::Manual, _) => (transitional, Some(Pending { next, due_at: None })),
        }
    }

    /// A generated id that `taken` says is free (the seeded sequence may
    /// repeat ids of an earlier run in a file store).
    pub(crate) fn unique_id(&self, mut taken: impl FnMut(&str) -> Res<bool>) -> Res<String> {
        loop {
            let id = self.ids.uuid();
            if !taken(&id)? {
                return Ok(id);
            }
        }
    }

    // Authentication and authorization.

    /// Resolves an API key (the header's value without its scheme) to a
    /// [`Principal`]. Missing or empty: UNAUTHENTICATED `API_KEY_MISSING`;
    /// unknown: UNAUTHENTICATED `API_KEY_INVALID`.
    ///
    /// A key once verified is kept in memory while no API key changes (in
    /// this store, or in its file through another connection), so that
    /// most requests need no query to authenticate; a key revoked or given
    /// other scopes is refused or re-read on the next call.
    pub fn authenticate(&self, api_key: Option<&str>) -> Result<Principal, Status> {
        let key = api_key.map(str::trim).filter(|k| !k.is_empty()).ok_or_else(|| self.errors.api_key_missing())?;
        let hash = self.hasher.hash(key);
        let generation = self.store.key_generation().map_err(|e| fail_status(&self.errors, Fail::Db(e)))?;
        if let Some(principal) = self.keys.get(&hash, generation) {
            return Ok(principal);
        }
        let (found, generation) =
            self.run(|tx, _| Ok((repo::api_key_by_hash(tx, &hash)?, self.store.key_generation_in_transaction())))?;
        match found {
            Some((record, stored)) if KeyHasher::matches(&hash, &stored) => {
                let principal =
                    Principal { key_id: record.id.into(), project_id: record.project_id.into(), scopes: record.scopes };
                self.keys.insert(hash, generation, principal.clone());
                Ok(principal)
            }
            _ => Err(self.errors.api_key_invalid()),
        }
    }

    /// Whether `given`, which [`Cloud::authenticate`] refused, is a live
    /// key cut short at its first `$` (see
    /// [`auth::prefix_before_dollar`](crate::auth::prefix_before_dollar)):
    /// the store keeps the keyed hash of that part of each key made since
    /// the prefix table exists, never the part itself. A deleted key's part
    /// is forgotten with it.
    pub fn is_key_cut_at_dollar(&self, given: &str) -> Result<bool, Status> {
        let given = given.trim();
        if given.is_empty() || given.contains('$') {
            return Ok(false);
        }
        let hash = self.hasher.hash(given);
        self.run(|tx, _| repo::api_key_prefix_known(tx, &hash))
    }

    /// Checks the scope, then the project.
    fn authorize(&self, who: &Principal, project_id: &str, scope: Scope) -> Result<(), Status> {
        if !who.scopes.contains(scope) {
            return Err(self.errors.scope_missing(scope));
        }
        self.authorize_project(who, project_id)
    }

    fn authorize_project(&self, who: &Principal, project_id: &str) -> Result<(), Status> {
        if *who.project_id != *project_id {
            return Err(self.errors.project_denied(project_id));
        }
        Ok(())
    }

    fn check_if_match(&self, kind: ResourceKind, id: &str, current: &str, if_match: Option<&str>) -> Res<()> {
        let Some(given) = if_match.map(str::trim) else { return Ok(()) };
        let matches = given == "*"
            || given.split(',').map(str::trim).any(|tag| {
                if tag.starts_with("W/") {
                    return false;
                }
                tag == current || format!("\"{tag}\"") == current
            });
        if matches { Ok(()) } else { Err(self.errors.etag_mismatch(kind, id, current, given).into()) }
    }

    fn check_maintenance(&self, tx: &Connection, data_center_id: &str, now: Timestamp) -> Res<()> {
        match repo::maintenance(tx, data_center_id)? {
            Some(window) if window.is_active(now) => Err(self.errors.maintenance(&window, now).into()),
            _ => Ok(()),
        }
    }

    // Catalog: any authenticated caller.

    /// Every data center.
    pub fn list_data_centers(&self, _who: &Principal) -> Result<Vec<DataCenter>, Status> {
        self.run(|tx, _| repo::data_centers(tx))
    }

    /// One data center, by string id.
    pub fn get_data_center(&self, _who: &Principal, id: &str) -> Result<DataCenter, Status> {
        self.run(|tx, _| {
            repo::data_center(tx, id)?.ok_or_else(|| self.errors.not_found_global(ResourceKind::DataCenter, id).into())
        })
    }

    /// One data center, by integer id (a Gcore region id).
    pub fn data_center_by_number(&self, _who: &Principal, number: i64) -> Result<DataCenter, Status> {
        self.run(|tx, _| {
            repo::data_center_by_number(tx, number)?
                .ok_or_else(|| self.errors.not_found_global(ResourceKind::DataCenter, &number.to_string()).into())
        })
    }

    /// Every GPU model.
    pub fn list_gpu_models(&self, _who: &Principal) -> Result<Vec<GpuModel>, Status> {
        self.run(|tx, _| repo::gpu_models(tx))
    }

    /// The machine types of one data center, or of all, with their free
    /// capacity.
    pub fn list_machine_types(
        &self,
        _who: &Principal,
        data_center_id: Option<&str>,
    ) -> Result<Vec<MachineType>, Status> {
        self.run(|tx, _| {
            if let Some(dc) = data_center_id {
                if repo::data_center(tx, dc)?.is_none() {
                    return Err(self.errors.not_found_global(ResourceKind::DataCenter, dc).into());
                }
            }
            repo::machine_types(tx, data_center_id)
        })
    }

    /// One machine type of a data center.
    pub fn get_machine_type(&self, _who: &Principal, data_center_id: &str, id: &str) -> Result<MachineType, Status> {
        self.run(|tx, _| {
            repo::machine_type(tx, data_center_id, id)?
                .ok_or_else(|| self.errors.machine_type_not_found(data_center_id, id).into())
        })
    }

    // Projects and quotas.

    /// The caller's projects: its own.
    pub fn list_projects(&self, who: &Principal) -> Result<Vec<Project>, Status> {
        if !who.scopes.contains(Scope::ReadProjects) {
            return Err(self.errors.scope_missing(Scope::ReadProjects));
        }
        self.run(|tx, _| Ok(repo::project(tx, &who.project_id)?.into_iter().collect()))
    }

    /// A project, by string id.
    pub fn get_project(&self, who: &Principal, project_id: &str) -> Result<Project, Status> {
        self.authorize(who, project_id, Scope::ReadProjects)?;
        self.run(|tx, _| {
            repo::project(tx, project_id)?
                .ok_or_else(|| self.errors.not_found_global(ResourceKind::Project, project_id).into())
        })
    }

    /// A project, by integer id (a Gcore project id). Another project's
    /// number is PERMISSION_DENIED whether or not it exists.
    pub fn project_by_number(&self, who: &Principal, number: i64) -> Result<Project, Status> {
        if !who.scopes.contains(Scope::ReadProjects) {
            return Err(self.errors.scope_missing(Scope::ReadProjects));
        }
        self.run(|tx, _| match repo::project(tx, &who.project_id)? {
            Some(own) if own.number == number => Ok(own),
            _ => Err(self.errors.project_denied(&number.to_string()).into()),
        })
    }

    /// The project's GPU quotas and their use.
    pub fn list_quotas(&self, who: &Principal, project_id: &str) -> Result<Vec<Quota>, Status> {
        self.authorize(who, project_id, Scope::ReadProjects)?;
        self.run(|tx, _| repo::quotas(tx, project_id))
    }

    // Shared validation.

    fn check_id(&self, violations: &mut Violations<'_>, field: &str, id: &str) {
        if !is_valid_id(id) {
            violations.push(self.errors.invalid_field(
                field,
                "Must be 1 to 63 lower-case letters, digits or hyphens, starting and ending with a letter or digit.",
            ));
        }
    }

    fn check_size(&self, violations: &mut Violations<'_>, field: &str, value: i64, minimum: u32, maximum: u32) {
        if value < 0 {
            violations.push(self.errors.negative(field, value));
        } else if value < i64::from(minimum) {
            violations.push(self.errors.below_minimum(field, value, minimum.into(), " GiB"));
        } else if value > i64::from(maximum) {
            violations.push(self.errors.above_maximum(field, value, maximum.into(), " GiB"));
        }
    }

    fn check_count(
        &self,
        violations: &mut Violations<'_>,
        field: &str,
        value: i64,
        minimum: i64,
        maximum: i64,
        unit: &str,
    ) {
        if value < 0 {
            violations.push(self.errors.negative(field, value));
        } else if value < minimum {
            violations.push(self.errors.below_minimum(field, value, minimum, unit));
        } else if value > maximum {
            violations.push(self.errors.above_maximum(field, value, maximum, unit));
        }
    }

    /// The data center's id and number, or a violation of `field` when it
    /// is unknown. Only these are read: they are all that the callers use.
    fn data_center_field(
        &self,
        tx: &Connection,
        violations: &mut Violations<'_>,
        id: &str,
    ) -> Res<Option<KnownDataCenter>> {
        if let Some(number) = repo::data_center_number(tx, id)? {
            Ok(Some(KnownDataCenter { id: id.to_owned(), number }))
        } else {
            violations.push(self.errors.invalid_field("dataCenterId", format!("Unknown data center '{id}'.")));
            Ok(None)
        }
    }

    /// The machine type, or MACHINE_TYPE_UNAVAILABLE (INVALID_ARGUMENT)
    /// naming `field` when the data center has no such type.
    fn machine_type_field(
        &self,
        tx: &Connection,
        violations: &mut Violations<'_>,
        field: &str,
        data_center_id: &str,
        id: &str,
    ) -> Res<Option<MachineType>> {
        let mt = repo::machine_type(tx, data_center_id, id)?;
        if mt.is_none() {
            let available = self.available_machine_types(tx, data_center_id)?;
            violations.push(self.errors.machine_type_unknown(field, id, data_center_id, &available));
        }
        Ok(mt)
    }

    /// The data center's machine types with free capacity.
    fn available_machine_types(&self, tx: &Connection, data_center_id: &str) -> Res<Vec<String>> {
        Ok(repo::machine_types(tx, Some(data_center_id))?.into_iter().filter(|m| m.free() > 0).map(|m| m.id).collect())
    }

    /// RESOURCE_EXHAUSTED when `gpus` more GPUs of the type's model would
    /// exceed the project's quota.
    fn check_quota(&self, tx: &Connection, project_id: &str, mt: &MachineType, gpus: u32) -> Res<()> {
        let Some(model) = mt.gpu_model_id.as_deref().filter(|_| gpus > 0) else { return Ok(()) };
        match repo::quota(tx, project_id, &mt.data_center_id, model)? {
            Some(quota) if u64::from(quota.used) + u64::from(gpus) > u64::from(quota.limit) => {
                Err(self.errors.gpu_quota_exceeded(&quota, gpus).into())
            }
            _ => Ok(()),
        }
    }

    /// RESOURCE_EXHAUSTED (MACHINE_TYPE_UNAVAILABLE) when fewer than
    /// `machines` machines of the type are free.
    fn check_capacity(&self, tx: &Connection, mt: &MachineType, machines: u32) -> Res<()> {
        if mt.free() >= machines {
            return Ok(());
        }
        let available = self.available_machine_types(tx, &mt.data_center_id)?;
        Err(self.errors.machine_type_exhausted(&mt.id, &mt.data_center_id, &available).into())
    }

    // VMs.

    /// Creates a VM with its boot disk. The VM is `PENDING` until the
    /// transition mode makes it `ACTIVE` (at once in immediate mode).
    pub fn create_vm(&self, who: &Principal, project_id: &str, request: CreateVm) -> Result<Vm, Status> {
        self.authorize(who, project_id, Scope::WriteMachines)?;
        self.run(|tx, now| {
            let limits = self.config.limits;
            let mut violations = Violations::new(&self.errors);
            self.check_id(&mut violations, "vmId", &request.id);
            let dc = self.data_center_field(tx, &mut violations, &request.data_center_id)?;
            let mt = match &dc {
                Some(dc) => {
                    self.machine_type_field(tx, &mut violations, "spec.machineType", &dc.id, &request.machine_type)?
                }
                None => None,
            };
            if let Some(mt) = &mt {
                if let Some(vcpus) = request.vcpus {
                    self.check_count(&mut violations, "vcpus", vcpus, 1, mt.vcpus.into(), "");
                }
                if let Some(memory) = request.memory_gib {
                    self.check_count(&mut violations, "memoryGib", memory, 1, mt.memory_gib.into(), " GiB");
                }
                if let Some(gpus) = request.gpus {
                    self.check_count(&mut violations, "gpus", gpus, 0, mt.gpus.into(), "");
                }
            }
            if let Some(size) = request.boot_disk_size_gib {
                self.check_size(
                    &mut violations,
                    "bootDiskSizeGib",
                    size,
                    limits.min_boot_disk_size_gib,
                    limits.max_disk_size_gib,
                );
            }
            if request.name.as_deref().is_some_and(|n| n.trim().is_empty() || n.len() > 255) {
                violations.push(self.errors.invalid_field("name", "Must be 1 to 255 characters."));
            }
            for key in &request.ssh_key_ids {
                if repo::ssh_key(tx, project_id, key)?.is_none() {
                    violations.push(self.errors.invalid_field("sshKeyIds", format!("Unknown SSH key '{key}'.")));
                }
            }
            violations.finish()?;
            let (dc, mt) = (dc.expect("validated"), mt.expect("validated"));
            self.check_maintenance(tx, &dc.id, now)?;
            if repo::vm(tx, &self.catalog_names, project_id, &request.id)?.is_some() {
                return Err(self.errors.already_exists(ResourceKind::Vm, &request.id, project_id).into());
            }
            let gpus = request.gpus.map_or(mt.gpus, |g| g as u32);
            self.check_quota(tx, project_id, &mt, gpus)?;
            self.check_capacity(tx, &mt, 1)?;

            let seq = repo::next_vm_seq(tx)?;
            let boot_disk_id = self.unique_id(|id| repo::disk_exists(tx, project_id, id))?;
            let boot_size = request.boot_disk_size_gib.map_or(limits.min_boot_disk_size_gib, |s| s as u32);
            let (state, pending) = self.begin(now, VmState::Pending, NextState::State(VmState::Active));
            let gpu_model = match &mt.gpu_model_id {
                Some(id) => repo::gpu_models(tx)?.into_iter().find(|g| &g.id == id).map(|g| g.model_name),
                None => None,
            };
            let vm = Vm {
                project_id: project_id.to_owned(),
                id: request.id.clone(),
                name: request.name.clone().unwrap_or_else(|| request.id.clone()),
                data_center_id: dc.id.clone(),
                machine_type: mt.id.clone(),
                gpu_model_id: mt.gpu_model_id.clone().filter(|_| gpus > 0),
                gpu_model: gpu_model.filter(|_| gpus > 0),
                gpu_quantity: gpus,
                vcpus: request.vcpus.map_or(mt.vcpus, |v| v as u32),
                memory_gib: request.memory_gib.map_or(mt.memory_gib, |m| m as u32),
                cpu_model: mt.cpu_model.clone(),
                boot_disk_id: boot_disk_id.clone(),
                boot_disk_size_gib: boot_size,
                image_id: request.boot_disk_image_id.clone(),
                ssh_key_ids: request.ssh_key_ids.clone(),
                metadata: request.metadata.clone(),
                internal_ip: format!("10.{}.{}.{}", dc.number.rem_euclid(256), (seq >> 8) & 0xFF, seq & 0xFF),
                external_ip: format!("198.51.100.{}", seq.rem_euclid(254) + 1),
                state,
                pending,
                created_at: now,
                updated_at: now,
                version: 1,
            };
            repo::insert_vm(tx, &vm, seq)?;
            repo::insert_disk(
                tx,
                &Disk {
                    project_id: project_id.to_owned(),
                    id: boot_disk_id.clone(),
                    name: format!("{}-boot", vm.id),
                    data_center_id: dc.id.clone(),
                    size_gib: boot_size,
                    storage_class: "standard".to_owned(),
                    disk_type: DiskType::Boot,
                    image_id: request.boot_disk_image_id.clone(),
                    attachment: Some(Attachment {
                        vm_id: vm.id.clone(),
                        mode: AttachMode::ReadWrite,
                        attached_at: now,
                    }),
                    state: DiskState::Attached,
                    pending: None,
                    created_at: now,
                    updated_at: now,
                    version: 1,
                },
            )?;
            Ok(vm)
        })
    }

    /// The project's VMs, oldest first.
    pub fn list_vms(&self, who: &Principal, project_id: &str) -> Result<Vec<Vm>, Status> {
        self.authorize(who, project_id, Scope::ReadMachines)?;
        self.run(|tx, _| repo::vms(tx, &self.catalog_names, project_id))
    }

    /// One VM.
    pub fn get_vm(&self, who: &Principal, project_id: &str, id: &str) -> Result<Vm, Status> {
        self.authorize(who, project_id, Scope::ReadMachines)?;
        self.run(|tx, _| self.load_vm(tx, project_id, id))
    }

    /// A VM with its disks, in one transaction: only what its JSON shows
    /// of them, and the VM's version (for its ETag).
    pub(crate) fn get_listed_vm_with_disks(
        &self,
        who: &Principal,
        project_id: &str,
        id: &str,
    ) -> Result<(ListedVm, u64, Vec<ListedDisk>), Status> {
        self.authorize(who, project_id, Scope::ReadMachines)?;
        self.run(|tx, _| {
            let Some((vm, version)) = repo::listed_vm(tx, &self.catalog_names, project_id, id)? else {
                return Err(self.errors.not_found(ResourceKind::Vm, id, project_id).into());
            };
            Ok((vm, version, repo::listed_disks_of_vm(tx, project_id, id)?))
        })
    }

    /// The project's VMs, oldest first, with every disk attached to one of
    /// them, in one transaction: only what a list shows of them.
    pub(crate) fn list_vms_with_disks(
        &self,
        who: &Principal,
        project_id: &str,
    ) -> Result<(Vec<ListedVm>, Vec<ListedDisk>), Status> {
        self.authorize(who, project_id, Scope::ReadMachines)?;
        self.run(|tx, _| {
            Ok((repo::listed_vms(tx, &self.catalog_names, project_id)?, repo::attached_disks(tx, project_id)?))
        })
    }

    /// A VM's disks: the boot disk first, then the attached storage disks.
    pub fn list_vm_disks(&self, who: &Principal, project_id: &str, vm_id: &str) -> Result<Vec<Disk>, Status> {
        self.authorize(who, project_id, Scope::ReadMachines)?;
        self.run(|tx, _| {
            self.load_vm(tx, project_id, vm_id)?;
            repo::disks_of_vm(tx, project_id, vm_id)
        })
    }

    fn load_vm(&self, tx: &Connection, project_id: &str, id: &str) -> Res<Vm> {
        repo::vm(tx, &self.catalog_names, project_id, id)?
            .ok_or_else(|| self.errors.not_found(ResourceKind::Vm, id, project_id).into())
    }

    /// Starts a `STOPPED` VM (`STARTING`, then `ACTIVE`). Already `ACTIVE`
    /// or `STARTING`: nothing to do.
    pub fn start_vm(&self, who: &Principal, project_id: &str, id: &str, if_match: Option<&str>) -> Result<Vm, Status> {
        self.authorize(who, project_id, Scope::WriteMachines)?;
        self.run(|tx, now| {
            let mut vm = self.load_vm(tx, project_id, id)?;
            self.check_if_match(ResourceKind::Vm, id, &vm.etag(), if_match)?;
            match vm.state {
                VmState::Active | VmState::Starting => return Ok(vm),
                VmState::Stopped if vm.pending.is_none() => {}
                other => {
                    return Err(self
                        .errors
                        .state_invalid(ResourceKind::Vm, id, other.as_str(), &["STOPPED"], Action::Start)
                        .into());
                }
            }
            self.check_maintenance(tx, &vm.data_center_id, now)?;
            (vm.state, vm.pending) = self.begin(now, VmState::Starting, NextState::State(VmState::Active));
            repo::save_vm(tx, &mut vm, now)?;
            Ok(vm)
        })
    }

    /// Stops an `ACTIVE` VM (`STOPPING`, then `STOPPED`). Already
    /// `STOPPED` or `STOPPING`: nothing to do.
    pub fn stop_vm(&self, who: &Principal, project_id: &str, id: &str, if_match: Option<&str>) -> Result<Vm, Status> {
        self.authorize(who, project_id, Scope::WriteMachines)?;
        self.run(|tx, now| {
            let mut vm = self.load_vm(tx, project_id, id)?;
            self.check_if_match(ResourceKind::Vm, id, &vm.etag(), if_match)?;
            match vm.state {
                VmState::Stopped | VmState::Stopping => return Ok(vm),
                VmState::Active if vm.pending.is_none() => {}
                other => {
                    return Err(self
                        .errors
                        .state_invalid(ResourceKind::Vm, id, other.as_str(), &["ACTIVE"], Action::Stop)
                        .into());
                }
            }
            self.check_maintenance(tx, &vm.data_center_id, now)?;
            (vm.state, vm.pending) = self.begin(now, VmState::Stopping, NextState::State(VmState::Stopped));
            repo::save_vm(tx, &mut vm, now)?;
            Ok(vm)
        })
    }

    /// Terminates a VM in any state: `DELETING`, then gone (with its boot
    /// disk; storage disks are detached at once). Its machine and GPUs are
    /// free from this call on. Already `DELETING`: nothing to do.
    pub fn terminate_vm(
        &self,
        who: &Principal,
        project_id: &str,
        id: &str,
        if_match: Option<&str>,
    ) -> Result<Vm, Status> {
        self.authorize(who, project_id, Scope::WriteMachines)?;
        self.run(|tx, now| {
            let mut vm = self.load_vm(tx, project_id, id)?;
            self.check_if_match(ResourceKind::Vm, id, &vm.etag(), if_match)?;
            if vm.state == VmState::Deleting {
                return Ok(vm);
            }
            self.check_maintenance(tx, &vm.data_center_id, now)?;
            for mut disk in repo::disks_of_vm(tx, project_id, id)? {
                if disk.disk_type == DiskType::Storage {
                    disk.attachment = None;
                    disk.state = DiskState::Ready;
                    disk.pending = None;
                    repo::save_disk(tx, &mut disk, now)?;
                }
            }
            (vm.state, vm.pending) = self.begin(now, VmState::Deleting, NextState::Removed);
            repo::save_vm(tx, &mut vm, now)?;
            Ok(vm)
        })
    }

    /// Changes a VM's vCPUs and memory, within its machine type: the VM
    /// must be `ACTIVE` or `STOPPED`, goes `RESIZING` and comes back to the
    /// state it had.
    pub fn resize_vm(
        &self,
        who: &Principal,
        project_id: &str,
        id: &str,
        request: ResizeVm,
        if_match: Option<&str>,
    ) -> Result<Vm, Status> {
        self.authorize(who, project_id, Scope::WriteMachines)?;
        self.run(|tx, now| {
            let mut vm = self.load_vm(tx, project_id, id)?;
            self.check_if_match(ResourceKind::Vm, id, &vm.etag(), if_match)?;
            let mt = repo::machine_type(tx, &vm.data_center_id, &vm.machine_type)?
                .ok_or_else(|| self.errors.machine_type_not_found(&vm.data_center_id, &vm.machine_type))?;
            let mut violations = Violations::new(&self.errors);
            if request.vcpus.is_none() && request.memory_gib.is_none() {
                violations.push(self.errors.invalid_field("vcpus", "Give vcpus, memoryGib or both."));
            }
            if let Some(vcpus) = request.vcpus {
                self.check_count(&mut violations, "vcpus", vcpus, 1, mt.vcpus.into(), "");
            }
            if let Some(memory) = request.memory_gib {
                self.check_count(&mut violations, "memoryGib", memory, 1, mt.memory_gib.into(), " GiB");
            }
            violations.finish()?;
            let back = match vm.state {
                VmState::Active | VmState::Stopped if vm.pending.is_none() => vm.state,
                other => {
                    return Err(self
                        .errors
                        .state_invalid(ResourceKind::Vm, id, other.as_str(), &["ACTIVE", "STOPPED"], Action::Resize)
                        .into());
                }
            };
            let vcpus = request.vcpus.map_or(vm.vcpus, |v| v as u32);
            let memory = request.memory_gib.map_or(vm.memory_gib, |m| m as u32);
            if (vcpus, memory) == (vm.vcpus, vm.memory_gib) {
                return Ok(vm);
            }
            self.check_maintenance(tx, &vm.data_center_id, now)?;
            (vm.vcpus, vm.memory_gib) = (vcpus, memory);
            (vm.state, vm.pending) = self.begin(now, VmState::Resizing, NextState::State(back));
            repo::save_vm(tx, &mut vm, now)?;
            Ok(vm)
        })
    }

    // Disks.

    /// Creates a storage disk (`CREATING`, then `READY`). An empty id is
    /// generated.
    pub fn create_disk(&self, who: &Principal, project_id: &str, request: CreateDisk) -> Result<Disk, Status> {
        self.authorize(who, project_id, Scope::WriteDisks)?;
        self.run(|tx, now| {
            let limits = self.config.limits;
            let mut violations = Violations::new(&self.errors);
            if !request.id.is_empty() {
                self.check_id(&mut violations, "id", &request.id);
            }
            let dc = self.data_center_field(tx, &mut violations, &request.data_center_id)?;
            self.check_size(
                &mut violations,
                "sizeGib",
                request.size_gib,
                limits.min_disk_size_gib,
                limits.max_disk_size_gib,
            );
            if request.storage_class.as_deref().is_some_and(|c| !is_valid_token(c)) {
                violations.push(self.errors.invalid_field(
                    "storageClass",
                    "Must be 1 to 63 lower-case letters, digits, hyphens or underscores.",
                ));
            }
            violations.finish()?;
            let dc = dc.expect("validated");
            self.check_maintenance(tx, &dc.id, now)?;
            let id = if request.id.is_empty() {
                self.unique_id(|id| repo::disk_exists(tx, project_id, id))?
            } else {
                if repo::disk_exists(tx, project_id, &request.id)? {
                    return Err(self.errors.already_exists(ResourceKind::Disk, &request.id, project_id).into());
                }
                request.id.clone()
            };
            let (state, pending) = self.begin(now, DiskState::Creating, NextState::State(DiskState::Ready));
            let disk = Disk {
                project_id: project_id.to_owned(),
                name: request.name.clone().unwrap_or_else(|| id.clone()),
                id,
                data_center_id: dc.id,
                size_gib: request.size_gib as u32,
                storage_class: request.storage_class.clone().unwrap_or_else(|| "standard".to_owned()),
                disk_type: DiskType::Storage,
                image_id: None,
                attachment: None,
                state,
                pending,
                created_at: now,
                updated_at: now,
                version: 1,
            };
            repo::insert_disk(tx, &disk)?;
            Ok(disk)
        })
    }

    /// The project's disks (boot disks included), optionally of one data
    /// center.
    pub fn list_disks(
        &self,
        who: &Principal,
        project_id: &str,
        data_center_id: Option<&str>,
    ) -> Result<Vec<Disk>, Status> {
        self.authorize(who, project_id, Scope::ReadDisks)?;
        self.run(|tx, _| repo::disks(tx, project_id, data_center_id))
    }

    /// One disk.
    pub fn get_disk(&self, who: &Principal, project_id: &str, id: &str) -> Result<Disk, Status> {
        self.authorize(who, project_id, Scope::ReadDisks)?;
        self.run(|tx, _| self.load_disk(tx, project_id, id))
    }

    fn load_disk(&self, tx: &Connection, project_id: &str, id: &str) -> Res<Disk> {
        repo::disk(tx, project_id, id)?.ok_or_else(|| self.errors.not_found(ResourceKind::Disk, id, project_id).into())
    }

    /// Attaches a `READY` storage disk to an `ACTIVE` or `STOPPED` VM of
    /// the same data center (at once; attaching is not a transition).
    /// Already attached to that VM in that mode: nothing to do.
    pub fn attach_disk(
        &self,
        who: &Principal,
        project_id: &str,
        disk_id: &str,
        vm_id: &str,
        mode: AttachMode,
        if_match: Option<&str>,
    ) -> Result<Disk, Status> {
        self.authorize(who, project_id, Scope::WriteDisks)?;
        self.run(|tx, now| {
            let mut disk = self.load_disk(tx, project_id, disk_id)?;
            self.check_if_match(ResourceKind::Disk, disk_id, &disk.etag(), if_match)?;
            if disk.disk_type == DiskType::Boot {
                let owner = disk.attachment.as_ref().map_or("", |a| a.vm_id.as_str());
                return Err(self.errors.boot_disk_not_detachable(disk_id, owner, Action::Attach).into());
            }
            if let Some(current) = &disk.attachment {
                if current.vm_id == vm_id && current.mode == mode {
                    return Ok(disk);
                }
            }
            if disk.state != DiskState::Ready || disk.pending.is_some() {
                return Err(self
                    .errors
                    .state_invalid(ResourceKind::Disk, disk_id, disk.state.as_str(), &["READY"], Action::Attach)
                    .into());
            }
            let vm = self.load_vm(tx, project_id, vm_id)?;
            if !matches!(vm.state, VmState::Active | VmState::Stopped) || vm.pending.is_some() {
                return Err(self
                    .errors
                    .state_invalid(ResourceKind::Vm, vm_id, vm.state.as_str(), &["ACTIVE", "STOPPED"], Action::Attach)
                    .into());
            }
            if vm.data_center_id != disk.data_center_id {
                return Err(self
                    .errors
                    .data_center_mismatch(disk_id, &disk.data_center_id, vm_id, &vm.data_center_id)
                    .into());
            }
            self.check_maintenance(tx, &disk.data_center_id, now)?;
            disk.attachment = Some(Attachment { vm_id: vm_id.to_owned(), mode, attached_at: now });
            disk.state = DiskState::Attached;
            repo::save_disk(tx, &mut disk, now)?;
            Ok(disk)
        })
    }

    /// Detaches a storage disk (at once). Not attached and `READY`:
    /// nothing to do.
    pub fn detach_disk(
        &self,
        who: &Principal,
        project_id: &str,
        disk_id: &str,
        if_match: Option<&str>,
    ) -> Result<Disk, Status> {
        self.authorize(who, project_id, Scope::WriteDisks)?;
        self.run(|tx, now| {
            let mut disk = self.load_disk(tx, project_id, disk_id)?;
            self.check_if_match(ResourceKind::Disk, disk_id, &disk.etag(), if_match)?;
            if disk.disk_type == DiskType::Boot {
                let owner = disk.attachment.as_ref().map_or("", |a| a.vm_id.as_str());
                return Err(self.errors.boot_disk_not_detachable(disk_id, owner, Action::Detach).into());
            }
            if disk.attachment.is_none() {
                if disk.state == DiskState::Ready && disk.pending.is_none() {
                    return Ok(disk);
                }
                return Err(self
                    .errors
                    .state_invalid(ResourceKind::Disk, disk_id, disk.state.as_str(), &["ATTACHED"], Action::Detach)
                    .into());
            }
            if disk.pending.is_some() {
                return Err(self
                    .errors
                    .state_invalid(ResourceKind::Disk, disk_id, disk.state.as_str(), &["ATTACHED"], Action::Detach)
                    .into());
            }
            self.check_maintenance(tx, &disk.data_center_id, now)?;
            disk.attachment = None;
            disk.state = DiskState::Ready;
            repo::save_disk(tx, &mut disk, now)?;
            Ok(disk)
        })
    }

    /// Grows a disk (`UPDATING`, then back to `READY` or `ATTACHED`).
    /// Negative: INVALID_ARGUMENT; below the minimum or the current size,
    /// or above the maximum: OUT_OF_RANGE; attached read-only:
    /// FAILED_PRECONDITION. A boot disk's VM shows the new size.
    pub fn resize_disk(
        &self,
        who: &Principal,
        project_id: &str,
        disk_id: &str,
        size_gib: i64,
        if_match: Option<&str>,
    ) -> Result<Disk, Status> {
        self.authorize(who, project_id, Scope::WriteDisks)?;
        self.run(|tx, now| {
            let limits = self.config.limits;
            let mut disk = self.load_disk(tx, project_id, disk_id)?;
            self.check_if_match(ResourceKind::Disk, disk_id, &disk.etag(), if_match)?;
            let minimum = match disk.disk_type {
                DiskType::Boot => limits.min_boot_disk_size_gib,
                DiskType::Storage => limits.min_disk_size_gib,
            }
            .max(disk.size_gib);
            let mut violations = Violations::new(&self.errors);
            self.check_size(&mut violations, "sizeGib", size_gib, minimum, limits.max_disk_size_gib);
            violations.finish()?;
            if let Some(attachment) = &disk.attachment {
                if attachment.mode == AttachMode::ReadOnly {
                    return Err(self.errors.disk_attached_read_only(disk_id, &attachment.vm_id, project_id).into());
                }
            }
            let back = match disk.state {
                DiskState::Ready | DiskState::Attached if disk.pending.is_none() => disk.state,
                other => {
                    return Err(self
                        .errors
                        .state_invalid(
                            ResourceKind::Disk,
                            disk_id,
                            other.as_str(),
                            &["READY", "ATTACHED"],
                            Action::Resize,
                        )
                        .into());
                }
            };
            if size_gib as u32 == disk.size_gib {
                return Ok(disk);
            }
            self.check_maintenance(tx, &disk.data_center_id, now)?;
            disk.size_gib = size_gib as u32;
            (disk.state, disk.pending) = self.begin(now, DiskState::Updating, NextState::State(back));
            repo::save_disk(tx, &mut disk, now)?;
            if let (DiskType::Boot, Some(attachment)) = (disk.disk_type, &disk.attachment) {
                if let Some(mut vm) = repo::vm(tx, &self.catalog_names, project_id, &attachment.vm_id)? {
                    vm.boot_disk_size_gib = disk.size_gib;
                    repo::save_vm(tx, &mut vm, now)?;
                }
            }
            Ok(disk)
        })
    }

    /// Deletes a detached storage disk (`DELETING`, then gone). Already
    /// `DELETING`: nothing to do.
    pub fn delete_disk(
        &self,
        who: &Principal,
        project_id: &str,
        disk_id: &str,
        if_match: Option<&str>,
    ) -> Result<Disk, Status> {
        self.authorize(who, project_id, Scope::WriteDisks)?;
        self.run(|tx, now| {
            let mut disk = self.load_disk(tx, project_id, disk_id)?;
            self.check_if_match(ResourceKind::Disk, disk_id, &disk.etag(), if_match)?;
            if disk.disk_type == DiskType::Boot {
                let owner = disk.attachment.as_ref().map_or("", |a| a.vm_id.as_str());
                return Err(self.errors.boot_disk_not_detachable(disk_id, owner, Action::Delete).into());
            }
            if disk.state == DiskState::Deleting {
                return Ok(disk);
            }
            if !matches!(disk.state, DiskState::Ready | DiskState::Failed) || disk.pending.is_some() {
                return Err(self
                    .errors
                    .state_invalid(ResourceKind::Disk, disk_id, disk.state.as_str(), &["READY"], Action::Delete)
                    .into());
            }
            self.check_maintenance(tx, &disk.data_center_id, now)?;
            (disk.state, disk.pending) = self.begin(now, DiskState::Deleting, NextState::Removed);
            repo::save_disk(tx, &mut disk, now)?;
            Ok(disk)
        })
    }

    // Clusters.

    /// Creates a cluster (`STATE_CREATING`, then `STATE_ACTIVE`).
    pub fn create_cluster(&self, who: &Principal, project_id: &str, request: CreateCluster) -> Result<Cluster, Status> {
        self.authorize(who, project_id, Scope::WriteClusters)?;
        self.run(|tx, now| {
            let max = i64::from(self.config.limits.max_cluster_machines);
            let mut violations = Violations::new(&self.errors);
            self.check_id(&mut violations, "id", &request.id);
            let dc = self.data_center_field(tx, &mut violations, &request.data_center_id)?;
            let mt = match &dc {
                Some(dc) => {
                    self.machine_type_field(tx, &mut violations, "machineTypeId", &dc.id, &request.machine_type_id)?
                }
                None => None,
            };
            self.check_count(&mut violations, "machineCount", request.machine_count, 1, max, "");
            violations.finish()?;
            let (dc, mt) = (dc.expect("validated"), mt.expect("validated"));
            let count = request.machine_count as u32;
            self.check_maintenance(tx, &dc.id, now)?;
            if repo::cluster(tx, project_id, &request.id)?.is_some() {
                return Err(self.errors.already_exists(ResourceKind::Cluster, &request.id, project_id).into());
            }
            self.check_quota(tx, project_id, &mt, mt.gpus.saturating_mul(count))?;
            self.check_capacity(tx, &mt, count)?;
            let (state, pending) = self.begin(now, ClusterState::Creating, NextState::State(ClusterState::Active));
            let cluster = Cluster {
                project_id: project_id.to_owned(),
                id: request.id.clone(),
                data_center_id: dc.id,
                machine_type_id: mt.id,
                machine_count: count,
                state,
                pending,
                created_at: now,
                updated_at: now,
                version: 1,
            };
            repo::insert_cluster(tx, &cluster)?;
            Ok(cluster)
        })
    }

    /// The project's clusters.
    pub fn list_clusters(&self, who: &Principal, project_id: &str) -> Result<Vec<Cluster>, Status> {
        self.authorize(who, project_id, Scope::ReadClusters)?;
        self.run(|tx, _| repo::clusters(tx, project_id))
    }

    /// One cluster.
    pub fn get_cluster(&self, who: &Principal, project_id: &str, id: &str) -> Result<Cluster, Status> {
        self.authorize(who, project_id, Scope::ReadClusters)?;
        self.run(|tx, _| self.load_cluster(tx, project_id, id))
    }

    fn load_cluster(&self, tx: &Connection, project_id: &str, id: &str) -> Res<Cluster> {
        repo::cluster(tx, project_id, id)?
            .ok_or_else(|| self.errors.not_found(ResourceKind::Cluster, id, project_id).into())
    }

    /// Changes a cluster's machine count: only in `STATE_ACTIVE`
    /// (FAILED_PRECONDITION `CLUSTER_STATE_INVALID` otherwise, as on the
    /// CUDO page); above the limit, OUT_OF_RANGE. Growing takes quota and
    /// capacity for the added machines. The cluster goes
    /// `STATE_UPDATING`, then back to `STATE_ACTIVE`.
    pub fn resize_cluster(
        &self,
        who: &Principal,
        project_id: &str,
        id: &str,
        machine_count: i64,
        if_match: Option<&str>,
    ) -> Result<Cluster, Status> {
        self.authorize(who, project_id, Scope::WriteClusters)?;
        self.run(|tx, now| {
            let max = i64::from(self.config.limits.max_cluster_machines);
            let mut cluster = self.load_cluster(tx, project_id, id)?;
            self.check_if_match(ResourceKind::Cluster, id, &cluster.etag(), if_match)?;
            let mut violations = Violations::new(&self.errors);
            self.check_count(&mut violations, "machineCount", machine_count, 1, max, "");
            violations.finish()?;
            if cluster.state != ClusterState::Active || cluster.pending.is_some() {
                return Err(self
                    .errors
                    .state_invalid(ResourceKind::Cluster, id, cluster.state.as_str(), &["STATE_ACTIVE"], Action::Resize)
                    .into());
            }
            let count = machine_count as u32;
            if count == cluster.machine_count {
                return Ok(cluster);
            }
            self.check_maintenance(tx, &cluster.data_center_id, now)?;
            if count > cluster.machine_count {
                let mt =
                    repo::machine_type(tx, &cluster.data_center_id, &cluster.machine_type_id)?.ok_or_else(|| {
                        self.errors.machine_type_not_found(&cluster.data_center_id, &cluster.machine_type_id)
                    })?;
                let added = count - cluster.machine_count;
                self.check_quota(tx, project_id, &mt, mt.gpus.saturating_mul(added))?;
                self.check_capacity(tx, &mt, added)?;
            }
            cluster.machine_count = count;
            (cluster.state, cluster.pending) =
                self.begin(now, ClusterState::Updating, NextState::State(ClusterState::Active));
            repo::save_cluster(tx, &mut cluster, now)?;
            Ok(cluster)
        })
    }

    /// Deletes a cluster in any state (`STATE_DELETING`, then gone). Its
    /// machines are free from this call on.
    pub fn delete_cluster(
        &self,
        who: &Principal,
        project_id: &str,
        id: &str,
        if_match: Option<&str>,
    ) -> Result<Cluster, Status> {
        self.authorize(who, project_id, Scope::WriteClusters)?;
        self.run(|tx, now| {
            let mut cluster = self.load_cluster(tx, project_id, id)?;
            self.check_if_match(ResourceKind::Cluster, id, &cluster.etag(), if_match)?;
            if cluster.state == ClusterState::Deleting {
                return Ok(cluster);
            }
            self.check_maintenance(tx, &cluster.data_center_id, now)?;
            (cluster.state, cluster.pending) = self.begin(now, ClusterState::Deleting, NextState::Removed);
            repo::save_cluster(tx, &mut cluster, now)?;
            Ok(cluster)
        })
    }

    // SSH keys.

    /// Adds an SSH key to the project. A key whose fingerprint the project
    /// already has: ALREADY_EXISTS.
    pub fn create_ssh_key(&self, who: &Principal, project_id: &str, request: CreateSshKey) -> Result<SshKey, Status> {
        self.authorize(who, project_id, Scope::WriteSshKeys)?;
        self.run(|tx, now| {
            let parsed =
                sshkey::parse(&request.public_key).map_err(|why| self.errors.invalid_field("publicKey", why))?;
            if request.name.as_deref().is_some_and(|n| n.trim().is_empty() || n.len() > 255) {
                return Err(self.errors.invalid_field("name", "Must be 1 to 255 characters.").into());
            }
            if let Some(existing) = repo::ssh_key_by_fingerprint(tx, project_id, &parsed.fingerprint)? {
                return Err(self
                    .errors
                    .ssh_key_fingerprint_exists(&parsed.fingerprint, project_id, &existing.id)
                    .into());
            }
            let id = self.unique_id(|id| Ok(repo::ssh_key_by_id(tx, id)?.is_some()))?;
            let name = request.name.clone().unwrap_or_else(|| {
                if parsed.comment.is_empty() { parsed.fingerprint.clone() } else { parsed.comment.clone() }
            });
            let key = SshKey {
                project_id: project_id.to_owned(),
                id,
                name,
                public_key: parsed.line,
                fingerprint: parsed.fingerprint,
                key_type: parsed.key_type,
                comment: parsed.comment,
                created_at: now,
            };
            repo::insert_ssh_key(tx, &key)?;
            Ok(key)
        })
    }

    /// The project's SSH keys.
    pub fn list_ssh_keys(&self, who: &Principal, project_id: &str) -> Result<Vec<SshKey>, Status> {
        self.authorize(who, project_id, Scope::ReadSshKeys)?;
        self.run(|tx, _| repo::ssh_keys(tx, project_id))
    }

    /// One SSH key. For paths without a project (CUDO's `/v1/ssh-keys/{id}`)
    /// pass the caller's own [`Principal::project_id`].
    pub fn get_ssh_key(&self, who: &Principal, project_id: &str, id: &str) -> Result<SshKey, Status> {
        self.authorize(who, project_id, Scope::ReadSshKeys)?;
        self.run(|tx, _| {
            repo::ssh_key(tx, project_id, id)?
                .ok_or_else(|| self.errors.not_found(ResourceKind::SshKey, id, project_id).into())
        })
    }

    /// Deletes an SSH key (at once).
    pub fn delete_ssh_key(&self, who: &Principal, project_id: &str, id: &str) -> Result<(), Status> {
        self.authorize(who, project_id, Scope::WriteSshKeys)?;
        self.run(|tx, _| {
            if repo::delete_ssh_key(tx, project_id, id)? {
                Ok(())
            } else {
                Err(self.errors.not_found(ResourceKind::SshKey, id, project_id).into())
            }
        })
    }

    // Images and operations.

    /// Imports an image as a long-running operation: the image is
    /// `CREATING` until the transition mode makes it `READY`, and the
    /// operation, which tracks it, fails with DEADLINE_EXCEEDED (and the
    /// image with it) if that has not happened by its deadline.
    pub fn import_image(
        &self,
        who: &Principal,
        project_id: &str,
        request: ImportImage,
    ) -> Result<(Image, Operation), Status> {
        self.authorize(who, project_id, Scope::WriteImages)?;
        self.run(|tx, now| {
            let limits = self.config.limits;
            let mut violations = Violations::new(&self.errors);
            self.check_id(&mut violations, "id", &request.id);
            let dc = self.data_center_field(tx, &mut violations, &request.data_center_id)?;
            if request.source_url.trim().is_empty() {
                violations.push(self.errors.invalid_field("sourceUrl", "Must not be empty."));
            }
            self.check_size(&mut violations, "sizeGib", request.size_gib, 1, limits.max_disk_size_gib);
            violations.finish()?;
            let dc = dc.expect("validated");
            self.check_maintenance(tx, &dc.id, now)?;
            if repo::image(tx, project_id, &request.id)?.is_some() {
                return Err(self.errors.already_exists(ResourceKind::Image, &request.id, project_id).into());
            }
            let operation_id = self.unique_id(|id| Ok(repo::operation(tx, id)?.is_some()))?;
            let (state, pending) = self.begin(now, ImageState::Creating, NextState::State(ImageState::Ready));
            let image = Image {
                project_id: project_id.to_owned(),
                id: request.id.clone(),
                data_center_id: dc.id,
                description: request.description.clone(),
                source_url: request.source_url.clone(),
                size_gib: request.size_gib as u32,
                operation_id: operation_id.clone(),
                state,
                pending,
                created_at: now,
                updated_at: now,
                version: 1,
            };
            repo::insert_image(tx, &image)?;
            let deadline = request.deadline.unwrap_or(self.config.operation_deadline);
            let operation = self.insert_operation(
                tx,
                now,
                operation_id,
                project_id,
                "IMPORT_IMAGE",
                vec![ResourceRef::new(ResourceKind::Image, &image.id)],
                Some(now.saturating_add(deadline)),
            )?;
            Ok((image, operation))
        })
    }

    /// The project's images.
    pub fn list_images(&self, who: &Principal, project_id: &str) -> Result<Vec<Image>, Status> {
        self.authorize(who, project_id, Scope::ReadImages)?;
        self.run(|tx, _| repo::images(tx, project_id))
    }

    /// One image.
    pub fn get_image(&self, who: &Principal, project_id: &str, id: &str) -> Result<Image, Status> {
        self.authorize(who, project_id, Scope::ReadImages)?;
        self.run(|tx, _| {
            repo::image(tx, project_id, id)?
                .ok_or_else(|| self.errors.not_found(ResourceKind::Image, id, project_id).into())
        })
    }

    /// Deletes a `READY` or `FAILED` image (`DELETING`, then gone).
    pub fn delete_image(
        &self,
        who: &Principal,
        project_id: &str,
        id: &str,
        if_match: Option<&str>,
    ) -> Result<Image, Status> {
        self.authorize(who, project_id, Scope::WriteImages)?;
        self.run(|tx, now| {
            let mut image = repo::image(tx, project_id, id)?
                .ok_or_else(|| self.errors.not_found(ResourceKind::Image, id, project_id))?;
            self.check_if_match(ResourceKind::Image, id, &image.etag(), if_match)?;
            if image.state == ImageState::Deleting {
                return Ok(image);
            }
            if !matches!(image.state, ImageState::Ready | ImageState::Failed) || image.pending.is_some() {
                return Err(self
                    .errors
                    .state_invalid(ResourceKind::Image, id, image.state.as_str(), &["READY", "FAILED"], Action::Delete)
                    .into());
            }
            (image.state, image.pending) = self.begin(now, ImageState::Deleting, NextState::Removed);
            repo::save_image(tx, &mut image, now)?;
            Ok(image)
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn insert_operation(
        &self,
        tx: &Connection,
        now: Timestamp,
        id: String,
        project_id: &str,
        kind: &str,
        resources: Vec<ResourceRef>,
        deadline_at: Option<Timestamp>,
    ) -> Res<Operation> {
        let mut operation = Operation {
            id,
            project_id: project_id.to_owned(),
            kind: kind.to_owned(),
            resources,
            state: OperationState::Pending,
            error: None,
            deadline_at,
            created_at: now,
            updated_at: now,
            finished_at: None,
            version: 1,
        };
        repo::evaluate_operation(tx, &mut operation, now, &self.errors)?;
        repo::insert_operation(tx, &operation)?;
        Ok(operation)
    }

    /// Starts an operation that tracks resources of the project, for a
    /// surface that shows writes as tasks (Gcore): it is `RUNNING` while
    /// they move by the clock (`PENDING` while they wait for an admin),
    /// `SUCCEEDED` when all have settled (a removed one counts as
    /// settled), `FAILED` when one fails or the deadline passes first.
    /// Created after the write it tracks, it may be done at once.
    pub fn create_operation(
        &self,
        who: &Principal,
        project_id: &str,
        kind: &str,
        resources: Vec<ResourceRef>,
        deadline: Option<Duration>,
    ) -> Result<Operation, Status> {
        self.authorize_project(who, project_id)?;
        self.run(|tx, now| {
            if kind.trim().is_empty() {
                return Err(self.errors.invalid_field("kind", "Must not be empty.").into());
            }
            for resource in &resources {
                if repo::stateful_table(resource.kind).is_none() {
                    return Err(self
                        .errors
                        .invalid_field("resources", format!("A {} has no state to track.", resource.kind))
                        .into());
                }
                if repo::state_row(tx, resource.kind, project_id, &resource.id)?.is_none() {
                    return Err(self.errors.not_found(resource.kind, &resource.id, project_id).into());
                }
            }
            let id = self.unique_id(|id| Ok(repo::operation(tx, id)?.is_some()))?;
            self.insert_operation(tx, now, id, project_id, kind, resources, deadline.map(|d| now.saturating_add(d)))
        })
    }

    /// One operation of the project. For paths without a project (Gcore's
    /// `/cloud/v1/tasks/{id}`) pass the caller's own
    /// [`Principal::project_id`]: another project's operation is then
    /// NOT_FOUND, like a missing one.
    pub fn get_operation(&self, who: &Principal, project_id: &str, id: &str) -> Result<Operation, Status> {
        self.authorize(who, project_id, Scope::ReadOperations)?;
        self.run(|tx, _| match repo::operation(tx, id)? {
            Some(op) if op.project_id == project_id => Ok(op),
            _ => Err(self.errors.not_found(ResourceKind::Operation, id, project_id).into()),
        })
    }

    /// The project's operations, oldest first.
    pub fn list_operations(&self, who: &Principal, project_id: &str) -> Result<Vec<Operation>, Status> {
        self.authorize(who, project_id, Scope::ReadOperations)?;
        self.run(|tx, _| repo::operations(tx, project_id))
    }
}

/// Turns a failed transaction into a Status: a domain error as it is, a
/// busy database as UNAVAILABLE, anything else as INTERNAL.
pub(crate) fn fail_status(errors: &Errors, fail: Fail) -> Status {
    match fail {
        Fail::Status(status) => status,
        Fail::Db(error) => match error.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => errors.store_busy(),
            _ => errors.internal(&error),
        },
    }
}

/// A client-chosen id: 1 to 63 of `[a-z0-9-]`, starting and ending with a
/// letter or digit.
pub(crate) fn is_valid_id(id: &str) -> bool {
    let b = id.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// A storage class: 1 to 63 of `[a-z0-9_-]`.
fn is_valid_token(text: &str) -> bool {
    (1..=63).contains(&text.len())
        && text.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"_-".contains(&c))
}

/// A data center a request names, found in the store.
struct KnownDataCenter {
    id: String,
    number: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_the_documented_shape() {
        for good in ["a", "vm-1", "0abc", "x".repeat(63).as_str()] {
            assert!(is_valid_id(good), "{good}");
        }
        for bad in ["", "-a", "a-", "A", "a_b", "a b", "x".repeat(64).as_str()] {
            assert!(!is_valid_id(bad), "{bad}");
        }
    }

    #[test]
    fn the_catalog_names_a_cloud_reads_are_the_seeded_catalog() {
        let cloud =
            Cloud::new(Store::in_memory().unwrap(), Arc::new(crate::clock::SystemClock), CloudConfig::default())
                .unwrap();
        let names = &cloud.catalog_names;
        for mt in crate::catalog::machine_types() {
            assert_eq!(names.cpu_model(&mt.data_center_id, &mt.id), Some(mt.cpu_model.as_str()), "{}", mt.id);
        }
        for model in crate::catalog::gpu_models() {
            assert_eq!(names.gpu_model(&model.id), Some(model.model_name.as_str()), "{}", model.id);
        }
        // What the catalog does not have reads as absent, as a left join
        // would show it.
        let misses = [
            names.cpu_model("gb-bournemouth-1", "no-such-type"),
            names.cpu_model("no-such-dc", "gpu-a100-x2"),
            names.gpu_model("no-such-gpu"),
        ];
        assert_eq!(misses, [None, None, None]);
    }

    #[test]
    fn a_cloud_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Cloud>();
    }
}
