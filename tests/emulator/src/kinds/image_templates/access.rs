//! What a template's identity may do, judged from the emulated role assignments, and which URLs are blobs
//! of emulated storage accounts.
//!
//! Image Builder acts as the template's user-assigned identity: it needs a role on the resource group of
//! every gallery it distributes to (any role: custom Image Builder roles are common, so role definitions
//! are not evaluated) and a blob data role to read scripts from storage accounts without SAS.

use serde_json::{json, Value};

use super::body::GalleryImageRef;
use crate::arm::path::is_within;
use crate::state::Store;

/// Storage Blob Data Reader, Contributor and Owner: the roles that may read blobs with an Entra token.
pub const BLOB_DATA_ROLES: &[&str] = &[
    "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
    "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
];

/// The template's identity as the emulator knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The resource id, as the template names it.
    pub id: String,
    pub principal_id: String,
    pub client_id: String,
}

/// The id the template's `identity.userAssignedIdentities` names (the first one).
pub fn identity_id(template: &Value) -> Option<String> {
    template["identity"]["userAssignedIdentities"].as_object()?.keys().next().cloned()
}

/// The template's identity, if that identity exists.
pub fn identity(store: &Store, template: &Value) -> Option<Identity> {
    let id = identity_id(template)?;
    let resource = store.get(&id).filter(|r| r.kind == "userAssignedIdentities")?;
    let prop = |k: &str| resource.body["properties"][k].as_str().unwrap_or_default().to_string();
    Some(Identity { id, principal_id: prop("principalId"), client_id: prop("clientId") })
}

/// Whether `principal` has a role assignment at `resource_id` or above it (one of `roles` when given).
pub fn has_role(store: &Store, principal: &str, resource_id: &str, roles: Option<&[&str]>) -> bool {
    store.resources().filter(|r| r.kind == "roleAssignments").any(|r| {
        let props = &r.body["properties"];
        let scope = props["scope"].as_str().unwrap_or_default();
        let role = props["roleDefinitionId"].as_str().unwrap_or_default().rsplit('/').next().unwrap_or_default();
        props["principalId"].as_str().is_some_and(|p| p.eq_ignore_ascii_case(principal))
            && !scope.is_empty()
            && is_within(resource_id, scope)
            && roles.is_none_or(|roles| roles.iter().any(|g| g.eq_ignore_ascii_case(role)))
    })
}

/// A blob of an emulated storage account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmulatedBlob {
    /// The storage account's id.
    pub account_id: String,
    pub container: String,
    /// The blob's URL at the account's blob endpoint (`primaryEndpoints.blob`), without query.
    pub url: String,
}

impl EmulatedBlob {
    /// The id of the blob's container (a role assignment scope).
    pub fn container_id(&self) -> String {
        format!("{}/blobServices/default/containers/{}", self.account_id, self.container)
    }
}

/// The emulated blob `url` points at: under an account's `primaryEndpoints.blob`, or
/// `https://{account}.blob.core.windows.net/...` for an account the emulator has.
pub fn emulated_blob(store: &Store, url: &str) -> Option<EmulatedBlob> {
    let url = url.split(['?', '#']).next().unwrap_or_default();
    let public = url.strip_prefix("https://").and_then(|rest| {
        let (host, path) = rest.split_once('/')?;
        let account = host.to_ascii_lowercase().strip_suffix(".blob.core.windows.net")?.to_string();
        Some((account, path.to_string()))
    });
    store.resources().filter(|r| r.kind == "storageAccounts").find_map(|account| {
        let endpoint = account.body.pointer("/properties/primaryEndpoints/blob")?.as_str()?;
        let endpoint = format!("{}/", endpoint.trim_end_matches('/'));
        let name = account.id.rsplit('/').next().unwrap_or_default();
        let rest = match (&public, url.get(..endpoint.len())) {
            (_, Some(prefix)) if prefix.eq_ignore_ascii_case(&endpoint) => url[endpoint.len()..].to_string(),
            (Some((host_account, path)), _) if host_account == name => path.clone(),
            _ => return None,
        };
        let (container, blob) = rest.split_once('/')?;
        (!container.is_empty() && !blob.is_empty()).then(|| EmulatedBlob {
            account_id: account.id.clone(),
            container: container.to_string(),
            url: format!("{endpoint}{rest}"),
        })
    })
}

/// The URLs a template's steps download (`scriptUri`, `sourceUri` of customizers and validators), with
/// the path of their property.
pub fn script_urls(template: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let lists = [
        ("properties.customize", template.pointer("/properties/customize")),
        ("properties.validate.inVMValidations", template.pointer("/properties/validate/inVMValidations")),
    ];
    for (path, list) in lists {
        for (i, step) in list.and_then(Value::as_array).into_iter().flatten().enumerate() {
            for key in ["scriptUri", "sourceUri"] {
                if let Some(url) = step[key].as_str().filter(|u| !u.is_empty()) {
                    out.push((format!("{path}[{i}].{key}"), url.to_string()));
                }
            }
        }
    }
    out
}

