//! The metrics, and how each is computed.
//!
//! Every window is relative to the fault: it starts at `F` (the end of the
//! warm-up) and ends at `E = F + fault`. Time is cut into whole seconds.
//!
//! | metric | definition |
//! |--------|------------|
//! | `amplification_first_10s` | attempts sent in `[F, F+10 s)` ÷ logical requests started in it |
//! | `amplification_steady` | the same over `[F+10 s, E)`, the rest of the fault |
//! | `amplification_fault` | the same over `[F, E)` (not in the JSON contract; for scaled-down faults shorter than 10 s) |
//! | `goodput` | logical requests that ended in success in `[F, E+30 s)` ÷ the requests the server could have served in it: the sum over its seconds of `min(capacity, offered load)` |
//! | `recovery_s` | seconds from `E` to the end of the first whole second (`[E+k, E+k+1)`) in which at least 99 % of the logical requests that ended, ended in success; `null` if none does before the run ends (60 s after `E`) |
//! | `p99_latency_ms` | the 99th percentile of the latency (first attempt to final success, waits included) of successful logical requests started at or after `F` |
//! | `duplicates` | executions of a create beyond its first (0 where nothing is created) |
//! | `hint_adherence` | of the retries that followed a failure carrying a hint (`Retry-After` or RetryInfo, the longer), the share sent at least the hint after that failure; `null` when no retry followed a hint |
//!
//! Goodput's capacity is what the server can serve successfully: 0 during
//! the outage (no strategy can do useful work then, so goodput there is
//! the share of the demand after the fault that was met, including
//! requests from the outage that succeeded after it), 50 then 125
//! requests/s in the metastable scenario (where the offered 100/s is the
//! bound once capacity returns: a client cannot use more than it asks
//! for), unlimited where another region or the same server can answer. A
//! strategy that finishes a backlog from the fault after it can exceed 1.
//!
//! Success is counted when a logical request ends (by its completion
//! time); amplification by when attempts are sent and requests start.

use std::fmt::Write as _;

use crate::engine::{Nanos, SECOND};
use crate::scenario::{Scenario, ScenarioSpec};
use crate::sim::{Bin, Trace};
use crate::strategy::Strategy;

/// The share of successes a second needs to count as recovered.
pub const RECOVERED: f64 = 0.99;

/// How long after the fault goodput is measured, in seconds.
pub const GOODPUT_AFTER: u64 = 30;

/// One second of a run, for plots.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Second {
    /// Seconds from the start of the fault (negative before it).
    pub offset: i64,
    /// Attempts ÷ logical requests started in this second, if any started.
    pub amplification: Option<f64>,
    /// Successes ÷ logical requests that ended in this second, if any ended.
    pub success_rate: Option<f64>,
}

/// What one strategy did in one scenario. See the [module docs](self).
#[derive(Debug, Clone, PartialEq)]
pub struct Metrics {
    /// The scenario.
    pub scenario: Scenario,
    /// The strategy.
    pub strategy: Strategy,
    /// Attempts per logical request in the first 10 s of the fault.
    pub amplification_first_10s: f64,
    /// Attempts per logical request over the rest of the fault.
    pub amplification_steady: f64,
    /// Attempts per logical request over the whole fault.
    pub amplification_fault: f64,
    /// Successes ÷ what the server could have served, from the fault to
    /// 30 s after it.
    pub goodput: f64,
    /// Seconds from the end of the fault to the end of the first second
    /// with at least 99 % success; `None` if it never came.
    pub recovery_s: Option<f64>,
    /// The 99th percentile latency of successes, in milliseconds; `None`
    /// without a success.
    pub p99_latency_ms: Option<f64>,
    /// Executions of a create beyond its first.
    pub duplicates: u64,
    /// The share of retries after a hint that waited at least the hint;
    /// `None` when no retry followed a hint.
    pub hint_adherence: Option<f64>,
    /// Each second from 10 s before the fault to the end of the run.
    pub timeline: Vec<Second>,
    /// Goodput of each second from the end of the fault: successes ÷
    /// `min(capacity, offered load)`.
    pub goodput_after_fault: Vec<f64>,
    /// Events the simulation processed.
    pub events: u64,
}

