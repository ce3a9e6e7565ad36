//! The response future of the layers that may answer a request themselves
//! ([`OverloadLayer`](crate::OverloadLayer),
//! [`RateLimitLayer`](crate::RateLimitLayer)).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::response::{IntoResponse, Response};
use pin_project_lite::pin_project;

use crate::error::ApiError;

pin_project! {
    /// Either the inner service's response, with a guard held until it is
    /// ready (a concurrency permit, say), or an error the layer answered
    /// with. The error is written when polled, inside the request's
    /// context.
    pub struct ResponseFuture<F, G> {
        #[pin]
        state: State<F, G>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, G> {
        Admitted { #[pin] future: F, guard: Option<G> },
        Rejected { error: Option<ApiError> },
    }
}

impl<F, G> ResponseFuture<F, G> {
    pub(crate) fn admitted(future: F, guard: G) -> ResponseFuture<F, G> {
        ResponseFuture { state: State::Admitted { future, guard: Some(guard) } }
    }

    pub(crate) fn rejected(error: ApiError) -> ResponseFuture<F, G> {
        ResponseFuture { state: State::Rejected { error: Some(error) } }
    }
}

impl<F, G, E> Future for ResponseFuture<F, G>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Admitted { future, guard } => {
                let output = std::task::ready!(future.poll(cx));
                drop(guard.take());
                Poll::Ready(output)
            }
            StateProj::Rejected { error } => {
                let error = error.take().expect("ResponseFuture polled after completion");
                Poll::Ready(Ok(error.into_response()))
            }
        }
    }
}
