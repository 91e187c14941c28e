//! Source separation by spectral masking, live: harmonic / percussive / residual and melody /
//! accompaniment stems, and a mix of them with a gain per stem.
//!
//! # Signal path
//! Each channel is analysed by a streaming STFT ([`stft`](self) module: an asymmetric
//! analysis / synthesis window pair that reconstructs perfectly with a synthesis window of two
//! hops). The masks are computed once per frame on the mid signal (the mean of the channels,
//! analysed with a smoother window of the same time centre: see the `hpss` module) and applied
//! to every channel's own spectrum, so the stereo image survives:
//! - harmonic / percussive / residual from rank filters across time and frequency
//!   (Driedger et al.; see the `hpss` module for the causal variant and its look-ahead);
//! - melody / accompaniment from a soft harmonic comb on the melody's fundamental.
//!
//! The harmonic, percussive and melody stems are resynthesised (inverse FFT, weighted
//! overlap-add; two real signals share each complex transform: a stereo frame's channels, or two
//! stems of a mono one); the residual is the delayed input minus the harmonic and percussive
//! stems and the accompaniment the delayed input minus the melody, so each split sums to the
//! input exactly. With both separation margins at 1 (the default) the harmonic and percussive
//! masks sum to 1: the percussive stem is then the delayed input minus the harmonic one, without
//! a transform of its own, and the residual is silent. The mix applies
//! `(gH MH + gP MP + gR MR) * (gM MM + gA MA)` to the spectrum, with
//! the gains glided per frame (20 ms time constant): with every gain at 1 it is the input,
//! delayed.
//!
//! # Latency
//! A frame's masks wait for `lookahead_frames` further frames, and its output is final two hops
//! after the frame ends: every output (the mix and each stem) is the input delayed by exactly
//! `(lookahead_frames + 2) * hop` samples. At 44.1 or 48 kHz with the defaults (256-sample hop,
//! 6 frames of look-ahead) that is 2048 samples: 46.4 ms at 44.1 kHz, 42.7 ms at 48 kHz.

mod bands;
pub(crate) mod comb;
pub(crate) mod f0;
pub(crate) mod hpss;
mod rank;
pub(crate) mod stft;

use realfft::num_complex::Complex32;

use crate::config::SeparationConfig;
use crate::error::ConfigError;
use crate::framer::{History, Hopper};
use crate::sanitize::sanitize;

use comb::{Comb, CombSettings};
use hpss::{Hpss, HpssSettings};
pub use stft::window_pair;
use stft::Stft;

/// Time constant of the gain glide, seconds.
const GAIN_GLIDE_S: f64 = 0.02;

/// One stem of the separation.
///
/// ```
/// use cochlea_engine::separation::Stem;
/// assert_eq!(Stem::ALL.len(), 5);
/// assert_eq!(Stem::Melody.name(), "melody");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stem {
    /// Sustained, pitched sound (what stays put in time).
    Harmonic = 0,
    /// Transients and noise bursts (what stays put in frequency).
    Percussive = 1,
    /// What neither the harmonic nor the percussive mask claims (silent when both separation
    /// margins are 1).
    Residual = 2,
    /// The partials of the melody's fundamental.
    Melody = 3,
    /// Everything but the melody.
    Accompaniment = 4,
}

impl Stem {
    /// Every stem, in index order.
    pub const ALL: [Stem; 5] = [
        Stem::Harmonic,
        Stem::Percussive,
        Stem::Residual,
        Stem::Melody,
        Stem::Accompaniment,
    ];

    /// The stem's name in lower case (`harmonic`, ...), as used for file names.
    pub fn name(self) -> &'static str {
        match self {
            Stem::Harmonic => "harmonic",
            Stem::Percussive => "percussive",
            Stem::Residual => "residual",
            Stem::Melody => "melody",
            Stem::Accompaniment => "accompaniment",
        }
    }
}

/// Caller-owned storage for the stems of one block: five stems of `channels` channels of up to
/// `max_block_size` samples, allocated once. [`Engine::process_stems`](crate::Engine::process_stems)
/// fills the first `len()` samples of each.
///
/// ```
/// use cochlea_engine::{Engine, EngineConfig};
/// use cochlea_engine::separation::Stem;
/// let mut config = EngineConfig::new(44_100.0, 2, 256);
/// config.separation.enabled = true;
/// let (mut engine, _events) = Engine::new(config).unwrap();
/// let mut stems = engine.make_stem_outputs();
/// let input = vec![0.1f32; 256];
/// let (mut l, mut r) = (vec![0.0f32; 256], vec![0.0f32; 256]);
/// engine.process_stems(&[&input, &input], &mut [&mut l, &mut r], &mut stems).unwrap();
/// assert_eq!(stems.len(), 256);
/// assert_eq!(stems.channel(Stem::Harmonic, 1).len(), 256);
/// ```
#[derive(Debug, Clone)]
pub struct StemOutputs {
    buf: Vec<f32>,
    channels: usize,
    max_block_size: usize,
    len: usize,
}

