//! CUDO's JSON for the domain's resources: camelCase, the field names of
//! CUDO's OpenAPI document and of its `cudo-compute` SDK (whose models
//! refuse a response that lacks a required field).
//!
//! Where the two disagree, both are served: a VM's data center is
//! `datacenterId` (as CUDO spells it there), a VM data center carries the
//! SDK's `regionId` and the document's `location` and `s3Endpoint`.
//! Prices come from [`super::pricing`].

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Serialize;
use utoipa::ToSchema;
use utoipa::openapi::schema::{ObjectBuilder, Type};

use super::pricing::{self, Decimal};
use crate::catalog;
use crate::clock::Timestamp;
use crate::model::{
    Cluster, ClusterState, DataCenter, Disk, DiskState, DiskType, GpuModel, ListedDisk, ListedVm, MachineType, Project,
    SshKey, Vm, VmState,
};

/// CUDO's commitment term of everything the emulator makes.
pub const NO_COMMITMENT: &str = "COMMITMENT_TERM_NONE";

fn string_enum(values: impl IntoIterator<Item = &'static str>) -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String).enum_values(Some(values))
}

fn vm_state_schema() -> ObjectBuilder {
    string_enum(VmState::ALL.iter().map(|s| s.as_str()))
}

fn disk_state_schema() -> ObjectBuilder {
    string_enum(DiskState::ALL.iter().map(|s| s.as_str()))
}

fn disk_type_schema() -> ObjectBuilder {
    string_enum(DiskType::ALL.iter().map(|s| s.as_str()))
}

fn cluster_state_schema() -> ObjectBuilder {
    string_enum(ClusterState::ALL.iter().map(|s| s.resource_name()))
}

fn commitment_schema() -> ObjectBuilder {
    string_enum([NO_COMMITMENT])
}

/// The empty object CUDO answers most writes with.
#[derive(Debug, Clone, Copy, Default, Serialize, ToSchema)]
pub struct Empty {}

/// A project.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Project)]
pub struct ProjectJson {
    /// The project's id.
    pub id: String,
    /// Its billing account.
    pub billing_account_id: String,
}

impl From<Project> for ProjectJson {
    fn from(project: Project) -> ProjectJson {
        ProjectJson { id: project.id, billing_account_id: project.billing_account_id }
    }
}

/// A point on the globe, as CUDO's data centers give it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Point {
    /// Latitude in degrees.
    pub lat: f64,
    /// Longitude in degrees.
    pub lng: f64,
}

/// A point on the globe (google.type.LatLng).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LatLng {
    /// Latitude in degrees.
    pub latitude: f64,
    /// Longitude in degrees.
    pub longitude: f64,
}

/// A data center, as `/v1/data-centers` lists it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = V1DataCenter)]
pub struct DataCenterJson {
    /// The id, such as `gb-bournemouth-1`.
    pub id: String,
    /// The region: the country code in lower case.
    pub region_id: String,
    /// The operator of the site.
    pub supplier_name: String,
    /// Whether the site runs on renewable energy.
    pub renewable_energy: bool,
    /// Where it is.
    pub lng_lat: Point,
    /// CUDO's internal frontend id; the emulator's is `frontend-{number}`.
    pub one_frontend_id: String,
    /// The S3 endpoint; the emulator's are under `.canon.invalid`.
    pub s3_endpoint: String,
}

fn s3_endpoint(dc: &DataCenter) -> String {
    format!("https://s3.{}.canon.invalid", dc.id)
}

impl From<&DataCenter> for DataCenterJson {
    fn from(dc: &DataCenter) -> DataCenterJson {
        DataCenterJson {
            id: dc.id.clone(),
            region_id: dc.country.to_ascii_lowercase(),
            supplier_name: dc.supplier_name.clone(),
            renewable_energy: dc.renewable_energy,
            lng_lat: Point { lat: dc.latitude, lng: dc.longitude },
            one_frontend_id: format!("frontend-{}", dc.number),
            s3_endpoint: s3_endpoint(dc),
        }
    }
}

