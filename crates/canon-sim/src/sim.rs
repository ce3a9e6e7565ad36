//! The simulation loop: clients, their retry libraries, and the server, on
//! one virtual clock.
//!
//! Each client sends logical requests as a Poisson process (its own seeded
//! stream, the same for every strategy, so that strategies face the same
//! arrivals). A request's attempts go to the server, which answers after
//! its latency, or queues them (the metastable scenario); the caller's
//! timeout, if the scenario has one, ends an attempt that takes too long,
//! and a response that arrives after it is dropped. The library model
//! decides, after each failure, whether and when to try again.

use std::collections::VecDeque;

use crate::engine::{EventQueue, Nanos, SECOND, nanos, seconds};
use crate::scenario::{
    CREATE_LATENCY, FAIL_LATENCY, FaultTable, OK_LATENCY, Response, SHED_LATENCY, ScenarioSpec, ServerSpec,
};
use crate::strategy::{AttemptSpec, Begin, CallSpec, ClientModel, Next, Random};

/// What happened in one second of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Bin {
    /// Attempts sent.
    pub attempts: u64,
    /// Logical requests started.
    pub started: u64,
    /// Logical requests that ended in success.
    pub succeeded: u64,
    /// Logical requests that ended in failure.
    pub failed: u64,
}

/// The raw record of a run, from which the metrics are computed.
#[derive(Debug, Clone, Default)]
pub struct Trace {
    /// One bin per second of the run.
    pub bins: Vec<Bin>,
    /// The latency of each successful logical request that started at or
    /// after the fault, in nanoseconds.
    pub latencies: Vec<Nanos>,
    /// Executions of a create beyond its first.
    pub duplicates: u64,
    /// Retries that followed a failure with a hint.
    pub hinted_retries: u64,
    /// Of those, the retries sent at least the hint after the failure.
    pub hint_honoured: u64,
    /// Events processed.
    pub events: u64,
}

#[derive(Debug)]
enum Event {
    Arrival(u32),
    Send(u32),
    Response { request: u32, attempt: u32, response: Response },
    Timeout { request: u32, attempt: u32 },
    ServiceDone,
}

#[derive(Debug)]
struct Slot<R> {
    client: u32,
    started: Nanos,
    attempt: u32,
    in_flight: bool,
    /// The failure before the pending retry: when, and the hint it gave.
    hinted: Option<(Nanos, Nanos)>,
    state: Option<R>,
}

#[derive(Debug)]
enum Server {
    Outage,
    Queue { normal: f64, degraded: f64, bound: usize, waiting: VecDeque<(u32, u32)>, serving: Option<(u32, u32)> },
    Regions,
    Creates { loss: f64, executions: Vec<u32>, stored: Vec<bool>, rng: Random },
}

/// The seeds of one run: arrivals do not depend on the strategy.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Seeds {
    pub(crate) arrivals: u64,
    pub(crate) server: u64,
}

struct Run<'a, M: ClientModel> {
    spec: &'a ScenarioSpec,
    faults: FaultTable,
    clients: Vec<M>,
    arrivals: Vec<Random>,
    requests: Vec<Slot<M::Request>>,
    server: Server,
    queue: EventQueue<Event>,
    trace: Trace,
    fault_start: Nanos,
    fault_end: Nanos,
    end: Nanos,
    timeout: Option<Nanos>,
}

/// Runs `spec` with one model per client, made by `make(client_index)`.
pub(crate) fn simulate<M: ClientModel>(spec: &ScenarioSpec, seeds: Seeds, mut make: impl FnMut(usize) -> M) -> Trace {
    let end = spec.end();
    let server = match spec.server {
        ServerSpec::Outage => Server::Outage,
        ServerSpec::Queue { normal, degraded, bound } => {
            Server::Queue { normal, degraded, bound, waiting: VecDeque::new(), serving: None }
        }
        ServerSpec::Regions => Server::Regions,
        ServerSpec::LostResponses { loss } => {
            Server::Creates { loss, executions: Vec::new(), stored: Vec::new(), rng: Random::new(seeds.server) }
        }
    };
    let mut run = Run {
        spec,
        faults: FaultTable::new(),
        clients: (0..spec.clients).map(&mut make).collect(),
        arrivals: (0..spec.clients)
            .map(|c| Random::new(crate::strategy::mix_seed(&[seeds.arrivals, c as u64])))
            .collect(),
        requests: Vec::new(),
        server,
        queue: EventQueue::new(),
        trace: Trace { bins: vec![Bin::default(); end.div_ceil(SECOND) as usize], ..Trace::default() },
        fault_start: spec.fault_start(),
        fault_end: spec.fault_end(),
        end,
        timeout: spec.client_timeout.map(seconds),
    };
    for client in 0..spec.clients {
        let first = run.arrivals[client].exponential(spec.rate_per_client);
        run.queue.schedule(first, Event::Arrival(client as u32));
    }
    while let Some((now, event)) = run.queue.pop() {
        if now >= run.end {
            break;
        }
        run.trace.events += 1;
        run.handle(now, event);
    }
    if let Server::Creates { executions, .. } = &run.server {
        run.trace.duplicates = executions.iter().map(|&n| u64::from(n.saturating_sub(1))).sum();
    }
    run.trace
}

