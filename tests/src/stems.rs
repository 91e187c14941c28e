//! Running the engine with separation on: the mix and every stem, whatever the block pattern.

use cochlea_engine::separation::Stem;
use cochlea_engine::{Engine, EngineConfig};

/// Everything one separated run produced, per channel.
#[derive(Debug, Clone, PartialEq)]
pub struct StemRun {
    /// The audio output (the stems' mix).
    pub mix: Vec<Vec<f32>>,
    /// Each stem (indexed by [`Stem`] as `usize`), per channel.
    pub stems: Vec<Vec<Vec<f32>>>,
}

impl StemRun {
    /// One stem's channel.
    pub fn stem(&self, stem: Stem, channel: usize) -> &[f32] {
        &self.stems[stem as usize][channel]
    }
}

/// A separating engine at `sr` for `channels` channels and blocks up to `max_block`.
pub fn separating_engine(sr: f64, channels: usize, max_block: usize) -> Engine {
    let mut c = EngineConfig::new(sr, channels, max_block);
    c.separation.enabled = true;
    c.onset.enabled = false;
    Engine::new(c).expect("valid config").0
}

/// Runs `engine` (separation on) over `channels` in blocks whose lengths come from `blocks`
/// (cycled), collecting the mix and the stems.
pub fn run_stems(engine: &mut Engine, channels: &[&[f32]], blocks: &[usize]) -> StemRun {
    let n = channels[0].len();
    let nc = channels.len();
    let mut mix = vec![vec![0.0f32; n]; nc];
    let mut stems = vec![vec![vec![0.0f32; n]; nc]; Stem::ALL.len()];
    let mut storage = engine.make_stem_outputs();
    let mut start = 0;
    let mut b = 0;
    while start < n {
        let len = blocks[b % blocks.len()].min(n - start);
        b += 1;
        let ins: Vec<&[f32]> = channels.iter().map(|c| &c[start..start + len]).collect();
        let mut outs: Vec<&mut [f32]> =
            mix.iter_mut().map(|c| &mut c[start..start + len]).collect();
        engine
            .process_stems(&ins, &mut outs, &mut storage)
            .expect("process_stems");
        for s in Stem::ALL {
            for (c, out) in stems[s as usize].iter_mut().enumerate() {
                out[start..start + len].copy_from_slice(storage.channel(s, c));
            }
        }
        start += len;
    }
    StemRun { mix, stems }
}

/// Energy of `x`.
pub fn energy(x: &[f32]) -> f64 {
    x.iter().map(|&v| v as f64 * v as f64).sum()
}

/// `10 log10(|a - b|^2 / |b|^2)`: the error of `a` against `b` in dB.
pub fn error_db(a: &[f32], b: &[f32]) -> f64 {
    let e: f64 = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| (x as f64 - y as f64).powi(2))
        .sum();
    10.0 * (e / energy(b)).log10()
}
