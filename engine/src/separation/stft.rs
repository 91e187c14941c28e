//! The streaming STFT of the separator: an asymmetric analysis / synthesis window pair that
//! reconstructs perfectly at low latency (Mauler and Martin, "A low delay, variable resolution,
//! perfect reconstruction spectral analysis-synthesis system for speech enhancement", 2007), a
//! forward FFT per channel and frame, and an inverse FFT with weighted overlap-add.
//!
//! The analysis window spans the whole frame (`K = frame_hops * hop` samples): a long rising
//! sqrt-Hann and a short falling sqrt-Hann over the last hop, so the spectrum has the frequency
//! resolution of a `K`-sample frame. The synthesis window lives on the last two hops only, so a
//! frame's output is final two hops after the frame ends instead of `K`. Their product is a Hann
//! window of `2 * hop` samples on the last two hops, which overlap-adds to exactly 1 at that hop.

use std::sync::Arc;

use realfft::num_complex::Complex32;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

/// A periodic Hann window of `n` samples, in `f64`.
fn hann(n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| {
            let x = std::f64::consts::PI * i as f64 / n as f64;
            x.sin() * x.sin()
        })
        .collect()
}

/// The analysis and synthesis windows `(analysis, synthesis)` for a frame of `k` samples and a
/// hop of `m` samples (`k >= 2 m`). `analysis * synthesis` is a periodic Hann of `2 m` samples
/// on the last `2 m` samples and zero before, so frames `m` apart overlap-add to exactly 1
/// (with an unnormalised inverse FFT, divide by `k` as well).
///
/// ```
/// let (wa, ws) = cochlea_engine::separation::window_pair(2048, 256);
/// assert_eq!(ws[..2048 - 512].iter().filter(|&&w| w != 0.0).count(), 0);
/// // Sample 100 of a hop gets the frame ending one hop later and the one ending two hops later.
/// assert!((wa[1892] * ws[1892] + wa[1636] * ws[1636] - 1.0).abs() < 1e-6);
/// ```
pub fn window_pair(k: usize, m: usize) -> (Vec<f32>, Vec<f32>) {
    debug_assert!(k >= 2 * m);
    let l = k - m;
    let long = hann(2 * l);
    let short = hann(2 * m);
    let mut wa = vec![0.0f32; k];
    let mut ws = vec![0.0f32; k];
    for i in 0..l {
        wa[i] = long[i].sqrt() as f32;
    }
    for i in 0..m {
        wa[l + i] = short[m + i].sqrt() as f32;
        ws[l + i] = short[m + i].sqrt() as f32;
        ws[k - 2 * m + i] = (short[i] / long[l - m + i].sqrt()) as f32;
    }
    (wa, ws)
}

/// Forward and inverse FFTs of one frame length, with their buffers.
pub(crate) struct Stft {
    analysis: Vec<f32>,
    synthesis: Vec<f32>,
    /// What analysis, unmasked inverse transform and synthesis do to a frame's last `2 * hop`
    /// samples: a periodic Hann of `2 * hop` samples (see [`window_pair`]).
    unity: Vec<f32>,
    hop: usize,
    time: Vec<f32>,
    scratch_fwd: Vec<Complex32>,
    scratch_inv: Vec<Complex32>,
    spectrum: Vec<Complex32>,
    fwd: Arc<dyn RealToComplex<f32>>,
    inv: Arc<dyn ComplexToReal<f32>>,
}

impl Stft {
    pub(crate) fn new(frame: usize, hop: usize) -> Self {
        let mut planner = RealFftPlanner::<f32>::new();
        let fwd = planner.plan_fft_forward(frame);
        let inv = planner.plan_fft_inverse(frame);
        let (mut analysis, mut synthesis) = window_pair(frame, hop);
        // realfft's inverse is unnormalised: fold 1/K into the synthesis window.
        let norm = 1.0 / frame as f32;
        synthesis.iter_mut().for_each(|w| *w *= norm);
        analysis.shrink_to_fit();
        Self {
            time: fwd.make_input_vec(),
            scratch_fwd: fwd.make_scratch_vec(),
            scratch_inv: inv.make_scratch_vec(),
            spectrum: fwd.make_output_vec(),
            analysis,
            synthesis,
            unity: hann(2 * hop).iter().map(|&w| w as f32).collect(),
            hop,
            fwd,
            inv,
        }
    }

    /// Spectrum bins, `K / 2 + 1`.
    pub(crate) fn bins(&self) -> usize {
        self.spectrum.len()
    }

    /// Windows `frame` (the newest `K` samples, oldest first) and writes its spectrum to `out`.
    pub(crate) fn analyze(&mut self, frame: &[f32], out: &mut [Complex32]) {
        for ((t, &x), &w) in self.time.iter_mut().zip(frame).zip(&self.analysis) {
            *t = x * w;
        }
        // Lengths come from the plan, so this cannot fail.
        let _ = self
            .fwd
            .process_with_scratch(&mut self.time, out, &mut self.scratch_fwd);
    }

    /// Inverse-transforms `spectrum * mask` and adds the synthesis-windowed result (only its
    /// last `2 * hop` samples are non-zero) into `ola`, whose first element is frame sample
    /// `K - 2 * hop`.
    pub(crate) fn synthesize(&mut self, spectrum: &[Complex32], mask: &[f32], ola: &mut [f32]) {
        for ((s, &x), &m) in self.spectrum.iter_mut().zip(spectrum).zip(mask) {
            *s = x * m;
        }
        // A real signal's DC and Nyquist bins are real; masking keeps them so, and realfft
        // checks it: force exact zeros.
        let n = self.spectrum.len();
        self.spectrum[0].im = 0.0;
        self.spectrum[n - 1].im = 0.0;
        let _ = self.inv.process_with_scratch(
            &mut self.spectrum,
            &mut self.time,
            &mut self.scratch_inv,
        );
        let k = self.analysis.len();
        let start = k - 2 * self.hop;
        for ((o, &y), &w) in ola
            .iter_mut()
            .zip(&self.time[start..])
            .zip(&self.synthesis[start..])
        {
            *o += y * w;
        }
    }

    /// Adds to `ola` what [`synthesize`](Self::synthesize) adds with a mask of all ones (the
    /// frame itself, to rounding), without the transforms: `tail` (the frame's last `2 * hop`
    /// samples) under the window product.
    pub(crate) fn pass_through(&self, tail: &[f32], ola: &mut [f32]) {
        for ((o, &x), &w) in ola.iter_mut().zip(tail).zip(&self.unity) {
            *o += x * w;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_product_overlap_adds_to_one() {
        let (k, m) = (2048, 256);
        let (wa, ws) = window_pair(k, m);
        for i in 0..m {
            // Sample i of a hop receives the frame ending one hop later (offset k - m + i) and
            // the frame ending two hops later (offset k - 2m + i).
            let s = wa[k - m + i] * ws[k - m + i] + wa[k - 2 * m + i] * ws[k - 2 * m + i];
            assert!((s - 1.0).abs() < 1e-6, "{i}: {s}");
        }
        assert!(ws[..k - 2 * m].iter().all(|&w| w == 0.0));
        assert!(wa.iter().all(|w| w.is_finite()) && ws.iter().all(|w| w.is_finite()));
    }
}
