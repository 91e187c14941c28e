//! Parameters that may change while audio runs. They live in atomics shared between the engine
//! and any number of [`EngineHandle`]s; the engine reads them once per analysis frame, so a change
//! takes effect at the next frame, without locks or allocation on either side.

use std::sync::atomic::{AtomicU32, AtomicU8, Ordering};
use std::sync::Arc;

use crate::error::ParamError;
use crate::event::Stats;
use crate::onset::OnsetMethod;
use crate::separation::Stem;

/// An `f32` stored in an [`AtomicU32`].
#[derive(Debug, Default)]
pub(crate) struct AtomicF32(AtomicU32);

impl AtomicF32 {
    pub(crate) fn new(v: f32) -> Self {
        Self(AtomicU32::new(v.to_bits()))
    }
    pub(crate) fn load(&self) -> f32 {
        f32::from_bits(self.0.load(Ordering::Relaxed))
    }
    pub(crate) fn store(&self, v: f32) {
        self.0.store(v.to_bits(), Ordering::Relaxed)
    }
}

/// Range of [`EngineHandle::set_onset_sensitivity`].
pub const SENSITIVITY_RANGE: (f32, f32) = (0.0, 1.0);
/// Range of [`EngineHandle::set_onset_min_interval`], in seconds.
pub const MIN_INTERVAL_RANGE_S: (f32, f32) = (0.0, 1.0);
/// Range of [`EngineHandle::set_onset_silence_gate`], in dBFS.
pub const SILENCE_GATE_RANGE_DB: (f32, f32) = (-120.0, 0.0);

/// Range of [`EngineHandle::set_pitch_voicing_threshold`].
pub const VOICING_THRESHOLD_RANGE: (f32, f32) = (0.0, 1.0);
/// Range of [`EngineHandle::set_notes_min_length`], in seconds.
pub const MIN_NOTE_RANGE_S: (f32, f32) = (0.01, 0.2);
/// Range of [`EngineHandle::set_notes_stability`], in cents.
pub const STABILITY_RANGE_CENTS: (f32, f32) = (10.0, 100.0);

/// Range of [`EngineHandle::set_stem_gain`] (linear gain; 0 mutes, 1 is unity).
pub const STEM_GAIN_RANGE: (f32, f32) = (0.0, 4.0);

pub(crate) fn check_gain(g: f32) -> Result<(), ParamError> {
    range("separation.gain", g, STEM_GAIN_RANGE)
}

/// The stem gains of the separation mix, as atomics (indexed by [`Stem`] as `usize`).
#[derive(Debug)]
pub(crate) struct StemParams {
    gains: [AtomicF32; 5],
}

impl StemParams {
    pub(crate) fn new(c: &crate::SeparationConfig) -> Self {
        Self {
            gains: c.gains.map(AtomicF32::new),
        }
    }

    /// The gains in force, indexed by [`Stem`] as `usize`.
    pub(crate) fn snapshot(&self) -> [f32; 5] {
        std::array::from_fn(|i| self.gains[i].load())
    }
}

/// The onset parameters, as atomics.
#[derive(Debug)]
pub(crate) struct OnsetParams {
    method: AtomicU8,
    sensitivity: AtomicF32,
    min_interval_s: AtomicF32,
    silence_gate_db: AtomicF32,
    lookahead_frames: AtomicU32,
    max_lookahead_frames: u32,
}

/// One consistent-enough reading of the onset parameters (each field is read atomically).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct OnsetSnapshot {
    pub(crate) method: OnsetMethod,
    pub(crate) sensitivity: f32,
    pub(crate) min_interval_s: f32,
    pub(crate) silence_gate_db: f32,
    pub(crate) lookahead_frames: u32,
}

fn range(name: &'static str, v: f32, (min, max): (f32, f32)) -> Result<(), ParamError> {
    if v >= min && v <= max {
        Ok(())
    } else {
        Err(ParamError::OutOfRange {
            name,
            value: v as f64,
            min: min as f64,
            max: max as f64,
        })
    }
}

