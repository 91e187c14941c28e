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
//!   note must be heard from [`RETRIGGER_SETTLE_S`] after the onset on (an attack's first
//!   frames often still hold the previous note, so a leap would otherwise retrigger it) and be
//!   at least [`RETRIGGER_RISE_DB`] louder than the quietest frame within [`DIP_WINDOW_S`] of
//!   the onset (a re-attack dips and rises), so a spectral glitch inside a held note does not
//!   split it.
//! - A new note starts at the onset that precedes it, if one was detected at most
//!   [`ONSET_ATTACH_S`] before the note was first heard (attacks take time to settle on their
//!   pitch). Such a note must be clearly periodic ([`ATTACK_PERIODICITY`]): the noise of an
//!   attack can hold a short, wrong pitch that would otherwise take the onset.
//! - A legato change without an onset starts where the sounding note began to give way, if that
//!   was within [`ONSET_ATTACH_S`] of the new note being heard: the first frame whose pitch left
//!   the sounding note's semitone, or the start of a dip in periodicity (below [`DIP_START`],
//!   reaching [`DIP_DEPTH`]: two notes overlapping), whichever came first. A slow attack under
//!   the previous note's release shows in these long before the new pitch wins. Otherwise a
//!   note starts at the first frame in which it was heard.
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
/// A retrigger on the same pitch needs the note heard from this long (seconds) after the onset
/// on: an attack's first frames often still hold the previous note (a leap sounds late).
pub const RETRIGGER_SETTLE_S: f64 = 0.03;
/// How far either side of an onset (seconds) the dip of a re-attack is looked for.
pub const DIP_WINDOW_S: f64 = 0.03;
/// A note heard within [`ONSET_ATTACH_S`] of an onset (which it would start at) needs its
/// frames this periodic on average (0 to 1): an attack's first frames (bow or breath noise) can
/// give a short, wrong pitch that would otherwise take the onset from the note that follows.
pub const ATTACK_PERIODICITY: f32 = 0.5;
/// A frame less periodic than this may belong to a dip between two notes...
pub const DIP_START: f32 = 0.9;
/// ...and a dip that goes under this one marks a legato change.
pub const DIP_DEPTH: f32 = 0.5;
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
    /// Pitch (fractional MIDI note), position, level and periodicity of the latest
    /// consecutive voiced frames, a ring of `window.len()`.
    window: Vec<(f32, u64, f32, f32)>,
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
    /// First frame of the current run of frames less periodic than [`DIP_START`].
    dip_start: Option<u64>,
    /// Where the latest periodicity dip under [`DIP_DEPTH`] began while a note sounded: the
    /// start of a legato change.
    transition: Option<u64>,
    /// First frame, since the pitch last matched the sounding note, that left its semitone.
    departure: Option<u64>,
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
            window: vec![(0.0, 0, 0.0, 0.0); max_window],
            window_head: 0,
            window_len: 0,
            scratch: vec![0.0; max_window],
            sounding: None,
            unvoiced_since: None,
            unvoiced_frames: 0,
            last_end: 0,
            dip_start: None,
            transition: None,
            departure: None,
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
        self.dip_start = None;
        self.transition = None;
        self.departure = None;
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
        // A dip in periodicity while a note sounds: two notes overlapping.
        if f.periodicity < DIP_START {
            let since = *self.dip_start.get_or_insert(f.sample);
            if f.periodicity < DIP_DEPTH && self.sounding.is_some() {
                self.transition = Some(since);
            }
        } else {
            self.dip_start = None;
        }
        if f.voiced {
            if let Some((n, _)) = self.sounding {
                if (midi_of(f.f0_hz) - n as f32).abs() > p.stability_cents / 100.0 {
                    self.departure.get_or_insert(f.sample);
                } else {
                    self.departure = None;
                }
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
        self.window[slot] = (midi_of(f.f0_hz), f.sample, f.level_db, f.periodicity);
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
        // Mean periodicity of the window.
        let periodic = (0..k)
            .map(|i| self.window[(first + i) % cap].3)
            .sum::<f32>()
            / k as f32;
        let note = note as u8;
        let heard_at = self.window[first].1;
        let attach = self.samples_of(ONSET_ATTACH_S);
        // A pending onset too long before the note was heard belongs to nothing any more.
        let onset = self.pending_onset.filter(|&(o, _)| o + attach >= heard_at);
        if onset.is_some() && periodic < ATTACK_PERIODICITY {
            return;
        }
        let peak = (0..k)
            .map(|i| self.window[(first + i) % cap].2)
            .fold(f32::NEG_INFINITY, f32::max);
        if self.sounding.is_some_and(|(n, _)| n == note) {
            // The sounding note continues, unless re-attacked.
            let settle = self.samples_of(RETRIGGER_SETTLE_S);
            let retrigger = onset.is_some_and(|(o, level)| {
                heard_at >= o + settle && peak >= level + RETRIGGER_RISE_DB
            });
            if !retrigger {
                return;
            }
        }
        // Without an onset, a legato change starts where the sounding note's pitch or
        // periodicity began to give way, if that was recent.
        let legato = match (onset, self.sounding) {
            (None, Some((_, began))) => {
                let mut at = heard_at;
                for c in [self.transition, self.departure].into_iter().flatten() {
                    if c > began && c + attach >= heard_at {
                        at = at.min(c);
                    }
                }
                Some(at)
            }
            _ => None,
        };
        let start = onset
            .map(|o| o.0)
            .or(legato)
            .unwrap_or(heard_at)
            .max(self.sounding.map_or(0, |s| s.1 + 1));
        self.note_off(start, events);
        events.send(Event::NoteOn {
            sample: start,
            midi_note: note,
            velocity: Self::velocity(peak),
        });
        self.sounding = Some((note, start));
        self.pending_onset = None;
        self.transition = None;
        self.departure = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{channel, Stats};
    use std::sync::Arc;

    const RATE: f64 = 44_100.0;
    const HOP: u64 = 220;

    /// Drives a tracker with one frame per hop: `frames` as (MIDI pitch or 0 for unvoiced,
    /// periodicity), onsets at the given frame indices, voiced frames at -20 dBFS but those in
    /// `quiet` at -30; returns `(on?, sample, note)` events.
    fn run(frames: &[(f32, f32)], onsets: &[usize], quiet: &[usize]) -> Vec<(bool, u64, u8)> {
        let (mut tx, mut rx) = channel(1024, Arc::new(Stats::default()));
        let params = NotesParams::new(&crate::NotesConfig::default());
        let mut t = NoteTracker::new(HOP as usize, RATE);
        for (i, &(midi, periodicity)) in frames.iter().enumerate() {
            let sample = i as u64 * HOP;
            if onsets.contains(&i) {
                t.onset(sample);
            }
            let f = PitchFrame {
                sample,
                f0_hz: if midi > 0.0 {
                    440.0 * 2f32.powf((midi - 69.0) / 12.0)
                } else {
                    200.0
                },
                voiced: midi > 0.0,
                voiced_prob: 1.0,
                confidence: 1.0,
                level_db: match (midi > 0.0, quiet.contains(&i)) {
                    (false, _) => -80.0,
                    (true, true) => -30.0,
                    (true, false) => -20.0,
                },
                periodicity,
            };
            t.frame(&f, &params, &mut tx);
        }
        t.close(&mut tx);
        rx.drain()
            .filter_map(|e| match e {
                Event::NoteOn {
                    sample, midi_note, ..
                } => Some((true, sample, midi_note)),
                Event::NoteOff { sample, midi_note } => Some((false, sample, midi_note)),
                _ => None,
            })
            .collect()
    }

    fn frames(n: usize, midi: f32, periodicity: f32) -> Vec<(f32, f32)> {
        vec![(midi, periodicity); n]
    }

    #[test]
    fn a_legato_change_starts_where_the_periodicity_dip_began() {
        // 60 for 60 frames; then 10 frames still reading 60 but less and less periodic (the
        // new note growing under the old one's release); then 64.
        let mut f = frames(60, 60.0, 0.95);
        f.extend([0.8, 0.7, 0.6, 0.45, 0.3, 0.2, 0.2, 0.3, 0.4, 0.5].map(|p| (60.0, p)));
        f.extend(frames(40, 64.0, 0.95));
        let ons: Vec<_> = run(&f, &[], &[]).into_iter().filter(|e| e.0).collect();
        assert_eq!(ons, [(true, 0, 60), (true, 60 * HOP, 64)]);
    }

    #[test]
    fn a_legato_change_starts_where_the_pitch_left_the_old_note() {
        // A glide from 60 to 64 over 6 frames, all periodic.
        let mut f = frames(60, 60.0, 0.95);
        f.extend((1..=6).map(|k| (60.0 + 4.0 * k as f32 / 7.0, 0.95)));
        f.extend(frames(40, 64.0, 0.95));
        let ons: Vec<_> = run(&f, &[], &[]).into_iter().filter(|e| e.0).collect();
        // The first frame outside 60's semitone tolerance (50 cents by default): 60.57.
        assert_eq!(ons, [(true, 0, 60), (true, 60 * HOP, 64)]);
    }

    #[test]
    fn a_noisy_attack_pitch_does_not_take_the_onset_from_the_note() {
        // Silence, an onset, 12 frames of an aperiodic wrong pitch (bow noise), then the note.
        let mut f = frames(10, 0.0, 0.0);
        f.extend(frames(12, 38.0, 0.2));
        f.extend(frames(40, 62.0, 0.9));
        let ons: Vec<_> = run(&f, &[10], &[]).into_iter().filter(|e| e.0).collect();
        assert_eq!(ons, [(true, 10 * HOP, 62)]);
    }

    #[test]
    fn a_leap_heard_late_after_its_onset_does_not_retrigger_the_old_note() {
        // 69 held; a re-attack (a dip in level, then an onset at frame 60) whose first 5 frames
        // (45 ms, longer than the minimum note) still read 69, then 81.
        let mut f = frames(60, 69.0, 0.95);
        f.extend(frames(9, 69.0, 0.95));
        f.extend(frames(40, 81.0, 0.95));
        let ons: Vec<_> = run(&f, &[60], &[58, 59])
            .into_iter()
            .filter(|e| e.0)
            .collect();
        assert_eq!(ons, [(true, 0, 69), (true, 60 * HOP, 81)]);
    }
}
