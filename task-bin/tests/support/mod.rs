//! Shared helpers for integration tests that validate HTTP traffic against the official Azure
//! swaggers with Microsoft's `oav` (OpenAPI validation tools, pinned in `tests/node/package.json`).
//!
//! Only `std` and `serde_json` are used. Typical use:
//!
//! ```ignore
//! mod support;
//! let tmp = support::TempDir::new("my-test");
//! let spec = support::azure_spec("storage/resource-manager/Microsoft.Storage/stable/2023-05-01/storage.json");
//! let traffic = tmp.path().join("storage");
//! support::write_json(&traffic.join("01.json"), &support::arm_put_traffic(id, "2023-05-01", &body, 200, &spec));
//! let run = support::run_oav_validate_traffic(&traffic, &spec, tmp.path());
//! let problems = run.problems(&["StorageAccounts_Create"]);
//! assert!(problems.is_empty(), "{}", run.render(&problems));
//! ```
//!
//! How `oav validate-traffic` behaves (4.0.3), and why the checks below look the way they do:
//! * every `*.json` under the traffic dir is one `{liveRequest, liveResponse}` pair; the request is
//!   matched to an operation by URL + `api-version` (the spec path must contain the api-version);
//! * a request that matches no operation is NOT an error: oav only prints
//!   `Error: Undefined operation {...}` on stdout and may still exit 0. So [`OavRun::problems`]
//!   also greps stdout for that line and compares the operations that passed with the expected ones;
//! * `--jsonReport` gives codes/messages per operation but not which payload file or JSON path
//!   failed; with `--report "" -p` oav prints every failing payload as YAML on stderr, which
//!   [`OavRun::issues`] parses (best effort; the raw output is kept next to the report);
//! * runtime exceptions (bad traffic file, spec load failures) make the exit code non-zero but are
//!   not in the JSON report's `errors`;
//! * extensible enums (`x-ms-enum.modelAsString: true`, e.g. storage `sku.name`, role assignment
//!   `principalType`) only get a case check: unknown values pass. Closed enums are enforced;
//!   unknown properties are reported (`OBJECT_ADDITIONAL_PROPERTIES`), as are read-only
//!   properties in requests and `x-ms-secret` properties in responses.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

/// The `oav` version `tests/node/package.json` pins.
pub const OAV_VERSION: &str = "4.0.3";

/// Subscription id substituted for the literal `{subscriptionId}` placeholder.
pub const TEST_SUBSCRIPTION_ID: &str = "00000000-0000-0000-0000-000000000000";

/// ARM front door host used in the traffic URLs.
pub const ARM_HOST: &str = "https://management.azure.com";

/// The cargo workspace root (parent of `task-bin/`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("task-bin has a parent directory").to_path_buf()
}

/// Root of the read-only official specs: `$AGENTPOOL_SPECS_DIR` (relative paths are taken from the
/// workspace root), else `<workspace>/../shared/specs`. Panics (never skips) if it does not exist.
pub fn specs_dir() -> PathBuf {
    let root = workspace_root();
    let dir = match std::env::var_os("AGENTPOOL_SPECS_DIR") {
        Some(v) if !v.is_empty() => {
            let p = PathBuf::from(v);
            if p.is_absolute() {
                p
            } else {
                root.join(p)
            }
        }
        _ => root.join("..").join("shared").join("specs"),
    };
    let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
    assert!(
        dir.join("azure-rest-api-specs").is_dir(),
        "official specs not found at {} (expected an `azure-rest-api-specs/` folder there); \
         set AGENTPOOL_SPECS_DIR to the shared specs directory",
        dir.display()
    );
    dir
}

/// A swagger file under `azure-rest-api-specs/specification/`. Panics if it does not exist.
pub fn azure_spec(relative_to_specification: &str) -> PathBuf {
    let p = specs_dir().join("azure-rest-api-specs").join("specification").join(relative_to_specification);
    assert!(p.is_file(), "swagger not found: {}", p.display());
    p
}

/// Path of the pinned `oav` CLI (`tests/node/node_modules/.bin/oav`). Panics with install
/// instructions if missing, or if the installed version is not [`OAV_VERSION`].
pub fn oav_bin() -> PathBuf {
    let node_dir = workspace_root().join("tests").join("node");
    let bin = node_dir.join("node_modules").join(".bin").join("oav");
    let pkg = node_dir.join("node_modules").join("oav").join("package.json");
    assert!(
        bin.exists() && pkg.is_file(),
        "oav is not installed at {}: run `npm ci --prefix tests/node` from the workspace root",
        bin.display()
    );
    let installed = read_json(&pkg)["version"].as_str().unwrap_or_default().to_string();
    assert_eq!(
        installed, OAV_VERSION,
        "tests/node/node_modules has oav {installed}, the tests pin {OAV_VERSION}: \
         run `npm ci --prefix tests/node`"
    );
    bin
}

