//! When to look at a running build next.
//!
//! An Image Builder run takes 20–90 minutes and its end can only be seen by reading the template
//! (`lastRunStatus`). Looking every 15 s costs some 200 reads a build and still notices the end
//! up to 15 s late. [`Schedule::adaptive`] looks rarely while the end is far and densely (every
//! [`DENSE`]) only around when it is expected: the run's own progress (the sub-state it is in
//! and when it entered it) combined with what the same template's earlier builds took in each
//! phase ([`History`]). It also looks densely around the expected start of the last phase, since
//! knowing when that started is what pins the end down.
//!
//! Caveats: the prediction is only as good as the history. A build much faster than its
//! predecessors is noticed late (at most half the distance to the predicted window, at most
//! [`SPARSE_MAX`]); a slower one is followed with looks that grow apart gently. Without history
//! the looks follow a fixed table by sub-state ([`without_history`]). An interval Azure asks for
//! (`Retry-After`) is never undercut.

use std::time::Duration;

use super::history::{Estimate, History, Phase, RunPhases};

/// The spacing of looks where the end (or the start of the last phase) is expected: a 5 s
/// detection target, with room for the read itself.
pub const DENSE: Duration = Duration::from_secs(4);
/// The longest gap between two looks.
pub const SPARSE_MAX: Duration = Duration::from_secs(300);
/// Half-width of a window around an expected event, in standard deviations (about 95%).
const WINDOW_SIGMAS: f64 = 2.0;
/// A first look this many seconds into the run still sees (about) all of it.
const JOINED_AT_START: f64 = 60.0;

/// What one look at the run showed.
#[derive(Debug, Clone, PartialEq)]
pub struct Look {
    /// Seconds since the run started.
    pub elapsed: f64,
    /// `runSubState`, when it is one of the known phases.
    pub phase: Option<Phase>,
    /// The interval Azure asked for, if it did.
    pub retry_after: Option<Duration>,
}

/// How the looks are spaced: adaptive, or at a fixed interval. Either way the run's phases are
/// tracked, for [`History`].
#[derive(Debug, Clone)]
pub struct Schedule {
    fixed: Option<Duration>,
    tracker: Adaptive,
}

impl Schedule {
    /// Sparse early, dense near the end expected from the template's recorded builds.
    pub fn adaptive(history: History) -> Schedule {
        Schedule { fixed: None, tracker: Adaptive::new(history) }
    }

    /// Every `every`.
    pub fn fixed(every: Duration) -> Schedule {
        Schedule { fixed: Some(every), tracker: Adaptive::new(History::default()) }
    }

    /// Takes in a look and says how long to wait before the next one.
    pub fn after(&mut self, look: &Look) -> Duration {
        self.tracker.observe(look);
        let delay = self.fixed.unwrap_or_else(|| self.tracker.next_delay(look.elapsed));
        delay.max(look.retry_after.unwrap_or_default())
    }

    /// The phases of the run as seen so far, ended at `end` seconds after its start: what
    /// [`History`] records. `None` when the run was joined after its start.
    pub fn phases(&self, end: f64) -> Option<RunPhases> {
        self.tracker.phases(end)
    }
}

/// The start of a phase as seen: the midpoint between the last look before it and the first
/// look in it, with the variance of that guess.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Entry {
    phase: Phase,
    at: f64,
    variance: f64,
}

/// The run's phases as seen, and the adaptive spacing over them.
#[derive(Debug, Clone)]
struct Adaptive {
    history: History,
    entries: Vec<Entry>,
    last_look: Option<f64>,
}

impl Adaptive {
    fn new(history: History) -> Self {
        Self { history, entries: Vec::new(), last_look: None }
    }

    fn observe(&mut self, look: &Look) {
        let previous = self.last_look.replace(look.elapsed);
        let Some(phase) = look.phase else { return };
        if self.entries.last().is_some_and(|e| e.phase == phase) {
            return;
        }
        let entry = match previous {
            Some(before) => {
                let gap = (look.elapsed - before).max(0.0);
                Entry { phase, at: before + gap / 2.0, variance: gap * gap / 12.0 }
            }
            // The first look: the run may have been in this phase for a while.
            None if phase == Phase::Queued => Entry { phase, at: 0.0, variance: 0.0 },
            None if look.elapsed <= JOINED_AT_START => {
                self.entries.push(Entry { phase: Phase::Queued, at: 0.0, variance: 0.0 });
                Entry { phase, at: look.elapsed / 2.0, variance: look.elapsed.powi(2) / 12.0 }
            }
            None => {
                let before = self.sum(Phase::ALL.into_iter().filter(|p| *p < phase));
                let at = before.mean.clamp(0.0, look.elapsed);
                Entry { phase, at, variance: before.variance.min(look.elapsed.powi(2) / 12.0) }
            }
        };
        self.entries.push(entry);
    }

