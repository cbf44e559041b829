//! The whole chain, stage by stage: `agentpool up` (infrastructure → image build → scale set →
//! agent pool, as its scope says) and the live `agentpool plan` of every stage.

use agentpool_core::apply::live::LivePlan;
use agentpool_core::devops::client::Pool;
use agentpool_core::params::LoadedParameters;
use agentpool_core::plan::Stage;
use agentpool_core::resources::image_template;

use crate::cli::{ParameterSelection, PlanArgs, Scope, UpArgs};
use crate::commands::{self, deploy_inputs, load, parameter_file, render, require_subscription, Inputs};
use crate::deploy::{self, Azure};
use crate::progress::Terminal;
use crate::{pool, preflight, scaleset, Failure};

/// `agentpool up --scope …`.
pub async fn up(args: UpArgs) -> Result<(), Failure> {
    let deploy = &args.deploy;
    let subscription = require_subscription(deploy.azure.subscription.as_deref())?;
    let loaded = load(&parameter_file(&deploy.selection)?)?;
    let azure = Azure::from_env(deploy.azure.arm_endpoint.as_deref())?;
    let desired = render(&loaded, &deploy.selection, deploy_inputs(deploy, subscription))?;
    if !args.skip_preflight {
        let stages = preflight::stages(args.scope);
        preflight::check(&azure, &desired, &loaded.parameters, subscription, stages).await?;
    }
    if matches!(args.scope, Scope::All | Scope::Infra) {
        deploy::deploy_infra(&azure, &desired, usize::from(deploy.parallelism)).await?;
    }
    let built = match args.scope {
        Scope::Infra => return Ok(()),
        Scope::Pool => None,
        Scope::All | Scope::Image => {
            eprintln!("== image — {}", Stage::Image.deployed_by());
            commands::build_image(&azure, &loaded, deploy, subscription, !args.no_wait, &args.follow).await?
        }
    };
    if args.scope == Scope::Image || loaded.parameters.scale_set.is_none() {
        return Ok(());
    }
    let image = match (built, args.scope) {
        (Some(version), _) => version,
        (None, Scope::Pool) => scaleset::image_to_boot(&azure, &loaded, subscription, None).await?,
        (None, _) => {
            eprintln!("the build was not waited for (--no-wait): deploy the scale set and pool with `up --scope pool` once it succeeded");
            return Ok(());
        }
    };
    let inputs = Inputs { scale_set_image: Some(image), ..deploy_inputs(deploy, subscription) };
    let desired = render(&loaded, &deploy.selection, inputs)?;
    scaleset::deploy(&azure, &desired, usize::from(deploy.parallelism)).await?;
    if loaded.parameters.agent_pool.is_some() {
        let devops_url = args.devops.devops_url.as_deref();
        register_pool(&azure, &loaded, &deploy.selection, subscription, devops_url).await?;
        if args.roll_idle {
            roll_idle(&azure, &loaded, subscription, devops_url).await?;
        }
    }
    Ok(())
}

/// Resolves the pool's project and service connection, then creates the pool or updates what
/// differs.
pub async fn register_pool(
    azure: &Azure,
    loaded: &LoadedParameters,
    selection: &ParameterSelection,
    subscription: &str,
    devops_url: Option<&str>,
) -> Result<Pool, Failure> {
    let spec = loaded.parameters.agent_pool.as_ref().ok_or_else(|| {
        Failure::Usage(format!("{} describes no agent pool — add the agentPool parameter", loaded.display_name))
    })?;
    let devops = azure.devops(&spec.organization_url, devops_url)?;
    let ids = devops.resolve(&spec.project, &spec.service_connection).await.map_err(|e| {
        if e.is_usage() {
            Failure::Usage(e.to_string())
        } else {
            Failure::Operation(e.to_string())
        }
    })?;
    let inputs = Inputs { subscription: Some(subscription), devops: Some(ids), ..Inputs::default() };
    let desired = render(loaded, selection, inputs)?;
    pool::register(azure, &devops, &desired).await
}

/// Asks Azure DevOps to replace the pool's idle agents on an older image.
pub async fn roll_idle(
    azure: &Azure,
    loaded: &LoadedParameters,
    subscription: &str,
    devops_url: Option<&str>,
) -> Result<usize, Failure> {
    let (Some(spec), Some(scale_set)) = (&loaded.parameters.agent_pool, scaleset::scale_set_id(loaded, subscription))
    else {
        eprintln!("roll: {} describes no agent pool: nothing to roll", loaded.display_name);
        return Ok(0);
    };
    let devops = azure.devops(&spec.organization_url, devops_url)?;
    pool::roll_idle(azure, &devops, spec, &scale_set).await
}

