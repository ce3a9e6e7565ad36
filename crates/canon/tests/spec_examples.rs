//! Every example body on the two provider pages, decoded, with the exact
//! Status and advice expected.
//!
//! The CUDO page shows complete bodies; they are copied here verbatim. The
//! Gcore page describes its envelope and lists its errors without complete
//! bodies, so each Gcore case is the envelope the page describes for that
//! row of its tables, with the page's own message where it gives one.

use std::time::Duration;

use canon::details::DetailKind;
use canon::{Category, Code, Dialect, RetryKind, decode};
use http::HeaderMap;

struct Case {
    name: &'static str,
    http: u16,
    headers: &'static [(&'static str, &'static str)],
    body: &'static str,
    dialect: Dialect,
    code: Code,
    message: &'static str,
    detail_kinds: &'static [&'static str],
    reason: Option<&'static str>,
    category: Category,
    retry: RetryKind,
    delay: Option<Duration>,
    request_id: Option<&'static str>,
    field_violations: &'static [(&'static str, &'static str)],
    alternatives: &'static [&'static str],
}

const NONE: Case = Case {
    name: "",
    http: 0,
    headers: &[],
    body: "",
    dialect: Dialect::Aip193,
    code: Code::Unknown,
    message: "",
    detail_kinds: &[],
    reason: None,
    category: Category::Unknown,
    retry: RetryKind::Never,
    delay: None,
    request_id: None,
    field_violations: &[],
    alternatives: &[],
};

