//! `score`: accuracy over the dev corpus, Cochlea side by side with the peers installed here.
//!
//! ```text
//! cargo run --release -p cochlea-benches --bin score -- onsets [--aubio] [--method superflux] ...
//! cargo run --release -p cochlea-benches --bin score -- stems [--irm] [--librosa] [--only hp] ...
//! ```
use std::path::PathBuf;
use std::process::Command;

use clap::{Parser, Subcommand};
use cochlea::analyze::analyze;
use cochlea::audio::read_audio;
use cochlea_engine::eval::onset::{score, OnsetScores, OnsetTotals};
use cochlea_engine::{EngineConfig, OnsetMethod};
use cochlea_tests::corpus;

#[derive(Parser)]
#[command(about = "Score Cochlea (and peers) on the dev corpus with mir_eval's definitions")]
struct Args {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Onset F-measure (+-50 ms), precision, recall, timing error and detection latency.
    Onsets(OnsetArgs),
    /// Pitch: raw pitch/chroma accuracy, voicing recall/false alarm, overall accuracy.
    Pitch(cochlea_benches::pitch::PitchArgs),
    /// Notes: note F-measure (onset +-50 ms, pitch +-50 cents, offsets ignored).
    Notes(cochlea_benches::pitch::NotesArgs),
    /// Separation: SDR (BSS Eval v3) and SI-SDR per stem, Cochlea vs the ideal ratio mask and
    /// librosa's offline HPSS.
    Stems(cochlea_benches::stems::StemsArgs),
    /// Melody in a mix (predominant pitch): RPA, RCA, voicing recall/false alarm, OA.
    Melody(cochlea_benches::melody::MelodyArgs),
}

#[derive(clap::Args)]
struct OnsetArgs {
    /// Folder of NAME.flac + NAME.onsets.txt (default: the dev corpus's onsets/).
    #[arg(long)]
    corpus: Option<PathBuf>,
    /// Detection function: specflux, superflux, complex, hfc, energy.
    #[arg(long, default_value = "superflux")]
    method: String,
    /// Sensitivity, 0 to 1.
    #[arg(long)]
    sensitivity: Option<f32>,
    /// Peak-picker look-ahead, frames.
    #[arg(long)]
    lookahead: Option<u32>,
    /// Analysis window, seconds.
    #[arg(long)]
    window: Option<f64>,
    /// Hop, seconds.
    #[arg(long)]
    hop: Option<f64>,
    /// Minimum inter-onset interval, seconds.
    #[arg(long)]
    min_interval: Option<f32>,
    /// Block size fed to the engine (emission times are measured at block ends).
    #[arg(long, default_value_t = 32)]
    block: usize,
    /// Also run aubioonset (hfc, complex, specflux) on the same files.
    #[arg(long)]
    aubio: bool,
    /// Threshold passed to aubioonset.
    #[arg(long, default_value_t = 0.3)]
    aubio_threshold: f32,
    /// Scale the input by this many dB before analysis (level robustness).
    #[arg(long, default_value_t = 0.0, allow_hyphen_values = true)]
    gain_db: f32,
    /// Only print the overall lines.
    #[arg(long)]
    quiet: bool,
}

struct FileResult {
    name: String,
    scores: OnsetScores,
    latencies_s: Vec<f64>,
    errors_s: Vec<f64>,
}

fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn cochlea_file(item: &corpus::Item, a: &OnsetArgs) -> Result<FileResult, String> {
    let mut audio = read_audio(&item.audio).map_err(|e| e.to_string())?;
    let g = 10f32.powf(a.gain_db / 20.0);
    audio.channels.iter_mut().flatten().for_each(|x| *x *= g);
    let reference = corpus::read_onsets(&item.truth).map_err(|e| e.to_string())?;
    let mut config = EngineConfig::new(audio.sample_rate as f64, 1, a.block);
    config.onset.method =
        OnsetMethod::from_name(&a.method).ok_or_else(|| format!("unknown method {}", a.method))?;
    if let Some(v) = a.sensitivity {
        config.onset.sensitivity = v;
    }
    if let Some(v) = a.lookahead {
        config.onset.lookahead_frames = v;
    }
    if let Some(v) = a.window {
        config.onset.window_s = v;
    }
    if let Some(v) = a.hop {
        config.onset.hop_s = v;
    }
    if let Some(v) = a.min_interval {
        config.onset.min_interval_s = v;
    }
    let analysis = analyze(&audio, config, a.block).map_err(|e| e.to_string())?;
    let est = analysis.onset_times();
    let scores = score(&reference, &est, 0.05);
    // Detection latency: emission minus the true onset, over matched pairs.
    let mut r = reference.clone();
    r.sort_by(f64::total_cmp);
    let emitted: Vec<(f64, f64)> = analysis
        .events
        .iter()
        .filter_map(|e| match e.event {
            cochlea_engine::Event::Onset { sample, .. } => Some((
                sample as f64 / analysis.sample_rate,
                e.emitted_at as f64 / analysis.sample_rate,
            )),
            _ => None,
        })
        .collect();
    let times: Vec<f64> = emitted.iter().map(|p| p.0).collect();
    let pairs = cochlea_engine::eval::onset::match_events(&r, &times, 0.05);
    let latencies_s = pairs.iter().map(|&(i, j)| emitted[j].1 - r[i]).collect();
    let errors_s = pairs.iter().map(|&(i, j)| emitted[j].0 - r[i]).collect();
    Ok(FileResult {
        name: item.name.clone(),
        scores,
        latencies_s,
        errors_s,
    })
}

