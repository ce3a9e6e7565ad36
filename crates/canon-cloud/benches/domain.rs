//! What one domain operation costs, without HTTP: the floor under every
//! request the emulator answers.
//!
//! ```text
//! cargo bench -p canon-cloud --bench domain -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! - `authenticate`: hash the key, look it up (one transaction).
//! - `get_vm/memory`: authorize, settle, read one VM (in memory).
//! - `get_vm/memory_100_pending`: the same with 100 VMs in transit, whose
//!   settling every operation checks.
//! - `create_terminate_disk/memory` and `/file`: two writes; the file
//!   store commits each with an fsync of the WAL (`synchronous = FULL`).
//! - `faults/evaluate_10_rules`: one request through ten rules, none
//!   firing.
//! - `journal/record`: one entry into a full 10,000-entry ring.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use canon_cloud::clock::{ManualClock, Timestamp, TransitionMode};
use canon_cloud::fault::FaultRule;
use canon_cloud::journal::{Journal, JournalEntry};
use canon_cloud::model::{CreateDisk, CreateVm};
use canon_cloud::{Cloud, CloudConfig, Store};
use criterion::Criterion;

fn cloud(store: Store, mode: TransitionMode) -> Cloud {
    let clock = Arc::new(ManualClock::new(Timestamp::from_millis(1_700_000_000_000)));
    let config = CloudConfig { transition_mode: mode, id_seed: Some(1), ..CloudConfig::default() };
    let cloud = Cloud::new(store, clock, config).unwrap();
    cloud.admin().bootstrap("bench-key").unwrap();
    cloud.admin().set_capacity("gb-bournemouth-1", "epyc-rome-cpu", 1000).unwrap();
    cloud
}

fn vm(id: String) -> CreateVm {
    CreateVm {
        id,
        data_center_id: "gb-bournemouth-1".into(),
        machine_type: "epyc-rome-cpu".into(),
        ..CreateVm::default()
    }
}

fn bench_domain(c: &mut Criterion) {
    let memory = cloud(Store::in_memory().unwrap(), TransitionMode::Immediate);
    let who = memory.authenticate(Some("bench-key")).unwrap();
    memory.create_vm(&who, "demo", vm("vm-1".into())).unwrap();
    c.bench_function("authenticate", |b| b.iter(|| memory.authenticate(black_box(Some("bench-key"))).unwrap()));
    c.bench_function("get_vm/memory", |b| b.iter(|| memory.get_vm(&who, "demo", black_box("vm-1")).unwrap()));

    let pending = cloud(Store::in_memory().unwrap(), TransitionMode::After(Duration::from_secs(3600)));
    let who_pending = pending.authenticate(Some("bench-key")).unwrap();
    for i in 0..100 {
        pending.create_vm(&who_pending, "demo", vm(format!("vm-{i}"))).unwrap();
    }
    c.bench_function("get_vm/memory_100_pending", |b| {
        b.iter(|| pending.get_vm(&who_pending, "demo", black_box("vm-1")).unwrap())
    });

    let disk = |i: u64| CreateDisk {
        id: format!("d-{i}"),
        data_center_id: "gb-bournemouth-1".into(),
        size_gib: 10,
        ..CreateDisk::default()
    };
    let mut n = 0;
    c.bench_function("create_terminate_disk/memory", |b| {
        b.iter(|| {
            n += 1;
            memory.create_disk(&who, "demo", disk(n)).unwrap();
            memory.delete_disk(&who, "demo", &format!("d-{n}"), None).unwrap();
        })
    });

    let dir = std::env::temp_dir().join(format!("canon-cloud-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = cloud(Store::open(dir.join("bench.db")).unwrap(), TransitionMode::Immediate);
    let who_file = file.authenticate(Some("bench-key")).unwrap();
    let mut n = 0;
    c.bench_function("create_terminate_disk/file", |b| {
        b.iter(|| {
            n += 1;
            file.create_disk(&who_file, "demo", disk(n)).unwrap();
            file.delete_disk(&who_file, "demo", &format!("d-{n}"), None).unwrap();
        })
    });
    drop(file);
    let _ = std::fs::remove_dir_all(&dir);
}

fn bench_faults_and_journal(c: &mut Criterion) {
    let cloud = cloud(Store::in_memory().unwrap(), TransitionMode::Immediate);
    for i in 0..10 {
        let json = format!(
            r#"{{"match": {{"method": "POST", "path": "/v1/projects/{{projectId}}/vms/{{id}}/stop-{i}"}}, "effect": {{"transport": "reset"}}}}"#
        );
        cloud.faults().add(serde_json::from_str::<FaultRule>(&json).unwrap()).unwrap();
    }
    c.bench_function("faults/evaluate_10_rules", |b| {
        b.iter(|| cloud.faults().evaluate("POST", black_box("/v1/projects/demo/vms/vm-1/start"), Some("demo")))
    });
    let journal = Journal::default();
    let entry = JournalEntry {
        method: "GET".into(),
        path: "/v1/projects/demo/vms".into(),
        status: 200,
        request_id: "req-0000000000000000".into(),
        ..JournalEntry::default()
    };
    for _ in 0..journal.capacity() {
        journal.record(entry.clone());
    }
    c.bench_function("journal/record", |b| b.iter(|| journal.record(black_box(entry.clone()))));
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    bench_domain(&mut criterion);
    bench_faults_and_journal(&mut criterion);
    criterion.final_summary();
}
