//! All-or-nothing output files: everything for one input is written under temporary names
//! (`.NAME.partial` beside the final file) and renamed into place by [`Staging::commit`] once the
//! whole input has succeeded. Dropping a [`Staging`] without committing removes the temporary
//! files and any folder it created, so a failure leaves nothing behind.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::audio::temp_path;

/// Why an output could not be written.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// The file exists and overwriting was not asked for.
    #[error(
        "{0}: already exists (use --force to overwrite, or --skip-existing to skip such inputs)"
    )]
    Exists(PathBuf),
    /// A folder could not be created.
    #[error("{path}: cannot create folder: {source}")]
    CreateDir {
        /// The folder.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// Writing (or renaming into place) failed.
    #[error("{path}: cannot write: {source}")]
    Write {
        /// The final path of the file.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
}

impl From<OutputError> for crate::exit::Failure {
    fn from(e: OutputError) -> Self {
        crate::exit::Failure::output(e.to_string())
    }
}

/// The output files of one input (or one live session), staged until [`commit`](Self::commit).
///
/// ```
/// use cochlea::output::Staging;
/// let dir = std::env::temp_dir().join(format!("cochlea-stage-doc-{}", std::process::id()));
/// let mut staging = Staging::new(false);
/// let mut f = staging.create(&dir.join("a/onsets.txt")).unwrap();
/// f.write_all(b"0.500000\n").unwrap();
/// f.finish().unwrap();
/// assert!(!dir.join("a/onsets.txt").exists()); // not yet
/// staging.commit().unwrap();
/// assert!(dir.join("a/onsets.txt").exists());
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
#[derive(Debug)]
pub struct Staging {
    force: bool,
    /// Folders this staging created, outermost first.
    created_dirs: Vec<PathBuf>,
    /// `(temporary, final)` paths of the staged files.
    files: Vec<(PathBuf, PathBuf)>,
}

impl Staging {
    /// Stages files; existing files are refused unless `force`.
    pub fn new(force: bool) -> Self {
        Self {
            force,
            created_dirs: Vec::new(),
            files: Vec::new(),
        }
    }

    /// Creates `dir` and any missing parents, remembering what it created (removed again if
    /// this staging is dropped uncommitted and they are empty).
    pub fn ensure_dir(&mut self, dir: &Path) -> Result<(), OutputError> {
        let mut missing = Vec::new();
        let mut d = dir;
        while !d.as_os_str().is_empty() && !d.is_dir() {
            missing.push(d.to_path_buf());
            match d.parent() {
                Some(p) => d = p,
                None => break,
            }
        }
        for m in missing.into_iter().rev() {
            match std::fs::create_dir(&m) {
                Ok(()) => self.created_dirs.push(m),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && m.is_dir() => {}
                Err(source) => return Err(OutputError::CreateDir { path: m, source }),
            }
        }
        Ok(())
    }

    /// Refuses `path` if it exists and overwriting was not asked for.
    pub fn check_free(&self, path: &Path) -> Result<(), OutputError> {
        if !self.force && path.symlink_metadata().is_ok() {
            return Err(OutputError::Exists(path.into()));
        }
        Ok(())
    }

    /// Starts the file that will become `path` on commit.
    pub fn create(&mut self, path: &Path) -> Result<StagedFile, OutputError> {
        self.check_free(path)?;
        if self.files.iter().any(|(_, f)| f == path) {
            return Err(OutputError::Write {
                path: path.into(),
                source: std::io::Error::other("two outputs would write this same file"),
            });
        }
        if let Some(parent) = path.parent() {
            self.ensure_dir(parent)?;
        }
        let tmp = temp_path(path);
        let file = File::create(&tmp).map_err(|source| OutputError::Write {
            path: path.into(),
            source,
        })?;
        self.files.push((tmp, path.into()));
        Ok(StagedFile {
            out: BufWriter::new(file),
            path: path.into(),
        })
    }

    /// The final paths of the files staged so far.
    pub fn paths(&self) -> impl Iterator<Item = &Path> {
        self.files.iter().map(|(_, f)| f.as_path())
    }

    /// Renames every staged file into place. If one rename fails, the files already renamed
    /// are removed again, so the input's outputs appear completely or not at all.
    pub fn commit(mut self) -> Result<Vec<PathBuf>, OutputError> {
        let files = std::mem::take(&mut self.files);
        let mut done: Vec<PathBuf> = Vec::new();
        for (i, (tmp, path)) in files.iter().enumerate() {
            let result = self.check_free(path).and_then(|()| {
                std::fs::rename(tmp, path).map_err(|source| OutputError::Write {
                    path: path.clone(),
                    source,
                })
            });
            if let Err(e) = result {
                for p in &done {
                    let _ = std::fs::remove_file(p);
                }
                for (t, _) in &files[i..] {
                    let _ = std::fs::remove_file(t);
                }
                return Err(e);
            }
            done.push(path.clone());
        }
        self.created_dirs.clear();
        Ok(done)
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        for (tmp, _) in &self.files {
            let _ = std::fs::remove_file(tmp);
        }
        // Innermost first; a folder that is not empty (it holds something else) stays.
        for d in self.created_dirs.iter().rev() {
            let _ = std::fs::remove_dir(d);
        }
    }
}

/// A file being written under its temporary name; errors name the final path.
#[derive(Debug)]
pub struct StagedFile {
    out: BufWriter<File>,
    path: PathBuf,
}

impl StagedFile {
    /// The path the file will have once committed.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes all of `bytes`.
    pub fn write_all(&mut self, bytes: &[u8]) -> Result<(), OutputError> {
        self.out.write_all(bytes).map_err(|e| self.error(e))
    }

    /// The buffered writer, for crates that write into an [`std::io::Write`]. Map its errors
    /// with [`error`](Self::error).
    pub fn writer(&mut self) -> &mut BufWriter<File> {
        &mut self.out
    }

    /// An [`OutputError`] naming this file.
    pub fn error(&self, source: std::io::Error) -> OutputError {
        OutputError::Write {
            path: self.path.clone(),
            source,
        }
    }

    /// Flushes and closes the file (it is renamed into place when the staging commits).
    pub fn finish(mut self) -> Result<(), OutputError> {
        self.out.flush().map_err(|e| self.error(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("cochlea-stage-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn dropping_uncommitted_leaves_nothing_not_even_folders() {
        let root = temp("drop");
        std::fs::create_dir_all(&root).unwrap();
        {
            let mut s = Staging::new(false);
            let mut f = s.create(&root.join("a/b/x.txt")).unwrap();
            f.write_all(b"hello").unwrap();
            f.finish().unwrap();
            assert!(root.join("a/b/.x.txt.partial").exists());
        }
        assert_eq!(std::fs::read_dir(&root).unwrap().count(), 0);
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn existing_files_are_refused_unless_forced() {
        let root = temp("exists");
        std::fs::create_dir_all(&root).unwrap();
        let p = root.join("x.txt");
        std::fs::write(&p, "old").unwrap();
        let mut s = Staging::new(false);
        assert!(matches!(s.create(&p), Err(OutputError::Exists(_))));
        let mut s = Staging::new(true);
        let mut f = s.create(&p).unwrap();
        f.write_all(b"new").unwrap();
        f.finish().unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "old");
        s.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "new");
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_folder_under_a_file_is_a_clear_error() {
        let root = temp("underfile");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(root.join("f"), "").unwrap();
        let mut s = Staging::new(false);
        let e = s.create(&root.join("f/sub/x.txt")).unwrap_err();
        assert!(matches!(e, OutputError::CreateDir { .. }), "{e}");
        assert!(e.to_string().contains("cannot create folder"), "{e}");
        std::fs::remove_dir_all(&root).unwrap();
    }
}