impl OnsetParams {
    pub(crate) fn new(c: &crate::OnsetConfig) -> Self {
        Self {
            method: AtomicU8::new(c.method as u8),
            sensitivity: AtomicF32::new(c.sensitivity),
            min_interval_s: AtomicF32::new(c.min_interval_s),
            silence_gate_db: AtomicF32::new(c.silence_gate_db),
            lookahead_frames: AtomicU32::new(c.lookahead_frames),
            max_lookahead_frames: c.max_lookahead_frames,
        }
    }

    pub(crate) fn check(
        sensitivity: f32,
        min_interval_s: f32,
        silence_gate_db: f32,
        lookahead_frames: u32,
        max_lookahead_frames: u32,
    ) -> Result<(), ParamError> {
        range("onset.sensitivity", sensitivity, SENSITIVITY_RANGE)?;
        range("onset.min_interval_s", min_interval_s, MIN_INTERVAL_RANGE_S)?;
        range(
            "onset.silence_gate_db",
            silence_gate_db,
            SILENCE_GATE_RANGE_DB,
        )?;
        if lookahead_frames > max_lookahead_frames {
            return Err(ParamError::OutOfRange {
                name: "onset.lookahead_frames",
                value: lookahead_frames as f64,
                min: 0.0,
                max: max_lookahead_frames as f64,
            });
        }
        Ok(())
    }

    pub(crate) fn snapshot(&self) -> OnsetSnapshot {
        OnsetSnapshot {
            method: OnsetMethod::from_index(self.method.load(Ordering::Relaxed)),
            sensitivity: self.sensitivity.load(),
            min_interval_s: self.min_interval_s.load(),
            silence_gate_db: self.silence_gate_db.load(),
            lookahead_frames: self.lookahead_frames.load(Ordering::Relaxed),
        }
    }
}

/// The pitch parameters, as atomics.
#[derive(Debug)]
pub(crate) struct PitchParams {
    voicing_threshold: AtomicF32,
    silence_gate_db: AtomicF32,
}

/// One reading of the pitch parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PitchSnapshot {
    pub(crate) voicing_threshold: f32,
    pub(crate) silence_gate_db: f32,
}

impl PitchParams {
    pub(crate) fn new(c: &crate::PitchConfig) -> Self {
        Self {
            voicing_threshold: AtomicF32::new(c.voicing_threshold),
            silence_gate_db: AtomicF32::new(c.silence_gate_db),
        }
    }

    pub(crate) fn check(voicing_threshold: f32, silence_gate_db: f32) -> Result<(), ParamError> {
        range(
            "pitch.voicing_threshold",
            voicing_threshold,
            VOICING_THRESHOLD_RANGE,
        )?;
        range(
            "pitch.silence_gate_db",
            silence_gate_db,
            SILENCE_GATE_RANGE_DB,
        )
    }

    pub(crate) fn snapshot(&self) -> PitchSnapshot {
        PitchSnapshot {
            voicing_threshold: self.voicing_threshold.load(),
            silence_gate_db: self.silence_gate_db.load(),
        }
    }
}

/// The note parameters, as atomics.
#[derive(Debug)]
pub(crate) struct NotesParams {
    min_note_s: AtomicF32,
    stability_cents: AtomicF32,
}

/// One reading of the note parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct NotesSnapshot {
    pub(crate) min_note_s: f32,
    pub(crate) stability_cents: f32,
}

impl NotesParams {
    pub(crate) fn new(c: &crate::NotesConfig) -> Self {
        Self {
            min_note_s: AtomicF32::new(c.min_note_s),
            stability_cents: AtomicF32::new(c.stability_cents),
        }
    }

