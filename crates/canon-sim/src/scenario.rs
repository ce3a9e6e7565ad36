//! The scenarios: who sends what, and what the server does to it.
//!
//! Every scenario has the same timeline: a healthy warm-up of 60 s (so
//! that budgets, buckets and throttles are those of clients that have been
//! running, not fresh ones), then the fault, then 60 s after it. Metrics
//! are measured from the start of the fault (see [`crate::metrics`]).
//!
//! | name | clients | the fault | server |
//! |------|---------|-----------|--------|
//! | `outage-1proc` | 1 process, 100 requests/s | 120 s | every attempt fails fast: 503 UNAVAILABLE with `Retry-After: 1` and RetryInfo 1 s |
//! | `outage-fleet` | 1,000 clients, 0.1 request/s each | 120 s | the same |
//! | `metastable` | 1 process, 100 requests/s | 30 s | capacity drops from 125 to 50 requests/s (1.25× to 0.5× of the offered load); a bounded FIFO queue of 250; clients time out after 1 s; timed-out work is still done |
//! | `metastable-fleet` | 1,000 clients, 0.1 request/s each | 30 s | the same |
//! | `region-capacity` | 1 process, 100 requests/s | 120 s | region-0 answers 429 RESOURCE_EXHAUSTED naming region-1 and region-2, which are free |
//! | `lost-creates` | 1 process, 20 creates/s | 120 s | 30 % of create responses are lost (the server did the work; the client sees the connection reset) |
//!
//! Arrivals are Poisson, each client with its own seeded stream.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use canon::{Code, Provider, Status};
use canon_retry::{Failure, TransportKind};

use crate::engine::{MILLISECOND, Nanos, SECOND, seconds};

/// A scenario of the simulation. See the [module docs](self).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scenario {
    /// A 120 s fast-fail outage, one process at 100 requests/s.
    OutageOneProcess,
    /// The same outage, 1,000 clients at 0.1 request/s each.
    OutageFleet,
    /// Capacity drops to half the offered load for 30 s: the metastable
    /// failure test, one process at 100 requests/s.
    Metastable,
    /// The same, 1,000 clients at 0.1 request/s each.
    MetastableFleet,
    /// One region out of capacity, the others free.
    RegionCapacity,
    /// Non-idempotent creates whose responses are lost.
    LostCreates,
}

impl Scenario {
    /// Every scenario, in the order of the issue.
    pub const ALL: [Scenario; 6] = [
        Scenario::OutageOneProcess,
        Scenario::OutageFleet,
        Scenario::Metastable,
        Scenario::MetastableFleet,
        Scenario::RegionCapacity,
        Scenario::LostCreates,
    ];

