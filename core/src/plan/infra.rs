//! The infrastructure stage: resource group, storage account and container for the scripts,
//! the Image Builder identity and its roles, gallery and image definition.

use super::{Binding, Resources};
use crate::params::model::{ImageBuilderRole, Parameters};
use crate::resources::{
    self, blob_container, built_in_roles, gallery, gallery_image, identity, known_after_apply, resource_group,
    role_assignment, role_definition, storage_account,
};

/// Ids of the infrastructure the later stages refer to.
pub(super) struct Infra {
    pub group: String,
    pub container: String,
    pub identity: String,
    pub definition: String,
}

/// Plans the infrastructure of `p` in subscription `sub`.
pub(super) fn desired(out: &mut Resources, p: &Parameters, sub: &str) -> Infra {
    let tags = &p.tags;
    let group = resources::resource_group_id(sub, &p.resource_group_name);
    out.add(
        &resource_group::KIND,
        &p.resource_group_name,
        &group,
        &[],
        &resource_group::ResourceGroup { location: p.location.clone(), tags: tags.clone() },
    );

    let account = resources::resource_id(sub, &p.resource_group_name, &storage_account::KIND, &p.storage_account_name);
    out.add(
        &storage_account::KIND,
        &p.storage_account_name,
        &account,
        &[&group],
        &storage_account::desired(&p.location, tags),
    );
    let container = blob_container::id(&account, &p.storage_container_name);
    out.add(&blob_container::KIND, &p.storage_container_name, &container, &[&account], &blob_container::desired());

    let identity = resources::resource_id(sub, &p.resource_group_name, &identity::KIND, &p.identity_name);
    out.add(
        &identity::KIND,
        &p.identity_name,
        &identity,
        &[&group],
        &identity::Identity { location: p.location.clone(), tags: tags.clone() },
    );
    image_builder_grants(out, p, sub, &ImageResources { group: &group, account: &account, identity: &identity });

    let gallery = resources::resource_id(sub, &p.resource_group_name, &gallery::KIND, &p.gallery_name);
    let gallery_body = gallery::Gallery {
        location: p.location.clone(),
        tags: tags.clone(),
        properties: gallery::GalleryProperties {
            description: Some(format!("Build agent images ({})", p.image_definition.name)),
        },
    };
    out.add(&gallery::KIND, &p.gallery_name, &gallery, &[&group], &gallery_body);
    let definition = gallery_image::id(&gallery, &p.image_definition.name);
    out.add(
        &gallery_image::KIND,
        &p.image_definition.name,
        &definition,
        &[&gallery],
        &gallery_image::desired(&p.image_definition, &p.location, tags),
    );
    Infra { group, container, identity, definition }
}

/// Ids of the image resources the Image Builder identity is granted access to.
struct ImageResources<'a> {
    group: &'a str,
    account: &'a str,
    identity: &'a str,
}

/// One role the Image Builder identity gets at one scope.
struct Grant {
    scope: String,
    /// GUID of the role definition.
    role: String,
    role_name: String,
    /// `/subscriptions/{s}/providers/Microsoft.Authorization/roleDefinitions/{guid}`.
    definition_id: String,
    /// The planned resources the assignment waits for: the role definition (or the scope), then
    /// the identity.
    depends_on: Vec<String>,
}

/// The Image Builder identity's roles: on the image resource group the custom least-privilege
/// role (defined first) or Contributor, as `imageBuilderRole` says; with a build subnet whose
/// virtual network lies outside that group, the custom role on that network too; and Storage
/// Blob Data Reader on the scripts' storage account.
fn image_builder_grants(out: &mut Resources, p: &Parameters, sub: &str, image: &ImageResources<'_>) {
    let mut grants = Vec::new();
    match p.image_builder_role {
        ImageBuilderRole::LeastPrivilege => {
            let scope = role_definition::ImageBuilderScope {
                group_id: image.group,
                group_name: &p.resource_group_name,
                virtual_network_id: p.build_virtual_network_id(),
            };
            let role = role_definition::image_builder(&scope);
            let guid = role_definition::guid(image.group);
            let role_id = role_definition::id(image.group, &guid);
            let role_name = role.properties.role_name.clone();
            out.add(&role_definition::KIND, &guid, &role_id, &[image.group], &role).summary = Some(role_name.clone());
            let scopes = std::iter::once(image.group).chain(scope.network_outside_group());
            for at in scopes {
                grants.push(Grant {
                    scope: at.to_owned(),
                    role: guid.clone(),
                    role_name: role_name.clone(),
                    // Named from the subscription of the scope, as ARM names roles for it.
                    definition_id: role_definition::subscription_definition_id(
                        resources::subscription_of(at).unwrap_or(sub),
                        &guid,
                    ),
                    depends_on: vec![role_id.clone(), image.identity.to_owned()],
                });
            }
        }
        ImageBuilderRole::Contributor => {
            grants.push(built_in_grant(sub, image.group, built_in_roles::CONTRIBUTOR, image))
        }
    }
    grants.push(built_in_grant(sub, image.account, built_in_roles::STORAGE_BLOB_DATA_READER, image));

    let principal = known_after_apply(&format!("principalId of identity {}", p.identity_name));
    for grant in grants {
        let name = role_assignment::name(&grant.scope, &grant.role, image.identity);
        let body = role_assignment::RoleAssignment {
            properties: role_assignment::RoleAssignmentProperties {
                role_definition_id: grant.definition_id,
                principal_id: principal.clone(),
                principal_type: "ServicePrincipal".to_owned(),
                description: Some(format!(
                    "agentpool: {} for Image Builder identity {}",
                    grant.role_name, p.identity_name
                )),
            },
        };
        let depends_on: Vec<&str> = grant.depends_on.iter().map(String::as_str).collect();
        let assignment =
            out.add(&role_assignment::KIND, &name, &role_assignment::id(&grant.scope, &name), &depends_on, &body);
        assignment.summary = Some(format!(
            "{} → identity {} on {}",
            grant.role_name,
            p.identity_name,
            resources::short_scope(&grant.scope)
        ));
        assignment.bindings.push(Binding {
            field: "/properties/principalId".to_owned(),
            from: image.identity.to_owned(),
            value: "/properties/principalId".to_owned(),
        });
    }
}

