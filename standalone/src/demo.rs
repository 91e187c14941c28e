//! `cochlea demo`: the whole engine on a built-in input, a short synthesised phrase whose ground
//! truth is known exactly, so the demo can show what the engine found next to what is there. The
//! input is written as `input.wav` and analysed like any file (`cochlea analyze`), every output
//! beside it.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use clap::Args;
use cochlea_engine::eval::onset::score;

use crate::analyze::{analyze_file, FileJob, FILE_BLOCK};
use crate::audio::write_wav;
use crate::exit::Failure;
use crate::output::{Destination, OutputKind, OutputPaths, SUMMARY_FILE};
use crate::settings::AnalysisSettings;

/// A synthesised signal and the onsets placed in it.
pub struct DemoSignal {
    /// Sample rate in Hz.
    pub sample_rate: u32,
    /// Mono samples.
    pub samples: Vec<f32>,
    /// Note and hit onsets, in seconds.
    pub onsets: Vec<f64>,
    /// `(onset_s, duration_s, midi_note)` of the melody notes.
    pub notes: Vec<(f64, f64, u8)>,
}

fn midi_hz(note: u8) -> f64 {
    440.0 * 2f64.powf((note as f64 - 69.0) / 12.0)
}

/// About seven seconds: a melody of plucked harmonic tones (with a rest, a repeated note and a
/// legato pair) over a soft pad, and a few noise-burst hits. Deterministic.
pub fn demo_signal() -> DemoSignal {
    let sr = 44_100u32;
    let len = (7.0 * sr as f64) as usize;
    let mut x = vec![0.0f32; len];
    let melody: [(f64, f64, u8); 10] = [
        (0.50, 0.40, 60),
        (1.00, 0.40, 64),
        (1.50, 0.40, 67),
        (2.00, 0.90, 72),
        (3.20, 0.30, 71),
        (3.60, 0.30, 71),
        (4.00, 0.45, 69),
        (4.50, 0.45, 67),
        (5.10, 0.60, 64),
        (5.80, 0.80, 60),
    ];
    for &(t0, dur, note) in &melody {
        let f0 = midi_hz(note);
        let start = (t0 * sr as f64) as usize;
        let n = (dur * sr as f64) as usize;
        for i in 0..n.min(len - start) {
            let t = i as f64 / sr as f64;
            let attack = (t / 0.005).min(1.0);
            let release = ((dur - t) / 0.03).clamp(0.0, 1.0);
            let env = attack * release * (-3.0 * t).exp();
            let mut s = 0.0;
            for h in 1..=6 {
                s += (2.0 * std::f64::consts::PI * f0 * h as f64 * t).sin() / h as f64;
            }
            x[start + i] += (0.25 * env * s) as f32;
        }
    }
    // A soft, slowly swelling pad (no onsets of its own) under the melody.
    for (i, v) in x.iter_mut().enumerate() {
        let t = i as f64 / sr as f64;
        let swell = 0.5 - 0.5 * (2.0 * std::f64::consts::PI * t / 7.0).cos();
        let pad = (2.0 * std::f64::consts::PI * 130.81 * t).sin()
            + 0.5 * (2.0 * std::f64::consts::PI * 196.0 * t).sin();
        *v += (0.02 * swell * pad) as f32;
    }
    // Noise-burst hits from a fixed linear congruential generator.
    let hits = [2.5, 2.75, 4.25, 6.5];
    let mut seed = 0x2545_f491u32;
    for &t0 in &hits {
        let start = (t0 * sr as f64) as usize;
        for i in 0..(0.08 * sr as f64) as usize {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let noise = (seed >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0;
            let env = (-(i as f32) / (0.012 * sr as f32)).exp();
            x[start + i] += 0.35 * env * noise;
        }
    }
    let mut onsets: Vec<f64> = melody.iter().map(|m| m.0).chain(hits).collect();
    onsets.sort_by(f64::total_cmp);
    onsets.dedup_by(|a, b| (*a - *b).abs() < 0.03);
    DemoSignal {
        sample_rate: sr,
        samples: x,
        onsets,
        notes: melody.to_vec(),
    }
}

/// Options of `cochlea demo`.
#[derive(Args, Clone, Debug)]
pub struct DemoArgs {
    /// Folder for the outputs (created if needed; the demo's own files in it are replaced).
    #[arg(short, long, default_value = "out/demo", value_name = "DIR")]
    pub output: PathBuf,
    /// Analysis settings.
    #[command(flatten)]
    pub settings: AnalysisSettings,
}

/// Runs the demo: writes the input, analyses it into every output, prints what was found next
/// to the truth.
pub fn run(args: &DemoArgs) -> Result<(), Failure> {
    args.settings.check(FILE_BLOCK)?;
    let signal = demo_signal();
    let dir = &args.output;
    std::fs::create_dir_all(dir)
        .map_err(|e| Failure::output(format!("{}: cannot create folder: {e}", dir.display())))?;
    let input = dir.join("input.wav");
    write_wav(&input, signal.sample_rate, &[&signal.samples])
        .map_err(|e| Failure::new(e.exit_code(), e.to_string()))?;
    let kinds: Vec<OutputKind> = OutputKind::ALL
        .iter()
        .copied()
        .filter(|k| k.is_default())
        .collect();
    let destination = Destination::new(&kinds, Some(dir), &OutputPaths::default());
    let job = FileJob {
        input: &input,
        destination: &destination,
        settings: &args.settings,
        block: FILE_BLOCK,
        force: true,
    };
    let result = analyze_file(&job, &|_| {}, &AtomicBool::new(false))?;

    // Everything below is read back from the files just written.
    let read = |name: &str| {
        let p = dir.join(name);
        std::fs::read_to_string(&p)
            .map_err(|e| Failure::internal(format!("{}: cannot read back: {e}", p.display())))
    };
    let times: Vec<f64> = read(OutputKind::Onsets.file_name())?
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    let summary: serde_json::Value = serde_json::from_str(&read(SUMMARY_FILE)?)
        .map_err(|e| Failure::internal(format!("summary.json does not parse: {e}")))?;
    println!(
        "Cochlea demo: {:.1} s of synthesised music at {} Hz (a melody of plucked tones over a \
         pad, and noise hits)",
        result.duration_s(),
        signal.sample_rate
    );
    println!(
        "onset latency {:.1} ms (stated), hop {:.1} ms; analysed at {:.0}x real time",
        summary["latency"]["onsets"]["ms"]
            .as_f64()
            .unwrap_or(f64::NAN),
        cochlea_engine::OnsetConfig::default().hop_s * 1e3,
        summary["processing"]["speed_x_realtime"]
            .as_f64()
            .unwrap_or(f64::NAN)
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
    println!("pitch, notes and stems: not produced by this engine build yet");
    let mut files = vec![input.display().to_string()];
    files.extend(result.written.iter().map(|p| p.display().to_string()));
    println!("wrote {}", files.join(", "));
    Ok(())
}
