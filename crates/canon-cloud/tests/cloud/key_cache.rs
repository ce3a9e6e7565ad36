//! Verified API keys are kept in memory: a key revoked or changed, through
//! whichever connection to the store, must count at once.

use std::sync::Arc;

use canon::Code;
use canon_cloud::admin::NewApiKey;
use canon_cloud::auth::{Scope, Scopes};
use canon_cloud::clock::SystemClock;
use canon_cloud::{Cloud, CloudConfig, Store};

use canon_cloud::clock::TransitionMode;

use super::{Env, TempDir};

fn file_cloud(path: &std::path::Path) -> Cloud {
    Cloud::new(Store::open(path).unwrap(), Arc::new(SystemClock), CloudConfig::default()).unwrap()
}

fn new_key(cloud: &Cloud, value: &str, scopes: &str) -> String {
    let request = NewApiKey { name: "test".to_owned(), scopes: scopes.parse().unwrap(), value: Some(value.to_owned()) };
    cloud.admin().create_api_key("demo", request).unwrap().api_key.id
}

fn assert_refused(cloud: &Cloud, key: &str) {
    let error = cloud.authenticate(Some(key)).unwrap_err();
    assert_eq!(error.code(), Code::Unauthenticated, "{error:?}");
    assert_eq!(error.error_info().unwrap().reason, "API_KEY_INVALID");
}

/// Authenticates twice, so that the second answer comes from memory.
fn scopes_of(cloud: &Cloud, key: &str) -> Scopes {
    let first = cloud.authenticate(Some(key)).unwrap();
    let second = cloud.authenticate(Some(key)).unwrap();
    assert_eq!(first, second);
    second.scopes().clone()
}

#[test]
fn a_revoked_key_is_refused_on_the_next_request() {
    let env = Env::new(TransitionMode::Immediate);
    let id = new_key(&env.cloud, "short-lived", "read:machines");
    assert!(scopes_of(&env.cloud, "short-lived").contains(Scope::ReadMachines));
    env.cloud.admin().delete_api_key(&id).unwrap();
    assert_refused(&env.cloud, "short-lived");
    // The other keys still work.
    assert_eq!(env.cloud.authenticate(Some("demo-key")).unwrap(), env.who);
}

#[test]
fn changed_scopes_count_on_the_next_request() {
    let env = Env::new(TransitionMode::Immediate);
    new_key(&env.cloud, "narrow", "read:machines");
    assert!(!scopes_of(&env.cloud, "narrow").contains(Scope::WriteDisks));
    // Bootstrapping an existing demo key gives it every scope.
    env.cloud.admin().bootstrap("narrow").unwrap();
    assert_eq!(scopes_of(&env.cloud, "narrow"), Scopes::all());
}

#[test]
fn a_key_revoked_through_another_connection_is_refused_at_once() {
    let dir = TempDir::new("key-cache-revoke");
    let path = dir.path().join("store.sqlite3");
    let (serving, other) = (file_cloud(&path), file_cloud(&path));
    serving.admin().bootstrap("demo-key").unwrap();
    let id = new_key(&serving, "shared", "read:machines");
    scopes_of(&serving, "shared");
    other.admin().delete_api_key(&id).unwrap();
    assert_refused(&serving, "shared");
    assert!(serving.authenticate(Some("demo-key")).is_ok());
}

#[test]
fn scopes_changed_through_another_connection_count_at_once() {
    let dir = TempDir::new("key-cache-scopes");
    let path = dir.path().join("store.sqlite3");
    let (serving, other) = (file_cloud(&path), file_cloud(&path));
    serving.admin().bootstrap("demo-key").unwrap();
    new_key(&serving, "narrow", "read:machines");
    assert!(!scopes_of(&serving, "narrow").contains(Scope::WriteDisks));
    other.admin().bootstrap("narrow").unwrap();
    assert_eq!(scopes_of(&serving, "narrow"), Scopes::all());
}

#[test]
fn a_key_deleted_by_another_process_with_plain_sql_is_refused_at_once() {
    let dir = TempDir::new("key-cache-sql");
    let path = dir.path().join("store.sqlite3");
    let serving = file_cloud(&path);
    serving.admin().bootstrap("demo-key").unwrap();
    let id = new_key(&serving, "doomed", "read:machines");
    scopes_of(&serving, "doomed");
    let raw = rusqlite::Connection::open(&path).unwrap();
    assert_eq!(raw.execute("DELETE FROM api_keys WHERE id = ?1", [&id]).unwrap(), 1);
    assert_refused(&serving, "doomed");
    // A key whose scopes another process narrows loses them at once too.
    scopes_of(&serving, "demo-key");
    raw.execute("UPDATE api_keys SET scopes = 'read:disks' WHERE project_id = 'demo'", []).unwrap();
    assert_eq!(scopes_of(&serving, "demo-key"), "read:disks".parse().unwrap());
}

#[test]
fn a_key_of_a_project_deleted_by_another_process_is_refused_at_once() {
    // No API deletes a project; another process may, and the key goes
    // with it (ON DELETE CASCADE).
    let dir = TempDir::new("key-cache-cascade");
    let path = dir.path().join("store.sqlite3");
    let serving = file_cloud(&path);
    let request = canon_cloud::admin::NewProject { id: "gone".to_owned(), ..Default::default() };
    serving.admin().create_project(request).unwrap();
    let key = NewApiKey { name: "test".to_owned(), scopes: Scopes::all(), value: Some("gone-key".to_owned()) };
    serving.admin().create_api_key("gone", key).unwrap();
    scopes_of(&serving, "gone-key");
    let raw = rusqlite::Connection::open(&path).unwrap();
    raw.execute_batch("PRAGMA foreign_keys = ON; DELETE FROM quotas WHERE project_id = 'gone'; DELETE FROM projects WHERE id = 'gone';")
        .unwrap();
    assert_refused(&serving, "gone-key");
}
