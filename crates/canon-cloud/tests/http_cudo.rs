//! The CUDO surface over real HTTP: the tour a client takes, the exact
//! bodies of the CUDO page's errors, every row of its "Testing errors"
//! table, isolation between projects, the grpc-gateway switch and the
//! configurable ErrorInfo domain.

mod http_support;

use canon::Encoding;
use canon_cloud::clock::TransitionMode;
use http_support::*;
use serde_json::{Value, json};

const ED25519: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcH alice@example";
const RANDOM_UUID: &str = "9d2b4c1e-7f3a-4e58-8b6d-0c1f2e3a4b5c";

fn ids(list: &Value, field: &str) -> Vec<String> {
    list[field].as_array().unwrap().iter().map(|item| item["id"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn a_client_tours_projects_catalog_vms_disks_ssh_keys_and_clusters() {
    let server = Server::start().await;

    let projects = server.get("/v1/projects").await;
    assert_eq!(
        projects.json(),
        json!({"projects": [{"id": "demo", "billingAccountId": "billing-demo"}], "pageToken": "", "pageSize": 100})
    );
    assert_eq!(server.get("/v1/projects/demo").await.json()["id"], "demo");

    let data_centers = server.get("/v1/data-centers").await.json();
    assert_eq!(ids(&data_centers, "dataCenters"), ["gb-bournemouth-1", "se-smedjebacken-1"]);
    let dc = &data_centers["dataCenters"][0];
    for field in ["oneFrontendId", "s3Endpoint", "regionId", "supplierName"] {
        assert!(dc[field].is_string(), "{field}: {dc}");
    }
    let types = server.get(&format!("/v1/data-centers/{DC}/machine-types")).await.json();
    let names: Vec<&str> =
        types["machineTypes"].as_array().unwrap().iter().map(|t| t["machineType"].as_str().unwrap()).collect();
    assert_eq!(names, ["epyc-rome-cpu", "gpu-a100-x2", "gpu-a100-x4", "gpu-h100-x8"]);
    let detail = server.get(&format!("/v1/data-centers/{DC}/machine-types/gpu-a100-x4")).await.json();
    assert_eq!((detail["countHosts"].as_u64(), detail["gpuModels"].clone()), (Some(4), json!(["A100 80GB PCIe"])));
    let vm_types = server.get("/v1/vms/machine-types-2").await.json();
    let a100 = vm_types["machineTypes"].as_array().unwrap().iter().find(|t| t["machineType"] == "gpu-a100-x4").unwrap();
    assert_eq!((a100["totalGpuFree"].as_u64(), a100["gpuPriceHr"]["value"].as_str()), (Some(16), Some("1.5")));
    assert_eq!(server.get("/v1/vms/machine-types").await.json(), vm_types);
    assert_eq!(ids(&server.get("/v1/vms/data-centers").await.json(), "dataCenters").len(), 2);
    assert_eq!(
        ids(&server.get("/v1/vms/gpu-models").await.json(), "gpuModels"),
        ["gpu-a100", "gpu-h100", "gpu-rtx-a6000"]
    );

    let created = server
        .post(
            "/v1/projects/demo/vm",
            json!({"vmId": "trainer", "dataCenterId": DC, "machineType": "gpu-a100-x2", "vcpus": 8, "memoryGib": 32,
                   "gpus": 2, "bootDisk": {"sizeGib": 40}, "bootDiskImageId": "ubuntu-2204", "metadata": {"team": "ml"}}),
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.text);
    let vm = created.json();
    assert_eq!(vm["id"], "trainer");
    let expected = json!({"id": "trainer", "projectId": "demo", "datacenterId": DC, "machineType": "gpu-a100-x2",
        "vcpus": 8, "memory": 32, "gpuQuantity": 2, "gpuModel": "A100 80GB PCIe", "gpuModelId": "gpu-a100",
        "bootDiskSizeGib": 40, "imageId": "ubuntu-2204", "state": "ACTIVE", "shortState": "active",
        "metadata": {"team": "ml"}, "commitmentTerm": "COMMITMENT_TERM_NONE", "createTime": "2023-11-14T22:13:20Z"});
    for (field, value) in expected.as_object().unwrap() {
        assert_eq!(&vm["vm"][field], value, "{field}");
    }
    assert_eq!(vm["vm"]["bootDisk"]["diskType"], "DISK_TYPE_BOOT");
    assert_eq!(vm["vm"]["price"]["totalGpuPriceHr"]["value"], "3");

    let got = server.get("/v1/projects/demo/vms/trainer").await;
    let etag = got.header("etag").unwrap().to_owned();
    assert_eq!(got.json()["VM"], vm["vm"]);
    assert_eq!(got.json()["totalPriceHr"], vm["vm"]["price"]["totalPriceHr"]);
    assert_eq!(ids(&server.get("/v1/projects/demo/vms").await.json(), "VMs"), ["trainer"]);

    assert_eq!(server.post("/v1/projects/demo/vms/trainer/stop", json!({})).await.json(), json!({}));
    assert_eq!(server.get("/v1/projects/demo/vms/trainer").await.json()["VM"]["state"], "STOPPED");
    let stale =
        server.send("POST", "/v1/projects/demo/vms/trainer/start", Some(KEY), None, &[("if-match", &etag)]).await;
    assert_eq!((stale.status, stale.json()["status"].as_str()), (409, Some("ABORTED")));
    // A read after a change sends the new version's ETag, which a write
    // then accepts.
    let current = server.get("/v1/projects/demo/vms/trainer").await.header("etag").unwrap().to_owned();
    assert_ne!(current, etag);
    let started =
        server.send("POST", "/v1/projects/demo/vms/trainer/start", Some(KEY), None, &[("if-match", &current)]).await;
    assert_eq!(started.status, 200, "{}", started.text);
    let resized = server.post("/v1/projects/demo/vms/trainer/resize?vcpus=12&memoryGib=64", json!({})).await;
    assert_eq!((resized.json()["vm"]["vcpus"].as_u64(), resized.json()["vm"]["memory"].as_u64()), (Some(12), Some(64)));

    let disk = server
        .post("/v1/projects/demo/disks", json!({"dataCenterId": DC, "disk": {"id": "scratch", "sizeGib": 100}}))
        .await;
    assert_eq!((disk.status, disk.json()), (200, json!({})));
    let flat = server.post("/v1/projects/demo/disks", json!({"id": "flat", "dataCenterId": DC, "sizeGib": 10})).await;
    assert_eq!(flat.status, 200, "{}", flat.text);
    let attach = server.call("PATCH", "/v1/projects/demo/disk/scratch/attach?vmId=trainer", Some(KEY), None).await;
    assert_eq!(attach.status, 200, "{}", attach.text);
    let disk = server.get("/v1/projects/demo/disks/scratch").await.json();
    assert_eq!(
        (disk["disk"]["diskState"].as_str(), disk["disk"]["vmId"].as_str()),
        (Some("ATTACHED"), Some("trainer"))
    );
    // One VM reads as the list shows it, its storage disk included.
    let one = server.get("/v1/projects/demo/vms/trainer").await.json();
    let listed = server.get("/v1/projects/demo/vms").await.json();
    assert_eq!(one["VM"], listed["VMs"][0]);
    assert_eq!(ids(&one["VM"], "storageDisks"), ["scratch"]);
    let vm_disks = server.get("/v1/projects/demo/vms/trainer/disks").await.json();
    assert_eq!(vm_disks["disks"].as_array().unwrap().len(), 2);
    let listed = server.get("/v1/projects/demo/vms").await.json();
    assert_eq!(listed["VMs"][0]["storageDisks"][0]["id"], "scratch");
    assert_eq!(listed["VMs"][0]["bootDisk"], vm["vm"]["bootDisk"]);
    assert_eq!(listed["VMs"][0], server.get("/v1/projects/demo/vms/trainer").await.json()["VM"]);
    let grow =
        server.call("PATCH", "/v1/projects/demo/vms/trainer/disks?diskId=scratch&sizeGib=200", Some(KEY), None).await;
    assert_eq!(grow.status, 200, "{}", grow.text);
    assert_eq!(server.call("PUT", "/v1/projects/demo/disk/scratch/detach", Some(KEY), None).await.status, 200);
    let disks = server.get("/v1/projects/demo/disks?pageSize=2").await.json();
    assert_eq!(
        (disks["totalCount"].as_u64(), disks["pageNumber"].as_u64(), disks["pageSize"].as_u64()),
        (Some(3), Some(1), Some(2))
    );
    assert_eq!(server.call("DELETE", "/v1/projects/demo/disks/flat", Some(KEY), None).await.status, 200);

    let key = server.post("/v1/ssh-keys", json!({"publicKey": ED25519})).await.json();
    let key_id = key["id"].as_str().unwrap();
    assert_eq!((key["type"].as_str(), key["comment"].as_str()), (Some("ssh-ed25519"), Some("alice@example")));
    assert_eq!(ids(&server.get("/v1/ssh-keys").await.json(), "sshKeys"), [key_id]);
    assert_eq!(ids(&server.get("/v1/project/demo/ssh-keys").await.json(), "sshKeys"), [key_id]);
    assert_eq!(server.get(&format!("/v1/ssh-keys/{key_id}")).await.json(), key);
    assert_eq!(server.call("DELETE", &format!("/v1/ssh-keys/{key_id}"), Some(KEY), None).await.status, 200);

    let cluster = server
        .post(
            "/v1/projects/demo/clusters",
            json!({"id": "c1", "dataCenterId": DC, "machineTypeId": "gpu-a100-x2", "machineCount": 2}),
        )
        .await
        .json();
    assert_eq!((cluster["state"].as_str(), cluster["totalGpus"].as_u64()), (Some("ACTIVE"), Some(4)));
    let patched =
        server.call("PATCH", "/v1/projects/demo/clusters/c1", Some(KEY), Some(json!({"machineCount": 1}))).await;
    assert_eq!(patched.json()["machineCount"], 1);
    assert_eq!(ids(&server.get("/v1/projects/demo/clusters").await.json(), "clusters"), ["c1"]);
    assert_eq!(server.call("DELETE", "/v1/projects/demo/clusters/c1", Some(KEY), None).await.status, 200);

    assert_eq!(server.post("/v1/projects/demo/vms/trainer/terminate", json!({})).await.status, 200);
    assert_eq!(server.get("/v1/projects/demo/vms/trainer").await.status, 404);
    assert_eq!(server.get("/v1/projects/demo/vms").await.json(), json!({"VMs": []}));
}

// The CUDO page's "Testing errors" table, row by row, exactly as written.

#[tokio::test]
async fn testing_errors_invalid_argument_supply_a_negative_disk_size_gb() {
    let server = Server::start().await;
    let table = [
        (json!({"id": "scratch", "dataCenterId": DC, "diskSizeGb": -5}), "diskSizeGb"),
        (json!({"dataCenterId": DC, "disk": {"id": "scratch", "diskSizeGb": -5}}), "disk.diskSizeGb"),
        (json!({"dataCenterId": DC, "disk": {"id": "scratch", "sizeGib": -5}}), "disk.sizeGib"),
    ];
    for (body, field) in table {
        let reply = server.post("/v1/projects/demo/disks", body).await;
        reply.assert_error(
            400,
            json!({
                "code": 400,
                "status": "INVALID_ARGUMENT",
                "message": format!("{field} must not be negative, got -5."),
                "details": [
                    {"@type": BAD_REQUEST, "fieldViolations": [{"field": field, "description": "Must not be negative."}]},
                    info("VALUE_NEGATIVE", json!({"field": field, "value": "-5"})),
                ]
            }),
        );
    }
}

#[tokio::test]
async fn testing_errors_not_found_use_a_random_uuid_for_a_volume_id() {
    let server = Server::start().await;
    let reply = server.get(&format!("/v1/projects/demo/disks/{RANDOM_UUID}")).await;
    reply.assert_error(
        404,
        json!({
            "code": 404,
            "status": "NOT_FOUND",
            "message": format!("Disk '{RANDOM_UUID}' not found in project 'demo'."),
            "details": [info("DISK_NOT_FOUND", json!({"diskId": RANDOM_UUID, "projectId": "demo"}))]
        }),
    );
}

#[tokio::test]
async fn testing_errors_unauthenticated_omit_the_authorization_header() {
    let server = Server::start().await;
    for (method, path) in [("GET", "/v1/projects"), ("GET", "/v1/projects/demo/vms"), ("POST", "/v1/projects/demo/vm")]
    {
        let reply = server.call(method, path, None, Some(json!({}))).await;
        reply.assert_error(
            401,
            json!({
                "code": 401,
                "status": "UNAUTHENTICATED",
                "message": "The request has no API key.",
                "details": [info("API_KEY_MISSING", json!({}))]
            }),
        );
    }
    let wrong = [
        ("Bearer nope", "API_KEY_INVALID"),
        ("Basic ZGVtbzprZXk=", "API_KEY_INVALID"),
        ("demo-key", "API_KEY_INVALID"),
    ];
    for (value, reason) in wrong {
        let reply = server.send("GET", "/v1/projects", None, None, &[("authorization", value)]).await;
        assert_eq!((reply.status, reply.json()["details"][0]["reason"].as_str()), (401, Some(reason)), "{value}");
    }
}

#[tokio::test]
async fn testing_errors_permission_denied_use_an_api_key_lacking_the_required_scope() {
    let server = Server::start().await;
    let reader = server.key("demo", "read:machines").await;
    assert_eq!(server.call("GET", "/v1/projects/demo/vms", Some(&reader), None).await.status, 200);
    let body = json!({"vmId": "vm-1", "dataCenterId": DC, "machineType": "gpu-a100-x2"});
    let reply = server.call("POST", "/v1/projects/demo/vm", Some(&reader), Some(body)).await;
    reply.assert_error(
        403,
        json!({
            "code": 403,
            "status": "PERMISSION_DENIED",
            "message": "The API key lacks the scope 'write:machines'.",
            "details": [info("API_KEY_SCOPE_MISSING", json!({"requiredScope": "write:machines"}))]
        }),
    );
}

#[tokio::test]
async fn testing_errors_resource_exhausted_create_resources_until_the_published_quota() {
    let server = Server::start().await;
    let quotas = server.admin("GET", "/_canon/projects/demo/quotas", None).await;
    let quota = quotas["quotas"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["dataCenterId"] == DC && q["gpuModelId"] == "gpu-a100")
        .unwrap()
        .clone();
    assert_eq!((quota["limit"].as_u64(), quota["used"].as_u64()), (Some(16), Some(0)));
    for n in 0..8 {
        server.create_vm(&format!("vm-{n}"), "gpu-a100-x2").await;
    }
    let reply = server
        .post("/v1/projects/demo/vm", json!({"vmId": "vm-8", "dataCenterId": DC, "machineType": "gpu-a100-x2"}))
        .await;
    reply.assert_error(
        429,
        json!({
            "code": 429,
            "status": "RESOURCE_EXHAUSTED",
            "message": "GPU quota exceeded for project 'demo' in dataCenterId 'gb-bournemouth-1'.",
            "details": [
                {"@type": QUOTA_FAILURE, "violations": [{
                    "subject": "projects/demo/dataCenterIds/gb-bournemouth-1/gpuModelId:gpu-a100",
                    "description": "Limit 16 reached"
                }]},
                {"@type": RETRY_INFO, "retryDelay": "30s"},
                info("GPU_QUOTA_EXCEEDED", json!({"projectId": "demo", "dataCenterId": DC, "gpuModelId": "gpu-a100",
                    "limit": "16", "used": "16", "requested": "2"})),
            ]
        }),
    );
    assert_eq!(reply.header("retry-after"), Some("30"));
}

#[tokio::test]
async fn testing_errors_unavailable_during_an_announced_maintenance_window() {
    let server = Server::start().await;
    let window = server.admin("PUT", &format!("/_canon/maintenance/{DC}"), Some(json!({"duration": "10m"}))).await;
    assert_eq!(
        window,
        json!({"dataCenterId": DC, "startsAt": "2023-11-14T22:13:20Z", "endsAt": "2023-11-14T22:23:20Z", "active": true})
    );
    let reply = server
        .post("/v1/projects/demo/vm", json!({"vmId": "vm-1", "dataCenterId": DC, "machineType": "gpu-a100-x2"}))
        .await;
    reply.assert_error(
        503,
        json!({
            "code": 503,
            "status": "UNAVAILABLE",
            "message": "Data center 'gb-bournemouth-1' is under maintenance until 2023-11-14T22:23:20Z. Retry later.",
            "details": [
                {"@type": RETRY_INFO, "retryDelay": "600s"},
                info("DATA_CENTER_MAINTENANCE", json!({"dataCenterId": DC, "maintenanceEndTime": "2023-11-14T22:23:20Z"})),
            ]
        }),
    );
    assert_eq!(reply.header("retry-after"), Some("600"));
    // Reads still work; writes elsewhere too; the window ends.
    assert_eq!(server.get("/v1/projects/demo/vms").await.status, 200);
    let elsewhere = server
        .post(
            "/v1/projects/demo/vm",
            json!({"vmId": "vm-2", "dataCenterId": "se-smedjebacken-1", "machineType": "gpu-a100-x2"}),
        )
        .await;
    assert_eq!(elsewhere.status, 200);
    server.admin("DELETE", &format!("/_canon/maintenance/{DC}"), None).await;
    server.create_vm("vm-1", "gpu-a100-x2").await;
}

#[tokio::test]
async fn testing_errors_unavailable_by_fault_injection() {
    let server = Server::start().await;
    let reply = server
        .send("GET", "/v1/projects", Some(KEY), None, &[("x-canon-fault", "code=UNAVAILABLE; retry-after=5")])
        .await;
    reply.assert_error(
        503,
        json!({
            "code": 503,
            "status": "UNAVAILABLE",
            "message": "The service is temporarily unavailable.",
            "details": [{"@type": RETRY_INFO, "retryDelay": "5s"}, info("FAULT_INJECTED", json!({"faultSource": "header"}))]
        }),
    );
    assert_eq!(reply.header("retry-after"), Some("5"));
}

// The CUDO page's example bodies.

#[tokio::test]
async fn the_page_examples_come_out_exactly() {
    let server = Server::with(Setup { transitions: TransitionMode::Manual, ..Setup::default() }).await;
    let key = server.key("proj-123", "*").await;
    let call = |method: &'static str, path: &'static str, body: Option<Value>| {
        let key = key.clone();
        let server = &server;
        async move { server.call(method, path, Some(&key), body).await }
    };

    // INVALID_ARGUMENT: an unknown machine type, with the types available.
    server.admin("PUT", &format!("/_canon/capacity/{DC}/epyc-rome-cpu"), Some(json!({"capacity": 0}))).await;
    server.admin("PUT", &format!("/_canon/capacity/{DC}/gpu-h100-x8"), Some(json!({"capacity": 0}))).await;
    let reply = call(
        "POST",
        "/v1/projects/proj-123/vm",
        Some(json!({"vmId": "vm-1", "dataCenterId": DC, "machineType": "gpu-a100-x99"})),
    )
    .await;
    let mut body = json!({
        "code": 400,
        "status": "INVALID_ARGUMENT",
        "message": "Machine type 'gpu-a100-x99' is not available in data center gb-bournemouth-1.",
        "details": [
            {"@type": BAD_REQUEST, "fieldViolations": [{"field": "spec.machineType", "description": "Unknown machine type 'gpu-a100-x99'"}]},
            info("MACHINE_TYPE_UNAVAILABLE", json!({"requestedMachineType": "gpu-a100-x99",
                "availableMachineTypes": "[\"gpu-a100-x2\",\"gpu-a100-x4\"]", "dataCenterId": DC})),
        ]
    });
    reply.assert_error(400, body.clone());

    // OUT_OF_RANGE: machineCount 200.
    let reply = call(
        "POST",
        "/v1/projects/proj-123/clusters",
        Some(json!({"id": "big", "dataCenterId": DC, "machineTypeId": "gpu-a100-x2", "machineCount": 200})),
    )
    .await;
    body = json!({
        "code": 400,
        "status": "OUT_OF_RANGE",
        "message": "machineCount 200 exceeds the maximum of 128.",
        "details": [
            {"@type": BAD_REQUEST, "fieldViolations": [{"field": "machineCount", "description": "Max allowed is 128."}]},
            info("VALUE_OUT_OF_RANGE", json!({"field": "machineCount", "value": "200", "maximum": "128"})),
        ]
    });
    reply.assert_error(400, body);

    // FAILED_PRECONDITION (409): resizing a cluster that is updating.
    let made = call(
        "POST",
        "/v1/projects/proj-123/clusters",
        Some(json!({"id": "clu-abc123", "dataCenterId": DC, "machineTypeId": "gpu-a100-x2", "machineCount": 1})),
    )
    .await;
    assert_eq!(made.json()["state"], "CREATING");
    server
        .admin(
            "POST",
            "/_canon/transitions:advance",
            Some(json!({"kind": "cluster", "projectId": "proj-123", "id": "clu-abc123"})),
        )
        .await;
    let resize = call("PATCH", "/v1/projects/proj-123/clusters/clu-abc123", Some(json!({"machineCount": 2}))).await;
    assert_eq!(resize.json()["state"], "UPDATING");
    let reply = call("PATCH", "/v1/projects/proj-123/clusters/clu-abc123", Some(json!({"machineCount": 3}))).await;
    reply.assert_error(
        409,
        json!({
            "code": 409,
            "status": "FAILED_PRECONDITION",
            "message": "Cluster must be in STATE_ACTIVE before resizing.",
            "details": [info("CLUSTER_STATE_INVALID", json!({"clusterId": "clu-abc123", "currentState": "STATE_UPDATING",
                "requiredState": "STATE_ACTIVE", "operation": "RESIZE"}))]
        }),
    );

    // NOT_FOUND: a cluster that is not there.
    let reply = call("GET", "/v1/projects/proj-123/clusters/clu-missing99", None).await;
    reply.assert_error(
        404,
        json!({
            "code": 404,
            "status": "NOT_FOUND",
            "message": "Cluster 'clu-missing99' not found in project 'proj-123'.",
            "details": [info("CLUSTER_NOT_FOUND", json!({"clusterId": "clu-missing99", "projectId": "proj-123"}))]
        }),
    );

    // ALREADY_EXISTS: an SSH key fingerprint already present.
    let first = call("POST", "/v1/ssh-keys", Some(json!({"publicKey": ED25519}))).await.json();
    let reply = call("POST", "/v1/ssh-keys", Some(json!({"publicKey": ED25519}))).await;
    let fingerprint = first["fingerprint"].as_str().unwrap();
    reply.assert_error(
        409,
        json!({
            "code": 409,
            "status": "ALREADY_EXISTS",
            "message": format!("An SSH key with fingerprint '{fingerprint}' already exists in project 'proj-123'."),
            "details": [info("SSH_KEY_ALREADY_EXISTS", json!({"fingerprint": fingerprint, "projectId": "proj-123", "sshKeyId": first["id"]}))]
        }),
    );
}

#[tokio::test]
async fn a_read_only_attachment_blocks_a_resize_with_a_precondition_failure() {
    let server = Server::start().await;
    server.create_vm("vm-1", "epyc-rome-cpu").await;
    server.post("/v1/projects/demo/disks", json!({"id": "data", "dataCenterId": DC, "sizeGib": 50})).await;
    let attach = server
        .call("PATCH", "/v1/projects/demo/disk/data/attach?vmId=vm-1&attachMode=READ_ONLY", Some(KEY), None)
        .await;
    assert_eq!(attach.status, 200, "{}", attach.text);
    let reply = server.call("PATCH", "/v1/projects/demo/vms/vm-1/disks?diskId=data&sizeGib=80", Some(KEY), None).await;
    assert_eq!((reply.status, reply.json()["status"].as_str()), (400, Some("FAILED_PRECONDITION")), "{}", reply.text);
    assert_eq!(reply.json()["details"][0]["@type"], "type.googleapis.com/google.rpc.PreconditionFailure");
}

#[tokio::test]
async fn a_key_sees_only_its_own_project_whether_or_not_the_resource_exists() {
    let server = Server::start().await;
    server.create_vm("secret-vm", "epyc-rome-cpu").await;
    let mine = server.post("/v1/ssh-keys", json!({"publicKey": ED25519})).await.json();
    let other = server.key("other", "*").await;
    let denied = json!({
        "code": 403,
        "status": "PERMISSION_DENIED",
        "message": "Permission denied on project 'demo'.",
        "details": [info("PROJECT_PERMISSION_DENIED", json!({"projectId": "demo"}))]
    });
    for path in [
        "/v1/projects/demo/vms/secret-vm",
        "/v1/projects/demo/vms/no-such-vm",
        "/v1/projects/demo/vms",
        "/v1/projects/demo",
    ] {
        server.call("GET", path, Some(&other), None).await.assert_error(403, denied.clone());
    }
    let terminate = server.call("POST", "/v1/projects/demo/vms/secret-vm/terminate", Some(&other), None).await;
    terminate.assert_error(403, denied);
    let nowhere = server.call("GET", "/v1/projects/nowhere/vms", Some(&other), None).await;
    assert_eq!(nowhere.status, 403);
    // SSH keys have no project in their paths: the other key's project has none.
    let id = mine["id"].as_str().unwrap();
    let reply = server.call("GET", &format!("/v1/ssh-keys/{id}"), Some(&other), None).await;
    assert_eq!((reply.status, reply.json()["details"][0]["reason"].as_str()), (404, Some("SSH_KEY_NOT_FOUND")));
    assert_eq!(server.call("GET", "/v1/ssh-keys", Some(&other), None).await.json()["sshKeys"], json!([]));
    assert_eq!(server.call("GET", "/v1/projects", Some(&other), None).await.json()["projects"][0]["id"], "other");
    // The VM is untouched.
    assert_eq!(server.get("/v1/projects/demo/vms/secret-vm").await.json()["VM"]["state"], "ACTIVE");
}

#[tokio::test]
async fn grpc_gateway_mode_writes_the_grpc_code_number_and_no_status() {
    let server = Server::with(Setup { encoding: Encoding::GrpcGateway, ..Setup::default() }).await;
    let reply = server.call("GET", "/v1/projects", None, None).await;
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.json(),
        json!({
            "code": 16,
            "message": "The request has no API key.",
            "details": [info("API_KEY_MISSING", json!({})), {"@type": REQUEST_INFO, "requestId": reply.request_id()}]
        })
    );
    let missing = server.get("/v1/projects/demo/vms/nope").await;
    assert_eq!((missing.status, missing.json()["code"].as_i64()), (404, Some(5)));
}

#[tokio::test]
async fn the_error_info_domain_is_configurable() {
    let server = Server::with(Setup { domain: "compute.example.test".to_owned(), ..Setup::default() }).await;
    let table = [
        server.call("GET", "/v1/projects", None, None).await,
        server.get("/v1/projects/demo/vms/nope").await,
        server.get("/v1/no/such/route").await,
        server.send("GET", "/v1/projects", Some(KEY), None, &[("x-canon-fault", "INTERNAL")]).await,
        server.call("POST", "/v1/projects/demo/vm", Some(KEY), Some(json!({"vmId": 7}))).await,
    ];
    for reply in table {
        let details = reply.json()["details"].clone();
        let info = details.as_array().unwrap().iter().find(|d| d["@type"] == ERROR_INFO).unwrap().clone();
        assert_eq!(info["domain"], "compute.example.test", "{}", reply.text);
    }
}

#[tokio::test]
async fn paging_walks_token_and_number_lists_and_refuses_bad_parameters() {
    let server = Server::start().await;
    let first = server.get("/v1/data-centers?pageSize=1").await.json();
    assert_eq!((ids(&first, "dataCenters"), first["pageToken"].as_str()), (vec![DC.to_owned()], Some("1")));
    let second = server.get("/v1/data-centers?pageSize=1&pageToken=1").await.json();
    assert_eq!(
        (ids(&second, "dataCenters"), second["pageToken"].as_str()),
        (vec!["se-smedjebacken-1".to_owned()], Some(""))
    );
    for path in
        ["/v1/data-centers?pageToken=garbage", "/v1/data-centers?pageSize=-1", "/v1/projects/demo/disks?pageNumber=-1"]
    {
        let reply = server.get(path).await;
        assert_eq!((reply.status, reply.json()["status"].as_str()), (400, Some("INVALID_ARGUMENT")), "{path}");
    }
    let typed = server.get("/v1/projects/demo/disks?pageSize=lots").await;
    assert_eq!(typed.json()["details"][1]["fieldViolations"][0]["field"], "pageSize", "{}", typed.text);
}
