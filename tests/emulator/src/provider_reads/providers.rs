//! `Microsoft.Resources` providers, api-version 2024-07-01 (`resources.json`): `Providers_List`
//! (`GET /subscriptions/{s}/providers`), `Providers_Get` (`GET …/providers/{namespace}`) and
//! `Providers_Register` (`POST …/providers/{namespace}/register`), and the registration every write needs.
//!
//! A provider is `{id, namespace, registrationState, registrationPolicy, resourceTypes: [{resourceType,
//! locations, apiVersions}]}`. Its resource types are the emulated kinds and endpoints of the namespace (with
//! their api-versions) plus the ones [`catalog::Namespace::other_types`] names; locations are display names, as
//! ARM gives them: `--image-builder-locations` for `Microsoft.VirtualMachineImages`, none for
//! `Microsoft.Authorization`'s global types, `--locations` otherwise. Every namespace is `Registered` unless
//! `--unregistered-provider` names it; registering makes it `Registered` at once and is remembered in the
//! state (file). A write (PUT, PATCH, DELETE, POST) to a type of an unregistered namespace answers 409
//! `MissingSubscriptionRegistration`: "The subscription is not registered to use namespace '{ns}'. See
//! https://aka.ms/rps-not-found for how to register subscriptions." ("Resolve errors for resource provider
//! registration", learn.microsoft.com/azure/azure-resource-manager/troubleshooting/error-register-resource-provider).
//! An unknown namespace is 404 `InvalidResourceNamespace` ("The resource namespace '…' is invalid.").
//!
//! Caveats: registration is immediate (Azure shows `Registering` for a while); `$expand` is ignored; the
//! emulator's own work (Image Builder distributing) is not held back by registration.

use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};

use super::catalog::{self, Namespace, Policy};
use crate::app::App;
use crate::arm::crud::Call;
use crate::arm::endpoint::{self, Endpoint, Request};
use crate::arm::error::{json_response, ArmError};
use crate::authz::request::require;
use crate::state::Store;

/// The provider routes.
pub static ENDPOINT: Endpoint = Endpoint {
    name: "providers",
    patterns: &[
        "/subscriptions/{subscriptionId}/providers",
        "/subscriptions/{subscriptionId}/providers/{resourceProviderNamespace}",
        "/subscriptions/{subscriptionId}/providers/{resourceProviderNamespace}/register",
    ],
    resource_type: "Microsoft.Resources/subscriptions/providers",
    api_versions: &["2024-07-01"],
    handle,
};

fn key(subscription: &str, namespace: &str) -> String {
    format!("/subscriptions/{subscription}/providers/{namespace}")
}

/// Whether `namespace` is registered in the subscription.
pub fn registered(store: &Store, app: &App, namespace: &Namespace) -> bool {
    if namespace.policy == Policy::Free {
        return true;
    }
    match store.private(&key(&app.config.subscription_id, namespace.name)) {
        Some(state) => state["registrationState"] == "Registered",
        None => !app.config.offer.starts_unregistered(namespace.name),
    }
}

/// 409 `MissingSubscriptionRegistration` when the namespace of `resource_type` is known and not registered.
pub fn require_registered(call: &Call<'_>, resource_type: &str) -> Result<(), ArmError> {
    let Some(namespace) = resource_type.split('/').next().and_then(catalog::namespace) else { return Ok(()) };
    if call.app.state.read(|store| registered(store, call.app, namespace)) {
        return Ok(());
    }
    Err(ArmError::conflict(
        "MissingSubscriptionRegistration",
        format!(
            "The subscription is not registered to use namespace '{}'. See https://aka.ms/rps-not-found for how to register subscriptions.",
            namespace.name
        ),
    ))
}

/// The locations of a resource type, as display names.
fn locations_of(app: &App, namespace: &str) -> Vec<String> {
    let names: &[String] = if namespace.eq_ignore_ascii_case("Microsoft.Authorization") {
        &[]
    } else if namespace.eq_ignore_ascii_case("Microsoft.VirtualMachineImages") {
        &app.config.offer.image_builder_locations
    } else {
        &app.config.offer.locations
    };
    names.iter().map(|n| catalog::display_name(n)).collect()
}

