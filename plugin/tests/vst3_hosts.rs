//! Cochlea.vst3 in real VST3 hosts from PyPI (JUCE-based, headless): pedalboard, which
//! compensates the reported latency itself, and minihost, which returns the plugin's MIDI output.
//! `vst3_hosts.py` runs a host and reports what it saw; the checks are here, against the engine
//! run directly with the same settings.
//!
//! The hosts are installed by `./run test` (scripts/setup.sh, `cochlea_need_vst3_hosts`) into a
//! virtual environment; a host that is missing fails these tests, it never skips them.

mod common;

use std::path::PathBuf;
use std::process::Command;

use cochlea_engine::OnsetMethod;
use cochlea_plugin::params::{Settings, DEFAULT_TRIGGER_KEY, TRIGGER_CHANNEL};
use common::{assert_delayed, assert_notes, Expected, Note};
use serde_json::{json, Value};

/// The Python with the hosts installed: `COCHLEA_PYTHON`, or the virtual environment
/// `./run test` makes in `target/host-venv`.
fn python() -> PathBuf {
    let python = std::env::var_os("COCHLEA_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| common::workspace_root().join("target/host-venv/bin/python"));
    assert!(
        python.exists(),
        "{} is missing: the VST3 hosts (pedalboard, minihost) are not installed. Install them \
         with `bash -c 'source scripts/setup.sh && cochlea_need_vst3_hosts'` from the repository \
         root (`./run test` does this before running the tests)",
        python.display()
    );
    python
}

struct HostRun {
    latency: usize,
    params: serde_json::Map<String, Value>,
    notes: Vec<Note>,
    /// The main output, one row per channel.
    output: Vec<Vec<f32>>,
    /// The five stem buses, each one row per channel, when the host enabled them.
    stems: Vec<Vec<Vec<f32>>>,
    /// Output channels the host gave: the main bus's, plus the stem buses' if enabled.
    layout_channels: usize,
}

/// Runs `host` on `input` with the job's extra fields; returns what the host saw.
fn run_host(
    host: &str,
    input: &[Vec<f32>],
    sample_rate: f64,
    block: usize,
    extra: Value,
) -> HostRun {
    let channels = input.len();
    let frames = input[0].len();
    let dir = std::env::temp_dir().join(format!(
        "cochlea-vst3-{}-{host}-{:x}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let (input_path, output_path, job_path) = (
        dir.join("in.f32"),
        dir.join("out.f32"),
        dir.join("job.json"),
    );
    let bytes: Vec<u8> = input
        .iter()
        .flat_map(|c| c.iter().flat_map(|x| x.to_le_bytes()))
        .collect();
    std::fs::write(&input_path, bytes).unwrap();
    let mut job = json!({
        "host": host,
        "bundle": common::bundle("vst3"),
        "input": input_path,
        "output": output_path,
        "channels": channels,
        "frames": frames,
        "sample_rate": sample_rate,
        "block": block,
        "set": [],
    });
    for (k, v) in extra.as_object().unwrap() {
        job[k] = v.clone();
    }
    std::fs::write(&job_path, job.to_string()).unwrap();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vst3_hosts.py");
    let out = Command::new(python())
        .arg(&script)
        .arg(&job_path)
        .output()
        .expect("python runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{host} failed ({}):\n{stderr}",
        out.status
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let result: Value = serde_json::from_str(stdout.lines().last().unwrap_or(""))
        .unwrap_or_else(|e| panic!("{host} printed no result ({e}):\n{stdout}\n{stderr}"));
    let raw = std::fs::read(&output_path).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let samples: Vec<f32> = raw
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let layout_channels = result["layout_channels"].as_u64().unwrap() as usize;
    assert_eq!(
        samples.len(),
        layout_channels * frames,
        "{host}: output length"
    );
    let mut rows: Vec<Vec<f32>> = samples.chunks(frames).map(<[f32]>::to_vec).collect();
    let stem_rows = rows.split_off(channels);
    let output = rows;
    let stems = stem_rows
        .chunks(channels)
        .map(<[Vec<f32>]>::to_vec)
        .collect();
    let notes = result["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            let n: Vec<u64> = n
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap())
                .collect();
            let (status, data1, data2) = (n[1] as u8, n[2] as u8, n[3] as u8);
            Note {
                time: n[0],
                on: status & 0xF0 == 0x90 && data2 > 0,
                channel: status & 0x0F,
                key: data1,
                velocity: if status & 0xF0 == 0x90 {
                    data2 as f32 / 127.0
                } else {
                    0.0
                },
            }
        })
        .collect();
    eprintln!(
        "{host} {}: {channels} ch, {sample_rate} Hz, block {block}: latency {}",
        result["host_version"], result["latency"]
    );
    HostRun {
        latency: result["latency"].as_u64().unwrap() as usize,
        params: result["params"].as_object().unwrap().clone(),
        notes,
        output,
        stems,
        layout_channels,
    }
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0);
    h.finish()
}

