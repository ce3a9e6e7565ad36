//! canon-sim: what a retry policy does in an outage, before it ships.
//!
//! A deterministic discrete-event simulation: clients send requests on one
//! virtual clock ([`engine`]), a server fails them as a scenario says
//! ([`scenario`]), and each client's retry library decides what to do
//! next ([`strategy`]). canon's strategies run canon-retry's real decision
//! core ([`Retrier`](canon_retry::Retrier) and
//! [`Session`](canon_retry::Session), on virtual `now` values); each peer
//! is a small model of its documented algorithm and defaults, with its
//! sources in its module's docs. No wall clock, no threads, no async: the
//! same seed gives the same numbers, bit for bit.
//!
//! ```
//! use canon_sim::{Scenario, Strategy, run};
//!
//! let canon = run(Scenario::OutageOneProcess, Strategy::CanonCudo, 1);
//! let naive = run(Scenario::OutageOneProcess, Strategy::Naive3, 1);
//! assert!(canon.amplification_steady < 1.1);
//! assert!(naive.amplification_steady > 3.9);
//! assert_eq!(canon.hint_adherence, Some(1.0));
//! ```
//!
//! The `canon simulate` command runs it and prints a markdown table or
//! JSON; see the metrics' definitions in [`metrics`] and the scenarios in
//! [`scenario`].
//!
//! # Scale
//!
//! Each run simulates 60 s of warm-up, the fault and 60 s after it: at
//! 100 logical requests per second that is 24,000 logical requests, and
//! from tens of thousands to about a million events, depending on how
//! many attempts a strategy makes. `run_all` runs every pair.

pub mod engine;
pub mod metrics;
pub mod plot;
pub mod scenario;
pub mod sim;
pub mod strategy;

use std::time::Instant;

use canon_retry::Policy;

pub use metrics::{Metrics, Second, markdown_table};
pub use scenario::{Scenario, ScenarioSpec, UnknownScenario};
pub use strategy::{Strategy, UnknownStrategy};

use crate::sim::{Seeds, simulate};
use crate::strategy::{
    aws::AwsClient, backon::BackonClient, canon::CanonClient, gax::GaxClient, grpc::GrpcClient, mix_seed,
    naive::NaiveClient, no_retry::NoRetryClient, reqwest_retry::ReqwestRetryClient, stainless::StainlessClient,
    tower::TowerClient,
};

/// Runs one strategy in one scenario with `seed`.
///
/// The arrivals depend only on the seed and the scenario, so that every
/// strategy faces the same requests; each client's random source depends
/// on the strategy too.
pub fn run(scenario: Scenario, strategy: Strategy, seed: u64) -> Metrics {
    run_with(scenario, &scenario.spec(), strategy, seed)
}

/// Runs `scenario` with its parameters replaced by `spec`: a scaled-down
/// variant, such as the loopback harness's 6 s outage.
///
/// ```
/// use canon_sim::{Scenario, ScenarioSpec, Strategy, run_with};
///
/// let short = ScenarioSpec { warm_up: 10.0, fault: 6.0, after: 4.0, ..Scenario::OutageOneProcess.spec() };
/// let m = run_with(Scenario::OutageOneProcess, &short, Strategy::Naive3, 1);
/// assert!((m.amplification_fault - 4.0).abs() < 0.01);
/// ```
pub fn run_with(scenario: Scenario, spec: &ScenarioSpec, strategy: Strategy, seed: u64) -> Metrics {
    let spec = spec.clone();
    let scenario_id = scenario as u64;
    let seeds = Seeds { arrivals: mix_seed(&[seed, scenario_id, 1]), server: mix_seed(&[seed, scenario_id, 2]) };
    let client_seed = |client: usize| mix_seed(&[seed, scenario_id, 3, strategy as u64, client as u64]);
    let origin = Instant::now();
    let trace = match strategy {
        Strategy::CanonCudo => simulate(&spec, seeds, |c| CanonClient::new(Policy::cudo(), client_seed(c), origin)),
        Strategy::CanonDefault => {
            simulate(&spec, seeds, |c| CanonClient::new(Policy::default(), client_seed(c), origin))
        }
        Strategy::NoRetry => simulate(&spec, seeds, |_| NoRetryClient),
        Strategy::Naive3 => simulate(&spec, seeds, |_| NaiveClient),
        Strategy::AwsStandard => simulate(&spec, seeds, |c| AwsClient::new(client_seed(c))),
        Strategy::Stainless => simulate(&spec, seeds, |c| StainlessClient::new(client_seed(c))),
        Strategy::GrpcA6 => simulate(&spec, seeds, |c| GrpcClient::new(client_seed(c))),
        Strategy::TowerTpsBudget => simulate(&spec, seeds, |_| TowerClient::new()),
        Strategy::ReqwestRetry => simulate(&spec, seeds, |c| ReqwestRetryClient::new(client_seed(c))),
        Strategy::GaxThrottler => simulate(&spec, seeds, |c| GaxClient::new(client_seed(c))),
        Strategy::Backon => simulate(&spec, seeds, |_| BackonClient),
    };
    Metrics::from_trace(scenario, strategy, &spec, &trace)
}

/// Runs every pair of `scenarios` and `strategies`, scenario by scenario,
/// in the order given.
pub fn run_all(scenarios: &[Scenario], strategies: &[Strategy], seed: u64) -> Vec<Metrics> {
    scenarios
        .iter()
        .flat_map(|&scenario| strategies.iter().map(move |&strategy| run(scenario, strategy, seed)))
        .collect()
}
