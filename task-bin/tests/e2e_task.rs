//! End to end, as the Azure Pipelines agent runs the extension's tasks: `node <task>/launcher.js`
//! in a task folder laid out as the .vsix ships it (task.json, launcher.js,
//! bin/linux-x64/agentpool), with the variables the agent sets (INPUT_*, ENDPOINT_*, SYSTEM_*),
//! against the emulator and Azurite. Checks the logging commands a pipeline reads (progress,
//! output variables, summary, the result), that bad inputs fail before any call to Azure, and
//! that no secret of the job reaches the log.

mod local_azure;
mod support;
mod traffic;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use agentpool_emulator::TaskAuthScheme;
use local_azure::{local_azure, phases, Session};

const DEVOPS_CONNECTION: &str = "8a1d5e2b-7c4f-4a9e-b3d6-1f0e2c9a7b58";

/// The task folders, staged once per test binary as the .vsix lays them out.
fn task_dir(task: &str) -> PathBuf {
    static STAGED: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    let root = STAGED.get_or_init(|| {
        let root = std::env::temp_dir().join(format!("agentpool-tasks-{}", std::process::id()));
        let manifest = local_azure::workspace().join("extension-manifest");
        for entry in std::fs::read_dir(manifest.join("tasks")).expect("tasks folder") {
            let from = entry.expect("task folder").path();
            let to = root.join(from.file_name().expect("name"));
            std::fs::create_dir_all(to.join("bin/linux-x64")).expect("task folder");
            std::fs::copy(from.join("task.json"), to.join("task.json")).expect("task.json");
            std::fs::copy(manifest.join("launcher/launcher.js"), to.join("launcher.js")).expect("launcher.js");
            std::fs::copy(env!("CARGO_BIN_EXE_agentpool"), to.join("bin/linux-x64/agentpool")).expect("binary");
        }
        root
    });
    root.join(task)
}

/// What the agent sets for a task whose Azure connection is the emulator's connection of
/// `scheme`, and which may reach Azure DevOps with a token connection.
fn agent_vars(session: &Session, scheme: TaskAuthScheme) -> BTreeMap<String, String> {
    let temp = session.dir.join("agent-temp");
    std::fs::create_dir_all(&temp).expect("the agent's temporary folder");
    let mut vars = session.ready.task_vars(scheme, &session.ca_bundle);
    let devops = DEVOPS_CONNECTION.to_ascii_uppercase();
    vars.extend([
        ("AGENT_TEMPDIRECTORY".to_owned(), temp.display().to_string()),
        ("BUILD_SOURCESDIRECTORY".to_owned(), local_azure::workspace().display().to_string()),
        ("AGENTPOOL_POLL_SECONDS".to_owned(), "0.2".to_owned()),
        (format!("ENDPOINT_URL_{devops}"), session.ready.devops_url.clone()),
        (format!("ENDPOINT_AUTH_SCHEME_{devops}"), "Token".to_owned()),
        (format!("ENDPOINT_AUTH_PARAMETER_{devops}_APITOKEN"), session.ready.devops_pat.clone()),
        ("INPUT_ENVIRONMENT".to_owned(), "sbx".to_owned()),
        ("INPUT_OS".to_owned(), "linux".to_owned()),
    ]);
    vars
}

/// The secret values of the job, none of which may be printed.
fn secrets(vars: &BTreeMap<String, String>) -> Vec<String> {
    vars.iter()
        .filter(|(name, _)| {
            name.ends_with("SERVICEPRINCIPALKEY") || name.ends_with("APITOKEN") || name.ends_with("ACCESSTOKEN")
        })
        .map(|(_, value)| value.clone())
        .collect()
}

/// Runs `node <task>/launcher.js` as the agent does: only the agent's variables and PATH.
fn run_task(task: &str, vars: &BTreeMap<String, String>) -> Output {
    launcher(task, vars).output().expect("node runs")
}

