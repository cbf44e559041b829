//! `Microsoft.Authorization/roleDefinitions`: the custom role that lets the Image Builder
//! identity do what Microsoft documents it needs to distribute to a gallery, and nothing more.
//!
//! The actions are those of "Configure Azure VM Image Builder permissions by using the Azure
//! CLI" (<https://learn.microsoft.com/azure/virtual-machines/linux/image-builder-permissions-cli>):
//! in the distribution resource group, `Microsoft.Compute/images/write|read|delete`, and to
//! distribute to an Azure Compute Gallery "also" the gallery, image definition and image version
//! reads and the version write; to put the build VM in an existing virtual network,
//! `Microsoft.Network/virtualNetworks/read` and `…/subnets/join/action` on that network.
//!
//! The role is a resource like the others: PUT at the image resource group, compared field by
//! field with what Azure returns (which adds `createdOn`, `updatedOn`, `createdBy`, `updatedBy`),
//! and updated in place when its actions change.
//!
//! Caveats:
//! - Role names are unique in the tenant, resource group names only in their subscription: the
//!   role's name carries the first 8 hex digits of its GUID, itself derived from the group's full
//!   id, so two subscriptions' groups of the same name get two roles.
//! - Parameter files that share an image resource group share its role: they must agree on
//!   `buildSubnetId`, or each run rewrites the other's action list.
//! - Offline plans derive the GUID and name from `{subscriptionId}`; a live plan's differ.

use super::kind::{self, Kind};
use serde::{Deserialize, Serialize};

pub static KIND: Kind = kind::arm(
    "Microsoft.Authorization/roleDefinitions",
    "2022-04-01",
    "azure-rest-api-specs/specification/authorization/resource-manager/Microsoft.Authorization/stable/2022-04-01/authorization-RoleDefinitionsCalls.json",
    "role definition",
);

/// What the Image Builder identity needs in the resource group it distributes to, gallery
/// distribution included (see the module documentation for the source).
pub const DISTRIBUTION_ACTIONS: &[&str] = &[
    "Microsoft.Compute/galleries/read",
    "Microsoft.Compute/galleries/images/read",
    "Microsoft.Compute/galleries/images/versions/read",
    "Microsoft.Compute/galleries/images/versions/write",
    "Microsoft.Compute/images/write",
    "Microsoft.Compute/images/read",
    "Microsoft.Compute/images/delete",
];

/// What the Image Builder identity needs on an existing virtual network its build VM joins.
pub const VIRTUAL_NETWORK_ACTIONS: &[&str] =
    &["Microsoft.Network/virtualNetworks/read", "Microsoft.Network/virtualNetworks/subnets/join/action"];

/// `type` of a role agentpool defines (Azure's own are `BuiltInRole`).
pub const CUSTOM_ROLE: &str = "CustomRole";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleDefinition {
    pub properties: RoleDefinitionProperties,
}

/// The fields agentpool owns; Azure's read-only `createdOn`, `updatedOn`, `createdBy` and
/// `updatedBy` are left out (and ignored by the comparison with the live role).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleDefinitionProperties {
    pub role_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `CustomRole` for the roles agentpool defines.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub role_type: Option<String>,
    #[serde(default)]
    pub permissions: Vec<Permission>,
    #[serde(default)]
    pub assignable_scopes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Permission {
    #[serde(default)]
    pub actions: Vec<String>,
    #[serde(default)]
    pub not_actions: Vec<String>,
    #[serde(default)]
    pub data_actions: Vec<String>,
    #[serde(default)]
    pub not_data_actions: Vec<String>,
}

/// The GUID of the Image Builder role of the resource group `group_id`: the same on every run
/// and for every spelling of the id, different for every group.
pub fn guid(group_id: &str) -> String {
    let key = format!("agentpool:image-builder:{}", group_id.to_lowercase());
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, key.as_bytes()).to_string()
}

/// `agentpool Image Builder (<group>, <first 8 hex digits of the role's GUID>)`: readable, and
/// unique in the tenant because the GUID hashes the group's full id.
pub fn role_name(group_name: &str, guid: &str) -> String {
    format!("agentpool Image Builder ({group_name}, {})", guid.get(..8).unwrap_or(guid))
}

