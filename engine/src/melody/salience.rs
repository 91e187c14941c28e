//! Pitch salience of one frame: spectral peaks of a Hann-windowed, zero-padded FFT (frequency
//! and amplitude refined by parabolic interpolation on the dB spectrum, weighted by an
//! equal-loudness curve), summed over harmonics onto a log-frequency grid of 10-cent bins
//! (Salamon & Gómez's salience function), then the grid's local maxima as pitch candidates.

use crate::fft::RealFft;
use realfft::num_complex::Complex32;

use crate::window;

/// Width of one salience bin, cents.
pub(crate) const BIN_CENTS: f32 = 10.0;
/// A harmonic's contribution is spread over this many cents either side of its bin (one
/// semitone), with a squared-cosine fall-off.
const SPREAD_CENTS: f32 = 100.0;
/// Resolution of the spread kernel table, entries per bin.
const KERNEL_STEPS: usize = 16;
/// `SPREAD_CENTS` in salience bins.
const HALF: usize = (SPREAD_CENTS / BIN_CENTS) as usize;
/// Length of one kernel row: the bins from `floor(centre) - ROW_FROM` to `floor(centre) + HALF`,
/// all where the kernel is not zero (further out the distance is at least `HALF - 1/32` bins,
/// whose index rounds to `HALF * KERNEL_STEPS`, a zero of the kernel); whole vectors of 4.
const ROW: usize = 2 * HALF;
/// A row's first bin, this many below `floor(centre)`.
const ROW_FROM: usize = HALF - 1;
/// Kernel rows, one per sixteenth of a bin (`KERNEL_STEPS`) times three cases of the
/// remainder (below, at, above half a sixteenth), which fix every index of a row.
const ROWS: usize = KERNEL_STEPS * 3;
/// Harmonics centred at least this many bins above `fmin` use the kernel rows; below it the
/// float arithmetic of the per-bin distance may round, so it is computed bin by bin.
const ROW_MIN_CENTRE: f32 = 8.0;
/// Spare bins either side of the salience function, so a whole kernel row always fits (rows
/// start at most `ROW_FROM - ROW_MIN_CENTRE` bins below it and end at most `ROW` bins above).
const PAD: usize = ROW + HALF;
/// Spectral peaks above this frequency are ignored (partials above it carry little pitch
/// information and much noise), Hz.
const MAX_PEAK_HZ: f32 = 8_000.0;
/// Frames whose strongest weighted peak is below this (dB re a full-scale sine) are silent.
const SILENCE_DB: f32 = -90.0;
/// Spectral peaks are sought on the weighted power: a bin is a candidate when this many times
/// its power exceeds its left neighbour's and reaches its right one's. The slack (0.04 dB) is
/// far above the difference between `10 log10` of the weighted power and the dB spectrum
/// (rounding, under 1e-4 dB), so every peak of the dB spectrum is a candidate.
const CANDIDATE_SLACK: f32 = 1.01;
/// Margin, dB, of the bound that lets a candidate be skipped as below the peak range: far
/// above the rounding in the bound and in the peak's interpolation.
const SKIP_MARGIN_DB: f32 = 0.05;
/// Bins tested for spectral peak candidates at once.
const SCAN: usize = 16;

/// One pitch candidate: a local maximum of the salience function.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct Candidate {
    /// Pitch, cents above `fmin` (interpolated between bins).
    pub(crate) cents: f32,
    /// Salience at the maximum.
    pub(crate) salience: f32,
}

/// Settings of the salience function, resolved to this sample rate.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SalienceSettings {
    pub(crate) sample_rate: f32,
    pub(crate) window_len: usize,
    pub(crate) zero_pad: usize,
    pub(crate) fmin_hz: f32,
    pub(crate) fmax_hz: f32,
    pub(crate) harmonics: usize,
    pub(crate) harmonic_weight: f32,
    pub(crate) magnitude_power: f32,
    pub(crate) peak_range_db: f32,
    pub(crate) equal_loudness: bool,
}

