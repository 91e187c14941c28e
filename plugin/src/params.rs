//! The plugin's parameters: names, units, ranges and defaults a DAW user sees, and their mapping
//! to the engine's settings. nice-plug saves and restores them with the host's project (by their
//! `id`, which must never change).

use std::sync::Arc;

use cochlea_engine::separation::Stem;
use cochlea_engine::{
    NotesConfig, OnsetConfig, OnsetMethod, PitchConfig, SeparationConfig, MIN_INTERVAL_RANGE_S,
    MIN_NOTE_RANGE_S, SENSITIVITY_RANGE, SILENCE_GATE_RANGE_DB, STABILITY_RANGE_CENTS,
    VOICING_THRESHOLD_RANGE,
};
use nice_plug::prelude::*;

/// Default MIDI key of the onset trigger: 36, the General MIDI bass drum (C2 here, where 60 is C4).
pub const DEFAULT_TRIGGER_KEY: u8 = 36;
/// MIDI channel of the onset trigger notes, 0-based: 9 is channel 10, General MIDI percussion.
pub const TRIGGER_CHANNEL: u8 = 9;
/// MIDI channel of the pitch notes (audio to MIDI), 0-based: channel 1.
pub const NOTES_CHANNEL: u8 = 0;
/// Range of the pitch range parameters, Hz.
pub const PITCH_RANGE_HZ: (f32, f32) = (30.0, 2000.0);
/// Range of the stem gains, dB; the bottom of the range mutes the stem.
pub const STEM_GAIN_RANGE_DB: (f32, f32) = (-60.0, 12.0);

/// A stem gain in dB as the engine's linear gain: the bottom of the range is silence.
pub fn stem_gain_linear(db: f32) -> f32 {
    if db <= STEM_GAIN_RANGE_DB.0 {
        0.0
    } else {
        10f32.powf(db.min(STEM_GAIN_RANGE_DB.1) / 20.0)
    }
}

/// Which stem, if any, is soloed in the main output.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SoloParam {
    /// No solo: every stem at its gain.
    #[id = "off"]
    #[name = "Off"]
    Off,
    /// Only the harmonic stem of the harmonic / percussive / residual split.
    #[id = "harmonic"]
    #[name = "Harmonic"]
    Harmonic,
    /// Only the percussive stem.
    #[id = "percussive"]
    #[name = "Percussive"]
    Percussive,
    /// Only the residual stem.
    #[id = "residual"]
    #[name = "Residual"]
    Residual,
    /// Only the melody of the melody / accompaniment split.
    #[id = "melody"]
    #[name = "Melody"]
    Melody,
    /// Only the accompaniment.
    #[id = "accompaniment"]
    #[name = "Accompaniment"]
    Accompaniment,
}

impl SoloParam {
    fn stem(self) -> Option<Stem> {
        match self {
            SoloParam::Off => None,
            SoloParam::Harmonic => Some(Stem::Harmonic),
            SoloParam::Percussive => Some(Stem::Percussive),
            SoloParam::Residual => Some(Stem::Residual),
            SoloParam::Melody => Some(Stem::Melody),
            SoloParam::Accompaniment => Some(Stem::Accompaniment),
        }
    }
}

/// The engine's stem gains for the gain parameters (dB) and a solo: a soloed stem keeps its
/// gain and the other stems of its split fall silent (the other split is left as it is, so
/// soloing the melody gives the melody of the whole mix).
pub fn stem_gains(db: [f32; 5], solo: Option<Stem>) -> [f32; 5] {
    let mut g = db.map(stem_gain_linear);
    if let Some(s) = solo {
        let split: &[Stem] = match s {
            Stem::Harmonic | Stem::Percussive | Stem::Residual => {
                &[Stem::Harmonic, Stem::Percussive, Stem::Residual]
            }
            Stem::Melody | Stem::Accompaniment => &[Stem::Melody, Stem::Accompaniment],
        };
        for &other in split {
            if other != s {
                g[other as usize] = 0.0;
            }
        }
    }
    g
}

