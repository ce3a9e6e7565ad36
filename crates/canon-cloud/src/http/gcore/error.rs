//! The domain's errors as the Gcore page's classes.
//!
//! The domain speaks AIP-193 with CUDO's reasons (`VM_NOT_FOUND`,
//! `GPU_QUOTA_EXCEEDED`...). [`to_gcore`] turns each into the Gcore
//! class the page documents for the case, as a new `canon::Status` whose
//! ErrorInfo is in domain `api.gcore.com`, with the class in metadata
//! `exceptionClass` and the Gcore `info` entries beside it; canon's
//! encoder then writes `{exception_class, message, request_id, info,
//! invalid_fields}` with the class's HTTP status.
//!
//! | domain error | Gcore class | HTTP | `info` |
//! |--------------|-------------|------|--------|
//! | INVALID_ARGUMENT, OUT_OF_RANGE, FAILED_PRECONDITION with field violations | `ValidationError` | 400 | — (`invalid_fields`, field names in Gcore's words) |
//! | `*_NOT_FOUND` | `NotFoundError` | 404 | — |
//! | ALREADY_EXISTS | `ConflictError`, `x-should-retry: false` | 409 | — |
//! | `*_STATE_INVALID` while the resource is in a transitional state, ABORTED | `ConflictError` | 409 | `current_state` |
//! | other FAILED_PRECONDITION | `ValidationError` | 400 | snake_case metadata |
//! | `GPU_QUOTA_EXCEEDED` | `QuotaLimitExceed` | 400 | `quota_name`, `current_usage`, `requested`, `limit` |
//! | `MACHINE_TYPE_UNAVAILABLE` (capacity) | `ForbiddenError` | 403 | `flavor`, `region_id`, `available_flavors` |
//! | PERMISSION_DENIED | `PermissionDenied` | 403 | `required_scope` when a scope is missing |
//! | INTERNAL, UNKNOWN, DATA_LOSS | `InternalError` | 500 | — |
//! | anything else | the default class of its code (canon's table) | | snake_case metadata |
//!
//! `requested` in a quota error is the requested *total*, the usage the
//! project would have, as the Gcore page says ("current usage, requested
//! total, and the limit"). The quota's name is Gcore's regional quota
//! name for the GPU model: `gpu_virtual_a100_count` for `gpu-a100`.
//!
//! The domain's RetryInfo is kept where the class is worth retrying
//! (`Retry-After` on a 503), and dropped from `QuotaLimitExceed`, which the
//! page says never to retry.

use canon::details::{BadRequest, ErrorInfo, FieldViolation, QuotaFailure, QuotaViolation};
use canon::gcore::{DOMAIN, EXCEPTION_CLASS_KEY, TABLE};
use canon::{Code, Detail, Status};

use crate::errors::reason;
use crate::model::{DiskState, ImageState, ResourceKind, VmState};

/// What a request was about, to name things in Gcore's words: the
/// integer project and region ids.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ErrorContext {
    /// The Gcore project id of the request's path.
    pub project_id: Option<i64>,
    /// The Gcore region id of the request's path.
    pub region_id: Option<i64>,
}

/// A Gcore-shaped status: ErrorInfo in domain `api.gcore.com` with the
/// reason canon's table gives `class` for `code`, metadata
/// `exceptionClass` and the `info` entries (values that are JSON text,
/// such as numbers, are written back as JSON by canon's encoder).
///
/// # Panics
///
/// When canon's Gcore table has no row for `class` and `code`: the pairs
/// are fixed in this module.
pub fn gcore_status<K: Into<canon::Text>>(
    code: Code,
    class: &str,
    message: impl Into<canon::Text>,
    info: impl IntoIterator<Item = (K, String)>,
) -> Status {
    let row = TABLE
        .iter()
        .find(|row| row.exception_class == class && row.code == code)
        .unwrap_or_else(|| panic!("canon's Gcore table has no row for {class} with {code}"));
    let mut error_info = ErrorInfo::new(row.reason, DOMAIN).with_metadata(EXCEPTION_CLASS_KEY, class.to_owned());
    for (key, value) in info {
        error_info = error_info.with_metadata(key, value);
    }
    Status::with_details(code, message, vec![Detail::ErrorInfo(error_info)])
}

/// No `info`, for [`gcore_status`].
pub const NO_INFO: [(&str, String); 0] = [];

