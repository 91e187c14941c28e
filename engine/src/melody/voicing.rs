//! The voicing decision. The accompaniment is always there, so loudness says nothing about
//! whether the melody sounds; what does is how salient the tracked pitch is *relative to the
//! piece so far*. A running mean and deviation of the tracked salience (in dB, exponentially
//! weighted with a time constant of seconds) set the threshold, in the spirit of Melodia's
//! "contour salience below the piece's mean minus a fraction of its deviation is not melody".
//! A second test rejects frames whose salience function has no clear peak (noise): the tracked
//! salience must stand out from the function's mean by a minimum peak-to-mean ratio. A frame
//! more than [`RESTART_DB`] from the running mean (garbage input, an abrupt gain change)
//! restarts the statistics from it.

/// Settings of the voicing decision, resolved to frames.
#[derive(Debug, Clone, Copy)]
pub(crate) struct VoicingSettings {
    /// Weight of a new frame in the running statistics (`1 - exp(-hop / tau)`).
    pub(crate) rate: f32,
    /// Voiced when the tracked salience is above `mean - threshold * deviation` (dB terms).
    pub(crate) threshold: f32,
    /// Minimum ratio of the tracked salience to the salience function's mean.
    pub(crate) min_peak_ratio: f32,
}

/// Running statistics and the current decision.
pub(crate) struct Voicing {
    s: VoicingSettings,
    mean: f32,
    var: f32,
    /// Weight accumulated so far (bias correction for the first frames).
    weight: f32,
}

/// A floor for the deviation, dB: below it the statistics say little.
const MIN_DEV_DB: f32 = 1.0;
/// A frame this far (dB) from the running mean restarts the statistics.
const RESTART_DB: f32 = 40.0;

impl Voicing {
    pub(crate) fn new(s: VoicingSettings) -> Self {
        Self {
            s,
            mean: 0.0,
            var: 0.0,
            weight: 0.0,
        }
    }

    pub(crate) fn reset(&mut self) {
        self.mean = 0.0;
        self.var = 0.0;
        self.weight = 0.0;
    }

    /// Decides one frame from the tracked candidate's salience (`None` when silent) and the
    /// salience function's mean. Returns `(voiced, salience relative to the running mean)`.
    pub(crate) fn decide(&mut self, salience: Option<f32>, function_mean: f32) -> (bool, f32) {
        let Some(s) = salience.filter(|s| *s > 0.0) else {
            return (false, 0.0);
        };
        let db = 20.0 * s.log10();
        let d = db - self.mean;
        if self.weight == 0.0 || d.abs() > RESTART_DB {
            // The first frame, or a jump no music makes between neighbouring moments (garbage
            // input, a gain change of 40 dB): the statistics start afresh from here.
            self.weight = self.s.rate;
            self.mean = db;
            self.var = 0.0;
        } else {
            // Exponential weighting, with bias correction while the statistics are young.
            self.weight += self.s.rate * (1.0 - self.weight);
            let a = self.s.rate / self.weight;
            self.mean += a * d;
            self.var = (1.0 - a) * (self.var + a * d * d);
        }
        let dev = self.var.sqrt().max(MIN_DEV_DB);
        let z = (db - self.mean) / dev;
        let peaky = s >= self.s.min_peak_ratio * function_mean;
        let voiced = peaky && z > -self.s.threshold;
        (voiced, 10f32.powf(0.05 * (db - self.mean)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_stretches_are_unvoiced_loud_ones_voiced() {
        let mut v = Voicing::new(VoicingSettings {
            rate: 0.01,
            threshold: 0.5,
            min_peak_ratio: 2.0,
        });
        let mut decisions = Vec::new();
        for i in 0..2000 {
            let s = if (i / 100) % 2 == 0 { 1.0 } else { 0.1 };
            decisions.push(v.decide(Some(s), 0.01).0);
        }
        assert!(decisions[1900..2000].iter().all(|&d| !d));
        assert!(decisions[1800..1900].iter().all(|&d| d));
        // Not peaky enough: unvoiced whatever the level.
        assert!(!v.decide(Some(1.0), 0.9).0);
    }
}
