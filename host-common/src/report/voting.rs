//! Per-recording verdicts: all evaluated examples of one recording are pooled by averaging
//! their scores (mean composer probabilities → argmax, first on ties; mean instrument scores
//! `>= threshold` → flags), and the pooled verdicts are scored like examples. A recording's
//! true instruments are those true in any of its examples.

use super::classification::{AverageScores, ratio};
use super::input::{Prediction, argmax};
use super::multilabel::{decide, hamming_accuracy, samples_avg};
use serde::Serialize;
use std::collections::BTreeMap;

/// The pooled verdict for one recording.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RecordingVerdict {
    /// Recording id.
    pub recording: u32,
    /// How many examples were pooled.
    pub examples: usize,
    /// True composer index.
    pub composer_true: usize,
    /// Predicted composer index (argmax of the mean scores).
    pub composer_predicted: usize,
    /// True composer name.
    pub composer_true_name: String,
    /// Predicted composer name.
    pub composer_predicted_name: String,
    /// Mean score of the predicted composer.
    pub composer_score: f64,
    /// Mean score of each instrument, in class-index order.
    pub instrument_scores: Vec<f64>,
    /// Names of the instruments truly present.
    pub instruments_true: Vec<String>,
    /// Names of the instruments predicted (mean score `>= threshold`).
    pub instruments_predicted: Vec<String>,
    /// Whether the composer is right.
    pub composer_correct: bool,
    /// Whether every instrument flag is right.
    pub instruments_correct: bool,
}

/// Recording-level figures and the verdicts, sorted by recording id.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RecordingReport {
    /// Share of recordings whose pooled composer is right (0.0 with no recordings).
    pub composer_accuracy: f64,
    /// Samples average of the pooled instrument flags (same rule as the example level).
    pub instrument_samples_avg: AverageScores,
    /// 1 − Hamming loss of the pooled instrument flags.
    pub instrument_hamming_accuracy: f64,
    /// Share of recordings with the composer and all instrument flags right.
    pub exact_match: f64,
    /// One verdict per recording, by increasing id.
    pub recordings: Vec<RecordingVerdict>,
}

/// Names of the set flags.
fn flagged(names: &[String], flags: &[bool]) -> Vec<String> {
    names
        .iter()
        .zip(flags)
        .filter(|&(_, &f)| f)
        .map(|(n, _)| n.clone())
        .collect()
}

/// Mean of equal-length rows, in f64.
fn mean_rows<'a>(rows: impl Iterator<Item = &'a [f32]>, width: usize) -> Vec<f64> {
    let mut sum = vec![0.0_f64; width];
    let mut n = 0_usize;
    for row in rows {
        for (s, &v) in sum.iter_mut().zip(row) {
            *s += f64::from(v);
        }
        n += 1;
    }
    sum.iter().map(|s| ratio(*s, n as f64)).collect()
}

/// Pools validated predictions per recording and scores the verdicts. Cost: O(N·(K + M)) plus
/// O(N log R) for grouping R recordings.
pub(crate) fn recording_report(
    composers: &[String],
    instruments: &[String],
    predictions: &[Prediction],
    threshold: f32,
) -> RecordingReport {
    let mut groups: BTreeMap<u32, Vec<&Prediction>> = BTreeMap::new();
    for p in predictions {
        groups.entry(p.recording).or_default().push(p);
    }
    let mut verdicts = Vec::with_capacity(groups.len());
    let mut truth_flags = Vec::with_capacity(groups.len());
    let mut predicted_flags = Vec::with_capacity(groups.len());
    for (recording, group) in groups {
        let Some(first) = group.first() else { continue };
        let composer = mean_rows(
            group.iter().map(|p| p.composer_scores.as_slice()),
            composers.len(),
        );
        let instrument_scores = mean_rows(
            group.iter().map(|p| p.instrument_scores.as_slice()),
            instruments.len(),
        );
        // The recording's true instruments: those true in any of its examples (all the same
        // with per-recording labels; with per-window labels, every instrument heard in the
        // evaluated windows).
        let truth: Vec<bool> = (0..instruments.len())
            .map(|m| {
                group
                    .iter()
                    .any(|p| p.instruments_true.get(m).copied().unwrap_or(false))
            })
            .collect();
        let predicted = argmax(&composer);
        let flags = decide(instrument_scores.iter().copied(), threshold);
        let name = |i: usize| composers.get(i).cloned().unwrap_or_default();
        verdicts.push(RecordingVerdict {
            recording,
            examples: group.len(),
            composer_true: first.composer_true,
            composer_predicted: predicted,
            composer_true_name: name(first.composer_true),
            composer_predicted_name: name(predicted),
            composer_score: composer.get(predicted).copied().unwrap_or(0.0),
            instruments_true: flagged(instruments, &truth),
            instruments_predicted: flagged(instruments, &flags),
            composer_correct: predicted == first.composer_true,
            instruments_correct: flags == truth,
            instrument_scores,
        });
        truth_flags.push(truth);
        predicted_flags.push(flags);
    }
    let n = verdicts.len() as f64;
    let count = |f: fn(&RecordingVerdict) -> bool| verdicts.iter().filter(|v| f(v)).count() as f64;
    RecordingReport {
        composer_accuracy: ratio(count(|v| v.composer_correct), n),
        instrument_samples_avg: samples_avg(&truth_flags, &predicted_flags),
        instrument_hamming_accuracy: hamming_accuracy(&truth_flags, &predicted_flags),
        exact_match: ratio(count(|v| v.composer_correct && v.instruments_correct), n),
        recordings: verdicts,
    }
}
