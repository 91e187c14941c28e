//! Rank filters for the masks: a per-bin sliding percentile across time (a histogram of
//! logarithmic levels per bin, see [`TimePercentile`]), a median across frequency
//! ([`FrequencyMedian`]: neighbouring bins side by side through a [`SelectionNetwork`] of min/max
//! comparators, or for wide filters a sorted window updated in place), and the network itself,
//! which also takes the sustain term's look-ahead median. None allocates after construction.

/// Replaces `old` (which must be present) by `new` in the sorted slice `s`, keeping it sorted:
/// the first value equal to `old` goes, `new` goes after the values below it (or, when it is
/// not above `old`, after the values not above it). Linear scans and shifts in place: for the
/// short windows of the frequency median this beats binary searches and a `memmove` call.
#[inline]
fn replace_sorted(s: &mut [f32], old: f32, new: f32) {
    // "Not below": the scan also stops at a NaN, as `>=` would not.
    #[allow(clippy::neg_cmp_op_on_partial_ord)]
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

/// Right shift of a magnitude's bit pattern to its level: keeps the exponent and the top five
/// mantissa bits, 32 levels per octave (each at most 3.1 % wide, 0.27 dB).
const LEVEL_SHIFT: u32 = 18;
/// Levels per octave.
const LEVELS_PER_OCTAVE: i32 = 1 << (23 - LEVEL_SHIFT);
/// Values below `2^FLOOR_EXP` fall into level 0, which reads as zero: far below anything
/// audible at the separator's magnitude scale (a full-scale sine reads a few hundred).
const FLOOR_EXP: i32 = -24;
/// Values from `2^CEIL_EXP` up share the top level (44 dB above a full-scale sine).
const CEIL_EXP: i32 = 16;
/// Levels: zero, then `LEVELS_PER_OCTAVE` per octave from `2^FLOOR_EXP` to `2^CEIL_EXP`.
const LEVELS: usize = ((CEIL_EXP - FLOOR_EXP) * LEVELS_PER_OCTAVE) as usize + 1;
/// The level code (bit pattern shifted by `LEVEL_SHIFT`) of `2^FLOOR_EXP`.
const FLOOR_CODE: i32 = (127 + FLOOR_EXP) * LEVELS_PER_OCTAVE;

/// The level of magnitude `v` (not NaN; the sign is ignored): 0 below `2^FLOOR_EXP`, then one
/// level per step of the exponent and the top mantissa bits, which orders levels as values.
#[inline]
fn level_of(v: f32) -> usize {
    let code = ((v.to_bits() & 0x7fff_ffff) >> LEVEL_SHIFT) as i32;
    (code - FLOOR_CODE + 1).clamp(0, LEVELS as i32 - 1) as usize
}

/// A value inside `level` (at least 1), `frac` (in `0..1`) of the way through it, linear in
/// the mantissa.
#[inline]
fn value_in(level: usize, frac: f32) -> f32 {
    let base = ((level as i32 - 1 + FLOOR_CODE) as u32) << LEVEL_SHIFT;
    let step = (frac * (1u32 << LEVEL_SHIFT) as f32) as u32;
    f32::from_bits(base + step.min((1 << LEVEL_SHIFT) - 1))
}

/// Bins ahead whose counts [`TimePercentile::push`] prefetches.
const PREFETCH_AHEAD: usize = 8;

/// Hints the processor to fetch `p`'s cache line; no effect on results (any address is
/// allowed, none is dereferenced).
#[inline(always)]
fn prefetch(p: *const u16) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: SSE is part of the x86-64 baseline, and a prefetch never faults nor
        // dereferences its address.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(p.cast()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// For each of `bins` series of magnitudes, the `q` percentile of its newest `len` values
/// (zeros before the stream starts), to within a 32nd of an octave.
///
/// Per bin, a histogram counts the window's values on a logarithmic grid of levels (see
/// [`level_of`]), and the level holding the percentile's rank is tracked with the number of
/// values below it. A new value replaces the oldest: two counts change and the tracked level
/// moves to its neighbours until the rank is inside it again, usually not at all or by a few
/// levels. The output is the value that many ranks into that level, spread evenly across it:
/// it lies in the same level as the exact percentile (at most 3.1 % from it, 0.27 dB), and
/// below `2^FLOOR_EXP` it is zero. Per value this touches a few cache lines, where the sorted
/// or split windows of an exact filter move and rescan large parts of the window.
pub(crate) struct TimePercentile {
    bins: usize,
    len: usize,
    /// The percentile's rank in the sorted window.
    rank: u32,
    /// `len x bins` (by ring slot, then bin): each value's level.
    ring: Vec<u16>,
    /// `bins x LEVELS`: per bin, how many of the window's values sit at each level.
    counts: Vec<u16>,
    /// Per bin, the level holding the percentile.
    level: Vec<u16>,
    /// Per bin, how many of the window's values sit below `level`.
    below: Vec<u16>,
    /// `1 / n` for each count `n` up to `len` (a multiplication where a division would stall).
    reciprocal: Vec<f32>,
    /// The ring slot the next value replaces.
    write: usize,
}

impl TimePercentile {
    pub(crate) fn new(bins: usize, len: usize, q: f32) -> Self {
        let len = len.max(1);
        // Counts are stored in 16 bits; the configuration bounds the window far below this
        // (at most 4 s of history at the shortest hop).
        assert!(len < 1 << 16, "time percentile window of {len} frames");
        let mut tp = Self {
            bins,
            len,
            rank: percentile_rank(q, len) as u32,
            ring: vec![0; len * bins],
            counts: vec![0; bins * LEVELS],
            level: vec![0; bins],
            below: vec![0; bins],
            reciprocal: (0..=len).map(|n| 1.0 / n.max(1) as f32).collect(),
            write: 0,
        };
        tp.reset();
        tp
    }

    /// Pushes one value per bin and writes each bin's percentile over its window to `out`.
    pub(crate) fn push(&mut self, values: &[f32], out: &mut [f32]) {
        let rank = self.rank;
        let bins = self.bins;
        let row = &mut self.ring[self.write * bins..(self.write + 1) * bins];
        let counts = &mut self.counts[..bins * LEVELS];
        let (levels, belows) = (&mut self.level[..bins], &mut self.below[..bins]);
        let (values, out) = (&values[..bins], &mut out[..bins]);
        for b in 0..bins {
            // The histograms are far apart (they do not fit in L2 together): ask for the counts
            // a later bin will change, so that their misses overlap this bin's work.
            if let Some(&v) = values.get(b + PREFETCH_AHEAD) {
                let base = (b + PREFETCH_AHEAD) * LEVELS;
                prefetch(counts.as_ptr().wrapping_add(base + level_of(v)));
                prefetch(
                    counts
                        .as_ptr()
                        .wrapping_add(base + row[b + PREFETCH_AHEAD] as usize),
                );
            }
            let v = values[b];
            debug_assert!(!v.is_nan());
            let counts = &mut counts[b * LEVELS..(b + 1) * LEVELS];
            let new = level_of(v);
            let old = row[b] as usize;
            let (mut at, mut under) = (levels[b] as usize, belows[b] as u32);
            if new != old {
                row[b] = new as u16;
                counts[old] -= 1;
                counts[new] += 1;
                under = under + u32::from(new < at) - u32::from(old < at);
                // Down while the rank is below the level, up while it is past it.
                while under > rank {
                    at -= 1;
                    under -= u32::from(counts[at]);
                }
                while under + u32::from(counts[at]) <= rank {
                    under += u32::from(counts[at]);
                    at += 1;
                }
                levels[b] = at as u16;
                belows[b] = under as u16;
            }
            out[b] = if at == 0 {
                0.0
            } else {
                let frac = (rank - under) as f32 + 0.5;
                value_in(at, frac * self.reciprocal[usize::from(counts[at])])
            };
        }
        self.write = (self.write + 1) % self.len;
    }

    pub(crate) fn reset(&mut self) {
        self.ring.fill(0);
        self.counts.fill(0);
        for counts in self.counts.chunks_exact_mut(LEVELS) {
            counts[0] = self.len as u16;
        }
        self.level.fill(0);
        self.below.fill(0);
        self.write = 0;
    }
}

/// Lanes of the vectorised scans.
pub(crate) const LANES: usize = 8;

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
    /// The same network compiled for its size, when it is one the defaults use (see [`Fixed`]).
    fixed: Option<Fixed>,
}

