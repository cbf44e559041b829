//! Azure naming and format rules for the strings of a parameter file.
//!
//! The schema marks each string with an `x-rule` name; [`check`] applies that rule. The rules are
//! Azure's published naming rules for each resource type, checked locally so a bad name fails in
//! a second instead of after a deployment has started.
//!
//! Caveat: global uniqueness (storage account names) and existence (subnets, source images) can
//! only be checked against Azure; these rules check the shape alone.

use std::str::FromStr;

use crate::version::ImageVersion;

/// A broken rule: what is wrong and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{problem} — {fix}")]
pub struct Violation {
    pub problem: String,
    pub fix: String,
}

fn violation(problem: impl Into<String>, fix: impl Into<String>) -> Violation {
    Violation { problem: problem.into(), fix: fix.into() }
}

/// The rule names the schema may use, for the schema's self-test.
pub const RULES: &[&str] = &[
    "region",
    "resourceGroupName",
    "storageAccountName",
    "blobContainerName",
    "identityName",
    "galleryName",
    "galleryImageName",
    "imageIdentifier",
    "imageTemplateName",
    "platformImageVersion",
    "galleryImageVersionId",
    "managedImageId",
    "scriptFile",
    "httpsUri",
    "sha256",
    "restartTimeout",
    "imageVersion",
    "scaleSetName",
    "subnetId",
    "adminUsername",
    "sshPublicKey",
    "networkName",
    "agentPoolName",
    "organizationUrl",
];

/// Longest base name of an image template: Azure allows 64 characters and agentpool appends
/// `-` and an 8-character content hash.
pub const IMAGE_TEMPLATE_BASE_MAX: usize = 64 - 9;

/// Applies the rule named `rule` to `value`.
///
/// # Panics
/// On a rule name not in [`RULES`]: that is a bug in the schema, caught by its tests.
pub fn check(rule: &str, value: &str) -> Result<(), Violation> {
    match rule {
        "region" => region(value),
        "resourceGroupName" => resource_group_name(value),
        "storageAccountName" => storage_account_name(value),
        "blobContainerName" => blob_container_name(value),
        "identityName" => name(
            value,
            "identity name",
            3,
            128,
            "-_",
            "",
            "letters, digits, hyphens and underscores, starting with a letter or digit",
        ),
        "galleryName" => name(
            value,
            "gallery name",
            1,
            80,
            "_.",
            "",
            "letters, digits, underscores and periods, starting and ending with a letter or digit",
        ),
        "galleryImageName" => name(
            value,
            "image definition name",
            1,
            80,
            "_.-",
            "",
            "letters, digits, underscores, hyphens and periods, starting and ending with a letter or digit",
        ),
        "imageIdentifier" => {
            name(value, "image identifier", 1, 128, "_.-", "_.-", "letters, digits, underscores, hyphens and periods")
        }
        "imageTemplateName" => name(
            value,
            "image template name",
            1,
            IMAGE_TEMPLATE_BASE_MAX,
            "_.-",
            "_",
            "letters, digits, underscores, hyphens and periods",
        ),
        "scaleSetName" => name(
            value,
            "scale set name",
            1,
            64,
            "_.-",
            "_",
            "letters, digits, underscores, hyphens and periods, ending with a letter, digit or underscore",
        ),
        "networkName" => name(
            value,
            "network resource name",
            1,
            80,
            "_.-",
            "_",
            "letters, digits, underscores, hyphens and periods, ending with a letter, digit or underscore",
        ),
        "platformImageVersion" => platform_image_version(value),
        "galleryImageVersionId" => resource_id(
            value,
            "gallery image version",
            &["Microsoft.Compute", "galleries", "*", "images", "*", "versions", "*"],
        )
        .and_then(|()| gallery_version_suffix(value)),
        "managedImageId" => resource_id(value, "managed image", &["Microsoft.Compute", "images", "*"]),
        "subnetId" => resource_id(value, "subnet", &["Microsoft.Network", "virtualNetworks", "*", "subnets", "*"]),
        "scriptFile" => script_file(value),
        "httpsUri" => https_uri(value),
        "sha256" => sha256(value),
        "restartTimeout" => restart_timeout(value),
        "imageVersion" => ImageVersion::from_str(value)
            .map(drop)
            .map_err(|error| violation(error.to_string(), "use three numbers like 1.2.3")),
        "adminUsername" => admin_username(value),
        "sshPublicKey" => ssh_public_key(value),
        "agentPoolName" => agent_pool_name(value),
        "organizationUrl" => organization_url(value),
        other => panic!("unknown x-rule '{other}' in parameters.schema.json"),
    }
}

