//! The real-time contract for pitch and notes: block-size invariance, no allocation on the
//! process path (including parameter changes, `finish` and `reset`), hostile input, reset equals
//! fresh, and every `NoteOn` closed by a `NoteOff`.

use assert_no_alloc::{assert_no_alloc, reset_violation_count, violation_count, AllocDisabler};
use cochlea::audio::read_audio;
use cochlea_engine::{Engine, EngineConfig, Event, EventReceiver, Output};
use cochlea_tests::corpus::test_data;
use cochlea_tests::signals::{noise, rng, run_blocks, sine, Run};
use rand::Rng;

#[global_allocator]
static ALLOCATOR: AllocDisabler = AllocDisabler;

const SR: f64 = 44_100.0;

/// Six seconds of a real melody (flute, from the test data) in stereo, the right channel
/// quieter.
fn melody() -> [Vec<f32>; 2] {
    let audio = read_audio(&test_data().join("pitch/p003_flute.flac")).expect("test data");
    let n = (6.0 * SR) as usize;
    let left = audio.channels[0][..n].to_vec();
    let right: Vec<f32> = left.iter().map(|x| 0.6 * x).collect();
    [left, right]
}

fn engine(max_block: usize) -> (Engine, EventReceiver) {
    let mut c = EngineConfig::new(SR, 2, max_block);
    c.pitch.enabled = true;
    c.notes.enabled = true;
    c.event_capacity = 1 << 15;
    Engine::new(c).expect("valid config")
}

fn run_with(signal: &[Vec<f32>; 2], blocks: &[usize]) -> Run {
    let (mut e, mut rx) = engine(4096);
    let mut run = run_blocks(&mut e, &mut rx, &[&signal[0], &signal[1]], blocks);
    e.finish();
    run.events.extend(rx.drain());
    run
}

fn count(run: &Run, f: impl Fn(&Event) -> bool) -> usize {
    run.events.iter().filter(|e| f(e)).count()
}

/// Every NoteOn is followed by its NoteOff before the same note starts again, notes never
/// overlap (the tracker is monophonic), and nothing is left on at the end.
fn assert_notes_closed(events: &[Event]) {
    let mut on: Option<(u8, u64)> = None;
    for e in events {
        match *e {
            Event::NoteOn {
                sample, midi_note, ..
            } => {
                assert!(
                    on.is_none(),
                    "NoteOn {midi_note} at {sample} while {on:?} sounds"
                );
                on = Some((midi_note, sample));
            }
            Event::NoteOff { sample, midi_note } => {
                let (n, start) = on.take().expect("NoteOff without NoteOn");
                assert_eq!(n, midi_note);
                assert!(sample >= start);
            }
            _ => {}
        }
    }
    assert!(on.is_none(), "{on:?} left sounding");
}

#[test]
fn any_block_segmentation_gives_identical_pitch_and_notes() {
    let signal = melody();
    let mut r = rng(7);
    let random: Vec<usize> = (0..2000).map(|_| r.gen_range(1..=4096)).collect();
    let patterns: [&[usize]; 6] = [&[4096], &[1], &[7], &[64], &[480], &random];
    let reference = run_with(&signal, patterns[0]);
    let pitch = count(&reference, |e| matches!(e, Event::Pitch { .. }));
    let voiced = count(
        &reference,
        |e| matches!(e, Event::Pitch { f0_hz, .. } if *f0_hz > 0.0),
    );
    let notes = count(&reference, |e| matches!(e, Event::NoteOn { .. }));
    assert!(
        pitch > 1000 && voiced > 500 && notes > 10,
        "{pitch} {voiced} {notes}"
    );
    assert_notes_closed(&reference.events);
    for p in &patterns[1..] {
        let run = run_with(&signal, p);
        assert_eq!(
            run.events,
            reference.events,
            "blocks {:?}...",
            &p[..p.len().min(3)]
        );
        assert_eq!(run.audio, reference.audio);
    }
}

