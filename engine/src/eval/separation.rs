//! Separation scores for one estimated source against its reference, as
//! `mir_eval.separation.bss_eval_sources` defines SDR (BSS Eval v3, Vincent et al. 2006), and
//! the scale-invariant SDR (Le Roux et al., "SDR – half-baked or well done?", 2019).
//!
//! BSS Eval allows the estimate a time-invariant distortion filter of [`BSS_EVAL_FILTER_LEN`]
//! taps: the target is the projection of the estimate onto the reference and its delayed copies
//! (0 to 511 samples), and everything else is error. mir_eval's SDR for a source does not depend
//! on the other references given with it (they only split the error into interference and
//! artifacts), so one reference suffices. Computed in `f64`; correlations by FFT (realfft), the
//! 512 x 512 Toeplitz system by Cholesky.
//!
//! ```
//! use cochlea_engine::eval::separation::{sdr, si_sdr};
//! let reference: Vec<f32> = (0..20_000).map(|i| (i as f32 * 0.01).sin()).collect();
//! let noise: Vec<f32> = (0..20_000).map(|i| ((i * 7919 % 101) as f32 / 101.0 - 0.5) * 0.1).collect();
//! let estimate: Vec<f32> = reference.iter().zip(&noise).map(|(r, n)| r + n).collect();
//! let (a, b) = (sdr(&reference, &estimate).unwrap(), si_sdr(&reference, &estimate).unwrap());
//! assert!(a > 20.0 && b > 20.0 && a >= b - 0.01);
//! ```

use realfft::num_complex::Complex64;
use realfft::RealFftPlanner;

/// Taps of the distortion filter BSS Eval allows (mir_eval's default).
pub const BSS_EVAL_FILTER_LEN: usize = 512;

/// Why a score could not be computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SeparationEvalError {
    /// Reference and estimate differ in length.
    #[error("reference has {reference} samples, estimate {estimate}")]
    Length {
        /// Reference length.
        reference: usize,
        /// Estimate length.
        estimate: usize,
    },
    /// The reference is silent (mir_eval refuses it too).
    #[error("the reference is silent")]
    SilentReference,
}

fn check(reference: &[f32], estimate: &[f32]) -> Result<(), SeparationEvalError> {
    if reference.len() != estimate.len() {
        return Err(SeparationEvalError::Length {
            reference: reference.len(),
            estimate: estimate.len(),
        });
    }
    if reference.iter().all(|&x| x == 0.0) {
        return Err(SeparationEvalError::SilentReference);
    }
    Ok(())
}

fn db(num: f64, den: f64) -> f64 {
    // mir_eval's _safe_db: infinite when the error vanishes.
    if den == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (num / den).log10()
    }
}

/// BSS Eval v3 SDR in dB of `estimate` against `reference` (mir_eval's
/// `bss_eval_sources(...)[0]` for this source, with the 512-tap filter).
pub fn sdr(reference: &[f32], estimate: &[f32]) -> Result<f64, SeparationEvalError> {
    check(reference, estimate)?;
    let flen = BSS_EVAL_FILTER_LEN;
    let n = reference.len();
    let nfft = (n + flen - 1).next_power_of_two();
    let mut planner = RealFftPlanner::<f64>::new();
    let fwd = planner.plan_fft_forward(nfft);
    let inv = planner.plan_fft_inverse(nfft);
    let spectrum = |x: &[f32]| {
        let mut buf = fwd.make_input_vec();
        for (b, &v) in buf.iter_mut().zip(x) {
            *b = v as f64;
        }
        let mut out = fwd.make_output_vec();
        fwd.process(&mut buf, &mut out).expect("planned sizes");
        out
    };
    let sf = spectrum(reference);
    let ef = spectrum(estimate);
    let correlate = |a: &[Complex64], b: &[Complex64]| {
        // ifft(a * conj(b))[m] = sum_n a_time[n + m] b_time[n] (circular, but the padding makes
        // it linear for |m| < flen).
        let mut prod: Vec<Complex64> = a.iter().zip(b).map(|(x, y)| x * y.conj()).collect();
        prod[0].im = 0.0;
        let last = prod.len() - 1;
        prod[last].im = 0.0;
        let mut out = inv.make_output_vec();
        inv.process(&mut prod, &mut out).expect("planned sizes");
        out.iter_mut().for_each(|v| *v /= nfft as f64);
        out
    };
    // Autocorrelation of the reference at lags 0..flen.
    let auto = correlate(&sf, &sf);
    // <reference delayed by k, estimate> = sum_n s[n - k] e[n] = xcorr(e, s)[k].
    let cross = correlate(&ef, &sf);
    let g: Vec<f64> = auto[..flen].to_vec();
    let d: Vec<f64> = cross[..flen].to_vec();
    let c = solve_toeplitz_spd(&g, &d);
    // The projection: the reference filtered by c, length n + flen - 1.
    let mut cf = fwd.make_input_vec();
    cf[..flen].copy_from_slice(&c);
    let mut cspec = fwd.make_output_vec();
    fwd.process(&mut cf, &mut cspec).expect("planned sizes");
    let mut prod: Vec<Complex64> = cspec.iter().zip(&sf).map(|(x, y)| x * y).collect();
    prod[0].im = 0.0;
    let last = prod.len() - 1;
    prod[last].im = 0.0;
    let mut proj = inv.make_output_vec();
    inv.process(&mut prod, &mut proj).expect("planned sizes");
    let (mut target, mut error) = (0.0f64, 0.0f64);
    for i in 0..n + flen - 1 {
        let p = proj[i] / nfft as f64;
        let e = if i < n { estimate[i] as f64 } else { 0.0 };
        target += p * p;
        error += (e - p) * (e - p);
    }
    Ok(db(target, error))
}

