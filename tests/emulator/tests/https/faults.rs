//! Fault injection: determinism, kinds of faults, exempt routes, failed LROs that converge on re-PUT,
//! writes applied whose answer is lost.

use agentpool_emulator::faults::FaultSettings;
use agentpool_emulator::Config;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{client, read, Harness, AUTHZ_API, GALLERY_API, RG_API, STORAGE_API};

fn faulty(seed: u64) -> Config {
    let mut config = Config::for_tests();
    config.faults = FaultSettings {
        fault_seed: seed,
        rate_429: 0.2,
        rate_5xx: 0.2,
        rate_drop: 0.15,
        rate_slow: 0.1,
        rate_lost: 0.0,
        rate_lro_fail: 0.0,
        slow_ms: 5,
    };
    config
}

/// Outcomes of `n` sequential GETs over HTTP/1.1: the status code, or 0 for a dropped connection.
async fn outcomes(h: &Harness, n: usize) -> Vec<u16> {
    let http = client(&h.ready().ca_file, false);
    let url = h.url(&h.sub(&format!("/resourcegroups?api-version={RG_API}")));
    let mut out = Vec::new();
    for _ in 0..n {
        match http.get(&url).bearer_auth(&h.token).send().await {
            Ok(response) => {
                let status = response.status();
                let retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_string());
                let body = read(response).await.body;
                if status == StatusCode::TOO_MANY_REQUESTS {
                    assert_eq!(retry_after.as_deref(), Some("1"));
                    assert_eq!(body["error"]["code"], "SubscriptionRequestsThrottled");
                }
                if status.is_server_error() {
                    assert!(body["error"]["code"].is_string());
                }
                out.push(status.as_u16());
            }
            Err(e) => {
                assert!(!e.is_timeout(), "{e}");
                out.push(0);
            }
        }
    }
    out
}

