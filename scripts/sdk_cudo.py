"""Drives the real `cudo-compute` Python SDK against `canon serve`.

Usage: sdk_cudo.py BASE_URL API_KEY

The SDK is swagger-generated and reads responses strictly: a model whose
required field is missing raises. The tour lists projects, data centers
and machine types, creates a VM, gets it, lists VMs, stops, starts and
terminates it, creates and lists disks and SSH keys. Then each error the
CUDO page documents is triggered through the SDK and must arrive as an
`ApiException` whose JSON body equals the AIP-193 body expected, request
id included (taken from the response's x-request-id header).

Prints one line per check and finally `N passed, M failed`; exits 1 on
any failure.
"""

import json
import sys
import traceback
import urllib.request

import cudo_compute as cudo
from cudo_compute.rest import ApiException

BASE, KEY = sys.argv[1], sys.argv[2]
PROJECT = "demo"
DC = "gb-bournemouth-1"
DOMAIN = "compute.cudo.dev"
ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
REQUEST_INFO = "type.googleapis.com/google.rpc.RequestInfo"
BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest"
QUOTA_FAILURE = "type.googleapis.com/google.rpc.QuotaFailure"
RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"
PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl sdk@canon"

passed = 0
failed = 0


def check(name, fn):
    global passed, failed
    try:
        fn()
        print(f"ok   {name}")
        passed += 1
    except Exception as error:  # noqa: BLE001 - every failure is reported
        print(f"FAIL {name}: {error}")
        traceback.print_exc(limit=2, file=sys.stdout)
        failed += 1


def client(key=KEY, headers=None):
    configuration = cudo.Configuration()
    configuration.host = BASE
    if key is not None:
        configuration.api_key["Authorization"] = key
        configuration.api_key_prefix["Authorization"] = "Bearer"
    api = cudo.ApiClient(configuration)
    for name, value in (headers or {}).items():
        api.set_default_header(name, value)
    return api


def admin(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(BASE + path, data=data, method=method)
    request.add_header("content-type", "application/json")
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read() or b"null")


def expect_error(call, status, expected_body):
    """Runs `call`, which must raise ApiException with this HTTP status and
    exactly this body once the request id from x-request-id is added."""
    try:
        call()
    except ApiException as error:
        assert error.status == status, f"status {error.status}, body {error.body}"
        headers = {k.lower(): v for k, v in error.headers.items()}
        request_id = headers["x-request-id"]
        body = json.loads(error.body)
        expected = json.loads(json.dumps(expected_body))
        expected["details"].append({"@type": REQUEST_INFO, "requestId": request_id})
        assert body == expected, f"\n got  {json.dumps(body)}\n want {json.dumps(expected)}"
        return error
    raise AssertionError("no ApiException")


def info(reason, metadata=None):
    detail = {"@type": ERROR_INFO, "reason": reason, "domain": DOMAIN}
    if metadata:
        detail["metadata"] = metadata
    return detail


api = client()
projects = cudo.ProjectsApi(api)
data_centers = cudo.DataCentersApi(api)
machine_types = cudo.MachineTypesApi(api)
vms = cudo.VirtualMachinesApi(api)
disks = cudo.DisksApi(api)
ssh_keys = cudo.SSHKeysApi(api)


def vm_body(vm_id, machine_type="gpu-a100-x2", gpus=2):
    return cudo.CreateVMBody(
        data_center_id=DC,
        machine_type=machine_type,
        vm_id=vm_id,
        boot_disk_image_id="ubuntu-2204",
        vcpus=4,
        memory_gib=16,
        gpus=gpus,
        boot_disk=cudo.Disk(size_gib=40),
    )


# The tour.


def list_projects():
    response = projects.list_projects()
    assert [p.id for p in response.projects] == [PROJECT], response
    assert response.page_token == ""
    assert projects.get_project(PROJECT).billing_account_id


def list_data_centers():
    response = data_centers.list_data_centers()
    ids = [dc.id for dc in response.data_centers]
    assert DC in ids, ids
    assert data_centers.get_data_center(DC).s3_endpoint


def list_machine_types():
    response = machine_types.list_machine_types(DC)
    names = [mt.machine_type for mt in response.machine_types]
    assert "gpu-a100-x2" in names, names
    detail = machine_types.get_machine_type(DC, "gpu-a100-x2")
    assert detail.count_hosts > 0


def list_vm_catalog():
    dcs = vms.list_vm_data_centers()
    assert DC in [dc.id for dc in dcs.data_centers]
    types = vms.list_vm_machine_types2()
    assert any(mt.machine_type == "gpu-a100-x4" and mt.total_gpu_free > 0 for mt in types.machine_types)
    models = vms.list_vm_gpu_models()
    assert "gpu-a100" in [m.id for m in models.gpu_models]


