//! States move on the cloud's clock: at once, after a delay, or when an
//! admin says so; operations follow their resources; ETags follow every
//! change.

use std::time::Duration;

use canon::Code;
use canon_cloud::clock::{Timestamp, TransitionMode};
use canon_cloud::model::{
    ClusterState, CreateCluster, CreateDisk, DiskState, ImageState, NextState, OperationState, ResizeVm, ResourceKind,
    ResourceRef, VmState,
};

use crate::{Env, START, assert_aip193};

fn states(env: &Env) -> VmState {
    env.cloud.get_vm(&env.who, "demo", "vm-1").unwrap().state
}

/// Creates vm-1, then stops, starts and terminates it, and records the
/// state seen right after each request and, where the mode lets time
/// pass, after the delay.
#[test]
fn vm_lifecycle_in_every_mode() {
    let delay = Duration::from_secs(30);
    // (mode, states after create / stop / start / terminate, each as
    // [right after the call, after `delay`])
    let table: &[(TransitionMode, [[&str; 2]; 4])] = &[
        (
            TransitionMode::Immediate,
            [["ACTIVE", "ACTIVE"], ["STOPPED", "STOPPED"], ["ACTIVE", "ACTIVE"], ["DELETING", "gone"]],
        ),
        (
            TransitionMode::After(delay),
            [["PENDING", "ACTIVE"], ["STOPPING", "STOPPED"], ["STARTING", "ACTIVE"], ["DELETING", "gone"]],
        ),
        (
            TransitionMode::Manual,
            [["PENDING", "PENDING"], ["STOPPING", "STOPPING"], ["STARTING", "STARTING"], ["DELETING", "DELETING"]],
        ),
    ];
    for &(mode, expected) in table {
        let env = Env::new(mode);
        let observe = |env: &Env| match env.cloud.get_vm(&env.who, "demo", "vm-1") {
            Ok(vm) => vm.state.as_str().to_owned(),
            Err(status) if status.code() == Code::NotFound => "gone".to_owned(),
            Err(status) => panic!("{status}"),
        };
        let steps: [&dyn Fn(&Env) -> String; 4] = [
            &|env| env.vm(&env.who, "demo", "vm-1", "gpu-a100-x2").unwrap().state.as_str().to_owned(),
            &|env| env.cloud.stop_vm(&env.who, "demo", "vm-1", None).unwrap().state.as_str().to_owned(),
            &|env| env.cloud.start_vm(&env.who, "demo", "vm-1", None).unwrap().state.as_str().to_owned(),
            &|env| env.cloud.terminate_vm(&env.who, "demo", "vm-1", None).unwrap().state.as_str().to_owned(),
        ];
        for (step, [right_after, later]) in steps.iter().zip(expected) {
            assert_eq!(step(&env), right_after, "{mode}");
            env.clock.advance(delay);
            assert_eq!(observe(&env), later, "{mode}");
            if mode == TransitionMode::Manual && later != "gone" {
                env.cloud.admin().advance(ResourceKind::Vm, "demo", "vm-1").unwrap();
            }
        }
        assert_eq!(observe(&env), "gone", "{mode}");
    }
}

#[test]
fn a_transition_completes_exactly_at_its_due_time() {
    let env = Env::new(TransitionMode::After(Duration::from_secs(10)));
    let vm = env.vm(&env.who, "demo", "vm-1", "gpu-a100-x2").unwrap();
    assert_eq!(
        vm.pending.map(|p| (p.next, p.due_at)),
        Some((NextState::State(VmState::Active), Some(START.saturating_add(Duration::from_secs(10)))))
    );
    env.clock.advance(Duration::from_millis(9_999));
    assert_eq!(states(&env), VmState::Pending);
    env.clock.advance(Duration::from_millis(1));
    let vm = env.cloud.get_vm(&env.who, "demo", "vm-1").unwrap();
    assert_eq!(
        (vm.state, vm.pending, vm.updated_at),
        (VmState::Active, None, START.saturating_add(Duration::from_secs(10)))
    );
}

