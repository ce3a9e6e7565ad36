#!/usr/bin/env python3
"""canon's error bodies against clients canon did not write.

Usage: conformance.py DIR

DIR holds the bodies and manifest.json written by
`cargo run -q -p canon --example conformance_bodies -- DIR`
(scripts/conformance.sh does both). For every body it checks:

  parse     google.protobuf.json_format.Parse reads the inner `error`
            object as a google.rpc.Status, strictly (unknown fields are
            errors), and its code, message and detail types are the
            manifest's;
  detail    every Any in it unpacks into its type from
            google.rpc.error_details_pb2, and the unpacked message has
            exactly the fields and values the manifest lists, which the
            example built from the Rust structs field by field;
  api_core  google.api_core.exceptions.from_http_response, given a
            requests.Response with the body and its HTTP status, raises the
            class the manifest names, with the same reason, domain,
            metadata and details.

Then the reverse direction: Python builds a google.rpc.Status with every
standard detail, writes it with json_format.MessageToJson (bare, as gRPC
JSON transcoding does, and wrapped as Google's HTTP APIs do; with
lowerCamelCase names and with proto names), and `canon explain --format
json` must read every detail back with the same values.

It prints one line per check and then `N passed, M failed`; it exits 1 if
any check failed.
"""

import copy
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import requests
from google.api_core import exceptions as api_exceptions
from google.protobuf import any_pb2, duration_pb2, json_format
from google.rpc import code_pb2, error_details_pb2, status_pb2

REPO = Path(__file__).resolve().parent.parent
CANON = ["cargo", "run", "-q", "-p", "canon-cli", "--bin", "canon", "--"]

passed = 0
failed = 0


def check(name, run):
    """Runs one check: `run` returns None when it passes, or why it failed."""
    global passed, failed
    try:
        why = run()
    except Exception as error:  # A check that throws has failed.
        why = f"{type(error).__name__}: {error}"
    if why is None:
        passed += 1
        print(f"PASS {name}")
    else:
        failed += 1
        print(f"FAIL {name}: {why}")


def fields_of(message):
    """A message's fields under their proto names: every field of the
    message, except that a field with presence (a message field, or a
    proto3 `optional` scalar) appears only when it is set."""
    out = {}
    for field in message.DESCRIPTOR.fields:
        value = getattr(message, field.name)
        is_map = field.message_type is not None and field.message_type.GetOptions().map_entry
        if is_map:
            out[field.name] = dict(value)
        elif field.is_repeated:
            out[field.name] = [fields_of(v) if field.message_type else v for v in value]
        elif field.has_presence and not message.HasField(field.name):
            continue
        elif field.message_type is not None:
            out[field.name] = fields_of(value)
        else:
            out[field.name] = value
    return out


