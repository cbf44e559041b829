//! VM sizes offered in a region, and regional vCPU quota enough for the build VM and the scale
//! set at its largest.
//!
//! Azure refuses a VM when its vCPUs, added to those in use, exceed either the quota of its
//! size's family or the Total Regional vCPUs (`cores`) of the subscription in that region
//! (<https://learn.microsoft.com/azure/virtual-machines/quotas>). Image Builder's build VM runs
//! in the deploying subscription (its staging resource group), so it counts too. The answers
//! are Compute's `VirtualMachineSizes_List` (`{"value": [{name, numberOfCores, …}]}`) and
//! `Usage_List` (`{"value": [{unit, currentValue, limit, name: {value, localizedValue}}]}`),
//! `computeRPCommon.json` 2024-07-01.
//!
//! # Caveats
//! - The scale set counts at `agentPool.maxCapacity` (Azure DevOps scales it up to that), or its
//!   `capacity` when that is larger or there is no agent pool.
//! - A build VM in an existing virtual network also brings Image Builder's proxy VM; its vCPUs
//!   are not counted.
//! - Quota is read once: builds and deploys started meanwhile consume it too.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::family::{quota_family, same_family};
use super::finding::{Check, Finding};
use super::providers::normalize_location;
use crate::params::Parameters;

/// api-version of Compute's size and usage lists.
pub const API_VERSION: &str = "2024-07-01";

/// `name.value` of the Total Regional vCPUs usage.
pub const TOTAL_REGIONAL: &str = "cores";

/// Where Microsoft explains how to ask for more.
const QUOTA_REQUESTS: &str = "https://learn.microsoft.com/azure/quotas/per-vm-quota-requests";

/// One entry of `VirtualMachineSizes_List`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VmSize {
    pub name: String,
    #[serde(default)]
    pub number_of_cores: u32,
}

/// One entry of `Usage_List`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    pub name: UsageName,
    pub current_value: i64,
    pub limit: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageName {
    pub value: String,
    #[serde(default)]
    pub localized_value: Option<String>,
}

/// VMs the deploy and the build run: `instances` of `size` in `location`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Demand {
    /// Normalized region name.
    pub location: String,
    pub size: String,
    pub instances: u32,
    /// The parameter that names the size, e.g. `parameters.buildVmSize`.
    pub parameter: &'static str,
    /// What runs them, e.g. `the build VM`.
    pub what: String,
}

/// The VMs a parameter file runs: Image Builder's build VM, and the scale set at its largest.
pub fn demands(parameters: &Parameters) -> Vec<Demand> {
    let mut out = vec![Demand {
        location: normalize_location(&parameters.location),
        size: parameters.build_vm_size.clone(),
        instances: 1,
        parameter: "parameters.buildVmSize",
        what: "the build VM".to_owned(),
    }];
    if let (Some(scale_set), Some(location)) = (&parameters.scale_set, parameters.scale_set_location()) {
        let instances = parameters.agent_pool.as_ref().map_or(0, |pool| pool.max_capacity).max(scale_set.capacity);
        out.push(Demand {
            location: normalize_location(location),
            size: scale_set.vm_size.clone(),
            instances,
            parameter: "parameters.scaleSet.vmSize",
            what: format!("the scale set at {instances} instances"),
        });
    }
    out
}

/// What a region's lists said, or why they could not be read.
#[derive(Debug, Clone, Default)]
pub struct RegionFacts {
    pub sizes: Option<Result<Vec<VmSize>, String>>,
    pub usages: Option<Result<Vec<Usage>, String>>,
}

/// Findings on sizes and quota, region by region (`facts` keyed by normalized location).
pub fn check(demands: &[Demand], facts: &BTreeMap<String, RegionFacts>) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut by_location: BTreeMap<&str, Vec<&Demand>> = BTreeMap::new();
    for demand in demands {
        by_location.entry(&demand.location).or_default().push(demand);
    }
    for (location, demands) in by_location {
        let region = facts.get(location).cloned().unwrap_or_default();
        let sizes = match region.sizes {
            Some(Ok(sizes)) => sizes,
            Some(Err(error)) => {
                findings.push(unreadable("the VM sizes", location, &error));
                continue;
            }
            None => continue,
        };
        let mut needs: Vec<(&Demand, u32)> = Vec::new();
        for demand in demands {
            match sizes.iter().find(|s| s.name.eq_ignore_ascii_case(&demand.size)) {
                Some(size) => needs.push((demand, size.number_of_cores)),
                None => findings.push(size_not_offered(demand, &sizes)),
            }
        }
        match region.usages {
            Some(Ok(usages)) => findings.extend(check_quota(location, &needs, &usages)),
            Some(Err(error)) => findings.push(unreadable("the vCPU quota", location, &error)),
            None => {}
        }
    }
    findings
}

