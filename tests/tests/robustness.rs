//! Property-based robustness: random configurations (onsets, pitch, notes, melody and the
//! separation with its stems), random block sizes, parameter changes from a second thread while
//! audio runs (stem gains included), and hostile input (NaN, infinities, denormals, +-1e30, DC,
//! silence runs, full-scale noise). Whatever happens: no panic, finite output, a constant audio
//! latency, finite stems, events of each kind in order with finite values, and every `NoteOn`
//! closed by its `NoteOff` once the stream ends (`Engine::finish`).
//!
//! The suite runs a bounded number of cases (`PROPTEST_CASES`, default 200). For a long run:
//! `PROPTEST_CASES=5000 cargo test --release -p cochlea-tests --test robustness`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use cochlea_engine::separation::Stem;
use cochlea_engine::{Engine, EngineConfig, Event, OnsetMethod, Output, SeparationConfig};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Segment {
    Silence(usize),
    Dc(usize, f32),
    Noise(usize, f32, u64),
    Sine(usize, f32, f32),
    Clicks(usize, usize),
    Hostile(usize, f32),
}

fn render(segments: &[Segment], sr: f64) -> Vec<f32> {
    let mut out = Vec::new();
    for s in segments {
        match *s {
            Segment::Silence(n) => out.extend(std::iter::repeat_n(0.0, n)),
            Segment::Dc(n, v) => out.extend(std::iter::repeat_n(v, n)),
            Segment::Noise(n, amp, seed) => {
                let mut x = seed | 1;
                out.extend((0..n).map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    amp * ((x >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0)
                }))
            }
            Segment::Sine(n, f, amp) => out.extend((0..n).map(|i| {
                amp * (2.0 * std::f64::consts::PI * f as f64 * i as f64 / sr).sin() as f32
            })),
            Segment::Clicks(n, every) => {
                out.extend((0..n).map(|i| if i % every.max(1) == 0 { 0.9 } else { 0.0 }))
            }
            Segment::Hostile(n, v) => out.extend(std::iter::repeat_n(v, n)),
        }
    }
    out
}

fn segment() -> impl Strategy<Value = Segment> {
    let n = 1usize..20_000;
    prop_oneof![
        n.clone().prop_map(Segment::Silence),
        (n.clone(), -2.0f32..2.0).prop_map(|(n, v)| Segment::Dc(n, v)),
        (n.clone(), 0.0f32..1.5, any::<u64>()).prop_map(|(n, a, s)| Segment::Noise(n, a, s)),
        (n.clone(), 20.0f32..5_000.0, 0.0f32..1.0).prop_map(|(n, f, a)| Segment::Sine(n, f, a)),
        (n.clone(), 50usize..5_000).prop_map(|(n, e)| Segment::Clicks(n, e)),
        (
            n,
            prop_oneof![
                Just(f32::NAN),
                Just(f32::INFINITY),
                Just(f32::NEG_INFINITY),
                Just(1e-41f32),
                Just(1e30f32),
                Just(-1e30f32),
                Just(f32::MAX),
            ]
        )
            .prop_map(|(n, v)| Segment::Hostile(n, v)),
    ]
}

/// Separation settings across their whole ranges (off in half the cases: it is the costly stage).
fn separation() -> impl Strategy<Value = SeparationConfig> {
    (
        any::<bool>(),
        (0.002f64..0.02, 4u32..=16, 0u32..=16, 0.0f64..4.0),
        (
            1.0f32..99.0,
            50.0f64..4000.0,
            0.5f32..8.0,
            1.0f32..8.0,
            1.0f32..8.0,
        ),
        (
            500.0f64..20_000.0,
            5.0f32..200.0,
            0.0f32..200.0,
            0.0f32..0.2,
        ),
        proptest::array::uniform5(0.0f32..4.0),
    )
        .prop_map(
            |(enabled, (hop, frame_hops, la, history), (pct, width, power, bh, bp), m, gains)| {
                SeparationConfig {
                    enabled,
                    hop_s: hop,
                    frame_hops,
                    lookahead_frames: la,
                    history_s: history,
                    harmonic_percentile: pct,
                    percussive_width_hz: width,
                    mask_power: power,
                    harmonic_margin: bh,
                    percussive_margin: bp,
                    melody_max_hz: m.0,
                    melody_width_cents: m.1,
                    melody_min_width_hz: m.2,
                    melody_gate_s: m.3,
                    gains,
                }
            },
        )
}

