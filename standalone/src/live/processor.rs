//! The audio-thread side of `cochlea live`: the engine, preallocated buffers, and the ends of
//! the wait-free queues it talks through. Every method here runs inside an audio callback (or
//! the null backend's clock thread): it never allocates, locks, waits, logs or formats.
//! `tests/live_realtime.rs` checks that under `assert_no_alloc`.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use cochlea_engine::separation::{Stem, StemOutputs};
use cochlea_engine::Engine;

use super::meters::Meters;
use super::source::FileSource;

/// Where the engine's input comes from.
pub enum Input {
    /// A capture device: the callback hands its samples to [`Processor::capture`].
    Capture,
    /// A file, through its reader thread's ring.
    File(FileSource),
    /// Silence (the null backend without a file).
    Silence,
}

/// The engine on the audio thread.
pub struct Processor {
    engine: Engine,
    channels: usize,
    max_block: usize,
    ins: Vec<Vec<f32>>,
    outs: Vec<Vec<f32>>,
    meters: Arc<Meters>,
    input: Input,
    /// Engine output to the monitoring device (capture only), interleaved.
    monitor: Option<rtrb::Producer<f32>>,
    /// Stop after this many frames.
    limit: u64,
    position: u64,
    /// The stems of the current block, when the engine separates.
    stems: Option<StemOutputs>,
    /// The stem played instead of the mix, if any.
    heard: Option<Stem>,
}

impl Processor {
    /// Wraps `engine` (its channel count and maximum block size size the buffers). `limit`
    /// stops the stream after that many frames.
    pub fn new(
        engine: Engine,
        input: Input,
        monitor: Option<rtrb::Producer<f32>>,
        meters: Arc<Meters>,
        limit: Option<u64>,
    ) -> Self {
        let channels = engine.config().channels;
        let max_block = engine.config().max_block_size;
        let stems = engine
            .config()
            .separation
            .enabled
            .then(|| engine.make_stem_outputs());
        Self {
            engine,
            channels,
            max_block,
            ins: vec![vec![0.0; max_block]; channels],
            outs: vec![vec![0.0; max_block]; channels],
            meters,
            input,
            monitor,
            limit: limit.unwrap_or(u64::MAX),
            position: 0,
            stems,
            heard: None,
        }
    }

    /// Plays `stem` instead of the mix (the engine must separate: see
    /// [`SeparationConfig`](cochlea_engine::SeparationConfig)).
    pub fn hear(mut self, stem: Option<Stem>) -> Self {
        self.heard = stem.filter(|_| self.stems.is_some());
        self
    }

    /// Engine channels (1 or 2).
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Processes the first `n` frames of `self.ins` (n <= max_block).
    fn run_engine(&mut self, n: usize) -> usize {
        let n = n.min((self.limit - self.position) as usize);
        if n == 0 {
            self.meters.finished.store(true, Ordering::Relaxed);
            return 0;
        }
        let ins: [&[f32]; 2] = [&self.ins[0][..n], &self.ins[self.channels - 1][..n]];
        let (a, b) = self.outs.split_at_mut(1);
        let result = match (&mut self.stems, self.channels) {
            (Some(st), 2) => {
                self.engine
                    .process_stems(&ins, &mut [&mut a[0][..n], &mut b[0][..n]], st)
            }
            (Some(st), _) => self
                .engine
                .process_stems(&ins[..1], &mut [&mut a[0][..n]], st),
            (None, 2) => self
                .engine
                .process(&ins, &mut [&mut a[0][..n], &mut b[0][..n]]),
            (None, _) => self.engine.process(&ins[..1], &mut [&mut a[0][..n]]),
        };
        debug_assert!(result.is_ok(), "blocks are cut to the engine's maximum");
        if let Some(st) = &self.stems {
            for stem in Stem::ALL {
                let p = (0..self.channels)
                    .map(|c| peak(st.channel(stem, c)))
                    .fold(0.0, f32::max);
                self.meters.stems[stem as usize].hold(p);
            }
            if let Some(stem) = self.heard {
                for c in 0..self.channels {
                    self.outs[c][..n].copy_from_slice(st.channel(stem, c));
                }
            }
        }
        for c in 0..self.channels {
            self.meters.input[c].hold(peak(&self.ins[c][..n]));
        }
        self.position += n as u64;
        self.meters.position.store(self.position, Ordering::Relaxed);
        if self.position >= self.limit {
            self.meters.finished.store(true, Ordering::Relaxed);
        }
        n
    }

