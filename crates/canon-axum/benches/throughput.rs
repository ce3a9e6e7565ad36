//! Throughput of canon-axum's error and success paths on loopback.
//!
//! ```text
//! cargo bench -p canon-axum --bench throughput
//! ```
//!
//! Four servers run in this process, on 127.0.0.1:
//!
//! - `bare_404`: a bare axum handler that returns a static JSON 404 (the
//!   AIP-193 body of the same error, without a request id);
//! - `canon_404`: a handler that returns that error as `Err(ApiError)`,
//!   under [`RequestIdLayer`] (a fresh id per request, written into the
//!   body and the `x-request-id` header);
//! - `bare_ok`: a bare handler that returns a static JSON 200;
//! - `layered_ok`: the same handler under every layer of [`ErrorLayers`]
//!   (request id, panic catching, rate limit per API key, concurrency
//!   limit, timeout, body limit).
//!
//! The servers share one thread with a single-threaded tokio runtime; the
//! client, a hyper HTTP/1.1 client with a fixed number of keep-alive
//! connections per server, runs on the other thread. So on a two-core
//! machine each side has a core, and the server's cost per request
//! decides its throughput. Every request carries the same headers
//! (including an API key, so that the rate limiter's bucket is exercised).
//!
//! The variants run interleaved for many short rounds, the two of each
//! pair next to each other and in alternating order, so that a change in
//! the machine's load hits both alike; the report gives medians of
//! requests per second, of the server thread's CPU time per request (from
//! `/proc/.../schedstat`), and of the per-round ratios `canon_404 /
//! bare_404` (goal: at least 0.9) and `layered_ok / bare_ok` (goal: at
//! least 0.95, that is, the layers cost at most 5%), each ratio with the
//! 95% confidence interval of its median (from order statistics), its
//! quartiles, and the ratio of the pair's totals. Before that, it measures
//! each variant in-process (tower `oneshot`, no sockets), which shows the
//! crate's own cost apart from the network's.
//!
//! Settings (environment): `CANON_BENCH_SLICE_MS`, the time per variant
//! and round (default 200), `CANON_BENCH_ROUNDS` (default 75),
//! `CANON_BENCH_CONNECTIONS` per variant (default 16),
//! `CANON_BENCH_ONLY=<variant>` to run one variant alone, its warm-up
//! included, and nothing else on the `server` thread (to profile that
//! thread from outside), and `CANON_BENCH_IN_PROCESS=<variant>:<requests>`
//! to send that many requests in-process and exit (to count instructions
//! with `perf stat`).
#![allow(clippy::print_stdout)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use bytes::Bytes;
use canon::{Code, Encoding, Status};
use std::convert::Infallible;

use canon_axum::request_id::RequestIdService;
use canon_axum::{ApiError, ErrorConfig, ErrorLayers, ErrorService, RateLimitLayer, RequestIdLayer};
use http::Request;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tower::{Layer, Service};

const DOMAIN: &str = "compute.example.dev";
const PATH: &str = "/v1/vms/vm-1";
const BARE_404_BODY: &str = concat!(
    r#"{"code":404,"status":"NOT_FOUND","message":"VM 'vm-1' not found.","details":["#,
    r#"{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"VM_NOT_FOUND","#,
    r#""domain":"compute.example.dev","metadata":{"vmId":"vm-1"}}]}"#
);
const OK_BODY: &str = r#"{"vmId":"vm-1","state":"RUNNING","machineType":"gpu-a100-x2"}"#;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variant {
    Bare404,
    Canon404,
    BareOk,
    LayeredOk,
}

impl Variant {
    const ALL: [Variant; 4] = [Variant::Bare404, Variant::Canon404, Variant::BareOk, Variant::LayeredOk];

