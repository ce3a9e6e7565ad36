//! Every error the domain produces, as a `canon::Status`, built in one
//! place so that each follows AIP-193 and the CUDO page.
//!
//! Rules every constructor keeps:
//!
//! - ErrorInfo is present, with a reason matching `[A-Z][A-Z0-9_]+[A-Z0-9]`
//!   (at most 63 characters), the configured domain, and lowerCamelCase
//!   metadata keys.
//! - Every dynamic part of the message is also in the metadata.
//! - Where the CUDO page shows a body for the scenario, the code, message
//!   and details are the page's, in the page's order; ErrorInfo, which
//!   AIP-193 requires and some of the page's examples lack, comes last.
//!
//! The scenarios of the CUDO page:
//!
//! ```
//! use canon::Code;
//! use canon_cloud::errors::Errors;
//! use canon_cloud::model::{Action, ResourceKind};
//!
//! let errors = Errors::new("compute.cudo.dev");
//! let status = errors.state_invalid(ResourceKind::Cluster, "clu-abc123", "STATE_UPDATING", &["STATE_ACTIVE"], Action::Resize);
//! assert_eq!(status.code(), Code::FailedPrecondition);
//! assert_eq!(status.message(), "Cluster must be in STATE_ACTIVE before resizing.");
//! let info = status.error_info().unwrap();
//! assert_eq!(info.reason, "CLUSTER_STATE_INVALID");
//! assert_eq!(info.metadata["operation"], "RESIZE");
//!
//! let status = errors.not_found(ResourceKind::Cluster, "clu-missing99", "proj-123");
//! assert_eq!(status.message(), "Cluster 'clu-missing99' not found in project 'proj-123'.");
//! ```
//!
//! # `availableMachineTypes`
//!
//! The CUDO page puts a JSON array into ErrorInfo metadata, which the proto
//! types as `map<string, string>`. The emulator writes the array as its
//! compact JSON text, `["gpu-a100-x2","gpu-a100-x4"]`: exactly the string
//! canon's decoder makes of the page's own body, which
//! `ErrorInfo::metadata_list` splits back into items and which canon's
//! Gcore encoder writes back as an array.

use std::fmt;
use std::time::Duration;

use canon::details::FieldViolation;
use canon::{Code, Status};

use crate::auth::Scope;
use crate::clock::Timestamp;
use crate::model::{Action, MaintenanceWindow, Quota, ResourceKind};