impl StemOutputs {
    /// Storage for `channels` channels of blocks up to `max_block_size` samples.
    pub fn new(channels: usize, max_block_size: usize) -> Self {
        Self {
            buf: vec![0.0; Stem::ALL.len() * channels * max_block_size],
            channels,
            max_block_size,
            len: 0,
        }
    }

    /// Samples per channel written by the last call.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the last call wrote nothing.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Channels per stem.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Longest block it can hold.
    pub fn max_block_size(&self) -> usize {
        self.max_block_size
    }

    /// The last block of `stem`, channel `channel`.
    pub fn channel(&self, stem: Stem, channel: usize) -> &[f32] {
        let start = self.offset(stem, channel);
        &self.buf[start..start + self.len]
    }

    pub(crate) fn set_len(&mut self, len: usize) {
        self.len = len;
    }

    /// Samples `pos..pos + n` of `stem`, channel `channel`, to be written.
    fn span_mut(&mut self, stem: Stem, channel: usize, pos: usize, n: usize) -> &mut [f32] {
        let start = self.offset(stem, channel) + pos;
        &mut self.buf[start..start + n]
    }

    fn offset(&self, stem: Stem, channel: usize) -> usize {
        assert!(channel < self.channels, "channel {channel} out of range");
        (stem as usize * self.channels + channel) * self.max_block_size
    }
}

/// A delay line of a fixed number of samples, run a block at a time.
#[derive(Debug, Clone)]
struct Delay {
    /// At least the last `delay` samples in.
    past: History,
    delay: usize,
}

impl Delay {
    fn new(delay: usize) -> Self {
        Self {
            past: History::new(delay),
            delay,
        }
    }

    /// Writes `x` delayed to `out` (as long): the first `delay` samples from the past, the rest
    /// straight from `x`; then keeps `x` as the past.
    fn process(&mut self, x: &[f32], out: &mut [f32]) {
        let (n, d) = (x.len(), self.delay);
        let from_past = d.min(n);
        self.past.copy_ending(d - from_past, &mut out[..from_past]);
        out[from_past..n].copy_from_slice(&x[..n - from_past]);
        self.past.extend(x);
    }

    fn reset(&mut self) {
        self.past.reset();
    }
}

/// The signals resynthesised by inverse FFT.
const SYNTH: usize = 4;
const SYN_HARMONIC: usize = 0;
const SYN_PERCUSSIVE: usize = 1;
const SYN_MELODY: usize = 2;
const SYN_MIX: usize = 3;

