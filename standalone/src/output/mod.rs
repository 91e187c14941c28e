//! What `cochlea` writes: one [`Writer`] per kind of output, fed the engine's events (and audio)
//! as they come, so nothing accumulates in memory; files are staged and committed all at once
//! ([`stage`]); a JSON summary per input ([`summary`]).
//!
//! # Adding a kind of output
//! 1. a module here with a type implementing [`Writer`] (see [`onsets`]);
//! 2. a variant of [`OutputKind`] and its arms in [`OutputKind::file_name`],
//!    [`OutputKind::files`] (if it writes more than one file) and [`OutputKind::create`];
//! 3. a field in [`OutputPaths`] for its `--KIND PATH` option;
//! 4. its format in the README ("Output formats").
//!
//! The analysis driver, the live host and the demo pick it up from there.

pub mod notes;
pub mod onsets;
pub mod pitch;
pub mod stage;
pub mod stems;
pub mod summary;

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use cochlea_engine::separation::StemOutputs;
use cochlea_engine::{Engine, EngineConfig, Event};
use serde::Serialize;

pub use stage::{OutputError, StagedFile, Staging};

/// An event and the stream position at which the engine emitted it.
pub use crate::analyze::Emitted;

/// Receives one stream's results as they are produced and writes one kind of output.
///
/// Created before the first block (with the engine, to ask it for latencies and formats),
/// then given every event in emission order and every block of the engine's audio output, and
/// finally [`finish`](Writer::finish)ed. A writer writes only into files it created through the
/// [`Staging`] it was given; they appear when the whole input has succeeded.
pub trait Writer: Send {
    /// One event, in emission order. Writers ignore the kinds they do not write.
    fn event(&mut self, event: &Emitted) -> Result<(), OutputError>;

    /// One block of the engine's audio output (one slice per channel). Called by the file
    /// driver only; the default ignores it.
    fn audio(&mut self, _block: &[&[f32]]) -> Result<(), OutputError> {
        Ok(())
    }

    /// One block of the separated stems (when separation runs), delayed like the engine's
    /// audio output. Called by the file driver only; the default ignores it.
    fn stems(&mut self, _stems: &StemOutputs) -> Result<(), OutputError> {
        Ok(())
    }

    /// The end of the stream (including a live session stopped by Ctrl-C): close anything
    /// still open (a held note gets its note-off here), flush, and return this output's section
    /// of the JSON summary.
    fn finish(self: Box<Self>) -> Result<serde_json::Value, OutputError>;
}

/// The kinds of output Cochlea writes. Each has a file name inside a per-input output folder
/// and a `--KIND PATH` option to write it to a path of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputKind {
    /// Onset times: `onsets.txt`, one time in seconds per line.
    Onsets,
    /// The pitch track: `pitch.csv`, `time_s,freq_hz` per pitch hop, 0 where unvoiced.
    Pitch,
    /// The pitch track with its probabilities: `voicing.csv`,
    /// `time_s,freq_hz,voiced_prob,confidence` per pitch hop (`freq_hz` as in `pitch.csv`). Not
    /// written unless asked for (`--only voicing` or `--voicing PATH`).
    Voicing,
    /// Notes: `notes.mid` (standard MIDI file) and `notes.csv`
    /// (`onset_s,offset_s,midi_note,velocity`).
    Notes,
    /// The melody of a mix (predominant pitch): `melody.csv`, `time_s,freq_hz` per hop, 0
    /// where the melody is silent. Not written unless asked for (`--only melody` or
    /// `--melody PATH`).
    Melody,
    /// Separated stems: the folder `stems/` with `harmonic.wav`, `percussive.wav`,
    /// `residual.wav`, `melody.wav`, `accompaniment.wav` (32-bit float, aligned with the input).
    /// Not written unless asked for (`--only stems` or `--stems DIR`).
    Stems,
}

