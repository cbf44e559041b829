//! The commands, over agentpool-core.

use std::path::{Path, PathBuf};

use agentpool_core::aib::OsType;
use agentpool_core::params::{self, Environment, LoadedParameters};
use agentpool_core::plan::{self, BuildInfo, DesiredState, PlanContext, PlanError};
use agentpool_core::version::VersionInputs;

use agentpool_core::devops::DevOps;
use agentpool_core::params::model::AgentPool;
use agentpool_core::plan::DevOpsIds;

use crate::cli::{
    CleanupArgs, Cli, Command, DeployArgs, FollowArgs, ImageCommand, InfraCommand, NatCommand, NatPlanArgs,
    OutputFormat, ParameterSelection, PlanArgs, PoolCommand, PoolRegisterArgs, PoolTarget, PreflightArgs,
    ScalesetCommand, ScalesetDeployArgs, SchemaArgs, StatusArgs, ValidateArgs, WaitArgs,
};
use crate::deploy::{self, Azure};
use crate::image;
use crate::preflight;
use crate::progress::Terminal;
use crate::{chain, pool, render, scaleset, Failure};

pub fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Plan(args) if args.offline => plan_offline(args),
        Command::Plan(args) => runtime()?.block_on(chain::plan_live(args)),
        Command::Infra(InfraCommand::Deploy(args)) => runtime()?.block_on(infra_deploy(args)),
        Command::Up(args) => runtime()?.block_on(chain::up(args)),
        Command::Scaleset(ScalesetCommand::Deploy(args)) => runtime()?.block_on(scaleset_deploy(args)),
        Command::Scaleset(ScalesetCommand::Status(args)) => runtime()?.block_on(scaleset_status(args)),
        Command::Pool(PoolCommand::Register(args)) => runtime()?.block_on(pool_register(&args)),
        Command::Pool(PoolCommand::Status(args)) => runtime()?.block_on(pool_status(args)),
        Command::Nat(NatCommand::Plan(args)) => nat_plan(args),
        Command::Preflight(args) => runtime()?.block_on(preflight_command(args)),
        Command::Image(ImageCommand::Build(args)) => {
            runtime()?.block_on(image_build(args.deploy, args.wait, &args.follow))
        }
        Command::Image(ImageCommand::Wait(args)) => runtime()?.block_on(image_wait(args)),
        Command::Image(ImageCommand::Cleanup(args)) => runtime()?.block_on(image_cleanup(args)),
        Command::Validate(args) => validate(args),
        Command::Schema(args) => schema(args),
        Command::Task(_) => unreachable!("main runs a task itself, in the pipeline's log format"),
    }
}

pub fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Operation(format!("cannot start the async runtime: {e}")))
}

pub fn parameter_file(selection: &ParameterSelection) -> Result<PathBuf, Failure> {
    if let Some(file) = &selection.parameters {
        return Ok(file.clone());
    }
    match (&selection.environment, &selection.os) {
        (Some(environment), Some(os)) => {
            let environment: Environment =
                environment.parse().map_err(|e| Failure::Usage(format!("--environment: {e}")))?;
            let os: OsType = os.parse().map_err(|e| Failure::Usage(format!("--os: {e}")))?;
            Ok(params::resolve_path(&selection.parameters_dir, environment, os))
        }
        _ => Err(Failure::Usage(
            "no parameter file — pass --parameters <file>, or --environment <sbx|dev|int|prd> --os <windows|linux>"
                .to_owned(),
        )),
    }
}

pub fn load(path: &Path) -> Result<LoadedParameters, Failure> {
    params::load(path).map_err(Failure::Parameters)
}

/// What rendering a desired state takes beyond the parameter file.
#[derive(Debug, Default)]
pub struct Inputs<'a> {
    pub subscription: Option<&'a str>,
    pub image_version: Option<&'a str>,
    pub blob_endpoint: Option<&'a str>,
    pub branch: Option<&'a str>,
    /// The gallery image version the scale set boots.
    pub scale_set_image: Option<String>,
    pub devops: Option<DevOpsIds>,
}

