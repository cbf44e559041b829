//! The regional vCPU quota family of a VM size: `Standard_D4s_v5` → `standardDSv5Family`.
//!
//! Compute's usage list (`Usage_List`, `computeRPCommon.json` 2024-07-01) counts vCPUs per
//! family (`name.value` such as `standardDSv5Family`) and in all (`cores`, "Total Regional
//! vCPUs"); a VM counts against both ("Check vCPU quotas",
//! <https://learn.microsoft.com/azure/virtual-machines/quotas>). The size list
//! (`VirtualMachineSizes_List`) does not say a size's family, so it is derived from the size's
//! name, which follows Azure's naming convention
//! (<https://learn.microsoft.com/azure/virtual-machines/vm-naming-conventions>):
//! `Standard_<family letters><vCPUs>[-<constrained vCPUs>]<additive features>[_<accelerator>][_v<version>][_Promo]`.
//!
//! The family is `standard` + the family letters + the additive features upper-cased, less the
//! memory variants `m` ("memory intensive": `A2m_v2` is `standardAv2Family`) and `t` ("tiny
//! memory": `B2ats_v2` is `standardBasv2Family`), + the accelerator + `v<version>` + `Promo` +
//! `Family`. Older series have fixed names: `Standard_A0`–`A7` (`standardA0_A7Family`),
//! `A8`–`A11` (`standardA8_A11Family`), the first B-series (`standardBSFamily`) and `Basic_A*`
//! (`basicAFamily`).
//!
//! # Caveats
//! - The Resource SKUs API says each size's `family` authoritatively, but its swagger is not
//!   among the pinned specs, so agentpool does not call it. The rule above matches the sizes in
//!   the tests (taken from Resource SKUs answers); older series have exceptions (M-series sizes
//!   without `s` count as `standardMSFamily`, H-series RDMA sizes as `standardHFamily`).
//! - Azure spells newer families in mixed case (`standardBsv2Family`, `StandardDsv6Family`):
//!   compare family names with [`same_family`], ignoring case.

/// The quota family `size` counts against, by the naming rule; `None` for a name that does not
/// follow the convention.
pub fn quota_family(size: &str) -> Option<String> {
    let (tier, rest) = size.split_once('_')?;
    if tier.eq_ignore_ascii_case("Basic") {
        return rest.starts_with('A').then(|| "basicAFamily".to_owned());
    }
    if !tier.eq_ignore_ascii_case("Standard") {
        return None;
    }
    let mut parts = rest.split('_');
    let core = parse_core(parts.next()?)?;
    let mut accelerator = String::new();
    let mut version = String::new();
    let mut promo = "";
    for part in parts {
        if let Some(number) = part.strip_prefix('v').filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        {
            version = format!("v{number}");
        } else if part.eq_ignore_ascii_case("Promo") {
            promo = "Promo";
        } else if is_accelerator(part) {
            accelerator.push_str(part);
        } else {
            return None;
        }
    }
    if version.is_empty() && accelerator.is_empty() {
        if core.letters == "A" && core.features.is_empty() {
            let range = if core.vcpus <= 7 { "A0_A7" } else { "A8_A11" };
            return Some(format!("standard{range}{promo}Family"));
        }
        if core.letters == "B" {
            return Some("standardBSFamily".to_owned());
        }
    }
    let features: String = core.features.chars().filter(|c| !matches!(c, 'm' | 't')).collect();
    Some(format!("standard{}{}{accelerator}{version}{promo}Family", core.letters, features.to_ascii_uppercase()))
}

/// Whether two family names are the same family, ignoring case as Azure's spelling varies.
pub fn same_family(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// `A100`, `H100`, `T4`: an upper-case letter, letters and digits, at least one digit.
fn is_accelerator(part: &str) -> bool {
    part.starts_with(|c: char| c.is_ascii_uppercase())
        && part.bytes().all(|b| b.is_ascii_alphanumeric())
        && part.bytes().any(|b| b.is_ascii_digit())
}

struct Core<'a> {
    /// `D`, `DS`, `NC`, `DC`, `E`, …
    letters: &'a str,
    vcpus: u32,
    /// Lower-case additive features after the vCPU count: `s`, `ds`, `ads`, `ls`, …
    features: &'a str,
}

