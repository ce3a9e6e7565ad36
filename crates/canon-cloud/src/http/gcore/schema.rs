//! The JSON of the Gcore surface: request bodies, resources as Gcore shows
//! them, lists, task id lists and the error envelope.
//!
//! Field names and required fields follow Gcore's OpenAPI document and
//! the `gcore` Python SDK's models (the fields those mark required are
//! always present). The domain's values map onto them as
//! [`model`](crate::model)'s table says: a region is a data center (`id`
//! is its `number`), a flavor a machine type (`ram` in MiB, `capacity` the
//! machines still free), a volume a disk, an instance a VM, a task an
//! operation.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::clock::Timestamp;
use crate::model::{
    DataCenter, Disk, DiskState, DiskType, MachineType, Operation, OperationState, Project, ResourceKind, SshKey, Vm,
    VmState,
};
use crate::naming;

/// Gcore's error envelope, the body of every error of this surface.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct GcoreError {
    /// The machine-readable error type: `ValidationError`,
    /// `NotFoundError`, `QuotaLimitExceed`, `ForbiddenError`,
    /// `HTTPError`, `ConflictError`, `not_authenticated`,
    /// `token_not_valid`, `PermissionDenied`, `Throttled`,
    /// `InternalError`...
    pub exception_class: String,
    /// A human-readable description.
    pub message: String,
    /// The request's id, the same as the `x-request-id` header.
    pub request_id: Option<String>,
    /// Extra structured data (quota numbers, the flavor out of capacity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub info: Option<serde_json::Map<String, Value>>,
    /// Field-level validation errors: field name to messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invalid_fields: Option<BTreeMap<String, Vec<String>>>,
}

/// Serde for a whole number of a JSON body that may be written as a
/// float with no fraction (`10.0`), which JSON Schema's `integer` allows
/// and some clients and fuzzers send.
mod whole_number {
    use std::fmt;

    use serde::Deserializer;
    use serde::de::{self, Visitor};

    struct Whole;

    impl Visitor<'_> for Whole {
        type Value = i64;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a whole number")
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<i64, E> {
            Ok(v)
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
            i64::try_from(v).map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
        }

        fn visit_f64<E: de::Error>(self, v: f64) -> Result<i64, E> {
            // 2^63 is exactly representable; every whole f64 below it fits.
            if v.fract() == 0.0 && v >= -(2f64.powi(63)) && v < 2f64.powi(63) {
                Ok(v as i64)
            } else {
                Err(E::invalid_value(de::Unexpected::Float(v), &self))
            }
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
        deserializer.deserialize_any(Whole)
    }

    pub(super) mod option {
        use serde::{Deserialize, Deserializer};

        #[derive(Deserialize)]
        struct Wrapped(#[serde(deserialize_with = "super::deserialize")] i64);

        pub(in super::super) fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Option<i64>, D::Error> {
            Ok(Option::<Wrapped>::deserialize(deserializer)?.map(|w| w.0))
        }
    }
}

/// `limit` and `offset` of every list.
#[derive(Debug, Clone, Copy, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// The most items to return: 1 to 1000 (all when absent).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// How many items to skip.
    #[param(minimum = 0, maximum = 2147483647)]
    pub offset: Option<u32>,
}

/// The ids of the tasks a write started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = GcoreTaskIdList)]
pub struct TaskIdList {
    /// Task ids, to poll at `/cloud/v1/tasks/{task_id}`.
    pub tasks: Vec<String>,
}

