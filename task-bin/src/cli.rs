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
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show the desired state of every resource a parameter file describes.
    Plan(PlanArgs),
    /// Validate parameter files without calling Azure.
    Validate(ValidateArgs),
    /// Print the parameter file JSON schema, or the parameter reference as Markdown.
    Schema(SchemaArgs),
}

/// Which parameter file: `--parameters <file>`, or seed 000's `<dir>/<env>.parameters.<os>.json`.
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
    #[command(flatten)]
    pub selection: ParameterSelection,
    /// Render the desired state without credentials or calls to Azure.
    #[arg(long)]
    pub offline: bool,
    /// Subscription id used in resource ids.
    #[arg(long, env = "AZURE_SUBSCRIPTION_ID")]
    pub subscription: Option<String>,
    /// Image version for the semver strategy when the parameter file gives none.
    #[arg(long)]
    pub image_version: Option<String>,
    #[arg(long, short = 'o', value_enum, default_value_t)]
    pub output: OutputFormat,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Parameter files; with none, every `*.parameters.*.json|yaml|yml` in --parameters-dir.
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
