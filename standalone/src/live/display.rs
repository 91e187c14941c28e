//! The live display. The main thread drains the engine's event queue and reads the meters (see
//! [`Meters`](super::meters::Meters)) about 30 times a second and redraws; the audio thread
//! never waits for it. [`Screen`] holds what is shown and turns it into lines (a pure function of
//! its state, tested without a terminal); [`Terminal`] redraws those lines in place.
//!
//! What is wired: onset flashes and counts, the current pitch (note name, cents, Hz and
//! confidence) and the sounding MIDI note, input and output level meters, the over/underrun,
//! xrun, device error and dropped event counters. The stem row shows "--" until the engine
//! separates stems.

use std::io::Write;
use std::time::{Duration, Instant};

use cochlea_engine::Event;

use crate::output::Emitted;

/// Redraws per second (at least 20 by the issue; 30 looks smooth).
pub const REFRESH_HZ: u32 = 30;
/// How long an onset lights up.
pub const FLASH: Duration = Duration::from_millis(150);
/// Level meters span -60 dBFS to 0.
const FLOOR_DB: f32 = -60.0;
/// Peak meters fall this fast after a peak.
const FALL_DB_PER_S: f32 = 24.0;
const METER_WIDTH: usize = 24;

/// Note name (`A4`, `C#5`) of a MIDI note number.
pub fn midi_note_name(note: u8) -> String {
    const NAMES: [&str; 12] = [
        "C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B",
    ];
    format!("{}{}", NAMES[note as usize % 12], note as i32 / 12 - 1)
}

/// The nearest note to `hz` and the deviation from it in cents (-50 to +50).
pub fn note_and_cents(hz: f32) -> Option<(u8, f32)> {
    if !(hz.is_finite() && hz > 0.0) {
        return None;
    }
    let midi = 69.0 + 12.0 * (hz / 440.0).log2();
    let nearest = midi.round();
    if !(0.0..=127.0).contains(&nearest) {
        return None;
    }
    Some((nearest as u8, (midi - nearest) * 100.0))
}

/// Meter readings and counters, as read from the shared atomics.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Snapshot {
    /// Frames processed.
    pub position: u64,
    /// Input peaks since the last snapshot (linear).
    pub input: [f32; 2],
    /// Output peaks since the last snapshot (linear).
    pub output: [f32; 2],
    /// Frames lost to full queues.
    pub overruns: u64,
    /// Frames of silence for late data.
    pub underruns: u64,
    /// Device xruns.
    pub xruns: u64,
    /// Other device errors.
    pub device_errors: u64,
    /// Events dropped by the engine's queue.
    pub dropped: u64,
    /// Stem peaks since the last snapshot (linear, `Stem` order), when the engine separates.
    pub stems: Option<[f32; 5]>,
}

fn db(x: f32) -> f32 {
    if x > 0.0 {
        (20.0 * x.log10()).max(FLOOR_DB)
    } else {
        FLOOR_DB
    }
}

/// What the display shows, updated from events and meter snapshots.
pub struct Screen {
    title: String,
    sample_rate: f64,
    channels: usize,
    onsets: u64,
    last_onset: Option<(f64, f32)>,
    flash_until: Option<Instant>,
    input_db: [f32; 2],
    output_db: [f32; 2],
    last: Snapshot,
    updated: Option<Instant>,
    /// Current pitch (Hz) and its confidence, once the engine reports pitch.
    pitch: Option<(f32, f32)>,
    /// The sounding MIDI note, once the engine reports notes.
    note: Option<u8>,
    /// Stem names and levels (dB), once the engine separates stems.
    stems: Vec<(String, f32)>,
    monitored: bool,
    footer: String,
}

impl Screen {
    /// A display for a stream at `sample_rate` with `channels` (1 or 2); `title` is its first
    /// line (source, device, format); `monitored` says whether there is an output to meter.
    pub fn new(title: String, sample_rate: f64, channels: usize, monitored: bool) -> Self {
        Self {
            title,
            sample_rate,
            channels,
            onsets: 0,
            last_onset: None,
            flash_until: None,
            input_db: [FLOOR_DB; 2],
            output_db: [FLOOR_DB; 2],
            last: Snapshot::default(),
            updated: None,
            pitch: None,
            note: None,
            stems: Vec::new(),
            monitored,
            footer: "Ctrl-C to stop".into(),
        }
    }