/// The ErrorInfo reasons with a fixed name. Reasons about one kind of
/// resource are built from [`ResourceKind::reason_prefix`]: `VM_NOT_FOUND`,
/// `DISK_ALREADY_EXISTS`, `CLUSTER_STATE_INVALID`.
pub mod reason {
    /// No API key was sent.
    pub const API_KEY_MISSING: &str = "API_KEY_MISSING";
    /// The API key is unknown.
    pub const API_KEY_INVALID: &str = "API_KEY_INVALID";
    /// The API key lacks the scope the operation needs.
    pub const API_KEY_SCOPE_MISSING: &str = "API_KEY_SCOPE_MISSING";
    /// The API key belongs to another project.
    pub const PROJECT_PERMISSION_DENIED: &str = "PROJECT_PERMISSION_DENIED";
    /// One or more request fields are invalid.
    pub const INVALID_FIELDS: &str = "INVALID_FIELDS";
    /// A number that must not be negative is.
    pub const VALUE_NEGATIVE: &str = "VALUE_NEGATIVE";
    /// A number is outside its range.
    pub const VALUE_OUT_OF_RANGE: &str = "VALUE_OUT_OF_RANGE";
    /// The machine type is unknown in the data center, or has no capacity.
    pub const MACHINE_TYPE_UNAVAILABLE: &str = "MACHINE_TYPE_UNAVAILABLE";
    /// The project's GPU quota would be exceeded.
    pub const GPU_QUOTA_EXCEEDED: &str = "GPU_QUOTA_EXCEEDED";
    /// The data center is in a maintenance window.
    pub const DATA_CENTER_MAINTENANCE: &str = "DATA_CENTER_MAINTENANCE";
    /// An If-Match precondition did not hold.
    pub const ETAG_MISMATCH: &str = "ETAG_MISMATCH";
    /// A disk attached read-only cannot be resized.
    pub const DISK_ATTACHED_READ_ONLY: &str = "DISK_ATTACHED_READ_ONLY";
    /// A boot disk cannot be detached or deleted on its own.
    pub const BOOT_DISK_NOT_DETACHABLE: &str = "BOOT_DISK_NOT_DETACHABLE";
    /// A disk and a VM are in different data centers.
    pub const DATA_CENTER_MISMATCH: &str = "DATA_CENTER_MISMATCH";
    /// An SSH key with the same fingerprint exists.
    pub const SSH_KEY_ALREADY_EXISTS: &str = "SSH_KEY_ALREADY_EXISTS";
    /// An operation missed its deadline.
    pub const OPERATION_DEADLINE_EXCEEDED: &str = "OPERATION_DEADLINE_EXCEEDED";
    /// An operation was failed by an admin.
    pub const OPERATION_FAILED: &str = "OPERATION_FAILED";
    /// A resource an operation tracks entered a failed state.
    pub const RESOURCE_FAILED: &str = "RESOURCE_FAILED";
    /// An admin asked to advance a resource that has no transition under
    /// way.
    pub const NO_PENDING_TRANSITION: &str = "NO_PENDING_TRANSITION";
    /// An admin asked to move a clock that is not manual.
    pub const CLOCK_NOT_MANUAL: &str = "CLOCK_NOT_MANUAL";
    /// The bootstrap key already belongs to another project.
    pub const API_KEY_PROJECT_MISMATCH: &str = "API_KEY_PROJECT_MISMATCH";
    /// The store is locked by another process.
    pub const STORE_BUSY: &str = "STORE_BUSY";
    /// An unexpected failure.
    pub const INTERNAL_ERROR: &str = "INTERNAL_ERROR";
    /// A fault rule or the fault header forced the error.
    pub const FAULT_INJECTED: &str = "FAULT_INJECTED";
    /// The fault header's value is malformed.
    pub const FAULT_HEADER_INVALID: &str = "FAULT_HEADER_INVALID";
}

/// The CUDO page's message for INTERNAL.
pub const INTERNAL_MESSAGE: &str = "An internal error occurred. Try again or contact support if it persists.";

/// Builds the domain's errors in one ErrorInfo domain.
#[derive(Debug, Clone)]
pub struct Errors {
    domain: canon::Text,
    debug: bool,
    quota_retry_delay: Duration,
}

impl Errors {
    /// Errors in this ErrorInfo domain, without debug details, with the
    /// CUDO page's 30-second retry delay on quota errors.
    pub fn new(domain: impl Into<canon::Text>) -> Errors {
        Errors { domain: domain.into(), debug: false, quota_retry_delay: Duration::from_secs(30) }
    }

    /// Whether INTERNAL errors carry a DebugInfo with the cause.
    pub fn with_debug(mut self, debug: bool) -> Errors {
        self.debug = debug;
        self
    }

    /// The RetryInfo delay of GPU quota errors.
    pub fn with_quota_retry_delay(mut self, delay: Duration) -> Errors {
        self.quota_retry_delay = delay;
        self
    }

    /// The ErrorInfo domain, as an ErrorInfo holds it.
    pub fn domain(&self) -> canon::Text {
        self.domain.clone()
    }

    fn info<'a>(
        &self,
        reason: impl Into<canon::Text>,
        metadata: impl IntoIterator<Item = (&'a str, String)>,
    ) -> canon::details::ErrorInfo {
        let mut info = canon::details::ErrorInfo::new(reason, self.domain.clone());
        for (key, value) in metadata {
            info.metadata.insert(key.to_owned().into(), value.into());
        }
        info
    }

    /// UNAUTHENTICATED: the request carries no API key.
    pub fn api_key_missing(&self) -> Status {
        Status::builder(Code::Unauthenticated, "The request has no API key.")
            .detail(self.info(reason::API_KEY_MISSING, []))
            .build()
    }

