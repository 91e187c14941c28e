//! YIN's cumulative mean normalised difference function (de Cheveigné & Kawahara, 2002),
//! computed with FFTs instead of the O(N²) loop.
//!
//! For a frame of `N = W + tau_max` samples, the difference function over an integration window
//! of `W` samples is
//!
//! ```text
//! d(τ) = Σ_{j<W} (x_j - x_{j+τ})²  =  e(0) + e(τ) - 2 r(τ),
//! e(τ) = Σ_{j<W} x_{j+τ}²,          r(τ) = Σ_{j<W} x_j x_{j+τ}
//! ```
//!
//! `e` comes from a running sum of squares and `r` from one cross-correlation through the FFT
//! (the first `W` samples against the whole frame, zero-padded to a power of two at least `N`, so
//! no circular wrap reaches the lags used). Everything is computed in `f64`: the dips that matter
//! are tiny differences of large sums. The normalisation is
//! `d'(τ) = d(τ) τ / Σ_{1≤k≤τ} d(k)`, `d'(0) = 1`.

use std::sync::Arc;

use realfft::num_complex::Complex64;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

/// The normalised difference function of one frame.
pub(crate) struct Yin {
    window: usize,
    max_lag: usize,
    /// Frame samples, `window + max_lag`.
    frame: Vec<f64>,
    fft_frame: Vec<f64>,
    fft_head: Vec<f64>,
    spec_frame: Vec<Complex64>,
    spec_head: Vec<Complex64>,
    corr: Vec<f64>,
    scratch_fwd: Vec<Complex64>,
    scratch_inv: Vec<Complex64>,
    forward: Arc<dyn RealToComplex<f64>>,
    inverse: Arc<dyn ComplexToReal<f64>>,
    /// `d'(τ)` for `τ` in `0..=max_lag`.
    cmndf: Vec<f64>,
    /// Mean square of the frame.
    mean_square: f64,
}

impl Yin {
    /// A difference function over an integration window of `window` samples and lags up to
    /// `max_lag`; frames are `window + max_lag` samples long.
    pub(crate) fn new(window: usize, max_lag: usize) -> Self {
        let n = window + max_lag;
        let fft_len = n.next_power_of_two();
        let mut planner = RealFftPlanner::<f64>::new();
        let forward = planner.plan_fft_forward(fft_len);
        let inverse = planner.plan_fft_inverse(fft_len);
        Self {
            window,
            max_lag,
            frame: vec![0.0; n],
            fft_frame: forward.make_input_vec(),
            fft_head: forward.make_input_vec(),
            spec_frame: forward.make_output_vec(),
            spec_head: forward.make_output_vec(),
            corr: inverse.make_output_vec(),
            scratch_fwd: forward.make_scratch_vec(),
            scratch_inv: inverse.make_scratch_vec(),
            forward,
            inverse,
            cmndf: vec![1.0; max_lag + 1],
            mean_square: 0.0,
        }
    }

    /// Frame length in samples (`window + max_lag`).
    pub(crate) fn frame_len(&self) -> usize {
        self.frame.len()
    }

    /// The frame buffer, to be filled with the newest samples before [`Yin::process`].
    pub(crate) fn frame_mut(&mut self) -> &mut [f64] {
        &mut self.frame
    }

    /// Mean square of the last frame processed.
    pub(crate) fn mean_square(&self) -> f64 {
        self.mean_square
    }

    /// `d'(τ)` of the last frame processed, for `τ` in `0..=max_lag`.
    pub(crate) fn cmndf(&self) -> &[f64] {
        &self.cmndf
    }

