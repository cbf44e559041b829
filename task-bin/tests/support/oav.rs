//! Running `oav validate-traffic` and reading what it says: the JSON report, the per-payload
//! YAML it prints with `-p`, and the `Undefined operation` lines (see the parent module's notes on
//! how oav 4.0.3 behaves).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::oav_bin;

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
