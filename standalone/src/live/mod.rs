//! `cochlea live`: the engine on the audio thread of a capture device (or fed a file through
//! the same real-time path), its output to a monitoring device, and a terminal display.
//!
//! Threads: the audio callback (cpal's, or the null backend's clock thread) owns the
//! [`Processor`] and never waits; a file reader thread fills a wait-free ring ahead of it
//! (`--input-file`); the main thread drains the engine's event queue into the display and the
//! output writers and reads the [`Meters`] about 30 times a second. They meet only through
//! [`rtrb`] queues and atomics.

pub mod device;
pub mod display;
pub mod meters;
pub mod null;
pub mod processor;
pub mod source;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use cochlea_engine::separation::Stem;
use cochlea_engine::{
    ConfigError, Engine, EngineHandle, Event, EventReceiver, MAX_BLOCK_SIZE, MAX_SAMPLE_RATE,
    MIN_SAMPLE_RATE,
};
use serde_json::json;

use crate::analyze::engine_channels;
use crate::audio::AudioReader;
use crate::batch::selected_kinds;
use crate::exit::{self, Failure};
use crate::output::summary::{self, EventCounts};
use crate::output::{Destination, Emitted, OutputError, OutputKind, OutputPaths, Staging, Writer};
use crate::settings::AnalysisSettings;
use device::Direction;
use display::{Screen, Snapshot, Terminal, REFRESH_HZ};
use meters::{Fatal, Meters};
use processor::{Input, MonitorPlayer, Processor};

/// Audio backends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    /// The system's audio devices (through cpal: ALSA on Linux, CoreAudio, WASAPI).
    Cpal,
    /// No device: a clock paces the stream (headless machines, tests).
    Null,
}

/// What the monitoring output plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Monitor {
    /// Nothing (no output device is opened when capturing).
    Off,
    /// The engine's audio output: the input mix (with `--separate`, the stems' mix).
    Mix,
    /// One stem of the separation (turns it on): the harmonic part.
    Harmonic,
    /// The percussive part.
    Percussive,
    /// What neither the harmonic nor the percussive part claims.
    Residual,
    /// The melody (from the predominant pitch).
    Melody,
    /// Everything but the melody.
    Accompaniment,
}

impl Monitor {
    /// Whether anything is played.
    pub fn audible(self) -> bool {
        self != Monitor::Off
    }

    /// The stem played, if it is one.
    pub fn stem(self) -> Option<Stem> {
        match self {
            Monitor::Off | Monitor::Mix => None,
            Monitor::Harmonic => Some(Stem::Harmonic),
            Monitor::Percussive => Some(Stem::Percussive),
            Monitor::Residual => Some(Stem::Residual),
            Monitor::Melody => Some(Stem::Melody),
            Monitor::Accompaniment => Some(Stem::Accompaniment),
        }
    }
}

/// How the live view is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DisplayArg {
    /// The redrawn display when stderr is a terminal, else event lines.
    Auto,
    /// The redrawn display on stderr.
    Screen,
    /// One line per event on stdout: time in seconds, kind, value (tab-separated).
    Lines,
    /// Only the closing summary.
    Quiet,
}

