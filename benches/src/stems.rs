//! `score stems`: separation quality over the dev corpus's `separation/` folder, per stem, as
//! BSS Eval v3 SDR and SI-SDR (`cochlea_engine::eval::separation`), for Cochlea's live
//! separator, the ideal ratio mask at the same STFT (the ceiling of any mask at that
//! resolution), and librosa's offline HPSS (pinned peers venv; estimates cached under
//! `target/score-cache/`).
//!
//! Harmonic / percussive on the `hpNNN_*` items; melody / accompaniment on the `maNNN_*` items,
//! with the melody comb driven by Cochlea's own online melody tracker through the engine
//! (`--f0 tracker`, the default) or by the reference f0 (`--f0 truth`: the comb's own quality).

use std::path::{Path, PathBuf};
use std::process::Command;

use cochlea::audio::{read_audio, write_wav};
use cochlea_engine::eval::separation::{sdr, si_sdr};
use cochlea_engine::separation::{window_pair, Separator, Stem, StemOutputs};
use cochlea_engine::{Engine, EngineConfig, Output, SeparationConfig};
use cochlea_tests::corpus;
use realfft::num_complex::Complex32;
use realfft::RealFftPlanner;

/// Settings of `score stems`.
#[derive(clap::Args, Debug, Clone)]
pub struct StemsArgs {
    /// Folder of the separation items (default: the dev corpus's separation/).
    #[arg(long)]
    pub corpus: Option<PathBuf>,
    /// Harmonic look-ahead, frames.
    #[arg(long)]
    pub lookahead: Option<u32>,
    /// Past context of the harmonic filter, seconds.
    #[arg(long)]
    pub history: Option<f64>,
    /// Percentile of the harmonic filter.
    #[arg(long)]
    pub percentile: Option<f32>,
    /// Width of the percussive filter, Hz.
    #[arg(long)]
    pub width: Option<f64>,
    /// Mask power.
    #[arg(long)]
    pub power: Option<f32>,
    /// STFT hop, seconds.
    #[arg(long)]
    pub hop: Option<f64>,
    /// Frame length in hops.
    #[arg(long)]
    pub frame_hops: Option<u32>,
    /// Melody comb half-width, cents.
    #[arg(long)]
    pub comb_cents: Option<f32>,
    /// Melody comb minimum half-width, Hz.
    #[arg(long)]
    pub comb_min_hz: Option<f32>,
    /// Melody voicing gate time constant, seconds.
    #[arg(long)]
    pub comb_gate: Option<f32>,
    /// Highest melody partial, Hz.
    #[arg(long)]
    pub comb_max_hz: Option<f64>,
    /// Where the melody comb's f0 comes from: `tracker` (the engine's online melody tracker)
    /// or `truth` (the reference f0 track).
    #[arg(long, default_value = "tracker")]
    pub f0: String,
    /// Only the items whose name starts with this (`hp`, `ma`, `hp003`...).
    #[arg(long, default_value = "")]
    pub only: String,
    /// Block size fed to the separator.
    #[arg(long, default_value_t = 512)]
    pub block: usize,
    /// Also score the ideal ratio mask at the same STFT.
    #[arg(long)]
    pub irm: bool,
    /// Also score librosa's offline HPSS (pinned peers venv; cached).
    #[arg(long)]
    pub librosa: bool,
    /// Write Cochlea's stems (latency removed) as NAME.STEM.wav into this folder.
    #[arg(long)]
    pub write: Option<PathBuf>,
    /// Only print the summary lines.
    #[arg(long)]
    pub quiet: bool,
}

/// One separation item: the mix and its two reference stems.
struct Item {
    name: String,
    mix: PathBuf,
    /// `(stem, reference file)`: harmonic + percussive, or melody + accompaniment.
    refs: [(Stem, PathBuf); 2],
    f0: Option<PathBuf>,
}