#[tokio::test]
async fn same_seed_same_faults() {
    let a = Harness::start(faulty(7)).await;
    let b = Harness::start(faulty(7)).await;
    let (sa, sb) = (outcomes(&a, 40).await, outcomes(&b, 40).await);
    assert_eq!(sa, sb);
    for expected in [0, 200, 429] {
        assert!(sa.contains(&expected), "{expected} missing from {sa:?}");
    }
    assert!(sa.iter().any(|s| *s == 500 || *s == 503), "{sa:?}");

    // Restarting the sequence at runtime replays it; a different seed does not.
    let r = a.admin(Method::POST, "/faults", Some(json!({"seed": 7}))).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(outcomes(&a, 40).await, sa);
    a.admin(Method::POST, "/faults", Some(json!({"seed": 8}))).await;
    assert_ne!(outcomes(&a, 40).await, sa);
    let r = a.admin(Method::POST, "/faults", Some(json!({"rate429": 2.0}))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn token_and_admin_routes_are_never_faulted() {
    let mut config = Config::for_tests();
    config.faults.rate_429 = 1.0;
    let h = Harness::start(config).await;
    for _ in 0..5 {
        h.token_for("https://management.azure.com/.default").await;
        assert_eq!(h.admin(Method::GET, "/health", None).await.status, StatusCode::OK);
    }
    let r = h.get(&h.sub(&format!("/resourcegroups?api-version={RG_API}"))).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    h.stop().await;
}

#[tokio::test]
async fn failed_lros_converge_on_a_new_put() {
    let h = Harness::default().await;
    let rg = h.sub("/resourceGroups/rg");
    h.put(&format!("{rg}?api-version={RG_API}"), json!({"location": "westeurope"})).await;
    h.admin(Method::POST, "/faults", Some(json!({"rateLroFail": 1.0}))).await;

    let gallery = format!("{rg}/providers/Microsoft.Compute/galleries/gal?api-version={GALLERY_API}");
    let r = h.put(&gallery, json!({"location": "westeurope"})).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let status = h.wait_async_operation(&r.header("azure-asyncoperation").unwrap()).await;
    assert_eq!(status["status"], "Failed");
    assert_eq!(status["error"]["code"], "OperationFailed");
    assert!(status["error"]["message"].is_string());
    assert_eq!(h.get(&gallery).await.body["properties"]["provisioningState"], "Failed");

    let account = format!("{rg}/providers/Microsoft.Storage/storageAccounts/agentpoolsa?api-version={STORAGE_API}");
    let body = json!({"sku": {"name": "Standard_LRS"}, "kind": "StorageV2", "location": "westeurope"});
    let r = h.put(&account, body.clone()).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let done = h.wait_location(&r.header("location").unwrap()).await;
    assert_eq!((done.status, done.code()), (StatusCode::CONFLICT, "OperationFailed"));
    assert_eq!(h.get(&account).await.status, StatusCode::NOT_FOUND);

    h.admin(Method::POST, "/faults", Some(json!({"rateLroFail": 0.0}))).await;
    let r = h.put(&gallery, json!({"location": "westeurope"})).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(h.wait_async_operation(&r.header("azure-asyncoperation").unwrap()).await["status"], "Succeeded");
    assert_eq!(h.get(&gallery).await.body["properties"]["provisioningState"], "Succeeded");
    let r = h.put(&account, body).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert_eq!(h.wait_location(&r.header("location").unwrap()).await.status, StatusCode::OK);
    h.stop().await;
}

/// The status of a PUT over HTTP/1.1, or 0 when the connection was dropped.
async fn put_status(h: &Harness, path: &str, body: &serde_json::Value) -> u16 {
    let http = client(&h.ready().ca_file, false);
    match http.put(h.url(path)).bearer_auth(&h.token).json(body).send().await {
        Ok(response) => response.status().as_u16(),
        Err(e) => {
            assert!(!e.is_timeout(), "{e}");
            0
        }
    }
}

#[tokio::test]
async fn a_lost_answer_hides_a_write_that_was_applied_and_reads_are_served() {
    let mut config = Config::for_tests();
    config.faults.fault_seed = 3;
    config.faults.rate_lost = 1.0;
    let h = Harness::start(config).await;
    let mut seen = Vec::new();
    for n in 0..12 {
        let rg = h.sub(&format!("/resourceGroups/rg-lost-{n}?api-version={RG_API}"));
        let status = put_status(&h, &rg, &json!({"location": "westeurope"})).await;
        assert!(matches!(status, 0 | 500 | 503), "the answer of write {n} was not lost: {status}");
        seen.push(status);
        // The write went through: a read (never lost) finds the group.
        let group = h.get(&rg).await;
        assert_eq!(group.status, StatusCode::OK, "group {n} was not created");
        assert_eq!(group.body["properties"]["provisioningState"], "Succeeded");
    }
    for expected in [0, 500, 503] {
        assert!(seen.contains(&expected), "{expected} missing from {seen:?}");
    }
    // Reads draw the fault too, and are served: only the writes count.
    assert_eq!(h.emulator.app().faults.injected().lost, 12);

    // A retried role assignment meets the assignment its first PUT made: the same one.
    let scope = h.sub("/resourceGroups/rg-lost-0");
    let assignment = format!(
        "{scope}/providers/Microsoft.Authorization/roleAssignments/5d3b9f1e-7c2a-4e6b-9d8f-0a1b2c3d4e5f?api-version={AUTHZ_API}"
    );
    let body = json!({"properties": {
        "roleDefinitionId": h.sub("/providers/Microsoft.Authorization/roleDefinitions/2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"),
        "principalId": "6f1c2b3a-4d5e-4f60-8a9b-0c1d2e3f4a5b",
        "principalType": "ServicePrincipal"
    }});
    assert!(matches!(put_status(&h, &assignment, &body).await, 0 | 500 | 503));
    h.admin(Method::POST, "/faults", Some(json!({"rateLost": 0.0}))).await;
    let retry = h.put(&assignment, body).await;
    assert!(retry.status.is_success(), "{retry:?}");
    let settings = h.admin(Method::GET, "/faults", None).await;
    assert_eq!(settings.body["rateLost"], 0.0);
    h.stop().await;
}
