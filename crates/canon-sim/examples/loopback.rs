//! The model against real code: scenario 1, scaled down to real time on
//! loopback, driven by the real client libraries.
//!
//! An axum fault server on 127.0.0.1 (an ephemeral port) answers `GET
//! /item`: 200 after 20 ms, except during a 6 s outage, when it answers
//! 503 after 5 ms with `Retry-After: 1` and a google.rpc.Status body with
//! RetryInfo `1s`. Four clients run at once, each sending 100 logical
//! requests per second (Poisson) for 10 s of warm-up, the outage, and 4 s
//! after it:
//!
//! - `reqwest-retry`: `RetryTransientMiddleware` with
//!   `ExponentialBackoff::builder().build_with_max_retries(3)`;
//! - `backon`: `ExponentialBuilder::default()` around a reqwest call that
//!   maps a non-2xx status to an error;
//! - `tower-tps-budget`: `tower::retry::Retry` with the policy of tower's
//!   budget documentation and `TpsBudget::default()`;
//! - `canon-cudo`: canon-retry's tokio `Driver` with `Policy::cudo()` and
//!   the default budget, reading each response with `canon::decode`.
//!
//! The server counts each library's attempts (by an `x-client` header);
//! each client records when its logical requests start and end. The
//! harness prints, per library, attempts per logical request during the
//! outage and the recovery time (seconds from the end of the outage to the
//! end of the first second with at least 99 % success), beside canon-sim's
//! prediction for the same scaled scenario.
//!
//! Run it with `cargo run --release -p canon-sim --example loopback`. It
//! takes about 21 s and sends nothing beyond 127.0.0.1.

#![allow(clippy::print_stdout)]

use std::future::{Ready, ready};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use backon::{ExponentialBuilder, Retryable};
use canon_retry::driver::Driver;
use canon_retry::{Call, Failure, Policy, Retrier, TransportKind};
use canon_sim::{Scenario, ScenarioSpec, Strategy};
use tokio::time::Instant;
use tower::retry::Policy as TowerPolicy;
use tower::retry::budget::{Budget, TpsBudget};
use tower::{Service, ServiceExt};

/// Warm-up, outage and the time after it, in seconds.
const WARM_UP: f64 = 10.0;
const OUTAGE: f64 = 6.0;
const AFTER: f64 = 4.0;
/// Logical requests per second, per library.
const RATE: f64 = 100.0;

const LIBRARIES: [(&str, Strategy); 4] = [
    ("reqwest-retry", Strategy::ReqwestRetry),
    ("backon", Strategy::Backon),
    ("tower-tps-budget", Strategy::TowerTpsBudget),
    ("canon-cudo", Strategy::CanonCudo),
];

const UNAVAILABLE: &str = r#"{"code":503,"status":"UNAVAILABLE","message":"The service is down; retry later.",
"details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"1s"}]}"#;

/// The fault server's state: the start of the run, and each library's
/// attempts, as seconds since the start.
struct Server {
    start: Instant,
    attempts: Mutex<Vec<Vec<f64>>>,
}

async fn item(State(server): State<Arc<Server>>, headers: HeaderMap) -> Response {
    let now = server.start.elapsed().as_secs_f64();
    let client = headers.get("x-client").and_then(|v| v.to_str().ok()).unwrap_or("");
    if let Some(index) = LIBRARIES.iter().position(|(name, _)| *name == client) {
        server.attempts.lock().expect("not poisoned")[index].push(now);
    }
    if (WARM_UP..WARM_UP + OUTAGE).contains(&now) {
        tokio::time::sleep(Duration::from_millis(5)).await;
        (StatusCode::SERVICE_UNAVAILABLE, [("retry-after", "1"), ("content-type", "application/json")], UNAVAILABLE)
            .into_response()
    } else {
        tokio::time::sleep(Duration::from_millis(20)).await;
        (StatusCode::OK, "{}").into_response()
    }
}

/// A logical request: when it started and ended, and whether it succeeded.
#[derive(Debug, Clone, Copy)]
struct Outcome {
    start: f64,
    end: f64,
    success: bool,
}

