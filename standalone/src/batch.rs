//! `cochlea analyze PATH...`: files and folders (recursive), analysed in parallel, each input's
//! outputs in a folder of its own under `-o DIR` mirroring the input tree, progress while it
//! runs, and a closing summary that says how many failed and why.
//!
//! Layout: a file argument `x/song.flac` gets `DIR/song/`; a folder argument `music/` gets
//! `DIR/<path below music/ without extension>/` for each audio file in it. When two inputs would
//! share a folder (`song.wav` and `song.flac` side by side), both keep their extension
//! (`DIR/song.wav/`, `DIR/song.flac/`).

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use clap::{Args, ValueEnum};
use rayon::prelude::*;

use crate::analyze::{analyze_file, FileJob, FileResult, FILE_BLOCK};
use crate::exit::{self, Failure};
use crate::output::{Destination, OutputKind, OutputPaths};
use crate::progress::{hms, Mode, Progress};
use crate::settings::AnalysisSettings;

/// File extensions looked for inside folders (any file named explicitly is tried).
pub const AUDIO_EXTENSIONS: &[&str] = &["wav", "wave", "flac", "mp3", "ogg", "oga"];

/// Options of `cochlea analyze`.
#[derive(Args, Clone, Debug)]
pub struct AnalyzeArgs {
    /// Audio files (WAV, FLAC, MP3, Ogg Vorbis; any rate and channel count) or folders, searched
    /// recursively for .wav .flac .mp3 .ogg files.
    #[arg(required = true, value_name = "PATH")]
    pub inputs: Vec<PathBuf>,
    /// Output folder. Each input gets a folder of its own here, mirroring the input tree, with
    /// every output and a summary.json.
    #[arg(short, long, value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// Write only these outputs (default: all of them, or only those given a path below).
    #[arg(long, value_enum, value_delimiter = ',', value_name = "KIND,...")]
    pub only: Vec<OutputKind>,
    /// Overwrite existing outputs.
    #[arg(long, conflicts_with = "skip_existing")]
    pub force: bool,
    /// Skip inputs that already have any of their outputs (to resume an interrupted run).
    #[arg(long)]
    pub skip_existing: bool,
    /// Files analysed in parallel [default: one per core].
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Frames per engine block (results do not depend on it).
    #[arg(long, default_value_t = FILE_BLOCK, value_name = "FRAMES")]
    pub block: usize,
    /// How to show progress.
    #[arg(long, value_enum, default_value = "auto")]
    pub progress: ProgressArg,
    /// Outputs to paths of their own.
    #[command(flatten)]
    pub paths: OutputPaths,
    /// Analysis settings.
    #[command(flatten)]
    pub settings: AnalysisSettings,
}

/// `--progress`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ProgressArg {
    /// A bar on a terminal, plain lines otherwise.
    Auto,
    /// Always a bar.
    Bar,
    /// One line per file.
    Lines,
    /// Only failures and the closing summary.
    Quiet,
}

/// One input of a run, with where its outputs go.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    /// The input file.
    pub input: PathBuf,
    /// Where its outputs go.
    pub destination: Destination,
    /// A failure found while planning (a folder that cannot be listed).
    pub error: Option<Failure>,
}

/// The inputs of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Every input, in a stable order.
    pub items: Vec<Planned>,
    /// Files skipped inside folders because their extension is not an audio one.
    pub ignored: usize,
}

/// An input file and where its output folder goes, relative to `-o`.
struct Found {
    path: PathBuf,
    /// The file's path relative to its folder argument (just its name for a file argument).
    rel: PathBuf,
    /// `rel` without the extension: the output folder, unless another input shares it.
    stem: PathBuf,
}

