//! The ARM request bodies that `agentpool plan --offline --output json` renders must validate
//! against Microsoft's official swaggers (read-only copies under `$AGENTPOOL_SPECS_DIR`, default
//! `../shared/specs`), checked with the real `oav` (pinned in `tests/node/package.json`; install
//! with `npm ci --prefix tests/node`).
//!
//! Each ARM resource of the plan becomes one `oav validate-traffic` traffic file:
//! `PUT https://management.azure.com<id>?api-version=<apiVersion>` with the plan's body, and a
//! plausible response (the body echoed with id/name/type, secrets removed) under a status code the
//! operation lists. All bodies for one swagger go through one oav run; the runs are parallel.
//!
//! `oav_harness_rejects_invalid_bodies` mutates real plan bodies and requires oav to flag each one,
//! so a harness that silently passes everything cannot go unnoticed.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use serde_json::{json, Value};
use support::{OavRun, TempDir};

/// How one ARM resource kind of the plan is validated.
#[derive(Clone, Copy)]
struct ArmKind {
    kind: &'static str,
    /// Swagger, relative to `azure-rest-api-specs/specification/`; its path holds the api-version.
    spec: &'static str,
    api_version: &'static str,
    /// The PUT operation the request must be matched to.
    operation_id: &'static str,
    /// Response status for the echoed response; must be listed by the operation.
    status: u16,
}

/// The PUT operation each ARM kind's body must match, and the status of the echoed answer (one
/// the operation lists). The swagger and api-version are the kind's own
/// (`agentpool_core::resources::KINDS`).
const PUT_OPERATIONS: &[(&str, &str, u16)] = &[
    ("Microsoft.Resources/resourceGroups", "ResourceGroups_CreateOrUpdate", 200),
    ("Microsoft.Storage/storageAccounts", "StorageAccounts_Create", 200), // lists 200 and 202 only
    ("Microsoft.Storage/storageAccounts/blobServices/containers", "BlobContainers_Create", 200),
    ("Microsoft.ManagedIdentity/userAssignedIdentities", "UserAssignedIdentities_CreateOrUpdate", 200),
    ("Microsoft.Authorization/roleAssignments", "RoleAssignments_Create", 200),
    ("Microsoft.Authorization/roleDefinitions", "RoleDefinitions_CreateOrUpdate", 201), // the only success the operation lists
    ("Microsoft.Compute/galleries", "Galleries_CreateOrUpdate", 200),
    ("Microsoft.Compute/galleries/images", "GalleryImages_CreateOrUpdate", 200),
    ("Microsoft.VirtualMachineImages/imageTemplates", "VirtualMachineImageTemplates_CreateOrUpdate", 200),
    ("Microsoft.Network/publicIPAddresses", "PublicIPAddresses_CreateOrUpdate", 200),
    ("Microsoft.Network/publicIPPrefixes", "PublicIPPrefixes_CreateOrUpdate", 200),
    ("Microsoft.Network/natGateways", "NatGateways_CreateOrUpdate", 200),
    ("Microsoft.Compute/virtualMachineScaleSets", "VirtualMachineScaleSets_CreateOrUpdate", 200),
    ("Microsoft.Network/virtualNetworks/subnets", "Subnets_CreateOrUpdate", 200),
];

const PLAN_OSES: &[&str] = &["linux", "windows"];

fn arm_kind(kind: &str) -> Option<ArmKind> {
    let facts = agentpool_core::resources::kind_of(kind)?;
    let (_, operation_id, status) = *PUT_OPERATIONS.iter().find(|(k, _, _)| *k == facts.resource_type)?;
    Some(ArmKind {
        kind: facts.resource_type,
        spec: facts.swagger.strip_prefix("azure-rest-api-specs/specification/").unwrap_or(facts.swagger),
        api_version: facts.api_version,
        operation_id,
        status,
    })
}

/// One ARM resource body to validate.
#[derive(Clone, Debug)]
struct ArmBody {
    /// Human-readable origin, e.g. `linux plan #3`.
    origin: String,
    kind: String,
    id: String,
    api_version: String,
    body: Value,
}

impl ArmBody {
    fn describe(&self) -> String {
        format!("{} {} {}", self.origin, self.kind, self.id)
    }
}

