//! `score pitch` and `score notes`: Cochlea's pitch tracker and note tracker over the dev
//! corpus's pitch files, with mir_eval's melody and note definitions, next to aubio
//! (`aubiopitch -p yin|yinfft`, `aubionotes`) where installed, and librosa's offline pYIN
//! (`benches/scripts/pyin_f0.py`, in the pinned peers' environment, [`crate::peers`]).
//!
//! Peers are scored on their own output as printed. aubiopitch stamps each frame at the start of
//! its newest hop (its voicing is a silence gate on that hop; the pitch comes from the whole
//! window ending one hop later); pYIN frames are centred.

use std::path::{Path, PathBuf};
use std::process::Command;

use cochlea::analyze::analyze;
use cochlea::audio::read_audio;
use cochlea::output::notes::{notes_csv, notes_from_analysis};
use cochlea::output::pitch::PitchTrack;
use cochlea_engine::eval::melody::{counts, MelodyCounts};
use cochlea_engine::eval::transcription::{midi_to_hz, notes_from_f0, score, Note, NoteScores};
use cochlea_engine::{EngineConfig, Output};
use cochlea_tests::corpus::{self, Item};

/// librosa's documented pYIN range: C2 to C7.
const C2_HZ: f64 = 65.40639132514966;
const C7_HZ: f64 = 2093.004522404789;

/// Settings shared by `score pitch` and `score notes`.
#[derive(clap::Args, Clone)]
pub struct TrackerArgs {
    /// Folder of NAME.flac + NAME.f0.csv (default: the dev corpus's pitch/).
    #[arg(long)]
    pub corpus: Option<PathBuf>,
    /// Lowest pitch searched, Hz.
    #[arg(long)]
    pub fmin: Option<f64>,
    /// Highest pitch searched, Hz.
    #[arg(long)]
    pub fmax: Option<f64>,
    /// Pitch hop, seconds.
    #[arg(long)]
    pub hop: Option<f64>,
    /// HMM smoothing lag, frames.
    #[arg(long)]
    pub lag: Option<u32>,
    /// Voicing threshold, 0 to 1.
    #[arg(long)]
    pub voicing_threshold: Option<f32>,
    /// Block size fed to the engine (results do not depend on it; emission times do).
    #[arg(long, default_value_t = 64)]
    pub block: usize,
    /// Only print the overall lines.
    #[arg(long)]
    pub quiet: bool,
}

/// `score pitch` arguments.
#[derive(clap::Args)]
pub struct PitchArgs {
    /// The tracker settings shared by `score pitch` and `score notes`.
    #[command(flatten)]
    pub tracker: TrackerArgs,
    /// Also run aubiopitch (yin and yinfft, aubio's defaults) on the same files.
    #[arg(long)]
    pub aubio: bool,
    /// Also run librosa's pYIN (offline, in the pinned peers' environment under
    /// target/peers-venv, made on first use; results cached under target/score-cache/).
    #[arg(long)]
    pub pyin: bool,
    /// Lowest pitch pYIN searches, Hz (its highest is C7, 2093 Hz). The default is librosa's
    /// documented range, from C2 (65.41 Hz); give Cochlea's `fmin` (60) to compare at the same
    /// range.
    #[arg(long, default_value = "65.41", value_name = "HZ")]
    pub pyin_fmin: f64,
    /// Write Cochlea's pitch track of each file here (NAME.f0.csv).
    #[arg(long)]
    pub dump: Option<PathBuf>,
}

/// `score notes` arguments.
#[derive(clap::Args)]
pub struct NotesArgs {
    /// The tracker settings shared by `score pitch` and `score notes`.
    #[command(flatten)]
    pub tracker: TrackerArgs,
    /// Minimum note length, seconds.
    #[arg(long)]
    pub min_note: Option<f32>,
    /// Pitch stability tolerance, cents.
    #[arg(long)]
    pub stability: Option<f32>,
    /// Run without onsets (notes from pitch alone).
    #[arg(long)]
    pub no_onsets: bool,
    /// Also run aubionotes on the same files.
    #[arg(long)]
    pub aubio: bool,
    /// Write Cochlea's notes of each file here (NAME.notes.csv).
    #[arg(long)]
    pub dump: Option<PathBuf>,
}

