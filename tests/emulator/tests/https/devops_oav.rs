//! Azure DevOps traffic recorded by the emulator, validated by oav against the official 7.1 swaggers
//! patched by [`agentpool_emulator::devops::write_oav_swagger`] (lists as `{count, value}`, as
//! azure-devops-rust-api's vsts-api-patcher does, and the bare-`?` overload paths oav cannot load dropped).
//!
//! What oav 4.0.3 does with the forms Microsoft's clients send, found here: it matches an exchange to an
//! operation by path and the `api-version` query value, so an exchange with `api-version=7.1-preview`
//! (azure_devops_rust_api 0.39), with the version only in `Accept`, or with the client's `//{org}` path
//! matches nothing and is skipped, not validated. The emulator records every exchange as sent; this test
//! validates such exchanges from a copy normalized for oav (`//` collapsed, the version moved to the query
//! as `7.1`: `agentpool_emulator::devops::swagger::normalize_for_oav`) and checks that oav skips the originals.
//!
//! Error answers are not in this traffic: the swaggers list only 200 for every operation (their errors are
//! tested in `devops.rs`); DELETE of a pool answers 204 where the swagger lists 200, so it is left out too.

use std::path::Path;

use agentpool_emulator::Config;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::devops_support::{basic, create_pool, eventually, nodes, pool_body, scale_set, SetSpec};
use crate::oav::run_oav;
use crate::support::{cleanup, oav, specs_dir, temp_dir, Harness};

/// Every Azure DevOps operation the emulator serves, with valid requests and `api-version=7.1` in the query.
async fn flow(h: &Harness) {
    let ok = |r: &crate::support::Reply| assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let set = scale_set(h, "rg-oav", "vmss", SetSpec::default()).await;
    let projects = h.ado(Method::GET, "/_apis/projects", None).await;
    ok(&projects);
    let project = projects.body["value"][0]["id"].as_str().unwrap().to_string();
    ok(&h.ado(Method::GET, &format!("/_apis/projects/{project}"), None).await);
    let endpoints =
        h.ado(Method::GET, "/platform/_apis/serviceendpoint/endpoints?endpointNames=sc-agents-sbx", None).await;
    ok(&endpoints);
    let endpoint = endpoints.body["value"][0]["id"].as_str().unwrap().to_string();
    ok(&h.ado(Method::GET, &format!("/platform/_apis/serviceendpoint/endpoints/{endpoint}"), None).await);

    let created = create_pool(h, "agents-oav", pool_body(h, &set, 3, 1).await).await;
    ok(&created);
    let id = created.body["agentPool"]["id"].as_i64().unwrap();
    let elastic = format!("/_apis/distributedtask/elasticpools/{id}");
    ok(&h.ado(Method::GET, "/_apis/distributedtask/elasticpools", None).await);
    ok(&h.ado(Method::GET, &elastic, None).await);
    ok(&h.ado(Method::PATCH, &elastic, Some(json!({"desiredIdle": 1, "maxCapacity": 4}))).await);
    ok(&h.ado(Method::GET, &format!("/_apis/distributedtask/pools?poolIds=1,{id}"), None).await);
    ok(&h.ado(Method::GET, &format!("/_apis/distributedtask/pools/{id}"), None).await);
    let queues = h.ado(Method::GET, &format!("/platform/_apis/distributedtask/queues?poolIds={id}"), None).await;
    ok(&queues);
    let queue = queues.body["value"][0]["id"].as_i64().unwrap();
    ok(&h.ado(Method::GET, &format!("/platform/_apis/distributedtask/queues/{queue}"), None).await);
    let nodes = crate::devops_support::eventually("a node", || async {
        let r = h.ado(Method::GET, &format!("{elastic}/nodes"), None).await;
        (r.body["count"] == 1).then_some(r)
    })
    .await;
    let node = nodes.body["value"][0]["id"].as_i64().unwrap();
    ok(&h.ado(Method::PATCH, &format!("{elastic}/nodes/{node}"), Some(json!({"state": "pendingDelete"}))).await);
    ok(&h.ado(Method::GET, &format!("{elastic}/logs?$top=10"), None).await);
}

