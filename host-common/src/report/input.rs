//! What the report is computed from: one [`Prediction`] per evaluated example, the class names,
//! the instrument threshold; and the one pass that checks it all before any metric is computed
//! ([`validate`]), so the metric modules never re-check shapes.

/// The model's output for one evaluated example (a stack of windows from one recording), with
/// the truth beside it.
#[derive(Clone, Debug, PartialEq)]
pub struct Prediction {
    /// The recording the example was cut from; examples of one recording are pooled by
    /// [`super::voting`].
    pub recording: u32,
    /// Index of the true composer, `< K`.
    pub composer_true: usize,
    /// K composer probabilities (the softmax output). The per-example prediction is the argmax
    /// (the first one on ties, like `numpy.argmax`), which logits would give too; the
    /// per-recording vote averages these values, which is why they should be probabilities.
    pub composer_scores: Vec<f32>,
    /// M true instrument flags.
    pub instruments_true: Vec<bool>,
    /// M instrument probabilities (sigmoid outputs) in `[0, 1]`; an instrument is predicted when
    /// its score is `>= threshold`.
    pub instrument_scores: Vec<f32>,
}

/// Everything [`super::evaluate`] needs: the class names (which fix K and M), the predictions,
/// and the instrument decision threshold.
#[derive(Clone, Copy, Debug)]
pub struct EvalInput<'a> {
    /// The K composer names, in class-index order.
    pub composers: &'a [String],
    /// The M instrument names, in class-index order.
    pub instruments: &'a [String],
    /// One prediction per evaluated example.
    pub predictions: &'a [Prediction],
    /// Instrument decision threshold (usually 0.5): predicted when `score >= threshold`.
    pub threshold: f32,
}

/// Why an [`EvalInput`] cannot be evaluated. `index` is the position in
/// [`EvalInput::predictions`].
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ReportError {
    /// A prediction has a number of composer scores other than the number of composer names.
    #[error("prediction {index}: {found} composer scores, expected {expected} (one per composer)")]
    ComposerScores {
        /// Which prediction.
        index: usize,
        /// K.
        expected: usize,
        /// What it has.
        found: usize,
    },
    /// A prediction has a number of true instrument flags other than the number of instruments.
    #[error("prediction {index}: {found} true instrument flags, expected {expected}")]
    InstrumentFlags {
        /// Which prediction.
        index: usize,
        /// M.
        expected: usize,
        /// What it has.
        found: usize,
    },
    /// A prediction has a number of instrument scores other than the number of instruments.
    #[error("prediction {index}: {found} instrument scores, expected {expected}")]
    InstrumentScores {
        /// Which prediction.
        index: usize,
        /// M.
        expected: usize,
        /// What it has.
        found: usize,
    },
    /// The true composer index is not below K.
    #[error("prediction {index}: true composer {class} is not one of the {classes} composers")]
    ComposerOutOfRange {
        /// Which prediction.
        index: usize,
        /// The offending class index.
        class: usize,
        /// K.
        classes: usize,
    },
    /// A score is NaN or infinite (scikit-learn rejects these too).
    #[error("prediction {index}: a score is NaN or infinite")]
    NonFiniteScore {
        /// Which prediction.
        index: usize,
    },
    /// The threshold is NaN or infinite.
    #[error("the instrument threshold {0} is not a finite number")]
    Threshold(f32),
    /// Two examples of one recording disagree on its true composer. (Their instruments may
    /// differ: with per-window labels each example has those heard in its own windows.)
    #[error(
        "recording {recording}: prediction {index} disagrees with an earlier example of the same recording on the true composer"
    )]
    InconsistentRecording {
        /// The recording.
        recording: u32,
        /// The first prediction that disagrees.
        index: usize,
    },
}

/// Checks shapes, ranges and finiteness of every prediction, and that examples of one recording
/// agree on their truth. Cost: one pass, O(N·(K + M)) plus a map over recordings.
pub(crate) fn validate(input: &EvalInput) -> Result<(), ReportError> {
    if !input.threshold.is_finite() {
        return Err(ReportError::Threshold(input.threshold));
    }
    let (k, m) = (input.composers.len(), input.instruments.len());
    let mut first_of: std::collections::HashMap<u32, usize> = std::collections::HashMap::new();
    for (index, p) in input.predictions.iter().enumerate() {
        if p.composer_scores.len() != k {
            return Err(ReportError::ComposerScores {
                index,
                expected: k,
                found: p.composer_scores.len(),
            });
        }
        if p.instruments_true.len() != m {
            return Err(ReportError::InstrumentFlags {
                index,
                expected: m,
                found: p.instruments_true.len(),
            });
        }
        if p.instrument_scores.len() != m {
            return Err(ReportError::InstrumentScores {
                index,
                expected: m,
                found: p.instrument_scores.len(),
            });
        }
        if p.composer_true >= k {
            return Err(ReportError::ComposerOutOfRange {
                index,
                class: p.composer_true,
                classes: k,
            });
        }
        let finite = p
            .composer_scores
            .iter()
            .chain(&p.instrument_scores)
            .all(|s| s.is_finite());
        if !finite {
            return Err(ReportError::NonFiniteScore { index });
        }
        let first = *first_of.entry(p.recording).or_insert(index);
        let q = &input.predictions[first];
        if q.composer_true != p.composer_true {
            return Err(ReportError::InconsistentRecording {
                recording: p.recording,
                index,
            });
        }
    }
    Ok(())
}

/// Index of the largest value, the first one on ties (as `numpy.argmax`); 0 for an empty slice.
/// Cost: O(len).
pub(crate) fn argmax<T: Copy + PartialOrd>(values: &[T]) -> usize {
    let mut best = 0;
    for (i, v) in values.iter().enumerate() {
        if *v > values[best] {
            best = i;
        }
    }
    best
}
