//! Azure DevOps as a second actor on the scale sets of its elastic pools, run on the server's tick
//! ([`tick`], every `--tick-ms`), outside HTTP, through the scale set API of [`crate::kinds::scale_sets`]
//! and direct edits of the scale set's ARM body.
//!
//! What it does, after Microsoft's "Azure Virtual Machine Scale Set agents" documentation
//! (MicrosoftDocs/azure-devops-docs `docs/pipelines/agents/scale-set-agents.md`: "How Azure Pipelines manages
//! the scale set", "Lifecycle of a Scale Set Agent") and the decompiled elastic pool jobs
//! (`ElasticPoolConfigurationJob`, `ElasticPoolSizingJobBase`, `NodeObserver`, see [`super::error`]):
//! - claim: the pool's creation tags the set at once ([`claim`]);
//! - configuration (every tick, acting only on drift): the pool tag if missing, `overprovision: false`,
//!   `upgradePolicy.mode: Manual`, automatic OS upgrades off, single placement group off above 100 machines
//!   (each logged as `configurationJob` with `ElasticResources`' words), the agent extension for the pool's OS,
//!   the timestamp tag refreshed when it changes something or the stamp is older than the configuration job's
//!   period (120 minutes); the pool turns `online` (`offline` with a `GetScalesetFailure` log when the set is gone);
//! - nodes ([`super::lifecycle`]): each instance is a node (`computeId` = instance id) that goes `new` →
//!   `creatingCompute` → `startingAgent` → `idle` (agent registered, `enabled, online`), one phase per
//!   `--devops-node-ms`; pending deletes, finished jobs and excess idle agents delete instances (`deleteVMs`);
//! - standby ([`standby`]): while fewer nodes are idle or coming than `desiredIdle`, capacity grows towards
//!   it, never beyond `maxCapacity`, from the set's current model (`increaseCapacity`
//!   "Increasing capacity from {n} to {m}.");
//! - release ([`release`]): a deleted pool, or one moved to another set, leaves its set at capacity 0
//!   without its tags and agent extension (`ElasticPoolService.DeleteElasticPoolAsync`).
//!
//! Every change to a scale set is also written to the journal (`GET /_emulator/devops/actions`).
//!
//! Caveats (timing is the emulator's, scaled down): Azure DevOps samples every 5 minutes and grows in steps
//! of 25% of the maximum, the emulator acts every tick and grows straight to the standby count; excess idle
//! agents go after `timeToLiveMinutes` of idleness in both; reimaging is not emulated (a recycled node's
//! instance is deleted and the standby rule makes a new one); Azure autoscale settings are not emulated.

use serde_json::Value;
use time::OffsetDateTime;

use super::lifecycle;
use super::model::{ActorAction, DevopsState, ElasticPool, IdKind, Node, Organization};
use super::render::timestamp;
use super::vmss;
use crate::app::App;
use crate::config::Config;
use crate::kinds::scale_sets;
use crate::state::Store;

/// The configuration job's period: the tag timestamp is refreshed at least this often (minutes).
pub const CONFIGURATION_PERIOD_MINUTES: i64 = 120;
/// The node states that count towards the standby count.
const READY_OR_COMING: &[&str] = &["new", "creatingCompute", "startingAgent", "idle"];

/// One tick of work on everything's elastic pools.
pub fn tick(app: &App) {
    let now = OffsetDateTime::now_utc();
    app.state.write(|store| step(store, &app.config, now));
}

/// The actor's work at `now` (tests call it with chosen times).
pub fn step(store: &mut Store, config: &Config, now: OffsetDateTime) {
    if store.devops().organizations.iter().all(|o| o.elastic_pools.is_empty()) {
        return;
    }
    let mut devops = store.devops().clone();
    let DevopsState { organizations, journal } = &mut devops;
    for org in organizations.iter_mut() {
        let pools: Vec<i64> = org.elastic_pools.iter().map(|e| e.pool_id).collect();
        for pool_id in pools {
            let mut actor = Actor { store, journal, config, now, org_name: org.name.clone() };
            actor.tend(org, pool_id);
        }
    }
    if devops != *store.devops() {
        *store.devops_mut() = devops;
        store.mark_changed();
    }
}

/// The actor's view while it works on one organization.
pub struct Actor<'a> {
    pub store: &'a mut Store,
    pub journal: &'a mut Vec<ActorAction>,
    pub config: &'a Config,
    pub now: OffsetDateTime,
    pub org_name: String,
}