/// The desired state of loaded parameters.
pub fn render(
    loaded: &LoadedParameters,
    selection: &ParameterSelection,
    inputs: Inputs<'_>,
) -> Result<DesiredState, Failure> {
    let mut build = BuildInfo::from_env();
    if let Some(branch) = inputs.branch {
        build.branch = Some(branch.to_owned());
    }
    build.environment = selection.environment.clone().or_else(|| loaded.parameters.tags.get("environment").cloned());
    let repo_dir = std::env::current_dir().ok();
    let context = PlanContext {
        subscription: inputs.subscription,
        version: VersionInputs {
            now: time::OffsetDateTime::now_utc(),
            cli_version: inputs.image_version,
            repo_dir: repo_dir.as_deref(),
        },
        blob_endpoint: inputs.blob_endpoint,
        build,
        scale_set_image: inputs.scale_set_image,
        devops: inputs.devops,
    };
    plan::desired_state(loaded, &context).map_err(|error| match error {
        PlanError::Version(diagnostic) => Failure::Usage(diagnostic.to_string()),
        PlanError::Script(error) => Failure::Usage(error.to_string()),
    })
}

fn plan_offline(args: PlanArgs) -> Result<(), Failure> {
    let loaded = load(&parameter_file(&args.selection)?)?;
    let inputs = Inputs {
        subscription: args.azure.subscription.as_deref(),
        image_version: args.image_version.as_deref(),
        branch: args.branch.as_deref(),
        ..Inputs::default()
    };
    let desired = render(&loaded, &args.selection, inputs)?;
    match args.output {
        OutputFormat::Json => {
            let json = serde_json::to_string_pretty(&desired).map_err(|e| Failure::Operation(e.to_string()))?;
            println!("{json}");
        }
        OutputFormat::Text => print!("{}", render::plan_tree(&desired)),
    }
    Ok(())
}

pub fn require_subscription(subscription: Option<&str>) -> Result<&str, Failure> {
    subscription.ok_or_else(|| {
        Failure::Usage(
            "no subscription — pass --subscription <id> or set AZURE_SUBSCRIPTION_ID (or plan with --offline)"
                .to_owned(),
        )
    })
}

pub async fn infra_deploy(args: DeployArgs) -> Result<(), Failure> {
    let subscription = require_subscription(args.azure.subscription.as_deref())?;
    let loaded = load(&parameter_file(&args.selection)?)?;
    let desired = render(&loaded, &args.selection, deploy_inputs(&args, subscription))?;
    let azure = Azure::from_env(args.azure.arm_endpoint.as_deref())?;
    deploy::deploy_infra(&azure, &desired, usize::from(args.parallelism)).await?;
    crate::progress::output("resourceGroup", &loaded.parameters.resource_group_name);
    Ok(())
}

/// The inputs of a deploy's arguments.
pub fn deploy_inputs<'a>(args: &'a DeployArgs, subscription: &'a str) -> Inputs<'a> {
    Inputs {
        subscription: Some(subscription),
        image_version: args.image_version.as_deref(),
        branch: args.branch.as_deref(),
        ..Inputs::default()
    }
}

pub async fn preflight_command(args: PreflightArgs) -> Result<(), Failure> {
    let subscription = require_subscription(args.azure.subscription.as_deref())?;
    let loaded = load(&parameter_file(&args.selection)?)?;
    let inputs =
        Inputs { subscription: Some(subscription), image_version: args.image_version.as_deref(), ..Inputs::default() };
    let desired = render(&loaded, &args.selection, inputs)?;
    let azure = Azure::from_env(args.azure.arm_endpoint.as_deref())?;
    preflight::check(&azure, &desired, &loaded.parameters, subscription, preflight::stages(args.scope)).await?;
    Ok(())
}

pub async fn image_build(args: DeployArgs, wait: bool, follow: &FollowArgs) -> Result<(), Failure> {
    let subscription = require_subscription(args.azure.subscription.as_deref())?;
    let loaded = load(&parameter_file(&args.selection)?)?;
    let azure = Azure::from_env(args.azure.arm_endpoint.as_deref())?;
    build_image(&azure, &loaded, &args, subscription, wait, follow).await.map(drop)
}

