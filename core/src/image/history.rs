//! What earlier builds of a template took, phase by phase.
//!
//! After a successful build the wait records the seconds the run spent in each sub-state as the
//! template tag [`TAG`], e.g. `q20b310c1620o130d640` (Queued 20 s, Building 310 s, …), keeping
//! the newest [`KEPT_RUNS`] builds separated by spaces. The next wait of the same template reads
//! it to know when the run is likely to end ([`super::schedule`]). A template recreated under the
//! same name (a new image version) carries the tag over.
//!
//! Caveats: the durations are what the waiter saw, so a phase entered between two looks gets the
//! midpoint of the gap as its start, and a phase passed over between two looks is absent (it
//! counts as 0 s). Builds of the same content are assumed to take about the same time; with
//! fewer than [`LEARNED_FROM`] recorded builds the spread of a phase is assumed to be
//! [`ASSUMED_SPREAD`] of its duration rather than measured.

use serde_json::Value;

/// The template tag holding the history.
pub const TAG: &str = "buildPhaseSeconds";
/// Builds kept in the tag (an Azure tag value holds 256 characters).
pub const KEPT_RUNS: usize = 5;
/// Recorded builds from which a phase's spread is measured rather than assumed.
pub const LEARNED_FROM: usize = 3;
/// The relative spread of a phase's duration assumed before it can be measured.
pub const ASSUMED_SPREAD: f64 = 0.05;
/// The smallest spread believed, relative and in seconds (a phase is never perfectly regular).
const SPREAD_FLOOR: f64 = 0.01;
const SPREAD_FLOOR_SECONDS: f64 = 2.0;

/// A sub-state of a running build (`lastRunStatus.runSubState`), in the order a build walks them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    Queued,
    Building,
    Customizing,
    Optimizing,
    Validating,
    Distributing,
}

impl Phase {
    /// Every phase in build order.
    pub const ALL: [Phase; 6] =
        [Phase::Queued, Phase::Building, Phase::Customizing, Phase::Optimizing, Phase::Validating, Phase::Distributing];

    /// The phase of a `runSubState` (any case); `None` for an empty or unknown one.
    pub fn of_sub_state(sub_state: &str) -> Option<Phase> {
        Self::ALL.into_iter().find(|p| p.as_str().eq_ignore_ascii_case(sub_state))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Queued => "Queued",
            Phase::Building => "Building",
            Phase::Customizing => "Customizing",
            Phase::Optimizing => "Optimizing",
            Phase::Validating => "Validating",
            Phase::Distributing => "Distributing",
        }
    }

    fn letter(self) -> char {
        match self {
            Phase::Queued => 'q',
            Phase::Building => 'b',
            Phase::Customizing => 'c',
            Phase::Optimizing => 'o',
            Phase::Validating => 'v',
            Phase::Distributing => 'd',
        }
    }

    fn of_letter(letter: char) -> Option<Phase> {
        Self::ALL.into_iter().find(|p| p.letter() == letter)
    }
}

/// One finished build: the whole seconds it spent in each phase it was seen in, in order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RunPhases(pub Vec<(Phase, u32)>);

impl RunPhases {
    /// Seconds in `phase` (0 when it was not seen).
    pub fn seconds(&self, phase: Phase) -> u32 {
        self.0.iter().filter(|(p, _)| *p == phase).map(|(_, s)| s).sum()
    }

    pub fn total(&self) -> u32 {
        self.0.iter().map(|(_, s)| s).sum()
    }

    /// The phase the build ended in.
    pub fn last(&self) -> Option<Phase> {
        self.0.last().map(|(p, _)| *p)
    }

    /// `q20b310c1620o130d640`.
    pub fn format(&self) -> String {
        self.0.iter().map(|(p, s)| format!("{}{s}", p.letter())).collect()
    }

    /// The inverse of [`RunPhases::format`]; `None` for anything else.
    pub fn parse(text: &str) -> Option<RunPhases> {
        let mut phases = Vec::new();
        let mut chars = text.chars().peekable();
        while let Some(letter) = chars.next() {
            let phase = Phase::of_letter(letter)?;
            let mut digits = String::new();
            while let Some(d) = chars.next_if(char::is_ascii_digit) {
                digits.push(d);
            }
            phases.push((phase, digits.parse().ok()?));
        }
        (!phases.is_empty()).then_some(RunPhases(phases))
    }
}

/// The expected duration of a phase and the variance of that expectation, in seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub mean: f64,
    pub variance: f64,
}

/// The recorded builds of a template, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct History {
    pub runs: Vec<RunPhases>,
}

