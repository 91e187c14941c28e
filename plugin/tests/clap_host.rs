//! Cochlea.clap in a real CLAP host (clack-host): load, list and set parameters (by text, as
//! nice-plug exposes normalised values), choose each audio layout, activate at 44.1 and 48 kHz
//! with several block sizes, process a rendered piece, and check the reported latency, that the
//! output is the input delayed by exactly that latency, that the onset notes arrive at exactly
//! their onset plus the latency, bypass, latency changes (restart), state, deactivate, unload.
//!
//! The bundle `./run test` builds has nice-plug's `assert_process_allocs`: an allocation on the
//! audio thread aborts this test.

mod common;

use std::collections::HashMap;
use std::ffi::CString;
use std::sync::atomic::{AtomicBool, Ordering};

use clack_extensions::audio_ports_config::{AudioPortsConfigBuffer, PluginAudioPortsConfig};
use clack_extensions::latency::{HostLatency, HostLatencyImpl, PluginLatency};
use clack_extensions::note_ports::{NotePortInfoBuffer, PluginNotePorts};
use clack_extensions::params::{ParamInfoBuffer, ParamInfoFlags, PluginParams};
use clack_extensions::state::PluginState;
use clack_host::events::event_types::ParamValueEvent;
use clack_host::events::spaces::CoreEventSpace;
use clack_host::prelude::*;
use cochlea_plugin::params::{Settings, DEFAULT_TRIGGER_KEY, TRIGGER_CHANNEL};
use common::{assert_delayed, assert_notes, Expected, Note};

#[derive(Default)]
struct Shared {
    restart_requested: AtomicBool,
    callback_requested: AtomicBool,
    latency_changed: AtomicBool,
}

impl<'a> SharedHandler<'a> for Shared {
    fn request_restart(&self) {
        self.restart_requested.store(true, Ordering::SeqCst);
    }
    fn request_process(&self) {}
    fn request_callback(&self) {
        self.callback_requested.store(true, Ordering::SeqCst);
    }
}

struct MainThread<'a> {
    shared: &'a Shared,
}

impl<'a> MainThreadHandler<'a> for MainThread<'a> {}

impl HostLatencyImpl for MainThread<'_> {
    fn changed(&self) {
        self.shared.latency_changed.store(true, Ordering::SeqCst);
    }
}

struct TestHost;

impl HostHandlers for TestHost {
    type Shared<'a> = Shared;
    type MainThread<'a> = MainThread<'a>;
    type AudioProcessor<'a> = ();

    fn declare_extensions(builder: &mut HostExtensions<Self>, _shared: &Self::Shared<'_>) {
        builder.register::<HostLatency>();
    }
}

/// A parameter as listed: id, flags, min, max, default.
type ParamRow = (ClapId, ParamInfoFlags, f64, f64, f64);

/// CLAP calls the entry, the factory and every instance's main-thread functions from one main
/// thread. The test harness runs tests on several threads, so each test holds this lock: one
/// "main thread" at a time, as in a real host.
static MAIN_THREAD: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn main_thread() -> std::sync::MutexGuard<'static, ()> {
    MAIN_THREAD.lock().unwrap_or_else(|e| e.into_inner())
}

/// One loaded instance of Cochlea.clap.
struct Cochlea {
    instance: PluginInstance<TestHost>,
    params: PluginParams,
    ids: HashMap<String, ClapId>,
    /// Output ports of the selected layout: the main output, and the five stems or none.
    output_ports: usize,
    /// Main channels of the selected layout.
    channels: usize,
    // Kept last so the library is unloaded after the instance is destroyed.
    _entry: PluginEntry,
}

/// What one activation produced.
struct Run {
    latency: usize,
    output: Vec<Vec<f32>>,
    /// The five stem outputs (auxiliary ports), each as channels.
    stems: Vec<Vec<Vec<f32>>>,
    notes: Vec<Note>,
}

impl Cochlea {
    fn load() -> Self {
        let path = common::bundle("clap");
        let host_info =
            HostInfo::new("cochlea-tests", "Cochlea", "https://example.invalid", "0.1").unwrap();
        // SAFETY: loading a plugin runs its code; this is the plugin under test.
        let entry = unsafe { PluginEntry::load(&path) }
            .unwrap_or_else(|e| panic!("{} does not load: {e:?}", path.display()));
        let factory = entry.get_plugin_factory().expect("plugin factory");
        let descriptor = factory.plugin_descriptors().next().expect("one plugin");
        let id = CString::from(descriptor.id().expect("plugin id"));
        assert_eq!(id.to_str().unwrap(), "org.cochlea.cochlea");
        assert_eq!(descriptor.name().unwrap().to_str().unwrap(), "Cochlea");
        let mut instance = PluginInstance::<TestHost>::new(
            |_| Shared::default(),
            |shared| MainThread { shared },
            &entry,
            &id,
            &host_info,
        )
        .expect("instance");
        let params: PluginParams = instance
            .plugin_handle()
            .get_extension()
            .expect("params extension");
        let mut plugin = Self {
            instance,
            params,
            ids: HashMap::new(),
            // The default layout: stereo with the five stem ports.
            output_ports: 6,
            channels: 2,
            _entry: entry,
        };
        for (name, info) in plugin.list_params() {
            plugin.ids.insert(name, info.0);
        }
        plugin
    }

