//! The CUDO-shaped surface: `/v1/...`, AIP-193 errors.
//!
//! Paths and JSON follow CUDO's REST API: its OpenAPI document and the
//! `cudo-compute` Python SDK (0.3.6), which reads responses strictly.
//! Where the two differ, the surface serves both: `/v1/data-centers` and
//! `/v1/vms/data-centers`, `/v1/vms/machine-types` and
//! `/v1/vms/machine-types-2`, a disk create body with or without its
//! `disk` wrapper.
//!
//! | resource | paths |
//! |----------|-------|
//! | projects | `GET /v1/projects`, `GET /v1/projects/{id}` |
//! | data centers, machine types, GPU models | `GET /v1/data-centers[/{id}[/machine-types[/{machineType}]]]`, `GET /v1/vms/data-centers`, `GET /v1/vms/machine-types`, `GET /v1/vms/machine-types-2`, `GET /v1/vms/data-centers/{dataCenterId}/machine_types/{machineTypeId}`, `GET /v1/vms/gpu-models` |
//! | VMs | `POST /v1/projects/{projectId}/vm`, `GET /v1/projects/{projectId}/vms[/{id}]`, `POST .../vms/{id}/start\|stop\|terminate\|resize`, `GET\|PATCH .../vms/{id}/disks` |
//! | disks | `GET\|POST /v1/projects/{projectId}/disks`, `GET\|DELETE .../disks/{id}`, `PATCH .../disk/{id}/attach`, `PUT .../disk/{id}/detach` |
//! | SSH keys | `GET\|POST /v1/ssh-keys`, `GET\|DELETE /v1/ssh-keys/{id}`, `GET /v1/project/{projectId}/ssh-keys` |
//! | clusters | `GET\|POST /v1/projects/{projectId}/clusters`, `GET\|PATCH\|DELETE .../clusters/{id}` |
//!
//! # Authentication and order of errors
//!
//! Every route needs `Authorization: Bearer <key>`. A request is checked
//! in this order: the path's and query's parameters and the body's framing
//! (Content-Type, size, JSON syntax); the key (UNAUTHENTICATED); the
//! body's fields (INVALID_ARGUMENT); then
//! the domain, which checks the key's scope and project before anything
//! else (PERMISSION_DENIED, whether or not the resource exists) and the
//! resource's existence after.
//!
//! SSH keys have no project in their paths: a key sees its own project's.
//!
//! # HTTP statuses
//!
//! The status is the code's (AIP-193), except FAILED_PRECONDITION for a
//! resource in the wrong state (reasons ending in `_STATE_INVALID`), which
//! is `409 Conflict` as on the CUDO page's cluster example; other
//! FAILED_PRECONDITION errors are `400`.
//!
//! # ETags
//!
//! A VM, disk or cluster read sends its `ETag`; every write to one accepts
//! `If-Match` and answers ABORTED (`409`) when it is stale.

use std::sync::Arc;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::routing::{get, patch, post, put};
use canon::{Code, Detail, Status};
use canon_axum::ApiError;
use http::StatusCode;
use http::header::{AUTHORIZATION, ETAG, HeaderMap, HeaderValue, IF_MATCH};
use http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use super::{AppState, JsonBody, on_store};
use crate::Cloud;
use crate::auth::Principal;

pub mod catalog;
pub mod clusters;
pub mod disks;
pub mod pricing;
pub mod ssh_keys;
pub mod vms;
pub mod wire;