    /// Capture callback: `data` holds interleaved frames of `data_channels`. Engine mono takes
    /// the mean of the first two channels; engine stereo takes the first two (a mono device is
    /// doubled). The engine's output goes to the monitoring queue, if any (frames that do not
    /// fit are counted as overruns).
    pub fn capture(&mut self, data: &[f32], data_channels: usize) {
        let frames = data.len() / data_channels.max(1);
        let mut done = 0;
        while done < frames {
            let n = (frames - done).min(self.max_block);
            let from = &data[done * data_channels..(done + n) * data_channels];
            deinterleave(from, data_channels, &mut self.ins, n);
            let n = self.run_engine(n);
            if n == 0 {
                return;
            }
            if let Some(ring) = &mut self.monitor {
                let want = n * self.channels;
                let room = ring.slots().min(want) / self.channels;
                if let Ok(mut chunk) = ring.write_chunk(room * self.channels) {
                    let (x, y) = chunk.as_mut_slices();
                    for (i, s) in x.iter_mut().chain(y.iter_mut()).enumerate() {
                        *s = self.outs[i % self.channels][i / self.channels];
                    }
                    chunk.commit_all();
                }
                Meters::add(&self.meters.overruns, (n - room) as u64);
            }
            done += n;
        }
    }

    /// Takes up to `n` frames from the file (or silence) into `self.ins`. Returns the frames to
    /// process: `n`, or fewer at the end of the file (late data is replaced by silence and
    /// counted as an underrun).
    fn pull(&mut self, n: usize) -> usize {
        match &mut self.input {
            Input::File(src) => {
                let complete = src.complete();
                let got = src.take(&mut self.ins, n);
                if got < n {
                    if complete {
                        if got == 0 {
                            self.meters.finished.store(true, Ordering::Relaxed);
                        }
                        return got;
                    }
                    for c in self.ins.iter_mut() {
                        c[got..n].fill(0.0);
                    }
                    Meters::add(&self.meters.underruns, (n - got) as u64);
                }
                n
            }
            Input::Silence | Input::Capture => {
                for c in self.ins.iter_mut() {
                    c[..n].fill(0.0);
                }
                n
            }
        }
    }

    /// Output callback (a file or silence drives the stream): fills `out`, interleaved frames
    /// of `out_channels`, with the engine's output (or silence when `audible` is false, or
    /// after the end).
    pub fn render(&mut self, out: &mut [f32], out_channels: usize, audible: bool) {
        let frames = out.len() / out_channels.max(1);
        let mut done = 0;
        while done < frames {
            let want = (frames - done).min(self.max_block);
            let n = if self.position < self.limit {
                self.pull(want)
            } else {
                0
            };
            let n = if n > 0 { self.run_engine(n) } else { 0 };
            let dst = &mut out[done * out_channels..(done + want) * out_channels];
            if n == 0 {
                dst.fill(0.0);
                done += want;
                continue;
            }
            if audible {
                interleave(&self.outs, n, dst, out_channels);
                for c in 0..self.channels {
                    self.meters.output[c].hold(peak(&self.outs[c][..n]));
                }
            } else {
                dst[..n * out_channels].fill(0.0);
            }
            dst[n * out_channels..].fill(0.0);
            done += want;
        }
    }

    /// Null backend: processes up to `n` frames (at most the maximum block) from the file or
    /// silence, output discarded. Returns the frames processed; 0 when the stream is over.
    pub fn tick(&mut self, n: usize) -> usize {
        if self.position >= self.limit {
            self.meters.finished.store(true, Ordering::Relaxed);
            return 0;
        }
        let n = self.pull(n.min(self.max_block));
        if n == 0 {
            return 0;
        }
        let n = self.run_engine(n);
        for c in 0..self.channels {
            self.meters.output[c].hold(peak(&self.outs[c][..n]));
        }
        n
    }