fn pitch_items(dir: &Option<PathBuf>) -> (PathBuf, Vec<Item>) {
    let dir = dir
        .clone()
        .or_else(|| corpus::dev_corpus().map(|d| d.join("pitch")))
        .unwrap_or_else(|| {
            eprintln!("error: no corpus found; pass --corpus DIR or set COCHLEA_CORPUS");
            std::process::exit(2)
        });
    let items = corpus::items(&dir, ".f0.csv");
    if items.is_empty() {
        eprintln!("error: no NAME.flac with NAME.f0.csv in {}", dir.display());
        std::process::exit(2);
    }
    (dir, items)
}

fn parallel<T: Send, F>(items: &[Item], f: F) -> Vec<(String, T)>
where
    F: Fn(&Item) -> Result<T, String> + Sync,
{
    crate::parallel(items, |it| &it.name, f)
}

/// The engine configuration for these arguments at `sample_rate`.
fn config(a: &TrackerArgs, sample_rate: f64) -> EngineConfig {
    let mut c = EngineConfig::new(sample_rate, 1, a.block);
    c.onset.enabled = false;
    c.pitch.enabled = true;
    if let Some(v) = a.fmin {
        c.pitch.fmin_hz = v;
    }
    if let Some(v) = a.fmax {
        c.pitch.fmax_hz = v;
    }
    if let Some(v) = a.hop {
        c.pitch.hop_s = v;
    }
    if let Some(v) = a.lag {
        c.pitch.lag_frames = v;
    }
    if let Some(v) = a.voicing_threshold {
        c.pitch.voicing_threshold = v;
    }
    c
}

/// The latency `engine` states for `output` with configuration `c`, in seconds.
fn stated_latency(c: &EngineConfig, output: Output) -> f64 {
    let (engine, _) = cochlea_engine::Engine::new(c.clone()).expect("valid configuration");
    engine.latency_samples(output) as f64 / c.sample_rate
}

/// The ground-truth f0 track of a pitch-corpus item.
pub fn read_truth(item: &Item) -> Result<(Vec<f64>, Vec<f64>), String> {
    corpus::read_f0(&item.truth).map_err(|e| format!("{}: {e}", item.truth.display()))
}

/// Reads a two-column table of numbers (`time freq`, separated by spaces, tabs or a comma),
/// skipping lines that do not parse (headers).
fn read_two_columns(text: &str) -> (Vec<f64>, Vec<f64>) {
    let mut t = Vec::new();
    let mut f = Vec::new();
    for line in text.lines() {
        let mut parts = line
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|p| !p.is_empty());
        if let (Some(Ok(a)), Some(Ok(b))) = (
            parts.next().map(str::parse::<f64>),
            parts.next().map(str::parse::<f64>),
        ) {
            t.push(a);
            f.push(b);
        }
    }
    (t, f)
}

fn melody_report(label: &str, results: &[(String, MelodyCounts)], quiet: bool) {
    let mut total = MelodyCounts::default();
    let mut sums = [0.0f64; 5];
    if !quiet {
        println!("\n{label}");
        println!(
            "{:<20} {:>6} {:>6} {:>6} {:>6} {:>6}",
            "file", "RPA", "RCA", "VR", "VFA", "OA"
        );
    }
    for (name, c) in results {
        total.add(c);
        let s = c.scores();
        let v = [
            s.raw_pitch_accuracy,
            s.raw_chroma_accuracy,
            s.voicing_recall,
            s.voicing_false_alarm,
            s.overall_accuracy,
        ];
        for (acc, x) in sums.iter_mut().zip(v) {
            *acc += x;
        }
        if !quiet {
            println!(
                "{:<20} {:>6.3} {:>6.3} {:>6.3} {:>6.3} {:>6.3}",
                name, v[0], v[1], v[2], v[3], v[4]
            );
        }
    }
    let s = total.scores();
    let n = results.len().max(1) as f64;
    println!(
        "{label:<34} pooled RPA {:.3} RCA {:.3} VR {:.3} VFA {:.3} OA {:.3} | mean of files RPA {:.3} VFA {:.3} OA {:.3}",
        s.raw_pitch_accuracy,
        s.raw_chroma_accuracy,
        s.voicing_recall,
        s.voicing_false_alarm,
        s.overall_accuracy,
        sums[0] / n,
        sums[3] / n,
        sums[4] / n,
    );
}

