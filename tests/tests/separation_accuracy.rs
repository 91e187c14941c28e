//! Separation accuracy floors on the in-repo subset (tests/data/separation: two harmonic +
//! percussive mixes and one melody + accompaniment mix from the dev corpus), BSS Eval v3 SDR
//! and SI-SDR as mir_eval defines them. Floors sit just under the measured values (in the
//! comments) so that a regression fails.

use cochlea::audio::read_audio;
use cochlea_engine::eval::separation::{sdr, si_sdr};
use cochlea_engine::separation::{Separator, Stem, StemOutputs};
use cochlea_engine::{Output, SeparationConfig};
use cochlea_tests::corpus::{read_f0, test_data};
use cochlea_tests::stems::{run_stems, separating_engine};

fn load(name: &str) -> (u32, Vec<f32>) {
    let a = read_audio(&test_data().join("separation").join(name)).expect("test data");
    (a.sample_rate, a.mono())
}

/// The engine's stems for a mono mix, latency removed, as long as the mix.
fn engine_stems(mix: &[f32], sr: u32) -> Vec<Vec<f32>> {
    let mut e = separating_engine(sr as f64, 1, 512);
    let l = e.latency_samples(Output::Audio);
    let mut padded = mix.to_vec();
    padded.resize(mix.len() + l, 0.0);
    let run = run_stems(&mut e, &[&padded], &[512]);
    Stem::ALL
        .iter()
        .map(|&s| run.stem(s, 0)[l..].to_vec())
        .collect()
}

fn check(label: &str, reference: &[f32], estimate: &[f32], floor_sdr: f64, floor_si: f64) {
    let a = sdr(reference, estimate).unwrap();
    let b = si_sdr(reference, estimate).unwrap();
    println!("{label}: SDR {a:.2} dB, SI-SDR {b:.2} dB");
    assert!(a >= floor_sdr, "{label}: SDR {a:.2} < {floor_sdr}");
    assert!(b >= floor_si, "{label}: SI-SDR {b:.2} < {floor_si}");
}

#[test]
fn harmonic_and_percussive_floors() {
    // (item, harmonic SDR / SI-SDR floors, percussive SDR / SI-SDR floors); measured:
    // hp005 8.72 / 8.66, 8.14 / 7.40; hp009 10.28 / 10.21, 10.75 / 10.14.
    let floors = [
        ("hp005_quartet", 8.3, 8.2, 7.7, 6.9),
        ("hp009_strings", 9.8, 9.7, 10.3, 9.6),
    ];
    for (name, hs, hsi, ps, psi) in floors {
        let (sr, mix) = load(&format!("{name}.mix.flac"));
        let stems = engine_stems(&mix, sr);
        let (_, h) = load(&format!("{name}.harmonic.flac"));
        let (_, p) = load(&format!("{name}.percussive.flac"));
        check(
            &format!("{name} harmonic"),
            &h,
            &stems[Stem::Harmonic as usize],
            hs,
            hsi,
        );
        check(
            &format!("{name} percussive"),
            &p,
            &stems[Stem::Percussive as usize],
            ps,
            psi,
        );
    }
}

#[test]
fn melody_floor_with_the_engines_own_tracker() {
    let name = "ma000_flute_piano";
    let (sr, mix) = load(&format!("{name}.mix.flac"));
    let (_, melody) = load(&format!("{name}.melody.flac"));
    let stems = engine_stems(&mix, sr);
    // Measured: SDR 10.99 dB, SI-SDR 10.09 dB.
    check(
        &format!("{name} melody (online f0)"),
        &melody,
        &stems[Stem::Melody as usize],
        10.5,
        9.6,
    );
}

#[test]
fn melody_comb_floor_with_the_reference_f0() {
    let name = "ma000_flute_piano";
    let (sr, mix) = load(&format!("{name}.mix.flac"));
    let (_, melody) = load(&format!("{name}.melody.flac"));
    let (t, f) = read_f0(&test_data().join(format!("separation/{name}.melody.f0.csv"))).unwrap();
    let step = t[1] - t[0];
    let config = SeparationConfig::default();
    let mut sep = Separator::new(&config, sr as f64, 1, 512).unwrap();
    let l = sep.latency_samples();
    let mut padded = mix.clone();
    padded.resize(mix.len() + l, 0.0);
    let mut out = vec![0.0f32; padded.len()];
    let mut stems = StemOutputs::new(1, 512);
    let mut est = Vec::with_capacity(padded.len());
    for (i, o) in padded.chunks(512).zip(out.chunks_mut(512)) {
        sep.process(&[i], &mut [o], Some(&mut stems), [1.0; 5], &mut |instant| {
            let k = (instant as f64 / sr as f64 / step).round() as usize;
            f.get(k).copied().unwrap_or(0.0) as f32
        });
        est.extend_from_slice(stems.channel(Stem::Melody, 0));
    }
    // Measured: SDR 15.76 dB, SI-SDR 14.80 dB.
    check(
        &format!("{name} melody (reference f0)"),
        &melody,
        &est[l..],
        15.2,
        14.3,
    );
}
