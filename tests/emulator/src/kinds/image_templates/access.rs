//! What a template's identity may do, decided by its role assignments and their roles' permissions
//! ([`crate::authz`]), and which URLs are blobs of emulated storage accounts.
//!
//! Image Builder acts as the template's user-assigned identity. To distribute to a gallery it needs, at the
//! gallery image definition, the actions Microsoft documents for it ("Configure Azure VM Image Builder
//! permissions by using the Azure CLI", learn.microsoft.com/azure/virtual-machines/linux/image-builder-permissions-cli):
//! `Microsoft.Compute/galleries/read`, `…/galleries/images/read`, `…/galleries/images/versions/read` and
//! `…/galleries/images/versions/write` ([`GALLERY_ACTIONS`]). To read a script from a storage account
//! without SAS it needs the data action `Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read`
//! at the blob's container ([`BLOB_READ`]; a role such as Storage Blob Data Reader). Both are checked when
//! the template is created, again when a build distributes ([`gallery_denied_action`]) and when it
//! downloads ([`may_read_blob`]), so a role changed in between fails the build.

use serde_json::{json, Value};

use super::body::GalleryImageRef;
use crate::authz::{self, permission::Operation};
use crate::state::Store;

/// What Image Builder's identity needs at a gallery image definition to distribute a version to it.
pub const GALLERY_ACTIONS: &[Operation<'static>] = &[
    Operation::Action("Microsoft.Compute/galleries/read"),
    Operation::Action("Microsoft.Compute/galleries/images/read"),
    Operation::Action("Microsoft.Compute/galleries/images/versions/read"),
    Operation::Action("Microsoft.Compute/galleries/images/versions/write"),
];

/// What Image Builder's identity needs at a blob's container to download it with an Entra token.
pub const BLOB_READ: Operation<'static> =
    Operation::DataAction("Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read");

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

/// The first gallery action the identity may not perform at the gallery image definition, if any.
pub fn gallery_denied_action(store: &Store, identity: &Identity, gallery: &GalleryImageRef) -> Option<&'static str> {
    authz::first_denied(store, &identity.principal_id, &gallery.image_id, GALLERY_ACTIONS).map(|op| match op {
        Operation::Action(a) | Operation::DataAction(a) => a,
    })
}

/// Whether the identity may read blobs of `blob`'s container.
pub fn may_read_blob(store: &Store, identity: &Identity, blob: &EmulatedBlob) -> bool {
    authz::allows(store, &identity.principal_id, &blob.container_id(), BLOB_READ)
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
        if let Some(action) = gallery_denied_action(store, &identity, &gallery) {
            return Some((
                "BadSharedImageDistribute",
                gallery_denied(&identity, &format!("distribute[{i}]"), &gallery, action),
            ));
        }
    }
    for (path, url) in script_urls(template) {
        if let Some(blob) = emulated_blob(store, &url) {
            if !may_read_blob(store, &identity, &blob) {
                return Some(("Other", storage_denied(&identity, &path, &url, &blob)));
            }
        }
    }
    None
}

/// The message of a missing gallery permission (ARM's `AuthorizationFailed` wording).
pub fn gallery_denied(identity: &Identity, what: &str, gallery: &GalleryImageRef, action: &str) -> String {
    format!(
        "Validation failed: 'ImageTemplate.properties.{what}': The client '{p}' with object id '{p}' (identity '{id}') does not have authorization to perform action '{action}' over scope '{g}' or the scope is invalid. Assign the identity a role on resource group '{rg}' (or the gallery) that grants it. If access was recently granted, please refresh your credentials.",
        p = identity.principal_id,
        id = identity.id,
        g = gallery.image_id,
        rg = gallery.group_id,
    )
}

