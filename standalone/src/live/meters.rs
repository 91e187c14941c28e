//! What the audio thread tells the display: levels and counters in atomics, written with
//! `Relaxed` stores and read-and-reset by the display. Nothing here blocks or allocates.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, Ordering};

/// A level meter: the peak absolute sample value since the last [`take`](Peak::take).
#[derive(Debug, Default)]
pub struct Peak(AtomicU32);

impl Peak {
    /// Raises the held peak to `v` (absolute value) if higher. For non-negative floats the bit
    /// patterns order like the values, so an integer `fetch_max` does it without a loop.
    #[inline]
    pub fn hold(&self, v: f32) {
        let v = v.abs();
        if v.is_finite() {
            self.0.fetch_max(v.to_bits(), Ordering::Relaxed);
        }
    }

    /// The held peak, resetting it to 0.
    pub fn take(&self) -> f32 {
        f32::from_bits(self.0.swap(0, Ordering::Relaxed))
    }
}

/// Why a live stream stopped on its own (stored as a `u8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Fatal {
    /// Nothing fatal.
    None = 0,
    /// The capture device disappeared or its stream became invalid.
    InputDevice = 1,
    /// The monitoring device disappeared or its stream became invalid.
    OutputDevice = 2,
}

/// Levels and counters shared by the audio thread(s) and the display.
#[derive(Debug, Default)]
pub struct Meters {
    /// Frames processed by the engine (its stream position).
    pub position: AtomicU64,
    /// Peak of the engine's input, per channel (one or two).
    pub input: [Peak; 2],
    /// Peak of what is sent to the monitoring output, per channel.
    pub output: [Peak; 2],
    /// Peak of each stem (both channels), in `Stem` order, when the engine separates.
    pub stems: [Peak; 5],
    /// Frames lost because a queue between two threads was full (capture faster than
    /// monitoring).
    pub overruns: AtomicU64,
    /// Frames of silence played or analysed because data was late (the file reader or the
    /// capture fell behind).
    pub underruns: AtomicU64,
    /// Xruns reported by the audio device.
    pub xruns: AtomicU64,
    /// Other errors reported by the audio device.
    pub device_errors: AtomicU64,
    /// A [`Fatal`] reason to stop, as `u8`.
    pub fatal: AtomicU8,
    /// The stream is over: the file ended, or the duration asked for was reached.
    pub finished: AtomicBool,
}

impl Meters {
    /// Adds `n` to a counter.
    #[inline]
    pub fn add(counter: &AtomicU64, n: u64) {
        if n > 0 {
            counter.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Records a fatal condition (the first one wins).
    pub fn set_fatal(&self, f: Fatal) {
        let _ = self
            .fatal
            .compare_exchange(0, f as u8, Ordering::Relaxed, Ordering::Relaxed);
    }

    /// The fatal condition, if any.
    pub fn fatal(&self) -> Fatal {
        match self.fatal.load(Ordering::Relaxed) {
            1 => Fatal::InputDevice,
            2 => Fatal::OutputDevice,
            _ => Fatal::None,
        }
    }

    /// A counter's value.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peaks_hold_the_maximum_and_reset_when_read() {
        let p = Peak::default();
        p.hold(0.25);
        p.hold(-0.5);
        p.hold(0.1);
        p.hold(f32::NAN);
        assert_eq!(p.take(), 0.5);
        assert_eq!(p.take(), 0.0);
    }
}