/// Microsoft's Rust client against the emulator (its requests carry `api-version=7.1-preview` and `//contoso`),
/// and a read with the version only in `Accept`.
async fn client_flow(h: &Harness) {
    use azure_devops_rust_api::distributed_task::{self, models};
    let set = scale_set(h, "rg-oav-client", "vmss", SetSpec::default()).await;
    let project = h.project_id("platform").await;
    let endpoint = h.endpoint_id("platform", "sc-agents-sbx").await;
    let transport =
        azure_core::http::Transport::new(std::sync::Arc::new(crate::support::client(&h.ready().ca_file, true)));
    let client =
        distributed_task::ClientBuilder::new(azure_devops_rust_api::Credential::from_pat(h.ready().devops_pat.clone()))
            .endpoint(azure_core::http::Url::parse(&h.ready().arm_endpoint).unwrap())
            .transport(transport)
            .retry(azure_core::http::RetryOptions::none())
            .build();
    let mut pool = models::ElasticPool::new();
    pool.service_endpoint_id = Some(endpoint);
    pool.service_endpoint_scope = Some(project.clone());
    pool.azure_id = Some(set);
    pool.max_capacity = Some(2);
    pool.desired_idle = Some(0);
    pool.os_type = Some(models::elastic_pool::OsType::Linux);
    let pools = client.elasticpools_client();
    let created = pools.create("contoso", pool, "agents-client").project_id(project).await.expect("create");
    let id = created.elastic_pool.and_then(|e| e.pool_id).expect("pool id");
    pools.get("contoso", id).await.expect("get");
    pools.list("contoso").await.expect("list");
    let mut settings = models::ElasticPoolSettings::new();
    settings.desired_idle = Some(1);
    pools.update("contoso", settings, id).await.expect("update");
    client.elasticpoollogs_client().list("contoso", id).await.expect("logs");
    let pat = basic(&h.ready().devops_pat);
    let accept = [("Accept", "application/json;api-version=7.1-preview.1")];
    let url = format!("{}/_apis/distributedtask/elasticpools/{id}", h.org_url());
    assert_eq!(h.ado_with(Method::GET, &url, None, Some(&pat), &accept).await.status, StatusCode::OK);
}

fn normalized_copy(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let mut exchange: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        agentpool_emulator::devops::swagger::normalize_for_oav(&mut exchange);
        std::fs::write(to.join(path.file_name().unwrap()), exchange.to_string()).unwrap();
    }
}

/// The four swaggers, patched for oav into `dir`: `(name, patched path)`.
fn patched_specs(dir: &Path) -> Vec<(&'static str, std::path::PathBuf)> {
    let specs = specs_dir().join("vsts-rest-api-specs/specification");
    assert!(specs.is_dir(), "specs missing at {} (set AGENTPOOL_SPECS_DIR)", specs.display());
    [
        "distributedTask/7.1/elastic.json",
        "distributedTask/7.1/taskAgent.json",
        "serviceEndpoint/7.1/serviceEndpoint.json",
        "core/7.1/core.json",
    ]
    .into_iter()
    .map(|spec| (spec, agentpool_emulator::devops::write_oav_swagger(&specs.join(spec), dir).expect("patched swagger")))
    .collect()
}