/// The onset detection function, as a parameter (ids are stable, the order is the menu's).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodParam {
    /// SuperFlux (the default).
    #[id = "superflux"]
    #[name = "SuperFlux"]
    SuperFlux,
    /// Spectral flux.
    #[id = "specflux"]
    #[name = "Spectral flux"]
    SpectralFlux,
    /// Complex domain.
    #[id = "complex"]
    #[name = "Complex domain"]
    ComplexDomain,
    /// High-frequency content.
    #[id = "hfc"]
    #[name = "HFC"]
    Hfc,
    /// Energy rise.
    #[id = "energy"]
    #[name = "Energy"]
    Energy,
}

impl From<MethodParam> for OnsetMethod {
    fn from(m: MethodParam) -> Self {
        match m {
            MethodParam::SuperFlux => OnsetMethod::SuperFlux,
            MethodParam::SpectralFlux => OnsetMethod::SpectralFlux,
            MethodParam::ComplexDomain => OnsetMethod::ComplexDomain,
            MethodParam::Hfc => OnsetMethod::Hfc,
            MethodParam::Energy => OnsetMethod::Energy,
        }
    }
}

/// Everything the audio thread reads from the parameters, once per block.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// Onset detection function.
    pub method: OnsetMethod,
    /// Onset sensitivity, 0 to 1.
    pub sensitivity: f32,
    /// Minimum time between onsets, seconds.
    pub min_interval_s: f32,
    /// Silence gate, dBFS.
    pub silence_gate_db: f32,
    /// Peak picker look-ahead, frames (changes the latency).
    pub lookahead_frames: u32,
    /// MIDI key sent at each onset, or `None` for no onset notes.
    pub trigger_key: Option<u8>,
    /// Length of an onset note, seconds.
    pub trigger_length_s: f32,
    /// Send the pitch notes (audio to MIDI, channel 1). Changes the latency.
    pub notes: bool,
    /// Minimum note length, seconds.
    pub min_note_s: f32,
    /// Pitch stability tolerance, cents.
    pub stability_cents: f32,
    /// Voicing threshold, 0 to 1.
    pub voicing_threshold: f32,
    /// Lowest pitch tracked, Hz (applies at the next activation: the analysis window and the
    /// latency depend on it).
    pub fmin_hz: f32,
    /// Highest pitch tracked, Hz (applies at the next activation).
    pub fmax_hz: f32,
    /// Engine stem gains (linear, indexed by [`Stem`]), solo applied.
    pub stem_gains: [f32; 5],
    /// Separation margins (harmonic, percussive), 1 to 8 (apply at the next activation).
    pub margins: (f32, f32),
    /// Separation look-ahead, frames (applies at the next activation; part of the latency).
    pub separation_lookahead: u32,
}

impl Default for Settings {
    fn default() -> Self {
        CochleaParams::default().settings()
    }
}

