//! Online monophonic pitch tracking: YIN's normalised difference function computed with FFTs
//! (the `yin` module), pYIN's multi-threshold period candidates (the `candidates` module), and
//! an online HMM over pitch and voicing with fixed-lag smoothing (the `hmm` module).
//!
//! # Analysis
//! The stream is first low-passed and decimated (the `decimate` module) to the rate `sr'`: half
//! the input rate at 44.1 and 48 kHz (at least 20 kHz and ten times `fmax`; the full rate below
//! 40 kHz). That halves the cost of the analysis; on the dev corpus the raw pitch and chroma
//! accuracy are those of the full rate. Every hop, the newest `2 L` samples at that rate are
//! analysed, where `L = ceil(sr' / fmin) + 1` is the longest period searched (lags from
//! `sr' / fmax` to `L`): the window adapts to `fmin`. Each frame gives period candidates with
//! probabilities; the HMM weighs them against continuity (pitch glides smoothly or leaps rarely,
//! voicing switches rarely) and decides the frame `lag` hops back with what it has heard since.
//!
//! # Note changes
//! While a note is tracked, each frame is also heard with that note's period cancelled
//! (the `change` module): a new note rising under the release of the old one shows there before
//! it outweighs the old note in the frame, and its candidates then stand for the frame's. Once the
//! tracker has moved on, the note before keeps ringing in a plucked or struck instrument's
//! frames; where the frame then repeats only at a multiple of that note's period (their common
//! period, as a fifth over a ringing note makes one an octave below the lower), the frame is
//! heard with the previous note cancelled instead.
//!
//! # Voicing
//! A frame is voiced when the HMM's probability of voicing reaches the voicing threshold. The
//! evidence for voicing is periodicity (any clear dip in `d'`; how deep matters little, since a
//! note's release tail is as periodic as its sustain) against two signs that no note is
//! playing: silence (the frame below the silence gate) and a *release*: the level falling by
//! more than [`RELEASE_ONSET_DB`] across the frame, the signature of a note that has ended and
//! is dying away (a sustained or slowly decaying note falls far less over 30 ms). Each dB
//! beyond that divides the odds of voicing by `10^(1 / RELEASE_DB_PER_DECADE)`, down to
//! [`RELEASE_MAX_DECADES`] decades. So the track stops where the player lets go of a note,
//! not where its sound has died out.
//!
//! # Timing and latency
//! A [`Pitch`](crate::Event::Pitch) event is stamped at the centre of its analysis frame. It is
//! emitted `L / sr'` seconds plus the decimation filter's delay plus `lag` hops after that
//! point: [`Output::Pitch`](crate::Output::Pitch)'s latency. At 44.1 kHz with `fmin` = 60 Hz, a
//! 5 ms hop and the default lag of 2 frames, that is 16.7 + 0.4 + 10 = 27.1 ms. Frames whose
//! centre would fall before the start of the stream are not reported.

mod candidates;
mod change;
mod decimate;
mod hmm;
mod yin;

use crate::config::PitchConfig;
use crate::event::{Event, EventSender};
use crate::framer::{History, Hopper};
use crate::params::PitchParams;

use candidates::{Candidate, CandidateExtractor};
use change::NoteChange;
use decimate::Decimator;
use hmm::PitchHmm;
use yin::Yin;

/// Resolution of the HMM's pitch grid, bins per semitone (33 cents). The reported frequency is
/// the interpolated candidate's, not the bin's, so this bounds only the tracking resolution: 3
/// bins track the dev corpus as 5 do (raw pitch accuracy 0.900 both, voicing false alarm 0.534
/// against 0.531) at three fifths of the HMM's cost.
const BINS_PER_SEMITONE: usize = 3;
/// Fastest pitch change followed within one voiced run, octaves per second (pYIN's value).
const MAX_GLIDE_OCT_PER_S: f64 = 35.92;
/// Probability of switching between voiced and unvoiced from one frame to the next, per 10 ms.
const SWITCH_PROB: f64 = 0.01;
/// Probability of a leap anywhere in the range from one frame to the next, per 10 ms.
const JUMP_PROB: f64 = 0.01;
/// Periodicity at which the voicing odds are half their most: `V / (V + V_HALF)` with `V` the
/// probability of the dips below the thresholds. Deeper dips add little: sustain and release
/// are equally periodic.
const V_HALF: f64 = 0.01;
/// Odds of voicing (before the release term) for a clearly periodic frame.
const VOICED_ODDS: f64 = 3.0;
/// Level fall across a frame (last 10 ms against first 10 ms) from which it counts against
/// voicing, dB.
pub const RELEASE_ONSET_DB: f64 = 1.5;
/// dB of further fall per decade of odds against voicing.
pub const RELEASE_DB_PER_DECADE: f64 = 2.5;
/// At most this many decades against voicing from the release term; a steady or rising level
/// adds at most one decade for.
pub const RELEASE_MAX_DECADES: f64 = 2.5;
/// A frame whose 10 ms after the centre are this much louder (dB) than the 10 ms before it
/// describes a moment before the sound began: three decades against voicing.
pub const NOT_YET_DB: f64 = 20.0;
/// Shortest note remembered as the previous one, whose release may ring under the next
/// ([`change`]), seconds.
const MIN_PREVIOUS_NOTE_S: f64 = 0.03;
/// Candidates kept per frame for the smoothing lag.
const MAX_KEPT: usize = 16;

