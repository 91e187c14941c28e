//! Low-pass filtering and decimation of the pitch tracker's frames.
//!
//! The tracker searches fundamentals up to a few kHz; at 44.1 or 48 kHz, every second sample
//! describes the same periods. The stream is low-passed (a Blackman-windowed sinc, linear phase)
//! and each frame takes every `factor`-th filtered sample, ending at the newest one, so frames
//! stay on the same absolute stream positions whatever the hop (odd hops included). The filter
//! runs once per input sample, at each frame on the samples that arrived since the last one, into
//! a ring of its own. Its delay, [`Decimator::delay`] input samples, adds to the tracker's latency.

use crate::framer::History;

/// The pitch tracker's frames, low-passed and decimated by an integer factor.
pub(crate) struct Decimator {
    factor: usize,
    /// Filter taps, `2 delay + 1`, symmetric, summing to 1.
    taps: Vec<f32>,
    /// Input samples that arrived since the last frame, and the filter's reach before them.
    input: Vec<f32>,
    /// The filtered stream at the input rate, newest `(out_len - 1) factor + 1` samples.
    filtered: History,
    new_filtered: Vec<f32>,
    /// The span of the filtered stream (of the input at a factor of 1) a frame takes every
    /// `factor`-th sample of: `(out_len - 1) factor + 1` samples.
    span: usize,
}

/// The decimated rate stays at or above this, Hz: YIN's parabolic interpolation is then within
/// a few cents up to 2 kHz, and the accuracy on the dev corpus is that of the full rate.
const MIN_RATE_HZ: f64 = 20_000.0;
/// ... and at or above this many times the highest fundamental searched.
const MIN_RATE_PER_FMAX: f64 = 10.0;

/// The largest decimation factor that keeps the rate at `sample_rate / factor` within the
/// limits above for fundamentals up to `fmax_hz` (2 at 44.1 and 48 kHz with the default 2 kHz,
/// 1 below 40 kHz).
pub(crate) fn factor_for(sample_rate: f64, fmax_hz: f64) -> usize {
    (sample_rate / MIN_RATE_HZ.max(MIN_RATE_PER_FMAX * fmax_hz))
        .floor()
        .max(1.0) as usize
}

/// Filter half-length in output samples. With the Blackman window and `CUTOFF` the response is
/// flat to 0.1 dB up to 0.65 of the output's Nyquist frequency (7.2 kHz at 44.1 kHz in), 3 dB
/// down at 0.84 and 60 dB down from 1.21 (below -75 dB further out): what aliases back lands
/// above 0.79 of it, far above the partials that decide a period.
const HALF_LEN: usize = 8;
/// Cutoff (the sinc's) as a fraction of the output's Nyquist frequency.
const CUTOFF: f64 = 0.9;

impl Decimator {
    /// Frames of `out_len` samples at `1 / factor` of the input rate, one per `hop` input
    /// samples. A factor of 1 takes the frames as they are.
    pub(crate) fn new(factor: usize, hop: usize, out_len: usize) -> Self {
        let factor = factor.max(1);
        let taps = if factor == 1 {
            vec![1.0]
        } else {
            lowpass(factor)
        };
        let span = (out_len - 1) * factor + 1;
        Self {
            factor,
            input: vec![0.0; if factor == 1 { 0 } else { hop + taps.len() - 1 }],
            filtered: History::new(if factor == 1 { 1 } else { span }),
            new_filtered: vec![0.0; if factor == 1 { 0 } else { hop }],
            span,
            taps,
        }
    }

    /// The decimation factor.
    pub(crate) fn factor(&self) -> usize {
        self.factor
    }

    /// The filter's delay in input samples.
    pub(crate) fn delay(&self) -> usize {
        self.taps.len() / 2
    }

    /// Input samples of history read per frame.
    pub(crate) fn history_len(&self) -> usize {
        self.input.len().max(self.span)
    }

    /// Writes the frame ending with the newest sample of `history` (minus the filter's delay)
    /// to `out`, at the output rate: output `k` describes input sample
    /// `newest - delay - (out.len() - 1 - k) factor`. Called once per hop, on the hop.
    #[inline(always)]
    pub(crate) fn frame(&mut self, history: &History, out: &mut [f64]) {
        let source = if self.factor == 1 {
            history
        } else {
            history.copy_latest(&mut self.input);
            fir(&self.taps, &self.input, &mut self.new_filtered);
            self.filtered.extend(&self.new_filtered);
            &self.filtered
        };
        // Every `factor`-th sample of the span, read from the ring in place: its older part,
        // then the newer one from the first multiple of `factor` in it.
        let (older, newer) = source.latest(self.span);
        let from_older = older.len().div_ceil(self.factor);
        let (out_older, out_newer) = out.split_at_mut(from_older.min(out.len()));
        take_every(older, self.factor, out_older);
        let skip = (from_older * self.factor - older.len()).min(newer.len());
        take_every(&newer[skip..], self.factor, out_newer);
    }

    /// Back to silence.
    pub(crate) fn reset(&mut self) {
        self.filtered.reset();
    }
}

/// A Blackman-windowed sinc low-pass for decimation by `factor`, `2 HALF_LEN factor + 1` taps.
fn lowpass(factor: usize) -> Vec<f32> {
    let half = HALF_LEN * factor;
    let len = 2 * half + 1;
    let fc = CUTOFF / (2.0 * factor as f64); // cycles per input sample
    let pi = std::f64::consts::PI;
    let taps: Vec<f64> = (0..len)
        .map(|i| {
            let t = i as f64 - half as f64;
            let sinc = if t == 0.0 {
                2.0 * fc
            } else {
                (2.0 * pi * fc * t).sin() / (pi * t)
            };
            let a = 2.0 * pi * i as f64 / (len - 1) as f64;
            sinc * (0.42 - 0.5 * a.cos() + 0.08 * (2.0 * a).cos())
        })
        .collect();
    let sum: f64 = taps.iter().sum();
    taps.into_iter().map(|t| (t / sum) as f32).collect()
}

