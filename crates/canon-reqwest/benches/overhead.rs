//! The success-path overhead of canon-reqwest against plain reqwest, on
//! loopback, in one run.
//!
//! A small axum server on 127.0.0.1 (its own thread) answers every
//! request with a 200 and a 31-byte JSON body. Each round sends
//! `--requests` GETs with each of three clients, sequentially and then
//! with 16 in flight; each reads each body whole. The client side runs on
//! one thread. Each client has its own connection pool, so that every run
//! starts on a connection the previous run did not use, and the rounds go
//! through the six orders of the three clients in turn, so that each
//! client comes first, second and third, and after each of the others,
//! equally often.
//!
//! - **plain**: `reqwest::Client`, nothing set;
//! - **plain + timeout**: the same with a 20 s timeout on each request, the
//!   like-for-like baseline (a per-attempt timeout costs a timer);
//! - **canon**: a `canon_reqwest::Client` with canon's default policy (20 s
//!   per attempt, 60 s deadline), its per-host budget on, its span per
//!   attempt.
//!
//! The report gives, for each mode, each client's median throughput over
//! the rounds, the median of the per-round ratios canon / plain (the figure
//! the goal, at least 0.97, is about; its quartiles in brackets, then the
//! 95 % confidence interval of that median, from order statistics) and
//! canon / plain + timeout, and the
//! client thread's CPU time per request (from `/proc/thread-self/schedstat`),
//! which a busy machine disturbs less than throughput.
//!
//! ```text
//! cargo bench -p canon-reqwest --bench overhead -- [--rounds 60] [--requests 500]
//! ```
//!
//! With `--only plain|timeout|canon`, the harness sends `--requests`
//! GETs with that one client (sequentially, or `--in-flight N` at a time)
//! and prints nothing else, for
//! instruments that count the whole process (`perf stat -e instructions:u`,
//! valgrind): the difference between two such runs is the client's own
//! cost, free of the machine's noise.

#![allow(clippy::print_stdout)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use canon_reqwest::Policy;

const BODY: &str = r#"{"id":"vm-1","state":"ACTIVE"}"#;
const CONCURRENCY: usize = 16;
const TIMEOUT: Duration = Duration::from_secs(20);

/// The three clients.
#[derive(Clone, Copy)]
enum Side {
    Plain,
    PlainWithTimeout,
    Canon,
}

/// One client per side, each with its own connection pool.
struct Clients {
    plain: reqwest::Client,
    plain_with_timeout: reqwest::Client,
    canon: canon_reqwest::Client,
}

/// The six orders of the three sides, by index into [`SIDES`].
const ORDERS: [[usize; 3]; 6] = [[0, 1, 2], [1, 2, 0], [2, 0, 1], [0, 2, 1], [2, 1, 0], [1, 0, 2]];
const SIDES: [Side; 3] = [Side::Plain, Side::PlainWithTimeout, Side::Canon];

fn main() {
    let mut rounds = 60;
    let mut requests = 500;
    let mut only = None;
    let mut in_flight = 1;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--rounds" => rounds = args.next().and_then(|v| v.parse().ok()).expect("--rounds N"),
            "--requests" => requests = args.next().and_then(|v| v.parse().ok()).expect("--requests N"),
            "--in-flight" => in_flight = args.next().and_then(|v| v.parse().ok()).expect("--in-flight N"),
            "--only" => {
                only = match args.next().as_deref() {
                    Some("plain") => Some(Side::Plain),
                    Some("timeout") => Some(Side::PlainWithTimeout),
                    Some("canon") => Some(Side::Canon),
                    _ => panic!("--only plain|timeout|canon"),
                }
            }
            // `cargo bench` passes `--bench`; other flags are not ours.
            _ => {}
        }
    }

    let addr = start_server();
    let url = format!("http://{addr}/v1/vms/vm-1");
    // The client side runs on this one thread, so that its CPU time can be
    // read from /proc/thread-self/schedstat.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let clients = Clients {
        plain: reqwest::Client::new(),
        plain_with_timeout: reqwest::Client::new(),
        canon: canon_reqwest::Client::builder().policy(Policy::default()).build().unwrap(),
    };
    assert!(clients.canon.budgets().is_some(), "the budget is on");
    if let Some(side) = only {
        runtime.block_on(run(&clients, side, &url, requests, in_flight));
        return;
    }

    println!("canon-reqwest success-path overhead: {rounds} rounds of {requests} GETs per client, loopback");
    println!("load average before: {}", load_average());
    println!();
    println!(
        "| mode | plain (req/s) | plain + timeout (req/s) | canon (req/s) | canon / plain (quartiles) | \
         95% CI of that median | canon / plain + timeout | client CPU per request: plain | plain + timeout | canon |"
    );
    println!("|------|------:|------:|------:|------:|------:|------:|------:|------:|------:|");
    for concurrency in [1, CONCURRENCY] {
        runtime.block_on(async {
            // Warm up the pools and the server.
            for _ in 0..2 {
                for side in SIDES {
                    run(&clients, side, &url, requests, concurrency).await;
                }
            }
            let mut rates: [Vec<f64>; 3] = Default::default();
            let mut cpu: [Vec<f64>; 3] = Default::default();
            let mut ratio_plain = Vec::new();
            let mut ratio_timeout = Vec::new();
            for round in 0..rounds {
                let mut round_rates = [0.0; 3];
                // Every order in turn: no client always goes first, or
                // always follows the same other client.
                for index in ORDERS[round % ORDERS.len()] {
                    let cost = run(&clients, SIDES[index], &url, requests, concurrency).await;
                    round_rates[index] = requests as f64 / cost.wall.as_secs_f64();
                    rates[index].push(round_rates[index]);
                    cpu[index].push(cost.cpu.as_nanos() as f64 / requests as f64 / 1000.0);
                }
                ratio_plain.push(round_rates[2] / round_rates[0]);
                ratio_timeout.push(round_rates[2] / round_rates[1]);
            }
            let [p, t, c] = rates.map(|mut r| median(&mut r));
            let [p_cpu, t_cpu, c_cpu] = cpu.map(|mut r| median(&mut r));
            let spread = quartiles(&mut ratio_plain);
            let interval = median_interval(&mut ratio_plain);
            let (ratio_plain, ratio_timeout) = (median(&mut ratio_plain), median(&mut ratio_timeout));
            let mode = if concurrency == 1 { "sequential".to_owned() } else { format!("{concurrency} in flight") };
            println!(
                "| {mode} | {p:.0} | {t:.0} | {c:.0} | {ratio_plain:.3}× ({:.3}–{:.3}) | {:.3}–{:.3} | \
                 {ratio_timeout:.3}× | {p_cpu:.1} µs | {t_cpu:.1} µs | {c_cpu:.1} µs |",
                spread.0, spread.1, interval.0, interval.1
            );
        });
    }
    println!();
    println!("load average after: {}", load_average());
}

