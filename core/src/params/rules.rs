//! Semantic checks of a parameter file: the rules that span fields or need the file system.
//!
//! Structural problems (unknown names, types, ranges) are found by [`super::schema`] first;
//! these rules run on the typed [`Parameters`] and on the `x-rule` strings the schema walk
//! collected. None of them calls Azure.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::diagnostic::{Diagnostic, JsonPath};
use super::model::{self, CustomizationStep, HyperVGeneration, ImageBuilderRole, Parameters, SecurityType};
use super::schema::RuleCheck;
use crate::aib::{Customizer, OsType};
use crate::nat::{self, Sizing};
use crate::{naming, suggest};

/// Applies the `x-rule` of every string the schema walk collected.
pub fn check_names(file: &str, checks: &[RuleCheck], out: &mut Vec<Diagnostic>) {
    for check in checks {
        if let Err(violation) = naming::check(&check.rule, &check.value) {
            out.push(Diagnostic::at(file, &check.path, violation.problem, violation.fix));
        }
    }
}

/// Checks the schema cannot express, on the document before it is typed: a `SharedImageVersion`
/// source names its version with exactly one of `imageVersionID` (as existing parameter files
/// spell it) or `imageVersionId` (swagger).
pub fn check_document(file: &str, document: &serde_json::Value, out: &mut Vec<Diagnostic>) {
    let Some(source) = document.pointer("/parameters/imageSource/value") else { return };
    if source.get("type").and_then(|t| t.as_str()) != Some("SharedImageVersion") {
        return;
    }
    let at = JsonPath::parameter("imageSource");
    match (source.get("imageVersionID").is_some(), source.get("imageVersionId").is_some()) {
        (false, false) => out.push(Diagnostic::at(
            file,
            &at.key("imageVersionID"),
            "missing required field",
            "add \"imageVersionID\": \"<resource id of the gallery image version>\"",
        )),
        (true, true) => out.push(Diagnostic::at(
            file,
            &at.key("imageVersionId"),
            "imageVersionID and imageVersionId are both given",
            "keep one of them",
        )),
        _ => {}
    }
}

/// Checks across fields; `scripts_dir` is the OS folder of the short-form scripts.
pub fn check_semantics(file: &str, parameters: &Parameters, scripts_dir: &Path, out: &mut Vec<Diagnostic>) {
    let mut report = |path: JsonPath, problem: String, fix: String| out.push(Diagnostic::at(file, &path, problem, fix));
    let os = parameters.image_definition.os_type;
    let definition = JsonPath::parameter("imageDefinition");

    if let Some(source_os) = parameters.image_source.known_os() {
        if source_os != os {
            report(
                JsonPath::parameter("imageSource").key("publisher"),
                format!("the source is a {source_os} image but imageDefinition.osType is {os}"),
                format!("use a {os} source image, or set imageDefinition.osType to {source_os}"),
            );
        }
    }
    if parameters.image_definition.security_type == SecurityType::TrustedLaunch
        && parameters.image_definition.hyper_v_generation == HyperVGeneration::V1
    {
        report(
            definition.key("securityType"),
            "TrustedLaunch needs a V2 (generation 2) image".into(),
            "set hyperVGeneration to V2 or securityType to Standard".into(),
        );
    }

    let steps = JsonPath::parameter("customizationSteps");
    for (index, step) in parameters.customization_steps.iter().enumerate() {
        let at = steps.index(index);
        match step {
            CustomizationStep::Customizer(customizer) => check_customizer(customizer, os, &at, &mut report),
            CustomizationStep::ScriptName(_) | CustomizationStep::Script(_) => {
                let script = step.as_script().unwrap_or_default();
                let at = if matches!(step, CustomizationStep::Script(_)) { at.key("script") } else { at };
                check_script(&script, os, scripts_dir, &at, &mut report);
            }
        }
    }

    let regions = JsonPath::parameter("targetRegions");
    let mut first_seen: HashMap<String, usize> = HashMap::new();
    for (index, region) in parameters.target_regions.iter().enumerate() {
        if let Some(first) = first_seen.insert(region.name.to_lowercase(), index) {
            report(
                regions.index(index).key("name"),
                format!("'{}' is given twice (also at targetRegions.value[{first}])", region.name),
                "keep one entry per region and raise its replicaCount instead".into(),
            );
        }
    }

    if let Err(error) = parameters.image_version.strategy.validate() {
        report(
            JsonPath::parameter("imageVersion"),
            error.to_string(),
            "see the imageVersion reference in the README".into(),
        );
    }

    check_build_network(parameters, &mut report);
    check_scale_set(parameters, &mut report);
}

