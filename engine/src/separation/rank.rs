//! Rank filters for the masks: a per-bin sliding percentile across time (each bin's window split
//! at the percentile into two unordered sets, see [`TimePercentile`]), a median across frequency
//! ([`FrequencyMedian`]: neighbouring bins side by side through a [`SelectionNetwork`] of min/max
//! comparators, or for wide filters a sorted window updated in place), and the network itself,
//! which also takes the sustain term's look-ahead median. None allocates after construction.

/// Replaces `old` (which must be present) by `new` in the sorted slice `s`, keeping it sorted:
/// the first value equal to `old` goes, `new` goes after the values below it (or, when it is
/// not above `old`, after the values not above it). Linear scans and shifts in place: for the
/// short windows of the frequency median this beats binary searches and a `memmove` call.
#[inline]
fn replace_sorted(s: &mut [f32], old: f32, new: f32) {
    let mut k = s.iter().position(|&x| !(x < old)).unwrap_or(s.len() - 1);
    if new > old {
        // The values after `k` smaller than `new` move down one place.
        while k + 1 < s.len() && s[k + 1] < new {
            s[k] = s[k + 1];
            k += 1;
        }
    } else {
        // The values before `k` greater than `new` move up one place.
        while k > 0 && s[k - 1] > new {
            s[k] = s[k - 1];
            k -= 1;
        }
    }
    s[k] = new;
}

/// The index of percentile `q` (0 to 100) in a sorted window of `n` values (scipy's
/// `percentile_filter` convention).
pub(crate) fn percentile_rank(q: f32, n: usize) -> usize {
    ((n as f64 * q as f64 / 100.0) as usize).min(n - 1)
}

/// For each of `bins` series, the `q` percentile of its newest `len` values (zeros before the
/// stream starts).
///
/// Per bin, the window is split into a lower set (the `rank + 1` smallest values, unordered)
/// and an upper set (the rest, unordered), with the lower set's maximum (the percentile) and
/// the upper set's minimum cached. A new value replaces the oldest in place; only when it
/// crosses from one side of the percentile to the other are two values swapped between the
/// sets and one extreme rescanned (a branch-free, vectorised pass over one set). The output is
/// the same value a sorted window gives at that rank, at a fraction of the memory traffic.
/// Values must not be NaN (the separator's magnitudes never are).
pub(crate) struct TimePercentile {
    bins: usize,
    len: usize,
    /// Size of the lower set: the percentile's rank plus one.
    low: usize,
    /// `bins x len`: per bin, the lower set in `[0, low)` and the upper set in `[low, len)`.
    vals: Vec<f32>,
    /// `len x bins` (by ring slot, then bin): where each slot's value sits in its bin's `vals`.
    pos: Vec<u16>,
    /// `bins x len`: the ring slot of the value at each position of `vals`.
    slot: Vec<u16>,
    /// Per bin, the lower set's maximum: the percentile.
    max_low: Vec<f32>,
    /// Per bin, the upper set's minimum (+inf when the upper set is empty).
    min_high: Vec<f32>,

    /// The ring slot the next value replaces.
    write: usize,
}

impl TimePercentile {
    pub(crate) fn new(bins: usize, len: usize, q: f32) -> Self {
        let len = len.max(1);
        // Positions are stored in 16 bits; the configuration bounds the window far below this
        // (at most 4 s of history at the shortest hop).
        assert!(len <= 1 << 16, "time percentile window of {len} frames");
        let mut tp = Self {
            bins,
            len,
            low: percentile_rank(q, len) + 1,
            vals: vec![0.0; bins * len],
            pos: vec![0; len * bins],
            slot: vec![0; bins * len],
            max_low: vec![0.0; bins],
            min_high: vec![0.0; bins],
            write: 0,
        };
        tp.reset();
        tp
    }