fn launcher(task: &str, vars: &BTreeMap<String, String>) -> Command {
    let dir = task_dir(task);
    let mut command = Command::new("node");
    command
        .arg(dir.join("launcher.js"))
        .current_dir(local_azure::workspace())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(vars)
        .stdin(Stdio::null());
    command
}

/// The logging commands `##vso[name …]` of `stdout`: (properties, message).
fn commands<'a>(stdout: &'a str, name: &str) -> Vec<(&'a str, &'a str)> {
    let prefix = format!("##vso[{name}");
    stdout
        .lines()
        .filter_map(|line| line.strip_prefix(prefix.as_str()))
        .filter_map(|rest| rest.split_once(']'))
        .map(|(properties, message)| (properties.trim(), message))
        .collect()
}

/// The output variables a run set.
fn outputs(stdout: &str) -> BTreeMap<String, String> {
    commands(stdout, "task.setvariable")
        .into_iter()
        .filter(|(properties, _)| properties.contains("isOutput=true;"))
        .filter_map(|(properties, value)| {
            let name = properties.strip_prefix("variable=")?.split(';').next()?;
            Some((name.to_owned(), value.to_owned()))
        })
        .collect()
}

/// Asserts a task succeeded as the agent sees it; returns its stdout.
fn succeeded(task: &str, output: &Output, secrets: &[String]) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{task}:\n{stdout}{stderr}");
    let complete = commands(&stdout, "task.complete");
    assert_eq!(complete.len(), 1, "{task}: one task.complete\n{stdout}");
    assert_eq!(complete[0].0, "result=Succeeded;", "{task}:\n{stdout}");
    for secret in secrets {
        assert!(!stdout.contains(secret.as_str()) && !stderr.contains(secret.as_str()), "{task} printed a secret");
    }
    // The summary for the run's Extensions tab.
    let summaries = commands(&stdout, "task.uploadsummary");
    assert_eq!(summaries.len(), 1, "{task}:\n{stdout}");
    let summary = std::fs::read_to_string(summaries[0].1).expect("summary written");
    assert!(summary.contains("— succeeded"), "{summary}");
    stdout
}

#[test]
fn every_task_with_a_service_principal_connection_runs_the_chain() {
    // Azure DevOps with a personal access token of a token service connection.
    let devops = [("INPUT_DEVOPSAUTHENTICATION", "personalAccessToken"), ("INPUT_DEVOPSCONNECTION", DEVOPS_CONNECTION)];
    chain(TaskAuthScheme::ServicePrincipal, "task-chain-sp", &devops);
}

#[test]
fn every_task_with_workload_identity_federation_runs_the_chain() {
    // Azure DevOps with the job's access token: the default.
    chain(TaskAuthScheme::WorkloadIdentityFederation, "task-chain-wif", &[]);
}

