//! Role definitions (built-in and custom) and role assignments over HTTPS, and the client as a principal:
//! its `--caller-role` assignments decide what it may do (403 `AuthorizationFailed`).

use agentpool_emulator::authz::caller::CallerRole;
use agentpool_emulator::Config;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{Harness, Reply, AUTHZ_API, RG_API, STORAGE_API};

pub const CONTRIBUTOR: &str = "b24988ac-6180-42a0-ab88-20f7382dd24c";
pub const BLOB_READER: &str = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1";
const PRINCIPAL: &str = "ce2ce14e-85d7-4629-bdbc-454d0519d987";
const CUSTOM: &str = "5d0c6e1a-3b7f-4c2e-9a8d-1f2e3d4c5b6a";

pub fn definition_path(scope: &str, guid: &str) -> String {
    format!("{scope}/providers/Microsoft.Authorization/roleDefinitions/{guid}?api-version={AUTHZ_API}")
}

pub fn definitions(scope: &str, filter: &str) -> String {
    format!("{scope}/providers/Microsoft.Authorization/roleDefinitions?api-version={AUTHZ_API}{filter}")
}

fn assignment_path(scope: &str, name: &str) -> String {
    format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{name}?api-version={AUTHZ_API}")
}

/// A custom role body as agentpool sends it.
pub fn custom_role(name: &str, actions: &[&str], scopes: &[&str]) -> Value {
    json!({"properties": {"roleName": name, "description": "Image Builder's identity", "type": "CustomRole",
        "permissions": [{"actions": actions, "notActions": [], "dataActions": [], "notDataActions": []}],
        "assignableScopes": scopes}})
}

pub fn assignment(h: &Harness, role: &str, principal: &str) -> Value {
    let role = format!(
        "/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/{role}",
        h.ready().subscription_id
    );
    json!({"properties": {"roleDefinitionId": role, "principalId": principal, "principalType": "ServicePrincipal"}})
}

pub async fn group(h: &Harness, name: &str) -> String {
    let rg = h.sub(&format!("/resourceGroups/{name}"));
    let r = h.put(&format!("{rg}?api-version={RG_API}"), json!({"location": "westeurope"})).await;
    assert!(r.status.is_success(), "{:?}", r.body);
    rg
}

fn expect(r: &Reply, status: StatusCode, code: &str) {
    assert_eq!((r.status, r.code()), (status, code), "{:?}", r.body);
}

#[tokio::test]
async fn built_in_roles_at_every_scope() {
    let h = Harness::default().await;
    let rg = group(&h, "rg").await;
    let account = format!("{rg}/providers/Microsoft.Storage/storageAccounts/rolesacct");
    let r = h
        .put(
            &format!("{account}?api-version={STORAGE_API}"),
            json!({"sku": {"name": "Standard_LRS"}, "kind": "StorageV2", "location": "westeurope"}),
        )
        .await;
    h.wait_location(&r.header("location").unwrap()).await;
    let sub = h.sub("");
    for scope in ["", sub.as_str(), rg.as_str(), account.as_str()] {
        let r = h.get(&definition_path(scope, CONTRIBUTOR)).await;
        assert_eq!(r.status, StatusCode::OK, "{scope}: {:?}", r.body);
        assert_eq!(r.body["properties"]["roleName"], "Contributor");
        assert_eq!(r.body["properties"]["type"], "BuiltInRole");
        assert_eq!(r.body["properties"]["assignableScopes"], json!(["/"]));
        let prefix = if scope.is_empty() { String::new() } else { sub.clone() };
        assert_eq!(r.body["id"], format!("{prefix}/providers/Microsoft.Authorization/roleDefinitions/{CONTRIBUTOR}"));
    }
    let r = h.get(&definitions(&sub, "&$filter=roleName%20eq%20'Storage%20Blob%20Data%20Reader'")).await;
    assert_eq!(r.body["value"].as_array().unwrap().len(), 1, "{:?}", r.body);
    assert_eq!(r.body["value"][0]["name"], BLOB_READER);
    assert_eq!(
        r.body["value"][0]["properties"]["permissions"][0]["dataActions"],
        json!(["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"])
    );
    let r = h.get(&definitions("", "&$filter=type%20eq%20'BuiltInRole'")).await;
    assert!(r.body["value"].as_array().unwrap().len() >= 11);
    let r = h.get(&definition_path(&sub, "b24988ac-6180-4239-a0b6-7bc3cbd6f6e8")).await;
    expect(&r, StatusCode::NOT_FOUND, "RoleDefinitionDoesNotExist");
    expect(
        &h.get(&definition_path(&h.sub("/resourceGroups/nope"), CONTRIBUTOR)).await,
        StatusCode::NOT_FOUND,
        "ResourceGroupNotFound",
    );
    h.stop().await;
}