#[test]
fn process_parameter_changes_finish_and_reset_never_allocate() {
    reset_violation_count();
    assert_no_alloc(|| drop(std::hint::black_box(vec![1u8; 16])));
    assert!(
        violation_count() > 0,
        "assert_no_alloc did not see an allocation"
    );
    reset_violation_count();

    let signal = melody();
    let (mut e, mut rx) = engine(512);
    let handle = e.handle();
    let mut out = [vec![0.0f32; 512], vec![0.0f32; 512]];
    let (mut pitch, mut notes) = (0, 0);
    assert_no_alloc(|| {
        for (i, (l, r)) in signal[0].chunks(512).zip(signal[1].chunks(512)).enumerate() {
            let (ol, or) = out.split_at_mut(1);
            e.process(&[l, r], &mut [&mut ol[0][..l.len()], &mut or[0][..r.len()]])
                .unwrap();
            handle
                .set_pitch_voicing_threshold(0.3 + (i % 5) as f32 * 0.1)
                .unwrap();
            handle
                .set_pitch_silence_gate(-70.0 + (i % 3) as f32)
                .unwrap();
            handle
                .set_notes_min_length(0.02 + (i % 4) as f32 * 0.02)
                .unwrap();
            handle
                .set_notes_stability(40.0 + (i % 3) as f32 * 10.0)
                .unwrap();
            let _ = e.latency_samples(Output::Notes);
            let _ = e.max_event_delay_samples(Output::Notes);
            while let Some(ev) = rx.pop() {
                match ev {
                    Event::Pitch { .. } => pitch += 1,
                    Event::NoteOn { .. } => notes += 1,
                    _ => {}
                }
            }
            if i % 150 == 149 {
                e.finish();
            }
            if i % 200 == 199 {
                e.reset();
            }
        }
    });
    assert_eq!(violation_count(), 0, "the process path allocated");
    assert!(pitch > 500 && notes > 5, "{pitch} {notes}");
}

#[test]
fn hostile_input_never_panics_and_tracking_resumes() {
    let n = SR as usize;
    let hostile: Vec<(&str, Vec<f32>)> = vec![
        ("nan", vec![f32::NAN; n]),
        (
            "inf",
            (0..n)
                .map(|i| {
                    if i % 2 == 0 {
                        f32::INFINITY
                    } else {
                        f32::NEG_INFINITY
                    }
                })
                .collect(),
        ),
        ("denormal", vec![1e-41; n]),
        (
            "huge",
            (0..n)
                .map(|i| if i % 3 == 0 { 1e30 } else { -1e30 })
                .collect(),
        ),
        ("dc", vec![1.0; n]),
        ("full-scale noise", noise(n, 1.0, 3)),
        (
            "mixed",
            (0..n)
                .map(|i| [f32::NAN, 0.3, f32::INFINITY, 1e-40, -1e25][i % 5])
                .collect(),
        ),
    ];
    let tone = sine(SR, 1.0, 220.0, 0.4);
    for (name, bad) in &hostile {
        let (mut e, mut rx) = engine(1024);
        let mut x = bad.clone();
        x.extend(std::iter::repeat_n(0.0, n / 2));
        x.extend(&tone);
        let mut run = run_blocks(&mut e, &mut rx, &[&x, &x], &[1024, 333]);
        e.finish();
        run.events.extend(rx.drain());
        for ev in &run.events {
            if let Event::Pitch {
                f0_hz,
                voiced_prob,
                confidence,
                ..
            } = ev
            {
                assert!(f0_hz.is_finite() && voiced_prob.is_finite() && confidence.is_finite());
                assert!((0.0..=1.0).contains(voiced_prob) && (0.0..=1.0).contains(confidence));
            }
        }
        assert!(run.audio.iter().flatten().all(|x| x.is_finite()));
        assert_notes_closed(&run.events);
        // The tone after the hostile second is found: voiced at 220 Hz in its middle.
        let start = (1.5 * SR) as u64;
        let mid: Vec<f32> = run
            .events
            .iter()
            .filter_map(|ev| match *ev {
                Event::Pitch { sample, f0_hz, .. }
                    if sample > start + (0.3 * SR) as u64 && sample < start + (0.7 * SR) as u64 =>
                {
                    Some(f0_hz)
                }
                _ => None,
            })
            .collect();
        assert!(!mid.is_empty(), "{name}");
        assert!(
            mid.iter().all(|f| (f - 220.0).abs() < 1.5),
            "{name}: {:?}",
            &mid[..mid.len().min(5)]
        );
        let near = |s: u64| s.abs_diff(start) < (0.02 * SR) as u64;
        let a = run
            .events
            .iter()
            .any(|ev| matches!(*ev, Event::NoteOn { sample, midi_note: 57, .. } if near(sample)));
        assert!(a, "{name}: no note A3 for the tone");
    }
}

#[test]
fn reset_gives_the_same_output_as_a_fresh_engine_and_closes_the_sounding_note() {
    let signal = melody();
    let half = signal[0].len() / 2;
    let (mut fresh, mut fresh_rx) = engine(512);
    let expected = run_blocks(
        &mut fresh,
        &mut fresh_rx,
        &[&signal[0][half..], &signal[1][half..]],
        &[512],
    );
    let (mut e, mut rx) = engine(512);
    // Stop in the middle of a note: the first half ends while the flute plays.
    let first = run_blocks(
        &mut e,
        &mut rx,
        &[&signal[0][..half], &signal[1][..half]],
        &[300],
    );
    let ons = count(&first, |e| matches!(e, Event::NoteOn { .. }));
    let offs = count(&first, |e| matches!(e, Event::NoteOff { .. }));
    assert_eq!(ons, offs + 1, "the test needs a note sounding at the reset");
    e.reset();
    assert_eq!(e.position(), 0);
    let closing: Vec<Event> = rx.drain().collect();
    assert!(
        matches!(closing.as_slice(), [Event::NoteOff { .. }]),
        "{closing:?}"
    );
    let mut all = first.events.clone();
    all.extend(&closing);
    assert_notes_closed(&all);
    let again = run_blocks(
        &mut e,
        &mut rx,
        &[&signal[0][half..], &signal[1][half..]],
        &[512],
    );
    assert_eq!(again, expected);
}