/// A `ValidationError` with `invalid_fields`: each violation's field is
/// already in Gcore's words.
pub fn validation_error(violations: Vec<FieldViolation>) -> Status {
    let mut fields: Vec<&str> = Vec::new();
    for violation in &violations {
        if !fields.contains(&violation.field.as_str()) {
            fields.push(&violation.field);
        }
    }
    let message = format!("Invalid fields in request: {}.", fields.join(", "));
    let mut status = gcore_status(Code::InvalidArgument, "ValidationError", message, NO_INFO);
    status.add_detail(BadRequest { field_violations: violations });
    status
}

/// The Gcore form of a domain error. See the [module docs](self).
pub fn to_gcore(status: &Status, context: ErrorContext) -> Status {
    let info = status.error_info();
    if info.is_some_and(|i| i.domain == DOMAIN) {
        return status.clone();
    }
    let reason = info.map_or("", |i| i.reason.as_ref());
    let meta = |key: &str| info.and_then(|i| i.metadata.get(key)).map(AsRef::as_ref);
    let code = status.code();

    if reason == reason::GPU_QUOTA_EXCEEDED {
        return quota_limit_exceeded(status, &meta);
    }
    if reason == reason::MACHINE_TYPE_UNAVAILABLE && code == Code::ResourceExhausted {
        let flavor = meta("requestedMachineType").unwrap_or_default();
        let region =
            context.region_id.map_or_else(|| meta("dataCenterId").unwrap_or_default().to_owned(), |r| r.to_string());
        let mut entries = vec![("flavor", flavor.to_owned()), ("region_id", region.clone())];
        if let Some(available) = meta("availableMachineTypes") {
            entries.push(("available_flavors", available.to_owned()));
        }
        return gcore_status(
            code,
            "ForbiddenError",
            format!("Flavor '{flavor}' has no capacity left in region {region}. Try a different region or flavor."),
            entries,
        );
    }
    if status.field_violations().next().is_some()
        && matches!(code, Code::InvalidArgument | Code::OutOfRange | Code::FailedPrecondition)
    {
        let violations = status
            .field_violations()
            .map(|v| FieldViolation::new(gcore_field(&v.field), v.description.clone()))
            .collect();
        return validation_error(violations);
    }
    let kind = resource_kind_of(reason);
    match code {
        Code::NotFound => {
            let noun = kind.map_or("Resource", gcore_noun);
            let id = kind.and_then(|k| meta(k.id_key())).unwrap_or_default();
            gcore_status(code, "NotFoundError", format!("{noun} '{id}' not found."), NO_INFO)
        }
        Code::AlreadyExists => {
            let message = if reason == reason::SSH_KEY_ALREADY_EXISTS {
                format!(
                    "An SSH key with fingerprint '{}' already exists in the project.",
                    meta("fingerprint").unwrap_or_default()
                )
            } else {
                let noun = kind.map_or("Resource", gcore_noun);
                format!("{noun} '{}' already exists.", kind.and_then(|k| meta(k.id_key())).unwrap_or_default())
            };
            gcore_status(code, "ConflictError", message, NO_INFO)
        }
        Code::FailedPrecondition if reason.ends_with("_STATE_INVALID") => {
            let current = meta("currentState").unwrap_or_default();
            let noun = kind.map_or("Resource", gcore_noun);
            let id = kind.and_then(|k| meta(k.id_key())).unwrap_or_default();
            let current_info = [("current_state", current.to_owned())];
            if is_transitional(kind, current) {
                gcore_status(
                    Code::Aborted,
                    "ConflictError",
                    format!("{noun} '{id}' is busy ({current}); retry when its task has finished."),
                    current_info.clone(),
                )
            } else {
                gcore_status(
                    code,
                    "ValidationError",
                    format!("{noun} '{id}' is {current}: {}", status.message()),
                    current_info,
                )
            }
        }
        Code::Aborted => gcore_status(code, "ConflictError", status.message().to_owned(), snake_info(info, context)),
        Code::PermissionDenied => {
            if reason == reason::PROJECT_PERMISSION_DENIED {
                let project = context
                    .project_id
                    .map_or_else(|| meta("projectId").unwrap_or_default().to_owned(), |p| p.to_string());
                gcore_status(code, "PermissionDenied", format!("You do not have access to project {project}."), NO_INFO)
            } else {
                gcore_status(code, "PermissionDenied", status.message().to_owned(), snake_info(info, context))
            }
        }
        Code::Internal | Code::Unknown | Code::DataLoss => {
            let mut mapped = gcore_status(code, "InternalError", status.message().to_owned(), NO_INFO);
            mapped.details_mut().extend(status.debug_info().cloned().map(Detail::DebugInfo));
            mapped
        }
        _ => {
            let row = canon::gcore::row_for_status(code, None);
            let mut mapped =
                gcore_status(code, row.exception_class, status.message().to_owned(), snake_info(info, context));
            mapped.details_mut().extend(status.retry_info().cloned().map(Detail::RetryInfo));
            mapped
        }
    }
}

