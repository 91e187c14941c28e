//! `cochlea demo`: the whole engine on a built-in input, a short synthesised phrase whose ground
//! truth is known exactly, so the demo can show what the engine found next to what is there. The
//! input is written as `input.wav` and analysed like any file (`cochlea analyze`), every output
//! beside it.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use clap::Args;
use cochlea_engine::eval::melody::evaluate;
use cochlea_engine::eval::onset::score;
use cochlea_engine::eval::transcription::{match_notes, midi_to_hz, score as notes_score, Note};

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
/// legato pair), and a few noise-burst hits between its notes. Deterministic.
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
    // Noise-burst hits from a fixed linear congruential generator.
    let hits = [0.2, 2.95, 6.7, 6.85];
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
    // Every output, the melody track and the stems included.
    let destination = Destination::new(OutputKind::ALL, Some(dir), &OutputPaths::default());
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
        "Cochlea demo: {:.1} s of synthesised music at {} Hz (a melody of plucked tones and \
         noise hits)",
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

    // Notes, read back from notes.csv, next to the melody that was synthesised.
    let found: Vec<Note> = read(&format!("{}.csv", notes_stem()))?
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut f = l.split(',').map(|x| x.trim().parse::<f64>().ok());
            Some(Note {
                onset_s: f.next()??,
                offset_s: f.next()??,
                pitch_hz: midi_to_hz(f.next()??),
            })
        })
        .collect();
    let truth: Vec<Note> = signal
        .notes
        .iter()
        .map(|&(onset_s, dur, key)| Note {
            onset_s,
            offset_s: onset_s + dur,
            pitch_hz: midi_to_hz(key as f64),
        })
        .collect();
    println!("\n  note   found (s)        true (s)");
    let matched = match_notes(&truth, &found, 0.05, 50.0);
    for (i, n) in found.iter().enumerate() {
        let name = note_name(n.pitch_hz);
        match matched.iter().find(|m| m.1 == i) {
            Some(&(r, _)) => println!(
                "  {name:<4} {:6.3}-{:6.3}   {:6.3}-{:6.3}",
                n.onset_s, n.offset_s, truth[r].onset_s, truth[r].offset_s
            ),
            None => println!(
                "  {name:<4} {:6.3}-{:6.3}   (no such note)",
                n.onset_s, n.offset_s
            ),
        }
    }
    let ns = notes_score(&truth, &found, 0.05, 50.0);
    println!(
        "\nnotes: {} found, {} true, F-measure {:.3} (onset +-50 ms and pitch +-50 cents; \
         note latency {:.1} ms stated)",
        ns.n_est,
        ns.n_ref,
        ns.f_measure,
        summary["latency"]["notes"]["ms"]
            .as_f64()
            .unwrap_or(f64::NAN)
    );

    // The pitch track, read back from pitch.csv, against the melody's f0 on a 10 ms grid.
    let (mut est_t, mut est_f) = (Vec::new(), Vec::new());
    for l in read(OutputKind::Pitch.file_name())?.lines().skip(1) {
        let mut f = l.split(',').map(|x| x.trim().parse::<f64>().ok());
        if let (Some(Some(t)), Some(Some(hz))) = (f.next(), f.next()) {
            est_t.push(t);
            est_f.push(hz);
        }
    }
    let ref_t: Vec<f64> = (0..(result.duration_s() * 100.0) as usize)
        .map(|i| i as f64 * 0.01)
        .collect();
    let ref_f: Vec<f64> = ref_t
        .iter()
        .map(|&t| {
            truth
                .iter()
                .find(|n| t >= n.onset_s && t < n.offset_s)
                .map_or(0.0, |n| n.pitch_hz)
        })
        .collect();
    let m = evaluate(&ref_t, &ref_f, &est_t, &est_f, 50.0);
    println!(
        "pitch: raw pitch accuracy {:.3}, voicing recall {:.3}, false alarm {:.3} (pitch latency \
         {:.1} ms stated)",
        m.raw_pitch_accuracy,
        m.voicing_recall,
        m.voicing_false_alarm,
        summary["latency"]["pitch"]["ms"]
            .as_f64()
            .unwrap_or(f64::NAN)
    );
    // The stems, read back: the noise hits should land in the percussive stem and the plucked
    // melody in the harmonic one.
    let stems_dir = dir.join(OutputKind::Stems.file_name());
    let mut levels = vec![];
    for stem in cochlea_engine::separation::Stem::ALL {
        let path = stems_dir.join(format!("{}.wav", stem.name()));
        let audio = crate::audio::read_audio(&path)
            .map_err(|e| Failure::internal(format!("{}: cannot read back: {e}", path.display())))?;
        let x = audio.mono();
        let energy: f64 = x.iter().map(|v| (*v as f64).powi(2)).sum();
        levels.push((stem.name(), energy));
    }
    let total: f64 = signal.samples.iter().map(|v| (*v as f64).powi(2)).sum();
    let shares: Vec<String> = levels
        .iter()
        .map(|(name, e)| format!("{name} {:.0} %", 100.0 * e / total.max(1e-30)))
        .collect();
    println!(
        "stems (share of the input's energy; audio latency {:.1} ms stated): {}",
        summary["latency"]["audio"]["ms"]
            .as_f64()
            .unwrap_or(f64::NAN),
        shares.join(", ")
    );
    let mut files = vec![input.display().to_string()];
    files.extend(result.written.iter().map(|p| p.display().to_string()));
    println!("wrote {}", files.join(", "));
    Ok(())
}

/// The base name of the notes outputs (`notes.mid` and `notes.csv`).
fn notes_stem() -> &'static str {
    OutputKind::Notes
        .file_name()
        .strip_suffix(".mid")
        .unwrap_or("notes")
}

/// Note name and octave of a frequency (`C4` = MIDI 60).
fn note_name(hz: f64) -> String {
    const NAMES: [&str; 12] = [
        "C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B",
    ];
    let key = (69.0 + 12.0 * (hz / 440.0).log2()).round() as i32;
    format!(
        "{}{}",
        NAMES[key.rem_euclid(12) as usize],
        key.div_euclid(12) - 1
    )
}
