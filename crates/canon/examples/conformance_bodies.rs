//! Writes Google-wrapped error bodies for a conformance check by clients
//! canon did not write (`scripts/conformance.py` reads them with Python's
//! `protobuf`, `googleapis-common-protos` and `google-api-core`).
//!
//! ```text
//! cargo run -q -p canon --example conformance_bodies -- DIR
//! ```
//!
//! For each of a set of statuses, one for every code but OK, that together
//! use every standard detail type with every field, it writes
//! `DIR/<name>.json`: the status encoded with
//! `canon::encode(&status, Encoding::GoogleWrapped)`. Beside them,
//! `DIR/manifest.json` lists for each body what a client must read from it:
//!
//! - `file`, `name`, `code` (the canonical name), `code_number`,
//!   `http_status`, `message`;
//! - `exception`: the class `google.api_core.exceptions.from_http_response`
//!   raises, which depends on the HTTP status alone (see
//!   [`api_core_exception`]);
//! - `reason`, `domain` and `metadata` of the ErrorInfo, or null;
//! - `detail_types`: the full proto name of each detail, in order;
//! - `expected_details`: each detail's fields under their proto names, built
//!   from the Rust structs field by field (not by canon's serializer), with
//!   every field present, durations as `{seconds, nanos}`, int64 as JSON
//!   numbers, and an optional field only when it is set.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use canon::details::{
    BadRequest, DebugInfo, ErrorInfo, FieldViolation, Help, HelpLink, LocalizedMessage, PreconditionFailure,
    PreconditionViolation, QuotaFailure, QuotaViolation, RequestInfo, ResourceInfo, RetryInfo,
};
use canon::{Code, Detail, Encoding, ProtoDuration, Status};
use serde_json::{Value, json};

const DOMAIN: &str = "compute.cudo.dev";