const CUDO_INTRO: &str = r#"{
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

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "CUDO intro: INVALID_ARGUMENT with an array in ErrorInfo.metadata",
            http: 400,
            body: CUDO_INTRO,
            code: Code::InvalidArgument,
            message: "Machine type 'gpu-a100-x99' is not available in data center gb-bournemouth-1.",
            detail_kinds: &["BadRequest", "ErrorInfo (nonconforming)"],
            reason: Some("MACHINE_TYPE_UNAVAILABLE"),
            category: Category::Validation,
            field_violations: &[("spec.machineType", "Unknown machine type 'gpu-a100-x99'")],
            alternatives: &["gpu-a100-x2", "gpu-a100-x4"],
            ..NONE
        },
        Case {
            name: "CUDO 400 INVALID_ARGUMENT: two field violations",
            http: 400,
            body: r#"{
	"code": 400,
	"status": "INVALID_ARGUMENT",
	"message": "Invalid fields in request.",
	"details": [
		{
			"@type": "type.googleapis.com/google.rpc.BadRequest",
			"fieldViolations": [
				{ "field": "machineTypeId", "description": "Unknown machine type 'gpu-a100-x99'." },
				{ "field": "bootDiskSizeGib", "description": "Minimum is 20 GiB." }
			]
		}
	]
}"#,
            code: Code::InvalidArgument,
            message: "Invalid fields in request.",
            detail_kinds: &["BadRequest"],
            category: Category::Validation,
            field_violations: &[
                ("machineTypeId", "Unknown machine type 'gpu-a100-x99'."),
                ("bootDiskSizeGib", "Minimum is 20 GiB."),
            ],
            ..NONE
        },
        Case {
            name: "CUDO 400 OUT_OF_RANGE",
            http: 400,
            body: r#"{
	"code": 400,
	"status": "OUT_OF_RANGE",
	"message": "machineCount 200 exceeds the maximum of 128.",
	"details": [
		{
			"@type": "type.googleapis.com/google.rpc.BadRequest",
			"fieldViolations": [
				{ "field": "machineCount", "description": "Max allowed is 128." }
			]
		}
	]
}"#,
            code: Code::OutOfRange,
            message: "machineCount 200 exceeds the maximum of 128.",
            detail_kinds: &["BadRequest"],
            category: Category::Validation,
            field_violations: &[("machineCount", "Max allowed is 128.")],
            ..NONE
        },
        Case {
            name: "CUDO 409 FAILED_PRECONDITION: the status string wins over the HTTP status",
            http: 409,
            body: r#"{
	"code": 409,
	"status": "FAILED_PRECONDITION",
	"message": "Cluster must be in STATE_ACTIVE before resizing.",
	"details": [
		{
			"@type": "type.googleapis.com/google.rpc.ErrorInfo",
			"domain": "compute.cudo.dev",
			"reason": "CLUSTER_STATE_INVALID",
			"metadata": {
				"clusterId": "clu-abc123",
				"currentState": "STATE_UPDATING",
				"requiredState": "STATE_ACTIVE",
				"operation": "RESIZE"
			}
		}
	]
}"#,
            code: Code::FailedPrecondition,
            message: "Cluster must be in STATE_ACTIVE before resizing.",
            detail_kinds: &["ErrorInfo"],
            reason: Some("CLUSTER_STATE_INVALID"),
            category: Category::Validation,
            ..NONE
        },
        Case {
            name: "CUDO 404 NOT_FOUND",
            http: 404,
            body: r#"{
	"code": 404,
	"status": "NOT_FOUND",
	"message": "Cluster 'clu-missing99' not found in project 'proj-123'.",
	"details": [
		{
			"@type": "type.googleapis.com/google.rpc.ErrorInfo",
			"domain": "compute.cudo.dev",
			"reason": "CLUSTER_NOT_FOUND",
			"metadata": {
				"clusterId": "clu-missing99",
				"projectId": "proj-123"
			}
		}
	]
}"#,
            code: Code::NotFound,
            message: "Cluster 'clu-missing99' not found in project 'proj-123'.",
            detail_kinds: &["ErrorInfo"],
            reason: Some("CLUSTER_NOT_FOUND"),
            category: Category::NotFound,
            ..NONE
        },
        Case {
            name: "CUDO 429 RESOURCE_EXHAUSTED with QuotaFailure and RetryInfo",
            http: 429,
            body: include_str!("../../../examples/cudo-429.json"),
            code: Code::ResourceExhausted,
            message: "GPU quota exceeded for project 'proj-123' in dataCenterId 'gb-bournemouth-1'.",
            detail_kinds: &["QuotaFailure", "RetryInfo"],
            category: Category::QuotaOrCapacity,
            retry: RetryKind::AfterDelay,
            delay: Some(Duration::from_secs(30)),
            ..NONE
        },
        Case {
            name: "CUDO 503 UNAVAILABLE with RetryInfo",
            http: 503,
            body: r#"{
	"code": 503,
	"status": "UNAVAILABLE",
	"message": "dataCenterIdal control plane temporarily unavailable. Retry later.",
	"details": [
		{ "@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "5s" }
	]
}"#,
            code: Code::Unavailable,
            message: "dataCenterIdal control plane temporarily unavailable. Retry later.",
            detail_kinds: &["RetryInfo"],
            category: Category::Transient,
            retry: RetryKind::AfterDelay,
            delay: Some(Duration::from_secs(5)),
            ..NONE
        },
        Case {
            name: "CUDO 500 INTERNAL: not retried under the CUDO table",
            http: 500,
            body: r#"{
	"code": 500,
	"status": "INTERNAL",
	"message": "An internal error occurred. Try again or contact support if it persists.",
	"details": []
}"#,
            code: Code::Internal,
            message: "An internal error occurred. Try again or contact support if it persists.",
            category: Category::Unknown,
            ..NONE
        },
        Case {
            name: "Gcore ValidationError with invalid_fields",
            http: 400,
            body: r#"{"exception_class": "ValidationError", "message": "Validation failed.",
                "request_id": "3f1c9a2e-0b7d-4a53-9c1e-2d8f6b4a7e10",
                "invalid_fields": {"name": ["This field is required."], "flavor": ["Unknown flavor.", "Not in region."]}}"#,
            dialect: Dialect::Gcore,
            code: Code::InvalidArgument,
            message: "Validation failed.",
            detail_kinds: &["ErrorInfo", "BadRequest", "RequestInfo"],
            reason: Some("VALIDATION_ERROR"),
            category: Category::Validation,
            request_id: Some("3f1c9a2e-0b7d-4a53-9c1e-2d8f6b4a7e10"),
            field_violations: &[
                ("flavor", "Unknown flavor."),
                ("flavor", "Not in region."),
                ("name", "This field is required."),
            ],
            ..NONE
        },
        Case {
            name: "Gcore NotFoundError (the OpenAPI document's own example)",
            http: 404,
            body: r#"{"exception_class": "NotFoundError", "message": "keypair not found", "request_id": "4e3e63f3-4f2a-4720-bf18-2a1986531b87"}"#,
            dialect: Dialect::Gcore,
            code: Code::NotFound,
            message: "keypair not found",
            detail_kinds: &["ErrorInfo", "RequestInfo"],
            reason: Some("NOT_FOUND"),
            category: Category::NotFound,
            request_id: Some("4e3e63f3-4f2a-4720-bf18-2a1986531b87"),
            ..NONE
        },
        Case {
            name: "Gcore QuotaLimitExceed: never retried, unlike a CUDO quota error",
            http: 400,
            body: r#"{"exception_class": "QuotaLimitExceed", "message": "Quota exceeded for gpu_count.", "request_id": "r-1",
                "info": {"quota_name": "gpu_count", "current_usage": 12, "requested": 20, "limit": 16}}"#,
            dialect: Dialect::Gcore,
            code: Code::ResourceExhausted,
            message: "Quota exceeded for gpu_count.",
            detail_kinds: &["ErrorInfo", "QuotaFailure", "RequestInfo"],
            reason: Some("QUOTA_LIMIT_EXCEEDED"),
            category: Category::QuotaOrCapacity,
            request_id: Some("r-1"),
            ..NONE
        },
        Case {
            name: "Gcore ForbiddenError means capacity: retry elsewhere",
            http: 403,
            body: r#"{"exception_class": "ForbiddenError", "message": "Flavor g2-gpu-1 has reached its capacity in this region.", "request_id": "r-2"}"#,
            dialect: Dialect::Gcore,
            code: Code::ResourceExhausted,
            message: "Flavor g2-gpu-1 has reached its capacity in this region.",
            detail_kinds: &["ErrorInfo", "RequestInfo"],
            reason: Some("CAPACITY_EXHAUSTED"),
            category: Category::QuotaOrCapacity,
            retry: RetryKind::Elsewhere,
            request_id: Some("r-2"),
            ..NONE
        },
        Case {
            name: "Gcore HTTPError 405",
            http: 405,
            body: r#"{"exception_class": "HTTPError", "message": "Method Not Allowed", "request_id": "r-3"}"#,
            dialect: Dialect::Gcore,
            code: Code::Unimplemented,
            message: "Method Not Allowed",
            detail_kinds: &["ErrorInfo", "RequestInfo"],
            reason: Some("METHOD_NOT_ALLOWED"),
            category: Category::Validation,
            request_id: Some("r-3"),
            ..NONE
        },
        Case {
            name: "Gcore 401: no Authorization header",
            http: 401,
            body: r#"{"exception_class": "not_authenticated", "message": "Authentication credentials were not provided.", "request_id": "r-4"}"#,
            dialect: Dialect::Gcore,
            code: Code::Unauthenticated,
            message: "Authentication credentials were not provided.",
            detail_kinds: &["ErrorInfo", "RequestInfo"],
            reason: Some("CREDENTIALS_MISSING"),
            category: Category::Auth,
            request_id: Some("r-4"),
            ..NONE
        },
        Case {
            name: "Gcore 401: key cut short at a $ by the shell",
            http: 401,
            body: r#"{"exception_class": "token_not_valid", "message": "Bad permanent token: 1234", "request_id": "r-5"}"#,
            dialect: Dialect::Gcore,
            code: Code::Unauthenticated,
            message: "Bad permanent token: 1234",
            detail_kinds: &["ErrorInfo", "RequestInfo"],
            reason: Some("TOKEN_TRUNCATED"),
            category: Category::Auth,
            request_id: Some("r-5"),
            ..NONE
        },
        Case {
            name: "Gcore 401: deleted or expired key",
            http: 401,
            body: r#"{"exception_class": "token_not_valid", "message": "Token is invalid or expired", "request_id": "r-6"}"#,
            dialect: Dialect::Gcore,
            code: Code::Unauthenticated,
            message: "Token is invalid or expired",
            detail_kinds: &["ErrorInfo", "RequestInfo"],
            reason: Some("TOKEN_INVALID_OR_EXPIRED"),
            category: Category::Auth,
            request_id: Some("r-6"),
            ..NONE
        },
        Case {
            name: "Gcore 401: Bearer instead of APIKey",
            http: 401,
            body: r#"{"exception_class": "token_not_valid", "message": "Given token not valid for any token type", "request_id": "r-7"}"#,
            dialect: Dialect::Gcore,
            code: Code::Unauthenticated,
            message: "Given token not valid for any token type",
            detail_kinds: &["ErrorInfo", "RequestInfo"],
            reason: Some("WRONG_AUTH_SCHEME"),
            category: Category::Auth,
            request_id: Some("r-7"),
            ..NONE
        },
        Case {
            name: "Gcore 409 ConflictError",
            http: 409,
            body: r#"{"exception_class": "ConflictError", "message": "SSH key with this name already exists.", "request_id": "r-8"}"#,
            dialect: Dialect::Gcore,
            code: Code::AlreadyExists,
            message: "SSH key with this name already exists.",
            detail_kinds: &["ErrorInfo", "RequestInfo"],
            reason: Some("ALREADY_EXISTS"),
            category: Category::Conflict,
            request_id: Some("r-8"),
            ..NONE
        },
        Case {
            name: "Gcore 429 with Retry-After",
            http: 429,
            headers: &[("retry-after", "7")],
            body: r#"{"exception_class": "Throttled", "message": "Request was throttled.", "request_id": "r-9"}"#,
            dialect: Dialect::Gcore,
            code: Code::ResourceExhausted,
            message: "Request was throttled.",
            detail_kinds: &["ErrorInfo", "RequestInfo", "RetryInfo"],
            reason: Some("RATE_LIMIT_EXCEEDED"),
            category: Category::QuotaOrCapacity,
            retry: RetryKind::AfterDelay,
            delay: Some(Duration::from_secs(7)),
            request_id: Some("r-9"),
            ..NONE
        },
        Case {
            name: "Gcore 500: transient, retried up to 3 times",
            http: 500,
            headers: &[("x-request-id", "r-10")],
            body: r#"{"exception_class": "InternalError", "message": "Internal server error", "request_id": "r-10"}"#,
            dialect: Dialect::Gcore,
            code: Code::Internal,
            message: "Internal server error",
            detail_kinds: &["ErrorInfo", "RequestInfo"],
            reason: Some("INTERNAL_ERROR"),
            category: Category::Transient,
            retry: RetryKind::Backoff,
            request_id: Some("r-10"),
            ..NONE
        },
    ]
}