impl SelectionNetwork {
    /// The network selecting rank `rank` (0 = smallest) of `n` values, or `None` when `n` is
    /// above [`NETWORK_MAX`].
    pub(crate) fn new(n: usize, rank: usize) -> Option<Self> {
        Self::with_ranks(n, &[rank])
    }

    /// The network selecting each of `ranks` (the first is what [`select`](Self::select)
    /// returns; all are read with [`rank`](Self::rank) after it), or `None` when `n` is above
    /// [`NETWORK_MAX`] or a rank is out of range.
    pub(crate) fn with_ranks(n: usize, ranks: &[usize]) -> Option<Self> {
        if n == 0 || n > NETWORK_MAX || ranks.is_empty() || ranks.iter().any(|&r| r >= n) {
            return None;
        }
        let rank = ranks[0];
        // Backwards from the output: keep what a live register depends on.
        let mut live = [false; NETWORK_MAX];
        for &r in ranks {
            live[r] = true;
        }
        let mut comparators = Vec::new();
        for &(a, b) in batcher(n).iter().rev() {
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
            fixed: Fixed::for_ranks(n, ranks),
        })
    }

    /// The `n` inputs: fill `inputs()[k]` with lane values, then call [`select`](Self::select).
    #[inline]
    pub(crate) fn inputs(&mut self) -> &mut [Lanes] {
        &mut self.registers[..self.n]
    }

    /// The value at `rank` (one of those the network was built for) in each lane, after
    /// [`select`](Self::select) or [`select_from`](Self::select_from).
    #[inline]
    pub(crate) fn rank(&self, rank: usize) -> Lanes {
        self.registers[rank]
    }

    /// The selected rank in each lane, by the comparators in turn on the inputs in place (the
    /// other inputs are left in no particular order). The compiled networks give the same
    /// values through [`select_from`](Self::select_from).
    #[inline(always)]
    pub(crate) fn select(&mut self) -> Lanes {
        let r = &mut *self.registers;
        for c in &self.comparators {
            let (lo, hi) = compare(r[c.a as usize], r[c.b as usize]);
            r[c.lo as usize] = lo;
            r[c.hi as usize] = hi;
        }
        r[self.rank]
    }

    /// [`select`](Self::select) on the inputs `input(k)`, `k` in `0..n` (each called once, in
    /// order): a compiled network (see [`Fixed`]) takes them straight into its local variables.
    #[inline(always)]
    pub(crate) fn select_from(&mut self, mut input: impl FnMut(usize) -> Lanes) -> Lanes {
        let Some(fixed) = self.fixed else {
            for (k, r) in self.inputs().iter_mut().enumerate() {
                *r = input(k);
            }
            return self.select();
        };
        let r = &mut *self.registers;
        // The inputs in local variables (written out: `std::array::from_fn` leaves the calls to
        // `input` out of line), the network, the ranks written back.
        macro_rules! read {
            ($($k:literal)*) => {
                [$(input($k)),*]
            };
        }
        match fixed {
            Fixed::Median7 => {
                let mut x = read!(0 1 2 3 4 5 6);
                median7(&mut x);
                r[3] = x[3];
            }
            Fixed::Middle10 => {
                let mut x = read!(0 1 2 3 4 5 6 7 8 9);
                sort10(&mut x);
                (r[4], r[5]) = (x[4], x[5]);
            }
            Fixed::Middle12 => {
                let mut x = read!(0 1 2 3 4 5 6 7 8 9 10 11);
                sort12(&mut x);
                (r[5], r[6]) = (x[5], x[6]);
            }
        }
        r[self.rank]
    }
}

