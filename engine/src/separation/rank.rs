//! Rank filters for the masks: a per-bin sliding percentile across time, and a median across
//! frequency. Both keep sorted windows updated in place (one removal and one insertion per
//! step), so a frame costs `O(bins * window)` moves at worst and allocates nothing.

/// Replaces `old` (which must be present) by `new` in the sorted slice `s`, keeping it sorted:
/// two binary searches and one block move (a `memmove`), not a compare per element.
#[inline]
fn replace_sorted(s: &mut [f32], old: f32, new: f32) {
    let i = s.partition_point(|&x| x < old);
    debug_assert!(i < s.len());
    if new > old {
        // The values after `i` smaller than `new` move down one place.
        let j = i + 1 + s[i + 1..].partition_point(|&x| x < new);
        s.copy_within(i + 1..j, i);
        s[j - 1] = new;
    } else {
        // The values before `i` greater than `new` move up one place.
        let j = s[..i].partition_point(|&x| x <= new);
        s.copy_within(j..i, j + 1);
        s[j] = new;
    }
}

/// The index of percentile `q` (0 to 100) in a sorted window of `n` values (scipy's
/// `percentile_filter` convention).
pub(crate) fn percentile_rank(q: f32, n: usize) -> usize {
    ((n as f64 * q as f64 / 100.0) as usize).min(n - 1)
}

/// For each of `bins` series, the `q` percentile of its newest `len` values (zeros before the
/// stream starts).
pub(crate) struct TimePercentile {
    len: usize,
    rank: usize,
    /// `bins x len`, in arrival order (ring).
    ring: Vec<f32>,
    /// `bins x len`, sorted per bin.
    sorted: Vec<f32>,
    write: usize,
}

impl TimePercentile {
    pub(crate) fn new(bins: usize, len: usize, q: f32) -> Self {
        let len = len.max(1);
        Self {
            len,
            rank: percentile_rank(q, len),
            ring: vec![0.0; bins * len],
            sorted: vec![0.0; bins * len],
            write: 0,
        }
    }

    /// Pushes one value per bin and writes each bin's percentile over its window to `out`.
    pub(crate) fn push(&mut self, values: &[f32], out: &mut [f32]) {
        let len = self.len;
        for (b, (&v, o)) in values.iter().zip(out.iter_mut()).enumerate() {
            let slot = &mut self.ring[b * len + self.write];
            let old = *slot;
            *slot = v;
            let sorted = &mut self.sorted[b * len..(b + 1) * len];
            replace_sorted(sorted, old, v);
            *o = sorted[self.rank];
        }
        self.write = (self.write + 1) % len;
    }

    pub(crate) fn reset(&mut self) {
        self.ring.fill(0.0);
        self.sorted.fill(0.0);
        self.write = 0;
    }
}

/// The median across frequency over `width` bins (odd), edges reflected (`d c b a | a b c d`,
/// as scipy's `reflect` mode).
pub(crate) struct FrequencyMedian {
    width: usize,
    /// The input with its reflected edges, `bins + width - 1`.
    padded: Vec<f32>,
    sorted: Vec<f32>,
}

impl FrequencyMedian {
    pub(crate) fn new(bins: usize, width: usize) -> Self {
        // Reflection needs the half-width to fit in the spectrum.
        let width = (width.min(2 * (bins / 2) - 1)) | 1;
        Self {
            width,
            padded: vec![0.0; bins + width - 1],
            sorted: vec![0.0; width],
        }
    }

    /// Writes the median-filtered `x` to `out`.
    pub(crate) fn apply(&mut self, x: &[f32], out: &mut [f32]) {
        let n = x.len();
        let half = self.width / 2;
        for i in 0..half {
            self.padded[half - 1 - i] = x[i];
            self.padded[half + n + i] = x[n - 1 - i];
        }
        self.padded[half..half + n].copy_from_slice(x);
        let w = self.width;
        self.sorted.copy_from_slice(&self.padded[..w]);
        self.sorted
            .sort_unstable_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
        out[0] = self.sorted[half];
        for i in 1..n {
            replace_sorted(&mut self.sorted, self.padded[i - 1], self.padded[i - 1 + w]);
            out[i] = self.sorted[half];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn percentile_naive(xs: &[f32], q: f32) -> f32 {
        let mut v = xs.to_vec();
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        v[percentile_rank(q, v.len())]
    }

    #[test]
    fn time_percentile_matches_a_sort() {
        let (bins, len) = (3, 7);
        let mut tp = TimePercentile::new(bins, len, 75.0);
        let mut history: Vec<Vec<f32>> = vec![vec![0.0; len]; bins];
        let mut out = vec![0.0; bins];
        for t in 0..40 {
            let v: Vec<f32> = (0..bins)
                .map(|b| (((t * 7 + b * 13) % 11) as f32) * 0.5)
                .collect();
            tp.push(&v, &mut out);
            for b in 0..bins {
                history[b].remove(0);
                history[b].push(v[b]);
                assert_eq!(out[b], percentile_naive(&history[b], 75.0));
            }
        }
    }

    #[test]
    fn frequency_median_matches_a_sort_with_reflected_edges() {
        let x: Vec<f32> = (0..20).map(|i| ((i * 7919) % 13) as f32).collect();
        let mut fm = FrequencyMedian::new(x.len(), 5);
        let mut out = vec![0.0; x.len()];
        fm.apply(&x, &mut out);
        for i in 0..x.len() {
            let w: Vec<f32> = (-2i32..=2)
                .map(|d| {
                    let j = i as i32 + d;
                    let j = if j < 0 {
                        -j - 1
                    } else if j >= 20 {
                        39 - j
                    } else {
                        j
                    };
                    x[j as usize]
                })
                .collect();
            let mut s = w.clone();
            s.sort_by(|a, b| a.partial_cmp(b).unwrap());
            assert_eq!(out[i], s[2], "bin {i}");
        }
    }
}