/// A data center, as `/v1/vms/data-centers` lists it for VMs.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = VMDataCenter)]
pub struct VmDataCenterJson {
    /// The id.
    pub id: String,
    /// The region: the country code in lower case.
    pub region_id: String,
    /// The operator of the site.
    pub supplier_name: String,
    /// Whether the site runs on renewable energy.
    pub renewable_energy: bool,
    /// Free IPv4 addresses: one for each free machine.
    pub ipv4_free: u32,
    /// The price of an IPv4 address.
    pub ipv4_price_hr: Decimal,
    /// The S3 endpoint.
    pub s3_endpoint: String,
    /// Where it is.
    pub location: LatLng,
}

impl VmDataCenterJson {
    /// The data center with the free machines of its types.
    pub fn new(dc: &DataCenter, machine_types: &[MachineType]) -> VmDataCenterJson {
        let free = machine_types.iter().filter(|mt| mt.data_center_id == dc.id).map(MachineType::free).sum();
        VmDataCenterJson {
            id: dc.id.clone(),
            region_id: dc.country.to_ascii_lowercase(),
            supplier_name: dc.supplier_name.clone(),
            renewable_energy: dc.renewable_energy,
            ipv4_free: free,
            ipv4_price_hr: Decimal::from_micros(pricing::IPV4),
            s3_endpoint: s3_endpoint(dc),
            location: LatLng { latitude: dc.latitude, longitude: dc.longitude },
        }
    }
}

/// A machine type of a data center, with its hosts (the data center
/// view of `/v1/data-centers/{id}/machine-types`). Each machine is a host:
/// active when taken, inactive when free.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = DataCenterMachineType)]
pub struct DataCenterMachineTypeJson {
    /// The machine type's id.
    pub machine_type: String,
    /// Host clusters: one per machine type.
    pub count_clusters: u32,
    /// Hosts: the capacity.
    pub count_hosts: u32,
    /// Hosts in use.
    pub count_hosts_active: u32,
    /// Hosts free.
    pub count_hosts_inactive: u32,
}

impl From<&MachineType> for DataCenterMachineTypeJson {
    fn from(mt: &MachineType) -> DataCenterMachineTypeJson {
        DataCenterMachineTypeJson {
            machine_type: mt.id.clone(),
            count_clusters: 1,
            count_hosts: mt.capacity,
            count_hosts_active: mt.in_use.min(mt.capacity),
            count_hosts_inactive: mt.free(),
        }
    }
}

/// One machine type in detail (`/v1/data-centers/{id}/machine-types/{id}`).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = GetMachineTypeResponse)]
pub struct MachineTypeDetailJson {
    /// The data center.
    pub data_center_id: String,
    /// The machine type's id.
    pub machine_type: String,
    /// Its CPU model.
    pub cpu_models: Vec<String>,
    /// Its GPU model's name, if any.
    pub gpu_models: Vec<String>,
    /// The price of a vCPU.
    pub min_vcpu_price_hr: Decimal,
    /// The price of a vCPU.
    pub max_vcpu_price_hr: Decimal,
    /// The price of a GiB of memory.
    pub min_memory_gib_price_hr: Decimal,
    /// The price of a GiB of memory.
    pub max_memory_gib_price_hr: Decimal,
    /// The price of a GPU.
    pub min_gpu_price_hr: Decimal,
    /// The price of a GPU.
    pub max_gpu_price_hr: Decimal,
    /// The fewest vCPUs per GiB a VM of this type can have.
    pub min_vcpu_per_memory_gib: f64,
    /// The most vCPUs per GiB.
    pub max_vcpu_per_memory_gib: f64,
    /// The fewest vCPUs per GPU (0 without GPUs).
    pub min_vcpu_per_gpu: f64,
    /// The most vCPUs per GPU (0 without GPUs).
    pub max_vcpu_per_gpu: f64,
    /// Host clusters: one.
    pub count_clusters: u32,
    /// Hosts: the capacity.
    pub count_hosts: u32,
    /// Hosts in use.
    pub count_hosts_active: u32,
    /// Hosts free.
    pub count_hosts_inactive: u32,
    /// The fewest vCPUs a VM of this type can have.
    pub min_vcpu: f64,
    /// The least memory, GiB.
    pub min_memory_gib: f64,
}

