//! End to end: the whole chain against the emulator (Resource Manager, Image Builder, Azure
//! DevOps) and Azurite — infrastructure, image, scale set with its NAT gateway, and the Azure
//! DevOps scale-set agent pool whose agents run the new image; re-runs that change nothing, a
//! new image rolled out with one PATCH, pool settings changed with one PATCH, idle agents
//! replaced, and oav over every exchange.

mod local_azure;
mod support;
mod traffic;

use std::path::PathBuf;

use local_azure::{local_azure, Session};
use serde_json::{json, Value};

const SCALE_SET_API: &str = "2024-07-01";

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A session whose Azure DevOps agents start in 50 ms steps, with the examples' network.
fn session(name: &str) -> Session {
    let session = local_azure().session(name, |config| config.devops.node_ms = 50);
    session.example_network();
    session
}

/// Runs agentpool and asserts it succeeded.
fn run(session: &Session, args: &[&str]) -> std::process::Output {
    let output = session.agentpool(args);
    assert!(output.status.success(), "agentpool {}:\n{}{}", args.join(" "), stderr(&output), stdout(&output));
    output
}

fn scale_set_id(os: &str) -> String {
    let name = if os == "linux" { "vmss-agents-sbx-linux" } else { "vmss-agents-sbx-win" };
    format!(
        "/subscriptions/{}/resourceGroups/rg-agents-sbx-pool/providers/Microsoft.Compute/virtualMachineScaleSets/{name}",
        local_azure::EXAMPLE_SUBSCRIPTION
    )
}

/// The elastic pool named `name`, as Azure DevOps answers.
fn elastic_pool(session: &Session, name: &str) -> Value {
    let pools = session.devops_get(&format!("_apis/distributedtask/pools?poolName={name}&api-version=7.1"));
    let id = pools["value"][0]["id"].as_i64().unwrap_or_else(|| panic!("no agent pool {name}: {pools}"));
    session.devops_get(&format!("_apis/distributedtask/elasticpools/{id}?api-version=7.1"))
}

/// Writes to Resource Manager or Azure DevOps among `exchanges`: `(method, path)`.
fn writes(exchanges: &[(String, String, Value)]) -> Vec<(String, String)> {
    exchanges
        .iter()
        .filter(|(method, _, _)| matches!(method.as_str(), "PUT" | "PATCH" | "POST" | "DELETE"))
        .map(|(method, path, _)| (method.clone(), path.split('?').next().unwrap_or(path).to_owned()))
        .collect()
}

/// `up --scope all` of the example for `os`: the pool, on the scale set, with its agents on the
/// version the build produced.
fn up_all(session: &Session, os: &str) -> String {
    let output = run(session, &["up", "--scope", "all", "-e", "sbx", "--os", os, "--poll-seconds", "0.2"]);
    let out = stdout(&output);
    let version = out
        .lines()
        .find_map(|l| l.strip_prefix("imageVersionId="))
        .unwrap_or_else(|| panic!("no image version printed:\n{out}"))
        .to_owned();
    assert!(out.lines().any(|l| l.starts_with("poolId=")), "{out}");
    version
}

