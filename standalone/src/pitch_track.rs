//! The pitch track of an analysis as a table: one row per pitch hop, `time_s,freq_hz`, 0 where
//! unvoiced (the layout of the dev corpus's ground truth and of mir_eval's melody files).

use cochlea_engine::Event;

use crate::analyze::Analysis;

/// A pitch track: frame centre times in seconds and frequencies in Hz (0 = unvoiced).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PitchTrack {
    /// Frame centres, seconds, ascending.
    pub times_s: Vec<f64>,
    /// Fundamental frequency per frame, Hz; 0 where unvoiced.
    pub freqs_hz: Vec<f64>,
}

impl PitchTrack {
    /// The `Pitch` events of `analysis`, in stream order.
    pub fn from_analysis(analysis: &Analysis) -> Self {
        let mut track = PitchTrack::default();
        for e in &analysis.events {
            if let Event::Pitch { sample, f0_hz, .. } = e.event {
                track.times_s.push(sample as f64 / analysis.sample_rate);
                track.freqs_hz.push(f0_hz as f64);
            }
        }
        track
    }

    /// Frames in the track.
    pub fn len(&self) -> usize {
        self.times_s.len()
    }

    /// True when the track has no frame.
    pub fn is_empty(&self) -> bool {
        self.times_s.is_empty()
    }

    /// The CSV text: a `time_s,freq_hz` header, then one row per frame.
    ///
    /// ```
    /// use cochlea::pitch_track::PitchTrack;
    /// let t = PitchTrack { times_s: vec![0.0, 0.005], freqs_hz: vec![0.0, 440.0] };
    /// assert_eq!(t.to_csv(), "time_s,freq_hz\n0.000000,0.000\n0.005000,440.000\n");
    /// ```
    pub fn to_csv(&self) -> String {
        let mut s = String::with_capacity(24 * (self.len() + 1));
        s.push_str("time_s,freq_hz\n");
        for (t, f) in self.times_s.iter().zip(&self.freqs_hz) {
            s.push_str(&format!("{t:.6},{f:.3}\n"));
        }
        s
    }
}
