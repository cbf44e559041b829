//! The rights a deploy needs, read from its desired state: which action, on which scope, for
//! which resource.
//!
//! Resource Manager authorizes a PUT of a resource of type `T` with the action `T/write`
//! (`Microsoft.Resources/subscriptions/resourceGroups/write` for a resource group), checked at
//! the resource and inherited from its resource group and subscription. Beyond the writes:
//! - a resource that names a user-assigned identity (`identity.userAssignedIdentities`, the
//!   image template) needs `Microsoft.ManagedIdentity/userAssignedIdentities/assign/action` on
//!   that identity ("RBAC action for assigning an existing user assigned identity to a
//!   resource", Microsoft's resource provider operations for Microsoft.ManagedIdentity);
//! - a resource that joins an existing subnet (`subnet.id`, `subnetId`) needs
//!   `Microsoft.Network/virtualNetworks/subnets/join/action` on it;
//! - a role definition needs `Microsoft.Authorization/roleDefinitions/write` at each of its
//!   assignable scopes;
//! - starting the build needs `Microsoft.VirtualMachineImages/imageTemplates/run/action`, and
//!   stamping the new image version's tags `Microsoft.Compute/galleries/images/versions/write`;
//! - the script upload (Entra ID, no keys) needs the data actions
//!   `Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read` (the MD5 comparison)
//!   and `…/blobs/write` on the container (Storage Blob Data Contributor carries both).
//!
//! Only resources the run would write count ([`Writes`]): a resource the live plan leaves
//! unchanged needs no `write`, so a converged environment asks a pipeline principal for no
//! rights to assign or define roles. Starting the build (and the identity it runs as) and the
//! new image version are needed on every image build, whatever the plan says.
//!
//! # Caveats
//! - Rights are evaluated at the resource group of each resource (or the subscription for
//!   subscription-level ids), not at the resource: a right granted only on one resource below
//!   its group is not seen, and is reported missing.
//! - Only ARM resources (`/subscriptions/…` ids) are considered; Azure DevOps rights (the agent
//!   pool) are not Azure RBAC and are not checked.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::permissions::Plane;
use crate::apply::live::LivePlan;
use crate::events::Action;
use crate::plan::{DesiredState, Stage};
use crate::resources::kind::Service;
use crate::resources::{self, blob_container, gallery_image, image_template, resource_group, role_definition};

/// The action Resource Manager checks to create or update a resource group.
pub const RESOURCE_GROUP_WRITE: &str = resource_group::WRITE_ACTION;
pub const ASSIGN_IDENTITY: &str = "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action";
pub const JOIN_SUBNET: &str = "Microsoft.Network/virtualNetworks/subnets/join/action";
pub const JOIN_NAT_GATEWAY: &str = "Microsoft.Network/natGateways/join/action";
pub const JOIN_PUBLIC_IP: &str = "Microsoft.Network/publicIPAddresses/join/action";
pub const JOIN_PUBLIC_IP_PREFIX: &str = "Microsoft.Network/publicIPPrefixes/join/action";
pub const RUN_IMAGE_TEMPLATE: &str = "Microsoft.VirtualMachineImages/imageTemplates/run/action";
pub const WRITE_IMAGE_VERSION: &str = "Microsoft.Compute/galleries/images/versions/write";
pub const READ_BLOB: &str = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read";
pub const WRITE_BLOB: &str = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write";

/// Which resources the run would write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Writes {
    /// Every resource: the live plan was not read.
    All,
    /// The resources the live plan creates, updates or replaces, by id (compared in any case).
    Only(BTreeSet<String>),
}

impl Writes {
    /// The written resources of a live plan.
    pub fn of(plan: &LivePlan) -> Self {
        Writes::Only(
            plan.actions.iter().filter(|a| a.action != Action::NoChange).map(|a| a.resource.id.clone()).collect(),
        )
    }

    pub fn includes(&self, id: &str) -> bool {
        match self {
            Writes::All => true,
            Writes::Only(ids) => ids.iter().any(|written| written.eq_ignore_ascii_case(id)),
        }
    }
}

/// Where rights are evaluated: a resource group, or a subscription.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    ResourceGroup { subscription: String, name: String },
    Subscription { subscription: String },
}

impl Scope {
    /// The scope an ARM id lies in; `None` for ids outside a subscription.
    pub fn of(id: &str) -> Option<Scope> {
        let (subscription, group) = resources::subscription_and_group(id)?;
        Some(match group {
            Some(name) => Scope::ResourceGroup { subscription, name },
            None => Scope::Subscription { subscription },
        })
    }

    pub fn subscription(&self) -> &str {
        match self {
            Scope::ResourceGroup { subscription, .. } | Scope::Subscription { subscription } => subscription,
        }
    }