def differences(expected, actual, path=""):
    """The paths at which two field trees differ, for a failure message."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        out = []
        for key in sorted(set(expected) | set(actual)):
            if key not in actual:
                out.append(f"{path}/{key} missing (expected {expected[key]!r})")
            elif key not in expected:
                out.append(f"{path}/{key} unexpected ({actual[key]!r})")
            else:
                out += differences(expected[key], actual[key], f"{path}/{key}")
        return out
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        return [d for i, (e, a) in enumerate(zip(expected, actual)) for d in differences(e, a, f"{path}/{i}")]
    return [] if expected == actual else [f"{path}: expected {expected!r}, got {actual!r}"]


def unpack(any_message):
    """The google.rpc message inside an Any, by its type name."""
    type_name = any_message.TypeName()
    short = type_name.rsplit(".", 1)[-1]
    if not type_name.startswith("google.rpc.") or not hasattr(error_details_pb2, short):
        raise ValueError(f"{type_name} is not a type of google.rpc.error_details_pb2")
    message = getattr(error_details_pb2, short)()
    if not any_message.Unpack(message):
        raise ValueError(f"Any of type {type_name} does not unpack")
    return message


def parse_status(error):
    """google.rpc.Status from the inner `error` object of a wrapped body.

    The wrapped JSON has code, status, message and details. `status` (the
    code's name) is a field of Google's HTTP error envelope, not of
    google.rpc.Status, so a strict parse (ignore_unknown_fields=False)
    would refuse it: parse a copy without it. Its value is checked
    separately against google.rpc.Code.
    """
    inner = copy.deepcopy(error)
    inner.pop("status", None)
    return json_format.Parse(json.dumps(inner), status_pb2.Status(), ignore_unknown_fields=False)


def check_body(directory, entry):
    name = entry["name"]
    raw = (directory / entry["file"]).read_bytes()
    body = json.loads(raw)
    error = body["error"]

    def status_name():
        expected = entry["code"]
        if code_pb2.Code.Name(entry["code_number"]) != expected:
            return f"google.rpc.Code {entry['code_number']} is {code_pb2.Code.Name(entry['code_number'])}, not {expected}"
        if error.get("status") != expected:
            return f"`status` is {error.get('status')!r}, expected {expected}"
        return None

    check(f"{name}: status string is the google.rpc.Code name", status_name)

    def parse():
        status = parse_status(error)
        types = [d.TypeName() for d in status.details]
        problems = []
        if status.code != entry["http_status"]:
            problems.append(f"code {status.code}, expected the HTTP status {entry['http_status']}")
        if status.message != entry["message"]:
            problems.append(f"message {status.message!r}, expected {entry['message']!r}")
        if types != entry["detail_types"]:
            problems.append(f"detail types {types}, expected {entry['detail_types']}")
        return "; ".join(problems) or None

    check(f"{name}: json_format.Parse into google.rpc.Status", parse)

    for index, (type_name, expected) in enumerate(zip(entry["detail_types"], entry["expected_details"])):

        def detail(index=index, expected=expected):
            message = unpack(parse_status(error).details[index])
            diff = differences(expected, fields_of(message))
            return "; ".join(diff) or None

        check(f"{name}: details[{index}] unpacks into {type_name} with the manifest's fields", detail)

    def api_core():
        response = requests.Response()
        response.status_code = entry["http_status"]
        response._content = raw
        response.encoding = "utf-8"
        response.headers["Content-Type"] = "application/json"
        response.url = "https://rest.compute.cudo.org/v1/projects/proj-123/clusters/clu-1"
        response.request = requests.Request("GET", response.url).prepare()
        exception = api_exceptions.from_http_response(response)
        problems = []
        if type(exception).__name__ != entry["exception"]:
            problems.append(f"raised {type(exception).__name__}, expected {entry['exception']}")
        if exception.code != entry["http_status"]:
            problems.append(f"code {exception.code}, expected {entry['http_status']}")
        # api_core reads .metadata from the ErrorInfo's JSON object. proto3
        # JSON omits an empty map (json_format.MessageToJson does too), so
        # an ErrorInfo without metadata gives None, not {}.
        wanted = {"reason": entry["reason"], "domain": entry["domain"], "metadata": entry["metadata"] or None}
        for attribute, want in wanted.items():
            actual = getattr(exception, attribute)
            if actual != want:
                problems.append(f".{attribute} is {actual!r}, expected {want!r}")
        if exception.details != error["details"]:
            problems.append(f".details is {exception.details!r}, expected the body's details")
        if entry["message"] not in exception.message:
            problems.append(f".message {exception.message!r} lacks {entry['message']!r}")
        return "; ".join(problems) or None

    check(f"{name}: google.api_core from_http_response gives {entry['exception']}", api_core)


def every_detail_status():
    """A google.rpc.Status with every standard detail and every field."""
    delay = duration_pb2.Duration(seconds=2, nanos=500_000_000)
    details = [
        error_details_pb2.ErrorInfo(
            reason="GPU_QUOTA_EXCEEDED",
            domain="compute.cudo.dev",
            metadata={"projectId": "proj-123", "note": 'line 1\nline 2 "quoted" é 😀'},
        ),
        error_details_pb2.RetryInfo(retry_delay=delay),
        error_details_pb2.DebugInfo(stack_entries=["frame 1", "frame 2"], detail="debug detail"),
        error_details_pb2.QuotaFailure(
            violations=[
                error_details_pb2.QuotaFailure.Violation(
                    subject="projects/proj-123",
                    description="Limit 16 reached",
                    api_service="compute.cudo.dev",
                    quota_metric="compute.cudo.dev/gpus",
                    quota_id="GpusPerProject",
                    quota_dimensions={"region": "gb-bournemouth-1", "gpu": "a100"},
                    quota_value=9223372036854775807,
                    future_quota_value=0,
                ),
                error_details_pb2.QuotaFailure.Violation(subject="projects/proj-456", quota_value=-1),
            ]
        ),
        error_details_pb2.PreconditionFailure(
            violations=[
                error_details_pb2.PreconditionFailure.Violation(
                    type="TOS", subject="billing-accounts/ba-1", description="Terms of service not accepted."
                )
            ]
        ),
        error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(
                    field="spec.machineType",
                    description="Unknown machine type.",
                    reason="UNKNOWN_MACHINE_TYPE",
                    localized_message=error_details_pb2.LocalizedMessage(
                        locale="de-DE", message="Unbekannter Maschinentyp."
                    ),
                ),
                error_details_pb2.BadRequest.FieldViolation(field="bootDiskSizeGib", description="Minimum is 20."),
            ]
        ),
        error_details_pb2.RequestInfo(request_id="req-7f3a", serving_data="shard=eu-1"),
        error_details_pb2.ResourceInfo(
            resource_type="compute.cudo.dev/Cluster",
            resource_name="projects/proj-123/clusters/clu-1",
            owner="project:proj-123",
            description="The cluster.",
        ),
        error_details_pb2.Help(
            links=[error_details_pb2.Help.Link(description="Quotas", url="https://www.cudocompute.com/docs/quotas")]
        ),
        error_details_pb2.LocalizedMessage(locale="fr-FR", message="Quota de GPU dépassé."),
    ]
    status = status_pb2.Status(code=code_pb2.RESOURCE_EXHAUSTED, message="GPU quota exceeded.")
    for detail in details:
        packed = any_pb2.Any()
        packed.Pack(detail)
        status.details.append(packed)
    return status


def canon_explain(path):
    result = subprocess.run(
        CANON + ["explain", "--format", "json", str(path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"canon explain exited {result.returncode}: {result.stderr.strip()}")
    return json.loads(result.stdout)


def normalized(value):
    """JSON text with sorted keys, so that key order does not matter."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def check_reverse(scratch):
    status = every_detail_status()
    # What canon must give back: proto3 JSON with lowerCamelCase names.
    expected = json.loads(json_format.MessageToJson(status))["details"]
    wrapped = lambda text: json.dumps(
        {"error": {**json.loads(text), "code": 429, "status": "RESOURCE_EXHAUSTED"}}, ensure_ascii=False
    )
    bodies = [
        ("bare, lowerCamelCase", "grpc_gateway", json_format.MessageToJson(status)),
        (
            "bare, proto names",
            "grpc_gateway",
            json_format.MessageToJson(status, preserving_proto_field_name=True),
        ),
        ("wrapped, lowerCamelCase", "google", wrapped(json_format.MessageToJson(status))),
        (
            "wrapped, proto names",
            "google",
            wrapped(json_format.MessageToJson(status, preserving_proto_field_name=True)),
        ),
    ]
    for label, dialect, text in bodies:
        path = scratch / f"python-{label.replace(', ', '-')}.json"
        path.write_text(text, encoding="utf-8")
        explained = {}

        def explain(path=path):
            explained["value"] = canon_explain(path)
            return None

        check(f"reverse ({label}): canon explain reads the Python body", explain)
        if "value" not in explained:
            continue
        report = explained["value"]

        def summary(report=report, dialect=dialect):
            want = {
                "dialect": dialect,
                "code": "RESOURCE_EXHAUSTED",
                "message": "GPU quota exceeded.",
                "reason": "GPU_QUOTA_EXCEEDED",
                "domain": "compute.cudo.dev",
                "request_id": "req-7f3a",
                "retry_delay_ms": 2500,
            }
            got = {key: report.get(key) for key in want}
            return None if got == want else f"expected {want}, got {got}"

        check(f"reverse ({label}): code, message, reason, request id and delay", summary)

        def count(report=report):
            actual = report.get("details")
            if not isinstance(actual, list) or len(actual) != len(expected):
                return f"details is {normalized(actual)[:300]}, expected {len(expected)} details"
            return None

        check(f"reverse ({label}): every detail is read back", count)
        actual = report.get("details") if isinstance(report.get("details"), list) else []
        for index, want in enumerate(expected):

            def same(index=index, want=want, actual=actual):
                got = actual[index] if index < len(actual) else None
                if normalized(got) == normalized(want):
                    return None
                return f"expected {normalized(want)}, got {normalized(got)}"

            check(f"reverse ({label}): details[{index}] {want['@type'].rsplit('/', 1)[-1]} equal", same)


def main():
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    directory = Path(sys.argv[1])
    manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    for entry in manifest:
        check_body(directory, entry)
    with tempfile.TemporaryDirectory() as scratch:
        check_reverse(Path(scratch))
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