fn quota_limit_exceeded<'a>(status: &Status, meta: &impl Fn(&str) -> Option<&'a str>) -> Status {
    let number = |key: &str| meta(key).and_then(|v| v.parse::<u64>().ok()).unwrap_or_default();
    let (used, requested, limit) = (number("used"), number("requested"), number("limit"));
    let total = used + requested;
    let quota_name = gpu_quota_name(meta("gpuModelId").unwrap_or_default());
    let message = format!(
        "Quota limit exceeded: {quota_name} would be {total}, over the limit of {limit} (current usage {used})."
    );
    let mut mapped = gcore_status(
        status.code(),
        "QuotaLimitExceed",
        message.clone(),
        [
            ("quota_name", quota_name.clone()),
            ("current_usage", used.to_string()),
            ("requested", total.to_string()),
            ("limit", limit.to_string()),
        ],
    );
    // What canon's decoder reads back from the body.
    mapped.add_detail(QuotaFailure {
        violations: vec![QuotaViolation {
            quota_value: i64::try_from(limit).unwrap_or(i64::MAX),
            ..QuotaViolation::new(quota_name, message)
        }],
    });
    mapped
}

/// Gcore's regional quota name for a GPU model: `gpu-a100` is
/// `gpu_virtual_a100_count`.
pub fn gpu_quota_name(gpu_model_id: &str) -> String {
    let model = gpu_model_id.strip_prefix("gpu-").unwrap_or(gpu_model_id);
    format!("gpu_virtual_{}_count", model.replace('-', "_"))
}

/// The domain's request fields in Gcore's words.
const FIELD_NAMES: &[(&str, &str)] = &[
    ("sizeGib", "size"),
    ("storageClass", "type_name"),
    ("dataCenterId", "region_id"),
    ("spec.machineType", "flavor"),
    ("machineType", "flavor"),
    ("bootDiskSizeGib", "volumes"),
    ("bootDiskImageId", "volumes"),
    ("sshKeyIds", "ssh_key_name"),
    ("publicKey", "public_key"),
    ("vmId", "id"),
];

/// A domain field name as Gcore names it: from a table of the names that differ, else in
/// snake case.
pub fn gcore_field(field: &str) -> String {
    FIELD_NAMES.iter().find(|(domain, _)| *domain == field).map_or_else(|| snake_case(field), |(_, g)| (*g).to_owned())
}

fn snake_case(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 4);
    for c in text.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The metadata of a domain error as Gcore `info`: snake_case keys, the
/// string project and data center ids replaced by the request's integer
/// ids (or dropped).
fn snake_info(info: Option<&ErrorInfo>, context: ErrorContext) -> Vec<(String, String)> {
    let Some(info) = info else { return Vec::new() };
    let mut out: Vec<(String, String)> = Vec::new();
    for (key, value) in &info.metadata {
        match key.as_ref() {
            "projectId" => {
                if let Some(project) = context.project_id {
                    out.push(("project_id".to_owned(), project.to_string()));
                }
            }
            "dataCenterId" => {
                if let Some(region) = context.region_id {
                    out.push(("region_id".to_owned(), region.to_string()));
                }
            }
            _ => out.push((snake_case(key), value.to_string())),
        }
    }
    out
}

/// The resource kind a domain reason is about: `VM_NOT_FOUND` is a VM.
fn resource_kind_of(reason: &str) -> Option<ResourceKind> {
    ResourceKind::ALL
        .iter()
        .copied()
        .filter(|kind| {
            reason.starts_with(kind.reason_prefix()) && reason[kind.reason_prefix().len()..].starts_with('_')
        })
        .max_by_key(|kind| kind.reason_prefix().len())
}

