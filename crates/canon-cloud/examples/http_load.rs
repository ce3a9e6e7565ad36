//! An HTTP/1.1 load generator for the emulator's benchmark
//! (`scripts/bench_emulator.sh`): for each scenario, `--connections`
//! keep-alive connections send requests for `--duration`, after a warm-up
//! whose requests are not counted. It prints one line per scenario:
//! requests per second, p50, p99 and the largest latency, and how many
//! answers were not 2xx.
//!
//! ```text
//! cargo run --release -p canon-cloud --example http_load -- \
//!     --url http://127.0.0.1:8080 --key KEY --label canon [--connections 32] [--duration 10] [--warmup 2] \
//!     [--scenarios get,list,create] [--threads 2] [--rate 5000]
//! ```
//!
//! Two ways to load a server:
//!
//! - **Closed loop** (the default): each connection sends its next request
//!   as soon as the previous answer is read. The server is saturated, the
//!   throughput is its capacity, and the latency is mostly the queue:
//!   `connections / throughput` on average.
//! - **Open loop** (`--rate R`): requests are due at a fixed total rate of
//!   `R` per second, spread evenly over the connections, whatever the
//!   server does. The latency of a request counts from when it was due if
//!   its connection was still busy with the previous one then (so a slow
//!   answer also delays the requests queued behind it, and none is left
//!   out: no "coordinated omission"), and from when it was sent otherwise
//!   (so the load generator's own timer, which wakes up to a millisecond
//!   late, is not counted against the server). This is the latency a
//!   client sees at that rate.
//!
//! Scenarios, all in the project `demo` of the CUDO surface:
//!
//! - `get`: `GET /v1/projects/demo/vms/{id}` of one of five VMs;
//! - `list`: `GET /v1/projects/demo/vms` (the five VMs);
//! - `create`: `POST /v1/projects/demo/disks`, a new 10 GiB disk each time.
//!
//! Before the scenarios it creates the five VMs (`{label}-vm-0` to `-4`).
//! The same requests go to any server, so a mock of the same OpenAPI
//! document (Stoplight Prism) is measured the same way.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Method, Request};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

#[derive(Debug, Clone)]
struct Options {
    addr: SocketAddr,
    host: String,
    key: String,
    label: String,
    connections: usize,
    duration: Duration,
    warmup: Duration,
    scenarios: Vec<String>,
    /// The load generator's own worker threads (2 by default; one gave
    /// canon lower throughput and a higher p99 on the two-core machine).
    threads: usize,
    /// Requests per second over all connections, or `None` for a closed
    /// loop.
    rate: Option<f64>,
}

fn options() -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    let mut url = None;
    let mut options = Options {
        addr: "127.0.0.1:8080".parse().expect("an address"),
        host: String::new(),
        key: String::new(),
        label: "bench".to_owned(),
        connections: 32,
        duration: Duration::from_secs(10),
        warmup: Duration::from_secs(2),
        scenarios: vec!["get".to_owned(), "list".to_owned(), "create".to_owned()],
        threads: 2,
        rate: None,
    };
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--url" => url = Some(value()?),
            "--key" => options.key = value()?,
            "--label" => options.label = value()?,
            "--connections" => options.connections = value()?.parse().map_err(|e| format!("--connections: {e}"))?,
            "--duration" => {
                options.duration = Duration::from_secs_f64(value()?.parse().map_err(|e| format!("--duration: {e}"))?)
            }
            "--warmup" => {
                options.warmup = Duration::from_secs_f64(value()?.parse().map_err(|e| format!("--warmup: {e}"))?)
            }
            "--scenarios" => options.scenarios = value()?.split(',').map(str::to_owned).collect(),
            "--threads" => options.threads = value()?.parse().map_err(|e| format!("--threads: {e}"))?,
            "--rate" => {
                let rate: f64 = value()?.parse().map_err(|e| format!("--rate: {e}"))?;
                if !(rate.is_finite() && rate > 0.0) {
                    return Err(format!("--rate must be a positive number of requests per second, not {rate}"));
                }
                options.rate = Some(rate);
            }
            other => return Err(format!("unknown flag {other}")),
        }
    }
    let url = url.ok_or("--url is required")?;
    let host = url.strip_prefix("http://").ok_or("--url must be http://")?.trim_end_matches('/').to_owned();
    options.addr = host.parse().map_err(|e| format!("{host}: {e} (give an IP address and a port)"))?;
    options.host = host;
    Ok(options)
}

type Sender = http1::SendRequest<Full<Bytes>>;

async fn connect(options: &Options) -> Result<Sender, String> {
    let stream = TcpStream::connect(options.addr).await.map_err(|e| format!("connect: {e}"))?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let (sender, connection) = http1::handshake(TokioIo::new(stream)).await.map_err(|e| format!("handshake: {e}"))?;
    tokio::spawn(connection);
    Ok(sender)
}

/// Sends one request and reads the whole answer; returns the status.
async fn send(
    sender: &mut Sender,
    options: &Options,
    method: Method,
    path: &str,
    body: Option<String>,
) -> Result<u16, String> {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("host", &options.host)
        .header("authorization", format!("Bearer {}", options.key));
    if body.is_some() {
        request = request.header("content-type", "application/json");
    }
    let request = request.body(Full::new(Bytes::from(body.unwrap_or_default()))).map_err(|e| e.to_string())?;
    sender.ready().await.map_err(|e| format!("ready: {e}"))?;
    let response = sender.send_request(request).await.map_err(|e| format!("send: {e}"))?;
    let status = response.status().as_u16();
    response.into_body().collect().await.map_err(|e| format!("body: {e}"))?;
    Ok(status)
}

