//! The domain's behaviour, as a client of the emulator sees it.

mod bootstrap;
mod durability;
mod errors;
mod isolation;
mod key_cache;
mod lifecycle;
mod limits;
mod settling;

use std::sync::Arc;

use canon::Status;
use canon_cloud::admin::NewProject;
use canon_cloud::auth::{Principal, Scopes};
use canon_cloud::clock::{ManualClock, Timestamp, TransitionMode};
use canon_cloud::model::{CreateVm, Vm};
use canon_cloud::{Cloud, CloudConfig, Store};

/// 2023-11-14T22:13:20Z.
pub(crate) const START: Timestamp = Timestamp::from_millis(1_700_000_000_000);
pub(crate) const DOMAIN: &str = "compute.cudo.dev";

/// A cloud on an in-memory store and a manual clock, with the demo project
/// bootstrapped under the key `demo-key`.
pub(crate) struct Env {
    pub(crate) cloud: Cloud,
    pub(crate) clock: Arc<ManualClock>,
    pub(crate) who: Principal,
}

impl Env {
    pub(crate) fn new(mode: TransitionMode) -> Env {
        let clock = Arc::new(ManualClock::new(START));
        let config = CloudConfig { transition_mode: mode, id_seed: Some(1), ..CloudConfig::default() };
        let cloud = Cloud::new(Store::in_memory().unwrap(), clock.clone(), config).unwrap();
        cloud.admin().bootstrap("demo-key").unwrap();
        let who = cloud.authenticate(Some("demo-key")).unwrap();
        Env { cloud, clock, who }
    }

    /// A further project with a key of these scopes (and, when given, a
    /// GPU quota everywhere).
    pub(crate) fn project(&self, id: &str, scopes: &str, gpu_quota: Option<u32>) -> Principal {
        if self.cloud.admin().list_projects().unwrap().iter().all(|p| p.id != id) {
            let request = NewProject { id: id.to_owned(), gpu_quota, ..NewProject::default() };
            self.cloud.admin().create_project(request).unwrap();
        }
        let key = self
            .cloud
            .admin()
            .create_api_key(
                id,
                canon_cloud::admin::NewApiKey {
                    name: "test".to_owned(),
                    scopes: scopes.parse::<Scopes>().unwrap(),
                    value: None,
                },
            )
            .unwrap();
        self.cloud.authenticate(Some(&key.secret)).unwrap()
    }

    pub(crate) fn vm(&self, who: &Principal, project: &str, id: &str, machine_type: &str) -> Result<Vm, Status> {
        self.cloud.create_vm(who, project, vm_request(id, "gb-bournemouth-1", machine_type))
    }
}

pub(crate) fn vm_request(id: &str, data_center: &str, machine_type: &str) -> CreateVm {
    CreateVm {
        id: id.to_owned(),
        data_center_id: data_center.to_owned(),
        machine_type: machine_type.to_owned(),
        ..CreateVm::default()
    }
}

/// An image import into the first data center with this deadline.
pub(crate) fn import_request(id: &str, deadline: std::time::Duration) -> canon_cloud::model::ImportImage {
    canon_cloud::model::ImportImage {
        id: id.into(),
        data_center_id: "gb-bournemouth-1".into(),
        source_url: "https://images.example/x.qcow2".into(),
        size_gib: 20,
        description: "test".into(),
        deadline: Some(deadline),
    }
}

/// Checks the AIP-193 rules every error of the domain keeps.
pub(crate) fn assert_aip193(status: &Status) {
    let info = status.error_info().unwrap_or_else(|| panic!("no ErrorInfo in {status:?}"));
    let reason = info.reason.as_bytes();
    assert!(
        reason.len() <= 63
            && reason.len() >= 3
            && reason[0].is_ascii_uppercase()
            && reason.iter().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == b'_')
            && reason[reason.len() - 1] != b'_',
        "bad reason {:?}",
        info.reason
    );
    assert_eq!(info.domain, DOMAIN);
    for key in info.metadata.keys() {
        let k = key.as_bytes();
        assert!(
            k.len() <= 64 && k[0].is_ascii_lowercase() && k.iter().all(|c| c.is_ascii_alphanumeric()),
            "metadata key {key:?} is not lowerCamelCase"
        );
    }
    assert!(matches!(status.normalized(), std::borrow::Cow::Borrowed(_)), "a detail type appears twice");
    // Every quoted part of the message is in the metadata.
    for (index, part) in status.message().split('\'').enumerate() {
        if index % 2 == 1 {
            assert!(
                info.metadata.values().any(|v| v.contains(part)),
                "'{part}' of {:?} is not in the metadata {:?}",
                status.message(),
                info.metadata
            );
        }
    }
}

/// A directory under the system's temporary directory, removed on drop.
pub(crate) struct TempDir(std::path::PathBuf);

impl TempDir {
    pub(crate) fn new(label: &str) -> TempDir {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        let path = std::env::temp_dir().join(format!("canon-cloud-{label}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    pub(crate) fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
