//! Retry budgets: retries as a share of recent traffic, shared by every
//! request to one host or service.
//!
//! # Why a budget, not a maximum number of attempts
//!
//! A maximum number of attempts bounds the latency of one request. It does
//! not bound the load a client puts on a server that is down: when every
//! attempt fails, every request makes all its attempts, and a cap of N
//! attempts multiplies the load by N, at the worst possible moment. Retries
//! are the classic sustaining effect of metastable failures (HotOS'21,
//! OSDI'22): the trigger goes away, and the retries it caused keep the
//! server overloaded.
//!
//! What peers do, in a 120 s outage where every attempt fails fast (the
//! numbers are theirs, gathered in the project's FACTS.md):
//!
//! | client | rule | load during the outage |
//! |--------|------|------------------------|
//! | attempts cap alone (Gcore page: 3 retries) | every request tries 4 times | 4× |
//! | `gcore` SDK | 2 retries on 429, 5xx, connection errors | 3× |
//! | AWS SDK standard mode | 3 attempts; a 500-token quota, 5 per retry, +1 per success | 3× until each client has spent 100 retries, then 1× |
//! | gRPC A6 throttling (10 tokens, ratio 0.1) | −1 per failure, +0.1 per success, retries stop at ≤ 5 tokens | up to 4 retries per client at the onset, then 1× |
//! | Finagle / tower `TpsBudget` | 20 % of requests over 10 s, plus 10 retries/s per client | 1.2× plus 10 retries/s per client |
//!
//! The per-client allowances (AWS's 100 retries, gRPC's 4, tower's
//! 10 retries/s) are harmless for one busy process and ruinous for a fleet
//! of quiet ones: 1,000 clients at 0.1 request/s are, to the server, one
//! client at 100 requests/s, and a floor of 10 retries/s each lets every
//! request of every client make all its attempts.
//!
//! A budget ties retries to traffic instead: each request earns a fraction
//! of a retry (`ratio`), each retry spends one, and unspent earnings
//! expire (`ttl`). In a full outage no retry can be paid for out of
//! anything but earnings, so the load is at most `1 + ratio` (plus a
//! small floor, below), whatever the number of attempts allowed.
//!
//! # How this budget works
//!
//! The balance is a number of retries, which may be fractional:
//!
//! - each logical request deposits `ratio` when its first attempt is sent;
//! - each retry withdraws 1;
//! - when a logical request succeeds after retries, what its retries cost
//!   is refunded: retries that work are free, so a service that fails now
//!   and then does not drain the budget;
//! - the balance decays towards a resting level `min_per_sec × ttl` with
//!   time constant `ttl`: earnings expire after about `ttl`, and an idle
//!   or drained budget refills towards the resting level at no more than
//!   `min_per_sec` retries per second. That is the floor of probes: a
//!   drained budget still lets a few retries through, so that requests
//!   caught by the end of an outage find out it has ended.
//!
//! A retry is allowed when the balance holds a whole token. When it holds
//! only a fraction `b < 1`, the fraction is spent on a lottery ticket: the
//! retry is allowed with probability `b`, and the balance drops to zero
//! either way. On average a fraction buys exactly its worth of retries, so
//! the bound holds in expectation for clients of any rate, and a quiet
//! client, which would never save a whole token, still retries in
//! proportion to what it earned rather than never.
//!
//! With `λ` the rate of logical requests and every attempt failing, the
//! expected retries per request are at most:
//!
//! - steady state: `ratio + min_per_sec / λ`;
//! - over the first `W` seconds of an outage, with the balance saved
//!   before it: `(ratio × λ × ttl + min_per_sec × ttl + ratio × λ × W +
//!   min_per_sec × W) / (λ × W)`.
//!
//! With the defaults (`ratio` 0.05, `min_per_sec` 0.0025, `ttl` 10 s):
//!
//! | traffic | steady | first 10 s |
//! |---------|--------|------------|
//! | one process at 100 requests/s | 1.05× | ≈ 1.10× |
//! | 1,000 clients at 0.1 request/s, each with its own budget | 1.075× | ≤ 1.15× |
//!
//! The defaults are chosen for those two rows: the floor must stay small
//! beside a quiet client's traffic (a client at one request a minute has a
//! steady bound of 1.2×), and the ratio beside 10 %.
//!
//! A fresh budget holds one retry ([`BudgetConfig::initial_balance`]), so
//! that a new process, a one-shot tool or a test gets its first failure
//! retried; like any balance it decays to the resting level within a few
//! `ttl`. The table above is for clients that have been running for that
//! long. A fleet that starts every client at once, into an outage (a mass
//! restart, or a simulation that starts at the fault), adds up to one
//! retry per client on top; give such clients
//! [`with_initial_balance(0.0)`](BudgetConfig::with_initial_balance).
//!
//! ```
//! use std::time::{Duration, Instant};
//! use canon_retry::{BudgetConfig, RetryBudget, SplitMix64};
//!
//! let config = BudgetConfig::new(0.1, 0.0, Duration::from_secs(10)).unwrap().with_initial_balance(0.0).unwrap();
//! let budget = RetryBudget::new(config);
//! let mut rng = SplitMix64::new(1);
//! let now = Instant::now();
//! for _ in 0..20 {
//!     budget.deposit(now); // twenty requests earn two retries
//! }
//! assert_eq!(budget.withdraw(now, &mut rng), Some(1.0));
//! assert_eq!(budget.withdraw(now, &mut rng), Some(1.0));
//! assert!(budget.balance(now) < 1e-9);
//!
//! // Earnings expire: ten ttl later nothing of a fresh deposit is left.
//! budget.deposit(now);
//! assert!(budget.balance(now + Duration::from_secs(100)) < 1e-5);
//! ```
//!
//! Share one budget among every request to a host or service: through an
//! `Arc`, or a [`BudgetRegistry`] keyed by authority.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::policy::{PolicyError, PolicyErrorKind};
use crate::random::RandomSource;

