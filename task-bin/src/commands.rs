//! The commands, over agentpool-core.

use std::path::{Path, PathBuf};

use agentpool_core::aib::OsType;
use agentpool_core::params::{self, Environment, LoadedParameters};
use agentpool_core::plan::{self, PlanContext, PlanError};
use agentpool_core::version::VersionInputs;

use crate::cli::{Cli, Command, OutputFormat, ParameterSelection, PlanArgs, SchemaArgs, ValidateArgs};
use crate::{render, Failure};

pub fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Plan(args) => plan(args),
        Command::Validate(args) => validate(args),
        Command::Schema(args) => schema(args),
    }
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

fn plan(args: PlanArgs) -> Result<(), Failure> {
    if !args.offline {
        return Err(Failure::Usage(
            "planning against Azure is not available in this build — pass --offline to render the desired state"
                .to_owned(),
        ));
    }
    let loaded = load(&parameter_file(&args.selection)?)?;
    let repo_dir = std::env::current_dir().ok();
    let context = PlanContext {
        subscription: args.subscription.as_deref(),
        version: VersionInputs {
            now: time::OffsetDateTime::now_utc(),
            cli_version: args.image_version.as_deref(),
            repo_dir: repo_dir.as_deref(),
        },
    };
    let desired = plan::desired_state(&loaded, &context).map_err(|error| match error {
        PlanError::Version(diagnostic) => Failure::Usage(diagnostic.to_string()),
        PlanError::Script(error) => Failure::Usage(error.to_string()),
    })?;
    match args.output {
        OutputFormat::Json => {
            let json = serde_json::to_string_pretty(&desired).map_err(|e| Failure::Operation(e.to_string()))?;
            println!("{json}");
        }
        OutputFormat::Text => print!("{}", render::plan_tree(&desired)),
    }
    Ok(())
}

fn validate(args: ValidateArgs) -> Result<(), Failure> {
    let files = if args.files.is_empty() { parameter_files_in(&args.parameters_dir)? } else { args.files };
    let mut problems = Vec::new();
    for file in &files {
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

fn parameter_files_in(dir: &Path) -> Result<Vec<PathBuf>, Failure> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        Failure::Usage(format!(
            "{}: cannot list parameter files: {e} — pass --parameters-dir or file names",
            dir.display()
        ))
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            name.contains(".parameters.") && [".json", ".yaml", ".yml"].iter().any(|ext| name.ends_with(ext))
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(Failure::Usage(format!(
            "{}: no *.parameters.<os>.json files — pass --parameters-dir or file names",
            dir.display()
        )));
    }
    Ok(files)
}

fn schema(args: SchemaArgs) -> Result<(), Failure> {
    if args.reference {
        print!("{}", params::reference::markdown());
    } else {
        print!("{}", params::schema::SCHEMA_TEXT);
    }
    Ok(())
}
