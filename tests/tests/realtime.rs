//! The real-time contract: block-size invariance, no allocation on the process path (including
//! parameter changes), hostile input, and reset equals fresh.

use assert_no_alloc::{assert_no_alloc, reset_violation_count, violation_count, AllocDisabler};
use cochlea::audio::read_audio;
use cochlea_engine::{Engine, EngineConfig, OnsetMethod, Output};
use cochlea_tests::corpus::test_data;
use cochlea_tests::signals::{clicks, noise, rng, run_blocks, Run};
use rand::Rng;

#[global_allocator]
static ALLOCATOR: AllocDisabler = AllocDisabler;

const SR: f64 = 44_100.0;

/// Eight seconds of real music (piano, from the test data) with clicks added, in stereo.
fn music() -> [Vec<f32>; 2] {
    let audio = read_audio(&test_data().join("onsets/o000_piano.flac")).expect("test data");
    let n = (8.0 * SR) as usize;
    let piano = &audio.channels[0][..n];
    let c = clicks(SR, 8.0, &[0.7, 3.3, 6.1]);
    let left: Vec<f32> = piano.iter().zip(&c).map(|(p, c)| p + 0.5 * c).collect();
    let right: Vec<f32> = piano.iter().map(|p| 0.7 * p).collect();
    [left, right]
}

fn engine(method: OnsetMethod, max_block: usize) -> (Engine, cochlea_engine::EventReceiver) {
    let mut c = EngineConfig::new(SR, 2, max_block);
    c.onset.method = method;
    c.event_capacity = 1 << 14;
    Engine::new(c).expect("valid config")
}

fn run_with(method: OnsetMethod, signal: &[Vec<f32>; 2], blocks: &[usize]) -> Run {
    let (mut e, mut rx) = engine(method, 4096);
    run_blocks(&mut e, &mut rx, &[&signal[0], &signal[1]], blocks)
}

#[test]
fn any_block_segmentation_gives_identical_events_and_audio() {
    let signal = music();
    let mut r = rng(42);
    let random: Vec<usize> = (0..1000).map(|_| r.gen_range(1..=4096)).collect();
    let patterns: [&[usize]; 6] = [&[4096], &[1], &[7], &[64], &[480], &random];
    for method in OnsetMethod::ALL {
        let reference = run_with(method, &signal, patterns[0]);
        assert!(
            reference.onsets().len() > 5,
            "{method:?} found too little to compare"
        );
        for p in &patterns[1..] {
            let run = run_with(method, &signal, p);
            assert_eq!(
                run.events,
                reference.events,
                "{method:?}, blocks {:?}...",
                &p[..p.len().min(3)]
            );
            assert_eq!(
                run.audio,
                reference.audio,
                "{method:?} audio, blocks {:?}...",
                &p[..p.len().min(3)]
            );
        }
    }
}

#[test]
fn empty_blocks_are_accepted_and_change_nothing() {
    let signal = music();
    let reference = run_with(OnsetMethod::SuperFlux, &signal, &[512]);
    let run = run_with(OnsetMethod::SuperFlux, &signal, &[0, 512, 0]);
    assert_eq!(run, reference);
}

#[test]
fn process_and_parameter_changes_never_allocate() {
    // The checker itself must catch an allocation, or the test below proves nothing.
    reset_violation_count();
    assert_no_alloc(|| drop(std::hint::black_box(vec![1u8; 16])));
    assert!(
        violation_count() > 0,
        "assert_no_alloc did not see an allocation"
    );
    reset_violation_count();

    let signal = music();
    let (mut e, mut rx) = engine(OnsetMethod::SuperFlux, 512);
    let handle = e.handle();
    let mut out = [vec![0.0f32; 512], vec![0.0f32; 512]];
    let mut found = 0;
    assert_no_alloc(|| {
        for (i, (l, r)) in signal[0].chunks(512).zip(signal[1].chunks(512)).enumerate() {
            let (ol, or) = out.split_at_mut(1);
            e.process(&[l, r], &mut [&mut ol[0][..l.len()], &mut or[0][..r.len()]])
                .unwrap();
            let m = OnsetMethod::ALL[i % 5];
            handle.set_onset_method(m);
            handle
                .set_onset_sensitivity((i % 10) as f32 / 10.0)
                .unwrap();
            handle
                .set_onset_min_interval(0.02 + (i % 3) as f32 * 0.01)
                .unwrap();
            handle
                .set_onset_silence_gate(-80.0 + (i % 4) as f32)
                .unwrap();
            handle.set_onset_lookahead((i % 4) as u32).unwrap();
            let _ = e.latency_samples(Output::Onsets);
            while rx.pop().is_some() {
                found += 1;
            }
            if i % 50 == 0 {
                e.reset();
            }
        }
    });
    assert_eq!(violation_count(), 0, "the process path allocated");
    assert!(found > 0);
}