/// The minimum and the maximum of `x` and `y`, lane by lane.
#[inline(always)]
fn compare(x: Lanes, y: Lanes) -> (Lanes, Lanes) {
    let mut lo = [0.0; LANES];
    let mut hi = [0.0; LANES];
    for l in 0..LANES {
        // `<` and `>` without NaN: the exact inputs, as `minps`/`maxps` compute them.
        lo[l] = if x[l] < y[l] { x[l] } else { y[l] };
        hi[l] = if x[l] > y[l] { x[l] } else { y[l] };
    }
    (lo, hi)
}

/// The comparators of Batcher's odd-even merge sort for `n` inputs (Knuth, TAOCP 5.3.4,
/// exercise 12 form), in order: `(a, b)` puts the minimum in `a` and the maximum in `b`.
fn batcher(n: usize) -> Vec<(usize, usize)> {
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
    sort
}

/// The selections the default settings make, as networks compiled for their size: the
/// sustain term's median of 7 frames (6 frames of look-ahead) and the frequency median's two
/// middle ranks of 10 or 12 shared values (11 or 13 bins wide: 350 Hz at 48 or 44.1 kHz). The
/// interpreted network loads, compares and stores two vectors of registers per comparator; a
/// compiled one keeps the registers in vector registers, two instructions per comparator, the
/// comparators the selected ranks do not depend on dropped by the compiler. Same comparators,
/// so the same values.
#[derive(Clone, Copy)]
enum Fixed {
    Median7,
    Middle10,
    Middle12,
}

