//! Distributing: what each distributor of a build makes, and the version a gallery distributor chooses
//! (`versioning` `Latest` / `Source`).

use serde_json::{json, Value};

use super::{Context, Distribution, Run};
use crate::arm::path::parent_id;
use crate::kinds::image_templates::access;
use crate::kinds::image_templates::body::GalleryImageRef;
use crate::kinds::image_templates::settings::Failure;
use crate::state::Store;

/// `Major.Minor.Patch` of a version name.
fn semver(name: &str) -> Option<(i64, i64, i64)> {
    let parts: Vec<i64> = name.split('.').map(|p| p.parse::<i32>().ok().map(i64::from)).collect::<Option<_>>()?;
    match parts.as_slice() {
        [a, b, c] => Some((*a, *b, *c)),
        _ => None,
    }
}

fn versions_of(store: &Store, image_id: &str) -> Vec<(i64, i64, i64)> {
    store
        .resources()
        .filter(|r| r.kind == "galleryImageVersions" && parent_id(&r.id).eq_ignore_ascii_case(image_id))
        .filter_map(|r| semver(r.id.rsplit('/').next().unwrap_or_default()))
        .collect()
}

/// The version a `SharedImage` distributor without an explicit version creates.
fn choose_version(store: &Store, ctx: &Context<'_>, image_id: &str, versioning: &Value) -> Result<String, String> {
    let format = |v: (i64, i64, i64)| format!("{}.{}.{}", v.0, v.1, v.2);
    match versioning["scheme"].as_str().unwrap_or("Latest") {
        "Source" => {
            let source = &ctx.template["properties"]["source"];
            let named = match source["type"].as_str() {
                Some("PlatformImage") => source["version"].as_str().unwrap_or_default().to_string(),
                Some("SharedImageVersion") => {
                    let id = source["imageVersionId"].as_str().unwrap_or_default();
                    match GalleryImageRef::parse(id) {
                        Some(r) if r.version.as_deref().is_some_and(|v| v.eq_ignore_ascii_case("latest")) => {
                            versions_of(store, &r.image_id).into_iter().max().map(format).unwrap_or_default()
                        }
                        Some(r) => r.version.unwrap_or_default(),
                        None => String::new(),
                    }
                }
                _ => String::new(),
            };
            semver(&named).map(format).ok_or_else(|| {
                format!("versioning scheme 'Source' needs a source image version of the form Major.Minor.Patch; the source has '{named}'")
            })
        }
        _ => {
            let major = versioning["major"].as_i64().unwrap_or(-1);
            let latest = versions_of(store, image_id).into_iter().filter(|v| major < 0 || v.0 == major).max();
            Ok(match latest {
                Some((a, b, c)) => format(if c < i64::from(i32::MAX) { (a, b, c + 1) } else { (a, b + 1, 0) }),
                None => format((if major < 0 { 1 } else { major }, 0, 0)),
            })
        }
    }
}

/// What Distributing does for each distributor (gallery versions are made by the background work).
pub(super) fn distributions(ctx: &Context<'_>, store: &Store, run: &Run) -> Vec<Distribution> {
    let identity = access::identity(store, ctx.template);
    let location = ctx.template["location"].as_str().unwrap_or_default().to_string();
    let list = ctx.template.pointer("/properties/distribute").and_then(Value::as_array).cloned().unwrap_or_default();
    list.iter()
        .enumerate()
        .map(|(i, d)| {
            let name = d["runOutputName"].as_str().unwrap_or_default().to_string();
            let mut out = Distribution {
                run_output_name: name.clone(),
                image_id: None,
                version: None,
                body: None,
                artifact_id: None,
                artifact_uri: None,
                error: None,
            };
            let failing = match &run.failure {
                Some(Failure::Distribute(None)) => true,
                Some(Failure::Distribute(Some(n))) => n.eq_ignore_ascii_case(&name),
                _ => false,
            };
            if failing {
                out.error = Some(
                    "InternalServerError: An internal execution error occurred. Please retry later. (a failure asked of the emulator)"
                        .into(),
                );
                return out;
            }
            match d["type"].as_str() {
                Some("ManagedImage") => out.artifact_id = d["imageId"].as_str().map(str::to_string),
                Some("VHD") => {
                    let uri = d["uri"].as_str().filter(|u| !u.is_empty()).map(str::to_string);
                    out.artifact_uri = uri.or_else(|| {
                        ctx.staging.map(|s| {
                            format!("{}/vhds/{}-{}.vhd", s.blob_endpoint.trim_end_matches('/'), ctx.name(), run.id)
                        })
                    });
                }
                _ => match shared_image(ctx, store, identity.as_ref(), i, d, &location, run) {
                    Ok((image_id, version, body)) => {
                        out.image_id = Some(image_id);
                        out.version = Some(version);
                        out.body = Some(body);
                    }
                    Err(error) => out.error = Some(error),
                },
            }
            out
        })
        .collect()
}

