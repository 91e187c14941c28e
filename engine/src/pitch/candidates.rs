//! pYIN's candidate stage (Mauch & Dixon, 2014): instead of one YIN threshold, a distribution of
//! thresholds. For each threshold, the dips of `d'` below it are ranked by lag and share the
//! threshold's probability by a Boltzmann law (earlier dips, i.e. higher pitches, weigh more:
//! YIN's rule against sub-octave errors, made soft); if no dip lies below it, the deepest dip gets
//! a small share. Summed over thresholds this gives a few period candidates with probabilities
//! whose total is the frame's voicing evidence.

/// Number of thresholds, evenly spaced in `(0, 1]`.
const THRESHOLDS: usize = 100;
/// Parameters of the Beta distribution over thresholds (pYIN's default: mean 0.1).
const BETA: (f64, f64) = (2.0, 18.0);
/// Boltzmann parameter of the prior over dip ranks.
const BOLTZMANN: f64 = 2.0;
/// Share given to the deepest dip for thresholds below every dip.
const NO_TROUGH_PROB: f64 = 0.01;
/// Dips ranked further than this behind the first get a Boltzmann weight below `e^-24`; ignored.
const MAX_RANK: usize = 12;

/// One period candidate.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct Candidate {
    /// Frequency in Hz (from the parabolically interpolated lag).
    pub(crate) freq_hz: f64,
    /// Probability that the frame is voiced at this period.
    pub(crate) prob: f64,
    /// Depth of the dip, `d'(τ)` at the interpolated minimum (0 is perfectly periodic).
    pub(crate) depth: f64,
}

/// Extracts candidates from a normalised difference function.
pub(crate) struct CandidateExtractor {
    /// Probability mass of each threshold bin `((i)/T, (i+1)/T]`.
    beta_probs: [f64; THRESHOLDS],
    /// Boltzmann prior `(1 - e^-λ) e^{-λ k}` for ranks `k < MAX_RANK`, before truncation.
    boltzmann: [f64; MAX_RANK],
    min_lag: usize,
    max_lag: usize,
    sample_rate: f64,
    /// Dips: lag index, height, interpolated lag and height.
    dips: Vec<(usize, f64, f64, f64)>,
    /// Probability accumulated per dip.
    dip_probs: Vec<f64>,
    /// Dips whose height falls in each threshold bin.
    bin_counts: [usize; THRESHOLDS],
    /// The truncated Boltzmann law's normalisation `1 / (1 - e^{-λ n})` for `n` dips below a
    /// threshold, `n` up to the most dips a frame holds.
    norms: Vec<f64>,
    /// Per threshold, the first dip (plus one; 0: none) of the list of those below it and not
    /// below the one before; `next_joining` links each dip to the next of its list.
    joining: [usize; THRESHOLDS],
    next_joining: Vec<usize>,
}

/// Regularised incomplete beta function `I_x(a, b)` for integer-valued parameters, by summing
/// the binomial form `I_x(a, b) = Σ_{j=a}^{a+b-1} C(a+b-1, j) x^j (1-x)^{a+b-1-j}`.
fn beta_cdf_integer(x: f64, a: u32, b: u32) -> f64 {
    let n = a + b - 1;
    let mut sum = 0.0;
    let mut binom = 1.0f64; // C(n, j), built up from j = 0
    for j in 0..=n {
        if j >= a {
            sum += binom * x.powi(j as i32) * (1.0 - x).powi((n - j) as i32);
        }
        binom = binom * (n - j) as f64 / (j + 1) as f64;
    }
    sum.clamp(0.0, 1.0)
}