    /// Pushes one value per bin and writes each bin's percentile over its window to `out`.
    pub(crate) fn push(&mut self, values: &[f32], out: &mut [f32]) {
        let (len, low) = (self.len, self.low);
        let (bins, row) = (self.bins, self.write * self.bins);
        for (b, (&v, o)) in values.iter().zip(out.iter_mut()).enumerate() {
            debug_assert!(!v.is_nan());
            let vals = &mut self.vals[b * len..(b + 1) * len];
            let p = self.pos[row + b] as usize;
            let old = vals[p];
            vals[p] = v;
            let (max_low, min_high) = (&mut self.max_low[b], &mut self.min_high[b]);
            if p < low {
                if v <= *min_high {
                    // Stays in the lower set.
                    if v >= *max_low {
                        *max_low = v;
                    } else if old == *max_low {
                        *max_low = max_of(&vals[..low]);
                    }
                } else {
                    // Crosses up: the upper set's minimum comes down in its place.
                    let q = low + position_of(&vals[low..], *min_high);
                    vals.swap(p, q);
                    let slots = &mut self.slot[b * len..(b + 1) * len];
                    slots.swap(p, q);
                    self.pos[row + b] = q as u16;
                    self.pos[slots[p] as usize * bins + b] = p as u16;
                    *max_low = vals[p];
                    *min_high = min_of(&vals[low..]);
                }
            } else if v >= *max_low {
                // Stays in the upper set.
                if v <= *min_high {
                    *min_high = v;
                } else if old == *min_high {
                    *min_high = min_of(&vals[low..]);
                }
            } else {
                // Crosses down: the lower set's maximum goes up in its place.
                let q = position_of(&vals[..low], *max_low);
                vals.swap(p, q);
                let slots = &mut self.slot[b * len..(b + 1) * len];
                slots.swap(p, q);
                self.pos[row + b] = q as u16;
                self.pos[slots[p] as usize * bins + b] = p as u16;
                *min_high = vals[p];
                *max_low = max_of(&vals[..low]);
            }
            *o = *max_low;
        }
        self.write = (self.write + 1) % len;
    }

    pub(crate) fn reset(&mut self) {
        self.vals.fill(0.0);
        for w in 0..self.len {
            self.pos[w * self.bins..(w + 1) * self.bins].fill(w as u16);
        }
        for s in self.slot.chunks_exact_mut(self.len) {
            for (i, x) in s.iter_mut().enumerate() {
                *x = i as u16;
            }
        }
        self.max_low.fill(0.0);
        let empty = if self.low == self.len {
            f32::INFINITY
        } else {
            0.0
        };
        self.min_high.fill(empty);
        self.write = 0;
    }
}

/// Lanes of the vectorised scans.
pub(crate) const LANES: usize = 8;

/// The largest value of `s` (non-empty, no NaN), in independent lanes so that it vectorises.
#[inline]
fn max_of(s: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; LANES];
    let chunks = s.chunks_exact(LANES);
    let mut m = f32::NEG_INFINITY;
    for &x in chunks.remainder() {
        m = if x > m { x } else { m };
    }
    for c in chunks {
        for (a, &x) in acc.iter_mut().zip(c) {
            *a = if x > *a { x } else { *a };
        }
    }
    acc.iter().fold(m, |m, &x| if x > m { x } else { m })
}

/// The smallest value of `s` (non-empty, no NaN), as [`max_of`].
#[inline]
fn min_of(s: &[f32]) -> f32 {
    let mut acc = [f32::INFINITY; LANES];
    let chunks = s.chunks_exact(LANES);
    let mut m = f32::INFINITY;
    for &x in chunks.remainder() {
        m = if x < m { x } else { m };
    }
    for c in chunks {
        for (a, &x) in acc.iter_mut().zip(c) {
            *a = if x < *a { x } else { *a };
        }
    }
    acc.iter().fold(m, |m, &x| if x < m { x } else { m })
}

/// The index of the first value equal to `x` in `s` (which holds one): whole groups of
/// [`LANES`] compared at once (vectorised), then the match within the group.
#[inline]
fn position_of(s: &[f32], x: f32) -> usize {
    let chunks = s.chunks_exact(LANES);
    let tail = s.len() - chunks.remainder().len();
    let mut start = tail;
    for (i, c) in chunks.enumerate() {
        if c.iter().fold(false, |any, &y| any | (y == x)) {
            start = i * LANES;
            break;
        }
    }
    let i = s[start..].iter().position(|&y| y == x);
    debug_assert!(i.is_some());
    start + i.unwrap_or(0)
}

/// Values processed side by side by a [`SelectionNetwork`]: plain arrays the compiler turns into
/// vector instructions.
pub(crate) type Lanes = [f32; LANES];

/// Widest input a [`SelectionNetwork`] takes (its registers are a fixed array of 256, so that
/// `u8` indices need no bounds checks).
pub(crate) const NETWORK_MAX: usize = 128;
/// The register that takes the unused half of a comparator.
const TRASH: u8 = NETWORK_MAX as u8;

/// One comparator: the minimum of registers `a` and `b` goes to `lo`, the maximum to `hi`
/// (either may be [`TRASH`] when nothing downstream reads it).
#[derive(Clone, Copy)]
struct Comparator {
    a: u8,
    b: u8,
    lo: u8,
    hi: u8,
}

/// The value of one rank among `n` values, [`LANES`] independent selections at a time: Batcher's
/// odd-even merge sorting network for `n` inputs, pruned to the comparators the output rank
/// depends on. Min/max only, without branches, so it vectorises; the result is exactly the
/// value a sort puts at that rank (values must not be NaN).
pub(crate) struct SelectionNetwork {
    n: usize,
    rank: usize,
    comparators: Vec<Comparator>,
    registers: Box<[Lanes; 256]>,
}