/// vCPU ratios of a machine type: (per GiB min, max, per GPU min, max).
fn ratios(mt: &MachineType) -> (f64, f64, f64, f64) {
    let (vcpus, memory, gpus) = (f64::from(mt.vcpus), f64::from(mt.memory_gib.max(1)), f64::from(mt.gpus));
    let per_gpu = if mt.gpus == 0 { (0.0, 0.0) } else { (1.0 / gpus, vcpus / gpus) };
    (1.0 / memory, vcpus, per_gpu.0, per_gpu.1)
}

fn gpu_model_name(id: Option<&str>) -> Option<String> {
    let id = id?;
    catalog::gpu_models().into_iter().find(|g| g.id == id).map(|g| g.model_name)
}

impl From<&MachineType> for MachineTypeDetailJson {
    fn from(mt: &MachineType) -> MachineTypeDetailJson {
        let (min_mem, max_mem, min_gpu, max_gpu) = ratios(mt);
        let gpu = Decimal::from_micros(pricing::gpu(mt.gpu_model_id.as_deref()));
        let hosts = DataCenterMachineTypeJson::from(mt);
        MachineTypeDetailJson {
            data_center_id: mt.data_center_id.clone(),
            machine_type: mt.id.clone(),
            cpu_models: vec![mt.cpu_model.clone()],
            gpu_models: gpu_model_name(mt.gpu_model_id.as_deref()).into_iter().collect(),
            min_vcpu_price_hr: Decimal::from_micros(pricing::VCPU),
            max_vcpu_price_hr: Decimal::from_micros(pricing::VCPU),
            min_memory_gib_price_hr: Decimal::from_micros(pricing::MEMORY_GIB),
            max_memory_gib_price_hr: Decimal::from_micros(pricing::MEMORY_GIB),
            min_gpu_price_hr: gpu,
            max_gpu_price_hr: gpu,
            min_vcpu_per_memory_gib: min_mem,
            max_vcpu_per_memory_gib: max_mem,
            min_vcpu_per_gpu: min_gpu,
            max_vcpu_per_gpu: max_gpu,
            count_clusters: hosts.count_clusters,
            count_hosts: hosts.count_hosts,
            count_hosts_active: hosts.count_hosts_active,
            count_hosts_inactive: hosts.count_hosts_inactive,
            min_vcpu: 1.0,
            min_memory_gib: 1.0,
        }
    }
}

/// The price of a machine type under a commitment term.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = VirtualMachineTypePrice)]
pub struct MachineTypePriceJson {
    /// The term: none, in the emulator.
    #[schema(schema_with = commitment_schema)]
    pub commitment_term: String,
    /// The price of a vCPU.
    pub vcpu_price_hr: Decimal,
    /// The price of a GiB of memory.
    pub memory_gib_price_hr: Decimal,
    /// The price of a GPU.
    pub gpu_price_hr: Decimal,
}

/// A machine type as VMs see it (`/v1/vms/machine-types`): what is free
/// and what it costs.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = VMMachineType)]
pub struct VmMachineTypeJson {
    /// The data center.
    pub data_center_id: String,
    /// The machine type's id.
    pub machine_type: String,
    /// The CPU model.
    pub cpu_model: String,
    /// The GPU model's name; empty without GPUs.
    pub gpu_model: String,
    /// The GPU model's id; empty without GPUs.
    pub gpu_model_id: String,
    /// The fewest vCPUs per GiB.
    pub min_vcpu_per_memory_gib: f64,
    /// The most vCPUs per GiB.
    pub max_vcpu_per_memory_gib: f64,
    /// The fewest vCPUs per GPU.
    pub min_vcpu_per_gpu: f64,
    /// The most vCPUs per GPU.
    pub max_vcpu_per_gpu: f64,
    /// The price of a vCPU.
    pub vcpu_price_hr: Decimal,
    /// The price of a GiB of memory.
    pub memory_gib_price_hr: Decimal,
    /// The price of a GPU.
    pub gpu_price_hr: Decimal,
    /// The price of a GiB of disk.
    pub min_storage_gib_price_hr: Decimal,
    /// The price of an IPv4 address.
    pub ipv4_price_hr: Decimal,
    /// Whether the data center runs on renewable energy.
    pub renewable_energy: bool,
    /// The most vCPUs one VM can get now.
    pub max_vcpu_free: u32,
    /// All free vCPUs.
    pub total_vcpu_free: u32,
    /// The most memory one VM can get now, GiB.
    pub max_memory_gib_free: u32,
    /// All free memory, GiB.
    pub total_memory_gib_free: u32,
    /// The most GPUs one VM can get now.
    pub max_gpu_free: u32,
    /// All free GPUs.
    pub total_gpu_free: u32,
    /// The largest disk one VM can get now, GiB.
    pub max_storage_gib_free: u32,
    /// All free disk, GiB.
    pub total_storage_gib_free: u32,
    /// The fewest vCPUs.
    pub min_vcpu: f64,
    /// The least memory, GiB.
    pub min_memory_gib: f64,
    /// The prices by commitment term.
    pub prices: Vec<MachineTypePriceJson>,
}

