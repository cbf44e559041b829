//! The rights the deploy needs against what the caller has: one finding per scope and what is
//! missing there, naming what needs it and a built-in role that grants it.

use std::collections::BTreeMap;

use super::finding::{Check, Finding};
use super::permissions::{allowed, Plane};
use super::reads::Granted;
use super::requirements::{Right, Scope, READ_BLOB};
use super::roles;
use crate::resources::built_in_roles;

/// Findings for every right in `needed` that `granted` does not allow — the rights missing at
/// one scope and plane share a line, with everything that needs them and one role granting
/// them all — and a warning per scope whose rights could not be read.
pub fn check(needed: &BTreeMap<Right, Vec<String>>, granted: &BTreeMap<Scope, Granted>) -> Vec<Finding> {
    let mut missing: BTreeMap<(&Scope, Plane), Missing> = BTreeMap::new();
    let mut unreadable: BTreeMap<&Scope, &str> = BTreeMap::new();
    for (right, needed_for) in needed {
        match granted.get(&right.scope) {
            Some(Granted::Known { blocks, group_exists }) => {
                if !allowed(blocks, &right.action, right.plane) {
                    let entry = missing.entry((&right.scope, right.plane)).or_insert(Missing {
                        actions: Vec::new(),
                        needed_for: Vec::new(),
                        group_exists: *group_exists,
                    });
                    entry.actions.push(&right.action);
                    for item in needed_for {
                        if !entry.needed_for.contains(item) {
                            entry.needed_for.push(item.clone());
                        }
                    }
                }
            }
            Some(Granted::Unknown(why)) => {
                unreadable.insert(&right.scope, why);
            }
            None => {
                unreadable.insert(&right.scope, "not read");
            }
        }
    }
    let mut findings: Vec<Finding> = missing
        .into_iter()
        .map(|((scope, plane), gap)| finding(scope, plane, &gap.actions, &gap.needed_for, gap.group_exists))
        .collect();
    findings.extend(unreadable.into_iter().map(|(scope, why)| {
        Finding::warning(
            Check::Permissions,
            format!("the deploying principal's rights on {scope} could not be read ({why}); they were not checked"),
            "run preflight again, or check the role assignments in the Azure portal (Access control (IAM))",
        )
    }));
    findings
}

/// A warning when the caller may not read blobs at `subscription`: `image wait` streams Image
/// Builder's `packerlogs/<run>/customization.log` from the staging resource group's storage with
/// Entra ID, which needs the data action
/// `Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read` (Storage Blob Data
/// Reader carries it; Owner and Contributor carry no data actions: "Azure built-in roles for
/// Storage", <https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/storage>).
///
/// Not blocking: when the read is refused, the wait still follows the build and says once why
/// the log is missing ([`crate::image::log`]). Judged at the subscription, because the staging
/// group is created by Image Builder with the template; no warning when the rights there are
/// unknown.
pub fn log_read(subscription: &Scope, granted: &BTreeMap<Scope, Granted>) -> Option<Finding> {
    let Some(Granted::Known { blocks, .. }) = granted.get(subscription) else { return None };
    if allowed(blocks, READ_BLOB, Plane::Data) {
        return None;
    }
    let role = built_in_roles::STORAGE_BLOB_DATA_READER;
    let at = subscription.id();
    Some(Finding::warning(
        Check::Permissions,
        format!(
            "the deploying principal lacks data action {READ_BLOB} on {subscription}, needed to stream the build's customization log (packerlogs/<run>/customization.log in the staging resource group's storage); `image wait` still follows the build, without its log"
        ),
        format!(
            "assign it {} ({}) at {at}: `az role assignment create --assignee <its object id> --role \"{}\" --scope {at}`, or accept that the log is not streamed",
            role.name, role.id, role.name
        ),
    ))
}

/// The actions missing at one scope and plane, and what needs any of them.
struct Missing<'a> {
    actions: Vec<&'a str>,
    needed_for: Vec<String>,
    group_exists: bool,
}