fn run_plan(os: &str) -> Value {
    let root = support::workspace_root();
    let params = root.join("yaml-templates").join("parameters");
    let out = Command::new(env!("CARGO_BIN_EXE_agentpool"))
        .current_dir(&root)
        .args(["plan", "--offline", "--environment", "sbx", "--os", os, "--parameters-dir"])
        .arg(&params)
        .args(["--output", "json"])
        .output()
        .expect("run agentpool");
    assert!(
        out.status.success(),
        "agentpool plan --os {os} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("agentpool plan --os {os} --output json is not JSON: {e}\n{}", String::from_utf8_lossy(&out.stdout))
    })
}

/// The plan's ARM resources (non-ARM kinds such as Azure DevOps elastic pools are left out).
fn plan_arm_bodies(plan: &Value, os: &str) -> Vec<ArmBody> {
    let resources = plan["resources"].as_array().unwrap_or_else(|| panic!("{os} plan has no `resources` array"));
    let s = |r: &Value, k: &str, i: usize| -> String {
        r[k].as_str().unwrap_or_else(|| panic!("{os} plan resource #{i} has no string `{k}`: {r}")).to_string()
    };
    resources
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            agentpool_core::resources::kind_of(r["kind"].as_str().unwrap_or_default())
                .is_none_or(|kind| kind.service == agentpool_core::resources::kind::Service::ResourceManager)
        })
        .map(|(i, r)| ArmBody {
            origin: format!("{os} plan #{i}"),
            kind: s(r, "kind", i),
            id: s(r, "id", i),
            api_version: s(r, "apiVersion", i),
            body: r.get("body").cloned().unwrap_or_else(|| panic!("{os} plan resource #{i} has no `body`: {r}")),
        })
        .collect()
}

/// One oav run over all bodies that belong to one swagger.
struct SpecRun {
    spec: &'static str,
    expected_operations: Vec<&'static str>,
    /// traffic file name -> the body it holds
    files: BTreeMap<String, ArmBody>,
    run: OavRun,
}

impl SpecRun {
    fn file_of(&self, origin: &str) -> &str {
        self.files
            .iter()
            .find(|(_, b)| b.origin == origin)
            .map(|(f, _)| f.as_str())
            .unwrap_or_else(|| panic!("no traffic file for {origin} in {}", self.spec))
    }

    fn problems(&self) -> Vec<String> {
        self.run.problems(&self.expected_operations)
    }

    fn render(&self, problems: &[String]) -> String {
        let describe = |file: &str| match self.files.get(file) {
            Some(b) => format!("{file} ({})", b.describe()),
            None => file.to_string(),
        };
        self.run.render(problems, &describe)
    }
}

struct Validation {
    /// Bodies that could not be sent to oav at all (unmapped kind, api-version mismatch).
    unmapped: Vec<String>,
    runs: Vec<SpecRun>,
}

impl Validation {
    /// Every failure, readable; empty if all bodies validated cleanly.
    fn failures(&self) -> Vec<String> {
        let mut out: Vec<String> = self.unmapped.clone();
        for r in &self.runs {
            let p = r.problems();
            if !p.is_empty() {
                out.push(r.render(&p));
            }
        }
        out
    }

    fn run_for(&self, spec_file_name: &str) -> &SpecRun {
        self.runs
            .iter()
            .find(|r| r.spec.ends_with(spec_file_name))
            .unwrap_or_else(|| panic!("no oav run for {spec_file_name}"))
    }
}