#[test]
fn up_all_registers_a_pool_whose_agents_run_the_new_image_and_a_rerun_writes_nothing() {
    let session = session("pool-linux");
    let version = up_all(&session, "linux");
    let scale_set = scale_set_id("linux");
    let pool = elastic_pool(&session, "agents-sbx-linux");
    assert!(pool["azureId"].as_str().is_some_and(|id| id.eq_ignore_ascii_case(&scale_set)), "{pool}");
    assert_eq!(pool["osType"], "linux");

    let status = run(&session, &["pool", "status", "-e", "sbx", "--os", "linux", "--wait-minutes", "1"]);
    let text = stdout(&status);
    let number = version.rsplit('/').next().unwrap();
    assert!(text.contains(&format!("on the model's image {number}, 0 behind")), "{text}");
    assert!(text.lines().any(|l| l.contains("[idle]") && l.ends_with(&format!("image {number}"))), "{text}");

    // Azure DevOps' own on the scale set: its tags, its agent extension.
    let azure_devops_marks = |session: &Session| {
        let live = session.arm_get(&scale_set, SCALE_SET_API).expect("the scale set");
        let tagged = live["tags"]["__AzureDevOpsElasticPool"] == "agents-sbx-linux";
        let extensions = live.pointer("/properties/virtualMachineProfile/extensionProfile/extensions").cloned();
        let agent = extensions
            .and_then(|e| e.as_array().cloned())
            .unwrap_or_default()
            .iter()
            .any(|e| e.pointer("/properties/type").and_then(Value::as_str) == Some("TeamServicesAgentLinux"));
        (tagged, agent, live)
    };
    let (tagged, agent, live) = azure_devops_marks(&session);
    assert!(tagged && agent, "Azure DevOps has not taken the scale set: {live}");
    let subnet =
        session.arm_get(&format!("{}/subnets/snet-agents", local_azure::EXAMPLE_NETWORK), "2024-05-01").unwrap();
    assert!(subnet
        .pointer("/properties/natGateway/id")
        .and_then(Value::as_str)
        .is_some_and(|id| id.ends_with("/ng-agents-sbx")));
    for kept in ["networkSecurityGroup", "serviceEndpoints", "addressPrefix", "defaultOutboundAccess"] {
        assert!(subnet["properties"].get(kept).is_some(), "the subnet lost {kept}: {subnet}");
    }

    // The same image again: nothing to write, in Azure or Azure DevOps.
    let before = session.traffic_files().len();
    let again = run(&session, &["up", "--scope", "pool", "-e", "sbx", "--os", "linux"]);
    assert_eq!(writes(&session.exchanges_since(before)), Vec::<(String, String)>::new(), "{}", stderr(&again));
    let plan = run(&session, &["plan", "-e", "sbx", "--os", "linux"]);
    assert!(stderr(&plan).contains("plan: no changes"), "{}", stderr(&plan));
    let (tagged, agent, _) = azure_devops_marks(&session);
    assert!(tagged && agent, "a re-run reverted Azure DevOps' tags or extension");
    traffic::validate(&session);
}