    /// UNAUTHENTICATED: the API key is unknown (never made, or deleted).
    pub fn api_key_invalid(&self) -> Status {
        Status::builder(Code::Unauthenticated, "The API key is not valid.")
            .detail(self.info(reason::API_KEY_INVALID, []))
            .build()
    }

    /// PERMISSION_DENIED: the key lacks a scope.
    pub fn scope_missing(&self, scope: Scope) -> Status {
        Status::builder(Code::PermissionDenied, format!("The API key lacks the scope '{scope}'."))
            .detail(self.info(reason::API_KEY_SCOPE_MISSING, [("requiredScope", scope.to_string())]))
            .build()
    }

    /// PERMISSION_DENIED: the key belongs to another project (whether or
    /// not this one exists).
    pub fn project_denied(&self, project_id: &str) -> Status {
        Status::builder(Code::PermissionDenied, format!("Permission denied on project '{project_id}'."))
            .detail(self.info(reason::PROJECT_PERMISSION_DENIED, [("projectId", project_id.to_owned())]))
            .build()
    }

    /// NOT_FOUND for a resource of a project, in the CUDO page's words:
    /// `Cluster 'clu-missing99' not found in project 'proj-123'.`, reason
    /// `CLUSTER_NOT_FOUND`, metadata `clusterId` and `projectId`.
    pub fn not_found(&self, kind: ResourceKind, id: &str, project_id: &str) -> Status {
        Status::builder(Code::NotFound, format!("{} '{id}' not found in project '{project_id}'.", kind.display_name()))
            .detail(self.info(
                format!("{}_NOT_FOUND", kind.reason_prefix()),
                [(kind.id_key(), id.to_owned()), ("projectId", project_id.to_owned())],
            ))
            .build()
    }

    /// NOT_FOUND for something outside any project: a project, a data
    /// center, an API key.
    pub fn not_found_global(&self, kind: ResourceKind, id: &str) -> Status {
        Status::builder(Code::NotFound, format!("{} '{id}' not found.", kind.display_name()))
            .detail(self.info(format!("{}_NOT_FOUND", kind.reason_prefix()), [(kind.id_key(), id.to_owned())]))
            .build()
    }

    /// NOT_FOUND for a machine type of a data center.
    pub fn machine_type_not_found(&self, data_center_id: &str, machine_type_id: &str) -> Status {
        Status::builder(
            Code::NotFound,
            format!("Machine type '{machine_type_id}' not found in data center '{data_center_id}'."),
        )
        .detail(self.info(
            "MACHINE_TYPE_NOT_FOUND",
            [("machineTypeId", machine_type_id.to_owned()), ("dataCenterId", data_center_id.to_owned())],
        ))
        .build()
    }

    /// ALREADY_EXISTS: a client-chosen id is taken.
    pub fn already_exists(&self, kind: ResourceKind, id: &str, project_id: &str) -> Status {
        Status::builder(
            Code::AlreadyExists,
            format!("{} '{id}' already exists in project '{project_id}'.", kind.display_name()),
        )
        .detail(self.info(
            format!("{}_ALREADY_EXISTS", kind.reason_prefix()),
            [(kind.id_key(), id.to_owned()), ("projectId", project_id.to_owned())],
        ))
        .build()
    }

    /// ALREADY_EXISTS: a project id is taken.
    pub fn project_already_exists(&self, project_id: &str) -> Status {
        Status::builder(Code::AlreadyExists, format!("Project '{project_id}' already exists."))
            .detail(self.info("PROJECT_ALREADY_EXISTS", [("projectId", project_id.to_owned())]))
            .build()
    }

    /// ALREADY_EXISTS: the project has an SSH key with this fingerprint.
    pub fn ssh_key_fingerprint_exists(&self, fingerprint: &str, project_id: &str, existing_id: &str) -> Status {
        Status::builder(
            Code::AlreadyExists,
            format!("An SSH key with fingerprint '{fingerprint}' already exists in project '{project_id}'."),
        )
        .detail(self.info(
            reason::SSH_KEY_ALREADY_EXISTS,
            [
                ("fingerprint", fingerprint.to_owned()),
                ("projectId", project_id.to_owned()),
                ("sshKeyId", existing_id.to_owned()),
            ],
        ))
        .build()
    }