/// The salience analyser; everything is allocated in [`Salience::new`].
pub(crate) struct Salience {
    s: SalienceSettings,
    window: Vec<f32>,
    fft_in: Vec<f32>,
    spectrum: Vec<Complex32>,
    scratch: Vec<Complex32>,
    fft: RealFft,
    scale: f32,
    /// Power spectrum (floored as the dB spectrum), weighted: `(p + 1e-20) * 10^(loudness / 10)`.
    power: Vec<f32>,
    /// Equal-loudness weight per FFT bin, dB.
    loudness_db: Vec<f32>,
    /// The same, linear in power.
    loudness: Vec<f32>,
    /// Bins that may be spectral peaks (see `CANDIDATE_SLACK`), ascending; as many entries as
    /// FFT bins, the count is per frame.
    candidates: Vec<u32>,
    /// Peak frequencies (Hz) and linear amplitudes (compressed).
    peak_hz: Vec<f32>,
    peak_amp: Vec<f32>,
    /// `harmonic_weight^(h-1)`.
    hweights: Vec<f32>,
    /// `log2(h) * 1200 / BIN_CENTS`: harmonic `h`'s distance above the fundamental, in bins.
    hshifts: Vec<f32>,
    /// Squared-cosine spread, indexed by distance in bins times `KERNEL_STEPS`.
    kernel: Vec<f32>,
    /// The kernel laid out per bin for a centre `c`, row by row ([`kernel_row`]): `ROW`
    /// values for the bins from `floor(c) - ROW_FROM`.
    rows: Vec<[f32; ROW]>,
    /// The salience function, one value per 10-cent bin from `fmin`, with `PAD` spare bins
    /// either side.
    sal: Vec<f32>,
    bin_hz: f32,
    max_fft_bin: usize,
}

impl Salience {
    pub(crate) fn new(s: SalienceSettings) -> Self {
        let fft_len = (s.window_len * s.zero_pad).next_power_of_two();
        let fft = RealFft::new(fft_len);
        let window = window::hann(s.window_len);
        let sum: f32 = window.iter().sum();
        let bins = fft_len / 2 + 1;
        let bin_hz = s.sample_rate / fft_len as f32;
        let max_fft_bin = ((MAX_PEAK_HZ.min(0.45 * s.sample_rate) / bin_hz) as usize).min(bins - 2);
        let loudness_db: Vec<f32> = (0..bins)
            .map(|k| {
                if s.equal_loudness {
                    equal_loudness_db(k as f32 * bin_hz)
                } else {
                    0.0
                }
            })
            .collect();
        let loudness = loudness_db
            .iter()
            .map(|&l| 10f64.powf(l as f64 / 10.0) as f32)
            .collect();
        let n_bins = salience_bins(s.fmin_hz, s.fmax_hz);
        let kernel: Vec<f32> = (0..=HALF * KERNEL_STEPS + 1)
            .map(|i| {
                let d = i as f32 / KERNEL_STEPS as f32 / HALF as f32; // semitones, 0..1
                if d >= 1.0 {
                    0.0
                } else {
                    let c = (d * std::f32::consts::FRAC_PI_2).cos();
                    c * c
                }
            })
            .collect();
        // Each row is written out for a representative centre of its case, 100 bins up.
        let mut rows = vec![[0.0; ROW]; ROWS];
        for (r, row) in rows.iter_mut().enumerate() {
            let (m, case) = (r / 3, r % 3);
            let centre = 100.0 + (m as f32 + [0.25, 0.5, 0.75][case]) / KERNEL_STEPS as f32;
            debug_assert_eq!(kernel_row(centre), (100, r));
            for (j, v) in row.iter_mut().enumerate() {
                let bin = 100 - ROW_FROM + j;
                *v = kernel[kernel_index(bin, centre, kernel.len() - 1)];
            }
        }
        Self {
            window,
            fft_in: fft.make_input_vec(),
            spectrum: fft.make_output_vec(),
            scratch: fft.make_scratch_vec(),
            fft,
            scale: 2.0 / sum,
            power: vec![0.0; bins + SCAN],
            loudness_db,
            loudness,
            candidates: vec![0; bins],
            peak_hz: Vec::with_capacity(bins / 2 + 1),
            peak_amp: Vec::with_capacity(bins / 2 + 1),
            hweights: (0..s.harmonics)
                .map(|h| s.harmonic_weight.powi(h as i32))
                .collect(),
            hshifts: (0..s.harmonics)
                .map(|h| ((h + 1) as f32).log2() * (1200.0 / BIN_CENTS))
                .collect(),
            kernel,
            rows,
            sal: vec![0.0; n_bins + 2 * PAD],
            bin_hz,
            max_fft_bin,
            s,
        }
    }

