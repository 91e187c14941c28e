//! An online hidden Markov model over pitch and voicing, after pYIN, run causally: forward
//! filtering every frame, and fixed-lag smoothing (a short backward pass over the last `lag`
//! frames) to decide the frame `lag` hops back. The lag is counted in the stage's latency.
//!
//! States: `n` voiced pitch bins on a log-frequency grid (`bins_per_semitone` per semitone from
//! `fmin`) and one unvoiced state. Transitions:
//! - voiced `i` to voiced `j`: `(1 - s) ((1 - ε) K(j - i) / Z_i + ε / n)`, with `K` a triangle
//!   of half-width `w` bins (the largest glide expected within one hop) and `Z_i` its row sum;
//!   the small uniform part `ε` lets a legato leap land anywhere in one frame;
//! - voiced to unvoiced `s`, unvoiced to unvoiced `1 - s`, unvoiced to voiced `j`: `s / n`.
//!
//! Observations are scaled likelihoods: for voiced bin `j`, `c · p_j` where `p_j` is the
//! candidate probability falling in the bin; for the unvoiced state, `1 - V` where `V` is the
//! frame's voicing evidence. `c` sets the balance between the two hypotheses.
//!
//! The banded transition and the uniform parts make one step cost `O(n + k w)` for `k` bins
//! with evidence (the observations are zero away from the frame's candidates, so the forward and
//! backward vectors are sparse before the transition spreads them).

/// The transition model (banded triangle, uniform jumps, voicing switches).
struct Transition {
    n: usize,
    half_width: usize,
    /// Triangle weights for offsets `-w..=w`, index `offset + w`.
    kernel: Vec<f64>,
    /// `1 / Z_i` per source bin.
    inv_row: Vec<f64>,
    switch: f64,
    jump: f64,
}

impl Transition {
    fn new(n: usize, half_width: usize, switch: f64, jump: f64) -> Self {
        let w = half_width.max(1);
        let kernel: Vec<f64> = (0..=2 * w)
            .map(|k| (w + 1 - k.abs_diff(w)) as f64)
            .collect();
        let inv_row = (0..n)
            .map(|i| {
                let lo = i.saturating_sub(w);
                let hi = (i + w).min(n - 1);
                1.0 / (lo..=hi).map(|j| kernel[j + w - i]).sum::<f64>()
            })
            .collect();
        Self {
            n,
            half_width: w,
            kernel,
            inv_row,
            switch,
            jump,
        }
    }

    /// `acc[j] = Σ_i K(j - i) x_i` for the `n` voiced bins. `x` is sparse (a frame's mass sits
    /// on its few candidates' bins, the observations being zero elsewhere), so each nonzero
    /// source spreads over its band: `O(k w)` for `k` nonzero bins, not `O(n w)`.
    #[inline(always)]
    fn spread(&self, x: &[f64], acc: &mut [f64]) {
        let (n, w) = (self.n, self.half_width);
        acc[..n].fill(0.0);
        let mut add = |i: usize, xi: f64| {
            let lo = i.saturating_sub(w);
            let hi = (i + w).min(n - 1);
            // `K(j - i) = kernel[j + w - i]`.
            for (a, &k) in acc[lo..=hi]
                .iter_mut()
                .zip(&self.kernel[lo + w - i..=hi + w - i])
            {
                *a += k * xi;
            }
        };
        // The nonzero sources in order, found `SCAN` at a time through a bit mask (vectorised).
        const SCAN: usize = 16;
        let groups = x[..n].chunks_exact(SCAN);
        let rest = groups.remainder();
        for (g, group) in groups.enumerate() {
            let mut mask = 0u32;
            for (j, &xi) in group.iter().enumerate() {
                mask |= u32::from(xi != 0.0) << j;
            }
            while mask != 0 {
                let j = mask.trailing_zeros() as usize;
                add(g * SCAN + j, group[j]);
                mask &= mask - 1;
            }
        }
        for (j, &xi) in rest.iter().enumerate() {
            if xi != 0.0 {
                add(n - rest.len() + j, xi);
            }
        }
    }

