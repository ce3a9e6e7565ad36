"""Drives the real `gcore` Python SDK against `canon serve`'s Gcore surface.

Usage: sdk_gcore.py

Reads GCORE_BASE_URL, GCORE_API_KEY, GCORE_CLOUD_PROJECT_ID and
GCORE_CLOUD_REGION_ID, as the SDK itself does. The API key must have the
Gcore shape `{id}${secret}`, so that a shell can cut it at the `$`.

The tour lists projects, regions and flavors, adds an SSH key, creates a
volume and waits on its task (seen RUNNING, then FINISHED), extends it,
creates an instance and waits on its task, lists SSH keys across more
than one page, and deletes the instance. Then each error of the Gcore
page is triggered through the SDK and checked three ways: the SDK raises
its matching exception class; `e.body` is the emulator's envelope, with
`request_id` equal to the `x-request-id` header; and the SDK's own retries
(2 by default) follow `Retry-After` and `x-should-retry`, as the
emulator's journal (`/_canon/journal`) shows.

Prints one line per check and finally `N passed, M failed`; exits 1 on
any failure.
"""

import base64
import json
import os
import struct
import sys
import traceback
import urllib.request
from datetime import datetime

import gcore
from gcore import Gcore, Omit

BASE = os.environ["GCORE_BASE_URL"]
KEY = os.environ["GCORE_API_KEY"]
PROJECT = int(os.environ["GCORE_CLOUD_PROJECT_ID"])
REGION = int(os.environ["GCORE_CLOUD_REGION_ID"])
PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl sdk@canon"
BOOT = [{"source": "new-volume", "size": 20, "boot_index": 0}]
EXTERNAL = [{"type": "external"}]

passed = 0
failed = 0


def check(name, fn):
    global passed, failed
    try:
        fn()
        print(f"ok   {name}")
        passed += 1
    except Exception as error:  # noqa: BLE001 - every failure is reported
        print(f"FAIL {name}: {type(error).__name__}: {error}")
        traceback.print_exc(limit=3, file=sys.stdout)
        failed += 1


def expect(condition, what):
    if not condition:
        raise AssertionError(what)


def client(api_key=KEY, **options):
    return Gcore(
        api_key=api_key,
        base_url=BASE,
        cloud_project_id=PROJECT,
        cloud_region_id=REGION,
        polling_interval_seconds=1,
        polling_timeout_seconds=60,
        **options,
    )


