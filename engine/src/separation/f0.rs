//! The melody's fundamental for the comb, from the engine's predominant-pitch tracker
//! ([`PredominantPitch`]): the tracker runs on the mono mix every second separation hop, its
//! frames are kept in a small ring by the instant they describe, and the separator asks for the
//! frame nearest to each of its own frames' instants.

use crate::framer::{History, Hopper};
use crate::melody::{MelodyConfig, MelodyFrame, PredominantPitch};

/// Melody frames kept for lookup (the separator needs one a few hops old).
const RING: usize = 64;

pub(crate) struct MelodyStage {
    tracker: PredominantPitch,
    hopper: Hopper,
    hop: usize,
    delay: usize,
    /// Samples after its hop's end that each frame is computed (see [`MelodyStage::defer`]).
    offset: usize,
    /// The newest `hop + offset` samples at a boundary.
    buf: Vec<f32>,
    ring: [MelodyFrame; RING],
    /// Frames produced so far.
    frames: u64,
}

impl MelodyStage {
    pub(crate) fn new(sample_rate: f64, hop: usize, config: &MelodyConfig) -> Self {
        let tracker = PredominantPitch::new(sample_rate as u32, hop, config);
        Self {
            delay: tracker.delay_samples(),
            tracker,
            hopper: Hopper::new(hop),
            hop,
            offset: 0,
            buf: vec![0.0; hop],
            ring: [MelodyFrame::default(); RING],
            frames: 0,
        }
    }

    /// How far behind the pushed audio a frame's instant lies, samples.
    pub(crate) fn delay_samples(&self) -> usize {
        self.delay
    }

    pub(crate) fn hop(&self) -> usize {
        self.hop
    }

    /// Computes each frame `offset` samples (`0..hop`) after its hop has ended, on the same
    /// samples, so the frames are the same, only ready later: the engine staggers the tracker
    /// half a hop away from the separator's frames, so that no block has to do both (the
    /// worst block is what a real-time host feels). Allocates: call at construction.
    pub(crate) fn defer(&mut self, offset: usize) {
        debug_assert!(offset < self.hop);
        self.offset = offset;
        self.buf = vec![0.0; self.hop + offset];
        self.hopper = Hopper::with_first(self.hop, self.hop + offset);
    }

    /// Samples of the engine's history it reads at a boundary.
    pub(crate) fn history_len(&self) -> usize {
        self.hop + self.offset
    }

    pub(crate) fn until_next(&self) -> usize {
        self.hopper.until_next()
    }

    /// Advances by `n` samples (already in `history`); on a hop boundary, runs the tracker and
    /// returns the new frame with the stream position it describes (`None` for frames that
    /// would describe a position before the stream began).
    pub(crate) fn advance(&mut self, n: usize, history: &History) -> Option<(u64, MelodyFrame)> {
        if !self.hopper.advance(n) {
            return None;
        }
        history.copy_latest(&mut self.buf);
        let frame = self.tracker.push_hop(&self.buf[..self.hop]);
        let m = self.frames;
        self.ring[(m % RING as u64) as usize] = frame;
        self.frames += 1;
        let end = (m + 1) * self.hop as u64;
        end.checked_sub(self.delay as u64).map(|at| (at, frame))
    }

    /// The f0 (Hz, 0 when unvoiced or unknown) of the frame whose instant is nearest to
    /// `instant`, among those kept.
    pub(crate) fn f0_at(&self, instant: u64) -> f32 {
        // Frame m describes (m + 1) * hop - delay.
        let m = ((instant + self.delay as u64) as f64 / self.hop as f64).round() as i64 - 1;
        let newest = self.frames as i64 - 1;
        let m = m.min(newest);
        if m < 0 || newest - m >= RING as i64 {
            return 0.0;
        }
        let f = self.ring[(m as u64 % RING as u64) as usize];
        if f.voiced {
            f.f0_hz
        } else {
            0.0
        }
    }

    pub(crate) fn reset(&mut self) {
        self.tracker.reset();
        self.hopper.reset();
        self.ring = [MelodyFrame::default(); RING];
        self.frames = 0;
    }
}
