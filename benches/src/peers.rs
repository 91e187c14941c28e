//! The peers. aubio's command-line tools come from the system (Debian: `aubio-tools`); the
//! Python peers (librosa, mir_eval) run in their own virtual environment, `target/peers-venv`,
//! built on first use from `benches/scripts/requirements-peers.txt` so that the versions are
//! pinned and the system's Python is left alone.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Whether the aubio tool `program` (`aubioonset`, `aubiopitch`, `aubionotes`) is installed;
/// if not, says so on stderr, with how to install it.
pub fn aubio(program: &str) -> bool {
    let found = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|d| d.join(program).is_file()));
    if !found {
        eprintln!("{program}: not installed (Debian: apt-get install aubio-tools); skipped");
    }
    found
}

/// Where the peers' results are cached: `target/score-cache/`.
pub fn cache_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/score-cache")
}

/// A key for the content of the file at `path`: FNV-1a over its bytes, in hex. Cached results
/// carry the key of the audio they were computed from, so that another folder holding files of
/// the same names (a resampled or noisy copy of the corpus) is not answered from the cache.
pub fn content_key(path: &Path) -> Result<String, String> {
    use std::hash::Hasher;
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut h = fnv::FnvHasher::default();
    h.write(&bytes);
    Ok(format!("{:016x}", h.finish()))
}

/// The folder of helper scripts.
pub fn scripts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts")
}

fn venv() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/peers-venv")
}

/// The Python interpreter of the peers' environment, creating it if needed (a minute or two the
/// first time). `None`, with the reason printed, if Python 3 or the packages cannot be had.
pub fn python() -> Option<PathBuf> {
    let dir = venv();
    let py = dir.join("bin/python");
    let stamp = dir.join("requirements.installed");
    let wanted = std::fs::read_to_string(scripts().join("requirements-peers.txt")).ok()?;
    if py.is_file() && std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) {
        return Some(py);
    }
    eprintln!(
        "setting up the Python peers in {} (pinned librosa, numpy, mir_eval) ...",
        dir.display()
    );
    let ok = Command::new("python3")
        .arg("-m")
        .arg("venv")
        .arg(&dir)
        .status()
        .is_ok_and(|s| s.success())
        && Command::new(&py)
            .args(["-m", "pip", "install", "-q", "-r"])
            .arg(scripts().join("requirements-peers.txt"))
            .status()
            .is_ok_and(|s| s.success());
    if !ok {
        eprintln!(
            "could not set up the Python peers (python3 -m venv, pip install); they are skipped"
        );
        return None;
    }
    let _ = std::fs::write(&stamp, wanted);
    Some(py)
}
