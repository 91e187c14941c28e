//! Engine configuration: everything that sizes allocations is fixed here and checked in
//! [`Engine::new`](crate::Engine::new). Analysis settings are time constants (seconds, Hz, dB)
//! so that results agree across sample rates.

use crate::error::{check_range, ConfigError};
use crate::melody::MelodyConfig;
use crate::onset::OnsetMethod;

/// Lowest supported sample rate, in Hz.
pub const MIN_SAMPLE_RATE: f64 = 8_000.0;
/// Highest supported sample rate, in Hz.
pub const MAX_SAMPLE_RATE: f64 = 192_000.0;
/// Largest `max_block_size` accepted.
pub const MAX_BLOCK_SIZE: usize = 1 << 16;
/// Largest event queue accepted.
pub const MAX_EVENT_CAPACITY: usize = 1 << 20;

/// Everything [`Engine::new`](crate::Engine::new) needs.
///
/// ```
/// use cochlea_engine::{EngineConfig, OnsetMethod};
/// let mut config = EngineConfig::new(48_000.0, 2, 512);
/// config.onset.method = OnsetMethod::ComplexDomain;
/// assert!(config.validate().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct EngineConfig {
    /// Sample rate in Hz, 8 kHz to 192 kHz.
    pub sample_rate: f64,
    /// Audio channels in and out, 1 or 2. Analysis runs on their mean.
    pub channels: usize,
    /// Longest block `process` will be given; any length from 0 to this is accepted.
    pub max_block_size: usize,
    /// Capacity of the event queue. Events that do not fit are dropped and counted.
    pub event_capacity: usize,
    /// Onset detection.
    pub onset: OnsetConfig,
    /// Pitch tracking.
    pub pitch: PitchConfig,
    /// Note tracking (audio to MIDI notes).
    pub notes: NotesConfig,
    /// Source separation (stems and their mix as the audio output).
    pub separation: SeparationConfig,
    /// Melody (predominant pitch in a mix): events, and the f0 of the separation's melody comb.
    pub melody: MelodyTrackConfig,
}

impl EngineConfig {
    /// A configuration with Cochlea's defaults for the given stream format.
    pub fn new(sample_rate: f64, channels: usize, max_block_size: usize) -> Self {
        Self {
            sample_rate,
            channels,
            max_block_size,
            event_capacity: 4096,
            onset: OnsetConfig::default(),
            pitch: PitchConfig::default(),
            notes: NotesConfig::default(),
            separation: SeparationConfig::default(),
            melody: MelodyTrackConfig::default(),
        }
    }

    /// Checks every setting without allocating anything.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(self.sample_rate >= MIN_SAMPLE_RATE && self.sample_rate <= MAX_SAMPLE_RATE) {
            return Err(ConfigError::SampleRate(self.sample_rate));
        }
        if !(1..=2).contains(&self.channels) {
            return Err(ConfigError::Channels(self.channels));
        }
        if !(1..=MAX_BLOCK_SIZE).contains(&self.max_block_size) {
            return Err(ConfigError::MaxBlockSize(self.max_block_size));
        }
        if !(1..=MAX_EVENT_CAPACITY).contains(&self.event_capacity) {
            return Err(ConfigError::EventCapacity(self.event_capacity));
        }
        self.onset.validate(self.sample_rate)?;
        self.pitch.validate(self.sample_rate)?;
        self.notes.validate()?;
        self.separation.validate()?;
        self.melody.tracker.validate_for(self.sample_rate as u32)
    }
}

