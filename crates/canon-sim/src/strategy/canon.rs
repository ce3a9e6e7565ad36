//! canon: canon-retry's real decision core on virtual time.
//!
//! Each client is one [`Retrier`] with its own [`RetryBudget`]
//! ([`BudgetConfig::default()`]: 0.1 retry earned per success, retries
//! that work refunded, a floor of 0.0025 retries/s, ttl 10 s) and its own
//! seeded [`SplitMix64`](canon_retry::SplitMix64). Each logical
//! request is one [`Session`], driven with the simulation's `now` turned
//! into an [`Instant`] (a fixed origin plus the virtual time), exactly as a
//! [`ManualClock`](canon_retry::ManualClock) would give it. Creates carry a key canon generates
//! ([`Call::with_generated_key`]); in the region scenario the call lists
//! every region, region-0 first ([`Call::with_placements`]). The faults
//! reach the session as [`Failure`](canon_retry::Failure)s built from canon's own advice.

use std::sync::Arc;
use std::time::Instant;

use canon_retry::{BudgetConfig, Call, Placement, Policy, Retrier, RetryBudget, Session};
use http::Method;

use super::{AttemptSpec, Begin, CallSpec, ClientModel, Next};
use crate::engine::{Nanos, duration, nanos};
use crate::scenario::Fault;

/// One client using canon-retry.
#[derive(Debug)]
pub struct CanonClient {
    retrier: Retrier,
    origin: Instant,
}

impl CanonClient {
    /// A client with `policy`, a fresh default budget, and the random
    /// source seeded with `seed`. `origin` is the instant of virtual time
    /// zero (the same for every client of a run).
    pub fn new(policy: Policy, seed: u64, origin: Instant) -> CanonClient {
        let budget = Arc::new(RetryBudget::new(BudgetConfig::default()));
        CanonClient { retrier: Retrier::builder(policy).budget(budget).seed(seed).build(), origin }
    }

    fn instant(&self, now: Nanos) -> Instant {
        self.origin + duration(now)
    }
}

/// The name of region `index`, as placements carry it.
pub(crate) fn region_name(index: usize) -> String {
    format!("region-{index}")
}

fn region_index(placement: Option<&Placement>) -> usize {
    placement
        .and_then(|p| p.region.as_deref())
        .and_then(|name| name.strip_prefix("region-"))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

impl ClientModel for CanonClient {
    type Request = Session;

    fn start(&mut self, now: Nanos, call: &CallSpec) -> Session {
        let mut spec = if call.create { Call::new(Method::POST).with_generated_key() } else { Call::new(Method::GET) };
        if call.regions > 1 {
            spec = spec.with_placements((0..call.regions).map(|r| Placement::new().with_region(region_name(r))));
        }
        self.retrier.start(self.instant(now), spec)
    }

    fn begin(&mut self, now: Nanos, session: &mut Session) -> Begin {
        match session.begin(self.instant(now)) {
            Ok(attempt) => Begin::Send(AttemptSpec {
                key: attempt.idempotency_key.is_some(),
                region: region_index(attempt.placement.as_ref()),
                timeout: Some(nanos(attempt.timeout)),
            }),
            Err(_) => Begin::GiveUp,
        }
    }

    fn succeeded(&mut self, now: Nanos, session: &mut Session) {
        session.succeeded(self.instant(now));
    }

    fn failed(&mut self, now: Nanos, session: &mut Session, fault: &Fault) -> Next {
        match session.failed(self.instant(now), &fault.canon) {
            Ok(retry) => Next::Retry(nanos(retry.wait)),
            Err(_) => Next::GiveUp,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::SECOND;
    use crate::scenario::Response;

    #[test]
    fn follows_the_hint_and_moves_elsewhere() {
        let mut client = CanonClient::new(Policy::cudo(), 1, Instant::now());
        let call = CallSpec { create: false, regions: 3 };
        let mut session = client.start(0, &call);
        let Begin::Send(first) = client.begin(0, &mut session) else { panic!() };
        assert_eq!(first.region, 0);
        // A fresh budget holds one retry: the move elsewhere spends it.
        let next = client.failed(0, &mut session, &Fault::of(Response::NoCapacity).unwrap());
        assert_eq!(next, Next::Retry(0));
        let Begin::Send(second) = client.begin(0, &mut session) else { panic!() };
        assert_eq!(second.region, 1);
        client.succeeded(SECOND, &mut session);

        let mut session = client.start(SECOND, &CallSpec { create: false, regions: 1 });
        client.begin(SECOND, &mut session);
        // The refund of the successful move pays for this one.
        let Next::Retry(wait) = client.failed(SECOND, &mut session, &Fault::of(Response::Outage).unwrap()) else {
            panic!()
        };
        assert!(wait >= SECOND);
    }

    #[test]
    fn creates_carry_a_key() {
        let mut client = CanonClient::new(Policy::default(), 1, Instant::now());
        let mut session = client.start(0, &CallSpec { create: true, regions: 1 });
        let Begin::Send(attempt) = client.begin(0, &mut session) else { panic!() };
        assert!(attempt.key);
    }
}
