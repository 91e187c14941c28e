//! A multichannel delay line: brings the audio to the latency the plugin reports, so that the
//! host's latency compensation lines it up and MIDI notes land on what they describe.

/// Delays up to `channels` channels by a whole number of samples, up to a maximum fixed at
/// construction. The delay can change within that maximum without allocating.
///
/// ```
/// use cochlea_plugin::delay::DelayLine;
/// let mut delay = DelayLine::new(1, 4);
/// delay.set_delay(2);
/// let mut block = [1.0, 2.0, 3.0, 4.0, 5.0];
/// delay.process(&mut [&mut block[..]]);
/// assert_eq!(block, [0.0, 0.0, 1.0, 2.0, 3.0]);
/// ```
pub struct DelayLine {
    rings: Vec<Vec<f32>>,
    /// Next slot written, the same for every channel.
    write: usize,
    delay: usize,
    max_delay: usize,
}

impl DelayLine {
    /// A delay line for `channels` channels, up to `max_delay` samples, set to 0.
    pub fn new(channels: usize, max_delay: usize) -> Self {
        Self {
            rings: vec![vec![0.0; max_delay + 1]; channels],
            write: 0,
            delay: 0,
            max_delay,
        }
    }

    /// Sets the delay in samples (clamped to the maximum). The samples already stored are kept,
    /// so the output jumps to the new alignment at once.
    pub fn set_delay(&mut self, samples: usize) {
        self.delay = samples.min(self.max_delay);
    }

    /// The delay in force, in samples.
    pub fn delay(&self) -> usize {
        self.delay
    }

    /// The largest delay this line holds.
    pub fn max_delay(&self) -> usize {
        self.max_delay
    }

    /// Delays each channel in place. All channels must have the same length; there must be no
    /// more channels than the line was built for.
    pub fn process(&mut self, channels: &mut [&mut [f32]]) {
        let len = self.max_delay + 1;
        let start = self.write;
        let n = channels.first().map_or(0, |c| c.len());
        if self.delay == 0 {
            // Keep the history current so that a later change of delay reads real samples.
            for (ring, ch) in self.rings.iter_mut().zip(channels.iter()) {
                let mut w = start;
                for &x in ch.iter() {
                    ring[w] = x;
                    w = if w + 1 == len { 0 } else { w + 1 };
                }
            }
        } else {
            for (ring, ch) in self.rings.iter_mut().zip(channels.iter_mut()) {
                let mut w = start;
                let mut r = (start + len - self.delay) % len;
                for x in ch.iter_mut() {
                    ring[w] = *x;
                    *x = ring[r];
                    w = if w + 1 == len { 0 } else { w + 1 };
                    r = if r + 1 == len { 0 } else { r + 1 };
                }
            }
        }
        self.write = (start + n) % len;
    }

    /// Clears the stored samples (the output is silent for `delay` samples).
    pub fn reset(&mut self) {
        for ring in &mut self.rings {
            ring.fill(0.0);
        }
        self.write = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_is_input_delayed_whatever_the_block_size() {
        let input: Vec<f32> = (1..=1000).map(|i| i as f32).collect();
        for delay in [0usize, 1, 37, 300] {
            for block in [1usize, 5, 64, 299, 1000] {
                let mut line = DelayLine::new(2, 300);
                line.set_delay(delay);
                let (mut a, mut b) = (input.clone(), input.clone());
                for (ca, cb) in a.chunks_mut(block).zip(b.chunks_mut(block)) {
                    line.process(&mut [ca, cb]);
                }
                for (i, (&ya, &yb)) in a.iter().zip(&b).enumerate() {
                    let want = if i < delay { 0.0 } else { input[i - delay] };
                    assert_eq!((ya, yb), (want, want), "delay {delay} block {block} at {i}");
                }
            }
        }
    }

    #[test]
    fn changing_the_delay_reads_the_stored_history() {
        let mut line = DelayLine::new(1, 8);
        let mut a: Vec<f32> = (1..=10).map(|i| i as f32).collect();
        line.process(&mut [&mut a[..]]);
        line.set_delay(3);
        let mut b = [11.0f32, 12.0];
        line.process(&mut [&mut b[..]]);
        assert_eq!(b, [8.0, 9.0]);
        line.reset();
        let mut c = [1.0f32; 4];
        line.process(&mut [&mut c[..]]);
        assert_eq!(c, [0.0, 0.0, 0.0, 1.0]);
    }
}