fn aubio_pitch(item: &Item, method: &str) -> Result<MelodyCounts, String> {
    let (rt, rf) = read_truth(item)?;
    let (et, ef) = aubiopitch(&item.audio, method)?;
    Ok(counts(&rt, &rf, &et, &ef, 50.0))
}

/// `aubiopitch -p METHOD` on a file (aubio's defaults otherwise): its `(times, Hz)` track, 0
/// where aubio reports no pitch.
pub fn aubiopitch(audio: &Path, method: &str) -> Result<(Vec<f64>, Vec<f64>), String> {
    let out = Command::new("aubiopitch")
        .arg("-i")
        .arg(audio)
        .args(["-p", method])
        .output()
        .map_err(|e| format!("aubiopitch: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "aubiopitch failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(read_two_columns(&String::from_utf8_lossy(&out.stdout)))
}

/// Runs librosa's pYIN over the files not yet in the cache, two processes at a time; returns
/// each item's track in the cache (`NAME.KEY.f0.csv`, `KEY` the audio's [content
/// key](crate::peers::content_key)).
fn pyin_tracks(items: &[Item], fmin: f64, fmax: f64) -> Result<Vec<PathBuf>, String> {
    let script = crate::peers::scripts().join("pyin_f0.py");
    let python = crate::peers::python().ok_or("the Python peers (librosa) could not be set up")?;
    let dir = crate::peers::cache_dir().join(format!("pyin-{fmin:.1}-{fmax:.1}"));
    let tracks = items
        .iter()
        .map(|it| {
            let key = crate::peers::content_key(&it.audio)?;
            Ok(dir.join(format!("{}.{key}.f0.csv", it.name)))
        })
        .collect::<Result<Vec<_>, String>>()?;
    let todo: Vec<&Item> = items
        .iter()
        .zip(&tracks)
        .filter(|(_, t)| !t.is_file())
        .map(|(it, _)| it)
        .collect();
    if !todo.is_empty() {
        // The script names its outputs after the inputs; they are moved to their keyed names
        // once it is done.
        let staging = dir.join(format!("staging-{}", std::process::id()));
        std::fs::create_dir_all(&staging).map_err(|e| format!("{}: {e}", staging.display()))?;
        eprintln!(
            "running librosa pyin on {} files (cached in {})...",
            todo.len(),
            dir.display()
        );
        let half = todo.len().div_ceil(2);
        let children: Vec<_> = todo
            .chunks(half.max(1))
            .map(|chunk| {
                Command::new(&python)
                    .arg(&script)
                    .args(["--fmin", &fmin.to_string(), "--fmax", &fmax.to_string()])
                    .arg(&staging)
                    .args(chunk.iter().map(|it| &it.audio))
                    .stdout(std::process::Stdio::null())
                    .spawn()
            })
            .collect::<Result<_, _>>()
            .map_err(|e| format!("{}: {e}", python.display()))?;
        // Every child is waited for, and every track finished is kept, even if one failed.
        let mut failure = None;
        for mut c in children {
            match c.wait() {
                Ok(status) if status.success() => {}
                Ok(status) => failure = Some(format!("pyin script failed: {status}")),
                Err(e) => failure = Some(e.to_string()),
            }
        }
        for (it, track) in items.iter().zip(&tracks).filter(|(_, t)| !t.is_file()) {
            let made = staging.join(format!("{}.f0.csv", it.name));
            if made.is_file() {
                std::fs::rename(&made, track).map_err(|e| format!("{}: {e}", made.display()))?;
            }
        }
        std::fs::remove_dir_all(&staging).map_err(|e| format!("{}: {e}", staging.display()))?;
        if let Some(f) = failure {
            return Err(f);
        }
    }
    Ok(tracks)
}

/// `score pitch`.
pub fn run_pitch(a: &PitchArgs) {
    let (dir, items) = pitch_items(&a.tracker.corpus);
    println!("{} files from {}", items.len(), dir.display());
    let results = parallel(&items, |it| {
        let audio = read_audio(&it.audio).map_err(|e| e.to_string())?;
        let c = config(&a.tracker, audio.sample_rate as f64);
        let analysis = analyze(&audio, c, a.tracker.block).map_err(|e| e.to_string())?;
        let track = PitchTrack::from_analysis(&analysis);
        if let Some(d) = &a.dump {
            let path = d.join(format!("{}.f0.csv", it.name));
            std::fs::create_dir_all(d)
                .and_then(|()| std::fs::write(&path, track.to_csv()))
                .map_err(|e| format!("{}: {e}", path.display()))?;
        }
        let (rt, rf) = read_truth(it)?;
        Ok(counts(&rt, &rf, &track.times_s, &track.freqs_hz, 50.0))
    });
    let c = config(&a.tracker, 44_100.0);
    let latency = stated_latency(&c, Output::Pitch);
    melody_report(
        &format!(
            "cochlea (fmin {} Hz, hop {} ms, lag {}, latency {:.1} ms)",
            c.pitch.fmin_hz,
            c.pitch.hop_s * 1e3,
            c.pitch.lag_frames,
            latency * 1e3
        ),
        &results,
        a.tracker.quiet,
    );
    if a.aubio && crate::peers::aubio("aubiopitch") {
        for m in ["yin", "yinfft"] {
            let r = parallel(&items, |it| aubio_pitch(it, m));
            melody_report(&format!("aubiopitch -p {m}"), &r, a.tracker.quiet);
        }
    }
    if a.pyin {
        // C2 as given on the command line (to two decimals) is C2 exactly.
        let c2 = (a.pyin_fmin - C2_HZ).abs() < 0.01;
        let (fmin, fmax) = (if c2 { C2_HZ } else { a.pyin_fmin }, C7_HZ);
        match pyin_tracks(&items, fmin, fmax) {
            Ok(tracks) => {
                let pairs: Vec<(&Item, &PathBuf)> = items.iter().zip(&tracks).collect();
                let r = crate::parallel(
                    &pairs,
                    |p| &p.0.name,
                    |&(it, path)| {
                        let (rt, rf) = read_truth(it)?;
                        let text = std::fs::read_to_string(path)
                            .map_err(|e| format!("{}: {e}", path.display()))?;
                        let (et, ef) = read_two_columns(&text);
                        Ok(counts(&rt, &rf, &et, &ef, 50.0))
                    },
                );
                let range = if c2 {
                    "C2-C7".to_string()
                } else {
                    format!("{fmin} Hz-C7")
                };
                melody_report(
                    &format!("librosa pyin (offline, {range})"),
                    &r,
                    a.tracker.quiet,
                );
            }
            Err(e) => eprintln!("pyin skipped: {e}"),
        }
    }
}

/// Reference notes of a pitch-corpus item: its voiced runs.
fn reference_notes(item: &Item) -> Result<Vec<Note>, String> {
    let (t, f) = read_truth(item)?;
    Ok(notes_from_f0(&t, &f, 50.0))
}

fn notes_report(label: &str, results: &[(String, (NoteScores, Vec<f64>))], quiet: bool) {
    let (mut m, mut r, mut e) = (0, 0, 0);
    let mut f_sum = 0.0;
    let mut lat: Vec<f64> = Vec::new();
    if !quiet {
        println!("\n{label}");
        println!(
            "{:<20} {:>6} {:>6} {:>6} {:>5} {:>5}",
            "file", "F", "P", "R", "ref", "est"
        );
    }
    for (name, (s, l)) in results {
        m += s.matches;
        r += s.n_ref;
        e += s.n_est;
        f_sum += s.f_measure;
        lat.extend(l);
        if !quiet {
            println!(
                "{:<20} {:>6.3} {:>6.3} {:>6.3} {:>5} {:>5}",
                name, s.f_measure, s.precision, s.recall, s.n_ref, s.n_est
            );
        }
    }
    let s = NoteScores::from_counts(m, r, e);
    lat.sort_by(f64::total_cmp);
    let latency = lat
        .get(lat.len() / 2)
        .map_or("n/a (offline)".to_string(), |l| {
            format!("{:.1} ms", l * 1e3)
        });
    println!(
        "{label:<34} F {:.3} (mean of files {:.3})  P {:.3}  R {:.3}  ({} ref, {} est)  median NoteOn latency {latency}",
        s.f_measure,
        f_sum / results.len().max(1) as f64,
        s.precision,
        s.recall,
        r,
        e
    );
}

/// `score notes`.
pub fn run_notes(a: &NotesArgs) {
    let (dir, items) = pitch_items(&a.tracker.corpus);
    println!("{} files from {}", items.len(), dir.display());
    let results = parallel(&items, |it| {
        let audio = read_audio(&it.audio).map_err(|e| e.to_string())?;
        let mut c = config(&a.tracker, audio.sample_rate as f64);
        c.pitch.enabled = false;
        c.notes.enabled = true;
        if let Some(v) = a.min_note {
            c.notes.min_note_s = v;
        }
        if let Some(v) = a.stability {
            c.notes.stability_cents = v;
        }
        c.notes.use_onsets = !a.no_onsets;
        let analysis = analyze(&audio, c, a.tracker.block).map_err(|e| e.to_string())?;
        let records = notes_from_analysis(&analysis);
        if let Some(d) = &a.dump {
            let path = d.join(format!("{}.notes.csv", it.name));
            std::fs::create_dir_all(d)
                .and_then(|()| std::fs::write(&path, notes_csv(&records)))
                .map_err(|e| format!("{}: {e}", path.display()))?;
        }
        let est: Vec<Note> = records
            .iter()
            .map(|n| Note {
                onset_s: n.onset_s,
                offset_s: n.offset_s,
                pitch_hz: midi_to_hz(n.midi_note as f64),
            })
            .collect();
        let reference = reference_notes(it)?;
        // NoteOn latency: emission minus the reference onset, over matches.
        let ons: Vec<(f64, f64)> = analysis
            .events
            .iter()
            .filter_map(|e| match e.event {
                cochlea_engine::Event::NoteOn { sample, .. } => Some((
                    sample as f64 / analysis.sample_rate,
                    e.emitted_at as f64 / analysis.sample_rate,
                )),
                _ => None,
            })
            .collect();
        let pairs = cochlea_engine::eval::transcription::match_notes(&reference, &est, 0.05, 50.0);
        let lat = pairs
            .iter()
            .filter_map(|&(r, e)| {
                ons.iter()
                    .find(|o| (o.0 - est[e].onset_s).abs() < 1e-9)
                    .map(|o| o.1 - reference[r].onset_s)
            })
            .collect();
        Ok((score(&reference, &est, 0.05, 50.0), lat))
    });
    let mut c = config(&a.tracker, 44_100.0);
    c.notes.enabled = true;
    if let Some(v) = a.min_note {
        c.notes.min_note_s = v;
    }
    let stated = stated_latency(&c, Output::Notes);
    notes_report(
        &format!(
            "cochlea notes{} (stated latency {:.1} ms)",
            if a.no_onsets { " without onsets" } else { "" },
            stated * 1e3
        ),
        &results,
        a.tracker.quiet,
    );
    if a.aubio && crate::peers::aubio("aubionotes") {
        let r = parallel(&items, |it| {
            let out = Command::new("aubionotes")
                .arg("-i")
                .arg(&it.audio)
                .output()
                .map_err(|e| format!("aubionotes: {e}"))?;
            if !out.status.success() {
                return Err("aubionotes failed".into());
            }
            // Lines "midi onset offset"; a lone time on the first line is skipped.
            let est: Vec<Note> = String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter_map(|l| {
                    let v: Vec<f64> = l
                        .split_whitespace()
                        .filter_map(|x| x.parse().ok())
                        .collect();
                    (v.len() == 3 && v[0] > 0.0).then(|| Note {
                        onset_s: v[1],
                        offset_s: v[2],
                        pitch_hz: midi_to_hz(v[0]),
                    })
                })
                .collect();
            Ok((score(&reference_notes(it)?, &est, 0.05, 50.0), vec![]))
        });
        notes_report("aubionotes (defaults)", &r, a.tracker.quiet);
    }
}