/// Onset detection settings.
///
/// The first group fixes the analysis (and so the allocations); the second group
/// (`method` to `lookahead_frames`) holds the initial values of the parameters that can also be
/// changed while audio runs, through [`EngineHandle`](crate::EngineHandle).
#[derive(Debug, Clone, PartialEq)]
pub struct OnsetConfig {
    /// Run onset detection at all.
    pub enabled: bool,
    /// Analysis window length in seconds (Hann). The FFT is the next 2-3-5-smooth length.
    pub window_s: f64,
    /// Hop between analysis frames in seconds.
    pub hop_s: f64,
    /// Bands per octave of the log-frequency filterbank used by the flux methods.
    pub bands_per_octave: u32,
    /// Lowest filterbank frequency in Hz.
    pub fmin_hz: f64,
    /// Highest filterbank frequency in Hz (clamped to the Nyquist frequency).
    pub fmax_hz: f64,
    /// Largest look-ahead that can be selected at run time, in frames (sizes the picker).
    pub max_lookahead_frames: u32,
    /// Detection function.
    pub method: OnsetMethod,
    /// Sensitivity, 0 (only the strongest onsets) to 1 (everything); see [`crate::onset`].
    pub sensitivity: f32,
    /// Minimum time between two onsets, in seconds (0 to 1).
    pub min_interval_s: f32,
    /// Frames quieter than this (dBFS, window RMS) never start an onset (-120 to 0).
    pub silence_gate_db: f32,
    /// Frames the peak picker waits to confirm a peak; counted in the onset latency.
    pub lookahead_frames: u32,
}

impl Default for OnsetConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            window_s: 0.0464,
            hop_s: 0.005,
            bands_per_octave: 24,
            fmin_hz: 30.0,
            fmax_hz: 17_000.0,
            max_lookahead_frames: 8,
            method: OnsetMethod::SuperFlux,
            sensitivity: 0.5,
            min_interval_s: 0.03,
            silence_gate_db: -70.0,
            lookahead_frames: 0,
        }
    }
}

impl OnsetConfig {
    /// Checks the onset settings for a stream at `sample_rate`.
    pub fn validate(&self, sample_rate: f64) -> Result<(), ConfigError> {
        check_range("onset.window_s", self.window_s, 0.005, 0.2, "s")?;
        check_range("onset.hop_s", self.hop_s, 0.001, 0.05, "s")?;
        if self.hop_s > self.window_s {
            return Err(ConfigError::Inconsistent(
                "onset.hop_s must not exceed onset.window_s",
            ));
        }
        check_range(
            "onset.bands_per_octave",
            self.bands_per_octave as f64,
            1.0,
            96.0,
            "",
        )?;
        check_range("onset.fmin_hz", self.fmin_hz, 10.0, 4_000.0, "Hz")?;
        check_range(
            "onset.fmax_hz",
            self.fmax_hz,
            self.fmin_hz * 2.0,
            96_000.0,
            "Hz",
        )?;
        check_range(
            "onset.max_lookahead_frames",
            self.max_lookahead_frames as f64,
            0.0,
            64.0,
            "frames",
        )?;
        let _ = sample_rate;
        crate::params::OnsetParams::check(
            self.sensitivity,
            self.min_interval_s,
            self.silence_gate_db,
            self.lookahead_frames,
            self.max_lookahead_frames,
        )
        .map_err(|e| match e {
            crate::ParamError::OutOfRange {
                name,
                value,
                min,
                max,
            } => ConfigError::OutOfRange {
                name,
                value,
                min,
                max,
                unit: "",
            },
        })
    }

    /// Hop in samples at `sample_rate` (at least 1).
    pub fn hop_samples(&self, sample_rate: f64) -> usize {
        ((self.hop_s * sample_rate).round() as usize).max(1)
    }

    /// Window length in samples at `sample_rate`.
    pub fn window_samples(&self, sample_rate: f64) -> usize {
        ((self.window_s * sample_rate).round() as usize)
            .max(self.hop_samples(sample_rate))
            .max(16)
    }
}

/// Maps a run-time parameter's range error to the construction-time error.
fn param_to_config(e: crate::ParamError) -> ConfigError {
    match e {
        crate::ParamError::OutOfRange {
            name,
            value,
            min,
            max,
        } => ConfigError::OutOfRange {
            name,
            value,
            min,
            max,
            unit: "",
        },
    }
}