    /// Every parameter: name -> (id, flags, min, max, default).
    fn list_params(&mut self) -> Vec<(String, ParamRow)> {
        let handle = self.instance.plugin_handle();
        let mut buf = ParamInfoBuffer::new();
        (0..self.params.count(&handle))
            .map(|i| {
                let info = self.params.get_info(&handle, i, &mut buf).expect("info");
                let name = String::from_utf8_lossy(info.name).into_owned();
                (
                    name,
                    (
                        info.id,
                        info.flags,
                        info.min_value,
                        info.max_value,
                        info.default_value,
                    ),
                )
            })
            .collect()
    }

    fn id(&self, name: &str) -> ClapId {
        *self
            .ids
            .get(name)
            .unwrap_or_else(|| panic!("no parameter named {name:?}"))
    }

    /// The CLAP value of `text` for parameter `name`, through the plugin's own parser.
    fn value_of(&mut self, name: &str, text: &str) -> f64 {
        let id = self.id(name);
        let handle = self.instance.plugin_handle();
        self.params
            .text_to_value(&handle, id, &CString::new(text).unwrap())
            .unwrap_or_else(|| panic!("{name}: {text:?} is not understood"))
    }

    fn text_of(&mut self, name: &str, value: f64) -> String {
        let id = self.id(name);
        let handle = self.instance.plugin_handle();
        let mut buf = [0u8; 128];
        let text = self
            .params
            .value_to_text(&handle, id, value, &mut buf)
            .unwrap_or_else(|e| panic!("{name}: no text for {value}: {e:?}"));
        String::from_utf8_lossy(text).into_owned()
    }

    fn get(&mut self, name: &str) -> f64 {
        let id = self.id(name);
        let handle = self.instance.plugin_handle();
        self.params.get_value(&handle, id).expect("value")
    }

    /// Selects the layout with `channels` main input and output channels, with the five stem
    /// outputs or without (before activation).
    fn select_layout(&mut self, channels: u32, stems: bool) {
        let handle = self.instance.plugin_handle();
        let configs: PluginAudioPortsConfig = handle
            .get_extension()
            .expect("audio-ports-config extension");
        let mut buf = AudioPortsConfigBuffer::new();
        let mut chosen = None;
        for i in 0..configs.count(&handle) {
            let c = configs.get(&handle, i, &mut buf).expect("config");
            let main_in = c.main_input.as_ref().map(|p| p.channel_count);
            let main_out = c.main_output.as_ref().map(|p| p.channel_count);
            let ports = if stems { 6 } else { 1 };
            if main_in == Some(channels)
                && main_out == Some(channels)
                && c.output_port_count == ports
            {
                chosen = Some(c.id);
            }
        }
        let id = chosen.unwrap_or_else(|| panic!("no {channels}-channel layout, stems {stems}"));
        configs.select(&handle, id).expect("layout selected");
        self.output_ports = if stems { 6 } else { 1 };
        self.channels = channels as usize;
    }

    fn latency(&mut self) -> usize {
        let handle = self.instance.plugin_handle();
        let latency: PluginLatency = handle.get_extension().expect("latency extension");
        latency.get(&handle) as usize
    }

    fn shared_flag(&self, which: fn(&Shared) -> &AtomicBool) -> bool {
        self.instance
            .access_shared_handler(|s| which(s).swap(false, Ordering::SeqCst))
    }

