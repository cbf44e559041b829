//! Scale sets and their instances over HTTPS (api-version 2024-07-01): status codes per the swagger,
//! capacity creating and removing instances, `latestModelApplied` across model changes and
//! `manualupgrade`, the POST actions, the refusals of bad bodies, linked access to the subnet, and the
//! Rust API other emulated actors use.

use agentpool_emulator::kinds::gallery_image_versions::create_version;
use agentpool_emulator::kinds::scale_sets::{self, Instance};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::network::{self, expect, network_body, provider};
use crate::support::{Harness, Reply, GALLERY_API};

pub const COMPUTE_API: &str = "2024-07-01";

pub fn api(path: &str) -> String {
    format!("{path}?api-version={COMPUTE_API}")
}

/// What a scale set needs: a group, an image definition with version `1.0.0` in West Europe, a subnet.
pub struct Fixture {
    pub rg: String,
    pub image: String,
    pub subnet: String,
}

pub async fn fixture(h: &Harness, name: &str) -> Fixture {
    let rg = network::group(h, name).await;
    let gallery = format!("{rg}/providers/Microsoft.Compute/galleries/gal");
    let r = h.put(&format!("{gallery}?api-version={GALLERY_API}"), json!({"location": "westeurope"})).await;
    h.wait_async_operation(&r.header("azure-asyncoperation").unwrap()).await;
    let image = format!("{gallery}/images/ubuntu");
    let r = h
        .put(
            &format!("{image}?api-version={GALLERY_API}"),
            json!({"location": "westeurope", "properties": {"osType": "Linux", "osState": "Generalized", "hyperVGeneration": "V2",
                "identifier": {"publisher": "agentpool", "offer": "ubuntu", "sku": "24_04"}}}),
        )
        .await;
    h.wait_async_operation(&r.header("azure-asyncoperation").unwrap()).await;
    version(h, &image, "1.0.0", "westeurope");
    let vnet = format!("{}/virtualNetworks/vnet", provider(&rg));
    network::put(h, &vnet, network_body("westeurope", json!({})), true).await;
    Fixture { rg, image, subnet: format!("{vnet}/subnets/agents") }
}

/// A gallery image version replicated to `region`, made as Image Builder makes it.
pub fn version(h: &Harness, image: &str, name: &str, region: &str) -> String {
    let body = json!({"location": "westeurope", "properties": {"storageProfile": {"source": {"id": "/subscriptions/x/resourceGroups/y/providers/Microsoft.Compute/images/z"}},
        "publishingProfile": {"targetRegions": [{"name": region}]}}});
    create_version(h.emulator.app(), image, name, body).unwrap();
    format!("{image}/versions/{name}")
}

/// The body agentpool sends for an Azure DevOps pool: Uniform, Manual, no overprovisioning, ephemeral OS disk.
pub fn body(image: &str, subnet: &str, capacity: u64) -> Value {
    json!({"location": "westeurope", "sku": {"name": "Standard_D2ds_v5", "tier": "Standard", "capacity": capacity},
        "properties": {"orchestrationMode": "Uniform", "overprovision": false, "singlePlacementGroup": false,
            "platformFaultDomainCount": 1, "upgradePolicy": {"mode": "Manual"},
            "virtualMachineProfile": {
                "storageProfile": {"imageReference": {"id": image},
                    "osDisk": {"createOption": "FromImage", "caching": "ReadOnly", "diffDiskSettings": {"option": "Local", "placement": "ResourceDisk"},
                        "managedDisk": {"storageAccountType": "Standard_LRS"}}},
                "osProfile": {"computerNamePrefix": "agent", "adminUsername": "azureuser",
                    "linuxConfiguration": {"disablePasswordAuthentication": true,
                        "ssh": {"publicKeys": [{"path": "/home/azureuser/.ssh/authorized_keys", "keyData": "ssh-rsa AAAAB3Nza agent"}]}}},
                "networkProfile": {"networkInterfaceConfigurations": [{"name": "nic", "properties": {"primary": true,
                    "ipConfigurations": [{"name": "ipconfig", "properties": {"subnet": {"id": subnet}}}]}}]}}}})
}

/// Waits for the `Azure-AsyncOperation` of `r` and checks it succeeded.
pub async fn done(h: &Harness, r: &Reply) {
    let status = h.wait_async_operation(&r.header("azure-asyncoperation").expect("Azure-AsyncOperation")).await;
    assert_eq!(status["status"], "Succeeded", "{status}");
}

