//! The streaming STFT of the separator: an asymmetric analysis / synthesis window pair that
//! reconstructs perfectly at low latency (Mauler and Martin, "A low delay, variable resolution,
//! perfect reconstruction spectral analysis-synthesis system for speech enhancement", 2007), a
//! forward FFT per frame and an inverse FFT per pair of masked signals (see [`Stft`]), with
//! weighted overlap-add.
//!
//! The analysis window spans the whole frame (`K = frame_hops * hop` samples): a long rising
//! sqrt-Hann and a short falling sqrt-Hann over the last hop, so the spectrum has the frequency
//! resolution of a `K`-sample frame. The synthesis window lives on the last two hops only, so a
//! frame's output is final two hops after the frame ends instead of `K`. Their product is a Hann
//! window of `2 * hop` samples on the last two hops, which overlap-adds to exactly 1 at that hop.

use std::sync::Arc;

use rustfft::num_complex::Complex32;
use rustfft::{Fft, FftPlanner};

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

/// Forward and inverse complex FFTs of one frame length, with their buffers.
///
/// Two real signals share each transform: a pair of channels is analysed as `a + i b`, and the
/// inverse transform of `Z (M1 + i M2)` returns one masked signal in its real part and another in
/// its imaginary part (every mask of a real signal is symmetric, so each product stays the
/// spectrum of a real signal). Against a real FFT per signal this halves the transforms and
/// skips the real FFT's own pre- and post-processing, which costs as much as the half-length
/// complex FFT inside it.
pub(crate) struct Stft {
    analysis: Vec<f32>,
    synthesis: Vec<f32>,
    /// What analysis, unmasked inverse transform and synthesis do to a frame's last `2 * hop`
    /// samples: a periodic Hann of `2 * hop` samples (see [`window_pair`]).
    unity: Vec<f32>,
    hop: usize,
    /// The transforms' input (also their scratch: garbage after each).
    input: Vec<Complex32>,
    /// The inverse transform's output.
    output: Vec<Complex32>,
    scratch: Vec<Complex32>,
    fwd: Arc<dyn Fft<f32>>,
    inv: Arc<dyn Fft<f32>>,
}

impl Stft {
    /// Frames of `frame` samples (even) every `hop` samples.
    pub(crate) fn new(frame: usize, hop: usize) -> Self {
        debug_assert!(frame % 2 == 0);
        let mut planner = FftPlanner::<f32>::new();
        let fwd = planner.plan_fft_forward(frame);
        let inv = planner.plan_fft_inverse(frame);
        let (mut analysis, mut synthesis) = window_pair(frame, hop);
        // The inverse is unnormalised: fold 1/K into the synthesis window.
        let norm = 1.0 / frame as f32;
        synthesis.iter_mut().for_each(|w| *w *= norm);
        analysis.shrink_to_fit();
        let scratch_len = fwd
            .get_outofplace_scratch_len()
            .max(inv.get_outofplace_scratch_len());
        Self {
            input: vec![Complex32::default(); frame],
            output: vec![Complex32::default(); frame],
            scratch: vec![Complex32::default(); scratch_len],
            analysis,
            synthesis,
            unity: hann(2 * hop).iter().map(|&w| w as f32).collect(),
            hop,
            fwd,
            inv,
        }
    }

    /// Spectrum length, `K` complex values (the whole spectrum of a pair of real signals).
    pub(crate) fn len(&self) -> usize {
        self.input.len()
    }

    /// Mask length, `K / 2 + 1`: the bins of one real signal's spectrum.
    pub(crate) fn bins(&self) -> usize {
        self.input.len() / 2 + 1
    }

    /// Windows `a` and `b` (each the newest `K` samples of a signal, oldest first; no `b` is
    /// silence) and writes the spectrum of `a + i b`, `K` values, to `out`.
    pub(crate) fn analyze(&mut self, a: &[f32], b: Option<&[f32]>, out: &mut [Complex32]) {
        crate::simd::fast(
            #[inline(always)]
            || {
                match b {
                    Some(b) => {
                        for (((t, &x), &y), &w) in
                            self.input.iter_mut().zip(a).zip(b).zip(&self.analysis)
                        {
                            *t = Complex32::new(x * w, y * w);
                        }
                    }
                    None => {
                        for ((t, &x), &w) in self.input.iter_mut().zip(a).zip(&self.analysis) {
                            *t = Complex32::new(x * w, 0.0);
                        }
                    }
                }
                self.fwd
                    .process_outofplace_with_scratch(&mut self.input, out, &mut self.scratch);
            },
        )
    }