/// `agentpool plan <file>`: every stage compared with Azure and Azure DevOps, each under the
/// command that deploys it.
pub async fn plan_live(args: PlanArgs) -> Result<(), Failure> {
    let subscription = require_subscription(args.azure.subscription.as_deref())?;
    let loaded = load(&parameter_file(&args.selection)?)?;
    let inputs = Inputs {
        subscription: Some(subscription),
        image_version: args.image_version.as_deref(),
        branch: args.branch.as_deref(),
        ..Inputs::default()
    };
    let azure = Azure::from_env(args.azure.arm_endpoint.as_deref())?;
    // The template's name hashes its scripts' URLs: those of the storage account as Azure has it.
    let p = &loaded.parameters;
    let account_id = agentpool_core::resources::resource_id(
        subscription,
        &p.resource_group_name,
        &agentpool_core::resources::storage_account::KIND,
        &p.storage_account_name,
    );
    let endpoint = crate::image::blob_endpoint(&azure, &account_id, &p.storage_account_name).await.ok();
    let desired = render(&loaded, &args.selection, Inputs { blob_endpoint: endpoint.as_deref(), ..inputs })?;
    let mut plans = Vec::new();
    let scoped = |stage: Stage| match args.scope {
        Scope::All => true,
        Scope::Infra => stage == Stage::Infra,
        Scope::Image => stage == Stage::Image,
        Scope::Pool => matches!(stage, Stage::ScaleSet | Stage::Pool),
    };

    if scoped(Stage::Infra) {
        eprintln!("== {} — {}", Stage::Infra.title(), Stage::Infra.deployed_by());
        plans.push(deploy::plan(&azure.client, &desired, &[Stage::Infra], &Terminal).await?);
    }
    if let Some(template) = desired.find(&image_template::KIND).filter(|_| scoped(Stage::Image)) {
        eprintln!("== {} — {}", Stage::Image.title(), Stage::Image.deployed_by());
        let exists = azure.client.get(&template.id, image_template::KIND.api_version).await.ok().flatten().is_some();
        let what = match (exists, desired.image_version.is_some()) {
            (false, _) => "is new: the next build creates it",
            // Templates are immutable and name the version a build of ours distributes.
            (true, true) => "exists: the next build recreates it for its new version number",
            (true, false) => "exists: the next build runs it again",
        };
        eprintln!("  image template {} {what}", template.name);
    }

    if loaded.parameters.scale_set.is_some() && scoped(Stage::ScaleSet) {
        eprintln!("== {} — {}", Stage::ScaleSet.title(), Stage::ScaleSet.deployed_by());
        match scaleset::image_to_boot(&azure, &loaded, subscription, None).await {
            Ok(image) => {
                let inputs =
                    Inputs { subscription: Some(subscription), scale_set_image: Some(image), ..Inputs::default() };
                let desired = render(&loaded, &args.selection, inputs)?;
                plans.push(deploy::plan(&azure.client, &desired, &[Stage::ScaleSet], &Terminal).await?);
            }
            Err(Failure::Usage(why)) => eprintln!("  not planned: {why}"),
            Err(other) => return Err(other),
        }
    }
    if let Some(spec) = loaded.parameters.agent_pool.as_ref().filter(|_| scoped(Stage::Pool)) {
        eprintln!("== {} — {}", Stage::Pool.title(), Stage::Pool.deployed_by());
        let devops = azure.devops(&spec.organization_url, args.devops.devops_url.as_deref())?;
        match devops.resolve(&spec.project, &spec.service_connection).await {
            Ok(ids) => {
                let inputs = Inputs { subscription: Some(subscription), devops: Some(ids), ..Inputs::default() };
                let desired = render(&loaded, &args.selection, inputs)?;
                plans.push(deploy::plan(&devops, &desired, &[Stage::Pool], &Terminal).await?);
            }
            Err(error) => eprintln!("  not planned: {error}"),
        }
    }
    let (writes, total) = plans.iter().fold((0, 0), |(w, t), p: &LivePlan| (w + p.writes(), t + p.actions.len()));
    match writes {
        0 => eprintln!("plan: no changes — what {} describes is in place", desired.parameters_file),
        writes => eprintln!("plan: {writes} of {total} resources would change"),
    }
    Ok(())
}