#[test]
fn a_new_image_is_one_patch_of_the_scale_set_and_roll_idle_replaces_idle_agents_only() {
    let session = session("pool-rollout");
    // Two standby agents: one will be busy when the new image comes.
    let file = session.dir.join("two-standby.parameters.linux.json");
    write_example(&file, "linux", |p| p["agentPool"]["value"]["desiredIdle"] = json!(2));
    let path = file.to_str().unwrap();
    let old = {
        let output = run(&session, &["up", "--scope", "all", "--parameters", path, "--poll-seconds", "0.2"]);
        stdout(&output).lines().find_map(|l| l.strip_prefix("imageVersionId=")).unwrap().to_owned()
    };
    run(&session, &["pool", "status", "--parameters", path, "--wait-minutes", "1"]);
    let pool = elastic_pool(&session, "agents-sbx-linux");
    let job = session.devops_admin("jobs", &json!({"poolId": pool["poolId"]}));
    let busy = job["nodeName"].as_str().expect("a node runs the job").to_owned();

    // A new version (the date-based number moves with the clock).
    std::thread::sleep(std::time::Duration::from_millis(1100));
    run(&session, &["up", "--scope", "image", "--parameters", path, "--poll-seconds", "0.2", "--skip-preflight"]);
    let before = session.traffic_files().len();
    let rolled = run(&session, &["up", "--scope", "pool", "--parameters", path, "--roll-idle"]);
    let text = stderr(&rolled);
    let written = writes(&session.exchanges_since(before));
    let scale_set = scale_set_id("linux");
    let to_scale_set: Vec<_> = written.iter().filter(|(_, p)| p.eq_ignore_ascii_case(&scale_set)).collect();
    assert_eq!(to_scale_set, [&("PATCH".to_owned(), scale_set.clone())], "{written:?}\n{text}");
    let patch = session
        .exchanges_since(before)
        .into_iter()
        .find(|(m, p, _)| m == "PATCH" && p.split('?').next() == Some(scale_set.as_str()))
        .unwrap()
        .2;
    assert_eq!(
        patch,
        json!({"properties": {"virtualMachineProfile": {"storageProfile": {"imageReference": {
            "id": patch.pointer("/properties/virtualMachineProfile/storageProfile/imageReference/id").unwrap()
        }}}}}),
        "the PATCH carries the image reference and nothing else"
    );
    let to_pool = |(m, p): &(String, String)| m == "PATCH" && p.contains("/elasticpools/") && !p.contains("/nodes/");
    assert!(!written.iter().any(to_pool), "the pool was written: {written:?}");
    // The idle agents on the old image (the standby count keeps two idle beside the busy one) are
    // replaced, the busy one is not.
    let replaced: Vec<i64> = written
        .iter()
        .filter(|(m, p)| m == "PATCH" && p.contains("/nodes/"))
        .filter_map(|(_, p)| p.rsplit('/').next()?.parse().ok())
        .collect();
    assert!(!replaced.is_empty() && !replaced.contains(&job["nodeId"].as_i64().unwrap()), "{written:?}\n{text}");
    let line = format!("roll: {} idle agents replaced, 1 busy on an older image", replaced.len());
    assert!(text.contains(&line), "{text}");
    let live = session.arm_get(&scale_set, SCALE_SET_API).unwrap();
    assert_eq!(live["tags"]["__AzureDevOpsElasticPool"], "agents-sbx-linux", "Azure DevOps' tag was reverted");
    let extension = &live["properties"]["virtualMachineProfile"]["extensionProfile"]["extensions"][0];
    assert_eq!(extension["name"], "Microsoft.Azure.DevOps.Pipelines.Agent", "the agent extension was removed: {live}");

    // The idle agent comes back on the new image; the busy one keeps the old until its job ends.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let old_number = old.rsplit('/').next().unwrap().to_owned();
    loop {
        let text = stdout(&run(&session, &["pool", "status", "--parameters", path]));
        let busy_line = text.lines().find(|l| l.contains(&busy)).unwrap_or_else(|| panic!("{busy} is gone:\n{text}"));
        assert!(busy_line.contains("[assigned]") && busy_line.contains(&old_number), "{text}");
        if text.contains("1 behind") && text.lines().filter(|l| l.contains("[idle]")).count() >= 1 {
            assert!(text.lines().filter(|l| l.contains("[idle]")).all(|l| !l.contains(&old_number)), "{text}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the rollout did not converge:\n{text}");
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    // The scale set's view: the busy agent's machine is the one behind the model.
    let instances = stdout(&run(&session, &["scaleset", "status", "--parameters", path]));
    let behind: Vec<&str> = instances.lines().filter(|l| l.ends_with("(behind the model)")).collect();
    assert_eq!(behind.len(), 1, "{instances}");
    assert!(behind[0].contains(&old_number), "{instances}");
    assert!(instances.lines().next().is_some_and(|l| l.ends_with("1 behind the model")), "{instances}");
    // The old version stays while an agent runs it.
    let cleanup = run(&session, &["image", "cleanup", "--parameters", path, "--keep", "1", "--older-than-days", "0"]);
    assert!(!stdout(&cleanup).contains(&format!("/versions/{old_number} ")), "{}", stdout(&cleanup));
    traffic::validate(&session);
}

#[test]
fn changed_pool_settings_are_one_patch_of_just_those_fields_with_the_diff_printed() {
    let session = session("pool-settings");
    up_all(&session, "linux");
    let file = session.dir.join("bigger.parameters.linux.json");
    write_example(&file, "linux", |p| {
        p["agentPool"]["value"]["maxCapacity"] = json!(12);
        p["agentPool"]["value"]["timeToLiveMinutes"] = json!(45);
    });
    let before = session.traffic_files().len();
    let output = run(&session, &["pool", "register", "--parameters", file.to_str().unwrap()]);
    let text = stderr(&output);
    assert!(text.contains("maxCapacity: 10 → 12") && text.contains("timeToLiveMinutes: 30 → 45"), "{text}");
    let exchanges = session.exchanges_since(before);
    let patches: Vec<&Value> =
        exchanges.iter().filter(|(m, p, _)| m == "PATCH" && p.contains("/elasticpools/")).map(|(_, _, b)| b).collect();
    assert_eq!(patches, [&json!({"maxCapacity": 12, "timeToLiveMinutes": 45})], "{exchanges:?}");
    assert_eq!(writes(&exchanges).len(), 1, "{exchanges:?}");
    assert_eq!(elastic_pool(&session, "agents-sbx-linux")["maxCapacity"], 12);
    traffic::validate(&session);
}

#[test]
fn the_windows_example_registers_its_pool_with_a_prefix_on_its_own_subnet() {
    let session = session("pool-windows");
    let version = up_all(&session, "windows");
    let pool = elastic_pool(&session, "agents-sbx-windows");
    assert!(pool["azureId"].as_str().is_some_and(|id| id.eq_ignore_ascii_case(&scale_set_id("windows"))));
    assert_eq!(pool["osType"], "windows");
    let text = stdout(&run(&session, &["pool", "status", "-e", "sbx", "--os", "windows", "--wait-minutes", "1"]));
    assert!(text.contains(&format!("image {}", version.rsplit('/').next().unwrap())), "{text}");
    let live = session.arm_get(&scale_set_id("windows"), SCALE_SET_API).unwrap();
    let extension = &live["properties"]["virtualMachineProfile"]["extensionProfile"]["extensions"][0];
    assert_eq!(extension["properties"]["type"], "TeamServicesAgent", "{live}");
    assert!(live.pointer("/properties/virtualMachineProfile/osProfile/adminPassword").is_none(), "never returned");

    // Inside a pipeline, the pool's id is an output variable of the step.
    let mut command = session.command(&["pool", "register", "-e", "sbx", "--os", "windows"]);
    let output = command.env("TF_BUILD", "True").output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let id = pool["poolId"].as_i64().unwrap();
    let variable = format!("##vso[task.setvariable variable=poolId;isOutput=true;]{id}");
    assert!(stdout(&output).lines().any(|l| l == variable), "{}", stdout(&output));

    // Azure DevOps reached with the pipeline's job token, then with an Entra token of the Azure
    // credential, instead of a PAT.
    let job_token = session.ready.devops_access_token.clone();
    for (name, token) in [("SYSTEM_ACCESSTOKEN", Some(job_token)), ("Entra", None)] {
        let mut command = session.command(&["pool", "status", "-e", "sbx", "--os", "windows"]);
        command.env_remove("AZURE_DEVOPS_EXT_PAT");
        if let Some(token) = &token {
            command.env("SYSTEM_ACCESSTOKEN", token);
        }
        let output = command.output().unwrap();
        assert!(output.status.success(), "{name}: {}", stderr(&output));
        assert!(stdout(&output).starts_with("pool agents-sbx-windows"), "{name}: {}", stdout(&output));
    }
    traffic::validate(&session);
}

#[test]
fn a_private_subnet_without_a_nat_gateway_is_refused_before_any_write() {
    let session = session("pool-private");
    let file = session.dir.join("no-nat.parameters.linux.json");
    write_example(&file, "linux", |p| {
        p.as_object_mut().unwrap().remove("natGateway");
    });
    let before = session.traffic_files().len();
    let output = session.agentpool(&["up", "--scope", "all", "--parameters", file.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("subnet snet-agents has no outbound access"), "{}", stderr(&output));
    assert!(stderr(&output).contains("agents will never register"), "{}", stderr(&output));
    assert_eq!(writes(&session.exchanges_since(before)), Vec::<(String, String)>::new());
}

/// The example of `os` with `change` applied to its parameters, its scripts where the example's are.
fn write_example(file: &PathBuf, os: &str, change: impl FnOnce(&mut Value)) {
    let example = local_azure::workspace().join(format!("yaml-templates/parameters/sbx.parameters.{os}.json"));
    let mut document: Value = serde_json::from_slice(&std::fs::read(example).unwrap()).unwrap();
    document["parameters"]["scriptsDirectory"] =
        json!({ "value": local_azure::workspace().join("yaml-templates/scripts") });
    change(&mut document["parameters"]);
    std::fs::write(file, serde_json::to_vec_pretty(&document).unwrap()).unwrap();
}
