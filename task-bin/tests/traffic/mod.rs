//! Every exchange a session recorded, validated with oav against the official swagger that
//! defines its operation; what no swagger can describe is counted, with the reason, in the line
//! the check prints (`oav: … validated …; skipped: …`).
//!
//! The swagger of an exchange is found by its method, path and api-version among the pinned
//! swaggers (`specification/*/resource-manager/…/stable/<api-version>/*.json`), so a new kind of
//! request needs no table here. Skipped, and only these:
//! - polls of long-running operations (`…/operationStatuses/…`, `…/operationResults/…`, the
//!   `Azure-AsyncOperation` and `Location` URLs): ARM's async contract describes them, no
//!   resource provider's swagger has an operation for them;
//! - answers of the emulator's fault injection (429, 500, 503; marked with
//!   [`agentpool_emulator::faults::INJECTED_HEADER`]): Resource Manager's front door answers them
//!   for any operation, while a swagger lists only its provider's codes (the request is the one
//!   its retry sends, validated there);
//! - `Providers_Get` (`GET /subscriptions/{s}/providers/{namespace}`, resources.json), which
//!   preflight reads: oav 4.0.3 files its path template under no provider and looks a request up
//!   under the namespace in its URL, so it never matches (e2e_preflight checks those answers
//!   against resources.json's `Provider` definition instead);
//! - Entra ID token requests: the identity platform's, not ARM's, so no ARM swagger; the emulator
//!   counts them and never records them;
//! - Azure DevOps' error answers: its swaggers list only 200 for every operation.
//!
//! Azure DevOps exchanges are validated against the official 7.1 swaggers with lists as
//! `{count, value}` (as Microsoft's own Rust client patches them,
//! [`agentpool_emulator::devops::write_oav_swagger`]), from a copy oav can match (the `//` the
//! client sends collapsed, `7.1-preview` as `7.1`, and joined flags values as their first flag: [`agentpool_emulator::devops::swagger`]); the line says how many flags were split.
//!
//! Anything else that matches no operation of the pinned swaggers fails the check.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use agentpool_emulator::devops::swagger as devops_swagger;
use serde_json::Value;

use crate::local_azure::Session;
use crate::support;

/// Every recorded exchange of `session` validates against its official swagger with oav.
pub fn validate(session: &Session) {
    Exchanges::of(session).validate(&session.dir.join("oav"));
}

/// Recorded exchanges of one or more sessions, and the Entra token requests they made.
#[derive(Debug, Default)]
pub struct Exchanges {
    files: Vec<PathBuf>,
    token_requests: u64,
}

impl Exchanges {
    /// What `session` recorded so far.
    pub fn of(session: &Session) -> Self {
        let token_requests = session.emulator.as_ref().map_or(0, |e| e.app().tokens.requests());
        Self { files: session.traffic_files(), token_requests }
    }

    /// Adds another session's exchanges.
    pub fn extend(&mut self, other: Exchanges) {
        self.files.extend(other.files);
        self.token_requests += other.token_requests;
    }

