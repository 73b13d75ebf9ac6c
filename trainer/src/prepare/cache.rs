//! The prepared corpus on disk: every recording decoded and resampled once to 8 kHz `i16`, with
//! its labels reduced to what training needs.
//!
//! ```text
//! CACHE/
//!   index.json             PreparedIndex: format version, the recordings (written last)
//!   audio/<id>.pcm         raw little-endian i16 at 8 kHz (2 bytes per sample)
//!   recordings/<id>.json   PreparedRecording of one recording (written after its audio)
//! ```
//!
//! Every file is written atomically. A recording is complete when its JSON exists and its audio
//! has the length the JSON states; `prepare` skips complete recordings, so a killed run resumes,
//! and a half-finished one is never trusted because `index.json` is only written at the end.

use crate::musicnet::{DataError, LABEL_RATE_HZ, LabelNote, Split};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Version of the cache format; bump when its meaning changes.
pub const CACHE_FORMAT_VERSION: u32 = 1;
/// Sample rate of the cached audio.
pub const CACHE_RATE_HZ: u32 = core_nostd::frontend::SAMPLE_RATE_HZ;

/// A time span in which one instrument plays (notes merged), in 8 kHz samples, `start..end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstrumentSpan {
    /// 1-based GM program.
    pub program: u8,
    /// First sample.
    pub start: u64,
    /// One past the last sample.
    pub end: u64,
}

/// Where a cached recording came from, to notice when the source changes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceInfo {
    /// The audio file read.
    pub audio: PathBuf,
    /// Its size in bytes when read.
    pub bytes: u64,
    /// Its sample rate.
    pub rate_hz: u32,
    /// Its channel count.
    pub channels: usize,
}

/// One prepared recording (`recordings/<id>.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PreparedRecording {
    /// Recording id.
    pub id: u32,
    /// MusicNet split it came from.
    pub split: Split,
    /// Composer, as in the metadata.
    pub composer: String,
    /// Composition (groups movements of one work; validation splits keep them together).
    pub composition: String,
    /// Ensemble, as in the metadata.
    pub ensemble: String,
    /// Samples of 8 kHz audio in `audio/<id>.pcm`.
    pub samples: u64,
    /// Notes in the label file (after checks).
    pub notes: u64,
    /// Instruments that play anywhere in the recording, sorted 1-based GM programs.
    pub instruments: Vec<u8>,
    /// When each instrument plays, sorted by program then start; spans of one program never
    /// overlap.
    pub spans: Vec<InstrumentSpan>,
    /// The source audio.
    pub source: SourceInfo,
}

impl PreparedRecording {
    /// Seconds of audio.
    #[must_use]
    pub fn seconds(&self) -> f64 {
        self.samples as f64 / f64::from(CACHE_RATE_HZ)
    }

    /// How many samples of `start..end` (8 kHz) each instrument of this recording plays,
    /// as `(program, samples)` for programs that play at all. Cost: one pass over the spans.
    #[must_use]
    pub fn playing_in(&self, start: u64, end: u64) -> Vec<(u8, u64)> {
        let mut out: Vec<(u8, u64)> = Vec::new();
        for span in &self.spans {
            let overlap = span.end.min(end).saturating_sub(span.start.max(start));
            if overlap == 0 {
                continue;
            }
            match out.last_mut() {
                Some((program, total)) if *program == span.program => *total += overlap,
                _ => out.push((span.program, overlap)),
            }
        }
        out
    }
}

/// `index.json`: the complete list of prepared recordings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PreparedIndex {
    /// [`CACHE_FORMAT_VERSION`] of the writer.
    pub format_version: u32,
    /// Sample rate of the audio files.
    pub rate_hz: u32,
    /// The MusicNet folder it was prepared from.
    pub source_dir: PathBuf,
    /// Recordings sorted by id.
    pub recordings: Vec<PreparedRecording>,
}