/// `(type within the namespace, api-versions)` of everything the emulator serves in `namespace` (kinds, then
/// endpoints), then the catalog's other types; each type once.
fn resource_types(app: &App, namespace: &Namespace) -> Vec<(&'static str, &'static [&'static str])> {
    let kinds = app.registry.kinds().iter().map(|k| (k.info().resource_type, k.info().api_versions));
    let endpoints = endpoint::all().into_iter().map(|e| (e.resource_type, e.api_versions));
    let served = kinds.chain(endpoints).filter_map(|(t, versions)| {
        let (ns, rest) = t.split_once('/')?;
        ns.eq_ignore_ascii_case(namespace.name).then_some((rest, versions))
    });
    let mut out: Vec<(&'static str, &'static [&'static str])> = Vec::new();
    for (name, versions) in served.chain(namespace.other_types.iter().copied()) {
        if !out.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
            out.push((name, versions));
        }
    }
    out
}

/// The provider as `Providers_Get` answers it.
pub fn provider_json(store: &Store, app: &App, namespace: &Namespace) -> Value {
    let types: Vec<Value> = resource_types(app, namespace)
        .into_iter()
        .map(|(name, versions)| {
            let mut t = json!({"resourceType": name, "locations": locations_of(app, namespace.name)});
            if !versions.is_empty() {
                t["apiVersions"] = json!(versions);
            }
            t
        })
        .collect();
    let state = if registered(store, app, namespace) { "Registered" } else { "NotRegistered" };
    let policy = match namespace.policy {
        Policy::Free => "RegistrationFree",
        Policy::Required => "RegistrationRequired",
    };
    json!({
        "id": key(&app.config.subscription_id, namespace.name),
        "namespace": namespace.name,
        "registrationState": state,
        "registrationPolicy": policy,
        "resourceTypes": types,
    })
}

fn invalid_namespace(name: &str) -> ArmError {
    ArmError::provider(
        StatusCode::NOT_FOUND,
        "InvalidResourceNamespace",
        format!("The resource namespace '{name}' is invalid."),
    )
}

fn handle(request: &Request<'_>) -> Result<Response, ArmError> {
    let call = request.call;
    let app = call.app;
    let subscription = format!("/subscriptions/{}", app.config.subscription_id);
    let name = request.captures.get("resourceProviderNamespace");
    let register = request.pattern.ends_with("/register");
    match (request.method, name.is_empty(), register) {
        (&Method::GET, true, false) => {
            require(call, "Microsoft.Resources/subscriptions/providers/read", &subscription)?;
            let value: Vec<Value> =
                app.state.read(|store| catalog::NAMESPACES.iter().map(|ns| provider_json(store, app, ns)).collect());
            Ok(json_response(StatusCode::OK, &json!({ "value": value })))
        }
        (&Method::GET, false, false) => {
            require(call, "Microsoft.Resources/subscriptions/providers/read", &subscription)?;
            let namespace = catalog::namespace(name).ok_or_else(|| invalid_namespace(name))?;
            Ok(json_response(StatusCode::OK, &app.state.read(|store| provider_json(store, app, namespace))))
        }
        (&Method::POST, false, true) => {
            let namespace = catalog::namespace(name).ok_or_else(|| invalid_namespace(name))?;
            require(call, &format!("{}/register/action", namespace.name), &subscription)?;
            let body = app.state.write(|store| {
                if namespace.policy == Policy::Required {
                    let state = json!({"registrationState": "Registered"});
                    store.set_private(&key(&app.config.subscription_id, namespace.name), Some(state));
                }
                provider_json(store, app, namespace)
            });
            Ok(json_response(StatusCode::OK, &body))
        }
        _ => Err(request.method_not_allowed()),
    }
}