    fn name(self) -> &'static str {
        match self {
            Variant::Bare404 => "bare_404",
            Variant::Canon404 => "canon_404",
            Variant::BareOk => "bare_ok",
            Variant::LayeredOk => "layered_ok",
        }
    }

    fn expected_status(self) -> StatusCode {
        match self {
            Variant::Bare404 | Variant::Canon404 => StatusCode::NOT_FOUND,
            Variant::BareOk | Variant::LayeredOk => StatusCode::OK,
        }
    }

    /// Serves the variant on `listener`.
    async fn serve(self, listener: tokio::net::TcpListener) {
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let result = match self {
            Variant::Bare404 | Variant::BareOk => axum::serve(listener, self.router()).await,
            Variant::Canon404 => {
                axum::serve(
                    listener,
                    axum::ServiceExt::<axum::extract::Request>::into_make_service(canon_404_service()),
                )
                .await
            }
            Variant::LayeredOk => axum::serve(listener, layered_ok_service()).await,
        };
        result.expect("serve");
    }

    /// The in-process cost of one request: see [`in_process_cost`].
    async fn in_process_cost(self, requests: u32) -> f64 {
        match self {
            Variant::Bare404 | Variant::BareOk => in_process_cost(self, self.router(), requests).await,
            Variant::Canon404 => in_process_cost(self, canon_404_service(), requests).await,
            Variant::LayeredOk => in_process_cost(self, layered_ok_service(), requests).await,
        }
    }

    /// `requests` requests in-process, once.
    async fn run_in_process(self, requests: u32) {
        match self {
            Variant::Bare404 | Variant::BareOk => run_in_process(self, self.router(), requests).await,
            Variant::Canon404 => run_in_process(self, canon_404_service(), requests).await,
            Variant::LayeredOk => run_in_process(self, layered_ok_service(), requests).await,
        }
    }

    /// The router of a variant, without the crate's layers.
    fn router(self) -> Router {
        match self {
            Variant::Bare404 => Router::new().route(
                PATH,
                get(|| async { (StatusCode::NOT_FOUND, [(CONTENT_TYPE, "application/json")], BARE_404_BODY) }),
            ),
            Variant::Canon404 => Router::new().route(PATH, get(canon_not_found)),
            Variant::BareOk | Variant::LayeredOk => Router::new().route(PATH, get(ok)),
        }
    }
}

fn config() -> ErrorConfig {
    ErrorConfig::new(Encoding::Aip193, DOMAIN)
}

/// The error path: the handler's error under the request-id layer, which
/// wraps the router as the crate recommends.
fn canon_404_service() -> RequestIdService<Router> {
    RequestIdLayer::new(config()).layer(Variant::Canon404.router())
}

/// The success path under every layer of the crate.
fn layered_ok_service() -> ErrorService {
    ErrorLayers::new(config())
        .timeout(Duration::from_secs(30))
        .concurrency_limit(100_000, Duration::from_secs(1))
        .rate_limit(RateLimitLayer::per_api_key(u32::MAX, Duration::from_secs(1)))
        .apply(Variant::LayeredOk.router())
}

async fn canon_not_found() -> Result<&'static str, ApiError> {
    Err(Status::builder(Code::NotFound, "VM 'vm-1' not found.")
        .error_info("VM_NOT_FOUND", DOMAIN, [("vmId", "vm-1")])
        .build())?
}

async fn ok() -> ([(http::HeaderName, &'static str); 1], &'static str) {
    ([(CONTENT_TYPE, "application/json")], OK_BODY)
}

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Starts the servers on their own thread; gives their addresses and the
/// path of the thread's schedstat file.
fn start_servers() -> (Vec<SocketAddr>, String) {
    let listeners: Vec<std::net::TcpListener> = Variant::ALL
        .iter()
        .map(|_| {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
            listener.set_nonblocking(true).expect("non-blocking");
            listener
        })
        .collect();
    let addresses = listeners.iter().map(|l| l.local_addr().expect("address")).collect();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("server".to_owned())
        .spawn(move || {
            let thread = std::fs::read_link("/proc/thread-self").map(|p| p.display().to_string());
            sender.send(thread.map(|t| format!("{t}/schedstat")).unwrap_or_default()).expect("send");
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            runtime.block_on(async move {
                for (variant, listener) in Variant::ALL.into_iter().zip(listeners) {
                    let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                    tokio::spawn(variant.serve(listener));
                }
                std::future::pending::<()>().await;
            });
        })
        .expect("server thread");
    (addresses, receiver.recv().expect("server thread started"))
}

/// CPU time of a thread so far, from its schedstat file.
fn cpu_time(schedstat: &str) -> Option<Duration> {
    let text = std::fs::read_to_string(format!("/proc/{schedstat}")).ok()?;
    text.split_whitespace().next()?.parse().ok().map(Duration::from_nanos)
}

async fn connect(address: SocketAddr) -> SendRequest<Empty<Bytes>> {
    let stream = tokio::net::TcpStream::connect(address).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.expect("handshake");
    tokio::spawn(connection);
    sender
}

/// Drives every connection with back-to-back requests until `deadline`;
/// gives the number of responses.
async fn drive(
    connections: &mut Vec<SendRequest<Empty<Bytes>>>,
    host: &str,
    variant: Variant,
    deadline: Instant,
) -> u64 {
    let count = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for mut sender in std::mem::take(connections) {
        let count = Arc::clone(&count);
        let host = host.to_owned();
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let request = Request::get(PATH)
                    .header("host", &host)
                    .header("authorization", "APIKey bench-key")
                    .body(Empty::<Bytes>::new())
                    .expect("request");
                sender.ready().await.expect("connection ready");
                let response = sender.send_request(request).await.expect("response");
                assert_eq!(response.status(), variant.expected_status(), "{}", variant.name());
                response.into_body().collect().await.expect("body");
                count.fetch_add(1, Ordering::Relaxed);
            }
            sender
        }));
    }
    for task in tasks {
        connections.push(task.await.expect("client task"));
    }
    count.load(Ordering::Relaxed)
}