def create_get_list_vm():
    created = vms.create_vm(PROJECT, vm_body("sdk-vm-1"))
    assert created.id == "sdk-vm-1"
    assert created.vm.state == "ACTIVE", created.vm.state
    got = vms.get_vm(PROJECT, "sdk-vm-1")
    assert got.vm.id == "sdk-vm-1" and got.vm.vcpus == 4 and got.vm.boot_disk_size_gib == 40, got.vm
    assert got.total_price_hr.value
    listed = vms.list_vms(PROJECT)
    assert "sdk-vm-1" in [vm.id for vm in listed.vms], listed
    assert [d.disk_type for d in vms.list_vm_disks(PROJECT, "sdk-vm-1").disks] == ["DISK_TYPE_BOOT"]


def stop_start_terminate_vm():
    vms.stop_vm(PROJECT, "sdk-vm-1")
    assert vms.get_vm(PROJECT, "sdk-vm-1").vm.state == "STOPPED"
    vms.start_vm(PROJECT, "sdk-vm-1")
    assert vms.get_vm(PROJECT, "sdk-vm-1").vm.state == "ACTIVE"
    vms.terminate_vm(PROJECT, "sdk-vm-1")
    assert "sdk-vm-1" not in [vm.id for vm in (vms.list_vms(PROJECT).vms or [])]


def create_list_disks():
    body = cudo.CreateStorageDiskBody(data_center_id=DC, disk=cudo.Disk(id="sdk-disk-1", size_gib=50))
    disks.create_storage_disk(PROJECT, body)
    listed = disks.list_disks(PROJECT)
    assert "sdk-disk-1" in [d.id for d in listed.disks], listed
    assert listed.total_count >= 1 and listed.page_number == 1
    got = disks.get_disk(PROJECT, "sdk-disk-1")
    assert got.disk.size_gib == 50 and got.disk.disk_state == "READY", got


def create_list_ssh_keys():
    created = ssh_keys.create_ssh_key(cudo.SshKey(public_key=PUBLIC_KEY))
    assert created.fingerprint.startswith("SHA256:"), created
    listed = ssh_keys.list_ssh_keys()
    assert created.id in [k.id for k in listed.ssh_keys], listed
    assert ssh_keys.get_ssh_key(created.id).public_key == PUBLIC_KEY
    assert created.id in [k.id for k in projects.list_project_ssh_keys(PROJECT).ssh_keys]
    ssh_keys.delete_ssh_key(created.id)
    assert created.id not in [k.id for k in ssh_keys.list_ssh_keys().ssh_keys]


# The errors.


def unauthenticated():
    anonymous = cudo.ProjectsApi(client(key=None))
    expect_error(
        anonymous.list_projects,
        401,
        {
            "code": 401,
            "status": "UNAUTHENTICATED",
            "message": "The request has no API key.",
            "details": [info("API_KEY_MISSING")],
        },
    )
    wrong = cudo.ProjectsApi(client(key="ck_not-a-key"))
    expect_error(
        wrong.list_projects,
        401,
        {
            "code": 401,
            "status": "UNAUTHENTICATED",
            "message": "The API key is not valid.",
            "details": [info("API_KEY_INVALID")],
        },
    )


def permission_denied():
    made = admin("POST", f"/_canon/projects/{PROJECT}/keys", {"name": "read-only", "scopes": ["read:machines"]})
    reader = cudo.VirtualMachinesApi(client(key=made["secret"]))
    reader.list_vms(PROJECT)
    expect_error(
        lambda: reader.create_vm(PROJECT, vm_body("sdk-denied")),
        403,
        {
            "code": 403,
            "status": "PERMISSION_DENIED",
            "message": "The API key lacks the scope 'write:machines'.",
            "details": [info("API_KEY_SCOPE_MISSING", {"requiredScope": "write:machines"})],
        },
    )
    expect_error(
        lambda: vms.list_vms("someone-else"),
        403,
        {
            "code": 403,
            "status": "PERMISSION_DENIED",
            "message": "Permission denied on project 'someone-else'.",
            "details": [info("PROJECT_PERMISSION_DENIED", {"projectId": "someone-else"})],
        },
    )


def not_found():
    volume = "4f0e8c52-1b7d-4f43-9d6e-2a1c9b0e7d55"
    expect_error(
        lambda: disks.get_disk(PROJECT, volume),
        404,
        {
            "code": 404,
            "status": "NOT_FOUND",
            "message": f"Disk '{volume}' not found in project '{PROJECT}'.",
            "details": [info("DISK_NOT_FOUND", {"diskId": volume, "projectId": PROJECT})],
        },
    )


def invalid_argument():
    body = cudo.CreateStorageDiskBody(data_center_id=DC, disk=cudo.Disk(id="sdk-negative", size_gib=-5))
    expect_error(
        lambda: disks.create_storage_disk(PROJECT, body),
        400,
        {
            "code": 400,
            "status": "INVALID_ARGUMENT",
            "message": "disk.sizeGib must not be negative, got -5.",
            "details": [
                {"@type": BAD_REQUEST, "fieldViolations": [{"field": "disk.sizeGib", "description": "Must not be negative."}]},
                info("VALUE_NEGATIVE", {"field": "disk.sizeGib", "value": "-5"}),
            ],
        },
    )


