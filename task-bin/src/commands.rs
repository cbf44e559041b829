//! The commands, over agentpool-core.

use std::path::{Path, PathBuf};

use agentpool_core::aib::OsType;
use agentpool_core::params::{self, Environment, LoadedParameters};
use agentpool_core::plan::{self, BuildInfo, DesiredState, PlanContext, PlanError, Stage};
use agentpool_core::version::VersionInputs;

use crate::cli::{
    CleanupArgs, Cli, Command, DeployArgs, FollowArgs, ImageCommand, InfraCommand, OutputFormat, ParameterSelection,
    PlanArgs, PreflightArgs, SchemaArgs, Scope, UpArgs, ValidateArgs, WaitArgs,
};
use crate::deploy::{self, Azure};
use crate::image;
use crate::preflight;
use crate::progress::Terminal;
use crate::{render, Failure};

pub fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Plan(args) if args.offline => plan_offline(args),
        Command::Plan(args) => runtime()?.block_on(plan_live(args)),
        Command::Infra(InfraCommand::Deploy(args)) => runtime()?.block_on(infra_deploy(args)),
        Command::Up(args) => runtime()?.block_on(up(args)),
        Command::Preflight(args) => runtime()?.block_on(preflight_command(args)),
        Command::Image(ImageCommand::Build(args)) => {
            runtime()?.block_on(image_build(args.deploy, args.wait, &args.follow))
        }
        Command::Image(ImageCommand::Wait(args)) => runtime()?.block_on(image_wait(args)),
        Command::Image(ImageCommand::Cleanup(args)) => runtime()?.block_on(image_cleanup(args)),
        Command::Validate(args) => validate(args),
        Command::Schema(args) => schema(args),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Operation(format!("cannot start the async runtime: {e}")))
}