/// A validated budget configuration. See the [module docs](self).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BudgetConfig {
    ratio: f64,
    min_per_sec: f64,
    ttl: Duration,
    initial_balance: f64,
}

impl BudgetConfig {
    /// A budget where each request earns `ratio` retries (in `[0, 1]`),
    /// a drained budget refills at up to `min_per_sec` retries per second
    /// (finite, not negative), and earnings expire with time constant `ttl`
    /// (not zero). A fresh budget holds one retry; see
    /// [`with_initial_balance`](BudgetConfig::with_initial_balance).
    pub fn new(ratio: f64, min_per_sec: f64, ttl: Duration) -> Result<BudgetConfig, PolicyError> {
        if !(ratio.is_finite() && (0.0..=1.0).contains(&ratio)) {
            return Err(PolicyError::new(
                PolicyErrorKind::BudgetRatioOutOfRange,
                format!("the budget ratio must be between 0 and 1, got {ratio}"),
            ));
        }
        if !(min_per_sec.is_finite() && min_per_sec >= 0.0) {
            return Err(PolicyError::new(
                PolicyErrorKind::BudgetFloorOutOfRange,
                format!("the budget floor must be a finite, non-negative rate, got {min_per_sec}"),
            ));
        }
        if ttl.is_zero() {
            return Err(PolicyError::new(PolicyErrorKind::BudgetTtlZero, "the budget ttl is zero"));
        }
        Ok(BudgetConfig { ratio, min_per_sec, ttl, initial_balance: 1.0 })
    }

    /// This configuration with a fresh budget starting at `tokens` retries
    /// (finite, not negative) rather than one.
    pub fn with_initial_balance(mut self, tokens: f64) -> Result<BudgetConfig, PolicyError> {
        if !(tokens.is_finite() && tokens >= 0.0) {
            return Err(PolicyError::new(
                PolicyErrorKind::BudgetInitialOutOfRange,
                format!("the initial balance must be finite and not negative, got {tokens}"),
            ));
        }
        self.initial_balance = tokens;
        Ok(self)
    }

