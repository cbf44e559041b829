//! The [`ResourceKind`] trait every emulated resource type implements, and the [`Registry`] that routes
//! paths to kinds.
//!
//! A kind is mostly data ([`KindInfo`]: api-versions, path patterns, which status codes and LRO headers
//! each operation answers, read from its swagger) plus hooks: body validation, update and conflict checks,
//! and `build`, which turns a request body into the stored resource with the read-only properties the
//! official examples show. The generic machinery (`arm::crud`, `arm::lro`) does the rest: parents, 404s,
//! api-version checks, provisioning states, operation-status resources, paging.
//!
//! Kinds that do more than CRUD use the extension points: POST actions ([`KindInfo::actions`],
//! [`ResourceKind::action`], [`ResourceKind::complete_action`], e.g. Image Builder's `run`), progress of
//! long operations ([`ResourceKind::on_progress`], which may end or postpone them), lifecycle hooks
//! ([`ResourceKind::on_provisioned`], [`ResourceKind::on_deleted`], e.g. a staging resource group that lives
//! and dies with its template), more checks ([`ResourceKind::check_put`] for what only a PATCH may change,
//! [`ResourceKind::check_delete`] for a busy resource), values from other resources
//! ([`ResourceKind::resolve`]) and work outside the state lock ([`ResourceKind::background`], run by the
//! server's tick: data-plane calls, resources made through other kinds). Hooks get an [`Env`] (configuration
//! and clock); what a provider keeps without showing it goes to the store's private data
//! ([`crate::state::Store::private`]).
//!
//! To add a kind: write a module under `kinds/` with a unit struct implementing [`ResourceKind`], and list
//! it in `kinds::all()`. Nothing else changes.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::http::StatusCode;
use serde_json::Value;
use time::OffsetDateTime;

use super::error::ArmError;
use super::path::{parent_id, Captures, Pattern};
use crate::app::App;
use crate::config::Config;
use crate::entra::Claims;
use crate::state::{Operation, Resource, Store};

/// How PUT answers (from the operation's swagger `responses` and `x-ms-long-running-operation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutStyle {
    /// The kind has no PUT in the emulator (405).
    Unsupported,
    /// Synchronous: 201 when created, 200 when updated, with the resource.
    Sync,
    /// LRO: 201 (created) / 200 (updated) with the resource in `Creating`/`Updating` and an
    /// `Azure-AsyncOperation` header (Compute).
    AsyncOperation,
    /// LRO: a creation answers 202 with `Location` and no body and stays invisible until it completes; an
    /// update of an existing resource answers 200 synchronously (Storage).
    LocationOnCreate,
}

/// How PATCH answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchStyle {
    /// No PATCH in the emulator (405).
    Unsupported,
    /// 200 with the merged resource.
    Sync,
    /// 200 with the merged resource in `Updating` and an `Azure-AsyncOperation` header.
    AsyncOperation,
    /// 200, synchronous, applying only the body's `tags` (Network's `UpdateTags`, whose body is a
    /// `TagsObject`: other members are ignored).
    TagsOnly,
}

/// How DELETE answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteStyle {
    /// No DELETE in the emulator (405): read-only resources made by a provider (run outputs).
    Unsupported,
    /// 200 when deleted (with the deleted resource as body when `body`), 204 when missing.
    Sync { body: bool },
    /// 202 with `Azure-AsyncOperation` and `Location`; 204 when missing (Compute).
    AsyncOperation,
    /// 202 with `Location`; 404 when missing (resource groups).
    Location,
}

/// Which stored items a list route returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListFilter {
    /// Items whose parent is the collection's parent (list by resource group, by gallery, ...).
    Children,
    /// Every item of the subscription.
    Subscription,
    /// Decided by [`ResourceKind::list_matches`].
    Custom,
}

/// A collection route of a kind.
#[derive(Debug, Clone, Copy)]
pub struct ListRoute {
    pub pattern: &'static str,
    pub filter: ListFilter,
}