/// Solves `T x = d` for the symmetric Toeplitz matrix `T` with first row `g` (Cholesky). If `T`
/// is singular (a reference with too few frequencies), a tiny ridge keeps it solvable, as
/// mir_eval falls back to least squares.
fn solve_toeplitz_spd(g: &[f64], d: &[f64]) -> Vec<f64> {
    let n = g.len();
    let mut ridge = 0.0;
    loop {
        let mut l = vec![0.0f64; n * n];
        let mut ok = true;
        'outer: for i in 0..n {
            for j in 0..=i {
                let mut sum = g[i - j] + if i == j { ridge } else { 0.0 };
                for k in 0..j {
                    sum -= l[i * n + k] * l[j * n + k];
                }
                if i == j {
                    if sum <= 0.0 {
                        ok = false;
                        break 'outer;
                    }
                    l[i * n + i] = sum.sqrt();
                } else {
                    l[i * n + j] = sum / l[j * n + j];
                }
            }
        }
        if ok {
            let mut y = vec![0.0f64; n];
            for i in 0..n {
                let mut s = d[i];
                for k in 0..i {
                    s -= l[i * n + k] * y[k];
                }
                y[i] = s / l[i * n + i];
            }
            let mut x = vec![0.0f64; n];
            for i in (0..n).rev() {
                let mut s = y[i];
                for k in i + 1..n {
                    s -= l[k * n + i] * x[k];
                }
                x[i] = s / l[i * n + i];
            }
            return x;
        }
        ridge = if ridge == 0.0 {
            g[0] * 1e-10
        } else {
            ridge * 10.0
        };
    }
}

/// Scale-invariant SDR in dB: `10 log10(|a s|^2 / |a s - e|^2)` with `a = <e, s> / <s, s>`.
pub fn si_sdr(reference: &[f32], estimate: &[f32]) -> Result<f64, SeparationEvalError> {
    check(reference, estimate)?;
    let (mut es, mut ss) = (0.0f64, 0.0f64);
    for (&s, &e) in reference.iter().zip(estimate) {
        es += s as f64 * e as f64;
        ss += s as f64 * s as f64;
    }
    let a = es / ss;
    let (mut target, mut error) = (0.0f64, 0.0f64);
    for (&s, &e) in reference.iter().zip(estimate) {
        let t = a * s as f64;
        target += t * t;
        error += (t - e as f64) * (t - e as f64);
    }
    Ok(db(target, error))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 33) as f32 / (1u64 << 31) as f32) - 0.5
            })
            .collect()
    }

    #[test]
    fn a_filtered_reference_is_a_perfect_estimate_for_sdr_but_not_for_si_sdr() {
        let s = noise(8_000, 1);
        // A short echo: inside the 512-tap filter BSS Eval allows.
        let e: Vec<f32> = (0..s.len())
            .map(|i| s[i] + if i >= 10 { 0.5 * s[i - 10] } else { 0.0 })
            .collect();
        // Only the echo's tail past the end of the estimate (10 samples at a quarter of the
        // power, against 8000 at 1.25) counts as error: about 36 dB.
        let v = sdr(&s, &e).unwrap();
        assert!((v - 36.0).abs() < 1.5, "{v}");
        assert!(si_sdr(&s, &e).unwrap() < 10.0);
    }

    #[test]
    fn independent_noise_at_a_known_level() {
        let s = noise(20_000, 2);
        let n = noise(20_000, 3);
        let e: Vec<f32> = s.iter().zip(&n).map(|(a, b)| a + 0.1 * b).collect();
        let si = si_sdr(&s, &e).unwrap();
        assert!((si - 20.0).abs() < 0.3, "{si}");
        let bss = sdr(&s, &e).unwrap();
        // The filter absorbs a little of the noise: slightly above 20 dB.
        assert!(bss > si && bss < si + 0.5, "{bss} {si}");
    }

    #[test]
    fn errors() {
        assert!(sdr(&[0.0; 10], &[1.0; 10]).is_err());
        assert!(si_sdr(&[1.0; 10], &[1.0; 9]).is_err());
    }
}