    /// INVALID_ARGUMENT with every field violation, in the CUDO page's
    /// words: `Invalid fields in request.`; metadata `fields` lists the
    /// fields, comma-separated.
    pub fn invalid_fields(&self, violations: &[FieldViolation]) -> Status {
        let fields: Vec<&str> = violations.iter().map(|v| v.field.as_str()).collect();
        let mut builder = Status::builder(Code::InvalidArgument, "Invalid fields in request.");
        for violation in violations {
            builder = builder.field_violation(&violation.field, &violation.description);
        }
        builder.detail(self.info(reason::INVALID_FIELDS, [("fields", fields.join(","))])).build()
    }

    /// INVALID_ARGUMENT for one field.
    pub fn invalid_field(&self, field: &str, description: impl Into<String>) -> Status {
        self.invalid_fields(&[FieldViolation::new(field, description)])
    }

    /// INVALID_ARGUMENT: the machine type is not one of the data center's,
    /// as on the CUDO page (`field` is the request field that named it).
    pub fn machine_type_unknown(
        &self,
        field: &str,
        requested: &str,
        data_center_id: &str,
        available: &[String],
    ) -> Status {
        Status::builder(
            Code::InvalidArgument,
            format!("Machine type '{requested}' is not available in data center {data_center_id}."),
        )
        .field_violation(field, format!("Unknown machine type '{requested}'"))
        .detail(self.machine_type_info(requested, data_center_id, available))
        .build()
    }

    /// RESOURCE_EXHAUSTED: the machine type has no free capacity; the
    /// metadata lists the types that have.
    pub fn machine_type_exhausted(&self, requested: &str, data_center_id: &str, available: &[String]) -> Status {
        Status::builder(
            Code::ResourceExhausted,
            format!("Machine type '{requested}' is not available in data center {data_center_id}."),
        )
        .detail(self.machine_type_info(requested, data_center_id, available))
        .build()
    }

    fn machine_type_info(
        &self,
        requested: &str,
        data_center_id: &str,
        available: &[String],
    ) -> canon::details::ErrorInfo {
        self.info(
            reason::MACHINE_TYPE_UNAVAILABLE,
            [
                ("requestedMachineType", requested.to_owned()),
                ("availableMachineTypes", serde_json::to_string(available).expect("strings serialize")),
                ("dataCenterId", data_center_id.to_owned()),
            ],
        )
    }

    /// INVALID_ARGUMENT: a number that must not be negative is.
    pub fn negative(&self, field: &str, value: i64) -> Status {
        Status::builder(Code::InvalidArgument, format!("{field} must not be negative, got {value}."))
            .field_violation(field, "Must not be negative.")
            .detail(self.info(reason::VALUE_NEGATIVE, [("field", field.to_owned()), ("value", value.to_string())]))
            .build()
    }

    /// OUT_OF_RANGE: below a minimum. `unit` follows the number in the
    /// field description (`" GiB"` gives the page's `Minimum is 20 GiB.`).
    pub fn below_minimum(&self, field: &str, value: i64, minimum: i64, unit: &str) -> Status {
        Status::builder(Code::OutOfRange, format!("{field} {value} is below the minimum of {minimum}."))
            .field_violation(field, format!("Minimum is {minimum}{unit}."))
            .detail(self.info(
                reason::VALUE_OUT_OF_RANGE,
                [("field", field.to_owned()), ("value", value.to_string()), ("minimum", minimum.to_string())],
            ))
            .build()
    }

