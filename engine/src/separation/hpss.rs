//! Harmonic / percussive / residual masks (Driedger, Müller and Disch, "Extending harmonic-
//! percussive separation of audio signals", ISMIR 2014), made causal with an explicit
//! look-ahead.
//!
//! Per band (single bins up to about 3.7 kHz, wider above: see [`Bands`]), on the magnitudes `A`
//! of the mid signal's frame under the squared analysis window (see [`MaskAnalyzer`]):
//! - a first harmonic estimate `H1`: the `q` percentile of `A` over the past `history_s` and
//!   the `lookahead` frames after the frame being decided, every fourth frame of them
//!   ([`PERCENTILE_STRIDE`]), to within a 32nd of an octave ([`TimePercentile`]). A causal
//!   median alone lags behind note changes; the look-ahead and a percentile above 50 let a
//!   sustained partial win as soon as it has lasted a few frames;
//! - a first percussive estimate `P1`: the median of `A` across `percussive_width_hz`;
//! - one refinement step: the harmonic estimate is recomputed from `A - g P1` (what the
//!   percussive estimate leaves) and the percussive one from `A - g H1`, so that a loud partial
//!   does not raise the percussive median around it nor a drum hit the harmonic percentile;
//! - a sustain term: a partial that keeps its level over the look-ahead is harmonic, however
//!   short its past (`median(A[j..=j+la]) * (A[j+la] / max(A[j..=j+la]))^5`); a
//!   percussive hit decays within those frames;
//! - soft masks `MH = H^p / (H^p + (bH P)^p)`, `MP = P^p / (P^p + (bP H)^p)`, residual
//!   `1 - MH - MP` (zero when both margins are 1), interpolated from the bands to the bins.

use crate::fft::RealFft;
use realfft::num_complex::Complex32;

use super::bands::Bands;
use super::rank::{FrequencyMedian, Lanes, SelectionNetwork, TimePercentile, LANES};

/// Share of the other estimate removed before the refinement step: all of it (what one
/// estimate explains is not evidence for the other).
const REFINE_GAIN: f64 = 1.0;

/// The time percentiles take every this many frames, and hold their value in between; the
/// refined one runs half a stride after the raw one, so that no frame computes both. Over a
/// second of history the percentile of every fourth frame separates as well as that of every
/// frame: stem SDR median on the dev corpus, harmonic 9.11 / 9.14 / 9.13 dB and percussive
/// 9.22 / 9.24 / 9.25 dB with every frame / every second / every fourth (staggered), at a
/// quarter of the cost. Unstaggered, every fourth frame loses 0.05 dB percussive.
const PERCENTILE_STRIDE: usize = 4;

/// The mid frame's magnitudes for the masks. The synthesis spectra use the analysis window
/// `wa` of the low-delay STFT, whose short falling sqrt-Hann edge leaks a strong partial across
/// many bins (its sidelobes fall off slowly): the leakage is stable in time, so it reads as
/// harmonic where it should not, and raises the percussive (frequency) median around the partial.
/// The masks are estimated on the frame under `wa^2` instead: a Hann rise over the long part and
/// a Hann fall over the last hop, with the same time centre (it peaks where `wa` does, at the
/// centre of the synthesis window) and no kink at either end, so its sidelobes fall off as
/// Hann's. One extra forward FFT per frame, on the mid signal only.
pub(crate) struct MaskAnalyzer {
    window: Vec<f32>,
    time: Vec<f32>,
    spectrum: Vec<Complex32>,
    scratch: Vec<Complex32>,
    fwd: RealFft,
}

impl MaskAnalyzer {
    /// For frames of `frame` samples analysed every `hop` samples.
    pub(crate) fn new(frame: usize, hop: usize) -> Self {
        let (wa, _) = super::stft::window_pair(frame, hop);
        let fwd = RealFft::new(frame);
        Self {
            window: wa.iter().map(|w| w * w).collect(),
            time: fwd.make_input_vec(),
            spectrum: fwd.make_output_vec(),
            scratch: fwd.make_scratch_vec(),
            fwd,
        }
    }

