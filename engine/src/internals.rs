//! The separation's stages one at a time, for the criterion benches only (the `internals`
//! feature; not a stable API, never enabled by the shipped crates): the analysis STFT, the
//! harmonic/percussive masks, the melody comb and one masked resynthesis, each driven frame by
//! frame exactly as [`Separator`](crate::separation::Separator) drives it.

use realfft::num_complex::Complex32;

use crate::separation::Parts;
use crate::SeparationConfig;

/// The parts of a separator with the default settings, and the buffers between them.
pub struct SeparationStages {
    parts: Parts,
    spectrum: Vec<Complex32>,
    harmonic: Vec<f32>,
    percussive: Vec<f32>,
    melody: Vec<f32>,
    chunk: Vec<f32>,
    chunk_im: Vec<f32>,
}

impl SeparationStages {
    /// The stages of the default separation at `sample_rate`.
    pub fn new(sample_rate: f64) -> Self {
        let config = SeparationConfig::default();
        let parts = Parts::new(&config, sample_rate, config.lookahead_frames as usize);
        let bins = parts.bins;
        Self {
            spectrum: vec![Complex32::default(); parts.stft.len()],
            harmonic: vec![0.0; bins],
            percussive: vec![0.0; bins],
            melody: vec![0.0; bins],
            chunk: vec![0.0; 2 * parts.hop],
            chunk_im: vec![0.0; 2 * parts.hop],
            parts,
        }
    }

    /// Samples between frames.
    pub fn hop(&self) -> usize {
        self.parts.hop
    }

    /// Samples per frame.
    pub fn frame_len(&self) -> usize {
        self.parts.frame_len
    }

    /// The analysis STFT of one mono frame (the separator analyses a stereo frame's channels
    /// in one transform of the same length).
    pub fn analyze(&mut self, frame: &[f32]) {
        self.parts.stft.analyze(frame, None, &mut self.spectrum);
    }

    /// The harmonic and percussive masks from one (mid) frame: the mask spectrum, the rank
    /// filters, the refinement, the sustain term and the soft masks.
    pub fn hpss(&mut self, frame: &[f32]) {
        self.parts.hpss.push(frame);
        self.parts.hpss.harmonic(&mut self.harmonic);
        self.parts.hpss.percussive(&mut self.percussive);
    }

    /// The melody comb for a frame whose melody is at `f0_hz`.
    pub fn comb(&mut self, f0_hz: f32) {
        self.parts.comb.mask(f0_hz, &mut self.melody);
    }

    /// One inverse FFT and synthesis window, giving two masked signals (the harmonic and
    /// percussive stems of a mono frame; the separator runs two per mono frame with stems,
    /// three per stereo frame).
    pub fn synthesize(&mut self) {
        self.parts.stft.synthesize(
            &self.spectrum,
            &self.harmonic,
            Some(&self.percussive),
            &mut self.chunk,
            &mut self.chunk_im,
        );
    }
}
