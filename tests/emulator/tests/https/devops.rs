//! The emulated Azure DevOps' API as a client sees it: elastic pools created, read, listed and updated;
//! pools, queues, projects and service endpoints; every list as `{count, value}`; each refusal with Azure
//! DevOps' message, `typeKey` and status.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::devops_support::{create_pool, error, pool_body, scale_set, scale_set_body, SetSpec};
use crate::support::Harness;

fn is_list(body: &Value) -> bool {
    body["count"].as_u64() == body["value"].as_array().map(|v| v.len() as u64)
}

#[tokio::test]
async fn elastic_pools_are_created_read_listed_and_updated() {
    let h = Harness::default().await;
    let set = scale_set(&h, "rg-pools", "vmss-agents", SetSpec::default()).await;
    let project = h.project_id("platform").await;
    let r = create_pool(&h, "agents-sbx-linux", pool_body(&h, &set, 4, 1).await).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.header("content-type").as_deref(), Some("application/json; charset=utf-8; api-version=7.1"));
    let pool = &r.body["agentPool"];
    let id = pool["id"].as_i64().unwrap();
    assert!(id >= 10, "pools 1 and 2 are the organization's own");
    assert_eq!((pool["name"].as_str(), pool["options"].as_str()), (Some("agents-sbx-linux"), Some("elasticPool")));
    assert_eq!(
        (r.body["agentQueue"]["projectId"].as_str(), r.body["agentQueue"]["pool"]["id"].as_i64()),
        (Some(project.as_str()), Some(id))
    );
    let elastic = &r.body["elasticPool"];
    assert_eq!(
        (elastic["poolId"].as_i64(), elastic["state"].as_str(), elastic["osType"].as_str()),
        (Some(id), Some("new"), Some("linux"))
    );
    assert_eq!(elastic["orchestrationType"], "uniform");
    assert!(elastic["offlineSince"].is_string());
    assert_eq!(scale_set_body(&h, &set)["tags"]["__AzureDevOpsElasticPool"], "agents-sbx-linux", "tagged at once");

    let got = h.ado(Method::GET, &format!("/_apis/distributedtask/elasticpools/{id}"), None).await;
    assert_eq!((got.status, &got.body["azureId"]), (StatusCode::OK, &json!(set)));
    let list = h.ado(Method::GET, "/_apis/distributedtask/elasticpools", None).await;
    assert!(is_list(&list.body) && list.body["count"] == 1, "{:?}", list.body);

    let patched = h
        .ado(Method::PATCH, &format!("/_apis/distributedtask/elasticpools/{id}"), Some(json!({"desiredIdle": 2})))
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{:?}", patched.body);
    assert_eq!(
        (patched.body["desiredIdle"].as_i64(), patched.body["maxCapacity"].as_i64()),
        (Some(2), Some(4)),
        "only the field sent"
    );
    assert_eq!(
        (patched.body["timeToLiveMinutes"].as_i64(), patched.body["state"].as_str()),
        (Some(30), Some("online"))
    );
    assert!(patched.body.get("offlineSince").is_none());

    let pools = h.ado(Method::GET, "/_apis/distributedtask/pools?poolName=AGENTS-SBX-LINUX", None).await;
    assert!(is_list(&pools.body) && pools.body["value"][0]["id"] == id, "{:?}", pools.body);
    let by_ids = h.ado(Method::GET, &format!("/_apis/distributedtask/pools?poolIds=1,{id}"), None).await;
    assert_eq!(by_ids.body["count"], 2);
    assert_eq!(
        h.ado(Method::GET, &format!("/_apis/distributedtask/pools/{id}"), None).await.body["name"],
        "agents-sbx-linux"
    );
    let queues = h.ado(Method::GET, "/platform/_apis/distributedtask/queues?queueName=agents-sbx-linux", None).await;
    assert!(is_list(&queues.body) && queues.body["value"][0]["pool"]["id"] == id, "{:?}", queues.body);
    let queue = queues.body["value"][0]["id"].as_i64().unwrap();
    assert_eq!(
        h.ado(Method::GET, &format!("/platform/_apis/distributedtask/queues/{queue}"), None).await.status,
        StatusCode::OK
    );
    let all = h.ado(Method::GET, "/platform/_apis/distributedtask/queues", None).await;
    assert_eq!(all.body["count"], 3, "Default, Azure Pipelines and the new one: {:?}", all.body);

    let deleted = h.ado(Method::DELETE, &format!("/_apis/distributedtask/pools/{id}"), None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let gone = h.ado(Method::GET, &format!("/_apis/distributedtask/elasticpools/{id}"), None).await;
    assert_eq!(
        (gone.status, error(&gone)),
        (
            StatusCode::NOT_FOUND,
            (format!("Elastic pool not found with pool id {id}").as_str(), "ElasticPoolDoesNotExistException")
        )
    );
    assert!(scale_set_body(&h, &set)["tags"].get("__AzureDevOpsElasticPool").is_none(), "released");
    let r = h.ado(Method::DELETE, &format!("/_apis/distributedtask/pools/{id}"), None).await;
    assert_eq!((r.status, error(&r).1), (StatusCode::NOT_FOUND, "TaskAgentPoolNotFoundException"));
    h.stop().await;
}