    /// `/subscriptions/{s}` or `/subscriptions/{s}/resourceGroups/{g}`.
    pub fn id(&self) -> String {
        match self {
            Scope::ResourceGroup { subscription, name } => resources::resource_group_id(subscription, name),
            Scope::Subscription { subscription } => format!("/subscriptions/{subscription}"),
        }
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Scope::ResourceGroup { name, .. } => write!(f, "resource group {name}"),
            Scope::Subscription { subscription } => write!(f, "subscription {subscription}"),
        }
    }
}

/// One right the deploy needs: an action (or data action) at a scope.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Right {
    pub scope: Scope,
    pub action: String,
    pub plane: Plane,
}

impl Right {
    pub fn new(scope: Scope, action: &str, plane: Plane) -> Self {
        Self { scope, action: action.to_owned(), plane }
    }
}

/// The rights that deploying the resources of `stages` needs, each with what needs it (e.g.
/// `storage account stagents`), in a stable order; writes only for the resources in `writes`.
pub fn required(desired: &DesiredState, stages: &[Stage], writes: &Writes) -> BTreeMap<Right, Vec<String>> {
    let mut out: BTreeMap<Right, Vec<String>> = BTreeMap::new();
    let mut add = |id: &str, action: &str, plane: Plane, needed_for: String| {
        if let Some(scope) = Scope::of(id) {
            let entry = out.entry(Right::new(scope, action, plane)).or_default();
            if !entry.contains(&needed_for) {
                entry.push(needed_for);
            }
        }
    };
    let arm_resources = desired.resources.iter().filter(|r| r.kind.service == Service::ResourceManager);
    for resource in arm_resources.filter(|r| stages.contains(&r.stage)) {
        let what = format!("{} {}", resource.kind.short_name, resource.name);
        if resource.kind == &image_template::KIND {
            add(&resource.id, RUN_IMAGE_TEMPLATE, Plane::Control, format!("starting the build of {what}"));
            for identity in user_assigned_identities(&resource.body) {
                add(&identity, ASSIGN_IDENTITY, Plane::Control, what.clone());
            }
        }
        if !writes.includes(&resource.id) {
            continue;
        }
        let write = resource.kind.write_action();
        let write_scopes = if resource.kind == &role_definition::KIND {
            assignable_scopes(&resource.body).unwrap_or_else(|| vec![resource.id.clone()])
        } else {
            vec![resource.id.clone()]
        };
        for scope in &write_scopes {
            add(scope, &write, Plane::Control, what.clone());
        }
        if resource.kind != &image_template::KIND {
            for identity in user_assigned_identities(&resource.body) {
                add(&identity, ASSIGN_IDENTITY, Plane::Control, what.clone());
            }
        }
        for (linked, action) in linked(&resource.body) {
            add(&linked, action, Plane::Control, what.clone());
        }
    }
    if stages.contains(&Stage::Image) {
        for definition in desired.resources.iter().filter(|r| r.kind == &gallery_image::KIND) {
            let what =
                format!("the new image version's tags in {} {}", gallery_image::KIND.short_name, definition.name);
            add(&definition.id, WRITE_IMAGE_VERSION, Plane::Control, what);
        }
    }
    if !desired.uploads.is_empty() && (stages.contains(&Stage::Infra) || stages.contains(&Stage::Image)) {
        for container in desired.resources.iter().filter(|r| r.kind == &blob_container::KIND) {
            let what = format!("uploading the scripts to {} {}", blob_container::KIND.short_name, container.name);
            add(&container.id, READ_BLOB, Plane::Data, what.clone());
            add(&container.id, WRITE_BLOB, Plane::Data, what);
        }
    }
    out
}

fn assignable_scopes(body: &Value) -> Option<Vec<String>> {
    let scopes: Vec<String> = body
        .pointer("/properties/assignableScopes")?
        .as_array()?
        .iter()
        .filter_map(|s| s.as_str().map(str::to_owned))
        .collect();
    (!scopes.is_empty()).then_some(scopes)
}

fn user_assigned_identities(body: &Value) -> Vec<String> {
    body.pointer("/identity/userAssignedIdentities")
        .and_then(Value::as_object)
        .map(|identities| identities.keys().cloned().collect())
        .unwrap_or_default()
}