    /// The stable name, such as `outage-1proc`.
    pub const fn name(self) -> &'static str {
        match self {
            Scenario::OutageOneProcess => "outage-1proc",
            Scenario::OutageFleet => "outage-fleet",
            Scenario::Metastable => "metastable",
            Scenario::MetastableFleet => "metastable-fleet",
            Scenario::RegionCapacity => "region-capacity",
            Scenario::LostCreates => "lost-creates",
        }
    }

    /// One line on what happens.
    pub const fn description(self) -> &'static str {
        match self {
            Scenario::OutageOneProcess => {
                "120 s fast-fail outage (503, Retry-After 1, RetryInfo 1s), one process at 100/s"
            }
            Scenario::OutageFleet => {
                "120 s fast-fail outage (503, Retry-After 1, RetryInfo 1s), 1,000 clients at 0.1/s"
            }
            Scenario::Metastable => {
                "capacity 1.25x -> 0.5x of offered load for 30 s, FIFO queue of 250, 1 s client timeout, one process at 100/s"
            }
            Scenario::MetastableFleet => {
                "capacity 1.25x -> 0.5x of offered load for 30 s, FIFO queue of 250, 1 s client timeout, 1,000 clients at 0.1/s"
            }
            Scenario::RegionCapacity => "region-0 out of capacity (429 naming region-1, region-2) for 120 s",
            Scenario::LostCreates => "30% of create responses lost for 120 s; the server did the work",
        }
    }

    /// The parameters.
    pub fn spec(self) -> ScenarioSpec {
        let base = ScenarioSpec {
            clients: 1,
            rate_per_client: 100.0,
            warm_up: 60.0,
            fault: 120.0,
            after: 60.0,
            client_timeout: None,
            create: false,
            regions: 1,
            server: ServerSpec::Outage,
        };
        match self {
            Scenario::OutageOneProcess => base,
            Scenario::OutageFleet => ScenarioSpec { clients: 1000, rate_per_client: 0.1, ..base },
            Scenario::Metastable => ScenarioSpec {
                fault: 30.0,
                client_timeout: Some(1.0),
                server: ServerSpec::Queue { normal: 125.0, degraded: 50.0, bound: 250 },
                ..base
            },
            Scenario::MetastableFleet => {
                ScenarioSpec { clients: 1000, rate_per_client: 0.1, ..Scenario::Metastable.spec() }
            }
            Scenario::RegionCapacity => ScenarioSpec { regions: 3, server: ServerSpec::Regions, ..base },
            Scenario::LostCreates => ScenarioSpec {
                rate_per_client: 20.0,
                create: true,
                server: ServerSpec::LostResponses { loss: 0.3 },
                ..base
            },
        }
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is no scenario's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownScenario(pub String);

impl fmt::Display for UnknownScenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = Scenario::ALL.iter().map(|s| s.name()).collect();
        write!(f, "unknown scenario `{}` (expected one of: {}, all)", self.0, names.join(", "))
    }
}

impl std::error::Error for UnknownScenario {}

impl FromStr for Scenario {
    type Err = UnknownScenario;

    fn from_str(s: &str) -> Result<Scenario, UnknownScenario> {
        Scenario::ALL.into_iter().find(|scenario| scenario.name() == s).ok_or_else(|| UnknownScenario(s.to_owned()))
    }
}

/// The parameters of a scenario. Times are in seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioSpec {
    /// How many clients, each with its own retry state (budget, bucket,
    /// throttle).
    pub clients: usize,
    /// Each client's rate of logical requests (Poisson).
    pub rate_per_client: f64,
    /// The healthy period before the fault.
    pub warm_up: f64,
    /// How long the fault lasts.
    pub fault: f64,
    /// How long the run goes on after the fault.
    pub after: f64,
    /// The callers' timeout for each attempt, if any.
    pub client_timeout: Option<f64>,
    /// Whether the requests are creates (POST) rather than reads (GET).
    pub create: bool,
    /// How many regions a request may go to (region-0 is every client's
    /// first choice).
    pub regions: usize,
    /// What the server does.
    pub server: ServerSpec,
}

impl ScenarioSpec {
    /// The offered load, logical requests per second.
    pub fn offered(&self) -> f64 {
        self.clients as f64 * self.rate_per_client
    }

    /// When the fault starts.
    pub fn fault_start(&self) -> Nanos {
        seconds(self.warm_up)
    }

    /// When the fault ends.
    pub fn fault_end(&self) -> Nanos {
        seconds(self.warm_up + self.fault)
    }

    /// When the run ends.
    pub fn end(&self) -> Nanos {
        seconds(self.warm_up + self.fault + self.after)
    }

    /// How many requests per second the server can serve successfully at
    /// `t`; `None` when it has no limit.
    pub fn capacity(&self, t: Nanos) -> Option<f64> {
        let in_fault = (self.fault_start()..self.fault_end()).contains(&t);
        match self.server {
            ServerSpec::Outage => in_fault.then_some(0.0),
            ServerSpec::Queue { normal, degraded, .. } => Some(if in_fault { degraded } else { normal }),
            ServerSpec::Regions | ServerSpec::LostResponses { .. } => None,
        }
    }
}

