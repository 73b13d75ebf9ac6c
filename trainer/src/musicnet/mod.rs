//! Reading MusicNet: metadata, audio and note labels, in the archive's layout or a mirror's.
//!
//! - [`layout`] finds the folders (both nestings) and names files.
//! - [`metadata`] reads and writes `musicnet_metadata.csv`.
//! - [`labels`] reads and writes the per-recording note CSVs (times in 44.1 kHz samples, 1-based GM programs).
//! - [`instruments`] names GM programs.
//! - [`error`] holds errors naming file and line; strict or lenient handling ([`Issues`]).
//!
//! [`Dataset::open`] ties them together without decoding any audio; audio is decoded once by
//! `trainer prepare` through `host_common::audio`, the same path the CLI uses.

mod csv_rows;
pub mod error;
pub mod instruments;
pub mod labels;
pub mod layout;
pub mod metadata;

pub use error::{DataError, Issues};
pub use labels::{AudioExtent, LABEL_RATE_HZ, LabelNote, read_labels, write_labels};
pub use layout::{Layout, Split};
pub use metadata::{Metadata, read_metadata, write_metadata};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One recording: its files and its metadata row.
#[derive(Clone, Debug, PartialEq)]
pub struct Recording {
    /// Recording id.
    pub id: u32,
    /// Which split's folders it is in.
    pub split: Split,
    /// Its audio file.
    pub audio_path: PathBuf,
    /// Its label file.
    pub labels_path: PathBuf,
    /// Its metadata row.
    pub metadata: Metadata,
}

impl Recording {
    /// Reads its notes, checked against the audio's length when given.
    pub fn read_labels(
        &self,
        audio: Option<AudioExtent>,
        issues: &mut Issues,
    ) -> Result<Vec<LabelNote>, DataError> {
        read_labels(&self.labels_path, audio, issues)
    }
}

/// A MusicNet folder, indexed: every recording that has audio, labels and metadata.
#[derive(Clone, Debug)]
pub struct Dataset {
    /// Where the files are.
    pub layout: Layout,
    /// Recordings sorted by id.
    pub recordings: Vec<Recording>,
}

impl Dataset {
    /// Indexes the MusicNet folder `dir`: reads the metadata and lists the audio files of both
    /// splits. A recording without a metadata row or a label file, a duplicate id, or an audio
    /// file whose name is not an id goes to `issues` (lenient: skipped). Cost: one directory
    /// listing per split and the metadata file; no audio is decoded.
    pub fn open(dir: &Path, issues: &mut Issues) -> Result<Self, DataError> {
        let layout = Layout::discover(dir)?;
        let metadata = read_metadata(&layout.metadata, issues)?;
        let mut seen: BTreeMap<u32, PathBuf> = BTreeMap::new();
        let mut recordings = Vec::new();
        for split in Split::ALL {
            for (id, audio_path) in list_audio(&layout.data_root.join(split.data_dir()), issues)? {
                if let Some(first) = seen.get(&id) {
                    let first = first.display().to_string();
                    issues.report(DataError::DuplicateId {
                        path: audio_path,
                        line: 0,
                        id,
                        first,
                    })?;
                    continue;
                }
                seen.insert(id, audio_path.clone());
                let Some(row) = metadata.get(&id) else {
                    let metadata = layout.metadata.clone();
                    issues.report(DataError::NoMetadata {
                        path: audio_path,
                        id,
                        metadata,
                    })?;
                    continue;
                };
                let labels_path = layout.labels_path(split, id);
                if !labels_path.is_file() {
                    issues.report(DataError::NoLabels {
                        path: audio_path,
                        id,
                        expected: labels_path,
                    })?;
                    continue;
                }
                recordings.push(Recording {
                    id,
                    split,
                    audio_path,
                    labels_path,
                    metadata: row.clone(),
                });
            }
        }
        recordings.sort_by_key(|r| r.id);
        Ok(Self { layout, recordings })
    }
}

/// The `(id, path)` of every `<id>.wav` in `dir` (missing folder: none), sorted by id.
fn list_audio(dir: &Path, issues: &mut Issues) -> Result<Vec<(u32, PathBuf)>, DataError> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let entries = std::fs::read_dir(dir).map_err(|source| DataError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|source| DataError::Io {
                path: dir.to_path_buf(),
                source,
            })?
            .path();
        if path
            .extension()
            .and_then(|e| e.to_str())
            .is_none_or(|e| !e.eq_ignore_ascii_case("wav"))
        {
            continue;
        }
        match path
            .file_stem()
            .and_then(|s| s.to_str())
            .and_then(|s| s.parse::<u32>().ok())
        {
            Some(id) => files.push((id, path)),
            None => {
                let message = "audio file name is not a numeric recording id".to_string();
                issues.report(DataError::BadRow {
                    path,
                    line: 0,
                    message,
                })?;
            }
        }
    }
    files.sort();
    Ok(files)
}