/// Paths inside a cache folder.
#[derive(Clone, Debug)]
pub struct CacheDir {
    root: PathBuf,
}

impl CacheDir {
    /// The cache folder at `root` (nothing is created).
    #[must_use]
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
        }
    }

    /// The folder.
    #[must_use]
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `index.json`.
    #[must_use]
    pub fn index_path(&self) -> PathBuf {
        self.root.join("index.json")
    }

    /// `audio/<id>.pcm`.
    #[must_use]
    pub fn audio_path(&self, id: u32) -> PathBuf {
        self.root.join("audio").join(format!("{id}.pcm"))
    }

    /// `recordings/<id>.json`.
    #[must_use]
    pub fn recording_path(&self, id: u32) -> PathBuf {
        self.root.join("recordings").join(format!("{id}.json"))
    }

    /// Writes one recording's audio, then its JSON, each atomically.
    pub fn write_recording(
        &self,
        recording: &PreparedRecording,
        samples: &[i16],
    ) -> Result<(), DataError> {
        let audio = self.audio_path(recording.id);
        crate::atomic::write_atomically(&audio, |w| {
            for chunk in samples.chunks(4096) {
                let bytes: Vec<u8> = chunk.iter().flat_map(|s| s.to_le_bytes()).collect();
                w.write_all(&bytes)?;
            }
            Ok(())
        })
        .map_err(|source| DataError::Write {
            path: audio,
            source,
        })?;
        write_json(&self.recording_path(recording.id), recording)
    }

    /// The recording's JSON if it is complete (JSON readable, audio of the stated length, same
    /// source file size); `None` otherwise (missing, partial or stale). Cost: a stat and a read.
    #[must_use]
    pub fn complete_recording(&self, id: u32, source: &Path) -> Option<PreparedRecording> {
        let text = std::fs::read_to_string(self.recording_path(id)).ok()?;
        let recording: PreparedRecording = serde_json::from_str(&text).ok()?;
        let audio_bytes = std::fs::metadata(self.audio_path(id)).ok()?.len();
        let source_bytes = std::fs::metadata(source).ok()?.len();
        (audio_bytes == recording.samples * 2
            && source_bytes == recording.source.bytes
            && recording.source.audio == source)
            .then_some(recording)
    }

    /// Writes `index.json` atomically (the last step of `prepare`).
    pub fn write_index(&self, index: &PreparedIndex) -> Result<(), DataError> {
        write_json(&self.index_path(), index)
    }

    /// Reads `index.json`, refusing other format versions.
    pub fn read_index(&self) -> Result<PreparedIndex, DataError> {
        let path = self.index_path();
        let text = std::fs::read_to_string(&path).map_err(|source| DataError::Io {
            path: path.clone(),
            source,
        })?;
        let index: PreparedIndex = serde_json::from_str(&text).map_err(|e| DataError::BadRow {
            path: path.clone(),
            line: e.line() as u64,
            message: e.to_string(),
        })?;
        if index.format_version != CACHE_FORMAT_VERSION {
            let message = format!(
                "cache format version {} (this trainer reads {CACHE_FORMAT_VERSION}); run `trainer prepare` again",
                index.format_version
            );
            return Err(DataError::BadRow {
                path,
                line: 1,
                message,
            });
        }
        Ok(index)
    }

    /// Reads one recording's cached audio. Cost: one file read, 2 bytes per sample.
    pub fn read_audio(&self, recording: &PreparedRecording) -> Result<Vec<i16>, DataError> {
        let path = self.audio_path(recording.id);
        let bytes = std::fs::read(&path).map_err(|source| DataError::Io {
            path: path.clone(),
            source,
        })?;
        if bytes.len() as u64 != recording.samples * 2 {
            let message = format!(
                "{} bytes, the index says {} samples",
                bytes.len(),
                recording.samples
            );
            return Err(DataError::BadRow {
                path,
                line: 0,
                message,
            });
        }
        Ok(bytes
            .chunks_exact(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]))
            .collect())
    }
}

