//! The Gcore surface over real HTTP on 127.0.0.1: the tour the `gcore` SDK
//! takes, every error of the Gcore page as its exact envelope, tasks on
//! a manual clock, paging, and both surfaces over one store.

use std::sync::Arc;
use std::time::Duration;

use canon_cloud::clock::{ManualClock, Timestamp, TransitionMode};
use canon_cloud::http::{AppOptions, AppState, app, server};
use canon_cloud::model::{CreateVm, ResourceKind};
use canon_cloud::{Cloud, CloudConfig, Store};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// The demo key: a Gcore-style `{id}${secret}` key, so that a shell can
/// cut it at the `$`.
const KEY: &str = "gk1234$s3cr3t-demo-key";

struct Emulator {
    base: String,
    cloud: Arc<Cloud>,
    clock: Arc<ManualClock>,
    client: reqwest::Client,
    /// The demo project's integer id.
    project: i64,
}

/// An answer: status, headers and JSON body.
struct Answer {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a Gcore error: the status, the envelope without
    /// `request_id`, and `request_id` equal to the `x-request-id` header.
    fn assert_error(&self, status: u16, mut expected: Value) {
        assert_eq!(self.status.as_u16(), status, "{}", self.body);
        let request_id = self.header("x-request-id").expect("x-request-id on every error").to_owned();
        assert!(!request_id.is_empty());
        expected["request_id"] = json!(request_id);
        assert_eq!(self.body, expected);
        assert_eq!(self.header("content-type"), Some("application/json"));
    }
}

async fn start(mode: TransitionMode) -> Emulator {
    let clock = Arc::new(ManualClock::new(Timestamp::from_millis(1_700_000_000_000)));
    let config = CloudConfig { transition_mode: mode, id_seed: Some(7), ..CloudConfig::default() };
    let cloud = Arc::new(Cloud::new(Store::in_memory().unwrap(), clock.clone(), config).unwrap());
    let project = cloud.admin().bootstrap(KEY).unwrap().project.number;
    let router = app(AppState { cloud: Arc::clone(&cloud) }, &AppOptions::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(server::serve(listener, router, std::future::pending()));
    Emulator { base, cloud, clock, client: reqwest::Client::new(), project }
}

impl Emulator {
    async fn send(&self, method: Method, path: &str, auth: Option<&str>, body: Option<Value>) -> Answer {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.unwrap();
        let body = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap() };
        Answer { status, headers, body }
    }

    async fn get(&self, path: &str) -> Answer {
        self.send(Method::GET, path, Some(&format!("APIKey {KEY}")), None).await
    }

    async fn post(&self, path: &str, body: Value) -> Answer {
        self.send(Method::POST, path, Some(&format!("APIKey {KEY}")), Some(body)).await
    }

    async fn with_header(&self, method: Method, path: &str, name: &str, value: &str) -> Answer {
        let response = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header("authorization", format!("APIKey {KEY}"))
            .header(name, value)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap_or(Value::Null);
        Answer { status, headers, body }
    }

    fn volumes(&self, region: i64) -> String {
        format!("/cloud/v1/volumes/{}/{region}", self.project)
    }

    async fn create_volume(&self, name: &str, size: i64) -> (String, String) {
        let answer = self.post(&self.volumes(1), json!({"name": name, "source": "new-volume", "size": size})).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        let task_id = answer.body["tasks"][0].as_str().unwrap().to_owned();
        let task = self.get(&format!("/cloud/v1/tasks/{task_id}")).await;
        let volume_id = task.body["created_resources"]["volumes"][0].as_str().unwrap().to_owned();
        (task_id, volume_id)
    }

    async fn create_instance(&self, body: Value) -> Answer {
        self.post(&format!("/cloud/v2/instances/{}/1", self.project), body).await
    }

    async fn task(&self, task_id: &str) -> Value {
        let answer = self.get(&format!("/cloud/v1/tasks/{task_id}")).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        answer.body
    }
}