/// What the server does during the fault.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ServerSpec {
    /// Every attempt fails fast with [`Response::Outage`].
    Outage,
    /// One FIFO queue served at `normal` requests/s, `degraded` during the
    /// fault; an attempt that finds `bound` waiting is rejected at once
    /// with [`Response::Shed`].
    Queue {
        /// Requests per second outside the fault.
        normal: f64,
        /// Requests per second during the fault.
        degraded: f64,
        /// The most requests waiting.
        bound: usize,
    },
    /// region-0 answers [`Response::NoCapacity`]; the others succeed.
    Regions,
    /// Creates are executed; with probability `loss`, the response is
    /// lost ([`Response::Reset`]).
    LostResponses {
        /// The share of responses lost during the fault.
        loss: f64,
    },
}

/// How long the server takes to answer a success.
pub(crate) const OK_LATENCY: Nanos = 20 * MILLISECOND;
/// How long a create takes.
pub(crate) const CREATE_LATENCY: Nanos = 50 * MILLISECOND;
/// How long a fast failure takes.
pub(crate) const FAIL_LATENCY: Nanos = 5 * MILLISECOND;
/// How long a rejection by a full queue takes.
pub(crate) const SHED_LATENCY: Nanos = MILLISECOND;
/// The hint the outage server gives, in both `Retry-After` and RetryInfo.
pub(crate) const OUTAGE_HINT: Nanos = SECOND;

/// What one attempt came to, as the client sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Response {
    /// 200.
    Ok,
    /// 503 UNAVAILABLE with `Retry-After: 1` and RetryInfo `1s`.
    Outage,
    /// 503 UNAVAILABLE from a full queue, with no hint.
    Shed,
    /// 429 RESOURCE_EXHAUSTED whose ErrorInfo names the free regions.
    NoCapacity,
    /// The connection was reset before the response arrived.
    Reset,
    /// The caller's timeout ran out.
    Timeout,
}

/// A failed attempt as every strategy can read it: the HTTP status and
/// headers a peer library sees, the gRPC code, and canon's [`Failure`]
/// (from canon's own advice).
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    /// Which response this is.
    pub response: Response,
    /// The HTTP status, when a response arrived.
    pub http_status: Option<u16>,
    /// The transport failure, when none did.
    pub transport: Option<TransportKind>,
    /// The `Retry-After` header.
    pub retry_after: Option<Duration>,
    /// The RetryInfo detail in the body.
    pub retry_info: Option<Duration>,
    /// The gRPC code (a gRPC server sends the status's code).
    pub grpc_code: Code,
    /// What canon-retry reads.
    pub canon: Failure,
}

impl Fault {
    /// The server's hint: the longer of `Retry-After` and RetryInfo.
    pub fn hint(&self) -> Option<Duration> {
        match (self.retry_after, self.retry_info) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }

    /// Whether the HTTP status is 5xx.
    pub fn is_server_error(&self) -> bool {
        self.http_status.is_some_and(|s| s >= 500)
    }

