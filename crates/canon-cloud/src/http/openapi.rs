//! The OpenAPI document at `/openapi.json`: the CUDO surface and the
//! admin API, described with utoipa from the handlers themselves.
//!
//! Every operation of both declares its success response and a `default`
//! response with the error schema `Status`: `{code, status, message,
//! details}` with each detail an object whose `@type` names it (AIP-193
//! bare; with `--grpc-gateway` the same object has the gRPC number in
//! `code` and no `status`, which the schema allows). CUDO's operations
//! carry the `bearerAuth` security scheme (`Authorization: Bearer <key>`).
//!
//! The `x-canon-fault` header is deliberately not a documented parameter:
//! a generated client, or a fuzzer, should not force errors by accident.
//!
//! # Composition
//!
//! [`document`] starts from the CUDO surface and merges the admin API and
//! then the Gcore surface's own document (`gcore::openapi()`, at the
//! comment `GCORE_MERGE_POINT`). [`document_json`] then completes the CUDO
//! and admin paths only.

use std::sync::Arc;

use axum::Router;
use axum::response::IntoResponse;
use axum::routing::get;
use http::header::{CONTENT_TYPE, HeaderValue};
use serde_json::{Value, json};
use utoipa::OpenApi;

use super::admin;
use super::cudo::{catalog, clusters, disks, ssh_keys, vms, wire};

/// Where the document is served.
pub const PATH: &str = "/openapi.json";

/// The CUDO surface's operations and schemas.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "canon emulator",
        description = "A GPU-cloud emulator with a CUDO-shaped API (`/v1`), AIP-193 errors, SQLite \
            storage and fault injection (`/_canon`). Every error is a `Status`.",
        license(name = "MIT OR Apache-2.0"),
    ),
    paths(
        catalog::list_projects,
        catalog::get_project,
        catalog::list_data_centers,
        catalog::get_data_center,
        catalog::list_machine_types,
        catalog::get_machine_type,
        catalog::list_vm_data_centers,
        catalog::list_vm_machine_types,
        catalog::list_vm_machine_types_2,
        catalog::get_vm_machine_type,
        catalog::list_gpu_models,
        vms::create_vm,
        vms::list_vms,
        vms::get_vm,
        vms::start_vm,
        vms::stop_vm,
        vms::terminate_vm,
        vms::resize_vm,
        vms::list_vm_disks,
        vms::resize_vm_disk,
        disks::create_disk,
        disks::list_disks,
        disks::get_disk,
        disks::delete_disk,
        disks::attach_disk,
        disks::detach_disk,
        ssh_keys::create_ssh_key,
        ssh_keys::list_ssh_keys,
        ssh_keys::get_ssh_key,
        ssh_keys::delete_ssh_key,
        ssh_keys::list_project_ssh_keys,
        clusters::create_cluster,
        clusters::list_clusters,
        clusters::get_cluster,
        clusters::update_cluster,
        clusters::delete_cluster,
    ),
    components(schemas(wire::Empty)),
    tags(
        (name = "projects", description = "The caller's project."),
        (name = "data centers", description = "Data centers and their machine types."),
        (name = "virtual machines", description = "VMs, and the catalog they are made from."),
        (name = "disks", description = "Storage disks."),
        (name = "ssh keys", description = "SSH public keys of the caller's project."),
        (name = "clusters", description = "Clusters of machines."),
    )
)]
struct CudoApi;

/// The whole document, as utoipa's model: the CUDO surface, the admin API
/// and the Gcore surface.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = CudoApi::openapi();
    doc.merge(admin::AdminApi::openapi());
    // GCORE_MERGE_POINT: the Gcore surface describes its own paths
    // (`/cloud/...`) with its own error schema and security, in
    // `gcore::openapi() -> utoipa::openapi::OpenApi`.
    doc.merge(super::gcore::openapi());
    doc
}

/// The document as JSON, with the error schema, the `default` error
/// response and the security schemes filled in for the CUDO surface and
/// the admin API.
pub fn document_json() -> Value {
    let mut doc = serde_json::to_value(document()).expect("an OpenAPI document serializes");
    complete(&mut doc);
    doc
}