fn is_audio(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| AUDIO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

fn without_extension(rel: &Path) -> PathBuf {
    match rel.file_stem() {
        Some(stem) => rel.with_file_name(stem),
        None => rel.to_path_buf(),
    }
}

/// An input that failed while planning.
fn failed(path: &Path, failure: Failure) -> Planned {
    Planned {
        input: path.to_path_buf(),
        destination: Destination {
            outputs: Vec::new(),
            summary: None,
        },
        error: Some(failure),
    }
}

/// Lists the audio files under `dir`, sorted, recursively (hidden entries and symbolic links to
/// folders are not followed; `exclude` is skipped).
fn walk(
    dir: &Path,
    root: &Path,
    exclude: Option<&Path>,
    found: &mut Vec<Found>,
    errors: &mut Vec<Planned>,
    ignored: &mut usize,
) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            let f = Failure::input(format!("{}: cannot list folder: {e}", dir.display()));
            errors.push(failed(dir, f));
            return;
        }
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        if p.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        {
            continue;
        }
        let Ok(link_meta) = p.symlink_metadata() else {
            continue;
        };
        if link_meta.is_dir() {
            if exclude.is_some_and(|x| p.canonicalize().is_ok_and(|c| c == x)) {
                continue;
            }
            walk(&p, root, exclude, found, errors, ignored);
        } else if p.is_file() {
            if is_audio(&p) {
                let rel = p.strip_prefix(root).unwrap_or(&p).to_path_buf();
                found.push(Found {
                    stem: without_extension(&rel),
                    rel,
                    path: p,
                });
            } else {
                *ignored += 1;
            }
        }
    }
}

/// Which outputs a run writes.
pub fn selected_kinds(only: &[OutputKind], paths: &OutputPaths) -> Vec<OutputKind> {
    if !only.is_empty() {
        let mut k = only.to_vec();
        k.sort();
        k.dedup();
        k
    } else if paths.any() {
        OutputKind::ALL
            .iter()
            .copied()
            .filter(|&k| paths.get(k).is_some())
            .collect()
    } else {
        OutputKind::ALL
            .iter()
            .copied()
            .filter(|k| k.is_default())
            .collect()
    }
}

/// Checks the options and lists the inputs with their destinations. Usage errors (impossible
/// settings, nowhere to write, ambiguous layout) stop the run here, before any input is read.
pub fn plan(args: &AnalyzeArgs) -> Result<Plan, Failure> {
    args.settings.check(args.block)?;
    if args.jobs == Some(0) {
        return Err(Failure::usage("--jobs must be at least 1"));
    }
    let kinds = selected_kinds(&args.only, &args.paths);
    if args.paths.any() && (args.inputs.len() != 1 || args.inputs[0].is_dir()) {
        return Err(Failure::usage(
            "a path given to --onsets or --summary names one file, so it needs exactly one \
             input file; for several inputs or a folder use -o DIR",
        ));
    }
    if args.output.is_none() {
        if !args.paths.any() {
            return Err(Failure::usage(
                "say where the outputs go: -o DIR (every output, one folder per input) or \
                 --onsets FILE (one input)",
            ));
        }
        if let Some(k) = kinds.iter().find(|&&k| args.paths.get(k).is_none()) {
            return Err(Failure::usage(format!(
                "--only asks for {0} but gives it no place: add -o DIR or --{0} PATH",
                k.name()
            )));
        }
    }
    if let Some(o) = &args.output {
        if o.exists() && !o.is_dir() {
            return Err(Failure::output(format!(
                "{}: exists and is not a folder; -o names the folder for the outputs",
                o.display()
            )));
        }
    }
    let exclude = args.output.as_ref().and_then(|o| o.canonicalize().ok());

    let mut found = Vec::new();
    let mut errors = Vec::new();
    let mut ignored = 0;
    for input in &args.inputs {
        if input.is_dir() {
            let (before, errors_before) = (found.len(), errors.len());
            walk(
                input,
                input,
                exclude.as_deref(),
                &mut found,
                &mut errors,
                &mut ignored,
            );
            if found.len() == before && errors.len() == errors_before {
                errors.push(failed(
                    input,
                    Failure::input(format!(
                        "{}: no audio files in this folder (looked for .{})",
                        input.display(),
                        AUDIO_EXTENSIONS.join(" .")
                    )),
                ));
            }
        } else {
            // Missing or unreadable files are kept: they fail when opened, with the reason.
            let name = input.file_name().map(PathBuf::from).unwrap_or_default();
            found.push(Found {
                stem: without_extension(&name),
                rel: name,
                path: input.clone(),
            });
        }
    }

    // The same file named twice is analysed once.
    let mut seen = HashSet::new();
    found.retain(|f| seen.insert(f.path.canonicalize().unwrap_or_else(|_| f.path.clone())));

    // Inputs that would share a folder keep their extension.
    let mut by_stem: BTreeMap<&Path, usize> = BTreeMap::new();
    for f in &found {
        *by_stem.entry(f.stem.as_path()).or_default() += 1;
    }
    let folders: Vec<PathBuf> = found
        .iter()
        .map(|f| {
            if by_stem[f.stem.as_path()] > 1 {
                f.rel.clone()
            } else {
                f.stem.clone()
            }
        })
        .collect();
    let mut owner: BTreeMap<&Path, &Path> = BTreeMap::new();
    for (f, folder) in found.iter().zip(&folders) {
        if let Some(other) = owner.insert(folder, &f.path) {
            return Err(Failure::usage(format!(
                "{} and {} would write to the same output folder ({}); analyse them in \
                 separate runs or with different -o folders",
                other.display(),
                f.path.display(),
                folder.display()
            )));
        }
    }

    let mut items: Vec<Planned> = found
        .iter()
        .zip(&folders)
        .map(|(f, folder)| {
            let dir = args.output.as_ref().map(|o| o.join(folder));
            Planned {
                input: f.path.clone(),
                destination: Destination::new(&kinds, dir.as_deref(), &args.paths),
                error: None,
            }
        })
        .collect();
    items.extend(errors);
    Ok(Plan { items, ignored })
}