#[tokio::test]
async fn custom_roles_as_agentpool_makes_them() {
    let h = Harness::default().await;
    let rg = group(&h, "rg-img").await;
    let sub = h.sub("");
    let actions = ["Microsoft.Compute/galleries/read", "Microsoft.Compute/galleries/images/versions/write"];
    let role = custom_role("agentpool image builder rg-img", &actions, &[&rg]);
    let r = h.put(&definition_path(&rg, CUSTOM), role.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let id = format!("{sub}/providers/Microsoft.Authorization/roleDefinitions/{CUSTOM}");
    assert_eq!((r.body["id"].as_str(), r.body["properties"]["type"].as_str()), (Some(id.as_str()), Some("CustomRole")));
    let created_on = r.body["properties"]["createdOn"].clone();
    assert_eq!(h.get(&definition_path(&rg, CUSTOM)).await.body["id"], id.as_str(), "found at any scope");
    assert_eq!(
        h.get(&definition_path("", CUSTOM)).await.body["properties"]["roleName"],
        "agentpool image builder rg-img"
    );
    let listed = h.get(&definitions(&rg, "&$filter=type%20eq%20'CustomRole'")).await;
    assert_eq!(listed.body["value"].as_array().unwrap().len(), 1);
    let listed = h.get(&definitions(&sub, "&$filter=type%20eq%20'CustomRole'")).await;
    assert_eq!(listed.body["value"].as_array().unwrap().len(), 0, "not assignable at the subscription");

    // A changed action list updates the role in place.
    let fewer = custom_role("agentpool image builder rg-img", &actions[..1], &[&rg]);
    let r = h.put(&definition_path(&rg, CUSTOM), fewer).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.body["id"], id.as_str());
    assert_eq!(r.body["properties"]["createdOn"], created_on);
    assert_eq!(r.body["properties"]["permissions"][0]["actions"], json!(["Microsoft.Compute/galleries/read"]));

    // Assigned with its subscription-level id; not outside its assignable scopes; not while in use.
    let name = "0f7e6d5c-4b3a-4291-8807-f6e5d4c3b2a1";
    let r = h.put(&assignment_path(&rg, name), assignment(&h, CUSTOM, PRINCIPAL)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let r =
        h.put(&assignment_path(&sub, "1f7e6d5c-4b3a-4291-8807-f6e5d4c3b2a1"), assignment(&h, CUSTOM, PRINCIPAL)).await;
    expect(&r, StatusCode::BAD_REQUEST, "RoleAssignmentScopeNotAssignableToRoleDefinition");
    expect(&h.delete(&definition_path(&rg, CUSTOM)).await, StatusCode::CONFLICT, "RoleDefinitionHasAssignments");
    assert_eq!(h.delete(&assignment_path(&rg, name)).await.status, StatusCode::OK);
    let r = h.delete(&definition_path(&rg, CUSTOM)).await;
    assert_eq!((r.status, r.body["name"].as_str()), (StatusCode::OK, Some(CUSTOM)));
    assert_eq!(h.delete(&definition_path(&rg, CUSTOM)).await.status, StatusCode::NO_CONTENT);
    expect(&h.get(&definition_path(&rg, CUSTOM)).await, StatusCode::NOT_FOUND, "RoleDefinitionDoesNotExist");
    h.stop().await;
}

#[tokio::test]
async fn custom_roles_are_checked_as_arm_checks_them() {
    let h = Harness::default().await;
    let rg = group(&h, "rg-img").await;
    let other = group(&h, "rg-other").await;
    let read = ["Microsoft.Compute/galleries/read"];
    assert_eq!(
        h.put(&definition_path(&rg, CUSTOM), custom_role("unique name", &read, &[&rg])).await.status,
        StatusCode::CREATED
    );
    let second = "6e1d7f2b-4c8a-4d3f-8b9e-2a3b4c5d6e7f";
    let cases = [
        (
            definition_path(&other, second),
            custom_role("unique name", &read, &[&other]),
            StatusCode::CONFLICT,
            "RoleDefinitionWithSameNameExists",
        ),
        (
            definition_path(&other, second),
            custom_role("reader", &read, &[&other]),
            StatusCode::CONFLICT,
            "RoleDefinitionWithSameNameExists",
        ),
        (
            definition_path(&other, second),
            custom_role("bad action", &["Microsoft.Compute/galleries read"], &[&other]),
            StatusCode::BAD_REQUEST,
            "InvalidActionOrNotAction",
        ),
        (
            definition_path(&other, second),
            custom_role("elsewhere", &read, &[&rg]),
            StatusCode::BAD_REQUEST,
            "InvalidCreateRoleDefinitionRequest",
        ),
        (
            definition_path(&other, second),
            custom_role("no scopes", &read, &[]),
            StatusCode::BAD_REQUEST,
            "InvalidRequestContent",
        ),
        (
            definition_path(&h.sub(""), second),
            custom_role("root", &read, &["/"]),
            StatusCode::FORBIDDEN,
            "LinkedAuthorizationFailed",
        ),
        (
            definition_path(&other, second),
            custom_role("foreign", &read, &[&other, "/subscriptions/00000000-0000-0000-0000-000000000001"]),
            StatusCode::FORBIDDEN,
            "LinkedAuthorizationFailed",
        ),
        (
            definition_path(&rg, CONTRIBUTOR),
            custom_role("mine now", &read, &[&rg]),
            StatusCode::BAD_REQUEST,
            "InvalidRoleDefinitionId",
        ),
        (
            definition_path(&rg, "not-a-guid"),
            custom_role("x", &read, &[&rg]),
            StatusCode::BAD_REQUEST,
            "InvalidRoleDefinitionId",
        ),
    ];
    for (path, body, status, code) in cases {
        let r = h.put(&path, body).await;
        expect(&r, status, code);
    }

    // Assignments name roles that exist.
    let r = h
        .put(
            &assignment_path(&rg, "7a6b5c4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d"),
            assignment(&h, "b24988ac-6180-4239-a0b6-7bc3cbd6f6e8", PRINCIPAL),
        )
        .await;
    expect(&r, StatusCode::BAD_REQUEST, "RoleDefinitionDoesNotExist");
    assert_eq!(
        r.body["error"]["message"],
        "The specified role definition with ID 'b24988ac61804239a0b67bc3cbd6f6e8' does not exist."
    );
    h.stop().await;
}

fn with_roles(roles: &[&str]) -> Config {
    let mut config = Config::for_tests();
    config.caller_role = roles.iter().map(|r| CallerRole::parse(r).unwrap()).collect();
    config
}

#[tokio::test]
async fn the_client_may_do_what_its_roles_allow() {
    let h = Harness::start(with_roles(&["Contributor"])).await;
    let oid = h.ready().principal_id.clone();
    let rg = group(&h, "rg").await;
    let path = assignment_path(&rg, "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e");
    let r = h.put(&path, assignment(&h, CONTRIBUTOR, PRINCIPAL)).await;
    expect(&r, StatusCode::FORBIDDEN, "AuthorizationFailed");
    let scope = path.split('?').next().unwrap();
    assert_eq!(
        r.body["error"]["message"],
        format!("The client '{oid}' with object id '{oid}' does not have authorization to perform action 'Microsoft.Authorization/roleAssignments/write' over scope '{scope}' or the scope is invalid. If access was recently granted, please refresh your credentials.")
    );
    let r = h.put(&definition_path(&rg, CUSTOM), custom_role("x", &["*/read"], &[&rg])).await;
    expect(&r, StatusCode::FORBIDDEN, "AuthorizationFailed");
    let mine = h.get(&format!("{rg}/providers/Microsoft.Authorization/roleAssignments?api-version={AUTHZ_API}&$filter=principalId%20eq%20'{oid}'")).await;
    assert_eq!(mine.body["value"].as_array().unwrap().len(), 1, "{:?}", mine.body);
    assert_eq!(
        mine.body["value"][0]["properties"]["roleDefinitionId"].as_str().unwrap().rsplit('/').next(),
        Some(CONTRIBUTOR)
    );
    h.stop().await;

    let h = Harness::start(with_roles(&["Reader"])).await;
    let r = h
        .put(&format!("{}?api-version={RG_API}", h.sub("/resourceGroups/rg")), json!({"location": "westeurope"}))
        .await;
    expect(&r, StatusCode::FORBIDDEN, "AuthorizationFailed");
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("'Microsoft.Resources/subscriptions/resourceGroups/write' over scope"),
        "{:?}",
        r.body
    );
    assert_eq!(
        h.get(&h.sub(&format!("/resourcegroups?api-version={RG_API}"))).await.status,
        StatusCode::OK,
        "Reader reads"
    );
    h.stop().await;

    let h = Harness::start(with_roles(&["Contributor", "User Access Administrator"])).await;
    let rg = group(&h, "rg").await;
    let r = h
        .put(&assignment_path(&rg, "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e"), assignment(&h, CONTRIBUTOR, PRINCIPAL))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    h.stop().await;
}