impl Fixed {
    fn for_ranks(n: usize, ranks: &[usize]) -> Option<Self> {
        match (n, ranks) {
            (7, [3]) => Some(Self::Median7),
            (10, [4, 5]) => Some(Self::Middle10),
            (12, [5, 6]) => Some(Self::Middle12),
            _ => None,
        }
    }
}

/// A compiled network: `fn name(x: &mut [Lanes; n])` applying the listed comparators in order,
/// and `const LIST: [(usize, usize); _]` for the test that they are [`batcher`]'s.
macro_rules! fixed_network {
    ($name:ident, $list:ident, $n:literal, [$(($a:literal, $b:literal)),* $(,)?]) => {
        #[inline(always)]
        fn $name(x: &mut [Lanes; $n]) {
            $(
                (x[$a], x[$b]) = compare(x[$a], x[$b]);
            )*
        }
        #[cfg(test)]
        const $list: &[(usize, usize)] = &[$(($a, $b)),*];
    };
}

#[rustfmt::skip]
fixed_network!(
    median7,
    MEDIAN7,
    7,
    [
        (0, 1), (2, 3), (4, 5), (0, 2), (1, 3), (4, 6), (1, 2), (5, 6),
        (0, 4), (1, 5), (2, 6), (2, 4), (3, 5), (1, 2), (3, 4), (5, 6),
    ]
);

#[rustfmt::skip]
fixed_network!(
    sort10,
    SORT10,
    10,
    [
        (0, 1), (2, 3), (4, 5), (6, 7), (8, 9), (0, 2), (1, 3), (4, 6),
        (5, 7), (1, 2), (5, 6), (0, 4), (1, 5), (2, 6), (3, 7), (2, 4),
        (3, 5), (1, 2), (3, 4), (5, 6), (0, 8), (1, 9), (4, 8), (5, 9),
        (2, 4), (3, 5), (6, 8), (7, 9), (1, 2), (3, 4), (5, 6), (7, 8),
    ]
);

