//! Onset detection on known signals: clicks are found where they are; steady tones, silence,
//! stationary noise and vibrato give nothing after their start.

use cochlea_engine::{EngineConfig, OnsetMethod};
use cochlea_tests::signals::{clicks, noise, run_mono, sine, vibrato_tone};

fn config(sr: f64, method: OnsetMethod) -> EngineConfig {
    let mut c = EngineConfig::new(sr, 1, 512);
    c.onset.method = method;
    c
}

const CLICKS: [f64; 6] = [0.25, 0.61, 1.0, 1.333, 1.9, 2.45];

#[test]
fn clicks_are_found_within_one_hop_with_every_method() {
    let sr = 44_100.0;
    let x = clicks(sr, 3.0, &CLICKS);
    for method in OnsetMethod::ALL {
        let c = config(sr, method);
        let hop = c.onset.hop_samples(sr) as i64;
        let found = run_mono(&c, &x, 512).onsets();
        assert_eq!(found.len(), CLICKS.len(), "{method:?}: {found:?}");
        for (f, t) in found.iter().zip(CLICKS) {
            let err = *f as i64 - (t * sr).round() as i64;
            assert!(
                err.abs() <= hop,
                "{method:?}: click at {t} s reported {err} samples off (hop {hop})"
            );
        }
    }
}

#[test]
fn clicks_are_found_at_every_supported_rate() {
    for sr in [8_000.0, 22_050.0, 48_000.0, 96_000.0, 192_000.0] {
        let c = config(sr, OnsetMethod::SuperFlux);
        let hop = c.onset.hop_samples(sr) as i64;
        let found = run_mono(&c, &clicks(sr, 3.0, &CLICKS), 512).onsets();
        assert_eq!(found.len(), CLICKS.len(), "{sr} Hz: {found:?}");
        for (f, t) in found.iter().zip(CLICKS) {
            assert!(
                (*f as i64 - (t * sr).round() as i64).abs() <= hop,
                "{sr} Hz: click {t} at {f}"
            );
        }
    }
}

/// At most one onset, at the very start of the signal (the start of a sound is an onset).
fn assert_only_the_start(name: &str, onsets: &[u64], sr: f64) {
    let late: Vec<f64> = onsets
        .iter()
        .map(|&s| s as f64 / sr)
        .filter(|&t| t > 0.06)
        .collect();
    assert!(late.is_empty(), "{name}: spurious onsets at {late:?} s");
    assert!(onsets.len() <= 1, "{name}: {onsets:?}");
}

#[test]
fn steady_sines_give_no_onsets_after_their_start() {
    let sr = 44_100.0;
    for method in OnsetMethod::ALL {
        for freq in [55.0, 440.0, 3_000.0] {
            let found = run_mono(&config(sr, method), &sine(sr, 3.0, freq, 0.5), 256).onsets();
            assert_only_the_start(&format!("{method:?} {freq} Hz"), &found, sr);
        }
    }
}

#[test]
fn silence_gives_no_onsets() {
    for method in OnsetMethod::ALL {
        let found = run_mono(&config(48_000.0, method), &vec![0.0; 96_000], 480).onsets();
        assert!(found.is_empty(), "{method:?}: {found:?}");
    }
}

#[test]
fn stationary_noise_gives_no_onsets_after_its_start() {
    let sr = 44_100.0;
    for method in OnsetMethod::ALL {
        for amp in [0.01, 0.5] {
            let found = run_mono(&config(sr, method), &noise(5 * 44_100, amp, 7), 512).onsets();
            assert_only_the_start(&format!("{method:?} noise at {amp}"), &found, sr);
        }
    }
}

#[test]
fn vibrato_gives_no_spurious_onsets_with_superflux() {
    let sr = 44_100.0;
    for (f0, depth) in [(196.0, 50.0), (440.0, 40.0), (660.0, 60.0)] {
        let x = vibrato_tone(sr, 4.0, f0, 6.0, depth, 0.5);
        let found = run_mono(&config(sr, OnsetMethod::SuperFlux), &x, 512).onsets();
        assert_only_the_start(
            &format!("superflux, {f0} Hz, 6 Hz vibrato of +-{depth} cents"),
            &found,
            sr,
        );
    }
}

#[test]
fn results_agree_across_sample_rates() {
    use cochlea::audio::read_audio;
    use cochlea_engine::eval::onset::score;
    use rubato::{FftFixedIn, Resampler};

    let audio =
        read_audio(&cochlea_tests::corpus::test_data().join("onsets/o000_piano.flac")).unwrap();
    let x = &audio.channels[0][..10 * 44_100];
    let times = |signal: &[f32], sr: f64| -> Vec<f64> {
        let c = config(sr, OnsetMethod::SuperFlux);
        run_mono(&c, signal, 512)
            .onsets()
            .iter()
            .map(|&s| s as f64 / sr)
            .collect()
    };
    let reference = times(x, 44_100.0);
    assert!(reference.len() > 20);
    for rate in [22_050usize, 48_000, 96_000] {
        let mut rs = FftFixedIn::<f32>::new(44_100, rate, 1024, 2, 1).unwrap();
        let delay = rs.output_delay();
        let mut y = Vec::new();
        for chunk in x.chunks(1024) {
            let mut block = chunk.to_vec();
            block.resize(1024, 0.0);
            y.extend(&rs.process(&[block], None).unwrap()[0]);
        }
        let y = &y[delay..];
        let s = score(&reference, &times(y, rate as f64), 0.01);
        assert!(
            s.f_measure >= 0.9,
            "{rate} Hz: only {} of {} onsets agree within 10 ms",
            s.matches,
            reference.len()
        );
    }
}
