//! Notes on known signals: detached melodies, legato changes, retriggers, glitches inside a held
//! note, blips shorter than the minimum note length, velocity, vibrato, and emission latency.

use cochlea_engine::{Engine, EngineConfig, Event, Output};
use cochlea_tests::signals::vibrato_tone;

const SR: f64 = 44_100.0;

/// One segment of a synthetic performance: a harmonic tone of `midi` (or silence for `None`)
/// for `len_s`, at `gain`.
#[derive(Clone, Copy)]
struct Seg {
    midi: Option<f64>,
    len_s: f64,
    gain: f64,
}

fn seg(midi: f64, len_s: f64) -> Seg {
    Seg {
        midi: Some(midi),
        len_s,
        gain: 0.3,
    }
}

fn rest(len_s: f64) -> Seg {
    Seg {
        midi: None,
        len_s,
        gain: 0.0,
    }
}

/// Renders segments with a continuous phase (a legato change does not click), each tone with a
/// 5 ms attack; the gain moves to each segment's over 2 ms.
fn render(segs: &[Seg]) -> Vec<f32> {
    let mut x = Vec::new();
    let mut phase = 0.0f64;
    let mut gain = 0.0f64;
    for s in segs {
        let n = (s.len_s * SR) as usize;
        let f = s.midi.map_or(0.0, |m| 440.0 * 2f64.powf((m - 69.0) / 12.0));
        for i in 0..n {
            let target = if s.midi.is_some() { s.gain } else { 0.0 };
            gain += (target - gain) * (1.0 - (-1.0 / (0.002 * SR)).exp());
            let attack = (i as f64 / (0.005 * SR)).min(1.0);
            let a = if s.midi.is_some() {
                gain * attack.max(0.2)
            } else {
                gain
            };
            phase += 2.0 * std::f64::consts::PI * f / SR;
            let v: f64 = (1..=6).map(|h| (h as f64 * phase).sin() / h as f64).sum();
            x.push((a * v * 0.6) as f32);
        }
    }
    x
}

/// Start times (s) of each segment.
fn starts(segs: &[Seg]) -> Vec<f64> {
    let mut t = 0.0;
    segs.iter()
        .map(|s| {
            let at = t;
            t += s.len_s;
            at
        })
        .collect()
}

/// A note: start (s), end (s), MIDI note, velocity, emission position (samples).
#[derive(Debug, Clone, Copy)]
struct N {
    on: f64,
    off: f64,
    midi: u8,
    vel: u8,
    emitted: u64,
}

fn notes_of(x: &[f32], tweak: impl Fn(&mut EngineConfig)) -> (Vec<N>, Engine) {
    let mut c = EngineConfig::new(SR, 1, 64);
    c.onset.enabled = false;
    c.notes.enabled = true;
    tweak(&mut c);
    let (mut e, mut rx) = Engine::new(c).unwrap();
    let mut out = vec![0.0f32; 64];
    let mut events = vec![];
    for b in x.chunks(64) {
        e.process(&[b], &mut [&mut out[..b.len()]]).unwrap();
        events.extend(rx.drain().map(|ev| (ev, e.position())));
    }
    e.finish();
    events.extend(rx.drain().map(|ev| (ev, e.position())));
    let mut notes: Vec<N> = vec![];
    for (ev, at) in events {
        match ev {
            Event::NoteOn {
                sample,
                midi_note,
                velocity,
            } => notes.push(N {
                on: sample as f64 / SR,
                off: f64::NAN,
                midi: midi_note,
                vel: velocity,
                emitted: at,
            }),
            Event::NoteOff { sample, midi_note } => {
                let last = notes.last_mut().expect("NoteOff without NoteOn");
                assert_eq!(last.midi, midi_note);
                assert!(last.off.is_nan(), "two NoteOffs");
                last.off = sample as f64 / SR;
            }
            Event::Pitch { .. } => panic!("pitch events are off"),
            _ => {}
        }
    }
    assert!(
        notes.iter().all(|n| !n.off.is_nan()),
        "a note left on: {notes:?}"
    );
    (notes, e)
}

fn close(a: f64, b: f64, tol_s: f64) -> bool {
    (a - b).abs() <= tol_s
}

#[test]
fn a_detached_melody_gives_its_notes() {
    let midis = [60.0, 62.0, 64.0, 65.0, 67.0, 45.0, 81.0, 67.0, 67.0];
    let mut segs = vec![rest(0.3)];
    for &m in &midis {
        segs.push(seg(m, 0.25));
        segs.push(rest(0.08));
    }
    let x = render(&segs);
    let t = starts(&segs);
    let (notes, _) = notes_of(&x, |_| {});
    assert_eq!(notes.len(), midis.len(), "{notes:?}");
    for (k, (n, &m)) in notes.iter().zip(&midis).enumerate() {
        assert_eq!(n.midi as f64, m, "{k}: {notes:?}");
        let (on, off) = (t[1 + 2 * k], t[2 + 2 * k]);
        assert!(
            close(n.on, on, 0.02),
            "{k}: starts {:.3} s, not {on:.3} s",
            n.on
        );
        assert!(
            close(n.off, off, 0.03),
            "{k}: ends {:.3} s, not {off:.3} s",
            n.off
        );
    }
}