#[test]
fn finish_closes_the_sounding_note_once() {
    let tone = sine(SR, 1.0, 440.0, 0.4);
    let (mut e, mut rx) = engine(256);
    let run = run_blocks(&mut e, &mut rx, &[&tone, &tone], &[256]);
    assert_eq!(
        count(&run, |e| matches!(e, Event::NoteOn { midi_note: 69, .. })),
        1
    );
    assert_eq!(count(&run, |e| matches!(e, Event::NoteOff { .. })), 0);
    e.finish();
    let closing: Vec<Event> = rx.drain().collect();
    assert_eq!(closing.len(), 1);
    match closing[0] {
        Event::NoteOff { sample, midi_note } => {
            assert_eq!(midi_note, 69);
            // Stamped at the end of the last frame decided.
            let decided_end = e.position() - e.latency_samples(Output::Pitch) as u64;
            assert!(sample.abs_diff(decided_end) <= e.pitch_hop_samples() as u64);
        }
        ref other => panic!("{other:?}"),
    }
    e.finish();
    assert!(rx.pop().is_none(), "a second finish sends nothing");
}

#[test]
fn invalid_pitch_and_note_settings_are_refused_with_a_specific_error() {
    use cochlea_engine::ConfigError;
    let bad = |f: &dyn Fn(&mut EngineConfig)| {
        let mut c = EngineConfig::new(SR, 1, 256);
        c.pitch.enabled = true;
        f(&mut c);
        Engine::new(c).err().expect("must be refused")
    };
    for (name, f) in [
        (
            "pitch.fmin_hz",
            &(|c: &mut EngineConfig| c.pitch.fmin_hz = 10.0) as &dyn Fn(&mut EngineConfig),
        ),
        ("pitch.fmax_hz", &|c: &mut EngineConfig| {
            c.pitch.fmax_hz = 100.0
        }),
        ("pitch.fmax_hz", &|c: &mut EngineConfig| {
            c.pitch.fmax_hz = 12_000.0
        }),
        ("pitch.hop_s", &|c: &mut EngineConfig| c.pitch.hop_s = 0.05),
        ("pitch.lag_frames", &|c: &mut EngineConfig| {
            c.pitch.lag_frames = 99
        }),
        ("pitch.voicing_threshold", &|c: &mut EngineConfig| {
            c.pitch.voicing_threshold = 1.5
        }),
        ("notes.min_note_s", &|c: &mut EngineConfig| {
            c.notes.min_note_s = 0.5
        }),
        ("notes.stability_cents", &|c: &mut EngineConfig| {
            c.notes.stability_cents = f32::NAN
        }),
    ] {
        match bad(f) {
            ConfigError::OutOfRange { name: n, .. } => assert_eq!(n, name),
            other => panic!("{name}: {other:?}"),
        }
    }
    let handle = engine(64).0.handle();
    assert!(handle.set_notes_min_length(0.5).is_err());
    assert!(handle.set_pitch_voicing_threshold(-0.1).is_err());
    assert_eq!(handle.pitch_voicing_threshold(), 0.5);
}

#[test]
fn stated_latencies() {
    let (e, _rx) = engine(256);
    let hop = e.pitch_hop_samples();
    // Frame of two periods of 60 Hz at half the rate, centred, the decimation filter's 16
    // samples, plus two frames of smoothing.
    let period = (SR / 2.0 / 60.0).ceil() as usize + 1;
    assert_eq!(
        e.latency_samples(Output::Pitch),
        2 * (period - 1) + 1 + 16 + 2 * hop
    );
    assert!(e.latency_samples(Output::Pitch) as f64 <= 0.030 * SR);
    let notes = e.latency_samples(Output::Notes);
    e.handle().set_notes_min_length(0.1).unwrap();
    assert!(e.latency_samples(Output::Notes) > notes);
    assert!(e.max_event_delay_samples(Output::Notes) >= e.latency_samples(Output::Notes));
    // With notes off there is no note latency.
    let mut c = EngineConfig::new(SR, 1, 64);
    c.pitch.enabled = true;
    let (e, _rx) = Engine::new(c).unwrap();
    assert_eq!(e.latency_samples(Output::Notes), 0);
    assert!(e.latency_samples(Output::Pitch) > 0);
}
