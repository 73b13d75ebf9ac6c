//! MusicNet label files: `{train,test}_labels/<id>.csv`, one row per note.

use super::csv_rows::read_rows;
use super::error::{DataError, Issues};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Sample rate of the times in label files (MusicNet's audio rate), whatever the audio's rate.
pub const LABEL_RATE_HZ: u32 = 44_100;

/// The columns of a label file (all required).
pub const LABEL_COLUMNS: [&str; 7] = [
    "start_time",
    "end_time",
    "instrument",
    "note",
    "start_beat",
    "end_beat",
    "note_value",
];

/// One note of a label file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LabelNote {
    /// Onset, in samples at [`LABEL_RATE_HZ`].
    pub start_time: u64,
    /// Release, in samples at [`LABEL_RATE_HZ`] (≥ `start_time`).
    pub end_time: u64,
    /// General MIDI program, 1-based (piano 1, violin 41, ...).
    pub instrument: u8,
    /// MIDI note number (60 = middle C).
    pub note: u8,
    /// Onset in beats from the start of the piece.
    pub start_beat: f64,
    /// Duration in beats (MusicNet's `end_beat` column holds the duration).
    pub end_beat: f64,
    /// Written note value (`Quarter`, `Dotted Half`, ...), free text.
    pub note_value: String,
}

/// The raw row, with wide integer types so out-of-range values are reported, not mis-parsed.
#[derive(Deserialize)]
struct RawLabel {
    start_time: u64,
    end_time: u64,
    instrument: i64,
    note: i64,
    start_beat: f64,
    end_beat: f64,
    note_value: String,
}

/// The length of the audio a label file describes, to check notes against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AudioExtent {
    /// Samples of audio.
    pub samples: u64,
    /// Their rate, Hz.
    pub rate_hz: u32,
}

impl AudioExtent {
    /// The audio's end in label time (44.1 kHz samples), rounded up.
    #[must_use]
    pub fn end_in_label_samples(self) -> u64 {
        let end = (u128::from(self.samples) * u128::from(LABEL_RATE_HZ))
            .div_ceil(u128::from(self.rate_hz.max(1)));
        u64::try_from(end).unwrap_or(u64::MAX)
    }
}

/// Reads a label file. Rows that do not parse, have an instrument outside 1..=128, a note outside
/// 0..=127, end before they start, or (given `audio`) end after the audio go to `issues`
/// (lenient: skipped).
pub fn read_labels(
    path: &Path,
    audio: Option<AudioExtent>,
    issues: &mut Issues,
) -> Result<Vec<LabelNote>, DataError> {
    let audio_end = audio.map(AudioExtent::end_in_label_samples);
    let mut notes = Vec::new();
    for (line, raw) in read_rows::<RawLabel>(path, &LABEL_COLUMNS, issues)? {
        let Ok(instrument) = u8::try_from(raw.instrument) else {
            issues.report(DataError::UnknownInstrument {
                path: path.to_path_buf(),
                line,
                code: raw.instrument,
            })?;
            continue;
        };
        if !(1..=128).contains(&instrument) {
            issues.report(DataError::UnknownInstrument {
                path: path.to_path_buf(),
                line,
                code: raw.instrument,
            })?;
            continue;
        }
        let note = match u8::try_from(raw.note) {
            Ok(note) if note <= 127 => note,
            _ => {
                let message = format!("note {} is not a MIDI note number (0..=127)", raw.note);
                issues.report(DataError::BadRow {
                    path: path.to_path_buf(),
                    line,
                    message,
                })?;
                continue;
            }
        };
        if raw.end_time < raw.start_time {
            let message = format!(
                "note ends (sample {}) before it starts ({})",
                raw.end_time, raw.start_time
            );
            issues.report(DataError::BadRow {
                path: path.to_path_buf(),
                line,
                message,
            })?;
            continue;
        }
        if let Some(audio_end) = audio_end.filter(|&end| raw.end_time > end) {
            issues.report(DataError::NotePastEnd {
                path: path.to_path_buf(),
                line,
                end: raw.end_time,
                audio_end,
            })?;
            continue;
        }
        notes.push(LabelNote {
            start_time: raw.start_time,
            end_time: raw.end_time,
            instrument,
            note,
            start_beat: raw.start_beat,
            end_beat: raw.end_beat,
            note_value: raw.note_value,
        });
    }
    Ok(notes)
}

/// Writes a label file (MusicNet's column order) atomically.
pub fn write_labels(path: &Path, notes: &[LabelNote]) -> Result<(), DataError> {
    crate::atomic::write_atomically(path, |w| {
        let mut writer = csv::Writer::from_writer(w);
        for note in notes {
            writer.serialize(note).map_err(std::io::Error::other)?;
        }
        writer.flush()
    })
    .map_err(|source| DataError::Write {
        path: path.to_path_buf(),
        source,
    })
}
