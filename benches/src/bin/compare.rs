//! `compare`: speed side by side with the peers, next to accuracy, on the same dev-corpus files
//! and the same machine in one run.
//!
//! ```text
//! cargo run --release -p cochlea-benches --bin compare
//! ```
//!
//! Speed is CPU time per second of audio, as "x real time" (audio seconds / CPU seconds), single
//! threaded, measured the same way for everyone:
//! - Cochlea: decoding and analysis in this process (thread CPU time);
//! - aubio: the whole `aubioonset` / `aubiopitch` process, decoding included (`getrusage` of
//!   the child);
//! - librosa: the analysis call only, audio already loaded (`time.process_time()`), so Python's
//!   start-up and decoding are not charged to it.
//!
//! Peers that are not installed are reported as such and skipped.
use std::path::{Path, PathBuf};
use std::process::Command;

use clap::Parser;
use cochlea::analyze::{analyze, FILE_BLOCK};
use cochlea::audio::read_audio;
use cochlea_engine::eval::melody::{counts, MelodyCounts};
use cochlea_engine::eval::onset::{score, OnsetTotals};
use cochlea_engine::EngineConfig;
use cochlea_tests::corpus;

#[derive(Parser)]
#[command(about = "CPU time per second of audio for Cochlea and its peers, next to accuracy")]
struct Args {
    /// The dev corpus (default: ../shared/dev-corpus or $COCHLEA_CORPUS).
    #[arg(long)]
    corpus: Option<PathBuf>,
}

/// This thread's CPU time in seconds.
fn thread_cpu_time() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant Linux supports.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// CPU time (user + system) of all waited-for children so far, in seconds.
fn children_cpu_time() -> f64 {
    // SAFETY: an all-zero rusage is a valid value for getrusage to overwrite.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is valid and writable.
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru) };
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 * 1e-6;
    t(ru.ru_utime) + t(ru.ru_stime)
}

/// One tool's run over the files: CPU seconds, audio seconds, accuracy.
struct Row {
    tool: String,
    cpu_s: f64,
    audio_s: f64,
    accuracy: String,
}

impl Row {
    fn speed(&self) -> f64 {
        self.audio_s / self.cpu_s
    }
}

fn print_table(title: &str, rows: &[Row]) {
    println!("\n{title}");
    println!(
        "{:<40} {:>12} {:>14}   accuracy",
        "tool", "x real time", "Cochlea is"
    );
    let cochlea = rows.first().map(Row::speed).unwrap_or(f64::NAN);
    for r in rows {
        let ratio = if r.tool.starts_with("Cochlea") {
            "-".to_string()
        } else {
            format!("{:.1}x faster", cochlea / r.speed())
        };
        println!(
            "{:<40} {:>12.0} {:>14}   {}",
            r.tool,
            r.speed(),
            ratio,
            r.accuracy
        );
    }
}

fn onset_accuracy(refs: &[Vec<f64>], ests: &[Vec<f64>]) -> String {
    let mut t = OnsetTotals::default();
    for (r, e) in refs.iter().zip(ests) {
        t.add(&score(r, e, 0.05));
    }
    let s = t.scores();
    format!(
        "onset F {:.3} (P {:.3}, R {:.3})",
        s.f_measure, s.precision, s.recall
    )
}

/// Runs the librosa helper for `task` over `files`; returns (cpu, audio, per-file results).
fn librosa_run(
    python: &Path,
    task: &str,
    files: &[&Path],
) -> Result<(f64, f64, Vec<serde_json::Value>), String> {
    let out = Command::new(python)
        .arg(cochlea_benches::peers::scripts().join("librosa_speed.py"))
        .arg(task)
        .args(files)
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let mut cpu = 0.0;
    let mut audio = 0.0;
    let mut results = vec![];
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let v: serde_json::Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
        cpu += v["cpu_s"].as_f64().unwrap_or(0.0);
        audio += v["audio_s"].as_f64().unwrap_or(0.0);
        results.push(v["result"].clone());
    }
    Ok((cpu, audio, results))
}