/// A built-in `role` at `scope` (a planned resource, which the assignment waits for).
fn built_in_grant(sub: &str, scope: &str, role: built_in_roles::BuiltInRole, image: &ImageResources<'_>) -> Grant {
    Grant {
        scope: scope.to_owned(),
        role: role.id.to_owned(),
        role_name: role.name.to_owned(),
        definition_id: role.definition_id(sub),
        depends_on: vec![scope.to_owned(), image.identity.to_owned()],
    }
}

#[cfg(test)]
mod tests {
    use time::OffsetDateTime;

    use super::super::test_support::*;
    use super::super::{desired_state, DesiredResource, LoadedParameters};
    use super::*;
    use crate::resources::image_template;

    const GROUP: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-agents-sbx";

    fn role_of(assignment: &DesiredResource) -> &str {
        assignment.body["properties"]["roleDefinitionId"].as_str().unwrap_or_default()
    }

    #[test]
    fn the_image_builder_identity_gets_the_custom_role_on_its_group_by_default() {
        let desired = desired_state(&linux_example(), &at(OffsetDateTime::now_utc())).unwrap();
        let [role] = of_kind(&desired, &role_definition::KIND)[..] else { panic!("one role definition") };
        let guid = role_definition::guid(GROUP);
        assert_eq!(role.id, format!("{GROUP}/providers/Microsoft.Authorization/roleDefinitions/{guid}"));
        assert_eq!(role.depends_on, [GROUP]);
        let properties = &role.body["properties"];
        assert_eq!(properties["permissions"][0]["actions"], serde_json::json!(role_definition::DISTRIBUTION_ACTIONS));
        assert_eq!(properties["assignableScopes"], serde_json::json!([GROUP]));
        assert_eq!(role.summary.as_deref(), properties["roleName"].as_str());

        let assignments = of_kind(&desired, &role_assignment::KIND);
        let on_group: Vec<_> = assignments
            .iter()
            .filter(|a| a.id.starts_with(&format!("{GROUP}/providers/Microsoft.Authorization/")))
            .collect();
        let [on_group] = on_group[..] else { panic!("one assignment on the group: {assignments:#?}") };
        assert_eq!(
            role_of(on_group),
            format!("/subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.Authorization/roleDefinitions/{guid}")
        );
        assert_eq!(on_group.depends_on[0], role.id, "the assignment waits for its role");
        assert!(assignments.iter().all(|a| built_in_roles::by_id(role_of(a)) != Some(built_in_roles::CONTRIBUTOR)));
        let storage = assignments.iter().find(|a| a.id.contains("/storageAccounts/")).unwrap();
        assert_eq!(built_in_roles::by_id(role_of(storage)), Some(built_in_roles::STORAGE_BLOB_DATA_READER));
        assert_eq!(
            on_group.summary.as_deref(),
            Some(&*format!(
                "{} → identity id-agents-sbx-imagebuilder on resourceGroups/rg-agents-sbx",
                properties["roleName"].as_str().unwrap()
            ))
        );
    }

    #[test]
    fn with_the_contributor_choice_no_role_is_defined_and_contributor_is_assigned() {
        let mut loaded = linux_example();
        loaded.parameters.image_builder_role = ImageBuilderRole::Contributor;
        let desired = desired_state(&loaded, &at(OffsetDateTime::now_utc())).unwrap();
        assert!(of_kind(&desired, &role_definition::KIND).is_empty());
        let roles: Vec<_> =
            of_kind(&desired, &role_assignment::KIND).into_iter().map(|a| built_in_roles::by_id(role_of(a))).collect();
        assert_eq!(roles, [Some(built_in_roles::CONTRIBUTOR), Some(built_in_roles::STORAGE_BLOB_DATA_READER)]);
        let contributor = of_kind(&desired, &role_assignment::KIND)[0];
        assert_eq!(
            role_of(contributor),
            "/subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.Authorization/roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c"
        );
        assert_eq!(contributor.depends_on[0], GROUP);
    }

