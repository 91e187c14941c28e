//! Real FFTs, forward and inverse, computed as `realfft` computes them: a complex FFT of half the
//! length (rustfft's) on the even and odd samples packed as real and imaginary parts, and one
//! pass that splits the two real spectra apart and combines them (or, for the inverse, merges
//! them before the complex FFT).
//!
//! `realfft` runs those passes generically over the sample type and one bin pair at a time, from
//! both ends of the spectrum: they do not vectorise, and the forward one cost about as much as
//! the complex FFT itself (7% of the plugin configuration's instructions). Here the passes run
//! on 8 bin pairs at a time, with the mirrored half reversed within each group, under
//! [`simd::fast`](crate::simd::fast). The complex FFTs, and so the results up to rounding, are
//! the same.
//!
//! With `Z = FFT_{N/2}(x_{2n} + i x_{2n+1})`, `h = N / 2` and `W = e^{-2πi/N}`, for `0 < k < h`:
//!
//! ```text
//! E = (Z_k + conj Z_{h-k}) / 2,   O = -i (Z_k - conj Z_{h-k}) / 2,
//! X_k = E + W^k O,                X_{h-k} = conj(E - W^k O),
//! ```
//!
//! and `X_0 = Re Z_0 + Im Z_0`, `X_h = Re Z_0 - Im Z_0`. [`RealIfft`] runs the pass backwards
//! (`Z_k = E + i O`, `Z_{h-k} = conj E + i conj O` with `E`, `W^k O` the half sum and
//! difference of `X_k` and `conj X_{h-k}`), then the inverse complex FFT: unnormalised, as
//! `realfft`'s, so a forward and an inverse transform scale a frame by its length.

use std::sync::Arc;

use rustfft::num_complex::Complex32;
use rustfft::{Fft, FftDirection, FftPlanner};

/// Bin pairs combined per group.
const GROUP: usize = 8;

/// What both directions hold: the length, the half-length complex FFT, and the twiddles of
/// the pair pass for `k` in `1..=(h - 1) / 2`, real and imaginary parts.
struct Plan {
    len: usize,
    fft: Arc<dyn Fft<f32>>,
    tw_re: Vec<f32>,
    tw_im: Vec<f32>,
}

impl Plan {
    /// For `len` samples (even, at least 2); the twiddles are `scale e^{∓2πik/len}` (the sign of
    /// `direction`).
    fn new(len: usize, direction: FftDirection, scale: f64) -> Self {
        assert!(
            len >= 2 && len % 2 == 0,
            "real FFT length {len} is not even"
        );
        let h = len / 2;
        let sign = match direction {
            FftDirection::Forward => -1.0,
            FftDirection::Inverse => 1.0,
        };
        let angle = |k: usize| sign * 2.0 * std::f64::consts::PI * k as f64 / len as f64;
        let pairs = 1..=(h - 1) / 2;
        Self {
            len,
            fft: FftPlanner::<f32>::new().plan_fft(h, direction),
            tw_re: pairs
                .clone()
                .map(|k| (scale * angle(k).cos()) as f32)
                .collect(),
            tw_im: pairs.map(|k| (scale * angle(k).sin()) as f32).collect(),
        }
    }

    fn scratch_len(&self) -> usize {
        self.fft.get_outofplace_scratch_len()
    }
}

/// A forward real FFT of a fixed even length.
pub(crate) struct RealFft {
    /// Twiddles `W^k / 2`.
    plan: Plan,
}

impl RealFft {
    /// A transform of `len` samples (even, at least 2).
    pub(crate) fn new(len: usize) -> Self {
        Self {
            plan: Plan::new(len, FftDirection::Forward, 0.5),
        }
    }

    /// A zeroed input buffer.
    pub(crate) fn make_input_vec(&self) -> Vec<f32> {
        vec![0.0; self.plan.len]
    }

    /// A zeroed output buffer: `len / 2 + 1` bins.
    pub(crate) fn make_output_vec(&self) -> Vec<Complex32> {
        vec![Complex32::default(); self.plan.len / 2 + 1]
    }