    /// `out = Tᵀ v`: the mass flowing into each state. Both hold `n + 1` values; `scaled` and
    /// `acc` (`n` long) are scratch.
    #[inline(always)]
    fn predict(&self, v: &[f64], out: &mut [f64], scaled: &mut [f64], acc: &mut [f64]) {
        let (n, s, e) = (self.n, self.switch, self.jump);
        let unvoiced = v[n];
        let voiced_total = sum(&v[..n]);
        let spread = (1.0 - s) * e * voiced_total / n as f64 + s * unvoiced / n as f64;
        // `v_i / Z_i` once per bin rather than once per (bin, offset).
        for ((x, &a), &b) in scaled.iter_mut().zip(&v[..n]).zip(&self.inv_row) {
            *x = a * b;
        }
        self.spread(scaled, acc);
        for (o, &a) in out[..n].iter_mut().zip(&acc[..n]) {
            *o = (1.0 - s) * (1.0 - e) * a + spread;
        }
        out[n] = s * voiced_total + (1.0 - s) * unvoiced;
    }

    /// `out = T g`: one backward step. Both hold `n + 1` values; `acc` (`n` long) is scratch.
    /// The triangle is symmetric, so `Σ_j K(j - i) g_j` is the same spread as in `predict`.
    #[inline(always)]
    fn back(&self, g: &[f64], out: &mut [f64], acc: &mut [f64]) {
        let (n, s, e) = (self.n, self.switch, self.jump);
        let voiced_mean = sum(&g[..n]) / n as f64;
        self.spread(g, acc);
        let unvoiced = g[n];
        for ((o, &a), &z) in out[..n].iter_mut().zip(&acc[..n]).zip(&self.inv_row) {
            *o = (1.0 - s) * ((1.0 - e) * a * z + e * voiced_mean) + s * unvoiced;
        }
        out[n] = (1.0 - s) * g[n] + s * voiced_mean;
    }
}

/// Fixed-lag forward-backward smoother over pitch bins and voicing.
pub(crate) struct PitchHmm {
    trans: Transition,
    max_lag: usize,
    /// Ring of `max_lag + 1` filtered (forward) vectors, `n + 1` values each: voiced bins, then
    /// the unvoiced state.
    alpha: Vec<f64>,
    /// Ring of `max_lag + 1` observation vectors.
    obs: Vec<f64>,
    beta: Vec<f64>,
    work: Vec<f64>,
    /// The last smoothed posterior.
    gamma: Vec<f64>,
    /// Scratch of [`Transition::predict`] and [`Transition::back`].
    scaled: Vec<f64>,
    acc: Vec<f64>,
    /// Frames pushed since the last reset.
    frames: u64,
}

/// The smoothed state of one frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Posterior {
    /// Probability that the frame is voiced.
    pub(crate) voiced: f64,
    /// Most probable voiced bin.
    pub(crate) bin: usize,
}

impl PitchHmm {
    /// `n` voiced bins, transitions of at most `half_width` bins per frame, switch probability
    /// `switch`, uniform jump probability `jump`, fixed lag up to `max_lag` frames.
    pub(crate) fn new(n: usize, half_width: usize, switch: f64, jump: f64, max_lag: usize) -> Self {
        let len = (max_lag + 1) * (n + 1);
        Self {
            trans: Transition::new(n, half_width, switch, jump),
            max_lag,
            alpha: vec![0.0; len],
            obs: vec![0.0; len],
            beta: vec![0.0; n + 1],
            work: vec![0.0; n + 1],
            gamma: vec![0.0; n + 1],
            scaled: vec![0.0; n],
            acc: vec![0.0; n],
            frames: 0,
        }
    }

    /// Number of voiced bins.
    pub(crate) fn bins(&self) -> usize {
        self.trans.n
    }

    pub(crate) fn reset(&mut self) {
        self.alpha.fill(0.0);
        self.obs.fill(0.0);
        self.gamma.fill(0.0);
        self.frames = 0;
    }

    fn slot(&self, frame: u64) -> std::ops::Range<usize> {
        let n1 = self.trans.n + 1;
        let s = (frame % (self.max_lag as u64 + 1)) as usize * n1;
        s..s + n1
    }