impl Actor<'_> {
    /// Unix milliseconds of now.
    pub fn now_ms(&self) -> i64 {
        crate::arm::lro::now_ms(self.now)
    }

    /// Appends to the journal.
    pub fn record(&mut self, pool_id: i64, action: &str, scale_set: &str, detail: String) {
        let entry = journal_entry(self.now, &self.org_name, pool_id, action, scale_set, detail);
        super::model::push_journal(self.journal, entry);
    }

    fn tend(&mut self, org: &mut Organization, pool_id: i64) {
        let Some(elastic) = org.elastic(pool_id).cloned() else { return };
        let pool_name = org.pool(pool_id).map(|p| p.name.clone()).unwrap_or_default();
        let set_id = match vmss::read(self.store, &elastic.azure_id, &self.config.subscription_id) {
            Ok(resource) => resource.id.clone(),
            Err(e) => return self.offline(org, &elastic, &e.to_string()),
        };
        self.configure(org, &elastic, &pool_name, &set_id);
        lifecycle::sync(self, org, &elastic, &set_id);
        lifecycle::advance(self, org, &elastic);
        lifecycle::delete_due(self, org, &elastic, &set_id);
        self.standby(org, &elastic, &set_id);
    }

    fn offline(&mut self, org: &mut Organization, elastic: &ElasticPool, error: &str) {
        org.nodes.retain(|n| n.pool_id != elastic.pool_id);
        let message = format!("Failed to get scaleset from Azure with error: {error}");
        log_once(org, elastic.pool_id, "error", "configurationJob", message, self.now);
        if let Some(e) = org.elastic_mut(elastic.pool_id).filter(|e| e.state != "offline") {
            e.state = "offline".into();
            e.offline_since = Some(timestamp(self.now));
        }
    }

    fn configure(&mut self, org: &mut Organization, elastic: &ElasticPool, pool_name: &str, set_id: &str) {
        let Some(resource) = self.store.get(set_id) else { return };
        let mut body = resource.body.clone();
        let changes = vmss::enforce_settings(&mut body, elastic.max_capacity);
        let os = vmss::os_type(&body).unwrap_or(elastic.os_type.as_str()).to_string();
        let extension = vmss::install_extension(&mut body, &os);
        let tags = vmss::tags(&body);
        let stamp = tags.get(vmss::TIMESTAMP_TAG).and_then(Value::as_str).and_then(vmss::parse_tag_timestamp);
        let stale = stamp.is_none_or(|at| (self.now - at).whole_minutes() >= CONFIGURATION_PERIOD_MINUTES);
        let untagged = !tags.contains_key(vmss::POOL_TAG);
        if untagged || stale || extension || !changes.is_empty() {
            let owner = tags.get(vmss::POOL_TAG).and_then(Value::as_str).unwrap_or(pool_name).to_string();
            vmss::tag(&mut body, &owner, self.now);
        }
        if body != resource.body {
            if let Some(resource) = self.store.get_mut(set_id) {
                resource.body = body;
            }
        }
        if untagged {
            self.record(elastic.pool_id, "tag", set_id, format!("{}={pool_name}", vmss::POOL_TAG));
        }
        if extension {
            self.record(elastic.pool_id, "extension", set_id, format!("{} ({os})", vmss::EXTENSION_NAME));
        }
        for (action, message) in changes {
            self.record(elastic.pool_id, action, set_id, message.clone());
            org.log(elastic.pool_id, "info", "configurationJob", message, timestamp(self.now));
        }
        if let Some(e) = org.elastic_mut(elastic.pool_id).filter(|e| e.state != "online") {
            e.state = "online".into();
            e.offline_since = None;
        }
    }

    /// Grows the set while fewer nodes are idle or coming than the standby count.
    fn standby(&mut self, org: &mut Organization, elastic: &ElasticPool, set_id: &str) {
        let count = scale_sets::instances(self.store, set_id).len() as i64;
        let ready = org
            .nodes
            .iter()
            .filter(|n| n.pool_id == elastic.pool_id && READY_OR_COMING.contains(&n.state.as_str()))
            .count() as i64;
        if ready >= elastic.desired_idle || count >= elastic.max_capacity {
            return;
        }
        let target = elastic.max_capacity.min(count + elastic.desired_idle - ready);
        let before: Vec<String> =
            scale_sets::instances(self.store, set_id).into_iter().map(|i| i.instance_id).collect();
        match scale_sets::set_capacity(self.store, set_id, target as u64) {
            Ok(()) => {
                let message = format!("Increasing capacity from {count} to {target}.");
                org.log(elastic.pool_id, "info", "increaseCapacity", message, timestamp(self.now));
                self.record(elastic.pool_id, "setCapacity", set_id, format!("{count} -> {target}"));
                let body = self.store.get(set_id).map(|r| r.body.clone()).unwrap_or_default();
                for instance in scale_sets::instances(self.store, set_id) {
                    if !before.contains(&instance.instance_id) {
                        let node = new_node(org, elastic.pool_id, &body, &instance, self.now_ms());
                        org.nodes.push(node);
                    }
                }
                if let Some(e) = org.elastic_mut(elastic.pool_id) {
                    e.desired_size = target;
                }
            }
            Err(e) => {
                let message = format!("Failed to increase capacity with error: {e}");
                log_once(org, elastic.pool_id, "error", "increaseCapacity", message, self.now);
            }
        }
    }
}

