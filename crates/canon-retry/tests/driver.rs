//! The tokio driver on paused (virtual) time: no test sleeps for real.

#![cfg(feature = "tokio")]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use canon::{Code, Provider, Status};
use canon_retry::{
    AttemptContext, AttemptStatus, Call, ConstantRandom, Driver, Failure, GiveUpReason, Operation, Placement, Policy,
    Retrier, TransportKind, WaitReason,
};
use http::Method;
use tokio::time::Instant;

fn secs(seconds: u64) -> Duration {
    Duration::from_secs(seconds)
}

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

/// A driver without a budget, jitter pinned at one half.
fn driver(policy: Policy) -> Driver {
    Driver::new(Retrier::builder(policy).random_source(ConstantRandom::new(0.5)).no_budget().build())
}

fn unavailable(hint: Option<Duration>, request_id: &str) -> Failure {
    let status = Status::new(Code::Unavailable, "Try again later.");
    Failure::from_status(&status, Provider::Cudo, Some(503), hint).with_request_id(request_id)
}

#[tokio::test(start_paused = true)]
async fn retries_until_success_waiting_each_hint() {
    let started = Instant::now();
    let result = driver(Policy::cudo())
        .run(Call::new(Method::GET), |attempt| async move {
            tokio::time::sleep(ms(100)).await;
            if attempt.number < 3 { Err(unavailable(Some(secs(1)), "r")) } else { Ok(attempt.number) }
        })
        .await;
    assert_eq!(result.unwrap(), 3);
    // Three attempts of 100 ms, two waits of the 1 s hint.
    assert_eq!(started.elapsed(), ms(2300));
}

#[tokio::test(start_paused = true)]
async fn a_post_without_a_key_is_tried_once() {
    let calls = Arc::new(Mutex::new(0));
    let counter = Arc::clone(&calls);
    let error = driver(Policy::cudo())
        .run(Call::new(Method::POST), move |_| {
            *counter.lock().unwrap() += 1;
            async { Err::<(), _>(unavailable(None, "r-1")) }
        })
        .await
        .unwrap_err();
    assert_eq!(*calls.lock().unwrap(), 1);
    assert_eq!(error.kind(), GiveUpReason::NotIdempotent);
    assert_eq!(error.last_error().unwrap().request_id.as_deref(), Some("r-1"));
}

#[tokio::test(start_paused = true)]
async fn a_post_with_a_generated_key_sends_the_same_key_every_time() {
    let keys = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&keys);
    let result = driver(Policy::cudo())
        .run(Call::new(Method::POST).with_generated_key(), move |attempt: AttemptContext| {
            seen.lock().unwrap().push(attempt.idempotency_key.clone().unwrap());
            async move { if attempt.number < 4 { Err(Failure::transport(TransportKind::Reset)) } else { Ok(()) } }
        })
        .await;
    assert!(result.is_ok());
    let keys = keys.lock().unwrap();
    assert_eq!(keys.len(), 4);
    assert!(keys.iter().all(|k| *k == keys[0]));
}

#[tokio::test(start_paused = true)]
async fn an_attempt_past_its_timeout_is_a_transport_timeout() {
    let policy = Policy::cudo().to_builder().attempt_timeout(secs(5)).build().unwrap();
    let started = Instant::now();
    let result = driver(policy)
        .run(Call::new(Method::GET), |attempt| async move {
            if attempt.number == 1 {
                tokio::time::sleep(secs(3600)).await;
            }
            Ok::<_, Failure>("done")
        })
        .await;
    assert_eq!(result.unwrap(), "done");
    // The 5 s timeout, then the first backoff step (250 ms).
    assert_eq!(started.elapsed(), ms(5250));

    // The strict AIP-194 preset does not retry DEADLINE_EXCEEDED.
    let policy = Policy::aip194_strict().to_builder().attempt_timeout(secs(5)).build().unwrap();
    let error = driver(policy)
        .run(Call::new(Method::GET), |_| async {
            tokio::time::sleep(secs(3600)).await;
            Ok::<_, Failure>(())
        })
        .await
        .unwrap_err();
    assert_eq!(error.kind(), GiveUpReason::ExcludedByPolicy);
    assert!(error.last_error().is_none());
    assert_eq!(error.history()[0].status, AttemptStatus::Transport(TransportKind::Timeout));
}

#[tokio::test(start_paused = true)]
async fn gives_up_without_sleeping_when_no_retry_fits() {
    let started = Instant::now();
    let error = driver(Policy::default())
        .run(Call::new(Method::GET), |_| async { Err::<(), _>(unavailable(Some(secs(120)), "r")) })
        .await
        .unwrap_err();
    assert_eq!(error.kind(), GiveUpReason::NoRetryFitsBeforeDeadline);
    assert_eq!(started.elapsed(), Duration::ZERO);
}

/// An update guarded by an ETag: the first write loses a race (ABORTED),
/// the refetch reads the new ETag, the second write carries it.
struct GuardedUpdate {
    started: Instant,
    etag: u32,
    server_etag: u32,
    log: Vec<String>,
    refetch_fails: bool,
}

impl Operation for GuardedUpdate {
    type Output = u32;
    type Error = Failure;

