//! Desired state: every resource a parameter file describes, with its api-version, request body
//! and the resources it depends on.
//!
//! [`desired_state`] works offline: values that only Azure or Azure DevOps can tell (the
//! identity's principal id, the service connection's id) are shown as `<…: known after apply>`,
//! and the subscription as `{subscriptionId}` unless one is given. Comparing this desired state
//! with what Azure has (create / update / no change) builds on it.

pub mod diff;

use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;

use crate::aib::OsType;
use crate::params::model::{ImageBuilderRole, Parameters};
use crate::params::{Diagnostic, JsonPath, LoadedParameters};
use crate::resources::{
    self, agent_pool, blob_container, built_in_roles, gallery, gallery_image, identity, image_template,
    known_after_apply, nat_gateway, public_ip, resource_group, role_assignment, role_definition, scale_set,
    storage_account,
};
use crate::scripts::{self, ScriptUpload};
use crate::version::{ImageVersion, VersionInputs};

/// One resource of the desired state.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DesiredResource {
    /// Resource type, e.g. `Microsoft.Compute/galleries`.
    pub kind: &'static str,
    pub name: String,
    /// ARM resource id (or, for Azure DevOps, the collection URL).
    pub id: String,
    pub api_version: &'static str,
    /// Ids of the resources that must exist first.
    pub depends_on: Vec<String>,
    /// The request body.
    pub body: Value,
    /// Query parameters of the create call, for APIs that take them (Azure DevOps).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<Value>,
    /// Which step deploys it.
    pub stage: Stage,
    /// Body fields filled from resources created earlier, e.g. an identity's principal id.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub bindings: Vec<Binding>,
    /// What a person calls the resource when its name says little, e.g. a role assignment's
    /// `<role name> → identity <name> on resourceGroups/<group>` instead of its GUID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
}

/// The steps of a deployment (the image pipeline's scopes), each deploying its share of the
/// desired state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Stage {
    /// Resource group, storage and scripts, identity and roles, gallery and image definition.
    Infra,
    /// The Image Builder template (and its run).
    Image,
    /// Scale set, NAT gateway and the Azure DevOps agent pool.
    Pool,
}

/// A body field whose value comes from another resource once that exists: the body shows a
/// `<…: known after apply>` placeholder until then.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Binding {
    /// JSON pointer into this resource's body, e.g. `/properties/principalId`.
    pub field: String,
    /// Id of the resource the value comes from.
    pub from: String,
    /// JSON pointer into that resource as Azure returns it.
    pub value: String,
}

impl DesiredResource {
    /// [`Self::summary`], or the name.
    pub fn label(&self) -> &str {
        self.summary.as_deref().unwrap_or(&self.name)
    }

    /// The body with every binding filled from `lookup(id)`, the live resources by id.
    /// Returns the pointer of the first binding that cannot be filled yet.
    pub fn bound_body<'a>(&self, lookup: impl Fn(&str) -> Option<&'a Value>) -> Result<Value, String> {
        let mut body = self.body.clone();
        for binding in &self.bindings {
            let value = lookup(&binding.from)
                .and_then(|source| source.pointer(&binding.value))
                .ok_or_else(|| format!("{} of {}", binding.value, binding.from))?;
            if let Some(slot) = body.pointer_mut(&binding.field) {
                *slot = value.clone();
            }
        }
        Ok(body)
    }
}

/// The desired state of one parameter file.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DesiredState {
    pub parameters_file: String,
    pub os: OsType,
    /// `None` when Image Builder numbers the version ([`crate::version::VersionStrategy::ImageBuilder`]).
    pub image_version: Option<ImageVersion>,
    pub image_template_name: String,
    /// What this build tells its image version (commit, pipeline run, end of life).
    #[serde(skip)]
    pub provenance: crate::image::provenance::Provenance,
    pub uploads: Vec<ScriptUpload>,
    pub resources: Vec<DesiredResource>,
}

/// What planning needs beyond the parameter file.
#[derive(Debug, Clone)]
pub struct PlanContext<'a> {
    /// Subscription id; `None` renders `{subscriptionId}`.
    pub subscription: Option<&'a str>,
    pub version: VersionInputs<'a>,
    /// The storage account's blob endpoint as Azure reports it (`primaryEndpoints.blob`);
    /// `None` assumes the public cloud's `https://<account>.blob.core.windows.net/`.
    pub blob_endpoint: Option<&'a str>,
    /// Where the build comes from, for the image version's tags and `excludeFromLatest`.
    pub build: BuildInfo,
}