    /// Scratch for [`process_with_scratch`](Self::process_with_scratch).
    pub(crate) fn make_scratch_vec(&self) -> Vec<Complex32> {
        vec![Complex32::default(); self.plan.scratch_len()]
    }

    /// Writes the spectrum of `input` (`len` samples, used as scratch) to `output` (`len / 2 + 1`
    /// bins). Buffers of other lengths than the `make_*` ones leave `output` untouched.
    pub(crate) fn process_with_scratch(
        &self,
        input: &mut [f32],
        output: &mut [Complex32],
        scratch: &mut [Complex32],
    ) {
        let h = self.plan.len / 2;
        if input.len() != self.plan.len
            || output.len() != h + 1
            || scratch.len() < self.plan.scratch_len()
        {
            debug_assert!(false, "real FFT buffers of the wrong length");
            return;
        }
        let packed: &mut [Complex32] = bytemuck::cast_slice_mut(input);
        self.plan
            .fft
            .process_outofplace_with_scratch(packed, &mut output[..h], scratch);
        crate::simd::fast(
            #[inline(always)]
            || self.split(output),
        )
    }

    /// The pass from `Z` (in `output[..h]`) to `X` (see the module documentation).
    #[inline(always)]
    fn split(&self, output: &mut [Complex32]) {
        let h = self.plan.len / 2;
        let z0 = output[0];
        output[0] = Complex32::new(z0.re + z0.im, 0.0);
        output[h] = Complex32::new(z0.re - z0.im, 0.0);
        if h % 2 == 0 && h >= 2 {
            // k = h / 2 pairs with itself: X = conj Z.
            output[h / 2].im = -output[h / 2].im;
        }
        for_pairs(
            &mut output[..h],
            &self.plan.tw_re,
            &self.plan.tw_im,
            split_pair,
        );
    }
}

/// The inverse of [`RealFft`]: `len / 2 + 1` bins to `len` samples, unnormalised.
pub(crate) struct RealIfft {
    /// Twiddles `conj W^k`.
    plan: Plan,
}

impl RealIfft {
    /// A transform to `len` samples (even, at least 2).
    pub(crate) fn new(len: usize) -> Self {
        Self {
            plan: Plan::new(len, FftDirection::Inverse, 1.0),
        }
    }

    /// A zeroed output buffer: `len` samples.
    pub(crate) fn make_output_vec(&self) -> Vec<f32> {
        vec![0.0; self.plan.len]
    }

    /// Scratch for [`process_with_scratch`](Self::process_with_scratch).
    pub(crate) fn make_scratch_vec(&self) -> Vec<Complex32> {
        vec![Complex32::default(); self.plan.scratch_len()]
    }

    /// Writes the `len` samples whose spectrum is `input` (`len / 2 + 1` bins, used as scratch;
    /// the imaginary parts of the first and last are taken as 0) to `output`, times `len`.
    /// Buffers of other lengths leave `output` untouched.
    pub(crate) fn process_with_scratch(
        &self,
        input: &mut [Complex32],
        output: &mut [f32],
        scratch: &mut [Complex32],
    ) {
        let h = self.plan.len / 2;
        if input.len() != h + 1
            || output.len() != self.plan.len
            || scratch.len() < self.plan.scratch_len()
        {
            debug_assert!(false, "real FFT buffers of the wrong length");
            return;
        }
        crate::simd::fast(
            #[inline(always)]
            || self.merge(input),
        );
        let packed: &mut [Complex32] = bytemuck::cast_slice_mut(output);
        self.plan
            .fft
            .process_outofplace_with_scratch(&mut input[..h], packed, scratch);
    }

    /// From `X` to `2 Z` in `input[..h]`.
    #[inline(always)]
    fn merge(&self, input: &mut [Complex32]) {
        let h = self.plan.len / 2;
        let (x0, xh) = (input[0].re, input[h].re);
        input[0] = Complex32::new(x0 + xh, x0 - xh);
        if h % 2 == 0 && h >= 2 {
            let m = input[h / 2];
            input[h / 2] = Complex32::new(2.0 * m.re, -2.0 * m.im);
        }
        for_pairs(
            &mut input[..h],
            &self.plan.tw_re,
            &self.plan.tw_im,
            uncombine,
        );
    }
}

