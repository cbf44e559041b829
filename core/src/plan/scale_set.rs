//! The scale-set stage: the scale set's resource group (when not the image's), the NAT gateway
//! with its public addresses and its attachment to the agents' subnet, and the scale set.

use super::Resources;
use crate::aib::OsType;
use crate::params::model::{self, Parameters};
use crate::resources::{self, nat_gateway, public_ip, public_ip_prefix, resource_group, scale_set, subnet};

/// Plans the scale set of `spec`, booting `image` (a gallery image version id); returns its id.
pub(super) fn desired(
    out: &mut Resources,
    p: &Parameters,
    spec: &model::ScaleSet,
    sub: &str,
    image: &str,
    image_group: &str,
) -> String {
    let group_name = p.scale_set_resource_group().unwrap_or(&p.resource_group_name);
    let location = p.scale_set_location().unwrap_or(&p.location);
    let tags = &p.tags;
    let group = resources::resource_group_id(sub, group_name);
    if !group.eq_ignore_ascii_case(image_group) {
        let body = resource_group::ResourceGroup { location: location.to_owned(), tags: tags.clone() };
        out.add(&resource_group::KIND, group_name, &group, &[], &body);
    }
    let mut depends_on = vec![group.clone()];
    if let Some(nat) = &p.nat_gateway {
        depends_on.push(nat_gateway_on_subnet(out, nat, sub, group_name, location, p, &spec.subnet_id));
    }
    let credential = match (p.image_definition.os_type, &spec.ssh_public_key) {
        (OsType::Linux, Some(key)) => scale_set::Credential::SshKey(key.clone()),
        _ => scale_set::Credential::GeneratedPassword,
    };
    let id = resources::resource_id(sub, group_name, &scale_set::KIND, &spec.name);
    let body = scale_set::desired(scale_set::ScaleSetInputs {
        spec,
        os: p.image_definition.os_type,
        location,
        tags,
        image_version_id: image.to_owned(),
        credential,
    });
    let depends_on: Vec<&str> = depends_on.iter().map(String::as_str).collect();
    out.add(&scale_set::KIND, &spec.name, &id, &depends_on, &body);
    id
}

/// The NAT gateway, its addresses, and its attachment to `subnet_id`; returns the subnet's id
/// (what the scale set waits for).
fn nat_gateway_on_subnet(
    out: &mut Resources,
    nat: &model::NatGateway,
    sub: &str,
    group_name: &str,
    location: &str,
    p: &Parameters,
    subnet_id: &str,
) -> String {
    let group = resources::resource_group_id(sub, group_name);
    let zones = nat.zones.clone().unwrap_or_default();
    let mut addresses = Vec::new();
    for n in 1..=nat.public_ip_count {
        let name = format!("{}-pip-{n}", nat.name);
        let id = resources::resource_id(sub, group_name, &public_ip::KIND, &name);
        out.add(&public_ip::KIND, &name, &id, &[&group], &public_ip::desired(location, &p.tags, &zones));
        addresses.push(nat_gateway::SubResource { id });
    }
    let mut prefixes = Vec::new();
    if let Some(length) = nat.public_ip_prefix_length {
        let name = format!("{}-prefix", nat.name);
        let id = resources::resource_id(sub, group_name, &public_ip_prefix::KIND, &name);
        out.add(
            &public_ip_prefix::KIND,
            &name,
            &id,
            &[&group],
            &public_ip_prefix::desired(location, &p.tags, &zones, length),
        );
        prefixes.push(nat_gateway::SubResource { id });
    }
    let id = resources::resource_id(sub, group_name, &nat_gateway::KIND, &nat.name);
    let mut depends_on: Vec<&str> = addresses.iter().chain(&prefixes).map(|s| s.id.as_str()).collect();
    depends_on.push(&group);
    let body = nat_gateway::desired(nat, location, &p.tags, addresses.clone(), prefixes.clone());
    out.add(&nat_gateway::KIND, &nat.name, &id, &depends_on, &body);
    let subnet_name = subnet_id.rsplit('/').next().unwrap_or(subnet_id);
    out.add(&subnet::KIND, subnet_name, subnet_id, &[&id], &subnet::desired(&id)).summary =
        Some(format!("{subnet_name} → NAT gateway {}", nat.name));
    subnet_id.to_owned()
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::super::desired_state;
    use super::super::test_support::*;
    use super::*;

    #[test]
    fn the_scale_set_meets_azure_devops_rules_and_boots_the_new_version() {
        let desired = desired_state(&linux_example(), &at(datetime!(2024-11-17 15:31:24 UTC))).unwrap();
        let scale_set = desired.resources.iter().find(|r| r.kind == &scale_set::KIND).unwrap();
        let properties = &scale_set.body["properties"];
        assert_eq!(properties["overprovision"], false);
        assert_eq!(properties["upgradePolicy"]["mode"], "Manual");
        assert_eq!(properties["singlePlacementGroup"], false);
        assert_eq!(properties["platformFaultDomainCount"], 1);
        let image = properties["virtualMachineProfile"]["storageProfile"]["imageReference"]["id"].as_str().unwrap();
        assert!(image.ends_with("/images/ubuntu-2204-agent/versions/0.24322.55884"), "{image}");
        assert!(properties["virtualMachineProfile"].get("extensionProfile").is_none(), "the agent is never baked in");
    }
}
