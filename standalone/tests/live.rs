//! `cochlea live` end to end: a file through the real-time path on the null backend gives the
//! onsets the offline analysis gives; pacing, duration, Ctrl-C, the terminal display, the ALSA
//! path, and every refusal with its message and exit code.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;

#[test]
fn a_file_through_the_real_time_path_gives_the_offline_onsets() {
    let dir = temp_dir("live-file");
    let input = corpus("onsets/o007_guitar_drums.flac");
    let reference = dir.join("reference.txt");
    assert_code(
        &cochlea(&["analyze", s(&input), "--onsets", s(&reference)]),
        0,
    );
    let out = dir.join("live");
    let r = cochlea(&[
        "live",
        "--backend",
        "null",
        "--fast",
        "--input-file",
        s(&input),
        "--block",
        "64",
        "--display",
        "lines",
        "-o",
        s(&out),
    ]);
    assert_code(&r, 0);
    let live = std::fs::read_to_string(out.join("onsets.txt")).unwrap();
    assert_eq!(live, std::fs::read_to_string(&reference).unwrap());
    // The notes too: the live path's equal the offline ones, and there are some.
    let offline_notes = dir.join("reference.mid");
    assert_code(
        &cochlea(&["analyze", s(&input), "--notes", s(&offline_notes)]),
        0,
    );
    let live_notes = std::fs::read_to_string(out.join("notes.csv")).unwrap();
    assert!(live_notes.lines().count() > 10, "{live_notes}");
    assert_eq!(
        live_notes,
        std::fs::read_to_string(dir.join("reference.notes.csv")).unwrap()
    );
    // The same onsets were printed as they happened: time, kind, strength.
    let printed: Vec<String> = stdout(&r)
        .lines()
        .map(|l| l.split('\t').take(2).collect::<Vec<_>>().join("\t"))
        .collect();
    let expected: Vec<String> = live.lines().map(|t| format!("{t}\tonset")).collect();
    assert_eq!(printed, expected);
    let j = read_json(&out.join("summary.json"));
    assert_eq!(j["cochlea"]["command"], "live");
    assert_eq!(j["live"]["stopped_by"], "end of file");
    assert_eq!(j["live"]["underruns"], 0);
    assert_eq!(j["input"]["backend"], "null");
    assert_eq!(j["input"]["sample_rate"], 44_100);
    assert_eq!(
        j["events"]["onset"].as_u64(),
        Some(live.lines().count() as u64)
    );
    assert_eq!(j["settings"]["block_size"], 64);
    let err = stderr(&r);
    assert!(err.contains("stopped: end of file"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn known_hits_come_out_at_their_times_in_real_time() {
    let dir = temp_dir("live-hits");
    let input = dir.join("hits.wav");
    hits_wav(&input, 48_000, 2);
    let started = Instant::now();
    let r = cochlea(&[
        "live",
        "--backend",
        "null",
        "--input-file",
        s(&input),
        "--onsets",
        s(&dir.join("onsets.txt")),
        "--display",
        "quiet",
    ]);
    let wall = started.elapsed();
    assert_code(&r, 0);
    assert_onsets(&read_times(&dir.join("onsets.txt")), &HITS, 0.02);
    // Paced like a device: 1.6 s of audio takes at least that long.
    assert!(wall >= Duration::from_millis(1550), "{wall:?}");
    assert_eq!(files_under(&dir), ["hits.wav", "onsets.txt"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn duration_stops_at_exactly_that_much_audio() {
    let dir = temp_dir("live-duration");
    let r = cochlea(&[
        "live",
        "--backend",
        "null",
        "--fast",
        "--rate",
        "22050",
        "--block",
        "100",
        "--duration",
        "0.5",
        "--display",
        "quiet",
        "-o",
        s(&dir),
    ]);
    assert_code(&r, 0);
    let j = read_json(&dir.join("summary.json"));
    assert_eq!(j["input"]["frames"], 11_025);
    assert_eq!(j["input"]["source"], "silence");
    assert_eq!(j["live"]["stopped_by"], "duration reached");
    assert_eq!(j["events"]["onset"], 0);
    assert_eq!(std::fs::read_to_string(dir.join("onsets.txt")).unwrap(), "");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
#[cfg(unix)]
fn ctrl_c_stops_cleanly_and_flushes_the_recording() {
    let dir = temp_dir("live-ctrlc");
    let out = dir.join("rec");
    let mut child = command()
        .args([
            "live",
            "--backend",
            "null",
            "--input-file",
            s(&corpus("onsets/o000_piano.flac")),
            "--display",
            "lines",
            "-o",
            s(&out),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the first onset to be printed, then interrupt.
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().expect("an onset line").unwrap();
    assert!(first.contains("\tonset\t"), "{first}");
    std::thread::sleep(Duration::from_millis(300));
    interrupt(&child);
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        assert!(
            Instant::now() < deadline,
            "cochlea live did not stop on SIGINT"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0));
    let j = read_json(&out.join("summary.json"));
    assert_eq!(j["live"]["stopped_by"], "interrupted (Ctrl-C)");
    let secs = j["input"]["duration_s"].as_f64().unwrap();
    assert!(secs > 0.3 && secs < 15.0, "{secs}");
    let onsets = read_times(&out.join("onsets.txt"));
    assert_eq!(j["events"]["onset"].as_u64(), Some(onsets.len() as u64));
    assert!(!onsets.is_empty() && onsets.iter().all(|&t| t <= secs));
    assert_eq!(
        files_under(&out),
        [
            "notes.csv",
            "notes.mid",
            "onsets.txt",
            "pitch.csv",
            "summary.json"
        ]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
#[cfg(target_os = "linux")] // util-linux `script` gives the command a terminal
fn the_terminal_display_redraws_at_least_20_times_a_second() {
    // `script` gives cochlea a terminal (util-linux, present on every Debian/Ubuntu system).
    let dir = temp_dir("live-screen");
    let input = dir.join("hits.wav");
    hits_wav(&input, 44_100, 2);
    let cmd = format!(
        "{} live --backend null --input-file {} --display screen",
        env!("CARGO_BIN_EXE_cochlea"),
        s(&input)
    );
    let started = Instant::now();
    let r = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .stdin(Stdio::null())
        .output()
        .expect("run script");
    let wall = started.elapsed().as_secs_f64();
    assert_code(&r, 0);
    let screen = stdout(&r);
    // Every redraw after the first moves the cursor back up over the previous frame.
    let frames = screen
        .split("\x1b[")
        .filter(|seg| {
            let digits = seg.chars().take_while(char::is_ascii_digit).count();
            digits > 0 && seg[digits..].starts_with('A')
        })
        .count()
        + 1;
    assert!(
        frames as f64 >= 20.0 * 1.6,
        "{frames} frames for 1.6 s of audio in {wall:.2} s"
    );
    assert!(
        screen.contains("\x1b[1;33m(*)\x1b[0m 1 onsets"),
        "an onset lit up"
    );
    assert!(screen.contains("4 onsets"), "{screen}");
    for row in [
        "in     L [",
        "out    L [",
        "pitch  --",
        "note   --",
        "stems  --",
        "overruns 0",
    ] {
        assert!(screen.contains(row), "{row}");
    }
    assert!(screen.contains("\x1b[?25h"), "the cursor is shown again");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
#[cfg(target_os = "linux")]
fn the_alsa_null_device_runs_through_cpal() {
    // alsa-lib's "null" PCM exists wherever alsa-lib does, sound card or not.
    let dir = temp_dir("live-alsa");
    let r = cochlea(&[
        "live",
        "--input-device",
        "null",
        "--rate",
        "32000",
        "--duration",
        "0.25",
        "--display",
        "quiet",
        "-o",
        s(&dir),
    ]);
    assert_code(&r, 0);
    let j = read_json(&dir.join("summary.json"));
    assert_eq!(j["input"]["backend"], "cpal");
    assert_eq!(
        j["input"]["input_device"],
        "Discard all samples (playback) or generate zero samples (capture)"
    );
    assert_eq!(j["input"]["frames"], 8_000);
    assert_eq!(j["settings"]["monitor"], "off");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
#[cfg(target_os = "linux")] // the device part expects ALSA's "null" device
fn bad_live_requests_name_what_was_asked_and_what_exists() {
    let dir = temp_dir("live-bad");
    let good = dir.join("good.wav");
    hits_wav(&good, 44_100, 1);
    let corrupt = dir.join("corrupt.wav");
    std::fs::write(&corrupt, b"RIFF\x10\x00\x00\x00WAVEjunk").unwrap();
    let out = dir.join("out");
    let null = ["live", "--backend", "null", "--fast", "--display", "quiet"];
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (
            vec!["--input-file", "/nonexistent.wav"],
            3,
            "/nonexistent.wav: cannot read",
        ),
        (vec!["--input-file", s(&corrupt)], 3, "corrupt audio data"),
        (vec!["--block", "0"], 2, "--block 0 is not possible"),
        (vec!["--rate", "1000"], 2, "--rate 1000 is not supported"),
        (vec!["--channels", "3"], 2, "--channels 3 is not possible"),
        (vec!["--duration", "0"], 2, "--duration 0 is not possible"),
        (vec!["--sensitivity", "3"], 2, "onset.sensitivity"),
        (
            vec!["--input-file", s(&good), "--rate", "48000"],
            2,
            "differs from the file's 44100 Hz",
        ),
    ];
    for (extra, code, what) in cases {
        let mut args = null.to_vec();
        args.extend_from_slice(&extra);
        args.extend_from_slice(&["-o", s(&out)]);
        let r = cochlea(&args);
        assert_code(&r, code);
        assert!(stderr(&r).contains(what), "{extra:?}: {}", stderr(&r));
        assert!(!out.exists(), "{extra:?} left output");
    }
    // A device paces itself.
    let r = cochlea(&["live", "--fast"]);
    assert_code(&r, 2);
    assert!(stderr(&r).contains("--fast needs --backend null"));
    // No such host or device: the message lists what exists.
    let r = cochlea(&["live", "--host", "nope"]);
    assert_code(&r, 2);
    assert!(
        stderr(&r).contains("no audio host called \"nope\"; available here:"),
        "{}",
        stderr(&r)
    );
    let r = cochlea(&["live", "--input-device", "no-such-mic", "--duration", "0.1"]);
    assert_code(&r, 3);
    assert!(
        stderr(&r).contains("no capture device called \"no-such-mic\""),
        "{}",
        stderr(&r)
    );
    assert!(
        stderr(&r).contains("capture devices: null"),
        "{}",
        stderr(&r)
    );
    let r = cochlea(&[
        "live",
        "--input-file",
        s(&good),
        "--output-device",
        "no-such-speaker",
    ]);
    assert_code(&r, 4);
    assert!(
        stderr(&r).contains("no playback device called \"no-such-speaker\""),
        "{}",
        stderr(&r)
    );
    // Recordings are not overwritten.
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("onsets.txt"), "keep\n").unwrap();
    let mut args = null.to_vec();
    args.extend_from_slice(&["--duration", "0.1", "-o", s(&out)]);
    let r = cochlea(&args);
    assert_code(&r, 4);
    assert!(stderr(&r).contains("already exists"), "{}", stderr(&r));
    assert_eq!(
        std::fs::read_to_string(out.join("onsets.txt")).unwrap(),
        "keep\n"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_monitored_stem_turns_the_separation_on_with_its_latency_and_the_same_onsets() {
    let dir = temp_dir("live-stem");
    let input = corpus("onsets/o007_guitar_drums.flac");
    let run = |name: &str, monitor: &str| {
        let out = dir.join(name);
        let r = cochlea(&[
            "live",
            "--backend",
            "null",
            "--fast",
            "--input-file",
            s(&input),
            "--monitor",
            monitor,
            "--display",
            "lines",
            "--only",
            "onsets",
            "-o",
            s(&out),
        ]);
        assert_code(&r, 0);
        (
            read_json(&out.join("summary.json")),
            std::fs::read_to_string(out.join("onsets.txt")).unwrap(),
        )
    };
    let (stem, stem_onsets) = run("stem", "percussive");
    assert_eq!(stem["settings"]["monitor"], "percussive");
    assert_eq!(stem["settings"]["separate"], true);
    // 46.4 ms of audio latency at 44.1 kHz: the separation's.
    assert_eq!(stem["latency"]["audio"]["samples"], 2048);
    let (mix, mix_onsets) = run("mix", "mix");
    assert_eq!(mix["settings"]["separate"], false);
    assert_eq!(mix["latency"]["audio"]["samples"], 0);
    // The analyses do not depend on what is heard.
    assert_eq!(stem_onsets, mix_onsets);
    std::fs::remove_dir_all(&dir).unwrap();
}