/// `out[k] = x[0] as f64`, `x[factor] as f64`, ... (as many as both have).
#[inline(always)]
fn take_every(x: &[f32], factor: usize, out: &mut [f64]) {
    if factor == 2 {
        // Pairs, so that it vectorises (`step_by` does not).
        let pairs = x.chunks_exact(2);
        let (n, last) = (pairs.len(), pairs.remainder().first());
        for (o, p) in out.iter_mut().zip(pairs) {
            *o = p[0] as f64;
        }
        if let (Some(&v), Some(o)) = (last, out.get_mut(n)) {
            *o = v as f64;
        }
    } else {
        for (o, &v) in out.iter_mut().zip(x.iter().step_by(factor)) {
            *o = v as f64;
        }
    }
}

/// The filter: `out[k] = dot(taps, input[k..k + taps.len()])` for every `k` of `out`, eight
/// outputs side by side. Each output's products and sums are those of [`dot`], in its order.
#[inline(always)]
fn fir(taps: &[f32], input: &[f32], out: &mut [f32]) {
    const OUTS: usize = 8;
    let len = taps.len();
    let whole = len / 8 * 8;
    let done = out.len() / OUTS * OUTS;
    for (g, y) in out.chunks_exact_mut(OUTS).enumerate() {
        let x = &input[g * OUTS..g * OUTS + len + OUTS - 1];
        // Lane `l` of each output's dot product, then added to the lanes' sum (as `f32`'s sum,
        // from -0.0) once complete: the order of `dot`, one lane at a time.
        let mut lanes = [-0.0f32; OUTS];
        for l in 0..8 {
            let mut acc = [0.0f32; OUTS];
            for (c, t8) in taps[..whole].chunks_exact(8).enumerate() {
                let (t, xs) = (t8[l], &x[c * 8 + l..c * 8 + l + OUTS]);
                for j in 0..OUTS {
                    acc[j] += t * xs[j];
                }
            }
            for j in 0..OUTS {
                lanes[j] += acc[j];
            }
        }
        let mut s = [0.0f32; OUTS];
        for (i, &t) in taps[whole..].iter().enumerate() {
            for (s, &v) in s.iter_mut().zip(&x[whole + i..whole + i + OUTS]) {
                *s += t * v;
            }
        }
        for ((y, &s), &t) in y.iter_mut().zip(&s).zip(&lanes) {
            *y = s + t;
        }
    }
    for (k, y) in out.iter_mut().enumerate().skip(done) {
        *y = dot(taps, &input[k..k + len]);
    }
}

/// Dot product in eight lanes.
#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let mut ca = a.chunks_exact(8);
    let mut cb = b.chunks_exact(8);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    let mut s = 0.0;
    for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
        s += x * y;
    }
    s + acc.iter().sum::<f32>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn factor_keeps_the_rate_above_20_khz_and_ten_times_fmax() {
        assert_eq!(factor_for(44_100.0, 2_000.0), 2);
        assert_eq!(factor_for(48_000.0, 2_000.0), 2);
        assert_eq!(factor_for(96_000.0, 2_000.0), 4);
        assert_eq!(factor_for(32_000.0, 2_000.0), 1);
        assert_eq!(factor_for(48_000.0, 3_000.0), 1);
        assert_eq!(factor_for(8_000.0, 1_000.0), 1);
    }

    /// Runs `x` through a decimator hop by hop; returns the last frame.
    fn last_frame(d: &mut Decimator, x: &[f32], hop: usize, out_len: usize) -> Vec<f64> {
        let mut history = History::new(d.history_len());
        let mut out = vec![0.0; out_len];
        for chunk in x.chunks_exact(hop) {
            history.extend(chunk);
            d.frame(&history, &mut out);
        }
        out
    }

    #[test]
    fn a_tone_below_the_new_nyquist_passes_on_time_and_one_above_it_is_removed() {
        let (sr, hop, out_len) = (44_100.0, 221, 300);
        let tone = |f: f64| -> Vec<f32> {
            (0..hop * 40)
                .map(|i| (2.0 * std::f64::consts::PI * f * i as f64 / sr).sin() as f32)
                .collect()
        };
        let mut d = Decimator::new(2, hop, out_len);
        let x = tone(1_000.0);
        let out = last_frame(&mut d, &x, hop, out_len);
        // Output k describes input sample newest - delay - (out_len - 1 - k) * 2.
        let newest = x.len() - 1;
        for (k, &y) in out.iter().enumerate() {
            let i = newest - d.delay() - (out_len - 1 - k) * 2;
            assert!((y - x[i] as f64).abs() < 2e-3, "k {k}: {y} vs {}", x[i]);
        }
        d.reset();
        let out = last_frame(&mut d, &tone(17_000.0), hop, out_len);
        let peak = out.iter().fold(0.0f64, |m, y| m.max(y.abs()));
        assert!(peak < 3e-3, "17 kHz leaks at {peak}");
    }

    #[test]
    fn factor_one_takes_the_newest_samples_as_they_are() {
        let mut d = Decimator::new(1, 5, 8);
        let x: Vec<f32> = (0..20).map(|i| i as f32).collect();
        let out = last_frame(&mut d, &x, 5, 8);
        assert_eq!(out, (12..20).map(|i| i as f64).collect::<Vec<_>>());
        assert_eq!(d.delay(), 0);
    }
}