    /// Spectrum bins, `frame / 2 + 1`.
    pub(crate) fn bins(&self) -> usize {
        self.spectrum.len()
    }

    /// Writes the magnitudes of `frame` (the newest `frame` samples, oldest first) to `out`.
    #[inline(always)]
    pub(crate) fn magnitudes(&mut self, frame: &[f32], out: &mut [f32]) {
        for ((t, &x), &w) in self.time.iter_mut().zip(frame).zip(&self.window) {
            *t = x * w;
        }
        // The buffers come from the transform itself, so their lengths fit.
        self.fwd
            .process_with_scratch(&mut self.time, &mut self.spectrum, &mut self.scratch);
        // `sqrt` of the power rather than `norm` (a `hypot` call, several times slower): the
        // sanitised input bounds the power far below overflow.
        for (o, s) in out.iter_mut().zip(&self.spectrum) {
            *o = (s.re * s.re + s.im * s.im).sqrt();
        }
    }
}

/// Settings of [`Hpss`], in samples, bins and frames.
pub(crate) struct HpssSettings {
    pub(crate) frame_len: usize,
    pub(crate) hop: usize,
    pub(crate) history_frames: usize,
    pub(crate) lookahead: usize,
    pub(crate) percentile: f32,
    pub(crate) width_bins: usize,
    pub(crate) power: f32,
    pub(crate) harmonic_margin: f32,
    pub(crate) percussive_margin: f32,
}

pub(crate) struct Hpss {
    analyzer: MaskAnalyzer,
    /// The newest frame's magnitudes, per spectrum bin.
    spectrum: Vec<f32>,
    /// The bands the masks are estimated on; `bands` of them.
    grid: Bands,
    /// The newest frame's magnitudes, per band.
    magnitude: Vec<f32>,
    /// The masks per band, before they are spread over the spectrum bins.
    band_h: Vec<f32>,
    band_p: Vec<f32>,
    lookahead: usize,
    power: f32,
    harmonic_margin: f32,
    percussive_margin: f32,
    refine: f32,
    /// The last `lookahead + 1` magnitude frames, `(lookahead + 1) x bands`, ring.
    recent: Vec<f32>,
    newest: usize,
    /// The number of bands.
    bands: usize,
    /// Frames pushed since the start (or reset): the time percentiles take every
    /// `PERCENTILE_STRIDE`th.
    count: usize,
    raw_time: TimePercentile,
    refined_time: TimePercentile,
    freq: FrequencyMedian,
    p1: Vec<f32>,
    scratch: Vec<f32>,
    h1: Vec<f32>,
    h2: Vec<f32>,
    p2: Vec<f32>,
    /// The median of the `lookahead + 1` recent frames, per band.
    column: SelectionNetwork,
}

impl Hpss {
    pub(crate) fn new(s: &HpssSettings) -> Self {
        let window = (s.history_frames + s.lookahead + 1).div_ceil(PERCENTILE_STRIDE);
        let analyzer = MaskAnalyzer::new(s.frame_len, s.hop);
        let spectrum_bins = analyzer.bins();
        let grid = Bands::new(spectrum_bins);
        let bins = grid.len();
        Self {
            analyzer,
            spectrum: vec![0.0; spectrum_bins],
            grid,
            magnitude: vec![0.0; bins],
            band_h: vec![0.0; bins],
            band_p: vec![0.0; bins],
            lookahead: s.lookahead,
            power: s.power,
            harmonic_margin: s.harmonic_margin,
            percussive_margin: s.percussive_margin,
            refine: REFINE_GAIN as f32,
            recent: vec![0.0; (s.lookahead + 1) * bins],
            newest: 0,
            bands: bins,
            count: 0,
            raw_time: TimePercentile::new(bins, window, s.percentile),
            refined_time: TimePercentile::new(bins, window, s.percentile),
            freq: FrequencyMedian::new(bins, s.width_bins),
            p1: vec![0.0; bins],
            scratch: vec![0.0; bins],
            h1: vec![0.0; bins],
            h2: vec![0.0; bins],
            p2: vec![0.0; bins],
            column: SelectionNetwork::new(s.lookahead + 1, s.lookahead / 2)
                .expect("the look-ahead (at most 0.15 s of 2 ms hops) fits the network"),
        }
    }

