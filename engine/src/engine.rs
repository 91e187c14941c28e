//! The [`Engine`]: connects the stages, owns the stream position and the event queue.

use std::sync::Arc;

use crate::config::EngineConfig;
use crate::error::{ConfigError, ProcessError};
use crate::event::{self, Event, EventReceiver, EventSender, Stats};
use crate::framer::History;
use crate::notes::NoteTracker;
use crate::onset::OnsetDetector;
use crate::params::{EngineHandle, NotesParams, OnsetParams, PitchParams, Shared, StemParams};
use crate::pitch::PitchTracker;
use crate::sanitize::sanitize;
use crate::separation::f0::MelodyStage;
use crate::separation::{Separator, StemOutputs};

/// The melody tracker's hop in separation hops (11.6 ms at 44.1 kHz): one hop costs twice as much
/// and separates no better (on the dev mixes, hop 256 against 512 at 44.1 kHz: RPA 0.886 / 0.896,
/// voicing false alarm 0.124 / 0.140, melody stem SDR median 10.75 / 11.13 dB).
const MELODY_HOPS: usize = 2;

/// An output whose latency can be asked for with [`Engine::latency_samples`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Output {
    /// The audio written by [`Engine::process`]: sample `n` of the output is input sample
    /// `n - latency` (0 without separation; with it, the stems and their mix share one latency,
    /// see [`crate::separation`]).
    Audio,
    /// Onset events: an onset at stream position `t` is emitted (pushed to the queue) while
    /// processing position `t + latency` at the earliest (a rise spanning several frames adds a
    /// hop for each), and never later than [`Engine::max_event_delay_samples`] after `t`.
    Onsets,
    /// Pitch events: the frame centred at `t` is emitted while processing position
    /// `t + latency` (exactly). See [`crate::pitch`].
    Pitch,
    /// Melody events: the frame describing `t` is emitted while processing `t + latency`
    /// (exactly). See [`crate::melody`].
    Melody,
    /// Note events: a `NoteOn` at `t` is emitted while processing `t + latency` or later (later
    /// when the note's start is stamped at an onset before its first voiced frame). See
    /// [`crate::notes`].
    Notes,
}

/// The streaming engine. Construct once (this allocates everything), then call
/// [`process`](Engine::process) from the audio thread with blocks of any length up to the
/// configured maximum: it never allocates, locks, logs or blocks.
///
/// ```
/// use cochlea_engine::{Engine, EngineConfig, Output};
/// let (mut engine, mut events) = Engine::new(EngineConfig::new(48_000.0, 2, 480)).unwrap();
/// let left = vec![0.0f32; 480];
/// let right = vec![0.0f32; 480];
/// let (mut out_l, mut out_r) = (vec![0.0f32; 480], vec![0.0f32; 480]);
/// engine.process(&[&left, &right], &mut [&mut out_l, &mut out_r]).unwrap();
/// assert_eq!(engine.position(), 480);
/// assert!(engine.latency_samples(Output::Onsets) > 0);
/// assert!(events.pop().is_none());
/// ```
pub struct Engine {
    config: EngineConfig,
    shared: Arc<Shared>,
    events: EventSender,
    mono: Vec<f32>,
    history: History,
    onset: Option<OnsetDetector>,
    pitch: Option<PitchTracker>,
    notes: Option<NoteTracker>,
    separator: Option<Separator>,
    melody: Option<MelodyStage>,
    position: u64,
}