    #[test]
    fn a_build_subnet_puts_the_build_vm_in_it_and_grants_the_network_actions_there() {
        let mut loaded = linux_example();
        let subnet = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-network/providers/Microsoft.Network/virtualNetworks/vnet-hub/subnets/snet-build";
        let network = subnet.trim_end_matches("/subnets/snet-build");
        loaded.parameters.build_subnet_id = Some(subnet.to_owned());
        let desired = desired_state(&loaded, &at(OffsetDateTime::now_utc())).unwrap();
        let template = of_kind(&desired, &image_template::KIND)[0];
        assert_eq!(template.body["properties"]["vmProfile"]["vnetConfig"], serde_json::json!({ "subnetId": subnet }));
        let role = of_kind(&desired, &role_definition::KIND)[0];
        let actions = role.body["properties"]["permissions"][0]["actions"].as_array().unwrap();
        for action in role_definition::VIRTUAL_NETWORK_ACTIONS {
            assert!(actions.iter().any(|a| a == action), "{action} in {actions:?}");
        }
        let network_group = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-network";
        assert_eq!(role.body["properties"]["assignableScopes"], serde_json::json!([GROUP, network_group]));
        let on_network: Vec<_> =
            of_kind(&desired, &role_assignment::KIND).into_iter().filter(|a| a.id.starts_with(network)).collect();
        let [on_network] = on_network[..] else { panic!("one assignment on the virtual network") };
        assert!(role_of(on_network).ends_with(&role_definition::guid(GROUP)));
        assert!(on_network.summary.as_deref().is_some_and(|s| s.ends_with("on virtualNetworks/vnet-hub")));

        // Without a subnet the template has no vnetConfig, so its name stays what it was.
        let plain = desired_state(&linux_example(), &at(OffsetDateTime::now_utc())).unwrap();
        assert!(of_kind(&plain, &image_template::KIND)[0].body["properties"]["vmProfile"].get("vnetConfig").is_none());
        assert_ne!(plain.image_template_name, desired.image_template_name);
    }

    #[test]
    fn a_build_subnet_inside_the_image_group_needs_no_second_assignment() {
        let mut loaded = linux_example();
        loaded.parameters.build_subnet_id =
            Some(format!("{GROUP}/providers/Microsoft.Network/virtualNetworks/vnet-build/subnets/default"));
        let desired = desired_state(&loaded, &at(OffsetDateTime::now_utc())).unwrap();
        assert_eq!(of_kind(&desired, &role_assignment::KIND).len(), 2);
        assert_eq!(
            of_kind(&desired, &role_definition::KIND)[0].body["properties"]["assignableScopes"],
            serde_json::json!([GROUP])
        );
    }

    #[test]
    fn the_role_name_is_stable_across_runs_and_unique_per_group() {
        let name = |loaded: &LoadedParameters, subscription: &'static str| {
            let mut context = at(OffsetDateTime::now_utc());
            context.subscription = Some(subscription);
            let desired = desired_state(loaded, &context).unwrap();
            of_kind(&desired, &role_definition::KIND)[0].body["properties"]["roleName"].as_str().unwrap().to_owned()
        };
        let loaded = linux_example();
        let first = name(&loaded, "00000000-0000-0000-0000-000000000000");
        assert_eq!(first, name(&loaded, "00000000-0000-0000-0000-000000000000"));
        assert!(first.starts_with("agentpool Image Builder (rg-agents-sbx, "), "{first}");
        assert_ne!(first, name(&loaded, "11111111-1111-1111-1111-111111111111"), "same group name, other subscription");
        let mut other = linux_example();
        other.parameters.resource_group_name = "rg-agents-dev".to_owned();
        assert_ne!(first, name(&other, "00000000-0000-0000-0000-000000000000"));
    }

    #[test]
    fn every_role_definition_id_is_a_built_in_role_or_the_custom_role_planned_beside_it() {
        for os in ["linux", "windows"] {
            let loaded = example(os);
            for choice in [ImageBuilderRole::LeastPrivilege, ImageBuilderRole::Contributor] {
                let mut loaded = loaded.clone();
                loaded.parameters.image_builder_role = choice;
                let desired = desired_state(&loaded, &at(OffsetDateTime::now_utc())).unwrap();
                let custom: Vec<&str> =
                    of_kind(&desired, &role_definition::KIND).iter().map(|r| r.name.as_str()).collect();
                for assignment in of_kind(&desired, &role_assignment::KIND) {
                    let id = role_of(assignment);
                    let guid = id.rsplit('/').next().unwrap_or_default();
                    assert!(
                        built_in_roles::by_id(id).is_some() || custom.contains(&guid),
                        "{os} {choice:?}: {} names role {id}, neither built in nor planned",
                        assignment.name
                    );
                }
            }
        }
    }
}
