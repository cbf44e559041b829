//! What the emulated subscription offers, as data: regions, the resource providers Image Builder needs,
//! VM sizes with their quota families, and the names of compute usages.
//!
//! Sources (learn.microsoft.com): the regions of Azure VM Image Builder ("Azure VM Image Builder overview",
//! Regions; `virtual-machines/image-builder-overview`); the providers Image Builder needs
//! (`Microsoft.VirtualMachineImages`, `Microsoft.KeyVault`, `Microsoft.Compute`, `Microsoft.Storage`,
//! `Microsoft.Network`, `Microsoft.ContainerInstance`: the provider checks of the Image Builder how-tos, e.g.
//! `virtual-machines/linux/image-builder-gallery-update-image-version`); the VM sizes of the Dsv3, Dsv5,
//! Ddsv5, Bsv1, Fsv2 and Esv5 size series pages (vCPUs, memory, temporary storage, max data disks; the
//! `VirtualMachineSizes_List` shape reports MiB, with `osDiskSizeInMB` 1047552 for every size); quota names
//! and their localized names as `Usage_List` reports them ("Check vCPU quotas", `virtual-machines/quotas`).
//!
//! Caveat: real regions each offer their own set of sizes; here every region offers every size.

/// A region: its ARM name and display name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    pub name: &'static str,
    pub display_name: &'static str,
}

const fn region(name: &'static str, display_name: &'static str) -> Region {
    Region { name, display_name }
}

/// Public regions the emulator knows (the default of `--locations`).
pub const REGIONS: &[Region] = &[
    region("eastus", "East US"),
    region("eastus2", "East US 2"),
    region("westus", "West US"),
    region("westus2", "West US 2"),
    region("westus3", "West US 3"),
    region("westcentralus", "West Central US"),
    region("centralus", "Central US"),
    region("northcentralus", "North Central US"),
    region("southcentralus", "South Central US"),
    region("canadacentral", "Canada Central"),
    region("canadaeast", "Canada East"),
    region("brazilsouth", "Brazil South"),
    region("northeurope", "North Europe"),
    region("westeurope", "West Europe"),
    region("uksouth", "UK South"),
    region("ukwest", "UK West"),
    region("francecentral", "France Central"),
    region("germanywestcentral", "Germany West Central"),
    region("norwayeast", "Norway East"),
    region("swedencentral", "Sweden Central"),
    region("switzerlandnorth", "Switzerland North"),
    region("polandcentral", "Poland Central"),
    region("italynorth", "Italy North"),
    region("uaenorth", "UAE North"),
    region("southafricanorth", "South Africa North"),
    region("centralindia", "Central India"),
    region("southindia", "South India"),
    region("jioindiawest", "Jio India West"),
    region("eastasia", "East Asia"),
    region("southeastasia", "Southeast Asia"),
    region("japaneast", "Japan East"),
    region("japanwest", "Japan West"),
    region("koreacentral", "Korea Central"),
    region("australiaeast", "Australia East"),
    region("australiasoutheast", "Australia Southeast"),
];

/// The regions where Microsoft documents Azure VM Image Builder (public cloud), the default of
/// `--image-builder-locations`.
pub const IMAGE_BUILDER_REGIONS: &[&str] = &[
    "eastus",
    "eastus2",
    "westcentralus",
    "westus",
    "westus2",
    "westus3",
    "southcentralus",
    "northeurope",
    "westeurope",
    "southeastasia",
    "australiasoutheast",
    "australiaeast",
    "uksouth",
    "ukwest",
    "brazilsouth",
    "canadacentral",
    "centralindia",
    "centralus",
    "francecentral",
    "germanywestcentral",
    "japaneast",
    "northcentralus",
    "norwayeast",
    "switzerlandnorth",
    "jioindiawest",
    "uaenorth",
    "eastasia",
    "koreacentral",
    "southafricanorth",
];

/// The display name of a region (`westeurope` → `West Europe`), or the name itself for one not in [`REGIONS`].
pub fn display_name(name: &str) -> String {
    REGIONS
        .iter()
        .find(|r| r.name.eq_ignore_ascii_case(name))
        .map(|r| r.display_name.to_string())
        .unwrap_or_else(|| name.to_string())
}

/// How a provider is registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Always registered (`RegistrationFree`), cannot be unregistered.
    Free,
    /// Registered on request (`RegistrationRequired`).
    Required,
}

/// A resource provider namespace, with the resource types listed for it besides the emulated kinds and
/// endpoints (types the emulator does not serve: `(type, api-versions)`). The served ones (scale sets and
/// their instances, virtual networks and subnets, NAT gateways, public IP addresses and prefixes, storage
/// name checks, ...) come from the kinds and endpoints themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Namespace {
    pub name: &'static str,
    pub policy: Policy,
    pub other_types: &'static [(&'static str, &'static [&'static str])],
}

/// Every namespace the emulator serves, plus the ones Image Builder needs.
pub const NAMESPACES: &[Namespace] = &[
    Namespace { name: "Microsoft.Authorization", policy: Policy::Free, other_types: &[] },
    Namespace { name: "Microsoft.Resources", policy: Policy::Free, other_types: &[] },
    Namespace {
        name: "Microsoft.Compute",
        policy: Policy::Required,
        other_types: &[("virtualMachines", &["2024-07-01"])],
    },
    Namespace {
        name: "Microsoft.ContainerInstance",
        policy: Policy::Required,
        other_types: &[("containerGroups", &[])],
    },
    Namespace { name: "Microsoft.KeyVault", policy: Policy::Required, other_types: &[("vaults", &[])] },
    Namespace { name: "Microsoft.ManagedIdentity", policy: Policy::Required, other_types: &[] },
    Namespace { name: "Microsoft.Network", policy: Policy::Required, other_types: &[] },
    Namespace { name: "Microsoft.Storage", policy: Policy::Required, other_types: &[] },
    Namespace { name: "Microsoft.VirtualMachineImages", policy: Policy::Required, other_types: &[] },
];