/// `<scope>/providers/Microsoft.Authorization/roleDefinitions/<guid>`: where the role is PUT, the
/// scope being its first assignable scope; the caller needs `roleDefinitions/write` on all of them
/// (<https://learn.microsoft.com/azure/role-based-access-control/custom-roles-rest>).
pub fn id(scope: &str, guid: &str) -> String {
    format!("{scope}/providers/Microsoft.Authorization/roleDefinitions/{guid}")
}

/// `/subscriptions/{s}/providers/Microsoft.Authorization/roleDefinitions/{guid}`: how role
/// assignments name a role, custom or built-in.
pub fn subscription_definition_id(subscription: &str, guid: &str) -> String {
    id(&format!("/subscriptions/{subscription}"), guid)
}

/// What the Image Builder role is defined for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageBuilderScope<'a> {
    /// Id of the image resource group, where Image Builder distributes.
    pub group_id: &'a str,
    pub group_name: &'a str,
    /// Id of the virtual network the build VM joins, if it joins one.
    pub virtual_network_id: Option<&'a str>,
}

impl ImageBuilderScope<'_> {
    /// Where the role may be assigned: the image resource group, and the resource group of the
    /// build VM's virtual network when that lies outside it. Assignable scopes are the root,
    /// management groups, subscriptions or resource groups, never a single resource
    /// (<https://learn.microsoft.com/azure/role-based-access-control/role-definitions#assignablescopes>):
    /// the assignment itself is made on the network, within its group.
    pub fn assignable_scopes(&self) -> Vec<String> {
        let mut scopes = vec![self.group_id.to_owned()];
        if let Some(group) = self.network_outside_group().and_then(resource_group_of) {
            scopes.push(group);
        }
        scopes
    }

    /// The build VM's virtual network when it is not in the image resource group (and so needs an
    /// assignment of its own).
    pub fn network_outside_group(&self) -> Option<&str> {
        self.virtual_network_id.filter(|network| !super::is_within(network, self.group_id))
    }
}

/// `/subscriptions/{s}/resourceGroups/{g}` of a resource id within a resource group.
fn resource_group_of(id: &str) -> Option<String> {
    let (subscription, group) = super::subscription_and_group(id)?;
    Some(super::resource_group_id(&subscription, &group?))
}

/// The custom role of the Image Builder identity for `scope`.
pub fn image_builder(scope: &ImageBuilderScope<'_>) -> RoleDefinition {
    let mut actions: Vec<String> = DISTRIBUTION_ACTIONS.iter().map(|a| (*a).to_owned()).collect();
    if scope.virtual_network_id.is_some() {
        actions.extend(VIRTUAL_NETWORK_ACTIONS.iter().map(|a| (*a).to_owned()));
    }
    let guid = guid(scope.group_id);
    RoleDefinition {
        properties: RoleDefinitionProperties {
            role_name: role_name(scope.group_name, &guid),
            description: Some(description(scope)),
            role_type: Some(CUSTOM_ROLE.to_owned()),
            permissions: vec![Permission { actions, ..Permission::default() }],
            assignable_scopes: scope.assignable_scopes(),
        },
    }
}