impl OutputKind {
    /// Every kind, in the order they are written and listed.
    pub const ALL: &'static [OutputKind] = &[
        OutputKind::Onsets,
        OutputKind::Pitch,
        OutputKind::Voicing,
        OutputKind::Notes,
        OutputKind::Melody,
        OutputKind::Stems,
    ];

    /// Written when no output is selected: every kind but the melody and the stems (made for
    /// mixes, and the most work) and the voicing probabilities (the pitch track's detail); those
    /// only on request.
    pub fn is_default(self) -> bool {
        !matches!(
            self,
            OutputKind::Stems | OutputKind::Melody | OutputKind::Voicing
        )
    }

    /// The kind's name, as used in options and summaries.
    pub fn name(self) -> &'static str {
        match self {
            OutputKind::Onsets => "onsets",
            OutputKind::Pitch => "pitch",
            OutputKind::Voicing => "voicing",
            OutputKind::Notes => "notes",
            OutputKind::Melody => "melody",
            OutputKind::Stems => "stems",
        }
    }

    /// The file name inside a per-input output folder.
    pub fn file_name(self) -> &'static str {
        match self {
            OutputKind::Onsets => "onsets.txt",
            OutputKind::Pitch => "pitch.csv",
            OutputKind::Voicing => "voicing.csv",
            OutputKind::Notes => "notes.mid",
            OutputKind::Melody => "melody.csv",
            OutputKind::Stems => "stems",
        }
    }

    /// Every file this kind writes when its main file is `base` (checked for overwriting
    /// before an input is analysed).
    pub fn files(self, base: &Path) -> Vec<PathBuf> {
        match self {
            OutputKind::Onsets | OutputKind::Pitch | OutputKind::Voicing | OutputKind::Melody => {
                vec![base.to_path_buf()]
            }
            OutputKind::Notes => vec![base.to_path_buf(), notes::csv_path(base)],
            OutputKind::Stems => stems::files(base),
        }
    }

    /// A writer for this kind whose main file is `base`, for a stream analysed by `engine`.
    pub fn create(
        self,
        base: &Path,
        engine: &Engine,
        staging: &mut Staging,
    ) -> Result<Box<dyn Writer>, OutputError> {
        Ok(match self {
            OutputKind::Onsets => Box::new(onsets::OnsetWriter::new(base, engine, staging)?),
            OutputKind::Pitch => Box::new(pitch::TrackWriter::new(
                base,
                engine,
                staging,
                pitch::Track::Pitch,
            )?),
            OutputKind::Voicing => Box::new(pitch::TrackWriter::new(
                base,
                engine,
                staging,
                pitch::Track::Voicing,
            )?),
            OutputKind::Notes => Box::new(notes::NotesWriter::new(base, engine, staging)?),
            OutputKind::Melody => Box::new(pitch::TrackWriter::new(
                base,
                engine,
                staging,
                pitch::Track::Melody,
            )?),
            OutputKind::Stems => Box::new(stems::StemsWriter::new(base, engine, staging)?),
        })
    }

    /// Turns on in `config` the engine analysis this kind needs.
    pub fn enable(self, config: &mut EngineConfig) {
        match self {
            OutputKind::Onsets => config.onset.enabled = true,
            OutputKind::Pitch | OutputKind::Voicing => config.pitch.enabled = true,
            OutputKind::Notes => config.notes.enabled = true,
            OutputKind::Melody => config.melody.enabled = true,
            OutputKind::Stems => config.separation.enabled = true,
        }
    }
}

/// `--KIND PATH` options: write one output to a path of its own (`analyze`: one input only).
/// Flattened last before the analysis settings, since the heading carries over.
#[derive(Args, Clone, Debug, Default, PartialEq)]
#[command(next_help_heading = "Outputs to paths of their own, instead of -o")]
pub struct OutputPaths {
    /// Write onset times here: one time in seconds per line.
    #[arg(long, value_name = "OUT.txt")]
    pub onsets: Option<PathBuf>,
    /// Write the pitch track here: `time_s,freq_hz` per pitch hop, 0 where unvoiced.
    #[arg(long, value_name = "OUT.csv")]
    pub pitch: Option<PathBuf>,
    /// Write the pitch track with its probabilities here: `time_s,freq_hz,voiced_prob,confidence`
    /// per pitch hop (`freq_hz` as in --pitch; `voiced_prob` 0 to 1, voiced from the voicing
    /// threshold up; `confidence` in the pitch given voicing, 0 to 1).
    #[arg(long, value_name = "OUT.csv")]
    pub voicing: Option<PathBuf>,
    /// Write notes here as a standard MIDI file, and beside it OUT.notes.csv
    /// (`onset_s,offset_s,midi_note,velocity`).
    #[arg(long, value_name = "OUT.mid")]
    pub notes: Option<PathBuf>,
    /// Write the melody of a mix here (predominant pitch): `time_s,freq_hz` per hop, 0 where
    /// the melody is silent (the format of --pitch).
    #[arg(long, value_name = "OUT.csv")]
    pub melody: Option<PathBuf>,
    /// Write the separated stems into this folder: harmonic.wav, percussive.wav, residual.wav,
    /// melody.wav, accompaniment.wav (32-bit float, the input's rate and channels, aligned with
    /// the input: latency removed, same length).
    #[arg(long, value_name = "OUTDIR")]
    pub stems: Option<PathBuf>,
    /// Write the JSON summary here.
    #[arg(long, value_name = "OUT.json")]
    pub summary: Option<PathBuf>,
}