/// Every task in the order of a pipeline, signed in with the connection of `scheme`, reaching
/// Azure DevOps with the `devops` inputs.
fn chain(scheme: TaskAuthScheme, name: &str, devops: &[(&str, &str)]) {
    let session = local_azure().session(name, |config| config.devops.node_ms = 50);
    session.example_network();
    let vars = agent_vars(&session, scheme);
    let secrets = secrets(&vars);
    let run = |task: &str, extra: &[(&str, &str)]| {
        let mut vars = vars.clone();
        vars.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let output = run_task(task, &vars);
        succeeded(task, &output, &secrets)
    };

    let preflight = run("AgentPoolPreflight", &[("INPUT_SCOPE", "all")]);
    assert!(preflight.contains("preflight"), "{preflight}");

    let infra = run("AgentPoolDeployInfra", &[]);
    assert_eq!(outputs(&infra)["resourceGroup"], "rg-agents-sbx");

    let build = run("AgentPoolBuildImage", &[("INPUT_WAITFORBUILD", "false")]);
    let built = outputs(&build);
    assert!(!built.contains_key("imageVersionId"), "not waited for: {build}");

    let wait = run(
        "AgentPoolWaitImage",
        &[
            ("INPUT_IMAGETEMPLATERESOURCEGROUP", &built["imageTemplateResourceGroup"]),
            ("INPUT_IMAGETEMPLATENAME", &built["imageTemplateName"]),
        ],
    );
    let version = outputs(&wait)["imageVersionId"].clone();
    assert!(version.contains("/versions/"), "{wait}");
    let progress: Vec<&str> = commands(&wait, "task.setprogress").iter().map(|(p, _)| *p).collect();
    assert_eq!(progress.last(), Some(&"value=100;"), "{wait}");
    // The customization log is folded in a group of the agent's log.
    let opened = wait.lines().position(|l| l == "##[group]Image Builder customization log").expect("a log group");
    assert!(wait.lines().skip(opened).any(|l| l == "##[endgroup]"), "{wait}");

    let scale_set = run("AgentPoolDeployScaleSet", &[("INPUT_IMAGE", &version)]);
    let scale_set_outputs = outputs(&scale_set);
    assert!(scale_set_outputs["scaleSetId"].ends_with("/virtualMachineScaleSets/vmss-agents-sbx-linux"));
    assert_eq!(scale_set_outputs["scaleSetImage"], version);
    // The admin password agentpool generated was registered as a secret before it was sent, and
    // appears nowhere else.
    let masked = commands(&scale_set, "task.setsecret");
    assert_eq!(masked.len(), 1, "{scale_set}");
    let password = masked[0].1;
    assert_eq!(scale_set.matches(password).count(), 1, "{scale_set}");
    let put = session
        .traffic_files()
        .into_iter()
        .find(|f| f.to_string_lossy().ends_with("-PUT-virtualMachineScaleSets.json"))
        .expect("the scale set was created");
    let sent = support::read_json(&put);
    assert_eq!(
        sent.pointer("/liveRequest/body/properties/virtualMachineProfile/osProfile/adminPassword"),
        Some(&serde_json::json!(password))
    );

    let mut pool_inputs = vec![("INPUT_ORGANIZATIONURL", session.ready.devops_url.as_str())];
    pool_inputs.extend_from_slice(devops);
    let pool = run("AgentPoolRegisterPool", &pool_inputs);
    assert!(pool.contains(if devops.is_empty() { "job's access token" } else { "personal access token" }), "{pool}");
    let pool_id = outputs(&pool)["poolId"].clone();
    assert!(pool_id.parse::<u64>().is_ok(), "{pool}");

    let cleanup = run("AgentPoolCleanupImages", &[]);
    assert!(cleanup.contains("cleanup:") || cleanup.contains("would delete"), "{cleanup}");
    // Each step's summary is its own file: the pool's names the pool id.
    let summaries = commands(&pool, "task.uploadsummary");
    let summary = std::fs::read_to_string(summaries[0].1).unwrap();
    assert!(summary.contains(&format!("| poolId | `{pool_id}` |")), "{summary}");
    // … and the pool with its agents on the new image.
    assert!(summary.contains(&format!("**Agent pool** agents-sbx-linux (id {pool_id})")), "{summary}");
    let number = version.rsplit('/').next().unwrap();
    assert!(summary.lines().any(|l| l.starts_with("| ") && l.ends_with(&format!("| {number} |"))), "{summary}");
    // Every exchange of the tasks with Resource Manager and Azure DevOps is one the swaggers allow.
    traffic::validate(&session);
}

