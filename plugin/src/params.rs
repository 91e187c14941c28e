//! The plugin's parameters: names, units, ranges and defaults a DAW user sees, and their mapping
//! to the engine's settings. nice-plug saves and restores them with the host's project (by their
//! `id`, which must never change).

use std::sync::Arc;

use cochlea_engine::{
    OnsetConfig, OnsetMethod, MIN_INTERVAL_RANGE_S, SENSITIVITY_RANGE, SILENCE_GATE_RANGE_DB,
};
use nice_plug::prelude::*;

/// Default MIDI key of the onset trigger: 36, the General MIDI bass drum (C2 here, where 60 is C4).
pub const DEFAULT_TRIGGER_KEY: u8 = 36;
/// MIDI channel of the onset trigger notes, 0-based: 9 is channel 10, General MIDI percussion.
pub const TRIGGER_CHANNEL: u8 = 9;

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
}

impl Default for CochleaParams {
    fn default() -> Self {
        let onset = OnsetConfig::default();
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
        }
    }
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
    }
}