/// Uploads the scripts, creates or reuses the template, starts the run, waits when asked.
/// Returns, when it waited, the id of the image version the build produced.
pub async fn build_image(
    azure: &Azure,
    loaded: &LoadedParameters,
    args: &DeployArgs,
    subscription: &str,
    wait: bool,
    follow: &FollowArgs,
) -> Result<Option<String>, Failure> {
    let account = &loaded.parameters.storage_account_name;
    let account_id = agentpool_core::resources::resource_id(
        subscription,
        &loaded.parameters.resource_group_name,
        &agentpool_core::resources::storage_account::KIND,
        account,
    );
    let endpoint = image::blob_endpoint(azure, &account_id, account).await?;
    let live = render(
        loaded,
        &args.selection,
        Inputs { blob_endpoint: Some(&endpoint), ..deploy_inputs(args, subscription) },
    )?;
    let container_url = format!("{}/{}", endpoint.trim_end_matches('/'), loaded.parameters.storage_container_name);
    let started = image::build(azure, &live, &container_url).await?;
    if !wait {
        return Ok(None);
    }
    image::wait(azure, &started.template_id, started.previous_run.clone(), follow).await
}

pub async fn image_cleanup(args: CleanupArgs) -> Result<(), Failure> {
    let subscription = require_subscription(args.azure.subscription.as_deref())?;
    let loaded = load(&parameter_file(&args.selection)?)?;
    let azure = Azure::from_env(args.azure.arm_endpoint.as_deref())?;
    let rules = agentpool_core::image::cleanup::Rules {
        older_than: std::time::Duration::from_secs(args.older_than_days * 86_400),
        keep: args.keep,
        now: time::OffsetDateTime::now_utc(),
    };
    let deletions = agentpool_core::image::cleanup::plan(&azure.client, subscription, &loaded.parameters, &rules)
        .await
        .map_err(|e| Failure::Operation(e.to_string()))?;
    let note = crate::progress::note;
    for deletion in &deletions {
        println!("{} {} ({})", if args.yes { "delete" } else { "would delete" }, deletion.id, deletion.reason);
    }
    if deletions.is_empty() {
        note("cleanup: nothing to delete".to_owned());
    } else if args.yes {
        agentpool_core::image::cleanup::apply(&azure.client, &deletions, &Terminal)
            .await
            .map_err(|e| Failure::Operation(e.to_string()))?;
        note(format!("cleanup: deleted {}", deletions.len()));
    } else {
        note(format!("cleanup: dry run, {} to delete — pass --yes to delete them", deletions.len()));
    }
    Ok(())
}

pub async fn image_wait(args: WaitArgs) -> Result<(), Failure> {
    let subscription = require_subscription(args.azure.subscription.as_deref())?;
    let azure = Azure::from_env(args.azure.arm_endpoint.as_deref())?;
    image::wait(&azure, &image::template_id(subscription, &args.resource_group, &args.template), None, &args.follow)
        .await
        .map(drop)
}

pub async fn scaleset_deploy(args: ScalesetDeployArgs) -> Result<(), Failure> {
    let deploy = &args.deploy;
    let subscription = require_subscription(deploy.azure.subscription.as_deref())?;
    let loaded = load(&parameter_file(&deploy.selection)?)?;
    let azure = Azure::from_env(deploy.azure.arm_endpoint.as_deref())?;
    let image = scaleset::image_to_boot(&azure, &loaded, subscription, args.image.as_deref()).await?;
    let inputs = Inputs { scale_set_image: Some(image), ..deploy_inputs(deploy, subscription) };
    let desired = render(&loaded, &deploy.selection, inputs)?;
    scaleset::deploy(&azure, &desired, usize::from(deploy.parallelism)).await?;
    if args.roll_idle {
        chain::roll_idle(&azure, &loaded, subscription, args.devops.devops_url.as_deref()).await?;
    }
    Ok(())
}

