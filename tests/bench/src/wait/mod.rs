//! Benchmark 4: following image builds — the adaptive schedule of `agentpool image wait` against
//! looking every 15 s, over the same builds: (a) against the emulator's Image Builder, time
//! scaled; (b) over simulated time, for how it fares as builds vary more.
//!
//! Targets: the adaptive wait sees the end within 5 s at p95 and makes at most 25% of the reads
//! that looking every 15 s makes.

pub mod emulated;
pub mod model;
pub mod simulated;

use model::quantile;

/// Detection target, seconds at p95.
const LATE_TARGET: f64 = 5.0;
/// Reads target, as a share of looking every 15 s.
const READS_TARGET: f64 = 0.25;

/// Prints both rounds of the emulated benchmark.
pub fn emulated_section(settings: emulated::Settings, rounds: &[emulated::Round; 2], line: &mut impl FnMut(String)) {
    line(String::new());
    line(format!(
        "4a. image wait against the emulator's Image Builder: {} template families × 2 builds, time ×{}, builds vary by {:.1}% per phase",
        settings.families,
        settings.scale,
        settings.jitter * 100.0
    ));
    let durations = &rounds[1].durations;
    line(format!(
        "  builds took {:.0}–{:.0} min (median {:.0} min, scaled)",
        durations.iter().copied().fold(f64::INFINITY, f64::min) / 60.0,
        durations.iter().copied().fold(0.0, f64::max) / 60.0,
        quantile(durations, 0.5) / 60.0
    ));
    line("  round                       p50 late   p95 late   max late   reads (sum)   reads vs every 15 s".to_owned());
    for (name, round) in [("1st build, no history", &rounds[0]), ("2nd build, 1 build learned", &rounds[1])] {
        let fixed_reads: u32 = round.fixed.iter().map(|o| o.reads).sum();
        for (how, outcomes) in [("adaptive", &round.adaptive), ("every 15 s", &round.fixed)] {
            let late: Vec<f64> = outcomes.iter().map(|o| o.late).collect();
            let reads: u32 = outcomes.iter().map(|o| o.reads).sum();
            line(format!(
                "  {name:<27} {how:<10} {:>5.1} s  {:>7.1} s  {:>7.1} s  {reads:>11}   {:>5.1}%",
                quantile(&late, 0.5),
                quantile(&late, 0.95),
                late.iter().copied().fold(0.0, f64::max),
                100.0 * f64::from(reads) / f64::from(fixed_reads.max(1))
            ));
        }
    }
    let learned = &rounds[1];
    let p95 = quantile(&learned.adaptive.iter().map(|o| o.late).collect::<Vec<_>>(), 0.95);
    let share = f64::from(learned.adaptive.iter().map(|o| o.reads).sum::<u32>())
        / f64::from(learned.fixed.iter().map(|o| o.reads).sum::<u32>().max(1));
    line(format!(
        "  with history: p95 {p95:.1} s (target ≤ {LATE_TARGET} s: {}), reads {:.1}% of every 15 s (target ≤ {:.0}%: {})",
        crate::verdict(p95 <= LATE_TARGET),
        share * 100.0,
        READS_TARGET * 100.0,
        crate::verdict(share <= READS_TARGET)
    ));
}

/// Prints the simulated sensitivity table: builds varying more and more around their family.
pub fn simulated_section(families: usize, line: &mut impl FnMut(String)) {
    line(String::new());
    line(format!(
        "4b. image wait over simulated time: {families} template families per row, the build after the recorded ones measured"
    ));
    line("  varies  builds learned   p95 late adaptive   p95 late every 15 s   reads adaptive / every 15 s".to_owned());
    for jitter in [0.025, 0.05, 0.1, 0.2] {
        for prior in [1, 3, 5] {
            let measured = simulated::run(families, prior, jitter, 42 + prior as u64);
            let late = |f: fn(&simulated::Measured) -> simulated::Followed| {
                quantile(&measured.iter().map(|m| f(m).late).collect::<Vec<_>>(), 0.95)
            };
            let reads = |f: fn(&simulated::Measured) -> simulated::Followed| {
                measured.iter().map(|m| f64::from(f(m).looks)).sum::<f64>()
            };
            let (adaptive, fixed) = (reads(|m| m.adaptive), reads(|m| m.fixed));
            line(format!(
                "  {:>5.1}%  {prior:>14}  {:>17.1} s  {:>19.1} s   {:>7.0} / {:.0} = {:.1}%",
                jitter * 100.0,
                late(|m| m.adaptive),
                late(|m| m.fixed),
                adaptive,
                fixed,
                100.0 * adaptive / fixed
            ));
        }
    }
}
