//! `canon serve` as a user runs it: the start-up output, state that
//! survives `kill -9`, the same demo key on every start over one data
//! file, fault rules from a file, graceful shutdown on SIGTERM, and
//! conflicting flags.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

/// A running `canon serve` and what it printed on start.
struct Serve {
    child: Child,
    banner: String,
    url: String,
}

impl Serve {
    fn start(args: &[&str]) -> Serve {
        let mut child = Command::new(env!("CARGO_BIN_EXE_canon"))
            .arg("serve")
            .args(["--addr", "127.0.0.1:0"])
            .args(args)
            .env_remove("CANON_BOOTSTRAP_KEY")
            .env_remove("CANON_ADMIN_TOKEN")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the canon binary runs");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut banner = String::new();
        for line in lines.by_ref() {
            let line = line.unwrap();
            banner.push_str(&line);
            banner.push('\n');
            if line.starts_with("Ctrl-C") {
                break;
            }
        }
        let url = field(&banner, "URL").unwrap_or_else(|| panic!("no URL in {banner:?}"));
        Serve { child, banner, url }
    }

    fn key(&self) -> String {
        field(&self.banner, "API key").expect("a printed key")
    }

    /// A request with `connection: close`, read to the end.
    fn call(&self, method: &str, path: &str, key: &str, body: Option<Value>) -> (u16, Value) {
        let addr = self.url.strip_prefix("http://").unwrap();
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let request = format!(
            "{method} {path} HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {key}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let status = response[9..12].parse().unwrap();
        let json =
            response.split_once("\r\n\r\n").and_then(|(_, b)| serde_json::from_str(b).ok()).unwrap_or(Value::Null);
        (status, json)
    }

    fn kill_9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The value after a label in the banner: `  URL        http://...`.
fn field(banner: &str, label: &str) -> Option<String> {
    banner.lines().find_map(|line| {
        let rest = line.strip_prefix("  ")?.strip_prefix(label)?;
        rest.starts_with(' ').then(|| rest.trim().to_owned())
    })
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("canon-serve-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn data_arg(path: &Path) -> String {
    path.to_str().unwrap().to_owned()
}

#[test]
fn the_start_up_output_names_the_url_the_data_the_key_and_a_command_to_try() {
    let server = Serve::start(&["--memory"]);
    let key = server.key();
    assert!(key.starts_with("ck_") && key.len() == 43, "{key}");
    assert_eq!(
        field(&server.banner, "data").as_deref(),
        Some("in memory (--memory): everything is gone when the server stops")
    );
    assert!(
        server.banner.contains(&format!("curl -H 'Authorization: Bearer {key}' {}/v1/projects/demo/vms", server.url)),
        "{}",
        server.banner
    );
    assert!(server.banner.contains(&format!("{}/_canon (loopback clients only)", server.url)));
    let (status, body) = server.call("GET", "/v1/projects/demo/vms", &key, None);
    assert_eq!((status, body), (200, json!({"VMs": []})));
}

#[test]
fn acknowledged_writes_survive_kill_9() {
    let dir = temp_dir("kill9");
    let data = data_arg(&dir.join("state.sqlite3"));
    let key = "kill-nine-key";
    let first = Serve::start(&["--data", &data, "--bootstrap-key", key]);
    assert!(field(&first.banner, "data").unwrap().contains("state.sqlite3 (SQLite, WAL; kept across restarts)"));
    assert_eq!(field(&first.banner, "API key").as_deref(), Some("the --bootstrap-key value (or CANON_BOOTSTRAP_KEY)"));
    let vm = json!({"vmId": "survivor", "dataCenterId": "gb-bournemouth-1", "machineType": "gpu-a100-x2"});
    assert_eq!(first.call("POST", "/v1/projects/demo/vm", key, Some(vm)).0, 200);
    let disk = json!({"dataCenterId": "gb-bournemouth-1", "disk": {"id": "keep-me", "sizeGib": 50}});
    assert_eq!(first.call("POST", "/v1/projects/demo/disks", key, Some(disk)).0, 200);
    assert_eq!(first.call("POST", "/v1/projects/demo/vms/survivor/stop", key, None).0, 200);
    first.kill_9();

    let second = Serve::start(&["--data", &data, "--bootstrap-key", key]);
    let (status, vm) = second.call("GET", "/v1/projects/demo/vms/survivor", key, None);
    assert_eq!((status, vm["VM"]["state"].as_str()), (200, Some("STOPPED")));
    let (status, disk) = second.call("GET", "/v1/projects/demo/disks/keep-me", key, None);
    assert_eq!((status, disk["disk"]["sizeGib"].as_u64()), (200, Some(50)));
    drop(second);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn every_start_on_one_data_file_prints_the_same_working_key() {
    let dir = temp_dir("key");
    let data = data_arg(&dir.join("canon.sqlite3"));
    let first = Serve::start(&["--data", &data]);
    let key = first.key();
    first.kill_9();
    let second = Serve::start(&["--data", &data]);
    assert_eq!(second.key(), key);
    assert_eq!(second.call("GET", "/v1/projects", &key, None).0, 200);
    drop(second);
    let other = Serve::start(&["--data", &data_arg(&dir.join("other.sqlite3"))]);
    assert_ne!(other.key(), key);
    drop(other);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn fault_rules_load_from_a_file_at_start_and_errors_follow_the_flags() {
    let faults = concat!(env!("CARGO_MANIFEST_DIR"), "/../canon-cloud/examples/faults.json");
    let server = Serve::start(&[
        "--memory",
        "--faults",
        faults,
        "--grpc-gateway",
        "--error-domain",
        "compute.example.test",
        "--seed",
        "3",
    ]);
    assert_eq!(field(&server.banner, "faults").as_deref(), Some("5 rules loaded"));
    let key = server.key();
    let vm = json!({"vmId": "vm-1", "dataCenterId": "gb-bournemouth-1", "machineType": "gpu-a100-x2"});
    let (status, body) = server.call("POST", "/v1/projects/demo/vm", &key, Some(vm));
    assert_eq!((status, body["code"].as_i64(), body.get("status")), (429, Some(8), None));
    let info = body["details"].as_array().unwrap().iter().find(|d| d["reason"].is_string()).unwrap().clone();
    assert_eq!(
        (info["reason"].as_str(), info["domain"].as_str()),
        (Some("GPU_QUOTA_EXCEEDED"), Some("compute.example.test"))
    );
}

#[cfg(unix)]
#[test]
fn sigterm_stops_the_server_cleanly() {
    let mut server = Serve::start(&["--memory"]);
    let status = Command::new("kill").args(["-TERM", &server.child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let exit = server.child.wait().unwrap();
    assert!(exit.success(), "{exit:?}");
}

#[test]
fn conflicting_or_bad_flags_are_usage_errors() {
    for args in [&["--memory", "--data", "x.sqlite3"][..], &["--transitions", "someday"], &["--addr", "nowhere"]] {
        let output = Command::new(env!("CARGO_BIN_EXE_canon")).arg("serve").args(args).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
    }
}