impl History {
    /// The history in a template's `tags`; malformed entries are passed over.
    pub fn from_tags(tags: &Value) -> History {
        let runs = tags
            .get(TAG)
            .and_then(Value::as_str)
            .map(|text| text.split_whitespace().filter_map(RunPhases::parse).collect())
            .unwrap_or_default();
        History { runs }
    }

    /// This history with `run` added as the newest, keeping [`KEPT_RUNS`].
    pub fn with(&self, run: RunPhases) -> History {
        let mut runs = self.runs.clone();
        runs.push(run);
        let excess = runs.len().saturating_sub(KEPT_RUNS);
        runs.drain(..excess);
        History { runs }
    }

    /// The tag's value.
    pub fn to_tag(&self) -> String {
        self.runs.iter().map(RunPhases::format).collect::<Vec<_>>().join(" ")
    }

    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// The phase builds end in (that of the newest build).
    pub fn last_phase(&self) -> Option<Phase> {
        self.runs.last().and_then(RunPhases::last)
    }

    /// How long `phase` is expected to take in the next build, with the variance of the
    /// prediction (the phase's own spread, plus the uncertainty of its mean).
    pub fn estimate(&self, phase: Phase) -> Estimate {
        let n = self.runs.len();
        if n == 0 {
            return Estimate { mean: 0.0, variance: 0.0 };
        }
        let samples: Vec<f64> = self.runs.iter().map(|r| f64::from(r.seconds(phase))).collect();
        let mean = samples.iter().sum::<f64>() / n as f64;
        let floor = (SPREAD_FLOOR * mean).powi(2).max(SPREAD_FLOOR_SECONDS.powi(2));
        let spread = if n >= LEARNED_FROM {
            samples.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / (n - 1) as f64
        } else {
            (ASSUMED_SPREAD * mean).powi(2)
        };
        Estimate { mean, variance: spread.max(floor) * (1.0 + 1.0 / n as f64) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_tag_round_trips_and_keeps_the_newest_builds() {
        let run = RunPhases::parse("q20b310c1620o130d640").unwrap();
        assert_eq!(run.seconds(Phase::Customizing), 1620);
        assert_eq!((run.total(), run.last()), (2720, Some(Phase::Distributing)));
        assert_eq!(run.format(), "q20b310c1620o130d640");
        for bad in ["", "x20", "q", "q20b", "q-1", "q20 b30"] {
            assert_eq!(RunPhases::parse(bad), None, "{bad:?}");
        }
        let mut history = History::from_tags(&json!({ "createdBy": "agentpool", TAG: "q1d9 junk q2d8" }));
        assert_eq!(history.runs.len(), 2, "a malformed entry is passed over");
        for i in 0..6 {
            history = history.with(RunPhases(vec![(Phase::Queued, i), (Phase::Distributing, 600)]));
        }
        assert_eq!(history.runs.len(), KEPT_RUNS);
        assert_eq!(history.runs[0].seconds(Phase::Queued), 1, "the oldest went first");
        let tag = history.to_tag();
        assert!(tag.len() <= 256, "{tag}");
        assert_eq!(History::from_tags(&json!({ TAG: tag })), history);
    }

    #[test]
    fn sub_states_are_read_in_any_case() {
        assert_eq!(Phase::of_sub_state("distributing"), Some(Phase::Distributing));
        assert_eq!(Phase::of_sub_state(""), None);
        assert!(Phase::Customizing < Phase::Distributing);
    }

    #[test]
    fn a_spread_is_assumed_from_one_build_and_measured_from_three() {
        let one = History::default().with(RunPhases(vec![(Phase::Distributing, 600)]));
        let e = one.estimate(Phase::Distributing);
        assert_eq!(e.mean, 600.0);
        assert!((e.variance - (0.05f64 * 600.0).powi(2) * 2.0).abs() < 1e-6, "{e:?}");
        assert_eq!(one.estimate(Phase::Optimizing).mean, 0.0, "a phase never seen takes no time");

        let three = [590, 600, 610]
            .into_iter()
            .fold(History::default(), |h, s| h.with(RunPhases(vec![(Phase::Distributing, s)])));
        let e = three.estimate(Phase::Distributing);
        assert!((e.variance - 100.0 * (4.0 / 3.0)).abs() < 1e-6, "sample variance 100 s², {e:?}");
        let regular = [600, 600, 600]
            .into_iter()
            .fold(History::default(), |h, s| h.with(RunPhases(vec![(Phase::Distributing, s)])));
        assert!(regular.estimate(Phase::Distributing).variance >= 36.0, "never believed exact");
    }
}
