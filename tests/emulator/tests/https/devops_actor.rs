//! Azure DevOps acting on the scale sets of its elastic pools, as seen through the scale set, the nodes,
//! the pool logs and the actor's journal; and the pool surviving a restart with `--state-file`.

use agentpool_emulator::kinds::scale_sets;
use agentpool_emulator::Config;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::devops_support::{create_pool, eventually, nodes, pool_body, scale_set, scale_set_body, SetSpec};
use crate::support::{temp_dir, Harness};

fn quick() -> Config {
    let mut config = Config::for_tests();
    config.devops.node_ms = 40;
    config
}

fn states(nodes: &[Value]) -> Vec<String> {
    nodes.iter().map(|n| n["state"].as_str().unwrap().to_string()).collect()
}

async fn logs(h: &Harness, pool: i64) -> Vec<Value> {
    let r = h.ado(Method::GET, &format!("/_apis/distributedtask/elasticpools/{pool}/logs"), None).await;
    r.body["value"].as_array().unwrap().clone()
}

async fn idle_count(h: &Harness, pool: i64, count: usize) -> Vec<Value> {
    eventually(&format!("{count} idle nodes"), || async {
        let all = nodes(h, pool).await;
        (all.iter().filter(|n| n["state"] == "idle").count() == count && all.len() == count).then_some(all)
    })
    .await
}

#[tokio::test]
async fn the_actor_configures_the_set_and_keeps_the_standby_count() {
    let h = Harness::start(quick()).await;
    let set = scale_set(&h, "rg-actor", "vmssagents", SetSpec::default()).await;
    let r = create_pool(&h, "agents-sbx-linux", pool_body(&h, &set, 4, 2).await).await;
    let pool = r.body["agentPool"]["id"].as_i64().unwrap();
    let idle = idle_count(&h, pool, 2).await;

    let body = scale_set_body(&h, &set);
    assert_eq!(body["tags"]["__AzureDevOpsElasticPool"], "agents-sbx-linux");
    assert!(body["tags"]["__AzureDevOpsElasticPoolTimeStamp"].as_str().unwrap().ends_with('M'), "{}", body["tags"]);
    assert_eq!(body["tags"]["environment"], "sbx", "other tags stay");
    assert_eq!(
        (&body["properties"]["overprovision"], &body["properties"]["upgradePolicy"]["mode"]),
        (&json!(false), &json!("Manual"))
    );
    let extensions = body["properties"]["virtualMachineProfile"]["extensionProfile"]["extensions"].as_array().unwrap();
    let agent =
        extensions.iter().find(|e| e["name"] == "Microsoft.Azure.DevOps.Pipelines.Agent").expect("agent extension");
    assert_eq!(
        (&agent["properties"]["publisher"], &agent["properties"]["type"]),
        (&json!("Microsoft.VisualStudio.Services"), &json!("TeamServicesAgentLinux"))
    );
    assert_eq!(body["sku"]["capacity"], 2);

    let instances: Vec<String> =
        h.emulator.app().state.read(|s| scale_sets::instances(s, &set)).into_iter().map(|i| i.instance_id).collect();
    let mut computes: Vec<String> = idle.iter().map(|n| n["computeId"].as_str().unwrap().to_string()).collect();
    computes.sort();
    assert_eq!(computes, instances, "one node per instance");
    for node in &idle {
        assert_eq!(
            (node["agentState"].as_str(), node["computeState"].as_str()),
            (Some("enabled, online"), Some("healthy"))
        );
        assert!(node["agentId"].is_i64() && node["name"].as_str().unwrap().starts_with("vmssagents00000"), "{node}");
    }
    let pool_state = h.ado(Method::GET, &format!("/_apis/distributedtask/elasticpools/{pool}"), None).await.body;
    assert_eq!((pool_state["state"].as_str(), pool_state["desiredSize"].as_i64()), (Some("online"), Some(2)));
    let size = h.ado(Method::GET, &format!("/_apis/distributedtask/pools/{pool}"), None).await.body["size"].clone();
    assert_eq!(size, 2, "two agents registered");

    let messages: Vec<(String, String)> = logs(&h, pool)
        .await
        .iter()
        .map(|l| (l["operation"].as_str().unwrap().to_string(), l["message"].as_str().unwrap().to_string()))
        .collect();
    for expected in [
        ("configurationJob", "Updating virtual machine scaleset. Disabling overprovisioning."),
        (
            "configurationJob",
            "Updating virtual machine scaleset. Disabling virtual machine scale set automatic upgrade policy.",
        ),
        ("increaseCapacity", "Increasing capacity from 0 to 2."),
    ] {
        assert!(messages.iter().any(|(o, m)| o == expected.0 && m == expected.1), "{expected:?} in {messages:?}");
    }
    let top = h.ado(Method::GET, &format!("/_apis/distributedtask/elasticpools/{pool}/logs?$top=1"), None).await.body;
    assert_eq!(top["count"], 1);
    let actions = h.devops_admin(Method::GET, &format!("/actions?poolId={pool}"), None).await.body;
    let kinds: Vec<&str> = actions["value"].as_array().unwrap().iter().map(|a| a["action"].as_str().unwrap()).collect();
    for kind in ["tag", "overprovision", "upgradePolicy", "extension", "setCapacity"] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
    let filtered =
        h.ado(Method::GET, &format!("/_apis/distributedtask/elasticpools/{pool}/nodes?$state=idle"), None).await.body;
    assert_eq!(filtered["count"], 2);
    h.stop().await;
}

