//! The reads preflight makes, all at once: resource providers, the caller's rights at each
//! scope the deploy writes, and the VM sizes and vCPU usage of each region. GETs only.
//!
//! | what | operation (swagger, api-version) |
//! |---|---|
//! | provider registration, Image Builder's locations | `Providers_Get` (`resources.json`, 2024-07-01) |
//! | rights in an existing resource group | `Permissions_ListForResourceGroup` (`authorization-RoleDefinitionsCalls.json`, 2022-04-01) |
//! | rights where the group does not exist yet | `RoleAssignments_ListForSubscription` with `$filter=atScope() and assignedTo('{oid}')` (`authorization-RoleAssignmentsCalls.json`), then `RoleDefinitions_Get` of each assigned role (2022-04-01) |
//! | sizes and quota | `VirtualMachineSizes_List`, `Usage_List` (`computeRPCommon.json`, 2024-07-01) |
//!
//! `atScope()` lists the assignments at the subscription and above (management groups), and
//! `assignedTo('{oid}')` those of the principal, including through its groups ("List Azure role
//! assignments using the REST API",
//! <https://learn.microsoft.com/azure/role-based-access-control/role-assignments-list-rest>).
//! The caller's object id comes from its access token ([`super::principal`]).
//!
//! # Errors
//! No answer from Azure, no token, or 401 for every request end preflight ([`ReadError`]);
//! any other failed read leaves its check undecided (a warning), the other checks go on.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use azure_core::credentials::TokenCredential;
use azure_core::http::StatusCode;
use futures::future::join_all;
use serde::Deserialize;

use super::permissions::PermissionBlock;
use super::principal;
use super::providers::{self, Provider};
use super::quota::{self, RegionFacts, Usage, VmSize};
use super::requirements::Scope;
use crate::arm::{ArmClient, ArmError};

/// api-version of the authorization reads.
pub const AUTHORIZATION_API_VERSION: &str = "2022-04-01";

/// A read failure that ends preflight: Azure cannot be reached or does not accept the caller.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct ReadError(pub Box<ArmError>);

impl From<ArmError> for ReadError {
    fn from(error: ArmError) -> Self {
        Self(Box::new(error))
    }
}

/// Who asks: the credential and token scope the ARM client uses, to learn the caller's object id.
#[derive(Clone)]
pub struct Caller {
    pub credential: Arc<dyn TokenCredential>,
    /// e.g. `https://management.azure.com/.default`.
    pub scope: String,
}

/// What the caller may do at a scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Granted {
    /// Its permission blocks there; `group_exists` false when they come from the subscription
    /// because the resource group is not created yet.
    Known { blocks: Vec<PermissionBlock>, group_exists: bool },
    /// The rights could not be read; why.
    Unknown(String),
}

/// Everything the reads found.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// Providers_Get by namespace; `Ok(None)` when the subscription does not know it.
    pub providers: BTreeMap<String, Result<Option<Provider>, String>>,
    pub rights: BTreeMap<Scope, Granted>,
    /// By normalized location.
    pub regions: BTreeMap<String, RegionFacts>,
}

/// Reads the providers of `subscription`, the rights at `scopes` and the lists of `locations`
/// (normalized names), concurrently.
pub async fn read(
    arm: &ArmClient,
    caller: &Caller,
    subscription: &str,
    scopes: &BTreeSet<Scope>,
    locations: &BTreeSet<String>,
) -> Result<Facts, ReadError> {
    let (providers, rights, regions) = futures::join!(
        read_providers(arm, subscription),
        read_rights(arm, caller, scopes),
        read_regions(arm, subscription, locations)
    );
    Ok(Facts { providers: providers?, rights: rights?, regions: regions? })
}

async fn read_providers(
    arm: &ArmClient,
    subscription: &str,
) -> Result<BTreeMap<String, Result<Option<Provider>, String>>, ReadError> {
    let reads = providers::REQUIRED.iter().map(|(namespace, _)| async move {
        let id = format!("/subscriptions/{subscription}/providers/{namespace}");
        let answer = match arm.get(&id, providers::API_VERSION).await {
            Ok(Some(body)) => serde_json::from_value::<Provider>(body)
                .map(Some)
                .map_err(|e| format!("GET {id}: the answer is not a provider: {e}")),
            Ok(None) => Ok(None),
            Err(e) => Err(undecided(e)?),
        };
        Ok::<_, ReadError>(((*namespace).to_owned(), answer))
    });
    join_all(reads).await.into_iter().collect()
}

async fn read_regions(
    arm: &ArmClient,
    subscription: &str,
    locations: &BTreeSet<String>,
) -> Result<BTreeMap<String, RegionFacts>, ReadError> {
    let reads = locations.iter().map(|location| async move {
        let base = format!("/subscriptions/{subscription}/providers/Microsoft.Compute/locations/{location}");
        let (sizes_path, usages_path) = (format!("{base}/vmSizes"), format!("{base}/usages"));
        let (sizes, usages) = futures::join!(
            list_of::<VmSize>(arm, &sizes_path, quota::API_VERSION),
            list_of::<Usage>(arm, &usages_path, quota::API_VERSION)
        );
        Ok::<_, ReadError>((location.clone(), RegionFacts { sizes: Some(sizes?), usages: Some(usages?) }))
    });
    join_all(reads).await.into_iter().collect()
}

