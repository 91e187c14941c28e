//! Analysis and synthesis windows.

/// A periodic Hann window of length `n` (the DFT-even form, which overlap-adds to a constant).
pub(crate) fn hann(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| {
            let x = std::f64::consts::PI * i as f64 / n as f64;
            (x.sin() * x.sin()) as f32
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn hann_is_zero_at_start_and_one_in_the_middle() {
        let w = super::hann(8);
        assert_eq!(w[0], 0.0);
        assert!((w[4] - 1.0).abs() < 1e-7);
        assert!((w[2] - 0.5).abs() < 1e-7);
    }
}