/// Writes one traffic file per body (grouped by swagger) and runs oav once per swagger, in parallel.
fn validate_arm_bodies(bodies: &[ArmBody], work: &Path) -> Validation {
    support::oav_bin(); // fail here, on the test's thread, if oav is not installed
    let mut unmapped = Vec::new();
    let mut by_spec: BTreeMap<&'static str, Vec<(ArmKind, &ArmBody)>> = BTreeMap::new();
    for b in bodies {
        match arm_kind(&b.kind) {
            None => unmapped.push(format!(
                "{}: kind {} has no PUT operation in PUT_OPERATIONS (tests/swagger_bodies.rs); \
                 add one so its body is validated",
                b.describe(),
                b.kind
            )),
            Some(k) if k.api_version != b.api_version => unmapped.push(format!(
                "{}: apiVersion {} but the swagger mapped for {} is {} ({})",
                b.describe(),
                b.api_version,
                k.kind,
                k.api_version,
                k.spec
            )),
            Some(k) => by_spec.entry(k.spec).or_default().push((k, b)),
        }
    }

    let mut jobs = Vec::new();
    for (n, (spec_rel, items)) in by_spec.into_iter().enumerate() {
        let spec = support::azure_spec(spec_rel);
        let secrets = support::secret_property_names(&spec);
        let stem = spec.file_stem().unwrap().to_string_lossy().into_owned();
        let dir = work.join(format!("{n:02}-{stem}"));
        let traffic_dir = dir.join("traffic");
        let mut files = BTreeMap::new();
        let mut expected = BTreeSet::new();
        for (i, (k, b)) in items.into_iter().enumerate() {
            let short_kind = b.kind.split_once('/').map_or(b.kind.as_str(), |(_, t)| t);
            let origin = b.origin.replace([' ', '#'], "");
            let file = format!("{i:02}-{origin}-{}.json", short_kind.replace('/', "-"));
            let id = b.id.replace("{subscriptionId}", support::TEST_SUBSCRIPTION_ID);
            let body = support::substitute_subscription(&b.body);
            let traffic = support::arm_put_traffic(&id, &b.api_version, &b.kind, &body, k.status, &secrets);
            support::write_json(&traffic_dir.join(&file), &traffic);
            files.insert(file, b.clone());
            expected.insert(k.operation_id);
        }
        jobs.push((spec_rel, spec, dir, traffic_dir, files, expected));
    }

    let runs = support::parallel_map(jobs, |(spec_rel, spec, dir, traffic_dir, files, expected)| SpecRun {
        spec: spec_rel,
        expected_operations: expected.into_iter().collect(),
        files,
        run: support::run_oav_validate_traffic(&traffic_dir, &spec, &dir),
    });
    Validation { unmapped, runs }
}

#[test]
fn plan_arm_bodies_validate_against_official_swaggers() {
    let started = Instant::now();
    let tmp = TempDir::new("swagger-bodies");
    let mut bodies = Vec::new();
    for os in PLAN_OSES {
        let found = plan_arm_bodies(&run_plan(os), os);
        assert!(!found.is_empty(), "the {os} plan has no ARM resources");
        bodies.extend(found);
    }

    // A mapping no plan uses is stale (renamed kind? typo?): fail so the table stays honest.
    let present: BTreeSet<&str> = bodies.iter().map(|b| b.kind.as_str()).collect();
    let stale: Vec<&str> = PUT_OPERATIONS.iter().map(|k| k.0).filter(|k| !present.contains(k)).collect();
    assert!(
        stale.is_empty(),
        "PUT_OPERATIONS maps kinds that neither sbx plan contains: {stale:?} (present: {present:?})"
    );

    let v = validate_arm_bodies(&bodies, tmp.path());
    let failures = v.failures();
    assert!(
        failures.is_empty(),
        "plan bodies do not validate against the official swaggers:\n\n{}",
        failures.join("\n")
    );
    let slowest = v.runs.iter().map(|r| r.run.elapsed).max().unwrap_or_default();
    eprintln!(
        "validated {} ARM bodies ({} kinds) against {} swaggers with oav in {:.1?} \
         (slowest oav run {:.1?})",
        bodies.len(),
        present.len(),
        v.runs.len(),
        started.elapsed(),
        slowest
    );
}

