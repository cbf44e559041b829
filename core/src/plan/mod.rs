//! Desired state: every resource a parameter file describes, with its kind, request body and the
//! resources it depends on, built stage by stage ([`infra`], [`image`], [`scale_set`],
//! [`pool`]) from the kinds' own `desired(...)` bodies.
//!
//! [`desired_state`] works offline: values that only Azure or Azure DevOps can tell (the
//! identity's principal id, the service connection's id, the version a build will produce) are
//! shown as `<…: known after apply>`, and the subscription as `{subscriptionId}` unless one is
//! given. Comparing this desired state with what Azure has (create / update / no change) builds
//! on it.

pub mod diff;
mod image;
mod infra;
mod pool;
mod scale_set;

use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};
use serde_json::Value;
use time::OffsetDateTime;

use crate::aib::OsType;
use crate::params::{Diagnostic, JsonPath, LoadedParameters};
use crate::resources::{self, Kind};
use crate::scripts::{self, ScriptUpload};
use crate::version::{ImageVersion, VersionInputs};

/// One resource of the desired state.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredResource {
    /// What kind of resource it is, and everything true of that kind.
    pub kind: &'static Kind,
    pub name: String,
    /// ARM resource id (or, for Azure DevOps, the collection URL).
    pub id: String,
    /// Ids of the resources that must exist first.
    pub depends_on: Vec<String>,
    /// The request body.
    pub body: Value,
    /// Query parameters of the create call, for APIs that take them (Azure DevOps).
    pub query: Option<Value>,
    /// Which step deploys it.
    pub stage: Stage,
    /// Body fields filled from resources created earlier, e.g. an identity's principal id.
    pub bindings: Vec<Binding>,
    /// What a person calls the resource when its name says little, e.g. a role assignment's
    /// `<role name> → identity <name> on resourceGroups/<group>` instead of its GUID.
    pub summary: Option<String>,
}

/// As the offline plan's JSON shows it: `kind` is the resource type, next to its `apiVersion`.
impl Serialize for DesiredResource {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut out = serializer.serialize_struct("DesiredResource", 10)?;
        out.serialize_field("kind", self.kind.resource_type)?;
        out.serialize_field("name", &self.name)?;
        out.serialize_field("id", &self.id)?;
        out.serialize_field("apiVersion", self.kind.api_version)?;
        out.serialize_field("dependsOn", &self.depends_on)?;
        out.serialize_field("body", &self.body)?;
        if let Some(query) = &self.query {
            out.serialize_field("query", query)?;
        }
        out.serialize_field("stage", &self.stage)?;
        if !self.bindings.is_empty() {
            out.serialize_field("bindings", &self.bindings)?;
        }
        if let Some(summary) = &self.summary {
            out.serialize_field("summary", summary)?;
        }
        out.end()
    }
}

/// The steps of a deployment, each deploying its share of the desired state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Stage {
    /// Resource group, storage and scripts, identity and roles, gallery and image definition.
    Infra,
    /// The Image Builder template (and its run).
    Image,
    /// The scale set, its NAT gateway with public addresses, the NAT on the subnet.
    ScaleSet,
    /// The Azure DevOps scale-set agent pool.
    Pool,
}

impl Stage {
    pub const ALL: [Stage; 4] = [Stage::Infra, Stage::Image, Stage::ScaleSet, Stage::Pool];

    /// The command that deploys the stage, and the `up` scope that includes it.
    pub fn deployed_by(self) -> &'static str {
        match self {
            Stage::Infra => "agentpool infra deploy (up --scope infra|all)",
            Stage::Image => "agentpool image build (up --scope image|all)",
            Stage::ScaleSet => "agentpool scaleset deploy (up --scope pool|all)",
            Stage::Pool => "agentpool pool register (up --scope pool|all)",
        }
    }

    /// What a person calls it.
    pub fn title(self) -> &'static str {
        match self {
            Stage::Infra => "infrastructure",
            Stage::Image => "image",
            Stage::ScaleSet => "scale set",
            Stage::Pool => "agent pool",
        }
    }
}

/// A body field whose value comes from another resource once that exists: the body shows a
/// `<…: known after apply>` placeholder until then.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Binding {
    /// JSON pointer into this resource's body, e.g. `/properties/principalId`.
    pub field: String,
    /// Id of the resource the value comes from.
    pub from: String,
    /// JSON pointer into that resource as Azure returns it.
    pub value: String,
}

impl DesiredResource {
    /// [`Self::summary`], or the name.
    pub fn label(&self) -> &str {
        self.summary.as_deref().unwrap_or(&self.name)
    }

    /// `<short name> <label>`: `image definition ubuntu-2204-agent`.
    pub fn describe(&self) -> String {
        format!("{} {}", self.kind.short_name, self.label())
    }

    /// The body with every binding filled from `lookup(id)`, the live resources by id.
    /// Returns the pointer of the first binding that cannot be filled yet.
    pub fn bound_body<'a>(&self, lookup: impl Fn(&str) -> Option<&'a Value>) -> Result<Value, String> {
        let mut body = self.body.clone();
        for binding in &self.bindings {
            let value = lookup(&binding.from)
                .and_then(|source| source.pointer(&binding.value))
                .ok_or_else(|| format!("{} of {}", binding.value, binding.from))?;
            if let Some(slot) = body.pointer_mut(&binding.field) {
                *slot = value.clone();
            }
        }
        Ok(body)
    }
}

