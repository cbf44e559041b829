//! The Image Builder identity's least-privilege role end to end: `up --scope all` builds an image
//! under the custom role agentpool defines (not Contributor); the same role without the version
//! write makes the next build fail with Image Builder's message; a re-run of `up` puts the role's
//! actions back in place and builds again.

mod local_azure;
mod support;
mod traffic;

use local_azure::{local_azure, Session};
use serde_json::Value;

const ROLE_API: &str = "2022-04-01";
const VERSION_WRITE: &str = "Microsoft.Compute/galleries/images/versions/write";

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// An authenticated GET of `path_and_query` on the emulator's Resource Manager, as JSON.
fn arm_read(session: &Session, path_and_query: &str) -> Value {
    session
        .http()
        .get(format!("{}{path_and_query}", session.ready.arm_endpoint))
        .bearer_auth(session.token("https://management.azure.com/.default"))
        .send()
        .and_then(|r| r.json())
        .unwrap_or_else(|e| panic!("GET {path_and_query}: {e}"))
}

/// The image resource group's role definitions of type CustomRole.
fn custom_roles(session: &Session, group_id: &str) -> Vec<Value> {
    let path = format!(
        "{group_id}/providers/Microsoft.Authorization/roleDefinitions?api-version={ROLE_API}&$filter=type%20eq%20'CustomRole'"
    );
    arm_read(session, &path)["value"].as_array().cloned().unwrap_or_default()
}

/// PUT of a role definition as an administrator would change it by hand; the status.
fn put_role(session: &Session, id: &str, body: &Value) -> u16 {
    let url = format!("{}{id}?api-version={ROLE_API}", session.ready.arm_endpoint);
    session
        .http()
        .put(url)
        .bearer_auth(session.token("https://management.azure.com/.default"))
        .json(body)
        .send()
        .expect("role definition PUT")
        .status()
        .as_u16()
}

fn versions(session: &Session) -> usize {
    let id = format!(
        "/subscriptions/{}/resourceGroups/rg-agents-sbx/providers/Microsoft.Compute/galleries/gal_agents_sbx/images/ubuntu-2204-agent/versions",
        session.ready.subscription_id
    );
    let list = session.arm_get(&id, "2024-03-03").expect("versions list");
    list["value"].as_array().map_or(0, Vec::len)
}

#[test]
fn least_privilege_builds_and_a_role_without_version_write_fails_the_build_with_image_builders_message() {
    let session = local_azure().session("roles-least-privilege", |_| {});
    let up = ["up", "--scope", "all", "-e", "sbx", "--os", "linux", "--poll-seconds", "0.2"];
    let first = session.agentpool(&up);
    assert!(first.status.success(), "{}", stderr(&first));
    assert_eq!(versions(&session), 1);

    // The identity holds agentpool's custom role on the image resource group, not Contributor.
    let group_id = format!("/subscriptions/{}/resourceGroups/rg-agents-sbx", session.ready.subscription_id);
    let roles = custom_roles(&session, &group_id);
    assert_eq!(roles.len(), 1, "{roles:#?}");
    let role = &roles[0];
    let role_name = role["properties"]["roleName"].as_str().expect("roleName").to_owned();
    assert!(role_name.starts_with("agentpool Image Builder (rg-agents-sbx, "), "{role_name}");
    assert_eq!(role["properties"]["assignableScopes"], serde_json::json!([group_id]));
    let assignments = arm_read(
        &session,
        &format!(
            "{group_id}/providers/Microsoft.Authorization/roleAssignments?api-version={ROLE_API}&$filter=atScope()"
        ),
    );
    let role_guid = role["name"].as_str().expect("role guid");
    let on_group: Vec<&str> = assignments["value"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["properties"]["scope"].as_str().is_some_and(|s| s.eq_ignore_ascii_case(&group_id)))
        .filter_map(|a| a["properties"]["roleDefinitionId"].as_str())
        .collect();
    assert!(on_group.iter().any(|id| id.ends_with(role_guid)), "{on_group:?}");
    assert!(
        !on_group.iter().any(|id| id.ends_with("b24988ac-6180-42a0-ab88-20f7382dd24c")),
        "Contributor is not assigned with leastPrivilege: {on_group:?}"
    );

    // An administrator takes the version write away: the next build fails as Image Builder fails.
    let mut narrowed = serde_json::json!({ "properties": role["properties"].clone() });
    for read_only in ["createdOn", "updatedOn", "createdBy", "updatedBy"] {
        narrowed["properties"].as_object_mut().expect("properties").remove(read_only);
    }
    let actions = narrowed["properties"]["permissions"][0]["actions"].as_array_mut().expect("actions");
    let before = actions.len();
    actions.retain(|a| a != VERSION_WRITE);
    assert_eq!(actions.len(), before - 1, "the role grants {VERSION_WRITE}");
    let role_id = format!("{group_id}/providers/Microsoft.Authorization/roleDefinitions/{role_guid}");
    assert_eq!(put_role(&session, &role_id, &narrowed), 201);
    std::thread::sleep(std::time::Duration::from_millis(1100)); // a new date-based version
    let build = ["image", "build", "-e", "sbx", "--os", "linux", "--wait", "--poll-seconds", "0.2"];
    let failed = session.agentpool(&build);
    let text = stderr(&failed);
    assert_eq!(failed.status.code(), Some(1), "{text}");
    assert!(text.contains(&format!("does not have authorization to perform action '{VERSION_WRITE}'")), "{text}");
    assert_eq!(versions(&session), 1, "no version without the right to write one");

    // A re-run of up converges the role back in place (an update, not a new role) and builds.
    let plan = session.agentpool(&["plan", "--scope", "infra", "-e", "sbx", "--os", "linux"]);
    let plan_text = format!("{}{}", String::from_utf8_lossy(&plan.stdout), stderr(&plan));
    assert!(plan.status.success(), "{plan_text}");
    let role_line = plan_text.lines().find(|l| l.contains(&role_name)).unwrap_or_default();
    assert!(role_line.trim_start().starts_with('~'), "the role is updated in place:\n{plan_text}");
    let again = session.agentpool(&up);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(custom_roles(&session, &group_id).len(), 1);
    assert_eq!(versions(&session), 2);
    traffic::validate(&session);
}

#[test]
fn contributor_choice_assigns_the_built_in_role_and_defines_none() {
    let session = local_azure().session("roles-contributor", |_| {});
    let workspace = local_azure::workspace();
    let example = workspace.join("yaml-templates/parameters/sbx.parameters.linux.json");
    let mut document: Value = serde_json::from_slice(&std::fs::read(example).expect("example")).expect("JSON");
    document["parameters"]["imageBuilderRole"] = serde_json::json!({ "value": "contributor" });
    document["parameters"]["scriptsDirectory"] =
        serde_json::json!({ "value": workspace.join("yaml-templates/scripts") });
    let file = session.dir.join("sbx.parameters.linux.json");
    std::fs::write(&file, serde_json::to_vec_pretty(&document).expect("JSON")).expect("parameter file");
    let output = session.agentpool(&["up", "--scope", "infra", "--parameters", file.to_str().expect("UTF-8")]);
    assert!(output.status.success(), "{}", stderr(&output));
    let group_id = format!("/subscriptions/{}/resourceGroups/rg-agents-sbx", session.ready.subscription_id);
    assert!(custom_roles(&session, &group_id).is_empty(), "no custom role with imageBuilderRole contributor");
    traffic::validate(&session);
}
