//! `--latency-ms`: per-kind duration of long-running operations and synchronous writes.

use std::time::{Duration, Instant};

use agentpool_emulator::config::KindLatency;
use agentpool_emulator::Config;
use reqwest::StatusCode;
use serde_json::json;

use crate::support::{Harness, GALLERY_API, RG_API, STORAGE_API};

#[tokio::test]
async fn latency_per_kind_overrides_the_lro_delay_and_slows_synchronous_writes() {
    let mut config = Config::for_tests();
    config.lro_delay_ms = 60_000;
    config.latency_ms = vec![
        KindLatency::parse("Microsoft.Storage/storageAccounts=500").unwrap(),
        KindLatency::parse("resourcegroups=400").unwrap(),
    ];
    let h = Harness::start(config).await;
    let rg = h.sub("/resourceGroups/rg");

    let began = Instant::now();
    let r = h.put(&format!("{rg}?api-version={RG_API}"), json!({"location": "westeurope"})).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert!(began.elapsed() >= Duration::from_millis(400), "a synchronous write answers late: {:?}", began.elapsed());
    let began = Instant::now();
    assert_eq!(h.get(&format!("{rg}?api-version={RG_API}")).await.status, StatusCode::OK);
    assert!(began.elapsed() < Duration::from_millis(400), "reads are not delayed");

    let account = format!("{rg}/providers/Microsoft.Storage/storageAccounts/agentpoolsa?api-version={STORAGE_API}");
    let body = json!({"sku": {"name": "Standard_LRS"}, "kind": "StorageV2", "location": "westeurope"});
    let r = h.put(&account, body).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
    let answered = Instant::now();
    let location = r.header("location").expect("Location");
    assert_eq!(h.get_url(&location).await.status, StatusCode::ACCEPTED, "the LRO answers at once and runs 500 ms");
    tokio::time::sleep(Duration::from_millis(500).saturating_sub(answered.elapsed())).await;
    let done = h.get_url(&location).await;
    assert_eq!(done.status, StatusCode::OK, "done after its latency, not after --lro-delay-ms");
    assert_eq!(done.body["properties"]["provisioningState"], "Succeeded");

    // Kinds without a latency keep --lro-delay-ms.
    let gallery = format!("{rg}/providers/Microsoft.Compute/galleries/gal?api-version={GALLERY_API}");
    let r = h.put(&gallery, json!({"location": "westeurope"})).await;
    assert_eq!(r.status, StatusCode::CREATED);
    tokio::time::sleep(Duration::from_millis(350)).await;
    let status = h.get_url(&r.header("azure-asyncoperation").expect("Azure-AsyncOperation")).await;
    assert_eq!(status.body["status"], "InProgress");
    h.stop().await;
}
