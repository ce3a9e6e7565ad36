//! The same seed gives the same numbers; another seed gives other ones.

use canon_sim::{Scenario, Strategy, markdown_table, run, run_all};

#[test]
fn the_same_seed_repeats_every_run_exactly() {
    let strategies = [Strategy::CanonCudo, Strategy::AwsStandard, Strategy::GaxThrottler, Strategy::GrpcA6];
    let first = run_all(&Scenario::ALL, &strategies, 7);
    let second = run_all(&Scenario::ALL, &strategies, 7);
    assert_eq!(first, second);
    assert_eq!(markdown_table(&first), markdown_table(&second));
}

#[test]
fn another_seed_draws_other_arrivals() {
    let a = run(Scenario::OutageOneProcess, Strategy::ReqwestRetry, 1);
    let b = run(Scenario::OutageOneProcess, Strategy::ReqwestRetry, 2);
    assert_ne!(a.timeline, b.timeline);
}

#[test]
fn baselines_are_what_they_say() {
    // (scenario, strategy, amplification first 10 s, steady)
    let table = [
        (Scenario::OutageOneProcess, Strategy::NoRetry, 1.0, 1.0),
        (Scenario::OutageOneProcess, Strategy::Naive3, 4.0, 4.0),
        (Scenario::OutageFleet, Strategy::NoRetry, 1.0, 1.0),
        (Scenario::OutageFleet, Strategy::Naive3, 4.0, 4.0),
    ];
    for (scenario, strategy, first, steady) in table {
        let m = run(scenario, strategy, 1);
        assert!((m.amplification_first_10s - first).abs() < 0.02, "{scenario} {strategy}: {m:?}");
        assert!((m.amplification_steady - steady).abs() < 0.02, "{scenario} {strategy}: {m:?}");
        assert_eq!(m.duplicates, 0);
    }
}
