//! Every error of the domain, as the exact AIP-193 body the CUDO surface
//! will send. The CUDO page's scenarios match the page's bodies, with the
//! ErrorInfo that AIP-193 requires added last where the page leaves it
//! out.

use std::time::Duration;

use canon::{Code, Encoding, Status};
use canon_cloud::clock::TransitionMode;
use canon_cloud::model::{AttachMode, CreateCluster, CreateDisk, CreateSshKey, ImportImage, ResourceKind};
use serde_json::{Value, json};

use crate::{DOMAIN, Env, START, assert_aip193, vm_request};

const BOURNEMOUTH: &str = "gb-bournemouth-1";
const ERROR_INFO: &str = "type.googleapis.com/google.rpc.ErrorInfo";
const BAD_REQUEST: &str = "type.googleapis.com/google.rpc.BadRequest";

fn info(reason: &str, metadata: Value) -> Value {
    json!({"@type": ERROR_INFO, "reason": reason, "domain": DOMAIN, "metadata": metadata})
}

fn proj_123(env: &Env) -> canon_cloud::auth::Principal {
    env.project("proj-123", "*", Some(16))
}

fn disk(id: &str, size_gib: i64) -> CreateDisk {
    CreateDisk { id: id.to_owned(), data_center_id: BOURNEMOUTH.to_owned(), size_gib, ..CreateDisk::default() }
}

fn cluster(id: &str, machine_type: &str, count: i64) -> CreateCluster {
    CreateCluster {
        id: id.to_owned(),
        data_center_id: BOURNEMOUTH.to_owned(),
        machine_type_id: machine_type.to_owned(),
        machine_count: count,
    }
}

type Scenario = fn(&Env) -> Status;