/// Writes `value` as pretty JSON, atomically.
fn write_json(path: &Path, value: &impl Serialize) -> Result<(), DataError> {
    crate::atomic::write_atomically(path, |w| {
        serde_json::to_writer_pretty(&mut *w, value).map_err(std::io::Error::other)
    })
    .map_err(|source| DataError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// Converts label notes (44.1 kHz times) into merged per-instrument spans at 8 kHz, clipped to
/// `samples`. Starts round down and ends round up, so no sounding sample is lost.
#[must_use]
pub fn spans_from_notes(notes: &[LabelNote], samples: u64) -> Vec<InstrumentSpan> {
    let to_cache = |t: u64, round_up: bool| {
        let scaled = u128::from(t) * u128::from(CACHE_RATE_HZ);
        let divisor = u128::from(LABEL_RATE_HZ);
        let value = if round_up {
            scaled.div_ceil(divisor)
        } else {
            scaled / divisor
        };
        u64::try_from(value).unwrap_or(u64::MAX).min(samples)
    };
    let mut raw: Vec<InstrumentSpan> = notes
        .iter()
        .map(|n| InstrumentSpan {
            program: n.instrument,
            start: to_cache(n.start_time, false),
            end: to_cache(n.end_time, true),
        })
        .filter(|s| s.end > s.start)
        .collect();
    raw.sort_by_key(|s| (s.program, s.start, s.end));
    let mut merged: Vec<InstrumentSpan> = Vec::with_capacity(raw.len());
    for span in raw {
        match merged.last_mut() {
            Some(last) if last.program == span.program && span.start <= last.end => {
                last.end = last.end.max(span.end)
            }
            _ => merged.push(span),
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(start: u64, end: u64, instrument: u8) -> LabelNote {
        LabelNote {
            start_time: start,
            end_time: end,
            instrument,
            note: 60,
            start_beat: 0.0,
            end_beat: 1.0,
            note_value: "Quarter".into(),
        }
    }

    #[test]
    fn notes_become_merged_spans_at_8khz() {
        let notes = [
            note(0, 44_100, 41),
            note(22_050, 88_200, 41),
            note(441_000, 441_001, 41),
            note(100, 200, 1),
        ];
        let spans = spans_from_notes(&notes, 1_000_000);
        assert_eq!(
            spans,
            vec![
                InstrumentSpan {
                    program: 1,
                    start: 18,
                    end: 37
                },
                InstrumentSpan {
                    program: 41,
                    start: 0,
                    end: 16_000
                },
                InstrumentSpan {
                    program: 41,
                    start: 80_000,
                    end: 80_001
                },
            ]
        );
    }

    #[test]
    fn spans_are_clipped_to_the_audio() {
        let spans = spans_from_notes(&[note(0, 441_000, 43)], 8_000);
        assert_eq!(
            spans,
            vec![InstrumentSpan {
                program: 43,
                start: 0,
                end: 8_000
            }]
        );
    }

    #[test]
    fn playing_in_sums_overlaps_per_instrument() {
        let spans = spans_from_notes(
            &[
                note(0, 44_100, 41),
                note(88_200, 132_300, 41),
                note(0, 4_410, 1),
            ],
            100_000,
        );
        let recording = PreparedRecording {
            id: 1,
            split: Split::Train,
            composer: "X".into(),
            composition: "x".into(),
            ensemble: "e".into(),
            samples: 100_000,
            notes: 3,
            instruments: vec![1, 41],
            spans,
            source: SourceInfo {
                audio: PathBuf::new(),
                bytes: 0,
                rate_hz: 44_100,
                channels: 1,
            },
        };
        assert_eq!(recording.playing_in(4_000, 20_000), vec![(41, 8_000)]);
        assert_eq!(recording.playing_in(0, 1_000), vec![(1, 800), (41, 1_000)]);
        assert_eq!(recording.playing_in(9_000, 15_000), vec![]);
    }
}