/// `D4ds` → (`D`, 4, `ds`); `DS11-1` → (`DS`, 11, ``); `E16-4s` → (`E`, 16, `s`).
fn parse_core(core: &str) -> Option<Core<'_>> {
    let letters_end = core.find(|c: char| !c.is_ascii_uppercase())?;
    let (letters, rest) = core.split_at(letters_end);
    let digits_end = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
    let (digits, mut rest) = rest.split_at(digits_end);
    if letters.is_empty() || digits.is_empty() {
        return None;
    }
    if let Some(constrained) = rest.strip_prefix('-') {
        let end = constrained.find(|c: char| !c.is_ascii_digit()).unwrap_or(constrained.len());
        if end == 0 {
            return None;
        }
        rest = &constrained[end..];
    }
    if !rest.bytes().all(|b| b.is_ascii_lowercase()) {
        return None;
    }
    Some(Core { letters, vcpus: digits.parse().ok()?, features: rest })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sizes and the `family` that Resource SKUs answers give them, as quoted in public
    /// repositories (size tables generated from Resource SKUs, captured answers, quota errors),
    /// compared ignoring case.
    const RESOURCE_SKUS: &[(&str, &str)] = &[
        ("Standard_D2s_v3", "standardDSv3Family"),
        ("Standard_D4s_v3", "standardDSv3Family"),
        ("Standard_D2_v3", "standardDv3Family"),
        ("Standard_D16as_v4", "standardDASv4Family"),
        ("Standard_D2a_v4", "standardDAv4Family"),
        ("Standard_D2_v2", "standardDv2Family"),
        ("Standard_DS2_v2", "standardDSv2Family"),
        ("Standard_DS11-1_v2", "standardDSv2Family"),
        ("Standard_D13_v2_Promo", "standardDv2PromoFamily"),
        ("Standard_DS4_v2_Promo", "standardDSv2PromoFamily"),
        ("Standard_DS2", "standardDSFamily"),
        ("Standard_D2", "standardDFamily"),
        ("Standard_DC2s_v2", "standardDCSv2Family"),
        ("Standard_D2s_v5", "standardDSv5Family"),
        ("Standard_D4s_v5", "standardDSv5Family"),
        ("Standard_D2ls_v5", "standardDLSv5Family"),
        ("Standard_D2ls_v5", "standardDlsv5Family"),
        ("Standard_E4-2s_v3", "standardESv3Family"),
        ("Standard_E16_v3", "standardEv3Family"),
        ("Standard_E64is_v3", "standardEISv3Family"),
        ("Standard_E8as_v4", "standardEASv4Family"),
        ("Standard_F4s_v2", "standardFSv2Family"),
        ("Standard_F16s", "standardFSFamily"),
        ("Standard_F8", "standardFFamily"),
        ("Standard_L8s_v2", "standardLSv2Family"),
        ("Standard_M208ms_v2", "standardMSv2Family"),
        ("Standard_GS4-8", "standardGSFamily"),
        ("Standard_B2s", "standardBSFamily"),
        ("Standard_B1ls", "standardBSFamily"),
        ("Standard_B12ms", "standardBSFamily"),
        ("Standard_B2s_v2", "standardBsv2Family"),
        ("Standard_B2ats_v2", "standardBasv2Family"),
        ("Standard_B2als_v2", "standardBalsv2Family"),
        ("Standard_A2m_v2", "standardAv2Family"),
        ("Standard_A4", "standardA0_A7Family"),
        ("Standard_A10", "standardA8_A11Family"),
        ("Basic_A1", "basicAFamily"),
        ("Standard_NV6", "standardNVFamily"),
        ("Standard_NC24ads_A100_v4", "standardNCADSA100v4Family"),
    ];

    #[test]
    fn sizes_map_to_the_families_resource_skus_names() {
        for (size, family) in RESOURCE_SKUS {
            let derived = quota_family(size);
            assert!(
                derived.as_deref().is_some_and(|d| same_family(d, family)),
                "{size}: derived {derived:?}, Azure says {family}"
            );
        }
    }

    #[test]
    fn the_shapes_named_in_the_size_convention_are_exact() {
        assert_eq!(quota_family("Standard_D4ds_v5").as_deref(), Some("standardDDSv5Family"));
        assert_eq!(quota_family("Standard_D4ads_v5").as_deref(), Some("standardDADSv5Family"));
        assert_eq!(quota_family("Standard_E4ds_v5").as_deref(), Some("standardEDSv5Family"));
    }

    #[test]
    fn names_outside_the_convention_have_no_family() {
        for size in [
            "",
            "D4s_v5",
            "Premium_D4s_v5",
            "Standard_",
            "Standard_d4s_v5",
            "Standard_D-4s_v5",
            "Standard_D4s_v",
            "Standard_D4S_v5",
        ] {
            assert_eq!(quota_family(size), None, "{size}");
        }
    }
}
