//! `agentpool up --scope infra` end to end against the emulator and a real Azurite: everything is
//! created, the scripts land byte for byte, a second run writes nothing, faults converge on
//! re-run, and every recorded exchange passes oav against the official swaggers.

mod local_azure;
mod support;
mod traffic;

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
    let urls: Vec<String> = ["install-tools.sh", "cleanup.sh"]
        .iter()
        .map(|script| {
            let url = format!(
                "https://127.0.0.1:{}/stagentssbxscripts/aibscripts/linux/{script}",
                local_azure().azurite_port
            );
            assert_eq!(
                session.read_blob(&url),
                std::fs::read(scripts.join(script)).unwrap(),
                "{script} differs in Azurite"
            );
            url
        })
        .collect();
    let blobs =
        |session: &Session| -> Vec<(String, String)> { urls.iter().map(|u| session.blob_properties(u)).collect() };
    let uploaded = blobs(&session);

    let writes_after_first = session.writes_recorded();
    assert!(writes_after_first >= 8, "the first run wrote {writes_after_first} times");
    // Azurite's last-modified has whole seconds: a blob sent again a second later would show it.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let second = session.agentpool(&["up", "--scope", "infra", "--parameters", LINUX]);
    assert!(second.status.success(), "second run failed:\n{}", stderr(&second));
    assert_eq!(
        blobs(&session),
        uploaded,
        "the second run sent scripts again (ETag, Last-Modified):\n{}",
        stderr(&second)
    );
    assert_eq!(session.writes_recorded(), writes_after_first, "the second run wrote to Azure:\n{}", stderr(&second));
    assert!(
        stderr(&second).contains(&format!(
            "infra: 0 of {} resources changed, 0 scripts sent, 2 unchanged, 0 writes",
            infra_resources(&session, LINUX).len()
        )),
        "{}",
        stderr(&second)
    );

    let plan = session.agentpool(&["plan", "--scope", "infra", "--parameters", LINUX]);
    assert!(plan.status.success(), "{}", stderr(&plan));
    assert!(stderr(&plan).contains("plan: no changes"), "{}", stderr(&plan));

    traffic::validate(&session);
}

#[test]
fn a_changed_setting_is_planned_as_an_update_with_its_field() {
    let session = local_azure().session("infra-update", |_| {});
    assert!(session.agentpool(&["up", "--scope", "infra", "--parameters", LINUX]).status.success());
    let changed = copy_parameters(&session, LINUX, |parameters| {
        parameters["imageDefinition"]["value"]["description"] = serde_json::json!("Ubuntu 22.04 agents, v2");
    });
    let plan = session.agentpool(&["plan", "--scope", "infra", "--parameters", changed.to_str().unwrap()]);
    assert!(plan.status.success(), "{}", stderr(&plan));
    let text = stderr(&plan);
    assert!(text.contains("~ update    image definition ubuntu-2204-agent"), "{text}");
    assert!(
        text.contains(
            "properties.description: \"Ubuntu 22.04 Azure DevOps build agent\" → \"Ubuntu 22.04 agents, v2\""
        ),
        "{text}"
    );
    let count = infra_resources(&session, LINUX).len();
    assert!(text.contains(&format!("plan: 1 of {count} resources would change")), "{text}");
    traffic::validate(&session);
}

#[test]
fn a_deleted_identity_comes_back_with_its_role_assignments_replaced_for_the_new_principal() {
    let session = local_azure().session("infra-identity", |_| {});
    assert!(session.agentpool(&["up", "--scope", "infra", "--parameters", LINUX]).status.success());
    let resources = infra_resources(&session, LINUX);
    let (_, identity, identity_api) =
        resources.iter().find(|(kind, _, _)| kind == "Microsoft.ManagedIdentity/userAssignedIdentities").unwrap();
    let principal = |session: &Session| {
        session.arm_get(identity, identity_api).unwrap()["properties"]["principalId"].as_str().unwrap().to_owned()
    };
    let old = principal(&session);
    assert!(matches!(session.arm_delete(identity, identity_api), 200 | 204));

    let plan = session.agentpool(&["plan", "--scope", "infra", "--parameters", LINUX]);
    let text = stderr(&plan);
    assert!(plan.status.success(), "{text}");
    assert!(text.contains("+ create    managed identity id-agents-sbx-imagebuilder"), "{text}");
    assert_eq!(text.matches("-/+ replace   role assignment").count(), 2, "{text}");

    let redeploy = session.agentpool(&["up", "--scope", "infra", "--parameters", LINUX]);
    assert!(redeploy.status.success(), "{}", stderr(&redeploy));
    let new = principal(&session);
    assert_ne!(new, old, "a new identity has a new principal");
    for (kind, id, api_version) in
        resources.iter().filter(|(kind, _, _)| kind == "Microsoft.Authorization/roleAssignments")
    {
        let assignment = session.arm_get(id, api_version).unwrap_or_else(|| panic!("{kind} {id} is gone"));
        assert_eq!(assignment["properties"]["principalId"], new.as_str(), "{assignment}");
    }
    let again = session.agentpool(&["plan", "--scope", "infra", "--parameters", LINUX]);
    assert!(stderr(&again).contains("plan: no changes"), "{}", stderr(&again));
    traffic::validate(&session);
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

    let uploaded = session.blob_properties(&url);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let unchanged = session.agentpool(&["up", "--scope", "infra", "--parameters", file]);
    assert!(stderr(&unchanged).contains("= unchanged linux/big.sh (same MD5)"), "{}", stderr(&unchanged));
    assert_eq!(session.blob_properties(&url), uploaded, "the unchanged file was sent again");

    content[12 * 1024 * 1024] ^= 0xff;
    std::fs::write(session.dir.join("scripts/linux/big.sh"), &content).unwrap();
    let changed = session.agentpool(&["up", "--scope", "infra", "--parameters", file]);
    assert!(stderr(&changed).contains("↑ uploaded linux/big.sh"), "{}", stderr(&changed));
    assert!(session.read_blob(&url) == content, "the changed byte did not reach the blob");
    assert_ne!(session.blob_properties(&url).0, uploaded.0, "a blob sent again has a new ETag");
    traffic::validate(&session);
}
