//! `Microsoft.VirtualMachineImages/imageTemplates` (Azure VM Image Builder), api-version 2024-02-01
//! (`imagebuilder.json`), and its read-only `runOutputs`.
//!
//! | operation | answers |
//! |---|---|
//! | PUT (CreateOrUpdate, LRO) | 201 `Creating` + `Azure-AsyncOperation`; 200 `Updating` for the same template again; 400 body checks ([`body`]); 409 `InvalidUpdate` for a changed template (immutable: delete and recreate) |
//! | GET | 200 / 404 |
//! | PATCH (Update, LRO) | 200 `Updating` + `Azure-AsyncOperation` when only `tags` change; 409 `InvalidUpdate` otherwise |
//! | DELETE (LRO) | 202 + `Azure-AsyncOperation` + `Location`, removes the staging resource group; 204 when missing; 409 `Conflict` while a build runs or cancels |
//! | LIST by group, by subscription | 200 `{"value"}` |
//! | POST `run` (LRO) | 202 + `Azure-AsyncOperation` + `Location`; 409 `Conflict` while a build runs or when the template did not provision |
//! | POST `cancel` (LRO) | 202 + `Azure-AsyncOperation` + `Location`; 409 `Conflict` when no build runs |
//! | GET `runOutputs`, `runOutputs/{name}` | 200 `{"value"}` / 200, 404 |
//!
//! Creation checks (at the end of the PUT's operation, [`access`]): the identity needs a role on the
//! resource group (or subscription, or gallery) of each `SharedImage` gallery, and a blob data role on each
//! emulated storage account a `scriptUri`/`sourceUri` reads; otherwise the template is stored but
//! provisioning ends `Failed` with `provisioningError` (`BadSharedImageDistribute` / `Other`) and the
//! operation fails with the same message. A provisioned template gets its staging resource group
//! `IT_<group>_<template>_<guid>` (tagged `createdBy: AzureVMImageBuilder`, `imageTemplateName`,
//! `imageTemplateResourceGroupName`, plus `managedResourceTags`) holding a storage account whose blob
//! endpoint is the blob service's `--staging-account`, with a `packerlogs` container.
//!
//! A build ([`run`]) walks `lastRunStatus` through its phases, reads the scripts, writes
//! `packerlogs/<run guid>/customization.log` progressively, creates the gallery image versions and the run
//! outputs; [`settings`] describes the durations and the failures tests can ask for. The log is also served
//! by `GET /_emulator/logs/{template}`.
//!
//! Caveats: no triggers; `ManagedImage` and `VHD` distributions create no resource (their run output names
//! the target); `autoRun` is ignored; `buildTimeoutInMinutes` is only checked for range (time out on purpose
//! with the `timeout` failure mode); platform image sources are not checked to exist.

pub mod access;
mod background;
pub mod body;
pub mod run;
pub mod settings;

use serde_json::{json, Value};

use self::run::{Context, Private, Run, Staging, Work, LOG_CONTAINER};
use self::settings::{Failure, Phase, PhaseMs, FAIL_TAG, PHASES_TAG};
use super::blob_containers::BlobContainers;
use super::storage_accounts::StorageAccounts;
use super::{existing_at, object};
use crate::arm::crud::finish;
use crate::arm::error::ArmError;
use crate::arm::kind::{
    subscription_and_group, ActionCall, ActionReply, Background, DeleteStyle, Env, KindInfo, ListFilter, ListRoute,
    PatchStyle, PutStyle, ResourceKind, Target,
};
use crate::arm::lro::{self, set_provisioning_state};
use crate::arm::path::is_within;
use crate::state::{OpAction, OpStatus, Operation, Resource, Store};

/// The image template kind.
pub struct ImageTemplates;

/// The run output kind (read-only, made by builds).
pub struct RunOutputs;

