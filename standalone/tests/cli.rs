//! The `cochlea` command: `analyze`, `demo`, `devices` and usage. Outputs, messages, exit codes,
//! and that a failure leaves nothing behind.

mod common;

use std::path::Path;

use common::*;

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn analyze_writes_onset_times_to_an_explicit_path() {
    let dir = temp_dir("explicit");
    let out = dir.join("piano.txt");
    let r = cochlea(&[
        "analyze",
        s(&corpus("onsets/o000_piano.flac")),
        "--onsets",
        s(&out),
    ]);
    assert_code(&r, 0);
    let times = read_times(&out);
    assert!(times.len() > 40 && times.len() < 80, "{}", times.len());
    assert!(times.windows(2).all(|w| w[0] < w[1]));
    // Only what was asked for.
    assert_eq!(files_under(&dir), ["piano.txt"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn analyze_writes_pitch_csv_and_notes_as_midi_and_csv() {
    let dir = temp_dir("pitch-notes");
    let (f0, mid) = (dir.join("piano.f0.csv"), dir.join("piano.mid"));
    let r = cochlea(&[
        "analyze",
        s(&corpus("pitch/p000_piano.flac")),
        "--pitch",
        s(&f0),
        "--notes",
        s(&mid),
    ]);
    assert_code(&r, 0);
    // Only what was asked for: the notes come as MIDI and as CSV beside it.
    assert_eq!(
        files_under(&dir),
        ["piano.f0.csv", "piano.mid", "piano.notes.csv"]
    );

    // pitch.csv: a header, then `time_s,freq_hz` every hop, 0 where unvoiced; it scores
    // against the truth like the engine does.
    let (header, et, ef) = read_time_values(&f0);
    assert_eq!(header, "time_s,freq_hz");
    assert!(et.windows(2).all(|w| w[1] > w[0]));
    assert!(ef.iter().all(|&f| f == 0.0 || (30.0..2100.0).contains(&f)));
    let (_, rt, rf) = read_time_values(&corpus("pitch/p000_piano.f0.csv"));
    let m = cochlea_engine::eval::melody::evaluate(&rt, &rf, &et, &ef, 50.0);
    assert!(m.raw_pitch_accuracy > 0.95, "{m:?}");

    // The notes: a standard MIDI file whose notes are the CSV's, every NoteOn closed.
    let bytes = std::fs::read(&mid).unwrap();
    let smf = midly::Smf::parse(&bytes).unwrap();
    let mut on = 0;
    let mut open = std::collections::HashMap::new();
    for e in smf.tracks.iter().flatten() {
        if let midly::TrackEventKind::Midi { message, .. } = e.kind {
            match message {
                midly::MidiMessage::NoteOn { key, vel } if vel > 0 => {
                    on += 1;
                    *open.entry(key.as_int()).or_insert(0) += 1;
                }
                midly::MidiMessage::NoteOff { key, .. }
                | midly::MidiMessage::NoteOn { key, .. } => {
                    *open.entry(key.as_int()).or_insert(0) -= 1;
                }
                _ => {}
            }
        }
    }
    assert!(open.values().all(|&n| n == 0), "{open:?}");
    let csv = std::fs::read_to_string(dir.join("piano.notes.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("onset_s,offset_s,midi_note,velocity"));
    let notes: Vec<Vec<f64>> = lines
        .map(|l| l.split(',').map(|x| x.parse().unwrap()).collect())
        .collect();
    assert_eq!(notes.len(), on);
    assert!(notes
        .iter()
        .all(|n| n[1] > n[0] && (1.0..=127.0).contains(&n[3])));
    // The closing line counts what was analysed: the notes, and no onsets (none were asked for).
    let said = String::from_utf8_lossy(&r.stderr);
    assert!(said.contains(&format!(", {on} notes, ")), "{said}");
    assert!(!said.contains("onsets"), "{said}");
    let reference = cochlea_engine::eval::transcription::notes_from_f0(&rt, &rf, 50.0);
    let est: Vec<_> = notes
        .iter()
        .map(|n| cochlea_engine::eval::transcription::Note {
            onset_s: n[0],
            offset_s: n[1],
            pitch_hz: cochlea_engine::eval::transcription::midi_to_hz(n[2]),
        })
        .collect();
    let f = cochlea_engine::eval::transcription::score(&reference, &est, 0.05, 50.0);
    assert!(f.f_measure > 0.8, "{f:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn voicing_csv_is_the_pitch_track_with_its_probabilities() {
    let dir = temp_dir("voicing");
    let (f0, voicing) = (dir.join("p.csv"), dir.join("v.csv"));
    let r = cochlea(&[
        "analyze",
        s(&corpus("pitch/p004_acbass.flac")),
        "--pitch",
        s(&f0),
        "--voicing",
        s(&voicing),
        "--voicing-threshold",
        "0.8",
        "--summary",
        s(&dir.join("s.json")),
    ]);
    assert_code(&r, 0);
    assert_eq!(files_under(&dir), ["p.csv", "s.json", "v.csv"]);
    let pitch = std::fs::read_to_string(&f0).unwrap();
    let text = std::fs::read_to_string(&voicing).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("time_s,freq_hz,voiced_prob,confidence"));
    let rows: Vec<&str> = lines.collect();
    // Row for row the pitch track (its time and frequency, to the digit), then the two
    // probabilities; voiced exactly where the voiced probability reaches the threshold.
    assert_eq!(rows.len(), pitch.lines().count() - 1);
    let mut by_truth = [(0.0, 0usize), (0.0, 0usize)];
    let (_, truth_t, truth_f) = read_time_values(&corpus("pitch/p004_acbass.f0.csv"));
    let truth: Vec<(f64, bool)> = truth_t
        .into_iter()
        .zip(truth_f.iter().map(|&f| f > 0.0))
        .collect();
    for (row, p) in rows.iter().zip(pitch.lines().skip(1)) {
        assert!(row.starts_with(&format!("{p},")), "{row} against {p}");
        let v: Vec<f64> = row.split(',').map(|x| x.parse().unwrap()).collect();
        let (t, freq, prob, confidence) = (v[0], v[1], v[2], v[3]);
        assert!(
            (0.0..=1.0).contains(&prob) && (0.0..=1.0).contains(&confidence),
            "{row}"
        );
        if freq > 0.0 {
            assert!(prob >= 0.8 - 5e-5, "{row}");
        } else {
            assert!(prob < 0.8 + 5e-5, "{row}");
        }
        if let Some(&(_, voiced)) = truth.iter().find(|(rt, _)| (rt - t).abs() < 0.0025) {
            let slot = &mut by_truth[voiced as usize];
            slot.0 += prob;
            slot.1 += 1;
        }
    }
    // On a plucked bass, whose notes stop dead, the probability follows the ground truth's voicing.
    let mean = |(sum, n): (f64, usize)| sum / n as f64;
    let (unvoiced, voiced) = (mean(by_truth[0]), mean(by_truth[1]));
    assert!(voiced > 0.95 && unvoiced < 0.15, "{voiced} {unvoiced}");
    let j = read_json(&dir.join("s.json"));
    assert_eq!(
        j["outputs"]["voicing"]["frames"].as_u64(),
        Some(rows.len() as u64)
    );
    assert_eq!(
        j["outputs"]["voicing"]["latency_samples"],
        j["latency"]["pitch"]["samples"]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn every_readable_format_rate_and_layout_finds_the_hits() {
    let dir = temp_dir("formats");
    let inputs = dir.join("in");
    std::fs::create_dir_all(inputs.join("wav")).unwrap();
    hits_wav(&inputs.join("wav/mono_8k.wav"), 8_000, 1);
    hits_wav(&inputs.join("wav/stereo_48k.wav"), 48_000, 2);
    hits_wav(&inputs.join("wav/six_96k.wav"), 96_000, 6);
    std::fs::write(inputs.join("wav/README.txt"), "not audio").unwrap();
    let out = dir.join("out");
    let r = cochlea(&[
        "analyze",
        s(&inputs),
        s(&fixture("hits.mp3")),
        s(&fixture("hits.ogg")),
        "-o",
        s(&out),
        "--progress",
        "lines",
    ]);
    assert_code(&r, 0);
    let err = stderr(&r);
    assert!(err.contains("analysed 5 of 5 files"), "{err}");
    assert!(err.contains("1 non-audio files ignored"), "{err}");
    for n in 1..=5 {
        assert!(err.contains(&format!("[{n}/5] ")), "a line per file: {err}");
    }
    // The folder argument's tree is mirrored; hits.mp3 and hits.ogg share a name, so both keep
    // their extension.
    assert_eq!(
        files_under(&out),
        strings(&[
            "hits.mp3/notes.csv",
            "hits.mp3/notes.mid",
            "hits.mp3/onsets.txt",
            "hits.mp3/pitch.csv",
            "hits.mp3/summary.json",
            "hits.ogg/notes.csv",
            "hits.ogg/notes.mid",
            "hits.ogg/onsets.txt",
            "hits.ogg/pitch.csv",
            "hits.ogg/summary.json",
            "wav/mono_8k/notes.csv",
            "wav/mono_8k/notes.mid",
            "wav/mono_8k/onsets.txt",
            "wav/mono_8k/pitch.csv",
            "wav/mono_8k/summary.json",
            "wav/six_96k/notes.csv",
            "wav/six_96k/notes.mid",
            "wav/six_96k/onsets.txt",
            "wav/six_96k/pitch.csv",
            "wav/six_96k/summary.json",
            "wav/stereo_48k/notes.csv",
            "wav/stereo_48k/notes.mid",
            "wav/stereo_48k/onsets.txt",
            "wav/stereo_48k/pitch.csv",
            "wav/stereo_48k/summary.json",
        ])
    );
    for name in ["mono_8k", "stereo_48k", "six_96k"] {
        let times = read_times(&out.join("wav").join(name).join("onsets.txt"));
        assert_onsets(&times, &HITS, 0.02);
    }
    let truth = read_times(&fixture("hits.onsets.txt"));
    for name in ["hits.mp3", "hits.ogg"] {
        let times = read_times(&out.join(name).join("onsets.txt"));
        assert_onsets(&times, &truth, 0.02);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_summary_records_input_settings_latency_counts_and_durations() {
    let dir = temp_dir("summary");
    let input = dir.join("take.wav");
    hits_wav(&input, 48_000, 2);
    let out = dir.join("out");
    let r = cochlea(&[
        "analyze",
        s(&input),
        "-o",
        s(&out),
        "--sensitivity",
        "0.4",
        "--method",
        "specflux",
        "--block",
        "333",
    ]);
    assert_code(&r, 0);
    let j = read_json(&out.join("take/summary.json"));
    assert_eq!(j["cochlea"]["command"], "analyze");
    assert_eq!(j["input"]["path"], s(&input));
    assert_eq!(j["input"]["sample_rate"], 48_000);
    assert_eq!(j["input"]["channels"], 2);
    assert_eq!(j["input"]["frames"], 76_800);
    assert!((j["input"]["duration_s"].as_f64().unwrap() - 1.6).abs() < 1e-9);
    assert_eq!(j["settings"]["block_size"], 333);
    assert_eq!(j["settings"]["analysed_channels"], 2);
    assert_eq!(j["settings"]["analysis"]["onset"]["method"], "specflux");
    assert_eq!(j["settings"]["analysis"]["onset"]["sensitivity"], 0.4);
    let latency = j["latency"]["onsets"]["samples"].as_u64().unwrap();
    assert!(latency > 0 && latency < 4800, "{latency}");
    let ms = j["latency"]["onsets"]["ms"].as_f64().unwrap();
    assert!((ms - latency as f64 / 48.0).abs() < 1e-9);
    assert_eq!(j["events"]["onset"], 4);
    assert_eq!(j["events"]["dropped"], 0);
    assert_eq!(j["outputs"]["onsets"]["file"], "onsets.txt");
    assert_eq!(j["outputs"]["onsets"]["count"], 4);
    assert!(j["processing"]["wall_s"].as_f64().unwrap() > 0.0);
    assert!(j["processing"]["speed_x_realtime"].as_f64().unwrap() > 0.0);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn results_do_not_depend_on_block_size_or_parallelism() {
    let dir = temp_dir("invariance");
    let inputs = dir.join("in");
    std::fs::create_dir_all(&inputs).unwrap();
    std::fs::copy(
        corpus("onsets/o007_guitar_drums.flac"),
        inputs.join("a.flac"),
    )
    .unwrap();
    hits_wav(&inputs.join("b.wav"), 44_100, 2);
    let run = |name: &str, extra: &[&str]| {
        let out = dir.join(name);
        let mut args = vec![
            "analyze",
            s(&inputs),
            "-o",
            s(&out),
            "--only",
            "onsets,pitch,notes",
        ];
        args.extend_from_slice(extra);
        assert_code(&cochlea(&args), 0);
        assert_eq!(
            files_under(&out),
            strings(&[
                "a/notes.csv",
                "a/notes.mid",
                "a/onsets.txt",
                "a/pitch.csv",
                "a/summary.json",
                "b/notes.csv",
                "b/notes.mid",
                "b/onsets.txt",
                "b/pitch.csv",
                "b/summary.json"
            ])
        );
        ["a", "b"].map(|n| {
            ["onsets.txt", "pitch.csv", "notes.csv"]
                .map(|f| std::fs::read_to_string(out.join(n).join(f)).unwrap())
        })
    };
    let reference = run("o1", &["--jobs", "1", "--block", "1024"]);
    assert!(reference[0][0].lines().count() > 30);
    // Pitch rows every hop, and notes on the guitar.
    assert!(reference[0][1].lines().count() > 1000);
    assert!(reference[0][2].lines().count() > 10);
    assert_eq!(run("o2", &["--jobs", "2", "--block", "17"]), reference);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn one_bad_file_is_reported_and_the_others_go_on() {
    let dir = temp_dir("mixed");
    let inputs = dir.join("in");
    std::fs::create_dir_all(inputs.join("sub")).unwrap();
    hits_wav(&inputs.join("good.wav"), 44_100, 1);
    hits_wav(&inputs.join("sub/good2.wav"), 22_050, 2);
    std::fs::write(
        inputs.join("sub/broken.wav"),
        b"RIFF\x10\x00\x00\x00WAVEjunkjunk",
    )
    .unwrap();
    std::fs::write(inputs.join("empty.flac"), b"").unwrap();
    let out = dir.join("out");
    let r = cochlea(&["analyze", s(&inputs), "-o", s(&out), "--progress", "quiet"]);
    assert_code(&r, 3);
    let err = stderr(&r);
    assert!(err.contains("analysed 2 of 4 files"), "{err}");
    assert!(err.contains("2 failed:"), "{err}");
    assert!(err.contains("broken.wav: corrupt audio data"), "{err}");
    assert!(
        err.contains("empty.flac: the file is empty (0 bytes)"),
        "{err}"
    );
    assert!(
        err.contains("cochlea: 2 of 4 files failed: 2 unreadable or unsupported input (exit 3)"),
        "{err}"
    );
    // The good ones have all their outputs, the bad ones nothing (not even a folder).
    assert_eq!(
        files_under(&out),
        strings(&[
            "good/notes.csv",
            "good/notes.mid",
            "good/onsets.txt",
            "good/pitch.csv",
            "good/summary.json",
            "sub/good2/notes.csv",
            "sub/good2/notes.mid",
            "sub/good2/onsets.txt",
            "sub/good2/pitch.csv",
            "sub/good2/summary.json",
        ])
    );
    assert!(!out.join("sub/broken").exists() && !out.join("empty").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Runs `analyze` on one bad input into a fresh folder and checks the exit code, that stderr
/// names the file and says `what`, and that nothing at all was written.
#[track_caller]
fn bad_input(name: &str, input: &Path, code: i32, what: &str) {
    let out = temp_dir(&format!("bad-out-{name}"));
    let r = cochlea(&["analyze", s(input), "-o", s(&out)]);
    assert_code(&r, code);
    let err = stderr(&r);
    assert!(err.starts_with("cochlea: "), "{err}");
    assert!(err.contains(s(input)), "names the file: {err}");
    assert!(err.contains(what), "says {what:?}: {err}");
    assert_eq!(err.lines().count(), 1, "one clear line: {err}");
    assert!(files_under(&out).is_empty(), "left {:?}", files_under(&out));
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn every_kind_of_bad_input_gets_its_own_message_code_and_no_output() {
    let dir = temp_dir("bad");
    let good = dir.join("good.wav");
    hits_wav(&good, 44_100, 1);
    let bytes = std::fs::read(&good).unwrap();

    bad_input(
        "missing",
        &dir.join("missing.wav"),
        3,
        "cannot read: No such file",
    );

    let empty = dir.join("empty.wav");
    std::fs::write(&empty, b"").unwrap();
    bad_input("empty", &empty, 3, "the file is empty (0 bytes)");

    let truncated = dir.join("truncated.wav");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    bad_input(
        "truncated",
        &truncated,
        3,
        "truncated: the header announces 70560 frames",
    );

    let header_only = dir.join("header_only.wav");
    std::fs::write(&header_only, &bytes[..30]).unwrap();
    bad_input(
        "header",
        &header_only,
        3,
        "corrupt audio data (a WAV file that ends inside its header)",
    );

    let mut b = bytes.clone();
    b[22] = 0; // channel count 0
    b[23] = 0;
    let corrupt = dir.join("corrupt.wav");
    std::fs::write(&corrupt, &b).unwrap();
    bad_input("corrupt", &corrupt, 3, "corrupt audio data");

    let text = dir.join("notes.wav");
    std::fs::write(&text, "this is not audio\n".repeat(20)).unwrap();
    bad_input(
        "text",
        &text,
        3,
        "unsupported format (not an audio format Cochlea knows)",
    );
    bad_input(
        "aiff",
        &fixture("hits.aiff"),
        3,
        "unsupported format (AIFF file)",
    );
    bad_input(
        "opus",
        &fixture("hits.opus.ogg"),
        3,
        "an audio codec Cochlea does not decode",
    );

    let zero = dir.join("zero.wav");
    write_wav16(&zero, 44_100, &[vec![]]);
    bad_input("zero", &zero, 3, "contains no audio (0 frames)");

    let slow = dir.join("slow.wav");
    write_wav16(&slow, 4_000, &[vec![0.1; 4_000]]);
    bad_input(
        "rate",
        &slow,
        3,
        "sample rate 4000 Hz is not supported (8000 to 192000 Hz)",
    );

    bad_input("folder", &dir.join("nothing-here"), 3, "No such file");
    let empty_folder = dir.join("empty_folder");
    std::fs::create_dir_all(&empty_folder).unwrap();
    bad_input(
        "empty-folder",
        &empty_folder,
        3,
        "no audio files in this folder",
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_unwritable_output_folder_exits_4_and_leaves_nothing() {
    let dir = temp_dir("unwritable");
    let input = dir.join("in.wav");
    hits_wav(&input, 44_100, 1);
    // A folder cannot be made under a file (this holds even for root, unlike permissions).
    let blocker = dir.join("blocker");
    std::fs::write(&blocker, b"").unwrap();
    let r = cochlea(&["analyze", s(&input), "-o", s(&blocker.join("out"))]);
    assert_code(&r, 4);
    let err = stderr(&r);
    assert!(err.contains("cannot create folder"), "{err}");
    assert!(err.contains(s(&blocker)), "{err}");
    let r = cochlea(&["analyze", s(&input), "--onsets", s(&blocker.join("x.txt"))]);
    assert_code(&r, 4);
    assert_eq!(files_under(&dir), ["blocker", "in.wav"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn impossible_settings_exit_2_before_reading_anything() {
    let cases: [(&[&str], &str); 7] = [
        (&["--sensitivity", "7"], "onset.sensitivity"),
        (&["--min-interval", "5"], "onset.min_interval_s"),
        (&["--lookahead", "99"], "onset.lookahead_frames"),
        (&["--block", "0"], "max block size 0"),
        (&["--jobs", "0"], "--jobs must be at least 1"),
        (&["--method", "magic"], "invalid value 'magic'"),
        (
            &["--onsets", "a.txt", "--force", "--skip-existing"],
            "cannot be used with",
        ),
    ];
    for (extra, what) in cases {
        let mut args = vec!["analyze", "/nonexistent.wav", "-o", "/nonexistent-out"];
        args.extend_from_slice(extra);
        let r = cochlea(&args);
        assert_code(&r, 2);
        assert!(stderr(&r).contains(what), "{extra:?}: {}", stderr(&r));
    }
    // Nowhere to write, or one path for several inputs.
    let r = cochlea(&["analyze", "/nonexistent.wav"]);
    assert_code(&r, 2);
    assert!(
        stderr(&r).contains("say where the outputs go: -o DIR"),
        "{}",
        stderr(&r)
    );
    let r = cochlea(&["analyze", "a.wav", "b.wav", "--onsets", "x.txt"]);
    assert_code(&r, 2);
    assert!(
        stderr(&r).contains("needs exactly one input file"),
        "{}",
        stderr(&r)
    );
    assert!(!Path::new("/nonexistent-out").exists());
}

#[test]
fn existing_outputs_are_kept_unless_forced_or_skipped() {
    let dir = temp_dir("overwrite");
    let inputs = dir.join("in");
    std::fs::create_dir_all(&inputs).unwrap();
    hits_wav(&inputs.join("a.wav"), 44_100, 1);
    hits_wav(&inputs.join("b.wav"), 44_100, 1);
    let out = dir.join("out");
    assert_code(&cochlea(&["analyze", s(&inputs), "-o", s(&out)]), 0);
    let onsets = out.join("a/onsets.txt");
    std::fs::write(&onsets, "edited\n").unwrap();
    std::fs::remove_dir_all(out.join("b")).unwrap();

    // Refused before any work: nothing changes, b is not analysed either.
    let r = cochlea(&["analyze", s(&inputs), "-o", s(&out)]);
    assert_code(&r, 4);
    let err = stderr(&r);
    assert!(
        err.contains("already exists") && err.contains("--force"),
        "{err}"
    );
    assert!(err.contains("nothing was analysed"), "{err}");
    assert_eq!(std::fs::read_to_string(&onsets).unwrap(), "edited\n");
    assert!(!out.join("b").exists());

    // --skip-existing leaves a alone and does b.
    let r = cochlea(&[
        "analyze",
        s(&inputs),
        "-o",
        s(&out),
        "--skip-existing",
        "--progress",
        "lines",
    ]);
    assert_code(&r, 0);
    assert!(
        stderr(&r).contains("1 skipped (outputs exist)"),
        "{}",
        stderr(&r)
    );
    assert_eq!(std::fs::read_to_string(&onsets).unwrap(), "edited\n");
    assert!(out.join("b/onsets.txt").is_file());

    // --force replaces.
    assert_code(
        &cochlea(&["analyze", s(&inputs), "-o", s(&out), "--force"]),
        0,
    );
    assert_eq!(read_times(&onsets).len(), 4);
    assert!(!files_under(&out).iter().any(|f| f.ends_with(".partial")));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn demo_finds_the_onsets_it_synthesised_and_can_run_again() {
    let dir = temp_dir("demo");
    for _ in 0..2 {
        let r = cochlea(&["demo", "-o", s(&dir)]);
        assert_code(&r, 0);
        let text = stdout(&r);
        let f: f64 = text
            .split("F-measure ")
            .nth(1)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(f >= 0.95, "{text}");
        assert!(text.contains("onset latency"), "{text}");
        let notes_f: f64 = text
            .split("notes: ")
            .nth(1)
            .and_then(|t| t.split("F-measure ").nth(1))
            .and_then(|t| t.split_whitespace().next())
            .and_then(|t| t.parse().ok())
            .unwrap_or_else(|| panic!("no note score: {text}"));
        assert!(notes_f >= 0.9, "{text}");
        let rpa: f64 = text
            .split("raw pitch accuracy ")
            .nth(1)
            .and_then(|t| t.split(',').next())
            .and_then(|t| t.parse().ok())
            .unwrap_or_else(|| panic!("no pitch score: {text}"));
        assert!(rpa >= 0.9, "{text}");
        assert!(
            text.contains("stems (share of the input's energy"),
            "{text}"
        );
    }
    assert_eq!(
        files_under(&dir),
        strings(&[
            "input.wav",
            "melody.csv",
            "notes.csv",
            "notes.mid",
            "onsets.txt",
            "pitch.csv",
            "stems/accompaniment.wav",
            "stems/harmonic.wav",
            "stems/melody.wav",
            "stems/percussive.wav",
            "stems/residual.wav",
            "summary.json",
            "voicing.csv"
        ])
    );
    let j = read_json(&dir.join("summary.json"));
    assert_eq!(j["input"]["duration_s"], 7.0);
    assert_eq!(
        j["outputs"]["onsets"]["count"].as_u64(),
        Some(read_times(&dir.join("onsets.txt")).len() as u64)
    );
    std::fs::remove_dir_all(&dir).unwrap();

    let blocker = temp_dir("demo-blocker").join("file");
    std::fs::write(&blocker, b"").unwrap();
    let r = cochlea(&["demo", "-o", s(&blocker.join("sub"))]);
    assert_code(&r, 4);
    assert!(
        stderr(&r).contains("cannot create folder"),
        "{}",
        stderr(&r)
    );
    let r = cochlea(&["demo", "--sensitivity", "2"]);
    assert_code(&r, 2);
    std::fs::remove_dir_all(blocker.parent().unwrap()).unwrap();
}

#[test]
fn devices_lists_hosts_and_usage_errors_exit_2() {
    let r = cochlea(&["devices"]);
    assert_code(&r, 0);
    let out = stdout(&r);
    assert!(
        out.starts_with("host ") || out.starts_with("no audio host"),
        "{out}"
    );

    let r = cochlea(&["frobnicate"]);
    assert_code(&r, 2);
    let r = cochlea(&["analyze"]);
    assert_code(&r, 2);
    assert!(stderr(&r).contains("<PATH>"), "{}", stderr(&r));
    let r = cochlea(&["--help"]);
    assert_code(&r, 0);
    assert!(stdout(&r).contains("Exit codes"));
    for sub in ["analyze", "live", "demo"] {
        let r = cochlea(&[sub, "--help"]);
        assert_code(&r, 0);
        assert!(stdout(&r).contains("--sensitivity"), "{sub}");
    }
}

#[test]
#[cfg(unix)]
fn ctrl_c_stops_an_analysis_leaving_only_finished_outputs() {
    use std::io::{BufRead, BufReader};
    use std::time::{Duration, Instant};
    let dir = temp_dir("analyze-ctrlc");
    let inputs = dir.join("in");
    std::fs::create_dir_all(&inputs).unwrap();
    for i in 0..6 {
        std::fs::copy(
            corpus("onsets/o000_piano.flac"),
            inputs.join(format!("take{i}.flac")),
        )
        .unwrap();
    }
    let out = dir.join("out");
    let mut child = command()
        .args([
            "analyze",
            s(&inputs),
            "-o",
            s(&out),
            "--jobs",
            "1",
            "--progress",
            "lines",
        ])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let first = lines.next().expect("a progress line").unwrap();
    assert!(first.starts_with("[1/6] "), "{first}");
    interrupt(&child);
    let rest: Vec<String> = lines.map(|l| l.unwrap()).collect();
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        assert!(Instant::now() < deadline, "did not stop");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(130), "{rest:?}");
    let last = rest.last().unwrap();
    assert!(last.starts_with("cochlea: interrupted: "), "{rest:?}");
    assert!(
        last.contains("not analysed (no output left for them)"),
        "{last}"
    );
    // Finished inputs have all their outputs; nothing else is there, not even temporary files.
    let files = files_under(&out);
    let done = files.len() / 5;
    assert!((1..6).contains(&done), "{files:?}");
    for f in &files {
        assert!(
            [
                "/onsets.txt",
                "/pitch.csv",
                "/notes.mid",
                "/notes.csv",
                "/summary.json"
            ]
            .iter()
            .any(|k| f.ends_with(k)),
            "{files:?}"
        );
    }
    assert!(last.contains(&format!("{done} of 6 files done")), "{last}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
#[cfg(target_os = "linux")] // util-linux `script` gives the command a terminal
fn a_terminal_gets_a_progress_bar() {
    let dir = temp_dir("bar");
    let inputs = dir.join("in");
    std::fs::create_dir_all(&inputs).unwrap();
    for i in 0..2 {
        std::fs::copy(
            corpus("onsets/o004_strings.flac"),
            inputs.join(format!("s{i}.flac")),
        )
        .unwrap();
    }
    let cmd = format!(
        "{} analyze {} -o {} --jobs 1",
        env!("CARGO_BIN_EXE_cochlea"),
        s(&inputs),
        s(&dir.join("out"))
    );
    let r = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run script");
    assert_code(&r, 0);
    let screen = stdout(&r);
    assert!(screen.contains("/2 files"), "{screen}");
    assert!(
        screen.contains("of audio, ") && screen.contains("x real time"),
        "{screen}"
    );
    assert!(screen.contains("analysed 2 of 2 files"), "{screen}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Reads a WAV written by `cochlea` (via the library's reader).
fn read_wav(path: &Path) -> cochlea::audio::Audio {
    cochlea::audio::read_audio(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn stems_are_aligned_with_the_input_and_each_split_sums_to_it() {
    let dir = temp_dir("stems");
    let input = dir.join("in.wav");
    // Stereo at 48 kHz: the stems keep the channels and the rate.
    hits_wav(&input, 48_000, 2);
    let out = dir.join("stems");
    let r = cochlea(&["analyze", s(&input), "--stems", s(&out)]);
    assert_code(&r, 0);
    assert_eq!(
        files_under(&out),
        strings(&[
            "accompaniment.wav",
            "harmonic.wav",
            "melody.wav",
            "percussive.wav",
            "residual.wav",
        ])
    );
    let x = read_wav(&input);
    let stem = |name: &str| read_wav(&out.join(format!("{name}.wav")));
    let (h, p, res) = (stem("harmonic"), stem("percussive"), stem("residual"));
    let (m, a) = (stem("melody"), stem("accompaniment"));
    for st in [&h, &p, &res, &m, &a] {
        assert_eq!(st.sample_rate, 48_000);
        assert_eq!(st.channels.len(), 2);
        assert_eq!(st.len(), x.len());
    }
    for c in 0..2 {
        for i in 0..x.len() {
            let hpr = h.channels[c][i] + p.channels[c][i] + res.channels[c][i];
            assert!(
                (hpr - x.channels[c][i]).abs() < 1e-4,
                "channel {c} sample {i}"
            );
            let ma = m.channels[c][i] + a.channels[c][i];
            assert!(
                (ma - x.channels[c][i]).abs() < 1e-4,
                "channel {c} sample {i}"
            );
        }
    }
    // The hits are percussive: the percussive stem peaks at them (aligned, latency removed).
    let peak = p.channels[0]
        .iter()
        .enumerate()
        .fold(
            (0, 0.0f32),
            |b, (i, &v)| if v.abs() > b.1 { (i, v.abs()) } else { b },
        );
    let t = peak.0 as f64 / 48_000.0;
    assert!(
        HITS.iter().any(|&h| (t - h).abs() < 0.01),
        "percussive peak at {t} s"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn stems_are_opt_in_and_their_errors_leave_nothing() {
    let dir = temp_dir("stems-errors");
    let input = dir.join("in.wav");
    hits_wav(&input, 44_100, 1);
    // Not among the default outputs.
    let out = dir.join("out");
    let r = cochlea(&["analyze", s(&input), "-o", s(&out)]);
    assert_code(&r, 0);
    assert!(!files_under(&out).iter().any(|f| f.contains("stems")));
    // --only stems with -o: a stems/ folder beside the summary.
    let r = cochlea(&[
        "analyze",
        s(&input),
        "-o",
        s(&out),
        "--only",
        "stems",
        "--force",
    ]);
    assert_code(&r, 0);
    assert!(
        out.join("in/stems/harmonic.wav").is_file(),
        "{:?}",
        files_under(&out)
    );
    // A folder cannot be made under a file: exit 4, nothing written.
    let blocker = dir.join("blocker");
    std::fs::write(&blocker, b"").unwrap();
    let before = files_under(&dir);
    let r = cochlea(&["analyze", s(&input), "--stems", s(&blocker.join("st"))]);
    assert_code(&r, 4);
    assert!(
        stderr(&r).contains("cannot create folder"),
        "{}",
        stderr(&r)
    );
    assert_eq!(files_under(&dir), before);
    // Existing stems are kept unless forced.
    let st = dir.join("st");
    assert_code(&cochlea(&["analyze", s(&input), "--stems", s(&st)]), 0);
    let r = cochlea(&["analyze", s(&input), "--stems", s(&st)]);
    assert_code(&r, 4);
    assert!(stderr(&r).contains("already exists"), "{}", stderr(&r));
    assert_code(
        &cochlea(&["analyze", s(&input), "--stems", s(&st), "--force"]),
        0,
    );
    // An unreadable input: exit 3, no stems folder.
    let bad = dir.join("bad.wav");
    std::fs::write(&bad, b"RIFF nonsense").unwrap();
    let r = cochlea(&["analyze", s(&bad), "--stems", s(&dir.join("bad-stems"))]);
    assert_code(&r, 3);
    assert!(!dir.join("bad-stems").exists());
    // live does not record stems.
    let r = cochlea(&[
        "live",
        "--input-file",
        s(&input),
        "--only",
        "stems",
        "-o",
        s(&out),
    ]);
    assert_code(&r, 2);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn melody_csv_follows_the_melody_of_a_mix() {
    let dir = temp_dir("melody");
    let out = dir.join("m.csv");
    let input = corpus("melody/ma000_flute_piano.mix.flac");
    let r = cochlea(&["analyze", s(&input), "--melody", s(&out)]);
    assert_code(&r, 0);
    assert_eq!(files_under(&dir), ["m.csv"]);
    let (header, t, f) = read_time_values(&out);
    assert_eq!(header, "time_s,freq_hz");
    // One row per 512-sample melody hop, evenly spaced.
    let step = 512.0 / 44_100.0;
    assert!(t.windows(2).all(|w| ((w[1] - w[0]) - step).abs() < 2e-6));
    let (_, rt, rf) = read_time_values(&corpus("melody/ma000_flute_piano.melody.f0.csv"));
    let scores = cochlea_engine::eval::melody::evaluate(&rt, &rf, &t, &f, 50.0);
    assert!(scores.raw_pitch_accuracy > 0.8, "{scores:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}
