//! `cochlea`: run Cochlea's engine over files, or over its built-in demo input.
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use cochlea::analyze::{analyze, Analysis, FILE_BLOCK};
use cochlea::audio::{read_audio, temp_path, write_wav, Audio};
use cochlea::demo::demo_signal;
use cochlea::exit;
use cochlea_engine::eval::onset::score;
use cochlea_engine::{EngineConfig, OnsetMethod};

#[derive(Parser)]
#[command(
    name = "cochlea",
    version,
    about = "Cochlea: real-time music listening (onsets, pitch, notes, stems)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Analyse an audio file (WAV, FLAC, MP3, Ogg Vorbis; any rate; channels mixed to mono).
    Analyze(AnalyzeArgs),
    /// Run the engine on a built-in synthesised input and write every output to a folder.
    Demo(DemoArgs),
}

#[derive(Args)]
struct AnalyzeArgs {
    /// The audio file.
    input: PathBuf,
    /// Write onset times here, one time in seconds per line.
    #[arg(long, value_name = "OUT.txt")]
    onsets: PathBuf,
    #[command(flatten)]
    onset: OnsetArgs,
}

#[derive(Args)]
struct DemoArgs {
    /// Folder for the outputs (created if needed).
    #[arg(short, long, default_value = "out/demo")]
    output: PathBuf,
    #[command(flatten)]
    onset: OnsetArgs,
}

#[derive(Clone, Copy, ValueEnum)]
enum Method {
    Specflux,
    Superflux,
    Complex,
    Hfc,
    Energy,
}

#[derive(Args)]
struct OnsetArgs {
    /// Onset detection function.
    #[arg(long, value_enum, default_value = "superflux")]
    method: Method,
    /// Onset sensitivity, 0 (strongest onsets only) to 1 (everything).
    #[arg(long, default_value_t = 0.5)]
    sensitivity: f32,
    /// Minimum time between onsets, in seconds (0 to 1).
    #[arg(long, default_value_t = 0.03)]
    min_interval: f32,
    /// Frames quieter than this (dBFS) start no onset (-120 to 0).
    #[arg(long, default_value_t = -70.0, allow_hyphen_values = true)]
    silence_gate: f32,
    /// Peak-picker look-ahead in frames (0 to 8); adds that many hops of latency.
    #[arg(long, default_value_t = 0)]
    lookahead: u32,
}

impl OnsetArgs {
    fn apply(&self, config: &mut EngineConfig) {
        let o = &mut config.onset;
        o.method = match self.method {
            Method::Specflux => OnsetMethod::SpectralFlux,
            Method::Superflux => OnsetMethod::SuperFlux,
            Method::Complex => OnsetMethod::ComplexDomain,
            Method::Hfc => OnsetMethod::Hfc,
            Method::Energy => OnsetMethod::Energy,
        };
        o.sensitivity = self.sensitivity;
        o.min_interval_s = self.min_interval;
        o.silence_gate_db = self.silence_gate;
        o.lookahead_frames = self.lookahead;
    }
}

/// A failure with its exit code; the message is printed once, on stderr.
struct Failure {
    code: i32,
    message: String,
}

fn fail(code: i32, message: impl Into<String>) -> Failure {
    Failure {
        code,
        message: message.into(),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Analyze(a) => run_analyze(&a),
        Command::Demo(d) => run_demo(&d),
    };
    match result {
        Ok(()) => ExitCode::from(exit::OK as u8),
        Err(f) => {
            eprintln!("cochlea: {}", f.message);
            ExitCode::from(f.code as u8)
        }
    }
}

fn config_for(sample_rate: u32, onset: &OnsetArgs) -> Result<EngineConfig, Failure> {
    let mut config = EngineConfig::new(sample_rate as f64, 1, FILE_BLOCK);
    onset.apply(&mut config);
    config
        .validate()
        .map_err(|e| fail(exit::USAGE, format!("invalid setting: {e}")))?;
    Ok(config)
}

fn run(audio: &Audio, config: EngineConfig) -> Result<Analysis, Failure> {
    analyze(audio, config, FILE_BLOCK)
        .map_err(|e| fail(exit::INPUT, format!("cannot analyse this input: {e}")))
}

/// Writes `text` to `path` through a temporary file, so no partial output is ever left.
fn write_text(path: &Path, text: &str) -> Result<(), Failure> {
    let tmp = temp_path(path);
    let result = std::fs::write(&tmp, text).and_then(|()| std::fs::rename(&tmp, path));
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        fail(
            exit::OUTPUT,
            format!("{}: cannot write: {e}", path.display()),
        )
    })
}

fn onsets_text(times: &[f64]) -> String {
    times.iter().map(|t| format!("{t:.6}\n")).collect()
}

fn run_analyze(a: &AnalyzeArgs) -> Result<(), Failure> {
    // Settings are checked before any file is touched.
    config_for(44_100, &a.onset)?;
    let audio = read_audio(&a.input).map_err(|e| fail(exit::INPUT, e.to_string()))?;
    let analysis = run(&audio, config_for(audio.sample_rate, &a.onset)?)?;
    let times = analysis.onset_times();
    write_text(&a.onsets, &onsets_text(&times))?;
    eprintln!(
        "{}: {:.2} s at {} Hz, {} onsets -> {}",
        a.input.display(),
        audio.duration_s(),
        audio.sample_rate,
        times.len(),
        a.onsets.display()
    );
    Ok(())
}

fn run_demo(d: &DemoArgs) -> Result<(), Failure> {
    let signal = demo_signal();
    let config = config_for(signal.sample_rate, &d.onset)?;
    std::fs::create_dir_all(&d.output).map_err(|e| {
        fail(
            exit::OUTPUT,
            format!("{}: cannot create folder: {e}", d.output.display()),
        )
    })?;
    let audio = Audio {
        sample_rate: signal.sample_rate,
        channels: vec![signal.samples.clone()],
    };
    let analysis = run(&audio, config)?;
    let times = analysis.onset_times();
    let input_path = d.output.join("input.wav");
    write_wav(&input_path, signal.sample_rate, &[&signal.samples])
        .map_err(|e| fail(exit::OUTPUT, e.to_string()))?;
    let onsets_path = d.output.join("onsets.txt");
    write_text(&onsets_path, &onsets_text(&times))?;

    println!(
        "Cochlea demo: {:.1} s of synthesised music at {} Hz",
        audio.duration_s(),
        signal.sample_rate
    );
    println!(
        "onset latency {:.1} ms (stated), hop {:.1} ms",
        analysis.onset_latency as f64 * 1e3 / signal.sample_rate as f64,
        cochlea_engine::OnsetConfig::default().hop_s * 1e3
    );
    println!("\n  found (s)   true (s)   error (ms)");
    for &t in &times {
        let nearest = signal
            .onsets
            .iter()
            .cloned()
            .min_by(|a, b| (a - t).abs().total_cmp(&(b - t).abs()));
        match nearest {
            Some(r) if (r - t).abs() <= 0.05 => {
                println!("  {t:8.3}   {r:8.3}   {:+8.1}", (t - r) * 1e3)
            }
            _ => println!("  {t:8.3}        -          (no onset there)"),
        }
    }
    let s = score(&signal.onsets, &times, 0.05);
    println!(
        "\nonsets: {} found, {} true, F-measure {:.3} (precision {:.3}, recall {:.3}, +-50 ms)",
        s.n_est, s.n_ref, s.f_measure, s.precision, s.recall
    );
    println!(
        "wrote {} and {}",
        input_path.display(),
        onsets_path.display()
    );
    Ok(())
}