/// The streaming separator: stems and their mix, block by block, for one or two channels.
///
/// [`Engine`](crate::Engine) runs one when [`SeparationConfig::enabled`] is set, with the melody
/// fundamental from its own tracker; it is public so that a caller with its own fundamental
/// (a score, a reference) can drive the comb directly.
///
/// ```
/// use cochlea_engine::separation::{Separator, Stem, StemOutputs};
/// use cochlea_engine::SeparationConfig;
/// let mut sep = Separator::new(&SeparationConfig::default(), 44_100.0, 1, 512).unwrap();
/// let latency = sep.latency_samples();
/// let input: Vec<f32> = (0..4096).map(|i| (i as f32 * 0.05).sin() * 0.5).collect();
/// let mut out = vec![0.0f32; 4096];
/// let mut stems = StemOutputs::new(1, 512);
/// for (i, o) in input.chunks(512).zip(out.chunks_mut(512)) {
///     // A 350 Hz melody throughout.
///     sep.process(&[i], &mut [o], Some(&mut stems), [1.0; 5], &mut |_| 350.0);
/// }
/// // At unity gains the mix is the input, delayed.
/// for n in latency..4096 {
///     assert!((out[n] - input[n - latency]).abs() < 1e-4);
/// }
/// ```
pub struct Separator {
    channels: usize,
    hop: usize,
    frame_len: usize,
    bins: usize,
    lookahead: usize,
    latency: usize,
    hopper: Hopper,
    /// Frames analysed since the start.
    frames: u64,
    /// Samples pushed since the start.
    position: u64,
    inputs: Vec<History>,
    delays: Vec<Delay>,
    /// The newest frame of each channel, `frame_len` samples.
    frame: Vec<f32>,
    frame_b: Vec<f32>,
    stft: Stft,
    /// `(lookahead + 1) x spectrum_len` spectra (of both channels, see `Stft`) waiting for their
    /// masks, ring by frame.
    spectra: Vec<Complex32>,
    spectrum_len: usize,
    /// The mid signal's newest frame, `frame_len` samples.
    mid: Vec<f32>,
    hpss: Hpss,
    comb: Comb,
    mask_h: Vec<f32>,
    mask_p: Vec<f32>,
    mask_m: Vec<f32>,
    mask_mix: Vec<f32>,
    /// One frame's synthesis, `2 * hop` samples, of the two signals of a transform.
    chunk: Vec<f32>,
    chunk_im: Vec<f32>,
    /// With every gain at 1 the mix is the frame itself: overlap-add its input samples under the
    /// window product instead of an inverse FFT (off only to test that both agree).
    unity_pass_through: bool,
    /// With both separation margins at 1 the harmonic and percussive masks sum to 1, so the
    /// percussive stem is the delayed input minus the harmonic one (and the residual silent):
    /// one inverse transform fewer per frame (off only to test that both agree).
    complementary: bool,
    /// The span being output: each synthesised signal's samples, `SYNTH x hop`, and the
    /// delayed input's, `hop`.
    span: Vec<f32>,
    span_input: Vec<f32>,
    /// `SYNTH x channels x ola_len` overlap-add rings indexed by absolute output position.
    ola: Vec<f32>,
    ola_mask: usize,
    gains: [f32; 5],
    gain_coeff: f32,
}

/// The analysis STFT, the two mask stages and the resynthesis a separator is made of, built from
/// its settings (also for [`crate::internals`], which benches them one by one).
pub(crate) struct Parts {
    pub(crate) hop: usize,
    pub(crate) frame_len: usize,
    pub(crate) bins: usize,
    pub(crate) stft: Stft,
    pub(crate) hpss: Hpss,
    pub(crate) comb: Comb,
}

impl Parts {
    /// The parts for `config` at `sample_rate`, deciding each frame `lookahead` frames late.
    pub(crate) fn new(config: &SeparationConfig, sample_rate: f64, lookahead: usize) -> Self {
        let hop = config.hop_samples(sample_rate);
        let frame_len = hop * config.frame_hops as usize;
        let stft = Stft::new(frame_len, hop);
        let bins = stft.bins();
        let bin_hz = (sample_rate / frame_len as f64) as f32;
        let frames_per_s = sample_rate / hop as f64;
        let hpss = Hpss::new(&HpssSettings {
            frame_len,
            hop,
            history_frames: (config.history_s * frames_per_s).round() as usize,
            lookahead,
            percentile: config.harmonic_percentile,
            width_bins: ((config.percussive_width_hz / bin_hz as f64).round() as usize).max(1),
            power: config.mask_power,
            harmonic_margin: config.harmonic_margin,
            percussive_margin: config.percussive_margin,
        });
        let gate_coeff = if config.melody_gate_s > 0.0 {
            1.0 - (-1.0 / (config.melody_gate_s as f64 * frames_per_s)).exp()
        } else {
            1.0
        };
        let comb = Comb::new(&CombSettings {
            bins,
            bin_hz,
            max_hz: config.melody_max_hz as f32,
            width_cents: config.melody_width_cents,
            min_width_hz: config.melody_min_width_hz,
            gate_coeff: gate_coeff as f32,
        });
        Self {
            hop,
            frame_len,
            bins,
            stft,
            hpss,
            comb,
        }
    }
}

impl Separator {
    /// Validates `config` and allocates everything for `channels` channels (1 or 2) at
    /// `sample_rate`, for blocks up to `max_block_size` samples (the size of the
    /// [`StemOutputs`] it fills).
    pub fn new(
        config: &SeparationConfig,
        sample_rate: f64,
        channels: usize,
        max_block_size: usize,
    ) -> Result<Self, ConfigError> {
        Self::with_min_lookahead(config, sample_rate, channels, max_block_size, 0)
    }