/// Options of `cochlea live`.
#[derive(Args, Clone, Debug)]
pub struct LiveArgs {
    /// Audio backend.
    #[arg(long, value_enum, default_value = "cpal")]
    pub backend: Backend,
    /// Audio host (see `cochlea devices`) [default: the system's default].
    #[arg(long, value_name = "NAME")]
    pub host: Option<String>,
    /// Capture device: its name or a unique part of it [default: the default capture device].
    #[arg(short, long, value_name = "NAME")]
    pub input_device: Option<String>,
    /// Monitoring device: its name or a unique part of it [default: the default playback
    /// device].
    #[arg(long, value_name = "NAME")]
    pub output_device: Option<String>,
    /// Play this file through the real-time path instead of capturing (the file's rate is the
    /// stream's rate).
    #[arg(long, value_name = "FILE")]
    pub input_file: Option<PathBuf>,
    /// What the monitoring output plays: the mix or one stem [default: mix with --input-file,
    /// off when capturing, to avoid feedback from speakers into a microphone]. A stem turns the
    /// separation on.
    #[arg(long, value_enum)]
    pub monitor: Option<Monitor>,
    /// Run the source separation: stem levels on the display, and the monitored mix is the
    /// stems' mix (the audio latency grows by the separation's, about 46 ms).
    #[arg(long)]
    pub separate: bool,
    /// Sample rate in Hz [default: the device's, or the file's].
    #[arg(long, value_name = "HZ")]
    pub rate: Option<u32>,
    /// Frames per block (the device's callback size).
    #[arg(long, default_value_t = 256, value_name = "FRAMES")]
    pub block: usize,
    /// Channels to analyse, 1 or 2 [default: 2 if the device or file has them; a file with more
    /// is mixed to mono].
    #[arg(long, value_name = "N")]
    pub channels: Option<u16>,
    /// Stop after this many seconds of audio.
    #[arg(long, value_name = "SECONDS")]
    pub duration: Option<f64>,
    /// Null backend only: run as fast as possible instead of in real time.
    #[arg(long)]
    pub fast: bool,
    /// Record the outputs into this folder (onsets.txt, summary.json, ...), written when the
    /// stream stops.
    #[arg(short, long, value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// Record only these outputs.
    #[arg(long, value_enum, value_delimiter = ',', value_name = "KIND,...")]
    pub only: Vec<OutputKind>,
    /// Overwrite existing outputs.
    #[arg(long)]
    pub force: bool,
    /// How to show what is heard.
    #[arg(long, value_enum, default_value = "auto")]
    pub display: DisplayArg,
    /// Outputs to paths of their own.
    #[command(flatten)]
    pub paths: OutputPaths,
    /// Analysis settings.
    #[command(flatten)]
    pub settings: AnalysisSettings,
}

/// Why the stream stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    EndOfFile,
    Duration,
    Interrupted,
    Device(Fatal),
    SourceError,
}

impl Stop {
    fn describe(self) -> &'static str {
        match self {
            Stop::EndOfFile => "end of file",
            Stop::Duration => "duration reached",
            Stop::Interrupted => "interrupted (Ctrl-C)",
            Stop::Device(Fatal::InputDevice) => "capture device lost",
            Stop::Device(_) => "playback device lost",
            Stop::SourceError => "file read error",
        }
    }
}

/// Everything that must stay alive while the stream runs.
enum Running {
    Null(std::thread::JoinHandle<()>),
    Cpal(Vec<cpal::Stream>),
}

/// Checks the options that do not depend on a device.
fn check(args: &LiveArgs) -> Result<(), Failure> {
    if !(1..=MAX_BLOCK_SIZE).contains(&args.block) {
        return Err(Failure::usage(format!(
            "--block {} is not possible (1 to {MAX_BLOCK_SIZE} frames)",
            args.block
        )));
    }
    args.settings.check(args.block)?;
    if let Some(r) = args.rate {
        if !(MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&(r as f64)) {
            return Err(Failure::usage(format!(
                "--rate {r} is not supported ({MIN_SAMPLE_RATE} to {MAX_SAMPLE_RATE} Hz)"
            )));
        }
    }
    if let Some(c) = args.channels {
        if !(1..=2).contains(&c) {
            return Err(Failure::usage(format!(
                "--channels {c} is not possible; Cochlea analyses 1 or 2 channels"
            )));
        }
    }
    if let Some(d) = args.duration {
        if !(d.is_finite() && d > 0.0) {
            return Err(Failure::usage(format!(
                "--duration {d} is not possible (a positive number of seconds)"
            )));
        }
    }
    if args.fast && args.backend != Backend::Null {
        return Err(Failure::usage(
            "--fast needs --backend null (a device sets its own pace)",
        ));
    }
    if args.output.is_none() {
        if let Some(k) = args.only.iter().find(|&&k| args.paths.get(k).is_none()) {
            return Err(Failure::usage(format!(
                "--only asks for {0} but gives it no place: add -o DIR or --{0} PATH",
                k.name()
            )));
        }
    }
    Ok(())
}