    fn next_delay(&self, now: f64) -> Duration {
        let (Some(current), Some(last)) = (self.entries.last(), self.history.last_phase()) else {
            return without_history(self.entries.last().map(|e| e.phase));
        };
        let last = last.max(current.phase);
        let ahead: Vec<Phase> = Phase::ALL.into_iter().filter(|p| *p >= current.phase && *p <= last).collect();
        let later = |phases: &[Phase]| self.sum(phases.iter().copied().filter(|p| *p != current.phase));

        // A phase running past its window: how much longer it takes is anyone's guess, so the
        // looks grow apart with its lateness rather than crowd an end that keeps moving.
        let this = self.history.estimate(current.phase);
        let late = now - (current.at + this.mean + WINDOW_SIGMAS * (this.variance + current.variance).sqrt());
        let spacing = |phase: Phase| {
            if phase == last {
                DENSE.as_secs_f64()
            } else {
                (2.0 * self.history.estimate(last).variance.sqrt()).max(DENSE.as_secs_f64())
            }
        };
        if late > 0.0 {
            // Before the last phase the gap also blurs when that phase starts, which widens the
            // dense window at the end: the looks grow apart more slowly there.
            let share = if current.phase == last { 8.0 } else { 16.0 };
            return Duration::from_secs_f64(within(late / share, spacing(current.phase)));
        }

        let to_end = self.sum(ahead.iter().copied());
        let end = Event {
            mean: (current.at + to_end.mean).max(now + later(&ahead).mean),
            sigma: (to_end.variance + current.variance).sqrt(),
            spacing: DENSE.as_secs_f64(),
        };
        let mut delay = end.delay(now);
        if current.phase < last {
            let before_last: Vec<Phase> = ahead.iter().copied().filter(|p| *p < last).collect();
            let to_last = self.sum(before_last.iter().copied());
            let start_of_last = Event {
                mean: (current.at + to_last.mean).max(now + later(&before_last).mean),
                sigma: (to_last.variance + current.variance).sqrt(),
                // Pinning the start to ±σ of the last phase widens the end's window by a sixth.
                spacing: spacing(current.phase),
            };
            delay = delay.min(start_of_last.delay(now));
        }
        Duration::from_secs_f64(delay)
    }

    /// Expected duration (and variance) of `phases` back to back.
    fn sum(&self, phases: impl Iterator<Item = Phase>) -> Estimate {
        phases.map(|p| self.history.estimate(p)).fold(Estimate { mean: 0.0, variance: 0.0 }, |a, e| Estimate {
            mean: a.mean + e.mean,
            variance: a.variance + e.variance,
        })
    }

    fn phases(&self, end: f64) -> Option<RunPhases> {
        let first = self.entries.first()?;
        if first.phase != Phase::Queued {
            // Followed from the middle: the earlier phases are unknown, so is the whole.
            return None;
        }
        let ends = self.entries.iter().skip(1).map(|e| e.at).chain([end]);
        let phases = self
            .entries
            .iter()
            .zip(ends)
            .map(|(entry, until)| (entry.phase, (until - entry.at).max(0.0).round() as u32))
            .collect();
        Some(RunPhases(phases))
    }
}

/// An expected moment of the run and how densely to look around it.
struct Event {
    mean: f64,
    sigma: f64,
    spacing: f64,
}

impl Event {
    /// Seconds to the next look this event wants at `now`: half the way to its window, the
    /// spacing inside it, and gently growing gaps once it is overdue.
    fn delay(&self, now: f64) -> f64 {
        let (opens, closes) = (self.mean - WINDOW_SIGMAS * self.sigma, self.mean + WINDOW_SIGMAS * self.sigma);
        let wanted = if now < opens {
            (opens - now) / 2.0
        } else if now <= closes {
            self.spacing
        } else {
            (now - closes) / 4.0
        };
        within(wanted, self.spacing)
    }
}

/// `wanted` seconds, at least `spacing` and at most [`SPARSE_MAX`] (which wins).
fn within(wanted: f64, spacing: f64) -> f64 {
    wanted.max(spacing).min(SPARSE_MAX.as_secs_f64())
}

/// Follows a build of known phase durations (seconds, in order) over simulated time, the first
/// look `first_look` seconds after its start: the number of looks and how many seconds after its
/// end the last one saw it ended. For tests and benchmarks of schedules.
pub fn simulate(schedule: &mut Schedule, phases: &[(Phase, f64)], first_look: f64) -> (u32, f64) {
    let end: f64 = phases.iter().map(|p| p.1).sum();
    let phase_at = |t: f64| {
        let mut start = 0.0;
        for (phase, seconds) in phases {
            if t < start + seconds {
                return Some(*phase);
            }
            start += seconds;
        }
        None
    };
    let (mut now, mut looks) = (first_look, 0);
    loop {
        looks += 1;
        let Some(phase) = phase_at(now) else { return (looks, now - end) };
        now += schedule.after(&Look { elapsed: now, phase: Some(phase), retry_after: None }).as_secs_f64();
    }
}

