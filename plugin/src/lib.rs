//! Cochlea as a CLAP and VST3 plugin (nice-plug).
//!
//! The plugin runs the engine's onset detection and pitch tracking on its input. It sends MIDI
//! notes from the tracked pitch (audio to MIDI, channel 1) and a trigger note at each onset
//! (channel 10), sample-accurate, while the audio passes through delayed by exactly the latency
//! it reports. That latency covers the longest delay of the events it sends, so after the host's
//! latency compensation every note lands where it was played. Parameters: bypass, the onset
//! settings, the trigger note's key and length, the pitch notes' settings and pitch range.
//! Layouts: stereo and mono in/out.
//!
//! The wiring is split by concern: [`params`] (what the host sees), [`processor`] (the engine,
//! the latency delay, events to notes), [`scheduler`] (notes at their exact sample),
//! [`delay`] (the delay line). This file connects them to nice-plug.

use std::num::NonZeroU32;
use std::sync::Arc;

use nice_plug::midi::{Channel, Key, VoiceID};
use nice_plug::prelude::*;

pub mod delay;
pub mod params;
pub mod processor;
pub mod scheduler;

use params::CochleaParams;
use processor::Processor;
use scheduler::{NoteMessage, NoteScheduler, DEFAULT_CAPACITY};

/// Names of the stem outputs, in `Stem` order.
const STEM_PORTS: [&str; 5] = [
    "Harmonic",
    "Percussive",
    "Residual",
    "Melody",
    "Accompaniment",
];

/// The plugin instance. The processor is built in `activate` (off the audio thread), sized for
/// the host's sample rate, channel count and maximum block size.
pub struct Cochlea {
    params: Arc<CochleaParams>,
    processor: Option<Processor>,
    /// Lives as long as the instance, across activations, so notes still sounding when the host
    /// resets or deactivates the plugin are ended at the next block.
    notes: NoteScheduler,
    release_notes: bool,
}

impl Default for Cochlea {
    fn default() -> Self {
        Self {
            params: Arc::new(CochleaParams::default()),
            processor: None,
            notes: NoteScheduler::new(DEFAULT_CAPACITY),
            release_notes: false,
        }
    }
}

fn to_note_event(m: NoteMessage) -> NoteEvent<()> {
    let (voice_id, channel, key) = (
        VoiceID::Wildcard,
        Channel::Number(m.channel),
        Key::Number(m.key),
    );
    if m.on {
        NoteEvent::NoteOn {
            timing: m.timing,
            voice_id,
            channel,
            key,
            velocity: m.velocity,
        }
    } else {
        NoteEvent::NoteOff {
            timing: m.timing,
            voice_id,
            channel,
            key,
            velocity: 0.0,
        }
    }
}

