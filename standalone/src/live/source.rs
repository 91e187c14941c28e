//! `--input-file`: a reader thread decodes the file ahead of the audio thread into a wait-free
//! ring ([`rtrb`]); the audio thread takes frames from it without ever waiting. If the reader
//! falls behind, the audio thread plays silence and counts an underrun. When the reader has
//! handed over the whole file it drops its end of the ring, which is how the audio thread knows
//! the file is over.

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::audio::{AudioError, AudioReader};

/// The audio thread's end: interleaved frames of the engine's channel count.
pub struct FileSource {
    ring: rtrb::Consumer<f32>,
    channels: usize,
}

/// What the reader thread reports.
pub type SourceError = Arc<Mutex<Option<AudioError>>>;

impl FileSource {
    /// Frames ready to be taken.
    pub fn available(&self) -> usize {
        self.ring.slots() / self.channels
    }

    /// True once the reader has handed over everything it will (check it *before* taking
    /// frames: then fewer frames than asked means the end of the file).
    pub fn complete(&self) -> bool {
        self.ring.is_abandoned()
    }

    /// Moves up to `frames` frames into `dst` (planar, one buffer per engine channel, each at
    /// least `frames` long); returns how many. Wait-free, no allocation.
    pub fn take(&mut self, dst: &mut [Vec<f32>], frames: usize) -> usize {
        let n = self.available().min(frames);
        if n == 0 {
            return 0;
        }
        let Ok(chunk) = self.ring.read_chunk(n * self.channels) else {
            return 0;
        };
        let (a, b) = chunk.as_slices();
        let ch = self.channels;
        for (i, &x) in a.iter().chain(b.iter()).enumerate() {
            dst[i % ch][i / ch] = x;
        }
        chunk.commit_all();
        n
    }
}

/// Starts a thread that decodes `reader` into a ring of `capacity_frames`, mixed to `channels`
/// (1: the mean of all channels; 2: stereo as is, mono doubled). Reading errors are stored in
/// the returned slot before the ring is closed.
pub fn spawn(
    mut reader: AudioReader,
    channels: usize,
    capacity_frames: usize,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> (FileSource, SourceError, JoinHandle<()>) {
    let (mut producer, consumer) = rtrb::RingBuffer::new(capacity_frames * channels);
    let error: SourceError = Arc::new(Mutex::new(None));
    let slot = error.clone();
    let handle = std::thread::Builder::new()
        .name("cochlea-file-reader".into())
        .spawn(move || {
            let file_channels = reader.channels();
            let mut planar = vec![Vec::new(); file_channels];
            let mut interleaved: Vec<f32> = Vec::new();
            loop {
                let n = match reader.read(&mut planar, 4096) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) => {
                        *slot.lock().unwrap() = Some(e);
                        break;
                    }
                };
                interleaved.clear();
                for i in 0..n {
                    match (channels, file_channels) {
                        (1, fc) => {
                            let s: f32 = planar.iter().map(|c| c[i]).sum();
                            interleaved.push(s / fc as f32);
                        }
                        (_, 1) => {
                            interleaved.push(planar[0][i]);
                            interleaved.push(planar[0][i]);
                        }
                        _ => {
                            interleaved.push(planar[0][i]);
                            interleaved.push(planar[1][i]);
                        }
                    }
                }
                let mut rest = interleaved.as_slice();
                while !rest.is_empty() {
                    if stop.load(std::sync::atomic::Ordering::Relaxed) {
                        return;
                    }
                    let (_, left) = producer.push_partial_slice(rest);
                    rest = left;
                    if !rest.is_empty() {
                        std::thread::sleep(std::time::Duration::from_millis(2));
                    }
                }
            }
            // Dropping the producer closes the ring: the audio thread sees the end.
        })
        .expect("spawn the file reader thread");
    (
        FileSource {
            ring: consumer,
            channels,
        },
        error,
        handle,
    )
}