fn instance(flavor: &str, name: &str) -> Value {
    json!({
        "flavor": flavor,
        "name": name,
        "interfaces": [{"type": "external"}],
        "volumes": [{"source": "new-volume", "size": 20, "boot_index": 0}],
    })
}

const ED25519: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHqcp4nOzBQBN0eH7Ez6iBXu9MBWrQZ1dtNzfOq2QUa7 tour@canon";

fn ssh_key(n: u8) -> String {
    // Distinct valid keys: the last byte of the 32-byte key differs.
    let mut blob = vec![0, 0, 0, 11];
    blob.extend_from_slice(b"ssh-ed25519");
    blob.extend_from_slice(&[0, 0, 0, 32]);
    blob.extend((0..32).map(|i| if i == 31 { n } else { i as u8 }));
    format!("ssh-ed25519 {} key-{n}", base64(&blob))
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, b)| acc | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[tokio::test]
async fn the_sdk_tour_lists_projects_regions_and_flavors() {
    let emu = start(TransitionMode::Immediate).await;
    let projects = emu.get("/cloud/v1/projects").await;
    assert_eq!(projects.status, 200);
    assert_eq!(projects.body["count"], 1);
    let project = &projects.body["results"][0];
    assert_eq!((project["id"].as_i64(), project["name"].as_str()), (Some(emu.project), Some("Demo project")));
    assert_eq!(project["is_default"], true);

    let regions = emu.get("/cloud/v1/regions").await;
    assert_eq!(regions.body["count"], 2);
    let region = &regions.body["results"][0];
    assert_eq!((region["id"].as_i64(), region["display_name"].as_str()), (Some(1), Some("Bournemouth")));
    assert_eq!(emu.get("/cloud/v1/regions/2").await.body["slug"], "se-smedjebacken-1");

    let flavors = emu.get(&format!("/cloud/v1/flavors/{}/1", emu.project)).await;
    assert_eq!(flavors.body["count"], 4);
    let h100 = flavors.body["results"].as_array().unwrap().iter().find(|f| f["flavor_id"] == "gpu-h100-x8").unwrap();
    assert_eq!(
        (h100["vcpus"].as_u64(), h100["ram"].as_u64(), h100["capacity"].as_u64()),
        (Some(192), Some(1536 * 1024), Some(2))
    );
    assert_eq!(h100["hardware_description"]["gpu"], "8x H100 80GB SXM5");
}

#[tokio::test]
async fn each_401_cause_has_its_own_message() {
    let emu = start(TransitionMode::Immediate).await;
    let other = emu
        .cloud
        .admin()
        .create_api_key("demo", canon_cloud::admin::NewApiKey { name: "gone".into(), ..Default::default() })
        .unwrap();
    emu.cloud.admin().delete_api_key(&other.api_key.id).unwrap();
    let deleted = format!("APIKey {}", other.secret);
    let bearer = format!("Bearer {KEY}");
    let table: [(Option<&str>, &str, &str); 6] = [
        (None, "not_authenticated", "Authentication credentials were not provided."),
        (Some("APIKey "), "not_authenticated", "Authentication credentials were not provided."),
        // What `"APIKey gk1234$s3cr3t-demo-key"` leaves in a shell.
        (Some("APIKey gk1234"), "token_not_valid", "Bad permanent token: gk1..."),
        (Some("APIKey not-a-key"), "token_not_valid", "Token is invalid or expired"),
        (Some(&deleted), "token_not_valid", "Token is invalid or expired"),
        (Some(&bearer), "token_not_valid", "Given token not valid for any token type"),
    ];
    for (auth, class, message) in table {
        let answer = emu.send(Method::GET, "/cloud/v1/regions", auth, None).await;
        answer.assert_error(401, json!({"exception_class": class, "message": message}));
        assert!(!answer.body.to_string().contains("s3cr3t"));
    }
}