/// With `imageBuilderRole: contributor` the identity's only role is Contributor on the image
/// resource group, which does not reach a build subnet in another group.
fn check_build_network(parameters: &Parameters, report: &mut impl FnMut(JsonPath, String, String)) {
    let Some(network) = parameters.build_virtual_network_id() else { return };
    let group = network.split('/').nth(4).unwrap_or_default();
    if parameters.image_builder_role == ImageBuilderRole::Contributor
        && !group.eq_ignore_ascii_case(&parameters.resource_group_name)
    {
        let image_group = &parameters.resource_group_name;
        report(
            JsonPath::parameter("buildSubnetId"),
            format!(
                "imageBuilderRole 'contributor' grants Contributor on resource group '{image_group}' only, but the build subnet's virtual network is in '{group}'"
            ),
            format!(
                "use imageBuilderRole 'leastPrivilege' (it grants the network actions on that virtual network), or a subnet in '{image_group}'"
            ),
        );
    }
}

fn check_customizer(
    customizer: &Customizer,
    os: OsType,
    at: &JsonPath,
    report: &mut impl FnMut(JsonPath, String, String),
) {
    if let Some(only) = customizer.only_os() {
        if only != os {
            report(
                at.key("type"),
                format!("a {} customizer runs on {only} only, but this image is {os}", customizer.kind()),
                match os {
                    OsType::Linux => "use Shell (or File) steps in a Linux image".into(),
                    OsType::Windows => {
                        "use PowerShell, WindowsRestart, WindowsUpdate or File steps in a Windows image".into()
                    }
                },
            );
        }
    }
    let (script_uri, inline) = match customizer {
        Customizer::Shell { script_uri, inline, .. } | Customizer::PowerShell { script_uri, inline, .. } => {
            (script_uri, inline)
        }
        _ => return,
    };
    match (script_uri, inline) {
        (Some(_), Some(_)) => {
            report(at.key("inline"), "scriptUri and inline are both given".into(), "keep one of them".into())
        }
        (None, None) => report(
            at.clone(),
            format!("a {} customizer needs scriptUri or inline", customizer.kind()),
            "add \"inline\": [\"<command>\"] or use the short form {\"script\": \"<file>\"}".into(),
        ),
        _ => {}
    }
}

fn check_script(
    script: &super::model::ScriptStep,
    os: OsType,
    scripts_dir: &Path,
    at: &JsonPath,
    report: &mut impl FnMut(JsonPath, String, String),
) {
    if naming::check("scriptFile", &script.script).is_err() {
        return; // reported by the name rules
    }
    let is_powershell = script.script.to_ascii_lowercase().ends_with(".ps1");
    match os {
        OsType::Windows if !is_powershell => {
            report(
                at.clone(),
                format!("'{}' is not a PowerShell script, and Windows steps run with PowerShell", script.script),
                "give a .ps1 script".into(),
            );
        }
        OsType::Linux if is_powershell => {
            report(
                at.clone(),
                format!("'{}' is a PowerShell script, but Linux steps run with the shell", script.script),
                "give a shell script, or call pwsh from one".into(),
            );
        }
        OsType::Linux
            if script.run_elevated.is_some() || script.run_as_system.is_some() || script.valid_exit_codes.is_some() =>
        {
            report(
                at.clone(),
                "runElevated, runAsSystem and validExitCodes apply to Windows steps only".into(),
                "remove them; Linux scripts run with sudo by default".into(),
            );
        }
        _ => {}
    }
    let path = scripts_dir.join(&script.script);
    if !path.is_file() {
        let fix = match suggest::closest(&script.script, existing_scripts(scripts_dir).iter().map(String::as_str)) {
            Some(close) => format!("did you mean '{close}'?"),
            None => format!("add the file to {} or fix the name", scripts_dir.display()),
        };
        report(at.clone(), format!("script '{}' not found in {}", script.script, scripts_dir.display()), fix);
    }
}