/// (name, transition mode, scenario, expected body). The body's `code` is
/// the HTTP status the surface should send; where the CUDO page shows
/// another status than the code's default (409 for FAILED_PRECONDITION),
/// the page's is used.
fn table() -> Vec<(&'static str, TransitionMode, Scenario, Value)> {
    vec![
        (
            "page: cluster resize outside STATE_ACTIVE",
            TransitionMode::Immediate,
            |env| {
                let who = proj_123(env);
                env.cloud.create_cluster(&who, "proj-123", cluster("clu-abc123", "epyc-rome-cpu", 2)).unwrap();
                env.cloud.admin().set_transition_mode(TransitionMode::Manual);
                env.cloud.resize_cluster(&who, "proj-123", "clu-abc123", 3, None).unwrap();
                env.cloud.resize_cluster(&who, "proj-123", "clu-abc123", 4, None).unwrap_err()
            },
            json!({
                "code": 409,
                "status": "FAILED_PRECONDITION",
                "message": "Cluster must be in STATE_ACTIVE before resizing.",
                "details": [info("CLUSTER_STATE_INVALID", json!({
                    "clusterId": "clu-abc123",
                    "currentState": "STATE_UPDATING",
                    "requiredState": "STATE_ACTIVE",
                    "operation": "RESIZE"
                }))]
            }),
        ),
        (
            "page: cluster not found",
            TransitionMode::Immediate,
            |env| env.cloud.get_cluster(&proj_123(env), "proj-123", "clu-missing99").unwrap_err(),
            json!({
                "code": 404,
                "status": "NOT_FOUND",
                "message": "Cluster 'clu-missing99' not found in project 'proj-123'.",
                "details": [info("CLUSTER_NOT_FOUND", json!({"clusterId": "clu-missing99", "projectId": "proj-123"}))]
            }),
        ),
        (
            "page: GPU quota exceeded",
            TransitionMode::Immediate,
            |env| {
                let who = proj_123(env);
                for i in 0..4 {
                    env.vm(&who, "proj-123", &format!("big-{i}"), "gpu-a100-x4").unwrap();
                }
                env.vm(&who, "proj-123", "one-more", "gpu-a100-x2").unwrap_err()
            },
            json!({
                "code": 429,
                "status": "RESOURCE_EXHAUSTED",
                "message": "GPU quota exceeded for project 'proj-123' in dataCenterId 'gb-bournemouth-1'.",
                "details": [
                    {
                        "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                        "violations": [{
                            "subject": "projects/proj-123/dataCenterIds/gb-bournemouth-1/gpuModelId:gpu-a100",
                            "description": "Limit 16 reached"
                        }]
                    },
                    {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "30s"},
                    info("GPU_QUOTA_EXCEEDED", json!({
                        "projectId": "proj-123",
                        "dataCenterId": "gb-bournemouth-1",
                        "gpuModelId": "gpu-a100",
                        "limit": "16",
                        "used": "16",
                        "requested": "2"
                    }))
                ]
            }),
        ),
        (
            "page: unknown machine type",
            TransitionMode::Immediate,
            |env| {
                env.cloud.admin().set_capacity(BOURNEMOUTH, "epyc-rome-cpu", 0).unwrap();
                env.cloud.admin().set_capacity(BOURNEMOUTH, "gpu-h100-x8", 0).unwrap();
                env.vm(&env.who, "demo", "vm-1", "gpu-a100-x99").unwrap_err()
            },
            json!({
                "code": 400,
                "status": "INVALID_ARGUMENT",
                "message": "Machine type 'gpu-a100-x99' is not available in data center gb-bournemouth-1.",
                "details": [
                    {"@type": BAD_REQUEST, "fieldViolations": [
                        {"field": "spec.machineType", "description": "Unknown machine type 'gpu-a100-x99'"}
                    ]},
                    info("MACHINE_TYPE_UNAVAILABLE", json!({
                        "requestedMachineType": "gpu-a100-x99",
                        "availableMachineTypes": "[\"gpu-a100-x2\",\"gpu-a100-x4\"]",
                        "dataCenterId": "gb-bournemouth-1"
                    }))
                ]
            }),
        ),
        (
            "page: machineCount above 128",
            TransitionMode::Immediate,
            |env| env.cloud.create_cluster(&env.who, "demo", cluster("clu-1", "epyc-rome-cpu", 200)).unwrap_err(),
            json!({
                "code": 400,
                "status": "OUT_OF_RANGE",
                "message": "machineCount 200 exceeds the maximum of 128.",
                "details": [
                    {"@type": BAD_REQUEST, "fieldViolations": [{"field": "machineCount", "description": "Max allowed is 128."}]},
                    info("VALUE_OUT_OF_RANGE", json!({"field": "machineCount", "value": "200", "maximum": "128"}))
                ]
            }),
        ),
        (
            "page: several invalid fields",
            TransitionMode::Immediate,
            |env| {
                let mut request = vm_request("vm-1", BOURNEMOUTH, "gpu-a100-x99");
                request.boot_disk_size_gib = Some(10);
                env.cloud.create_vm(&env.who, "demo", request).unwrap_err()
            },
            json!({
                "code": 400,
                "status": "INVALID_ARGUMENT",
                "message": "Invalid fields in request.",
                "details": [
                    {"@type": BAD_REQUEST, "fieldViolations": [
                        {"field": "spec.machineType", "description": "Unknown machine type 'gpu-a100-x99'"},
                        {"field": "bootDiskSizeGib", "description": "Minimum is 20 GiB."}
                    ]},
                    info("INVALID_FIELDS", json!({"fields": "spec.machineType,bootDiskSizeGib"}))
                ]
            }),
        ),
        (
            "boot disk below its minimum",
            TransitionMode::Immediate,
            |env| {
                let mut request = vm_request("vm-1", BOURNEMOUTH, "gpu-a100-x2");
                request.boot_disk_size_gib = Some(10);
                env.cloud.create_vm(&env.who, "demo", request).unwrap_err()
            },
            json!({
                "code": 400,
                "status": "OUT_OF_RANGE",
                "message": "bootDiskSizeGib 10 is below the minimum of 20.",
                "details": [
                    {"@type": BAD_REQUEST, "fieldViolations": [{"field": "bootDiskSizeGib", "description": "Minimum is 20 GiB."}]},
                    info("VALUE_OUT_OF_RANGE", json!({"field": "bootDiskSizeGib", "value": "10", "minimum": "20"}))
                ]
            }),
        ),
        (
            "missing API key",
            TransitionMode::Immediate,
            |env| env.cloud.authenticate(None).unwrap_err(),
            json!({
                "code": 401,
                "status": "UNAUTHENTICATED",
                "message": "The request has no API key.",
                "details": [{"@type": ERROR_INFO, "reason": "API_KEY_MISSING", "domain": DOMAIN}]
            }),
        ),
        (
            "unknown API key",
            TransitionMode::Immediate,
            |env| env.cloud.authenticate(Some("demo-kez")).unwrap_err(),
            json!({
                "code": 401,
                "status": "UNAUTHENTICATED",
                "message": "The API key is not valid.",
                "details": [{"@type": ERROR_INFO, "reason": "API_KEY_INVALID", "domain": DOMAIN}]
            }),
        ),
        (
            "missing scope",
            TransitionMode::Immediate,
            |env| {
                let reader = env.project("demo", "read:machines", None);
                env.vm(&reader, "demo", "vm-1", "gpu-a100-x2").unwrap_err()
            },
            json!({
                "code": 403,
                "status": "PERMISSION_DENIED",
                "message": "The API key lacks the scope 'write:machines'.",
                "details": [info("API_KEY_SCOPE_MISSING", json!({"requiredScope": "write:machines"}))]
            }),
        ),
        (
            "another project",
            TransitionMode::Immediate,
            |env| env.cloud.get_vm(&env.who, "proj-b", "vm-1").unwrap_err(),
            json!({
                "code": 403,
                "status": "PERMISSION_DENIED",
                "message": "Permission denied on project 'proj-b'.",
                "details": [info("PROJECT_PERMISSION_DENIED", json!({"projectId": "proj-b"}))]
            }),
        ),
        (
            "VM not found",
            TransitionMode::Immediate,
            |env| env.cloud.get_vm(&env.who, "demo", "vm-404").unwrap_err(),
            json!({
                "code": 404,
                "status": "NOT_FOUND",
                "message": "VM 'vm-404' not found in project 'demo'.",
                "details": [info("VM_NOT_FOUND", json!({"vmId": "vm-404", "projectId": "demo"}))]
            }),
        ),
        (
            "duplicate VM id",
            TransitionMode::Immediate,
            |env| {
                env.vm(&env.who, "demo", "vm-1", "gpu-a100-x2").unwrap();
                env.vm(&env.who, "demo", "vm-1", "epyc-rome-cpu").unwrap_err()
            },
            json!({
                "code": 409,
                "status": "ALREADY_EXISTS",
                "message": "VM 'vm-1' already exists in project 'demo'.",
                "details": [info("VM_ALREADY_EXISTS", json!({"vmId": "vm-1", "projectId": "demo"}))]
            }),
        ),
        (
            "duplicate SSH key fingerprint",
            TransitionMode::Immediate,
            |env| {
                let line =
                    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcH alice@example";
                let first = env
                    .cloud
                    .create_ssh_key(&env.who, "demo", CreateSshKey { name: None, public_key: line.to_owned() })
                    .unwrap();
                // The second id of seed 1 (the first went to the bootstrap key),
                // as SplitMix64 computed by hand gives it.
                assert_eq!(first.id, "f893a2ee-fb32-455e-b1c1-8690ee42c90b");
                let same_key_new_comment = line.replace("alice@example", "bob@example");
                env.cloud
                    .create_ssh_key(&env.who, "demo", CreateSshKey { name: None, public_key: same_key_new_comment })
                    .unwrap_err()
            },
            json!({
                "code": 409,
                "status": "ALREADY_EXISTS",
                "message": "An SSH key with fingerprint 'SHA256:gNSIRW+2Iyiuvsdp/bgjy38bvWHw6wQm3tuoXrl3WjQ' already exists in project 'demo'.",
                "details": [info("SSH_KEY_ALREADY_EXISTS", json!({
                    "fingerprint": "SHA256:gNSIRW+2Iyiuvsdp/bgjy38bvWHw6wQm3tuoXrl3WjQ",
                    "projectId": "demo",
                    "sshKeyId": "f893a2ee-fb32-455e-b1c1-8690ee42c90b"
                }))]
            }),
        ),
        (
            "negative disk size",
            TransitionMode::Immediate,
            |env| env.cloud.create_disk(&env.who, "demo", disk("data-1", -5)).unwrap_err(),
            json!({
                "code": 400,
                "status": "INVALID_ARGUMENT",
                "message": "sizeGib must not be negative, got -5.",
                "details": [
                    {"@type": BAD_REQUEST, "fieldViolations": [{"field": "sizeGib", "description": "Must not be negative."}]},
                    info("VALUE_NEGATIVE", json!({"field": "sizeGib", "value": "-5"}))
                ]
            }),
        ),
        (
            "disk below the minimum size",
            TransitionMode::Immediate,
            |env| env.cloud.create_disk(&env.who, "demo", disk("data-1", 5)).unwrap_err(),
            json!({
                "code": 400,
                "status": "OUT_OF_RANGE",
                "message": "sizeGib 5 is below the minimum of 10.",
                "details": [
                    {"@type": BAD_REQUEST, "fieldViolations": [{"field": "sizeGib", "description": "Minimum is 10 GiB."}]},
                    info("VALUE_OUT_OF_RANGE", json!({"field": "sizeGib", "value": "5", "minimum": "10"}))
                ]
            }),
        ),
        (
            "disk above the maximum size",
            TransitionMode::Immediate,
            |env| env.cloud.create_disk(&env.who, "demo", disk("data-1", 70_000)).unwrap_err(),
            json!({
                "code": 400,
                "status": "OUT_OF_RANGE",
                "message": "sizeGib 70000 exceeds the maximum of 65536.",
                "details": [
                    {"@type": BAD_REQUEST, "fieldViolations": [{"field": "sizeGib", "description": "Max allowed is 65536 GiB."}]},
                    info("VALUE_OUT_OF_RANGE", json!({"field": "sizeGib", "value": "70000", "maximum": "65536"}))
                ]
            }),
        ),
        (
            "resize while attached read-only",
            TransitionMode::Immediate,
            |env| {
                env.cloud.create_disk(&env.who, "demo", disk("data-1", 50)).unwrap();
                env.vm(&env.who, "demo", "vm-1", "epyc-rome-cpu").unwrap();
                env.cloud.attach_disk(&env.who, "demo", "data-1", "vm-1", AttachMode::ReadOnly, None).unwrap();
                env.cloud.resize_disk(&env.who, "demo", "data-1", 100, None).unwrap_err()
            },
            json!({
                "code": 400,
                "status": "FAILED_PRECONDITION",
                "message": "Disk 'data-1' is attached read-only to VM 'vm-1' and cannot be resized.",
                "details": [
                    {"@type": "type.googleapis.com/google.rpc.PreconditionFailure", "violations": [{
                        "type": "DISK_ATTACHMENT",
                        "subject": "projects/demo/disks/data-1",
                        "description": "Detach the disk, or attach it read-write, before resizing it."
                    }]},
                    info("DISK_ATTACHED_READ_ONLY", json!({
                        "diskId": "data-1",
                        "vmId": "vm-1",
                        "projectId": "demo",
                        "attachMode": "READ_ONLY",
                        "operation": "RESIZE"
                    }))
                ]
            }),
        ),
        (
            "stale If-Match",
            TransitionMode::Immediate,
            |env| {
                let vm = env.vm(&env.who, "demo", "vm-1", "epyc-rome-cpu").unwrap();
                env.cloud.stop_vm(&env.who, "demo", "vm-1", Some(&vm.etag())).unwrap();
                env.cloud.start_vm(&env.who, "demo", "vm-1", Some(&vm.etag())).unwrap_err()
            },
            json!({
                "code": 409,
                "status": "ABORTED",
                "message": "VM 'vm-1' was modified concurrently: If-Match \"18bcfe56800-1\" does not match its ETag \"18bcfe56800-2\".",
                "details": [info("ETAG_MISMATCH", json!({
                    "resourceType": "vm",
                    "vmId": "vm-1",
                    "currentEtag": "\"18bcfe56800-2\"",
                    "requestEtag": "\"18bcfe56800-1\""
                }))]
            }),
        ),
        (
            "machine type out of capacity",
            TransitionMode::Immediate,
            |env| {
                env.cloud.admin().set_capacity(BOURNEMOUTH, "gpu-h100-x8", 1).unwrap();
                env.vm(&env.who, "demo", "h100-1", "gpu-h100-x8").unwrap();
                env.vm(&env.who, "demo", "h100-2", "gpu-h100-x8").unwrap_err()
            },
            json!({
                "code": 429,
                "status": "RESOURCE_EXHAUSTED",
                "message": "Machine type 'gpu-h100-x8' is not available in data center gb-bournemouth-1.",
                "details": [info("MACHINE_TYPE_UNAVAILABLE", json!({
                    "requestedMachineType": "gpu-h100-x8",
                    "availableMachineTypes": "[\"epyc-rome-cpu\",\"gpu-a100-x2\",\"gpu-a100-x4\"]",
                    "dataCenterId": "gb-bournemouth-1"
                }))]
            }),
        ),
        (
            "maintenance window",
            TransitionMode::Immediate,
            |env| {
                let end = START.saturating_add(Duration::from_secs(90));
                env.cloud.admin().set_maintenance(BOURNEMOUTH, START, end).unwrap();
                env.vm(&env.who, "demo", "vm-1", "gpu-a100-x2").unwrap_err()
            },
            json!({
                "code": 503,
                "status": "UNAVAILABLE",
                "message": "Data center 'gb-bournemouth-1' is under maintenance until 2023-11-14T22:14:50Z. Retry later.",
                "details": [
                    {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "90s"},
                    info("DATA_CENTER_MAINTENANCE", json!({
                        "dataCenterId": "gb-bournemouth-1",
                        "maintenanceEndTime": "2023-11-14T22:14:50Z"
                    }))
                ]
            }),
        ),
        (
            "image import past its deadline",
            TransitionMode::After(Duration::from_secs(600)),
            |env| {
                let request = ImportImage {
                    id: "ubuntu-custom".to_owned(),
                    data_center_id: BOURNEMOUTH.to_owned(),
                    source_url: "https://images.example/ubuntu.qcow2".to_owned(),
                    size_gib: 20,
                    description: String::new(),
                    deadline: Some(Duration::from_secs(60)),
                };
                let (_, op) = env.cloud.import_image(&env.who, "demo", request).unwrap();
                env.clock.advance(Duration::from_secs(61));
                let op = env.cloud.get_operation(&env.who, "demo", &op.id).unwrap();
                assert_eq!(op.id, "f893a2ee-fb32-455e-b1c1-8690ee42c90b");
                op.error.unwrap()
            },
            json!({
                "code": 504,
                "status": "DEADLINE_EXCEEDED",
                "message": "Operation 'f893a2ee-fb32-455e-b1c1-8690ee42c90b' did not finish before its deadline 2023-11-14T22:14:20Z.",
                "details": [info("OPERATION_DEADLINE_EXCEEDED", json!({
                    "operationId": "f893a2ee-fb32-455e-b1c1-8690ee42c90b",
                    "operationKind": "IMPORT_IMAGE",
                    "deadline": "2023-11-14T22:14:20Z"
                }))]
            }),
        ),
        (
            "VM in the wrong state",
            TransitionMode::Manual,
            |env| {
                env.vm(&env.who, "demo", "vm-1", "gpu-a100-x2").unwrap();
                env.cloud.stop_vm(&env.who, "demo", "vm-1", None).unwrap_err()
            },
            json!({
                "code": 400,
                "status": "FAILED_PRECONDITION",
                "message": "VM must be in ACTIVE before stopping.",
                "details": [info("VM_STATE_INVALID", json!({
                    "vmId": "vm-1",
                    "currentState": "PENDING",
                    "requiredState": "ACTIVE",
                    "operation": "STOP"
                }))]
            }),
        ),
        (
            "resize a VM that is neither running nor stopped",
            TransitionMode::Manual,
            |env| {
                env.vm(&env.who, "demo", "vm-1", "gpu-a100-x2").unwrap();
                let resize = canon_cloud::model::ResizeVm { vcpus: Some(8), memory_gib: None };
                env.cloud.resize_vm(&env.who, "demo", "vm-1", resize, None).unwrap_err()
            },
            json!({
                "code": 400,
                "status": "FAILED_PRECONDITION",
                "message": "VM must be in ACTIVE or STOPPED before resizing.",
                "details": [info("VM_STATE_INVALID", json!({
                    "vmId": "vm-1",
                    "currentState": "PENDING",
                    "requiredState": "ACTIVE,STOPPED",
                    "operation": "RESIZE"
                }))]
            }),
        ),
        (
            "attach across data centers",
            TransitionMode::Immediate,
            |env| {
                let mut request = disk("data-1", 50);
                request.data_center_id = "se-smedjebacken-1".to_owned();
                env.cloud.create_disk(&env.who, "demo", request).unwrap();
                env.vm(&env.who, "demo", "vm-1", "epyc-rome-cpu").unwrap();
                env.cloud.attach_disk(&env.who, "demo", "data-1", "vm-1", AttachMode::ReadWrite, None).unwrap_err()
            },
            json!({
                "code": 400,
                "status": "FAILED_PRECONDITION",
                "message": "Disk 'data-1' in data center 'se-smedjebacken-1' cannot be attached to VM 'vm-1' in data center 'gb-bournemouth-1'.",
                "details": [info("DATA_CENTER_MISMATCH", json!({
                    "diskId": "data-1",
                    "diskDataCenterId": "se-smedjebacken-1",
                    "vmId": "vm-1",
                    "vmDataCenterId": "gb-bournemouth-1"
                }))]
            }),
        ),
        (
            "unknown data center and malformed id",
            TransitionMode::Immediate,
            |env| env.cloud.create_vm(&env.who, "demo", vm_request("VM_1", "mars-1", "gpu-a100-x2")).unwrap_err(),
            json!({
                "code": 400,
                "status": "INVALID_ARGUMENT",
                "message": "Invalid fields in request.",
                "details": [
                    {"@type": BAD_REQUEST, "fieldViolations": [
                        {"field": "vmId", "description": "Must be 1 to 63 lower-case letters, digits or hyphens, starting and ending with a letter or digit."},
                        {"field": "dataCenterId", "description": "Unknown data center 'mars-1'."}
                    ]},
                    info("INVALID_FIELDS", json!({"fields": "vmId,dataCenterId"}))
                ]
            }),
        ),
    ]
}