/// What one library does for one logical request.
#[derive(Clone)]
enum Client {
    ReqwestRetry(reqwest_middleware::ClientWithMiddleware),
    Backon(reqwest::Client),
    Tower(tower::retry::Retry<BudgetPolicy, Sender>),
    Canon(Driver, reqwest::Client),
}

/// tower's documented budget policy: a response deposits; an error
/// withdraws and, if the budget allows, is retried at once. As in the
/// model, a 5xx, 408 or 429 counts as an error.
#[derive(Clone)]
struct BudgetPolicy {
    budget: Arc<TpsBudget>,
}

impl TowerPolicy<(), (), ()> for BudgetPolicy {
    type Future = Ready<()>;

    fn retry(&mut self, _req: &mut (), result: &mut Result<(), ()>) -> Option<Self::Future> {
        match result {
            Ok(()) => {
                self.budget.deposit();
                None
            }
            Err(()) => self.budget.withdraw().then(|| ready(())),
        }
    }

    fn clone_request(&mut self, _req: &()) -> Option<()> {
        Some(())
    }
}

/// The service under tower's retry: one GET, a transient status or a
/// transport failure as the error.
#[derive(Clone)]
struct Sender {
    client: reqwest::Client,
    url: String,
}

impl Service<()> for Sender {
    type Response = ();
    type Error = ();
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), ()>> + Send>>;

    fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), ()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: ()) -> Self::Future {
        let request = self.client.get(&self.url).header("x-client", "tower-tps-budget").send();
        Box::pin(async move {
            match request.await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    if status >= 500 || status == 408 || status == 429 { Err(()) } else { Ok(()) }
                }
                Err(_) => Err(()),
            }
        })
    }
}

impl Client {
    async fn call(&self, url: &str) -> bool {
        match self {
            Client::ReqwestRetry(client) => {
                client.get(url).header("x-client", "reqwest-retry").send().await.is_ok_and(|r| r.status().is_success())
            }
            Client::Backon(client) => {
                (|| async { client.get(url).header("x-client", "backon").send().await?.error_for_status() })
                    .retry(ExponentialBuilder::default())
                    .await
                    .is_ok()
            }
            Client::Tower(service) => {
                let mut service = service.clone();
                match service.ready().await {
                    Ok(ready) => ready.call(()).await.is_ok(),
                    Err(()) => false,
                }
            }
            Client::Canon(driver, client) => driver
                .run(Call::new(http::Method::GET), |attempt| {
                    let request = client.get(url).header("x-client", "canon-cudo").timeout(attempt.timeout).send();
                    async move {
                        let response = request.await.map_err(|e| {
                            Failure::transport(if e.is_timeout() {
                                TransportKind::Timeout
                            } else {
                                TransportKind::Reset
                            })
                        })?;
                        if response.status().is_success() {
                            return Ok(());
                        }
                        let status = response.status().as_u16();
                        let headers = response.headers().clone();
                        let body = response.bytes().await.unwrap_or_default();
                        Err(Failure::from_decoded(&canon::decode(status, &headers, &body)))
                    }
                })
                .await
                .is_ok(),
        }
    }
}

/// Sends Poisson arrivals at `RATE` until the end of the run; returns the
/// outcomes of the logical requests that ended before it.
async fn drive(client: Client, url: String, start: Instant, seed: u64) -> Vec<Outcome> {
    let end = WARM_UP + OUTAGE + AFTER;
    let outcomes = Arc::new(Mutex::new(Vec::new()));
    let mut rng = canon_sim::strategy::Random::new(seed);
    let mut next = 0.0;
    let mut tasks = Vec::new();
    loop {
        next += -(1.0 - rng.unit()).ln() / RATE;
        if next >= end {
            break;
        }
        tokio::time::sleep_until(start + Duration::from_secs_f64(next)).await;
        let (client, url, outcomes) = (client.clone(), url.clone(), Arc::clone(&outcomes));
        tasks.push(tokio::spawn(async move {
            let begun = start.elapsed().as_secs_f64();
            let success = client.call(&url).await;
            let ended = start.elapsed().as_secs_f64();
            outcomes.lock().expect("not poisoned").push(Outcome { start: begun, end: ended, success });
        }));
    }
    tokio::time::sleep_until(start + Duration::from_secs_f64(end)).await;
    for task in &tasks {
        task.abort();
    }
    let outcomes = outcomes.lock().expect("not poisoned").clone();
    outcomes.into_iter().filter(|o| o.end < end).collect()
}