impl VmMachineTypeJson {
    /// A machine type; `max_disk_gib` is the largest disk the cloud makes.
    pub fn new(mt: &MachineType, max_disk_gib: u32) -> VmMachineTypeJson {
        let (min_mem, max_mem, min_gpu, max_gpu) = ratios(mt);
        let free = mt.free();
        let one = |amount: u32| if free > 0 { amount } else { 0 };
        let renewable = catalog::data_centers().iter().any(|dc| dc.id == mt.data_center_id && dc.renewable_energy);
        let gpu_price = Decimal::from_micros(pricing::gpu(mt.gpu_model_id.as_deref()));
        VmMachineTypeJson {
            data_center_id: mt.data_center_id.clone(),
            machine_type: mt.id.clone(),
            cpu_model: mt.cpu_model.clone(),
            gpu_model: gpu_model_name(mt.gpu_model_id.as_deref()).unwrap_or_default(),
            gpu_model_id: mt.gpu_model_id.clone().unwrap_or_default(),
            min_vcpu_per_memory_gib: min_mem,
            max_vcpu_per_memory_gib: max_mem,
            min_vcpu_per_gpu: min_gpu,
            max_vcpu_per_gpu: max_gpu,
            vcpu_price_hr: Decimal::from_micros(pricing::VCPU),
            memory_gib_price_hr: Decimal::from_micros(pricing::MEMORY_GIB),
            gpu_price_hr: gpu_price,
            min_storage_gib_price_hr: Decimal::from_micros(pricing::STORAGE_GIB),
            ipv4_price_hr: Decimal::from_micros(pricing::IPV4),
            renewable_energy: renewable,
            max_vcpu_free: one(mt.vcpus),
            total_vcpu_free: mt.vcpus.saturating_mul(free),
            max_memory_gib_free: one(mt.memory_gib),
            total_memory_gib_free: mt.memory_gib.saturating_mul(free),
            max_gpu_free: one(mt.gpus),
            total_gpu_free: mt.gpus.saturating_mul(free),
            max_storage_gib_free: one(max_disk_gib),
            total_storage_gib_free: max_disk_gib.saturating_mul(free),
            min_vcpu: 1.0,
            min_memory_gib: 1.0,
            prices: vec![MachineTypePriceJson {
                commitment_term: NO_COMMITMENT.to_owned(),
                vcpu_price_hr: Decimal::from_micros(pricing::VCPU),
                memory_gib_price_hr: Decimal::from_micros(pricing::MEMORY_GIB),
                gpu_price_hr: gpu_price,
            }],
        }
    }
}

/// A GPU model.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = GpuModel)]
pub struct GpuModelJson {
    /// The id, such as `gpu-a100`.
    pub id: String,
    /// The vendor.
    pub vendor_name: String,
    /// The model's name.
    pub model_name: String,
    /// GPU memory, GiB.
    pub memory_gib: u32,
}

impl From<GpuModel> for GpuModelJson {
    fn from(model: GpuModel) -> GpuModelJson {
        GpuModelJson {
            id: model.id,
            vendor_name: model.vendor_name,
            model_name: model.model_name,
            memory_gib: model.memory_gib,
        }
    }
}

/// A disk: a VM's boot disk or a storage disk.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Disk)]
pub struct DiskJson {
    /// The id, unique in the project.
    pub id: String,
    /// The owning project.
    pub project_id: String,
    /// The data center.
    pub data_center_id: String,
    /// The VM it is attached to, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vm_id: Option<String>,
    /// The size, GiB.
    pub size_gib: u32,
    /// Boot or storage.
    #[schema(schema_with = disk_type_schema)]
    pub disk_type: &'static str,
    /// The state.
    #[schema(schema_with = disk_state_schema)]
    pub disk_state: &'static str,
    /// The image a boot disk was made from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_image_id: Option<String>,
    /// When it was created (RFC 3339).
    #[schema(value_type = String, format = DateTime)]
    pub create_time: Timestamp,
}

