//! Note tracking: the pitch tracker's frames and the onset detector's onsets become MIDI-style
//! [`NoteOn`](crate::Event::NoteOn) / [`NoteOff`](crate::Event::NoteOff) events.
//!
//! # Rules
//! - A note *candidate* opens when a voiced frame's pitch is not the sounding note's (more than
//!   the stability tolerance away from its semitone), or at an onset. The candidate is the
//!   nearest semitone of its first frame; it is confirmed, and becomes a note, once the pitch has
//!   stayed within the stability tolerance of that semitone for the minimum note length. A
//!   candidate whose pitch strays restarts from the straying frame; unvoiced frames drop it.
//! - So a new note starts after silence, at a legato pitch change (no onset needed), and at an
//!   onset while a note sounds (a retrigger, also on the same pitch), provided the pitch then
//!   holds for the minimum note length.
//! - A note starts at the onset that opened it (or the nearest onset within
//!   [`ONSET_ATTACH_S`] before its first frame); with no onset, at its first frame. The note it
//!   replaces ends there.
//! - A note ends when voicing has stopped for [`OFF_HOLD_S`]; its `NoteOff` is stamped at the
//!   first unvoiced frame.
//! - Velocity follows the loudest frame among the candidate's frames: 127 at -6 dBFS (mean
//!   square), falling 40 dB per decade of velocity (MIDI's usual velocity-to-level curve), at
//!   least 1.
//! - [`Engine::finish`](crate::Engine::finish) and [`Engine::reset`](crate::Engine::reset)
//!   close a sounding note, so every `NoteOn` gets its `NoteOff`.
//!
//! # Latency
//! A `NoteOn` is emitted once the note is confirmed: the pitch latency plus the minimum note
//! length (rounded up to whole pitch hops) after the note's first frame; this is
//! [`Output::Notes`](crate::Output::Notes)'s latency. A `NoteOff` follows the first unvoiced
//! frame by the pitch latency plus [`OFF_HOLD_S`].

use crate::event::{Event, EventSender};
use crate::params::NotesParams;
use crate::pitch::PitchFrame;

/// Voicing must stop for this long (seconds) before a note ends: bridges brief dropouts.
pub const OFF_HOLD_S: f64 = 0.02;
/// An onset up to this long (seconds) before a candidate's first voiced frame opens that note.
pub const ONSET_ATTACH_S: f64 = 0.05;
/// Onsets less than this (seconds) after the start of the sounding note do not retrigger it.
const RETRIGGER_GUARD_S: f64 = 0.05;
/// Onsets waiting for the pitch frames that cover them.
const MAX_PENDING_ONSETS: usize = 64;

/// A note being confirmed.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Candidate {
    note: u8,
    /// Where the note will be stamped.
    start: u64,
    /// First frame of the candidate.
    first_frame: u64,
    frames: u32,
    peak_db: f32,
}

/// The note stage.
pub(crate) struct NoteTracker {
    hop: u64,
    sample_rate: f64,
    /// Onset positions not yet consumed, oldest first (a ring).
    onsets: [u64; MAX_PENDING_ONSETS],
    onset_head: usize,
    onset_len: usize,
    /// The latest onset consumed (at or before the current frame).
    last_onset: Option<u64>,
    /// The sounding note and where it started.
    sounding: Option<(u8, u64)>,
    candidate: Option<Candidate>,
    /// First unvoiced frame of the current unvoiced run, and its length in frames.
    unvoiced_since: Option<u64>,
    unvoiced_frames: u32,
    /// Sample just after the last frame seen (for closing notes).
    last_end: u64,
}

/// Nearest MIDI note number (fractional) of `f0` Hz.
fn midi_of(f0: f32) -> f32 {
    69.0 + 12.0 * (f0 / 440.0).log2()
}

impl NoteTracker {
    pub(crate) fn new(pitch_hop: usize, sample_rate: f64) -> Self {
        Self {
            hop: pitch_hop as u64,
            sample_rate,
            onsets: [0; MAX_PENDING_ONSETS],
            onset_head: 0,
            onset_len: 0,
            last_onset: None,
            sounding: None,
            candidate: None,
            unvoiced_since: None,
            unvoiced_frames: 0,
            last_end: 0,
        }
    }

    fn frames_of(&self, seconds: f64) -> u32 {
        (seconds * self.sample_rate / self.hop as f64).ceil().max(1.0) as u32
    }

    /// Extra latency over the pitch frames for a minimum note length of `min_note_s`.
    pub(crate) fn latency_samples(&self, min_note_s: f32) -> usize {
        self.frames_of(min_note_s as f64) as usize * self.hop as usize
    }