fn items(dir: &Path, only: &str) -> Vec<Item> {
    let mut out = Vec::new();
    for it in corpus::items(dir, ".flac") {
        let Some(name) = it.name.strip_suffix(".mix") else {
            continue;
        };
        if !name.starts_with(only) {
            continue;
        }
        let p = |s: &str| dir.join(format!("{name}.{s}"));
        let (refs, f0) = if p("harmonic.flac").is_file() {
            (
                [
                    (Stem::Harmonic, p("harmonic.flac")),
                    (Stem::Percussive, p("percussive.flac")),
                ],
                None,
            )
        } else if p("melody.flac").is_file() {
            (
                [
                    (Stem::Melody, p("melody.flac")),
                    (Stem::Accompaniment, p("accompaniment.flac")),
                ],
                Some(p("melody.f0.csv")).filter(|f| f.is_file()),
            )
        } else {
            continue;
        };
        out.push(Item {
            name: name.to_owned(),
            mix: it.audio,
            refs,
            f0,
        });
    }
    out
}

/// The configuration `args` describe.
pub fn config(args: &StemsArgs) -> SeparationConfig {
    let mut c = SeparationConfig {
        enabled: true,
        ..SeparationConfig::default()
    };
    if let Some(v) = args.lookahead {
        c.lookahead_frames = v;
    }
    if let Some(v) = args.history {
        c.history_s = v;
    }
    if let Some(v) = args.percentile {
        c.harmonic_percentile = v;
    }
    if let Some(v) = args.width {
        c.percussive_width_hz = v;
    }
    if let Some(v) = args.power {
        c.mask_power = v;
    }
    if let Some(v) = args.hop {
        c.hop_s = v;
    }
    if let Some(v) = args.frame_hops {
        c.frame_hops = v;
    }
    if let Some(v) = args.comb_cents {
        c.melody_width_cents = v;
    }
    if let Some(v) = args.comb_min_hz {
        c.melody_min_width_hz = v;
    }
    if let Some(v) = args.comb_gate {
        c.melody_gate_s = v;
    }
    if let Some(v) = args.comb_max_hz {
        c.melody_max_hz = v;
    }
    c
}

/// A reference f0 track (`time_s,freq_hz` on a regular grid) as a lookup by stream position.
struct F0Track {
    step_s: f64,
    freqs: Vec<f64>,
}