/// The in-process cost of one request through a variant's service, without
/// the network: nanoseconds per request, best of a few runs.
async fn in_process_cost<S>(variant: Variant, app: S, requests: u32) -> f64
where
    S: Service<Request<axum::body::Body>, Response = axum::response::Response, Error = Infallible> + Clone,
{
    let mut best = f64::INFINITY;
    for _ in 0..5 {
        let start = Instant::now();
        run_in_process(variant, app.clone(), requests).await;
        best = best.min(start.elapsed().as_nanos() as f64 / f64::from(requests));
    }
    best
}

/// Sends `requests` requests through `app` in-process, as axum::serve
/// would: a clone of the service per request.
async fn run_in_process<S>(variant: Variant, app: S, requests: u32)
where
    S: Service<Request<axum::body::Body>, Response = axum::response::Response, Error = Infallible> + Clone,
{
    use tower::ServiceExt;
    for _ in 0..requests {
        let request = Request::get(PATH)
            .header("host", "127.0.0.1")
            .header("authorization", "APIKey bench-key")
            .body(axum::body::Body::empty())
            .expect("request");
        let response = app.clone().oneshot(request).await.expect("infallible");
        assert_eq!(response.status(), variant.expected_status(), "{}", variant.name());
        response.into_body().collect().await.expect("body");
    }
}

/// What the report says of a set of values: all `NaN` for none.
struct Stats {
    median: f64,
    min: f64,
    max: f64,
    q1: f64,
    q3: f64,
    /// The 95 % confidence interval of the median, from order statistics
    /// (the ranks `n/2 -+ 1.96 sqrt(n)/2`, which needs no assumption about
    /// the distribution).
    low: f64,
    high: f64,
}

