//! The per-request middleware both surfaces share: the request journal and
//! fault injection, as two tower services around the surface's router.
//!
//! [`surface`](super::surface) wraps each surface's router, outermost
//! first, in:
//!
//! 1. [`Journaled`]: gives the request an id from the cloud's seeded
//!    generator (unless it brings a well-formed `x-request-id`), times it,
//!    decides its fault (the `x-canon-fault` header, else the fault rules),
//!    and records a [`JournalEntry`] when the answer is known, with the
//!    canonical code read back from the error body by `canon::decode`;
//! 2. the surface's canon-axum layers (request id, panics, body limit),
//!    so that everything inside answers in the surface's dialect;
//! 3. [`Faults`]: carries out the fault the journal decided: added
//!    latency, an injected error, or a transport fault, which it leaves in
//!    the request's [`FaultSlot`] for the connection to carry out (see
//!    [`server`](super::server)). A request without a fault goes straight
//!    to the router.
//!
//! Both are tower services of their own, rather than
//! `axum::middleware::from_fn`, which clones and boxes its inner service
//! and boxes futures on every request: [`Journaled`] boxes one future, and
//! [`Faults`] none unless it has a fault to carry out.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::Body;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use canon::{Code, Status};
use canon_axum::{ApiError, RequestId};
use http::{HeaderName, HeaderValue, StatusCode};
use http_body_util::BodyExt;
use tower::{Layer, Service, ServiceExt};

use crate::Cloud;
use crate::errors::Errors;
use crate::fault::{AppliedFault, FAULT_HEADER, FaultHeaderError, HeaderFault, TransportFault, parse_fault_header};
use crate::journal::JournalEntry;

/// The request-id header, as canon-axum reads it. Header names are
/// constants: a `&str` is parsed on every lookup, and copied into a new
/// allocation on every insert.
const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The [`FAULT_HEADER`], as a header name.
const FAULT_HEADER_NAME: HeaderName = HeaderName::from_static(FAULT_HEADER);

/// The largest error body the journal reads back to find its code.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// Finds the project a request is about from its path, for fault rules
/// and the journal.
pub type ProjectOf = fn(&Cloud, &str) -> Option<String>;

/// What the middleware of one surface needs, shared by its two services.
pub(crate) struct SurfaceContext {
    pub(crate) cloud: Arc<Cloud>,
    pub(crate) project_of: ProjectOf,
    /// The errors injected on this surface are built with these.
    pub(crate) errors: Errors,
}

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

/// The fault the journal decided for a request, for [`Faults`] to carry
/// out: put into the request's extensions only when there is one.
#[derive(Debug, Clone)]
enum Decision {
    /// The `x-canon-fault` header, parsed (the rules are not consulted).
    Header(Result<HeaderFault, FaultHeaderError>),
    /// What the fault rules did.
    Rules(AppliedFault),
}

/// The boxed future of a surface's services.
pub(crate) type BoxFuture = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

/// The outermost service of a surface: request id, timing, the fault
/// decision and the journal.
#[derive(Clone)]
pub(crate) struct Journaled<S> {
    context: Arc<SurfaceContext>,
    inner: S,
}

/// Wraps a service in [`Journaled`].
#[derive(Clone)]
pub(crate) struct JournalLayer {
    context: Arc<SurfaceContext>,
}

impl JournalLayer {
    pub(crate) fn new(context: Arc<SurfaceContext>) -> JournalLayer {
        JournalLayer { context }
    }
}

impl<S> Layer<S> for JournalLayer {
    type Service = Journaled<S>;

    fn layer(&self, inner: S) -> Journaled<S> {
        Journaled { context: Arc::clone(&self.context), inner }
    }
}

impl<S> Service<Request> for Journaled<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> BoxFuture {
        let started = Instant::now();
        let cloud = &self.context.cloud;
        let time = cloud.now();
        let method = request.method().as_str().to_owned();
        let path = request.uri().path().to_owned();
        let project = (self.context.project_of)(cloud, &path);

