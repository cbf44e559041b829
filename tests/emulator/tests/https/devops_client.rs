//! Microsoft's Rust client, azure_devops_rust_api 0.39 (`distributed_task`, `core`, `service_endpoint`),
//! against the emulator: `ClientBuilder::endpoint` at the emulator, a transport trusting its CA, a PAT.
//! It sends `api-version=7.1-preview` in the query and `//{organization}/_apis/…` paths; it reads lists
//! as `{count, value}`.

use std::sync::Arc;

use agentpool_emulator::Config;
use azure_core::http::{RetryOptions, Transport, Url};
use azure_devops_rust_api::distributed_task::{self, models};
use azure_devops_rust_api::Credential;

use crate::devops_support::{eventually, nodes, scale_set, SetSpec};
use crate::support::{client, Harness};

fn distributed_task_client(h: &Harness) -> distributed_task::Client {
    let transport = Transport::new(Arc::new(client(&h.ready().ca_file, true)));
    distributed_task::ClientBuilder::new(Credential::from_pat(h.ready().devops_pat.clone()))
        .endpoint(Url::parse(&h.ready().arm_endpoint).expect("endpoint"))
        .transport(transport)
        .retry(RetryOptions::none())
        .build()
}

#[tokio::test]
async fn microsofts_client_creates_and_reads_an_elastic_pool() {
    let mut config = Config::for_tests();
    config.devops.node_ms = 30;
    let h = Harness::start(config).await;
    let set = scale_set(&h, "rg-client", "vmss", SetSpec::default()).await;
    let project = h.project_id("platform").await;
    let endpoint = h.endpoint_id("platform", "sc-agents-sbx").await;
    let client = distributed_task_client(&h);

    let mut pool = models::ElasticPool::new();
    pool.service_endpoint_id = Some(endpoint);
    pool.service_endpoint_scope = Some(project.clone());
    pool.azure_id = Some(set.clone());
    pool.max_capacity = Some(2);
    pool.desired_idle = Some(1);
    pool.os_type = Some(models::elastic_pool::OsType::Linux);
    pool.time_to_live_minutes = Some(30);
    let created = client
        .elasticpools_client()
        .create("contoso", pool, "agents-rust")
        .project_id(project.clone())
        .authorize_all_pipelines(true)
        .await
        .expect("create");
    let agent_pool = created.agent_pool.expect("agentPool");
    let id = agent_pool.task_agent_pool_reference.id.expect("pool id");
    assert_eq!(agent_pool.task_agent_pool_reference.name.as_deref(), Some("agents-rust"));
    assert_eq!(created.agent_queue.and_then(|q| q.project_id), Some(project));
    let elastic = created.elastic_pool.expect("elasticPool");
    assert_eq!((elastic.pool_id, elastic.state), (Some(id), Some(models::elastic_pool::State::New)));

    let got = client.elasticpools_client().get("contoso", id).await.expect("get");
    assert_eq!(got.azure_id.as_deref(), Some(set.as_str()));
    let list = client.elasticpools_client().list("contoso").await.expect("list");
    assert_eq!((list.count, list.value.len()), (Some(1), 1));

    let mut settings = models::ElasticPoolSettings::new();
    settings.max_capacity = Some(3);
    let updated = client.elasticpools_client().update("contoso", settings, id).await.expect("update");
    assert_eq!((updated.max_capacity, updated.desired_idle), (Some(3), Some(1)));
    assert_eq!(updated.state, Some(models::elastic_pool::State::Online));

    eventually("an idle node", || async {
        nodes(&h, i64::from(id)).await.iter().any(|n| n["state"] == "idle").then_some(())
    })
    .await;
    let logs = client.elasticpoollogs_client().list("contoso", id).await.expect("logs");
    assert!(logs.value.iter().any(|l| l.message.as_deref() == Some("Increasing capacity from 0 to 1.")), "{logs:?}");
    let pools = client.pools_client().get_agent_pools_by_ids("contoso", id.to_string()).await.expect("pools");
    assert_eq!(pools.count, Some(1));
    let named = client.pools_client().get_agent_pools("contoso").pool_name("agents-rust").await.expect("pools by name");
    assert_eq!(named.value[0].task_agent_pool_reference.id, Some(id));

    // Azure DevOps writes the flags enum ElasticAgentState as "enabled, online"; the client's model takes
    // single values (the swagger's enum), so it cannot read an idle node: a known gap of the generated
    // client (microsoft/azure-devops-rust-api#66 for another flags enum), reproduced here on purpose.
    let err = client.nodes_client().list("contoso", id).await.expect_err("flags are not a single enum value");
    assert!(format!("{err:?}").contains("enabled, online"), "{err:?}");
    h.stop().await;
}