#[tokio::test]
async fn validation_errors_name_the_fields_gcore_names() {
    let emu = start(TransitionMode::Immediate).await;
    let path = emu.volumes(1);
    let too_small = emu.post(&path, json!({"name": "v", "source": "new-volume", "size": 5})).await;
    too_small.assert_error(
        400,
        json!({"exception_class": "ValidationError", "message": "Invalid fields in request: size.",
               "invalid_fields": {"size": ["Minimum is 10 GiB."]}}),
    );
    // The emulator makes new volumes only, not volumes from snapshots.
    let snapshot = emu.post(&path, json!({"name": "v", "source": "snapshot", "size": 10})).await;
    snapshot.assert_error(
        400,
        json!({"exception_class": "ValidationError", "message": "Invalid value for field 'source'.",
               "info": {"field": "source"},
               "invalid_fields": {"source": ["unknown variant `snapshot`, expected `new-volume`"]}}),
    );
    let unknown_flavor = emu.create_instance(instance("gpu-z9000", "web")).await;
    assert_eq!(unknown_flavor.status, 400);
    assert_eq!(unknown_flavor.body["invalid_fields"], json!({"flavor": ["Unknown machine type 'gpu-z9000'"]}));
    let missing = emu.post(&path, json!({"source": "new-volume", "size": 10})).await;
    assert_eq!((missing.status.as_u16(), &missing.body["exception_class"]), (400, &json!("ValidationError")));
    assert!(missing.body["invalid_fields"]["name"].is_array(), "{}", missing.body);
    let page = emu.get("/cloud/v1/regions?limit=0").await;
    page.assert_error(
        400,
        json!({"exception_class": "ValidationError", "message": "Invalid fields in request: limit.",
               "invalid_fields": {"limit": ["Must be between 1 and 1000, got 0."]}}),
    );
}

#[tokio::test]
async fn a_resellers_name_templates_hold() {
    let emu = start(TransitionMode::Immediate).await;
    let set = emu
        .send(
            Method::PUT,
            "/_canon/projects/demo/name-templates",
            None,
            Some(json!({"templates": ["ed-c4-{ip_octets}"]})),
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.body);
    let names = emu.get(&format!("/cloud/v1/instances/{}/1/available_names", emu.project)).await;
    assert_eq!(names.body["allowed_name_templates"], json!(["ed-c4-{ip_octets}"]));
    assert_eq!(names.body["custom_name_allowed"], false);

    let refused = emu.create_instance(instance("epyc-rome-cpu", "prod-db")).await;
    refused.assert_error(
        400,
        json!({"exception_class": "ValidationError", "message": "Invalid fields in request: name.",
               "invalid_fields": {"name": [
                   "Name 'prod-db' does not match any of the client's name templates: ed-c4-{ip_octets}."]}}),
    );
    let mut by_template = instance("epyc-rome-cpu", "");
    by_template.as_object_mut().unwrap().remove("name");
    by_template["name_template"] = json!("ed-c4-{ip_octets}");
    let created = emu.create_instance(by_template).await;
    let task = emu.task(created.body["tasks"][0].as_str().unwrap()).await;
    let id = task["created_resources"]["instances"][0].as_str().unwrap();
    let shown = emu.get(&format!("/cloud/v1/instances/{}/1/{id}", emu.project)).await;
    let name = shown.body["name"].as_str().unwrap();
    assert!(canon_cloud::naming::matches_template(name, "ed-c4-{ip_octets}"), "{name}");
    assert_eq!(emu.create_instance(instance("epyc-rome-cpu", "ed-c4-0-0-9")).await.status, 200);
}