fn shared_image(
    ctx: &Context<'_>,
    store: &Store,
    identity: Option<&access::Identity>,
    index: usize,
    d: &Value,
    location: &str,
    run: &Run,
) -> Result<(String, String, Value), String> {
    let id = d["galleryImageId"].as_str().unwrap_or_default();
    let reference = GalleryImageRef::parse(id).ok_or_else(|| format!("'{id}' is not a gallery image id"))?;
    let identity = identity.ok_or("the image template's identity no longer exists")?;
    if let Some(action) = access::gallery_denied_action(store, identity, &reference) {
        return Err(access::gallery_denied(identity, &format!("distribute[{index}]"), &reference, action));
    }
    let definition = store
        .get(&reference.image_id)
        .ok_or_else(|| format!("the gallery image definition '{}' was not found", reference.image_id))?;
    let version = match &reference.version {
        Some(v) => v.clone(),
        None => choose_version(store, ctx, &reference.image_id, &d["versioning"])?,
    };
    let version_id = format!("{}/versions/{version}", reference.image_id);
    if store.get(&version_id).is_some() {
        return Err(format!("the gallery image version '{version_id}' already exists"));
    }
    let image_location = definition.body["location"].as_str().unwrap_or(location).to_string();
    let exclude = d["excludeFromLatest"].as_bool().unwrap_or(false);
    let account_type = d["storageAccountType"].as_str().unwrap_or("Standard_LRS");
    let regions: Vec<Value> = match (d["targetRegions"].as_array(), d["replicationRegions"].as_array()) {
        (Some(targets), _) => targets
            .iter()
            .map(|t| {
                json!({
                    "name": t["name"],
                    "regionalReplicaCount": t["replicaCount"].as_i64().unwrap_or(1),
                    "storageAccountType": t["storageAccountType"].as_str().unwrap_or("Standard_LRS"),
                    "excludeFromLatest": exclude,
                })
            })
            .collect(),
        (None, Some(names)) => names
            .iter()
            .map(|n| json!({"name": n, "regionalReplicaCount": 1, "storageAccountType": account_type, "excludeFromLatest": exclude}))
            .collect(),
        (None, None) => vec![json!({"name": image_location, "regionalReplicaCount": 1, "storageAccountType": account_type, "excludeFromLatest": exclude})],
    };
    let staging = ctx.staging.map(|s| s.resource_group_id.clone()).unwrap_or_default();
    let body = json!({
        "location": image_location,
        "tags": d.get("artifactTags").cloned().unwrap_or_else(|| json!({})),
        "properties": {
            "storageProfile": {"source": {"id": format!("{staging}/providers/Microsoft.Compute/images/IntermediateImage-{}", &run.id[..8])}},
            "publishingProfile": {
                "targetRegions": regions,
                "replicaCount": regions.first().and_then(|r| r["regionalReplicaCount"].as_i64()).unwrap_or(1),
                "storageAccountType": regions.first().and_then(|r| r["storageAccountType"].as_str()).unwrap_or(account_type),
                "excludeFromLatest": exclude,
            }
        }
    });
    Ok((reference.image_id, version, body))
}

#[cfg(test)]
mod tests {
    use super::super::tests::{template, TEMPLATE_ID};
    use super::*;
    use crate::state::Resource;

    const IMAGE: &str = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images/i";

    #[test]
    fn versions_latest_and_source() {
        let mut store = Store::default();
        let body = template();
        let ctx = Context { template_id: TEMPLATE_ID, template: &body, staging: None };
        let latest = |store: &Store, v: Value| choose_version(store, &ctx, IMAGE, &v);
        assert_eq!(latest(&store, json!(null)).unwrap(), "1.0.0");
        assert_eq!(latest(&store, json!({"scheme": "Latest", "major": 3})).unwrap(), "3.0.0");
        for v in ["1.2.3", "1.10.0", "2.0.7", "0.24322.55884"] {
            let id = format!("{IMAGE}/versions/{v}");
            store.insert(Resource { kind: "galleryImageVersions".into(), id, body: json!({}) });
        }
        assert_eq!(latest(&store, json!({"scheme": "Latest"})).unwrap(), "2.0.8");
        assert_eq!(latest(&store, json!({"scheme": "Latest", "major": 1})).unwrap(), "1.10.1");
        assert_eq!(latest(&store, json!({"scheme": "Source"})).unwrap(), "22.4.202401010");
        let mut shared = template();
        shared["properties"]["source"] =
            json!({"type": "SharedImageVersion", "imageVersionId": format!("{IMAGE}/versions/latest")});
        let ctx = Context { template_id: TEMPLATE_ID, template: &shared, staging: None };
        assert_eq!(choose_version(&store, &ctx, IMAGE, &json!({"scheme": "Source"})).unwrap(), "2.0.7");
        let mut managed = template();
        managed["properties"]["source"] = json!({"type": "ManagedImage", "imageId": "/x"});
        let ctx = Context { template_id: TEMPLATE_ID, template: &managed, staging: None };
        assert!(choose_version(&store, &ctx, IMAGE, &json!({"scheme": "Source"}))
            .unwrap_err()
            .contains("Major.Minor.Patch"));
    }
}
