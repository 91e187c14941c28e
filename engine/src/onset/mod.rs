//! Online onset detection: an STFT frame every hop, five detection functions computed from it,
//! and a causal adaptive peak picker.
//!
//! # Methods
//! - [`OnsetMethod::SpectralFlux`]: rectified flux of a log-frequency (24 bands per octave),
//!   log-magnitude spectrogram against the frame a quarter window back.
//! - [`OnsetMethod::SuperFlux`]: the same with a maximum filter across frequency on the reference
//!   frame, which suppresses vibrato and glissandi (the default).
//! - [`OnsetMethod::ComplexDomain`]: rectified complex-domain deviation from a stationary-sinusoid
//!   prediction; good for soft, pitched onsets.
//! - [`OnsetMethod::Hfc`]: high-frequency content; good for percussive attacks.
//! - [`OnsetMethod::Energy`]: rise of the log energy; the cheapest and the least selective.
//!
//! Only the selected function is computed. Changing the method while audio runs starts the new
//! function from a clean state; the picker reports nothing for about 120 ms while its threshold
//! window refills.
//!
//! # Sensitivity
//! The picker's threshold is `(1 + r) * median(past 100 ms) + delta`, with `r` = 0.5 for every
//! method but the complex domain (a log level, `r` = 0). `delta` is a per-method constant
//! (calibrated so that 0.5 is each method's best general setting) scaled by `4^(1 - 2 s)` for a
//! sensitivity `s`: 0 multiplies it by 4, 1 divides it by 4.
//!
//! # Timing and latency
//! Frames are analysed every hop, at stream positions that are multiples of the hop. When a peak
//! is confirmed, the picker walks back to the frame where its rise began; the onset is stamped in
//! the middle of that frame's newest hop, less [`ONSET_BIAS_S`]. Events therefore describe the
//! onset itself, not its detection.
//!
//! The detection latency (emission minus true onset) is `hop / 2 + ONSET_BIAS_S` plus one hop per
//! frame of look-ahead and per frame of rise (a sharp attack rises within one frame, a bowed
//! string over several). [`Engine::latency_samples`](crate::Engine::latency_samples) reports the
//! fixed part, `hop / 2 + ONSET_BIAS_S + lookahead * hop`; on the dev corpus the median measured
//! latency at the defaults is about 10 ms at 44.1 kHz. The walk back is limited to the picker's
//! 30 ms local-maximum window, so no onset is emitted later than
//! [`Engine::max_event_delay_samples`](crate::Engine::max_event_delay_samples) after its stamp.

mod complex_domain;
mod energy;
mod flux;
mod hfc;
mod peak_picker;

use crate::config::OnsetConfig;
use crate::event::Event;
use crate::filterbank::LogFilterbank;
use crate::framer::{History, Hopper};
use crate::params::OnsetParams;
use crate::stft::Analyzer;

use complex_domain::ComplexDomain;
use energy::Energy;
use flux::LogFlux;
use hfc::Hfc;
use peak_picker::{PeakPicker, PickSettings};

/// How far before the middle of the hop in which its rise began an onset is stamped, in seconds:
/// musical attacks take a few milliseconds to build up to where the detection function sees
/// them. Small enough that an instantaneous click is still stamped within one hop of itself.
pub const ONSET_BIAS_S: f64 = 0.002;

/// Length of the adaptive threshold's median window, in seconds.
const PRE_AVG_S: f64 = 0.1;
/// A peak must be the largest value over this many seconds before it.
const PRE_MAX_S: f64 = 0.03;

/// The onset detection function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum OnsetMethod {
    /// Spectral flux on a log-frequency, log-magnitude spectrogram.
    SpectralFlux = 0,
    /// SuperFlux: spectral flux with vibrato suppression.
    SuperFlux = 1,
    /// Rectified complex domain.
    ComplexDomain = 2,
    /// High-frequency content.
    Hfc = 3,
    /// Log-energy rise.
    Energy = 4,
}