    /// Analyses the newest mid frame (`frame_len` samples, oldest first) and computes the
    /// harmonic and percussive masks of the frame `lookahead` frames back, per band: read them
    /// per spectrum bin with [`harmonic`](Self::harmonic) and [`percussive`](Self::percussive)
    /// (each only when needed).
    pub(crate) fn push(&mut self, frame: &[f32]) {
        crate::simd::fast(
            #[inline(always)]
            || {
                self.analyzer.magnitudes(frame, &mut self.spectrum);
                self.grid.pool(&self.spectrum, &mut self.magnitude);
                let magnitude = &self.magnitude[..];
                let bins = self.bands;
                let slots = self.lookahead + 1;
                self.newest = (self.newest + 1) % slots;
                self.recent[self.newest * bins..(self.newest + 1) * bins]
                    .copy_from_slice(magnitude);
                // The frame being decided is the oldest of the recent ones.
                let target = (self.newest + 1) % slots;

                self.freq.apply(magnitude, &mut self.p1);
                for ((s, &a), &p) in self.scratch.iter_mut().zip(magnitude).zip(&self.p1) {
                    *s = (a - self.refine * p).max(0.0);
                }
                match self.count % PERCENTILE_STRIDE {
                    0 => self.raw_time.push(magnitude, &mut self.h1),
                    r if r == PERCENTILE_STRIDE / 2 => {
                        self.refined_time.push(&self.scratch, &mut self.h2)
                    }
                    _ => {}
                }
                self.count += 1;

                let a_target = &self.recent[target * bins..(target + 1) * bins];
                for ((s, &a), &h) in self.scratch.iter_mut().zip(a_target).zip(&self.h1) {
                    *s = (a - self.refine * h).max(0.0);
                }
                self.freq.apply(&self.scratch, &mut self.p2);

                // The sustain term and the masks, `LANES` bins at a time (the spare lanes of the
                // last group read zeros and are not written).
                let slots_used = if self.lookahead > 0 { slots } else { 0 };
                let (power, bh, bp) = (self.power, self.harmonic_margin, self.percussive_margin);
                for b in (0..bins).step_by(LANES) {
                    let take = (bins - b).min(LANES);
                    // Whole groups copy a fixed length (inlined, no `memcpy` call).
                    let lanes = |v: &[f32]| {
                        let mut x = [0.0f32; LANES];
                        if take == LANES {
                            x.copy_from_slice(&v[b..b + LANES]);
                        } else {
                            x[..take].copy_from_slice(&v[b..b + take]);
                        }
                        x
                    };
                    let mut h = lanes(&self.h2);
                    let p = lanes(&self.p2);
                    if slots_used > 0 {
                        let a = lanes(magnitude);
                        let mut max = [0.0f32; LANES];
                        let recent = &self.recent;
                        let median = self.column.select_from(|f| {
                            let c = lanes(&recent[f * bins..(f + 1) * bins]);
                            for (m, &x) in max.iter_mut().zip(c.iter()) {
                                *m = if x > *m { x } else { *m };
                            }
                            c
                        });
                        for l in 0..LANES {
                            // The median is at most the maximum: only a bound above `h` can raise
                            // it.
                            let safe = if max[l] > 0.0 { max[l] } else { 1.0 };
                            let weight = pow5(a[l] / safe);
                            let raised = median[l] * weight;
                            let raise = max[l] > 0.0 && max[l] * weight > h[l] && raised > h[l];
                            h[l] = if raise { raised } else { h[l] };
                        }
                    }
                    let (mh, mp) = if power == 2.0 {
                        masks(h, p, bh, bp, |x| x * x)
                    } else {
                        masks(h, p, bh, bp, |x| pow(x, power))
                    };
                    if take == LANES {
                        self.band_h[b..b + LANES].copy_from_slice(&mh);
                        self.band_p[b..b + LANES].copy_from_slice(&mp);
                    } else {
                        self.band_h[b..b + take].copy_from_slice(&mh[..take]);
                        self.band_p[b..b + take].copy_from_slice(&mp[..take]);
                    }
                }
            },
        )
    }

