//! The `cochlea` command: outputs, messages and exit codes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn cochlea(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cochlea"))
        .args(args)
        .output()
        .expect("run cochlea")
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("cochlea-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn data(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data")
        .join(rel)
        .to_string_lossy()
        .into_owned()
}

#[test]
fn analyze_writes_onset_times() {
    let dir = temp_dir("analyze");
    let out = dir.join("piano.txt");
    let r = cochlea(&[
        "analyze",
        &data("onsets/o000_piano.flac"),
        "--onsets",
        out.to_str().unwrap(),
    ]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let times: Vec<f64> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    assert!(times.len() > 40 && times.len() < 80, "{}", times.len());
    assert!(times.windows(2).all(|w| w[0] < w[1]));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_missing_input_is_named_and_exits_3_without_output() {
    let dir = temp_dir("missing");
    let out = dir.join("x.txt");
    let r = cochlea(&[
        "analyze",
        "/nonexistent/song.wav",
        "--onsets",
        out.to_str().unwrap(),
    ]);
    assert_eq!(r.status.code(), Some(3));
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(err.contains("/nonexistent/song.wav"), "{err}");
    assert!(!out.exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_impossible_setting_exits_2_before_reading_anything() {
    let r = cochlea(&[
        "analyze",
        "/nonexistent.wav",
        "--onsets",
        "/tmp/x.txt",
        "--sensitivity",
        "7",
    ]);
    assert_eq!(r.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&r.stderr).contains("onset.sensitivity"));
}

#[test]
fn demo_finds_the_onsets_it_synthesised() {
    let dir = temp_dir("demo");
    let r = cochlea(&["demo", "-o", dir.to_str().unwrap()]);
    assert!(r.status.success());
    let text = String::from_utf8_lossy(&r.stdout);
    let f: f64 = text
        .split("F-measure ")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(f >= 0.95, "{text}");
    assert!(dir.join("onsets.txt").is_file() && dir.join("input.wav").is_file());
    std::fs::remove_dir_all(&dir).unwrap();
}