/// The CUDO-shaped routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/projects", get(catalog::list_projects))
        .route("/v1/projects/{id}", get(catalog::get_project))
        .route("/v1/data-centers", get(catalog::list_data_centers))
        .route("/v1/data-centers/{id}", get(catalog::get_data_center))
        .route("/v1/data-centers/{dataCenterId}/machine-types", get(catalog::list_machine_types))
        .route("/v1/data-centers/{dataCenterId}/machine-types/{machineType}", get(catalog::get_machine_type))
        .route("/v1/vms/data-centers", get(catalog::list_vm_data_centers))
        .route("/v1/vms/machine-types", get(catalog::list_vm_machine_types))
        .route("/v1/vms/machine-types-2", get(catalog::list_vm_machine_types_2))
        .route("/v1/vms/data-centers/{dataCenterId}/machine_types/{machineTypeId}", get(catalog::get_vm_machine_type))
        .route("/v1/vms/gpu-models", get(catalog::list_gpu_models))
        .route("/v1/projects/{projectId}/vm", post(vms::create_vm))
        .route("/v1/projects/{projectId}/vms", get(vms::list_vms))
        .route("/v1/projects/{projectId}/vms/{id}", get(vms::get_vm))
        .route("/v1/projects/{projectId}/vms/{id}/start", post(vms::start_vm))
        .route("/v1/projects/{projectId}/vms/{id}/stop", post(vms::stop_vm))
        .route("/v1/projects/{projectId}/vms/{id}/terminate", post(vms::terminate_vm))
        .route("/v1/projects/{projectId}/vms/{id}/resize", post(vms::resize_vm))
        .route("/v1/projects/{projectId}/vms/{id}/disks", get(vms::list_vm_disks).patch(vms::resize_vm_disk))
        .route("/v1/projects/{projectId}/disks", get(disks::list_disks).post(disks::create_disk))
        .route("/v1/projects/{projectId}/disks/{id}", get(disks::get_disk).delete(disks::delete_disk))
        .route("/v1/projects/{projectId}/disk/{id}/attach", patch(disks::attach_disk))
        .route("/v1/projects/{projectId}/disk/{id}/detach", put(disks::detach_disk))
        .route("/v1/ssh-keys", get(ssh_keys::list_ssh_keys).post(ssh_keys::create_ssh_key))
        .route("/v1/ssh-keys/{id}", get(ssh_keys::get_ssh_key).delete(ssh_keys::delete_ssh_key))
        .route("/v1/project/{projectId}/ssh-keys", get(ssh_keys::list_project_ssh_keys))
        .route("/v1/projects/{projectId}/clusters", get(clusters::list_clusters).post(clusters::create_cluster))
        .route(
            "/v1/projects/{projectId}/clusters/{id}",
            get(clusters::get_cluster).patch(clusters::update_cluster).delete(clusters::delete_cluster),
        )
}

/// The credentials of a request: `Authorization: Bearer <key>`, with the
/// scheme in any case.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum BearerKey {
    /// No `Authorization` header: UNAUTHENTICATED `API_KEY_MISSING`.
    #[default]
    Missing,
    /// A bearer key, checked against the store.
    Key(String),
    /// Another scheme, or no scheme: UNAUTHENTICATED `API_KEY_INVALID`,
    /// as CUDO wants the `Bearer` prefix.
    Malformed,
}

impl<S: Send + Sync> FromRequestParts<S> for BearerKey {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<BearerKey, Self::Rejection> {
        Ok(BearerKey::read(&parts.headers))
    }
}

impl BearerKey {
    /// The credentials in a request's headers.
    pub fn read(headers: &HeaderMap) -> BearerKey {
        let Some(value) = headers.get(AUTHORIZATION) else { return BearerKey::Missing };
        let text = String::from_utf8_lossy(value.as_bytes());
        match text.trim().split_once(' ') {
            Some((scheme, key)) if scheme.eq_ignore_ascii_case("bearer") => BearerKey::Key(key.trim().to_owned()),
            _ => BearerKey::Malformed,
        }
    }

    /// The caller, or UNAUTHENTICATED.
    pub fn authenticate(&self, cloud: &Cloud) -> Result<Principal, Status> {
        match self {
            BearerKey::Missing => cloud.authenticate(None),
            BearerKey::Key(key) => cloud.authenticate(Some(key)),
            BearerKey::Malformed => Err(cloud.errors().api_key_invalid()),
        }
    }
}

/// The `If-Match` header, if any.
#[derive(Debug, Clone, Default)]
pub struct IfMatch(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<IfMatch, Self::Rejection> {
        let value = parts.headers.get(IF_MATCH).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        Ok(IfMatch(value))
    }
}

/// A JSON body whose framing (Content-Type, size, syntax) is checked when
/// it arrives and whose fields are read, with [`fields`], after the key.
pub type RawBody = canon_axum::extract::Json<Box<RawValue>>;

/// Reads a body's fields, with canon-axum's field-naming rejections.
pub fn fields<T: DeserializeOwned>(body: &RawValue) -> Result<T, Status> {
    canon_axum::extract::Json::<T>::from_bytes(body.get().as_bytes()).map(|json| json.0).map_err(ApiError::into_status)
}

/// Authenticates the key and runs `f` with the caller, on a blocking
/// thread.
pub(crate) async fn call<T, F>(state: &AppState, key: BearerKey, f: F) -> Result<T, ApiError>
where
    F: FnOnce(&Cloud, &Principal) -> Result<T, Status> + Send + 'static,
    T: Send + 'static,
{
    let cloud = Arc::clone(&state.cloud);
    on_store(&state.cloud, move || {
        let who = key.authenticate(&cloud)?;
        f(&cloud, &who)
    })
    .await?
    .map_err(error)
}

/// [`call`], answering with the value as JSON.
pub(crate) async fn call_json<T, F>(state: &AppState, key: BearerKey, f: F) -> Result<JsonBody<T>, ApiError>
where
    F: FnOnce(&Cloud, &Principal) -> Result<T, Status> + Send + 'static,
    T: Send + 'static,
{
    call(state, key, f).await.map(JsonBody)
}