macro_rules! list_type {
    ($( $(#[$doc:meta])* $name:ident as $schema:ident of $item:ty ),* $(,)?) => {
        $(
            $(#[$doc])*
            #[derive(Debug, Clone, Serialize, ToSchema)]
            #[schema(as = $schema)]
            pub struct $name {
                /// The number of items in the whole list, not only this page.
                pub count: usize,
                /// This page's items.
                pub results: Vec<$item>,
            }

            impl From<(usize, Vec<$item>)> for $name {
                fn from((count, results): (usize, Vec<$item>)) -> $name {
                    $name { count, results }
                }
            }
        )*
    };
}

list_type! {
    /// A page of projects.
    ProjectList as GcoreProjectList of GcoreProject,
    /// A page of regions.
    RegionList as GcoreRegionList of Region,
    /// A page of flavors.
    FlavorList as GcoreFlavorList of Flavor,
    /// A page of SSH keys.
    SshKeyList as GcoreSshKeyList of GcoreSshKey,
    /// A page of volumes.
    VolumeList as GcoreVolumeList of Volume,
    /// A page of instances.
    InstanceList as GcoreInstanceList of Instance,
    /// A page of tasks.
    TaskList as GcoreTaskList of Task,
}

fn time(t: Timestamp) -> String {
    t.to_rfc3339()
}

/// A project.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GcoreProject {
    /// The integer id.
    pub id: i64,
    /// The client (account) id: the emulator's project number.
    pub client_id: i64,
    /// The name.
    pub name: String,
    /// A description.
    pub description: Option<String>,
    /// Whether this is the client's default project (every key sees one).
    pub is_default: bool,
    /// `ACTIVE`.
    pub state: String,
    /// When it was created.
    pub created_at: String,
    /// When it was deleted.
    pub deleted_at: Option<String>,
    /// The task holding a lock on it.
    pub task_id: Option<String>,
}

impl GcoreProject {
    /// A domain project as Gcore shows it.
    pub fn from_domain(project: &Project) -> GcoreProject {
        GcoreProject {
            id: project.number,
            client_id: project.number,
            name: project.name.clone(),
            description: None,
            is_default: true,
            state: "ACTIVE".to_owned(),
            created_at: time(project.created_at),
            deleted_at: None,
            task_id: None,
        }
    }
}

/// A region's coordinates, as strings.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = GcoreCoordinates)]
pub struct Coordinates {
    /// Latitude.
    pub latitude: String,
    /// Longitude.
    pub longitude: String,
}

/// A region: a data center.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = GcoreRegion)]
pub struct Region {
    /// The integer id (the data center's number).
    pub id: i64,
    /// The display name.
    pub display_name: String,
    /// The slug: the data center's string id.
    pub slug: String,
    /// The keystone id (the number again).
    pub keystone_id: i64,
    /// The keystone name (the string id).
    pub keystone_name: String,
    /// ISO 3166 alpha-2 country code.
    pub country: String,
    /// `core`.
    pub access_level: String,
    /// `public`.
    pub endpoint_type: String,
    /// `ACTIVE`, or `MAINTENANCE` during a maintenance window.
    pub state: String,
    /// Coordinates.
    pub coordinates: Coordinates,
    /// Volume types: `standard`.
    pub available_volume_types: Vec<String>,
    /// The physical network name.
    pub vlan_physical_network: String,
    /// The zone: `EMEA` for every seeded data center.
    pub zone: Option<String>,
    /// Whether it has AI clusters.
    pub has_ai: bool,
    /// Whether it has GPU AI clusters.
    pub has_ai_gpu: bool,
    /// Whether it has bare metal.
    pub has_baremetal: bool,
    /// Whether it has basic VMs.
    pub has_basic_vm: bool,
    /// Whether it has DBaaS.
    pub has_dbaas: bool,
    /// Whether it has DDoS protection.
    pub has_ddos: bool,
    /// Whether it has managed Kubernetes.
    pub has_k8s: bool,
    /// Whether it has KVM virtual machines.
    pub has_kvm: bool,
    /// Whether it has file shares.
    pub has_sfs: bool,
    /// The catalog keeps no creation time: the epoch.
    pub created_at: String,
    /// The same as `created_at`.
    pub created_on: String,
    /// The external network.
    pub external_network_id: Option<String>,
    /// The task holding a lock on it.
    pub task_id: Option<String>,
}

impl Region {
    /// A data center as a Gcore region.
    pub fn from_domain(dc: &DataCenter, in_maintenance: bool) -> Region {
        let epoch = time(Timestamp::from_millis(0));
        Region {
            id: dc.number,
            display_name: dc.display_name.clone(),
            slug: dc.id.clone(),
            keystone_id: dc.number,
            keystone_name: dc.id.clone(),
            country: dc.country.clone(),
            access_level: "core".to_owned(),
            endpoint_type: "public".to_owned(),
            state: if in_maintenance { "MAINTENANCE" } else { "ACTIVE" }.to_owned(),
            coordinates: Coordinates { latitude: dc.latitude.to_string(), longitude: dc.longitude.to_string() },
            available_volume_types: vec!["standard".to_owned()],
            vlan_physical_network: "physnet1".to_owned(),
            zone: Some("EMEA".to_owned()),
            has_ai: false,
            has_ai_gpu: true,
            has_baremetal: false,
            has_basic_vm: true,
            has_dbaas: false,
            has_ddos: false,
            has_k8s: false,
            has_kvm: true,
            has_sfs: false,
            created_at: epoch.clone(),
            created_on: epoch,
            external_network_id: None,
            task_id: None,
        }
    }
}

/// A flavor: a machine type of the region, with its free capacity.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = GcoreFlavor)]
pub struct Flavor {
    /// The id: the machine type's.
    pub flavor_id: String,
    /// The name: the machine type's id.
    pub flavor_name: String,
    /// `x86_64`.
    pub architecture: String,
    /// `linux`.
    pub os_type: String,
    /// Virtual CPUs.
    pub vcpus: u32,
    /// Memory, MiB.
    pub ram: u64,
    /// Whether the flavor is disabled: never.
    pub disabled: bool,
    /// How many more instances of the flavor the region can hold now.
    pub capacity: u32,
    /// `cpu`, `gpu`, `ram`, `vcpus`, as text.
    pub hardware_description: BTreeMap<String, String>,
}

impl Flavor {
    /// A machine type as a Gcore flavor; `gpu_model` is the GPU model's
    /// name, when it has GPUs.
    pub fn from_domain(mt: &MachineType, gpu_model: Option<&str>) -> Flavor {
        let mut hardware = BTreeMap::new();
        hardware.insert("cpu".to_owned(), mt.cpu_model.clone());
        hardware.insert("vcpus".to_owned(), format!("{} vCPU", mt.vcpus));
        hardware.insert("ram".to_owned(), format!("{} GiB", mt.memory_gib));
        if mt.gpus > 0 {
            hardware.insert("gpu".to_owned(), format!("{}x {}", mt.gpus, gpu_model.unwrap_or("GPU")));
        }
        Flavor {
            flavor_id: mt.id.clone(),
            flavor_name: mt.id.clone(),
            architecture: "x86_64".to_owned(),
            os_type: "linux".to_owned(),
            vcpus: mt.vcpus,
            ram: u64::from(mt.memory_gib) * 1024,
            disabled: false,
            capacity: mt.free(),
            hardware_description: hardware,
        }
    }
}

/// A new SSH key.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[schema(as = GcoreCreateSshKeyBody)]
pub struct CreateSshKeyBody {
    /// The name.
    #[schema(min_length = 1, max_length = 255, pattern = "\\S")]
    pub name: String,
    /// The OpenSSH public key. The emulator makes no key pairs: it is
    /// required here.
    #[schema(value_type = String, required = true)]
    pub public_key: Option<String>,
    /// Whether the key is shared in the project (always, in the emulator).
    #[serde(default)]
    pub shared_in_project: Option<bool>,
}

/// An SSH key.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GcoreSshKey {
    /// The id.
    pub id: String,
    /// The name.
    pub name: String,
    /// The public key.
    pub public_key: String,
    /// The fingerprint (OpenSSH SHA-256).
    pub fingerprint: String,
    /// The project's integer id.
    pub project_id: i64,
    /// Whether it is shared in the project: always.
    pub shared_in_project: bool,
    /// `ACTIVE`.
    pub state: String,
    /// When it was added.
    pub created_at: String,
    /// The private key of a generated pair: never, the emulator generates
    /// none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub private_key: Option<String>,
}

impl GcoreSshKey {
    /// A domain SSH key as Gcore shows it.
    pub fn from_domain(key: &SshKey, project_number: i64) -> GcoreSshKey {
        GcoreSshKey {
            id: key.id.clone(),
            name: key.name.clone(),
            public_key: key.public_key.clone(),
            fingerprint: key.fingerprint.clone(),
            project_id: project_number,
            shared_in_project: true,
            state: "ACTIVE".to_owned(),
            created_at: time(key.created_at),
            private_key: None,
        }
    }
}

/// Where a new volume comes from: the emulator makes new, empty ones
/// only (Gcore also makes them from images and snapshots).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[schema(as = GcoreVolumeSource)]
pub enum VolumeSource {
    /// A new, empty volume.
    #[serde(rename = "new-volume")]
    NewVolume,
}

/// A new volume.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[schema(as = GcoreCreateVolumeBody)]
pub struct CreateVolumeBody {
    /// The name.
    pub name: String,
    /// Where the volume comes from.
    pub source: VolumeSource,
    /// The size, GiB (the emulator's default limits: 10 to 65536).
    #[schema(minimum = 10, maximum = 65536)]
    #[serde(deserialize_with = "whole_number::deserialize")]
    pub size: i64,
    /// The volume type, such as `standard` (the default) or `ssd_hiiops`.
    #[schema(pattern = "^[a-z0-9_-]{1,63}$")]
    pub type_name: Option<String>,
}

/// A new size for a volume.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[schema(as = GcoreExtendVolumeBody)]
pub struct ExtendVolumeBody {
    /// The new size, GiB: at least the current one.
    #[schema(minimum = 10, maximum = 65536)]
    #[serde(deserialize_with = "whole_number::deserialize")]
    pub size: i64,
}

/// A tag.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = GcoreTag)]
pub struct Tag {
    /// The key.
    pub key: String,
    /// The value.
    pub value: String,
    /// Whether it is read-only: never.
    pub read_only: bool,
}

/// A volume's attachment to an instance.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = GcoreVolumeAttachment)]
pub struct VolumeAttachment {
    /// The attachment's id: the volume's.
    pub attachment_id: String,
    /// The volume.
    pub volume_id: String,
    /// The instance.
    pub server_id: String,
    /// When it was attached.
    pub attached_at: String,
}

/// A volume: a disk.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = GcoreVolume)]
pub struct Volume {
    /// The id.
    pub id: String,
    /// The name.
    pub name: String,
    /// The size, GiB.
    pub size: u32,
    /// `creating`, `available`, `in-use`, `extending`, `deleting`, `error`...
    pub status: String,
    /// The volume type: the disk's storage class.
    pub volume_type: String,
    /// Whether it is an instance's boot volume.
    pub bootable: bool,
    /// The same.
    pub is_root_volume: bool,
    /// The project's integer id.
    pub project_id: i64,
    /// The region's integer id.
    pub region_id: i64,
    /// The region's display name.
    pub region: String,
    /// Tags: none.
    pub tags: Vec<Tag>,
    /// Its attachment, if attached.
    pub attachments: Vec<VolumeAttachment>,
    /// When it was created.
    pub created_at: String,
    /// When it last changed.
    pub updated_at: String,
}

/// A disk state as a Gcore volume status.
pub fn volume_status(state: DiskState) -> &'static str {
    match state {
        DiskState::Creating | DiskState::Cloning => "creating",
        DiskState::Ready => "available",
        DiskState::Attached => "in-use",
        DiskState::Updating => "extending",
        DiskState::Deleting => "deleting",
        DiskState::Disabled => "maintenance",
        DiskState::Failed | DiskState::Unknown => "error",
    }
}