/// A stream that has started: what the main thread needs while it runs and afterwards.
struct Started {
    running: Running,
    /// The engine's latencies (the engine itself is on the audio thread now).
    latency: serde_json::Value,
    writers: Vec<Box<dyn Writer>>,
    events: EventReceiver,
    handle: EngineHandle,
    title: String,
    input: serde_json::Value,
    rate: u32,
    channels: usize,
    monitored: bool,
    /// The file reader thread and its error slot.
    reader: Option<(source::SourceError, std::thread::JoinHandle<()>)>,
}

/// What starting a stream needs.
struct Context<'a> {
    args: &'a LiveArgs,
    destination: &'a Destination,
    staging: &'a mut Staging,
    meters: Arc<Meters>,
    stop: Arc<AtomicBool>,
    monitor: Monitor,
}

/// The engine's companions on the main thread.
struct Prepared {
    latency: serde_json::Value,
    writers: Vec<Box<dyn Writer>>,
    events: EventReceiver,
    handle: EngineHandle,
    reader: Option<(source::SourceError, std::thread::JoinHandle<()>)>,
}

impl Context<'_> {
    /// Builds the engine for `rate` and `channels`, creates the writers (they ask the engine
    /// for latencies), starts the file reader if there is a file, and wraps the engine in a
    /// [`Processor`] for the audio thread.
    fn prepare(
        &mut self,
        rate: u32,
        channels: usize,
        max_block: usize,
        file: Option<AudioReader>,
        monitor_ring: Option<rtrb::Producer<f32>>,
    ) -> Result<(Processor, Prepared), Failure> {
        let separate = self.args.separate || self.monitor.stem().is_some();
        let (engine, events) = make_engine(self.args, rate, channels, max_block, separate)?;
        let writers = self.destination.writers(&engine, self.staging)?;
        let latency = summary::latencies(&engine);
        let handle = engine.handle();
        let (input, reader) = match file {
            Some(r) => {
                let (src, err, t) = source::spawn(r, channels, rate as usize, self.stop.clone());
                wait_for_prefill(&src);
                (Input::File(src), Some((err, t)))
            }
            None if monitor_ring.is_some() || self.args.backend == Backend::Cpal => {
                (Input::Capture, None)
            }
            None => (Input::Silence, None),
        };
        let limit = self.args.duration.map(|d| (d * rate as f64).round() as u64);
        let processor = Processor::new(engine, input, monitor_ring, self.meters.clone(), limit)
            .hear(self.monitor.stem());
        Ok((
            processor,
            Prepared {
                latency,
                writers,
                events,
                handle,
                reader,
            },
        ))
    }
}

fn started(
    p: Prepared,
    running: Running,
    title: String,
    input: serde_json::Value,
    rate: u32,
    channels: usize,
    monitored: bool,
) -> Started {
    Started {
        running,
        latency: p.latency,
        writers: p.writers,
        events: p.events,
        handle: p.handle,
        title,
        input,
        rate,
        channels,
        monitored,
        reader: p.reader,
    }
}

/// The null backend: a file or silence, paced by a clock.
fn start_null(cx: &mut Context, file: Option<AudioReader>) -> Result<Started, Failure> {
    let args = cx.args;
    let rate = file
        .as_ref()
        .map(|r| r.sample_rate())
        .or(args.rate)
        .unwrap_or(48_000);
    let channels = match (&file, args.channels) {
        (_, Some(c)) => c as usize,
        (Some(r), None) => engine_channels(r.channels()),
        (None, None) => 1,
    };
    let (processor, p) = cx.prepare(rate, channels, args.block, file, None)?;
    let pace = if args.fast {
        null::Pace::Fast
    } else {
        null::Pace::RealTime
    };
    let thread = null::spawn(processor, args.block, rate as f64, pace, cx.stop.clone());
    let what = match &args.input_file {
        Some(path) => format!("file {}", path.display()),
        None => "silence".into(),
    };
    let title = format!(
        "cochlea live: {what} on the null device{} | {rate} Hz, {channels} ch, block {}",
        if args.fast { " (fast)" } else { "" },
        args.block
    );
    let input = json!({
        "backend": "null",
        "source": if args.input_file.is_some() { "file" } else { "silence" },
        "path": args.input_file.as_ref().map(|p| p.display().to_string()),
        "pace": if args.fast { "fast" } else { "real time" },
    });
    // The null device "plays" the mix: its level is metered like a real output's.
    let monitored = cx.monitor.audible();
    Ok(started(
        p,
        Running::Null(thread),
        title,
        input,
        rate,
        channels,
        monitored,
    ))
}