    /// Inverse-transforms `spectrum * (m1 + i m2)` (no `m2` is zero; each mask holds
    /// [`bins`](Self::bins) values and applies mirrored to the negative frequencies) and writes
    /// the synthesis-windowed real and imaginary parts' last `2 * hop` samples (the only
    /// non-zero ones, frame samples `K - 2 * hop` on) to `re` and `im`.
    ///
    /// For the spectrum of a pair `a + i b` and no `m2`, `re` is `a` masked by `m1` and `im` is
    /// `b` masked by it; for the spectrum of one real signal `a`, `re` is `a` masked by `m1` and
    /// `im` is `a` masked by `m2`.
    pub(crate) fn synthesize(
        &mut self,
        spectrum: &[Complex32],
        m1: &[f32],
        m2: Option<&[f32]>,
        re: &mut [f32],
        im: &mut [f32],
    ) {
        crate::simd::fast(
            #[inline(always)]
            || {
                let k = self.input.len();
                let half = k / 2;
                // Bins 0..=K/2 take the masks in order, bins K/2+1..K mirrored (bin K - j takes j).
                let (low, high) = self.input.split_at_mut(half + 1);
                let (z_low, z_high) = spectrum.split_at(half + 1);
                match m2 {
                    None => {
                        for ((y, &z), &m) in low.iter_mut().zip(z_low).zip(m1) {
                            *y = z * m;
                        }
                        for ((y, &z), &m) in
                            high.iter_mut().zip(z_high).zip(m1[1..half].iter().rev())
                        {
                            *y = z * m;
                        }
                    }
                    Some(m2) => {
                        let product = |z: Complex32, m1: f32, m2: f32| {
                            Complex32::new(z.re * m1 - z.im * m2, z.im * m1 + z.re * m2)
                        };
                        for (((y, &z), &a), &b) in low.iter_mut().zip(z_low).zip(m1).zip(m2) {
                            *y = product(z, a, b);
                        }
                        let mirrored = m1[1..half].iter().rev().zip(m2[1..half].iter().rev());
                        for ((y, &z), (&a, &b)) in high.iter_mut().zip(z_high).zip(mirrored) {
                            *y = product(z, a, b);
                        }
                    }
                }
                self.inv.process_outofplace_with_scratch(
                    &mut self.input,
                    &mut self.output,
                    &mut self.scratch,
                );
                let start = k - 2 * self.hop;
                let tail = self.output[start..].iter().zip(&self.synthesis[start..]);
                for ((r, i), (y, &w)) in re.iter_mut().zip(im.iter_mut()).zip(tail) {
                    *r = y.re * w;
                    *i = y.im * w;
                }
            },
        )
    }

    /// Writes to `out` what [`synthesize`](Self::synthesize) gives with a mask of all ones (the
    /// frame itself, to rounding), without the transforms: `tail` (the frame's last `2 * hop`
    /// samples) under the window product.
    #[inline(always)]
    pub(crate) fn pass_through(&self, tail: &[f32], out: &mut [f32]) {
        for ((o, &x), &w) in out.iter_mut().zip(tail).zip(&self.unity) {
            *o = x * w;
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

    /// Two real signals share each transform: against a real FFT and inverse per signal, both
    /// packings give each masked signal to rounding.
    #[test]
    fn packed_transforms_match_one_real_fft_per_signal() {
        use realfft::RealFftPlanner;
        let (k, hop) = (1536, 256);
        let mut seed = 3u32;
        let mut noise = move || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            seed as f32 / u32::MAX as f32 - 0.5
        };
        let a: Vec<f32> = (0..k).map(|i| (i as f32 * 0.05).sin() + noise()).collect();
        let b: Vec<f32> = (0..k)
            .map(|i| 0.3 * (i as f32 * 0.21).cos() + noise())
            .collect();
        let m1: Vec<f32> = (0..=k / 2).map(|_| noise() + 0.5).collect();
        let m2: Vec<f32> = (0..=k / 2).map(|_| noise() + 0.5).collect();
        // The reference: a real FFT, the mask, a real inverse FFT and the synthesis window.
        let (wa, ws) = window_pair(k, hop);
        let mut planner = RealFftPlanner::<f32>::new();
        let (fwd, inv) = (planner.plan_fft_forward(k), planner.plan_fft_inverse(k));
        let reference = |x: &[f32], m: &[f32]| -> Vec<f32> {
            let mut t: Vec<f32> = x.iter().zip(&wa).map(|(x, w)| x * w).collect();
            let mut s = fwd.make_output_vec();
            fwd.process(&mut t, &mut s).unwrap();
            s.iter_mut().zip(m).for_each(|(s, &m)| *s *= m);
            inv.process(&mut s, &mut t).unwrap();
            (k - 2 * hop..k).map(|i| t[i] * ws[i] / k as f32).collect()
        };
        let mut stft = Stft::new(k, hop);
        let mut z = vec![Complex32::default(); stft.len()];
        let (mut re, mut im) = (vec![0.0; 2 * hop], vec![0.0; 2 * hop]);
        let close = |x: &[f32], y: &[f32]| {
            let err = x
                .iter()
                .zip(y)
                .map(|(x, y)| (x - y).abs())
                .fold(0.0, f32::max);
            assert!(err < 1e-5, "{err}");
            assert!(y.iter().any(|y| y.abs() > 0.01));
        };
        // A pair of signals, one mask.
        stft.analyze(&a, Some(&b), &mut z);
        stft.synthesize(&z, &m1, None, &mut re, &mut im);
        close(&re, &reference(&a, &m1));
        close(&im, &reference(&b, &m1));
        // One signal, two masks.
        stft.analyze(&a, None, &mut z);
        stft.synthesize(&z, &m1, Some(&m2), &mut re, &mut im);
        close(&re, &reference(&a, &m1));
        close(&im, &reference(&a, &m2));
    }
}
