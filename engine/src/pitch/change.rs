//! What is new in a frame: the tracked note's period cancelled, to hear the next note under the
//! release of the last one.
//!
//! At a note change the analysis frame holds the end of the old note and the start of the new
//! one. The old note, sustained or ringing out, is the stronger and more periodic for the first
//! 20 to 40 ms, so the difference function's dip slides from its period to the new one (and at a
//! rising octave the mixture's period *is* the old one). The comb `y_j = x_j - x_{j-P}`, with
//! `P` the period of the last decided frame (linearly interpolated between samples; `x_{j+P}`
//! for the first `P` samples, which have no past in the frame), removes the old note and every
//! one of its harmonics, and leaves whatever does not repeat at `P`.
//!
//! When that residual holds at least [`MIN_RESIDUAL`] of the frame's energy, grows across the
//! frame (its last quarter [`MIN_GROWTH`] times its first: a note starting, not a decaying one
//! or noise), and is itself periodic ([`MIN_PERIODICITY`]) at a pitch more than half a semitone
//! from the tracked one, its candidates replace the frame's. On a steady note the residual is a
//! few per cent of the frame and nothing changes; the second difference function runs only on
//! the frames that pass the first two tests.
//!
//! On the dev corpus's pitch files this raises raw pitch accuracy from 0.900 to 0.907 and note
//! F from 0.831 to 0.841, with no file worse by more than 0.001 and voicing false alarm
//! unchanged (0.534 to 0.533).

use super::candidates::{Candidate, CandidateExtractor};
use super::yin::Yin;

/// Share of the frame's energy the residual must hold.
const MIN_RESIDUAL: f64 = 0.2;
/// Energy of the residual's last quarter over its first, at least.
const MIN_GROWTH: f64 = 2.0;
/// Periodicity (the candidates' probability below the thresholds) the residual must reach.
const MIN_PERIODICITY: f64 = 0.3;
/// Smallest distance from the tracked pitch, semitones, for the residual's pitch to be new.
const MIN_INTERVAL: f64 = 0.5;

/// The comb residual's analysis.
pub(crate) struct NoteChange {
    yin: Yin,
    candidates: Vec<Candidate>,
    /// Analysis rate, Hz.
    rate: f64,
    min_residual: f64,
    min_growth: f64,
    min_periodicity: f64,
}

impl NoteChange {
    /// For frames of `frame_len` samples at `rate`, lags up to `max_lag`, candidates as many as
    /// `max_candidates`.
    pub(crate) fn new(frame_len: usize, max_lag: usize, rate: f64, max_candidates: usize) -> Self {
        Self {
            yin: Yin::new(frame_len, max_lag),
            candidates: Vec::with_capacity(max_candidates),
            rate,
            min_residual: crate::tune::get("CR", MIN_RESIDUAL),
            min_growth: crate::tune::get("CRISE", MIN_GROWTH),
            min_periodicity: crate::tune::get("CQ", MIN_PERIODICITY),
        }
    }