def admin(method, path, body=None):
    """Calls the emulator's admin API (loopback clients need no token)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{BASE}{path}", data=data, method=method)
    request.add_header("content-type", "application/json")
    with urllib.request.urlopen(request) as response:
        text = response.read()
        return json.loads(text) if text else None


def journal_seq():
    entries = admin("GET", "/_canon/journal?limit=1")["entries"]
    return entries[-1]["seq"] if entries else 0


def journal_after(seq, path):
    entries = admin("GET", f"/_canon/journal?afterSeq={seq}")["entries"]
    return [e for e in entries if e["path"] == path]


def raises(exception_class, call, status, expected):
    """Runs `call`, which must raise `exception_class` (exactly that class)
    with HTTP `status` and `e.body` equal to `expected` plus the request id
    of the `x-request-id` header. Returns the exception."""
    try:
        call()
    except gcore.APIStatusError as error:
        expect(type(error) is exception_class, f"raised {type(error).__name__}, not {exception_class.__name__}")
        expect(error.status_code == status, f"status {error.status_code}, not {status}")
        request_id = error.response.headers.get("x-request-id")
        expect(request_id, "no x-request-id header")
        want = dict(expected, request_id=request_id)
        expect(error.body == want, f"body {json.dumps(error.body)}\n  wanted {json.dumps(want)}")
        return error
    raise AssertionError(f"no {exception_class.__name__} raised")


sdk = client()
state = {}

# The tour.


def tour_projects():
    projects = list(sdk.cloud.projects.list())
    expect([p.id for p in projects] == [PROJECT], f"projects {[p.id for p in projects]}")
    expect(projects[0].name == "Demo project", projects[0].name)


def tour_regions():
    regions = list(sdk.cloud.regions.list())
    expect([r.id for r in regions] == [1, 2], f"regions {[r.id for r in regions]}")
    expect(sdk.cloud.regions.get(region_id=REGION).display_name == "Bournemouth", "region 1 is Bournemouth")


def tour_flavors():
    flavors = {f.flavor_id: f for f in sdk.cloud.instances.flavors.list()}
    expect(set(flavors) == {"gpu-a100-x2", "gpu-a100-x4", "gpu-h100-x8", "epyc-rome-cpu"}, f"flavors {sorted(flavors)}")
    expect(flavors["gpu-a100-x2"].ram == 192 * 1024, "ram in MiB")


def tour_ssh_key():
    key = sdk.cloud.ssh_keys.create(name="sdk-key", public_key=PUBLIC_KEY)
    expect(key.project_id == PROJECT and key.state == "ACTIVE", f"{key}")
    state["ssh_key"] = key


def tour_volume():
    created = sdk.cloud.volumes.create(name="sdk-volume", size=10, source="new-volume")
    task = sdk.cloud.tasks.get(created.tasks[0])
    expect(task.state == "RUNNING", f"a fresh task is RUNNING, not {task.state}")
    done = sdk.cloud.tasks.poll(created.tasks[0])
    expect(done.state == "FINISHED", done.state)
    (volume_id,) = done.created_resources.volumes
    volume = sdk.cloud.volumes.get(volume_id)
    expect((volume.status, volume.size) == ("available", 10), f"{volume.status} {volume.size}")
    state["volume"] = volume_id


def tour_extend():
    volume = sdk.cloud.volumes.resize_and_poll(state["volume"], size=20)
    expect((volume.status, volume.size) == ("available", 20), f"{volume.status} {volume.size}")


def tour_instance():
    instance = sdk.cloud.instances.create_and_poll(
        flavor="epyc-rome-cpu",
        interfaces=EXTERNAL,
        volumes=BOOT,
        name="sdk-vm",
        ssh_key_name="sdk-key",
    )
    expect((instance.name, instance.status, instance.vm_state) == ("sdk-vm", "ACTIVE", "active"), f"{instance}")
    expect(instance.ssh_key_name == "sdk-key", instance.ssh_key_name)
    expect(instance.flavor.flavor_id == "epyc-rome-cpu", instance.flavor)
    state["instance"] = instance.id


def ed25519_key(n, comment):
    """A well-formed OpenSSH ed25519 public key, distinct for each `n`."""
    blob = struct.pack(">I", 11) + b"ssh-ed25519" + struct.pack(">I", 32) + bytes(range(31)) + bytes([n])
    return f"ssh-ed25519 {base64.b64encode(blob).decode()} {comment}"


def tour_paging():
    for n in range(3):
        sdk.cloud.ssh_keys.create(name=f"page-{n}", public_key=ed25519_key(n, f"page-{n}"))
    seq = journal_seq()
    names = [k.name for k in sdk.cloud.ssh_keys.list(limit=2)]
    expect(names == ["sdk-key", "page-0", "page-1", "page-2"], f"names {names}")
    pages = journal_after(seq, f"/cloud/v1/ssh_keys/{PROJECT}")
    expect(len(pages) == 2, f"{len(pages)} page requests, not 2")
    first = sdk.cloud.ssh_keys.list(limit=2, offset=2)
    expect((first.count, [k.name for k in first.results]) == (4, ["page-1", "page-2"]), f"{first}")


def tour_lists():
    instances = [i.id for i in sdk.cloud.instances.list()]
    expect(state["instance"] in instances, f"instances {instances}")
    volumes = [v.id for v in sdk.cloud.volumes.list()]
    expect(state["volume"] in volumes, f"volumes {volumes}")
    quotas = sdk.cloud.quotas.get_all()
    region = [q for q in quotas.regional_quotas if q.region_id == REGION][0]
    expect(region.gpu_virtual_a100_count_limit == 16, f"{region}")


def tour_delete():
    sdk.cloud.instances.delete_and_poll(state["instance"])
    try:
        sdk.cloud.instances.get(state["instance"])
    except gcore.NotFoundError:
        return
    raise AssertionError("the instance is still there")


for name, fn in [
    ("tour: list projects", tour_projects),
    ("tour: list regions", tour_regions),
    ("tour: list flavors", tour_flavors),
    ("tour: create an SSH key", tour_ssh_key),
    ("tour: create a volume, task RUNNING then FINISHED", tour_volume),
    ("tour: extend the volume and wait", tour_extend),
    ("tour: create an instance and wait on its task", tour_instance),
    ("tour: list SSH keys across two pages", tour_paging),
    ("tour: list instances, volumes and quotas", tour_lists),
    ("tour: delete the instance and wait", tour_delete),
]:
    check(name, fn)

# The errors.


def one_attempt(path, seq):
    entries = journal_after(seq, path)
    expect(len(entries) == 1, f"{len(entries)} attempts, not 1")


def auth_errors():
    created = admin("POST", "/_canon/projects/demo/keys", {"name": "doomed", "scopes": "*"})
    admin("DELETE", f"/_canon/keys/{created['key']['id']}")
    cut = KEY.split("$")[0]
    shown = cut[: min(4, len(cut) // 2)] + "..."
    cases = [
        ("no Authorization header", client(default_headers={"Authorization": Omit()}),
         "not_authenticated", "Authentication credentials were not provided."),
        ("a key cut at its $", client(api_key=cut), "token_not_valid", f"Bad permanent token: {shown}"),
        ("a deleted key", client(api_key=created["secret"]), "token_not_valid", "Token is invalid or expired"),
        ("the Bearer scheme", client(default_headers={"Authorization": f"Bearer {KEY}"}),
         "token_not_valid", "Given token not valid for any token type"),
    ]
    for label, api, exception_class, message in cases:
        seq = journal_seq()
        try:
            raises(gcore.AuthenticationError, lambda: api.cloud.regions.list(), 401,
                   {"exception_class": exception_class, "message": message})
        except AssertionError as error:
            raise AssertionError(f"{label}: {error}") from None
        one_attempt("/cloud/v1/regions", seq)


def validation_error():
    seq = journal_seq()
    raises(gcore.BadRequestError, lambda: sdk.cloud.volumes.create(name="tiny", size=5, source="new-volume"), 400,
           {"exception_class": "ValidationError", "message": "Invalid fields in request: size.",
            "invalid_fields": {"size": ["Minimum is 10 GiB."]}})
    one_attempt(f"/cloud/v1/volumes/{PROJECT}/{REGION}", seq)


def reseller_templates():
    admin("PUT", "/_canon/projects/demo/name-templates", {"templates": ["ed-c4-{ip_octets}"]})
    try:
        raises(gcore.BadRequestError,
               lambda: sdk.cloud.instances.create(flavor="epyc-rome-cpu", interfaces=EXTERNAL, volumes=BOOT,
                                                   name="prod-db"),
               400,
               {"exception_class": "ValidationError", "message": "Invalid fields in request: name.",
                "invalid_fields": {"name": [
                    "Name 'prod-db' does not match any of the client's name templates: ed-c4-{ip_octets}."]}})
        names = sdk.get(f"/cloud/v1/instances/{PROJECT}/{REGION}/available_names", cast_to=object)
        expect(names["allowed_name_templates"] == ["ed-c4-{ip_octets}"], f"{names}")
        expect(names["name_templates_limited"] is True, f"{names}")
    finally:
        admin("PUT", "/_canon/projects/demo/name-templates", {"templates": []})


def not_found():
    raises(gcore.NotFoundError, lambda: sdk.cloud.volumes.get("no-such-volume"), 404,
           {"exception_class": "NotFoundError", "message": "Volume 'no-such-volume' not found."})


def quota_limit_exceed():
    admin("PUT", "/_canon/projects/demo/quotas/gb-bournemouth-1/gpu-a100", {"limit": 2})
    try:
        seq = journal_seq()
        raises(gcore.BadRequestError,
               lambda: sdk.cloud.instances.create(flavor="gpu-a100-x4", interfaces=EXTERNAL, volumes=BOOT, name="big"),
               400,
               {"exception_class": "QuotaLimitExceed",
                "message": "Quota limit exceeded: gpu_virtual_a100_count would be 4, over the limit of 2 "
                           "(current usage 0).",
                "info": {"quota_name": "gpu_virtual_a100_count", "current_usage": 0, "requested": 4, "limit": 2}})
        one_attempt(f"/cloud/v2/instances/{PROJECT}/{REGION}", seq)
    finally:
        admin("PUT", "/_canon/projects/demo/quotas/gb-bournemouth-1/gpu-a100", {"limit": 16})


def forbidden_capacity():
    admin("PUT", "/_canon/capacity/gb-bournemouth-1/gpu-h100-x8", {"capacity": 0})
    try:
        raises(gcore.PermissionDeniedError,
               lambda: sdk.cloud.instances.create(flavor="gpu-h100-x8", interfaces=EXTERNAL, volumes=BOOT, name="h"),
               403,
               {"exception_class": "ForbiddenError",
                "message": "Flavor 'gpu-h100-x8' has no capacity left in region 1. Try a different region or flavor.",
                "info": {"flavor": "gpu-h100-x8", "region_id": 1,
                         "available_flavors": ["epyc-rome-cpu", "gpu-a100-x2", "gpu-a100-x4"]}})
    finally:
        admin("PUT", "/_canon/capacity/gb-bournemouth-1/gpu-h100-x8", {"capacity": 2})


def method_not_allowed():
    error = raises(gcore.APIStatusError, lambda: sdk.post("/cloud/v1/regions", cast_to=object, body={}), 405,
                   {"exception_class": "HTTPError",
                    "message": "The method 'POST' is not allowed on the path '/cloud/v1/regions'.",
                    "info": {"method": "POST", "path": "/cloud/v1/regions"}})
    expect(error.response.headers.get("allow") == "GET,HEAD", error.response.headers.get("allow"))


def conflict_not_retried():
    seq = journal_seq()
    error = raises(gcore.ConflictError, lambda: sdk.cloud.ssh_keys.create(name="again", public_key=PUBLIC_KEY), 409,
                   {"exception_class": "ConflictError",
                    "message": f"An SSH key with fingerprint '{state['ssh_key'].fingerprint}' already exists in "
                               "the project."})
    expect(error.response.headers.get("x-should-retry") == "false", "x-should-retry: false")
    one_attempt(f"/cloud/v1/ssh_keys/{PROJECT}", seq)


def throttled_waits_for_retry_after():
    seq = journal_seq()
    raises(gcore.RateLimitError,
           lambda: sdk.cloud.regions.list(extra_headers={"x-canon-fault": "code=RESOURCE_EXHAUSTED; retry-after=1"}),
           429,
           {"exception_class": "Throttled", "message": "A quota or a capacity is exhausted.",
            "info": {"faultSource": "header"}})
    attempts = journal_after(seq, "/cloud/v1/regions")
    expect([a["status"] for a in attempts] == [429, 429, 429], f"statuses {[a['status'] for a in attempts]}")
    times = [datetime.fromisoformat(a["time"].replace("Z", "+00:00")) for a in attempts]
    gaps = [(b - a).total_seconds() for a, b in zip(times, times[1:])]
    expect(all(gap >= 0.99 for gap in gaps), f"retries {gaps} s apart, not after Retry-After: 1")


def internal_error_retried_twice():
    seq = journal_seq()
    raises(gcore.InternalServerError,
           lambda: sdk.cloud.regions.list(extra_headers={"x-canon-fault": "INTERNAL"}),
           500,
           {"exception_class": "InternalError", "message": "An unexpected internal server error.",
            "info": {"faultSource": "header"}})
    attempts = journal_after(seq, "/cloud/v1/regions")
    expect([a["status"] for a in attempts] == [500, 500, 500], f"statuses {[a['status'] for a in attempts]}")


for name, fn in [
    ("401 AuthenticationError: the four causes, one attempt each", auth_errors),
    ("400 BadRequestError: ValidationError with invalid_fields, not retried", validation_error),
    ("400 BadRequestError: ValidationError for a reseller's name templates", reseller_templates),
    ("404 NotFoundError: NotFoundError", not_found),
    ("400 BadRequestError: QuotaLimitExceed with usage, requested total and limit, not retried", quota_limit_exceed),
    ("403 PermissionDeniedError: ForbiddenError for a flavor out of capacity", forbidden_capacity),
    ("405 APIStatusError: HTTPError with Allow", method_not_allowed),
    ("409 ConflictError: already exists, x-should-retry false, exactly one attempt", conflict_not_retried),
    ("429 RateLimitError: 3 attempts, each after Retry-After", throttled_waits_for_retry_after),
    ("500 InternalServerError: the SDK's 2 retries", internal_error_retried_twice),
]:
    check(name, fn)

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
