//! Offline analysis: a thin loop over the real-time engine, fed block by block exactly as a host
//! would, so files and live input give the same results.
//!
//! [`Feeder`] is that loop; [`analyze_file`] streams one file through it into the
//! [`Writer`](crate::output::Writer)s of its [`Destination`] (nothing accumulates in memory) and
//! commits the outputs and the JSON summary only when the whole file succeeded; [`analyze`] is
//! the in-memory convenience used by the scoring tools and tests.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use cochlea_engine::separation::StemOutputs;
use cochlea_engine::{ConfigError, Engine, EngineConfig, Event, EventReceiver, Output};
use serde_json::json;

use crate::audio::{Audio, AudioReader};
use crate::exit::{self, Failure};
use crate::output::summary::{self, EventCounts};
use crate::output::{Destination, Staging};
use crate::settings::AnalysisSettings;

/// Block size used to feed files through the engine. Results do not depend on it.
pub const FILE_BLOCK: usize = 1024;

/// Frames decoded per read when streaming a file.
const READ_FRAMES: usize = 8192;

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

/// Channels the engine analyses for an input with `input_channels`: stereo stays stereo,
/// anything else is mixed to mono.
pub fn engine_channels(input_channels: usize) -> usize {
    if input_channels == 2 {
        2
    } else {
        1
    }
}

/// The real-time engine with the loop that feeds it: input of any channel count and any length
/// goes in, the engine sees blocks of at most `block` frames (stereo kept, other layouts mixed to
/// mono), and its events are drained after every block so the queue never overflows.
///
/// ```
/// use cochlea::analyze::Feeder;
/// use cochlea_engine::EngineConfig;
/// let mut feeder = Feeder::new(EngineConfig::new(44_100.0, 1, 1), 1, 512).unwrap();
/// let mut click = vec![0.0f32; 44_100];
/// click[22_050] = 1.0;
/// let mut events = Vec::new();
/// feeder.feed(&[&click], &mut events, |_audio| Ok::<(), ()>(())).unwrap();
/// assert_eq!(events.len(), 1);
/// ```
pub struct Feeder {
    engine: Engine,
    events: EventReceiver,
    block: usize,
    input_channels: usize,
    mix: Vec<f32>,
    out: Vec<Vec<f32>>,
    /// The stems of the last block, when the engine separates.
    stems: Option<StemOutputs>,
}

impl Feeder {
    /// An engine for `input_channels` of audio at `config.sample_rate`, fed `block` frames at a
    /// time (`config.channels` and `config.max_block_size` are set from these).
    pub fn new(
        mut config: EngineConfig,
        input_channels: usize,
        block: usize,
    ) -> Result<Self, ConfigError> {
        config.channels = engine_channels(input_channels);
        config.max_block_size = block;
        let channels = config.channels;
        let separate = config.separation.enabled;
        let (engine, events) = Engine::new(config)?;
        Ok(Self {
            stems: separate.then(|| engine.make_stem_outputs()),
            engine,
            events,
            block,
            input_channels,
            mix: if input_channels > 2 {
                vec![0.0; block]
            } else {
                Vec::new()
            },
            out: vec![vec![0.0; block]; channels],
        })
    }

    /// The engine (for its configuration and latencies).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Events the engine dropped because its queue was full.
    pub fn dropped(&self) -> u64 {
        self.events.dropped()
    }

    /// Ends the stream: the engine closes a sounding note ([`Engine::finish`]) and the events
    /// that gives are appended to `events`.
    pub fn finish(&mut self, events: &mut Vec<Emitted>) {
        self.engine.finish();
        let at = self.engine.position();
        events.extend(self.events.drain().map(|event| Emitted {
            event,
            emitted_at: at,
        }));
    }

    /// Feeds `input` (one slice per input channel, all the same length) through the engine.
    /// After each engine block, `on_audio` gets the engine's audio output and the events it
    /// produced are appended to `events`.
    pub fn feed<E>(
        &mut self,
        input: &[&[f32]],
        events: &mut Vec<Emitted>,
        mut on_audio: impl FnMut(&[&[f32]]) -> Result<(), E>,
    ) -> Result<(), E> {
        self.feed_with_stems(input, events, |audio, _| on_audio(audio))
    }

