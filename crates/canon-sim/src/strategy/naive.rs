//! Naive retries: up to three more attempts, at once, whatever the error
//! and whatever the method. No backoff, no budget, no hint. The baseline
//! of what an unguarded retry loop does (the Gcore page's "retry up to 3
//! times" without its waits).

use super::{CallSpec, ClientModel, Next};
use crate::engine::Nanos;
use crate::scenario::Fault;

/// The most retries of one request.
pub const RETRIES: u32 = 3;

/// A client that retries every failure three times, immediately.
#[derive(Debug, Clone, Default)]
pub struct NaiveClient;

impl ClientModel for NaiveClient {
    type Request = u32;

    fn start(&mut self, _now: Nanos, _call: &CallSpec) -> u32 {
        0
    }

    fn failed(&mut self, _now: Nanos, retries: &mut u32, _fault: &Fault) -> Next {
        if *retries >= RETRIES {
            return Next::GiveUp;
        }
        *retries += 1;
        Next::Retry(0)
    }
}