/// Negative self-check: real plan bodies with one defect each must be reported by oav, on the
/// right payload file, while their unmodified originals in the same run stay clean.
#[test]
fn oav_harness_rejects_invalid_bodies() {
    let tmp = TempDir::new("swagger-bodies-negative");
    let plan = plan_arm_bodies(&run_plan("linux"), "linux");
    let original = |kind: &str| -> ArmBody {
        plan.iter().find(|b| b.kind == kind).unwrap_or_else(|| panic!("linux plan has no {kind}")).clone()
    };
    // (mutated body, swagger file, expected oav code, text the message must contain)
    let mut cases: Vec<(ArmBody, &str, &str, &str)> = Vec::new();
    let mut mutate =
        |kind: &str, what: &str, file: &'static str, code: &'static str, msg: &'static str, f: &dyn Fn(&mut Value)| {
            let mut b = original(kind);
            b.origin = format!("mutated {what}");
            f(&mut b.body);
            cases.push((b, file, code, msg));
        };
    mutate("Microsoft.Compute/galleries/images", "osType", "gallery.json", "ENUM_MISMATCH", "Linuxx", &|b| {
        b["properties"]["osType"] = json!("Linuxx")
    });
    mutate(
        "Microsoft.VirtualMachineImages/imageTemplates",
        "no-source",
        "imagebuilder.json",
        "OBJECT_MISSING_REQUIRED_PROPERTY",
        "source",
        &|b| {
            b["properties"].as_object_mut().unwrap().remove("source").expect("has source");
        },
    );
    mutate(
        "Microsoft.VirtualMachineImages/imageTemplates",
        "customizer",
        "imagebuilder.json",
        "DISCRIMINATOR_VALUE_NOT_FOUND",
        "NoSuchCustomizer",
        &|b| b["properties"]["customize"][0]["type"] = json!("NoSuchCustomizer"),
    );
    mutate(
        "Microsoft.Storage/storageAccounts",
        "unknown-prop",
        "storage.json",
        "OBJECT_ADDITIONAL_PROPERTIES",
        "allowBlobPublicAccez",
        &|b| b["properties"]["allowBlobPublicAccez"] = json!(false),
    );
    mutate(
        "Microsoft.Authorization/roleAssignments",
        "no-principal",
        "authorization-RoleAssignmentsCalls.json",
        "OBJECT_MISSING_REQUIRED_PROPERTY",
        "principalId",
        &|b| {
            b["properties"].as_object_mut().unwrap().remove("principalId").expect("principalId");
        },
    );
    mutate(
        "Microsoft.Authorization/roleDefinitions",
        "actions-type",
        "authorization-RoleDefinitionsCalls.json",
        "INVALID_TYPE",
        "array",
        &|b| b["properties"]["permissions"][0]["actions"] = json!("Microsoft.Compute/galleries/read"),
    );
    mutate(
        "Microsoft.Compute/virtualMachineScaleSets",
        "capacity-type",
        "virtualMachineScaleSet.json",
        "INVALID_TYPE",
        "integer",
        &|b| b["sku"]["capacity"] = json!("two"),
    );

    // A request that matches no operation of the swagger must fail too: oav itself only prints
    // `Error: Undefined operation` for it and does not count it as an error.
    let mut unmatched = original("Microsoft.Compute/galleries/images");
    unmatched.origin = "mutated url-unmatched".into();
    unmatched.id = unmatched.id.replace("/images/", "/imagez/");
    // A request that lands on a different (generic) operation must fail: resources.json's
    // `PUT /{resourceId}` (Resources_CreateOrUpdateById) accepts almost any URL and body.
    let mut generic = original("Microsoft.Resources/resourceGroups");
    generic.origin = "mutated url-generic".into();
    generic.id = generic.id.replace("/resourceGroups/", "/resourceGroupz/");

    let mut bodies: Vec<ArmBody> = cases.iter().map(|c| c.0.clone()).collect();
    bodies.push(unmatched);
    bodies.push(generic);
    // The unmodified originals go into the same runs and must stay clean there.
    let mut originals: Vec<ArmBody> = Vec::new();
    for kind in cases.iter().map(|c| c.0.kind.clone()).collect::<BTreeSet<_>>() {
        let mut b = original(&kind);
        b.origin = format!("original {}", kind.rsplit('/').next().unwrap());
        originals.push(b);
    }
    bodies.extend(originals.iter().cloned());

    let v = validate_arm_bodies(&bodies, tmp.path());
    assert!(v.unmapped.is_empty(), "{:?}", v.unmapped);
    let mut missed = Vec::new();
    for (body, spec_file, code, text) in &cases {
        let run = v.run_for(spec_file);
        let file = run.file_of(&body.origin);
        let issues = run.run.issues();
        let found = issues.iter().any(|i| i.payload == file && i.code == *code && i.message.contains(text));
        let in_report = run.run.report_errors().iter().any(|e| e.code == *code && e.message.contains(text));
        if !found || !in_report || run.problems().is_empty() {
            missed.push(format!(
                "{}: expected {code} mentioning {text:?} on {file} (per-payload: {found}, \
                 json report: {in_report})\n{}",
                body.origin,
                run.render(&run.problems())
            ));
        }
    }
    let gallery = v.run_for("gallery.json");
    let undefined = gallery.run.undefined_operations();
    if !undefined.iter().any(|u| u.contains("/imagez/"))
        || !gallery.problems().iter().any(|p| p.contains("matches no operation"))
    {
        missed.push(format!(
            "a URL matching no operation was not reported (undefined: {undefined:?})\n{}",
            gallery.render(&gallery.problems())
        ));
    }
    let rg = v.run_for("resources.json");
    if !rg.problems().iter().any(|p| p.contains("unexpected operation Resources_CreateOrUpdateById")) {
        missed.push(format!(
            "a URL matching the generic PUT /{{resourceId}} was not reported\n{}",
            rg.render(&rg.problems())
        ));
    }
    for b in &originals {
        let run = v.run_for(arm_kind(&b.kind).unwrap().spec.rsplit('/').next().unwrap());
        let file = run.file_of(&b.origin);
        let flagged: Vec<_> = run.run.issues().into_iter().filter(|i| i.payload == file).collect();
        if !flagged.is_empty() {
            missed.push(format!("unmodified {} was flagged: {flagged:?}", b.describe()));
        }
    }
    assert!(missed.is_empty(), "oav harness self-check failed:\n{}", missed.join("\n"));
}

