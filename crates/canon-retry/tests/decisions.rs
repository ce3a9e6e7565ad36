//! The decision core on virtual time: exact waits, hints, clamps, the
//! deadline, idempotency, placements, refetch, budget and throttle.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use canon::{Code, Provider, Status};
use canon_retry::{
    AdaptiveThrottle, AttemptStatus, BudgetConfig, Call, Clock, ConstantRandom, Decision, Failure, GiveUpReason,
    Jitter, ManualClock, Outcome, Placement, Policy, Retrier, RetryBudget, ThrottleConfig, TransportKind, WaitReason,
};
use http::{HeaderMap, Method};

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

fn secs(seconds: u64) -> Duration {
    Duration::from_secs(seconds)
}

/// A retrier without a budget whose jitter draws are pinned at `draw`.
fn pinned(policy: Policy, draw: f64) -> Retrier {
    Retrier::builder(policy).random_source(ConstantRandom::new(draw)).no_budget().build()
}

/// A CUDO 503, with RetryInfo when `hint` is given.
fn unavailable(hint: Option<Duration>) -> Failure {
    let mut status = Status::new(Code::Unavailable, "The control plane is temporarily unavailable.");
    if let Some(hint) = hint {
        status = Status::builder(Code::Unavailable, "Retry later.").retry_delay(hint).build();
    }
    Failure::from_status(&status, Provider::Cudo, Some(503), None)
}

/// Decodes a response as a client would.
fn decoded(http_status: u16, headers: &[(&str, &str)], body: &str) -> Failure {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        map.insert(http::HeaderName::from_bytes(name.as_bytes()).unwrap(), value.parse().unwrap());
    }
    Failure::from_decoded(&canon::decode(http_status, &map, body.as_bytes()))
}

/// What a session decided after each failure: the waits and their reasons
/// while it retried, then why it gave up (if it did).
#[derive(Debug, PartialEq)]
struct Run {
    waits: Vec<(Duration, WaitReason)>,
    give_up: Option<GiveUpReason>,
}

/// Feeds `failures` to a fresh session of `call`, each attempt taking
/// `attempt_time` of virtual time, until the session gives up or the
/// failures run out.
fn run(retrier: &Retrier, call: Call, failures: &[Failure], attempt_time: Duration) -> Run {
    let clock = ManualClock::new();
    let mut session = retrier.start(clock.now(), call);
    let mut waits = Vec::new();
    for failure in failures {
        session.begin(clock.now()).expect("the attempt may begin");
        clock.advance(attempt_time);
        match session.failed(clock.now(), failure) {
            Ok(retry) => {
                waits.push((retry.wait, retry.reason));
                clock.advance(retry.wait);
            }
            Err(give_up) => return Run { waits, give_up: Some(give_up.reason) },
        }
    }
    Run { waits, give_up: None }
}

fn backoff_waits(millis: &[f64]) -> Vec<(Duration, WaitReason)> {
    millis.iter().map(|m| (Duration::from_secs_f64(m / 1000.0), WaitReason::Backoff)).collect()
}

