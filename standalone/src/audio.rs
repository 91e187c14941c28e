//! Reading and writing audio files. Decoding goes through symphonia (WAV, FLAC, MP3, Ogg Vorbis),
//! writing through hound (WAV). Every failure names the file and what is wrong with it.

use std::fs::File;
use std::path::{Path, PathBuf};

use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{Decoder, DecoderOptions, CODEC_TYPE_NULL};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::{FormatOptions, FormatReader};
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
    /// The file is zero bytes long.
    #[error("{path}: the file is empty (0 bytes)")]
    EmptyFile {
        /// The file.
        path: PathBuf,
    },
    /// The file is a valid audio file holding no audio frames.
    #[error("{path}: contains no audio (0 frames)")]
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

impl AudioError {
    /// The exit code for this error: [`exit::OUTPUT`](crate::exit::OUTPUT) for writing,
    /// [`exit::INPUT`](crate::exit::INPUT) for everything else.
    pub fn exit_code(&self) -> i32 {
        match self {
            AudioError::Write { .. } => crate::exit::OUTPUT,
            _ => crate::exit::INPUT,
        }
    }
}

/// Streaming decoder: opens a file, then hands out its audio a block at a time, so memory does
/// not grow with the file. Every failure names the file and what is wrong with it; truncation
/// (fewer frames than the header announces) is reported by the read that reaches the end.
///
/// ```no_run
/// use cochlea::audio::AudioReader;
/// let mut reader = AudioReader::open("song.flac".as_ref())?;
/// let mut block = vec![Vec::new(); reader.channels()];
/// while reader.read(&mut block, 4096)? > 0 {
///     // block[c] holds the next frames of channel c
/// }
/// # Ok::<(), cochlea::audio::AudioError>(())
/// ```
pub struct AudioReader {
    path: PathBuf,
    format: Box<dyn FormatReader>,
    decoder: Box<dyn Decoder>,
    track_id: u32,
    sample_rate: u32,
    channels: usize,
    expected_frames: Option<u64>,
    buffer: Option<SampleBuffer<f32>>,
    /// Decoded interleaved samples not yet handed out, from `pending_at` on.
    pending: Vec<f32>,
    pending_at: usize,
    frames_read: u64,
    finished: bool,
}