#[test]
fn every_error_has_its_exact_body() {
    for (name, mode, scenario, expected) in table() {
        let env = Env::new(mode);
        let status = scenario(&env);
        let http_status = expected["code"].as_u64().unwrap() as u16;
        let encoded = canon::encode_with_http_status(&status, Encoding::Aip193, http_status);
        let actual: Value = serde_json::from_slice(&encoded.body).unwrap();
        assert_eq!(actual, expected, "{name}");
        assert_aip193(&status);
    }
}

#[test]
fn the_default_http_statuses_are_the_codes() {
    for (name, mode, scenario, expected) in table() {
        let status = scenario(&Env::new(mode));
        let page_override = name == "page: cluster resize outside STATE_ACTIVE";
        if !page_override {
            assert_eq!(u64::from(status.code().http_status()), expected["code"].as_u64().unwrap(), "{name}");
        }
    }
}

/// The CUDO page's own body, read by canon's decoder, says the same as
/// the emulator's error: the page puts an array into the metadata, which
/// canon reads as its JSON text, which is what the emulator writes.
#[test]
fn the_machine_type_error_reads_like_the_pages_body() {
    let page = br#"{
        "code": 400,
        "status": "INVALID_ARGUMENT",
        "message": "Machine type 'gpu-a100-x99' is not available in data center gb-bournemouth-1.",
        "details": [
            {
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": [
                    { "field": "spec.machineType", "description": "Unknown machine type 'gpu-a100-x99'" }
                ]
            },
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "domain": "compute.cudo.dev",
                "reason": "MACHINE_TYPE_UNAVAILABLE",
                "metadata": {
                    "requestedMachineType": "gpu-a100-x99",
                    "availableMachineTypes": ["gpu-a100-x2", "gpu-a100-x4"],
                    "dataCenterId": "gb-bournemouth-1"
                }
            }
        ]
    }"#;
    let page = canon::decode(400, &http::HeaderMap::new(), page).status;
    let env = Env::new(TransitionMode::Immediate);
    env.cloud.admin().set_capacity(BOURNEMOUTH, "epyc-rome-cpu", 0).unwrap();
    env.cloud.admin().set_capacity(BOURNEMOUTH, "gpu-h100-x8", 0).unwrap();
    let ours = env.vm(&env.who, "demo", "vm-1", "gpu-a100-x99").unwrap_err();
    assert_eq!(ours.code(), page.code());
    assert_eq!(ours.message(), page.message());
    assert_eq!(ours.error_info(), page.error_info());
    assert_eq!(ours.bad_request(), page.bad_request());
    assert_eq!(ours.error_info().unwrap().metadata_list("availableMachineTypes"), ["gpu-a100-x2", "gpu-a100-x4"]);
}

