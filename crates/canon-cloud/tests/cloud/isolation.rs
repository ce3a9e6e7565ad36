//! A key sees only its own project, and permission comes before existence
//! (AIP-193): asking about another project gives PERMISSION_DENIED whether
//! the resource, or the project, exists or not; asking about a missing
//! resource of one's own project gives NOT_FOUND; a key without the scope
//! gets PERMISSION_DENIED before anything is looked up.

use canon::{Code, Status};
use canon_cloud::auth::Principal;
use canon_cloud::clock::TransitionMode;
use canon_cloud::model::{
    AttachMode, CreateCluster, CreateDisk, CreateSshKey, ImportImage, ResizeVm, ResourceKind, ResourceRef,
};

use crate::{Env, assert_aip193};

const KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcH alice@example";

/// Gives a project one resource of each kind, all with the id `r1` where
/// the client chooses ids; returns the generated ids (SSH key, operation).
fn populate(env: &Env, who: &Principal, project: &str) -> (String, String) {
    let cloud = &env.cloud;
    cloud.create_vm(who, project, crate::vm_request("r1", "gb-bournemouth-1", "epyc-rome-cpu")).unwrap();
    let disk = CreateDisk {
        id: "r1".into(),
        data_center_id: "gb-bournemouth-1".into(),
        size_gib: 50,
        ..CreateDisk::default()
    };
    cloud.create_disk(who, project, disk).unwrap();
    let cluster = CreateCluster {
        id: "r1".into(),
        data_center_id: "gb-bournemouth-1".into(),
        machine_type_id: "epyc-rome-cpu".into(),
        machine_count: 1,
    };
    cloud.create_cluster(who, project, cluster).unwrap();
    let key = cloud.create_ssh_key(who, project, CreateSshKey { name: None, public_key: KEY.into() }).unwrap();
    let image = ImportImage {
        id: "r1".into(),
        data_center_id: "gb-bournemouth-1".into(),
        source_url: "https://images.example/r1".into(),
        size_gib: 10,
        ..ImportImage::default()
    };
    let (_, op) = cloud.import_image(who, project, image).unwrap();
    (key.id, op.id)
}

type Call = Box<dyn Fn(&Env, &Principal, &str, &Ids) -> Result<(), Status>>;

struct Ids {
    resource: String,
    ssh_key: String,
    operation: String,
}

fn calls() -> Vec<(&'static str, Call)> {
    fn call<T>(f: impl Fn(&Env, &Principal, &str, &Ids) -> Result<T, Status> + 'static) -> Call {
        Box::new(move |env, who, project, ids| f(env, who, project, ids).map(|_| ()))
    }
    vec![
        ("get_vm", call(|e, w, p, i| e.cloud.get_vm(w, p, &i.resource))),
        ("list_vm_disks", call(|e, w, p, i| e.cloud.list_vm_disks(w, p, &i.resource))),
        ("stop_vm", call(|e, w, p, i| e.cloud.stop_vm(w, p, &i.resource, None))),
        ("start_vm", call(|e, w, p, i| e.cloud.start_vm(w, p, &i.resource, None))),
        (
            "resize_vm",
            call(|e, w, p, i| {
                e.cloud.resize_vm(w, p, &i.resource, ResizeVm { vcpus: Some(2), memory_gib: None }, None)
            }),
        ),
        ("get_disk", call(|e, w, p, i| e.cloud.get_disk(w, p, &i.resource))),
        ("resize_disk", call(|e, w, p, i| e.cloud.resize_disk(w, p, &i.resource, 60, None))),
        (
            "attach_disk",
            call(|e, w, p, i| e.cloud.attach_disk(w, p, &i.resource, &i.resource, AttachMode::ReadWrite, None)),
        ),
        ("detach_disk", call(|e, w, p, i| e.cloud.detach_disk(w, p, &i.resource, None))),
        ("get_cluster", call(|e, w, p, i| e.cloud.get_cluster(w, p, &i.resource))),
        ("resize_cluster", call(|e, w, p, i| e.cloud.resize_cluster(w, p, &i.resource, 2, None))),
        ("get_ssh_key", call(|e, w, p, i| e.cloud.get_ssh_key(w, p, &i.ssh_key))),
        ("get_image", call(|e, w, p, i| e.cloud.get_image(w, p, &i.resource))),
        ("get_operation", call(|e, w, p, i| e.cloud.get_operation(w, p, &i.operation))),
        (
            "create_operation",
            call(|e, w, p, i| {
                e.cloud.create_operation(w, p, "probe", vec![ResourceRef::new(ResourceKind::Vm, &i.resource)], None)
            }),
        ),
        ("delete_cluster", call(|e, w, p, i| e.cloud.delete_cluster(w, p, &i.resource, None))),
        ("delete_image", call(|e, w, p, i| e.cloud.delete_image(w, p, &i.resource, None))),
        ("delete_ssh_key", call(|e, w, p, i| e.cloud.delete_ssh_key(w, p, &i.ssh_key))),
        ("delete_disk", call(|e, w, p, i| e.cloud.delete_disk(w, p, &i.resource, None))),
        ("terminate_vm", call(|e, w, p, i| e.cloud.terminate_vm(w, p, &i.resource, None))),
    ]
}