impl AudioReader {
    /// Opens and probes `path` and decodes its first packet (so the stream format is known and
    /// a file without audio is refused here).
    pub fn open(path: &Path) -> Result<Self, AudioError> {
        let file = File::open(path).map_err(|source| AudioError::Io {
            path: path.into(),
            source,
        })?;
        let meta = file.metadata().map_err(|source| AudioError::Io {
            path: path.into(),
            source,
        })?;
        if meta.is_dir() {
            return Err(AudioError::Io {
                path: path.into(),
                source: std::io::Error::other("it is a folder"),
            });
        }
        if meta.len() == 0 {
            return Err(AudioError::EmptyFile { path: path.into() });
        }
        let mss = MediaSourceStream::new(Box::new(file), Default::default());
        let mut hint = Hint::new();
        if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
            hint.with_extension(ext);
        }
        let kind = sniff(path);
        // Gapless: encoder delay and padding (MP3, Vorbis) are trimmed, so times in the decoded
        // audio are times in the original.
        let options = FormatOptions {
            enable_gapless: true,
            ..FormatOptions::default()
        };
        let probed = symphonia::default::get_probe()
            .format(&hint, mss, &options, &MetadataOptions::default())
            .map_err(|e| match e {
                SymError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => match kind
                {
                    Some(Sniffed::Readable(format)) => {
                        corrupt(path, format!("a {format} file that ends inside its header"))
                    }
                    Some(Sniffed::Other(format)) => unsupported(path, format!("{format} file")),
                    None => unsupported(path, "not an audio format Cochlea knows".into()),
                },
                SymError::Unsupported(_) if matches!(kind, Some(Sniffed::Other(_))) => {
                    let Some(Sniffed::Other(format)) = kind else {
                        unreachable!()
                    };
                    unsupported(path, format!("{format} file"))
                }
                SymError::Unsupported(_) if kind.is_none() => {
                    unsupported(path, "not an audio format Cochlea knows".into())
                }
                SymError::IoError(e) => AudioError::Io {
                    path: path.into(),
                    source: e,
                },
                SymError::DecodeError(reason) => corrupt(path, reason.into()),
                other => unsupported(path, other.to_string()),
            })?;
        let format = probed.format;
        let track = format
            .tracks()
            .iter()
            .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
            .ok_or_else(|| unsupported(path, "no audio track".into()))?;
        let track_id = track.id;
        let expected_frames = track.codec_params.n_frames;
        let sample_rate = track.codec_params.sample_rate.unwrap_or(0);
        let channels = track.codec_params.channels.map_or(0, |c| c.count());
        let decoder = symphonia::default::get_codecs()
            .make(&track.codec_params, &DecoderOptions::default())
            .map_err(|e| match e {
                SymError::Unsupported(_) => {
                    unsupported(path, "an audio codec Cochlea does not decode".into())
                }
                e => unsupported(path, e.to_string()),
            })?;
        let mut reader = AudioReader {
            path: path.into(),
            format,
            decoder,
            track_id,
            sample_rate,
            channels,
            expected_frames,
            buffer: None,
            pending: Vec::new(),
            pending_at: 0,
            frames_read: 0,
            finished: false,
        };
        if !reader.decode_next()? {
            reader.check_end()?;
            return Err(AudioError::Empty { path: path.into() });
        }
        if reader.sample_rate == 0 {
            return Err(unsupported(path, "no sample rate".into()));
        }
        Ok(reader)
    }

    /// The file this reader decodes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Sample rate in Hz.
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// Channels in the file.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Frames the header announces, if it says.
    pub fn frames_hint(&self) -> Option<u64> {
        self.expected_frames
    }

    /// Frames handed out so far.
    pub fn frames_read(&self) -> u64 {
        self.frames_read
    }

    /// Replaces the contents of `out` (one `Vec` per channel, [`channels`](Self::channels) of
    /// them) with the next frames, at most `max_frames`. Returns how many; 0 at the end.
    pub fn read(&mut self, out: &mut [Vec<f32>], max_frames: usize) -> Result<usize, AudioError> {
        assert_eq!(out.len(), self.channels, "one buffer per channel");
        for c in out.iter_mut() {
            c.clear();
        }
        let mut got = 0;
        while got < max_frames {
            if self.pending_at >= self.pending.len() && !self.decode_next()? {
                self.check_end()?;
                break;
            }
            let avail = (self.pending.len() - self.pending_at) / self.channels;
            let take = avail.min(max_frames - got);
            let from = &self.pending[self.pending_at..self.pending_at + take * self.channels];
            for frame in from.chunks_exact(self.channels) {
                for (c, &x) in frame.iter().enumerate() {
                    out[c].push(x);
                }
            }
            self.pending_at += take * self.channels;
            self.frames_read += take as u64;
            got += take;
        }
        Ok(got)
    }

    /// Decodes packets until one yields audio; false at the end of the stream.
    fn decode_next(&mut self) -> Result<bool, AudioError> {
        if self.finished {
            return Ok(false);
        }
        let path = self.path.as_path();
        loop {
            let packet = match self.format.next_packet() {
                Ok(p) => p,
                Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    self.finished = true;
                    return Ok(false);
                }
                Err(SymError::ResetRequired) => {
                    self.finished = true;
                    return Ok(false);
                }
                Err(SymError::IoError(e)) => {
                    return Err(AudioError::Io {
                        path: path.into(),
                        source: e,
                    })
                }
                Err(e) => return Err(corrupt(path, e.to_string())),
            };
            if packet.track_id() != self.track_id {
                continue;
            }
            let decoded = match self.decoder.decode(&packet) {
                Ok(d) => d,
                Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    return Err(corrupt(path, "the stream ends inside a packet".into()));
                }
                Err(e) => return Err(corrupt(path, e.to_string())),
            };
            if decoded.frames() == 0 {
                continue;
            }
            let spec = *decoded.spec();
            let n_ch = spec.channels.count();
            if n_ch == 0 {
                return Err(corrupt(path, "a packet has no channels".into()));
            }
            if self.buffer.is_none() {
                // The first packet with audio fixes the stream format.
                self.channels = n_ch;
                self.sample_rate = spec.rate;
            } else if n_ch != self.channels {
                return Err(corrupt(
                    path,
                    "the channel count changes inside the stream".into(),
                ));
            }
            let buf = match &mut self.buffer {
                Some(b) if b.capacity() >= decoded.capacity() * n_ch => b,
                _ => self
                    .buffer
                    .insert(SampleBuffer::<f32>::new(decoded.capacity() as u64, spec)),
            };
            buf.copy_interleaved_ref(decoded);
            self.pending.clear();
            self.pending.extend_from_slice(buf.samples());
            self.pending_at = 0;
            return Ok(true);
        }
    }

    /// At the end of the stream: fewer frames than announced is truncation.
    fn check_end(&self) -> Result<(), AudioError> {
        match self.expected_frames {
            Some(expected) if self.frames_read < expected => Err(AudioError::Truncated {
                path: self.path.clone(),
                expected,
                got: self.frames_read,
            }),
            _ => Ok(()),
        }
    }
}