    /// Runs oav once per swagger over the exchanges it defines (in `work`), prints the summary
    /// line and returns it; panics with every problem found.
    pub fn validate(&self, work: &Path) -> String {
        let mut by_spec: BTreeMap<&Path, Vec<Value>> = BTreeMap::new();
        let (mut polls, mut injected, mut providers, mut unmatched) = (0, 0, 0, Vec::new());
        let (mut devops_errors, mut flags) = (0, 0);
        for file in &self.files {
            let mut exchange = support::read_json(file);
            let devops =
                exchange["liveRequest"]["url"].as_str().is_some_and(|u| u.starts_with(devops_swagger::RECORDED_HOST));
            if devops {
                if exchange["liveResponse"]["statusCode"].as_str().is_some_and(|s| !s.starts_with('2')) {
                    devops_errors += 1;
                    continue;
                }
                devops_swagger::normalize_for_oav(&mut exchange);
                flags += devops_swagger::split_joined_flags(&mut exchange);
            }
            let request = &exchange["liveRequest"];
            let (method, url) = (request["method"].as_str().unwrap_or_default(), request["url"].as_str().unwrap_or(""));
            let (path, query) = url.split_once('?').unwrap_or((url, ""));
            let path = path
                .strip_prefix(support::ARM_HOST)
                .or_else(|| path.strip_prefix(devops_swagger::RECORDED_HOST))
                .unwrap_or(path);
            let lower = path.to_ascii_lowercase();
            if lower.contains("/operationstatuses/") || lower.contains("/operationresults/") {
                polls += 1;
                continue;
            }
            if exchange["liveResponse"]["headers"].get(agentpool_emulator::faults::INJECTED_HEADER).is_some() {
                injected += 1;
                continue;
            }
            if method.eq_ignore_ascii_case("GET") && is_provider(&lower) {
                providers += 1;
                continue;
            }
            let api_version = query.split('&').find_map(|pair| pair.strip_prefix("api-version=")).unwrap_or_default();
            let (method, path, query) = (method.to_owned(), path.to_owned(), query.to_owned());
            match swaggers()
                .iter()
                .filter(|s| s.devops == devops)
                .filter_map(|s| s.specificity(&method, &path, api_version).map(|n| (n, s)))
                .max_by_key(|(n, _)| *n)
            {
                Some((_, swagger)) => by_spec.entry(&swagger.file).or_default().push(exchange),
                None => unmatched.push(format!("{method} {path}?{query}")),
            }
        }
        let runs = support::parallel_map(by_spec.iter().collect(), |(spec, exchanges)| {
            let dir = work.join(spec.file_stem().unwrap_or_default());
            let traffic = dir.join("traffic");
            std::fs::create_dir_all(&traffic).unwrap();
            for (n, exchange) in exchanges.iter().enumerate() {
                std::fs::write(traffic.join(format!("{n:05}.json")), exchange.to_string()).unwrap();
            }
            (spec, exchanges.len(), support::run_oav_validate_traffic(&traffic, spec, &dir.join("work")))
        });
        let mut failures: Vec<String> = unmatched
            .iter()
            .map(|u| format!("no operation of the pinned swaggers matches {u}: add the swagger or fix the request"))
            .collect();
        let mut errors = 0;
        for (spec, count, run) in &runs {
            let report = run.report_errors();
            let undefined = run.undefined_operations();
            errors += report.len() + undefined.len();
            if run.exit_code != Some(0) || !report.is_empty() || !undefined.is_empty() {
                failures.push(format!(
                    "{} ({count} exchanges): exit {:?}, errors {report:#?}, unmatched {undefined:#?}, output in {}",
                    spec.display(),
                    run.exit_code,
                    run.output_path.display()
                ));
            }
        }
        let validated: usize = runs.iter().map(|(_, count, _)| count).sum();
        let names: Vec<&str> = runs.iter().filter_map(|(spec, _, _)| spec.file_name()?.to_str()).collect();
        let summary = format!(
            "oav: {validated} exchanges validated against {} swaggers ({}), {errors} errors; skipped: {polls} LRO status polls (ARM's async contract: no swagger operation), {injected} injected fault answers (the front door's 429/5xx: no swagger lists them), {providers} Providers_Get (oav 4.0.3 files that path under no provider: it never matches), {} Entra token requests (not ARM), {devops_errors} Azure DevOps error answers (its swaggers list 200 only); {flags} Azure DevOps flags values (joined, where the swaggers list single values) validated as their first flag",
            runs.len(),
            names.join(", "),
            self.token_requests
        );
        // Straight to the process's stderr, past the test harness's capture, so the line shows in
        // the output of a passing run too (what was validated and what was skipped, and why).
        let _ = writeln!(std::io::stderr(), "{summary}");
        assert!(validated > 0, "no exchange was validated: {summary}");
        assert!(failures.is_empty(), "{summary}\noav found problems:\n{}", failures.join("\n"));
        summary
    }
}

/// `/subscriptions/{s}/providers/{namespace}`, nothing below the namespace (lower case).
fn is_provider(path: &str) -> bool {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    matches!(segments.as_slice(), ["subscriptions", _, "providers", _])
}

/// One pinned swagger: its operations' methods and path templates.
struct Swagger {
    file: PathBuf,
    api_version: String,
    operations: Vec<(String, Vec<String>)>,
    /// An Azure DevOps swagger (patched for oav), for Azure DevOps exchanges only.
    devops: bool,
}