    /// Activates at `sample_rate`, processes `input` in blocks cycling through `blocks`, sending
    /// `changes` (block index, parameter, CLAP value) at the start of their block, and
    /// deactivates. Returns the latency reported after activation, the output and the notes.
    fn run(
        &mut self,
        sample_rate: f64,
        blocks: &[usize],
        input: &[Vec<f32>],
        changes: &[(usize, &str, f64)],
    ) -> Run {
        let max_block = *blocks.iter().max().unwrap();
        let config = PluginAudioConfiguration {
            sample_rate,
            min_frames_count: 1,
            max_frames_count: max_block as u32,
        };
        let processor = self
            .instance
            .activate(|_, _| (), config)
            .expect("activates");
        // Let the plugin run what it queued for the main thread.
        self.instance.call_on_main_thread_callback();
        let latency = self.latency();
        let mut processor = processor.start_processing().expect("starts processing");

        let channels = input.len();
        assert_eq!(
            channels, self.channels,
            "the input has the layout's channel count"
        );
        let len = input[0].len();
        let mut output = vec![vec![0.0f32; len]; channels];
        let mut notes = Vec::new();
        let (mut in_ports, mut out_ports) = (
            AudioPorts::with_capacity(channels, 1),
            AudioPorts::with_capacity(self.output_ports * channels, self.output_ports),
        );
        let mut in_buf = vec![vec![0.0f32; max_block]; channels];
        // The main output, then the five stem ports.
        let mut out_buf = vec![vec![vec![0.0f32; max_block]; channels]; self.output_ports];
        let mut stems = vec![vec![vec![0.0f32; len]; channels]; 5];
        let ids: Vec<(usize, ClapId, f64)> = changes
            .iter()
            .map(|&(b, name, v)| (b, self.id(name), v))
            .collect();
        let mut pos = 0;
        let mut block_index = 0;
        while pos < len {
            let n = blocks[block_index % blocks.len()].min(len - pos);
            for (b, x) in in_buf.iter_mut().zip(input) {
                b[..n].copy_from_slice(&x[pos..pos + n]);
            }
            let mut in_events = EventBuffer::new();
            for &(_, id, value) in ids.iter().filter(|c| c.0 == block_index) {
                in_events.push(&ParamValueEvent::new(0, id, Pckn::match_all(), value));
            }
            let mut out_events = EventBuffer::new();
            {
                let in_audio = in_ports.with_input_buffers([AudioPortBuffer {
                    latency: 0,
                    channels: AudioPortBufferType::f32_input_only(
                        in_buf
                            .iter_mut()
                            .map(|c| InputChannel::variable(&mut c[..n])),
                    ),
                }]);
                let mut out_audio =
                    out_ports.with_output_buffers(out_buf.iter_mut().map(|port| AudioPortBuffer {
                        latency: 0,
                        channels: AudioPortBufferType::f32_output_only(
                            port.iter_mut().map(|c| &mut c[..n]),
                        ),
                    }));
                processor
                    .process(
                        &in_audio,
                        &mut out_audio,
                        &in_events.as_input(),
                        &mut out_events.as_output(),
                        None,
                        None,
                    )
                    .expect("processes");
            }
            for (o, b) in output.iter_mut().zip(&out_buf[0]) {
                o[pos..pos + n].copy_from_slice(&b[..n]);
            }
            for (stem, port) in stems.iter_mut().zip(&out_buf[1..]) {
                for (o, b) in stem.iter_mut().zip(port) {
                    o[pos..pos + n].copy_from_slice(&b[..n]);
                }
            }
            let mut last_time = 0;
            for event in out_events.iter() {
                let (on, raw) = match event.as_core_event() {
                    Some(CoreEventSpace::NoteOn(e)) => (true, *e.as_raw()),
                    Some(CoreEventSpace::NoteOff(e)) => (false, *e.as_raw()),
                    _ => continue,
                };
                let time = raw.header.time;
                assert!(
                    (time as usize) < n,
                    "event at {time} outside a block of {n}"
                );
                assert!(time >= last_time, "events out of order in a block");
                last_time = time;
                notes.push(Note {
                    time: (pos + time as usize) as u64,
                    on,
                    channel: raw.channel as u8,
                    key: raw.key as u8,
                    velocity: raw.velocity as f32,
                });
            }
            pos += n;
            block_index += 1;
        }
        // A host serves the plugin's main-thread requests while it runs (latency changes).
        if self.shared_flag(|s| &s.callback_requested) {
            self.instance.call_on_main_thread_callback();
        }
        let processor = processor.stop_processing();
        self.instance.deactivate(processor);
        Run {
            latency,
            output,
            stems,
            notes,
        }
    }
}

