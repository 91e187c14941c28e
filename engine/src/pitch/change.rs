//! What is new in a frame: a note's period cancelled, to hear the next note under the release
//! of the last one.
//!
//! At a note change the analysis frame holds the end of the old note and the start of the new
//! one. The old note, sustained or ringing out, is the stronger and more periodic for the first
//! 20 to 40 ms, so the difference function's dip slides from its period to the new one (and at a
//! rising octave the mixture's period *is* the old one). The comb `y_j = x_j - x_{j-P}`, with
//! `P` a note's period (linearly interpolated between samples; `x_{j+P}` for the first `P`
//! samples, which have no past in the frame), removes that note and every one of its
//! harmonics, and leaves whatever does not repeat at `P`. It is used twice:
//!
//! - [`NoteChange::reveal`], with `P` the period of the last decided frame: when the residual
//!   holds at least [`MIN_RESIDUAL`] of the frame's energy, grows across the frame (its last
//!   quarter [`MIN_GROWTH`] times its first: a note starting, not a decaying one or noise), and
//!   is itself periodic ([`MIN_PERIODICITY`]) at a pitch more than half a semitone from the
//!   tracked one, its candidates replace the frame's. On a steady note the residual is a few per
//!   cent of the frame and nothing changes; the second difference function runs only on the
//!   frames that pass the first two tests.
//! - [`NoteChange::unmask`], with `P` the period of the note before the one now tracked, while
//!   the frame's strongest period is a multiple of it (2 to [`MAX_MULTIPLE`] times): the old
//!   note still rings, and with the new one the mixture repeats only at a common multiple of
//!   their periods (a fifth above a ringing A3 at 220 Hz, E4 at 330 Hz, makes a frame periodic
//!   at 110 Hz). A plucked or struck note decays from its start, so the growth test cannot
//!   hold there; the residual must still be periodic at a new pitch.
//!
//! On the dev corpus's pitch files `reveal` raised raw pitch accuracy from 0.900 to 0.907 and
//! note F from 0.831 to 0.841; `unmask` from 0.907 to 0.911 and 0.841 to 0.856 (no file worse
//! by more than 0.001; voicing false alarm unchanged, 0.533).

use super::candidates::{Candidate, CandidateExtractor};
use super::yin::Yin;

/// Share of the frame's energy the residual must hold.
const MIN_RESIDUAL: f64 = 0.2;
/// Energy of the residual's last quarter over its first, at least, for [`NoteChange::reveal`].
const MIN_GROWTH: f64 = 2.0;
/// Periodicity (the candidates' probability below the thresholds) the residual must reach.
const MIN_PERIODICITY: f64 = 0.3;
/// Smallest distance from the cancelled pitch, semitones, for the residual's pitch to be new.
const MIN_INTERVAL: f64 = 0.5;
/// Largest multiple of the previous note's period the frame's may be for
/// [`NoteChange::unmask`] to listen under it (the mixture of two notes a whole tone apart
/// repeats every 8 periods of the higher one).
const MAX_MULTIPLE: f64 = 8.0;
/// How far (cents) the frame's period may be from a multiple of the previous note's.
const MULTIPLE_TOLERANCE_CENTS: f64 = 50.0;

/// The comb residual's analysis, and the notes it may cancel.
pub(crate) struct NoteChange {
    yin: Yin,
    candidates: Vec<Candidate>,
    /// Analysis rate, Hz.
    rate: f64,
    min_residual: f64,
    min_growth: f64,
    min_periodicity: f64,
    /// Frames a note must last to count as the previous one once another follows.
    min_frames: u32,
    /// The note decided before the current one, Hz (0: none): its release may ring on.
    previous_hz: f64,
    /// The note decided last, Hz (0: unvoiced), and for how many frames in a row.
    current_hz: f64,
    current_frames: u32,
}

impl NoteChange {
    /// For frames of `frame_len` samples at `rate`, lags up to `max_lag`, candidates as many as
    /// `max_candidates`; a note lasting `min_frames` decided frames is remembered once the next
    /// one starts.
    pub(crate) fn new(
        frame_len: usize,
        max_lag: usize,
        rate: f64,
        max_candidates: usize,
        min_frames: u32,
    ) -> Self {
        Self {
            yin: Yin::new(frame_len, max_lag),
            candidates: Vec::with_capacity(max_candidates),
            rate,
            min_residual: crate::tune::get("CR", MIN_RESIDUAL),
            min_growth: crate::tune::get("CRISE", MIN_GROWTH),
            min_periodicity: crate::tune::get("CQ", MIN_PERIODICITY),
            min_frames,
            previous_hz: 0.0,
            current_hz: 0.0,
            current_frames: 0,
        }
    }

