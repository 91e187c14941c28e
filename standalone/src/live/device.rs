//! Audio devices through cpal: choosing a host and devices by name, checking that a device
//! takes the rate, channels and block size asked for (and saying what it takes when it does
//! not), listing everything for `cochlea devices`, and building the streams whose callbacks
//! run the [`Processor`].

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use cpal::traits::{DeviceTrait, HostTrait};
use cpal::{
    Device, ErrorKind, FromSample, Host, SampleFormat, SizedSample, StreamConfig,
    SupportedBufferSize, SupportedStreamConfigRange,
};

use super::meters::{Fatal, Meters};
use super::processor::{MonitorPlayer, Processor};
use crate::exit::{self, Failure};

/// Capture or playback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// A capture (input) device.
    Input,
    /// A playback (output) device.
    Output,
}

impl Direction {
    fn noun(self) -> &'static str {
        match self {
            Direction::Input => "capture",
            Direction::Output => "playback",
        }
    }

    /// Exit code for a problem with a device of this direction.
    fn code(self) -> i32 {
        match self {
            Direction::Input => exit::INPUT,
            Direction::Output => exit::OUTPUT,
        }
    }
}

/// alsa-lib prints its complaints to stderr; on this thread they are caught instead, and the
/// last one is quoted in our own message when something fails.
#[cfg(target_os = "linux")]
mod alsa_log {
    use std::cell::RefCell;
    use std::rc::Rc;

    thread_local! {
        static LOG: RefCell<Option<Rc<RefCell<alsa::Output>>>> = const { RefCell::new(None) };
    }

    /// Catches alsa-lib's messages on this thread from now on.
    pub fn install() {
        LOG.with_borrow_mut(|log| {
            if log.is_none() {
                *log = alsa::Output::local_error_handler().ok();
            }
        });
    }

    /// The last message caught since the previous call, if any.
    pub fn take_last() -> Option<String> {
        let text = LOG.with_borrow(|log| log.as_ref().map(|o| o.borrow().to_string()))?;
        // A fresh handler empties the buffer.
        LOG.with_borrow_mut(|log| *log = alsa::Output::local_error_handler().ok());
        let line = text.lines().rev().find(|l| !l.trim().is_empty())?;
        // "ALSA lib pcm.c:2666:(snd_pcm_open_noupdate) Unknown PCM default" -> the reason.
        Some(line.rsplit(") ").next().unwrap_or(line).trim().to_string())
    }
}

#[cfg(not(target_os = "linux"))]
mod alsa_log {
    pub fn install() {}
    pub fn take_last() -> Option<String> {
        None
    }
}

/// " (ALSA: reason)" if alsa-lib complained since the last call, else "".
fn alsa_says() -> String {
    alsa_log::take_last()
        .map(|m| format!(" (ALSA: {m})"))
        .unwrap_or_default()
}

/// The host called `name` (case-insensitive), or the default host.
pub fn host(name: Option<&str>) -> Result<Host, Failure> {
    alsa_log::install();
    let Some(name) = name else {
        return Ok(cpal::default_host());
    };
    let available = cpal::available_hosts();
    let id = available
        .iter()
        .find(|h| h.name().eq_ignore_ascii_case(name))
        .ok_or_else(|| {
            let names: Vec<&str> = available.iter().map(|h| h.name()).collect();
            Failure::usage(format!(
                "no audio host called \"{name}\"; available here: {}",
                if names.is_empty() {
                    "none".into()
                } else {
                    names.join(", ")
                }
            ))
        })?;
    cpal::host_from_id(*id)
        .map_err(|e| Failure::input(format!("audio host {} is not usable: {e}", id.name())))
}

/// A device's human-readable name.
pub fn device_name(d: &Device) -> String {
    d.description()
        .map(|desc| desc.name().to_string())
        .unwrap_or_else(|_| d.to_string())
}

/// A device's identifier within its host (ALSA: the PCM name, such as `default` or `hw:0,0`).
pub fn device_id(d: &Device) -> Option<String> {
    d.id().ok().map(|id| id.id().to_string())
}

/// Whether `d` is called `name`: its identifier or its name, ignoring case.
fn is_called(d: &Device, name: &str) -> bool {
    device_id(d).is_some_and(|id| id.eq_ignore_ascii_case(name))
        || device_name(d).eq_ignore_ascii_case(name)
}

/// `"name" (id)` for messages and listings.
fn label(d: &Device) -> String {
    match device_id(d) {
        Some(id) if id != device_name(d) => format!("{id} (\"{}\")", device_name(d)),
        _ => format!("\"{}\"", device_name(d)),
    }
}

