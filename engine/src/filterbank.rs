//! A log-frequency triangular filterbank: linear FFT bins summed into bands spaced evenly in
//! octaves (as in SuperFlux, Böck & Widmer 2013). Bands narrower than a bin collapse into one.

/// Sparse triangular filters over FFT magnitude bins.
#[derive(Debug, Clone)]
pub(crate) struct LogFilterbank {
    /// For band `b`: weights `weights[offsets[b]..offsets[b + 1]]` apply from bin `starts[b]`.
    starts: Vec<usize>,
    offsets: Vec<usize>,
    weights: Vec<f32>,
}

impl LogFilterbank {
    /// Bands from `fmin` to `fmax` Hz, `bands_per_octave` to the octave, for an FFT of
    /// `fft_len` at `sample_rate`. Peak weight 1 (filters are not area-normalised).
    pub(crate) fn new(
        fft_len: usize,
        sample_rate: f64,
        fmin: f64,
        fmax: f64,
        bands_per_octave: u32,
    ) -> Self {
        let bins = fft_len / 2 + 1;
        let bin_hz = sample_rate / fft_len as f64;
        let fmax = fmax.min(sample_rate / 2.0);
        let mut centres: Vec<usize> = Vec::new();
        let mut i = 0;
        loop {
            let f = fmin * 2f64.powf(i as f64 / bands_per_octave as f64);
            if f > fmax {
                break;
            }
            let b = ((f / bin_hz).round() as usize).clamp(1, bins - 1);
            if centres.last() != Some(&b) {
                centres.push(b);
            }
            i += 1;
        }
        let mut starts = Vec::new();
        let mut offsets = vec![0];
        let mut weights = Vec::new();
        for w in centres.windows(3) {
            let (lo, mid, hi) = (w[0], w[1], w[2]);
            if hi - lo < 2 {
                starts.push(mid);
                weights.push(1.0);
            } else {
                starts.push(lo + 1);
                for b in lo + 1..hi {
                    let v = if b <= mid {
                        (b - lo) as f32 / (mid - lo) as f32
                    } else {
                        (hi - b) as f32 / (hi - mid) as f32
                    };
                    weights.push(v);
                }
            }
            offsets.push(weights.len());
        }
        Self {
            starts,
            offsets,
            weights,
        }
    }

    /// Number of bands.
    pub(crate) fn bands(&self) -> usize {
        self.starts.len()
    }

    /// Writes the band sums of `magnitude` into `out` (length [`LogFilterbank::bands`]).
    #[inline(always)]
    pub(crate) fn apply(&self, magnitude: &[f32], out: &mut [f32]) {
        for (b, o) in out.iter_mut().enumerate() {
            let w = &self.weights[self.offsets[b]..self.offsets[b + 1]];
            let m = &magnitude[self.starts[b]..self.starts[b] + w.len()];
            *o = w.iter().zip(m).map(|(a, b)| a * b).sum();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_cover_the_range_and_respond_to_their_frequency() {
        let fb = LogFilterbank::new(2048, 44_100.0, 30.0, 17_000.0, 24);
        // Low bands collapse onto single bins, so there are fewer than 24 * log2(17000 / 30).
        assert!(fb.bands() > 100 && fb.bands() < 24 * 10, "{}", fb.bands());
        let mut mag = vec![0.0; 1025];
        mag[200] = 1.0; // about 4.3 kHz
        let mut out = vec![0.0; fb.bands()];
        fb.apply(&mag, &mut out);
        let hit: Vec<usize> = (0..out.len()).filter(|&b| out[b] > 0.0).collect();
        assert!(!hit.is_empty() && hit.len() <= 2, "{hit:?}");
        assert!(out.iter().cloned().fold(0.0, f32::max) > 0.4);
    }
}