fn check_quota(location: &str, needs: &[(&Demand, u32)], usages: &[Usage]) -> Vec<Finding> {
    let mut findings = Vec::new();
    let needs: Vec<&(&Demand, u32)> = needs.iter().filter(|(demand, _)| demand.instances > 0).collect();
    let mut families: Vec<(String, Vec<&(&Demand, u32)>)> = Vec::new();
    for need in &needs {
        let (demand, _) = need;
        let family = quota_family(&demand.size);
        let usage = family.as_deref().and_then(|f| usages.iter().find(|u| same_family(&u.name.value, f)));
        match (family, usage) {
            (_, Some(usage)) => match families.iter_mut().find(|(f, _)| same_family(f, &usage.name.value)) {
                Some((_, members)) => members.push(need),
                None => families.push((usage.name.value.clone(), vec![need])),
            },
            (family, None) => findings.push(Finding::warning(
                Check::Quota,
                format!(
                    "the vCPU quota family of {} ({}) is not in the usage list of {location}{}; only Total Regional vCPUs were checked",
                    demand.size,
                    demand.parameter,
                    family.map(|f| format!(" (looked for {f})")).unwrap_or_default()
                ),
                format!("check its family's quota with `az vm list-usage --location {location}`"),
            )),
        }
    }
    for (family, members) in &families {
        findings.extend(over_quota(location, family, members, usages));
    }
    findings.extend(over_quota(location, TOTAL_REGIONAL, &needs, usages));
    findings
}

/// The finding when `members` need more of `name` than is left.
fn over_quota(location: &str, name: &str, members: &[&(&Demand, u32)], usages: &[Usage]) -> Option<Finding> {
    let usage = usages.iter().find(|u| same_family(&u.name.value, name))?;
    let need: i64 = members.iter().map(|(demand, cores)| i64::from(*cores) * i64::from(demand.instances)).sum();
    if need == 0 || usage.current_value + need <= usage.limit {
        return None;
    }
    let who: Vec<String> = members
        .iter()
        .map(|(demand, cores)| {
            let total = i64::from(*cores) * i64::from(demand.instances);
            format!("{} ({} × {}, {total} vCPUs)", demand.what, demand.instances, demand.size)
        })
        .collect();
    let label = if name == TOTAL_REGIONAL { "Total Regional vCPUs".to_owned() } else { format!("{name} vCPUs") };
    Some(Finding::blocking(
        Check::Quota,
        format!(
            "the {label} quota in {location} is {}, {} in use: {} need {need} more",
            usage.limit,
            usage.current_value,
            who.join(" and ")
        ),
        format!(
            "request an increase of {label} in {location} to at least {} ({QUOTA_REQUESTS}), or choose smaller sizes or fewer instances",
            usage.current_value + need
        ),
    ))
}

fn size_not_offered(demand: &Demand, sizes: &[VmSize]) -> Finding {
    let closest = crate::suggest::closest(&demand.size, sizes.iter().map(|s| s.name.as_str()))
        .map(|name| format!(" — did you mean {name}?"))
        .unwrap_or_default();
    Finding::blocking(
        Check::VmSizes,
        format!("{} ({}) is not offered in {}{closest}", demand.size, demand.parameter, demand.location),
        format!("choose a size that `az vm list-sizes --location {}` lists", demand.location),
    )
}