    /// Replaces the last line ("Ctrl-C to stop" while running).
    pub fn set_footer(&mut self, footer: String) {
        self.footer = footer;
    }

    /// Takes one event into account (received at `now`).
    pub fn on_event(&mut self, e: &Emitted, now: Instant) {
        match e.event {
            Event::Onset { sample, strength } => {
                self.onsets += 1;
                self.last_onset = Some((sample as f64 / self.sample_rate, strength));
                self.flash_until = Some(now + FLASH);
            }
            Event::Pitch {
                f0_hz, confidence, ..
            } => self.pitch = (f0_hz > 0.0).then_some((f0_hz, confidence)),
            Event::NoteOn { midi_note, .. } => self.note = Some(midi_note),
            Event::NoteOff { midi_note, .. } if self.note == Some(midi_note) => self.note = None,
            // Stem events fill `stems` once the engine separates them.
            _ => {}
        }
    }

    /// Takes a meter snapshot into account (peaks fall gently between snapshots).
    pub fn update(&mut self, snap: &Snapshot, now: Instant) {
        let dt = self
            .updated
            .map_or(0.0, |t| now.saturating_duration_since(t).as_secs_f32());
        let fall = FALL_DB_PER_S * dt;
        for c in 0..2 {
            self.input_db[c] = db(snap.input[c]).max(self.input_db[c] - fall);
            self.output_db[c] = db(snap.output[c]).max(self.output_db[c] - fall);
        }
        if let Some(peaks) = snap.stems {
            if self.stems.is_empty() {
                self.stems = cochlea_engine::separation::Stem::ALL
                    .iter()
                    .map(|s| (s.name().to_string(), FLOOR_DB))
                    .collect();
            }
            for ((_, level), p) in self.stems.iter_mut().zip(peaks) {
                *level = db(p).max(*level - fall);
            }
        }
        self.last = *snap;
        self.updated = Some(now);
    }

    /// Onsets seen so far.
    pub fn onsets(&self) -> u64 {
        self.onsets
    }

    /// Whether the onset light is on at `now`.
    pub fn flashing(&self, now: Instant) -> bool {
        self.flash_until.is_some_and(|t| now < t)
    }

    fn meter(level_db: f32) -> String {
        let filled = (((level_db - FLOOR_DB) / -FLOOR_DB) * METER_WIDTH as f32).round() as usize;
        let filled = filled.min(METER_WIDTH);
        let text = if level_db <= FLOOR_DB {
            "  -inf".to_string()
        } else {
            format!("{level_db:6.1}")
        };
        format!(
            "[{}{}] {text} dB",
            "#".repeat(filled),
            ".".repeat(METER_WIDTH - filled)
        )
    }

    fn meters_line(&self, label: &str, levels: &[f32; 2]) -> String {
        if self.channels == 2 {
            format!(
                "{label:<6} L {}  R {}",
                Self::meter(levels[0]),
                Self::meter(levels[1])
            )
        } else {
            format!("{label:<6}   {}", Self::meter(levels[0]))
        }
    }

    /// The lines to show at `now`; `color` adds ANSI colours (terminal only).
    pub fn lines(&self, now: Instant, color: bool) -> Vec<String> {
        let t = self.last.position as f64 / self.sample_rate;
        let (h, m, s) = ((t / 3600.0) as u64, (t / 60.0) as u64 % 60, t % 60.0);
        let mut out = vec![format!("{}  {h:02}:{m:02}:{s:04.1}", self.title)];
        out.push(self.meters_line("in", &self.input_db));
        if self.monitored {
            out.push(self.meters_line("out", &self.output_db));
        }
        let light = match (self.flashing(now), color) {
            (true, true) => "\x1b[1;33m(*)\x1b[0m",
            (true, false) => "(*)",
            (false, _) => "( )",
        };
        let last = match self.last_onset {
            Some((at, strength)) => format!(", last at {at:.3} s (strength {strength:.1})"),
            None => String::new(),
        };
        out.push(format!("onset  {light} {} onsets{last}", self.onsets));
        out.push(
            match self
                .pitch
                .and_then(|(hz, c)| note_and_cents(hz).map(|n| (hz, c, n)))
            {
                Some((hz, conf, (note, cents))) => format!(
                    "pitch  {:<4} {cents:+4.0} cents  {hz:7.1} Hz  (confidence {conf:.2})",
                    midi_note_name(note)
                ),
                None => "pitch  --".into(),
            },
        );
        out.push(match self.note {
            Some(n) => format!("note   {} (MIDI {n})", midi_note_name(n)),
            None => "note   --".into(),
        });
        if self.stems.is_empty() {
            out.push("stems  --".into());
        } else {
            let s: Vec<String> = self
                .stems
                .iter()
                .map(|(name, level)| format!("{name} {level:5.1} dB"))
                .collect();
            out.push(format!("stems  {}", s.join("  ")));
        }
        let l = &self.last;
        out.push(format!(
            "overruns {}  underruns {}  xruns {}  device errors {}  dropped events {}",
            l.overruns, l.underruns, l.xruns, l.device_errors, l.dropped
        ));
        out.push(self.footer.clone());
        out
    }
}

