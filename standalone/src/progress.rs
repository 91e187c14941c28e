//! Progress of a long analysis: a bar on a terminal (files done, audio time done, speed as x real
//! time), plain lines otherwise (one per file, for logs and pipes). Shared by the worker threads;
//! updating it is a few atomic operations.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A progress bar redrawn in place (stderr is a terminal).
    Bar,
    /// One line per finished file on stderr.
    Lines,
    /// Nothing but failures.
    Quiet,
}

impl Mode {
    /// [`Bar`](Mode::Bar) when stderr is a terminal, else [`Lines`](Mode::Lines).
    pub fn detect() -> Self {
        if std::io::stderr().is_terminal() {
            Mode::Bar
        } else {
            Mode::Lines
        }
    }
}

/// Formats seconds as `1h02m03s`, `2m03s` or `3.4s`.
pub fn hms(seconds: f64) -> String {
    let s = seconds.max(0.0);
    if s < 60.0 {
        return format!("{s:.1}s");
    }
    let total = s.round() as u64;
    let (h, m, sec) = (total / 3600, total / 60 % 60, total % 60);
    if h > 0 {
        format!("{h}h{m:02}m{sec:02}s")
    } else {
        format!("{m}m{sec:02}s")
    }
}

/// Shared progress of a run over `total` files.
pub struct Progress {
    mode: Mode,
    total: usize,
    done: AtomicUsize,
    /// Audio analysed, in microseconds.
    audio_us: Arc<AtomicU64>,
    started: Instant,
    bar: Option<ProgressBar>,
    stderr: Mutex<()>,
}

impl Progress {
    /// Starts showing progress over `total` files.
    pub fn new(total: usize, mode: Mode) -> Self {
        let audio_us = Arc::new(AtomicU64::new(0));
        let started = Instant::now();
        let bar = (mode == Mode::Bar).then(|| {
            let audio = audio_us.clone();
            let style = ProgressStyle::with_template(
                "{bar:30.cyan/blue} {pos}/{len} files  {audio}  [{elapsed_precise}]",
            )
            .expect("valid template")
            .progress_chars("=> ")
            .with_key(
                "audio",
                move |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                    let secs = audio.load(Ordering::Relaxed) as f64 * 1e-6;
                    let wall = state.elapsed().as_secs_f64().max(1e-3);
                    let _ = write!(w, "{} of audio, {:.0}x real time", hms(secs), secs / wall);
                },
            );
            let bar =
                ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr())
                    .with_style(style);
            bar.enable_steady_tick(Duration::from_millis(100));
            bar
        });
        Self {
            mode,
            total,
            done: AtomicUsize::new(0),
            audio_us,
            started,
            bar,
            stderr: Mutex::new(()),
        }
    }

    /// Adds `seconds` of analysed audio.
    pub fn audio(&self, seconds: f64) {
        self.audio_us
            .fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
    }

    /// Seconds of audio analysed so far.
    pub fn audio_done(&self) -> f64 {
        self.audio_us.load(Ordering::Relaxed) as f64 * 1e-6
    }

    /// Wall-clock time since the start.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// A file finished; `line` says how (printed in [`Mode::Lines`]).
    pub fn file_done(&self, line: &str) {
        let n = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        match &self.bar {
            Some(bar) => bar.inc(1),
            None if self.mode == Mode::Lines => self.print(&format!("[{n}/{}] {line}", self.total)),
            None => {}
        }
    }

    /// A file failed; `message` is always printed.
    pub fn file_failed(&self, message: &str) {
        let n = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        let line = format!("[{n}/{}] FAILED: {message}", self.total);
        match &self.bar {
            Some(bar) => {
                bar.inc(1);
                bar.println(line);
            }
            None => self.print(&line),
        }
    }

    fn print(&self, line: &str) {
        let _guard = self.stderr.lock().unwrap_or_else(|p| p.into_inner());
        let _ = writeln!(std::io::stderr(), "{line}");
    }

    /// Removes the bar (before the closing summary is printed).
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(hms(3.44), "3.4s");
        assert_eq!(hms(123.0), "2m03s");
        assert_eq!(hms(3723.0), "1h02m03s");
    }

    #[test]
    fn audio_time_adds_up_across_threads() {
        let p = Progress::new(4, Mode::Quiet);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..100 {
                        p.audio(0.25);
                    }
                });
            }
        });
        assert!((p.audio_done() - 100.0).abs() < 1e-3);
    }
}