/// Runs `cochlea analyze`. Per-input failures do not stop the others; the returned failure (if
/// any) carries the most serious exit code and says how many failed.
pub fn run(args: &AnalyzeArgs) -> Result<(), Failure> {
    let plan = plan(args)?;
    let mode = match args.progress {
        ProgressArg::Auto => Mode::detect(),
        ProgressArg::Bar => Mode::Bar,
        ProgressArg::Lines => Mode::Lines,
        ProgressArg::Quiet => Mode::Quiet,
    };
    let total = plan.items.len();
    let single = total == 1;
    if !args.force && !args.skip_existing {
        // No overwriting: say so before any work, once, rather than once per input.
        let taken: Vec<&Planned> = plan
            .items
            .iter()
            .filter(|i| !i.destination.existing().is_empty())
            .collect();
        if let Some(first) = taken.first() {
            let file = &first.destination.existing()[0];
            return Err(Failure::output(if taken.len() == 1 {
                format!(
                    "{} already exists (from {}); nothing was analysed: use --force to \
                     overwrite, or --skip-existing to skip inputs that have outputs",
                    file.display(),
                    first.input.display()
                )
            } else {
                format!(
                    "{} of {total} inputs already have outputs (the first: {}); nothing was \
                     analysed: use --force to overwrite, or --skip-existing to skip them",
                    taken.len(),
                    file.display()
                )
            }));
        }
    }
    let progress = Progress::new(total, if single { Mode::Quiet } else { mode });

    let cancel = Arc::new(AtomicBool::new(false));
    {
        let cancel = cancel.clone();
        // Only one handler per process; if one is set already, Ctrl-C keeps its default.
        let _ = ctrlc::set_handler(move || cancel.store(true, Ordering::Relaxed));
    }

    let failures: Mutex<Vec<(usize, Failure)>> = Mutex::new(Vec::new());
    let succeeded = AtomicUsize::new(0);
    let skipped = AtomicUsize::new(0);
    let not_started = AtomicUsize::new(0);
    let work = |(i, item): (usize, &Planned)| {
        if cancel.load(Ordering::Relaxed) {
            not_started.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let outcome = process(args, item, &progress, &cancel);
        match outcome {
            Ok(Some(r)) => {
                succeeded.fetch_add(1, Ordering::Relaxed);
                let line = done_line(&item.input, &item.destination, &r);
                if single && mode != Mode::Quiet {
                    eprintln!("{line}");
                }
                progress.file_done(&line);
            }
            Ok(None) => {
                skipped.fetch_add(1, Ordering::Relaxed);
                progress.file_done(&format!(
                    "{}: skipped (outputs exist)",
                    item.input.display()
                ));
            }
            Err(f) => {
                if !single {
                    progress.file_failed(&f.message);
                }
                failures.lock().unwrap().push((i, f));
            }
        }
    };
    let jobs = args.jobs.unwrap_or(0); // 0: rayon's default, one thread per core
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .map_err(|e| Failure::internal(format!("cannot start worker threads: {e}")))?;
    pool.install(|| plan.items.par_iter().enumerate().for_each(work));
    progress.finish();

    let mut failures = failures.into_inner().unwrap();
    failures.sort_by_key(|(i, _)| *i);
    let ok = succeeded.into_inner();
    let skipped = skipped.into_inner();
    let not_started = not_started.into_inner();
    if single {
        return match failures.pop() {
            Some((_, f)) => Err(f),
            None => Ok(()),
        };
    }

    let wall = progress.elapsed().as_secs_f64();
    let audio = progress.audio_done();
    let mut closing = format!(
        "analysed {ok} of {total} files: {} of audio in {} ({:.0}x real time)",
        hms(audio),
        hms(wall),
        audio / wall.max(1e-6)
    );
    if let Some(o) = &args.output {
        closing.push_str(&format!("; outputs in {}", o.display()));
    }
    if skipped > 0 {
        closing.push_str(&format!("; {skipped} skipped (outputs exist)"));
    }
    if plan.ignored > 0 {
        closing.push_str(&format!("; {} non-audio files ignored", plan.ignored));
    }
    eprintln!("{closing}");
    if failures.is_empty() && not_started == 0 {
        return Ok(());
    }
    const LISTED: usize = 20;
    let real: Vec<&(usize, Failure)> = failures
        .iter()
        .filter(|(_, f)| f.code != exit::INTERRUPTED)
        .collect();
    if !real.is_empty() {
        eprintln!("{} failed:", real.len());
        for (_, f) in real.iter().take(LISTED) {
            eprintln!("  {}", f.message);
        }
        if real.len() > LISTED {
            eprintln!("  ... and {} more", real.len() - LISTED);
        }
    }
    let mut reasons: BTreeMap<i32, usize> = BTreeMap::new();
    for (_, f) in &real {
        *reasons.entry(f.code).or_default() += 1;
    }
    let why: Vec<String> = reasons
        .iter()
        .map(|(code, n)| format!("{n} {} (exit {code})", exit::describe(*code)))
        .collect();
    if cancel.load(Ordering::Relaxed) {
        let unfinished = failures.len() - real.len() + not_started;
        let mut message = format!(
            "interrupted: {ok} of {total} files done, {unfinished} not analysed (no output left for them)"
        );
        if !why.is_empty() {
            message.push_str(&format!("; {} failed: {}", real.len(), why.join(", ")));
        }
        return Err(Failure::new(exit::INTERRUPTED, message));
    }
    Err(Failure::new(
        exit::most_serious(real.iter().map(|(_, f)| f.code)),
        format!("{} of {total} files failed: {}", real.len(), why.join(", ")),
    ))
}

/// One input: `Ok(None)` when skipped because its outputs exist.
fn process(
    args: &AnalyzeArgs,
    item: &Planned,
    progress: &Progress,
    cancel: &AtomicBool,
) -> Result<Option<FileResult>, Failure> {
    if let Some(f) = &item.error {
        return Err(f.clone());
    }
    if !args.force {
        let existing = item.destination.existing();
        if let Some(first) = existing.first() {
            if args.skip_existing {
                return Ok(None);
            }
            return Err(Failure::output(format!(
                "{}: {} already exists (use --force to overwrite, or --skip-existing)",
                item.input.display(),
                first.display()
            )));
        }
    }
    let job = FileJob {
        input: &item.input,
        destination: &item.destination,
        settings: &args.settings,
        block: args.block,
        force: args.force,
    };
    analyze_file(&job, &|s| progress.audio(s), cancel).map(Some)
}

fn done_line(input: &Path, destination: &Destination, r: &FileResult) -> String {
    let mut line = format!(
        "{}: {} at {} Hz",
        input.display(),
        hms(r.duration_s()),
        r.sample_rate
    );
    // Counts of what was analysed: a file asked only for its pitch has no onsets to report.
    let selected = |kind| destination.outputs.iter().any(|(k, _)| *k == kind);
    if selected(OutputKind::Onsets) {
        line.push_str(&format!(", {} onsets", r.counts.get("onset")));
    }
    if selected(OutputKind::Notes) {
        line.push_str(&format!(", {} notes", r.counts.get("note_on")));
    }
    line.push_str(&format!(
        ", {:.0}x real time",
        r.duration_s() / r.wall.as_secs_f64().max(1e-6)
    ));
    let written: Vec<String> = r.written.iter().map(|p| p.display().to_string()).collect();
    match destination.summary.as_deref().and_then(Path::parent) {
        // Folder mode: the folder says it all.
        Some(dir) if r.written.iter().all(|p| p.parent() == Some(dir)) => {
            line.push_str(&format!(" -> {}", dir.display()))
        }
        _ => line.push_str(&format!(" -> {}", written.join(", "))),
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: AnalyzeArgs,
    }

    fn args(a: &[&str]) -> AnalyzeArgs {
        Cli::try_parse_from(std::iter::once("x").chain(a.iter().copied()))
            .unwrap()
            .args
    }

    fn tree(name: &str, files: &[&str]) -> PathBuf {
        let root = std::env::temp_dir().join(format!("cochlea-plan-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        for f in files {
            let p = root.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, b"x").unwrap();
        }
        root
    }

    #[test]
    fn folders_mirror_the_input_tree_and_ignore_other_files() {
        let root = tree(
            "mirror",
            &[
                "a/one.wav",
                "a/b/two.FLAC",
                "three.mp3",
                "notes.txt",
                ".hidden.wav",
            ],
        );
        let out = root.join("out");
        let p = plan(&args(&[
            root.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ]))
        .unwrap();
        let dirs: Vec<PathBuf> = p
            .items
            .iter()
            .map(|i| i.destination.summary.clone().unwrap())
            .collect();
        assert_eq!(
            dirs,
            vec![
                out.join("a/b/two/summary.json"),
                out.join("a/one/summary.json"),
                out.join("three/summary.json"),
            ]
        );
        assert_eq!(
            p.items[1].destination.outputs,
            vec![
                (OutputKind::Onsets, out.join("a/one/onsets.txt")),
                (OutputKind::Pitch, out.join("a/one/pitch.csv")),
                (OutputKind::Notes, out.join("a/one/notes.mid")),
            ]
        );
        assert_eq!(p.ignored, 1);
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn inputs_sharing_a_name_keep_their_extension() {
        let root = tree("clash", &["song.wav", "song.flac", "other.ogg"]);
        let p = plan(&args(&[root.to_str().unwrap(), "-o", "/tmp/o"])).unwrap();
        let dirs: Vec<String> = p
            .items
            .iter()
            .map(|i| {
                i.destination.outputs[0]
                    .1
                    .parent()
                    .unwrap()
                    .display()
                    .to_string()
            })
            .collect();
        assert_eq!(
            dirs,
            ["/tmp/o/other", "/tmp/o/song.flac", "/tmp/o/song.wav"]
        );
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn the_output_folder_inside_the_input_folder_is_not_analysed() {
        let root = tree("inside", &["x.wav", "out/x/stem.wav"]);
        let out = root.join("out");
        let p = plan(&args(&[
            root.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ]))
        .unwrap();
        assert_eq!(p.items.len(), 1);
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn explicit_paths_need_one_input_file_and_select_their_kind() {
        let a = args(&["x.wav", "--onsets", "o.txt"]);
        let p = plan(&a).unwrap();
        assert_eq!(
            p.items[0].destination.outputs,
            vec![(OutputKind::Onsets, PathBuf::from("o.txt"))]
        );
        assert_eq!(p.items[0].destination.summary, None);
        let e = plan(&args(&["x.wav", "y.wav", "--onsets", "o.txt"])).unwrap_err();
        assert_eq!(e.code, exit::USAGE);
        let e = plan(&args(&["x.wav"])).unwrap_err();
        assert_eq!(e.code, exit::USAGE);
        assert!(e.message.contains("-o DIR"), "{}", e.message);
    }

    #[test]
    fn the_same_file_twice_is_analysed_once() {
        let root = tree("twice", &["x.wav"]);
        let x = root.join("x.wav");
        let p = plan(&args(&[
            x.to_str().unwrap(),
            x.to_str().unwrap(),
            "-o",
            "/tmp/o",
        ]))
        .unwrap();
        assert_eq!(p.items.len(), 1);
        std::fs::remove_dir_all(&root).unwrap();
    }
}
