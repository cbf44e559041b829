//! `agentpool up --scope infra` end to end against the emulator and a real Azurite: everything is
//! created, the scripts land byte for byte, a second run writes nothing, faults converge on
//! re-run, and every recorded exchange passes oav against the official swaggers.

mod local_azure;
mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use local_azure::{local_azure, workspace, Session};

const LINUX: &str = "yaml-templates/parameters/sbx.parameters.linux.json";

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The infra resources as the offline plan names them, with their api-versions.
fn infra_resources(session: &Session, file: &str) -> Vec<(String, String, String)> {
    let output = session.agentpool(&[
        "plan",
        "--offline",
        "--parameters",
        file,
        "--output",
        "json",
        "--subscription",
        &session.ready.subscription_id,
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let plan: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    plan["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["stage"] == "infra")
        .map(|r| {
            (
                r["kind"].as_str().unwrap().to_owned(),
                r["id"].as_str().unwrap().to_owned(),
                r["apiVersion"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn up_scope_infra_creates_everything_uploads_the_scripts_and_a_second_run_writes_nothing() {
    let session = local_azure().session("infra-linux", |_| {});
    let first = session.agentpool(&["up", "--scope", "infra", "--parameters", LINUX]);
    assert!(first.status.success(), "first run failed:\n{}", stderr(&first));

    let printed = String::from_utf8_lossy(&first.stdout);
    for (kind, id, api_version) in infra_resources(&session, LINUX) {
        assert!(printed.lines().any(|line| line == id), "{kind} {id} not printed:\n{printed}");
        let live = session.arm_get(&id, &api_version).unwrap_or_else(|| panic!("{kind} {id} does not exist"));
        if let Some(state) = live.pointer("/properties/provisioningState") {
            assert_eq!(state, "Succeeded", "{id}");
        }
    }

    let scripts = workspace().join("yaml-templates/scripts/linux");
    for script in ["install-tools.sh", "cleanup.sh"] {
        let url =
            format!("https://127.0.0.1:{}/stagentssbxscripts/aibscripts/linux/{script}", local_azure().azurite_port);
        assert_eq!(
            session.read_blob(&url),
            std::fs::read(scripts.join(script)).unwrap(),
            "{script} differs in Azurite"
        );
    }

    let writes_after_first = session.writes_recorded();
    assert!(writes_after_first >= 8, "the first run wrote {writes_after_first} times");
    let second = session.agentpool(&["up", "--scope", "infra", "--parameters", LINUX]);
    assert!(second.status.success(), "second run failed:\n{}", stderr(&second));
    assert_eq!(session.writes_recorded(), writes_after_first, "the second run wrote to Azure:\n{}", stderr(&second));
    assert!(
        stderr(&second).contains("infra: 0 of 8 resources changed, 0 scripts sent, 2 unchanged, 0 writes"),
        "{}",
        stderr(&second)
    );

    let plan = session.agentpool(&["plan", "--parameters", LINUX]);
    assert!(plan.status.success(), "{}", stderr(&plan));
    assert!(stderr(&plan).contains("plan: no changes"), "{}", stderr(&plan));

    validate_traffic(&session);
}

#[test]
fn a_changed_setting_is_planned_as_an_update_with_its_field() {
    let session = local_azure().session("infra-update", |_| {});
    assert!(session.agentpool(&["up", "--scope", "infra", "--parameters", LINUX]).status.success());
    let changed = copy_parameters(&session, LINUX, |parameters| {
        parameters["imageDefinition"]["value"]["description"] = serde_json::json!("Ubuntu 22.04 agents, v2");
    });
    let plan = session.agentpool(&["plan", "--parameters", changed.to_str().unwrap()]);
    assert!(plan.status.success(), "{}", stderr(&plan));
    let text = stderr(&plan);
    assert!(text.contains("~ update    image definition ubuntu-2204-agent"), "{text}");
    assert!(
        text.contains(
            "properties.description: \"Ubuntu 22.04 Azure DevOps build agent\" → \"Ubuntu 22.04 agents, v2\""
        ),
        "{text}"
    );
    assert!(text.contains("plan: 1 of 8 resources would change"), "{text}");
}

/// A copy of a parameter file, edited, in the session's folder; scripts still resolve.
fn copy_parameters(session: &Session, file: &str, edit: impl FnOnce(&mut serde_json::Value)) -> PathBuf {
    let mut document: serde_json::Value =
        serde_json::from_slice(&std::fs::read(workspace().join(file)).unwrap()).unwrap();
    edit(&mut document["parameters"]);
    document["parameters"]["scriptsDirectory"] =
        serde_json::json!({ "value": workspace().join("yaml-templates/scripts") });
    let copy = session.dir.join(Path::new(file).file_name().unwrap());
    std::fs::write(&copy, serde_json::to_vec_pretty(&document).unwrap()).unwrap();
    copy
}

/// Every recorded exchange validates against its official swagger with oav.
fn validate_traffic(session: &Session) {
    let mut by_spec: BTreeMap<&str, Vec<PathBuf>> = BTreeMap::new();
    for file in session.traffic_files() {
        let exchange = support::read_json(&file);
        let url = exchange["liveRequest"]["url"].as_str().unwrap_or_default().to_lowercase();
        // Polls of long-running operations go to status URLs that no resource provider's swagger
        // describes (ARM's async contract does); oav cannot match them to an operation.
        if url.contains("/operationresults/") || url.contains("/operationstatuses/") {
            continue;
        }
        let spec =
            SPECS.iter().find(|(marker, _)| url.contains(marker)).map(|(_, spec)| *spec).unwrap_or(RESOURCES_SPEC);
        by_spec.entry(spec).or_default().push(file);
    }
    let mut failures = Vec::new();
    for (spec, files) in &by_spec {
        let dir = session.dir.join("oav").join(spec.replace('/', "_"));
        let traffic = dir.join("traffic");
        std::fs::create_dir_all(&traffic).unwrap();
        for file in files {
            std::fs::copy(file, traffic.join(file.file_name().unwrap())).unwrap();
        }
        let run = support::run_oav_validate_traffic(&traffic, &support::azure_spec(spec), &dir.join("work"));
        let errors = run.report_errors();
        let undefined = run.undefined_operations();
        if run.exit_code != Some(0) || !errors.is_empty() || !undefined.is_empty() {
            failures.push(format!(
                "{spec} ({} exchanges): exit {:?}, errors {errors:#?}, unmatched {undefined:#?}, output in {}",
                files.len(),
                run.exit_code,
                run.output_path.display()
            ));
        }
    }
    assert!(by_spec.len() >= 6, "traffic covers only {:?}", by_spec.keys().collect::<Vec<_>>());
    assert!(failures.is_empty(), "oav found problems:\n{}", failures.join("\n"));
}

const RESOURCES_SPEC: &str = "resources/resource-manager/Microsoft.Resources/stable/2024-07-01/resources.json";
/// First match wins: a role assignment on a storage account is an authorization exchange.
const SPECS: &[(&str, &str)] = &[
    ("/microsoft.authorization/", "authorization/resource-manager/Microsoft.Authorization/stable/2022-04-01/authorization-RoleAssignmentsCalls.json"),
    ("/blobservices/", "storage/resource-manager/Microsoft.Storage/stable/2023-05-01/blob.json"),
    ("/microsoft.storage/", "storage/resource-manager/Microsoft.Storage/stable/2023-05-01/storage.json"),
    ("/microsoft.managedidentity/", "msi/resource-manager/Microsoft.ManagedIdentity/stable/2023-01-31/ManagedIdentity.json"),
    ("/microsoft.compute/", "compute/resource-manager/Microsoft.Compute/GalleryRP/stable/2024-03-03/gallery.json"),
];

#[test]
fn a_large_script_goes_in_blocks_and_a_same_length_change_is_still_sent() {
    let session = local_azure().session("infra-large-script", |_| {});
    let scripts = session.dir.join("scripts/linux");
    std::fs::create_dir_all(&scripts).unwrap();
    // 20 MiB and a bit: three 8 MiB blocks, the last one short.
    let mut content: Vec<u8> =
        (0..20 * 1024 * 1024 + 4321).map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    std::fs::write(scripts.join("big.sh"), &content).unwrap();
    let file = copy_parameters(&session, LINUX, |parameters| {
        parameters["storageAccountName"] = serde_json::json!({ "value": "stagentstest" });
        parameters["customizationSteps"] = serde_json::json!({ "value": ["big.sh"] });
    });
    let mut document: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    document["parameters"]["scriptsDirectory"] = serde_json::json!({ "value": session.dir.join("scripts") });
    std::fs::write(&file, serde_json::to_vec(&document).unwrap()).unwrap();
    let file = file.to_str().unwrap();
    let url = format!("https://127.0.0.1:{}/stagentstest/aibscripts/linux/big.sh", local_azure().azurite_port);

    let first = session.agentpool(&["up", "--scope", "infra", "--parameters", file]);
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(session.read_blob(&url) == content, "the blob differs from the file");

    let unchanged = session.agentpool(&["up", "--scope", "infra", "--parameters", file]);
    assert!(stderr(&unchanged).contains("= unchanged linux/big.sh (same MD5)"), "{}", stderr(&unchanged));

    content[12 * 1024 * 1024] ^= 0xff;
    std::fs::write(session.dir.join("scripts/linux/big.sh"), &content).unwrap();
    let changed = session.agentpool(&["up", "--scope", "infra", "--parameters", file]);
    assert!(stderr(&changed).contains("↑ uploaded linux/big.sh"), "{}", stderr(&changed));
    assert!(session.read_blob(&url) == content, "the changed byte did not reach the blob");
}
