//! Runtime choice of vector instructions for the hot loops.
//!
//! The crate is built for the baseline of its target (SSE2 on x86-64), so that it runs on every
//! machine. The DSP loops are written to vectorise (plain arrays and slices, no intrinsics);
//! [`fast`] runs such a loop compiled a second time for AVX2 when the CPU has it (most x86-64
//! CPUs made since 2013 to 2015), which doubles the vector width. The choice is made per call
//! from a cached CPU feature flag (one relaxed atomic load), never allocates, and does not
//! change results: Rust never fuses or reorders floating-point operations, so both builds
//! compute the same operations in the same order, only more of them at a time. For the same
//! reason a sum is one chain of additions unless written otherwise: [`sum_lanes`].
//!
//! What runs under [`fast`] is the closure and what the compiler inlines into it, so the closure
//! and the helpers it calls are `#[inline(always)]` (a function left out of line runs the
//! baseline build). Small functions called many times per frame stay out of it: the check and
//! the call cost more than the wider vectors save.

/// Test builds only: every [`fast`] call runs the baseline build while this is set.
#[cfg(test)]
static BASELINE_ONLY: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Runs `f`, compiled for AVX2 when the CPU has it.
#[inline(always)]
pub(crate) fn fast<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(test)]
    if BASELINE_ONLY.load(std::sync::atomic::Ordering::Relaxed) {
        return f();
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, checked just above.
        return unsafe { avx2(f) };
    }
    f()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn avx2<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// The sum of `x`, added in `L` interleaved partial sums (then those in order, then the
/// remainder): `L` independent chains, where a plain sum waits on each addition.
#[inline(always)]
pub(crate) fn sum_lanes<const L: usize>(x: &[f64]) -> f64 {
    sum_lanes_of::<L>(x, |v| v)
}

/// The sum of `f(v)` over `x`, in `L` interleaved partial sums as [`sum_lanes`].
#[inline(always)]
pub(crate) fn sum_lanes_of<const L: usize>(x: &[f64], f: impl Fn(f64) -> f64) -> f64 {
    let mut lanes = [0.0; L];
    let chunks = x.chunks_exact(L);
    let rest: f64 = chunks.remainder().iter().map(|&v| f(v)).sum();
    for c in chunks {
        for (l, &v) in lanes.iter_mut().zip(c) {
            *l += f(v);
        }
    }
    lanes.iter().sum::<f64>() + rest
}

/// `log10(x)` for a positive, normal, finite `x`, to within a few units of `f32`'s last place,
/// written to vectorise (libm's `log10f` is a call per value, about 40 instructions, and keeps
/// the loop around it scalar). Any other input gives a finite value: 0 and subnormals about
/// -38.2, infinity and NaN about 38.5.
///
/// `x = 2^e m` with `m` in `[√½, √2)`; `ln m = 2 atanh t = 2 (t + t³/3 + …)` with
/// `t = (m - 1) / (m + 1)`, `|t| ≤ 0.172`: five terms leave an error below `1e-9`.
#[inline(always)]
pub(crate) fn log10(x: f32) -> f32 {
    let bits = x.to_bits();
    let m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
    let big = m > std::f32::consts::SQRT_2;
    let m = if big { 0.5 * m } else { m };
    let e = ((bits >> 23) & 0xff) as i32 - 127 + big as i32;
    let t = (m - 1.0) / (m + 1.0);
    let t2 = t * t;
    let ln_m = 2.0 * t * (1.0 + t2 * (1.0 / 3.0 + t2 * (1.0 / 5.0 + t2 * (1.0 / 7.0 + t2 / 9.0))));
    e as f32 * std::f32::consts::LOG10_2 + ln_m * std::f32::consts::LOG10_E
}

#[cfg(test)]
mod tests {
    use super::{fast, log10, BASELINE_ONLY};
    use crate::{Engine, EngineConfig, Event};
    use std::sync::atomic::Ordering;