fn devices(host: &Host, dir: Direction) -> Vec<Device> {
    let list = match dir {
        Direction::Input => host.input_devices().map(|d| d.collect::<Vec<_>>()),
        Direction::Output => host.output_devices().map(|d| d.collect::<Vec<_>>()),
    };
    list.unwrap_or_default()
}

fn names_of(devices: &[Device]) -> String {
    if devices.is_empty() {
        return "none".into();
    }
    devices.iter().map(label).collect::<Vec<_>>().join(", ")
}

/// The device called `name` (its identifier or name, ignoring case, or a unique part of its
/// name), or the host's default device for `dir`.
pub fn find(host: &Host, dir: Direction, name: Option<&str>) -> Result<Device, Failure> {
    let host_name = host.id().name();
    let Some(name) = name else {
        let default = match dir {
            Direction::Input => host.default_input_device(),
            Direction::Output => host.default_output_device(),
        };
        return default.ok_or_else(|| {
            Failure::new(
                dir.code(),
                format!(
                    "no default {} device on {host_name}; {} devices: {} (see `cochlea devices`; \
                     --backend null runs without any device)",
                    dir.noun(),
                    dir.noun(),
                    names_of(&devices(host, dir))
                ),
            )
        });
    };
    let all = devices(host, dir);
    if let Some(d) = all.iter().find(|d| is_called(d, name)) {
        return Ok(d.clone());
    }
    let lower = name.to_lowercase();
    let matching: Vec<&Device> = all
        .iter()
        .filter(|d| label(d).to_lowercase().contains(&lower))
        .collect();
    match matching.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(Failure::new(
            dir.code(),
            format!(
                "no {} device called \"{name}\" on {host_name}; {} devices: {}",
                dir.noun(),
                dir.noun(),
                names_of(&all)
            ),
        )),
        many => Err(Failure::usage(format!(
            "\"{name}\" matches several {} devices on {host_name}: {}; give more of the name",
            dir.noun(),
            many.iter().map(|d| label(d)).collect::<Vec<_>>().join(", ")
        ))),
    }
}

fn ranges(device: &Device, dir: Direction) -> Vec<SupportedStreamConfigRange> {
    let r = match dir {
        Direction::Input => device.supported_input_configs().map(|c| c.collect()),
        Direction::Output => device.supported_output_configs().map(|c| c.collect()),
    };
    r.unwrap_or_default()
}

/// Sample formats the callbacks convert from and to.
const FORMATS: [SampleFormat; 7] = [
    SampleFormat::F32,
    SampleFormat::I32,
    SampleFormat::I16,
    SampleFormat::F64,
    SampleFormat::U16,
    SampleFormat::I8,
    SampleFormat::U8,
];

/// What a device takes, compactly: "1-2 ch at 8000-192000 Hz, 6 ch at 48000 Hz" (channel
/// counts sharing a rate range are grouped; consecutive counts become a span).
pub fn describe_ranges(ranges: &[SupportedStreamConfigRange]) -> String {
    if ranges.is_empty() {
        return "nothing".into();
    }
    let mut by_rates: Vec<((u32, u32), Vec<u16>)> = Vec::new();
    for r in ranges {
        let key = (r.min_sample_rate(), r.max_sample_rate());
        match by_rates.iter_mut().find(|(k, _)| *k == key) {
            Some((_, chs)) => chs.push(r.channels()),
            None => by_rates.push((key, vec![r.channels()])),
        }
    }
    let mut parts = Vec::new();
    for ((lo, hi), mut chs) in by_rates {
        chs.sort_unstable();
        chs.dedup();
        let mut spans: Vec<String> = Vec::new();
        let mut i = 0;
        while i < chs.len() {
            let mut j = i;
            while j + 1 < chs.len() && chs[j + 1] == chs[j] + 1 {
                j += 1;
            }
            spans.push(if i == j {
                chs[i].to_string()
            } else {
                format!("{}-{}", chs[i], chs[j])
            });
            i = j + 1;
        }
        let rates = if lo == hi {
            format!("{lo} Hz")
        } else if hi == u32::MAX {
            format!("{lo} Hz and up")
        } else {
            format!("{lo}-{hi} Hz")
        };
        parts.push(format!("{} ch at {rates}", spans.join(", ")));
    }
    parts.join("; ")
}

/// A stream configuration the device takes.
#[derive(Debug, Clone, Copy)]
pub struct Chosen {
    /// Rate, channels and buffer size.
    pub config: StreamConfig,
    /// The device's sample format.
    pub format: SampleFormat,
}