impl Swagger {
    /// How specific the best of this swagger's operations for the request is (literal segments
    /// matched), or `None` when none is for it.
    fn specificity(&self, method: &str, path: &str, api_version: &str) -> Option<usize> {
        if self.api_version != api_version {
            return None;
        }
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        self.operations
            .iter()
            .filter(|(m, _)| m.eq_ignore_ascii_case(method))
            .filter(|(_, template)| matches(template, &segments))
            .map(|(_, template)| template.iter().filter(|t| !t.starts_with('{')).count())
            .max()
    }
}

/// Whether `segments` fit the template: literals ignore case, `{scope}` takes one or more
/// segments, any other parameter one.
fn matches(template: &[String], segments: &[&str]) -> bool {
    match (template.split_first(), segments.split_first()) {
        (None, None) => true,
        (Some((head, rest)), _) if head == "{scope}" => {
            (1..=segments.len()).any(|taken| matches(rest, &segments[taken..]))
        }
        (Some((head, rest)), Some((segment, others))) => {
            (head.starts_with('{') && !segment.is_empty() || head.eq_ignore_ascii_case(segment))
                && matches(rest, others)
        }
        _ => false,
    }
}

/// The pinned swaggers of Resource Manager and Azure DevOps (those patched for oav), read once.
fn swaggers() -> &'static [Swagger] {
    static SWAGGERS: OnceLock<Vec<Swagger>> = OnceLock::new();
    SWAGGERS.get_or_init(|| {
        let root = support::specs_dir().join("azure-rest-api-specs/specification");
        let mut found = Vec::new();
        collect(&root, &mut found);
        let mut swaggers: Vec<Swagger> = found.into_iter().filter_map(|file| read_swagger(file, false)).collect();
        swaggers.extend(devops_swaggers().into_iter().filter_map(|file| read_swagger(file, true)));
        swaggers
    })
}

/// The Azure DevOps swaggers agentpool's calls use, patched for oav into a folder of this process.
fn devops_swaggers() -> Vec<PathBuf> {
    let specs = support::specs_dir().join("vsts-rest-api-specs/specification");
    let out = std::env::temp_dir().join(format!("agentpool-devops-swaggers-{}", std::process::id()));
    [
        "distributedTask/7.1/elastic.json",
        "distributedTask/7.1/taskAgent.json",
        "serviceEndpoint/7.1/serviceEndpoint.json",
        "core/7.1/core.json",
    ]
    .into_iter()
    .map(|spec| {
        agentpool_emulator::devops::write_oav_swagger(&specs.join(spec), &out)
            .unwrap_or_else(|e| panic!("patching {spec} for oav: {e}"))
    })
    .collect()
}

/// A swagger's operations: its folder names the api-version.
fn read_swagger(file: PathBuf, devops: bool) -> Option<Swagger> {
    let api_version = file.parent()?.file_name()?.to_str()?.to_owned();
    let document = support::read_json(&file);
    let operations = document["paths"]
        .as_object()?
        .iter()
        .flat_map(|(template, item)| {
            let segments: Vec<String> = template.trim_matches('/').split('/').map(str::to_owned).collect();
            item.as_object()
                .into_iter()
                .flatten()
                .filter(|(_, operation)| operation.get("operationId").is_some())
                .map(move |(method, _)| (method.clone(), segments.clone()))
        })
        .collect();
    Some(Swagger { file, api_version, operations, devops })
}

/// Swagger files under `dir`: `…/resource-manager/…/stable/<api-version>/*.json`, no examples.
fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "examples") {
                collect(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "json")
            && path.to_string_lossy().contains("/resource-manager/")
            && path.parent().and_then(Path::parent).and_then(Path::file_name).is_some_and(|n| n == "stable")
        {
            out.push(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::matches;

    fn template(text: &str) -> Vec<String> {
        text.trim_matches('/').split('/').map(str::to_owned).collect()
    }

    #[test]
    fn scopes_take_several_segments_and_literals_ignore_case() {
        let assignment = template("/{scope}/providers/Microsoft.Authorization/roleAssignments/{roleAssignmentName}");
        let at_account = "subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st/providers/microsoft.authorization/roleassignments/g";
        assert!(matches(&assignment, &at_account.split('/').collect::<Vec<_>>()));
        let group = template("/subscriptions/{subscriptionId}/resourcegroups/{resourceGroupName}");
        assert!(matches(&group, &["subscriptions", "s", "resourceGroups", "rg"]));
        assert!(!matches(&group, &["subscriptions", "s", "resourceGroups", "rg", "providers"]));
    }
}
