//! `canon simulate` as scripts use it: exit codes, the JSON contract, the
//! table, and the plot.

use std::process::{Command, Stdio};

use serde_json::Value;

/// What one run of the binary gave.
struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
}

fn canon(args: &[&str]) -> Outcome {
    let output =
        Command::new(env!("CARGO_BIN_EXE_canon")).args(args).stdin(Stdio::null()).output().expect("the binary runs");
    Outcome {
        code: output.status.code().expect("an exit code"),
        stdout: String::from_utf8(output.stdout).expect("UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("UTF-8"),
    }
}

const FIELDS: [&str; 9] = [
    "scenario",
    "strategy",
    "amplification_first_10s",
    "amplification_steady",
    "goodput",
    "recovery_s",
    "p99_latency_ms",
    "duplicates",
    "hint_adherence",
];

#[test]
fn exit_codes_follow_the_usage() {
    let table: &[(&[&str], i32)] = &[
        (&["simulate", "--scenario", "outage-1proc", "--strategy", "no-retry"], 0),
        (&["simulate", "--scenario", "outage-1proc", "--strategy", "no-retry", "--format", "json"], 0),
        (&["simulate", "--scenario", "nope"], 2),
        (&["simulate", "--strategy", "nope"], 2),
        (&["simulate", "--seed", "minus-one"], 2),
        (&["simulate", "--format", "yaml"], 2),
        (&["simulate", "--scenario", "outage-1proc", "--strategy", "no-retry", "--plot", "out.png"], 2),
    ];
    for (args, code) in table {
        let outcome = canon(args);
        assert_eq!(outcome.code, *code, "{args:?}: {}", outcome.stderr);
        if *code == 2 {
            assert!(outcome.stdout.is_empty(), "{args:?}");
            assert!(!outcome.stderr.is_empty(), "{args:?}");
        }
    }
}

#[test]
fn json_has_one_object_per_pair_with_the_contract_fields() {
    let outcome =
        canon(&["simulate", "--scenario", "lost-creates", "--strategy", "all", "--format", "json", "--seed", "3"]);
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    let value: Value = serde_json::from_str(&outcome.stdout).expect("JSON");
    let rows = value.as_array().expect("an array");
    assert_eq!(rows.len(), canon_sim::Strategy::ALL.len());
    for (row, strategy) in rows.iter().zip(canon_sim::Strategy::ALL) {
        let object = row.as_object().expect("an object");
        for field in FIELDS {
            assert!(object.contains_key(field), "{field} in {row}");
        }
        assert_eq!(row["scenario"], "lost-creates");
        assert_eq!(row["strategy"], strategy.name());
        assert!(row["amplification_first_10s"].is_number());
        assert!(row["amplification_steady"].is_number());
        assert!(row["goodput"].is_number());
        assert!(row["duplicates"].is_u64());
        assert!(row["recovery_s"].is_number() || row["recovery_s"].is_null());
        assert!(row["p99_latency_ms"].is_number() || row["p99_latency_ms"].is_null());
        assert!(row["hint_adherence"].is_number() || row["hint_adherence"].is_null());
    }
    let canon_row = &rows[0];
    assert_eq!(canon_row["duplicates"], 0);
}

#[test]
fn a_strategy_that_never_recovers_has_a_null_recovery() {
    let outcome = canon(&["simulate", "--scenario", "metastable", "--strategy", "naive-3", "--format", "json"]);
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    let value: Value = serde_json::from_str(&outcome.stdout).expect("JSON");
    assert_eq!(value[0]["recovery_s"], Value::Null);
    assert_eq!(value[0]["hint_adherence"], Value::Null);
}

#[test]
fn the_same_seed_gives_the_same_output() {
    let args =
        ["simulate", "--scenario", "outage-fleet", "--strategy", "canon-cudo", "--format", "json", "--seed", "9"];
    let first = canon(&args);
    let second = canon(&args);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(first.stdout, second.stdout);
}

#[test]
fn text_is_a_markdown_table_and_the_plot_an_svg() {
    let dir = std::env::temp_dir().join(format!("canon-simulate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let plot = dir.join("outage.svg");
    let outcome = canon(&[
        "simulate",
        "--scenario",
        "outage-1proc",
        "--strategy",
        "canon-cudo",
        "--plot",
        plot.to_str().unwrap(),
    ]);
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    let lines: Vec<&str> = outcome.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", outcome.stdout);
    assert!(lines[0].starts_with("| scenario | strategy |"));
    assert!(lines[2].starts_with("| outage-1proc | canon-cudo |"));
    let svg = std::fs::read_to_string(&plot).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("canon-cudo"));
    std::fs::remove_dir_all(&dir).unwrap();
}
