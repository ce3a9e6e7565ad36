//! Transport failures: reqwest's errors as canon-retry's [`TransportKind`],
//! and reading bodies so that a body cut short is seen as one.
//!
//! | what happened | kind |
//! |---------------|------|
//! | the attempt's timeout ran out (connecting, waiting, or reading the body) | `timeout` |
//! | the body ended before its declared length, or the connection died while it was read | `truncated_body` |
//! | the connection could not be made (refused, unreachable, DNS) | `connect` |
//! | the connection was reset or closed before the response arrived | `reset` |
//! | any other I/O failure | `other` |
//!
//! Every kind is transient, and every kind is subject to the idempotency
//! rule (see [`canon_retry::outcome`]).

use std::error::Error as StdError;
use std::io;

use bytes::{Bytes, BytesMut};
use canon_retry::TransportKind;

/// Where in the attempt the error happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Sending the request and waiting for the response head.
    Send,
    /// Reading the response body.
    Body,
}

/// Whether reqwest refused the request as given (bad scheme or URI, a
/// redirect loop) rather than failing to carry it.
pub(crate) fn is_request_error(error: &reqwest::Error) -> bool {
    error.is_builder() || error.is_redirect()
}

/// The transport kind of a reqwest error. See the [module docs](self).
pub(crate) fn classify(error: &reqwest::Error, phase: Phase) -> TransportKind {
    if error.is_timeout() {
        return TransportKind::Timeout;
    }
    if phase == Phase::Body {
        return TransportKind::TruncatedBody;
    }
    if error.is_connect() {
        return TransportKind::Connect;
    }
    let mut source = error.source();
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<io::Error>() {
            match io.kind() {
                io::ErrorKind::ConnectionRefused | io::ErrorKind::AddrNotAvailable => return TransportKind::Connect,
                io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::BrokenPipe
                | io::ErrorKind::UnexpectedEof => return TransportKind::Reset,
                _ => {}
            }
        }
        if let Some(hyper) = cause.downcast_ref::<hyper::Error>() {
            if hyper.is_incomplete_message() || hyper.is_closed() || hyper.is_canceled() {
                return TransportKind::Reset;
            }
        }
        source = cause.source();
    }
    TransportKind::Other
}

/// Reads a body up to `limit` bytes. Returns the bytes and whether more
/// was left (the rest is not read; the connection is then closed).
pub(crate) async fn read_limited(response: &mut reqwest::Response, limit: usize) -> reqwest::Result<(Bytes, bool)> {
    let mut body = BytesMut::new();
    while let Some(chunk) = response.chunk().await? {
        let room = limit - body.len();
        if chunk.len() > room {
            body.extend_from_slice(&chunk[..room]);
            return Ok((body.freeze(), true));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body.freeze(), false))
}
