//! The melody mask: a soft harmonic comb on the melody's fundamental. Each partial `k * f0` up
//! to `melody_max_hz` claims a raised-cosine band of half-width `max(min_width_hz,
//! k * f0 * (2^(cents / 1200) - 1))` (the band widens with `k`, as vibrato and inharmonicity
//! do); where bands overlap the larger claim wins. A voicing gate with a one-pole time constant
//! fades the comb in and out; while it fades out, the last voiced `f0` is held.

/// Settings of [`Comb`].
pub(crate) struct CombSettings {
    pub(crate) bins: usize,
    pub(crate) bin_hz: f32,
    pub(crate) max_hz: f32,
    pub(crate) width_cents: f32,
    pub(crate) min_width_hz: f32,
    /// Per-frame smoothing coefficient of the voicing gate (1 = no smoothing).
    pub(crate) gate_coeff: f32,
}

pub(crate) struct Comb {
    bins: usize,
    bin_hz: f32,
    max_hz: f32,
    width_ratio: f32,
    min_width_hz: f32,
    gate_coeff: f32,
    gate: f32,
    f0: f32,
}

impl Comb {
    pub(crate) fn new(s: &CombSettings) -> Self {
        Self {
            bins: s.bins,
            bin_hz: s.bin_hz,
            max_hz: s.max_hz.min(s.bin_hz * (s.bins - 1) as f32),
            width_ratio: 2f32.powf(s.width_cents / 1200.0) - 1.0,
            min_width_hz: s.min_width_hz,
            gate_coeff: s.gate_coeff,
            gate: 0.0,
            f0: 0.0,
        }
    }

    /// Writes the melody mask for a frame whose fundamental is `f0_hz` (0 or not finite when
    /// unvoiced).
    pub(crate) fn mask(&mut self, f0_hz: f32, out: &mut [f32]) {
        crate::simd::fast(
            #[inline(always)]
            || {
                let voiced = f0_hz.is_finite() && f0_hz > 0.0;
                if voiced {
                    self.f0 = f0_hz;
                }
                let target = if voiced { 1.0 } else { 0.0 };
                self.gate += (target - self.gate) * self.gate_coeff;
                if self.gate < 1e-4 && !voiced {
                    self.gate = 0.0;
                }
                out.fill(0.0);
                if self.gate == 0.0 || self.f0 <= 0.0 {
                    return;
                }
                let f0 = self.f0;
                let mut k = 1.0f32;
                while k * f0 <= self.max_hz {
                    let centre = k * f0;
                    let width = (centre * self.width_ratio).max(self.min_width_hz).max(1e-3);
                    let lo = (((centre - width) / self.bin_hz).ceil().max(0.0)) as usize;
                    let hi = (((centre + width) / self.bin_hz).floor() as usize).min(self.bins - 1);
                    if lo <= hi {
                        // Distance from the centre in widths, bin by bin from `lo`.
                        let step = self.bin_hz / width;
                        let d0 = (lo as f32 * self.bin_hz - centre) / width;
                        for (i, o) in out[lo..=hi].iter_mut().enumerate() {
                            *o = o.max(raised_cosine(d0 + i as f32 * step));
                        }
                    }
                    k += 1.0;
                }
                if self.gate < 1.0 {
                    out.iter_mut().for_each(|o| *o *= self.gate);
                }
            },
        )
    }

    pub(crate) fn reset(&mut self) {
        self.gate = 0.0;
        self.f0 = 0.0;
    }
}

/// `0.5 (1 + cos(pi d))` for `|d| <= 1`, as `cos(pi d / 2)^2` with the cosine's Taylor series
/// to the 10th power (error under 1e-6): a fraction of `cosf`'s cost, and the loop vectorises.
#[inline]
fn raised_cosine(d: f32) -> f32 {
    let y2 = (std::f32::consts::FRAC_PI_2 * d).powi(2);
    let c = 1.0
        + y2 * (-1.0 / 2.0
            + y2 * (1.0 / 24.0 + y2 * (-1.0 / 720.0 + y2 * (1.0 / 40_320.0 - y2 / 3_628_800.0))));
    c * c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raised_cosine_matches_the_cosine() {
        for i in -1000..=1000 {
            let d = i as f64 / 1000.0;
            let exact = 0.5 * (1.0 + (std::f64::consts::PI * d).cos());
            let err = (raised_cosine(d as f32) as f64 - exact).abs();
            assert!(err < 1e-6, "{d}: {err}");
        }
        assert_eq!(raised_cosine(0.0), 1.0);
    }

    #[test]
    fn comb_claims_the_partials_and_nothing_between() {
        let mut c = Comb::new(&CombSettings {
            bins: 1025,
            bin_hz: 44_100.0 / 2048.0,
            max_hz: 8_000.0,
            width_cents: 40.0,
            min_width_hz: 25.0,
            gate_coeff: 1.0,
        });
        let mut m = vec![0.0; 1025];
        c.mask(440.0, &mut m);
        let bin = |f: f32| (f / (44_100.0 / 2048.0)).round() as usize;
        for k in 1..=18 {
            assert!(m[bin(440.0 * k as f32)] > 0.5, "partial {k}");
            assert_eq!(
                m[bin(440.0 * k as f32 + 220.0)],
                0.0,
                "between {k} and {}",
                k + 1
            );
        }
        assert_eq!(m[bin(9_000.0)], 0.0);
        c.mask(0.0, &mut m);
        assert!(m.iter().all(|&x| x == 0.0));
    }
}
