//! The live host's audio-thread code never allocates: capture, playback and null-device paths,
//! with a file source and a monitoring queue, checked under `assert_no_alloc`.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use assert_no_alloc::{assert_no_alloc, reset_violation_count, violation_count, AllocDisabler};
use cochlea::audio::AudioReader;
use cochlea::live::meters::Meters;
use cochlea::live::processor::{Input, MonitorPlayer, Processor};
use cochlea::live::source;
use cochlea::settings::AnalysisSettings;
use cochlea_engine::{Engine, Event};

#[global_allocator]
static ALLOCATOR: AllocDisabler = AllocDisabler;

fn engine(channels: usize, max_block: usize) -> (Engine, cochlea_engine::EventReceiver) {
    let config = AnalysisSettings::default()
        .engine_config(44_100.0, channels, max_block)
        .unwrap();
    Engine::new(config).unwrap()
}

fn click_signal(frames: usize, channels: usize) -> Vec<f32> {
    let mut x = vec![0.0f32; frames * channels];
    for k in (0..frames).step_by(11_025) {
        for c in 0..channels {
            x[k * channels + c] = 0.9;
        }
    }
    x
}

#[test]
fn capture_with_monitoring_does_not_allocate() {
    let meters = Arc::new(Meters::default());
    let (engine, mut events) = engine(2, 512);
    let (producer, consumer) = rtrb::RingBuffer::new(8192);
    let mut processor =
        Processor::new(engine, Input::Capture, Some(producer), meters.clone(), None);
    let mut player = MonitorPlayer::new(consumer, 2, meters.clone());
    // A 4-channel device delivering odd-sized callbacks, longer than the engine's block.
    let data = click_signal(44_100, 4);
    let mut out = vec![0.0f32; 3 * 700];
    reset_violation_count();
    assert_no_alloc(|| {
        for chunk in data.chunks(4 * 700) {
            processor.capture(chunk, 4);
            player.render(&mut out[..chunk.len() / 4 * 3], 3);
        }
    });
    assert_eq!(violation_count(), 0);
    assert_eq!(meters.position.load(Ordering::Relaxed), 44_100);
    let onsets = |e: &Event| matches!(e, Event::Onset { .. });
    assert_eq!(
        events.drain().filter(onsets).count(),
        4,
        "a click every quarter second"
    );
    assert_eq!(Meters::get(&meters.overruns), 0);
}

#[test]
fn playing_a_file_and_the_null_device_do_not_allocate() {
    let dir = std::env::temp_dir().join(format!("cochlea-rt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("clicks.wav");
    let mono = click_signal(44_100, 1);
    cochlea::audio::write_wav(&path, 44_100, &[&mono]).unwrap();

    for null_device in [false, true] {
        let meters = Arc::new(Meters::default());
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let reader = AudioReader::open(&path).unwrap();
        let (src, error, thread) = source::spawn(reader, 1, 44_100, stop);
        thread.join().unwrap(); // the whole second fits in the ring: no underruns
        assert!(error.lock().unwrap().is_none());
        let (engine, mut events) = engine(1, 256);
        let mut processor = Processor::new(engine, Input::File(src), None, meters.clone(), None);
        let mut out = vec![0.0f32; 2 * 300];
        reset_violation_count();
        assert_no_alloc(|| {
            if null_device {
                while processor.tick(256) > 0 {}
            } else {
                while !meters.finished.load(Ordering::Relaxed) {
                    processor.render(&mut out, 2, true);
                }
            }
        });
        assert_eq!(violation_count(), 0);
        assert_eq!(meters.position.load(Ordering::Relaxed), 44_100);
        assert_eq!(Meters::get(&meters.underruns), 0);
        assert_eq!(
            events
                .drain()
                .filter(|e| matches!(e, Event::Onset { .. }))
                .count(),
            4
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_monitored_stem_is_what_plays_and_separation_does_not_allocate() {
    // Clicks are percussive: the percussive stem carries them to the monitor, the harmonic one
    // hardly; both meters see the separation.
    let data = click_signal(44_100, 2);
    let mut energy = vec![];
    for stem in [
        cochlea_engine::separation::Stem::Percussive,
        cochlea_engine::separation::Stem::Harmonic,
    ] {
        let meters = Arc::new(Meters::default());
        let mut config = AnalysisSettings::default()
            .engine_config(44_100.0, 2, 512)
            .unwrap();
        config.separation.enabled = true;
        let (engine, _events) = Engine::new(config).unwrap();
        let (producer, mut consumer) = rtrb::RingBuffer::new(2 * 44_100);
        let mut processor =
            Processor::new(engine, Input::Capture, Some(producer), meters.clone(), None)
                .hear(Some(stem));
        reset_violation_count();
        assert_no_alloc(|| {
            for chunk in data.chunks(2 * 300) {
                processor.capture(chunk, 2);
            }
        });
        assert_eq!(violation_count(), 0);
        let mut e = 0.0f64;
        while let Ok(x) = consumer.pop() {
            e += (x as f64) * (x as f64);
        }
        energy.push(e);
        let peaks: Vec<f32> = meters.stems.iter().map(|p| p.take()).collect();
        assert!(
            peaks[1] > 0.5 && peaks[0] < 0.1 * peaks[1],
            "stem peaks {peaks:?}"
        );
    }
    assert!(
        energy[0] > 10.0 * energy[1],
        "percussive {} vs harmonic {} on clicks",
        energy[0],
        energy[1]
    );
}
