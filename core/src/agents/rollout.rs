//! Replacing the idle agents still on an older image, never a busy one.
//!
//! After a new image version reaches the scale set's model (one PATCH of its image reference),
//! new machines boot it, but the machines already there keep theirs until they go. Agentpool asks
//! Azure DevOps to delete the idle ones on another image (node state `pendingDelete`); Azure
//! DevOps deletes the machine and, to keep its standby count, makes a new one from the model. A
//! node running a job is never asked: it is recycled after its job when the pool recycles
//! after each use, or replaced by a later rollout.
//!
//! Caveats: `pendingReimage` would keep the machine, but reimaging a Uniform scale set's
//! instance restores the image of the instance's own model, not the scale set's latest, so it
//! would not roll anything. A node whose state changes between the read and the request (a job
//! lands on it) is Azure DevOps' to settle: it marks a busy node `assignedPendingDelete` and
//! deletes it after the job.

use super::status::AgentView;

/// The node state that asks Azure DevOps to delete a node's machine.
pub const REPLACE: &str = "pendingDelete";

/// The agents to replace: idle, on a machine whose image is not `model_image`.
pub fn to_replace<'a>(agents: &'a [AgentView], model_image: &str) -> Vec<&'a AgentView> {
    agents.iter().filter(|agent| agent.is_idle() && agent.runs_other_image(model_image)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: &str =
        "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images/i/versions/0.26339.11000";
    const NEW: &str =
        "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images/i/versions/0.26340.3600";

    fn agent(id: i64, state: &str, image: Option<&str>) -> AgentView {
        AgentView {
            node_id: id,
            name: format!("vmss-agents-sbx-linux_{id}"),
            state: state.to_owned(),
            agent_state: None,
            instance_id: Some(id.to_string()),
            image: image.map(str::to_owned),
            latest_model_applied: image.map(|i| i == NEW),
            since: None,
        }
    }

    #[test]
    fn only_idle_agents_on_another_image_are_replaced() {
        let agents = [
            agent(1, "idle", Some(OLD)),
            agent(2, "assigned", Some(OLD)),
            agent(3, "idle", Some(NEW)),
            agent(4, "startingAgent", Some(OLD)),
            agent(5, "idle", None),
            agent(6, "idle", Some(&OLD.to_uppercase())),
        ];
        let chosen: Vec<i64> = to_replace(&agents, NEW).iter().map(|a| a.node_id).collect();
        assert_eq!(chosen, [1, 6], "the busy one, the one on the new image, the one starting and the unknown stay");
    }
}