const PARAMETERS: [&str; 24] = [
    "Bypass",
    "Onset method",
    "Sensitivity",
    "Min interval",
    "Silence gate",
    "Look-ahead",
    "Onset trigger",
    "Trigger note",
    "Trigger length",
    "Pitch notes",
    "Min note length",
    "Pitch stability",
    "Voicing threshold",
    "Lowest pitch",
    "Highest pitch",
    "Harmonic gain",
    "Percussive gain",
    "Residual gain",
    "Melody gain",
    "Accompaniment gain",
    "Solo",
    "Harmonic margin",
    "Percussive margin",
    "Separation look-ahead",
];
/// Parameters that change the latency or the analysis window: not automatable.
const NOT_AUTOMATABLE: [&str; 8] = [
    "Look-ahead",
    "Pitch notes",
    "Min note length",
    "Lowest pitch",
    "Highest pitch",
    "Harmonic margin",
    "Percussive margin",
    "Separation look-ahead",
];

#[test]
fn parameters_have_names_units_ranges_and_a_bypass_the_host_recognises() {
    let _main_thread = main_thread();
    let mut plugin = Cochlea::load();
    let params = plugin.list_params();
    let names: Vec<&str> = params.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, PARAMETERS);
    let bypasses: Vec<&str> = params
        .iter()
        .filter(|(_, p)| p.1.contains(ParamInfoFlags::IS_BYPASS))
        .map(|(n, _)| n.as_str())
        .collect();
    assert_eq!(bypasses, ["Bypass"]);
    for (name, (_, flags, min, max, default)) in &params {
        // nice-plug exposes normalised values (stepped parameters: 0 to the step count).
        assert!(min <= default && default <= max, "{name}");
        if NOT_AUTOMATABLE.contains(&name.as_str()) {
            assert!(
                !flags.contains(ParamInfoFlags::IS_AUTOMATABLE),
                "{name} changes the latency"
            );
        } else {
            assert!(flags.contains(ParamInfoFlags::IS_AUTOMATABLE), "{name}");
        }
    }
    let defaults: Vec<String> = params.iter().map(|(n, p)| plugin.text_of(n, p.4)).collect();
    assert_eq!(
        defaults,
        [
            "Not Bypassed",
            "SuperFlux",
            "50.0 %",
            "30.0 ms",
            "-70.0 dBFS",
            "0 frames (0 ms)",
            "On",
            "C2",
            "50.0 ms",
            "On",
            "40 ms",
            "50 cents",
            "50.0 %",
            "60.0 Hz (B1)",
            "2000.0 Hz (B6)",
            "0.0 dB",
            "0.0 dB",
            "0.0 dB",
            "0.0 dB",
            "0.0 dB",
            "Off",
            "1.00",
            "1.00",
            "6 frames"
        ]
    );
    // Text round trips through the plugin's parser, with and without units.
    for (name, text, shown) in [
        ("Sensitivity", "72.5 %", "72.5 %"),
        ("Sensitivity", "30", "30.0 %"),
        ("Min interval", "80 ms", "80.0 ms"),
        ("Silence gate", "-45", "-45.0 dBFS"),
        ("Look-ahead", "3", "3 frames (15 ms)"),
        ("Onset method", "Complex domain", "Complex domain"),
        ("Trigger note", "D#3", "D#3"),
        ("Trigger note", "40", "E2"),
        ("Trigger length", "120 ms", "120.0 ms"),
        ("Bypass", "Bypassed", "Bypassed"),
        ("Pitch notes", "Off", "Off"),
        ("Min note length", "100 ms", "100 ms"),
        ("Voicing threshold", "35 %", "35.0 %"),
        ("Lowest pitch", "82.4 Hz", "82.4 Hz (E2)"),
        ("Highest pitch", "880", "880.0 Hz (A5)"),
        ("Melody gain", "-6 dB", "-6.0 dB"),
        ("Percussive gain", "-inf", "-inf dB"),
        ("Solo", "Melody", "Melody"),
    ] {
        let v = plugin.value_of(name, text);
        assert_eq!(plugin.text_of(name, v), shown, "{name} = {text:?}");
    }
}

#[test]
fn declares_a_note_output_port() {
    let _main_thread = main_thread();
    let mut plugin = Cochlea::load();
    let handle = plugin.instance.plugin_handle();
    let ports: PluginNotePorts = handle.get_extension().expect("note-ports extension");
    assert_eq!(ports.count(&handle, true), 0, "no note input");
    assert_eq!(ports.count(&handle, false), 1, "one note output");
    let mut buf = NotePortInfoBuffer::new();
    assert!(ports.get(&handle, 0, false, &mut buf).is_some());
}