impl F0Track {
    fn read(path: &Path) -> Result<Self, String> {
        let (t, f) = corpus::read_f0(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let step_s = if t.len() > 1 { t[1] - t[0] } else { 0.01 };
        Ok(Self { step_s, freqs: f })
    }

    fn at(&self, seconds: f64) -> f32 {
        let i = (seconds / self.step_s).round();
        if i < 0.0 || i as usize >= self.freqs.len() {
            0.0
        } else {
            self.freqs[i as usize] as f32
        }
    }
}

/// Runs the live separator over `mix` (mono) and returns the five stems, latency removed, each
/// as long as the mix.
pub fn separate(
    config: &SeparationConfig,
    mix: &[f32],
    sample_rate: u32,
    block: usize,
    f0: &mut dyn FnMut(f64) -> f32,
) -> Result<Vec<Vec<f32>>, String> {
    let sr = sample_rate as f64;
    let mut sep = Separator::new(config, sr, 1, block).map_err(|e| e.to_string())?;
    let latency = sep.latency_samples();
    let mut stems = StemOutputs::new(1, block);
    let total = mix.len() + latency;
    let mut out: Vec<Vec<f32>> = (0..5).map(|_| Vec::with_capacity(total)).collect();
    let mut buf = vec![0.0f32; block];
    let mut o = vec![0.0f32; block];
    let mut pos = 0;
    while pos < total {
        let n = block.min(total - pos);
        for (i, b) in buf[..n].iter_mut().enumerate() {
            *b = mix.get(pos + i).copied().unwrap_or(0.0);
        }
        sep.process(
            &[&buf[..n]],
            &mut [&mut o[..n]],
            Some(&mut stems),
            [1.0; 5],
            &mut |instant| f0(instant as f64 / sr),
        );
        for s in Stem::ALL {
            out[s as usize].extend_from_slice(stems.channel(s, 0));
        }
        pos += n;
    }
    for v in &mut out {
        v.drain(..latency);
    }
    Ok(out)
}

/// Runs the engine (separation on, its own melody tracker driving the comb) over `mix` (mono)
/// and returns the five stems, latency removed, each as long as the mix.
pub fn separate_engine(
    config: &SeparationConfig,
    mix: &[f32],
    sample_rate: u32,
    block: usize,
) -> Result<Vec<Vec<f32>>, String> {
    let mut c = EngineConfig::new(sample_rate as f64, 1, block);
    c.onset.enabled = false;
    c.separation = config.clone();
    c.separation.enabled = true;
    let (mut engine, _events) = Engine::new(c).map_err(|e| e.to_string())?;
    let latency = engine.latency_samples(Output::Audio);
    let mut stems = engine.make_stem_outputs();
    let total = mix.len() + latency;
    let mut out: Vec<Vec<f32>> = (0..5).map(|_| Vec::with_capacity(total)).collect();
    let mut buf = vec![0.0f32; block];
    let mut o = vec![0.0f32; block];
    let mut pos = 0;
    while pos < total {
        let n = block.min(total - pos);
        for (i, b) in buf[..n].iter_mut().enumerate() {
            *b = mix.get(pos + i).copied().unwrap_or(0.0);
        }
        engine
            .process_stems(&[&buf[..n]], &mut [&mut o[..n]], &mut stems)
            .map_err(|e| e.to_string())?;
        for s in Stem::ALL {
            out[s as usize].extend_from_slice(stems.channel(s, 0));
        }
        pos += n;
    }
    for v in &mut out {
        v.drain(..latency);
    }
    Ok(out)
}

/// The ideal ratio (Wiener) masks `|A|^2 / (|A|^2 + |B|^2)` at the separator's STFT, applied to
/// the mix: the best a mask at that resolution can do. Returns the two estimates.
pub fn ideal_ratio_mask(
    config: &SeparationConfig,
    sample_rate: u32,
    mix: &[f32],
    a: &[f32],
    b: &[f32],
) -> (Vec<f32>, Vec<f32>) {
    let hop = config.hop_samples(sample_rate as f64);
    let k = hop * config.frame_hops as usize;
    let (wa, ws) = window_pair(k, hop);
    let mut planner = RealFftPlanner::<f32>::new();
    let fwd = planner.plan_fft_forward(k);
    let inv = planner.plan_fft_inverse(k);
    let n = mix.len();
    let frames = (n + 2 * hop).div_ceil(hop);
    let get = |x: &[f32], i: i64| {
        if i >= 0 && (i as usize) < x.len() {
            x[i as usize]
        } else {
            0.0
        }
    };
    let spec = |x: &[f32], end: i64| {
        let mut t = fwd.make_input_vec();
        for (j, v) in t.iter_mut().enumerate() {
            *v = get(x, end - k as i64 + j as i64) * wa[j];
        }
        let mut s = fwd.make_output_vec();
        fwd.process(&mut t, &mut s).expect("planned sizes");
        s
    };
    let mut out_a = vec![0.0f32; n + 2 * k];
    let mut out_b = vec![0.0f32; n + 2 * k];
    for f in 0..frames {
        let end = ((f + 1) * hop) as i64;
        let (sm, sa, sb) = (spec(mix, end), spec(a, end), spec(b, end));
        for (out, which) in [(&mut out_a, 0), (&mut out_b, 1)] {
            let mut s: Vec<Complex32> = sm
                .iter()
                .zip(sa.iter().zip(&sb))
                .map(|(m, (x, y))| {
                    let (pa, pb) = (x.norm_sqr(), y.norm_sqr());
                    let g = if pa + pb > 0.0 {
                        if which == 0 {
                            pa / (pa + pb)
                        } else {
                            pb / (pa + pb)
                        }
                    } else {
                        0.5
                    };
                    m * g
                })
                .collect();
            let last = s.len() - 1;
            s[0].im = 0.0;
            s[last].im = 0.0;
            let mut t = inv.make_output_vec();
            inv.process(&mut s, &mut t).expect("planned sizes");
            for j in k - 2 * hop..k {
                let pos = end - k as i64 + j as i64;
                if pos >= 0 && (pos as usize) < n {
                    out[pos as usize] += t[j] * ws[j] / k as f32;
                }
            }
        }
    }
    out_a.truncate(n);
    out_b.truncate(n);
    (out_a, out_b)
}

/// librosa's offline HPSS of `mix_path` (cached WAVs), or `None` if the peers are unavailable.
fn librosa_hpss(py: &Path, name: &str, mix_path: &Path) -> Result<(Vec<f32>, Vec<f32>), String> {
    let dir = crate::peers::cache_dir();
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    // Keyed by the mix's content (see `content_key`), not only its name.
    let key = crate::peers::content_key(mix_path)?;
    let h = dir.join(format!("librosa-hpss.{name}.{key}.harmonic.wav"));
    let p = dir.join(format!("librosa-hpss.{name}.{key}.percussive.wav"));
    if !(h.is_file() && p.is_file()) {
        let status = Command::new(py)
            .arg(crate::peers::scripts().join("librosa_hpss.py"))
            .arg(mix_path)
            .arg(&h)
            .arg(&p)
            .status()
            .map_err(|e| format!("librosa_hpss.py: {e}"))?;
        if !status.success() {
            return Err(format!("librosa_hpss.py failed on {}", mix_path.display()));
        }
    }
    let read = |f: &Path| read_audio(f).map(|a| a.mono()).map_err(|e| e.to_string());
    Ok((read(&h)?, read(&p)?))
}

/// Scores of one estimate.
#[derive(Debug, Clone, Copy)]
struct Score {
    sdr: f64,
    si_sdr: f64,
}

fn score(reference: &[f32], estimate: &[f32]) -> Result<Score, String> {
    Ok(Score {
        sdr: sdr(reference, estimate).map_err(|e| e.to_string())?,
        si_sdr: si_sdr(reference, estimate).map_err(|e| e.to_string())?,
    })
}

/// Per file: the method's scores for the item's two stems.
struct Row {
    name: String,
    stems: [Stem; 2],
    scores: Vec<(&'static str, [Score; 2])>,
}

fn item_row(it: &Item, args: &StemsArgs, py: Option<&Path>) -> Result<Row, String> {
    let c = config(args);
    let mix = read_audio(&it.mix).map_err(|e| e.to_string())?;
    let sr = mix.sample_rate;
    let x = mix.mono();
    let r0 = read_audio(&it.refs[0].1).map_err(|e| e.to_string())?.mono();
    let r1 = read_audio(&it.refs[1].1).map_err(|e| e.to_string())?.mono();
    let track = it.f0.as_deref().map(F0Track::read).transpose()?;
    let stems = match args.f0.as_str() {
        "truth" => separate(&c, &x, sr, args.block, &mut |t| {
            track.as_ref().map_or(0.0, |tr| tr.at(t))
        })?,
        "tracker" => separate_engine(&c, &x, sr, args.block)?,
        other => return Err(format!("--f0 {other}: expected tracker or truth")),
    };
    if let Some(dir) = &args.write {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        for s in Stem::ALL {
            let path = dir.join(format!("{}.{}.wav", it.name, s.name()));
            write_wav(&path, sr, &[&stems[s as usize]]).map_err(|e| e.to_string())?;
        }
    }
    let mut scores = vec![(
        "cochlea",
        [
            score(&r0, &stems[it.refs[0].0 as usize])?,
            score(&r1, &stems[it.refs[1].0 as usize])?,
        ],
    )];
    if args.irm {
        let (a, b) = ideal_ratio_mask(&c, sr, &x, &r0, &r1);
        scores.push(("irm", [score(&r0, &a)?, score(&r1, &b)?]));
    }
    if let (Some(py), Stem::Harmonic) = (py, it.refs[0].0) {
        let (h, p) = librosa_hpss(py, &it.name, &it.mix)?;
        scores.push(("librosa", [score(&r0, &h)?, score(&r1, &p)?]));
    }
    Ok(Row {
        name: it.name.clone(),
        stems: [it.refs[0].0, it.refs[1].0],
        scores,
    })
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// `score stems`.
pub fn run(args: &StemsArgs) {
    let dir = args
        .corpus
        .clone()
        .or_else(|| corpus::dev_corpus().map(|d| d.join("separation")))
        .unwrap_or_else(|| {
            eprintln!("error: no corpus found; pass --corpus DIR or set COCHLEA_CORPUS");
            std::process::exit(2)
        });
    let items = items(&dir, &args.only);
    if items.is_empty() {
        eprintln!("error: no NAME.mix.flac with stems in {}", dir.display());
        std::process::exit(2);
    }
    let py = if args.librosa {
        crate::peers::python()
    } else {
        None
    };
    let c = config(args);
    let lat = c.latency_samples(44_100.0);
    println!(
        "{} items from {}; latency {} samples = {:.1} ms at 44.1 kHz, {:.1} ms at 48 kHz",
        items.len(),
        dir.display(),
        lat,
        lat as f64 / 44.1,
        c.latency_samples(48_000.0) as f64 / 48.0
    );
    let py = py.as_deref();
    let rows: Vec<Row> = crate::parallel(&items, |it| &it.name, |it| item_row(it, args, py))
        .into_iter()
        .map(|(_, row)| row)
        .collect();
    if !args.quiet {
        println!(
            "\n{:<26} {:<8} {:>8} {:>8}   {:>8} {:>8}",
            "file", "method", "SDR 1", "SI-SDR 1", "SDR 2", "SI-SDR 2"
        );
        for r in &rows {
            for (m, s) in &r.scores {
                println!(
                    "{:<26} {:<8} {:>8.3} {:>8.3}   {:>8.3} {:>8.3}   ({} / {})",
                    r.name,
                    m,
                    s[0].sdr,
                    s[0].si_sdr,
                    s[1].sdr,
                    s[1].si_sdr,
                    r.stems[0].name(),
                    r.stems[1].name()
                );
            }
        }
    }
    println!(
        "\n{:<14} {:<8} {:>3} {:>13} {:>13} {:>13} {:>13}",
        "stem", "method", "n", "SDR median", "SDR mean", "SI-SDR median", "SI-SDR mean"
    );
    for stem in Stem::ALL {
        for method in ["cochlea", "irm", "librosa"] {
            let mut sdrs = Vec::new();
            let mut sis = Vec::new();
            for r in &rows {
                for (m, s) in &r.scores {
                    for (score, &which) in s.iter().zip(&r.stems) {
                        if *m == method && which == stem {
                            sdrs.push(score.sdr);
                            sis.push(score.si_sdr);
                        }
                    }
                }
            }
            if sdrs.is_empty() {
                continue;
            }
            let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
            let (ms, mi) = (mean(&sdrs), mean(&sis));
            println!(
                "{:<14} {:<8} {:>3} {:>13.2} {:>13.2} {:>13.2} {:>13.2}",
                stem.name(),
                method,
                sdrs.len(),
                median(&mut sdrs),
                ms,
                median(&mut sis),
                mi
            );
        }
    }
}
