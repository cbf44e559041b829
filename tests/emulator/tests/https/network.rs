//! Virtual networks, subnets, public IP addresses and prefixes and NAT gateways over HTTPS (api-version
//! 2024-05-01): their status codes, the subnet replaced whole by a PUT, the read-only references between
//! them and every refusal of a NAT gateway.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{Harness, Reply};

pub const NETWORK_API: &str = "2024-05-01";

pub fn expect(r: &Reply, status: StatusCode, code: &str) {
    assert_eq!((r.status, r.code()), (status, code), "{:?}", r.body);
}

/// `{path}?api-version=2024-05-01`.
pub fn api(path: &str) -> String {
    format!("{path}?api-version={NETWORK_API}")
}

/// PUTs a network resource, checks the LRO answer (`created`: 201, else 200, `Updating`,
/// `Azure-AsyncOperation`), waits for it and returns the resource as GET shows it.
pub async fn put(h: &Harness, path: &str, body: Value, created: bool) -> Value {
    let r = h.put(&api(path), body).await;
    assert_eq!(r.status, if created { StatusCode::CREATED } else { StatusCode::OK }, "{path}: {:?}", r.body);
    assert_eq!(r.body["properties"]["provisioningState"], "Updating", "{:?}", r.body);
    assert!(r.body["etag"].as_str().unwrap().starts_with("W/\""));
    let status = h.wait_async_operation(&r.header("azure-asyncoperation").expect("Azure-AsyncOperation")).await;
    assert_eq!(status["status"], "Succeeded", "{status}");
    let got = h.get(&api(path)).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.body["properties"]["provisioningState"], "Succeeded");
    got.body
}

/// DELETEs a network resource: 202 with both LRO headers, then 404, then a second DELETE 204.
pub async fn delete(h: &Harness, path: &str) {
    let r = h.delete(&api(path)).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{path}: {:?}", r.body);
    assert!(r.header("azure-asyncoperation").is_some());
    assert_eq!(h.wait_location(&r.header("location").unwrap()).await.status, StatusCode::OK);
    assert_eq!(h.get(&api(path)).await.status, StatusCode::NOT_FOUND);
    assert_eq!(h.delete(&api(path)).await.status, StatusCode::NO_CONTENT);
}

pub async fn group(h: &Harness, name: &str) -> String {
    crate::roles::group(h, name).await
}

pub fn provider(rg: &str) -> String {
    format!("{rg}/providers/Microsoft.Network")
}

/// A Standard static public IP (`zones` optional).
pub fn standard_ip(location: &str) -> Value {
    json!({"location": location, "sku": {"name": "Standard"}, "properties": {"publicIPAllocationMethod": "Static"}})
}

/// A network `10.0.0.0/16` in `location` with one subnet `agents` `10.0.1.0/24` (plus `subnet` members).
pub fn network_body(location: &str, subnet: Value) -> Value {
    let mut props = json!({"addressPrefix": "10.0.1.0/24"});
    if let (Some(p), Some(extra)) = (props.as_object_mut(), subnet.as_object()) {
        p.extend(extra.clone());
    }
    json!({"location": location, "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]},
        "subnets": [{"name": "agents", "properties": props}]}})
}

#[tokio::test]
async fn networks_and_subnets_answer_as_the_swagger_says() {
    let h = Harness::default().await;
    networks_and_subnets_answer_as_the_swagger_says_flow(&h).await;
    h.stop().await;
}