/// The namespace with this name (any case).
pub fn namespace(name: &str) -> Option<&'static Namespace> {
    NAMESPACES.iter().find(|n| n.name.eq_ignore_ascii_case(name))
}

/// `osDiskSizeInMB` of every size in `VirtualMachineSizes_List`.
pub const OS_DISK_SIZE_MB: i64 = 1_047_552;

/// A VM size and the quota family its vCPUs count against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VmSize {
    pub name: &'static str,
    pub cores: i64,
    pub memory_mb: i64,
    /// Temporary (resource) disk; 0 for sizes without one.
    pub resource_disk_mb: i64,
    pub max_data_disks: i64,
    pub family: &'static str,
}

const fn size(
    name: &'static str,
    cores: i64,
    memory_gib: i64,
    disk_gib: i64,
    disks: i64,
    family: &'static str,
) -> VmSize {
    VmSize {
        name,
        cores,
        memory_mb: memory_gib * 1024,
        resource_disk_mb: disk_gib * 1024,
        max_data_disks: disks,
        family,
    }
}

/// The sizes the emulator offers.
pub const VM_SIZES: &[VmSize] = &[
    size("Standard_B2s", 2, 4, 8, 4, "standardBSFamily"),
    size("Standard_D2s_v3", 2, 8, 16, 4, "standardDSv3Family"),
    size("Standard_D4s_v3", 4, 16, 32, 8, "standardDSv3Family"),
    size("Standard_D2s_v5", 2, 8, 0, 4, "standardDSv5Family"),
    size("Standard_D4s_v5", 4, 16, 0, 8, "standardDSv5Family"),
    size("Standard_D8s_v5", 8, 32, 0, 16, "standardDSv5Family"),
    size("Standard_D2ds_v5", 2, 8, 75, 4, "standardDDSv5Family"),
    size("Standard_D4ds_v5", 4, 16, 150, 8, "standardDDSv5Family"),
    size("Standard_D8ds_v5", 8, 32, 300, 16, "standardDDSv5Family"),
    size("Standard_E4s_v5", 4, 32, 0, 8, "standardESv5Family"),
    size("Standard_F4s_v2", 4, 8, 32, 8, "standardFSv2Family"),
];

/// The size with this name (any case).
pub fn vm_size(name: &str) -> Option<&'static VmSize> {
    VM_SIZES.iter().find(|s| s.name.eq_ignore_ascii_case(name))
}

/// A compute usage (quota) as `Usage_List` names it, with the emulator's default limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsageName {
    pub name: &'static str,
    pub localized: &'static str,
    pub default_limit: i64,
}

const fn usage(name: &'static str, localized: &'static str, default_limit: i64) -> UsageName {
    UsageName { name, localized, default_limit }
}

/// Regional vCPUs (every family counts against it).
pub const REGIONAL_CORES: &str = "cores";

/// The usages listed, in the order Azure lists them (totals first, then the families of [`VM_SIZES`]).
pub const USAGES: &[UsageName] = &[
    usage("availabilitySets", "Availability Sets", 2500),
    usage(REGIONAL_CORES, "Total Regional vCPUs", 200),
    usage("virtualMachines", "Virtual Machines", 25000),
    usage("virtualMachineScaleSets", "Virtual Machine Scale Sets", 2500),
    usage("standardBSFamily", "Standard BS Family vCPUs", 100),
    usage("standardDSv3Family", "Standard DSv3 Family vCPUs", 100),
    usage("standardDSv5Family", "Standard DSv5 Family vCPUs", 100),
    usage("standardDDSv5Family", "Standard DDSv5 Family vCPUs", 100),
    usage("standardESv5Family", "Standard ESv5 Family vCPUs", 100),
    usage("standardFSv2Family", "Standard FSv2 Family vCPUs", 100),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_regions_and_families_agree() {
        let d2ds = vm_size("standard_d2ds_v5").unwrap();
        assert_eq!((d2ds.cores, d2ds.memory_mb, d2ds.resource_disk_mb, d2ds.max_data_disks), (2, 8192, 76800, 4));
        assert_eq!(vm_size("Standard_D4ds_v5").unwrap().resource_disk_mb, 153_600);
        assert_eq!(vm_size("Standard_D2s_v5").unwrap().resource_disk_mb, 0, "Dsv5 has no temporary disk");
        for size in VM_SIZES {
            assert!(USAGES.iter().any(|u| u.name == size.family), "{} has no usage", size.name);
        }
        for name in IMAGE_BUILDER_REGIONS {
            assert!(REGIONS.iter().any(|r| r.name == *name), "{name} is not a known region");
        }
        assert_eq!(display_name("WestEurope"), "West Europe");
        assert_eq!(display_name("mars"), "mars");
        assert_eq!(namespace("microsoft.compute").map(|n| n.policy), Some(Policy::Required));
        assert_eq!(namespace("Microsoft.Authorization").map(|n| n.policy), Some(Policy::Free));
    }
}
