//! No retries: one attempt per logical request. The baseline for
//! amplification (exactly 1) and for what retries buy.

use super::{CallSpec, ClientModel, Next};
use crate::engine::Nanos;
use crate::scenario::Fault;

/// A client that never retries.
#[derive(Debug, Clone, Default)]
pub struct NoRetryClient;

impl ClientModel for NoRetryClient {
    type Request = ();

    fn start(&mut self, _now: Nanos, _call: &CallSpec) {}

    fn failed(&mut self, _now: Nanos, _request: &mut (), _fault: &Fault) -> Next {
        Next::GiveUp
    }
}