    /// The salience function of the last frame.
    pub(crate) fn values(&self) -> &[f32] {
        &self.sal[PAD..self.sal.len() - PAD]
    }

    /// Analyses `frame` (`window_len` samples, oldest first) and writes the salience
    /// function's strongest local maxima, strongest first, into `out` (up to its capacity).
    /// Returns `false` for a silent frame (no candidates).
    pub(crate) fn analyze(&mut self, frame: &[f32], out: &mut Vec<Candidate>) -> bool {
        crate::simd::fast(
            #[inline(always)]
            || {
                out.clear();
                self.sal.fill(0.0);
                let n = self.window.len();
                for ((dst, &x), &w) in self.fft_in.iter_mut().zip(frame).zip(&self.window) {
                    *dst = x * w * self.scale;
                }
                self.fft_in[n..].fill(0.0);
                // The buffers come from the transform itself, so their lengths fit.
                self.fft.process_with_scratch(
                    &mut self.fft_in,
                    &mut self.spectrum,
                    &mut self.scratch,
                );
                // Spectral peaks are sought from `lo` to `max_fft_bin`, among the candidates the
                // weighted power gives; only their neighbourhood needs the dB spectrum.
                let lo = ((0.5 * self.s.fmin_hz / self.bin_hz) as usize).max(1);
                let hi = self.max_fft_bin;
                let range = lo - 1..hi + 2;
                for ((q, c), &w) in self.power[range.clone()]
                    .iter_mut()
                    .zip(&self.spectrum[range.clone()])
                    .zip(&self.loudness[range])
                {
                    *q = (c.re * c.re + c.im * c.im + 1e-20) * w;
                }
                // Tested `SCAN` bins at a time into a bit mask (vectorised), then the set bits
                // listed. Bins past `hi` are tested too (the power has `SCAN` spare entries) and
                // masked off.
                let mut count = 0;
                let power = &self.power[..];
                for start in (lo..=hi).step_by(SCAN) {
                    let Some(q) = power[start - 1..].first_chunk::<{ SCAN + 2 }>() else {
                        break;
                    };
                    let mut mask = 0u32;
                    for (i, q) in q.windows(3).enumerate() {
                        let b = q[1] * CANDIDATE_SLACK;
                        mask |= ((b > q[0]) as u32 & (b >= q[2]) as u32) << i;
                    }
                    if hi + 1 - start < SCAN {
                        mask &= (1 << (hi + 1 - start)) - 1;
                    }
                    while mask != 0 {
                        self.candidates[count] = (start + mask.trailing_zeros() as usize) as u32;
                        count += 1;
                        mask &= mask - 1;
                    }
                }
                let candidates = &self.candidates[..count];
                // A peak's interpolated level is at most `b + (b - m) / 8` dB, `m = min(a, c)` (the
                // parabola's rise is `(a - c)^2 / (8 (2b - a - c))` and `|a - c| <= 2b - a - c`).
                // In power that is `q_b^9 / q_m` (f64: no overflow): `10 log10` of it over 8 is the
                // bound in dB, up to rounding well under `SKIP_MARGIN_DB`.
                let bound = |k: usize| {
                    let b = power[k] as f64;
                    let b2 = b * b;
                    b2 * b2 * b2 * b2 * b / power[k - 1].min(power[k + 1]) as f64
                };
                // No candidate: no peak.
                let Some(&first) = candidates.first() else {
                    return false;
                };
                let (mut strongest, mut max_bound) = (first as usize, 0.0f64);
                for &k in candidates {
                    let k = k as usize;
                    if power[k] > power[strongest] {
                        strongest = k;
                    }
                    max_bound = max_bound.max(bound(k));
                }
                // No candidate can reach the silence level: a silent frame.
                if max_bound < 10f64.powf(0.8 * (SILENCE_DB - SKIP_MARGIN_DB) as f64) {
                    return false;
                }
                // The dB spectrum at bin `k`, weighted, and the peak there if there is one (offset
                // from `k` in bins and interpolated level).
                let (spectrum, loudness_db) = (&self.spectrum, &self.loudness_db);
                let db = |k: usize| {
                    // Input is sanitised, so the power is finite; the floor keeps log10 finite.
                    let c = spectrum[k];
                    let p = c.re * c.re + c.im * c.im;
                    10.0 * crate::simd::log10(p + 1e-20) + loudness_db[k]
                };
                let peak = |k: usize| {
                    let (a, b, c) = (db(k - 1), db(k), db(k + 1));
                    (b > a && b >= c).then(|| {
                        let den = a - 2.0 * b + c;
                        let p = if den < 0.0 { 0.5 * (a - c) / den } else { 0.0 };
                        (p, b - 0.25 * (a - c) * p)
                    })
                };
                // The strongest candidate, when a peak, bounds the frame's strongest peak from
                // below, so candidates whose bound is below its level minus the peak range are
                // below the floor: skipped.
                let skip_below = peak(strongest).map_or(0.0, |(_, level)| {
                    10f64.powf(0.8 * (level - self.s.peak_range_db - SKIP_MARGIN_DB) as f64)
                });
                let mut max_db = f32::NEG_INFINITY;
                self.peak_hz.clear();
                self.peak_amp.clear();
                for &k in candidates {
                    let k = k as usize;
                    if bound(k) < skip_below {
                        continue;
                    }
                    if let Some((p, peak_db)) = peak(k) {
                        if self.peak_hz.len() < self.peak_hz.capacity() {
                            self.peak_hz.push((k as f32 + p) * self.bin_hz);
                            self.peak_amp.push(peak_db);
                            max_db = max_db.max(peak_db);
                        }
                    }
                }
                if max_db.is_nan() || max_db <= SILENCE_DB {
                    return false;
                }
                // Harmonic summation of the peaks within range of the strongest: each harmonic adds
                // `g * kernel[round(|bin - centre| * KERNEL_STEPS)]` to the bins within `HALF` of
                // its centre, in the same order for every bin, so the rows and the bin-by-bin path
                // give the same sums.
                let floor = max_db - self.s.peak_range_db;
                let n_bins = (self.sal.len() - 2 * PAD) as f32;
                let half = HALF as f32;
                let cents_per_octave = 1200.0 / BIN_CENTS;
                let log_fmin = self.s.fmin_hz.log2();
                let kernel = &self.kernel[..];
                let top = kernel.len() - 1;
                let rows = &self.rows[..];
                let sal = &mut self.sal[..];
                let last_bin = sal.len() - 2 * PAD - 1;
                for (&f, &db) in self.peak_hz.iter().zip(&self.peak_amp) {
                    if db < floor {
                        continue;
                    }
                    // Amplitude (re a full-scale sine), compressed.
                    let amp = (0.05 * self.s.magnitude_power * db * std::f32::consts::LN_10).exp();
                    let centre0 = (f.log2() - log_fmin) * cents_per_octave;
                    for (&w, &shift) in self.hweights.iter().zip(&self.hshifts) {
                        // Bin of the candidate f0 = f / (h + 1).
                        let centre = centre0 - shift;
                        if centre < -half {
                            break;
                        }
                        if centre > n_bins - 1.0 + half {
                            continue;
                        }
                        let g = w * amp;
                        if centre >= ROW_MIN_CENTRE {
                            // A whole row from `floor(centre) - ROW_FROM`; bins past either end of
                            // the function land in the padding, the row's zeros add nothing.
                            let (whole, row) = kernel_row(centre);
                            let start = PAD - ROW_FROM + whole;
                            if let Some(dst) = sal[start..].first_chunk_mut::<ROW>() {
                                add_row(dst, &rows[row], g);
                            }
                        } else {
                            let first = ceil_fast(centre - half).max(0.0) as usize;
                            let last = (floor_fast(centre + half) as usize).min(last_bin);
                            for bin in first..=last {
                                sal[PAD + bin] += g * kernel[kernel_index(bin, centre, top)];
                            }
                        }
                    }
                }
                // Local maxima, the strongest kept.
                let cap = out.capacity();
                let sal = &self.sal[PAD..self.sal.len() - PAD];
                for b in 0..sal.len() {
                    let v = sal[b];
                    let left = if b > 0 { sal[b - 1] } else { 0.0 };
                    let right = if b + 1 < sal.len() { sal[b + 1] } else { 0.0 };
                    if !(v > left && v >= right) {
                        continue;
                    }
                    let den = left - 2.0 * v + right;
                    let p = if den < 0.0 {
                        0.5 * (left - right) / den
                    } else {
                        0.0
                    };
                    let c = Candidate {
                        cents: (b as f32 + p) * BIN_CENTS,
                        salience: v - 0.25 * (left - right) * p,
                    };
                    if out.len() < cap {
                        out.push(c);
                    } else if let Some((i, weakest)) = out
                        .iter()
                        .enumerate()
                        .min_by(|x, y| x.1.salience.total_cmp(&y.1.salience))
                    {
                        if weakest.salience < c.salience {
                            out[i] = c;
                        }
                    }
                }
                out.sort_unstable_by(|a, b| b.salience.total_cmp(&a.salience));
                !out.is_empty()
            },
        )
    }
}

