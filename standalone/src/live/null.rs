//! The null backend: no device, a thread that drives the [`Processor`] in blocks, paced by the
//! clock (real time) or as fast as the input allows (`--fast`, for tests). It runs on machines
//! without audio hardware and gives the same results as a device would.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::processor::Processor;

/// How the null backend paces the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    /// One block every `block / rate` seconds, like a device.
    RealTime,
    /// As fast as possible; with a file, each block waits until the reader has it ready, so
    /// nothing is ever late.
    Fast,
}

/// Starts the clock thread. It stops when `stop` is set or the stream is over.
pub fn spawn(
    mut processor: Processor,
    block: usize,
    sample_rate: f64,
    pace: Pace,
    stop: Arc<AtomicBool>,
) -> JoinHandle<()> {
    std::thread::Builder::new()
        .name("cochlea-null-device".into())
        .spawn(move || {
            let start = Instant::now();
            let mut frames: u64 = 0;
            while !stop.load(Ordering::Relaxed) {
                if pace == Pace::Fast {
                    // The device waits for its input here, never the engine for the display.
                    while let Some(src) = processor.file() {
                        if src.available() >= block
                            || src.complete()
                            || stop.load(Ordering::Relaxed)
                        {
                            break;
                        }
                        std::thread::sleep(Duration::from_micros(200));
                    }
                }
                let n = processor.tick(block);
                if n == 0 {
                    break;
                }
                frames += n as u64;
                if pace == Pace::RealTime {
                    let due = start + Duration::from_secs_f64(frames as f64 / sample_rate);
                    let now = Instant::now();
                    if due > now {
                        std::thread::sleep(due - now);
                    }
                }
            }
        })
        .expect("spawn the null device thread")
}
