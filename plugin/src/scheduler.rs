//! Sample-accurate MIDI note output with latency compensation.
//!
//! The engine stamps each event with the stream position of what it describes, and emits it some
//! time later (its detection delay). The plugin delays its audio by the latency it reports, `L`,
//! chosen at least as long as the engine's longest detection delay; the host compensates `L`. An
//! event stamped `s` is therefore due at output position `s + L`, which always lies in the current
//! block or a later one. [`NoteScheduler`] holds those future notes, sorted by due time, in storage
//! allocated once, and hands each one out in the block it falls in, with its offset in the block.
//!
//! It also remembers which notes are sounding downstream, so that bypass, reset, deactivation and
//! latency changes can end every one of them ([`NoteScheduler::release_all`]): no hanging notes.

/// Notes the scheduler can hold before it drops new ones (and counts them).
pub const DEFAULT_CAPACITY: usize = 512;

/// A note message for the host, `timing` samples into the current block.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NoteMessage {
    /// Offset in the current block.
    pub timing: u32,
    /// True for a note-on, false for a note-off.
    pub on: bool,
    /// MIDI channel, 0 to 15.
    pub channel: u8,
    /// MIDI key, 0 to 127.
    pub key: u8,
    /// Velocity, 0 to 1 (0 for note-offs).
    pub velocity: f32,
}

/// Note-offs sort before note-ons at the same time, so a retriggered key ends before it restarts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Off = 0,
    On = 1,
}

#[derive(Debug, Clone, Copy)]
struct Scheduled {
    /// Due output position (same stream coordinates as the block starts given to `emit`).
    time: u64,
    kind: Kind,
    channel: u8,
    key: u8,
    velocity: f32,
}

impl Scheduled {
    fn order(&self) -> (u64, Kind) {
        (self.time, self.kind)
    }
}

/// A fixed-capacity queue of future note-ons and note-offs, sorted by due time.
///
/// Nothing allocates after [`NoteScheduler::new`]; every method is real-time safe.
///
/// ```
/// use cochlea_plugin::scheduler::{NoteMessage, NoteScheduler};
/// let mut notes = NoteScheduler::new(16);
/// notes.note_on(1_000, 9, 36, 0.8); // due at output position 1000
/// notes.note_off(1_100, 9, 36);
/// let mut out = Vec::new();
/// notes.emit(512, 512, |m| out.push(m)); // block [512, 1024)
/// assert_eq!(out.len(), 1);
/// assert_eq!((out[0].timing, out[0].on, out[0].key), (488, true, 36));
/// notes.emit(1_024, 512, |m| out.push(m)); // block [1024, 1536)
/// assert_eq!((out[1].timing, out[1].on), (76, false));
/// assert!(notes.is_idle());
/// ```
pub struct NoteScheduler {
    pending: Vec<Scheduled>,
    capacity: usize,
    /// One bit per key, per channel: a note-on was sent and its note-off was not.
    sounding: [u128; 16],
    dropped: u64,
    late: u64,
}

