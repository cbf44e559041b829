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
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

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

/// One error of oav's `--jsonReport` (which does not say which payload file it came from).
#[derive(Debug, Clone)]
pub struct ReportError {
    pub code: String,
    pub message: String,
    pub issue_source: String,
    pub operation_id: String,
    pub schema_position: String,
}

/// One problem oav printed for one payload file (parsed from its `-p` YAML output).
#[derive(Debug, Clone, Default)]
pub struct PayloadIssue {
    /// File name of the traffic file (no directory).
    pub payload: String,
    pub code: String,
    pub message: String,
    /// `request`, `response`, or `runtime` for runtime exceptions.
    pub source: String,
    /// JSON paths into the request/response body, e.g. `$.properties.source`.
    pub json_paths: Vec<String>,
}

/// The outcome of one `oav validate-traffic` run.
#[derive(Debug)]
pub struct OavRun {
    pub spec: PathBuf,
    pub traffic_dir: PathBuf,
    pub exit_code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// Parsed `--jsonReport`, `None` if oav did not write one.
    pub report: Option<Value>,
    pub report_path: PathBuf,
    /// stdout + stderr as written next to the report, for inspection after a failure.
    pub output_path: PathBuf,
    pub elapsed: Duration,
}

/// Runs `oav validate-traffic <traffic_dir> <spec> --report "" -p -l error --jsonReport ...`,
/// keeping the JSON report, oav's log file and its console output in `work_dir` (which must be
/// unique per run; it is created if missing).
pub fn run_oav_validate_traffic(traffic_dir: &Path, spec: &Path, work_dir: &Path) -> OavRun {
    std::fs::create_dir_all(work_dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", work_dir.display()));
    let report_path = work_dir.join("oav-report.json");
    let log_path = work_dir.join("oav.log");
    let output_path = work_dir.join("oav-output.txt");
    let _ = std::fs::remove_file(&report_path);
    let started = Instant::now();
    let out = Command::new(oav_bin())
        .arg("validate-traffic")
        .arg(traffic_dir)
        .arg(spec)
        .args(["--report", "", "--pretty", "--logLevel", "error", "--jsonReport"])
        .arg(&report_path)
        // Without -f, oav writes a log file into $HOME/oav_output on every run.
        .arg("--logFilepath")
        .arg(&log_path)
        .output()
        .unwrap_or_else(|e| panic!("cannot run oav: {e}; run `npm ci --prefix tests/node`"));
    let elapsed = started.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let _ = std::fs::write(&output_path, format!("{stdout}\n--- stderr ---\n{stderr}"));
    let report = std::fs::read_to_string(&report_path).ok().and_then(|t| serde_json::from_str(&t).ok());
    OavRun {
        spec: spec.to_path_buf(),
        traffic_dir: traffic_dir.to_path_buf(),
        exit_code: out.status.code(),
        stdout,
        stderr,
        report,
        report_path,
        output_path,
        elapsed,
    }
}

impl OavRun {
    /// Errors of the JSON report.
    pub fn report_errors(&self) -> Vec<ReportError> {
        let s = |v: &Value, k: &str| v[k].as_str().unwrap_or_default().to_string();
        self.report
            .as_ref()
            .and_then(|r| r["errors"].as_array())
            .map(|errs| {
                errs.iter()
                    .map(|e| ReportError {
                        code: s(e, "errorCode"),
                        message: s(e, "errorMessage"),
                        issue_source: s(e, "issueSource"),
                        operation_id: s(e, "operationId"),
                        schema_position: s(e, "schemaPathWithPosition"),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Operation ids that had traffic and no failure.
    pub fn passed_operations(&self) -> BTreeSet<String> {
        self.operation_list("passedOperationsList")
    }

    /// Operation ids of the spec that no traffic file matched.
    pub fn uncovered_operations(&self) -> BTreeSet<String> {
        self.operation_list("unCoveredOperationsList")
    }

    fn operation_list(&self, key: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        if let Some(list) = self.report.as_ref().and_then(|r| r[key].as_array()) {
            for item in list {
                for id in item["operationIds"].as_array().into_iter().flatten() {
                    if let Some(id) = id.as_str() {
                        out.insert(id.to_string());
                    }
                }
            }
        }
        out
    }

    /// Requests oav could not match to any operation of the spec (`Error: Undefined operation`):
    /// the `requestUrl`s, or the whole line if it cannot be parsed.
    pub fn undefined_operations(&self) -> Vec<String> {
        self.console()
            .lines()
            .filter_map(|l| l.split_once("Undefined operation "))
            .map(|(_, rest)| {
                serde_json::from_str::<Value>(rest.trim())
                    .ok()
                    .and_then(|v| {
                        let r = &v["validationRequest"];
                        Some(format!("{} {}", r["requestMethod"].as_str()?.to_uppercase(), r["requestUrl"].as_str()?))
                    })
                    .unwrap_or_else(|| rest.trim().to_string())
            })
            .collect()
    }

    /// Per-payload problems parsed from oav's pretty (YAML) console output.
    pub fn issues(&self) -> Vec<PayloadIssue> {
        parse_pretty_output(&self.console())
    }

    /// stdout then stderr. oav 4.0.3 prints the per-payload YAML on stderr (`console.error`)
    /// and `Undefined operation` lines on stdout.
    pub fn console(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    /// Everything that keeps this run from being a clean pass in which every traffic file was
    /// matched to one of `expected_operations` and validated without errors. Empty = clean.
    pub fn problems(&self, expected_operations: &[&str]) -> Vec<String> {
        let mut p = Vec::new();
        if self.exit_code != Some(0) {
            p.push(format!("oav exited with {:?} (0 means no errors)", self.exit_code));
        }
        if self.report.is_none() {
            p.push(format!("oav wrote no JSON report at {}", self.report_path.display()));
        }
        let errors = self.report_errors();
        if !errors.is_empty() {
            // One line per distinct error; the per-payload detail (file, JSON path) is in
            // `issues()`, which `render` prints.
            let mut distinct: BTreeMap<String, usize> = BTreeMap::new();
            for e in &errors {
                let line = format!(
                    "{} [{}] {}: {} (schema {})",
                    e.operation_id,
                    e.issue_source,
                    e.code,
                    e.message,
                    e.schema_position.rsplit_once("/specification/").map_or(e.schema_position.as_str(), |(_, rel)| rel)
                );
                *distinct.entry(line).or_default() += 1;
            }
            for (line, n) in distinct {
                let times = if n > 1 { format!(" ({n}x)") } else { String::new() };
                p.push(format!("{line}{times}"));
            }
        }
        for u in self.undefined_operations() {
            p.push(format!("request matches no operation of the spec: {u}"));
        }
        for issue in self.issues().iter().filter(|i| i.source == "runtime") {
            p.push(format!("runtime exception for {}: {}", issue.payload, issue.message));
        }
        for marker in ["Exception when loading spec", "Detail error"] {
            if self.console().contains(marker) {
                p.push(format!("oav output contains {marker:?}"));
            }
        }
        if self.exit_code == Some(0) && self.report.is_some() {
            let passed = self.passed_operations();
            let expected: BTreeSet<String> = expected_operations.iter().map(|s| s.to_string()).collect();
            for missing in expected.difference(&passed) {
                p.push(format!("expected operation {missing} was not validated"));
            }
            for extra in passed.difference(&expected) {
                p.push(format!("traffic matched unexpected operation {extra}"));
            }
        }
        p
    }

    /// A readable account of a failed run: the problems, oav's per-payload issues (named by
    /// `describe(file name)`), and where the raw output is.
    pub fn render(&self, problems: &[String], describe: &dyn Fn(&str) -> String) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "oav validate-traffic against {}:", self.spec.display());
        for p in problems {
            let _ = writeln!(s, "  - {p}");
        }
        let issues = self.issues();
        let mut payloads: Vec<&str> = issues.iter().map(|i| i.payload.as_str()).collect();
        payloads.dedup();
        for payload in payloads {
            let _ = writeln!(s, "  {}:", describe(payload));
            let mine: Vec<&PayloadIssue> = issues.iter().filter(|i| i.payload == payload).collect();
            for i in &mine {
                // The echoed response repeats every request defect; show those once.
                let echo_of_request = i.source == "response"
                    && mine.iter().any(|r| {
                        r.source == "request"
                            && r.code == i.code
                            && r.message == i.message
                            && r.json_paths == i.json_paths
                    });
                if echo_of_request {
                    continue;
                }
                let at =
                    if i.json_paths.is_empty() { String::new() } else { format!(" at {}", i.json_paths.join(", ")) };
                let _ = writeln!(s, "    [{}] {}{at}: {}", i.source, i.code, i.message);
            }
        }
        let _ = writeln!(
            s,
            "  traffic: {}\n  raw oav output: {}\n  json report: {}",
            self.traffic_dir.display(),
            self.output_path.display(),
            self.report_path.display()
        );
        s
    }
}

/// Parses the YAML that `oav validate-traffic --report "" -p` prints for each failing payload:
///
/// ```text
/// payloadFilePath: /tmp/.../x.json        (or `>-` and the value on the next, indented line)
/// errors:
///   - code: OBJECT_MISSING_REQUIRED_PROPERTY
///     message: 'Missing required property: source'
///     jsonPathsInPayload:
///       - $.properties.source
///     issueSource: request
/// runtimeExceptions: []
/// ```
pub fn parse_pretty_output(stdout: &str) -> Vec<PayloadIssue> {
    let lines: Vec<&str> = stdout.lines().collect();
    let indent = |l: &str| l.len() - l.trim_start().len();
    // Reads the scalar value of `key: value` at line i (handles `>-` / `|-` blocks and quotes).
    let scalar = |i: usize, value: &str| -> String {
        let v = value.trim();
        if v.starts_with('>') || v.starts_with('|') {
            let base = indent(lines[i]);
            let mut parts = Vec::new();
            for l in &lines[i + 1..] {
                if l.trim().is_empty() || indent(l) <= base {
                    break;
                }
                parts.push(l.trim());
            }
            return parts.join(if v.starts_with('|') { "\n" } else { " " });
        }
        if v.len() >= 2 && v.starts_with('\'') && v.ends_with('\'') {
            return v[1..v.len() - 1].replace("''", "'");
        }
        if v.len() >= 2 && v.starts_with('"') && v.ends_with('"') {
            return serde_json::from_str::<String>(v).unwrap_or_else(|_| v.to_string());
        }
        v.to_string()
    };
    let mut out: Vec<PayloadIssue> = Vec::new();
    let mut payload = String::new();
    let mut section = String::new(); // top-level key we are in
    let mut current: Option<PayloadIssue> = None;
    let mut in_paths = false;
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let ind = indent(line);
        let t = line.trim_start();
        if ind == 0 {
            out.extend(current.take());
            in_paths = false;
            if let Some((k, v)) = t.split_once(':') {
                section = k.to_string();
                if k == "payloadFilePath" {
                    let full = scalar(i, v);
                    payload = full.rsplit('/').next().unwrap_or(&full).to_string();
                }
            } else {
                section.clear();
            }
            continue;
        }
        if section != "errors" && section != "runtimeExceptions" {
            continue;
        }
        if ind == 2 && t.starts_with("- ") {
            out.extend(current.take());
            in_paths = false;
            current = Some(PayloadIssue {
                payload: payload.clone(),
                source: if section == "runtimeExceptions" { "runtime".into() } else { String::new() },
                ..Default::default()
            });
        }
        let Some(issue) = current.as_mut() else { continue };
        let t = t.strip_prefix("- ").filter(|_| ind == 2).unwrap_or(t);
        let key_level = ind == 2 || ind == 4;
        if key_level {
            in_paths = false;
            if let Some((k, v)) = t.split_once(':') {
                match k {
                    "code" => issue.code = scalar(i, v),
                    "message" => issue.message = scalar(i, v),
                    "issueSource" => issue.source = scalar(i, v),
                    "jsonPathsInPayload" => in_paths = true,
                    _ => {}
                }
            }
        } else if in_paths && ind == 6 {
            if let Some(p) = t.strip_prefix("- ") {
                issue.json_paths.push(scalar(i, p));
            }
        }
    }
    out.extend(current);
    out
}

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