/// The message of a missing blob read permission.
pub fn storage_denied(identity: &Identity, path: &str, url: &str, blob: &EmulatedBlob) -> String {
    format!(
        "Validation failed: '{path}': the identity '{id}' (principal '{p}') is not authorized to read '{url}': it needs the data action 'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read' (a role such as Storage Blob Data Reader) on the container, storage account '{a}', its resource group or subscription.",
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
    use crate::authz::tests::{assign, custom_role};
    use crate::state::Resource;

    const CONTRIBUTOR: &str = "b24988ac-6180-42a0-ab88-20f7382dd24c";
    const READER: &str = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
    const BLOB_READER: &str = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1";
    const ACCOUNT: &str = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/acct";

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
            id: ACCOUNT.into(),
            body: json!({"properties": {"primaryEndpoints": {"blob": "https://127.0.0.1:10000/acct/"}}}),
        });
        s
    }

    fn template() -> Value {
        json!({
            "identity": {"userAssignedIdentities": {"/subscriptions/s/resourcegroups/RG/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id": {}}},
            "properties": {
                "customize": [{"type": "Shell", "scriptUri": "https://127.0.0.1:10000/acct/scripts/b.sh"}],
                "distribute": [{"type": "SharedImage", "galleryImageId": "/subscriptions/s/resourceGroups/rg-gal/providers/Microsoft.Compute/galleries/g/images/i"}]
            }
        })
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
    fn permissions_decide_provisioning() {
        let mut s = store();
        let template = template();
        assert_eq!(identity(&s, &template).unwrap().principal_id, "p1");
        let (code, message) = provisioning_problem(&s, &template).unwrap();
        assert_eq!(code, "BadSharedImageDistribute");
        assert!(message.contains("'Microsoft.Compute/galleries/read'"), "the first missing action: {message}");
        assign(&mut s, "/subscriptions/s/resourceGroups/rg-gal", "p1", CONTRIBUTOR);
        let (code, message) = provisioning_problem(&s, &template).unwrap();
        assert_eq!(code, "Other");
        assert!(
            message.contains("Storage Blob Data Reader") && message.contains("properties.customize[0].scriptUri"),
            "{message}"
        );
        assign(&mut s, "/subscriptions/s/resourceGroups/rg", "p1", CONTRIBUTOR);
        assert!(provisioning_problem(&s, &template).is_some(), "Contributor reads no blob data");
        assign(&mut s, ACCOUNT, "p1", READER);
        assert!(provisioning_problem(&s, &template).is_some(), "Reader on the account reads no blob data");
        assign(&mut s, &format!("{ACCOUNT}/blobServices/default/containers/scripts"), "p1", BLOB_READER);
        assert_eq!(provisioning_problem(&s, &template), None);
        let mut gone = template.clone();
        gone["identity"]["userAssignedIdentities"] = json!({"/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/nope": {}});
        assert_eq!(provisioning_problem(&s, &gone).unwrap().0, "Other");
    }

    #[test]
    fn a_custom_role_needs_every_gallery_action() {
        let mut s = store();
        let reads: Vec<&str> = GALLERY_ACTIONS[..3].iter().map(Operation::name).collect();
        custom_role(
            &mut s,
            "3c3d5a4e-8f2b-4c1d-9e0f-a1b2c3d4e5f6",
            "reads only",
            &reads,
            "/subscriptions/s/resourceGroups/rg-gal",
        );
        assign(&mut s, "/subscriptions/s/resourceGroups/rg-gal", "p1", "3c3d5a4e-8f2b-4c1d-9e0f-a1b2c3d4e5f6");
        let identity = identity(&s, &template()).unwrap();
        let gallery = GalleryImageRef::parse(
            "/subscriptions/s/resourceGroups/rg-gal/providers/Microsoft.Compute/galleries/g/images/i",
        )
        .unwrap();
        assert_eq!(
            gallery_denied_action(&s, &identity, &gallery),
            Some("Microsoft.Compute/galleries/images/versions/write")
        );
        let all: Vec<&str> = GALLERY_ACTIONS.iter().map(Operation::name).collect();
        custom_role(
            &mut s,
            "3c3d5a4e-8f2b-4c1d-9e0f-a1b2c3d4e5f6",
            "reads only",
            &all,
            "/subscriptions/s/resourceGroups/rg-gal",
        );
        assert_eq!(gallery_denied_action(&s, &identity, &gallery), None, "the role changed in place");
    }
}