impl NoteScheduler {
    /// A scheduler holding up to `capacity` (at least 2) future notes.
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(2);
        Self {
            pending: Vec::with_capacity(capacity),
            capacity,
            sounding: [0; 16],
            dropped: 0,
            late: 0,
        }
    }

    /// Schedules a note-on due at output position `time`. Any note on the same channel and key
    /// whose note-off is due later is ended at `time` first (a retrigger). Returns false, and
    /// counts a drop, unless there is room for it and for a note-off for it and for every other
    /// pending note-on: a note that starts can always be ended.
    pub fn note_on(&mut self, time: u64, channel: u8, key: u8, velocity: f32) -> bool {
        let (channel, key) = (channel & 15, key & 127);
        let pending_ons = self.pending.iter().filter(|e| e.kind == Kind::On).count();
        if self.pending.len() + 1 + pending_ons + 1 > self.capacity {
            self.dropped += 1;
            return false;
        }
        // Bring forward a later note-off of the same key so the new note is not cut short by it.
        if let Some(i) = self.pending.iter().position(|e| {
            e.kind == Kind::Off && e.channel == channel && e.key == key && e.time > time
        }) {
            let mut off = self.pending.remove(i);
            off.time = time;
            self.insert(off);
        }
        self.insert(Scheduled {
            time,
            kind: Kind::On,
            channel,
            key,
            velocity: velocity.clamp(0.0, 1.0),
        });
        true
    }

    /// Schedules a note-off due at output position `time`. Returns false, and counts a drop, if
    /// the queue is full.
    pub fn note_off(&mut self, time: u64, channel: u8, key: u8) -> bool {
        if self.pending.len() >= self.capacity {
            self.dropped += 1;
            return false;
        }
        self.insert(Scheduled {
            time,
            kind: Kind::Off,
            channel: channel & 15,
            key: key & 127,
            velocity: 0.0,
        });
        true
    }

    fn insert(&mut self, e: Scheduled) {
        // After every entry that sorts equal, so equal-time events keep their arrival order.
        let at = self.pending.partition_point(|p| p.order() <= e.order());
        // Capacity is checked by the callers, so this never reallocates.
        debug_assert!(self.pending.len() < self.pending.capacity());
        self.pending.insert(at, e);
    }

    /// Sends, in time order, every note due before `block_start + len`, with its offset in the
    /// block `[block_start, block_start + len)`. A note that was due before the block is sent at
    /// offset 0 and counted as late. A note-on for a key still sounding is preceded by its
    /// note-off; a note-off for a key not sounding is skipped.
    pub fn emit(&mut self, block_start: u64, len: usize, mut send: impl FnMut(NoteMessage)) {
        if len == 0 {
            return;
        }
        let end = block_start + len as u64;
        let due = self.pending.partition_point(|e| e.time < end);
        for i in 0..due {
            let e = self.pending[i];
            let timing = if e.time < block_start {
                self.late += 1;
                0
            } else {
                (e.time - block_start) as u32
            };
            let bit = 1u128 << e.key;
            let sounding = &mut self.sounding[e.channel as usize];
            match e.kind {
                Kind::On => {
                    if *sounding & bit != 0 {
                        send(off_message(timing, e.channel, e.key));
                    }
                    *sounding |= bit;
                    send(NoteMessage {
                        timing,
                        on: true,
                        channel: e.channel,
                        key: e.key,
                        velocity: e.velocity,
                    });
                }
                Kind::Off => {
                    if *sounding & bit != 0 {
                        *sounding &= !bit;
                        send(off_message(timing, e.channel, e.key));
                    }
                }
            }
        }
        self.pending.drain(..due);
    }

    /// Ends every sounding note at offset `timing` of the current block and forgets every
    /// pending one.
    pub fn release_all(&mut self, timing: u32, mut send: impl FnMut(NoteMessage)) {
        for (channel, bits) in self.sounding.iter_mut().enumerate() {
            while *bits != 0 {
                let key = bits.trailing_zeros() as u8;
                *bits &= !(1u128 << key);
                send(off_message(timing, channel as u8, key));
            }
        }
        self.pending.clear();
    }

    /// Ends the sounding notes of one channel at offset `timing` of the current block and
    /// forgets that channel's pending ones.
    pub fn release_channel(&mut self, timing: u32, channel: u8, mut send: impl FnMut(NoteMessage)) {
        let channel = channel & 15;
        let bits = &mut self.sounding[channel as usize];
        while *bits != 0 {
            let key = bits.trailing_zeros() as u8;
            *bits &= !(1u128 << key);
            send(off_message(timing, channel, key));
        }
        self.pending.retain(|e| e.channel != channel);
    }

    /// Forgets every pending note (sounding notes stay sounding).
    pub fn clear_pending(&mut self) {
        self.pending.clear();
    }

    /// Whether a note-on was sent on `channel`/`key` without its note-off.
    pub fn is_sounding(&self, channel: u8, key: u8) -> bool {
        self.sounding[(channel & 15) as usize] & (1u128 << (key & 127)) != 0
    }

    /// True when no note is sounding and none is pending.
    pub fn is_idle(&self) -> bool {
        self.pending.is_empty() && self.sounding.iter().all(|&b| b == 0)
    }

    /// Notes waiting to be sent.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Notes dropped so far because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Notes sent later than their due position so far (at the start of a later block).
    pub fn late(&self) -> u64 {
        self.late
    }
}

