//! Every error path of canon-axum over real HTTP on 127.0.0.1, in each
//! dialect: the exact body a client gets, its status and headers, and the
//! AIP-193 rules every error body must follow.

mod support;

use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use bytes::Bytes;
use canon::Encoding;
use canon_axum::{ErrorConfig, RequestIdLayer};
use serde_json::{Value, json};
use tower::Layer;

use support::{Gate, Reply, Req, assert_conforms, config, send, send_owned, serve};

const ERROR_INFO: &str = "type.googleapis.com/google.rpc.ErrorInfo";
const BAD_REQUEST: &str = "type.googleapis.com/google.rpc.BadRequest";
const REQUEST_INFO: &str = "type.googleapis.com/google.rpc.RequestInfo";
const RETRY_INFO: &str = "type.googleapis.com/google.rpc.RetryInfo";
const QUOTA_FAILURE: &str = "type.googleapis.com/google.rpc.QuotaFailure";
const DEBUG_INFO: &str = "type.googleapis.com/google.rpc.DebugInfo";

/// The headers whose presence and value each case pins down.
const WATCHED_HEADERS: [&str; 4] = ["allow", "retry-after", "x-should-retry", "www-authenticate"];

/// An expected body, given the request id.
type Body = fn(&str) -> Value;

/// One error path.
struct Case {
    name: &'static str,
    request: Req,
    /// The HTTP status in the AIP-193 and Google dialects.
    status: u16,
    /// The HTTP status in the Gcore dialect.
    gcore_status: u16,
    /// The watched headers in every dialect.
    headers: &'static [(&'static str, &'static str)],
    /// The watched headers the Gcore dialect adds.
    gcore_headers: &'static [(&'static str, &'static str)],
    /// The AIP-193 body, given the request id. The Google body is the same
    /// inside `{"error": ...}`.
    aip193: Body,
    /// The Gcore body, given the request id.
    gcore: Body,
}

const CREATE_PATH: &str = "/v1/projects/p-1/vms";

fn create(body: &'static str) -> Req {
    Req::post_json(CREATE_PATH, body)
}

fn invalid(message: &str, reason: &str, metadata: Value, field: &str, description: &str, id: &str) -> Value {
    json!({
        "code": 400, "status": "INVALID_ARGUMENT", "message": message,
        "details": [
            {"@type": ERROR_INFO, "reason": reason, "domain": support::DOMAIN, "metadata": metadata},
            {"@type": BAD_REQUEST, "fieldViolations": [{"field": field, "description": description, "reason": reason}]},
            {"@type": REQUEST_INFO, "requestId": id},
        ]
    })
}

