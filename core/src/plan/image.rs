//! The image stage: the Image Builder template, with the scripts it runs and where it
//! distributes the version.

use std::collections::BTreeMap;

use super::infra::Infra;
use super::{BuildInfo, PlanContext, PlanError, Resources};
use crate::aib::ImageSource;
use crate::params::LoadedParameters;
use crate::resources::{self, image_template, known_after_apply, role_assignment, storage_account};
use crate::scripts::{self, ScriptUpload};
use crate::version::{ImageVersion, VersionStrategy};

/// The planned template.
pub(super) struct Template {
    pub name: String,
    /// The version it distributes (`…/versions/<n>`); when Image Builder numbers it, a
    /// placeholder until the build produced it.
    pub version_id: String,
    pub uploads: Vec<ScriptUpload>,
}

pub(super) fn desired(
    out: &mut Resources,
    loaded: &LoadedParameters,
    context: &PlanContext<'_>,
    infra: &Infra,
    image_version: Option<&ImageVersion>,
) -> Result<Template, PlanError> {
    let p = &loaded.parameters;
    let endpoint = context
        .blob_endpoint
        .map(|e| format!("{}/", e.trim_end_matches('/')))
        .unwrap_or_else(|| storage_account::public_blob_endpoint(&p.storage_account_name));
    let container_url = format!("{endpoint}{}", p.storage_container_name);
    let os = p.image_definition.os_type;
    let (customize, uploads) = scripts::expand(&p.customization_steps, os, &loaded.scripts_dir, &container_url)?;
    // Without a number of ours, the definition: Image Builder numbers the version.
    let (gallery_image_id, version_id) = match image_version {
        Some(version) => {
            let id = format!("{}/versions/{version}", infra.definition);
            (id.clone(), id)
        }
        None => (infra.definition.clone(), known_after_apply("id of the image version the build produces")),
    };
    let versioning = match &p.image_version.strategy {
        VersionStrategy::ImageBuilder { major } => Some(image_template::DistributeVersioning::Latest { major: *major }),
        _ => None,
    };
    let template = image_template::ImageTemplate {
        location: p.location.clone(),
        tags: p.tags.clone(),
        identity: image_template::TemplateIdentity {
            kind: "UserAssigned".to_owned(),
            user_assigned_identities: [(infra.identity.clone(), Default::default())].into_iter().collect(),
        },
        properties: image_template::ImageTemplateProperties {
            build_timeout_in_minutes: p.build_timeout_in_minutes,
            vm_profile: image_template::VmProfile {
                vm_size: p.build_vm_size.clone(),
                os_disk_size_gb: p.os_disk_size_gb,
                vnet_config: p
                    .build_subnet_id
                    .as_ref()
                    .map(|subnet| image_template::VnetConfig { subnet_id: subnet.clone() }),
            },
            source: p.image_source.clone(),
            customize,
            distribute: vec![image_template::SharedImageDistributor {
                kind: "SharedImage".to_owned(),
                gallery_image_id,
                versioning,
                run_output_name: p.image_definition.name.clone(),
                artifact_tags: artifact_tags(&p.image_source, &context.build),
                target_regions: p
                    .target_regions
                    .iter()
                    .map(|r| image_template::DistributeTargetRegion {
                        name: r.name.clone(),
                        replica_count: r.replica_count,
                        storage_account_type: r.storage_account_type.clone(),
                    })
                    .collect(),
                exclude_from_latest: context.build.exclude_from_latest(),
            }],
        },
    };
    let name = image_template::name(&p.image_template_name, &template);
    let sub = context.subscription.unwrap_or(resources::SUBSCRIPTION_PLACEHOLDER);
    let id = resources::resource_id(sub, &p.resource_group_name, &image_template::KIND, &name);
    let roles = out.ids_of(&role_assignment::KIND);
    let mut depends_on: Vec<&str> = vec![&infra.definition, &infra.container, &infra.identity];
    depends_on.extend(roles.iter().map(String::as_str));
    out.add(&image_template::KIND, &name, &id, &depends_on, &template);
    Ok(Template { name, version_id, uploads })
}