/// What the first bytes of a file say it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sniffed {
    /// A format Cochlea reads.
    Readable(&'static str),
    /// A known audio format Cochlea does not read.
    Other(&'static str),
}

/// Looks at the magic bytes, to tell a damaged file of a known format from a file of a format
/// Cochlea does not read.
fn sniff(path: &Path) -> Option<Sniffed> {
    use std::io::Read;
    let mut head = [0u8; 12];
    let mut f = File::open(path).ok()?;
    let n = f.read(&mut head).ok()?;
    let h = &head[..n];
    let at = |i: usize, magic: &[u8]| h.len() >= i + magic.len() && &h[i..i + magic.len()] == magic;
    Some(if at(0, b"RIFF") || at(0, b"RIFX") || at(0, b"RF64") {
        if at(8, b"WAVE") {
            Sniffed::Readable("WAV")
        } else {
            Sniffed::Other("RIFF (not WAVE)")
        }
    } else if at(0, b"fLaC") {
        Sniffed::Readable("FLAC")
    } else if at(0, b"OggS") {
        Sniffed::Readable("Ogg")
    } else if at(0, b"ID3") || (h.len() >= 2 && h[0] == 0xFF && h[1] & 0xE0 == 0xE0) {
        Sniffed::Readable("MP3")
    } else if at(0, b"FORM") && (at(8, b"AIFF") || at(8, b"AIFC")) {
        Sniffed::Other("AIFF")
    } else if at(4, b"ftyp") {
        Sniffed::Other("MP4/M4A")
    } else if at(0, b"caff") {
        Sniffed::Other("CAF")
    } else if at(0, b"wvpk") {
        Sniffed::Other("WavPack")
    } else if at(0, b"MAC ") {
        Sniffed::Other("Monkey's Audio")
    } else {
        return None;
    })
}

fn unsupported(path: &Path, reason: String) -> AudioError {
    AudioError::Unsupported {
        path: path.into(),
        reason,
    }
}

fn corrupt(path: &Path, reason: String) -> AudioError {
    AudioError::Corrupt {
        path: path.into(),
        reason,
    }
}

/// Decodes a whole file to `f32` samples in -1..1 (convenient; for long files prefer
/// [`AudioReader`], which streams).
pub fn read_audio(path: &Path) -> Result<Audio, AudioError> {
    let mut reader = AudioReader::open(path)?;
    let mut channels = vec![Vec::new(); reader.channels()];
    if let Some(n) = reader.frames_hint() {
        for c in &mut channels {
            c.reserve(n as usize);
        }
    }
    let mut block = vec![Vec::new(); reader.channels()];
    while reader.read(&mut block, 1 << 16)? > 0 {
        for (c, b) in channels.iter_mut().zip(&block) {
            c.extend_from_slice(b);
        }
    }
    Ok(Audio {
        sample_rate: reader.sample_rate(),
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
