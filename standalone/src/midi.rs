//! Notes out of an analysis: the list of notes (from the engine's `NoteOn` / `NoteOff` events),
//! as CSV (`onset_s,offset_s,midi_note,velocity`) and as a standard MIDI file (format 0, one
//! track, channel 1, 960 ticks per quarter note at 120 bpm, i.e. ticks of 1/1920 s).

use cochlea_engine::Event;
use midly::num::{u15, u24, u28, u4, u7};
use midly::{Format, Header, MetaMessage, MidiMessage, Smf, Timing, TrackEvent, TrackEventKind};

use crate::analyze::Analysis;

/// One note.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NoteRecord {
    /// Start, seconds.
    pub onset_s: f64,
    /// End, seconds.
    pub offset_s: f64,
    /// MIDI note number.
    pub midi_note: u8,
    /// MIDI velocity, 1 to 127.
    pub velocity: u8,
}

/// Ticks per quarter note in the files written.
pub const TICKS_PER_QUARTER: u16 = 960;
/// Tempo of the files written, microseconds per quarter note (120 bpm).
pub const TEMPO_US_PER_QUARTER: u32 = 500_000;

/// Pairs the `NoteOn` / `NoteOff` events of `analysis` into notes, sorted by onset. A `NoteOn`
/// without its `NoteOff` (the engine always sends one; a dropped event could lose it) ends at the
/// end of the input.
pub fn notes_from_analysis(analysis: &Analysis) -> Vec<NoteRecord> {
    let sr = analysis.sample_rate;
    let mut open: Vec<(u8, u64, u8)> = Vec::new();
    let mut notes = Vec::new();
    for e in &analysis.events {
        match e.event {
            Event::NoteOn {
                sample,
                midi_note,
                velocity,
            } => open.push((midi_note, sample, velocity)),
            Event::NoteOff { sample, midi_note } => {
                if let Some(i) = open.iter().position(|o| o.0 == midi_note) {
                    let (note, start, velocity) = open.remove(i);
                    notes.push(NoteRecord {
                        onset_s: start as f64 / sr,
                        offset_s: sample.max(start) as f64 / sr,
                        midi_note: note,
                        velocity,
                    });
                }
            }
            _ => {}
        }
    }
    let end = analysis.frames as f64 / sr;
    for (note, start, velocity) in open {
        notes.push(NoteRecord {
            onset_s: start as f64 / sr,
            offset_s: end.max(start as f64 / sr),
            midi_note: note,
            velocity,
        });
    }
    notes.sort_by(|a, b| a.onset_s.total_cmp(&b.onset_s));
    notes
}

/// The CSV text: an `onset_s,offset_s,midi_note,velocity` header, then one row per note.
///
/// ```
/// use cochlea::midi::{notes_csv, NoteRecord};
/// let n = NoteRecord { onset_s: 0.5, offset_s: 0.75, midi_note: 69, velocity: 90 };
/// assert_eq!(notes_csv(&[n]), "onset_s,offset_s,midi_note,velocity\n0.500000,0.750000,69,90\n");
/// ```
pub fn notes_csv(notes: &[NoteRecord]) -> String {
    let mut s = String::from("onset_s,offset_s,midi_note,velocity\n");
    for n in notes {
        s.push_str(&format!(
            "{:.6},{:.6},{},{}\n",
            n.onset_s, n.offset_s, n.midi_note, n.velocity
        ));
    }
    s
}

fn ticks(seconds: f64) -> u64 {
    let per_s = TICKS_PER_QUARTER as f64 * 1e6 / TEMPO_US_PER_QUARTER as f64;
    (seconds.max(0.0) * per_s).round() as u64
}

/// A standard MIDI file (format 0) holding `notes` on channel 1.
///
/// ```
/// use cochlea::midi::{midi_file, NoteRecord};
/// let n = NoteRecord { onset_s: 0.5, offset_s: 0.75, midi_note: 69, velocity: 90 };
/// let bytes = midi_file(&[n]);
/// let smf = midly::Smf::parse(&bytes).unwrap();
/// assert_eq!(smf.tracks.len(), 1);
/// ```
pub fn midi_file(notes: &[NoteRecord]) -> Vec<u8> {
    // (tick, order, kind): offs before ons at the same tick, so a repeated note re-sounds.
    let mut timeline: Vec<(u64, u8, MidiMessage)> = Vec::with_capacity(2 * notes.len());
    for n in notes {
        let key = u7::new(n.midi_note.min(127));
        timeline.push((
            ticks(n.onset_s),
            1,
            MidiMessage::NoteOn {
                key,
                vel: u7::new(n.velocity.clamp(1, 127)),
            },
        ));
        timeline.push((
            ticks(n.offset_s).max(ticks(n.onset_s) + 1),
            0,
            MidiMessage::NoteOff {
                key,
                vel: u7::new(64),
            },
        ));
    }
    timeline.sort_by_key(|&(t, order, _)| (t, order));
    let mut track = Vec::with_capacity(timeline.len() + 2);
    track.push(TrackEvent {
        delta: u28::new(0),
        kind: TrackEventKind::Meta(MetaMessage::Tempo(u24::new(TEMPO_US_PER_QUARTER))),
    });
    let mut now = 0u64;
    for (t, _, message) in timeline {
        track.push(TrackEvent {
            delta: u28::new((t - now).min(u28::max_value().as_int() as u64) as u32),
            kind: TrackEventKind::Midi {
                channel: u4::new(0),
                message,
            },
        });
        now = t;
    }
    track.push(TrackEvent {
        delta: u28::new(0),
        kind: TrackEventKind::Meta(MetaMessage::EndOfTrack),
    });
    let smf = Smf {
        header: Header::new(Format::SingleTrack, Timing::Metrical(u15::new(TICKS_PER_QUARTER))),
        tracks: vec![track],
    };
    let mut bytes = Vec::new();
    // Writing to a Vec cannot fail.
    smf.write_std(&mut bytes).expect("writing MIDI to memory");
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn midi_round_trips_times_notes_and_velocities() {
        let notes = [
            NoteRecord {
                onset_s: 0.25,
                offset_s: 0.5,
                midi_note: 60,
                velocity: 100,
            },
            NoteRecord {
                onset_s: 0.5,
                offset_s: 1.0,
                midi_note: 60,
                velocity: 30,
            },
        ];
        let bytes = midi_file(&notes);
        let smf = Smf::parse(&bytes).unwrap();
        let mut t = 0u64;
        let mut seen = vec![];
        for ev in &smf.tracks[0] {
            t += ev.delta.as_int() as u64;
            if let TrackEventKind::Midi { message, .. } = ev.kind {
                seen.push((t, message));
            }
        }
        let on = |k: u8, v: u8| MidiMessage::NoteOn {
            key: u7::new(k),
            vel: u7::new(v),
        };
        let off = |k: u8| MidiMessage::NoteOff {
            key: u7::new(k),
            vel: u7::new(64),
        };
        // 1920 ticks per second; the first note's off comes before the repeat's on.
        assert_eq!(
            seen,
            vec![(480, on(60, 100)), (960, off(60)), (960, on(60, 30)), (1920, off(60))]
        );
    }
}