    /// As [`feed`](Feeder::feed), and `on_block` also gets the block's stems when the engine
    /// separates (`config.separation.enabled`).
    pub fn feed_with_stems<E>(
        &mut self,
        input: &[&[f32]],
        events: &mut Vec<Emitted>,
        mut on_block: impl FnMut(&[&[f32]], Option<&StemOutputs>) -> Result<(), E>,
    ) -> Result<(), E> {
        assert_eq!(input.len(), self.input_channels, "one slice per channel");
        let n = input.first().map_or(0, |c| c.len());
        let mut start = 0;
        while start < n {
            let len = self.block.min(n - start);
            let end = start + len;
            let mut outs: Vec<&mut [f32]> = self.out.iter_mut().map(|o| &mut o[..len]).collect();
            let mixed;
            let ins: Vec<&[f32]> = if self.input_channels > 2 {
                let scale = 1.0 / self.input_channels as f32;
                for (i, m) in self.mix[..len].iter_mut().enumerate() {
                    *m = input.iter().map(|c| c[start + i]).sum::<f32>() * scale;
                }
                mixed = &self.mix[..len];
                vec![mixed]
            } else {
                input.iter().map(|c| &c[start..end]).collect()
            };
            let result = match &mut self.stems {
                Some(stems) => self.engine.process_stems(&ins, &mut outs, stems),
                None => self.engine.process(&ins, &mut outs),
            };
            // The block never exceeds the configured maximum and the layout matches.
            result.expect("block fits the configuration");
            let at = self.engine.position();
            events.extend(self.events.drain().map(|event| Emitted {
                event,
                emitted_at: at,
            }));
            let audio: Vec<&[f32]> = self.out.iter().map(|o| &o[..len]).collect();
            on_block(&audio, self.stems.as_ref())?;
            start = end;
        }
        Ok(())
    }

    /// Completes the delayed audio at the end of a stream: feeds the engine
    /// [`latency_samples(Output::Audio)`](Engine::latency_samples) frames of silence (nothing
    /// when the audio path has no latency), giving each block to `on_block`. Events produced
    /// meanwhile are discarded: they would describe the silence, not the input.
    pub fn flush<E>(
        &mut self,
        mut on_block: impl FnMut(&[&[f32]], Option<&StemOutputs>) -> Result<(), E>,
    ) -> Result<(), E> {
        let latency = self.engine.latency_samples(Output::Audio);
        let zeros = vec![0.0f32; latency];
        let input: Vec<&[f32]> = (0..self.input_channels).map(|_| zeros.as_slice()).collect();
        let mut discarded = Vec::new();
        self.feed_with_stems(&input, &mut discarded, &mut on_block)
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
    config.sample_rate = audio.sample_rate as f64;
    let mut feeder = Feeder::new(config, audio.channels.len(), block)?;
    let inputs: Vec<&[f32]> = audio.channels.iter().map(|c| c.as_slice()).collect();
    let mut events = Vec::new();
    feeder
        .feed(&inputs, &mut events, |_| Ok::<(), ()>(()))
        .expect("no audio sink");
    feeder.finish(&mut events);
    Ok(Analysis {
        sample_rate: audio.sample_rate as f64,
        frames: audio.len() as u64,
        events,
        dropped: feeder.dropped(),
        onset_latency: feeder
            .engine()
            .latency_samples(cochlea_engine::Output::Onsets),
    })
}

/// How to analyse one file.
#[derive(Debug, Clone)]
pub struct FileJob<'a> {
    /// The input file.
    pub input: &'a Path,
    /// Where its outputs go.
    pub destination: &'a Destination,
    /// The analysis settings.
    pub settings: &'a AnalysisSettings,
    /// Engine block size (results do not depend on it).
    pub block: usize,
    /// Overwrite existing outputs.
    pub force: bool,
}

/// What one successfully analysed file gave.
#[derive(Debug, Clone)]
pub struct FileResult {
    /// Sample rate of the file, in Hz.
    pub sample_rate: u32,
    /// Channels in the file.
    pub channels: usize,
    /// Frames analysed.
    pub frames: u64,
    /// Events by kind.
    pub counts: EventCounts,
    /// Events dropped by the engine's queue.
    pub dropped: u64,
    /// Wall-clock time spent.
    pub wall: Duration,
    /// The files written (committed).
    pub written: Vec<PathBuf>,
}