#[test]
fn the_maintenance_error_carries_retry_after() {
    let env = Env::new(TransitionMode::Immediate);
    let end = START.saturating_add(Duration::from_millis(4_200));
    env.cloud.admin().set_maintenance(BOURNEMOUTH, START, end).unwrap();
    let status = env.vm(&env.who, "demo", "vm-1", "gpu-a100-x2").unwrap_err();
    assert_eq!(status.retry_delay(), Some(Duration::from_secs(5)), "rounded up to whole seconds");
    let encoded = canon::encode(&status, Encoding::Aip193);
    assert!(encoded.headers.contains(&("retry-after", "5".to_owned())), "{:?}", encoded.headers);
    // Reads go on; the other data center takes writes; the window ends.
    assert!(env.cloud.list_vms(&env.who, "demo").is_ok());
    env.cloud.create_vm(&env.who, "demo", vm_request("vm-se", "se-smedjebacken-1", "gpu-a100-x2")).unwrap();
    env.clock.advance(Duration::from_millis(4_200));
    env.vm(&env.who, "demo", "vm-1", "gpu-a100-x2").unwrap();
}

#[test]
fn boot_disks_go_with_their_vm() {
    let env = Env::new(TransitionMode::Immediate);
    let vm = env.vm(&env.who, "demo", "vm-1", "gpu-a100-x2").unwrap();
    let disks = env.cloud.list_vm_disks(&env.who, "demo", "vm-1").unwrap();
    assert_eq!(disks.len(), 1);
    assert_eq!(disks[0].id, vm.boot_disk_id);
    for status in [
        env.cloud.detach_disk(&env.who, "demo", &vm.boot_disk_id, None).unwrap_err(),
        env.cloud.delete_disk(&env.who, "demo", &vm.boot_disk_id, None).unwrap_err(),
    ] {
        assert_eq!(status.code(), Code::FailedPrecondition);
        assert_eq!(status.error_info().unwrap().reason, "BOOT_DISK_NOT_DETACHABLE");
        assert_eq!(status.error_info().unwrap().metadata["vmId"], "vm-1");
        assert_aip193(&status);
    }
    env.cloud.terminate_vm(&env.who, "demo", "vm-1", None).unwrap();
    let gone = env.cloud.get_disk(&env.who, "demo", &vm.boot_disk_id).unwrap_err();
    assert_eq!(gone.code(), Code::NotFound);
}

