//! Emulator controls of Image Builder builds: phase durations (`--aib-phase-ms`, tag
//! `emulator.phases`) and failure modes (`--aib-fail`, tag `emulator.fail`).

use serde::{Deserialize, Serialize};

/// The tag of a template that makes its builds fail (see [`Failure`]).
pub const FAIL_TAG: &str = "emulator.fail";
/// The tag of a template that sets its builds' phase durations: `<phase>=<ms>` items separated by
/// commas, as `--aib-phase-ms` takes them (e.g. `customizing=1200,distributing=300`).
pub const PHASES_TAG: &str = "emulator.phases";

/// Default duration of each build phase, in milliseconds.
pub const DEFAULT_PHASE_MS: u64 = 300;

/// A phase of a build (`lastRunStatus.runSubState`), or the cancellation (`Canceling` → `Canceled`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Phase {
    Queued,
    Building,
    Customizing,
    Optimizing,
    Validating,
    Distributing,
    /// Not a sub-state: how long `Canceling` lasts.
    Canceling,
}

impl Phase {
    /// The phases a build walks through, in order (`Validating` only when the template validates).
    pub fn of_build(validates: bool) -> Vec<Phase> {
        let mut phases = vec![Phase::Queued, Phase::Building, Phase::Customizing, Phase::Optimizing];
        if validates {
            phases.push(Phase::Validating);
        }
        phases.push(Phase::Distributing);
        phases
    }

    /// The wire name (`runSubState`).
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Queued => "Queued",
            Phase::Building => "Building",
            Phase::Customizing => "Customizing",
            Phase::Optimizing => "Optimizing",
            Phase::Validating => "Validating",
            Phase::Distributing => "Distributing",
            Phase::Canceling => "Canceling",
        }
    }
}

/// What `--aib-phase-ms` sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhaseKey {
    Phase(Phase),
    /// The whole build: shared equally by the phases not set on their own.
    Total,
}

/// One `--aib-phase-ms <phase>=<ms>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhaseMs {
    pub key: PhaseKey,
    pub ms: u64,
}

impl PhaseMs {
    /// `<phase>=<ms>`, the phase in any case: queued, building, customizing, optimizing, validating,
    /// distributing, canceling or total.
    pub fn parse(s: &str) -> Result<Self, String> {
        let (name, ms) = s.split_once('=').ok_or_else(|| format!("{s:?} is not <phase>=<ms>"))?;
        let ms: u64 = ms.trim().parse().map_err(|e| format!("{s:?}: the milliseconds are not a number ({e})"))?;
        let key = match name.trim().to_ascii_lowercase().as_str() {
            "queued" => PhaseKey::Phase(Phase::Queued),
            "building" => PhaseKey::Phase(Phase::Building),
            "customizing" => PhaseKey::Phase(Phase::Customizing),
            "optimizing" => PhaseKey::Phase(Phase::Optimizing),
            "validating" => PhaseKey::Phase(Phase::Validating),
            "distributing" => PhaseKey::Phase(Phase::Distributing),
            "canceling" => PhaseKey::Phase(Phase::Canceling),
            "total" => PhaseKey::Total,
            other => {
                return Err(format!(
                "unknown phase {other:?}; use queued, building, customizing, optimizing, validating, distributing, canceling or total"
            ))
            }
        };
        Ok(PhaseMs { key, ms })
    }
}

/// The durations of `phases` under `settings` (the last setting of a phase wins).
pub fn durations(settings: &[PhaseMs], phases: &[Phase]) -> Vec<(Phase, u64)> {
    let explicit = |phase: Phase| settings.iter().rev().find(|s| s.key == PhaseKey::Phase(phase)).map(|s| s.ms);
    let total = settings.iter().rev().find(|s| s.key == PhaseKey::Total).map(|s| s.ms);
    let set: u64 = phases.iter().filter_map(|p| explicit(*p)).sum();
    let unset = phases.iter().filter(|p| explicit(**p).is_none()).count() as u64;
    let share = match total {
        Some(total) if unset > 0 => total.saturating_sub(set) / unset,
        _ => DEFAULT_PHASE_MS,
    };
    phases.iter().map(|p| (*p, explicit(*p).unwrap_or(share))).collect()
}

/// How long `Canceling` lasts.
pub fn canceling_ms(settings: &[PhaseMs]) -> u64 {
    durations(settings, &[Phase::Canceling])[0].1
}

/// A way a build fails on purpose (`--aib-fail <mode>` for every build, or the template tag
/// `emulator.fail=<mode>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Failure {
    /// `customizer:<name>`: the customizer of that name exits 1.
    Customizer(String),
    /// `distribute` (every distributor) or `distribute:<runOutputName>` (one): the distribution fails.
    Distribute(Option<String>),
    /// `timeout`: the build times out while customizing.
    Timeout,
}

impl Failure {
    /// `customizer:<name>`, `distribute`, `distribute:<runOutputName>` or `timeout`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (mode, arg) = match s.split_once(':') {
            Some((m, a)) => (m, Some(a.trim())),
            None => (s, None),
        };
        match (mode.to_ascii_lowercase().as_str(), arg) {
            ("customizer", Some(name)) if !name.is_empty() => Ok(Failure::Customizer(name.to_string())),
            ("distribute", None) => Ok(Failure::Distribute(None)),
            ("distribute", Some(name)) if !name.is_empty() => Ok(Failure::Distribute(Some(name.to_string()))),
            ("timeout", None) => Ok(Failure::Timeout),
            _ => Err(format!(
                "{s:?} is not a failure mode; use customizer:<name>, distribute, distribute:<runOutputName> or timeout"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phase_settings() {
        let build = Phase::of_build(false);
        assert_eq!(durations(&[], &build).iter().map(|d| d.1).sum::<u64>(), 5 * DEFAULT_PHASE_MS);
        let s = [PhaseMs::parse("Customizing=1000").unwrap(), PhaseMs::parse("total=1400").unwrap()];
        let d = durations(&s, &build);
        assert_eq!(d[2], (Phase::Customizing, 1000));
        assert_eq!(d[0], (Phase::Queued, 100), "the rest share what the total leaves");
        assert_eq!(canceling_ms(&[PhaseMs::parse("canceling=7").unwrap()]), 7);
        assert_eq!(Phase::of_build(true)[4], Phase::Validating);
        for bad in ["queued", "queued=x", "cooking=5"] {
            assert!(PhaseMs::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn failure_modes() {
        assert_eq!(Failure::parse("customizer:Install tools"), Ok(Failure::Customizer("Install tools".into())));
        assert_eq!(Failure::parse("distribute"), Ok(Failure::Distribute(None)));
        assert_eq!(Failure::parse("Distribute:gallery"), Ok(Failure::Distribute(Some("gallery".into()))));
        assert_eq!(Failure::parse("timeout"), Ok(Failure::Timeout));
        for bad in ["customizer", "customizer:", "explode", "timeout:5"] {
            assert!(Failure::parse(bad).is_err(), "{bad}");
        }
    }
}