    /// Audio out, every stem and every event of the whole engine (onsets, pitch, notes,
    /// melody, all stems) over three seconds of stereo: a vibrato tone over clicks and noise.
    fn run_everything() -> (Vec<f32>, Vec<Event>) {
        let sr = 44_100.0;
        let mut config = EngineConfig::new(sr, 2, 512);
        config.pitch.enabled = true;
        config.notes.enabled = true;
        config.separation.enabled = true;
        config.melody.enabled = true;
        let (mut engine, mut rx) = Engine::new(config).unwrap();
        let mut stems = engine.make_stem_outputs();
        let mut seed = 7u32;
        let signal: Vec<f32> = (0..3 * 44_100)
            .map(|i| {
                let t = i as f32 / sr as f32;
                let f = 220.0 * (1.0 + 0.01 * (2.0 * std::f32::consts::PI * 5.0 * t).sin());
                let tone: f32 = (1..6)
                    .map(|h| (2.0 * std::f32::consts::PI * f * h as f32 * t).sin() / h as f32)
                    .sum();
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let noise = seed as f32 / u32::MAX as f32 - 0.5;
                let click = if i % 11_025 < 30 { 0.8 } else { 0.0 };
                0.3 * tone * (t * 0.7).fract() + 0.05 * noise + click
            })
            .collect();
        let (mut audio, mut events) = (Vec::new(), Vec::new());
        let mut out = [vec![0.0f32; 512], vec![0.0f32; 512]];
        for chunk in signal.chunks(512) {
            let right: Vec<f32> = chunk.iter().map(|v| 0.7 * v).collect();
            let (l, r) = out.split_at_mut(1);
            let output = &mut [&mut l[0][..chunk.len()], &mut r[0][..chunk.len()]];
            engine
                .process_stems(&[chunk, &right], output, &mut stems)
                .unwrap();
            audio.extend(output.iter().flat_map(|c| c.iter()));
            for stem in crate::separation::Stem::ALL {
                for c in 0..2 {
                    audio.extend(stems.channel(stem, c));
                }
            }
            while let Some(e) = rx.pop() {
                events.push(e);
            }
        }
        (audio, events)
    }

    /// The AVX2 build of every hot loop gives the baseline build's results bit for bit (on a
    /// machine without AVX2 both runs take the baseline).
    #[test]
    fn the_whole_engine_gives_the_same_results_with_and_without_avx2() {
        BASELINE_ONLY.store(true, Ordering::Relaxed);
        let baseline = run_everything();
        BASELINE_ONLY.store(false, Ordering::Relaxed);
        let fast = run_everything();
        assert!(baseline.1.iter().any(|e| matches!(e, Event::NoteOn { .. })));
        assert!(baseline.0.iter().any(|&v| v != 0.0));
        assert_eq!(baseline.1, fast.1);
        let same_bits = baseline
            .0
            .iter()
            .zip(&fast.0)
            .all(|(a, b)| a.to_bits() == b.to_bits());
        assert!(same_bits && baseline.0.len() == fast.0.len());
    }

    #[inline(always)]
    fn kernel(x: &[f32]) -> (Vec<f32>, f32) {
        let y: Vec<f32> = x
            .iter()
            .map(|v| (v * 1.5 + 0.25).abs().sqrt().max(0.1) / 3.0)
            .collect();
        let sum = y.iter().sum();
        (y, sum)
    }

    /// Bit for bit: elementwise arithmetic, a square root, a maximum and an ordered sum.
    #[test]
    fn the_fast_path_computes_what_the_baseline_does() {
        let x: Vec<f32> = (0..1000).map(|i| (i as f32 * 0.37).sin() * 1e3).collect();
        let fast_result = fast(
            #[inline(always)]
            || kernel(&x),
        );
        assert_eq!(fast_result, kernel(&x));
    }

    #[test]
    // 1.4142 and 1.4143 straddle √2 on purpose: where the mantissa's range reduction turns.
    #[allow(clippy::approx_constant)]
    fn log10_matches_libm_over_the_range() {
        let mut x = 1e-37f32;
        while x < 3e38 {
            for v in [x, x * 1.000_001, x * 1.414_2, x * 1.414_3, x * 1.999_99] {
                let (got, want) = (log10(v), v.log10());
                assert!(
                    (got - want).abs() <= 4e-7 * want.abs().max(1.0),
                    "{v}: {got} vs {want}"
                );
            }
            x *= 1.37;
        }
        assert_eq!(log10(1.0), 0.0);
        for v in [0.0, 1e-45, f32::INFINITY, f32::NAN, -1.0] {
            assert!(log10(v).is_finite(), "{v}");
        }
    }
}
