//! The built-in input for `cochlea demo`: a short synthesised phrase whose ground truth is known
//! exactly, so the demo can show what the engine found next to what is there.

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