    /// Forgets the notes heard.
    pub(crate) fn reset(&mut self) {
        self.previous_hz = 0.0;
        self.current_hz = 0.0;
        self.current_frames = 0;
    }

    /// Takes the pitch of the frame just decided, Hz (0 when unvoiced): a note that lasted at
    /// least `min_frames` becomes the previous one when the pitch leaves its semitone.
    pub(crate) fn observe(&mut self, hz: f64) {
        let same = if hz > 0.0 && self.current_hz > 0.0 {
            semitones(hz, self.current_hz) < 1.0
        } else {
            hz <= 0.0 && self.current_hz <= 0.0
        };
        if same {
            self.current_frames = self.current_frames.saturating_add(1);
            return;
        }
        if self.current_hz > 0.0 && self.current_frames >= self.min_frames {
            self.previous_hz = self.current_hz;
        }
        self.current_hz = hz.max(0.0);
        self.current_frames = 1;
    }

    /// Looks in `frame` (mean removed; `energy` its sum of squares) for a note other than the
    /// one at `tracked_hz`. If there is one, its candidates replace `candidates` (whose
    /// capacity is at least this stage's) and the call returns true.
    pub(crate) fn reveal(
        &mut self,
        frame: &[f64],
        energy: f64,
        tracked_hz: f64,
        extractor: &mut CandidateExtractor,
        candidates: &mut Vec<Candidate>,
    ) -> bool {
        self.hear_without(
            frame,
            energy,
            tracked_hz,
            self.min_growth,
            extractor,
            candidates,
        )
    }

    /// Where the strongest of `candidates` has a period 2 to [`MAX_MULTIPLE`] times the previous
    /// note's, and the note tracked (`tracked_hz`, 0 for none) is another, hears `frame` with
    /// the previous note cancelled; if a new note is there, its candidates replace
    /// `candidates` and the call returns true.
    pub(crate) fn unmask(
        &mut self,
        frame: &[f64],
        energy: f64,
        tracked_hz: f64,
        extractor: &mut CandidateExtractor,
        candidates: &mut Vec<Candidate>,
    ) -> bool {
        let previous = self.previous_hz;
        if previous <= 0.0 || (tracked_hz > 0.0 && semitones(tracked_hz, previous) < 1.0) {
            return false;
        }
        let Some(best) = strongest(candidates) else {
            return false;
        };
        let multiple = previous / best.freq_hz;
        let k = multiple.round();
        if !(2.0..=MAX_MULTIPLE).contains(&k)
            || 100.0 * semitones(multiple, k) > MULTIPLE_TOLERANCE_CENTS
        {
            return false;
        }
        self.hear_without(frame, energy, previous, 0.0, extractor, candidates)
    }

    /// The comb at `hz` over `frame`; where its residual holds enough of `energy`, grows by
    /// `growth` from its first quarter to its last, and is periodic at a pitch other than `hz`,
    /// its candidates replace `candidates`.
    fn hear_without(
        &mut self,
        frame: &[f64],
        energy: f64,
        hz: f64,
        growth: f64,
        extractor: &mut CandidateExtractor,
        candidates: &mut Vec<Candidate>,
    ) -> bool {
        let n = frame.len();
        let period = self.rate / hz;
        // The comb reaches one period and a sample either side of each output sample.
        if !(period.is_finite() && period >= 1.0 && 2.0 * period + 2.0 < n as f64) {
            return false;
        }
        let whole = period as usize;
        let (near, far) = (1.0 - period.fract(), period.fract());
        let y = self.yin.frame_mut();
        let (residual, head, tail) = crate::simd::fast(
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
                    crate::simd::sum_lanes_of::<4>(y, square),
                    crate::simd::sum_lanes_of::<4>(&y[..quarter], square),
                    crate::simd::sum_lanes_of::<4>(&y[n - quarter..], square),
                )
            },
        );
        if residual <= self.min_residual * energy || tail <= growth * head {
            return false;
        }
        self.yin.process();
        let periodicity = extractor.extract(self.yin.cmndf(), &mut self.candidates);
        let Some(best) = strongest(&self.candidates) else {
            return false;
        };
        if periodicity <= self.min_periodicity || semitones(best.freq_hz, hz) <= MIN_INTERVAL {
            return false;
        }
        candidates.clear();
        candidates.extend_from_slice(&self.candidates);
        true
    }
}

/// The most probable of `candidates`.
fn strongest(candidates: &[Candidate]) -> Option<&Candidate> {
    candidates.iter().max_by(|a, b| a.prob.total_cmp(&b.prob))
}