fn unreadable(what: &str, location: &str, error: &str) -> Finding {
    Finding::warning(
        Check::Quota,
        format!("{what} of {location} could not be read ({error}); they were not checked"),
        "run preflight again, or check them in the Azure portal",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sizes() -> Vec<VmSize> {
        serde_json::from_value(json!([
            {"name": "Standard_D2s_v5", "numberOfCores": 2, "osDiskSizeInMB": 1047552, "resourceDiskSizeInMB": 0, "memoryInMB": 8192, "maxDataDiskCount": 4},
            {"name": "Standard_D4s_v5", "numberOfCores": 4, "osDiskSizeInMB": 1047552, "resourceDiskSizeInMB": 0, "memoryInMB": 16384, "maxDataDiskCount": 8},
            {"name": "Standard_D4ds_v5", "numberOfCores": 4, "osDiskSizeInMB": 1047552, "resourceDiskSizeInMB": 153600, "memoryInMB": 16384, "maxDataDiskCount": 8}
        ]))
        .unwrap()
    }

    fn usages(family_limit: i64, family_used: i64, cores_limit: i64) -> Vec<Usage> {
        serde_json::from_value(json!([
            {"unit": "Count", "currentValue": 6, "limit": cores_limit, "name": {"value": "cores", "localizedValue": "Total Regional vCPUs"}},
            {"unit": "Count", "currentValue": 0, "limit": 25000, "name": {"value": "virtualMachines", "localizedValue": "Virtual Machines"}},
            {"unit": "Count", "currentValue": family_used, "limit": family_limit, "name": {"value": "standardDSv5Family", "localizedValue": "Standard DSv5 Family vCPUs"}},
            {"unit": "Count", "currentValue": 2, "limit": 10, "name": {"value": "standardBSFamily", "localizedValue": "Standard BS Family vCPUs"}}
        ]))
        .unwrap()
    }

    fn demand(size: &str, instances: u32, what: &str) -> Demand {
        Demand {
            location: "westeurope".into(),
            size: size.into(),
            instances,
            parameter: if what == "the build VM" { "parameters.buildVmSize" } else { "parameters.scaleSet.vmSize" },
            what: what.into(),
        }
    }

    fn facts(sizes: Vec<VmSize>, usages: Vec<Usage>) -> BTreeMap<String, RegionFacts> {
        BTreeMap::from([("westeurope".to_owned(), RegionFacts { sizes: Some(Ok(sizes)), usages: Some(Ok(usages)) })])
    }

    fn example_demands() -> Vec<Demand> {
        vec![
            demand("Standard_D4s_v5", 1, "the build VM"),
            demand("Standard_D4s_v5", 10, "the scale set at 10 instances"),
        ]
    }

    #[test]
    fn the_example_counts_the_build_vm_and_the_scale_set_at_max_capacity() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../yaml-templates/parameters/sbx.parameters.linux.json");
        let loaded = crate::params::load(&path).unwrap_or_else(|d| panic!("{d}"));
        let found = demands(&loaded.parameters);
        assert_eq!(found, example_demands());
    }

    #[test]
    fn enough_quota_passes() {
        assert_eq!(check(&example_demands(), &facts(sizes(), usages(100, 0, 100))), []);
        assert_eq!(check(&example_demands(), &facts(sizes(), usages(44, 0, 50))), [], "exactly enough is enough");
    }

    #[test]
    fn a_family_quota_too_small_names_the_family_and_the_numbers() {
        let findings = check(&example_demands(), &facts(sizes(), usages(20, 4, 100)));
        assert_eq!(findings.len(), 1, "{findings:#?}");
        assert_eq!(
            findings[0].line("sbx.parameters.linux.json"),
            "sbx.parameters.linux.json: the standardDSv5Family vCPUs quota in westeurope is 20, 4 in use: the build VM (1 × Standard_D4s_v5, 4 vCPUs) and the scale set at 10 instances (10 × Standard_D4s_v5, 40 vCPUs) need 44 more — request an increase of standardDSv5Family vCPUs in westeurope to at least 48 (https://learn.microsoft.com/azure/quotas/per-vm-quota-requests), or choose smaller sizes or fewer instances"
        );
    }

    #[test]
    fn the_regional_total_counts_every_family() {
        let mut demands = example_demands();
        demands.push(demand("Standard_B2s", 4, "the scale set at 4 instances"));
        let findings = check(
            &demands,
            &facts(
                sizes().into_iter().chain([VmSize { name: "Standard_B2s".into(), number_of_cores: 2 }]).collect(),
                usages(100, 0, 50),
            ),
        );
        assert_eq!(findings.len(), 1, "{findings:#?}");
        assert!(
            findings[0].what.starts_with("the Total Regional vCPUs quota in westeurope is 50, 6 in use:"),
            "{}",
            findings[0].what
        );
        assert!(findings[0].what.ends_with("need 52 more"), "{}", findings[0].what);
    }

    #[test]
    fn a_size_the_region_does_not_offer_is_named_with_a_close_one() {
        let findings = check(&[demand("Standard_D4s_v6", 1, "the build VM")], &facts(sizes(), usages(100, 0, 100)));
        assert_eq!(findings.len(), 1);
        assert_eq!(
            findings[0].what,
            "Standard_D4s_v6 (parameters.buildVmSize) is not offered in westeurope — did you mean Standard_D4s_v5?"
        );
        assert_eq!(findings[0].severity, crate::preflight::Severity::Blocking);
    }

    #[test]
    fn an_unknown_family_warns_and_the_total_is_still_checked() {
        let mut sizes = sizes();
        sizes.push(VmSize { name: "Standard_D4ds_v5".into(), number_of_cores: 4 });
        let findings = check(
            &[demand("Standard_D4ds_v5", 30, "the scale set at 30 instances")],
            &facts(sizes, usages(100, 0, 100)),
        );
        assert_eq!(findings.len(), 2, "{findings:#?}");
        assert_eq!(findings[0].severity, crate::preflight::Severity::Warning);
        assert!(findings[0].what.contains("(looked for standardDDSv5Family)"), "{}", findings[0].what);
        assert!(findings[1].what.starts_with("the Total Regional vCPUs quota"), "{}", findings[1].what);
    }

    #[test]
    fn an_idle_scale_set_needs_no_quota_and_failed_reads_warn() {
        let idle = [demand("Standard_D4s_v5", 0, "the scale set at 0 instances")];
        assert_eq!(check(&idle, &facts(sizes(), usages(0, 0, 0))), []);
        let unreadable = BTreeMap::from([(
            "westeurope".to_owned(),
            RegionFacts { sizes: Some(Ok(sizes())), usages: Some(Err("403 Forbidden".into())) },
        )]);
        let findings = check(&example_demands(), &unreadable);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].severity, crate::preflight::Severity::Warning);
    }
}