fn onsets(dir: &Path) -> Vec<Row> {
    let items = corpus::items(dir, ".onsets.txt");
    let refs: Vec<Vec<f64>> = items
        .iter()
        .map(|i| corpus::read_onsets(&i.truth).expect("truth"))
        .collect();
    let mut rows = vec![];

    // Cochlea, default settings.
    let (mut cpu, mut audio_s, mut ests) = (0.0, 0.0, vec![]);
    for item in &items {
        let t = thread_cpu_time();
        let audio = read_audio(&item.audio).expect("corpus audio");
        let config = EngineConfig::new(audio.sample_rate as f64, 1, FILE_BLOCK);
        ests.push(
            analyze(&audio, config, FILE_BLOCK)
                .expect("analysis")
                .onset_times(),
        );
        cpu += thread_cpu_time() - t;
        audio_s += audio.duration_s();
    }
    rows.push(Row {
        tool: "Cochlea onsets (SuperFlux, causal)".into(),
        cpu_s: cpu,
        audio_s,
        accuracy: onset_accuracy(&refs, &ests),
    });

    // aubioonset: its default (hfc, t 0.3) and its best setting on this corpus (specflux, t 0.5).
    for (method, threshold) in [("hfc", "0.3"), ("specflux", "0.5")] {
        let before = children_cpu_time();
        let mut ests = vec![];
        for item in &items {
            match Command::new("aubioonset")
                .arg("-i")
                .arg(&item.audio)
                .args(["-O", method, "-t", threshold])
                .output()
            {
                Ok(out) if out.status.success() => ests.push(
                    String::from_utf8_lossy(&out.stdout)
                        .lines()
                        .filter_map(|l| l.trim().parse().ok())
                        .collect(),
                ),
                _ => {
                    println!("aubioonset: not installed or failed (Debian: apt-get install aubio-tools); skipped");
                    ests.clear();
                    break;
                }
            }
        }
        if !ests.is_empty() {
            rows.push(Row {
                tool: format!("aubioonset -O {method} -t {threshold}"),
                cpu_s: children_cpu_time() - before,
                audio_s,
                accuracy: onset_accuracy(&refs, &ests),
            });
        }
    }

    // librosa onset_detect (offline: it sees the whole file).
    if let Some(python) = cochlea_benches::peers::python() {
        let files: Vec<&Path> = items.iter().map(|i| i.audio.as_path()).collect();
        match librosa_run(&python, "onsets", &files) {
            Ok((cpu, audio, results)) => {
                let ests: Vec<Vec<f64>> = results
                    .iter()
                    .map(|r| {
                        r.as_array()
                            .map(|a| a.iter().filter_map(|v| v.as_f64()).collect())
                            .unwrap_or_default()
                    })
                    .collect();
                rows.push(Row {
                    tool: "librosa onset_detect (offline)".into(),
                    cpu_s: cpu,
                    audio_s: audio,
                    accuracy: onset_accuracy(&refs, &ests),
                });
            }
            Err(e) => println!("librosa: failed: {e}"),
        }
    }
    rows
}

fn pitch_accuracy(results: &[MelodyCounts]) -> String {
    let mut total = MelodyCounts::default();
    for k in results {
        total.add(k);
    }
    let s = total.scores();
    format!(
        "RPA {:.3}, RCA {:.3}, VR {:.3}, VFA {:.3}, OA {:.3}",
        s.raw_pitch_accuracy,
        s.raw_chroma_accuracy,
        s.voicing_recall,
        s.voicing_false_alarm,
        s.overall_accuracy
    )
}

fn pitch(dir: &Path) -> Vec<Row> {
    let items = corpus::items(dir, ".f0.csv");
    let truth: Vec<(Vec<f64>, Vec<f64>)> = items
        .iter()
        .map(|i| cochlea_benches::pitch::read_truth(i).expect("truth"))
        .collect();
    let mut rows = vec![];

    // Cochlea, the pitch tracker alone, default settings.
    let (mut cpu, mut audio_s, mut results) = (0.0, 0.0, vec![]);
    for (item, (rt, rf)) in items.iter().zip(&truth) {
        let t = thread_cpu_time();
        let audio = read_audio(&item.audio).expect("corpus audio");
        let mut config = EngineConfig::new(audio.sample_rate as f64, 1, FILE_BLOCK);
        config.onset.enabled = false;
        config.pitch.enabled = true;
        let analysis = analyze(&audio, config, FILE_BLOCK).expect("analysis");
        cpu += thread_cpu_time() - t;
        audio_s += audio.duration_s();
        let track = cochlea::output::pitch::PitchTrack::from_analysis(&analysis);
        results.push(counts(rt, rf, &track.times_s, &track.freqs_hz, 50.0));
    }
    rows.push(Row {
        tool: "Cochlea pitch (causal)".into(),
        cpu_s: cpu,
        audio_s,
        accuracy: pitch_accuracy(&results),
    });

    for method in ["yinfft", "yin"] {
        let before = children_cpu_time();
        let mut results = vec![];
        for (item, (rt, rf)) in items.iter().zip(&truth) {
            match cochlea_benches::pitch::aubiopitch(&item.audio, method) {
                Ok((et, ef)) => results.push(counts(rt, rf, &et, &ef, 50.0)),
                Err(e) => {
                    println!("aubiopitch: {e} (Debian: apt-get install aubio-tools); skipped");
                    results.clear();
                    break;
                }
            }
        }
        if !results.is_empty() {
            rows.push(Row {
                tool: format!("aubiopitch -p {method}"),
                cpu_s: children_cpu_time() - before,
                audio_s,
                accuracy: pitch_accuracy(&results),
            });
        }
    }

    // librosa pyin (offline: Viterbi over the whole file).
    if let Some(python) = cochlea_benches::peers::python() {
        let files: Vec<&Path> = items.iter().map(|i| i.audio.as_path()).collect();
        match librosa_run(&python, "pitch", &files) {
            Ok((cpu, audio, tracks)) => {
                let results: Vec<MelodyCounts> = tracks
                    .iter()
                    .zip(&truth)
                    .map(|(track, (rt, rf))| {
                        let rows = track.as_array().cloned().unwrap_or_default();
                        let col = |i: usize| -> Vec<f64> {
                            rows.iter().map(|r| r[i].as_f64().unwrap_or(0.0)).collect()
                        };
                        counts(rt, rf, &col(0), &col(1), 50.0)
                    })
                    .collect();
                rows.push(Row {
                    tool: "librosa pyin (offline)".into(),
                    cpu_s: cpu,
                    audio_s: audio,
                    accuracy: pitch_accuracy(&results),
                });
            }
            Err(e) => println!("librosa: failed: {e}"),
        }
    }
    rows
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => 0.5 * (v[n / 2 - 1] + v[n / 2]),
    }
}