    /// The retries each request earns.
    pub fn ratio(&self) -> f64 {
        self.ratio
    }

    /// The floor: the most retries per second a drained budget regains on
    /// its own.
    pub fn min_per_sec(&self) -> f64 {
        self.min_per_sec
    }

    /// The time constant over which earnings expire.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The balance an idle budget settles at: `min_per_sec × ttl`.
    pub fn resting_balance(&self) -> f64 {
        self.min_per_sec * self.ttl.as_secs_f64()
    }

    /// The balance a fresh budget starts with (1 unless set otherwise).
    pub fn initial_balance(&self) -> f64 {
        self.initial_balance
    }
}

impl Default for BudgetConfig {
    /// `ratio` 0.05, `min_per_sec` 0.0025, `ttl` 10 s, one retry to start
    /// with; see the [module docs](self) for why.
    fn default() -> BudgetConfig {
        BudgetConfig { ratio: 0.05, min_per_sec: 0.0025, ttl: Duration::from_secs(10), initial_balance: 1.0 }
    }
}

/// A retry budget: thread-safe, shared through an `Arc` by every request
/// to one host or service. See the [module docs](self).
#[derive(Debug)]
pub struct RetryBudget {
    config: BudgetConfig,
    state: Mutex<BudgetState>,
}

#[derive(Debug)]
struct BudgetState {
    balance: f64,
    updated: Option<Instant>,
}

impl RetryBudget {
    /// A fresh budget.
    pub fn new(config: BudgetConfig) -> RetryBudget {
        RetryBudget { config, state: Mutex::new(BudgetState { balance: config.initial_balance(), updated: None }) }
    }

    /// The configuration.
    pub fn config(&self) -> BudgetConfig {
        self.config
    }

    /// Runs `f` on the state brought forward to `now`.
    fn with_state<T>(&self, now: Instant, f: impl FnOnce(&mut BudgetState) -> T) -> T {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        match state.updated {
            None => state.updated = Some(now),
            Some(updated) if now > updated => {
                let rest = self.config.resting_balance();
                let decay = (-(now - updated).as_secs_f64() / self.config.ttl.as_secs_f64()).exp();
                state.balance = rest + (state.balance - rest) * decay;
                state.updated = Some(now);
            }
            // An earlier `now` (callers on other threads) counts as no time passing.
            Some(_) => {}
        }
        f(&mut state)
    }

    /// The balance at `now`, in retries.
    pub fn balance(&self, now: Instant) -> f64 {
        self.with_state(now, |state| state.balance)
    }

    /// Records a logical request's first attempt: earns `ratio` retries.
    pub fn deposit(&self, now: Instant) {
        let ratio = self.config.ratio;
        self.with_state(now, |state| state.balance += ratio);
    }

    /// Asks for one retry. `Some(tokens)` allows it and says what it cost
    /// (1, or the fraction spent on a winning lottery ticket); `None`
    /// refuses it. See the [module docs](self).
    pub fn withdraw(&self, now: Instant, rng: &mut dyn RandomSource) -> Option<f64> {
        self.with_state(now, |state| {
            if state.balance >= 1.0 {
                state.balance -= 1.0;
                Some(1.0)
            } else if state.balance > 0.0 {
                let ticket = std::mem::replace(&mut state.balance, 0.0);
                (rng.next_unit() < ticket).then_some(ticket)
            } else {
                None
            }
        })
    }

    /// Gives back what a logical request's retries cost, when it succeeded.
    pub fn refund(&self, now: Instant, tokens: f64) {
        if tokens.is_finite() && tokens > 0.0 {
            self.with_state(now, |state| state.balance += tokens);
        }
    }
}

impl Default for RetryBudget {
    fn default() -> RetryBudget {
        RetryBudget::new(BudgetConfig::default())
    }
}