static INFO: KindInfo = KindInfo {
    name: "imageTemplates",
    resource_type: "Microsoft.VirtualMachineImages/imageTemplates",
    api_versions: &["2024-02-01"],
    item: "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.VirtualMachineImages/imageTemplates/{imageTemplateName}",
    lists: &[
        ListRoute {
            pattern: "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.VirtualMachineImages/imageTemplates",
            filter: ListFilter::Children,
        },
        ListRoute {
            pattern: "/subscriptions/{subscriptionId}/providers/Microsoft.VirtualMachineImages/imageTemplates",
            filter: ListFilter::Subscription,
        },
    ],
    put: PutStyle::AsyncOperation,
    patch: PatchStyle::AsyncOperation,
    delete: DeleteStyle::AsyncOperation,
    head: false,
    provisioning_state: true,
    nested_delete_blocked: false,
    actions: &["run", "cancel"],
};

static RUN_OUTPUTS: KindInfo = KindInfo {
    name: "imageTemplateRunOutputs",
    resource_type: "Microsoft.VirtualMachineImages/imageTemplates/runOutputs",
    api_versions: &["2024-02-01"],
    item: "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.VirtualMachineImages/imageTemplates/{imageTemplateName}/runOutputs/{runOutputName}",
    lists: &[ListRoute {
        pattern: "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.VirtualMachineImages/imageTemplates/{imageTemplateName}/runOutputs",
        filter: ListFilter::Children,
    }],
    put: PutStyle::Unsupported,
    patch: PatchStyle::Unsupported,
    delete: DeleteStyle::Unsupported,
    head: false,
    provisioning_state: false,
    nested_delete_blocked: false,
    actions: &[],
};

/// Tags Image Builder puts on the staging resource group.
const CREATED_BY: &str = "AzureVMImageBuilder";

fn name_of(id: &str) -> &str {
    id.rsplit('/').next().unwrap_or_default()
}

fn invalid_update(name: &str) -> ArmError {
    ArmError::conflict(
        "InvalidUpdate",
        format!("Image template update is not supported; delete and recreate the image template '{name}' to change it (only tags can be updated)."),
    )
}

/// `IT_<group>_<template>_<guid>`, the group and template shortened to keep the name within 90 characters.
pub fn staging_group_name(group: &str, template: &str, guid: &str) -> String {
    let room = 90 - "IT___".len() - guid.len();
    let (mut g, mut t): (String, String) = (group.to_string(), template.to_string());
    while g.chars().count() + t.chars().count() > room {
        if g.chars().count() >= t.chars().count() {
            g.pop();
        } else {
            t.pop();
        }
    }
    format!("IT_{g}_{t}_{guid}")
}

/// The build failure asked for: the template's `emulator.fail` tag, else the first `--aib-fail`.
fn planned_failure(env: &Env<'_>, template: &Value) -> Result<Option<Failure>, ArmError> {
    match template["tags"][FAIL_TAG].as_str() {
        Some(tag) => Failure::parse(tag).map(Some).map_err(|e| {
            ArmError::bad_request("InvalidTemplateTag", format!("The tag '{FAIL_TAG}' of the image template: {e}"))
        }),
        None => Ok(env.config.aib_fail.first().cloned()),
    }
}

/// The phase durations of a build: `--aib-phase-ms`, then the template's `emulator.phases` tag
/// (`<phase>=<ms>,…`), which wins.
fn planned_phases(env: &Env<'_>, template: &Value) -> Result<Vec<PhaseMs>, ArmError> {
    let mut settings = env.config.aib_phase_ms.clone();
    if let Some(tag) = template["tags"][PHASES_TAG].as_str() {
        for item in tag.split(',').filter(|i| !i.trim().is_empty()) {
            settings.push(PhaseMs::parse(item).map_err(|e| {
                ArmError::bad_request(
                    "InvalidTemplateTag",
                    format!("The tag '{PHASES_TAG}' of the image template: {e}"),
                )
            })?);
        }
    }
    Ok(settings)
}

