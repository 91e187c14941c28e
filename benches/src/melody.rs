//! `score melody`: the causal predominant-pitch tracker ([`PredominantPitch`]) over the dev
//! corpus's melody + accompaniment mixes (`separation/maNNN_*.mix.flac` against
//! `.melody.f0.csv`), with mir_eval's melody scores, optionally next to the monophonic pitch
//! tracker on the same mixes.
//!
//! Two figures are printed for the tracker: the honest one (unvoiced frames carry no pitch) and
//! mir_eval's convention, where an unvoiced frame still reports its pitch guess as a negative
//! frequency and raw pitch/chroma accuracy count that guess.

use std::path::{Path, PathBuf};
use std::time::Instant;

use cochlea::analyze::analyze;
use cochlea::audio::read_audio;
use cochlea::output::pitch::PitchTrack;
use cochlea_engine::eval::melody::{counts, MelodyCounts};
use cochlea_engine::{EngineConfig, MelodyConfig, PredominantPitch};
use cochlea_tests::corpus;

/// `score melody` arguments.
#[derive(clap::Args)]
pub struct MelodyArgs {
    /// Folder of NAME.mix.flac + NAME.melody.f0.csv (default: the dev corpus's separation/).
    #[arg(long)]
    pub corpus: Option<PathBuf>,
    /// Hop, samples (the engine's melody hop at 44.1 kHz: two separation hops).
    #[arg(long, default_value_t = 512)]
    pub hop: usize,
    /// Analysis window, seconds.
    #[arg(long)]
    pub window: Option<f32>,
    /// Decoder lag, seconds.
    #[arg(long)]
    pub lag: Option<f32>,
    /// Cost per semitone of a pitch move.
    #[arg(long)]
    pub jump_cost: Option<f32>,
    /// Voicing threshold, deviations below the running mean.
    #[arg(long, allow_hyphen_values = true)]
    pub voicing_threshold: Option<f32>,
    /// Time constant of the voicing statistics, seconds.
    #[arg(long)]
    pub voicing_tau: Option<f32>,
    /// Minimum peak-to-mean ratio of the salience function for voicing.
    #[arg(long)]
    pub min_peak_ratio: Option<f32>,
    /// Weight ratio of successive harmonics.
    #[arg(long)]
    pub harmonic_weight: Option<f32>,
    /// Exponent on peak amplitudes.
    #[arg(long)]
    pub magnitude_power: Option<f32>,
    /// Harmonics summed.
    #[arg(long)]
    pub harmonics: Option<u32>,
    /// Peak range, dB.
    #[arg(long)]
    pub peak_range: Option<f32>,
    /// Disable the equal-loudness weighting.
    #[arg(long)]
    pub flat: bool,
    /// Also run the monophonic pitch tracker on the same mixes.
    #[arg(long)]
    pub mono: bool,
    /// Write the tracks here (NAME.melody.est.csv, `time_s,freq_hz`, negative = unvoiced guess).
    #[arg(long)]
    pub dump: Option<PathBuf>,
    /// Only print the overall lines.
    #[arg(long)]
    pub quiet: bool,
}

/// One mix and its melody's f0.
struct MixItem {
    name: String,
    audio: PathBuf,
    truth: PathBuf,
}