/// The pipeline run behind an image build (Azure Pipelines' `BUILD_*` variables, or flags).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildInfo {
    /// `main`, `release/2024.11`, `feature/x` (a `refs/heads/` prefix is dropped).
    pub branch: Option<String>,
    pub commit: Option<String>,
    pub build_id: Option<String>,
    pub environment: Option<String>,
}

impl BuildInfo {
    /// From Azure Pipelines' predefined variables, as the agent exports them.
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Self {
            branch: var("BUILD_SOURCEBRANCH"),
            commit: var("BUILD_SOURCEVERSION"),
            build_id: var("BUILD_BUILDID"),
            environment: None,
        }
    }

    /// The branch without `refs/heads/`.
    pub fn branch_name(&self) -> Option<&str> {
        self.branch.as_deref().map(|b| b.strip_prefix("refs/heads/").unwrap_or(b))
    }

    /// Images are published from main and release branches only: a build of any other known
    /// branch is kept out of the definition's `latest`. Unknown branch: published.
    pub fn exclude_from_latest(&self) -> bool {
        self.branch_name()
            .is_some_and(|b| !matches!(b, "main" | "master") && !b.starts_with("release/") && b != "release")
    }
}

impl PlanContext<'_> {
    /// Offline defaults: no subscription, the current time, no version given.
    pub fn offline_now() -> PlanContext<'static> {
        PlanContext {
            subscription: None,
            version: VersionInputs { now: OffsetDateTime::now_utc(), cli_version: None, repo_dir: None },
            blob_endpoint: None,
            build: BuildInfo::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The image version cannot be chosen; a usage error.
    #[error("{0}")]
    Version(Diagnostic),
    #[error(transparent)]
    Script(#[from] scripts::ScriptError),
}

/// Builds the desired state of `loaded`.
pub fn desired_state(loaded: &LoadedParameters, context: &PlanContext<'_>) -> Result<DesiredState, PlanError> {
    let p = &loaded.parameters;
    let sub = context.subscription.unwrap_or(resources::SUBSCRIPTION_PLACEHOLDER);
    let os = p.image_definition.os_type;
    let tags = &p.tags;
    let mut out = Resources::default();

    let image_version = p.image_version.strategy.resolve(&context.version).map_err(|error| {
        PlanError::Version(Diagnostic::at(
            &loaded.display_name,
            &JsonPath::parameter("imageVersion"),
            error.to_string(),
            "fix imageVersion, or pass --image-version for the semver strategy",
        ))
    })?;

    // Image resources.
    let rg_id = resources::resource_group_id(sub, &p.resource_group_name);
    out.add(
        resource_group::KIND,
        &p.resource_group_name,
        &rg_id,
        resource_group::API_VERSION,
        &[],
        to_json(&resource_group::ResourceGroup { location: p.location.clone(), tags: tags.clone() }),
    );

    let account_id =
        resources::resource_id(sub, &p.resource_group_name, storage_account::KIND, &p.storage_account_name);
    out.add(
        storage_account::KIND,
        &p.storage_account_name,
        &account_id,
        storage_account::API_VERSION,
        &[&rg_id],
        to_json(&storage_account::desired(&p.location, tags)),
    );

    let container_id = blob_container::id(&account_id, &p.storage_container_name);
    out.add(
        blob_container::KIND,
        &p.storage_container_name,
        &container_id,
        blob_container::API_VERSION,
        &[&account_id],
        to_json(&blob_container::desired()),
    );

    let identity_id = resources::resource_id(sub, &p.resource_group_name, identity::KIND, &p.identity_name);
    out.add(
        identity::KIND,
        &p.identity_name,
        &identity_id,
        identity::API_VERSION,
        &[&rg_id],
        to_json(&identity::Identity { location: p.location.clone(), tags: tags.clone() }),
    );

    image_builder_grants(
        &mut out,
        p,
        sub,
        &ImageResources { group: &rg_id, account: &account_id, identity: &identity_id },
    );

    let gallery_id = resources::resource_id(sub, &p.resource_group_name, gallery::KIND, &p.gallery_name);
    let gallery_body = gallery::Gallery {
        location: p.location.clone(),
        tags: tags.clone(),
        properties: gallery::GalleryProperties {
            description: Some(format!("Build agent images ({})", p.image_definition.name)),
        },
    };
    out.add(gallery::KIND, &p.gallery_name, &gallery_id, gallery::API_VERSION, &[&rg_id], to_json(&gallery_body));

    let definition_id = format!("{gallery_id}/images/{}", p.image_definition.name);
    out.add(
        gallery_image::KIND,
        &p.image_definition.name,
        &definition_id,
        gallery_image::API_VERSION,
        &[&gallery_id],
        to_json(&gallery_image::desired(&p.image_definition, &p.location, tags)),
    );

    // Image template.
    out.stage = Stage::Image;
    let endpoint = context
        .blob_endpoint
        .map(|e| format!("{}/", e.trim_end_matches('/')))
        .unwrap_or_else(|| storage_account::public_blob_endpoint(&p.storage_account_name));
    let container_url = format!("{endpoint}{}", p.storage_container_name);
    let (customize, uploads) = scripts::expand(&p.customization_steps, os, &loaded.scripts_dir, &container_url)?;
    // Without a number of ours, the definition: Image Builder numbers the version, and a scale
    // set takes the definition's latest.
    let version_id = match &image_version {
        Some(version) => format!("{definition_id}/versions/{version}"),
        None => definition_id.clone(),
    };
    let versioning = match &p.image_version.strategy {
        crate::version::VersionStrategy::ImageBuilder { major } => {
            Some(image_template::DistributeVersioning::Latest { major: *major })
        }
        _ => None,
    };
    let template = image_template::ImageTemplate {
        location: p.location.clone(),
        tags: tags.clone(),
        identity: image_template::TemplateIdentity {
            kind: "UserAssigned".to_owned(),
            user_assigned_identities: [(identity_id.clone(), Default::default())].into_iter().collect(),
        },
        properties: image_template::ImageTemplateProperties {
            build_timeout_in_minutes: p.build_timeout_in_minutes,
            vm_profile: image_template::VmProfile {
                vm_size: p.build_vm_size.clone(),
                os_disk_size_gb: p.os_disk_size_gb,
                vnet_config: p
                    .build_subnet_id
                    .as_ref()
                    .map(|subnet| image_template::VnetConfig { subnet_id: subnet.clone() }),
            },
            source: p.image_source.clone(),
            customize,
            distribute: vec![image_template::SharedImageDistributor {
                kind: "SharedImage".to_owned(),
                gallery_image_id: version_id.clone(),
                versioning,
                run_output_name: p.image_definition.name.clone(),
                artifact_tags: artifact_tags(&p.image_source, &context.build),
                target_regions: p
                    .target_regions
                    .iter()
                    .map(|r| image_template::DistributeTargetRegion {
                        name: r.name.clone(),
                        replica_count: r.replica_count,
                        storage_account_type: r.storage_account_type.clone(),
                    })
                    .collect(),
                exclude_from_latest: context.build.exclude_from_latest(),
            }],
        },
    };
    let template_name = image_template::name(&p.image_template_name, &template);
    let template_id = resources::resource_id(sub, &p.resource_group_name, image_template::KIND, &template_name);
    let role_ids: Vec<String> =
        out.list.iter().filter(|r| r.kind == role_assignment::KIND).map(|r| r.id.clone()).collect();
    let mut template_deps: Vec<&str> = vec![&definition_id, &container_id, &identity_id];
    template_deps.extend(role_ids.iter().map(String::as_str));
    out.add(
        image_template::KIND,
        &template_name,
        &template_id,
        image_template::API_VERSION,
        &template_deps,
        to_json(&template),
    );

    // Scale set, network and agent pool.
    out.stage = Stage::Pool;
    if let (Some(spec), Some(ss_rg), Some(ss_location)) =
        (&p.scale_set, p.scale_set_resource_group(), p.scale_set_location())
    {
        let ss_rg_id = resources::resource_group_id(sub, ss_rg);
        if !ss_rg_id.eq_ignore_ascii_case(&rg_id) {
            out.add(
                resource_group::KIND,
                ss_rg,
                &ss_rg_id,
                resource_group::API_VERSION,
                &[],
                to_json(&resource_group::ResourceGroup { location: ss_location.to_owned(), tags: tags.clone() }),
            );
        }
        if let Some(nat) = &p.nat_gateway {
            let zones = nat.zones.clone().unwrap_or_default();
            let mut addresses = Vec::new();
            let mut prefixes = Vec::new();
            for n in 1..=nat.public_ip_count {
                let name = format!("{}-pip-{n}", nat.name);
                let id = resources::resource_id(sub, ss_rg, public_ip::ADDRESS_KIND, &name);
                out.add(
                    public_ip::ADDRESS_KIND,
                    &name,
                    &id,
                    public_ip::API_VERSION,
                    &[&ss_rg_id],
                    to_json(&public_ip::address(ss_location, tags, &zones)),
                );
                addresses.push(nat_gateway::SubResource { id });
            }
            if let Some(length) = nat.public_ip_prefix_length {
                let name = format!("{}-prefix", nat.name);
                let id = resources::resource_id(sub, ss_rg, public_ip::PREFIX_KIND, &name);
                out.add(
                    public_ip::PREFIX_KIND,
                    &name,
                    &id,
                    public_ip::API_VERSION,
                    &[&ss_rg_id],
                    to_json(&public_ip::prefix(ss_location, tags, &zones, length)),
                );
                prefixes.push(nat_gateway::SubResource { id });
            }
            let nat_id = resources::resource_id(sub, ss_rg, nat_gateway::KIND, &nat.name);
            let mut deps: Vec<String> = addresses.iter().chain(&prefixes).map(|s| s.id.clone()).collect();
            deps.push(ss_rg_id.clone());
            let body = nat_gateway::NatGateway {
                location: ss_location.to_owned(),
                tags: tags.clone(),
                sku: public_ip::NetworkSku { name: "Standard".to_owned(), tier: None },
                zones,
                properties: nat_gateway::NatGatewayProperties {
                    idle_timeout_in_minutes: nat.idle_timeout_in_minutes,
                    public_ip_addresses: addresses,
                    public_ip_prefixes: prefixes,
                },
            };
            out.add(
                nat_gateway::KIND,
                &nat.name,
                &nat_id,
                nat_gateway::API_VERSION,
                &deps.iter().map(String::as_str).collect::<Vec<_>>(),
                to_json(&body),
            );
        }
        let credential = match (os, &spec.ssh_public_key) {
            (OsType::Linux, Some(key)) => key.clone(),
            (OsType::Linux, None) => known_after_apply("generated SSH public key"),
            (OsType::Windows, _) => known_after_apply("generated admin password, never shown"),
        };
        let scale_set_id = resources::resource_id(sub, ss_rg, scale_set::KIND, &spec.name);
        let body = scale_set::desired(scale_set::ScaleSetInputs {
            spec,
            os,
            location: ss_location,
            tags,
            image_version_id: version_id.clone(),
            credential,
        });
        out.add(
            scale_set::KIND,
            &spec.name,
            &scale_set_id,
            scale_set::API_VERSION,
            &[&ss_rg_id, &template_id],
            to_json(&body),
        );

        if let Some(pool) = &p.agent_pool {
            let endpoint = known_after_apply(&format!("id of service connection {}", pool.service_connection));
            let project = known_after_apply(&format!("id of project {}", pool.project));
            let (settings, query) = agent_pool::desired(pool, os, &scale_set_id, endpoint, project);
            let url = agent_pool::collection_url(&pool.organization_url);
            out.add(
                agent_pool::KIND,
                &pool.name,
                &url,
                agent_pool::API_VERSION,
                &[&scale_set_id],
                to_json(&settings),
            )
            .query = Some(to_json(&query));
        }
    }

    Ok(DesiredState {
        parameters_file: loaded.display_name.clone(),
        os,
        image_version,
        image_template_name: template_name,
        provenance: crate::image::provenance::Provenance {
            commit: context.build.commit.clone(),
            build_id: context.build.build_id.clone(),
            end_of_life_days: p.image_version.end_of_life_days,
        },
        uploads,
        resources: out.list,
    })
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
            out.add(
                role_definition::KIND,
                &guid,
                &role_id,
                role_definition::API_VERSION,
                &[image.group],
                to_json(&role),
            )
            .summary = Some(role_name.clone());
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
        let assignment = out.add(
            role_assignment::KIND,
            &name,
            &role_assignment::id(&grant.scope, &name),
            role_assignment::API_VERSION,
            &depends_on,
            to_json(&body),
        );
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

struct Resources {
    list: Vec<DesiredResource>,
    /// Stage of the resources added next.
    stage: Stage,
}

impl Default for Resources {
    fn default() -> Self {
        Self { list: Vec::new(), stage: Stage::Infra }
    }
}

impl Resources {
    fn add(
        &mut self,
        kind: &'static str,
        name: &str,
        id: &str,
        api_version: &'static str,
        depends_on: &[&str],
        body: Value,
    ) -> &mut DesiredResource {
        self.list.push(DesiredResource {
            kind,
            name: name.to_owned(),
            id: id.to_owned(),
            api_version,
            depends_on: depends_on.iter().map(|d| (*d).to_owned()).collect(),
            body,
            query: None,
            stage: self.stage,
            bindings: Vec::new(),
            summary: None,
        });
        let last = self.list.len() - 1;
        &mut self.list[last]
    }
}

/// Tags on the image version that every build of the template shares: where it comes from. The
/// commit and the pipeline run differ per build and reach the version after the build
/// ([`crate::image::provenance`]).
fn artifact_tags(source: &crate::aib::ImageSource, build: &BuildInfo) -> std::collections::BTreeMap<String, String> {
    use crate::aib::ImageSource;
    let source = match source {
        ImageSource::PlatformImage { publisher, offer, sku, version, .. } => {
            format!("{publisher}:{offer}:{sku}:{version}")
        }
        ImageSource::SharedImageVersion { image_version_id } => image_version_id.clone(),
        ImageSource::ManagedImage { image_id } => image_id.clone(),
    };
    let mut tags = std::collections::BTreeMap::from([
        ("createdBy".to_owned(), "agentpool".to_owned()),
        ("sourceImage".to_owned(), source),
    ]);
    if let Some(environment) = &build.environment {
        tags.insert("environment".to_owned(), environment.clone());
    }
    if let Some(branch) = build.branch_name() {
        tags.insert("gitBranch".to_owned(), branch.to_owned());
    }
    tags
}

fn to_json(value: &impl Serialize) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use time::macros::datetime;

    use super::*;

    fn linux_example() -> LoadedParameters {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../yaml-templates/parameters/sbx.parameters.linux.json");
        crate::params::load(&path).unwrap_or_else(|d| panic!("{d}"))
    }

    fn at(now: OffsetDateTime) -> PlanContext<'static> {
        PlanContext {
            subscription: Some("00000000-0000-0000-0000-000000000000"),
            version: VersionInputs { now, cli_version: None, repo_dir: None },
            blob_endpoint: None,
            build: BuildInfo::default(),
        }
    }

    #[test]
    fn a_new_build_of_unchanged_content_keeps_the_template_name() {
        let loaded = linux_example();
        let monday = desired_state(&loaded, &at(datetime!(2024-11-17 15:31:24 UTC))).unwrap();
        let tuesday = desired_state(&loaded, &at(datetime!(2024-11-18 08:00:00 UTC))).unwrap();
        assert_eq!(monday.image_version.as_ref().map(ToString::to_string).as_deref(), Some("0.24322.55884"));
        assert_ne!(monday.image_version, tuesday.image_version);
        assert_eq!(monday.image_template_name, tuesday.image_template_name);
    }

    #[test]
    fn a_changed_script_renames_the_template() {
        let mut loaded = linux_example();
        let before = desired_state(&loaded, &at(datetime!(2024-11-17 15:31:24 UTC))).unwrap();
        loaded.parameters.build_vm_size = "Standard_D8s_v5".to_owned();
        let after = desired_state(&loaded, &at(datetime!(2024-11-17 15:31:24 UTC))).unwrap();
        assert_ne!(before.image_template_name, after.image_template_name);
        assert!(after.image_template_name.starts_with("it-agents-sbx-linux-"));
    }

    #[test]
    fn builds_off_main_and_release_stay_out_of_latest_and_versions_say_where_they_come_from() {
        let loaded = linux_example();
        let template = |build: BuildInfo| {
            let mut context = at(datetime!(2024-11-17 15:31:24 UTC));
            context.build = build;
            let desired = desired_state(&loaded, &context).unwrap();
            desired.resources.iter().find(|r| r.kind == image_template::KIND).unwrap().body["properties"]["distribute"]
                [0]
            .clone()
        };
        let branch = |b: &str| BuildInfo { branch: Some(b.to_owned()), ..BuildInfo::default() };
        assert_eq!(template(branch("refs/heads/main"))["excludeFromLatest"], false);
        assert_eq!(template(branch("refs/heads/release/2024.11"))["excludeFromLatest"], false);
        assert_eq!(template(branch("refs/heads/feature/faster-builds"))["excludeFromLatest"], true);
        assert_eq!(template(BuildInfo::default())["excludeFromLatest"], false, "an unknown branch is published");
        let tagged = template(BuildInfo {
            branch: Some("refs/heads/main".into()),
            commit: Some("3f2a91c".into()),
            build_id: Some("4711".into()),
            environment: Some("sbx".into()),
        });
        let tags = &tagged["artifactTags"];
        assert_eq!(tags.get("gitCommit"), None, "per build: stamped on the version after the build");
        assert_eq!(tags.get("buildId"), None);
        assert_eq!(tags["environment"], "sbx");
        assert_eq!(tags["gitBranch"], "main");
        assert_eq!(tags["sourceImage"], "Canonical:0001-com-ubuntu-server-jammy:22_04-lts-gen2:latest");
    }

    #[test]
    fn every_dependency_is_a_planned_resource_listed_earlier() {
        let desired = desired_state(&linux_example(), &at(OffsetDateTime::now_utc())).unwrap();
        for (index, resource) in desired.resources.iter().enumerate() {
            for dependency in &resource.depends_on {
                let position = desired.resources.iter().position(|r| &r.id == dependency);
                assert!(
                    position.is_some_and(|p| p < index),
                    "{} depends on unplanned or later {dependency}",
                    resource.name
                );
            }
        }
    }

    #[test]
    fn the_scale_set_meets_azure_devops_rules_and_boots_the_new_version() {
        let desired = desired_state(&linux_example(), &at(datetime!(2024-11-17 15:31:24 UTC))).unwrap();
        let scale_set = desired.resources.iter().find(|r| r.kind == scale_set::KIND).unwrap();
        let properties = &scale_set.body["properties"];
        assert_eq!(properties["overprovision"], false);
        assert_eq!(properties["upgradePolicy"]["mode"], "Manual");
        assert_eq!(properties["singlePlacementGroup"], false);
        assert_eq!(properties["platformFaultDomainCount"], 1);
        let image = properties["virtualMachineProfile"]["storageProfile"]["imageReference"]["id"].as_str().unwrap();
        assert!(image.ends_with("/images/ubuntu-2204-agent/versions/0.24322.55884"), "{image}");
        assert!(properties["virtualMachineProfile"].get("extensionProfile").is_none(), "the agent is never baked in");
    }

    fn of_kind<'d>(desired: &'d DesiredState, kind: &str) -> Vec<&'d DesiredResource> {
        desired.resources.iter().filter(|r| r.kind == kind).collect()
    }

    fn role_of(assignment: &DesiredResource) -> &str {
        assignment.body["properties"]["roleDefinitionId"].as_str().unwrap_or_default()
    }

    const GROUP: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-agents-sbx";

    #[test]
    fn the_image_builder_identity_gets_the_custom_role_on_its_group_by_default() {
        let desired = desired_state(&linux_example(), &at(OffsetDateTime::now_utc())).unwrap();
        let [role] = of_kind(&desired, role_definition::KIND)[..] else { panic!("one role definition") };
        let guid = role_definition::guid(GROUP);
        assert_eq!(role.id, format!("{GROUP}/providers/Microsoft.Authorization/roleDefinitions/{guid}"));
        assert_eq!(role.depends_on, [GROUP]);
        let properties = &role.body["properties"];
        assert_eq!(properties["permissions"][0]["actions"], serde_json::json!(role_definition::DISTRIBUTION_ACTIONS));
        assert_eq!(properties["assignableScopes"], serde_json::json!([GROUP]));
        assert_eq!(role.summary.as_deref(), properties["roleName"].as_str());

        let assignments = of_kind(&desired, role_assignment::KIND);
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
        assert!(of_kind(&desired, role_definition::KIND).is_empty());
        let roles: Vec<_> =
            of_kind(&desired, role_assignment::KIND).into_iter().map(|a| built_in_roles::by_id(role_of(a))).collect();
        assert_eq!(roles, [Some(built_in_roles::CONTRIBUTOR), Some(built_in_roles::STORAGE_BLOB_DATA_READER)]);
        let contributor = of_kind(&desired, role_assignment::KIND)[0];
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
        let template = of_kind(&desired, image_template::KIND)[0];
        assert_eq!(template.body["properties"]["vmProfile"]["vnetConfig"], serde_json::json!({ "subnetId": subnet }));
        let role = of_kind(&desired, role_definition::KIND)[0];
        let actions = role.body["properties"]["permissions"][0]["actions"].as_array().unwrap();
        for action in role_definition::VIRTUAL_NETWORK_ACTIONS {
            assert!(actions.iter().any(|a| a == action), "{action} in {actions:?}");
        }
        let network_group = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-network";
        assert_eq!(role.body["properties"]["assignableScopes"], serde_json::json!([GROUP, network_group]));
        let on_network: Vec<_> =
            of_kind(&desired, role_assignment::KIND).into_iter().filter(|a| a.id.starts_with(network)).collect();
        let [on_network] = on_network[..] else { panic!("one assignment on the virtual network") };
        assert!(role_of(on_network).ends_with(&role_definition::guid(GROUP)));
        assert!(on_network.summary.as_deref().is_some_and(|s| s.ends_with("on virtualNetworks/vnet-hub")));

        // Without a subnet the template has no vnetConfig, so its name stays what it was.
        let plain = desired_state(&linux_example(), &at(OffsetDateTime::now_utc())).unwrap();
        assert!(of_kind(&plain, image_template::KIND)[0].body["properties"]["vmProfile"].get("vnetConfig").is_none());
        assert_ne!(plain.image_template_name, desired.image_template_name);
    }

    #[test]
    fn a_build_subnet_inside_the_image_group_needs_no_second_assignment() {
        let mut loaded = linux_example();
        loaded.parameters.build_subnet_id =
            Some(format!("{GROUP}/providers/Microsoft.Network/virtualNetworks/vnet-build/subnets/default"));
        let desired = desired_state(&loaded, &at(OffsetDateTime::now_utc())).unwrap();
        assert_eq!(of_kind(&desired, role_assignment::KIND).len(), 2);
        assert_eq!(
            of_kind(&desired, role_definition::KIND)[0].body["properties"]["assignableScopes"],
            serde_json::json!([GROUP])
        );
    }

    #[test]
    fn the_role_name_is_stable_across_runs_and_unique_per_group() {
        let name = |loaded: &LoadedParameters, subscription: &'static str| {
            let mut context = at(OffsetDateTime::now_utc());
            context.subscription = Some(subscription);
            let desired = desired_state(loaded, &context).unwrap();
            of_kind(&desired, role_definition::KIND)[0].body["properties"]["roleName"].as_str().unwrap().to_owned()
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
            let path = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join(format!("../yaml-templates/parameters/sbx.parameters.{os}.json"));
            let loaded = crate::params::load(&path).unwrap_or_else(|d| panic!("{d}"));
            for choice in [ImageBuilderRole::LeastPrivilege, ImageBuilderRole::Contributor] {
                let mut loaded = loaded.clone();
                loaded.parameters.image_builder_role = choice;
                let desired = desired_state(&loaded, &at(OffsetDateTime::now_utc())).unwrap();
                let custom: Vec<&str> =
                    of_kind(&desired, role_definition::KIND).iter().map(|r| r.name.as_str()).collect();
                for assignment in of_kind(&desired, role_assignment::KIND) {
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

    #[test]
    fn scripts_are_uploaded_under_their_os_and_run_with_their_checksum() {
        let desired = desired_state(&linux_example(), &at(OffsetDateTime::now_utc())).unwrap();
        let template = desired.resources.iter().find(|r| r.kind == image_template::KIND).unwrap();
        let upload = desired.uploads.iter().find(|u| u.blob_name == "linux/install-tools.sh").unwrap();
        let step = template.body["properties"]["customize"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["scriptUri"].as_str().is_some_and(|u| u.ends_with("/aibscripts/linux/install-tools.sh")))
            .unwrap();
        assert_eq!(step["type"], "Shell");
        assert_eq!(step["sha256Checksum"], upload.sha256.as_str());
    }
}