    /// The file source, if any (the null backend looks at how much is ready).
    pub fn file(&self) -> Option<&FileSource> {
        match &self.input {
            Input::File(f) => Some(f),
            _ => None,
        }
    }
}

/// Plays the monitoring queue on the output device (capture with monitoring).
pub struct MonitorPlayer {
    ring: rtrb::Consumer<f32>,
    channels: usize,
    meters: Arc<Meters>,
}

impl MonitorPlayer {
    /// The output end of a monitoring queue carrying `channels` interleaved.
    pub fn new(ring: rtrb::Consumer<f32>, channels: usize, meters: Arc<Meters>) -> Self {
        Self {
            ring,
            channels,
            meters,
        }
    }

    /// Output callback: fills `out` (interleaved frames of `out_channels`); missing frames are
    /// silence and counted as underruns.
    pub fn render(&mut self, out: &mut [f32], out_channels: usize) {
        let frames = out.len() / out_channels.max(1);
        let have = (self.ring.slots() / self.channels).min(frames);
        if let Ok(chunk) = self.ring.read_chunk(have * self.channels) {
            let (a, b) = chunk.as_slices();
            let ch = self.channels;
            let mut it = a.iter().chain(b.iter());
            for frame in out[..have * out_channels].chunks_exact_mut(out_channels) {
                let l = *it.next().unwrap_or(&0.0);
                let r = if ch == 2 {
                    *it.next().unwrap_or(&0.0)
                } else {
                    l
                };
                self.meters.output[0].hold(l);
                self.meters.output[ch - 1].hold(r);
                write_frame(frame, l, r, ch);
            }
            chunk.commit_all();
        }
        out[have * out_channels..].fill(0.0);
        Meters::add(&self.meters.underruns, (frames - have) as u64);
    }
}

fn peak(x: &[f32]) -> f32 {
    x.iter().fold(0.0f32, |m, v| m.max(v.abs()))
}

/// One output frame from an engine frame `(l, r)` (`r == l` for mono): a mono device gets the
/// mean, a stereo or wider device gets left and right on its first two channels.
#[inline]
fn write_frame(frame: &mut [f32], l: f32, r: f32, engine_channels: usize) {
    match frame.len() {
        1 => {
            frame[0] = if engine_channels == 2 {
                0.5 * (l + r)
            } else {
                l
            }
        }
        _ => {
            frame[0] = l;
            frame[1] = r;
            frame[2..].fill(0.0);
        }
    }
}

/// Planar engine output (`n` frames) to interleaved device frames.
fn interleave(src: &[Vec<f32>], n: usize, dst: &mut [f32], dst_channels: usize) {
    let ch = src.len();
    for (i, frame) in dst[..n * dst_channels]
        .chunks_exact_mut(dst_channels)
        .enumerate()
    {
        write_frame(frame, src[0][i], src[ch - 1][i], ch);
    }
}

/// Interleaved device frames (`n` of them) to planar engine input.
fn deinterleave(src: &[f32], src_channels: usize, dst: &mut [Vec<f32>], n: usize) {
    let engine_channels = dst.len();
    for (i, frame) in src.chunks_exact(src_channels).take(n).enumerate() {
        let l = frame[0];
        let r = if src_channels > 1 { frame[1] } else { l };
        if engine_channels == 2 {
            dst[0][i] = l;
            dst[1][i] = r;
        } else {
            dst[0][i] = 0.5 * (l + r);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_layouts_map_onto_the_engine_and_back() {
        let mut dst = vec![vec![0.0; 2]; 1];
        deinterleave(&[1.0, 0.0, 7.0, 0.5, 0.5, 7.0], 3, &mut dst, 2);
        assert_eq!(dst[0], [0.5, 0.5]);
        let mut out = [9.0f32; 6];
        interleave(&[vec![0.25, 0.5]], 2, &mut out, 3);
        assert_eq!(out, [0.25, 0.25, 0.0, 0.5, 0.5, 0.0]);
        let mut out = [9.0f32; 2];
        interleave(&[vec![1.0, 1.0], vec![0.0, 0.5]], 2, &mut out, 1);
        assert_eq!(out, [0.5, 0.75]);
    }
}