#[test]
fn each_preset_waits_its_exact_sequence_then_runs_out_of_attempts() {
    let gcore_500 = decoded(500, &[], r#"{"exception_class":"InternalError","message":"Oops.","request_id":"r-1"}"#);
    // (preset, failure, expected waits in ms with full jitter at one half)
    let table: Vec<(Policy, Failure, Vec<f64>)> = vec![
        (Policy::default(), unavailable(None), vec![250.0, 500.0, 1000.0, 2000.0]),
        (Policy::cudo(), unavailable(None), vec![250.0, 400.0, 640.0, 1024.0, 1638.4, 2621.44, 4194.304]),
        // Equal jitter at one half is three quarters of 2 s, 4 s, 5 s.
        (Policy::gcore(), gcore_500, vec![1500.0, 3000.0, 3750.0]),
        (Policy::aip194_strict(), unavailable(None), vec![50.0, 65.0, 84.5, 109.85]),
    ];
    for (policy, failure, expected) in table {
        let name = policy.name();
        let failures = vec![failure; 20];
        let outcome = run(&pinned(policy, 0.5), Call::new(Method::GET), &failures, ms(10));
        assert_eq!(outcome.waits, backoff_waits(&expected), "{name}");
        assert_eq!(outcome.give_up, Some(GiveUpReason::AttemptsExhausted), "{name}");
    }
}

#[test]
fn each_jitter_mode_repeats_exactly_under_a_fixed_seed() {
    // Golden sequences: SplitMix64 is a fixed algorithm, so these hold on
    // every platform. They were computed independently of this crate, by a
    // transcription of SplitMix64 and of the jitter table in the `backoff`
    // docs; the pinned-draw tests in `backoff` explain the shapes.
    let table: &[(Jitter, [u64; 5])] = &[
        (Jitter::None, [500, 800, 1280, 2048, 3276]),
        (Jitter::Full, [194, 13, 1152, 1193, 1482]),
        (Jitter::Equal, [347, 406, 1216, 1620, 2379]),
        (Jitter::Decorrelated, [889, 536, 1499, 2830, 4115]),
        (Jitter::Proportional { min: 0.75, max: 1.0 }, [423, 603, 1248, 1834, 2828]),
    ];
    for (jitter, expected) in table {
        let policy = Policy::cudo().to_builder().jitter(*jitter).max_attempts(6).build().unwrap();
        let retrier = Retrier::builder(policy).seed(7).no_budget().build();
        let outcome = run(&retrier, Call::new(Method::GET), &vec![unavailable(None); 5], ms(1));
        let waits: Vec<u64> = outcome.waits.iter().map(|(w, _)| w.as_millis() as u64).collect();
        assert_eq!(waits, expected, "{jitter}");
    }
}

#[test]
fn same_seed_same_decisions_other_seed_other_decisions() {
    let decide = |seed: u64| {
        let retrier = Retrier::builder(Policy::cudo()).seed(seed).no_budget().build();
        run(&retrier, Call::new(Method::POST).with_generated_key(), &vec![unavailable(None); 7], ms(5))
    };
    assert_eq!(decide(11), decide(11));
    assert_ne!(decide(11), decide(12));
}

#[test]
fn the_first_wait_is_the_hint_then_the_backoff_sequence_resumes() {
    // (hints of successive failures in ms, expected (wait ms, reason)),
    // CUDO preset, full jitter at one half: steps of 250, 400, 640, 1024.
    type Row<'a> = (&'a [Option<u64>], &'a [(u64, WaitReason)]);
    let table: &[Row<'_>] = &[
        (
            &[Some(5000), None, None, Some(1000)],
            &[
                (5000, WaitReason::Hint),
                (400, WaitReason::Backoff),
                (640, WaitReason::Backoff),
                (1024, WaitReason::Backoff),
            ],
        ),
        (&[None, Some(3000)], &[(250, WaitReason::Backoff), (3000, WaitReason::Hint)]),
        (&[Some(5000), Some(5000), Some(5000)], &[(5000, WaitReason::Hint); 3]),
        // A zero hint is a valid "retry now": the backoff applies.
        (&[Some(0)], &[(250, WaitReason::Backoff)]),
    ];
    for (hints, expected) in table {
        let failures: Vec<Failure> = hints.iter().map(|h| unavailable(h.map(ms))).collect();
        let outcome = run(&pinned(Policy::cudo(), 0.5), Call::new(Method::GET), &failures, ms(10));
        let expected: Vec<(Duration, WaitReason)> = expected.iter().map(|(m, r)| (ms(*m), *r)).collect();
        assert_eq!(outcome.waits, expected, "{hints:?}");
    }
}

#[test]
fn retry_after_and_retry_info_both_count_and_the_longer_wins() {
    let body = r#"{"code":503,"status":"UNAVAILABLE","message":"Later.",
        "details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"3s"}]}"#;
    let table = [
        (decoded(503, &[("retry-after", "7")], body), secs(7)),
        (decoded(503, &[("retry-after", "1")], body), secs(3)),
        (decoded(503, &[], body), secs(3)),
        (decoded(503, &[("retry-after", "4")], ""), secs(4)),
        (decoded(503, &[("retry-after-ms", "1500")], "<html>busy</html>"), ms(1500)),
    ];
    for (failure, expected) in table {
        let outcome = run(&pinned(Policy::cudo(), 0.5), Call::new(Method::GET), &[failure], ms(1));
        assert_eq!(outcome.waits, [(expected, WaitReason::Hint)]);
    }
}

#[test]
fn hints_canon_cannot_read_are_ignored() {
    let negative = r#"{"code":503,"status":"UNAVAILABLE","message":"Later.",
        "details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"-5s"}]}"#;
    let garbled = r#"{"code":503,"status":"UNAVAILABLE","message":"Later.",
        "details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"soon"}]}"#;
    let past = httpdate::fmt_http_date(SystemTime::now() - secs(3600));
    let table = [
        decoded(503, &[], negative),
        decoded(503, &[], garbled),
        decoded(503, &[("retry-after", "soon")], ""),
        decoded(503, &[("retry-after", "-3")], ""),
        decoded(503, &[("retry-after", &past)], ""),
    ];
    for failure in table {
        assert_eq!(failure.hint, None, "{failure:?}");
        let outcome = run(&pinned(Policy::cudo(), 0.5), Call::new(Method::GET), &[failure], ms(1));
        assert_eq!(outcome.waits, [(ms(250), WaitReason::Backoff)]);
    }
}

#[test]
fn absurd_hints_are_clamped_to_the_maximum() {
    let policy = Policy::cudo().to_builder().max_hint(secs(10)).build().unwrap();
    let retrier = pinned(policy, 0.5);
    let clock = ManualClock::new();
    let mut session = retrier.start(clock.now(), Call::new(Method::GET));
    session.begin(clock.now()).unwrap();
    let retry = session.failed(clock.now(), &unavailable(Some(secs(86_400)))).unwrap();
    assert_eq!((retry.wait, retry.reason, retry.hint), (secs(10), WaitReason::Hint, Some(secs(10))));
    // The history keeps the hint as the server gave it.
    assert_eq!(session.history()[0].hint, Some(secs(86_400)));

    // Clamped to the default five minutes, a day's hint still does not fit
    // a one-minute deadline: the session gives up at once.
    let outcome =
        run(&pinned(Policy::default(), 0.5), Call::new(Method::GET), &[unavailable(Some(secs(86_400)))], ms(1));
    assert_eq!(outcome.give_up, Some(GiveUpReason::NoRetryFitsBeforeDeadline));
}

#[test]
fn gives_up_at_once_when_no_retry_fits_before_the_deadline() {
    // Default policy: a 60 s deadline. Attempts take 5 s each.
    let retrier = pinned(Policy::default(), 0.5);
    let clock = ManualClock::new();
    let start = clock.now();
    let mut session = retrier.start(start, Call::new(Method::GET));
    session.begin(clock.now()).unwrap();
    clock.advance(secs(5));
    let retry = session.failed(clock.now(), &unavailable(Some(secs(40)))).unwrap();
    assert_eq!(retry.wait, secs(40));
    clock.advance(retry.wait);
    let attempt = session.begin(clock.now()).unwrap();
    // The second attempt may take only what is left of the deadline.
    assert_eq!(attempt.timeout, secs(15));
    clock.advance(secs(5));
    // 50 s in: a 10 s hint would end exactly at the deadline.
    let give_up = session.failed(clock.now(), &unavailable(Some(secs(10)))).unwrap_err();
    assert_eq!(give_up.reason, GiveUpReason::NoRetryFitsBeforeDeadline);
    assert_eq!(give_up.attempts, 2);
    assert_eq!(session.history()[1].wait, None);
    // Asking again changes nothing.
    assert_eq!(session.begin(clock.now()).unwrap_err(), give_up);
}

#[test]
fn an_attempt_cannot_begin_after_the_deadline() {
    let retrier = pinned(Policy::default(), 0.5);
    let clock = ManualClock::new();
    let mut session = retrier.start(clock.now(), Call::new(Method::GET));
    session.begin(clock.now()).unwrap();
    let retry = session.failed(clock.now(), &unavailable(None)).unwrap();
    // The caller overslept (a refetch took long).
    clock.advance(retry.wait + secs(120));
    assert_eq!(session.begin(clock.now()).unwrap_err().reason, GiveUpReason::DeadlinePassed);
}

#[test]
fn only_idempotent_requests_are_retried() {
    let table = [
        (Call::new(Method::GET), None),
        (Call::new(Method::PUT), None),
        (Call::new(Method::DELETE), None),
        (Call::new(Method::POST), Some(GiveUpReason::NotIdempotent)),
        (Call::new(Method::PATCH), Some(GiveUpReason::NotIdempotent)),
        (Call::new(Method::POST).with_idempotency_key("vm-7f3a"), None),
        (Call::new(Method::POST).with_generated_key(), None),
    ];
    let failures = [
        unavailable(None),
        Failure::transport(TransportKind::Connect),
        Failure::transport(TransportKind::Reset),
        Failure::transport(TransportKind::Timeout),
        Failure::transport(TransportKind::TruncatedBody),
    ];
    for (call, give_up) in table {
        for failure in &failures {
            let outcome = run(&pinned(Policy::cudo(), 0.5), call.clone(), std::slice::from_ref(failure), ms(1));
            assert_eq!(outcome.give_up, give_up, "{call:?} {failure}");
        }
    }
    // An error not worth retrying is that, whatever the method.
    let invalid = Failure::from_status(&Status::new(Code::InvalidArgument, "bad"), Provider::Cudo, Some(400), None);
    let outcome = run(&pinned(Policy::cudo(), 0.5), Call::new(Method::POST), &[invalid], ms(1));
    assert_eq!(outcome.give_up, Some(GiveUpReason::NotRetryable));
}

#[test]
fn a_key_is_generated_once_and_sent_on_every_attempt() {
    let retrier = Retrier::builder(Policy::cudo()).seed(3).no_budget().build();
    let clock = ManualClock::new();
    for call in [Call::new(Method::POST).with_generated_key(), Call::new(Method::POST).with_idempotency_key("vm-1")] {
        let mut session = retrier.start(clock.now(), call);
        let mut keys = Vec::new();
        for _ in 0..4 {
            let attempt = session.begin(clock.now()).unwrap();
            keys.push(attempt.idempotency_key.clone().unwrap());
            let retry = session.failed(clock.now(), &unavailable(None)).unwrap();
            clock.advance(retry.wait);
        }
        assert!(keys.iter().all(|k| *k == keys[0]), "{keys:?}");
        assert_eq!(session.idempotency_key(), Some(&*keys[0]));
    }
    // Two logical requests get two keys.
    let a = retrier.start(clock.now(), Call::new(Method::POST).with_generated_key());
    let b = retrier.start(clock.now(), Call::new(Method::POST).with_generated_key());
    assert_ne!(a.idempotency_key(), b.idempotency_key());
}

/// The CUDO capacity error: RESOURCE_EXHAUSTED naming machine types.
fn cudo_capacity(machine_types: &str) -> Failure {
    let body = format!(
        r#"{{"code":429,"status":"RESOURCE_EXHAUSTED","message":"No capacity.",
          "details":[{{"@type":"type.googleapis.com/google.rpc.ErrorInfo","domain":"compute.cudo.dev",
            "reason":"MACHINE_TYPE_UNAVAILABLE","metadata":{{"availableMachineTypes":{machine_types}}}}}]}}"#
    );
    decoded(429, &[], &body)
}

