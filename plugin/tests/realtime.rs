//! The plugin's signal path under the real-time contract, without a host: no allocation in
//! `process` (parameter changes, latency changes, bypass, reset included), hostile input gives
//! finite output, reset equals fresh, and any host block segmentation gives the same audio and
//! the same notes.

mod common;

use assert_no_alloc::{assert_no_alloc, reset_violation_count, violation_count, AllocDisabler};
use cochlea_engine::OnsetMethod;
use cochlea_plugin::params::Settings;
use cochlea_plugin::processor::Processor;
use cochlea_plugin::scheduler::{NoteMessage, NoteScheduler};
use rand::{Rng, SeedableRng};

#[global_allocator]
static ALLOCATOR: AllocDisabler = AllocDisabler;

const SR: f64 = 44_100.0;

/// Runs `input` through a processor in blocks cycling through `blocks`; returns the output and
/// every note with its absolute position.
/// A note as the host places it: absolute position, on, channel, key, velocity.
type Placed = (u64, bool, u8, u8, f32);

/// Main output, then the five stems, each as channels.
type Audio = (Vec<Vec<f32>>, Vec<Vec<Vec<f32>>>);

fn run(input: &[Vec<f32>], max_block: usize, blocks: &[usize]) -> (Audio, Vec<Placed>) {
    run_without(input, max_block, blocks, &[])
}

/// As [`run`], with the stem ports in `absent` given empty channels, as a host gives a bus it
/// left inactive (their rows in the result stay zero).
fn run_without(
    input: &[Vec<f32>],
    max_block: usize,
    blocks: &[usize],
    absent: &[usize],
) -> (Audio, Vec<Placed>) {
    let settings = Settings::default();
    let mut p = Processor::new(SR, input.len(), max_block, &settings).unwrap();
    let mut notes = NoteScheduler::new(512);
    let mut output: Vec<Vec<f32>> = input.to_vec();
    let len = input[0].len();
    let mut stems = vec![vec![vec![0.0f32; len]; input.len()]; 5];
    let mut sent = Vec::new();
    let (mut pos, mut i) = (0, 0);
    while pos < len {
        let n = blocks[i % blocks.len()].min(len - pos);
        let mut chans: Vec<&mut [f32]> = output.iter_mut().map(|c| &mut c[pos..pos + n]).collect();
        let mut ports: Vec<Vec<&mut [f32]>> = stems
            .iter_mut()
            .enumerate()
            .map(|(k, s)| {
                let range = if absent.contains(&k) {
                    0..0
                } else {
                    pos..pos + n
                };
                s.iter_mut().map(|c| &mut c[range.clone()]).collect()
            })
            .collect();
        let mut ports: Vec<&mut [&mut [f32]]> = ports.iter_mut().map(|p| &mut p[..]).collect();
        p.process(
            &mut chans,
            &mut ports,
            &settings,
            false,
            &mut notes,
            |m: NoteMessage| {
                sent.push((
                    pos as u64 + m.timing as u64,
                    m.on,
                    m.channel,
                    m.key,
                    m.velocity,
                ))
            },
        );
        pos += n;
        i += 1;
    }
    ((output, stems), sent)
}

/// Stem ports without buffers (VST3 buses the host left inactive) are skipped: the mix, the
/// other stems and the notes are those of a run with every port; so with none of them.
#[test]
fn stem_ports_without_buffers_are_skipped() {
    let piece = common::piece(3.0);
    let input = common::channels_of(&piece.samples, 2);
    let ((output, stems), notes) = run(&input, 512, &[512]);
    let ((o, s), n) = run_without(&input, 512, &[512, 77], &[1, 3]);
    assert!(o == output, "the mix changed");
    assert_eq!(n, notes);
    for k in [0, 2, 4] {
        assert!(s[k] == stems[k], "stem {k} changed");
    }
    for k in [1, 3] {
        assert!(s[k].iter().flatten().all(|&x| x == 0.0), "stem {k} written");
        assert!(stems[k].iter().flatten().any(|&x| x != 0.0));
    }
    // With no stem port at all the engine resynthesises only the mix: the same mix.
    let ((o, s), n) = run_without(&input, 512, &[512, 77], &[0, 1, 2, 3, 4]);
    assert!(o == output, "the mix changed without stem ports");
    assert_eq!(n, notes);
    assert!(s.iter().flatten().flatten().all(|&x| x == 0.0));
}

#[test]
fn any_block_segmentation_gives_the_same_audio_and_notes() {
    let piece = common::piece(6.0);
    let input = common::channels_of(&piece.samples, 2);
    let mut r = rand::rngs::StdRng::seed_from_u64(7);
    let random: Vec<usize> = (0..2000).map(|_| r.gen_range(1..=2048)).collect();
    let (audio, notes) = run(&input, 2048, &[2048]);
    assert!(notes.len() > 20);
    for blocks in [&[1usize][..], &[64], &[441], &random] {
        let (a, n) = run(&input, 2048, blocks);
        assert!(
            a == audio,
            "audio differs with blocks {:?}",
            &blocks[..blocks.len().min(3)]
        );
        assert_eq!(
            n,
            notes,
            "notes differ with blocks {:?}",
            &blocks[..blocks.len().min(3)]
        );
    }
    // Host blocks longer than the maximum announced are split, not refused.
    let (a, n) = run(&input, 100, &[1000]);
    assert!(a == audio);
    assert_eq!(n, notes);
}

