//! Cleaning up after image builds: old templates of the family, the staging resource groups
//! Image Builder left behind, and image versions beyond the newest few.
//!
//! Never deleted: a template whose build runs, the newest image version, and any version a
//! scale set of the parameters boots from. Planning only reads; [`apply`] deletes.
//!
//! Caveat: a template's age is the end of its last run (Image Builder reports no creation time);
//! a template that never ran is left alone.

use std::time::Duration;

use serde_json::Value;
use time::OffsetDateTime;

use crate::arm::{ArmClient, ArmError};
use crate::events::{Event, EventSink};
use crate::params::Parameters;
use crate::resources::{self, gallery_image, image_template, resource_group, scale_set};
use crate::version::ImageVersion;

/// What may go.
#[derive(Debug, Clone)]
pub struct Rules {
    pub older_than: Duration,
    /// Image versions kept, newest first (at least one).
    pub keep: usize,
    pub now: OffsetDateTime,
}

/// One thing to delete, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deletion {
    pub id: String,
    pub api_version: &'static str,
    pub reason: String,
}

/// Finds what `rules` allow to delete for the image of `parameters` in `subscription`.
pub async fn plan(
    client: &ArmClient,
    subscription: &str,
    parameters: &Parameters,
    rules: &Rules,
) -> Result<Vec<Deletion>, ArmError> {
    let group = &parameters.resource_group_name;
    let prefix = format!("{}-", parameters.image_template_name).to_lowercase();
    let mut out = Vec::new();

    let templates_path = format!(
        "{}/providers/{}",
        resources::resource_group_id(subscription, group),
        image_template::KIND.resource_type
    );
    let templates = list_or_empty(client, &templates_path, image_template::KIND.api_version).await?;
    let family: Vec<&Value> = templates.iter().filter(|t| name_of(t).to_lowercase().starts_with(&prefix)).collect();
    for template in &family {
        let state = template.pointer("/properties/lastRunStatus/runState").and_then(Value::as_str).unwrap_or("");
        if matches!(state, "Running" | "Canceling") {
            continue;
        }
        let ended = template
            .pointer("/properties/lastRunStatus/endTime")
            .and_then(Value::as_str)
            .and_then(|t| OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok());
        if let Some(ended) = ended {
            let age = rules.now - ended;
            if age >= time::Duration::try_from(rules.older_than).unwrap_or(time::Duration::MAX) {
                out.push(Deletion {
                    id: id_of(template),
                    api_version: image_template::KIND.api_version,
                    reason: format!("image template, last run {state} {} days ago", age.whole_days()),
                });
            }
        }
    }

    // Staging groups whose template is gone: `IT_<group>_<template>_<guid>`.
    let groups = list_or_empty(
        client,
        &format!("/subscriptions/{subscription}/resourcegroups"),
        resource_group::KIND.api_version,
    )
    .await?;
    let staging_prefix = format!("it_{}_{}", group.to_lowercase(), prefix);
    for staging in groups.iter().filter(|g| name_of(g).to_lowercase().starts_with(&staging_prefix)) {
        let name = name_of(staging).to_lowercase();
        let owner_alive = family.iter().any(|t| {
            let template = name_of(t).to_lowercase();
            name.starts_with(&format!("it_{}_{}_", group.to_lowercase(), template))
        });
        if !owner_alive {
            out.push(Deletion {
                id: id_of(staging),
                api_version: resource_group::KIND.api_version,
                reason: "staging resource group of a deleted image template".into(),
            });
        }
    }

    // Image versions beyond the newest `keep`, except those a scale set uses.
    let definition = gallery_image::id_of(subscription, parameters);
    let mut versions: Vec<(ImageVersion, String)> =
        list_or_empty(client, &format!("{definition}/versions"), gallery_image::KIND.api_version)
            .await?
            .iter()
            .filter_map(|v| name_of(v).parse::<ImageVersion>().ok().map(|parsed| (parsed, id_of(v))))
            .collect();
    versions.sort_by_key(|(version, _)| std::cmp::Reverse(*version));
    let in_use = images_in_use(client, subscription, parameters).await?;
    for (version, id) in versions.iter().skip(rules.keep.max(1)) {
        if in_use.iter().any(|used| used.eq_ignore_ascii_case(id)) {
            continue;
        }
        out.push(Deletion {
            id: id.clone(),
            api_version: gallery_image::KIND.api_version,
            reason: format!("image version {version}, beyond the newest {}", rules.keep.max(1)),
        });
    }
    Ok(out)
}

/// Deletes, templates first (Image Builder removes their staging groups with them).
pub async fn apply(client: &ArmClient, deletions: &[Deletion], sink: &dyn EventSink) -> Result<(), ArmError> {
    for deletion in deletions {
        client.delete(&deletion.id, deletion.api_version).await?;
        sink.emit(Event::Note(format!("deleted {} ({})", deletion.id, deletion.reason)));
    }
    Ok(())
}

/// Image ids the scale sets of the parameters' scale-set group boot from: their models', and
/// every instance's own (an instance keeps the image it was made from until it is replaced, so a
/// version an agent still runs is in use).
async fn images_in_use(
    client: &ArmClient,
    subscription: &str,
    parameters: &Parameters,
) -> Result<Vec<String>, ArmError> {
    let Some(group) = parameters.scale_set_resource_group() else { return Ok(Vec::new()) };
    let path =
        format!("{}/providers/{}", resources::resource_group_id(subscription, group), scale_set::KIND.resource_type);
    let mut in_use = Vec::new();
    for scale_set in list_or_empty(client, &path, scale_set::KIND.api_version).await? {
        in_use.extend(crate::agents::instances::model_image(&scale_set).map(str::to_owned));
        let instances = crate::agents::instances::list(client, &id_of(&scale_set)).await?;
        in_use.extend(instances.into_iter().map(|instance| instance.image));
    }
    Ok(in_use)
}

/// A list, or nothing when its parent does not exist (404).
async fn list_or_empty(client: &ArmClient, path: &str, api_version: &str) -> Result<Vec<Value>, ArmError> {
    match client.list(path, api_version).await {
        Ok(items) => Ok(items),
        Err(error) if error.status().is_some_and(|s| u16::from(s) == 404) => Ok(Vec::new()),
        Err(error) => Err(error),
    }
}

fn name_of(resource: &Value) -> &str {
    resource.get("name").and_then(Value::as_str).unwrap_or("")
}

fn id_of(resource: &Value) -> String {
    resource.get("id").and_then(Value::as_str).unwrap_or("").to_owned()
}