/// The parameters, in the order hosts list them.
#[derive(Params)]
pub struct CochleaParams {
    /// Bypass: audio passes through (still delayed by the reported latency, so nothing shifts),
    /// no notes are sent and sounding ones end at once.
    #[id = "bypass"]
    pub bypass: BoolParam,
    /// Onset detection function.
    #[id = "method"]
    pub method: EnumParam<MethodParam>,
    /// Onset sensitivity: 0 % reports only the strongest onsets, 100 % nearly everything.
    #[id = "sensitivity"]
    pub sensitivity: FloatParam,
    /// Minimum time between two onsets.
    #[id = "min_interval"]
    pub min_interval_ms: FloatParam,
    /// Analysis frames quieter than this never start an onset.
    #[id = "silence_gate"]
    pub silence_gate_db: FloatParam,
    /// Frames the peak picker waits before confirming an onset: fewer false onsets on slow
    /// attacks, at one hop (5 ms) of latency each. Changing it changes the reported latency.
    #[id = "lookahead"]
    pub lookahead: IntParam,
    /// Send a MIDI note at each onset.
    #[id = "trigger"]
    pub trigger: BoolParam,
    /// MIDI key of the onset notes (channel 10).
    #[id = "trigger_note"]
    pub trigger_note: IntParam,
    /// Length of each onset note.
    #[id = "trigger_length"]
    pub trigger_length_ms: FloatParam,
    /// Send notes from the tracked pitch (audio to MIDI) on channel 1. Their decision takes
    /// longer than an onset's, so turning them on raises the reported latency.
    #[id = "notes"]
    pub notes: BoolParam,
    /// A note starts only once its pitch has held this long; shorter blips are ignored.
    #[id = "min_note"]
    pub min_note_ms: FloatParam,
    /// How far the pitch may stray from a note's semitone and still be that note.
    #[id = "stability"]
    pub stability_cents: FloatParam,
    /// How sure the tracker must be that a tone is playing.
    #[id = "voicing"]
    pub voicing: FloatParam,
    /// Lowest pitch tracked (the analysis window is two periods of it, so a lower value costs
    /// latency). Applies when the host next activates the plugin.
    #[id = "fmin"]
    pub fmin_hz: FloatParam,
    /// Highest pitch tracked. Applies when the host next activates the plugin.
    #[id = "fmax"]
    pub fmax_hz: FloatParam,
    /// Gain of the harmonic stem in the main output (the bottom of the range mutes it).
    #[id = "gain_harmonic"]
    pub gain_harmonic: FloatParam,
    /// Gain of the percussive stem.
    #[id = "gain_percussive"]
    pub gain_percussive: FloatParam,
    /// Gain of the residual stem (what neither the harmonic nor the percussive mask claims).
    #[id = "gain_residual"]
    pub gain_residual: FloatParam,
    /// Gain of the melody stem.
    #[id = "gain_melody"]
    pub gain_melody: FloatParam,
    /// Gain of the accompaniment stem.
    #[id = "gain_accompaniment"]
    pub gain_accompaniment: FloatParam,
    /// Solo one stem in the main output.
    #[id = "solo"]
    pub solo: EnumParam<SoloParam>,
    /// Harmonic separation margin: above 1, bins that are not clearly harmonic go to the
    /// residual. Applies when the host next activates the plugin.
    #[id = "harmonic_margin"]
    pub harmonic_margin: FloatParam,
    /// Percussive separation margin. Applies when the host next activates the plugin.
    #[id = "percussive_margin"]
    pub percussive_margin: FloatParam,
    /// Frames the harmonic estimate waits for (one separation hop of latency each). Applies
    /// when the host next activates the plugin.
    #[id = "separation_lookahead"]
    pub separation_lookahead: IntParam,
}

