//! Errors and warnings of dataset reading, each naming the file (and line) and what is wrong.

use std::path::PathBuf;

/// A problem with the data on disk.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// A file or directory could not be read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// A file could not be written.
    #[error("{path}: cannot write: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The directory is not laid out like MusicNet.
    #[error("{dir}: not a MusicNet folder: {reason}")]
    NotMusicNet {
        /// The directory given.
        dir: PathBuf,
        /// What was looked for.
        reason: String,
    },
    /// A CSV file lacks a required column.
    #[error("{path}: missing column `{column}` (the header has: {found})")]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The missing column.
        column: &'static str,
        /// The header that was found.
        found: String,
    },
    /// A CSV row could not be parsed (wrong number of cells, a non-numeric number, ...).
    #[error("{path}: line {line}: {message}")]
    BadRow {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// The same recording id appears twice.
    #[error("{path}: line {line}: duplicate recording id {id} (first seen {first})")]
    DuplicateId {
        /// The file (or directory) of the second occurrence.
        path: PathBuf,
        /// Its line (0 when not a CSV row).
        line: u64,
        /// The id.
        id: u32,
        /// Where it was first seen.
        first: String,
    },
    /// A recording has audio but no metadata row.
    #[error("{path}: recording {id} has no row in {metadata}")]
    NoMetadata {
        /// The recording's audio file.
        path: PathBuf,
        /// Its id.
        id: u32,
        /// The metadata file.
        metadata: PathBuf,
    },
    /// A recording has audio but no label file.
    #[error("{path}: recording {id} has no label file (expected {expected})")]
    NoLabels {
        /// The recording's audio file.
        path: PathBuf,
        /// Its id.
        id: u32,
        /// Where the labels were expected.
        expected: PathBuf,
    },
    /// An instrument code outside General MIDI's 1..=128.
    #[error("{path}: line {line}: instrument code {code} is not a General MIDI program (1..=128)")]
    UnknownInstrument {
        /// The label file.
        path: PathBuf,
        /// 1-based line.
        line: u64,
        /// The code found.
        code: i64,
    },
    /// A note that ends after the audio does.
    #[error(
        "{path}: line {line}: note ends at sample {end} (44.1 kHz), after the audio's end at {audio_end}"
    )]
    NotePastEnd {
        /// The label file.
        path: PathBuf,
        /// 1-based line.
        line: u64,
        /// The note's end, in 44.1 kHz samples.
        end: u64,
        /// The audio's length, in 44.1 kHz samples.
        audio_end: u64,
    },
    /// The audio could not be loaded.
    #[error(transparent)]
    Audio(#[from] host_common::audio::AudioError),
}

impl DataError {
    /// A short name of the kind of problem, for counting warnings.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Io { .. } => "unreadable file",
            Self::Write { .. } => "unwritable file",
            Self::NotMusicNet { .. } => "not MusicNet",
            Self::MissingColumn { .. } => "missing column",
            Self::BadRow { .. } => "bad CSV row",
            Self::DuplicateId { .. } => "duplicate id",
            Self::NoMetadata { .. } => "no metadata",
            Self::NoLabels { .. } => "no labels",
            Self::UnknownInstrument { .. } => "unknown instrument",
            Self::NotePastEnd { .. } => "note past end of audio",
            Self::Audio(_) => "bad audio",
        }
    }
}

/// How problems in the data are handled: strict (the first one is an error) or lenient (each is
/// recorded as a warning, the offending row or recording is skipped, and the run goes on).
#[derive(Debug, Default)]
pub struct Issues {
    strict: bool,
    warnings: Vec<DataError>,
}

impl Issues {
    /// Strict: [`report`](Self::report) returns every problem as an error.
    #[must_use]
    pub fn strict() -> Self {
        Self {
            strict: true,
            warnings: Vec::new(),
        }
    }

    /// Lenient: problems become counted warnings.
    #[must_use]
    pub fn lenient() -> Self {
        Self {
            strict: false,
            warnings: Vec::new(),
        }
    }

    /// Records `problem`: `Err(problem)` when strict, else keeps it as a warning and returns
    /// `Ok(())` so the caller skips the item and goes on.
    pub fn report(&mut self, problem: DataError) -> Result<(), DataError> {
        if self.strict {
            Err(problem)
        } else {
            self.warnings.push(problem);
            Ok(())
        }
    }

    /// Takes over the warnings of `other` (a per-thread collector of the same strictness).
    pub fn absorb(&mut self, other: Issues) {
        self.warnings.extend(other.warnings);
    }

    /// The warnings recorded so far.
    #[must_use]
    pub fn warnings(&self) -> &[DataError] {
        &self.warnings
    }

    /// Warning counts by kind, sorted by kind.
    #[must_use]
    pub fn counts(&self) -> Vec<(&'static str, usize)> {
        let mut counts = std::collections::BTreeMap::new();
        for warning in &self.warnings {
            *counts.entry(warning.kind()).or_insert(0) += 1;
        }
        counts.into_iter().collect()
    }
}
