//! Deterministic test signals and a helper that runs the engine over a signal with any block
//! segmentation.

use cochlea_engine::{Engine, EngineConfig, Event};
use rand::{Rng, SeedableRng};

/// A seeded random generator, so every test signal is reproducible.
pub fn rng(seed: u64) -> rand::rngs::StdRng {
    rand::rngs::StdRng::seed_from_u64(seed)
}

/// Silence with a unit click (one sample at 1.0, the next at -0.5) at each time in `clicks_s`.
pub fn clicks(sr: f64, len_s: f64, clicks_s: &[f64]) -> Vec<f32> {
    let mut x = vec![0.0; (sr * len_s) as usize];
    for &t in clicks_s {
        let i = (t * sr).round() as usize;
        x[i] = 1.0;
        x[i + 1] = -0.5;
    }
    x
}

/// A sine at `freq` Hz and amplitude `amp`, running from the first sample.
pub fn sine(sr: f64, len_s: f64, freq: f64, amp: f32) -> Vec<f32> {
    (0..(sr * len_s) as usize)
        .map(|i| amp * (2.0 * std::f64::consts::PI * freq * i as f64 / sr).sin() as f32)
        .collect()
}

/// Uniform white noise in `-amp..amp`.
pub fn noise(len: usize, amp: f32, seed: u64) -> Vec<f32> {
    let mut r = rng(seed);
    (0..len).map(|_| r.gen_range(-amp..amp)).collect()
}

/// A bowed-string-like tone: ten harmonics with a 1/h roll-off, vibrato at `vib_hz` with a depth
/// of `depth_cents`, a 2 % tremolo in step with it, running from the first sample.
pub fn vibrato_tone(
    sr: f64,
    len_s: f64,
    f0: f64,
    vib_hz: f64,
    depth_cents: f64,
    amp: f32,
) -> Vec<f32> {
    let n = (sr * len_s) as usize;
    let mut phase = 0.0f64;
    (0..n)
        .map(|i| {
            let t = i as f64 / sr;
            let lfo = (2.0 * std::f64::consts::PI * vib_hz * t).sin();
            let f = f0 * 2f64.powf(depth_cents * lfo / 1200.0);
            phase += 2.0 * std::f64::consts::PI * f / sr;
            let s: f64 = (1..=10).map(|h| (h as f64 * phase).sin() / h as f64).sum();
            (amp as f64 * (1.0 + 0.02 * lfo) * s / 2.0) as f32
        })
        .collect()
}

/// Everything one run produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// Events in emission order.
    pub events: Vec<Event>,
    /// The audio output, per channel.
    pub audio: Vec<Vec<f32>>,
}

impl Run {
    /// Onset positions in samples.
    pub fn onsets(&self) -> Vec<u64> {
        self.events
            .iter()
            .filter(|e| matches!(e, Event::Onset { .. }))
            .map(|e| e.sample())
            .collect()
    }
}

/// Runs `engine` over `channels` (one slice per channel), in blocks whose lengths come from
/// `blocks` (cycled), draining events after every block.
pub fn run_blocks(
    engine: &mut Engine,
    rx: &mut cochlea_engine::EventReceiver,
    channels: &[&[f32]],
    blocks: &[usize],
) -> Run {
    let n = channels[0].len();
    let mut audio: Vec<Vec<f32>> = vec![vec![0.0; n]; channels.len()];
    let mut events = Vec::new();
    let mut start = 0;
    let mut b = 0;
    while start < n {
        let len = blocks[b % blocks.len()].min(n - start);
        b += 1;
        let ins: Vec<&[f32]> = channels.iter().map(|c| &c[start..start + len]).collect();
        let mut outs: Vec<&mut [f32]> = audio
            .iter_mut()
            .map(|c| &mut c[start..start + len])
            .collect();
        engine.process(&ins, &mut outs).expect("process");
        events.extend(rx.drain());
        start += len;
    }
    Run { events, audio }
}

/// A fresh engine for `config`, run over a mono `signal` in blocks of `block`.
pub fn run_mono(config: &EngineConfig, signal: &[f32], block: usize) -> Run {
    let mut config = config.clone();
    config.channels = 1;
    config.max_block_size = config.max_block_size.max(block);
    let (mut engine, mut rx) = Engine::new(config).expect("valid config");
    run_blocks(&mut engine, &mut rx, &[signal], &[block])
}