impl Engine {
    /// Validates `config`, allocates every buffer and plans every FFT. Returns the engine and the
    /// receiving end of its event queue.
    pub fn new(config: EngineConfig) -> Result<(Engine, EventReceiver), ConfigError> {
        config.validate()?;
        let stats = Arc::new(Stats::default());
        let (events, receiver) = event::channel(config.event_capacity, stats.clone());
        let shared = Arc::new(Shared {
            onset: OnsetParams::new(&config.onset),
            pitch: PitchParams::new(&config.pitch),
            notes: NotesParams::new(&config.notes),
            stems: StemParams::new(&config.separation),
            stats,
        });
        // Notes are built from onsets and pitch: those stages run (without sending their own
        // events unless enabled) whenever notes are on.
        let sr = config.sample_rate;
        let notes_onsets = config.notes.enabled && config.notes.use_onsets;
        let onset =
            (config.onset.enabled || notes_onsets).then(|| OnsetDetector::new(&config.onset, sr));
        let pitch = (config.pitch.enabled || config.notes.enabled)
            .then(|| PitchTracker::new(&config.pitch, sr));
        let notes = pitch
            .as_ref()
            .filter(|_| config.notes.enabled)
            .map(|p| NoteTracker::new(p.hop(), sr));
        let sep_hop = config.separation.hop_samples(sr);
        let mut melody = (config.melody.enabled || config.separation.enabled)
            .then(|| MelodyStage::new(sr, MELODY_HOPS * sep_hop, &config.melody.tracker));
        let separator = if config.separation.enabled {
            // The comb of frame j needs the melody frame nearest to j's instant (one hop before
            // its end): up to half a melody hop later, and the tracker describes `delay` before
            // what it has heard, computed `offset` after its hop. Enough look-ahead makes it
            // available in time.
            let timing = melody.as_ref().map(|m| (m.hop(), m.delay_samples()));
            let need = |offset: usize| {
                timing.map_or(0, |(hop, delay)| {
                    (hop / 2 + delay + offset)
                        .div_ceil(sep_hop)
                        .saturating_sub(1)
                })
            };
            // When the look-ahead allows, the tracker's frames are computed half a separation
            // hop after the separator's, keyed to the stream position (so results do not depend
            // on the block size): the blocks that complete a separation frame no longer run the
            // tracker too. Not when melody events are sent: they would leave half a hop later.
            let offset = sep_hop / 2;
            let defer = !config.melody.enabled
                && config.separation.lookahead_frames as usize >= need(offset);
            if defer {
                if let Some(m) = &mut melody {
                    m.defer(offset);
                }
            }
            let need = need(if defer { offset } else { 0 });
            Some(Separator::with_min_lookahead(
                &config.separation,
                sr,
                config.channels,
                config.max_block_size,
                need,
            )?)
        } else {
            None
        };
        let history_len = onset
            .as_ref()
            .map_or(1, |o| o.history_len())
            .max(pitch.as_ref().map_or(1, |p| p.history_len()))
            .max(melody.as_ref().map_or(1, |m| m.history_len()));
        let engine = Engine {
            mono: vec![0.0; config.max_block_size],
            history: History::new(history_len),
            onset,
            pitch,
            notes,
            separator,
            melody,
            events,
            shared,
            config,
            position: 0,
        };
        Ok((engine, receiver))
    }

    /// A handle for changing parameters and reading counters from other threads.
    pub fn handle(&self) -> EngineHandle {
        EngineHandle {
            shared: self.shared.clone(),
        }
    }

    /// The configuration the engine was built with (run-time parameters are read through
    /// [`EngineHandle`]).
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Input samples processed since construction or the last [`reset`](Engine::reset).
    pub fn position(&self) -> u64 {
        self.position
    }

    /// Latency of `output` in samples, with the parameters in force now.
    pub fn latency_samples(&self, output: Output) -> usize {
        match output {
            Output::Audio => self.separator.as_ref().map_or(0, |s| s.latency_samples()),
            Output::Onsets => self.onset.as_ref().map_or(0, |o| {
                o.latency_samples(self.shared.onset.snapshot().lookahead_frames)
            }),
            Output::Pitch => self.pitch.as_ref().map_or(0, |p| p.latency_samples()),
            Output::Melody => self.melody.as_ref().map_or(0, |m| m.delay_samples()),
            Output::Notes => match (&self.pitch, &self.notes) {
                (Some(p), Some(n)) => {
                    p.latency_samples() + n.latency_samples(self.shared.notes.snapshot().min_note_s)
                }
                _ => 0,
            },
        }
    }

    /// The melody hop in samples, two separation hops (0 if neither melody nor separation is on).
    pub fn melody_hop_samples(&self) -> usize {
        self.melody.as_ref().map_or(0, |m| m.hop())
    }

    /// The pitch analysis hop in samples (0 if neither pitch nor notes are on).
    pub fn pitch_hop_samples(&self) -> usize {
        self.pitch.as_ref().map_or(0, |p| p.hop())
    }

    /// The onset analysis hop in samples (0 if onset detection is off).
    pub fn onset_hop_samples(&self) -> usize {
        self.onset.as_ref().map_or(0, |o| o.hop())
    }