#[test]
fn parameters_change_from_another_thread_while_audio_runs() {
    let signal = music();
    let (mut e, mut rx) = engine(OnsetMethod::SuperFlux, 256);
    let handle = e.handle();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop2 = stop.clone();
    let writer = std::thread::spawn(move || {
        let mut i = 0u32;
        while !stop2.load(std::sync::atomic::Ordering::Relaxed) {
            handle.set_onset_method(OnsetMethod::ALL[(i % 5) as usize]);
            handle
                .set_onset_sensitivity((i % 11) as f32 / 10.0)
                .unwrap();
            handle.set_onset_lookahead(i % 3).unwrap();
            i = i.wrapping_add(1);
            std::thread::yield_now();
        }
    });
    let mut out = [vec![0.0f32; 256], vec![0.0f32; 256]];
    let mut last = 0;
    reset_violation_count();
    for (l, r) in signal[0].chunks(256).zip(signal[1].chunks(256)) {
        let (ol, or) = out.split_at_mut(1);
        assert_no_alloc(|| {
            e.process(&[l, r], &mut [&mut ol[0][..l.len()], &mut or[0][..r.len()]])
                .unwrap()
        });
        for ev in rx.drain() {
            // Onsets are emitted in order even while the look-ahead changes under the picker.
            assert!(
                ev.sample() >= last || last - ev.sample() < 8 * 256,
                "{} after {last}",
                ev.sample()
            );
            last = last.max(ev.sample());
        }
    }
    assert_eq!(violation_count(), 0);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.join().unwrap();
}

fn assert_finite(run: &Run) {
    for ch in &run.audio {
        assert!(ch.iter().all(|x| x.is_finite()), "non-finite output");
    }
    for ev in &run.events {
        if let cochlea_engine::Event::Onset { strength, .. } = ev {
            assert!(strength.is_finite(), "non-finite strength");
        }
    }
}

#[test]
fn hostile_input_never_panics_and_detection_resumes() {
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
    let click_times = [0.3, 0.8, 1.4];
    let after = clicks(SR, 2.0, &click_times);
    for method in OnsetMethod::ALL {
        for (name, bad) in &hostile {
            let (mut e, mut rx) = engine(method, 1024);
            // Hostile second, a second of silence to let the history clear, then clicks.
            let mut x = bad.clone();
            x.extend(std::iter::repeat_n(0.0, n));
            x.extend(&after);
            let run = run_blocks(&mut e, &mut rx, &[&x, &x], &[1024, 333]);
            assert_finite(&run);
            let late: Vec<u64> = run
                .onsets()
                .into_iter()
                .filter(|&s| s >= 2 * n as u64)
                .collect();
            let hop = e.onset_hop_samples() as i64;
            assert_eq!(
                late.len(),
                click_times.len(),
                "{method:?} after {name}: {late:?}"
            );
            for (s, t) in late.iter().zip(click_times) {
                let want = 2 * n as i64 + (t * SR) as i64;
                assert!(
                    (*s as i64 - want).abs() <= hop,
                    "{method:?} after {name}: {s} vs {want}"
                );
            }
        }
    }
}

#[test]
fn reset_gives_the_same_output_as_a_fresh_engine() {
    let signal = music();
    let half = signal[0].len() / 2;
    for method in OnsetMethod::ALL {
        let (mut fresh, mut fresh_rx) = engine(method, 512);
        let expected = run_blocks(
            &mut fresh,
            &mut fresh_rx,
            &[&signal[0][half..], &signal[1][half..]],
            &[512],
        );
        let (mut e, mut rx) = engine(method, 512);
        run_blocks(
            &mut e,
            &mut rx,
            &[&signal[0][..half], &signal[1][..half]],
            &[300],
        );
        e.reset();
        assert_eq!(e.position(), 0);
        let again = run_blocks(
            &mut e,
            &mut rx,
            &[&signal[0][half..], &signal[1][half..]],
            &[512],
        );
        assert_eq!(again, expected, "{method:?}");
    }
}