#[tokio::test]
async fn missing_things_are_not_found() {
    let emu = start(TransitionMode::Immediate).await;
    let p = emu.project;
    let table = [
        (format!("/cloud/v1/volumes/{p}/1/no-such-volume"), "Volume 'no-such-volume' not found."),
        (format!("/cloud/v1/instances/{p}/1/no-such-vm"), "Instance 'no-such-vm' not found."),
        (format!("/cloud/v1/volumes/{p}/9"), "Region '9' not found."),
        ("/cloud/v1/tasks/no-such-task".to_owned(), "Task 'no-such-task' not found."),
        ("/cloud/v1/nothing-here".to_owned(), "No route matches the path '/cloud/v1/nothing-here'."),
    ];
    for (path, message) in table {
        let answer = emu.get(&path).await;
        let mut expected = json!({"exception_class": "NotFoundError", "message": message});
        if path.ends_with("nothing-here") {
            expected["info"] = json!({"path": path});
        }
        answer.assert_error(404, expected);
    }
    // A volume of region 1 is not found in region 2, as Gcore says.
    let (_, volume) = emu.create_volume("data", 10).await;
    let elsewhere = emu.get(&format!("/cloud/v1/volumes/{p}/2/{volume}")).await;
    elsewhere.assert_error(
        404,
        json!({"exception_class": "NotFoundError", "message": format!("Volume '{volume}' not found.")}),
    );
    // Another project's id is a permission error.
    let other = emu.get(&format!("/cloud/v1/volumes/{}/1", p + 1)).await;
    other.assert_error(
        403,
        json!({"exception_class": "PermissionDenied", "message": format!("You do not have access to project {}.", p + 1)}),
    );
}

#[tokio::test]
async fn quota_and_capacity_are_told_apart() {
    let emu = start(TransitionMode::Immediate).await;
    emu.cloud.admin().set_quota("demo", "gb-bournemouth-1", "gpu-a100", 4).unwrap();
    assert_eq!(emu.create_instance(instance("gpu-a100-x4", "a")).await.status, 200);
    let over = emu.create_instance(instance("gpu-a100-x4", "b")).await;
    over.assert_error(
        400,
        json!({"exception_class": "QuotaLimitExceed",
               "message": "Quota limit exceeded: gpu_virtual_a100_count would be 8, over the limit of 4 (current usage 4).",
               "info": {"quota_name": "gpu_virtual_a100_count", "current_usage": 4, "requested": 8, "limit": 4}}),
    );
    assert_eq!(over.header("retry-after"), None);

    emu.cloud.admin().set_capacity("gb-bournemouth-1", "gpu-h100-x8", 1).unwrap();
    assert_eq!(emu.create_instance(instance("gpu-h100-x8", "c")).await.status, 200);
    let full = emu.create_instance(instance("gpu-h100-x8", "d")).await;
    full.assert_error(
        403,
        json!({"exception_class": "ForbiddenError",
               "message": "Flavor 'gpu-h100-x8' has no capacity left in region 1. Try a different region or flavor.",
               "info": {"flavor": "gpu-h100-x8", "region_id": 1,
                        "available_flavors": ["epyc-rome-cpu", "gpu-a100-x2", "gpu-a100-x4"]}}),
    );
    let quotas = emu.get("/cloud/v2/client_quotas").await;
    let region = quotas.body["regional_quotas"].as_array().unwrap().iter().find(|q| q["region_id"] == 1).unwrap();
    assert_eq!(
        (&region["gpu_virtual_a100_count_limit"], &region["gpu_virtual_a100_count_usage"]),
        (&json!(4), &json!(4))
    );
    assert_eq!(&region["gpu_virtual_h100_count_usage"], &json!(8));
}

#[tokio::test]
async fn a_wrong_method_is_an_http_error_with_allow() {
    let emu = start(TransitionMode::Immediate).await;
    let answer = emu.post("/cloud/v1/regions", json!({})).await;
    answer.assert_error(
        405,
        json!({"exception_class": "HTTPError",
               "message": "The method 'POST' is not allowed on the path '/cloud/v1/regions'.",
               "info": {"method": "POST", "path": "/cloud/v1/regions"}}),
    );
    assert_eq!(answer.header("allow"), Some("GET,HEAD"));
}