    /// The longest delay, in samples, between the stream position an output describes and the
    /// processing position at which it leaves the engine, with the parameters in force now. For
    /// [`Output::Audio`] it is the audio latency. An event stamped `t` is emitted at a processing
    /// position no later than `t + max_event_delay_samples`, whatever the block size: a host that
    /// delays everything by this much (a plugin reporting it as latency) can place every event at
    /// its exact position.
    ///
    /// ```
    /// use cochlea_engine::{Engine, EngineConfig, Output};
    /// let (mut engine, mut events) = Engine::new(EngineConfig::new(44_100.0, 1, 64)).unwrap();
    /// let bound = engine.max_event_delay_samples(Output::Onsets) as u64;
    /// assert!(bound >= engine.latency_samples(Output::Onsets) as u64);
    /// // A slow swell then a click: each onset leaves within the bound.
    /// let signal: Vec<f32> = (0..44_100)
    ///     .map(|i| {
    ///         let swell = (i as f32 / 20_000.0).min(1.0) * (i as f32 * 0.05).sin() * 0.3;
    ///         if i == 30_000 { 1.0 } else { swell }
    ///     })
    ///     .collect();
    /// let mut out = vec![0.0f32; 64];
    /// for block in signal.chunks(64) {
    ///     engine.process(&[block], &mut [&mut out[..block.len()]]).unwrap();
    ///     for event in events.drain() {
    ///         assert!(engine.position() - event.sample() <= bound + 64);
    ///     }
    /// }
    /// ```
    pub fn max_event_delay_samples(&self, output: Output) -> usize {
        match output {
            Output::Audio => self.latency_samples(Output::Audio),
            Output::Onsets => self.onset.as_ref().map_or(0, |o| {
                o.max_delay_samples(self.shared.onset.snapshot().lookahead_frames)
            }),
            Output::Pitch => self.latency_samples(Output::Pitch),
            Output::Melody => self.latency_samples(Output::Melody),
            Output::Notes => match (&self.pitch, &self.notes) {
                (Some(p), Some(n)) => {
                    p.latency_samples()
                        + n.max_delay_samples(self.shared.notes.snapshot().min_note_s)
                }
                _ => 0,
            },
        }
    }

    /// Processes one block: `input` and `output` hold one slice per configured channel, all of
    /// the same length (0 to `max_block_size`). Events go to the queue; the audio written is the
    /// input, sanitised (non-finite samples become 0), delayed by
    /// [`latency_samples(Output::Audio)`](Engine::latency_samples) (0 without separation). With
    /// separation on it is the stems' mix at the current stem gains (the input itself, delayed,
    /// when every gain is 1).
    ///
    /// On error nothing is processed and the engine is unchanged.
    pub fn process(
        &mut self,
        input: &[&[f32]],
        output: &mut [&mut [f32]],
    ) -> Result<(), ProcessError> {
        self.run(input, output, None)
    }

    /// As [`process`](Engine::process), and also writes each stem of the separation to `stems`
    /// (from [`make_stem_outputs`](Engine::make_stem_outputs)), delayed like the audio output.
    /// Fails with [`ProcessError::Stems`] when separation is off.
    ///
    /// [`process`](Engine::process) resynthesises only the mix (a quarter of the inverse FFTs),
    /// so call this one for every block of a stream whose stems you want: the stems of the
    /// first [`latency_samples(Output::Audio)`](Engine::latency_samples) after blocks through
    /// `process` lack those blocks' frames. The mix is the same either way.
    ///
    /// ```
    /// use cochlea_engine::{Engine, EngineConfig, Output};
    /// use cochlea_engine::separation::Stem;
    /// let mut config = EngineConfig::new(48_000.0, 1, 480);
    /// config.separation.enabled = true;
    /// let (mut engine, _events) = Engine::new(config).unwrap();
    /// let mut stems = engine.make_stem_outputs();
    /// let tone: Vec<f32> = (0..48_000).map(|i| (i as f32 * 0.06).sin() * 0.3).collect();
    /// let mut out = vec![0.0f32; 480];
    /// let (mut harmonic, mut percussive) = (0.0f32, 0.0f32);
    /// for block in tone.chunks(480) {
    ///     engine.process_stems(&[block], &mut [&mut out], &mut stems).unwrap();
    ///     harmonic += stems.channel(Stem::Harmonic, 0).iter().map(|x| x * x).sum::<f32>();
    ///     percussive += stems.channel(Stem::Percussive, 0).iter().map(|x| x * x).sum::<f32>();
    /// }
    /// // A steady tone is harmonic.
    /// assert!(harmonic > 100.0 * percussive);
    /// ```
    pub fn process_stems(
        &mut self,
        input: &[&[f32]],
        output: &mut [&mut [f32]],
        stems: &mut StemOutputs,
    ) -> Result<(), ProcessError> {
        self.run(input, output, Some(stems))
    }

    /// Storage for [`process_stems`](Engine::process_stems), sized for this engine's channels
    /// and maximum block size. Allocates: call it outside the audio thread.
    pub fn make_stem_outputs(&self) -> StemOutputs {
        StemOutputs::new(self.config.channels, self.config.max_block_size)
    }

