//! `cochlea analyze` streams: its peak memory depends on the number of files in flight (`--jobs`),
//! not on how many files the folder holds.

mod common;

use common::*;
use std::path::Path;

/// Runs `cochlea analyze DIR -o OUT --jobs 2` with every output and returns the child's peak
/// resident set in MB.
// The child is reaped by `wait4` below, which also reports its resident set; clippy does not
// see that as a wait.
#[allow(clippy::zombie_processes)]
fn peak_rss_mb(inputs: &Path, out: &Path) -> f64 {
    let child = command()
        .args(["analyze", s(inputs), "-o", s(out), "--jobs", "2"])
        .args([
            "--only",
            "onsets,pitch,notes,melody,stems",
            "--progress",
            "quiet",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run cochlea");
    let mut status = 0;
    // SAFETY: all-zero bytes are a valid `rusage` (plain integers and timevals).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `child.id()` is our own unreaped child; `status` and `usage` are valid and writable.
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as libc::pid_t, "wait4");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "cochlea analyze failed: status {status}"
    );
    // Linux reports `ru_maxrss` in kB.
    usage.ru_maxrss as f64 / 1024.0
}

#[test]
fn peak_memory_of_a_folder_does_not_grow_with_the_number_of_files() {
    let dir = temp_dir("memory");
    let sources = [
        corpus("melody/ma000_flute_piano.mix.flac"),
        corpus("onsets/o007_guitar_drums.flac"),
        corpus("pitch/p000_piano.flac"),
    ];
    let folder = |name: &str, files: usize| {
        let d = dir.join(name);
        std::fs::create_dir_all(&d).unwrap();
        for i in 0..files {
            std::fs::copy(&sources[i % sources.len()], d.join(format!("f{i:02}.flac"))).unwrap();
        }
        d
    };
    let small = folder("small", 2);
    let large = folder("large", 12);
    let small_mb = peak_rss_mb(&small, &dir.join("out-small"));
    let large_mb = peak_rss_mb(&large, &dir.join("out-large"));
    eprintln!("peak RSS: 2 files {small_mb:.1} MB, 12 files {large_mb:.1} MB");
    assert_eq!(
        std::fs::read_dir(dir.join("out-large")).unwrap().count(),
        12,
        "one output folder per input"
    );
    // Six times the files: the same peak, within allocator noise.
    assert!(
        large_mb < small_mb * 1.15 + 4.0,
        "peak RSS grew from {small_mb:.1} MB (2 files) to {large_mb:.1} MB (12 files)"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
