//! Shared by the CLI tests: running `cochlea`, temporary folders, and test signals with known
//! onsets written as audio files.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs `cochlea` with `args`.
pub fn cochlea(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cochlea"))
        .args(args)
        .output()
        .expect("run cochlea")
}

/// `cochlea` as a command, to add arguments or spawn it.
pub fn command() -> Command {
    Command::new(env!("CARGO_BIN_EXE_cochlea"))
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Asserts the exit code, showing stderr if it differs.
#[track_caller]
pub fn assert_code(o: &Output, code: i32) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "exit code; stderr:\n{}\nstdout:\n{}",
        stderr(o),
        stdout(o)
    );
}

/// A fresh, empty temporary folder for one test.
pub fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("cochlea-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `path` as `&str`.
pub fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Every file under `dir`, relative, sorted (temporary `.partial` files included).
pub fn files_under(dir: &Path) -> Vec<String> {
    fn walk(d: &Path, root: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(d) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, root, out);
            } else {
                out.push(p.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// The test fixtures shipped with the CLI tests.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// A file of the in-repo corpus subset.
pub fn corpus(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data")
        .join(rel)
}

/// Onset times of the hit signal, in seconds.
pub const HITS: [f64; 4] = [0.25, 0.6, 0.95, 1.3];

/// 1.6 s of percussive hits at [`HITS`] (decaying noise bursts with a tone), deterministic,
/// one channel at `rate`.
pub fn hits(rate: u32) -> Vec<f32> {
    let n = (1.6 * rate as f64) as usize;
    let mut x = vec![0.0f32; n];
    let mut seed = 0x1234_5678u32;
    for (k, &t0) in HITS.iter().enumerate() {
        let start = (t0 * rate as f64) as usize;
        let len = (0.2 * rate as f64) as usize;
        for i in 0..len.min(n - start) {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let noise = (seed >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0;
            let t = i as f32 / rate as f32;
            let env = (-t / 0.03).exp();
            let tone = (2.0 * std::f32::consts::PI * (330.0 + 110.0 * k as f32) * t).sin();
            x[start + i] += 0.5 * env * (0.6 * noise + 0.4 * tone);
        }
    }
    x
}

/// Writes `channels` (planar) as a 16-bit WAV file.
pub fn write_wav16(path: &Path, rate: u32, channels: &[Vec<f32>]) {
    let spec = hound::WavSpec {
        channels: channels.len() as u16,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for i in 0..channels.first().map_or(0, |c| c.len()) {
        for c in channels {
            w.write_sample((c[i].clamp(-1.0, 1.0) * 32767.0) as i16)
                .unwrap();
        }
    }
    w.finalize().unwrap();
}

/// The hit signal as a WAV file at `rate` with `channels` (each a scaled copy).
pub fn hits_wav(path: &Path, rate: u32, channels: usize) {
    let x = hits(rate);
    let chans: Vec<Vec<f32>> = (0..channels)
        .map(|c| x.iter().map(|v| v * (1.0 - 0.1 * c as f32)).collect())
        .collect();
    write_wav16(path, rate, &chans);
}

/// Reads a file of times in seconds, one per line.
pub fn read_times(path: &Path) -> Vec<f64> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect()
}

/// Reads a `time,value` CSV (`pitch.csv`, `melody.csv`, the corpus's `.f0.csv`): its header
/// line, then the times and the values.
pub fn read_time_values(path: &Path) -> (String, Vec<f64>, Vec<f64>) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default().to_string();
    let (t, v) = lines
        .map(|l| {
            let (t, v) = l.split_once(',').unwrap();
            (t.parse::<f64>().unwrap(), v.parse::<f64>().unwrap())
        })
        .unzip();
    (header, t, v)
}

/// Asserts `found` matches `truth` one to one within `tol` seconds.
#[track_caller]
pub fn assert_onsets(found: &[f64], truth: &[f64], tol: f64) {
    assert_eq!(found.len(), truth.len(), "found {found:?}, true {truth:?}");
    for (f, t) in found.iter().zip(truth) {
        assert!((f - t).abs() <= tol, "found {found:?}, true {truth:?}");
    }
}

/// Reads a JSON file.
pub fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Sends SIGINT (what Ctrl-C sends) to `child`.
#[cfg(unix)]
pub fn interrupt(child: &std::process::Child) {
    // SAFETY: kill(2) with a valid signal number has no memory-safety preconditions; the pid is
    // that of a child we spawned and have not yet waited for, so it cannot have been reused.
    let r = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    assert_eq!(r, 0, "kill: {}", std::io::Error::last_os_error());
}
