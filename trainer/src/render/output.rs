//! The output folder, in MusicNet's layout: `{train,test}_data/<id>.wav`,
//! `{train,test}_labels/<id>.csv` and `musicnet_metadata.csv`.
//!
//! Every file is written to a temporary file beside it and renamed into place
//! ([`crate::atomic`]), the audio before the labels. A piece is complete when its label file
//! exists and its audio opens with the expected format and length, so a killed render leaves no
//! half-written file and a rerun knows what is left to do.

use super::error::RenderError;
use super::mix::Pcm;
use crate::musicnet::layout::{Layout, METADATA_FILE};
use crate::musicnet::{LabelNote, Metadata, Split, read_metadata, write_labels, write_metadata};
use std::collections::BTreeMap;
use std::io::Cursor;
use std::path::{Path, PathBuf};

/// Bytes of a canonical 16-bit PCM WAV header (what hound writes for mono and stereo).
const WAV_HEADER_BYTES: u64 = 44;

/// The output folder.
#[derive(Clone, Debug)]
pub struct OutDir {
    layout: Layout,
}

impl OutDir {
    /// The output folder `root` (created as files are written).
    #[must_use]
    pub fn new(root: &Path) -> Self {
        Self {
            layout: Layout {
                data_root: root.to_path_buf(),
                metadata: root.join(METADATA_FILE),
                midis: None,
            },
        }
    }

    /// The folder.
    #[must_use]
    pub fn root(&self) -> &Path {
        &self.layout.data_root
    }

    /// The audio file of piece `id` in `split`.
    #[must_use]
    pub fn audio_path(&self, split: Split, id: u32) -> PathBuf {
        self.layout.audio_path(split, id)
    }

    /// The label file of piece `id` in `split`.
    #[must_use]
    pub fn labels_path(&self, split: Split, id: u32) -> PathBuf {
        self.layout.labels_path(split, id)
    }

    /// When piece `id` is complete in `split` at `rate_hz` with `channels`: its length in
    /// seconds. Cost: two `stat` calls and reading a WAV header.
    #[must_use]
    pub fn complete(&self, split: Split, id: u32, rate_hz: u32, channels: u16) -> Option<f64> {
        if !self.labels_path(split, id).is_file() {
            return None;
        }
        let audio = self.audio_path(split, id);
        let reader = hound::WavReader::open(&audio).ok()?;
        let spec = reader.spec();
        let bytes = std::fs::metadata(&audio).ok()?.len();
        let data = u64::from(reader.len()) * 2;
        let ok = spec.sample_rate == rate_hz
            && spec.channels == channels
            && spec.bits_per_sample == 16
            && spec.sample_format == hound::SampleFormat::Int
            && bytes >= WAV_HEADER_BYTES + data;
        ok.then(|| f64::from(reader.duration()) / f64::from(rate_hz))
    }

    /// Writes piece `id` of `split`: the audio, then the labels, each atomically; removes the
    /// piece's files from the other split (left by an earlier run with another split).
    pub fn write_piece(
        &self,
        split: Split,
        id: u32,
        pcm: &Pcm,
        rate_hz: u32,
        labels: &[LabelNote],
    ) -> Result<(), RenderError> {
        let audio = self.audio_path(split, id);
        let bytes = encode_wav(pcm, rate_hz).map_err(|reason| RenderError::Write {
            path: audio.clone(),
            source: std::io::Error::other(reason),
        })?;
        crate::atomic::write_atomically(&audio, |w| w.write_all(&bytes)).map_err(|source| {
            RenderError::Write {
                path: audio.clone(),
                source,
            }
        })?;
        write_labels(&self.labels_path(split, id), labels)?;
        let other = match split {
            Split::Train => Split::Test,
            Split::Test => Split::Train,
        };
        for stale in [self.audio_path(other, id), self.labels_path(other, id)] {
            remove_if_present(&stale)?;
        }
        Ok(())
    }

    /// Removes temporary files that a killed run left in the data and label folders; returns
    /// how many. Only names of the form `.<file>.<random>.tmp` (see [`crate::atomic`]) are
    /// touched.
    pub fn remove_stale_temp_files(&self) -> Result<usize, RenderError> {
        let mut removed = 0;
        for split in Split::ALL {
            for dir in [split.data_dir(), split.labels_dir()] {
                let dir = self.root().join(dir);
                let Ok(entries) = std::fs::read_dir(&dir) else {
                    continue;
                };
                for entry in entries.flatten() {
                    let name = entry.file_name();
                    let name = name.to_string_lossy();
                    if name.starts_with('.') && name.ends_with(".tmp") {
                        remove_if_present(&entry.path())?;
                        removed += 1;
                    }
                }
            }
        }
        Ok(removed)
    }

    /// Writes `musicnet_metadata.csv` (atomically) with `rows`, plus the rows of an existing
    /// metadata file whose pieces are not in `rows` but still have audio and labels in the
    /// folder (so renders of different subsets add up). Returns the number of rows written.
    pub fn write_metadata(&self, rows: &[Metadata]) -> Result<usize, RenderError> {
        let mut merged: BTreeMap<u32, Metadata> = BTreeMap::new();
        if self.layout.metadata.is_file() {
            let mut issues = crate::musicnet::Issues::lenient();
            let existing = read_metadata(&self.layout.metadata, &mut issues)?;
            for (id, row) in existing {
                let kept = Split::ALL.iter().any(|&s| {
                    self.audio_path(s, id).is_file() && self.labels_path(s, id).is_file()
                });
                if kept {
                    merged.insert(id, row);
                }
            }
        }
        for row in rows {
            merged.insert(row.id, row.clone());
        }
        write_metadata(&self.layout.metadata, merged.values())?;
        Ok(merged.len())
    }
}

/// A 16-bit PCM WAV file of `pcm` at `rate_hz`, in memory. Cost: one copy of the samples.
pub fn encode_wav(pcm: &Pcm, rate_hz: u32) -> Result<Vec<u8>, String> {
    let count = u32::try_from(pcm.samples.len())
        .ok()
        .filter(|&n| u64::from(n) * 2 + WAV_HEADER_BYTES <= u64::from(u32::MAX))
        .ok_or("too long for a WAV file (4 GiB)")?;
    let spec = hound::WavSpec {
        channels: pcm.channels,
        sample_rate: rate_hz,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let capacity = pcm.samples.len() * 2 + 64;
    let mut cursor = Cursor::new(Vec::with_capacity(capacity));
    let mut writer = hound::WavWriter::new(&mut cursor, spec).map_err(|e| e.to_string())?;
    let mut samples = writer.get_i16_writer(count);
    for &sample in &pcm.samples {
        samples.write_sample(sample);
    }
    samples.flush().map_err(|e| e.to_string())?;
    writer.finalize().map_err(|e| e.to_string())?;
    Ok(cursor.into_inner())
}

/// Removes `path` if it exists.
fn remove_if_present(path: &Path) -> Result<(), RenderError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(RenderError::Write {
            path: path.to_path_buf(),
            source,
        }),
    }
}
