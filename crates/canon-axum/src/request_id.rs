//! Request ids: [`RequestId`] and [`RequestIdLayer`].
//!
//! Both provider pages promise a request id on every error, for support to
//! trace. [`RequestIdLayer`] gives each request one:
//!
//! - it accepts a well-formed incoming `x-request-id` (1 to 128 characters
//!   of `A-Z a-z 0-9 . _ : -`), or else generates a UUID-shaped id, unique
//!   without a random draw per request (see [`RequestId::generate`]);
//! - it echoes the id in the response's `x-request-id` header, on every
//!   response, successful or not;
//! - it puts the id into every error body written inside it (RequestInfo
//!   for AIP-193 and Google, `request_id` for Gcore), together with the
//!   server's [`ErrorConfig`], which it makes current for the request;
//! - it opens a `request` tracing span with fields `request_id`, `method`
//!   and `path`, so that every event of the request carries the id;
//! - it rewrites error responses that did not come from this crate into the
//!   configured dialect (see [`ErrorConfig::with_foreign_errors_wrapped`]).
//!
//! Handlers read the id with the [`RequestId`] extractor, or anywhere inside
//! the request with [`RequestId::current`].
//!
//! Wrap the whole router, so that the fallbacks run inside the layer and no
//! route is boxed again on every request (as [`Router::layer`] does):
//!
//! ```no_run
//! use axum::{Router, routing::get};
//! use canon::Encoding;
//! use canon_axum::{ErrorConfig, RequestId, RequestIdLayer};
//! use tower::Layer;
//!
//! async fn whoami(request_id: RequestId) -> String {
//!     format!("request {request_id}")
//! }
//!
//! # async fn run() -> std::io::Result<()> {
//! let router = Router::new().route("/whoami", get(whoami));
//! let app = RequestIdLayer::new(ErrorConfig::new(Encoding::Aip193, "compute.example.dev")).layer(router);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! axum::serve(listener, axum::ServiceExt::<axum::extract::Request>::into_make_service(app)).await
//! # }
//! ```
//!
//! [`ErrorLayers`](crate::ErrorLayers) does this, with every other layer.
//!
//! [`Router::layer`]: axum::Router::layer

use std::cell::Cell;
use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use axum::BoxError;
use axum::body::{Body, HttpBody};
use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::response::Response;
use bytes::Bytes;
use http::header::{CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, HeaderName, HeaderValue, TRANSFER_ENCODING};
use http::request::Parts;
use http::{Method, Request, StatusCode, Uri};
use http_body_util::BodyExt;
use pin_project_lite::pin_project;
use tokio::task::futures::TaskLocalFuture;
use tower::{Layer, Service};
use tracing::{Instrument, Level, Span};

use crate::config::ErrorConfig;
use crate::context::{self, CONTEXT, Context};
use crate::error::{self, ApiError, produced};

/// The header a request id travels in, unless configured otherwise.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The longest incoming request id that is accepted.
pub const MAX_REQUEST_ID_LEN: usize = 128;

/// The largest foreign error body read into DebugInfo.
const MAX_FOREIGN_BODY: u64 = 4096;

/// A request's id: well-formed, and ready to be sent as a header.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RequestId(HeaderValue);

impl RequestId {
    /// The id, if `value` is well-formed: 1 to [`MAX_REQUEST_ID_LEN`]
    /// characters of `A-Z a-z 0-9 . _ : -`.
    ///
    /// ```
    /// use canon_axum::RequestId;
    ///
    /// assert_eq!(RequestId::parse("req-42:a.b_c").unwrap().as_str(), "req-42:a.b_c");
    /// assert!(RequestId::parse("").is_none());
    /// assert!(RequestId::parse("has space").is_none());
    /// assert!(RequestId::parse(&"x".repeat(129)).is_none());
    /// ```
    pub fn parse(value: &str) -> Option<RequestId> {
        if !is_well_formed(value.as_bytes()) {
            return None;
        }
        HeaderValue::from_str(value).ok().map(RequestId)
    }

