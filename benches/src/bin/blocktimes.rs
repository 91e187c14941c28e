//! `blocktimes`: the worst-case block report. A real-time engine is judged by its slowest block:
//! this feeds at least a minute of real music from the dev corpus through the engine in its
//! default configuration, stereo, one block at a time on one thread, timing every `process` call,
//! and prints the distribution of block time as a fraction of the block's duration, and its mean
//! (the engine's average load: 0.01 is 100x real time).
//!
//! Two clocks: the thread's CPU time (what the engine itself costs; time the scheduler gave to
//! other processes is not counted) and wall time (what a host would see on this machine, under
//! whatever else it runs).
//!
//! ```text
//! cargo run --release -p cochlea-benches --bin blocktimes [-- --seconds 60 --rate 48000]
//! ```
use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use cochlea::audio::read_audio;
use cochlea_engine::{Engine, EngineConfig};
use cochlea_tests::corpus;

#[derive(Parser)]
#[command(about = "Distribution of per-block processing time over a minute of music")]
struct Args {
    /// Seconds of music to feed (at least 60 for the report the README quotes).
    #[arg(long, default_value_t = 60.0)]
    seconds: f64,
    /// Block sizes to measure.
    #[arg(long, value_delimiter = ',', default_value = "32,64,128,512")]
    blocks: Vec<usize>,
    /// The engine configuration: `defaults` (the engine's defaults: onsets) or `plugin` (what
    /// the plugin runs: onsets, pitch, notes and every stem).
    #[arg(long, value_enum, default_value = "plugin")]
    config: Config,
    /// Run the engine at this sample rate, Hz (the corpus's own when not given). The corpus
    /// samples are fed as they are, declared at this rate: what is measured is the engine's cost
    /// per second at that rate, on music (8000 to 192000).
    #[arg(long, value_parser = clap::value_parser!(u32).range(8_000..=192_000))]
    rate: Option<u32>,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Config {
    Defaults,
    Plugin,
}

/// Concatenated corpus audio (mono), at least `seconds` long, its sample rate and its folder.
fn music(seconds: f64) -> (Vec<f32>, u32, PathBuf) {
    let dir = corpus::dev_corpus()
        .map(|d| d.join("onsets"))
        .unwrap_or_else(|| {
            // Other music than the figures the README quotes: say so.
            let dir = corpus::test_data().join("onsets");
            eprintln!(
                "blocktimes: no dev corpus (../shared/dev-corpus next to the checkout, or \
                 COCHLEA_CORPUS); feeding the test data in {} instead",
                dir.display()
            );
            dir
        });
    let files = corpus::items(&dir, ".onsets.txt");
    if files.is_empty() {
        eprintln!(
            "error: no NAME.flac with NAME.onsets.txt in {}",
            dir.display()
        );
        std::process::exit(2);
    }
    let mut x = Vec::new();
    let mut rate = 44_100;
    for item in files.iter().cycle().take(files.len() * 8) {
        let a = read_audio(&item.audio).expect("corpus audio");
        rate = a.sample_rate;
        x.extend(a.mono());
        if x.len() as f64 >= seconds * rate as f64 {
            break;
        }
    }
    (x, rate, dir)
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

fn quantile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn main() {
    let args = Args::parse();
    let (mono, corpus_rate, dir) = music(args.seconds);
    let rate = args.rate.unwrap_or(corpus_rate);
    let right: Vec<f32> = mono.iter().map(|x| 0.8 * x).collect();
    println!(
        "{:.1} s of music ({}) at {rate} Hz, stereo, {}, one thread",
        mono.len() as f64 / rate as f64,
        dir.display(),
        match args.config {
            Config::Defaults => "engine defaults (onsets)",
            Config::Plugin => "the plugin's configuration (onsets, pitch, notes, stems)",
        }
    );
    println!(
        "block time as a fraction of the block's duration (mean: the thread's CPU time over the \
         audio's duration, the average load; 1 / mean is x real time):\n"
    );
    println!(
        "{:>6} {:>7} {:>8} | {:>7} {:>7} {:>7} {:>7} | {:>7} {:>7} {:>7} {:>7}",
        "block", "blocks", "mean", "median", "p99", "p99.9", "max", "median", "p99", "p99.9", "max"
    );
    println!(
        "{:>24}   {:<31}   {:<31}",
        "", "thread CPU time", "wall time"
    );
    for &block in &args.blocks {
        let config = match args.config {
            Config::Defaults => EngineConfig::new(rate as f64, 2, block),
            Config::Plugin => cochlea_plugin::processor::engine_config(
                rate as f64,
                2,
                block,
                &cochlea_plugin::params::Settings::default(),
            ),
        };
        let (mut engine, mut rx) = Engine::new(config).expect("default config");
        let mut stems = engine
            .config()
            .separation
            .enabled
            .then(|| engine.make_stem_outputs());
        let mut out = [vec![0.0f32; block], vec![0.0f32; block]];
        let n_blocks = mono.len() / block;
        let mut cpu = Vec::with_capacity(n_blocks);
        let mut wall = Vec::with_capacity(n_blocks);
        // One second of warm-up (caches, page faults), not measured.
        let warm = (rate as usize / block).max(1);
        for b in 0..n_blocks + warm {
            let start = (b % n_blocks) * block;
            let (l, r) = (&mono[start..start + block], &right[start..start + block]);
            let (ol, or) = out.split_at_mut(1);
            let t = Instant::now();
            let c = thread_cpu_time();
            match &mut stems {
                Some(st) => engine.process_stems(&[l, r], &mut [&mut ol[0], &mut or[0]], st),
                None => engine.process(&[l, r], &mut [&mut ol[0], &mut or[0]]),
            }
            .expect("block fits");
            let dc = thread_cpu_time() - c;
            let dt = t.elapsed().as_secs_f64();
            if b >= warm {
                cpu.push(dc);
                wall.push(dt);
            }
            while rx.pop().is_some() {}
        }
        let duration = block as f64 / rate as f64;
        let stats = |v: &[f64]| {
            let mut f: Vec<f64> = v.iter().map(|t| t / duration).collect();
            f.sort_by(f64::total_cmp);
            [
                quantile(&f, 0.5),
                quantile(&f, 0.99),
                quantile(&f, 0.999),
                f[f.len() - 1],
            ]
        };
        let (c, w) = (stats(&cpu), stats(&wall));
        let mean = cpu.iter().sum::<f64>() / (cpu.len() as f64 * duration);
        println!(
            "{:>6} {:>7} {:>8.4} | {:>7.4} {:>7.4} {:>7.4} {:>7.4} | {:>7.4} {:>7.4} {:>7.4} {:>7.4}",
            block,
            cpu.len(),
            mean,
            c[0],
            c[1],
            c[2],
            c[3],
            w[0],
            w[1],
            w[2],
            w[3]
        );
    }
}
