//! The evaluation report shared by `trainer eval` and `host-cli eval`: from one [`Prediction`]
//! per evaluated example (a stack of windows of one recording) to the figures of the evaluation
//! protocol, computed **exactly as scikit-learn computes them**, so numbers compare with the
//! reference:
//!
//! - composer (softmax, argmax = prediction): accuracy, per-class precision / recall / F1 /
//!   support, macro and weighted averages, confusion matrix ([`ComposerReport`]);
//! - instruments (sigmoid, predicted when `score >= threshold`): per-class scores, micro /
//!   macro / weighted / samples averages, Hamming accuracy, subset accuracy, per-instrument ROC
//!   curve and AUC ([`InstrumentReport`]);
//! - exact match: composer right **and** all M instrument flags right;
//! - per-recording verdicts: scores averaged over a recording's examples ([`RecordingReport`]).
//!
//! Conventions (each module's doc has the details, each has a test):
//!
//! - **zero division → 0.0** everywhere, which is scikit-learn's default
//!   (`zero_division="warn"` yields 0.0). In particular an example with no true and no predicted
//!   instrument scores 0.0 in the samples average; a weighted average over classes with no
//!   support at all is the plain mean. Ratios over nothing (accuracy of no examples, Hamming
//!   accuracy of no flags) are 0.0 as well, so an empty evaluation is a report of zeros.
//! - ROC: tied scores form one threshold, collinear points are dropped, the curve starts at
//!   (0, 0) with threshold +∞, AUC is trapezoidal; a class with one label value only has no
//!   curve and no AUC (`None`, JSON `null`).
//!
//! Pieces, one concern each: [`input`] (the input and its validation), [`classification`]
//! (precision/recall/F1 and averages), [`confusion`], [`multilabel`], [`roc`], [`voting`],
//! [`table`] (the terminal rendering, `Display`) and [`plots`] (PNG).

pub mod classification;
pub mod confusion;
pub mod input;
pub mod multilabel;
pub mod plots;
pub mod roc;
pub mod table;
pub mod voting;

pub use classification::{AverageScores, ClassScores, ComposerReport};
pub use confusion::ConfusionMatrix;
pub use input::{EvalInput, Prediction, ReportError};
pub use multilabel::{InstrumentReport, InstrumentRoc};
pub use plots::write_plots;
pub use roc::{RocCurve, roc_curve};
pub use voting::{RecordingReport, RecordingVerdict};

use serde::Serialize;

/// The whole evaluation: serialisable for `--json`, printable (`Display`) as terminal tables,
/// drawable with [`write_plots`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EvalReport {
    /// Number of evaluated examples.
    pub examples: usize,
    /// Number of distinct recordings.
    pub recordings_count: usize,
    /// The composer figures.
    pub composer: ComposerReport,
    /// The instrument figures.
    pub instruments: InstrumentReport,
    /// Share of examples with the composer and all instrument flags right (0.0 with none).
    pub exact_match: f64,
    /// The per-recording figures and verdicts.
    pub recordings: RecordingReport,
}

/// Computes the report from validated input. Pure computation, no I/O.
///
/// Errors when a prediction's lengths do not match K or M, a true composer is out of range, a
/// score or the threshold is not finite, or examples of one recording disagree on their truth.
/// No predictions is not an error: the report then holds zeros, `None` AUCs and no recordings.
///
/// Cost: O(N·(K + M) + K²) time for the counts plus O(M·N log N) for the ROC curves; O(N·M)
/// memory plus the curves (at most N + 1 points per instrument).
pub fn evaluate(input: &EvalInput) -> Result<EvalReport, ReportError> {
    input::validate(input)?;
    let predictions = input.predictions;
    let predicted: Vec<usize> = predictions
        .iter()
        .map(|p| input::argmax(&p.composer_scores))
        .collect();
    let confusion = ConfusionMatrix::from_pairs(
        input.composers,
        predictions
            .iter()
            .zip(&predicted)
            .map(|(p, &c)| (p.composer_true, c)),
    );
    let truth: Vec<Vec<bool>> = predictions
        .iter()
        .map(|p| p.instruments_true.clone())
        .collect();
    let scores: Vec<Vec<f64>> = predictions
        .iter()
        .map(|p| p.instrument_scores.iter().map(|&s| f64::from(s)).collect())
        .collect();
    let instruments =
        multilabel::instrument_report(input.instruments, &truth, &scores, input.threshold);
    let exact = predictions
        .iter()
        .zip(&predicted)
        .zip(&scores)
        .filter(|((p, c), s)| {
            **c == p.composer_true
                && multilabel::decide(s.iter().copied(), input.threshold) == p.instruments_true
        })
        .count();
    let recordings = voting::recording_report(
        input.composers,
        input.instruments,
        predictions,
        input.threshold,
    );
    Ok(EvalReport {
        examples: predictions.len(),
        recordings_count: recordings.recordings.len(),
        composer: classification::composer_report(confusion),
        instruments,
        exact_match: classification::ratio(exact as f64, predictions.len() as f64),
        recordings,
    })
}

#[cfg(test)]
mod tests;