#[tokio::test]
async fn conflicts_say_whether_to_retry() {
    let emu = start(TransitionMode::After(Duration::from_secs(30))).await;
    let path = format!("/cloud/v1/ssh_keys/{}", emu.project);
    let created = emu.post(&path, json!({"name": "tour", "public_key": ED25519})).await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!((&created.body["name"], &created.body["project_id"]), (&json!("tour"), &json!(emu.project)));
    let again = emu.post(&path, json!({"name": "tour-again", "public_key": ED25519})).await;
    let fingerprint = created.body["fingerprint"].as_str().unwrap();
    again.assert_error(
        409,
        json!({"exception_class": "ConflictError",
               "message": format!("An SSH key with fingerprint '{fingerprint}' already exists in the project.")}),
    );
    assert_eq!(again.header("x-should-retry"), Some("false"));

    // A volume busy with its creation: a conflict that may clear.
    let (_, volume) = emu.create_volume("busy", 10).await;
    let extend = format!("{}/{volume}/extend", emu.volumes(1));
    let busy = emu.post(&extend, json!({"size": 20})).await;
    busy.assert_error(
        409,
        json!({"exception_class": "ConflictError",
               "message": format!("Volume '{volume}' is busy (CREATING); retry when its task has finished."),
               "info": {"current_state": "CREATING"}}),
    );
    assert_eq!(busy.header("x-should-retry"), None);
}

#[tokio::test]
async fn injected_faults_come_out_as_gcore_envelopes() {
    let emu = start(TransitionMode::Immediate).await;
    let throttled = emu
        .with_header(Method::GET, "/cloud/v1/regions", "x-canon-fault", "code=RESOURCE_EXHAUSTED; retry-after=2")
        .await;
    assert_eq!(throttled.status, 429);
    assert_eq!(throttled.body["exception_class"], "Throttled");
    assert_eq!(throttled.header("retry-after"), Some("2"));
    assert_eq!(throttled.body["request_id"].as_str(), throttled.header("x-request-id"));

    let internal = emu.with_header(Method::GET, "/cloud/v1/regions", "x-canon-fault", "INTERNAL").await;
    assert_eq!(internal.status, 500);
    assert_eq!(internal.body["exception_class"], "InternalError");
    assert_eq!(internal.body["request_id"].as_str(), internal.header("x-request-id"));

    let journal = emu.cloud.journal().list(&Default::default());
    let faulted: Vec<u16> = journal.iter().filter(|e| e.fault.is_some()).map(|e| e.status).collect();
    assert_eq!(faulted, [429, 500]);
}