impl<M: ClientModel> Run<'_, M> {
    fn bin(&mut self, now: Nanos) -> &mut Bin {
        let index = ((now / SECOND) as usize).min(self.trace.bins.len() - 1);
        &mut self.trace.bins[index]
    }

    fn in_fault(&self, now: Nanos) -> bool {
        (self.fault_start..self.fault_end).contains(&now)
    }

    fn handle(&mut self, now: Nanos, event: Event) {
        match event {
            Event::Arrival(client) => self.arrive(now, client),
            Event::Send(request) => self.begin(now, request),
            Event::Response { request, attempt, response } => self.respond(now, request, attempt, response),
            Event::Timeout { request, attempt } => self.respond(now, request, attempt, Response::Timeout),
            Event::ServiceDone => self.service_done(now),
        }
    }

    fn arrive(&mut self, now: Nanos, client: u32) {
        let next = now + self.arrivals[client as usize].exponential(self.spec.rate_per_client);
        if next < self.end {
            self.queue.schedule(next, Event::Arrival(client));
        }
        let call = CallSpec { create: self.spec.create, regions: self.spec.regions };
        let state = self.clients[client as usize].start(now, &call);
        let id = self.requests.len() as u32;
        self.requests.push(Slot {
            client,
            started: now,
            attempt: 0,
            in_flight: false,
            hinted: None,
            state: Some(state),
        });
        self.bin(now).started += 1;
        self.begin(now, id);
    }

    fn begin(&mut self, now: Nanos, id: u32) {
        let slot = &mut self.requests[id as usize];
        let Some(state) = slot.state.as_mut() else { return };
        match self.clients[slot.client as usize].begin(now, state) {
            Begin::Send(attempt) => self.send(now, id, attempt),
            Begin::Wait(wait) => self.queue.schedule(now + wait.max(1), Event::Send(id)),
            Begin::GiveUp => self.complete(now, id, false),
        }
    }

    fn send(&mut self, now: Nanos, id: u32, spec: AttemptSpec) {
        let slot = &mut self.requests[id as usize];
        slot.attempt += 1;
        slot.in_flight = true;
        let attempt = slot.attempt;
        if let Some((failed_at, hint)) = slot.hinted.take() {
            self.trace.hinted_retries += 1;
            if now - failed_at >= hint {
                self.trace.hint_honoured += 1;
            }
        }
        self.bin(now).attempts += 1;
        let timeout = match (spec.timeout, self.timeout) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if let Some(timeout) = timeout {
            self.queue.schedule(now + timeout, Event::Timeout { request: id, attempt });
        }
        self.receive(now, id, attempt, spec);
    }

    /// The server receives an attempt.
    fn receive(&mut self, now: Nanos, request: u32, attempt: u32, spec: AttemptSpec) {
        let in_fault = self.in_fault(now);
        let (response, latency) = match &mut self.server {
            Server::Outage if in_fault => (Response::Outage, FAIL_LATENCY),
            Server::Outage => (Response::Ok, OK_LATENCY),
            Server::Regions if in_fault && spec.region == 0 => (Response::NoCapacity, OK_LATENCY),
            Server::Regions => (Response::Ok, OK_LATENCY),
            Server::Creates { loss, executions, stored, rng } => {
                let index = request as usize;
                if executions.len() <= index {
                    executions.resize(index + 1, 0);
                    stored.resize(index + 1, false);
                }
                // A key the server has seen returns the stored result;
                // anything else is executed (again).
                if !(spec.key && stored[index]) {
                    executions[index] += 1;
                    stored[index] |= spec.key;
                }
                let lost = in_fault && rng.unit() < *loss;
                (if lost { Response::Reset } else { Response::Ok }, CREATE_LATENCY)
            }
            Server::Queue { bound, waiting, serving, .. } => {
                if waiting.len() >= *bound {
                    (Response::Shed, SHED_LATENCY)
                } else {
                    waiting.push_back((request, attempt));
                    if serving.is_none() {
                        self.start_service(now);
                    }
                    return;
                }
            }
        };
        self.queue.schedule(now + latency, Event::Response { request, attempt, response });
    }

    fn start_service(&mut self, now: Nanos) {
        let in_fault = self.in_fault(now);
        let Server::Queue { normal, degraded, waiting, serving, .. } = &mut self.server else { return };
        let Some(job) = waiting.pop_front() else { return };
        *serving = Some(job);
        let rate = if in_fault { *degraded } else { *normal };
        self.queue.schedule(now + seconds(1.0 / rate), Event::ServiceDone);
    }

    fn service_done(&mut self, now: Nanos) {
        let Server::Queue { serving, .. } = &mut self.server else { return };
        if let Some((request, attempt)) = serving.take() {
            self.respond(now, request, attempt, Response::Ok);
        }
        self.start_service(now);
    }

    /// An attempt's outcome reaches its client (or is dropped, if the
    /// client stopped waiting for it).
    fn respond(&mut self, now: Nanos, id: u32, attempt: u32, response: Response) {
        let slot = &mut self.requests[id as usize];
        if slot.state.is_none() || slot.attempt != attempt || !slot.in_flight {
            return;
        }
        slot.in_flight = false;
        let client = slot.client as usize;
        let state = slot.state.as_mut().expect("checked above");
        let Some(fault) = self.faults.get(response) else {
            self.clients[client].succeeded(now, state);
            self.complete(now, id, true);
            return;
        };
        match self.clients[client].failed(now, state, fault) {
            Next::Retry(wait) => {
                slot.hinted = fault.hint().map(|hint| (now, nanos(hint)));
                self.queue.schedule(now + wait, Event::Send(id));
            }
            Next::GiveUp => self.complete(now, id, false),
        }
    }

    fn complete(&mut self, now: Nanos, id: u32, success: bool) {
        let slot = &mut self.requests[id as usize];
        slot.state = None;
        let started = slot.started;
        if success && started >= self.fault_start {
            self.trace.latencies.push(now - started);
        }
        let bin = self.bin(now);
        if success {
            bin.succeeded += 1;
        } else {
            bin.failed += 1;
        }
    }
}