/// A unique directory under `std::env::temp_dir()`. Removed on drop, except while panicking
/// (a failing test) with something in it, when it is kept and its path printed for inspection.
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new(prefix: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let path = std::env::temp_dir().join(format!("agentpool-{prefix}-{}-{nanos}-{n}", std::process::id()));
        std::fs::create_dir_all(&path).unwrap_or_else(|e| panic!("cannot create temp dir {}: {e}", path.display()));
        TempDir { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let empty = std::fs::read_dir(&self.path).map_or(true, |mut d| d.next().is_none());
        if std::thread::panicking() && !empty {
            eprintln!("keeping {} for inspection", self.path.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

pub fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

pub fn write_json(path: &Path, value: &Value) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("cannot create {}: {e}", parent.display()));
    }
    let text = serde_json::to_string_pretty(value).expect("serializable");
    std::fs::write(path, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}

/// Replaces every literal `{subscriptionId}` in strings (keys included) with [`TEST_SUBSCRIPTION_ID`].
pub fn substitute_subscription(value: &Value) -> Value {
    let text = serde_json::to_string(value).expect("serializable");
    serde_json::from_str(&text.replace("{subscriptionId}", TEST_SUBSCRIPTION_ID)).expect("JSON")
}

/// One traffic file for `oav validate-traffic`.
pub fn live_traffic(
    method: &str,
    url: &str,
    request_body: Option<&Value>,
    status: u16,
    response_body: Option<&Value>,
) -> Value {
    let headers = json!({"Content-Type": "application/json"});
    let mut request = json!({"url": url, "method": method, "headers": headers});
    if let Some(b) = request_body {
        request["body"] = b.clone();
    }
    let mut response = json!({"statusCode": status.to_string(), "headers": headers});
    if let Some(b) = response_body {
        response["body"] = b.clone();
    }
    json!({"liveRequest": request, "liveResponse": response})
}

/// Names of all properties marked `"x-ms-secret": true` in the non-example JSON files of the
/// swagger's folder (where the `$ref`ed siblings such as `computeRPCommon.json` live). ARM never
/// returns these, and oav reports them (`SECRET_PROPERTY`) if a response contains them.
pub fn secret_property_names(spec: &Path) -> BTreeSet<String> {
    fn walk(v: &Value, out: &mut BTreeSet<String>) {
        match v {
            Value::Object(map) => {
                if let Some(Value::Object(props)) = map.get("properties") {
                    for (name, schema) in props {
                        if schema.get("x-ms-secret") == Some(&Value::Bool(true)) {
                            out.insert(name.clone());
                        }
                    }
                }
                map.values().for_each(|c| walk(c, out));
            }
            Value::Array(items) => items.iter().for_each(|c| walk(c, out)),
            _ => {}
        }
    }
    let mut out = BTreeSet::new();
    let dir = spec.parent().expect("spec has a folder");
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
    for entry in entries.flatten() {
        let p = entry.path();
        if p.is_file() && p.extension().is_some_and(|e| e == "json") {
            walk(&read_json(&p), &mut out);
        }
    }
    out
}

/// Removes object keys named in `names`, at any depth.
pub fn strip_keys(value: &mut Value, names: &BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            map.retain(|k, _| !names.contains(k));
            map.values_mut().for_each(|c| strip_keys(c, names));
        }
        Value::Array(items) => items.iter_mut().for_each(|c| strip_keys(c, names)),
        _ => {}
    }
}

/// A plausible ARM PUT response for `request_body`: the body echoed back with `id`, `name` and
/// `type`, minus `secret_names` (which ARM never returns). Request-only problems therefore show
/// up on the request side; the response side only checks that the echo is a valid resource.
pub fn arm_echo_response(
    id: &str,
    resource_type: &str,
    request_body: &Value,
    secret_names: &BTreeSet<String>,
) -> Value {
    let mut body = request_body.clone();
    strip_keys(&mut body, secret_names);
    if let Value::Object(map) = &mut body {
        map.insert("id".into(), json!(id));
        let name = id.rsplit('/').next().unwrap_or_default();
        map.insert("name".into(), json!(name));
        map.insert("type".into(), json!(resource_type));
    }
    body
}

/// `PUT https://management.azure.com<id>?api-version=<v>` traffic for an ARM resource body, with
/// an [`arm_echo_response`] under `status`. `id` and `body` must already be free of placeholders
/// like `{subscriptionId}` (see [`substitute_subscription`]).
pub fn arm_put_traffic(
    id: &str,
    api_version: &str,
    resource_type: &str,
    body: &Value,
    status: u16,
    secret_names: &BTreeSet<String>,
) -> Value {
    let url = format!("{ARM_HOST}{id}?api-version={api_version}");
    let response = arm_echo_response(id, resource_type, body, secret_names);
    live_traffic("PUT", &url, Some(body), status, Some(&response))
}

mod oav;
pub use oav::*;

/// Maps `f` over `items` on at most `std::thread::available_parallelism()` threads (oav runs are
/// CPU-bound node processes; more at once only costs memory). Results keep the input order.
pub fn parallel_map<T: Send, R: Send>(items: Vec<T>, f: impl Fn(T) -> R + Sync) -> Vec<R> {
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get()).min(items.len());
    let queue = std::sync::Mutex::new(items.into_iter().enumerate());
    let mut results: Vec<(usize, R)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let next = queue.lock().unwrap_or_else(|e| e.into_inner()).next();
                        match next {
                            Some((i, item)) => done.push((i, f(item))),
                            None => return done,
                        }
                    }
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
    });
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

/// Groups values by key (keys sorted; values keep their input order).
pub fn group_by<K: Ord, V>(items: impl IntoIterator<Item = (K, V)>) -> BTreeMap<K, Vec<V>> {
    let mut m: BTreeMap<K, Vec<V>> = BTreeMap::new();
    for (k, v) in items {
        m.entry(k).or_default().push(v);
    }
    m
}
