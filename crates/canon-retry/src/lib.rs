//! canon-retry: a retry engine that does what the server says, and no more
//! than a server can bear.
//!
//! canon turns an error response into [`canon::Advice`]: whether to retry
//! (never, with backoff, after the server's delay, elsewhere, after
//! re-reading state), how long the server asked to wait, and which
//! alternatives it named. This crate acts on that advice:
//!
//! - **the server's hint first**: the first wait is the server's
//!   RetryInfo or `Retry-After`, then the backoff sequence resumes; no
//!   retry comes sooner than a hint asked ([`session`]);
//! - **budgets, not just attempt caps**: retries are a share of recent
//!   successes, per host or service, so that an outage does not multiply
//!   the load on a server that is down ([`budget`]), with optional
//!   client-side adaptive throttling ([`throttle`]);
//! - **idempotency**: only idempotent requests are retried, and a key the
//!   engine generates is the same on every attempt ([`call`]);
//! - **elsewhere**: on a capacity error, the next region or flavor, those
//!   the error names first ([`placement`]);
//! - **deadlines**: the engine never sleeps past the deadline, and gives up
//!   the moment it knows no retry fits;
//! - **history**: the final error carries every attempt's status, request
//!   id and wait ([`history`]), and each attempt is a `tracing` event.
//!
//! No Rust retry library honours RetryInfo, and `reqwest-retry` ignores
//! `Retry-After`; the peers that cap attempts and nothing else multiply
//! load during an outage (see [`budget`] for their numbers).
//!
//! # Two layers
//!
//! The **decision core** ([`Retrier`], [`Session`]) takes an outcome and
//! the time and returns a decision. It reads no clock, sleeps never and
//! needs no runtime, so a simulation can run thousands of clients on one
//! virtual clock with a fixed seed:
//!
//! ```
//! use std::time::Duration;
//! use canon::{Code, Provider, Status};
//! use canon_retry::{Call, Clock, Decision, Failure, ManualClock, Outcome, Policy, Retrier};
//! use http::Method;
//!
//! let clock = ManualClock::new();
//! let retrier = Retrier::builder(Policy::cudo()).seed(42).build();
//! let mut session = retrier.start(clock.now(), Call::new(Method::GET));
//!
//! let status = Status::builder(Code::Unavailable, "Retry later.").retry_delay(Duration::from_secs(5)).build();
//! let unavailable = Outcome::Failure(Failure::from_status(&status, Provider::Cudo, Some(503), None));
//!
//! session.begin(clock.now()).unwrap();
//! let Decision::Retry(retry) = session.on_outcome(clock.now(), &unavailable) else { panic!() };
//! assert!(retry.wait >= Duration::from_secs(5));
//!
//! clock.advance(retry.wait);
//! session.begin(clock.now()).unwrap();
//! assert_eq!(session.on_outcome(clock.now(), &Outcome::Success), Decision::Done);
//! ```
//!
//! The **async driver** ([`driver::Driver`], feature `tokio`, on by
//! default) runs an operation under the core: per-attempt timeouts,
//! sleeps, the refetch hook, and a [`RetryError`] at the end. Its clock is
//! tokio's, which tests pause.
//!
//! # Where to start
//!
//! | to | read |
//! |----|------|
//! | pick or tune a policy | [`Policy`] and its presets: [`Policy::default()`], [`Policy::cudo()`], [`Policy::gcore()`], [`Policy::aip194_strict()`] |
//! | understand a wait | [`session`]: the wait rule and the order of the checks |
//! | size a budget | [`budget`]: why budgets, the bound, the defaults |
//! | classify your client's errors | [`Classify`], [`Failure::from_decoded`], [`TransportKind`] |
//! | run requests | [`driver`] |
//! | simulate | [`Session`], [`ManualClock`], [`SplitMix64`] |

// Without the driver, the docs' links to it have nowhere to go.
#![cfg_attr(not(feature = "tokio"), allow(rustdoc::broken_intra_doc_links))]

pub mod backoff;
pub mod budget;
pub mod call;
pub mod clock;
#[cfg(feature = "tokio")]
pub mod driver;
pub mod history;
pub mod outcome;
pub mod placement;
pub mod policy;
pub mod random;
pub mod session;
pub mod throttle;

pub use backoff::{Backoff, Jitter};
pub use budget::{BudgetConfig, BudgetRegistry, RetryBudget};
pub use call::{AttemptContext, Call, IDEMPOTENCY_KEY_HEADER, is_idempotent_method};
pub use clock::{Clock, ManualClock, SystemClock};
#[cfg(feature = "tokio")]
pub use driver::{Driver, Operation};
pub use history::{AttemptRecord, AttemptStatus, RetryError};
pub use outcome::{Classify, Failure, Outcome, TransportKind};
pub use placement::{Alternative, Placement, PlacementField};
pub use policy::{Policy, PolicyBuilder, PolicyError, PolicyErrorKind};
pub use random::{ConstantRandom, RandomSource, SplitMix64};
pub use session::{Decision, GiveUp, GiveUpReason, Retrier, RetrierBuilder, Retry, Session, WaitReason};
pub use throttle::{AdaptiveThrottle, ThrottleConfig};
