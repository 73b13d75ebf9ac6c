//! A [`Score`] played at a sample rate: every note and controller change placed on the sample
//! grid, after the piece's tempo factor and velocity jitter, and the label rows of exactly those
//! notes.
//!
//! Times are computed once per note in seconds (f64, from the exact tick → µs sum of
//! [`super::tempo`]) and rounded to the nearest sample separately for the audio rate and for
//! MusicNet's 44.1 kHz label rate, so labels stay in 44.1 kHz samples whatever the audio rate.

use super::midi::{Score, VoiceId};
use super::note_value::note_value;
use super::tempo::TempoMap;
use crate::musicnet::{LABEL_RATE_HZ, LabelNote};

/// Ticks per beat used to name note values of timecode files (which have no beat of their own).
const TIMECODE_VALUE_TICKS: u16 = 960;

/// A note as played.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PlayedNote {
    /// Onset, in audio samples.
    pub start: u64,
    /// Release, in audio samples (> `start`).
    pub end: u64,
    /// Onset, seconds.
    pub start_seconds: f64,
    /// Release, seconds.
    pub end_seconds: f64,
    /// Onset tick (for beats).
    pub start_tick: u64,
    /// Release tick (for the duration in beats and the note value).
    pub end_tick: u64,
    /// MIDI key.
    pub key: u8,
    /// Velocity after jitter, 1..=127.
    pub velocity: u8,
    /// General MIDI program, 0-based.
    pub program: u8,
    /// The voice of the score it comes from.
    pub voice: VoiceId,
}

/// A controller change as played.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlayedControl {
    /// When, in audio samples.
    pub sample: u64,
    /// Which voice.
    pub voice: VoiceId,
    /// Controller number.
    pub controller: u8,
    /// Value.
    pub value: u8,
}

/// A score placed on the sample grid of one rendering.
#[derive(Clone, Debug, PartialEq)]
pub struct Performance {
    /// Notes in score order (by onset).
    pub notes: Vec<PlayedNote>,
    /// Controller changes by time.
    pub controls: Vec<PlayedControl>,
    /// The audio sample rate, Hz.
    pub rate_hz: u32,
}

/// Seconds to the nearest sample at `rate_hz`.
#[must_use]
pub fn to_samples(seconds: f64, rate_hz: u32) -> u64 {
    // Non-negative and far below 2^53 for any piece: the cast only drops the (zero) fraction.
    (seconds * f64::from(rate_hz)).round().max(0.0) as u64
}

/// Plays `score` at `rate_hz` with its times divided by `tempo_factor` (> 0) and the note
/// velocities replaced by `velocities` (one per note, in score order; missing ones keep the
/// score's). Each note lasts at least one audio sample. Cost: one pass over notes and controls.
#[must_use]
pub fn perform(score: &Score, rate_hz: u32, tempo_factor: f64, velocities: &[u8]) -> Performance {
    let seconds = |tick| score.tempo.seconds(tick) / tempo_factor;
    let notes = score
        .notes
        .iter()
        .enumerate()
        .map(|(i, note)| {
            let start_seconds = seconds(note.start_tick);
            let end_seconds = seconds(note.end_tick);
            let start = to_samples(start_seconds, rate_hz);
            PlayedNote {
                start,
                end: to_samples(end_seconds, rate_hz).max(start + 1),
                start_seconds,
                end_seconds,
                start_tick: note.start_tick,
                end_tick: note.end_tick,
                key: note.key,
                velocity: velocities.get(i).copied().unwrap_or(note.velocity),
                program: note.program,
                voice: note.voice,
            }
        })
        .collect();
    let controls = score
        .controls
        .iter()
        .map(|c| PlayedControl {
            sample: to_samples(seconds(c.tick), rate_hz),
            voice: c.voice,
            controller: c.controller,
            value: c.value,
        })
        .collect();
    Performance {
        notes,
        controls,
        rate_hz,
    }
}

/// The label row of a played note: times in 44.1 kHz samples, 1-based program, onset in beats,
/// duration in beats (MusicNet's `end_beat`), and the written note value.
#[must_use]
pub fn label_of(note: &PlayedNote, tempo: &TempoMap) -> LabelNote {
    let ticks = note.end_tick - note.start_tick;
    let note_value = match tempo.ticks_per_beat() {
        Some(per_beat) => note_value(ticks, per_beat),
        None => {
            let beats = tempo.beats(ticks) * f64::from(TIMECODE_VALUE_TICKS);
            note_value(beats.round().max(0.0) as u64, TIMECODE_VALUE_TICKS)
        }
    };
    let start_time = to_samples(note.start_seconds, LABEL_RATE_HZ);
    LabelNote {
        start_time,
        end_time: to_samples(note.end_seconds, LABEL_RATE_HZ).max(start_time),
        instrument: note.program + 1,
        note: note.key,
        start_beat: tempo.beats(note.start_tick),
        end_beat: tempo.beats(ticks),
        note_value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::midi::{ScoreNote, Skipped};

    fn score() -> Score {
        let voice = VoiceId {
            track: 1,
            channel: 0,
        };
        Score {
            notes: vec![ScoreNote {
                start_tick: 480,
                end_tick: 720,
                key: 60,
                velocity: 80,
                program: 40,
                voice,
            }],
            controls: Vec::new(),
            tempo: TempoMap::metrical(480, &[(0, 500_000)]),
            skipped: Skipped::default(),
        }
    }

    #[test]
    fn labels_stay_at_44_1_khz_whatever_the_audio_rate() {
        let score = score();
        for rate in [22_050, 44_100, 48_000] {
            let played = perform(&score, rate, 1.0, &[]);
            let note = played.notes[0];
            assert_eq!(note.start, u64::from(rate) / 2);
            let label = label_of(&note, &score.tempo);
            assert_eq!((label.start_time, label.end_time), (22_050, 33_075));
            assert_eq!(label.instrument, 41);
            assert_eq!((label.start_beat, label.end_beat), (1.0, 0.5));
            assert_eq!(label.note_value, "Eighth");
        }
    }

    #[test]
    fn tempo_factor_scales_times_not_beats() {
        let score = score();
        let played = perform(&score, 44_100, 2.0, &[99]);
        let label = label_of(&played.notes[0], &score.tempo);
        assert_eq!(label.start_time, 11_025);
        assert_eq!(label.start_beat, 1.0);
        assert_eq!(played.notes[0].velocity, 99);
    }
}
