//! Properties of every decision, for any policy, hints and timing:
//! waits stay under the cap unless a hint is longer, no wait ends past the
//! deadline, no retry comes sooner than its hint, and attempts stay within
//! the policy.

use std::time::Duration;

use canon::{Code, Provider, Status};
use canon_retry::{Call, Clock, Failure, GiveUpReason, Jitter, ManualClock, Policy, Retrier, TransportKind};
use http::Method;
use proptest::prelude::*;

fn jitter() -> impl Strategy<Value = Jitter> {
    prop_oneof![
        Just(Jitter::None),
        Just(Jitter::Full),
        Just(Jitter::Equal),
        Just(Jitter::Decorrelated),
        (0.0..=1.0f64, 0.0..=1.0f64).prop_map(|(a, b)| Jitter::Proportional { min: a.min(b), max: a.max(b) }),
    ]
}

fn policy() -> impl Strategy<Value = Policy> {
    (1u64..5_000, 1.0..4.0f64, 1u64..100, jitter(), 1u32..12, 1u64..600, 1u64..900).prop_map(
        |(base_ms, multiplier, cap_factor, jitter, attempts, deadline_s, max_hint_s)| {
            let base = Duration::from_millis(base_ms);
            Policy::builder()
                .backoff(base, multiplier, base * cap_factor as u32)
                .jitter(jitter)
                .max_attempts(attempts)
                .deadline(Duration::from_secs(deadline_s))
                .no_attempt_timeout()
                .max_hint(Duration::from_secs(max_hint_s))
                .build()
                .expect("the strategy builds valid policies")
        },
    )
}

/// A failure: a 503 with an optional hint, or a transport reset.
fn failure() -> impl Strategy<Value = Failure> {
    prop_oneof![
        4 => proptest::option::of(0u64..1_200_000).prop_map(|hint_ms| {
            let status = Status::new(Code::Unavailable, "later");
            Failure::from_status(&status, Provider::Cudo, Some(503), hint_ms.map(Duration::from_millis))
        }),
        1 => Just(Failure::transport(TransportKind::Reset)),
    ]
}

proptest! {
    #[test]
    fn every_decision_keeps_its_promises(
        policy in policy(),
        seed in any::<u64>(),
        steps in proptest::collection::vec((failure(), 0u64..10_000), 1..16),
    ) {
        let retrier = Retrier::builder(policy.clone()).seed(seed).no_budget().build();
        let clock = ManualClock::new();
        let mut session = retrier.start(clock.now(), Call::new(Method::GET));
        let deadline = session.deadline();
        let cap = policy.backoff().cap();
        for (failure, attempt_ms) in steps {
            match session.begin(clock.now()) {
                Ok(attempt) => prop_assert!(clock.now() + attempt.timeout <= deadline),
                Err(give_up) => {
                    prop_assert_eq!(give_up.reason, GiveUpReason::DeadlinePassed);
                    break;
                }
            }
            clock.advance(Duration::from_millis(attempt_ms));
            let now = clock.now();
            match session.failed(now, &failure) {
                Ok(retry) => {
                    let hint = failure.hint.map(|h| h.min(policy.max_hint()));
                    // Under the cap, unless a (clamped) hint is longer.
                    prop_assert!(retry.wait <= cap.max(hint.unwrap_or_default()), "{:?} > {:?}", retry.wait, cap);
                    // Never past the deadline.
                    prop_assert!(now + retry.wait < deadline);
                    // Never sooner than the hint.
                    if let Some(hint) = hint {
                        prop_assert!(retry.wait >= hint);
                    }
                    prop_assert!(retry.attempt <= policy.max_attempts());
                    clock.advance(retry.wait);
                }
                Err(give_up) => {
                    prop_assert!(matches!(
                        give_up.reason,
                        GiveUpReason::AttemptsExhausted | GiveUpReason::NoRetryFitsBeforeDeadline
                    ), "{:?}", give_up.reason);
                    break;
                }
            }
        }
        prop_assert!(session.attempts() <= policy.max_attempts());
        prop_assert_eq!(session.history().len() as u32, session.attempts());
    }

    #[test]
    fn with_a_hint_every_wait_is_at_least_the_hint(
        seed in any::<u64>(),
        hints_ms in proptest::collection::vec(0u64..30_000, 1..8),
    ) {
        // The CUDO preset, every failure carrying RetryInfo: full hint
        // adherence, which the outage simulator checks.
        let policy = Policy::cudo().to_builder().max_attempts(20).deadline(Duration::from_secs(3600)).build().unwrap();
        let retrier = Retrier::builder(policy).seed(seed).no_budget().build();
        let clock = ManualClock::new();
        let mut session = retrier.start(clock.now(), Call::new(Method::GET));
        for hint_ms in hints_ms {
            session.begin(clock.now()).unwrap();
            let status = Status::builder(Code::Unavailable, "later").retry_delay(Duration::from_millis(hint_ms)).build();
            let failure = Failure::from_status(&status, Provider::Cudo, Some(503), None);
            let retry = session.failed(clock.now(), &failure).unwrap();
            prop_assert!(retry.wait >= Duration::from_millis(hint_ms));
            clock.advance(retry.wait);
        }
    }
}
