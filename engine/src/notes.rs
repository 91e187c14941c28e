//! Note tracking: the pitch tracker's frames and the onset detector's onsets become MIDI-style
//! [`NoteOn`](crate::Event::NoteOn) / [`NoteOff`](crate::Event::NoteOff) events.
//!
//! # Rules
//! - A note is *heard* when the pitch has stayed within the stability tolerance of one
//!   semitone (the nearest to the median pitch) over the last minimum-note-length of
//!   consecutive voiced frames.
//! - A heard note that is not the sounding one starts a new note: after silence, and at a legato
//!   pitch change (no onset needed). The sounding note, if any, ends where the new one starts.
//! - An onset while a note sounds (more than [`RETRIGGER_GUARD_S`] after its start) followed by
//!   a heard note starts a new note even on the same pitch: a retrigger. On the same pitch the
//!   note must be heard entirely after the onset and be at least [`RETRIGGER_RISE_DB`] louder
//!   than the quietest frame within [`DIP_WINDOW_S`] of the onset (a re-attack dips and
//!   rises), so a spectral glitch inside a held note does not split it.
//! - A new note starts at the onset that precedes it, if one was detected at most
//!   [`ONSET_ATTACH_S`] before the note was first heard (attacks take time to settle on their
//!   pitch); otherwise at the first frame in which it was heard.
//! - A note ends when voicing has stopped for [`OFF_HOLD_S`]; its `NoteOff` is stamped at the
//!   first unvoiced frame.
//! - Velocity follows the loudest frame over which the note was heard: 127 at -6 dBFS (mean
//!   square), falling by a decade per 40 dB (MIDI's usual velocity-to-level curve), at least 1.
//! - [`Engine::finish`](crate::Engine::finish) and [`Engine::reset`](crate::Engine::reset)
//!   close a sounding note, so every `NoteOn` gets its `NoteOff`.
//!
//! # Latency
//! A `NoteOn` is emitted when the note has been heard: the pitch latency plus the minimum note
//! length (rounded up to whole pitch hops, less one hop) after its first frame. This is
//! [`Output::Notes`](crate::Output::Notes)'s latency (more when the note is stamped at an onset
//! before its first frame). A `NoteOff` follows the first unvoiced frame by the pitch latency
//! plus [`OFF_HOLD_S`].

use crate::event::{Event, EventSender};
use crate::params::NotesParams;
use crate::pitch::PitchFrame;

/// Voicing must stop for this long (seconds) before a note ends: bridges brief dropouts.
pub const OFF_HOLD_S: f64 = 0.02;
/// An onset up to this long (seconds) before a note is first heard marks the note's start.
pub const ONSET_ATTACH_S: f64 = 0.08;
/// Onsets less than this (seconds) after the start of the sounding note do not retrigger it.
pub const RETRIGGER_GUARD_S: f64 = 0.06;
/// A retrigger on the same pitch needs the note to rise this far (dB) above the quietest frame
/// around the onset.
pub const RETRIGGER_RISE_DB: f32 = 3.0;
/// How far either side of an onset (seconds) the dip of a re-attack is looked for.
pub const DIP_WINDOW_S: f64 = 0.03;
/// Frame levels remembered for the dip before an onset.
const LEVEL_HISTORY: usize = 32;
/// Onsets waiting for the pitch frames that cover them.
const MAX_PENDING_ONSETS: usize = 64;
/// Longest minimum note length accepted, seconds (sizes the pitch window).
const MAX_MIN_NOTE_S: f64 = crate::params::MIN_NOTE_RANGE_S.1 as f64;