fn validates(template: &Value) -> bool {
    template.pointer("/properties/validate/inVMValidations").and_then(Value::as_array).is_some_and(|l| !l.is_empty())
        || template.pointer("/properties/validate/sourceValidationOnly").and_then(Value::as_bool) == Some(true)
}

/// The build of `template_id`, if one is active.
fn active_run(store: &Store, template_id: &str) -> Option<Run> {
    Private::load(store, template_id).run.filter(Run::active)
}

fn set_last_run_status(store: &mut Store, template_id: &str, status: Value) {
    let current = store.get(template_id).and_then(|r| r.body.pointer("/properties/lastRunStatus").cloned());
    if current.as_ref() != Some(&status) {
        if let Some(r) = store.get_mut(template_id) {
            object(&mut r.body, "properties").insert("lastRunStatus".into(), status);
        }
    }
}

/// Advances the build of `template_id` to `env.now` and reports it: `lastRunStatus`, the operation's due
/// time, and at its end the run outputs and the operation's outcome.
fn step(env: &Env<'_>, store: &mut Store, template_id: &str) {
    let now = env.now_ms();
    let Some(template) = store.get(template_id).cloned() else { return };
    let mut private = Private::load(store, template_id);
    let Some(mut run) = private.run.take() else { return };
    if run.active() {
        let ctx = Context { template_id, template: &template.body, staging: private.staging.as_ref() };
        run::advance(&mut run, &ctx, store, &env.config.staging_account, now);
    }
    set_last_run_status(store, template_id, run.last_run_status());
    if let Some(op_id) = run.op_id.clone() {
        match &run.outcome {
            None => {
                let due = now + run.remaining_ms(now).max(2 * env.config.tick_ms as i64);
                if store.operation(&op_id).is_some_and(|op| op.due_ms != due && !op.status.is_terminal()) {
                    if let Some(op) = store.operation_mut(&op_id) {
                        op.due_ms = due;
                    }
                }
            }
            Some(outcome) if store.operation(&op_id).is_some_and(|op| !op.status.is_terminal()) => {
                write_run_outputs(store, template_id, &run);
                let (status, error) = match outcome.state.as_str() {
                    "Succeeded" => (OpStatus::Succeeded, None),
                    "Canceled" => (
                        OpStatus::Canceled,
                        Some(json!({"code": "OperationCanceled", "message": "The build was canceled."})),
                    ),
                    "PartiallySucceeded" => (
                        OpStatus::Failed,
                        Some(json!({"code": "ImageTemplateBuildPartiallySucceeded", "message": outcome.message})),
                    ),
                    _ => (
                        OpStatus::Failed,
                        Some(json!({"code": "ImageTemplateBuildFailed", "message": outcome.message})),
                    ),
                };
                lro::end(store, &op_id, status, error, None, now);
            }
            Some(_) => {}
        }
    }
    private.run = Some(run);
    private.save(store, template_id);
}

fn write_run_outputs(store: &mut Store, template_id: &str, run: &Run) {
    let Work::Done(results) = &run.distribute else { return };
    for d in results {
        let id = format!("{template_id}/runOutputs/{}", d.run_output_name);
        let mut properties = json!({ "provisioningState": if d.error.is_none() { "Succeeded" } else { "Failed" } });
        if d.error.is_none() {
            if let Some(artifact) = &d.artifact_id {
                properties["artifactId"] = json!(artifact);
            }
            if let Some(uri) = &d.artifact_uri {
                properties["artifactUri"] = json!(uri);
            }
        }
        let body =
            json!({ "id": id, "name": d.run_output_name, "type": RUN_OUTPUTS.resource_type, "properties": properties });
        store.insert(Resource { kind: RUN_OUTPUTS.name.into(), id, body });
    }
}

