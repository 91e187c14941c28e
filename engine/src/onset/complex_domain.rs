//! Rectified complex-domain onset detection (Bello et al. 2004; Dixon 2006): each bin is predicted
//! from the previous two frames as a stationary sinusoid (same magnitude, phase advancing at the
//! same rate); the function is the distance of the observation from the prediction, summed over
//! the bins whose magnitude rose, relative to the frame's total magnitude. Steady tones, whatever their frequency, predict well and score
//! near zero; new notes and transients do not.

use realfft::num_complex::Complex32;

/// Gain inside the log compression `ln(1 + COMPRESSION * deviation / magnitude)`.
const COMPRESSION: f32 = 10.0;

pub(crate) struct ComplexDomain {
    /// The previous two frames' spectra and magnitudes.
    prev: Vec<Complex32>,
    prev2: Vec<Complex32>,
    prev_mag: Vec<f32>,
    prev2_mag: Vec<f32>,
}

impl ComplexDomain {
    pub(crate) fn new(bins: usize) -> Self {
        let zero = Complex32::new(0.0, 0.0);
        Self {
            prev: vec![zero; bins],
            prev2: vec![zero; bins],
            prev_mag: vec![0.0; bins],
            prev2_mag: vec![0.0; bins],
        }
    }

    pub(crate) fn reset(&mut self) {
        self.prev.fill(Complex32::new(0.0, 0.0));
        self.prev2.fill(Complex32::new(0.0, 0.0));
        self.prev_mag.fill(0.0);
        self.prev2_mag.fill(0.0);
    }

    pub(crate) fn process(&mut self, spectrum: &[Complex32], magnitude: &[f32]) -> f32 {
        let mut sum = 0.0f32;
        let mut total = 0.0f32;
        for k in 0..spectrum.len() {
            let x = spectrum[k];
            let p1 = self.prev[k];
            let m1 = self.prev_mag[k];
            if magnitude[k] >= m1 {
                let p2 = self.prev2[k];
                let m2 = self.prev2_mag[k];
                // Unit phasors of the last two frames; the prediction advances the phase by
                // their difference: m1 * u1 * (u1 / u2) = m1 * u1^2 * conj(u2) = p1^2 conj(p2) / (m1 m2).
                let predicted = if m1 > 1e-20 && m2 > 1e-20 {
                    p1 * p1 * p2.conj() / (m1 * m2)
                } else {
                    p1
                };
                let d = x - predicted;
                sum += (d.re * d.re + d.im * d.im).sqrt();
            }
            total += magnitude[k];
        }
        std::mem::swap(&mut self.prev, &mut self.prev2);
        std::mem::swap(&mut self.prev_mag, &mut self.prev2_mag);
        self.prev.copy_from_slice(spectrum);
        self.prev_mag.copy_from_slice(magnitude);
        // Relative to the frame's own magnitude, so the function reads "how much of what sounds
        // now was not predictable", whatever the level.
        (1.0 + COMPRESSION * sum / (total + 1e-6)).ln()
    }
}