/// The index into the spread kernel of `bin` for a harmonic centred at `centre` (bins):
/// `|bin - centre|` in `KERNEL_STEPS`ths of a bin, rounded half up, at most `top`.
#[inline]
fn kernel_index(bin: usize, centre: f32, top: usize) -> usize {
    let d = (bin as f32 - centre).abs();
    ((d * KERNEL_STEPS as f32 + 0.5) as usize).min(top)
}

/// `floor(centre)` and the kernel row for a centre of at least `ROW_MIN_CENTRE` bins. There
/// `bin - centre` is exact in `f32` for every bin within `HALF` (both are multiples of the
/// centre's ulp, which is at least 2^-20, and the difference is below 16), and so is
/// `d * 16 + 0.5`: with `centre = floor(centre) + (m + r) / 16` (`m` whole, `0 <= r < 1`),
/// [`kernel_index`] is `16 * (floor(centre) - bin) + m + [r >= 1/2]` for bins up to the centre
/// and `16 * (bin - floor(centre)) - m - [r > 1/2]` above it: a function of `m` and of the
/// case of `r` (below, at, above one half) alone.
///
/// One conversion gives both `floor(centre)` and `m`: `16 centre` is exact (a power of two),
/// its floor `s` is `16 floor(centre) + m`, and `16 centre - s` (exact: both lie in one
/// binade) is `r`.
#[inline]
fn kernel_row(centre: f32) -> (usize, usize) {
    const _: () = assert!(KERNEL_STEPS.is_power_of_two());
    // Positive, finite and below a few thousand bins, so `t` is far below 2^23: the
    // conversion truncates (floors) without saturating, and `r` is exact.
    let t = centre * KERNEL_STEPS as f32;
    let s = t as i32;
    let r = t - s as f32;
    let (whole, m) = (
        s >> KERNEL_STEPS.trailing_zeros(),
        s & (KERNEL_STEPS as i32 - 1),
    );
    let case = (r >= 0.5) as i32 + (r > 0.5) as i32;
    (whole as usize, (m * 3 + case) as usize)
}

