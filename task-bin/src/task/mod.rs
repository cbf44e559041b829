//! Task mode: `agentpool task <step>` runs one step of the Azure DevOps extension as the agent
//! starts it (through the launcher): inputs from `INPUT_*`, the service connections from
//! `ENDPOINT_*`, progress as logging commands, a Markdown summary for the run's Extensions tab,
//! and the step's result as `task.complete`.
//!
//! Bad inputs (a missing required input, an unknown authorization scheme, a pickList value that
//! is not an option) are each reported as an error issue naming the input; the step then
//! completes Failed with exit code 2 before any call to Azure.

pub mod connection;
pub mod inputs;
mod steps;
pub mod summary;

use std::path::{Path, PathBuf};

use clap::ValueEnum;

use crate::progress;
use crate::vso;
use crate::Failure;
use inputs::{Definition, InputError, Inputs};

/// A step of the extension: one task each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Step {
    /// Preflight checks (reads only).
    #[value(name = "AgentPoolPreflight", alias = "preflight")]
    Preflight,
    /// The image infrastructure.
    #[value(name = "AgentPoolDeployInfra", alias = "deploy-infra")]
    DeployInfra,
    /// The image build (waited for unless `waitForBuild` is false).
    #[value(name = "AgentPoolBuildImage", alias = "build-image")]
    BuildImage,
    /// Waiting for a build started earlier.
    #[value(name = "AgentPoolWaitImage", alias = "wait-image")]
    WaitImage,
    /// The scale set and its NAT gateway.
    #[value(name = "AgentPoolDeployScaleSet", alias = "deploy-scaleset")]
    DeployScaleSet,
    /// The Azure DevOps agent pool.
    #[value(name = "AgentPoolRegisterPool", alias = "register-pool")]
    RegisterPool,
    /// Cleaning up old templates and image versions.
    #[value(name = "AgentPoolCleanupImages", alias = "cleanup-images")]
    CleanupImages,
}

impl Step {
    /// The task's `task.json`, as shipped in the extension.
    pub fn task_json(self) -> &'static str {
        match self {
            Step::Preflight => include_str!("../../../extension-manifest/tasks/AgentPoolPreflight/task.json"),
            Step::DeployInfra => include_str!("../../../extension-manifest/tasks/AgentPoolDeployInfra/task.json"),
            Step::BuildImage => include_str!("../../../extension-manifest/tasks/AgentPoolBuildImage/task.json"),
            Step::WaitImage => include_str!("../../../extension-manifest/tasks/AgentPoolWaitImage/task.json"),
            Step::DeployScaleSet => {
                include_str!("../../../extension-manifest/tasks/AgentPoolDeployScaleSet/task.json")
            }
            Step::RegisterPool => include_str!("../../../extension-manifest/tasks/AgentPoolRegisterPool/task.json"),
            Step::CleanupImages => include_str!("../../../extension-manifest/tasks/AgentPoolCleanupImages/task.json"),
        }
    }

    pub fn definition(self) -> Definition {
        Definition::parse(self.task_json())
    }
}

/// Runs `step` as a task; returns the exit code after `task.complete`.
pub fn run(step: Step) -> u8 {
    let definition = step.definition();
    progress::record_summary();
    // A secret agentpool makes (a scale set's admin password) is masked before it could be printed.
    agentpool_core::secrets::on_new_secret(|secret| println!("{}", vso::command("task.setsecret", &[], secret)));
    let outcome = prepare(step, &definition).and_then(|inputs| steps::run(step, &inputs));
    let (result, message, code) = match &outcome {
        Ok(()) => ("Succeeded", format!("{} done", definition.friendly_name), 0),
        Err(failure) => {
            print_failure(failure);
            let first = failure.to_string().lines().next().unwrap_or_default().to_owned();
            ("Failed", first, failure.exit_code())
        }
    };
    summary::upload(&definition, &outcome);
    println!("{}", vso::command("task.complete", &[("result", result)], &message));
    code
}

/// A failure as the run's error issues (a parameter file's problems with their file and line).
pub fn print_failure(failure: &Failure) {
    match failure {
        Failure::Inputs(problems) => {
            for problem in problems {
                println!("{}", vso::command("task.logissue", &[("type", "error")], &problem.to_string()));
            }
        }
        Failure::Parameters(diagnostics) => {
            for line in vso::diagnostics(diagnostics) {
                println!("{line}");
            }
        }
        other => vso::failure(&other.to_string()).iter().for_each(|line| println!("{line}")),
    }
}

/// Reads the inputs and the connections, and sets what the commands read. No call to Azure.
fn prepare(step: Step, definition: &Definition) -> Result<Inputs, Failure> {
    let var = |name: &str| std::env::var(name).ok();
    let inputs = definition.read(var).map_err(Failure::Inputs)?;
    let mut settings = connection::azure(&inputs, &var).map_err(|e| Failure::Inputs(vec![e]))?;
    // Azure DevOps: the pool's registration, and the scale set's roll of idle agents.
    if step == Step::RegisterPool || (step == Step::DeployScaleSet && inputs.flag("rollIdleAgents")) {
        let devops = connection::devops(&inputs, &var, "devOpsAuthentication", "devOpsConnection");
        settings.extend(devops.map_err(|e| Failure::Inputs(vec![e]))?);
    }
    if let Some(url) = inputs.shared_text("organizationUrl") {
        settings.insert("AGENTPOOL_DEVOPS_URL", url.to_owned());
    }
    for (name, value) in settings {
        // Single-threaded here: the async runtime starts after.
        std::env::set_var(name, value);
    }
    Ok(inputs)
}

/// A path input as the agent hands it over: absolute, or relative to the sources.
pub fn path_input(value: &str) -> PathBuf {
    let path = Path::new(value);
    if path.is_absolute() {
        return path.to_owned();
    }
    let base = ["BUILD_SOURCESDIRECTORY", "SYSTEM_DEFAULTWORKINGDIRECTORY"]
        .iter()
        .find_map(|name| std::env::var_os(name).filter(|v| !v.is_empty()))
        .map(PathBuf::from);
    match base {
        Some(base) => base.join(path),
        None => path.to_owned(),
    }
}

/// An input problem found after reading, as a failure.
pub fn input_failure(error: InputError) -> Failure {
    Failure::Inputs(vec![error])
}