    /// Pushes one frame's observation: `voiced_obs` for the `n` voiced bins and `unvoiced_obs`
    /// for the unvoiced state (scaled likelihoods, not all zero). Returns the posterior of the
    /// frame `lag` frames back (`lag` at most the maximum given to `new`), once there is one.
    pub(crate) fn push(
        &mut self,
        voiced_obs: &[f64],
        unvoiced_obs: f64,
        lag: usize,
    ) -> Option<Posterior> {
        crate::simd::fast(
            #[inline(always)]
            || {
                let n = self.trans.n;
                let t = self.frames;
                let cur = self.slot(t);
                self.obs[cur.start..cur.start + n].copy_from_slice(voiced_obs);
                self.obs[cur.start + n] = unvoiced_obs;
                if t == 0 {
                    // Prior: as likely voiced as not, any pitch.
                    self.work[..n].fill(0.5 / n as f64);
                    self.work[n] = 0.5;
                } else {
                    let prev = self.slot(t - 1);
                    self.trans.predict(
                        &self.alpha[prev],
                        &mut self.work,
                        &mut self.scaled,
                        &mut self.acc,
                    );
                }
                let alpha = &mut self.alpha[cur.clone()];
                for ((a, &w), &o) in alpha.iter_mut().zip(&self.work).zip(&self.obs[cur]) {
                    *a = w * o;
                }
                let total = sum(alpha);
                if total > 1e-300 && total.is_finite() {
                    let inv = 1.0 / total;
                    alpha.iter_mut().for_each(|v| *v *= inv);
                } else {
                    alpha.fill(0.0);
                    alpha[n] = 1.0;
                }
                self.frames += 1;
                let lag = lag.min(self.max_lag) as u64;
                if t < lag {
                    return None;
                }
                // Backward pass over the last `lag` frames.
                self.beta.fill(1.0);
                for k in (t + 1 - lag..=t).rev() {
                    let o = self.slot(k);
                    for ((g, &ob), &b) in self.work.iter_mut().zip(&self.obs[o]).zip(&self.beta) {
                        *g = ob * b;
                    }
                    self.trans.back(&self.work, &mut self.beta, &mut self.acc);
                    let m = max(&self.beta);
                    if m > 1e-300 && m.is_finite() {
                        self.beta.iter_mut().for_each(|v| *v /= m);
                    } else {
                        self.beta.fill(1.0);
                    }
                }
                let decided = self.slot(t - lag);
                let alpha = &self.alpha[decided];
                for ((g, &a), &b) in self.gamma.iter_mut().zip(alpha).zip(&self.beta) {
                    *g = a * b;
                }
                let mut total = sum(&self.gamma);
                if !(total > 0.0 && total.is_finite()) {
                    self.gamma.fill(0.0);
                    self.gamma[n] = 1.0;
                    total = 1.0;
                }
                let inv = 1.0 / total;
                self.gamma.iter_mut().for_each(|g| *g *= inv);
                let mut best = 0;
                for j in 1..n {
                    if self.gamma[j] > self.gamma[best] {
                        best = j;
                    }
                }
                Some(Posterior {
                    voiced: 1.0 - self.gamma[n],
                    bin: best,
                })
            },
        )
    }

    /// Share of the last posterior's voiced mass within `radius` bins of `bin`.
    pub(crate) fn concentration(&self, bin: usize, radius: usize) -> f64 {
        let n = self.trans.n;
        let voiced = sum(&self.gamma[..n]);
        if voiced <= 0.0 {
            return 0.0;
        }
        let lo = bin.saturating_sub(radius);
        let hi = (bin + radius).min(n - 1);
        (self.gamma[lo..=hi].iter().sum::<f64>() / voiced).min(1.0)
    }
}

/// Lanes of [`sum`] and [`max`]: independent running values, so that each step need not wait
/// for the previous one (one chain over the ~300 states is most of an HMM step otherwise).
const LANES: usize = 8;

/// The sum of `x` over [`LANES`] interleaved partial sums.
#[inline(always)]
fn sum(x: &[f64]) -> f64 {
    crate::simd::sum_lanes::<LANES>(x)
}