/// The note stage.
pub(crate) struct NoteTracker {
    hop: u64,
    sample_rate: f64,
    /// Onset positions not yet consumed, oldest first (a ring).
    onsets: [u64; MAX_PENDING_ONSETS],
    onset_head: usize,
    onset_len: usize,
    /// The latest onset that may still start a note, and the quietest frame level around it.
    pending_onset: Option<(u64, f32)>,
    /// Levels and positions of the latest frames, a ring.
    levels: [(u64, f32); LEVEL_HISTORY],
    level_count: usize,
    /// Pitch (fractional MIDI note), position and level of the latest consecutive voiced
    /// frames, a ring of `window.len()`.
    window: Vec<(f32, u64, f32)>,
    window_head: usize,
    window_len: usize,
    scratch: Vec<f32>,
    /// The sounding note and where it started.
    sounding: Option<(u8, u64)>,
    /// First unvoiced frame of the current unvoiced run, and its length in frames.
    unvoiced_since: Option<u64>,
    unvoiced_frames: u32,
    /// Sample just after the last frame seen (for closing notes).
    last_end: u64,
}

/// Fractional MIDI note number of `f0` Hz.
fn midi_of(f0: f32) -> f32 {
    69.0 + 12.0 * (f0 / 440.0).log2()
}

impl NoteTracker {
    pub(crate) fn new(pitch_hop: usize, sample_rate: f64) -> Self {
        let hop = pitch_hop.max(1) as u64;
        let max_window = (MAX_MIN_NOTE_S * sample_rate / hop as f64).ceil() as usize + 1;
        Self {
            hop,
            sample_rate,
            onsets: [0; MAX_PENDING_ONSETS],
            onset_head: 0,
            onset_len: 0,
            pending_onset: None,
            levels: [(0, 0.0); LEVEL_HISTORY],
            level_count: 0,
            window: vec![(0.0, 0, 0.0); max_window],
            window_head: 0,
            window_len: 0,
            scratch: vec![0.0; max_window],
            sounding: None,
            unvoiced_since: None,
            unvoiced_frames: 0,
            last_end: 0,
        }
    }

    fn frames_of(&self, seconds: f64) -> usize {
        ((seconds * self.sample_rate / self.hop as f64).ceil() as usize).clamp(1, self.window.len())
    }

    fn samples_of(&self, seconds: f64) -> u64 {
        (seconds * self.sample_rate).round() as u64
    }

    /// Extra latency over the pitch frames for a minimum note length of `min_note_s`.
    pub(crate) fn latency_samples(&self, min_note_s: f32) -> usize {
        (self.frames_of(min_note_s as f64) - 1) * self.hop as usize
    }

