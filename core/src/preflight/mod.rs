//! Preflight: what would make a deploy or a build fail later, found in seconds with reads only.
//!
//! Four checks, every problem reported at once as one line with its fix ([`Report`]):
//! - the resource providers the steps need are registered ([`providers`]);
//! - Azure VM Image Builder is offered in the location ([`providers::image_builder_location`]);
//! - the deploying principal has the rights the run needs on each scope it writes: writes only
//!   for what the live plan ([`crate::apply::live::plan`]) would create, update or replace
//!   ([`requirements`], [`permissions`], [`rights`]), naming a built-in role that grants what is
//!   missing ([`roles`]); for a build, a warning when the build's log cannot be streamed
//!   ([`rights::log_read`]);
//! - the regions offer the VM sizes, and the regional vCPU quota of each family covers the build
//!   VM and the scale set at its largest ([`quota`], [`family`]);
//! - for the scale set, its subnet exists and lets the agents out ([`network`]).
//!
//! The reads ([`reads`]) are GETs, made concurrently; nothing is written. The checks themselves
//! are pure functions of what was read, tested on Azure's answers.
//!
//! ```no_run
//! # async fn example(arm: agentpool_core::arm::ArmClient, caller: agentpool_core::preflight::Caller,
//! #     desired: agentpool_core::plan::DesiredState, parameters: agentpool_core::params::Parameters)
//! #     -> Result<(), Box<dyn std::error::Error>> {
//! use agentpool_core::{events::Discard, plan::Stage, preflight};
//! let target = preflight::Target { desired: &desired, parameters: &parameters,
//!     subscription: "00000000-0000-0000-0000-000000000000", stages: &[Stage::Infra, Stage::Image] };
//! let report = preflight::run(&arm, &caller, &target, &Discard).await?;
//! if !report.passed() {
//!     eprintln!("{report}");
//! }
//! # Ok(()) }
//! ```

pub mod family;
pub mod finding;
pub mod network;
pub mod permissions;
pub mod principal;
pub mod providers;
pub mod quota;
pub mod reads;
pub mod requirements;
pub mod rights;
pub mod roles;

use std::collections::BTreeSet;

pub use finding::{Check, Finding, Report, Severity};
pub use reads::{Caller, ReadError};

use crate::apply::live;
use crate::arm::ArmClient;
use crate::events::{Discard, Event, EventSink};
use crate::params::Parameters;
use crate::plan::{DesiredResource, DesiredState, Stage};
use requirements::Writes;

/// Reads of the live plan in flight at once.
const PLAN_PARALLELISM: usize = 8;

/// What to check: a parameter file's desired state, for the steps about to run.
pub struct Target<'a> {
    pub desired: &'a DesiredState,
    pub parameters: &'a Parameters,
    pub subscription: &'a str,
    /// The stages whose writes need rights; providers, sizes and quota are checked always.
    pub stages: &'a [Stage],
}

/// Runs every check against Azure and reports all findings.
pub async fn run(
    arm: &ArmClient,
    caller: &Caller,
    target: &Target<'_>,
    sink: &dyn EventSink,
) -> Result<Report, ReadError> {
    let before = arm.counts().snapshot().get;
    let (network_findings, missing_subnet) = subnet_findings(arm, target).await;
    let (writes, plan_unread) = planned_writes(arm, target, missing_subnet.as_deref()).await;
    let needed = requirements::required(target.desired, target.stages, &writes);
    let mut scopes: BTreeSet<requirements::Scope> = needed.keys().map(|right| right.scope.clone()).collect();
    // Streaming the build's log reads blobs in a group that does not exist yet: judged at the subscription.
    let log_scope = target
        .stages
        .contains(&Stage::Image)
        .then(|| requirements::Scope::Subscription { subscription: target.subscription.to_owned() });
    scopes.extend(log_scope.clone());
    let demands = quota::demands(target.parameters);
    let locations: BTreeSet<String> = demands.iter().map(|d| d.location.clone()).collect();
    sink.emit(Event::Note(format!(
        "preflight: {} resource providers, {} rights on {} scope{}, VM sizes and vCPU quota in {}",
        providers::REQUIRED.len(),
        needed.len(),
        scopes.len(),
        if scopes.len() == 1 { "" } else { "s" },
        locations.iter().cloned().collect::<Vec<_>>().join(", ")
    )));
    let facts = reads::read(arm, caller, target.subscription, &scopes, &locations).await?;

    let mut findings = provider_findings(&facts, target);
    findings.extend(plan_unread);
    findings.extend(rights::check(&needed, &facts.rights));
    findings.extend(log_scope.and_then(|scope| rights::log_read(&scope, &facts.rights)));
    findings.extend(quota::check(&demands, &facts.regions));
    findings.extend(network_findings);
    let reads = arm.counts().snapshot().get.saturating_sub(before);
    Ok(Report::new(&target.desired.parameters_file, findings, reads as u64))
}

/// The resources the run would write, from the live plan (reads only); every resource, and a
/// warning saying so, when the plan cannot be read. A subnet found missing (`missing_subnet`,
/// reported by the network check) is left out of the plan.
async fn planned_writes(
    arm: &ArmClient,
    target: &Target<'_>,
    missing_subnet: Option<&str>,
) -> (Writes, Option<Finding>) {
    let missing = |r: &DesiredResource| missing_subnet.is_some_and(|id| r.id.eq_ignore_ascii_case(id));
    let resources: Vec<DesiredResource> =
        target.desired.resources.iter().filter(|r| target.stages.contains(&r.stage) && !missing(r)).cloned().collect();
    match live::plan(arm, &resources, PLAN_PARALLELISM, &Discard).await {
        Ok(plan) => (Writes::of(&plan), None),
        Err(e) => (
            Writes::All,
            Some(Finding::warning(
                Check::Permissions,
                format!(
                    "the live plan could not be read ({e}); the rights are checked as if every resource were written"
                ),
                "give the deploying principal Reader on the resource groups to check only what would change",
            )),
        ),
    }
}

/// The scale set's subnet, when the scale set is deployed: the findings, and its id when it does
/// not exist.
async fn subnet_findings(arm: &ArmClient, target: &Target<'_>) -> (Vec<Finding>, Option<String>) {
    let Some(spec) = target.parameters.scale_set.as_ref().filter(|_| target.stages.contains(&Stage::ScaleSet)) else {
        return (Vec::new(), None);
    };
    let read = arm.get(&spec.subnet_id, crate::resources::subnet::KIND.api_version).await.map_err(|e| e.to_string());
    let nat = target.desired.find(&crate::resources::nat_gateway::KIND).map(|n| n.id.as_str());
    let missing = matches!(read, Ok(None)).then(|| spec.subnet_id.clone());
    (network::check(&spec.subnet_id, &read, nat), missing)
}

fn provider_findings(facts: &reads::Facts, target: &Target<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (namespace, needed_by) in providers::REQUIRED {
        match facts.providers.get(*namespace) {
            Some(Ok(provider)) => {
                findings.extend(providers::registration(namespace, needed_by, provider.as_ref(), target.subscription));
            }
            Some(Err(why)) => findings.push(Finding::warning(
                Check::Providers,
                format!("the registration of {namespace} could not be read ({why}); it was not checked"),
                format!("check it with `az provider show --namespace {namespace} --query registrationState`"),
            )),
            None => {}
        }
    }
    if let Some(Ok(Some(image_builder))) = facts.providers.get(providers::IMAGE_BUILDER) {
        findings.extend(providers::image_builder_location(image_builder, &target.parameters.location));
    }
    findings
}

#[cfg(test)]
mod tests;