/// Pitch tracking settings (see [`crate::pitch`]).
///
/// `fmin_hz` to `lag_frames` fix the analysis; `voicing_threshold` and `silence_gate_db` are the
/// initial values of parameters that can change while audio runs
/// ([`EngineHandle`](crate::EngineHandle)).
///
/// ```
/// use cochlea_engine::{Engine, EngineConfig, Output};
/// let mut config = EngineConfig::new(44_100.0, 1, 512);
/// config.pitch.enabled = true;
/// config.pitch.fmin_hz = 60.0;
/// let (engine, _events) = Engine::new(config).unwrap();
/// // The window adapts to fmin; the latency says what it costs.
/// assert!(engine.latency_samples(Output::Pitch) <= (0.030 * 44_100.0) as usize);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct PitchConfig {
    /// Run the pitch tracker and send [`Event::Pitch`](crate::Event::Pitch) events. (The tracker
    /// also runs, silently, when only notes are enabled.)
    pub enabled: bool,
    /// Lowest fundamental searched, Hz (20 to 1000). The analysis frame is two periods of it.
    pub fmin_hz: f64,
    /// Highest fundamental searched, Hz (at least twice `fmin_hz`, at most 5 kHz and a quarter
    /// of the sample rate).
    pub fmax_hz: f64,
    /// Hop between frames, seconds (0.001 to 0.01): one event per hop.
    pub hop_s: f64,
    /// Frames the HMM waits before deciding a frame (fixed-lag smoothing, 0 to 16); each adds a
    /// hop of latency.
    pub lag_frames: u32,
    /// Voicing decision: a frame is voiced when its voiced probability reaches this (0 to 1).
    pub voicing_threshold: f32,
    /// Frames quieter than this (dBFS, mean square) are unvoiced (-120 to 0).
    pub silence_gate_db: f32,
}

impl Default for PitchConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            fmin_hz: 60.0,
            fmax_hz: 2_000.0,
            hop_s: 0.005,
            lag_frames: 2,
            voicing_threshold: 0.5,
            silence_gate_db: -60.0,
        }
    }
}

impl PitchConfig {
    /// Checks the pitch settings for a stream at `sample_rate`.
    pub fn validate(&self, sample_rate: f64) -> Result<(), ConfigError> {
        check_range("pitch.fmin_hz", self.fmin_hz, 20.0, 1_000.0, "Hz")?;
        check_range(
            "pitch.fmax_hz",
            self.fmax_hz,
            self.fmin_hz * 2.0,
            5_000f64.min(sample_rate / 4.0),
            "Hz",
        )?;
        check_range("pitch.hop_s", self.hop_s, 0.001, 0.01, "s")?;
        check_range(
            "pitch.lag_frames",
            self.lag_frames as f64,
            0.0,
            16.0,
            "frames",
        )?;
        crate::params::PitchParams::check(self.voicing_threshold, self.silence_gate_db)
            .map_err(param_to_config)
    }

    /// Hop in samples at `sample_rate` (at least 1).
    pub fn hop_samples(&self, sample_rate: f64) -> usize {
        ((self.hop_s * sample_rate).round() as usize).max(1)
    }

    /// Longest period searched, in samples at `sample_rate`: `ceil(sample_rate / fmin_hz) + 1`.
    /// The analysis frame is twice this, at the tracker's (decimated) analysis rate.
    pub fn max_period_samples(&self, sample_rate: f64) -> usize {
        (sample_rate / self.fmin_hz).ceil() as usize + 1
    }
}

/// Note tracking settings (see [`crate::notes`]). Notes are built from the pitch tracker's
/// frames and, when onset detection runs, its onsets. The values are the initial values of
/// parameters that can change while audio runs ([`EngineHandle`](crate::EngineHandle)).
///
/// ```
/// use cochlea_engine::{Engine, EngineConfig, Output};
/// let mut config = EngineConfig::new(48_000.0, 1, 256);
/// config.notes.enabled = true;
/// config.notes.min_note_s = 0.04;
/// let (engine, _events) = Engine::new(config).unwrap();
/// assert!(engine.latency_samples(Output::Notes) > engine.latency_samples(Output::Pitch));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct NotesConfig {
    /// Send [`Event::NoteOn`](crate::Event::NoteOn) / [`Event::NoteOff`](crate::Event::NoteOff).
    pub enabled: bool,
    /// A note starts only after its pitch has held this long, seconds (0.01 to 0.2); shorter
    /// blips are ignored. Counted in the note latency.
    pub min_note_s: f32,
    /// How far the pitch may stray from the note's semitone and still count as that note, in
    /// cents (10 to 100); beyond it, held for `min_note_s`, a legato change starts a new note.
    pub stability_cents: f32,
    /// Use the onset detector (its settings in [`OnsetConfig`]) to place note starts and to
    /// retrigger repeated notes. Without it, notes follow pitch and voicing alone.
    pub use_onsets: bool,
}