fn off_message(timing: u32, channel: u8, key: u8) -> NoteMessage {
    NoteMessage {
        timing,
        on: false,
        channel,
        key,
        velocity: 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releasing_a_channel_leaves_the_others() {
        let mut s = NoteScheduler::new(16);
        s.note_on(0, 0, 60, 0.5);
        s.note_on(0, 9, 36, 0.5);
        s.note_off(500, 0, 60);
        s.note_off(500, 9, 36);
        s.note_on(600, 0, 62, 0.5);
        s.emit(0, 100, |_| {});
        let mut sent = Vec::new();
        s.release_channel(7, 0, |m| sent.push((m.timing, m.on, m.channel, m.key)));
        assert_eq!(sent, [(7, false, 0, 60)]);
        assert!(!s.is_sounding(0, 60) && s.is_sounding(9, 36));
        // Channel 1's pending notes are gone; channel 10's note-off still comes.
        let mut later = Vec::new();
        s.emit(100, 1000, |m| later.push((m.on, m.channel, m.key)));
        assert_eq!(later, [(false, 9, 36)]);
        assert!(s.is_idle());
    }

    fn run(s: &mut NoteScheduler, start: u64, len: usize) -> Vec<(u32, bool, u8)> {
        let mut out = Vec::new();
        s.emit(start, len, |m| out.push((m.timing, m.on, m.key)));
        out
    }

    #[test]
    fn notes_land_in_their_block_at_their_offset_whatever_the_block_size() {
        let times = [3u64, 17, 64, 65, 200, 511];
        for block in [1usize, 7, 64, 100, 512] {
            let mut s = NoteScheduler::new(64);
            for &t in &times {
                s.note_on(t, 0, 60, 1.0);
                s.note_off(t + 1, 0, 60);
            }
            let mut seen = Vec::new();
            let mut start = 0u64;
            while start < 520 {
                for (timing, on, _) in run(&mut s, start, block) {
                    assert!((timing as usize) < block);
                    if on {
                        seen.push(start + timing as u64);
                    }
                }
                start += block as u64;
            }
            assert_eq!(seen, times, "block {block}");
            assert!(s.is_idle());
            assert_eq!(s.late(), 0);
        }
    }

    #[test]
    fn offs_sort_before_ons_at_the_same_time_and_retrigger_brings_the_off_forward() {
        let mut s = NoteScheduler::new(16);
        s.note_on(10, 9, 36, 0.5);
        s.note_off(100, 9, 36);
        // A second hit at 40 ends the first note at 40, then its own off is at 130.
        s.note_on(40, 9, 36, 0.9);
        s.note_off(130, 9, 36);
        assert_eq!(
            run(&mut s, 0, 200),
            vec![
                (10, true, 36),
                (40, false, 36),
                (40, true, 36),
                (130, false, 36)
            ]
        );
        assert!(s.is_idle());
    }

    #[test]
    fn late_notes_go_at_the_block_start_and_are_counted() {
        let mut s = NoteScheduler::new(8);
        s.note_on(5, 0, 60, 1.0);
        assert_eq!(run(&mut s, 64, 64), vec![(0, true, 60)]);
        assert_eq!(s.late(), 1);
    }

    #[test]
    fn release_all_ends_every_sounding_note_and_forgets_pending_ones() {
        let mut s = NoteScheduler::new(16);
        s.note_on(0, 0, 60, 1.0);
        s.note_on(1, 9, 36, 1.0);
        s.note_off(500, 0, 60);
        s.note_on(600, 0, 64, 1.0);
        run(&mut s, 0, 64);
        assert!(s.is_sounding(0, 60) && s.is_sounding(9, 36));
        let mut out = Vec::new();
        s.release_all(3, |m| out.push((m.timing, m.on, m.channel, m.key)));
        out.sort_by_key(|m| (m.2, m.3));
        assert_eq!(out, vec![(3, false, 0, 60), (3, false, 9, 36)]);
        assert!(s.is_idle());
        // Nothing else comes out later.
        assert!(run(&mut s, 64, 1024).is_empty());
    }

    #[test]
    fn a_full_queue_drops_and_counts_and_keeps_room_for_note_offs() {
        let mut s = NoteScheduler::new(5);
        assert!(s.note_on(10, 0, 1, 1.0));
        assert!(s.note_on(11, 0, 2, 1.0));
        assert!(s.note_off(20, 0, 1));
        // Two slots left would fit a note-on, but not its note-off and the pending one's.
        assert!(!s.note_on(12, 0, 3, 1.0));
        assert!(s.note_off(21, 0, 2));
        assert!(s.note_off(22, 0, 3)); // stray (its note-on was dropped): skipped when due
        assert!(!s.note_off(23, 0, 4)); // full
        assert_eq!(s.dropped(), 2);
        let out = run(&mut s, 0, 64);
        assert_eq!(out.len(), 4);
        assert!(s.is_idle());
    }

    #[test]
    fn stray_note_offs_are_not_sent() {
        let mut s = NoteScheduler::new(8);
        s.note_off(3, 0, 60);
        assert!(run(&mut s, 0, 64).is_empty());
    }
}