/// One decided pitch frame, handed to the note tracker.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PitchFrame {
    /// Stream position of the frame centre.
    pub(crate) sample: u64,
    /// Fundamental frequency in Hz (the most probable pitch, also when unvoiced).
    pub(crate) f0_hz: f32,
    /// Voicing decision.
    pub(crate) voiced: bool,
    /// Probability that the frame is voiced.
    pub(crate) voiced_prob: f32,
    /// Confidence in the pitch given voicing, 0 to 1.
    pub(crate) confidence: f32,
    /// Level of the frame, dBFS (mean square).
    pub(crate) level_db: f32,
    /// How periodic the frame is, 0 to 1 (the candidates' total probability): it drops where
    /// two notes overlap, as at a legato change.
    pub(crate) periodicity: f32,
}

/// The pitch stage.
pub(crate) struct PitchTracker {
    hopper: Hopper,
    decimator: Decimator,
    yin: Yin,
    extractor: CandidateExtractor,
    candidates: Vec<Candidate>,
    hmm: PitchHmm,
    voiced_obs: Vec<f64>,
    change: NoteChange,
    /// Pitch of the last decided frame, Hz, 0 when it was unvoiced.
    tracked_hz: f64,
    /// Candidates of the last `lag + 1` frames, `MAX_KEPT` per frame, their counts, levels and
    /// periodicities.
    kept: Vec<Candidate>,
    kept_len: Vec<usize>,
    levels: Vec<f32>,
    periodicities: Vec<f32>,
    lag: usize,
    /// Frames analysed since the last reset.
    frames: u64,
    /// Samples from a frame's centre to its end, at the analysis rate.
    centre: usize,
    /// Samples over which the level fall is measured at each end of the frame, at the analysis
    /// rate.
    edge: usize,
    fmin: f64,
    voiced_odds: f64,
    /// `V_HALF` and `NOT_YET_DB`, read once here (the `tune` feature may replace them).
    v_half: f64,
    not_yet_db: f64,
    release: (f64, f64, f64),
}

impl PitchTracker {
    pub(crate) fn new(c: &PitchConfig, sample_rate: f64) -> Self {
        let hop = c.hop_samples(sample_rate);
        let factor = decimate::factor_for(sample_rate, c.fmax_hz);
        // The analysis runs at the decimated rate: lags, frame and edges count its samples.
        let rate = sample_rate / factor as f64;
        let max_lag = c.max_period_samples(rate);
        // One lag of margin below the shortest period, so a dip at fmax has a neighbour on
        // each side for its interpolation.
        let min_lag = ((rate / c.fmax_hz).floor() as usize)
            .saturating_sub(1)
            .max(2);
        let yin = Yin::new(2 * max_lag, max_lag);
        let fmin = c.fmin_hz;
        let n = (12.0 * BINS_PER_SEMITONE as f64 * (c.fmax_hz / fmin).log2()).floor() as usize + 1;
        let hop_s = hop as f64 / sample_rate;
        let per_10ms = |p: f64| 1.0 - (1.0 - p).powf(hop_s / 0.01);
        let half_width = (MAX_GLIDE_OCT_PER_S * 12.0 * BINS_PER_SEMITONE as f64 * hop_s)
            .round()
            .max(1.0) as usize;
        let lag = c.lag_frames as usize;
        let extractor = CandidateExtractor::new(min_lag, max_lag, rate);
        let frame_len = yin.frame_len();
        Self {
            change: NoteChange::new(
                frame_len,
                max_lag,
                rate,
                extractor.max_candidates(),
                (MIN_PREVIOUS_NOTE_S / hop_s).ceil() as u32,
            ),
            tracked_hz: 0.0,
            hopper: Hopper::new(hop),
            decimator: Decimator::new(factor, hop, frame_len),
            candidates: Vec::with_capacity(extractor.max_candidates()),
            extractor,
            centre: frame_len / 2,
            edge: ((0.01 * rate) as usize).clamp(1, frame_len / 3),
            yin,
            hmm: PitchHmm::new(
                n,
                half_width,
                crate::tune::get("SWITCH", per_10ms(SWITCH_PROB)),
                crate::tune::get("JUMP", per_10ms(JUMP_PROB)),
                lag,
            ),
            voiced_obs: vec![0.0; n],
            kept: vec![Candidate::default(); (lag + 1) * MAX_KEPT],
            kept_len: vec![0; lag + 1],
            levels: vec![0.0; lag + 1],
            periodicities: vec![0.0; lag + 1],
            lag,
            frames: 0,
            fmin,
            voiced_odds: crate::tune::get("VK", VOICED_ODDS),
            v_half: crate::tune::get("VH", V_HALF),
            not_yet_db: crate::tune::get("PRE", NOT_YET_DB),
            release: (
                crate::tune::get("RD0", RELEASE_ONSET_DB),
                crate::tune::get("RDK", RELEASE_DB_PER_DECADE),
                crate::tune::get("RMAX", RELEASE_MAX_DECADES),
            ),
        }
    }