impl Default for CochleaParams {
    fn default() -> Self {
        let onset = OnsetConfig::default();
        let pitch = PitchConfig::default();
        let notes = NotesConfig::default();
        let separation = SeparationConfig::default();
        let hop_ms = (onset.hop_s * 1000.0) as f32;
        Self {
            bypass: BoolParam::new("Bypass", false)
                .with_value_to_string(formatters::v2s_bool_bypass())
                .with_string_to_value(formatters::s2v_bool_bypass())
                .make_bypass(),
            method: EnumParam::new("Onset method", MethodParam::SuperFlux),
            sensitivity: FloatParam::new(
                "Sensitivity",
                onset.sensitivity,
                FloatRange::Linear {
                    min: SENSITIVITY_RANGE.0,
                    max: SENSITIVITY_RANGE.1,
                },
            )
            .with_unit(" %")
            .with_step_size(0.001)
            .with_value_to_string(formatters::v2s_f32_percentage(1))
            .with_string_to_value(formatters::s2v_f32_percentage()),
            min_interval_ms: FloatParam::new(
                "Min interval",
                onset.min_interval_s * 1000.0,
                FloatRange::Skewed {
                    min: MIN_INTERVAL_RANGE_S.0 * 1000.0,
                    max: MIN_INTERVAL_RANGE_S.1 * 1000.0,
                    factor: FloatRange::skew_factor(-2.0),
                },
            )
            .with_unit(" ms")
            .with_step_size(0.1),
            silence_gate_db: FloatParam::new(
                "Silence gate",
                onset.silence_gate_db,
                FloatRange::Linear {
                    min: SILENCE_GATE_RANGE_DB.0,
                    max: SILENCE_GATE_RANGE_DB.1,
                },
            )
            .with_unit(" dBFS")
            .with_step_size(0.5),
            lookahead: IntParam::new(
                "Look-ahead",
                onset.lookahead_frames as i32,
                IntRange::Linear {
                    min: 0,
                    max: onset.max_lookahead_frames as i32,
                },
            )
            .with_value_to_string(Arc::new(move |frames| {
                let unit = if frames == 1 { "frame" } else { "frames" };
                format!("{frames} {unit} ({:.0} ms)", frames as f32 * hop_ms)
            }))
            .with_string_to_value(Arc::new(|text| {
                let digits: String = text
                    .trim()
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect();
                digits.parse().ok()
            }))
            .non_automatable(),
            trigger: BoolParam::new("Onset trigger", true)
                .with_value_to_string(Arc::new(|on| if on { "On" } else { "Off" }.to_owned())),
            trigger_note: IntParam::new(
                "Trigger note",
                DEFAULT_TRIGGER_KEY as i32,
                IntRange::Linear { min: 0, max: 127 },
            )
            .with_value_to_string(formatters::v2s_i32_key_formatter())
            .with_string_to_value(Arc::new(|text| {
                // A key name (C2, F#3) or a MIDI key number (36).
                let text = text.trim();
                text.parse::<i32>()
                    .ok()
                    .or_else(|| formatters::s2v_i32_key_formatter()(text))
            })),
            trigger_length_ms: FloatParam::new(
                "Trigger length",
                50.0,
                FloatRange::Skewed {
                    min: 5.0,
                    max: 1000.0,
                    factor: FloatRange::skew_factor(-1.5),
                },
            )
            .with_unit(" ms")
            .with_step_size(0.1),
            notes: BoolParam::new("Pitch notes", true)
                .with_value_to_string(Arc::new(|on| if on { "On" } else { "Off" }.to_owned()))
                .non_automatable(),
            min_note_ms: FloatParam::new(
                "Min note length",
                notes.min_note_s * 1000.0,
                FloatRange::Linear {
                    min: MIN_NOTE_RANGE_S.0 * 1000.0,
                    max: MIN_NOTE_RANGE_S.1 * 1000.0,
                },
            )
            .with_unit(" ms")
            .with_step_size(1.0)
            .non_automatable(),
            stability_cents: FloatParam::new(
                "Pitch stability",
                notes.stability_cents,
                FloatRange::Linear {
                    min: STABILITY_RANGE_CENTS.0,
                    max: STABILITY_RANGE_CENTS.1,
                },
            )
            .with_unit(" cents")
            .with_step_size(1.0),
            voicing: FloatParam::new(
                "Voicing threshold",
                pitch.voicing_threshold,
                FloatRange::Linear {
                    min: VOICING_THRESHOLD_RANGE.0,
                    max: VOICING_THRESHOLD_RANGE.1,
                },
            )
            .with_unit(" %")
            .with_step_size(0.001)
            .with_value_to_string(formatters::v2s_f32_percentage(1))
            .with_string_to_value(formatters::s2v_f32_percentage()),
            fmin_hz: hz_param("Lowest pitch", pitch.fmin_hz as f32),
            fmax_hz: hz_param("Highest pitch", pitch.fmax_hz as f32),
            gain_harmonic: gain_param("Harmonic"),
            gain_percussive: gain_param("Percussive"),
            gain_residual: gain_param("Residual"),
            gain_melody: gain_param("Melody"),
            gain_accompaniment: gain_param("Accompaniment"),
            solo: EnumParam::new("Solo", SoloParam::Off),
            harmonic_margin: margin_param("Harmonic margin", separation.harmonic_margin),
            percussive_margin: margin_param("Percussive margin", separation.percussive_margin),
            separation_lookahead: IntParam::new(
                "Separation look-ahead",
                separation.lookahead_frames as i32,
                IntRange::Linear { min: 0, max: 16 },
            )
            .with_unit(" frames")
            .non_automatable(),
        }
    }
}