#[allow(clippy::print_stdout, clippy::print_stderr)]
fn main() -> std::process::ExitCode {
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: conformance_bodies DIR");
        return std::process::ExitCode::from(2);
    };
    match write_bodies(&dir) {
        Ok(count) => {
            println!("wrote {count} bodies and manifest.json to {}", dir.display());
            std::process::ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("conformance_bodies: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn write_bodies(dir: &std::path::Path) -> std::io::Result<usize> {
    std::fs::create_dir_all(dir)?;
    let mut manifest = Vec::new();
    for (name, status) in statuses() {
        let encoded = canon::encode(&status, Encoding::GoogleWrapped);
        let file = format!("{name}.json");
        std::fs::write(dir.join(&file), &encoded.body)?;
        let info = status.error_info();
        manifest.push(json!({
            "file": file,
            "name": name,
            "code": status.code().name(),
            "code_number": status.code().number(),
            "http_status": encoded.http_status,
            "message": status.message(),
            "exception": api_core_exception(encoded.http_status),
            "reason": info.map(|i| i.reason.as_ref()),
            "domain": info.map(|i| i.domain.as_ref()),
            "metadata": info.map(|i| &i.metadata),
            "detail_types": status.details().iter().map(|d| d.kind().map(|k| k.proto_name())).collect::<Vec<_>>(),
            "expected_details": status.details().iter().map(expected_fields).collect::<Vec<_>>(),
        }));
    }
    let text = serde_json::to_string_pretty(&manifest).expect("a Value always serializes");
    std::fs::write(dir.join("manifest.json"), text + "\n")?;
    Ok(manifest.len())
}

/// The class `google.api_core.exceptions.from_http_response` raises for an
/// HTTP status (google-api-core 2.44.0).
///
/// It calls `exception_class_for_http_status`, a lookup in
/// `_HTTP_CODE_TO_EXCEPTION`, which the classes' metaclass fills with
/// `setdefault(cls.code, cls)` as each class is defined. Subclasses inherit
/// `code`, so the first class defined with a status wins: 400 is
/// `BadRequest`, never `InvalidArgument`, `FailedPrecondition` or
/// `OutOfRange`; 403 is `Forbidden`, not `PermissionDenied`; 409 is
/// `Conflict`; 429 is `TooManyRequests`; 504 is `GatewayTimeout`. The
/// gRPC-named classes are only reached from gRPC status codes.
fn api_core_exception(http_status: u16) -> &'static str {
    match http_status {
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        405 => "MethodNotAllowed",
        409 => "Conflict",
        411 => "LengthRequired",
        412 => "PreconditionFailed",
        416 => "RequestRangeNotSatisfiable",
        429 => "TooManyRequests",
        499 => "Cancelled",
        500 => "InternalServerError",
        501 => "MethodNotImplemented",
        502 => "BadGateway",
        503 => "ServiceUnavailable",
        504 => "GatewayTimeout",
        _ => "GoogleAPICallError",
    }
}

fn duration(seconds: i64, nanos: i32) -> ProtoDuration {
    ProtoDuration::new(seconds, nanos).expect("a valid duration")
}

fn error_info(reason: &'static str, metadata: &[(&'static str, &'static str)]) -> Detail {
    let mut info = ErrorInfo::new(reason, DOMAIN);
    for (key, value) in metadata {
        info = info.with_metadata(*key, *value);
    }
    info.into()
}

/// The statuses, one per code but OK. Together they use every standard
/// detail type and every field of each.
fn statuses() -> Vec<(&'static str, Status)> {
    let full_violation = QuotaViolation {
        subject: "projects/proj-123/dataCenterIds/gb-bournemouth-1/gpuModelId:gpu-a100".into(),
        description: "Limit 16 reached".into(),
        api_service: "compute.cudo.dev".into(),
        quota_metric: "compute.cudo.dev/gpus".into(),
        quota_id: "GpusPerProjectPerDataCenter".into(),
        quota_dimensions: BTreeMap::from([
            ("dataCenterId".to_owned(), "gb-bournemouth-1".to_owned()),
            ("gpuModelId".to_owned(), "gpu-a100".to_owned()),
        ]),
        quota_value: 16,
        future_quota_value: Some(32),
    };
    let edge_violations = vec![
        // int64 beyond a double's exact range; future value present but zero.
        QuotaViolation {
            subject: "projects/proj-123".into(),
            quota_value: i64::MAX,
            future_quota_value: Some(0),
            ..QuotaViolation::default()
        },
        // A negative limit ("unlimited" in some APIs); no future value.
        QuotaViolation { subject: "projects/proj-456".into(), quota_value: -1, ..QuotaViolation::default() },
        QuotaViolation { subject: "projects/proj-789".into(), quota_value: i64::MIN, ..QuotaViolation::default() },
    ];
    let localized = |locale: &str, message: &str| LocalizedMessage { locale: locale.into(), message: message.into() };
    vec![
        (
            "invalid_argument",
            Status::with_details(
                Code::InvalidArgument,
                "Invalid fields in request.",
                vec![
                    BadRequest {
                        field_violations: vec![
                            FieldViolation {
                                field: "machineTypeId".into(),
                                description: "Unknown machine type 'gpu-a100-x99'.".into(),
                                reason: "UNKNOWN_MACHINE_TYPE".into(),
                                localized_message: Some(localized("de-DE", "Unbekannter Maschinentyp „gpu-a100-x99“.")),
                            },
                            FieldViolation::new("bootDiskSizeGib", "Minimum is 20 GiB."),
                        ],
                    }
                    .into(),
                    error_info("INVALID_FIELDS", &[("fieldCount", "2")]),
                ],
            ),
        ),
        (
            "resource_exhausted_quota",
            Status::with_details(
                Code::ResourceExhausted,
                "GPU quota exceeded for project 'proj-123' in dataCenterId 'gb-bournemouth-1'.",
                vec![
                    QuotaFailure { violations: std::iter::once(full_violation).chain(edge_violations).collect() }
                        .into(),
                    RetryInfo { retry_delay: Some(duration(30, 500_000_000)) }.into(),
                    error_info(
                        "GPU_QUOTA_EXCEEDED",
                        &[("projectId", "proj-123"), ("dataCenterId", "gb-bournemouth-1")],
                    ),
                ],
            ),
        ),
        (
            "not_found",
            Status::with_details(
                Code::NotFound,
                "Cluster 'clu-missing99' not found in project 'proj-123'.",
                vec![
                    error_info("CLUSTER_NOT_FOUND", &[("clusterId", "clu-missing99"), ("projectId", "proj-123")]),
                    ResourceInfo {
                        resource_type: "compute.cudo.dev/Cluster".into(),
                        resource_name: "projects/proj-123/clusters/clu-missing99".into(),
                        owner: "project:proj-123".into(),
                        description: "The cluster does not exist or is not visible.".into(),
                    }
                    .into(),
                ],
            ),
        ),
        (
            "failed_precondition",
            Status::with_details(
                Code::FailedPrecondition,
                "Cluster must be in STATE_ACTIVE before resizing.",
                vec![
                    error_info(
                        "CLUSTER_STATE_INVALID",
                        &[("clusterId", "clu-abc123"), ("currentState", "STATE_UPDATING")],
                    ),
                    PreconditionFailure {
                        violations: vec![
                            PreconditionViolation {
                                r#type: "STATE".into(),
                                subject: "clusters/clu-abc123".into(),
                                description: "Cluster is STATE_UPDATING; STATE_ACTIVE is required.".into(),
                            },
                            PreconditionViolation {
                                r#type: "TOS".into(),
                                subject: "billing-accounts/ba-1".into(),
                                description: "Terms of service not accepted.".into(),
                            },
                        ],
                    }
                    .into(),
                ],
            ),
        ),
        (
            "out_of_range",
            Status::with_details(
                Code::OutOfRange,
                "machineCount 200 exceeds the maximum of 128.",
                vec![
                    BadRequest {
                        field_violations: vec![FieldViolation {
                            field: "machineCount".into(),
                            description: "Max allowed is 128.".into(),
                            reason: "VALUE_TOO_LARGE".into(),
                            localized_message: None,
                        }],
                    }
                    .into(),
                    error_info("MACHINE_COUNT_OUT_OF_RANGE", &[("maximum", "128")]),
                ],
            ),
        ),
        (
            "unauthenticated",
            Status::with_details(
                Code::Unauthenticated,
                "The API key has expired.",
                vec![error_info("API_KEY_EXPIRED", &[]), localized("fr-FR", "La clé d'API a expiré.").into()],
            ),
        ),
        (
            "permission_denied",
            Status::with_details(
                Code::PermissionDenied,
                "The API key lacks the write:machines scope.",
                vec![
                    error_info("SCOPE_MISSING", &[("scope", "write:machines")]),
                    Help {
                        links: vec![
                            HelpLink {
                                description: "API key scopes".into(),
                                url: "https://www.cudocompute.com/docs/api/scopes".into(),
                            },
                            HelpLink {
                                description: "Create a key".into(),
                                url: "https://www.cudocompute.com/docs/api/keys?tab=create&lang=en".into(),
                            },
                        ],
                    }
                    .into(),
                ],
            ),
        ),
        (
            "already_exists",
            Status::with_details(
                Code::AlreadyExists,
                "SSH key fingerprint already present.",
                vec![
                    error_info(
                        "SSH_KEY_EXISTS",
                        &[("fingerprint", "SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8")],
                    ),
                    ResourceInfo {
                        resource_type: "compute.cudo.dev/SshKey".into(),
                        resource_name: "ssh-keys/key-1".into(),
                        ..ResourceInfo::default()
                    }
                    .into(),
                ],
            ),
        ),
        (
            "aborted",
            Status::with_details(
                Code::Aborted,
                "The cluster was modified concurrently (ETag mismatch).",
                vec![
                    error_info("ETAG_MISMATCH", &[("etag", "\"v7\""), ("currentEtag", "\"v8\"")]),
                    RetryInfo { retry_delay: Some(duration(1, 1_000)) }.into(),
                ],
            ),
        ),
        (
            "cancelled",
            Status::with_details(
                Code::Cancelled,
                "The client cancelled the request.",
                vec![error_info("REQUEST_CANCELLED", &[]), RequestInfo::new("req-cancelled-1").into()],
            ),
        ),
        (
            "deadline_exceeded",
            Status::with_details(
                Code::DeadlineExceeded,
                "Image import timed out.",
                vec![
                    error_info("IMPORT_TIMEOUT", &[("imageId", "img-42")]),
                    // The largest Duration there is.
                    RetryInfo { retry_delay: Some(duration(canon::duration::MAX_SECONDS, 999_999_999)) }.into(),
                ],
            ),
        ),
        (
            "internal",
            Status::with_details(
                Code::Internal,
                "An internal error occurred. Try again or contact support if it persists.",
                vec![
                    error_info("INTERNAL_ERROR", &[]),
                    DebugInfo {
                        stack_entries: vec![
                            "at compute::cluster::resize (cluster.rs:120)".into(),
                            "at compute::api::handle (api.rs:42)".into(),
                        ],
                        detail: "assertion `left == right` failed\n  left: 1\n right: 2".into(),
                    }
                    .into(),
                    RequestInfo {
                        request_id: "0f9c5e0a-5d2e-4b8f-9a51-8f3c6a2b7d10".into(),
                        serving_data: "shard=eu-1;trace=abc123".into(),
                    }
                    .into(),
                ],
            ),
        ),
        (
            "unknown",
            Status::with_details(
                Code::Unknown,
                "Unclassified error.",
                vec![error_info("UNCLASSIFIED", &[]), RequestInfo::new("req-unknown-1").into()],
            ),
        ),
        (
            "data_loss",
            Status::with_details(
                Code::DataLoss,
                "Integrity check failed for volume 'vol-9'.",
                vec![
                    error_info("VOLUME_CORRUPTED", &[("volumeId", "vol-9")]),
                    DebugInfo { stack_entries: Vec::new(), detail: "checksum mismatch in block 77".into() }.into(),
                ],
            ),
        ),
        (
            "unimplemented",
            Status::with_details(
                Code::Unimplemented,
                "This endpoint exists in the spec but is disabled.",
                vec![error_info("METHOD_DISABLED", &[("method", "POST /v1/projects/{p}/snapshots")])],
            ),
        ),
        (
            "unavailable",
            Status::with_details(
                Code::Unavailable,
                "Control plane temporarily unavailable. Retry later.\n\t\"quoted\" \\ backslash, é, 😀, \u{0001}",
                vec![
                    RetryInfo::new(Duration::from_nanos(1)).into(),
                    error_info(
                        "CONTROL_PLANE_UNAVAILABLE",
                        &[("dataCenterId", "gb-bournemouth-1"), ("note", "line 1\nline 2 \"quoted\" 😀 \u{7f}")],
                    ),
                    localized("ja-JP", "コントロールプレーンは一時的に利用できません。").into(),
                    Help {
                        links: vec![HelpLink {
                            description: String::new(),
                            url: "https://status.cudocompute.com".into(),
                        }],
                    }
                    .into(),
                ],
            ),
        ),
    ]
}

/// A detail's fields under their proto names, from the Rust struct.
fn expected_fields(detail: &Detail) -> Value {
    fn duration(d: &ProtoDuration) -> Value {
        json!({"seconds": d.seconds(), "nanos": d.nanos()})
    }
    fn localized(m: &LocalizedMessage) -> Value {
        json!({"locale": m.locale, "message": m.message})
    }
    match detail {
        Detail::ErrorInfo(d) => json!({"reason": d.reason, "domain": d.domain, "metadata": d.metadata}),
        Detail::RetryInfo(d) => match &d.retry_delay {
            Some(delay) => json!({"retry_delay": duration(delay)}),
            None => json!({}),
        },
        Detail::DebugInfo(d) => json!({"stack_entries": d.stack_entries, "detail": d.detail}),
        Detail::QuotaFailure(d) => json!({"violations": d.violations.iter().map(|v| {
            let mut fields = json!({
                "subject": v.subject,
                "description": v.description,
                "api_service": v.api_service,
                "quota_metric": v.quota_metric,
                "quota_id": v.quota_id,
                "quota_dimensions": v.quota_dimensions,
                "quota_value": v.quota_value,
            });
            if let Some(future) = v.future_quota_value {
                fields["future_quota_value"] = json!(future);
            }
            fields
        }).collect::<Vec<_>>()}),
        Detail::PreconditionFailure(d) => json!({"violations": d.violations.iter().map(|v| json!({
            "type": v.r#type, "subject": v.subject, "description": v.description,
        })).collect::<Vec<_>>()}),
        Detail::BadRequest(d) => json!({"field_violations": d.field_violations.iter().map(|v| {
            let mut fields = json!({"field": v.field, "description": v.description, "reason": v.reason});
            if let Some(message) = &v.localized_message {
                fields["localized_message"] = localized(message);
            }
            fields
        }).collect::<Vec<_>>()}),
        Detail::RequestInfo(d) => json!({"request_id": d.request_id, "serving_data": d.serving_data}),
        Detail::ResourceInfo(d) => json!({
            "resource_type": d.resource_type,
            "resource_name": d.resource_name,
            "owner": d.owner,
            "description": d.description,
        }),
        Detail::Help(d) => json!({"links": d.links.iter().map(|l| json!({
            "description": l.description, "url": l.url,
        })).collect::<Vec<_>>()}),
        Detail::LocalizedMessage(d) => localized(d),
        other => panic!("the conformance set uses standard details only, not {other:?}"),
    }
}