impl SelectionNetwork {
    /// The network selecting rank `rank` (0 = smallest) of `n` values, or `None` when `n` is
    /// above [`NETWORK_MAX`].
    pub(crate) fn new(n: usize, rank: usize) -> Option<Self> {
        if n == 0 || n > NETWORK_MAX || rank >= n {
            return None;
        }
        // Batcher's odd-even merge sort for any `n` (Knuth, TAOCP 5.3.4, exercise 12 form).
        let mut sort = Vec::new();
        let mut p = 1;
        while p < n {
            let mut k = p;
            while k >= 1 {
                let mut j = k % p;
                while j + k < n {
                    for i in 0..k.min(n - j - k) {
                        if (i + j) / (2 * p) == (i + j + k) / (2 * p) {
                            sort.push((i + j, i + j + k));
                        }
                    }
                    j += 2 * k;
                }
                k /= 2;
            }
            p *= 2;
        }
        // Backwards from the output: keep what a live register depends on.
        let mut live = [false; NETWORK_MAX];
        live[rank] = true;
        let mut comparators = Vec::new();
        for &(a, b) in sort.iter().rev() {
            if !live[a] && !live[b] {
                continue;
            }
            comparators.push(Comparator {
                a: a as u8,
                b: b as u8,
                lo: if live[a] { a as u8 } else { TRASH },
                hi: if live[b] { b as u8 } else { TRASH },
            });
            live[a] = true;
            live[b] = true;
        }
        comparators.reverse();
        Some(Self {
            n,
            rank,
            comparators,
            registers: Box::new([[0.0; LANES]; 256]),
        })
    }

    /// The `n` inputs: fill `inputs()[k]` with lane values, then call [`select`](Self::select).
    #[inline]
    pub(crate) fn inputs(&mut self) -> &mut [Lanes] {
        &mut self.registers[..self.n]
    }

    /// The selected rank in each lane (the inputs are left permuted).
    #[inline]
    pub(crate) fn select(&mut self) -> Lanes {
        let r = &mut *self.registers;
        for c in &self.comparators {
            let (x, y) = (r[c.a as usize], r[c.b as usize]);
            let mut lo = [0.0; LANES];
            let mut hi = [0.0; LANES];
            for l in 0..LANES {
                // `<` and `>` without NaN: the exact inputs, as `minps`/`maxps` compute them.
                lo[l] = if x[l] < y[l] { x[l] } else { y[l] };
                hi[l] = if x[l] > y[l] { x[l] } else { y[l] };
            }
            r[c.lo as usize] = lo;
            r[c.hi as usize] = hi;
        }
        r[self.rank]
    }
}

/// Widest frequency median computed by a [`SelectionNetwork`]: beyond, its comparators per bin
/// (growing as `w log^2 w`) cost more than a sorted window's shifts (growing as `w`).
const FREQUENCY_NETWORK_MAX: usize = 31;

/// The median across frequency over `width` bins (odd), edges reflected (`d c b a | a b c d`,
/// as scipy's `reflect` mode). Up to [`FREQUENCY_NETWORK_MAX`] bins wide, [`LANES`] neighbouring
/// bins at a time through a [`SelectionNetwork`]; wider, through a sorted window updated in
/// place.
pub(crate) struct FrequencyMedian {
    width: usize,
    /// The input with its reflected edges, `bins + width - 1`, then `LANES` spare values.
    padded: Vec<f32>,
    /// The window, sorted (wide filters).
    sorted: Vec<f32>,
    network: Option<SelectionNetwork>,
}