/// Tags on the image version that every build of the template shares: where it comes from. The
/// commit and the pipeline run differ per build and reach the version after the build
/// ([`crate::image::provenance`]).
fn artifact_tags(source: &ImageSource, build: &BuildInfo) -> BTreeMap<String, String> {
    let source = match source {
        ImageSource::PlatformImage { publisher, offer, sku, version, .. } => {
            format!("{publisher}:{offer}:{sku}:{version}")
        }
        ImageSource::SharedImageVersion { image_version_id } => image_version_id.clone(),
        ImageSource::ManagedImage { image_id } => image_id.clone(),
    };
    let mut tags =
        BTreeMap::from([("createdBy".to_owned(), "agentpool".to_owned()), ("sourceImage".to_owned(), source)]);
    if let Some(environment) = &build.environment {
        tags.insert("environment".to_owned(), environment.clone());
    }
    if let Some(branch) = build.branch_name() {
        tags.insert("gitBranch".to_owned(), branch.to_owned());
    }
    tags
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;
    use time::OffsetDateTime;

    use super::super::test_support::*;
    use super::super::{desired_state, BuildInfo};
    use super::*;

    #[test]
    fn a_new_build_of_unchanged_content_keeps_the_template_name() {
        let loaded = linux_example();
        let monday = desired_state(&loaded, &at(datetime!(2024-11-17 15:31:24 UTC))).unwrap();
        let tuesday = desired_state(&loaded, &at(datetime!(2024-11-18 08:00:00 UTC))).unwrap();
        assert_eq!(monday.image_version.as_ref().map(ToString::to_string).as_deref(), Some("0.24322.55884"));
        assert_ne!(monday.image_version, tuesday.image_version);
        assert_eq!(monday.image_template_name, tuesday.image_template_name);
    }

    #[test]
    fn a_changed_script_renames_the_template() {
        let mut loaded = linux_example();
        let before = desired_state(&loaded, &at(datetime!(2024-11-17 15:31:24 UTC))).unwrap();
        loaded.parameters.build_vm_size = "Standard_D8s_v5".to_owned();
        let after = desired_state(&loaded, &at(datetime!(2024-11-17 15:31:24 UTC))).unwrap();
        assert_ne!(before.image_template_name, after.image_template_name);
        assert!(after.image_template_name.starts_with("it-agents-sbx-linux-"));
    }

    #[test]
    fn builds_off_main_and_release_stay_out_of_latest_and_versions_say_where_they_come_from() {
        let loaded = linux_example();
        let template = |build: BuildInfo| {
            let mut context = at(datetime!(2024-11-17 15:31:24 UTC));
            context.build = build;
            let desired = desired_state(&loaded, &context).unwrap();
            desired.resources.iter().find(|r| r.kind == &image_template::KIND).unwrap().body["properties"]["distribute"]
                [0]
            .clone()
        };
        let branch = |b: &str| BuildInfo { branch: Some(b.to_owned()), ..BuildInfo::default() };
        assert_eq!(template(branch("refs/heads/main"))["excludeFromLatest"], false);
        assert_eq!(template(branch("refs/heads/release/2024.11"))["excludeFromLatest"], false);
        assert_eq!(template(branch("refs/heads/feature/faster-builds"))["excludeFromLatest"], true);
        assert_eq!(template(BuildInfo::default())["excludeFromLatest"], false, "an unknown branch is published");
        let tagged = template(BuildInfo {
            branch: Some("refs/heads/main".into()),
            commit: Some("3f2a91c".into()),
            build_id: Some("4711".into()),
            environment: Some("sbx".into()),
        });
        let tags = &tagged["artifactTags"];
        assert_eq!(tags.get("gitCommit"), None, "per build: stamped on the version after the build");
        assert_eq!(tags.get("buildId"), None);
        assert_eq!(tags["environment"], "sbx");
        assert_eq!(tags["gitBranch"], "main");
        assert_eq!(tags["sourceImage"], "Canonical:0001-com-ubuntu-server-jammy:22_04-lts-gen2:latest");
    }

    #[test]
    fn scripts_are_uploaded_under_their_os_and_run_with_their_checksum() {
        let desired = desired_state(&linux_example(), &at(OffsetDateTime::now_utc())).unwrap();
        let template = desired.resources.iter().find(|r| r.kind == &image_template::KIND).unwrap();
        let upload = desired.uploads.iter().find(|u| u.blob_name == "linux/install-tools.sh").unwrap();
        let step = template.body["properties"]["customize"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["scriptUri"].as_str().is_some_and(|u| u.ends_with("/aibscripts/linux/install-tools.sh")))
            .unwrap();
        assert_eq!(step["type"], "Shell");
        assert_eq!(step["sha256Checksum"], upload.sha256.as_str());
    }
}
