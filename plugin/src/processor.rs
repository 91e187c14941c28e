//! The plugin's signal path, free of any plugin API: the engine, the delay that brings the audio
//! to the reported latency, and the translation of engine events into scheduled MIDI notes.
//! Built in `activate` (where it allocates everything), run on the audio thread (where it never
//! allocates, locks or blocks).

use cochlea_engine::separation::{Stem, StemOutputs};
use cochlea_engine::{
    ConfigError, Engine, EngineConfig, EngineHandle, Event, EventReceiver, Output, MIN_NOTE_RANGE_S,
};

use crate::delay::DelayLine;
use crate::params::{Settings, NOTES_CHANNEL, TRIGGER_CHANNEL};
use crate::scheduler::{NoteMessage, NoteScheduler};

/// What one call to [`Processor::process`] reports back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockReport {
    /// The latency changed (a look-ahead change) to this many samples: tell the host.
    pub latency_changed: Option<u32>,
}

/// The engine wrapped for a plugin: audio in, audio out delayed by exactly
/// [`latency_samples`](Processor::latency_samples), note events out at their exact positions.
///
/// ```
/// use cochlea_plugin::params::Settings;
/// use cochlea_plugin::processor::Processor;
/// use cochlea_plugin::scheduler::NoteScheduler;
/// let settings = Settings::default();
/// let mut p = Processor::new(48_000.0, 2, 256, &settings).unwrap();
/// let latency = p.latency_samples();
/// let mut notes = NoteScheduler::new(64);
/// let (mut left, mut right) = (vec![0.0f32; 256], vec![0.0f32; 256]);
/// for _ in 0..40 {
///     left.fill(0.25); // processing is in place: the block holds the output afterwards
///     right.fill(0.25);
///     // No stem ports here: only the main output, the stems' mix.
///     p.process(&mut [&mut left, &mut right], &mut [], &settings, false, &mut notes, |_| {});
/// }
/// // At unity stem gains the output is the input, `latency` samples late: a constant by now.
/// assert!(latency > 0 && latency < 40 * 256);
/// assert!((left[255] - 0.25).abs() < 1e-4);
/// ```
pub struct Processor {
    engine: Engine,
    events: EventReceiver,
    handle: EngineHandle,
    channels: usize,
    max_block: usize,
    sample_rate: f64,
    /// The host's input, copied: the engine writes its output over the host buffer.
    input: [Vec<f32>; 2],
    delay: DelayLine,
    /// The dry input delayed by the whole latency: what bypass plays.
    dry: DelayLine,
    /// The engine's stems of the current chunk.
    stems: StemOutputs,
    /// One delay per stem, like `delay` for the main output.
    stem_delays: Vec<DelayLine>,
    /// Output position of the start of the next block (= input samples processed since reset).
    position: u64,
    latency: usize,
    lookahead: u32,
    /// Pitch notes sent (and counted in the latency).
    notes_on: bool,
    /// Minimum note length in force, seconds (part of the note delay).
    min_note_s: f32,
}

impl Processor {
    /// Builds the engine for this stream format and the current settings, and sizes the delay
    /// for the largest latency any look-ahead can need.
    pub fn new(
        sample_rate: f64,
        channels: usize,
        max_block: usize,
        settings: &Settings,
    ) -> Result<Self, ConfigError> {
        let config = engine_config(sample_rate, channels, max_block, settings);
        let max_lookahead = config.onset.max_lookahead_frames;
        let (engine, events) = Engine::new(config)?;
        let handle = engine.handle();
        let lookahead = handle.onset_lookahead();
        let min_note = handle.notes_min_length();
        // The largest latency: at the largest look-ahead and note length, notes on (set
        // briefly, before any audio runs).
        let _ = handle.set_onset_lookahead(max_lookahead);
        let _ = handle.set_notes_min_length(MIN_NOTE_RANGE_S.1);
        let max_latency = latency_of(&engine, true);
        let _ = handle.set_onset_lookahead(lookahead);
        let _ = handle.set_notes_min_length(min_note);
        let latency = latency_of(&engine, settings.notes);
        let audio_latency = engine.latency_samples(Output::Audio);
        let line = |max: usize, delay: usize| {
            let mut d = DelayLine::new(channels, max);
            d.set_delay(delay);
            d
        };
        let (max_extra, extra) = (max_latency - audio_latency, latency - audio_latency);
        let delay = line(max_extra, extra);
        let dry = line(max_latency, latency);
        let stem_delays = Stem::ALL.iter().map(|_| line(max_extra, extra)).collect();
        let stems = engine.make_stem_outputs();
        let max_block = max_block.max(1);
        Ok(Self {
            engine,
            events,
            handle,
            channels,
            max_block,
            sample_rate,
            input: [vec![0.0; max_block], vec![0.0; max_block]],
            delay,
            dry,
            stems,
            stem_delays,
            position: 0,
            latency,
            lookahead,
            notes_on: settings.notes,
            min_note_s: min_note,
        })
    }