/// The subscription and the loaded parameter file of a scale set or pool command.
fn reach(target: &PoolTarget) -> Result<(&str, LoadedParameters), Failure> {
    let subscription = require_subscription(target.azure.subscription.as_deref())?;
    Ok((subscription, load(&parameter_file(&target.selection)?)?))
}

async fn scaleset_status(args: StatusArgs) -> Result<(), Failure> {
    let (subscription, loaded) = reach(&args.target)?;
    let id = scaleset::scale_set_id(&loaded, subscription).ok_or_else(|| {
        Failure::Usage(format!("{} describes no scale set — add the scaleSet parameter", loaded.display_name))
    })?;
    let azure = Azure::from_env(args.target.azure.arm_endpoint.as_deref())?;
    scaleset::status(&azure, &id, args.wait_minutes).await
}

pub async fn pool_register(args: &PoolRegisterArgs) -> Result<(), Failure> {
    let target = &args.target;
    let (subscription, loaded) = reach(target)?;
    let azure = Azure::from_env(target.azure.arm_endpoint.as_deref())?;
    let devops_url = target.devops.devops_url.as_deref();
    chain::register_pool(&azure, &loaded, &target.selection, subscription, devops_url).await?;
    if args.roll_idle {
        chain::roll_idle(&azure, &loaded, subscription, devops_url).await?;
    }
    Ok(())
}

async fn pool_status(args: StatusArgs) -> Result<(), Failure> {
    let (azure, devops, spec, scale_set) = reach_pool(&args.target)?;
    pool::show_status(&azure, &devops, &spec, &scale_set, args.wait_minutes).await
}

/// The pool and its agents as an event (a task's summary shows them).
pub async fn pool_report(target: &PoolTarget) -> Result<(), Failure> {
    let (azure, devops, spec, scale_set) = reach_pool(target)?;
    pool::report(&azure, &devops, &spec, &scale_set).await
}

/// Azure, Azure DevOps, the pool's parameters and its scale set's id.
fn reach_pool(target: &PoolTarget) -> Result<(Azure, DevOps, AgentPool, String), Failure> {
    let (subscription, loaded) = reach(target)?;
    let (Some(spec), Some(id)) = (&loaded.parameters.agent_pool, scaleset::scale_set_id(&loaded, subscription)) else {
        return Err(Failure::Usage(format!(
            "{} describes no agent pool — add the scaleSet and agentPool parameters",
            loaded.display_name
        )));
    };
    let azure = Azure::from_env(target.azure.arm_endpoint.as_deref())?;
    let devops = azure.devops(&spec.organization_url, target.devops.devops_url.as_deref())?;
    Ok((azure, devops, spec.clone(), id))
}

fn nat_plan(args: NatPlanArgs) -> Result<(), Failure> {
    let sizing = agentpool_core::nat::Sizing::for_agents(args.max_agents, args.flows_per_agent)
        .map_err(|e| Failure::Usage(format!("nat plan: {e} — {}", e.fix())))?;
    println!("{sizing}");
    Ok(())
}

/// Validates the files named (folders and globs expanded, JSON schemas skipped), or those of
/// --parameters-dir.
fn validate(args: ValidateArgs) -> Result<(), Failure> {
    use params::discover;
    let usage = |e: discover::DiscoverError| Failure::Usage(e.to_string());
    let found = if args.files.is_empty() {
        discover::Found { files: discover::in_folder(&args.parameters_dir).map_err(usage)?, schemas: Vec::new() }
    } else {
        discover::expand(&args.files).map_err(usage)?
    };
    for schema in &found.schemas {
        println!("skipped: {} (a JSON schema, not a parameter file)", schema.display());
    }
    let mut problems = params::Diagnostics::default();
    for file in &found.files {
        match params::load(file) {
            Ok(_) => println!("ok: {}", file.display()),
            Err(diagnostics) => problems.0.extend(diagnostics.0),
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Failure::Parameters(problems))
    }
}

fn schema(args: SchemaArgs) -> Result<(), Failure> {
    if args.reference {
        print!("{}", params::reference::markdown());
    } else {
        print!("{}", params::schema::SCHEMA_TEXT);
    }
    Ok(())
}