/// Every layout, both rates, several block sizes: audio delayed by exactly the reported latency,
/// notes at exactly onset + latency, plausible against the piece's ground truth.
#[test]
fn every_layout_at_44_1_and_48_khz_and_any_block_size_delays_audio_and_places_notes_exactly() {
    let _main_thread = main_thread();
    let piece = common::piece(8.0);
    let settings = Settings::default();
    let key = DEFAULT_TRIGGER_KEY;
    for (channels, stems) in [(2usize, true), (1, true), (2, false), (1, false)] {
        let input = common::channels_of(&piece.samples, channels);
        for sample_rate in [44_100.0, 48_000.0] {
            let reference = common::reference(&input, sample_rate, &settings);
            let length = (0.05 * sample_rate).round() as u64;
            // The piece is played at `sample_rate` as it is, so its truth scales with the rate.
            let truth: Vec<f64> = piece
                .truth_s
                .iter()
                .map(|t| t * piece.sample_rate / sample_rate)
                .collect();
            // Every block pattern with the stem layouts; the plain ones once.
            let patterns: &[&[usize]] = if stems {
                &[&[512], &[64], &[1000, 37, 1, 480, 2048]]
            } else {
                &[&[512]]
            };
            for &blocks in patterns {
                let what =
                    format!("{channels} ch, stems {stems}, {sample_rate} Hz, blocks {blocks:?}");
                let mut plugin = Cochlea::load();
                plugin.select_layout(channels as u32, stems);
                let run = plugin.run(sample_rate, blocks, &input, &[]);
                assert!(
                    run.latency >= reference.max_event_delay.max(reference.audio_latency),
                    "{what}: latency {} shorter than the longest event delay {}",
                    run.latency,
                    reference.max_event_delay
                );
                assert!(run.latency <= reference.max_event_delay + reference.audio_latency + 1);
                assert_delayed(&input, &run.output, run.latency, &what);
                if stems {
                    common::assert_stems_split_the_mix(&run.output, &run.stems, &what);
                }
                assert_notes(
                    &run.notes,
                    &reference.onsets,
                    run.latency,
                    &Expected {
                        channel: TRIGGER_CHANNEL,
                        key,
                        length,
                        len: input[0].len() as u64,
                    },
                    &what,
                );
                common::assert_pitch_notes(
                    &run.notes,
                    &reference,
                    run.latency,
                    input[0].len() as u64,
                    &what,
                );
                let f = common::f_measure(&run.notes, run.latency, sample_rate, &truth);
                eprintln!(
                    "{what}: latency {} samples, {} onset notes (F {f:.3} against the truth), \
                     {} pitch notes",
                    run.latency,
                    run.notes
                        .iter()
                        .filter(|n| n.on && n.channel == TRIGGER_CHANNEL)
                        .count(),
                    reference.notes.iter().filter(|n| n.1).count()
                );
                assert!(
                    f > 0.85,
                    "{what}: onset notes F = {f:.3} against the ground truth"
                );
                drop(plugin); // unloads
            }
        }
    }
}

/// Parameters set through text reach the engine: the notes equal the engine's own output with
/// the same settings, not the defaults.
#[test]
fn parameters_set_by_text_change_what_the_engine_does() {
    let _main_thread = main_thread();
    let piece = common::piece(6.0);
    let input = common::channels_of(&piece.samples, 2);
    let sample_rate = 48_000.0;
    let mut plugin = Cochlea::load();
    let texts = [
        ("Onset method", "HFC"),
        ("Sensitivity", "80 %"),
        ("Min interval", "100 ms"),
        ("Silence gate", "-50 dBFS"),
        ("Trigger note", "D2"),
        ("Trigger length", "20 ms"),
    ];
    let changes: Vec<(usize, &str, f64)> = texts
        .iter()
        .map(|&(name, text)| (0, name, plugin.value_of(name, text)))
        .collect();
    let run = plugin.run(sample_rate, &[256], &input, &changes);
    for (name, text) in texts {
        let now = plugin.get(name);
        let shown = plugin.text_of(name, now);
        let v = plugin.value_of(name, text);
        assert_eq!(shown, plugin.text_of(name, v), "{name} after processing");
    }
    let settings = Settings {
        method: cochlea_engine::OnsetMethod::Hfc,
        sensitivity: 0.8,
        min_interval_s: 0.1,
        silence_gate_db: -50.0,
        ..Settings::default()
    };
    let reference = common::reference(&input, sample_rate, &settings);
    let defaults = common::reference(&input, sample_rate, &Settings::default());
    assert_ne!(
        reference.onsets, defaults.onsets,
        "the settings matter on this piece"
    );
    assert_delayed(&input, &run.output, run.latency, "HFC");
    assert_notes(
        &run.notes,
        &reference.onsets,
        run.latency,
        &Expected {
            channel: TRIGGER_CHANNEL,
            key: 38,
            length: (0.02 * sample_rate).round() as u64,
            len: input[0].len() as u64,
        },
        "HFC, 80 %, 100 ms, -50 dBFS, D2, 20 ms",
    );
}

