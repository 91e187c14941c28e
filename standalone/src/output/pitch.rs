//! `pitch.csv`: the pitch track, one row per pitch hop: a `time_s,freq_hz` header, then the
//! frame's centre in seconds (six decimals) and its fundamental frequency in Hz (three
//! decimals), `0` where the frame is unvoiced. The layout of the dev corpus's ground truth;
//! mir_eval reads it with `io.load_time_series` once the header line is dropped.
//!
//! `voicing.csv`: the same rows with the frame's voiced probability and the confidence in its
//! pitch (four decimals each) after them, under a `time_s,freq_hz,voiced_prob,confidence`
//! header: what a voicing curve or a confidence-weighted evaluation needs.

use std::path::Path;

use cochlea_engine::{Engine, Event, Output};
use serde_json::json;

use super::{file_name_of, Emitted, OutputError, StagedFile, Staging, Writer};
use crate::analyze::Analysis;

/// The header line of `pitch.csv`.
pub const HEADER: &str = "time_s,freq_hz\n";
/// The header line of `voicing.csv`.
pub const VOICING_HEADER: &str = "time_s,freq_hz,voiced_prob,confidence\n";

/// One row of `pitch.csv`.
///
/// ```
/// assert_eq!(cochlea::output::pitch::row(0.005, 440.0), "0.005000,440.000\n");
/// ```
pub fn row(time_s: f64, freq_hz: f64) -> String {
    format!("{time_s:.6},{freq_hz:.3}\n")
}

/// One row of `voicing.csv`.
///
/// ```
/// assert_eq!(
///     cochlea::output::pitch::voicing_row(0.005, 440.0, 0.93, 0.8),
///     "0.005000,440.000,0.9300,0.8000\n"
/// );
/// ```
pub fn voicing_row(time_s: f64, freq_hz: f64, voiced_prob: f64, confidence: f64) -> String {
    format!("{time_s:.6},{freq_hz:.3},{voiced_prob:.4},{confidence:.4}\n")
}

/// A pitch track held in memory: frame centres (seconds) and frequencies (Hz, 0 = unvoiced).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PitchTrack {
    /// Frame centres, seconds, ascending.
    pub times_s: Vec<f64>,
    /// Fundamental frequency per frame, Hz; 0 where unvoiced.
    pub freqs_hz: Vec<f64>,
}

impl PitchTrack {
    /// The `Pitch` events of `analysis`, in stream order.
    pub fn from_analysis(analysis: &Analysis) -> Self {
        let mut track = PitchTrack::default();
        for e in &analysis.events {
            if let Event::Pitch { sample, f0_hz, .. } = e.event {
                track.times_s.push(sample as f64 / analysis.sample_rate);
                track.freqs_hz.push(f0_hz as f64);
            }
        }
        track
    }

    /// The text of `pitch.csv`.
    pub fn to_csv(&self) -> String {
        let mut s = String::from(HEADER);
        for (&t, &f) in self.times_s.iter().zip(&self.freqs_hz) {
            s.push_str(&row(t, f));
        }
        s
    }
}

/// Which track a [`TrackWriter`] writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Track {
    /// The pitch tracker's f0: `pitch.csv`.
    Pitch,
    /// The pitch tracker's f0 with its voiced probability and confidence: `voicing.csv`.
    Voicing,
    /// The melody tracker's f0: `melody.csv`, the format of `pitch.csv` (one row per melody
    /// hop, `0` where the melody is judged silent).
    Melody,
}

/// Writes an f0 track as its events arrive.
pub struct TrackWriter {
    file: StagedFile,
    track: Track,
    sample_rate: f64,
    latency_samples: usize,
    frames: u64,
    voiced: u64,
}

impl TrackWriter {
    /// Starts `path` for the `track` of a stream analysed by `engine`.
    pub fn new(
        path: &Path,
        engine: &Engine,
        staging: &mut Staging,
        track: Track,
    ) -> Result<Self, OutputError> {
        let mut file = staging.create(path)?;
        let (header, output) = match track {
            Track::Pitch => (HEADER, Output::Pitch),
            Track::Voicing => (VOICING_HEADER, Output::Pitch),
            Track::Melody => (HEADER, Output::Melody),
        };
        file.write_all(header.as_bytes())?;
        Ok(Self {
            file,
            track,
            sample_rate: engine.config().sample_rate,
            latency_samples: engine.latency_samples(output),
            frames: 0,
            voiced: 0,
        })
    }
}

impl Writer for TrackWriter {
    fn event(&mut self, e: &Emitted) -> Result<(), OutputError> {
        let (sample, f0_hz, probabilities) = match (self.track, e.event) {
            (Track::Pitch, Event::Pitch { sample, f0_hz, .. })
            | (Track::Melody, Event::Melody { sample, f0_hz, .. }) => (sample, f0_hz, None),
            (
                Track::Voicing,
                Event::Pitch {
                    sample,
                    f0_hz,
                    voiced_prob,
                    confidence,
                },
            ) => (sample, f0_hz, Some((voiced_prob, confidence))),
            _ => return Ok(()),
        };
        self.frames += 1;
        self.voiced += (f0_hz > 0.0) as u64;
        let time_s = sample as f64 / self.sample_rate;
        let line = match probabilities {
            None => row(time_s, f0_hz as f64),
            Some((p, c)) => voicing_row(time_s, f0_hz as f64, p as f64, c as f64),
        };
        self.file.write_all(line.as_bytes())?;
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<serde_json::Value, OutputError> {
        let section = json!({
            "file": file_name_of(self.file.path()),
            "frames": self.frames,
            "voiced_frames": self.voiced,
            "latency_samples": self.latency_samples,
            "latency_ms": self.latency_samples as f64 * 1e3 / self.sample_rate,
        });
        self.file.finish()?;
        Ok(section)
    }
}
