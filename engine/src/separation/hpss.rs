//! Harmonic / percussive / residual masks (Driedger, Müller and Disch, "Extending harmonic-
//! percussive separation of audio signals", ISMIR 2014), made causal with an explicit
//! look-ahead.
//!
//! Per bin, on the mid signal's magnitudes `A`:
//! - a first harmonic estimate `H1`: the `q` percentile of `A` over the past `history_s` and
//!   the `lookahead` frames after the frame being decided (a causal median alone lags behind
//!   note changes; the look-ahead and a percentile above 50 let a sustained partial win as soon
//!   as it has lasted a few frames);
//! - a first percussive estimate `P1`: the median of `A` across `percussive_width_hz`;
//! - one refinement step: the harmonic estimate is recomputed from `A - g P1` (what the
//!   percussive estimate leaves) and the percussive one from `A - g H1`, so that a loud partial
//!   does not raise the percussive median around it nor a drum hit the harmonic percentile;
//! - a sustain term: a partial that keeps its level over the look-ahead is harmonic, however
//!   short its past (`median(A[j..=j+la]) * (A[j+la] / max(A[j..=j+la]))^SUSTAIN_POWER`); a
//!   percussive hit decays within those frames;
//! - soft masks `MH = H^p / (H^p + (bH P)^p)`, `MP = P^p / (P^p + (bP H)^p)`, residual
//!   `1 - MH - MP` (zero when both margins are 1).

use super::rank::{FrequencyMedian, TimePercentile};

/// Share of the other estimate removed before the refinement step.
const REFINE_GAIN: f64 = 0.7;
/// Exponent of the level ratio in the sustain term: how steeply a decay over the look-ahead
/// disqualifies a bin from being sustained.
const SUSTAIN_POWER: f64 = 8.0;

/// Settings of [`Hpss`], in bins and frames.
pub(crate) struct HpssSettings {
    pub(crate) bins: usize,
    pub(crate) history_frames: usize,
    pub(crate) lookahead: usize,
    pub(crate) percentile: f32,
    pub(crate) width_bins: usize,
    pub(crate) power: f32,
    pub(crate) harmonic_margin: f32,
    pub(crate) percussive_margin: f32,
}

pub(crate) struct Hpss {
    lookahead: usize,
    power: f32,
    harmonic_margin: f32,
    percussive_margin: f32,
    refine: f32,
    sustain_power: f32,
    /// The last `lookahead + 1` magnitude frames, `(lookahead + 1) x bins`, ring.
    recent: Vec<f32>,
    newest: usize,
    bins: usize,
    raw_time: TimePercentile,
    refined_time: TimePercentile,
    freq: FrequencyMedian,
    p1: Vec<f32>,
    scratch: Vec<f32>,
    h1: Vec<f32>,
    h2: Vec<f32>,
    p2: Vec<f32>,
    column: Vec<f32>,
    sus_rank: usize,
    sus_ref: bool,
    h3: Vec<f32>,
    mask_smooth: f32,
}

impl Hpss {
    pub(crate) fn new(s: &HpssSettings) -> Self {
        let window = s.history_frames + s.lookahead + 1;
        let bins = s.bins;
        Self {
            lookahead: s.lookahead,
            power: s.power,
            harmonic_margin: s.harmonic_margin,
            percussive_margin: s.percussive_margin,
            refine: crate::tune::get("REFINE", REFINE_GAIN) as f32,
            sustain_power: crate::tune::get("SP", SUSTAIN_POWER) as f32,
            recent: vec![0.0; (s.lookahead + 1) * bins],
            newest: 0,
            bins,
            raw_time: TimePercentile::new(bins, window, s.percentile),
            refined_time: TimePercentile::new(bins, window, s.percentile),
            freq: FrequencyMedian::new(bins, s.width_bins),
            p1: vec![0.0; bins],
            scratch: vec![0.0; bins],
            h1: vec![0.0; bins],
            h2: vec![0.0; bins],
            p2: vec![0.0; bins],
            column: vec![0.0; s.lookahead + 1],
            sus_rank: super::rank::percentile_rank(
                crate::tune::get("SUSQ", 50.0) as f32,
                s.lookahead + 1,
            ),
            sus_ref: crate::tune::get("SUSREF", 0.0) > 0.5,
            h3: vec![0.0; bins],
            mask_smooth: crate::tune::get("MSF", 0.0) as f32,
        }
    }

