//! Helpers of the Azure DevOps tests: calls with the PAT, a scale set to back pools, pool creation, polling.

#![allow(dead_code)]

use std::time::{Duration, Instant};

use agentpool_emulator::state::Resource;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use reqwest::Method;
use serde_json::{json, Value};

use crate::support::{read, Harness, Reply, RG_API};

/// The api-version the tests send unless they test versions.
pub const API: &str = "7.1";

/// `Basic base64(":PAT")`, as azure_devops_rust_api sends a PAT.
pub fn basic(pat: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!(":{pat}")))
}

impl Harness {
    /// `https://host:port/{organization}`.
    pub fn org_url(&self) -> String {
        self.ready().devops_url.clone()
    }

    /// An Azure DevOps call with the PAT; `path` is relative to the organization (`/_apis/...`) and gets
    /// `api-version=7.1` unless it names one.
    pub async fn ado(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        let url = versioned(&format!("{}{path}", self.org_url()));
        self.ado_with(method, &url, body, Some(&basic(&self.ready().devops_pat)), &[]).await
    }

    /// An Azure DevOps call with a given `Authorization` (or none) and extra headers.
    pub async fn ado_with(
        &self,
        method: Method,
        url: &str,
        body: Option<Value>,
        authorization: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut request = self.http.request(method, url);
        if let Some(authorization) = authorization {
            request = request.header("authorization", authorization);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        read(request.send().await.expect("request sent")).await
    }

    /// The project's id (`platform` by default).
    pub async fn project_id(&self, name: &str) -> String {
        let r = self.ado(Method::GET, &format!("/_apis/projects/{name}"), None).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        r.body["id"].as_str().unwrap().to_string()
    }

    /// The id of the project's service endpoint with this name.
    pub async fn endpoint_id(&self, project: &str, name: &str) -> String {
        let r = self
            .ado(Method::GET, &format!("/{project}/_apis/serviceendpoint/endpoints?endpointNames={name}"), None)
            .await;
        assert_eq!(r.body["count"], 1, "{:?}", r.body);
        r.body["value"][0]["id"].as_str().unwrap().to_string()
    }

    /// An admin call under `/_emulator/devops`.
    pub async fn devops_admin(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        self.admin(method, &format!("/devops{path}"), body).await
    }
}

fn versioned(url: &str) -> String {
    if url.contains("api-version=") {
        url.to_string()
    } else if url.contains('?') {
        format!("{url}&api-version={API}")
    } else {
        format!("{url}?api-version={API}")
    }
}

/// How a test scale set is made.
#[derive(Debug, Clone, Copy, Default)]
pub struct SetSpec {
    pub capacity: u64,
    pub windows: bool,
    pub flexible: bool,
}

/// Makes resource group `rg` through ARM and puts a scale set in it as the emulator stores one (a body
/// as Compute answers it, not yet made ready for Azure DevOps: overprovisioning on, automatic upgrades), so
/// the Azure DevOps side can be tested without depending on the scale set kind's request checks. Returns
/// the scale set id.
pub async fn scale_set(h: &Harness, rg: &str, name: &str, spec: SetSpec) -> String {
    let group = h.sub(&format!("/resourceGroups/{rg}"));
    let r = h.put(&format!("{group}?api-version={RG_API}"), json!({"location": "westeurope"})).await;
    assert!(r.status.is_success(), "{:?}", r.body);
    let id = format!("{group}/providers/Microsoft.Compute/virtualMachineScaleSets/{name}");
    let os = if spec.windows {
        json!({"computerNamePrefix": name, "adminUsername": "azureuser", "windowsConfiguration": {"provisionVMAgent": true}})
    } else {
        json!({"computerNamePrefix": name, "adminUsername": "azureuser", "linuxConfiguration": {"disablePasswordAuthentication": true}})
    };
    let body = json!({
        "id": id, "name": name, "type": "Microsoft.Compute/virtualMachineScaleSets", "location": "westeurope",
        "tags": {"environment": "sbx"},
        "sku": {"name": "Standard_D2ds_v5", "tier": "Standard", "capacity": 0},
        "properties": {
            "orchestrationMode": if spec.flexible { "Flexible" } else { "Uniform" },
            "singlePlacementGroup": true, "overprovision": true, "upgradePolicy": {"mode": "Automatic"},
            "platformFaultDomainCount": 1, "provisioningState": "Succeeded",
            "virtualMachineProfile": {
                "storageProfile": {
                    "imageReference": {"publisher": "Canonical", "offer": "ubuntu-24_04-lts", "sku": "server", "version": "latest"},
                    "osDisk": {"createOption": "FromImage", "caching": "ReadOnly", "osType": if spec.windows { "Windows" } else { "Linux" }}
                },
                "osProfile": os,
            }
        }
    });
    let app = h.emulator.app();
    app.state.write(|s| s.insert(Resource { kind: "virtualMachineScaleSets".into(), id: id.clone(), body }));
    if spec.capacity > 0 {
        app.state
            .write(|s| agentpool_emulator::kinds::scale_sets::set_capacity(s, &id, spec.capacity))
            .expect("capacity");
    }
    id
}

/// The scale set body as stored.
pub fn scale_set_body(h: &Harness, id: &str) -> Value {
    h.emulator.app().state.read(|s| s.get(id).map(|r| r.body.clone())).expect("scale set stored")
}

/// An `ElasticPool` creation body for the default endpoint and project.
pub async fn pool_body(h: &Harness, azure_id: &str, max: i64, idle: i64) -> Value {
    let project = h.project_id("platform").await;
    let endpoint = h.endpoint_id("platform", "sc-agents-sbx").await;
    json!({"serviceEndpointId": endpoint, "serviceEndpointScope": project, "azureId": azure_id,
        "maxCapacity": max, "desiredIdle": idle, "recycleAfterEachUse": false, "maxSavedNodeCount": 0,
        "osType": "linux", "agentInteractiveUI": false, "timeToLiveMinutes": 30})
}

/// POSTs an elastic pool named `name` in project `platform`; returns the creation result.
pub async fn create_pool(h: &Harness, name: &str, body: Value) -> Reply {
    let project = h.project_id("platform").await;
    let path = format!(
        "/_apis/distributedtask/elasticpools?poolName={name}&authorizeAllPipelines=true&autoProvisionProjectPools=false&projectId={project}"
    );
    h.ado(Method::POST, &path, Some(body)).await
}

/// Polls `probe` every 20 ms until it returns `Some`, for at most 10 s.
pub async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The pool's nodes.
pub async fn nodes(h: &Harness, pool: i64) -> Vec<Value> {
    let r = h.ado(Method::GET, &format!("/_apis/distributedtask/elasticpools/{pool}/nodes"), None).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body["value"].as_array().unwrap().clone()
}

/// The `$.message` of an Azure DevOps error and its `typeKey`.
pub fn error(r: &Reply) -> (&str, &str) {
    (r.body["message"].as_str().unwrap_or(""), r.body["typeKey"].as_str().unwrap_or(""))
}