impl Volume {
    /// A disk as a Gcore volume.
    pub fn from_domain(disk: &Disk, project_number: i64, dc: &DataCenter) -> Volume {
        Volume {
            id: disk.id.clone(),
            name: disk.name.clone(),
            size: disk.size_gib,
            status: volume_status(disk.state).to_owned(),
            volume_type: disk.storage_class.clone(),
            bootable: disk.disk_type == DiskType::Boot,
            is_root_volume: disk.disk_type == DiskType::Boot,
            project_id: project_number,
            region_id: dc.number,
            region: dc.display_name.clone(),
            tags: Vec::new(),
            attachments: disk
                .attachment
                .iter()
                .map(|a| VolumeAttachment {
                    attachment_id: disk.id.clone(),
                    volume_id: disk.id.clone(),
                    server_id: a.vm_id.clone(),
                    attached_at: time(a.attached_at),
                })
                .collect(),
            created_at: time(disk.created_at),
            updated_at: time(disk.updated_at),
        }
    }
}

/// A network interface of a new instance.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[schema(as = GcoreInterfaceBody)]
pub struct InterfaceBody {
    /// `external`, `subnet`, `any_subnet` or `reserved_fixed_ip`.
    #[serde(rename = "type")]
    pub interface_type: String,
}

/// A volume of a new instance: the emulator makes one, the boot volume.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[schema(as = GcoreInstanceVolumeBody)]
pub struct InstanceVolumeBody {
    /// `new-volume` or `image`.
    #[schema(pattern = "^(new-volume|image)$")]
    pub source: String,
    /// The size, GiB (20 at least); 20 when absent.
    #[schema(minimum = 20, maximum = 65536)]
    #[serde(default, deserialize_with = "whole_number::option::deserialize")]
    pub size: Option<i64>,
    /// The image, for `source: image`.
    pub image_id: Option<String>,
    /// The boot order; the boot volume is `0`.
    #[serde(default, deserialize_with = "whole_number::option::deserialize")]
    pub boot_index: Option<i64>,
    /// The volume's name.
    pub name: Option<String>,
    /// The volume type.
    pub type_name: Option<String>,
}

