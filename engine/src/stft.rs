//! Short-time Fourier analysis of the newest samples of a [`History`], with the FFT planned at
//! construction ([`RealFft`](crate::fft::RealFft)) and every buffer allocated there.

use crate::fft::RealFft;
use realfft::num_complex::Complex32;

use crate::framer::History;
use crate::window;

/// The smallest length of at least `n` whose only prime factors are 2, 3 and 5 and which is a
/// multiple of 16: realfft is fast at such lengths, and they waste far less than the next power
/// of two. The factor 16 (8 in the half-length complex FFT realfft runs) keeps rustfft on its
/// vectorised radix-2 stages: without it, 2250 points (1125 = 3² 5³) took 3.2 µs against
/// 2.2 µs for 2304, and a forward and inverse f64 pair of 1250 points 5.0 µs against 3.2 µs for
/// 1280.
pub(crate) fn fast_fft_len(n: usize) -> usize {
    let mut best = n.max(16).next_power_of_two();
    let mut p2 = 16;
    while p2 < best {
        let mut p3 = p2;
        while p3 < best {
            let mut p5 = p3;
            while p5 < best {
                if p5 >= n {
                    best = p5;
                }
                p5 *= 5;
            }
            p3 *= 3;
        }
        p2 *= 2;
    }
    best
}

/// One analysed frame, borrowed from the analyser.
pub(crate) struct Frame<'a> {
    /// Complex spectrum, `fft_len / 2 + 1` bins, scaled so that a full-scale sine whose frequency
    /// falls on a bin has magnitude 0.5 there.
    pub(crate) spectrum: &'a [Complex32],
    /// Magnitudes of `spectrum`.
    pub(crate) magnitude: &'a [f32],
    /// Mean square of the (unwindowed) frame samples.
    pub(crate) mean_square: f32,
}

/// Hann-windowed FFT of the newest `window_len` samples, zero-padded to the next 2-3-5-smooth
/// length ([`fast_fft_len`]: 2048 for the default 46 ms at 44.1 kHz, 2304 at 48 kHz where the
/// next power of two would be 4096).
pub(crate) struct Analyzer {
    window: Vec<f32>,
    fft_in: Vec<f32>,
    spectrum: Vec<Complex32>,
    magnitude: Vec<f32>,
    scratch: Vec<Complex32>,
    fft: RealFft,
    scale: f32,
}

impl Analyzer {
    pub(crate) fn new(window_len: usize) -> Self {
        let fft_len = fast_fft_len(window_len);
        let fft = RealFft::new(fft_len);
        let window = window::hann(window_len);
        let sum: f32 = window.iter().sum();
        Self {
            fft_in: fft.make_input_vec(),
            spectrum: fft.make_output_vec(),
            magnitude: vec![0.0; fft_len / 2 + 1],
            scratch: fft.make_scratch_vec(),
            fft,
            scale: 1.0 / sum,
            window,
        }
    }

    pub(crate) fn window_len(&self) -> usize {
        self.window.len()
    }

    pub(crate) fn fft_len(&self) -> usize {
        self.fft_in.len()
    }

    /// Number of spectrum bins (`fft_len / 2 + 1`).
    pub(crate) fn bins(&self) -> usize {
        self.spectrum.len()
    }

    /// Analyses the newest samples of `history`.
    pub(crate) fn analyze(&mut self, history: &History) -> Frame<'_> {
        crate::simd::fast(
            #[inline(always)]
            || {
                // Windowed straight from the ring (its older part, then its newer one), and the
                // mean square summed apart: one chain of additions in order, which would keep the
                // windowing scalar.
                let n = self.window.len();
                let (older, newer) = history.latest(n);
                let (fft_older, fft_newer) = self.fft_in[..n].split_at_mut(older.len());
                let (w_older, w_newer) = self.window.split_at(older.len());
                for (part, fft, w) in [(older, fft_older, w_older), (newer, fft_newer, w_newer)] {
                    for ((dst, &x), &w) in fft.iter_mut().zip(part).zip(w) {
                        *dst = x * w * self.scale;
                    }
                }
                let mut ms = 0.0f32;
                for part in [older, newer] {
                    for &x in part {
                        ms += x * x;
                    }
                }
                self.fft_in[n..].fill(0.0);
                // The buffers come from the transform itself, so their lengths fit.
                self.fft.process_with_scratch(
                    &mut self.fft_in,
                    &mut self.spectrum,
                    &mut self.scratch,
                );
                // Input is sanitised and clamped, so the plain form cannot overflow (hypot is 5x
                // slower).
                for (m, c) in self.magnitude.iter_mut().zip(&self.spectrum) {
                    *m = (c.re * c.re + c.im * c.im).sqrt();
                }
                Frame {
                    spectrum: &self.spectrum,
                    magnitude: &self.magnitude,
                    mean_square: ms / n as f32,
                }
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_lengths_are_small_multiples_of_16_with_factors_2_3_5() {
        assert_eq!(fast_fft_len(2046), 2048);
        assert_eq!(fast_fft_len(2227), 2304);
        assert_eq!(fast_fft_len(1203), 1280);
        assert_eq!(fast_fft_len(1107), 1152);
        assert_eq!(fast_fft_len(3), 16);
        for n in 1..5000 {
            let m = fast_fft_len(n);
            assert!(m >= n && m % 16 == 0 && m <= n.max(16).next_power_of_two());
            let mut r = m;
            for p in [2, 3, 5] {
                while r % p == 0 {
                    r /= p;
                }
            }
            assert_eq!(r, 1, "{m}");
        }
    }

    #[test]
    fn full_scale_sine_on_a_bin_has_magnitude_one_half() {
        let n = 1024;
        let mut a = Analyzer::new(n);
        let mut h = History::new(n);
        let k = 37.0;
        let xs: Vec<f32> = (0..n)
            .map(|i| (2.0 * std::f32::consts::PI * k * i as f32 / n as f32).sin())
            .collect();
        h.extend(&xs);
        let f = a.analyze(&h);
        assert!((f.magnitude[37] - 0.5).abs() < 1e-3, "{}", f.magnitude[37]);
        assert!((f.mean_square - 0.5).abs() < 1e-3);
        assert!(f.magnitude[60] < 1e-4);
    }
}