impl Plugin for Cochlea {
    const NAME: &'static str = "Cochlea";
    const VENDOR: &'static str = "Cochlea";
    const URL: &'static str = "https://example.invalid/cochlea";
    const EMAIL: &'static str = "cochlea@example.invalid";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    /// Stereo and mono main in/out; the main output is the stems' mix at the stem gains. The
    /// first two layouts add an auxiliary output per stem (the main output's channel count), in
    /// [`Stem`](cochlea_engine::separation::Stem) order, so a host can route them. They come
    /// first because a VST3 plugin's buses are fixed by its first layout (a VST3 host matches
    /// bus arrangements, it does not list layouts); the stem buses are not active by default
    /// there, and a host that leaves them so gets only the mix (nice-plug is patched for that:
    /// vendor/nice-plug/PATCHES.md). The last two have only the main ports, for CLAP hosts that
    /// want no stems.
    const AUDIO_IO_LAYOUTS: &'static [AudioIOLayout] = &[
        AudioIOLayout {
            main_input_channels: NonZeroU32::new(2),
            main_output_channels: NonZeroU32::new(2),
            aux_output_ports: &[new_nonzero_u32(2); 5],
            names: PortNames {
                layout: Some("Stereo with stems"),
                main_input: Some("Input"),
                main_output: Some("Mix"),
                aux_inputs: &[],
                aux_outputs: &STEM_PORTS,
            },
            ..AudioIOLayout::const_default()
        },
        AudioIOLayout {
            main_input_channels: NonZeroU32::new(1),
            main_output_channels: NonZeroU32::new(1),
            aux_output_ports: &[new_nonzero_u32(1); 5],
            names: PortNames {
                layout: Some("Mono with stems"),
                main_input: Some("Input"),
                main_output: Some("Mix"),
                aux_inputs: &[],
                aux_outputs: &STEM_PORTS,
            },
            ..AudioIOLayout::const_default()
        },
        AudioIOLayout {
            main_input_channels: NonZeroU32::new(2),
            main_output_channels: NonZeroU32::new(2),
            names: PortNames {
                layout: Some("Stereo"),
                main_input: Some("Input"),
                main_output: Some("Mix"),
                aux_inputs: &[],
                aux_outputs: &[],
            },
            ..AudioIOLayout::const_default()
        },
        AudioIOLayout {
            main_input_channels: NonZeroU32::new(1),
            main_output_channels: NonZeroU32::new(1),
            names: PortNames {
                layout: Some("Mono"),
                main_input: Some("Input"),
                main_output: Some("Mix"),
                aux_inputs: &[],
                aux_outputs: &[],
            },
            ..AudioIOLayout::const_default()
        },
    ];

    const MIDI_OUTPUT: MidiConfig = MidiConfig::Basic;

    type Editor = ();
    type SysExMessage = ();
    type BackgroundTask = ();

    fn params(&self) -> Arc<dyn Params> {
        self.params.clone()
    }

    fn activate(
        &mut self,
        layout: &AudioIOLayout,
        buffer_config: &BufferConfig,
        context: &mut impl ActivateContext<Self>,
    ) -> bool {
        let channels = layout.main_output_channels.map_or(2, |c| c.get() as usize);
        let settings = self.params.settings();
        match Processor::new(
            buffer_config.sample_rate as f64,
            channels,
            buffer_config.max_buffer_size as usize,
            &settings,
        ) {
            Ok(processor) => {
                context.set_latency_samples(processor.latency_samples() as u32);
                self.processor = Some(processor);
                true
            }
            Err(e) => {
                nice_error!("Cochlea cannot run this stream: {e}");
                false
            }
        }
    }

    fn reset(&mut self) {
        if let Some(processor) = &mut self.processor {
            processor.reset();
        }
        self.notes.clear_pending();
        self.release_notes = true;
    }

    fn deactivate(&mut self) {
        self.processor = None;
        self.notes.clear_pending();
        self.release_notes = true;
    }

    fn process(
        &mut self,
        buffer: &mut Buffer,
        aux: &mut AuxiliaryBuffers,
        context: &mut impl ProcessContext<Self>,
    ) -> ProcessStatus {
        let Some(processor) = &mut self.processor else {
            return ProcessStatus::Error("process called before activate");
        };
        let mut send = |m: NoteMessage| {
            // A full host event queue loses the message; there is nowhere else to put it.
            let _ = context.try_send_event(to_note_event(m));
        };
        if self.release_notes && buffer.samples() > 0 {
            self.notes.release_all(0, &mut send);
            self.release_notes = false;
        }
        let settings = self.params.settings();
        let bypass = self.params.bypass.value();
        // The stem ports, in `Stem` order (a host may leave them out: they are then skipped).
        let mut ports = aux.outputs.iter_mut();
        let mut stems: [&mut [&mut [f32]]; 5] =
            std::array::from_fn(|_| ports.next().map_or(&mut [][..], |b| b.as_slice()));
        let report = processor.process(
            buffer.as_slice(),
            &mut stems,
            &settings,
            bypass,
            &mut self.notes,
            &mut send,
        );
        if let Some(latency) = report.latency_changed {
            // CLAP: nice-plug asks the host to restart the plugin, which then reads the latency
            // again; VST3: restartComponent(kLatencyChanged).
            context.set_latency_samples(latency);
        }
        if self.notes.is_idle() {
            // The delayed audio still has `latency` samples to come out after the input stops.
            ProcessStatus::Tail(processor.latency_samples() as u32)
        } else {
            ProcessStatus::KeepAlive
        }
    }
}

impl ClapPlugin for Cochlea {
    const CLAP_ID: &'static str = "org.cochlea.cochlea";
    const CLAP_DESCRIPTION: Option<&'static str> =
        Some("Listens to the music: pitch and onsets to MIDI notes, with latency-exact timing");
    const CLAP_MANUAL_URL: Option<&'static str> = None;
    const CLAP_SUPPORT_URL: Option<&'static str> = None;
    const CLAP_FEATURES: &'static [ClapFeature] = &[
        ClapFeature::AudioEffect,
        ClapFeature::Analyzer,
        ClapFeature::NoteDetector,
        ClapFeature::Stereo,
        ClapFeature::Mono,
    ];
}

impl Vst3Plugin for Cochlea {
    const VST3_CLASS_ID: [u8; 16] = *b"CochleaListenEng";
    const VST3_SUBCATEGORIES: &'static [Vst3SubCategory] =
        &[Vst3SubCategory::Fx, Vst3SubCategory::Analyzer];
}

nice_export_clap!(Cochlea);
nice_export_vst3!(Cochlea);