#[test]
fn process_never_allocates_through_changes_bypass_latency_and_reset() {
    let piece = common::piece(4.0);
    let input = common::channels_of(&piece.samples, 2);
    let mut settings = Settings::default();
    let mut p = Processor::new(48_000.0, 2, 1024, &settings).unwrap();
    let mut notes = NoteScheduler::new(512);
    let mut buf = vec![vec![0.0f32; 1024]; 2];
    let mut stems = vec![vec![vec![0.0f32; 1024]; 2]; 5];
    let mut count = 0usize;
    let mut latency_changes = 0;
    reset_violation_count();
    let mut r = rand::rngs::StdRng::seed_from_u64(7);
    let mut pos = 0;
    for block in 0..400 {
        let n = r.gen_range(1..=1024).min(input[0].len() - pos);
        if n == 0 {
            pos = 0;
            continue;
        }
        for (b, x) in buf.iter_mut().zip(&input) {
            b[..n].copy_from_slice(&x[pos..pos + n]);
        }
        settings.method = OnsetMethod::ALL[block / 40 % 5];
        settings.sensitivity = (block % 10) as f32 / 10.0;
        settings.lookahead_frames = (block / 100) as u32;
        // Pitch notes on, then off from block 200: their delay sets the latency while they are
        // on, the onsets' look-ahead afterwards.
        settings.notes = block < 200;
        settings.stability_cents = 30.0 + (block % 5) as f32 * 10.0;
        settings.voicing_threshold = 0.3 + (block % 4) as f32 * 0.1;
        settings.trigger_key = Some(30 + (block % 7) as u8);
        // Stem gains and solos change too (every block: automation).
        settings.stem_gains = [
            (block % 3) as f32,
            1.0,
            0.5,
            (block % 2) as f32,
            1.0 - (block % 2) as f32,
        ];
        let bypass = block % 50 > 40;
        let (left, right) = buf.split_at_mut(1);
        let mut ports: Vec<Vec<&mut [f32]>> = stems
            .iter_mut()
            .map(|s| s.iter_mut().map(|c| &mut c[..n]).collect())
            .collect();
        let mut ports: Vec<&mut [&mut [f32]]> = ports.iter_mut().map(|p| &mut p[..]).collect();
        assert_no_alloc(|| {
            let report = p.process(
                &mut [&mut left[0][..n], &mut right[0][..n]],
                &mut ports,
                &settings,
                bypass,
                &mut notes,
                |_| count += 1,
            );
            if report.latency_changed.is_some() {
                latency_changes += 1;
            }
            if block == 333 {
                p.reset();
                notes.release_all(0, |_| count += 1);
            }
        });
        pos += n;
    }
    assert_eq!(violation_count(), 0, "allocations on the audio thread");
    assert!(stems.iter().flatten().flatten().all(|x| x.is_finite()));
    eprintln!("notes sent: {count}");
    assert!(count > 5, "notes were sent ({count})");
    // Block 200 (notes off, look-ahead 2) and block 300 (look-ahead 3); the look-ahead change
    // at block 100 stays under the notes' delay.
    assert_eq!(latency_changes, 2);
}

#[test]
fn hostile_input_gives_finite_output() {
    let settings = Settings::default();
    let mut p = Processor::new(SR, 2, 512, &settings).unwrap();
    let mut notes = NoteScheduler::new(64);
    let mut r = rand::rngs::StdRng::seed_from_u64(7);
    let specials = [
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        1e-40,
        -1e-40,
        f32::MAX,
        1.0,
        -1.0,
    ];
    for block in 0..200 {
        let mut a: Vec<f32> = (0..512)
            .map(|i| match block % 4 {
                0 => specials[i % specials.len()],
                1 => r.gen_range(-1.0..=1.0),
                2 => 0.0,
                _ => 1.0, // DC
            })
            .collect();
        let mut b = a.clone();
        p.process(
            &mut [&mut a, &mut b],
            &mut [],
            &settings,
            false,
            &mut notes,
            |m| {
                assert!(m.velocity.is_finite());
            },
        );
        assert!(a.iter().chain(&b).all(|x| x.is_finite()), "block {block}");
    }
}

#[test]
fn reset_equals_fresh() {
    let piece = common::piece(3.0);
    let input = common::channels_of(&piece.samples, 1);
    let settings = Settings::default();
    let go = |p: &mut Processor, notes: &mut NoteScheduler| {
        let mut out = input[0].clone();
        let mut sent = Vec::new();
        for (i, chunk) in out.chunks_mut(300).enumerate() {
            p.process(&mut [chunk], &mut [], &settings, false, notes, |m| {
                sent.push((i, m))
            });
        }
        (out, sent)
    };
    let mut fresh = Processor::new(SR, 1, 300, &settings).unwrap();
    let want = go(&mut fresh, &mut NoteScheduler::new(64));
    let mut used = Processor::new(SR, 1, 300, &settings).unwrap();
    let mut notes = NoteScheduler::new(64);
    go(&mut used, &mut notes);
    used.reset();
    notes.release_all(0, |_| {});
    assert!(go(&mut used, &mut notes) == want);
}
