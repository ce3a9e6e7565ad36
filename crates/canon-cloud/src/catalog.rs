//! The seed data: GPU models, data centers and their machine types.
//!
//! Every store gets these on open (rows already there, and capacities an
//! admin changed, are kept). The ids follow CUDO's style; the integer
//! `number`s are what the Gcore surface shows as region ids.
//!
//! | data center | number | machine types (GPUs × model, vCPUs, GiB, capacity) |
//! |-------------|--------|-----------------------------------------------------|
//! | `gb-bournemouth-1` | 1 | `gpu-a100-x2` (2 × gpu-a100, 24, 192, 8), `gpu-a100-x4` (4 × gpu-a100, 48, 384, 4), `gpu-h100-x8` (8 × gpu-h100, 192, 1536, 2), `epyc-rome-cpu` (0, 64, 256, 32) |
//! | `se-smedjebacken-1` | 2 | `gpu-a100-x2` (2 × gpu-a100, 24, 192, 4), `gpu-rtx-a6000-x4` (4 × gpu-rtx-a6000, 32, 256, 6), `epyc-rome-cpu` (0, 64, 256, 16) |

use crate::model::{DataCenter, GpuModel, MachineType};

/// The seeded GPU models.
pub fn gpu_models() -> Vec<GpuModel> {
    let model = |id: &str, name: &str, memory_gib| GpuModel {
        id: id.to_owned(),
        vendor_name: "NVIDIA".to_owned(),
        model_name: name.to_owned(),
        memory_gib,
    };
    vec![
        model("gpu-a100", "A100 80GB PCIe", 80),
        model("gpu-h100", "H100 80GB SXM5", 80),
        model("gpu-rtx-a6000", "RTX A6000", 48),
    ]
}

/// The seeded data centers.
pub fn data_centers() -> Vec<DataCenter> {
    vec![
        DataCenter {
            id: "gb-bournemouth-1".to_owned(),
            number: 1,
            display_name: "Bournemouth".to_owned(),
            country: "GB".to_owned(),
            latitude: 50.7192,
            longitude: -1.8808,
            supplier_name: "canon emulator".to_owned(),
            renewable_energy: true,
        },
        DataCenter {
            id: "se-smedjebacken-1".to_owned(),
            number: 2,
            display_name: "Smedjebacken".to_owned(),
            country: "SE".to_owned(),
            latitude: 60.1404,
            longitude: 15.4128,
            supplier_name: "canon emulator".to_owned(),
            renewable_energy: true,
        },
    ]
}

/// The seeded machine types.
pub fn machine_types() -> Vec<MachineType> {
    let mt = |dc: &str, id: &str, gpu: Option<&str>, gpus, vcpus, memory_gib, cpu: &str, capacity| MachineType {
        id: id.to_owned(),
        data_center_id: dc.to_owned(),
        gpu_model_id: gpu.map(str::to_owned),
        gpus,
        vcpus,
        memory_gib,
        cpu_model: cpu.to_owned(),
        capacity,
        in_use: 0,
    };
    let gb = "gb-bournemouth-1";
    let se = "se-smedjebacken-1";
    vec![
        mt(gb, "gpu-a100-x2", Some("gpu-a100"), 2, 24, 192, "AMD EPYC 7543", 8),
        mt(gb, "gpu-a100-x4", Some("gpu-a100"), 4, 48, 384, "AMD EPYC 7543", 4),
        mt(gb, "gpu-h100-x8", Some("gpu-h100"), 8, 192, 1536, "Intel Xeon Platinum 8480+", 2),
        mt(gb, "epyc-rome-cpu", None, 0, 64, 256, "AMD EPYC 7742", 32),
        mt(se, "gpu-a100-x2", Some("gpu-a100"), 2, 24, 192, "AMD EPYC 7543", 4),
        mt(se, "gpu-rtx-a6000-x4", Some("gpu-rtx-a6000"), 4, 32, 256, "AMD EPYC 7402", 6),
        mt(se, "epyc-rome-cpu", None, 0, 64, 256, "AMD EPYC 7742", 16),
    ]
}