    /// The fault for a failed response; `None` for [`Response::Ok`].
    pub fn of(response: Response) -> Option<Fault> {
        let hint = Duration::from_nanos(OUTAGE_HINT);
        let fault = match response {
            Response::Ok => return None,
            Response::Outage => {
                let status =
                    Status::builder(Code::Unavailable, "The service is down; retry later.").retry_delay(hint).build();
                Fault {
                    response,
                    http_status: Some(503),
                    transport: None,
                    retry_after: Some(hint),
                    retry_info: Some(hint),
                    grpc_code: Code::Unavailable,
                    canon: Failure::from_status(&status, Provider::Cudo, Some(503), Some(hint)),
                }
            }
            Response::Shed => {
                let status = Status::new(Code::Unavailable, "Overloaded.");
                Fault {
                    response,
                    http_status: Some(503),
                    transport: None,
                    retry_after: None,
                    retry_info: None,
                    grpc_code: Code::Unavailable,
                    canon: Failure::from_status(&status, Provider::Cudo, Some(503), None),
                }
            }
            Response::NoCapacity => {
                let status = Status::builder(Code::ResourceExhausted, "No capacity for this machine type in region-0.")
                    .error_info(
                        "CAPACITY_EXHAUSTED",
                        "compute.example.com",
                        [("availableRegions", "region-1,region-2")],
                    )
                    .build();
                Fault {
                    response,
                    http_status: Some(429),
                    transport: None,
                    retry_after: None,
                    retry_info: None,
                    grpc_code: Code::ResourceExhausted,
                    canon: Failure::from_status(&status, Provider::Cudo, Some(429), None),
                }
            }
            Response::Reset => Fault {
                response,
                http_status: None,
                transport: Some(TransportKind::Reset),
                retry_after: None,
                retry_info: None,
                grpc_code: Code::Unavailable,
                canon: Failure::transport(TransportKind::Reset),
            },
            Response::Timeout => Fault {
                response,
                http_status: None,
                transport: Some(TransportKind::Timeout),
                retry_after: None,
                retry_info: None,
                grpc_code: Code::DeadlineExceeded,
                canon: Failure::transport(TransportKind::Timeout),
            },
        };
        Some(fault)
    }
}

/// The faults of every failed response, built once per run.
#[derive(Debug, Clone)]
pub(crate) struct FaultTable {
    outage: Fault,
    shed: Fault,
    no_capacity: Fault,
    reset: Fault,
    timeout: Fault,
}

impl FaultTable {
    pub(crate) fn new() -> FaultTable {
        let of = |r| Fault::of(r).expect("a failed response has a fault");
        FaultTable {
            outage: of(Response::Outage),
            shed: of(Response::Shed),
            no_capacity: of(Response::NoCapacity),
            reset: of(Response::Reset),
            timeout: of(Response::Timeout),
        }
    }

    pub(crate) fn get(&self, response: Response) -> Option<&Fault> {
        match response {
            Response::Ok => None,
            Response::Outage => Some(&self.outage),
            Response::Shed => Some(&self.shed),
            Response::NoCapacity => Some(&self.no_capacity),
            Response::Reset => Some(&self.reset),
            Response::Timeout => Some(&self.timeout),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use canon::RetryKind;

    #[test]
    fn names_round_trip() {
        for scenario in Scenario::ALL {
            assert_eq!(scenario.name().parse::<Scenario>(), Ok(scenario));
        }
        assert!("nope".parse::<Scenario>().unwrap_err().to_string().contains("outage-1proc"));
    }

    #[test]
    fn canon_reads_each_fault_as_the_advice_says() {
        // (response, retry kind, hint)
        let table = [
            (Response::Outage, RetryKind::AfterDelay, Some(Duration::from_secs(1))),
            (Response::Shed, RetryKind::Backoff, None),
            (Response::NoCapacity, RetryKind::Elsewhere, None),
            (Response::Reset, RetryKind::Backoff, None),
            (Response::Timeout, RetryKind::Backoff, None),
        ];
        for (response, retry, hint) in table {
            let fault = Fault::of(response).unwrap();
            assert_eq!(fault.canon.retry, retry, "{response:?}");
            assert_eq!(fault.canon.hint, hint, "{response:?}");
            assert_eq!(fault.hint(), hint, "{response:?}");
        }
        assert_eq!(Fault::of(Response::Ok), None);
    }

    #[test]
    fn the_metastable_capacity_brackets_the_offered_load() {
        let spec = Scenario::Metastable.spec();
        assert_eq!(spec.capacity(0), Some(125.0));
        assert_eq!(spec.capacity(spec.fault_start()), Some(50.0));
        assert_eq!(spec.capacity(spec.fault_end()), Some(125.0));
        assert_eq!(spec.offered(), 100.0);
    }
}