/// Picks a configuration of `device` at `rate` (default: the device's default rate) with
/// `channels` (default: 2 if it has them, else what it has), asking for `block` frames per
/// callback. What the device cannot do is an impossible setting (exit 2), named with what it
/// can do.
pub fn choose(
    device: &Device,
    dir: Direction,
    rate: Option<u32>,
    channels: Option<u16>,
    block: usize,
) -> Result<Chosen, Failure> {
    let name = label(device);
    let all = ranges(device, dir);
    if all.is_empty() {
        return Err(Failure::new(
            dir.code(),
            format!(
                "{} device {} cannot be opened or reports no usable configuration (busy, \
                 unplugged, or no sound card?){}; see `cochlea devices`, or run without any \
                 device with --backend null",
                dir.noun(),
                label(device),
                alsa_says()
            ),
        ));
    }
    let default = match dir {
        Direction::Input => device.default_input_config(),
        Direction::Output => device.default_output_config(),
    };
    let rate = rate
        .or_else(|| default.as_ref().ok().map(|d| d.sample_rate()))
        .unwrap_or(
            all[0]
                .max_sample_rate()
                .min(48_000)
                .max(all[0].min_sample_rate()),
        );
    let usable: Vec<&SupportedStreamConfigRange> = all
        .iter()
        .filter(|r| FORMATS.contains(&r.sample_format()) && r.contains_rate(rate))
        .collect();
    let pick_channels = |want: u16| usable.iter().filter(move |r| r.channels() == want);
    let candidates: Vec<&&SupportedStreamConfigRange> = match channels {
        Some(c) => pick_channels(c).collect(),
        None => {
            let two: Vec<_> = pick_channels(2).collect();
            if !two.is_empty() {
                two
            } else {
                let mut any: Vec<_> = usable.iter().collect();
                any.sort_by_key(|r| r.channels());
                any
            }
        }
    };
    let best = FORMATS
        .iter()
        .find_map(|f| candidates.iter().find(|r| r.sample_format() == *f));
    let Some(range) = best else {
        let asked = match channels {
            Some(c) => format!("{rate} Hz with {c} channels"),
            None => format!("{rate} Hz"),
        };
        return Err(Failure::usage(format!(
            "{} device {name} does not support {asked}; it supports {}",
            dir.noun(),
            describe_ranges(&all)
        )));
    };
    let buffer_size = match range.buffer_size() {
        SupportedBufferSize::Range { min, max } => {
            if (block as u32) < *min || (block as u32) > *max {
                return Err(Failure::usage(format!(
                    "{} device {name} takes blocks of {min} to {max} frames, not {block}",
                    dir.noun()
                )));
            }
            cpal::BufferSize::Fixed(block as u32)
        }
        SupportedBufferSize::Unknown => cpal::BufferSize::Fixed(block as u32),
    };
    Ok(Chosen {
        config: StreamConfig {
            channels: range.channels(),
            sample_rate: rate,
            buffer_size,
        },
        format: range.sample_format(),
    })
}

/// Turns a cpal error from building or starting a stream into a message naming the device and
/// what was asked.
fn stream_error(e: cpal::Error, dir: Direction, name: &str, chosen: &Chosen) -> Failure {
    let asked = format!(
        "{} Hz, {} channels, {:?}, {} frames per block",
        chosen.config.sample_rate,
        chosen.config.channels,
        chosen.format,
        match chosen.config.buffer_size {
            cpal::BufferSize::Fixed(n) => n.to_string(),
            cpal::BufferSize::Default => "default".into(),
        }
    );
    let what = match e.kind() {
        ErrorKind::DeviceBusy => "is busy (another program is using it)".to_string(),
        ErrorKind::DeviceNotAvailable => "is not available (unplugged?)".to_string(),
        ErrorKind::PermissionDenied => "cannot be opened: permission denied".to_string(),
        ErrorKind::UnsupportedConfig | ErrorKind::InvalidInput => {
            return Failure::usage(format!("{} device {name} refuses {asked}: {e}", dir.noun()))
        }
        _ => format!("cannot be opened: {e}{}", alsa_says()),
    };
    Failure::new(
        dir.code(),
        format!("{} device {name} {what} (asked for {asked})", dir.noun()),
    )
}

fn error_callback(meters: Arc<Meters>, dir: Direction) -> impl FnMut(cpal::Error) + Send + 'static {
    move |e: cpal::Error| match e.kind() {
        ErrorKind::Xrun => Meters::add(&meters.xruns, 1),
        ErrorKind::DeviceNotAvailable | ErrorKind::StreamInvalidated => {
            meters.set_fatal(match dir {
                Direction::Input => Fatal::InputDevice,
                Direction::Output => Fatal::OutputDevice,
            })
        }
        _ => Meters::add(&meters.device_errors, 1),
    }
}