/// PUTs a scale set (201 `Creating`, or 200 `Updating`) and waits for it.
pub async fn put(h: &Harness, path: &str, body: Value, created: bool) -> Value {
    let r = h.put(&api(path), body).await;
    let (status, state) = if created { (StatusCode::CREATED, "Creating") } else { (StatusCode::OK, "Updating") };
    assert_eq!((r.status, &r.body["properties"]["provisioningState"]), (status, &json!(state)), "{:?}", r.body);
    done(h, &r).await;
    h.get(&api(path)).await.body
}

/// PATCHes a scale set: 200 `Updating` (the only status the swagger lists) and waits.
pub async fn patch(h: &Harness, path: &str, body: Value) -> Value {
    let r = h.call(Method::PATCH, &api(path), Some(body)).await;
    assert_eq!(
        (r.status, &r.body["properties"]["provisioningState"]),
        (StatusCode::OK, &json!("Updating")),
        "{:?}",
        r.body
    );
    done(h, &r).await;
    h.get(&api(path)).await.body
}

/// POSTs an action: 202 with both LRO headers, then waits.
pub async fn action(h: &Harness, path: &str, name: &str, body: Value) {
    let r = h.call(Method::POST, &api(&format!("{path}/{name}")), Some(body)).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{name}: {:?}", r.body);
    assert!(r.header("location").is_some());
    done(h, &r).await;
}

/// The instances as `VirtualMachineScaleSetVMs_List` shows them.
pub async fn vms(h: &Harness, path: &str) -> Vec<Value> {
    let r = h.get(&format!("{}&$expand=instanceView", api(&format!("{path}/virtualMachines")))).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    r.body["value"].as_array().unwrap().clone()
}

fn ids(vms: &[Value]) -> Vec<&str> {
    vms.iter().map(|v| v["instanceId"].as_str().unwrap()).collect()
}

fn path(fx: &Fixture, name: &str) -> String {
    format!("{}/providers/Microsoft.Compute/virtualMachineScaleSets/{name}", fx.rg)
}

#[tokio::test]
async fn capacity_creates_and_removes_instances() {
    let h = Harness::default().await;
    capacity_creates_and_removes_instances_flow(&h).await;
    h.stop().await;
}