/// One budget per host or service, created on first use.
///
/// ```
/// use std::sync::Arc;
/// use canon_retry::BudgetRegistry;
///
/// let registry = BudgetRegistry::default();
/// let a = registry.budget("api.example.com");
/// let b = registry.budget("API.example.com");
/// assert!(Arc::ptr_eq(&a, &b));
/// let uri: http::Uri = "https://api.example.com/v1/vms".parse().unwrap();
/// assert!(Arc::ptr_eq(&a, &registry.budget_for_uri(&uri)));
/// ```
#[derive(Debug, Default)]
pub struct BudgetRegistry {
    config: BudgetConfig,
    budgets: Mutex<HashMap<String, Arc<RetryBudget>>>,
}

impl BudgetRegistry {
    /// A registry whose budgets use `config`.
    pub fn new(config: BudgetConfig) -> BudgetRegistry {
        BudgetRegistry { config, budgets: Mutex::new(HashMap::new()) }
    }

    /// The budget for a host or service name (an authority such as
    /// `api.example.com:443`, compared without regard to case).
    pub fn budget(&self, key: &str) -> Arc<RetryBudget> {
        let key = key.to_ascii_lowercase();
        let mut budgets = self.budgets.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(budgets.entry(key).or_insert_with(|| Arc::new(RetryBudget::new(self.config))))
    }

    /// The budget for the authority of `uri` (the empty name for a URI
    /// without one).
    pub fn budget_for_uri(&self, uri: &http::Uri) -> Arc<RetryBudget> {
        self.budget(uri.authority().map_or("", |a| a.as_str()))
    }

