//! `Microsoft.Storage/storageAccounts`, api-version 2023-05-01 (`storage.json`).
//!
//! | operation | answers |
//! |---|---|
//! | PUT (Create, LRO) | new account: 202 + `Location` (no body), invisible until done, poll 202 then 200 + account; existing account: 200 + account, synchronous |
//! | GET (GetProperties) | 200 / 404 |
//! | PATCH (Update) | 200 |
//! | DELETE | 200 / 204 when missing (synchronous; removes the containers) |
//! | LIST by group, by subscription | 200 `{"value"}` |
//! | POST `listKeys` | 200 `{"keys": [{keyName, value, permissions: "Full", creationTime}]}`: `key1` is the key the blob service (Azurite) knows every account by ([`crate::azurite::ACCOUNT_KEY`]), `key2` a made-up one |
//! | POST `/subscriptions/{s}/providers/Microsoft.Storage/checkNameAvailability` | 200 `{nameAvailable, reason?, message?}` ([`storage_names`](super::storage_names)) |
//!
//! `properties.primaryEndpoints.blob` comes from `--blob-endpoint-template` (Azurite, path style). Names are
//! unique across the subscription (409 `StorageAccountAlreadyTaken`), standing in for global uniqueness.
//!
//! Caveats: only the blob endpoint is published; keys cannot be regenerated; the swagger has no
//! `default` response, so oav flags every error answer of this kind; a failed creation (injected) ends with
//! the poll answering 409 `OperationFailed`, since `provisioningState` has no `Failed` value here.

use serde_json::{json, Value};

use super::{default, existing_at, name_rule, object};
use crate::arm::crud::{normalize_location, timestamp};
use crate::arm::error::ArmError;
use crate::arm::kind::{
    ActionCall, ActionReply, DeleteStyle, Env, KindInfo, ListFilter, ListRoute, PatchStyle, PutStyle, ResourceKind,
    Target,
};
use crate::arm::validate::{check, JsonType, Rule};
use crate::state::{Resource, Store};

/// The storage account kind.
pub struct StorageAccounts;

static INFO: KindInfo = KindInfo {
    name: "storageAccounts",
    resource_type: "Microsoft.Storage/storageAccounts",
    api_versions: &["2023-05-01"],
    item: "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Storage/storageAccounts/{accountName}",
    lists: &[
        ListRoute {
            pattern: "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Storage/storageAccounts",
            filter: ListFilter::Children,
        },
        ListRoute {
            pattern: "/subscriptions/{subscriptionId}/providers/Microsoft.Storage/storageAccounts",
            filter: ListFilter::Subscription,
        },
    ],
    put: PutStyle::LocationOnCreate,
    patch: PatchStyle::Sync,
    delete: DeleteStyle::Sync { body: false },
    head: false,
    provisioning_state: true,
    nested_delete_blocked: false,
    actions: &["listKeys"],
};

const SKUS: &[&str] = &[
    "Standard_LRS",
    "Standard_GRS",
    "Standard_RAGRS",
    "Standard_ZRS",
    "Premium_LRS",
    "Premium_ZRS",
    "Standard_GZRS",
    "Standard_RAGZRS",
];

const RULES: &[Rule] = &[
    Rule::Required("sku"),
    Rule::Required("sku.name"),
    Rule::Enum("sku.name", SKUS),
    Rule::Required("kind"),
    Rule::Enum("kind", &["Storage", "StorageV2", "BlobStorage", "FileStorage", "BlockBlobStorage"]),
    Rule::Required("location"),
    Rule::Type("tags", JsonType::Object),
    Rule::Required("identity?.type"),
    Rule::Enum("identity.type", &["None", "SystemAssigned", "UserAssigned", "SystemAssigned,UserAssigned"]),
    Rule::Type("properties", JsonType::Object),
    Rule::Enum("properties.allowedCopyScope", &["PrivateLink", "AAD"]),
    Rule::Enum("properties.publicNetworkAccess", &["Enabled", "Disabled", "SecuredByPerimeter"]),
    Rule::Required("properties?.sasPolicy?.sasExpirationPeriod"),
    Rule::Required("properties?.sasPolicy?.expirationAction"),
    Rule::Enum("properties.sasPolicy.expirationAction", &["Log", "Block"]),
    Rule::Required("properties?.keyPolicy?.keyExpirationPeriodInDays"),
    Rule::Required("properties?.customDomain?.name"),
    Rule::Enum("properties.encryption.keySource", &["Microsoft.Storage", "Microsoft.Keyvault"]),
    Rule::Required("properties?.networkAcls?.defaultAction"),
    Rule::Enum("properties.networkAcls.defaultAction", &["Allow", "Deny"]),
    Rule::Enum("properties.accessTier", &["Hot", "Cool", "Premium", "Cold"]),
    Rule::Required("properties?.azureFilesIdentityBasedAuthentication?.directoryServiceOptions"),
    Rule::Enum("properties.largeFileSharesState", &["Disabled", "Enabled"]),
    Rule::Enum("properties.routingPreference.routingChoice", &["MicrosoftRouting", "InternetRouting"]),
    Rule::Enum("properties.minimumTlsVersion", &["TLS1_0", "TLS1_1", "TLS1_2", "TLS1_3"]),
    Rule::Enum("properties.dnsEndpointType", &["Standard", "AzureDnsZone"]),
    Rule::Type("properties.supportsHttpsTrafficOnly", JsonType::Boolean),
    Rule::Type("properties.allowBlobPublicAccess", JsonType::Boolean),
    Rule::Type("properties.allowSharedKeyAccess", JsonType::Boolean),
    Rule::Type("properties.isHnsEnabled", JsonType::Boolean),
];