/// The methods an OpenAPI path item may have.
const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

fn complete(doc: &mut Value) {
    let components = &mut doc["components"];
    components["schemas"]["Status"] = status_schema();
    components["schemas"]["Any"] = any_schema();
    components["responses"]["Error"] = json!({
        "description": "An error: AIP-193 bare (`code` mirrors the HTTP status; with --grpc-gateway it is the \
            gRPC code number and `status` is absent). `Retry-After` is set when the error carries RetryInfo.",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Status"}}},
    });
    components["securitySchemes"]["bearerAuth"] = json!({
        "type": "http",
        "scheme": "bearer",
        "description": "An API key of the emulator: `Authorization: Bearer <key>`.",
    });
    components["securitySchemes"]["adminToken"] = json!({
        "type": "http",
        "scheme": "bearer",
        "description": "The admin token, when `canon serve` was started with --admin-token; without one, \
            the admin API answers loopback clients only and needs no header.",
    });
    let Some(paths) = doc["paths"].as_object_mut() else { return };
    for (path, item) in paths.iter_mut() {
        let security = if path.starts_with("/v1/") {
            json!([{"bearerAuth": []}])
        } else if path.starts_with("/_canon/") {
            json!([{}, {"adminToken": []}])
        } else {
            continue;
        };
        for method in METHODS {
            let Some(operation) = item.get_mut(method).and_then(Value::as_object_mut) else { continue };
            operation.insert("security".to_owned(), security.clone());
            let responses = operation.entry("responses").or_insert_with(|| json!({}));
            if responses.get("default").is_none() {
                responses["default"] = json!({"$ref": "#/components/responses/Error"});
            }
        }
    }
}

fn status_schema() -> Value {
    json!({
        "type": "object",
        "description": "google.rpc.Status as AIP-193 writes it.",
        "required": ["code", "message"],
        "properties": {
            "code": {
                "type": "integer",
                "format": "int32",
                "description": "The HTTP status (AIP-193), or the gRPC code number (grpc-gateway).",
            },
            "status": {
                "type": "string",
                "description": "The canonical code's name (AIP-193 only).",
                "enum": canon::Code::ALL.iter().map(|c| c.name()).collect::<Vec<_>>(),
            },
            "message": {"type": "string", "description": "For people; do not parse."},
            "details": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/Any"},
                "description": "ErrorInfo always; BadRequest, QuotaFailure, PreconditionFailure, RetryInfo, \
                    RequestInfo and (with --debug) DebugInfo as the error calls for.",
            },
        },
    })
}

fn any_schema() -> Value {
    json!({
        "type": "object",
        "description": "A google.rpc detail, named by its type URL.",
        "required": ["@type"],
        "properties": {"@type": {"type": "string", "example": "type.googleapis.com/google.rpc.ErrorInfo"}},
        "additionalProperties": true,
    })
}

/// The route that serves the document, made once.
pub fn router() -> Router {
    let json: Arc<str> = Arc::from(document_json().to_string());
    Router::new().route(
        PATH,
        get(move || {
            let json = Arc::clone(&json);
            async move {
                let mut response = json.to_string().into_response();
                response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                response
            }
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cudo_route_is_documented_with_an_error_response_and_bearer_auth() {
        let doc = document_json();
        let paths = doc["paths"].as_object().unwrap();
        let mut operations = 0;
        for (path, item) in paths.iter().filter(|(path, _)| path.starts_with("/v1/") || path.starts_with("/_canon/")) {
            for method in METHODS {
                let Some(operation) = item.get(method) else { continue };
                operations += 1;
                assert_eq!(
                    operation["responses"]["default"]["$ref"], "#/components/responses/Error",
                    "{method} {path}"
                );
                if path.starts_with("/v1/") {
                    assert_eq!(operation["security"][0]["bearerAuth"], json!([]), "{method} {path}");
                    assert!(operation["operationId"].is_string(), "{method} {path}");
                }
            }
        }
        assert!(operations >= 36, "{operations}");
        assert_eq!(doc["components"]["schemas"]["Status"]["required"], json!(["code", "message"]));
    }
}