/// The largest of `x` and 0 (NaN ignored), over [`LANES`] interleaved running maxima.
#[inline(always)]
fn max(x: &[f64]) -> f64 {
    let mut lanes = [0.0f64; LANES];
    let chunks = x.chunks_exact(LANES);
    let rest = chunks.remainder().iter().fold(0.0, |m: f64, &v| m.max(v));
    for c in chunks {
        for (l, &v) in lanes.iter_mut().zip(c) {
            *l = l.max(v);
        }
    }
    lanes.iter().fold(rest, |m, &v| m.max(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs_at(n: usize, bin: usize, p: f64, scale: f64) -> Vec<f64> {
        let mut o = vec![0.0; n];
        o[bin] = p * scale;
        o
    }

    #[test]
    fn transitions_are_stochastic() {
        let t = Transition::new(40, 5, 0.01, 0.02);
        // Column sums of T (mass out of each state) must be 1: apply Tᵀ to unit vectors.
        for i in [0usize, 3, 20, 39, 40] {
            let mut v = vec![0.0; 41];
            v[i] = 1.0;
            let mut out = vec![0.0; 41];
            t.predict(&v, &mut out, &mut vec![0.0; 40], &mut vec![0.0; 40]);
            let s: f64 = out.iter().sum();
            assert!((s - 1.0).abs() < 1e-12, "state {i}: {s}");
            // And T applied to ones gives ones.
            let ones = vec![1.0; 41];
            t.back(&ones, &mut out, &mut vec![0.0; 40]);
            assert!(out.iter().all(|v| (v - 1.0).abs() < 1e-12));
        }
    }

    #[test]
    fn the_sparse_spread_is_the_banded_triangle() {
        let (n, w) = (50, 4);
        let t = Transition::new(n, w, 0.01, 0.02);
        let mut x = vec![0.0; n];
        for (i, v) in [(0usize, 0.3), (2, 1e-200), (17, 0.5), (18, 0.25), (49, 1.0)] {
            x[i] = v;
        }
        let mut acc = vec![0.0; n];
        t.spread(&x, &mut acc);
        for (j, &a) in acc.iter().enumerate() {
            let direct: f64 = (0..n)
                .filter(|&i| i.abs_diff(j) <= w)
                .map(|i| (w + 1 - i.abs_diff(j)) as f64 * x[i])
                .sum();
            assert!(
                (a - direct).abs() <= 1e-15 * direct,
                "bin {j}: {a} vs {direct}"
            );
        }
    }

    #[test]
    fn steady_evidence_is_followed_and_lag_delays_the_answer() {
        let n = 60;
        let mut hmm = PitchHmm::new(n, 4, 0.01, 0.01, 2);
        for t in 0..10 {
            let p = hmm.push(&obs_at(n, 30, 0.9, n as f64), 0.1, 2);
            if t < 2 {
                assert!(p.is_none());
            } else {
                let p = p.unwrap();
                assert_eq!(p.bin, 30);
                assert!(p.voiced > 0.9);
            }
        }
        // Silence evidence: unvoiced after a few frames.
        let mut last = None;
        for _ in 0..10 {
            last = hmm.push(&vec![0.0; n], 1.0, 2);
        }
        assert!(last.unwrap().voiced < 0.01);
        hmm.reset();
        assert!(hmm.push(&vec![0.0; n], 1.0, 2).is_none());
    }

    #[test]
    fn an_isolated_octave_error_is_smoothed_away() {
        let n = 100;
        let mut hmm = PitchHmm::new(n, 3, 0.01, 0.001, 1);
        let mut bins = vec![];
        for t in 0..20 {
            // Frame 10 prefers the octave (60 bins up) slightly.
            let mut o = obs_at(n, 20, 0.8, n as f64);
            if t == 10 {
                o[20] = 0.35 * n as f64;
                o[80] = 0.45 * n as f64;
            }
            if let Some(p) = hmm.push(&o, 0.2, 1) {
                bins.push(p.bin);
            }
        }
        assert!(bins.iter().all(|&b| b == 20), "{bins:?}");
    }
}
