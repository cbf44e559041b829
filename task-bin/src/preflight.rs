//! `agentpool preflight` and the first step of `up`: the checks of
//! [`agentpool_core::preflight`], rendered for a terminal.
//!
//! Findings go to stderr one line each; when one blocks, the command fails with exit code 2 and
//! nothing is written to Azure.

use agentpool_core::arm::{ArmConfig, DEFAULT_SCOPE};
use agentpool_core::params::Parameters;
use agentpool_core::plan::{DesiredState, Stage};
use agentpool_core::preflight::{self, Caller, Report, Target};

use crate::cli::Scope;
use crate::deploy::Azure;
use crate::progress::Terminal;
use crate::Failure;
use agentpool_core::events::{Event, EventSink};

/// The stages a scope deploys, whose writes preflight checks the rights of.
pub fn stages(scope: Scope) -> &'static [Stage] {
    match scope {
        Scope::All => &[Stage::Infra, Stage::Image, Stage::ScaleSet],
        Scope::Infra => &[Stage::Infra],
        Scope::Image => &[Stage::Image],
        Scope::Pool => &[Stage::ScaleSet],
    }
}

/// Runs preflight for `desired`; `Ok` when nothing blocks (warnings are printed), a usage
/// failure listing every blocking finding otherwise.
pub async fn check(
    azure: &Azure,
    desired: &DesiredState,
    parameters: &Parameters,
    subscription: &str,
    stages: &[Stage],
) -> Result<Report, Failure> {
    let caller = Caller { credential: azure.credential.clone(), scope: token_scope() };
    let target = Target { desired, parameters, subscription, stages };
    let report = preflight::run(&azure.client, &caller, &target, &Terminal).await.map_err(|e| {
        if e.0.is_usage() {
            Failure::Usage(format!("preflight: {e}"))
        } else {
            Failure::Operation(format!("preflight: {e}"))
        }
    })?;
    for warning in report.warnings() {
        Terminal.emit(Event::Warning(warning.line(&report.file)));
    }
    if report.passed() {
        crate::progress::note(passed_line(&report));
        return Ok(report);
    }
    let mut lines: Vec<String> = report.blocking().map(|finding| finding.line(&report.file)).collect();
    let (problems, them) = match lines.len() {
        1 => ("1 problem".to_owned(), "it"),
        n => (format!("{n} problems"), "them"),
    };
    lines.push(format!(
        "preflight: {problems} would make the deploy fail — fix {them} and run again (nothing was written; --skip-preflight skips these checks)"
    ));
    Err(Failure::Usage(lines.join("\n")))
}

fn passed_line(report: &Report) -> String {
    let warnings = report.warnings().count();
    let note = match warnings {
        0 => String::new(),
        1 => ", 1 warning".to_owned(),
        n => format!(", {n} warnings"),
    };
    format!(
        "preflight: passed — providers registered, Image Builder offered, rights, VM sizes and vCPU quota sufficient ({} reads, no writes{note})",
        report.reads
    )
}

/// The token scope the ARM client uses (`AGENTPOOL_ARM_SCOPE`, else the public cloud's).
fn token_scope() -> String {
    ArmConfig::from_env().map(|config| config.token_scope).unwrap_or_else(|_| DEFAULT_SCOPE.to_owned())
}
