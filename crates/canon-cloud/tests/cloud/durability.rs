//! An acknowledged write survives `kill -9`: a child process (this test
//! binary, run again with an environment variable) creates disks and
//! prints each id once its call has returned; the parent kills it with
//! SIGKILL mid-stream, reopens the store and finds every acknowledged
//! disk.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use canon_cloud::clock::SystemClock;
use canon_cloud::model::CreateDisk;
use canon_cloud::{Cloud, CloudConfig, Store};

use crate::TempDir;

const CHILD_DATABASE: &str = "CANON_CLOUD_DURABILITY_CHILD_DB";
const ACKNOWLEDGED: usize = 25;

fn open(path: &str) -> Cloud {
    Cloud::new(Store::open(path).unwrap(), Arc::new(SystemClock), CloudConfig::default()).unwrap()
}

/// The child's side: only does something when the parent set the
/// environment variable; then it writes until it is killed.
#[test]
fn durability_child() {
    let Ok(path) = std::env::var(CHILD_DATABASE) else { return };
    let cloud = open(&path);
    cloud.admin().bootstrap("durable-key").unwrap();
    let who = cloud.authenticate(Some("durable-key")).unwrap();
    let mut out = std::io::stdout().lock();
    for i in 0.. {
        let request = CreateDisk {
            id: format!("d-{i}"),
            data_center_id: "gb-bournemouth-1".into(),
            size_gib: 10,
            ..CreateDisk::default()
        };
        let disk = cloud.create_disk(&who, "demo", request).unwrap();
        writeln!(out, "ack {}", disk.id).unwrap();
        out.flush().unwrap();
    }
}

/// Kills the child if the test fails before it does.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[cfg(unix)]
#[test]
fn acknowledged_writes_survive_kill_9() {
    let dir = TempDir::new("durability");
    let path = dir.path().join("cloud.db");
    let child = Command::new(std::env::current_exe().unwrap())
        .args(["durability::durability_child", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_DATABASE, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut child = KillOnDrop(child);
    let stdout = child.0.stdout.take().unwrap();
    let mut acknowledged = Vec::new();
    for line in BufReader::new(stdout).lines() {
        if let Some(id) = line.unwrap().strip_prefix("ack ") {
            acknowledged.push(id.to_owned());
            if acknowledged.len() == ACKNOWLEDGED {
                break;
            }
        }
    }
    assert_eq!(acknowledged.len(), ACKNOWLEDGED, "the child stopped early");
    // Child::kill sends SIGKILL on Unix: no destructor, no checkpoint.
    child.0.kill().unwrap();
    let status = child.0.wait().unwrap();
    assert!(!status.success());

    let cloud = open(path.to_str().unwrap());
    let who = cloud.authenticate(Some("durable-key")).unwrap();
    let disks: Vec<String> = cloud.list_disks(&who, "demo", None).unwrap().into_iter().map(|d| d.id).collect();
    for id in &acknowledged {
        assert!(disks.contains(id), "acknowledged disk {id} was lost; found {disks:?}");
    }
}
