//! Spectral flux on a log-frequency, log-magnitude spectrogram, and SuperFlux (Böck & Widmer,
//! "Maximum filter vibrato suppression for onset detection", DAFx 2013): the same flux, but the
//! reference frame is first max-filtered across frequency so that a partial that merely moves
//! (vibrato, glissando) into a neighbouring band does not count as new energy.

use crate::filterbank::LogFilterbank;

/// Where the log compression's knee sits below the recent spectral peak, in dB: bands are
/// `log10(1 + band / knee)` with `knee = peak * 10^(-KNEE_DB / 20)`. Components further down
/// (window sidelobes, reverberation tails, noise) barely move the function, and the function no
/// longer depends on the input level.
pub(crate) const KNEE_DB: f32 = 40.0;
/// The peak follower's release, in dB per second.
const RELEASE_DB_PER_S: f32 = 100.0;
/// The knee never falls below this band level (about -120 dBFS), so silence stays silent.
const KNEE_FLOOR: f32 = 1e-6;

/// Log-filtered spectral flux and SuperFlux, computed together from one filterbank pass.
pub(crate) struct LogFlux {
    filterbank: LogFilterbank,
    /// `diff_frames + 1` frames of linear band sums, a ring of rows.
    rows: Vec<f32>,
    bands: usize,
    diff_frames: usize,
    newest: usize,
    /// Log bands of the reference frame, and their maximum filter.
    reference: Vec<f32>,
    maxed: Vec<f32>,
    peak: f32,
    release: f32,
    knee_ratio: f32,
}

/// Values of the two flux functions for one frame.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct FluxValues {
    pub(crate) flux: f32,
    pub(crate) superflux: f32,
}

impl LogFlux {
    /// `diff_frames`: how many frames back the reference frame lies (at least 1);
    /// `frame_rate`: frames per second (for the peak follower's release).
    pub(crate) fn new(filterbank: LogFilterbank, diff_frames: usize, frame_rate: f64) -> Self {
        let bands = filterbank.bands();
        let diff_frames = diff_frames.max(1);
        let release_db = RELEASE_DB_PER_S as f64 / frame_rate;
        let knee_db = crate::tune::get("KNEE", KNEE_DB as f64);
        Self {
            rows: vec![0.0; bands * (diff_frames + 1)],
            reference: vec![0.0; bands],
            maxed: vec![0.0; bands],
            filterbank,
            bands,
            diff_frames,
            newest: 0,
            peak: 0.0,
            release: 10f64.powf(-release_db / 20.0) as f32,
            knee_ratio: 10f64.powf(-knee_db / 20.0) as f32,
        }
    }

    pub(crate) fn reset(&mut self) {
        self.rows.fill(0.0);
        self.newest = 0;
        self.peak = 0.0;
    }

    /// Takes the magnitudes of a new frame and returns both flux values.
    pub(crate) fn process(&mut self, magnitude: &[f32]) -> FluxValues {
        crate::simd::fast(
            #[inline(always)]
            || {
                let slots = self.diff_frames + 1;
                let b = self.bands;
                self.newest = (self.newest + 1) % slots;
                // With `diff_frames + 1` rows in the ring, the slot after the newest is the oldest,
                // i.e. exactly `diff_frames` frames back.
                let oldest = (self.newest + 1) % slots;
                let cur = &mut self.rows[self.newest * b..self.newest * b + b];
                self.filterbank.apply(magnitude, cur);
                let frame_peak = cur.iter().cloned().fold(0.0f32, f32::max);
                self.peak = frame_peak.max(self.peak * self.release);
                let gain = 1.0 / (self.peak * self.knee_ratio).max(KNEE_FLOOR);
                let refr = &self.rows[oldest * b..oldest * b + b];
                for (r, &x) in self.reference.iter_mut().zip(refr) {
                    *r = crate::simd::log10(1.0 + gain * x);
                }
                // Max filter of width 3 across bands on the reference frame (two bands at the
                // edges); the interior from three shifted slices, so that it vectorises.
                let (r, m) = (&self.reference[..b], &mut self.maxed[..b]);
                if b >= 2 {
                    m[0] = r[0].max(r[1]);
                    m[b - 1] = r[b - 2].max(r[b - 1]);
                    let shifted = r[..b - 2].iter().zip(&r[1..b - 1]).zip(&r[2..]);
                    for (o, ((&x, &y), &z)) in m[1..b - 1].iter_mut().zip(shifted) {
                        *o = x.max(y).max(z);
                    }
                } else if b == 1 {
                    m[0] = r[0];
                }
                let cur = &self.rows[self.newest * b..self.newest * b + b];
                let mut out = FluxValues::default();
                let bands = cur.iter().zip(&self.reference[..b]).zip(&self.maxed[..b]);
                for ((&x, &r), &m) in bands {
                    let c = crate::simd::log10(1.0 + gain * x);
                    out.flux += (c - r).max(0.0);
                    out.superflux += (c - m).max(0.0);
                }
                out
            },
        )
    }
}
