//! The analysis settings shared by `analyze`, `live` and `demo`: command-line options that map
//! onto [`EngineConfig`], and are recorded in every JSON summary.
//!
//! Each analysis (onsets today; pitch, notes and separation as they land) has its own group,
//! flattened into [`AnalysisSettings`], with its own help heading.

use clap::{Args, ValueEnum};
use cochlea_engine::{ConfigError, EngineConfig, OnsetMethod};
use serde::Serialize;

use crate::exit::Failure;

/// Every analysis setting of the engine.
#[derive(Args, Clone, Debug, PartialEq, Serialize)]
pub struct AnalysisSettings {
    /// Onset detection.
    #[command(flatten)]
    pub onset: OnsetSettings,
    /// Pitch tracking.
    #[command(flatten)]
    pub pitch: PitchSettings,
    /// Notes.
    #[command(flatten)]
    pub notes: NotesSettings,
    /// Source separation.
    #[command(flatten)]
    pub separation: SeparationSettings,
}

/// Source-separation settings (used when stems are written, or heard live).
#[derive(Args, Clone, Debug, PartialEq, Serialize)]
#[command(next_help_heading = "Separation")]
pub struct SeparationSettings {
    /// Harmonic separation margin (1 to 8): above 1, what is not clearly harmonic goes to the
    /// residual.
    #[arg(long, default_value_t = 1.0, value_name = "X")]
    #[serde(serialize_with = "shortest")]
    pub harmonic_margin: f32,
    /// Percussive separation margin (1 to 8).
    #[arg(long, default_value_t = 1.0, value_name = "X")]
    #[serde(serialize_with = "shortest")]
    pub percussive_margin: f32,
    /// Frames of 5.8 ms the harmonic estimate waits for (0 to 16); each adds to the audio
    /// latency (46.4 ms at the default 6, 44.1 kHz).
    #[arg(long, default_value_t = 6, value_name = "FRAMES")]
    pub separation_lookahead: u32,
    /// Gains of the stems in the audio output (live monitoring of the mix), linear 0 to 4, in
    /// the order harmonic,percussive,residual,melody,accompaniment.
    #[arg(
        long,
        value_delimiter = ',',
        num_args = 5,
        default_values_t = [1.0f32; 5],
        value_name = "G,G,G,G,G"
    )]
    pub stem_gains: Vec<f32>,
}

/// Pitch tracking settings.
#[derive(Args, Clone, Debug, PartialEq, Serialize)]
#[command(next_help_heading = "Pitch tracking")]
pub struct PitchSettings {
    /// Lowest pitch searched, Hz (20 to 1000). The analysis window is two periods of it, so a
    /// lower fmin costs latency: 27.1 ms at the default 60 Hz.
    #[arg(long, default_value_t = 60.0, value_name = "HZ")]
    #[serde(serialize_with = "shortest64")]
    pub fmin: f64,
    /// Highest pitch searched, Hz (twice fmin to 5000).
    #[arg(long, default_value_t = 2000.0, value_name = "HZ")]
    #[serde(serialize_with = "shortest64")]
    pub fmax: f64,
    /// A frame is voiced when its voiced probability reaches this (0 to 1).
    #[arg(long, default_value_t = 0.5)]
    #[serde(serialize_with = "shortest")]
    pub voicing_threshold: f32,
    /// Frames quieter than this (dBFS) are unvoiced (-120 to 0).
    #[arg(long, default_value_t = -60.0, allow_hyphen_values = true, value_name = "DB")]
    #[serde(serialize_with = "shortest")]
    pub pitch_gate: f32,
}

/// Note settings.
#[derive(Args, Clone, Debug, PartialEq, Serialize)]
#[command(next_help_heading = "Notes")]
pub struct NotesSettings {
    /// A note starts once its pitch has held this long, seconds (0.01 to 0.2); shorter blips
    /// are ignored. Adds to the note latency.
    #[arg(long, default_value_t = 0.04, value_name = "S")]
    #[serde(serialize_with = "shortest")]
    pub min_note: f32,
    /// How far the pitch may stray from a note's semitone, cents (10 to 100).
    #[arg(long, default_value_t = 50.0, value_name = "CENTS")]
    #[serde(serialize_with = "shortest")]
    pub note_stability: f32,
}

/// Onset detection function, as named on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Spectral flux on a log-frequency, log-magnitude spectrogram.
    Specflux,
    /// SuperFlux: spectral flux with vibrato suppression (the default).
    Superflux,
    /// Complex domain (phase and magnitude deviation).
    Complex,
    /// High-frequency content.
    Hfc,
    /// Energy rise.
    Energy,
}

impl From<Method> for OnsetMethod {
    fn from(m: Method) -> Self {
        match m {
            Method::Specflux => OnsetMethod::SpectralFlux,
            Method::Superflux => OnsetMethod::SuperFlux,
            Method::Complex => OnsetMethod::ComplexDomain,
            Method::Hfc => OnsetMethod::Hfc,
            Method::Energy => OnsetMethod::Energy,
        }
    }
}