impl FrequencyMedian {
    pub(crate) fn new(bins: usize, width: usize) -> Self {
        // Reflection needs the half-width to fit in the spectrum.
        let width = (width.min(2 * (bins / 2) - 1)) | 1;
        Self {
            width,
            padded: vec![0.0; bins + width - 1 + LANES],
            sorted: vec![0.0; width],
            network: (width <= FREQUENCY_NETWORK_MAX)
                .then(|| SelectionNetwork::new(width, width / 2))
                .flatten(),
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
        if let Some(net) = &mut self.network {
            // Lane `l` of input `k` is bin `i + l`'s window value `k`.
            for (i, o) in (0..n).step_by(LANES).zip(out[..n].chunks_mut(LANES)) {
                for (k, r) in net.inputs().iter_mut().enumerate() {
                    r.copy_from_slice(&self.padded[i + k..i + k + LANES]);
                }
                let m = net.select();
                if o.len() == LANES {
                    o.copy_from_slice(&m);
                } else {
                    o.copy_from_slice(&m[..o.len()]);
                }
            }
            return;
        }
        self.sorted.copy_from_slice(&self.padded[..w]);
        self.sorted
            .sort_unstable_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
        out[0] = self.sorted[half];
        for (i, o) in out[..n].iter_mut().enumerate().skip(1) {
            replace_sorted(&mut self.sorted, self.padded[i - 1], self.padded[i - 1 + w]);
            *o = self.sorted[half];
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

    /// A small deterministic generator (xorshift64) for the randomised cases.
    fn xorshift(mut state: u64) -> impl FnMut() -> u64 {
        move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        }
    }

    #[test]
    fn time_percentile_matches_a_sort_for_any_window_and_percentile() {
        // A small generator: runs of ties, zeros, jumps up and down, so that values cross the
        // percentile in both directions and the extremes are replaced while tied.
        let mut next = xorshift(0x2545_f491_4f6c_dd1d);
        for &(len, q) in &[
            (1, 50.0),
            (2, 70.0),
            (3, 99.0),
            (8, 1.0),
            (17, 50.0),
            (40, 70.0),
        ] {
            let bins = 5;
            let mut tp = TimePercentile::new(bins, len, q);
            for round in 0..2 {
                let mut history: Vec<Vec<f32>> = vec![vec![0.0; len]; bins];
                let mut out = vec![0.0; bins];
                for t in 0..300 {
                    let v: Vec<f32> = (0..bins)
                        .map(|b| match (next() % 4, b) {
                            (_, 0) => 0.0,
                            (0, _) => (next() % 4) as f32,
                            (1, _) => (next() % 1000) as f32 * 0.01,
                            _ => (t % 7) as f32,
                        })
                        .collect();
                    tp.push(&v, &mut out);
                    for b in 0..bins {
                        history[b].remove(0);
                        history[b].push(v[b]);
                        let want = percentile_naive(&history[b], q);
                        assert_eq!(out[b], want, "len {len} q {q} round {round} t {t} b {b}");
                    }
                }
                tp.reset();
            }
        }
    }

    #[test]
    fn selection_networks_match_a_sort_for_every_rank() {
        // Zero-one principle: a comparator network selects correctly for all inputs if it does
        // for all inputs of zeros and ones; exhaustive up to 13 inputs, random beyond.
        let mut next = xorshift(0x9e37_79b9_7f4a_7c15);
        for n in 1..=NETWORK_MAX {
            for rank in [0, n / 2, n - 1, (n / 3).min(n - 1)] {
                let mut net = SelectionNetwork::new(n, rank).unwrap();
                let cases: Vec<u64> = if n <= 13 {
                    (0..1u64 << n).collect()
                } else {
                    (0..64).map(|_| next()).collect()
                };
                for group in cases.chunks(LANES) {
                    let mut columns = vec![vec![0.0f32; n]; LANES];
                    for (column, &bits) in columns.iter_mut().zip(group) {
                        for (k, x) in column.iter_mut().enumerate() {
                            *x = if n <= 13 {
                                ((bits >> k) & 1) as f32
                            } else {
                                (next() % 50) as f32
                            };
                        }
                    }
                    for (k, r) in net.inputs().iter_mut().enumerate() {
                        for l in 0..LANES {
                            r[l] = columns[l][k];
                        }
                    }
                    let got = net.select();
                    for l in 0..group.len() {
                        columns[l].sort_by(|a, b| a.partial_cmp(b).unwrap());
                        assert_eq!(got[l], columns[l][rank], "n {n} rank {rank}");
                    }
                }
            }
        }
        assert!(SelectionNetwork::new(NETWORK_MAX + 1, 0).is_none());
    }

    #[test]
    fn frequency_median_matches_a_sort_with_reflected_edges() {
        // Up to `FREQUENCY_NETWORK_MAX` bins the selection network, wider the sorted window.
        let n = 150i32;
        for (width, modulus) in [
            (31, 1000),
            (33, 7),
            (101, 1000),
            (5, 13),
            (5, 3),
            (13, 7),
            (15, 7),
            (15, 1000),
            (1, 5),
            (39, 4),
            (39, 1000),
        ] {
            let x: Vec<f32> = (0..n)
                .map(|i| ((i as usize * 7919) % modulus) as f32)
                .collect();
            let mut fm = FrequencyMedian::new(x.len(), width);
            let mut out = vec![0.0; x.len()];
            fm.apply(&x, &mut out);
            let half = width as i32 / 2;
            for i in 0..n {
                let mut w: Vec<f32> = (-half..=half)
                    .map(|d| {
                        let j = i + d;
                        let j = if j < 0 {
                            -j - 1
                        } else if j >= n {
                            2 * n - 1 - j
                        } else {
                            j
                        };
                        x[j as usize]
                    })
                    .collect();
                w.sort_by(|a, b| a.partial_cmp(b).unwrap());
                assert_eq!(out[i as usize], w[half as usize], "width {width} bin {i}");
            }
        }
    }
}
