//! The domain's resources, their states and the requests that create them.
//!
//! The types know no dialect: they hold everything the CUDO surface (camel
//! case, string ids, states such as `ACTIVE`) and the Gcore surface (snake
//! case, integer project and region ids, flavors, tasks) need, and each
//! surface maps them onto its own JSON.
//!
//! | domain | CUDO | Gcore |
//! |--------|------|-------|
//! | [`Project`] (`id`, `number`) | `Project` (`id`) | project (`id` = `number`) |
//! | [`DataCenter`] (`id`, `number`) | `VMDataCenter` | region (`id` = `number`, `display_name`) |
//! | [`MachineType`] | `VMMachineType` / `MachineType` | flavor (`flavor_id` = `id`, `ram` in MiB) |
//! | [`Vm`] | `VM` | instance |
//! | [`Disk`] | `Disk` | volume (`size`, `volume_type` = `storage_class`) |
//! | [`Cluster`] | `Cluster` | — |
//! | [`SshKey`] | `SshKey` | ssh key |
//! | [`Image`] | `PrivateImage` | image |
//! | [`Operation`] | — | task (`NEW`, `RUNNING`, `FINISHED`, `ERROR`) |
//!
//! # States and transitions
//!
//! A resource that changes state goes through a *transitional* state (a VM
//! through `PENDING`, `STOPPING`, `STARTING`, `RESIZING` or `DELETING`)
//! and then reaches its next state by the cloud's clock, as the
//! [`TransitionMode`](crate::clock::TransitionMode) says. While it waits,
//! its `pending` field holds a [`Pending`]: the next state (or removal)
//! and when it is due (`None` when an admin must advance it). A resource
//! with no `pending` is *settled*.
//!
//! # ETags
//!
//! Every resource that can be changed carries a `version`, raised by each
//! change, the transitions included. Its [`etag`](Vm::etag) is a strong
//! entity tag made from the version and the creation time, so that a
//! resource deleted and created again under the same id does not reuse an
//! old tag.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use canon::Status;

use crate::clock::Timestamp;
use crate::ids::push_hex;

/// The error for a string that names no value of an enumeration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseEnumError {
    what: &'static str,
    input: String,
    expected: Vec<&'static str>,
}

impl ParseEnumError {
    pub(crate) fn new(what: &'static str, input: &str, expected: Vec<&'static str>) -> ParseEnumError {
        ParseEnumError { what, input: input.to_owned(), expected }
    }

    /// What was being parsed, such as `VmState`.
    pub fn what(&self) -> &'static str {
        self.what
    }

    /// The text that did not parse.
    pub fn input(&self) -> &str {
        &self.input
    }

    /// The accepted spellings.
    pub fn expected(&self) -> &[&'static str] {
        &self.expected
    }
}