/// The desired state of one parameter file.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DesiredState {
    pub parameters_file: String,
    pub os: OsType,
    /// `None` when Image Builder numbers the version ([`crate::version::VersionStrategy::ImageBuilder`]).
    pub image_version: Option<ImageVersion>,
    pub image_template_name: String,
    /// What this build tells its image version (commit, pipeline run, end of life).
    #[serde(skip)]
    pub provenance: crate::image::provenance::Provenance,
    pub uploads: Vec<ScriptUpload>,
    pub resources: Vec<DesiredResource>,
}

impl DesiredState {
    /// The resources of `stages`, in the desired state's order.
    pub fn of_stages(&self, stages: &[Stage]) -> Vec<DesiredResource> {
        self.resources.iter().filter(|r| stages.contains(&r.stage)).cloned().collect()
    }

    /// The first resource of `kind`.
    pub fn find(&self, kind: &Kind) -> Option<&DesiredResource> {
        self.resources.iter().find(|r| r.kind == kind)
    }

    /// Every resource of `kind`.
    pub fn all_of<'a>(&'a self, kind: &'a Kind) -> impl Iterator<Item = &'a DesiredResource> + 'a {
        self.resources.iter().filter(move |r| r.kind == kind)
    }
}

/// What planning needs beyond the parameter file.
#[derive(Debug, Clone)]
pub struct PlanContext<'a> {
    /// Subscription id; `None` renders `{subscriptionId}`.
    pub subscription: Option<&'a str>,
    pub version: VersionInputs<'a>,
    /// The storage account's blob endpoint as Azure reports it (`primaryEndpoints.blob`);
    /// `None` assumes the public cloud's `https://<account>.blob.core.windows.net/`.
    pub blob_endpoint: Option<&'a str>,
    /// Where the build comes from, for the image version's tags and `excludeFromLatest`.
    pub build: BuildInfo,
    /// The gallery image version the scale set boots, when known: the version a build produced,
    /// or the newest one. `None`: the version this run builds (a number of ours), or a
    /// placeholder when Image Builder numbers it.
    pub scale_set_image: Option<String>,
    /// The Azure DevOps ids the pool's names resolve to; `None`: placeholders.
    pub devops: Option<DevOpsIds>,
}

/// The ids of the pool's project and service connection, resolved from their names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevOpsIds {
    pub project_id: String,
    pub service_endpoint_id: String,
}

/// The pipeline run behind an image build (Azure Pipelines' `BUILD_*` variables, or flags).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildInfo {
    /// `main`, `release/2024.11`, `feature/x` (a `refs/heads/` prefix is dropped).
    pub branch: Option<String>,
    pub commit: Option<String>,
    pub build_id: Option<String>,
    pub environment: Option<String>,
}

impl BuildInfo {
    /// From Azure Pipelines' predefined variables, as the agent exports them.
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Self {
            branch: var("BUILD_SOURCEBRANCH"),
            commit: var("BUILD_SOURCEVERSION"),
            build_id: var("BUILD_BUILDID"),
            environment: None,
        }
    }

    /// The branch without `refs/heads/`.
    pub fn branch_name(&self) -> Option<&str> {
        self.branch.as_deref().map(|b| b.strip_prefix("refs/heads/").unwrap_or(b))
    }

    /// Images are published from main and release branches only: a build of any other known
    /// branch is kept out of the definition's `latest`. Unknown branch: published.
    pub fn exclude_from_latest(&self) -> bool {
        self.branch_name()
            .is_some_and(|b| !matches!(b, "main" | "master") && !b.starts_with("release/") && b != "release")
    }
}

