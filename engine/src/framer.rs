//! Stream framing: a ring buffer holding the newest input samples, and a hop counter that says
//! when the next analysis frame is due. Both are block-size agnostic: frames fall on absolute
//! stream positions (multiples of the hop), whatever the host's block boundaries.

/// The newest samples of a mono stream, in a power-of-two ring.
#[derive(Debug, Clone)]
pub(crate) struct History {
    buf: Vec<f32>,
    mask: usize,
    write: usize,
}

impl History {
    /// A history able to return the newest `len` samples.
    pub(crate) fn new(len: usize) -> Self {
        let cap = len.max(1).next_power_of_two();
        Self {
            buf: vec![0.0; cap],
            mask: cap - 1,
            write: 0,
        }
    }

    /// Appends samples (a block at a time: at most two copies, whatever its length).
    #[inline]
    pub(crate) fn extend(&mut self, xs: &[f32]) {
        let (n, cap) = (xs.len(), self.buf.len());
        // Only the last `cap` samples of a long block can stay.
        let keep = &xs[n - n.min(cap)..];
        let at = (self.write + n - keep.len()) & self.mask;
        let first = (cap - at).min(keep.len());
        self.buf[at..at + first].copy_from_slice(&keep[..first]);
        self.buf[..keep.len() - first].copy_from_slice(&keep[first..]);
        self.write = (self.write + n) & self.mask;
    }

    /// Copies the newest `out.len()` samples, oldest first. `out.len()` must not exceed the
    /// length given to [`History::new`].
    pub(crate) fn copy_latest(&self, out: &mut [f32]) {
        self.copy_ending(0, out);
    }

    /// Copies the `out.len()` samples that end `ago` samples before the newest, oldest first.
    /// `ago + out.len()` must not exceed the length given to [`History::new`].
    pub(crate) fn copy_ending(&self, ago: usize, out: &mut [f32]) {
        let (older, newer) = self.ending(ago, out.len());
        out[..older.len()].copy_from_slice(older);
        out[older.len()..].copy_from_slice(newer);
    }

    /// The newest `n` samples in place, oldest first: where the ring wraps, the older part and
    /// then the newer (which is empty when it does not). `n` must not exceed the length given to
    /// [`History::new`].
    #[inline(always)]
    pub(crate) fn latest(&self, n: usize) -> (&[f32], &[f32]) {
        self.ending(0, n)
    }

    /// The `n` samples that end `ago` samples before the newest, in place, as
    /// [`latest`](Self::latest).
    #[inline(always)]
    fn ending(&self, ago: usize, n: usize) -> (&[f32], &[f32]) {
        debug_assert!(ago + n <= self.buf.len());
        let start = (self.write + 2 * self.buf.len() - n - ago) & self.mask;
        let first = (self.buf.len() - start).min(n);
        (&self.buf[start..start + first], &self.buf[..n - first])
    }

    /// Back to silence.
    pub(crate) fn reset(&mut self) {
        self.buf.fill(0.0);
        self.write = 0;
    }
}

/// Counts samples down to the next frame boundary.
#[derive(Debug, Clone)]
pub(crate) struct Hopper {
    hop: usize,
    left: usize,
    /// Samples to the first boundary after a reset.
    first: usize,
}

impl Hopper {
    pub(crate) fn new(hop: usize) -> Self {
        Self::with_first(hop, hop)
    }

    /// Boundaries at `first`, `first + hop`, ... (`first >= 1`).
    pub(crate) fn with_first(hop: usize, first: usize) -> Self {
        debug_assert!(hop > 0 && first > 0);
        Self {
            hop,
            left: first,
            first,
        }
    }

    /// Samples until the next frame is due (at least 1).
    #[inline]
    pub(crate) fn until_next(&self) -> usize {
        self.left
    }

    /// Advances by `n` samples (at most [`Hopper::until_next`]); true when a frame is due.
    #[inline]
    pub(crate) fn advance(&mut self, n: usize) -> bool {
        debug_assert!(n <= self.left);
        self.left -= n;
        if self.left == 0 {
            self.left = self.hop;
            true
        } else {
            false
        }
    }

    pub(crate) fn hop(&self) -> usize {
        self.hop
    }

    pub(crate) fn reset(&mut self) {
        self.left = self.first;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_returns_newest_samples_across_the_wrap() {
        let mut h = History::new(8);
        let xs: Vec<f32> = (0..21).map(|i| i as f32).collect();
        h.extend(&xs[..13]);
        h.extend(&xs[13..]);
        let mut out = [0.0; 5];
        h.copy_latest(&mut out);
        assert_eq!(out, [16.0, 17.0, 18.0, 19.0, 20.0]);
        h.reset();
        h.copy_latest(&mut out);
        assert_eq!(out, [0.0; 5]);
    }

    #[test]
    fn hopper_fires_every_hop_whatever_the_steps() {
        let mut hop = Hopper::new(5);
        let mut fired = vec![];
        let mut pos = 0;
        for step in [1usize, 3, 1, 2, 3, 5, 5, 1, 4] {
            let mut left = step;
            while left > 0 {
                let n = left.min(hop.until_next());
                pos += n;
                left -= n;
                if hop.advance(n) {
                    fired.push(pos);
                }
            }
        }
        assert_eq!(fired, vec![5, 10, 15, 20, 25]);
    }
}
