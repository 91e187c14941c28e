//! `soak`: an hour of music through the live host's real-time path, as fast as it runs.
//!
//! ```text
//! cargo run --release -p cochlea-benches --bin soak [-- --minutes 60]
//! ```
//!
//! The audio thread's code of `cochlea live` ([`Processor::capture`], the cpal callback's entry
//! point, with the default analyses: onsets, pitch, notes) is fed the dev corpus's onset pieces
//! in a loop, stereo, in 512-frame callbacks, while a consumer thread drains the event queue as
//! the display does. For one minute in the middle the consumer stalls, so the queue overflows.
//! Every minute of audio it prints the process's resident memory, the events received, the
//! events the engine dropped and the speed. It fails (exit 1) if memory grows after the first
//! minutes, if events are dropped outside the stall, if delivery does not resume after it, or if
//! a `NoteOn` is left without its `NoteOff` outside the stall.
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use clap::Parser;
use cochlea::audio::read_audio;
use cochlea::live::meters::Meters;
use cochlea::live::processor::{Input, Processor};
use cochlea::settings::AnalysisSettings;
use cochlea_engine::{Engine, Event};
use cochlea_tests::corpus;

#[derive(Parser)]
#[command(about = "An hour of audio through the live real-time path: memory, drops, recovery")]
struct Args {
    /// Minutes of audio to run.
    #[arg(long, default_value_t = 60)]
    minutes: u64,
    /// The minute during which the event consumer stalls (the queue overflows).
    #[arg(long, default_value_t = 20)]
    stall_at: u64,
    /// The dev corpus (default: ../shared/dev-corpus or $COCHLEA_CORPUS).
    #[arg(long)]
    corpus: Option<PathBuf>,
}

const SR: u32 = 44_100;
const CALLBACK: usize = 512;

/// Resident set size of this process, bytes.
fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    // SAFETY: sysconf with a valid name has no preconditions.
    pages * unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as u64
}

/// What the consumer thread has seen.
#[derive(Default)]
struct Seen {
    events: AtomicU64,
    note_ons: AtomicU64,
    note_offs: AtomicU64,
    /// Set while a note is sounding (NoteOn seen, its NoteOff not yet).
    sounding: AtomicBool,
}