/// A resource of another kind made by Image Builder (staging group content), as its kind would store it.
fn internal_resource(kind: &'static dyn ResourceKind, env: &Env<'_>, id: &str, body: Value) -> Resource {
    let (subscription, resource_group) = subscription_and_group(id);
    let target = Target {
        kind,
        id: id.to_string(),
        name: name_of(id).to_string(),
        subscription,
        resource_group,
        captures: Default::default(),
    };
    let info = kind.info();
    let mut built = finish(&target, info, kind.build(&target, env, body, None));
    if info.provisioning_state {
        set_provisioning_state(&mut built, "Succeeded");
    }
    Resource { kind: info.name.into(), id: id.to_string(), body: built }
}

/// Makes the staging resource group, its storage account and `packerlogs` container if missing.
fn ensure_staging(env: &Env<'_>, store: &mut Store, template: &Resource) {
    let mut private = Private::load(store, &template.id);
    let Some(group_id) = template.body.pointer("/properties/exactStagingResourceGroup").and_then(Value::as_str) else {
        return;
    };
    if private.staging.as_ref().is_some_and(|s| store.get(&s.account_id).is_some()) {
        return;
    }
    let (_, template_group) = subscription_and_group(&template.id);
    let location = template.body["location"].clone();
    let mut tags = json!({
        "createdBy": CREATED_BY,
        "imageTemplateName": name_of(&template.id),
        "imageTemplateResourceGroupName": template_group.unwrap_or_default(),
    });
    if let Some(extra) = template.body.pointer("/properties/managedResourceTags").and_then(Value::as_object) {
        for (k, v) in extra {
            tags[k] = v.clone();
        }
    }
    let created = store.get(group_id).is_none();
    if created {
        let body = json!({
            "id": group_id, "name": name_of(group_id), "type": "Microsoft.Resources/resourceGroups",
            "location": location, "tags": tags, "properties": {"provisioningState": "Succeeded"}
        });
        store.insert(Resource { kind: "resourceGroups".into(), id: group_id.to_string(), body });
    }
    let account: String = uuid::Uuid::new_v4().simple().to_string().chars().take(24).collect();
    let account_id = format!("{group_id}/providers/Microsoft.Storage/storageAccounts/{account}");
    let mut account_resource = internal_resource(
        &StorageAccounts,
        env,
        &account_id,
        json!({"sku": {"name": "Standard_LRS"}, "kind": "StorageV2", "location": location, "tags": tags}),
    );
    let endpoint = env.config.blob_endpoint_template.replace("{account}", &env.config.staging_account);
    account_resource.body["properties"]["primaryEndpoints"]["blob"] = json!(endpoint);
    store.insert(account_resource);
    let container_id = format!("{account_id}/blobServices/default/containers/{LOG_CONTAINER}");
    store.insert(internal_resource(&BlobContainers, env, &container_id, json!({})));
    private.staging = Some(Staging {
        resource_group_id: group_id.to_string(),
        created,
        account_id,
        blob_endpoint: endpoint,
        container_ready: false,
    });
    private.save(store, &template.id);
}