fn shown<'a>(run: &'a HostRun, name: &str) -> &'a str {
    run.params[name]
        .as_str()
        .unwrap_or_else(|| panic!("no parameter {name:?}"))
}

#[test]
fn pedalboard_every_layout_compensates_exactly_the_reported_latency() {
    let piece = common::piece(5.0);
    for channels in [2usize, 1] {
        let input = common::channels_of(&piece.samples, channels);
        for sample_rate in [44_100.0, 48_000.0] {
            let reference = common::reference(&input, sample_rate, &Settings::default());
            let run = run_host("pedalboard", &input, sample_rate, 512, json!({}));
            let what = format!("pedalboard, {channels} ch, {sample_rate} Hz");
            // pedalboard leaves the stem buses inactive, without buffers: the plugin still
            // processes (the patched nice-plug, vendor/nice-plug/PATCHES.md) and gives the mix.
            assert_eq!(run.layout_channels, channels, "{what}");
            assert_eq!(run.latency, reference.max_event_delay, "{what}: latency");
            // pedalboard removed the reported latency: if the plugin delays by exactly what it
            // reports, the output is the input itself.
            assert_delayed(&input, &run.output, 0, &what);
        }
    }
}

#[test]
fn pedalboard_sets_parameters_by_name_and_follows_a_latency_change() {
    let piece = common::piece(4.0);
    let input = common::channels_of(&piece.samples, 2);
    let sample_rate = 48_000.0;
    let set = json!([
        ["Onset method", "Complex domain"],
        ["Sensitivity", "70 %"],
        ["Silence gate", "-60 dBFS"],
        ["Look-ahead", "3 frames (15 ms)"],
        ["Trigger note", "F#2"],
    ]);
    let run = run_host(
        "pedalboard",
        &input,
        sample_rate,
        480,
        json!({ "set": set }),
    );
    assert_eq!(shown(&run, "Onset method"), "Complex domain");
    assert_eq!(shown(&run, "Sensitivity"), "70.0");
    assert_eq!(shown(&run, "Silence gate"), "-60.0");
    assert_eq!(shown(&run, "Look-ahead"), "3 frames (15 ms)");
    assert_eq!(shown(&run, "Trigger note"), "F#2");
    let reference = common::reference(
        &input,
        sample_rate,
        &Settings {
            lookahead_frames: 3,
            ..Settings::default()
        },
    );
    assert_eq!(
        run.latency, reference.max_event_delay,
        "latency with 3 frames of look-ahead"
    );
    assert_delayed(&input, &run.output, 0, "pedalboard, look-ahead 3");
}

/// minihost enables the stem buses: they carry the separation, and the mix is the input
/// delayed by the reported latency.
#[test]
fn minihost_every_layout_returns_the_stems_and_the_onset_notes_at_their_exact_sample() {
    let piece = common::piece(6.0);
    for channels in [2usize, 1] {
        let input = common::channels_of(&piece.samples, channels);
        for (sample_rate, block) in [(48_000.0, 512), (44_100.0, 441)] {
            let what = format!("minihost, {channels} ch, {sample_rate} Hz, block {block}");
            let reference = common::reference(&input, sample_rate, &Settings::default());
            let run = run_host("minihost", &input, sample_rate, block, json!({}));
            // minihost enables every bus: the mix, then the five stems.
            assert_eq!(run.layout_channels, 6 * channels, "{what}");
            common::assert_stems_split_the_mix(&run.output, &run.stems, &what);
            assert_eq!(run.latency, reference.max_event_delay, "{what}: latency");
            assert_delayed(&input, &run.output, run.latency, &what);
            assert_notes(
                &run.notes,
                &reference.onsets,
                run.latency,
                &Expected {
                    channel: TRIGGER_CHANNEL,
                    key: DEFAULT_TRIGGER_KEY,
                    length: (0.05 * sample_rate).round() as u64,
                    len: input[0].len() as u64,
                },
                &what,
            );
            assert!(
                reference.notes.len() > 4,
                "{what}: the piece has pitch notes"
            );
            common::assert_pitch_notes(
                &run.notes,
                &reference,
                run.latency,
                input[0].len() as u64,
                &what,
            );
        }
    }
}

