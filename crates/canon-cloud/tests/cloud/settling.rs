//! Transitions settle on time although most transactions skip the settle:
//! the store keeps a bound of what may be due, and these tests move the
//! clock around it, fail requests after a settle, reopen a file store and
//! write through a second connection, then check what a client reads.

use std::sync::Arc;
use std::time::Duration;

use canon::Code;
use canon_cloud::clock::{ManualClock, Timestamp, TransitionMode};
use canon_cloud::model::{CreateDisk, DiskState, ImageState, OperationState, ResourceKind, VmState};
use canon_cloud::{Cloud, CloudConfig, Store};

use crate::{Env, START, TempDir, vm_request};

fn at(seconds: u64) -> Timestamp {
    START.saturating_add(Duration::from_secs(seconds))
}

fn file_cloud(path: &std::path::Path, clock: &Arc<ManualClock>, mode: TransitionMode) -> Cloud {
    let config = CloudConfig { transition_mode: mode, id_seed: Some(1), ..CloudConfig::default() };
    let cloud = Cloud::new(Store::open(path).unwrap(), clock.clone(), config).unwrap();
    cloud.admin().bootstrap("demo-key").unwrap();
    cloud
}

#[test]
fn a_transition_settles_at_its_due_time_and_not_before() {
    let env = Env::new(TransitionMode::After(Duration::from_secs(10)));
    env.vm(&env.who, "demo", "vm-1", "epyc-rome-cpu").unwrap();
    let disk = CreateDisk {
        id: "disk-1".into(),
        data_center_id: "gb-bournemouth-1".into(),
        size_gib: 10,
        ..CreateDisk::default()
    };
    env.clock.advance(Duration::from_secs(4));
    env.cloud.create_disk(&env.who, "demo", disk).unwrap();
    // The VM is due at 10 s, the disk at 14 s; every read in between sees
    // exactly what is due at its own time.
    let table: &[(i64, VmState, DiskState)] = &[
        (4_000, VmState::Pending, DiskState::Creating),
        (9_999, VmState::Pending, DiskState::Creating),
        (10_000, VmState::Active, DiskState::Creating),
        (13_999, VmState::Active, DiskState::Creating),
        (14_000, VmState::Active, DiskState::Ready),
        (60_000, VmState::Active, DiskState::Ready),
    ];
    for &(millis, vm_state, disk_state) in table {
        env.clock.set(Timestamp::from_millis(START.as_millis() + millis));
        for _ in 0..3 {
            let vm = env.cloud.get_vm(&env.who, "demo", "vm-1").unwrap();
            let disk = env.cloud.get_disk(&env.who, "demo", "disk-1").unwrap();
            assert_eq!((vm.state, disk.state), (vm_state, disk_state), "at +{millis} ms");
        }
    }
    let vm = env.cloud.get_vm(&env.who, "demo", "vm-1").unwrap();
    assert_eq!(vm.updated_at, at(10), "a transition is stamped with its due time");
}

#[test]
fn a_removal_is_done_on_time_and_the_next_transition_after_it() {
    let env = Env::new(TransitionMode::After(Duration::from_secs(10)));
    env.vm(&env.who, "demo", "vm-1", "epyc-rome-cpu").unwrap();
    env.vm(&env.who, "demo", "vm-2", "epyc-rome-cpu").unwrap();
    env.clock.set(at(10));
    env.cloud.terminate_vm(&env.who, "demo", "vm-1", None).unwrap();
    env.clock.set(at(15));
    env.cloud.stop_vm(&env.who, "demo", "vm-2", None).unwrap();
    let table: &[(u64, usize, VmState)] = &[
        (19, 2, VmState::Stopping),
        (20, 1, VmState::Stopping),
        (24, 1, VmState::Stopping),
        (25, 1, VmState::Stopped),
    ];
    for &(seconds, count, vm_2) in table {
        env.clock.set(at(seconds));
        assert_eq!(env.cloud.list_vms(&env.who, "demo").unwrap().len(), count, "at +{seconds} s");
        assert_eq!(env.cloud.get_vm(&env.who, "demo", "vm-2").unwrap().state, vm_2, "at +{seconds} s");
    }
}

#[test]
fn a_failed_request_does_not_hide_a_transition_its_settle_applied() {
    let env = Env::new(TransitionMode::After(Duration::from_secs(10)));
    env.vm(&env.who, "demo", "vm-1", "epyc-rome-cpu").unwrap();
    env.clock.set(at(10));
    // This request settles vm-1 first, then fails: everything it did is
    // rolled back, the settle with it.
    let again = env.vm(&env.who, "demo", "vm-1", "epyc-rome-cpu").unwrap_err();
    assert_eq!(again.code(), Code::AlreadyExists);
    assert_eq!(env.cloud.get_vm(&env.who, "demo", "vm-1").unwrap().state, VmState::Active);
}