    pub(crate) fn check(min_note_s: f32, stability_cents: f32) -> Result<(), ParamError> {
        range("notes.min_note_s", min_note_s, MIN_NOTE_RANGE_S)?;
        range(
            "notes.stability_cents",
            stability_cents,
            STABILITY_RANGE_CENTS,
        )
    }

    pub(crate) fn snapshot(&self) -> NotesSnapshot {
        NotesSnapshot {
            min_note_s: self.min_note_s.load(),
            stability_cents: self.stability_cents.load(),
        }
    }
}

/// State shared by the engine and its handles.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) onset: OnsetParams,
    pub(crate) pitch: PitchParams,
    pub(crate) notes: NotesParams,
    pub(crate) stems: StemParams,
    pub(crate) stats: Arc<Stats>,
}

/// A cheap, cloneable, thread-safe handle to a running [`Engine`](crate::Engine): change its
/// parameters and read its counters from any thread. Every call is a few atomic operations.
///
/// ```
/// use cochlea_engine::{Engine, EngineConfig, OnsetMethod};
/// let (engine, _events) = Engine::new(EngineConfig::new(44_100.0, 1, 64)).unwrap();
/// let handle = engine.handle();
/// std::thread::spawn(move || {
///     handle.set_onset_method(OnsetMethod::Hfc);
///     handle.set_onset_sensitivity(0.8).unwrap();
///     assert!(handle.set_onset_sensitivity(3.0).is_err());
/// })
/// .join()
/// .unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct EngineHandle {
    pub(crate) shared: Arc<Shared>,
}

impl EngineHandle {
    /// Selects the onset detection function. Takes effect at the next analysis frame.
    pub fn set_onset_method(&self, method: OnsetMethod) {
        self.shared
            .onset
            .method
            .store(method as u8, Ordering::Relaxed);
    }

    /// The selected onset detection function.
    pub fn onset_method(&self) -> OnsetMethod {
        self.shared.onset.snapshot().method
    }

    /// Sets the sensitivity (0 to 1, see [`SENSITIVITY_RANGE`]).
    pub fn set_onset_sensitivity(&self, v: f32) -> Result<(), ParamError> {
        range("onset.sensitivity", v, SENSITIVITY_RANGE)?;
        self.shared.onset.sensitivity.store(v);
        Ok(())
    }

    /// The sensitivity in force.
    pub fn onset_sensitivity(&self) -> f32 {
        self.shared.onset.sensitivity.load()
    }

    /// Sets the minimum time between onsets, in seconds (see [`MIN_INTERVAL_RANGE_S`]).
    pub fn set_onset_min_interval(&self, seconds: f32) -> Result<(), ParamError> {
        range("onset.min_interval_s", seconds, MIN_INTERVAL_RANGE_S)?;
        self.shared.onset.min_interval_s.store(seconds);
        Ok(())
    }

    /// The minimum inter-onset interval in force, in seconds.
    pub fn onset_min_interval(&self) -> f32 {
        self.shared.onset.min_interval_s.load()
    }

    /// Sets the silence gate in dBFS (see [`SILENCE_GATE_RANGE_DB`]).
    pub fn set_onset_silence_gate(&self, db: f32) -> Result<(), ParamError> {
        range("onset.silence_gate_db", db, SILENCE_GATE_RANGE_DB)?;
        self.shared.onset.silence_gate_db.store(db);
        Ok(())
    }

    /// The silence gate in force, in dBFS.
    pub fn onset_silence_gate(&self) -> f32 {
        self.shared.onset.silence_gate_db.load()
    }

    /// Sets the peak picker's look-ahead in frames (0 to the configured maximum). This changes
    /// [`Engine::latency_samples`](crate::Engine::latency_samples) for onsets.
    pub fn set_onset_lookahead(&self, frames: u32) -> Result<(), ParamError> {
        let max = self.shared.onset.max_lookahead_frames;
        if frames > max {
            return Err(ParamError::OutOfRange {
                name: "onset.lookahead_frames",
                value: frames as f64,
                min: 0.0,
                max: max as f64,
            });
        }
        self.shared
            .onset
            .lookahead_frames
            .store(frames, Ordering::Relaxed);
        Ok(())
    }

