//! canon: the structured error model of cloud APIs.
//!
//! Cloud APIs fail in structured ways. canon models that structure once:
//!
//! - [`Code`]: the 17 canonical codes and their HTTP mapping;
//! - [`Status`]: code, message and typed [`details`], every standard
//!   detail of `google.rpc`, with unknown and schema-breaking details kept
//!   whole;
//! - [`decode()`]: one entry point from (HTTP status, headers, body) to a
//!   Status, for every dialect met in practice ([`Dialect`]), which never
//!   fails;
//! - [`encode()`]: a Status as AIP-193, Google wrapped, grpc-gateway, Gcore or
//!   problem+json;
//! - [`advice()`]: the providers' handling tables as data: category, retry
//!   kind, the server's delay hint and what to do.
//!
//! Data flows one way: bytes → [`decode()`] → [`Status`] → [`advice()`] →
//! a decision (made by `canon-retry`). The crate does no I/O and knows no
//! web framework; it uses the `http` crate only for its header map.
//!
//! ```
//! use canon::{decode, Category, Code, Dialect, RetryKind};
//! use http::HeaderMap;
//!
//! // The CUDO page's 429 example.
//! let body = br#"{
//!   "code": 429, "status": "RESOURCE_EXHAUSTED",
//!   "message": "GPU quota exceeded for project 'proj-123' in dataCenterId 'gb-bournemouth-1'.",
//!   "details": [
//!     {"@type": "type.googleapis.com/google.rpc.QuotaFailure",
//!      "violations": [{"subject": "projects/proj-123/dataCenterIds/gb-bournemouth-1/gpuModelId:gpu-a100",
//!                      "description": "Limit 16 reached"}]},
//!     {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "30s"}
//!   ]
//! }"#;
//! let decoded = decode(429, &HeaderMap::new(), body);
//! assert_eq!(decoded.dialect, Dialect::Aip193);
//! assert_eq!(decoded.status.code(), Code::ResourceExhausted);
//!
//! let advice = decoded.advice();
//! assert_eq!(advice.category, Category::QuotaOrCapacity);
//! assert_eq!(advice.retry, RetryKind::AfterDelay);
//! assert_eq!(advice.retry_delay, Some(std::time::Duration::from_secs(30)));
//! ```

// Unit tests name the crate `canon`, as integration tests do, so that
// test code can be shared between them (`tests/strategies/mod.rs`).
#[cfg(test)]
extern crate self as canon;

pub mod advice;
pub mod code;
pub mod decode;
pub mod details;
pub mod duration;
pub mod encode;
pub mod gcore;
pub mod headers;
mod json;
pub mod lint;
pub mod schema;
pub mod status;
mod wire;

pub use advice::{Advice, Category, RetryKind, advice};
pub use code::{Code, ParseCodeError};
pub use decode::{Decoded, Dialect, Provider, decode, decode_at};
pub use details::{Detail, Text};
pub use duration::ProtoDuration;
pub use encode::{Encoded, Encoding, encode, encode_with_http_status};
pub use headers::HeaderHints;
pub use status::{Status, StatusBuilder};
