//! `pitch.csv`: the pitch track, one row per pitch hop: a `time_s,freq_hz` header, then the
//! frame's centre in seconds (six decimals) and its fundamental frequency in Hz (three
//! decimals), `0` where the frame is unvoiced. The layout of the dev corpus's ground truth;
//! mir_eval reads it with `io.load_time_series` once the header line is dropped.

use std::path::Path;

use cochlea_engine::{Engine, Event, Output};
use serde_json::json;

use super::{file_name_of, Emitted, OutputError, StagedFile, Staging, Writer};
use crate::analyze::Analysis;

/// The header line of `pitch.csv`.
pub const HEADER: &str = "time_s,freq_hz\n";

/// One row of `pitch.csv`.
///
/// ```
/// assert_eq!(cochlea::output::pitch::row(0.005, 440.0), "0.005000,440.000\n");
/// ```
pub fn row(time_s: f64, freq_hz: f64) -> String {
    format!("{time_s:.6},{freq_hz:.3}\n")
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

/// Writes an f0 track as its events arrive: the pitch tracker's (`pitch.csv`) or the melody
/// tracker's (`melody.csv`, the same format: one row per melody hop, `0` where the melody is
/// judged silent).
pub struct TrackWriter {
    file: StagedFile,
    /// `Output::Pitch` or `Output::Melody`: which events are written.
    track: Output,
    sample_rate: f64,
    latency_samples: usize,
    frames: u64,
    voiced: u64,
}

impl TrackWriter {
    /// Starts `path` for the `track` (`Output::Pitch` or `Output::Melody`) of a stream analysed
    /// by `engine`.
    pub fn new(
        path: &Path,
        engine: &Engine,
        staging: &mut Staging,
        track: Output,
    ) -> Result<Self, OutputError> {
        let mut file = staging.create(path)?;
        file.write_all(HEADER.as_bytes())?;
        Ok(Self {
            file,
            track,
            sample_rate: engine.config().sample_rate,
            latency_samples: engine.latency_samples(track),
            frames: 0,
            voiced: 0,
        })
    }
}

impl Writer for TrackWriter {
    fn event(&mut self, e: &Emitted) -> Result<(), OutputError> {
        let frame = match (self.track, e.event) {
            (Output::Pitch, Event::Pitch { sample, f0_hz, .. })
            | (Output::Melody, Event::Melody { sample, f0_hz, .. }) => Some((sample, f0_hz)),
            _ => None,
        };
        if let Some((sample, f0_hz)) = frame {
            self.frames += 1;
            self.voiced += (f0_hz > 0.0) as u64;
            self.file
                .write_all(row(sample as f64 / self.sample_rate, f0_hz as f64).as_bytes())?;
        }
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