    /// The look-ahead in force, in frames.
    pub fn onset_lookahead(&self) -> u32 {
        self.shared.onset.lookahead_frames.load(Ordering::Relaxed)
    }

    /// Sets the pitch tracker's voicing threshold (see [`VOICING_THRESHOLD_RANGE`]): a frame is
    /// voiced when its voiced probability reaches it.
    pub fn set_pitch_voicing_threshold(&self, v: f32) -> Result<(), ParamError> {
        range("pitch.voicing_threshold", v, VOICING_THRESHOLD_RANGE)?;
        self.shared.pitch.voicing_threshold.store(v);
        Ok(())
    }

    /// The voicing threshold in force.
    pub fn pitch_voicing_threshold(&self) -> f32 {
        self.shared.pitch.voicing_threshold.load()
    }

    /// Sets the pitch tracker's silence gate in dBFS (see [`SILENCE_GATE_RANGE_DB`]).
    pub fn set_pitch_silence_gate(&self, db: f32) -> Result<(), ParamError> {
        range("pitch.silence_gate_db", db, SILENCE_GATE_RANGE_DB)?;
        self.shared.pitch.silence_gate_db.store(db);
        Ok(())
    }

    /// The pitch silence gate in force, in dBFS.
    pub fn pitch_silence_gate(&self) -> f32 {
        self.shared.pitch.silence_gate_db.load()
    }

    /// Sets the minimum note length in seconds (see [`MIN_NOTE_RANGE_S`]). This changes
    /// [`Engine::latency_samples`](crate::Engine::latency_samples) for notes.
    pub fn set_notes_min_length(&self, seconds: f32) -> Result<(), ParamError> {
        range("notes.min_note_s", seconds, MIN_NOTE_RANGE_S)?;
        self.shared.notes.min_note_s.store(seconds);
        Ok(())
    }

    /// The minimum note length in force, in seconds.
    pub fn notes_min_length(&self) -> f32 {
        self.shared.notes.min_note_s.load()
    }

    /// Sets the pitch stability tolerance in cents (see [`STABILITY_RANGE_CENTS`]).
    pub fn set_notes_stability(&self, cents: f32) -> Result<(), ParamError> {
        range("notes.stability_cents", cents, STABILITY_RANGE_CENTS)?;
        self.shared.notes.stability_cents.store(cents);
        Ok(())
    }

    /// The pitch stability tolerance in force, in cents.
    pub fn notes_stability(&self) -> f32 {
        self.shared.notes.stability_cents.load()
    }

    /// Sets the gain of one stem in the separation mix (linear, see [`STEM_GAIN_RANGE`]): 0
    /// mutes it, 1 leaves it as it is. Solo a stem by setting the others of its split to 0. The
    /// engine glides to the new gain (20 ms time constant), so automation does not click.
    ///
    /// The mix is `(gH MH + gP MP + gR MR) * (gM MM + gA MA)` applied to the spectrum, where the
    /// `M` are the stems' masks: the harmonic / percussive / residual split and the melody /
    /// accompaniment split act together (with every gain at 1 the mix is the input, delayed).
    pub fn set_stem_gain(&self, stem: Stem, gain: f32) -> Result<(), ParamError> {
        check_gain(gain)?;
        self.shared.stems.gains[stem as usize].store(gain);
        Ok(())
    }

    /// The gain of `stem` in force.
    pub fn stem_gain(&self, stem: Stem) -> f32 {
        self.shared.stems.gains[stem as usize].load()
    }

    /// Events dropped so far because the event queue was full.
    pub fn dropped_events(&self) -> u64 {
        self.shared.stats.dropped_events.load(Ordering::Relaxed)
    }
}
