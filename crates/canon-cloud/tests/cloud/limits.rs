//! GPU quotas per project, data center and model; finite capacity per
//! machine type. Both are taken by VMs and cluster machines and given
//! back the moment those are terminated or deleted.

use canon::Code;
use canon_cloud::clock::TransitionMode;
use canon_cloud::model::CreateCluster;

use crate::{Env, assert_aip193, vm_request};

fn cluster(id: &str, machine_type: &str, count: i64) -> CreateCluster {
    CreateCluster {
        id: id.to_owned(),
        data_center_id: "gb-bournemouth-1".to_owned(),
        machine_type_id: machine_type.to_owned(),
        machine_count: count,
    }
}

#[test]
fn the_quota_holds_exactly_at_its_limit() {
    let env = Env::new(TransitionMode::Manual);
    env.cloud.admin().set_quota("demo", "gb-bournemouth-1", "gpu-a100", 6).unwrap();
    // 2 + 4 = 6 GPUs: at the limit, allowed (PENDING VMs count too).
    env.vm(&env.who, "demo", "a", "gpu-a100-x2").unwrap();
    env.vm(&env.who, "demo", "b", "gpu-a100-x4").unwrap();
    let over = env.vm(&env.who, "demo", "c", "gpu-a100-x2").unwrap_err();
    assert_eq!(over.code(), Code::ResourceExhausted);
    assert_eq!(over.quota_failure().unwrap().violations[0].description, "Limit 6 reached");
    assert_aip193(&over);
    // Other models, other data centers and CPU machines are not counted.
    env.vm(&env.who, "demo", "h", "gpu-h100-x8").unwrap();
    env.vm(&env.who, "demo", "cpu", "epyc-rome-cpu").unwrap();
    env.cloud.create_vm(&env.who, "demo", vm_request("se", "se-smedjebacken-1", "gpu-a100-x2")).unwrap();
    let quotas = env.cloud.list_quotas(&env.who, "demo").unwrap();
    let a100 = quotas.iter().find(|q| q.data_center_id == "gb-bournemouth-1" && q.gpu_model_id == "gpu-a100").unwrap();
    assert_eq!((a100.limit, a100.used), (6, 6));
    // Terminating gives the GPUs back at once, even before the VM is gone.
    env.cloud.terminate_vm(&env.who, "demo", "a", None).unwrap();
    env.vm(&env.who, "demo", "c", "gpu-a100-x2").unwrap();
    // Fewer GPUs than the type has count as asked.
    let mut one_gpu = vm_request("d", "gb-bournemouth-1", "gpu-a100-x2");
    one_gpu.gpus = Some(0);
    env.cloud.create_vm(&env.who, "demo", one_gpu).unwrap();
}

#[test]
fn clusters_take_quota_for_every_machine() {
    let env = Env::new(TransitionMode::Immediate);
    env.cloud.admin().set_quota("demo", "gb-bournemouth-1", "gpu-a100", 8).unwrap();
    env.cloud.create_cluster(&env.who, "demo", cluster("clu-1", "gpu-a100-x2", 3)).unwrap();
    let over = env.cloud.resize_cluster(&env.who, "demo", "clu-1", 5, None).unwrap_err();
    assert_eq!(over.code(), Code::ResourceExhausted);
    assert_eq!(over.error_info().unwrap().metadata["requested"], "4");
    env.cloud.resize_cluster(&env.who, "demo", "clu-1", 4, None).unwrap();
    assert_eq!(env.vm(&env.who, "demo", "vm", "gpu-a100-x2").unwrap_err().code(), Code::ResourceExhausted);
    // Shrinking needs no quota; deleting frees it all.
    env.cloud.resize_cluster(&env.who, "demo", "clu-1", 1, None).unwrap();
    env.vm(&env.who, "demo", "vm", "gpu-a100-x2").unwrap();
    env.cloud.delete_cluster(&env.who, "demo", "clu-1", None).unwrap();
    assert_eq!(env.cloud.get_cluster(&env.who, "demo", "clu-1").unwrap_err().code(), Code::NotFound);
}