#[tokio::test]
async fn projects_and_service_endpoints() {
    let h = Harness::default().await;
    let r = h.ado(Method::GET, "/_apis/projects", None).await;
    assert!(is_list(&r.body) && r.body["value"][0]["name"] == "platform", "{:?}", r.body);
    let id = r.body["value"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(h.ado(Method::GET, &format!("/_apis/projects/{id}"), None).await.body["name"], "platform");
    let r = h.ado(Method::GET, "/_apis/projects/7d0f3a1e-0000-4000-8000-000000000001", None).await;
    assert_eq!((r.status, error(&r)), (StatusCode::NOT_FOUND, ("VS800075: The project with id '7d0f3a1e-0000-4000-8000-000000000001' does not exist, or you do not have permission to access it.", "ProjectDoesNotExistException")));

    let r = h
        .ado(Method::GET, "/platform/_apis/serviceendpoint/endpoints?endpointNames=SC-AGENTS-SBX&type=azurerm", None)
        .await;
    assert!(is_list(&r.body) && r.body["count"] == 1, "{:?}", r.body);
    let endpoint = &r.body["value"][0];
    assert_eq!(
        (endpoint["type"].as_str(), endpoint["authorization"]["scheme"].as_str()),
        (Some("AzureRM"), Some("ServicePrincipal"))
    );
    assert_eq!(endpoint["data"]["subscriptionId"], json!(h.ready().subscription_id));
    assert_eq!(endpoint["authorization"]["parameters"]["tenantid"], json!(h.ready().tenant_id));
    let endpoint_id = endpoint["id"].as_str().unwrap().to_string();
    let r = h.ado(Method::GET, &format!("/{id}/_apis/serviceendpoint/endpoints/{endpoint_id}"), None).await;
    assert_eq!(r.body["name"], "sc-agents-sbx", "the project segment may be the id");
    let r = h.ado(Method::GET, "/platform/_apis/serviceendpoint/endpoints?endpointNames=nope", None).await;
    assert_eq!(r.body, json!({"count": 0, "value": []}));
    let r = h.ado(Method::GET, "/nope/_apis/serviceendpoint/endpoints?endpointNames=x", None).await;
    assert_eq!((r.status, error(&r).1), (StatusCode::NOT_FOUND, "ProjectDoesNotExistWithNameException"));
    h.stop().await;
}

/// Each refusal of a creation, in Azure DevOps' words; none leaves a pool behind.
#[tokio::test]
async fn creation_refusals() {
    let h = Harness::default().await;
    let set = scale_set(&h, "rg-refusals", "vmss-a", SetSpec::default()).await;
    let other = scale_set(&h, "rg-refusals", "vmss-b", SetSpec::default()).await;
    let flexible = scale_set(&h, "rg-refusals", "vmss-flex", SetSpec { flexible: true, ..Default::default() }).await;
    let body = pool_body(&h, &set, 4, 1).await;
    assert_eq!(create_pool(&h, "agents-a", body.clone()).await.status, StatusCode::OK);
    let project = h.project_id("platform").await;
    let generic = h
        .devops_admin(
            Method::POST,
            "/serviceendpoints",
            Some(json!({"project": "platform", "name": "sc-generic", "type": "Generic"})),
        )
        .await;
    let generic = generic.body["id"].as_str().unwrap().to_string();
    let with = |changes: Value| {
        let mut b = pool_body_like(&body, &other);
        for (k, v) in changes.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    let missing_set = set.replace("vmss-a", "vmss-missing");
    let missing_group = set.replace("rg-refusals", "rg-missing");
    let cases: Vec<(&str, Value, StatusCode, String, &str)> = vec![
        ("agents-a", with(json!({})), StatusCode::CONFLICT, "Agent pool agents-a already exists.".into(), "TaskAgentQueueExistsException"),
        ("agents-b", with(json!({"serviceEndpointId": "11111111-2222-4333-8444-555555555555"})), StatusCode::NOT_FOUND,
            format!("No Service Endpoint found with Id 11111111-2222-4333-8444-555555555555 and Scope {project}"), "ServiceEndpointDoesNotExistException"),
        ("agents-b", with(json!({"serviceEndpointId": generic})), StatusCode::BAD_REQUEST,
            format!("Invalid Service Endpoint with Id {generic} and Scope {project}"), "InvalidServiceEndpointException"),
        ("agents-b", with(json!({"azureId": missing_set})), StatusCode::INTERNAL_SERVER_ERROR,
            "The Resource 'Microsoft.Compute/virtualMachineScaleSets/vmss-missing' under resource group 'rg-refusals' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix".into(), "CloudException"),
        ("agents-b", with(json!({"azureId": missing_group})), StatusCode::INTERNAL_SERVER_ERROR,
            "Resource group 'rg-missing' could not be found.".into(), "CloudException"),
        ("agents-b", with(json!({"azureId": flexible})), StatusCode::BAD_REQUEST,
            format!("The virtual machine scale set {flexible} uses Flexible orchestration. Scale set agent pools support Uniform orchestration only."), "ArgumentException"),
        ("agents-b", with(json!({"azureId": set})), StatusCode::CONFLICT,
            "The scale set can not be assigned to pool agents-b as it is already in use by pool agents-a.".into(), "VirtualMachineScaleSetAlreadyTaggedForUseException"),
        ("agents-b", with(json!({"desiredIdle": 5})), StatusCode::BAD_REQUEST,
            "The value 5 is outside of the allowed range.\r\nParameter name: DesiredIdle\r\nActual value was 5.".into(), "ArgumentOutOfRangeException"),
        ("agents-b", with(json!({"serviceEndpointScope": "00000000-0000-0000-0000-000000000000"})), StatusCode::BAD_REQUEST,
            "The guid specified for parameter ServiceEndpointScope must not be Guid.Empty.\r\nParameter name: ServiceEndpointScope".into(), "ArgumentException"),
    ];
    for (name, body, status, message, key) in cases {
        let r = create_pool(&h, name, body).await;
        assert_eq!((r.status, error(&r)), (status, (message.as_str(), key)), "{name}: {:?}", r.body);
        assert_eq!(r.body["$id"], "1");
        assert_eq!((r.body["errorCode"].as_i64(), r.body["eventId"].as_i64()), (Some(0), Some(3000)));
    }
    let r = h.ado(Method::POST, "/_apis/distributedtask/elasticpools?poolName=agents-c", Some(with(json!({})))).await;
    assert_eq!(r.status, StatusCode::OK, "no project: a pool without queue: {:?}", r.body);
    assert!(r.body.get("agentQueue").is_none());
    let r = h.ado(Method::POST, "/_apis/distributedtask/elasticpools?poolName=agents-a", Some(with(json!({})))).await;
    assert_eq!(error(&r), ("Agent pool agents-a already exists.", "TaskAgentPoolExistsException"));
    let r = h
        .ado(
            Method::POST,
            &format!("/_apis/distributedtask/elasticpools?projectId={}", h.project_id("platform").await),
            Some(with(json!({}))),
        )
        .await;
    assert_eq!(
        (r.status, error(&r)),
        (StatusCode::BAD_REQUEST, ("Value cannot be null.\r\nParameter name: poolName", "ArgumentNullException"))
    );
    let r = h
        .ado(
            Method::POST,
            "/_apis/distributedtask/elasticpools?poolName=agents-d&projectId=7d0f3a1e-0000-4000-8000-000000000001",
            Some(with(json!({}))),
        )
        .await;
    assert_eq!((r.status, error(&r).1), (StatusCode::NOT_FOUND, "ProjectDoesNotExistException"));
    let pools = h.ado(Method::GET, "/_apis/distributedtask/pools?poolName=agents-b", None).await;
    assert_eq!(pools.body["count"], 0, "a refused creation leaves no pool");
    h.stop().await;
}

fn pool_body_like(body: &Value, azure_id: &str) -> Value {
    let mut b = body.clone();
    b["azureId"] = json!(azure_id);
    b
}

#[tokio::test]
async fn update_and_node_refusals() {
    let h = Harness::default().await;
    let set = scale_set(&h, "rg-update", "vmss", SetSpec::default()).await;
    let other = scale_set(&h, "rg-update", "vmss-next", SetSpec::default()).await;
    let r = create_pool(&h, "agents", pool_body(&h, &set, 4, 0).await).await;
    let id = r.body["agentPool"]["id"].as_i64().unwrap();
    let path = format!("/_apis/distributedtask/elasticpools/{id}");
    let r = h.ado(Method::PATCH, &path, Some(json!({"desiredIdle": 9}))).await;
    assert_eq!((r.status, error(&r)), (StatusCode::BAD_REQUEST, ("DesiredIdle has an invalid value. Valid range is from 0 to the maximum number of virtual machines in the scale set", "ArgumentException")));
    let r = h.ado(Method::PATCH, &path, Some(json!({"maxCapacity": -1}))).await;
    assert_eq!(error(&r).0, "MaxCapacity has an invalid value. Valid range is from 0 to the maximum number of virtual machines in the scale set");
    let r = h.ado(Method::PATCH, "/_apis/distributedtask/elasticpools/999", Some(json!({"desiredIdle": 1}))).await;
    assert_eq!((r.status, error(&r).1), (StatusCode::NOT_FOUND, "ElasticPoolDoesNotExistException"));
    let r = h.ado(Method::PATCH, &format!("{path}/nodes/1"), Some(json!({"state": "pendingReimage"}))).await;
    assert_eq!(
        (r.status, error(&r)),
        (
            StatusCode::BAD_REQUEST,
            ("Elastic node state can only be updated to PendingDelete\r\nParameter name: State", "ArgumentException")
        )
    );
    let r = h.ado(Method::PATCH, &format!("{path}/nodes/77"), Some(json!({"state": "pendingDelete"}))).await;
    assert_eq!((r.status, &r.body), (StatusCode::OK, &Value::Null), "an unknown node: nothing found");
    let r = h.ado(Method::GET, "/_apis/distributedtask/elasticpools/999/nodes", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    let moved = h.ado(Method::PATCH, &path, Some(json!({"azureId": other}))).await;
    assert_eq!((moved.status, &moved.body["azureId"]), (StatusCode::OK, &json!(other)), "{:?}", moved.body);
    assert!(scale_set_body(&h, &set)["tags"].get("__AzureDevOpsElasticPool").is_none(), "the old set is released");
    assert_eq!(scale_set_body(&h, &other)["tags"]["__AzureDevOpsElasticPool"], "agents");
    let r = h.ado(Method::PUT, &path, Some(json!({}))).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    h.stop().await;
}
