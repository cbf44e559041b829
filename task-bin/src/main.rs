//! `agentpool`: builds Azure DevOps build-agent images with Azure VM Image Builder and runs them
//! as scale-set agent pools.
//!
//! Exit codes: 0 success, 1 an operation failed, 2 bad input or usage.

mod chain;
mod cli;
mod commands;
mod deploy;
mod image;
mod pool;
mod preflight;
mod progress;
mod render;
mod scaleset;
mod task;
mod vso;

use std::process::ExitCode;

use clap::Parser;

/// What ended a command unsuccessfully, and so its exit code.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// Bad input or usage: exit code 2, nothing was sent to Azure.
    #[error("{0}")]
    Usage(String),
    /// A parameter file has problems, each with its place and fix: exit code 2.
    #[error("{0}")]
    Parameters(agentpool_core::params::Diagnostics),
    /// A task's inputs cannot be used, each named: exit code 2.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Inputs(Vec<task::inputs::InputError>),
    /// An operation failed: exit code 1.
    #[error("{0}")]
    Operation(String),
}

impl Failure {
    fn exit_code(&self) -> u8 {
        match self {
            Self::Usage(_) | Self::Parameters(_) | Self::Inputs(_) => 2,
            Self::Operation(_) => 1,
        }
    }
}

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    if let cli::Command::Task(args) = &cli.command {
        progress::set_format(Some(progress::LogFormat::AzurePipelines));
        return ExitCode::from(task::run(args.step));
    }
    progress::set_format(cli.log_format);
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            match progress::format() {
                progress::LogFormat::Terminal => eprintln!("{failure}"),
                progress::LogFormat::AzurePipelines => task::print_failure(&failure),
            }
            ExitCode::from(failure.exit_code())
        }
    }
}