/// Attempts per logical request started during the outage, and the
/// recovery time, from a library's records.
fn measure(attempts: &[f64], outcomes: &[Outcome]) -> (f64, Option<f64>) {
    let in_outage = |t: f64| (WARM_UP..WARM_UP + OUTAGE).contains(&t);
    let sent = attempts.iter().filter(|t| in_outage(**t)).count();
    let started = outcomes.iter().filter(|o| in_outage(o.start)).count().max(1);
    let recovery = (0..AFTER as usize).find_map(|k| {
        let window = WARM_UP + OUTAGE + k as f64..WARM_UP + OUTAGE + k as f64 + 1.0;
        let ended: Vec<&Outcome> = outcomes.iter().filter(|o| window.contains(&o.end)).collect();
        let ok = ended.iter().filter(|o| o.success).count();
        (!ended.is_empty() && ok as f64 >= 0.99 * ended.len() as f64).then_some((k + 1) as f64)
    });
    (sent as f64 / started as f64, recovery)
}

fn show(recovery: Option<f64>) -> String {
    recovery.map_or_else(|| "never".to_owned(), |r| format!("{r:.0} s"))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let start = Instant::now();
    let server = Arc::new(Server { start, attempts: Mutex::new(vec![Vec::new(); LIBRARIES.len()]) });
    let app = Router::new().route("/item", get(item)).with_state(Arc::clone(&server));
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let url = format!("http://{}/item", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });

    let http = reqwest::Client::builder().pool_max_idle_per_host(256).build()?;
    let policy = reqwest_retry::policies::ExponentialBackoff::builder().build_with_max_retries(3);
    let clients = [
        Client::ReqwestRetry(
            reqwest_middleware::ClientBuilder::new(http.clone())
                .with(reqwest_retry::RetryTransientMiddleware::new_with_policy(policy))
                .build(),
        ),
        Client::Backon(http.clone()),
        Client::Tower(tower::retry::Retry::new(
            BudgetPolicy { budget: Arc::new(TpsBudget::default()) },
            Sender { client: http.clone(), url: url.clone() },
        )),
        Client::Canon(Driver::new(Retrier::builder(Policy::cudo()).seed(1).build()), http.clone()),
    ];
    let runs: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(i, client)| tokio::spawn(drive(client, url.clone(), start, 100 + i as u64)))
        .collect();
    let mut outcomes = Vec::new();
    for run in runs {
        outcomes.push(run.await?);
    }

    let spec = ScenarioSpec { warm_up: WARM_UP, fault: OUTAGE, after: AFTER, ..Scenario::OutageOneProcess.spec() };
    println!("scenario 1 scaled: {OUTAGE} s outage after {WARM_UP} s of warm-up, {RATE} requests/s per library");
    println!();
    println!("| library | real: attempts per request in the outage | model | real: recovery | model |");
    println!("|---|---:|---:|---:|---:|");
    let attempts = server.attempts.lock().expect("not poisoned").clone();
    for (index, (name, strategy)) in LIBRARIES.iter().enumerate() {
        let (amplification, recovery) = measure(&attempts[index], &outcomes[index]);
        let model = canon_sim::run_with(Scenario::OutageOneProcess, &spec, *strategy, 1);
        println!(
            "| {name} | {amplification:.2} | {:.2} | {} | {} |",
            model.amplification_fault,
            show(recovery),
            show(model.recovery_s)
        );
    }
    Ok(())
}