    /// Samples of history the stage reads.
    pub(crate) fn history_len(&self) -> usize {
        self.decimator.history_len()
    }

    pub(crate) fn hop(&self) -> usize {
        self.hopper.hop()
    }

    pub(crate) fn until_next(&self) -> usize {
        self.hopper.until_next()
    }

    /// Samples from the centre of a frame to the emission of its event.
    pub(crate) fn latency_samples(&self) -> usize {
        self.centre_offset() + self.lag * self.hop()
    }

    /// Input samples from a frame's centre to its end.
    fn centre_offset(&self) -> usize {
        self.decimator.delay() + self.decimator.factor() * (self.centre - 1) + 1
    }

    pub(crate) fn reset(&mut self) {
        self.hopper.reset();
        self.decimator.reset();
        self.hmm.reset();
        self.kept_len.fill(0);
        self.levels.fill(0.0);
        self.periodicities.fill(0.0);
        self.frames = 0;
        self.tracked_hz = 0.0;
        self.change.reset();
    }

    fn bin_of(&self, f: f64) -> f64 {
        12.0 * BINS_PER_SEMITONE as f64 * (f / self.fmin).log2()
    }

    fn freq_of(&self, bin: usize) -> f64 {
        self.fmin * 2f64.powf(bin as f64 / (12.0 * BINS_PER_SEMITONE as f64))
    }

    /// Odds of voicing for a frame whose candidates total `periodicity`, whose level falls by
    /// `fall_db` across it and rises by `rise_db` at its centre (see the module documentation).
    fn voicing_odds(&self, periodicity: f64, fall_db: f64, rise_db: f64) -> f64 {
        let (onset, per_decade, max) = self.release;
        let mut decades = ((fall_db - onset) / per_decade).clamp(-1.0, max);
        if rise_db > self.not_yet_db {
            decades += 3.0;
        }
        self.voiced_odds * periodicity / (periodicity + self.v_half) / 10f64.powf(decades)
    }