    /// How many budgets the registry holds.
    pub fn len(&self) -> usize {
        self.budgets.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Whether the registry holds no budget yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::{ConstantRandom, SplitMix64};

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    #[test]
    fn rejects_nonsense() {
        let table = [
            (BudgetConfig::new(-0.1, 0.0, secs(1.0)), PolicyErrorKind::BudgetRatioOutOfRange),
            (BudgetConfig::new(1.5, 0.0, secs(1.0)), PolicyErrorKind::BudgetRatioOutOfRange),
            (BudgetConfig::new(f64::NAN, 0.0, secs(1.0)), PolicyErrorKind::BudgetRatioOutOfRange),
            (BudgetConfig::new(0.1, -1.0, secs(1.0)), PolicyErrorKind::BudgetFloorOutOfRange),
            (BudgetConfig::new(0.1, f64::INFINITY, secs(1.0)), PolicyErrorKind::BudgetFloorOutOfRange),
            (BudgetConfig::new(0.1, 0.0, Duration::ZERO), PolicyErrorKind::BudgetTtlZero),
            (BudgetConfig::default().with_initial_balance(-1.0), PolicyErrorKind::BudgetInitialOutOfRange),
        ];
        for (result, kind) in table {
            assert_eq!(result.unwrap_err().kind(), kind);
        }
    }

    #[test]
    fn a_fraction_is_a_lottery_ticket_spent_win_or_lose() {
        let config = BudgetConfig::new(0.3, 0.0, secs(10.0)).unwrap().with_initial_balance(0.0).unwrap();
        let now = Instant::now();
        // (draw, allowed)
        for (draw, allowed) in [(0.1, Some(0.3)), (0.29, Some(0.3)), (0.31, None), (0.9, None)] {
            let budget = RetryBudget::new(config);
            budget.deposit(now);
            let result = budget.withdraw(now, &mut ConstantRandom::new(draw));
            assert_eq!(result.map(|t| (t * 1e9).round() / 1e9), allowed, "{draw}");
            assert_eq!(budget.balance(now), 0.0);
            assert_eq!(budget.withdraw(now, &mut ConstantRandom::new(0.0)), None);
        }
    }

    #[test]
    fn refunds_restore_the_balance() {
        let config = BudgetConfig::new(0.5, 0.0, secs(10.0)).unwrap().with_initial_balance(0.0).unwrap();
        let budget = RetryBudget::new(config);
        let now = Instant::now();
        budget.deposit(now);
        budget.deposit(now);
        let spent = budget.withdraw(now, &mut ConstantRandom::new(0.0)).unwrap();
        assert_eq!(budget.balance(now), 0.0);
        budget.refund(now, spent);
        assert_eq!(budget.balance(now), 1.0);
    }

    #[test]
    fn a_drained_budget_refills_no_faster_than_the_floor() {
        let config = BudgetConfig::new(0.1, 0.5, secs(10.0)).unwrap().with_initial_balance(0.0).unwrap();
        let budget = RetryBudget::new(config);
        let start = Instant::now();
        assert_eq!(budget.balance(start), 0.0);
        let mut previous = 0.0;
        for second in 1..=60u64 {
            let balance = budget.balance(start + Duration::from_secs(second));
            assert!(balance - previous <= 0.5 + 1e-12, "{second}: {previous} -> {balance}");
            assert!(balance <= config.resting_balance() + 1e-12);
            previous = balance;
        }
        assert!((previous - config.resting_balance()).abs() < 0.02, "{previous}");
    }

    /// Runs a full outage on one budget: `rate` requests per second for
    /// `seconds`, every attempt failing, each request asking for up to
    /// `retries` retries. Returns the attempts sent in each second.
    fn outage(config: BudgetConfig, rate: f64, seconds: u64, retries: u32, seed: u64) -> Vec<u64> {
        let budget = RetryBudget::new(config);
        let mut rng = SplitMix64::new(seed);
        let start = Instant::now();
        // Warm up for a minute of healthy traffic, which fills the budget.
        let warm_up = 60.0;
        let interval = 1.0 / rate;
        let mut t = 0.0;
        while t < warm_up {
            budget.deposit(start + secs(t));
            t += interval;
        }
        let mut per_second = vec![0u64; seconds as usize];
        let mut t = 0.0;
        while t < seconds as f64 {
            let now = start + secs(warm_up + t);
            budget.deposit(now);
            per_second[t as usize] += 1;
            for _ in 0..retries {
                if budget.withdraw(now, &mut rng).is_none() {
                    break;
                }
                per_second[t as usize] += 1;
            }
            t += interval;
        }
        per_second
    }

    #[test]
    fn defaults_bound_amplification_for_one_busy_process() {
        let attempts = outage(BudgetConfig::default(), 100.0, 120, 4, 1);
        let first: u64 = attempts[..10].iter().sum();
        let steady: u64 = attempts[10..].iter().sum();
        assert!(first as f64 / 1000.0 < 1.15, "first 10 s: {first}");
        assert!(steady as f64 / 11_000.0 <= 1.06, "steady: {steady}");
    }

    #[test]
    fn defaults_bound_amplification_for_a_fleet_of_quiet_clients() {
        let clients = 1000;
        let mut first = 0;
        let mut steady = 0;
        for client in 0..clients {
            let attempts = outage(BudgetConfig::default(), 0.1, 120, 4, client);
            first += attempts[..10].iter().sum::<u64>();
            steady += attempts[10..].iter().sum::<u64>();
        }
        // Each client sends one request in the first 10 s and eleven after.
        assert!((first as f64 / clients as f64) < 1.2, "first 10 s: {first}");
        assert!((steady as f64 / (clients * 11) as f64) < 1.1, "steady: {steady}");
    }

    #[test]
    fn concurrent_callers_with_older_instants_do_not_rewind_time() {
        let config = BudgetConfig::new(0.5, 0.0, secs(1.0)).unwrap().with_initial_balance(0.0).unwrap();
        let budget = RetryBudget::new(config);
        let now = Instant::now();
        budget.deposit(now + secs(5.0));
        budget.deposit(now);
        assert_eq!(budget.balance(now + secs(5.0)), 1.0);
    }
}
