//! The builds the wait benchmark follows: random template families, each with its own phase
//! durations, and builds that vary around them.
//!
//! A family's phases are drawn uniformly (Queued 20–120 s, Building 2–6 min, Customizing
//! 10–60 min, Optimizing 1–4 min, Distributing 5–15 min: 18–87 minutes in all, Image Builder's
//! usual range); each build multiplies every phase by `exp(N(0, jitter))`, independently.

use agentpool_core::image::history::Phase;

/// SplitMix64 with Box–Muller normals: seeded, so a run can be repeated.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn uniform(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.unit()
    }

    pub fn normal(&mut self) -> f64 {
        let (u, v) = (self.unit().max(f64::MIN_POSITIVE), self.unit());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// The phases of a build, in seconds.
pub type Build = Vec<(Phase, f64)>;

/// A family's typical phases.
pub fn family(rng: &mut Rng) -> Build {
    [
        (Phase::Queued, 20.0, 120.0),
        (Phase::Building, 120.0, 360.0),
        (Phase::Customizing, 600.0, 3600.0),
        (Phase::Optimizing, 60.0, 240.0),
        (Phase::Distributing, 300.0, 900.0),
    ]
    .into_iter()
    .map(|(phase, low, high)| (phase, rng.uniform(low, high)))
    .collect()
}

/// One build of `family`: each phase off by its own random factor.
pub fn build(family: &Build, jitter: f64, rng: &mut Rng) -> Build {
    family.iter().map(|(phase, seconds)| (*phase, seconds * (jitter * rng.normal()).exp())).collect()
}

pub fn total(build: &Build) -> f64 {
    build.iter().map(|p| p.1).sum()
}

/// The `q`-quantile of `values` (nearest rank).
pub fn quantile(values: &[f64], q: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_fall_in_image_builders_range_and_jitter_around_their_family() {
        let mut rng = Rng::new(7);
        for _ in 0..200 {
            let family = family(&mut rng);
            assert!((18.0 * 60.0..88.0 * 60.0).contains(&total(&family)));
            let build = build(&family, 0.05, &mut rng);
            assert!((total(&build) / total(&family) - 1.0).abs() < 0.25);
            assert_eq!(build[0].0, Phase::Queued);
        }
        assert_eq!(quantile(&[3.0, 1.0, 2.0, 4.0], 0.5), 2.0);
        assert_eq!(quantile(&[3.0, 1.0, 2.0, 4.0], 0.95), 4.0);
    }
}
