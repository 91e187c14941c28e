//! Offline analysis: a thin loop over the real-time engine, fed block by block exactly as a host
//! would, so files and live input give the same results.

use cochlea_engine::{ConfigError, Engine, EngineConfig, Event};

use crate::audio::Audio;

/// Block size used to feed files through the engine. Results do not depend on it.
pub const FILE_BLOCK: usize = 1024;

/// An event and the stream position at which the engine emitted it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Emitted {
    /// The event.
    pub event: Event,
    /// Stream position (samples) when it left the engine: the end of the block that produced it.
    pub emitted_at: u64,
}

/// Everything one pass of the engine over a file produced.
#[derive(Debug, Clone)]
pub struct Analysis {
    /// Sample rate of the input, in Hz.
    pub sample_rate: f64,
    /// Frames analysed.
    pub frames: u64,
    /// Events in emission order.
    pub events: Vec<Emitted>,
    /// Events dropped because the queue was full (0 unless the queue is tiny).
    pub dropped: u64,
    /// Onset latency reported by the engine, in samples.
    pub onset_latency: usize,
}

impl Analysis {
    /// Onset times in seconds.
    pub fn onset_times(&self) -> Vec<f64> {
        self.events
            .iter()
            .filter_map(|e| match e.event {
                Event::Onset { sample, .. } => Some(sample as f64 / self.sample_rate),
                _ => None,
            })
            .collect()
    }
}

/// Runs the engine over `audio` with `config` (its sample rate and channel count are taken from
/// the audio: stereo stays stereo, anything else is mixed to mono), `block` samples at a time.
/// Events are drained after every block, so the queue never overflows.
pub fn analyze(
    audio: &Audio,
    mut config: EngineConfig,
    block: usize,
) -> Result<Analysis, ConfigError> {
    let stereo = audio.channels.len() == 2;
    config.sample_rate = audio.sample_rate as f64;
    config.channels = if stereo { 2 } else { 1 };
    config.max_block_size = block;
    let (mut engine, mut rx) = Engine::new(config)?;
    let mono;
    let inputs: Vec<&[f32]> = if stereo {
        audio.channels.iter().map(|c| c.as_slice()).collect()
    } else if audio.channels.len() == 1 {
        vec![audio.channels[0].as_slice()]
    } else {
        mono = audio.mono();
        vec![mono.as_slice()]
    };
    let mut outs: Vec<Vec<f32>> = vec![vec![0.0; block]; inputs.len()];
    let mut events = Vec::new();
    let n = audio.len();
    let mut start = 0;
    while start < n {
        let end = (start + block).min(n);
        let ins: Vec<&[f32]> = inputs.iter().map(|c| &c[start..end]).collect();
        let mut os: Vec<&mut [f32]> = outs.iter_mut().map(|o| &mut o[..end - start]).collect();
        // The block never exceeds the configured maximum and the layout matches: cannot fail.
        engine
            .process(&ins, &mut os)
            .expect("block fits the configuration");
        let at = engine.position();
        events.extend(rx.drain().map(|event| Emitted {
            event,
            emitted_at: at,
        }));
        start = end;
    }
    // End of stream: close a sounding note so every NoteOn has its NoteOff.
    engine.finish();
    let at = engine.position();
    events.extend(rx.drain().map(|event| Emitted {
        event,
        emitted_at: at,
    }));
    Ok(Analysis {
        sample_rate: audio.sample_rate as f64,
        frames: n as u64,
        events,
        dropped: rx.dropped(),
        onset_latency: engine.latency_samples(cochlea_engine::Output::Onsets),
    })
}