    /// The id in a header value, if it is well-formed.
    pub fn from_header_value(value: &HeaderValue) -> Option<RequestId> {
        is_well_formed(value.as_bytes()).then(|| RequestId(value.clone()))
    }

    /// A new, unique id, shaped as a UUID (version 8, RFC 9562's custom
    /// layout): 36 characters, `xxxxxxxx-xxxx-8xxx-yxxx-xxxxxxxxxxxx` in
    /// lower-case hex, `y` one of `8 9 a b`.
    ///
    /// The first 60 bits that are not the version are random, drawn once
    /// per thread from the operating system's generator; the last 62 bits
    /// (after the variant) count the thread's ids from a random start. So
    /// ids never repeat within a thread, and two threads or processes share
    /// a prefix only by a 1 in 2^60 chance; generating one costs an
    /// increment and 16 hex digits, not a random draw.
    ///
    /// ```
    /// use canon_axum::RequestId;
    ///
    /// let (a, b) = (RequestId::generate(), RequestId::generate());
    /// assert_ne!(a, b);
    /// assert_eq!(a.as_str().len(), 36);
    /// assert_eq!(&a.as_str()[14..15], "8");
    /// assert_eq!(a.as_str()[..19], b.as_str()[..19], "one prefix per thread");
    /// assert!(RequestId::parse(a.as_str()).is_some());
    /// ```
    pub fn generate() -> RequestId {
        let text = GENERATOR.with(|generator| {
            let mut text = generator.prefix;
            let count = generator.count.get();
            generator.count.set(count.wrapping_add(1) & COUNTER_MASK);
            // `yxxx-xxxxxxxxxxxx`: the variant's two bits, then 62 bits of
            // the counter.
            let tail = hex_digits(count | (0b10 << 62));
            text[PREFIX_LEN..PREFIX_LEN + 4].copy_from_slice(&tail[..4]);
            text[PREFIX_LEN + 5..].copy_from_slice(&tail[4..]);
            text
        });
        RequestId(HeaderValue::from_bytes(&text).expect("hex digits and hyphens are a valid header value"))
    }