fn sum(bins: &[Bin], f: impl Fn(&Bin) -> u64) -> u64 {
    bins.iter().map(f).sum()
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

fn secs(t: Nanos) -> usize {
    (t / SECOND) as usize
}

impl Metrics {
    /// Computes the metrics of a run.
    pub(crate) fn from_trace(scenario: Scenario, strategy: Strategy, spec: &ScenarioSpec, trace: &Trace) -> Metrics {
        let bins = &trace.bins;
        let f = secs(spec.fault_start());
        let e = secs(spec.fault_end());
        let first = &bins[f..(f + 10).min(e)];
        let steady = &bins[(f + 10).min(e)..e];
        let amplification_first_10s = ratio(sum(first, |b| b.attempts), sum(first, |b| b.started));
        let amplification_steady = ratio(sum(steady, |b| b.attempts), sum(steady, |b| b.started));
        let fault = &bins[f..e];
        let amplification_fault = ratio(sum(fault, |b| b.attempts), sum(fault, |b| b.started));

        let offered = spec.offered();
        let servable = |second: usize| -> f64 {
            let capacity = spec.capacity(second as u64 * SECOND).unwrap_or(f64::INFINITY);
            capacity.min(offered)
        };
        let window_end = (e + GOODPUT_AFTER as usize).min(bins.len());
        let served: f64 = (f..window_end).map(servable).sum();
        let goodput = if served > 0.0 { sum(&bins[f..window_end], |b| b.succeeded) as f64 / served } else { 0.0 };
        let goodput_after_fault = (e..bins.len())
            .map(|s| if servable(s) > 0.0 { bins[s].succeeded as f64 / servable(s) } else { 0.0 })
            .collect();

        let recovery_s = bins[e..].iter().enumerate().find_map(|(k, bin)| {
            let ended = bin.succeeded + bin.failed;
            (ended > 0 && bin.succeeded as f64 >= RECOVERED * ended as f64).then_some((k + 1) as f64)
        });

        let mut latencies = trace.latencies.clone();
        latencies.sort_unstable();
        let p99_latency_ms = (!latencies.is_empty()).then(|| {
            let rank = ((latencies.len() as f64) * 0.99).ceil() as usize;
            latencies[rank.clamp(1, latencies.len()) - 1] as f64 / 1e6
        });

        let hint_adherence = (trace.hinted_retries > 0).then(|| ratio(trace.hint_honoured, trace.hinted_retries));

        let timeline = (f.saturating_sub(10)..bins.len())
            .map(|s| {
                let bin = &bins[s];
                let ended = bin.succeeded + bin.failed;
                Second {
                    offset: s as i64 - f as i64,
                    amplification: (bin.started > 0).then(|| ratio(bin.attempts, bin.started)),
                    success_rate: (ended > 0).then(|| ratio(bin.succeeded, ended)),
                }
            })
            .collect();

        Metrics {
            scenario,
            strategy,
            amplification_first_10s,
            amplification_steady,
            amplification_fault,
            goodput,
            recovery_s,
            p99_latency_ms,
            duplicates: trace.duplicates,
            hint_adherence,
            timeline,
            goodput_after_fault,
            events: trace.events,
        }
    }

    /// The first second after the fault, counted from its end, by whose
    /// end goodput reached `share` of what the server could serve; `None`
    /// if it never did.
    pub fn goodput_recovery_s(&self, share: f64) -> Option<f64> {
        self.goodput_after_fault.iter().position(|g| *g >= share).map(|k| (k + 1) as f64)
    }
}

fn number(value: f64, decimals: usize) -> String {
    format!("{value:.decimals$}")
}

fn optional(value: Option<f64>, decimals: usize, unit: &str) -> String {
    value.map_or_else(|| "—".to_owned(), |v| format!("{}{unit}", number(v, decimals)))
}

fn recovery(value: Option<f64>) -> String {
    value.map_or_else(|| "never".to_owned(), |v| format!("{} s", number(v, 0)))
}

/// The metrics as a markdown table, one row per scenario and strategy.
///
/// ```
/// let rows = [canon_sim::run(canon_sim::Scenario::OutageOneProcess, canon_sim::Strategy::NoRetry, 1)];
/// let table = canon_sim::markdown_table(&rows);
/// assert!(table.starts_with("| scenario | strategy |"));
/// assert!(table.contains("| outage-1proc | no-retry | 1.00 | 1.00 |"));
/// ```
pub fn markdown_table(rows: &[Metrics]) -> String {
    let mut out = String::from(
        "| scenario | strategy | amplification first 10 s | amplification steady | goodput | recovery | p99 latency | duplicates | hint adherence |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for m in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            m.scenario,
            m.strategy,
            number(m.amplification_first_10s, 2),
            number(m.amplification_steady, 2),
            number(m.goodput, 2),
            recovery(m.recovery_s),
            optional(m.p99_latency_ms, 0, " ms"),
            m.duplicates,
            optional(m.hint_adherence.map(|h| h * 100.0), 0, " %"),
        );
    }
    out
}