/// What Gcore calls a kind of resource.
pub fn gcore_noun(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::Project => "Project",
        ResourceKind::DataCenter => "Region",
        ResourceKind::MachineType => "Flavor",
        ResourceKind::Vm => "Instance",
        ResourceKind::Disk => "Volume",
        ResourceKind::Cluster => "Cluster",
        ResourceKind::SshKey => "SSH key",
        ResourceKind::Image => "Image",
        ResourceKind::Operation => "Task",
        ResourceKind::ApiKey => "API key",
    }
}

/// Whether a state named in a `*_STATE_INVALID` error is one a resource
/// passes through on its own, so that the request may succeed later.
fn is_transitional(kind: Option<ResourceKind>, state: &str) -> bool {
    match kind {
        Some(ResourceKind::Vm) => state.parse::<VmState>().is_ok_and(|s| {
            matches!(
                s,
                VmState::Pending | VmState::Starting | VmState::Stopping | VmState::Resizing | VmState::Deleting
            )
        }),
        Some(ResourceKind::Disk) => state
            .parse::<DiskState>()
            .is_ok_and(|s| matches!(s, DiskState::Creating | DiskState::Updating | DiskState::Deleting)),
        Some(ResourceKind::Image) => {
            state.parse::<ImageState>().is_ok_and(|s| matches!(s, ImageState::Creating | ImageState::Deleting))
        }
        Some(ResourceKind::Cluster) => {
            matches!(state, "STATE_CREATING" | "STATE_UPDATING" | "STATE_DELETING")
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use canon::{Encoding, encode};
    use serde_json::{Value, json};

    use super::*;
    use crate::errors::Errors;
    use crate::model::{Action, Quota};

    /// A domain error, and the HTTP status, body and headers it is sent with.
    type Row = (Status, u16, Value, Vec<(&'static str, &'static str)>);

    fn body(status: &Status) -> (u16, Value, Vec<(&'static str, String)>) {
        let encoded = encode(status, Encoding::Gcore);
        (encoded.http_status, serde_json::from_slice(&encoded.body).unwrap(), encoded.headers)
    }

    /// Every row of the module docs' table: the domain's error, and the
    /// Gcore body and headers it becomes.
    #[test]
    fn every_domain_error_becomes_its_gcore_class() {
        let errors = Errors::new("compute.cudo.dev");
        let context = ErrorContext { project_id: Some(1), region_id: Some(7) };
        let quota = Quota {
            project_id: "demo".into(),
            data_center_id: "gb-bournemouth-1".into(),
            gpu_model_id: "gpu-a100".into(),
            limit: 16,
            used: 12,
        };
        let table: Vec<Row> = vec![
            (
                errors.below_minimum("sizeGib", 5, 10, " GiB"),
                400,
                json!({"exception_class": "ValidationError", "message": "Invalid fields in request: size.",
                       "request_id": null, "invalid_fields": {"size": ["Minimum is 10 GiB."]}}),
                vec![],
            ),
            (
                errors.invalid_fields(&[
                    FieldViolation::new("spec.machineType", "Unknown machine type 'x'"),
                    FieldViolation::new("name", "Must be 1 to 255 characters."),
                ]),
                400,
                json!({"exception_class": "ValidationError", "message": "Invalid fields in request: flavor, name.",
                       "request_id": null,
                       "invalid_fields": {"flavor": ["Unknown machine type 'x'"], "name": ["Must be 1 to 255 characters."]}}),
                vec![],
            ),
            (
                errors.not_found(ResourceKind::Vm, "vm-1", "demo"),
                404,
                json!({"exception_class": "NotFoundError", "message": "Instance 'vm-1' not found.", "request_id": null}),
                vec![],
            ),
            (
                errors.not_found_global(ResourceKind::DataCenter, "9"),
                404,
                json!({"exception_class": "NotFoundError", "message": "Region '9' not found.", "request_id": null}),
                vec![],
            ),
            (
                errors.ssh_key_fingerprint_exists("SHA256:abc", "demo", "k-1"),
                409,
                json!({"exception_class": "ConflictError",
                       "message": "An SSH key with fingerprint 'SHA256:abc' already exists in the project.",
                       "request_id": null}),
                vec![("x-should-retry", "false")],
            ),
            (
                errors.state_invalid(ResourceKind::Disk, "d-1", "UPDATING", &["READY", "ATTACHED"], Action::Resize),
                409,
                json!({"exception_class": "ConflictError",
                       "message": "Volume 'd-1' is busy (UPDATING); retry when its task has finished.",
                       "request_id": null, "info": {"current_state": "UPDATING"}}),
                vec![],
            ),
            (
                errors.state_invalid(ResourceKind::Disk, "d-1", "ATTACHED", &["READY"], Action::Delete),
                400,
                json!({"exception_class": "ValidationError",
                       "message": "Volume 'd-1' is ATTACHED: Disk must be in READY before deleting.",
                       "request_id": null, "info": {"current_state": "ATTACHED"}}),
                vec![],
            ),
            (
                errors.gpu_quota_exceeded(&quota, 8),
                400,
                json!({"exception_class": "QuotaLimitExceed",
                       "message": "Quota limit exceeded: gpu_virtual_a100_count would be 20, over the limit of 16 (current usage 12).",
                       "request_id": null,
                       "info": {"quota_name": "gpu_virtual_a100_count", "current_usage": 12, "requested": 20, "limit": 16}}),
                vec![],
            ),
            (
                errors.machine_type_exhausted("gpu-h100-x8", "gb-bournemouth-1", &["gpu-a100-x2".to_owned()]),
                403,
                json!({"exception_class": "ForbiddenError",
                       "message": "Flavor 'gpu-h100-x8' has no capacity left in region 7. Try a different region or flavor.",
                       "request_id": null,
                       "info": {"flavor": "gpu-h100-x8", "region_id": 7, "available_flavors": ["gpu-a100-x2"]}}),
                vec![],
            ),
            (
                errors.project_denied("other"),
                403,
                json!({"exception_class": "PermissionDenied", "message": "You do not have access to project 1.",
                       "request_id": null}),
                vec![],
            ),
            (
                errors.etag_mismatch(ResourceKind::Disk, "d-1", "\"a-2\"", "\"a-1\""),
                409,
                json!({"exception_class": "ConflictError",
                       "message": "Disk 'd-1' was modified concurrently: If-Match \"a-1\" does not match its ETag \"a-2\".",
                       "request_id": null,
                       "info": {"current_etag": "\"a-2\"", "disk_id": "d-1", "request_etag": "\"a-1\"", "resource_type": "disk"}}),
                vec![],
            ),
            (
                errors.internal(&"disk I/O error"),
                500,
                json!({"exception_class": "InternalError", "message": crate::errors::INTERNAL_MESSAGE, "request_id": null}),
                vec![],
            ),
            (
                errors.store_busy(),
                503,
                json!({"exception_class": "ServiceUnavailable", "message": "The store is busy. Retry later.",
                       "request_id": null}),
                vec![("retry-after", "1")],
            ),
        ];
        for (domain, http, expected, headers) in table {
            let mapped = to_gcore(&domain, context);
            let (status, json, written) = body(&mapped);
            assert_eq!((status, &json), (http, &expected), "{domain:?}");
            let written: Vec<(&str, &str)> = written.iter().map(|(k, v)| (*k, v.as_str())).collect();
            assert_eq!(written, headers, "{domain:?}");
            // A Gcore status is left as it is.
            assert_eq!(to_gcore(&mapped, context), mapped);
        }
    }

    #[test]
    fn quota_errors_read_back_as_quota_failures() {
        let errors = Errors::new("compute.cudo.dev").with_quota_retry_delay(Duration::from_secs(30));
        let quota = Quota {
            project_id: "demo".into(),
            data_center_id: "se-smedjebacken-1".into(),
            gpu_model_id: "gpu-rtx-a6000".into(),
            limit: 4,
            used: 4,
        };
        let mapped = to_gcore(&errors.gpu_quota_exceeded(&quota, 4), ErrorContext::default());
        assert_eq!(mapped.retry_delay(), None, "QuotaLimitExceed is not to be retried");
        let encoded = encode(&mapped, Encoding::Gcore);
        let decoded = canon::decode(encoded.http_status, &http::HeaderMap::new(), &encoded.body);
        let violation = &decoded.status.quota_failure().unwrap().violations[0];
        assert_eq!(violation.subject, "gpu_virtual_rtx_a6000_count");
        assert_eq!(violation.quota_value, 4);
        assert_eq!(decoded.status.code(), Code::ResourceExhausted);
    }

    #[test]
    fn field_names_are_gcores() {
        for (domain, gcore) in [
            ("sizeGib", "size"),
            ("spec.machineType", "flavor"),
            ("publicKey", "public_key"),
            ("fooBarBaz", "foo_bar_baz"),
        ] {
            assert_eq!(gcore_field(domain), gcore);
        }
    }
}