/// What one scenario measured.
struct Measured {
    latencies: Vec<Duration>,
    not_2xx: u64,
    elapsed: Duration,
}

async fn scenario(options: Arc<Options>, name: &'static str) -> Result<Measured, String> {
    let sequence = Arc::new(AtomicU64::new(0));
    let not_2xx = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let counted_from = started + options.warmup;
    let end = counted_from + options.duration;
    let mut workers = Vec::new();
    for worker in 0..options.connections {
        let options = Arc::clone(&options);
        let sequence = Arc::clone(&sequence);
        let not_2xx = Arc::clone(&not_2xx);
        workers.push(tokio::spawn(async move {
            let mut sender = connect(&options).await?;
            let mut latencies = Vec::with_capacity(16 * 1024);
            let mut n = worker;
            // Open loop: this connection's requests are due every
            // `connections / rate` seconds, the connections' schedules
            // spread evenly over that interval.
            let interval = options.rate.map(|rate| Duration::from_secs_f64(options.connections as f64 / rate));
            let mut due = started + interval.map_or(Duration::ZERO, |i| i.mul_f64(worker as f64 / options.connections as f64));
            let mut answered = started;
            while Instant::now() < end {
                let (method, path, body) = match name {
                    "get" => (Method::GET, format!("/v1/projects/demo/vms/{}-vm-{}", options.label, n % 5), None),
                    "list" => (Method::GET, "/v1/projects/demo/vms".to_owned(), None),
                    _ => {
                        let id = sequence.fetch_add(1, Ordering::Relaxed);
                        let body = format!(
                            r#"{{"dataCenterId": "gb-bournemouth-1", "disk": {{"id": "{}-disk-{id}", "sizeGib": 10}}}}"#,
                            options.label
                        );
                        (Method::POST, "/v1/projects/demo/disks".to_owned(), Some(body))
                    }
                };
                n += 1;
                let sent = match interval {
                    None => Instant::now(),
                    Some(interval) => {
                        tokio::time::sleep_until(due.into()).await;
                        let scheduled = due;
                        due += interval;
                        // Busy with the previous request when this one was
                        // due: it waited because of the server, and counts
                        // from then. Otherwise from now.
                        if answered > scheduled { scheduled } else { Instant::now() }
                    }
                };
                let status = send(&mut sender, &options, method, &path, body).await?;
                answered = Instant::now();
                if sent >= counted_from {
                    latencies.push(answered - sent);
                    if !(200..300).contains(&status) {
                        not_2xx.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            Ok::<_, String>(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for worker in workers {
        latencies.extend(worker.await.map_err(|e| e.to_string())??);
    }
    let elapsed = started.elapsed().saturating_sub(options.warmup);
    Ok(Measured { latencies, not_2xx: not_2xx.load(Ordering::Relaxed), elapsed })
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let options = match options() {
        Ok(options) if options.threads > 0 => Arc::new(options),
        Ok(_) => {
            eprintln!("http_load: --threads must be at least 1");
            std::process::exit(2);
        }
        Err(error) => {
            eprintln!("http_load: {error}");
            std::process::exit(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(options.threads)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(run(options));
}

async fn run(options: Arc<Options>) {
    let setup = async {
        let mut sender = connect(&options).await?;
        for n in 0..5 {
            let body = format!(
                r#"{{"vmId": "{}-vm-{n}", "dataCenterId": "gb-bournemouth-1", "machineType": "epyc-rome-cpu"}}"#,
                options.label
            );
            let status = send(&mut sender, &options, Method::POST, "/v1/projects/demo/vm", Some(body)).await?;
            if status != 200 && status != 409 {
                return Err(format!("setup: creating a VM answered {status}"));
            }
        }
        Ok::<_, String>(())
    };
    if let Err(error) = setup.await {
        eprintln!("http_load: {error}");
        std::process::exit(1);
    }
    for name in options.scenarios.clone() {
        let name: &'static str = match name.as_str() {
            "get" => "get",
            "list" => "list",
            "create" => "create",
            other => {
                eprintln!("http_load: unknown scenario {other}");
                std::process::exit(2);
            }
        };
        match scenario(Arc::clone(&options), name).await {
            Ok(mut measured) => {
                measured.latencies.sort_unstable();
                let count = measured.latencies.len();
                let throughput = count as f64 / measured.elapsed.as_secs_f64();
                let offered = options.rate.map_or(String::new(), |rate| format!(" rate={rate:.0}/s"));
                println!(
                    "{:<8} {:<7} conns={:<3}{offered} requests={:<8} throughput={:>9.0}/s p50={:>7.3}ms p99={:>7.3}ms max={:>8.3}ms not_2xx={}",
                    options.label,
                    name,
                    options.connections,
                    count,
                    throughput,
                    ms(percentile(&measured.latencies, 50.0)),
                    ms(percentile(&measured.latencies, 99.0)),
                    ms(measured.latencies.last().copied().unwrap_or_default()),
                    measured.not_2xx,
                );
            }
            Err(error) => {
                eprintln!("http_load: {name}: {error}");
                std::process::exit(1);
            }
        }
    }
}