fn config() -> impl Strategy<Value = EngineConfig> {
    (
        prop_oneof![
            Just(8_000.0),
            Just(22_050.0),
            Just(44_100.0),
            Just(48_000.0),
            Just(96_000.0),
            8_000.0f64..192_000.0
        ],
        1usize..=2,
        1usize..=4096,
        0usize..5,
        (0.0f32..=1.0, 0.0f32..=1.0, -120.0f32..=0.0, 0u32..=8),
        (0.01f64..0.1, 0.002f64..0.01),
        (
            any::<bool>(),
            any::<bool>(),
            30.0f64..300.0,
            2.0f64..20.0,
            0u32..6,
        ),
        (separation(), any::<bool>()),
    )
        .prop_map(
            |(
                sr,
                ch,
                max_block,
                m,
                (sens, ioi, gate, la),
                (window, hop),
                (pitch, notes, fmin, span, lag),
                (separation, melody),
            )| {
                let mut c = EngineConfig::new(sr, ch, max_block);
                // Small, so drops happen, unless notes run: their pairing is checked.
                c.event_capacity = if notes { 1 << 14 } else { 64 };
                c.pitch.enabled = pitch;
                c.notes.enabled = notes;
                c.pitch.fmin_hz = fmin;
                c.pitch.fmax_hz = (fmin * span).min(5_000.0).min(sr / 4.0).max(2.0 * fmin);
                c.pitch.lag_frames = lag;
                c.onset.method = OnsetMethod::ALL[m];
                c.onset.sensitivity = sens;
                c.onset.min_interval_s = ioi;
                c.onset.silence_gate_db = gate;
                c.onset.lookahead_frames = la;
                c.onset.window_s = window;
                c.onset.hop_s = hop;
                c.separation = separation;
                c.melody.enabled = melody;
                c
            },
        )
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn the_engine_survives_anything(
        config in config(),
        segments in proptest::collection::vec(segment(), 1..8),
        block_seed in any::<u64>(),
    ) {
        let sr = config.sample_rate;
        let channels = config.channels;
        let max_block = config.max_block_size;
        let (mut engine, mut rx) = Engine::new(config).expect("generated configs are valid");
        let audio_latency = engine.latency_samples(Output::Audio);
        let signal = render(&segments, sr);
        let right: Vec<f32> = signal.iter().map(|x| -x).collect();

        // A second thread changes every run-time parameter while audio runs.
        let handle = engine.handle();
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let changer = std::thread::spawn(move || {
            let mut i = 0u32;
            while !stop2.load(Ordering::Relaxed) {
                handle.set_onset_method(OnsetMethod::ALL[(i % 5) as usize]);
                let _ = handle.set_onset_sensitivity((i % 13) as f32 / 12.0);
                let _ = handle.set_onset_min_interval((i % 7) as f32 / 20.0);
                let _ = handle.set_onset_silence_gate(-((i % 120) as f32));
                let _ = handle.set_onset_lookahead(i % 9);
                let _ = handle.set_pitch_voicing_threshold((i % 11) as f32 / 10.0);
                let _ = handle.set_pitch_silence_gate(-((i % 100) as f32));
                let _ = handle.set_notes_min_length(0.01 + (i % 20) as f32 / 100.0);
                let _ = handle.set_notes_stability(10.0 + (i % 10) as f32 * 10.0);
                let _ = handle.set_stem_gain(Stem::ALL[(i % 5) as usize], (i % 9) as f32 / 2.0);
                i = i.wrapping_add(1);
                std::thread::yield_now();
            }
        });

        // With the separation on, half the cases also take every stem.
        let mut stems = (engine.config().separation.enabled && block_seed & 2 != 0)
            .then(|| engine.make_stem_outputs());
        let mut out_l = vec![0.0f32; max_block];
        let mut out_r = vec![0.0f32; max_block];
        let mut x = block_seed | 1;
        let mut start = 0;
        let mut last_onset = None;
        let mut last_pitch = None;
        let mut last_melody = None;
        let mut sounding: Option<(u8, u64)> = None;
        let mut failure = None;
        let mut check = |ev: Event, failure: &mut Option<String>| match ev {
            Event::Onset { sample, strength } => {
                if !strength.is_finite() {
                    *failure = Some(format!("non-finite strength at {sample}"));
                }
                if last_onset.is_some_and(|l| sample <= l) {
                    *failure = Some(format!("onset at {sample} after one at {last_onset:?}"));
                }
                last_onset = Some(sample);
            }
            Event::Pitch { sample, f0_hz, voiced_prob, confidence } => {
                if !(f0_hz.is_finite() && voiced_prob.is_finite() && confidence.is_finite()) {
                    *failure = Some(format!("non-finite pitch event at {sample}"));
                }
                if last_pitch.is_some_and(|l| sample <= l) {
                    *failure = Some(format!("pitch at {sample} after one at {last_pitch:?}"));
                }
                last_pitch = Some(sample);
            }
            Event::Melody { sample, f0_hz, salience } => {
                if !(f0_hz.is_finite() && salience.is_finite()) {
                    *failure = Some(format!("non-finite melody event at {sample}"));
                }
                if last_melody.is_some_and(|l| sample <= l) {
                    *failure = Some(format!("melody at {sample} after one at {last_melody:?}"));
                }
                last_melody = Some(sample);
            }
            Event::NoteOn { sample, midi_note, velocity } => {
                if let Some((n, at)) = sounding {
                    *failure = Some(format!("NoteOn {midi_note} at {sample} while {n} from {at} sounds"));
                }
                if midi_note > 127 || !(1..=127).contains(&velocity) {
                    *failure = Some(format!("NoteOn {midi_note} velocity {velocity}"));
                }
                sounding = Some((midi_note, sample));
            }
            Event::NoteOff { sample, midi_note } => match sounding.take() {
                Some((n, at)) if n == midi_note && sample >= at => {}
                other => *failure = Some(format!("NoteOff {midi_note} at {sample}, sounding {other:?}")),
            },
            _ => {}
        };
        while start < signal.len() && failure.is_none() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x as usize % max_block + 1).min(signal.len() - start);
            let l = &signal[start..start + len];
            let r = &right[start..start + len];
            let input: &[&[f32]] = if channels == 2 { &[l, r] } else { &[l] };
            let (ol, or) = (&mut out_l[..len], &mut out_r[..len]);
            let mut output: Vec<&mut [f32]> = if channels == 2 { vec![ol, or] } else { vec![ol] };
            let result = match &mut stems {
                Some(st) => engine.process_stems(input, &mut output, st),
                None => engine.process(input, &mut output),
            };
            let stems_finite = stems.as_ref().is_none_or(|st| {
                Stem::ALL.iter().all(|&stem| {
                    (0..channels).all(|c| st.channel(stem, c).iter().all(|v| v.is_finite()))
                })
            });
            if let Err(e) = result {
                failure = Some(format!("process refused a valid block: {e}"));
            } else if out_l[..len].iter().chain(&out_r[..len]).any(|v| !v.is_finite()) {
                failure = Some(format!("non-finite output at {start}"));
            } else if !stems_finite {
                failure = Some(format!("non-finite stem at {start}"));
            } else if engine.latency_samples(Output::Audio) != audio_latency {
                failure = Some("audio latency changed".into());
            }
            for ev in rx.drain() {
                check(ev, &mut failure);
            }
            start += len;
        }
        // The end of the stream closes a sounding note.
        engine.finish();
        for ev in rx.drain() {
            check(ev, &mut failure);
        }
        if failure.is_none() && rx.dropped() == 0 {
            if let Some((n, at)) = sounding {
                failure = Some(format!("NoteOn {n} at {at} never closed"));
            }
        }
        stop.store(true, Ordering::Relaxed);
        changer.join().unwrap();
        prop_assert!(failure.is_none(), "{}", failure.unwrap());
    }
}
