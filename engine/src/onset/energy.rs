//! Energy onset detection (Klapuri 1999): the rise of log energy against the frame `diff_frames`
//! back, half-wave rectified, so it is a relative change and independent of the input level.

/// Energies below this (about -100 dBFS) count as silence, so that noise near the floor does not
/// produce large log ratios.
const FLOOR: f32 = 1e-10;

pub(crate) struct Energy {
    past: Vec<f32>,
    newest: usize,
}

impl Energy {
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
        let e: f32 = magnitude.iter().map(|m| m * m).sum();
        let level = (e + FLOOR).ln();
        let n = self.past.len();
        self.newest = (self.newest + 1) % n;
        self.past[self.newest] = level;
        let reference = self.past[(self.newest + 1) % n];
        (level - reference).max(0.0)
    }
}