/// Look-ahead changes the latency: the plugin asks the host to restart, reports the new latency
/// on reactivation (and tells the host it changed), and the audio and notes follow it exactly.
#[test]
fn a_look_ahead_change_requests_a_restart_and_the_new_latency_is_exact() {
    let _main_thread = main_thread();
    let piece = common::piece(4.0);
    let input = common::channels_of(&piece.samples, 2);
    let sample_rate = 44_100.0;
    let mut plugin = Cochlea::load();
    // With the pitch notes on, their delay sets the latency; without, the onsets' look-ahead.
    let off = plugin.value_of("Pitch notes", "Off");
    plugin.run(sample_rate, &[512], &input, &[(0, "Pitch notes", off)]);
    let first = plugin.run(sample_rate, &[512], &input, &[]);
    let three = plugin.value_of("Look-ahead", "3");
    let changed = plugin.run(sample_rate, &[512], &input, &[(10, "Look-ahead", three)]);
    assert_eq!(
        changed.latency, first.latency,
        "the latency in force when activated"
    );
    let settings = Settings {
        lookahead_frames: 3,
        notes: false,
        ..Settings::default()
    };
    let reference = common::reference(&input, sample_rate, &settings);
    let new_latency = reference.max_event_delay;
    assert!(
        new_latency > first.latency,
        "three frames of look-ahead add latency"
    );
    // From the block where the look-ahead changed, the audio follows the new latency at once.
    for (x, y) in input.iter().zip(&changed.output) {
        for n in 10 * 512..x.len() {
            assert!(
                (y[n] - x[n - new_latency]).abs() < 1e-3,
                "sample {n} after the change: {} for {}",
                y[n],
                x[n - new_latency]
            );
        }
    }
    assert!(
        plugin.shared_flag(|s| &s.restart_requested),
        "no restart requested after a latency change"
    );
    let again = plugin.run(sample_rate, &[512], &input, &[]);
    assert!(
        plugin.shared_flag(|s| &s.latency_changed),
        "host not told the latency changed"
    );
    assert_eq!(again.latency, new_latency);
    assert_delayed(&input, &again.output, again.latency, "look-ahead 3");
    assert_notes(
        &again.notes,
        &reference.onsets,
        again.latency,
        &Expected {
            channel: TRIGGER_CHANNEL,
            key: DEFAULT_TRIGGER_KEY,
            length: (0.05 * sample_rate).round() as u64,
            len: input[0].len() as u64,
        },
        "look-ahead 3",
    );
}

/// Bypass ends sounding notes at once and sends no more; the audio stays delayed by the latency
/// so nothing shifts when bypass toggles. Deactivating with a note sounding ends it in the first
/// block after reactivation.
#[test]
fn bypass_and_deactivation_leave_no_hanging_notes() {
    let _main_thread = main_thread();
    let piece = common::piece(6.0);
    let input = common::channels_of(&piece.samples, 1);
    let sample_rate = 44_100.0;
    let mut plugin = Cochlea::load();
    plugin.select_layout(1, false);
    let on = plugin.value_of("Bypass", "Bypassed");
    let off = plugin.value_of("Bypass", "Not Bypassed");
    // A long note length so notes are sounding when bypass engages.
    let long = plugin.value_of("Trigger length", "1000 ms");
    let block = 441;
    let run = plugin.run(
        sample_rate,
        &[block],
        &input,
        &[
            (0, "Trigger length", long),
            (200, "Bypass", on),
            (400, "Bypass", off),
        ],
    );
    assert_delayed(&input, &run.output, run.latency, "bypass toggled");
    let (bypass_start, bypass_end) = (200 * block as u64, 400 * block as u64);
    let mut sounding = false;
    for n in &run.notes {
        if n.time >= bypass_start && n.time < bypass_end {
            assert!(!n.on, "note-on while bypassed: {n:?}");
            assert_eq!(n.time, bypass_start, "note ended late by bypass: {n:?}");
        }
        if n.channel == TRIGGER_CHANNEL {
            sounding = n.on;
        }
    }
    assert!(
        run.notes.iter().any(|n| !n.on && n.time == bypass_start),
        "a note was sounding when bypass engaged, and it ended there"
    );
    assert!(
        run.notes.iter().any(|n| n.on && n.time >= bypass_end),
        "notes resume"
    );
    // The last note is still sounding (1 s long): deactivated, then reactivated, the plugin
    // ends it in the first block.
    assert!(sounding, "a note sounds when the run stops");
    let silence = vec![vec![0.0f32; 4 * block]];
    let after = plugin.run(sample_rate, &[block], &silence, &[]);
    // (A pitch note sounding then ends there too.)
    assert!(after.notes.contains(&Note {
        time: 0,
        on: false,
        channel: TRIGGER_CHANNEL,
        key: DEFAULT_TRIGGER_KEY,
        velocity: 0.0
    }));
    assert!(
        after.notes.iter().all(|n| !n.on && n.time == 0),
        "{:?}",
        after.notes
    );
}

