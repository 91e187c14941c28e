//! Cochlea as a CLAP and VST3 plugin (nice-plug). At this stage the plugin runs the engine's
//! onset analysis on the input, passes the audio through unchanged (the audio path has no latency
//! yet), and reports the engine's latency to the host.

use std::sync::Arc;

use cochlea_engine::{Engine, EngineConfig, EventReceiver, Output};
use nice_plug::prelude::*;

/// The plugin instance. The engine is built in `activate` (off the audio thread), sized for the
/// host's sample rate and maximum block size.
pub struct Cochlea {
    params: Arc<CochleaParams>,
    engine: Option<(Engine, EventReceiver)>,
    input: Vec<Vec<f32>>,
}

/// The plugin's parameters.
#[derive(Params, Default)]
pub struct CochleaParams {}

impl Default for Cochlea {
    fn default() -> Self {
        Self {
            params: Arc::new(CochleaParams::default()),
            engine: None,
            input: Vec::new(),
        }
    }
}

impl Plugin for Cochlea {
    const NAME: &'static str = "Cochlea";
    const VENDOR: &'static str = "Cochlea";
    const URL: &'static str = "https://example.invalid/cochlea";
    const EMAIL: &'static str = "cochlea@example.invalid";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    const AUDIO_IO_LAYOUTS: &'static [AudioIOLayout] = &[
        AudioIOLayout {
            main_input_channels: NonZeroU32::new(2),
            main_output_channels: NonZeroU32::new(2),
            ..AudioIOLayout::const_default()
        },
        AudioIOLayout {
            main_input_channels: NonZeroU32::new(1),
            main_output_channels: NonZeroU32::new(1),
            ..AudioIOLayout::const_default()
        },
    ];

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
        let channels = layout.main_input_channels.map_or(2, |c| c.get() as usize);
        let max_block = buffer_config.max_buffer_size as usize;
        let config =
            EngineConfig::new(buffer_config.sample_rate as f64, channels, max_block.max(1));
        match Engine::new(config) {
            Ok((engine, rx)) => {
                context.set_latency_samples(engine.latency_samples(Output::Audio) as u32);
                self.input = vec![vec![0.0; max_block.max(1)]; channels];
                self.engine = Some((engine, rx));
                true
            }
            Err(_) => false,
        }
    }

    fn reset(&mut self) {
        if let Some((engine, rx)) = &mut self.engine {
            engine.reset();
            while rx.pop().is_some() {}
        }
    }

    fn process(
        &mut self,
        buffer: &mut Buffer,
        _aux: &mut AuxiliaryBuffers,
        _context: &mut impl ProcessContext<Self>,
    ) -> ProcessStatus {
        let Some((engine, rx)) = &mut self.engine else {
            return ProcessStatus::Error("not initialised");
        };
        let len = buffer.samples();
        let channels = buffer.as_slice();
        for (dst, src) in self.input.iter_mut().zip(channels.iter()) {
            dst[..len].copy_from_slice(&src[..len]);
        }
        let inputs: [&[f32]; 2] = [
            &self.input[0][..len],
            &self.input[self.input.len() - 1][..len],
        ];
        let n = channels.len().min(2);
        let (first, rest) = channels.split_at_mut(1);
        let result = if n == 2 {
            engine.process(&inputs, &mut [&mut first[0][..len], &mut rest[0][..len]])
        } else {
            engine.process(&inputs[..1], &mut [&mut first[0][..len]])
        };
        while rx.pop().is_some() {}
        match result {
            Ok(()) => ProcessStatus::Normal,
            Err(_) => ProcessStatus::Error("block does not fit the engine's configuration"),
        }
    }
}

impl ClapPlugin for Cochlea {
    const CLAP_ID: &'static str = "org.cochlea.cochlea";
    const CLAP_DESCRIPTION: Option<&'static str> =
        Some("Real-time music listening: onsets, pitch, notes, stems");
    const CLAP_MANUAL_URL: Option<&'static str> = None;
    const CLAP_SUPPORT_URL: Option<&'static str> = None;
    const CLAP_FEATURES: &'static [ClapFeature] = &[
        ClapFeature::AudioEffect,
        ClapFeature::Analyzer,
        ClapFeature::Stereo,
    ];
}

impl Vst3Plugin for Cochlea {
    const VST3_CLASS_ID: [u8; 16] = *b"CochleaListenEng";
    const VST3_SUBCATEGORIES: &'static [Vst3SubCategory] =
        &[Vst3SubCategory::Fx, Vst3SubCategory::Analyzer];
}

nice_export_clap!(Cochlea);
nice_export_vst3!(Cochlea);
