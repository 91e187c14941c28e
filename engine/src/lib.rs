//! # Cochlea engine
//!
//! A lock-free streaming music-listening engine. Audio goes in block by block (any length up to
//! a maximum fixed at construction); events come out through a wait-free queue, each stamped with
//! the absolute stream position of what it describes; every output states its latency.
//!
//! - [`onset`]: online onset detection (spectral flux, SuperFlux, complex domain, HFC, energy)
//!   with causal adaptive peak picking.
//! - [`pitch`]: online monophonic pitch tracking (FFT-based YIN, pYIN candidates, an HMM over
//!   pitch and voicing with fixed-lag smoothing).
//! - [`melody`]: causal predominant-pitch (melody in a mix) tracking: harmonic-summation
//!   salience, online Viterbi continuity, voicing against the piece's running salience.
//! - [`notes`]: onsets and pitch turned into MIDI-style note on/off events.
//! - [`separation`]: harmonic / percussive / residual and melody / accompaniment stems by
//!   spectral masking, live, with a mix of them as the audio output.
//! - [`eval`]: the standard scores (mir_eval's definitions) to measure it.
//!
//! The real-time contract: [`Engine::new`] validates the [`EngineConfig`] and allocates
//! everything; [`Engine::process`] and [`Engine::reset`] never allocate, lock, log or block;
//! parameters change from any thread through an [`EngineHandle`] (atomics); any block
//! segmentation of the same stream gives identical events and audio.
//!
//! ```
//! use cochlea_engine::{Engine, EngineConfig, Event};
//! let sr = 44_100.0;
//! let (mut engine, mut events) = Engine::new(EngineConfig::new(sr, 1, 512)).unwrap();
//! // Half a second of silence, a click, half a second of silence.
//! let mut signal = vec![0.0f32; 44_100];
//! signal[22_050] = 1.0;
//! let mut out = vec![0.0f32; 512];
//! for block in signal.chunks(512) {
//!     engine.process(&[block], &mut [&mut out[..block.len()]]).unwrap();
//! }
//! let onsets: Vec<u64> = events.drain().map(|e| e.sample()).collect();
//! assert_eq!(onsets.len(), 1);
//! assert!((onsets[0] as i64 - 22_050).abs() < engine.onset_hop_samples() as i64);
//! ```
#![deny(missing_docs)]

mod config;
mod engine;
mod error;
pub mod eval;
mod event;
mod fft;
mod filterbank;
mod framer;
/// Internal stages exposed for the benches (feature `internals`; not a stable API).
#[cfg(feature = "internals")]
#[doc(hidden)]
pub mod internals;
pub mod melody;
pub mod notes;
pub mod onset;
mod params;
pub mod pitch;
mod sanitize;
pub mod separation;
mod simd;
mod stft;
mod tune;
mod window;

pub use config::{
    EngineConfig, MelodyTrackConfig, NotesConfig, OnsetConfig, PitchConfig, SeparationConfig,
    MAX_BLOCK_SIZE, MAX_EVENT_CAPACITY, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE,
};
pub use engine::{Engine, Output};
pub use error::{ConfigError, ParamError, ProcessError};
pub use event::{Event, EventReceiver};
pub use melody::{MelodyConfig, MelodyFrame, PredominantPitch};
pub use onset::OnsetMethod;
pub use params::{
    EngineHandle, MIN_INTERVAL_RANGE_S, MIN_NOTE_RANGE_S, SENSITIVITY_RANGE, SILENCE_GATE_RANGE_DB,
    STABILITY_RANGE_CENTS, STEM_GAIN_RANGE, VOICING_THRESHOLD_RANGE,
};
pub use sanitize::{sanitize, INPUT_LIMIT};