/// The declarative part of a kind.
#[derive(Debug)]
pub struct KindInfo {
    /// Registry name (stable, used in the state file), e.g. `galleryImages`.
    pub name: &'static str,
    /// ARM resource type, e.g. `Microsoft.Compute/galleries/images`.
    pub resource_type: &'static str,
    /// Supported api-versions (the one of the swagger in `specs/` first).
    pub api_versions: &'static [&'static str],
    /// Swagger path of one item (`{scope}` first for extension resources).
    pub item: &'static str,
    /// Swagger paths of the collections.
    pub lists: &'static [ListRoute],
    pub put: PutStyle,
    pub patch: PatchStyle,
    pub delete: DeleteStyle,
    /// Whether HEAD (check existence: 204 / 404) is supported.
    pub head: bool,
    /// Whether the resource has `properties.provisioningState`.
    pub provisioning_state: bool,
    /// Whether DELETE is refused (409 `CannotDeleteResource`) while nested resources exist (Compute).
    pub nested_delete_blocked: bool,
    /// POST actions on an item (`{item}/{action}`), as the swagger names them (e.g. `run`).
    pub actions: &'static [&'static str],
}

/// What a POST action answers.
#[derive(Debug, Clone, PartialEq)]
pub enum ActionReply {
    /// A synchronous answer.
    Done { status: StatusCode, body: Option<Value> },
    /// A long-running action: 202 with `Location` (and `Azure-AsyncOperation` when `async_operation`);
    /// [`ResourceKind::complete_action`] runs when it ends, `delay_ms` later (`None`: `--lro-delay-ms`).
    Accepted { async_operation: bool, delay_ms: Option<u64> },
}

/// A POST action call.
pub struct ActionCall<'a> {
    pub target: &'a Target,
    pub env: &'a Env<'a>,
    /// The action, in the casing of [`KindInfo::actions`].
    pub name: &'a str,
    /// The request body (`{}` when empty).
    pub body: &'a Value,
}

/// The resource a request addresses.
#[derive(Clone)]
pub struct Target {
    pub kind: &'static dyn ResourceKind,
    /// Canonical id (pattern casing for types, request casing for names).
    pub id: String,
    /// Last segment of the id.
    pub name: String,
    pub subscription: String,
    pub resource_group: Option<String>,
    pub captures: Captures,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target").field("kind", &self.kind.info().name).field("id", &self.id).finish()
    }
}

impl Target {
    /// The ARM 404 for this target when it does not exist.
    pub fn not_found(&self) -> ArmError {
        self.kind.not_found(self)
    }
}

/// A list request.
#[derive(Clone)]
pub struct ListRequest {
    pub kind: &'static dyn ResourceKind,
    pub filter: ListFilter,
    /// Canonical collection path.
    pub path: String,
    pub subscription: String,
    pub captures: Captures,
    /// Query parameters, lower-cased names.
    pub query: BTreeMap<String, String>,
}

impl ListRequest {
    /// Whether `item` belongs to this list, per the route's filter.
    pub fn matches(&self, item: &Resource) -> bool {
        if item.kind != self.kind.info().name {
            return false;
        }
        match self.filter {
            ListFilter::Children => parent_id(&item.id).eq_ignore_ascii_case(parent_id_of_collection(&self.path)),
            ListFilter::Subscription => {
                super::path::is_within(&item.id, &format!("/subscriptions/{}", self.subscription))
            }
            ListFilter::Custom => self.kind.list_matches(self, item),
        }
    }
}

fn parent_id_of_collection(path: &str) -> &str {
    path.rfind('/').map(|i| &path[..i]).unwrap_or("")
}

/// What hooks get besides the target: configuration, the clock and the caller.
pub struct Env<'a> {
    pub config: &'a Config,
    pub now: OffsetDateTime,
    pub caller: Option<&'a Claims>,
}

impl<'a> Env<'a> {
    /// The environment of work the emulator does on its own (no caller).
    pub fn internal(config: &'a Config, now: OffsetDateTime) -> Self {
        Env { config, now, caller: None }
    }

    /// [`Env::now`] in Unix milliseconds.
    pub fn now_ms(&self) -> i64 {
        super::lro::now_ms(self.now)
    }
}

