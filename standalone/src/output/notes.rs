//! Notes: a standard MIDI file (`notes.mid`: format 0, one track, channel 1, 960 ticks per
//! quarter note at 120 bpm, i.e. 1920 ticks per second) and the same notes as a table
//! (`notes.csv`, or `OUT.notes.csv` beside `--notes OUT.mid`): an
//! `onset_s,offset_s,midi_note,velocity` header, then one row per note in order of onset.
//! Both are written when the stream ends: a MIDI track needs its events in time order, and a
//! note's row needs its end.

use std::path::{Path, PathBuf};

use cochlea_engine::{Engine, Event, Output};
use midly::num::{u15, u24, u28, u4, u7};
use midly::{Format, Header, MetaMessage, MidiMessage, Smf, Timing, TrackEvent, TrackEventKind};
use serde_json::json;

use super::{file_name_of, Emitted, OutputError, Staging, Writer};
use crate::analyze::Analysis;

/// Ticks per quarter note in the MIDI files written.
pub const TICKS_PER_QUARTER: u16 = 960;
/// Tempo of the MIDI files written, microseconds per quarter note (120 bpm).
pub const TEMPO_US_PER_QUARTER: u32 = 500_000;
/// The header line of the notes table.
pub const CSV_HEADER: &str = "onset_s,offset_s,midi_note,velocity\n";

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

/// The table written beside the MIDI file `base`: `OUT.mid` gives `OUT.notes.csv`, and the
/// folder layout's `notes.mid` gives `notes.csv`.
pub fn csv_path(base: &Path) -> PathBuf {
    if base.file_stem().is_some_and(|s| s == "notes") {
        base.with_extension("csv")
    } else {
        base.with_extension("notes.csv")
    }
}

/// Pairs `NoteOn` and `NoteOff` events into notes, as they arrive.
#[derive(Debug, Clone, Default)]
pub struct NotePairer {
    sample_rate: f64,
    /// Notes on: `(note, start sample, velocity)`.
    open: Vec<(u8, u64, u8)>,
    /// Finished notes.
    notes: Vec<NoteRecord>,
    /// The latest stream position seen.
    last: u64,
}

impl NotePairer {
    /// A pairer for a stream at `sample_rate` Hz.
    pub fn new(sample_rate: f64) -> Self {
        Self {
            sample_rate,
            ..Default::default()
        }
    }

    fn close(&mut self, i: usize, end: u64) {
        let (note, start, velocity) = self.open.remove(i);
        self.notes.push(NoteRecord {
            onset_s: start as f64 / self.sample_rate,
            offset_s: end.max(start) as f64 / self.sample_rate,
            midi_note: note,
            velocity,
        });
    }

    /// Takes one event (others than notes are ignored).
    pub fn event(&mut self, event: &Event) {
        self.last = self.last.max(event.sample());
        match *event {
            Event::NoteOn {
                sample,
                midi_note,
                velocity,
            } => self.open.push((midi_note, sample, velocity)),
            Event::NoteOff { sample, midi_note } => {
                if let Some(i) = self.open.iter().position(|o| o.0 == midi_note) {
                    self.close(i, sample);
                }
            }
            _ => {}
        }
    }

    /// The notes, sorted by onset. A note still on (the engine always sends its `NoteOff`;
    /// only a dropped event could lose it) ends at `end` or the latest position seen.
    pub fn finish(mut self, end: Option<u64>) -> Vec<NoteRecord> {
        let end = end.unwrap_or(self.last);
        while !self.open.is_empty() {
            self.close(0, end);
        }
        self.notes.sort_by(|a, b| a.onset_s.total_cmp(&b.onset_s));
        self.notes
    }
}

/// The notes of an analysis held in memory.
pub fn notes_from_analysis(analysis: &Analysis) -> Vec<NoteRecord> {
    let mut p = NotePairer::new(analysis.sample_rate);
    for e in &analysis.events {
        p.event(&e.event);
    }
    p.finish(Some(analysis.frames))
}