/// Distance between two pitches in semitones.
fn semitones(a: f64, b: f64) -> f64 {
    12.0 * (a / b).log2().abs()
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

    fn energy(frame: &[f64]) -> f64 {
        frame.iter().map(|v| v * v).sum()
    }

    fn run(frame: &[f64], tracked: f64) -> (bool, Vec<Candidate>) {
        let mut change = NoteChange::new(LEN, MAX_LAG, RATE, MAX_LAG, 6);
        let mut extractor = CandidateExtractor::new(11, MAX_LAG, RATE);
        let mut out = Vec::with_capacity(MAX_LAG);
        let found = change.reveal(frame, energy(frame), tracked, &mut extractor, &mut out);
        (found, out)
    }

    fn best(candidates: &[Candidate]) -> f64 {
        strongest(candidates).map_or(0.0, |c| c.freq_hz)
    }

    /// The tracker's view of `frame` after `history` (pitches of decided frames, 0 unvoiced):
    /// the frame's own candidates, then `unmask`'s verdict and the candidates it leaves.
    fn unmask_after(history: &[f64], frame: &[f64]) -> (f64, bool, f64) {
        let mut change = NoteChange::new(LEN, MAX_LAG, RATE, MAX_LAG, 6);
        for &hz in history {
            change.observe(hz);
        }
        let mut extractor = CandidateExtractor::new(11, MAX_LAG, RATE);
        let mut yin = Yin::new(LEN, MAX_LAG);
        yin.frame_mut().copy_from_slice(frame);
        yin.process();
        let mut out = Vec::with_capacity(MAX_LAG);
        extractor.extract(yin.cmndf(), &mut out);
        let own = best(&out);
        let tracked = history.last().copied().unwrap_or(0.0);
        let e = yin.mean_square(0, LEN) * LEN as f64;
        let found = change.unmask(yin.frame(), e, tracked, &mut extractor, &mut out);
        (own, found, best(&out))
    }

    /// A3 (220 Hz) ringing out under E4 (329.6 Hz, a fifth above), plucked: both decay across
    /// the frame, and together they repeat only every 110 Hz period.
    fn fifth_under_release(i: usize) -> f64 {
        let t = i as f64 / LEN as f64;
        tone(220.0, 0.6 * (1.0 - 0.3 * t), i) + tone(329.63, 0.5 * (1.0 - 0.2 * t), i)
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

    #[test]
    fn a_new_note_is_heard_under_the_previous_ones_release() {
        let frame: Vec<f64> = (0..LEN).map(fifth_under_release).collect();
        // A3 held for 10 frames, then the tracker follows the mixture's period, E4 or nothing.
        for tracked in [110.0, 329.63, 0.0] {
            let (own, found, heard) =
                unmask_after(&[[220.0; 10].as_slice(), &[tracked]].concat(), &frame);
            assert!(
                (own - 110.0).abs() < 2.0,
                "the frame alone repeats at 110 Hz: {own}"
            );
            assert!(found, "tracking {tracked}");
            assert!((heard - 329.63).abs() < 3.0, "tracking {tracked}: {heard}");
        }
    }

    #[test]
    fn without_a_previous_note_nothing_is_unmasked() {
        let frame: Vec<f64> = (0..LEN).map(fifth_under_release).collect();
        // A3 too short to count (3 frames), or never left: no previous note.
        for history in [&[220.0, 220.0, 220.0, 110.0][..], &[220.0; 12][..], &[][..]] {
            let (own, found, heard) = unmask_after(history, &frame);
            assert!(!found, "{history:?}");
            assert_eq!(own, heard);
        }
    }

    #[test]
    fn a_note_an_octave_below_the_previous_one_keeps_its_pitch() {
        // The new note's period is twice the previous note's: the comb leaves its odd
        // harmonics, which repeat at its own period.
        let frame: Vec<f64> = (0..LEN).map(|i| tone(110.0, 0.8, i)).collect();
        let (own, found, heard) =
            unmask_after(&[[220.0; 10].as_slice(), &[110.0]].concat(), &frame);
        assert!((own - 110.0).abs() < 2.0, "{own}");
        assert!(!found || (heard - 110.0).abs() < 2.0, "{heard}");
    }

    #[test]
    fn the_previous_note_is_the_last_one_held_long_enough() {
        let mut change = NoteChange::new(LEN, MAX_LAG, RATE, MAX_LAG, 6);
        for hz in [440.0; 6] {
            change.observe(hz);
        }
        // A glitch of two frames, then a new note: the previous one stays 440 Hz.
        for hz in [880.0, 880.0, 392.0, 392.0, 391.0] {
            change.observe(hz);
        }
        assert_eq!(change.previous_hz, 440.0);
        // Within a semitone it is the same note; a rest ends it too.
        for hz in [392.0; 3].into_iter().chain([0.0]) {
            change.observe(hz);
        }
        assert_eq!(change.previous_hz, 392.0);
        change.reset();
        assert_eq!(change.previous_hz, 0.0);
    }
}