fn finding(scope: &Scope, plane: Plane, actions: &[&str], needed_for: &[String], group_exists: bool) -> Finding {
    let kind = match (plane, actions.len()) {
        (Plane::Control, 1) => "",
        (Plane::Control, _) => "actions ",
        (Plane::Data, 1) => "data action ",
        (Plane::Data, _) => "data actions ",
    };
    let where_ = if group_exists || matches!(scope, Scope::Subscription { .. }) {
        scope.to_string()
    } else {
        format!("{scope} (not created yet: rights come from subscription {})", scope.subscription())
    };
    // A role cannot be assigned on a group that does not exist yet: the subscription, then.
    let assign_at = if group_exists { scope.id() } else { format!("/subscriptions/{}", scope.subscription()) };
    let what = if actions.len() == 1 { "it" } else { "them" };
    let fix = match roles::narrowest_granting(actions, plane) {
        Some(role) => format!(
            "assign the deploying principal {} ({}), or a role with {what}, at {assign_at}: `az role assignment create --assignee <its object id> --role \"{}\" --scope {assign_at}`",
            role.name, role.id, role.name
        ),
        None => format!("assign the deploying principal a role with {what} at {assign_at}"),
    };
    Finding::blocking(
        Check::Permissions,
        format!(
            "the deploying principal lacks {kind}{} on {where_}, needed for {}",
            actions.join(" and "),
            summarize(needed_for)
        ),
        fix,
    )
}