/// The text of the notes table.
///
/// ```
/// use cochlea::output::notes::{notes_csv, NoteRecord};
/// let n = NoteRecord { onset_s: 0.5, offset_s: 0.75, midi_note: 69, velocity: 90 };
/// assert_eq!(notes_csv(&[n]), "onset_s,offset_s,midi_note,velocity\n0.500000,0.750000,69,90\n");
/// ```
pub fn notes_csv(notes: &[NoteRecord]) -> String {
    let mut s = String::from(CSV_HEADER);
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
/// use cochlea::output::notes::{midi_file, NoteRecord};
/// let n = NoteRecord { onset_s: 0.5, offset_s: 0.75, midi_note: 69, velocity: 90 };
/// let bytes = midi_file(&[n]);
/// let smf = midly::Smf::parse(&bytes).unwrap();
/// assert_eq!(smf.tracks.len(), 1);
/// ```
pub fn midi_file(notes: &[NoteRecord]) -> Vec<u8> {
    // (tick, order, message): at the same tick offs come before ons, so a repeated note sounds
    // again.
    let mut timeline: Vec<(u64, u8, MidiMessage)> = Vec::with_capacity(2 * notes.len());
    for n in notes {
        let key = u7::new(n.midi_note.min(127));
        let on = ticks(n.onset_s);
        timeline.push((
            on,
            1,
            MidiMessage::NoteOn {
                key,
                vel: u7::new(n.velocity.clamp(1, 127)),
            },
        ));
        timeline.push((
            ticks(n.offset_s).max(on + 1),
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
        header: Header::new(
            Format::SingleTrack,
            Timing::Metrical(u15::new(TICKS_PER_QUARTER)),
        ),
        tracks: vec![track],
    };
    let mut bytes = Vec::new();
    smf.write_std(&mut bytes)
        .expect("writing to memory cannot fail");
    bytes
}

/// Collects note events and writes the MIDI file and the table at the end of the stream.
pub struct NotesWriter {
    midi_path: PathBuf,
    csv_path: PathBuf,
    staging_midi: super::StagedFile,
    staging_csv: super::StagedFile,
    pairer: NotePairer,
    sample_rate: f64,
    latency_samples: usize,
}

impl NotesWriter {
    /// Starts `path` (the MIDI file) and its table for a stream analysed by `engine`.
    pub fn new(path: &Path, engine: &Engine, staging: &mut Staging) -> Result<Self, OutputError> {
        let csv = csv_path(path);
        Ok(Self {
            staging_midi: staging.create(path)?,
            staging_csv: staging.create(&csv)?,
            midi_path: path.to_path_buf(),
            csv_path: csv,
            pairer: NotePairer::new(engine.config().sample_rate),
            sample_rate: engine.config().sample_rate,
            latency_samples: engine.latency_samples(Output::Notes),
        })
    }
}

impl Writer for NotesWriter {
    fn event(&mut self, e: &Emitted) -> Result<(), OutputError> {
        self.pairer.event(&e.event);
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<serde_json::Value, OutputError> {
        let this = *self;
        let notes = this.pairer.finish(None);
        let mut midi = this.staging_midi;
        midi.write_all(&midi_file(&notes))?;
        midi.finish()?;
        let mut csv = this.staging_csv;
        csv.write_all(notes_csv(&notes).as_bytes())?;
        csv.finish()?;
        Ok(json!({
            "file": file_name_of(&this.midi_path),
            "table": file_name_of(&this.csv_path),
            "count": notes.len(),
            "latency_samples": this.latency_samples,
            "latency_ms": this.latency_samples as f64 * 1e3 / this.sample_rate,
        }))
    }
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
            vec![
                (480, on(60, 100)),
                (960, off(60)),
                (960, on(60, 30)),
                (1920, off(60))
            ]
        );
    }

    #[test]
    fn table_beside_the_midi_file() {
        assert_eq!(csv_path(Path::new("a/x.mid")), Path::new("a/x.notes.csv"));
        assert_eq!(csv_path(Path::new("a/notes.mid")), Path::new("a/notes.csv"));
    }

    #[test]
    fn a_note_left_on_ends_at_the_end() {
        let mut p = NotePairer::new(1000.0);
        p.event(&Event::NoteOn {
            sample: 100,
            midi_note: 60,
            velocity: 80,
        });
        let notes = p.finish(Some(2000));
        assert_eq!(notes.len(), 1);
        assert_eq!((notes[0].onset_s, notes[0].offset_s), (0.1, 2.0));
    }
}