fn kind_label(detail: &canon::Detail) -> String {
    match detail {
        canon::Detail::Nonconforming(n) => format!("{} (nonconforming)", n.kind()),
        canon::Detail::Unknown(u) => format!("unknown {}", u.type_url()),
        other => other.kind().map(DetailKind::short_name).unwrap_or_default().to_owned(),
    }
}

#[test]
fn every_spec_example_decodes_to_the_expected_status_and_advice() {
    for case in cases() {
        let mut headers = HeaderMap::new();
        for (name, value) in case.headers {
            headers.insert(*name, value.parse().unwrap());
        }
        let decoded = decode(case.http, &headers, case.body.as_bytes());
        let advice = decoded.advice();
        let name = case.name;
        assert_eq!(decoded.dialect, case.dialect, "{name}: dialect");
        assert_eq!(decoded.http_status, case.http, "{name}: http status");
        assert_eq!(decoded.status.code(), case.code, "{name}: code");
        assert_eq!(decoded.status.message(), case.message, "{name}: message");
        let kinds: Vec<String> = decoded.status.details().iter().map(kind_label).collect();
        assert_eq!(kinds, case.detail_kinds, "{name}: details");
        assert_eq!(decoded.status.error_info().map(|i| i.reason.as_ref()), case.reason, "{name}: reason");
        assert_eq!(advice.category, case.category, "{name}: category");
        assert_eq!(advice.retry, case.retry, "{name}: retry");
        assert_eq!(advice.retry_delay, case.delay, "{name}: delay");
        assert_eq!(decoded.request_id(), case.request_id, "{name}: request id");
        let violations: Vec<(&str, &str)> =
            advice.field_violations.iter().map(|v| (v.field.as_str(), v.description.as_str())).collect();
        assert_eq!(violations, case.field_violations, "{name}: field violations");
        assert_eq!(advice.alternatives, case.alternatives, "{name}: alternatives");
    }
}