/// Saved state restores every parameter in a fresh instance.
#[test]
fn state_saves_and_restores_every_parameter() {
    let _main_thread = main_thread();
    let mut plugin = Cochlea::load();
    let texts = [
        ("Bypass", "Bypassed"),
        ("Onset method", "Energy"),
        ("Sensitivity", "12.5 %"),
        ("Min interval", "250 ms"),
        ("Silence gate", "-33 dBFS"),
        ("Look-ahead", "5"),
        ("Onset trigger", "Off"),
        ("Trigger note", "A3"),
        ("Trigger length", "300 ms"),
        ("Pitch notes", "Off"),
        ("Min note length", "80 ms"),
        ("Pitch stability", "30 cents"),
        ("Voicing threshold", "70 %"),
        ("Lowest pitch", "110 Hz"),
        ("Highest pitch", "1000 Hz"),
    ];
    let changes: Vec<(usize, &str, f64)> = texts
        .iter()
        .map(|&(name, text)| (0, name, plugin.value_of(name, text)))
        .collect();
    let silence = vec![vec![0.0f32; 1024]; 2];
    plugin.run(48_000.0, &[512], &silence, &changes);
    let mut saved = Vec::new();
    {
        let handle = plugin.instance.plugin_handle();
        let state: PluginState = handle.get_extension().expect("state extension");
        state.save(&handle, &mut saved).expect("state saved");
    }
    let mut fresh = Cochlea::load();
    {
        let handle = fresh.instance.plugin_handle();
        let state: PluginState = handle.get_extension().expect("state extension");
        state
            .load(&handle, &mut saved.as_slice())
            .expect("state loaded");
    }
    for (name, text) in texts {
        let v = fresh.get(name);
        let shown = fresh.text_of(name, v);
        let want = plugin.value_of(name, text);
        assert_eq!(shown, plugin.text_of(name, want), "{name} restored");
    }
    // The restored look-ahead is in force from the first activation.
    let run = fresh.run(48_000.0, &[512], &silence, &[]);
    let reference = common::reference(
        &silence,
        48_000.0,
        &Settings {
            lookahead_frames: 5,
            notes: false,
            ..Settings::default()
        },
    );
    // (With the pitch notes off, the onsets' delay sets the latency.)
    assert_eq!(run.latency, reference.max_event_delay);
}

/// Resident memory of this process, bytes.
fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// The sample rate and the block size change between activations, many times over, with a
/// parameter automated every 16 samples: every activation reports the latency the engine states
/// for its rate, delays the audio by exactly that, leaves no note hanging, and memory does not
/// grow with the cycles.
#[test]
fn activation_cycles_with_rate_and_block_changes_and_audio_rate_automation() {
    let _main_thread = main_thread();
    let piece = common::piece(1.5);
    let input = common::channels_of(&piece.samples, 2);
    let mut plugin = Cochlea::load();
    let formats = [
        (44_100.0, 512usize),
        (96_000.0, 64),
        (48_000.0, 1),
        (22_050.0, 2048),
        (192_000.0, 333),
        (8_000.0, 16),
    ];
    let sensitivity: Vec<f64> = ["20 %", "80 %"]
        .iter()
        .map(|t| plugin.value_of("Sensitivity", t))
        .collect();
    let mut rss_after_warmup = 0;
    let mut sounding = std::collections::HashSet::new();
    for cycle in 0..24 {
        let (sample_rate, block) = formats[cycle % formats.len()];
        let what = format!("cycle {cycle}: {sample_rate} Hz, blocks of {block}");
        // Sensitivity toggled every 16 samples (every block when blocks are shorter).
        let blocks_in = input[0].len().div_ceil(block);
        let every = (16 / block).max(1);
        let changes: Vec<(usize, &str, f64)> = (0..blocks_in)
            .step_by(every)
            .map(|b| (b, "Sensitivity", sensitivity[b / every % 2]))
            .collect();
        let run = plugin.run(sample_rate, &[block], &input, &changes);
        let reference = common::reference(&input, sample_rate, &Settings::default());
        assert_eq!(run.latency, reference.max_event_delay, "{what}: latency");
        assert_delayed(&input, &run.output, run.latency, &what);
        // Every note-on is closed, here or (still sounding at the end) at the very start of the
        // next activation.
        for n in &run.notes {
            if !n.on && n.time == 0 {
                sounding.remove(&(n.channel, n.key));
            }
        }
        assert!(
            sounding.is_empty(),
            "{what}: left sounding before: {sounding:?}"
        );
        for n in &run.notes {
            if n.on {
                assert!(sounding.insert((n.channel, n.key)), "{what}: {n:?} twice");
            } else if n.time > 0 {
                assert!(
                    sounding.remove(&(n.channel, n.key)),
                    "{what}: {n:?} not sounding"
                );
            }
        }
        if cycle == formats.len() {
            rss_after_warmup = rss_bytes();
        }
    }
    let grown = rss_bytes().saturating_sub(rss_after_warmup);
    assert!(
        grown < 8_000_000,
        "memory grew by {grown} bytes over {} activation cycles",
        24 - formats.len()
    );
}