    /// Looks in `frame` (mean removed) for a note other than the one at `tracked_hz`. If there
    /// is one, its candidates replace `candidates` (whose capacity is at least this stage's)
    /// and the call returns true.
    pub(crate) fn reveal(
        &mut self,
        frame: &[f64],
        tracked_hz: f64,
        extractor: &mut CandidateExtractor,
        candidates: &mut Vec<Candidate>,
    ) -> bool {
        let n = frame.len();
        let period = self.rate / tracked_hz;
        // The comb reaches one period and a sample either side of each output sample.
        if !(period.is_finite() && period >= 1.0 && 2.0 * period + 2.0 < n as f64) {
            return false;
        }
        let whole = period as usize;
        let (near, far) = (1.0 - period.fract(), period.fract());
        let y = self.yin.frame_mut();
        let (energy, residual, head, tail) = crate::simd::fast(
            #[inline(always)]
            || {
                // Two plain loops (the first `whole + 1` samples compare forwards, the rest
                // backwards), so that both vectorise.
                let (early, late) = y.split_at_mut(whole + 1);
                let ahead = frame[whole..].iter().zip(&frame[whole + 1..]);
                for ((out, &x), (&a, &b)) in early.iter_mut().zip(frame).zip(ahead) {
                    *out = x - near * a - far * b;
                }
                let behind = frame[1..].iter().zip(frame);
                for ((out, &x), (&a, &b)) in late.iter_mut().zip(&frame[whole + 1..]).zip(behind) {
                    *out = x - near * a - far * b;
                }
                let square = |v: f64| v * v;
                let quarter = n / 4;
                (
                    crate::simd::sum_lanes_of::<4>(frame, square),
                    crate::simd::sum_lanes_of::<4>(y, square),
                    crate::simd::sum_lanes_of::<4>(&y[..quarter], square),
                    crate::simd::sum_lanes_of::<4>(&y[n - quarter..], square),
                )
            },
        );
        if residual <= self.min_residual * energy || tail <= self.min_growth * head {
            return false;
        }
        self.yin.process();
        let periodicity = extractor.extract(self.yin.cmndf(), &mut self.candidates);
        let Some(best) = self
            .candidates
            .iter()
            .max_by(|a, b| a.prob.total_cmp(&b.prob))
        else {
            return false;
        };
        let interval = 12.0 * (best.freq_hz / tracked_hz).log2().abs();
        if periodicity <= self.min_periodicity || interval <= MIN_INTERVAL {
            return false;
        }
        candidates.clear();
        candidates.extend_from_slice(&self.candidates);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: f64 = 22_050.0;
    const LEN: usize = 738;
    const MAX_LAG: usize = 369;

    fn tone(f: f64, amp: f64, i: usize) -> f64 {
        (1..=4)
            .map(|h| {
                amp / h as f64 * (std::f64::consts::TAU * f * h as f64 * i as f64 / RATE).sin()
            })
            .sum()
    }

    fn run(frame: &[f64], tracked: f64) -> (bool, Vec<Candidate>) {
        let mut change = NoteChange::new(LEN, MAX_LAG, RATE, MAX_LAG);
        let mut extractor = CandidateExtractor::new(11, MAX_LAG, RATE);
        let mut out = Vec::with_capacity(MAX_LAG);
        let found = change.reveal(frame, tracked, &mut extractor, &mut out);
        (found, out)
    }

    #[test]
    fn a_steady_note_reveals_nothing() {
        let frame: Vec<f64> = (0..LEN).map(|i| tone(440.0, 0.5, i)).collect();
        assert!(!run(&frame, 440.0).0);
    }

    #[test]
    fn a_note_rising_under_the_tracked_one_is_found() {
        // The old note at 440 Hz fading out, a new one at 392 Hz swelling in from 40% of the
        // frame to the level the old one started at.
        let frame: Vec<f64> = (0..LEN)
            .map(|i| {
                let t = i as f64 / LEN as f64;
                let new = ((t - 0.4) / 0.6).max(0.0);
                tone(440.0, 1.0 - 0.5 * t, i) + tone(392.0, new, i)
            })
            .collect();
        let (found, candidates) = run(&frame, 440.0);
        assert!(found);
        let best = candidates
            .iter()
            .max_by(|a, b| a.prob.total_cmp(&b.prob))
            .unwrap();
        assert!((best.freq_hz - 392.0).abs() < 4.0, "{best:?}");
    }

    #[test]
    fn a_decaying_note_under_a_new_tracked_one_is_not_brought_back() {
        // Tracking the new note at 392 Hz: what the comb leaves is the old note dying away.
        let frame: Vec<f64> = (0..LEN)
            .map(|i| {
                let t = i as f64 / LEN as f64;
                tone(440.0, 0.8 * (1.0 - t), i) + tone(392.0, 0.8, i)
            })
            .collect();
        assert!(!run(&frame, 392.0).0);
    }

    #[test]
    fn noise_and_impossible_periods_reveal_nothing() {
        let mut seed = 7u32;
        let noise: Vec<f64> = (0..LEN)
            .map(|i| {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (seed as f64 / u32::MAX as f64 - 0.5) * (i as f64 / LEN as f64)
            })
            .collect();
        assert!(!run(&noise, 440.0).0);
        for tracked in [0.0, -5.0, f64::NAN, 20.0] {
            assert!(!run(&noise, tracked).0, "{tracked}");
        }
    }
}