        let incoming = request.headers().get(&REQUEST_ID_HEADER).and_then(RequestId::from_header_value);
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
        // The header, when present, decides alone; else the rules run.
        let decision = match request.headers().get(&FAULT_HEADER_NAME) {
            Some(value) => Some(Decision::Header(parse_fault_header(&String::from_utf8_lossy(value.as_bytes())))),
            None => cloud.faults().evaluate(&method, &path, project.as_deref()).map(Decision::Rules),
        };
        if let Some(decision) = decision {
            request.extensions_mut().insert(decision);
        }

        let answer = self.inner.call(request);
        let context = Arc::clone(&self.context);
        Box::pin(async move {
            let Ok(response) = answer.await;
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
            context.cloud.journal().record(entry);
            Ok(response)
        })
    }
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

/// The innermost service of a surface: carries out the fault that
/// [`Journaled`] decided, inside the surface's canon-axum layers so that
/// an injected error comes out in the surface's dialect. A request
/// without one goes to the router as it is.
#[derive(Clone)]
pub(crate) struct Faults<S> {
    context: Arc<SurfaceContext>,
    inner: S,
}

/// Wraps a service in [`Faults`].
#[derive(Clone)]
pub(crate) struct FaultsLayer {
    context: Arc<SurfaceContext>,
}

impl FaultsLayer {
    pub(crate) fn new(context: Arc<SurfaceContext>) -> FaultsLayer {
        FaultsLayer { context }
    }
}

impl<S> Layer<S> for FaultsLayer {
    type Service = Faults<S>;

    fn layer(&self, inner: S) -> Faults<S> {
        Faults { context: Arc::clone(&self.context), inner }
    }
}

impl<S> Service<Request> for Faults<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + Unpin + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = FaultsFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> FaultsFuture<S::Future> {
        match request.extensions_mut().remove::<Decision>() {
            None => FaultsFuture::Through(self.inner.call(request)),
            Some(decision) => {
                let context = Arc::clone(&self.context);
                let inner = self.inner.clone();
                FaultsFuture::Faulted(Box::pin(async move { Ok(carry_out(&context, decision, request, inner).await) }))
            }
        }
    }
}

/// The future of [`Faults`]: the router's own, or the fault's.
pub(crate) enum FaultsFuture<F> {
    Through(F),
    Faulted(BoxFuture),
}

impl<F> Future for FaultsFuture<F>
where
    F: Future<Output = Result<Response, Infallible>> + Unpin,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.get_mut() {
            FaultsFuture::Through(future) => Pin::new(future).poll(cx),
            FaultsFuture::Faulted(future) => future.as_mut().poll(cx),
        }
    }
}

/// Answers a request with a fault: the header's error, or the rules'
/// latency, error or transport fault.
async fn carry_out<S>(context: &SurfaceContext, decision: Decision, request: Request, inner: S) -> Response
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    let slot = request.extensions().get::<FaultSlot>().cloned().unwrap_or_default();
    let errors = &context.errors;
    let applied = match decision {
        Decision::Header(Ok(fault)) => {
            let account = fault.describe();
            slot.note(account.clone());
            return ApiError::from(with_debug_info(fault.status(errors), account)).into_response();
        }
        Decision::Header(Err(error)) => return ApiError::from(error.status(errors)).into_response(),
        Decision::Rules(applied) => applied,
    };
    slot.note(applied.describe());
    if !applied.latency.is_zero() {
        tokio::time::sleep(applied.latency).await;
    }
    if let Some(status) = applied.status(errors) {
        return ApiError::from(with_debug_info(status, applied.describe())).into_response();
    }
    let through = |request| async move {
        let Ok(response) = inner.oneshot(request).await;
        response
    };
    match applied.transport() {
        None => through(request).await,
        Some(fault) if !slot.enactable => ApiError::from(transport_unsupported(errors, fault)).into_response(),
        // The request is carried out; its answer is cut short.
        Some(TransportFault::TruncatedBody) => {
            let response = through(request).await;
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