#[tokio::test]
async fn tasks_follow_the_emulators_clock() {
    let emu = start(TransitionMode::After(Duration::from_secs(30))).await;
    let (task_id, volume) = emu.create_volume("data", 10).await;
    let task = emu.task(&task_id).await;
    assert_eq!((&task["state"], &task["task_type"]), (&json!("RUNNING"), &json!("create_volume")));
    assert_eq!(task["created_resources"], json!({"volumes": [volume]}));
    let shown = emu.get(&format!("{}/{volume}", emu.volumes(1))).await;
    assert_eq!(shown.body["status"], "creating");

    emu.cloud.admin().advance_clock(Duration::from_secs(30)).unwrap();
    let task = emu.task(&task_id).await;
    assert_eq!(task["state"], "FINISHED");
    assert!(task["finished_on"].is_string());
    assert_eq!(emu.get(&format!("{}/{volume}", emu.volumes(1))).await.body["status"], "available");

    // Extend: RUNNING, then FINISHED with the new size.
    let extended = emu.post(&format!("{}/{volume}/extend", emu.volumes(1)), json!({"size": 40})).await;
    let extend_task = extended.body["tasks"][0].as_str().unwrap().to_owned();
    assert_eq!(emu.task(&extend_task).await["state"], "RUNNING");
    assert_eq!(emu.get(&format!("{}/{volume}", emu.volumes(1))).await.body["status"], "extending");
    emu.clock.advance(Duration::from_secs(30));
    let done = emu.task(&extend_task).await;
    assert_eq!((&done["state"], &done["created_resources"]), (&json!("FINISHED"), &Value::Null));
    assert_eq!(emu.get(&format!("{}/{volume}", emu.volumes(1))).await.body["size"], 40);

    // Manual transitions: NEW until the operator advances; a failed
    // resource fails its task.
    emu.cloud.admin().set_transition_mode(TransitionMode::Manual);
    let created = emu.create_instance(instance("epyc-rome-cpu", "waits")).await;
    let task_id = created.body["tasks"][0].as_str().unwrap().to_owned();
    let task = emu.task(&task_id).await;
    assert_eq!(task["state"], "NEW");
    let vm = task["created_resources"]["instances"][0].as_str().unwrap().to_owned();
    assert_eq!(task["created_resources"]["volumes"].as_array().unwrap().len(), 1);
    let shown = emu.get(&format!("/cloud/v1/instances/{}/1/{vm}", emu.project)).await;
    assert_eq!((&shown.body["status"], &shown.body["vm_state"]), (&json!("BUILD"), &json!("building")));
    emu.cloud.admin().advance(ResourceKind::Operation, "demo", &task_id).unwrap();
    assert_eq!(emu.task(&task_id).await["state"], "FINISHED");
    assert_eq!(emu.get(&format!("/cloud/v1/instances/{}/1/{vm}", emu.project)).await.body["status"], "ACTIVE");

    let (failing, failing_volume) = emu.create_volume("fails", 10).await;
    emu.cloud.admin().set_state(ResourceKind::Disk, "demo", &failing_volume, "FAILED").unwrap();
    let task = emu.task(&failing).await;
    assert_eq!((&task["state"], &task["error"]), (&json!("ERROR"), &json!(format!("Disk '{failing_volume}' failed."))));

    // Delete: the instance is gone when its task has finished.
    let deleted = emu
        .send(
            Method::DELETE,
            &format!("/cloud/v1/instances/{}/1/{vm}", emu.project),
            Some(&format!("APIKey {KEY}")),
            None,
        )
        .await;
    let delete_task = deleted.body["tasks"][0].as_str().unwrap().to_owned();
    assert_eq!(emu.task(&delete_task).await["state"], "NEW");
    emu.cloud.admin().advance_all().unwrap();
    assert_eq!(emu.task(&delete_task).await["state"], "FINISHED");
    assert_eq!(emu.get(&format!("/cloud/v1/instances/{}/1/{vm}", emu.project)).await.status, 404);
}

#[tokio::test]
async fn lists_page_with_limit_and_offset() {
    let emu = start(TransitionMode::Immediate).await;
    let path = format!("/cloud/v1/ssh_keys/{}", emu.project);
    for n in 0..5 {
        let created = emu.post(&path, json!({"name": format!("key-{n}"), "public_key": ssh_key(n)})).await;
        assert_eq!(created.status, 201, "{}", created.body);
    }
    let table = [
        ("?limit=2", 2, "key-0"),
        ("?limit=2&offset=2", 2, "key-2"),
        ("?limit=2&offset=4", 1, "key-4"),
        ("", 5, "key-0"),
    ];
    for (query, len, first) in table {
        let page = emu.get(&format!("{path}{query}")).await;
        assert_eq!(page.body["count"], 5, "{query}");
        let results = page.body["results"].as_array().unwrap();
        assert_eq!((results.len(), &results[0]["name"]), (len, &json!(first)), "{query}");
    }
    assert_eq!(emu.get(&format!("{path}?offset=9")).await.body["results"], json!([]));
}