impl From<Disk> for DiskJson {
    fn from(disk: Disk) -> DiskJson {
        DiskJson::listed(ListedDisk::from(disk))
    }
}

impl DiskJson {
    /// A disk, from what a list of VMs reads of it.
    pub(crate) fn listed(disk: ListedDisk) -> DiskJson {
        DiskJson {
            id: disk.id,
            project_id: disk.project_id,
            data_center_id: disk.data_center_id,
            vm_id: disk.vm_id,
            size_gib: disk.size_gib,
            disk_type: disk.disk_type.as_str(),
            disk_state: disk.state.as_str(),
            public_image_id: disk.image_id,
            create_time: disk.created_at,
        }
    }
}

impl From<&Disk> for DiskJson {
    fn from(disk: &Disk) -> DiskJson {
        DiskJson::from(disk.clone())
    }
}

/// What a VM costs per hour.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = VMPrice)]
pub struct VmPriceJson {
    /// A vCPU.
    pub vcpu_price_hr: Decimal,
    /// All its vCPUs.
    pub total_vcpu_price_hr: Decimal,
    /// A GiB of memory.
    pub memory_gib_price_hr: Decimal,
    /// All its memory.
    pub total_memory_price_hr: Decimal,
    /// A GPU.
    pub gpu_price_hr: Decimal,
    /// All its GPUs.
    pub total_gpu_price_hr: Decimal,
    /// A GiB of disk.
    pub storage_gib_price_hr: Decimal,
    /// All its disks.
    pub total_storage_price_hr: Decimal,
    /// Its IPv4 address.
    pub ipv4_address_price_hr: Decimal,
    /// Everything.
    pub total_price_hr: Decimal,
}

impl VmPriceJson {
    /// The price of a VM with `storage_gib` GiB of disks.
    pub fn new(vm: &Vm, storage_gib: u64) -> VmPriceJson {
        VmPriceJson::of(vm.gpu_model_id.as_deref(), vm.vcpus, vm.memory_gib, vm.gpu_quantity, storage_gib)
    }

    /// The price of a VM of this shape.
    fn of(gpu_model_id: Option<&str>, vcpus: u32, memory_gib: u32, gpu_quantity: u32, storage_gib: u64) -> VmPriceJson {
        let gpu = pricing::gpu(gpu_model_id);
        let vcpus = pricing::VCPU * u64::from(vcpus);
        let memory = pricing::MEMORY_GIB * u64::from(memory_gib);
        let gpus = gpu * u64::from(gpu_quantity);
        let storage = pricing::STORAGE_GIB * storage_gib;
        VmPriceJson {
            vcpu_price_hr: Decimal::from_micros(pricing::VCPU),
            total_vcpu_price_hr: Decimal::from_micros(vcpus),
            memory_gib_price_hr: Decimal::from_micros(pricing::MEMORY_GIB),
            total_memory_price_hr: Decimal::from_micros(memory),
            gpu_price_hr: Decimal::from_micros(gpu),
            total_gpu_price_hr: Decimal::from_micros(gpus),
            storage_gib_price_hr: Decimal::from_micros(pricing::STORAGE_GIB),
            total_storage_price_hr: Decimal::from_micros(storage),
            ipv4_address_price_hr: Decimal::from_micros(pricing::IPV4),
            total_price_hr: Decimal::from_micros(vcpus + memory + gpus + storage + pricing::IPV4),
        }
    }
}

