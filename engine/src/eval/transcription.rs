//! Note scores as `mir_eval.transcription.precision_recall_f1_overlap` defines them with
//! `offset_ratio = None` (offsets ignored): an estimated note matches a reference note when its
//! onset lies within `onset_tolerance` seconds (inclusive, 0.05 standard; distances rounded to
//! 4 decimals as mir_eval does) and its pitch within `pitch_tolerance` cents (inclusive, 50
//! standard); notes are matched one to one by a maximum bipartite matching.

/// A note: onset and offset in seconds, pitch in Hz.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Note {
    /// Start, seconds.
    pub onset_s: f64,
    /// End, seconds (not used by the onset-only scores).
    pub offset_s: f64,
    /// Pitch, Hz.
    pub pitch_hz: f64,
}

/// Note-level scores of one estimate, with the counts behind them.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct NoteScores {
    /// Matches over estimated notes.
    pub precision: f64,
    /// Matches over reference notes.
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f_measure: f64,
    /// One-to-one matches.
    pub matches: usize,
    /// Reference notes.
    pub n_ref: usize,
    /// Estimated notes.
    pub n_est: usize,
}

impl NoteScores {
    /// Scores from counts (pooled over files, say); 0 when either side is empty, as mir_eval.
    pub fn from_counts(matches: usize, n_ref: usize, n_est: usize) -> Self {
        if n_ref == 0 || n_est == 0 {
            return NoteScores {
                n_ref,
                n_est,
                ..Default::default()
            };
        }
        let precision = matches as f64 / n_est as f64;
        let recall = matches as f64 / n_ref as f64;
        NoteScores {
            precision,
            recall,
            f_measure: super::onset::f_measure(precision, recall),
            matches,
            n_ref,
            n_est,
        }
    }
}

/// MIDI note number to Hz (A4 = 440 Hz).
pub fn midi_to_hz(note: f64) -> f64 {
    440.0 * 2f64.powf((note - 69.0) / 12.0)
}

/// A maximum matching of the bipartite graph given as adjacency lists (`adj[r]` lists the
/// estimates reference `r` may match), by augmenting paths (Kuhn's algorithm). Returns
/// `(reference, estimate)` pairs, sorted by reference.
fn maximum_matching(adj: &[Vec<usize>], n_est: usize) -> Vec<(usize, usize)> {
    fn augment(
        r: usize,
        adj: &[Vec<usize>],
        seen: &mut [bool],
        owner: &mut [Option<usize>],
    ) -> bool {
        for &e in &adj[r] {
            if !seen[e] {
                seen[e] = true;
                if owner[e].is_none_or(|o| augment(o, adj, seen, owner)) {
                    owner[e] = Some(r);
                    return true;
                }
            }
        }
        false
    }
    let mut owner: Vec<Option<usize>> = vec![None; n_est];
    for r in 0..adj.len() {
        let mut seen = vec![false; n_est];
        augment(r, adj, &mut seen, &mut owner);
    }
    let mut pairs: Vec<(usize, usize)> = owner
        .iter()
        .enumerate()
        .filter_map(|(e, o)| o.map(|r| (r, e)))
        .collect();
    pairs.sort_unstable();
    pairs
}

/// The matched `(reference, estimate)` index pairs (`mir_eval.transcription.match_notes` with
/// `offset_ratio = None`).
pub fn match_notes(
    reference: &[Note],
    estimate: &[Note],
    onset_tolerance: f64,
    pitch_tolerance: f64,
) -> Vec<(usize, usize)> {
    let adj: Vec<Vec<usize>> = reference
        .iter()
        .map(|r| {
            estimate
                .iter()
                .enumerate()
                .filter(|(_, e)| {
                    let dt = ((r.onset_s - e.onset_s).abs() * 1e4).round() / 1e4;
                    let dc = (1200.0 * (r.pitch_hz.log2() - e.pitch_hz.log2())).abs();
                    dt <= onset_tolerance && dc <= pitch_tolerance
                })
                .map(|(j, _)| j)
                .collect()
        })
        .collect();
    maximum_matching(&adj, estimate.len())
}