impl Default for NotesConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            min_note_s: 0.04,
            stability_cents: 50.0,
            use_onsets: true,
        }
    }
}

impl NotesConfig {
    /// Checks the note settings.
    pub fn validate(&self) -> Result<(), ConfigError> {
        crate::params::NotesParams::check(self.min_note_s, self.stability_cents)
            .map_err(param_to_config)
    }
}

/// Source-separation settings (see [`crate::separation`]). Off by default: when off, the audio
/// path is the input passed through with no latency.
///
/// The analysis settings are fixed at construction; the stem gains are the initial values of
/// parameters that can change while audio runs ([`EngineHandle`](crate::EngineHandle)).
///
/// ```
/// use cochlea_engine::{Engine, EngineConfig, Output};
/// let mut config = EngineConfig::new(44_100.0, 2, 512);
/// config.separation.enabled = true;
/// let (engine, _events) = Engine::new(config).unwrap();
/// // Look-ahead of 6 hops plus the 2-hop synthesis window, at a 256-sample hop.
/// assert_eq!(engine.latency_samples(Output::Audio), 2048);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SeparationConfig {
    /// Run the separation: the audio output becomes the stems' mix, delayed by the separation
    /// latency, and [`Engine::process_stems`](crate::Engine::process_stems) can return each stem.
    pub enabled: bool,
    /// Hop between STFT frames, seconds (0.002 to 0.02). The hop in samples is the power of two
    /// nearest to `hop_s * sample_rate` (256 at 44.1 and 48 kHz).
    pub hop_s: f64,
    /// Analysis frame length in hops (4 to 16); the FFT length is `frame_hops * hop`.
    pub frame_hops: u32,
    /// Frames after the current one the harmonic estimate waits for (0 to 16); each adds a hop
    /// of latency.
    pub lookahead_frames: u32,
    /// Past context of the harmonic (time) percentile filter, seconds (0 to 4).
    pub history_s: f64,
    /// Percentile of the harmonic time filter (1 to 99; 50 is a plain median). Above 50 holds a
    /// sustained partial through short gaps in a causal window.
    pub harmonic_percentile: f32,
    /// Width of the percussive (frequency) median filter, Hz (50 to 4000).
    pub percussive_width_hz: f64,
    /// Power of the soft (Wiener-style) masks (0.5 to 8).
    pub mask_power: f32,
    /// Separation margin of the harmonic mask (1 to 8): a bin is harmonic when its harmonic
    /// estimate exceeds the percussive one times this. Above 1, the residual takes what
    /// neither claims.
    pub harmonic_margin: f32,
    /// Separation margin of the percussive mask (1 to 8).
    pub percussive_margin: f32,
    /// Melody comb: highest partial frequency, Hz (500 to 20000, clamped to Nyquist).
    pub melody_max_hz: f64,
    /// Melody comb: half-width of each partial's band, cents (5 to 200)...
    pub melody_width_cents: f32,
    /// ...but at least this many Hz (0 to 200), for the low partials.
    pub melody_min_width_hz: f32,
    /// Melody comb: time constant of the voicing gate, seconds (0 to 0.2).
    pub melody_gate_s: f32,
    /// Initial stem gains (linear, 0 to 4): harmonic, percussive, residual, melody,
    /// accompaniment. See [`Stem`](crate::separation::Stem).
    pub gains: [f32; 5],
}