#[test]
fn minihost_parameters_by_name_reach_the_engine_and_the_latency_follows_the_look_ahead() {
    let piece = common::piece(6.0);
    let input = common::channels_of(&piece.samples, 2);
    let sample_rate = 44_100.0;
    let set = json!([
        ["Onset method", "HFC"],
        ["Sensitivity", "80 %"],
        ["Min interval", "100 ms"],
        ["Look-ahead", "2"],
        ["Trigger note", "D2"],
        ["Trigger length", "20 ms"],
    ]);
    let run = run_host("minihost", &input, sample_rate, 256, json!({ "set": set }));
    assert_eq!(shown(&run, "Onset method"), "HFC");
    assert_eq!(shown(&run, "Sensitivity"), "80.0");
    assert_eq!(shown(&run, "Min interval"), "100.0");
    assert_eq!(shown(&run, "Look-ahead"), "2 frames (10 ms)");
    assert_eq!(shown(&run, "Trigger note"), "D2");
    let settings = Settings {
        method: OnsetMethod::Hfc,
        sensitivity: 0.8,
        min_interval_s: 0.1,
        lookahead_frames: 2,
        ..Settings::default()
    };
    let reference = common::reference(&input, sample_rate, &settings);
    assert_eq!(
        run.latency, reference.max_event_delay,
        "latency with look-ahead 2"
    );
    assert_delayed(&input, &run.output, run.latency, "minihost, HFC");
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
        "minihost, HFC, 80 %, 100 ms, look-ahead 2, D2, 20 ms",
    );
}

/// minihost's bypass switch drives the plugin's bypass parameter (the host recognises it):
/// sounding notes end at once, no note starts while bypassed, the audio keeps its latency.
#[test]
fn minihost_bypass_ends_notes_and_keeps_the_audio_aligned() {
    let piece = common::piece(6.0);
    let input = common::channels_of(&piece.samples, 1);
    let sample_rate = 48_000.0;
    let block = 480;
    let (from, to) = (150usize, 350usize);
    let extra = json!({
        "set": [["Trigger length", "1000 ms"]],
        "bypass_blocks": [from, to],
    });
    let run = run_host("minihost", &input, sample_rate, block, extra);
    assert_delayed(&input, &run.output, run.latency, "minihost, bypass toggled");
    let (start, end) = ((from * block) as u64, (to * block) as u64);
    for n in &run.notes {
        if (start..end).contains(&n.time) {
            assert!(!n.on && n.time == start, "while bypassed: {n:?}");
        }
    }
    assert!(
        run.notes.iter().any(|n| !n.on && n.time == start),
        "the sounding note ends when bypass engages"
    );
    assert!(run.notes.iter().any(|n| n.on && n.time < start));
    assert!(
        run.notes.iter().any(|n| n.on && n.time >= end),
        "notes resume"
    );
}

/// State saved by minihost restores every parameter in a second instance, which then behaves
/// like the first.
#[test]
fn minihost_state_restores_in_a_new_instance() {
    let piece = common::piece(4.0);
    let input = common::channels_of(&piece.samples, 2);
    let sample_rate = 48_000.0;
    let set = json!([
        ["Onset method", "Spectral flux"],
        ["Sensitivity", "35 %"],
        ["Silence gate", "-40 dBFS"],
        ["Look-ahead", "1"],
        ["Trigger note", "A2"],
    ]);
    let run = run_host(
        "minihost",
        &input,
        sample_rate,
        512,
        json!({ "set": set, "state_roundtrip": true }),
    );
    assert_eq!(shown(&run, "Onset method"), "Spectral flux");
    assert_eq!(shown(&run, "Sensitivity"), "35.0");
    assert_eq!(shown(&run, "Silence gate"), "-40.0");
    assert_eq!(shown(&run, "Look-ahead"), "1 frame (5 ms)");
    assert_eq!(shown(&run, "Trigger note"), "A2");
    let settings = Settings {
        method: OnsetMethod::SpectralFlux,
        sensitivity: 0.35,
        silence_gate_db: -40.0,
        lookahead_frames: 1,
        ..Settings::default()
    };
    let reference = common::reference(&input, sample_rate, &settings);
    assert_eq!(run.latency, reference.max_event_delay);
    assert_delayed(&input, &run.output, run.latency, "restored");
    assert_notes(
        &run.notes,
        &reference.onsets,
        run.latency,
        &Expected {
            channel: TRIGGER_CHANNEL,
            key: 45,
            length: (0.05 * sample_rate).round() as u64,
            len: input[0].len() as u64,
        },
        "restored state",
    );
}
