//! Shared by the host tests: where the bundles are, the test piece, and the reference the hosts'
//! results are checked against (the engine run directly, with the same settings).
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use cochlea_engine::{Engine, Event, Output};
use cochlea_plugin::params::{Settings, NOTES_CHANNEL};
use cochlea_plugin::processor::{engine_config, latency_of};

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("plugin/ has a parent")
        .to_path_buf()
}

/// The built bundle `Cochlea.<ext>` (`clap` or `vst3`), from `COCHLEA_BUNDLE_DIR` or
/// `target/bundled`. Fails, saying how to build it, when it is not there: a missing bundle is a
/// failed test, never a skipped one.
pub fn bundle(ext: &str) -> PathBuf {
    let dir = std::env::var_os("COCHLEA_BUNDLE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target").join("bundled"));
    let path = dir.join(format!("Cochlea.{ext}"));
    assert!(
        path.exists(),
        "{} is missing. Build the plugin bundles first, from the repository root:\n  \
         cargo xtask bundle cochlea-plugin --features assert_process_allocs\n\
         (`./run test` does this before running the tests; \
         `cargo xtask bundle cochlea-plugin --release` builds the bundles to install)",
        path.display()
    );
    path
}

/// A rendered piece from the test data with its exact onset times.
pub struct Piece {
    /// Mono samples.
    pub samples: Vec<f32>,
    /// Its sample rate.
    pub sample_rate: f64,
    /// Ground-truth onset times, in seconds.
    pub truth_s: Vec<f64>,
}

/// The first `seconds` of the guitar-and-drums piece of `tests/data/onsets`.
pub fn piece(seconds: f64) -> Piece {
    let dir = cochlea_tests::corpus::test_data().join("onsets");
    let audio = cochlea::audio::read_audio(&dir.join("o007_guitar_drums.flac"))
        .expect("test piece readable");
    let sample_rate = audio.sample_rate as f64;
    let len = ((seconds * sample_rate) as usize).min(audio.len());
    let mut samples = audio.mono();
    samples.truncate(len);
    let truth_s = cochlea_tests::corpus::read_onsets(&dir.join("o007_guitar_drums.onsets.txt"))
        .expect("truth readable")
        .into_iter()
        .filter(|&t| t < len as f64 / sample_rate)
        .collect();
    Piece {
        samples,
        sample_rate,
        truth_s,
    }
}

/// The piece as `channels` channels: mono as is; stereo with the right channel at -6 dB and
/// polarity flipped at a low level, so the two channels differ.
pub fn channels_of(mono: &[f32], channels: usize) -> Vec<Vec<f32>> {
    match channels {
        1 => vec![mono.to_vec()],
        _ => vec![mono.to_vec(), mono.iter().map(|x| 0.5 * x).collect()],
    }
}

/// What the engine, run directly, hears in `input` at `sample_rate` with `settings`.
pub struct Reference {
    /// Onset stamps (samples) and strengths.
    pub onsets: Vec<(u64, f32)>,
    /// Pitch note events (stamp, on, key, velocity 1-127), when the settings send them.
    pub notes: Vec<(u64, bool, u8, u8)>,
    /// The longest event delay: the plugin's latency must be at least this.
    pub max_event_delay: usize,
    /// The engine's audio latency.
    pub audio_latency: usize,
}

pub fn reference(input: &[Vec<f32>], sample_rate: f64, settings: &Settings) -> Reference {
    let block = 256;
    let config = engine_config(sample_rate, input.len(), block, settings);
    let (mut engine, mut events) = Engine::new(config).expect("valid config");
    let mut out = vec![vec![0.0f32; block]; input.len()];
    let (mut onsets, mut notes) = (Vec::new(), Vec::new());
    let len = input[0].len();
    let mut pos = 0;
    while pos < len {
        let n = block.min(len - pos);
        let ins: Vec<&[f32]> = input.iter().map(|c| &c[pos..pos + n]).collect();
        let mut outs: Vec<&mut [f32]> = out.iter_mut().map(|c| &mut c[..n]).collect();
        engine.process(&ins, &mut outs).expect("engine runs");
        for e in events.drain() {
            match e {
                Event::Onset { sample, strength } => onsets.push((sample, strength)),
                Event::NoteOn {
                    sample,
                    midi_note,
                    velocity,
                } => notes.push((sample, true, midi_note, velocity)),
                Event::NoteOff { sample, midi_note } => notes.push((sample, false, midi_note, 0)),
                _ => {}
            }
        }
        pos += n;
    }
    Reference {
        onsets,
        notes: if settings.notes { notes } else { Vec::new() },
        max_event_delay: latency_of(&engine, settings.notes),
        audio_latency: engine.latency_samples(Output::Audio),
    }
}