/// The first and third quartiles (nearest rank).
fn quartiles(values: &mut [f64]) -> (f64, f64) {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    (values[n / 4], values[(3 * n) / 4])
}

/// The 95 % confidence interval of the median, from order statistics: the
/// values at ranks `n/2 -+ 1.96 sqrt(n)/2`, which needs no assumption about
/// the distribution.
fn median_interval(values: &mut [f64]) -> (f64, f64) {
    values.sort_by(f64::total_cmp);
    let n = values.len() as f64;
    let half_width = 1.96 * n.sqrt() / 2.0;
    let middle = (n - 1.0) / 2.0;
    let at = |rank: f64| values[(rank.round().max(0.0) as usize).min(values.len() - 1)];
    (at(middle - half_width), at(middle + half_width))
}

/// The 1, 5 and 15 minute load averages, from `/proc/loadavg`.
fn load_average() -> String {
    let loadavg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    loadavg.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 { values[n / 2] } else { (values[n / 2 - 1] + values[n / 2]) / 2.0 }
}

/// What one client's run of a round cost.
struct Cost {
    wall: Duration,
    cpu: Duration,
}

/// The CPU time this thread has run, from the kernel's scheduler statistics.
fn thread_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    Duration::from_nanos(stat.split_whitespace().next().and_then(|ns| ns.parse().ok()).unwrap_or(0))
}

/// Sends `requests` GETs with one client, `concurrency` at a time.
async fn run(clients: &Clients, side: Side, url: &str, requests: usize, concurrency: usize) -> Cost {
    let (started, cpu) = (Instant::now(), thread_cpu());
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..concurrency {
        let share = requests / concurrency + usize::from(worker < requests % concurrency);
        let url = url.to_owned();
        match side {
            Side::Plain | Side::PlainWithTimeout => {
                let timeout = matches!(side, Side::PlainWithTimeout);
                let client = if timeout { clients.plain_with_timeout.clone() } else { clients.plain.clone() };
                tasks.spawn(async move {
                    for _ in 0..share {
                        let mut request = client.get(&url);
                        if timeout {
                            request = request.timeout(TIMEOUT);
                        }
                        let response = request.send().await.unwrap();
                        assert!(response.status().is_success());
                        assert_eq!(response.bytes().await.unwrap().len(), BODY.len());
                    }
                });
            }
            Side::Canon => {
                let client = clients.canon.clone();
                tasks.spawn(async move {
                    for _ in 0..share {
                        let response = client.get(&url).send().await.unwrap();
                        assert!(response.status().is_success());
                        assert_eq!(response.bytes().await.unwrap().len(), BODY.len());
                    }
                });
            }
        }
    }
    while let Some(result) = tasks.join_next().await {
        result.unwrap();
    }
    Cost { wall: started.elapsed(), cpu: thread_cpu() - cpu }
}

/// Starts the server on its own thread, one worker.
fn start_server() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async move {
            let app = Router::new().route(
                "/v1/vms/vm-1",
                get(|| async { ([("content-type", "application/json"), ("x-request-id", "req-1")], BODY) }),
            );
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    addr
}