fn outcome(result: Result<(), Status>) -> &'static str {
    match result {
        Ok(()) => "ok",
        Err(status) => {
            assert_aip193(&status);
            match status.code() {
                Code::PermissionDenied => "denied",
                Code::NotFound => "missing",
                _ => "other",
            }
        }
    }
}

#[test]
fn permission_is_checked_before_existence() {
    let env = Env::new(TransitionMode::Immediate);
    let other = env.project("other", "*", Some(16));
    let (own_key, own_op) = populate(&env, &env.who, "demo");
    let (other_key, other_op) = populate(&env, &other, "other");
    let missing = Ids { resource: "nope".into(), ssh_key: "nope".into(), operation: "nope".into() };
    let other_ids = Ids { resource: "r1".into(), ssh_key: other_key, operation: other_op };
    let own_ids = Ids { resource: "r1".into(), ssh_key: own_key, operation: own_op };

    for (name, call) in calls() {
        // (project asked about, ids, expected outcome)
        let cases: [(&str, &Ids, &str); 5] = [
            ("other", &other_ids, "denied"),
            ("other", &missing, "denied"),
            ("ghost", &missing, "denied"),
            ("demo", &missing, "missing"),
            ("demo", &own_ids, "ok"),
        ];
        for (project, ids, expected) in cases {
            let got = outcome(call(&env, &env.who, project, ids));
            assert_eq!(got, expected, "{name} on {project} with {:?}", ids.resource);
        }
    }
    // The other project's resources were never touched.
    assert!(env.cloud.get_vm(&other, "other", "r1").is_ok());
    assert!(env.cloud.get_cluster(&other, "other", "r1").is_ok());
}

#[test]
fn a_missing_scope_is_denied_before_the_project_and_the_resource() {
    let env = Env::new(TransitionMode::Immediate);
    let nothing = env.project("demo", "", None);
    let missing = Ids { resource: "nope".into(), ssh_key: "nope".into(), operation: "nope".into() };
    for (name, call) in calls() {
        if name == "create_operation" {
            continue; // Needs no scope: the surface calls it after a write it authorized.
        }
        for project in ["demo", "other"] {
            let status = call(&env, &nothing, project, &missing).unwrap_err();
            assert_eq!(status.code(), Code::PermissionDenied, "{name}");
            assert_eq!(status.error_info().unwrap().reason, "API_KEY_SCOPE_MISSING", "{name}");
        }
    }
}

#[test]
fn listings_and_projects_are_scoped_to_the_key() {
    let env = Env::new(TransitionMode::Immediate);
    let other = env.project("other", "*", Some(16));
    populate(&env, &other, "other");
    let cloud = &env.cloud;
    assert!(cloud.list_vms(&env.who, "demo").unwrap().is_empty());
    assert_eq!(cloud.list_vms(&other, "other").unwrap().len(), 1);
    let listings: [Result<(), Status>; 7] = [
        cloud.list_vms(&env.who, "other").map(drop),
        cloud.list_disks(&env.who, "other", None).map(drop),
        cloud.list_clusters(&env.who, "other").map(drop),
        cloud.list_ssh_keys(&env.who, "other").map(drop),
        cloud.list_images(&env.who, "other").map(drop),
        cloud.list_operations(&env.who, "other").map(drop),
        cloud.list_quotas(&env.who, "other").map(drop),
    ];
    for result in listings {
        assert_eq!(result.unwrap_err().code(), Code::PermissionDenied);
    }
    let projects = cloud.list_projects(&env.who).unwrap();
    assert_eq!(projects.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(), ["demo"]);
    assert_eq!(cloud.project_by_number(&env.who, projects[0].number).unwrap().id, "demo");
    let other_number = cloud.project_by_number(&other, 2).unwrap().number;
    for number in [other_number, 999] {
        let status = cloud.project_by_number(&env.who, number).unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied, "project number {number}");
    }
    assert_eq!(cloud.get_project(&env.who, "other").unwrap_err().code(), Code::PermissionDenied);
}