    /// The latency the plugin reports, in samples: the audio is delayed by exactly this much,
    /// and it is at least the longest time the engine takes to emit an event.
    pub fn latency_samples(&self) -> usize {
        self.latency
    }

    /// Channels processed (1 or 2).
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Processes one host block in place (`audio` holds one slice per channel, any length):
    /// the main output is the stems' mix at the stem gains (the input, at unity gains). `stems`
    /// receives each stem, in [`Stem`] order, one port per stem with the main output's channels
    /// (missing ports, and ports whose channels are shorter than the block, are skipped),
    /// delayed like the main output. Notes due in this block go to
    /// `send` in time order, through `notes`. With `bypass` the dry input passes, delayed by the
    /// latency (the stems still come out), and no notes are sent (sounding ones end at the
    /// block's start).
    pub fn process(
        &mut self,
        audio: &mut [&mut [f32]],
        stems: &mut [&mut [&mut [f32]]],
        settings: &Settings,
        bypass: bool,
        notes: &mut NoteScheduler,
        mut send: impl FnMut(NoteMessage),
    ) -> BlockReport {
        let mut report = BlockReport {
            latency_changed: None,
        };
        self.apply(settings);
        let lookahead = settings.lookahead_frames.min(self.max_lookahead());
        if lookahead != self.lookahead
            || settings.notes != self.notes_on
            || settings.min_note_s != self.min_note_s
        {
            if lookahead != self.lookahead {
                self.lookahead = lookahead;
                let _ = self.handle.set_onset_lookahead(lookahead);
            }
            if settings.min_note_s != self.min_note_s {
                self.min_note_s = settings.min_note_s;
                let _ = self.handle.set_notes_min_length(settings.min_note_s);
            }
            if settings.notes != self.notes_on {
                self.notes_on = settings.notes;
                // The pitch notes stop (or start) here: end the sounding ones.
                notes.release_channel(0, NOTES_CHANNEL, &mut send);
            }
            let latency = latency_of(&self.engine, self.notes_on);
            if latency != self.latency {
                self.latency = latency;
                let extra = latency - self.engine.latency_samples(Output::Audio);
                self.delay.set_delay(extra);
                self.dry.set_delay(latency);
                for d in &mut self.stem_delays {
                    d.set_delay(extra);
                }
                // Notes scheduled for the old alignment would land in the wrong place.
                notes.release_all(0, &mut send);
                report.latency_changed = Some(latency as u32);
            }
        }
        if bypass {
            notes.release_all(0, &mut send);
        }

        let len = audio.iter().map(|c| c.len()).min().unwrap_or(0);
        let block_start = self.position;
        let mut done = 0;
        while done < len {
            let n = (len - done).min(self.max_block);
            self.process_chunk(audio, stems, bypass, done, n);
            done += n;
            // Events leave the engine in stamp order; each is due `latency` after its stamp.
            while let Some(event) = self.events.pop() {
                if !bypass {
                    self.schedule(event, settings, notes);
                }
            }
        }
        self.position += len as u64;
        notes.emit(block_start, len, &mut send);
        report
    }

