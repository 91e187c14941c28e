//! Criterion benches: each stage of the engine, through the public API, over one second of real
//! music (the first test-data file, from its first sound on) in 512-sample blocks. Throughput is
//! in samples, so criterion prints samples per second; divide by the sample rate for "x real
//! time".
//!
//! ```text
//! cargo bench -p cochlea-benches --bench engine
//! ```
//!
//! Stages are isolated by configuration: `passthrough` is the framer alone (sanitising, mixing,
//! history) with every analysis off; each onset method adds the STFT, that detection function
//! and the peak picker; `pitch` the YIN frames, candidates and HMM; `notes` pitch plus the note
//! tracker; `melody` the predominant-pitch tracker; `separation` the STFT of each channel, the
//! HPSS and melody masks and the overlap-add resynthesis of the five stems (with the melody
//! tracker it needs). `separation stage/*` splits the separation of one mono channel into its
//! parts, frame by frame at the default settings (through the engine's `internals` feature):
//! the analysis STFT, the harmonic/percussive masks, the melody comb (on a steady f0) and one
//! masked resynthesis (the separator runs four per channel). `engine/plugin default` is what
//! the plugin runs: onsets, pitch, notes and every stem, stereo.
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

use cochlea::audio::read_audio;
use cochlea_engine::separation::StemOutputs;
use cochlea_engine::{Engine, EngineConfig, OnsetMethod};
use cochlea_plugin::params::Settings;
use cochlea_tests::corpus::test_data;

const BLOCK: usize = 512;

/// `seconds` of the first test-data file from its first sound on: the corpus renders begin with
/// half a second of digital silence, which every stage skips through cheaply.
fn music(seconds: f64) -> (Vec<f32>, f64) {
    let a = read_audio(&test_data().join("onsets/o000_piano.flac")).expect("test data");
    let x = &a.channels[0];
    let start = x
        .iter()
        .position(|&v| v != 0.0)
        .expect("test data is not silent");
    let n = (seconds * a.sample_rate as f64) as usize;
    (x[start..start + n].to_vec(), a.sample_rate as f64)
}

fn run(engine: &mut Engine, rx: &mut cochlea_engine::EventReceiver, x: &[f32], out: &mut [f32]) {
    for block in x.chunks(BLOCK) {
        engine
            .process(&[block], &mut [&mut out[..block.len()]])
            .unwrap();
        while rx.pop().is_some() {}
    }
}

fn stages(c: &mut Criterion) {
    let (x, sr) = music(1.0);
    let mut out = vec![0.0f32; BLOCK];
    let mut group = c.benchmark_group("stage");
    group.throughput(Throughput::Elements(x.len() as u64));

    let mut config = EngineConfig::new(sr, 1, BLOCK);
    config.onset.enabled = false;
    let (mut engine, mut rx) = Engine::new(config).unwrap();
    group.bench_function("passthrough", |b| {
        b.iter(|| run(&mut engine, &mut rx, &x, &mut out))
    });

    for method in OnsetMethod::ALL {
        let mut config = EngineConfig::new(sr, 1, BLOCK);
        config.onset.method = method;
        let (mut engine, mut rx) = Engine::new(config).unwrap();
        group.bench_with_input(BenchmarkId::new("onset", method.name()), &method, |b, _| {
            b.iter(|| run(&mut engine, &mut rx, &x, &mut out))
        });
    }

    let only = |f: fn(&mut EngineConfig)| {
        let mut config = EngineConfig::new(sr, 1, BLOCK);
        config.onset.enabled = false;
        f(&mut config);
        Engine::new(config).unwrap()
    };
    for (name, setup) in [
        (
            "pitch",
            (|c: &mut EngineConfig| c.pitch.enabled = true) as fn(&mut EngineConfig),
        ),
        ("notes", |c: &mut EngineConfig| {
            c.pitch.enabled = true;
            c.notes.enabled = true;
            c.notes.use_onsets = false;
        }),
        ("melody", |c: &mut EngineConfig| c.melody.enabled = true),
        ("separation", |c: &mut EngineConfig| {
            c.separation.enabled = true
        }),
    ] {
        let (mut engine, mut rx) = only(setup);
        group.bench_function(name, |b| b.iter(|| run(&mut engine, &mut rx, &x, &mut out)));
    }
    group.finish();
}

