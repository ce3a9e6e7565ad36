//! The request's context: its [`ErrorConfig`] and [`RequestId`], made
//! current by [`RequestIdLayer`](crate::RequestIdLayer) for the whole of the
//! request's future, so that an error written anywhere inside (a handler's
//! return value, a rejection, a fallback, a panic, a timeout) is written in
//! the server's dialect with the request's id.

use std::cell::Cell;
use std::sync::Arc;

use crate::config::ErrorConfig;
use crate::request_id::{RequestId, Settings};

tokio::task_local! {
    pub(crate) static CONTEXT: Context;
}

/// What an error needs to know about the request it answers.
#[derive(Debug)]
pub(crate) struct Context {
    pub(crate) settings: Arc<Settings>,
    pub(crate) request_id: RequestId,
    /// Set when this crate writes an error for the request, so that the
    /// layer does not take it for a foreign one.
    pub(crate) rendered: Cell<bool>,
}

impl Context {
    pub(crate) fn config(&self) -> &ErrorConfig {
        &self.settings.config
    }
}

/// Calls `f` with the current request's context, or with `None` outside a
/// [`RequestIdLayer`](crate::RequestIdLayer).
pub(crate) fn with_current<R>(f: impl FnOnce(Option<&Context>) -> R) -> R {
    let mut f = Some(f);
    match CONTEXT.try_with(|context| f.take().map(|f| f(Some(context)))) {
        Ok(Some(result)) => result,
        _ => f.take().expect("the closure has not run when there is no context")(None),
    }
}

/// Whether a context is current.
pub(crate) fn is_set() -> bool {
    CONTEXT.try_with(|_| ()).is_ok()
}
