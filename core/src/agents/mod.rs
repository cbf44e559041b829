//! The agents of a scale-set pool: which image each one runs, and replacing the idle ones still
//! on an older image.
//!
//! Azure DevOps knows the agents (nodes, with their state); the scale set knows what each machine
//! runs (its instance's image reference, and whether it has the scale set's latest model). A node
//! names its instance by `computeId`, the instance id, so [`status`] joins the two.

pub mod instances;
pub mod rollout;
pub mod status;

pub use instances::Instance;
pub use status::{AgentView, PoolStatus};