/// Onset detection settings.
#[derive(Args, Clone, Debug, PartialEq, Serialize)]
#[command(next_help_heading = "Onset detection")]
pub struct OnsetSettings {
    /// Onset detection function.
    #[arg(long, value_enum, default_value = "superflux")]
    pub method: Method,
    /// Onset sensitivity, 0 (strongest onsets only) to 1 (everything).
    #[arg(long, default_value_t = 0.5)]
    #[serde(serialize_with = "shortest")]
    pub sensitivity: f32,
    /// Minimum time between onsets, in seconds (0 to 1).
    #[arg(long, default_value_t = 0.03)]
    #[serde(serialize_with = "shortest")]
    pub min_interval: f32,
    /// Frames quieter than this (dBFS) start no onset (-120 to 0).
    #[arg(long, default_value_t = -70.0, allow_hyphen_values = true)]
    #[serde(serialize_with = "shortest")]
    pub silence_gate: f32,
    /// Peak-picker look-ahead in frames (0 to 8); adds that many hops of latency.
    #[arg(long, default_value_t = 0)]
    pub lookahead: u32,
}

/// Writes an `f32` setting as the decimal it was given (0.03, not 0.029999999329447746).
fn shortest<S: serde::Serializer>(v: &f32, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(v.to_string().parse().unwrap_or(*v as f64))
}

/// Writes an `f64` setting as given.
fn shortest64<S: serde::Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(*v)
}

impl AnalysisSettings {
    /// The engine configuration for a stream of `sample_rate` Hz with `channels` (1 or 2) and
    /// blocks of at most `max_block` frames, validated.
    pub fn engine_config(
        &self,
        sample_rate: f64,
        channels: usize,
        max_block: usize,
    ) -> Result<EngineConfig, ConfigError> {
        let mut config = EngineConfig::new(sample_rate, channels, max_block);
        let o = &mut config.onset;
        o.method = self.onset.method.into();
        o.sensitivity = self.onset.sensitivity;
        o.min_interval_s = self.onset.min_interval;
        o.silence_gate_db = self.onset.silence_gate;
        o.lookahead_frames = self.onset.lookahead;
        // Every analysis on; a file's outputs turn off what they do not need.
        let p = &mut config.pitch;
        p.enabled = true;
        p.fmin_hz = self.pitch.fmin;
        p.fmax_hz = self.pitch.fmax;
        p.voicing_threshold = self.pitch.voicing_threshold;
        p.silence_gate_db = self.pitch.pitch_gate;
        let n = &mut config.notes;
        n.enabled = true;
        n.min_note_s = self.notes.min_note;
        n.stability_cents = self.notes.note_stability;
        // The separation's settings; whether it runs is the caller's choice (it costs the most).
        let sep = &mut config.separation;
        sep.harmonic_margin = self.separation.harmonic_margin;
        sep.percussive_margin = self.separation.percussive_margin;
        sep.lookahead_frames = self.separation.separation_lookahead;
        for (g, &v) in sep.gains.iter_mut().zip(&self.separation.stem_gains) {
            *g = v;
        }
        config.validate()?;
        Ok(config)
    }

    /// Checks every setting before any input is touched (at 44.1 kHz, mono; the stream's own
    /// rate is checked when it is known). An impossible setting is a usage error.
    pub fn check(&self, max_block: usize) -> Result<(), Failure> {
        self.engine_config(44_100.0, 1, max_block)
            .map(|_| ())
            .map_err(|e| Failure::usage(format!("invalid setting: {e}")))
    }

    /// The settings as JSON, for summaries.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("settings serialise")
    }
}

impl Default for AnalysisSettings {
    fn default() -> Self {
        Self {
            onset: OnsetSettings {
                method: Method::Superflux,
                sensitivity: 0.5,
                min_interval: 0.03,
                silence_gate: -70.0,
                lookahead: 0,
            },
            pitch: PitchSettings {
                fmin: 60.0,
                fmax: 2000.0,
                voicing_threshold: 0.5,
                pitch_gate: -60.0,
            },
            notes: NotesSettings {
                min_note: 0.04,
                note_stability: 50.0,
            },
            separation: SeparationSettings {
                harmonic_margin: 1.0,
                percussive_margin: 1.0,
                separation_lookahead: 6,
                stem_gains: vec![1.0; 5],
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        settings: AnalysisSettings,
    }

    #[test]
    fn defaults_match_the_engine_and_the_command_line() {
        let parsed = Cli::parse_from(["x"]).settings;
        assert_eq!(parsed, AnalysisSettings::default());
        let config = parsed.engine_config(48_000.0, 2, 256).unwrap();
        let engine = EngineConfig::new(48_000.0, 2, 256);
        assert_eq!(config.onset, engine.onset);
        let mut pitch = engine.pitch.clone();
        pitch.enabled = true;
        assert_eq!(config.pitch, pitch);
        let mut notes = engine.notes.clone();
        notes.enabled = true;
        assert_eq!(config.notes, notes);
        assert_eq!(config.separation, engine.separation);
    }

    #[test]
    fn impossible_settings_are_usage_errors_naming_the_setting() {
        let mut s = AnalysisSettings::default();
        s.onset.lookahead = 99;
        let f = s.check(1024).unwrap_err();
        assert_eq!(f.code, crate::exit::USAGE);
        assert!(
            f.message.contains("onset.lookahead_frames"),
            "{}",
            f.message
        );
        assert!(AnalysisSettings::default().check(0).is_err());
        let mut s = AnalysisSettings::default();
        s.separation.harmonic_margin = 0.5;
        let f = s.check(1024).unwrap_err();
        assert!(
            f.message.contains("separation.harmonic_margin"),
            "{}",
            f.message
        );
        let mut s = AnalysisSettings::default();
        s.separation.stem_gains[3] = 9.0;
        assert!(s.check(1024).is_err());
    }

    #[test]
    fn settings_serialise_with_their_command_line_names() {
        let v = AnalysisSettings::default().to_json();
        assert_eq!(v["onset"]["method"], "superflux");
        assert_eq!(v["onset"]["min_interval"], 0.03);
    }
}