/// A file played to a playback device, whose clock drives the engine.
fn start_cpal_file(
    cx: &mut Context,
    host: &cpal::Host,
    file: AudioReader,
) -> Result<Started, Failure> {
    let args = cx.args;
    let host_name = host.id().name();
    let out_dev = device::find(host, Direction::Output, args.output_device.as_deref())?;
    let rate = file.sample_rate();
    let chosen = device::choose(&out_dev, Direction::Output, Some(rate), None, args.block)?;
    let channels = args
        .channels
        .map_or(engine_channels(file.channels()), |c| c as usize);
    let audible = cx.monitor.audible();
    let (processor, p) = cx.prepare(rate, channels, args.block, Some(file), None)?;
    let stream = device::build_playback(
        &out_dev,
        &chosen,
        device::Playback::Engine {
            processor: Box::new(processor),
            audible,
        },
        cx.meters.clone(),
        MAX_CALLBACK,
    )?;
    device::play(&stream, Direction::Output, &out_dev, &chosen)?;
    let out_name = device::device_name(&out_dev);
    let title =
        format!(
        "cochlea live: file {} -> {host_name} \"{out_name}\" | {rate} Hz, {channels} ch, block {}",
        args.input_file.as_ref().map(|p| p.display().to_string()).unwrap_or_default(),
        args.block
    );
    let input = json!({
        "backend": "cpal",
        "host": host_name,
        "source": "file",
        "path": args.input_file.as_ref().map(|p| p.display().to_string()),
        "output_device": out_name,
    });
    Ok(started(
        p,
        Running::Cpal(vec![stream]),
        title,
        input,
        rate,
        channels,
        audible,
    ))
}

/// A capture device, with optional monitoring on a playback device at the same rate.
fn start_cpal_capture(cx: &mut Context, host: &cpal::Host) -> Result<Started, Failure> {
    let args = cx.args;
    let host_name = host.id().name();
    let in_dev = device::find(host, Direction::Input, args.input_device.as_deref())?;
    let chosen = device::choose(
        &in_dev,
        Direction::Input,
        args.rate,
        args.channels,
        args.block,
    )?;
    let rate = chosen.config.sample_rate;
    let channels = args
        .channels
        .map(|c| c as usize)
        .unwrap_or(chosen.config.channels.min(2) as usize);
    let mut playback = None;
    let mut ring = None;
    if cx.monitor.audible() {
        let out_dev = device::find(host, Direction::Output, args.output_device.as_deref())?;
        let out_chosen = device::choose(&out_dev, Direction::Output, Some(rate), None, args.block)?;
        let (mut producer, consumer) = rtrb::RingBuffer::new(MAX_CALLBACK * 4 * channels);
        // Two blocks of silence absorb the jitter between the two devices' clocks.
        for _ in 0..2 * args.block * channels {
            let _ = producer.push(0.0);
        }
        let player = MonitorPlayer::new(consumer, channels, cx.meters.clone());
        let stream = device::build_playback(
            &out_dev,
            &out_chosen,
            device::Playback::Monitor(player),
            cx.meters.clone(),
            MAX_CALLBACK,
        )?;
        playback = Some((stream, out_dev, out_chosen));
        ring = Some(producer);
    }
    let (processor, p) = cx.prepare(rate, channels, MAX_CALLBACK.max(args.block), None, ring)?;
    let capture =
        device::build_capture(&in_dev, &chosen, processor, cx.meters.clone(), MAX_CALLBACK)?;
    if let Some((s, d, c)) = &playback {
        device::play(s, Direction::Output, d, c)?;
    }
    device::play(&capture, Direction::Input, &in_dev, &chosen)?;
    let in_name = device::device_name(&in_dev);
    let out_name = playback.as_ref().map(|(_, d, _)| device::device_name(d));
    let title = format!(
        "cochlea live: {host_name} \"{in_name}\"{} | {rate} Hz, {channels} ch, block {}",
        out_name
            .as_ref()
            .map(|o| format!(" -> \"{o}\""))
            .unwrap_or_default(),
        args.block
    );
    let input = json!({
        "backend": "cpal",
        "host": host_name,
        "source": "device",
        "input_device": in_name,
        "device_channels": chosen.config.channels,
        "output_device": out_name,
    });
    let mut streams: Vec<cpal::Stream> = playback.into_iter().map(|(s, _, _)| s).collect();
    streams.push(capture);
    let monitored = cx.monitor.audible();
    Ok(started(
        p,
        Running::Cpal(streams),
        title,
        input,
        rate,
        channels,
        monitored,
    ))
}