/// A new instance (Gcore's v2 create).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[schema(as = GcoreCreateInstanceBody)]
pub struct CreateInstanceBody {
    /// The flavor: a machine type of the region.
    pub flavor: String,
    /// The network interfaces: at least one.
    #[schema(min_items = 1)]
    pub interfaces: Vec<InterfaceBody>,
    /// The volumes: exactly one, the boot volume.
    #[schema(min_items = 1, max_items = 1)]
    pub volumes: Vec<InstanceVolumeBody>,
    /// The name. A client with name templates must match one.
    pub name: Option<String>,
    /// A name template, filled in from the instance's address. A client
    /// with name templates must use one of its own.
    pub name_template: Option<String>,
    /// The name of a project SSH key to put on the instance.
    pub ssh_key_name: Option<String>,
    /// Tags, kept as the instance's metadata.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// An instance's flavor.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = GcoreInstanceFlavor)]
pub struct InstanceFlavor {
    /// The id.
    pub flavor_id: String,
    /// The name.
    pub flavor_name: String,
    /// `x86_64`.
    pub architecture: String,
    /// `linux`.
    pub os_type: String,
    /// Virtual CPUs.
    pub vcpus: u32,
    /// Memory, MiB.
    pub ram: u64,
    /// `ram` and `vcpus`, as text.
    pub hardware_description: BTreeMap<String, String>,
}

/// An address of an instance.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = GcoreAddress)]
pub struct Address {
    /// The address.
    pub addr: String,
    /// `fixed`.
    #[serde(rename = "type")]
    pub address_type: String,
    /// The interface.
    pub interface_name: Option<String>,
}

/// An instance's volume.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = GcoreInstanceVolume)]
pub struct InstanceVolume {
    /// The volume.
    pub id: String,
    /// Whether it goes with the instance: the boot volume does.
    pub delete_on_termination: bool,
}

/// A security group's name.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = GcoreSecurityGroup)]
pub struct SecurityGroup {
    /// `default`.
    pub name: String,
}

/// An instance: a VM.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = GcoreInstance)]
pub struct Instance {
    /// The id.
    pub id: String,
    /// The name (a template's placeholders filled in from its address).
    pub name: String,
    /// `BUILD`, `ACTIVE`, `SHUTOFF`, `RESIZE`, `DELETED`, `ERROR`...
    pub status: String,
    /// `building`, `active`, `stopped`, `deleted`, `error`...
    pub vm_state: String,
    /// What it is doing: `spawning`, `powering-off`, `deleting`..., or
    /// nothing.
    pub task_state: Option<String>,
    /// Its flavor.
    pub flavor: InstanceFlavor,
    /// Addresses by network: `public` and `private`.
    pub addresses: BTreeMap<String, Vec<Address>>,
    /// Its volumes, the boot volume first.
    pub volumes: Vec<InstanceVolume>,
    /// The name of its first SSH key.
    pub ssh_key_name: Option<String>,
    /// Tags: the VM's metadata.
    pub tags: Vec<Tag>,
    /// Security groups: `default`.
    pub security_groups: Vec<SecurityGroup>,
    /// Blackholed ports: none.
    pub blackhole_ports: Vec<Value>,
    /// The project's integer id.
    pub project_id: i64,
    /// The region's integer id.
    pub region_id: i64,
    /// The region's display name.
    pub region: String,
    /// When it was created.
    pub created_at: String,
    /// The task holding a lock on it.
    pub task_id: Option<String>,
}

/// A VM state as Gcore's `status`, `vm_state` and `task_state`.
pub fn instance_status(state: VmState) -> (&'static str, &'static str, Option<&'static str>) {
    match state {
        VmState::Pending => ("BUILD", "building", Some("spawning")),
        VmState::Active => ("ACTIVE", "active", None),
        VmState::Stopping => ("ACTIVE", "active", Some("powering-off")),
        VmState::Stopped => ("SHUTOFF", "stopped", None),
        VmState::Starting => ("SHUTOFF", "stopped", Some("powering-on")),
        VmState::Resizing => ("RESIZE", "active", Some("resize_prep")),
        VmState::Deleting => ("ACTIVE", "active", Some("deleting")),
        VmState::Deleted => ("DELETED", "deleted", None),
        VmState::Failed | VmState::Unknown => ("ERROR", "error", None),
        VmState::Suspended => ("SUSPENDED", "suspended", None),
        VmState::Suspending => ("ACTIVE", "active", Some("suspending")),
        VmState::Migrating => ("MIGRATING", "active", Some("migrating")),
        VmState::Recreating => ("REBUILD", "active", Some("rebuilding")),
        VmState::Cloning => ("ACTIVE", "active", Some("cloning")),
        VmState::CreatingSnapshot => ("ACTIVE", "active", Some("image_snapshot")),
        VmState::DeletingSnapshot => ("ACTIVE", "active", Some("deleting_snapshot")),
        VmState::RevertingSnapshot => ("ACTIVE", "active", Some("reverting_snapshot")),
        VmState::Hotplugging => ("ACTIVE", "active", Some("hotplugging")),
        VmState::ResizingDisk => ("ACTIVE", "active", Some("resizing_disk")),
    }
}

impl Instance {
    /// A VM as a Gcore instance; `storage` are the ids of the storage disks
    /// attached to it, `ssh_key_name` the name of its first SSH key.
    pub fn from_domain(
        vm: &Vm,
        project_number: i64,
        dc: &DataCenter,
        storage: Vec<String>,
        ssh_key_name: Option<String>,
    ) -> Instance {
        let (status, vm_state, task_state) = instance_status(vm.state);
        let mut hardware = BTreeMap::new();
        hardware.insert("vcpus".to_owned(), format!("{} vCPU", vm.vcpus));
        hardware.insert("ram".to_owned(), format!("{} GiB", vm.memory_gib));
        if let Some(gpu) = &vm.gpu_model {
            hardware.insert("gpu".to_owned(), format!("{}x {gpu}", vm.gpu_quantity));
        }
        let address = |addr: &str, interface: &str| Address {
            addr: addr.to_owned(),
            address_type: "fixed".to_owned(),
            interface_name: Some(interface.to_owned()),
        };
        let mut addresses = BTreeMap::new();
        addresses.insert("public".to_owned(), vec![address(&vm.external_ip, "eth0")]);
        addresses.insert("private".to_owned(), vec![address(&vm.internal_ip, "eth1")]);
        let mut volumes = vec![InstanceVolume { id: vm.boot_disk_id.clone(), delete_on_termination: true }];
        volumes.extend(storage.into_iter().map(|id| InstanceVolume { id, delete_on_termination: false }));
        let name = if naming::has_placeholder(&vm.name) {
            naming::expand_template(&vm.name, &vm.internal_ip)
        } else {
            vm.name.clone()
        };
        Instance {
            id: vm.id.clone(),
            name,
            status: status.to_owned(),
            vm_state: vm_state.to_owned(),
            task_state: task_state.map(str::to_owned),
            flavor: InstanceFlavor {
                flavor_id: vm.machine_type.clone(),
                flavor_name: vm.machine_type.clone(),
                architecture: "x86_64".to_owned(),
                os_type: "linux".to_owned(),
                vcpus: vm.vcpus,
                ram: u64::from(vm.memory_gib) * 1024,
                hardware_description: hardware,
            },
            addresses,
            volumes,
            ssh_key_name,
            tags: vm
                .metadata
                .iter()
                .map(|(key, value)| Tag { key: key.clone(), value: value.clone(), read_only: false })
                .collect(),
            security_groups: vec![SecurityGroup { name: "default".to_owned() }],
            blackhole_ports: Vec::new(),
            project_id: project_number,
            region_id: dc.number,
            region: dc.display_name.clone(),
            created_at: time(vm.created_at),
            task_id: None,
        }
    }
}

/// The resources a task created, by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = GcoreCreatedResources)]
pub struct CreatedResources {
    /// Instances.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub instances: Vec<String>,
    /// Volumes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<String>,
    /// Images.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<String>,
    /// Clusters.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub clusters: Vec<String>,
}

/// A task's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = GcoreTaskState)]
#[serde(rename_all = "UPPERCASE")]
pub enum TaskState {
    /// Waiting to start: its resources wait for an admin (manual
    /// transitions).
    New,
    /// Under way: its resources move by the emulator's clock.
    Running,
    /// Done.
    Finished,
    /// Failed: see `error`.
    Error,
}

impl TaskState {
    /// An operation's state as a task's.
    pub fn from_domain(state: OperationState) -> TaskState {
        match state {
            OperationState::Pending => TaskState::New,
            OperationState::Running => TaskState::Running,
            OperationState::Succeeded => TaskState::Finished,
            OperationState::Failed => TaskState::Error,
        }
    }
}

/// A task: an operation.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = GcoreTask)]
pub struct Task {
    /// The id.
    pub id: String,
    /// What it does: `create_vm`, `create_volume`, `extend_volume`,
    /// `delete_vm`, `delete_volume`, or the CUDO surface's `IMPORT_IMAGE`.
    pub task_type: String,
    /// `NEW`, `RUNNING`, `FINISHED` or `ERROR`.
    pub state: TaskState,
    /// What it creates or created (a creating task only).
    pub created_resources: Option<CreatedResources>,
    /// Why it failed.
    pub error: Option<String>,
    /// The project's integer id.
    pub project_id: i64,
    /// The client's id: the project's number.
    pub client_id: i64,
    /// The user: the emulator has one, `0`.
    pub user_id: i64,
    /// When it was created.
    pub created_on: String,
    /// When it last changed.
    pub updated_on: String,
    /// When it finished.
    pub finished_on: Option<String>,
    /// When it was acknowledged: never.
    pub acknowledged_at: Option<String>,
}

/// Whether a task of this type creates what it tracks.
pub fn creates(task_type: &str) -> bool {
    task_type.starts_with("create_") || task_type == "IMPORT_IMAGE"
}

impl Task {
    /// An operation as a Gcore task.
    pub fn from_domain(op: &Operation, project_number: i64) -> Task {
        let state = TaskState::from_domain(op.state);
        let created_resources = creates(&op.kind).then(|| {
            let mut created = CreatedResources::default();
            for resource in &op.resources {
                let list = match resource.kind {
                    ResourceKind::Vm => &mut created.instances,
                    ResourceKind::Disk => &mut created.volumes,
                    ResourceKind::Image => &mut created.images,
                    ResourceKind::Cluster => &mut created.clusters,
                    _ => continue,
                };
                list.push(resource.id.clone());
            }
            created
        });
        Task {
            id: op.id.clone(),
            task_type: op.kind.clone(),
            state,
            created_resources,
            error: op.error.as_ref().map(|e| e.message().to_owned()),
            project_id: project_number,
            client_id: project_number,
            user_id: 0,
            created_on: time(op.created_at),
            updated_on: time(op.updated_at),
            finished_on: op.finished_at.map(time),
            acknowledged_at: None,
        }
    }
}

/// A region's quota usage and limits, `{name}_limit` and `{name}_usage`
/// for each GPU quota of the project there (`gpu_virtual_a100_count`).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = GcoreRegionalQuota)]
pub struct RegionalQuota {
    /// The region's integer id.
    pub region_id: i64,
    /// The pairs.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub values: BTreeMap<String, u64>,
}

/// Quotas that span regions: none in the emulator.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
#[schema(as = GcoreGlobalQuotas)]
pub struct GlobalQuotas {}

/// The client's quotas.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = GcoreClientQuotas)]
pub struct ClientQuotas {
    /// Quotas that span regions.
    pub global_quotas: GlobalQuotas,
    /// Quotas by region.
    pub regional_quotas: Vec<RegionalQuota>,
}

/// The naming restrictions of the client's instances.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = GcoreAvailableNames)]
pub struct AvailableNames {
    /// Whether instances may be named freely: when the client has no
    /// templates.
    pub custom_name_allowed: bool,
    /// Whether names are held to the templates.
    pub name_templates_limited: bool,
    /// The templates.
    pub allowed_name_templates: Vec<String>,
    /// Bare metal templates: the same.
    pub allowed_bm_name_templates: Vec<String>,
    /// Windows templates: the same.
    pub allowed_name_win_templates: Vec<String>,
    /// Windows bare metal templates: the same.
    pub allowed_bm_name_win_templates: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_may_be_whole_floats_but_nothing_else() {
        let table = [
            (r#"{"size": 20}"#, Ok(20)),
            (r#"{"size": 20.0}"#, Ok(20)),
            (r#"{"size": -3.0}"#, Ok(-3)),
            (r#"{"size": 20.5}"#, Err(())),
            (r#"{"size": "20"}"#, Err(())),
            (r#"{"size": 1e300}"#, Err(())),
        ];
        for (json, expected) in table {
            let parsed = serde_json::from_str::<ExtendVolumeBody>(json).map(|b| b.size).map_err(|_| ());
            assert_eq!(parsed, expected, "{json}");
        }
        let volume: InstanceVolumeBody = serde_json::from_str(r#"{"source": "image", "size": 30.0}"#).unwrap();
        assert_eq!((volume.size, volume.boot_index), (Some(30), None));
    }
}