    /// As [`new`](Separator::new), with at least `min_lookahead` frames of look-ahead: the
    /// engine raises it when its melody tracker's frames arrive later than the configured
    /// look-ahead allows (the latency grows accordingly, and says so).
    pub(crate) fn with_min_lookahead(
        config: &SeparationConfig,
        sample_rate: f64,
        channels: usize,
        max_block_size: usize,
        min_lookahead: usize,
    ) -> Result<Self, ConfigError> {
        config.validate()?;
        if !(1..=2).contains(&channels) {
            return Err(ConfigError::Channels(channels));
        }
        if !(crate::MIN_SAMPLE_RATE..=crate::MAX_SAMPLE_RATE).contains(&sample_rate) {
            return Err(ConfigError::SampleRate(sample_rate));
        }
        let _ = max_block_size;
        let lookahead = (config.lookahead_frames as usize).max(min_lookahead);
        let Parts {
            hop,
            frame_len,
            bins,
            stft,
            hpss,
            comb,
        } = Parts::new(config, sample_rate, lookahead);
        let latency = (lookahead + 2) * hop;
        let ola_len = (latency + frame_len).next_power_of_two();
        Ok(Self {
            channels,
            hop,
            frame_len,
            bins,
            lookahead,
            latency,
            hopper: Hopper::new(hop),
            frames: 0,
            position: 0,
            // The frame, and the last two hops of the frame being resynthesised.
            inputs: (0..channels)
                .map(|_| History::new(frame_len.max((lookahead + 2) * hop)))
                .collect(),
            delays: (0..channels).map(|_| Delay::new(latency)).collect(),
            frame: vec![0.0; frame_len],
            frame_b: vec![0.0; if channels == 2 { frame_len } else { 0 }],
            spectra: vec![Complex32::default(); (lookahead + 1) * stft.len()],
            spectrum_len: stft.len(),
            stft,
            mid: vec![0.0; frame_len],
            hpss,
            comb,
            mask_h: vec![0.0; bins],
            mask_p: vec![0.0; bins],
            mask_m: vec![0.0; bins],
            mask_mix: vec![0.0; bins],
            chunk: vec![0.0; 2 * hop],
            chunk_im: vec![0.0; 2 * hop],
            unity_pass_through: true,
            complementary: config.harmonic_margin == 1.0 && config.percussive_margin == 1.0,
            span: vec![0.0; SYNTH * hop],
            span_input: vec![0.0; hop],
            ola: vec![0.0; SYNTH * channels * ola_len],
            ola_mask: ola_len - 1,
            gains: config.gains,
            gain_coeff: (1.0 - (-(hop as f64) / (GAIN_GLIDE_S * sample_rate)).exp()) as f32,
        })
    }

    /// The STFT hop in samples.
    pub fn hop(&self) -> usize {
        self.hop
    }

    /// The STFT frame (FFT) length in samples.
    pub fn frame_len(&self) -> usize {
        self.frame_len
    }

    /// Latency of every output in samples: output sample `n` is (a separation of) input sample
    /// `n - latency_samples()`.
    pub fn latency_samples(&self) -> usize {
        self.latency
    }

    /// The stream position described by the frame the `f0` callback is asked about: the centre
    /// of its synthesis window, `hop` samples before its end.
    fn frame_instant(&self, frame: u64) -> u64 {
        frame * self.hop as u64
    }

    /// Samples until the next frame boundary (at least 1).
    pub(crate) fn until_next(&self) -> usize {
        self.hopper.until_next()
    }

    /// Processes one block: `input` and `output` hold one slice per channel, of equal lengths.
    /// `output` receives the mix, `stems` (if given) each stem. Without `stems` only the mix is
    /// resynthesised (at most one inverse FFT per frame instead of two or three, none at unity
    /// gains), so stems asked for after blocks without are complete from
    /// [`latency_samples`](Self::latency_samples) later.
    /// `gains` are the target stem gains (indexed by [`Stem`] as `usize`, clamped to 0..=4).
    /// `f0(instant)` is asked, once per frame, for the melody's fundamental in Hz at stream
    /// position `instant` (0 when unvoiced); positions only increase.
    ///
    /// Never allocates. Panics if the slices do not match the channel count, or if a stem
    /// storage is too small for the block.
    pub fn process(
        &mut self,
        input: &[&[f32]],
        output: &mut [&mut [f32]],
        mut stems: Option<&mut StemOutputs>,
        gains: [f32; 5],
        f0: &mut dyn FnMut(u64) -> f32,
    ) {
        assert!(input.len() == self.channels && output.len() == self.channels);
        let len = input[0].len();
        for c in 0..self.channels {
            output[c][..len].copy_from_slice(&input[c][..len]);
        }
        if let Some(s) = stems.as_deref_mut() {
            assert!(s.channels == self.channels && s.max_block_size >= len);
            s.len = len;
        }
        let mut pos = 0;
        while pos < len {
            let n = (len - pos).min(self.until_next());
            self.advance(output, pos, n, stems.as_deref_mut(), gains, f0);
            pos += n;
        }
    }