/// The resources a body links to that Resource Manager checks a `join` right on, with that
/// action: subnets (`"subnet": {"id": …}` of scale sets, `"subnetId"` of Image Builder's
/// `vnetConfig`), a subnet's NAT gateway, a NAT gateway's public IPs and prefixes; at any depth.
fn linked(body: &Value) -> Vec<(String, &'static str)> {
    let mut found = Vec::new();
    let ids = |value: &Value| -> Vec<String> {
        match value {
            Value::Object(item) => item.get("id").and_then(Value::as_str).map(str::to_owned).into_iter().collect(),
            Value::Array(items) => {
                items.iter().filter_map(|i| i.get("id").and_then(Value::as_str).map(str::to_owned)).collect()
            }
            Value::String(id) => vec![id.clone()],
            _ => Vec::new(),
        }
    };
    walk(body, &mut |key, value| {
        let action = match key {
            "subnet" | "subnetId" | "containerInstanceSubnetId" => JOIN_SUBNET,
            "natGateway" => JOIN_NAT_GATEWAY,
            "publicIpAddresses" => JOIN_PUBLIC_IP,
            "publicIpPrefixes" => JOIN_PUBLIC_IP_PREFIX,
            _ => return,
        };
        found.extend(ids(value).into_iter().map(|id| (id, action)));
    });
    found.sort();
    found.dedup();
    found
}