#[test]
fn bad_inputs_fail_the_task_naming_the_input_before_any_call_to_azure() {
    let session = local_azure().session("task-bad-inputs", |_| {});
    let vars = agent_vars(&session, TaskAuthScheme::ServicePrincipal);
    let id = session.ready.service_connection.id.clone();
    // The task, the variables changed (None: removed), the issue expected.
    type Case<'a> = (&'a str, Vec<(String, Option<&'a str>)>, &'a str);
    let cases: [Case; 3] = [
        (
            "AgentPoolDeployInfra",
            vec![("INPUT_CONNECTEDSERVICENAMEARM".to_owned(), None)],
            "input 'connectedServiceNameARM' (Azure subscription): is required but empty",
        ),
        (
            "AgentPoolPreflight",
            vec![(format!("ENDPOINT_AUTH_SCHEME_{id}"), Some("UsernamePassword"))],
            "uses the authorization scheme 'UsernamePassword' — use a connection with ServicePrincipal, WorkloadIdentityFederation or ManagedServiceIdentity",
        ),
        (
            "AgentPoolBuildImage",
            vec![("INPUT_ENVIRONMENT".to_owned(), Some("qa"))],
            "input 'environment' (Environment): 'qa' is not one of sbx, dev, int, prd",
        ),
    ];
    for (task, changes, expected) in cases {
        let mut vars = vars.clone();
        for (name, value) in changes {
            match value {
                Some(value) => vars.insert(name, value.to_owned()),
                None => vars.remove(&name),
            };
        }
        let output = run_task(task, &vars);
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert_eq!(output.status.code(), Some(2), "{task}: {stdout}");
        let issues = commands(&stdout, "task.logissue");
        assert_eq!(issues.len(), 1, "{task}: {stdout}");
        assert_eq!(issues[0].0, "type=error;");
        assert!(issues[0].1.starts_with(expected) || issues[0].1.ends_with(expected), "{task}: {}", issues[0].1);
        let complete = commands(&stdout, "task.complete");
        assert_eq!(complete.len(), 1, "{stdout}");
        assert_eq!(complete[0].0, "result=Failed;", "{stdout}");
    }
    assert_eq!(session.traffic_files().len(), 0, "no call to Azure");
}

#[test]
fn a_bad_parameter_file_is_an_issue_at_its_file_and_line() {
    let session = local_azure().session("task-bad-parameters", |_| {});
    let mut vars = agent_vars(&session, TaskAuthScheme::ServicePrincipal);
    let file = "tests/fixtures/bad-parameters/21-several-problems-at-once.json";
    vars.insert("INPUT_PARAMETERSOURCE".into(), "file".into());
    vars.insert("INPUT_PARAMETERSFILE".into(), file.into());
    let output = run_task("AgentPoolDeployInfra", &vars);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(output.status.code(), Some(2), "{stdout}");
    let absolute = local_azure::workspace().join(file);
    let issues = commands(&stdout, "task.logissue");
    assert_eq!(issues.len(), 4, "{stdout}");
    assert!(
        issues.iter().all(|(properties, _)| properties
            .starts_with(&format!("type=error;sourcepath={};linenumber=", absolute.display()))),
        "{stdout}"
    );
    assert_eq!(commands(&stdout, "task.complete")[0].0, "result=Failed;");
    assert_eq!(session.traffic_files().len(), 0, "no call to Azure");
}

#[test]
fn sigterm_to_the_launcher_cancels_the_build_it_waits_for() {
    use std::io::BufRead;
    let session = local_azure().session("task-cancel", |config| config.aib_phase_ms = phases("customizing=60000"));
    let vars = agent_vars(&session, TaskAuthScheme::WorkloadIdentityFederation);
    let secrets = secrets(&vars);
    succeeded("AgentPoolDeployInfra", &run_task("AgentPoolDeployInfra", &vars), &secrets);

    let mut child =
        launcher("AgentPoolBuildImage", &vars).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    let template = loop {
        let mut line = String::new();
        assert!(stdout.read_line(&mut line).unwrap() > 0, "the task ended before naming the template:\n{seen}");
        seen.push_str(&line);
        if let Some(rest) =
            line.trim().strip_prefix("##vso[task.setvariable variable=imageTemplateName;isOutput=true;]")
        {
            break rest.to_owned();
        }
    };
    let id = session.template_id(&template);
    session.wait_for_sub_state(&id, "Customizing");
    // The agent cancels a Node handler's process with SIGINT, then SIGTERM: here SIGTERM alone.
    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1), "{seen}{rest}");
    assert_eq!(session.run_state(&id), "Canceled", "{seen}{rest}");
    let complete = commands(&rest, "task.complete");
    assert_eq!(complete.len(), 1, "{rest}");
    assert_eq!(complete[0], ("result=Failed;", "SIGTERM: the image build was cancelled"), "{rest}");
}