    fn run(
        &mut self,
        input: &[&[f32]],
        output: &mut [&mut [f32]],
        mut stems: Option<&mut StemOutputs>,
    ) -> Result<(), ProcessError> {
        let channels = self.config.channels;
        let layout = ProcessError::Layout { expected: channels };
        if input.len() != channels || output.len() != channels {
            return Err(layout);
        }
        let len = input[0].len();
        if input.iter().any(|c| c.len() != len) || output.iter().any(|c| c.len() != len) {
            return Err(layout);
        }
        if len > self.config.max_block_size {
            return Err(ProcessError::BlockTooLong {
                len,
                max: self.config.max_block_size,
            });
        }
        if let Some(st) = stems.as_deref_mut() {
            if self.separator.is_none() || st.channels() != channels || st.max_block_size() < len {
                return Err(ProcessError::Stems);
            }
            st.set_len(len);
        }
        let gains = self.shared.stems.snapshot();
        let scale = 1.0 / channels as f32;
        // Channel by channel, so that each loop runs over contiguous samples; the mix adds the
        // channels in the same order as a per-sample sum would.
        let mono = &mut self.mono[..len];
        mono.fill(0.0);
        for (inp, out) in input.iter().zip(output.iter_mut()) {
            for ((m, o), &x) in mono.iter_mut().zip(out.iter_mut()).zip(inp.iter()) {
                let x = sanitize(x);
                *o = x;
                *m += x;
            }
        }
        for m in mono.iter_mut() {
            *m *= scale;
        }
        let mut pos = 0;
        while pos < len {
            // Up to the nearest frame boundary of any stage.
            let mut step = len - pos;
            if let Some(o) = &self.onset {
                step = step.min(o.until_next());
            }
            if let Some(p) = &self.pitch {
                step = step.min(p.until_next());
            }
            if let Some(s) = &self.separator {
                step = step.min(s.until_next());
            }
            if let Some(m) = &self.melody {
                step = step.min(m.until_next());
            }
            self.history.extend(&self.mono[pos..pos + step]);
            self.position += step as u64;
            if let Some(o) = &mut self.onset {
                if let Some(onset) = o.advance(step, &self.history, &self.shared.onset) {
                    if self.config.onset.enabled {
                        self.events.send(onset);
                    }
                    if let (Some(n), true) = (&mut self.notes, self.config.notes.use_onsets) {
                        n.onset(onset.sample());
                    }
                }
            }
            if let Some(p) = &mut self.pitch {
                let send = self.config.pitch.enabled;
                let frame = p.advance(
                    step,
                    &self.history,
                    &self.shared.pitch,
                    &mut self.events,
                    send,
                );
                if let (Some(frame), Some(n)) = (frame, &mut self.notes) {
                    n.frame(&frame, &self.shared.notes, &mut self.events);
                }
            }
            if let Some(m) = &mut self.melody {
                if let Some((sample, frame)) = m.advance(step, &self.history) {
                    if self.config.melody.enabled {
                        self.events.send(Event::Melody {
                            sample,
                            f0_hz: frame.f0_hz,
                            salience: frame.salience,
                        });
                    }
                }
            }
            if let Some(s) = &mut self.separator {
                let melody = &self.melody;
                let mut f0 = |instant: u64| melody.as_ref().map_or(0.0, |m| m.f0_at(instant));
                s.advance(output, pos, step, stems.as_deref_mut(), gains, &mut f0);
            }
            pos += step;
        }
        Ok(())
    }

    /// Ends the stream: closes the sounding note, if any, with a `NoteOff` stamped at the end of
    /// the last pitch frame decided (or where voicing stopped). Every `NoteOn` thus gets its
    /// `NoteOff`. Processing may continue afterwards (a later note starts afresh). Never
    /// allocates; does nothing when notes are off.
    pub fn finish(&mut self) {
        if let Some(n) = &mut self.notes {
            n.close(&mut self.events);
        }
    }

    /// Returns to the state of a freshly constructed engine (stream position 0), without
    /// allocating. Parameters keep their current values; events already queued stay queued.
    /// A sounding note is closed first (as by [`finish`](Engine::finish)): its `NoteOff`, stamped
    /// in the old stream's positions, is the last event before the reset.
    pub fn reset(&mut self) {
        self.finish();
        self.history.reset();
        if let Some(o) = &mut self.onset {
            o.reset(self.shared.onset.snapshot().method);
        }
        if let Some(p) = &mut self.pitch {
            p.reset();
        }
        if let Some(n) = &mut self.notes {
            n.reset();
        }
        if let Some(s) = &mut self.separator {
            s.reset_with_gains(self.shared.stems.snapshot());
        }
        if let Some(m) = &mut self.melody {
            m.reset();
        }
        self.position = 0;
    }
}
