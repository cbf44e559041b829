//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "agentpool",
    version,
    about = "Build agent images with Azure VM Image Builder and run them as Azure DevOps scale-set agent pools"
)]
pub struct Cli {
    /// How progress is written: terminal, or azure-pipelines (logging commands: issues, output
    /// variables, progress). Default: azure-pipelines inside a pipeline (TF_BUILD=True).
    #[arg(long, global = true, value_enum, env = "AGENTPOOL_LOG_FORMAT")]
    pub log_format: Option<crate::progress::LogFormat>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what a deployment would change: create, update (with the fields) or no change per
    /// resource; with --offline, the desired state of every resource without calling Azure.
    Plan(PlanArgs),
    /// Deploy the infrastructure: resource group, storage and scripts, identity and its roles (a
    /// custom least-privilege role, or Contributor with imageBuilderRole "contributor"), gallery and
    /// image definition.
    #[command(subcommand)]
    Infra(InfraCommand),
    /// Build the image with Azure VM Image Builder, or follow a build.
    #[command(subcommand)]
    Image(ImageCommand),
    /// Deploy the scale set that runs the agents (with its NAT gateway), or show which image each
    /// instance runs.
    #[command(subcommand)]
    Scaleset(ScalesetCommand),
    /// Register the scale set as an Azure DevOps scale-set agent pool, or show the pool and its agents.
    #[command(subcommand)]
    Pool(PoolCommand),
    /// Size a NAT gateway for a number of agents.
    #[command(subcommand)]
    Nat(NatCommand),
    /// Run the steps of a scope in order: infrastructure, image build, scale set, agent pool.
    Up(UpArgs),
    /// Check, with reads only, what would make a deploy or a build fail: resource providers,
    /// Image Builder in the region, the deploying principal's rights, VM sizes and vCPU quota.
    Preflight(PreflightArgs),
    /// Validate parameter files without calling Azure.
    Validate(ValidateArgs),
    /// Print the parameter file JSON schema, or the parameter reference as Markdown.
    Schema(SchemaArgs),
    /// Run one step as an Azure Pipelines task (what the extension's launcher starts): inputs
    /// from INPUT_*, the service connections from ENDPOINT_*, progress as logging commands.
    Task(TaskArgs),
}

#[derive(Debug, Args)]
pub struct TaskArgs {
    /// The task (its task.json name) or step.
    #[arg(value_enum)]
    pub step: crate::task::Step,
}

/// Which parameter file: `--parameters <file>`, or `<dir>/<env>.parameters.<os>.json`.
#[derive(Debug, Args)]
pub struct ParameterSelection {
    /// Parameter file (JSON or YAML).
    #[arg(long, short = 'p', conflicts_with_all = ["environment", "os"])]
    pub parameters: Option<PathBuf>,
    /// Environment: sbx, dev, int or prd.
    #[arg(long, short = 'e', requires = "os")]
    pub environment: Option<String>,
    /// Operating system of the image: windows or linux.
    #[arg(long, requires = "environment")]
    pub os: Option<String>,
    /// Folder of the parameter files.
    #[arg(long, default_value = "yaml-templates/parameters")]
    pub parameters_dir: PathBuf,
}

/// Which Azure: the subscription and the Resource Manager endpoint.
#[derive(Debug, Args)]
pub struct AzureArgs {
    /// Subscription id (offline plans use it in resource ids).
    #[arg(long, env = "AZURE_SUBSCRIPTION_ID")]
    pub subscription: Option<String>,
    /// Azure Resource Manager endpoint (default the public cloud's).
    #[arg(long, env = "AGENTPOOL_ARM_ENDPOINT")]
    pub arm_endpoint: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// A readable tree.
    #[default]
    Text,
    /// The desired state as JSON.
    Json,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The stages to compare with Azure and Azure DevOps, as `up` deploys them: all, infra, image or pool.
    #[arg(long, value_enum, default_value_t = Scope::All)]
    pub scope: Scope,
    #[command(flatten)]
    pub selection: ParameterSelection,
    #[command(flatten)]
    pub azure: AzureArgs,
    /// Render the desired state without credentials or calls to Azure.
    #[arg(long)]
    pub offline: bool,
    /// Image version for the semver strategy when the parameter file gives none.
    #[arg(long)]
    pub image_version: Option<String>,
    /// Branch the build comes from (default Azure Pipelines' BUILD_SOURCEBRANCH).
    #[arg(long)]
    pub branch: Option<String>,
    #[arg(long, short = 'o', value_enum, default_value_t)]
    pub output: OutputFormat,
    #[command(flatten)]
    pub devops: DevOpsArgs,
}

