//! Accuracy floor for onset detection on the in-repo subset of the dev corpus
//! (`tests/data/onsets`: piano, strings, guitar with drums, pizzicato, marimba, woodwinds),
//! scored with mir_eval's definition (+-50 ms, one-to-one matching).
//!
//! The floors sit just under what was measured when they were set (see the comments); a change
//! that loses accuracy fails here. The whole dev corpus is scored by
//! `cargo run --release -p cochlea-benches --bin score -- onsets`.

use cochlea::analyze::{analyze, FILE_BLOCK};
use cochlea::audio::read_audio;
use cochlea_engine::eval::onset::{score, OnsetTotals};
use cochlea_engine::{EngineConfig, OnsetMethod};
use cochlea_tests::corpus::{items, read_onsets, test_data};

fn subset_scores(method: OnsetMethod) -> (f64, f64, f64) {
    let files = items(&test_data().join("onsets"), ".onsets.txt");
    assert_eq!(files.len(), 6, "the onset test data is incomplete");
    let mut totals = OnsetTotals::default();
    let mut f_sum = 0.0;
    for item in &files {
        let audio = read_audio(&item.audio).unwrap();
        let mut config = EngineConfig::new(audio.sample_rate as f64, 1, FILE_BLOCK);
        config.onset.method = method;
        let est = analyze(&audio, config, FILE_BLOCK).unwrap().onset_times();
        let s = score(&read_onsets(&item.truth).unwrap(), &est, 0.05);
        eprintln!(
            "{method:?} {:<20} F {:.3} P {:.3} R {:.3}",
            item.name, s.f_measure, s.precision, s.recall
        );
        totals.add(&s);
        f_sum += s.f_measure;
    }
    let s = totals.scores();
    eprintln!(
        "{method:?} pooled F {:.3}, mean of files {:.3}, mean error {:+.1} ms",
        s.f_measure,
        f_sum / files.len() as f64,
        s.mean_error_s * 1e3
    );
    (s.f_measure, f_sum / files.len() as f64, s.mean_error_s)
}

#[test]
fn superflux_meets_its_accuracy_floor() {
    // Measured 2026-11-22: pooled F 0.896, mean of files 0.875, mean error +4.2 ms.
    let (pooled, mean, err) = subset_scores(OnsetMethod::SuperFlux);
    assert!(pooled >= 0.87, "pooled F {pooled:.3}");
    assert!(mean >= 0.85, "mean F {mean:.3}");
    assert!(err.abs() <= 0.005, "mean timing error {:.1} ms", err * 1e3);
}

#[test]
fn every_method_stays_above_its_floor() {
    // Measured 2026-11-22 (pooled F): specflux 0.890, complex 0.734, hfc 0.706, energy 0.638.
    let floors = [
        (OnsetMethod::SpectralFlux, 0.87),
        (OnsetMethod::ComplexDomain, 0.71),
        (OnsetMethod::Hfc, 0.68),
        (OnsetMethod::Energy, 0.61),
    ];
    let below: Vec<String> = floors
        .iter()
        .map(|&(method, floor)| (method, floor, subset_scores(method).0))
        .filter(|&(_, floor, pooled)| pooled < floor)
        .map(|(method, floor, pooled)| format!("{method:?}: pooled F {pooled:.3} < {floor}"))
        .collect();
    assert!(below.is_empty(), "{below:?}");
}
