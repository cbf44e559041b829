//! `Microsoft.Compute/virtualMachineScaleSets` (ComputeRP 2024-07-01), shaped for Azure DevOps.
//!
//! Azure DevOps scale-set agents require overprovisioning off and the Manual upgrade policy;
//! single placement group off, one platform fault domain and no load balancer are what its
//! documentation prescribes. The agent is never part of the image: Azure DevOps installs it
//! through a VM extension when it scales the set. New images roll out by changing
//! `virtualMachineProfile.storageProfile.imageReference.id`.

use serde::{Deserialize, Serialize};

use super::kind::{self, Kind, Update};
use super::Tags;
use crate::aib::OsType;

/// What the admin password is until the scale set is created: then a random one is generated,
/// sent once, never shown and never sent again (Azure does not return it).
pub const GENERATED_PASSWORD: &str = "generated admin password, never shown";

/// What Azure DevOps owns on a scale set it manages: it sets the capacity, installs its agent
/// extension (and refreshes it) and tags the set with the pool using it. Agentpool sends the
/// capacity when it creates the set, then leaves these alone (tags are merged, never replaced).
pub const OWNED_BY_AZURE_DEVOPS: &[&str] = &[
    "sku.capacity",
    "properties.virtualMachineProfile.extensionProfile",
    "tags.__AzureDevOpsElasticPool",
    "tags.__AzureDevOpsElasticPoolTimeStamp",
];