/// Checks the pitch notes (channel 1) a host received against the engine's notes: the same
/// keys, on and off at exactly `stamp + latency`, velocities from the engine's, for every note
/// event due within the `len` samples processed.
pub fn assert_pitch_notes(
    notes: &[Note],
    reference: &Reference,
    latency: usize,
    len: u64,
    what: &str,
) {
    let got: Vec<(u64, bool, u8)> = notes
        .iter()
        .filter(|n| n.channel == NOTES_CHANNEL)
        .map(|n| (n.time, n.on, n.key))
        .collect();
    let want: Vec<(u64, bool, u8)> = reference
        .notes
        .iter()
        .map(|&(s, on, key, _)| (s + latency as u64, on, key))
        .filter(|&(t, _, _)| t < len)
        .collect();
    assert_eq!(got, want, "{what}: pitch notes (time, on, key)");
    for (n, r) in notes
        .iter()
        .filter(|n| n.channel == NOTES_CHANNEL && n.on)
        .zip(reference.notes.iter().filter(|r| r.1))
    {
        assert!(
            (n.velocity - r.3 as f32 / 127.0).abs() < 1.0 / 127.0,
            "{what}: velocity of {n:?}, engine {}",
            r.3
        );
    }
}

/// A note message a host received, at its absolute output position.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Note {
    pub time: u64,
    pub on: bool,
    pub channel: u8,
    pub key: u8,
    pub velocity: f32,
}

/// Checks that `output` is `input` delayed by exactly `latency` samples (zeros before), up to
/// the rounding of the separation's transforms.
pub fn assert_delayed(input: &[Vec<f32>], output: &[Vec<f32>], latency: usize, what: &str) {
    assert_eq!(input.len(), output.len(), "{what}: channel count");
    for (c, (x, y)) in input.iter().zip(output).enumerate() {
        assert_eq!(x.len(), y.len(), "{what}: length of channel {c}");
        // The main output is the stems' mix: at unity gains the input itself, up to the
        // rounding of the transforms (-90 dB below the signal, tested in the engine).
        let (mut err, mut sig) = (0.0f64, 0.0f64);
        for (n, &v) in y.iter().enumerate() {
            let want = if n < latency { 0.0 } else { x[n - latency] };
            let e = (v - want) as f64;
            assert!(
                e.abs() < 1e-3,
                "{what}: channel {c} sample {n} is {v}, the input delayed by {latency} is {want}"
            );
            err += e * e;
            sig += (want as f64) * (want as f64);
        }
        let db = 10.0 * (err / sig.max(1e-30)).log10();
        assert!(
            db < -80.0,
            "{what}: channel {c} differs from the delayed input at {db:.1} dB"
        );
    }
}

/// What the onset notes should look like.
#[derive(Clone, Copy)]
pub struct Expected {
    /// MIDI channel and key of every note.
    pub channel: u8,
    pub key: u8,
    /// Note length in samples (a note also ends at the next note-on).
    pub length: u64,
    /// Samples processed: notes due later are not expected.
    pub len: u64,
}

