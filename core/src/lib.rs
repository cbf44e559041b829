//! agentpool-core: parameter files, desired state and plans for Azure build-agent images and
//! the Azure DevOps scale-set agent pools that run them.
//!
//! This crate knows nothing of terminals or Azure Pipelines logging commands; the `agentpool`
//! binary renders what it returns.

pub mod agents;
pub mod aib;
pub mod apply;
pub mod arm;
pub mod blob;
pub mod devops;
pub mod events;
pub mod image;
pub mod naming;
pub mod nat;
pub mod params;
pub mod plan;
pub mod preflight;
pub mod resources;
pub mod scripts;
pub mod secrets;
pub mod suggest;
pub mod version;

#[cfg(test)]
pub(crate) mod testing;
