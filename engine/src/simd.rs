//! Runtime choice of vector instructions for the hot loops.
//!
//! The crate is built for the baseline of its target (SSE2 on x86-64), so that it runs on every
//! machine. The DSP loops are written to vectorise (plain arrays and slices, no intrinsics);
//! [`fast`] runs such a loop compiled a second time for AVX2 when the CPU has it (most x86-64
//! CPUs made since 2013 to 2015), which doubles the vector width. The choice is made per call from a
//! cached CPU feature flag (one relaxed atomic load), never allocates, and does not change
//! results: Rust never fuses or reorders floating-point operations, so both builds compute the
//! same operations in the same order, only more of them at a time.
//!
//! What runs under [`fast`] is the closure and what the compiler inlines into it, so the closure
//! and the helpers it calls are `#[inline(always)]` (a function left out of line runs the
//! baseline build). Small functions called many times per frame stay out of it: the check and
//! the call cost more than the wider vectors save.

/// Runs `f`, compiled for AVX2 when the CPU has it.
#[inline(always)]
pub(crate) fn fast<R>(f: impl FnOnce() -> R) -> R {
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

#[cfg(test)]
mod tests {
    use super::fast;

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
}