#[test]
fn repeated_commands_are_no_ops_and_invalid_ones_are_refused() {
    let env = Env::new(TransitionMode::Immediate);
    let vm = env.vm(&env.who, "demo", "vm-1", "gpu-a100-x2").unwrap();
    let again = env.cloud.start_vm(&env.who, "demo", "vm-1", None).unwrap();
    assert_eq!(again.version, vm.version, "starting an ACTIVE VM changes nothing");
    env.cloud.stop_vm(&env.who, "demo", "vm-1", None).unwrap();
    let stopped = env.cloud.stop_vm(&env.who, "demo", "vm-1", None).unwrap();
    assert_eq!(stopped.state, VmState::Stopped);
    env.cloud.admin().set_state(ResourceKind::Vm, "demo", "vm-1", "FAILED").unwrap();
    let status = env.cloud.start_vm(&env.who, "demo", "vm-1", None).unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert_eq!(status.message(), "VM must be in STOPPED before starting.");
    assert_aip193(&status);
    // A failed VM can still be terminated.
    env.cloud.terminate_vm(&env.who, "demo", "vm-1", None).unwrap();
}

#[test]
fn resizing_returns_to_the_previous_state() {
    let env = Env::new(TransitionMode::After(Duration::from_secs(5)));
    env.vm(&env.who, "demo", "vm-1", "gpu-a100-x2").unwrap();
    env.clock.advance(Duration::from_secs(5));
    env.cloud.stop_vm(&env.who, "demo", "vm-1", None).unwrap();
    env.clock.advance(Duration::from_secs(5));
    let resizing = env
        .cloud
        .resize_vm(&env.who, "demo", "vm-1", ResizeVm { vcpus: Some(12), memory_gib: Some(96) }, None)
        .unwrap();
    assert_eq!((resizing.state, resizing.vcpus, resizing.memory_gib), (VmState::Resizing, 12, 96));
    env.clock.advance(Duration::from_secs(5));
    assert_eq!(states(&env), VmState::Stopped);
    let too_big = env
        .cloud
        .resize_vm(&env.who, "demo", "vm-1", ResizeVm { vcpus: Some(25), memory_gib: None }, None)
        .unwrap_err();
    assert_eq!(too_big.code(), Code::OutOfRange);
    assert_eq!(too_big.message(), "vcpus 25 exceeds the maximum of 24.");
}

#[test]
fn clusters_and_disks_move_the_same_way() {
    let env = Env::new(TransitionMode::Manual);
    let cluster = CreateCluster {
        id: "clu-1".into(),
        data_center_id: "gb-bournemouth-1".into(),
        machine_type_id: "gpu-a100-x2".into(),
        machine_count: 2,
    };
    assert_eq!(env.cloud.create_cluster(&env.who, "demo", cluster).unwrap().state, ClusterState::Creating);
    let disk =
        CreateDisk { id: "d-1".into(), data_center_id: "gb-bournemouth-1".into(), size_gib: 20, ..Default::default() };
    assert_eq!(env.cloud.create_disk(&env.who, "demo", disk).unwrap().state, DiskState::Creating);
    let report = env.cloud.admin().advance_all().unwrap();
    assert_eq!(report.transitions, 2);
    assert_eq!(env.cloud.get_cluster(&env.who, "demo", "clu-1").unwrap().state, ClusterState::Active);
    assert_eq!(env.cloud.get_disk(&env.who, "demo", "d-1").unwrap().state, DiskState::Ready);
    // Cluster states are set with or without their prefix.
    env.cloud.admin().set_state(ResourceKind::Cluster, "demo", "clu-1", "UPDATING").unwrap();
    assert_eq!(env.cloud.get_cluster(&env.who, "demo", "clu-1").unwrap().state, ClusterState::Updating);
    let status = env.cloud.admin().set_state(ResourceKind::Cluster, "demo", "clu-1", "BUSY").unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
}

