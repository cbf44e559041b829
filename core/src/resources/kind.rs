//! What is true of one resource kind, in one place: its type, api-version and swagger, what a
//! person calls it, how agentpool finds it, how it changes it, and which of its fields belong to
//! someone else. Planning, applying, preflight and the CLI read these facts instead of matching
//! on type names.
//!
//! Field ownership: agentpool is not the only writer. Azure fills defaults and read-only fields,
//! Azure DevOps tags a scale set it manages, installs its agent extension and sets its capacity,
//! Azure Policy adds tags. The comparison only looks at the fields agentpool sets (see
//! [`crate::plan::diff`]) minus those listed in [`Kind::owned_by_others`], and an update sends no
//! more than what it changes ([`Update`]); tags are merged with the live ones, never replaced.

/// One resource kind.
#[derive(Debug)]
pub struct Kind {
    /// The resource type, e.g. `Microsoft.Compute/galleries`; for Azure DevOps,
    /// `AzureDevOps/elasticPools`.
    pub resource_type: &'static str,
    /// The api-version agentpool sends (that of [`Kind::swagger`]).
    pub api_version: &'static str,
    /// The official swagger, relative to the specs folder; its folder names the api-version.
    pub swagger: &'static str,
    /// What a person calls it: `image definition`, `role assignment`.
    pub short_name: &'static str,
    /// Body fields Azure never returns (secrets): never compared.
    pub write_only: &'static [&'static str],
    /// Fields another actor owns once the resource exists: sent when agentpool creates the
    /// resource, then never compared nor sent again (paths as in [`crate::plan::diff::FieldChange::path`]).
    pub owned_by_others: &'static [&'static str],
    /// Fields Azure returns but refuses (or ignores) in a request: left out of a body built from
    /// the live resource ([`Update::GetModifyPut`]).
    pub read_only: &'static [&'static str],
    pub probe: Probe,
    pub update: Update,
    /// Whether agentpool creates it, or only changes one that exists (a subnet of the user's
    /// network): a missing one is an error then.
    pub creates: bool,
    /// Error codes with which Azure refuses a write while a role definition it names, created
    /// moments before, has not replicated yet: transient, unlike the same code for a role that
    /// does not exist at all.
    pub replication_lag_codes: &'static [&'static str],
    /// Where it is written: Azure Resource Manager, or Azure DevOps.
    pub service: Service,
    /// The Azure RBAC action that writes one, when it is not `{resource type}/write`.
    pub write_action: Option<&'static str>,
    /// Fills what agentpool generates when it creates one (a scale set's admin password),
    /// replacing the `<…: known after apply>` placeholders of the desired body.
    pub on_create: Option<Generate>,
}

/// Fills generated values into a body about to be created; the error says what failed.
pub type Generate = fn(&mut serde_json::Value) -> Result<(), String>;

/// How agentpool finds out whether a resource exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// GET of its id (404: absent).
    Get,
    /// Listing its collection: for kinds whose swagger defines no answer to a GET of a missing
    /// one (the Storage swaggers), and Azure DevOps pools, found by name.
    List,
}

/// How an existing resource that differs is changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Update {
    /// PUT of the desired body (the kinds only agentpool writes), tags merged with the live ones.
    Put,
    /// PATCH of just the changed fields (arrays whole, tags merged with the live ones).
    Patch,
    /// GET, then PUT of the live body with the changed fields set: for kinds without PATCH whose
    /// PUT replaces the whole resource (a subnet), so every field another writer set is kept.
    GetModifyPut,
    /// Deleted and created again: Azure cannot change it in place (a role assignment's principal
    /// and role are fixed at creation, `RoleAssignmentUpdateNotPermitted`).
    Replace,
}

/// Which service holds the kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    ResourceManager,
    AzureDevOps,
}

impl PartialEq for Kind {
    fn eq(&self, other: &Self) -> bool {
        self.resource_type == other.resource_type
    }
}

impl Eq for Kind {}

impl Kind {
    /// The Azure RBAC action that creates or changes one: `Microsoft.Compute/galleries/write`.
    pub fn write_action(&self) -> String {
        self.write_action.map_or_else(|| format!("{}/write", self.resource_type), str::to_owned)
    }

    /// The paths a comparison skips: write-only fields and those another actor owns.
    pub fn unowned(&self) -> Vec<&'static str> {
        self.write_only.iter().chain(self.owned_by_others).copied().collect()
    }
}

/// A Resource Manager kind only agentpool writes: found by GET, updated by PUT. Kinds that
/// differ say so with struct update syntax (`Kind { probe: Probe::List, ..kind::arm(…) }`).
pub const fn arm(
    resource_type: &'static str,
    api_version: &'static str,
    swagger: &'static str,
    short_name: &'static str,
) -> Kind {
    Kind {
        resource_type,
        api_version,
        swagger,
        short_name,
        write_only: &[],
        owned_by_others: &[],
        read_only: &[],
        probe: Probe::Get,
        update: Update::Put,
        creates: true,
        replication_lag_codes: &[],
        service: Service::ResourceManager,
        write_action: None,
        on_create: None,
    }
}