    /// Writes the harmonic mask of the last [`push`](Self::push), per spectrum bin, to `out`.
    pub(crate) fn harmonic(&self, out: &mut [f32]) {
        crate::simd::fast(
            #[inline(always)]
            || self.grid.spread(&self.band_h, out),
        )
    }

    /// Writes the percussive mask of the last [`push`](Self::push), per spectrum bin, to `out`.
    pub(crate) fn percussive(&self, out: &mut [f32]) {
        crate::simd::fast(
            #[inline(always)]
            || self.grid.spread(&self.band_p, out),
        )
    }

    pub(crate) fn reset(&mut self) {
        self.recent.fill(0.0);
        self.newest = 0;
        self.count = 0;
        self.raw_time.reset();
        self.refined_time.reset();
    }
}

/// Soft masks from the two estimates, `LANES` bins at a time: `(MH, MP)`, each in `0..=1`,
/// `MH + MP <= 1` (equal when both margins are 1). Where both estimates are zero the bin is split
/// evenly. `pow` raises to the mask power. Branch-free, so that it vectorises.
#[inline]
fn masks(h: Lanes, p: Lanes, bh: f32, bp: f32, pow: impl Fn(f32) -> f32) -> (Lanes, Lanes) {
    let (mut mh, mut mp) = ([0.5; LANES], [0.5; LANES]);
    for l in 0..LANES {
        let (h, p) = (h[l], p[l]);
        let m = h.max(p);
        // Normalised, so that the powers neither overflow nor underflow.
        let (hn, pn) = (h / m, p / m);
        let hp = pow(hn);
        let pp = pow(pn);
        let split = m.is_nan() || m <= 0.0;
        mh[l] = if split { 0.5 } else { hp / (hp + pow(bh * pn)) };
        mp[l] = if split { 0.5 } else { pp / (pp + pow(bp * hn)) };
    }
    (mh, mp)
}

/// `x^power`: the small whole powers used by default (the mask power 2, the sustain power 5)
/// as products, at a fraction of `powf`'s cost; others through `powf`.
#[inline]
fn pow(x: f32, power: f32) -> f32 {
    if power == 2.0 {
        x * x
    } else if power == 5.0 {
        pow5(x)
    } else {
        x.powf(power)
    }
}

/// `x^5` as products: the sustain term's power, how steeply a decay over the look-ahead
/// disqualifies a bin from being sustained (a ratio of 0.9, a slowly decaying piano partial,
/// keeps 0.59 of the level; 0.5, a drum's decay, 0.03).
#[inline]
fn pow5(x: f32) -> f32 {
    let x2 = x * x;
    x2 * x2 * x
}

#[cfg(test)]
mod tests {
    use super::{masks, pow, LANES};

    /// The masks of one bin (in every lane) at `power`.
    fn masks1(h: f32, p: f32, power: f32, bh: f32, bp: f32) -> (f32, f32) {
        let (mh, mp) = masks([h; LANES], [p; LANES], bh, bp, |x| pow(x, power));
        assert!(mh.iter().all(|&x| x == mh[0]) && mp.iter().all(|&x| x == mp[0]));
        (mh[0], mp[0])
    }

    #[test]
    fn masks_sum_to_one_without_margins_and_leave_a_residual_with_them() {
        for &(h, p) in &[
            (1.0, 0.0),
            (0.0, 1.0),
            (0.3, 0.7),
            (1e-30, 3e-30),
            (0.0, 0.0),
        ] {
            for power in [2.0, 1.5] {
                let (mh, mp) = masks1(h, p, power, 1.0, 1.0);
                assert!((mh + mp - 1.0).abs() < 1e-6, "{h} {p}");
                let (mh2, mp2) = masks1(h, p, power, 2.0, 2.0);
                assert!(mh2 <= mh && mp2 <= mp && mh2 + mp2 <= 1.0 + 1e-6);
            }
        }
        let (mh, mp) = masks1(0.5, 0.5, 2.0, 2.0, 2.0);
        assert!((mh - 0.2).abs() < 1e-6 && (mp - 0.2).abs() < 1e-6);
    }
}