    /// An onset was detected at `sample`.
    pub(crate) fn onset(&mut self, sample: u64) {
        if self.onset_len == MAX_PENDING_ONSETS {
            // Far more onsets than pitch frames can consume: forget the oldest.
            self.onset_head = (self.onset_head + 1) % MAX_PENDING_ONSETS;
            self.onset_len -= 1;
        }
        self.onsets[(self.onset_head + self.onset_len) % MAX_PENDING_ONSETS] = sample;
        self.onset_len += 1;
    }

    /// The note sounding now, if any.
    #[cfg(test)]
    pub(crate) fn sounding(&self) -> Option<u8> {
        self.sounding.map(|s| s.0)
    }

    /// Ends the sounding note (if any) at `sample`.
    fn note_off(&mut self, sample: u64, events: &mut EventSender) {
        if let Some((note, start)) = self.sounding.take() {
            events.send(Event::NoteOff {
                sample: sample.max(start),
                midi_note: note,
            });
        }
    }

    /// Closes the sounding note at the end of the last frame seen and forgets candidates and
    /// pending onsets (end of stream, or before a reset).
    pub(crate) fn close(&mut self, events: &mut EventSender) {
        let end = self.unvoiced_since.unwrap_or(self.last_end);
        self.note_off(end, events);
        self.candidate = None;
    }

    pub(crate) fn reset(&mut self) {
        self.onset_head = 0;
        self.onset_len = 0;
        self.last_onset = None;
        self.sounding = None;
        self.candidate = None;
        self.unvoiced_since = None;
        self.unvoiced_frames = 0;
        self.last_end = 0;
    }

    /// Velocity of a note whose loudest frame was `db` dBFS.
    fn velocity(db: f32) -> u8 {
        let v = 127.0 * 10f32.powf((db + 6.0) / 40.0);
        v.round().clamp(1.0, 127.0) as u8
    }

    /// Consumes one decided pitch frame.
    pub(crate) fn frame(&mut self, f: &PitchFrame, params: &NotesParams, events: &mut EventSender) {
        let p = params.snapshot();
        let hop = self.hop;
        self.last_end = f.sample + hop / 2;
        // Onsets up to the end of this frame's hop are due.
        let mut new_onset = None;
        while self.onset_len > 0 {
            let s = self.onsets[self.onset_head];
            if s > f.sample + hop / 2 {
                break;
            }
            self.onset_head = (self.onset_head + 1) % MAX_PENDING_ONSETS;
            self.onset_len -= 1;
            self.last_onset = Some(s);
            new_onset = Some(s);
        }
        if !f.voiced {
            self.candidate = None;
            if self.unvoiced_since.is_none() {
                self.unvoiced_since = Some(f.sample);
                self.unvoiced_frames = 0;
            }
            self.unvoiced_frames += 1;
            if self.unvoiced_frames >= self.frames_of(OFF_HOLD_S) {
                if let Some(since) = self.unvoiced_since {
                    self.note_off(since, events);
                }
            }
            return;
        }
        self.unvoiced_since = None;
        self.unvoiced_frames = 0;
        let m = midi_of(f.f0_hz);
        let tol = p.stability_cents / 100.0;
        let nearest = m.round().clamp(0.0, 127.0) as u8;
        let guard = (RETRIGGER_GUARD_S * self.sample_rate) as u64;
        // Does an onset open a new candidate here?
        let retrigger = new_onset.filter(|&s| match self.sounding {
            Some((_, start)) => s >= start + guard,
            None => true,
        });
        let fits = |note: u8| (m - note as f32).abs() <= tol;
        match self.candidate {
            Some(c) if retrigger.is_none() && fits(c.note) => {
                let c = self.candidate.as_mut().expect("matched Some");
                c.frames += 1;
                c.peak_db = c.peak_db.max(f.level_db);
            }
            _ => {
                let sounding_fits = self.sounding.is_some_and(|(n, _)| fits(n));
                if sounding_fits && retrigger.is_none() {
                    // The sounding note continues.
                    self.candidate = None;
                    return;
                }
                let attach = (ONSET_ATTACH_S * self.sample_rate) as u64;
                let start = match retrigger {
                    Some(s) => s,
                    None => match self.last_onset {
                        Some(s)
                            if s + attach >= f.sample
                                && self.sounding.is_none_or(|(_, st)| s >= st + guard) =>
                        {
                            s.min(f.sample)
                        }
                        _ => f.sample,
                    },
                };
                self.candidate = Some(Candidate {
                    note: nearest,
                    start,
                    first_frame: f.sample,
                    frames: 1,
                    peak_db: f.level_db,
                });
            }
        }
        let need = self.frames_of(p.min_note_s as f64);
        if let Some(c) = self.candidate {
            if c.frames >= need {
                let start = c.start.max(self.sounding.map_or(0, |s| s.1));
                let _ = c.first_frame;
                self.note_off(start, events);
                events.send(Event::NoteOn {
                    sample: start,
                    midi_note: c.note,
                    velocity: Self::velocity(c.peak_db),
                });
                self.sounding = Some((c.note, start));
                self.candidate = None;
            }
        }
    }
}