const TIMEOUT: Option<Duration> = Some(Duration::from_secs(3));

/// A capture stream whose callback runs `processor`. Conversion scratch is allocated here,
/// for `max_frames` frames per step; longer callbacks are handled in steps.
pub fn build_capture(
    device: &Device,
    chosen: &Chosen,
    processor: Processor,
    meters: Arc<Meters>,
    max_frames: usize,
) -> Result<cpal::Stream, Failure> {
    fn build<T>(
        device: &Device,
        config: StreamConfig,
        mut processor: Processor,
        meters: Arc<Meters>,
        max_frames: usize,
    ) -> Result<cpal::Stream, cpal::Error>
    where
        T: SizedSample + Send + 'static,
        f32: FromSample<T>,
    {
        let ch = config.channels as usize;
        let mut scratch = vec![0.0f32; max_frames * ch];
        device.build_input_stream::<T, _, _>(
            config,
            move |data: &[T], _| {
                for part in data.chunks(scratch.len()) {
                    let n = part.len() - part.len() % ch;
                    for (s, &x) in scratch.iter_mut().zip(&part[..n]) {
                        *s = f32::from_sample_(x);
                    }
                    processor.capture(&scratch[..n], ch);
                }
            },
            error_callback(meters, Direction::Input),
            TIMEOUT,
        )
    }
    let c = chosen.config;
    let r = match chosen.format {
        SampleFormat::F32 => build::<f32>(device, c, processor, meters, max_frames),
        SampleFormat::I32 => build::<i32>(device, c, processor, meters, max_frames),
        SampleFormat::I16 => build::<i16>(device, c, processor, meters, max_frames),
        SampleFormat::F64 => build::<f64>(device, c, processor, meters, max_frames),
        SampleFormat::U16 => build::<u16>(device, c, processor, meters, max_frames),
        SampleFormat::I8 => build::<i8>(device, c, processor, meters, max_frames),
        _ => build::<u8>(device, c, processor, meters, max_frames),
    };
    r.map_err(|e| stream_error(e, Direction::Input, &label(device), chosen))
}

/// What drives a playback stream.
pub enum Playback {
    /// The engine itself (a file or silence as input); `audible` false plays silence.
    Engine {
        /// The engine on the audio thread (boxed: it is large, the monitor queue is not).
        processor: Box<Processor>,
        /// Whether the engine's output is heard.
        audible: bool,
    },
    /// The monitoring queue filled by a capture stream.
    Monitor(MonitorPlayer),
}

/// A playback stream whose callback runs `playback`.
pub fn build_playback(
    device: &Device,
    chosen: &Chosen,
    playback: Playback,
    meters: Arc<Meters>,
    max_frames: usize,
) -> Result<cpal::Stream, Failure> {
    fn build<T>(
        device: &Device,
        config: StreamConfig,
        mut playback: Playback,
        meters: Arc<Meters>,
        max_frames: usize,
    ) -> Result<cpal::Stream, cpal::Error>
    where
        T: SizedSample + FromSample<f32> + Send + 'static,
    {
        let ch = config.channels as usize;
        let mut scratch = vec![0.0f32; max_frames * ch];
        device.build_output_stream::<T, _, _>(
            config,
            move |data: &mut [T], _| {
                for part in data.chunks_mut(scratch.len()) {
                    let n = part.len() - part.len() % ch;
                    let s = &mut scratch[..n];
                    match &mut playback {
                        Playback::Engine { processor, audible } => {
                            processor.render(s, ch, *audible)
                        }
                        Playback::Monitor(m) => m.render(s, ch),
                    }
                    for (d, &x) in part.iter_mut().zip(s.iter()) {
                        *d = T::from_sample_(x);
                    }
                }
            },
            error_callback(meters, Direction::Output),
            TIMEOUT,
        )
    }
    let c = chosen.config;
    let r = match chosen.format {
        SampleFormat::F32 => build::<f32>(device, c, playback, meters, max_frames),
        SampleFormat::I32 => build::<i32>(device, c, playback, meters, max_frames),
        SampleFormat::I16 => build::<i16>(device, c, playback, meters, max_frames),
        SampleFormat::F64 => build::<f64>(device, c, playback, meters, max_frames),
        SampleFormat::U16 => build::<u16>(device, c, playback, meters, max_frames),
        SampleFormat::I8 => build::<i8>(device, c, playback, meters, max_frames),
        _ => build::<u8>(device, c, playback, meters, max_frames),
    };
    r.map_err(|e| stream_error(e, Direction::Output, &label(device), chosen))
}