fn walk(value: &Value, visit: &mut dyn FnMut(&str, &Value)) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                visit(key, child);
                walk(child, visit);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| walk(item, visit)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{desired_state, PlanContext};
    use crate::version::VersionInputs;
    use time::macros::datetime;

    const SUB: &str = "00000000-0000-0000-0000-000000000000";

    fn linux_example() -> DesiredState {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../yaml-templates/parameters/sbx.parameters.linux.json");
        let loaded = crate::params::load(&path).unwrap_or_else(|d| panic!("{d}"));
        let context = PlanContext {
            subscription: Some(SUB),
            version: VersionInputs { now: datetime!(2024-11-17 15:31:24 UTC), cli_version: None, repo_dir: None },
            ..PlanContext::offline_now()
        };
        desired_state(&loaded, &context).unwrap()
    }

    fn group(name: &str) -> Scope {
        Scope::ResourceGroup { subscription: SUB.to_owned(), name: name.to_owned() }
    }

    #[test]
    fn scopes_come_from_ids() {
        assert_eq!(
            Scope::of("/subscriptions/s1/resourcegroups/rg-a/providers/Microsoft.Storage/storageAccounts/st"),
            Some(Scope::ResourceGroup { subscription: "s1".into(), name: "rg-a".into() })
        );
        assert_eq!(
            Scope::of("/subscriptions/s1/resourceGroups/rg-a"),
            Some(Scope::ResourceGroup { subscription: "s1".into(), name: "rg-a".into() })
        );
        assert_eq!(
            Scope::of("/subscriptions/s1/providers/Microsoft.Authorization/roleDefinitions/9a1f"),
            Some(Scope::Subscription { subscription: "s1".into() })
        );
        assert_eq!(Scope::of("https://dev.azure.com/contoso/_apis/distributedtask/elasticpools"), None);
        assert_eq!(group("rg-a").id(), format!("/subscriptions/{SUB}/resourceGroups/rg-a"));
    }

    #[test]
    fn the_infrastructure_needs_writes_role_assignments_and_the_upload() {
        let needed = required(&linux_example(), &[Stage::Infra], &Writes::All);
        let has =
            |scope: &Scope, action: &str, plane: Plane| needed.contains_key(&Right::new(scope.clone(), action, plane));
        let image = group("rg-agents-sbx");
        for action in [
            RESOURCE_GROUP_WRITE,
            "Microsoft.Storage/storageAccounts/write",
            "Microsoft.Storage/storageAccounts/blobServices/containers/write",
            "Microsoft.ManagedIdentity/userAssignedIdentities/write",
            "Microsoft.Authorization/roleAssignments/write",
            "Microsoft.Compute/galleries/write",
            "Microsoft.Compute/galleries/images/write",
        ] {
            assert!(has(&image, action, Plane::Control), "{action} missing: {needed:#?}");
        }
        assert!(has(&image, WRITE_BLOB, Plane::Data));
        assert!(has(&image, READ_BLOB, Plane::Data));
        assert!(!has(&image, RUN_IMAGE_TEMPLATE, Plane::Control), "the build is not part of the infrastructure");
        let assignments =
            &needed[&Right::new(image.clone(), "Microsoft.Authorization/roleAssignments/write", Plane::Control)];
        assert!(assignments.iter().all(|w| w.starts_with("role assignment ")), "{assignments:?}");
        assert!(needed.keys().all(|right| right.scope == image), "the pool stage is left out: {needed:#?}");
    }

    #[test]
    fn a_converged_environment_needs_no_writes_but_the_build_and_the_upload() {
        let desired = linux_example();
        let image = group("rg-agents-sbx");
        let nothing = Writes::Only(BTreeSet::new());
        let infra = required(&desired, &[Stage::Infra], &nothing);
        let control: Vec<&str> =
            infra.keys().filter(|r| r.plane == Plane::Control).map(|r| r.action.as_str()).collect();
        assert_eq!(control, Vec::<&str>::new(), "{infra:#?}");
        assert!(infra.contains_key(&Right::new(image.clone(), READ_BLOB, Plane::Data)), "the upload compares");

        let template = desired.resources.iter().find(|r| r.kind == &image_template::KIND).unwrap();
        let one = Writes::Only(BTreeSet::from([template.id.to_ascii_uppercase()]));
        let build = required(&desired, &[Stage::Image, Stage::Infra], &one);
        let mut control: Vec<&str> =
            build.keys().filter(|r| r.plane == Plane::Control).map(|r| r.action.as_str()).collect();
        control.sort();
        assert_eq!(
            control,
            [
                WRITE_IMAGE_VERSION,
                ASSIGN_IDENTITY,
                RUN_IMAGE_TEMPLATE,
                "Microsoft.VirtualMachineImages/imageTemplates/write"
            ],
            "{build:#?}"
        );
        let unchanged_template = required(&desired, &[Stage::Image], &nothing);
        assert!(unchanged_template.contains_key(&Right::new(image.clone(), RUN_IMAGE_TEMPLATE, Plane::Control)));
        assert!(unchanged_template.contains_key(&Right::new(image, ASSIGN_IDENTITY, Plane::Control)));
    }

    #[test]
    fn the_build_needs_the_template_its_identity_and_the_run() {
        let needed = required(&linux_example(), &[Stage::Image], &Writes::All);
        let image = group("rg-agents-sbx");
        for action in [
            "Microsoft.VirtualMachineImages/imageTemplates/write",
            RUN_IMAGE_TEMPLATE,
            ASSIGN_IDENTITY,
            WRITE_IMAGE_VERSION,
        ] {
            assert!(needed.contains_key(&Right::new(image.clone(), action, Plane::Control)), "{action}: {needed:#?}");
        }
        assert!(
            needed.contains_key(&Right::new(image, WRITE_BLOB, Plane::Data)),
            "image build uploads the scripts too"
        );
    }

    #[test]
    fn the_pool_needs_its_group_the_scale_set_and_the_subnet() {
        let needed = required(&linux_example(), &[Stage::ScaleSet, Stage::Pool], &Writes::All);
        let pool = group("rg-agents-sbx-pool");
        for action in [
            RESOURCE_GROUP_WRITE,
            "Microsoft.Compute/virtualMachineScaleSets/write",
            "Microsoft.Network/natGateways/write",
            "Microsoft.Network/publicIPAddresses/write",
        ] {
            assert!(needed.contains_key(&Right::new(pool.clone(), action, Plane::Control)), "{action}: {needed:#?}");
        }
        assert_eq!(
            needed[&Right::new(group("rg-network-sbx"), JOIN_SUBNET, Plane::Control)],
            ["scale set vmss-agents-sbx-linux"]
        );
        // Attaching the NAT gateway writes the user's subnet and joins the gateway, which joins its address.
        let network = group("rg-network-sbx");
        let subnet_write = Right::new(network, "Microsoft.Network/virtualNetworks/subnets/write", Plane::Control);
        assert_eq!(needed[&subnet_write], ["subnet snet-agents"]);
        assert_eq!(needed[&Right::new(pool.clone(), JOIN_NAT_GATEWAY, Plane::Control)], ["subnet snet-agents"]);
        assert_eq!(needed[&Right::new(pool, JOIN_PUBLIC_IP, Plane::Control)], ["NAT gateway ng-agents-sbx"]);
        assert!(!needed.keys().any(|right| right.action.starts_with("AzureDevOps")), "Azure DevOps is not Azure RBAC");
    }

    #[test]
    fn a_role_definition_needs_write_at_its_assignable_scopes() {
        let mut desired = linux_example();
        let mut role = desired.resources[0].clone();
        role.kind = &role_definition::KIND;
        role.name = "ab12cd34-0000-0000-0000-000000000000".into();
        role.id = format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/ab12cd34-0000-0000-0000-000000000000");
        role.body = serde_json::json!({"properties": {"roleName": "agentpool image builder", "assignableScopes": [format!("/subscriptions/{SUB}/resourceGroups/rg-agents-sbx")]}});
        desired.resources = vec![role];
        desired.uploads.clear();
        let needed = required(&desired, &[Stage::Infra], &Writes::All);
        assert_eq!(
            needed.keys().map(|right| (right.scope.clone(), right.action.as_str())).collect::<Vec<_>>(),
            [(group("rg-agents-sbx"), "Microsoft.Authorization/roleDefinitions/write")]
        );
    }
}
