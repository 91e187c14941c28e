//! High-frequency content (Masri 1996): the power spectrum weighted by frequency, which favours
//! the broadband energy of percussive attacks. As a detection function Cochlea uses its rise: the
//! half-wave rectified difference of its logarithm against the frame `diff_frames` back, so that a
//! sound whose level is still building does not fire again and again, and so that the threshold
//! is a ratio, independent of the input level.

/// HFC values below this count as silence (about -100 dB re a full-scale sine).
const FLOOR: f32 = 1e-10;

pub(crate) struct Hfc {
    past: Vec<f32>,
    newest: usize,
}

impl Hfc {
    pub(crate) fn new(diff_frames: usize) -> Self {
        Self {
            past: vec![FLOOR.ln(); diff_frames.max(1) + 1],
            newest: 0,
        }
    }

    pub(crate) fn reset(&mut self) {
        self.past.fill(FLOOR.ln());
        self.newest = 0;
    }

    pub(crate) fn process(&mut self, magnitude: &[f32]) -> f32 {
        let n = magnitude.len() as f32;
        let hfc: f32 = magnitude
            .iter()
            .enumerate()
            .map(|(k, m)| (k as f32 / n) * m * m)
            .sum();
        let level = (hfc + FLOOR).ln();
        let slots = self.past.len();
        self.newest = (self.newest + 1) % slots;
        self.past[self.newest] = level;
        (level - self.past[(self.newest + 1) % slots]).max(0.0)
    }
}