/// A virtual machine.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = VM)]
pub struct VmJson {
    /// The client-chosen id.
    pub id: String,
    /// The owning project.
    pub project_id: String,
    /// The data center (CUDO spells it `datacenterId` here).
    #[serde(rename = "datacenterId")]
    pub datacenter_id: String,
    /// The machine type.
    pub machine_type: String,
    /// The region: the data center's country code in lower case.
    pub region_id: &'static str,
    /// The data center's display name.
    pub region_name: &'static str,
    /// The public address.
    pub external_ip_address: String,
    /// The public address.
    pub public_ip_address: String,
    /// The private address.
    pub internal_ip_address: String,
    /// Memory, GiB.
    pub memory: u32,
    /// The CPU model.
    pub cpu_model: String,
    /// Virtual CPUs.
    pub vcpus: u32,
    /// The GPU model's name, for a VM with GPUs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu_model: Option<String>,
    /// The GPU model's id, for a VM with GPUs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu_model_id: Option<String>,
    /// GPUs.
    pub gpu_quantity: u32,
    /// The boot disk's size, GiB.
    pub boot_disk_size_gib: u32,
    /// Whether the data center runs on renewable energy.
    pub renewable_energy: bool,
    /// The boot image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_id: Option<String>,
    /// The boot image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_image_id: Option<String>,
    /// A one-word summary of the state: `pending`, `active`, `stopping`,
    /// `stopped`, `deleting`, `deleted`, `failed` or `busy`.
    pub short_state: &'static str,
    /// The state.
    #[schema(schema_with = vm_state_schema)]
    pub state: &'static str,
    /// The boot disk.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub boot_disk: Option<DiskJson>,
    /// The attached storage disks.
    pub storage_disks: Vec<DiskJson>,
    /// Free-form metadata.
    pub metadata: BTreeMap<String, String>,
    /// When it was created (RFC 3339).
    #[schema(value_type = String, format = DateTime)]
    pub create_time: Timestamp,
    /// What it costs.
    pub price: VmPriceJson,
    /// The commitment term: none.
    #[schema(schema_with = commitment_schema)]
    pub commitment_term: &'static str,
}

impl VmJson {
    /// A VM with its disks (the boot disk among them, if found), taking
    /// their fields rather than copying them.
    pub fn new(vm: Vm, disks: Vec<Disk>) -> VmJson {
        VmJson::listed(ListedVm::from(vm), disks.into_iter().map(ListedDisk::from))
    }

    /// A VM with its disks, from what a list reads of them.
    pub(crate) fn listed(vm: ListedVm, disks: impl IntoIterator<Item = ListedDisk>) -> VmJson {
        let region = region(&vm.data_center_id);
        let mut boot_disk = None;
        let mut storage_disks = Vec::new();
        let mut storage_gib = u64::from(vm.boot_disk_size_gib);
        for disk in disks {
            match disk.disk_type {
                DiskType::Boot => {
                    if boot_disk.is_none() {
                        boot_disk = Some(DiskJson::listed(disk));
                    }
                }
                DiskType::Storage => {
                    storage_gib += u64::from(disk.size_gib);
                    storage_disks.push(DiskJson::listed(disk));
                }
            }
        }
        let price = VmPriceJson::of(vm.gpu_model_id.as_deref(), vm.vcpus, vm.memory_gib, vm.gpu_quantity, storage_gib);
        VmJson {
            id: vm.id,
            project_id: vm.project_id,
            datacenter_id: vm.data_center_id,
            machine_type: vm.machine_type,
            region_id: region.map_or("", |r| r.id.as_str()),
            region_name: region.map_or("", |r| r.name.as_str()),
            public_ip_address: vm.external_ip.clone(),
            external_ip_address: vm.external_ip,
            internal_ip_address: vm.internal_ip,
            memory: vm.memory_gib,
            cpu_model: vm.cpu_model,
            vcpus: vm.vcpus,
            gpu_model: vm.gpu_model,
            gpu_model_id: vm.gpu_model_id,
            gpu_quantity: vm.gpu_quantity,
            boot_disk_size_gib: vm.boot_disk_size_gib,
            renewable_energy: region.is_some_and(|r| r.renewable_energy),
            public_image_id: vm.image_id.clone(),
            image_id: vm.image_id,
            short_state: vm.state.short_state(),
            state: vm.state.as_str(),
            boot_disk,
            storage_disks,
            metadata: vm.metadata,
            create_time: vm.created_at,
            price,
            commitment_term: NO_COMMITMENT,
        }
    }
}

/// What a VM shows of its data center.
struct Region {
    data_center_id: String,
    /// The country code in lower case.
    id: String,
    name: String,
    renewable_energy: bool,
}

