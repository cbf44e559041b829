//! The traffic of the network and scale set tests validated by oav against `virtualNetwork.json`,
//! `natGateway.json`, `publicIpAddress.json`, `publicIpPrefix.json` (2024-05-01) and
//! `virtualMachineScaleSet.json` (2024-07-01), and storage's `listKeys` and `checkNameAvailability`
//! (`storage.json`, 2023-05-01): every flow runs against its own emulator recording its
//! exchanges, and oav must report no error for any of them.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;

use agentpool_emulator::Config;

use crate::oav::assert_oav_cases;
use crate::support::{cleanup, oav, specs_dir, temp_dir, Harness};

type Flow = for<'a> fn(&'a Harness) -> Pin<Box<dyn Future<Output = ()> + 'a>>;

/// Runs `flow` against an emulator recording into `traffic`, the files named after `tag`.
async fn record(flow: Flow, tag: &str, traffic: &Path) {
    let own = temp_dir(&format!("oav-net-{tag}"));
    let mut config = Config::for_tests();
    config.traffic_dir = Some(own.clone());
    config.lro_delay_ms = 50;
    let h = Harness::start(config).await;
    flow(&h).await;
    h.stop().await;
    for entry in std::fs::read_dir(&own).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        std::fs::rename(&path, traffic.join(format!("{tag}-{name}"))).unwrap();
    }
    cleanup(&[&own]);
}

#[tokio::test]
async fn network_and_scale_set_traffic_passes_oav() {
    use crate::{network as n, scale_sets as s};
    let specs = specs_dir().join("azure-rest-api-specs/specification");
    assert!(specs.is_dir(), "specs missing at {} (set AGENTPOOL_SPECS_DIR)", specs.display());
    assert!(oav().exists(), "oav missing at {} (run `npm ci` in tests/node)", oav().display());
    let traffic = temp_dir("oav-net-traffic");
    let flows: [(&str, Flow); 10] = [
        ("vnet", |h| Box::pin(n::networks_and_subnets_answer_as_the_swagger_says_flow(h))),
        ("natassoc", |h| Box::pin(n::a_subnet_put_without_its_nat_gateway_drops_the_association_flow(h))),
        ("ips", |h| Box::pin(n::public_ips_and_prefixes_answer_as_the_swagger_says_flow(h))),
        ("natrefuse", |h| Box::pin(n::nat_gateways_refuse_what_azure_refuses_flow(h))),
        ("capacity", |h| Box::pin(s::capacity_creates_and_removes_instances_flow(h))),
        ("model", |h| Box::pin(s::latest_model_applied_follows_the_model_and_manual_upgrades_flow(h))),
        ("refuse", |h| Box::pin(s::bodies_azure_refuses_flow(h))),
        ("join", |h| Box::pin(s::writing_a_scale_set_needs_the_right_to_join_its_subnet_flow(h))),
        ("api", |h| Box::pin(s::other_actors_scale_through_the_rust_api_flow(h))),
        ("keys", |h| Box::pin(crate::storage_keys::storage_flow(h))),
    ];
    for (tag, flow) in flows {
        record(flow, tag, &traffic).await;
    }
    let network = "network/resource-manager/Microsoft.Network/stable/2024-05-01";
    let cases = [
        (format!("{network}/virtualNetwork.json"), 10),
        (format!("{network}/natGateway.json"), 5),
        (format!("{network}/publicIpAddress.json"), 5),
        (format!("{network}/publicIpPrefix.json"), 4),
        (
            "compute/resource-manager/Microsoft.Compute/ComputeRP/stable/2024-07-01/virtualMachineScaleSet.json".into(),
            15,
        ),
    ];
    let reports = temp_dir("oav-net-reports");
    assert_oav_cases(&traffic, &specs, &cases, &reports);
    cleanup(&[&traffic, &reports]);
}
