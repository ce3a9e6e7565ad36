//! canon-cloud: the domain of canon's GPU-cloud emulator.
//!
//! The emulator answers like a GPU cloud (CUDO's AIP-193 dialect, Gcore's
//! envelope) so that clients and retry policies can be tested against
//! every error the providers document. This crate is its dialect-free
//! core; the HTTP surfaces sit on top of it.
//!
//! - [`Cloud`]: projects, data centers and machine types, VMs, disks,
//!   clusters, SSH keys, images and long-running operations, with API
//!   keys and scopes, GPU quotas, finite capacity, ETags and maintenance
//!   windows. Every operation returns `Result<T, canon::Status>`.
//! - [`errors`]: every error the domain produces, following AIP-193 and
//!   the CUDO page's example bodies, in a configurable ErrorInfo domain.
//! - [`store`]: SQLite in WAL mode, in a file or in memory; an
//!   acknowledged write survives `kill -9`.
//! - [`clock`]: the clock the emulator reads (system or manual) and the
//!   [`TransitionMode`](clock::TransitionMode): states move at once, after
//!   a delay, or when an admin says so.
//! - [`fault`]: fault rules (error, latency, transport fault; always,
//!   first N, every Nth or a seeded probability) and the `x-canon-fault`
//!   header.
//! - [`journal`]: a bounded ring of the requests answered.
//! - [`admin`]: bootstrap, projects, keys, quotas, capacity, maintenance,
//!   transitions and the clock, for the operator.
//! - [`naming`]: the instance name templates a reseller may hold a
//!   client to (Gcore's `allowed_name_templates`).
//!
//! # A tour
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use canon::Code;
//! use canon_cloud::clock::{ManualClock, Timestamp, TransitionMode};
//! use canon_cloud::model::{CreateVm, VmState};
//! use canon_cloud::{Cloud, CloudConfig, Store};
//!
//! let clock = Arc::new(ManualClock::new(Timestamp::from_millis(1_700_000_000_000)));
//! let config = CloudConfig {
//!     transition_mode: TransitionMode::After(Duration::from_secs(30)),
//!     id_seed: Some(7),
//!     ..CloudConfig::default()
//! };
//! let cloud = Cloud::new(Store::in_memory().unwrap(), clock.clone(), config).unwrap();
//! cloud.admin().bootstrap("demo-key").unwrap();
//!
//! // Authentication gives a Principal; every operation checks its scope
//! // and project before anything else.
//! assert_eq!(cloud.authenticate(None).unwrap_err().code(), Code::Unauthenticated);
//! let who = cloud.authenticate(Some("demo-key")).unwrap();
//!
//! let create = CreateVm {
//!     id: "trainer-1".into(),
//!     data_center_id: "gb-bournemouth-1".into(),
//!     machine_type: "gpu-a100-x4".into(),
//!     ..CreateVm::default()
//! };
//! let vm = cloud.create_vm(&who, "demo", create.clone()).unwrap();
//! assert_eq!(vm.state, VmState::Pending);
//!
//! // A client-chosen id makes creation idempotent.
//! let again = cloud.create_vm(&who, "demo", create).unwrap_err();
//! assert_eq!(again.code(), Code::AlreadyExists);
//! assert_eq!(again.error_info().unwrap().reason, "VM_ALREADY_EXISTS");
//!
//! // Thirty seconds later, by the emulator's clock, the VM is up.
//! clock.advance(Duration::from_secs(30));
//! assert_eq!(cloud.get_vm(&who, "demo", "trainer-1").unwrap().state, VmState::Active);
//!
//! // Another project's resources are out of bounds, whether they exist or not.
//! let denied = cloud.get_vm(&who, "someone-else", "trainer-1").unwrap_err();
//! assert_eq!(denied.code(), Code::PermissionDenied);
//! ```
//!
//! # Invariants
//!
//! - Every error carries an ErrorInfo in the configured domain, with a
//!   well-formed reason and lowerCamelCase metadata holding every dynamic
//!   part of the message.
//! - Permission is checked before existence: a key of project A asking
//!   about project B gets PERMISSION_DENIED whether or not the resource
//!   (or project B) exists; asking about a missing resource of A gets
//!   NOT_FOUND.
//! - A machine type's VMs and cluster machines never exceed its capacity;
//!   a project's GPUs of one model in one data center never exceed its
//!   quota. Terminating and deleting resources stop counting at once.
//! - Every change raises a resource's version and so its ETag; a write
//!   with a stale `If-Match` changes nothing and gives ABORTED.
//! - Transitions due by the clock are applied at the start of every
//!   operation, so what a read returns is what the clock says, with no
//!   background task; [`Admin::tick`](admin::Admin::tick) does the same
//!   on demand.
//! - Each operation is one SQLite transaction: it happens whole or not at
//!   all, and once it has returned it is on disk.
//!
//! # For the HTTP surfaces
//!
//! The CUDO and Gcore surfaces are meant to live in this crate as the
//! modules `cudo` and `gcore` (axum routers over an `Arc<Cloud>`). A
//! request's path through them:
//!
//! 1. take or make a request id ([`Cloud::next_request_id`]);
//! 2. apply the [`fault::FAULT_HEADER`] ([`fault::parse_fault_header`];
//!    a malformed value is [`fault::FaultHeaderError::status`]) or the
//!    rules ([`fault::FaultEngine::evaluate`]);
//! 3. authenticate ([`Cloud::authenticate`]) and call the domain;
//! 4. encode the result, or the `Status`, in the dialect (`canon::encode`
//!    adds `Retry-After` from RetryInfo);
//! 5. record a [`journal::JournalEntry`].
//!
//! Mapping notes: [`model`] lists how the domain's types and states map
//! onto both dialects. The CUDO page shows FAILED_PRECONDITION for a
//! cluster in the wrong state with HTTP 409 (`canon::encode_with_http_status`).

pub mod admin;
pub mod auth;
pub mod catalog;
pub mod clock;
mod cloud;
pub mod errors;
pub mod fault;
pub mod http;
pub mod ids;
pub mod journal;
pub mod model;
pub mod naming;
mod repo;
mod sshkey;
pub mod store;

pub use cloud::{Cloud, CloudConfig, Limits};
pub use repo::TickReport;
pub use store::{Store, StoreError};