    /// The current request's id, anywhere inside a [`RequestIdLayer`]:
    /// in a handler, an extractor, or an inner layer.
    pub fn current() -> Option<RequestId> {
        context::with_current(|context| context.map(|context| context.request_id.clone()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        // Well-formed ids are ASCII, so this never falls back; the UTF-8
        // check is the standard library's word-at-a-time one, cheaper than
        // the header value's byte-by-byte `to_str`.
        std::str::from_utf8(self.0.as_bytes()).unwrap_or_default()
    }

    /// The id as a header value.
    pub fn header_value(&self) -> &HeaderValue {
        &self.0
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn is_well_formed(bytes: &[u8]) -> bool {
    (1..=MAX_REQUEST_ID_LEN).contains(&bytes.len())
        && bytes.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// The length of a generated id.
const GENERATED_LEN: usize = 36;

/// The length of a generated id's per-thread prefix, `xxxxxxxx-xxxx-8xxx-`.
const PREFIX_LEN: usize = 19;

/// The counter's 62 bits.
const COUNTER_MASK: u64 = (1 << 62) - 1;

const HEX: &[u8; 16] = b"0123456789abcdef";

/// A thread's id generator: its prefix, written out once, and its counter.
struct Generator {
    prefix: [u8; GENERATED_LEN],
    count: Cell<u64>,
}

/// The 16 lower-case hex digits of `value`, most significant first.
fn hex_digits(value: u64) -> [u8; 16] {
    std::array::from_fn(|digit| HEX[((value >> (60 - 4 * digit)) & 0xF) as usize])
}

thread_local! {
    static GENERATOR: Generator = Generator::seeded();
}

impl Generator {
    fn seeded() -> Generator {
        // A UUID v4 has 122 random bits. Its high half has the version
        // nibble where ours goes, which leaves 60 random bits for the
        // prefix; its low half has the variant's two bits where ours goes,
        // which leaves 62 for the counter's start.
        let random = uuid::Uuid::new_v4().as_u128();
        let high = (((random >> 64) as u64) & !(0xF << 12)) | (0x8 << 12);
        let digits = hex_digits(high);
        let mut prefix = [b'-'; GENERATED_LEN];
        prefix[..8].copy_from_slice(&digits[..8]);
        prefix[9..13].copy_from_slice(&digits[8..12]);
        prefix[14..18].copy_from_slice(&digits[12..]);
        Generator { prefix, count: Cell::new((random as u64) & COUNTER_MASK) }
    }
}

/// Extracts the request's id. Rejects with `INTERNAL` (and logs why) when
/// no [`RequestIdLayer`] is installed; use `Option<RequestId>` to make it
/// optional.
impl<S: Send + Sync> FromRequestParts<S> for RequestId {
    type Rejection = ApiError;

    async fn from_request_parts(_parts: &mut Parts, _state: &S) -> Result<RequestId, ApiError> {
        RequestId::current().ok_or_else(|| {
            tracing::error!("the RequestId extractor needs a RequestIdLayer around the router");
            produced::internal(None)
        })
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for RequestId {
    type Rejection = Infallible;

    async fn from_request_parts(_parts: &mut Parts, _state: &S) -> Result<Option<RequestId>, Infallible> {
        Ok(RequestId::current())
    }
}

/// What every request of a [`RequestIdLayer`] shares.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) config: ErrorConfig,
    header: HeaderName,
    accept_incoming: bool,
    span_level: Level,
}

/// A [`Layer`] that gives every request an id and makes the server's
/// [`ErrorConfig`] current for it. See the [module docs](self).
///
/// A `RequestIdLayer` inside another one passes requests through: the
/// outer one's id and configuration apply.
#[derive(Debug, Clone)]
pub struct RequestIdLayer {
    settings: Arc<Settings>,
}

impl RequestIdLayer {
    /// A layer for a server that writes its errors as `config` says, with
    /// ids in [`REQUEST_ID_HEADER`], accepting well-formed incoming ones.
    pub fn new(config: ErrorConfig) -> RequestIdLayer {
        RequestIdLayer {
            settings: Arc::new(Settings {
                config,
                header: REQUEST_ID_HEADER,
                accept_incoming: true,
                span_level: Level::INFO,
            }),
        }
    }

    /// Reads and echoes the id in another header.
    pub fn header(mut self, header: HeaderName) -> RequestIdLayer {
        Arc::make_mut(&mut self.settings).header = header;
        self
    }

    /// Whether a well-formed incoming id is used (the default) or every
    /// request gets a fresh one.
    pub fn accept_incoming(mut self, accept: bool) -> RequestIdLayer {
        Arc::make_mut(&mut self.settings).accept_incoming = accept;
        self
    }

    /// The level of each request's span (`request`, with the fields
    /// `request_id`, `method` and `path`): INFO unless set. A server whose
    /// log at INFO says nothing per request can open them at DEBUG, so that
    /// they cost nothing until that level is logged: building a span for a
    /// subscriber that records it (tracing-subscriber's `fmt`, say) costs
    /// several thousand instructions per request.
    ///
    /// ```
    /// use canon::Encoding;
    /// use canon_axum::{ErrorConfig, RequestIdLayer};
    /// use tracing::Level;
    ///
    /// let layer = RequestIdLayer::new(ErrorConfig::new(Encoding::Aip193, "compute.example.dev"))
    ///     .span_level(Level::DEBUG);
    /// # let _ = layer;
    /// ```
    pub fn span_level(mut self, level: Level) -> RequestIdLayer {
        Arc::make_mut(&mut self.settings).span_level = level;
        self
    }

    /// The configuration errors are written with.
    pub fn config(&self) -> &ErrorConfig {
        &self.settings.config
    }

    /// What every request of the layer shares.
    pub(crate) fn settings(&self) -> &Arc<Settings> {
        &self.settings
    }
}

impl<S> Layer<S> for RequestIdLayer {
    type Service = RequestIdService<S>;

    fn layer(&self, inner: S) -> RequestIdService<S> {
        RequestIdService { inner, settings: Arc::clone(&self.settings) }
    }
}

/// The service of [`RequestIdLayer`].
#[derive(Debug, Clone)]
pub struct RequestIdService<S> {
    inner: S,
    settings: Arc<Settings>,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RequestIdService<S>
where
    S: Service<Request<ReqBody>, Response = http::Response<ResBody>>,
    ResBody: HttpBody<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = RequestIdFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> RequestIdFuture<S::Future> {
        let inner = &mut self.inner;
        start(&self.settings, request, |request| inner.call(request))
    }
}

/// Starts a request under a request id: decides the id, opens the span, and
/// makes the context current for `call`, which starts the inner work, and
/// for every poll of the future it returns.
///
/// Inside another request-id layer (in its `call` when stacked directly, or
/// in its future when on a route of its router), that layer does all this
/// and `call` runs alone.
pub(crate) fn start<B, F: Future>(
    settings: &Arc<Settings>,
    request: Request<B>,
    call: impl FnOnce(Request<B>) -> F,
) -> RequestIdFuture<F> {
    if CALLING.get() || context::is_set() {
        return RequestIdFuture { state: State::Nested { future: call(request) } };
    }
    let incoming = request.headers().get(&settings.header).filter(|_| settings.accept_incoming);
    let request_id = incoming.and_then(RequestId::from_header_value).unwrap_or_else(RequestId::generate);
    let span = if span_is_wanted(settings.span_level) {
        macro_rules! request_span {
            ($level:expr) => {
                tracing::span!(
                    $level,
                    "request",
                    request_id = request_id.as_str(),
                    method = %request.method(),
                    path = request.uri().path(),
                )
            };
        }
        // A span's level is fixed where it is written: one callsite each.
        let span = match settings.span_level {
            Level::TRACE => request_span!(Level::TRACE),
            Level::DEBUG => request_span!(Level::DEBUG),
            Level::INFO => request_span!(Level::INFO),
            Level::WARN => request_span!(Level::WARN),
            _ => request_span!(Level::ERROR),
        };
        // A disabled span is one that only `log` may see, and it has seen
        // the fields already: entering, leaving and dropping it would each
        // be one more call into `log`.
        (!span.is_disabled()).then_some(span)
    } else {
        None
    };
    let method = request.method().clone();
    let uri = request.uri().clone();
    let context = Context { settings: Arc::clone(settings), request_id, rendered: Cell::new(false) };
    // The context is current when the future is polled, which is where
    // handlers and extractors run and where this crate's layers write
    // their errors; `call` itself only runs inside the span.
    let future = {
        let _entered = span.as_ref().map(Span::enter);
        let _calling = Calling::start();
        call(request)
    };
    RequestIdFuture { state: State::Running { future: CONTEXT.scope(context, future), span, method, uri } }
}

/// Whether anything would see a request span at `level`: a tracing
/// subscriber that wants the level or, while no subscriber has ever been
/// set, a `log` logger that does (tracing's `log` feature, on in a default
/// axum build, writes spans to `log` then). Asked first, because even a span
/// that nobody sees formats its fields for `log`.
fn span_is_wanted(level: Level) -> bool {
    let log_level = match level {
        Level::TRACE => log::LevelFilter::Trace,
        Level::DEBUG => log::LevelFilter::Debug,
        Level::INFO => log::LevelFilter::Info,
        Level::WARN => log::LevelFilter::Warn,
        _ => log::LevelFilter::Error,
    };
    tracing::level_enabled!(level) || (!tracing::dispatcher::has_been_set() && log::max_level() >= log_level)
}

thread_local! {
    /// Whether a [`RequestIdService`] is calling its inner service on this
    /// thread.
    static CALLING: Cell<bool> = const { Cell::new(false) };
}

/// Sets [`CALLING`] until dropped, panic or not.
struct Calling;

impl Calling {
    fn start() -> Calling {
        CALLING.set(true);
        Calling
    }
}

impl Drop for Calling {
    fn drop(&mut self) {
        CALLING.set(false);
    }
}

pin_project! {
    /// The response future of [`RequestIdService`].
    pub struct RequestIdFuture<F> {
        #[pin]
        state: State<F>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F> {
        // Inside another RequestIdLayer, which does the work.
        Nested { #[pin] future: F },
        // The inner service at work, with the context current.
        Running { #[pin] future: TaskLocalFuture<Context, F>, span: Option<Span>, method: Method, uri: Uri },
        // Reading a foreign error's body for DebugInfo.
        Reading { future: Pin<Box<dyn Future<Output = Response> + Send>> },
    }
}

impl<F, ResBody, E> Future for RequestIdFuture<F>
where
    F: Future<Output = Result<http::Response<ResBody>, E>>,
    ResBody: HttpBody<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    type Output = Result<Response, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let mut reading = match self.as_mut().project().state.project() {
            StateProj::Nested { future } => {
                return future.poll(cx).map(|result| result.map(|response| response.map(Body::new)));
            }
            StateProj::Reading { future } => return future.as_mut().poll(cx).map(Ok),
            StateProj::Running { mut future, span, method, uri } => {
                let response = {
                    let _entered = span.as_ref().map(Span::enter);
                    std::task::ready!(future.as_mut().poll(cx))?
                };
                let context = future.take_value().expect("the context is taken once");
                if !is_foreign(&response, &context) {
                    let mut response = response.map(Body::new);
                    response.headers_mut().insert(context.settings.header.clone(), context.request_id.0);
                    return Poll::Ready(Ok(response));
                }
                match finish_foreign(response, context, method, uri, span.as_ref()) {
                    Ok(response) => return Poll::Ready(Ok(response)),
                    Err(reading) => reading,
                }
            }
        };
        let poll = reading.as_mut().poll(cx);
        self.project().state.set(State::Reading { future: reading });
        poll.map(Ok)
    }
}

/// Whether `response` is an error that did not come from this crate, to be
/// rewritten in the configured dialect.
fn is_foreign<B>(response: &http::Response<B>, context: &Context) -> bool {
    response.status().as_u16() >= 400 && !context.rendered.get() && context.config().wraps_foreign_errors()
}

/// Rewrites a foreign error response; `Err` when its body is to be read
/// first (for DebugInfo), with the reading's future, in the request's span.
///
/// Never inlined: the success path and this crate's own errors never come
/// here, and inlined, its futures and responses made the frame of every
/// request's poll several times larger.
#[cold]
#[inline(never)]
fn finish_foreign<B>(
    response: http::Response<B>,
    context: Context,
    method: &Method,
    uri: &Uri,
    span: Option<&Span>,
) -> Result<Response, Pin<Box<dyn Future<Output = Response> + Send>>>
where
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let (parts, body) = response.into_parts();
    if parts.status == StatusCode::METHOD_NOT_ALLOWED {
        let error = produced::method_not_allowed(method, uri.path(), context.config());
        return Ok(wrap_foreign(parts, error, context));
    }
    if !context.config().debug_info() {
        let error = produced::foreign(parts.status, None);
        return Ok(wrap_foreign(parts, error, context));
    }
    let reading = async move {
        let text = read_text(body).await;
        let error = produced::foreign(parts.status, text);
        wrap_foreign(parts, error, context)
    };
    Err(Box::pin(reading.instrument(span.cloned().unwrap_or_else(Span::none))))
}

/// The error for a foreign response, with the original's headers except
/// those that describe the old body (so `Allow`, `WWW-Authenticate` and
/// `Retry-After` are kept), and the request id.
fn wrap_foreign(parts: http::response::Parts, error: ApiError, context: Context) -> Response {
    let mut rendered = error::render(error, Some(&context));
    let mut headers = parts.headers;
    for name in [CONTENT_TYPE, CONTENT_LENGTH, CONTENT_ENCODING, TRANSFER_ENCODING] {
        headers.remove(name);
    }
    for (name, value) in rendered.headers() {
        headers.insert(name.clone(), value.clone());
    }
    headers.insert(context.settings.header.clone(), context.request_id.0);
    *rendered.headers_mut() = headers;
    rendered
}

/// A short body as text, for DebugInfo.
async fn read_text<B>(body: B) -> Option<String>
where
    B: HttpBody<Data = Bytes>,
{
    if body.size_hint().upper().is_none_or(|upper| upper > MAX_FOREIGN_BODY) {
        return None;
    }
    let bytes = body.collect().await.ok()?.to_bytes();
    let text = String::from_utf8_lossy(&bytes).trim().to_owned();
    (!text.is_empty()).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incoming_ids_are_accepted_only_when_well_formed() {
        let long = "a".repeat(MAX_REQUEST_ID_LEN);
        let too_long = "a".repeat(MAX_REQUEST_ID_LEN + 1);
        let table: &[(&str, bool)] = &[
            ("0b6c2f0e-5d4e-4a55-9a55-2c1c1f1e9d10", true),
            ("req_1.2:3-4", true),
            (&long, true),
            ("", false),
            (&too_long, false),
            ("with space", false),
            ("semi;colon", false),
            ("slash/es", false),
            ("ünïcode", false),
        ];
        for &(input, accepted) in table {
            assert_eq!(RequestId::parse(input).is_some(), accepted, "{input:?}");
            let header = HeaderValue::from_bytes(input.as_bytes()).ok();
            assert_eq!(header.and_then(|h| RequestId::from_header_value(&h)).is_some(), accepted, "{input:?}");
        }
    }

    #[test]
    fn generated_ids_are_distinct_well_formed_uuids_v8() {
        let ids: std::collections::HashSet<String> =
            (0..1000).map(|_| RequestId::generate().as_str().to_owned()).collect();
        assert_eq!(ids.len(), 1000);
        for id in &ids {
            let uuid = uuid::Uuid::parse_str(id).expect("a UUID");
            assert_eq!(uuid.get_version_num(), 8, "{id}");
            assert_eq!(uuid.get_variant(), uuid::Variant::RFC4122, "{id}");
            assert_eq!(uuid.hyphenated().to_string(), *id, "lower-case hyphenated");
            assert!(RequestId::parse(id).is_some());
        }
    }

    #[test]
    fn generated_ids_count_up_from_a_per_thread_prefix() {
        let on_this_thread = [RequestId::generate(), RequestId::generate()];
        let on_another = std::thread::spawn(RequestId::generate).join().expect("thread");
        let [a, b] = on_this_thread.each_ref().map(|id| uuid::Uuid::parse_str(id.as_str()).expect("a UUID").as_u128());
        assert_eq!(a >> 64, b >> 64, "one prefix per thread");
        assert_eq!((b & COUNTER_MASK as u128).wrapping_sub(a & COUNTER_MASK as u128) & COUNTER_MASK as u128, 1);
        assert_ne!(on_another.as_str()[..PREFIX_LEN], on_this_thread[0].as_str()[..PREFIX_LEN]);
    }

    #[test]
    fn the_counter_wraps_within_its_62_bits() {
        GENERATOR.with(|generator| generator.count.set(COUNTER_MASK));
        let last = RequestId::generate();
        let first = RequestId::generate();
        assert!(last.as_str().ends_with("bfff-ffffffffffff"), "{last}");
        assert!(first.as_str().ends_with("8000-000000000000"), "{first}");
    }
}
