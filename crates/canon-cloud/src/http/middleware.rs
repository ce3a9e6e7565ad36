//! The per-request middleware both surfaces share: the request journal and
//! fault injection.
//!
//! [`surface`](super::surface) wraps each surface's router, outermost
//! first, in:
//!
//! 1. [`journal`]: gives the request an id from the cloud's seeded
//!    generator (unless it brings a well-formed `x-request-id`), times it,
//!    and records a [`JournalEntry`] when the answer is known, with the
//!    canonical code read back from the error body by `canon::decode`;
//! 2. the surface's canon-axum layers (request id, panics, body limit),
//!    so that everything inside answers in the surface's dialect;
//! 3. [`faults`]: the `x-canon-fault` header, else the fault rules: added
//!    latency, an injected error, or a transport fault, which it leaves in
//!    the request's [`FaultSlot`] for the connection to carry out (see
//!    [`server`](super::server)).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use canon::{Code, Status};
use canon_axum::{ApiError, RequestId};
use http::{HeaderValue, StatusCode};
use http_body_util::BodyExt;

use crate::Cloud;
use crate::errors::Errors;
use crate::fault::{FAULT_HEADER, TransportFault, parse_fault_header};
use crate::journal::JournalEntry;

/// The request-id header, as canon-axum reads it.
pub(crate) const REQUEST_ID_HEADER: &str = "x-request-id";

/// The largest error body the journal reads back to find its code.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// Finds the project a request is about from its path, for fault rules
/// and the journal.
pub type ProjectOf = fn(&Cloud, &str) -> Option<String>;

/// What the middleware of one surface needs.
#[derive(Clone)]
pub(crate) struct SurfaceContext {
    pub(crate) cloud: Arc<Cloud>,
    pub(crate) project_of: ProjectOf,
    /// The errors injected on this surface are built with these.
    pub(crate) errors: Errors,
}

/// The project of the request, found once by [`journal`].
#[derive(Debug, Clone)]
struct RequestProject(Option<String>);

#[derive(Debug, Default)]
struct SlotState {
    fault: Option<String>,
    transport: Option<TransportFault>,
}

/// What the fault middleware did to one request: the journal's account
/// and the transport fault the connection must carry out. The connection
/// service of [`server`](super::server) puts one into every request and
/// marks it [`enactable`](FaultSlot::enactable); elsewhere (a router
/// served by other means, or called in a test) the journal makes one.
#[derive(Debug, Clone, Default)]
pub(crate) struct FaultSlot {
    state: Arc<Mutex<SlotState>>,
    enactable: bool,
}

impl FaultSlot {
    /// A slot whose transport faults the connection will carry out.
    pub(crate) fn enactable() -> FaultSlot {
        FaultSlot { state: Arc::default(), enactable: true }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SlotState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn note(&self, fault: String) {
        self.lock().fault = Some(fault);
    }

    fn set_transport(&self, fault: TransportFault) {
        self.lock().transport = Some(fault);
    }

    /// The transport fault to carry out, if any.
    pub(crate) fn transport(&self) -> Option<TransportFault> {
        self.lock().transport
    }

    fn fault(&self) -> Option<String> {
        self.lock().fault.clone()
    }
}

/// The outermost middleware of a surface: request id, timing, journal.
pub(crate) async fn journal(State(context): State<SurfaceContext>, mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let cloud = &context.cloud;
    let time = cloud.now();
    let method = request.method().as_str().to_owned();
    let path = request.uri().path().to_owned();
    let project = (context.project_of)(cloud, &path);

    let incoming = request.headers().get(REQUEST_ID_HEADER).and_then(RequestId::from_header_value);
    let request_id = match incoming {
        Some(id) => id.as_str().to_owned(),
        None => {
            let id = cloud.next_request_id();
            if let Ok(value) = HeaderValue::from_str(&id) {
                request.headers_mut().insert(REQUEST_ID_HEADER, value);
            }
            id
        }
    };
    let slot = match request.extensions().get::<FaultSlot>() {
        Some(slot) => slot.clone(),
        None => {
            let slot = FaultSlot::default();
            request.extensions_mut().insert(slot.clone());
            slot
        }
    };
    request.extensions_mut().insert(RequestProject(project.clone()));

    let response = next.run(request).await;

    let transport = slot.transport();
    let (status, code, response) = match transport {
        Some(TransportFault::Reset | TransportFault::EmptyReply) => (0, None, response),
        _ if response.status().as_u16() >= 400 => {
            let (code, response) = error_code(response).await;
            (response.status().as_u16(), code, response)
        }
        _ => (response.status().as_u16(), None, response),
    };
    let entry = JournalEntry {
        seq: 0,
        time,
        method,
        path,
        project,
        status,
        code,
        request_id,
        fault: slot.fault(),
        duration: started.elapsed(),
    };
    tracing::debug!(
        method = entry.method,
        path = entry.path,
        status = entry.status,
        request_id = entry.request_id,
        fault = entry.fault.as_deref().unwrap_or(""),
        "answered"
    );
    cloud.journal().record(entry);
    response
}

/// Reads an error response's canonical code back from its body, in any
/// dialect, and gives the response back whole.
async fn error_code(response: Response) -> (Option<String>, Response) {
    let (parts, body) = response.into_parts();
    let bytes = match http_body_util::Limited::new(body, MAX_ERROR_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            let code = Code::from_http_status(parts.status.as_u16());
            return (Some(code.name().to_owned()), Response::from_parts(parts, Body::empty()));
        }
    };
    let decoded = canon::decode(parts.status.as_u16(), &parts.headers, &bytes);
    let code = decoded.status.code().name().to_owned();
    (Some(code), Response::from_parts(parts, Body::from(bytes)))
}

