//! Onset scores (mir_eval.onset.f_measure): estimated and reference onsets are matched one to one
//! when they lie within `window` seconds of each other (inclusive), choosing a maximum matching;
//! precision, recall and F-measure follow from the number of matches.

/// Scores of one estimate against one reference.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct OnsetScores {
    /// Harmonic mean of precision and recall.
    pub f_measure: f64,
    /// Matches over estimated onsets.
    pub precision: f64,
    /// Matches over reference onsets.
    pub recall: f64,
    /// Number of one-to-one matches.
    pub matches: usize,
    /// Number of reference onsets.
    pub n_ref: usize,
    /// Number of estimated onsets.
    pub n_est: usize,
    /// Mean of `estimate - reference` over the matches, in seconds (0 when there are none).
    pub mean_error_s: f64,
}

/// F-measure of two harmonic-mean inputs (0 when both are 0), as mir_eval.util.f_measure.
pub fn f_measure(precision: f64, recall: f64) -> f64 {
    if precision + recall == 0.0 {
        0.0
    } else {
        2.0 * precision * recall / (precision + recall)
    }
}

/// A maximum one-to-one matching of `reference` and `estimate` (both sorted ascending, in
/// seconds) within `window`, as `(reference index, estimate index)` pairs.
///
/// Each reference's admissible estimates form an interval whose ends move right with the
/// reference, so matching every reference in order to its earliest free admissible estimate
/// gives a maximum matching (Glover's rule for convex bipartite graphs).
pub fn match_events(reference: &[f64], estimate: &[f64], window: f64) -> Vec<(usize, usize)> {
    let mut pairs = Vec::new();
    let mut next = 0; // first estimate not yet matched or passed
    for (i, &r) in reference.iter().enumerate() {
        while next < estimate.len() && estimate[next] < r - window {
            next += 1;
        }
        if next < estimate.len() && estimate[next] <= r + window {
            pairs.push((i, next));
            next += 1;
        }
    }
    pairs
}

/// Scores `estimate` against `reference` (seconds, any order) with a tolerance of `window`
/// seconds (0.05 is the standard). Either list empty gives all zeros, as mir_eval.
///
/// ```
/// use cochlea_engine::eval::onset::score;
/// let s = score(&[1.0, 2.0, 3.0], &[1.02, 2.5, 3.0, 3.01], 0.05);
/// assert_eq!(s.matches, 2);
/// assert!((s.precision - 0.5).abs() < 1e-12);
/// assert!((s.recall - 2.0 / 3.0).abs() < 1e-12);
/// ```
pub fn score(reference: &[f64], estimate: &[f64], window: f64) -> OnsetScores {
    let mut r = reference.to_vec();
    let mut e = estimate.to_vec();
    r.sort_by(f64::total_cmp);
    e.sort_by(f64::total_cmp);
    let mut s = OnsetScores {
        n_ref: r.len(),
        n_est: e.len(),
        ..Default::default()
    };
    if r.is_empty() || e.is_empty() {
        return s;
    }
    let pairs = match_events(&r, &e, window);
    s.matches = pairs.len();
    s.precision = s.matches as f64 / e.len() as f64;
    s.recall = s.matches as f64 / r.len() as f64;
    s.f_measure = f_measure(s.precision, s.recall);
    if !pairs.is_empty() {
        s.mean_error_s = pairs.iter().map(|&(i, j)| e[j] - r[i]).sum::<f64>() / pairs.len() as f64;
    }
    s
}

/// Sums of matches and counts over many files, for corpus-level ("micro") scores.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct OnsetTotals {
    /// Matches over all files.
    pub matches: usize,
    /// Reference onsets over all files.
    pub n_ref: usize,
    /// Estimated onsets over all files.
    pub n_est: usize,
    /// Sum of matched errors, in seconds.
    pub error_sum_s: f64,
}

impl OnsetTotals {
    /// Adds one file's scores.
    pub fn add(&mut self, s: &OnsetScores) {
        self.matches += s.matches;
        self.n_ref += s.n_ref;
        self.n_est += s.n_est;
        self.error_sum_s += s.mean_error_s * s.matches as f64;
    }

    /// The pooled scores.
    pub fn scores(&self) -> OnsetScores {
        let precision = if self.n_est > 0 {
            self.matches as f64 / self.n_est as f64
        } else {
            0.0
        };
        let recall = if self.n_ref > 0 {
            self.matches as f64 / self.n_ref as f64
        } else {
            0.0
        };
        OnsetScores {
            f_measure: f_measure(precision, recall),
            precision,
            recall,
            matches: self.matches,
            n_ref: self.n_ref,
            n_est: self.n_est,
            mean_error_s: if self.matches > 0 {
                self.error_sum_s / self.matches as f64
            } else {
                0.0
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greedy_matching_is_maximum_where_nearest_first_would_not_be() {
        // Matching 1.04 to the nearer 1.0 would leave 1.08 unmatched; the maximum pairs both.
        let pairs = match_events(&[1.0, 1.08], &[1.04, 1.10], 0.05);
        assert_eq!(pairs.len(), 2);
        let pairs = match_events(&[1.0, 1.06], &[1.04], 0.05);
        assert_eq!(pairs.len(), 1);
    }

    #[test]
    fn window_is_inclusive_and_one_to_one() {
        let s = score(&[1.0], &[1.05, 1.0], 0.05);
        assert_eq!((s.matches, s.n_est), (1, 2));
        let s = score(&[1.0, 1.0], &[1.0], 0.05);
        assert_eq!(s.matches, 1);
    }

    #[test]
    fn empty_lists_score_zero() {
        assert_eq!(score(&[], &[1.0], 0.05).f_measure, 0.0);
        assert_eq!(score(&[1.0], &[], 0.05).f_measure, 0.0);
    }

    #[test]
    fn mean_error_is_signed() {
        let s = score(&[1.0, 2.0], &[1.01, 2.03], 0.05);
        assert!((s.mean_error_s - 0.02).abs() < 1e-12);
    }
}