impl fmt::Display for ParseEnumError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` is not a {}: expected one of {}", self.input, self.what, self.expected.join(", "))
    }
}

impl std::error::Error for ParseEnumError {}

macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $( $(#[$vdoc:meta])* $variant:ident => $text:literal ),* $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $( $(#[$vdoc])* $variant, )* }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The value's name on the wire.
            pub const fn as_str(self) -> &'static str {
                match self { $( $name::$variant => $text, )* }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = ParseEnumError;

            fn from_str(s: &str) -> Result<$name, ParseEnumError> {
                match s {
                    $( $text => Ok($name::$variant), )*
                    _ => Err(ParseEnumError {
                        what: stringify!($name),
                        input: s.to_owned(),
                        expected: vec![$($text),*],
                    }),
                }
            }
        }
    };
}

string_enum! {
    /// The kinds of resource the emulator knows, as named in errors and by
    /// the admin API.
    pub enum ResourceKind {
        /// A project.
        Project => "project",
        /// A data center.
        DataCenter => "dataCenter",
        /// A machine type of a data center.
        MachineType => "machineType",
        /// A virtual machine.
        Vm => "vm",
        /// A disk.
        Disk => "disk",
        /// A cluster.
        Cluster => "cluster",
        /// An SSH key.
        SshKey => "sshKey",
        /// A private image.
        Image => "image",
        /// A long-running operation.
        Operation => "operation",
        /// An API key.
        ApiKey => "apiKey",
    }
}

impl ResourceKind {
    /// The name used at the start of a message: `VM`, `Disk`, `SSH key`.
    pub const fn display_name(self) -> &'static str {
        match self {
            ResourceKind::Project => "Project",
            ResourceKind::DataCenter => "Data center",
            ResourceKind::MachineType => "Machine type",
            ResourceKind::Vm => "VM",
            ResourceKind::Disk => "Disk",
            ResourceKind::Cluster => "Cluster",
            ResourceKind::SshKey => "SSH key",
            ResourceKind::Image => "Image",
            ResourceKind::Operation => "Operation",
            ResourceKind::ApiKey => "API key",
        }
    }

    /// The start of this kind's ErrorInfo reasons: `VM` in `VM_NOT_FOUND`.
    pub const fn reason_prefix(self) -> &'static str {
        match self {
            ResourceKind::Project => "PROJECT",
            ResourceKind::DataCenter => "DATA_CENTER",
            ResourceKind::MachineType => "MACHINE_TYPE",
            ResourceKind::Vm => "VM",
            ResourceKind::Disk => "DISK",
            ResourceKind::Cluster => "CLUSTER",
            ResourceKind::SshKey => "SSH_KEY",
            ResourceKind::Image => "IMAGE",
            ResourceKind::Operation => "OPERATION",
            ResourceKind::ApiKey => "API_KEY",
        }
    }

    /// The ErrorInfo metadata key of this kind's id: `vmId`, `clusterId`.
    pub const fn id_key(self) -> &'static str {
        match self {
            ResourceKind::Project => "projectId",
            ResourceKind::DataCenter => "dataCenterId",
            ResourceKind::MachineType => "machineTypeId",
            ResourceKind::Vm => "vmId",
            ResourceKind::Disk => "diskId",
            ResourceKind::Cluster => "clusterId",
            ResourceKind::SshKey => "sshKeyId",
            ResourceKind::Image => "imageId",
            ResourceKind::Operation => "operationId",
            ResourceKind::ApiKey => "apiKeyId",
        }
    }
}

string_enum! {
    /// What a request asked a resource to do, as named in
    /// `*_STATE_INVALID` errors (metadata `operation`).
    pub enum Action {
        /// Start a stopped VM.
        Start => "START",
        /// Stop a running VM.
        Stop => "STOP",
        /// Terminate a VM.
        Terminate => "TERMINATE",
        /// Resize a VM, disk or cluster.
        Resize => "RESIZE",
        /// Attach a disk.
        Attach => "ATTACH",
        /// Detach a disk.
        Detach => "DETACH",
        /// Delete a disk, cluster or image.
        Delete => "DELETE",
    }
}

impl Action {
    /// The gerund used in messages: `resizing`.
    pub const fn gerund(self) -> &'static str {
        match self {
            Action::Start => "starting",
            Action::Stop => "stopping",
            Action::Terminate => "terminating",
            Action::Resize => "resizing",
            Action::Attach => "attaching",
            Action::Detach => "detaching",
            Action::Delete => "deleting",
        }
    }
}

/// What a transitional resource becomes next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextState<S> {
    /// This state.
    State(S),
    /// Nothing: the resource is removed (a terminated VM, a deleted disk).
    Removed,
}

/// A transition under way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pending<S> {
    /// Where the transition leads.
    pub next: NextState<S>,
    /// When it completes by the cloud's clock; `None` when it waits for an
    /// admin.
    pub due_at: Option<Timestamp>,
}

/// The strong entity tag of a version of a resource: the creation time in
/// milliseconds in hex (two's complement, as `{:x}` writes an `i64`), a
/// hyphen and the version, in double quotes. Written by hand rather than
/// with `format!`, as every read of a VM, disk or cluster sends one.
pub(crate) fn etag(created_at: Timestamp, version: u64) -> String {
    let millis = created_at.as_millis() as u64;
    let mut tag = String::with_capacity(40);
    tag.push('"');
    push_hex(&mut tag, millis, (64 - millis.leading_zeros()).div_ceil(4).max(1));
    tag.push('-');
    tag.push_str(itoa::Buffer::new().format(version));
    tag.push('"');
    tag
}

/// A project: the owner of resources, API keys and quotas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    /// The string id (CUDO's `id`), such as `demo`.
    pub id: String,
    /// The stable integer id (Gcore's project `id`), from 1.
    pub number: i64,
    /// A display name.
    pub name: String,
    /// The billing account (CUDO's required `billingAccountId`).
    pub billing_account_id: String,
    /// When it was created.
    pub created_at: Timestamp,
}

/// A data center: a place with machine types (a Gcore region).
#[derive(Debug, Clone, PartialEq)]
pub struct DataCenter {
    /// The string id, such as `gb-bournemouth-1`.
    pub id: String,
    /// The stable integer id (Gcore's region `id`).
    pub number: i64,
    /// A display name, such as `Bournemouth`.
    pub display_name: String,
    /// ISO 3166 alpha-2 country code, such as `GB`.
    pub country: String,
    /// Latitude in degrees.
    pub latitude: f64,
    /// Longitude in degrees.
    pub longitude: f64,
    /// The operator of the site (CUDO's `supplierName`).
    pub supplier_name: String,
    /// Whether the site runs on renewable energy.
    pub renewable_energy: bool,
}

/// A GPU model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GpuModel {
    /// The id, such as `gpu-a100` (the CUDO page's `gpuModelId`).
    pub id: String,
    /// The vendor, such as `NVIDIA`.
    pub vendor_name: String,
    /// The model's name, such as `A100 80GB PCIe`.
    pub model_name: String,
    /// GPU memory in GiB.
    pub memory_gib: u32,
}

/// A machine type of one data center, with a finite capacity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachineType {
    /// The id, unique within its data center, such as `gpu-a100-x2`.
    pub id: String,
    /// The data center.
    pub data_center_id: String,
    /// The GPU model, `None` for a CPU-only type.
    pub gpu_model_id: Option<String>,
    /// GPUs per machine.
    pub gpus: u32,
    /// Virtual CPUs per machine.
    pub vcpus: u32,
    /// Memory per machine, GiB.
    pub memory_gib: u32,
    /// The CPU model, such as `AMD EPYC 7742`.
    pub cpu_model: String,
    /// How many machines of this type the data center has.
    pub capacity: u32,
    /// How many are taken by VMs and cluster machines (terminating ones do
    /// not count), as of the read.
    pub in_use: u32,
}

impl MachineType {
    /// How many machines are free.
    pub fn free(&self) -> u32 {
        self.capacity.saturating_sub(self.in_use)
    }
}

string_enum! {
    /// A VM's state, with CUDO's names (`VmState` in its OpenAPI).
    pub enum VmState {
        /// Being cloned.
        Cloning => "CLONING",
        /// A snapshot is being taken.
        CreatingSnapshot => "CREATING_SNAPSHOT",
        /// Gone.
        Deleted => "DELETED",
        /// Being terminated (transitional).
        Deleting => "DELETING",
        /// A snapshot is being deleted.
        DeletingSnapshot => "DELETING_SNAPSHOT",
        /// Failed.
        Failed => "FAILED",
        /// A device is being hot-plugged.
        Hotplugging => "HOTPLUGGING",
        /// Being migrated.
        Migrating => "MIGRATING",
        /// Being recreated.
        Recreating => "RECREATING",
        /// A snapshot is being restored.
        RevertingSnapshot => "REVERTING_SNAPSHOT",
        /// Being resized (transitional).
        Resizing => "RESIZING",
        /// A disk is being resized.
        ResizingDisk => "RESIZING_DISK",
        /// Running.
        Active => "ACTIVE",
        /// Starting (transitional).
        Starting => "STARTING",
        /// Stopped.
        Stopped => "STOPPED",
        /// Stopping (transitional).
        Stopping => "STOPPING",
        /// Suspended.
        Suspended => "SUSPENDED",
        /// Being suspended.
        Suspending => "SUSPENDING",
        /// Unknown.
        Unknown => "UNKNOWN",
        /// Being created (transitional).
        Pending => "PENDING",
    }
}

impl VmState {
    /// A one-word summary for CUDO's `shortState` (whose values CUDO does
    /// not document; these are the emulator's): `pending`, `active`,
    /// `stopping`, `stopped`, `deleting`, `deleted`, `failed` or `busy`.
    pub const fn short_state(self) -> &'static str {
        match self {
            VmState::Pending | VmState::Cloning | VmState::Starting | VmState::Recreating => "pending",
            VmState::Active => "active",
            VmState::Stopping | VmState::Suspending => "stopping",
            VmState::Stopped | VmState::Suspended => "stopped",
            VmState::Deleting => "deleting",
            VmState::Deleted => "deleted",
            VmState::Failed | VmState::Unknown => "failed",
            _ => "busy",
        }
    }
}

/// A virtual machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vm {
    /// The owning project.
    pub project_id: String,
    /// The client-chosen id (CUDO's `vmId`), unique in the project.
    pub id: String,
    /// A display name (Gcore's `name`); the id when none was given.
    pub name: String,
    /// The data center.
    pub data_center_id: String,
    /// The machine type.
    pub machine_type: String,
    /// The GPU model id, `None` for a CPU-only VM.
    pub gpu_model_id: Option<String>,
    /// The GPU model's name, such as `A100 80GB PCIe` (CUDO's `gpuModel`).
    pub gpu_model: Option<String>,
    /// GPUs (CUDO's `gpuQuantity`).
    pub gpu_quantity: u32,
    /// Virtual CPUs.
    pub vcpus: u32,
    /// Memory, GiB (CUDO's `memory`, Gcore's flavor `ram` / 1024).
    pub memory_gib: u32,
    /// The CPU model.
    pub cpu_model: String,
    /// The boot disk's id (a [`Disk`] of type [`DiskType::Boot`]).
    pub boot_disk_id: String,
    /// The boot disk's size, GiB.
    pub boot_disk_size_gib: u32,
    /// The image the boot disk was made from.
    pub image_id: Option<String>,
    /// The ids of the SSH keys put on the VM.
    pub ssh_key_ids: Vec<String>,
    /// Free-form metadata.
    pub metadata: BTreeMap<String, String>,
    /// The private address.
    pub internal_ip: String,
    /// The public address.
    pub external_ip: String,
    /// The state.
    pub state: VmState,
    /// The transition under way, if any.
    pub pending: Option<Pending<VmState>>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
    /// Raised by every change.
    pub version: u64,
}

impl Vm {
    /// The strong ETag, quotes included.
    pub fn etag(&self) -> String {
        etag(self.created_at, self.version)
    }
}

string_enum! {
    /// A disk's state, with CUDO's names (`DiskState`).
    pub enum DiskState {
        /// Unknown.
        Unknown => "UNKNOWN",
        /// Attached to a VM.
        Attached => "ATTACHED",
        /// Being cloned.
        Cloning => "CLONING",
        /// Being created (transitional).
        Creating => "CREATING",
        /// Being deleted (transitional).
        Deleting => "DELETING",
        /// Disabled.
        Disabled => "DISABLED",
        /// Failed.
        Failed => "FAILED",
        /// Ready and detached.
        Ready => "READY",
        /// Being resized (transitional).
        Updating => "UPDATING",
    }
}

string_enum! {
    /// Whether a disk is a VM's boot disk or a storage disk.
    pub enum DiskType {
        /// A VM's boot disk, made with the VM and removed with it.
        Boot => "DISK_TYPE_BOOT",
        /// A storage disk, created on its own.
        Storage => "DISK_TYPE_STORAGE",
    }
}

string_enum! {
    /// How a disk is attached.
    pub enum AttachMode {
        /// Read-only: the disk cannot be resized while so attached.
        ReadOnly => "READ_ONLY",
        /// Read-write.
        ReadWrite => "READ_WRITE",
    }
}

/// A disk's attachment to a VM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// The VM, in the disk's project.
    pub vm_id: String,
    /// Read-only or read-write.
    pub mode: AttachMode,
    /// When it was attached.
    pub attached_at: Timestamp,
}

/// The names a VM's JSON shows of its catalog entries: the CPU model of
/// each machine type and the name of each GPU model.
///
/// A cloud reads them from its store once, when it opens. The catalog's
/// rows are seeded then and never change afterwards (an admin changes only
/// a machine type's capacity, which is not here), so every VM read takes
/// the names from here instead of joining two more tables for each VM.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct CatalogNames {
    /// The CPU model of each machine type, by data center and id.
    cpu_models: BTreeMap<String, BTreeMap<String, String>>,
    /// The name of each GPU model, by id.
    gpu_models: BTreeMap<String, String>,
}

impl CatalogNames {
    /// Records a machine type's CPU model.
    pub(crate) fn add_machine_type(&mut self, data_center_id: String, id: String, cpu_model: String) {
        self.cpu_models.entry(data_center_id).or_default().insert(id, cpu_model);
    }

    /// Records a GPU model's name.
    pub(crate) fn add_gpu_model(&mut self, id: String, name: String) {
        self.gpu_models.insert(id, name);
    }

    /// The CPU model of a machine type, if the catalog has it.
    pub(crate) fn cpu_model(&self, data_center_id: &str, machine_type_id: &str) -> Option<&str> {
        self.cpu_models.get(data_center_id)?.get(machine_type_id).map(String::as_str)
    }

    /// The name of a GPU model, if the catalog has it.
    pub(crate) fn gpu_model(&self, id: &str) -> Option<&str> {
        self.gpu_models.get(id).map(String::as_str)
    }
}

/// What a list of VMs shows of each VM: the fields of its JSON, read
/// without the rest of its row (the list's projection).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListedVm {
    pub(crate) project_id: String,
    pub(crate) id: String,
    pub(crate) data_center_id: String,
    pub(crate) machine_type: String,
    pub(crate) gpu_model_id: Option<String>,
    pub(crate) gpu_model: Option<String>,
    pub(crate) gpu_quantity: u32,
    pub(crate) vcpus: u32,
    pub(crate) memory_gib: u32,
    pub(crate) cpu_model: String,
    pub(crate) boot_disk_size_gib: u32,
    pub(crate) image_id: Option<String>,
    pub(crate) metadata: BTreeMap<String, String>,
    pub(crate) internal_ip: String,
    pub(crate) external_ip: String,
    pub(crate) state: VmState,
    pub(crate) created_at: Timestamp,
}

impl From<Vm> for ListedVm {
    fn from(vm: Vm) -> ListedVm {
        ListedVm {
            project_id: vm.project_id,
            id: vm.id,
            data_center_id: vm.data_center_id,
            machine_type: vm.machine_type,
            gpu_model_id: vm.gpu_model_id,
            gpu_model: vm.gpu_model,
            gpu_quantity: vm.gpu_quantity,
            vcpus: vm.vcpus,
            memory_gib: vm.memory_gib,
            cpu_model: vm.cpu_model,
            boot_disk_size_gib: vm.boot_disk_size_gib,
            image_id: vm.image_id,
            metadata: vm.metadata,
            internal_ip: vm.internal_ip,
            external_ip: vm.external_ip,
            state: vm.state,
            created_at: vm.created_at,
        }
    }
}

/// What a list of VMs shows of each of their disks: the fields of its
/// JSON, read without the rest of its row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListedDisk {
    pub(crate) project_id: String,
    pub(crate) id: String,
    pub(crate) data_center_id: String,
    pub(crate) vm_id: Option<String>,
    pub(crate) size_gib: u32,
    pub(crate) disk_type: DiskType,
    pub(crate) state: DiskState,
    pub(crate) image_id: Option<String>,
    pub(crate) created_at: Timestamp,
}

impl From<Disk> for ListedDisk {
    fn from(disk: Disk) -> ListedDisk {
        ListedDisk {
            project_id: disk.project_id,
            id: disk.id,
            data_center_id: disk.data_center_id,
            vm_id: disk.attachment.map(|a| a.vm_id),
            size_gib: disk.size_gib,
            disk_type: disk.disk_type,
            state: disk.state,
            image_id: disk.image_id,
            created_at: disk.created_at,
        }
    }
}

/// A disk (a Gcore volume).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disk {
    /// The owning project.
    pub project_id: String,
    /// The id, unique in the project.
    pub id: String,
    /// A display name; the id when none was given.
    pub name: String,
    /// The data center.
    pub data_center_id: String,
    /// The size, GiB.
    pub size_gib: u32,
    /// The storage class (Gcore's `volume_type`), such as `standard`.
    pub storage_class: String,
    /// Boot or storage.
    pub disk_type: DiskType,
    /// The image a boot disk was made from.
    pub image_id: Option<String>,
    /// The attachment, if attached.
    pub attachment: Option<Attachment>,
    /// The state.
    pub state: DiskState,
    /// The transition under way, if any.
    pub pending: Option<Pending<DiskState>>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
    /// Raised by every change.
    pub version: u64,
}

impl Disk {
    /// The strong ETag, quotes included.
    pub fn etag(&self) -> String {
        etag(self.created_at, self.version)
    }
}

string_enum! {
    /// A cluster's state. The names are the CUDO page's (`STATE_ACTIVE`),
    /// which its errors use; CUDO's OpenAPI writes the resource's `state`
    /// without the prefix: see [`ClusterState::resource_name`].
    pub enum ClusterState {
        /// Being created (transitional).
        Creating => "STATE_CREATING",
        /// Ready: the only state a cluster can be resized in.
        Active => "STATE_ACTIVE",
        /// Being resized (transitional).
        Updating => "STATE_UPDATING",
        /// Being deleted (transitional).
        Deleting => "STATE_DELETING",
        /// Failed.
        Failed => "STATE_FAILED",
    }
}

impl ClusterState {
    /// The name in CUDO's `Cluster.State` enum (`ACTIVE`), which is what
    /// the resource's JSON carries; strict clients reject the page's
    /// `STATE_ACTIVE` there.
    pub fn resource_name(self) -> &'static str {
        &self.as_str()["STATE_".len()..]
    }
}

/// A cluster: machines of one type in one data center.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cluster {
    /// The owning project.
    pub project_id: String,
    /// The client-chosen id, unique in the project.
    pub id: String,
    /// The data center.
    pub data_center_id: String,
    /// The machine type of every machine.
    pub machine_type_id: String,
    /// The number of machines (1 to the limit, 128 by default).
    pub machine_count: u32,
    /// The state.
    pub state: ClusterState,
    /// The transition under way, if any.
    pub pending: Option<Pending<ClusterState>>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
    /// Raised by every change.
    pub version: u64,
}

impl Cluster {
    /// The strong ETag, quotes included.
    pub fn etag(&self) -> String {
        etag(self.created_at, self.version)
    }
}

/// An SSH public key of a project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshKey {
    /// The owning project.
    pub project_id: String,
    /// The generated id (UUID-shaped).
    pub id: String,
    /// A display name (Gcore's `name`).
    pub name: String,
    /// The public key as given, one line: `type base64 [comment]`.
    pub public_key: String,
    /// OpenSSH's SHA-256 fingerprint: `SHA256:` and unpadded base64. Unique
    /// in the project.
    pub fingerprint: String,
    /// The key type, such as `ssh-ed25519`.
    pub key_type: String,
    /// The comment after the key, if any.
    pub comment: String,
    /// When it was added.
    pub created_at: Timestamp,
}

string_enum! {
    /// A private image's state, with CUDO's names (`PrivateImageState`).
    pub enum ImageState {
        /// Being imported (transitional).
        Creating => "CREATING",
        /// Usable.
        Ready => "READY",
        /// The import failed (for example, it missed its deadline).
        Failed => "FAILED",
        /// Being deleted (transitional).
        Deleting => "DELETING",
    }
}

/// A private image, made by an import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// The owning project.
    pub project_id: String,
    /// The client-chosen id, unique in the project.
    pub id: String,
    /// The data center that holds it.
    pub data_center_id: String,
    /// A description.
    pub description: String,
    /// Where it was imported from.
    pub source_url: String,
    /// Its size, GiB.
    pub size_gib: u32,
    /// The import operation.
    pub operation_id: String,
    /// The state.
    pub state: ImageState,
    /// The transition under way, if any.
    pub pending: Option<Pending<ImageState>>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
    /// Raised by every change.
    pub version: u64,
}

impl Image {
    /// The strong ETag, quotes included.
    pub fn etag(&self) -> String {
        etag(self.created_at, self.version)
    }
}

string_enum! {
    /// A long-running operation's state. Gcore's task states are `NEW`,
    /// `RUNNING`, `FINISHED` and `ERROR`, in this order.
    pub enum OperationState {
        /// Not started: its resources wait for an admin (manual mode).
        Pending => "PENDING",
        /// Under way: its resources reach their next state by the clock.
        Running => "RUNNING",
        /// Done: every resource settled.
        Succeeded => "SUCCEEDED",
        /// Done with an error: see [`Operation::error`].
        Failed => "FAILED",
    }
}

impl OperationState {
    /// Whether the operation is over.
    pub fn is_done(self) -> bool {
        matches!(self, OperationState::Succeeded | OperationState::Failed)
    }
}

/// A resource an operation works on, in the operation's project.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResourceRef {
    /// Its kind: a VM, disk, cluster or image (the kinds with states).
    pub kind: ResourceKind,
    /// Its id.
    pub id: String,
}

impl ResourceRef {
    /// A reference to a resource.
    pub fn new(kind: ResourceKind, id: impl Into<String>) -> ResourceRef {
        ResourceRef { kind, id: id.into() }
    }
}

/// A long-running operation: it is done when every resource it tracks has
/// settled, and fails when one of them fails or its deadline passes
/// first.
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    /// The generated id (UUID-shaped, as Gcore's task ids).
    pub id: String,
    /// The owning project.
    pub project_id: String,
    /// What it does, free-form: `IMPORT_IMAGE`, or what a surface chose
    /// (`create_vm`).
    pub kind: String,
    /// The resources it tracks (Gcore's `created_resources` for a create).
    pub resources: Vec<ResourceRef>,
    /// The state.
    pub state: OperationState,
    /// Why it failed, when it did.
    pub error: Option<Status>,
    /// When it must be done by, if ever.
    pub deadline_at: Option<Timestamp>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
    /// When it finished.
    pub finished_at: Option<Timestamp>,
    /// Raised by every change.
    pub version: u64,
}

impl Operation {
    /// Whether it is over.
    pub fn is_done(&self) -> bool {
        self.state.is_done()
    }

    /// The strong ETag, quotes included.
    pub fn etag(&self) -> String {
        etag(self.created_at, self.version)
    }
}

/// A GPU quota: how many GPUs of one model a project may hold in one data
/// center.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quota {
    /// The project.
    pub project_id: String,
    /// The data center.
    pub data_center_id: String,
    /// The GPU model.
    pub gpu_model_id: String,
    /// The limit, in GPUs.
    pub limit: u32,
    /// The GPUs held now by VMs and cluster machines (terminating ones do
    /// not count).
    pub used: u32,
}

impl Quota {
    /// The CUDO page's QuotaFailure subject:
    /// `projects/{p}/dataCenterIds/{dc}/gpuModelId:{model}`.
    pub fn subject(&self) -> String {
        format!("projects/{}/dataCenterIds/{}/gpuModelId:{}", self.project_id, self.data_center_id, self.gpu_model_id)
    }
}

/// A maintenance window of a data center: writes there fail with
/// UNAVAILABLE while it lasts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaintenanceWindow {
    /// The data center.
    pub data_center_id: String,
    /// When it starts.
    pub starts_at: Timestamp,
    /// When it ends.
    pub ends_at: Timestamp,
}

impl MaintenanceWindow {
    /// Whether it is under way at `now`.
    pub fn is_active(&self, now: Timestamp) -> bool {
        self.starts_at <= now && now < self.ends_at
    }
}

/// What [`Cloud::create_vm`](crate::Cloud::create_vm) needs. Sizes are
/// signed so that a negative one can be refused with the right error.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CreateVm {
    /// The client-chosen id (CUDO's `vmId`): 1 to 63 lower-case letters,
    /// digits and hyphens, starting and ending with a letter or digit.
    pub id: String,
    /// A display name; the id when `None`.
    pub name: Option<String>,
    /// The data center.
    pub data_center_id: String,
    /// The machine type.
    pub machine_type: String,
    /// Virtual CPUs, at most the machine type's; the type's when `None`.
    pub vcpus: Option<i64>,
    /// Memory in GiB, at most the machine type's; the type's when `None`.
    pub memory_gib: Option<i64>,
    /// GPUs, at most the machine type's; the type's when `None`.
    pub gpus: Option<i64>,
    /// The boot disk's size in GiB (20 at least); 20 when `None`.
    pub boot_disk_size_gib: Option<i64>,
    /// The boot image.
    pub boot_disk_image_id: Option<String>,
    /// SSH keys of the project to put on the VM.
    pub ssh_key_ids: Vec<String>,
    /// Free-form metadata.
    pub metadata: BTreeMap<String, String>,
}

/// What [`Cloud::resize_vm`](crate::Cloud::resize_vm) changes; `None`
/// keeps the current value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResizeVm {
    /// New virtual CPUs.
    pub vcpus: Option<i64>,
    /// New memory, GiB.
    pub memory_gib: Option<i64>,
}

/// What [`Cloud::create_disk`](crate::Cloud::create_disk) needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CreateDisk {
    /// The id, chosen by the client (CUDO) or generated when empty (Gcore).
    pub id: String,
    /// A display name; the id when `None`.
    pub name: Option<String>,
    /// The data center.
    pub data_center_id: String,
    /// The size in GiB: negative is INVALID_ARGUMENT, outside the limits
    /// OUT_OF_RANGE.
    pub size_gib: i64,
    /// The storage class; `standard` when `None`.
    pub storage_class: Option<String>,
}

/// What [`Cloud::create_cluster`](crate::Cloud::create_cluster) needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CreateCluster {
    /// The client-chosen id.
    pub id: String,
    /// The data center.
    pub data_center_id: String,
    /// The machine type of every machine (CUDO's `machineTypeId`).
    pub machine_type_id: String,
    /// The number of machines: 1 to 128 by default.
    pub machine_count: i64,
}

/// What [`Cloud::create_ssh_key`](crate::Cloud::create_ssh_key) needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CreateSshKey {
    /// A display name; the comment, else the fingerprint, when `None`.
    pub name: Option<String>,
    /// The OpenSSH public key line.
    pub public_key: String,
}

/// What [`Cloud::import_image`](crate::Cloud::import_image) needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportImage {
    /// The client-chosen id.
    pub id: String,
    /// The data center to import into.
    pub data_center_id: String,
    /// Where to import from.
    pub source_url: String,
    /// The image's size, GiB.
    pub size_gib: i64,
    /// A description.
    pub description: String,
    /// How long the import may take; the configured default when `None`.
    pub deadline: Option<std::time::Duration>,
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn etags_are_written_as_format_writes_them() {
        let times = [0, 1, 15, 16, 255, 1_700_000_000_000, -1, i64::MIN, i64::MAX];
        let versions = [0, 1, 9, 10, 99, 100, 12_345, u64::MAX];
        for millis in times {
            for version in versions {
                let expected = format!("\"{millis:x}-{version}\"");
                assert_eq!(etag(Timestamp::from_millis(millis), version), expected);
            }
        }
    }

    proptest! {
        #[test]
        fn any_etag_is_written_as_format_writes_it(millis: i64, version: u64) {
            prop_assert_eq!(etag(Timestamp::from_millis(millis), version), format!("\"{millis:x}-{version}\""));
        }
    }

    #[test]
    fn enums_round_trip_through_their_names() {
        for state in VmState::ALL {
            assert_eq!(state.as_str().parse::<VmState>(), Ok(*state));
        }
        for state in ClusterState::ALL {
            assert_eq!(state.as_str().parse::<ClusterState>(), Ok(*state));
        }
        let error = "RUNNING".parse::<VmState>().unwrap_err();
        assert_eq!(error.what(), "VmState");
        assert!(error.to_string().contains("ACTIVE"));
    }

    #[test]
    fn cluster_states_have_both_spellings() {
        assert_eq!(ClusterState::Active.as_str(), "STATE_ACTIVE");
        assert_eq!(ClusterState::Active.resource_name(), "ACTIVE");
        assert_eq!(ClusterState::Updating.resource_name(), "UPDATING");
    }

    #[test]
    fn etags_change_with_the_version_and_the_creation_time() {
        let a = etag(Timestamp::from_millis(1000), 1);
        assert_eq!(a, "\"3e8-1\"");
        assert_ne!(a, etag(Timestamp::from_millis(1000), 2));
        assert_ne!(a, etag(Timestamp::from_millis(1001), 1));
    }
}