/// `dst += g * row`, element by element. Inlined, so that it runs in the AVX2 build and the
/// caller's loop keeps its registers across it; both rows are read into local arrays before
/// any store, which lets the compiler vectorise it (in place, it stays scalar).
#[inline(always)]
fn add_row(dst: &mut [f32; ROW], row: &[f32; ROW], g: f32) {
    let (mut d, r) = (*dst, *row);
    for (s, &k) in d.iter_mut().zip(&r) {
        *s += g * k;
    }
    *dst = d;
}

/// `x.ceil()` for finite `|x| < 2^31` without a libm call (baseline x86-64 has no rounding
/// instruction): the same value, up to the sign of a zero.
#[inline]
fn ceil_fast(x: f32) -> f32 {
    let t = x as i32 as f32;
    if t < x {
        t + 1.0
    } else {
        t
    }
}

/// `x.floor()` as [`ceil_fast`].
#[inline]
fn floor_fast(x: f32) -> f32 {
    let t = x as i32 as f32;
    if t > x {
        t - 1.0
    } else {
        t
    }
}

/// Number of 10-cent bins from `fmin` to `fmax` inclusive.
pub(crate) fn salience_bins(fmin_hz: f32, fmax_hz: f32) -> usize {
    ((fmax_hz / fmin_hz).log2() * 1200.0 / BIN_CENTS).ceil() as usize + 1
}