fn parameter_file(selection: &ParameterSelection) -> Result<PathBuf, Failure> {
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

fn load(path: &Path) -> Result<LoadedParameters, Failure> {
    params::load(path).map_err(|diagnostics| Failure::Usage(diagnostics.to_string()))
}

/// Loads the parameter file and renders its desired state for `subscription`.
fn desired(
    selection: &ParameterSelection,
    subscription: Option<&str>,
    image_version: Option<&str>,
    blob_endpoint: Option<&str>,
    branch: Option<&str>,
) -> Result<DesiredState, Failure> {
    let loaded = load(&parameter_file(selection)?)?;
    render(&loaded, selection, subscription, image_version, blob_endpoint, branch)
}

/// The desired state of loaded parameters.
fn render(
    loaded: &LoadedParameters,
    selection: &ParameterSelection,
    subscription: Option<&str>,
    image_version: Option<&str>,
    blob_endpoint: Option<&str>,
    branch: Option<&str>,
) -> Result<DesiredState, Failure> {
    let mut build = BuildInfo::from_env();
    if let Some(branch) = branch {
        build.branch = Some(branch.to_owned());
    }
    build.environment = selection.environment.clone().or_else(|| loaded.parameters.tags.get("environment").cloned());
    let repo_dir = std::env::current_dir().ok();
    let context = PlanContext {
        subscription,
        version: VersionInputs {
            now: time::OffsetDateTime::now_utc(),
            cli_version: image_version,
            repo_dir: repo_dir.as_deref(),
        },
        blob_endpoint,
        build,
        scale_set_image: None,
        devops: None,
    };
    plan::desired_state(loaded, &context).map_err(|error| match error {
        PlanError::Version(diagnostic) => Failure::Usage(diagnostic.to_string()),
        PlanError::Script(error) => Failure::Usage(error.to_string()),
    })
}

fn plan_offline(args: PlanArgs) -> Result<(), Failure> {
    let desired = desired(
        &args.selection,
        args.azure.subscription.as_deref(),
        args.image_version.as_deref(),
        None,
        args.branch.as_deref(),
    )?;
    match args.output {
        OutputFormat::Json => {
            let json = serde_json::to_string_pretty(&desired).map_err(|e| Failure::Operation(e.to_string()))?;
            println!("{json}");
        }
        OutputFormat::Text => print!("{}", render::plan_tree(&desired)),
    }
    Ok(())
}

fn require_subscription(subscription: Option<&str>) -> Result<&str, Failure> {
    subscription.ok_or_else(|| {
        Failure::Usage(
            "no subscription — pass --subscription <id> or set AZURE_SUBSCRIPTION_ID (or plan with --offline)"
                .to_owned(),
        )
    })
}

/// The live plan of the infrastructure: what a deploy would change.
async fn plan_live(args: PlanArgs) -> Result<(), Failure> {
    let subscription = require_subscription(args.azure.subscription.as_deref())?;
    let desired =
        desired(&args.selection, Some(subscription), args.image_version.as_deref(), None, args.branch.as_deref())?;
    let azure = Azure::from_env(args.azure.arm_endpoint.as_deref())?;
    let plan = deploy::plan(&azure, &desired, &[Stage::Infra], &Terminal).await?;
    match plan.writes() {
        0 => eprintln!("plan: no changes — the infrastructure matches {}", desired.parameters_file),
        writes => eprintln!("plan: {writes} of {} resources would change", plan.actions.len()),
    }
    Ok(())
}

async fn infra_deploy(args: DeployArgs) -> Result<(), Failure> {
    let subscription = require_subscription(args.azure.subscription.as_deref())?;
    let desired =
        desired(&args.selection, Some(subscription), args.image_version.as_deref(), None, args.branch.as_deref())?;
    let azure = Azure::from_env(args.azure.arm_endpoint.as_deref())?;
    deploy::deploy_infra(&azure, &desired, usize::from(args.parallelism)).await
}

async fn up(args: UpArgs) -> Result<(), Failure> {
    let deploy = &args.deploy;
    let subscription = require_subscription(deploy.azure.subscription.as_deref())?;
    let loaded = load(&parameter_file(&deploy.selection)?)?;
    let azure = Azure::from_env(deploy.azure.arm_endpoint.as_deref())?;
    let desired = render(
        &loaded,
        &deploy.selection,
        Some(subscription),
        deploy.image_version.as_deref(),
        None,
        deploy.branch.as_deref(),
    )?;
    if !args.skip_preflight {
        let stages = preflight::stages(args.scope);
        preflight::check(&azure, &desired, &loaded.parameters, subscription, stages).await?;
    }
    if args.scope != Scope::Image {
        deploy::deploy_infra(&azure, &desired, usize::from(deploy.parallelism)).await?;
    }
    if args.scope == Scope::Infra {
        return Ok(());
    }
    build_image(&azure, &loaded, deploy, subscription, !args.no_wait, &args.follow).await
}

async fn preflight_command(args: PreflightArgs) -> Result<(), Failure> {
    let subscription = require_subscription(args.azure.subscription.as_deref())?;
    let loaded = load(&parameter_file(&args.selection)?)?;
    let desired = render(&loaded, &args.selection, Some(subscription), args.image_version.as_deref(), None, None)?;
    let azure = Azure::from_env(args.azure.arm_endpoint.as_deref())?;
    preflight::check(&azure, &desired, &loaded.parameters, subscription, preflight::stages(args.scope)).await?;
    Ok(())
}

async fn image_build(args: DeployArgs, wait: bool, follow: &FollowArgs) -> Result<(), Failure> {
    let subscription = require_subscription(args.azure.subscription.as_deref())?;
    let loaded = load(&parameter_file(&args.selection)?)?;
    let azure = Azure::from_env(args.azure.arm_endpoint.as_deref())?;
    build_image(&azure, &loaded, &args, subscription, wait, follow).await
}

/// Uploads the scripts, creates or reuses the template, starts the run, waits when asked.
async fn build_image(
    azure: &Azure,
    loaded: &LoadedParameters,
    args: &DeployArgs,
    subscription: &str,
    wait: bool,
    follow: &FollowArgs,
) -> Result<(), Failure> {
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
        Some(subscription),
        args.image_version.as_deref(),
        Some(&endpoint),
        args.branch.as_deref(),
    )?;
    let container_url = format!("{}/{}", endpoint.trim_end_matches('/'), loaded.parameters.storage_container_name);
    let started = image::build(azure, &live, &container_url).await?;
    if wait {
        image::wait(azure, &started.template_id, started.previous_run.clone(), follow).await?;
    }
    Ok(())
}

async fn image_cleanup(args: CleanupArgs) -> Result<(), Failure> {
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
    for deletion in &deletions {
        println!("{} {} ({})", if args.yes { "delete" } else { "would delete" }, deletion.id, deletion.reason);
    }
    if deletions.is_empty() {
        eprintln!("cleanup: nothing to delete");
    } else if args.yes {
        agentpool_core::image::cleanup::apply(&azure.client, &deletions, &Terminal)
            .await
            .map_err(|e| Failure::Operation(e.to_string()))?;
        eprintln!("cleanup: deleted {}", deletions.len());
    } else {
        eprintln!("cleanup: dry run, {} to delete — pass --yes to delete them", deletions.len());
    }
    Ok(())
}

async fn image_wait(args: WaitArgs) -> Result<(), Failure> {
    let subscription = require_subscription(args.azure.subscription.as_deref())?;
    let azure = Azure::from_env(args.azure.arm_endpoint.as_deref())?;
    image::wait(&azure, &image::template_id(subscription, &args.resource_group, &args.template), None, &args.follow)
        .await
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
    let mut problems = Vec::new();
    for file in &found.files {
        match params::load(file) {
            Ok(_) => println!("ok: {}", file.display()),
            Err(diagnostics) => problems.push(diagnostics.to_string()),
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Failure::Usage(problems.join("\n")))
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