/// `storage account st, 2 role assignments` — names that are GUIDs counted, long lists cut.
fn summarize(needed_for: &[String]) -> String {
    let mut named: Vec<String> = Vec::new();
    let mut counted: BTreeMap<&str, usize> = BTreeMap::new();
    for item in needed_for {
        match item.rsplit_once(' ') {
            Some((kind, name)) if uuid::Uuid::parse_str(name).is_ok() => *counted.entry(kind).or_default() += 1,
            _ => named.push(item.clone()),
        }
    }
    named
        .extend(counted.into_iter().map(|(kind, n)| if n == 1 { format!("a {kind}") } else { format!("{n} {kind}s") }));
    const SHOWN: usize = 3;
    if named.len() > SHOWN {
        let more = named.len() - SHOWN;
        named.truncate(SHOWN);
        named.push(format!("{more} more"));
    }
    match named.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        Some((last, _)) => last.clone(),
        None => "the deploy".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preflight::permissions::PermissionBlock;
    use crate::preflight::Severity;

    const SUB: &str = "00000000-0000-0000-0000-000000000000";

    fn group(name: &str) -> Scope {
        Scope::ResourceGroup { subscription: SUB.into(), name: name.into() }
    }

    fn role(name: &str) -> PermissionBlock {
        roles::ADVISED.iter().find(|r| r.role.name == name).unwrap().block()
    }

    fn needs() -> BTreeMap<Right, Vec<String>> {
        let image = group("rg-agents-sbx");
        BTreeMap::from([
            (
                Right::new(image.clone(), "Microsoft.Storage/storageAccounts/write", Plane::Control),
                vec!["storage account stagentssbxscripts".into()],
            ),
            (
                Right::new(image.clone(), "Microsoft.Authorization/roleAssignments/write", Plane::Control),
                vec![
                    "role assignment 5d2a3b9e-7c41-5f8a-9b0e-2c6d4f1a8e37".into(),
                    "role assignment 0b6c1e5f-3a2d-5e4b-8c9f-7d1a2b3c4e5f".into(),
                ],
            ),
            (
                Right::new(image, "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write", Plane::Data),
                vec!["uploading the scripts to blob container aibscripts".into()],
            ),
        ])
    }

    #[test]
    fn owner_passes() {
        let granted = BTreeMap::from([(
            group("rg-agents-sbx"),
            Granted::Known { blocks: vec![role("Owner"), role("Storage Blob Data Contributor")], group_exists: true },
        )]);
        assert_eq!(check(&needs(), &granted), []);
    }

    #[test]
    fn contributor_alone_lacks_role_assignments_and_blob_data() {
        let granted = BTreeMap::from([(
            group("rg-agents-sbx"),
            Granted::Known { blocks: vec![role("Contributor")], group_exists: true },
        )]);
        let findings = check(&needs(), &granted);
        assert_eq!(findings.len(), 2, "{findings:#?}");
        assert_eq!(
            findings[0].line("sbx.parameters.linux.json"),
            "sbx.parameters.linux.json: the deploying principal lacks Microsoft.Authorization/roleAssignments/write on resource group rg-agents-sbx, needed for 2 role assignments — assign the deploying principal Role Based Access Control Administrator (f58310d9-a9f6-439a-9e8d-f62e7b41a168), or a role with it, at /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-agents-sbx: `az role assignment create --assignee <its object id> --role \"Role Based Access Control Administrator\" --scope /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-agents-sbx`"
        );
        assert!(findings[1].what.starts_with("the deploying principal lacks data action Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write"), "{}", findings[1].what);
        assert!(
            findings[1].fix.contains("Storage Blob Data Contributor (ba92f5b4-2d11-453d-a403-e96b0029c9fe)"),
            "{}",
            findings[1].fix
        );
    }

    #[test]
    fn role_assignments_and_definitions_share_one_line_and_one_role() {
        let image = group("rg-agents-sbx");
        let mut needed = needs();
        needed.insert(
            Right::new(image.clone(), "Microsoft.Authorization/roleDefinitions/write", Plane::Control),
            vec!["role definition agentpool image builder".into()],
        );
        let granted = BTreeMap::from([(
            image,
            Granted::Known {
                blocks: vec![role("Contributor"), role("Storage Blob Data Contributor")],
                group_exists: true,
            },
        )]);
        let findings = check(&needed, &granted);
        assert_eq!(findings.len(), 1, "{findings:#?}");
        assert!(
            findings[0].what.starts_with("the deploying principal lacks actions Microsoft.Authorization/roleAssignments/write and Microsoft.Authorization/roleDefinitions/write on resource group rg-agents-sbx, needed for role definition agentpool image builder and 2 role assignments"),
            "{}",
            findings[0].what
        );
        assert!(
            findings[0].fix.contains("User Access Administrator (18d7d88d-d35e-4fb5-a5c3-7773c20a72d9)"),
            "{}",
            findings[0].fix
        );
        assert!(!findings[0].fix.contains("Role Based Access Control Administrator"), "{}", findings[0].fix);
    }

    #[test]
    fn no_blob_read_at_the_subscription_warns_that_the_log_is_not_streamed() {
        let subscription = Scope::Subscription { subscription: SUB.into() };
        let with = |names: &[&str]| {
            let blocks = names.iter().map(|name| role(name)).collect();
            BTreeMap::from([(subscription.clone(), Granted::Known { blocks, group_exists: false })])
        };
        let warning = log_read(&subscription, &with(&["Owner"])).expect("Owner reads no blobs");
        assert_eq!(warning.severity, Severity::Warning);
        assert!(warning.what.contains("packerlogs/<run>/customization.log"), "{}", warning.what);
        assert!(warning.fix.starts_with("assign it Storage Blob Data Reader (2a2b9908-6ea1-4ae2-8e65-a410df84e7d1) at /subscriptions/00000000-0000-0000-0000-000000000000: `az role assignment create"), "{}", warning.fix);
        assert!(warning.fix.ends_with("or accept that the log is not streamed"), "{}", warning.fix);
        assert_eq!(log_read(&subscription, &with(&["Contributor", "Storage Blob Data Contributor"])), None);
        let unknown = BTreeMap::from([(subscription.clone(), Granted::Unknown("403".into()))]);
        assert_eq!(log_read(&subscription, &unknown), None);
    }

    #[test]
    fn a_group_not_created_yet_is_judged_and_fixed_at_the_subscription() {
        let granted = BTreeMap::from([(
            group("rg-agents-sbx"),
            Granted::Known { blocks: vec![role("Contributor")], group_exists: false },
        )]);
        let findings = check(&needs(), &granted);
        assert!(findings[0].what.contains("resource group rg-agents-sbx (not created yet: rights come from subscription 00000000-0000-0000-0000-000000000000)"), "{}", findings[0].what);
        assert!(
            findings[0].fix.ends_with("--scope /subscriptions/00000000-0000-0000-0000-000000000000`"),
            "{}",
            findings[0].fix
        );
    }

    #[test]
    fn unreadable_rights_warn_once_per_scope() {
        let granted = BTreeMap::from([(group("rg-agents-sbx"), Granted::Unknown("403 Forbidden".into()))]);
        let findings = check(&needs(), &granted);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].severity, Severity::Warning);
        assert!(findings[0].what.contains("(403 Forbidden)"));
    }

    #[test]
    fn long_lists_are_cut_and_guid_names_counted() {
        let items: Vec<String> = [
            "gallery a",
            "image definition b",
            "storage account c",
            "managed identity d",
            "role assignment 5d2a3b9e-7c41-5f8a-9b0e-2c6d4f1a8e37",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(summarize(&items), "gallery a, image definition b, storage account c and 2 more");
        assert_eq!(summarize(&items[4..]), "a role assignment");
        assert_eq!(summarize(&items[..2]), "gallery a and image definition b");
    }
}
