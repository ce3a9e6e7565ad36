//! canon-reqwest: a reqwest client that turns any error body into a
//! [`canon::Status`] and retries by the server's hints.
//!
//! Rust users of cloud APIs have had two choices: `reqwest-retry`, which
//! ignores `Retry-After` and RetryInfo and retries any method, or reading
//! `response.text()` and matching on strings. This crate puts canon's model
//! and canon-retry's engine behind a client that looks like reqwest's:
//!
//! - **typed errors**: on any non-2xx the body is decoded, in whatever
//!   dialect it came (AIP-193, Google wrapped or legacy, grpc-gateway,
//!   Gcore, problem+json, HTML from a proxy), into an [`ErrorResponse`]:
//!   the Status, the HTTP status, the headers, the request id, the
//!   [`canon::Advice`] and the raw body, cut at a configurable size;
//! - **the server's hint first**: RetryInfo and `Retry-After` (seconds or an
//!   HTTP-date) set the first wait, then the policy's backoff resumes
//!   ([`Policy`] presets: [`Policy::cudo()`], [`Policy::gcore()`],
//!   [`Policy::aip194_strict()`], [`Policy::default()`]);
//! - **idempotency**: GET, PUT, DELETE and the like are retried; a POST or
//!   PATCH only with an idempotency key, sent in a header (configurable;
//!   `Idempotency-Key` by default) that is the same on every attempt;
//! - **deadlines**: a per-attempt timeout and an overall deadline; a wait
//!   that would end past the deadline is not slept: the request fails at
//!   once, with the server's hint in the error;
//! - **budgets**: retries are a share of recent traffic, per host, so that
//!   an outage does not multiply the load on a server that is down
//!   ([`canon_retry::budget`]);
//! - **elsewhere**: on a capacity error, the next attempt goes to another
//!   region or flavor ([`Client::send_with`]);
//! - **transport failures** (connect, reset, timeout, a body cut short) are
//!   transient, and the idempotency rule applies to them too
//!   ([`transport`]);
//! - **tracing**: a span per attempt (`canon_reqwest`, `attempt`) with the
//!   attempt number, method, URL, placement, HTTP status and the server's
//!   request id once it is known; and an observer ([`AttemptReport`]) for
//!   a program that shows attempts to a person.
//!
//! ```no_run
//! use canon_reqwest::{Client, ErrorKind, Policy};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::builder().policy(Policy::cudo()).build()?;
//!
//! match client.get("https://rest.compute.cudo.org/v1/projects/p-1/vms/vm-1").bearer_auth("key").send().await {
//!     Ok(response) => println!("{}", response.text().await?),
//!     Err(error) if error.kind() == ErrorKind::Status => {
//!         let response = error.response().unwrap();
//!         eprintln!("{}: {}", response.status().code(), response.advice().action);
//!         eprintln!("quote request id {:?} to support", error.request_id());
//!     }
//!     Err(error) => eprintln!("{error}"),
//! }
//!
//! // A POST is retried only with an idempotency key.
//! let created = client
//!     .post("https://rest.compute.cudo.org/v1/projects/p-1/vm")
//!     .json(&serde_json::json!({"vmId": "vm-2", "machineType": "epyc-milan-rtx-a4000"}))
//!     .idempotency_key("vm-2")
//!     .send_buffered()
//!     .await?;
//! println!("{}", created.status());
//! # Ok(()) }
//! ```
//!
//! # A client wrapper, not a reqwest-middleware middleware
//!
//! `reqwest-middleware`'s `Middleware::handle` gets a `Request`, the
//! `Extensions` and `Next`. Three things this crate must do do not fit it:
//!
//! - **elsewhere**: moving to another region or flavor changes the URL path
//!   or the body, which only the caller knows how to do; a middleware can
//!   only resend the request it was given. [`Client::send_with`] asks the
//!   caller for each attempt's request, with the attempt's placement and
//!   key.
//! - **typed errors**: a middleware's error is `reqwest_middleware::Error`,
//!   whose only open variant is an `anyhow::Error`: the [`Error`] with its
//!   Status, advice and history would reach the caller only by a downcast,
//!   and a non-2xx that the middleware turned into an error would no longer
//!   look like one to the other middlewares of the stack.
//! - **retries** need the request again: a middleware can clone a request
//!   only when its body is bytes (so can this client: a stream body gets one
//!   attempt), but it cannot ask for the request to be rebuilt.
//!
//! A thin wrapper does all three with reqwest's own types in and out: the
//! [`RequestBuilder`] is reqwest's with a key added, and the success is a
//! [`reqwest::Response`]. A client that needs another middleware (auth,
//! caching) can build the reqwest client it wraps with
//! [`ClientBuilder::http_client`].
//!
//! # Streaming and buffered successes
//!
//! [`RequestBuilder::send`] returns once a 2xx head has arrived, and the
//! body is the caller's to read: the attempt's timeout has ended, and a
//! failure while reading it is reqwest's error and is not retried
//! ([`RequestBuilder::timeout`] bounds it).
//! [`RequestBuilder::send_buffered`] reads the whole body inside the
//! attempt, under its timeout, so that a body cut short is retried like
//! any transport failure.
//!
//! # Cost
//!
//! On the success path the client adds a time limit (the per-attempt
//! timeout: a slot that the task keeps from one request to the next, which
//! one watchdog task per client and runtime watches, rather than a tokio
//! timer per attempt), a span (none when no subscriber takes it), a copy
//! of the request (kept for a retry, its URL as text in a recycled buffer)
//! and the budget's deposit, and no allocation of its own; the retry
//! engine's session is opened only when an attempt fails (or an observer
//! wants a report), as of the time the request started. The watchdog is a
//! task spawned on the runtime with the client's first attempt that waits
//! there; it wakes only when a time limit passes, never while the client
//! is idle. `benches/overhead.rs` measures the cost against plain reqwest;
//! see BENCHMARKS.md.

mod budget_cache;
pub mod client;
mod engine;
pub mod error;
pub mod report;
mod timer;
pub mod transport;
mod url_text;

pub use canon_retry;
pub use canon_retry::{
    AttemptContext, AttemptRecord, AttemptStatus, BudgetConfig, BudgetRegistry, Call, GiveUp, GiveUpReason, Placement,
    Policy, TransportKind, WaitReason,
};
pub use client::{
    BufferedResponse, Client, ClientBuilder, DEFAULT_IDEMPOTENCY_HEADER, DEFAULT_MAX_ERROR_BODY, RequestBuilder,
};
pub use error::{Error, ErrorKind, ErrorResponse};
pub use report::AttemptReport;