#[tokio::test]
async fn both_surfaces_share_one_store() {
    let emu = start(TransitionMode::Immediate).await;
    // A VM made through the CUDO surface is an instance here.
    let cudo = emu
        .client
        .post(format!("{}/v1/projects/demo/vm", emu.base))
        .header("authorization", format!("Bearer {KEY}"))
        .json(&json!({"vmId": "from-cudo", "dataCenterId": "gb-bournemouth-1", "machineType": "gpu-a100-x2",
                      "bootDiskSizeGib": 20}))
        .send()
        .await
        .unwrap();
    assert!(cudo.status().is_success(), "{}", cudo.text().await.unwrap());
    let list = emu.get(&format!("/cloud/v1/instances/{}/1", emu.project)).await;
    let ids: Vec<&str> = list.body["results"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["from-cudo"]);
    let quotas = emu.get("/cloud/v2/client_quotas").await;
    let region = quotas.body["regional_quotas"].as_array().unwrap().iter().find(|q| q["region_id"] == 1).unwrap();
    assert_eq!(region["gpu_virtual_a100_count_usage"], 2);

    // An instance made here is a VM there, and takes the same capacity.
    let created = emu.create_instance(instance("gpu-a100-x2", "from-gcore")).await;
    let task = emu.task(created.body["tasks"][0].as_str().unwrap()).await;
    let id = task["created_resources"]["instances"][0].as_str().unwrap();
    let who = emu.cloud.authenticate(Some(KEY)).unwrap();
    let vm = emu.cloud.get_vm(&who, "demo", id).unwrap();
    assert_eq!((vm.name.as_str(), vm.machine_type.as_str()), ("from-gcore", "gpu-a100-x2"));
    let cudo_vm = emu
        .client
        .get(format!("{}/v1/projects/demo/vms/{id}", emu.base))
        .header("authorization", format!("Bearer {KEY}"))
        .send()
        .await
        .unwrap();
    assert_eq!(cudo_vm.status(), 200);
    let flavors = emu.get(&format!("/cloud/v1/flavors/{}/1", emu.project)).await;
    let a100 = flavors.body["results"].as_array().unwrap().iter().find(|f| f["flavor_id"] == "gpu-a100-x2").unwrap();
    assert_eq!(a100["capacity"], 8 - 2);
    let domain_vm = emu.cloud.create_vm(
        &who,
        "demo",
        CreateVm {
            id: "from-domain".into(),
            data_center_id: "se-smedjebacken-1".into(),
            machine_type: "epyc-rome-cpu".into(),
            ..CreateVm::default()
        },
    );
    assert!(domain_vm.is_ok());
    let region2 = emu.get(&format!("/cloud/v1/instances/{}/2", emu.project)).await;
    assert_eq!(region2.body["results"][0]["id"], "from-domain");
}

#[tokio::test]
async fn the_openapi_document_covers_the_surface() {
    let emu = start(TransitionMode::Immediate).await;
    let doc = emu.send(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(doc.status, 200);
    let paths = doc.body["paths"].as_object().unwrap();
    for path in [
        "/cloud/v1/projects",
        "/cloud/v1/regions",
        "/cloud/v1/flavors/{project_id}/{region_id}",
        "/cloud/v1/ssh_keys/{project_id}",
        "/cloud/v1/volumes/{project_id}/{region_id}/{volume_id}/extend",
        "/cloud/v2/instances/{project_id}/{region_id}",
        "/cloud/v1/instances/{project_id}/{region_id}/{instance_id}",
        "/cloud/v1/tasks/{task_id}",
        "/cloud/v2/client_quotas",
    ] {
        assert!(paths.contains_key(path), "{path}");
    }
    let task = &paths["/cloud/v1/tasks/{task_id}"]["get"];
    assert_eq!(
        task["responses"]["default"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/GcoreError"
    );
    assert_eq!(task["security"], json!([{"APIKey": []}]));
    let envelope = &doc.body["components"]["schemas"]["GcoreError"];
    assert_eq!(envelope["required"], json!(["exception_class", "message"]));
}