/// Onset-and-pitch note scores (offsets ignored).
///
/// ```
/// use cochlea_engine::eval::transcription::{score, Note};
/// let n = |onset_s, pitch_hz| Note { onset_s, offset_s: onset_s + 0.2, pitch_hz };
/// let reference = [n(1.0, 440.0), n(2.0, 440.0), n(3.0, 330.0)];
/// let estimate = [n(1.03, 445.0), n(2.0, 466.2), n(3.06, 330.0)];
/// let s = score(&reference, &estimate, 0.05, 50.0);
/// assert_eq!(s.matches, 1); // a semitone off, and 60 ms late, do not count
/// ```
pub fn score(
    reference: &[Note],
    estimate: &[Note],
    onset_tolerance: f64,
    pitch_tolerance: f64,
) -> NoteScores {
    if reference.is_empty() || estimate.is_empty() {
        return NoteScores::from_counts(0, reference.len(), estimate.len());
    }
    let m = match_notes(reference, estimate, onset_tolerance, pitch_tolerance).len();
    NoteScores::from_counts(m, reference.len(), estimate.len())
}

/// Reference notes from a monophonic f0 track (`time_s`, `freq_hz`, 0 where unvoiced) in which
/// every note is a run of voiced frames at one pitch: a note starts at a voiced frame that
/// follows an unvoiced one or changes pitch by more than `split_cents`, and ends at the next
/// such boundary. Pitch is the median frequency of its frames.
pub fn notes_from_f0(times: &[f64], freqs: &[f64], split_cents: f64) -> Vec<Note> {
    let mut notes = Vec::new();
    let mut start: Option<usize> = None;
    let close = |s: usize, e: usize, notes: &mut Vec<Note>| {
        let mut f: Vec<f64> = freqs[s..e].to_vec();
        f.sort_by(f64::total_cmp);
        let end = if e < times.len() {
            times[e]
        } else {
            times[e - 1] + (times[e - 1] - times[e.saturating_sub(2)]).max(0.0)
        };
        notes.push(Note {
            onset_s: times[s],
            offset_s: end,
            pitch_hz: f[f.len() / 2],
        });
    };
    for i in 0..freqs.len() {
        let voiced = freqs[i] > 0.0;
        match start {
            Some(s) if !voiced => {
                close(s, i, &mut notes);
                start = None;
            }
            Some(s) if (1200.0 * (freqs[i] / freqs[i - 1]).log2()).abs() > split_cents => {
                close(s, i, &mut notes);
                start = Some(i);
            }
            None if voiced => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        close(s, freqs.len(), &mut notes);
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(onset_s: f64, pitch_hz: f64) -> Note {
        Note {
            onset_s,
            offset_s: onset_s + 0.1,
            pitch_hz,
        }
    }

    #[test]
    fn matching_is_maximum_not_greedy() {
        // Greedy nearest-first would pair r0 with e1 and leave r1 alone.
        let r = [n(1.0, 440.0), n(1.08, 440.0)];
        let e = [n(1.04, 440.0), n(1.1, 440.0)];
        assert_eq!(match_notes(&r, &e, 0.05, 50.0).len(), 2);
        let e = [n(1.04, 440.0), n(1.03, 440.0)];
        assert_eq!(match_notes(&r, &e, 0.05, 50.0).len(), 2);
    }

    #[test]
    fn tolerances_are_inclusive() {
        let r = [n(1.0, 440.0)];
        assert_eq!(score(&r, &[n(1.05, 440.0)], 0.05, 50.0).matches, 1);
        let up = 440.0 * 2f64.powf(50.0 / 1200.0);
        assert_eq!(score(&r, &[n(1.0, up * 0.9999)], 0.05, 50.0).matches, 1);
        assert_eq!(score(&r, &[n(1.0, up * 1.001)], 0.05, 50.0).matches, 0);
        assert_eq!(score(&r, &[n(1.0501, 440.0)], 0.05, 50.0).matches, 0);
    }

    #[test]
    fn notes_split_at_rests_and_pitch_changes() {
        let t: Vec<f64> = (0..10).map(|i| i as f64 * 0.01).collect();
        let f = [0.0, 220.0, 220.0, 0.0, 220.0, 247.0, 247.0, 247.0, 0.0, 0.0];
        let notes = notes_from_f0(&t, &f, 50.0);
        assert_eq!(notes.len(), 3);
        assert_eq!((notes[0].onset_s, notes[0].offset_s), (0.01, 0.03));
        assert_eq!(notes[2].pitch_hz, 247.0);
        assert_eq!(notes[2].offset_s, 0.08);
    }
}