    /// Pushes `io[c][pos..pos + n]` (`n <= until_next()`), replacing it with the mix, and
    /// writes the stems at the same offsets; analyses a frame when one is due.
    pub(crate) fn advance(
        &mut self,
        io: &mut [&mut [f32]],
        pos: usize,
        n: usize,
        mut stems: Option<&mut StemOutputs>,
        gains: [f32; 5],
        f0: &mut dyn FnMut(u64) -> f32,
    ) {
        let ola_len = self.ola_mask + 1;
        let lat = self.latency as u64;
        // The output starts `lat` samples into the stream: before, every signal is silent.
        let silent = (lat.saturating_sub(self.position) as usize).min(n);
        // The span's place in the rings (absolute output position, wrapped): `split` samples
        // from `first`, the rest from the ring's start.
        let first = (self.position.wrapping_sub(lat) as usize) & self.ola_mask;
        let split = (ola_len - first).min(n);
        let hop = self.hop;
        for (c, x) in io.iter_mut().enumerate().take(self.channels) {
            let x = &mut x[pos..pos + n];
            self.inputs[c].extend(x);
            let xd = &mut self.span_input[..n];
            self.delays[c].process(x, xd);
            xd[..silent].fill(0.0);
            // Each signal's finished samples leave its ring, which is cleared behind them for
            // the frames to come.
            for kind in 0..SYNTH {
                // Complementary masks leave the percussive ring unused (always zero).
                if kind == SYN_PERCUSSIVE && self.complementary {
                    continue;
                }
                let ring = ring_mut(&mut self.ola, ola_len, self.channels, kind, c);
                let out = &mut self.span[kind * hop..kind * hop + n];
                out[..split].copy_from_slice(&ring[first..first + split]);
                out[split..].copy_from_slice(&ring[..n - split]);
                ring[first..first + split].fill(0.0);
                ring[..n - split].fill(0.0);
                out[..silent].fill(0.0);
            }
            let part = |kind: usize| &self.span[kind * hop..kind * hop + n];
            x.copy_from_slice(part(SYN_MIX));
            if let Some(st) = stems.as_deref_mut() {
                let (h, p, m) = (part(SYN_HARMONIC), part(SYN_PERCUSSIVE), part(SYN_MELODY));
                st.span_mut(Stem::Harmonic, c, pos, n).copy_from_slice(h);
                st.span_mut(Stem::Melody, c, pos, n).copy_from_slice(m);
                if self.complementary {
                    let percussive = st.span_mut(Stem::Percussive, c, pos, n).iter_mut();
                    for ((o, &xd), &h) in percussive.zip(xd.iter()).zip(h) {
                        *o = xd - h;
                    }
                    st.span_mut(Stem::Residual, c, pos, n).fill(0.0);
                } else {
                    st.span_mut(Stem::Percussive, c, pos, n).copy_from_slice(p);
                    let residual = st.span_mut(Stem::Residual, c, pos, n).iter_mut();
                    for (((o, &xd), &h), &p) in residual.zip(xd.iter()).zip(h).zip(p) {
                        *o = xd - h - p;
                    }
                }
                let accompaniment = st.span_mut(Stem::Accompaniment, c, pos, n).iter_mut();
                for ((o, &xd), &m) in accompaniment.zip(xd.iter()).zip(m) {
                    *o = xd - m;
                }
            }
        }
        self.position += n as u64;
        if self.hopper.advance(n) {
            let with_stems = stems.is_some();
            self.frame(gains, f0, with_stems);
        }
    }

    /// Analyses the frame that has just ended and resynthesises the one `lookahead` frames back:
    /// the mix, and the harmonic, percussive and melody parts only `with_stems`.
    fn frame(&mut self, gains: [f32; 5], f0: &mut dyn FnMut(u64) -> f32, with_stems: bool) {
        // Its own loops (the mid frame, the mix mask, the overlap-adds) in the AVX2 build too.
        crate::simd::fast(
            #[inline(always)]
            || self.frame_body(gains, f0, with_stems),
        )
    }