#[test]
fn admin_errors_follow_the_same_rules() {
    let env = Env::new(TransitionMode::Immediate);
    let admin = env.cloud.admin();
    env.vm(&env.who, "demo", "vm-1", "gpu-a100-x2").unwrap();
    let statuses = [
        admin.advance(ResourceKind::Vm, "demo", "vm-1").unwrap_err(),
        admin.advance(ResourceKind::Vm, "demo", "vm-404").unwrap_err(),
        admin.set_state(ResourceKind::Vm, "demo", "vm-1", "RUNNING").unwrap_err(),
        admin.set_capacity(BOURNEMOUTH, "gpu-z", 1).unwrap_err(),
        admin.create_project(canon_cloud::admin::NewProject { id: "demo".into(), ..Default::default() }).unwrap_err(),
        admin.set_quota("ghost", BOURNEMOUTH, "gpu-a100", 1).unwrap_err(),
        admin.bootstrap(" ").unwrap_err(),
    ];
    let codes: Vec<Code> = statuses.iter().map(Status::code).collect();
    assert_eq!(
        codes,
        [
            Code::FailedPrecondition,
            Code::NotFound,
            Code::InvalidArgument,
            Code::NotFound,
            Code::AlreadyExists,
            Code::NotFound,
            Code::InvalidArgument
        ]
    );
    for status in &statuses {
        assert_aip193(status);
    }
}