impl FileResult {
    /// Duration of the audio, in seconds.
    pub fn duration_s(&self) -> f64 {
        self.frames as f64 / self.sample_rate as f64
    }
}

/// Streams `job.input` through the engine into its outputs. `progress` is told the seconds of
/// audio done after each read; `cancel` stops the work between reads. On any failure nothing is
/// left behind: outputs are staged and committed only at the end.
pub fn analyze_file(
    job: &FileJob,
    progress: &(dyn Fn(f64) + Sync),
    cancel: &AtomicBool,
) -> Result<FileResult, Failure> {
    let started = Instant::now();
    let path = job.input;
    let input_err = |e: crate::audio::AudioError| Failure::new(e.exit_code(), e.to_string());
    let mut reader = AudioReader::open(path).map_err(input_err)?;
    let rate = reader.sample_rate();
    let mut config = job
        .settings
        .engine_config(rate as f64, engine_channels(reader.channels()), job.block)
        .map_err(|e| match e {
            ConfigError::SampleRate(_) => Failure::input(format!("{}: {e}", path.display())),
            e => Failure::usage(format!("invalid setting: {e}")),
        })?;
    // Only the analyses the selected outputs need.
    job.destination.configure(&mut config);
    let mut feeder = Feeder::new(config, reader.channels(), job.block)
        .map_err(|e| Failure::internal(format!("{}: {e}", path.display())))?;

    let mut staging = Staging::new(job.force);
    let mut writers = job.destination.writers(feeder.engine(), &mut staging)?;
    let mut counts = EventCounts::default();
    let mut buffers = vec![Vec::new(); reader.channels()];
    let mut events = Vec::new();
    loop {
        if cancel.load(Ordering::Relaxed) {
            return Err(Failure::new(
                exit::INTERRUPTED,
                format!("{}: interrupted", path.display()),
            ));
        }
        let n = reader.read(&mut buffers, READ_FRAMES).map_err(input_err)?;
        if n == 0 {
            break;
        }
        let slices: Vec<&[f32]> = buffers.iter().map(|b| b.as_slice()).collect();
        feeder.feed_with_stems(&slices, &mut events, |audio, stems| {
            writers.iter_mut().try_for_each(|w| {
                w.audio(audio)?;
                stems.map_or(Ok(()), |s| w.stems(s))
            })
        })?;
        for e in events.drain(..) {
            counts.add(&e);
            for w in writers.iter_mut() {
                w.event(&e)?;
            }
        }
        progress(n as f64 / rate as f64);
    }
    // End of stream: a sounding note is closed.
    feeder.finish(&mut events);
    for e in events.drain(..) {
        counts.add(&e);
        for w in writers.iter_mut() {
            w.event(&e)?;
        }
    }
    // The separated stems lag the input by the audio latency: complete them.
    feeder.flush(|audio, stems| {
        writers.iter_mut().try_for_each(|w| {
            w.audio(audio)?;
            stems.map_or(Ok(()), |s| w.stems(s))
        })
    })?;
    let frames = reader.frames_read();
    let mut sections = serde_json::Map::new();
    for (w, (kind, _)) in writers.into_iter().zip(&job.destination.outputs) {
        sections.insert(kind.name().into(), w.finish()?);
    }
    let wall = started.elapsed();
    let duration_s = frames as f64 / rate as f64;
    if let Some(summary_path) = &job.destination.summary {
        let engine = feeder.engine();
        let summary = json!({
            "cochlea": summary::tool("analyze"),
            "input": {
                "path": path.display().to_string(),
                "sample_rate": rate,
                "channels": reader.channels(),
                "frames": frames,
                "duration_s": duration_s,
            },
            "settings": {
                "block_size": job.block,
                "analysed_channels": engine.config().channels,
                "analysis": job.settings.to_json(),
            },
            "latency": summary::latencies(engine),
            "events": counts.to_json(feeder.dropped()),
            "outputs": sections,
            "processing": {
                "wall_s": wall.as_secs_f64(),
                "speed_x_realtime": duration_s / wall.as_secs_f64().max(1e-9),
            },
        });
        summary::write(&mut staging, summary_path, &summary)?;
    }
    let written = staging.commit()?;
    Ok(FileResult {
        sample_rate: rate,
        channels: reader.channels(),
        frames,
        counts,
        dropped: feeder.dropped(),
        wall,
        written,
    })
}