fn aubio_file(item: &corpus::Item, method: &str, threshold: f32) -> Result<FileResult, String> {
    let reference = corpus::read_onsets(&item.truth).map_err(|e| e.to_string())?;
    let out = Command::new("aubioonset")
        .args(["-i"])
        .arg(&item.audio)
        .args(["-O", method, "-t", &threshold.to_string()])
        .output()
        .map_err(|e| format!("aubioonset: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "aubioonset failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let est: Vec<f64> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    Ok(FileResult {
        name: item.name.clone(),
        scores: score(&reference, &est, 0.05),
        latencies_s: vec![],
        errors_s: vec![],
    })
}

fn report(label: &str, results: &[FileResult], quiet: bool) -> OnsetScores {
    let mut totals = OnsetTotals::default();
    let mut lat: Vec<f64> = Vec::new();
    let mut errs: Vec<f64> = Vec::new();
    let mut f_sum = 0.0;
    if !quiet {
        println!("\n{label}");
        println!(
            "{:<24} {:>6} {:>6} {:>6} {:>9} {:>9}",
            "file", "F", "P", "R", "err ms", "lat ms"
        );
    }
    for r in results {
        totals.add(&r.scores);
        f_sum += r.scores.f_measure;
        lat.extend(&r.latencies_s);
        errs.extend(&r.errors_s);
        let mut l = r.latencies_s.clone();
        if !quiet {
            println!(
                "{:<24} {:>6.3} {:>6.3} {:>6.3} {:>9.1} {:>9.1}",
                r.name,
                r.scores.f_measure,
                r.scores.precision,
                r.scores.recall,
                r.scores.mean_error_s * 1e3,
                median(&mut l) * 1e3
            );
        }
    }
    let s = totals.scores();
    let latency = if lat.is_empty() {
        "n/a (offline)".to_string()
    } else {
        format!("{:.1} ms", median(&mut lat) * 1e3)
    };
    let n = errs.len().max(1) as f64;
    let mean = errs.iter().sum::<f64>() / n;
    let std = (errs.iter().map(|e| (e - mean) * (e - mean)).sum::<f64>() / n).sqrt();
    if !errs.is_empty() {
        println!("{:<34} timing error sd {:.1} ms", label, std * 1e3);
    }
    println!(
        "{:<34} F {:.3} (mean of files {:.3})  P {:.3}  R {:.3}  err {:+.1} ms  median latency {}",
        label,
        s.f_measure,
        f_sum / results.len().max(1) as f64,
        s.precision,
        s.recall,
        s.mean_error_s * 1e3,
        latency
    );
    s
}

/// Scores every item on all cores (failures printed and skipped).
fn run_parallel<F>(items: &[corpus::Item], f: F) -> Vec<FileResult>
where
    F: Fn(&corpus::Item) -> Result<FileResult, String> + Sync,
{
    cochlea_benches::parallel(items, |it| &it.name, f)
        .into_iter()
        .map(|(_, r)| r)
        .collect()
}

fn main() {
    let args = Args::parse();
    match args.task {
        Task::Pitch(a) => cochlea_benches::pitch::run_pitch(&a),
        Task::Notes(a) => cochlea_benches::pitch::run_notes(&a),
        Task::Stems(a) => cochlea_benches::stems::run(&a),
        Task::Melody(a) => cochlea_benches::melody::run(&a),
        Task::Onsets(a) => {
            let dir = a
                .corpus
                .clone()
                .or_else(|| corpus::dev_corpus().map(|d| d.join("onsets")))
                .unwrap_or_else(|| {
                    eprintln!("error: no corpus found; pass --corpus DIR or set COCHLEA_CORPUS");
                    std::process::exit(2)
                });
            let items = corpus::items(&dir, ".onsets.txt");
            if items.is_empty() {
                eprintln!(
                    "error: no NAME.flac with NAME.onsets.txt in {}",
                    dir.display()
                );
                std::process::exit(2);
            }
            println!("{} files from {}", items.len(), dir.display());
            let results = run_parallel(&items, |it| cochlea_file(it, &a));
            report(&format!("cochlea {}", a.method), &results, a.quiet);
            if a.aubio && cochlea_benches::peers::aubio("aubioonset") {
                for m in ["hfc", "complex", "specflux"] {
                    let results = run_parallel(&items, |it| aubio_file(it, m, a.aubio_threshold));
                    report(
                        &format!("aubioonset {m} -t {}", a.aubio_threshold),
                        &results,
                        a.quiet,
                    );
                }
            }
        }
    }
}