#[tokio::test]
async fn pending_delete_replaces_an_idle_node_and_waits_for_a_busy_one() {
    let h = Harness::start(quick()).await;
    let set = scale_set(&h, "rg-delete", "vmss", SetSpec::default()).await;
    let r = create_pool(&h, "agents", pool_body(&h, &set, 3, 1).await).await;
    let pool = r.body["agentPool"]["id"].as_i64().unwrap();
    let first = idle_count(&h, pool, 1).await.remove(0);
    let busy = first["id"].as_i64().unwrap();

    let job = h.devops_admin(Method::POST, "/jobs", Some(json!({"poolId": pool}))).await;
    assert_eq!((job.status, job.body["nodeId"].as_i64()), (StatusCode::OK, Some(busy)), "{:?}", job.body);
    let request = job.body["requestId"].as_i64().unwrap();
    let both = eventually("a standby node beside the busy one", || async {
        let all = nodes(&h, pool).await;
        (states(&all).iter().filter(|s| *s == "idle").count() == 1 && all.len() == 2).then_some(all)
    })
    .await;
    let assigned = both.iter().find(|n| n["id"] == busy).unwrap();
    assert_eq!(
        (assigned["state"].as_str(), assigned["agentState"].as_str()),
        (Some("assigned"), Some("enabled, online, assigned"))
    );
    assert_eq!(assigned["requestId"], request);
    let spare = both.iter().find(|n| n["id"] != busy).unwrap().clone();

    let node = |id: i64| format!("/_apis/distributedtask/elasticpools/{pool}/nodes/{id}");
    let r = h.ado(Method::PATCH, &node(busy), Some(json!({"state": "pendingDelete"}))).await;
    assert_eq!((r.status, r.body["state"].as_str()), (StatusCode::OK, Some("pendingDelete")), "{:?}", r.body);
    eventually("the busy node marked", || async {
        nodes(&h, pool).await.iter().any(|n| n["id"] == busy && n["state"] == "assignedPendingDelete").then_some(())
    })
    .await;

    let r = h.ado(Method::PATCH, &node(spare["id"].as_i64().unwrap()), Some(json!({"state": "PendingDelete"}))).await;
    assert_eq!(r.body["state"], "pendingDelete");
    let replaced = eventually("the idle node replaced", || async {
        let all = nodes(&h, pool).await;
        let fresh = all.iter().find(|n| n["id"] != busy && n["id"] != spare["id"] && n["state"] == "idle").cloned();
        (all.iter().all(|n| n["id"] != spare["id"])).then_some(fresh).flatten()
    })
    .await;
    assert_ne!(replaced["computeId"], spare["computeId"], "a new instance from the current model");
    let still = nodes(&h, pool).await;
    assert!(
        still.iter().any(|n| n["id"] == busy && n["state"] == "assignedPendingDelete"),
        "the busy node waits for its job"
    );

    let done = h.devops_admin(Method::POST, &format!("/jobs/{request}/finish"), None).await;
    assert_eq!(done.status, StatusCode::OK);
    eventually("the busy node gone after its job", || async {
        let all = nodes(&h, pool).await;
        (all.len() == 1 && all[0]["id"] == replaced["id"]).then_some(())
    })
    .await;
    let instances = h.emulator.app().state.read(|s| scale_sets::instances(s, &set));
    assert_eq!(
        instances.iter().map(|i| i.instance_id.clone()).collect::<Vec<_>>(),
        [replaced["computeId"].as_str().unwrap().to_string()]
    );
    let messages: Vec<String> =
        logs(&h, pool).await.iter().map(|l| l["message"].as_str().unwrap().to_string()).collect();
    assert!(messages.iter().filter(|m| m.starts_with("Decreasing capacity from")).count() >= 2, "{messages:?}");
    h.stop().await;
}

