//! Every attempt and every decision is a `tracing` event.

#![cfg(feature = "tokio")]

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use canon_retry::{Call, ConstantRandom, Driver, Failure, Policy, Retrier, TransportKind};
use http::Method;
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};

/// Collects each event as "message key=value …" for the fields that say
/// which attempt it is about.
#[derive(Clone, Default)]
struct Events(Arc<Mutex<Vec<String>>>);

struct Fields(String, Vec<String>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        match field.name() {
            "message" => self.0 = format!("{value:?}"),
            "attempt" | "wait_ms" | "reason" | "status" => self.1.push(format!("{}={value:?}", field.name())),
            _ => {}
        }
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Events {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let mut fields = Fields(String::new(), Vec::new());
        event.record(&mut fields);
        let line = std::iter::once(fields.0).chain(fields.1).collect::<Vec<_>>().join(" ");
        self.0.lock().unwrap().push(line);
    }
}

#[tokio::test(start_paused = true)]
async fn each_attempt_and_each_decision_is_an_event() {
    let events = Events::default();
    let _guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(events.clone()));
    let retrier = Retrier::builder(Policy::cudo()).random_source(ConstantRandom::new(0.5)).no_budget().build();
    let result = Driver::new(retrier)
        .run(Call::new(Method::GET), |attempt| async move {
            tokio::time::sleep(Duration::from_millis(10)).await;
            if attempt.number < 3 { Err(Failure::transport(TransportKind::Reset)) } else { Ok(()) }
        })
        .await;
    assert!(result.is_ok());
    let lines = events.0.lock().unwrap().clone();
    assert_eq!(
        lines,
        [
            "attempt started attempt=1",
            "attempt failed attempt=1 status=transport failure (reset)",
            "retrying attempt=2 wait_ms=250 reason=\"backoff\"",
            "attempt started attempt=2",
            "attempt failed attempt=2 status=transport failure (reset)",
            "retrying attempt=3 wait_ms=400 reason=\"backoff\"",
            "attempt started attempt=3",
            "attempt succeeded attempt=3",
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn giving_up_is_an_event_with_its_reason() {
    let events = Events::default();
    let _guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(events.clone()));
    let retrier = Retrier::builder(Policy::cudo()).seed(1).no_budget().build();
    let error = Driver::new(retrier)
        .run(Call::new(Method::POST), |_| async { Err::<(), _>(Failure::transport(TransportKind::Reset)) })
        .await
        .unwrap_err();
    assert_eq!(error.attempts(), 1);
    let lines = events.0.lock().unwrap().clone();
    assert_eq!(
        lines.last().unwrap(),
        "giving up: the request is not idempotent and carries no idempotency key reason=\"not_idempotent\""
    );
}
