//! Continuity tracking: an online Viterbi decoder over each frame's salience candidates with a
//! transition cost in cents, decided with a fixed lag (the frame `lag` hops back, given what has
//! been heard since).
//!
//! Scores are log-domain. A candidate's emission score is `evidence * ln(S / S_max)` (its
//! salience against the frame's strongest), with `evidence` proportional to the hop so that the
//! weight of evidence per second does not depend on the hop. A move between candidates costs
//! `jump_cost` per semitone up to an octave and a fixed `leap_cost` beyond; moves within
//! `free_cents` (vibrato, glides) are free. An octave error therefore has to outweigh a whole
//! octave of cost before the path follows it, while a new note of similar salience wins after a
//! few frames.

use super::salience::Candidate;

/// Marks "no predecessor" in the back-pointer ring.
const NONE: u16 = u16::MAX;

/// Settings of the tracker, resolved to frames.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TrackSettings {
    /// Candidates per frame.
    pub(crate) max_candidates: usize,
    /// Fixed lag, frames.
    pub(crate) lag: usize,
    /// Weight of a frame's emission score.
    pub(crate) evidence: f32,
    /// Cost per semitone of a move.
    pub(crate) jump_cost: f32,
    /// Moves up to this many cents are free.
    pub(crate) free_cents: f32,
}

/// The fixed-lag decoder; rings of `lag + 1` frames allocated in [`Tracker::new`].
pub(crate) struct Tracker {
    s: TrackSettings,
    /// Candidates per ring slot (`max_candidates` each) and how many are valid.
    cands: Vec<Candidate>,
    counts: Vec<usize>,
    /// Back pointers per ring slot.
    back: Vec<u16>,
    /// Path scores per ring slot (normalised so the best is 0).
    scores: Vec<f32>,
    /// Slot of the newest frame.
    head: usize,
}

impl Tracker {
    pub(crate) fn new(s: TrackSettings) -> Self {
        let slots = s.lag + 1;
        let k = s.max_candidates;
        Self {
            s,
            cands: vec![Candidate::default(); slots * k],
            counts: vec![0; slots],
            back: vec![NONE; slots * k],
            scores: vec![0.0; slots * k],
            head: 0,
        }
    }

    pub(crate) fn reset(&mut self) {
        self.cands.fill(Candidate::default());
        self.counts.fill(0);
        self.back.fill(NONE);
        self.scores.fill(0.0);
        self.head = 0;
    }

    fn transition(&self, from: f32, to: f32) -> f32 {
        let d = (from - to).abs();
        if d <= self.s.free_cents {
            0.0
        } else {
            self.s.jump_cost * ((d - self.s.free_cents) / 100.0).min(12.0)
        }
    }

    /// Adds a frame's candidates (strongest first) and returns the decided candidate of the
    /// frame `lag` frames back, if that frame had any.
    pub(crate) fn push(&mut self, frame: &[Candidate]) -> Option<Candidate> {
        let k = self.s.max_candidates;
        let slots = self.s.lag + 1;
        let prev = self.head;
        let cur = (self.head + 1) % slots;
        let n = frame.len().min(k);
        let np = self.counts[prev];
        let smax = frame
            .first()
            .map_or(0.0, |c| c.salience)
            .max(f32::MIN_POSITIVE);
        let mut best = f32::NEG_INFINITY;
        for (i, c) in frame.iter().take(n).enumerate() {
            let emit = self.s.evidence * (c.salience.max(f32::MIN_POSITIVE) / smax).ln();
            let (mut arg, mut top) = (NONE, 0.0f32);
            if np > 0 {
                top = f32::NEG_INFINITY;
                for j in 0..np {
                    let p = &self.cands[prev * k + j];
                    let s = self.scores[prev * k + j] - self.transition(p.cents, c.cents);
                    if s > top {
                        top = s;
                        arg = j as u16;
                    }
                }
            }
            let s = top + emit;
            self.cands[cur * k + i] = *c;
            self.back[cur * k + i] = arg;
            self.scores[cur * k + i] = s;
            best = best.max(s);
        }
        for i in 0..n {
            self.scores[cur * k + i] -= best;
        }
        self.counts[cur] = n;
        self.head = cur;
        // Back-track `lag` frames from the best current candidate.
        let mut slot = cur;
        let mut idx = self.argmax(cur);
        for _ in 0..self.s.lag {
            let b = idx.map_or(NONE, |i| self.back[slot * k + i]);
            slot = (slot + slots - 1) % slots;
            idx = if b == NONE {
                self.argmax(slot)
            } else {
                Some(b as usize)
            };
        }
        idx.map(|i| self.cands[slot * k + i])
    }

    fn argmax(&self, slot: usize) -> Option<usize> {
        let k = self.s.max_candidates;
        (0..self.counts[slot])
            .max_by(|&a, &b| self.scores[slot * k + a].total_cmp(&self.scores[slot * k + b]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(cents: f32, salience: f32) -> Candidate {
        Candidate { cents, salience }
    }

    #[test]
    fn a_short_strong_octave_blip_does_not_move_the_path() {
        let mut t = Tracker::new(TrackSettings {
            max_candidates: 4,
            lag: 3,
            evidence: 1.0,
            jump_cost: 0.5,
            free_cents: 30.0,
        });
        let mut out = Vec::new();
        for i in 0..20 {
            let frame = if i == 10 {
                [c(2400.0, 1.0), c(1200.0, 0.8)]
            } else {
                [c(1200.0, 1.0), c(2400.0, 0.5)]
            };
            out.push(t.push(&frame));
        }
        for o in &out[3..] {
            assert_eq!(o.unwrap().cents, 1200.0);
        }
    }
}