    fn process_chunk(
        &mut self,
        audio: &mut [&mut [f32]],
        stems: &mut [&mut [&mut [f32]]],
        bypass: bool,
        from: usize,
        n: usize,
    ) {
        let range = from..from + n;
        for (copy, host) in self.input.iter_mut().zip(audio.iter()) {
            copy[..n].copy_from_slice(&host[range.clone()]);
        }
        let inputs: [&[f32]; 2] = [&self.input[0][..n], &self.input[1][..n]];
        // A port the host gave no buffers (a VST3 bus it left inactive) has empty channels.
        let taken = |port: &&mut [&mut [f32]]| {
            !port.is_empty() && port.iter().all(|c| c.len() >= range.end)
        };
        // Without a stem port to fill, the engine resynthesises only the mix.
        let with_stems = stems.iter().any(taken);
        let mut outs = audio.iter_mut();
        let first = outs.next().map(|c| &mut c[range.clone()]);
        let second = outs.next().map(|c| &mut c[range.clone()]);
        let result = match (self.channels, first, second) {
            (1, Some(a), _) => {
                let mut out = [a];
                let r = if with_stems {
                    self.engine
                        .process_stems(&inputs[..1], &mut out, &mut self.stems)
                } else {
                    self.engine.process(&inputs[..1], &mut out)
                };
                self.delay.process(&mut out);
                let mut dry = [&mut self.input[0][..n]];
                self.dry.process(&mut dry);
                if bypass {
                    out[0].copy_from_slice(dry[0]);
                }
                r
            }
            (2, Some(a), Some(b)) => {
                let mut out = [a, b];
                let r = if with_stems {
                    self.engine
                        .process_stems(&inputs, &mut out, &mut self.stems)
                } else {
                    self.engine.process(&inputs, &mut out)
                };
                self.delay.process(&mut out);
                let (dry_l, dry_r) = self.input.split_at_mut(1);
                let mut dry = [&mut dry_l[0][..n], &mut dry_r[0][..n]];
                self.dry.process(&mut dry);
                if bypass {
                    out[0].copy_from_slice(dry[0]);
                    out[1].copy_from_slice(dry[1]);
                }
                r
            }
            _ => Ok(()),
        };
        // Chunks never exceed the engine's maximum and the layout is the one it was built for.
        debug_assert!(result.is_ok());
        for ((port, stem), delay) in stems.iter_mut().zip(Stem::ALL).zip(&mut self.stem_delays) {
            if !taken(port) {
                continue;
            }
            let mut chans = port.iter_mut();
            match (self.channels, chans.next(), chans.next()) {
                (1, Some(a), _) => {
                    let a = &mut a[range.clone()];
                    a.copy_from_slice(self.stems.channel(stem, 0));
                    delay.process(&mut [a]);
                }
                (2, Some(a), Some(b)) => {
                    let a = &mut a[range.clone()];
                    let b = &mut b[range.clone()];
                    a.copy_from_slice(self.stems.channel(stem, 0));
                    b.copy_from_slice(self.stems.channel(stem, 1));
                    delay.process(&mut [a, b]);
                }
                _ => {}
            }
        }
    }

    fn schedule(&mut self, event: Event, settings: &Settings, notes: &mut NoteScheduler) {
        let due = event.sample() + self.latency as u64;
        #[allow(clippy::single_match)]
        match event {
            Event::Onset { strength, .. } => {
                if let Some(key) = settings.trigger_key {
                    let length =
                        (settings.trigger_length_s as f64 * self.sample_rate).round() as u64;
                    if notes.note_on(due, TRIGGER_CHANNEL, key, onset_velocity(strength)) {
                        notes.note_off(due + length.max(1), TRIGGER_CHANNEL, key);
                    }
                }
            }
            Event::NoteOn {
                midi_note,
                velocity,
                ..
            } if self.notes_on => {
                notes.note_on(
                    due,
                    NOTES_CHANNEL,
                    midi_note.min(127),
                    velocity.clamp(1, 127) as f32 / 127.0,
                );
            }
            Event::NoteOff { midi_note, .. } if self.notes_on => {
                notes.note_off(due, NOTES_CHANNEL, midi_note.min(127));
            }
            _ => {}
        }
    }