    /// [`frame`](Self::frame)'s work, inlined into it.
    #[inline(always)]
    fn frame_body(&mut self, gains: [f32; 5], f0: &mut dyn FnMut(u64) -> f32, with_stems: bool) {
        let bins = self.bins;
        let slots = self.lookahead + 1;
        let k = self.frames;
        let slot = (k % slots as u64) as usize;
        // The channels share one transform (see `Stft`), and the mid frame is their mean.
        self.inputs[0].copy_latest(&mut self.frame);
        let at = slot * self.spectrum_len;
        let spectrum = &mut self.spectra[at..at + self.spectrum_len];
        if self.channels == 2 {
            self.inputs[1].copy_latest(&mut self.frame_b);
            self.stft
                .analyze(&self.frame, Some(&self.frame_b), spectrum);
            for ((m, &a), &b) in self.mid.iter_mut().zip(&self.frame).zip(&self.frame_b) {
                *m = 0.5 * (a + b);
            }
        } else {
            self.stft.analyze(&self.frame, None, spectrum);
            self.mid.copy_from_slice(&self.frame);
        }
        self.hpss.push(&self.mid);
        self.frames += 1;
        if k < self.lookahead as u64 {
            return;
        }
        // The frame being decided.
        let j = k - self.lookahead as u64;
        let jslot = (j % slots as u64) as usize;
        let hz = f0(self.frame_instant(j));
        self.comb.mask(sanitize(hz), &mut self.mask_m);

        for (g, &target) in self.gains.iter_mut().zip(&gains) {
            let target = if target.is_finite() {
                target.clamp(0.0, 4.0)
            } else {
                *g
            };
            *g += (target - *g) * self.gain_coeff;
            if (target - *g).abs() < 1e-6 {
                *g = target;
            }
        }
        let unity = self.unity_pass_through && self.gains.iter().all(|&g| g == 1.0);
        // The masks per bin, only those read below: the harmonic one for its stem or the mix, the
        // percussive one for the mix or for its own stem when it is not the complement.
        if with_stems || !unity {
            self.hpss.harmonic(&mut self.mask_h);
        }
        if !unity || (with_stems && !self.complementary) {
            self.hpss.percussive(&mut self.mask_p);
        }
        let [gh, gp, gr, gm, ga] = self.gains;
        if !unity {
            for b in 0..bins {
                let (mh, mp, mm) = (self.mask_h[b], self.mask_p[b], self.mask_m[b]);
                let mr = 1.0 - mh - mp;
                self.mask_mix[b] = (gh * mh + gp * mp + gr * mr) * (gm * mm + ga * (1.0 - mm));
            }
        }

        // Frame j ends at stream position (j + 1) * hop; its synthesis window covers the two
        // hops before that (for frame 0, one of them lies before the stream: the ring wraps it
        // onto positions that are read, and discarded, before the output starts).
        let start = ((j + 1) * self.hop as u64).wrapping_sub(2 * self.hop as u64) as usize;
        let n = 2 * self.hop;
        let first = start & self.ola_mask;
        let at = jslot * self.spectrum_len;
        let spectrum = &self.spectra[at..at + self.spectrum_len];
        let (re, im) = (&mut self.chunk[..n], &mut self.chunk_im[..n]);
        let (channels, ola_len, ola) = (self.channels, self.ola_mask + 1, &mut self.ola);
        // A macro rather than a closure: a closure called from several places is left out of
        // line, in the baseline build.
        macro_rules! add {
            ($kind:expr, $c:expr, $chunk:expr) => {
                add_wrapped(ring_mut(ola, ola_len, channels, $kind, $c), first, $chunk)
            };
        }
        // The signals resynthesised this frame, in ring order.
        let (h, p, m, mix) = (&self.mask_h, &self.mask_p, &self.mask_m, &self.mask_mix);
        let mut wanted: [(usize, &[f32]); SYNTH] = [(0, &[]); SYNTH];
        let mut count = 0;
        for (kind, mask, on) in [
            (SYN_HARMONIC, &h[..], with_stems),
            (SYN_PERCUSSIVE, &p[..], with_stems && !self.complementary),
            (SYN_MELODY, &m[..], with_stems),
            (SYN_MIX, &mix[..], !unity),
        ] {
            if on {
                wanted[count] = (kind, mask);
                count += 1;
            }
        }
        // Each transform returns two signals (see `Stft`): a stereo frame's two channels of one
        // signal, or two signals of a mono frame.
        if self.channels == 2 {
            for &(kind, mask) in &wanted[..count] {
                self.stft.synthesize(spectrum, mask, None, re, im);
                add!(kind, 0, re);
                add!(kind, 1, im);
            }
        } else {
            for pair in wanted[..count].chunks(2) {
                let ((kind, mask), second) = (pair[0], pair.get(1).copied());
                self.stft
                    .synthesize(spectrum, mask, second.map(|(_, m)| m), re, im);
                add!(kind, 0, re);
                if let Some((kind, _)) = second {
                    add!(kind, 0, im);
                }
            }
        }
        if unity {
            // Frame `j` ended `lookahead` hops ago. Its last two hops go through `frame`, free
            // once the frames are analysed.
            let ago = self.lookahead * self.hop;
            let tail = &mut self.frame[..n];
            for c in 0..self.channels {
                self.inputs[c].copy_ending(ago, tail);
                self.stft.pass_through(tail, re);
                add!(SYN_MIX, c, re);
            }
        }
    }

