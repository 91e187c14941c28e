//! `melody.csv`: the melody (predominant pitch in a mix), in the format of `pitch.csv`: a
//! `time_s,freq_hz` header, then one row per melody hop, the instant the frame describes in
//! seconds and the melody's fundamental in Hz, `0` where the melody is judged silent.

use std::path::Path;

use cochlea_engine::{Engine, Event, Output};
use serde_json::json;

use super::pitch::{row, HEADER};
use super::{file_name_of, Emitted, OutputError, StagedFile, Staging, Writer};

/// Writes melody events as they arrive.
pub struct MelodyWriter {
    file: StagedFile,
    sample_rate: f64,
    latency_samples: usize,
    frames: u64,
    voiced: u64,
}

impl MelodyWriter {
    /// Starts `path` for a stream analysed by `engine`.
    pub fn new(path: &Path, engine: &Engine, staging: &mut Staging) -> Result<Self, OutputError> {
        let mut file = staging.create(path)?;
        file.write_all(HEADER.as_bytes())?;
        Ok(Self {
            file,
            sample_rate: engine.config().sample_rate,
            latency_samples: engine.latency_samples(Output::Melody),
            frames: 0,
            voiced: 0,
        })
    }
}

impl Writer for MelodyWriter {
    fn event(&mut self, e: &Emitted) -> Result<(), OutputError> {
        if let Event::Melody { sample, f0_hz, .. } = e.event {
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