/// A domain error as this surface sends it: a resource in the wrong state
/// is `409`, as on the CUDO page.
pub fn error(status: Status) -> ApiError {
    let conflict = status.code() == Code::FailedPrecondition
        && status.error_info().is_some_and(|info| info.reason.ends_with("_STATE_INVALID"));
    let error = ApiError::from(status);
    if conflict { error.with_http_status(StatusCode::CONFLICT) } else { error }
}

/// Renames a field in an error: the domain names a field as its own
/// request type does (`sizeGib`), the client may have sent it under
/// another path (`disk.sizeGib`, or the CUDO page's `diskSizeGb`). The
/// field violations, the ErrorInfo metadata `field` and `fields`, and a
/// message that starts with the field are changed.
pub fn rename_field(mut status: Status, from: &str, to: &str) -> Status {
    if from == to {
        return status;
    }
    if let Some(rest) = status.message().strip_prefix(from).filter(|rest| rest.starts_with(' ')) {
        let message = format!("{to}{rest}");
        status.set_message(message);
    }
    for detail in status.details_mut() {
        match detail {
            Detail::BadRequest(request) => {
                for violation in &mut request.field_violations {
                    if violation.field == from {
                        violation.field = to.to_owned();
                    }
                }
            }
            Detail::ErrorInfo(info) => {
                if info.metadata.get("field").is_some_and(|field| field == from) {
                    info.metadata.insert("field".into(), to.to_owned().into());
                }
                if let Some(fields) = info.metadata.get_mut("fields") {
                    let renamed: Vec<&str> = fields.split(',').map(|f| if f == from { to } else { f }).collect();
                    *fields = renamed.join(",").into();
                }
            }
            _ => {}
        }
    }
    status
}

/// A JSON response with an `ETag`.
pub(crate) fn with_etag<T: serde::Serialize>(body: T, etag: &str) -> axum::response::Response {
    use axum::response::IntoResponse;
    let mut response = JsonBody(body).into_response();
    if let Ok(value) = HeaderValue::from_str(etag) {
        response.headers_mut().insert(ETAG, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_keys_are_read_with_any_scheme_case() {
        let key = |k: &str| BearerKey::Key(k.to_owned());
        let table: &[(Option<&[u8]>, BearerKey)] = &[
            (None, BearerKey::Missing),
            (Some(b"Bearer abc"), key("abc")),
            (Some(b"bearer  abc "), key("abc")),
            (Some(b"BEARER abc"), key("abc")),
            (Some(b"Bearer "), BearerKey::Malformed),
            (Some(b"Basic abc"), BearerKey::Malformed),
            (Some(b"abc"), BearerKey::Malformed),
            (Some(b"Bearer \xff"), key("\u{fffd}")),
        ];
        for (value, expected) in table {
            let mut headers = HeaderMap::new();
            if let Some(value) = value {
                headers.insert(AUTHORIZATION, HeaderValue::from_bytes(value).unwrap());
            }
            assert_eq!(&BearerKey::read(&headers), expected, "{value:?}");
        }
    }

    #[test]
    fn state_errors_are_conflicts_and_other_preconditions_are_not() {
        let errors = crate::errors::Errors::new("d");
        let state = errors.state_invalid(
            crate::model::ResourceKind::Cluster,
            "c",
            "STATE_UPDATING",
            &["STATE_ACTIVE"],
            crate::model::Action::Resize,
        );
        assert_eq!(error(state).http_status(), Some(StatusCode::CONFLICT));
        let read_only = errors.disk_attached_read_only("d", "v", "p");
        assert_eq!(error(read_only).http_status(), None);
    }

    #[test]
    fn renamed_fields_change_everywhere_the_field_is_named() {
        let errors = crate::errors::Errors::new("d");
        let status = rename_field(errors.negative("sizeGib", -5), "sizeGib", "diskSizeGb");
        assert_eq!(status.message(), "diskSizeGb must not be negative, got -5.");
        assert_eq!(status.field_violations().next().unwrap().field, "diskSizeGb");
        assert_eq!(status.error_info().unwrap().metadata["field"], "diskSizeGb");
        let several = errors.invalid_fields(&[
            canon::details::FieldViolation::new("sizeGib", "bad"),
            canon::details::FieldViolation::new("dataCenterId", "bad"),
        ]);
        let status = rename_field(several, "sizeGib", "disk.sizeGib");
        assert_eq!(status.error_info().unwrap().metadata["fields"], "disk.sizeGib,dataCenterId");
        assert_eq!(status.message(), "Invalid fields in request.");
    }
}