    /// OUT_OF_RANGE: above a maximum, in the CUDO page's words:
    /// `machineCount 200 exceeds the maximum of 128.`, field description
    /// `Max allowed is 128.`.
    pub fn above_maximum(&self, field: &str, value: i64, maximum: i64, unit: &str) -> Status {
        Status::builder(Code::OutOfRange, format!("{field} {value} exceeds the maximum of {maximum}."))
            .field_violation(field, format!("Max allowed is {maximum}{unit}."))
            .detail(self.info(
                reason::VALUE_OUT_OF_RANGE,
                [("field", field.to_owned()), ("value", value.to_string()), ("maximum", maximum.to_string())],
            ))
            .build()
    }

    /// FAILED_PRECONDITION: the resource is not in a state the action
    /// needs, in the CUDO page's words: `Cluster must be in STATE_ACTIVE
    /// before resizing.`, reason `CLUSTER_STATE_INVALID`, metadata
    /// `clusterId`, `currentState`, `requiredState` (comma-separated when
    /// several) and `operation`.
    pub fn state_invalid(
        &self,
        kind: ResourceKind,
        id: &str,
        current: &str,
        required: &[&str],
        action: Action,
    ) -> Status {
        Status::builder(
            Code::FailedPrecondition,
            format!("{} must be in {} before {}.", kind.display_name(), required.join(" or "), action.gerund()),
        )
        .detail(self.info(
            format!("{}_STATE_INVALID", kind.reason_prefix()),
            [
                (kind.id_key(), id.to_owned()),
                ("currentState", current.to_owned()),
                ("requiredState", required.join(",")),
                ("operation", action.as_str().to_owned()),
            ],
        ))
        .build()
    }

    /// FAILED_PRECONDITION: a disk attached read-only cannot be resized.
    pub fn disk_attached_read_only(&self, disk_id: &str, vm_id: &str, project_id: &str) -> Status {
        Status::builder(
            Code::FailedPrecondition,
            format!("Disk '{disk_id}' is attached read-only to VM '{vm_id}' and cannot be resized."),
        )
        .precondition_violation(
            "DISK_ATTACHMENT",
            format!("projects/{project_id}/disks/{disk_id}"),
            "Detach the disk, or attach it read-write, before resizing it.",
        )
        .detail(self.info(
            reason::DISK_ATTACHED_READ_ONLY,
            [
                ("diskId", disk_id.to_owned()),
                ("vmId", vm_id.to_owned()),
                ("projectId", project_id.to_owned()),
                ("attachMode", "READ_ONLY".to_owned()),
                ("operation", Action::Resize.as_str().to_owned()),
            ],
        ))
        .build()
    }

    /// FAILED_PRECONDITION: a boot disk goes with its VM.
    pub fn boot_disk_not_detachable(&self, disk_id: &str, vm_id: &str, action: Action) -> Status {
        Status::builder(
            Code::FailedPrecondition,
            format!("Disk '{disk_id}' is the boot disk of VM '{vm_id}'; it goes with the VM."),
        )
        .detail(self.info(
            reason::BOOT_DISK_NOT_DETACHABLE,
            [("diskId", disk_id.to_owned()), ("vmId", vm_id.to_owned()), ("operation", action.as_str().to_owned())],
        ))
        .build()
    }

    /// FAILED_PRECONDITION: a disk can only be attached in its own data
    /// center.
    pub fn data_center_mismatch(&self, disk_id: &str, disk_dc: &str, vm_id: &str, vm_dc: &str) -> Status {
        Status::builder(
            Code::FailedPrecondition,
            format!(
                "Disk '{disk_id}' in data center '{disk_dc}' cannot be attached to VM '{vm_id}' in data center '{vm_dc}'."
            ),
        )
        .detail(self.info(
            reason::DATA_CENTER_MISMATCH,
            [
                ("diskId", disk_id.to_owned()),
                ("diskDataCenterId", disk_dc.to_owned()),
                ("vmId", vm_id.to_owned()),
                ("vmDataCenterId", vm_dc.to_owned()),
            ],
        ))
        .build()
    }