impl CandidateExtractor {
    /// Candidates for lags `min_lag..=max_lag` at `sample_rate`.
    pub(crate) fn new(min_lag: usize, max_lag: usize, sample_rate: f64) -> Self {
        let mut beta_probs = [0.0; THRESHOLDS];
        let mut prev = 0.0;
        for (i, p) in beta_probs.iter_mut().enumerate() {
            let c = beta_cdf_integer(
                (i + 1) as f64 / THRESHOLDS as f64,
                BETA.0 as u32,
                BETA.1 as u32,
            );
            *p = c - prev;
            prev = c;
        }
        let mut boltzmann = [0.0; MAX_RANK];
        for (k, b) in boltzmann.iter_mut().enumerate() {
            *b = (1.0 - (-BOLTZMANN).exp()) * (-BOLTZMANN * k as f64).exp();
        }
        let max_dips = max_lag / 2 + 2;
        Self {
            beta_probs,
            boltzmann,
            min_lag: min_lag.max(2),
            max_lag,
            sample_rate,
            dips: Vec::with_capacity(max_dips),
            dip_probs: Vec::with_capacity(max_dips),
            bin_counts: [0; THRESHOLDS],
            norms: (0..=max_dips)
                .map(|n| 1.0 / (1.0 - (-BOLTZMANN * n as f64).exp()))
                .collect(),
            joining: [0; THRESHOLDS],
            next_joining: vec![0; max_dips],
        }
    }

    /// Most candidates one frame can produce.
    pub(crate) fn max_candidates(&self) -> usize {
        self.dips.capacity()
    }

    /// Writes the candidates of `cmndf` (`d'(τ)` for `τ` in `0..=max_lag`) into `out`, which is
    /// cleared first (its capacity must be at least [`max_candidates`](Self::max_candidates)).
    /// Returns the probability of the dips below the thresholds (the frame's periodicity, at
    /// most 1); the share the deepest dip gets for thresholds below every dip is left out of
    /// it (that share is "no dip anywhere", as in noise), though it still ranks the candidates.
    pub(crate) fn extract(&mut self, cmndf: &[f64], out: &mut Vec<Candidate>) -> f64 {
        crate::simd::fast(
            #[inline(always)]
            || {
                out.clear();
                self.dips.clear();
                self.dip_probs.clear();
                self.bin_counts = [0; THRESHOLDS];
                self.joining = [0; THRESHOLDS];
                let (lo, hi) = (self.min_lag, self.max_lag.min(cmndf.len() - 1));
                // Local minima of d' inside the lag range (the ends count if lower than their
                // neighbour).
                for tau in lo..=hi {
                    let v = cmndf[tau];
                    let left = if tau > lo {
                        cmndf[tau - 1]
                    } else {
                        f64::INFINITY
                    };
                    let right = if tau < hi {
                        cmndf[tau + 1]
                    } else {
                        f64::INFINITY
                    };
                    if v < 1.0 && v < left && v <= right && self.dips.len() < self.dips.capacity() {
                        let (shift, depth) = if tau > lo && tau < hi {
                            parabolic(cmndf[tau - 1], v, cmndf[tau + 1])
                        } else {
                            (0.0, v)
                        };
                        self.dips.push((tau, v, tau as f64 + shift, depth.max(0.0)));
                        self.dip_probs.push(0.0);
                        let bin = ((v * THRESHOLDS as f64).floor() as usize).min(THRESHOLDS - 1);
                        self.bin_counts[bin] += 1;
                        // The first threshold the dip is below, by the comparison the ranking
                        // makes (its bin, or a neighbour where the product rounds).
                        let mut join = bin;
                        while join > 0 && v < threshold(join - 1) {
                            join -= 1;
                        }
                        while join + 1 < THRESHOLDS && v >= threshold(join) {
                            join += 1;
                        }
                        let k = self.dips.len() - 1;
                        self.next_joining[k] = self.joining[join];
                        self.joining[join] = k + 1;
                    }
                }
                if self.dips.is_empty() {
                    return 0.0;
                }
                // Threshold i is (i + 1) / T; a dip is below it when its height is < (i + 1) / T,
                // i.e. when its height bin is <= i. `below` counts those dips.
                let mut below = 0usize;
                let mut no_trough = 0.0;
                let mut global_min = 0;
                for (k, d) in self.dips.iter().enumerate() {
                    if d.1 < self.dips[global_min].1 {
                        global_min = k;
                    }
                }
                // The dips below the threshold, ranked by lag: the first `MAX_RANK` of them (no
                // later rank gets a share), kept sorted as the threshold rises and dips join.
                let mut ranked = [0usize; MAX_RANK];
                let mut kept = 0;
                for i in 0..THRESHOLDS {
                    below += self.bin_counts[i];
                    let mut next = self.joining[i];
                    while next != 0 {
                        let k = next - 1;
                        next = self.next_joining[k];
                        let mut at = kept;
                        while at > 0 && ranked[at - 1] > k {
                            at -= 1;
                        }
                        if at < MAX_RANK {
                            kept = (kept + 1).min(MAX_RANK);
                            ranked.copy_within(at..kept - 1, at + 1);
                            ranked[at] = k;
                        }
                    }
                    let p = self.beta_probs[i];
                    if below == 0 {
                        self.dip_probs[global_min] += NO_TROUGH_PROB * p;
                        no_trough += NO_TROUGH_PROB * p;
                        continue;
                    }
                    // Truncated Boltzmann over `below` ranks.
                    let norm = self.norms[below];
                    for (rank, &k) in ranked[..kept.min(below)].iter().enumerate() {
                        self.dip_probs[k] += p * self.boltzmann[rank] * norm;
                    }
                }
                let mut total = 0.0;
                for (d, &prob) in self.dips.iter().zip(&self.dip_probs) {
                    if prob > 1e-9 {
                        out.push(Candidate {
                            freq_hz: self.sample_rate / d.2,
                            prob,
                            depth: d.3,
                        });
                        total += prob;
                    }
                }
                (total - no_trough).clamp(0.0, 1.0)
            },
        )
    }
}