fn existing_scripts(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(|e| e.ok()).filter_map(|e| e.file_name().into_string().ok()).collect())
        .unwrap_or_default()
}

fn check_scale_set(parameters: &Parameters, report: &mut impl FnMut(JsonPath, String, String)) {
    let os = parameters.image_definition.os_type;
    let Some(scale_set) = &parameters.scale_set else {
        if parameters.nat_gateway.is_some() {
            report(
                JsonPath::parameter("natGateway"),
                "a NAT gateway needs a scale set subnet".into(),
                "add the scaleSet parameter or remove natGateway".into(),
            );
        }
        if parameters.agent_pool.is_some() {
            report(
                JsonPath::parameter("agentPool"),
                "an agent pool needs a scale set".into(),
                "add the scaleSet parameter or remove agentPool".into(),
            );
        }
        return;
    };
    let at = JsonPath::parameter("scaleSet");
    let location = parameters.scale_set_location().unwrap_or_default();
    if !parameters.target_regions.iter().any(|r| r.name.eq_ignore_ascii_case(location)) {
        report(
            at.key("location"),
            format!("the scale set is in '{location}', where the image is not replicated"),
            format!("add '{location}' to targetRegions or place the scale set in one of them"),
        );
    }
    if os == OsType::Windows && scale_set.ssh_public_key.is_some() {
        report(at.key("sshPublicKey"), "SSH keys apply to Linux scale sets only".into(), "remove sshPublicKey".into());
    }

    for rule in AZURE_DEVOPS_RULES {
        if let Some(value) = (rule.breaks)(scale_set) {
            report(
                at.key(rule.field),
                format!("{} is {value}, but {}", rule.field, rule.rule),
                format!("remove {} or set it to {}", rule.field, rule.required),
            );
        }
    }
    if let Some(nat) = &parameters.nat_gateway {
        check_nat_gateway(nat, parameters.agent_pool.as_ref(), report);
    }

    if let Some(pool) = &parameters.agent_pool {
        let at = JsonPath::parameter("agentPool");
        if pool.desired_idle > pool.max_capacity {
            report(
                at.key("desiredIdle"),
                format!("{} standby agents exceed maxCapacity {}", pool.desired_idle, pool.max_capacity),
                "lower desiredIdle or raise maxCapacity".into(),
            );
        }
        if pool.agent_interactive_ui && os == OsType::Linux {
            report(
                at.key("agentInteractiveUI"),
                "interactive agents exist on Windows only".into(),
                "set agentInteractiveUI to false".into(),
            );
        }
    }
}

/// A setting Azure DevOps allows one value of, on the scale sets of its pools (Microsoft's
/// "Azure virtual machine scale set agents" documentation).
struct AzureDevOpsRule {
    field: &'static str,
    required: &'static str,
    rule: &'static str,
    /// The value given, when it breaks the rule.
    breaks: fn(&model::ScaleSet) -> Option<String>,
}