    /// Back to the state of a fresh separator (gains return to `initial`), without allocating.
    pub fn reset_with_gains(&mut self, initial: [f32; 5]) {
        self.hopper.reset();
        self.frames = 0;
        self.position = 0;
        for h in &mut self.inputs {
            h.reset();
        }
        for d in &mut self.delays {
            d.reset();
        }
        self.spectra.fill(Complex32::default());
        self.hpss.reset();
        self.comb.reset();
        self.ola.fill(0.0);
        self.gains = initial;
    }
}

/// Signal `kind`'s overlap-add ring for channel `c` in `ola`, which holds `SYNTH x channels`
/// rings of `len` samples.
#[inline(always)]
fn ring_mut(ola: &mut [f32], len: usize, channels: usize, kind: usize, c: usize) -> &mut [f32] {
    &mut ola[(kind * channels + c) * len..][..len]
}

/// Adds `chunk` into `ring` from index `first` on, wrapping at the ring's end.
#[inline(always)]
fn add_wrapped(ring: &mut [f32], first: usize, chunk: &[f32]) {
    let split = (ring.len() - first).min(chunk.len());
    for (o, &y) in ring[first..first + split].iter_mut().zip(chunk) {
        *o += y;
    }
    for (o, &y) in ring[..chunk.len() - split].iter_mut().zip(&chunk[split..]) {
        *o += y;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Block by block, any block lengths (shorter and longer than the delay and the ring), as
    /// one sample at a time.
    #[test]
    fn delay_line_delays_by_its_length_at_any_block_size() {
        let x: Vec<f32> = (1..=300).map(|i| i as f32).collect();
        for delay in [0, 1, 5, 16, 17, 64] {
            for block in [1, 3, 16, 17, 100] {
                let mut line = Delay::new(delay);
                let mut out = vec![0.0; x.len()];
                for (xs, os) in x.chunks(block).zip(out.chunks_mut(block)) {
                    line.process(xs, os);
                }
                for (i, &y) in out.iter().enumerate() {
                    let want = if i >= delay { x[i - delay] } else { 0.0 };
                    assert_eq!(y, want, "delay {delay} block {block} sample {i}");
                }
            }
        }
    }

    /// Stereo tones and clicks over noise, `n` samples.
    fn material(n: usize) -> [Vec<f32>; 2] {
        let mut seed = 7u32;
        let mut noise = move || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            seed as f32 / u32::MAX as f32 - 0.5
        };
        let mut l = vec![0.0; n];
        let mut r = vec![0.0; n];
        for i in 0..n {
            let t = i as f32 / 44_100.0;
            let click = if i % 11_025 < 40 { 0.5 } else { 0.0 };
            l[i] = 0.3 * (2.0 * std::f32::consts::PI * 220.0 * t).sin() + click + 0.05 * noise();
            r[i] = 0.2 * (2.0 * std::f32::consts::PI * 330.0 * t).sin() + click + 0.05 * noise();
        }
        [l, r]
    }

    /// With both margins at 1 the percussive stem is the delayed input minus the harmonic one
    /// instead of an inverse FFT of its own: every stem matches the inverse-FFT path to rounding,
    /// mono and stereo, and the residual is exactly silent.
    #[test]
    fn complementary_percussive_stem_matches_its_inverse_fft() {
        let n = 2 * 44_100;
        let [l, r] = material(n);
        for channels in [1, 2] {
            let run = |complementary: bool| {
                let config = SeparationConfig::default();
                let mut s = Separator::new(&config, 44_100.0, channels, 512).unwrap();
                assert!(s.complementary);
                s.complementary = complementary;
                let mut stems = StemOutputs::new(channels, 512);
                let mut out: Vec<Vec<f32>> = vec![Vec::with_capacity(5 * channels * n)];
                let mut o = [vec![0.0f32; 512], vec![0.0f32; 512]];
                for start in (0..n).step_by(512) {
                    let end = (start + 512).min(n);
                    let inputs: Vec<&[f32]> = [&l[start..end], &r[start..end]][..channels].to_vec();
                    let (a, b) = o.split_at_mut(1);
                    let mut outs: Vec<&mut [f32]> =
                        vec![&mut a[0][..end - start], &mut b[0][..end - start]];
                    outs.truncate(channels);
                    s.process(&inputs, &mut outs, Some(&mut stems), [1.0; 5], &mut |_| {
                        220.0
                    });
                    for stem in Stem::ALL {
                        for c in 0..channels {
                            out[0].extend_from_slice(stems.channel(stem, c));
                        }
                    }
                }
                out.pop().unwrap()
            };
            let (fast, slow) = (run(true), run(false));
            let max = fast
                .iter()
                .zip(&slow)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            assert!(max < 1e-5, "{channels} channels: {max}");
            // Stems interleave per block: [stem][channel][block samples].
            let (mut residual, mut percussive) = (0.0f32, 0.0f32);
            for (start, block) in (0..n).step_by(512).zip(fast.chunks(5 * channels * 512)) {
                let len = (n - start).min(512);
                let at = |stem: Stem, c: usize| (stem as usize * channels + c) * len;
                for c in 0..channels {
                    let p = &block[at(Stem::Percussive, c)..at(Stem::Percussive, c) + len];
                    let r = &block[at(Stem::Residual, c)..at(Stem::Residual, c) + len];
                    percussive = p.iter().fold(percussive, |m, x| m.max(x.abs()));
                    residual = r.iter().fold(residual, |m, x| m.max(x.abs()));
                }
            }
            assert_eq!(residual, 0.0, "{channels} channels");
            assert!(
                percussive > 0.1,
                "{channels} channels: the clicks are percussive"
            );
        }
    }

    /// With every gain at 1 the mix skips its inverse FFT; switching to and from other gains,
    /// it matches the inverse-FFT mix to rounding, and at unity it is the delayed input.
    #[test]
    fn unity_pass_through_matches_the_inverse_fft_mix() {
        let n = 4 * 44_100;
        let [l, r] = material(n);
        let run = |pass_through: bool| {
            let config = SeparationConfig::default();
            let mut s = Separator::new(&config, 44_100.0, 2, 512).unwrap();
            s.unity_pass_through = pass_through;
            let mut out = [vec![0.0f32; n], vec![0.0f32; n]];
            for (k, start) in (0..n).step_by(512).enumerate() {
                let end = (start + 512).min(n);
                // Unity, then the harmonic stem down and the melody up, then unity again.
                let gains = match k * 4 / n.div_ceil(512) {
                    1 => [0.5, 1.0, 1.0, 2.0, 1.0],
                    _ => [1.0; 5],
                };
                let (a, b) = out.split_at_mut(1);
                s.process(
                    &[&l[start..end], &r[start..end]],
                    &mut [&mut a[0][start..end], &mut b[0][start..end]],
                    None,
                    gains,
                    &mut |_| 220.0,
                );
            }
            (out, s.latency_samples())
        };
        let ((fast, lat), (slow, _)) = (run(true), run(false));
        for c in 0..2 {
            let diff = fast[c].iter().zip(&slow[c]).map(|(a, b)| (a - b).abs());
            let max = diff.fold(0.0f32, f32::max);
            assert!(max < 1e-5, "channel {c}: {max}");
            // The gains changed the mix in the second quarter.
            let input = if c == 0 { &l } else { &r };
            let q = n / 4;
            let moved = (q + lat..2 * q)
                .map(|i| (slow[c][i] - input[i - lat]).abs())
                .fold(0.0f32, f32::max);
            assert!(moved > 0.01, "channel {c}: gains had no effect");
            // Unity at the end: the delayed input.
            let err = (3 * q + lat + 4096..n)
                .map(|i| (fast[c][i] - input[i - lat]).abs())
                .fold(0.0f32, f32::max);
            assert!(err < 1e-6, "channel {c}: {err}");
        }
    }
}