    /// Longest delay over the pitch frames between a note event's stamp and its emission, for a
    /// minimum note length of `min_note_s`: a `NoteOn` stamped at an onset up to
    /// [`ONSET_ATTACH_S`] before the note's first frame leaves with the window's last frame; a
    /// `NoteOff` at the first unvoiced frame leaves [`OFF_HOLD_S`] later.
    pub(crate) fn max_delay_samples(&self, min_note_s: f32) -> usize {
        let on = (self.frames_of(min_note_s as f64) - 1) * self.hop as usize
            + self.samples_of(ONSET_ATTACH_S) as usize;
        let off = (self.frames_of(OFF_HOLD_S) - 1) * self.hop as usize;
        on.max(off)
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

    /// Ends the sounding note (if any) at `sample`.
    fn note_off(&mut self, sample: u64, events: &mut EventSender) {
        if let Some((note, start)) = self.sounding.take() {
            events.send(Event::NoteOff {
                sample: sample.max(start),
                midi_note: note,
            });
        }
    }

    /// Closes the sounding note at the end of the last frame seen (or where voicing stopped).
    pub(crate) fn close(&mut self, events: &mut EventSender) {
        let end = self.unvoiced_since.unwrap_or(self.last_end);
        self.note_off(end, events);
        self.window_len = 0;
    }

    pub(crate) fn reset(&mut self) {
        self.onset_head = 0;
        self.onset_len = 0;
        self.pending_onset = None;
        self.level_count = 0;
        self.window_head = 0;
        self.window_len = 0;
        self.sounding = None;
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
        self.levels[self.level_count % LEVEL_HISTORY] = (f.sample, f.level_db);
        self.level_count += 1;
        let dip = self.samples_of(DIP_WINDOW_S);
        // The quietest frame around a pending onset.
        if let Some((o, low)) = &mut self.pending_onset {
            if f.sample <= *o + dip {
                *low = low.min(f.level_db);
            }
        }
        // Onsets up to the end of this frame's hop are due.
        let guard = self.samples_of(RETRIGGER_GUARD_S);
        while self.onset_len > 0 {
            let s = self.onsets[self.onset_head];
            if s > f.sample + hop / 2 {
                break;
            }
            self.onset_head = (self.onset_head + 1) % MAX_PENDING_ONSETS;
            self.onset_len -= 1;
            if self.sounding.is_none_or(|(_, start)| s >= start + guard) {
                let known = self.level_count.min(LEVEL_HISTORY);
                let low = (0..known)
                    .map(|k| self.levels[(self.level_count - 1 - k) % LEVEL_HISTORY])
                    .filter(|&(at, _)| at + dip >= s)
                    .fold(f.level_db, |m, (_, l)| m.min(l));
                self.pending_onset = Some((s, low));
            }
        }
        if !f.voiced {
            self.window_len = 0;
            if self.unvoiced_since.is_none() {
                self.unvoiced_since = Some(f.sample);
                self.unvoiced_frames = 0;
            }
            self.unvoiced_frames += 1;
            if self.unvoiced_frames as usize >= self.frames_of(OFF_HOLD_S) {
                if let Some(since) = self.unvoiced_since {
                    self.note_off(since, events);
                }
            }
            return;
        }
        self.unvoiced_since = None;
        self.unvoiced_frames = 0;
        // Push this frame into the window of consecutive voiced frames.
        let cap = self.window.len();
        let slot = (self.window_head + self.window_len) % cap;
        self.window[slot] = (midi_of(f.f0_hz), f.sample, f.level_db);
        if self.window_len < cap {
            self.window_len += 1;
        } else {
            self.window_head = (self.window_head + 1) % cap;
        }
        let k = self.frames_of(p.min_note_s as f64);
        if self.window_len < k {
            return;
        }
        // The last k frames: is one semitone held?
        let first = (self.window_head + self.window_len - k) % cap;
        for i in 0..k {
            self.scratch[i] = self.window[(first + i) % cap].0;
        }
        let scratch = &mut self.scratch[..k];
        let (_, median, _) = scratch.select_nth_unstable_by(k / 2, f32::total_cmp);
        let note = median.round().clamp(0.0, 127.0);
        let tol = p.stability_cents / 100.0;
        if scratch.iter().any(|m| (m - note).abs() > tol) {
            return;
        }
        let note = note as u8;
        let heard_at = self.window[first].1;
        let attach = self.samples_of(ONSET_ATTACH_S);
        // A pending onset too long before the note was heard belongs to nothing any more.
        let onset = self.pending_onset.filter(|&(o, _)| o + attach >= heard_at);
        let peak = (0..k)
            .map(|i| self.window[(first + i) % cap].2)
            .fold(f32::NEG_INFINITY, f32::max);
        if self.sounding.is_some_and(|(n, _)| n == note) {
            // The sounding note continues, unless re-attacked.
            let retrigger =
                onset.is_some_and(|(o, level)| heard_at >= o && peak >= level + RETRIGGER_RISE_DB);
            if !retrigger {
                return;
            }
        }
        let start = onset
            .map_or(heard_at, |o| o.0)
            .max(self.sounding.map_or(0, |s| s.1 + 1));
        self.note_off(start, events);
        events.send(Event::NoteOn {
            sample: start,
            midi_note: note,
            velocity: Self::velocity(peak),
        });
        self.sounding = Some((note, start));
        self.pending_onset = None;
    }
}