impl ResourceKind for StorageAccounts {
    fn info(&self) -> &'static KindInfo {
        &INFO
    }

    /// 3-24 lower-case letters and digits (swagger pattern `^[a-z0-9]+$`).
    fn validate_name(&self, name: &str) -> Result<(), ArmError> {
        let ok = (3..=24).contains(&name.len()) && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        name_rule(ok, "AccountNameInvalid", || {
            format!("{name} is not a valid storage account name. Storage account name must be between 3 and 24 characters in length and use numbers and lower-case letters only.")
        })
    }

    fn validate(&self, body: &mut Value) -> Result<(), ArmError> {
        check(body, RULES)
    }

    fn check(
        &self,
        target: &Target,
        _body: &Value,
        _existing: Option<&Resource>,
        store: &Store,
    ) -> Result<(), ArmError> {
        let taken = store.resources().any(|r| {
            r.kind == INFO.name
                && !r.id.eq_ignore_ascii_case(&target.id)
                && r.id.rsplit('/').next() == Some(&target.name)
        });
        if taken {
            return Err(ArmError::conflict(
                "StorageAccountAlreadyTaken",
                format!("The storage account named {} is already taken.", target.name),
            ));
        }
        Ok(())
    }

    /// `listKeys`: the account's two keys, `key1` the blob service's.
    fn action(&self, call: &ActionCall<'_>, resource: &Resource, _store: &mut Store) -> Result<ActionReply, ArmError> {
        if call.name != "listKeys" {
            return Err(ArmError::MethodNotAllowed(format!("POST {}", call.name)));
        }
        let created = |key: &str| resource.body["properties"]["keyCreationTime"][key].clone();
        let second =
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, format!("{}-key2", resource.id));
        let keys = json!({"keys": [
            {"keyName": "key1", "value": crate::azurite::ACCOUNT_KEY, "permissions": "Full", "creationTime": created("key1")},
            {"keyName": "key2", "value": second, "permissions": "Full", "creationTime": created("key2")},
        ]});
        Ok(ActionReply::Done { status: axum::http::StatusCode::OK, body: Some(keys) })
    }

    fn build(&self, target: &Target, env: &Env<'_>, mut body: Value, existing: Option<&Resource>) -> Value {
        let now = timestamp(env.now);
        let since = |path: &str| existing_at(existing, path).cloned().unwrap_or_else(|| json!(now));
        let sku_name = body["sku"]["name"].as_str().unwrap_or("Standard_LRS").to_string();
        let tier = if sku_name.starts_with("Premium") { "Premium" } else { "Standard" };
        object(&mut body, "sku").insert("tier".into(), json!(tier));
        let kind = body["kind"].as_str().unwrap_or("StorageV2").to_string();
        let location = normalize_location(body["location"].as_str().unwrap_or_default());
        if body["identity"]["type"].as_str().is_some_and(|t| t.contains("SystemAssigned")) {
            let identity = object(&mut body, "identity");
            let principal = existing_at(existing, "identity.principalId")
                .cloned()
                .unwrap_or_else(|| json!(uuid::Uuid::new_v4().to_string()));
            identity.insert("principalId".into(), principal);
            identity.insert("tenantId".into(), json!(env.config.tenant_id));
        }
        let creation_time = since("properties.creationTime");
        let key_time = since("properties.keyCreationTime.key1");
        let blob_time = since("properties.encryption.services.blob.lastEnabledTime");
        let props = object(&mut body, "properties");
        props.insert("creationTime".into(), creation_time);
        props.insert("keyCreationTime".into(), json!({ "key1": key_time, "key2": key_time }));
        props.insert(
            "primaryEndpoints".into(),
            json!({ "blob": env.config.blob_endpoint_template.replace("{account}", &target.name) }),
        );
        props.insert("primaryLocation".into(), json!(location));
        props.insert("statusOfPrimary".into(), json!("available"));
        default(props, "supportsHttpsTrafficOnly", json!(true));
        default(props, "allowBlobPublicAccess", json!(false));
        default(props, "minimumTlsVersion", json!("TLS1_2"));
        if matches!(kind.as_str(), "StorageV2" | "BlobStorage") {
            default(props, "accessTier", json!("Hot"));
        }
        default(
            props,
            "networkAcls",
            json!({ "bypass": "AzureServices", "virtualNetworkRules": [], "ipRules": [], "defaultAction": "Allow" }),
        );
        let encryption = props.entry("encryption").or_insert_with(|| json!({ "keySource": "Microsoft.Storage" }));
        let services = object(encryption, "services");
        default(services, "blob", json!({ "keyType": "Account", "enabled": true }));
        if let Some(blob) = services.get_mut("blob").and_then(Value::as_object_mut) {
            blob.insert("lastEnabledTime".into(), blob_time);
        }
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(StorageAccounts.validate_name("agentpoolsa01").is_ok());
        for bad in ["ab", "Agentpool", "agent-pool", &"a".repeat(25)] {
            assert_eq!(StorageAccounts.validate_name(bad).unwrap_err().code(), "AccountNameInvalid");
        }
    }

    #[test]
    fn body_rules() {
        let mut ok = json!({"sku": {"name": "standard_lrs"}, "kind": "StorageV2", "location": "westeurope"});
        StorageAccounts.validate(&mut ok).unwrap();
        assert_eq!(ok["sku"]["name"], "Standard_LRS");
        let mut no_sku = json!({"kind": "StorageV2", "location": "westeurope"});
        assert_eq!(StorageAccounts.validate(&mut no_sku), Err(ArmError::MissingRequiredProperty("sku".into())));
        let mut bad_kind = json!({"sku": {"name": "Standard_LRS"}, "kind": "V3", "location": "x"});
        assert_eq!(StorageAccounts.validate(&mut bad_kind).unwrap_err().code(), "InvalidRequestContent");
    }
}
