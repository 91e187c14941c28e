//! Causal adaptive peak picking over a detection function.
//!
//! A frame `c` is an onset when, with `k` frames of look-ahead (frame `c + k` has arrived):
//! - its value is the largest of the `pre_max` frames before it and the `k` after it;
//! - it exceeds the adaptive threshold `(1 + r) * median(pre_avg frames before c) + delta`, where
//!   `r` is the method's relative term (see [`OnsetMethod`]);
//! - at least `min_interval` frames separate it from the previous onset;
//! - the silence gate was open at `c`.
//!
//! With `k = 0` the picker decides on the newest frame: the first frame that rises above the
//! threshold and above its recent past is reported at once, and the minimum interval then
//! suppresses the rest of the same rise.
//!
//! When the detection function changes while audio runs, [`PeakPicker::restart`] clears the
//! history and holds decisions back until the threshold window has refilled.

use super::OnsetMethod;

/// Part of `delta` above the baseline that still counts as "rising" when backtracking a peak.
const RISE_FRACTION: f32 = 0.05;

/// A detected peak.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Peak {
    /// Index of the frame holding the peak.
    pub(crate) frame: u64,
    /// Index of the frame where the rise to the peak began: walking back from the peak while the
    /// function keeps falling and stays above `baseline + RISE_FRACTION * delta`.
    pub(crate) rise: u64,
    /// `(value - baseline) / delta`: 1.0 at the threshold.
    pub(crate) strength: f32,
}

/// Settings for one decision, read from the run-time parameters.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PickSettings {
    pub(crate) method: OnsetMethod,
    pub(crate) delta: f32,
    pub(crate) lookahead: usize,
    pub(crate) min_interval: u64,
}

pub(crate) struct PeakPicker {
    /// A ring of the newest `len` values.
    values: Vec<f32>,
    gate: Vec<bool>,
    len: usize,
    /// Frames pushed so far; the newest frame has index `count - 1`.
    count: u64,
    last_onset: Option<u64>,
    /// No peak is reported for frames before this one.
    quiet_until: u64,
    pre_avg: usize,
    pre_max: usize,
    median_buf: Vec<f32>,
}

impl PeakPicker {
    pub(crate) fn new(pre_avg: usize, pre_max: usize, max_lookahead: usize) -> Self {
        let pre_avg = pre_avg.max(1);
        let len = pre_avg.max(pre_max) + max_lookahead + 1;
        Self {
            values: vec![0.0; len],
            gate: vec![false; len],
            len,
            count: 0,
            last_onset: None,
            quiet_until: 0,
            pre_avg,
            pre_max,
            median_buf: vec![0.0; pre_avg],
        }
    }

    /// The most frames a confirmed peak is walked back to where its rise began.
    pub(crate) fn max_rise_frames(&self) -> usize {
        self.pre_max
    }

    pub(crate) fn reset(&mut self) {
        self.values.fill(0.0);
        self.gate.fill(false);
        self.count = 0;
        self.last_onset = None;
        self.quiet_until = 0;
    }

    /// Starts over on a new detection function mid-stream: the history is cleared and no peak is
    /// reported for the next `warmup` frames, while the threshold window refills.
    pub(crate) fn restart(&mut self, warmup: u64) {
        self.values.fill(0.0);
        self.quiet_until = self.count + warmup;
    }

    #[inline]
    fn slot(&self, frame: u64) -> usize {
        (frame % self.len as u64) as usize
    }