/// An equal-loudness weight (dB) at `f` Hz: the A-weighting curve, which follows the ear's
/// lower sensitivity to low (and very high) frequencies and so favours the mid range where
/// melodies sit over bass and rumble.
fn equal_loudness_db(f: f32) -> f32 {
    let f = f.max(1.0) as f64;
    let f2 = f * f;
    let num = 12194.0f64.powi(2) * f2 * f2;
    let den = (f2 + 20.6f64.powi(2))
        * ((f2 + 107.7f64.powi(2)) * (f2 + 737.9f64.powi(2))).sqrt()
        * (f2 + 12194.0f64.powi(2));
    (20.0 * (num / den).log10() + 2.0) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(sr: f32) -> SalienceSettings {
        SalienceSettings {
            sample_rate: sr,
            window_len: 2048,
            zero_pad: 4,
            fmin_hz: 80.0,
            fmax_hz: 1600.0,
            harmonics: 20,
            harmonic_weight: 0.8,
            magnitude_power: 1.0,
            peak_range_db: 40.0,
            equal_loudness: true,
        }
    }

    #[test]
    fn a_harmonic_tone_peaks_at_its_fundamental() {
        let sr = 44_100.0;
        let mut s = Salience::new(settings(sr));
        let f0 = 330.0f32;
        let frame: Vec<f32> = (0..2048)
            .map(|i| {
                (1..=8)
                    .map(|h| {
                        (2.0 * std::f32::consts::PI * f0 * h as f32 * i as f32 / sr).sin()
                            / h as f32
                    })
                    .sum::<f32>()
                    * 0.3
            })
            .collect();
        let mut out = Vec::with_capacity(8);
        assert!(s.analyze(&frame, &mut out));
        let hz = 80.0 * 2f32.powf(out[0].cents / 1200.0);
        assert!((1200.0 * (hz / f0).log2()).abs() < 10.0, "{hz}");
    }

    #[test]
    fn kernel_rows_equal_the_kernel_bin_by_bin() {
        let s = Salience::new(settings(44_100.0));
        let top = s.kernel.len() - 1;
        let mut x = 0x2545_f491u32;
        let mut centres = Vec::new();
        // Every half sixteenth of a bin and its float neighbours, then random centres.
        for i in 0..32 * 40 {
            let c = ROW_MIN_CENTRE + i as f32 / 32.0;
            centres.extend([
                c,
                f32::from_bits(c.to_bits() - 1),
                f32::from_bits(c.to_bits() + 1),
            ]);
        }
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            centres.push(ROW_MIN_CENTRE + (x >> 8) as f32 / (1 << 24) as f32 * 1000.0);
        }
        for centre in centres.into_iter().filter(|&c| c >= ROW_MIN_CENTRE) {
            let (whole, r) = kernel_row(centre);
            assert_eq!(whole as f32, centre.floor());
            for (j, &v) in s.rows[r].iter().enumerate() {
                // Bins below 0 (padding, never read) the same way with a signed bin.
                let want = match (whole + j).checked_sub(ROW_FROM) {
                    Some(bin) => s.kernel[kernel_index(bin, centre, top)],
                    None => {
                        let d = ((whole + j) as f32 - ROW_FROM as f32 - centre).abs();
                        s.kernel[((d * KERNEL_STEPS as f32 + 0.5) as usize).min(top)]
                    }
                };
                assert_eq!(v.to_bits(), want.to_bits(), "centre {centre}, entry {j}");
            }
            // The kernel is zero for the bins just outside the row (and so further out).
            for bin in [-1, ROW as i32] {
                let bin = (whole as i32 - ROW_FROM as i32 + bin) as f32;
                let d = (bin - centre).abs();
                let k = s.kernel[((d * KERNEL_STEPS as f32 + 0.5) as usize).min(top)];
                assert_eq!(k, 0.0, "centre {centre}, bin {bin}");
            }
        }
    }

    /// The peaks the candidates give are those of the whole dB spectrum, with the same values,
    /// wherever they are within the peak range of the strongest.
    #[test]
    fn peaks_are_those_of_the_whole_db_spectrum() {
        let sr = 44_100.0;
        let mut s = Salience::new(settings(sr));
        let mut x = 0x9e37_79b9u32;
        let mut noise = move || {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as f32 / u32::MAX as f32 - 0.5
        };
        let mut out = Vec::with_capacity(8);
        for (level, tone, noisy) in [
            (0.3, true, 0.0),
            (0.3, true, 0.01),
            (1.0, false, 1.0),
            (1e6, true, 1e3),
            (1e-3, true, 1e-6),
            (1e-3, false, 1e-3),
            // Silent frames.
            (1e-7, false, 1e-7),
            (1e-30, true, 0.0),
        ] {
            let frame: Vec<f32> = (0..2048)
                .map(|i| {
                    let t = i as f32 / sr;
                    let harmonics: f32 = (1..=10)
                        .map(|h| {
                            (2.0 * std::f32::consts::PI * 187.3 * h as f32 * t).sin() / h as f32
                        })
                        .sum();
                    level * if tone { harmonics } else { 0.0 } + noisy * noise()
                })
                .collect();
            let sounding = s.analyze(&frame, &mut out);
            // The dB spectrum and its peaks, everywhere.
            let lo = ((0.5 * s.s.fmin_hz / s.bin_hz) as usize).max(1);
            let db: Vec<f32> = s
                .spectrum
                .iter()
                .zip(&s.loudness_db)
                .map(|(c, &l)| 10.0 * crate::simd::log10(c.re * c.re + c.im * c.im + 1e-20) + l)
                .collect();
            let mut want = Vec::new();
            for k in lo..=s.max_fft_bin {
                let (a, b, c) = (db[k - 1], db[k], db[k + 1]);
                if b > a && b >= c {
                    let den = a - 2.0 * b + c;
                    let p = if den < 0.0 { 0.5 * (a - c) / den } else { 0.0 };
                    want.push(((k as f32 + p) * s.bin_hz, b - 0.25 * (a - c) * p));
                }
            }
            let max = want.iter().map(|p| p.1).fold(f32::NEG_INFINITY, f32::max);
            assert_eq!(sounding, max > SILENCE_DB, "level {level}: {max} dB");
            if !sounding {
                continue;
            }
            let got_max = s.peak_amp.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            assert_eq!(got_max.to_bits(), max.to_bits(), "level {level}");
            let floor = max - s.s.peak_range_db;
            let got: Vec<(f32, f32)> = (s.peak_hz.iter().copied().zip(s.peak_amp.iter().copied()))
                .filter(|p| p.1 >= floor)
                .collect();
            want.retain(|p| p.1 >= floor);
            assert!(want.len() > 3, "level {level}: {}", want.len());
            assert_eq!(got, want, "level {level}");
        }
    }

    #[test]
    fn silence_has_no_candidates() {
        let mut s = Salience::new(settings(48_000.0));
        let mut out = Vec::with_capacity(8);
        assert!(!s.analyze(&[0.0; 2048], &mut out));
        assert!(out.is_empty());
    }

    #[test]
    fn a_weighting_is_zero_near_1khz() {
        assert!(equal_loudness_db(1000.0).abs() < 0.5);
        assert!(equal_loudness_db(100.0) < -15.0);
    }
}
