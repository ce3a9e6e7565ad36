//! tower's `Retry` middleware with `TpsBudget::default()`, driven by the
//! policy of tower's own documentation.
//!
//! Sources: tower 0.5 `retry::budget::TpsBudget` (ported below: ten slots
//! over a 10 s ttl, `reserve = min_per_sec × ttl × withdraw`, a deposit of
//! 1 and a withdrawal of `1 / retry_percent` = 5), its `Default` (ttl
//! 10 s, `min_per_sec` 10, `retry_percent` 0.2, as Finagle's), and the
//! example policy of the `tower::retry::budget` documentation: a response
//! deposits, an error withdraws, and the request is retried at once
//! (`future::ready`) whenever the withdrawal succeeds, with no attempt cap.
//!
//! tower's policy is the user's code. What the model chooses, and states
//! here: an error is what reqwest-retry's default strategy calls transient
//! (a 5xx, 408 or 429, a timeout or connection failure), for every method;
//! everything else is a response, which deposits. Hints are not read.

use super::{CallSpec, ClientModel, Next};
use crate::engine::{Nanos, SECOND};
use crate::scenario::Fault;

/// A port of tower's `TpsBudget` onto virtual time.
#[derive(Debug, Clone)]
pub struct TpsBudget {
    generation_index: usize,
    generation_time: Nanos,
    reserve: i64,
    slots: [i64; 10],
    window: Nanos,
    writer: i64,
    deposit_amount: i64,
    withdraw_amount: i64,
}

impl TpsBudget {
    /// `TpsBudget::new(ttl, min_per_sec, retry_percent)` created at `now`,
    /// for `retry_percent` in (0, 1] and `ttl` in whole seconds.
    pub fn new(now: Nanos, ttl_secs: u64, min_per_sec: u32, retry_percent: f32) -> TpsBudget {
        let (deposit_amount, withdraw_amount) = (1, (1.0 / retry_percent) as i64);
        TpsBudget {
            generation_index: 0,
            generation_time: now,
            reserve: i64::from(min_per_sec) * ttl_secs as i64 * withdraw_amount,
            slots: [0; 10],
            window: ttl_secs * SECOND / 10,
            writer: 0,
            deposit_amount,
            withdraw_amount,
        }
    }

    /// `TpsBudget::default()`: ttl 10 s, 10 retries/s, 20 %.
    pub fn tower_default(now: Nanos) -> TpsBudget {
        TpsBudget::new(now, 10, 10, 0.2)
    }

    fn expire(&mut self, now: Nanos) {
        let mut diff = now.saturating_sub(self.generation_time);
        if diff < self.window {
            return;
        }
        self.slots[self.generation_index] = std::mem::take(&mut self.writer);
        let mut index = (self.generation_index + 1) % self.slots.len();
        while diff > self.window {
            self.slots[index] = 0;
            diff -= self.window;
            index = (index + 1) % self.slots.len();
        }
        self.generation_index = index;
        self.generation_time = now;
    }

    fn sum(&self) -> i64 {
        self.writer + self.slots.iter().sum::<i64>() + self.reserve
    }

    /// `Budget::deposit`.
    pub fn deposit(&mut self, now: Nanos) {
        self.expire(now);
        self.writer += self.deposit_amount;
    }

    /// `Budget::withdraw`.
    pub fn withdraw(&mut self, now: Nanos) -> bool {
        self.expire(now);
        if self.sum() >= self.withdraw_amount {
            self.writer -= self.withdraw_amount;
            true
        } else {
            false
        }
    }
}

/// One client with tower's retry middleware.
#[derive(Debug, Clone)]
pub struct TowerClient {
    budget: TpsBudget,
}

impl TowerClient {
    /// A client whose budget was created at virtual time zero.
    pub fn new() -> TowerClient {
        TowerClient { budget: TpsBudget::tower_default(0) }
    }
}

impl Default for TowerClient {
    fn default() -> TowerClient {
        TowerClient::new()
    }
}

fn is_error(fault: &Fault) -> bool {
    fault.transport.is_some() || matches!(fault.http_status, Some(408 | 429)) || fault.is_server_error()
}

impl ClientModel for TowerClient {
    type Request = ();

    fn start(&mut self, _now: Nanos, _call: &CallSpec) {}

    fn succeeded(&mut self, now: Nanos, _request: &mut ()) {
        self.budget.deposit(now);
    }

    fn failed(&mut self, now: Nanos, _request: &mut (), fault: &Fault) -> Next {
        if !is_error(fault) {
            self.budget.deposit(now);
            return Next::GiveUp;
        }
        if self.budget.withdraw(now) { Next::Retry(0) } else { Next::GiveUp }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reserve_allows_ten_retries_a_second() {
        let mut budget = TpsBudget::tower_default(0);
        let allowed = (0..1000).filter(|_| budget.withdraw(0)).count();
        assert_eq!(allowed, 100);
        // Eleven seconds later every slot has expired: the reserve again.
        let allowed = (0..1000).filter(|_| budget.withdraw(11 * SECOND)).count();
        assert_eq!(allowed, 100);
    }

    #[test]
    fn deposits_buy_a_fifth_of_a_retry_each() {
        let mut budget = TpsBudget::tower_default(0);
        for _ in 0..500 {
            budget.deposit(0);
        }
        let allowed = (0..1000).filter(|_| budget.withdraw(0)).count();
        assert_eq!(allowed, 100 + 100);
    }
}
