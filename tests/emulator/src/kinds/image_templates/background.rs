//! Image Builder's work outside the state lock, run by the server's background tick
//! ([`crate::arm::kind::ResourceKind::background`]): advancing active builds without waiting for ARM
//! requests, creating the `packerlogs` container in the blob service, downloading customizer scripts with a
//! storage token issued to the template's identity, uploading the growing `customization.log`, and creating
//! gallery image versions ([`create_version`]). Results go back into the template's private state, which
//! the next [`super::step`] reads.

use std::sync::Arc;

use time::OffsetDateTime;

use super::run::{Distribution, Fetch, Private, LOG_CONTAINER};
use crate::app::App;
use crate::arm::kind::{Background, Env};
use crate::arm::lro;
use crate::blob_data_plane::{ensure_container, read_blob, write_blob};
use crate::kinds::gallery_image_versions::create_version;
use crate::state::Store;

/// Marks the private-data keys of image templates (lower-cased ids).
const TEMPLATE_TYPE: &str = "/providers/microsoft.virtualmachineimages/imagetemplates/";

fn templates(store: &Store) -> Vec<(String, Private)> {
    store
        .private_ids()
        .filter(|id| id.contains(TEMPLATE_TYPE) && id.split('/').filter(|s| !s.is_empty()).count() == 8)
        .map(|id| (id.clone(), Private::load(store, id)))
        .collect()
}

fn busy(p: &Private) -> bool {
    let active = p.run.as_ref().is_some_and(|r| r.active());
    match &p.staging {
        None => active,
        Some(staging) => !staging.container_ready || active || p.run.as_ref().is_some_and(|r| r.uploaded < r.log.len()),
    }
}

/// The background work, if any is due.
pub fn work(app: &Arc<App>) -> Option<Background> {
    if !app.state.read(|store| templates(store).iter().any(|(_, p)| busy(p))) {
        return None;
    }
    let app = app.clone();
    Some(Box::pin(async move { pump(&app).await }))
}

enum Job {
    Container { template_id: String, endpoint: String },
    Log { template_id: String, run_id: String, url: String, text: String },
    Fetch { template_id: String, run_id: String, items: Vec<Fetch> },
    Distribute { template_id: String, run_id: String, items: Vec<Distribution> },
}

enum Done {
    Container { template_id: String },
    Log { template_id: String, run_id: String, len: usize },
    Fetch { template_id: String, run_id: String, items: Vec<Fetch> },
    Distribute { template_id: String, run_id: String, items: Vec<Distribution> },
}

/// Advances builds to now (their phases move on without ARM requests).
fn advance(app: &App) {
    let active =
        app.state.read(|store| templates(store).iter().any(|(_, p)| p.run.as_ref().is_some_and(|r| r.active())));
    if active {
        let env = Env::internal(&app.config, OffsetDateTime::now_utc());
        app.state.write(|store| lro::advance(store, &app.registry, &env));
    }
}

/// One round: advance, take the pending work, do it, hand the results back, advance again.
pub async fn pump(app: &App) {
    advance(app);
    let jobs = app.state.write(take);
    if jobs.is_empty() {
        return;
    }
    let mut results = Vec::with_capacity(jobs.len());
    for job in jobs {
        results.push(perform(app, job).await);
    }
    app.state.write(|store| {
        for done in results {
            apply(store, done);
        }
    });
    advance(app);
}

fn take(store: &mut Store) -> Vec<Job> {
    let mut jobs = Vec::new();
    for (template_id, mut private) in templates(store) {
        let Some(staging) = private.staging.clone() else { continue };
        if !staging.container_ready {
            jobs.push(Job::Container { template_id: template_id.clone(), endpoint: staging.blob_endpoint.clone() });
        }
        let Some(run) = private.run.as_mut() else { continue };
        let run_id = run.id.clone();
        if staging.container_ready && run.uploaded < run.log.len() {
            jobs.push(Job::Log {
                template_id: template_id.clone(),
                run_id: run_id.clone(),
                url: staging.log_url(&run.id),
                text: run.log.clone(),
            });
        }
        if let Some(items) = run.fetch.take() {
            jobs.push(Job::Fetch { template_id: template_id.clone(), run_id: run_id.clone(), items });
        }
        if let Some(items) = run.distribute.take() {
            jobs.push(Job::Distribute { template_id: template_id.clone(), run_id, items });
        }
        private.save(store, &template_id);
    }
    jobs
}

async fn perform(app: &App, job: Job) -> Done {
    match job {
        Job::Container { template_id, endpoint } => {
            if let Err(e) = ensure_container(app, &endpoint, LOG_CONTAINER).await {
                tracing::warn!("Image Builder staging container: {e}");
            }
            Done::Container { template_id }
        }
        Job::Log { template_id, run_id, url, text } => {
            let len = text.len();
            if let Err(e) = write_blob(app, &url, text.into_bytes(), &app.config.client_id).await {
                tracing::warn!("Image Builder log upload: {e}");
            }
            Done::Log { template_id, run_id, len }
        }
        Job::Fetch { template_id, run_id, mut items } => {
            for item in &mut items {
                if !item.allowed {
                    item.error = Some("403 AuthorizationPermissionMismatch: This request is not authorized to perform this operation using this permission.".into());
                    continue;
                }
                match read_blob(app, &item.blob_url, &item.client_id).await {
                    Ok(Some(bytes)) => item.content = Some(String::from_utf8_lossy(&bytes).into_owned()),
                    Ok(None) => item.error = Some("404 BlobNotFound: The specified blob does not exist.".into()),
                    Err(e) => item.error = Some(e.to_string()),
                }
            }
            Done::Fetch { template_id, run_id, items }
        }
        Job::Distribute { template_id, run_id, mut items } => {
            for item in &mut items {
                let (Some(image), Some(version), Some(body), None) =
                    (&item.image_id, &item.version, &item.body, &item.error)
                else {
                    continue;
                };
                match create_version(app, image, version, body.clone()) {
                    Ok(created) => item.artifact_id = created["id"].as_str().map(str::to_string),
                    Err(e) => item.error = Some(format!("{}: {e}", e.code())),
                }
            }
            Done::Distribute { template_id, run_id, items }
        }
    }
}

fn apply(store: &mut Store, done: Done) {
    let template_id = match &done {
        Done::Container { template_id }
        | Done::Log { template_id, .. }
        | Done::Fetch { template_id, .. }
        | Done::Distribute { template_id, .. } => template_id.clone(),
    };
    if store.get(&template_id).is_none() {
        return;
    }
    let mut private = Private::load(store, &template_id);
    match done {
        Done::Container { .. } => {
            if let Some(staging) = private.staging.as_mut() {
                staging.container_ready = true;
            }
        }
        Done::Log { run_id, len, .. } => {
            if let Some(run) = private.run.as_mut().filter(|r| r.id == run_id) {
                run.uploaded = run.uploaded.max(len);
            }
        }
        Done::Fetch { run_id, items, .. } => {
            if let Some(run) = private.run.as_mut().filter(|r| r.id == run_id) {
                run.fetch.complete(items);
            }
        }
        Done::Distribute { run_id, items, .. } => {
            if let Some(run) = private.run.as_mut().filter(|r| r.id == run_id) {
                run.distribute.complete(items);
            }
        }
    }
    private.save(store, &template_id);
}