/// A node for a new instance, named as Azure names a Uniform set's computers (`computerNamePrefix` and
/// the instance id in six base-36 digits), else by the instance's name.
pub fn new_node(
    org: &mut Organization,
    pool_id: i64,
    body: &Value,
    instance: &scale_sets::Instance,
    now_ms: i64,
) -> Node {
    let prefix = body.pointer("/properties/virtualMachineProfile/osProfile/computerNamePrefix").and_then(Value::as_str);
    let name = match (prefix, instance.instance_id.parse::<u64>()) {
        (Some(prefix), Ok(n)) => format!("{prefix}{}", base36(n)),
        _ => instance.name.clone(),
    };
    Node {
        id: org.next_id(IdKind::Node),
        pool_id,
        name,
        compute_id: instance.instance_id.clone(),
        state: "new".into(),
        state_changed_ms: now_ms,
        agent_id: None,
        agent: Default::default(),
        request_id: None,
    }
}

/// Six base-36 digits, as in Azure's computer names of Uniform sets (`000001`, `00000a`).
fn base36(mut n: u64) -> String {
    let digits = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = [b'0'; 6];
    for slot in out.iter_mut().rev() {
        *slot = digits[(n % 36) as usize];
        n /= 36;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Logs unless the pool's last entry says the same (a failure repeated every tick is logged once).
pub fn log_once(
    org: &mut Organization,
    pool_id: i64,
    level: &str,
    operation: &str,
    message: String,
    now: OffsetDateTime,
) {
    let last = org.logs.iter().rev().find(|l| l.pool_id == pool_id);
    if last.is_some_and(|l| l.message == message && l.operation == operation) {
        return;
    }
    org.log(pool_id, level, operation, message, timestamp(now));
}

fn journal_entry(now: OffsetDateTime, org: &str, pool_id: i64, action: &str, set: &str, detail: String) -> ActorAction {
    ActorAction {
        at: timestamp(now),
        organization: org.to_string(),
        pool_id,
        action: action.to_string(),
        scale_set: set.to_string(),
        detail,
    }
}

/// A new pool tags its scale set at once (`ElasticPoolService.TagElasticPoolAsync`).
pub fn claim(store: &mut Store, org: &str, elastic: &ElasticPool, pool_name: &str, now: OffsetDateTime) {
    let Some(resource) = store.get(&elastic.azure_id) else { return };
    let id = resource.id.clone();
    let mut body = resource.body.clone();
    vmss::tag(&mut body, pool_name, now);
    if let Some(resource) = store.get_mut(&id) {
        resource.body = body;
    }
    let entry = journal_entry(now, org, elastic.pool_id, "tag", &id, format!("{}={pool_name}", vmss::POOL_TAG));
    store.devops_mut().record(entry);
}

/// A pool lets go of its scale set: capacity 0, tags and agent extension removed (each best effort, as
/// the service does it).
pub fn release(store: &mut Store, org: &str, elastic: &ElasticPool, now: OffsetDateTime) {
    let Some(id) = store.get(&elastic.azure_id).map(|r| r.id.clone()) else { return };
    let mut entries = Vec::new();
    if scale_sets::set_capacity(store, &id, 0).is_ok() {
        entries.push(("setCapacity", "0".to_string()));
    }
    if let Some(mut body) = store.get(&id).map(|r| r.body.clone()) {
        let tagged = vmss::tags(&body).contains_key(vmss::POOL_TAG);
        vmss::untag(&mut body);
        let removed = vmss::remove_extension(&mut body);
        if let Some(resource) = store.get_mut(&id) {
            resource.body = body;
        }
        if tagged {
            entries.push(("untag", vmss::POOL_TAG.to_string()));
        }
        if removed {
            entries.push(("removeExtension", vmss::EXTENSION_NAME.to_string()));
        }
    }
    for (action, detail) in entries {
        store.devops_mut().record(journal_entry(now, org, elastic.pool_id, action, &id, detail));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devops::model::Pool;
    use crate::devops::seed::{emulator_user, ensure_org};
    use crate::state::Resource;
    use serde_json::json;

    /// A store with a Linux scale set as Compute stores one and an elastic pool (max 2, standby 1) on it.
    fn world(config: &Config, now: OffsetDateTime) -> (Store, String) {
        let mut store = Store::default();
        let group = format!("/subscriptions/{}/resourceGroups/rg-agents", config.subscription_id);
        store.insert(Resource { kind: "resourceGroups".into(), id: group.clone(), body: json!({"name": "rg-agents"}) });
        let set = format!("{group}/providers/Microsoft.Compute/virtualMachineScaleSets/vmss-agents");
        let body = json!({"id": set, "name": "vmss-agents", "type": "Microsoft.Compute/virtualMachineScaleSets",
            "location": "westeurope", "sku": {"name": "Standard_D2ds_v5", "capacity": 0},
            "properties": {"overprovision": true, "upgradePolicy": {"mode": "Automatic"}, "virtualMachineProfile": {
                "storageProfile": {"imageReference": {"publisher": "Canonical", "offer": "ubuntu-24_04-lts", "sku": "server", "version": "latest"},
                    "osDisk": {"osType": "Linux", "createOption": "FromImage"}},
                "osProfile": {"computerNamePrefix": "agent", "linuxConfiguration": {}}}}});
        store.insert(Resource { kind: scale_sets::KIND.into(), id: set.clone(), body });
        let org = ensure_org(store.devops_mut(), "contoso", now);
        org.pools.push(Pool {
            id: 10,
            name: "agents".into(),
            scope: "s".into(),
            created_on: timestamp(now),
            created_by: emulator_user(),
            is_hosted: false,
            auto_provision: false,
            auto_authorize: false,
        });
        org.elastic_pools.push(ElasticPool {
            pool_id: 10,
            service_endpoint_id: "e".into(),
            service_endpoint_scope: "p".into(),
            azure_id: set.clone(),
            max_capacity: 2,
            desired_idle: 1,
            recycle_after_each_use: false,
            max_saved_node_count: 0,
            os_type: "linux".into(),
            orchestration_type: "uniform".into(),
            state: "new".into(),
            offline_since: None,
            desired_size: 0,
            sizing_attempts: 0,
            agent_interactive_ui: false,
            time_to_live_minutes: 30,
        });
        (store, set)
    }

    #[test]
    fn ticks_configure_scale_and_start_the_agent() {
        let mut config = Config::for_tests();
        config.devops.node_ms = 100;
        let t0 = OffsetDateTime::now_utc();
        let (mut store, set) = world(&config, t0);
        step(&mut store, &config, t0);
        let body = store.get(&set).unwrap().body.clone();
        assert_eq!(body["tags"][vmss::POOL_TAG], "agents");
        assert_eq!(
            (&body["properties"]["overprovision"], &body["properties"]["upgradePolicy"]["mode"]),
            (&json!(false), &json!("Manual"))
        );
        assert_eq!(body["sku"]["capacity"], 1);
        let node = |store: &Store| store.devops().org("contoso").unwrap().nodes[0].clone();
        assert_eq!((node(&store).state.as_str(), node(&store).name.as_str()), ("new", "agent000000"));
        let ms = time::Duration::milliseconds;
        for (after, state) in [(100, "creatingCompute"), (200, "startingAgent"), (300, "idle")] {
            step(&mut store, &config, t0 + ms(after));
            assert_eq!(node(&store).state, state, "after {after} ms");
        }
        assert!(node(&store).agent_id.is_some() && node(&store).agent.online);
        let org = store.devops().org("contoso").unwrap();
        assert_eq!(org.elastic(10).unwrap().state, "online");
        let messages: Vec<&str> = org.logs.iter().map(|l| l.message.as_str()).collect();
        assert!(messages.contains(&"Increasing capacity from 0 to 1."), "{messages:?}");
        let before = store.devops().clone();
        step(&mut store, &config, t0 + ms(400));
        assert_eq!(*store.devops(), before, "converged: nothing more to do");
    }

    #[test]
    fn a_missing_set_takes_the_pool_offline() {
        let config = Config::for_tests();
        let t0 = OffsetDateTime::now_utc();
        let (mut store, set) = world(&config, t0);
        store.remove_tree(&set);
        step(&mut store, &config, t0);
        step(&mut store, &config, t0);
        let org = store.devops().org("contoso").unwrap();
        assert_eq!(org.elastic(10).unwrap().state, "offline");
        assert_eq!(org.logs.len(), 1, "logged once");
        assert!(
            org.logs[0].message.starts_with("Failed to get scaleset from Azure with error: The Resource"),
            "{}",
            org.logs[0].message
        );
    }

    #[test]
    fn computer_names() {
        assert_eq!(base36(0), "000000");
        assert_eq!(base36(10), "00000a");
        assert_eq!(base36(36), "000010");
    }
}