pub(crate) const METHOD_COUNT: usize = 5;

impl OnsetMethod {
    /// Every method, in index order.
    pub const ALL: [OnsetMethod; METHOD_COUNT] = [
        OnsetMethod::SpectralFlux,
        OnsetMethod::SuperFlux,
        OnsetMethod::ComplexDomain,
        OnsetMethod::Hfc,
        OnsetMethod::Energy,
    ];

    /// Short lowercase name (`specflux`, `superflux`, `complex`, `hfc`, `energy`).
    pub fn name(self) -> &'static str {
        match self {
            OnsetMethod::SpectralFlux => "specflux",
            OnsetMethod::SuperFlux => "superflux",
            OnsetMethod::ComplexDomain => "complex",
            OnsetMethod::Hfc => "hfc",
            OnsetMethod::Energy => "energy",
        }
    }

    /// The method with this [`name`](OnsetMethod::name), if any.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }

    pub(crate) fn from_index(i: u8) -> Self {
        Self::ALL[(i as usize).min(METHOD_COUNT - 1)]
    }

    /// Threshold above the local median at sensitivity 0.5, in the function's own units.
    fn base_delta(self) -> f32 {
        match self {
            OnsetMethod::SpectralFlux => 2.4,
            OnsetMethod::SuperFlux => 1.2,
            OnsetMethod::ComplexDomain => 0.5,
            OnsetMethod::Hfc => 0.45,
            OnsetMethod::Energy => 0.43,
        }
    }

    /// The threshold's multiplicative part `r` in `(1 + r) * median + delta`. For the flux
    /// functions, whose floor rises with the density of what is playing (dense noise, tremolo,
    /// many voices), the threshold rises with the floor. The complex-domain function is a log
    /// level, where only an additive margin is meaningful.
    pub(crate) fn relative_threshold(self) -> f32 {
        match self {
            OnsetMethod::ComplexDomain => 0.0,
            _ => 0.5,
        }
    }

    /// The picker's `delta` at sensitivity `s` (0 to 1).
    pub(crate) fn delta(self, s: f32) -> f32 {
        self.base_delta() * 4f32.powf(1.0 - 2.0 * s.clamp(0.0, 1.0))
    }
}

/// The onset stage: analysis, detection functions, picker.
pub(crate) struct OnsetDetector {
    hopper: Hopper,
    analyzer: Analyzer,
    flux: LogFlux,
    complex: ComplexDomain,
    energy: Energy,
    hfc: Hfc,
    picker: PeakPicker,
    /// The method being computed, and frames to hold back after switching to another.
    active: OnsetMethod,
    warmup: u64,
    position: usize,
    sample_rate: f64,
    /// Factor on every method's `delta`: 1, read once here (the `tune` feature may replace it).
    delta_scale: f32,
}

impl OnsetDetector {
    pub(crate) fn new(c: &OnsetConfig, sample_rate: f64) -> Self {
        let hop = c.hop_samples(sample_rate);
        let window = c.window_samples(sample_rate);
        let analyzer = Analyzer::new(window);
        let filterbank = LogFilterbank::new(
            analyzer.fft_len(),
            sample_rate,
            c.fmin_hz,
            c.fmax_hz,
            c.bands_per_octave,
        );
        // Reference frame for the differences: where the Hann window has fallen to half, i.e. a
        // quarter window back (madmom's `diff_ratio = 0.5`).
        let diff_frames = ((window as f64 / 4.0) / hop as f64).round().max(1.0) as usize;
        let frames_of = |s: f64| ((s * sample_rate / hop as f64).round() as usize).max(1);
        let pre_avg = frames_of(PRE_AVG_S);
        Self {
            hopper: Hopper::new(hop),
            complex: ComplexDomain::new(analyzer.bins()),
            flux: LogFlux::new(filterbank, diff_frames, sample_rate / hop as f64),
            energy: Energy::new(diff_frames),
            hfc: Hfc::new(diff_frames),
            picker: PeakPicker::new(
                pre_avg,
                frames_of(PRE_MAX_S),
                c.max_lookahead_frames as usize,
            ),
            position: hop / 2
                + (crate::tune::get("BIAS", ONSET_BIAS_S) * sample_rate).round() as usize,
            analyzer,
            active: c.method,
            warmup: (pre_avg + diff_frames + 2) as u64,
            sample_rate,
            delta_scale: crate::tune::get("DELTA", 1.0) as f32,
        }
    }