#[test]
fn a_full_queue_drops_and_counts_without_blocking() {
    let x = clicks(SR, 3.0, &[0.2, 0.5, 0.8, 1.1, 1.4, 1.7, 2.0, 2.3]);
    let mut c = EngineConfig::new(SR, 1, 512);
    c.event_capacity = 3;
    let (mut e, mut rx) = Engine::new(c).unwrap();
    let mut out = vec![0.0; 512];
    for b in x.chunks(512) {
        e.process(&[b], &mut [&mut out[..b.len()]]).unwrap();
    }
    assert_eq!(rx.len(), 3);
    assert_eq!(rx.dropped(), 5);
    assert_eq!(e.handle().dropped_events(), 5);
    // The consumer catches up and events flow again.
    rx.drain().for_each(drop);
    let more = clicks(SR, 1.0, &[0.5]);
    for b in more.chunks(512) {
        e.process(&[b], &mut [&mut out[..b.len()]]).unwrap();
    }
    assert_eq!(rx.len(), 1);
}

#[test]
fn wrong_layouts_and_oversized_blocks_are_refused_without_effect() {
    let (mut e, _rx) = engine(OnsetMethod::SuperFlux, 64);
    let a = vec![0.0f32; 65];
    let mut o = vec![0.0f32; 65];
    let mut o2 = vec![0.0f32; 65];
    assert!(e.process(&[&a, &a], &mut [&mut o, &mut o2]).is_err());
    assert!(e.process(&[&a[..64]], &mut [&mut o[..64]]).is_err());
    assert!(e
        .process(&[&a[..64], &a[..63]], &mut [&mut o[..64], &mut o2[..63]])
        .is_err());
    assert_eq!(e.position(), 0);
}

#[test]
fn invalid_configurations_are_refused_with_a_specific_error() {
    use cochlea_engine::ConfigError;
    let bad = |f: &dyn Fn(&mut EngineConfig)| {
        let mut c = EngineConfig::new(SR, 1, 256);
        f(&mut c);
        Engine::new(c).err().expect("must be refused")
    };
    assert_eq!(
        bad(&|c| c.sample_rate = 4_000.0),
        ConfigError::SampleRate(4_000.0)
    );
    assert!(matches!(
        bad(&|c| c.sample_rate = f64::NAN),
        ConfigError::SampleRate(_)
    ));
    assert_eq!(bad(&|c| c.channels = 3), ConfigError::Channels(3));
    assert_eq!(bad(&|c| c.max_block_size = 0), ConfigError::MaxBlockSize(0));
    assert_eq!(
        bad(&|c| c.event_capacity = 0),
        ConfigError::EventCapacity(0)
    );
    assert!(matches!(
        bad(&|c| c.onset.sensitivity = 1.5),
        ConfigError::OutOfRange {
            name: "onset.sensitivity",
            ..
        }
    ));
    assert!(matches!(
        bad(&|c| c.onset.hop_s = 0.1),
        ConfigError::OutOfRange {
            name: "onset.hop_s",
            ..
        }
    ));
    assert!(matches!(
        bad(&|c| c.onset.lookahead_frames = 9),
        ConfigError::OutOfRange {
            name: "onset.lookahead_frames",
            ..
        }
    ));
    let msg = bad(&|c| c.channels = 5).to_string();
    assert!(msg.contains("5 channels"), "{msg}");
}

#[test]
fn stated_latency_follows_the_look_ahead() {
    let (e, _rx) = engine(OnsetMethod::SuperFlux, 256);
    let base = e.latency_samples(Output::Onsets);
    let hop = e.onset_hop_samples();
    assert_eq!(base, hop / 2 + (0.002 * SR).round() as usize);
    e.handle().set_onset_lookahead(3).unwrap();
    assert_eq!(e.latency_samples(Output::Onsets), base + 3 * hop);
    assert!(e.handle().set_onset_lookahead(9).is_err());
    assert_eq!(e.latency_samples(Output::Audio), 0);
}