    /// Pushes the newest frame's magnitudes and writes the harmonic and percussive masks of the
    /// frame `lookahead` frames back.
    pub(crate) fn push(&mut self, magnitude: &[f32], harmonic: &mut [f32], percussive: &mut [f32]) {
        let bins = self.bins;
        let slots = self.lookahead + 1;
        self.newest = (self.newest + 1) % slots;
        self.recent[self.newest * bins..(self.newest + 1) * bins].copy_from_slice(magnitude);
        // The frame being decided is the oldest of the recent ones.
        let target = (self.newest + 1) % slots;

        self.freq.apply(magnitude, &mut self.p1);
        for ((s, &a), &p) in self.scratch.iter_mut().zip(magnitude).zip(&self.p1) {
            *s = (a - self.refine * p).max(0.0);
        }
        self.raw_time.push(magnitude, &mut self.h1);
        self.refined_time.push(&self.scratch, &mut self.h2);
        // The sustain term of the target frame, per bin.
        let mid = self.sus_rank;
        for b in 0..bins {
            let mut sus = 0.0;
            if self.lookahead > 0 {
                let mut max = 0.0f32;
                for (f, c) in self.column.iter_mut().enumerate() {
                    *c = self.recent[f * bins + b];
                    max = max.max(*c);
                }
                if max > 0.0 {
                    let ratio = magnitude[b] / max;
                    self.column.sort_unstable_by(|x, y| x.total_cmp(y));
                    sus = self.column[mid] * ratio.powf(self.sustain_power);
                }
            }
            self.h3[b] = sus;
        }

        let a_target = &self.recent[target * bins..(target + 1) * bins];
        for (((s, &a), &h), &sus) in self.scratch.iter_mut().zip(a_target).zip(&self.h1).zip(&self.h3) {
            let h = if self.sus_ref { h.max(sus) } else { h };
            *s = (a - self.refine * h).max(0.0);
        }
        self.freq.apply(&self.scratch, &mut self.p2);

        for b in 0..bins {
            let h = self.h2[b].max(self.h3[b]);
            let (mh, mp) = masks(
                h,
                self.p2[b],
                self.power,
                self.harmonic_margin,
                self.percussive_margin,
            );
            harmonic[b] = mh;
            percussive[b] = mp;
        }
        if self.mask_smooth > 0.0 {
            let a = self.mask_smooth;
            for m in [&mut *harmonic, &mut *percussive] {
                let mut prev = m[0];
                for b in 1..bins - 1 {
                    let cur = m[b];
                    m[b] = (1.0 - 2.0 * a) * cur + a * (prev + m[b + 1]);
                    prev = cur;
                }
            }
        }
    }

    pub(crate) fn reset(&mut self) {
        self.recent.fill(0.0);
        self.newest = 0;
        self.raw_time.reset();
        self.refined_time.reset();
    }
}

/// Soft masks from the two estimates: `(MH, MP)`, each in `0..=1`, `MH + MP <= 1` (equal when
/// both margins are 1). Where both estimates are zero the bin is split evenly.
#[inline]
fn masks(h: f32, p: f32, power: f32, bh: f32, bp: f32) -> (f32, f32) {
    let m = h.max(p);
    if !(m > 0.0) {
        return (0.5, 0.5);
    }
    // Normalised, so that the powers neither overflow nor underflow.
    let (h, p) = (h / m, p / m);
    let hp = pow(h, power);
    let pp = pow(p, power);
    let mh = hp / (hp + pow(bh * p, power));
    let mp = pp / (pp + pow(bp * h, power));
    (mh, mp)
}

