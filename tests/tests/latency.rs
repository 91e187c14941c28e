//! Stated latency against measured latency. Impulses and steps (a tone switched on from silence)
//! are fed one sample at a time, so the emission position of each event is known exactly.
//!
//! For onsets, `latency_samples(Output::Onsets)` is the distance between an event's emission and
//! the position it reports, for attacks that rise within one frame (clicks, switched tones). Such
//! an attack lies within half a hop of the reported position plus `ONSET_BIAS_S` (the allowance
//! for musical attacks, which build up over a few milliseconds), so its measured detection latency
//! is the stated one minus the bias, give or take half a hop.

use cochlea_engine::{Engine, EngineConfig, Event, Output};

/// Feeds `x` one sample at a time; returns (reported sample, emission position) per onset.
fn onsets_with_emission(config: EngineConfig, x: &[f32]) -> Vec<(u64, u64)> {
    let (mut e, mut rx) = Engine::new(config).unwrap();
    let mut out = [0.0f32];
    let mut found = vec![];
    for (i, s) in x.iter().enumerate() {
        e.process(&[std::slice::from_ref(s)], &mut [&mut out])
            .unwrap();
        while let Some(ev) = rx.pop() {
            if let Event::Onset { sample, .. } = ev {
                found.push((sample, i as u64 + 1));
            }
        }
    }
    found
}

fn impulses_and_steps(sr: f64) -> (Vec<f32>, Vec<u64>) {
    let n = (sr * 4.0) as usize;
    let mut x = vec![0.0f32; n];
    let mut truth = vec![];
    for t in [0.31, 0.77] {
        let p = (t * sr) as usize;
        x[p] = 1.0;
        truth.push(p as u64);
    }
    for (t0, t1) in [(1.3, 2.0), (2.6, 3.4)] {
        // Switched on abruptly (the step), faded out over 50 ms (an abrupt stop is a click).
        let (a, b) = ((t0 * sr) as usize, (t1 * sr) as usize);
        let fade = (0.05 * sr) as usize;
        for (i, v) in x[a..b].iter_mut().enumerate() {
            let gain = ((b - a - i) as f64 / fade as f64).min(1.0);
            *v = (0.5 * gain * (2.0 * std::f64::consts::PI * 440.0 * i as f64 / sr).sin()) as f32;
        }
        truth.push(a as u64);
    }
    (x, truth)
}

#[test]
fn onset_latency_is_what_the_engine_states() {
    for sr in [44_100.0, 48_000.0] {
        for lookahead in [0, 2] {
            let mut c = EngineConfig::new(sr, 1, 1);
            c.onset.lookahead_frames = lookahead;
            let (engine, _rx) = Engine::new(c.clone()).unwrap();
            let stated = engine.latency_samples(Output::Onsets) as i64;
            let hop = engine.onset_hop_samples() as i64;
            let bias = (cochlea_engine::onset::ONSET_BIAS_S * sr).round() as i64;
            let (x, truth) = impulses_and_steps(sr);
            let found = onsets_with_emission(c, &x);
            assert_eq!(
                found.len(),
                truth.len(),
                "{sr} Hz, look-ahead {lookahead}: {found:?}"
            );
            for (&(reported, emitted), &t) in found.iter().zip(&truth) {
                // Without look-ahead the first frame over the threshold is reported at once; with
                // it, the picker waits for the maximum (a click's flux peaks a frame or two after
                // it enters the window) and walks back to the rise: whole hops more, at most the
                // 30 ms local-maximum window.
                let extra = emitted as i64 - reported as i64 - stated;
                if lookahead == 0 {
                    assert_eq!(extra, 0, "{sr} Hz: emission vs report");
                } else {
                    assert!(
                        extra >= 0 && extra % hop == 0 && extra <= (0.03 * sr) as i64 + hop,
                        "{sr} Hz: {extra}"
                    );
                }
                let measured = emitted as i64 - t as i64 - extra;
                assert!(
                    (measured - (stated - bias)).abs() <= hop / 2 + 1,
                    "{sr} Hz, look-ahead {lookahead}: measured {measured} samples, stated {stated} (hop {hop})"
                );
            }
            eprintln!(
                "onsets at {sr} Hz, look-ahead {lookahead}: stated {:.2} ms, measured on clicks and steps {:?} ms",
                stated as f64 * 1e3 / sr,
                found.iter().zip(&truth).map(|(f, &t)| ((f.1 - t) as f64 * 1e4 / sr).round() / 10.0).collect::<Vec<_>>()
            );
        }
    }
}