fn gcore_invalid(message: &str, info: Option<Value>, field: &str, description: &str, id: &str) -> Value {
    let mut body = json!({
        "exception_class": "ValidationError", "message": message, "request_id": id,
        "invalid_fields": {field: [description]},
    });
    if let Some(info) = info {
        body["info"] = info;
    }
    body
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "handler NOT_FOUND with its own ErrorInfo",
            request: Req::get("/v1/projects/p-1/vms/42"),
            status: 404,
            gcore_status: 404,
            headers: &[],
            gcore_headers: &[],
            aip193: |id| {
                json!({
                    "code": 404, "status": "NOT_FOUND", "message": "VM '42' not found in project 'p-1'.",
                    "details": [
                        {"@type": ERROR_INFO, "reason": "VM_NOT_FOUND", "domain": support::DOMAIN,
                         "metadata": {"projectId": "p-1", "vmId": "42"}},
                        {"@type": REQUEST_INFO, "requestId": id},
                    ]
                })
            },
            // canon writes metadata that reads as a JSON number as a number.
            gcore: |id| {
                json!({"exception_class": "NotFoundError", "message": "VM '42' not found in project 'p-1'.",
                       "request_id": id, "info": {"projectId": "p-1", "vmId": 42}})
            },
        },
        Case {
            name: "handler ALREADY_EXISTS without ErrorInfo gets one",
            request: create(
                r#"{"name":"taken","spec":{"machineType":"gpu-a100-x2","bootDiskSizeGib":20,"gpuModel":"a100"}}"#,
            ),
            status: 409,
            gcore_status: 409,
            headers: &[],
            gcore_headers: &[("x-should-retry", "false")],
            aip193: |id| {
                json!({
                    "code": 409, "status": "ALREADY_EXISTS", "message": "A VM named 'taken' already exists.",
                    "details": [
                        {"@type": ERROR_INFO, "reason": "ALREADY_EXISTS", "domain": support::DOMAIN},
                        {"@type": REQUEST_INFO, "requestId": id},
                    ]
                })
            },
            gcore: |id| {
                json!({"exception_class": "ConflictError", "message": "A VM named 'taken' already exists.",
                       "request_id": id})
            },
        },
        Case {
            name: "a handler's RequestInfo is replaced by the request's",
            request: Req::get("/upstream"),
            status: 503,
            gcore_status: 503,
            headers: &[],
            gcore_headers: &[],
            aip193: |id| {
                json!({
                    "code": 503, "status": "UNAVAILABLE", "message": "The image service is down.",
                    "details": [
                        {"@type": ERROR_INFO, "reason": "UPSTREAM_UNAVAILABLE", "domain": support::DOMAIN,
                         "metadata": {"service": "images"}},
                        {"@type": REQUEST_INFO, "requestId": id},
                    ]
                })
            },
            gcore: |id| {
                json!({"exception_class": "ServiceUnavailable", "message": "The image service is down.",
                       "request_id": id, "info": {"service": "images"}})
            },
        },
        Case {
            name: "path parameter of the wrong type",
            request: Req::get("/v1/projects/p-1/vms/abc"),
            status: 400,
            gcore_status: 400,
            headers: &[],
            gcore_headers: &[],
            aip193: |id| {
                invalid(
                    "Invalid value for path parameter 'vmId'.",
                    "INVALID_FIELD",
                    json!({"field": "vmId"}),
                    "vmId",
                    "invalid value 'abc', expected u64",
                    id,
                )
            },
            gcore: |id| {
                gcore_invalid(
                    "Invalid value for path parameter 'vmId'.",
                    Some(json!({"field": "vmId"})),
                    "vmId",
                    "invalid value 'abc', expected u64",
                    id,
                )
            },
        },
        Case {
            name: "JSON syntax error inside a nested field",
            request: create(r#"{"name":"a","spec":{"machineType":tru}}"#),
            status: 400,
            gcore_status: 400,
            headers: &[],
            gcore_headers: &[],
            aip193: |id| {
                invalid(
                    "The request body is not valid JSON (line 1, column 38).",
                    "INVALID_JSON",
                    json!({"line": "1", "column": "38"}),
                    "spec.machineType",
                    "expected ident",
                    id,
                )
            },
            gcore: |id| {
                gcore_invalid(
                    "The request body is not valid JSON (line 1, column 38).",
                    Some(json!({"line": 1, "column": 38})),
                    "spec.machineType",
                    "expected ident",
                    id,
                )
            },
        },
        Case {
            name: "empty JSON body",
            request: create(""),
            status: 400,
            gcore_status: 400,
            headers: &[],
            gcore_headers: &[],
            aip193: |id| {
                invalid(
                    "The request body is not valid JSON (line 1, column 0).",
                    "INVALID_JSON",
                    json!({"line": "1", "column": "0"}),
                    "body",
                    "EOF while parsing a value",
                    id,
                )
            },
            gcore: |id| {
                gcore_invalid(
                    "The request body is not valid JSON (line 1, column 0).",
                    Some(json!({"line": 1, "column": 0})),
                    "body",
                    "EOF while parsing a value",
                    id,
                )
            },
        },
        Case {
            name: "trailing characters after the JSON value",
            request: create(r#"{"name":"a","spec":{"machineType":"x","bootDiskSizeGib":20,"gpuModel":"a100"}} x"#),
            status: 400,
            gcore_status: 400,
            headers: &[],
            gcore_headers: &[],
            aip193: |id| {
                invalid(
                    "The request body is not valid JSON (line 1, column 80).",
                    "INVALID_JSON",
                    json!({"line": "1", "column": "80"}),
                    "body",
                    "trailing characters",
                    id,
                )
            },
            gcore: |id| {
                gcore_invalid(
                    "The request body is not valid JSON (line 1, column 80).",
                    Some(json!({"line": 1, "column": 80})),
                    "body",
                    "trailing characters",
                    id,
                )
            },
        },
        Case {
            name: "JSON field of the wrong type",
            request: create(r#"{"name":"a","spec":{"machineType":"x","bootDiskSizeGib":"20","gpuModel":"a100"}}"#),
            status: 400,
            gcore_status: 400,
            headers: &[],
            gcore_headers: &[],
            aip193: |id| {
                invalid(
                    "Invalid value for field 'spec.bootDiskSizeGib'.",
                    "INVALID_FIELD",
                    json!({"field": "spec.bootDiskSizeGib"}),
                    "spec.bootDiskSizeGib",
                    r#"invalid type: string "20", expected u32"#,
                    id,
                )
            },
            gcore: |id| {
                gcore_invalid(
                    "Invalid value for field 'spec.bootDiskSizeGib'.",
                    Some(json!({"field": "spec.bootDiskSizeGib"})),
                    "spec.bootDiskSizeGib",
                    r#"invalid type: string "20", expected u32"#,
                    id,
                )
            },
        },
        Case {
            name: "missing JSON field",
            request: create(r#"{"name":"a","spec":{"bootDiskSizeGib":20,"gpuModel":"a100"}}"#),
            status: 400,
            gcore_status: 400,
            headers: &[],
            gcore_headers: &[],
            aip193: |id| {
                invalid(
                    "Missing required field 'spec.machineType'.",
                    "MISSING_FIELD",
                    json!({"field": "spec.machineType"}),
                    "spec.machineType",
                    "This value is required.",
                    id,
                )
            },
            gcore: |id| {
                gcore_invalid(
                    "Missing required field 'spec.machineType'.",
                    Some(json!({"field": "spec.machineType"})),
                    "spec.machineType",
                    "This value is required.",
                    id,
                )
            },
        },
        Case {
            name: "unknown enum value",
            request: create(r#"{"name":"a","spec":{"machineType":"x","bootDiskSizeGib":20,"gpuModel":"tpu-v5"}}"#),
            status: 400,
            gcore_status: 400,
            headers: &[],
            gcore_headers: &[],
            aip193: |id| {
                invalid(
                    "Invalid value for field 'spec.gpuModel'.",
                    "INVALID_FIELD",
                    json!({"field": "spec.gpuModel"}),
                    "spec.gpuModel",
                    "unknown variant `tpu-v5`, expected `a100` or `h100`",
                    id,
                )
            },
            gcore: |id| {
                gcore_invalid(
                    "Invalid value for field 'spec.gpuModel'.",
                    Some(json!({"field": "spec.gpuModel"})),
                    "spec.gpuModel",
                    "unknown variant `tpu-v5`, expected `a100` or `h100`",
                    id,
                )
            },
        },
        Case {
            name: "unknown JSON field",
            request: create(r#"{"name":"a","colour":"red"}"#),
            status: 400,
            gcore_status: 400,
            headers: &[],
            gcore_headers: &[],
            aip193: |id| {
                invalid(
                    "Unknown field 'colour'.",
                    "UNKNOWN_FIELD",
                    json!({"field": "colour"}),
                    "colour",
                    "unknown field `colour`, expected `name` or `spec`",
                    id,
                )
            },
            gcore: |id| {
                gcore_invalid(
                    "Unknown field 'colour'.",
                    Some(json!({"field": "colour"})),
                    "colour",
                    "unknown field `colour`, expected `name` or `spec`",
                    id,
                )
            },
        },
        Case {
            name: "Content-Type that is not JSON",
            request: Req {
                method: "POST",
                path: CREATE_PATH,
                headers: &[("content-type", "text/plain")],
                body: "name=a",
            },
            status: 400,
            gcore_status: 400,
            headers: &[],
            gcore_headers: &[],
            aip193: |id| {
                invalid(
                    "The request body must be JSON, not 'text/plain'.",
                    "UNSUPPORTED_MEDIA_TYPE",
                    json!({"contentType": "text/plain"}),
                    "content-type",
                    "Expected application/json.",
                    id,
                )
            },
            gcore: |id| {
                gcore_invalid(
                    "The request body must be JSON, not 'text/plain'.",
                    Some(json!({"contentType": "text/plain"})),
                    "content-type",
                    "Expected application/json.",
                    id,
                )
            },
        },
        Case {
            name: "no Content-Type",
            request: Req { method: "POST", path: CREATE_PATH, headers: &[], body: "{}" },
            status: 400,
            gcore_status: 400,
            headers: &[],
            gcore_headers: &[],
            aip193: |id| {
                json!({
                    "code": 400, "status": "INVALID_ARGUMENT",
                    "message": "The request body must be JSON, but the request has no Content-Type.",
                    "details": [
                        {"@type": ERROR_INFO, "reason": "UNSUPPORTED_MEDIA_TYPE", "domain": support::DOMAIN},
                        {"@type": BAD_REQUEST, "fieldViolations": [{"field": "content-type",
                            "description": "Expected application/json.", "reason": "UNSUPPORTED_MEDIA_TYPE"}]},
                        {"@type": REQUEST_INFO, "requestId": id},
                    ]
                })
            },
            gcore: |id| {
                gcore_invalid(
                    "The request body must be JSON, but the request has no Content-Type.",
                    None,
                    "content-type",
                    "Expected application/json.",
                    id,
                )
            },
        },
        Case {
            name: "query parameter of the wrong type",
            request: Req::get("/v1/projects/p-1/vms?limit=abc"),
            status: 400,
            gcore_status: 400,
            headers: &[],
            gcore_headers: &[],
            aip193: |id| {
                invalid(
                    "Invalid value for query parameter 'limit'.",
                    "INVALID_FIELD",
                    json!({"field": "limit"}),
                    "limit",
                    "invalid digit found in string",
                    id,
                )
            },
            gcore: |id| {
                gcore_invalid(
                    "Invalid value for query parameter 'limit'.",
                    Some(json!({"field": "limit"})),
                    "limit",
                    "invalid digit found in string",
                    id,
                )
            },
        },
        Case {
            name: "missing query parameter",
            request: Req::get("/v1/projects/p-1/vms?state=RUNNING"),
            status: 400,
            gcore_status: 400,
            headers: &[],
            gcore_headers: &[],
            aip193: |id| {
                invalid(
                    "Missing required query parameter 'limit'.",
                    "MISSING_FIELD",
                    json!({"field": "limit"}),
                    "limit",
                    "This value is required.",
                    id,
                )
            },
            gcore: |id| {
                gcore_invalid(
                    "Missing required query parameter 'limit'.",
                    Some(json!({"field": "limit"})),
                    "limit",
                    "This value is required.",
                    id,
                )
            },
        },
        Case {
            name: "unknown enum value in the query",
            request: Req::get("/v1/projects/p-1/vms?limit=5&state=FROZEN"),
            status: 400,
            gcore_status: 400,
            headers: &[],
            gcore_headers: &[],
            aip193: |id| {
                invalid(
                    "Invalid value for query parameter 'state'.",
                    "INVALID_FIELD",
                    json!({"field": "state"}),
                    "state",
                    "unknown variant `FROZEN`, expected `RUNNING` or `STOPPED`",
                    id,
                )
            },
            gcore: |id| {
                gcore_invalid(
                    "Invalid value for query parameter 'state'.",
                    Some(json!({"field": "state"})),
                    "state",
                    "unknown variant `FROZEN`, expected `RUNNING` or `STOPPED`",
                    id,
                )
            },
        },
        Case {
            name: "unknown route",
            request: Req::get("/v2/nothing"),
            status: 404,
            gcore_status: 404,
            headers: &[],
            gcore_headers: &[],
            aip193: |id| {
                json!({
                    "code": 404, "status": "NOT_FOUND", "message": "No route matches the path '/v2/nothing'.",
                    "details": [
                        {"@type": ERROR_INFO, "reason": "ROUTE_NOT_FOUND", "domain": support::DOMAIN,
                         "metadata": {"path": "/v2/nothing"}},
                        {"@type": REQUEST_INFO, "requestId": id},
                    ]
                })
            },
            gcore: |id| {
                json!({"exception_class": "NotFoundError", "message": "No route matches the path '/v2/nothing'.",
                       "request_id": id, "info": {"path": "/v2/nothing"}})
            },
        },
        Case {
            name: "wrong method",
            request: Req { method: "DELETE", path: CREATE_PATH, headers: &[], body: "" },
            status: 405,
            gcore_status: 405,
            headers: &[("allow", "GET,HEAD,POST")],
            gcore_headers: &[],
            aip193: |id| {
                json!({
                    "code": 405, "status": "UNIMPLEMENTED",
                    "message": "The method 'DELETE' is not allowed on the path '/v1/projects/p-1/vms'.",
                    "details": [
                        {"@type": ERROR_INFO, "reason": "METHOD_NOT_ALLOWED", "domain": support::DOMAIN,
                         "metadata": {"method": "DELETE", "path": "/v1/projects/p-1/vms"}},
                        {"@type": REQUEST_INFO, "requestId": id},
                    ]
                })
            },
            gcore: |id| {
                json!({"exception_class": "HTTPError",
                       "message": "The method 'DELETE' is not allowed on the path '/v1/projects/p-1/vms'.",
                       "request_id": id, "info": {"method": "DELETE", "path": "/v1/projects/p-1/vms"}})
            },
        },
        Case {
            name: "panic",
            request: Req::get("/panic"),
            status: 500,
            gcore_status: 500,
            headers: &[],
            gcore_headers: &[],
            aip193: |id| {
                json!({
                    "code": 500, "status": "INTERNAL",
                    "message": "An internal error occurred. Contact support with the request id if it persists.",
                    "details": [
                        {"@type": ERROR_INFO, "reason": "INTERNAL", "domain": support::DOMAIN},
                        {"@type": REQUEST_INFO, "requestId": id},
                    ]
                })
            },
            gcore: |id| {
                json!({"exception_class": "InternalError",
                       "message": "An internal error occurred. Contact support with the request id if it persists.",
                       "request_id": id})
            },
        },
        Case {
            name: "timeout",
            request: Req::get("/slow"),
            status: 504,
            gcore_status: 504,
            headers: &[],
            gcore_headers: &[],
            aip193: |id| {
                json!({
                    "code": 504, "status": "DEADLINE_EXCEEDED", "message": "The request did not finish within 0.250s.",
                    "details": [
                        {"@type": ERROR_INFO, "reason": "DEADLINE_EXCEEDED", "domain": support::DOMAIN,
                         "metadata": {"timeout": "0.250s"}},
                        {"@type": REQUEST_INFO, "requestId": id},
                    ]
                })
            },
            gcore: |id| {
                json!({"exception_class": "GatewayTimeout", "message": "The request did not finish within 0.250s.",
                       "request_id": id, "info": {"timeout": "0.250s"}})
            },
        },
        Case {
            name: "foreign error response rewritten",
            request: Req::get("/legacy"),
            status: 401,
            gcore_status: 401,
            headers: &[("www-authenticate", "APIKey")],
            gcore_headers: &[],
            aip193: |id| {
                json!({
                    "code": 401, "status": "UNAUTHENTICATED", "message": "The request failed with HTTP status 401.",
                    "details": [
                        {"@type": ERROR_INFO, "reason": "HTTP_ERROR", "domain": support::DOMAIN,
                         "metadata": {"httpStatus": "401"}},
                        {"@type": REQUEST_INFO, "requestId": id},
                    ]
                })
            },
            gcore: |id| {
                json!({"exception_class": "not_authenticated", "message": "The request failed with HTTP status 401.",
                       "request_id": id, "info": {"httpStatus": 401}})
            },
        },
        Case {
            name: "a handler's DebugInfo is removed",
            request: Req::get("/debug"),
            status: 400,
            gcore_status: 400,
            headers: &[],
            gcore_headers: &[],
            aip193: |id| {
                json!({
                    "code": 400, "status": "FAILED_PRECONDITION", "message": "The VM is not stopped.",
                    "details": [
                        {"@type": ERROR_INFO, "reason": "VM_NOT_STOPPED", "domain": support::DOMAIN,
                         "metadata": {"vmId": "vm-1"}},
                        {"@type": REQUEST_INFO, "requestId": id},
                    ]
                })
            },
            gcore: |id| {
                json!({"exception_class": "ValidationError", "message": "The VM is not stopped.", "request_id": id,
                       "info": {"vmId": "vm-1"}})
            },
        },
    ]
}

/// The body expected in `encoding`.
fn expected(encoding: Encoding, aip193: Body, gcore: Body, id: &str) -> Value {
    match encoding {
        Encoding::Aip193 => aip193(id),
        Encoding::GoogleWrapped => json!({"error": aip193(id)}),
        Encoding::Gcore => gcore(id),
        other => panic!("no expected body for {other}"),
    }
}

fn assert_watched_headers(reply: &Reply, expected: &[(&str, &str)], context: &str) {
    for name in WATCHED_HEADERS {
        let want = expected.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
        assert_eq!(reply.header(name), want, "{context}: header {name}");
    }
}

#[tokio::test]
async fn every_error_path_in_every_dialect() {
    for encoding in support::DIALECTS {
        let address = serve(support::app(config(encoding, false), Arc::default())).await;
        for case in cases() {
            let context = format!("{encoding}: {}", case.name);
            let reply = send(address, &case.request).await;
            let gcore = encoding == Encoding::Gcore;
            assert_eq!(reply.status, if gcore { case.gcore_status } else { case.status }, "{context}: status");
            let mut headers = case.headers.to_vec();
            if gcore {
                headers.extend_from_slice(case.gcore_headers);
            }
            assert_watched_headers(&reply, &headers, &context);
            assert_eq!(reply.json(), expected(encoding, case.aip193, case.gcore, reply.request_id()), "{context}");
            assert_conforms(&reply, encoding, false, &context);
        }
    }
}

#[tokio::test]
async fn a_body_over_the_limit_is_invalid_argument() {
    for encoding in support::DIALECTS {
        let address = serve(support::app(config(encoding, false), Arc::default())).await;
        let body = vec![b' '; support::BODY_LIMIT + 1];
        let reply = send_owned(address, "POST", CREATE_PATH, &[("content-type", "application/json")], body).await;
        let context = format!("{encoding}: body too large");
        assert_eq!(reply.status, 400, "{context}");
        let id = reply.request_id();
        let aip193 = json!({
            "code": 400, "status": "INVALID_ARGUMENT", "message": "The request body is too large.",
            "details": [
                {"@type": ERROR_INFO, "reason": "PAYLOAD_TOO_LARGE", "domain": support::DOMAIN},
                {"@type": BAD_REQUEST, "fieldViolations": [{"field": "body",
                    "description": "The body exceeds the server's size limit.", "reason": "PAYLOAD_TOO_LARGE"}]},
                {"@type": REQUEST_INFO, "requestId": id},
            ]
        });
        let body = match encoding {
            Encoding::Aip193 => aip193,
            Encoding::GoogleWrapped => json!({"error": aip193}),
            _ => gcore_invalid(
                "The request body is too large.",
                None,
                "body",
                "The body exceeds the server's size limit.",
                id,
            ),
        };
        assert_eq!(reply.json(), body, "{context}");
        assert_conforms(&reply, encoding, false, &context);
    }
}

#[tokio::test]
async fn debug_info_only_when_enabled() {
    let panic_debug = |id: &str| {
        json!({
            "code": 500, "status": "INTERNAL",
            "message": "An internal error occurred. Contact support with the request id if it persists.",
            "details": [
                {"@type": ERROR_INFO, "reason": "INTERNAL", "domain": support::DOMAIN},
                {"@type": DEBUG_INFO, "detail": support::PANIC_MESSAGE},
                {"@type": REQUEST_INFO, "requestId": id},
            ]
        })
    };
    let handler_debug = |id: &str| {
        json!({
            "code": 400, "status": "FAILED_PRECONDITION", "message": "The VM is not stopped.",
            "details": [
                {"@type": ERROR_INFO, "reason": "VM_NOT_STOPPED", "domain": support::DOMAIN, "metadata": {"vmId": "vm-1"}},
                {"@type": DEBUG_INFO, "stackEntries": ["vm.rs:10"], "detail": "state was RUNNING"},
                {"@type": REQUEST_INFO, "requestId": id},
            ]
        })
    };
    let foreign_debug = |id: &str| {
        json!({
            "code": 401, "status": "UNAUTHENTICATED", "message": "The request failed with HTTP status 401.",
            "details": [
                {"@type": ERROR_INFO, "reason": "HTTP_ERROR", "domain": support::DOMAIN, "metadata": {"httpStatus": "401"}},
                {"@type": DEBUG_INFO, "detail": "no key"},
                {"@type": REQUEST_INFO, "requestId": id},
            ]
        })
    };
    let table: [(&str, Body); 3] = [("/panic", panic_debug), ("/debug", handler_debug), ("/legacy", foreign_debug)];
    for encoding in [Encoding::Aip193, Encoding::GoogleWrapped] {
        let address = serve(support::app(config(encoding, true), Arc::default())).await;
        for (path, aip193) in table {
            let context = format!("{encoding}: {path} with DebugInfo enabled");
            let reply = send(address, &Req::get(path)).await;
            let body = aip193(reply.request_id());
            let body = if encoding == Encoding::GoogleWrapped { json!({"error": body}) } else { body };
            assert_eq!(reply.json(), body, "{context}");
            assert_conforms(&reply, encoding, true, &context);
        }
    }
    // The Gcore envelope has no place for DebugInfo: enabling it changes
    // nothing on the wire.
    let address = serve(support::app(config(Encoding::Gcore, true), Arc::default())).await;
    for (path, _) in table {
        let reply = send(address, &Req::get(path)).await;
        assert_conforms(&reply, Encoding::Gcore, false, &format!("gcore: {path} with DebugInfo enabled"));
    }
}

#[tokio::test]
async fn overload_answers_unavailable_with_retry_info() {
    for encoding in support::DIALECTS {
        let gate = Arc::new(Gate::default());
        let address = serve(support::app(config(encoding, false), Arc::clone(&gate))).await;
        // The first request holds the only slot until released.
        let holder = tokio::spawn(async move { send(address, &Req::get("/gate")).await });
        gate.entered.notified().await;

        let reply = send(address, &Req::get("/ok")).await;
        let context = format!("{encoding}: overload");
        assert_eq!(reply.status, 503, "{context}");
        assert_watched_headers(&reply, &[("retry-after", "2")], &context);
        let id = reply.request_id();
        let aip193 = json!({
            "code": 503, "status": "UNAVAILABLE", "message": "The server is overloaded. Retry after the delay in RetryInfo.",
            "details": [
                {"@type": ERROR_INFO, "reason": "OVERLOADED", "domain": support::DOMAIN},
                {"@type": RETRY_INFO, "retryDelay": "2s"},
                {"@type": REQUEST_INFO, "requestId": id},
            ]
        });
        let body = match encoding {
            Encoding::Aip193 => aip193,
            Encoding::GoogleWrapped => json!({"error": aip193}),
            _ => json!({"exception_class": "ServiceUnavailable",
                        "message": "The server is overloaded. Retry after the delay in RetryInfo.", "request_id": id}),
        };
        assert_eq!(reply.json(), body, "{context}");
        assert_conforms(&reply, encoding, false, &context);

        gate.release.notify_one();
        assert_eq!(holder.await.expect("holder").status, 200, "{context}: the admitted request finishes");
        assert_eq!(send(address, &Req::get("/ok")).await.status, 200, "{context}: the slot is free again");
    }
}

#[tokio::test]
async fn rate_limit_per_api_key() {
    const KEY: &str = "APIKey 1234$secret";
    // FNV-1a (64 bits) of the key, folded to 32, computed apart.
    const KEY_HASH: &str = "da79e64b";
    for encoding in support::DIALECTS {
        let address = serve(support::app(config(encoding, false), Arc::default())).await;
        let with_key = |key: &'static str| Req { method: "GET", path: "/ok", headers: leak(key), body: "" };
        assert_eq!(send(address, &with_key(KEY)).await.status, 200, "{encoding}: the burst of one");

        let reply = send(address, &with_key(KEY)).await;
        let context = format!("{encoding}: rate limited");
        assert_eq!(reply.status, 429, "{context}");
        assert_watched_headers(&reply, &[("retry-after", "60")], &context);
        let json = reply.json();
        // The delay is the bucket's refill time less the time since the
        // first request: just under a minute, to the millisecond.
        let delay = canon::decode(reply.status, &reply.headers, &reply.body).status.retry_delay().expect("RetryInfo");
        assert!(delay > std::time::Duration::from_secs(55) && delay <= std::time::Duration::from_secs(60), "{delay:?}");
        assert_eq!(delay.subsec_nanos() % 1_000_000, 0, "{context}: whole milliseconds");
        let retry_delay = canon::ProtoDuration::from_std(delay).to_string();
        let id = reply.request_id();
        let message = "Rate limit of 1 requests per 60s exceeded for this API key.";
        let aip193 = json!({
            "code": 429, "status": "RESOURCE_EXHAUSTED", "message": message,
            "details": [
                {"@type": ERROR_INFO, "reason": "RATE_LIMITED", "domain": support::DOMAIN,
                 "metadata": {"limit": "1", "period": "60s", "apiKeyHash": KEY_HASH}},
                {"@type": QUOTA_FAILURE, "violations": [{"subject": format!("apiKey:{KEY_HASH}"),
                    "description": "1 requests per 60s"}]},
                {"@type": RETRY_INFO, "retryDelay": retry_delay},
                {"@type": REQUEST_INFO, "requestId": id},
            ]
        });
        let body = match encoding {
            Encoding::Aip193 => aip193,
            Encoding::GoogleWrapped => json!({"error": aip193}),
            _ => json!({"exception_class": "Throttled", "message": message, "request_id": id,
                        "info": {"limit": 1, "period": "60s", "apiKeyHash": KEY_HASH}}),
        };
        assert_eq!(json, body, "{context}");
        assert!(!reply.body.windows(6).any(|w| w == b"secret"), "{context}: the key never appears");
        assert_conforms(&reply, encoding, false, &context);

        assert_eq!(send(address, &with_key("APIKey other")).await.status, 200, "{encoding}: another key");
        assert_eq!(send(address, &Req::get("/ok")).await.status, 200, "{encoding}: no key, no limit");
    }
}

fn leak(key: &'static str) -> &'static [(&'static str, &'static str)] {
    Box::leak(Box::new([(support::API_KEY_HEADER, key)]))
}

#[tokio::test]
async fn request_ids_are_accepted_echoed_or_generated() {
    let address = serve(support::app(config(Encoding::Aip193, false), Arc::default())).await;
    let table: &[(&'static str, Option<&str>)] =
        &[("req-42:a.b_c", Some("req-42:a.b_c")), ("has space", None), ("semi;colon", None), ("", None)];
    for &(incoming, echoed) in table {
        let headers = Box::leak(Box::new([("x-request-id", incoming)]));
        for path in ["/ok", "/v2/nothing"] {
            let reply = send(address, &Req { method: "GET", path, headers, body: "" }).await;
            let id = reply.request_id();
            match echoed {
                Some(expected) => assert_eq!(id, expected, "{incoming:?} on {path}"),
                None => assert!(uuid::Uuid::parse_str(id).is_ok(), "{incoming:?} on {path}: generated {id:?}"),
            }
            if reply.status >= 400 {
                assert_eq!(canon::decode(reply.status, &reply.headers, &reply.body).status.request_id(), Some(id));
            }
        }
    }
    let first = send(address, &Req::get("/ok")).await;
    let second = send(address, &Req::get("/ok")).await;
    assert_ne!(first.request_id(), second.request_id(), "generated ids are unique");
}

/// What a request gets from a server, less what differs between two
/// servers by design: the date.
fn comparable(reply: Reply) -> (u16, Vec<(String, String)>, Bytes) {
    let mut headers: Vec<(String, String)> = reply
        .headers
        .iter()
        .filter(|(name, _)| *name != http::header::DATE)
        .map(|(name, value)| (name.to_string(), String::from_utf8_lossy(value.as_bytes()).into_owned()))
        .collect();
    headers.sort();
    (reply.status, headers, reply.body)
}

#[tokio::test]
async fn error_layers_answer_as_the_layers_stacked_one_by_one() {
    // `ErrorLayers::apply` runs every layer in one service; stacking the
    // public layers by hand must give the same answers, byte for byte.
    const ID: &[(&str, &str)] = &[("x-request-id", "req-1")];
    const KEY: &[(&str, &str)] = &[("x-request-id", "req-1"), ("x-api-key", "APIKey k")];
    let requests: &[(&str, Req)] = &[
        ("success", Req { method: "GET", path: "/ok", headers: ID, body: "" }),
        ("unknown route", Req { method: "GET", path: "/v2/nothing", headers: ID, body: "" }),
        ("wrong method", Req { method: "DELETE", path: "/ok", headers: ID, body: "" }),
        ("bad path", Req { method: "GET", path: "/v1/projects/p-1/vms/abc", headers: ID, body: "" }),
        ("handler error", Req { method: "GET", path: "/v1/projects/p-1/vms/7", headers: ID, body: "" }),
        ("panic", Req { method: "GET", path: "/panic", headers: ID, body: "" }),
        ("timeout", Req { method: "GET", path: "/slow", headers: ID, body: "" }),
        ("first with a key", Req { method: "GET", path: "/ok", headers: KEY, body: "" }),
        ("rate limited", Req { method: "GET", path: "/ok", headers: KEY, body: "" }),
    ];
    for encoding in support::DIALECTS {
        for debug_info in [false, true] {
            let fused = serve(support::app(config(encoding, debug_info), Arc::default())).await;
            let stacked = serve(support::stacked_app(config(encoding, debug_info), Arc::default())).await;
            for (name, request) in requests {
                let (fused, stacked) = (send(fused, request).await, send(stacked, request).await);
                let context = format!("{encoding}, DebugInfo {debug_info}: {name}");
                if *name == "rate limited" {
                    // The retry delay counts down the milliseconds between
                    // the two servers' buckets.
                    assert_eq!((fused.status, stacked.status), (429, 429), "{context}");
                    continue;
                }
                assert_eq!(comparable(fused), comparable(stacked), "{context}");
            }
        }
    }
}

#[tokio::test]
async fn success_responses_pass_through() {
    let address = serve(support::app(config(Encoding::Gcore, false), Arc::default())).await;
    let reply = send(
        address,
        &create(r#"{"name":"a","spec":{"machineType":"gpu-a100-x2","bootDiskSizeGib":20,"gpuModel":"h100"}}"#),
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.json(),
        json!({"projectId": "p-1", "name": "a", "spec": {"machineType": "gpu-a100-x2", "bootDiskSizeGib": 20, "gpuModel": "h100"}})
    );
    let reply = send(address, &Req::get("/v1/projects/p-1/vms?limit=5&state=STOPPED")).await;
    assert_eq!((reply.status, reply.json()), (200, json!({"limit": 5, "state": "STOPPED"})));
}

#[tokio::test]
async fn a_bare_405_is_rewritten_with_its_allow_header() {
    // Only the request-id layer: axum's own empty 405 is rewritten into
    // the same error the fallback would give.
    let config = ErrorConfig::new(Encoding::Gcore, support::DOMAIN);
    let app = RequestIdLayer::new(config).layer(Router::new().route("/v1/ssh-keys", get(|| async { "[]" })));
    let address = serve(app).await;
    let reply = send(address, &Req { method: "PUT", path: "/v1/ssh-keys", headers: &[], body: "" }).await;
    assert_eq!(reply.status, 405);
    assert_watched_headers(&reply, &[("allow", "GET,HEAD")], "bare 405");
    assert_eq!(
        reply.json(),
        json!({"exception_class": "HTTPError", "message": "The method 'PUT' is not allowed on the path '/v1/ssh-keys'.",
               "request_id": reply.request_id(), "info": {"method": "PUT", "path": "/v1/ssh-keys"}})
    );
    assert_conforms(&reply, Encoding::Gcore, false, "bare 405");
}

/// A tracing writer that keeps what it is given.
#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn panics_are_logged_with_the_request_id() {
    // The test runtime runs on this thread, server included, so a
    // thread-local subscriber sees the server's events.
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let address = serve(support::app(config(Encoding::Aip193, false), Arc::default())).await;
    let reply =
        send(address, &Req { method: "GET", path: "/panic", headers: &[("x-request-id", "trace-me-7")], body: "" })
            .await;
    assert_eq!(reply.status, 500);
    assert!(!String::from_utf8_lossy(&reply.body).contains(support::PANIC_MESSAGE), "the body leaks nothing");

    let log = String::from_utf8(captured.0.lock().expect("log buffer").clone()).expect("UTF-8 log");
    let line = log
        .lines()
        .find(|line| line.contains("a handler panicked"))
        .unwrap_or_else(|| panic!("no panic event in {log:?}"));
    assert!(line.contains("ERROR"), "{line}");
    assert!(
        line.contains("request{request_id=\"trace-me-7\" method=GET path=\"/panic\"}"),
        "the request's span: {line}"
    );
    assert!(line.contains("request_id=\"trace-me-7\""), "{line}");
    assert!(line.contains(&format!("panic=\"{}\"", support::PANIC_MESSAGE)), "{line}");
}

#[tokio::test]
async fn a_request_id_layer_inside_another_changes_nothing() {
    // Stacked directly, and on a route of the wrapped router: the outer
    // layer's id and dialect apply, and the error is not taken for a
    // foreign one.
    async fn missing() -> Result<(), canon_axum::ApiError> {
        Err(canon::Status::new(canon::Code::NotFound, "No such key."))?
    }
    let inner = || RequestIdLayer::new(ErrorConfig::new(Encoding::Gcore, "inner.example.dev"));
    let router = Router::new().route("/v1/ssh-keys/{id}", get(missing)).layer(inner());
    let outer = ErrorConfig::new(Encoding::Aip193, support::DOMAIN);
    let app = tower::ServiceBuilder::new().layer(RequestIdLayer::new(outer)).layer(inner()).service(router);
    let address = serve(app).await;
    let reply = send(address, &Req::get("/v1/ssh-keys/k-1")).await;
    assert_eq!(reply.status, 404);
    let id = reply.request_id();
    assert_eq!(
        reply.json(),
        json!({
            "code": 404, "status": "NOT_FOUND", "message": "No such key.",
            "details": [
                {"@type": ERROR_INFO, "reason": "NOT_FOUND", "domain": support::DOMAIN},
                {"@type": REQUEST_INFO, "requestId": id},
            ]
        })
    );
    assert_conforms(&reply, Encoding::Aip193, false, "nested request-id layers");
}