/// Starts a built stream.
pub fn play(
    stream: &cpal::Stream,
    dir: Direction,
    device: &Device,
    chosen: &Chosen,
) -> Result<(), Failure> {
    use cpal::traits::StreamTrait;
    stream
        .play()
        .map_err(|e| stream_error(e, dir, &label(device), chosen))
}

/// Everything `cochlea devices` prints: each available host, its default devices, and each
/// device with the channels and rates it takes for capture and playback.
pub fn listing() -> String {
    alsa_log::install();
    let mut s = String::new();
    let hosts = cpal::available_hosts();
    if hosts.is_empty() {
        s.push_str("no audio host is available (the null backend still works: --backend null)\n");
        return s;
    }
    for id in hosts {
        let _ = writeln!(s, "host {}", id.name());
        let host = match cpal::host_from_id(id) {
            Ok(h) => h,
            Err(e) => {
                let _ = writeln!(s, "  not usable: {e}");
                continue;
            }
        };
        let default_in = host.default_input_device().map(|d| label(&d));
        let default_out = host.default_output_device().map(|d| label(&d));
        let _ = writeln!(
            s,
            "  default capture: {}\n  default playback: {}",
            default_in.as_deref().unwrap_or("none"),
            default_out.as_deref().unwrap_or("none")
        );
        let all = match host.devices() {
            Ok(d) => d.collect::<Vec<_>>(),
            Err(e) => {
                let _ = writeln!(s, "  cannot list devices: {e}");
                continue;
            }
        };
        if all.is_empty() {
            let _ = writeln!(s, "  no devices");
        }
        for d in all {
            let _ = writeln!(s, "  {}", label(&d));
            let inp = ranges(&d, Direction::Input);
            let out = ranges(&d, Direction::Output);
            if !inp.is_empty() {
                let def = d
                    .default_input_config()
                    .map(|c| format!(" (default {} ch, {} Hz)", c.channels(), c.sample_rate()))
                    .unwrap_or_default();
                let _ = writeln!(s, "    capture:  {}{def}", describe_ranges(&inp));
            }
            if !out.is_empty() {
                let def = d
                    .default_output_config()
                    .map(|c| format!(" (default {} ch, {} Hz)", c.channels(), c.sample_rate()))
                    .unwrap_or_default();
                let _ = writeln!(s, "    playback: {}{def}", describe_ranges(&out));
            }
            if inp.is_empty() && out.is_empty() {
                let _ = writeln!(s, "    (reports no configuration: busy or unusable)");
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(ch: u16, lo: u32, hi: u32) -> SupportedStreamConfigRange {
        SupportedStreamConfigRange::new(ch, lo, hi, SupportedBufferSize::Unknown, SampleFormat::F32)
    }

    #[test]
    fn supported_configurations_read_compactly() {
        let r = [
            range(1, 8_000, 48_000),
            range(2, 8_000, 48_000),
            range(6, 48_000, 48_000),
            range(4, 1, u32::MAX),
        ];
        assert_eq!(
            describe_ranges(&r),
            "1-2 ch at 8000-48000 Hz; 6 ch at 48000 Hz; 4 ch at 1 Hz and up"
        );
        assert_eq!(describe_ranges(&[]), "nothing");
    }

    #[test]
    fn stream_errors_name_the_device_what_was_asked_and_the_right_exit_code() {
        let chosen = Chosen {
            config: StreamConfig {
                channels: 2,
                sample_rate: 48_000,
                buffer_size: cpal::BufferSize::Fixed(256),
            },
            format: SampleFormat::I16,
        };
        let busy = stream_error(
            cpal::Error::new(ErrorKind::DeviceBusy),
            Direction::Input,
            "\"USB Mic\"",
            &chosen,
        );
        assert_eq!(busy.code, exit::INPUT);
        assert_eq!(
            busy.message,
            "capture device \"USB Mic\" is busy (another program is using it) (asked for 48000 Hz, \
             2 channels, I16, 256 frames per block)"
        );
        let gone = stream_error(
            cpal::Error::new(ErrorKind::DeviceNotAvailable),
            Direction::Output,
            "\"Speakers\"",
            &chosen,
        );
        assert_eq!(gone.code, exit::OUTPUT);
        assert!(
            gone.message.contains("is not available"),
            "{}",
            gone.message
        );
        let refused = stream_error(
            cpal::Error::new(ErrorKind::UnsupportedConfig),
            Direction::Output,
            "\"Speakers\"",
            &chosen,
        );
        assert_eq!(refused.code, exit::USAGE);
        assert!(refused
            .message
            .starts_with("playback device \"Speakers\" refuses 48000 Hz"));
    }
}