#[test]
fn the_cudo_intro_example_loses_nothing() {
    let decoded = decode(400, &HeaderMap::new(), CUDO_INTRO.as_bytes());
    let canon::Detail::Nonconforming(info) = &decoded.status.details()[1] else { panic!("expected nonconforming") };
    let problems: Vec<String> = info.problems().iter().map(ToString::to_string).collect();
    assert_eq!(problems, ["/metadata/availableMachineTypes: expected a string, found an array"]);
    // The reading repairs the array into its JSON text; the JSON keeps the array.
    let reading = decoded.status.error_info().unwrap();
    assert_eq!(reading.metadata["availableMachineTypes"], r#"["gpu-a100-x2","gpu-a100-x4"]"#);
    assert_eq!(reading.metadata["dataCenterId"], "gb-bournemouth-1");
    let original: serde_json::Value = serde_json::from_str(CUDO_INTRO).unwrap();
    let encoded = canon::encode(&decoded.status, canon::Encoding::Aip193);
    let reencoded: serde_json::Value = serde_json::from_slice(&encoded.body).unwrap();
    assert_eq!(reencoded, original);
}

#[test]
fn the_gcore_quota_info_is_kept_in_metadata_and_quota_failure() {
    let body = r#"{"exception_class": "QuotaLimitExceed", "message": "Quota exceeded.", "request_id": "r-1",
        "info": {"quota_name": "gpu_count", "current_usage": 12, "requested": 20, "limit": 16}}"#;
    let decoded = decode(400, &HeaderMap::new(), body.as_bytes());
    let info = decoded.status.error_info().unwrap();
    let metadata: Vec<(&str, &str)> = info.metadata.iter().map(|(k, v)| (k.as_ref(), v.as_ref())).collect();
    assert_eq!(
        metadata,
        [
            ("current_usage", "12"),
            ("exceptionClass", "QuotaLimitExceed"),
            ("limit", "16"),
            ("quota_name", "gpu_count"),
            ("requested", "20"),
        ]
    );
    let violation = &decoded.status.quota_failure().unwrap().violations[0];
    assert_eq!((violation.subject.as_str(), violation.quota_value), ("gpu_count", 16));
    // Written back as Gcore, the body is the one that came in.
    let encoded = canon::encode(&decoded.status, canon::Encoding::Gcore);
    assert_eq!(encoded.http_status, 400);
    let original: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&encoded.body).unwrap(), original);
}
