//! `agentpool pool register|status`: the Azure DevOps scale-set agent pool over the scale set,
//! its agents, and rolling a new image onto the idle ones.

use std::time::{Duration, Instant};

use agentpool_core::agents::{instances, rollout, status, PoolStatus};
use agentpool_core::devops::client::Pool;
use agentpool_core::devops::DevOps;
use agentpool_core::events::{Event, EventSink};
use agentpool_core::params::model::AgentPool;
use agentpool_core::plan::{DesiredState, Stage};
use agentpool_core::resources::scale_set;

use crate::deploy::{self, Azure};
use crate::progress::Terminal;
use crate::Failure;

/// Log entries `pool status` shows.
const LOG_ENTRIES: i32 = 10;

fn devops_failure(error: agentpool_core::devops::DevOpsError) -> Failure {
    if error.is_usage() {
        Failure::Usage(error.to_string())
    } else {
        Failure::Operation(error.to_string())
    }
}

/// Creates the pool, or PATCHes the settings that differ (each printed); prints `poolId=`.
pub async fn register(azure: &Azure, devops: &DevOps, desired: &DesiredState) -> Result<Pool, Failure> {
    let Some(planned) = desired.find(&agentpool_core::resources::agent_pool::KIND) else {
        return Err(Failure::Usage(format!(
            "{} describes no agent pool — add the agentPool parameter",
            desired.parameters_file
        )));
    };
    crate::progress::note(format!("Azure DevOps: {} with {}", devops.organization().url(), devops.auth()));
    let converged = deploy::converge(devops, &azure.blobs, desired, Stage::Pool, None, 1).await?;
    converged.result("agent pool")?;
    let pool = devops.find_pool(&planned.name).await.map_err(devops_failure)?.ok_or_else(|| {
        Failure::Operation(format!("agent pool {} is not there after it was registered", planned.name))
    })?;
    crate::progress::output("poolId", pool.id);
    crate::progress::note(format!(
        "agent pool: {} of 1 changed, {} writes to Azure DevOps, {:.1} s",
        converged.report.written.len(),
        converged.report.written.len(),
        converged.report.elapsed.as_secs_f64()
    ));
    Ok(pool)
}

/// The pool, its agents with the image each runs, and its recent log.
pub async fn read_status(
    azure: &Azure,
    devops: &DevOps,
    spec: &AgentPool,
    scale_set_id: &str,
) -> Result<PoolStatus, Failure> {
    let pool = devops.find_pool(&spec.name).await.map_err(devops_failure)?.ok_or_else(|| {
        Failure::Usage(format!(
            "agent pool {} does not exist in {} — agentpool pool register creates it",
            spec.name,
            devops.organization().url()
        ))
    })?;
    let (nodes, logs) =
        futures::try_join!(devops.nodes(&pool), devops.logs(&pool, LOG_ENTRIES)).map_err(devops_failure)?;
    let arm = |e: agentpool_core::arm::ArmError| Failure::Operation(e.to_string());
    let (live, list) = futures::try_join!(
        azure.client.get(scale_set_id, scale_set::KIND.api_version),
        instances::list(&azure.client, scale_set_id)
    )
    .map_err(arm)?;
    Ok(PoolStatus {
        name: pool.name.clone(),
        id: pool.id,
        state: pool.elastic["state"].as_str().unwrap_or("?").to_owned(),
        model_image: live.as_ref().and_then(instances::model_image).map(str::to_owned),
        agents: status::agents(&nodes, &list),
        logs: status::log_lines(&logs),
    })
}

/// Reports the pool and its agents as an event (a task's summary shows them).
pub async fn report(azure: &Azure, devops: &DevOps, spec: &AgentPool, scale_set_id: &str) -> Result<(), Failure> {
    let status = read_status(azure, devops, spec, scale_set_id).await?;
    let agents = status.agents.iter().map(|a| (a.name.clone(), a.state.clone(), a.version().to_owned())).collect();
    Terminal.emit(Event::PoolState { name: status.name, id: status.id, state: status.state, agents });
    Ok(())
}

/// Prints the pool's status; with `wait_minutes`, first waits until every agent runs the scale
/// set's image and the standby agents are idle.
pub async fn show_status(
    azure: &Azure,
    devops: &DevOps,
    spec: &AgentPool,
    scale_set_id: &str,
    wait_minutes: Option<f64>,
) -> Result<(), Failure> {
    let deadline = wait_minutes.map(|m| Instant::now() + Duration::from_secs_f64(m * 60.0));
    loop {
        let status = read_status(azure, devops, spec, scale_set_id).await?;
        let idle = status.agents.iter().filter(|a| a.is_idle()).count();
        let settled = status.behind() == 0 && idle >= spec.desired_idle.min(spec.max_capacity) as usize;
        let waiting = deadline.is_some_and(|d| Instant::now() < d);
        if settled || !waiting {
            for line in status.lines() {
                println!("{line}");
            }
            return match (settled, deadline) {
                (false, Some(_)) => Err(Failure::Operation(format!(
                    "agent pool {}: {} agents behind the scale set's image, {idle} of {} standby agents idle after {} minutes",
                    spec.name,
                    status.behind(),
                    spec.desired_idle,
                    wait_minutes.unwrap_or_default()
                ))),
                _ => Ok(()),
            };
        }
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
}

/// Asks Azure DevOps to replace the idle agents whose machine runs another image than the scale
/// set's model; returns how many. A busy agent is never asked.
pub async fn roll_idle(azure: &Azure, devops: &DevOps, spec: &AgentPool, scale_set_id: &str) -> Result<usize, Failure> {
    let status = read_status(azure, devops, spec, scale_set_id).await?;
    let Some(model) = status.model_image.as_deref() else { return Ok(0) };
    let pool = devops
        .find_pool(&spec.name)
        .await
        .map_err(devops_failure)?
        .ok_or_else(|| Failure::Operation(format!("agent pool {} disappeared", spec.name)))?;
    let chosen = rollout::to_replace(&status.agents, model);
    for agent in &chosen {
        devops.set_node_state(&pool, agent.node_id, rollout::REPLACE).await.map_err(devops_failure)?;
        eprintln!(
            "↻ replacing idle agent {} (image {}): Azure DevOps deletes it and starts one on the scale set's image",
            agent.name,
            agent.version()
        );
    }
    let busy = status.agents.iter().filter(|a| a.is_busy() && a.runs_other_image(model)).count();
    eprintln!("roll: {} idle agents replaced, {busy} busy on an older image left to finish their jobs", chosen.len());
    Ok(chosen.len())
}