def already_exists():
    vms.create_vm(PROJECT, vm_body("sdk-twice"))
    expect_error(
        lambda: vms.create_vm(PROJECT, vm_body("sdk-twice")),
        409,
        {
            "code": 409,
            "status": "ALREADY_EXISTS",
            "message": f"VM 'sdk-twice' already exists in project '{PROJECT}'.",
            "details": [info("VM_ALREADY_EXISTS", {"vmId": "sdk-twice", "projectId": PROJECT})],
        },
    )
    vms.terminate_vm(PROJECT, "sdk-twice")


def resource_exhausted():
    quota = next(
        q
        for q in admin("GET", f"/_canon/projects/{PROJECT}/quotas")["quotas"]
        if q["dataCenterId"] == DC and q["gpuModelId"] == "gpu-a100"
    )
    held = quota["used"]
    created = []
    while held + 2 <= quota["limit"]:
        vm_id = f"sdk-quota-{len(created)}"
        vms.create_vm(PROJECT, vm_body(vm_id))
        created.append(vm_id)
        held += 2
    error = expect_error(
        lambda: vms.create_vm(PROJECT, vm_body("sdk-quota-over")),
        429,
        {
            "code": 429,
            "status": "RESOURCE_EXHAUSTED",
            "message": f"GPU quota exceeded for project '{PROJECT}' in dataCenterId '{DC}'.",
            "details": [
                {
                    "@type": QUOTA_FAILURE,
                    "violations": [
                        {
                            "subject": f"projects/{PROJECT}/dataCenterIds/{DC}/gpuModelId:gpu-a100",
                            "description": f"Limit {quota['limit']} reached",
                        }
                    ],
                },
                {"@type": RETRY_INFO, "retryDelay": "30s"},
                info(
                    "GPU_QUOTA_EXCEEDED",
                    {
                        "projectId": PROJECT,
                        "dataCenterId": DC,
                        "gpuModelId": "gpu-a100",
                        "limit": str(quota["limit"]),
                        "used": str(held),
                        "requested": "2",
                    },
                ),
            ],
        },
    )
    assert {k.lower(): v for k, v in error.headers.items()}["retry-after"] == "30"
    for vm_id in created:
        vms.terminate_vm(PROJECT, vm_id)


def unavailable():
    window = admin("PUT", f"/_canon/maintenance/{DC}", {"duration": "10m"})
    try:
        error = expect_error(
            lambda: vms.create_vm(PROJECT, vm_body("sdk-maintenance")),
            503,
            {
                "code": 503,
                "status": "UNAVAILABLE",
                "message": f"Data center '{DC}' is under maintenance until {window['endsAt']}. Retry later.",
                "details": [
                    {"@type": RETRY_INFO, "retryDelay": "600s"},
                    info("DATA_CENTER_MAINTENANCE", {"dataCenterId": DC, "maintenanceEndTime": window["endsAt"]}),
                ],
            },
        )
        assert {k.lower(): v for k, v in error.headers.items()}["retry-after"] == "600"
    finally:
        admin("DELETE", f"/_canon/maintenance/{DC}")
    forced = cudo.ProjectsApi(client(headers={"x-canon-fault": "code=UNAVAILABLE; retry-after=5"}))
    expect_error(
        forced.list_projects,
        503,
        {
            "code": 503,
            "status": "UNAVAILABLE",
            "message": "The service is temporarily unavailable.",
            "details": [
                {"@type": RETRY_INFO, "retryDelay": "5s"},
                info("FAULT_INJECTED", {"faultSource": "header"}),
            ],
        },
    )


for name, fn in [
    ("tour: list projects", list_projects),
    ("tour: list data centers", list_data_centers),
    ("tour: list machine types", list_machine_types),
    ("tour: list the VM catalog", list_vm_catalog),
    ("tour: create, get and list a VM", create_get_list_vm),
    ("tour: stop, start and terminate the VM", stop_start_terminate_vm),
    ("tour: create and list disks", create_list_disks),
    ("tour: create, list and delete SSH keys", create_list_ssh_keys),
    ("error: UNAUTHENTICATED without a key and with a wrong one", unauthenticated),
    ("error: PERMISSION_DENIED for a missing scope and another project", permission_denied),
    ("error: NOT_FOUND for a random volume id", not_found),
    ("error: INVALID_ARGUMENT for a negative disk size", invalid_argument),
    ("error: ALREADY_EXISTS for a VM id taken", already_exists),
    ("error: RESOURCE_EXHAUSTED at the published GPU quota", resource_exhausted),
    ("error: UNAVAILABLE in a maintenance window and by fault injection", unavailable),
]:
    check(name, fn)

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