/// Records a provisioning problem on the template (`provisioningError`), or clears an old one.
fn set_provisioning_error(store: &mut Store, template_id: &str, problem: Option<&(&'static str, String)>) {
    let Some(r) = store.get(template_id) else { return };
    let current = r.body.pointer("/properties/provisioningError").cloned();
    let wanted = problem.map(|(code, message)| access::provisioning_error(code, message));
    if current == wanted {
        return;
    }
    if let Some(r) = store.get_mut(template_id) {
        let props = object(&mut r.body, "properties");
        match wanted {
            Some(error) => props.insert("provisioningError".into(), error),
            None => props.remove("provisioningError"),
        };
    }
}

impl ResourceKind for ImageTemplates {
    fn info(&self) -> &'static KindInfo {
        &INFO
    }

    /// 1-64 letters, digits, `-`, `_` and `.` (swagger pattern `^[A-Za-z0-9-_.]{1,64}$`).
    fn validate_name(&self, name: &str) -> Result<(), ArmError> {
        if (1..=64).contains(&name.len()) && super::chars_ok(name, &['-', '_', '.']) {
            Ok(())
        } else {
            Err(ArmError::bad_request(
                "InvalidResourceName",
                format!("The image template name '{name}' is invalid: it must match '^[A-Za-z0-9-_.]{{1,64}}$'."),
            ))
        }
    }

    fn validate(&self, body: &mut Value) -> Result<(), ArmError> {
        body::check(body)?;
        body::normalize(body);
        Ok(())
    }

    fn check(&self, target: &Target, body: &Value, existing: Option<&Resource>, store: &Store) -> Result<(), ArmError> {
        let identity = access::identity_id(body).unwrap_or_default();
        if store.get(&identity).is_none_or(|r| r.kind != "userAssignedIdentities") {
            return Err(ArmError::InvalidRequestContent {
                message: format!(
                    "The user-assigned identity '{identity}' of 'identity.userAssignedIdentities' was not found."
                ),
                target: Some("identity.userAssignedIdentities".into()),
            });
        }
        if let Some(existing) = existing {
            if body::immutable_part(body) != body::immutable_part(&existing.body) {
                return Err(invalid_update(&target.name));
            }
        }
        Ok(())
    }

    fn check_put(&self, target: &Target, body: &Value, existing: &Resource, _store: &Store) -> Result<(), ArmError> {
        let tags = |v: &Value| v.get("tags").filter(|t| !t.is_null()).cloned().unwrap_or_else(|| json!({}));
        if tags(body) != tags(&existing.body) {
            return Err(invalid_update(&target.name));
        }
        Ok(())
    }

    fn check_delete(&self, target: &Target, existing: &Resource, store: &Store) -> Result<(), ArmError> {
        match active_run(store, &existing.id) {
            Some(run) => Err(ArmError::conflict(
                "Conflict",
                format!(
                    "Cannot delete image template '{}' while a build is running (runState '{}'). Cancel the build and wait for it to end, then delete the template.",
                    target.name,
                    run.run_state()
                ),
            )),
            None => Ok(()),
        }
    }

    fn build(&self, target: &Target, _env: &Env<'_>, mut body: Value, existing: Option<&Resource>) -> Value {
        if let Some(map) = body.as_object_mut() {
            map.retain(|k, _| matches!(k.as_str(), "location" | "tags" | "identity" | "properties"));
        }
        let staging = existing_at(existing, "properties.exactStagingResourceGroup").cloned().unwrap_or_else(|| {
            let given = body.pointer("/properties/stagingResourceGroup").and_then(Value::as_str).unwrap_or_default();
            if given.is_empty() {
                let group = target.resource_group.clone().unwrap_or_default();
                let name = staging_group_name(&group, &target.name, &uuid::Uuid::new_v4().to_string());
                json!(format!("/subscriptions/{}/resourceGroups/{name}", target.subscription))
            } else {
                json!(given)
            }
        });
        let props = object(&mut body, "properties");
        for key in body::READ_ONLY {
            props.remove(*key);
        }
        props.insert("exactStagingResourceGroup".into(), staging);
        for key in ["lastRunStatus", "provisioningError"] {
            if let Some(v) = existing_at(existing, &format!("properties.{key}")) {
                props.insert(key.into(), v.clone());
            }
        }
        body
    }

    fn resolve(&self, _target: &Target, built: &mut Value, store: &Store) {
        let Some(ids) = built.pointer_mut("/identity/userAssignedIdentities").and_then(Value::as_object_mut) else {
            return;
        };
        for (id, details) in ids.iter_mut() {
            if let Some(identity) = store.get(id) {
                let p = &identity.body["properties"];
                *details = json!({ "principalId": p["principalId"], "clientId": p["clientId"] });
            }
        }
    }

    fn action(&self, call: &ActionCall<'_>, resource: &Resource, store: &mut Store) -> Result<ActionReply, ArmError> {
        let now = call.env.now_ms();
        let id = &resource.id;
        let name = &call.target.name;
        match call.name {
            "run" => {
                let state = resource.body.pointer("/properties/provisioningState").and_then(Value::as_str);
                if state != Some("Succeeded") {
                    return Err(ArmError::conflict(
                        "Conflict",
                        format!(
                            "Image template '{name}' is in provisioning state '{}'; only a template that provisioned successfully can be built.",
                            state.unwrap_or_default()
                        ),
                    ));
                }
                if let Some(run) = active_run(store, id) {
                    return Err(ArmError::conflict(
                        "Conflict",
                        format!(
                            "A build of image template '{name}' is already in progress (runState '{}').",
                            run.run_state()
                        ),
                    ));
                }
                let failure = planned_failure(call.env, &resource.body)?;
                let planned = planned_phases(call.env, &resource.body)?;
                let phases = settings::durations(&planned, &Phase::of_build(validates(&resource.body)));
                let total: u64 = phases.iter().map(|p| p.1).sum();
                let mut private = Private::load(store, id);
                let mut run = Run::new(now, phases, settings::canceling_ms(&planned), failure);
                let ctx = Context { template_id: id, template: &resource.body, staging: private.staging.as_ref() };
                run::start(&mut run, &ctx, store);
                let outputs: Vec<String> = store
                    .resources()
                    .filter(|r| r.kind == RUN_OUTPUTS.name && is_within(&r.id, id))
                    .map(|r| r.id.clone())
                    .collect();
                for output in outputs {
                    store.remove_tree(&output);
                }
                set_last_run_status(store, id, run.last_run_status());
                private.run = Some(run);
                private.save(store, id);
                Ok(ActionReply::Accepted { async_operation: true, delay_ms: Some(total) })
            }
            _ => {
                let mut private = Private::load(store, id);
                let Some(run) = private.run.as_mut().filter(|r| r.active()) else {
                    return Err(ArmError::conflict(
                        "Conflict",
                        format!("No build of image template '{name}' is running; there is nothing to cancel."),
                    ));
                };
                if run.cancel_ms.is_none() {
                    run.cancel_ms = Some(now);
                    run.log.push_str("[PACKER] ==> azure-arm: Cancelling build after receiving a cancel request ...\n");
                }
                let cancel = run.cancel_ms.unwrap_or(now);
                let remaining = (cancel + run.canceling_ms as i64 - now).max(0) as u64;
                let status = run.last_run_status();
                private.save(store, id);
                set_last_run_status(store, id, status);
                Ok(ActionReply::Accepted { async_operation: true, delay_ms: Some(remaining) })
            }
        }
    }

    fn complete_action(
        &self,
        env: &Env<'_>,
        store: &mut Store,
        operation: &Operation,
        _succeeded: bool,
    ) -> Option<Value> {
        step(env, store, &operation.resource_id);
        None
    }

    fn on_progress(&self, env: &Env<'_>, store: &mut Store, operation: &Operation) {
        let id = &operation.resource_id;
        match &operation.action {
            OpAction::Create | OpAction::Update if env.now_ms() >= operation.due_ms && !operation.fail => {
                let Some(template) = store.get(id).cloned() else { return };
                let problem = access::provisioning_problem(store, &template.body);
                set_provisioning_error(store, id, problem.as_ref());
                if let Some((_, message)) = problem {
                    if let Some(op) = store.operation_mut(&operation.id) {
                        op.fail = true;
                        op.error = Some(json!({ "code": "ImageTemplateProvisioningFailed", "message": message }));
                    }
                }
            }
            OpAction::Action(name) if name == "run" => {
                let mut private = Private::load(store, id);
                match private.run.as_mut() {
                    Some(run) if run.op_id.is_none() && run.active() => {
                        run.op_id = Some(operation.id.clone());
                        if operation.fail && run.failure.is_none() {
                            run.failure = Some(Failure::Distribute(None));
                        }
                        private.save(store, id);
                    }
                    Some(run) if run.op_id.as_deref() == Some(operation.id.as_str()) => {}
                    _ => {
                        let error = json!({"code": "OperationCanceled", "message": "The build no longer exists."});
                        lro::end(store, &operation.id, OpStatus::Canceled, Some(error), None, env.now_ms());
                        return;
                    }
                }
                step(env, store, id);
            }
            OpAction::Action(_) => step(env, store, id),
            _ => {}
        }
    }

    fn on_provisioned(&self, env: &Env<'_>, store: &mut Store, resource: &Resource) {
        // The checks normally ran when the operation came due; a PUT that settled it early lands here.
        let problem = access::provisioning_problem(store, &resource.body);
        set_provisioning_error(store, &resource.id, problem.as_ref());
        if problem.is_some() {
            if let Some(r) = store.get_mut(&resource.id) {
                set_provisioning_state(&mut r.body, "Failed");
            }
            return;
        }
        if let Some(current) = store.get(&resource.id).cloned() {
            ensure_staging(env, store, &current);
        }
    }

    fn on_deleted(&self, _env: &Env<'_>, store: &mut Store, resource: &Resource) {
        let Some(group) = resource.body.pointer("/properties/exactStagingResourceGroup").and_then(Value::as_str) else {
            return;
        };
        let ours = |r: &Resource| {
            r.body["tags"]["createdBy"] == CREATED_BY
                && r.body["tags"]["imageTemplateName"]
                    .as_str()
                    .is_some_and(|n| n.eq_ignore_ascii_case(name_of(&resource.id)))
        };
        if store.get(group).is_some_and(ours) {
            store.remove_tree(group);
            return;
        }
        let made: Vec<String> = store.descendants(group).filter(|r| ours(r)).map(|r| r.id.clone()).collect();
        for id in made {
            store.remove_tree(&id);
        }
    }

    fn background(&self, app: &std::sync::Arc<crate::app::App>) -> Option<Background> {
        background::work(app)
    }
}