    /// ABORTED: the If-Match ETag is not the resource's current one.
    pub fn etag_mismatch(&self, kind: ResourceKind, id: &str, current: &str, given: &str) -> Status {
        Status::builder(
            Code::Aborted,
            format!(
                "{} '{id}' was modified concurrently: If-Match {given} does not match its ETag {current}.",
                kind.display_name()
            ),
        )
        .detail(self.info(
            reason::ETAG_MISMATCH,
            [
                ("resourceType", kind.as_str().to_owned()),
                (kind.id_key(), id.to_owned()),
                ("currentEtag", current.to_owned()),
                ("requestEtag", given.to_owned()),
            ],
        ))
        .build()
    }

    /// RESOURCE_EXHAUSTED: the GPU quota would be exceeded, as on the CUDO
    /// page: QuotaFailure with subject
    /// `projects/{p}/dataCenterIds/{dc}/gpuModelId:{model}` and description
    /// `Limit N reached`, then RetryInfo (30 s by default).
    pub fn gpu_quota_exceeded(&self, quota: &Quota, requested: u32) -> Status {
        Status::builder(
            Code::ResourceExhausted,
            format!(
                "GPU quota exceeded for project '{}' in dataCenterId '{}'.",
                quota.project_id, quota.data_center_id
            ),
        )
        .quota_violation(quota.subject(), format!("Limit {} reached", quota.limit))
        .retry_delay(self.quota_retry_delay)
        .detail(self.info(
            reason::GPU_QUOTA_EXCEEDED,
            [
                ("projectId", quota.project_id.clone()),
                ("dataCenterId", quota.data_center_id.clone()),
                ("gpuModelId", quota.gpu_model_id.clone()),
                ("limit", quota.limit.to_string()),
                ("used", quota.used.to_string()),
                ("requested", requested.to_string()),
            ],
        ))
        .build()
    }

    /// UNAVAILABLE: the data center is in a maintenance window; RetryInfo
    /// holds the time left, in whole seconds rounded up (the encoders turn
    /// it into `Retry-After`).
    pub fn maintenance(&self, window: &MaintenanceWindow, now: Timestamp) -> Status {
        let left = window.ends_at.duration_since(now);
        let seconds = (left.as_millis().div_ceil(1000) as u64).max(1);
        Status::builder(
            Code::Unavailable,
            format!(
                "Data center '{}' is under maintenance until {}. Retry later.",
                window.data_center_id, window.ends_at
            ),
        )
        .retry_delay(Duration::from_secs(seconds))
        .detail(self.info(
            reason::DATA_CENTER_MAINTENANCE,
            [("dataCenterId", window.data_center_id.clone()), ("maintenanceEndTime", window.ends_at.to_rfc3339())],
        ))
        .build()
    }

    /// DEADLINE_EXCEEDED: an operation did not finish in time.
    pub fn operation_deadline_exceeded(&self, operation_id: &str, kind: &str, deadline: Timestamp) -> Status {
        Status::builder(
            Code::DeadlineExceeded,
            format!("Operation '{operation_id}' did not finish before its deadline {deadline}."),
        )
        .detail(self.info(
            reason::OPERATION_DEADLINE_EXCEEDED,
            [
                ("operationId", operation_id.to_owned()),
                ("operationKind", kind.to_owned()),
                ("deadline", deadline.to_rfc3339()),
            ],
        ))
        .build()
    }

    /// ABORTED: an admin failed the operation.
    pub fn operation_failed_by_admin(&self, operation_id: &str) -> Status {
        Status::builder(Code::Aborted, format!("Operation '{operation_id}' was failed by an administrator."))
            .detail(self.info(reason::OPERATION_FAILED, [("operationId", operation_id.to_owned())]))
            .build()
    }

    /// INTERNAL: a resource the operation tracks entered a failed state.
    pub fn resource_failed(&self, operation_id: &str, kind: ResourceKind, id: &str) -> Status {
        Status::builder(Code::Internal, format!("{} '{id}' failed.", kind.display_name()))
            .detail(self.info(
                reason::RESOURCE_FAILED,
                [
                    ("operationId", operation_id.to_owned()),
                    ("resourceType", kind.as_str().to_owned()),
                    (kind.id_key(), id.to_owned()),
                ],
            ))
            .build()
    }

