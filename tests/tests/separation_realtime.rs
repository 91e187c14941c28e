//! The separation's real-time contract: identical audio and stems for any block segmentation,
//! and no allocation while processing (including gain changes).

use assert_no_alloc::{assert_no_alloc, reset_violation_count, violation_count, AllocDisabler};
use cochlea::audio::read_audio;
use cochlea_engine::separation::Stem;
use cochlea_tests::corpus::test_data;
use cochlea_tests::signals::{clicks, rng};
use cochlea_tests::stems::{run_stems, separating_engine};
use rand::Rng;

#[global_allocator]
static ALLOCATOR: AllocDisabler = AllocDisabler;

const SR: f64 = 44_100.0;

/// Three seconds of the quartet mix with clicks, in stereo.
fn music() -> [Vec<f32>; 2] {
    let audio = read_audio(&test_data().join("separation/hp005_quartet.mix.flac")).expect("data");
    let n = (3.0 * SR) as usize;
    let m = &audio.channels[0][..n];
    let c = clicks(SR, 3.0, &[0.7, 1.3, 2.1]);
    let left: Vec<f32> = m.iter().zip(&c).map(|(p, c)| p + 0.5 * c).collect();
    let right: Vec<f32> = m.iter().map(|p| 0.7 * p).collect();
    [left, right]
}

#[test]
fn any_block_segmentation_gives_identical_audio_and_stems() {
    let x = music();
    let mut r = rng(9);
    let random: Vec<usize> = (0..2000).map(|_| r.gen_range(1..=4096)).collect();
    let patterns: [&[usize]; 6] = [&[4096], &[1], &[7], &[64], &[480], &random];
    let mut e = separating_engine(SR, 2, 4096);
    let reference = run_stems(&mut e, &[&x[0], &x[1]], patterns[0]);
    assert!(reference
        .stem(Stem::Percussive, 0)
        .iter()
        .any(|&v| v != 0.0));
    for p in &patterns[1..] {
        let mut e = separating_engine(SR, 2, 4096);
        let run = run_stems(&mut e, &[&x[0], &x[1]], p);
        assert!(run == reference, "blocks {:?}...", &p[..p.len().min(3)]);
    }
}

#[test]
fn process_stems_and_gain_changes_never_allocate() {
    // The checker itself must catch an allocation, or the test below proves nothing.
    reset_violation_count();
    assert_no_alloc(|| {
        let v = vec![1u8; 16];
        std::hint::black_box(v);
    });
    assert!(
        violation_count() > 0,
        "the allocation checker is not active"
    );

    let x = music();
    let mut e = separating_engine(SR, 2, 512);
    let handle = e.handle();
    let mut storage = e.make_stem_outputs();
    let (mut l, mut r) = (vec![0.0f32; 512], vec![0.0f32; 512]);
    reset_violation_count();
    for (k, (a, b)) in x[0].chunks(512).zip(x[1].chunks(512)).enumerate() {
        let n = a.len();
        assert_no_alloc(|| {
            if k % 10 == 0 {
                let g = (k % 30) as f32 / 10.0;
                handle.set_stem_gain(Stem::Percussive, g).unwrap();
            }
            e.process_stems(&[a, b], &mut [&mut l[..n], &mut r[..n]], &mut storage)
                .unwrap();
            e.process(&[a, b], &mut [&mut l[..n], &mut r[..n]]).unwrap();
            if k == 100 {
                e.reset();
            }
        });
    }
    assert_eq!(violation_count(), 0);
}