/// Generic Azure name: length bounds, letters and digits plus `extra` characters, first
/// character a letter or digit, last a letter or digit or one of `allowed_last`.
fn name(
    value: &str,
    what: &str,
    min: usize,
    max: usize,
    extra: &str,
    allowed_last: &str,
    fix: &str,
) -> Result<(), Violation> {
    let length = value.chars().count();
    let fix = format!("use {min}–{max} {fix}");
    if length < min || length > max {
        return Err(violation(format!("'{value}' is not a valid {what}: it has {length} characters"), fix));
    }
    if let Some(bad) = value.chars().find(|c| !c.is_ascii_alphanumeric() && !extra.contains(*c)) {
        return Err(violation(format!("'{value}' is not a valid {what}: '{bad}' is not allowed"), fix));
    }
    let first = value.chars().next().unwrap_or_default();
    let last = value.chars().last().unwrap_or_default();
    if !first.is_ascii_alphanumeric() {
        return Err(violation(format!("'{value}' is not a valid {what}: it starts with '{first}'"), fix));
    }
    if !last.is_ascii_alphanumeric() && !allowed_last.contains(last) {
        return Err(violation(format!("'{value}' is not a valid {what}: it ends with '{last}'"), fix));
    }
    Ok(())
}

fn region(value: &str) -> Result<(), Violation> {
    if !value.is_empty() && value.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()) {
        return Ok(());
    }
    let normalized: String = value.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_lowercase();
    Err(violation(
        format!("'{value}' is not a region name"),
        format!(
            "use the region's programmatic name, e.g. '{}'",
            if normalized.is_empty() { "westeurope" } else { &normalized }
        ),
    ))
}

fn resource_group_name(value: &str) -> Result<(), Violation> {
    let fix = "use 1–90 letters, digits, underscores, hyphens, periods and parentheses, not ending with a period";
    let length = value.chars().count();
    if length == 0 || length > 90 {
        return Err(violation(
            format!("'{value}' is not a valid resource group name: it has {length} characters"),
            fix,
        ));
    }
    if let Some(bad) = value.chars().find(|c| !c.is_alphanumeric() && !"_-.()".contains(*c)) {
        return Err(violation(format!("'{value}' is not a valid resource group name: '{bad}' is not allowed"), fix));
    }
    if value.ends_with('.') {
        return Err(violation(format!("'{value}' is not a valid resource group name: it ends with a period"), fix));
    }
    Ok(())
}

fn storage_account_name(value: &str) -> Result<(), Violation> {
    let candidate: String = value.chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_lowercase();
    let fix = if (3..=24).contains(&candidate.len()) && candidate != value {
        format!("use 3–24 lowercase letters and digits, e.g. '{candidate}'")
    } else {
        "use 3–24 lowercase letters and digits".to_owned()
    };
    let length = value.chars().count();
    if !(3..=24).contains(&length) {
        return Err(violation(
            format!("'{value}' is not a valid storage account name: it has {length} characters"),
            fix,
        ));
    }
    if let Some(bad) = value.chars().find(|c| !c.is_ascii_lowercase() && !c.is_ascii_digit()) {
        let reason = if bad.is_ascii_uppercase() {
            "uppercase letters are not allowed".to_owned()
        } else {
            format!("'{bad}' is not allowed")
        };
        return Err(violation(format!("'{value}' is not a valid storage account name: {reason}"), fix));
    }
    Ok(())
}