    fn apply(&self, s: &Settings) {
        let h = &self.handle;
        if h.onset_method() != s.method {
            h.set_onset_method(s.method);
        }
        // The parameter ranges are the engine's ranges, so these are never refused.
        if h.onset_sensitivity() != s.sensitivity {
            let _ = h.set_onset_sensitivity(s.sensitivity);
        }
        if h.onset_min_interval() != s.min_interval_s {
            let _ = h.set_onset_min_interval(s.min_interval_s);
        }
        if h.onset_silence_gate() != s.silence_gate_db {
            let _ = h.set_onset_silence_gate(s.silence_gate_db);
        }
        if h.notes_stability() != s.stability_cents {
            let _ = h.set_notes_stability(s.stability_cents);
        }
        if h.pitch_voicing_threshold() != s.voicing_threshold {
            let _ = h.set_pitch_voicing_threshold(s.voicing_threshold);
        }
        for stem in Stem::ALL {
            let g = s.stem_gains[stem as usize];
            if h.stem_gain(stem) != g {
                let _ = h.set_stem_gain(stem, g);
            }
        }
    }

    fn max_lookahead(&self) -> u32 {
        self.engine.config().onset.max_lookahead_frames
    }

    /// Back to the state of a fresh processor: engine reset, delay cleared, stream position 0.
    /// The caller ends sounding notes (see [`NoteScheduler::release_all`]).
    pub fn reset(&mut self) {
        self.engine.reset();
        while self.events.pop().is_some() {}
        self.delay.reset();
        self.dry.reset();
        for d in &mut self.stem_delays {
            d.reset();
        }
        self.position = 0;
    }

    /// Events the engine dropped because its queue was full (never expected: it is drained
    /// every block).
    pub fn dropped_events(&self) -> u64 {
        self.handle.dropped_events()
    }
}

/// The engine configuration the plugin runs for this stream format and `settings`: onsets with
/// the onset settings, the separation (stems and their mix), and the pitch tracker and notes
/// always on (so turning the pitch notes on
/// needs no new engine; whether they are sent, and their delay counted in the latency, follows
/// `settings.notes`). The pitch range is fixed here: it sizes the analysis window.
pub fn engine_config(
    sample_rate: f64,
    channels: usize,
    max_block: usize,
    settings: &Settings,
) -> EngineConfig {
    let mut config = EngineConfig::new(sample_rate, channels, max_block.max(1));
    config.onset.method = settings.method;
    config.onset.sensitivity = settings.sensitivity;
    config.onset.min_interval_s = settings.min_interval_s;
    config.onset.silence_gate_db = settings.silence_gate_db;
    config.onset.lookahead_frames = settings
        .lookahead_frames
        .min(config.onset.max_lookahead_frames);
    config.pitch.fmin_hz = (settings.fmin_hz as f64).clamp(20.0, 1000.0);
    config.pitch.fmax_hz = (settings.fmax_hz as f64)
        .max(2.0 * config.pitch.fmin_hz)
        .min(5000.0)
        .min(sample_rate / 4.0);
    config.pitch.voicing_threshold = settings.voicing_threshold;
    config.notes.enabled = true;
    config.notes.min_note_s = settings.min_note_s;
    config.notes.stability_cents = settings.stability_cents;
    config.separation.enabled = true;
    config.separation.harmonic_margin = settings.margins.0.clamp(1.0, 8.0);
    config.separation.percussive_margin = settings.margins.1.clamp(1.0, 8.0);
    config.separation.lookahead_frames = settings.separation_lookahead.min(16);
    config.separation.gains = settings.stem_gains;
    config
}

/// The reported latency for the engine's current parameters: the audio latency, or the longest
/// delay of the events sent (onsets, and the pitch notes when `notes` are on) if that is longer.
pub fn latency_of(engine: &Engine, notes: bool) -> usize {
    let notes = if notes {
        engine.max_event_delay_samples(Output::Notes)
    } else {
        0
    };
    engine
        .latency_samples(Output::Audio)
        .max(engine.max_event_delay_samples(Output::Onsets))
        .max(notes)
}

/// Note velocity for an onset of this strength (1 at the detection threshold): 0.5 at the
/// threshold, rising towards 1 for onsets far above it.
fn onset_velocity(strength: f32) -> f32 {
    let s = strength.max(0.0);
    (s / (s + 1.0)).clamp(1.0 / 127.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn velocity_grows_with_strength() {
        assert_eq!(onset_velocity(1.0), 0.5);
        assert!(onset_velocity(4.0) > onset_velocity(2.0));
        assert!(onset_velocity(1e9) <= 1.0);
        assert_eq!(onset_velocity(f32::NAN), 1.0 / 127.0);
    }
}