impl OutputPaths {
    /// The path given for `kind`, if any.
    pub fn get(&self, kind: OutputKind) -> Option<&Path> {
        match kind {
            OutputKind::Onsets => self.onsets.as_deref(),
            OutputKind::Pitch => self.pitch.as_deref(),
            OutputKind::Voicing => self.voicing.as_deref(),
            OutputKind::Notes => self.notes.as_deref(),
            OutputKind::Melody => self.melody.as_deref(),
            OutputKind::Stems => self.stems.as_deref(),
        }
    }

    /// True when any path was given (outputs or summary).
    pub fn any(&self) -> bool {
        self.summary.is_some() || OutputKind::ALL.iter().any(|&k| self.get(k).is_some())
    }
}

/// Where one stream's outputs go: each selected kind to its main file, and the summary.
#[derive(Clone, Debug, PartialEq)]
pub struct Destination {
    /// `(kind, main file)` for each selected kind.
    pub outputs: Vec<(OutputKind, PathBuf)>,
    /// Where the JSON summary goes, if anywhere.
    pub summary: Option<PathBuf>,
}

/// File name of the JSON summary inside an output folder.
pub const SUMMARY_FILE: &str = "summary.json";

impl Destination {
    /// `kinds` into `folder` under their standard names, with a summary; kinds that have a path
    /// in `paths` go there instead (and `paths.summary` replaces the summary's place). With no
    /// folder, only kinds with a path are written.
    pub fn new(kinds: &[OutputKind], folder: Option<&Path>, paths: &OutputPaths) -> Self {
        let outputs = kinds
            .iter()
            .filter_map(|&k| {
                let p = paths
                    .get(k)
                    .map(Path::to_path_buf)
                    .or_else(|| folder.map(|f| f.join(k.file_name())))?;
                Some((k, p))
            })
            .collect();
        let summary = paths
            .summary
            .clone()
            .or_else(|| folder.map(|f| f.join(SUMMARY_FILE)));
        Self { outputs, summary }
    }

    /// Every file this destination will write.
    pub fn files(&self) -> Vec<PathBuf> {
        self.outputs
            .iter()
            .flat_map(|(k, p)| k.files(p))
            .chain(self.summary.clone())
            .collect()
    }

    /// The files that exist already.
    pub fn existing(&self) -> Vec<PathBuf> {
        self.files()
            .into_iter()
            .filter(|p| p.symlink_metadata().is_ok())
            .collect()
    }

    /// Turns off in `config` the analyses none of this destination's outputs need, and on those
    /// they do.
    pub fn configure(&self, config: &mut EngineConfig) {
        config.onset.enabled = false;
        config.pitch.enabled = false;
        config.notes.enabled = false;
        config.separation.enabled = false;
        config.melody.enabled = false;
        for (k, _) in &self.outputs {
            k.enable(config);
        }
    }

    /// Writers for every output, in order.
    pub fn writers(
        &self,
        engine: &Engine,
        staging: &mut Staging,
    ) -> Result<Vec<Box<dyn Writer>>, OutputError> {
        self.outputs
            .iter()
            .map(|(k, p)| k.create(p, engine, staging))
            .collect()
    }
}

/// A short name for an event's kind, for counts in summaries and displays.
pub fn event_kind(event: &Event) -> &'static str {
    match event {
        Event::Onset { .. } => "onset",
        Event::Pitch { .. } => "pitch",
        Event::Melody { .. } => "melody",
        Event::NoteOn { .. } => "note_on",
        Event::NoteOff { .. } => "note_off",
        _ => "other",
    }
}

/// The file name of `path` as a string (for summaries, which name files relative to
/// themselves).
pub(crate) fn file_name_of(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