impl ResourceKind for RunOutputs {
    fn info(&self) -> &'static KindInfo {
        &RUN_OUTPUTS
    }

    fn validate(&self, _body: &mut Value) -> Result<(), ArmError> {
        Err(ArmError::MethodNotAllowed("PUT".into()))
    }

    fn build(&self, _target: &Target, _env: &Env<'_>, body: Value, _existing: Option<&Resource>) -> Value {
        body
    }
}

/// The log of the last build of the template named `name` (in `group`, if given): for
/// `GET /_emulator/logs/{template}`.
pub fn last_log(store: &Store, name: &str, group: Option<&str>) -> Option<String> {
    store
        .resources()
        .filter(|r| r.kind == INFO.name && name_of(&r.id).eq_ignore_ascii_case(name))
        .filter(|r| group.is_none_or(|g| subscription_and_group(&r.id).1.is_some_and(|rg| rg.eq_ignore_ascii_case(g))))
        .find_map(|r| Private::load(store, &r.id).run.map(|run| run.log))
}

#[cfg(test)]
pub(crate) mod tests_support {
    use std::path::PathBuf;

    use serde_json::Value;

    /// An example of the imagebuilder swagger (`AGENTPOOL_SPECS_DIR`, default `../shared/specs`).
    pub fn example(name: &str) -> Value {
        let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        let specs = std::env::var_os("AGENTPOOL_SPECS_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("../shared/specs"));
        let specs = if specs.is_absolute() { specs } else { workspace.join(specs) };
        let file = specs.join("azure-rest-api-specs/specification/imagebuilder/resource-manager/Microsoft.VirtualMachineImages/stable/2024-02-01/examples").join(name);
        let text = std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("{}: {e} (set AGENTPOOL_SPECS_DIR)", file.display()));
        serde_json::from_str(&text).expect("example JSON")
    }
}

#[cfg(test)]
mod tests;
