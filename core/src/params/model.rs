//! The typed content of a parameter file, after schema validation filled in the defaults.
//!
//! Field documentation lives in `parameters.schema.json` (the README's reference is generated
//! from it); here are the types only. Every struct denies unknown fields, so a field the schema
//! allows but the model forgets fails the example-file tests instead of being silently ignored.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::aib::{Customizer, ImageSource, OsType};
use crate::version::VersionStrategy;

/// `parameters` of a parameter file, each unwrapped from its `{"value": …}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Parameters {
    pub location: String,
    pub tags: BTreeMap<String, String>,
    pub resource_group_name: String,
    pub storage_account_name: String,
    pub storage_container_name: String,
    pub identity_name: String,
    pub image_builder_role: ImageBuilderRole,
    pub gallery_name: String,
    pub image_definition: ImageDefinition,
    pub image_template_name: String,
    pub image_source: ImageSource,
    pub customization_steps: Vec<CustomizationStep>,
    pub scripts_directory: String,
    pub build_vm_size: String,
    pub build_subnet_id: Option<String>,
    pub os_disk_size_gb: u32,
    pub build_timeout_in_minutes: u32,
    pub target_regions: Vec<TargetRegion>,
    pub image_version: ImageVersionSpec,
    pub scale_set: Option<ScaleSet>,
    pub nat_gateway: Option<NatGateway>,
    pub agent_pool: Option<AgentPool>,
}

/// `imageBuilderRole`: what the Image Builder identity may do on the image resource group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ImageBuilderRole {
    /// A custom role with the actions Microsoft documents for Image Builder, nothing more.
    #[default]
    LeastPrivilege,
    /// The built-in Contributor role, for subscriptions whose policy forbids custom roles.
    Contributor,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImageDefinition {
    pub name: String,
    pub publisher: String,
    pub offer: String,
    pub sku: String,
    pub os_type: OsType,
    pub hyper_v_generation: HyperVGeneration,
    pub security_type: SecurityType,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
pub enum HyperVGeneration {
    V1,
    V2,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
pub enum SecurityType {
    Standard,
    TrustedLaunchSupported,
    TrustedLaunch,
}

/// One step of `customizationSteps`: a local script (short form) or an Image Builder customizer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum CustomizationStep {
    /// `"install-tools.sh"`.
    ScriptName(String),
    /// `{"script": "install-tools.sh", …}`.
    Script(ScriptStep),
    /// An Image Builder customizer, verbatim.
    Customizer(Customizer),
}

/// The short form of a script step, with the PowerShell options it may carry on Windows.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScriptStep {
    pub script: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub run_elevated: Option<bool>,
    #[serde(default)]
    pub run_as_system: Option<bool>,
    #[serde(default)]
    pub valid_exit_codes: Option<Vec<i64>>,
}