impl Stats {
    fn of(values: &[f64]) -> Stats {
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        if n == 0 {
            let nan = f64::NAN;
            return Stats { median: nan, min: nan, max: nan, q1: nan, q3: nan, low: nan, high: nan };
        }
        let at = |rank: f64| sorted[(rank.round().max(0.0) as usize).min(n - 1)];
        let last = n as f64 - 1.0;
        let half_width = 1.96 * (n as f64).sqrt() / 2.0;
        Stats {
            median: if n % 2 == 1 { sorted[n / 2] } else { (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0 },
            min: sorted[0],
            max: sorted[n - 1],
            q1: at(last / 4.0),
            q3: at(3.0 * last / 4.0),
            low: at(last / 2.0 - half_width),
            high: at(last / 2.0 + half_width),
        }
    }
}

/// The order of the variants in a round: the two of each pair next to each
/// other, the first of each pair alternating between rounds.
fn round_order(round: usize) -> [Variant; 4] {
    use Variant::*;
    if round % 2 == 0 { [Bare404, Canon404, BareOk, LayeredOk] } else { [Canon404, Bare404, LayeredOk, BareOk] }
}

fn index(variant: Variant) -> usize {
    Variant::ALL.iter().position(|v| *v == variant).expect("listed")
}

fn main() {
    let slice = Duration::from_millis(setting("CANON_BENCH_SLICE_MS", 200));
    let rounds = setting("CANON_BENCH_ROUNDS", 75) as usize;
    let per_variant = setting("CANON_BENCH_CONNECTIONS", 16) as usize;
    // One variant alone, for profiling the server thread from outside.
    let only = std::env::var("CANON_BENCH_ONLY").ok();
    let left_out = {
        let only = only.clone();
        move |variant: Variant| only.as_deref().is_some_and(|only| only != variant.name())
    };
    // `<variant>:<n>`: n requests in-process and nothing else, for
    // counting instructions with `perf stat`.
    if let Ok(spec) = std::env::var("CANON_BENCH_IN_PROCESS") {
        let (name, requests) = spec.split_once(':').expect("CANON_BENCH_IN_PROCESS=<variant>:<requests>");
        let variant = Variant::ALL.into_iter().find(|v| v.name() == name).expect("a variant name");
        let requests = requests.parse().expect("a number of requests");
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(variant.run_in_process(requests));
        return;
    }
    let (addresses, schedstat) = start_servers();

    if only.is_none() {
        let local = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        println!("## In-process cost (tower oneshot, no network; best of 5 x 100k requests)");
        println!();
        println!("| variant | ns/request |");
        println!("|---------|-----------:|");
        for variant in Variant::ALL {
            println!("| {} | {:.0} |", variant.name(), local.block_on(variant.in_process_cost(100_000)));
        }
        println!();
    }

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(async move {
        let mut connections = Vec::new();
        for address in &addresses {
            let mut senders = Vec::new();
            for _ in 0..per_variant {
                senders.push(connect(*address).await);
            }
            connections.push(senders);
        }
        let hosts: Vec<String> = addresses.iter().map(ToString::to_string).collect();
        println!(
            "## Loopback: {rounds} rounds x {} ms per variant, {per_variant} keep-alive connections per \
             variant; servers on one thread, client on the other",
            slice.as_millis()
        );
        println!();

        // Warm-up: every variant once (or the one variant alone), not
        // recorded.
        for (i, variant) in Variant::ALL.into_iter().enumerate() {
            if left_out(variant) {
                continue;
            }
            drive(&mut connections[i], &hosts[i], variant, Instant::now() + Duration::from_millis(500)).await;
        }

        let mut throughput = vec![Vec::new(); Variant::ALL.len()];
        let mut cpu_per_request = vec![Vec::new(); Variant::ALL.len()];
        let mut server_busy = vec![Vec::new(); Variant::ALL.len()];
        let mut error_ratio = Vec::new();
        let mut success_ratio = Vec::new();
        for round in 0..rounds {
            let mut rate = [f64::NAN; 4];
            for variant in round_order(round) {
                if left_out(variant) {
                    continue;
                }
                let i = index(variant);
                let cpu_before = cpu_time(&schedstat);
                let start = Instant::now();
                let count = drive(&mut connections[i], &hosts[i], variant, start + slice).await;
                let elapsed = start.elapsed().as_secs_f64();
                rate[i] = count as f64 / elapsed;
                throughput[i].push(rate[i]);
                if let (Some(before), Some(after)) = (cpu_before, cpu_time(&schedstat)) {
                    let cpu = (after - before).as_secs_f64();
                    cpu_per_request[i].push(cpu * 1e6 / count as f64);
                    server_busy[i].push(cpu / elapsed * 100.0);
                }
            }
            println!(
                "round {:2}: bare_404 {:6.0}/s  canon_404 {:6.0}/s  bare_ok {:6.0}/s  layered_ok {:6.0}/s",
                round + 1,
                rate[0],
                rate[1],
                rate[2],
                rate[3]
            );
            if only.is_none() {
                error_ratio.push(rate[1] / rate[0]);
                success_ratio.push(rate[3] / rate[2]);
            }
        }

        println!();
        println!("| variant | requests/s, median (min..max) | server CPU µs/request | server thread busy |");
        println!("|---------|------------------------------:|----------------------:|-------------------:|");
        for (i, variant) in Variant::ALL.into_iter().enumerate() {
            let Stats { median, min, max, .. } = Stats::of(&throughput[i]);
            let cpu = Stats::of(&cpu_per_request[i]).median;
            let busy = Stats::of(&server_busy[i]).median;
            println!("| {} | {median:.0} ({min:.0}..{max:.0}) | {cpu:.1} | {busy:.0}% |", variant.name());
        }
        if only.is_some() {
            return;
        }
        let (error, success) = (Stats::of(&error_ratio), Stats::of(&success_ratio));
        // The ratio of the pair's totals over all rounds: each round's
        // requests weigh by how many there were.
        let total = |i: usize| throughput[i].iter().sum::<f64>();
        println!();
        println!(
            "error path: canon_404 / bare_404 = {:.3} median of per-round ratios (95% CI of the median \
             {:.3}..{:.3}; quartiles {:.3}..{:.3}; range {:.3}..{:.3}); ratio of totals {:.3}; goal >= 0.90: {}",
            error.median,
            error.low,
            error.high,
            error.q1,
            error.q3,
            error.min,
            error.max,
            total(1) / total(0),
            if error.median >= 0.90 { "met" } else { "missed" }
        );
        println!(
            "success path: layered_ok / bare_ok = {:.3} median of per-round ratios (95% CI of the median \
             {:.3}..{:.3}; quartiles {:.3}..{:.3}; range {:.3}..{:.3}); ratio of totals {:.3}; the layers cost \
             {:.1}%; goal <= 5%: {}",
            success.median,
            success.low,
            success.high,
            success.q1,
            success.q3,
            success.min,
            success.max,
            total(3) / total(2),
            (1.0 - success.median) * 100.0,
            if success.median >= 0.95 { "met" } else { "missed" }
        );
    });
}