impl PlanContext<'_> {
    /// Offline defaults: no subscription, the current time, no version given.
    pub fn offline_now() -> PlanContext<'static> {
        PlanContext {
            subscription: None,
            version: VersionInputs { now: OffsetDateTime::now_utc(), cli_version: None, repo_dir: None },
            blob_endpoint: None,
            build: BuildInfo::default(),
            scale_set_image: None,
            devops: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The image version cannot be chosen; a usage error.
    #[error("{0}")]
    Version(Diagnostic),
    #[error(transparent)]
    Script(#[from] scripts::ScriptError),
}

/// Builds the desired state of `loaded`: the infrastructure, the image template, and — when the
/// parameters describe them — the scale set with its network and the agent pool.
pub fn desired_state(loaded: &LoadedParameters, context: &PlanContext<'_>) -> Result<DesiredState, PlanError> {
    let p = &loaded.parameters;
    let sub = context.subscription.unwrap_or(resources::SUBSCRIPTION_PLACEHOLDER);
    let image_version = p.image_version.strategy.resolve(&context.version).map_err(|error| {
        PlanError::Version(Diagnostic::at(
            &loaded.display_name,
            &JsonPath::parameter("imageVersion"),
            error.to_string(),
            "fix imageVersion, or pass --image-version for the semver strategy",
        ))
    })?;

    let mut out = Resources::default();
    let infra = infra::desired(&mut out, p, sub);
    out.stage = Stage::Image;
    let template = image::desired(&mut out, loaded, context, &infra, image_version.as_ref())?;
    if let Some(spec) = &p.scale_set {
        out.stage = Stage::ScaleSet;
        let image = context.scale_set_image.clone().unwrap_or_else(|| template.version_id.clone());
        let scale_set_id = scale_set::desired(&mut out, p, spec, sub, &image, &infra.group);
        if let Some(pool) = &p.agent_pool {
            out.stage = Stage::Pool;
            pool::desired(&mut out, pool, p.image_definition.os_type, &scale_set_id, context.devops.as_ref());
        }
    }

    Ok(DesiredState {
        parameters_file: loaded.display_name.clone(),
        os: p.image_definition.os_type,
        image_version,
        image_template_name: template.name,
        provenance: crate::image::provenance::Provenance {
            commit: context.build.commit.clone(),
            build_id: context.build.build_id.clone(),
            end_of_life_days: p.image_version.end_of_life_days,
        },
        uploads: template.uploads,
        resources: out.list,
    })
}

/// The resources planned so far, and the stage of those added next.
struct Resources {
    list: Vec<DesiredResource>,
    stage: Stage,
}

impl Default for Resources {
    fn default() -> Self {
        Self { list: Vec::new(), stage: Stage::Infra }
    }
}

impl Resources {
    /// Plans a resource of `kind` whose body is `body` (a kind's `desired(...)`).
    fn add(
        &mut self,
        kind: &'static Kind,
        name: &str,
        id: &str,
        depends_on: &[&str],
        body: &impl Serialize,
    ) -> &mut DesiredResource {
        self.list.push(DesiredResource {
            kind,
            name: name.to_owned(),
            id: id.to_owned(),
            depends_on: depends_on.iter().map(|d| (*d).to_owned()).collect(),
            body: serde_json::to_value(body).unwrap_or(Value::Null),
            query: None,
            stage: self.stage,
            bindings: Vec::new(),
            summary: None,
        });
        let last = self.list.len() - 1;
        &mut self.list[last]
    }

    /// The ids of the planned resources of `kind`.
    fn ids_of(&self, kind: &Kind) -> Vec<String> {
        self.list.iter().filter(|r| r.kind == kind).map(|r| r.id.clone()).collect()
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use std::path::Path;

    use super::*;

    pub fn example(os: &str) -> LoadedParameters {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(format!("../yaml-templates/parameters/sbx.parameters.{os}.json"));
        crate::params::load(&path).unwrap_or_else(|d| panic!("{d}"))
    }

    pub fn linux_example() -> LoadedParameters {
        example("linux")
    }

    pub const SUBSCRIPTION: &str = "00000000-0000-0000-0000-000000000000";

    pub fn at(now: OffsetDateTime) -> PlanContext<'static> {
        PlanContext {
            subscription: Some(SUBSCRIPTION),
            version: VersionInputs { now, cli_version: None, repo_dir: None },
            ..PlanContext::offline_now()
        }
    }

    pub fn of_kind<'d>(desired: &'d DesiredState, kind: &'d Kind) -> Vec<&'d DesiredResource> {
        desired.all_of(kind).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;

    #[test]
    fn every_dependency_is_a_planned_resource_listed_earlier() {
        for os in ["linux", "windows"] {
            let desired = desired_state(&example(os), &at(OffsetDateTime::now_utc())).unwrap();
            for (index, resource) in desired.resources.iter().enumerate() {
                for dependency in &resource.depends_on {
                    let position = desired.resources.iter().position(|r| &r.id == dependency);
                    assert!(
                        position.is_some_and(|p| p < index),
                        "{os}: {} depends on unplanned or later {dependency}",
                        resource.name
                    );
                }
            }
        }
    }

    #[test]
    fn stages_come_in_deployment_order_and_each_names_its_command() {
        let desired = desired_state(&linux_example(), &at(OffsetDateTime::now_utc())).unwrap();
        let stages: Vec<Stage> = desired.resources.iter().map(|r| r.stage).collect();
        assert!(stages.windows(2).all(|pair| pair[0] <= pair[1]), "{stages:?}");
        for stage in Stage::ALL {
            assert!(stages.contains(&stage), "the sbx example plans no {stage:?}");
            assert!(stage.deployed_by().starts_with("agentpool "));
        }
    }

    #[test]
    fn the_offline_json_names_each_kind_by_its_type_and_api_version() {
        let desired = desired_state(&linux_example(), &at(OffsetDateTime::now_utc())).unwrap();
        let json = serde_json::to_value(&desired).unwrap();
        let gallery = json["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["kind"] == "Microsoft.Compute/galleries")
            .expect("a gallery");
        assert_eq!(gallery["apiVersion"], "2024-03-03");
        assert_eq!(gallery["stage"], "infra");
        assert!(gallery.get("bindings").is_none() && gallery.get("query").is_none());
    }
}