#[tokio::test]
async fn instances_the_pool_did_not_make_are_replaced() {
    let h = Harness::start(quick()).await;
    let set = scale_set(&h, "rg-foreign", "vmss", SetSpec { capacity: 2, windows: true, ..Default::default() }).await;
    let r = create_pool(&h, "agents-win", pool_body(&h, &set, 2, 1).await).await;
    assert_eq!(r.body["elasticPool"]["osType"], "windows", "the OS is the scale set's");
    let pool = r.body["agentPool"]["id"].as_i64().unwrap();
    let idle = idle_count(&h, pool, 1).await;
    assert!(
        !["0", "1"].contains(&idle[0]["computeId"].as_str().unwrap()),
        "the two machines there before were deleted"
    );
    let body = scale_set_body(&h, &set);
    let extensions = body["properties"]["virtualMachineProfile"]["extensionProfile"]["extensions"].as_array().unwrap();
    assert_eq!(extensions[0]["properties"]["type"], "TeamServicesAgent");
    let warning = logs(&h, pool).await.into_iter().find(|l| l["level"] == "warning").expect("a warning");
    assert_eq!(
        (warning["operation"].as_str(), warning["message"].as_str()),
        (Some("deleteVMs"), Some("Deleting 2 unhealthy machines."))
    );
    h.stop().await;
}

#[tokio::test]
async fn the_pool_survives_a_restart_with_a_state_file() {
    let dir = temp_dir("devops-state");
    let mut config = quick();
    config.state_file = Some(dir.join("state.json"));
    let h = Harness::start(config.clone()).await;
    let set = scale_set(&h, "rg-state", "vmss", SetSpec::default()).await;
    let body = pool_body(&h, &set, 2, 1).await;
    let pool = create_pool(&h, "agents", body.clone()).await.body["agentPool"]["id"].as_i64().unwrap();
    idle_count(&h, pool, 1).await;
    h.stop().await;

    let h = Harness::start(config).await;
    let r = h.ado(Method::GET, "/_apis/distributedtask/pools?poolName=agents", None).await;
    assert_eq!(r.body["value"][0]["id"], pool, "{:?}", r.body);
    assert_eq!(nodes(&h, pool).await.len(), 1, "its node too");
    assert_eq!(h.ado(Method::GET, "/_apis/projects", None).await.body["count"], 1, "seeding twice made nothing twice");
    let again = create_pool(&h, "agents", body).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "a script run twice sees the pool it made: {:?}", again.body);
    h.stop().await;
    crate::support::cleanup(&[&dir]);
}