#[test]
fn capacity_is_shared_by_every_project() {
    let env = Env::new(TransitionMode::Immediate);
    let other = env.project("other", "*", None);
    env.cloud.admin().set_capacity("gb-bournemouth-1", "gpu-h100-x8", 2).unwrap();
    env.vm(&env.who, "demo", "h1", "gpu-h100-x8").unwrap();
    env.vm(&other, "other", "h1", "gpu-h100-x8").unwrap();
    let full = env.vm(&env.who, "demo", "h2", "gpu-h100-x8").unwrap_err();
    assert_eq!(full.code(), Code::ResourceExhausted);
    let info = full.error_info().unwrap();
    assert_eq!(info.reason, "MACHINE_TYPE_UNAVAILABLE");
    assert!(!info.metadata_list("availableMachineTypes").contains(&"gpu-h100-x8".to_owned()));
    assert_aip193(&full);
    let types = env.cloud.list_machine_types(&env.who, Some("gb-bournemouth-1")).unwrap();
    let h100 = types.iter().find(|t| t.id == "gpu-h100-x8").unwrap();
    assert_eq!((h100.capacity, h100.in_use, h100.free()), (2, 2, 0));
    // A project without a quota is limited by capacity only.
    assert!(env.cloud.list_quotas(&other, "other").unwrap().is_empty());
    env.cloud.terminate_vm(&other, "other", "h1", None).unwrap();
    env.vm(&env.who, "demo", "h2", "gpu-h100-x8").unwrap();
    // A cluster needs all its machines at once.
    let status = env.cloud.create_cluster(&env.who, "demo", cluster("clu", "gpu-h100-x8", 1)).unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted);
}

#[test]
fn cluster_sizes_are_bounded() {
    let env = Env::new(TransitionMode::Immediate);
    let table: &[(i64, Code, &str)] = &[
        (-1, Code::InvalidArgument, "machineCount must not be negative, got -1."),
        (0, Code::OutOfRange, "machineCount 0 is below the minimum of 1."),
        (129, Code::OutOfRange, "machineCount 129 exceeds the maximum of 128."),
    ];
    for &(count, code, message) in table {
        let status = env.cloud.create_cluster(&env.who, "demo", cluster("clu", "epyc-rome-cpu", count)).unwrap_err();
        assert_eq!((status.code(), status.message()), (code, message), "{count}");
        assert_aip193(&status);
    }
    env.cloud.admin().set_capacity("gb-bournemouth-1", "epyc-rome-cpu", 200).unwrap();
    env.cloud.create_cluster(&env.who, "demo", cluster("clu", "epyc-rome-cpu", 128)).unwrap();
    let status = env.cloud.resize_cluster(&env.who, "demo", "clu", 200, None).unwrap_err();
    assert_eq!(status.message(), "machineCount 200 exceeds the maximum of 128.");
}

#[test]
fn disks_grow_within_their_limits() {
    let env = Env::new(TransitionMode::Immediate);
    let disk = canon_cloud::model::CreateDisk {
        id: "d".into(),
        data_center_id: "gb-bournemouth-1".into(),
        size_gib: 100,
        storage_class: Some("ssd".into()),
        ..Default::default()
    };
    let created = env.cloud.create_disk(&env.who, "demo", disk).unwrap();
    assert_eq!((created.size_gib, created.storage_class.as_str(), created.name.as_str()), (100, "ssd", "d"));
    let table: &[(i64, Code)] = &[(-1, Code::InvalidArgument), (50, Code::OutOfRange), (65_537, Code::OutOfRange)];
    for &(size, code) in table {
        let status = env.cloud.resize_disk(&env.who, "demo", "d", size, None).unwrap_err();
        assert_eq!(status.code(), code, "{size}");
        assert_aip193(&status);
    }
    assert_eq!(env.cloud.resize_disk(&env.who, "demo", "d", 200, None).unwrap().size_gib, 200);
    // A read-write attachment does not stop a resize; a boot disk's VM
    // shows its new size.
    env.vm(&env.who, "demo", "vm", "epyc-rome-cpu").unwrap();
    env.cloud.attach_disk(&env.who, "demo", "d", "vm", canon_cloud::model::AttachMode::ReadWrite, None).unwrap();
    assert_eq!(env.cloud.resize_disk(&env.who, "demo", "d", 300, None).unwrap().size_gib, 300);
    let vm = env.cloud.get_vm(&env.who, "demo", "vm").unwrap();
    env.cloud.resize_disk(&env.who, "demo", &vm.boot_disk_id, 40, None).unwrap();
    assert_eq!(env.cloud.get_vm(&env.who, "demo", "vm").unwrap().boot_disk_size_gib, 40);
    let disks = env.cloud.list_vm_disks(&env.who, "demo", "vm").unwrap();
    assert_eq!(disks.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(), [vm.boot_disk_id.as_str(), "d"]);
    // Terminating the VM detaches the storage disk.
    env.cloud.terminate_vm(&env.who, "demo", "vm", None).unwrap();
    let d = env.cloud.get_disk(&env.who, "demo", "d").unwrap();
    assert_eq!((d.attachment, d.state), (None, canon_cloud::model::DiskState::Ready));
}
