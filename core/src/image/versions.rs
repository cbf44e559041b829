//! Which gallery image version a scale set should boot: the one a build produced, or the newest
//! one published.
//!
//! Pinning a version (rather than the image definition, which Azure resolves to its latest) makes
//! a rollout an explicit change of `imageReference.id` that agentpool plans, shows and applies,
//! and keeps a version built off a feature branch (published with `excludeFromLatest`) off the
//! pool.
//!
//! Caveats: "newest" is the highest version number, not the latest publishing date: with the
//! date-based scheme both agree; a semver version rebuilt at a lower number is not newest. A
//! version still replicating (`provisioningState` other than `Succeeded`) is not taken.

use serde_json::Value;

use crate::arm::{ArmClient, ArmError};
use crate::resources::{gallery_image, image_template};
use crate::version::ImageVersion;

/// The newest version of the image definition `definition_id` that is published for use: its
/// provisioning succeeded and it is not excluded from the definition's latest.
pub async fn newest(client: &ArmClient, definition_id: &str) -> Result<Option<String>, ArmError> {
    let versions = match client.list(&format!("{definition_id}/versions"), gallery_image::KIND.api_version).await {
        Ok(versions) => versions,
        Err(error) if error.status().is_some_and(|s| u16::from(s) == 404) => Vec::new(),
        Err(error) => Err(error)?,
    };
    Ok(newest_of(&versions).map(str::to_owned))
}

/// The id of the newest usable version among `versions` (as Azure lists them).
pub fn newest_of(versions: &[Value]) -> Option<&str> {
    versions
        .iter()
        .filter(|v| v.pointer("/properties/provisioningState").and_then(Value::as_str) == Some("Succeeded"))
        .filter(|v| v.pointer("/properties/publishingProfile/excludeFromLatest").and_then(Value::as_bool) != Some(true))
        .filter_map(|v| {
            let number = v.get("name")?.as_str()?.parse::<ImageVersion>().ok()?;
            Some((number, v.get("id")?.as_str()?))
        })
        .max_by_key(|(number, _)| *number)
        .map(|(_, id)| id)
}

/// The gallery image version the last run of template `template_id` produced, from the run's
/// outputs (the first whose artifact is a gallery image version: agentpool distributes to one).
pub async fn produced_by(client: &ArmClient, template_id: &str) -> Result<Option<String>, ArmError> {
    let outputs = client.list(&format!("{template_id}/runOutputs"), image_template::KIND.api_version).await?;
    Ok(outputs
        .iter()
        .filter_map(|o| o.pointer("/properties/artifactId").and_then(Value::as_str))
        .find(|id| id.to_ascii_lowercase().contains("/versions/"))
        .map(str::to_owned))
}

/// The version number an image reference names (`…/versions/0.26340.3600` → `0.26340.3600`);
/// `None` for a definition (its latest) or another kind of image.
pub fn number_of(image_reference: &str) -> Option<&str> {
    let (rest, number) = image_reference.rsplit_once('/')?;
    rest.to_ascii_lowercase().ends_with("/versions").then_some(number)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const DEFINITION: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-agents-sbx/providers/Microsoft.Compute/galleries/gal_agents_sbx/images/ubuntu-2204-agent";

    fn version(name: &str, state: &str, excluded: bool) -> Value {
        json!({
            "id": format!("{DEFINITION}/versions/{name}"),
            "name": name,
            "properties": {
                "publishingProfile": {"excludeFromLatest": excluded, "publishedDate": "2026-12-05T10:11:12Z"},
                "provisioningState": state
            }
        })
    }

    #[test]
    fn the_newest_published_version_wins_by_number_not_by_list_order() {
        let versions = [
            version("0.26339.11000", "Succeeded", false),
            version("0.26340.3600", "Succeeded", false),
            version("0.26339.50000", "Succeeded", false),
            version("0.26341.100", "Creating", false),
            version("0.26341.90", "Succeeded", true),
        ];
        assert_eq!(newest_of(&versions), Some(&*format!("{DEFINITION}/versions/0.26340.3600")));
        assert_eq!(newest_of(&versions[3..]), None, "replicating or excluded: none");
        assert_eq!(number_of(&format!("{DEFINITION}/versions/0.26340.3600")), Some("0.26340.3600"));
        assert_eq!(number_of(DEFINITION), None);
    }
}