#[test]
fn a_legato_change_starts_a_new_note_without_an_onset() {
    let segs = [
        rest(0.2),
        seg(64.0, 0.5),
        seg(67.0, 0.5),
        seg(62.0, 0.5),
        rest(0.3),
    ];
    let t = starts(&segs);
    for use_onsets in [true, false] {
        let (notes, _) = notes_of(&render(&segs), |c| c.notes.use_onsets = use_onsets);
        let midis: Vec<u8> = notes.iter().map(|n| n.midi).collect();
        assert_eq!(midis, vec![64, 67, 62], "onsets {use_onsets}: {notes:?}");
        for k in 0..3 {
            assert!(close(notes[k].on, t[1 + k], 0.03), "{notes:?}");
        }
        // Each note ends where the next begins.
        assert_eq!(notes[0].off, notes[1].on);
        assert_eq!(notes[1].off, notes[2].on);
    }
}

#[test]
fn a_re_attacked_note_is_retriggered_but_a_glitch_is_not() {
    // The same pitch, dipping 20 dB for 25 ms and attacking again.
    let mut re = seg(69.0, 0.4);
    re.gain = 0.03;
    let segs = [
        rest(0.2),
        seg(69.0, 0.5),
        Seg { len_s: 0.025, ..re },
        seg(69.0, 0.5),
        rest(0.3),
    ];
    let t = starts(&segs);
    let (notes, _) = notes_of(&render(&segs), |_| {});
    assert_eq!(
        notes.iter().filter(|n| n.midi == 69).count(),
        2,
        "{notes:?}"
    );
    assert!(close(notes[1].on, t[3], 0.03), "{notes:?}");
    // Without onsets there is nothing to say the note was played again, unless voicing stops.
    let (notes, _) = notes_of(&render(&segs), |c| c.notes.use_onsets = false);
    assert!(notes.len() <= 2, "{notes:?}");

    // A click inside a held note is an onset but not a new note.
    let mut x = render(&[rest(0.2), seg(69.0, 1.2), rest(0.3)]);
    let p = (0.8 * SR) as usize;
    x[p] += 0.8;
    x[p + 1] -= 0.4;
    let (notes, _) = notes_of(&x, |_| {});
    assert_eq!(notes.len(), 1, "{notes:?}");
}

#[test]
fn blips_shorter_than_the_minimum_note_length_are_ignored() {
    // A 20 ms excursion to another pitch inside a held note, then a 120 ms one.
    let segs = [
        rest(0.2),
        seg(60.0, 0.4),
        seg(65.0, 0.02),
        seg(60.0, 0.4),
        seg(65.0, 0.12),
        seg(60.0, 0.4),
        rest(0.3),
    ];
    let (notes, _) = notes_of(&render(&segs), |c| c.notes.min_note_s = 0.05);
    let midis: Vec<u8> = notes.iter().map(|n| n.midi).collect();
    assert_eq!(midis, vec![60, 65, 60], "{notes:?}");
}

#[test]
fn velocity_follows_loudness() {
    let mut loud = seg(67.0, 0.4);
    loud.gain = 0.6;
    let mut soft = seg(67.0, 0.4);
    soft.gain = 0.03;
    let (notes, _) = notes_of(
        &render(&[rest(0.2), loud, rest(0.2), soft, rest(0.2)]),
        |_| {},
    );
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert!(notes[0].vel > notes[1].vel + 30, "{notes:?}");
    assert!(notes.iter().all(|n| (1..=127).contains(&n.vel)));
}

#[test]
fn vibrato_stays_one_note() {
    let mut x = vec![0.0f32; (0.2 * SR) as usize];
    x.extend(vibrato_tone(SR, 2.0, 392.0, 5.5, 40.0, 0.4));
    x.extend(vec![0.0f32; (0.3 * SR) as usize]);
    let (notes, _) = notes_of(&x, |_| {});
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(notes[0].midi, 67);
}

#[test]
fn notes_leave_within_the_stated_delay() {
    let segs = [
        rest(0.2),
        seg(57.0, 0.3),
        rest(0.1),
        seg(59.0, 0.3),
        seg(60.0, 0.3),
        rest(0.3),
    ];
    let (notes, e) = notes_of(&render(&segs), |_| {});
    assert_eq!(notes.len(), 3, "{notes:?}");
    let stated = e.latency_samples(Output::Notes) as u64;
    let bound = e.max_event_delay_samples(Output::Notes) as u64;
    let block = 64;
    for n in &notes {
        let delay = n.emitted - (n.on * SR).round() as u64;
        assert!(delay <= bound + block, "{delay} > {bound}");
        // Stamped at the note's first frame or an onset just before it: about the stated
        // latency after it.
        assert!(
            delay + 2 * e.pitch_hop_samples() as u64 >= stated,
            "{delay} < {stated}"
        );
    }
}