    /// FAILED_PRECONDITION: an admin asked to advance a settled resource.
    pub fn no_pending_transition(&self, kind: ResourceKind, id: &str) -> Status {
        Status::builder(
            Code::FailedPrecondition,
            format!("{} '{id}' has no transition under way.", kind.display_name()),
        )
        .detail(self.info(
            reason::NO_PENDING_TRANSITION,
            [("resourceType", kind.as_str().to_owned()), (kind.id_key(), id.to_owned())],
        ))
        .build()
    }

    /// FAILED_PRECONDITION: the clock cannot be moved by hand.
    pub fn clock_not_manual(&self) -> Status {
        Status::builder(Code::FailedPrecondition, "The emulator's clock is not a manual clock.")
            .detail(self.info(reason::CLOCK_NOT_MANUAL, []))
            .build()
    }

    /// FAILED_PRECONDITION: the bootstrap key already works for another
    /// project.
    pub fn key_in_other_project(&self, project_id: &str) -> Status {
        Status::builder(Code::FailedPrecondition, format!("The API key already belongs to project '{project_id}'."))
            .detail(self.info(reason::API_KEY_PROJECT_MISMATCH, [("projectId", project_id.to_owned())]))
            .build()
    }

    /// UNAVAILABLE: the store is locked by another process for longer than
    /// the busy timeout.
    pub fn store_busy(&self) -> Status {
        Status::builder(Code::Unavailable, "The store is busy. Retry later.")
            .retry_delay(Duration::from_secs(1))
            .detail(self.info(reason::STORE_BUSY, []))
            .build()
    }

    /// INTERNAL, with the CUDO page's message; the cause goes into a
    /// DebugInfo only when debug details are on.
    pub fn internal(&self, cause: &dyn fmt::Display) -> Status {
        let mut builder = Status::builder(Code::Internal, INTERNAL_MESSAGE);
        if self.debug {
            builder = builder.debug_info(Vec::new(), cause.to_string());
        }
        builder.detail(self.info(reason::INTERNAL_ERROR, [])).build()
    }

    /// A forced error (fault rule or header): the code, the given message
    /// or the code's description, ErrorInfo with `reason` (default
    /// `FAULT_INJECTED`) and `metadata`, and RetryInfo when there is a
    /// delay.
    pub fn injected(
        &self,
        code: Code,
        message: Option<&str>,
        reason: Option<&str>,
        retry_after: Option<Duration>,
        metadata: &[(&str, &str)],
    ) -> Status {
        let message: canon::Text = match message {
            Some(message) => message.to_owned().into(),
            None => code.description().into(),
        };
        let mut builder = Status::builder(code, message);
        if let Some(delay) = retry_after {
            builder = builder.retry_delay(delay);
        }
        builder
            .detail(self.info(
                reason.map_or(reason::FAULT_INJECTED.into(), |reason| canon::Text::from(reason.to_owned())),
                metadata.iter().map(|(k, v)| (*k, (*v).to_owned())),
            ))
            .build()
    }
}

/// Collects validation failures so that one bad field gives its own
/// precise error, and several give one INVALID_ARGUMENT listing them all.
#[derive(Debug)]
pub(crate) struct Violations<'a> {
    errors: &'a Errors,
    found: Vec<Status>,
}

impl<'a> Violations<'a> {
    pub(crate) fn new(errors: &'a Errors) -> Violations<'a> {
        Violations { errors, found: Vec::new() }
    }

    /// Adds the error one field would give on its own. It must carry a
    /// BadRequest naming the field.
    pub(crate) fn push(&mut self, status: Status) {
        self.found.push(status);
    }

    pub(crate) fn finish(mut self) -> Result<(), Status> {
        match self.found.len() {
            0 => Ok(()),
            1 => Err(self.found.pop().expect("one error")),
            _ => {
                let all: Vec<FieldViolation> =
                    self.found.iter().flat_map(|s| s.field_violations().cloned().collect::<Vec<_>>()).collect();
                Err(self.errors.invalid_fields(&all))
            }
        }
    }
}
