//! The dev corpus layout (see `../shared/dev-corpus/README.md`) and its in-repo subset
//! (`tests/data/`): `NAME.flac` next to `NAME.onsets.txt` (onsets), `NAME.f0.csv` (pitch), or
//! `NAME.mix.flac` with its stems (separation).

use std::path::{Path, PathBuf};

/// The in-repo test data folder.
pub fn test_data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data")
}

/// The full dev corpus, if present next to the checkout (`../shared/dev-corpus`), or where
/// `COCHLEA_CORPUS` points.
pub fn dev_corpus() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("COCHLEA_CORPUS") {
        return Some(PathBuf::from(p));
    }
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/dev-corpus");
    p.is_dir().then(|| p.canonicalize().unwrap_or(p))
}

/// One audio file with its ground truth.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// File stem, e.g. `o000_piano`.
    pub name: String,
    /// The audio.
    pub audio: PathBuf,
    /// The ground-truth file.
    pub truth: PathBuf,
}

/// Every `NAME.flac` in `dir` that has a `NAME<suffix>` next to it, sorted by name.
pub fn items(dir: &Path, suffix: &str) -> Vec<Item> {
    let mut out: Vec<Item> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| {
                    let path = e.path();
                    let file = path.file_name()?.to_str()?.to_owned();
                    let name = file.strip_suffix(".flac")?.to_owned();
                    let truth = dir.join(format!("{name}{suffix}"));
                    truth.is_file().then_some(Item {
                        name,
                        audio: path,
                        truth,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// Reads one number per line (onset times in seconds), skipping blank lines.
pub fn read_onsets(path: &Path) -> std::io::Result<Vec<f64>> {
    let text = std::fs::read_to_string(path)?;
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| {
            l.split(|c: char| c == ',' || c.is_whitespace())
                .next()
                .unwrap_or("")
                .parse::<f64>()
                .map_err(|e| {
                    std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{l:?}: {e}"))
                })
        })
        .collect()
}

/// Reads a `time_s,freq_hz` CSV (header optional) into two columns.
pub fn read_f0(path: &Path) -> std::io::Result<(Vec<f64>, Vec<f64>)> {
    let text = std::fs::read_to_string(path)?;
    let mut t = Vec::new();
    let mut f = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let mut parts = line.split(',');
        let (Some(a), Some(b)) = (parts.next(), parts.next()) else {
            continue;
        };
        let (Ok(a), Ok(b)) = (a.trim().parse::<f64>(), b.trim().parse::<f64>()) else {
            continue;
        };
        t.push(a);
        f.push(b);
    }
    Ok((t, f))
}
