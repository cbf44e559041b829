//! Each step's inputs as the arguments of the command that does the work: a task runs exactly
//! what the CLI runs.

use std::path::PathBuf;

use crate::cli::{
    AzureArgs, CleanupArgs, DeployArgs, DevOpsArgs, FollowArgs, ParameterSelection, PoolRegisterArgs, PoolTarget,
    PreflightArgs, ScalesetDeployArgs, Scope, WaitArgs,
};
use crate::{commands, Failure};

use super::inputs::Inputs;
use super::{input_failure, path_input, Step};

/// Runs the step's command.
pub fn run(step: Step, inputs: &Inputs) -> Result<(), Failure> {
    let runtime = commands::runtime()?;
    match step {
        Step::Preflight => {
            let scope = match inputs.text("scope").unwrap_or("all") {
                "infra" => Scope::Infra,
                "image" => Scope::Image,
                "pool" => Scope::Pool,
                _ => Scope::All,
            };
            let args = PreflightArgs { scope, selection: selection(inputs), azure: azure(), image_version: None };
            runtime.block_on(commands::preflight_command(args))
        }
        Step::DeployInfra => runtime.block_on(commands::infra_deploy(deploy_args(inputs)?)),
        Step::BuildImage => {
            let wait = inputs.flag("waitForBuild");
            runtime.block_on(commands::image_build(deploy_args(inputs)?, wait, &follow()))
        }
        Step::WaitImage => {
            let args = WaitArgs {
                resource_group: required(inputs, "imageTemplateResourceGroup")?,
                template: required(inputs, "imageTemplateName")?,
                azure: azure(),
                follow: follow(),
            };
            runtime.block_on(commands::image_wait(args))
        }
        Step::DeployScaleSet => {
            let args = ScalesetDeployArgs {
                deploy: deploy_args(inputs)?,
                image: inputs.text("image").map(str::to_owned),
                devops: devops(),
                roll_idle: inputs.flag("rollIdleAgents"),
            };
            runtime.block_on(commands::scaleset_deploy(args))
        }
        Step::RegisterPool => {
            let args = PoolRegisterArgs {
                target: PoolTarget { selection: selection(inputs), azure: azure(), devops: devops() },
                roll_idle: inputs.flag("rollIdleAgents"),
            };
            runtime.block_on(async {
                commands::pool_register(&args).await?;
                commands::pool_report(&args.target).await
            })
        }
        Step::CleanupImages => {
            let days = inputs.number("olderThanDays").unwrap_or(30);
            let keep = inputs.number("keep").unwrap_or(3);
            let older_than_days = u64::try_from(days).map_err(|_| {
                input_failure(inputs.error("olderThanDays", format!("{days} is negative"), "give 0 or more days"))
            })?;
            let keep = usize::try_from(keep).ok().filter(|k| *k >= 1).ok_or_else(|| {
                input_failure(inputs.error("keep", format!("{keep} keeps no version"), "keep 1 or more versions"))
            })?;
            let args = CleanupArgs {
                selection: selection(inputs),
                azure: azure(),
                older_than_days,
                keep,
                yes: inputs.flag("delete"),
            };
            runtime.block_on(commands::image_cleanup(args))
        }
    }
}

/// The parameter file the inputs choose: one file, or the folder's file of an environment and OS.
fn selection(inputs: &Inputs) -> ParameterSelection {
    let folder = inputs.visible_text("parametersFolder").unwrap_or("yaml-templates/parameters");
    match inputs.visible_text("parametersFile") {
        Some(file) => ParameterSelection {
            parameters: Some(path_input(file)),
            environment: None,
            os: None,
            parameters_dir: PathBuf::from(folder),
        },
        None => ParameterSelection {
            parameters: None,
            environment: inputs.visible_text("environment").map(str::to_owned),
            os: inputs.visible_text("os").map(str::to_owned),
            parameters_dir: path_input(folder),
        },
    }
}

/// Azure as the connection's settings give it (the process environment).
fn azure() -> AzureArgs {
    AzureArgs { subscription: std::env::var("AZURE_SUBSCRIPTION_ID").ok(), arm_endpoint: None }
}

/// How a build is followed: adaptively, unless `AGENTPOOL_POLL_SECONDS` (a pipeline variable)
/// says how often.
/// Azure DevOps: the `organizationUrl` input (or `AGENTPOOL_DEVOPS_URL`), else the parameter file's.
fn devops() -> DevOpsArgs {
    DevOpsArgs { devops_url: std::env::var("AGENTPOOL_DEVOPS_URL").ok().filter(|url| !url.trim().is_empty()) }
}

fn follow() -> FollowArgs {
    let poll_seconds = std::env::var("AGENTPOOL_POLL_SECONDS").ok().and_then(|s| s.trim().parse().ok());
    FollowArgs { timeout_minutes: 240, poll_seconds }
}

fn deploy_args(inputs: &Inputs) -> Result<DeployArgs, Failure> {
    let parallelism = match inputs.shared_text("parallelism").and_then(|n| n.parse::<i64>().ok()) {
        None => crate::deploy::DEFAULT_PARALLELISM as u16,
        Some(n) => u16::try_from(n).ok().filter(|n| (1..=64).contains(n)).ok_or_else(|| {
            input_failure(inputs.error("parallelism", format!("{n} is out of range"), "give 1 to 64"))
        })?,
    };
    Ok(DeployArgs {
        selection: selection(inputs),
        azure: azure(),
        branch: None,
        parallelism,
        image_version: inputs.shared_text("imageVersion").map(str::to_owned),
    })
}

fn required(inputs: &Inputs, name: &str) -> Result<String, Failure> {
    inputs
        .text(name)
        .map(str::to_owned)
        .ok_or_else(|| input_failure(inputs.error(name, "is required but empty", format!("set {name}"))))
}
