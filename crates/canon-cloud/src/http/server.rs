//! [`serve`]: the emulator's own accept loop, which can break connections
//! on purpose.
//!
//! `axum::serve` answers every request it is given; a fault rule may ask
//! for worse. Each connection here is served by hyper's HTTP/1.1 server
//! with keep-alive, and keeps a second handle on its socket. When the
//! fault middleware leaves a transport fault in the request's slot, the
//! connection's service never answers; the connection task drops hyper's
//! side and, on the spare handle:
//!
//! | fault | the client sees | the request |
//! |-------|-----------------|-------------|
//! | `reset` | a TCP RST (`SO_LINGER` 0, then close) and no response | never reaches the API |
//! | `emptyReply` | the connection closed (FIN) with no response | never reaches the API |
//! | `truncatedBody` | the status line and headers with the full `Content-Length`, half the body, then FIN | carried out: the change is made, its answer is lost |
//!
//! A request body that its handler leaves unread (an authentication
//! error, an unknown route) is drained, up to [`DRAIN_LIMIT`] bytes and
//! [`DRAIN_TIMEOUT`], before the response goes out, so that the
//! connection stays usable; a body that cannot be drained gets a
//! response with `connection: close`. hyper on its own would close the
//! connection silently, and a client that pooled it would see its next
//! request fail.
//!
//! A connection's task polls hyper through a `Repoll` (module `repoll`),
//! which answers a wake-up raised during the task's own poll (hyper
//! handing a request body to its handler) by polling again at once. Left
//! to the scheduler, that wake-up would unpark another worker for every
//! request with a body: on an idle server, a context switch on another CPU
//! per `POST`.
//!
//! The peer's address is in every request as axum's `ConnectInfo`. Each
//! connection has 30 seconds to send a request's headers. When the
//! shutdown future completes, the listener closes, idle connections end,
//! and requests in flight finish (for up to [`SHUTDOWN_GRACE`]).
//!
//! ```no_run
//! use std::sync::Arc;
//! use canon_cloud::http::{AppOptions, AppState, app, server::serve};
//! use canon_cloud::{Cloud, CloudConfig, Store};
//! use canon_cloud::clock::SystemClock;
//!
//! # #[tokio::main] async fn main() -> std::io::Result<()> {
//! let cloud = Cloud::new(Store::in_memory().unwrap(), Arc::new(SystemClock), CloudConfig::default()).unwrap();
//! let router = app(AppState { cloud: Arc::new(cloud) }, &AppOptions::default());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! serve(listener, router, async { tokio::signal::ctrl_c().await.ok(); }).await
//! # }
//! ```

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::response::Response;
use bytes::Bytes;
use http::Request;
use http::header::{CONTENT_LENGTH, DATE, TRANSFER_ENCODING};
use http_body_util::BodyExt;
use hyper::body::{Body as _, Incoming};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use tower::ServiceExt;

use super::middleware::FaultSlot;
use super::repoll::{Latch, Repoll};
use crate::fault::TransportFault;