/// The harmonic / percussive mixes of the dev corpus: Cochlea's live separation (the engine with
/// the separation on, its melody tracker included) against librosa's offline HPSS.
fn separation(dir: &Path) -> Vec<Row> {
    let mixes: Vec<PathBuf> = corpus::items(dir, ".flac")
        .into_iter()
        .filter(|i| i.name.starts_with("hp") && i.name.ends_with(".mix"))
        .map(|i| i.audio)
        .collect();
    let mut rows = vec![];
    let (mut cpu, mut audio_s, mut h_sdr, mut p_sdr) = (0.0, 0.0, vec![], vec![]);
    for mix_path in &mixes {
        let t = thread_cpu_time();
        let audio = read_audio(mix_path).expect("corpus audio");
        let stems = cochlea_benches::stems::separate_engine(
            &cochlea_engine::SeparationConfig::default(),
            &audio.mono(),
            audio.sample_rate,
            FILE_BLOCK,
        )
        .expect("separation");
        cpu += thread_cpu_time() - t;
        audio_s += audio.duration_s();
        let stem_path = |stem: &str| {
            let name = mix_path.file_name().unwrap().to_string_lossy();
            mix_path.with_file_name(name.replace(".mix.flac", &format!(".{stem}.flac")))
        };
        for (i, (stem, scores)) in [("harmonic", &mut h_sdr), ("percussive", &mut p_sdr)]
            .into_iter()
            .enumerate()
        {
            let reference = read_audio(&stem_path(stem)).expect("stem").mono();
            if let Ok(v) = cochlea_engine::eval::separation::sdr(&reference, &stems[i]) {
                scores.push(v);
            }
        }
    }
    rows.push(Row {
        tool: "Cochlea separation (live, 46.4 ms)".into(),
        cpu_s: cpu,
        audio_s,
        accuracy: format!(
            "median SDR harmonic {:.2} dB, percussive {:.2} dB",
            median(h_sdr),
            median(p_sdr)
        ),
    });
    if let Some(python) = cochlea_benches::peers::python() {
        let files: Vec<&Path> = mixes.iter().map(|p| p.as_path()).collect();
        match librosa_run(&python, "hpss", &files) {
            Ok((cpu, audio, _)) => rows.push(Row {
                tool: "librosa hpss (offline, stft+istft)".into(),
                cpu_s: cpu,
                audio_s: audio,
                accuracy: "scored by `score stems --librosa`".into(),
            }),
            Err(e) => println!("librosa: failed: {e}"),
        }
    }
    rows
}

fn main() {
    let args = Args::parse();
    let corpus = args.corpus.or_else(corpus::dev_corpus).unwrap_or_else(|| {
        eprintln!("error: no corpus found; pass --corpus DIR or set COCHLEA_CORPUS");
        std::process::exit(2)
    });
    println!("speed: audio seconds per CPU second, one thread; accuracy: mir_eval definitions");
    print_table(
        &format!("onsets ({})", corpus.join("onsets").display()),
        &onsets(&corpus.join("onsets")),
    );
    print_table(
        &format!("pitch ({})", corpus.join("pitch").display()),
        &pitch(&corpus.join("pitch")),
    );
    print_table(
        &format!("separation ({})", corpus.join("separation").display()),
        &separation(&corpus.join("separation")),
    );
}