/// The requests of [`capacity_creates_and_removes_instances`] (also recorded for oav).
pub async fn capacity_creates_and_removes_instances_flow(h: &Harness) {
    let fx = fixture(h, "rg-vmss").await;
    let vmss = path(&fx, "pool");
    let created = put(h, &vmss, body(&fx.image, &fx.subnet, 2), true).await;
    assert_eq!(created["properties"]["provisioningState"], "Succeeded");
    assert!(created["properties"]["uniqueId"].is_string() && created["properties"]["timeCreated"].is_string());
    assert!(created["properties"]["virtualMachineProfile"]["osProfile"].get("adminPassword").is_none());
    let list = vms(h, &vmss).await;
    assert_eq!(ids(&list), ["0", "1"]);
    let first = &list[0];
    assert_eq!(first["name"], "pool_0");
    assert_eq!(first["type"], "Microsoft.Compute/virtualMachineScaleSets/virtualMachines");
    assert_eq!(
        first["properties"]["storageProfile"]["imageReference"],
        json!({"id": fx.image, "exactVersion": "1.0.0"})
    );
    assert_eq!(first["properties"]["latestModelApplied"], true);
    assert_eq!(first["properties"]["provisioningState"], "Succeeded");
    assert_eq!(first["properties"]["osProfile"]["computerName"], "agent000000");
    let statuses = &first["properties"]["instanceView"]["statuses"];
    assert_eq!(
        (&statuses[0]["code"], &statuses[1]["code"]),
        (&json!("ProvisioningState/succeeded"), &json!("PowerState/running"))
    );
    let one = h.get(&api(&format!("{vmss}/virtualMachines/1"))).await;
    assert_eq!((one.status, &one.body["name"]), (StatusCode::OK, &json!("pool_1")));
    assert!(one.body["properties"].get("instanceView").is_none(), "only with $expand=instanceView");
    let view = h.get(&api(&format!("{vmss}/virtualMachines/1/instanceView"))).await;
    assert_eq!(view.body["statuses"][1]["code"], "PowerState/running");
    expect(&h.get(&api(&format!("{vmss}/virtualMachines/7"))).await, StatusCode::NOT_FOUND, "ResourceNotFound");

    let scaled = patch(h, &vmss, json!({"sku": {"capacity": 3}})).await;
    assert_eq!(scaled["sku"]["capacity"], 3);
    assert_eq!(ids(&vms(h, &vmss).await), ["0", "1", "2"]);
    patch(h, &vmss, json!({"sku": {"capacity": 1}})).await;
    assert_eq!(ids(&vms(h, &vmss).await), ["0"], "the highest-numbered instances go");
    put(h, &vmss, body(&fx.image, &fx.subnet, 2), false).await;
    assert_eq!(ids(&vms(h, &vmss).await), ["0", "3"], "instance ids are not reused");

    let by_group = h.get(&api(&format!("{}/providers/Microsoft.Compute/virtualMachineScaleSets", fx.rg))).await;
    assert_eq!(by_group.body["value"].as_array().unwrap().len(), 1);
    let all = h.get(&api(&h.sub("/providers/Microsoft.Compute/virtualMachineScaleSets"))).await;
    assert_eq!(all.body["value"].as_array().unwrap().len(), 1);
    assert!(all.body.get("nextLink").is_none());

    let r = h.delete(&api(&vmss)).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert!(r.header("azure-asyncoperation").is_some());
    assert_eq!(h.wait_location(&r.header("location").unwrap()).await.status, StatusCode::OK);
    expect(&h.get(&api(&vmss)).await, StatusCode::NOT_FOUND, "ResourceNotFound");
    expect(&h.get(&api(&format!("{vmss}/virtualMachines"))).await, StatusCode::NOT_FOUND, "ResourceNotFound");
    assert_eq!(h.delete(&api(&vmss)).await.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn latest_model_applied_follows_the_model_and_manual_upgrades() {
    let h = Harness::default().await;
    latest_model_applied_follows_the_model_and_manual_upgrades_flow(&h).await;
    h.stop().await;
}

/// The requests of [`latest_model_applied_follows_the_model_and_manual_upgrades`] (also recorded for oav).
pub async fn latest_model_applied_follows_the_model_and_manual_upgrades_flow(h: &Harness) {
    let fx = fixture(h, "rg-model").await;
    let vmss = path(&fx, "pool");
    put(h, &vmss, body(&fx.image, &fx.subnet, 2), true).await;
    // A new version of the definition: instances made from now on get it; the model is unchanged.
    let v2 = version(h, &fx.image, "1.0.1", "westeurope");
    patch(h, &vmss, json!({"sku": {"capacity": 3}})).await;
    let list = vms(h, &vmss).await;
    assert_eq!(list[2]["properties"]["storageProfile"]["imageReference"]["exactVersion"], "1.0.1");
    assert_eq!(list[0]["properties"]["storageProfile"]["imageReference"]["exactVersion"], "1.0.0");
    assert!(list.iter().all(|v| v["properties"]["latestModelApplied"] == true));

    // The model's image changes: every instance is behind until upgraded.
    patch(
        h,
        &vmss,
        json!({"properties": {"virtualMachineProfile": {"storageProfile": {"imageReference": {"id": v2}}}}}),
    )
    .await;
    let list = vms(h, &vmss).await;
    assert!(list.iter().all(|v| v["properties"]["latestModelApplied"] == false), "{list:?}");
    action(h, &vmss, "manualupgrade", json!({"instanceIds": ["0"]})).await;
    action(h, &vmss, "reimage", json!({"instanceIds": ["1"]})).await;
    let list = vms(h, &vmss).await;
    assert_eq!(list[0]["properties"]["latestModelApplied"], true);
    assert_eq!(list[0]["properties"]["storageProfile"]["imageReference"], json!({"id": v2}));
    assert_eq!(list[1]["properties"]["latestModelApplied"], false, "a reimage keeps the instance's model");
    assert_eq!(list[1]["properties"]["storageProfile"]["imageReference"]["exactVersion"], "1.0.0");
    assert!(list.iter().all(|v| v["properties"]["provisioningState"] == "Succeeded"));

    // POST delete removes the instances named and lowers the capacity; DELETE of one instance too.
    action(h, &vmss, "delete", json!({"instanceIds": ["1"]})).await;
    assert_eq!(ids(&vms(h, &vmss).await), ["0", "2"]);
    let r = h.delete(&api(&format!("{vmss}/virtualMachines/2"))).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
    done(h, &r).await;
    assert_eq!(h.delete(&api(&format!("{vmss}/virtualMachines/2"))).await.status, StatusCode::NO_CONTENT);
    assert_eq!(ids(&vms(h, &vmss).await), ["0"]);
    assert_eq!(h.get(&api(&vmss)).await.body["sku"]["capacity"], 1);

    // Power actions show in the instance view; Automatic upgrades apply the model to every instance.
    action(h, &vmss, "poweroff", json!({})).await;
    assert_eq!(vms(h, &vmss).await[0]["properties"]["instanceView"]["statuses"][1]["code"], "PowerState/stopped");
    action(h, &vmss, "start", json!({"instanceIds": []})).await;
    assert_eq!(vms(h, &vmss).await[0]["properties"]["instanceView"]["statuses"][1]["code"], "PowerState/running");
    patch(
        h,
        &vmss,
        json!({"sku": {"capacity": 2}, "properties": {"upgradePolicy": {"mode": "Automatic"},
        "virtualMachineProfile": {"storageProfile": {"imageReference": {"id": fx.image}}}}}),
    )
    .await;
    let list = vms(h, &vmss).await;
    assert!(list.iter().all(|v| v["properties"]["latestModelApplied"] == true), "{list:?}");
    assert!(list.iter().all(|v| v["properties"]["storageProfile"]["imageReference"]["exactVersion"] == "1.0.1"));
}

#[tokio::test]
async fn bodies_azure_refuses() {
    let h = Harness::default().await;
    bodies_azure_refuses_flow(&h).await;
    h.stop().await;
}

/// The requests of [`bodies_azure_refuses`] (also recorded for oav).
pub async fn bodies_azure_refuses_flow(h: &Harness) {
    let fx = fixture(h, "rg-bad").await;
    let vmss = path(&fx, "pool");
    let ok = body(&fx.image, &fx.subnet, 1);
    let change = |pointer: &str, value: Value| {
        let mut b = ok.clone();
        *b.pointer_mut(pointer).unwrap() = value;
        b
    };
    let image = "/properties/virtualMachineProfile/storageProfile/imageReference/id";
    let subnet = "/properties/virtualMachineProfile/networkProfile/networkInterfaceConfigurations/0/properties/ipConfigurations/0/properties/subnet/id";
    let north = version(h, &fx.image, "2.0.0", "northeurope");
    let other_vnet = format!("{}/virtualNetworks/north", provider(&fx.rg));
    network::put(h, &other_vnet, network_body("northeurope", json!({})), true).await;
    let mut no_keys = ok.clone();
    no_keys["properties"]["virtualMachineProfile"]["osProfile"]["linuxConfiguration"]["ssh"]["publicKeys"] = json!([]);
    let cases = [
        (change(image, json!(format!("{}/versions/9.9.9", fx.image))), StatusCode::NOT_FOUND, "GalleryImageNotFound"),
        (change(image, json!(north)), StatusCode::NOT_FOUND, "GalleryImageNotFound"),
        (
            change(subnet, json!(format!("{}/virtualNetworks/vnet/subnets/none", provider(&fx.rg)))),
            StatusCode::BAD_REQUEST,
            "InvalidResourceReference",
        ),
        (
            change(subnet, json!(format!("{other_vnet}/subnets/agents"))),
            StatusCode::BAD_REQUEST,
            "InvalidResourceReference",
        ),
        (no_keys, StatusCode::BAD_REQUEST, "InvalidParameter"),
        (
            change("/properties/virtualMachineProfile/storageProfile/osDisk/caching", json!("ReadWrite")),
            StatusCode::BAD_REQUEST,
            "InvalidParameter",
        ),
        (change("/properties/orchestrationMode", json!("Elastic")), StatusCode::BAD_REQUEST, "InvalidRequestContent"),
    ];
    for (b, status, code) in cases {
        expect(&h.put(&api(&vmss), b).await, status, code);
    }
    assert_eq!(h.get(&api(&vmss)).await.status, StatusCode::NOT_FOUND);
    let r = h.put(&api(&vmss), change(image, json!(format!("{}/versions/9.9.9", fx.image)))).await;
    assert_eq!(r.body["error"]["message"], format!("The gallery image {}/versions/9.9.9 is not available in westeurope region. Please contact image owner to replicate to this region, or change your requested region.", fx.image));

    put(h, &vmss, ok.clone(), true).await;
    let r = h.put(&api(&vmss), change("/properties/orchestrationMode", json!("Flexible"))).await;
    expect(&r, StatusCode::CONFLICT, "PropertyChangeNotAllowed");
    assert_eq!(r.body["error"]["message"], "Changing property 'orchestrationMode' is not allowed.");
    let post = |name: &str| api(&format!("{vmss}/{name}"));
    expect(
        &h.call(Method::POST, &post("manualupgrade"), Some(json!({"instanceIds": ["5"]}))).await,
        StatusCode::BAD_REQUEST,
        "InvalidParameter",
    );
    // The subnet in use cannot be deleted, nor its network.
    expect(&h.delete(&network::api(&fx.subnet)).await, StatusCode::BAD_REQUEST, "InUseSubnetCannotBeDeleted");
    expect(
        &h.delete(&network::api(&format!("{}/virtualNetworks/vnet", provider(&fx.rg)))).await,
        StatusCode::BAD_REQUEST,
        "InUseSubnetCannotBeDeleted",
    );
}

#[tokio::test]
async fn writing_a_scale_set_needs_the_right_to_join_its_subnet() {
    let h = Harness::default().await;
    writing_a_scale_set_needs_the_right_to_join_its_subnet_flow(&h).await;
    h.stop().await;
}

/// The requests of [`writing_a_scale_set_needs_the_right_to_join_its_subnet`] (also recorded for oav).
pub async fn writing_a_scale_set_needs_the_right_to_join_its_subnet_flow(h: &Harness) {
    use crate::roles::{assignment, custom_role, definition_path};
    use agentpool_emulator::authz::caller;
    let fx = fixture(h, "rg-join").await;
    let sub = h.sub("");
    let oid = h.ready().principal_id.clone();
    let assign = |scope: &str, guid: &str, role: &str| {
        (
            format!(
                "{scope}/providers/Microsoft.Authorization/roleAssignments/{guid}?api-version={}",
                crate::support::AUTHZ_API
            ),
            assignment(h, role, &oid),
        )
    };
    let writer = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d";
    let joiner = "2a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d";
    let role = custom_role(
        "vmss writer",
        &["Microsoft.Compute/*", "Microsoft.Network/*/read", "Microsoft.Authorization/*"],
        &[&sub],
    );
    assert_eq!(h.put(&definition_path(&sub, writer), role).await.status, StatusCode::CREATED);
    let role = custom_role("subnet joiner", &["Microsoft.Network/virtualNetworks/subnets/join/action"], &[&sub]);
    assert_eq!(h.put(&definition_path(&sub, joiner), role).await.status, StatusCode::CREATED);
    let (at, grant) = assign(&sub, "3a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d", writer);
    assert_eq!(h.put(&at, grant).await.status, StatusCode::CREATED);
    let owner = caller::CallerRole::owner().id;
    let name = caller::assignment_name(&oid, owner);
    let r = h
        .delete(&format!(
            "{sub}/providers/Microsoft.Authorization/roleAssignments/{name}?api-version={}",
            crate::support::AUTHZ_API
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);

    let vmss = path(&fx, "pool");
    let r = h.put(&api(&vmss), body(&fx.image, &fx.subnet, 1)).await;
    expect(&r, StatusCode::FORBIDDEN, "LinkedAuthorizationFailed");
    assert_eq!(r.body["error"]["message"], format!("The client '{oid}' with object id '{oid}' has permission to perform action 'Microsoft.Compute/virtualMachineScaleSets/write' on scope '{vmss}'; however, it does not have permission to perform action 'Microsoft.Network/virtualNetworks/subnets/join/action' on the linked scope(s) '{}' or the linked scope(s) are invalid.", fx.subnet));
    let (at, grant) = assign(&fx.subnet, "4a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d", joiner);
    assert_eq!(h.put(&at, grant).await.status, StatusCode::CREATED);
    put(h, &vmss, body(&fx.image, &fx.subnet, 1), true).await;
}

#[tokio::test]
async fn other_actors_scale_through_the_rust_api() {
    let h = Harness::default().await;
    other_actors_scale_through_the_rust_api_flow(&h).await;
    h.stop().await;
}

/// The requests of [`other_actors_scale_through_the_rust_api`] (also recorded for oav).
pub async fn other_actors_scale_through_the_rust_api_flow(h: &Harness) {
    let fx = fixture(h, "rg-api").await;
    let vmss = path(&fx, "pool");
    put(h, &vmss, body(&fx.image, &fx.subnet, 1), true).await;
    let app = h.emulator.app();
    let upper = vmss.to_uppercase().replace("/SUBSCRIPTIONS/", "/subscriptions/");
    app.state.write(|store| scale_sets::set_capacity(store, &upper, 3)).unwrap();
    let list: Vec<Instance> = app.state.read(|store| scale_sets::instances(store, &vmss));
    assert_eq!(list.iter().map(|i| i.instance_id.as_str()).collect::<Vec<_>>(), ["0", "1", "2"]);
    assert_eq!(list[2].name, "pool_2");
    assert_eq!(list[2].image_reference_id, fx.image);
    assert_eq!(
        (list[2].power_state.as_str(), list[2].provisioning_state.as_str()),
        ("PowerState/running", "Succeeded")
    );
    assert!(list.iter().all(|i| i.latest_model_applied));
    assert_eq!(h.get(&api(&vmss)).await.body["sku"]["capacity"], 3);
    assert_eq!(ids(&vms(h, &vmss).await), ["0", "1", "2"]);

    app.state.write(|store| scale_sets::delete_instances(store, &vmss, &["0".to_string(), "2".to_string()])).unwrap();
    assert_eq!(ids(&vms(h, &vmss).await), ["1"]);
    assert_eq!(h.get(&api(&vmss)).await.body["sku"]["capacity"], 1);
    let e = app.state.write(|store| scale_sets::delete_instances(store, &vmss, &["9".to_string()])).unwrap_err();
    assert_eq!(e.code(), "InvalidParameter");
    let e = app.state.write(|store| scale_sets::set_capacity(store, &format!("{vmss}x"), 1)).unwrap_err();
    assert_eq!(e.code(), "ResourceNotFound");

    // Azure DevOps installs its agent extension by editing the model: the instance is behind.
    app.state.write(|store| {
        let set = store.get_mut(&vmss).unwrap();
        set.body["properties"]["virtualMachineProfile"]["extensionProfile"] = json!({"extensions": [{"name": "Microsoft.Azure.DevOps.Pipelines.Agent",
            "properties": {"publisher": "Microsoft.VisualStudio.Services", "type": "TeamServicesAgentLinux", "typeHandlerVersion": "1.0"}}]});
        set.body["tags"] = json!({"__AzureDevOpsElasticPool": "pool"});
    });
    let list = app.state.read(|store| scale_sets::instances(store, &vmss));
    assert!(!list[0].latest_model_applied);
    assert_eq!(vms(h, &vmss).await[0]["tags"], json!({"__AzureDevOpsElasticPool": "pool"}));
}

/// Requests outside the swaggers (so not in the oav flows): what Azure does with them.
#[tokio::test]
async fn members_the_swagger_does_not_define_are_ignored_or_refused() {
    let h = Harness::default().await;
    let fx = fixture(&h, "rg-outside").await;
    let vmss = path(&fx, "pool");
    put(&h, &vmss, body(&fx.image, &fx.subnet, 1), true).await;
    // VirtualMachineScaleSetUpdate has no orchestrationMode: a PATCH naming it changes nothing.
    let got = patch(&h, &vmss, json!({"properties": {"orchestrationMode": "Flexible"}})).await;
    assert_eq!(got["properties"]["orchestrationMode"], "Uniform");
    let r = h.call(Method::POST, &api(&format!("{vmss}/delete")), Some(json!({}))).await;
    expect(&r, StatusCode::BAD_REQUEST, "MissingRequiredProperty");
    // UpdateTags takes a TagsObject: other members are ignored.
    let vnet = format!("{}/virtualNetworks/vnet", provider(&fx.rg));
    let patch = json!({"tags": {"env": "test"}, "properties": {"addressSpace": {"addressPrefixes": ["10.9.0.0/16"]}}});
    let r = h.call(Method::PATCH, &network::api(&vnet), Some(patch)).await;
    assert_eq!((r.status, &r.body["tags"]), (StatusCode::OK, &json!({"env": "test"})));
    assert_eq!(r.body["properties"]["addressSpace"]["addressPrefixes"], json!(["10.0.0.0/16"]));
    h.stop().await;
}