    /// Computes the normalised difference function of the frame.
    pub(crate) fn process(&mut self) {
        let n = self.frame.len();
        let w = self.window;
        // Remove the frame's mean: a DC offset adds nothing to d(τ) in exact arithmetic but
        // costs precision in e(0) + e(τ) - 2 r(τ).
        let mean = self.frame.iter().sum::<f64>() / n as f64;
        let mut ms = 0.0;
        for (dst, &x) in self.fft_frame.iter_mut().zip(&self.frame) {
            let v = x - mean;
            *dst = v;
            ms += v * v;
        }
        self.mean_square = ms / n as f64;
        self.fft_frame[n..].fill(0.0);
        self.fft_head[..w].copy_from_slice(&self.fft_frame[..w]);
        self.fft_head[w..].fill(0.0);
        // Energies before the FFTs overwrite their inputs: e(0), then e(τ) by a running sum.
        let e0: f64 = self.fft_frame[..w].iter().map(|v| v * v).sum();
        if e0 + ms <= f64::MIN_POSITIVE * n as f64 {
            // Digital silence: no dip anywhere.
            self.cmndf.fill(1.0);
            return;
        }
        let mut e_tau = e0;
        // d(τ) is written into `corr` after the correlation is known; keep the energies in the
        // cmndf buffer meanwhile (same length, no extra storage).
        self.cmndf[0] = e0;
        for tau in 1..=self.max_lag {
            let out = self.fft_frame[tau - 1];
            let inn = self.fft_frame[tau - 1 + w];
            e_tau += inn * inn - out * out;
            self.cmndf[tau] = e_tau;
        }
        // Lengths come from the plans themselves, so these cannot fail.
        let _ = self.forward.process_with_scratch(
            &mut self.fft_frame,
            &mut self.spec_frame,
            &mut self.scratch_fwd,
        );
        let _ = self.forward.process_with_scratch(
            &mut self.fft_head,
            &mut self.spec_head,
            &mut self.scratch_fwd,
        );
        for (a, b) in self.spec_frame.iter_mut().zip(&self.spec_head) {
            *a *= b.conj();
        }
        // The inverse of a real signal's spectrum has a real DC and Nyquist bin; rounding may
        // leave a tiny imaginary part there, which realfft rejects. Zero it.
        if let Some(first) = self.spec_frame.first_mut() {
            first.im = 0.0;
        }
        if let Some(last) = self.spec_frame.last_mut() {
            last.im = 0.0;
        }
        let _ = self.inverse.process_with_scratch(
            &mut self.spec_frame,
            &mut self.corr,
            &mut self.scratch_inv,
        );
        let scale = 1.0 / self.corr.len() as f64;
        // d(τ) and the cumulative mean normalisation in one pass.
        let floor = e0 * 1e-12;
        self.cmndf[0] = 1.0;
        let mut running = 0.0;
        for tau in 1..=self.max_lag {
            let d = (e0 + self.cmndf[tau] - 2.0 * self.corr[tau] * scale).max(0.0);
            running += d;
            self.cmndf[tau] = if running > floor {
                d * tau as f64 / running
            } else {
                1.0
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn direct(x: &[f64], w: usize, max_lag: usize) -> Vec<f64> {
        let d: Vec<f64> = (0..=max_lag)
            .map(|tau| (0..w).map(|j| (x[j] - x[j + tau]).powi(2)).sum())
            .collect();
        let mut out = vec![1.0; max_lag + 1];
        let mut running = 0.0;
        for tau in 1..=max_lag {
            running += d[tau];
            out[tau] = d[tau] * tau as f64 / running;
        }
        out
    }

    #[test]
    fn fft_difference_function_matches_the_direct_sum() {
        let (w, max_lag) = (300, 250);
        let mut yin = Yin::new(w, max_lag);
        let mut seed = 1u32;
        let x: Vec<f64> = (0..w + max_lag)
            .map(|i| {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (i as f64 * 0.07).sin() + 0.3 * (seed as f64 / u32::MAX as f64 - 0.5)
            })
            .collect();
        // The direct form on the mean-removed frame (the FFT form removes the mean).
        let mean = x.iter().sum::<f64>() / x.len() as f64;
        let xm: Vec<f64> = x.iter().map(|v| v - mean).collect();
        yin.frame_mut().copy_from_slice(&x);
        yin.process();
        let want = direct(&xm, w, max_lag);
        for (tau, (a, b)) in yin.cmndf().iter().zip(&want).enumerate() {
            assert!((a - b).abs() < 1e-9, "tau {tau}: {a} vs {b}");
        }
    }

    #[test]
    fn a_periodic_frame_dips_to_zero_at_its_period() {
        let (w, max_lag) = (400, 400);
        let mut yin = Yin::new(w, max_lag);
        for (i, x) in yin.frame_mut().iter_mut().enumerate() {
            let p = (i % 100) as f64 / 100.0;
            *x = p - 0.5 + 0.2 * (2.0 * std::f64::consts::PI * p).sin();
        }
        yin.process();
        let c = yin.cmndf();
        assert!(c[100] < 1e-9 && c[200] < 1e-9);
        assert!(c[50] > 0.5);
    }

    #[test]
    fn silence_has_no_dip() {
        let mut yin = Yin::new(64, 64);
        yin.process();
        assert!(yin.cmndf().iter().all(|&v| v == 1.0));
        assert_eq!(yin.mean_square(), 0.0);
    }
}