    /// `n` samples were appended to `history`; analyses a frame if one is due and returns the
    /// frame decided by it (the one `lag` hops back), also sending it as an event when `send`.
    pub(crate) fn advance(
        &mut self,
        n: usize,
        history: &History,
        params: &PitchParams,
        events: &mut EventSender,
        send: bool,
    ) -> Option<PitchFrame> {
        if !self.hopper.advance(n) {
            return None;
        }
        let p = params.snapshot();
        crate::simd::fast(
            #[inline(always)]
            || self.decimator.frame(history, self.yin.frame_mut()),
        );
        self.yin.process();
        let len = self.yin.frame_len();
        let mean_square = self.yin.mean_square(0, len);
        let level_db = 10.0 * (mean_square + 1e-30).log10();
        let first = self.yin.mean_square(0, self.edge);
        let last = self.yin.mean_square(len - self.edge, len);
        let fall_db = 10.0 * ((first + 1e-30) / (last + 1e-30)).log10();
        // The sound may not have begun at the centre yet: the 10 ms before it far quieter than
        // the 10 ms after.
        let c = self.centre;
        let before = self.yin.mean_square(c - self.edge, c);
        let after = self.yin.mean_square(c, c + self.edge);
        let rise_db = 10.0 * ((after + 1e-30) / (before + 1e-30)).log10();
        let mut periodicity = self
            .extractor
            .extract(self.yin.cmndf(), &mut self.candidates);
        if level_db < p.silence_gate_db as f64 {
            periodicity = 0.0;
            self.candidates.clear();
        } else {
            // A new note under the release of the tracked one, or of the one before it (see
            // [`change`]); the frame's periodicity stays its own, whose drop marks the overlap
            // for the note tracker.
            let energy = mean_square * len as f64;
            let revealed = self.tracked_hz > 0.0
                && self.change.reveal(
                    self.yin.frame(),
                    energy,
                    self.tracked_hz,
                    &mut self.extractor,
                    &mut self.candidates,
                );
            if !revealed {
                self.change.unmask(
                    self.yin.frame(),
                    energy,
                    self.tracked_hz,
                    &mut self.extractor,
                    &mut self.candidates,
                );
            }
        }
        // Observations, as likelihoods relative to the unvoiced state's (1): the pitch
        // distribution given voicing (the candidates' probabilities over their total, scaled
        // by the bin count) times the odds of voicing.
        let nb = self.hmm.bins();
        self.voiced_obs.fill(0.0);
        if periodicity > 0.0 {
            // Over the candidates' own total, which holds the share the deepest dip gets when no
            // dip is below a threshold: over `periodicity`, which leaves it out, a frame of
            // noise with a hint of periodicity would put a hundredfold weight on that dip.
            let total: f64 = self.candidates.iter().map(|c| c.prob).sum();
            let scale = nb as f64 * self.voicing_odds(periodicity, fall_db, rise_db) / total;
            for c in &self.candidates {
                // Candidates up to half a semitone outside the range count at its edges.
                let b = self.bin_of(c.freq_hz).round();
                let margin = BINS_PER_SEMITONE as f64 / 2.0;
                if b >= -margin && b <= (nb - 1) as f64 + margin {
                    self.voiced_obs[(b.max(0.0) as usize).min(nb - 1)] += c.prob * scale;
                }
            }
        }
        // Keep this frame's strongest candidates for when it is decided.
        let slot = (self.frames % (self.lag as u64 + 1)) as usize;
        self.candidates
            .sort_unstable_by(|a, b| b.prob.total_cmp(&a.prob));
        let k = self.candidates.len().min(MAX_KEPT);
        self.kept[slot * MAX_KEPT..slot * MAX_KEPT + k].copy_from_slice(&self.candidates[..k]);
        self.kept_len[slot] = k;
        self.levels[slot] = level_db as f32;
        self.periodicities[slot] = periodicity as f32;
        let t = self.frames;
        self.frames += 1;
        let post = self.hmm.push(&self.voiced_obs, 1.0, self.lag)?;
        // The decided frame, stamped at its centre; frames centred before the stream began are
        // not reported.
        let d = t - self.lag as u64;
        let end = (d + 1) * self.hop() as u64;
        let sample = end.checked_sub(self.centre_offset() as u64)?;
        let dslot = (d % (self.lag as u64 + 1)) as usize;
        let kept = &self.kept[dslot * MAX_KEPT..dslot * MAX_KEPT + self.kept_len[dslot]];
        // The strongest candidate within a semitone of the most probable bin gives the exact
        // frequency; otherwise the bin's centre.
        let mut f0 = self.freq_of(post.bin);
        let mut best = 0.0;
        for c in kept {
            let db = (self.bin_of(c.freq_hz) - post.bin as f64).abs();
            if db <= BINS_PER_SEMITONE as f64 && c.prob > best {
                best = c.prob;
                f0 = c.freq_hz;
            }
        }
        // Within a third of a semitone: the bins either side.
        let confidence = self.hmm.concentration(post.bin, BINS_PER_SEMITONE / 3);
        let frame = PitchFrame {
            sample,
            f0_hz: f0 as f32,
            voiced: post.voiced >= p.voicing_threshold as f64,
            voiced_prob: post.voiced as f32,
            confidence: confidence as f32,
            level_db: self.levels[dslot],
            periodicity: self.periodicities[dslot],
        };
        self.tracked_hz = if frame.voiced { f0 } else { 0.0 };
        self.change.observe(self.tracked_hz);
        if send {
            events.send(Event::Pitch {
                sample,
                f0_hz: if frame.voiced { frame.f0_hz } else { 0.0 },
                voiced_prob: frame.voiced_prob,
                confidence: frame.confidence,
            });
        }
        Some(frame)
    }
}
