//! `canon simulate`: what a retry policy would do in an outage, before it
//! ships.
//!
//! Runs canon-sim's deterministic simulation for the chosen scenarios and
//! strategies (each `all` by default) and prints a markdown table, or JSON
//! for scripts. `--plot FILE` also writes an SVG of amplification and
//! success rate over time, one line per strategy, one row per scenario.
//!
//! The JSON output is a contract: an array with one object per scenario
//! and strategy, in the order of the table, with `scenario`, `strategy`,
//! `amplification_first_10s`, `amplification_steady`, `goodput`,
//! `recovery_s` (null if the strategy never recovered), `p99_latency_ms`
//! (null without a success), `duplicates` and `hint_adherence` (null when
//! no retry followed a hint). Fields are only ever added. The metrics are
//! defined in `canon_sim::metrics`.
//!
//! Exit codes: 0 on success, 2 on a usage error (an unknown scenario or
//! strategy, a plot file that is not `.svg`), 1 when the plot cannot be
//! written.

use std::fmt;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use canon_sim::{Metrics, Scenario, Strategy};
use serde_json::{Value, json};

use crate::output::{self, Format, UsageError};

/// One scenario, or all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pick<T> {
    /// Every one.
    All,
    /// Just this one.
    One(T),
}

impl<T: Copy> Pick<T> {
    fn expand(self, all: &[T]) -> Vec<T> {
        match self {
            Pick::All => all.to_vec(),
            Pick::One(one) => vec![one],
        }
    }
}

fn pick<T: std::str::FromStr>(value: &str) -> Result<Pick<T>, String>
where
    T::Err: fmt::Display,
{
    if value == "all" { Ok(Pick::All) } else { value.parse().map(Pick::One).map_err(|e: T::Err| e.to_string()) }
}

/// Arguments of `canon simulate`.
#[derive(Debug, clap::Args)]
pub(crate) struct SimulateArgs {
    /// The scenario: outage-1proc, outage-fleet, metastable, metastable-fleet, region-capacity,
    /// lost-creates, or all.
    #[arg(long, value_name = "NAME", default_value = "all", value_parser = pick::<Scenario>)]
    scenario: Pick<Scenario>,
    /// The strategy: canon-cudo, canon-default, no-retry, naive-3, aws-standard, stainless,
    /// grpc-a6, tower-tps-budget, reqwest-retry, gax-throttler, backon, or all.
    #[arg(long, value_name = "NAME", default_value = "all", value_parser = pick::<Strategy>)]
    strategy: Pick<Strategy>,
    /// The seed; the same seed gives the same output.
    #[arg(long, value_name = "N", default_value_t = 1)]
    seed: u64,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Also write an SVG of amplification and success rate over time here.
    #[arg(long, value_name = "FILE")]
    plot: Option<PathBuf>,
}

pub(crate) fn run(args: &SimulateArgs) -> anyhow::Result<ExitCode> {
    if let Some(path) = &args.plot {
        if !path.extension().is_some_and(|e| e.eq_ignore_ascii_case("svg")) {
            return Err(
                UsageError(format!("--plot writes SVG; give a file ending in .svg, not {}", path.display())).into()
            );
        }
    }
    let scenarios = args.scenario.expand(&Scenario::ALL);
    let strategies = args.strategy.expand(&Strategy::ALL);
    let runs = canon_sim::run_all(&scenarios, &strategies, args.seed);
    if let Some(path) = &args.plot {
        let svg = canon_sim::plot::svg(&runs)?;
        std::fs::write(path, svg).with_context(|| format!("writing {}", path.display()))?;
    }
    match args.format {
        Format::Text => output::print(&canon_sim::markdown_table(&runs))?,
        Format::Json => output::print_json(&Value::Array(runs.iter().map(to_json).collect()))?,
    }
    Ok(ExitCode::SUCCESS)
}

/// `value` rounded to `decimals` places, so that the JSON does not carry
/// float noise.
fn round(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

fn to_json(m: &Metrics) -> Value {
    json!({
        "scenario": m.scenario.name(),
        "strategy": m.strategy.name(),
        "amplification_first_10s": round(m.amplification_first_10s, 4),
        "amplification_steady": round(m.amplification_steady, 4),
        "goodput": round(m.goodput, 4),
        "recovery_s": m.recovery_s,
        "p99_latency_ms": m.p99_latency_ms.map(|v| round(v, 1)),
        "duplicates": m.duplicates,
        "hint_adherence": m.hint_adherence.map(|v| round(v, 4)),
    })
}