/// The region of a seeded data center, made once.
fn region(data_center_id: &str) -> Option<&'static Region> {
    static REGIONS: OnceLock<Vec<Region>> = OnceLock::new();
    let regions = REGIONS.get_or_init(|| {
        catalog::data_centers()
            .into_iter()
            .map(|dc| Region {
                id: dc.country.to_ascii_lowercase(),
                name: dc.display_name,
                renewable_energy: dc.renewable_energy,
                data_center_id: dc.id,
            })
            .collect()
    });
    regions.iter().find(|r| r.data_center_id == data_center_id)
}

/// An SSH public key.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = SshKey)]
pub struct SshKeyJson {
    /// The generated id.
    pub id: String,
    /// When it was added (RFC 3339).
    #[schema(format = DateTime)]
    pub create_time: String,
    /// The OpenSSH public key line.
    pub public_key: String,
    /// OpenSSH's SHA-256 fingerprint.
    pub fingerprint: String,
    /// The key type, such as `ssh-ed25519`.
    #[serde(rename = "type")]
    pub key_type: String,
    /// The comment after the key.
    pub comment: String,
}

impl From<SshKey> for SshKeyJson {
    fn from(key: SshKey) -> SshKeyJson {
        SshKeyJson {
            id: key.id,
            create_time: key.created_at.to_rfc3339(),
            public_key: key.public_key,
            fingerprint: key.fingerprint,
            key_type: key.key_type,
            comment: key.comment,
        }
    }
}

/// A cluster: machines of one type in one data center.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Cluster)]
pub struct ClusterJson {
    /// The owning project.
    pub project_id: String,
    /// The client-chosen id.
    pub id: String,
    /// The data center.
    pub data_center_id: String,
    /// The machine type of every machine.
    pub machine_type_id: String,
    /// The number of machines.
    pub machine_count: u32,
    /// The state, without the `STATE_` of the CUDO page's errors.
    #[schema(schema_with = cluster_state_schema)]
    pub state: String,
    /// The GPU model, for GPU machines.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu_model_id: Option<String>,
    /// The CPU model.
    pub cpu_model: String,
    /// All GPUs.
    pub total_gpus: u32,
    /// All vCPUs.
    pub total_cpu_cores: u32,
    /// All memory, GiB.
    pub total_memory_gib: u32,
    /// What one machine costs.
    pub machine_price_hr: Decimal,
    /// What all machines cost.
    pub total_machine_price_hr: Decimal,
    /// What the cluster costs.
    pub total_price_hr: Decimal,
    /// The commitment term: none.
    #[schema(schema_with = commitment_schema)]
    pub commitment_term: String,
    /// When it was created (RFC 3339).
    #[schema(format = DateTime)]
    pub create_time: String,
}

impl From<&Cluster> for ClusterJson {
    fn from(cluster: &Cluster) -> ClusterJson {
        let mt = catalog::machine_types()
            .into_iter()
            .find(|mt| mt.data_center_id == cluster.data_center_id && mt.id == cluster.machine_type_id);
        let (gpus, vcpus, memory, cpu, model) = match &mt {
            Some(mt) => (mt.gpus, mt.vcpus, mt.memory_gib, mt.cpu_model.clone(), mt.gpu_model_id.clone()),
            None => (0, 0, 0, String::new(), None),
        };
        let machine = pricing::machine(vcpus, memory, gpus, model.as_deref());
        let count = cluster.machine_count;
        ClusterJson {
            project_id: cluster.project_id.clone(),
            id: cluster.id.clone(),
            data_center_id: cluster.data_center_id.clone(),
            machine_type_id: cluster.machine_type_id.clone(),
            machine_count: count,
            state: cluster.state.resource_name().to_owned(),
            gpu_model_id: model,
            cpu_model: cpu,
            total_gpus: gpus.saturating_mul(count),
            total_cpu_cores: vcpus.saturating_mul(count),
            total_memory_gib: memory.saturating_mul(count),
            machine_price_hr: Decimal::from_micros(machine),
            total_machine_price_hr: Decimal::from_micros(machine * u64::from(count)),
            total_price_hr: Decimal::from_micros(machine * u64::from(count)),
            commitment_term: NO_COMMITMENT.to_owned(),
            create_time: cluster.created_at.to_rfc3339(),
        }
    }
}
