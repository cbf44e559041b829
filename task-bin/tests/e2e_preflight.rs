//! `agentpool preflight` (and `up`'s first step) end to end against the emulator: a subscription
//! ready for the deploy passes; an unregistered provider, a missing permission and a quota too
//! small for the scale set each give their one-line finding and exit 2; a principal without the
//! rights to assign roles passes where the plan would write nothing; no case writes anything,
//! and the recorded reads pass oav against the official swaggers.

mod local_azure;
mod support;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Output;

use agentpool_emulator::Config;
use clap::Parser;
use local_azure::{local_azure, Session};
use serde_json::Value;

const LINUX: &str = "yaml-templates/parameters/sbx.parameters.linux.json";

/// What a real deploying principal needs: Owner, plus blob data rights for the script upload
/// (Owner grants no blob data access with Entra ID tokens).
const DEPLOYER: &[&str] = &["--caller-role", "Owner", "--caller-role", "Storage Blob Data Contributor"];

/// An emulator started with `flags` (its command-line flags for roles and the subscription's offer).
fn session(name: &str, flags: &[&str]) -> Session {
    let args: Vec<String> =
        std::iter::once("agentpool-emulator").chain(flags.iter().copied()).map(String::from).collect();
    local_azure().session(name, move |config| {
        let parsed = Config::parse_from(&args);
        config.caller_role = parsed.caller_role;
        config.offer = parsed.offer;
    })
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The finding lines of a run: those that start with the parameter file's name.
fn findings(output: &Output) -> Vec<String> {
    stderr(output).lines().filter(|line| line.starts_with(&format!("{LINUX}: "))).map(str::to_owned).collect()
}

/// Writes the emulator counted (`GET /_emulator/requests`) and writes in its recorded traffic.
fn assert_nothing_written(session: &Session) {
    let counts: Value = session
        .http()
        .get(format!("{}/_emulator/requests", session.ready.arm_endpoint))
        .send()
        .and_then(|r| r.json())
        .expect("emulator request counts");
    assert_eq!(counts["writes"], 0, "the emulator counted writes: {counts}");
    assert!(counts["total"].as_u64().unwrap_or(0) > 0, "preflight read nothing: {counts}");
    assert_eq!(session.writes_recorded(), 0, "writes in the traffic of {}", session.traffic_dir.display());
}

#[test]
fn a_subscription_ready_for_the_deploy_passes() {
    let session = session("preflight-ready", DEPLOYER);
    let output = session.agentpool(&["preflight", "--parameters", LINUX]);
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{text}");
    assert_eq!(findings(&output), Vec::<String>::new(), "{text}");
    let passed: Vec<&str> = text.lines().filter(|l| l.starts_with("preflight: passed")).collect();
    assert_eq!(passed.len(), 1, "{text}");
    assert!(passed[0].contains("no writes"), "{text}");
    assert_nothing_written(&session);
    validate_traffic(&session);
}

#[test]
fn an_unregistered_provider_blocks_preflight_and_up_writes_nothing() {
    let mut flags = DEPLOYER.to_vec();
    flags.extend(["--unregistered-provider", "Microsoft.VirtualMachineImages"]);
    let session = session("preflight-provider", &flags);
    let subscription = session.ready.subscription_id.clone();
    let expected = format!(
        "{LINUX}: resource provider Microsoft.VirtualMachineImages (needed by Azure VM Image Builder) is NotRegistered in subscription {subscription} — az provider register --namespace Microsoft.VirtualMachineImages --subscription {subscription}"
    );

    let output = session.agentpool(&["preflight", "--parameters", LINUX]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert_eq!(findings(&output), std::slice::from_ref(&expected), "{}", stderr(&output));

    let up = session.agentpool(&["up", "--scope", "infra", "--parameters", LINUX]);
    assert_eq!(up.status.code(), Some(2), "{}", stderr(&up));
    assert_eq!(findings(&up), [expected], "{}", stderr(&up));
    assert!(stderr(&up).contains("nothing was written"), "{}", stderr(&up));
    assert!(String::from_utf8_lossy(&up.stdout).is_empty(), "up printed resource ids");
    assert_nothing_written(&session);
    validate_traffic(&session);
}

#[test]
fn a_contributor_lacks_the_rights_to_assign_and_define_roles() {
    let session = session(
        "preflight-contributor",
        &["--caller-role", "Contributor", "--caller-role", "Storage Blob Data Contributor"],
    );
    let output = session.agentpool(&["preflight", "--parameters", LINUX]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let lines = findings(&output);
    assert_eq!(lines.len(), 1, "assigning and defining roles share one line: {lines:#?}");
    assert!(
        lines[0].contains("lacks actions Microsoft.Authorization/roleAssignments/write and Microsoft.Authorization/roleDefinitions/write on resource group rg-agents-sbx"),
        "{}",
        lines[0]
    );
    assert!(lines[0].contains("User Access Administrator (18d7d88d-d35e-4fb5-a5c3-7773c20a72d9)"), "{}", lines[0]);
    assert!(!lines[0].contains("Role Based Access Control Administrator"), "one role suffices: {}", lines[0]);
    assert_nothing_written(&session);
    validate_traffic(&session);
}

const OWNER: &str = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635";
const CONTRIBUTOR: &str = "b24988ac-6180-42a0-ab88-20f7382dd24c";

/// Turns the emulator's client from Owner into Contributor on the subscription, through ARM as
/// Owner: PUT a Contributor assignment, then DELETE the Owner one.
fn demote_to_contributor(session: &Session) {
    let subscription = &session.ready.subscription_id;
    let principal = agentpool_emulator::authz::caller::principal_id(&session.ready.client_id);
    let assignment = |role: &str| {
        format!(
            "/subscriptions/{subscription}/providers/Microsoft.Authorization/roleAssignments/{}",
            agentpool_emulator::authz::caller::assignment_name(&principal, role)
        )
    };
    let url = format!("{}{}?api-version=2022-04-01", session.ready.arm_endpoint, assignment(CONTRIBUTOR));
    let body = serde_json::json!({"properties": {
        "roleDefinitionId": format!("/subscriptions/{subscription}/providers/Microsoft.Authorization/roleDefinitions/{CONTRIBUTOR}"),
        "principalId": principal,
        "principalType": "ServicePrincipal",
    }});
    let response = session
        .http()
        .put(url)
        .bearer_auth(session.token("https://management.azure.com/.default"))
        .json(&body)
        .send()
        .expect("role assignment PUT");
    assert!(response.status().is_success(), "PUT Contributor: {}", response.status());
    let deleted = session.arm_delete(&assignment(OWNER), "2022-04-01");
    assert_eq!(deleted, 200, "DELETE of the Owner assignment");
    let listed = session
        .arm_get(
            &format!("/subscriptions/{subscription}/providers/Microsoft.Authorization/roleAssignments"),
            "2022-04-01",
        )
        .expect("role assignments");
    let roles: Vec<&str> = listed["value"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["properties"]["principalId"] == principal.as_str())
        .filter_map(|a| a["properties"]["roleDefinitionId"].as_str()?.rsplit('/').next())
        .collect();
    assert!(roles.contains(&CONTRIBUTOR) && !roles.contains(&OWNER), "the caller's roles: {roles:?}");
}

/// Forgets the requests counted and recorded so far.
fn reset_traffic(session: &Session) {
    let url = format!("{}/_emulator/requests", session.ready.arm_endpoint);
    assert!(session.http().delete(url).send().expect("reset requests").status().is_success());
    for file in session.traffic_files() {
        std::fs::remove_file(file).expect("traffic file");
    }
}

#[test]
fn a_pipeline_contributor_passes_on_a_converged_environment() {
    let session = session("preflight-converged", DEPLOYER);
    let deploy = session.agentpool(&["up", "--scope", "infra", "--parameters", LINUX]);
    assert!(deploy.status.success(), "{}", stderr(&deploy));
    demote_to_contributor(&session);
    reset_traffic(&session);

    let output = session.agentpool(&["preflight", "--scope", "infra", "--parameters", LINUX]);
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "nothing to write, no role rights needed: {text}");
    assert_eq!(findings(&output), Vec::<String>::new(), "{text}");
    assert!(text.lines().any(|l| l.starts_with("preflight: passed")), "{text}");
    assert_nothing_written(&session);
}

#[test]
fn a_quota_too_small_for_the_scale_set_blocks() {
    // The example's build VM and scale set are Standard_D4s_v5: 4 + 10 × 4 vCPUs of standardDSv5Family.
    let mut flags = DEPLOYER.to_vec();
    flags.extend(["--quota", "standardDSv5Family=20"]);
    let session = session("preflight-quota", &flags);
    let output = session.agentpool(&["preflight", "--parameters", LINUX]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let lines = findings(&output);
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(
        lines[0].starts_with(&format!("{LINUX}: the standardDSv5Family vCPUs quota in westeurope is 20, 0 in use: the build VM (1 × Standard_D4s_v5, 4 vCPUs) and the scale set at 10 instances (10 × Standard_D4s_v5, 40 vCPUs) need 44 more — request an increase of standardDSv5Family vCPUs in westeurope to at least 44")),
        "{}",
        lines[0]
    );
    assert_nothing_written(&session);
    validate_traffic(&session);
}

const ROLE_ASSIGNMENTS_SPEC: &str =
    "authorization/resource-manager/Microsoft.Authorization/stable/2022-04-01/authorization-RoleAssignmentsCalls.json";
const ROLE_DEFINITIONS_SPEC: &str =
    "authorization/resource-manager/Microsoft.Authorization/stable/2022-04-01/authorization-RoleDefinitionsCalls.json";
const RESOURCES_SPEC: &str = "resources/resource-manager/Microsoft.Resources/stable/2024-07-01/resources.json";
const NETWORK_SPEC: &str = "network/resource-manager/Microsoft.Network/stable/2024-05-01/virtualNetwork.json";
const COMPUTE_SPEC: &str =
    "compute/resource-manager/Microsoft.Compute/ComputeRP/stable/2024-07-01/computeRPCommon.json";

/// Every recorded exchange against its swagger: oav for all but Providers_Get, whose answers are
/// checked against resources.json's `Provider` definition instead — oav 4.0.3 files that
/// operation (path `/subscriptions/{subscriptionId}/providers/{resourceProviderNamespace}`) under
/// no provider and looks requests up under the namespace in their URL, so it never matches one.
fn validate_traffic(session: &Session) {
    let mut by_spec: BTreeMap<&str, Vec<PathBuf>> = BTreeMap::new();
    let mut providers = Vec::new();
    for file in session.traffic_files() {
        let exchange = support::read_json(&file);
        let url = exchange["liveRequest"]["url"].as_str().unwrap_or_default().to_lowercase();
        let path = url.split('?').next().unwrap_or_default();
        let arm_path = path.find("/subscriptions/").map_or(path, |at| &path[at..]);
        let segments: Vec<&str> = arm_path.split('/').filter(|s| !s.is_empty()).collect();
        // The live plan's read of the resource group (absent on a fresh subscription).
        let spec = if segments.len() == 4 && segments[2] == "resourcegroups" {
            RESOURCES_SPEC
        } else if path.contains("/microsoft.authorization/roleassignments") {
            ROLE_ASSIGNMENTS_SPEC
        } else if path.contains("/microsoft.authorization/") {
            ROLE_DEFINITIONS_SPEC
        } else if path.ends_with("/vmsizes") || path.ends_with("/usages") {
            COMPUTE_SPEC
        } else if path.contains("/microsoft.network/virtualnetworks/") {
            // The scale set's subnet, read for its outbound access.
            NETWORK_SPEC
        } else {
            providers.push(exchange);
            continue;
        };
        by_spec.entry(spec).or_default().push(file);
    }
    let expected: &[(&str, &[&str])] = &[
        (ROLE_ASSIGNMENTS_SPEC, &["RoleAssignments_ListForSubscription"]),
        (ROLE_DEFINITIONS_SPEC, &["Permissions_ListForResourceGroup", "RoleDefinitions_Get"]),
        (COMPUTE_SPEC, &["Usage_List", "VirtualMachineSizes_List"]),
        (RESOURCES_SPEC, &["ResourceGroups_Get"]),
        (NETWORK_SPEC, &["Subnets_Get"]),
    ];
    let runs = support::parallel_map(expected.to_vec(), |(spec, operations)| {
        let dir = session.dir.join("oav").join(spec.rsplit('/').next().unwrap_or(spec));
        let traffic = dir.join("traffic");
        std::fs::create_dir_all(&traffic).unwrap();
        for file in by_spec.get(spec).into_iter().flatten() {
            std::fs::copy(file, traffic.join(file.file_name().unwrap())).unwrap();
        }
        let run = support::run_oav_validate_traffic(&traffic, &support::azure_spec(spec), &dir.join("work"));
        let problems = run.problems(operations);
        (problems.is_empty(), run.render(&problems, &|payload| payload.to_owned()))
    });
    let failures: Vec<String> = runs.into_iter().filter(|(ok, _)| !ok).map(|(_, report)| report).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    let swagger = support::read_json(&support::azure_spec(RESOURCES_SPEC));
    let namespaces: std::collections::BTreeSet<&str> =
        providers.iter().filter_map(|e| e["liveRequest"]["url"].as_str()).collect();
    assert_eq!(namespaces.len(), 7, "one Providers_Get per namespace preflight needs: {namespaces:#?}");
    for exchange in &providers {
        let request = &exchange["liveRequest"];
        assert_eq!(request["method"], "GET", "{request}");
        let url = request["url"].as_str().unwrap_or_default();
        assert!(
            url.contains("/providers/Microsoft.") && url.ends_with("?api-version=2024-07-01"),
            "not Providers_Get: {url}"
        );
        assert_eq!(exchange["liveResponse"]["statusCode"], "200", "{url}");
        let problems =
            schema_problems(&exchange["liveResponse"]["body"], &swagger["definitions"]["Provider"], &swagger, "$");
        assert!(problems.is_empty(), "{url}: the answer does not fit resources.json's Provider: {problems:#?}");
    }
    eprintln!(
        "traffic: {} exchanges passed oav; {} Providers_Get answers checked against resources.json's Provider definition (oav 4.0.3 cannot match provider-level paths)",
        by_spec.values().map(Vec::len).sum::<usize>(),
        providers.len()
    );
}

/// Where `value` departs from the swagger `schema`: types, closed enums, properties the
/// definition does not have. Local `$ref`s and `allOf` are followed.
fn schema_problems(value: &Value, schema: &Value, swagger: &Value, at: &str) -> Vec<String> {
    if let Some(reference) = schema["$ref"].as_str() {
        let target = reference.strip_prefix("#/").map(|p| format!("/{p}")).and_then(|p| swagger.pointer(&p).cloned());
        return match target {
            Some(target) => schema_problems(value, &target, swagger, at),
            None => vec![format!("{at}: unresolved $ref {reference}")],
        };
    }
    let mut problems = Vec::new();
    let mut properties = serde_json::Map::new();
    for part in schema["allOf"].as_array().into_iter().flatten().chain([schema]) {
        let part = match part["$ref"].as_str().and_then(|r| r.strip_prefix("#/")) {
            Some(path) => swagger.pointer(&format!("/{path}")).cloned().unwrap_or_default(),
            None => part.clone(),
        };
        properties.extend(part["properties"].as_object().cloned().unwrap_or_default());
    }
    let type_ok = match schema["type"].as_str() {
        Some("object") | None if !properties.is_empty() => value.is_object(),
        Some("object") => value.is_object(),
        Some("array") => value.is_array(),
        Some("string") => value.is_string(),
        Some("integer") => value.is_i64() || value.is_u64(),
        Some("number") => value.is_number(),
        Some("boolean") => value.is_boolean(),
        _ => true,
    };
    if !type_ok {
        return vec![format!("{at}: {value} is not of type {}", schema["type"])];
    }
    let closed = schema["x-ms-enum"]["modelAsString"] != true;
    if let (Some(allowed), true) = (schema["enum"].as_array(), closed) {
        if !allowed.contains(value) {
            problems.push(format!("{at}: {value} is not one of {}", schema["enum"]));
        }
    }
    if let Some(items) = value.as_array() {
        for (i, item) in items.iter().enumerate() {
            problems.extend(schema_problems(item, &schema["items"], swagger, &format!("{at}[{i}]")));
        }
    }
    if let Some(object) = value.as_object() {
        for (key, child) in object {
            match (properties.get(key), &schema["additionalProperties"]) {
                (Some(property), _) => {
                    problems.extend(schema_problems(child, property, swagger, &format!("{at}.{key}")))
                }
                (None, Value::Object(additional)) => problems.extend(schema_problems(
                    child,
                    &Value::Object(additional.clone()),
                    swagger,
                    &format!("{at}.{key}"),
                )),
                (None, Value::Bool(true)) => {}
                (None, _) => problems.push(format!("{at}.{key}: not a property of the definition")),
            }
        }
    }
    problems
}