#[test]
fn an_explicit_tick_settles_without_a_read() {
    let env = Env::new(TransitionMode::After(Duration::from_secs(60)));
    env.vm(&env.who, "demo", "vm-1", "gpu-a100-x2").unwrap();
    let early = env.cloud.admin().tick(START.saturating_add(Duration::from_secs(59))).unwrap();
    assert_eq!(early.transitions, 0);
    let due = env.cloud.admin().tick(START.saturating_add(Duration::from_secs(60))).unwrap();
    assert_eq!(due.transitions, 1);
    // The clock itself did not move; the VM is ACTIVE all the same.
    assert_eq!(env.cloud.now(), START);
    assert_eq!(states(&env), VmState::Active);
    let now = env.cloud.admin().advance_clock(Duration::from_secs(1)).unwrap();
    assert_eq!(now, START.saturating_add(Duration::from_secs(1)));
    let later = Timestamp::parse_rfc3339("2030-01-01T00:00:00Z").unwrap();
    assert_eq!(env.cloud.admin().set_clock(later).unwrap(), later);
    assert_eq!(env.cloud.now(), later);
}

#[test]
fn operations_follow_their_resources() {
    let env = Env::new(TransitionMode::Manual);
    env.vm(&env.who, "demo", "vm-1", "gpu-a100-x2").unwrap();
    let vm_ref = vec![ResourceRef::new(ResourceKind::Vm, "vm-1")];
    let op = env.cloud.create_operation(&env.who, "demo", "create_vm", vm_ref.clone(), None).unwrap();
    assert_eq!(op.state, OperationState::Pending, "manual mode: waits for an admin");
    env.cloud.admin().advance(ResourceKind::Operation, "demo", &op.id).unwrap();
    let op = env.cloud.get_operation(&env.who, "demo", &op.id).unwrap();
    assert_eq!((op.state, op.error.is_none(), op.finished_at), (OperationState::Succeeded, true, Some(START)));
    assert_eq!(op.resources, vm_ref);

    // In delay mode an operation runs, then finishes when its resources do.
    env.cloud.admin().set_transition_mode(TransitionMode::After(Duration::from_secs(20)));
    env.cloud.terminate_vm(&env.who, "demo", "vm-1", None).unwrap();
    let op = env.cloud.create_operation(&env.who, "demo", "delete_vm", vm_ref.clone(), None).unwrap();
    assert_eq!(op.state, OperationState::Running);
    env.clock.advance(Duration::from_secs(20));
    let op = env.cloud.get_operation(&env.who, "demo", &op.id).unwrap();
    assert_eq!(op.state, OperationState::Succeeded, "a removed resource counts as settled");

    // An operation fails with its resource, and an admin can fail one.
    env.vm(&env.who, "demo", "vm-2", "gpu-a100-x2").unwrap();
    let refs = vec![ResourceRef::new(ResourceKind::Vm, "vm-2")];
    let op = env.cloud.create_operation(&env.who, "demo", "create_vm", refs.clone(), None).unwrap();
    env.cloud.admin().set_state(ResourceKind::Vm, "demo", "vm-2", "FAILED").unwrap();
    let op = env.cloud.get_operation(&env.who, "demo", &op.id).unwrap();
    let error = op.error.unwrap();
    assert_eq!(
        (op.state, error.code(), error.message()),
        (OperationState::Failed, Code::Internal, "VM 'vm-2' failed.")
    );
    assert_aip193(&error);
    let op = env.cloud.create_operation(&env.who, "demo", "noop", refs, None).unwrap();
    env.cloud.admin().set_state(ResourceKind::Operation, "demo", &op.id, "FAILED").unwrap();
    let op = env.cloud.get_operation(&env.who, "demo", &op.id).unwrap();
    assert_eq!(op.error.unwrap().code(), Code::Aborted);
    assert_eq!(env.cloud.list_operations(&env.who, "demo").unwrap().len(), 4);

    // Only resources with states, and only existing ones, can be tracked.
    let bad = env.cloud.create_operation(&env.who, "demo", "x", vec![ResourceRef::new(ResourceKind::Vm, "nope")], None);
    assert_eq!(bad.unwrap_err().code(), Code::NotFound);
    let bad =
        env.cloud.create_operation(&env.who, "demo", "x", vec![ResourceRef::new(ResourceKind::SshKey, "k")], None);
    assert_eq!(bad.unwrap_err().code(), Code::InvalidArgument);
}