    /// Samples of history the stage reads.
    pub(crate) fn history_len(&self) -> usize {
        self.analyzer.window_len()
    }

    pub(crate) fn hop(&self) -> usize {
        self.hopper.hop()
    }

    pub(crate) fn until_next(&self) -> usize {
        self.hopper.until_next()
    }

    /// Detection latency for a look-ahead of `lookahead` frames, in samples.
    pub(crate) fn latency_samples(&self, lookahead: u32) -> usize {
        self.position + lookahead as usize * self.hop()
    }

    /// The longest time between the position an onset is stamped with and the analysis frame
    /// that emits it, for a look-ahead of `lookahead` frames: the fixed latency plus the longest
    /// walk back from a peak to the start of its rise.
    pub(crate) fn max_delay_samples(&self, lookahead: u32) -> usize {
        self.latency_samples(lookahead) + self.picker.max_rise_frames() * self.hop()
    }

    /// Back to the start of a stream, computing `method` from the first frame.
    pub(crate) fn reset(&mut self, method: OnsetMethod) {
        self.hopper.reset();
        self.flux.reset();
        self.complex.reset();
        self.energy.reset();
        self.hfc.reset();
        self.picker.reset();
        self.active = method;
    }

    /// Switches detection function mid-stream: only the selected function is computed, so the new
    /// one starts from a clean state and the picker holds back while its window refills
    /// (`warmup` frames, about 120 ms).
    fn switch_to(&mut self, method: OnsetMethod) {
        match method {
            OnsetMethod::SpectralFlux | OnsetMethod::SuperFlux => self.flux.reset(),
            OnsetMethod::ComplexDomain => self.complex.reset(),
            OnsetMethod::Hfc => self.hfc.reset(),
            OnsetMethod::Energy => self.energy.reset(),
        }
        self.picker.restart(self.warmup);
        self.active = method;
    }

    /// `n` samples were appended to `history`; analyses a frame if one is due and returns the
    /// onset it confirmed, if any (the engine queues it and feeds the note tracker).
    pub(crate) fn advance(
        &mut self,
        n: usize,
        history: &History,
        params: &OnsetParams,
    ) -> Option<Event> {
        if !self.hopper.advance(n) {
            return None;
        }
        let p = params.snapshot();
        if p.method != self.active {
            self.switch_to(p.method);
        }
        let frame = self.analyzer.analyze(history);
        let value = match self.active {
            OnsetMethod::SpectralFlux => self.flux.process(frame.magnitude).flux,
            OnsetMethod::SuperFlux => self.flux.process(frame.magnitude).superflux,
            OnsetMethod::ComplexDomain => self.complex.process(frame.spectrum, frame.magnitude),
            OnsetMethod::Hfc => self.hfc.process(frame.magnitude),
            OnsetMethod::Energy => self.energy.process(frame.magnitude),
        };
        let gate_open = 10.0 * (frame.mean_square + 1e-30).log10() >= p.silence_gate_db;
        let hop = self.hop();
        let settings = PickSettings {
            method: p.method,
            delta: p.method.delta(p.sensitivity) * self.delta_scale,
            lookahead: p.lookahead_frames as usize,
            min_interval: (p.min_interval_s as f64 * self.sample_rate / hop as f64).round() as u64,
        };
        let peak = self.picker.push(value, gate_open, settings)?;
        let end = (peak.rise + 1) * hop as u64;
        Some(Event::Onset {
            sample: end.saturating_sub(self.position as u64),
            strength: peak.strength,
        })
    }
}