impl CustomizationStep {
    /// The short form as a [`ScriptStep`], whichever way it was written.
    pub fn as_script(&self) -> Option<ScriptStep> {
        match self {
            Self::ScriptName(script) => Some(ScriptStep { script: script.clone(), ..ScriptStep::default() }),
            Self::Script(step) => Some(step.clone()),
            Self::Customizer(_) => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TargetRegion {
    pub name: String,
    pub replica_count: u32,
    pub storage_account_type: String,
}

/// `imageVersion`: the numbering strategy plus the version's lifetime.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageVersionSpec {
    #[serde(flatten)]
    pub strategy: VersionStrategy,
    #[serde(default)]
    pub end_of_life_days: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScaleSet {
    pub name: String,
    #[serde(default)]
    pub resource_group_name: Option<String>,
    #[serde(default)]
    pub location: Option<String>,
    pub vm_size: String,
    pub capacity: u32,
    pub subnet_id: String,
    pub ephemeral_os_disk: bool,
    #[serde(default, rename = "osDiskSizeGB")]
    pub os_disk_size_gb: Option<u32>,
    pub admin_username: String,
    #[serde(default)]
    pub ssh_public_key: Option<String>,
    #[serde(default)]
    pub zones: Option<Vec<String>>,
    /// Settings a template for other scale sets may spell out. Azure DevOps allows one value
    /// each; anything else is refused before any call, the rule named
    /// ([`super::rules`]). Absent: what Azure DevOps requires.
    #[serde(default)]
    pub orchestration_mode: Option<String>,
    #[serde(default)]
    pub overprovision: Option<bool>,
    #[serde(default)]
    pub upgrade_policy: Option<String>,
    #[serde(default)]
    pub single_placement_group: Option<bool>,
    #[serde(default)]
    pub platform_fault_domain_count: Option<u32>,
    #[serde(default)]
    pub load_balancer_backend_pool_ids: Option<Vec<String>>,
    #[serde(default)]
    pub public_ip_per_instance: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NatGateway {
    pub name: String,
    pub public_ip_count: u32,
    #[serde(default)]
    pub public_ip_prefix_length: Option<u32>,
    pub idle_timeout_in_minutes: u32,
    #[serde(default)]
    pub zones: Option<Vec<String>>,
    /// Outbound flows an agent keeps open, for sizing ([`crate::nat`]).
    #[serde(default = "default_flows_per_agent")]
    pub flows_per_agent: u32,
}

fn default_flows_per_agent() -> u32 {
    crate::nat::FLOWS_PER_AGENT
}

impl NatGateway {
    /// Public IP addresses in all: the single IPs plus the prefix's size.
    pub fn address_count(&self) -> u32 {
        self.public_ip_count + self.public_ip_prefix_length.map_or(0, crate::nat::prefix_addresses)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AgentPool {
    pub name: String,
    pub organization_url: String,
    pub project: String,
    pub service_connection: String,
    pub max_capacity: u32,
    pub desired_idle: u32,
    pub recycle_after_each_use: bool,
    pub time_to_live_minutes: u32,
    pub max_saved_node_count: u32,
    #[serde(rename = "agentInteractiveUI")]
    pub agent_interactive_ui: bool,
    pub authorize_all_pipelines: bool,
    pub auto_provision_project_pools: bool,
}

/// Parameter names of [`Parameters`], as they appear in the file.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct RawParameters {
    location: Wrapped<String>,
    tags: Wrapped<BTreeMap<String, String>>,
    resource_group_name: Wrapped<String>,
    storage_account_name: Wrapped<String>,
    storage_container_name: Wrapped<String>,
    identity_name: Wrapped<String>,
    image_builder_role: Wrapped<ImageBuilderRole>,
    gallery_name: Wrapped<String>,
    image_definition: Wrapped<ImageDefinition>,
    image_template_name: Wrapped<String>,
    image_source: Wrapped<ImageSource>,
    customization_steps: Wrapped<Vec<CustomizationStep>>,
    scripts_directory: Wrapped<String>,
    build_vm_size: Wrapped<String>,
    #[serde(default)]
    build_subnet_id: Option<Wrapped<String>>,
    #[serde(rename = "osDiskSizeGB")]
    os_disk_size_gb: Wrapped<u32>,
    build_timeout_in_minutes: Wrapped<u32>,
    #[serde(default)]
    target_regions: Option<Wrapped<Vec<TargetRegion>>>,
    image_version: Wrapped<ImageVersionSpec>,
    #[serde(default)]
    scale_set: Option<Wrapped<ScaleSet>>,
    #[serde(default)]
    nat_gateway: Option<Wrapped<NatGateway>>,
    #[serde(default)]
    agent_pool: Option<Wrapped<AgentPool>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wrapped<T> {
    value: T,
}

impl From<RawParameters> for Parameters {
    fn from(raw: RawParameters) -> Self {
        let location = raw.location.value;
        let target_regions = raw.target_regions.map(|w| w.value).unwrap_or_else(|| {
            vec![TargetRegion {
                name: location.clone(),
                replica_count: 1,
                storage_account_type: "Standard_LRS".to_owned(),
            }]
        });
        Self {
            location,
            tags: raw.tags.value,
            resource_group_name: raw.resource_group_name.value,
            storage_account_name: raw.storage_account_name.value,
            storage_container_name: raw.storage_container_name.value,
            identity_name: raw.identity_name.value,
            image_builder_role: raw.image_builder_role.value,
            gallery_name: raw.gallery_name.value,
            image_definition: raw.image_definition.value,
            image_template_name: raw.image_template_name.value,
            image_source: raw.image_source.value,
            customization_steps: raw.customization_steps.value,
            scripts_directory: raw.scripts_directory.value,
            build_vm_size: raw.build_vm_size.value,
            build_subnet_id: raw.build_subnet_id.map(|w| w.value),
            os_disk_size_gb: raw.os_disk_size_gb.value,
            build_timeout_in_minutes: raw.build_timeout_in_minutes.value,
            target_regions,
            image_version: raw.image_version.value,
            scale_set: raw.scale_set.map(|w| w.value),
            nat_gateway: raw.nat_gateway.map(|w| w.value),
            agent_pool: raw.agent_pool.map(|w| w.value),
        }
    }
}

impl Parameters {
    /// Resource group of the scale set and its network resources.
    pub fn scale_set_resource_group(&self) -> Option<&str> {
        let scale_set = self.scale_set.as_ref()?;
        Some(scale_set.resource_group_name.as_deref().unwrap_or(&self.resource_group_name))
    }

    /// Id of the virtual network of `buildSubnetId`, when the build VM joins one.
    pub fn build_virtual_network_id(&self) -> Option<&str> {
        crate::resources::subnet::network_of(self.build_subnet_id.as_deref()?)
    }

    /// Region of the scale set.
    pub fn scale_set_location(&self) -> Option<&str> {
        let scale_set = self.scale_set.as_ref()?;
        Some(scale_set.location.as_deref().unwrap_or(&self.location))
    }
}