/// A solo and the stem gains, set by text, shape the main output: soloing the percussive stem
/// leaves the percussive port's signal; muting it leaves harmonic + residual.
#[test]
fn stem_gains_and_solo_shape_the_main_output() {
    let _main_thread = main_thread();
    let piece = common::piece(3.0);
    let input = common::channels_of(&piece.samples, 2);
    let mut plugin = Cochlea::load();
    plugin.select_layout(2, true);
    let solo = plugin.value_of("Solo", "Percussive");
    let run = plugin.run(44_100.0, &[512], &input, &[(0, "Solo", solo)]);
    // After the gain glide (20 ms) has gone through the latency.
    let from = run.latency + 8_820;
    for c in 0..2 {
        let db = common::error_db(&run.output[c][from..], &run.stems[1][c][from..]);
        assert!(
            db < -60.0,
            "solo percussive: main vs percussive stem {db:.1} dB"
        );
    }
    let off = plugin.value_of("Solo", "Off");
    let mute = plugin.value_of("Percussive gain", "-inf");
    let run = plugin.run(
        44_100.0,
        &[512],
        &input,
        &[(0, "Solo", off), (0, "Percussive gain", mute)],
    );
    for c in 0..2 {
        let rest: Vec<f32> = (from..run.output[c].len())
            .map(|n| run.stems[0][c][n] + run.stems[2][c][n])
            .collect();
        let db = common::error_db(&run.output[c][from..], &rest);
        assert!(
            db < -60.0,
            "percussive muted: main vs harmonic + residual {db:.1} dB"
        );
    }
}

/// The largest step between consecutive samples of `x`, from sample `from` on.
fn largest_step(x: &[f32], from: usize) -> f32 {
    x[from..]
        .windows(2)
        .map(|w| (w[1] - w[0]).abs())
        .fold(0.0, f32::max)
}

/// A stem gain automated at audio rate (full scale to mute and back every 16 samples) glides:
/// on a low, steady tone, where any jump in gain would be a click far steeper than the tone's
/// own slope, the output never steps further between two samples than the input does.
#[test]
fn stem_gains_automated_at_audio_rate_do_not_click() {
    let _main_thread = main_thread();
    let sample_rate = 44_100.0;
    let tone: Vec<f32> = (0..(1.5 * sample_rate) as usize)
        .map(|n| {
            let t = n as f64 / sample_rate;
            (0.4 * (2.0 * std::f64::consts::PI * 110.0 * t).sin()
                + 0.2 * (2.0 * std::f64::consts::PI * 220.0 * t).sin()) as f32
        })
        .collect();
    let input = common::channels_of(&tone, 2);
    let mut plugin = Cochlea::load();
    let levels = [
        plugin.value_of("Harmonic gain", "0 dB"),
        plugin.value_of("Harmonic gain", "-inf"),
    ];
    let blocks = tone.len().div_ceil(16);
    let changes: Vec<(usize, &str, f64)> = (0..blocks)
        .map(|b| (b, "Harmonic gain", levels[b % 2]))
        .collect();
    let run = plugin.run(sample_rate, &[16], &input, &changes);
    let input_step = largest_step(&input[0], 0);
    for (c, out) in run.output.iter().enumerate() {
        let step = largest_step(out, run.latency);
        assert!(
            step <= 1.05 * input_step,
            "channel {c}: a step of {step} against the input's {input_step}"
        );
        // The gain did move: the tone is harmonic, and the glide sits between the two targets.
        let level = out[run.latency..].iter().map(|x| x * x).sum::<f32>()
            / input[c].iter().map(|x| x * x).sum::<f32>();
        assert!(level > 0.01 && level < 0.9, "channel {c}: level {level}");
    }
}
