//! Events leave the engine through a wait-free single-producer single-consumer queue
//! ([`rtrb`]). The queue is allocated once; when it is full the new event is dropped and
//! counted (the audio thread never blocks and never overwrites what the consumer has not read).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Something the engine heard, stamped with the absolute stream position it describes.
///
/// `sample` counts input samples from the start of the stream (or the last
/// [`reset`](crate::Engine::reset)); it is the position of the thing itself, already corrected
/// for the analysis delay, not the position at which it was detected.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// A note or percussive onset.
    Onset {
        /// Stream position of the onset.
        sample: u64,
        /// Value of the detection function at the peak, relative to the adaptive threshold
        /// (1.0 is just above it; comparable across methods).
        strength: f32,
    },
    /// One pitch-tracker frame (one per pitch hop).
    Pitch {
        /// Stream position of the centre of the analysis frame.
        sample: u64,
        /// Fundamental frequency in Hz; 0 when the frame is judged unvoiced (its voiced
        /// probability is below the voicing threshold).
        f0_hz: f32,
        /// Probability that the frame is voiced (0 to 1).
        voiced_prob: f32,
        /// Confidence in `f0_hz` given that the frame is voiced: the share of the voiced
        /// probability within a third of a semitone of it (0 to 1).
        confidence: f32,
    },
    /// One frame of the melody (predominant pitch) tracker, one per melody hop
    /// ([`Engine::melody_hop_samples`](crate::Engine::melody_hop_samples)).
    Melody {
        /// Stream position the frame describes (the centre of its analysis window, less the
        /// tracker's decision lag).
        sample: u64,
        /// Melody fundamental in Hz; 0 when the melody is judged silent.
        f0_hz: f32,
        /// The tracked pitch's salience relative to its running statistics (larger is
        /// clearer).
        salience: f32,
    },
    /// A note starts.
    NoteOn {
        /// Stream position of the note's start.
        sample: u64,
        /// MIDI note number (60 is middle C, 69 is A4 = 440 Hz).
        midi_note: u8,
        /// MIDI velocity, 1 to 127, from the loudness of the note's start.
        velocity: u8,
    },
    /// A note ends. Every [`Event::NoteOn`] is followed by exactly one `NoteOff` for it.
    NoteOff {
        /// Stream position of the note's end.
        sample: u64,
        /// MIDI note number of the note that ends.
        midi_note: u8,
    },
}

impl Event {
    /// The stream position the event describes.
    pub fn sample(&self) -> u64 {
        match *self {
            Event::Onset { sample, .. }
            | Event::Pitch { sample, .. }
            | Event::Melody { sample, .. }
            | Event::NoteOn { sample, .. }
            | Event::NoteOff { sample, .. } => sample,
        }
    }
}

/// Counters shared between the audio thread and readers on other threads.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) dropped_events: AtomicU64,
}

/// The consuming end of the engine's event queue. Move it to the thread that reads events.
///
/// ```
/// use cochlea_engine::{Engine, EngineConfig, Event};
/// let (mut engine, mut events) = Engine::new(EngineConfig::new(44_100.0, 1, 256)).unwrap();
/// let mut block = vec![0.0f32; 256];
/// block[100] = 1.0; // a click
/// let silence = vec![0.0f32; 256];
/// let mut out = vec![0.0f32; 256];
/// engine.process(&[&block], &mut [&mut out]).unwrap();
/// for _ in 0..20 {
///     engine.process(&[&silence], &mut [&mut out]).unwrap();
/// }
/// let onsets: Vec<Event> = events.drain().collect();
/// assert_eq!(onsets.len(), 1);
/// assert_eq!(events.dropped(), 0);
/// ```
pub struct EventReceiver {
    consumer: rtrb::Consumer<Event>,
    stats: Arc<Stats>,
}

impl EventReceiver {
    /// Takes the oldest event, if any.
    pub fn pop(&mut self) -> Option<Event> {
        self.consumer.pop().ok()
    }

    /// Takes every event available now, oldest first.
    pub fn drain(&mut self) -> impl Iterator<Item = Event> + '_ {
        std::iter::from_fn(move || self.consumer.pop().ok())
    }

    /// Events waiting to be read.
    pub fn len(&self) -> usize {
        self.consumer.slots()
    }

    /// True when no event is waiting.
    pub fn is_empty(&self) -> bool {
        self.consumer.is_empty()
    }

    /// Events dropped so far because the queue was full (never reset).
    pub fn dropped(&self) -> u64 {
        self.stats.dropped_events.load(Ordering::Relaxed)
    }
}

/// The producing end, owned by the engine on the audio thread.
pub(crate) struct EventSender {
    producer: rtrb::Producer<Event>,
    stats: Arc<Stats>,
}

impl EventSender {
    /// Pushes `event`, or counts it as dropped if the queue is full. Wait-free.
    #[inline]
    pub(crate) fn send(&mut self, event: Event) {
        if self.producer.push(event).is_err() {
            self.stats.dropped_events.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Allocates a queue for `capacity` events.
pub(crate) fn channel(capacity: usize, stats: Arc<Stats>) -> (EventSender, EventReceiver) {
    let (producer, consumer) = rtrb::RingBuffer::new(capacity);
    (
        EventSender {
            producer,
            stats: stats.clone(),
        },
        EventReceiver { consumer, stats },
    )
}