#[test]
fn elsewhere_tries_the_errors_alternatives_first_then_the_callers() {
    let at = |region: &str, machine_type: &str| Placement::new().with_region(region).with_machine_type(machine_type);
    let call = Call::new(Method::POST).with_idempotency_key("vm-1").with_placements([
        at("gb-1", "x99"),
        at("se-1", "x99"),
        at("gb-1", "x2"),
    ]);
    let retrier = pinned(Policy::cudo().to_builder().max_attempts(10).build().unwrap(), 0.5);
    let clock = ManualClock::new();
    let mut session = retrier.start(clock.now(), call);
    // (the error at each placement, the placement expected next)
    let steps = [
        (cudo_capacity(r#"["x2","x4"]"#), Some(at("gb-1", "x2"))),
        // Names x4 again (already queued) and x8 (new): x4, then x8.
        (cudo_capacity(r#"["x4","x8"]"#), Some(at("gb-1", "x4"))),
        // Names only x2, tried already: the queue's next.
        (cudo_capacity(r#"["x2"]"#), Some(at("gb-1", "x8"))),
        (cudo_capacity(r#"["x2"]"#), Some(at("se-1", "x99"))),
        // The caller's last placement was reached through the error, and
        // x99 in se-1 is where this attempt was: nothing left.
        (cudo_capacity(r#"["x99"]"#), None),
    ];
    let mut placements = vec![session.placement().cloned()];
    for (failure, expected) in steps {
        let attempt = session.begin(clock.now()).unwrap();
        assert_eq!(attempt.placement, *placements.last().unwrap());
        match session.failed(clock.now(), &failure) {
            Ok(retry) => {
                assert_eq!((retry.wait, retry.reason), (Duration::ZERO, WaitReason::Elsewhere));
                assert_eq!(retry.placement, expected);
                placements.push(retry.placement);
            }
            Err(give_up) => {
                assert_eq!(expected, None);
                assert_eq!(give_up.reason, GiveUpReason::NoPlacementLeft);
            }
        }
    }
    let tried: Vec<String> = session.history().iter().map(|r| r.placement.as_ref().unwrap().to_string()).collect();
    assert_eq!(
        tried,
        [
            "region=gb-1 machine_type=x99",
            "region=gb-1 machine_type=x2",
            "region=gb-1 machine_type=x4",
            "region=gb-1 machine_type=x8",
            "region=se-1 machine_type=x99",
        ]
    );
}

#[test]
fn gcore_capacity_moves_to_the_callers_next_region_and_honours_a_hint() {
    let forbidden = decoded(
        403,
        &[],
        r#"{"exception_class":"ForbiddenError","message":"Flavor g1-gpu is out of capacity.","request_id":"r-9"}"#,
    );
    let call = Call::new(Method::POST).with_idempotency_key("k").with_placements([
        Placement::new().with_region("luxembourg-2").with_flavor("g1-gpu"),
        Placement::new().with_region("frankfurt-1").with_flavor("g1-gpu"),
    ]);
    let retrier = pinned(Policy::gcore(), 0.5);
    let clock = ManualClock::new();
    let mut session = retrier.start(clock.now(), call);
    session.begin(clock.now()).unwrap();
    let retry = session.failed(clock.now(), &forbidden).unwrap();
    assert_eq!(retry.placement.unwrap().region.as_deref(), Some("frankfurt-1"));
    assert_eq!(retry.wait, Duration::ZERO);
    session.begin(clock.now()).unwrap();
    let with_hint = forbidden.clone().with_hint(Some(secs(2)));
    assert_eq!(session.failed(clock.now(), &with_hint).unwrap_err().reason, GiveUpReason::NoPlacementLeft);

    // With a hint, a move waits the hint.
    let call =
        Call::new(Method::GET).with_placements([Placement::new().with_region("a"), Placement::new().with_region("b")]);
    let outcome = run(&pinned(Policy::gcore(), 0.5), call, &[with_hint], ms(1));
    assert_eq!(outcome.waits, [(secs(2), WaitReason::Hint)]);
}

#[test]
fn aborted_asks_for_a_refetch_before_the_retry() {
    let aborted = Failure::from_status(
        &Status::new(Code::Aborted, "The resource changed; re-read it."),
        Provider::Cudo,
        Some(409),
        None,
    );
    let retrier = pinned(Policy::cudo(), 0.5);
    let clock = ManualClock::new();
    let mut session = retrier.start(clock.now(), Call::new(Method::PUT));
    session.begin(clock.now()).unwrap();
    let retry = session.failed(clock.now(), &aborted).unwrap();
    assert!(retry.refetch);
    assert_eq!((retry.wait, retry.reason), (ms(250), WaitReason::Backoff));
    clock.advance(retry.wait);
    session.begin(clock.now()).unwrap();
    let retry = session.failed(clock.now(), &unavailable(None)).unwrap();
    assert!(!retry.refetch);
}

#[test]
fn the_strict_preset_retries_unavailable_and_nothing_else() {
    let status = |code: Code| Failure::from_status(&Status::new(code, "x"), Provider::Cudo, None, None);
    let table = [
        (status(Code::Unavailable), None),
        (Failure::transport(TransportKind::Reset), None),
        (Failure::transport(TransportKind::Connect), None),
        (Failure::transport(TransportKind::Timeout), Some(GiveUpReason::ExcludedByPolicy)),
        (status(Code::DeadlineExceeded), Some(GiveUpReason::ExcludedByPolicy)),
        (status(Code::ResourceExhausted), Some(GiveUpReason::ExcludedByPolicy)),
        (status(Code::Aborted), Some(GiveUpReason::ExcludedByPolicy)),
        (status(Code::Internal), Some(GiveUpReason::NotRetryable)),
        (status(Code::Unknown), Some(GiveUpReason::NotRetryable)),
        (status(Code::Cancelled), Some(GiveUpReason::NotRetryable)),
        (status(Code::InvalidArgument), Some(GiveUpReason::NotRetryable)),
        (status(Code::DataLoss), Some(GiveUpReason::NotRetryable)),
        // Gcore's advice retries a 500; the strict preset does not.
        (
            decoded(500, &[], r#"{"exception_class":"InternalError","message":"x","request_id":"r"}"#),
            Some(GiveUpReason::ExcludedByPolicy),
        ),
    ];
    for (failure, give_up) in table {
        let strict = pinned(Policy::aip194_strict(), 0.5);
        let outcome = run(&strict, Call::new(Method::GET), std::slice::from_ref(&failure), ms(1));
        assert_eq!(outcome.give_up, give_up, "{failure}");
    }
}

#[test]
fn the_gcore_table_decides_under_the_gcore_preset() {
    let body = |class: &str| format!(r#"{{"exception_class":"{class}","message":"x","request_id":"r"}}"#);
    let table = [
        (decoded(400, &[], &body("ValidationError")), Some(GiveUpReason::NotRetryable)),
        (decoded(404, &[], &body("NotFoundError")), Some(GiveUpReason::NotRetryable)),
        (decoded(400, &[], &body("QuotaLimitExceed")), Some(GiveUpReason::NotRetryable)),
        (decoded(405, &[], &body("HTTPError")), Some(GiveUpReason::NotRetryable)),
        (decoded(429, &[("retry-after", "7")], &body("Throttled")), None),
        (decoded(500, &[], &body("InternalError")), None),
    ];
    for (failure, give_up) in table {
        let outcome = run(&pinned(Policy::gcore(), 0.5), Call::new(Method::GET), std::slice::from_ref(&failure), ms(1));
        assert_eq!(outcome.give_up, give_up, "{failure}");
    }
    let throttled = decoded(429, &[("retry-after", "7")], &body("Throttled"));
    let outcome = run(&pinned(Policy::gcore(), 0.5), Call::new(Method::GET), &[throttled], ms(1));
    assert_eq!(outcome.waits, [(secs(7), WaitReason::Hint)]);

    // At most 3 retries of a 500, even where the policy allows more.
    let roomy = Policy::gcore().to_builder().max_attempts(10).build().unwrap();
    let outcome =
        run(&pinned(roomy, 0.5), Call::new(Method::GET), &vec![decoded(500, &[], &body("InternalError")); 6], ms(1));
    assert_eq!(outcome.waits.len(), 3);
    assert_eq!(outcome.give_up, Some(GiveUpReason::ProviderLimit));
}

#[test]
fn an_exhausted_budget_ends_the_request_with_its_reason() {
    let config = BudgetConfig::new(0.0, 0.0, secs(1_000_000)).unwrap().with_initial_balance(2.0).unwrap();
    let budget = Arc::new(RetryBudget::new(config));
    let retrier =
        Retrier::builder(Policy::cudo()).random_source(ConstantRandom::new(0.5)).budget(budget.clone()).build();
    let outcome = run(&retrier, Call::new(Method::GET), &vec![unavailable(None); 5], ms(1));
    assert_eq!(outcome.waits.len(), 2);
    assert_eq!(outcome.give_up, Some(GiveUpReason::BudgetExhausted));
}

#[test]
fn success_refunds_what_the_retries_cost() {
    let config = BudgetConfig::new(0.0, 0.0, secs(1_000_000)).unwrap().with_initial_balance(3.0).unwrap();
    let budget = Arc::new(RetryBudget::new(config));
    let retrier = Retrier::builder(Policy::cudo()).seed(1).budget(budget.clone()).build();
    let clock = ManualClock::new();
    let mut session = retrier.start(clock.now(), Call::new(Method::GET));
    for _ in 0..2 {
        session.begin(clock.now()).unwrap();
        let retry = session.failed(clock.now(), &unavailable(None)).unwrap();
        clock.advance(retry.wait);
    }
    assert!((budget.balance(clock.now()) - 1.0).abs() < 1e-3);
    session.begin(clock.now()).unwrap();
    assert_eq!(session.on_outcome(clock.now(), &Outcome::Success), Decision::Done);
    assert!((budget.balance(clock.now()) - 3.0).abs() < 1e-3);
}

#[test]
fn the_budget_earns_on_answers_not_on_sends() {
    // A ratio of one half, nothing to start with, and earnings that never
    // expire: the balance counts what each way of ending earned.
    let config = BudgetConfig::new(0.5, 0.0, secs(1_000_000)).unwrap().with_initial_balance(0.0).unwrap();
    let not_found = Failure::from_status(&Status::new(Code::NotFound, "No such VM."), Provider::Cudo, Some(404), None);
    // (how the request ends, balance after it)
    let table: [(&str, Option<Failure>, f64); 4] = [
        ("success", None, 0.5),
        ("404: the server answered", Some(not_found), 0.5),
        ("503: overload", Some(unavailable(None)), 0.0),
        ("reset: overload", Some(Failure::transport(TransportKind::Reset)), 0.0),
    ];
    for (name, failure, expected) in table {
        let budget = Arc::new(RetryBudget::new(config));
        let retrier =
            Retrier::builder(Policy::cudo()).random_source(ConstantRandom::new(0.5)).budget(budget.clone()).build();
        let clock = ManualClock::new();
        let mut session = retrier.start(clock.now(), Call::new(Method::GET));
        session.begin(clock.now()).unwrap();
        assert_eq!(budget.balance(clock.now()), 0.0, "{name}: sending earns nothing");
        match failure {
            None => session.succeeded(clock.now()),
            Some(failure) => {
                assert!(session.failed(clock.now(), &failure).is_err(), "{name}");
            }
        }
        assert_eq!(budget.balance(clock.now()), expected, "{name}");
    }
}

#[test]
fn a_success_after_retries_earns_and_refunds_them() {
    // Two whole retries, and a ratio of 0.1; the attempts take no virtual
    // time, so nothing decays.
    let config = BudgetConfig::new(0.1, 0.0, secs(1_000_000)).unwrap().with_initial_balance(2.0).unwrap();
    let budget = Arc::new(RetryBudget::new(config));
    let retrier = Retrier::builder(Policy::cudo()).seed(5).budget(budget.clone()).build();
    let clock = ManualClock::new();
    let mut session = retrier.start(clock.now(), Call::new(Method::GET));
    for balance in [1.0, 0.0] {
        session.begin(clock.now()).unwrap();
        session.failed(clock.now(), &Failure::transport(TransportKind::Reset)).unwrap();
        assert_eq!(budget.balance(clock.now()), balance);
    }
    session.begin(clock.now()).unwrap();
    session.succeeded(clock.now());
    assert!((budget.balance(clock.now()) - 2.1).abs() < 1e-9, "{}", budget.balance(clock.now()));
}

#[test]
fn a_drained_budget_lets_a_probe_through_after_a_while() {
    // Drained, no traffic: the floor of 0.1 retries/s over a 10 s ttl.
    let config = BudgetConfig::new(0.0, 0.1, secs(10)).unwrap().with_initial_balance(0.0).unwrap();
    let budget = Arc::new(RetryBudget::new(config));
    // Draws pinned at zero: any fraction wins its lottery.
    let retrier =
        Retrier::builder(Policy::cudo()).random_source(ConstantRandom::new(0.0)).budget(budget.clone()).build();
    let clock = ManualClock::new();
    let mut session = retrier.start(clock.now(), Call::new(Method::GET));
    session.begin(clock.now()).unwrap();
    assert_eq!(session.failed(clock.now(), &unavailable(None)).unwrap_err().reason, GiveUpReason::BudgetExhausted);

    clock.advance(secs(5));
    assert!(budget.balance(clock.now()) > 0.0);
    let mut session = retrier.start(clock.now(), Call::new(Method::GET));
    session.begin(clock.now()).unwrap();
    assert!(session.failed(clock.now(), &unavailable(None)).is_ok());
}

#[test]
fn the_throttle_rejects_locally_and_counts_accepts() {
    let throttle = Arc::new(AdaptiveThrottle::new(ThrottleConfig::new(2.0, secs(30), 0.9).unwrap()));
    let now = Instant::now();
    for _ in 0..100 {
        throttle.record_request(now);
    }
    // Draws pinned at zero: rejected whenever the probability is above zero.
    let retrier = Retrier::builder(Policy::cudo())
        .random_source(ConstantRandom::new(0.0))
        .no_budget()
        .throttle(throttle.clone())
        .build();
    let mut session = retrier.start(now, Call::new(Method::GET));
    let give_up = session.begin(now).unwrap_err();
    assert_eq!((give_up.reason, give_up.attempts), (GiveUpReason::Throttled, 0));
    assert!(session.history().is_empty());

    // Accepted answers bring the probability down to zero.
    for _ in 0..60 {
        throttle.record_accepted(now);
    }
    let mut session = retrier.start(now, Call::new(Method::GET));
    session.begin(now).unwrap();
    let not_found = Failure::from_status(&Status::new(Code::NotFound, "x"), Provider::Cudo, Some(404), None);
    assert_eq!(session.failed(now, &not_found).unwrap_err().reason, GiveUpReason::NotRetryable);
    assert_eq!(throttle.counts(now), (102.0, 61.0));
}

#[test]
fn the_history_records_status_request_id_hint_and_wait() {
    let retrier = pinned(Policy::cudo(), 0.5);
    let clock = ManualClock::new();
    let mut session = retrier.start(clock.now(), Call::new(Method::GET));
    session.begin(clock.now()).unwrap();
    clock.advance(ms(120));
    let retry = session.failed(clock.now(), &unavailable(Some(secs(2))).with_request_id("req-a")).unwrap();
    clock.advance(retry.wait);
    session.begin(clock.now()).unwrap();
    clock.advance(ms(80));
    session.failed(clock.now(), &Failure::transport(TransportKind::Reset)).unwrap();
    let history = session.history();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0].status, AttemptStatus::Error { code: Code::Unavailable, http_status: Some(503) });
    assert_eq!(history[0].request_id.as_deref(), Some("req-a"));
    assert_eq!((history[0].started, history[0].ended), (Duration::ZERO, ms(120)));
    assert_eq!((history[0].hint, history[0].wait), (Some(secs(2)), Some(secs(2))));
    assert_eq!(history[1].started, ms(2120));
    assert_eq!(history[1].status, AttemptStatus::Transport(TransportKind::Reset));
    assert_eq!(history[1].wait, Some(ms(400)));
    assert_eq!(history[0].to_string(), "attempt 1: 503 UNAVAILABLE (request id req-a), then waited 2s (hint)");
}

#[test]
fn seeded_small_rng_works_as_a_random_source() {
    use rand::SeedableRng;
    let decide = || {
        let rng = rand::rngs::SmallRng::seed_from_u64(5);
        let retrier = Retrier::builder(Policy::cudo()).random_source(rng).no_budget().build();
        run(&retrier, Call::new(Method::GET), &vec![unavailable(None); 4], ms(1))
    };
    assert_eq!(decide(), decide());
}