/// How long requests in flight may take to finish after shutdown begins.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// How long a connection may take to send a request's headers.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves `app` on `listener` until `shutdown` completes, then drains the
/// connections. See the [module docs](self).
pub async fn serve<F>(listener: TcpListener, app: Router, shutdown: F) -> io::Result<()>
where
    F: Future<Output = ()> + Send,
{
    let (stop, stopped) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    connections.spawn(connection(stream, peer, app.clone(), stopped.clone()));
                }
                Err(error) => {
                    // Out of file descriptors, or a connection reset while
                    // queued: wait a little and go on accepting.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
    drop(listener);
    let _ = stop.send(true);
    let drained =
        tokio::time::timeout(SHUTDOWN_GRACE, async { while connections.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!(open = connections.len(), "connections still open after the grace period; closing them");
        connections.shutdown().await;
    }
    Ok(())
}

/// What a connection must do instead of answering.
#[derive(Debug)]
enum Breakage {
    Reset,
    Close,
    Write(Bytes),
}

/// Where a connection's service tells its task to break the connection.
#[derive(Debug, Default)]
struct Breaker {
    action: Mutex<Option<Breakage>>,
    notify: Notify,
}

impl Breaker {
    fn trigger(&self, action: Breakage) {
        *self.action.lock().unwrap_or_else(PoisonError::into_inner) = Some(action);
        self.notify.notify_one();
    }

    fn take(&self) -> Option<Breakage> {
        self.action.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}

/// The service hyper calls for each request of one connection.
#[derive(Clone)]
struct ConnectionService {
    app: Router,
    peer: SocketAddr,
    breaker: Arc<Breaker>,
}

impl hyper::service::Service<Request<Incoming>> for ConnectionService {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        // A body that the handler leaves unread comes back here, to be
        // drained before the response goes out (see `finish_request_body`).
        let leftover = (!request.body().is_end_stream()).then(Leftover::default);
        let mut request = match &leftover {
            None => request.map(Body::new),
            Some(leftover) => request.map(|incoming| Body::new(WatchedBody::new(incoming, leftover.clone()))),
        };
        let slot = FaultSlot::enactable();
        request.extensions_mut().insert(slot.clone());
        request.extensions_mut().insert(ConnectInfo(self.peer));
        let app = self.app.clone();
        let breaker = Arc::clone(&self.breaker);
        Box::pin(async move {
            let mut response = match app.oneshot(request).await {
                Ok(response) => response,
                Err(never) => match never {},
            };
            if let Some(leftover) = leftover {
                finish_request_body(&leftover, &mut response).await;
            }
            let action = match slot.transport() {
                None => return Ok(response),
                Some(TransportFault::Reset) => Breakage::Reset,
                Some(TransportFault::EmptyReply) => Breakage::Close,
                Some(TransportFault::TruncatedBody) => Breakage::Write(truncated(response).await),
            };
            breaker.trigger(action);
            // The connection task drops this future with the connection.
            std::future::pending().await
        })
    }
}

/// How much of a request body that its handler did not read is drained,
/// so that the connection can serve the next request.
pub const DRAIN_LIMIT: usize = 1 << 20;

/// How long draining an unread request body may wait for the client.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);

/// Where a request's body goes when its handler drops it unread.
type Leftover = Arc<Mutex<Option<Incoming>>>;

/// A request body that hands itself back through a [`Leftover`] when it
/// is dropped before its end.
///
/// hyper keeps a connection alive after a response only if the request's
/// body was read to its end; otherwise it makes one attempt to read the
/// rest and, if the bytes have not arrived yet, closes the connection
/// after the response, without `connection: close`. Clients that send a
/// body in a second packet after the headers (Python's `http.client`,
/// and so urllib3 and the `cudo-compute` SDK) then reuse a connection
/// that is about to close, and their next request fails with "Remote end
/// closed connection without response". A handler that answers before it
/// reads the body (an authentication error, a route without a body
/// extractor) is enough to cause it.
struct WatchedBody {
    inner: Option<Incoming>,
    leftover: Leftover,
}

impl WatchedBody {
    fn new(inner: Incoming, leftover: Leftover) -> Self {
        WatchedBody { inner: Some(inner), leftover }
    }
}

impl hyper::body::Body for WatchedBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, hyper::Error>>> {
        let Some(inner) = self.inner.as_mut() else { return std::task::Poll::Ready(None) };
        let polled = Pin::new(inner).poll_frame(cx);
        if matches!(polled, std::task::Poll::Ready(None | Some(Err(_)))) {
            self.inner = None;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(hyper::body::Body::is_end_stream)
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.as_ref().map(hyper::body::Body::size_hint).unwrap_or_else(|| hyper::body::SizeHint::with_exact(0))
    }
}

impl Drop for WatchedBody {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take()
            && !inner.is_end_stream()
        {
            *self.leftover.lock().unwrap_or_else(PoisonError::into_inner) = Some(inner);
        }
    }
}