#[rustfmt::skip]
fixed_network!(
    sort12,
    SORT12,
    12,
    [
        (0, 1), (2, 3), (4, 5), (6, 7), (8, 9), (10, 11), (0, 2), (1, 3),
        (4, 6), (5, 7), (8, 10), (9, 11), (1, 2), (5, 6), (9, 10), (0, 4),
        (1, 5), (2, 6), (3, 7), (2, 4), (3, 5), (1, 2), (3, 4), (5, 6),
        (9, 10), (0, 8), (1, 9), (2, 10), (3, 11), (4, 8), (5, 9), (6, 10),
        (7, 11), (2, 4), (3, 5), (6, 8), (7, 9), (1, 2), (3, 4), (5, 6),
        (7, 8), (9, 10),
    ]
);

/// Widest frequency median computed by a [`SelectionNetwork`]: beyond, its comparators per bin
/// (growing as `w log^2 w`) cost more than a sorted window's shifts (growing as `w`).
const FREQUENCY_NETWORK_MAX: usize = 31;

/// The median across frequency over `width` bins (odd), edges reflected (`d c b a | a b c d`,
/// as scipy's `reflect` mode).
///
/// Up to [`FREQUENCY_NETWORK_MAX`] bins wide, two neighbouring bins at a time: their windows
/// share `width - 1` values, of which a [`SelectionNetwork`] takes the two middle ranks `lo`
/// and `hi`, and each bin's median is then its own extra value clamped to `lo..=hi`. That is
/// half the comparators of a network per bin. The network runs [`LANES`] pairs side by side, on
/// the input split into its even and odd positions so that every lane loads contiguously.
/// Wider, through a sorted window updated in place.
pub(crate) struct FrequencyMedian {
    width: usize,
    /// The input with its reflected edges, `bins + width - 1`, then zeros up to whole groups.
    padded: Vec<f32>,
    /// `padded` at its even and at its odd positions.
    even: Vec<f32>,
    odd: Vec<f32>,
    /// The medians of the even and of the odd bins.
    out_even: Vec<f32>,
    out_odd: Vec<f32>,
    /// The window, sorted (wide filters).
    sorted: Vec<f32>,
    /// Ranks `width / 2 - 1` and `width / 2` of the `width - 1` values a pair shares.
    network: Option<SelectionNetwork>,
}

impl FrequencyMedian {
    pub(crate) fn new(bins: usize, width: usize) -> Self {
        // Reflection needs the half-width to fit in the spectrum.
        let width = (width.min(2 * (bins / 2) - 1)) | 1;
        let half = width / 2;
        let pairs = bins.div_ceil(2).next_multiple_of(LANES);
        Self {
            width,
            padded: vec![0.0; 2 * pairs + width + 1],
            even: vec![0.0; pairs + half + 1],
            odd: vec![0.0; pairs + half + 1],
            out_even: vec![0.0; pairs],
            out_odd: vec![0.0; pairs],
            sorted: vec![0.0; width],
            network: (width > 1 && width <= FREQUENCY_NETWORK_MAX)
                .then(|| SelectionNetwork::with_ranks(width - 1, &[half - 1, half]))
                .flatten(),
        }
    }