impl Default for SeparationConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            hop_s: 0.0058,
            frame_hops: 6,
            lookahead_frames: 6,
            history_s: 1.0,
            harmonic_percentile: 70.0,
            percussive_width_hz: 350.0,
            mask_power: 2.0,
            harmonic_margin: 1.0,
            percussive_margin: 1.0,
            melody_max_hz: 8_000.0,
            melody_width_cents: 150.0,
            melody_min_width_hz: 60.0,
            melody_gate_s: 0.015,
            gains: [1.0; 5],
        }
    }
}

impl SeparationConfig {
    /// Checks the separation settings.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_range("separation.hop_s", self.hop_s, 0.002, 0.02, "s")?;
        check_range(
            "separation.frame_hops",
            self.frame_hops as f64,
            4.0,
            16.0,
            "hops",
        )?;
        check_range(
            "separation.lookahead_frames",
            self.lookahead_frames as f64,
            0.0,
            16.0,
            "frames",
        )?;
        check_range("separation.history_s", self.history_s, 0.0, 4.0, "s")?;
        check_range(
            "separation.harmonic_percentile",
            self.harmonic_percentile as f64,
            1.0,
            99.0,
            "",
        )?;
        check_range(
            "separation.percussive_width_hz",
            self.percussive_width_hz,
            50.0,
            4_000.0,
            "Hz",
        )?;
        check_range(
            "separation.mask_power",
            self.mask_power as f64,
            0.5,
            8.0,
            "",
        )?;
        check_range(
            "separation.harmonic_margin",
            self.harmonic_margin as f64,
            1.0,
            8.0,
            "",
        )?;
        check_range(
            "separation.percussive_margin",
            self.percussive_margin as f64,
            1.0,
            8.0,
            "",
        )?;
        check_range(
            "separation.melody_max_hz",
            self.melody_max_hz,
            500.0,
            20_000.0,
            "Hz",
        )?;
        check_range(
            "separation.melody_width_cents",
            self.melody_width_cents as f64,
            5.0,
            200.0,
            "cents",
        )?;
        check_range(
            "separation.melody_min_width_hz",
            self.melody_min_width_hz as f64,
            0.0,
            200.0,
            "Hz",
        )?;
        check_range(
            "separation.melody_gate_s",
            self.melody_gate_s as f64,
            0.0,
            0.2,
            "s",
        )?;
        for g in self.gains {
            crate::params::check_gain(g).map_err(param_to_config)?;
        }
        Ok(())
    }

    /// Hop in samples at `sample_rate`: the power of two nearest to `hop_s * sample_rate`.
    pub fn hop_samples(&self, sample_rate: f64) -> usize {
        let h = (self.hop_s * sample_rate).max(1.0);
        1usize << (h.log2().round() as u32)
    }

    /// Audio latency in samples at `sample_rate`: `(lookahead_frames + 2) * hop`. The engine
    /// raises the look-ahead if its melody tracker's frames would otherwise arrive too late for
    /// the comb (not with the defaults); [`Engine::latency_samples`](crate::Engine::latency_samples)
    /// is always exact.
    pub fn latency_samples(&self, sample_rate: f64) -> usize {
        (self.lookahead_frames as usize + 2) * self.hop_samples(sample_rate)
    }
}

/// Melody tracking in a mix (see [`crate::melody`]): the predominant pitch, one frame per two
/// separation hops ([`SeparationConfig::hop_samples`]; 512 samples at 44.1 and 48 kHz). It runs
/// when `enabled` (sending [`Event::Melody`](crate::Event::Melody)) or when separation is on
/// (driving the melody comb).
///
/// ```
/// use cochlea_engine::{Engine, EngineConfig, Output};
/// let mut config = EngineConfig::new(44_100.0, 1, 256);
/// config.melody.enabled = true;
/// let (engine, _events) = Engine::new(config).unwrap();
/// // Half the 40 ms window plus one hop of decoder lag.
/// assert_eq!(engine.melody_hop_samples(), 512);
/// assert_eq!(engine.latency_samples(Output::Melody), 882 + 512);
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MelodyTrackConfig {
    /// Send [`Event::Melody`](crate::Event::Melody) events, one per hop.
    pub enabled: bool,
    /// The tracker's settings.
    pub tracker: MelodyConfig,
}