const AZURE_DEVOPS_RULES: &[AzureDevOpsRule] = &[
    AzureDevOpsRule {
        field: "orchestrationMode",
        required: "\"Uniform\"",
        rule: "Azure DevOps scale-set agent pools need Uniform orchestration (Flexible is not supported)",
        breaks: |s| s.orchestration_mode.as_ref().filter(|m| *m != "Uniform").map(|m| format!("\"{m}\"")),
    },
    AzureDevOpsRule {
        field: "overprovision",
        required: "false",
        rule: "Azure DevOps scale-set agent pools do not support overprovisioning",
        breaks: |s| s.overprovision.filter(|o| *o).map(|o| o.to_string()),
    },
    AzureDevOpsRule {
        field: "upgradePolicy",
        required: "\"Manual\"",
        rule: "Azure DevOps scale-set agent pools need the Manual upgrade policy (Azure DevOps replaces agents itself, never during a job)",
        breaks: |s| s.upgrade_policy.as_ref().filter(|m| *m != "Manual").map(|m| format!("\"{m}\"")),
    },
    AzureDevOpsRule {
        field: "singlePlacementGroup",
        required: "false",
        rule: "Azure DevOps scale-set agent pools need singlePlacementGroup off (the set may grow past 100 VMs)",
        breaks: |s| s.single_placement_group.filter(|g| *g).map(|g| g.to_string()),
    },
    AzureDevOpsRule {
        field: "platformFaultDomainCount",
        required: "1",
        rule: "Azure DevOps scale-set agent pools need one platform fault domain",
        breaks: |s| s.platform_fault_domain_count.filter(|c| *c != 1).map(|c| c.to_string()),
    },
    AzureDevOpsRule {
        field: "loadBalancerBackendPoolIds",
        required: "[]",
        rule: "Azure DevOps scale-set agent pools need no load balancer (agents only call out)",
        breaks: |s| {
            s.load_balancer_backend_pool_ids.as_ref().filter(|ids| !ids.is_empty()).map(|ids| format!("{ids:?}"))
        },
    },
    AzureDevOpsRule {
        field: "publicIpPerInstance",
        required: "false",
        rule: "agents get no public IP of their own (give the subnet a natGateway for fixed outbound addresses)",
        breaks: |s| s.public_ip_per_instance.filter(|p| *p).map(|p| p.to_string()),
    },
];

/// The gateway's addresses: one at least, at most 16, enough for the pool's maximum.
fn check_nat_gateway(
    nat: &model::NatGateway,
    pool: Option<&model::AgentPool>,
    report: &mut impl FnMut(JsonPath, String, String),
) {
    let at = JsonPath::parameter("natGateway");
    let addresses = nat.address_count();
    if addresses == 0 {
        report(
            at.key("publicIpCount"),
            "the NAT gateway has no public IP".into(),
            "set publicIpCount to 1 or more, or publicIpPrefixLength".into(),
        );
        return;
    }
    if addresses > nat::MAX_ADDRESSES {
        report(
            at,
            format!("{addresses} public IP addresses in all, but a NAT gateway takes at most {}", nat::MAX_ADDRESSES),
            "lower publicIpCount or lengthen publicIpPrefixLength (a /28 prefix is 16 addresses)".into(),
        );
        return;
    }
    let Some(pool) = pool else { return };
    match Sizing::for_agents(pool.max_capacity, nat.flows_per_agent) {
        Ok(sizing) if sizing.addresses > addresses => report(
            at.key("publicIpCount"),
            format!(
                "{addresses} public IP(s) carry {} agents at {} flows each, but agentPool.maxCapacity is {}",
                sizing.capacity(addresses),
                nat.flows_per_agent,
                pool.max_capacity
            ),
            format!(
                "use {} public IPs or lower agentPool.maxCapacity (`agentpool nat plan` sizes it)",
                sizing.addresses
            ),
        ),
        Ok(_) => {}
        Err(error) => report(JsonPath::parameter("agentPool").key("maxCapacity"), error.to_string(), error.fix()),
    }
}

/// The folder of the short-form scripts for `os`: `<file's folder>/<scriptsDirectory>/<os>`.
pub fn scripts_dir(parameter_file: &Path, scripts_directory: &str, os: OsType) -> PathBuf {
    let base = parameter_file.parent().unwrap_or_else(|| Path::new("."));
    normalize(&base.join(scripts_directory).join(os.lowercase()))
}

/// Removes `.` and `name/..` pairs without touching the file system, so messages show
/// `yaml-templates/scripts/linux` rather than `yaml-templates/parameters/../scripts/linux`.
fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir if matches!(out.components().next_back(), Some(Component::Normal(_))) => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}