/// `(2 Z_k, 2 Z_{h-k})` from `a = X_k`, `b = X_{h-k}` and `conj W^k = (tr, ti)`.
#[inline(always)]
fn uncombine(a: Complex32, b: Complex32, tr: f32, ti: f32) -> (Complex32, Complex32) {
    // 2 E = a + conj b; 2 W^k O = a - conj b; 2 O = conj W^k (a - conj b).
    let (er, ei) = (a.re + b.re, a.im - b.im);
    let (dr, di) = (a.re - b.re, a.im + b.im);
    let (or, oi) = (tr * dr - ti * di, tr * di + ti * dr);
    // Z_k = E + i O; Z_{h-k} = conj E + i conj O.
    (
        Complex32::new(er - oi, ei + or),
        Complex32::new(er + oi, or - ei),
    )
}

/// `(X_k, X_{h-k})` from a bin `a = Z_k` and its mirror `b = Z_{h-k}`, with `W^k / 2 = (tr, ti)`
/// (the halves of `E` and `O` are in the twiddle for `O`, and taken here for `E`).
#[inline(always)]
fn split_pair(a: Complex32, b: Complex32, tr: f32, ti: f32) -> (Complex32, Complex32) {
    // E = (a + conj b) / 2, with conj b = (b.re, -b.im).
    let (er, ei) = (0.5 * (a.re + b.re), 0.5 * (a.im - b.im));
    // 2 O = -i (a - conj b) = (a.im + b.im, -(a.re - b.re)); t = W^k O.
    let (or, oi) = (a.im + b.im, b.re - a.re);
    let (t_re, t_im) = (tr * or - ti * oi, tr * oi + ti * or);
    // X_k = E + t, X_{h-k} = conj(E - t).
    (
        Complex32::new(er + t_re, ei + t_im),
        Complex32::new(er - t_re, t_im - ei),
    )
}

