//! What an image version is told about the build that made it, and when its life ends.
//!
//! One template serves every build of the same content, so what differs from build to build (the
//! commit, the pipeline run) cannot be part of it. Starting a build puts it on the template as
//! tags ([`Provenance::apply_to`]); whoever follows the run to its end copies it onto the gallery
//! image versions the run made, as its run outputs name them, with the end-of-life date
//! ([`stamp`]). The date counts from the version's publishing date, so a second stamp of the same
//! version changes nothing and writes nothing.
//!
//! Caveat: the tags name the latest build started from the template; a stamp long after another
//! build started would copy that build's. `image wait` stamps as soon as the run ends.

use serde_json::{json, Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::arm::{ArmClient, ArmError};
use crate::events::{Event, EventSink};
use crate::resources::{gallery, image_template};

/// Template and version tag: the commit the build came from.
pub const COMMIT_TAG: &str = "gitCommit";
/// Template and version tag: the pipeline run that built it.
pub const BUILD_ID_TAG: &str = "buildId";
/// Template tag: days from publishing to the version's end of life.
pub const END_OF_LIFE_TAG: &str = "endOfLifeDays";

/// The per-build facts of a build.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Provenance {
    pub commit: Option<String>,
    pub build_id: Option<String>,
    pub end_of_life_days: Option<u32>,
}

impl Provenance {
    /// The provenance a template's tags carry.
    pub fn of_tags(tags: &Value) -> Provenance {
        let text = |key: &str| tags.get(key).and_then(Value::as_str).filter(|v| !v.is_empty()).map(str::to_owned);
        Provenance {
            commit: text(COMMIT_TAG),
            build_id: text(BUILD_ID_TAG),
            end_of_life_days: text(END_OF_LIFE_TAG).and_then(|d| d.parse().ok()),
        }
    }

    /// Sets this build's tags on `tags`, and removes those it has no value for (so no earlier
    /// build's commit is copied onto this build's version).
    pub fn apply_to(&self, tags: &mut Map<String, Value>) {
        let days = self.end_of_life_days.map(|d| d.to_string());
        for (key, value) in [(COMMIT_TAG, &self.commit), (BUILD_ID_TAG, &self.build_id), (END_OF_LIFE_TAG, &days)] {
            match value {
                Some(value) => tags.insert(key.to_owned(), Value::String(value.clone())),
                None => tags.remove(key),
            };
        }
    }
}

/// Tags and end of life for each gallery image version the last run of the template made.
/// Returns the ids of the versions it changed.
pub async fn stamp(
    client: &ArmClient,
    template_id: &str,
    template_tags: &Value,
    sink: &dyn EventSink,
) -> Result<Vec<String>, ArmError> {
    let provenance = Provenance::of_tags(template_tags);
    let outputs = client.list(&format!("{template_id}/runOutputs"), image_template::KIND.api_version).await?;
    let mut changed = Vec::new();
    for output in outputs {
        let Some(version_id) = output.pointer("/properties/artifactId").and_then(Value::as_str) else { continue };
        if !version_id.to_ascii_lowercase().contains("/versions/") {
            continue;
        }
        let Some(version) = client.get(version_id, gallery::KIND.api_version).await? else { continue };
        if let Some(body) = update_of(&version, &provenance) {
            client.patch(version_id, gallery::KIND.api_version, &body).await?;
            let eol = body.pointer("/properties/publishingProfile/endOfLifeDate").and_then(Value::as_str);
            let tags = body
                .get("tags")
                .and_then(Value::as_object)
                .map(|tags| tags.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned())).collect())
                .unwrap_or_default();
            sink.emit(Event::VersionTagged {
                version_id: version_id.to_owned(),
                tags,
                end_of_life: eol.map(str::to_owned),
            });
            changed.push(version_id.to_owned());
        }
    }
    Ok(changed)
}

/// The PATCH that gives `version` the provenance's tags and end of life; `None` when it has them.
fn update_of(version: &Value, provenance: &Provenance) -> Option<Value> {
    let mut tags = version.get("tags").and_then(Value::as_object).cloned().unwrap_or_default();
    let before = tags.clone();
    for (key, value) in [(COMMIT_TAG, &provenance.commit), (BUILD_ID_TAG, &provenance.build_id)] {
        if let Some(value) = value {
            tags.insert(key.to_owned(), Value::String(value.clone()));
        }
    }
    let end_of_life = provenance.end_of_life_days.and_then(|days| {
        let published = version.pointer("/properties/publishingProfile/publishedDate")?.as_str()?;
        let date = OffsetDateTime::parse(published, &Rfc3339).ok()? + time::Duration::days(i64::from(days));
        let wanted = date.format(&Rfc3339).ok()?;
        let live = version.pointer("/properties/publishingProfile/endOfLifeDate").and_then(Value::as_str);
        let same = live.and_then(|l| OffsetDateTime::parse(l, &Rfc3339).ok()).is_some_and(|l| l == date);
        (!same).then_some(wanted)
    });
    if tags == before && end_of_life.is_none() {
        return None;
    }
    // The update model requires the storage profile: its writable part, the source, as Azure has it.
    let storage_profile = match version.pointer("/properties/storageProfile/source") {
        Some(source) => json!({ "source": source }),
        None => json!({}),
    };
    let mut properties = json!({ "storageProfile": storage_profile });
    if let Some(date) = end_of_life {
        properties["publishingProfile"] = json!({ "endOfLifeDate": date });
    }
    Some(json!({ "tags": tags, "properties": properties }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provenance() -> Provenance {
        Provenance { commit: Some("3f2a91c".into()), build_id: Some("4711".into()), end_of_life_days: Some(90) }
    }

    #[test]
    fn template_tags_carry_this_build_only() {
        let mut tags = Map::new();
        tags.insert("createdBy".into(), json!("agentpool"));
        tags.insert(BUILD_ID_TAG.into(), json!("4700"));
        let local = Provenance { commit: Some("abc1234".into()), ..Default::default() };
        local.apply_to(&mut tags);
        assert_eq!(Value::Object(tags.clone()), json!({"createdBy": "agentpool", "gitCommit": "abc1234"}));
        assert_eq!(Provenance::of_tags(&Value::Object(tags)), local);
        let mut tags = Map::new();
        provenance().apply_to(&mut tags);
        assert_eq!(Provenance::of_tags(&Value::Object(tags)), provenance());
    }

    #[test]
    fn a_version_is_stamped_once_with_its_end_of_life_counted_from_publishing() {
        let version = json!({
            "tags": {"environment": "sbx"},
            "properties": {
                "publishingProfile": {"publishedDate": "2024-11-17T15:31:24Z"},
                "storageProfile": {"source": {"id": "/subscriptions/s/x"}}
            }
        });
        let update = update_of(&version, &provenance()).expect("a first stamp");
        assert_eq!(update["tags"], json!({"environment": "sbx", "gitCommit": "3f2a91c", "buildId": "4711"}));
        assert_eq!(update["properties"]["publishingProfile"]["endOfLifeDate"], "2025-02-15T15:31:24Z");
        assert_eq!(update["properties"]["storageProfile"]["source"]["id"], "/subscriptions/s/x");

        let mut stamped = version.clone();
        stamped["tags"] = update["tags"].clone();
        stamped["properties"]["publishingProfile"]["endOfLifeDate"] = json!("2025-02-15T15:31:24+00:00");
        assert_eq!(update_of(&stamped, &provenance()), None, "a second stamp changes nothing");
        assert_eq!(update_of(&version, &Provenance::default()), None, "nothing to tell");
    }
}