/// Takes events off the engine's queue on the main thread: to the display, the writers and
/// (in line mode) stdout.
struct Sink {
    lines: bool,
    rate: f64,
    counts: EventCounts,
    error: Option<OutputError>,
}

impl Sink {
    fn drain(
        &mut self,
        events: &mut EventReceiver,
        position: u64,
        screen: &mut Screen,
        writers: &mut [Box<dyn Writer>],
        now: Instant,
    ) {
        let mut out = std::io::stdout().lock();
        for event in events.drain() {
            let e = Emitted {
                event,
                emitted_at: position,
            };
            self.counts.add(&e);
            screen.on_event(&e, now);
            if self.lines {
                if let Some(line) = event_line(&e, self.rate) {
                    let _ = writeln!(out, "{line}");
                }
            }
            if self.error.is_none() {
                if let Err(err) = writers.iter_mut().try_for_each(|w| w.event(&e)) {
                    self.error = Some(err);
                }
            }
        }
        let _ = out.flush();
    }
}

/// Runs `cochlea live` until the file ends, the duration is reached, or Ctrl-C.
pub fn run(args: &LiveArgs) -> Result<(), Failure> {
    check(args)?;
    let kinds = selected_kinds(&args.only, &args.paths);
    if kinds.contains(&OutputKind::Stems) {
        return Err(Failure::usage(
            "stems are written by `cochlea analyze` (--stems DIR); `live` does not record them",
        ));
    }
    let destination = Destination::new(&kinds, args.output.as_deref(), &args.paths);
    if !args.force {
        if let Some(first) = destination.existing().first() {
            return Err(Failure::output(format!(
                "{}: already exists (use --force to overwrite)",
                first.display()
            )));
        }
    }
    let file = match &args.input_file {
        Some(path) => {
            Some(AudioReader::open(path).map_err(|e| Failure::new(e.exit_code(), e.to_string()))?)
        }
        None => None,
    };
    if let (Some(r), Some(rate)) = (&file, args.rate) {
        if r.sample_rate() != rate {
            return Err(Failure::usage(format!(
                "--rate {rate} differs from the file's {} Hz; a file plays at its own rate \
                 (drop --rate)",
                r.sample_rate()
            )));
        }
    }
    let monitor = args.monitor.unwrap_or(if file.is_some() {
        Monitor::Mix
    } else {
        Monitor::Off
    });
    let separating = args.separate || monitor.stem().is_some();

    // The first Ctrl-C stops cleanly; a second one leaves at once.
    let interrupted = Arc::new(AtomicBool::new(false));
    {
        let flag = interrupted.clone();
        let _ = ctrlc::set_handler(move || {
            if flag.swap(true, Ordering::Relaxed) {
                std::process::exit(exit::INTERRUPTED);
            }
        });
    }

    let meters = Arc::new(Meters::default());
    let stop_audio = Arc::new(AtomicBool::new(false));
    let mut staging = Staging::new(args.force);
    let file_channels = file.as_ref().map(|r| r.channels());
    let mut cx = Context {
        args,
        destination: &destination,
        staging: &mut staging,
        meters: meters.clone(),
        stop: stop_audio.clone(),
        monitor,
    };
    let st = match (args.backend, file) {
        (Backend::Null, file) => start_null(&mut cx, file)?,
        (Backend::Cpal, Some(file)) => {
            let host = device::host(args.host.as_deref())?;
            start_cpal_file(&mut cx, &host, file)?
        }
        (Backend::Cpal, None) => {
            let host = device::host(args.host.as_deref())?;
            start_cpal_capture(&mut cx, &host)?
        }
    };
    let Started {
        running,
        latency,
        mut writers,
        mut events,
        handle,
        title,
        input,
        rate,
        channels,
        monitored,
        reader,
    } = st;

    // The main thread: events to writers and display, meters to display, until told to stop.
    let mode = match args.display {
        DisplayArg::Auto if std::io::stderr().is_terminal() => DisplayArg::Screen,
        DisplayArg::Auto => DisplayArg::Lines,
        d => d,
    };
    let mut screen = Screen::new(title, rate as f64, channels, monitored);
    let mut terminal = (mode == DisplayArg::Screen).then(|| Terminal::new(std::io::stderr()));
    let mut sink = Sink {
        lines: mode == DisplayArg::Lines,
        rate: rate as f64,
        counts: EventCounts::default(),
        error: None,
    };
    let snapshot = |dropped: u64| Snapshot {
        position: meters.position.load(Ordering::Relaxed),
        input: [meters.input[0].take(), meters.input[1].take()],
        output: [meters.output[0].take(), meters.output[1].take()],
        overruns: Meters::get(&meters.overruns),
        underruns: Meters::get(&meters.underruns),
        xruns: Meters::get(&meters.xruns),
        device_errors: Meters::get(&meters.device_errors),
        dropped,
        stems: separating.then(|| std::array::from_fn(|i| meters.stems[i].take())),
    };
    let source_failed = || {
        reader
            .as_ref()
            .is_some_and(|(err, _)| err.lock().unwrap().is_some())
    };
    let period = Duration::from_secs_f64(1.0 / REFRESH_HZ as f64);
    let started_at = Instant::now();
    let mut next = started_at;
    let stop = loop {
        let now = Instant::now();
        let position = meters.position.load(Ordering::Relaxed);
        sink.drain(&mut events, position, &mut screen, &mut writers, now);
        screen.update(&snapshot(handle.dropped_events()), now);
        if let Some(t) = terminal.as_mut() {
            t.draw(&screen.lines(now, true));
        }
        if interrupted.load(Ordering::Relaxed) {
            break Stop::Interrupted;
        }
        if source_failed() {
            break Stop::SourceError;
        }
        let fatal = meters.fatal();
        if fatal != Fatal::None {
            break Stop::Device(fatal);
        }
        let null_done = matches!(&running, Running::Null(t) if t.is_finished());
        if meters.finished.load(Ordering::Relaxed) || null_done {
            let limit = args.duration.map(|d| (d * rate as f64).round() as u64);
            break if limit
                .is_some_and(|l| position >= l || meters.position.load(Ordering::Relaxed) >= l)
            {
                Stop::Duration
            } else {
                Stop::EndOfFile
            };
        }
        next += period;
        let now = Instant::now();
        match next.checked_duration_since(now) {
            Some(wait) => std::thread::sleep(wait),
            None => next = now,
        }
    };

    // Stop the audio, then take what is left in the queue.
    stop_audio.store(true, Ordering::Relaxed);
    match running {
        Running::Null(t) => {
            let _ = t.join();
        }
        Running::Cpal(streams) => drop(streams),
    }
    let source_error = match reader {
        Some((err, t)) => {
            let _ = t.join();
            err.lock().unwrap().take()
        }
        None => None,
    };
    let now = Instant::now();
    let position = meters.position.load(Ordering::Relaxed);
    sink.drain(&mut events, position, &mut screen, &mut writers, now);
    let last = snapshot(handle.dropped_events());
    screen.update(&last, now);
    screen.set_footer(format!("stopped: {}", stop.describe()));
    if let Some(t) = terminal.take() {
        let mut t = t;
        t.draw(&screen.lines(now, true));
        t.close();
    }

    if let Some(err) = source_error {
        return Err(Failure::new(
            err.exit_code(),
            format!("{err}; nothing was recorded"),
        ));
    }
    if let Stop::Device(f) = stop {
        let (code, which) = match f {
            Fatal::InputDevice => (exit::INPUT, "capture"),
            _ => (exit::OUTPUT, "playback"),
        };
        return Err(Failure::new(
            code,
            format!("the {which} device stopped working (unplugged?); nothing was recorded"),
        ));
    }
    if let Some(e) = sink.error.take() {
        return Err(e.into());
    }

    // Finish the recording: writers (anything held open ends here), summary, commit.
    let frames = last.position;
    let duration_s = frames as f64 / rate as f64;
    let mut sections = serde_json::Map::new();
    for (w, (kind, _)) in writers.into_iter().zip(&destination.outputs) {
        sections.insert(kind.name().into(), w.finish()?);
    }
    let mut input = input;
    input["sample_rate"] = json!(rate);
    input["file_channels"] = json!(file_channels);
    input["frames"] = json!(frames);
    input["duration_s"] = json!(duration_s);
    if let Some(path) = &destination.summary {
        let s = json!({
            "cochlea": summary::tool("live"),
            "input": input,
            "settings": {
                "block_size": args.block,
                "analysed_channels": channels,
                "monitor": monitor.to_possible_value().map(|v| v.get_name().to_string()),
                "separate": separating,
                "analysis": args.settings.to_json(),
            },
            "latency": latency,
            "events": sink.counts.to_json(last.dropped),
            "outputs": sections,
            "live": {
                "stopped_by": stop.describe(),
                "overruns": last.overruns,
                "underruns": last.underruns,
                "xruns": last.xruns,
                "device_errors": last.device_errors,
                "wall_s": started_at.elapsed().as_secs_f64(),
            },
        });
        summary::write(&mut staging, path, &s)?;
    }
    let written = staging.commit()?;
    eprintln!(
        "cochlea live: {} of audio, {} onsets; overruns {}, underruns {}, xruns {}, dropped \
         events {}; stopped: {}",
        crate::progress::hms(duration_s),
        sink.counts.get("onset"),
        last.overruns,
        last.underruns,
        last.xruns,
        last.dropped,
        stop.describe()
    );
    if !written.is_empty() {
        let names: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
        eprintln!("wrote {}", names.join(", "));
    }
    Ok(())
}

