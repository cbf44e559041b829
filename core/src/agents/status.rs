//! A pool's state as a person asks about it: is it online, how many agents, which image each
//! runs, and what Azure DevOps did lately.

use serde_json::Value;

use super::instances::Instance;
use crate::image::versions;

/// One agent: an Azure DevOps node and, when it has one, its scale set instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentView {
    pub node_id: i64,
    pub name: String,
    /// The node's state: `new`, `creatingCompute`, `startingAgent`, `idle`, `assigned`, …
    pub state: String,
    /// `enabled`, `online`, `assigned`, … when the node has an agent.
    pub agent_state: Option<String>,
    pub instance_id: Option<String>,
    /// The image reference its machine runs, when the instance was found.
    pub image: Option<String>,
    pub latest_model_applied: Option<bool>,
    /// When its state last changed.
    pub since: Option<String>,
}

impl AgentView {
    /// Idle: waiting for a job.
    pub fn is_idle(&self) -> bool {
        self.state == "idle"
    }

    /// Running a job.
    pub fn is_busy(&self) -> bool {
        matches!(self.state.as_str(), "assigned" | "assignedPendingDelete")
    }

    /// True when its machine is known to run another image than `model_image`.
    pub fn runs_other_image(&self, model_image: &str) -> bool {
        self.image.as_deref().is_some_and(|image| !image.eq_ignore_ascii_case(model_image))
    }

    /// The version its machine runs, for display.
    pub fn version(&self) -> &str {
        match self.image.as_deref() {
            Some(image) => versions::number_of(image).unwrap_or(image),
            None => "?",
        }
    }
}

/// The agents of `nodes` (Azure DevOps' `ElasticNode`s), each with the instance it names.
pub fn agents(nodes: &[Value], instances: &[Instance]) -> Vec<AgentView> {
    nodes
        .iter()
        .filter(|node| !matches!(node["state"].as_str(), Some("deleted")))
        .map(|node| {
            let text = |key: &str| node.get(key).and_then(Value::as_str).map(str::to_owned);
            let instance_id = text("computeId");
            let instance = instance_id.as_deref().and_then(|id| instances.iter().find(|i| i.instance_id == id));
            AgentView {
                node_id: node["id"].as_i64().unwrap_or_default(),
                name: text("name").unwrap_or_default(),
                state: text("state").unwrap_or_else(|| "none".to_owned()),
                agent_state: text("agentState"),
                instance_id,
                image: instance.map(|i| i.image.clone()),
                latest_model_applied: instance.map(|i| i.latest_model_applied),
                since: text("stateChangedOn"),
            }
        })
        .collect()
}

/// A pool, its agents and its recent log.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolStatus {
    pub name: String,
    pub id: i64,
    /// `online`, `offline`, `unhealthy`, `new`.
    pub state: String,
    pub model_image: Option<String>,
    pub agents: Vec<AgentView>,
    /// Newest first: `(time, level, operation, message)`.
    pub logs: Vec<(String, String, String, String)>,
}

impl PoolStatus {
    /// Agents whose machine runs another image than the model's.
    pub fn behind(&self) -> usize {
        match &self.model_image {
            Some(model) => self.agents.iter().filter(|a| a.runs_other_image(model)).count(),
            None => 0,
        }
    }

    /// Lines for a terminal: the pool, one line an agent, the log.
    pub fn lines(&self) -> Vec<String> {
        let model = self.model_image.as_deref().map(|m| versions::number_of(m).unwrap_or(m)).unwrap_or("?");
        let mut lines = vec![format!(
            "pool {} (id {}): {}, {} agents ({} idle, {} busy), {} on the model's image {model}, {} behind",
            self.name,
            self.id,
            self.state,
            self.agents.len(),
            self.agents.iter().filter(|a| a.is_idle()).count(),
            self.agents.iter().filter(|a| a.is_busy()).count(),
            self.agents.len() - self.behind(),
            self.behind()
        )];
        for agent in &self.agents {
            let since = agent.since.as_deref().map(|s| format!(" since {s}")).unwrap_or_default();
            let marker = match &self.model_image {
                Some(model) if agent.runs_other_image(model) => "  (behind the model)",
                _ => "",
            };
            lines.push(format!("  agent {} [{}]{}: image {}{marker}", agent.name, agent.state, since, agent.version()));
        }
        for (time, level, operation, message) in &self.logs {
            lines.push(format!("  log {time} {level} {operation}: {message}"));
        }
        lines
    }
}

/// The `(time, level, operation, message)` of Azure DevOps' `ElasticPoolLog`s.
pub fn log_lines(logs: &[Value]) -> Vec<(String, String, String, String)> {
    logs.iter()
        .map(|log| {
            let text = |key: &str| log.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
            (text("timestamp"), text("level"), text("operation"), text("message"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn nodes_are_joined_with_their_instances_by_compute_id() {
        let old = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images/i/versions/0.26339.11000";
        let new =
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images/i/versions/0.26340.3600";
        let nodes = [
            json!({"id": 7, "name": "vmss-agents-sbx-linux_0", "computeId": "0", "state": "idle", "agentState": "enabled", "stateChangedOn": "2026-12-06T04:00:00Z"}),
            json!({"id": 8, "name": "vmss-agents-sbx-linux_1", "computeId": "1", "state": "assigned", "agentState": "assigned"}),
            json!({"id": 9, "name": "vmss-agents-sbx-linux_2", "computeId": "2", "state": "deleted"}),
        ];
        let instance = |id: &str, image: &str| Instance {
            instance_id: id.into(),
            name: format!("vmss_{id}"),
            image: image.into(),
            latest_model_applied: image == new,
            power_state: Some("running".into()),
        };
        let agents = agents(&nodes, &[instance("0", old), instance("1", new)]);
        assert_eq!(agents.len(), 2, "a deleted node is no agent");
        assert_eq!((agents[0].version(), agents[0].latest_model_applied), ("0.26339.11000", Some(false)));
        let status = PoolStatus {
            name: "agents-sbx-linux".into(),
            id: 12,
            state: "online".into(),
            model_image: Some(new.into()),
            agents,
            logs: vec![("2026-12-06T04:00:01Z".into(), "info".into(), "increaseCapacity".into(), "+1".into())],
        };
        assert_eq!(status.behind(), 1);
        let lines = status.lines();
        assert_eq!(
            lines[0],
            "pool agents-sbx-linux (id 12): online, 2 agents (1 idle, 1 busy), 1 on the model's image 0.26340.3600, 1 behind"
        );
        assert_eq!(
            lines[1],
            "  agent vmss-agents-sbx-linux_0 [idle] since 2026-12-06T04:00:00Z: image 0.26339.11000  (behind the model)"
        );
        assert_eq!(lines[3], "  log 2026-12-06T04:00:01Z info increaseCapacity: +1");
    }
}