    /// Adds one frame (the detection function's value, and whether the gate is open) and returns
    /// the peak it confirms, if any.
    pub(crate) fn push(&mut self, value: f32, gate_open: bool, s: PickSettings) -> Option<Peak> {
        let newest = self.count;
        let slot = self.slot(newest);
        self.values[slot] = value;
        self.gate[slot] = gate_open;
        self.count += 1;

        let k = s.lookahead as u64;
        if newest < k {
            return None;
        }
        let c = newest - k;
        if c < self.quiet_until || !self.gate[self.slot(c)] {
            return None;
        }
        if let Some(last) = self.last_onset {
            // A look-ahead raised at run time moves the candidate back, possibly to or before
            // the last onset: such a frame was already decided.
            if c <= last || c - last < s.min_interval.max(1) {
                return None;
            }
        }
        let ring = &self.values;
        let v = ring[self.slot(c)];
        // Local maximum over the past `pre_max` and the look-ahead frames.
        let first = c.saturating_sub(self.pre_max as u64);
        for f in first..c {
            if ring[self.slot(f)] > v {
                return None;
            }
        }
        for f in c + 1..=newest {
            if ring[self.slot(f)] > v {
                return None;
            }
        }
        // Adaptive threshold: median of the `pre_avg` frames before `c` (fewer at the start).
        let n = (c as usize).min(self.pre_avg);
        let baseline = if n == 0 {
            0.0
        } else {
            for i in 0..n {
                self.median_buf[i] = ring[self.slot(c - 1 - i as u64)];
            }
            let buf = &mut self.median_buf[..n];
            let mid = n / 2;
            let (_, m, _) = buf.select_nth_unstable_by(mid, |a, b| a.total_cmp(b));
            *m
        };
        let threshold = baseline * (1.0 + s.method.relative_threshold()) + s.delta;
        if v > threshold {
            // The walk back never crosses the previous onset, so onsets stay in order.
            let after_last = self.last_onset.map_or(0, |l| l + 1);
            self.last_onset = Some(c);
            let floor = baseline + RISE_FRACTION * s.delta;
            let limit = c.saturating_sub(self.pre_max as u64).max(after_last);
            let mut rise = c;
            while rise > limit {
                let prev = ring[self.slot(rise - 1)];
                if prev > floor && prev < ring[self.slot(rise)] {
                    rise -= 1;
                } else {
                    break;
                }
            }
            Some(Peak {
                frame: c,
                rise,
                strength: (v - baseline) / s.delta,
            })
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(lookahead: usize) -> PickSettings {
        PickSettings {
            method: OnsetMethod::SpectralFlux,
            delta: 1.0,
            lookahead,
            min_interval: 3,
        }
    }

    fn run(values: &[f32], lookahead: usize) -> Vec<u64> {
        let mut p = PeakPicker::new(5, 2, 4);
        let mut out = vec![];
        for &v in values {
            if let Some(peak) = p.push(v, true, settings(lookahead)) {
                out.push(peak.frame);
            }
        }
        out
    }

    #[test]
    fn causal_picker_reports_the_first_frame_over_threshold() {
        let odf = [0.0, 0.0, 0.0, 0.5, 2.0, 3.0, 1.0, 0.0, 0.0, 0.0];
        assert_eq!(run(&odf, 0), vec![4]);
    }

    #[test]
    fn look_ahead_waits_for_the_true_maximum() {
        let odf = [0.0, 0.0, 0.0, 0.5, 2.0, 3.0, 1.0, 0.0, 0.0, 0.0];
        assert_eq!(run(&odf, 1), vec![5]);
        assert_eq!(run(&odf, 3), vec![5]);
    }

    #[test]
    fn min_interval_and_threshold_are_respected() {
        // Peaks at 2 and 4 are too close (interval 3); 9 is fine; 13 is below threshold.
        let odf = [
            0.0, 0.0, 5.0, 0.0, 6.0, 0.0, 0.0, 0.0, 0.0, 4.0, 0.0, 0.0, 0.0, 0.9, 0.0,
        ];
        assert_eq!(run(&odf, 1), vec![2, 9]);
    }

    #[test]
    fn a_rise_is_never_walked_back_past_the_previous_onset() {
        let mut p = PeakPicker::new(5, 6, 4);
        let s = PickSettings {
            method: OnsetMethod::SpectralFlux,
            delta: 1.0,
            lookahead: 0,
            min_interval: 1,
        };
        let mut peaks = vec![];
        for v in [0.0, 0.0, 0.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0] {
            if let Some(pk) = p.push(v, true, s) {
                peaks.push((pk.frame, pk.rise));
            }
        }
        assert!(peaks.len() >= 2, "{peaks:?}");
        for w in peaks.windows(2) {
            assert!(w[1].1 > w[0].0, "{peaks:?}");
        }
    }

    #[test]
    fn raising_the_look_ahead_right_after_an_onset_is_safe() {
        let mut p = PeakPicker::new(5, 2, 4);
        let mut found = vec![];
        for (i, v) in [
            0.0, 0.0, 0.0, 9.0, 0.0, 0.0, 0.0, 0.0, 0.0, 7.0, 0.0, 0.0, 0.0, 0.0,
        ]
        .into_iter()
        .enumerate()
        {
            // Look-ahead 0 until the first onset is reported, then 4: the candidate frame jumps
            // back before that onset, which must neither panic nor report it twice.
            let lookahead = if i <= 3 { 0 } else { 4 };
            if let Some(peak) = p.push(v, true, settings(lookahead)) {
                found.push(peak.frame);
            }
        }
        assert_eq!(found, vec![3, 9]);
    }

    #[test]
    fn closed_gate_blocks_onsets() {
        let mut p = PeakPicker::new(5, 2, 4);
        for v in [0.0, 0.0, 9.0, 0.0] {
            assert_eq!(p.push(v, false, settings(0)), None);
        }
    }

    #[test]
    fn restart_holds_decisions_back_until_the_window_refills() {
        let mut p = PeakPicker::new(5, 2, 4);
        for _ in 0..10 {
            p.push(0.0, true, settings(0));
        }
        p.restart(6);
        let found: Vec<u64> = [9.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 9.0]
            .iter()
            .filter_map(|&v| p.push(v, true, settings(0)))
            .map(|pk| pk.frame)
            .collect();
        assert_eq!(found, vec![17]);
    }
}
