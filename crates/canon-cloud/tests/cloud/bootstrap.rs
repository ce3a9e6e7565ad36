//! Bootstrap is idempotent; API keys are hashed at rest and keep working
//! across restarts.

use std::sync::Arc;

use canon::Code;
use canon_cloud::admin::{DEFAULT_GPU_QUOTA, NewApiKey};
use canon_cloud::auth::Scopes;
use canon_cloud::clock::{ManualClock, TransitionMode};
use canon_cloud::{Cloud, CloudConfig, Store};

use crate::{Env, START, TempDir};

#[test]
fn bootstrap_is_idempotent() {
    let env = Env::new(TransitionMode::Immediate);
    let admin = env.cloud.admin();
    let again = admin.bootstrap("demo-key").unwrap();
    assert!(!again.created_project && !again.created_key);
    assert_eq!(again.api_key.id, env.who.key_id());
    assert_eq!(again.api_key.scopes, Scopes::all());
    assert_eq!(admin.list_projects().unwrap().len(), 1);
    assert_eq!(admin.list_api_keys("demo").unwrap().len(), 1);
    let quotas = admin.list_quotas("demo").unwrap();
    let pairs: Vec<(&str, &str, u32)> =
        quotas.iter().map(|q| (q.data_center_id.as_str(), q.gpu_model_id.as_str(), q.limit)).collect();
    assert_eq!(
        pairs,
        [
            ("gb-bournemouth-1", "gpu-a100", DEFAULT_GPU_QUOTA),
            ("gb-bournemouth-1", "gpu-h100", DEFAULT_GPU_QUOTA),
            ("se-smedjebacken-1", "gpu-a100", DEFAULT_GPU_QUOTA),
            ("se-smedjebacken-1", "gpu-rtx-a6000", DEFAULT_GPU_QUOTA),
        ]
    );
    // An operator's change survives a later bootstrap; a second key joins.
    admin.set_quota("demo", "gb-bournemouth-1", "gpu-a100", 4).unwrap();
    let second = admin.bootstrap("another-key").unwrap();
    assert!(!second.created_project && second.created_key);
    assert_eq!(admin.list_quotas("demo").unwrap()[0].limit, 4);
    assert_eq!(admin.list_api_keys("demo").unwrap().len(), 2);
    env.cloud.authenticate(Some("another-key")).unwrap();
}

#[test]
fn a_key_of_another_project_is_not_taken_over() {
    let env = Env::new(TransitionMode::Immediate);
    let admin = env.cloud.admin();
    admin.create_project(canon_cloud::admin::NewProject { id: "p2".into(), ..Default::default() }).unwrap();
    admin
        .create_api_key("p2", NewApiKey { name: "k".into(), scopes: Scopes::none(), value: Some("shared".into()) })
        .unwrap();
    let status = admin.bootstrap("shared").unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert_eq!(status.error_info().unwrap().metadata["projectId"], "p2");
    let duplicate = admin.create_api_key("demo", NewApiKey { value: Some("shared".into()), ..Default::default() });
    assert_eq!(duplicate.unwrap_err().code(), Code::AlreadyExists);
}

#[test]
fn keys_are_scoped_generated_and_revocable() {
    let env = Env::new(TransitionMode::Immediate);
    let admin = env.cloud.admin();
    let created = admin
        .create_api_key("demo", NewApiKey { name: "ci".into(), scopes: "read:machines".parse().unwrap(), value: None })
        .unwrap();
    assert!(created.secret.starts_with("ck_") && created.secret.len() == 43);
    let reader = env.cloud.authenticate(Some(&created.secret)).unwrap();
    assert_eq!(reader.project_id(), "demo");
    assert!(env.cloud.list_vms(&reader, "demo").is_ok());
    assert_eq!(env.cloud.list_disks(&reader, "demo", None).unwrap_err().code(), Code::PermissionDenied);
    admin.delete_api_key(&created.api_key.id).unwrap();
    let status = env.cloud.authenticate(Some(&created.secret)).unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(admin.delete_api_key(&created.api_key.id).unwrap_err().code(), Code::NotFound);
}

fn file_cloud(path: &std::path::Path, secret: Option<Vec<u8>>) -> Cloud {
    let config = CloudConfig { api_key_secret: secret, id_seed: Some(3), ..CloudConfig::default() };
    Cloud::new(Store::open(path).unwrap(), Arc::new(ManualClock::new(START)), config).unwrap()
}

#[test]
fn keys_are_hashed_at_rest_and_survive_a_restart() {
    let dir = TempDir::new("keys");
    let path = dir.path().join("cloud.db");
    let secret = "a-key-nobody-should-find-on-disk-0123456789";
    {
        let cloud = file_cloud(&path, None);
        assert_eq!(cloud.store().journal_mode(), "wal");
        cloud.admin().bootstrap(secret).unwrap();
        cloud.authenticate(Some(secret)).unwrap();
    }
    // The key is nowhere in the database files; its row holds a 32-byte hash.
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()));
    }
    let hashes: Vec<Vec<u8>> = {
        let connection = rusqlite::Connection::open(&path).unwrap();
        let mut stmt = connection.prepare("SELECT key_hash FROM api_keys").unwrap();
        stmt.query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
    };
    assert_eq!(hashes.iter().map(Vec::len).collect::<Vec<_>>(), [32]);

    // After a restart the stored secret still verifies the key.
    let cloud = file_cloud(&path, None);
    assert_eq!(cloud.authenticate(Some(secret)).unwrap().project_id(), "demo");
    drop(cloud);
    // Under another configured secret the old hash no longer matches,
    // until bootstrap adds the key again.
    let cloud = file_cloud(&path, Some(b"configured".to_vec()));
    assert_eq!(cloud.authenticate(Some(secret)).unwrap_err().code(), Code::Unauthenticated);
    cloud.admin().bootstrap(secret).unwrap();
    cloud.authenticate(Some(secret)).unwrap();
}