/// Every `roleDefinitionId` the offline plans of the shipped examples assign names a built-in role
/// whose id is Microsoft's (agentpool's table, itself checked against the built-in roles
/// reference) or the custom role the same plan defines: an id Azure does not know fails the first
/// deploy on real Azure, and nothing else would notice.
#[test]
fn every_assigned_role_is_a_built_in_role_or_the_custom_role_of_the_same_plan() {
    use agentpool_core::resources::built_in_roles;
    let examples = support::workspace_root().join("yaml-templates").join("parameters");
    let mut files: Vec<_> = std::fs::read_dir(&examples)
        .expect("examples folder")
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            name.contains(".parameters.") && name.ends_with(".json") && name.split('.').count() == 4
        })
        .collect();
    files.sort();
    assert!(files.len() >= 2, "no shipped examples in {}", examples.display());
    let mut checked = 0;
    for file in &files {
        let out = Command::new(env!("CARGO_BIN_EXE_agentpool"))
            .args(["plan", "--offline", "--output", "json", "--subscription", support::TEST_SUBSCRIPTION_ID])
            .arg("--parameters")
            .arg(file)
            .output()
            .expect("run agentpool");
        assert!(out.status.success(), "{}: {}", file.display(), String::from_utf8_lossy(&out.stderr));
        let plan: Value = serde_json::from_slice(&out.stdout).expect("plan JSON");
        let resources = plan["resources"].as_array().expect("resources");
        let custom: Vec<&str> = resources
            .iter()
            .filter(|r| r["kind"] == "Microsoft.Authorization/roleDefinitions")
            .filter_map(|r| r["name"].as_str())
            .collect();
        for assignment in resources.iter().filter(|r| r["kind"] == "Microsoft.Authorization/roleAssignments") {
            let role = assignment["body"]["properties"]["roleDefinitionId"].as_str().unwrap_or_default();
            let prefix = format!(
                "/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/",
                support::TEST_SUBSCRIPTION_ID
            );
            let guid = role
                .strip_prefix(&prefix)
                .unwrap_or_else(|| panic!("{}: {role} is no role definition id", file.display()));
            assert!(
                built_in_roles::by_id(guid).is_some() || custom.contains(&guid),
                "{}: assignment {} names role {guid}, neither one of Microsoft's built-in roles nor the plan's custom role",
                file.display(),
                assignment["name"]
            );
            checked += 1;
        }
        assert_eq!(custom.len(), 1, "{}: the default imageBuilderRole defines one custom role", file.display());
    }
    assert!(checked >= 2 * files.len(), "every example assigns at least two roles");
}