/// The innermost middleware of a surface: the fault header and the rules.
pub(crate) async fn faults(State(context): State<SurfaceContext>, request: Request, next: Next) -> Response {
    let slot = request.extensions().get::<FaultSlot>().cloned().unwrap_or_default();
    let errors = &context.errors;
    if let Some(value) = request.headers().get(FAULT_HEADER) {
        let text = String::from_utf8_lossy(value.as_bytes());
        return match parse_fault_header(&text) {
            Ok(fault) => {
                let account = fault.describe();
                slot.note(account.clone());
                ApiError::from(with_debug_info(fault.status(errors), account)).into_response()
            }
            Err(error) => ApiError::from(error.status(errors)).into_response(),
        };
    }
    let project = match request.extensions().get::<RequestProject>() {
        Some(RequestProject(project)) => project.clone(),
        None => (context.project_of)(&context.cloud, request.uri().path()),
    };
    let Some(applied) =
        context.cloud.faults().evaluate(request.method().as_str(), request.uri().path(), project.as_deref())
    else {
        return next.run(request).await;
    };
    slot.note(applied.describe());
    if !applied.latency.is_zero() {
        tokio::time::sleep(applied.latency).await;
    }
    if let Some(status) = applied.status(errors) {
        return ApiError::from(with_debug_info(status, applied.describe())).into_response();
    }
    match applied.transport() {
        None => next.run(request).await,
        Some(fault) if !slot.enactable => ApiError::from(transport_unsupported(errors, fault)).into_response(),
        // The request is carried out; its answer is cut short.
        Some(TransportFault::TruncatedBody) => {
            let response = next.run(request).await;
            slot.set_transport(TransportFault::TruncatedBody);
            response
        }
        // The request never reaches the API: the connection breaks
        // instead of this (unsent) response.
        Some(fault) => {
            slot.set_transport(fault);
            StatusCode::NO_CONTENT.into_response()
        }
    }
}

/// An injected error with a DebugInfo saying where it came from. The
/// surface's canon-axum layers remove it unless the server runs with
/// debug details on (`canon serve --debug`).
fn with_debug_info(mut status: Status, account: String) -> Status {
    status.add_detail(canon::details::DebugInfo { stack_entries: Vec::new(), detail: format!("injected: {account}") });
    status
}

/// The answer to a transport fault when the router is not served by
/// [`serve`](super::server::serve), which alone can break a connection.
fn transport_unsupported(errors: &Errors, fault: TransportFault) -> Status {
    Status::builder(
        Code::FailedPrecondition,
        format!("The transport fault '{}' needs canon's own server to be carried out.", fault.as_str()),
    )
    .detail(
        canon::details::ErrorInfo::new("TRANSPORT_FAULT_UNSUPPORTED", errors.domain())
            .with_metadata("transportFault", fault.as_str().to_owned()),
    )
    .build()
}