/// An emulated ARM resource type.
pub trait ResourceKind: Send + Sync + 'static {
    /// The declarative description.
    fn info(&self) -> &'static KindInfo;

    /// Checks the resource name (400 with the provider's code when invalid).
    fn validate_name(&self, _name: &str) -> Result<(), ArmError> {
        Ok(())
    }

    /// Checks and normalizes a PUT body (required properties, enums), before any state is read.
    fn validate(&self, body: &mut Value) -> Result<(), ArmError>;

    /// Checks against the state: conflicts with other resources, properties an update may not change.
    fn check(
        &self,
        _target: &Target,
        _body: &Value,
        _existing: Option<&Resource>,
        _store: &Store,
    ) -> Result<(), ArmError> {
        Ok(())
    }

    /// The stored resource for a valid body: the body plus read-only properties (kept from `existing` on
    /// an update). `id`, `name`, `type`, the normalized `location` and the provisioning state are set by
    /// the machinery afterwards.
    fn build(&self, target: &Target, env: &Env<'_>, body: Value, existing: Option<&Resource>) -> Value;

    /// Fills read-only values of the stored resource taken from other resources (e.g. the principal id of a
    /// user-assigned identity it names), after [`ResourceKind::build`].
    fn resolve(&self, _target: &Target, _built: &mut Value, _store: &Store) {}

    /// The provisioning state of a resource being created by an `Azure-AsyncOperation` PUT (Network's
    /// `ProvisioningState` has no `Creating`: it answers `Updating`).
    fn creating_state(&self) -> &'static str {
        "Creating"
    }

    /// The other resources a PUT or PATCH body links to and the action the caller needs on each
    /// (`Microsoft.Network/virtualNetworks/subnets/join/action` on a subnet, ...): ARM's linked access
    /// check, answered 403 `LinkedAuthorizationFailed` ([`crate::authz::linked`]).
    fn linked_access(&self, _body: &Value) -> Vec<crate::authz::linked::Link> {
        Vec::new()
    }

    /// The 404 of a missing resource of this kind.
    fn not_found(&self, target: &Target) -> ArmError {
        let info = self.info();
        ArmError::ResourceNotFound {
            resource_type: info.resource_type.to_string(),
            name: target.name.clone(),
            group: target.resource_group.clone().unwrap_or_default(),
        }
    }

    /// Membership in a [`ListFilter::Custom`] list.
    fn list_matches(&self, _request: &ListRequest, _item: &Resource) -> bool {
        false
    }

    /// Checks a PUT over the existing resource, after [`ResourceKind::check`] (which PATCH runs too): what a
    /// replacement may not change although a PATCH may (e.g. tags of an immutable resource).
    fn check_put(&self, _target: &Target, _body: &Value, _existing: &Resource, _store: &Store) -> Result<(), ArmError> {
        Ok(())
    }

    /// Checks a DELETE of the existing resource (409 while it is busy, ...).
    fn check_delete(&self, _target: &Target, _existing: &Resource, _store: &Store) -> Result<(), ArmError> {
        Ok(())
    }

    /// A POST action listed in [`KindInfo::actions`], on the existing `resource`.
    fn action(
        &self,
        _call: &ActionCall<'_>,
        _resource: &Resource,
        _store: &mut Store,
    ) -> Result<ActionReply, ArmError> {
        Err(ArmError::MethodNotAllowed("POST".into()))
    }

    /// The end of a long-running action (`succeeded` is false for an injected failure); the returned
    /// body is what its `Location` poll then answers with 200.
    fn complete_action(
        &self,
        _env: &Env<'_>,
        _store: &mut Store,
        _operation: &Operation,
        _succeeded: bool,
    ) -> Option<Value> {
        None
    }

    /// Called at every ARM request (and background tick) while an operation on a resource of this kind
    /// runs, before operations that are due complete; it may end the operation itself
    /// ([`super::lro::end`]) or postpone it (its `due_ms`).
    fn on_progress(&self, _env: &Env<'_>, _store: &mut Store, _operation: &Operation) {}

    /// After a PUT or PATCH succeeded (at once when synchronous, else at the end of its operation).
    fn on_provisioned(&self, _env: &Env<'_>, _store: &mut Store, _resource: &Resource) {}

    /// After the resource was deleted (also when it goes with its parent).
    fn on_deleted(&self, _env: &Env<'_>, _store: &mut Store, _resource: &Resource) {}

    /// Work that must run outside the state lock (data-plane calls, resources made through other kinds, ...):
    /// the server calls it every `--tick-ms`; `None` when there is nothing to do.
    fn background(&self, _app: &Arc<App>) -> Option<Background> {
        None
    }
}

/// The future of [`ResourceKind::background`].
pub type Background = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// A routed request path.
pub enum Route {
    /// One resource.
    Item(Target),
    /// A collection.
    List(ListRequest),
}

/// All kinds and their compiled patterns.
pub struct Registry {
    kinds: Vec<&'static dyn ResourceKind>,
    items: Vec<(Pattern, &'static dyn ResourceKind)>,
    lists: Vec<(Pattern, ListFilter, &'static dyn ResourceKind)>,
}

impl Registry {
    /// Compiles the patterns; scoped (extension) patterns are tried last.
    pub fn new(kinds: Vec<&'static dyn ResourceKind>) -> Self {
        let mut items: Vec<_> = kinds.iter().map(|k| (Pattern::new(k.info().item), *k)).collect();
        let mut lists: Vec<_> = kinds
            .iter()
            .flat_map(|k| k.info().lists.iter().map(move |l| (Pattern::new(l.pattern), l.filter, *k)))
            .collect();
        items.sort_by_key(|(p, _)| p.raw().starts_with("{scope}"));
        lists.sort_by_key(|(p, _, _)| p.raw().starts_with("{scope}"));
        Registry { kinds, items, lists }
    }

    /// The kind with this registry name.
    pub fn kind(&self, name: &str) -> Option<&'static dyn ResourceKind> {
        self.kinds.iter().copied().find(|k| k.info().name == name)
    }

    /// All kinds.
    pub fn kinds(&self) -> &[&'static dyn ResourceKind] {
        &self.kinds
    }

    /// The item a path addresses, if any kind's item pattern matches.
    pub fn item(&self, segments: &[String]) -> Option<Target> {
        self.items.iter().find_map(|(pattern, kind)| {
            let captures = pattern.matches(segments)?;
            let id = pattern.render(&captures);
            let (subscription, resource_group) = subscription_and_group(&id);
            Some(Target {
                kind: *kind,
                name: segments.last().cloned().unwrap_or_default(),
                id,
                subscription,
                resource_group,
                captures,
            })
        })
    }

    /// A POST action path: an item followed by one of its kind's actions.
    pub fn action(&self, segments: &[String]) -> Option<(Target, &'static str)> {
        let (last, item) = segments.split_last()?;
        let target = self.item(item)?;
        let name = target.kind.info().actions.iter().find(|a| a.eq_ignore_ascii_case(last))?;
        Some((target, *name))
    }

    /// Routes a path to an item or a collection.
    pub fn route(&self, segments: &[String], query: &BTreeMap<String, String>) -> Option<Route> {
        if let Some(target) = self.item(segments) {
            return Some(Route::Item(target));
        }
        self.lists.iter().find_map(|(pattern, filter, kind)| {
            let captures = pattern.matches(segments)?;
            let path = pattern.render(&captures);
            let (subscription, _) = subscription_and_group(&path);
            Some(Route::List(ListRequest {
                kind: *kind,
                filter: *filter,
                path,
                subscription,
                captures,
                query: query.clone(),
            }))
        })
    }
}

/// Subscription and resource group named by an id or path (`""` / `None` when absent).
pub fn subscription_and_group(id: &str) -> (String, Option<String>) {
    let segs: Vec<&str> = id.split('/').filter(|s| !s.is_empty()).collect();
    let subscription = match segs.as_slice() {
        [first, sub, ..] if first.eq_ignore_ascii_case("subscriptions") => sub.to_string(),
        _ => String::new(),
    };
    let group = match segs.as_slice() {
        [_, _, rg, name, ..] if rg.eq_ignore_ascii_case("resourceGroups") => Some(name.to_string()),
        _ => None,
    };
    (subscription, group)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_name_subscription_and_group() {
        let (s, g) = subscription_and_group("/subscriptions/s1/resourceGroups/rg1/providers/A/b/c");
        assert_eq!((s.as_str(), g.as_deref()), ("s1", Some("rg1")));
        let (s, g) = subscription_and_group("/subscriptions/s1/providers/A/b/c");
        assert_eq!((s.as_str(), g), ("s1", None));
    }
}