#[test]
fn the_admin_clock_and_manual_advances_are_followed() {
    let env = Env::new(TransitionMode::After(Duration::from_secs(10)));
    env.vm(&env.who, "demo", "vm-1", "epyc-rome-cpu").unwrap();
    // Back in time, then to the due time, by the admin's clock.
    env.cloud.admin().set_clock(Timestamp::from_millis(START.as_millis() - 100_000)).unwrap();
    assert_eq!(env.cloud.get_vm(&env.who, "demo", "vm-1").unwrap().state, VmState::Pending);
    env.cloud.admin().set_clock(at(10)).unwrap();
    assert_eq!(env.cloud.get_vm(&env.who, "demo", "vm-1").unwrap().state, VmState::Active);

    // Manual mode: nothing is due until the admin says so, however late.
    env.cloud.admin().set_transition_mode(TransitionMode::Manual);
    env.cloud.stop_vm(&env.who, "demo", "vm-1", None).unwrap();
    env.cloud.admin().advance_clock(Duration::from_secs(3600)).unwrap();
    assert_eq!(env.cloud.get_vm(&env.who, "demo", "vm-1").unwrap().state, VmState::Stopping);
    env.cloud.admin().advance(ResourceKind::Vm, "demo", "vm-1").unwrap();
    assert_eq!(env.cloud.get_vm(&env.who, "demo", "vm-1").unwrap().state, VmState::Stopped);
    env.cloud.start_vm(&env.who, "demo", "vm-1", None).unwrap();
    env.cloud.admin().advance_all().unwrap();
    assert_eq!(env.cloud.get_vm(&env.who, "demo", "vm-1").unwrap().state, VmState::Active);

    // An admin who sets the state ends the transition.
    env.cloud.stop_vm(&env.who, "demo", "vm-1", None).unwrap();
    env.cloud.admin().set_state(ResourceKind::Vm, "demo", "vm-1", "ACTIVE").unwrap();
    env.clock.advance(Duration::from_secs(3600));
    assert_eq!(env.cloud.get_vm(&env.who, "demo", "vm-1").unwrap().state, VmState::Active);
}

#[test]
fn an_open_operation_meets_its_deadline_without_a_due_resource() {
    let env = Env::new(TransitionMode::Manual);
    let import = crate::import_request("img-1", Duration::from_secs(60));
    let (_, op) = env.cloud.import_image(&env.who, "demo", import).unwrap();
    env.clock.set(at(59));
    assert_eq!(env.cloud.get_operation(&env.who, "demo", &op.id).unwrap().state, OperationState::Pending);
    env.clock.set(at(60));
    let op = env.cloud.get_operation(&env.who, "demo", &op.id).unwrap();
    assert_eq!((op.state, op.finished_at), (OperationState::Failed, Some(at(60))));
    assert_eq!(env.cloud.get_image(&env.who, "demo", "img-1").unwrap().state, ImageState::Failed);
}

#[test]
fn a_reopened_file_store_settles_what_fell_due_while_it_was_closed() {
    // (seconds after the create at which the store is reopened, the state
    // then, the state 10 s after the create)
    let table: &[(u64, VmState)] = &[(5, VmState::Pending), (10, VmState::Active), (3600, VmState::Active)];
    for &(reopened_at, state) in table {
        let dir = TempDir::new("settling-reopen");
        let path = dir.path().join("cloud.db");
        let clock = Arc::new(ManualClock::new(START));
        let mode = TransitionMode::After(Duration::from_secs(10));
        {
            let cloud = file_cloud(&path, &clock, mode);
            let who = cloud.authenticate(Some("demo-key")).unwrap();
            cloud.create_vm(&who, "demo", vm_request("vm-1", "gb-bournemouth-1", "epyc-rome-cpu")).unwrap();
        }
        clock.set(at(reopened_at));
        let cloud = file_cloud(&path, &clock, mode);
        let who = cloud.authenticate(Some("demo-key")).unwrap();
        let vm = cloud.get_vm(&who, "demo", "vm-1").unwrap();
        assert_eq!(vm.state, state, "reopened at +{reopened_at} s");
        clock.set(at(reopened_at.max(10)));
        let vm = cloud.get_vm(&who, "demo", "vm-1").unwrap();
        assert_eq!((vm.state, vm.updated_at), (VmState::Active, at(10)), "reopened at +{reopened_at} s");
    }
}

#[test]
fn a_transition_scheduled_through_another_connection_settles_on_time() {
    let dir = TempDir::new("settling-two");
    let path = dir.path().join("cloud.db");
    let clock = Arc::new(ManualClock::new(START));
    let mode = TransitionMode::After(Duration::from_secs(10));
    let writer = file_cloud(&path, &clock, mode);
    let reader = file_cloud(&path, &clock, mode);
    let who = reader.authenticate(Some("demo-key")).unwrap();
    // The reader has settled and knows nothing is due...
    assert!(reader.list_vms(&who, "demo").unwrap().is_empty());
    // ...until the writer schedules a transition behind its back.
    writer.create_vm(&who, "demo", vm_request("vm-1", "gb-bournemouth-1", "epyc-rome-cpu")).unwrap();
    assert_eq!(reader.get_vm(&who, "demo", "vm-1").unwrap().state, VmState::Pending);
    clock.set(at(10));
    assert_eq!(reader.get_vm(&who, "demo", "vm-1").unwrap().state, VmState::Active);
}