/// Largest device callback handled in one step (longer ones are cut into steps).
const MAX_CALLBACK: usize = 8192;

fn make_engine(
    args: &LiveArgs,
    rate: u32,
    channels: usize,
    max_block: usize,
    separate: bool,
) -> Result<(Engine, cochlea_engine::EventReceiver), Failure> {
    let mut config = args
        .settings
        .engine_config(rate as f64, channels, max_block.max(args.block))
        .map_err(|e| match e {
            ConfigError::SampleRate(_) => Failure::usage(format!("the stream's {e}")),
            e => Failure::usage(format!("invalid setting: {e}")),
        })?;
    // A generous queue: the display drains it 30 times a second.
    config.event_capacity = 1 << 14;
    config.separation.enabled = separate;
    Engine::new(config).map_err(|e| Failure::usage(format!("invalid setting: {e}")))
}

/// Lets the file reader get ahead before the clock starts (at most half a second).
fn wait_for_prefill(src: &source::FileSource) {
    let until = Instant::now() + Duration::from_millis(500);
    while src.available() < 8192 && !src.complete() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// One event as a line of `--display lines`: time (s), kind, value, tab-separated.
pub fn event_line(e: &Emitted, sample_rate: f64) -> Option<String> {
    match e.event {
        Event::Onset { sample, strength } => Some(format!(
            "{:.6}\tonset\t{strength:.3}",
            sample as f64 / sample_rate
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_lines_are_time_kind_value() {
        let e = Emitted {
            event: Event::Onset {
                sample: 66_150,
                strength: 2.3456,
            },
            emitted_at: 66_500,
        };
        assert_eq!(event_line(&e, 44_100.0).unwrap(), "1.500000\tonset\t2.346");
    }
}