    fn attempt(&mut self, context: AttemptContext) -> impl Future<Output = Result<u32, Failure>> {
        self.log.push(format!("attempt {} with etag {}", context.number, self.etag));
        let result = if self.etag == self.server_etag {
            Ok(self.etag)
        } else {
            let status = Status::new(Code::Aborted, "The resource changed.");
            Err(Failure::from_status(&status, Provider::Cudo, Some(409), None))
        };
        std::future::ready(result)
    }

    fn refetch(&mut self) -> impl Future<Output = Result<(), Failure>> {
        self.log.push(format!("refetch at {:?}", self.started.elapsed()));
        if self.refetch_fails {
            return std::future::ready(Err(Failure::transport(TransportKind::Connect)));
        }
        self.etag = self.server_etag;
        std::future::ready(Ok(()))
    }
}

#[tokio::test(start_paused = true)]
async fn the_refetch_hook_runs_after_the_wait_and_before_the_retry() {
    let started = Instant::now();
    let mut update = GuardedUpdate { started, etag: 1, server_etag: 2, log: Vec::new(), refetch_fails: false };
    let driver = driver(Policy::cudo());
    let result = driver.run_operation(Call::new(Method::PUT), &mut update).await;
    assert_eq!(result.unwrap(), 2);
    // The refetch comes after the first backoff step of 250 ms.
    assert_eq!(update.log, ["attempt 1 with etag 1", "refetch at 250ms", "attempt 2 with etag 2"]);

    let mut update = GuardedUpdate { started, etag: 1, server_etag: 2, log: Vec::new(), refetch_fails: true };
    let error = driver.run_operation(Call::new(Method::PUT), &mut update).await.unwrap_err();
    assert_eq!(error.kind(), GiveUpReason::RefetchFailed);
    assert_eq!(error.last_error().unwrap().transport, Some(TransportKind::Connect));
    assert_eq!(error.attempts(), 1);
}

#[tokio::test(start_paused = true)]
async fn placements_reach_the_operation() {
    let body = br#"{"code":429,"status":"RESOURCE_EXHAUSTED","message":"No capacity.",
      "details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","domain":"compute.cudo.dev",
        "reason":"MACHINE_TYPE_UNAVAILABLE","metadata":{"availableMachineTypes":["gpu-a100-x2"]}}]}"#;
    let capacity = Failure::from_decoded(&canon::decode(429, &http::HeaderMap::new(), body));
    let call = Call::new(Method::POST)
        .with_idempotency_key("vm-1")
        .with_placements([Placement::new().with_region("gb-1").with_machine_type("gpu-a100-x99")]);
    let placed = driver(Policy::cudo())
        .run(call, |attempt| {
            let capacity = capacity.clone();
            async move {
                let placement = attempt.placement.unwrap();
                if placement.machine_type.as_deref() == Some("gpu-a100-x99") { Err(capacity) } else { Ok(placement) }
            }
        })
        .await
        .unwrap();
    assert_eq!(placed, Placement::new().with_region("gb-1").with_machine_type("gpu-a100-x2"));
}

#[tokio::test(start_paused = true)]
async fn the_final_error_carries_every_attempt() {
    let error = driver(Policy::gcore())
        .run(Call::new(Method::GET), |attempt| async move {
            Err::<(), _>(unavailable(Some(secs(2)), &format!("req-{}", attempt.number)))
        })
        .await
        .unwrap_err();
    assert_eq!(error.kind(), GiveUpReason::AttemptsExhausted);
    type Summary<'a> = (AttemptStatus, Option<&'a str>, Option<Duration>, Option<WaitReason>);
    let summary: Vec<Summary<'_>> =
        error.history().iter().map(|r| (r.status, r.request_id.as_deref(), r.wait, r.wait_reason)).collect();
    let unavailable = AttemptStatus::Error { code: Code::Unavailable, http_status: Some(503) };
    assert_eq!(
        summary,
        [
            (unavailable, Some("req-1"), Some(secs(2)), Some(WaitReason::Hint)),
            (unavailable, Some("req-2"), Some(secs(3)), Some(WaitReason::Backoff)),
            (unavailable, Some("req-3"), Some(ms(3750)), Some(WaitReason::Backoff)),
            (unavailable, Some("req-4"), None, None),
        ]
    );
    assert_eq!(
        error.to_string(),
        "gave up after 4 attempts: no attempts left; last: 503 UNAVAILABLE (request id req-4)"
    );
}

#[tokio::test(start_paused = true)]
async fn concurrent_requests_share_one_budget() {
    use canon_retry::{BudgetConfig, RetryBudget};
    // Three retries to share, none earned.
    let config = BudgetConfig::new(0.0, 0.0, secs(1_000_000)).unwrap().with_initial_balance(3.0).unwrap();
    let budget = Arc::new(RetryBudget::new(config));
    let retrier = Retrier::builder(Policy::cudo()).seed(9).budget(Arc::clone(&budget)).build();
    let driver = Driver::new(retrier);
    let mut tasks = Vec::new();
    for _ in 0..5 {
        let driver = driver.clone();
        tasks.push(tokio::spawn(async move {
            driver
                .run(Call::new(Method::GET), |_| async { Err::<(), _>(Failure::transport(TransportKind::Reset)) })
                .await
                .unwrap_err()
                .attempts()
        }));
    }
    let mut attempts = 0;
    for task in tasks {
        attempts += task.await.unwrap();
    }
    // Five first attempts and the three retries the budget paid for.
    assert_eq!(attempts, 8);
}