/// `POST` or `DELETE` on an admin route of the emulator; the status.
fn admin(session: &Session, method: reqwest::Method, path: &str, body: Option<serde_json::Value>) -> u16 {
    let url = format!("{}/_emulator/{path}", session.ready.arm_endpoint);
    let mut request = session.http().request(method, url);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().expect("admin request").status().as_u16()
}

#[test]
fn a_federated_credential_for_another_subject_is_refused_by_entra() {
    let session = local_azure().session("task-wif-subject", |_| {});
    let vars = agent_vars(&session, TaskAuthScheme::WorkloadIdentityFederation);
    let connection = &session.ready.wif_service_connection;
    let credentials = format!("entra/applications/{}/federatedCredentials", connection.service_principal_id);
    let list: serde_json::Value = serde_json::from_str(&session.admin_text("entra/applications")).unwrap();
    let app = list["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["clientId"] == connection.service_principal_id.as_str())
        .expect("the connection's application");
    // Only a credential for another connection's subject is left on the application.
    for credential in app["federatedCredentials"].as_array().unwrap() {
        let name = credential["name"].as_str().unwrap();
        assert_eq!(admin(&session, reqwest::Method::DELETE, &format!("{credentials}/{name}"), None), 204);
    }
    let other = connection.subject.replace(&connection.name, "another-connection");
    let body = serde_json::json!({"name": "other", "issuer": connection.issuer, "subject": other});
    assert_eq!(admin(&session, reqwest::Method::POST, &credentials, Some(body)), 200);

    let output = run_task("AgentPoolPreflight", &vars);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(output.status.code(), Some(2), "{stdout}");
    let issues = commands(&stdout, "task.logissue");
    assert!(issues.iter().any(|(_, message)| message.contains("AADSTS70021")), "{stdout}");
    assert_eq!(commands(&stdout, "task.complete")[0].0, "result=Failed;", "{stdout}");
    for secret in secrets(&vars) {
        assert!(!stdout.contains(&secret) && !String::from_utf8_lossy(&output.stderr).contains(&secret));
    }
}

#[test]
fn a_build_wait_outlives_its_tokens_with_a_new_oidc_token_at_each_refresh() {
    let session = local_azure().session("task-wif-refresh", |config| {
        config.aib_phase_ms = phases("customizing=9000");
        config.token_lifetime_secs = 2;
        config.devops.oidc_token_lifetime_secs = 2;
    });
    let vars = agent_vars(&session, TaskAuthScheme::WorkloadIdentityFederation);
    let secrets = secrets(&vars);
    succeeded("AgentPoolDeployInfra", &run_task("AgentPoolDeployInfra", &vars), &secrets);
    assert_eq!(admin(&session, reqwest::Method::DELETE, "entra/tokens", None), 204);

    let started = std::time::Instant::now();
    let build = succeeded("AgentPoolBuildImage", &run_task("AgentPoolBuildImage", &vars), &secrets);
    let waited = started.elapsed();
    assert!(outputs(&build)["imageVersionId"].contains("/versions/"), "{build}");
    let tokens: serde_json::Value = serde_json::from_str(&session.admin_text("entra/tokens")).unwrap();
    let client = &tokens["clients"][session.ready.wif_service_connection.service_principal_id.as_str()];
    // Tokens live 2 s; the wait took longer than several lifetimes, each new access token asked
    // with a new OIDC token (an expired one would have been refused: AADSTS700024).
    let assertions = client["clientAssertion"].as_u64().unwrap_or_default();
    let expiries = waited.as_secs() / 2;
    assert!(waited.as_secs() >= 6 && assertions >= 3, "{assertions} assertions over {waited:?}: {tokens}");
    assert!(assertions >= expiries.saturating_sub(1), "{assertions} assertions over {waited:?}: {tokens}");
    assert_eq!(client["refused"].as_u64().unwrap_or_default(), 0, "{tokens}");
}