/// Threshold `i`, `(i + 1) / T`.
#[inline(always)]
fn threshold(i: usize) -> f64 {
    (i + 1) as f64 / THRESHOLDS as f64
}

/// Vertex of the parabola through `(−1, a)`, `(0, b)`, `(1, c)`: `(offset, value)`, the offset
/// clamped to half a sample.
fn parabolic(a: f64, b: f64, c: f64) -> (f64, f64) {
    let den = a - 2.0 * b + c;
    if den <= 0.0 {
        return (0.0, b);
    }
    let shift = (0.5 * (a - c) / den).clamp(-0.5, 0.5);
    (shift, b - 0.25 * (a - c) * shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threshold_distribution_sums_to_one_with_mean_one_tenth() {
        let c = CandidateExtractor::new(2, 100, 1000.0);
        let total: f64 = c.beta_probs.iter().sum();
        assert!((total - 1.0).abs() < 1e-12);
        let mean: f64 = c
            .beta_probs
            .iter()
            .enumerate()
            .map(|(i, p)| p * (i as f64 + 0.5) / THRESHOLDS as f64)
            .sum();
        assert!((mean - 0.1).abs() < 0.005, "{mean}");
    }

    #[test]
    fn a_deep_first_dip_takes_nearly_all_the_probability() {
        let mut cmndf = vec![1.0; 101];
        cmndf[20] = 0.01; // the period
        cmndf[40] = 0.005; // its double, slightly deeper, as in real signals
        let mut c = CandidateExtractor::new(2, 100, 1000.0);
        let mut out = Vec::with_capacity(c.max_candidates());
        let v = c.extract(&cmndf, &mut out);
        assert_eq!(out.len(), 2);
        assert!((out[0].freq_hz - 50.0).abs() < 1e-9);
        assert!(out[0].prob > 0.8 && out[1].prob < 0.15, "{out:?}");
        assert!(v > 0.95);
    }

    #[test]
    fn shallow_dips_give_little_voicing_evidence() {
        let mut cmndf = vec![1.0; 101];
        cmndf[30] = 0.6;
        let mut c = CandidateExtractor::new(2, 100, 1000.0);
        let mut out = Vec::with_capacity(c.max_candidates());
        let v = c.extract(&cmndf, &mut out);
        assert!(v < 0.01, "{v}");
        assert_eq!(out.len(), 1, "the dip is still a candidate");
    }

    #[test]
    fn parabolic_vertex() {
        // y = (x - 0.25)^2 sampled at -1, 0, 1.
        let (s, v) = parabolic(1.5625, 0.0625, 0.5625);
        assert!((s - 0.25).abs() < 1e-12 && v.abs() < 1e-12);
    }
}