    /// Writes the median-filtered `x` to `out`.
    #[inline(always)]
    pub(crate) fn apply(&mut self, x: &[f32], out: &mut [f32]) {
        let n = x.len();
        let (w, half) = (self.width, self.width / 2);
        if w == 1 {
            out[..n].copy_from_slice(x);
            return;
        }
        for i in 0..half {
            self.padded[half - 1 - i] = x[i];
            self.padded[half + n + i] = x[n - 1 - i];
        }
        self.padded[half..half + n].copy_from_slice(x);
        if let Some(net) = &mut self.network {
            for ((e, o), p) in self
                .even
                .iter_mut()
                .zip(self.odd.iter_mut())
                .zip(self.padded.chunks_exact(2))
            {
                *e = p[0];
                *o = p[1];
            }
            // Pair `p` is bins `2p` and `2p + 1`: bin `2p`'s window is `padded[2p..2p + w]`,
            // the shared values `padded[2p + 1..2p + w]`, the extras `padded[2p]` (even
            // position `p`) and `padded[2p + w]` (odd position `p + half`).
            let pairs = n.div_ceil(2);
            let (even, odd) = (&self.even[..], &self.odd[..]);
            for p0 in (0..pairs).step_by(LANES) {
                let lanes = |from: &[f32]| -> Lanes { from[..LANES].try_into().unwrap() };
                // Shared value `k` is `padded[2p + 1 + k]`.
                net.select_from(|k| {
                    if k % 2 == 0 {
                        lanes(&odd[p0 + k / 2..])
                    } else {
                        lanes(&even[p0 + k / 2 + 1..])
                    }
                });
                let (lo, hi) = (net.rank(half - 1), net.rank(half));
                let first = lanes(&even[p0..]);
                let last = lanes(&odd[p0 + half..]);
                let (mut out_even, mut out_odd) = ([0.0; LANES], [0.0; LANES]);
                for l in 0..LANES {
                    let clamp = |x: f32| {
                        let x = if x < hi[l] { x } else { hi[l] };
                        if x > lo[l] {
                            x
                        } else {
                            lo[l]
                        }
                    };
                    out_even[l] = clamp(first[l]);
                    out_odd[l] = clamp(last[l]);
                }
                self.out_even[p0..p0 + LANES].copy_from_slice(&out_even);
                self.out_odd[p0..p0 + LANES].copy_from_slice(&out_odd);
            }
            let mut whole = out[..n].chunks_exact_mut(2);
            for (o, (&e, &d)) in (&mut whole).zip(self.out_even.iter().zip(&self.out_odd)) {
                (o[0], o[1]) = (e, d);
            }
            if let [last] = whole.into_remainder() {
                *last = self.out_even[n / 2];
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

    /// The level of the exact percentile of `history`, and the value's level `got`, agree;
    /// below the floor both read zero, and (below the ceiling, where levels are shared) they
    /// are within a level's width.
    fn assert_same_level(got: f32, history: &[f32], q: f32, what: &str) {
        let want = percentile_naive(history, q);
        assert_eq!(
            level_of(got),
            level_of(want),
            "{what}: got {got}, want {want}"
        );
        if level_of(want) == 0 {
            assert_eq!(got, 0.0, "{what}");
        } else if level_of(want) < LEVELS - 1 {
            assert!(
                (got / want - 1.0).abs() < 0.032,
                "{what}: got {got}, want {want}"
            );
        }
    }

    #[test]
    fn levels_order_values_and_hold_what_they_give_back() {
        let mut last = 0;
        for i in 0..20_000 {
            let v = 1e-9 * 1.0017f32.powi(i);
            let l = level_of(v);
            assert!(l >= last && l < LEVELS, "{v}");
            last = l;
        }
        assert_eq!(last, LEVELS - 1);
        assert_eq!(level_of(0.0), 0);
        assert_eq!(level_of(-0.0), 0);
        assert_eq!(level_of(f32::MAX), LEVELS - 1);
        for l in 1..LEVELS {
            for frac in [0.0, 0.3, 0.999_999] {
                assert_eq!(level_of(value_in(l, frac)), l, "level {l} frac {frac}");
            }
            assert!(value_in(l, 0.0) < value_in(l, 0.5) && value_in(l, 0.5) < value_in(l, 0.99));
        }
    }

    #[test]
    fn time_percentile_lands_in_the_exact_percentiles_level() {
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
                assert_same_level(out[b], &history[b], 75.0, &format!("t {t} b {b}"));
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
    fn time_percentile_lands_in_the_exact_percentiles_level_for_any_window_and_percentile() {
        // Runs of ties, zeros, values below the floor and above the ceiling, and jumps of many
        // octaves up and down, so that the tracked level moves far in both directions.
        let mut next = xorshift(0x2545_f491_4f6c_dd1d);
        for &(len, q) in &[
            (1, 50.0),
            (2, 70.0),
            (3, 99.0),
            (8, 1.0),
            (17, 50.0),
            (40, 70.0),
            (179, 70.0),
        ] {
            let bins = 6;
            let mut tp = TimePercentile::new(bins, len, q);
            for round in 0..2 {
                let mut history: Vec<Vec<f32>> = vec![vec![0.0; len]; bins];
                let mut out = vec![0.0; bins];
                for t in 0..600 {
                    let v: Vec<f32> = (0..bins)
                        .map(|b| match (next() % 5, b) {
                            (_, 0) => 0.0,
                            (0, _) => (next() % 4) as f32,
                            (1, _) => (next() % 1000) as f32 * 0.01,
                            (2, _) => 2f32.powi((next() % 90) as i32 - 45),
                            _ => (t % 7) as f32 * 1e-3,
                        })
                        .collect();
                    tp.push(&v, &mut out);
                    for b in 0..bins {
                        history[b].remove(0);
                        history[b].push(v[b]);
                        let what = format!("len {len} q {q} round {round} t {t} b {b}");
                        assert_same_level(out[b], &history[b], q, &what);
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

    /// The compiled networks are Batcher's, and select what the interpreted ones do: exhaustive
    /// over inputs of zeros and ones (the zero-one principle), and on random values with ties.
    #[test]
    fn compiled_networks_match_the_interpreted_ones() {
        assert_eq!(MEDIAN7, batcher(7));
        assert_eq!(SORT10, batcher(10));
        assert_eq!(SORT12, batcher(12));
        let mut next = xorshift(0x1234_5678_9abc_def1);
        for (n, ranks) in [(7, vec![3]), (10, vec![4, 5]), (12, vec![5, 6])] {
            let mut fixed = SelectionNetwork::with_ranks(n, &ranks).unwrap();
            assert!(fixed.fixed.is_some(), "{n}");
            let mut interpreted = SelectionNetwork::with_ranks(n, &ranks).unwrap();
            let zero_one = (0..1u64 << n).map(|bits| (bits, true));
            let random = (0..4096).map(|_| (next(), false));
            let cases: Vec<(u64, bool)> = zero_one.chain(random).collect();
            for group in cases.chunks(LANES) {
                let inputs: Vec<Lanes> = (0..n)
                    .map(|k| {
                        let mut r = [0.0; LANES];
                        for (x, &(bits, binary)) in r.iter_mut().zip(group) {
                            *x = if binary {
                                ((bits >> k) & 1) as f32
                            } else {
                                ((bits >> (4 * k)) % 9) as f32 * 0.25
                            };
                        }
                        r
                    })
                    .collect();
                interpreted.inputs().copy_from_slice(&inputs);
                assert_eq!(
                    fixed.select_from(|k| inputs[k]),
                    interpreted.select(),
                    "n {n}"
                );
                for &r in &ranks {
                    assert_eq!(fixed.rank(r), interpreted.rank(r), "n {n} rank {r}");
                }
            }
        }
    }

    #[test]
    fn frequency_median_matches_a_sort_with_reflected_edges() {
        // Up to `FREQUENCY_NETWORK_MAX` bins the pair network (compiled at 11 and 13 bins),
        // wider the sorted window; even and odd lengths (the last pair half used), several
        // groups of pairs and less than one.
        for (n, width, modulus) in [150i32, 149, 21].into_iter().flat_map(|n| {
            [
                (31, 1000),
                (33, 7),
                (101, 1000),
                (5, 13),
                (5, 3),
                (11, 7),
                (11, 1000),
                (13, 7),
                (15, 7),
                (15, 1000),
                (1, 5),
                (39, 4),
                (39, 1000),
                (3, 1000),
                (3, 2),
            ]
            .into_iter()
            .filter(move |&(w, _)| w < n)
            .map(move |(w, m)| (n, w, m))
        }) {
            let x: Vec<f32> = (0..n)
                .map(|i| ((i as usize * 7919) % modulus) as f32)
                .collect();
            let mut fm = FrequencyMedian::new(x.len(), width as usize);
            let mut out = vec![0.0; x.len()];
            fm.apply(&x, &mut out);
            let half = width / 2;
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
                assert_eq!(
                    out[i as usize], w[half as usize],
                    "n {n} width {width} bin {i}"
                );
            }
        }
    }
}