/// Spacing by sub-state when the template has no recorded build: rare while it queues, builds
/// and customizes (the long phases), denser once it distributes, its last phase.
pub fn without_history(phase: Option<Phase>) -> Duration {
    Duration::from_secs(match phase {
        None | Some(Phase::Queued) => 15,
        Some(Phase::Building) => 30,
        Some(Phase::Customizing) => 60,
        Some(Phase::Optimizing | Phase::Validating) => 15,
        Some(Phase::Distributing) => 10,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn follow(schedule: &mut Schedule, phases: &[(Phase, f64)]) -> (u32, f64) {
        simulate(schedule, phases, 0.0)
    }

    fn build(customizing: f64, distributing: f64) -> Vec<(Phase, f64)> {
        vec![
            (Phase::Queued, 30.0),
            (Phase::Building, 300.0),
            (Phase::Customizing, customizing),
            (Phase::Optimizing, 120.0),
            (Phase::Distributing, distributing),
        ]
    }

    fn history_of(builds: &[Vec<(Phase, f64)>]) -> History {
        builds
            .iter()
            .fold(History::default(), |h, b| h.with(RunPhases(b.iter().map(|(p, s)| (*p, s.round() as u32)).collect())))
    }

    #[test]
    fn a_build_like_the_last_one_is_seen_ending_within_the_dense_spacing_with_few_looks() {
        let history = history_of(&[build(1800.0, 600.0)]);
        let mut adaptive = Schedule::adaptive(history.clone());
        let (looks, late) = follow(&mut adaptive, &build(1850.0, 610.0));
        let (fixed_looks, fixed_late) = follow(&mut Schedule::fixed(Duration::from_secs(15)), &build(1850.0, 610.0));
        assert!(late <= DENSE.as_secs_f64(), "seen {late} s late");
        assert!(looks * 4 <= fixed_looks, "{looks} looks against {fixed_looks} every 15 s (seen {fixed_late} s late)");
        let phases = adaptive.phases(2910.0).unwrap();
        assert_eq!(
            phases.0.iter().map(|p| p.0).collect::<Vec<_>>(),
            history.runs[0].0.iter().map(|p| p.0).collect::<Vec<_>>()
        );
        assert!((i64::from(phases.total()) - 2910).abs() <= 1, "{phases:?}");
    }

    #[test]
    fn a_much_faster_build_is_still_seen_and_a_slower_one_followed_without_a_flood_of_looks() {
        let history = history_of(&[build(1800.0, 600.0)]);
        let (_, late) = follow(&mut Schedule::adaptive(history.clone()), &build(900.0, 300.0));
        assert!(late <= SPARSE_MAX.as_secs_f64(), "{late}");
        // Twice as slow as its history: fewer than half the looks of every 15 s, seen within a minute.
        let (looks, late) = follow(&mut Schedule::adaptive(history), &build(3600.0, 1200.0));
        assert!(looks < 5250 / 15 / 2 && late < 60.0, "{looks} looks, {late} s late");
    }

    #[test]
    fn a_history_of_wildly_different_builds_never_spaces_looks_beyond_the_maximum() {
        let history = history_of(&[build(600.0, 300.0), build(3600.0, 3000.0), build(1200.0, 60.0)]);
        let (looks, late) = follow(&mut Schedule::adaptive(history), &build(2000.0, 1000.0));
        assert!(late <= SPARSE_MAX.as_secs_f64() && looks > 3, "{looks} looks, {late} s late");
    }

    #[test]
    fn without_history_the_table_applies_and_retry_after_is_never_undercut() {
        let mut schedule = Schedule::adaptive(History::default());
        let look = |phase, retry_after| Look { elapsed: 100.0, phase: Some(phase), retry_after };
        assert_eq!(schedule.after(&look(Phase::Customizing, None)), Duration::from_secs(60));
        assert_eq!(schedule.after(&look(Phase::Distributing, None)), Duration::from_secs(10));
        assert_eq!(schedule.after(&look(Phase::Distributing, Some(Duration::from_secs(42)))), Duration::from_secs(42));
        let mut fixed = Schedule::fixed(Duration::from_secs(15));
        assert_eq!(fixed.after(&look(Phase::Queued, Some(Duration::from_secs(20)))), Duration::from_secs(20));
        assert_eq!(fixed.after(&look(Phase::Building, None)), Duration::from_secs(15));
        assert!(fixed.phases(110.0).is_some(), "a fixed schedule still tracks the phases");
    }

    #[test]
    fn a_wait_joined_mid_run_places_the_phase_start_from_history_and_records_nothing() {
        let history = history_of(&[build(1800.0, 600.0)]);
        let mut schedule = Schedule::adaptive(history);
        let delay = schedule.after(&Look { elapsed: 2400.0, phase: Some(Phase::Distributing), retry_after: None });
        // Distributing is expected from 2250 s to 2850 s: the dense window opens near 2790 s.
        assert!(delay > DENSE && delay < Duration::from_secs(300), "{delay:?}");
        assert_eq!(schedule.phases(2850.0), None);
    }
}