/// A stem gain parameter in dB, 0 dB by default; the bottom of the range mutes the stem. The
/// engine glides to a new gain (20 ms), so automating it does not click.
fn gain_param(stem: &str) -> FloatParam {
    FloatParam::new(
        format!("{stem} gain"),
        0.0,
        FloatRange::Linear {
            min: STEM_GAIN_RANGE_DB.0,
            max: STEM_GAIN_RANGE_DB.1,
        },
    )
    .with_step_size(0.1)
    .with_value_to_string(Arc::new(|db| {
        if db <= STEM_GAIN_RANGE_DB.0 {
            "-inf dB".to_owned()
        } else {
            format!("{db:.1} dB")
        }
    }))
    .with_string_to_value(Arc::new(|text| {
        let t = text.trim().trim_end_matches("dB").trim();
        if t.eq_ignore_ascii_case("-inf") || t.eq_ignore_ascii_case("mute") {
            Some(STEM_GAIN_RANGE_DB.0)
        } else {
            t.parse().ok()
        }
    }))
}

/// A separation margin (1 to 8), applied at the next activation.
fn margin_param(name: &str, default: f32) -> FloatParam {
    FloatParam::new(name, default, FloatRange::Linear { min: 1.0, max: 8.0 })
        .with_step_size(0.01)
        .non_automatable()
}

/// A pitch range parameter, in Hz on a log scale, shown with its note name; applies at the
/// next activation.
fn hz_param(name: &str, default: f32) -> FloatParam {
    FloatParam::new(
        name,
        default.clamp(PITCH_RANGE_HZ.0, PITCH_RANGE_HZ.1),
        FloatRange::Skewed {
            min: PITCH_RANGE_HZ.0,
            max: PITCH_RANGE_HZ.1,
            factor: FloatRange::skew_factor(-2.0),
        },
    )
    .with_value_to_string(Arc::new(|hz| {
        const NAMES: [&str; 12] = [
            "C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B",
        ];
        let key = (69.0 + 12.0 * (hz / 440.0).log2()).round() as i32;
        format!(
            "{hz:.1} Hz ({}{})",
            NAMES[key.rem_euclid(12) as usize],
            key.div_euclid(12) - 1
        )
    }))
    .with_string_to_value(Arc::new(|text| {
        let number: String = text
            .trim()
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        number.parse().ok()
    }))
    .non_automatable()
}

