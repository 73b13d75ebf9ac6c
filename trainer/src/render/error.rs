//! Errors of `trainer render`, each naming the file at fault, and the warnings a lenient run
//! counts instead of stopping.

use crate::musicnet::DataError;
use std::path::PathBuf;

/// A problem that stops (strict) or skips (lenient) part of a render.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// A MIDI file that cannot be read or parsed, or that uses what the renderer does not support.
    #[error("{path}: not a usable MIDI file: {reason}")]
    Midi {
        /// The MIDI file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A SoundFont that cannot be read or parsed.
    #[error("{path}: not a usable SoundFont: {reason}")]
    SoundFont {
        /// The `.sf2` file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A file or folder that cannot be read.
    #[error("{path}: cannot read: {source}")]
    Read {
        /// The file or folder.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// A file that cannot be written.
    #[error("{path}: cannot write: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The input folder is not laid out like MusicNet's MIDI archive.
    #[error("{dir}: not a MusicNet MIDI folder: {reason}")]
    NotMidiFolder {
        /// The folder given.
        dir: PathBuf,
        /// What was looked for.
        reason: String,
    },
    /// A row of `split.csv` that cannot be used.
    #[error("{path}: line {line}: {message}")]
    BadSplitRow {
        /// The split file.
        path: PathBuf,
        /// 1-based line (the header is line 1).
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// A MIDI file whose name does not start with a recording id, or a duplicate id.
    #[error("{path}: {message}")]
    BadPiece {
        /// The MIDI file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The synthesizer failed on a piece (a SoundFont it cannot play, an internal panic).
    #[error("{path}: rendering failed: {reason}")]
    Synth {
        /// The MIDI file being rendered.
        path: PathBuf,
        /// What happened.
        reason: String,
    },
    /// An option value that cannot work.
    #[error("{0}")]
    Usage(String),
    /// A problem with a MusicNet CSV file (metadata).
    #[error(transparent)]
    Data(#[from] DataError),
}

impl RenderError {
    /// A short name of the kind of problem, for counting warnings.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Midi { .. } => "bad MIDI file",
            Self::SoundFont { .. } => "bad SoundFont",
            Self::Read { .. } => "unreadable file",
            Self::Write { .. } => "unwritable file",
            Self::NotMidiFolder { .. } => "not a MIDI folder",
            Self::BadSplitRow { .. } => "bad split.csv row",
            Self::BadPiece { .. } => "bad piece",
            Self::Synth { .. } => "rendering failed",
            Self::Usage(_) => "bad option",
            Self::Data(error) => error.kind(),
        }
    }
}

/// One warning of a run: its kind (for counting) and its full text (naming the file).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    /// Short kind, e.g. `bad MIDI file` or `drum notes skipped`.
    pub kind: &'static str,
    /// The full message.
    pub message: String,
}

/// How problems are handled: strict (the first is an error) or lenient (each becomes a counted
/// warning and the piece it affects is skipped). Notices that never stop a run (drum notes
/// skipped, pieces missing from `split.csv`, ...) are kept as warnings in both modes.
#[derive(Debug, Default)]
pub struct Problems {
    strict: bool,
    warnings: Vec<Warning>,
}

impl Problems {
    /// Strict when `lenient` is false.
    #[must_use]
    pub fn new(lenient: bool) -> Self {
        Self {
            strict: !lenient,
            warnings: Vec::new(),
        }
    }

    /// Whether problems are errors.
    #[must_use]
    pub fn is_strict(&self) -> bool {
        self.strict
    }

    /// Strict: returns `problem` as the error. Lenient: records it and returns `Ok(())`, so the
    /// caller skips what it affects.
    pub fn report(&mut self, problem: RenderError) -> Result<(), RenderError> {
        if self.strict {
            Err(problem)
        } else {
            self.warn(problem.kind(), problem.to_string());
            Ok(())
        }
    }

    /// Records a notice that does not stop the run, in either mode.
    pub fn warn(&mut self, kind: &'static str, message: String) {
        self.warnings.push(Warning { kind, message });
    }

    /// Takes over the warnings of a lenient [`crate::musicnet::Issues`].
    pub fn absorb_issues(&mut self, issues: &crate::musicnet::Issues) {
        for warning in issues.warnings() {
            self.warn(warning.kind(), warning.to_string());
        }
    }

    /// The warnings so far.
    #[must_use]
    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    /// Consumes the set, returning its warnings.
    #[must_use]
    pub fn into_warnings(self) -> Vec<Warning> {
        self.warnings
    }
}