/// `x^power`, with the default power 2 as a product (both correctly rounded, so the same value,
/// at a fraction of `powf`'s cost).
#[inline]
fn pow(x: f32, power: f32) -> f32 {
    if power == 2.0 {
        x * x
    } else {
        x.powf(power)
    }
}

#[cfg(test)]
mod tests {
    use super::masks;

    #[test]
    fn masks_sum_to_one_without_margins_and_leave_a_residual_with_them() {
        for &(h, p) in &[
            (1.0, 0.0),
            (0.0, 1.0),
            (0.3, 0.7),
            (1e-30, 3e-30),
            (0.0, 0.0),
        ] {
            let (mh, mp) = masks(h, p, 2.0, 1.0, 1.0);
            assert!((mh + mp - 1.0).abs() < 1e-6, "{h} {p}");
            let (mh2, mp2) = masks(h, p, 2.0, 2.0, 2.0);
            assert!(mh2 <= mh && mp2 <= mp && mh2 + mp2 <= 1.0 + 1e-6);
        }
        let (mh, mp) = masks(0.5, 0.5, 2.0, 2.0, 2.0);
        assert!((mh - 0.2).abs() < 1e-6 && (mp - 0.2).abs() < 1e-6);
    }
}

/// Experimental: the mid magnitudes for the masks from their own analysis window.
pub(crate) struct MaskSpectrum {
    window: Vec<f32>,
    acc: Vec<f32>,
    time: Vec<f32>,
    spec: Vec<realfft::num_complex::Complex32>,
    scratch: Vec<realfft::num_complex::Complex32>,
    fwd: std::sync::Arc<dyn realfft::RealToComplex<f32>>,
}

impl MaskSpectrum {
    pub(crate) fn new(frame: usize, hop: usize) -> Option<Self> {
        let kind = crate::tune::get("MW", 0.0) as usize;
        if kind == 0 {
            return None;
        }
        let (wa, _) = super::stft::window_pair(frame, hop);
        let hann = |n: usize| -> Vec<f32> {
            (0..n)
                .map(|i| {
                    let x = std::f64::consts::PI * i as f64 / n as f64;
                    (x.sin() * x.sin()) as f32
                })
                .collect()
        };
        let window: Vec<f32> = match kind {
            1 => {
                let k = crate::tune::get("MWP", 2.0) as f32;
                wa.iter().map(|w| w.powf(k)).collect()
            }
            2 => hann(frame),
            _ => {
                let l = (crate::tune::get("MWL", 1024.0) as usize).min(frame);
                let mut w = vec![0.0; frame - l];
                w.extend(hann(l));
                w
            }
        };
        let fwd = realfft::RealFftPlanner::<f32>::new().plan_fft_forward(frame);
        Some(Self {
            window,
            acc: vec![0.0; frame],
            time: fwd.make_input_vec(),
            spec: fwd.make_output_vec(),
            scratch: fwd.make_scratch_vec(),
            fwd,
        })
    }

    pub(crate) fn add(&mut self, frame: &[f32], first: bool) {
        if first {
            self.acc.fill(0.0);
        }
        for (a, &x) in self.acc.iter_mut().zip(frame) {
            *a += x;
        }
    }

    pub(crate) fn magnitudes(&mut self, out: &mut [f32]) {
        for ((t, &x), &w) in self.time.iter_mut().zip(&self.acc).zip(&self.window) {
            *t = x * w;
        }
        let _ = self
            .fwd
            .process_with_scratch(&mut self.time, &mut self.spec, &mut self.scratch);
        for (o, s) in out.iter_mut().zip(&self.spec) {
            *o = s.norm();
        }
    }
}