async fn read_rights(
    arm: &ArmClient,
    caller: &Caller,
    scopes: &BTreeSet<Scope>,
) -> Result<BTreeMap<Scope, Granted>, ReadError> {
    let groups = scopes.iter().map(|scope| async move {
        let granted = match scope {
            Scope::ResourceGroup { subscription, name } => {
                let path = format!(
                    "/subscriptions/{subscription}/resourcegroups/{name}/providers/Microsoft.Authorization/permissions"
                );
                match arm.list(&path, AUTHORIZATION_API_VERSION).await {
                    Ok(items) => Some(parse_blocks(&path, items)),
                    Err(e) if e.status() == Some(StatusCode::NotFound) => None,
                    Err(e) => Some(Granted::Unknown(undecided(e)?)),
                }
            }
            Scope::Subscription { .. } => None,
        };
        Ok::<_, ReadError>((scope.clone(), granted))
    });
    let by_group: Vec<(Scope, Option<Granted>)> = join_all(groups).await.into_iter().collect::<Result<_, _>>()?;
    let pending: BTreeSet<String> =
        by_group.iter().filter(|(_, g)| g.is_none()).map(|(scope, _)| scope.subscription().to_owned()).collect();
    let from_subscription = join_all(pending.iter().map(|subscription| async move {
        Ok::<_, ReadError>((subscription.clone(), subscription_rights(arm, caller, subscription).await?))
    }))
    .await
    .into_iter()
    .collect::<Result<BTreeMap<String, Granted>, ReadError>>()?;
    Ok(by_group
        .into_iter()
        .map(|(scope, granted)| {
            let granted = granted.unwrap_or_else(|| match &from_subscription[scope.subscription()] {
                Granted::Known { blocks, .. } => Granted::Known { blocks: blocks.clone(), group_exists: false },
                unknown => unknown.clone(),
            });
            (scope, granted)
        })
        .collect())
}

/// The caller's permission blocks from its role assignments at (and above) the subscription.
async fn subscription_rights(arm: &ArmClient, caller: &Caller, subscription: &str) -> Result<Granted, ReadError> {
    let object_id = match caller_object_id(caller).await {
        Ok(oid) => oid,
        Err(why) => return Ok(Granted::Unknown(why)),
    };
    let path = format!(
        "/subscriptions/{subscription}/providers/Microsoft.Authorization/roleAssignments?$filter=atScope() and assignedTo('{object_id}')"
    );
    let assignments = match arm.list(&path, AUTHORIZATION_API_VERSION).await {
        Ok(items) => items,
        Err(e) => return Ok(Granted::Unknown(undecided(e)?)),
    };
    let mut definitions: Vec<String> = assignments
        .iter()
        .filter_map(|a| a.pointer("/properties/roleDefinitionId").and_then(|v| v.as_str()).map(str::to_owned))
        .collect();
    definitions.sort_by_key(|id| id.to_ascii_lowercase());
    definitions.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
    let roles = join_all(definitions.iter().map(|id| arm.get(id, AUTHORIZATION_API_VERSION))).await;
    let mut blocks = Vec::new();
    for (id, role) in definitions.iter().zip(roles) {
        match role {
            Ok(Some(role)) => {
                let permissions = role.pointer("/properties/permissions").cloned().unwrap_or_default();
                match serde_json::from_value::<Vec<PermissionBlock>>(permissions) {
                    Ok(found) => blocks.extend(found),
                    Err(e) => {
                        return Ok(Granted::Unknown(format!("GET {id}: the role's permissions do not parse: {e}")))
                    }
                }
            }
            Ok(None) => {}
            Err(e) => return Ok(Granted::Unknown(undecided(e)?)),
        }
    }
    Ok(Granted::Known { blocks, group_exists: false })
}

async fn caller_object_id(caller: &Caller) -> Result<String, String> {
    let token = caller
        .credential
        .get_token(&[caller.scope.as_str()], None)
        .await
        .map_err(|e| format!("no access token to learn the caller's object id: {e}"))?;
    principal::object_id(token.token.secret()).map_err(|e| e.to_string())
}

fn parse_blocks(path: &str, items: Vec<serde_json::Value>) -> Granted {
    let parsed: Result<Vec<PermissionBlock>, _> = items.into_iter().map(serde_json::from_value).collect();
    match parsed {
        Ok(blocks) => Granted::Known { blocks, group_exists: true },
        Err(e) => Granted::Unknown(format!("GET {path}: the permissions do not parse: {e}")),
    }
}

async fn list_of<T: for<'de> Deserialize<'de>>(
    arm: &ArmClient,
    path: &str,
    api_version: &str,
) -> Result<Result<Vec<T>, String>, ReadError> {
    match arm.list(path, api_version).await {
        Ok(items) => Ok(items
            .into_iter()
            .map(serde_json::from_value)
            .collect::<Result<Vec<T>, _>>()
            .map_err(|e| format!("GET {path}: unexpected answer: {e}"))),
        Err(e) => Ok(Err(undecided(e)?)),
    }
}

/// The message of a read failure that leaves one check undecided; `Err` for failures that end
/// preflight (no answer, no token, the caller not accepted).
fn undecided(error: ArmError) -> Result<String, ReadError> {
    match error {
        ArmError::Transport { .. } | ArmError::Credential { .. } => Err(error.into()),
        ArmError::Status { status: StatusCode::Unauthorized, .. } => Err(error.into()),
        other => Ok(other.to_string()),
    }
}