impl CochleaParams {
    /// Reads every parameter the audio thread needs (atomic loads only).
    pub fn settings(&self) -> Settings {
        Settings {
            method: self.method.value().into(),
            sensitivity: self.sensitivity.value(),
            min_interval_s: self.min_interval_ms.value() / 1000.0,
            silence_gate_db: self.silence_gate_db.value(),
            lookahead_frames: self.lookahead.value().max(0) as u32,
            trigger_key: self
                .trigger
                .value()
                .then(|| self.trigger_note.value().clamp(0, 127) as u8),
            trigger_length_s: self.trigger_length_ms.value() / 1000.0,
            notes: self.notes.value(),
            min_note_s: self.min_note_ms.value() / 1000.0,
            stability_cents: self.stability_cents.value(),
            voicing_threshold: self.voicing.value(),
            fmin_hz: self.fmin_hz.value(),
            fmax_hz: self.fmax_hz.value(),
            stem_gains: stem_gains(
                [
                    self.gain_harmonic.value(),
                    self.gain_percussive.value(),
                    self.gain_residual.value(),
                    self.gain_melody.value(),
                    self.gain_accompaniment.value(),
                ],
                self.solo.value().stem(),
            ),
            margins: (self.harmonic_margin.value(), self.percussive_margin.value()),
            separation_lookahead: self.separation_lookahead.value().max(0) as u32,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_engine_defaults() {
        let s = Settings::default();
        let onset = OnsetConfig::default();
        assert_eq!(s.method, onset.method);
        assert_eq!(s.sensitivity, onset.sensitivity);
        assert!((s.min_interval_s - onset.min_interval_s).abs() < 1e-6);
        assert_eq!(s.silence_gate_db, onset.silence_gate_db);
        assert_eq!(s.lookahead_frames, onset.lookahead_frames);
        assert_eq!(s.trigger_key, Some(DEFAULT_TRIGGER_KEY));
        let (pitch, notes) = (PitchConfig::default(), NotesConfig::default());
        assert!(s.notes);
        assert!((s.min_note_s - notes.min_note_s).abs() < 1e-6);
        assert_eq!(s.stability_cents, notes.stability_cents);
        assert_eq!(s.voicing_threshold, pitch.voicing_threshold);
        assert_eq!(
            (s.fmin_hz, s.fmax_hz),
            (pitch.fmin_hz as f32, pitch.fmax_hz as f32)
        );
    }

    #[test]
    fn solo_silences_the_other_stems_of_its_split() {
        let g = stem_gains([0.0, -6.0, -60.0, 6.0, 0.0], None);
        assert_eq!(g[0], 1.0);
        assert!((g[1] - 0.501).abs() < 1e-3 && g[2] == 0.0 && (g[3] - 1.995).abs() < 1e-3);
        let g = stem_gains([0.0; 5], Some(Stem::Percussive));
        assert_eq!(g, [0.0, 1.0, 0.0, 1.0, 1.0]);
        let g = stem_gains([0.0; 5], Some(Stem::Melody));
        assert_eq!(g, [1.0, 1.0, 1.0, 1.0, 0.0]);
    }

    #[test]
    fn every_parameter_reads_back_its_own_text() {
        let p = CochleaParams::default();
        for (id, ptr, _) in p.param_map() {
            // SAFETY: the pointers come from `p`, which outlives this loop.
            unsafe {
                let normalized = ptr.default_normalized_value();
                let text = ptr.normalized_value_to_string(normalized, true);
                let back = ptr
                    .string_to_normalized_value(&text)
                    .unwrap_or_else(|| panic!("{id}: {text:?} does not parse"));
                assert!((back - normalized).abs() < 1e-3, "{id}: {text:?}");
            }
        }
    }

    #[test]
    fn texts_a_user_types_are_understood() {
        let p = CochleaParams::default();
        let key = |t: &str| p.trigger_note.string_to_normalized_value(t);
        assert_eq!(key("C2"), key("36"));
        assert_eq!(p.lookahead.string_to_normalized_value("2"), Some(0.25));
        assert_eq!(p.sensitivity.string_to_normalized_value("80 %"), Some(0.8));
        assert_eq!(p.method.string_to_normalized_value("HFC"), Some(3.0 / 4.0));
        let hz = |t: &str| p.fmin_hz.string_to_normalized_value(t);
        assert_eq!(hz("110 Hz (A2)"), hz("110"));
        assert_eq!(
            p.fmin_hz
                .normalized_value_to_string(hz("110").unwrap(), true),
            "110.0 Hz (A2)"
        );
    }
}