/// Why the template cannot be provisioned (`provisioningError` code and message), judged as Image Builder
/// judges it when the template is created or updated.
pub fn provisioning_problem(store: &Store, template: &Value) -> Option<(&'static str, String)> {
    let Some(identity) = identity(store, template) else {
        let id = identity_id(template).unwrap_or_default();
        return Some((
            "Other",
            format!("Validation failed: the user-assigned identity '{id}' of the image template was not found."),
        ));
    };
    for (i, distributor) in template["properties"]["distribute"].as_array().into_iter().flatten().enumerate() {
        if distributor["type"] != "SharedImage" {
            continue;
        }
        let Some(gallery) = GalleryImageRef::parse(distributor["galleryImageId"].as_str().unwrap_or_default()) else {
            continue;
        };
        if !has_role(store, &identity.principal_id, &gallery.gallery_id, None) {
            return Some((
                "BadSharedImageDistribute",
                gallery_denied(&identity, &format!("distribute[{i}]"), &gallery),
            ));
        }
    }
    for (path, url) in script_urls(template) {
        if let Some(blob) = emulated_blob(store, &url) {
            if !has_role(store, &identity.principal_id, &blob.container_id(), Some(BLOB_DATA_ROLES)) {
                return Some(("Other", storage_denied(&identity, &path, &url, &blob)));
            }
        }
    }
    None
}

/// The message of a missing gallery permission (ARM's `AuthorizationFailed` wording).
pub fn gallery_denied(identity: &Identity, what: &str, gallery: &GalleryImageRef) -> String {
    format!(
        "Validation failed: 'ImageTemplate.properties.{what}': The client '{p}' with object id '{p}' (identity '{id}') does not have authorization to perform action 'Microsoft.Compute/galleries/images/versions/write' over scope '{g}' or the scope is invalid. Assign the identity a role on resource group '{rg}' (or the gallery). If access was recently granted, please refresh your credentials.",
        p = identity.principal_id,
        id = identity.id,
        g = gallery.image_id,
        rg = gallery.group_id,
    )
}

/// The message of a missing blob read permission.
pub fn storage_denied(identity: &Identity, path: &str, url: &str, blob: &EmulatedBlob) -> String {
    format!(
        "Validation failed: '{path}': the identity '{id}' (principal '{p}') is not authorized to read '{url}': it needs 'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read' (a role such as Storage Blob Data Reader) on storage account '{a}', its resource group or subscription.",
        id = identity.id,
        p = identity.principal_id,
        a = blob.account_id,
    )
}

/// `provisioningError` of a problem.
pub fn provisioning_error(code: &str, message: &str) -> Value {
    json!({ "provisioningErrorCode": code, "message": message })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Resource;

    fn store() -> Store {
        let mut s = Store::default();
        let rg = "/subscriptions/s/resourceGroups/rg";
        s.insert(Resource {
            kind: "userAssignedIdentities".into(),
            id: format!("{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id"),
            body: json!({"properties": {"principalId": "p1", "clientId": "c1"}}),
        });
        s.insert(Resource {
            kind: "storageAccounts".into(),
            id: format!("{rg}/providers/Microsoft.Storage/storageAccounts/acct"),
            body: json!({"properties": {"primaryEndpoints": {"blob": "https://127.0.0.1:10000/acct/"}}}),
        });
        s
    }

    fn assign(s: &mut Store, scope: &str, role: &str) {
        s.insert(Resource {
            kind: "roleAssignments".into(),
            id: format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{}", uuid::Uuid::new_v4()),
            body: json!({"properties": {"scope": scope, "principalId": "P1", "roleDefinitionId": format!("/providers/Microsoft.Authorization/roleDefinitions/{role}")}}),
        });
    }

    #[test]
    fn blobs_of_emulated_accounts() {
        let s = store();
        let b = emulated_blob(&s, "https://127.0.0.1:10000/acct/scripts/a/b.sh?sv=1").unwrap();
        assert_eq!((b.container.as_str(), b.url.as_str()), ("scripts", "https://127.0.0.1:10000/acct/scripts/a/b.sh"));
        let b = emulated_blob(&s, "https://ACCT.blob.core.windows.net/scripts/b.sh").unwrap();
        assert_eq!(b.url, "https://127.0.0.1:10000/acct/scripts/b.sh");
        assert!(emulated_blob(&s, "https://raw.githubusercontent.com/x/y.sh").is_none());
        assert!(emulated_blob(&s, "https://127.0.0.1:10000/acct/only-container").is_none());
    }

    #[test]
    fn permissions_follow_role_assignments() {
        let mut s = store();
        let template = json!({
            "identity": {"userAssignedIdentities": {"/subscriptions/s/resourcegroups/RG/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id": {}}},
            "properties": {
                "customize": [{"type": "Shell", "scriptUri": "https://127.0.0.1:10000/acct/scripts/b.sh"}],
                "distribute": [{"type": "SharedImage", "galleryImageId": "/subscriptions/s/resourceGroups/rg-gal/providers/Microsoft.Compute/galleries/g/images/i"}]
            }
        });
        assert_eq!(identity(&s, &template).unwrap().principal_id, "p1");
        assert_eq!(provisioning_problem(&s, &template).unwrap().0, "BadSharedImageDistribute");
        assign(&mut s, "/subscriptions/s/resourceGroups/rg-gal", "b24988ac-6180-42a0-ab88-20f7382dd24c");
        let (code, message) = provisioning_problem(&s, &template).unwrap();
        assert_eq!(code, "Other");
        assert!(
            message.contains("Storage Blob Data Reader") && message.contains("properties.customize[0].scriptUri"),
            "{message}"
        );
        assign(&mut s, "/subscriptions/s/resourceGroups/rg", "b24988ac-6180-42a0-ab88-20f7382dd24c");
        assert!(provisioning_problem(&s, &template).is_some(), "Contributor does not read blobs");
        assign(&mut s, "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/acct/blobServices/default/containers/scripts", BLOB_DATA_ROLES[0]);
        assert_eq!(provisioning_problem(&s, &template), None);
        let mut gone = template.clone();
        gone["identity"]["userAssignedIdentities"] = json!({"/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/nope": {}});
        assert_eq!(provisioning_problem(&s, &gone).unwrap().0, "Other");
    }
}