/// Checks the onset notes (on `expected.channel`) a host received against the reference onsets: one note-on per onset, at
/// exactly `stamp + latency`, on the expected channel and key, each ended by a note-off `length`
/// samples later (or by the next note-on of the same key).
pub fn assert_notes(
    notes: &[Note],
    reference: &[(u64, f32)],
    latency: usize,
    expected: &Expected,
    what: &str,
) {
    let Expected {
        channel,
        key,
        length,
        len,
    } = *expected;
    // The onset notes only (the pitch notes have a channel of their own).
    let notes: Vec<Note> = notes
        .iter()
        .filter(|n| n.channel == channel)
        .copied()
        .collect();
    let notes = &notes[..];
    let ons: Vec<u64> = notes.iter().filter(|n| n.on).map(|n| n.time).collect();
    let want: Vec<u64> = reference
        .iter()
        .map(|&(s, _)| s + latency as u64)
        .filter(|&t| t < len)
        .collect();
    assert!(!want.is_empty(), "{what}: the reference found no onset");
    assert_eq!(ons, want, "{what}: note-on times (stamp + latency)");
    for n in notes {
        assert_eq!((n.channel, n.key), (channel, key), "{what}: {n:?}");
        if n.on {
            assert!(n.velocity > 0.0 && n.velocity <= 1.0, "{what}: {n:?}");
        }
    }
    // Every note-on but those too close to the end is followed by its note-off.
    let mut sounding: Option<u64> = None;
    for n in notes {
        match (n.on, sounding) {
            (true, Some(start)) => panic!(
                "{what}: note-on at {} while the note from {start} sounds",
                n.time
            ),
            (true, None) => sounding = Some(n.time),
            (false, Some(start)) => {
                let next_on = ons.iter().copied().find(|&t| t > start);
                let due = (start + length).min(next_on.unwrap_or(u64::MAX));
                assert_eq!(n.time, due, "{what}: note-off of the note from {start}");
                sounding = None;
            }
            (false, None) => panic!("{what}: note-off at {} with no note sounding", n.time),
        }
    }
    if let Some(start) = sounding {
        assert!(
            start + length >= len,
            "{what}: note from {start} never ended"
        );
    }
}

/// mir_eval's onset F-measure (50 ms window) of note-on times, less the latency, against the
/// piece's ground truth. `rate_ratio` maps the piece's sample rate to the rate it was played at.
pub fn f_measure(notes: &[Note], latency: usize, sample_rate: f64, truth_s: &[f64]) -> f64 {
    let est: Vec<f64> = notes
        .iter()
        .filter(|n| n.on && n.channel == cochlea_plugin::params::TRIGGER_CHANNEL)
        .map(|n| (n.time - latency as u64) as f64 / sample_rate)
        .collect();
    cochlea_engine::eval::onset::score(truth_s, &est, 0.05).f_measure
}

/// Energy of the difference of two signals relative to the second's, dB.
pub fn error_db(x: &[f32], reference: &[f32]) -> f64 {
    let (mut e, mut r) = (0.0f64, 0.0f64);
    for (a, b) in x.iter().zip(reference) {
        e += ((a - b) as f64).powi(2);
        r += (*b as f64).powi(2);
    }
    10.0 * (e / r.max(1e-30)).log10()
}

/// The stem ports carry the separation: harmonic + percussive + residual is the main output (at
/// unity gains), and so is melody + accompaniment; the harmonic and percussive stems both hold
/// real signal on a piece with guitar and drums.
pub fn assert_stems_split_the_mix(output: &[Vec<f32>], stems: &[Vec<Vec<f32>>], what: &str) {
    assert_eq!(stems.len(), 5, "{what}: five stems");
    for (c, mix) in output.iter().enumerate() {
        let sum = |which: &[usize]| -> Vec<f32> {
            (0..mix.len())
                .map(|n| which.iter().map(|&s| stems[s][c][n]).sum())
                .collect()
        };
        let hpr = error_db(&sum(&[0, 1, 2]), mix);
        let ma = error_db(&sum(&[3, 4]), mix);
        assert!(
            hpr < -60.0 && ma < -60.0,
            "{what}: stems vs mix {hpr:.1} / {ma:.1} dB"
        );
        for s in [0, 1, 3] {
            let level = 10.0
                * (stems[s][c].iter().map(|x| (x * x) as f64).sum::<f64>()
                    / mix.iter().map(|x| (x * x) as f64).sum::<f64>())
                .log10();
            assert!(level > -30.0, "{what}: stem {s} at {level:.1} dB");
        }
    }
}