/// Redraws a block of lines in place on a terminal (ANSI cursor movement).
pub struct Terminal<W: Write> {
    out: W,
    drawn: usize,
}

impl<W: Write> Terminal<W> {
    /// Draws on `out` (hides the cursor until [`close`](Self::close)).
    pub fn new(mut out: W) -> Self {
        let _ = out.write_all(b"\x1b[?25l");
        Self { out, drawn: 0 }
    }

    /// Replaces what was drawn last with `lines`, in one write.
    pub fn draw(&mut self, lines: &[String]) {
        let mut buf = String::new();
        if self.drawn > 0 {
            buf.push_str(&format!("\x1b[{}A", self.drawn));
        }
        for l in lines {
            buf.push_str("\r\x1b[2K");
            buf.push_str(l);
            buf.push('\n');
        }
        for _ in lines.len()..self.drawn {
            buf.push_str("\r\x1b[2K\n");
        }
        self.drawn = lines.len().max(self.drawn);
        let _ = self.out.write_all(buf.as_bytes());
        let _ = self.out.flush();
    }

    /// Shows the cursor again (the last frame stays on screen).
    pub fn close(mut self) {
        let _ = self.out.write_all(b"\x1b[?25h");
        let _ = self.out.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn onset(sample: u64) -> Emitted {
        Emitted {
            event: Event::Onset {
                sample,
                strength: 2.0,
            },
            emitted_at: sample + 100,
        }
    }

    #[test]
    fn note_names_and_cents() {
        assert_eq!(midi_note_name(69), "A4");
        assert_eq!(midi_note_name(60), "C4");
        assert_eq!(midi_note_name(61), "C#4");
        let (n, c) = note_and_cents(440.0).unwrap();
        assert_eq!((n, c.round()), (69, 0.0));
        let (n, c) = note_and_cents(440.0 * 2f32.powf(0.3 / 12.0)).unwrap();
        assert_eq!((n, c.round()), (69, 30.0));
        let (n, c) = note_and_cents(261.63 * 2f32.powf(-0.45 / 12.0)).unwrap();
        assert_eq!((n, c.round()), (60, -45.0));
        assert_eq!(note_and_cents(0.0), None);
        assert_eq!(note_and_cents(f32::NAN), None);
    }

    #[test]
    fn an_onset_flashes_then_goes_dark_and_is_counted() {
        let t0 = Instant::now();
        let mut s = Screen::new("test".into(), 1000.0, 1, false);
        assert!(!s.flashing(t0));
        s.on_event(&onset(1500), t0);
        assert!(s.flashing(t0 + FLASH / 2));
        assert!(!s.flashing(t0 + FLASH));
        let lines = s.lines(t0, false);
        let row = lines.iter().find(|l| l.starts_with("onset")).unwrap();
        assert!(row.contains("(*) 1 onsets, last at 1.500 s"), "{row}");
        let later = s.lines(t0 + FLASH * 2, false);
        assert!(later.iter().any(|l| l.starts_with("onset  ( ) 1 onsets")));
    }

    #[test]
    fn meters_show_levels_and_fall_back_gently() {
        let t0 = Instant::now();
        let mut s = Screen::new("t".into(), 48_000.0, 2, true);
        let snap = Snapshot {
            input: [1.0, 0.1],
            output: [0.5, 0.0],
            overruns: 3,
            dropped: 1,
            ..Default::default()
        };
        s.update(&snap, t0);
        let lines = s.lines(t0, false);
        assert!(
            lines[1].contains("[########################]    0.0 dB"),
            "{}",
            lines[1]
        );
        assert!(lines[1].contains("-20.0 dB"), "{}", lines[1]);
        assert!(
            lines[2].contains("-6.0 dB") && lines[2].contains("-inf"),
            "{}",
            lines[2]
        );
        assert!(lines
            .iter()
            .any(|l| l.contains("overruns 3") && l.contains("dropped events 1")));
        // Half a second of silence later the peak has fallen 12 dB, not vanished.
        s.update(&Snapshot::default(), t0 + Duration::from_millis(500));
        assert!(s.lines(t0, false)[1].contains("-12.0 dB"));
    }

    #[test]
    fn rows_waiting_for_the_engine_say_so_plainly() {
        let s = Screen::new("t".into(), 48_000.0, 1, false);
        let lines = s.lines(Instant::now(), false);
        for row in ["pitch  --", "note   --", "stems  --"] {
            assert!(lines.iter().any(|l| l == row), "{row} in {lines:?}");
        }
    }

    #[test]
    fn the_stem_row_shows_each_stem_level() {
        let mut s = Screen::new("t".into(), 48_000.0, 2, true);
        let now = Instant::now();
        let snap = Snapshot {
            stems: Some([1.0, 0.1, 0.0, 0.5, 0.01]),
            ..Snapshot::default()
        };
        s.update(&snap, now);
        let lines = s.lines(now, false);
        let row = lines.iter().find(|l| l.starts_with("stems")).unwrap();
        assert!(
            row.contains("harmonic   0.0 dB")
                && row.contains("percussive -20.0 dB")
                && row.contains("accompaniment -40.0 dB"),
            "{row}"
        );
    }

    #[test]
    fn pitch_and_note_rows_follow_the_events() {
        let mut s = Screen::new("t".into(), 48_000.0, 1, false);
        let now = Instant::now();
        let at = |event| Emitted {
            event,
            emitted_at: 0,
        };
        s.on_event(
            &at(Event::Pitch {
                sample: 0,
                f0_hz: 446.0,
                voiced_prob: 0.9,
                confidence: 0.8,
            }),
            now,
        );
        s.on_event(
            &at(Event::NoteOn {
                sample: 0,
                midi_note: 69,
                velocity: 90,
            }),
            now,
        );
        let lines = s.lines(now, false);
        assert!(lines.iter().any(|l| l.starts_with("pitch  A4")
            && l.contains("+23 cents")
            && l.contains("446.0 Hz")));
        assert!(
            lines.iter().any(|l| l == "note   A4 (MIDI 69)"),
            "{lines:?}"
        );
        // Unvoiced frames clear the pitch; the note ends with its NoteOff only.
        s.on_event(
            &at(Event::Pitch {
                sample: 1,
                f0_hz: 0.0,
                voiced_prob: 0.1,
                confidence: 0.0,
            }),
            now,
        );
        s.on_event(
            &at(Event::NoteOff {
                sample: 1,
                midi_note: 60,
            }),
            now,
        );
        let lines = s.lines(now, false);
        assert!(lines.iter().any(|l| l == "pitch  --"), "{lines:?}");
        assert!(
            lines.iter().any(|l| l == "note   A4 (MIDI 69)"),
            "{lines:?}"
        );
        s.on_event(
            &at(Event::NoteOff {
                sample: 2,
                midi_note: 69,
            }),
            now,
        );
        assert!(s.lines(now, false).iter().any(|l| l == "note   --"));
    }

    #[test]
    fn the_terminal_redraws_in_place() {
        let mut buf = Vec::new();
        {
            let mut t = Terminal::new(&mut buf);
            t.draw(&["a".into(), "b".into()]);
            t.draw(&["c".into(), "d".into()]);
            t.close();
        }
        let text = String::from_utf8(buf).unwrap();
        assert_eq!(text.matches("\x1b[2A").count(), 1);
        assert!(text.ends_with("\x1b[?25h"));
    }
}