#[test]
fn an_import_finishes_in_time_or_fails_at_its_deadline() {
    let import = |id: &str, deadline: u64| crate::import_request(id, Duration::from_secs(deadline));
    // Immediate: done at once.
    let env = Env::new(TransitionMode::Immediate);
    let (image, op) = env.cloud.import_image(&env.who, "demo", import("img-1", 60)).unwrap();
    assert_eq!((image.state, op.state), (ImageState::Ready, OperationState::Succeeded));

    // The import takes 30 s: a 60 s deadline is met, a 20 s one is not,
    // even when nobody looks until long after both.
    let env = Env::new(TransitionMode::After(Duration::from_secs(30)));
    let (_, in_time) = env.cloud.import_image(&env.who, "demo", import("img-1", 60)).unwrap();
    let (_, too_slow) = env.cloud.import_image(&env.who, "demo", import("img-2", 20)).unwrap();
    assert_eq!(in_time.state, OperationState::Running);
    env.clock.advance(Duration::from_secs(3600));
    let in_time = env.cloud.get_operation(&env.who, "demo", &in_time.id).unwrap();
    let too_slow = env.cloud.get_operation(&env.who, "demo", &too_slow.id).unwrap();
    assert_eq!(in_time.state, OperationState::Succeeded);
    assert_eq!(in_time.finished_at, Some(START.saturating_add(Duration::from_secs(30))));
    assert_eq!(too_slow.state, OperationState::Failed);
    assert_eq!(too_slow.finished_at, Some(START.saturating_add(Duration::from_secs(20))));
    assert_eq!(too_slow.error.as_ref().map(|e| e.code()), Some(Code::DeadlineExceeded));
    assert_eq!(env.cloud.get_image(&env.who, "demo", "img-1").unwrap().state, ImageState::Ready);
    assert_eq!(env.cloud.get_image(&env.who, "demo", "img-2").unwrap().state, ImageState::Failed);

    // Manual: the deadline passes while the admin does nothing.
    let env = Env::new(TransitionMode::Manual);
    let (_, op) = env.cloud.import_image(&env.who, "demo", import("img-1", 60)).unwrap();
    assert_eq!(op.state, OperationState::Pending);
    env.cloud.admin().advance_clock(Duration::from_secs(60)).unwrap();
    let op = env.cloud.get_operation(&env.who, "demo", &op.id).unwrap();
    assert_eq!(op.state, OperationState::Failed);
    let admin = env.cloud.admin().advance(ResourceKind::Operation, "demo", &op.id).unwrap_err();
    assert_eq!(admin.code(), Code::FailedPrecondition);
}

#[test]
fn etags_change_with_every_change_and_guard_writes() {
    let env = Env::new(TransitionMode::After(Duration::from_secs(5)));
    let created = env.vm(&env.who, "demo", "vm-1", "gpu-a100-x2").unwrap();
    let read = env.cloud.get_vm(&env.who, "demo", "vm-1").unwrap();
    assert_eq!(read.etag(), created.etag(), "reading changes nothing");
    env.clock.advance(Duration::from_secs(5));
    let active = env.cloud.get_vm(&env.who, "demo", "vm-1").unwrap();
    assert_ne!(active.etag(), created.etag(), "the clock's transition is a change");

    let stale = created.etag();
    // (If-Match made from the current ETag, whether the write passes)
    type MakeIfMatch<'a> = &'a dyn Fn(&str) -> String;
    let table: &[(MakeIfMatch<'_>, bool)] = &[
        (&|_| stale.clone(), false),
        (&|_| "W/\"whatever\"".to_owned(), false),
        (&|current| format!("W/{current}"), false),
        (&|current| format!("\"nope\", {current}"), true),
        (&|current| current.trim_matches('"').to_owned(), true),
        (&|_| "*".to_owned(), true),
    ];
    for (make, passes) in table {
        let current = env.cloud.get_vm(&env.who, "demo", "vm-1").unwrap().etag();
        let if_match = make(&current);
        match env.cloud.stop_vm(&env.who, "demo", "vm-1", Some(&if_match)) {
            Ok(_) => assert!(passes, "{if_match}"),
            Err(status) => {
                assert!(!passes, "{if_match}: {status}");
                assert_eq!(status.code(), Code::Aborted);
                assert_aip193(&status);
            }
        }
    }
    // A refused write changed nothing.
    let vm = env.cloud.get_vm(&env.who, "demo", "vm-1").unwrap();
    assert_eq!(vm.state, VmState::Stopping);
    assert_eq!(vm.version, active.version + 1);
}