fn main() {
    let args = Args::parse();
    let dir = args
        .corpus
        .or_else(corpus::dev_corpus)
        .unwrap_or_else(|| {
            eprintln!("error: no corpus found; pass --corpus DIR or set COCHLEA_CORPUS");
            std::process::exit(2)
        })
        .join("onsets");
    // The pieces as one interleaved stereo loop (right channel quieter, so they differ).
    let mut music = Vec::new();
    for item in corpus::items(&dir, ".onsets.txt") {
        let audio = read_audio(&item.audio).expect("corpus audio");
        assert_eq!(audio.sample_rate, SR, "the dev corpus is 44.1 kHz");
        for x in audio.mono() {
            music.extend([x, 0.7 * x]);
        }
    }
    let loop_s = music.len() as f64 / 2.0 / SR as f64;

    let config = AnalysisSettings::default()
        .engine_config(SR as f64, 2, CALLBACK)
        .expect("default settings");
    let (engine, mut events) = Engine::new(config).expect("engine");
    let handle = engine.handle();
    let meters = Arc::new(Meters::default());
    let mut processor = Processor::new(engine, Input::Capture, None, meters, None);

    let stall = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Seen::default());
    let consumer = {
        let (stall, done, seen) = (stall.clone(), done.clone(), seen.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Acquire) {
                if !stall.load(Ordering::Relaxed) {
                    for e in events.drain() {
                        seen.events.fetch_add(1, Ordering::Relaxed);
                        match e {
                            Event::NoteOn { .. } => {
                                seen.note_ons.fetch_add(1, Ordering::Relaxed);
                                seen.sounding.store(true, Ordering::Relaxed);
                            }
                            Event::NoteOff { .. } => {
                                seen.note_offs.fetch_add(1, Ordering::Relaxed);
                                seen.sounding.store(false, Ordering::Relaxed);
                            }
                            _ => {}
                        }
                    }
                }
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            events.drain().count()
        })
    };

    println!(
        "soak: {} min of audio ({} pieces looped, {loop_s:.0} s per loop), stereo, {CALLBACK}-frame \
         callbacks, onsets + pitch + notes; consumer stalled during minute {}",
        args.minutes,
        corpus::items(&dir, ".onsets.txt").len(),
        args.stall_at
    );
    println!(
        "{:>6} {:>10} {:>14} {:>10} {:>13}",
        "minute", "RSS (MB)", "events/minute", "dropped", "x real time"
    );
    let per_minute = 60 * SR as usize;
    let mut pos = 0usize;
    let mut rss = vec![];
    let mut failures = vec![];
    let mut last_events = 0;
    for minute in 0..args.minutes {
        stall.store(minute == args.stall_at, Ordering::Relaxed);
        let dropped_before = handle.dropped_events();
        let t = Instant::now();
        let mut frames = 0;
        while frames < per_minute {
            let n = CALLBACK.min(per_minute - frames);
            let start = pos % (music.len() / 2);
            let n = n.min(music.len() / 2 - start);
            processor.capture(&music[2 * start..2 * (start + n)], 2);
            pos += n;
            frames += n;
        }
        let speed = 60.0 / t.elapsed().as_secs_f64();
        // The stall ends with its minute. Give the consumer a moment to catch up before counting.
        stall.store(false, Ordering::Relaxed);
        std::thread::sleep(std::time::Duration::from_millis(20));
        let total = seen.events.load(Ordering::Relaxed);
        let dropped = handle.dropped_events();
        rss.push(rss_bytes());
        println!(
            "{:>6} {:>10.1} {:>14} {:>10} {:>13.0}",
            minute + 1,
            *rss.last().unwrap() as f64 / 1e6,
            total - last_events,
            dropped,
            speed
        );
        if minute != args.stall_at && dropped != dropped_before {
            failures.push(format!(
                "minute {}: {} events dropped with the consumer running",
                minute + 1,
                dropped - dropped_before
            ));
        }
        if minute == args.stall_at && dropped == dropped_before {
            failures.push("the stalled consumer did not overflow the queue".to_string());
        }
        if minute > args.stall_at && total == last_events {
            failures.push(format!("minute {}: no events after the stall", minute + 1));
        }
        last_events = total;
    }
    done.store(true, Ordering::Release);
    let rest = consumer.join().expect("consumer thread");
    // Memory after the first two minutes (buffers touched, allocator settled) must stay flat.
    if rss.len() > 3 {
        let (settled, last) = (rss[2], *rss.last().unwrap());
        if last > settled + 1_000_000 {
            failures.push(format!(
                "memory grew from {:.1} MB to {:.1} MB",
                settled as f64 / 1e6,
                last as f64 / 1e6
            ));
        }
    }
    let (ons, offs) = (
        seen.note_ons.load(Ordering::Relaxed),
        seen.note_offs.load(Ordering::Relaxed),
    );
    println!(
        "events received {} (+{rest} after the end), dropped {} (all during the stall), notes on \
         {ons} / off {offs}",
        seen.events.load(Ordering::Relaxed),
        handle.dropped_events()
    );
    // Outside the stall every NoteOn is closed; a NoteOff lost in the overflow may leave the
    // counts apart by the notes cut there.
    if args.stall_at >= args.minutes && ons != offs + seen.sounding.load(Ordering::Relaxed) as u64 {
        failures.push(format!("{ons} NoteOn but {offs} NoteOff"));
    }
    if failures.is_empty() {
        println!("ok: memory flat, drops only while the consumer stalled, delivery recovered");
    } else {
        for f in &failures {
            println!("FAILED: {f}");
        }
        std::process::exit(1);
    }
}