/// Every `NAME.mix.flac` in `dir` with a `NAME.melody.f0.csv` next to it, sorted.
fn mix_items(dir: &Path) -> Vec<MixItem> {
    let mut out: Vec<MixItem> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| {
                    let path = e.path();
                    let file = path.file_name()?.to_str()?.to_owned();
                    let name = file.strip_suffix(".mix.flac")?.to_owned();
                    let truth = dir.join(format!("{name}.melody.f0.csv"));
                    truth.is_file().then_some(MixItem {
                        name,
                        audio: path,
                        truth,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// The configuration these arguments ask for.
fn config(a: &MelodyArgs) -> MelodyConfig {
    let mut c = MelodyConfig::default();
    if let Some(v) = a.window {
        c.window_s = v;
    }
    if let Some(v) = a.lag {
        c.lag_s = v;
    }
    if let Some(v) = a.jump_cost {
        c.jump_cost = v;
    }
    if let Some(v) = a.voicing_threshold {
        c.voicing_threshold = v;
    }
    if let Some(v) = a.voicing_tau {
        c.voicing_tau_s = v;
    }
    if let Some(v) = a.min_peak_ratio {
        c.min_peak_ratio = v;
    }
    if let Some(v) = a.harmonic_weight {
        c.harmonic_weight = v;
    }
    if let Some(v) = a.magnitude_power {
        c.magnitude_power = v;
    }
    if let Some(v) = a.harmonics {
        c.harmonics = v;
    }
    if let Some(v) = a.peak_range {
        c.peak_range_db = v;
    }
    if a.flat {
        c.equal_loudness = false;
    }
    c
}

/// A melody track: frame times and frequencies, negative where unvoiced with a pitch guess.
pub struct MelodyTrack {
    /// Frame times, seconds.
    pub times_s: Vec<f64>,
    /// Hz; `> 0` voiced, `< 0` unvoiced with a pitch guess, 0 no pitch at all.
    pub freqs_hz: Vec<f64>,
}

impl MelodyTrack {
    /// The honest form: unvoiced frames at 0.
    pub fn voiced_only(&self) -> Vec<f64> {
        self.freqs_hz.iter().map(|&f| f.max(0.0)).collect()
    }
}

/// Runs the tracker over a mono signal, hop by hop (a trailing partial hop is dropped); frames
/// describing instants before the start are skipped.
pub fn track(signal: &[f32], sample_rate: u32, hop: usize, c: &MelodyConfig) -> MelodyTrack {
    let mut p = PredominantPitch::new(sample_rate, hop, c);
    let delay = p.delay_samples() as i64;
    let mut t = MelodyTrack {
        times_s: Vec::with_capacity(signal.len() / hop + 1),
        freqs_hz: Vec::with_capacity(signal.len() / hop + 1),
    };
    for (i, h) in signal.chunks_exact(hop).enumerate() {
        let f = p.push_hop(h);
        let at = ((i + 1) * hop) as i64 - delay;
        if at < 0 {
            continue;
        }
        t.times_s.push(at as f64 / sample_rate as f64);
        let guess = p.pitch_guess_hz() as f64;
        t.freqs_hz
            .push(if f.voiced { f.f0_hz as f64 } else { -guess });
    }
    t
}

fn parallel<T: Send, F>(items: &[MixItem], f: F) -> Vec<(String, T)>
where
    F: Fn(&MixItem) -> Result<T, String> + Sync,
{
    crate::parallel(items, |it| &it.name, f)
}

fn report(label: &str, results: &[(String, MelodyCounts)], quiet: bool) {
    let mut total = MelodyCounts::default();
    if !quiet {
        println!("\n{label}");
        println!(
            "{:<24} {:>6} {:>6} {:>6} {:>6} {:>6}",
            "file", "RPA", "RCA", "VR", "VFA", "OA"
        );
    }
    for (name, c) in results {
        total.add(c);
        let s = c.scores();
        if !quiet {
            println!(
                "{:<24} {:>6.3} {:>6.3} {:>6.3} {:>6.3} {:>6.3}",
                name,
                s.raw_pitch_accuracy,
                s.raw_chroma_accuracy,
                s.voicing_recall,
                s.voicing_false_alarm,
                s.overall_accuracy
            );
        }
    }
    let s = total.scores();
    println!(
        "{label:<44} overall RPA {:.3} RCA {:.3} VR {:.3} VFA {:.3} OA {:.3}",
        s.raw_pitch_accuracy,
        s.raw_chroma_accuracy,
        s.voicing_recall,
        s.voicing_false_alarm,
        s.overall_accuracy,
    );
}

/// Per-file result of the tracker.
struct Scored {
    honest: MelodyCounts,
    guess: MelodyCounts,
    audio_s: f64,
    cpu_s: f64,
}

/// `score melody`.
pub fn run(a: &MelodyArgs) {
    let dir = a
        .corpus
        .clone()
        .or_else(|| corpus::dev_corpus().map(|d| d.join("separation")))
        .unwrap_or_else(|| {
            eprintln!("error: no corpus found; pass --corpus DIR or set COCHLEA_CORPUS");
            std::process::exit(2)
        });
    let items = mix_items(&dir);
    if items.is_empty() {
        eprintln!(
            "error: no NAME.mix.flac with NAME.melody.f0.csv in {}",
            dir.display()
        );
        std::process::exit(2);
    }
    let c = config(a);
    if let Err(e) = c.validate_for(44_100) {
        eprintln!("error: {e}");
        std::process::exit(2);
    }
    println!("{} mixes from {}", items.len(), dir.display());
    let results = parallel(&items, |it| {
        let audio = read_audio(&it.audio).map_err(|e| e.to_string())?;
        let signal = audio.mono();
        let start = Instant::now();
        let t = track(&signal, audio.sample_rate, a.hop, &c);
        let cpu_s = start.elapsed().as_secs_f64();
        if let Some(d) = &a.dump {
            let path = d.join(format!("{}.melody.est.csv", it.name));
            let text: String = t
                .times_s
                .iter()
                .zip(&t.freqs_hz)
                .map(|(t, f)| format!("{t:.6},{f:.3}\n"))
                .collect();
            std::fs::create_dir_all(d)
                .and_then(|()| std::fs::write(&path, text))
                .map_err(|e| format!("{}: {e}", path.display()))?;
        }
        let (rt, rf) =
            corpus::read_f0(&it.truth).map_err(|e| format!("{}: {e}", it.truth.display()))?;
        Ok(Scored {
            honest: counts(&rt, &rf, &t.times_s, &t.voiced_only(), 50.0),
            guess: counts(&rt, &rf, &t.times_s, &t.freqs_hz, 50.0),
            audio_s: signal.len() as f64 / audio.sample_rate as f64,
            cpu_s,
        })
    });
    let p = PredominantPitch::new(44_100, a.hop, &c);
    let p48 = PredominantPitch::new(48_000, a.hop, &c);
    let label = format!(
        "cochlea melody (hop {}, delay {} smp = {:.1} ms @44.1k, {} smp @48k)",
        a.hop,
        p.delay_samples(),
        p.delay_samples() as f64 / 44.1,
        p48.delay_samples()
    );
    let honest: Vec<_> = results.iter().map(|(n, s)| (n.clone(), s.honest)).collect();
    let guess: Vec<_> = results.iter().map(|(n, s)| (n.clone(), s.guess)).collect();
    report(&format!("{label}, voiced-only"), &honest, a.quiet);
    report(
        "cochlea melody, mir_eval convention (unvoiced guesses count for RPA/RCA)",
        &guess,
        a.quiet,
    );
    let audio: f64 = results.iter().map(|r| r.1.audio_s).sum();
    let cpu: f64 = results.iter().map(|r| r.1.cpu_s).sum();
    println!(
        "cost: {:.1} ms of CPU per second of audio ({:.0}x real time, one core)",
        1e3 * cpu / audio.max(1e-9),
        audio / cpu.max(1e-9)
    );
    if a.mono {
        let r = parallel(&items, |it| {
            let audio = read_audio(&it.audio).map_err(|e| e.to_string())?;
            let mut ec = EngineConfig::new(audio.sample_rate as f64, 1, 512);
            ec.onset.enabled = false;
            ec.pitch.enabled = true;
            let mono = cochlea::audio::Audio {
                sample_rate: audio.sample_rate,
                channels: vec![audio.mono()],
            };
            let analysis = analyze(&mono, ec, 512).map_err(|e| e.to_string())?;
            let tr = PitchTrack::from_analysis(&analysis);
            let (rt, rf) =
                corpus::read_f0(&it.truth).map_err(|e| format!("{}: {e}", it.truth.display()))?;
            Ok(counts(&rt, &rf, &tr.times_s, &tr.freqs_hz, 50.0))
        });
        report("monophonic pitch tracker (for scale)", &r, a.quiet);
    }
}