/// Reads what the handler left of the request body, up to [`DRAIN_LIMIT`]
/// bytes and for up to [`DRAIN_TIMEOUT`], so that hyper keeps the
/// connection alive. When the rest is larger, slower, or broken, the
/// response says `connection: close`, so that the client opens a new
/// connection for its next request instead of reusing one that hyper is
/// about to close.
async fn finish_request_body(leftover: &Leftover, response: &mut Response) {
    let Some(rest) = leftover.lock().unwrap_or_else(PoisonError::into_inner).take() else { return };
    let limited = http_body_util::Limited::new(rest, DRAIN_LIMIT);
    let drained = tokio::time::timeout(DRAIN_TIMEOUT, limited.collect()).await;
    if !matches!(drained, Ok(Ok(_))) {
        response.headers_mut().insert(http::header::CONNECTION, http::HeaderValue::from_static("close"));
    }
}

/// Serves one connection until it ends, a transport fault breaks it, or
/// shutdown drains it.
async fn connection(stream: TcpStream, peer: SocketAddr, app: Router, mut stopped: watch::Receiver<bool>) {
    let _ = stream.set_nodelay(true);
    let (stream, spare) = match with_spare_handle(stream) {
        Ok(pair) => pair,
        Err(error) => {
            tracing::warn!(%error, %peer, "cannot duplicate the socket; dropping the connection");
            return;
        }
    };
    let breaker = Arc::new(Breaker::default());
    let service = ConnectionService { app, peer, breaker: Arc::clone(&breaker) };
    let mut builder = http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(HEADER_READ_TIMEOUT).keep_alive(true);
    let mut served = Box::pin(builder.serve_connection(TokioIo::new(stream), service));
    let mut draining = *stopped.borrow();
    if draining {
        served.as_mut().graceful_shutdown();
    }
    // A wake-up of the connection during its own poll (a request body
    // handed to its handler) is answered in place, not by the scheduler.
    let latch = Latch::new();
    loop {
        tokio::select! {
            result = Repoll::new(&latch, served.as_mut()) => {
                if let Err(error) = result {
                    tracing::debug!(%error, %peer, "connection ended with an error");
                }
                return;
            }
            () = breaker.notify.notified() => break,
            _ = stopped.changed(), if !draining => {
                draining = true;
                served.as_mut().graceful_shutdown();
            }
        }
    }
    drop(served);
    break_connection(breaker.take(), spare).await;
}

/// The stream for hyper, and a second handle on the same socket for
/// breaking it after hyper is gone.
fn with_spare_handle(stream: TcpStream) -> io::Result<(TcpStream, std::net::TcpStream)> {
    let std_stream = stream.into_std()?;
    let spare = std_stream.try_clone()?;
    Ok((TcpStream::from_std(std_stream)?, spare))
}

async fn break_connection(action: Option<Breakage>, spare: std::net::TcpStream) {
    let Ok(mut stream) = TcpStream::from_std(spare) else { return };
    match action {
        Some(Breakage::Reset) => {
            // Closing with a zero linger time sends RST instead of FIN.
            let _ = stream.set_zero_linger();
        }
        Some(Breakage::Write(bytes)) => {
            let _ = stream.write_all(&bytes).await;
            let _ = stream.shutdown().await;
        }
        Some(Breakage::Close) | None => {
            let _ = stream.shutdown().await;
        }
    }
}

/// The response as HTTP/1.1 bytes that announce its whole body and carry
/// half of it.
async fn truncated(response: Response) -> Bytes {
    let (parts, body) = response.into_parts();
    let body = body.collect().await.map(|collected| collected.to_bytes()).unwrap_or_default();
    let declared = body.len().max(1);
    let sent = body.len() / 2;
    let status = parts.status;
    let mut out = Vec::with_capacity(256 + sent);
    out.extend_from_slice(
        format!("HTTP/1.1 {} {}\r\n", status.as_str(), status.canonical_reason().unwrap_or("")).as_bytes(),
    );
    for (name, value) in &parts.headers {
        if name == CONTENT_LENGTH || name == TRANSFER_ENCODING {
            continue;
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if !parts.headers.contains_key(DATE) {
        out.extend_from_slice(format!("date: {}\r\n", httpdate::fmt_http_date(SystemTime::now())).as_bytes());
    }
    out.extend_from_slice(format!("content-length: {declared}\r\n\r\n").as_bytes());
    out.extend_from_slice(&body[..sent]);
    Bytes::from(out)
}