/// Applies `f(Z_k, Z_{h-k}, tw_re, tw_im)` to every bin pair `0 < k < h - k` of `bins` (`h`
/// long), the twiddles' `k - 1`th for pair `k`: groups of [`GROUP`] pairs, the mirrored bins
/// reversed within each group so that the compiler can vectorise it, then the rest one by one.
#[inline(always)]
fn for_pairs(
    bins: &mut [Complex32],
    tw_re: &[f32],
    tw_im: &[f32],
    f: impl Fn(Complex32, Complex32, f32, f32) -> (Complex32, Complex32),
) {
    let h = bins.len();
    let pairs = tw_re.len();
    if pairs == 0 {
        return;
    }
    // Bins 1..=pairs, and their mirrors h - pairs..h (descending k from the end).
    let (low, rest) = bins[1..h].split_at_mut(pairs);
    let skip = rest.len() - pairs;
    let high = &mut rest[skip..];
    let groups = pairs / GROUP;
    for g in 0..groups {
        let lo = &mut low[g * GROUP..(g + 1) * GROUP];
        let hi_start = pairs - (g + 1) * GROUP;
        let hi = &mut high[hi_start..hi_start + GROUP];
        let tr = &tw_re[g * GROUP..(g + 1) * GROUP];
        let ti = &tw_im[g * GROUP..(g + 1) * GROUP];
        let mut out_lo = [Complex32::default(); GROUP];
        let mut out_hi = [Complex32::default(); GROUP];
        for j in 0..GROUP {
            (out_lo[j], out_hi[GROUP - 1 - j]) = f(lo[j], hi[GROUP - 1 - j], tr[j], ti[j]);
        }
        lo.copy_from_slice(&out_lo);
        hi.copy_from_slice(&out_hi);
    }
    let done = groups * GROUP;
    let rest = pairs - done;
    // The rest of the low bins ascending, their mirrors (the first `rest` high ones) descending.
    for (((l, h), &tr), &ti) in low[done..]
        .iter_mut()
        .zip(high[..rest].iter_mut().rev())
        .zip(&tw_re[done..])
        .zip(&tw_im[done..])
    {
        (*l, *h) = f(*l, *h, tr, ti);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The DFT by its definition, in f64.
    fn dft(x: &[f32]) -> Vec<(f64, f64)> {
        let n = x.len();
        (0..=n / 2)
            .map(|k| {
                x.iter().enumerate().fold((0.0, 0.0), |(re, im), (j, &v)| {
                    let a = -2.0 * std::f64::consts::PI * (k * j % n) as f64 / n as f64;
                    (re + v as f64 * a.cos(), im + v as f64 * a.sin())
                })
            })
            .collect()
    }

    #[test]
    fn matches_the_dft_at_every_length_shape() {
        // Lengths with no pairs, pairs fewer than a group, whole groups and remainders, odd
        // and even halves.
        for len in [
            2usize, 4, 6, 10, 34, 36, 64, 100, 510, 512, 1000, 1024, 1470,
        ] {
            let fft = RealFft::new(len);
            let mut seed = len as u32;
            let x: Vec<f32> = (0..len)
                .map(|i| {
                    seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    (i as f32 * 0.37).sin() + (seed as f32 / u32::MAX as f32 - 0.5)
                })
                .collect();
            let mut input = x.clone();
            let mut out = fft.make_output_vec();
            let mut scratch = fft.make_scratch_vec();
            fft.process_with_scratch(&mut input, &mut out, &mut scratch);
            let l1: f64 = x.iter().map(|v| v.abs() as f64).sum();
            for (k, (got, want)) in out.iter().zip(dft(&x)).enumerate() {
                let err =
                    ((got.re as f64 - want.0).powi(2) + (got.im as f64 - want.1).powi(2)).sqrt();
                assert!(err < 1e-6 * l1, "len {len} bin {k}: {got} vs {want:?}");
            }
        }
    }

    #[test]
    fn the_inverse_undoes_the_forward_transform_times_the_length() {
        for len in [
            2usize, 4, 6, 10, 34, 36, 64, 100, 510, 512, 1000, 1024, 1470,
        ] {
            let (fwd, inv) = (RealFft::new(len), RealIfft::new(len));
            let x: Vec<f32> = (0..len)
                .map(|i| (i as f32 * 0.21).cos() + ((i * 5) % 7) as f32 * 0.1)
                .collect();
            let mut spectrum = fwd.make_output_vec();
            fwd.process_with_scratch(&mut x.clone(), &mut spectrum, &mut fwd.make_scratch_vec());
            let mut back = inv.make_output_vec();
            inv.process_with_scratch(&mut spectrum, &mut back, &mut inv.make_scratch_vec());
            let peak = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            for (i, (&b, &v)) in back.iter().zip(&x).enumerate() {
                let want = v * len as f32;
                assert!(
                    (b - want).abs() <= 1e-5 * peak * len as f32,
                    "len {len} at {i}: {b} vs {want}"
                );
            }
        }
    }

    #[test]
    fn agrees_with_realfft() {
        let len = 2048;
        let ours = RealFft::new(len);
        let theirs = realfft::RealFftPlanner::<f32>::new().plan_fft_forward(len);
        let x: Vec<f32> = (0..len)
            .map(|i| (i as f32 * 0.01).sin() * 0.3 + ((i * 7) % 13) as f32 * 0.01)
            .collect();
        let (mut a, mut b) = (x.clone(), x);
        let mut out_a = ours.make_output_vec();
        let mut out_b = theirs.make_output_vec();
        ours.process_with_scratch(&mut a, &mut out_a, &mut ours.make_scratch_vec());
        theirs.process(&mut b, &mut out_b).unwrap();
        let peak = out_b.iter().map(|c| c.norm()).fold(0.0f32, f32::max);
        for (k, (p, q)) in out_a.iter().zip(&out_b).enumerate() {
            assert!((p - q).norm() <= 1e-6 * peak, "bin {k}: {p} vs {q}");
        }
    }
}
