//! `onsets.txt`: one onset time per line, in seconds from the start of the stream, six decimals,
//! ascending. This is the format of mir_eval's `io.load_events` and of Sonic Visualiser's
//! "Import Annotation Layer" (time instants).

use std::path::Path;

use cochlea_engine::{Engine, Event, Output};
use serde_json::json;

use super::{file_name_of, Emitted, OutputError, StagedFile, Staging, Writer};

/// Writes onset events as they arrive.
pub struct OnsetWriter {
    file: StagedFile,
    sample_rate: f64,
    latency_samples: usize,
    count: u64,
}

impl OnsetWriter {
    /// Starts `path` for a stream analysed by `engine`.
    pub fn new(path: &Path, engine: &Engine, staging: &mut Staging) -> Result<Self, OutputError> {
        Ok(Self {
            file: staging.create(path)?,
            sample_rate: engine.config().sample_rate,
            latency_samples: engine.latency_samples(Output::Onsets),
            count: 0,
        })
    }
}

/// One line of `onsets.txt`.
pub fn onset_line(seconds: f64) -> String {
    format!("{seconds:.6}\n")
}

impl Writer for OnsetWriter {
    fn event(&mut self, e: &Emitted) -> Result<(), OutputError> {
        if let Event::Onset { sample, .. } = e.event {
            self.count += 1;
            self.file
                .write_all(onset_line(sample as f64 / self.sample_rate).as_bytes())?;
        }
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<serde_json::Value, OutputError> {
        let section = json!({
            "file": file_name_of(self.file.path()),
            "count": self.count,
            "latency_samples": self.latency_samples,
            "latency_ms": self.latency_samples as f64 * 1e3 / self.sample_rate,
        });
        self.file.finish()?;
        Ok(section)
    }
}