fn operations(report: &Value) -> Vec<String> {
    report["passedOperationsList"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["operationIds"].as_array().cloned().unwrap_or_default())
        .filter_map(|o| o.as_str().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn azure_devops_traffic_passes_oav() {
    assert!(oav().exists(), "oav missing at {} (run `npm ci` in tests/node)", oav().display());
    let (traffic, sent, normalized, specs, reports) = (
        temp_dir("devops-oav"),
        temp_dir("devops-oav-sent"),
        temp_dir("devops-oav-normalized"),
        temp_dir("devops-oav-specs"),
        temp_dir("devops-oav-reports"),
    );
    for (dir, client) in [(&traffic, false), (&sent, true)] {
        let mut config = Config::for_tests();
        config.traffic_dir = Some(dir.to_path_buf());
        config.devops.node_ms = 600_000;
        let h = Harness::start(config).await;
        if client {
            client_flow(&h).await
        } else {
            flow(&h).await
        }
        h.stop().await;
    }
    std::fs::remove_file(
        std::fs::read_dir(&traffic)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.to_string_lossy().contains("-PUT-"))
            .unwrap(),
    )
    .unwrap();
    std::fs::remove_file(
        std::fs::read_dir(&sent)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.to_string_lossy().contains("-PUT-"))
            .unwrap(),
    )
    .unwrap();
    normalized_copy(&sent, &normalized);
    let patched = patched_specs(&specs);

    let expected: [(&str, &[&str]); 4] = [
        (
            "elastic",
            &[
                "Elasticpools_Create",
                "Elasticpools_List",
                "Elasticpools_Get",
                "Elasticpools_Update",
                "Nodes_List",
                "Nodes_Update",
                "Elasticpoollogs_List",
            ],
        ),
        // oav 4.0.3 matches a request carrying an overload's key (`?poolIds=`, `?endpointNames=`) to the plain
        // operation of the path, whose answer schema is the same: the plain ones are what it validates.
        ("taskAgent", &["Pools_Get", "Pools_Get Agent Pools", "Queues_Get", "Queues_Get Agent Queues"]),
        ("serviceEndpoint", &["Endpoints_Get", "Endpoints_Get Service Endpoints"]),
        ("core", &["Projects_List", "Projects_Get"]),
    ];
    let mut failures = Vec::new();
    for (i, ((spec, path), (_, wanted))) in patched.iter().zip(expected).enumerate() {
        let report = run_oav(&traffic, path, &reports.join(format!("{i}.json")));
        let passed = operations(&report);
        if !report["errors"].as_array().is_some_and(Vec::is_empty) || report["failedOperations"] != 0 {
            failures.push(format!("{spec}: errors {}", report["errors"]));
        }
        for op in wanted.iter().filter(|op| !passed.contains(&op.to_string())) {
            failures.push(format!("{spec}: {op} not validated (passed: {passed:?})"));
        }
    }
    let elastic = &patched[0].1;
    let as_sent = run_oav(&sent, elastic, &reports.join("sent.json"));
    if as_sent["coveredOperations"] != 0 {
        failures.push(format!("oav matched an exchange it was expected to skip: {}", as_sent["passedOperationsList"]));
    }
    let report = run_oav(&normalized, elastic, &reports.join("normalized.json"));
    let passed = operations(&report);
    if !report["errors"].as_array().is_some_and(Vec::is_empty) || passed.len() < 5 {
        failures.push(format!("the client's traffic, normalized: passed {passed:?}, errors {}", report["errors"]));
    }
    assert!(failures.is_empty(), "oav:\n{}", failures.join("\n"));
    cleanup(&[&traffic, &sent, &normalized, &specs, &reports]);
}

/// The control: an idle node's `agentState` is `"enabled, online"` on the wire (a flags enum), which the
/// swagger's single-value enum refuses: oav reports that, and nothing else, for a recorded idle node list.
#[tokio::test]
async fn oav_flags_the_agent_state_the_swagger_cannot_express() {
    assert!(oav().exists(), "oav missing at {} (run `npm ci` in tests/node)", oav().display());
    let (traffic, specs, reports) =
        (temp_dir("devops-oav-flags"), temp_dir("devops-oav-flags-specs"), temp_dir("devops-oav-flags-reports"));
    let mut config = Config::for_tests();
    config.traffic_dir = Some(traffic.clone());
    config.devops.node_ms = 20;
    let h = Harness::start(config).await;
    let set = scale_set(&h, "rg-flags", "vmss", SetSpec::default()).await;
    let pool =
        create_pool(&h, "agents", pool_body(&h, &set, 1, 1).await).await.body["agentPool"]["id"].as_i64().unwrap();
    eventually("an idle node", || async { nodes(&h, pool).await.iter().any(|n| n["state"] == "idle").then_some(()) })
        .await;
    h.stop().await;
    let elastic = &patched_specs(&specs)[0].1;
    let report = run_oav(&traffic, elastic, &reports.join("flags.json"));
    let errors = report["errors"].as_array().cloned().unwrap_or_default();
    assert!(!errors.is_empty(), "{report}");
    for error in &errors {
        let (code, operation) = (error["errorCode"].as_str(), error["operationId"].as_str());
        assert_eq!((code, operation), (Some("ENUM_MISMATCH"), Some("Nodes_List")), "only the flags value: {error}");
        assert!(error["errorMessage"].as_str().is_some_and(|m| m.contains("enabled, online")), "{error}");
    }
    cleanup(&[&traffic, &specs, &reports]);
}