pub static KIND: Kind = Kind {
    write_only: &["properties.virtualMachineProfile.osProfile.adminPassword"],
    owned_by_others: OWNED_BY_AZURE_DEVOPS,
    update: Update::Patch,
    on_create: Some(generate_admin_password),
    ..kind::arm(
        "Microsoft.Compute/virtualMachineScaleSets",
        "2024-07-01",
        "azure-rest-api-specs/specification/compute/resource-manager/Microsoft.Compute/ComputeRP/stable/2024-07-01/virtualMachineScaleSet.json",
        "scale set",
    )
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScaleSet {
    pub location: String,
    #[serde(default, skip_serializing_if = "Tags::is_empty")]
    pub tags: Tags,
    pub sku: Sku,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub zones: Vec<String>,
    pub properties: ScaleSetProperties,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sku {
    pub name: String,
    pub tier: String,
    pub capacity: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScaleSetProperties {
    pub orchestration_mode: String,
    pub overprovision: bool,
    pub single_placement_group: bool,
    pub platform_fault_domain_count: u32,
    pub upgrade_policy: UpgradePolicy,
    pub virtual_machine_profile: VirtualMachineProfile,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpgradePolicy {
    pub mode: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VirtualMachineProfile {
    pub os_profile: OsProfile,
    pub storage_profile: StorageProfile,
    pub network_profile: NetworkProfile,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OsProfile {
    pub computer_name_prefix: String,
    pub admin_username: String,
    /// Windows only; generated at apply time and never logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_password: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linux_configuration: Option<LinuxConfiguration>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinuxConfiguration {
    pub disable_password_authentication: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh: Option<SshConfiguration>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SshConfiguration {
    pub public_keys: Vec<SshPublicKey>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SshPublicKey {
    pub path: String,
    pub key_data: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StorageProfile {
    pub image_reference: ImageReference,
    pub os_disk: OsDisk,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageReference {
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OsDisk {
    pub create_option: String,
    pub caching: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff_disk_settings: Option<DiffDiskSettings>,
    pub managed_disk: ManagedDisk,
    #[serde(default, rename = "diskSizeGB", skip_serializing_if = "Option::is_none")]
    pub disk_size_gb: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffDiskSettings {
    pub option: String,
    pub placement: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagedDisk {
    pub storage_account_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkProfile {
    pub network_interface_configurations: Vec<NamedNic>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedNic {
    pub name: String,
    pub properties: NicProperties,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NicProperties {
    pub primary: bool,
    pub ip_configurations: Vec<NamedIpConfiguration>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedIpConfiguration {
    pub name: String,
    pub properties: IpConfigurationProperties,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpConfigurationProperties {
    pub subnet: super::nat_gateway::SubResource,
}

/// The id of the scale set `p` describes, in `subscription`, when it describes one.
pub fn id_of(subscription: &str, p: &crate::params::Parameters) -> Option<String> {
    let spec = p.scale_set.as_ref()?;
    let group = p.scale_set_resource_group().unwrap_or(&p.resource_group_name);
    Some(super::resource_id(subscription, group, &KIND, &spec.name))
}

/// What the scale set is built from.
#[derive(Debug, Clone)]
pub struct ScaleSetInputs<'a> {
    pub spec: &'a crate::params::model::ScaleSet,
    pub os: OsType,
    pub location: &'a str,
    pub tags: &'a Tags,
    /// Gallery image version id the instances boot from.
    pub image_version_id: String,
    /// How the admin signs in.
    pub credential: Credential,
}

/// How the agents' admin user signs in. Agents need no sign-in at all: Azure only requires one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// Linux: this SSH public key, password sign-in off.
    SshKey(String),
    /// A random password generated when the set is created ([`GENERATED_PASSWORD`]). Azure takes
    /// SSH keys in `ssh-rsa` format only (its swagger), which agentpool does not generate.
    GeneratedPassword,
}

/// Windows computer names have at most 15 characters and the set appends 6: prefixes of Windows
/// scale sets are cut to 9.
pub fn computer_name_prefix(name: &str, os: OsType) -> String {
    let allowed: String = name.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
    let limit = if os == OsType::Windows { 9 } else { 58 };
    allowed.chars().take(limit).collect::<String>().trim_end_matches('-').to_owned()
}

pub fn desired(inputs: ScaleSetInputs<'_>) -> ScaleSet {
    let spec = inputs.spec;
    let generated = || Some(super::known_after_apply(GENERATED_PASSWORD));
    let (admin_password, linux_configuration) = match (inputs.os, inputs.credential) {
        (OsType::Windows, _) => (generated(), None),
        (OsType::Linux, Credential::SshKey(key)) => (
            None,
            Some(LinuxConfiguration {
                disable_password_authentication: true,
                ssh: Some(SshConfiguration {
                    public_keys: vec![SshPublicKey {
                        path: format!("/home/{}/.ssh/authorized_keys", spec.admin_username),
                        key_data: key,
                    }],
                }),
            }),
        ),
        (OsType::Linux, Credential::GeneratedPassword) => {
            (generated(), Some(LinuxConfiguration { disable_password_authentication: false, ssh: None }))
        }
    };
    let (caching, diff_disk_settings) = if spec.ephemeral_os_disk {
        ("ReadOnly", Some(DiffDiskSettings { option: "Local".to_owned(), placement: "ResourceDisk".to_owned() }))
    } else {
        ("ReadWrite", None)
    };
    ScaleSet {
        location: inputs.location.to_owned(),
        tags: inputs.tags.clone(),
        sku: Sku { name: spec.vm_size.clone(), tier: "Standard".to_owned(), capacity: spec.capacity },
        zones: spec.zones.clone().unwrap_or_default(),
        properties: ScaleSetProperties {
            orchestration_mode: "Uniform".to_owned(),
            overprovision: false,
            single_placement_group: false,
            platform_fault_domain_count: 1,
            upgrade_policy: UpgradePolicy { mode: "Manual".to_owned() },
            virtual_machine_profile: VirtualMachineProfile {
                os_profile: OsProfile {
                    computer_name_prefix: computer_name_prefix(&spec.name, inputs.os),
                    admin_username: spec.admin_username.clone(),
                    admin_password,
                    linux_configuration,
                },
                storage_profile: StorageProfile {
                    image_reference: ImageReference { id: inputs.image_version_id },
                    os_disk: OsDisk {
                        create_option: "FromImage".to_owned(),
                        caching: caching.to_owned(),
                        diff_disk_settings,
                        managed_disk: ManagedDisk { storage_account_type: "Standard_LRS".to_owned() },
                        disk_size_gb: spec.os_disk_size_gb,
                    },
                },
                network_profile: NetworkProfile {
                    network_interface_configurations: vec![NamedNic {
                        name: format!("{}-nic", spec.name),
                        properties: NicProperties {
                            primary: true,
                            ip_configurations: vec![NamedIpConfiguration {
                                name: format!("{}-ipconfig", spec.name),
                                properties: IpConfigurationProperties {
                                    subnet: super::nat_gateway::SubResource { id: spec.subnet_id.clone() },
                                },
                            }],
                        },
                    }],
                },
            },
        },
    }
}

/// Replaces the admin password's placeholder in a scale set body by a random password: 55
/// characters of upper and lower case letters, digits and a symbol (Azure's complexity rule wants
/// three of those four; Linux takes 6–72 characters, Windows 8–123), from 244 random bits.
pub fn generate_admin_password(body: &mut serde_json::Value) -> Result<(), String> {
    let Some(slot) = body.pointer_mut("/properties/virtualMachineProfile/osProfile/adminPassword") else {
        return Ok(());
    };
    if slot.as_str().is_some_and(|s| s == super::known_after_apply(GENERATED_PASSWORD)) {
        let (a, b) = (uuid::Uuid::new_v4().simple().to_string(), uuid::Uuid::new_v4().simple().to_string());
        let password = format!("Ag!{a}{}", b[..20].to_uppercase());
        crate::secrets::made(&password);
        *slot = serde_json::Value::String(password);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_password_replaces_only_the_placeholder_and_meets_azures_rules() {
        let mut body = serde_json::json!({"properties": {"virtualMachineProfile": {"osProfile": {
            "adminPassword": super::super::known_after_apply(GENERATED_PASSWORD)
        }}}});
        generate_admin_password(&mut body).unwrap();
        let password = body.pointer("/properties/virtualMachineProfile/osProfile/adminPassword").unwrap();
        let password = password.as_str().unwrap().to_owned();
        assert_eq!(password.len(), 55);
        assert!(password.chars().any(|c| c.is_ascii_uppercase()) && password.chars().any(|c| c.is_ascii_lowercase()));
        assert!(password.chars().any(|c| c.is_ascii_digit()) && password.contains('!'));
        let mut again = body.clone();
        generate_admin_password(&mut again).unwrap();
        assert_eq!(again, body, "a password given is kept");
        let mut other = serde_json::json!({"properties": {"virtualMachineProfile": {"osProfile": {
            "adminPassword": super::super::known_after_apply(GENERATED_PASSWORD)
        }}}});
        generate_admin_password(&mut other).unwrap();
        assert_ne!(other, body, "each scale set gets its own");
    }
}