fn description(scope: &ImageBuilderScope<'_>) -> String {
    let network =
        if scope.virtual_network_id.is_some() { " and to put its build VM in the configured subnet" } else { "" };
    format!(
        "agentpool: what Azure VM Image Builder needs to distribute image versions to the galleries of resource group {}{network}",
        scope.group_name
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const GROUP: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-agents-sbx";

    fn scope(network: Option<&str>) -> ImageBuilderScope<'_> {
        ImageBuilderScope { group_id: GROUP, group_name: "rg-agents-sbx", virtual_network_id: network }
    }

    #[test]
    fn the_role_has_the_documented_gallery_actions_and_nothing_else() {
        let role = image_builder(&scope(None));
        let body = serde_json::to_value(&role).unwrap();
        let properties = &body["properties"];
        assert_eq!(properties["type"], "CustomRole");
        assert_eq!(properties["assignableScopes"], serde_json::json!([GROUP]));
        assert_eq!(properties["permissions"][0]["actions"], serde_json::json!(DISTRIBUTION_ACTIONS));
        for empty in ["notActions", "dataActions", "notDataActions"] {
            assert_eq!(properties["permissions"][0][empty], serde_json::json!([]), "{empty} is sent, empty");
        }
        let actions = &role.properties.permissions[0].actions;
        assert!(actions.iter().all(|a| !a.contains('*')), "no wildcard: {actions:?}");
        assert!(actions.iter().any(|a| a == "Microsoft.Compute/galleries/images/versions/write"));
        assert!(!actions.iter().any(|a| a.starts_with("Microsoft.Network/")), "no network without a subnet");
    }

    #[test]
    fn a_build_subnet_adds_the_network_actions_and_its_network_when_outside_the_group() {
        let inside = format!("{GROUP}/providers/Microsoft.Network/virtualNetworks/vnet-build");
        let role = image_builder(&scope(Some(&inside)));
        let network: Vec<String> = VIRTUAL_NETWORK_ACTIONS.iter().map(|a| (*a).to_owned()).collect();
        assert!(role.properties.permissions[0].actions.ends_with(&network));
        assert_eq!(role.properties.assignable_scopes, [GROUP]);

        let outside = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-network/providers/Microsoft.Network/virtualNetworks/vnet-hub";
        let role = image_builder(&scope(Some(outside)));
        let network_group = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-network";
        assert_eq!(role.properties.assignable_scopes, [GROUP, network_group], "resource groups, never a resource");
        assert_eq!(scope(Some(outside)).network_outside_group(), Some(outside));
        assert_eq!(scope(Some(&inside)).network_outside_group(), None);
    }

    #[test]
    fn guid_and_name_are_stable_per_group_and_unique_across_groups() {
        let first = image_builder(&scope(None));
        let again = image_builder(&ImageBuilderScope {
            group_id: &GROUP.replace("resourceGroups", "resourcegroups").to_uppercase(),
            ..scope(None)
        });
        assert_eq!(first.properties.role_name, again.properties.role_name, "ARM ids ignore case");
        let name = &first.properties.role_name;
        let guid = guid(GROUP);
        assert_eq!(uuid::Uuid::parse_str(&guid).unwrap().get_version_num(), 5);
        assert_eq!(name, &format!("agentpool Image Builder (rg-agents-sbx, {})", &guid[..8]));
        assert!(name.chars().count() <= 512, "Azure allows role names of 512 characters");

        // The same group name in another subscription is another role, with another name.
        let elsewhere = "/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg-agents-sbx";
        let other = image_builder(&ImageBuilderScope { group_id: elsewhere, ..scope(None) });
        assert_ne!(super::guid(elsewhere), guid);
        assert_ne!(&other.properties.role_name, name);
    }

    #[test]
    fn ids_are_the_scope_put_and_the_subscription_level_reference() {
        let guid = guid(GROUP);
        assert_eq!(id(GROUP, &guid), format!("{GROUP}/providers/Microsoft.Authorization/roleDefinitions/{guid}"));
        assert_eq!(
            subscription_definition_id("00000000-0000-0000-0000-000000000000", &guid),
            format!("/subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.Authorization/roleDefinitions/{guid}")
        );
    }

    /// The roleDefinitions PUT answers 201 only (RoleDefinitions_CreateOrUpdate in the 2022-04-01
    /// swagger), synchronously: the client takes it as done and returns the role.
    #[tokio::test]
    async fn a_put_answered_201_is_done() {
        use crate::arm::test_support::{client, Script};
        let role_id = id(GROUP, &guid(GROUP));
        let mut answer = serde_json::to_value(image_builder(&scope(None))).unwrap();
        answer["id"] = serde_json::json!(role_id);
        answer["properties"]["createdOn"] = serde_json::json!("2024-11-17T15:31:24.5764138Z");
        let script = Script::new();
        script.push_json(201, &[], &answer);
        let arm = client(&script);
        let body = serde_json::to_value(image_builder(&scope(None))).unwrap();
        assert_eq!(arm.put(&role_id, KIND.api_version, &body).await.unwrap(), answer);
        assert_eq!(script.lines(), [format!("PUT {role_id}?api-version=2022-04-01")]);
        assert_eq!(script.remaining(), 0);
    }
}
