//! The wait's schedules over simulated time: many builds in milliseconds, for how the adaptive
//! schedule fares as builds vary more. Same [`Schedule`] code as `agentpool image wait`; only
//! the clock and the build are simulated (no HTTP, no emulator).

use std::time::Duration;

use agentpool_core::image::history::History;
use agentpool_core::image::schedule::{self, Schedule};

use super::model::{self, Build, Rng};

/// Looks and lateness of following one build.
#[derive(Debug, Clone, Copy)]
pub struct Followed {
    pub looks: u32,
    /// Seconds from the end to the look that saw it.
    pub late: f64,
}

/// Follows `build` from its start on `schedule`; the first look comes `offset` seconds in.
pub fn follow(schedule: &mut Schedule, build: &Build, offset: f64) -> Followed {
    let (looks, late) = schedule::simulate(schedule, build, offset);
    Followed { looks, late }
}

/// One family's measured build after `prior` builds recorded through the schedule itself.
pub struct Measured {
    pub adaptive: Followed,
    pub fixed: Followed,
}

/// `families` families, each with `prior` recorded builds, then one measured build followed
/// both ways.
pub fn run(families: usize, prior: usize, jitter: f64, seed: u64) -> Vec<Measured> {
    let mut rng = Rng::new(seed);
    (0..families)
        .map(|_| {
            let family = model::family(&mut rng);
            let mut history = History::default();
            for _ in 0..prior {
                let build = model::build(&family, jitter, &mut rng);
                let mut schedule = Schedule::adaptive(history.clone());
                follow(&mut schedule, &build, rng.uniform(0.0, 1.0));
                if let Some(phases) = schedule.phases(model::total(&build)) {
                    history = history.with(phases);
                }
            }
            let build = model::build(&family, jitter, &mut rng);
            let offset = rng.uniform(0.0, 1.0);
            Measured {
                adaptive: follow(&mut Schedule::adaptive(history), &build, offset),
                fixed: follow(&mut Schedule::fixed(Duration::from_secs(15)), &build, offset),
            }
        })
        .collect()
}