#[derive(Debug, Subcommand)]
pub enum InfraCommand {
    /// Plan the infrastructure against Azure and apply the changes.
    Deploy(DeployArgs),
}

/// What `up` deploys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scope {
    /// Infrastructure, the image build, then the scale set and the agent pool on the new image.
    All,
    /// The infrastructure only.
    Infra,
    /// The image build only (the infrastructure must exist).
    Image,
    /// The scale set, its NAT gateway and the agent pool, from the newest image version.
    Pool,
}

#[derive(Debug, Args)]
pub struct DeployArgs {
    #[command(flatten)]
    pub selection: ParameterSelection,
    #[command(flatten)]
    pub azure: AzureArgs,
    /// Branch the build comes from (default Azure Pipelines' BUILD_SOURCEBRANCH); images built off
    /// main and release/* are kept out of the definition's latest version.
    #[arg(long)]
    pub branch: Option<String>,
    /// Operations in flight at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub parallelism: u16,
    /// Image version for the semver strategy when the parameter file gives none.
    #[arg(long)]
    pub image_version: Option<String>,
}

#[derive(Debug, Args)]
pub struct UpArgs {
    /// all, infra or image.
    #[arg(long, value_enum, default_value_t = Scope::All)]
    pub scope: Scope,
    #[command(flatten)]
    pub deploy: DeployArgs,
    #[command(flatten)]
    pub follow: FollowArgs,
    /// Start the image build and return without waiting for it (the pipeline's "wait for image build" off).
    #[arg(long)]
    pub no_wait: bool,
    /// Do not run the preflight checks first.
    #[arg(long)]
    pub skip_preflight: bool,
    #[command(flatten)]
    pub devops: DevOpsArgs,
    /// After a new image reached the scale set, ask Azure DevOps to replace the idle agents still
    /// on an older one (never a busy one).
    #[arg(long)]
    pub roll_idle: bool,
}

