//! Secrets agentpool makes itself (a scale set's generated admin password), announced before
//! anything could print them, so a pipeline can mask them in its log.
//!
//! One process-wide hook: task mode installs one that registers each secret with the agent
//! (`task.setsecret`); without a hook nothing happens. Caveat: the hook gets the secret itself
//! and must not keep or log it anywhere but where it masks it.

use std::sync::OnceLock;

static HOOK: OnceLock<fn(&str)> = OnceLock::new();

/// Installs the hook that hears of each new secret; the first installed stays.
pub fn on_new_secret(hook: fn(&str)) {
    let _ = HOOK.set(hook);
}

/// Announces a secret just made, before it is used.
pub fn made(secret: &str) {
    if let Some(hook) = HOOK.get() {
        hook(secret);
    }
}
