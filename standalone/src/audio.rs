//! Reading and writing audio files. Decoding goes through symphonia (WAV, FLAC, MP3, Ogg Vorbis),
//! writing through hound (WAV). Every failure names the file and what is wrong with it.

use std::fs::File;
use std::path::{Path, PathBuf};

use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{DecoderOptions, CODEC_TYPE_NULL};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::FormatOptions;
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

/// Decoded audio: one `Vec` per channel, all the same length.
#[derive(Debug, Clone, PartialEq)]
pub struct Audio {
    /// Sample rate in Hz.
    pub sample_rate: u32,
    /// Samples per channel.
    pub channels: Vec<Vec<f32>>,
}

impl Audio {
    /// Frames (samples per channel).
    pub fn len(&self) -> usize {
        self.channels.first().map_or(0, |c| c.len())
    }

    /// True when there are no frames.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Duration in seconds.
    pub fn duration_s(&self) -> f64 {
        self.len() as f64 / self.sample_rate as f64
    }

    /// The mean of all channels.
    pub fn mono(&self) -> Vec<f32> {
        let n = self.channels.len().max(1) as f32;
        (0..self.len())
            .map(|i| self.channels.iter().map(|c| c[i]).sum::<f32>() / n)
            .collect()
    }
}

/// Why a file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    /// The file could not be opened or read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The file is not in a format Cochlea reads.
    #[error("{path}: unsupported format ({reason}); Cochlea reads WAV, FLAC, MP3 and Ogg Vorbis")]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// What the decoder said.
        reason: String,
    },
    /// The file is in a known format but its contents are damaged.
    #[error("{path}: corrupt audio data ({reason})")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What the decoder said.
        reason: String,
    },
    /// The file ends before the length its header announces.
    #[error(
        "{path}: truncated: the header announces {expected} frames but only {got} are present"
    )]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Frames announced.
        expected: u64,
        /// Frames decoded.
        got: u64,
    },
    /// The file holds no audio frames.
    #[error("{path}: contains no audio")]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// Writing an output file failed.
    #[error("{path}: cannot write: {reason}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// Decodes a whole file to `f32` samples in -1..1.
pub fn read_audio(path: &Path) -> Result<Audio, AudioError> {
    let file = File::open(path).map_err(|source| AudioError::Io {
        path: path.into(),
        source,
    })?;
    if file.metadata().map(|m| m.len() == 0).unwrap_or(false) {
        return Err(AudioError::Empty { path: path.into() });
    }
    let mss = MediaSourceStream::new(Box::new(file), Default::default());
    let mut hint = Hint::new();
    if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
        hint.with_extension(ext);
    }
    let unsupported = |reason: String| AudioError::Unsupported {
        path: path.into(),
        reason,
    };
    let corrupt = |reason: String| AudioError::Corrupt {
        path: path.into(),
        reason,
    };
    let probed = symphonia::default::get_probe()
        .format(
            &hint,
            mss,
            &FormatOptions::default(),
            &MetadataOptions::default(),
        )
        .map_err(|e| match e {
            SymError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                corrupt("the file ends inside its header".into())
            }
            SymError::IoError(e) => AudioError::Io {
                path: path.into(),
                source: e,
            },
            other => unsupported(other.to_string()),
        })?;
    let mut format = probed.format;
    let track = format
        .tracks()
        .iter()
        .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
        .ok_or_else(|| unsupported("no audio track".into()))?;
    let track_id = track.id;
    let expected_frames = track.codec_params.n_frames;
    let mut sample_rate = track.codec_params.sample_rate;
    let mut decoder = symphonia::default::get_codecs()
        .make(&track.codec_params, &DecoderOptions::default())
        .map_err(|e| unsupported(e.to_string()))?;

    let mut channels: Vec<Vec<f32>> = Vec::new();
    let mut interleaved: Option<SampleBuffer<f32>> = None;
    let mut ended_early = false;
    loop {
        let packet = match format.next_packet() {
            Ok(p) => p,
            Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(SymError::ResetRequired) => break,
            Err(SymError::IoError(e)) => {
                return Err(AudioError::Io {
                    path: path.into(),
                    source: e,
                })
            }
            Err(e) => return Err(corrupt(e.to_string())),
        };
        if packet.track_id() != track_id {
            continue;
        }
        let decoded = match decoder.decode(&packet) {
            Ok(d) => d,
            Err(SymError::DecodeError(e)) => return Err(corrupt(e.to_string())),
            Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                ended_early = true;
                break;
            }
            Err(e) => return Err(corrupt(e.to_string())),
        };
        let spec = *decoded.spec();
        sample_rate = Some(spec.rate);
        let n_ch = spec.channels.count();
        if channels.is_empty() {
            channels = vec![Vec::new(); n_ch];
        } else if channels.len() != n_ch {
            return Err(corrupt(
                "the channel count changes inside the stream".into(),
            ));
        }
        let buf = match &mut interleaved {
            Some(b) if b.capacity() >= decoded.capacity() * n_ch => b,
            _ => interleaved.insert(SampleBuffer::<f32>::new(decoded.capacity() as u64, spec)),
        };
        buf.copy_interleaved_ref(decoded);
        for frame in buf.samples().chunks_exact(n_ch) {
            for (c, &x) in frame.iter().enumerate() {
                channels[c].push(x);
            }
        }
    }
    let got = channels.first().map_or(0, |c| c.len()) as u64;
    if let Some(expected) = expected_frames {
        if got < expected {
            return Err(AudioError::Truncated {
                path: path.into(),
                expected,
                got,
            });
        }
    }
    if ended_early {
        return Err(corrupt("the stream ends inside a packet".into()));
    }
    if got == 0 {
        return Err(AudioError::Empty { path: path.into() });
    }
    let sample_rate = sample_rate.ok_or_else(|| unsupported("no sample rate".into()))?;
    Ok(Audio {
        sample_rate,
        channels,
    })
}

/// Writes `channels` as a 32-bit float WAV file. Written to a temporary name first and renamed,
/// so a failure never leaves a partial file behind.
pub fn write_wav(path: &Path, sample_rate: u32, channels: &[&[f32]]) -> Result<(), AudioError> {
    let werr = |reason: String| AudioError::Write {
        path: path.into(),
        reason,
    };
    let tmp = temp_path(path);
    let spec = hound::WavSpec {
        channels: channels.len() as u16,
        sample_rate,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let result = (|| {
        let mut w = hound::WavWriter::create(&tmp, spec)?;
        let n = channels.first().map_or(0, |c| c.len());
        for i in 0..n {
            for c in channels {
                w.write_sample(c[i])?;
            }
        }
        w.finalize()
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(werr(e.to_string()));
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        werr(e.to_string())
    })
}

/// `dir/.name.partial`: where outputs are written before being renamed into place.
pub fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.partial"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wav_round_trip_keeps_samples_and_rate() {
        let dir = std::env::temp_dir().join(format!("cochlea-audio-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("x.wav");
        let l: Vec<f32> = (0..1000).map(|i| (i as f32 * 0.01).sin() * 0.5).collect();
        let r: Vec<f32> = l.iter().map(|x| -x).collect();
        write_wav(&p, 22_050, &[&l, &r]).unwrap();
        let a = read_audio(&p).unwrap();
        assert_eq!(a.sample_rate, 22_050);
        assert_eq!(a.channels.len(), 2);
        assert_eq!(a.channels[0], l);
        assert_eq!(a.channels[1], r);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