/// Which Azure DevOps.
#[derive(Debug, Args)]
pub struct DevOpsArgs {
    /// Azure DevOps organization URL, instead of the parameter file's agentPool.organizationUrl
    /// (e.g. a local emulator's). Access: AZURE_DEVOPS_EXT_PAT, SYSTEM_ACCESSTOKEN, or an Entra
    /// token of the Azure credential.
    #[arg(long, env = "AGENTPOOL_DEVOPS_URL")]
    pub devops_url: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum ScalesetCommand {
    /// Plan and apply the scale set (and NAT gateway) booting an image version: the one given,
    /// else the definition's newest; a new version is one PATCH of its image reference.
    Deploy(ScalesetDeployArgs),
    /// Show the scale set's instances: which image version each runs, and which are behind the model.
    Status(StatusArgs),
}

#[derive(Debug, Args)]
pub struct ScalesetDeployArgs {
    #[command(flatten)]
    pub deploy: DeployArgs,
    /// The image the scale set boots: a gallery image version id or a version number of the
    /// image definition. Default: its newest published version.
    #[arg(long)]
    pub image: Option<String>,
    #[command(flatten)]
    pub devops: DevOpsArgs,
    /// Ask Azure DevOps to replace the idle agents still on an older image (never a busy one).
    #[arg(long)]
    pub roll_idle: bool,
}

#[derive(Debug, Subcommand)]
pub enum PoolCommand {
    /// Create the Azure DevOps scale-set agent pool, or update the settings that differ.
    Register(PoolRegisterArgs),
    /// Show the pool: its state, its agents (state, image version, since when) and its recent log.
    Status(StatusArgs),
}

/// The parameter file, Azure and Azure DevOps a scale set or pool command reaches.
#[derive(Debug, Args)]
pub struct PoolTarget {
    #[command(flatten)]
    pub selection: ParameterSelection,
    #[command(flatten)]
    pub azure: AzureArgs,
    #[command(flatten)]
    pub devops: DevOpsArgs,
}

#[derive(Debug, Args)]
pub struct PoolRegisterArgs {
    #[command(flatten)]
    pub target: PoolTarget,
    /// Ask Azure DevOps to replace the idle agents still on an older image (never a busy one).
    #[arg(long)]
    pub roll_idle: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub target: PoolTarget,
    /// Wait up to this many minutes until every agent runs the scale set's image and the
    /// standby agents are idle (pool status), or every instance has the latest model (scale set status).
    #[arg(long)]
    pub wait_minutes: Option<f64>,
}

#[derive(Debug, Subcommand)]
pub enum NatCommand {
    /// The public addresses a NAT gateway needs for a number of agents, or why it cannot carry them.
    Plan(NatPlanArgs),
}

#[derive(Debug, Args)]
pub struct NatPlanArgs {
    /// The most agents the pool runs at once (agentPool.maxCapacity).
    #[arg(long)]
    pub max_agents: u32,
    /// Outbound flows one agent keeps open.
    #[arg(long, default_value_t = agentpool_core::nat::FLOWS_PER_AGENT)]
    pub flows_per_agent: u32,
}

#[derive(Debug, Args)]
pub struct PreflightArgs {
    /// The steps to check for: all, infra, image or pool.
    #[arg(long, value_enum, default_value_t = Scope::All)]
    pub scope: Scope,
    #[command(flatten)]
    pub selection: ParameterSelection,
    #[command(flatten)]
    pub azure: AzureArgs,
    /// Image version for the semver strategy when the parameter file gives none.
    #[arg(long)]
    pub image_version: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// Upload the scripts, create (or reuse) the Image Builder template and start its run.
    Build(BuildArgs),
    /// Follow a build to its end: sub-states, the customization log, Image Builder's error.
    Wait(WaitArgs),
    /// Delete old templates of the family, orphaned staging groups and old image versions
    /// (a dry run unless --yes).
    Cleanup(CleanupArgs),
}

#[derive(Debug, Args)]
pub struct CleanupArgs {
    #[command(flatten)]
    pub selection: ParameterSelection,
    #[command(flatten)]
    pub azure: AzureArgs,
    /// Templates whose last run ended at least this many days ago go.
    #[arg(long, default_value_t = 7)]
    pub older_than_days: u64,
    /// Image versions kept, newest first (the newest is always kept).
    #[arg(long, default_value_t = 5)]
    pub keep: usize,
    /// Delete; without it, only list what would go.
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    #[command(flatten)]
    pub deploy: DeployArgs,
    /// Wait for the build in the same step.
    #[arg(long)]
    pub wait: bool,
    #[command(flatten)]
    pub follow: FollowArgs,
}

/// How a build is followed.
#[derive(Debug, Args)]
pub struct FollowArgs {
    /// Give up waiting after this many minutes (the build goes on in Azure).
    #[arg(long, alias = "timeout", default_value_t = 240)]
    pub timeout_minutes: u64,
    /// Look at the build every this many seconds. Default: adaptive — rare early, every few
    /// seconds around the end expected from the template's earlier builds.
    #[arg(long, env = "AGENTPOOL_POLL_SECONDS")]
    pub poll_seconds: Option<f64>,
}

#[derive(Debug, Args)]
pub struct WaitArgs {
    /// Resource group of the image template.
    #[arg(long)]
    pub resource_group: String,
    /// Name of the image template (as `image build` printed it).
    #[arg(long)]
    pub template: String,
    #[command(flatten)]
    pub azure: AzureArgs,
    #[command(flatten)]
    pub follow: FollowArgs,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Parameter files, folders of them or globs (`params/*.json`); with none, every
    /// `*.parameters.*.json|yaml|yml` in --parameters-dir. JSON schemas among them are skipped.
    pub files: Vec<PathBuf>,
    /// Folder searched when no file is given.
    #[arg(long, default_value = "yaml-templates/parameters")]
    pub parameters_dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Print the parameter reference (Markdown) instead of the schema.
    #[arg(long)]
    pub reference: bool,
}