fn blob_container_name(value: &str) -> Result<(), Violation> {
    let fix = "use 3–63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit";
    let length = value.chars().count();
    let bad = !(3..=63).contains(&length)
        || value.chars().any(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'))
        || value.starts_with('-')
        || value.ends_with('-')
        || value.contains("--");
    if bad {
        return Err(violation(format!("'{value}' is not a valid blob container name"), fix));
    }
    Ok(())
}

fn platform_image_version(value: &str) -> Result<(), Violation> {
    let numeric = |part: &str| !part.is_empty() && part.chars().all(|c| c.is_ascii_digit());
    if value == "latest" || (value.split('.').count() == 3 && value.split('.').all(numeric)) {
        return Ok(());
    }
    Err(violation(
        format!("'{value}' is not a marketplace image version"),
        "use 'latest' or an exact version like 22.04.202411150",
    ))
}

/// Checks `/subscriptions/{id}/resourceGroups/{rg}/providers/{namespace}/{type}/{name}/…`,
/// case-insensitively, against `shape` (`*` stands for a name).
fn resource_id(value: &str, what: &str, shape: &[&str]) -> Result<(), Violation> {
    let mut expected = vec!["subscriptions", "*", "resourceGroups", "*", "providers"];
    expected.extend_from_slice(shape);
    let template = expected.iter().map(|s| if *s == "*" { "{name}" } else { s }).collect::<Vec<_>>().join("/");
    let fix = format!("give the full resource id: /{template}");
    let parts: Vec<&str> = value.trim_start_matches('/').split('/').collect();
    let matches = value.starts_with('/')
        && parts.len() == expected.len()
        && parts.iter().zip(&expected).all(|(part, want)| {
            if *want == "*" {
                !part.is_empty()
            } else {
                part.eq_ignore_ascii_case(want)
            }
        });
    if matches {
        Ok(())
    } else {
        Err(violation(format!("'{value}' is not a {what} resource id"), fix))
    }
}

fn gallery_version_suffix(value: &str) -> Result<(), Violation> {
    let version = value.rsplit('/').next().unwrap_or_default();
    if version.eq_ignore_ascii_case("latest") || ImageVersion::from_str(version).is_ok() {
        return Ok(());
    }
    Err(violation(
        format!("'{version}' in '{value}' is not an image version"),
        "end the id with /versions/<x.y.z> or /versions/latest",
    ))
}

fn script_file(value: &str) -> Result<(), Violation> {
    let escapes = value.split(['/', '\\']).any(|part| part == "..");
    if value.starts_with('/') || value.starts_with('\\') || value.contains(':') || escapes {
        return Err(violation(
            format!("'{value}' must be a path inside the scripts folder"),
            "give the file name relative to the scripts folder, e.g. install-tools.sh",
        ));
    }
    Ok(())
}

fn https_uri(value: &str) -> Result<(), Violation> {
    match value.strip_prefix("https://") {
        Some(rest) if !rest.is_empty() && !rest.starts_with('/') => Ok(()),
        _ => Err(violation(
            format!("'{value}' is not an https URI"),
            "use an https:// URI, or the short form {\"script\": \"<file>\"} for a local script",
        )),
    }
}

fn sha256(value: &str) -> Result<(), Violation> {
    if value.len() == 64 && value.chars().all(|c| c.is_ascii_hexdigit()) {
        return Ok(());
    }
    Err(violation(format!("'{value}' is not a SHA-256 checksum"), "give 64 hexadecimal characters, or leave it out"))
}

fn restart_timeout(value: &str) -> Result<(), Violation> {
    let mut rest = value;
    let mut units_seen = String::new();
    while !rest.is_empty() {
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        let unit = rest[digits..].chars().next();
        match unit {
            Some(u @ ('h' | 'm' | 's')) if digits > 0 && !units_seen.contains(u) => {
                units_seen.push(u);
                rest = &rest[digits + 1..];
            }
            _ => return Err(violation(format!("'{value}' is not a duration"), "use a duration like 5m, 1h or 1h30m")),
        }
    }
    if value.is_empty() {
        return Err(violation("the restart timeout is empty", "use a duration like 5m, 1h or 1h30m"));
    }
    Ok(())
}

const RESERVED_USERNAMES: &[&str] = &[
    "administrator",
    "admin",
    "user",
    "user1",
    "test",
    "user2",
    "test1",
    "user3",
    "admin1",
    "1",
    "123",
    "a",
    "actuser",
    "adm",
    "admin2",
    "aspnet",
    "backup",
    "console",
    "david",
    "guest",
    "john",
    "owner",
    "root",
    "server",
    "sql",
    "support",
    "support_388945a0",
    "sys",
    "test2",
    "test3",
    "user4",
    "user5",
];

fn admin_username(value: &str) -> Result<(), Violation> {
    let fix = "use 1–20 letters, digits, hyphens and underscores that are not a reserved name like admin or root";
    let length = value.chars().count();
    if length == 0 || length > 20 || value.chars().any(|c| !(c.is_ascii_alphanumeric() || c == '-' || c == '_')) {
        return Err(violation(format!("'{value}' is not a valid admin user name"), fix));
    }
    if RESERVED_USERNAMES.contains(&value.to_lowercase().as_str()) {
        return Err(violation(format!("'{value}' is a reserved user name"), fix));
    }
    Ok(())
}

fn ssh_public_key(value: &str) -> Result<(), Violation> {
    let mut parts = value.split_whitespace();
    let kind = parts.next().unwrap_or_default();
    let key = parts.next().unwrap_or_default();
    if matches!(kind, "ssh-rsa" | "ssh-ed25519") && key.len() > 40 {
        return Ok(());
    }
    Err(violation(
        "the SSH public key is not an OpenSSH public key",
        "paste the one-line content of id_rsa.pub or id_ed25519.pub",
    ))
}

fn agent_pool_name(value: &str) -> Result<(), Violation> {
    let fix = "use 1–64 characters without \" / : < > \\ | * ? @ and without leading or trailing spaces";
    let length = value.chars().count();
    if length == 0
        || length > 64
        || value.trim() != value
        || value.chars().any(|c| "\"/:<>\\|*?@".contains(c) || c.is_control())
    {
        return Err(violation(format!("'{value}' is not a valid agent pool name"), fix));
    }
    Ok(())
}

fn organization_url(value: &str) -> Result<(), Violation> {
    let fix = "use https://dev.azure.com/<organization>";
    let Some(rest) = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://").filter(|r| r.starts_with("localhost") || r.starts_with("127.0.0.1")))
    else {
        return Err(violation(format!("'{value}' is not an https URL"), fix));
    };
    let rest = rest.trim_end_matches('/');
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty() || rest.contains(['?', '#']) {
        return Err(violation(format!("'{value}' is not an organization URL"), fix));
    }
    if host.eq_ignore_ascii_case("dev.azure.com") && rest.split('/').filter(|p| !p.is_empty()).count() != 2 {
        return Err(violation(format!("'{value}' does not name one organization"), fix));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fails(rule: &str, value: &str) -> String {
        check(rule, value).expect_err(value).to_string()
    }

    #[test]
    fn storage_accounts_are_lowercase_letters_and_digits() {
        check("storageAccountName", "agentssbxscripts").unwrap();
        assert_eq!(
            fails("storageAccountName", "Agents_Sbx"),
            "'Agents_Sbx' is not a valid storage account name: uppercase letters are not allowed — use 3–24 lowercase letters and digits, e.g. 'agentssbx'"
        );
        assert!(fails("storageAccountName", "ab").contains("it has 2 characters"));
        assert!(fails("storageAccountName", &"a".repeat(25)).contains("it has 25 characters"));
    }

    #[test]
    fn galleries_allow_no_hyphens() {
        check("galleryName", "agents_sbx.gallery").unwrap();
        assert!(fails("galleryName", "agents-sbx").contains("'-' is not allowed"));
        assert!(fails("galleryName", "_agents").contains("starts with '_'"));
    }

    #[test]
    fn resource_groups_cannot_end_with_a_period() {
        check("resourceGroupName", "rg-agents_(sbx).1").unwrap();
        assert!(fails("resourceGroupName", "rg.").contains("ends with a period"));
        assert!(fails("resourceGroupName", "rg agents").contains("' ' is not allowed"));
    }

    #[test]
    fn resource_ids_are_checked_case_insensitively() {
        let id = "/subscriptions/c64d2kd9/resourcegroups/scale-set-rg/providers/Microsoft.Compute/galleries/mygallery/images/mydefinition/versions/0.24457.34028";
        check("galleryImageVersionId", id).unwrap();
        check("galleryImageVersionId", &id.replace("0.24457.34028", "latest")).unwrap();
        assert!(fails("galleryImageVersionId", &id.replace("0.24457.34028", "1.2")).contains("is not an image version"));
        assert!(fails(
            "subnetId",
            "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vnet"
        )
        .contains("/subnets/{name}"));
    }

    #[test]
    fn durations_and_urls() {
        check("restartTimeout", "1h30m").unwrap();
        assert!(check("restartTimeout", "90").is_err());
        assert!(check("restartTimeout", "5m5m").is_err());
        check("organizationUrl", "https://dev.azure.com/contoso").unwrap();
        check("organizationUrl", "http://127.0.0.1:8080/contoso").unwrap();
        assert!(check("organizationUrl", "http://dev.azure.com/contoso").is_err());
        assert!(check("organizationUrl", "https://dev.azure.com/").is_err());
    }

    #[test]
    fn regions_use_programmatic_names() {
        check("region", "westeurope").unwrap();
        assert_eq!(
            fails("region", "West Europe"),
            "'West Europe' is not a region name — use the region's programmatic name, e.g. 'westeurope'"
        );
    }

    #[test]
    fn scripts_stay_inside_their_folder() {
        check("scriptFile", "linux-tools/install.sh").unwrap();
        assert!(check("scriptFile", "../secrets.sh").is_err());
        assert!(check("scriptFile", "/etc/passwd").is_err());
        assert!(check("scriptFile", "C:\\x.ps1").is_err());
    }
}
