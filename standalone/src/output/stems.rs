//! `stems/`: the separated stems as 32-bit float WAV files, one per stem (`harmonic.wav`,
//! `percussive.wav`, `residual.wav`, `melody.wav`, `accompaniment.wav`), with the input's sample
//! rate and analysed channels (stereo stays stereo), aligned with the input: the separation's
//! latency is removed and each file has exactly the input's length.
//!
//! The files stream to disk as the engine produces them. The driver completes the stems at the
//! end of the input by feeding the engine `latency` samples of silence (see
//! [`Feeder::flush`](crate::analyze::Feeder::flush)); events produced by that flush are not
//! written, so the other outputs do not depend on whether stems were asked for.

use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use cochlea_engine::separation::{Stem, StemOutputs};
use cochlea_engine::{Engine, Output};
use serde_json::json;

use super::{file_name_of, Emitted, OutputError, StagedFile, Staging, Writer};

/// The file of `stem` inside the stems folder `dir`.
///
/// ```
/// use cochlea_engine::separation::Stem;
/// let p = cochlea::output::stems::stem_path(std::path::Path::new("out"), Stem::Melody);
/// assert_eq!(p, std::path::Path::new("out/melody.wav"));
/// ```
pub fn stem_path(dir: &Path, stem: Stem) -> PathBuf {
    dir.join(format!("{}.wav", stem.name()))
}

/// Every file the stems output writes into `dir`.
pub fn files(dir: &Path) -> Vec<PathBuf> {
    Stem::ALL.iter().map(|&s| stem_path(dir, s)).collect()
}

/// A 32-bit float WAV written as samples arrive; the sizes in the header are patched at the end.
struct FloatWav {
    file: StagedFile,
    channels: u16,
    frames: u64,
}

impl FloatWav {
    fn new(mut file: StagedFile, sample_rate: u32, channels: u16) -> Result<Self, OutputError> {
        let block_align = 4 * channels as u32;
        let mut h = Vec::with_capacity(44);
        h.extend_from_slice(b"RIFF");
        h.extend_from_slice(&0u32.to_le_bytes());
        h.extend_from_slice(b"WAVEfmt ");
        h.extend_from_slice(&16u32.to_le_bytes());
        h.extend_from_slice(&3u16.to_le_bytes()); // IEEE float
        h.extend_from_slice(&channels.to_le_bytes());
        h.extend_from_slice(&sample_rate.to_le_bytes());
        h.extend_from_slice(&(sample_rate * block_align).to_le_bytes());
        h.extend_from_slice(&(block_align as u16).to_le_bytes());
        h.extend_from_slice(&32u16.to_le_bytes());
        h.extend_from_slice(b"data");
        h.extend_from_slice(&0u32.to_le_bytes());
        file.write_all(&h)?;
        Ok(Self {
            file,
            channels,
            frames: 0,
        })
    }

    fn write(&mut self, channels: &[&[f32]], from: usize) -> Result<(), OutputError> {
        let n = channels.first().map_or(0, |c| c.len());
        let mut bytes = Vec::with_capacity((n - from.min(n)) * 4 * channels.len());
        for i in from..n {
            for c in channels {
                bytes.extend_from_slice(&c[i].to_le_bytes());
            }
        }
        self.frames += (n - from.min(n)) as u64;
        self.file.write_all(&bytes)
    }

    fn finish(mut self) -> Result<(), OutputError> {
        let data = self.frames * 4 * self.channels as u64;
        let too_big = |f: &StagedFile| {
            f.error(std::io::Error::other(
                "stem longer than a WAV file can hold (4 GiB)",
            ))
        };
        let data32 = u32::try_from(data).map_err(|_| too_big(&self.file))?;
        let riff = data32.checked_add(36).ok_or_else(|| too_big(&self.file))?;
        let result = (|| {
            let w = self.file.writer();
            w.seek(SeekFrom::Start(4))?;
            w.write_all(&riff.to_le_bytes())?;
            w.seek(SeekFrom::Start(40))?;
            w.write_all(&data32.to_le_bytes())?;
            w.seek(SeekFrom::End(0))?;
            Ok(())
        })();
        result.map_err(|e| self.file.error(e))?;
        self.file.finish()
    }
}

/// Writes the five stems as they arrive, dropping the first `latency` samples.
pub struct StemsWriter {
    dir: PathBuf,
    wavs: Vec<FloatWav>,
    sample_rate: f64,
    latency: usize,
    /// Samples still to drop (the latency not yet consumed).
    skip: usize,
    /// Samples of the input the stems must cover (`None` until the driver says).
    received: u64,
}

impl StemsWriter {
    /// Starts the five files inside `dir` for a stream separated by `engine`.
    pub fn new(dir: &Path, engine: &Engine, staging: &mut Staging) -> Result<Self, OutputError> {
        let config = engine.config();
        let mut wavs = Vec::new();
        for s in Stem::ALL {
            let file = staging.create(&stem_path(dir, s))?;
            wavs.push(FloatWav::new(
                file,
                config.sample_rate as u32,
                config.channels as u16,
            )?);
        }
        let latency = engine.latency_samples(Output::Audio);
        Ok(Self {
            dir: dir.to_path_buf(),
            wavs,
            sample_rate: config.sample_rate,
            latency,
            skip: latency,
            received: 0,
        })
    }
}

impl Writer for StemsWriter {
    fn event(&mut self, _event: &Emitted) -> Result<(), OutputError> {
        Ok(())
    }

    fn stems(&mut self, stems: &StemOutputs) -> Result<(), OutputError> {
        let n = stems.len();
        let from = self.skip.min(n);
        self.skip -= from;
        self.received += (n - from) as u64;
        for (s, wav) in Stem::ALL.iter().zip(self.wavs.iter_mut()) {
            let chans: Vec<&[f32]> = (0..stems.channels())
                .map(|c| stems.channel(*s, c))
                .collect();
            wav.write(&chans, from)?;
        }
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<serde_json::Value, OutputError> {
        let files: Vec<String> = Stem::ALL
            .iter()
            .map(|&s| file_name_of(&stem_path(&self.dir, s)))
            .collect();
        let section = json!({
            "folder": file_name_of(&self.dir),
            "files": files,
            "frames": self.received,
            "latency_samples": self.latency,
            "latency_ms": self.latency as f64 * 1e3 / self.sample_rate,
            "aligned": true,
        });
        for w in self.wavs {
            w.finish()?;
        }
        Ok(section)
    }
}