/// The requests of [`networks_and_subnets_answer_as_the_swagger_says`] (also recorded for oav).
pub async fn networks_and_subnets_answer_as_the_swagger_says_flow(h: &Harness) {
    let rg = group(h, "rg-net").await;
    let vnet = format!("{}/virtualNetworks/vnet", provider(&rg));
    let created = put(h, &vnet, network_body("westeurope", json!({})), true).await;
    let subnets = created["properties"]["subnets"].as_array().unwrap();
    assert_eq!(subnets.len(), 1);
    assert_eq!(subnets[0]["id"], format!("{vnet}/subnets/agents"));
    assert_eq!(subnets[0]["type"], "Microsoft.Network/virtualNetworks/subnets");
    assert_eq!(subnets[0]["properties"]["provisioningState"], "Succeeded");
    assert!(created["properties"]["resourceGuid"].is_string());
    assert!(subnets[0]["properties"].get("defaultOutboundAccess").is_none(), "absent unless sent (2024-05-01)");
    let agents = h.get(&api(&format!("{vnet}/subnets/agents"))).await;
    assert_eq!((agents.status, &agents.body["properties"]["addressPrefix"]), (StatusCode::OK, &json!("10.0.1.0/24")));

    // UpdateTags: 200, only the tags change.
    let r = h.call(Method::PATCH, &api(&vnet), Some(json!({"tags": {"env": "test"}}))).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["tags"], json!({"env": "test"}));
    assert_eq!(r.body["properties"]["addressSpace"]["addressPrefixes"], json!(["10.0.0.0/16"]));
    assert_eq!(r.body["properties"]["resourceGuid"], created["properties"]["resourceGuid"]);

    let build = format!("{vnet}/subnets/build");
    let body = json!({"properties": {"addressPrefix": "10.0.2.0/24", "defaultOutboundAccess": false}});
    let subnet = put(h, &build, body.clone(), true).await;
    assert_eq!(subnet["properties"]["defaultOutboundAccess"], false);
    put(h, &build, body, false).await;
    let r =
        h.put(&api(&format!("{vnet}/subnets/outside")), json!({"properties": {"addressPrefix": "10.1.0.0/24"}})).await;
    expect(&r, StatusCode::BAD_REQUEST, "NetcfgSubnetRangeOutsideVnet");
    assert_eq!(r.body["error"]["message"], "Subnet 'outside' is not valid because its IP address range is outside the IP address range of virtual network 'vnet'.");
    let r = h.put(&api(&format!("{vnet}/subnets/bare")), json!({"properties": {}})).await;
    expect(&r, StatusCode::BAD_REQUEST, "MissingRequiredProperty");
    let r = h
        .put(
            &api(&format!("{}/virtualNetworks/nope/subnets/a", provider(&rg))),
            json!({"properties": {"addressPrefix": "10.0.0.0/24"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    let list = h.get(&api(&format!("{vnet}/subnets"))).await;
    let names: Vec<&str> = list.body["value"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["agents", "build"]);
    let vnet_now = h.get(&api(&vnet)).await;
    assert_eq!(vnet_now.body["properties"]["subnets"].as_array().unwrap().len(), 2, "the network shows its subnets");
    assert_eq!(
        h.get(&api(&format!("{}/virtualNetworks", provider(&rg)))).await.body["value"].as_array().unwrap().len(),
        1
    );
    assert_eq!(
        h.get(&api(&h.sub("/providers/Microsoft.Network/virtualNetworks"))).await.body["value"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // A network PUT replaces the subnet set: `build` is left out, so it goes.
    let replaced = put(h, &vnet, network_body("westeurope", json!({})), false).await;
    assert_eq!(replaced["properties"]["subnets"].as_array().unwrap().len(), 1);
    assert_eq!(h.get(&api(&build)).await.status, StatusCode::NOT_FOUND);

    delete(h, &format!("{vnet}/subnets/agents")).await;
    delete(h, &vnet).await;
}

/// A NAT gateway with one Standard IP, in `rg`; returns its id.
pub async fn nat_gateway(h: &Harness, rg: &str, name: &str, location: &str) -> String {
    let ip = format!("{}/publicIPAddresses/{name}-ip", provider(rg));
    put(h, &ip, standard_ip(location), true).await;
    let nat = format!("{}/natGateways/{name}", provider(rg));
    let body =
        json!({"location": location, "sku": {"name": "Standard"}, "properties": {"publicIpAddresses": [{"id": ip}]}});
    put(h, &nat, body, true).await;
    nat
}

#[tokio::test]
async fn a_subnet_put_without_its_nat_gateway_drops_the_association() {
    let h = Harness::default().await;
    a_subnet_put_without_its_nat_gateway_drops_the_association_flow(&h).await;
    h.stop().await;
}

/// The requests of [`a_subnet_put_without_its_nat_gateway_drops_the_association`] (also recorded for oav).
pub async fn a_subnet_put_without_its_nat_gateway_drops_the_association_flow(h: &Harness) {
    let rg = group(h, "rg-nat").await;
    let nat = nat_gateway(h, &rg, "nat", "westeurope").await;
    let ip = format!("{}/publicIPAddresses/nat-ip", provider(&rg));
    let vnet = format!("{}/virtualNetworks/vnet", provider(&rg));
    let subnet = format!("{vnet}/subnets/agents");
    put(h, &vnet, network_body("westeurope", json!({"natGateway": {"id": nat}})), true).await;
    let got = h.get(&api(&nat)).await.body;
    assert_eq!(got["properties"]["subnets"], json!([{"id": subnet}]), "{got}");
    assert_eq!(got["properties"]["idleTimeoutInMinutes"], 4);
    assert_eq!(h.get(&api(&ip)).await.body["properties"]["natGateway"], json!({"id": nat}));
    let r = h.delete(&api(&nat)).await;
    expect(&r, StatusCode::BAD_REQUEST, "InUseNatGatewayCannotBeDeleted");
    let r = h.delete(&api(&ip)).await;
    expect(&r, StatusCode::BAD_REQUEST, "PublicIPAddressCannotBeDeleted");

    // The client sends the subnet without natGateway: Azure replaces the subnet, the association is gone.
    let got = put(h, &subnet, json!({"properties": {"addressPrefix": "10.0.1.0/24"}}), false).await;
    assert!(got["properties"].get("natGateway").is_none(), "{got}");
    assert!(h.get(&api(&nat)).await.body["properties"].get("subnets").is_none());
    let inline = h.get(&api(&vnet)).await.body;
    assert!(inline["properties"]["subnets"][0]["properties"].get("natGateway").is_none());

    // A NAT gateway that does not exist or lives in another region cannot be associated.
    let other = nat_gateway(h, &rg, "nat-ne", "northeurope").await;
    for id in [other.clone(), format!("{}/natGateways/none", provider(&rg))] {
        let r = h
            .put(&api(&subnet), json!({"properties": {"addressPrefix": "10.0.1.0/24", "natGateway": {"id": id}}}))
            .await;
        expect(&r, StatusCode::BAD_REQUEST, "InvalidResourceReference");
        assert!(r.body["error"]["message"].as_str().unwrap().contains("both resources are in the same region"));
    }
    delete(h, &nat).await;
    delete(h, &ip).await;
}

#[tokio::test]
async fn public_ips_and_prefixes_answer_as_the_swagger_says() {
    let h = Harness::default().await;
    public_ips_and_prefixes_answer_as_the_swagger_says_flow(&h).await;
    h.stop().await;
}

/// The requests of [`public_ips_and_prefixes_answer_as_the_swagger_says`] (also recorded for oav).
pub async fn public_ips_and_prefixes_answer_as_the_swagger_says_flow(h: &Harness) {
    let rg = group(h, "rg-ip").await;
    let basic = format!("{}/publicIPAddresses/basic", provider(&rg));
    let got = put(h, &basic, json!({"location": "westeurope"}), true).await;
    assert_eq!(got["sku"], json!({"name": "Basic"}));
    assert_eq!(got["properties"]["publicIPAllocationMethod"], "Dynamic");
    assert_eq!(got["properties"]["idleTimeoutInMinutes"], 4);
    assert!(got["properties"].get("ipAddress").is_none());
    let standard = format!("{}/publicIPAddresses/standard", provider(&rg));
    let got = put(h, &standard, json!({"location": "westeurope", "sku": {"name": "Standard"}}), true).await;
    assert_eq!(got["properties"]["publicIPAllocationMethod"], "Static");
    assert!(got["properties"]["ipAddress"].as_str().unwrap().starts_with("20."));
    let r = h.call(Method::PATCH, &api(&standard), Some(json!({"tags": {"a": "b"}}))).await;
    assert_eq!((r.status, &r.body["tags"]), (StatusCode::OK, &json!({"a": "b"})));
    let r = h.put(&api(&standard), json!({"location": "westeurope", "sku": {"name": "Premium"}})).await;
    expect(&r, StatusCode::BAD_REQUEST, "InvalidRequestContent");

    let prefix = format!("{}/publicIPPrefixes/p28", provider(&rg));
    let got = put(
        h,
        &prefix,
        json!({"location": "westeurope", "sku": {"name": "Standard"}, "properties": {"prefixLength": 28}}),
        true,
    )
    .await;
    assert!(got["properties"]["ipPrefix"].as_str().unwrap().ends_with("/28"));
    assert_eq!(got["properties"]["ipTags"], json!([]));
    let r = h
        .put(
            &api(&format!("{}/publicIPPrefixes/wide", provider(&rg))),
            json!({"location": "westeurope", "properties": {"prefixLength": 8}}),
        )
        .await;
    expect(&r, StatusCode::BAD_REQUEST, "InvalidParameter");
    assert_eq!(
        h.get(&api(&format!("{}/publicIPAddresses", provider(&rg)))).await.body["value"].as_array().unwrap().len(),
        2
    );
    assert_eq!(
        h.get(&api(&h.sub("/providers/Microsoft.Network/publicIPPrefixes"))).await.body["value"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    for path in [basic, standard, prefix] {
        delete(h, &path).await;
    }
}

#[tokio::test]
async fn nat_gateways_refuse_what_azure_refuses() {
    let h = Harness::default().await;
    nat_gateways_refuse_what_azure_refuses_flow(&h).await;
    h.stop().await;
}

/// The requests of [`nat_gateways_refuse_what_azure_refuses`] (also recorded for oav).
pub async fn nat_gateways_refuse_what_azure_refuses_flow(h: &Harness) {
    let rg = group(h, "rg-refuse").await;
    let p = provider(&rg);
    let ip = |name: &str| format!("{p}/publicIPAddresses/{name}");
    let prefix = |name: &str| format!("{p}/publicIPPrefixes/{name}");
    put(h, &ip("basic"), json!({"location": "westeurope", "sku": {"name": "Basic"}, "properties": {"publicIPAllocationMethod": "Static"}}), true).await;
    put(h, &ip("dynamic"), json!({"location": "westeurope", "sku": {"name": "Standard"}, "properties": {"publicIPAllocationMethod": "Dynamic"}}), true).await;
    let mut v6 = standard_ip("westeurope");
    v6["properties"]["publicIPAddressVersion"] = json!("IPv6");
    put(h, &ip("v6"), v6, true).await;
    put(h, &ip("ok"), standard_ip("westeurope"), true).await;
    put(h, &ip("north"), standard_ip("northeurope"), true).await;
    let mut zone2 = standard_ip("westeurope");
    zone2["zones"] = json!(["2"]);
    put(h, &ip("zone2"), zone2, true).await;
    let prefix_body =
        |len: u64| json!({"location": "westeurope", "sku": {"name": "Standard"}, "properties": {"prefixLength": len}});
    put(h, &prefix("p27"), prefix_body(27), true).await;
    put(h, &prefix("p28"), prefix_body(28), true).await;
    put(h, &prefix("p31"), prefix_body(31), true).await;

    let nat = format!("{p}/natGateways/nat");
    let with = |ips: &[String], prefixes: &[String], zones: Option<&str>| {
        let refs = |ids: &[String]| ids.iter().map(|id| json!({"id": id})).collect::<Vec<_>>();
        let mut body = json!({"location": "westeurope", "sku": {"name": "Standard"},
            "properties": {"publicIpAddresses": refs(ips), "publicIpPrefixes": refs(prefixes)}});
        if let Some(zone) = zones {
            body["zones"] = json!([zone]);
        }
        body
    };
    let cases = [
        (with(&[ip("basic")], &[], None), "PublicIpWithBasicSkuNotAllowedOnNatGateway"),
        (with(&[ip("dynamic")], &[], None), "PublicIpWithDynamicAllocationNotAllowedOnNatGateway"),
        (with(&[ip("v6")], &[], None), "PublicIpv6NotAllowedOnStandardNatGateway"),
        (with(&[], &[prefix("p27")], None), "PublicIpPrefixLengthNotAllowedOnNatGateway"),
        (with(&[ip("ok")], &[prefix("p28")], None), "NatGatewayPublicIpAddressesExceedLimit"),
        (with(&[ip("zone2")], &[], Some("1")), "NatGatewayZoneMismatchWithPublicIp"),
        (with(&[ip("north")], &[], None), "InvalidResourceReference"),
        (with(&[ip("missing")], &[], None), "InvalidResourceReference"),
    ];
    for (body, code) in cases {
        let r = h.put(&api(&nat), body).await;
        expect(&r, StatusCode::BAD_REQUEST, code);
    }
    assert_eq!(h.get(&api(&nat)).await.status, StatusCode::NOT_FOUND, "nothing was created");

    // Within 16 addresses: a /31 and an address (3), a /28 alone (16).
    put(h, &nat, with(&[ip("ok")], &[prefix("p31")], None), true).await;
    put(h, &nat, with(&[], &[prefix("p28")], None), false).await;
    put(h, &nat, with(&[ip("zone2")], &[], Some("2")), false).await;
    assert_eq!(h.get(&api(&prefix("p28"))).await.body["properties"].get("natGateway"), None, "released");
    let r = h.put(&api(&format!("{p}/natGateways/other")), with(&[ip("zone2")], &[], None)).await;
    expect(&r, StatusCode::BAD_REQUEST, "PublicIPAddressInUse");
    let listed = h.get(&api(&format!("{p}/natGateways"))).await;
    assert_eq!(listed.body["value"].as_array().unwrap().len(), 1);
    let all = h.get(&api(&h.sub("/providers/Microsoft.Network/natGateways"))).await;
    assert_eq!(all.body["value"][0]["id"], nat);
    let r = h.call(Method::PATCH, &api(&nat), Some(json!({"tags": {"pool": "agents"}}))).await;
    assert_eq!((r.status, &r.body["tags"]), (StatusCode::OK, &json!({"pool": "agents"})));
    assert_eq!(r.body["zones"], json!(["2"]));
    delete(h, &nat).await;
}