fn separation_stages(c: &mut Criterion) {
    use cochlea_engine::internals::SeparationStages;
    let (x, sr) = music(1.0);
    let mut group = c.benchmark_group("separation stage");
    group.throughput(Throughput::Elements(x.len() as u64));
    let mut stages = SeparationStages::new(sr);
    let (hop, len) = (stages.hop(), stages.frame_len());
    let frames: Vec<&[f32]> = (0..)
        .map(|k| k * hop)
        .take_while(|&at| at + len <= x.len())
        .map(|at| &x[at..at + len])
        .collect();
    group.bench_function("stft", |b| {
        b.iter(|| frames.iter().for_each(|f| stages.analyze(f)))
    });
    group.bench_function("hpss masks", |b| {
        b.iter(|| frames.iter().for_each(|f| stages.hpss(f)))
    });
    group.bench_function("melody comb", |b| {
        b.iter(|| (0..frames.len()).for_each(|_| stages.comb(220.0)))
    });
    group.bench_function("resynthesis", |b| {
        b.iter(|| frames.iter().for_each(|_| stages.synthesize()))
    });
    group.finish();
}

/// One pass of stereo music through `engine` in `BLOCK`-sample blocks, taking every stem when
/// `stems` is given.
fn run_stereo(
    engine: &mut Engine,
    rx: &mut cochlea_engine::EventReceiver,
    (l, r): (&[f32], &[f32]),
    out: &mut [Vec<f32>; 2],
    mut stems: Option<&mut StemOutputs>,
) {
    for (l, r) in l.chunks(BLOCK).zip(r.chunks(BLOCK)) {
        let (ol, or) = out.split_at_mut(1);
        let output = &mut [&mut ol[0][..l.len()], &mut or[0][..r.len()]];
        match stems.as_deref_mut() {
            Some(st) => engine.process_stems(&[l, r], output, st),
            None => engine.process(&[l, r], output),
        }
        .unwrap();
        while rx.pop().is_some() {}
    }
}

fn whole_engine(c: &mut Criterion) {
    let (x, _) = music(1.0);
    let right: Vec<f32> = x.iter().map(|v| 0.8 * v).collect();
    let mut out = [vec![0.0f32; BLOCK], vec![0.0f32; BLOCK]];
    let mut group = c.benchmark_group("engine");
    group.throughput(Throughput::Elements(x.len() as u64));
    for rate in [44_100.0, 48_000.0] {
        // The same samples, declared at each rate: the cost per sample is what is compared.
        let (mut engine, mut rx) = Engine::new(EngineConfig::new(rate, 2, BLOCK)).unwrap();
        let id = BenchmarkId::new("defaults stereo", rate as u32);
        group.bench_with_input(id, &rate, |b, _| {
            b.iter(|| run_stereo(&mut engine, &mut rx, (&x, &right), &mut out, None))
        });
    }
    for rate in [44_100.0, 48_000.0] {
        let config = cochlea_plugin::processor::engine_config(rate, 2, BLOCK, &Settings::default());
        let (mut engine, mut rx) = Engine::new(config).unwrap();
        let mut stems = engine.make_stem_outputs();
        let id = BenchmarkId::new("plugin default stereo", rate as u32);
        group.bench_with_input(id, &rate, |b, _| {
            b.iter(|| {
                let stems = Some(&mut stems);
                run_stereo(&mut engine, &mut rx, (&x, &right), &mut out, stems)
            })
        });
    }
    // The plugin's configuration where the host takes no stem (plain layouts, VST3 stem buses
    // left inactive): only the mix is resynthesised.
    let config = cochlea_plugin::processor::engine_config(44_100.0, 2, BLOCK, &Settings::default());
    let (mut engine, mut rx) = Engine::new(config).unwrap();
    group.bench_function(BenchmarkId::new("plugin mix only stereo", 44_100), |b| {
        b.iter(|| run_stereo(&mut engine, &mut rx, (&x, &right), &mut out, None))
    });
    group.finish();
}

criterion_group!(benches, stages, separation_stages, whole_engine);
criterion_main!(benches);
